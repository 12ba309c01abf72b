//! Reading a topic from its beginning up to the high watermarks seen at the start, by
//! assignment (joining no consumer group, committing nothing). Used by `iocflow dlq` to scan a
//! dead-letter topic, and by tests to read back what was produced.
//!
//! Records written after the reader opened are not read: the end of each partition is fixed
//! when the reader opens, so a scan always finishes even while the pipeline keeps writing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};

use iocflow_service::kafka::{KafkaConfig, METADATA_TIMEOUT};

use crate::admin::connection;
use crate::admin::error::AdminError;

/// How long the reader waits for a record before checking its positions again.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long the reader may go without progress before it gives up.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// A bounded scan of one topic.
pub struct TopicReader {
    consumer: StreamConsumer,
    topic: String,
    /// High watermark of every partition still to finish.
    ends: BTreeMap<i32, i64>,
}

impl std::fmt::Debug for TopicReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicReader")
            .field("topic", &self.topic)
            .field("ends", &self.ends)
            .finish()
    }
}

impl TopicReader {
    /// Opens `topic` at its low watermarks; the scan ends at the high watermarks read now.
    /// Blocks on metadata and watermark calls.
    ///
    /// # Errors
    /// [`AdminError::Usage`] when the topic does not exist; [`AdminError::Kafka`] when the
    /// broker does not answer.
    pub fn open(kafka: &KafkaConfig, topic: &str) -> Result<TopicReader, AdminError> {
        let consumer: StreamConsumer = connection::reader(kafka)?;
        let metadata = connection::cluster_metadata(consumer.client())?;
        let partitions = connection::topic_partitions(&metadata, topic)
            .ok_or_else(|| AdminError::Usage(format!("topic {topic} does not exist")))?;

        let mut ends = BTreeMap::new();
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            let (low, high) = consumer
                .fetch_watermarks(topic, p, METADATA_TIMEOUT)
                .map_err(|e| AdminError::kafka(format!("reading watermarks of {topic}/{p}"), e))?;
            if high > low {
                ends.insert(p, high);
                tpl.add_partition_offset(topic, p, Offset::Offset(low))
                    .map_err(|e| AdminError::kafka("building the assignment", e))?;
            }
        }
        if tpl.count() > 0 {
            consumer
                .assign(&tpl)
                .map_err(|e| AdminError::kafka(format!("assigning {topic}"), e))?;
        }
        Ok(TopicReader {
            consumer,
            topic: topic.to_string(),
            ends,
        })
    }

    /// The topic being read.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The next record, in partition order within each partition; `None` once every
    /// partition reached its end.
    ///
    /// # Errors
    /// [`AdminError::Kafka`] on a fetch error; [`AdminError::Broker`] when no progress is made
    /// for 30 seconds although records should be there.
    pub async fn next(&mut self) -> Result<Option<OwnedMessage>, AdminError> {
        let mut last_progress = Instant::now();
        loop {
            if self.ends.is_empty() {
                return Ok(None);
            }
            match tokio::time::timeout(POLL_INTERVAL, self.consumer.recv()).await {
                Ok(Ok(message)) => {
                    let (p, offset) = (message.partition(), message.offset());
                    let Some(end) = self.ends.get(&p).copied() else {
                        continue;
                    };
                    if offset >= end {
                        self.ends.remove(&p);
                        continue;
                    }
                    if offset + 1 >= end {
                        self.ends.remove(&p);
                    }
                    return Ok(Some(message.detach()));
                }
                Ok(Err(e)) => {
                    return Err(AdminError::kafka(format!("reading {}", self.topic), e));
                }
                Err(_elapsed) => {
                    // Offsets at the end may hold no record (transaction markers, compacted
                    // records): the position tells that the partition is done.
                    let before = self.ends.len();
                    self.drop_finished_partitions()?;
                    if self.ends.len() < before {
                        last_progress = Instant::now();
                    } else if last_progress.elapsed() > IDLE_LIMIT {
                        return Err(AdminError::Broker(format!(
                            "no record from {} for {} s although its high watermarks promise \
                             more (partitions still open: {:?})",
                            self.topic,
                            IDLE_LIMIT.as_secs(),
                            self.ends.keys().collect::<Vec<_>>()
                        )));
                    }
                }
            }
        }
    }

    fn drop_finished_partitions(&mut self) -> Result<(), AdminError> {
        let positions = self
            .consumer
            .position()
            .map_err(|e| AdminError::kafka(format!("reading positions on {}", self.topic), e))?;
        for elem in positions.elements_for_topic(&self.topic) {
            if let Offset::Offset(position) = elem.offset() {
                if self
                    .ends
                    .get(&elem.partition())
                    .is_some_and(|end| position >= *end)
                {
                    self.ends.remove(&elem.partition());
                }
            }
        }
        Ok(())
    }
}
