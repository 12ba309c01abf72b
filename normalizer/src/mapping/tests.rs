//! Mapping tests: each bundled integration's recordings against its `expected.jsonl`, plus the
//! mapping features the recordings do not exercise.

use std::path::{Path, PathBuf};

use iocflow_schemas::spec::IntegrationSpec;
use iocflow_schemas::RawRecord;
use serde_json::Value;

use crate::{normalize, ErrorKind, Normalized, Origin};

const NOW_MS: i64 = 1_714_600_000_000;

fn integrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fetchers/integrations")
}

/// A simple stand-in for the fetcher's framing, enough for the three recordings: CSV lines
/// (comments skipped), text lines (blank lines skipped), or elements of a top-level JSON array.
enum Framed {
    Item(Vec<u8>),
    Skip(&'static str),
}

fn frame(name: &str, body: &[u8]) -> Vec<Framed> {
    let text = std::str::from_utf8(body).unwrap();
    match name {
        "urlhaus" => text
            .lines()
            .map(|l| match l.starts_with('#') {
                true => Framed::Skip("comment"),
                false => Framed::Item(l.as_bytes().to_vec()),
            })
            .collect(),
        "openphish" => text
            .lines()
            .map(|l| match l.trim().is_empty() {
                true => Framed::Skip("blank"),
                false => Framed::Item(l.as_bytes().to_vec()),
            })
            .collect(),
        "feodotracker" => {
            let items: Vec<Value> = serde_json::from_str(text).unwrap();
            items
                .iter()
                .map(|v| Framed::Item(serde_json::to_vec(v).unwrap()))
                .collect()
        }
        other => panic!("no test framing for {other}"),
    }
}

fn raw(spec: &IntegrationSpec, payload: Vec<u8>, sequence: i64) -> RawRecord {
    RawRecord {
        source: spec.name.clone(),
        fetch_id: "00000000-0000-4000-8000-000000000001".into(),
        fetched_at_ms: NOW_MS,
        sequence,
        framing: spec.framing.record_framing().into(),
        payload,
        request_url: spec.request.url.clone(),
    }
}

fn check_recordings(name: &str, body_file: &str) {
    let dir = integrations().join(name);
    let spec = IntegrationSpec::load(&dir.join("spec.toml")).unwrap();
    let body = std::fs::read(dir.join("recordings").join(body_file)).unwrap();
    let expected_text = std::fs::read_to_string(dir.join("expected.jsonl")).unwrap();
    let expected: Vec<Value> = expected_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let framed = frame(name, &body);
    assert_eq!(
        framed.len(),
        expected.len(),
        "{name}: one expected line per framed item"
    );

    for (i, (item, want)) in framed.into_iter().zip(&expected).enumerate() {
        let at = format!("{name} item {i}");
        let payload = match item {
            Framed::Skip(reason) => {
                assert_eq!(want["skip"], reason, "{at}");
                continue;
            }
            Framed::Item(p) => p,
        };
        let origin = Origin {
            topic: "iocflow.raw".into(),
            partition: 0,
            offset: i as i64,
        };
        let got = normalize(&spec, &raw(&spec, payload, i as i64), &origin, NOW_MS);
        match (got, want.as_object().unwrap()) {
            (Ok(Normalized::Indicator(ind)), w) if w.contains_key("indicator") => {
                let got = serde_json::to_value(&ind).unwrap();
                for (field, value) in w["indicator"].as_object().unwrap() {
                    assert_eq!(&got[field], value, "{at}: field {field}");
                }
                assert_eq!(ind.raw_offset, i as i64, "{at}");
                assert_eq!(ind.normalized_at_ms, NOW_MS, "{at}");
            }
            (Ok(Normalized::Skipped { reason }), w) if w.contains_key("skip_normalize") => {
                assert_eq!(w["skip_normalize"], reason.as_str(), "{at}");
            }
            (Err(e), w) if w.contains_key("dead_letter") => {
                assert_eq!(w["dead_letter"], e.kind.as_str(), "{at}: {}", e.message);
            }
            (got, w) => panic!("{at}: got {got:?}, expected {w:?}"),
        }
    }
}

#[test]
fn urlhaus_recordings_match_expected() {
    check_recordings("urlhaus", "csv_recent.csv");
}

#[test]
fn feodotracker_recordings_match_expected() {
    check_recordings("feodotracker", "ipblocklist.json");
}

#[test]
fn openphish_recordings_match_expected() {
    check_recordings("openphish", "feed.txt");
}

const TYPED_SPEC: &str = r#"
name = "typed"
title = "Typed JSON feed"
[request]
url = "https://example.org/api"
[framing]
kind = "json"
[mapping]
type_field = "/ioc/type"
type_map = { "ip:port" = "ip", "domain" = "domain", "FileHash-SHA256" = "sha256" }
value = "/ioc/value"
confidence_field = "score"
confidence = 50
first_seen = { field = "seen", format = "unix_secs" }
tags = { field = "labels" }
constant_tags = ["feed"]
valid_days = 2
skip_when = [{ field = "status", equals = ["whitelisted", "false_positive"] }]
"#;

fn typed(json: &str) -> Result<Normalized, crate::NormalizeError> {
    let spec = IntegrationSpec::parse(TYPED_SPEC, Path::new("typed")).unwrap();
    let origin = Origin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    };
    normalize(
        &spec,
        &raw(&spec, json.as_bytes().to_vec(), 0),
        &origin,
        NOW_MS,
    )
}

fn indicator(r: Result<Normalized, crate::NormalizeError>) -> iocflow_schemas::Indicator {
    match r {
        Ok(Normalized::Indicator(i)) => i,
        other => panic!("not an indicator: {other:?}"),
    }
}

#[test]
fn type_map_pointer_confidence_and_lists() {
    let i = indicator(typed(
        r#"{"ioc":{"type":"ip:port","value":"45.95.147.236:8443"},"score":"87.4","seen":1714564685,
           "labels":["c2","feed"," "]}"#,
    ));
    assert_eq!(
        (i.kind.as_str(), i.value.as_str(), i.port),
        ("ipv4", "45.95.147.236", Some(8443))
    );
    assert_eq!(i.confidence, Some(87));
    assert_eq!(i.first_seen_ms, Some(1_714_564_685_000));
    assert_eq!(i.tags, ["c2", "feed"]);
    assert_eq!(i.valid_until_ms, Some(1_714_564_685_000 + 2 * 86_400_000));

    // No times at all: valid_until counts from now; no confidence field: the spec's default.
    let i = indicator(typed(
        r#"{"ioc":{"type":"domain","value":"Evil[.]Example.com"}}"#,
    ));
    assert_eq!(i.value, "evil.example.com");
    assert_eq!(i.confidence, Some(50));
    assert_eq!(i.valid_until_ms, Some(NOW_MS + 2 * 86_400_000));
}

#[test]
fn skip_when_is_a_counted_skip() {
    let r = typed(r#"{"ioc":{"type":"domain","value":"a.example"},"status":"whitelisted"}"#);
    assert_eq!(
        r.unwrap(),
        Normalized::Skipped {
            reason: "skip_when".into()
        }
    );
}

#[test]
fn precise_error_kinds() {
    let kind = |json: &str| typed(json).unwrap_err().kind;
    assert_eq!(
        kind(r#"{"ioc":{"type":"mutex","value":"x"}}"#),
        ErrorKind::UnsupportedType
    );
    assert_eq!(
        kind(r#"{"ioc":{"value":"a.example"}}"#),
        ErrorKind::MissingField
    );
    assert_eq!(
        kind(r#"{"ioc":{"type":"domain","value":""}}"#),
        ErrorKind::MissingField
    );
    assert_eq!(
        kind(r#"{"ioc":{"type":"domain","value":"a.example"},"score":"high"}"#),
        ErrorKind::InvalidValue
    );
    assert_eq!(
        kind(r#"{"ioc":{"type":"domain","value":"a.example"},"seen":"noon"}"#),
        ErrorKind::InvalidValue
    );
    assert_eq!(
        kind(r#"{"ioc":{"type":"FileHash-SHA256","value":"abc"}}"#),
        ErrorKind::InvalidValue
    );
    assert_eq!(kind(r#"[1,2"#), ErrorKind::Unparseable);
    let huge = format!(
        r#"{{"ioc":{{"type":"domain","value":"{}"}}}}"#,
        "a".repeat(1 << 20)
    );
    assert_eq!(kind(&huge), ErrorKind::TooLarge);
}

#[test]
fn source_and_framing_must_match_the_spec() {
    let spec = IntegrationSpec::parse(TYPED_SPEC, Path::new("typed")).unwrap();
    let origin = Origin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    };
    let mut r = raw(&spec, b"{}".to_vec(), 0);
    r.source = "other".into();
    let err = normalize(&spec, &r, &origin, NOW_MS).unwrap_err();
    assert_eq!(err.kind, ErrorKind::SchemaMismatch);
    let mut r = raw(&spec, b"{}".to_vec(), 0);
    r.framing = "csv_row".into();
    let err = normalize(&spec, &r, &origin, NOW_MS).unwrap_err();
    assert_eq!(err.kind, ErrorKind::SchemaMismatch);
}

#[test]
fn normalizing_an_indicator_value_again_changes_nothing() {
    let first = indicator(typed(
        r#"{"ioc":{"type":"domain","value":"Bücher[.]Example."}}"#,
    ));
    let again = indicator(typed(&format!(
        r#"{{"ioc":{{"type":"domain","value":"{}"}}}}"#,
        first.value
    )));
    assert_eq!((again.value, again.id), (first.value, first.id));
}

/// A spec using every context option of the mapping.
const CONTEXT_SPEC: &str = r#"
name = "context"
title = "Feed with context options"
[request]
url = "https://example.org/api"
[framing]
kind = "json"
[mapping]
type_field = "kind"
type_map = { ip = "ip", cidr = "network", domain = "domain", url = "url", sha256 = "sha256", asn = "asn", ja3 = "ja3", cert = "x509" }
value = "value"
confidence_field = "confidence"
confidence_scale = { kind = "levels", map = { high = 85, medium = 50, low = 15 } }
last_seen = { field = "seen", format = "unix_secs" }
revoked_when = { field = "state", equals = ["removed", "false_positive"] }
valid_days_by_type = { ipv4 = 1 }
min_ipv4_prefix = 16
"#;

fn context(extra: &str, json: &str) -> Result<Normalized, crate::NormalizeError> {
    let spec = IntegrationSpec::parse(
        &CONTEXT_SPEC.replace(
            "min_ipv4_prefix = 16",
            &format!("min_ipv4_prefix = 16\n{extra}"),
        ),
        Path::new("context"),
    )
    .unwrap();
    let origin = Origin {
        topic: "t".into(),
        partition: 1,
        offset: 9,
    };
    normalize(
        &spec,
        &raw(&spec, json.as_bytes().to_vec(), 0),
        &origin,
        NOW_MS,
    )
}

#[test]
fn status_is_active_revoked_or_expired_never_dropped() {
    let now_secs = NOW_MS / 1000;
    let active = indicator(context(
        "",
        &format!(r#"{{"kind":"ip","value":"8.8.8.8","seen":{now_secs}}}"#),
    ));
    assert_eq!(active.status, "active");
    assert_eq!(active.valid_until_ms, Some(NOW_MS + 86_400_000));

    // Seen two days ago with one day of validity for ipv4: already expired, still emitted.
    let old = now_secs - 2 * 86_400;
    let expired = indicator(context(
        "",
        &format!(r#"{{"kind":"ip","value":"8.8.8.8","seen":{old}}}"#),
    ));
    assert_eq!(expired.status, "expired");
    assert_eq!(expired.id, active.id);

    // Revocation wins over expiry.
    let revoked = indicator(context(
        "",
        &format!(r#"{{"kind":"ip","value":"8.8.8.8","seen":{old},"state":"false_positive"}}"#),
    ));
    assert_eq!(revoked.status, "revoked");

    // Without a time, a domain gets the 90-day default from now, and a hash never expires.
    let d = indicator(context("", r#"{"kind":"domain","value":"evil.example"}"#));
    assert_eq!(
        (d.status.as_str(), d.valid_until_ms),
        ("active", Some(NOW_MS + 90 * 86_400_000))
    );
    let h = indicator(context(
        "",
        &format!(r#"{{"kind":"sha256","value":"{}"}}"#, "A".repeat(64)),
    ));
    assert_eq!((h.status.as_str(), h.valid_until_ms), ("active", None));
}

#[test]
fn confidence_scale_maps_levels_and_rejects_unknown_ones() {
    let i = indicator(context(
        "",
        r#"{"kind":"domain","value":"a.example","confidence":"High"}"#,
    ));
    assert_eq!(i.confidence, Some(85));
    let err = context(
        "",
        r#"{"kind":"domain","value":"a.example","confidence":"certain"}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidValue);
    assert_eq!(
        err.message,
        "field confidence: confidence \"certain\" is not one of the levels high, low, medium"
    );
}

#[test]
fn non_public_addresses_are_dead_letters_unless_kept_with_a_flag() {
    let err = context("", r#"{"kind":"ip","value":"10.1.2.3"}"#).unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::InvalidValue,
            "10.1.2.3 is a private address (RFC 1918)"
        )
    );
    let kept = indicator(context(
        "keep_non_public = true",
        r#"{"kind":"ip","value":"10.1.2.3"}"#,
    ));
    assert_eq!(
        (kept.value.as_str(), kept.flags.as_slice()),
        ("10.1.2.3", &["private_address".to_string()][..])
    );
    let public = indicator(context(
        "keep_non_public = true",
        r#"{"kind":"ip","value":"8.8.4.4"}"#,
    ));
    assert!(public.flags.is_empty());
}

#[test]
fn new_types_map_with_their_ids_and_unicode_forms() {
    let n = indicator(context("", r#"{"kind":"cidr","value":"45.95.147.236/22"}"#));
    assert_eq!(
        (n.kind.as_str(), n.value.as_str()),
        ("ipv4_network", "45.95.144.0/22")
    );
    assert!(n.id.starts_with("ipv4-addr--"));
    let err = context("", r#"{"kind":"cidr","value":"45.0.0.0/8"}"#).unwrap_err();
    assert_eq!(
        err.message,
        "network 45.0.0.0/8 is too large: prefix /8 is below the minimum /16"
    );

    let a = indicator(context("", r#"{"kind":"asn","value":"as13335"}"#));
    assert_eq!(
        (a.kind.as_str(), a.value.as_str(), a.id.as_str()),
        (
            "asn",
            "AS13335",
            "autonomous-system--0204c07d-e4dd-5f14-a3d5-c93cb1c5a9fc"
        )
    );
    let j = indicator(context(
        "",
        r#"{"kind":"ja3","value":"E7D705A3286E19EA42F587B344EE6865"}"#,
    ));
    assert_eq!(j.id, "x-ja3--e3d322f2-9411-5cf0-ba8c-2c1cf2af439e");
    let c = indicator(context(
        "",
        &format!(r#"{{"kind":"cert","value":"{}"}}"#, "AB".repeat(20)),
    ));
    assert_eq!(
        (c.kind.as_str(), c.id.as_str()),
        (
            "x509_sha1",
            "x509-certificate--8e325068-80a6-5f21-9c06-0e0569fe6712"
        )
    );

    let u = indicator(context(
        "",
        r#"{"kind":"url","value":"hxxps://bücher[.]example/%7ea"}"#,
    ));
    assert_eq!(u.value, "https://xn--bcher-kva.example/~a");
    assert_eq!(
        u.value_unicode.as_deref(),
        Some("https://bücher.example/~a")
    );
    let d = indicator(context("", r#"{"kind":"domain","value":"evil.example"}"#));
    assert_eq!(d.value_unicode, None);
}
