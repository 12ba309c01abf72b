//! The recorded responses of one integration: `recordings/responses.toml`.
//!
//! The replay server answers from these, `iocflow integrations check` verifies that every body
//! file exists, the conformance test frames the recorded 200 bodies, and the demo reads the
//! recorded `secret` to hand it to the fetcher. The format is fixed in `docs/CONTRACTS.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// File name of the recordings index, under `<integration>/recordings/`.
pub const RESPONSES_FILE: &str = "responses.toml";

/// Placeholder in body files replaced by the integration's base URL on the replay server.
pub const BASE_URL_PLACEHOLDER: &str = "{{base_url}}";

/// Why recordings could not be used: the same file errors as a spec's (read, parse, invalid
/// key).
pub type RecordingsError = iocflow_schemas::spec::SpecError;

/// `recordings/responses.toml` of one integration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recordings {
    /// The secret the replay server expects, checked the way the spec's `auth` says.
    #[serde(default)]
    pub secret: Option<String>,
    /// Recorded responses; the first matching entry wins.
    #[serde(default, rename = "response")]
    pub responses: Vec<RecordedResponse>,
}

/// One `[[response]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// HTTP method. Default `GET`.
    #[serde(default = "default_method")]
    pub method: String,
    /// Request path (without the `/<name>` mount point).
    pub path: String,
    /// Query parameters that must be present with these values (others are allowed).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Response status. Default 200.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body file, relative to `recordings/`. No body when absent.
    #[serde(default)]
    pub body_file: Option<String>,
    /// The first this many matching requests get `fail_status`. Default 0.
    #[serde(default)]
    pub fail_first: u32,
    /// Status of injected failures. Default 503.
    #[serde(default = "default_fail_status")]
    pub fail_status: u16,
    /// Sent as `Retry-After` with injected failures.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Send only this many body bytes, then close the connection.
    #[serde(default)]
    pub truncate_body_at: Option<u64>,
    /// Milliseconds to wait before answering. Default 0.
    #[serde(default)]
    pub delay_ms: u64,
}

impl Recordings {
    /// Reads `<integration_dir>/recordings/responses.toml`.
    ///
    /// # Errors
    /// [`RecordingsError`] naming the file and, for a bad value, the key.
    pub fn load(integration_dir: &Path) -> Result<Recordings, RecordingsError> {
        let path = responses_path(integration_dir);
        let text = std::fs::read_to_string(&path).map_err(|error| RecordingsError::Read {
            path: path.clone(),
            error,
        })?;
        Recordings::parse(&text, &path)
    }

    /// Parses and checks `responses.toml` text; `path` is only used in messages.
    ///
    /// # Errors
    /// As [`Recordings::load`], without the read.
    pub fn parse(text: &str, path: &Path) -> Result<Recordings, RecordingsError> {
        let rec: Recordings = toml::from_str(text).map_err(|e| RecordingsError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for (i, r) in rec.responses.iter().enumerate() {
            let invalid = |key: &str, message: &str| RecordingsError::Invalid {
                path: path.to_path_buf(),
                key: format!("response[{i}].{key}"),
                message: message.to_string(),
            };
            if !r.path.starts_with('/') {
                return Err(invalid("path", "must start with /"));
            }
            if axum::http::StatusCode::from_u16(r.status).is_err() {
                return Err(invalid("status", "not an HTTP status"));
            }
            if axum::http::StatusCode::from_u16(r.fail_status).is_err() {
                return Err(invalid("fail_status", "not an HTTP status"));
            }
            if axum::http::Method::from_bytes(r.method.as_bytes()).is_err() {
                return Err(invalid("method", "not an HTTP method"));
            }
            if let Some(file) = &r.body_file {
                let p = Path::new(file);
                if p.is_absolute() || p.components().any(|c| c.as_os_str() == "..") {
                    return Err(invalid(
                        "body_file",
                        "must be a relative path inside recordings/",
                    ));
                }
            }
        }
        Ok(rec)
    }
}

/// `<integration_dir>/recordings/responses.toml`.
pub fn responses_path(integration_dir: &Path) -> PathBuf {
    integration_dir.join("recordings").join(RESPONSES_FILE)
}

/// Where a body file of `integration_dir` lives.
pub fn body_path(integration_dir: &Path, body_file: &str) -> PathBuf {
    integration_dir.join("recordings").join(body_file)
}

fn default_method() -> String {
    "GET".into()
}
const fn default_status() -> u16 {
    200
}
const fn default_fail_status() -> u16 {
    503
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_contract() {
        let r = Recordings::parse("[[response]]\npath = \"/x\"\n", Path::new("r")).unwrap();
        let e = &r.responses[0];
        assert_eq!(e.method, "GET");
        assert_eq!(e.status, 200);
        assert_eq!(e.fail_status, 503);
        assert_eq!(e.fail_first, 0);
        assert!(r.secret.is_none());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = Recordings::parse("[[response]]\npath = \"/x\"\nstatuss = 1\n", Path::new("r"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("statuss"), "{err}");
        let err = Recordings::parse("[[response]]\npath = \"x\"\n", Path::new("r"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("response[0].path"), "{err}");
        let err = Recordings::parse(
            "[[response]]\npath = \"/x\"\nbody_file = \"../../etc/passwd\"\n",
            Path::new("r"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("body_file"), "{err}");
    }
}
