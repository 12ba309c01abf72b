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
//!
//! # Limitations
//! - JSON framing checks the structure around the items array but not inside an element: a
//!   broken element is passed on and the normalizer dead-letters it.
//! - `response.status_pointer` is judged when the body ends; items that came before an error
//!   status in the same body are already produced (abuse.ch error bodies carry no items).
//! - A body that breaks off mid-stream fails the run; the page is not re-requested within the
//!   run, the whole run is retried on the next tick (records already sent are duplicates, which
//!   downstream ids absorb).
//! - A run interrupted by shutdown does not save its state, so the next run repeats it.
//! - ETag/Last-Modified are only sent for unpaginated sources.
//! - `Retry-After` is honoured up to 300 s; redirects are followed only on the same host.
//! - Each `too_large` skip logs one WARN; these are not rate-limited yet.
//! - librdkafka needs a `group.id` for the fetch-state reader's `assign()`; the reader never
//!   joins that group nor commits to it.

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
#[cfg(test)]
mod test_support;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{serve, Reply};
    use iocflow_schemas::{codec, FetchState, RawRecord};
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
    use std::time::Instant;

    const SPEC: &str = r##"
name = "paged"
title = "Paged test API"
key_field = "id"
[request]
url = "https://api.example.org/v1/items"
[auth]
kind = "header"
name = "X-Key"
secret_env = "IOCFLOW_TEST_PAGED_KEY"
[response]
status_pointer = "/status"
status_ok = ["ok"]
[pagination]
kind = "next_link"
pointer = "/next"
[cursor]
field = "id"
param = "since"
[framing]
kind = "json"
items_pointer = "/data"
[mapping]
type = "url"
value = "url"
"##;

    fn read_all(bootstrap: &str, topic: &str, want: usize) -> Vec<(String, Vec<u8>)> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&tpl).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut out = Vec::new();
        while out.len() < want && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                out.push((key, m.payload().unwrap_or_default().to_vec()));
            }
        }
        out
    }

    /// A temp dir, a mock cluster with the raw and fetch-state topics, and a fetcher config for the `paged`
    /// integration (`SPEC`) pointed at `addr`, with `extra` lines in `[fetcher]`.
    fn paged_fixture(
        test: &str,
        addr: std::net::SocketAddr,
        extra: &str,
    ) -> (
        std::path::PathBuf,
        MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
        FetcherConfig,
    ) {
        std::env::set_var("IOCFLOW_TEST_PAGED_KEY", "hunter2-paged");
        let dir = std::env::temp_dir().join(format!("iocflow-fetch-{test}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("paged")).unwrap();
        std::fs::write(dir.join("paged/spec.toml"), SPEC).unwrap();

        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("iocflow.raw", 1, 1).unwrap();
        cluster.create_topic("iocflow.fetch-state", 1, 1).unwrap();
        let text = format!(
            "[kafka]\nbootstrap_servers = \"{}\"\n[fetcher]\nintegrations_dir = \"{}\"\n{extra}[integrations.paged]\nbase_url = \"http://{addr}/paged\"\n",
            cluster.bootstrap_servers(),
            dir.display()
        );
        std::fs::write(dir.join("fetcher.toml"), &text).unwrap();
        let config =
            iocflow_service::config::load(Some(&dir.join("fetcher.toml")), Vec::new()).unwrap();
        (dir, cluster, config)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn once_run_pages_produces_records_and_saves_state() {
        // Source: page 1 fails once with 503, then links to page 2 by an absolute URL on the
        // spec's host (rewritten onto the loopback base URL).
        let (addr, seen) = serve(|target, attempt| {
            if target.contains("page=2") {
                Reply::ok(br#"{"status": "ok", "data": [{"id": "3", "url": "http://c/"}], "next": null}"#)
            } else if attempt == 0 {
                Reply::status(503)
            } else {
                Reply::ok(
                    br#"{"status": "ok", "data": [{"id": "1", "url": "http://a/"}, {"id": "2", "url": "http://b/"}],
                        "next": "https://api.example.org/v1/items?page=2"}"#,
                )
            }
        })
        .await;
        let (dir, cluster, config) = paged_fixture(
            "once",
            addr,
            "state_load_timeout_ms = 10000\ndrain_timeout_ms = 5000\n",
        );
        let bootstrap = cluster.bootstrap_servers();
        let options = || RunOptions {
            once: true,
            health: Health::new(),
        };

        let report = run_with(config.clone(), CancellationToken::new(), options())
            .await
            .unwrap();
        assert!(report.failed_sources.is_empty(), "{report:?}");

        let bootstrap_c = bootstrap.clone();
        let raw = tokio::task::spawn_blocking(move || read_all(&bootstrap_c, "iocflow.raw", 3))
            .await
            .unwrap();
        let keys: Vec<&str> = raw.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["paged:1", "paged:2", "paged:3"]);
        let records: Vec<RawRecord> = raw
            .iter()
            .map(|(_, v)| codec().decode::<RawRecord>(v).unwrap())
            .collect();
        assert_eq!(
            records[0].payload,
            br#"{"id": "1", "url": "http://a/"}"#.to_vec()
        );
        assert_eq!(records[2].sequence, 2);
        assert_eq!(records[2].framing, "json_value");
        assert!(records[2].request_url.ends_with("/paged/v1/items?page=2"));
        assert!(records
            .iter()
            .all(|r| r.source == "paged" && r.fetch_id == records[0].fetch_id));

        let bootstrap_c = bootstrap.clone();
        let states =
            tokio::task::spawn_blocking(move || read_all(&bootstrap_c, "iocflow.fetch-state", 1))
                .await
                .unwrap();
        assert_eq!(states[0].0, "paged");
        let state: FetchState = codec().decode(&states[0].1).unwrap();
        assert_eq!(state.cursor.as_deref(), Some("3"));
        assert_eq!(state.consecutive_failures, 0);
        assert_eq!(state.records_last_fetch, 3);

        {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 3, "{seen:?}");
            assert!(seen
                .iter()
                .all(|(_, h)| h.get("x-key").map(String::as_str) == Some("hunter2-paged")));
        }

        // A second process reads the state back and sends the cursor.
        let report = run_with(config, CancellationToken::new(), options())
            .await
            .unwrap();
        assert!(report.failed_sources.is_empty());
        let seen = seen.lock().unwrap();
        assert!(seen[3].0.contains("since=3"), "{:?}", seen[3]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failing_source_is_recorded_and_reported() {
        let (addr, _) = serve(|_, _| Reply::ok(br#"{"status": "unknown_auth_key"}"#)).await;
        let (dir, cluster, config) = paged_fixture("fail", addr, "");
        let bootstrap = cluster.bootstrap_servers();
        let report = run_with(
            config,
            CancellationToken::new(),
            RunOptions {
                once: true,
                health: Health::new(),
            },
        )
        .await
        .unwrap();
        assert_eq!(report.failed_sources, vec!["paged".to_string()]);

        let states =
            tokio::task::spawn_blocking(move || read_all(&bootstrap, "iocflow.fetch-state", 1))
                .await
                .unwrap();
        let state: FetchState = codec().decode(&states[0].1).unwrap();
        assert_eq!(state.consecutive_failures, 1);
        let last_error = state.last_error.unwrap();
        assert!(last_error.contains("unknown_auth_key"), "{last_error}");
        assert!(!last_error.contains("hunter2"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
