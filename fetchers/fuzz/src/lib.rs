//! Shared helpers of the fetcher's framing fuzz targets (`fuzz_targets/*.rs`): a few specs per
//! framing, and the check that framing a body whole and streaming it in random chunks agree.
//!
//! Run a target with `scripts/fuzz.sh TARGET [EXECUTIONS]` from the repository root.

use iocflow_fetchers::framing::{frame_bytes, FramedItem, Framer, FramingError};
use iocflow_schemas::spec::{FramingSpec, IntegrationSpec};
use std::path::Path;
use std::sync::OnceLock;

/// A JSON body with the items under a pointer, a status field and a next link, like abuse.ch's
/// API answers.
const JSON_ENVELOPE: &str = r#"
name = "fuzz_json"
title = "fuzz"
key_field = "/id"
[request]
url = "https://example.org/api/"
[response]
status_pointer = "/query_status"
status_ok = ["ok"]
status_empty = ["no_result"]
[pagination]
kind = "next_link"
pointer = "/links/next"
[framing]
kind = "json"
items_pointer = "/data/items"
max_item_bytes = 64
[mapping]
type = "url"
value = "url"
"#;

fn parse(text: &str) -> IntegrationSpec {
    match IntegrationSpec::parse(text, Path::new("fuzz")) {
        Ok(spec) => spec,
        Err(e) => panic!("fuzz spec does not parse: {e}"),
    }
}

/// The bundled spec, and a copy whose `max_item_bytes` is 16 so the `too_large` path runs.
fn with_small_items(spec: IntegrationSpec) -> Vec<IntegrationSpec> {
    let mut small = spec.clone();
    match &mut small.framing {
        FramingSpec::Csv { max_item_bytes, .. }
        | FramingSpec::Lines { max_item_bytes, .. }
        | FramingSpec::Json { max_item_bytes, .. } => *max_item_bytes = 16,
    }
    vec![spec, small]
}

/// The specs of one framing (`csv`, `lines` or `json`).
pub fn specs(framing: &str) -> &'static [IntegrationSpec] {
    static CSV: OnceLock<Vec<IntegrationSpec>> = OnceLock::new();
    static JSON: OnceLock<Vec<IntegrationSpec>> = OnceLock::new();
    static LINES: OnceLock<Vec<IntegrationSpec>> = OnceLock::new();
    match framing {
        "csv" => CSV.get_or_init(|| {
            with_small_items(parse(include_str!("../../integrations/urlhaus/spec.toml")))
        }),
        "json" => JSON.get_or_init(|| {
            let mut specs = with_small_items(parse(include_str!(
                "../../integrations/feodotracker/spec.toml"
            )));
            specs.push(parse(JSON_ENVELOPE));
            specs
        }),
        _ => LINES.get_or_init(|| {
            with_small_items(parse(include_str!(
                "../../integrations/openphish/spec.toml"
            )))
        }),
    }
}

/// Frames `data` (after its first byte, which picks the spec and seeds the chunking) whole with
/// [`frame_bytes`], then streams it through a [`Framer`] in pseudo-random chunks of 1 to 64
/// bytes: both must give the same items or the same error.
pub fn frame(framing: &str, data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let specs = specs(framing);
    let spec = &specs[usize::from(pick) % specs.len()];
    let whole = frame_bytes(spec, body);
    let streamed = stream(spec, body, u32::from(pick) | 1);
    assert_eq!(whole, streamed, "whole and streamed framing differ");
    if let Ok(items) = whole {
        for item in items {
            if let FramedItem::Record { payload, .. } = item {
                assert!(payload.len() <= body.len());
            }
        }
    }
}

fn stream(spec: &IntegrationSpec, body: &[u8], seed: u32) -> Result<Vec<FramedItem>, FramingError> {
    let mut framer = Framer::new(spec);
    let mut out = Vec::new();
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let mut rest = body;
    while !rest.is_empty() {
        // xorshift32: a fixed, cheap sequence of chunk sizes per seed.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = (state % 64 + 1) as usize;
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        framer.push(chunk, &mut out)?;
        rest = tail;
    }
    framer.finish(&mut out)?;
    Ok(out)
}
