//! What an integration catalog promises: each integration's `expected.jsonl` and the secret
//! its recordings expect.
//!
//! `expected.jsonl` has one line per framed item of the recordings, in order (see
//! `docs/CONTRACTS.md`): a fetcher skip, a normalizer skip, a dead letter with its error kind,
//! or an indicator with the fields to compare.

use std::path::{Path, PathBuf};

use iocflow_schemas::spec::{load_catalog, IntegrationSpec};
use serde_json::{Map, Value};

use crate::{HarnessError, Result};

/// The expected outcome of one framed item.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Skipped by the fetcher (not written to Kafka), with the reason.
    Skip(String),
    /// Skipped by the normalizer (counted), with the reason.
    SkipNormalize(String),
    /// Dead-lettered by the normalizer, with the error kind.
    DeadLetter(String),
    /// Normalized into an indicator with these fields (JSON names of `Indicator`).
    Indicator(Map<String, Value>),
}

impl Expected {
    /// Whether the fetcher writes the item to the raw topic.
    pub fn reaches_kafka(&self) -> bool {
        !matches!(self, Expected::Skip(_))
    }
}

/// One integration of a catalog, with what its recordings should yield.
#[derive(Debug, Clone)]
pub struct Integration {
    /// Its directory.
    pub dir: PathBuf,
    /// Its spec.
    pub spec: IntegrationSpec,
    /// `expected.jsonl`, in order.
    pub expected: Vec<Expected>,
    /// The environment variable and value the recordings' auth expects, if any.
    pub secret: Option<(String, String)>,
}

/// Loads every integration under `dir` with its expectations.
///
/// # Errors
/// A spec that does not load, a missing or malformed `expected.jsonl`, or an unreadable
/// `responses.toml`.
pub fn load(dir: &Path) -> Result<Vec<Integration>> {
    let catalog = load_catalog(dir)
        .map_err(|e| HarnessError::Invalid(format!("catalog {}: {e}", dir.display())))?;
    let mut out = Vec::new();
    for (path, spec) in catalog {
        let expected = read_expected(&path.join("expected.jsonl"))?;
        let secret = read_secret(&path.join("recordings/responses.toml"))?
            .and_then(|value| spec.auth.secret_env().map(|env| (env.to_string(), value)));
        out.push(Integration {
            dir: path,
            spec,
            expected,
            secret,
        });
    }
    Ok(out)
}

/// Parses an `expected.jsonl` file.
///
/// # Errors
/// A missing file or a line that is not one of the four shapes.
pub fn read_expected(path: &Path) -> Result<Vec<Expected>> {
    let text = std::fs::read_to_string(path)
        .map_err(HarnessError::io(format!("read {}", path.display())))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: &str| {
            HarnessError::Invalid(format!("{}:{}: {why}: {line}", path.display(), n + 1))
        };
        let value: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
        let object = value.as_object().ok_or_else(|| bad("not an object"))?;
        let text_of = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
        let item = if let Some(reason) = text_of("skip") {
            Expected::Skip(reason)
        } else if let Some(reason) = text_of("skip_normalize") {
            Expected::SkipNormalize(reason)
        } else if let Some(kind) = text_of("dead_letter") {
            Expected::DeadLetter(kind)
        } else if let Some(fields) = object.get("indicator").and_then(Value::as_object) {
            Expected::Indicator(fields.clone())
        } else {
            return Err(bad(
                "expected skip, skip_normalize, dead_letter or indicator",
            ));
        };
        out.push(item);
    }
    Ok(out)
}

fn read_secret(path: &Path) -> Result<Option<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(HarnessError::io(format!("read {}", path.display())))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| HarnessError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(table
        .get("secret")
        .and_then(|v| v.as_str())
        .map(str::to_string))
}

/// The fields of `expected` that differ in `actual`, as `field: expected X, got Y` lines.
pub fn indicator_mismatches(expected: &Map<String, Value>, actual: &Value) -> Vec<String> {
    expected
        .iter()
        .filter_map(|(key, want)| {
            let got = actual.get(key).unwrap_or(&Value::Null);
            (got != want).then(|| format!("{key}: expected {want}, got {got}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_four_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("expected.jsonl");
        std::fs::write(
            &path,
            "{\"skip\":\"comment\"}\n{\"skip_normalize\":\"offline\"}\n\
             {\"dead_letter\":\"invalid_value\"}\n{\"indicator\":{\"value\":\"x\",\"port\":1}}\n",
        )
        .unwrap();
        let got = read_expected(&path).unwrap();
        assert_eq!(got[0], Expected::Skip("comment".into()));
        assert_eq!(got[1], Expected::SkipNormalize("offline".into()));
        assert_eq!(got[2], Expected::DeadLetter("invalid_value".into()));
        let Expected::Indicator(fields) = &got[3] else {
            panic!("not an indicator: {:?}", got[3]);
        };
        assert!(
            indicator_mismatches(fields, &serde_json::json!({"value": "x", "port": 1})).is_empty()
        );
        assert_eq!(
            indicator_mismatches(fields, &serde_json::json!({"value": "y", "port": 1})).len(),
            1
        );
    }

    #[test]
    fn a_line_of_another_shape_is_an_error_with_its_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("expected.jsonl");
        std::fs::write(&path, "{\"skip\":\"blank\"}\n{\"what\":1}\n").unwrap();
        let err = read_expected(&path).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
    }
}
