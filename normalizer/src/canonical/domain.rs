//! Domain names (`domain`).
//!
//! Canonical form: lower-case ASCII (internationalized names as IDNA punycode, `xn--...`), no
//! trailing dot. A valid name has at least two labels of 1-63 characters from `a-z`, `0-9`, `-`
//! and `_` (no leading or trailing `-`), at most 253 characters in all, and a top-level label
//! that is not all digits (so an IP address is never a domain).

use url::Host;

use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// Canonicalizes a domain name.
///
/// # Errors
/// `invalid_value` when the value is not a valid domain name.
pub fn canonical_domain(value: &str) -> Result<String, NormalizeError> {
    let trimmed = value.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    let invalid = |why: &str| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not a domain name: {why}", truncate(value)),
        )
    };
    if trimmed.is_empty() {
        return Err(invalid("empty"));
    }

    let ascii = match Host::parse(trimmed) {
        Ok(Host::Domain(d)) => d,
        Ok(_) => return Err(invalid("it is an IP address")),
        Err(e) => return Err(invalid(&e.to_string())),
    };
    check_domain(&ascii).map_err(invalid)?;
    Ok(ascii)
}

/// Checks an ASCII lower-case host name; returns why it is not a valid domain.
pub(crate) fn check_domain(ascii: &str) -> Result<(), &'static str> {
    if ascii.len() > 253 {
        return Err("longer than 253 characters");
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err("needs at least two labels");
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err("a label is empty or longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label starts or ends with '-'");
        }
        let ok = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err("a label has a character outside a-z, 0-9, '-' and '_'");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the top-level label is numeric");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_domain("Example.COM.").unwrap(), "example.com");
        assert_eq!(
            canonical_domain(" update-check.example.net ").unwrap(),
            "update-check.example.net"
        );
        assert_eq!(
            canonical_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            canonical_domain("_dmarc.example.org").unwrap(),
            "_dmarc.example.org"
        );
    }

    #[test]
    fn invalid_domains_are_invalid_values() {
        let long_label = format!("{}.com", "a".repeat(64));
        for bad in [
            "",
            "localhost",
            "192.0.2.1",
            "exa mple.com",
            "-bad.example",
            "a..b",
            "1.2.3.999",
            long_label.as_str(),
            "http://example.com",
        ] {
            assert_eq!(
                canonical_domain(bad).unwrap_err().kind,
                ErrorKind::InvalidValue,
                "{bad}"
            );
        }
    }

    #[test]
    fn idempotent() {
        for v in ["Example.COM.", "bücher.example", "a-b.c_d.example.org"] {
            let once = canonical_domain(v).unwrap();
            assert_eq!(canonical_domain(&once).unwrap(), once);
        }
    }
}
