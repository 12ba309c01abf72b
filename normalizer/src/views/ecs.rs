//! The ECS view: an [`Indicator`] as an Elastic Common Schema threat-intelligence document
//! (`event.kind: enrichment`, `threat.indicator.*`, `threat.feed.*`), as Elastic's own threat
//! intelligence integrations write them. Field names follow ECS 8.x (`schemas/threat.yml` and
//! the field sets it reuses under `threat.indicator`: `url`, `file`, `as`, `x509`).
//!
//! Per indicator type:
//!
//! | iocflow type | `threat.indicator.type` | value in |
//! |---|---|---|
//! | `ipv4`, `ipv6` | `ipv4-addr`, `ipv6-addr` | `ip` (and `port`) |
//! | `ipv4_network`, `ipv6_network` | `ipv4-addr`, `ipv6-addr` | `name` (ECS `ip` holds one address, not a CIDR) |
//! | `domain` | `domain-name` | `url.domain` |
//! | `url` | `url` | `url.full`, `url.original`, `url.domain`, `url.scheme`, `url.path`, `url.port` |
//! | `email` | `email-addr` | `email.address` |
//! | `md5` `sha1` `sha256` `sha512` | `file` | `file.hash.<alg>` |
//! | `asn` | `autonomous-system` | `as.number` |
//! | `x509_sha1`, `x509_sha256` | `x509-certificate` | `name` (ECS `x509` has no hash field) |
//! | `ja3` | none (no ECS value fits) | `name` |
//! | `cve` | none | `name`, and `vulnerability.id` at the top level |
//!
//! Every document also has `threat.indicator.name` (the canonical value), `first_seen`,
//! `last_seen`, `confidence`, `marking.tlp` (upper case, `marking.tlp_version` `2.0`),
//! `reference`, `provider` (the integration), `description`; `threat.feed.name` and
//! `threat.feed.reference`; `threat.software` for malware families; `tags`; and under the
//! custom `iocflow` namespace the id, type, status, flags and expiry, which ECS has no field
//! for.
//!
//! ## Confidence
//! `threat.indicator.confidence` uses the None/Low/Medium/High scale of STIX 2.1 Appendix A,
//! mapped from iocflow's 0-100 value the way that appendix does: 0 → `None`, 1-29 → `Low`,
//! 30-69 → `Medium`, 70-100 → `High`; no confidence → `Not Specified`.

use serde_json::{json, Map, Value};

use crate::views::{rfc3339_ms, ViewError};
use iocflow_schemas::Indicator;

/// The feed an indicator came from, for `threat.feed.*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Feed {
    /// `threat.feed.name`: the integration's title, or its name.
    pub name: String,
    /// `threat.feed.reference`: where the feed is published (the spec's request URL).
    pub reference: Option<String>,
    /// `threat.feed.description`.
    pub description: Option<String>,
}

impl Feed {
    /// A feed known only by the indicator's source name.
    pub fn from_source(source: &str) -> Feed {
        Feed {
            name: source.to_owned(),
            reference: None,
            description: None,
        }
    }
}

/// The ECS `threat.indicator.confidence` value of a 0-100 confidence (see the module docs).
pub fn confidence(value: Option<i32>) -> &'static str {
    match value {
        None => "Not Specified",
        Some(c) if c <= 0 => "None",
        Some(c) if c < 30 => "Low",
        Some(c) if c < 70 => "Medium",
        Some(_) => "High",
    }
}

/// The ECS `threat.indicator.marking.tlp` value of a TLP 2.0 level (`amber+strict` →
/// `AMBER+STRICT`).
///
/// # Errors
/// [`ViewError::InvalidField`] (`tlp`) for a value that is not a TLP 2.0 level.
pub fn tlp(level: &str) -> Result<&'static str, ViewError> {
    Ok(match level {
        "clear" => "CLEAR",
        "green" => "GREEN",
        "amber" => "AMBER",
        "amber+strict" => "AMBER+STRICT",
        "red" => "RED",
        other => {
            return Err(ViewError::InvalidField {
                field: "tlp",
                message: format!("{other:?} is not a TLP 2.0 level"),
            })
        }
    })
}

/// The ECS `threat.indicator.*` fields that carry the value, and `threat.indicator.type`.
fn value_fields(indicator: &Indicator, ti: &mut Map<String, Value>) -> Result<(), ViewError> {
    let value = indicator.value.as_str();
    let mut set_type = |t: &str| {
        ti.insert("type".into(), json!(t));
    };
    match indicator.kind.as_str() {
        "ipv4" | "ipv6" => {
            set_type(if indicator.kind == "ipv4" {
                "ipv4-addr"
            } else {
                "ipv6-addr"
            });
            ti.insert("ip".into(), json!(value));
            if let Some(port) = indicator.port {
                ti.insert("port".into(), json!(port));
            }
        }
        "ipv4_network" => set_type("ipv4-addr"),
        "ipv6_network" => set_type("ipv6-addr"),
        "domain" => {
            set_type("domain-name");
            ti.insert("url".into(), json!({ "domain": value }));
        }
        "url" => {
            set_type("url");
            ti.insert("url".into(), url_fields(value));
        }
        "email" => {
            set_type("email-addr");
            ti.insert("email".into(), json!({ "address": value }));
        }
        "md5" | "sha1" | "sha256" | "sha512" => {
            set_type("file");
            ti.insert(
                "file".into(),
                json!({ "hash": { indicator.kind.as_str(): value } }),
            );
        }
        "asn" => {
            set_type("autonomous-system");
            let number = crate::views::stix::asn_number(value)?;
            ti.insert("as".into(), json!({ "number": number }));
        }
        "x509_sha1" | "x509_sha256" => set_type("x509-certificate"),
        "ja3" | "cve" => {}
        other => {
            return Err(ViewError::UnsupportedType {
                kind: other.to_owned(),
                view: "ecs",
            })
        }
    }
    Ok(())
}

/// `threat.indicator.url.*` of a canonical URL.
fn url_fields(value: &str) -> Value {
    let mut fields = Map::new();
    fields.insert("full".into(), json!(value));
    fields.insert("original".into(), json!(value));
    if let Ok(parsed) = url::Url::parse(value) {
        fields.insert("scheme".into(), json!(parsed.scheme()));
        if let Some(host) = parsed.host_str() {
            // ECS wants the host without IPv6 brackets.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            fields.insert("domain".into(), json!(host));
        }
        fields.insert("path".into(), json!(parsed.path()));
        if let Some(port) = parsed.port() {
            fields.insert("port".into(), json!(port));
        }
        if let Some(query) = parsed.query() {
            fields.insert("query".into(), json!(query));
        }
        if let Some(fragment) = parsed.fragment() {
            fields.insert("fragment".into(), json!(fragment));
        }
    }
    Value::Object(fields)
}

fn description(indicator: &Indicator) -> String {
    let mut d = format!(
        "{} indicator from the {} feed",
        indicator.kind, indicator.source
    );
    if !indicator.threat_types.is_empty() {
        d.push_str(&format!(
            "; threat types: {}",
            indicator.threat_types.join(", ")
        ));
    }
    if let Some(unicode) = indicator.value_unicode.as_deref() {
        d.push_str(&format!("; Unicode form: {unicode}"));
    }
    d.push('.');
    d
}

/// Inserts `key` into `object` unless `value` is null or an empty array.
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

/// The ECS document of an indicator from `feed`.
///
/// # Errors
/// [`ViewError`] for an unsupported type, an unknown TLP level, an unrepresentable time or a
/// malformed AS number.
pub fn document(indicator: &Indicator, feed: &Feed) -> Result<Value, ViewError> {
    let mut ti = Map::new();
    value_fields(indicator, &mut ti)?;
    ti.insert("name".into(), json!(indicator.value));
    ti.insert("provider".into(), json!(indicator.source));
    ti.insert("description".into(), json!(description(indicator)));
    ti.insert("confidence".into(), json!(confidence(indicator.confidence)));
    ti.insert(
        "marking".into(),
        json!({ "tlp": tlp(&indicator.tlp)?, "tlp_version": "2.0" }),
    );
    if let Some(ms) = indicator.first_seen_ms {
        ti.insert("first_seen".into(), json!(rfc3339_ms("first_seen_ms", ms)?));
    }
    if let Some(ms) = indicator.last_seen_ms {
        ti.insert("last_seen".into(), json!(rfc3339_ms("last_seen_ms", ms)?));
    }
    let reference = indicator
        .references
        .first()
        .map(String::as_str)
        .or_else(|| {
            indicator
                .source_ref
                .as_deref()
                .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
        });
    put(&mut ti, "reference", json!(reference));

    let mut feed_fields = Map::new();
    feed_fields.insert("name".into(), json!(feed.name));
    put(&mut feed_fields, "reference", json!(feed.reference));
    put(&mut feed_fields, "description", json!(feed.description));

    let mut threat = Map::new();
    threat.insert("indicator".into(), Value::Object(ti));
    threat.insert("feed".into(), Value::Object(feed_fields));
    if !indicator.malware_families.is_empty() {
        threat.insert(
            "software".into(),
            json!({ "name": indicator.malware_families, "type": "Malware" }),
        );
    }

    let mut iocflow = Map::new();
    iocflow.insert("id".into(), json!(indicator.id));
    iocflow.insert("type".into(), json!(indicator.kind));
    iocflow.insert("status".into(), json!(indicator.status));
    put(&mut iocflow, "flags", json!(indicator.flags));
    put(&mut iocflow, "threat_types", json!(indicator.threat_types));
    put(&mut iocflow, "source_ref", json!(indicator.source_ref));
    if let Some(ms) = indicator.valid_until_ms {
        iocflow.insert(
            "valid_until".into(),
            json!(rfc3339_ms("valid_until_ms", ms)?),
        );
    }
    put(
        &mut iocflow,
        "value_unicode",
        json!(indicator.value_unicode),
    );

    let mut doc = Map::new();
    doc.insert(
        "@timestamp".into(),
        json!(rfc3339_ms("normalized_at_ms", indicator.normalized_at_ms)?),
    );
    doc.insert(
        "event".into(),
        json!({
            "kind": "enrichment",
            "category": ["threat"],
            "type": ["indicator"],
            "dataset": format!("iocflow.{}", indicator.source),
        }),
    );
    doc.insert("threat".into(), Value::Object(threat));
    if indicator.kind == "cve" {
        doc.insert("vulnerability".into(), json!({ "id": indicator.value }));
    }
    put(&mut doc, "tags", json!(indicator.tags));
    doc.insert("iocflow".into(), Value::Object(iocflow));
    Ok(Value::Object(doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::stix::tests::indicator;

    fn doc(kind: &str, value: &str) -> Value {
        document(
            &indicator(kind, "x--y", value),
            &Feed::from_source("feodotracker"),
        )
        .unwrap()
    }

    fn ti(kind: &str, value: &str) -> Value {
        doc(kind, value)["threat"]["indicator"].clone()
    }

    #[test]
    fn event_and_feed_fields() {
        let d = doc("ipv4", "198.51.100.3");
        assert_eq!(d["@timestamp"], "2024-05-03T12:00:00.000Z");
        assert_eq!(d["event"]["kind"], "enrichment");
        assert_eq!(d["event"]["category"], json!(["threat"]));
        assert_eq!(d["event"]["type"], json!(["indicator"]));
        assert_eq!(d["threat"]["feed"]["name"], "feodotracker");
        assert_eq!(d["tags"], json!(["emotet"]));
        let t = &d["threat"]["indicator"];
        assert_eq!(t["first_seen"], "2024-05-01T12:00:00.000Z");
        assert_eq!(t["last_seen"], "2024-05-02T12:00:00.000Z");
        assert_eq!(t["confidence"], "High");
        assert_eq!(t["marking"]["tlp"], "CLEAR");
        assert_eq!(t["provider"], "feodotracker");
        assert_eq!(d["iocflow"]["status"], "active");
        assert_eq!(d["iocflow"]["valid_until"], "2024-06-01T12:00:00.000Z");
    }

    #[test]
    fn value_fields_per_type() {
        let t = ti("ipv4", "198.51.100.3");
        assert_eq!(t["type"], "ipv4-addr");
        assert_eq!(t["ip"], "198.51.100.3");
        assert_eq!(ti("ipv6", "2001:db8::1")["type"], "ipv6-addr");
        let t = ti("ipv4_network", "10.0.0.0/8");
        assert_eq!(t["type"], "ipv4-addr");
        assert_eq!(t["name"], "10.0.0.0/8");
        assert!(t.get("ip").is_none());
        let t = ti("domain", "example.com");
        assert_eq!(t["type"], "domain-name");
        assert_eq!(t["url"]["domain"], "example.com");
        let t = ti("url", "http://example.com:8080/a/b?q=1#f");
        assert_eq!(t["type"], "url");
        assert_eq!(t["url"]["full"], "http://example.com:8080/a/b?q=1#f");
        assert_eq!(t["url"]["domain"], "example.com");
        assert_eq!(t["url"]["scheme"], "http");
        assert_eq!(t["url"]["path"], "/a/b");
        assert_eq!(t["url"]["port"], 8080);
        assert_eq!(t["url"]["query"], "q=1");
        assert_eq!(
            ti("url", "http://[2001:db8::1]/")["url"]["domain"],
            "2001:db8::1"
        );
        let t = ti("email", "bob@example.org");
        assert_eq!(t["type"], "email-addr");
        assert_eq!(t["email"]["address"], "bob@example.org");
        for alg in ["md5", "sha1", "sha256", "sha512"] {
            let t = ti(alg, "abc");
            assert_eq!(t["type"], "file");
            assert_eq!(t["file"]["hash"][alg], "abc");
        }
        let t = ti("asn", "AS13335");
        assert_eq!(t["type"], "autonomous-system");
        assert_eq!(t["as"]["number"], 13335);
        let t = ti("x509_sha256", "ab");
        assert_eq!(t["type"], "x509-certificate");
        assert_eq!(t["name"], "ab");
        assert!(ti("ja3", "e7d705a3286e19ea42f587b344ee6865")
            .get("type")
            .is_none());
        let d = doc("cve", "CVE-2021-44228");
        assert_eq!(d["vulnerability"]["id"], "CVE-2021-44228");
    }

    #[test]
    fn ip_port_keeps_the_port() {
        let mut i = indicator("ipv4", "x--y", "198.51.100.3");
        i.port = Some(443);
        let d = document(&i, &Feed::from_source("f")).unwrap();
        assert_eq!(d["threat"]["indicator"]["port"], 443);
    }

    #[test]
    fn confidence_scale() {
        assert_eq!(confidence(None), "Not Specified");
        assert_eq!(confidence(Some(0)), "None");
        assert_eq!(confidence(Some(1)), "Low");
        assert_eq!(confidence(Some(29)), "Low");
        assert_eq!(confidence(Some(30)), "Medium");
        assert_eq!(confidence(Some(69)), "Medium");
        assert_eq!(confidence(Some(70)), "High");
        assert_eq!(confidence(Some(100)), "High");
    }

    #[test]
    fn tlp_levels() {
        assert_eq!(tlp("clear").unwrap(), "CLEAR");
        assert_eq!(tlp("amber+strict").unwrap(), "AMBER+STRICT");
        assert_eq!(tlp("red").unwrap(), "RED");
        assert!(tlp("white").is_err());
    }

    #[test]
    fn references_feed_and_malware() {
        let mut i = indicator("url", "x--y", "http://example.com/");
        i.source_ref = Some("https://urlhaus.abuse.ch/url/1/".into());
        i.malware_families = vec!["Emotet".into()];
        i.status = "revoked".into();
        let feed = Feed {
            name: "URLhaus".into(),
            reference: Some("https://urlhaus.abuse.ch/".into()),
            description: None,
        };
        let d = document(&i, &feed).unwrap();
        assert_eq!(
            d["threat"]["indicator"]["reference"],
            "https://urlhaus.abuse.ch/url/1/"
        );
        assert_eq!(
            d["threat"]["feed"]["reference"],
            "https://urlhaus.abuse.ch/"
        );
        assert_eq!(d["threat"]["software"]["name"], json!(["Emotet"]));
        assert_eq!(d["iocflow"]["status"], "revoked");
    }

    #[test]
    fn unknown_type_is_an_error() {
        let e = document(&indicator("mutex", "x--y", "m"), &Feed::from_source("f")).unwrap_err();
        assert!(matches!(e, ViewError::UnsupportedType { view: "ecs", .. }));
    }
}
