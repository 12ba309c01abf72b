//! The submitter's configuration: the `[kafka]`, `[ops]`, `[submitter]`, `[submitter.http]` and
//! `[submitter.file]` sections of its TOML file (see `docs/CONTRACTS.md`), and their validation
//! into [`Settings`], the typed value the rest of the crate runs on.
//!
//! Loading (file plus `IOCFLOW_` overrides) is `iocflow_service::config::load_from_env`; this
//! module only declares the shape and checks what serde cannot: at least one sink, a usable URL,
//! non-zero sizes, and the bearer token's environment variable.

use std::path::PathBuf;
use std::time::Duration;

use iocflow_service::kafka::KafkaConfig;
use iocflow_service::ops::OpsConfig;
use iocflow_service::secret::Secret;
use serde::Deserialize;
use url::Url;

/// The whole config file of `iocflow-submitter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Broker connection and topic names.
    pub kafka: KafkaConfig,
    /// Metrics and health endpoint.
    #[serde(default)]
    pub ops: OpsConfig,
    /// The submitter's own settings.
    #[serde(default)]
    pub submitter: SubmitterConfig,
}

/// `[submitter]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubmitterConfig {
    /// Consumer group on the indicators topic. Default `iocflow-submitter`.
    pub group_id: String,
    /// Most records per delivered batch. Default 500, at least 1.
    pub batch_size: usize,
    /// Longest wait, in milliseconds, for a batch to fill once its first record arrived.
    /// Default 1000.
    pub batch_timeout_ms: u64,
    /// After SIGTERM, how long (ms) the in-flight batch may still take before it is abandoned
    /// without storing its offsets. Default 30000.
    pub drain_timeout_ms: u64,
    /// The platform's HTTP JSON API. Optional, but at least one sink is required.
    pub http: Option<HttpConfig>,
    /// The local JSON-lines file sink. Optional, but at least one sink is required.
    pub file: Option<FileConfig>,
}

const fn default_batch_size() -> usize {
    500
}

const fn default_batch_timeout_ms() -> u64 {
    1_000
}

const fn default_drain_timeout_ms() -> u64 {
    30_000
}

const fn default_http_timeout_ms() -> u64 {
    30_000
}

impl Default for SubmitterConfig {
    fn default() -> Self {
        SubmitterConfig {
            group_id: "iocflow-submitter".into(),
            batch_size: default_batch_size(),
            batch_timeout_ms: default_batch_timeout_ms(),
            drain_timeout_ms: default_drain_timeout_ms(),
            http: None,
            file: None,
        }
    }
}

/// `[submitter.http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Endpoint that receives `POST {"indicators": [...]}`. Required, `http` or `https`.
    pub url: String,
    /// Name of the environment variable holding the bearer token. Optional; when set, the
    /// variable must exist at start-up.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Timeout of one request, in milliseconds. Default 30000.
    #[serde(default = "default_http_timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts per request on transient failures; 0 (the default) retries until shutdown.
    #[serde(default)]
    pub max_attempts: u32,
}

/// `[submitter.file]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Directory of `indicators-<hostname>-<pid>.jsonl`; created when missing. Required.
    pub dir: PathBuf,
}

/// A configuration value that passed deserialization but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("config key `{key}`: {message}")]
pub struct InvalidConfig {
    /// Dotted path of the key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn invalid(key: &str, message: impl Into<String>) -> InvalidConfig {
    InvalidConfig {
        key: key.into(),
        message: message.into(),
    }
}

/// The validated configuration the submitter runs on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Broker connection and topic names.
    pub kafka: KafkaConfig,
    /// Metrics and health endpoint.
    pub ops: OpsConfig,
    /// Consumer group.
    pub group_id: String,
    /// Most records per batch.
    pub batch_size: usize,
    /// Longest wait for a batch to fill.
    pub batch_timeout: Duration,
    /// Bound of the drain after SIGTERM.
    pub drain_timeout: Duration,
    /// The HTTP sink, when configured.
    pub http: Option<HttpSettings>,
    /// Directory of the file sink, when configured.
    pub file_dir: Option<PathBuf>,
    /// How long a batch may be in delivery before the assigned partitions are paused so the
    /// consumer can keep polling. Not a config key; 5 s.
    pub pause_after: Duration,
}

/// Validated `[submitter.http]`.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Endpoint URL.
    pub url: Url,
    /// Bearer token, read from the variable named by `token_env`.
    pub token: Option<Secret>,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Attempts per request; 0 = until shutdown.
    pub max_attempts: u32,
    /// First retry delay (before jitter). Not a config key; 200 ms.
    pub min_backoff: Duration,
    /// Longest retry delay. Not a config key; 30 s.
    pub max_backoff: Duration,
}

impl Config {
    /// Checks the values and reads the bearer token from the environment.
    ///
    /// # Errors
    /// [`InvalidConfig`] naming the first bad key.
    pub fn validate(self) -> Result<Settings, InvalidConfig> {
        self.validate_with(|name| std::env::var(name).ok())
    }

    /// As [`Config::validate`], with `env` looking up environment variables.
    ///
    /// # Errors
    /// [`InvalidConfig`] naming the first bad key.
    pub fn validate_with(
        self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, InvalidConfig> {
        let s = self.submitter;

        if s.http.is_none() && s.file.is_none() {
            return Err(invalid(
                "submitter",
                "no sink configured: set `submitter.http` and/or `submitter.file`",
            ));
        }
        if s.group_id.trim().is_empty() {
            return Err(invalid("submitter.group_id", "must not be empty"));
        }
        if s.batch_size == 0 {
            return Err(invalid("submitter.batch_size", "must be at least 1"));
        }
        if s.batch_timeout_ms == 0 {
            return Err(invalid("submitter.batch_timeout_ms", "must be at least 1"));
        }

        let http = s.http.map(validate_http).transpose()?;
        let http = match http {
            Some((mut h, token_env)) => {
                if let Some(name) = token_env {
                    let value = env(&name).filter(|v| !v.is_empty()).ok_or_else(|| {
                        invalid(
                            "submitter.http.token_env",
                            format!("environment variable {name} is not set or empty"),
                        )
                    })?;
                    h.token = Some(Secret::new(value));
                }
                Some(h)
            }
            None => None,
        };

        let file_dir = match s.file {
            Some(f) if f.dir.as_os_str().is_empty() => {
                return Err(invalid("submitter.file.dir", "must not be empty"))
            }
            Some(f) => Some(f.dir),
            None => None,
        };

        Ok(Settings {
            kafka: self.kafka,
            ops: self.ops,
            group_id: s.group_id,
            batch_size: s.batch_size,
            batch_timeout: Duration::from_millis(s.batch_timeout_ms),
            drain_timeout: Duration::from_millis(s.drain_timeout_ms),
            http,
            file_dir,
            pause_after: Duration::from_secs(5),
        })
    }
}

fn validate_http(h: HttpConfig) -> Result<(HttpSettings, Option<String>), InvalidConfig> {
    let url =
        Url::parse(&h.url).map_err(|e| invalid("submitter.http.url", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "submitter.http.url",
            "scheme must be http or https",
        ));
    }
    if h.timeout_ms == 0 {
        return Err(invalid("submitter.http.timeout_ms", "must be at least 1"));
    }
    if h.token_env.as_deref().is_some_and(str::is_empty) {
        return Err(invalid("submitter.http.token_env", "must not be empty"));
    }
    Ok((
        HttpSettings {
            url,
            token: None,
            timeout: Duration::from_millis(h.timeout_ms),
            max_attempts: h.max_attempts,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        },
        h.token_env,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        iocflow_service::config::load(Some(&path), Vec::new()).map_err(|e| e.to_string())
    }

    const KAFKA: &str = "[kafka]\nbootstrap_servers = \"127.0.0.1:9092\"\n";

    #[test]
    fn defaults_follow_the_contract() {
        let cfg = load(&format!("{KAFKA}[submitter.file]\ndir = \"/tmp/x\"\n")).unwrap();
        let s = cfg.validate_with(|_| None).unwrap();
        assert_eq!(s.group_id, "iocflow-submitter");
        assert_eq!(s.batch_size, 500);
        assert_eq!(s.batch_timeout, Duration::from_millis(1000));
        assert_eq!(s.drain_timeout, Duration::from_millis(30000));
        assert!(s.http.is_none());
        assert_eq!(s.file_dir, Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn http_defaults_and_token_from_env() {
        let cfg = load(&format!(
            "{KAFKA}[submitter.http]\nurl = \"http://127.0.0.1:1/api\"\ntoken_env = \"TOK\"\n"
        ))
        .unwrap();
        let s = cfg
            .validate_with(|n| (n == "TOK").then(|| "s3cret".to_string()))
            .unwrap();
        let http = s.http.unwrap();
        assert_eq!(http.timeout, Duration::from_millis(30000));
        assert_eq!(http.max_attempts, 0);
        assert_eq!(http.token.as_ref().map(Secret::expose), Some("s3cret"));
        assert!(!format!("{http:?}").contains("s3cret"));
    }

    #[test]
    fn no_sink_is_an_error_naming_both_sinks() {
        let err = load(KAFKA).unwrap().validate_with(|_| None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("submitter.http"), "{text}");
        assert!(text.contains("submitter.file"), "{text}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load(&format!(
            "{KAFKA}[submitter.http]\nurl = \"http://x/\"\ntimeout = 5\n"
        ))
        .unwrap_err();
        assert!(err.contains("submitter.http.timeout"), "{err}");
    }

    #[test]
    fn missing_token_variable_names_the_key() {
        let err = load(&format!(
            "{KAFKA}[submitter.http]\nurl = \"http://x/\"\ntoken_env = \"NOPE\"\n"
        ))
        .unwrap()
        .validate_with(|_| None)
        .unwrap_err();
        assert_eq!(err.key, "submitter.http.token_env");
        assert!(err.message.contains("NOPE"));
    }

    #[test]
    fn bad_values_are_named() {
        let cases = [
            (
                "[submitter]\nbatch_size = 0\n[submitter.file]\ndir = \"d\"\n",
                "submitter.batch_size",
            ),
            (
                "[submitter.http]\nurl = \"not a url\"\n",
                "submitter.http.url",
            ),
            (
                "[submitter.http]\nurl = \"ftp://x/\"\n",
                "submitter.http.url",
            ),
            (
                "[submitter.http]\nurl = \"http://x/\"\ntimeout_ms = 0\n",
                "submitter.http.timeout_ms",
            ),
            ("[submitter.file]\ndir = \"\"\n", "submitter.file.dir"),
        ];
        for (text, key) in cases {
            let err = load(&format!("{KAFKA}{text}"))
                .unwrap()
                .validate_with(|_| None)
                .unwrap_err();
            assert_eq!(err.key, key, "{text}");
        }
    }
}
