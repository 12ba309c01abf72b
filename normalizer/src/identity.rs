//! Deterministic indicator ids: the same observable gets the same id from every source and on
//! every replay, which makes duplicates harmless downstream.
//!
//! The id is the STIX 2.1 cyber-observable id: `<stix type>--<UUIDv5>`, with the STIX namespace
//! `00abedb4-aa42-466c-9c01-fed23315a9b7`, over the JCS (RFC 8785) canonical JSON of the
//! object's ID-contributing properties:
//! - `ipv4-addr`, `ipv6-addr`, `domain-name`, `url`, `email-addr`: `{"value":"<value>"}`;
//!   networks are `ipv4-addr`/`ipv6-addr` too, with the CIDR as the value (`1.2.3.0/24`), as
//!   STIX 2.1 allows;
//! - `file`: `{"hashes":{"<MD5|SHA-1|SHA-256|SHA-512>":"<hex>"}}`;
//! - `x509-certificate`: `{"hashes":{"<SHA-1|SHA-256>":"<hex>"}}`;
//! - `autonomous-system`: `{"number":<N>}` (a JSON number).
//!
//! Three documented departures, because STIX defines no observable for them:
//! - a JA3 fingerprint has no STIX observable type; iocflow uses the custom type name `x-ja3`
//!   over `{"value":"<hex>"}` (`x-ja3--<UUIDv5>`), so the id stays deterministic and cannot
//!   collide with a standard type;
//! - a CVE is a STIX `vulnerability`, a domain object whose ids STIX leaves random; iocflow
//!   derives it the same way, as UUIDv5 over `{"name":"CVE-..."}`, so it is deterministic too;
//! - an `ip:port` indicator keeps the id of its address: the port is a field of the indicator,
//!   not part of the observable (STIX would need a `network-traffic` object for it).
//!
//! The JSON is written by hand rather than through a map, so key order cannot depend on a serde
//! feature; each object has one key per level, and `serde_json`'s string escaping matches JCS.

use std::cell::RefCell;

use sha1::{Digest, Sha1};
use uuid::Uuid;

use crate::canonical::{Canonical, Family};

/// The STIX 2.1 namespace for deterministic cyber-observable ids.
pub const STIX_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// The deterministic id of a canonical indicator.
pub fn indicator_id(canonical: &Canonical) -> String {
    CONTRIBUTING.with(|cell| {
        let mut json = cell.borrow_mut();
        json.clear();
        let stix_type = contributing_json(canonical, &mut json);
        let uuid = uuid_v5(&json);
        let mut hyphenated = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let uuid = uuid.hyphenated().encode_lower(&mut hyphenated);
        let mut id = String::with_capacity(stix_type.len() + 2 + uuid.len());
        id.push_str(stix_type);
        id.push_str("--");
        id.push_str(uuid);
        id
    })
}

/// UUIDv5 (RFC 9562) of `name` in the STIX namespace: the first 16 bytes of
/// SHA-1(namespace ‖ name) with the version and variant bits set. The same value as
/// `Uuid::new_v5`, whose portable SHA-1 was about a tenth of the normalizer's time; the `sha1`
/// crate uses the CPU's SHA instructions where it has them.
fn uuid_v5(name: &[u8]) -> Uuid {
    let mut hasher = Sha1::new();
    hasher.update(STIX_NAMESPACE.as_bytes());
    hasher.update(name);
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

thread_local! {
    /// The contributing-properties JSON of the last id, reused: ids are built once per record.
    static CONTRIBUTING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes the JCS JSON of the ID-contributing properties into `out`; returns the STIX type.
fn contributing_json(canonical: &Canonical, out: &mut Vec<u8>) -> &'static str {
    let value = canonical.value.as_str();
    let (stix_type, open, close): (&str, &str, &str) = match canonical.family {
        Family::Ipv4 | Family::Ipv4Network => ("ipv4-addr", "{\"value\":", "}"),
        Family::Ipv6 | Family::Ipv6Network => ("ipv6-addr", "{\"value\":", "}"),
        Family::Domain => ("domain-name", "{\"value\":", "}"),
        Family::Url => ("url", "{\"value\":", "}"),
        Family::Email => ("email-addr", "{\"value\":", "}"),
        Family::Ja3 => ("x-ja3", "{\"value\":", "}"),
        Family::Cve => ("vulnerability", "{\"name\":", "}"),
        Family::Hash(alg) => {
            out.extend_from_slice(b"{\"hashes\":{\"");
            out.extend_from_slice(alg.stix_name().as_bytes());
            ("file", "\":", "}}")
        }
        Family::X509(alg) => {
            out.extend_from_slice(b"{\"hashes\":{\"");
            out.extend_from_slice(alg.stix_name().as_bytes());
            ("x509-certificate", "\":", "}}")
        }
        // The canonical value is `AS<number>`; STIX wants the number as a JSON number.
        Family::Asn => {
            out.extend_from_slice(b"{\"number\":");
            out.extend_from_slice(value.trim_start_matches("AS").as_bytes());
            out.push(b'}');
            return "autonomous-system";
        }
    };
    out.extend_from_slice(open.as_bytes());
    json_string(value, out);
    out.extend_from_slice(close.as_bytes());
    stix_type
}

/// Appends the JSON string literal of `s` (serde_json escapes exactly what JCS requires).
fn json_string(s: &str, out: &mut Vec<u8>) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{canonicalize_with, CanonicalOptions};

    /// Documentation addresses are kept here so the ids stay comparable with the STIX
    /// specification's examples; the options do not change the canonical value.
    fn id(kind: &str, value: &str) -> String {
        let keep = CanonicalOptions {
            keep_non_public: true,
            ..CanonicalOptions::default()
        };
        indicator_id(&canonicalize_with(kind, value, &keep).unwrap())
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
            id("ipv4_network", "1.2.3.4/24"),
            "ipv4-addr--600d22d0-cdbb-5906-9ac0-5c244b36744b"
        );
        assert_eq!(
            id("ipv6_network", "2606:4700::1/32"),
            "ipv6-addr--ac4979a7-a4d3-5cc6-a406-6d040f2d48f6"
        );
        assert_eq!(
            id("asn", "as13335"),
            "autonomous-system--0204c07d-e4dd-5f14-a3d5-c93cb1c5a9fc"
        );
        assert_eq!(
            id("ja3", "E7D705A3286E19EA42F587B344EE6865"),
            "x-ja3--e3d322f2-9411-5cf0-ba8c-2c1cf2af439e"
        );
        assert_eq!(
            id("x509_sha1", &"AB".repeat(20)),
            "x509-certificate--8e325068-80a6-5f21-9c06-0e0569fe6712"
        );
        assert_eq!(
            id("x509_sha256", &"ab".repeat(32)),
            "x509-certificate--20432b06-75d2-54b6-80ef-6d923b5d925d"
        );
        assert_eq!(
            id("domain", "bücher.example"),
            "domain-name--2756bcd2-4f67-5280-b058-56605b46834f"
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
        let mut out = Vec::new();
        json_string("a\"b\\c\u{1}\n/é", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\u0001\n/é""#);
    }

    proptest::proptest! {
        /// The hand-assembled UUIDv5 is the uuid crate's, for any name.
        #[test]
        fn uuid_v5_matches_the_uuid_crate(name in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            proptest::prop_assert_eq!(uuid_v5(&name), Uuid::new_v5(&STIX_NAMESPACE, &name));
        }
    }
}
