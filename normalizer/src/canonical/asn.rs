//! Autonomous systems (`asn`).
//!
//! Canonical form: `AS` and the decimal number, without leading zeros: `AS13335`, `as13335`,
//! `ASN 13335` and `13335` all become `AS13335`. The number is 1..=4294967295 (32-bit AS
//! numbers, RFC 6793; 0 is reserved and refused). The asdot notation (`1.10`) is not accepted.

use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// Canonicalizes an AS number; returns the canonical text and the number.
///
/// # Errors
/// `invalid_value` when the value is not an AS number in 1..=4294967295.
pub fn canonical_asn(value: &str) -> Result<(String, u32), NormalizeError> {
    let invalid = |why: &str| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not an autonomous system: {why}", truncate(value)),
        )
    };
    let v = value.trim();
    let digits = strip_prefix_ignore_case(v, "asn")
        .or_else(|| strip_prefix_ignore_case(v, "as"))
        .unwrap_or(v)
        .trim_start();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("expected AS and a decimal number, e.g. AS13335"));
    }
    let significant = digits.trim_start_matches('0');
    let number = if significant.len() > 10 {
        None
    } else {
        significant.parse::<u64>().ok().or(Some(0))
    };
    match number.and_then(|n| u32::try_from(n).ok()) {
        Some(0) => Err(invalid("AS number 0 is reserved (RFC 7607)")),
        Some(n) => Ok((format!("AS{n}"), n)),
        None => Err(invalid("the number is larger than 4294967295")),
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        for v in [
            "AS13335",
            "as13335",
            "13335",
            " ASN13335 ",
            "AS 13335",
            "AS013335",
        ] {
            assert_eq!(canonical_asn(v).unwrap(), ("AS13335".into(), 13335), "{v}");
        }
        assert_eq!(canonical_asn("4294967295").unwrap().0, "AS4294967295");
        assert_eq!(canonical_asn("AS1").unwrap().1, 1);
    }

    #[test]
    fn invalid_numbers_have_precise_reasons() {
        let reason = |v: &str| canonical_asn(v).unwrap_err().message;
        assert!(reason("AS0").ends_with("AS number 0 is reserved (RFC 7607)"));
        assert!(reason("4294967296").ends_with("the number is larger than 4294967295"));
        assert!(reason("99999999999999999999999").ends_with("larger than 4294967295"));
        for bad in ["", "AS", "AS-1", "AS1.10", "ASX", "13335a", "A S1"] {
            assert!(
                reason(bad).ends_with("expected AS and a decimal number, e.g. AS13335"),
                "{bad}"
            );
        }
    }

    #[test]
    fn idempotent() {
        let (once, _) = canonical_asn("as000064512").unwrap();
        assert_eq!(canonical_asn(&once).unwrap().0, once);
    }
}
