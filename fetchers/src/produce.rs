//! Writing a run's items to the raw topic: one codec-encoded [`RawRecord`] per framed record,
//! keyed `<source>:<key_field value>` or `<source>:<first 32 hex chars of the payload's
//! SHA-256>`.
//!
//! A run does not count as done until every record is acknowledged ([`RunSink::flush`]), and
//! at most [`MAX_IN_FLIGHT`] records wait for acknowledgement at once, so a huge response does
//! not pile up in the producer's queue.

use futures::stream::{FuturesUnordered, StreamExt};
use iocflow_schemas::{codec, RawRecord};
use iocflow_service::kafka::headers;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use sha2::{Digest, Sha256};

use crate::error::FetchError;
use crate::events;

/// Records of one run waiting for acknowledgement before the run stops reading the body.
pub const MAX_IN_FLIGHT: usize = 1000;

/// The raw-topic producer shared by all runs.
#[derive(Clone)]
pub struct RawProducer {
    producer: FutureProducer,
    topic: String,
}

impl std::fmt::Debug for RawProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawProducer")
            .field("topic", &self.topic)
            .finish()
    }
}

impl RawProducer {
    /// A producer writing to `topic`.
    pub fn new(producer: FutureProducer, topic: String) -> RawProducer {
        RawProducer { producer, topic }
    }

    /// A sink for one run of `source`.
    pub fn sink(&self, source: &str) -> RunSink<'_> {
        RunSink {
            producer: self,
            source: source.to_string(),
            pending: FuturesUnordered::new(),
            sent: 0,
        }
    }
}

/// The record key of an item.
pub fn record_key(source: &str, key: Option<&str>, payload: &[u8]) -> String {
    match key {
        Some(k) => format!("{source}:{k}"),
        None => {
            let digest = Sha256::digest(payload);
            let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!("{source}:{hex}")
        }
    }
}

/// The records of one run in flight.
pub struct RunSink<'a> {
    producer: &'a RawProducer,
    source: String,
    pending: FuturesUnordered<DeliveryFuture>,
    sent: u64,
}

impl RunSink<'_> {
    fn kafka_error(&self, message: String) -> FetchError {
        FetchError::Kafka {
            operation: "produce",
            topic: self.producer.topic.clone(),
            message,
        }
    }

    /// Waits for one pending delivery.
    async fn await_one(&mut self) -> Result<bool, FetchError> {
        match self.pending.next().await {
            None => Ok(false),
            Some(Ok(Ok(_))) => Ok(true),
            Some(Ok(Err((e, _)))) => Err(self.kafka_error(e.to_string())),
            Some(Err(_)) => Err(self.kafka_error("producer dropped the delivery".into())),
        }
    }

    /// Encodes and sends one record, waiting first when too many are in flight.
    ///
    /// # Errors
    /// [`FetchError::Codec`] or [`FetchError::Kafka`] when the record or an earlier one of the
    /// run cannot be delivered.
    pub async fn send(&mut self, key: &str, record: &RawRecord) -> Result<(), FetchError> {
        let bytes = codec().encode(record).map_err(|e| FetchError::Codec {
            what: "raw",
            message: e.to_string(),
        })?;
        while self.pending.len() >= MAX_IN_FLIGHT {
            self.await_one().await?;
        }
        loop {
            let hdrs = OwnedHeaders::new().insert(Header {
                key: headers::SOURCE,
                value: Some(self.source.as_bytes()),
            });
            let rec = FutureRecord::to(&self.producer.topic)
                .key(key)
                .payload(&bytes)
                .headers(hdrs);
            match self.producer.producer.send_result(rec) {
                Ok(delivery) => {
                    self.pending.push(delivery);
                    self.sent += 1;
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // The local queue is full: wait for one of ours to drain, or briefly for
                    // other runs' records when none of ours is pending.
                    if !self.await_one().await? {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
                Err((e, _)) => return Err(self.kafka_error(e.to_string())),
            }
        }
    }

    /// Waits until every record sent is acknowledged; returns how many were.
    ///
    /// # Errors
    /// [`FetchError::Kafka`] when a record could not be delivered.
    pub async fn flush(&mut self) -> Result<u64, FetchError> {
        let result = async {
            while self.await_one().await? {}
            Ok(())
        }
        .await;
        let acked = self.sent;
        if result.is_ok() {
            events::records_produced(&self.source, acked);
            self.sent = 0;
        }
        result.map(|()| acked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_use_the_key_field_or_a_payload_hash() {
        assert_eq!(record_key("urlhaus", Some("42"), b"x"), "urlhaus:42");
        let k = record_key("openphish", None, b"http://a/");
        assert!(k.starts_with("openphish:"));
        assert_eq!(k.len(), "openphish:".len() + 32);
        assert_eq!(k, record_key("openphish", None, b"http://a/"));
        assert_ne!(k, record_key("openphish", None, b"http://b/"));
    }
}
