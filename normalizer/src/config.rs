//! The normalizer's configuration: `[kafka]`, `[ops]` and `[normalizer]`, read by
//! `iocflow_service::config` (TOML file plus `IOCFLOW_` environment overrides) and validated
//! once at start-up into [`Settings`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use iocflow_service::kafka::KafkaConfig;
use iocflow_service::ops::OpsConfig;
use serde::Deserialize;

use crate::error::StageError;

/// The whole config file of `iocflow-normalizer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizerConfig {
    /// Broker connection and topic names.
    pub kafka: KafkaConfig,
    /// Metrics and health endpoint.
    #[serde(default)]
    pub ops: OpsConfig,
    /// The stage's own settings.
    pub normalizer: NormalizerSection,
}

/// `[normalizer]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizerSection {
    /// Directory holding one `<name>/spec.toml` per integration. Required.
    pub integrations_dir: PathBuf,
    /// Consumer group on the raw topic. Default `iocflow-normalizer`.
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Largest number of raw records normalized and delivered as one batch. Default 1000,
    /// limit 1..=100000.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Longest wait, in milliseconds, for a batch to fill once its first record arrived.
    /// Default 100, limit 1..=60000.
    #[serde(default = "default_batch_timeout_ms")]
    pub batch_timeout_ms: u64,
    /// Most batches whose outputs are being delivered at once, so the broker's acknowledgement
    /// time overlaps the next batches. Offsets are still stored strictly in batch order.
    /// Default 4, limit 1..=64 (1 delivers one batch at a time).
    #[serde(default = "default_max_batches_in_flight")]
    pub max_batches_in_flight: usize,
    /// Longest time, in milliseconds, that a SIGTERM drain (finish the batch, store and commit
    /// offsets) may take before the process exits anyway. Default 30000, limit 1..=600000.
    #[serde(default = "default_drain_timeout_ms")]
    pub drain_timeout_ms: u64,
}

/// Validated stage settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The integration catalog directory.
    pub integrations_dir: PathBuf,
    /// Consumer group id.
    pub group_id: String,
    /// Records per batch.
    pub batch_size: usize,
    /// Wait for a batch to fill.
    pub batch_timeout: Duration,
    /// Batches delivered at once.
    pub max_batches_in_flight: usize,
    /// Bound of the shutdown drain.
    pub drain_timeout: Duration,
}

impl NormalizerConfig {
    /// Loads the config from `path` (if any) and the `IOCFLOW_` environment.
    ///
    /// # Errors
    /// [`StageError::Config`] naming the file or the key.
    pub fn load(path: Option<&Path>) -> Result<NormalizerConfig, StageError> {
        iocflow_service::config::load_from_env(path).map_err(|e| match e {
            iocflow_service::config::ConfigError::Key { key, message } => {
                StageError::Config { key, message }
            }
            other => StageError::Config {
                key: "(file)".into(),
                message: other.to_string(),
            },
        })
    }

    /// Checks every value once and returns the typed settings.
    ///
    /// # Errors
    /// [`StageError::Config`] naming the first bad key.
    pub fn validate(&self) -> Result<Settings, StageError> {
        let n = &self.normalizer;
        let bad = |key: &str, message: &str| StageError::Config {
            key: key.into(),
            message: message.into(),
        };
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return Err(bad("kafka.bootstrap_servers", "must not be empty"));
        }
        let t = &self.kafka.topics;
        for (key, topic) in [
            ("kafka.topics.raw", &t.raw),
            ("kafka.topics.indicators", &t.indicators),
            ("kafka.topics.dlq_normalize", &t.dlq_normalize),
        ] {
            if topic.trim().is_empty() {
                return Err(bad(key, "must not be empty"));
            }
        }
        if t.raw == t.indicators || t.raw == t.dlq_normalize {
            return Err(bad(
                "kafka.topics.raw",
                "must differ from the output topics",
            ));
        }
        if n.integrations_dir.as_os_str().is_empty() {
            return Err(bad("normalizer.integrations_dir", "must not be empty"));
        }
        if n.group_id.trim().is_empty() {
            return Err(bad("normalizer.group_id", "must not be empty"));
        }
        if !(1..=100_000).contains(&n.batch_size) {
            return Err(bad("normalizer.batch_size", "must be 1..=100000"));
        }
        if !(1..=60_000).contains(&n.batch_timeout_ms) {
            return Err(bad("normalizer.batch_timeout_ms", "must be 1..=60000"));
        }
        if !(1..=64).contains(&n.max_batches_in_flight) {
            return Err(bad("normalizer.max_batches_in_flight", "must be 1..=64"));
        }
        if !(1..=600_000).contains(&n.drain_timeout_ms) {
            return Err(bad("normalizer.drain_timeout_ms", "must be 1..=600000"));
        }
        Ok(Settings {
            integrations_dir: n.integrations_dir.clone(),
            group_id: n.group_id.clone(),
            batch_size: n.batch_size,
            batch_timeout: Duration::from_millis(n.batch_timeout_ms),
            max_batches_in_flight: n.max_batches_in_flight,
            drain_timeout: Duration::from_millis(n.drain_timeout_ms),
        })
    }
}

fn default_group_id() -> String {
    "iocflow-normalizer".into()
}
const fn default_batch_size() -> usize {
    1000
}
const fn default_batch_timeout_ms() -> u64 {
    100
}
const fn default_max_batches_in_flight() -> usize {
    4
}
const fn default_drain_timeout_ms() -> u64 {
    30_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<NormalizerConfig, String> {
        let dir = tempfile_dir();
        let file = dir.join("normalizer.toml");
        std::fs::write(&file, text).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        iocflow_service::config::load(Some(&file), env).map_err(|e| e.to_string())
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "iocflow-normalizer-cfg-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const MINIMAL: &str = r#"
[kafka]
bootstrap_servers = "127.0.0.1:9092"
[normalizer]
integrations_dir = "fetchers/integrations"
"#;

    #[test]
    fn minimal_config_gets_the_contract_defaults() {
        let cfg = parse(MINIMAL, &[]).unwrap();
        let s = cfg.validate().unwrap();
        assert_eq!(s.group_id, "iocflow-normalizer");
        assert_eq!(s.batch_size, 1000);
        assert_eq!(s.batch_timeout, Duration::from_millis(100));
        assert_eq!(s.max_batches_in_flight, 4);
        assert_eq!(s.drain_timeout, Duration::from_millis(30_000));
        assert_eq!(cfg.kafka.topics.raw, "iocflow.raw");
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = format!("{MINIMAL}batch_sise = 5\n");
        let err = parse(&text, &[]).unwrap_err();
        assert!(err.contains("batch_sise"), "{err}");
        let err = parse(MINIMAL, &[("IOCFLOW_NORMALIZER__GROUP", "x")]).unwrap_err();
        assert!(err.contains("group"), "{err}");
    }

    #[test]
    fn missing_required_key_is_named() {
        let err = parse("[kafka]\nbootstrap_servers = \"x\"\n[normalizer]\n", &[]).unwrap_err();
        assert!(err.contains("integrations_dir"), "{err}");
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        for (var, value, key) in [
            (
                "IOCFLOW_NORMALIZER__BATCH_SIZE",
                "0",
                "normalizer.batch_size",
            ),
            (
                "IOCFLOW_NORMALIZER__BATCH_TIMEOUT_MS",
                "0",
                "normalizer.batch_timeout_ms",
            ),
            (
                "IOCFLOW_NORMALIZER__MAX_BATCHES_IN_FLIGHT",
                "0",
                "normalizer.max_batches_in_flight",
            ),
            (
                "IOCFLOW_NORMALIZER__DRAIN_TIMEOUT_MS",
                "9999999",
                "normalizer.drain_timeout_ms",
            ),
            ("IOCFLOW_NORMALIZER__GROUP_ID", " ", "normalizer.group_id"),
            (
                "IOCFLOW_KAFKA__TOPICS__RAW",
                "iocflow.indicators",
                "kafka.topics.raw",
            ),
        ] {
            let err = parse(MINIMAL, &[(var, value)])
                .unwrap()
                .validate()
                .unwrap_err();
            assert!(err.to_string().contains(key), "{var}: {err}");
        }
    }

    #[test]
    fn wrong_type_is_named() {
        let err = parse(MINIMAL, &[("IOCFLOW_NORMALIZER__BATCH_SIZE", "many")]).unwrap_err();
        assert!(err.contains("normalizer.batch_size"), "{err}");
    }
}
