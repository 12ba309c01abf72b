//! The submitter's consumer loop end to end on librdkafka's in-process mock cluster, against a
//! test platform on 127.0.0.1:0: 20 encoded indicators and one undecodable record in, the
//! platform rejects one indicator. Expected: 19 indicators received by the platform, two dead
//! letters with their kind in the record and the headers, committed offset at the end of the
//! partition.

// Test helpers outside `#[test]` functions panic on failure like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use iocflow_schemas::{codec, DeadLetter, Indicator};
use iocflow_service::kafka::{headers, KafkaConfig, TopicNames};
use iocflow_service::ops::{Health, OpsConfig};
use iocflow_service::secret::Secret;
use iocflow_submitter::config::{HttpSettings, Settings};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use url::Url;

const BAD_VALUE: &str = "d7.example";

/// A mock cluster with the indicators topic (`partitions` partitions) and the submitter's
/// dead-letter topic, and a Kafka config that points at it.
fn mock_kafka(partitions: i32) -> (MockCluster<'static, DefaultProducerContext>, KafkaConfig) {
    let cluster = MockCluster::new(1).unwrap();
    let topics = TopicNames::default();
    cluster
        .create_topic(&topics.indicators, partitions, 1)
        .unwrap();
    cluster.create_topic(&topics.dlq_submit, 1, 1).unwrap();
    let kafka = KafkaConfig {
        bootstrap_servers: cluster.bootstrap_servers(),
        properties: BTreeMap::new(),
        secret_properties: BTreeMap::new(),
        topics,
    };
    (cluster, kafka)
}

/// Produces `(key, payload)` records to the indicators topic, in order.
async fn produce(kafka: &KafkaConfig, records: &[(String, Vec<u8>)]) {
    let producer = kafka.producer("test-producer").unwrap();
    for (key, payload) in records {
        producer
            .send(
                FutureRecord::to(&kafka.topics.indicators)
                    .key(key)
                    .payload(payload),
                Timeout::After(Duration::from_secs(5)),
            )
            .await
            .unwrap();
    }
}

/// Encoded indicators valued `<prefix><n>.example` for every `n` of `range`, keyed by id.
fn indicators(prefix: &str, range: std::ops::Range<usize>) -> Vec<(String, Vec<u8>)> {
    range
        .map(|i| {
            let ind = indicator(&format!("{prefix}{i}.example"));
            (ind.id.clone(), codec().encode(&ind).unwrap())
        })
        .collect()
}

/// Submitter settings for `kafka` and an HTTP platform at `url` that retries forever with
/// backoff between `backoff.0` and `backoff.1`; the tests adjust the rest.
fn settings(kafka: KafkaConfig, group: &str, url: Url, backoff: (u64, u64)) -> Settings {
    Settings {
        kafka,
        ops: OpsConfig::default(),
        group_id: group.into(),
        batch_size: 8,
        batch_timeout: Duration::from_millis(100),
        drain_timeout: Duration::from_secs(10),
        http: Some(HttpSettings {
            url,
            token: None,
            timeout: Duration::from_secs(5),
            max_attempts: 0,
            min_backoff: Duration::from_millis(backoff.0),
            max_backoff: Duration::from_millis(backoff.1),
        }),
        file_dir: None,
        pause_after: Duration::from_secs(5),
    }
}

/// Runs the submitter with `settings` until the returned token is cancelled.
fn start(
    settings: Settings,
    health: Arc<Health>,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), iocflow_submitter::SubmitError>>,
) {
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(iocflow_submitter::run(settings, health, shutdown.clone()));
    (shutdown, running)
}

fn indicator(value: &str) -> Indicator {
    Indicator {
        id: format!("indicator--{value}"),
        kind: "domain".into(),
        value: value.into(),
        port: None,
        source: "mocksource".into(),
        source_ref: None,
        first_seen_ms: None,
        last_seen_ms: None,
        confidence: Some(50),
        tlp: "clear".into(),
        tags: vec!["t".into()],
        threat_types: vec![],
        malware_families: vec![],
        fetch_id: "f".into(),
        raw_topic: "iocflow.raw".into(),
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

/// A platform that accepts everything except [`BAD_VALUE`], which it lists as rejected.
async fn spawn_platform() -> (Url, Arc<Mutex<Vec<String>>>) {
    async fn handle(State(seen): State<Arc<Mutex<Vec<String>>>>, body: String) -> Response {
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let mut rejected = Vec::new();
        for item in parsed["indicators"].as_array().cloned().unwrap_or_default() {
            let value = item["value"].as_str().unwrap_or_default().to_string();
            if value == BAD_VALUE {
                rejected.push(serde_json::json!({"id": item["id"], "reason": "not allowed"}));
            } else {
                seen.lock().unwrap().push(value);
            }
        }
        (
            StatusCode::OK,
            serde_json::json!({ "rejected": rejected }).to_string(),
        )
            .into_response()
    }

    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/indicators", post(handle))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        Url::parse(&format!("http://{addr}/indicators")).unwrap(),
        seen,
    )
}

async fn wait_for(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn header_map(m: &impl Message) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(h) = m.headers() {
        for header in h.iter() {
            let value = header
                .value
                .map(|v| String::from_utf8_lossy(v).to_string())
                .unwrap_or_default();
            out.insert(header.key.to_string(), value);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_submits_dead_letters_and_commits_to_the_end() {
    let (_cluster, kafka) = mock_kafka(1);
    let topics = kafka.topics.clone();

    // 20 indicators and one record that is not Avro.
    let mut payloads = indicators("d", 0..20);
    payloads.insert(11, ("garbage".into(), b"{not avro}".to_vec()));
    produce(&kafka, &payloads).await;

    let (url, seen) = spawn_platform().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        file_dir: Some(PathBuf::from(dir.path())),
        ..settings(kafka.clone(), "submitter-mock-test", url, (10, 100))
    };
    let health = Health::new();
    let (shutdown, running) = start(settings, health.clone());

    // The platform receives the 19 good indicators.
    wait_for(
        "19 indicators at the platform",
        Duration::from_secs(60),
        || seen.lock().unwrap().len() >= 19,
    )
    .await;
    assert!(health.is_ready());

    // Two dead letters: the rejected indicator and the undecodable record.
    let dlq: BaseConsumer = kafka
        .client_config("dlq-reader")
        .set("group.id", "dlq-reader")
        .set("enable.partition.eof", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topics.dlq_submit, 0, Offset::Beginning)
        .unwrap();
    dlq.assign(&tpl).unwrap();
    let mut letters = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    while letters.len() < 2 && Instant::now() < until {
        if let Some(Ok(m)) = dlq.poll(Duration::from_millis(100)) {
            let letter: DeadLetter = codec().decode(m.payload().unwrap()).unwrap();
            letters.push((letter, header_map(&m)));
        }
    }
    assert_eq!(letters.len(), 2, "dead letters: {letters:?}");
    letters.sort_by_key(|(l, _)| l.original_offset);

    let (undecodable, h0) = &letters[1];
    assert_eq!(undecodable.original_offset, 11);
    assert_eq!(undecodable.error_kind, "undecodable");
    assert_eq!(undecodable.source, "unknown");
    assert_eq!(undecodable.original_value, b"{not avro}".to_vec());
    assert_eq!(h0[headers::ERROR_KIND], "undecodable");

    let (rejected, h1) = &letters[0];
    assert_eq!(rejected.stage, "submit");
    assert_eq!(rejected.error_kind, "rejected");
    assert_eq!(rejected.source, "mocksource");
    assert!(rejected.error_message.contains("not allowed"));
    assert_eq!(rejected.original_topic, topics.indicators);
    assert_eq!(rejected.original_offset, 7);
    let original: Indicator = codec().decode(&rejected.original_value).unwrap();
    assert_eq!(original.value, BAD_VALUE);
    assert_eq!(h1[headers::STAGE], "submit");
    assert_eq!(h1[headers::SOURCE], "mocksource");
    assert_eq!(h1[headers::ERROR_KIND], "rejected");
    assert_eq!(h1[headers::ORIGINAL_TOPIC], topics.indicators);
    assert_eq!(h1[headers::ORIGINAL_PARTITION], "0");
    assert_eq!(h1[headers::ORIGINAL_OFFSET], "7");

    // Drain, then the committed offset is the end of the partition.
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let reader: BaseConsumer = kafka
        .client_config("offset-reader")
        .set("group.id", "submitter-mock-test")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&kafka.topics.indicators, 0);
    let committed = reader
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    let offset = committed
        .find_partition(&topics.indicators, 0)
        .unwrap()
        .offset();
    assert_eq!(offset, Offset::Offset(21));

    let mut accepted = seen.lock().unwrap().clone();
    accepted.sort();
    accepted.dedup();
    assert_eq!(accepted.len(), 19);
    assert!(!accepted.contains(&BAD_VALUE.to_string()));

    // The file sink wrote every indicator it accepted (all 20, the platform's rejection is
    // the HTTP sink's alone).
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let lines = std::fs::read_to_string(file).unwrap();
    assert_eq!(lines.lines().count(), 20);
}

/// A platform that answers 503 until `open` is set, then accepts everything.
async fn spawn_flaky_platform() -> (
    Url,
    Arc<AtomicBool>,
    Arc<AtomicUsize>,
    Arc<Mutex<Vec<String>>>,
) {
    #[derive(Clone)]
    struct Flaky {
        open: Arc<AtomicBool>,
        refused: Arc<AtomicUsize>,
        seen: Arc<Mutex<Vec<String>>>,
    }
    async fn handle(State(p): State<Flaky>, body: String) -> Response {
        if !p.open.load(Ordering::SeqCst) {
            p.refused.fetch_add(1, Ordering::SeqCst);
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        for item in parsed["indicators"].as_array().cloned().unwrap_or_default() {
            let value = item["value"].as_str().unwrap_or_default().to_string();
            p.seen.lock().unwrap().push(value);
        }
        StatusCode::OK.into_response()
    }

    let state = Flaky {
        open: Arc::new(AtomicBool::new(false)),
        refused: Arc::new(AtomicUsize::new(0)),
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    let app = Router::new()
        .route("/indicators", post(handle))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        Url::parse(&format!("http://{addr}/indicators")).unwrap(),
        state.open,
        state.refused,
        state.seen,
    )
}

/// A batch retried for longer than `max.poll.interval.ms` must not cost the consumer its group
/// membership: the partitions are paused and the consumer kept polled, so after the platform
/// recovers every record is delivered exactly once (an expelled member would re-deliver the
/// held batch) and the committed offset reaches the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_retries_pause_partitions_and_keep_the_group() {
    let (_cluster, kafka) = mock_kafka(2);
    let mut properties = BTreeMap::new();
    for (k, v) in [
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "500"),
        ("max.poll.interval.ms", "6000"),
    ] {
        properties.insert(k.to_string(), Secret::new(v));
    }
    let consumer_kafka = KafkaConfig {
        properties,
        ..kafka.clone()
    };
    produce(&kafka, &indicators("p", 0..10)).await;

    let (url, open, refused, seen) = spawn_flaky_platform().await;
    let settings = Settings {
        batch_size: 4,
        pause_after: Duration::from_millis(200),
        ..settings(consumer_kafka, "submitter-pause-test", url, (50, 200))
    };
    let (shutdown, running) = start(settings, Health::new());

    // The platform refuses for well over max.poll.interval.ms while more records arrive.
    wait_for("the first refused batch", Duration::from_secs(30), || {
        refused.load(Ordering::SeqCst) > 0
    })
    .await;
    let refusing_since = Instant::now();
    produce(&kafka, &indicators("p", 10..20)).await;
    wait_for("8 s of refusals", Duration::from_secs(30), || {
        refusing_since.elapsed() > Duration::from_secs(8) && refused.load(Ordering::SeqCst) > 10
    })
    .await;
    open.store(true, Ordering::SeqCst);

    wait_for(
        "20 indicators at the platform",
        Duration::from_secs(60),
        || seen.lock().unwrap().len() >= 20,
    )
    .await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let mut accepted = seen.lock().unwrap().clone();
    accepted.sort();
    let total = accepted.len();
    accepted.dedup();
    assert_eq!(accepted.len(), 20);
    assert_eq!(total, 20, "no record delivered twice");

    let reader: BaseConsumer = kafka
        .client_config("offset-reader")
        .set("group.id", "submitter-pause-test")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&kafka.topics.indicators, 0);
    tpl.add_partition(&kafka.topics.indicators, 1);
    let committed = reader
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    let sum: i64 = committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum();
    assert_eq!(sum, 20);
}

/// SIGTERM while the platform is down: the in-flight batch is abandoned at the end of the drain,
/// `run` returns, and no offset was stored for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_abandons_an_undelivered_batch_without_storing_offsets() {
    let (_cluster, kafka) = mock_kafka(1);
    let topics = kafka.topics.clone();
    produce(&kafka, &indicators("q", 0..5)).await;

    let (url, _open, refused, seen) = spawn_flaky_platform().await;
    let settings = Settings {
        batch_size: 10,
        drain_timeout: Duration::from_millis(300),
        ..settings(kafka.clone(), "submitter-abandon-test", url, (20, 100))
    };
    let (shutdown, running) = start(settings, Health::new());
    wait_for("a refused batch", Duration::from_secs(30), || {
        refused.load(Ordering::SeqCst) > 0
    })
    .await;

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    assert!(seen.lock().unwrap().is_empty());
    let reader: BaseConsumer = kafka
        .client_config("offset-reader")
        .set("group.id", "submitter-abandon-test")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&kafka.topics.indicators, 0);
    let committed = reader
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    let offset = committed
        .find_partition(&topics.indicators, 0)
        .unwrap()
        .offset();
    assert_eq!(
        offset,
        Offset::Invalid,
        "nothing may be committed for an undelivered batch"
    );
}
