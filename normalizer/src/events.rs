//! The one place where the normalizer logs and counts what happens, so logs and metrics never
//! drift apart.
//!
//! Per-record outcomes are gathered into a [`Tally`] while a batch is normalized and emitted
//! once per batch, after the batch's output was acknowledged: `iocflow_records_total{stage=
//! "normalize",source,outcome}` (`normalized`, `skipped`, `dead_lettered`),
//! `iocflow_dead_letters_total{stage,source,kind}` and `iocflow_panics_caught_total{stage}`.
//! Per-record failures are never logged one by one: each (source, kind) pair logs at most one
//! WARN sample per 10 seconds, with the number of records it stands for.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use iocflow_service::metrics::metrics;
use rdkafka::error::KafkaError;

use crate::error::ErrorKind;
use crate::Origin;

/// The `stage` label of every normalizer metric.
pub const STAGE: &str = "normalize";
/// Source label for records whose source cannot be trusted as a label (undecodable, or not in
/// the catalog), so label values stay a bounded set.
pub const UNKNOWN_SOURCE: &str = "unknown";
/// Window of the WARN sampling.
const SAMPLE_WINDOW: Duration = Duration::from_secs(10);

/// A sample of one dead-letter kind within a batch.
#[derive(Debug, Clone)]
struct DeadLetterSample {
    count: u64,
    message: String,
    origin: Origin,
}

/// What happened to the records of one batch, by source.
#[derive(Debug, Default)]
pub struct Tally {
    normalized: BTreeMap<String, u64>,
    skipped: BTreeMap<String, u64>,
    dead_lettered: BTreeMap<(String, ErrorKind), DeadLetterSample>,
    panics: u64,
}

impl Tally {
    /// One record became an indicator.
    pub fn normalized(&mut self, source: &str) {
        bump(&mut self.normalized, source);
    }

    /// One record was a counted skip.
    pub fn skipped(&mut self, source: &str) {
        bump(&mut self.skipped, source);
    }

    /// One record became a dead letter; the first message per (source, kind) is kept as sample.
    pub fn dead_lettered(&mut self, source: &str, kind: ErrorKind, message: &str, origin: &Origin) {
        if kind == ErrorKind::Panic {
            self.panics += 1;
        }
        let key = (source.to_owned(), kind);
        match self.dead_lettered.get_mut(&key) {
            Some(sample) => sample.count += 1,
            None => {
                self.dead_lettered.insert(
                    key,
                    DeadLetterSample {
                        count: 1,
                        message: message.to_owned(),
                        origin: origin.clone(),
                    },
                );
            }
        }
    }

    /// Number of records of each outcome: (normalized, skipped, dead-lettered).
    pub fn totals(&self) -> (u64, u64, u64) {
        (
            self.normalized.values().sum(),
            self.skipped.values().sum(),
            self.dead_lettered.values().map(|s| s.count).sum(),
        )
    }
}

fn bump(map: &mut BTreeMap<String, u64>, source: &str) {
    match map.get_mut(source) {
        Some(n) => *n += 1,
        None => {
            map.insert(source.to_owned(), 1);
        }
    }
}

/// State of one sampled event: when it was last logged and how many were not logged since.
#[derive(Debug)]
struct Sample {
    last_logged: Instant,
    suppressed: u64,
}

/// Emits the normalizer's events; one per process, shared by the stage loop and its delivery
/// tasks.
#[derive(Debug, Default)]
pub struct Events {
    samples: Mutex<HashMap<(String, &'static str), Sample>>,
}

impl Events {
    /// A new emitter.
    pub fn new() -> Events {
        Events::default()
    }

    /// Whether an event of `key` may be logged now; if so, returns how many were suppressed
    /// since the last one.
    fn sample(&self, source: &str, kind: &'static str, count: u64) -> Option<u64> {
        let now = Instant::now();
        let mut samples = match self.samples.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        match samples.get_mut(&(source.to_owned(), kind)) {
            Some(s) if now.duration_since(s.last_logged) < SAMPLE_WINDOW => {
                s.suppressed += count;
                None
            }
            Some(s) => {
                let suppressed = s.suppressed + count.saturating_sub(1);
                s.last_logged = now;
                s.suppressed = 0;
                Some(suppressed)
            }
            None => {
                samples.insert(
                    (source.to_owned(), kind),
                    Sample {
                        last_logged: now,
                        suppressed: 0,
                    },
                );
                Some(count.saturating_sub(1))
            }
        }
    }

    /// A batch's output was acknowledged: counts every outcome and logs sampled warnings for its
    /// dead letters.
    pub fn batch_delivered(&self, tally: &Tally) {
        let m = metrics();
        for (source, n) in &tally.normalized {
            m.records
                .with_label_values(&[STAGE, source, "normalized"])
                .inc_by(*n);
        }
        for (source, n) in &tally.skipped {
            m.records
                .with_label_values(&[STAGE, source, "skipped"])
                .inc_by(*n);
        }
        for ((source, kind), sample) in &tally.dead_lettered {
            m.records
                .with_label_values(&[STAGE, source, "dead_lettered"])
                .inc_by(sample.count);
            m.dead_letters
                .with_label_values(&[STAGE, source, kind.as_str()])
                .inc_by(sample.count);
            if let Some(also) = self.sample(source, kind.as_str(), sample.count) {
                tracing::warn!(
                    stage = STAGE,
                    source = %source,
                    error_kind = kind.as_str(),
                    error = %sample.message,
                    topic = %sample.origin.topic,
                    partition = sample.origin.partition,
                    offset = sample.origin.offset,
                    similar_not_logged = also,
                    message = "Record dead-lettered.",
                );
            }
        }
        if tally.panics > 0 {
            m.panics.with_label_values(&[STAGE]).inc_by(tally.panics);
        }
        let (normalized, skipped, dead_lettered) = tally.totals();
        tracing::trace!(
            normalized,
            skipped,
            dead_lettered,
            message = "Batch delivered."
        );
    }

    /// A produce was not acknowledged; it will be retried.
    pub fn delivery_failed(&self, topic: &str, error: &KafkaError) {
        if let Some(also) = self.sample(topic, "delivery", 1) {
            tracing::warn!(
                stage = STAGE,
                topic = %topic,
                error = %error,
                similar_not_logged = also,
                message = "Delivery failed; retrying with backoff.",
            );
        }
    }

    /// The drain deadline passed with deliveries still unacknowledged; their offsets are not
    /// stored, so the records will be read again.
    pub fn batch_abandoned(&self, records: usize) {
        tracing::warn!(
            stage = STAGE,
            records,
            message =
                "Drain deadline reached before the batch was acknowledged; it will be re-read.",
        );
    }

    /// The consumer stream reported an error (transport, rebalance trouble).
    pub fn consumer_error(&self, error: &KafkaError) {
        if let Some(also) = self.sample("", "consumer", 1) {
            tracing::warn!(
                stage = STAGE,
                error = %error,
                similar_not_logged = also,
                message = "Consumer error.",
            );
        }
    }

    /// Storing offsets failed (typically the partitions were revoked meanwhile); the records
    /// will be read again by the new owner.
    pub fn offsets_not_stored(&self, error: &KafkaError) {
        if let Some(also) = self.sample("", "store", 1) {
            tracing::warn!(
                stage = STAGE,
                error = %error,
                similar_not_logged = also,
                message = "Offsets not stored; their records will be read again.",
            );
        }
    }

    /// The stage started consuming.
    pub fn started(&self, group: &str, topic: &str, integrations: usize) {
        tracing::info!(
            stage = STAGE,
            group = %group,
            topic = %topic,
            integrations,
            message = "Normalizer consuming.",
        );
    }

    /// The stage drained and committed.
    pub fn drained(&self, commit: Result<(), String>) {
        match commit {
            Ok(()) => tracing::info!(stage = STAGE, message = "Normalizer drained and committed."),
            Err(error) => tracing::error!(
                stage = STAGE,
                error = %error,
                message = "Final offset commit failed; records since the last commit will be re-read.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            topic: "raw".into(),
            partition: 0,
            offset: 1,
        }
    }

    #[test]
    fn tally_groups_by_source_and_kind() {
        let mut t = Tally::default();
        t.normalized("a");
        t.normalized("a");
        t.skipped("b");
        t.dead_lettered("a", ErrorKind::InvalidValue, "first", &origin());
        t.dead_lettered("a", ErrorKind::InvalidValue, "second", &origin());
        t.dead_lettered("a", ErrorKind::Panic, "boom", &origin());
        assert_eq!(t.totals(), (2, 1, 3));
        assert_eq!(t.panics, 1);
        let sample = &t.dead_lettered[&("a".to_string(), ErrorKind::InvalidValue)];
        assert_eq!((sample.count, sample.message.as_str()), (2, "first"));
    }

    #[test]
    fn warnings_are_sampled_per_source_and_kind() {
        let e = Events::new();
        assert_eq!(e.sample("a", "invalid_value", 3), Some(2));
        assert_eq!(e.sample("a", "invalid_value", 1), None);
        assert_eq!(e.sample("a", "invalid_value", 5), None);
        assert_eq!(e.sample("b", "invalid_value", 1), Some(0));
        assert_eq!(e.sample("a", "unparseable", 1), Some(0));
    }

    #[test]
    fn delivered_batch_bumps_the_counters() {
        let before = metrics()
            .records
            .with_label_values(&[STAGE, "events_test", "dead_lettered"])
            .get();
        let mut t = Tally::default();
        t.dead_lettered("events_test", ErrorKind::Unparseable, "x", &origin());
        t.normalized("events_test");
        Events::new().batch_delivered(&t);
        let m = metrics();
        let after = m
            .records
            .with_label_values(&[STAGE, "events_test", "dead_lettered"])
            .get();
        assert_eq!(after - before, 1);
        assert!(
            m.dead_letters
                .with_label_values(&[STAGE, "events_test", "unparseable"])
                .get()
                >= 1
        );
    }
}
