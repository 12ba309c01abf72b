//! IP addresses (`ipv4`, `ipv6`, and `ip` which accepts either) and ports.
//!
//! Canonical form: the standard text form of the address (dotted quad without leading zeros;
//! RFC 5952 compressed lower-case IPv6). An `address:port` or `[v6]:port` value is split, so a
//! feed that writes `192.0.2.1:443` yields the address with port 443. Ports are 1..=65535.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{ErrorKind, NormalizeError};

/// A canonical address, with the port when the value carried one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalIp {
    /// The address.
    pub addr: IpAddr,
    /// The port written in the value itself, if any.
    pub port: Option<u16>,
}

/// Parses an IPv4 or IPv6 address, optionally with a port.
///
/// # Errors
/// `invalid_value` when the text is not an address (e.g. `300.12.7.1`) or the port is bad.
pub fn parse_ip(value: &str) -> Result<CanonicalIp, NormalizeError> {
    let value = value.trim();
    if let Ok(addr) = value.parse::<IpAddr>() {
        return Ok(CanonicalIp { addr, port: None });
    }
    if let Some(inner) = value.strip_prefix('[') {
        if let Some((addr, rest)) = inner.split_once(']') {
            let addr = addr.parse::<Ipv6Addr>().map_err(|_| invalid(value))?;
            let port = match rest.strip_prefix(':') {
                Some(port) => Some(parse_port(port)?),
                None if rest.is_empty() => None,
                None => return Err(invalid(value)),
            };
            return Ok(CanonicalIp {
                addr: IpAddr::V6(addr),
                port,
            });
        }
    }
    if let Some((addr, port)) = value.split_once(':') {
        if let Ok(addr) = addr.parse::<Ipv4Addr>() {
            return Ok(CanonicalIp {
                addr: IpAddr::V4(addr),
                port: Some(parse_port(port)?),
            });
        }
    }
    Err(invalid(value))
}

/// Parses an IPv4 address (optionally `addr:port`).
///
/// # Errors
/// `invalid_value` when the value is not an IPv4 address.
pub fn parse_ipv4(value: &str) -> Result<CanonicalIp, NormalizeError> {
    let ip = parse_ip(value)?;
    match ip.addr {
        IpAddr::V4(_) => Ok(ip),
        IpAddr::V6(_) => Err(NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{} is an IPv6 address, the mapping says ipv4", ip.addr),
        )),
    }
}

/// Parses an IPv6 address (optionally `[addr]:port`).
///
/// # Errors
/// `invalid_value` when the value is not an IPv6 address.
pub fn parse_ipv6(value: &str) -> Result<CanonicalIp, NormalizeError> {
    let ip = parse_ip(value)?;
    match ip.addr {
        IpAddr::V6(_) => Ok(ip),
        IpAddr::V4(_) => Err(NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{} is an IPv4 address, the mapping says ipv6", ip.addr),
        )),
    }
}

/// Parses a port number, 1..=65535.
///
/// # Errors
/// `invalid_value` for anything else.
pub fn parse_port(value: &str) -> Result<u16, NormalizeError> {
    match value.trim().parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("port {value:?} is not a number in 1..=65535"),
        )),
    }
}

fn invalid(value: &str) -> NormalizeError {
    NormalizeError::new(
        ErrorKind::InvalidValue,
        format!("{:?} is not an IP address", truncate(value)),
    )
}

/// At most 64 characters of a value, for error messages.
pub(crate) fn truncate(value: &str) -> &str {
    match value.char_indices().nth(64) {
        Some((i, _)) => &value[..i],
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(
            parse_ipv4(" 162.243.103.246 ").unwrap().addr.to_string(),
            "162.243.103.246"
        );
        assert_eq!(
            parse_ipv6("2001:DB8:0:0:0:0:0:1").unwrap().addr.to_string(),
            "2001:db8::1"
        );
        let with_port = parse_ip("192.0.2.1:8080").unwrap();
        assert_eq!(
            (with_port.addr.to_string(), with_port.port),
            ("192.0.2.1".into(), Some(8080))
        );
        let v6_port = parse_ip("[2001:db8::1]:443").unwrap();
        assert_eq!(
            (v6_port.addr.to_string(), v6_port.port),
            ("2001:db8::1".into(), Some(443))
        );
    }

    #[test]
    fn invalid_addresses_are_invalid_values() {
        for bad in [
            "300.12.7.1",
            "1.2.3",
            "01.2.3.4",
            "example.com",
            "",
            "1.2.3.4:0",
            "[::1",
        ] {
            assert_eq!(
                parse_ip(bad).unwrap_err().kind,
                ErrorKind::InvalidValue,
                "{bad}"
            );
        }
        assert_eq!(parse_ipv4("::1").unwrap_err().kind, ErrorKind::InvalidValue);
        assert_eq!(
            parse_ipv6("192.0.2.1").unwrap_err().kind,
            ErrorKind::InvalidValue
        );
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("443").unwrap(), 443);
        assert_eq!(parse_port("65535").unwrap(), 65535);
        for bad in ["0", "65536", "-1", "http", ""] {
            assert_eq!(
                parse_port(bad).unwrap_err().kind,
                ErrorKind::InvalidValue,
                "{bad}"
            );
        }
    }

    #[test]
    fn idempotent() {
        for v in ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1"] {
            let once = parse_ip(v).unwrap().addr.to_string();
            assert_eq!(parse_ip(&once).unwrap().addr.to_string(), once);
        }
    }
}
