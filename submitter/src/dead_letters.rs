//! Writing the submitter's dead letters to `topics.dlq_submit`: a codec-encoded `DeadLetter`
//! (stage `submit`, the original indicator bytes, the error kind and message, the original
//! topic/partition/offset) with the same facts in headers, keyed like the original record.
//! Every produce is awaited: the consumer loop stores a record's offset only after its dead
//! letter is acknowledged.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::join_all;
use iocflow_schemas::{codec, DeadLetter};
use iocflow_service::kafka::headers;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::batch::Received;
use crate::error::SubmitError;

/// Stage name written into dead letters.
pub const STAGE: &str = "submit";
/// Error kind of records the platform rejected for good.
pub const KIND_REJECTED: &str = "rejected";
/// Longest error message kept in a dead letter, in characters.
const MESSAGE_CHARS: usize = 1_000;

/// One record on its way to the dead-letter topic.
#[derive(Debug, Clone)]
pub struct Failed {
    /// The original record.
    pub origin: Received,
    /// Integration name, or `unknown` when the record did not decode.
    pub source: String,
    /// Stable error kind.
    pub kind: String,
    /// Human-readable reason.
    pub message: String,
}

/// Produces dead letters and waits for their acknowledgement.
pub struct DeadLetterWriter {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetterWriter {
    /// A writer to `topic`.
    pub fn new(producer: FutureProducer, topic: String) -> DeadLetterWriter {
        DeadLetterWriter { producer, topic }
    }

    /// Produces every dead letter concurrently and waits until all are acknowledged.
    ///
    /// # Errors
    /// [`SubmitError::Encode`] or [`SubmitError::DeadLetter`] for the first record that failed;
    /// the caller must not store the batch's offsets then.
    pub async fn send_all(&self, failed: &[Failed]) -> Result<(), SubmitError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);

        let mut encoded = Vec::with_capacity(failed.len());
        for f in failed {
            let message: String = f.message.chars().take(MESSAGE_CHARS).collect();
            let letter = DeadLetter {
                stage: STAGE.into(),
                source: f.source.clone(),
                error_kind: f.kind.clone(),
                error_message: message.clone(),
                original_topic: f.origin.topic.clone(),
                original_partition: f.origin.partition,
                original_offset: f.origin.offset,
                original_key: f.origin.key.clone(),
                original_value: f.origin.payload.clone(),
                failed_at_ms: now_ms,
            };
            let bytes = codec().encode(&letter).map_err(|e| SubmitError::Encode {
                topic: f.origin.topic.clone(),
                partition: f.origin.partition,
                offset: f.origin.offset,
                message: e.to_string(),
            })?;
            encoded.push((f, message, bytes));
        }

        let sends = encoded.iter().map(|(f, message, bytes)| {
            let partition = f.origin.partition.to_string();
            let offset = f.origin.offset.to_string();
            let headers = OwnedHeaders::new()
                .insert(header(headers::STAGE, STAGE))
                .insert(header(headers::SOURCE, &f.source))
                .insert(header(headers::ERROR_KIND, &f.kind))
                .insert(header(headers::ERROR_MESSAGE, message))
                .insert(header(headers::ORIGINAL_TOPIC, &f.origin.topic))
                .insert(header(headers::ORIGINAL_PARTITION, &partition))
                .insert(header(headers::ORIGINAL_OFFSET, &offset));
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic)
                .payload(bytes.as_slice())
                .headers(headers);
            if let Some(key) = &f.origin.key {
                record = record.key(key.as_slice());
            }
            async move {
                self.producer
                    .send(record, Timeout::After(Duration::from_secs(5)))
                    .await
                    .map_err(|(error, _)| SubmitError::DeadLetter {
                        topic: f.origin.topic.clone(),
                        partition: f.origin.partition,
                        offset: f.origin.offset,
                        error,
                    })
            }
        });

        for result in join_all(sends).await {
            result?;
        }
        Ok(())
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}
