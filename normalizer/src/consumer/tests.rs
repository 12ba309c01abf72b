//! Stage-loop tests: batch normalization without a broker, and the whole loop on librdkafka's
//! in-process `MockCluster`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use iocflow_schemas::spec::IntegrationSpec;
use iocflow_schemas::{DeadLetter, Indicator};
use iocflow_service::kafka::{headers, TopicNames};
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::{Headers, Timestamp};
use rdkafka::mocking::MockCluster;
use rdkafka::{Offset, TopicPartitionList};

use super::*;

fn integrations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fetchers/integrations")
}

fn raw_line(line: &str, sequence: i64) -> Vec<u8> {
    codec()
        .encode(&RawRecord {
            source: "openphish".into(),
            fetch_id: "fetch-1".into(),
            fetched_at_ms: 1,
            sequence,
            framing: "text_line".into(),
            payload: line.as_bytes().to_vec(),
            request_url: "http://127.0.0.1/openphish/feed.txt".into(),
        })
        .unwrap()
}

fn message(payload: Vec<u8>, offset: i64) -> OwnedMessage {
    OwnedMessage::new(
        Some(payload),
        Some(b"k".to_vec()),
        "raw".into(),
        Timestamp::NotAvailable,
        3,
        offset,
        None,
    )
}

#[test]
fn batch_ends_every_record_as_output_or_skip_and_tracks_offsets() {
    let catalog = Catalog::load(&integrations()).unwrap();
    let mut unknown = codec()
        .decode::<RawRecord>(&raw_line("http://a.example/", 0))
        .unwrap();
    unknown.source = "not_in_catalog".into();
    let batch = vec![
        message(raw_line("http://a.example/", 0), 10),
        message(b"garbage, not avro".to_vec(), 11),
        message(codec().encode(&unknown).unwrap(), 12),
        message(raw_line("not a url", 3), 13),
    ];
    let p = normalize_batch(&batch, &catalog, 5);

    assert_eq!(p.tally.totals(), (1, 0, 3));
    assert_eq!(p.next_offsets[&("raw".to_string(), 3)], 14);
    let kinds: Vec<(Target, String)> = p
        .outputs
        .iter()
        .map(|o| {
            let kind = o
                .headers
                .iter()
                .find(|(k, _)| *k == headers::ERROR_KIND)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (o.target, kind)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (Target::Indicators, String::new()),
            (Target::DeadLetters, "unparseable".into()),
            (Target::DeadLetters, "schema_mismatch".into()),
            (Target::DeadLetters, "invalid_value".into()),
        ]
    );
    let dl: DeadLetter = codec().decode(&p.outputs[2].payload).unwrap();
    assert_eq!(
        (dl.source.as_str(), dl.error_message.as_str()),
        ("not_in_catalog", "unknown source")
    );
    let ind: Indicator = codec().decode(&p.outputs[0].payload).unwrap();
    assert_eq!(p.outputs[0].key.as_deref(), Some(ind.id.as_bytes()));
    assert_eq!((ind.raw_partition, ind.raw_offset), (3, 10));
}

#[test]
fn a_panicking_record_becomes_a_panic_dead_letter_and_the_batch_goes_on() {
    let catalog = Catalog::load(&integrations()).unwrap();
    let batch = vec![
        message(raw_line("http://a.example/", 0), 0),
        message(b"boom".to_vec(), 1),
        message(raw_line("http://b.example/", 2), 2),
    ];
    let p = normalize_batch_with(&batch, &catalog, 5, |payload, catalog, origin, now| {
        if payload == b"boom" {
            panic!("mapping bug");
        }
        normalize_payload(payload, catalog, origin, now)
    });
    assert_eq!(p.tally.totals(), (2, 0, 1));
    let dead = &p.outputs[1];
    assert_eq!(dead.target, Target::DeadLetters);
    let dl: DeadLetter = codec().decode(&dead.payload).unwrap();
    assert_eq!(dl.error_kind, "panic");
    assert!(
        dl.error_message.contains("mapping bug"),
        "{}",
        dl.error_message
    );
    assert_eq!(
        (dl.original_offset, dl.original_value.as_slice()),
        (1, &b"boom"[..])
    );
    assert_eq!(p.next_offsets[&("raw".to_string(), 3)], 3);
}

#[test]
fn a_panic_is_caught_with_its_message() {
    let r: Result<(), String> = guarded(|| panic!("boom {}", 7));
    assert_eq!(r.unwrap_err(), "boom 7");
    assert_eq!(guarded(|| 5).unwrap(), 5);
}

/// The whole loop on a mock cluster, in batches of 7 with up to 3 in delivery: 20 raw records
/// (18 good URLs, one invalid URL, one garbage record) end as 18 indicators and 2 dead letters,
/// and the group's committed offset is the end of the raw partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_loop_on_a_mock_cluster() {
    let cluster = MockCluster::new(1).unwrap();
    let topics = TopicNames {
        raw: "t.raw".into(),
        indicators: "t.indicators".into(),
        dlq_normalize: "t.dlq".into(),
        ..TopicNames::default()
    };
    for t in [&topics.raw, &topics.indicators, &topics.dlq_normalize] {
        cluster.create_topic(t, 1, 1).unwrap();
    }
    // Through serde, so fields added to `[kafka]` with defaults need no change here.
    let kafka: KafkaConfig = serde_json::from_value(serde_json::json!({
        "bootstrap_servers": cluster.bootstrap_servers(),
        "topics": {
            "raw": topics.raw,
            "indicators": topics.indicators,
            "dlq_normalize": topics.dlq_normalize,
        },
    }))
    .unwrap();

    // Input: 18 valid URLs, an invalid one at offset 7, garbage at offset 13.
    let producer = kafka.producer("test-input").unwrap();
    for i in 0..20_i64 {
        let payload = match i {
            7 => raw_line("not a url at all", i),
            13 => b"\x00garbage".to_vec(),
            _ => raw_line(&format!("hxxp://host{i}[.]example[.]com/p"), i),
        };
        let record = FutureRecord::to(&topics.raw).payload(&payload).key("k");
        producer
            .send(record, Timeout::After(Duration::from_secs(10)))
            .await
            .unwrap();
    }

    // Run the stage.
    let settings = Settings {
        integrations_dir: integrations(),
        group_id: "g-normalizer-test".into(),
        batch_size: 7,
        batch_timeout: Duration::from_millis(50),
        max_batches_in_flight: 3,
        drain_timeout: Duration::from_secs(10),
    };
    let catalog = Arc::new(Catalog::load(&integrations()).unwrap());
    let shutdown = CancellationToken::new();
    let health = Health::new();
    let stage = tokio::spawn(run(
        settings,
        kafka.clone(),
        catalog,
        Arc::clone(&health),
        shutdown.clone(),
    ));

    // Read the outputs until everything arrived, with a deadline.
    let reader = kafka.consumer("g-reader", "test-reader").unwrap();
    reader
        .subscribe(&[topics.indicators.as_str(), topics.dlq_normalize.as_str()])
        .unwrap();
    let mut indicators = Vec::new();
    let mut dead = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while indicators.len() + dead.len() < 20 {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, reader.recv())
            .await
            .expect("outputs within the deadline")
            .unwrap();
        if msg.topic() == topics.indicators {
            let ind: Indicator = codec().decode(msg.payload().unwrap()).unwrap();
            assert_eq!(msg.key(), Some(ind.id.as_bytes()));
            indicators.push(ind);
        } else {
            let kind = msg
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == headers::ERROR_KIND))
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned());
            let dl: DeadLetter = codec().decode(msg.payload().unwrap()).unwrap();
            dead.push((kind, dl));
        }
    }
    assert_eq!(indicators.len(), 18);
    assert!(indicators
        .iter()
        .all(|i| i.value.starts_with("http://host") && i.value.ends_with(".example.com/p")));
    dead.sort_by_key(|(_, dl)| dl.original_offset);
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].0.as_deref(), Some("invalid_value"));
    assert_eq!(dead[0].1.original_offset, 7);
    assert_eq!(dead[1].0.as_deref(), Some("unparseable"));
    assert_eq!(
        (dead[1].1.original_offset, dead[1].1.source.as_str()),
        (13, "unknown")
    );
    assert_eq!(dead[1].1.original_value, b"\x00garbage");
    assert!(health.is_ready());

    // Drain, then check the committed offset of the group.
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), stage)
        .await
        .expect("drain within its deadline")
        .unwrap()
        .unwrap();
    assert!(!health.is_ready());

    let checker: BaseConsumer = kafka
        .client_config("test-checker")
        .set("group.id", "g-normalizer-test")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(&topics.raw, 0);
    let committed = tokio::task::spawn_blocking(move || {
        checker.committed_offsets(tpl, Duration::from_secs(10))
    })
    .await
    .unwrap()
    .unwrap();
    let offset = committed.find_partition(&topics.raw, 0).unwrap().offset();
    assert_eq!(offset, Offset::Offset(20));
}

/// Throughput of decoding + normalizing + encoding on a mix of the three bundled formats. A
/// benchmark, not a timed test: run it in release with
/// `cargo test -p iocflow-normalizer --release -- --ignored --nocapture normalize_throughput`.
#[test]
#[ignore = "benchmark; run explicitly in release"]
fn normalize_throughput() {
    let catalog = Catalog::load(&integrations()).unwrap();
    let feodo = br#"{"ip_address":"162.243.103.246","port":8080,"status":"online","first_seen":"2022-06-08 02:22:17","last_online":"2024-05-01","malware":"Emotet"}"#;
    let urlhaus = br#""2849530","2024-05-01 11:58:05","http://115.55.237.17:43145/i","online","2024-05-01 11:58:05","malware_download","32-bit,elf,mips,Mozi","https://urlhaus.abuse.ch/url/2849530/","geenensp""#;
    let raw = |source: &str, framing: &str, payload: &[u8]| {
        codec()
            .encode(&RawRecord {
                source: source.into(),
                fetch_id: "f".into(),
                fetched_at_ms: 1,
                sequence: 0,
                framing: framing.into(),
                payload: payload.to_vec(),
                request_url: "http://x/".into(),
            })
            .unwrap()
    };
    let mix = [
        raw("feodotracker", "json_value", feodo),
        raw("urlhaus", "csv_row", urlhaus),
        raw(
            "openphish",
            "text_line",
            b"https://www.example-shop.xyz/wp-admin/includes/netflix/",
        ),
    ];
    let batch: Vec<OwnedMessage> = (0..30_000)
        .map(|i| message(mix[i % 3].clone(), i as i64))
        .collect();
    let start = std::time::Instant::now();
    let p = normalize_batch(&batch, &catalog, 5);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(p.tally.totals().0, 30_000);
    println!("{:.0} records/s on one core", batch.len() as f64 / secs);
}

/// The stage encodes indicators from their borrowed parts (`normalize_parts`,
/// `Codec::encode_indicator`); for every item of every bundled integration's recordings the
/// bytes must be exactly those of the owned indicator that `normalize` returns, encoded with
/// `Codec::encode`, and every dead letter and skip must fall on the same records.
#[test]
fn batch_outputs_are_the_bytes_of_the_owned_indicators() {
    let catalog = Catalog::load(&integrations()).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(integrations()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("spec.toml").is_file() {
            continue;
        }
        let spec = IntegrationSpec::load(&dir.join("spec.toml")).unwrap();
        let mut batch = Vec::new();
        for file in std::fs::read_dir(dir.join("recordings")).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                continue;
            }
            let body = std::fs::read(&path).unwrap();
            let Ok(items) = iocflow_fetchers::framing::frame_bytes(&spec, &body) else {
                continue;
            };
            for item in items {
                if let iocflow_fetchers::framing::FramedItem::Record { payload, .. } = item {
                    let raw = RawRecord {
                        source: spec.name.clone(),
                        fetch_id: "fetch-1".into(),
                        fetched_at_ms: 1,
                        sequence: batch.len() as i64,
                        framing: spec.framing.record_framing().to_string(),
                        payload,
                        request_url: spec.request.url.clone(),
                    };
                    let offset = batch.len() as i64;
                    batch.push(message(codec().encode(&raw).unwrap(), offset));
                }
            }
        }
        let p = normalize_batch(&batch, &catalog, 5);
        let mut outputs = p.outputs.iter();
        for msg in &batch {
            let raw: RawRecord = codec().decode(msg.payload().unwrap()).unwrap();
            let origin = Origin {
                topic: msg.topic().to_owned(),
                partition: msg.partition(),
                offset: msg.offset(),
            };
            match crate::normalize(&spec, &raw, &origin, 5) {
                Ok(crate::Normalized::Indicator(owned)) => {
                    let out = outputs.next().unwrap();
                    assert_eq!(out.target, Target::Indicators);
                    assert_eq!(out.key.as_deref(), Some(owned.id.as_bytes()));
                    assert_eq!(out.payload, codec().encode(&owned).unwrap(), "{owned:?}");
                    checked += 1;
                }
                Ok(crate::Normalized::Skipped { .. }) => {}
                Err(_) => assert_eq!(outputs.next().unwrap().target, Target::DeadLetters),
            }
        }
        assert!(outputs.next().is_none());
    }
    assert!(checked >= 10, "only {checked} indicators compared");
}
