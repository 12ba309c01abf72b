//! Fault tests: the pipeline loses nothing when the normalizer is killed with SIGKILL
//! mid-stream, or when the broker restarts mid-stream.
//!
//! A generated integration (a `lines` spec and a recording of `URLS` generated URLs) is fetched into
//! the raw topic first; the normalizer then starts, and once part (not all) of the indicators
//! are produced the fault is injected. At the end every generated URL must have reached the
//! platform at least once; duplicates are allowed (at-least-once delivery), counted and
//! printed.
#![cfg(feature = "broker-tests")]
// Test code: a failed set-up step fails the test with its message, as in a #[test] body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use iocflow_schemas::{codec, Indicator};
use iocflow_tests::config::{self, free_ops_addr};
use iocflow_tests::kafka::read_to_end;
use iocflow_tests::platform::Platform;
use iocflow_tests::processes::{scrape, start_replay_server, Proc, ProcSpec};
use iocflow_tests::tansu::Tansu;
use iocflow_tests::topics::TestTopics;
use iocflow_tests::wait;
use serde_json::Value;

/// Number of generated URLs.
const URLS: u64 = 20_000;
/// The fault is injected once the normalizer has produced at least this many indicators.
const FAULT_AFTER: u64 = 2_000;
/// Name of the generated integration.
const SOURCE: &str = "faultgen";

/// Which fault a run injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// SIGKILL the normalizer, then start a new one in the same group.
    KillNormalizer(Membership),
    /// Stop Tansu and start it again on the same port and database.
    RestartBroker,
}

/// How the normalizer joins its consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Membership {
    /// `group.instance.id` set (Kafka static membership), as a StatefulSet pod would: the
    /// restarted process takes over the killed member's identity and partitions.
    Static,
    /// No instance id: the restarted process joins as a new member and the killed one must
    /// expire after its session timeout.
    Dynamic,
}

/// The normalizer's `group.instance.id` in the static-membership runs.
const INSTANCE_ID: &str = "normalizer-0";

/// The URL number `n` of the recording.
fn url(n: u64) -> String {
    format!("http://h{}.example.test/malware/{n}.exe", n % 97)
}

/// The number a URL was generated from, after whatever canonicalization the normalizer does.
fn url_number(value: &str) -> Option<u64> {
    let start = value.rfind("/malware/")? + "/malware/".len();
    let rest = &value[start..];
    let end = rest.find(".exe")?;
    rest[..end].parse().ok()
}

/// Writes the generated integration into `catalog/faultgen/`.
fn write_catalog(catalog: &Path) {
    let dir = catalog.join(SOURCE);
    std::fs::create_dir_all(dir.join("recordings")).unwrap();
    std::fs::write(
        dir.join("spec.toml"),
        format!(
            "name = \"{SOURCE}\"\ntitle = \"Generated URL list for the fault tests\"\n\
             schedule_secs = 86400\n\n[request]\nurl = \"https://faultgen.example.test/feed.txt\"\n\n\
             [framing]\nkind = \"lines\"\ncomment_prefix = \"#\"\n\n\
             [mapping]\ntype = \"url\"\nvalue = \"line\"\nconstant_threat_types = [\"malware_download\"]\n\
             confidence = 50\ntlp = \"clear\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("recordings/responses.toml"),
        "[[response]]\npath = \"/feed.txt\"\nheaders = { \"content-type\" = \"text/plain\" }\n\
         body_file = \"feed.txt\"\n",
    )
    .unwrap();
    let mut body = String::from("# generated for the iocflow fault tests\n");
    for n in 0..URLS {
        body.push_str(&url(n));
        body.push('\n');
    }
    std::fs::write(dir.join("recordings/feed.txt"), body).unwrap();
}

async fn records(addr: &str, stage: &str, outcome: &str) -> Result<u64, String> {
    let m = scrape(addr).await.map_err(|e| e.to_string())?;
    Ok(m.records(stage, Some(SOURCE), outcome))
}

async fn run(fault: Fault) {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    write_catalog(&catalog);
    let mut tansu = Tansu::start().await.unwrap();
    let bootstrap = tansu.bootstrap();
    let topics = TestTopics::unique(match fault {
        Fault::KillNormalizer(_) => "kill",
        Fault::RestartBroker => "restart",
    });
    topics.create(&bootstrap, 2).await.unwrap();
    let platform = Platform::start(&[]).await.unwrap();
    let (_replay, replay_base) = start_replay_server(&catalog, dir.path()).await.unwrap();

    // Fetch everything into the raw topic first, so the fault hits a stream in progress.
    let ops = [
        free_ops_addr().unwrap(),
        free_ops_addr().unwrap(),
        free_ops_addr().unwrap(),
    ];
    let bases = [(SOURCE.to_string(), format!("{replay_base}/{SOURCE}"))];
    let fetcher_cfg = config::write(
        dir.path(),
        "fetcher.toml",
        &config::fetcher_toml(&topics, &bootstrap, &ops[0], &catalog, &bases),
    )
    .unwrap();
    let mut fetcher = Proc::spawn(&ProcSpec::with_config(
        "iocflow-fetcher",
        "fetcher",
        &fetcher_cfg,
        dir.path(),
        &ops[0],
    ))
    .unwrap();
    let fetched = wait::until(
        "the fetcher to produce every URL",
        Duration::from_secs(300),
        || {
            let exited = fetcher.try_status().ok().flatten();
            let addr = ops[0].clone();
            async move {
                if let Some(status) = exited {
                    return Err(format!("fetcher exited with {status}"));
                }
                let produced = records(&addr, "fetch", "produced").await?;
                if produced >= URLS {
                    Ok(produced)
                } else {
                    Err(format!("{produced} produced"))
                }
            }
        },
    )
    .await;
    if let Err(e) = fetched {
        panic!("{e}\n{}", fetcher.output_tail(30));
    }

    // Submitter and normalizer; small batches so the stream takes a while.
    let submitter_cfg = config::write(
        dir.path(),
        "submitter.toml",
        &config::submitter_toml(&topics, &bootstrap, &ops[2], &platform.url()),
    )
    .unwrap();
    let mut submitter = Proc::spawn(&ProcSpec::with_config(
        "iocflow-submitter",
        "submitter",
        &submitter_cfg,
        dir.path(),
        &ops[2],
    ))
    .unwrap();
    let mut normalizer_toml = config::normalizer_toml(&topics, &bootstrap, &ops[1], &catalog, 100);
    if fault == Fault::KillNormalizer(Membership::Static) {
        normalizer_toml.push_str(&format!(
            "\n[kafka.properties]\n\"group.instance.id\" = \"{INSTANCE_ID}\"\n"
        ));
    }
    let normalizer_cfg = config::write(dir.path(), "normalizer.toml", &normalizer_toml).unwrap();
    let normalizer_spec = ProcSpec::with_config(
        "iocflow-normalizer",
        "normalizer",
        &normalizer_cfg,
        dir.path(),
        &ops[1],
    );
    let mut normalizer = Proc::spawn(&normalizer_spec).unwrap();

    // Inject the fault once part of the indicators are out.
    let partial = wait::until(
        "the normalizer to produce part of the indicators",
        Duration::from_secs(300),
        || {
            let exited = normalizer.try_status().ok().flatten();
            let addr = ops[1].clone();
            async move {
                if let Some(status) = exited {
                    return Err(format!("normalizer exited with {status}"));
                }
                let n = records(&addr, "normalize", "normalized").await?;
                if n >= FAULT_AFTER {
                    Ok(n)
                } else {
                    Err(format!("{n} normalized"))
                }
            }
        },
    )
    .await;
    let before = match partial {
        Ok(n) => n,
        Err(e) => panic!("{e}\n{}", normalizer.output_tail(30)),
    };
    match fault {
        Fault::KillNormalizer(_) => {
            let status = normalizer.kill().await.unwrap();
            assert_eq!(
                status.code(),
                None,
                "the normalizer was killed by a signal: {status}"
            );
            println!("fault: normalizer killed with SIGKILL after {before}+ of {URLS} indicators");
        }
        Fault::RestartBroker => {
            tansu.restart().await.unwrap();
            println!("fault: broker restarted after {before}+ of {URLS} indicators");
        }
    }
    assert!(
        before < URLS,
        "the normalizer finished all {URLS} records before the fault; the test proves nothing"
    );
    let mut normalizer2 = match fault {
        Fault::KillNormalizer(_) => {
            let mut spec = normalizer_spec.clone();
            spec.label = "normalizer-restarted".into();
            Some(Proc::spawn(&spec).unwrap())
        }
        Fault::RestartBroker => None,
    };

    // Every generated URL reaches the platform at least once.
    let all = wait::until(
        "every URL at the platform",
        Duration::from_secs(300),
        || {
            let received = platform.received();
            async move {
                let numbers: BTreeSet<u64> = received
                    .iter()
                    .filter_map(|v| v.get("value").and_then(Value::as_str).and_then(url_number))
                    .collect();
                if numbers.len() as u64 >= URLS {
                    Ok(received.len())
                } else {
                    Err(format!(
                        "{} distinct of {URLS} URLs received",
                        numbers.len()
                    ))
                }
            }
        },
    )
    .await;
    let logs = || {
        format!(
            "{}\n{}\n{}\n{}\n--- tansu ---\n{}",
            fetcher.output_tail(20),
            normalizer.output_tail(20),
            normalizer2
                .as_ref()
                .map(|p| p.output_tail(20))
                .unwrap_or_default(),
            submitter.output_tail(20),
            tansu.log_tail(20)
        )
    };
    let total = match all {
        Ok(total) => total,
        Err(e) => panic!("{e}\n{}", logs()),
    };

    let received = platform.received();
    let numbers: BTreeSet<u64> = received
        .iter()
        .filter_map(|v| v.get("value").and_then(Value::as_str).and_then(url_number))
        .collect();
    let missing: Vec<u64> = (0..URLS).filter(|n| !numbers.contains(n)).collect();
    assert!(missing.is_empty(), "missing URLs {missing:?}\n{}", logs());
    assert!(numbers.iter().all(|n| *n < URLS), "unknown URLs received");

    // Every raw record has at least one indicator on the topic; nothing was dead-lettered.
    let raw = read_to_end(&bootstrap, &topics.raw, Duration::from_secs(60))
        .await
        .unwrap();
    let indicators = read_to_end(&bootstrap, &topics.indicators, Duration::from_secs(60))
        .await
        .unwrap();
    let dead = read_to_end(&bootstrap, &topics.dlq_normalize, Duration::from_secs(60))
        .await
        .unwrap();
    let covered: BTreeSet<(i32, i64)> = indicators
        .iter()
        .map(|r| codec().decode::<Indicator>(&r.value).unwrap())
        .map(|i| (i.raw_partition, i.raw_offset))
        .collect();
    let uncovered = raw
        .iter()
        .filter(|r| !covered.contains(&(r.partition, r.offset)))
        .count();
    assert_eq!(raw.len() as u64, URLS, "raw records");
    assert_eq!(uncovered, 0, "raw records without an indicator");
    assert!(dead.is_empty(), "{} dead letters", dead.len());

    let topic_duplicates = indicators.len() - covered.len();
    let platform_duplicates = total - numbers.len();
    println!(
        "fault {fault:?}: {URLS} URLs, all delivered; duplicates: {topic_duplicates} on the \
         indicators topic, {platform_duplicates} at the platform ({total} deliveries)"
    );

    for p in [
        Some(&mut fetcher),
        normalizer2.as_mut(),
        Some(&mut submitter),
    ]
    .into_iter()
    .flatten()
    {
        p.terminate().unwrap();
        let status = p.wait_exit(Duration::from_secs(60)).await.unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "{} after SIGTERM\n{}",
            p.name(),
            p.output_tail(20)
        );
    }
    if fault == Fault::RestartBroker {
        normalizer.terminate().unwrap();
        let status = normalizer.wait_exit(Duration::from_secs(60)).await.unwrap();
        assert_eq!(status.code(), Some(0), "normalizer after SIGTERM");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_statically_joined_normalizer_loses_nothing() {
    run(Fault::KillNormalizer(Membership::Static)).await;
}

// Limitation: Tansu 0.6.0's group coordinator mishandles a dynamic member that joins while the
// killed leader's session is still running. The new member is told the dead member leads
// generation N; when the dead leader's session expires during the new member's SyncGroup, Tansu
// completes generation N with no assignment instead of starting a new one, and the new member
// then heartbeats happily with no partitions. Whether the expiry lands in a JoinGroup (the new
// member becomes leader and everything works) or in a SyncGroup (the stall) is timing: 4 passes
// in 9 runs on 2026-12-03. librdkafka's `debug=cgrp` log of a stalled run shows the sequence
// ("SyncGroup response: Success (0 bytes of MemberState data)" at the same generation). With
// static membership (the test above) the restarted process takes over the killed member's id
// and leadership at once and does not hit this path.
#[ignore = "Tansu 0.6.0 completes a generation with no assignment after the leader expires mid-SyncGroup"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_dynamically_joined_normalizer_loses_nothing() {
    run(Fault::KillNormalizer(Membership::Dynamic)).await;
}

// Limitation: Tansu 0.6.0 on SQLite panics after a restart on the first produce of a producer
// that was writing when the broker stopped (`tansu-storage` lite.rs:503, "more or less than one
// row"), with or without `enable.idempotence` (tried with
// `IOCFLOW_KAFKA__PROPERTIES__ENABLE.IDEMPOTENCE=false`); its storage task then answers every
// request with an error. See the crate's Limitations section. Run it with `--ignored` against
// another broker build.
#[ignore = "Tansu 0.6.0 storage panics on produce after a restart mid-stream (lite.rs:503)"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_stream_loses_nothing() {
    run(Fault::RestartBroker).await;
}

#[test]
fn generated_urls_round_trip_through_their_number() {
    assert_eq!(url_number(&url(12_345)), Some(12_345));
    assert_eq!(url_number("HTTP://H1.EXAMPLE.TEST/malware/7.exe"), Some(7));
    assert_eq!(url_number("http://x/other"), None);
}
