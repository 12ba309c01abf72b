//! Fetch state: where each integration stands (cursor, ETag/Last-Modified, failures), kept in
//! the compacted fetch-state topic keyed by integration name.
//!
//! At start-up [`load_states`] reads the topic from the beginning up to its high watermark with
//! a plain `assign()` consumer (no consumer group, nothing committed) and keeps the newest record
//! per key. After each run [`StateStore::save`] produces the new state and waits for the broker
//! to acknowledge it, so the next process starts where this one stopped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use iocflow_schemas::{codec, FetchState};
use iocflow_service::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::error::FetchError;
use crate::events;

/// The states of all integrations, and the producer that saves them.
pub struct StateStore {
    states: Mutex<HashMap<String, FetchState>>,
    producer: FutureProducer,
    topic: String,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("topic", &self.topic)
            .finish()
    }
}

impl StateStore {
    /// A store starting from `states` (as loaded), saving to `topic`.
    pub fn new(
        states: HashMap<String, FetchState>,
        producer: FutureProducer,
        topic: String,
    ) -> Self {
        StateStore {
            states: Mutex::new(states),
            producer,
            topic,
        }
    }

    /// The state of `source` (a fresh one when it never ran).
    pub fn get(&self, source: &str) -> FetchState {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states.get(source).cloned().unwrap_or_else(|| FetchState {
            source: source.to_string(),
            ..FetchState::default()
        })
    }

    /// Writes `state` to the topic, waits for the acknowledgement, then keeps it.
    ///
    /// # Errors
    /// [`FetchError::Codec`] or [`FetchError::Kafka`]; the kept state is then unchanged.
    pub async fn save(&self, state: FetchState) -> Result<(), FetchError> {
        let bytes = codec().encode(&state).map_err(|e| FetchError::Codec {
            what: "fetch state",
            message: e.to_string(),
        })?;
        let record = FutureRecord::to(&self.topic)
            .key(&state.source)
            .payload(&bytes);
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| FetchError::Kafka {
                operation: "save fetch state",
                topic: self.topic.clone(),
                message: e.to_string(),
            })?;
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states.insert(state.source.clone(), state);
        Ok(())
    }
}

/// Reads the fetch-state topic from the beginning to its high watermark.
///
/// # Errors
/// [`FetchError::Kafka`] when the broker cannot be reached or the topic not read within
/// `timeout`.
pub async fn load_states(
    kafka: &KafkaConfig,
    timeout: Duration,
) -> Result<HashMap<String, FetchState>, FetchError> {
    let kafka = kafka.clone();
    tokio::task::spawn_blocking(move || load_blocking(&kafka, timeout))
        .await
        .map_err(|e| FetchError::Kafka {
            operation: "load fetch state",
            topic: String::new(),
            message: e.to_string(),
        })?
}

fn load_blocking(
    kafka: &KafkaConfig,
    timeout: Duration,
) -> Result<HashMap<String, FetchState>, FetchError> {
    let started = Instant::now();
    let deadline = started + timeout;
    let topic = kafka.topics.fetch_state.clone();
    let err = |message: String| FetchError::Kafka {
        operation: "load fetch state",
        topic: topic.clone(),
        message,
    };

    // librdkafka needs a group.id even for assign(), but an assigned consumer never joins the
    // group, and with auto-commit off it never commits: the name is only a label.
    let mut cfg = kafka.client_config("iocflow-fetcher-state");
    cfg.set("group.id", "iocflow-fetcher-state-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    for (k, v) in &kafka.properties {
        cfg.set(k, v.expose());
    }
    let consumer: BaseConsumer = cfg.create().map_err(|e| err(e.to_string()))?;

    let left = |d: Instant| d.saturating_duration_since(Instant::now());
    let metadata = consumer
        .fetch_metadata(Some(&topic), left(deadline))
        .map_err(|e| err(e.to_string()))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        events::state_topic_missing(&topic);
        return Ok(HashMap::new());
    }

    let mut remaining: HashMap<i32, i64> = HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        let (low, high) = consumer
            .fetch_watermarks(&topic, p, left(deadline))
            .map_err(|e| err(e.to_string()))?;
        if high > low {
            remaining.insert(p, high);
            tpl.add_partition_offset(&topic, p, Offset::Offset(low))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    let mut states: HashMap<String, FetchState> = HashMap::new();
    let mut records = 0u64;
    if !remaining.is_empty() {
        consumer.assign(&tpl).map_err(|e| err(e.to_string()))?;
    }
    while !remaining.is_empty() {
        if Instant::now() >= deadline {
            return Err(err(format!(
                "not read to the high watermark within {} ms",
                timeout.as_millis()
            )));
        }
        let Some(msg) = consumer.poll(left(deadline).min(Duration::from_millis(500))) else {
            continue;
        };
        let msg = msg.map_err(|e| err(e.to_string()))?;
        records += 1;
        let key = msg.key().map(|k| String::from_utf8_lossy(k).into_owned());
        match (key, msg.payload()) {
            (Some(k), None) => {
                states.remove(&k);
            }
            (_, Some(bytes)) => match codec().decode::<FetchState>(bytes) {
                Ok(state) => {
                    states.insert(state.source.clone(), state);
                }
                Err(error) => {
                    tracing::warn!(
                        topic = %topic,
                        partition = msg.partition(),
                        offset = msg.offset(),
                        error = %error,
                        message = "Undecodable fetch-state record ignored."
                    );
                }
            },
            (None, None) => {}
        }
        if remaining
            .get(&msg.partition())
            .is_some_and(|high| msg.offset() + 1 >= *high)
        {
            remaining.remove(&msg.partition());
        }
    }
    events::state_loaded(states.len(), records, started.elapsed());
    Ok(states)
}
