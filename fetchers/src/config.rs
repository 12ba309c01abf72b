//! The fetcher's configuration (`iocflow-fetcher --config`): `[kafka]`, `[ops]`, `[fetcher]`
//! and per-integration overrides `[integrations.<name>]`, as fixed in `docs/CONTRACTS.md`.
//!
//! Loaded with `iocflow_service::config::load_from_env` (TOML plus `IOCFLOW_` overrides), then
//! checked once by [`FetcherConfig::validate`]; every error names its key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use iocflow_service::kafka::KafkaConfig;
use iocflow_service::ops::OpsConfig;
use serde::Deserialize;

use crate::error::FetchError;

/// The whole fetcher configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetcherConfig {
    /// Broker connection and topic names.
    pub kafka: KafkaConfig,
    /// Metrics and health endpoint.
    #[serde(default)]
    pub ops: OpsConfig,
    /// Fetcher settings.
    pub fetcher: FetcherSettings,
    /// Per-integration overrides, keyed by integration name.
    #[serde(default)]
    pub integrations: BTreeMap<String, IntegrationOverride>,
}

/// `[fetcher]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetcherSettings {
    /// Directory holding one folder per integration with its `spec.toml`. Required.
    pub integrations_dir: PathBuf,
    /// Fetch runs in flight at once, over all integrations. Default 4, at least 1.
    #[serde(default = "default_max_concurrent_fetches")]
    pub max_concurrent_fetches: usize,
    /// On SIGTERM, how long in-flight runs and the producer get to finish, in milliseconds.
    /// Default 30000.
    #[serde(default = "default_timeout_ms")]
    pub drain_timeout_ms: u64,
    /// How long reading the fetch-state topic at start-up may take, in milliseconds.
    /// Default 30000.
    #[serde(default = "default_timeout_ms")]
    pub state_load_timeout_ms: u64,
}

/// `[integrations.<name>]`: what an operator may change without editing the spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationOverride {
    /// Replaces `scheme://host[:port]` of the spec URL (and of absolute next links on the
    /// spec's host), e.g. `http://127.0.0.1:8080/urlhaus` for the replay server.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Runs the integration (true) or not (false); default: the spec's `enabled`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Seconds between run starts; default: the spec's `schedule_secs`. At least 1.
    #[serde(default)]
    pub schedule_secs: Option<u64>,
}

impl FetcherSettings {
    /// `drain_timeout_ms` as a duration.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.drain_timeout_ms)
    }

    /// `state_load_timeout_ms` as a duration.
    pub fn state_load_timeout(&self) -> Duration {
        Duration::from_millis(self.state_load_timeout_ms)
    }
}

impl FetcherConfig {
    /// Checks values serde cannot: limits and URLs. Integration names are checked against the
    /// catalog when it is loaded ([`crate::catalog::Catalog::load`]).
    ///
    /// # Errors
    /// [`FetchError::Config`] naming the first bad key.
    pub fn validate(&self) -> Result<(), FetchError> {
        let bad = |key: String, message: &str| FetchError::Config {
            key,
            message: message.to_string(),
        };
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return Err(bad("kafka.bootstrap_servers".into(), "must not be empty"));
        }
        if self.fetcher.max_concurrent_fetches == 0 {
            return Err(bad(
                "fetcher.max_concurrent_fetches".into(),
                "must be at least 1",
            ));
        }
        for (name, o) in &self.integrations {
            if o.schedule_secs == Some(0) {
                return Err(bad(
                    format!("integrations.{name}.schedule_secs"),
                    "must be at least 1",
                ));
            }
            if let Some(base) = &o.base_url {
                let ok = url::Url::parse(base)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
                if !ok {
                    return Err(bad(
                        format!("integrations.{name}.base_url"),
                        "must be an absolute http(s) URL",
                    ));
                }
            }
        }
        Ok(())
    }
}

const fn default_max_concurrent_fetches() -> usize {
    4
}
const fn default_timeout_ms() -> u64 {
    30_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FetcherConfig, String> {
        let dir = std::env::temp_dir().join(format!("iocflow-fetcher-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{}.toml", text.len()));
        std::fs::write(&file, text).unwrap();
        let cfg: FetcherConfig =
            iocflow_service::config::load(Some(&file), Vec::new()).map_err(|e| e.to_string())?;
        cfg.validate().map_err(|e| e.to_string())?;
        Ok(cfg)
    }

    const BASE: &str =
        "[kafka]\nbootstrap_servers = \"127.0.0.1:9092\"\n[fetcher]\nintegrations_dir = \"x\"\n";

    #[test]
    fn defaults_follow_the_contract() {
        let cfg = parse(BASE).unwrap();
        assert_eq!(cfg.fetcher.max_concurrent_fetches, 4);
        assert_eq!(cfg.fetcher.drain_timeout_ms, 30_000);
        assert_eq!(cfg.fetcher.state_load_timeout_ms, 30_000);
    }

    #[test]
    fn bad_keys_are_named() {
        let err = parse(&format!("{BASE}max_fetches = 3\n")).unwrap_err();
        assert!(err.contains("max_fetches"), "{err}");
        let err = parse(&format!(
            "{BASE}[integrations.urlhaus]\nbase_url = \"nope\"\n"
        ))
        .unwrap_err();
        assert!(err.contains("integrations.urlhaus.base_url"), "{err}");
        let err = parse(&format!("{BASE}[integrations.urlhaus]\nschedul_secs = 1\n")).unwrap_err();
        assert!(err.contains("schedul_secs"), "{err}");
        let err = parse(&BASE.replace(
            "integrations_dir = \"x\"\n",
            "max_concurrent_fetches = 0\nintegrations_dir = \"x\"\n",
        ))
        .unwrap_err();
        assert!(err.contains("fetcher.max_concurrent_fetches"), "{err}");
    }
}
