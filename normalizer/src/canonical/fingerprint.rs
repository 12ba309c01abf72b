//! Fingerprints that are hex digests but not file hashes: JA3 TLS client fingerprints (`ja3`)
//! and X.509 certificate hashes (`x509_sha1`, `x509_sha256`, and `x509` which picks by length).
//!
//! Canonical form: lower-case hex. A JA3 fingerprint is the MD5 of the client hello's fields,
//! 32 hex digits; a certificate hash is the SHA-1 (40) or SHA-256 (64) digest of the DER
//! certificate. A value of another length or with a non-hex character is an invalid value that
//! names the expected length.

use crate::canonical::hash::{check_hex, HashAlgorithm};
use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// Canonicalizes a JA3 fingerprint.
///
/// # Errors
/// `invalid_value` unless the value is 32 hex digits.
pub fn canonical_ja3(value: &str) -> Result<String, NormalizeError> {
    let v = value.trim();
    let invalid = |why: String| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not a JA3 fingerprint: {why}", truncate(value)),
        )
    };
    check_hex(v).map_err(invalid)?;
    if v.len() != 32 {
        return Err(invalid(format!(
            "ja3 needs 32 hex digits, this has {}",
            v.len()
        )));
    }
    Ok(v.to_ascii_lowercase())
}

/// Canonicalizes an X.509 certificate hash; `expected` is the mapped algorithm (SHA-1 or
/// SHA-256), `None` to pick it by length.
///
/// # Errors
/// `invalid_value` unless the value is 40 (SHA-1) or 64 (SHA-256) hex digits, as expected.
pub fn canonical_x509(
    value: &str,
    expected: Option<HashAlgorithm>,
) -> Result<(HashAlgorithm, String), NormalizeError> {
    let v = value.trim();
    let invalid = |why: String| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not a certificate hash: {why}", truncate(value)),
        )
    };
    check_hex(v).map_err(invalid)?;
    let algorithm = match expected {
        Some(want) => want,
        None => match v.len() {
            40 => HashAlgorithm::Sha1,
            64 => HashAlgorithm::Sha256,
            n => {
                return Err(invalid(format!(
                    "{n} hex digits is neither SHA-1 (40) nor SHA-256 (64)"
                )))
            }
        },
    };
    if algorithm.hex_len() != v.len() {
        return Err(invalid(format!(
            "x509_{} needs {} hex digits, this has {}",
            algorithm.type_name(),
            algorithm.hex_len(),
            v.len()
        )));
    }
    Ok((algorithm, v.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JA3: &str = "E7D705A3286E19EA42F587B344EE6865";
    const CERT_SHA1: &str = "1F:3B:2C:4D:5E:6F:70:81:92:A3:B4:C5:D6:E7:F8:09:1A:2B:3C:4D";

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_ja3(JA3).unwrap(), JA3.to_ascii_lowercase());
        let sha1 = "1F3B2C4D5E6F708192A3B4C5D6E7F8091A2B3C4D";
        assert_eq!(
            canonical_x509(sha1, None).unwrap(),
            (HashAlgorithm::Sha1, sha1.to_ascii_lowercase())
        );
        let sha256 = "ab".repeat(32);
        assert_eq!(
            canonical_x509(&sha256, Some(HashAlgorithm::Sha256))
                .unwrap()
                .0,
            HashAlgorithm::Sha256
        );
    }

    #[test]
    fn invalid_values_name_the_expected_length() {
        assert!(canonical_ja3(&JA3[..31])
            .unwrap_err()
            .message
            .ends_with("ja3 needs 32 hex digits, this has 31"));
        assert!(canonical_ja3("zz")
            .unwrap_err()
            .message
            .ends_with("character 'z' at position 0 is not a hexadecimal digit"));
        assert!(canonical_x509(&"a".repeat(64), Some(HashAlgorithm::Sha1))
            .unwrap_err()
            .message
            .ends_with("x509_sha1 needs 40 hex digits, this has 64"));
        assert!(canonical_x509(&"a".repeat(32), None)
            .unwrap_err()
            .message
            .ends_with("32 hex digits is neither SHA-1 (40) nor SHA-256 (64)"));
        // Colon-separated fingerprints as browsers show them are not accepted as written.
        assert!(canonical_x509(CERT_SHA1, None).is_err());
    }

    #[test]
    fn idempotent() {
        let once = canonical_ja3(JA3).unwrap();
        assert_eq!(canonical_ja3(&once).unwrap(), once);
        let (_, once) = canonical_x509(&"AB".repeat(20), None).unwrap();
        assert_eq!(canonical_x509(&once, None).unwrap().1, once);
    }
}
