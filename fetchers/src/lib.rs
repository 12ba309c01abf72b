//! The iocflow fetcher: runs every enabled integration on its schedule and writes one raw record
//! per source item to the raw topic, untouched, for the normalizer.
//!
//! Layout (in the order data flows):
//! - [`config`]: the `[kafka]`, `[ops]`, `[fetcher]` and `[integrations.<name>]` settings.
//! - [`catalog`]: the integration specs, with operator overrides (`base_url`, ...) applied.
//! - [`scheduler`]: when each integration runs, and how many at once.
//! - [`run`]: one fetch run: pages, framing, records, fetch state.
//! - [`http`]: request building with auth, retries with backoff, pagination.
//! - [`framing`]: cutting a streamed body into items (CSV rows, text lines, JSON elements).
//! - [`produce`]: raw records to Kafka, with bounded in-flight deliveries.
//! - [`state`]: the fetch-state topic (cursor, ETag, failures) read at start-up and saved per run.
//! - [`events`]: every log line and metric the fetcher emits.
//! - [`error`]: the error type with its retriable/permanent split.

pub mod catalog;
pub mod config;
pub mod error;
pub mod events;
pub mod framing;
pub mod http;
pub mod produce;
pub mod run;
pub mod scheduler;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use iocflow_service::kafka::METADATA_TIMEOUT;
use iocflow_service::ops::Health;
use rdkafka::producer::Producer;
use tokio_util::sync::CancellationToken;

pub use crate::catalog::Catalog;
pub use crate::config::FetcherConfig;
pub use crate::error::FetchError;

use crate::http::retry::RetryPolicy;
use crate::produce::RawProducer;
use crate::run::RunContext;
use crate::state::StateStore;

/// How [`run_with`] runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Run every enabled integration once, then return (`--once`).
    pub once: bool,
    /// Readiness and liveness, shared with the ops endpoint.
    pub health: Arc<Health>,
}

/// What a finished fetcher reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Integrations whose run failed (only filled with `once`).
    pub failed_sources: Vec<String>,
}

/// Runs the fetcher on its schedule until `shutdown` is cancelled, then drains.
///
/// # Errors
/// As [`run_with`].
pub async fn run(config: FetcherConfig, shutdown: CancellationToken) -> Result<Report, FetchError> {
    let options = RunOptions {
        once: false,
        health: Health::new(),
    };
    run_with(config, shutdown, options).await
}

/// Loads the catalog and the fetch state, then runs integrations (once, or on their schedule
/// until `shutdown`), and flushes the producer within `drain_timeout_ms`.
///
/// # Errors
/// [`FetchError::Config`] for a bad config or catalog; [`FetchError::Kafka`] when the broker
/// cannot be reached, the fetch state not loaded, or the producer not flushed in time. Failing
/// sources are not errors: they are in [`Report::failed_sources`].
pub async fn run_with(
    config: FetcherConfig,
    shutdown: CancellationToken,
    options: RunOptions,
) -> Result<Report, FetchError> {
    config.validate()?;
    let catalog = Catalog::load(&config)?;
    let topics = &config.kafka.topics;
    let kafka_error = |operation: &'static str, topic: &str, e: String| FetchError::Kafka {
        operation,
        topic: topic.to_string(),
        message: e,
    };

    // Connect: the producer, then a metadata round trip proves the broker answers.
    let producer = config
        .kafka
        .producer("iocflow-fetcher")
        .map_err(|e| kafka_error("create producer", &topics.raw, e.to_string()))?;
    let probe = producer.clone();
    tokio::task::spawn_blocking(move || probe.client().fetch_metadata(None, METADATA_TIMEOUT))
        .await
        .map_err(|e| kafka_error("connect", &topics.raw, e.to_string()))?
        .map_err(|e| kafka_error("connect", &topics.raw, e.to_string()))?;

    let states = tokio::select! {
        s = state::load_states(&config.kafka, config.fetcher.state_load_timeout()) => s?,
        () = shutdown.cancelled() => return Ok(Report::default()),
    };
    let ctx = Arc::new(RunContext {
        producer: RawProducer::new(producer.clone(), topics.raw.clone()),
        state: Arc::new(StateStore::new(
            states,
            producer.clone(),
            topics.fetch_state.clone(),
        )),
        http: run::http_client()?,
        stop: shutdown.clone(),
        retry: RetryPolicy::with_attempts(1),
    });
    options.health.set_ready(true);
    let beat = spawn_heartbeat(options.health.clone(), shutdown.clone());

    let integrations: Vec<_> = catalog.enabled().cloned().collect();
    tracing::info!(
        integrations = integrations.len(),
        once = options.once,
        message = "Fetcher started."
    );
    let max = config.fetcher.max_concurrent_fetches;
    let drain = config.fetcher.drain_timeout();
    let mut report = Report::default();
    if options.once {
        report.failed_sources = scheduler::run_once(ctx, integrations, max).await;
    } else {
        scheduler::run_forever(ctx, integrations, max, shutdown.clone(), drain).await;
    }

    options.health.set_ready(false);
    beat.abort();
    tokio::task::spawn_blocking(move || producer.flush(drain))
        .await
        .map_err(|e| kafka_error("flush", &config.kafka.topics.raw, e.to_string()))?
        .map_err(|e| kafka_error("flush", &config.kafka.topics.raw, e.to_string()))?;
    tracing::info!(message = "Fetcher stopped.");
    Ok(report)
}

/// Reports liveness while the scheduler runs (runs themselves may take longer than the
/// liveness timeout, so the beat does not depend on them).
fn spawn_heartbeat(health: Arc<Health>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = ticks.tick() => health.beat(),
                () = stop.cancelled() => return,
            }
        }
    })
}
