//! The stage loop: raw topic in, indicators and dead letters out, offsets stored only after the
//! output is acknowledged.
//!
//! The loop is a small pipeline:
//! 1. collect a batch from the `StreamConsumer` (up to `batch_size` records, or what arrived
//!    within `batch_timeout_ms` of the first one);
//! 2. normalize it on `spawn_blocking` (CPU work off the async runtime), each record inside
//!    `catch_unwind` so a panic dead-letters that record (kind `panic`) instead of the batch;
//!    one batch at a time, in read order;
//! 3. produce every indicator (keyed by id) and dead letter, and await every delivery; a failed
//!    delivery is retried with exponential backoff, never skipped. Up to
//!    `max_batches_in_flight` batches are being delivered at once, so the broker's
//!    acknowledgement time overlaps the next batches; a batch's outputs are enqueued before the
//!    next batch's;
//! 4. when the oldest batch in delivery is acknowledged, store the next offset of every
//!    partition in it; batches complete strictly in read order, so a stored offset never passes
//!    an unacknowledged record. The consumer's auto-commit then commits it.
//!
//! Keeping the consumer polled: while batches are normalized and delivered, the loop keeps
//! driving the consumer stream and holds what arrives as the next batch (at most `batch_size`
//! records; once that is full, and `max_batches_in_flight` are in delivery, the stream is left
//! alone until the oldest is done). If deliveries keep failing for longer than
//! `max.poll.interval.ms` (librdkafka default 300 s), the member leaves the group and the
//! partitions are re-read elsewhere from the last stored offsets: duplicates, never loss.
//!
//! Shutdown: when `shutdown` is cancelled, no new batch starts (records read but not yet
//! normalized are dropped, to be read again); the batches being normalized and delivered
//! finish, their offsets are stored, stored offsets are committed, and [`run`] returns. They get
//! 80% of `drain_timeout_ms` (a batch whose deliveries still fail then is abandoned, and no
//! later batch stores offsets), the final commit the remaining 20%.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::future::OptionFuture;
use futures::stream::FuturesOrdered;
use futures::StreamExt;
use iocflow_schemas::{codec, CodecError, RawRecord};
use iocflow_service::kafka::{commit_stored, store_offsets, KafkaConfig};
use iocflow_service::ops::Health;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::dead_letters::{self, to_kafka_headers};
use crate::error::{ErrorKind, StageError};
use crate::events::{Events, Tally, UNKNOWN_SOURCE};
use crate::lag::report_lag;
use crate::{normalize_parts, Catalog, Origin};

/// Client id of the normalizer's Kafka clients.
const CLIENT_ID: &str = "iocflow-normalizer";
/// How long one produce may wait for room in the producer queue before it counts as failed.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// Liveness beat while idle.
const IDLE_BEAT: Duration = Duration::from_secs(1);

/// Which output topic a record goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Indicators,
    DeadLetters,
}

/// One record to produce.
#[derive(Debug)]
pub struct Output {
    target: Target,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

/// The normalized batch: what to produce, what to count, which offsets to store.
#[derive(Debug, Default)]
pub struct Processed {
    outputs: Vec<Output>,
    tally: Tally,
    next_offsets: BTreeMap<(String, i32), i64>,
}

impl Processed {
    /// What the batch's records became: (normalized, skipped, dead-lettered).
    pub fn totals(&self) -> (u64, u64, u64) {
        self.tally.totals()
    }

    /// Bytes to produce: every output's key and payload.
    pub fn output_bytes(&self) -> usize {
        self.outputs
            .iter()
            .map(|o| o.payload.len() + o.key.as_ref().map_or(0, Vec::len))
            .sum()
    }
}

/// Runs the stage until `shutdown` is cancelled and the drain is done.
///
/// # Errors
/// [`StageError::Kafka`] when the clients cannot be created or the subscription fails.
pub async fn run(
    settings: Settings,
    kafka: KafkaConfig,
    catalog: Arc<Catalog>,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> Result<(), StageError> {
    let events = Arc::new(Events::new());

    // Clients, subscription, readiness.
    let consumer: Arc<StreamConsumer> = Arc::new(
        kafka
            .consumer(&settings.group_id, CLIENT_ID)
            .map_err(|e| StageError::kafka("create consumer", e))?,
    );
    let producer = kafka
        .producer(CLIENT_ID)
        .map_err(|e| StageError::kafka("create producer", e))?;
    consumer
        .subscribe(&[kafka.topics.raw.as_str()])
        .map_err(|e| StageError::kafka("subscribe", e))?;
    health.set_ready(true);
    events.started(&settings.group_id, &kafka.topics.raw, catalog.len());

    // Background lag gauge, and the hard deadline of the drain.
    let background = CancellationToken::new();
    let _stop_background = background.clone().drop_guard();
    tokio::spawn(report_lag(
        Arc::clone(&consumer),
        settings.group_id.clone(),
        background.clone(),
    ));
    let hard_stop = CancellationToken::new();
    {
        let (shutdown, hard_stop, background) =
            (shutdown.clone(), hard_stop.clone(), background.clone());
        let drain = settings.drain_timeout.mul_f64(0.8);
        tokio::spawn(async move {
            tokio::select! {
                _ = background.cancelled() => {}
                _ = async { shutdown.cancelled().await; tokio::time::sleep(drain).await } => {
                    hard_stop.cancel();
                }
            }
        });
    }

    let outputs = Producer {
        producer,
        indicators_topic: kafka.topics.indicators.clone(),
        dlq_topic: kafka.topics.dlq_normalize.clone(),
        events: Arc::clone(&events),
        hard_stop,
    };
    let mut stream = consumer.stream();
    // Records read but not yet normalized: the next batch.
    let mut pending: Vec<OwnedMessage> = Vec::new();
    // When the pending batch is due even if not full (set by its first record).
    let mut due: Option<Instant> = None;
    // The batch being normalized on the blocking pool: one at a time, in read order.
    let mut normalizing: Option<JoinHandle<Processed>> = None;
    let mut normalizing_records = 0;
    // Batches being delivered, oldest first; they complete in this order.
    let mut delivering = FuturesOrdered::new();
    // Set when a batch was abandoned at the drain deadline: no later batch may store offsets
    // past it.
    let mut abandoned = false;

    loop {
        health.beat();
        let stopping = shutdown.is_cancelled();
        if stopping {
            // Not started: no offsets stored for them, they are read again later.
            pending.clear();
            due = None;
            if normalizing.is_none() && delivering.is_empty() {
                break;
            }
        }

        // 1-2. Hand the pending batch to normalization when it is full or due, nothing else is
        // being normalized and fewer than `max_batches_in_flight` are being delivered.
        let full_or_due =
            pending.len() >= settings.batch_size || due.is_some_and(|d| Instant::now() >= d);
        if !pending.is_empty()
            && full_or_due
            && normalizing.is_none()
            && delivering.len() < settings.max_batches_in_flight
        {
            let batch = std::mem::take(&mut pending);
            due = None;
            let records = batch.len();
            let catalog = Arc::clone(&catalog);
            let now = now_ms();
            let task = tokio::task::spawn_blocking(move || normalize_batch(&batch, &catalog, now));
            normalizing = Some(task);
            normalizing_records = records;
            continue;
        }

        // Wake at the pending batch's due time, or beat liveness while idle or blocked.
        let wake = match due {
            Some(d) if d > Instant::now() => d,
            _ => Instant::now() + IDLE_BEAT,
        };
        tokio::select! {
            biased;
            // 4. The oldest batch is acknowledged (or abandoned): store its offsets.
            Some((records, delivered)) = delivering.next(), if !delivering.is_empty() => {
                let delivered: Option<Processed> = delivered;
                match delivered {
                    Some(p) if !abandoned => {
                        if let Err(e) = store_offsets(consumer.as_ref(), &p.next_offsets) {
                            events.offsets_not_stored(&e);
                        }
                        events.batch_delivered(&p.tally);
                    }
                    _ => {
                        abandoned = true;
                        events.batch_abandoned(records);
                    }
                }
            }
            // 3. A batch is normalized: enqueue its outputs now, in batch order.
            Some(joined) = OptionFuture::from(normalizing.as_mut()), if normalizing.is_some() => {
                normalizing = None;
                let records = normalizing_records;
                match joined {
                    Ok(processed) => {
                        delivering.push_back(deliver_batch(&outputs, records, processed));
                    }
                    Err(e) => {
                        // Nothing of this batch or later ones is stored; a restart re-reads it.
                        return Err(StageError::Batch { records, message: e.to_string() });
                    }
                }
            }
            // Keep the consumer polled while batches are in progress, reading up to one batch
            // ahead.
            next = stream.next(), if pending.len() < settings.batch_size && !stopping => match next {
                Some(Ok(m)) => {
                    pending.push(m.detach());
                    if due.is_none() {
                        due = Some(Instant::now() + settings.batch_timeout);
                    }
                }
                Some(Err(e)) => events.consumer_error(&e),
                None => {}
            },
            () = shutdown.cancelled(), if !stopping => {}
            () = tokio::time::sleep_until(wake) => {}
        }
    }

    // Drain: commit what was stored.
    drop(stream);
    health.set_ready(false);
    let c = Arc::clone(&consumer);
    let commit = tokio::task::spawn_blocking(move || commit_stored(c.as_ref()));
    // The batch had 80% of the drain timeout (see `hard_stop`); the commit gets the rest.
    match tokio::time::timeout(settings.drain_timeout.mul_f64(0.2), commit).await {
        Ok(Ok(result)) => events.drained(result.map_err(|e| e.to_string())),
        Ok(Err(_)) => events.drained(Err("the commit task failed".into())),
        Err(_) => events.drained(Err("the drain timeout passed during the commit".into())),
    }
    Ok(())
}

/// Delivers a normalized batch: every output produced and acknowledged. Yields the batch back
/// for its offsets and counts, or `None` when the drain deadline passed first. The outputs are
/// enqueued in the producer on the first poll, so batches polled in order are enqueued in order.
async fn deliver_batch(
    producer: &Producer,
    records: usize,
    processed: Processed,
) -> (usize, Option<Processed>) {
    let deliveries = processed.outputs.iter().map(|o| producer.deliver(o));
    let all_acknowledged = futures::future::join_all(deliveries)
        .await
        .iter()
        .all(|ok| *ok);
    (records, all_acknowledged.then_some(processed))
}

/// Normalizes every record of a batch; never fails, every record ends as an output or a skip.
///
/// Public for `normalizer-bench`, which times exactly this function.
pub fn normalize_batch(batch: &[OwnedMessage], catalog: &Catalog, now_ms: i64) -> Processed {
    normalize_batch_with(batch, catalog, now_ms, normalize_payload)
}

/// [`normalize_batch`] with the per-record function as a parameter, so tests can make it panic.
fn normalize_batch_with<'c>(
    batch: &[OwnedMessage],
    catalog: &'c Catalog,
    now_ms: i64,
    per_record: impl Fn(&[u8], &'c Catalog, &Origin, i64) -> RecordResult<'c>,
) -> Processed {
    let mut p = Processed::default();
    // One origin for the batch, updated in place: the topic string is copied only when it
    // changes (a batch is nearly always from one topic).
    let mut origin = Origin {
        topic: String::new(),
        partition: 0,
        offset: 0,
    };
    for msg in batch {
        if origin.topic != msg.topic() {
            origin.topic = msg.topic().to_owned();
        }
        origin.partition = msg.partition();
        origin.offset = msg.offset();
        advance(&mut p.next_offsets, &origin);

        let payload = msg.payload().unwrap_or_default();
        // Encoding happens inside the guard too: a panic there is one record's dead letter.
        let outcome = guarded(|| per_record(payload, catalog, &origin, now_ms));
        let (label, outcome) = outcome.unwrap_or_else(|panic| {
            (
                UNKNOWN_SOURCE,
                Outcome::Failed {
                    source: UNKNOWN_SOURCE.to_owned(),
                    kind: ErrorKind::Panic,
                    message: format!("normalizing panicked: {panic}"),
                },
            )
        });
        match outcome {
            Outcome::Indicator { key, bytes } => {
                p.tally.normalized(label);
                p.outputs.push(Output {
                    target: Target::Indicators,
                    key: Some(key),
                    payload: bytes,
                    headers: Vec::new(),
                });
            }
            Outcome::Skipped => p.tally.skipped(label),
            Outcome::Failed {
                source,
                kind,
                message,
            } => dead_letter(
                &mut p,
                msg,
                (label, &source),
                kind,
                &message,
                &origin,
                now_ms,
            ),
        }
    }
    p
}

/// Raises the next offset to store for the origin's partition past the origin's offset.
fn advance(next_offsets: &mut BTreeMap<(String, i32), i64>, origin: &Origin) {
    // A batch touches a few partitions: a scan avoids building an owned key per record.
    let found = next_offsets
        .iter_mut()
        .find(|((topic, partition), _)| *partition == origin.partition && *topic == origin.topic);
    match found {
        Some((_, next)) => *next = (*next).max(origin.offset + 1),
        None => {
            next_offsets.insert((origin.topic.clone(), origin.partition), origin.offset + 1);
        }
    }
}

/// What one record became, as it leaves the panic guard.
enum Outcome {
    /// An encoded indicator and its key (the id).
    Indicator { key: Vec<u8>, bytes: Vec<u8> },
    /// A counted skip.
    Skipped,
    /// A dead letter to build: the source named in it, the kind and the message.
    Failed {
        source: String,
        kind: ErrorKind,
        message: String,
    },
}

/// Result of one record: the metric label (the catalog's name, or [`UNKNOWN_SOURCE`]) and what
/// the record became.
type RecordResult<'c> = (&'c str, Outcome);

/// Decodes, normalizes and encodes one raw record's bytes.
fn normalize_payload<'c>(
    payload: &[u8],
    catalog: &'c Catalog,
    origin: &Origin,
    now: i64,
) -> RecordResult<'c> {
    // Borrowed from the message when the newest schema wrote it; decoded into an owned record
    // (with schema resolution) otherwise.
    let owned: RawRecord;
    let raw = match codec().decode_raw_ref(payload) {
        Ok(Some(raw)) => raw,
        Ok(None) => match codec().decode::<RawRecord>(payload) {
            Ok(raw) => {
                owned = raw;
                owned.view()
            }
            Err(e) => return undecodable(&e),
        },
        Err(e) => return undecodable(&e),
    };
    let Some((name, spec)) = catalog.get_entry(raw.source) else {
        return (
            UNKNOWN_SOURCE,
            Outcome::Failed {
                source: raw.source.to_owned(),
                kind: ErrorKind::SchemaMismatch,
                message: "unknown source".to_owned(),
            },
        );
    };
    let outcome = match normalize_parts(spec, &raw, origin, now) {
        // The indicator is encoded from its parts, never built as an owned record.
        Ok(Some(mapped)) => match codec().encode_indicator(&mapped.view()) {
            Ok(bytes) => Outcome::Indicator {
                key: mapped.into_id().into_bytes(),
                bytes,
            },
            Err(e) => Outcome::Failed {
                source: raw.source.to_owned(),
                kind: ErrorKind::SchemaMismatch,
                message: format!("indicator does not fit its schema: {e}"),
            },
        },
        Ok(None) => Outcome::Skipped,
        Err(e) => Outcome::Failed {
            source: raw.source.to_owned(),
            kind: e.kind,
            message: e.message,
        },
    };
    (name, outcome)
}

fn undecodable(e: &CodecError) -> RecordResult<'static> {
    (
        UNKNOWN_SOURCE,
        Outcome::Failed {
            source: UNKNOWN_SOURCE.to_owned(),
            kind: ErrorKind::from_codec(e),
            message: format!("raw record: {e}"),
        },
    )
}

fn dead_letter(
    p: &mut Processed,
    msg: &OwnedMessage,
    (label, source): (&str, &str),
    kind: ErrorKind,
    message: &str,
    origin: &Origin,
    now_ms: i64,
) {
    let value = msg.payload().unwrap_or_default();
    match dead_letters::build(source, kind, message, origin, msg.key(), value, now_ms) {
        Ok(out) => {
            p.tally.dead_lettered(label, kind, message, origin);
            p.outputs.push(Output {
                target: Target::DeadLetters,
                key: out.key,
                payload: out.payload,
                headers: out.headers,
            });
        }
        Err(e) => {
            // Limitation: a dead letter that cannot be encoded has nowhere to go; it is counted
            // and logged as a dead letter, and its offset is still stored.
            let why = format!("{message}; the dead letter itself failed to encode: {e}");
            p.tally.dead_lettered(label, kind, &why, origin);
        }
    }
}

/// Runs `f`, turning a panic into its message.
fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned())
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The output side: produces records and retries until acknowledged or the drain deadline.
struct Producer {
    producer: FutureProducer,
    indicators_topic: String,
    dlq_topic: String,
    events: Arc<Events>,
    hard_stop: CancellationToken,
}

impl Producer {
    /// Produces `out` until the broker acknowledges it; `false` only when the drain deadline
    /// passed first.
    async fn deliver(&self, out: &Output) -> bool {
        let topic = match out.target {
            Target::Indicators => self.indicators_topic.as_str(),
            Target::DeadLetters => self.dlq_topic.as_str(),
        };
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(10))
            .without_max_times()
            .with_jitter()
            .build();
        loop {
            let mut record = FutureRecord::to(topic).payload(&out.payload);
            if let Some(key) = &out.key {
                record = record.key(key);
            }
            if !out.headers.is_empty() {
                record = record.headers(to_kafka_headers(&out.headers));
            }
            let sent = tokio::select! {
                r = self.producer.send(record, Timeout::After(QUEUE_TIMEOUT)) => r,
                _ = self.hard_stop.cancelled() => return false,
            };
            let error = match sent {
                Ok(_) => return true,
                Err((error, _)) => error,
            };
            self.events.delivery_failed(topic, &error);
            let delay = backoff.next().unwrap_or(Duration::from_secs(10));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.hard_stop.cancelled() => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests;
