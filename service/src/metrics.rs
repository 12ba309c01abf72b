//! The Prometheus metrics every iocflow stage reports, registered once per process.
//!
//! Names follow Prometheus conventions with the `iocflow_` prefix; label values come from
//! bounded sets (stage, integration name, outcome, error kind) and never carry an indicator, a
//! URL or an error message. Each stage's `events` module is the one place that both logs an
//! event and bumps its counter.

use std::sync::OnceLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Metric handles shared by all stages.
pub struct Metrics {
    registry: Registry,
    /// `iocflow_records_total{stage,source,outcome}`: records through a stage by outcome
    /// (fetcher: fetched, skipped, produced; normalizer: normalized, dead_lettered, skipped;
    /// submitter: submitted, dead_lettered).
    pub records: IntCounterVec,
    /// `iocflow_dead_letters_total{stage,source,kind}`: dead letters by error kind.
    pub dead_letters: IntCounterVec,
    /// `iocflow_fetch_runs_total{source,outcome}`: fetch runs by outcome (success, failure,
    /// not_modified).
    pub fetch_runs: IntCounterVec,
    /// `iocflow_fetch_duration_seconds{source}`: duration of fetch runs.
    pub fetch_duration: HistogramVec,
    /// `iocflow_http_requests_total{source,status}`: source requests by status class
    /// (2xx, 3xx, 4xx, 429, 5xx, error).
    pub http_requests: IntCounterVec,
    /// `iocflow_source_last_success_timestamp_seconds{source}`: end of the last successful run,
    /// for "feed went silent" alerts.
    pub source_last_success: IntGaugeVec,
    /// `iocflow_sink_latency_seconds{sink}`: time from sending a batch to its acknowledgement.
    pub sink_latency: HistogramVec,
    /// `iocflow_sink_batches_total{sink,outcome}`: batches by outcome (ok, retried, rejected).
    pub sink_batches: IntCounterVec,
    /// `iocflow_consumer_lag{group,topic,partition}`: records between the committed position and
    /// the high watermark of each assigned partition.
    pub consumer_lag: IntGaugeVec,
    /// `iocflow_panics_caught_total{stage}`: records whose processing panicked (dead-lettered).
    pub panics: IntCounterVec,
}

/// The process-wide metrics.
///
/// # Panics
/// Never in practice: registration only fails on a duplicate name, and names are fixed here.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    #[allow(clippy::expect_used)]
    M.get_or_init(|| Metrics::new().expect("metric names are unique"))
}

impl Metrics {
    fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        let histogram = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
            let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok::<_, prometheus::Error>(h)
        };

        Ok(Metrics {
            records: counter(
                "iocflow_records_total",
                "Records through a stage, by outcome.",
                &["stage", "source", "outcome"],
            )?,
            dead_letters: counter(
                "iocflow_dead_letters_total",
                "Dead letters written, by error kind.",
                &["stage", "source", "kind"],
            )?,
            fetch_runs: counter(
                "iocflow_fetch_runs_total",
                "Fetch runs, by outcome.",
                &["source", "outcome"],
            )?,
            fetch_duration: histogram(
                "iocflow_fetch_duration_seconds",
                "Duration of fetch runs.",
                &["source"],
                vec![0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0],
            )?,
            http_requests: counter(
                "iocflow_http_requests_total",
                "Requests to sources, by status class.",
                &["source", "status"],
            )?,
            source_last_success: gauge(
                "iocflow_source_last_success_timestamp_seconds",
                "Unix time of the end of the last successful fetch run.",
                &["source"],
            )?,
            sink_latency: histogram(
                "iocflow_sink_latency_seconds",
                "Time from sending a batch to its acknowledgement.",
                &["sink"],
                vec![0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0],
            )?,
            sink_batches: counter(
                "iocflow_sink_batches_total",
                "Batches sent to a sink, by outcome.",
                &["sink", "outcome"],
            )?,
            consumer_lag: gauge(
                "iocflow_consumer_lag",
                "Records between the committed offset and the high watermark.",
                &["group", "topic", "partition"],
            )?,
            panics: counter(
                "iocflow_panics_caught_total",
                "Records whose processing panicked and were dead-lettered.",
                &["stage"],
            )?,
            registry,
        })
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if encoder.encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
