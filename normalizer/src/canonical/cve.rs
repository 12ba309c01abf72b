//! Vulnerability identifiers (`cve`).
//!
//! Canonical form: `CVE-YYYY-NNNN...` in upper case, a four-digit year and at least four digits
//! of sequence number.

use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// Canonicalizes a CVE id.
///
/// # Errors
/// `invalid_value` when the value is not `CVE-<year>-<number>`.
pub fn canonical_cve(value: &str) -> Result<String, NormalizeError> {
    let upper = value.trim().to_ascii_uppercase();
    let valid = upper
        .strip_prefix("CVE-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(year, number)| {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && number.len() >= 4
                && number.len() <= 19
                && number.bytes().all(|b| b.is_ascii_digit())
        });
    if valid {
        Ok(upper)
    } else {
        Err(NormalizeError::new(
            ErrorKind::InvalidValue,
            format!(
                "{:?} is not a CVE id: expected CVE-YYYY-NNNN (a four-digit year, 4-19 digits)",
                truncate(value)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_cve(" cve-2021-44228 ").unwrap(), "CVE-2021-44228");
        assert_eq!(canonical_cve("CVE-2024-123456").unwrap(), "CVE-2024-123456");
    }

    #[test]
    fn invalid_ids_are_invalid_values() {
        for bad in [
            "",
            "CVE-21-44228",
            "CVE-2021-123",
            "CVE-2021-44228a",
            "2021-44228",
            "CVE-2021",
        ] {
            assert_eq!(
                canonical_cve(bad).unwrap_err().kind,
                ErrorKind::InvalidValue,
                "{bad}"
            );
        }
    }

    #[test]
    fn idempotent() {
        let once = canonical_cve("cve-2021-44228").unwrap();
        assert_eq!(canonical_cve(&once).unwrap(), once);
    }
}
