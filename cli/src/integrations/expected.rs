//! `expected.jsonl`: the expected outcome of every item the framing yields from an
//! integration's recorded 200 bodies, skipped items included, in order (`docs/CONTRACTS.md`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// File name, in the integration directory.
pub const EXPECTED_FILE: &str = "expected.jsonl";

/// The expected outcome of one framed item.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Fetcher-side counted skip (`comment`, `blank`, `header`, `too_large`).
    Skip(String),
    /// Normalizer counted skip (`mapping.skip_when`).
    SkipNormalize(String),
    /// The normalizer rejects it with this error kind.
    DeadLetter(String),
    /// The normalizer emits an indicator; only these fields are compared.
    Indicator(Map<String, Value>),
}

/// A line of `expected.jsonl` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct ExpectedError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number (0 when the file cannot be read).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads an `expected.jsonl`; blank lines are ignored.
///
/// # Errors
/// [`ExpectedError`] naming the line and key of the first bad line.
pub fn load(path: &Path) -> Result<Vec<Expected>, ExpectedError> {
    let text = std::fs::read_to_string(path).map_err(|e| ExpectedError {
        path: path.to_path_buf(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, path)
}

/// Parses `expected.jsonl` text; `path` is only used in messages.
///
/// # Errors
/// As [`load`].
pub fn parse(text: &str, path: &Path) -> Result<Vec<Expected>, ExpectedError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| ExpectedError {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let value: Value = serde_json::from_str(line).map_err(|e| err(format!("not JSON: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(err("expected a JSON object".into()));
        };
        if obj.len() != 1 {
            return Err(err(
                "expected exactly one key: skip, skip_normalize, dead_letter or indicator".into(),
            ));
        }
        let Some((key, value)) = obj.into_iter().next() else {
            return Err(err("empty object".into()));
        };
        let string = |v: Value| match v {
            Value::String(s) => Ok(s),
            _ => Err(err(format!("key `{key}`: expected a string"))),
        };
        let item = match key.as_str() {
            "skip" => Expected::Skip(string(value)?),
            "skip_normalize" => Expected::SkipNormalize(string(value)?),
            "dead_letter" => Expected::DeadLetter(string(value)?),
            "indicator" => match value {
                Value::Object(fields) => Expected::Indicator(fields),
                _ => return Err(err("key `indicator`: expected an object of fields".into())),
            },
            other => return Err(err(format!("unknown key `{other}`"))),
        };
        out.push(item);
    }
    Ok(out)
}

impl Expected {
    /// The line as it would be written in `expected.jsonl`.
    pub fn to_line(&self) -> String {
        let v = match self {
            Expected::Skip(r) => serde_json::json!({ "skip": r }),
            Expected::SkipNormalize(r) => serde_json::json!({ "skip_normalize": r }),
            Expected::DeadLetter(k) => serde_json::json!({ "dead_letter": k }),
            Expected::Indicator(f) => serde_json::json!({ "indicator": f }),
        };
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_line_parses() {
        let text = r#"{"skip": "comment"}

{"skip_normalize": "offline"}
{"dead_letter": "invalid_value"}
{"indicator": {"type": "url", "value": "http://a/"}}
"#;
        let items = parse(text, Path::new("e")).unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0], Expected::Skip("comment".into()));
        assert_eq!(items[2], Expected::DeadLetter("invalid_value".into()));
        assert!(matches!(&items[3], Expected::Indicator(f) if f["type"] == "url"));
        assert_eq!(items[1].to_line(), r#"{"skip_normalize":"offline"}"#);
    }

    #[test]
    fn bad_lines_are_named() {
        let err = parse("{\"skip\": \"x\"}\n{\"skipp\": \"x\"}\n", Path::new("e")).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("skipp"), "{err}");
        let err = parse("nope\n", Path::new("e")).unwrap_err();
        assert!(err.to_string().contains("e:1"), "{err}");
    }
}
