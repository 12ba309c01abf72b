//! Every STIX object iocflow emits must pass the OASIS `stix2-validator` in strict mode.
//!
//! For every integration of `fetchers/integrations`, the recorded 200 bodies are framed with the
//! fetcher's own framing and normalized, as in the conformance test; the STIX view of all the
//! resulting indicators is written as one bundle file and checked with
//! `stix2_validator --strict --version 2.1 FILE` (exit 0 required). A second bundle covers every
//! indicator type, TLP level and status, whether or not a bundled integration produces it yet.
//!
//! The validator is found through `IOCFLOW_STIX_VALIDATOR`, or in the virtualenv that
//! `scripts/python-tools.sh` creates (`${IOCFLOW_VENV:-$HOME/.cache/iocflow/venv}`). Without it
//! the test fails rather than passing silently, which is why it only runs with the
//! `stix-validator` feature:
//! `bash scripts/python-tools.sh && cargo test -p iocflow-normalizer --features stix-validator
//! --test stix_validator`.

#![cfg(feature = "stix-validator")]
// A test helper that cannot read its fixtures should stop the test with the reason.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use iocflow_fetchers::framing::{frame_bytes, FramedItem};
use iocflow_normalizer::identity::STIX_NAMESPACE;
use iocflow_normalizer::views::stix;
use iocflow_normalizer::{normalize, Normalized, Origin};
use iocflow_schemas::spec::IntegrationSpec;
use iocflow_schemas::{Indicator, RawRecord};
use serde_json::{json, Value};
use uuid::Uuid;

/// Fetch and normalization time of every record: 2024-05-01T12:00:00Z.
const NOW_MS: i64 = 1_714_564_800_000;

fn validator() -> PathBuf {
    if let Some(path) = std::env::var_os("IOCFLOW_STIX_VALIDATOR") {
        return PathBuf::from(path);
    }
    let venv = std::env::var_os("IOCFLOW_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            PathBuf::from(home).join(".cache/iocflow/venv")
        });
    let path = venv.join("bin/stix2_validator");
    assert!(
        path.is_file(),
        "the OASIS STIX validator is not installed at {}: run `bash scripts/python-tools.sh` \
         (or set IOCFLOW_STIX_VALIDATOR to a stix2_validator executable)",
        path.display()
    );
    path
}

fn catalog_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fetchers/integrations")
}

/// Frames and normalizes the recorded 200 bodies of one integration (skipping truncated
/// replies, which never deliver a body), returning the indicators.
fn indicators_of(dir: &Path) -> (String, Vec<Indicator>) {
    let spec = IntegrationSpec::load(&dir.join("spec.toml")).expect("spec loads");
    let responses_path = dir.join("recordings/responses.toml");
    let responses: toml::Value = std::fs::read_to_string(&responses_path)
        .expect("responses.toml is readable")
        .parse()
        .expect("responses.toml parses");
    let mut indicators = Vec::new();
    let mut sequence = 0i64;
    let entries = responses
        .get("response")
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default();
    for r in entries {
        let status = r
            .get("status")
            .and_then(toml::Value::as_integer)
            .unwrap_or(200);
        let Some(file) = r.get("body_file").and_then(toml::Value::as_str) else {
            continue;
        };
        if status != 200 || r.get("truncate_body_at").is_some() {
            continue;
        }
        let body = std::fs::read(dir.join("recordings").join(file)).expect("body file reads");
        for item in frame_bytes(&spec, &body).expect("the recorded body frames") {
            let FramedItem::Record { payload, .. } = item else {
                sequence += 1;
                continue;
            };
            let raw = RawRecord {
                source: spec.name.clone(),
                fetch_id: "00000000-0000-4000-8000-000000000000".into(),
                fetched_at_ms: NOW_MS,
                sequence,
                framing: spec.framing.record_framing().to_string(),
                payload,
                request_url: spec.request.url.clone(),
            };
            let origin = Origin {
                topic: "stix-validator".into(),
                partition: 0,
                offset: sequence,
            };
            if let Ok(Normalized::Indicator(i)) = normalize(&spec, &raw, &origin, NOW_MS) {
                indicators.push(i);
            }
            sequence += 1;
        }
    }
    (spec.name, indicators)
}

/// Writes `bundle` to `dir/name.json` and runs the validator on it; panics with its output
/// when it does not exit 0.
fn validate(validator: &Path, dir: &Path, name: &str, bundle: &Value) {
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(bundle).expect("bundle serializes");
    std::fs::write(&path, text).expect("bundle file writes");
    let output = Command::new(validator)
        .args(["--strict", "--version", "2.1"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", validator.display()));
    assert!(
        output.status.success(),
        "stix2_validator --strict rejected the bundle of {name} ({}), exit {:?}:\n{}\n{}",
        path.display(),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

#[test]
fn every_integration_emits_valid_stix() {
    let validator = validator();
    let out = tempfile::tempdir().expect("temp dir");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(catalog_dir())
        .expect("the catalog is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("spec.toml").is_file())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no integrations in {}",
        catalog_dir().display()
    );

    for dir in dirs {
        let (name, indicators) = indicators_of(&dir);
        assert!(
            !indicators.is_empty(),
            "{name}: the recordings give no indicator"
        );
        let bundle = stix::bundle_of(&indicators)
            .unwrap_or_else(|e| panic!("{name}: STIX view failed: {e}"));
        let objects = bundle["objects"].as_array().map_or(0, Vec::len);
        eprintln!(
            "{name}: {} indicators, {objects} STIX objects",
            indicators.len()
        );
        validate(&validator, out.path(), &name, &bundle);
    }
}

/// A STIX 2.1 deterministic SCO id, computed here from the rule (UUIDv5 over the JSON of the
/// contributing properties), independently of the normalizer's identity module.
fn sco_id(stix_type: &str, contributing: Value) -> String {
    let uuid = Uuid::new_v5(&STIX_NAMESPACE, contributing.to_string().as_bytes());
    format!("{stix_type}--{uuid}")
}

fn synthetic(kind: &str, id: String, value: &str) -> Indicator {
    Indicator {
        id,
        kind: kind.into(),
        value: value.into(),
        port: None,
        source: "synthetic".into(),
        source_ref: Some("item-1".into()),
        first_seen_ms: Some(NOW_MS - 86_400_000),
        last_seen_ms: Some(NOW_MS),
        confidence: Some(50),
        tlp: "green".into(),
        tags: vec!["tag with spaces".into(), "émoji 🙂".into()],
        threat_types: vec!["botnet_cc".into()],
        malware_families: vec!["Emotet".into()],
        fetch_id: "f".into(),
        raw_topic: "raw".into(),
        raw_partition: 0,
        raw_offset: 0,
        normalized_at_ms: NOW_MS,
        valid_until_ms: Some(NOW_MS + 86_400_000),
        references: vec!["https://example.com/report".into()],
        value_unicode: None,
        status: "active".into(),
        flags: vec![],
    }
}

#[test]
fn every_indicator_type_emits_valid_stix() {
    let validator = validator();
    let out = tempfile::tempdir().expect("temp dir");
    let value = |stix_type: &str, kind: &str, v: &str| {
        synthetic(kind, sco_id(stix_type, json!({ "value": v })), v)
    };
    let hash = |stix_type: &str, kind: &str, alg: &str, v: &str| {
        synthetic(kind, sco_id(stix_type, json!({"hashes": { alg: v }})), v)
    };

    let mut all = vec![
        value("ipv4-addr", "ipv4", "198.51.100.3"),
        value("ipv6-addr", "ipv6", "2001:db8::1"),
        value("ipv4-addr", "ipv4_network", "10.0.0.0/8"),
        value("ipv6-addr", "ipv6_network", "2001:db8::/32"),
        value("domain-name", "domain", "xn--bcher-kva.example"),
        // A quote must be escaped in the pattern. (The pattern escaping of `\` is unit-tested: a
        // canonical URL cannot hold one, and the validator's URI check rejects it.)
        value("url", "url", "http://example.com/it's/a'path?q='x'"),
        value("email-addr", "email", "bob@example.com"),
        hash("file", "md5", "MD5", "d41d8cd98f00b204e9800998ecf8427e"),
        hash(
            "file",
            "sha1",
            "SHA-1",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        hash(
            "file",
            "sha256",
            "SHA-256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        hash("file", "sha512", "SHA-512", &"cf83e135".repeat(16)),
        hash(
            "x509-certificate",
            "x509_sha1",
            "SHA-1",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        ),
        hash(
            "x509-certificate",
            "x509_sha256",
            "SHA-256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        synthetic(
            "asn",
            sco_id("autonomous-system", json!({ "number": 13335 })),
            "AS13335",
        ),
        synthetic(
            "ja3",
            sco_id(
                "x-ja3",
                json!({ "value": "e7d705a3286e19ea42f587b344ee6865" }),
            ),
            "e7d705a3286e19ea42f587b344ee6865",
        ),
        synthetic(
            "cve",
            sco_id("vulnerability", json!({ "name": "CVE-2021-44228" })),
            "CVE-2021-44228",
        ),
    ];

    // ip:port, every TLP level, revoked and expired, and an indicator with no optional context.
    let mut with_port = value("ipv4-addr", "ipv4", "198.51.100.4");
    with_port.port = Some(443);
    all.push(with_port);
    for (n, tlp) in ["clear", "amber", "amber+strict", "red"].iter().enumerate() {
        let mut i = value("domain-name", "domain", &format!("tlp{n}.example"));
        i.tlp = (*tlp).into();
        all.push(i);
    }
    let mut revoked = value("domain-name", "domain", "revoked.example");
    revoked.status = "revoked".into();
    all.push(revoked);
    let mut expired = value("domain-name", "domain", "expired.example");
    expired.status = "expired".into();
    expired.valid_until_ms = Some(NOW_MS - 2 * 86_400_000);
    all.push(expired);
    let mut bare = value("domain-name", "domain", "bare.example");
    bare.source_ref = None;
    bare.first_seen_ms = None;
    bare.last_seen_ms = None;
    bare.confidence = None;
    bare.tags.clear();
    bare.threat_types.clear();
    bare.malware_families.clear();
    bare.valid_until_ms = None;
    bare.references.clear();
    all.push(bare);

    let bundle = stix::bundle_of(&all).unwrap_or_else(|e| panic!("STIX view failed: {e}"));
    validate(&validator, out.path(), "every-type", &bundle);
}
