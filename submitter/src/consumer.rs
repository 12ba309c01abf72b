//! The submitter's consumer loop, and the one place where its offsets are stored.
//!
//! Each turn: collect a batch from the indicators topic ([`crate::batch`]), deliver the decoded
//! indicators to every configured sink, dead-letter what did not decode and what any sink
//! rejected for good, wait for those dead letters to be acknowledged, and only then store the
//! next offset of every partition in the batch. A record counts as submitted when every sink
//! accepted it. The background auto-commit commits stored offsets; the drain commits the rest.
//!
//! A batch that a sink keeps retrying holds the loop. librdkafka expels a member that does not
//! poll within `max.poll.interval.ms`, so after `pause_after` (5 s) the loop pauses its assigned
//! partitions and keeps polling the (now silent) consumer while the sink retries; anything that
//! still arrives (a partition assigned meanwhile) is paused too and carried into the next batch.
//! The partitions are resumed once the batch is done.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iocflow_schemas::Indicator;
use iocflow_service::kafka::{self, METADATA_TIMEOUT};
use iocflow_service::ops::Health;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::batch::{self, Batch, Received};
use crate::config::Settings;
use crate::dead_letters::{DeadLetterWriter, Failed, KIND_REJECTED};
use crate::error::SubmitError;
use crate::events;
use crate::sinks::{Sink, SinkError};

/// How often consumer lag is measured.
const LAG_INTERVAL: Duration = Duration::from_secs(10);

/// What became of one batch.
enum Outcome {
    /// Delivered, dead letters acknowledged, offsets stored.
    Done,
    /// Abandoned at the end of the drain; offsets not stored.
    Abandoned,
}

/// The consumer loop with its clients and sinks.
pub struct SubmitLoop {
    settings: Settings,
    consumer: Arc<StreamConsumer>,
    dead_letters: DeadLetterWriter,
    sinks: Vec<Box<dyn Sink>>,
    health: Arc<Health>,
}

impl SubmitLoop {
    /// Wires the loop; `consumer` must already be subscribed to the indicators topic.
    pub fn new(
        settings: Settings,
        consumer: Arc<StreamConsumer>,
        dead_letters: DeadLetterWriter,
        sinks: Vec<Box<dyn Sink>>,
        health: Arc<Health>,
    ) -> SubmitLoop {
        SubmitLoop {
            settings,
            consumer,
            dead_letters,
            sinks,
            health,
        }
    }

    /// Runs until `shutdown` is cancelled, then finishes (or, after `drain_timeout`, abandons)
    /// the in-flight batch and commits the stored offsets.
    ///
    /// # Errors
    /// [`SubmitError`] when a sink gave up on a batch or a dead letter was not acknowledged;
    /// the batch's offsets are not stored then, so a restart delivers it again.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), SubmitError> {
        let started_at = Instant::now();
        let names: Vec<&'static str> = self.sinks.iter().map(|s| s.name()).collect();
        events::started(
            &self.settings.group_id,
            &self.settings.kafka.topics.indicators,
            &names,
        );

        // The in-flight batch gets `drain_timeout` after the signal, then is abandoned.
        let abandon = CancellationToken::new();
        let drain_timer = {
            let (shutdown, abandon) = (shutdown.clone(), abandon.clone());
            let drain = self.settings.drain_timeout;
            tokio::spawn(async move {
                shutdown.cancelled().await;
                tokio::time::sleep(drain).await;
                abandon.cancel();
            })
        };
        let lag_stop = CancellationToken::new();
        let lag_task = tokio::spawn(measure_lag(
            self.consumer.clone(),
            self.settings.group_id.clone(),
            lag_stop.clone(),
        ));

        self.health.set_ready(true);
        let mut carried = Vec::new();
        let mut result = Ok(());
        while !shutdown.is_cancelled() {
            self.health.beat();
            let batch = batch::collect(
                &self.consumer,
                std::mem::take(&mut carried),
                self.settings.batch_size,
                self.settings.batch_timeout,
                &shutdown,
            )
            .await;
            if batch.is_empty() {
                continue;
            }
            match self.process(batch, &mut carried, &abandon).await {
                Ok(Outcome::Done) => {}
                Ok(Outcome::Abandoned) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }

        self.health.set_ready(false);
        lag_stop.cancel();
        drain_timer.abort();
        let _ = lag_task.await;
        // The synchronous commit waits for the group coordinator; bound it like the drain.
        let consumer = self.consumer.clone();
        let commit = tokio::task::spawn_blocking(move || kafka::commit_stored(&*consumer));
        match tokio::time::timeout(self.settings.drain_timeout, commit).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => events::offsets_not_stored(&e.to_string()),
            Ok(Err(e)) => events::offsets_not_stored(&e.to_string()),
            Err(_) => events::offsets_not_stored("final commit timed out"),
        }
        events::stopped(started_at);
        result
    }

    /// Delivers one batch, dead-letters its failures and stores its offsets.
    async fn process(
        &self,
        batch: Batch,
        carried: &mut Vec<Received>,
        abandon: &CancellationToken,
    ) -> Result<Outcome, SubmitError> {
        let Batch {
            decoded,
            undecodable,
            next_offsets,
        } = batch;
        let indicators: Vec<Indicator> = decoded.iter().map(|d| d.indicator.clone()).collect();

        // Deliver while keeping the consumer polled (see the module docs).
        let verdicts = {
            let delivery = self.deliver_all(&indicators, abandon);
            tokio::pin!(delivery);
            let mut paused: Option<BTreeSet<(String, i32)>> = None;
            let pause_timer = tokio::time::sleep(self.settings.pause_after);
            tokio::pin!(pause_timer);
            let mut beat = tokio::time::interval(Duration::from_secs(1));
            let verdicts = loop {
                tokio::select! {
                    biased;
                    out = &mut delivery => break out,
                    _ = beat.tick() => self.health.beat(),
                    _ = &mut pause_timer, if paused.is_none() => {
                        paused = Some(self.pause_assigned());
                    }
                    received = self.consumer.recv(), if paused.is_some() => match received {
                        Ok(m) => {
                            // A partition assigned (or re-assigned) during the pause:
                            // pause it too, so at most a few records are carried.
                            let r = Received::from_message(&m);
                            self.pause_one(&r.topic, r.partition);
                            if let Some(set) = paused.as_mut() {
                                set.insert((r.topic.clone(), r.partition));
                            }
                            carried.push(r);
                        }
                        Err(e) => events::consumer_error(&e.to_string()),
                    },
                }
            };
            if let Some(set) = paused {
                self.resume(&set, carried.len());
            }
            verdicts
        };

        let verdicts = match verdicts {
            Ok(v) => v,
            Err((_, SinkError::Abandoned)) => {
                events::batch_abandoned(decoded.len() + undecodable.len());
                return Ok(Outcome::Abandoned);
            }
            Err((sink, e)) => {
                events::sink_gave_up(sink, &e.to_string());
                return Err(SubmitError::SinkGaveUp {
                    sink,
                    message: e.to_string(),
                });
            }
        };

        // Everything not accepted by every sink goes to the dead-letter topic.
        let mut failed: Vec<Failed> = undecodable
            .into_iter()
            .map(|u| Failed {
                origin: u.origin,
                source: "unknown".into(),
                kind: u.kind.into(),
                message: u.message,
            })
            .collect();
        let mut submitted: BTreeMap<String, usize> = BTreeMap::new();
        for (d, verdict) in decoded.into_iter().zip(verdicts) {
            match verdict {
                None => *submitted.entry(d.indicator.source).or_default() += 1,
                Some(reason) => failed.push(Failed {
                    origin: d.origin,
                    source: d.indicator.source,
                    kind: KIND_REJECTED.into(),
                    message: reason,
                }),
            }
        }
        self.dead_letters.send_all(&failed).await?;

        // Outputs are acknowledged: now, and only now, the offsets may be stored.
        if let Err(e) = kafka::store_offsets(&*self.consumer, &next_offsets) {
            events::offsets_not_stored(&e.to_string());
        }
        for (source, count) in submitted {
            events::records_submitted(&source, count);
        }
        count_dead_letters(&failed);
        Ok(Outcome::Done)
    }

    /// Delivers to every sink in turn; per record, `None` when all accepted it, or the first
    /// rejection reason.
    async fn deliver_all(
        &self,
        indicators: &[Indicator],
        abandon: &CancellationToken,
    ) -> Result<Vec<Option<String>>, (&'static str, SinkError)> {
        let mut verdicts: Vec<Option<String>> = vec![None; indicators.len()];
        if indicators.is_empty() {
            return Ok(verdicts);
        }
        for sink in &self.sinks {
            let delivery = sink
                .deliver(indicators, abandon)
                .await
                .map_err(|e| (sink.name(), e))?;
            for r in delivery.rejected {
                if let Some(slot) = verdicts.get_mut(r.index) {
                    if slot.is_none() {
                        *slot = Some(r.reason);
                    }
                }
            }
        }
        Ok(verdicts)
    }

    fn pause_assigned(&self) -> BTreeSet<(String, i32)> {
        let mut set = BTreeSet::new();
        match self.consumer.assignment() {
            Ok(tpl) => {
                for e in tpl.elements() {
                    set.insert((e.topic().to_string(), e.partition()));
                }
                if let Err(e) = self.consumer.pause(&tpl) {
                    events::consumer_error(&e.to_string());
                }
            }
            Err(e) => events::consumer_error(&e.to_string()),
        }
        events::partitions_paused(set.len());
        set
    }

    fn pause_one(&self, topic: &str, partition: i32) {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        if let Err(e) = self.consumer.pause(&tpl) {
            events::consumer_error(&e.to_string());
        }
    }

    fn resume(&self, set: &BTreeSet<(String, i32)>, held: usize) {
        let mut tpl = TopicPartitionList::new();
        for (topic, partition) in set {
            tpl.add_partition(topic, *partition);
        }
        if let Err(e) = self.consumer.resume(&tpl) {
            events::consumer_error(&e.to_string());
        }
        events::partitions_resumed(set.len(), held);
    }
}

/// Counts dead letters per (source, kind), once per batch.
fn count_dead_letters(failed: &[Failed]) {
    let mut groups: BTreeMap<(&str, &str), (usize, &str)> = BTreeMap::new();
    for f in failed {
        let entry = groups
            .entry((f.source.as_str(), f.kind.as_str()))
            .or_insert((0, f.message.as_str()));
        entry.0 += 1;
    }
    for ((source, kind), (count, example)) in groups {
        events::records_dead_lettered(source, kind, count, example);
    }
}

/// Every [`LAG_INTERVAL`], sets `iocflow_consumer_lag` for each assigned partition: high
/// watermark minus committed offset. The librdkafka calls block, so they run on the blocking
/// pool.
async fn measure_lag(consumer: Arc<StreamConsumer>, group: String, stop: CancellationToken) {
    let mut tick = tokio::time::interval(LAG_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let consumer = consumer.clone();
        let measured = tokio::task::spawn_blocking(move || lag_of(&consumer)).await;
        match measured {
            Ok(Ok(lags)) => {
                for (topic, partition, lag) in lags {
                    events::lag_measured(&group, &topic, partition, lag);
                }
            }
            Ok(Err(e)) => events::lag_failed(&e.to_string()),
            Err(e) => events::lag_failed(&e.to_string()),
        }
    }
}

fn lag_of(
    consumer: &StreamConsumer,
) -> Result<Vec<(String, i32, i64)>, rdkafka::error::KafkaError> {
    let assignment = consumer.assignment()?;
    if assignment.count() == 0 {
        return Ok(Vec::new());
    }
    let committed = consumer.committed_offsets(assignment, METADATA_TIMEOUT)?;
    let mut lags = Vec::new();
    for e in committed.elements() {
        let (low, high) = consumer.fetch_watermarks(e.topic(), e.partition(), METADATA_TIMEOUT)?;
        let position = match e.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        lags.push((
            e.topic().to_string(),
            e.partition(),
            (high - position).max(0),
        ));
    }
    Ok(lags)
}
