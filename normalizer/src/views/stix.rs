//! The STIX 2.1 view: an [`Indicator`] as the STIX objects a TAXII platform expects.
//!
//! For one indicator, [`objects`] returns, in this order:
//! - the TLP 2.0 `marking-definition` of its `tlp`, exactly as OASIS publishes it
//!   (cti-stix-common-objects, `extension-definition-specifications/tlp-2.0`);
//! - an `identity` for the source (`identity_class` `organization`);
//! - an `indicator` SDO with a STIX pattern (or, for a CVE, a `vulnerability` SDO, since STIX
//!   patterns can only match cyber-observables);
//! - the cyber-observable (SCO) itself, whose id is the indicator's own `id` (the STIX
//!   deterministic UUIDv5 computed by [`crate::identity`]);
//! - an `observed-data` SDO referring to the SCO, and a `based-on` relationship from the
//!   indicator to it;
//! - per malware family, a `malware` SDO (`is_family` true) and an `indicates` relationship.
//!
//! [`bundle`] wraps objects of one or more indicators into a `bundle`, without duplicates.
//!
//! ## Ids
//! Every object id is deterministic, so rendering the same indicator again gives the same ids
//! and a platform that stores by id sees an update, not a new object:
//! - SCOs keep the indicator's `id` (UUIDv5, the STIX 2.1 rule for cyber-observables);
//! - SDOs, relationships and bundles get a UUID computed as UUIDv5 (iocflow namespace
//!   [`IOCFLOW_NAMESPACE`]) over a JSON array naming the object (for the indicator:
//!   `["indicator", <observable id>, <port or null>, <source>]`), **with the version and
//!   variant bits then set to those of a UUIDv4**. STIX 2.1 says SDO and SRO ids SHOULD be
//!   UUIDv4, and `stix2_validator --strict` fails on a version-5 SDO id (check 103), so a
//!   version-5 id cannot pass the required strict validation. The result is a valid v4 UUID
//!   whose 122 "random" bits come from a SHA-1 name hash instead of a random generator.
//!
//! ## Departures, and why
//! - `based-on` points at an `observed-data` object that refers to the SCO, not at the SCO
//!   itself: STIX 2.1 suggests `observed-data` as the target of `indicator based-on`, and the
//!   strict validator rejects a SCO target (check 202).
//! - An `ip:port` indicator's SCO is its address; the port only appears in the pattern, which
//!   must then use one object (`network-traffic` with `dst_ref.*`), because comparisons across
//!   two objects inside one observation expression are invalid.
//! - A JA3 fingerprint has no STIX cyber-observable; its indicator uses `pattern_type`
//!   `suricata` (a `ja3.hash` rule) and has no SCO, observed-data or `based-on`.
//! - Status: a `revoked` indicator gets `revoked: true`; an `expired` one keeps its
//!   `valid_until` (in the past), or gets its normalization time when it has none.
//! - `valid_until` must be later than `valid_from`; when the source's expiry is not, it is
//!   moved to one millisecond after `valid_from` (so an expired indicator stays expired).
//! - Links (source reference, references) are `external_id`s of `external_references`, not
//!   `url`s: a `url` without the `hashes` of the page it points at fails strict validation
//!   (check 302), and iocflow does not fetch the pages.
//! - Identity and malware objects carry a fixed `created`/`modified`
//!   ([`STATIC_OBJECTS_CREATED`]) so that every rendering of them is byte-identical.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::views::{rfc3339_ms, ViewError};
use iocflow_schemas::Indicator;

/// Namespace of iocflow's derived STIX ids (SDOs, relationships, bundles).
pub const IOCFLOW_NAMESPACE: Uuid = Uuid::from_u128(0xce401c05_b3a2_4421_b8fe_a32496df7dd9);

/// `created`/`modified` of the objects that do not change with the indicator (identity,
/// malware), so every rendering of them is identical.
pub const STATIC_OBJECTS_CREATED: &str = "2020-01-01T00:00:00.000Z";

/// The OASIS TLP 2.0 extension definition named by the TLP 2.0 marking definitions.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// `created` of the OASIS TLP 2.0 marking definitions.
const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The TLP 2.0 marking-definition id and name of an indicator `tlp` value (`clear`, `green`,
/// `amber`, `amber+strict`, `red`), from OASIS cti-stix-common-objects.
pub fn tlp_marking(tlp: &str) -> Option<(&'static str, &'static str)> {
    Some(match tlp {
        "clear" => (
            "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            "TLP:CLEAR",
        ),
        "green" => (
            "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            "TLP:GREEN",
        ),
        "amber" => (
            "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            "TLP:AMBER",
        ),
        "amber+strict" => (
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            "TLP:AMBER+STRICT",
        ),
        "red" => (
            "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
            "TLP:RED",
        ),
        _ => return None,
    })
}

/// The TLP 2.0 `marking-definition` object for `tlp`, as OASIS publishes it.
///
/// # Errors
/// [`ViewError::InvalidField`] (`tlp`) for a value that is not a TLP 2.0 level.
pub fn tlp_marking_definition(tlp: &str) -> Result<Value, ViewError> {
    let (id, name) = tlp_marking(tlp).ok_or_else(|| ViewError::InvalidField {
        field: "tlp",
        message: format!("{tlp:?} is not a TLP 2.0 level"),
    })?;
    Ok(json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": id,
        "created": TLP2_CREATED,
        "name": name,
        "extensions": {
            TLP2_EXTENSION_ID: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp,
            }
        }
    }))
}

/// A deterministic STIX id `<stix_type>--<uuid>` for an SDO, SRO or bundle named by `name`
/// (UUIDv5 in [`IOCFLOW_NAMESPACE`] with UUIDv4 version and variant bits; see the module docs).
pub fn derived_id(stix_type: &str, name: &Value) -> String {
    let hashed = Uuid::new_v5(&IOCFLOW_NAMESPACE, name.to_string().as_bytes());
    let uuid = uuid::Builder::from_random_bytes(hashed.into_bytes()).into_uuid();
    format!("{stix_type}--{uuid}")
}

/// The id of the identity object of `source`.
pub fn identity_id(source: &str) -> String {
    derived_id("identity", &json!(["identity", source]))
}

/// The id of the `indicator` (or, for a CVE, `vulnerability`) SDO of an indicator: over its
/// observable id, port and source, so the same observable from two sources gives two
/// indicators, and re-rendering gives the same id.
pub fn indicator_sdo_id(indicator: &Indicator) -> String {
    let stix_type = if indicator.kind == "cve" {
        "vulnerability"
    } else {
        "indicator"
    };
    derived_id(
        stix_type,
        &json!([stix_type, indicator.id, indicator.port, indicator.source]),
    )
}

/// A STIX pattern string literal: `s` in single quotes, with `\` and `'` escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// What an indicator type becomes in STIX.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// An SCO with a `value` (addresses, networks, domains, URLs, e-mail addresses).
    Value {
        stix_type: &'static str,
        /// `ISSUBSET` for networks, `=` otherwise.
        network: bool,
    },
    /// An SCO with `hashes` (`file`, `x509-certificate`).
    Hashes {
        stix_type: &'static str,
        algorithm: &'static str,
    },
    /// An `autonomous-system` SCO.
    AutonomousSystem { number: u32 },
    /// A JA3 fingerprint: a Suricata pattern, no SCO.
    Ja3,
    /// A CVE: a `vulnerability` SDO, no pattern.
    Cve,
}

fn shape(indicator: &Indicator) -> Result<Shape, ViewError> {
    let value = |stix_type, network| Ok(Shape::Value { stix_type, network });
    let hashes = |stix_type, algorithm| {
        Ok(Shape::Hashes {
            stix_type,
            algorithm,
        })
    };
    match indicator.kind.as_str() {
        "ipv4" => value("ipv4-addr", false),
        "ipv6" => value("ipv6-addr", false),
        "ipv4_network" => value("ipv4-addr", true),
        "ipv6_network" => value("ipv6-addr", true),
        "domain" => value("domain-name", false),
        "url" => value("url", false),
        "email" => value("email-addr", false),
        "md5" => hashes("file", "MD5"),
        "sha1" => hashes("file", "SHA-1"),
        "sha256" => hashes("file", "SHA-256"),
        "sha512" => hashes("file", "SHA-512"),
        "x509_sha1" => hashes("x509-certificate", "SHA-1"),
        "x509_sha256" => hashes("x509-certificate", "SHA-256"),
        "asn" => Ok(Shape::AutonomousSystem {
            number: asn_number(&indicator.value)?,
        }),
        "ja3" => Ok(Shape::Ja3),
        "cve" => Ok(Shape::Cve),
        other => Err(ViewError::UnsupportedType {
            kind: other.to_owned(),
            view: "stix",
        }),
    }
}

/// The number of an `asn` value (`13335` or `AS13335`).
///
/// # Errors
/// [`ViewError::InvalidField`] (`value`) when it is not a 32-bit AS number.
pub fn asn_number(value: &str) -> Result<u32, ViewError> {
    let digits = value
        .strip_prefix("AS")
        .or_else(|| value.strip_prefix("as"))
        .unwrap_or(value);
    digits.parse().map_err(|_| ViewError::InvalidField {
        field: "value",
        message: format!("{value:?} is not an AS number"),
    })
}

/// The STIX pattern and pattern type of an indicator (`None` for a CVE, which has no
/// pattern).
///
/// # Errors
/// [`ViewError`] for a type STIX cannot express or a malformed AS number.
pub fn pattern(indicator: &Indicator) -> Result<Option<(String, &'static str)>, ViewError> {
    let v = quote(&indicator.value);
    let pattern = match shape(indicator)? {
        Shape::Value {
            stix_type,
            network: false,
        } => match indicator.port {
            Some(port) if matches!(stix_type, "ipv4-addr" | "ipv6-addr") => format!(
                "[network-traffic:dst_ref.type = '{stix_type}' AND \
                 network-traffic:dst_ref.value = {v} AND network-traffic:dst_port = {port}]"
            ),
            _ => format!("[{stix_type}:value = {v}]"),
        },
        Shape::Value {
            stix_type,
            network: true,
        } => format!("[{stix_type}:value ISSUBSET {v}]"),
        Shape::Hashes {
            stix_type,
            algorithm,
        } => format!("[{stix_type}:hashes.'{algorithm}' = {v}]"),
        Shape::AutonomousSystem { number } => format!("[autonomous-system:number = {number}]"),
        Shape::Ja3 => {
            return Ok(Some((ja3_rule(indicator), "suricata")));
        }
        Shape::Cve => return Ok(None),
    };
    Ok(Some((pattern, "stix")))
}

/// A Suricata rule matching a JA3 fingerprint. The value is canonical lower-case hex, so it
/// needs no escaping inside `content:"..."`; the sid is derived from the indicator id.
fn ja3_rule(indicator: &Indicator) -> String {
    let hashed = Uuid::new_v5(&IOCFLOW_NAMESPACE, indicator.id.as_bytes());
    let b = hashed.as_bytes();
    // Suricata sids are 32-bit; keep them in the upper half, away from hand-written rules.
    let sid = 0x4000_0000u32 | (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x3fff_ffff);
    let hex: String = indicator
        .value
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    format!(
        "alert tls any any -> any any (msg:\"iocflow JA3 {hex}\"; ja3.hash; content:\"{hex}\"; \
         sid:{sid}; rev:1;)"
    )
}

/// The STIX indicator-type-ov value of a threat type (`botnet_cc` → `malicious-activity`).
/// Unknown threat types give `None`; an indicator with none of them is `unknown`.
pub fn indicator_type(threat_type: &str) -> Option<&'static str> {
    let t = threat_type.to_ascii_lowercase().replace(['-', ' '], "_");
    Some(match t.as_str() {
        "botnet_cc" | "c2" | "cc" | "c&c" | "botnet" | "malware" | "malware_download"
        | "payload_delivery" | "phishing" | "ransomware" | "exploit" | "exploit_kit" | "spam"
        | "cryptomining" | "malicious" => "malicious-activity",
        "scanner" | "scanning" | "bruteforce" | "brute_force" | "suspicious" | "anomalous" => {
            "anomalous-activity"
        }
        "tor" | "tor_exit" | "proxy" | "vpn" | "anonymizer" | "anonymization" => "anonymization",
        "compromised" => "compromised",
        "benign" | "allowlist" | "whitelist" => "benign",
        "attribution" => "attribution",
        _ => return None,
    })
}

fn indicator_types(indicator: &Indicator) -> Vec<&'static str> {
    let mut types: Vec<&'static str> = indicator
        .threat_types
        .iter()
        .filter_map(|t| indicator_type(t))
        .collect();
    types.sort_unstable();
    types.dedup();
    if types.is_empty() {
        types.push("unknown");
    }
    types
}

/// Times of the SDOs of one indicator, as RFC 3339 strings.
struct Times {
    created: String,
    modified: String,
    valid_from: String,
    valid_until: Option<String>,
    first_observed: String,
    last_observed: String,
}

fn times(indicator: &Indicator) -> Result<Times, ViewError> {
    let created_ms = indicator
        .first_seen_ms
        .unwrap_or(indicator.normalized_at_ms);
    let last_ms = indicator.last_seen_ms.unwrap_or(created_ms).max(created_ms);
    let field = if indicator.first_seen_ms.is_some() {
        "first_seen_ms"
    } else {
        "normalized_at_ms"
    };
    // An expired indicator without an expiry time expired at the latest when it was
    // normalized: say so, or a consumer would take it as valid forever.
    let until_ms = match indicator.valid_until_ms {
        Some(until) => Some(until),
        None if indicator.status == "expired" => Some(indicator.normalized_at_ms),
        None => None,
    };
    let valid_until = match until_ms {
        Some(until) => Some(rfc3339_ms(
            "valid_until_ms",
            until.max(created_ms.saturating_add(1)),
        )?),
        None => None,
    };
    let created = rfc3339_ms(field, created_ms)?;
    let last = rfc3339_ms("last_seen_ms", last_ms)?;
    Ok(Times {
        modified: last.clone(),
        valid_from: created.clone(),
        first_observed: created.clone(),
        last_observed: last,
        created,
        valid_until,
    })
}

fn external_references(indicator: &Indicator) -> Vec<Value> {
    let mut urls: Vec<&str> = Vec::new();
    let mut refs = Vec::new();
    if let Some(source_ref) = indicator.source_ref.as_deref().filter(|s| !s.is_empty()) {
        if is_url(source_ref) {
            urls.push(source_ref);
        } else {
            refs.push(json!({"source_name": indicator.source, "external_id": source_ref}));
        }
    }
    for r in &indicator.references {
        if !r.is_empty() && !urls.contains(&r.as_str()) {
            urls.push(r);
        }
    }
    // Links go into `external_id`, not `url`: STIX says a `url` SHOULD come with the `hashes`
    // of the content it points at, the strict validator enforces that (check 302), and
    // hashing the page would mean fetching it. The link is the source's identifier of the
    // entry, which is what `external_id` holds.
    refs.extend(
        urls.into_iter()
            .map(|u| json!({"source_name": indicator.source, "external_id": u})),
    );
    refs
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn description(indicator: &Indicator) -> String {
    let mut d = format!(
        "{} indicator from the {} feed",
        indicator.kind, indicator.source
    );
    if let Some(port) = indicator.port {
        d.push_str(&format!(", port {port}"));
    }
    if !indicator.threat_types.is_empty() {
        d.push_str(&format!(
            "; threat types: {}",
            indicator.threat_types.join(", ")
        ));
    }
    if !indicator.malware_families.is_empty() {
        d.push_str(&format!(
            "; malware: {}",
            indicator.malware_families.join(", ")
        ));
    }
    if let Some(unicode) = indicator.value_unicode.as_deref() {
        d.push_str(&format!("; Unicode form: {unicode}"));
    }
    if !indicator.flags.is_empty() {
        d.push_str(&format!("; flags: {}", indicator.flags.join(", ")));
    }
    if indicator.status != "active" {
        d.push_str(&format!("; status: {}", indicator.status));
    }
    d.push('.');
    d
}

/// Inserts `key` into `object` unless `value` is an empty array or null.
fn put(object: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    if !empty {
        object.insert(key.to_owned(), value);
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The `identity` object of a source.
pub fn identity(source: &str) -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id(source),
        "created": STATIC_OBJECTS_CREATED,
        "modified": STATIC_OBJECTS_CREATED,
        "name": source,
        "description": format!("Threat-intelligence source {source:?}, ingested by iocflow."),
        "identity_class": "organization",
    })
}

/// The cyber-observable of an indicator (`None` for JA3 and CVE, which have none).
///
/// # Errors
/// [`ViewError`] for an unsupported type, a malformed AS number, or an `id` whose STIX type
/// is not the observable's.
pub fn observable(indicator: &Indicator) -> Result<Option<Value>, ViewError> {
    let (stix_type, property) = match shape(indicator)? {
        Shape::Value { stix_type, .. } => (stix_type, ("value", json!(indicator.value))),
        Shape::Hashes {
            stix_type,
            algorithm,
        } => (stix_type, ("hashes", json!({ algorithm: indicator.value }))),
        Shape::AutonomousSystem { number } => ("autonomous-system", ("number", json!(number))),
        Shape::Ja3 | Shape::Cve => return Ok(None),
    };
    let expected_prefix = format!("{stix_type}--");
    if !indicator.id.starts_with(&expected_prefix) {
        return Err(ViewError::InvalidField {
            field: "id",
            message: format!(
                "{:?} is not the id of a {stix_type} observable",
                indicator.id
            ),
        });
    }
    let mut sco = object(json!({
        "type": stix_type,
        "spec_version": "2.1",
        "id": indicator.id,
    }));
    sco.insert(property.0.to_owned(), property.1);
    Ok(Some(Value::Object(sco)))
}

/// Every STIX object of one indicator, markings and identity first (see the module docs).
///
/// # Errors
/// [`ViewError`] for an unsupported type, an unknown TLP level, an unrepresentable time, a
/// malformed AS number, or an `id` that is not the observable's.
pub fn objects(indicator: &Indicator) -> Result<Vec<Value>, ViewError> {
    let marking = tlp_marking_definition(&indicator.tlp)?;
    let marking_refs = json!([marking["id"]]);
    let identity = identity(&indicator.source);
    let creator = identity_id(&indicator.source);
    let t = times(indicator)?;
    let sdo_id = indicator_sdo_id(indicator);
    let labels: Vec<&str> = indicator
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| !t.trim().is_empty())
        .collect();
    let mut out = vec![marking, identity];

    // The indicator itself, or the vulnerability for a CVE.
    let mut sdo = object(json!({
        "spec_version": "2.1",
        "id": sdo_id,
        "created": t.created,
        "modified": t.modified,
        "created_by_ref": creator,
        "name": indicator.value,
        "description": description(indicator),
    }));
    match pattern(indicator)? {
        Some((pattern, pattern_type)) => {
            sdo.insert("type".into(), json!("indicator"));
            sdo.insert("indicator_types".into(), json!(indicator_types(indicator)));
            sdo.insert("pattern".into(), json!(pattern));
            sdo.insert("pattern_type".into(), json!(pattern_type));
            if pattern_type == "stix" {
                sdo.insert("pattern_version".into(), json!("2.1"));
            }
            sdo.insert("valid_from".into(), json!(t.valid_from));
            put(&mut sdo, "valid_until", json!(t.valid_until));
        }
        None => {
            sdo.insert("type".into(), json!("vulnerability"));
        }
    }
    let mut refs = external_references(indicator);
    if indicator.kind == "cve" {
        refs.insert(
            0,
            json!({"source_name": "cve", "external_id": indicator.value}),
        );
    }
    put(&mut sdo, "labels", json!(labels));
    put(
        &mut sdo,
        "confidence",
        json!(indicator.confidence.map(|c| c.clamp(0, 100))),
    );
    if indicator.status == "revoked" {
        sdo.insert("revoked".into(), json!(true));
    }
    put(&mut sdo, "external_references", json!(refs));
    sdo.insert("object_marking_refs".into(), marking_refs.clone());
    out.push(Value::Object(sdo));

    // The observable, and the observation the indicator is based on.
    if let Some(sco) = observable(indicator)? {
        let observed_id = derived_id(
            "observed-data",
            &json!([
                "observed-data",
                indicator.id,
                indicator.port,
                indicator.source
            ]),
        );
        out.push(json!({
            "type": "observed-data",
            "spec_version": "2.1",
            "id": observed_id,
            "created": t.created,
            "modified": t.modified,
            "created_by_ref": creator,
            "first_observed": t.first_observed,
            "last_observed": t.last_observed,
            "number_observed": 1,
            "object_refs": [sco["id"]],
            "object_marking_refs": marking_refs,
        }));
        out.push(relationship(
            "based-on",
            &sdo_id,
            &observed_id,
            &creator,
            &t,
            &marking_refs,
        ));
        out.push(sco);
    }

    // Malware families the indicator points at.
    for family in indicator
        .malware_families
        .iter()
        .filter(|f| !f.trim().is_empty())
    {
        let malware_id = derived_id(
            "malware",
            &json!(["malware", indicator.source, family.to_lowercase()]),
        );
        out.push(json!({
            "type": "malware",
            "spec_version": "2.1",
            "id": malware_id,
            "created": STATIC_OBJECTS_CREATED,
            "modified": STATIC_OBJECTS_CREATED,
            "created_by_ref": creator,
            "name": family,
            "is_family": true,
            "object_marking_refs": marking_refs,
        }));
        if indicator.kind != "cve" {
            out.push(relationship(
                "indicates",
                &sdo_id,
                &malware_id,
                &creator,
                &t,
                &marking_refs,
            ));
        }
    }
    Ok(out)
}

fn relationship(
    relationship_type: &str,
    source_ref: &str,
    target_ref: &str,
    creator: &str,
    t: &Times,
    marking_refs: &Value,
) -> Value {
    json!({
        "type": "relationship",
        "spec_version": "2.1",
        "id": derived_id(
            "relationship",
            &json!(["relationship", relationship_type, source_ref, target_ref]),
        ),
        "created": t.created,
        "modified": t.modified,
        "created_by_ref": creator,
        "relationship_type": relationship_type,
        "source_ref": source_ref,
        "target_ref": target_ref,
        "object_marking_refs": marking_refs,
    })
}

/// A `bundle` of `objects`, keeping the first object of each (`id`, `modified`) pair, in order.
/// Its id is derived from the ids it holds, so the same objects give the same bundle id.
pub fn bundle(objects: Vec<Value>) -> Value {
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::with_capacity(objects.len());
    for o in objects {
        let key = (o["id"].to_string(), o["modified"].to_string());
        if seen.insert(key) {
            kept.push(o);
        }
    }
    let ids: Vec<&Value> = kept.iter().map(|o| &o["id"]).collect();
    json!({
        "type": "bundle",
        "id": derived_id("bundle", &json!(["bundle", ids])),
        "objects": kept,
    })
}

/// The bundle of every object of `indicators`.
///
/// # Errors
/// The first [`ViewError`] of an indicator that cannot be rendered.
pub fn bundle_of(indicators: &[Indicator]) -> Result<Value, ViewError> {
    let mut all = Vec::new();
    for indicator in indicators {
        all.extend(objects(indicator)?);
    }
    Ok(bundle(all))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn indicator(kind: &str, id: &str, value: &str) -> Indicator {
        Indicator {
            id: id.to_owned(),
            kind: kind.to_owned(),
            value: value.to_owned(),
            port: None,
            source: "feodotracker".to_owned(),
            source_ref: None,
            first_seen_ms: Some(1_714_564_800_000),
            last_seen_ms: Some(1_714_651_200_000),
            confidence: Some(90),
            tlp: "clear".to_owned(),
            tags: vec!["emotet".to_owned()],
            threat_types: vec!["botnet_cc".to_owned()],
            malware_families: vec![],
            fetch_id: "f".to_owned(),
            raw_topic: "raw".to_owned(),
            raw_partition: 0,
            raw_offset: 7,
            normalized_at_ms: 1_714_737_600_000,
            valid_until_ms: Some(1_717_243_200_000),
            references: vec![],
            value_unicode: None,
            status: "active".to_owned(),
            flags: vec![],
        }
    }

    fn ipv4() -> Indicator {
        indicator(
            "ipv4",
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4",
            "198.51.100.3",
        )
    }

    fn of_type<'a>(objects: &'a [Value], t: &str) -> Vec<&'a Value> {
        objects.iter().filter(|o| o["type"] == t).collect()
    }

    #[test]
    fn quoting_escapes_backslash_and_quote() {
        assert_eq!(quote("a'b"), r"'a\'b'");
        assert_eq!(quote(r"a\b"), r"'a\\b'");
        assert_eq!(quote(r"\'"), r"'\\\''");
        assert_eq!(quote("plain"), "'plain'");
    }

    #[test]
    fn patterns_per_type() {
        let p = |kind: &str, value: &str| {
            let id = "x--00000000-0000-0000-0000-000000000000";
            pattern(&indicator(kind, id, value)).unwrap().unwrap()
        };
        assert_eq!(
            p("ipv4", "1.2.3.4"),
            ("[ipv4-addr:value = '1.2.3.4']".into(), "stix")
        );
        assert_eq!(
            p("ipv6", "2001:db8::1").0,
            "[ipv6-addr:value = '2001:db8::1']"
        );
        assert_eq!(
            p("ipv4_network", "10.0.0.0/8").0,
            "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"
        );
        assert_eq!(
            p("domain", "example.com").0,
            "[domain-name:value = 'example.com']"
        );
        assert_eq!(
            p("url", r"http://a.example/it's\here").0,
            r"[url:value = 'http://a.example/it\'s\\here']"
        );
        assert_eq!(
            p("email", "o'brien@example.com").0,
            r"[email-addr:value = 'o\'brien@example.com']"
        );
        assert_eq!(
            p("sha256", &"a".repeat(64)).0,
            format!("[file:hashes.'SHA-256' = '{}']", "a".repeat(64))
        );
        assert_eq!(
            p("x509_sha1", &"b".repeat(40)).0,
            format!("[x509-certificate:hashes.'SHA-1' = '{}']", "b".repeat(40))
        );
        assert_eq!(p("asn", "AS13335").0, "[autonomous-system:number = 13335]");
        let (rule, kind) = p("ja3", "e7d705a3286e19ea42f587b344ee6865");
        assert_eq!(kind, "suricata");
        assert!(rule.contains("ja3.hash; content:\"e7d705a3286e19ea42f587b344ee6865\";"));
        assert!(pattern(&indicator("cve", "v", "CVE-2021-44228"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn ip_port_uses_one_network_traffic_object() {
        let mut i = ipv4();
        i.port = Some(443);
        assert_eq!(
            pattern(&i).unwrap().unwrap().0,
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND \
             network-traffic:dst_ref.value = '198.51.100.3' AND network-traffic:dst_port = 443]"
        );
    }

    #[test]
    fn unknown_types_and_bad_values_are_errors() {
        let e = pattern(&indicator("mutex", "x", "m")).unwrap_err();
        assert!(matches!(e, ViewError::UnsupportedType { .. }));
        assert!(pattern(&indicator("asn", "x", "ASX")).is_err());
        let mut i = ipv4();
        i.tlp = "white".into();
        assert!(objects(&i).is_err());
        i = ipv4();
        i.id = "domain-name--28bb3599-77cd-5a82-a950-b5bc3caf07c4".into();
        assert!(objects(&i).is_err());
    }

    #[test]
    fn ids_are_deterministic_and_uuid_v4_shaped() {
        let a = objects(&ipv4()).unwrap();
        let b = objects(&ipv4()).unwrap();
        assert_eq!(a, b);
        let sdo = of_type(&a, "indicator")[0];
        let id = sdo["id"].as_str().unwrap();
        let uuid = Uuid::parse_str(id.trim_start_matches("indicator--")).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);

        // Another source, or a port, is another indicator of the same observable.
        let mut other = ipv4();
        other.source = "urlhaus".into();
        assert_ne!(indicator_sdo_id(&other), id);
        let mut with_port = ipv4();
        with_port.port = Some(8080);
        assert_ne!(indicator_sdo_id(&with_port), id);
        // The observable keeps the indicator's own (UUIDv5) id.
        assert_eq!(of_type(&a, "ipv4-addr")[0]["id"], ipv4().id);
        assert_eq!(identity_id("feodotracker"), identity_id("feodotracker"));
        assert_ne!(identity_id("feodotracker"), identity_id("urlhaus"));
    }

    #[test]
    fn indicator_carries_context() {
        let mut i = ipv4();
        i.references = vec!["https://r.example/1".into()];
        i.source_ref = Some("12345".into());
        i.malware_families = vec!["Emotet".into()];
        let objects = objects(&i).unwrap();
        let sdo = of_type(&objects, "indicator")[0];
        assert_eq!(sdo["spec_version"], "2.1");
        assert_eq!(sdo["created"], "2024-05-01T12:00:00.000Z");
        assert_eq!(sdo["modified"], "2024-05-02T12:00:00.000Z");
        assert_eq!(sdo["valid_from"], "2024-05-01T12:00:00.000Z");
        assert_eq!(sdo["valid_until"], "2024-06-01T12:00:00.000Z");
        assert_eq!(sdo["indicator_types"], json!(["malicious-activity"]));
        assert_eq!(sdo["labels"], json!(["emotet"]));
        assert_eq!(sdo["confidence"], 90);
        assert_eq!(sdo["created_by_ref"], identity_id("feodotracker"));
        assert_eq!(
            sdo["object_marking_refs"],
            json!(["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"])
        );
        assert_eq!(
            sdo["external_references"],
            json!([
                {"source_name": "feodotracker", "external_id": "12345"},
                {"source_name": "feodotracker", "external_id": "https://r.example/1"},
            ])
        );
        assert!(sdo.get("revoked").is_none());

        let observed = of_type(&objects, "observed-data")[0];
        assert_eq!(observed["object_refs"], json!([i.id]));
        let rels = of_type(&objects, "relationship");
        assert_eq!(rels.len(), 2);
        assert_eq!(rels[0]["relationship_type"], "based-on");
        assert_eq!(rels[0]["source_ref"], sdo["id"]);
        assert_eq!(rels[0]["target_ref"], observed["id"]);
        let malware = of_type(&objects, "malware")[0];
        assert_eq!(malware["is_family"], true);
        assert_eq!(rels[1]["relationship_type"], "indicates");
        assert_eq!(rels[1]["target_ref"], malware["id"]);
        let identity = of_type(&objects, "identity")[0];
        assert_eq!(identity["identity_class"], "organization");
    }

    #[test]
    fn revoked_and_expired() {
        let mut i = ipv4();
        i.status = "revoked".into();
        let objects = objects(&i).unwrap();
        assert_eq!(of_type(&objects, "indicator")[0]["revoked"], true);

        // An expiry before the first sighting still gives valid_until > valid_from.
        let mut e = ipv4();
        e.status = "expired".into();
        e.valid_until_ms = Some(1_000);
        let o = super::objects(&e).unwrap();
        assert_eq!(
            of_type(&o, "indicator")[0]["valid_until"],
            "2024-05-01T12:00:00.001Z"
        );

        // Expired without an expiry time: valid until it was normalized.
        e.valid_until_ms = None;
        let o = super::objects(&e).unwrap();
        assert_eq!(
            of_type(&o, "indicator")[0]["valid_until"],
            "2024-05-03T12:00:00.000Z"
        );
    }

    #[test]
    fn threat_types_map_to_the_vocabulary() {
        assert_eq!(indicator_type("botnet_cc"), Some("malicious-activity"));
        assert_eq!(
            indicator_type("Malware-Download"),
            Some("malicious-activity")
        );
        assert_eq!(indicator_type("phishing"), Some("malicious-activity"));
        assert_eq!(indicator_type("scanner"), Some("anomalous-activity"));
        assert_eq!(indicator_type("tor_exit"), Some("anonymization"));
        assert_eq!(indicator_type("whatever"), None);
        let mut i = ipv4();
        i.threat_types = vec!["whatever".into()];
        assert_eq!(indicator_types(&i), vec!["unknown"]);
    }

    #[test]
    fn cve_is_a_vulnerability_without_observable() {
        let i = indicator(
            "cve",
            "vulnerability--fa95b186-fd21-514d-b640-735cd48f0fbd",
            "CVE-2021-44228",
        );
        let objects = objects(&i).unwrap();
        assert!(of_type(&objects, "indicator").is_empty());
        assert!(of_type(&objects, "observed-data").is_empty());
        let v = of_type(&objects, "vulnerability")[0];
        assert_eq!(v["name"], "CVE-2021-44228");
        assert_eq!(
            v["external_references"][0],
            json!({"source_name": "cve", "external_id": "CVE-2021-44228"})
        );
    }

    #[test]
    fn bundle_drops_repeated_objects() {
        let mut two = ipv4();
        two.id = "ipv4-addr--6469e3a9-b053-5e34-a025-9396ae051d26".into();
        two.value = "198.51.100.4".into();
        let b = bundle_of(&[ipv4(), two, ipv4()]).unwrap();
        let objects = b["objects"].as_array().unwrap();
        assert_eq!(of_type(objects, "marking-definition").len(), 1);
        assert_eq!(of_type(objects, "identity").len(), 1);
        assert_eq!(of_type(objects, "indicator").len(), 2);
        assert_eq!(b, bundle_of(&[ipv4(), two_again(), ipv4()]).unwrap());
    }

    fn two_again() -> Indicator {
        let mut two = ipv4();
        two.id = "ipv4-addr--6469e3a9-b053-5e34-a025-9396ae051d26".into();
        two.value = "198.51.100.4".into();
        two
    }

    #[test]
    fn tlp_levels_have_the_oasis_ids() {
        for (tlp, id) in [
            ("clear", "94868c89-83c2-464b-929b-a1a8aa3c8487"),
            ("green", "bab4a63c-aed9-4cf5-a766-dfca5abac2bb"),
            ("amber", "55d920b0-5e8b-4f79-9ee9-91f868d9b421"),
            ("amber+strict", "939a9414-2ddd-4d32-a0cd-375ea402b003"),
            ("red", "e828b379-4e03-4974-9ac4-e53a884c97c1"),
        ] {
            let m = tlp_marking_definition(tlp).unwrap();
            assert_eq!(m["id"], format!("marking-definition--{id}"));
            assert_eq!(m["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"], tlp);
        }
    }
}
