//! Domain names (`domain`).
//!
//! Canonical form: lower-case ASCII, no trailing dot; internationalized names are converted
//! with IDNA (UTS #46, non-transitional) to punycode (`bücher.example` → `xn--bcher-kva.example`)
//! and their Unicode form is kept beside the value. Homoglyph and mixed-script names
//! (`раураl.com` in Cyrillic) are converted the same way, not rejected: they are exactly the
//! names phishing feeds report.
//!
//! A valid name has at least two labels of 1-63 characters from `a-z`, `0-9` and `-` (no
//! leading or trailing `-`), at most 253 characters in all, and a top-level label that is not
//! all digits (so an IP address is never a domain). Spaces and underscores are refused: they
//! cannot appear in a host name, so a value holding them is not what the source says it is.

use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// Longest domain name, in characters of its ASCII form.
const MAX_NAME: usize = 253;
/// Longest label.
const MAX_LABEL: usize = 63;

/// A canonical domain name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalDomain {
    /// ASCII (punycode) form: the indicator value.
    pub ascii: String,
    /// Unicode form, when it differs from `ascii`.
    pub unicode: Option<String>,
}

/// Canonicalizes a domain name.
///
/// # Errors
/// `invalid_value`, with the precise reason, when the value is not a valid domain name.
pub fn canonical_domain(value: &str) -> Result<CanonicalDomain, NormalizeError> {
    let invalid = |why: String| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not a domain name: {why}", truncate(value)),
        )
    };
    let ascii = to_ascii(value).map_err(invalid)?;
    let unicode = to_unicode(&ascii);
    Ok(CanonicalDomain { ascii, unicode })
}

/// The canonical ASCII form of a host name, or why it is not one.
pub(crate) fn to_ascii(value: &str) -> Result<String, String> {
    let trimmed = value.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err("it is empty".into());
    }
    if trimmed.contains(char::is_whitespace) {
        return Err("it contains a space".into());
    }
    if let Some(label) = trimmed.split('.').find(|l| l.contains('_')) {
        return Err(format!(
            "label {:?} has an underscore, which a host name cannot have",
            truncate(label)
        ));
    }
    if trimmed.contains(['/', ':', '@', '?', '#']) {
        return Err("it contains a URL delimiter (/ : @ ? #)".into());
    }
    let ascii = idna::domain_to_ascii(trimmed)
        .map_err(|_| "it is not a valid internationalized name (IDNA)".to_string())?;
    check_domain(&ascii)?;
    Ok(ascii)
}

/// The Unicode form of a canonical ASCII name, if it differs.
pub(crate) fn to_unicode(ascii: &str) -> Option<String> {
    if !ascii.split('.').any(|l| l.starts_with("xn--")) {
        return None;
    }
    let (unicode, result) = idna::domain_to_unicode(ascii);
    (result.is_ok() && unicode != ascii).then_some(unicode)
}

/// Checks an ASCII lower-case host name; returns why it is not a valid domain.
pub(crate) fn check_domain(ascii: &str) -> Result<(), String> {
    if ascii.len() > MAX_NAME {
        return Err(format!(
            "it is {} characters long, the limit is {MAX_NAME}",
            ascii.len()
        ));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err("it needs at least two labels".into());
    }
    for label in &labels {
        if label.is_empty() {
            return Err("it has an empty label".into());
        }
        if label.len() > MAX_LABEL {
            return Err(format!(
                "label {:?} is {} characters long, the limit is {MAX_LABEL}",
                truncate(label),
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!(
                "label {:?} has the character {c:?}, outside a-z, 0-9 and '-'",
                truncate(label)
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("the top-level label is numeric".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ascii(v: &str) -> String {
        canonical_domain(v).unwrap().ascii
    }

    fn reason(v: &str) -> String {
        canonical_domain(v).unwrap_err().message
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(ascii("Example.COM."), "example.com");
        assert_eq!(
            ascii(" update-check.example.net "),
            "update-check.example.net"
        );
        let idn = canonical_domain("Bücher.example").unwrap();
        assert_eq!(idn.ascii, "xn--bcher-kva.example");
        assert_eq!(idn.unicode.as_deref(), Some("bücher.example"));
        assert_eq!(canonical_domain("example.com").unwrap().unicode, None);
        // Full-width dots and letters are mapped by UTS #46.
        assert_eq!(ascii("ｅｘａｍｐｌｅ。com"), "example.com");
    }

    #[test]
    fn homoglyph_names_are_punycoded_not_rejected() {
        // "раураl" with Cyrillic р, а, у.
        let d = canonical_domain("раураl.com").unwrap();
        assert!(d.ascii.starts_with("xn--"), "{}", d.ascii);
        assert_eq!(d.unicode.as_deref(), Some("раураl.com"));
        assert_ne!(d.ascii, "paypal.com");
    }

    #[test]
    fn invalid_domains_have_precise_reasons() {
        assert_eq!(
            reason("exa mple.com"),
            "\"exa mple.com\" is not a domain name: it contains a space"
        );
        assert_eq!(
            reason("_dmarc.example.org"),
            "\"_dmarc.example.org\" is not a domain name: label \"_dmarc\" has an underscore, which a host name cannot have"
        );
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(reason(&long_label).ends_with("is 64 characters long, the limit is 63"));
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(
            reason(&long_name).ends_with("the limit is 253"),
            "{}",
            reason(&long_name)
        );
        assert!(reason("localhost").ends_with("it needs at least two labels"));
        assert!(reason("1.2.3.999").ends_with("the top-level label is numeric"));
        assert!(reason("-bad.example").ends_with("starts or ends with '-'"));
        assert!(reason("a..b").ends_with("it has an empty label"));
        assert!(reason("").ends_with("it is empty"));
        assert!(reason("http://example.com").ends_with("it contains a URL delimiter (/ : @ ? #)"));
        assert!(
            reason("a*b.example").contains("'*'"),
            "{}",
            reason("a*b.example")
        );
    }

    #[test]
    fn idempotent() {
        for v in [
            "Example.COM.",
            "bücher.example",
            "a-b.c-d.example.org",
            "раураl.com",
        ] {
            let once = ascii(v);
            assert_eq!(ascii(&once), once);
        }
    }
}
