//! Regression corpus of hostile response bodies for the framing: each case frames one nasty body
//! with a bundled integration's spec and asserts the precise items (records passed on untouched,
//! counted skips) or the framing error — never a panic — and that streaming the body in small
//! chunks gives the same result as framing it whole.
//!
//! The cases cover what the fuzz targets in `fetchers/fuzz` look for (invalid UTF-8, huge
//! items, deep nesting, NUL bytes, BOMs, CRLF, lone surrogates) plus every input a fuzz target
//! ever crashed on (`fuzz_crash_*` tests).

// Helpers panic on a broken fixture: that is a failed test, as in a #[test] body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use iocflow_fetchers::framing::{frame_bytes, FramedItem, Framer, FramingError};
use iocflow_schemas::spec::IntegrationSpec;

fn spec(name: &str) -> IntegrationSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("integrations")
        .join(name)
        .join("spec.toml");
    IntegrationSpec::load(&path).unwrap()
}

fn record(payload: &[u8]) -> FramedItem {
    FramedItem::Record {
        payload: payload.to_vec(),
        key: None,
    }
}

/// A CSV record of urlhaus, whose spec keys records by their `id` column.
fn keyed(payload: &[u8], key: &str) -> FramedItem {
    FramedItem::Record {
        payload: payload.to_vec(),
        key: Some(key.to_owned()),
    }
}

fn skip(reason: &'static str) -> FramedItem {
    FramedItem::Skipped { reason }
}

/// Frames `body` whole, checks that streaming it in chunks of `chunk` bytes agrees, and returns
/// the whole result.
fn frame(
    spec: &IntegrationSpec,
    body: &[u8],
    chunk: usize,
) -> Result<Vec<FramedItem>, FramingError> {
    let whole = frame_bytes(spec, body);
    let mut framer = Framer::new(spec);
    let mut out = Vec::new();
    let streamed = body
        .chunks(chunk)
        .try_for_each(|c| framer.push(c, &mut out))
        .and_then(|()| framer.finish(&mut out))
        .map(|_| out);
    assert_eq!(whole, streamed, "whole and streamed framing differ");
    whole
}

#[test]
fn invalid_utf8_passes_through_untouched() {
    let lines = spec("openphish");
    let body = b"http://a.example/\xff\xfe\nhttp://b.example/\xe2\x82";
    assert_eq!(
        frame(&lines, body, 3).unwrap(),
        vec![
            record(b"http://a.example/\xff\xfe"),
            record(b"http://b.example/\xe2\x82"),
        ]
    );

    let csv = spec("urlhaus");
    assert_eq!(
        frame(&csv, b"\"1\",\"\xc3\x28\"\n", 1).unwrap(),
        vec![keyed(b"\"1\",\"\xc3\x28\"", "1")]
    );

    let json = spec("feodotracker");
    assert_eq!(
        frame(&json, b"[{\"ip_address\": \"\xff\"}]", 2).unwrap(),
        vec![record(b"{\"ip_address\": \"\xff\"}")]
    );
}

#[test]
fn ten_megabyte_items_are_counted_too_large_skips() {
    let field = vec![b'a'; 10 * 1024 * 1024];

    let mut body = field.clone();
    body.extend_from_slice(b"\nhttp://next.example/\n");
    assert_eq!(
        frame(&spec("openphish"), &body, 64 * 1024).unwrap(),
        vec![skip("too_large"), record(b"http://next.example/")]
    );

    // A quoted CSV field of 10 MB with newlines inside: one record, too large.
    let mut body = b"\"1\",\"".to_vec();
    body.extend(
        field
            .iter()
            .enumerate()
            .map(|(i, &b)| if i % 1000 == 0 { b'\n' } else { b }),
    );
    body.extend_from_slice(b"\"\n\"2\",\"x\"\n");
    assert_eq!(
        frame(&spec("urlhaus"), &body, 64 * 1024).unwrap(),
        vec![skip("too_large"), keyed(b"\"2\",\"x\"", "2")]
    );

    let mut body = b"[{\"ip_address\": \"".to_vec();
    body.extend_from_slice(&field);
    body.extend_from_slice(b"\"}, {\"ip_address\": \"198.51.100.7\"}]");
    assert_eq!(
        frame(&spec("feodotracker"), &body, 64 * 1024).unwrap(),
        vec![
            skip("too_large"),
            record(b"{\"ip_address\": \"198.51.100.7\"}")
        ]
    );
}

#[test]
fn body_over_its_limit_fails_the_run() {
    let mut lines = spec("openphish");
    lines.response.max_body_bytes = 1024;
    assert_eq!(
        frame(&lines, &[b'a'; 1025], 100).unwrap_err(),
        FramingError::BodyTooLarge { limit: 1024 }
    );
}

#[test]
fn deeply_nested_json_is_framed_without_recursion() {
    let json = spec("feodotracker");

    // Never closed: the body ends inside the first item.
    let opened = vec![b'['; 100_000];
    assert!(matches!(
        frame(&json, &opened, 4096).unwrap_err(),
        FramingError::Truncated { .. }
    ));

    // Balanced: one item of nested arrays, passed on for the normalizer to refuse.
    let item = [vec![b'['; 100_000], vec![b']'; 100_000]].concat();
    let body = [&b"["[..], &item, b"]"].concat();
    assert_eq!(frame(&json, &body, 4096).unwrap(), vec![record(&item)]);

    // Deep objects around the items pointer's path are not items.
    let body = [
        br#"{"a":"#.repeat(100_000),
        b"1".to_vec(),
        b"}".repeat(100_000),
    ]
    .concat();
    assert_eq!(
        frame(&json, &body, 4096).unwrap_err(),
        FramingError::ItemsNotFound {
            pointer: String::new()
        }
    );

    // Closed with the wrong bracket.
    let body = [vec![b'['; 1000], vec![b'}'; 1000]].concat();
    assert!(matches!(
        frame(&json, &body, 7).unwrap_err(),
        FramingError::MalformedJson { .. }
    ));
}

#[test]
fn nul_bytes() {
    // In a line: passed on (the normalizer refuses it).
    assert_eq!(
        frame(&spec("openphish"), b"http://a\0.example/\n\0\n", 1).unwrap(),
        vec![record(b"http://a\0.example/"), record(b"\0")]
    );
    // In a JSON string: copied as is; between JSON tokens: malformed.
    let json = spec("feodotracker");
    assert_eq!(
        frame(&json, b"[\"a\0b\"]", 1).unwrap(),
        vec![record(b"\"a\0b\"")]
    );
    assert!(matches!(
        frame(&json, b"[1,\0 2]", 1).unwrap_err(),
        FramingError::MalformedJson { .. }
    ));
}

#[test]
fn byte_order_marks() {
    const BOM: &[u8] = b"\xef\xbb\xbf";

    // A BOM hides the comment prefix of the first line: the line is a record (which the
    // normalizer then dead-letters), not a comment.
    let body = [BOM, b"# OpenPhish\nhttp://a.example/\n"].concat();
    assert_eq!(
        frame(&spec("openphish"), &body, 1).unwrap(),
        vec![
            record(&[BOM, b"# OpenPhish"].concat()),
            record(b"http://a.example/")
        ]
    );

    // Before a JSON array it is not JSON.
    let body = [BOM, b"[1]"].concat();
    assert!(matches!(
        frame(&spec("feodotracker"), &body, 1).unwrap_err(),
        FramingError::MalformedJson { offset: 0, .. }
    ));
}

#[test]
fn crlf_line_ends() {
    let lines = spec("openphish");
    assert_eq!(
        frame(
            &lines,
            b"# c\r\nhttp://a.example/\r\n\r\nhttp://b.example/\r",
            1
        )
        .unwrap(),
        vec![
            skip("comment"),
            record(b"http://a.example/"),
            skip("blank"),
            record(b"http://b.example/"),
        ]
    );
    // A lone CR is not a line end.
    assert_eq!(
        frame(&lines, b"http://a.example/\rhttp://b.example/\n", 5).unwrap(),
        vec![record(b"http://a.example/\rhttp://b.example/")]
    );

    // A CRLF inside a quoted CSV field stays in the record.
    let csv = spec("urlhaus");
    assert_eq!(
        frame(&csv, b"\"1\",\"a\r\nb\"\r\n", 1).unwrap(),
        vec![keyed(b"\"1\",\"a\r\nb\"", "1")]
    );
    // An unterminated quote is a truncated body.
    assert_eq!(
        frame(&csv, b"\"1\",\"a\r\n", 1).unwrap_err(),
        FramingError::Truncated { offset: 8 }
    );
}

#[test]
fn lone_surrogates_in_json_escapes_are_copied_untouched() {
    let json = spec("feodotracker");
    let body = br#"[{"ip_address": "\ud800"}, "\udc00\"]", {"x": "\\"}]"#;
    assert_eq!(
        frame(&json, body, 1).unwrap(),
        vec![
            record(br#"{"ip_address": "\ud800"}"#),
            record(br#""\udc00\"]""#),
            record(br#"{"x": "\\"}"#),
        ]
    );
}

#[test]
fn broken_json_structure() {
    let json = spec("feodotracker");
    // An empty body: the source hung up before sending anything.
    assert_eq!(
        frame(&json, b"", 1).unwrap_err(),
        FramingError::Truncated { offset: 0 }
    );
    assert!(matches!(
        frame(&json, b"[1, 2", 1).unwrap_err(),
        FramingError::Truncated { .. }
    ));
    assert!(matches!(
        frame(&json, b"[1 2]", 1).unwrap_err(),
        FramingError::MalformedJson { .. }
    ));
    assert!(matches!(
        frame(&json, b"[\"abc", 1).unwrap_err(),
        FramingError::Truncated { .. }
    ));
}
