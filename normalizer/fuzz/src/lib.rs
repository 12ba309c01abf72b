//! Shared helpers of the normalizer's fuzz targets (`fuzz_targets/*.rs`): the bundled and
//! synthetic integration specs the mapping targets run, and the idempotence check every
//! canonicalizer target runs.
//!
//! Run a target with `scripts/fuzz.sh TARGET [EXECUTIONS]` from the repository root.

use iocflow_normalizer::canonical::canonicalize;
use iocflow_normalizer::{normalize, normalize_parts, Normalized, Origin};
use iocflow_schemas::spec::IntegrationSpec;
use iocflow_schemas::{codec, Indicator, RawRecord};
use std::path::Path;
use std::sync::OnceLock;

/// A JSON integration that exercises what the bundled feodotracker spec does not: `type_field`
/// with a `type_map`, JSON pointers, list fields, `skip_when`, unix times and a confidence field.
const JSON_RICH: &str = r##"
name = "fuzz_json"
title = "fuzz"
[request]
url = "https://example.org/api"
[framing]
kind = "json"
items_pointer = "/data"
max_item_bytes = 65536
[mapping]
type_field = "/ioc/type"
type_map = { ip = "ip", "ip:port" = "ipv4", domain = "domain", url = "url", email = "email", hash = "hash", md5 = "md5", sha1 = "sha1", sha256 = "sha256", sha512 = "sha512", cve = "cve" }
value = "/ioc/value"
port = "port"
source_ref = "id"
first_seen = { field = "first", format = "unix_secs" }
last_seen = { field = "last", format = "rfc3339" }
confidence_field = "confidence"
tags = { field = "tags", split = "," }
threat_types = { field = "threat" }
malware_families = { field = "malware" }
references = { field = "/refs" }
valid_days = 4000000000
skip_when = [{ field = "status", equals = ["offline", ""] }]
"##;

/// A CSV integration with a semicolon delimiter, a type column and unix-ms times.
const CSV_RICH: &str = r##"
name = "fuzz_csv"
title = "fuzz"
[request]
url = "https://example.org/list.csv"
[framing]
kind = "csv"
delimiter = ";"
columns = ["type", "value", "port", "seen", "confidence", "tags"]
max_item_bytes = 65536
[mapping]
type_field = "type"
type_map = { ip = "ip", domain = "domain", url = "url", email = "email", hash = "hash", cve = "cve" }
value = "value"
port = "port"
first_seen = { field = "seen", format = "unix_ms" }
confidence_field = "confidence"
tags = { field = "tags", split = "|" }
valid_days = 1
"##;

/// A text integration of domains with a chrono time format nobody uses (lines have one field).
const LINES_DOMAIN: &str = r##"
name = "fuzz_lines"
title = "fuzz"
[request]
url = "https://example.org/list.txt"
[framing]
kind = "lines"
comment_prefix = "#"
[mapping]
type = "domain"
value = "line"
skip_when = [{ field = "line", equals = ["localhost"] }]
"##;

fn parse(text: &str) -> IntegrationSpec {
    match IntegrationSpec::parse(text, Path::new("fuzz")) {
        Ok(spec) => spec,
        Err(e) => panic!("fuzz spec does not parse: {e}"),
    }
}

/// The specs of one framing: the bundled integration's first, then a synthetic one.
pub fn specs(framing: &str) -> &'static [IntegrationSpec] {
    static CSV: OnceLock<Vec<IntegrationSpec>> = OnceLock::new();
    static JSON: OnceLock<Vec<IntegrationSpec>> = OnceLock::new();
    static LINES: OnceLock<Vec<IntegrationSpec>> = OnceLock::new();
    match framing {
        "csv_row" => CSV.get_or_init(|| {
            vec![
                parse(include_str!(
                    "../../../fetchers/integrations/urlhaus/spec.toml"
                )),
                parse(CSV_RICH),
            ]
        }),
        "json_value" => JSON.get_or_init(|| {
            vec![
                parse(include_str!(
                    "../../../fetchers/integrations/feodotracker/spec.toml"
                )),
                parse(JSON_RICH),
            ]
        }),
        _ => LINES.get_or_init(|| {
            vec![
                parse(include_str!(
                    "../../../fetchers/integrations/openphish/spec.toml"
                )),
                parse(LINES_DOMAIN),
            ]
        }),
    }
}

/// Normalizes `data` as one raw record of `framing`: the first byte picks the spec, the rest is
/// the payload. Any result is fine; a panic is the crash the fuzzer looks for. An indicator
/// must carry a value that canonicalizes to itself, and the stage's direct encoding of its parts
/// must give the same bytes as encoding the owned indicator.
pub fn map_record(framing: &str, data: &[u8]) {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let specs = specs(framing);
    let spec = &specs[usize::from(pick) % specs.len()];
    let raw = RawRecord {
        source: spec.name.clone(),
        fetch_id: "00000000-0000-4000-8000-000000000000".into(),
        fetched_at_ms: 1_700_000_000_000,
        sequence: 7,
        framing: framing.into(),
        payload: payload.to_vec(),
        request_url: spec.request.url.clone(),
    };
    let origin = Origin {
        topic: "raw".into(),
        partition: 0,
        offset: 7,
    };
    // The stage's own path; `normalize` returns exactly `view().to_indicator()` of these parts.
    let raw = raw.view();
    if let Ok(Some(mapped)) = normalize_parts(spec, &raw, &origin, 1_700_000_000_000) {
        let view = mapped.view();
        let indicator = view.to_indicator();
        check_idempotent(&indicator.kind, &indicator.value);
        // The parts encoded directly give the bytes of the owned indicator.
        let direct = codec().encode_indicator(&view).expect("encodes");
        let owned = codec().encode(&indicator).expect("encodes");
        assert_eq!(direct, owned, "encode_indicator differs from encode");
    };
}

/// Canonicalizes `value` as `type_name`; when that succeeds, canonicalizing the result again
/// (as the type it was given) must succeed with the same value and family.
pub fn check_idempotent(type_name: &str, value: &str) {
    let Ok(once) = canonicalize(type_name, value) else {
        return;
    };
    match canonicalize(once.family.type_name(), &once.value) {
        Ok(twice) => {
            assert_eq!(
                twice.value, once.value,
                "not idempotent: {type_name} {value:?}"
            );
            assert_eq!(twice.family, once.family, "family changed: {value:?}");
        }
        Err(e) => panic!(
            "canonical value {:?} ({}) of {value:?} is rejected: {e:?}",
            once.value,
            once.family.type_name()
        ),
    }
}

/// Runs [`check_idempotent`] with the type picked by the first byte among `types`, on the rest
/// read as (lossy) UTF-8.
pub fn canon(types: &[&str], data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let type_name = types[usize::from(pick) % types.len()];
    check_idempotent(type_name, &String::from_utf8_lossy(rest));
}

/// Single-object headers (marker and fingerprint) of every schema version the codec can write,
/// raw records first; found by encoding a sample of each kind with each version.
fn headers() -> &'static [Vec<u8>] {
    static HEADERS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    HEADERS.get_or_init(|| {
        let spec = &specs("text_line")[0];
        let raw = RawRecord {
            source: spec.name.clone(),
            fetch_id: "f".into(),
            fetched_at_ms: 1,
            sequence: 0,
            framing: "text_line".into(),
            payload: b"http://a.example/".to_vec(),
            request_url: spec.request.url.clone(),
        };
        let origin = Origin {
            topic: "raw".into(),
            partition: 0,
            offset: 0,
        };
        let mut out = Vec::new();
        for version in 1..=8 {
            if let Ok(bytes) = codec().encode_version(&raw, version) {
                out.push(bytes[..10].to_vec());
            }
        }
        if let Ok(Normalized::Indicator(indicator)) = normalize(spec, &raw, &origin, 1) {
            for version in 1..=8 {
                if let Ok(bytes) = codec().encode_version(&indicator, version) {
                    out.push(bytes[..10].to_vec());
                }
            }
        }
        out
    })
}

/// Decodes `data` as a raw record (borrowing and owned) and as an indicator, twice: as given, and as the datum after
/// a valid header of the schema version the first byte picks (so the fuzzer reaches the Avro
/// datum decoder and schema resolution without guessing a 64-bit fingerprint).
pub fn decode(data: &[u8]) {
    let _ = codec().decode_raw_ref(data);
    let _ = codec().decode::<RawRecord>(data);
    let _ = codec().decode::<Indicator>(data);
    let Some((&pick, datum)) = data.split_first() else {
        return;
    };
    let headers = headers();
    if headers.is_empty() {
        return;
    }
    let mut bytes = headers[usize::from(pick) % headers.len()].clone();
    bytes.extend_from_slice(datum);
    let _ = codec().decode_raw_ref(&bytes);
    let _ = codec().decode::<RawRecord>(&bytes);
    let _ = codec().decode::<Indicator>(&bytes);
}
