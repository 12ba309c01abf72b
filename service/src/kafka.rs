//! Broker connection settings, topic names, and client builders with iocflow's delivery settings.
//!
//! Producers are idempotent with `acks=all`; consumers never store offsets on their own
//! (`enable.auto.offset.store=false`): a stage stores an offset only after the record's output
//! is acknowledged, and the background auto-commit then commits what was stored. Any librdkafka
//! property (TLS, SASL, timeouts) can be passed through `kafka.properties`; passthrough values
//! win over iocflow's defaults and are never logged.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;

use crate::secret::Secret;

/// Broker connection settings (`[kafka]` in every binary's config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list. Required.
    pub bootstrap_servers: String,
    /// librdkafka properties passed through as they are (e.g. `security.protocol`,
    /// `sasl.mechanism`, `sasl.username`, `sasl.password`, `ssl.ca.location`). Values are
    /// treated as secrets and never logged.
    #[serde(default)]
    pub properties: BTreeMap<String, Secret>,
    /// librdkafka properties whose values come from environment variables, property name →
    /// variable name (e.g. `"sasl.password" = "IOCFLOW_SECRET_KAFKA_PASSWORD"`), so passwords
    /// can come from a Kubernetes Secret. A variable that is not set stops start-up.
    #[serde(default)]
    pub secret_properties: BTreeMap<String, String>,
    /// Topic names.
    #[serde(default)]
    pub topics: TopicNames,
}

/// Names of iocflow's topics (`[kafka.topics]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TopicNames {
    /// Raw records from the fetcher. Default `iocflow.raw`.
    pub raw: String,
    /// Normalized indicators. Default `iocflow.indicators`.
    pub indicators: String,
    /// Dead letters of the normalizer. Default `iocflow.dlq.normalize`.
    pub dlq_normalize: String,
    /// Dead letters of the submitter. Default `iocflow.dlq.submit`.
    pub dlq_submit: String,
    /// Compacted fetch state, keyed by source. Default `iocflow.fetch-state`.
    pub fetch_state: String,
}

impl Default for TopicNames {
    fn default() -> Self {
        TopicNames {
            raw: "iocflow.raw".into(),
            indicators: "iocflow.indicators".into(),
            dlq_normalize: "iocflow.dlq.normalize".into(),
            dlq_submit: "iocflow.dlq.submit".into(),
            fetch_state: "iocflow.fetch-state".into(),
        }
    }
}

/// Headers iocflow puts on dead letters and raw records, so tools can filter without decoding.
pub mod headers {
    /// Stage that dead-lettered the record.
    pub const STAGE: &str = "iocflow.stage";
    /// Integration name.
    pub const SOURCE: &str = "iocflow.source";
    /// Stable error kind.
    pub const ERROR_KIND: &str = "iocflow.error.kind";
    /// Error message.
    pub const ERROR_MESSAGE: &str = "iocflow.error.message";
    /// Topic of the original record.
    pub const ORIGINAL_TOPIC: &str = "iocflow.original.topic";
    /// Partition of the original record.
    pub const ORIGINAL_PARTITION: &str = "iocflow.original.partition";
    /// Offset of the original record.
    pub const ORIGINAL_OFFSET: &str = "iocflow.original.offset";
}

impl KafkaConfig {
    /// A client config with the bootstrap servers and the passthrough properties.
    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", client_id)
            .set_log_level(RDKafkaLogLevel::Warning);
        c
    }

    fn apply_passthrough(&self, c: &mut ClientConfig) -> Result<(), KafkaError> {
        for (k, v) in &self.properties {
            c.set(k, v.expose());
        }
        // librdkafka's `debug` contexts log at debug level; without this the Warning level set
        // in `client_config` would swallow exactly what the operator asked for. They reach the
        // log output when `IOCFLOW_LOG` lets `librdkafka=debug` through.
        if self.properties.contains_key("debug") {
            c.set_log_level(RDKafkaLogLevel::Debug);
        }
        for (k, var) in &self.secret_properties {
            let value = std::env::var(var).map_err(|_| {
                KafkaError::ClientCreation(format!(
                    "kafka.secret_properties.{k}: environment variable {var} is not set"
                ))
            })?;
            c.set(k, value);
        }
        Ok(())
    }

    /// An idempotent producer (`acks=all`), with passthrough properties applied last.
    ///
    /// # Errors
    /// [`KafkaError`] when librdkafka rejects a property.
    pub fn producer(&self, client_id: &str) -> Result<FutureProducer, KafkaError> {
        let mut c = self.client_config(client_id);
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "120000");
        self.apply_passthrough(&mut c)?;
        c.create()
    }

    /// A consumer in `group_id` that starts from the earliest offset and only commits offsets
    /// the stage stored itself. Passthrough properties are applied last.
    ///
    /// # Errors
    /// [`KafkaError`] when librdkafka rejects a property.
    pub fn consumer(&self, group_id: &str, client_id: &str) -> Result<StreamConsumer, KafkaError> {
        let mut c = self.client_config(client_id);
        c.set("group.id", group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // librdkafka's own defaults (45 s session, 3 s heartbeats), spelled out: a shorter
            // session made members of a busy broker time out and rebalance in a loop.
            .set("session.timeout.ms", "45000")
            .set("heartbeat.interval.ms", "3000")
            .set("enable.partition.eof", "false");
        self.apply_passthrough(&mut c)?;
        c.create()
    }
}

/// Stores "next offset to read" for every partition in `next_offsets` (offset of the last
/// acknowledged record plus one). Call only after every record up to those offsets has its
/// output acknowledged.
///
/// # Errors
/// [`KafkaError`] from librdkafka (for example after the partition was revoked).
pub fn store_offsets<C: Consumer>(
    consumer: &C,
    next_offsets: &BTreeMap<(String, i32), i64>,
) -> Result<(), KafkaError> {
    if next_offsets.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), next) in next_offsets {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
    }
    consumer.store_offsets(&tpl)
}

/// Commits the stored offsets synchronously (used at the end of a drain).
///
/// # Errors
/// [`KafkaError`] from librdkafka; "no offset" is not an error.
pub fn commit_stored<C: Consumer>(consumer: &C) -> Result<(), KafkaError> {
    match consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
        Ok(()) => Ok(()),
        Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Default timeout for metadata and watermark queries.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
