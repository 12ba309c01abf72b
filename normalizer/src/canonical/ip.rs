//! IP addresses (`ipv4`, `ipv6`, and `ip` which accepts either), ports, and the non-public
//! address ranges.
//!
//! Canonical form: the standard text form of the address (dotted quad without leading zeros;
//! RFC 5952 compressed lower-case IPv6). An `address:port` or `[v6]:port` value is split, so a
//! feed that writes `192.0.2.1:443` yields the address with port 443. Ports are 1..=65535.
//!
//! Leading zeros in a dotted quad are read as decimal and dropped (`010.001.002.003` is
//! `10.1.2.3`): feeds that write them mean zero-padded decimal, not the octal that some C
//! resolvers (`inet_aton`) would read. Each octet has 1-3 digits.
//!
//! Private and reserved addresses ([`non_public`]) are not indicators of a public threat: the
//! canonicalizer rejects them with the range named, unless the caller keeps them (then the
//! indicator carries the flag `private_address` or `reserved_address`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{ErrorKind, NormalizeError};

/// A canonical address, with the port when the value carried one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalIp {
    /// The address.
    pub addr: IpAddr,
    /// The port written in the value itself, if any.
    pub port: Option<u16>,
}

/// Flag of a kept private address (RFC 1918, CGNAT, IPv6 unique-local).
pub const FLAG_PRIVATE: &str = "private_address";
/// Flag of a kept reserved address (loopback, link-local, documentation, multicast, ...).
pub const FLAG_RESERVED: &str = "reserved_address";

/// A non-public range: the network, whether it is private (else reserved), and its name.
/// Built in constants: `new_assert` checks each prefix at compile time.
struct Range {
    net: IpNet,
    private: bool,
    name: &'static str,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8, private: bool, name: &'static str) -> Range {
    Range {
        net: IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)),
        private,
        name,
    }
}

const fn v6(segments: [u16; 8], prefix: u8, private: bool, name: &'static str) -> Range {
    let [a, b, c, d, e, f, g, h] = segments;
    Range {
        net: IpNet::V6(Ipv6Net::new_assert(
            Ipv6Addr::new(a, b, c, d, e, f, g, h),
            prefix,
        )),
        private,
        name,
    }
}

/// Every range an indicator address must not fall in (RFC 6890 special-purpose registries),
/// checked in order; the first match names the reason.
static NON_PUBLIC: &[Range] = &[
    v4(10, 0, 0, 0, 8, true, "a private address (RFC 1918)"),
    v4(172, 16, 0, 0, 12, true, "a private address (RFC 1918)"),
    v4(192, 168, 0, 0, 16, true, "a private address (RFC 1918)"),
    v4(100, 64, 0, 0, 10, true, "a shared CGNAT address (RFC 6598)"),
    v4(
        0,
        0,
        0,
        0,
        8,
        false,
        "a \"this network\" address (RFC 1122)",
    ),
    v4(127, 0, 0, 0, 8, false, "a loopback address (RFC 1122)"),
    v4(169, 254, 0, 0, 16, false, "a link-local address (RFC 3927)"),
    v4(
        192,
        0,
        0,
        0,
        24,
        false,
        "an IETF protocol assignment (RFC 6890)",
    ),
    v4(
        192,
        0,
        2,
        0,
        24,
        false,
        "a documentation address (RFC 5737)",
    ),
    v4(
        198,
        51,
        100,
        0,
        24,
        false,
        "a documentation address (RFC 5737)",
    ),
    v4(
        203,
        0,
        113,
        0,
        24,
        false,
        "a documentation address (RFC 5737)",
    ),
    v4(
        198,
        18,
        0,
        0,
        15,
        false,
        "a benchmarking address (RFC 2544)",
    ),
    v4(224, 0, 0, 0, 4, false, "a multicast address (RFC 5771)"),
    v4(240, 0, 0, 0, 4, false, "a reserved address (RFC 1112)"),
    v6(
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        true,
        "a unique-local address (RFC 4193)",
    ),
    v6(
        [0, 0, 0, 0, 0, 0, 0, 0],
        128,
        false,
        "the unspecified address (RFC 4291)",
    ),
    v6(
        [0, 0, 0, 0, 0, 0, 0, 1],
        128,
        false,
        "a loopback address (RFC 4291)",
    ),
    v6(
        [0xfe80, 0, 0, 0, 0, 0, 0, 0],
        10,
        false,
        "a link-local address (RFC 4291)",
    ),
    v6(
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        false,
        "a deprecated site-local address (RFC 3879)",
    ),
    v6(
        [0xff00, 0, 0, 0, 0, 0, 0, 0],
        8,
        false,
        "a multicast address (RFC 4291)",
    ),
    v6(
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        false,
        "a documentation address (RFC 3849)",
    ),
    v6(
        [0x0100, 0, 0, 0, 0, 0, 0, 0],
        64,
        false,
        "a discard-only address (RFC 6666)",
    ),
    v6(
        [0x2001, 0x2, 0, 0, 0, 0, 0, 0],
        48,
        false,
        "a benchmarking address (RFC 5180)",
    ),
];

/// `true` for every first octet that some IPv4 range of [`NON_PUBLIC`] covers; built from the
/// table itself, so the two cannot disagree.
static NON_PUBLIC_FIRST_OCTET: std::sync::LazyLock<[bool; 256]> = std::sync::LazyLock::new(|| {
    let mut table = [false; 256];
    for range in NON_PUBLIC {
        if let IpNet::V4(net) = range.net {
            let first = usize::from(net.network().octets()[0]);
            let last = usize::from(net.broadcast().octets()[0]);
            for covered in &mut table[first..=last] {
                *covered = true;
            }
        }
    }
    table
});

/// Why a network or address is not public: `(flag, reason)`, or `None` when it is public.
///
/// A network counts as non-public when it lies entirely inside one non-public range. An
/// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is judged by its IPv4 address.
pub fn non_public(net: IpNet) -> Option<(&'static str, &'static str)> {
    let net = match net {
        IpNet::V6(n) => match n.addr().to_ipv4_mapped() {
            Some(mapped) if n.prefix_len() >= 96 => {
                IpNet::V4(Ipv4Net::new(mapped, n.prefix_len() - 96).ok()?)
            }
            _ => net,
        },
        IpNet::V4(_) => net,
    };
    if let IpNet::V4(v4) = net {
        // Most feed addresses are public: a network lies inside a range only if its base
        // address does, so a first octet no IPv4 range starts with settles it without the scan.
        if !NON_PUBLIC_FIRST_OCTET[usize::from(v4.addr().octets()[0])] {
            return None;
        }
    }
    NON_PUBLIC.iter().find(|r| r.net.contains(&net)).map(|r| {
        (
            if r.private {
                FLAG_PRIVATE
            } else {
                FLAG_RESERVED
            },
            r.name,
        )
    })
}

/// The canonical text of an address: what its `Display` writes. IPv4 addresses, the most
/// common indicator, are written digit by digit without the formatting machinery.
pub fn address_text(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => {
            let mut out = String::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + octet / 10 % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
            out
        }
        IpAddr::V6(_) => addr.to_string(),
    }
}

/// Checks that `addr` is public, or returns its flag when non-public addresses are kept.
///
/// # Errors
/// `invalid_value` naming the range (`10.1.2.3 is a private address (RFC 1918)`) when the
/// address is not public and `keep_non_public` is false.
pub fn check_public(
    addr: IpAddr,
    keep_non_public: bool,
) -> Result<Option<&'static str>, NormalizeError> {
    match non_public(IpNet::from(addr)) {
        None => Ok(None),
        Some((flag, _)) if keep_non_public => Ok(Some(flag)),
        Some((_, reason)) => Err(NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{addr} is {reason}"),
        )),
    }
}

/// Parses an IPv4 or IPv6 address, optionally with a port.
///
/// # Errors
/// `invalid_value` when the text is not an address (e.g. `300.12.7.1`) or the port is bad.
pub fn parse_ip(value: &str) -> Result<CanonicalIp, NormalizeError> {
    let value = value.trim();
    if let Some(addr) = parse_addr(value) {
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
        if let Some(addr) = parse_ipv4_decimal(addr) {
            return Ok(CanonicalIp {
                addr: IpAddr::V4(addr),
                port: Some(parse_port(port)?),
            });
        }
    }
    Err(invalid(value))
}

/// Parses a bare address: a dotted quad (leading zeros allowed, read as decimal) or IPv6.
pub(crate) fn parse_addr(value: &str) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4_decimal(value) {
        return Some(IpAddr::V4(v4));
    }
    value.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// A dotted quad of four decimal octets of 1-3 digits each, leading zeros dropped.
fn parse_ipv4_decimal(value: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = value.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse::<u8>().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
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
            format!("port {:?} is not a number in 1..=65535", truncate(value)),
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

    proptest::proptest! {
        #[test]
        fn address_text_is_display(bits in proptest::num::u32::ANY, octet in 0u8..=255) {
            for v4 in [Ipv4Addr::from(bits), Ipv4Addr::new(octet, 0, octet, 100)] {
                proptest::prop_assert_eq!(address_text(IpAddr::V4(v4)), v4.to_string());
            }
        }
    }

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
    fn leading_zeros_are_decimal() {
        assert_eq!(
            parse_ip("010.001.002.003").unwrap().addr.to_string(),
            "10.1.2.3"
        );
        assert_eq!(
            parse_ip("08.8.008.8:053").unwrap(),
            CanonicalIp {
                addr: "8.8.8.8".parse().unwrap(),
                port: Some(53)
            }
        );
    }

    #[test]
    fn invalid_addresses_are_invalid_values() {
        for bad in [
            "300.12.7.1",
            "1.2.3",
            "0001.2.3.4",
            "1.2.3.4.5",
            "1.2.3.-4",
            "+1.2.3.4",
            "example.com",
            "",
            "1.2.3.4:0",
            "[::1",
            "[::1]x",
        ] {
            assert_eq!(
                parse_ip(bad).unwrap_err().kind,
                ErrorKind::InvalidValue,
                "{bad}"
            );
        }
        let err = parse_ip("300.12.7.1").unwrap_err();
        assert_eq!(err.message, "\"300.12.7.1\" is not an IP address");
        assert_eq!(parse_ipv4("::1").unwrap_err().kind, ErrorKind::InvalidValue);
        assert_eq!(
            parse_ipv6("192.0.2.1").unwrap_err().message,
            "192.0.2.1 is an IPv4 address, the mapping says ipv6"
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

    /// The first-octet shortcut of [`non_public`] gives what the full scan gives, for an
    /// address in every /8 and for networks of every prefix length at their edges.
    #[test]
    fn first_octet_shortcut_agrees_with_the_scan() {
        let scan = |net: IpNet| {
            NON_PUBLIC
                .iter()
                .find(|r| r.net.contains(&net))
                .map(|r| r.name)
        };
        for first in 0..=255u8 {
            for addr in [
                Ipv4Addr::new(first, 0, 0, 0),
                Ipv4Addr::new(first, 64, 0, 1),
                Ipv4Addr::new(first, 255, 255, 255),
            ] {
                for prefix in [32, 24, 16, 8, 4, 1] {
                    let Ok(net) = Ipv4Net::new(addr, prefix) else {
                        continue;
                    };
                    let net = IpNet::V4(net.trunc());
                    assert_eq!(non_public(net).map(|(_, name)| name), scan(net), "{net}");
                }
            }
        }
    }

    #[test]
    fn non_public_addresses_name_their_range() {
        let reason = |v: &str| check_public(v.parse().unwrap(), false).unwrap_err().message;
        assert_eq!(
            reason("10.1.2.3"),
            "10.1.2.3 is a private address (RFC 1918)"
        );
        assert_eq!(
            reason("172.31.255.255"),
            "172.31.255.255 is a private address (RFC 1918)"
        );
        assert_eq!(
            reason("192.168.0.1"),
            "192.168.0.1 is a private address (RFC 1918)"
        );
        assert_eq!(
            reason("100.64.0.1"),
            "100.64.0.1 is a shared CGNAT address (RFC 6598)"
        );
        assert_eq!(
            reason("127.0.0.1"),
            "127.0.0.1 is a loopback address (RFC 1122)"
        );
        assert_eq!(
            reason("169.254.1.1"),
            "169.254.1.1 is a link-local address (RFC 3927)"
        );
        assert_eq!(
            reason("192.0.2.7"),
            "192.0.2.7 is a documentation address (RFC 5737)"
        );
        assert_eq!(
            reason("224.0.0.251"),
            "224.0.0.251 is a multicast address (RFC 5771)"
        );
        assert_eq!(
            reason("255.255.255.255"),
            "255.255.255.255 is a reserved address (RFC 1112)"
        );
        assert_eq!(
            reason("0.0.0.0"),
            "0.0.0.0 is a \"this network\" address (RFC 1122)"
        );
        assert_eq!(reason("::"), ":: is the unspecified address (RFC 4291)");
        assert_eq!(reason("::1"), "::1 is a loopback address (RFC 4291)");
        assert_eq!(
            reason("fd00::1"),
            "fd00::1 is a unique-local address (RFC 4193)"
        );
        assert_eq!(
            reason("fe80::1"),
            "fe80::1 is a link-local address (RFC 4291)"
        );
        assert_eq!(
            reason("ff02::1"),
            "ff02::1 is a multicast address (RFC 4291)"
        );
        assert_eq!(
            reason("2001:db8::1"),
            "2001:db8::1 is a documentation address (RFC 3849)"
        );
        assert_eq!(
            reason("::ffff:10.0.0.1"),
            "::ffff:10.0.0.1 is a private address (RFC 1918)"
        );
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert_eq!(
                check_public(public.parse().unwrap(), false).unwrap(),
                None,
                "{public}"
            );
        }
    }

    #[test]
    fn kept_non_public_addresses_are_flagged() {
        let flag = |v: &str| check_public(v.parse().unwrap(), true).unwrap();
        assert_eq!(flag("10.1.2.3"), Some(FLAG_PRIVATE));
        assert_eq!(flag("fd12::1"), Some(FLAG_PRIVATE));
        assert_eq!(flag("127.0.0.1"), Some(FLAG_RESERVED));
        assert_eq!(flag("8.8.8.8"), None);
    }

    #[test]
    fn idempotent() {
        for v in [
            "192.0.2.1",
            "2001:db8::1",
            "::ffff:192.0.2.1",
            "fe80::1",
            "010.0.0.01",
        ] {
            let once = parse_ip(v).unwrap().addr.to_string();
            assert_eq!(parse_ip(&once).unwrap().addr.to_string(), once);
        }
    }
}
