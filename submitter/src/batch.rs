//! Collecting a batch from the indicators topic: up to `batch_size` records, or what arrived
//! within `batch_timeout_ms` of the first one. Each record is decoded with the shared codec;
//! a record that does not decode is kept aside for the dead-letter topic with the codec's error
//! kind. The batch also remembers the next offset to store per partition.

use std::collections::BTreeMap;
use std::time::Duration;

use iocflow_schemas::{codec, Indicator};
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::{BorrowedMessage, Message};
use tokio_util::sync::CancellationToken;

use crate::events;

/// Where a record came from, with its bytes (kept for dead letters).
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key, if any.
    pub key: Option<Vec<u8>>,
    /// Value bytes, untouched.
    pub payload: Vec<u8>,
}

impl Received {
    /// Copies a consumed message.
    pub fn from_message(m: &BorrowedMessage<'_>) -> Received {
        Received {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        }
    }
}

/// A record that decoded into an indicator.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Where it came from.
    pub origin: Received,
    /// The indicator.
    pub indicator: Indicator,
}

/// A record that did not decode.
#[derive(Debug, Clone)]
pub struct Undecodable {
    /// Where it came from.
    pub origin: Received,
    /// `CodecError::kind()`.
    pub kind: &'static str,
    /// The codec's message.
    pub message: String,
}

/// One batch of consumed records.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records to deliver, in consumption order.
    pub decoded: Vec<Decoded>,
    /// Records for the dead-letter topic straight away.
    pub undecodable: Vec<Undecodable>,
    /// Next offset to store per (topic, partition): last offset in the batch plus one.
    pub next_offsets: BTreeMap<(String, i32), i64>,
}

impl Batch {
    /// Number of records in the batch.
    pub fn len(&self) -> usize {
        self.decoded.len() + self.undecodable.len()
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes one record and adds it.
    pub fn push(&mut self, origin: Received) {
        let key = (origin.topic.clone(), origin.partition);
        let next = self.next_offsets.entry(key).or_insert(origin.offset + 1);
        *next = (*next).max(origin.offset + 1);

        match codec().decode::<Indicator>(&origin.payload) {
            Ok(indicator) => self.decoded.push(Decoded { origin, indicator }),
            Err(e) => self.undecodable.push(Undecodable {
                origin,
                kind: e.kind(),
                message: e.to_string(),
            }),
        }
    }
}

/// Collects one batch. Starts with `carried` (records received while partitions were paused),
/// then waits up to `max_wait` for the first record and up to `max_wait` more for the batch to
/// fill. Returns early, with what it has, when `shutdown` is cancelled. Consumer errors are
/// logged and counted; they end the wait for more records but never lose one.
pub async fn collect(
    consumer: &StreamConsumer,
    carried: Vec<Received>,
    max_records: usize,
    max_wait: Duration,
    shutdown: &CancellationToken,
) -> Batch {
    let mut batch = Batch::default();
    for r in carried {
        batch.push(r);
    }

    let deadline = tokio::time::sleep(max_wait);
    tokio::pin!(deadline);
    let mut first_seen = !batch.is_empty();

    while batch.len() < max_records {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = &mut deadline => break,
            received = consumer.recv() => match received {
                Ok(m) => {
                    batch.push(Received::from_message(&m));
                    if !first_seen {
                        // The batch window opens with its first record.
                        first_seen = true;
                        deadline.as_mut().reset(tokio::time::Instant::now() + max_wait);
                    }
                }
                Err(e) => {
                    events::consumer_error(&e.to_string());
                    if first_seen {
                        break;
                    }
                }
            },
        }
    }
    batch
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use iocflow_schemas::codec;

    fn received(offset: i64, payload: Vec<u8>) -> Received {
        Received {
            topic: "t".into(),
            partition: 0,
            offset,
            key: None,
            payload,
        }
    }

    pub(crate) fn indicator(value: &str) -> Indicator {
        Indicator {
            id: format!("indicator--{value}"),
            kind: "domain".into(),
            value: value.into(),
            port: None,
            source: "test".into(),
            source_ref: None,
            first_seen_ms: None,
            last_seen_ms: None,
            confidence: None,
            tlp: "clear".into(),
            tags: vec![],
            threat_types: vec![],
            malware_families: vec![],
            fetch_id: "f".into(),
            raw_topic: "raw".into(),
            raw_partition: 0,
            raw_offset: 0,
            normalized_at_ms: 0,
            valid_until_ms: None,
            references: vec![],
            value_unicode: None,
            status: "active".into(),
            flags: vec![],
        }
    }

    #[test]
    fn undecodable_records_are_set_aside_with_their_kind() {
        let mut batch = Batch::default();
        let good = codec().encode(&indicator("a.example")).unwrap();
        batch.push(received(5, good));
        batch.push(received(6, b"not avro".to_vec()));
        batch.push(received(4, vec![]));

        assert_eq!(batch.decoded.len(), 1);
        assert_eq!(batch.undecodable.len(), 2);
        assert_eq!(batch.undecodable[0].kind, "undecodable");
        assert_eq!(batch.next_offsets.get(&("t".to_string(), 0)), Some(&7));
    }
}
