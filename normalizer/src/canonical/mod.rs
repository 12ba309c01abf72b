//! Canonicalization: one module per indicator type family turns a source's value into the one
//! form iocflow stores, so the same observable from two sources is the same indicator.
//!
//! Every value is refanged first ([`refang`]), then parsed by its family's module. Each
//! canonicalizer is idempotent: canonicalizing a canonical value returns it unchanged (unit
//! tests in each module, and a property test over generated inputs for every type below).
//!
//! Type names a mapping may use: `ipv4`, `ipv6` (`ip` picks), `ipv4_network`, `ipv6_network`
//! (`network` picks), `domain`, `url`, `email`, `md5`, `sha1`, `sha256`, `sha512` (`hash` picks
//! by length), `asn`, `cve`, `ja3`, `x509_sha1`, `x509_sha256` (`x509` picks by length).

pub mod asn;
pub mod cve;
pub mod domain;
pub mod email;
pub mod fingerprint;
pub mod hash;
pub mod ip;
pub mod network;
pub mod refang;
pub mod url;

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{ErrorKind, NormalizeError};
use hash::HashAlgorithm;
use network::Want;

/// Longest value accepted, in bytes, before any parsing (longer values are `too_large`).
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// Default smallest IPv4 network prefix accepted (`/8`).
pub const DEFAULT_MIN_IPV4_PREFIX: u8 = 8;
/// Default smallest IPv6 network prefix accepted (`/16`).
pub const DEFAULT_MIN_IPV6_PREFIX: u8 = 16;

/// The family of a canonical indicator, which decides its type name and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
    /// IPv4 network (CIDR).
    Ipv4Network,
    /// IPv6 network (CIDR).
    Ipv6Network,
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
    /// Autonomous system (`AS13335`).
    Asn,
    /// JA3 TLS client fingerprint.
    Ja3,
    /// X.509 certificate hash (SHA-1 or SHA-256).
    X509(HashAlgorithm),
}

impl Family {
    /// The indicator type name stored in `Indicator.type`.
    pub fn type_name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
            Family::Ipv4Network => "ipv4_network",
            Family::Ipv6Network => "ipv6_network",
            Family::Domain => "domain",
            Family::Url => "url",
            Family::Email => "email",
            Family::Hash(alg) => alg.type_name(),
            Family::Cve => "cve",
            Family::Asn => "asn",
            Family::Ja3 => "ja3",
            Family::X509(HashAlgorithm::Sha256) => "x509_sha256",
            Family::X509(_) => "x509_sha1",
        }
    }
}

/// A canonical value with its family and what the value itself carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    /// The family.
    pub family: Family,
    /// The canonical value.
    pub value: String,
    /// Port written in the value (only for `addr:port` values).
    pub port: Option<u16>,
    /// Unicode form of an internationalized value (domain, URL host, e-mail domain).
    pub value_unicode: Option<String>,
    /// Caveats of a value kept anyway (`private_address`, `reserved_address`).
    pub flags: Vec<&'static str>,
}

impl Canonical {
    fn plain(family: Family, value: String) -> Canonical {
        Canonical {
            family,
            value,
            port: None,
            value_unicode: None,
            flags: Vec::new(),
        }
    }
}

/// What a mapping may change about canonicalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonicalOptions {
    /// Keep private and reserved addresses (flagged) instead of rejecting them.
    pub keep_non_public: bool,
    /// Smallest IPv4 network prefix accepted.
    pub min_ipv4_prefix: u8,
    /// Smallest IPv6 network prefix accepted.
    pub min_ipv6_prefix: u8,
}

impl Default for CanonicalOptions {
    fn default() -> Self {
        CanonicalOptions {
            keep_non_public: false,
            min_ipv4_prefix: DEFAULT_MIN_IPV4_PREFIX,
            min_ipv6_prefix: DEFAULT_MIN_IPV6_PREFIX,
        }
    }
}

/// Whether `name` is an indicator type a mapping may name (`ip`, `network`, `hash` and `x509`
/// pick the exact type from the value).
pub fn is_known_type(name: &str) -> bool {
    matches!(
        name,
        "ip" | "ipv4"
            | "ipv6"
            | "network"
            | "ipv4_network"
            | "ipv6_network"
            | "domain"
            | "url"
            | "email"
            | "hash"
            | "md5"
            | "sha1"
            | "sha256"
            | "sha512"
            | "asn"
            | "cve"
            | "ja3"
            | "x509"
            | "x509_sha1"
            | "x509_sha256"
    )
}

/// Refangs and canonicalizes `value` as indicator type `type_name` with the default options
/// (non-public addresses rejected, default minimum network prefixes).
///
/// # Errors
/// As [`canonicalize_with`].
pub fn canonicalize(type_name: &str, value: &str) -> Result<Canonical, NormalizeError> {
    canonicalize_with(type_name, value, &CanonicalOptions::default())
}

/// Refangs and canonicalizes `value` as indicator type `type_name`.
///
/// # Errors
/// `unsupported_type` for an unknown type name, `too_large` for a value, or a canonical form,
/// over [`MAX_VALUE_BYTES`], `invalid_value` when the value is not valid for its type (the message
/// says precisely why).
pub fn canonicalize_with(
    type_name: &str,
    value: &str,
    options: &CanonicalOptions,
) -> Result<Canonical, NormalizeError> {
    within_limit("value", value)?;
    let value = refang::refang(value);
    let value = value.as_ref();
    let keep = options.keep_non_public;

    let ip = |parsed: ip::CanonicalIp| -> Result<Canonical, NormalizeError> {
        let family = match parsed.addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        };
        let flag = ip::check_public(parsed.addr, keep)?;
        Ok(Canonical {
            port: parsed.port,
            flags: flag.into_iter().collect(),
            ..Canonical::plain(family, ip::address_text(parsed.addr))
        })
    };
    let net = |want: Want| -> Result<Canonical, NormalizeError> {
        let n = network::canonical_network(
            value,
            want,
            options.min_ipv4_prefix,
            options.min_ipv6_prefix,
            keep,
        )?;
        let family = match n.net {
            IpNet::V4(_) => Family::Ipv4Network,
            IpNet::V6(_) => Family::Ipv6Network,
        };
        Ok(Canonical {
            flags: n.flag.into_iter().collect(),
            ..Canonical::plain(family, n.net.to_string())
        })
    };
    let plain = Canonical::plain;

    let canonical = match type_name {
        "ip" => ip::parse_ip(value).and_then(ip),
        "ipv4" => ip::parse_ipv4(value).and_then(ip),
        "ipv6" => ip::parse_ipv6(value).and_then(ip),
        "network" => net(Want::Any),
        "ipv4_network" => net(Want::V4),
        "ipv6_network" => net(Want::V6),
        "domain" => domain::canonical_domain(value).map(|d| Canonical {
            value_unicode: d.unicode,
            ..plain(Family::Domain, d.ascii)
        }),
        "url" => url::canonical_url(value, keep).map(|u| Canonical {
            value_unicode: u.unicode,
            flags: u.flag.into_iter().collect(),
            ..plain(Family::Url, u.url)
        }),
        "email" => email::canonical_email(value).map(|(v, unicode)| Canonical {
            value_unicode: unicode,
            ..plain(Family::Email, v)
        }),
        "cve" => cve::canonical_cve(value).map(|v| plain(Family::Cve, v)),
        "asn" => asn::canonical_asn(value).map(|(v, _)| plain(Family::Asn, v)),
        "ja3" => fingerprint::canonical_ja3(value).map(|v| plain(Family::Ja3, v)),
        "x509" => fingerprint::canonical_x509(value, None).map(|(a, v)| plain(Family::X509(a), v)),
        "x509_sha1" => fingerprint::canonical_x509(value, Some(HashAlgorithm::Sha1))
            .map(|(a, v)| plain(Family::X509(a), v)),
        "x509_sha256" => fingerprint::canonical_x509(value, Some(HashAlgorithm::Sha256))
            .map(|(a, v)| plain(Family::X509(a), v)),
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
    }?;
    // Canonical forms can be longer than what they came from (a URL's percent-encoding triples
    // every byte it escapes); one over the limit would be refused when canonicalized again.
    within_limit("canonical value", &canonical.value)?;
    Ok(canonical)
}

/// `too_large` when `value` (named `what` in the message) is over [`MAX_VALUE_BYTES`].
fn within_limit(what: &str, value: &str) -> Result<(), NormalizeError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(NormalizeError::new(
            ErrorKind::TooLarge,
            format!(
                "{what} is {} bytes, the limit is {MAX_VALUE_BYTES}",
                value.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
