//! How the admin commands find the broker: the shared `--bootstrap-servers` / `--config` flags,
//! and the librdkafka clients built from them.
//!
//! `--config PATH` reads the `[kafka]` section of any iocflow config file (the fetcher's, the
//! normalizer's, ...; other sections are ignored) with `iocflow_service::config`, so topic
//! names (`[kafka.topics]`) and passthrough properties (TLS, SASL) are the same ones the
//! pipeline uses, and `IOCFLOW_KAFKA__...` environment overrides apply as usual.
//! `--bootstrap-servers` (or `IOCFLOW_KAFKA__BOOTSTRAP_SERVERS`) wins over the file.
//!
//! Admin clients never join a consumer group: group offsets are read and written with a
//! consumer that has the group's `group.id` but only calls `committed_offsets`/`commit`.

use std::path::PathBuf;
use std::process::ExitCode;

use rdkafka::admin::AdminClient;
use rdkafka::client::{Client, DefaultClientContext};
use rdkafka::config::{ClientConfig, FromClientConfig};
use rdkafka::consumer::BaseConsumer;
use rdkafka::metadata::Metadata;
use rdkafka::ClientContext;
use serde::Deserialize;

use iocflow_service::kafka::{KafkaConfig, METADATA_TIMEOUT};

use crate::admin::error::AdminError;

/// `client.id` of every client the CLI creates, so broker logs show who did what.
pub const CLIENT_ID: &str = "iocflow-cli";

/// Broker connection flags shared by the admin commands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BrokerArgs {
    /// Kafka bootstrap servers (`host:port,...`); overrides `kafka.bootstrap_servers` of
    /// `--config`.
    #[arg(long, env = "IOCFLOW_KAFKA__BOOTSTRAP_SERVERS")]
    pub bootstrap_servers: Option<String>,
    /// An iocflow config file whose `[kafka]` section (servers, properties, topic names) the
    /// command uses; other sections are ignored.
    #[arg(long, env = "IOCFLOW_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The part of any iocflow config file the CLI reads. Unknown top-level sections are ignored
/// on purpose (the file belongs to a binary); `[kafka]` itself denies unknown keys.
#[derive(Debug, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    kafka: Option<toml::Table>,
}

impl BrokerArgs {
    /// The broker settings: the config file's `[kafka]` section (with environment overrides),
    /// then `--bootstrap-servers` on top.
    ///
    /// # Errors
    /// [`AdminError::Config`] when the file is invalid (the bad key is named) or no bootstrap
    /// servers are given anywhere.
    pub fn kafka_config(&self) -> Result<KafkaConfig, AdminError> {
        let file: ConfigFile = iocflow_service::config::load_from_env(self.config.as_deref())
            .map_err(|e| AdminError::Config(e.to_string()))?;
        let mut table = file.kafka.unwrap_or_default();
        if let Some(servers) = &self.bootstrap_servers {
            table.insert(
                "bootstrap_servers".into(),
                toml::Value::String(servers.clone()),
            );
        }
        let given = table
            .get("bootstrap_servers")
            .is_some_and(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()));
        if !given {
            return Err(AdminError::Config(
                "no broker given: pass --bootstrap-servers, set IOCFLOW_KAFKA__BOOTSTRAP_SERVERS, \
                 or pass --config with a [kafka] section"
                    .into(),
            ));
        }
        KafkaConfig::deserialize(toml::Value::Table(table))
            .map_err(|e| AdminError::Config(format!("config section [kafka]: {e}")))
    }
}

/// A client config with the servers, iocflow's client id and the passthrough properties
/// (applied last, as the pipeline's own clients do).
pub fn base_config(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = kafka.client_config(CLIENT_ID);
    for (key, value) in &kafka.properties {
        config.set(key, value.expose());
    }
    config
}

/// An admin client.
///
/// # Errors
/// [`AdminError::Kafka`] when librdkafka rejects a property.
pub fn admin_client(kafka: &KafkaConfig) -> Result<AdminClient<DefaultClientContext>, AdminError> {
    base_config(kafka)
        .create()
        .map_err(|e| AdminError::kafka("creating the admin client", e))
}

/// A consumer with `group.id` = `group` that never subscribes and never commits on its own:
/// it only reads and writes the group's committed offsets.
///
/// # Errors
/// [`AdminError::Kafka`] when librdkafka rejects a property.
pub fn group_consumer(kafka: &KafkaConfig, group: &str) -> Result<BaseConsumer, AdminError> {
    let mut config = kafka.client_config(CLIENT_ID);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    for (key, value) in &kafka.properties {
        config.set(key, value.expose());
    }
    config
        .create()
        .map_err(|e| AdminError::kafka(format!("creating a consumer for group {group}"), e))
}

/// A consumer (`BaseConsumer` or `StreamConsumer`) for reading partitions by assignment,
/// outside any real group.
///
/// librdkafka refuses `assign` without a `group.id`, so the reader gets a throwaway one
/// (`iocflow-cli-reader-<pid>-<time>`); it never joins that group and never commits.
///
/// # Errors
/// [`AdminError::Kafka`] when librdkafka rejects a property.
pub fn reader<T: FromClientConfig>(kafka: &KafkaConfig) -> Result<T, AdminError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let group = format!("iocflow-cli-reader-{}-{nanos}", std::process::id());
    let mut config = kafka.client_config(CLIENT_ID);
    config
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest");
    for (key, value) in &kafka.properties {
        config.set(key, value.expose());
    }
    config
        .create()
        .map_err(|e| AdminError::kafka("creating a reader", e))
}

/// Metadata of every topic in the cluster. Asking for all topics (rather than one by name)
/// never makes a broker with `auto.create.topics.enable` create the topic as a side effect.
///
/// # Errors
/// [`AdminError::Kafka`] when the broker does not answer in time.
pub fn cluster_metadata<C: ClientContext>(client: &Client<C>) -> Result<Metadata, AdminError> {
    client
        .fetch_metadata(None, METADATA_TIMEOUT)
        .map_err(|e| AdminError::kafka("fetching cluster metadata", e))
}

/// Partition ids of `topic` in `metadata`, sorted; `None` when the topic does not exist.
pub fn topic_partitions(metadata: &Metadata, topic: &str) -> Option<Vec<i32>> {
    metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map(|t| {
            let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
            ids.sort_unstable();
            ids
        })
}

/// Turns a command's result into the process exit code: configuration and usage errors print
/// their message and exit 2 (like the binaries), other errors go back to `main` (exit 1).
///
/// # Errors
/// Every error that is not a configuration or usage error.
pub fn finish(result: Result<ExitCode, AdminError>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(code) => Ok(code),
        Err(error) if error.exit_code() == 2 => {
            eprintln!("iocflow: {error}");
            Ok(ExitCode::from(2))
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_flag_wins_over_the_file_and_other_sections_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("normalizer.toml");
        std::fs::write(
            &path,
            "[kafka]\nbootstrap_servers = \"file:9092\"\n[kafka.topics]\nraw = \"my.raw\"\n\
             [normalizer]\nintegrations_dir = \"x\"\n",
        )
        .unwrap();
        let args = BrokerArgs {
            bootstrap_servers: Some("flag:9092".into()),
            config: Some(path),
        };
        let kafka = args.kafka_config().unwrap();
        assert_eq!(kafka.bootstrap_servers, "flag:9092");
        assert_eq!(kafka.topics.raw, "my.raw");
    }

    #[test]
    fn unknown_kafka_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[kafka]\nbootstrap_servers = \"a:1\"\nbootstrap = 1\n",
        )
        .unwrap();
        let args = BrokerArgs {
            bootstrap_servers: None,
            config: Some(path),
        };
        let err = args.kafka_config().unwrap_err().to_string();
        assert!(err.contains("bootstrap"), "{err}");
    }
}
