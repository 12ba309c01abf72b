//! The conformance test: every integration, declarative or coded, must turn its recordings into
//! exactly the outcomes listed in its `expected.jsonl`.
//!
//! For each recorded 200 response with a body (in `responses.toml` order, skipping entries that
//! truncate their body, since those never deliver one), the body is cut with the fetcher's own
//! framing ([`iocflow_fetchers::framing::frame_bytes`]); each record becomes a [`RawRecord`]
//! run through the normalizer's [`iocflow_normalizer::normalize`]. The outcomes are compared
//! item by item with `expected.jsonl`: skip reasons, dead-letter kinds, and the indicator fields
//! the expected line lists. `iocflow integrations test` prints the first mismatches; a unit test
//! below runs it over the whole bundled catalog so CI covers every integration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use iocflow_fetchers::framing::{frame_bytes, FramedItem};
use iocflow_normalizer::{normalize, Normalized, Origin};
use iocflow_schemas::spec::IntegrationSpec;
use iocflow_schemas::RawRecord;
use serde_json::{Map, Value};

use crate::integrations::expected::{self, Expected, EXPECTED_FILE};
use crate::integrations::integration_dirs;
use crate::integrations::recordings::{body_path, Recordings};

/// Fetch time given to every raw record: 2024-05-01T12:00:00Z, so results never depend on the
/// clock.
pub const FETCHED_AT_MS: i64 = 1_714_564_800_000;

/// Fetch id given to every raw record.
pub const FETCH_ID: &str = "00000000-0000-4000-8000-000000000000";

/// Topic name in the [`Origin`] of every raw record.
pub const ORIGIN_TOPIC: &str = "conformance";

/// How many mismatches a report prints per integration.
const SHOWN_MISMATCHES: usize = 5;

/// Why the conformance test could not run for an integration (as opposed to a mismatch).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConformanceError {
    /// The spec or the recordings do not load (the message names the file).
    #[error(transparent)]
    Spec(#[from] iocflow_schemas::spec::SpecError),
    /// `expected.jsonl` is missing or bad.
    #[error(transparent)]
    Expected(#[from] expected::ExpectedError),
    /// A body file cannot be read.
    #[error("cannot read {path}: {error}")]
    Body {
        /// The body file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The framing rejects a whole recorded body.
    #[error("{path}: framing failed: {message}")]
    Framing {
        /// The body file.
        path: PathBuf,
        /// The framing error.
        message: String,
    },
}

/// The outcome of one framed item, as the pipeline would produce it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Fetcher-side skip.
    Skip(String),
    /// Normalizer skip.
    SkipNormalize(String),
    /// Normalizer dead letter, by error kind, with the message.
    DeadLetter {
        /// Stable error kind.
        kind: String,
        /// The normalizer's message.
        message: String,
    },
    /// An indicator, as JSON.
    Indicator(Map<String, Value>),
}

/// One item whose outcome differs from the expected one.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Position of the item among all framed items (0-based).
    pub item: usize,
    /// The body file the item came from (`-` when the item is missing from the recordings).
    pub body_file: String,
    /// The expected line, or `(nothing)`.
    pub expected: String,
    /// What happened, or `(nothing)`.
    pub actual: String,
}

/// The conformance result of one integration.
#[derive(Debug, Clone, Default)]
pub struct ConformanceReport {
    /// Integration name.
    pub name: String,
    /// Items framed from the recordings.
    pub items: usize,
    /// Items that differ from `expected.jsonl`, in order.
    pub mismatches: Vec<Mismatch>,
}

impl ConformanceReport {
    /// True when every item matched.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Frames and normalizes the recordings of one integration directory: the outcome of each
/// item, with the body file it came from.
///
/// # Errors
/// [`ConformanceError`] when the spec, the recordings or a body cannot be used.
pub fn outcomes(dir: &Path) -> Result<(IntegrationSpec, Vec<(String, Outcome)>), ConformanceError> {
    let spec = IntegrationSpec::load(&dir.join("spec.toml"))?;
    let recordings = Recordings::load(dir)?;
    let mut out = Vec::new();

    for r in &recordings.responses {
        let Some(file) = &r.body_file else { continue };
        if r.status != 200 || r.truncate_body_at.is_some() {
            continue;
        }
        let path = body_path(dir, file);
        let body = std::fs::read(&path).map_err(|error| ConformanceError::Body {
            path: path.clone(),
            error,
        })?;
        let items = frame_bytes(&spec, &body).map_err(|e| ConformanceError::Framing {
            path: path.clone(),
            message: e.to_string(),
        })?;
        for item in items {
            let sequence = out.len() as i64;
            let outcome = match item {
                FramedItem::Skipped { reason } => Outcome::Skip(reason.to_string()),
                FramedItem::Record { payload, .. } => normalize_one(&spec, payload, sequence),
            };
            out.push((file.clone(), outcome));
        }
    }
    Ok((spec, out))
}

fn normalize_one(spec: &IntegrationSpec, payload: Vec<u8>, sequence: i64) -> Outcome {
    let raw = RawRecord {
        source: spec.name.clone(),
        fetch_id: FETCH_ID.to_string(),
        fetched_at_ms: FETCHED_AT_MS,
        sequence,
        framing: spec.framing.record_framing().to_string(),
        payload,
        request_url: spec.request.url.clone(),
    };
    let origin = Origin {
        topic: ORIGIN_TOPIC.to_string(),
        partition: 0,
        offset: sequence,
    };
    match normalize(spec, &raw, &origin, FETCHED_AT_MS) {
        Ok(Normalized::Indicator(indicator)) => match serde_json::to_value(&indicator) {
            Ok(Value::Object(fields)) => Outcome::Indicator(fields),
            Ok(other) => Outcome::DeadLetter {
                kind: "(not an object)".into(),
                message: other.to_string(),
            },
            Err(e) => Outcome::DeadLetter {
                kind: "(not serializable)".into(),
                message: e.to_string(),
            },
        },
        Ok(Normalized::Skipped { reason }) => Outcome::SkipNormalize(reason),
        Err(e) => Outcome::DeadLetter {
            kind: e.kind.as_str().to_string(),
            message: e.message,
        },
    }
}

/// Whether an outcome satisfies an expected line (indicators: only the listed fields count).
pub fn matches(expected: &Expected, actual: &Outcome) -> bool {
    match (expected, actual) {
        (Expected::Skip(e), Outcome::Skip(a)) => e == a,
        (Expected::SkipNormalize(e), Outcome::SkipNormalize(a)) => e == a,
        (Expected::DeadLetter(e), Outcome::DeadLetter { kind, .. }) => e == kind,
        (Expected::Indicator(e), Outcome::Indicator(a)) => {
            e.iter().all(|(k, v)| a.get(k).is_some_and(|av| av == v))
        }
        _ => false,
    }
}

/// How an outcome is shown next to its expected line: for an indicator, the expected fields
/// first (with their actual values), then whatever else it has that the line did not list.
pub fn describe(actual: &Outcome, expected: Option<&Expected>) -> String {
    match actual {
        Outcome::Skip(r) => Expected::Skip(r.clone()).to_line(),
        Outcome::SkipNormalize(r) => Expected::SkipNormalize(r.clone()).to_line(),
        Outcome::DeadLetter { kind, message } => {
            format!(
                "{} ({message})",
                Expected::DeadLetter(kind.clone()).to_line()
            )
        }
        Outcome::Indicator(fields) => {
            let shown: Map<String, Value> = match expected {
                Some(Expected::Indicator(e)) => e
                    .keys()
                    .map(|k| (k.clone(), fields.get(k).cloned().unwrap_or(Value::Null)))
                    .collect(),
                _ => ["type", "value", "port"]
                    .iter()
                    .filter_map(|k| fields.get(*k).map(|v| (k.to_string(), v.clone())))
                    .collect(),
            };
            Expected::Indicator(shown).to_line()
        }
    }
}

/// Runs the conformance test of one integration directory.
///
/// # Errors
/// [`ConformanceError`] when it cannot run at all; differences are in the report.
pub fn check(dir: &Path) -> Result<ConformanceReport, ConformanceError> {
    let (spec, actual) = outcomes(dir)?;
    let expected = expected::load(&dir.join(EXPECTED_FILE))?;
    let nothing = "(nothing)".to_string();

    let mut mismatches = Vec::new();
    for i in 0..actual.len().max(expected.len()) {
        let e = expected.get(i);
        let a = actual.get(i);
        let ok = match (e, a) {
            (Some(e), Some((_, a))) => matches(e, a),
            _ => false,
        };
        if !ok {
            mismatches.push(Mismatch {
                item: i,
                body_file: a.map(|(f, _)| f.clone()).unwrap_or_else(|| "-".into()),
                expected: e.map(Expected::to_line).unwrap_or_else(|| nothing.clone()),
                actual: a
                    .map(|(_, a)| describe(a, e))
                    .unwrap_or_else(|| nothing.clone()),
            });
        }
    }
    Ok(ConformanceReport {
        name: spec.name,
        items: actual.len(),
        mismatches,
    })
}

/// Runs the conformance test over a catalog (or the named integrations of it).
///
/// # Errors
/// The catalog cannot be read or a named integration does not exist; per-integration failures
/// are in the results.
pub fn check_catalog(
    dir: &Path,
    names: &[String],
) -> anyhow::Result<Vec<(PathBuf, Result<ConformanceReport, ConformanceError>)>> {
    Ok(integration_dirs(dir, names)?
        .into_iter()
        .map(|d| {
            let r = check(&d);
            (d, r)
        })
        .collect())
}

/// A human-readable report of catalog results; the bool is true when everything passed.
pub fn render(
    results: &[(PathBuf, Result<ConformanceReport, ConformanceError>)],
) -> (String, bool) {
    let mut out = String::new();
    let mut all_ok = true;
    for (dir, result) in results {
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        match result {
            Ok(r) if r.passed() => {
                out.push_str(&format!("ok    {} ({} items)\n", r.name, r.items));
            }
            Ok(r) => {
                all_ok = false;
                out.push_str(&format!(
                    "FAIL  {} ({} items, {} mismatched)\n",
                    r.name,
                    r.items,
                    r.mismatches.len()
                ));
                for m in r.mismatches.iter().take(SHOWN_MISMATCHES) {
                    out.push_str(&format!(
                        "      item {} ({}):\n        expected: {}\n        actual:   {}\n",
                        m.item, m.body_file, m.expected, m.actual
                    ));
                }
                if r.mismatches.len() > SHOWN_MISMATCHES {
                    out.push_str(&format!(
                        "      ... and {} more\n",
                        r.mismatches.len() - SHOWN_MISMATCHES
                    ));
                }
            }
            Err(e) => {
                all_ok = false;
                out.push_str(&format!("FAIL  {dir_name}\n      {e}\n"));
            }
        }
    }
    (out, all_ok)
}

/// Runs `iocflow integrations test`.
///
/// # Errors
/// The catalog cannot be read or a named integration does not exist.
pub fn run(dir: &Path, names: &[String]) -> anyhow::Result<ExitCode> {
    let results = check_catalog(dir, names)?;
    let (text, ok) = render(&results);
    print!("{text}");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled_catalog() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fetchers/integrations")
    }

    /// The conformance test of every bundled integration: CI fails when any of them drifts from
    /// its expected.jsonl.
    #[test]
    fn every_bundled_integration_conforms() {
        let results = check_catalog(&bundled_catalog(), &[]).unwrap();
        assert!(!results.is_empty(), "no integrations found");
        let (text, ok) = render(&results);
        assert!(ok, "conformance failures:\n{text}");
    }

    #[test]
    fn indicator_lines_compare_only_listed_fields() {
        let mut actual = Map::new();
        actual.insert("type".into(), "url".into());
        actual.insert("value".into(), "http://a/".into());
        actual.insert("port".into(), Value::Null);
        let actual = Outcome::Indicator(actual);

        let mut e = Map::new();
        e.insert("value".into(), "http://a/".into());
        assert!(matches(&Expected::Indicator(e.clone()), &actual));
        e.insert("port".into(), 80.into());
        assert!(!matches(&Expected::Indicator(e.clone()), &actual));
        assert_eq!(
            describe(&actual, Some(&Expected::Indicator(e))),
            r#"{"indicator":{"port":null,"value":"http://a/"}}"#
        );
        assert!(!matches(&Expected::Skip("comment".into()), &actual));
        assert!(matches(
            &Expected::DeadLetter("invalid_value".into()),
            &Outcome::DeadLetter {
                kind: "invalid_value".into(),
                message: "x".into()
            }
        ));
    }
}
