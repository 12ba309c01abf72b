//! Regression corpus of hostile inputs for the normalizer: each case feeds one nasty raw record
//! (or value) through the public API and asserts its precise outcome — an indicator, a counted
//! skip or a dead-letter kind — never a panic.
//!
//! The cases cover what the fuzz targets in `normalizer/fuzz` look for (invalid UTF-8, huge
//! fields, deep nesting, NUL bytes, homoglyphs, absurd networks and ports, BOMs, CRLF, lone
//! surrogates) plus every input a fuzz target ever crashed on (`fuzz_crash_*` tests). That a
//! panicking record becomes a `panic` dead letter in the stage loop is tested in
//! `src/consumer/tests.rs`.

// Helpers panic on a broken fixture: that is a failed test, as in a #[test] body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use iocflow_normalizer::canonical::{canonicalize, is_known_type};
use iocflow_normalizer::{normalize, ErrorKind, NormalizeError, Normalized, Origin};
use iocflow_schemas::spec::{FramingSpec, IntegrationSpec};
use iocflow_schemas::{codec, Indicator, RawRecord};

const NOW_MS: i64 = 1_714_564_800_000;

/// What one record became, in a form a test can compare.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// An indicator of this type and value.
    Indicator(String, String),
    /// A counted skip.
    Skipped,
    /// A dead letter of this kind.
    Dead(&'static str),
}

fn spec(name: &str) -> IntegrationSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fetchers/integrations")
        .join(name)
        .join("spec.toml");
    IntegrationSpec::load(&path).unwrap()
}

fn with_max_item_bytes(mut spec: IntegrationSpec, limit: usize) -> IntegrationSpec {
    match &mut spec.framing {
        FramingSpec::Csv { max_item_bytes, .. }
        | FramingSpec::Lines { max_item_bytes, .. }
        | FramingSpec::Json { max_item_bytes, .. } => *max_item_bytes = limit,
    }
    spec
}

fn raw(spec: &IntegrationSpec, payload: &[u8]) -> RawRecord {
    RawRecord {
        source: spec.name.clone(),
        fetch_id: "4f1c7d1e-0000-4000-8000-000000000001".into(),
        fetched_at_ms: NOW_MS,
        sequence: 0,
        framing: spec.framing.record_framing().into(),
        payload: payload.to_vec(),
        request_url: spec.request.url.clone(),
    }
}

fn run(spec: &IntegrationSpec, payload: &[u8]) -> Result<Normalized, NormalizeError> {
    let origin = Origin {
        topic: "iocflow.raw".into(),
        partition: 0,
        offset: 42,
    };
    normalize(spec, &raw(spec, payload), &origin, NOW_MS)
}

fn outcome(spec: &IntegrationSpec, payload: &[u8]) -> Outcome {
    match run(spec, payload) {
        Ok(Normalized::Indicator(i)) => Outcome::Indicator(i.kind, i.value),
        Ok(Normalized::Skipped { .. }) => Outcome::Skipped,
        Err(e) => Outcome::Dead(e.kind.as_str()),
    }
}

fn dead(kind: &'static str) -> Outcome {
    Outcome::Dead(kind)
}

fn url(value: &str) -> Outcome {
    Outcome::Indicator("url".into(), value.into())
}

/// A feodotracker item with `ip` and `port` (JSON numbers or strings, given as JSON text).
fn feodo_item(ip: &str, port: &str) -> Vec<u8> {
    format!(
        r#"{{"ip_address": {ip}, "port": {port}, "first_seen": "2024-04-30 10:00:00", "malware": "Emotet"}}"#
    )
    .into_bytes()
}

/// A urlhaus row with `url` as its url column (already CSV-quoted by the caller if needed).
fn urlhaus_row(url: &str) -> Vec<u8> {
    format!(
        r#""3001","2024-05-01 10:00:00",{url},"online","","malware_download","elf","https://urlhaus.abuse.ch/url/3001/","anonymous""#
    )
    .into_bytes()
}

/// `payload` with its `XX` replaced by the invalid UTF-8 sequence `C3 28`.
fn invalid_utf8_in(payload: &[u8]) -> Vec<u8> {
    let at = payload.windows(2).position(|w| w == b"XX").unwrap();
    [&payload[..at], b"\xc3\x28", &payload[at + 2..]].concat()
}

#[test]
fn invalid_utf8_is_unparseable_in_every_framing() {
    let lines = spec("openphish");
    assert_eq!(
        outcome(&lines, b"http://a.example/\xff\xfe"),
        dead("unparseable")
    );
    // A truncated multi-byte sequence at the very end.
    assert_eq!(
        outcome(&lines, b"http://a.example/\xe2\x82"),
        dead("unparseable")
    );

    let csv = spec("urlhaus");
    assert_eq!(
        outcome(
            &csv,
            &invalid_utf8_in(&urlhaus_row("\"http://a.example/XX\""))
        ),
        dead("unparseable")
    );

    let json = spec("feodotracker");
    assert_eq!(
        outcome(&json, &invalid_utf8_in(&feodo_item("\"1.2.3.4XX\"", "443"))),
        dead("unparseable")
    );
}

#[test]
fn ten_megabyte_field_is_too_large() {
    let field = "a".repeat(10 * 1024 * 1024);

    // Over the spec's max_item_bytes (1 MiB by default): refused before any parsing.
    let lines = spec("openphish");
    assert_eq!(
        outcome(&lines, format!("http://a.example/{field}").as_bytes()),
        dead("too_large")
    );
    let csv = spec("urlhaus");
    assert_eq!(
        outcome(&csv, &urlhaus_row(&format!("\"http://a.example/{field}\""))),
        dead("too_large")
    );

    // With a spec that lets the item through, the value itself is over the 8 KiB value limit.
    let json = with_max_item_bytes(spec("feodotracker"), 32 << 20);
    assert_eq!(
        outcome(&json, &feodo_item(&format!("\"{field}\""), "443")),
        dead("too_large")
    );
    // A 10 MB field that is not the value is read and ignored.
    let item =
        format!(r#"{{"ip_address": "162.243.103.246", "port": 443, "hostname": "{field}"}}"#);
    assert_eq!(
        outcome(&json, item.as_bytes()),
        Outcome::Indicator("ipv4".into(), "162.243.103.246".into())
    );
}

#[test]
fn one_megabyte_url_is_too_large() {
    let line = format!("http://a.example/{}", "x".repeat(1_000_000));
    assert!(
        line.len() < 1 << 20,
        "fits the item limit, so the value limit decides"
    );
    assert_eq!(
        outcome(&spec("openphish"), line.as_bytes()),
        dead("too_large")
    );

    let err = canonicalize("url", &line).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    assert!(err.message.len() < 200, "message does not echo the value");
}

#[test]
fn deeply_nested_json_is_unparseable_not_a_stack_overflow() {
    let json = spec("feodotracker");
    let opened = "[".repeat(100_000);
    assert_eq!(outcome(&json, opened.as_bytes()), dead("unparseable"));

    let balanced = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(outcome(&json, balanced.as_bytes()), dead("unparseable"));

    let objects = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
    assert_eq!(outcome(&json, objects.as_bytes()), dead("unparseable"));

    // A nested value inside an otherwise valid item, under the parser's depth limit, in the
    // value field: an array is not a value.
    let item = format!(
        r#"{{"ip_address": {}"1.2.3.4"{}, "port": 443}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(outcome(&json, item.as_bytes()), dead("invalid_value"));
}

#[test]
fn nul_bytes_never_make_an_indicator_with_a_nul() {
    let lines = spec("openphish");
    // In the host: not a valid host.
    assert_eq!(
        outcome(&lines, b"http://a\0.example/"),
        dead("invalid_value")
    );
    // Only a NUL.
    assert_eq!(outcome(&lines, b"\0"), dead("invalid_value"));
    // In the path: WHATWG percent-encodes it, so the value holds no raw NUL.
    assert_eq!(
        outcome(&lines, b"http://a.example/x\0y"),
        url("http://a.example/x%00y")
    );

    let json = spec("feodotracker");
    assert_eq!(
        outcome(&json, &feodo_item("\"1.2.3.4\\u0000\"", "443")),
        dead("invalid_value")
    );
    // A raw NUL inside a JSON string is a control character JSON forbids.
    assert_eq!(
        outcome(&json, &feodo_item("\"1.2.3.4\0\"", "443")),
        dead("unparseable")
    );

    for kind in ["ip", "domain", "email", "md5", "cve"] {
        let err = canonicalize(kind, "\0").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidValue, "{kind}");
    }
}

#[test]
fn homoglyph_domains_become_punycode_with_their_own_id() {
    // Cyrillic а (U+0430) in paypal: a different name from paypal.com, converted, not refused.
    // Punycode and id computed independently with Python (`"pаypal.com".encode("idna")`,
    // `uuid.uuid5(STIX namespace, '{"value":"xn--pypal-4ve.com"}')`).
    let c = canonicalize("domain", "p\u{0430}ypal.com").unwrap();
    assert_eq!(c.value, "xn--pypal-4ve.com");
    assert_ne!(c.value, canonicalize("domain", "paypal.com").unwrap().value);

    // All-Cyrillic look-alike "раураl.com" (only the l is Latin).
    let c = canonicalize("domain", "\u{0440}\u{0430}\u{0443}\u{0440}\u{0430}l.com").unwrap();
    assert_eq!(c.value, "xn--l-7sba6dbr.com");

    // Through a URL feed: the host is converted, the scheme kept.
    assert_eq!(
        outcome(
            &spec("openphish"),
            "https://p\u{0430}ypal.com/signin".as_bytes()
        ),
        url("https://xn--pypal-4ve.com/signin")
    );

    // And the id is the STIX domain-name id of the punycode value.
    let Ok(Normalized::Indicator(i)) = run(
        &spec("openphish"),
        "https://p\u{0430}ypal.com/signin".as_bytes(),
    ) else {
        panic!("not an indicator");
    };
    assert!(i.id.starts_with("url--"), "{}", i.id);
    let domain = canonicalize("domain", "p\u{0430}ypal.com").unwrap();
    assert_eq!(
        iocflow_normalizer::identity::indicator_id(&domain),
        "domain-name--2994fe4e-116a-59a6-b500-fdbdb5bba621"
    );
}

#[test]
fn huge_cidrs_are_refused() {
    // An address type never takes a prefix.
    for value in ["0.0.0.0/0", "1.2.3.4/99999999999999999999", "::/0"] {
        assert_eq!(
            canonicalize("ip", value).unwrap_err().kind,
            ErrorKind::InvalidValue,
            "{value}"
        );
    }
    // Network types: the whole Internet, absurd and negative prefixes are not indicators.
    let expected = if is_known_type("network") {
        ErrorKind::InvalidValue
    } else {
        ErrorKind::UnsupportedType
    };
    for value in [
        "0.0.0.0/0",
        "::/0",
        "1.0.0.0/1",
        "10.0.0.0/33",
        "10.0.0.0/4294967297",
        "10.0.0.0/-8",
        "2001:db8::/129",
        "2001:db8::/99999999999999999999999999",
    ] {
        assert_eq!(
            canonicalize("network", value).unwrap_err().kind,
            expected,
            "{value}"
        );
    }
}

#[test]
fn absurd_ports_are_invalid_values() {
    let json = spec("feodotracker");
    for port in [
        "70000",
        "-1",
        "\"99999999999999999999\"",
        "1e9",
        "443.5",
        "\"0x1bb\"",
        "18446744073709551617",
    ] {
        assert_eq!(
            outcome(&json, &feodo_item("\"162.243.103.246\"", port)),
            dead("invalid_value"),
            "port {port}"
        );
    }
    // In the value itself.
    for value in [
        "162.243.103.246:65536",
        "162.243.103.246:-1",
        "162.243.103.246:99999999999",
    ] {
        assert_eq!(
            canonicalize("ipv4", value).unwrap_err().kind,
            ErrorKind::InvalidValue,
            "{value}"
        );
    }
    // In a URL: WHATWG refuses a port over 65535.
    assert_eq!(
        outcome(&spec("openphish"), b"http://a.example:65536/"),
        dead("invalid_value")
    );
    assert_eq!(
        outcome(
            &spec("openphish"),
            b"http://a.example:99999999999999999999/"
        ),
        dead("invalid_value")
    );
}

#[test]
fn byte_order_marks() {
    // A BOM glued to a line is not whitespace: the value is not a URL.
    let lines = spec("openphish");
    assert_eq!(
        outcome(&lines, "\u{feff}http://a.example/".as_bytes()),
        dead("invalid_value")
    );
    // A UTF-16 BOM is not UTF-8 at all.
    assert_eq!(outcome(&lines, b"\xff\xfeh\0t\0"), dead("unparseable"));
    // serde_json refuses a BOM before a JSON value.
    let json = spec("feodotracker");
    let mut item = "\u{feff}".as_bytes().to_vec();
    item.extend(feodo_item("\"162.243.103.246\"", "443"));
    assert_eq!(outcome(&json, &item), dead("unparseable"));
}

#[test]
fn crlf_line_ends_are_trimmed() {
    let lines = spec("openphish");
    assert_eq!(
        outcome(&lines, b"http://a.example/path\r\n"),
        url("http://a.example/path")
    );
    assert_eq!(
        outcome(&lines, b"http://a.example/\r"),
        url("http://a.example/")
    );
    // A CR inside the value is dropped by the WHATWG parser (tabs and newlines are stripped).
    assert_eq!(
        outcome(&lines, b"http://a.exa\r\nmple/"),
        url("http://a.example/")
    );

    let csv = spec("urlhaus");
    let mut row = urlhaus_row("\"http://a.example/\"");
    row.extend_from_slice(b"\r\n");
    assert_eq!(outcome(&csv, &row), url("http://a.example/"));
}

#[test]
fn lone_surrogates_in_json_escapes_are_unparseable() {
    let json = spec("feodotracker");
    for escaped in [r#""\ud800""#, r#""1.2.3.4\udc00""#, r#""\ud800\u0041""#] {
        assert_eq!(
            outcome(&json, &feodo_item(escaped, "443")),
            dead("unparseable"),
            "{escaped}"
        );
    }
    // A proper pair decodes (and is then not an address).
    assert_eq!(
        outcome(&json, &feodo_item(r#""\ud83d\ude00""#, "443")),
        dead("invalid_value")
    );
}

#[test]
fn wrong_shapes_are_precise_dead_letters() {
    let json = spec("feodotracker");
    assert_eq!(outcome(&json, b""), dead("unparseable"));
    assert_eq!(outcome(&json, b"{}"), dead("missing_field"));
    assert_eq!(outcome(&json, b"[1,2]"), dead("missing_field"));
    assert_eq!(outcome(&json, b"\"1.2.3.4\""), dead("missing_field"));
    assert_eq!(
        outcome(&json, br#"{"ip_address": {"a": 1}}"#),
        dead("invalid_value")
    );
    assert_eq!(
        outcome(&json, br#"{"ip_address": 1e999}"#),
        dead("unparseable")
    );

    let csv = spec("urlhaus");
    assert_eq!(outcome(&csv, b"\"unterminated"), dead("unparseable"));
    assert_eq!(outcome(&csv, b"a,b"), dead("unparseable"));
    assert_eq!(outcome(&csv, &b",".repeat(100_000)), dead("unparseable"));

    // A record whose framing is not its spec's.
    let mut record = raw(&json, b"{}");
    record.framing = "csv_row".into();
    let origin = Origin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    };
    let err = normalize(&json, &record, &origin, NOW_MS).unwrap_err();
    assert_eq!(err.kind, ErrorKind::SchemaMismatch);
}

#[test]
fn garbage_avro_is_an_error_not_a_panic() {
    let c = codec();
    assert!(c.decode::<RawRecord>(b"").is_err());
    assert!(c.decode::<RawRecord>(&[0xC3, 0x01]).is_err());
    // A known fingerprint followed by a length prefix claiming 2^62 bytes.
    let good = c
        .encode(&raw(&spec("openphish"), b"http://a.example/"))
        .unwrap();
    let mut huge = good[..10].to_vec();
    huge.extend_from_slice(&[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
    assert!(c.decode::<RawRecord>(&huge).is_err());
    // A truncated datum.
    assert!(c.decode::<RawRecord>(&good[..good.len() - 3]).is_err());
    // The right fingerprint family but the wrong record type.
    assert!(c.decode::<Indicator>(&good).is_err());
}

/// Fuzz target `codec_decode`, out of memory: an array whose length prefix announces 2^27
/// items made apache-avro reserve 7.5 GB for them before reading any (an abort, not a panic,
/// so the stage's catch_unwind could not save it). The codec now caps lengths at 16 Mi.
#[test]
fn fuzz_crash_codec_decode_huge_array_reservation() {
    const DATUM: &[u8] = &[
        18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255,
        255, 255, 255, 0, 191, 0, 191, 191, 33, 191, 191, 191, 191, 227, 191, 191, 18, 0, 0, 0,
        191, 191, 0, 0, 37, 0, 0, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80,
        80, 80, 80, 80, 80, 80, 80, 80, 64, 80, 80, 80, 0, 229, 0, 0, 59, 0, 18, 111, 45,
    ];
    let lines = spec("openphish");
    let Ok(Normalized::Indicator(indicator)) = run(&lines, b"http://a.example/") else {
        panic!("not an indicator");
    };
    let mut tried = 0;
    for version in 1..=8 {
        let Ok(good) = codec().encode_version(&indicator, version) else {
            continue;
        };
        let bytes = [&good[..10], DATUM].concat();
        assert!(codec().decode::<Indicator>(&bytes).is_err(), "v{version}");
        tried += 1;
    }
    assert!(tried >= 1);
}

/// Fuzz target `canon_url`, not idempotent: the URL parser dropped the CR and LFs inside
/// `[At\r\n\n]`, which left a `[At]` marker in the canonical URL, so canonicalizing that URL
/// again (refanging first) turned it into `@`. The canonicalizer now refangs and parses again
/// until the URL no longer changes.
#[test]
fn fuzz_crash_canon_url_marker_completed_by_the_parser() {
    const INPUT: &[u8] = &[
        102, 116, 112, 58, 47, 48, 120, 48, 112, 47, 48, 120, 48, 112, 58, 44, 102, 0, 91, 65, 116,
        0, 91, 65, 116, 112, 48, 93, 91, 65, 116, 13, 10, 10, 93, 91, 65, 207, 13, 58, 116, 120,
        112,
    ];
    let value = String::from_utf8_lossy(INPUT);
    let once = canonicalize("url", &value).unwrap();
    // `[At\r\n\n]` is `[At]` once the parser drops CR and LF, and `[At]` is refanged to `@`.
    assert_eq!(
        once.value,
        "ftp://0x0p/0x0p:,f%00[At%00[Atp0]@[A%EF%BF%BD:txp"
    );
    let twice = canonicalize("url", &once.value).unwrap();
    assert_eq!(twice.value, once.value);
}

/// Fuzz target `canon_url`, not idempotent: a 4 KB URL of mostly invalid UTF-8 became 8,447
/// bytes once every U+FFFD was percent-encoded, over the 8 KiB limit, so canonicalizing the
/// canonical URL again failed with `too_large`. A canonical form over the limit is now refused
/// the first time. (Minimized: each `é` becomes `%C3%A9`.)
#[test]
fn fuzz_crash_canon_url_canonical_form_over_the_limit() {
    use iocflow_normalizer::canonical::MAX_VALUE_BYTES;
    let grows = format!("http://example.com/{}", "é".repeat(MAX_VALUE_BYTES / 4));
    assert!(grows.len() <= MAX_VALUE_BYTES);
    let err = canonicalize("url", &grows).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    // 19 bytes of scheme, host and slash, then 2,048 times `%C3%A9`.
    assert!(
        err.message.starts_with("canonical value is 12307 bytes"),
        "{}",
        err.message
    );
    // Just under the limit once encoded is still an indicator, and a fixed point.
    let fits = format!(
        "http://example.com/{}",
        "é".repeat((MAX_VALUE_BYTES - 19) / 6)
    );
    let once = canonicalize("url", &fits).unwrap();
    assert_eq!(once.value.len(), 19 + 6 * ((MAX_VALUE_BYTES - 19) / 6));
    assert_eq!(canonicalize("url", &once.value).unwrap().value, once.value);
}
