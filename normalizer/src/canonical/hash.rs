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

    fn from_len(len: usize) -> Option<HashAlgorithm> {
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
/// not match `expected`.
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
    if !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("not hexadecimal"));
    }
    let algorithm =
        HashAlgorithm::from_len(v.len()).ok_or_else(|| invalid("length fits no algorithm"))?;
    if let Some(want) = expected {
        if want != algorithm {
            return Err(invalid(&format!(
                "{} hex digits is {}, the mapping says {}",
                v.len(),
                algorithm.type_name(),
                want.type_name()
            )));
        }
    }
    Ok((algorithm, v.to_ascii_lowercase()))
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
    }

    #[test]
    fn idempotent() {
        let (_, once) = canonical_hash(SHA256, None).unwrap();
        assert_eq!(canonical_hash(&once, None).unwrap().1, once);
    }
}
