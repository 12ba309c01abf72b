//! Framing: cutting a response body into items, one raw record each.
//!
//! The fetcher feeds a [`Framer`] the body chunk by chunk as it arrives and hands every
//! completed item on at once, so memory stays bounded by the largest item, not the body.
//! [`frame_bytes`] runs the same framer over a whole body (the contract the conformance tests and
//! the `iocflow` CLI use). The format-specific scanners live in [`csv`], [`lines`] and [`json`].
//!
//! A framer also enforces `response.max_body_bytes`, turns items longer than `max_item_bytes`
//! into counted `too_large` skips, fills in each record's key from `key_field`, and (for JSON)
//! captures the pagination and status values of the same body.

pub(crate) mod csv;
pub(crate) mod json;
pub(crate) mod lines;

use iocflow_schemas::spec::{FramingSpec, IntegrationSpec, PaginationSpec};

use self::csv::CsvFramer;
use self::json::JsonFramer;
use self::lines::LineSplitter;

/// One item cut from a response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramedItem {
    /// An item to write to the raw topic.
    Record {
        /// The item's bytes, untouched (no line terminator).
        payload: Vec<u8>,
        /// The value of the spec's `key_field`, when it has one and the item holds it.
        key: Option<String>,
    },
    /// An item the fetcher counts and skips (`comment`, `blank`, `header`, `too_large`).
    Skipped {
        /// Why it was skipped.
        reason: &'static str,
    },
}

/// Why a body could not be framed. Every variant fails the fetch run; none is retried within
/// the run, because the same bytes would fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The JSON structure around the items is broken.
    #[error("malformed JSON at byte {offset}: {message}")]
    MalformedJson {
        /// Byte offset in the body.
        offset: u64,
        /// What was wrong.
        message: String,
    },
    /// The body ended inside a value or a quoted field.
    #[error("body ended early at byte {offset} (truncated response)")]
    Truncated {
        /// Bytes read.
        offset: u64,
    },
    /// The JSON body has no array at `items_pointer`.
    #[error("no JSON array at items_pointer `{pointer}`")]
    ItemsNotFound {
        /// The spec's `items_pointer`.
        pointer: String,
    },
    /// The body's `status_pointer` value is neither in `status_ok` nor `status_empty`.
    #[error("source answered with status `{status}`")]
    Status {
        /// The value found (at most 100 characters), or `<missing>`.
        status: String,
    },
    /// The body is larger than `response.max_body_bytes`.
    #[error("body is larger than response.max_body_bytes ({limit} bytes)")]
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
}

/// What a finished body says beyond its items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyOutcome {
    /// The pagination value captured from a JSON body (next link or cursor token).
    pub page_token: Option<String>,
    /// The body's status was one of `status_empty`: a successful run with nothing new.
    pub empty: bool,
}

#[derive(Debug)]
enum Scanner {
    Csv(CsvFramer),
    Lines(LineSplitter),
    Json(JsonFramer),
}

/// A streaming framer for one response body of one integration.
#[derive(Debug)]
pub struct Framer {
    scanner: Scanner,
    framing: FramingSpec,
    key_field: Option<String>,
    max_body_bytes: u64,
    body_bytes: u64,
    status_pointer: Option<String>,
    status_ok: Vec<String>,
    status_empty: Vec<String>,
    page_pointer: Option<String>,
}

impl Framer {
    /// A framer for one body of `spec`'s integration.
    pub fn new(spec: &IntegrationSpec) -> Framer {
        let page_pointer = match &spec.pagination {
            PaginationSpec::NextLink { pointer } | PaginationSpec::Cursor { pointer, .. } => {
                Some(pointer.clone())
            }
            PaginationSpec::None | PaginationSpec::PageNumber { .. } => None,
        };
        let scanner = match &spec.framing {
            FramingSpec::Csv {
                comment_prefix,
                has_header,
                max_item_bytes,
                ..
            } => Scanner::Csv(CsvFramer::new(
                comment_prefix.as_deref(),
                *has_header,
                *max_item_bytes,
            )),
            FramingSpec::Lines {
                comment_prefix,
                max_item_bytes,
            } => Scanner::Lines(LineSplitter::new(
                comment_prefix.as_deref(),
                *max_item_bytes,
                false,
                false,
            )),
            FramingSpec::Json {
                items_pointer,
                max_item_bytes,
            } => {
                let captures: Vec<String> = spec
                    .response
                    .status_pointer
                    .iter()
                    .chain(page_pointer.iter())
                    .cloned()
                    .collect();
                Scanner::Json(JsonFramer::new(items_pointer, *max_item_bytes, &captures))
            }
        };
        Framer {
            scanner,
            framing: spec.framing.clone(),
            key_field: spec.key_field.clone(),
            max_body_bytes: spec.response.max_body_bytes,
            body_bytes: 0,
            status_pointer: spec.response.status_pointer.clone(),
            status_ok: spec.response.status_ok.clone(),
            status_empty: spec.response.status_empty.clone(),
            page_pointer,
        }
    }

    /// Feeds the next chunk of the body, appending every item it completes to `out`.
    ///
    /// # Errors
    /// [`FramingError::BodyTooLarge`] past `max_body_bytes`; [`FramingError::MalformedJson`]
    /// for a broken JSON structure.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<FramedItem>) -> Result<(), FramingError> {
        self.body_bytes += chunk.len() as u64;
        if self.body_bytes > self.max_body_bytes {
            return Err(FramingError::BodyTooLarge {
                limit: self.max_body_bytes,
            });
        }
        let start = out.len();
        match &mut self.scanner {
            Scanner::Csv(f) => f.push(chunk, out),
            Scanner::Lines(f) => f.push(chunk, out),
            Scanner::Json(f) => f.push(chunk, out)?,
        }
        self.fill_keys(&mut out[start..]);
        Ok(())
    }

    /// Ends the body: emits a last unterminated line and checks the JSON status.
    ///
    /// # Errors
    /// [`FramingError::Truncated`] when the body ended inside a value or quoted field,
    /// [`FramingError::Status`] for an error status, [`FramingError::ItemsNotFound`] when a JSON
    /// body of a successful status has no items array.
    pub fn finish(&mut self, out: &mut Vec<FramedItem>) -> Result<BodyOutcome, FramingError> {
        let start = out.len();
        let mut outcome = BodyOutcome::default();
        match &mut self.scanner {
            Scanner::Csv(f) => {
                if !f.finish(out) {
                    return Err(FramingError::Truncated {
                        offset: self.body_bytes,
                    });
                }
            }
            Scanner::Lines(f) => {
                f.finish(out);
            }
            Scanner::Json(f) => {
                let items_found = f.finish(out)?;
                if let Some(pointer) = &self.status_pointer {
                    let status = f.captured(pointer).and_then(json::value_text);
                    match status {
                        Some(s) if self.status_ok.contains(&s) => {}
                        Some(s) if self.status_empty.contains(&s) => outcome.empty = true,
                        Some(s) => {
                            return Err(FramingError::Status {
                                status: s.chars().take(100).collect(),
                            })
                        }
                        None => {
                            return Err(FramingError::Status {
                                status: "<missing>".into(),
                            })
                        }
                    }
                }
                if !items_found && !outcome.empty {
                    let pointer = match &self.framing {
                        FramingSpec::Json { items_pointer, .. } => items_pointer.clone(),
                        _ => String::new(),
                    };
                    return Err(FramingError::ItemsNotFound { pointer });
                }
                outcome.page_token = self
                    .page_pointer
                    .as_deref()
                    .and_then(|p| f.captured(p))
                    .and_then(json::value_text)
                    .filter(|s| !s.is_empty());
            }
        }
        self.fill_keys(&mut out[start..]);
        Ok(outcome)
    }

    fn fill_keys(&self, items: &mut [FramedItem]) {
        let Some(key_field) = &self.key_field else {
            return;
        };
        for item in items {
            if let FramedItem::Record { payload, key } = item {
                *key = item_field(&self.framing, payload, key_field);
            }
        }
    }
}

/// The value of `field` in one framed item: a CSV column name, a JSON key or pointer, or
/// `line` for a text line. `None` when the item does not hold it.
pub fn item_field(framing: &FramingSpec, payload: &[u8], field: &str) -> Option<String> {
    match framing {
        FramingSpec::Csv {
            columns, delimiter, ..
        } => {
            let index = columns.iter().position(|c| c == field)?;
            csv::field(payload, *delimiter, index)
        }
        FramingSpec::Lines { .. } => {
            (field == "line").then(|| String::from_utf8_lossy(payload).into_owned())
        }
        FramingSpec::Json { .. } => json::field(payload, field),
    }
}

/// Frames a whole body exactly as the fetcher frames a streamed one.
///
/// # Errors
/// As [`Framer::push`] and [`Framer::finish`].
pub fn frame_bytes(spec: &IntegrationSpec, body: &[u8]) -> Result<Vec<FramedItem>, FramingError> {
    let mut framer = Framer::new(spec);
    let mut out = Vec::new();
    framer.push(body, &mut out)?;
    framer.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    /// The spec of a bundled integration.
    pub(crate) fn catalog_spec(name: &str) -> IntegrationSpec {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("integrations")
            .join(name)
            .join("spec.toml");
        IntegrationSpec::load(&path).unwrap()
    }

    /// Skip reasons and record payloads, each in order.
    pub(crate) fn skips_and_payloads(items: &[FramedItem]) -> (Vec<&'static str>, Vec<Vec<u8>>) {
        let mut skips = Vec::new();
        let mut payloads = Vec::new();
        for item in items {
            match item {
                FramedItem::Skipped { reason } => skips.push(*reason),
                FramedItem::Record { payload, .. } => payloads.push(payload.clone()),
            }
        }
        (skips, payloads)
    }

    fn split_twice(spec: &IntegrationSpec, body: &[u8], at: usize) -> Vec<FramedItem> {
        let mut framer = Framer::new(spec);
        let mut out = Vec::new();
        framer.push(&body[..at], &mut out).unwrap();
        framer.push(&body[at..], &mut out).unwrap();
        framer.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn every_chunk_boundary_gives_the_same_items() {
        let csv = (
            "urlhaus",
            &b"# c\n\"1\",\"2024\",\"http://a/\nb\",\"x\"\r\n\n\"2\",\"x\",\"y\"\n"[..],
        );
        let lines = ("openphish", &b"#x\nhttp://a/\r\n\nhttp://b/"[..]);
        let json = (
            "feodotracker",
            &br#" [ {"ip_address": "1.2.3.4", "s": "a\"]}"}, {"p": [1, {"q": 2}]} ] "#[..],
        );
        for (name, body) in [csv, lines, json] {
            let spec = catalog_spec(name);
            let whole = frame_bytes(&spec, body).unwrap();
            assert!(!whole.is_empty());
            for at in 0..=body.len() {
                assert_eq!(split_twice(&spec, body, at), whole, "{name} split at {at}");
            }
            // One byte at a time, too.
            let mut framer = Framer::new(&spec);
            let mut out = Vec::new();
            for b in body.chunks(1) {
                framer.push(b, &mut out).unwrap();
            }
            framer.finish(&mut out).unwrap();
            assert_eq!(out, whole, "{name} byte by byte");
        }
    }

    #[test]
    fn body_limit_is_enforced() {
        let mut spec = catalog_spec("openphish");
        spec.response.max_body_bytes = 10;
        let mut framer = Framer::new(&spec);
        let mut out = Vec::new();
        framer.push(b"0123456789", &mut out).unwrap();
        let err = framer.push(b"a", &mut out).unwrap_err();
        assert_eq!(err, FramingError::BodyTooLarge { limit: 10 });
    }

    fn status_spec() -> IntegrationSpec {
        let text = r#"
name = "threatfox"
title = "t"
key_field = "id"
[request]
url = "https://example.org/api/"
[response]
status_pointer = "/query_status"
status_ok = ["ok"]
status_empty = ["no_result"]
[pagination]
kind = "next_link"
pointer = "/next"
[framing]
kind = "json"
items_pointer = "/data"
[mapping]
type = "url"
value = "url"
"#;
        IntegrationSpec::parse(text, Path::new("t")).unwrap()
    }

    #[test]
    fn status_pointer_decides_the_run() {
        let spec = status_spec();
        let mut framer = Framer::new(&spec);
        let mut out = Vec::new();
        framer
            .push(
                br#"{"query_status": "ok", "data": [{"id": 5}], "next": "/p2"}"#,
                &mut out,
            )
            .unwrap();
        let outcome = framer.finish(&mut out).unwrap();
        assert_eq!(outcome.page_token.as_deref(), Some("/p2"));
        assert!(matches!(&out[0], FramedItem::Record { key: Some(k), .. } if k == "5"));

        let items = frame_bytes(&spec, br#"{"query_status": "no_result"}"#).unwrap();
        assert!(items.is_empty());

        let err = frame_bytes(&spec, br#"{"query_status": "unknown_auth_key"}"#).unwrap_err();
        assert_eq!(
            err,
            FramingError::Status {
                status: "unknown_auth_key".into()
            }
        );
        let err = frame_bytes(&spec, br#"{"data": []}"#).unwrap_err();
        assert!(matches!(err, FramingError::Status { .. }));
    }
}
