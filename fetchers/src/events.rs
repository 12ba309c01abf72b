//! Every event the fetcher reports, in one place: each function writes the log line and bumps
//! the counters together, so the two never drift. Metric names and labels follow
//! `docs/CONTRACTS.md`; counts are per batch (a page, a run), not per item.

use std::time::Duration;

use iocflow_service::metrics::metrics;

use crate::error::FetchError;

const STAGE: &str = "fetch";

/// Items framed from one page: `fetched` counts all of them, `skipped` the counted skips.
pub fn items_framed(source: &str, fetched: u64, skipped: &[(&'static str, u64)]) {
    let m = metrics();
    m.records
        .with_label_values(&[STAGE, source, "fetched"])
        .inc_by(fetched);
    let total: u64 = skipped.iter().map(|(_, n)| n).sum();
    if total > 0 {
        m.records
            .with_label_values(&[STAGE, source, "skipped"])
            .inc_by(total);
    }
    tracing::debug!(source, fetched, skipped = total, message = "Page framed.");
}

/// An item longer than `max_item_bytes` was skipped (also counted by [`items_framed`]).
pub fn item_too_large(source: &str, sequence: i64, limit: usize) {
    tracing::warn!(
        source,
        sequence,
        max_item_bytes = limit,
        message = "Item larger than max_item_bytes skipped."
    );
}

/// Records of a run were acknowledged by the broker.
pub fn records_produced(source: &str, count: u64) {
    if count > 0 {
        metrics()
            .records
            .with_label_values(&[STAGE, source, "produced"])
            .inc_by(count);
    }
    tracing::debug!(source, count, message = "Records delivered.");
}

/// One HTTP request finished; `status` is `None` for a transport error.
pub fn http_requested(source: &str, status: Option<u16>) {
    let class = match status {
        None => "error",
        Some(429) => "429",
        Some(s) if s < 300 => "2xx",
        Some(s) if s < 400 => "3xx",
        Some(s) if s < 500 => "4xx",
        Some(_) => "5xx",
    };
    metrics()
        .http_requests
        .with_label_values(&[source, class])
        .inc();
}

/// A request failed transiently and will be tried again after `delay`.
pub fn request_retried(source: &str, error: &FetchError, delay: Duration) {
    tracing::warn!(
        source,
        error = %error,
        error_type = error.kind(),
        delay_ms = delay.as_millis() as u64,
        message = "Source request failed; retrying."
    );
}

/// A run started.
pub fn run_started(source: &str, fetch_id: &str) {
    tracing::info!(source, fetch_id, message = "Fetch run started.");
}

/// A run finished and its records and state are saved.
pub fn run_succeeded(source: &str, fetch_id: &str, records: u64, duration: Duration) {
    let m = metrics();
    m.fetch_runs.with_label_values(&[source, "success"]).inc();
    m.fetch_duration
        .with_label_values(&[source])
        .observe(duration.as_secs_f64());
    m.source_last_success
        .with_label_values(&[source])
        .set(chrono::Utc::now().timestamp());
    tracing::info!(
        source,
        fetch_id,
        records,
        duration_ms = duration.as_millis() as u64,
        message = "Fetch run succeeded."
    );
}

/// The source answered 304: nothing changed since the last run (a successful run).
pub fn run_not_modified(source: &str, fetch_id: &str, duration: Duration) {
    let m = metrics();
    m.fetch_runs
        .with_label_values(&[source, "not_modified"])
        .inc();
    m.fetch_duration
        .with_label_values(&[source])
        .observe(duration.as_secs_f64());
    m.source_last_success
        .with_label_values(&[source])
        .set(chrono::Utc::now().timestamp());
    tracing::info!(
        source,
        fetch_id,
        message = "Source not modified since the last run."
    );
}

/// A run failed; the integration is tried again on its next tick.
pub fn run_failed(
    source: &str,
    fetch_id: &str,
    error: &FetchError,
    consecutive_failures: i32,
    duration: Duration,
) {
    let m = metrics();
    m.fetch_runs.with_label_values(&[source, "failure"]).inc();
    m.fetch_duration
        .with_label_values(&[source])
        .observe(duration.as_secs_f64());
    tracing::warn!(
        source,
        fetch_id,
        error = %error,
        error_type = error.kind(),
        retriable = error.is_retriable(),
        consecutive_failures,
        message = "Fetch run failed; retrying on the next tick."
    );
}

/// A run stopped early because shutdown began; its state is not saved.
pub fn run_interrupted(source: &str, fetch_id: &str) {
    tracing::info!(
        source,
        fetch_id,
        message = "Fetch run interrupted by shutdown."
    );
}

/// The fetch state of a run could not be saved (the run's records are delivered).
pub fn state_save_failed(source: &str, error: &FetchError) {
    tracing::error!(
        source,
        error = %error,
        error_type = error.kind(),
        message = "Fetch state not saved; the next run repeats this one."
    );
}

/// The fetch-state topic was read at start-up.
pub fn state_loaded(sources: usize, records: u64, duration: Duration) {
    tracing::info!(
        sources,
        records,
        duration_ms = duration.as_millis() as u64,
        message = "Fetch state loaded."
    );
}

/// The fetch-state topic does not exist yet; every integration starts fresh.
pub fn state_topic_missing(topic: &str) {
    tracing::warn!(
        topic,
        message = "Fetch-state topic not found; starting without state."
    );
}
