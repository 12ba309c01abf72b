//! Expiry: how many days an indicator stays valid, by type and integration.
//!
//! Built-in defaults, used when the spec says nothing: addresses and networks change hands
//! quickly, so 30 days; domains, URLs and e-mail addresses 90 days; file hashes, CVEs, AS
//! numbers, JA3 fingerprints and certificate hashes never expire (a hash of malware stays
//! malware). A spec overrides them with `valid_days` (every type) and `valid_days_by_type`
//! (one type, over `valid_days`); 0 means "never expires". Validity counts from last seen,
//! else first seen, else the normalization time.

use iocflow_schemas::spec::MappingSpec;

use crate::canonical::Family;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Built-in validity of a type in days, `None` for no expiry.
pub fn default_valid_days(family: Family) -> Option<u32> {
    match family {
        Family::Ipv4 | Family::Ipv6 | Family::Ipv4Network | Family::Ipv6Network => Some(30),
        Family::Domain | Family::Url | Family::Email => Some(90),
        Family::Hash(_) | Family::Cve | Family::Asn | Family::Ja3 | Family::X509(_) => None,
    }
}

/// Days an indicator of `family` stays valid under mapping `m`, `None` for no expiry.
pub fn valid_days(m: &MappingSpec, family: Family) -> Option<u32> {
    let days = m
        .valid_days_by_type
        .get(family.type_name())
        .copied()
        .or(m.valid_days)
        .or_else(|| default_valid_days(family))?;
    (days > 0).then_some(days)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use iocflow_schemas::spec::IntegrationSpec;

    use super::*;
    use crate::canonical::hash::HashAlgorithm;

    fn mapping(extra: &str) -> MappingSpec {
        let text = format!(
            "name = \"x\"\ntitle = \"x\"\n[request]\nurl = \"https://example.org/\"\n\
             [framing]\nkind = \"lines\"\n[mapping]\ntype = \"ip\"\nvalue = \"line\"\n{extra}"
        );
        IntegrationSpec::parse(&text, Path::new("x"))
            .unwrap()
            .mapping
    }

    #[test]
    fn defaults_per_type() {
        let m = mapping("");
        assert_eq!(valid_days(&m, Family::Ipv4), Some(30));
        assert_eq!(valid_days(&m, Family::Ipv6Network), Some(30));
        assert_eq!(valid_days(&m, Family::Url), Some(90));
        assert_eq!(valid_days(&m, Family::Domain), Some(90));
        assert_eq!(valid_days(&m, Family::Hash(HashAlgorithm::Sha256)), None);
        assert_eq!(valid_days(&m, Family::Cve), None);
        assert_eq!(valid_days(&m, Family::Ja3), None);
    }

    #[test]
    fn spec_overrides_and_zero_means_never() {
        let m = mapping("valid_days = 7\nvalid_days_by_type = { ipv6 = 3, url = 0 }");
        assert_eq!(valid_days(&m, Family::Ipv4), Some(7));
        assert_eq!(valid_days(&m, Family::Ipv6), Some(3));
        assert_eq!(valid_days(&m, Family::Url), None);
        assert_eq!(valid_days(&m, Family::Hash(HashAlgorithm::Md5)), Some(7));
    }
}
