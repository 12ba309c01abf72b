//! Deterministic indicator ids: the same observable gets the same id from every source and on
//! every replay, which makes duplicates harmless downstream.
//!
//! The id is the STIX 2.1 cyber-observable id: `<stix type>--<UUIDv5>`, with the STIX namespace
//! `00abedb4-aa42-466c-9c01-fed23315a9b7`, over the JCS (RFC 8785) canonical JSON of the
//! object's ID-contributing properties:
//! - `ipv4-addr`, `ipv6-addr`, `domain-name`, `url`, `email-addr`: `{"value":"<value>"}`;
//! - `file`: `{"hashes":{"<MD5|SHA-1|SHA-256|SHA-512>":"<hex>"}}`.
//!
//! Two documented departures, because STIX defines no observable for them:
//! - a CVE is a STIX `vulnerability`, a domain object whose ids STIX leaves random; iocflow
//!   derives it the same way, as UUIDv5 over `{"name":"CVE-..."}`, so it is deterministic too;
//! - an `ip:port` indicator keeps the id of its address: the port is a field of the indicator,
//!   not part of the observable (STIX would need a `network-traffic` object for it).
//!
//! The JSON is written by hand rather than through a map, so key order cannot depend on a serde
//! feature; each object has one key per level, and `serde_json`'s string escaping matches JCS.

use uuid::Uuid;

use crate::canonical::{Canonical, Family};

/// The STIX 2.1 namespace for deterministic cyber-observable ids.
pub const STIX_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// The deterministic id of a canonical indicator.
pub fn indicator_id(canonical: &Canonical) -> String {
    let value = json_string(&canonical.value);
    let (stix_type, contributing) = match canonical.family {
        Family::Ipv4 => ("ipv4-addr", format!("{{\"value\":{value}}}")),
        Family::Ipv6 => ("ipv6-addr", format!("{{\"value\":{value}}}")),
        Family::Domain => ("domain-name", format!("{{\"value\":{value}}}")),
        Family::Url => ("url", format!("{{\"value\":{value}}}")),
        Family::Email => ("email-addr", format!("{{\"value\":{value}}}")),
        Family::Hash(alg) => (
            "file",
            format!("{{\"hashes\":{{\"{}\":{value}}}}}", alg.stix_name()),
        ),
        Family::Cve => ("vulnerability", format!("{{\"name\":{value}}}")),
    };
    let uuid = Uuid::new_v5(&STIX_NAMESPACE, contributing.as_bytes());
    format!("{stix_type}--{uuid}")
}

/// A JSON string literal of `s` (serde_json escapes exactly what JCS requires).
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::canonicalize;

    fn id(kind: &str, value: &str) -> String {
        indicator_id(&canonicalize(kind, value).unwrap())
    }

    // Expected ids computed independently with Python:
    // uuid.uuid5(ns, json.dumps(obj, separators=(',', ':'), sort_keys=True, ensure_ascii=False))
    #[test]
    fn matches_ids_computed_in_python() {
        assert_eq!(
            id("ipv4", "198.51.100.3"),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        assert_eq!(
            id("ipv6", "2001:DB8::1"),
            "ipv6-addr--6469e3a9-b053-5e34-a025-9396ae051d26"
        );
        assert_eq!(
            id("domain", "Example.com"),
            "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"
        );
        assert_eq!(
            id("url", "https://example.com"),
            "url--be22e93a-5e33-5678-b19f-8b4ea06df0bd"
        );
        assert_eq!(
            id("email", "bob@example.org"),
            "email-addr--22aa1ab8-1c50-5a53-be76-708c29fa27c4"
        );
        assert_eq!(
            id(
                "sha256",
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
            ),
            "file--22f8ff52-8f62-5f03-a53a-6f50f54fd74c"
        );
        assert_eq!(
            id("md5", "d41d8cd98f00b204e9800998ecf8427e"),
            "file--02fff920-f614-527c-81d1-6353633a6d21"
        );
        assert_eq!(
            id("cve", "cve-2021-44228"),
            "vulnerability--fa95b186-fd21-514d-b640-735cd48f0fbd"
        );
    }

    #[test]
    fn port_does_not_change_the_id() {
        assert_eq!(id("ipv4", "198.51.100.3:8080"), id("ipv4", "198.51.100.3"));
    }

    #[test]
    fn json_escaping_matches_jcs() {
        assert_eq!(json_string("a\"b\\c\u{1}\n/é"), r#""a\"b\\c\u0001\n/é""#);
    }
}
