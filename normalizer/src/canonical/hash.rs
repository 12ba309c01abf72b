//! File hashes (`md5`, `sha1`, `sha256`, `sha512`, and `hash` which picks the algorithm by
//! length).
//!
//! Canonical form: lower-case hex. The algorithm follows from the length (32, 40, 64 or 128 hex
//! digits); a value whose length does not match the mapped type is an invalid value.

use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// A hash algorithm iocflow knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// MD5, 32 hex digits.
    Md5,
    /// SHA-1, 40 hex digits.
    Sha1,
    /// SHA-256, 64 hex digits.
    Sha256,
    /// SHA-512, 128 hex digits.
    Sha512,
}

impl HashAlgorithm {
    /// The indicator type name (`md5`, `sha1`, `sha256`, `sha512`).
    pub fn type_name(self) -> &'static str {
        match self {
            HashAlgorithm::Md5 => "md5",
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// The STIX 2.1 hash-algorithm-ov name (`MD5`, `SHA-1`, `SHA-256`, `SHA-512`).
    pub fn stix_name(self) -> &'static str {
        match self {
            HashAlgorithm::Md5 => "MD5",
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha512 => "SHA-512",
        }
    }

    /// The algorithm named by an indicator type, if it is a hash type.
    pub fn from_type_name(name: &str) -> Option<HashAlgorithm> {
        match name {
            "md5" => Some(HashAlgorithm::Md5),
            "sha1" => Some(HashAlgorithm::Sha1),
            "sha256" => Some(HashAlgorithm::Sha256),
            "sha512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// Number of hex digits of a digest.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 32,
            HashAlgorithm::Sha1 => 40,
            HashAlgorithm::Sha256 => 64,
            HashAlgorithm::Sha512 => 128,
        }
    }

    /// The algorithm whose digest has `len` hex digits.
    pub fn from_len(len: usize) -> Option<HashAlgorithm> {
        match len {
            32 => Some(HashAlgorithm::Md5),
            40 => Some(HashAlgorithm::Sha1),
            64 => Some(HashAlgorithm::Sha256),
            128 => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// Canonicalizes a hash; `expected` is the mapped algorithm, `None` for type `hash`.
///
/// # Errors
/// `invalid_value` for non-hex characters, a length of no known algorithm, or a length that does
/// not match `expected` (the message names the expected length: "md5 needs 32 hex digits, this
/// has 31").
pub fn canonical_hash(
    value: &str,
    expected: Option<HashAlgorithm>,
) -> Result<(HashAlgorithm, String), NormalizeError> {
    let v = value.trim();
    let invalid = |why: &str| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not a hash: {why}", truncate(value)),
        )
    };
    check_hex(v).map_err(|why| invalid(&why))?;
    match expected {
        Some(want) if want.hex_len() != v.len() => Err(invalid(&format!(
            "{} needs {} hex digits, this has {}",
            want.type_name(),
            want.hex_len(),
            v.len()
        ))),
        Some(want) => Ok((want, v.to_ascii_lowercase())),
        None => match HashAlgorithm::from_len(v.len()) {
            Some(alg) => Ok((alg, v.to_ascii_lowercase())),
            None => Err(invalid(&format!(
                "{} hex digits fits no algorithm (md5 32, sha1 40, sha256 64, sha512 128)",
                v.len()
            ))),
        },
    }
}

/// Checks that `v` is non-empty hexadecimal; says where it is not.
pub(crate) fn check_hex(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err("it is empty".into());
    }
    match v.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        Some((i, c)) => Err(format!(
            "character {c:?} at position {i} is not a hexadecimal digit"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256: &str = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";

    #[test]
    fn canonical_forms() {
        let (alg, v) = canonical_hash(SHA256, Some(HashAlgorithm::Sha256)).unwrap();
        assert_eq!(alg, HashAlgorithm::Sha256);
        assert_eq!(v, SHA256.to_ascii_lowercase());
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        assert_eq!(canonical_hash(md5, None).unwrap().0, HashAlgorithm::Md5);
        let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        assert_eq!(canonical_hash(sha1, None).unwrap().0, HashAlgorithm::Sha1);
        let sha512 = "a".repeat(128);
        assert_eq!(
            canonical_hash(&sha512, None).unwrap().0,
            HashAlgorithm::Sha512
        );
    }

    #[test]
    fn invalid_hashes_are_invalid_values() {
        let not_hex = "g".repeat(64);
        for bad in ["", "abc", not_hex.as_str(), &"a".repeat(63)] {
            assert_eq!(
                canonical_hash(bad, None).unwrap_err().kind,
                ErrorKind::InvalidValue
            );
        }
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let err = canonical_hash(md5, Some(HashAlgorithm::Sha256)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidValue);
        assert!(err
            .message
            .ends_with("sha256 needs 64 hex digits, this has 32"));
    }

    #[test]
    fn reasons_name_the_expected_length_and_the_bad_character() {
        let short_md5 = &"d41d8cd98f00b204e9800998ecf8427e"[..31];
        assert_eq!(
            canonical_hash(short_md5, Some(HashAlgorithm::Md5))
                .unwrap_err()
                .message,
            format!("{short_md5:?} is not a hash: md5 needs 32 hex digits, this has 31")
        );
        assert!(canonical_hash("abcx", None)
            .unwrap_err()
            .message
            .ends_with("character 'x' at position 3 is not a hexadecimal digit"));
        assert!(canonical_hash("abc", None)
            .unwrap_err()
            .message
            .ends_with("3 hex digits fits no algorithm (md5 32, sha1 40, sha256 64, sha512 128)"));
    }

    #[test]
    fn idempotent() {
        let (_, once) = canonical_hash(SHA256, None).unwrap();
        assert_eq!(canonical_hash(&once, None).unwrap().1, once);
    }
}
