//! E-mail addresses (`email`).
//!
//! Canonical form: the local part as written (it may be case-sensitive), `@`, and the domain in
//! its canonical form (see [`super::domain`]; an internationalized domain is punycode, and the
//! address with the Unicode domain is kept beside the value). The local part is 1-64 characters
//! without spaces, control characters or `@`.

use crate::canonical::domain::{to_ascii, to_unicode};
use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// Canonicalizes an e-mail address; returns the address and, for an internationalized domain,
/// the address with the domain in Unicode.
///
/// # Errors
/// `invalid_value` when the value is not `local@domain` with a valid domain.
pub fn canonical_email(value: &str) -> Result<(String, Option<String>), NormalizeError> {
    let v = value.trim();
    let v = v.strip_prefix("mailto:").unwrap_or(v);
    let invalid = |why: &str| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not an e-mail address: {why}", truncate(value)),
        )
    };
    let (local, domain) = v.rsplit_once('@').ok_or_else(|| invalid("no @"))?;
    if local.is_empty() || local.chars().count() > 64 {
        return Err(invalid(
            "the local part is empty or longer than 64 characters",
        ));
    }
    if local
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '@')
    {
        return Err(invalid(
            "the local part has a space, control character or @",
        ));
    }
    let ascii =
        to_ascii(domain).map_err(|why| invalid(&format!("the domain is not valid: {why}")))?;
    let unicode = to_unicode(&ascii).map(|d| format!("{local}@{d}"));
    Ok((format!("{local}@{ascii}"), unicode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(
            canonical_email(" John.Doe@Example.COM ").unwrap(),
            ("John.Doe@example.com".into(), None)
        );
        assert_eq!(
            canonical_email("mailto:a@bücher.example").unwrap(),
            (
                "a@xn--bcher-kva.example".into(),
                Some("a@bücher.example".into())
            )
        );
    }

    #[test]
    fn invalid_addresses_are_invalid_values() {
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "a b@example.com",
            "a@localhost",
            "a@",
        ] {
            assert_eq!(
                canonical_email(bad).unwrap_err().kind,
                ErrorKind::InvalidValue,
                "{bad}"
            );
        }
        assert!(canonical_email("a@exa_mple.com")
            .unwrap_err()
            .message
            .ends_with("the domain is not valid: label \"exa_mple\" has an underscore, which a host name cannot have"));
    }

    #[test]
    fn idempotent() {
        let (once, _) = canonical_email("John.Doe@Bücher.example").unwrap();
        assert_eq!(canonical_email(&once).unwrap().0, once);
    }
}
