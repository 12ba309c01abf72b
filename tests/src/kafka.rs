//! Reading a topic back to its end, and producing a test record.
//!
//! Tests check outcomes by reading what the binaries wrote: a fresh consumer without a group
//! is assigned every partition from the beginning and reads until it reaches the high
//! watermarks taken when the read started.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::{HarnessError, Result};

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes.
    pub value: Vec<u8>,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl ReadRecord {
    /// The first header named `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Reads every record of `topic`, from the beginning to the high watermarks at the time of
/// the call, ordered by partition and offset.
///
/// # Errors
/// [`HarnessError::Kafka`] on client errors, [`HarnessError::Timeout`] when the end is not
/// reached within `timeout`.
pub async fn read_to_end(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<ReadRecord>> {
    let bootstrap = bootstrap.to_string();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || read_blocking(&bootstrap, &topic, timeout))
        .await
        .map_err(|e| HarnessError::Invalid(format!("reader task failed: {e}")))?
}

fn read_blocking(bootstrap: &str, topic: &str, timeout: Duration) -> Result<Vec<ReadRecord>> {
    let start = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("iocflow-tests-reader-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .map_err(HarnessError::kafka("create a reader"))?;

    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(HarnessError::kafka(format!("metadata of {topic}")))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(HarnessError::Invalid(format!(
            "topic {topic} has no partitions"
        )));
    }

    // The end of each partition, fixed now: records written later are not waited for.
    let mut ends = BTreeMap::new();
    let mut tpl = TopicPartitionList::new();
    for &p in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .map_err(HarnessError::kafka(format!("watermarks of {topic}/{p}")))?;
        if high > low {
            ends.insert(p, high);
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .map_err(HarnessError::kafka("build an assignment"))?;
        }
    }
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    consumer
        .assign(&tpl)
        .map_err(HarnessError::kafka(format!("assign {topic}")))?;

    let mut out = Vec::new();
    let mut reached: BTreeMap<i32, i64> = BTreeMap::new();
    while ends
        .iter()
        .any(|(p, end)| reached.get(p).copied().unwrap_or(-1) + 1 < *end)
    {
        if start.elapsed() > timeout {
            return Err(HarnessError::Timeout {
                what: format!("reading {topic} to its end"),
                waited_ms: start.elapsed().as_millis(),
                last: format!("read up to {reached:?} of ends {ends:?}"),
            });
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.map_err(HarnessError::kafka(format!("read {topic}")))?;
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|x| {
                        (
                            x.key.to_string(),
                            x.value.map(<[u8]>::to_vec).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        reached.insert(message.partition(), message.offset());
        if ends
            .get(&message.partition())
            .is_some_and(|end| message.offset() < *end)
        {
            out.push(ReadRecord {
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().map(<[u8]>::to_vec),
                value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                headers,
            });
        }
    }
    out.sort_by_key(|r| (r.partition, r.offset));
    Ok(out)
}

/// Produces one record and waits for its acknowledgement.
///
/// # Errors
/// [`HarnessError::Kafka`] when the producer cannot be built or the produce fails.
pub async fn produce(bootstrap: &str, topic: &str, key: &str, value: &[u8]) -> Result<(i32, i64)> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()
        .map_err(HarnessError::kafka("create a producer"))?;
    let delivered = producer
        .send(
            FutureRecord::to(topic).key(key).payload(value),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(error, _)| HarnessError::Kafka {
            what: format!("produce to {topic}"),
            error,
        })?;
    Ok((delivered.partition, delivered.offset))
}
