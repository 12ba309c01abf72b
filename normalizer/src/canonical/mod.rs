//! Canonicalization: one module per indicator type family turns a source's value into the one
//! form iocflow stores, so the same observable from two sources is the same indicator.
//!
//! Every value is refanged first ([`refang`]), then parsed by its family's module. Each
//! canonicalizer is idempotent: canonicalizing a canonical value returns it unchanged (tested in
//! each module).

pub mod cve;
pub mod domain;
pub mod email;
pub mod hash;
pub mod ip;
pub mod refang;
pub mod url;

use std::net::IpAddr;

use crate::error::{ErrorKind, NormalizeError};
use hash::HashAlgorithm;

/// Longest value accepted, in bytes, before any parsing (longer values are `too_large`).
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// The family of a canonical indicator, which decides its type name and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
    /// Domain name.
    Domain,
    /// URL.
    Url,
    /// E-mail address.
    Email,
    /// File hash.
    Hash(HashAlgorithm),
    /// CVE id.
    Cve,
}

impl Family {
    /// The indicator type name stored in `Indicator.type`.
    pub fn type_name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
            Family::Domain => "domain",
            Family::Url => "url",
            Family::Email => "email",
            Family::Hash(alg) => alg.type_name(),
            Family::Cve => "cve",
        }
    }
}

/// A canonical value with its family and the port the value itself carried (`ip:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    /// The family.
    pub family: Family,
    /// The canonical value.
    pub value: String,
    /// Port written in the value (only for `addr:port` values).
    pub port: Option<u16>,
}

/// Whether `name` is an indicator type a mapping may name (`ip` and `hash` pick the exact type
/// from the value).
pub fn is_known_type(name: &str) -> bool {
    matches!(
        name,
        "ip" | "ipv4"
            | "ipv6"
            | "domain"
            | "url"
            | "email"
            | "hash"
            | "md5"
            | "sha1"
            | "sha256"
            | "sha512"
            | "cve"
    )
}

/// Refangs and canonicalizes `value` as indicator type `type_name`.
///
/// # Errors
/// `unsupported_type` for an unknown type name, `too_large` for a value over
/// [`MAX_VALUE_BYTES`], `invalid_value` when the value is not valid for its type.
pub fn canonicalize(type_name: &str, value: &str) -> Result<Canonical, NormalizeError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(NormalizeError::new(
            ErrorKind::TooLarge,
            format!(
                "value is {} bytes, the limit is {MAX_VALUE_BYTES}",
                value.len()
            ),
        ));
    }
    let value = refang::refang(value);
    let value = value.as_ref();

    let ip = |parsed: ip::CanonicalIp| {
        let family = match parsed.addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        };
        Canonical {
            family,
            value: parsed.addr.to_string(),
            port: parsed.port,
        }
    };
    let plain = |family: Family, value: String| Canonical {
        family,
        value,
        port: None,
    };

    match type_name {
        "ip" => ip::parse_ip(value).map(ip),
        "ipv4" => ip::parse_ipv4(value).map(ip),
        "ipv6" => ip::parse_ipv6(value).map(ip),
        "domain" => domain::canonical_domain(value).map(|v| plain(Family::Domain, v)),
        "url" => url::canonical_url(value).map(|v| plain(Family::Url, v)),
        "email" => email::canonical_email(value).map(|v| plain(Family::Email, v)),
        "cve" => cve::canonical_cve(value).map(|v| plain(Family::Cve, v)),
        "hash" => hash::canonical_hash(value, None).map(|(a, v)| plain(Family::Hash(a), v)),
        other => match HashAlgorithm::from_type_name(other) {
            Some(alg) => {
                hash::canonical_hash(value, Some(alg)).map(|(a, v)| plain(Family::Hash(a), v))
            }
            None => Err(NormalizeError::new(
                ErrorKind::UnsupportedType,
                format!("indicator type {:?} is not supported", ip::truncate(other)),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_by_type_and_refangs_first() {
        let c = canonicalize("url", "hxxps://dhl-parcel-tracking[.]example[.]com/track").unwrap();
        assert_eq!(c.family, Family::Url);
        assert_eq!(c.value, "https://dhl-parcel-tracking.example.com/track");

        let c = canonicalize("ip", "2001:db8::1").unwrap();
        assert_eq!(c.family.type_name(), "ipv6");

        let c = canonicalize("domain", "evil[.]example(dot)com").unwrap();
        assert_eq!(c.value, "evil.example.com");

        let c = canonicalize("hash", &"A".repeat(40)).unwrap();
        assert_eq!(c.family.type_name(), "sha1");
    }

    #[test]
    fn unknown_type_and_oversized_value() {
        assert_eq!(
            canonicalize("ja3", "x").unwrap_err().kind,
            ErrorKind::UnsupportedType
        );
        let big = format!("http://example.com/{}", "a".repeat(MAX_VALUE_BYTES));
        assert_eq!(
            canonicalize("url", &big).unwrap_err().kind,
            ErrorKind::TooLarge
        );
    }

    #[test]
    fn every_family_is_idempotent() {
        let cases = [
            ("ipv4", "192.0.2.1:8080"),
            ("ipv6", "2001:DB8::1"),
            ("domain", "Evil[.]Example.COM"),
            ("url", "hxxp://Evil[.]Example.COM:80/A?b=C"),
            ("email", "Bob[@]Example.org"),
            (
                "sha256",
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            ),
            ("cve", "cve-2021-44228"),
        ];
        for (kind, value) in cases {
            let once = canonicalize(kind, value).unwrap();
            let twice = canonicalize(once.family.type_name(), &once.value).unwrap();
            assert_eq!(twice.value, once.value, "{kind} {value}");
            assert_eq!(twice.family, once.family);
        }
    }
}
