//! IP networks in CIDR notation (`ipv4_network`, `ipv6_network`, and `network` which accepts
//! either).
//!
//! Canonical form: the network's base address and prefix length, `1.2.3.4/24` → `1.2.3.0/24`,
//! `2001:DB8:0:0:1::/48` → `2001:db8::/48` (addresses as in [`super::ip`], leading zeros of a
//! dotted quad read as decimal). The prefix is required. A network larger than the configured
//! minimum prefix (default `/8` for IPv4, `/16` for IPv6; `0.0.0.0/0` is always refused) is an
//! invalid value: such a block is not an indicator, and blocking it would cut off a large part
//! of the Internet. A network that lies entirely inside a private or reserved range is treated
//! like such an address (see [`super::ip::non_public`]).

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::canonical::ip::{non_public, parse_addr, truncate};
use crate::error::{ErrorKind, NormalizeError};

/// Which address family a mapping asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
    /// Either.
    Any,
}

/// A canonical network and the flag it carries when it is kept despite being non-public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalNetwork {
    /// The network, truncated to its base address.
    pub net: IpNet,
    /// `private_address` or `reserved_address` when kept although non-public.
    pub flag: Option<&'static str>,
}

/// Parses and checks a CIDR network.
///
/// `min_v4`/`min_v6` are the smallest prefix lengths accepted; prefix 0 is always refused.
///
/// # Errors
/// `invalid_value` for a value that is not `address/prefix`, a prefix out of range, a network
/// larger than the minimum allows, the wrong family, or a non-public network when
/// `keep_non_public` is false.
pub fn canonical_network(
    value: &str,
    want: Want,
    min_v4: u8,
    min_v6: u8,
    keep_non_public: bool,
) -> Result<CanonicalNetwork, NormalizeError> {
    let v = value.trim();
    let invalid = |why: String| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not a network: {why}", truncate(value)),
        )
    };
    let (addr, prefix) = v
        .split_once('/')
        .ok_or_else(|| invalid("no /prefix (write a single address as an ip)".into()))?;
    let addr = parse_addr(addr).ok_or_else(|| invalid("the address does not parse".into()))?;
    let prefix_ok =
        !prefix.is_empty() && prefix.len() <= 3 && prefix.bytes().all(|b| b.is_ascii_digit());
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|_| prefix_ok)
        .ok_or_else(|| invalid(format!("prefix {:?} is not a number", truncate(prefix))))?;

    let (net, min) = match addr {
        IpAddr::V4(a) => (
            Ipv4Net::new(a, prefix)
                .map(IpNet::V4)
                .map_err(|_| invalid(format!("prefix /{prefix} is longer than 32")))?,
            min_v4,
        ),
        IpAddr::V6(a) => (
            Ipv6Net::new(a, prefix)
                .map(IpNet::V6)
                .map_err(|_| invalid(format!("prefix /{prefix} is longer than 128")))?,
            min_v6,
        ),
    };
    match (want, net) {
        (Want::V4, IpNet::V6(_)) => {
            return Err(invalid(
                "it is an IPv6 network, the mapping says ipv4_network".into(),
            ))
        }
        (Want::V6, IpNet::V4(_)) => {
            return Err(invalid(
                "it is an IPv4 network, the mapping says ipv6_network".into(),
            ))
        }
        _ => {}
    }
    let net = net.trunc();
    if prefix == 0 || prefix < min {
        return Err(NormalizeError::new(
            ErrorKind::InvalidValue,
            format!(
                "network {net} is too large: prefix /{prefix} is below the minimum /{}",
                min.max(1)
            ),
        ));
    }

    let flag = match non_public(net) {
        None => None,
        Some((flag, _)) if keep_non_public => Some(flag),
        Some((_, reason)) => {
            return Err(NormalizeError::new(
                ErrorKind::InvalidValue,
                format!("network {net} is {reason}"),
            ))
        }
    };
    Ok(CanonicalNetwork { net, flag })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(v: &str) -> Result<String, NormalizeError> {
        canonical_network(v, Want::Any, 8, 16, false).map(|n| n.net.to_string())
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canon("1.2.3.4/24").unwrap(), "1.2.3.0/24");
        assert_eq!(canon(" 45.95.147.236/32 ").unwrap(), "45.95.147.236/32");
        assert_eq!(canon("045.095.147.000/22").unwrap(), "45.95.144.0/22");
        assert_eq!(canon("2606:4700:0:0:1::/48").unwrap(), "2606:4700::/48");
        assert_eq!(canon("2606:4700::1/128").unwrap(), "2606:4700::1/128");
        assert_eq!(canon("8.0.0.0/8").unwrap(), "8.0.0.0/8");
    }

    #[test]
    fn invalid_networks_have_precise_reasons() {
        let msg = |v: &str| canon(v).unwrap_err().message;
        assert_eq!(
            msg("0.0.0.0/0"),
            "network 0.0.0.0/0 is too large: prefix /0 is below the minimum /8"
        );
        assert_eq!(
            msg("8.8.8.8/4"),
            "network 0.0.0.0/4 is too large: prefix /4 is below the minimum /8"
        );
        assert_eq!(
            msg("2606::/12"),
            "network 2600::/12 is too large: prefix /12 is below the minimum /16"
        );
        assert_eq!(
            msg("1.2.3.4/33"),
            "\"1.2.3.4/33\" is not a network: prefix /33 is longer than 32"
        );
        assert_eq!(
            msg("1.2.3.4"),
            "\"1.2.3.4\" is not a network: no /prefix (write a single address as an ip)"
        );
        assert_eq!(
            msg("1.2.3.4/x"),
            "\"1.2.3.4/x\" is not a network: prefix \"x\" is not a number"
        );
        assert_eq!(
            msg("10.0.0.0/8"),
            "network 10.0.0.0/8 is a private address (RFC 1918)"
        );
        assert_eq!(
            msg("192.168.1.7/24"),
            "network 192.168.1.0/24 is a private address (RFC 1918)"
        );
        assert_eq!(
            canonical_network("2606::/32", Want::V4, 8, 16, false)
                .unwrap_err()
                .message,
            "\"2606::/32\" is not a network: it is an IPv6 network, the mapping says ipv4_network"
        );
        for bad in [
            "",
            "/24",
            "a.b.c.d/8",
            "1.2.3.4/-1",
            "1.2.3.4/+8",
            "1.2.3.4/0008",
        ] {
            assert!(canon(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn minimum_prefix_is_configurable_and_zero_always_refused() {
        assert!(canonical_network("4.0.0.0/6", Want::Any, 4, 16, false).is_ok());
        assert!(canonical_network("0.0.0.0/0", Want::Any, 0, 0, false).is_err());
        assert!(canonical_network("1.0.0.0/16", Want::Any, 24, 16, false).is_err());
    }

    #[test]
    fn kept_non_public_networks_are_flagged() {
        let n = canonical_network("10.1.0.0/16", Want::Any, 8, 16, true).unwrap();
        assert_eq!(
            (n.net.to_string(), n.flag),
            ("10.1.0.0/16".into(), Some("private_address"))
        );
        // A public network that merely contains a private one is public.
        let n = canonical_network("100.0.0.0/8", Want::Any, 8, 16, false).unwrap();
        assert_eq!(n.flag, None);
    }
}
