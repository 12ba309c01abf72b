//! The one place where the submitter logs an event and counts it, so logs and metrics never
//! drift apart. Everything is counted per batch, never logged per record; repeated warnings and
//! errors are rate-limited to one line per 10-second window, with the number suppressed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use iocflow_service::metrics::metrics;

/// Stage label of every record counted here.
const STAGE: &str = "submit";
/// Width of a rate-limit window.
const WINDOW_MS: u64 = 10_000;

/// Lets one log line through per window and counts what it held back.
struct RateLimit {
    window_start_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimit {
    const fn new() -> RateLimit {
        RateLimit {
            window_start_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(suppressed since the last line)` when a line may be written now.
    fn check(&self) -> Option<u64> {
        let now = now_ms();
        let start = self.window_start_ms.load(Ordering::Relaxed);
        if now.saturating_sub(start) >= WINDOW_MS
            && self
                .window_start_ms
                .compare_exchange(start, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

static SINK_RETRY: RateLimit = RateLimit::new();
static SINK_UNAUTHORIZED: RateLimit = RateLimit::new();
static DEAD_LETTERED: RateLimit = RateLimit::new();
static CONSUMER_ERROR: RateLimit = RateLimit::new();
static LAG_FAILED: RateLimit = RateLimit::new();

/// Records of one source that every sink accepted.
pub(crate) fn records_submitted(source: &str, count: usize) {
    metrics()
        .records
        .with_label_values(&[STAGE, source, "submitted"])
        .inc_by(count as u64);
    tracing::trace!(source, count, message = "Records submitted.");
}

/// Records of one source sent to the dead-letter topic with one error kind.
pub(crate) fn records_dead_lettered(source: &str, kind: &str, count: usize, example: &str) {
    let m = metrics();
    m.records
        .with_label_values(&[STAGE, source, "dead_lettered"])
        .inc_by(count as u64);
    m.dead_letters
        .with_label_values(&[STAGE, source, kind])
        .inc_by(count as u64);
    if let Some(suppressed) = DEAD_LETTERED.check() {
        tracing::warn!(
            stage = STAGE,
            source,
            kind,
            count,
            example_reason = example,
            suppressed,
            message = "Records dead-lettered."
        );
    }
}

/// A sink finished a batch (after any retries).
pub(crate) fn sink_batch_delivered(sink: &'static str, rejected: usize, elapsed: Duration) {
    let m = metrics();
    m.sink_latency
        .with_label_values(&[sink])
        .observe(elapsed.as_secs_f64());
    let outcome = if rejected == 0 { "ok" } else { "rejected" };
    m.sink_batches.with_label_values(&[sink, outcome]).inc();
    tracing::debug!(
        sink,
        rejected,
        elapsed_ms = elapsed.as_millis() as u64,
        message = "Batch delivered."
    );
}

/// A sink hit a transient failure and will retry after `delay`.
pub(crate) fn sink_retrying(sink: &'static str, error: &str, delay: Duration) {
    metrics()
        .sink_batches
        .with_label_values(&[sink, "retried"])
        .inc();
    if let Some(suppressed) = SINK_RETRY.check() {
        tracing::warn!(
            sink,
            error,
            delay_ms = delay.as_millis() as u64,
            suppressed,
            message = "Sink failed transiently; retrying."
        );
    }
}

/// The platform refused the credentials (401/403): an operator must act.
pub(crate) fn sink_unauthorized(sink: &'static str, status: u16) {
    if let Some(suppressed) = SINK_UNAUTHORIZED.check() {
        tracing::error!(
            sink,
            status,
            suppressed,
            message = "Platform refused the credentials; retrying, not ready until it accepts."
        );
    }
}

/// A sink gave up on a batch; the process stops without storing its offsets.
pub(crate) fn sink_gave_up(sink: &'static str, error: &str) {
    metrics()
        .sink_batches
        .with_label_values(&[sink, "failed"])
        .inc();
    tracing::error!(
        sink,
        error,
        message = "Sink gave up on a batch; stopping without storing its offsets."
    );
}

/// The consumer reported an error while fetching.
pub(crate) fn consumer_error(error: &str) {
    if let Some(suppressed) = CONSUMER_ERROR.check() {
        tracing::warn!(error, suppressed, message = "Consumer error.");
    }
}

/// Offsets could not be stored (usually: the partition was revoked meanwhile; its new owner
/// re-delivers those records).
pub(crate) fn offsets_not_stored(error: &str) {
    tracing::warn!(
        error,
        message = "Offsets not stored; the records will be delivered again."
    );
}

/// Partitions were paused while a batch is retried.
pub(crate) fn partitions_paused(count: usize) {
    tracing::info!(
        partitions = count,
        message = "Partitions paused while a batch is retried."
    );
}

/// Paused partitions were resumed.
pub(crate) fn partitions_resumed(count: usize, held: usize) {
    tracing::info!(
        partitions = count,
        held_records = held,
        message = "Partitions resumed."
    );
}

/// Consumer lag of one partition.
pub(crate) fn lag_measured(group: &str, topic: &str, partition: i32, lag: i64) {
    metrics()
        .consumer_lag
        .with_label_values(&[group, topic, &partition.to_string()])
        .set(lag);
}

/// Consumer lag could not be measured.
pub(crate) fn lag_failed(error: &str) {
    if let Some(suppressed) = LAG_FAILED.check() {
        tracing::warn!(error, suppressed, message = "Consumer lag not measured.");
    }
}

/// The in-flight batch was abandoned at the end of the drain; its offsets were not stored.
pub(crate) fn batch_abandoned(records: usize) {
    tracing::warn!(
        records,
        message = "Drain timeout reached; in-flight batch abandoned without storing offsets."
    );
}

/// The consumer loop started.
pub(crate) fn started(group: &str, topic: &str, sinks: &[&'static str]) {
    tracing::info!(group, topic, sinks = ?sinks, message = "Submitter started.");
}

/// The consumer loop stopped after its drain.
pub(crate) fn stopped(started_at: Instant) {
    tracing::info!(
        uptime_secs = started_at.elapsed().as_secs(),
        message = "Submitter stopped."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_lets_one_line_through_per_window() {
        let limit = RateLimit::new();
        assert_eq!(limit.check(), Some(0));
        assert_eq!(limit.check(), None);
        assert_eq!(limit.check(), None);
        limit.window_start_ms.store(0, Ordering::Relaxed);
        assert_eq!(limit.check(), Some(2));
    }
}
