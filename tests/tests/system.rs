//! System tests: Tansu, the replay server, a platform and the three binaries as processes,
//! over the bundled integrations in `fetchers/integrations`.
//!
//! The main test checks the end-to-end contract: every raw record ends as exactly one
//! indicator, one dead letter or one counted skip, as each integration's `expected.jsonl`
//! says; the platform receives every expected indicator; the binaries' metrics agree with what
//! is on the topics; each source has a fetch state; SIGTERM drains every binary to exit 0.
#![cfg(feature = "broker-tests")]
// Test code: a failed set-up step fails the test with its message, as in a #[test] body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use iocflow_schemas::legacy::IndicatorV1;
use iocflow_schemas::{codec, DeadLetter, FetchState, Indicator, RawRecord};
use iocflow_tests::catalog::{self, Expected, Integration};
use iocflow_tests::config::{self, free_ops_addr};
use iocflow_tests::kafka::{produce, read_to_end};
use iocflow_tests::platform::Platform;
use iocflow_tests::processes::{scrape, start_replay_server, Metrics, Proc, ProcSpec};
use iocflow_tests::tansu::Tansu;
use iocflow_tests::topics::TestTopics;
use iocflow_tests::{repo_root, wait, HarnessError};
use serde_json::{Map, Value};
use tempfile::TempDir;

/// How long the pipeline may take to process the bundled recordings.
const DONE_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a binary may take to drain after SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long reading a topic back may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

fn bundled_catalog() -> PathBuf {
    repo_root().join("fetchers/integrations")
}

/// The three stages, their logs and the test's names.
struct Pipeline {
    fetcher: Proc,
    normalizer: Proc,
    submitter: Proc,
}

impl Pipeline {
    fn logs(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.fetcher.output_tail(40),
            self.normalizer.output_tail(40),
            self.submitter.output_tail(40)
        )
    }

    fn procs(&mut self) -> [&mut Proc; 3] {
        [&mut self.fetcher, &mut self.normalizer, &mut self.submitter]
    }
}

/// Expected per-source counts, from `expected.jsonl`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    fetched: u64,
    skipped: u64,
    produced: u64,
    normalized: u64,
    skipped_normalize: u64,
    dead_lettered: u64,
}

fn expected_counts(integration: &Integration) -> Counts {
    let mut c = Counts::default();
    for e in &integration.expected {
        c.fetched += 1;
        match e {
            Expected::Skip(_) => c.skipped += 1,
            Expected::SkipNormalize(_) => c.skipped_normalize += 1,
            Expected::DeadLetter(_) => c.dead_lettered += 1,
            Expected::Indicator(_) => c.normalized += 1,
        }
    }
    c.produced = c.fetched - c.skipped;
    c
}

fn observed_counts(fetch: &Metrics, normalize: &Metrics, source: &str) -> Counts {
    Counts {
        fetched: fetch.records("fetch", Some(source), "fetched"),
        skipped: fetch.records("fetch", Some(source), "skipped"),
        produced: fetch.records("fetch", Some(source), "produced"),
        normalized: normalize.records("normalize", Some(source), "normalized"),
        skipped_normalize: normalize.records("normalize", Some(source), "skipped"),
        dead_lettered: normalize.records("normalize", Some(source), "dead_lettered"),
    }
}

/// Fails fast when a stage exited while it should be running.
fn check_running(pipeline: &mut Pipeline) -> Result<(), String> {
    for p in pipeline.procs() {
        if let Ok(Some(status)) = p.try_status() {
            return Err(format!("{} exited early with {status}", p.name()));
        }
    }
    Ok(())
}

/// Waits until every stage has handled everything upstream produced for every source.
async fn wait_until_done(
    pipeline: &mut Pipeline,
    integrations: &[Integration],
) -> Result<(Metrics, Metrics, Metrics), HarnessError> {
    let addrs: Vec<String> = pipeline
        .procs()
        .iter()
        .map(|p| p.ops_addr().unwrap_or_default().to_string())
        .collect();
    wait::until("the pipeline to process every source", DONE_TIMEOUT, || {
        let early_exit = check_running(pipeline);
        let addrs = addrs.clone();
        async move {
            early_exit?;
            let fetch = scrape(&addrs[0]).await.map_err(|e| e.to_string())?;
            let normalize = scrape(&addrs[1]).await.map_err(|e| e.to_string())?;
            let submit = scrape(&addrs[2]).await.map_err(|e| e.to_string())?;
            for i in integrations {
                let source = i.spec.name.as_str();
                let want = expected_counts(i);
                let got = observed_counts(&fetch, &normalize, source);
                let submitted = submit.records("submit", Some(source), "submitted")
                    + submit.records("submit", Some(source), "dead_lettered");
                let normalized_all = got.normalized + got.skipped_normalize + got.dead_lettered;
                if got.produced < want.produced
                    || normalized_all < got.produced
                    || submitted < got.normalized
                {
                    return Err(format!(
                        "{source}: want {want:?}, have {got:?}, submitted or dead-lettered by \
                         the submitter {submitted}"
                    ));
                }
            }
            Ok((fetch, normalize, submit))
        }
    })
    .await
}

async fn start_pipeline(
    tansu: &Tansu,
    topics: &TestTopics,
    dir: &TempDir,
    integrations: &[Integration],
    platform: &Platform,
    replay_base: &str,
) -> Result<Pipeline, HarnessError> {
    let bootstrap = tansu.bootstrap();
    let catalog_dir = bundled_catalog();
    let base_urls: Vec<(String, String)> = integrations
        .iter()
        .map(|i| {
            (
                i.spec.name.clone(),
                format!("{replay_base}/{}", i.spec.name),
            )
        })
        .collect();

    let ops = [free_ops_addr()?, free_ops_addr()?, free_ops_addr()?];
    let fetcher_cfg = config::write(
        dir.path(),
        "fetcher.toml",
        &config::fetcher_toml(topics, &bootstrap, &ops[0], &catalog_dir, &base_urls),
    )?;
    let normalizer_cfg = config::write(
        dir.path(),
        "normalizer.toml",
        &config::normalizer_toml(topics, &bootstrap, &ops[1], &catalog_dir, 1000),
    )?;
    let submitter_cfg = config::write(
        dir.path(),
        "submitter.toml",
        &config::submitter_toml(topics, &bootstrap, &ops[2], &platform.url()),
    )?;

    let mut fetcher_spec = ProcSpec::with_config(
        "iocflow-fetcher",
        "fetcher",
        &fetcher_cfg,
        dir.path(),
        &ops[0],
    );
    fetcher_spec.env = integrations
        .iter()
        .filter_map(|i| i.secret.clone())
        .collect();
    let fetcher = Proc::spawn(&fetcher_spec)?;
    let normalizer = Proc::spawn(&ProcSpec::with_config(
        "iocflow-normalizer",
        "normalizer",
        &normalizer_cfg,
        dir.path(),
        &ops[1],
    ))?;
    let submitter = Proc::spawn(&ProcSpec::with_config(
        "iocflow-submitter",
        "submitter",
        &submitter_cfg,
        dir.path(),
        &ops[2],
    ))?;
    Ok(Pipeline {
        fetcher,
        normalizer,
        submitter,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_raw_record_ends_once_and_the_platform_gets_every_indicator() {
    let integrations = catalog::load(&bundled_catalog()).unwrap();
    assert!(!integrations.is_empty(), "no integrations bundled");
    let dir = tempfile::tempdir().unwrap();
    let tansu = Tansu::start().await.unwrap();
    let bootstrap = tansu.bootstrap();
    let topics = TestTopics::unique("system");
    topics.create(&bootstrap, 2).await.unwrap();
    let platform = Platform::start(&[]).await.unwrap();
    let (_replay, replay_base) = start_replay_server(&bundled_catalog(), dir.path())
        .await
        .unwrap();

    let mut pipeline = start_pipeline(
        &tansu,
        &topics,
        &dir,
        &integrations,
        &platform,
        &replay_base,
    )
    .await
    .unwrap();
    let (fetch_m, normalize_m, submit_m) = match wait_until_done(&mut pipeline, &integrations).await
    {
        Ok(m) => m,
        Err(e) => panic!(
            "{e}\n{}\n--- tansu ---\n{}",
            pipeline.logs(),
            tansu.log_tail(20)
        ),
    };

    // Read every topic back to its end.
    let raw = read_to_end(&bootstrap, &topics.raw, READ_TIMEOUT)
        .await
        .unwrap();
    let indicators = read_to_end(&bootstrap, &topics.indicators, READ_TIMEOUT)
        .await
        .unwrap();
    let dead = read_to_end(&bootstrap, &topics.dlq_normalize, READ_TIMEOUT)
        .await
        .unwrap();
    // The fetcher saves its state after a run's records, so wait for one state per source.
    let names: BTreeSet<String> = integrations.iter().map(|i| i.spec.name.clone()).collect();
    let states = wait::until("a fetch state per source", READ_TIMEOUT, || {
        let (bootstrap, topic) = (bootstrap.clone(), topics.fetch_state.clone());
        let names = names.clone();
        async move {
            let states = read_to_end(&bootstrap, &topic, READ_TIMEOUT)
                .await
                .map_err(|e| e.to_string())?;
            let seen: BTreeSet<String> = states
                .iter()
                .filter_map(|r| codec().decode::<FetchState>(&r.value).ok())
                .map(|s| s.source)
                .collect();
            if names.is_subset(&seen) {
                Ok(states)
            } else {
                Err(format!("states for {seen:?}"))
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", pipeline.logs()));

    let mut by_raw_offset: BTreeMap<(i32, i64), Vec<Indicator>> = BTreeMap::new();
    for r in &indicators {
        let i: Indicator = codec().decode(&r.value).unwrap();
        assert_eq!(
            i.raw_topic, topics.raw,
            "indicator {} names another raw topic",
            i.id
        );
        assert_eq!(
            r.key.as_deref(),
            Some(i.id.as_bytes()),
            "indicators are keyed by id"
        );
        by_raw_offset
            .entry((i.raw_partition, i.raw_offset))
            .or_default()
            .push(i);
    }
    let mut dead_by_offset: BTreeMap<(i32, i64), Vec<DeadLetter>> = BTreeMap::new();
    for r in &dead {
        let d: DeadLetter = codec().decode(&r.value).unwrap();
        assert_eq!(d.original_topic, topics.raw);
        dead_by_offset
            .entry((d.original_partition, d.original_offset))
            .or_default()
            .push(d);
    }

    // Every raw record ends as exactly what its expected.jsonl line says.
    let mut raw_by_source: BTreeMap<String, Vec<(RawRecord, i32, i64)>> = BTreeMap::new();
    let mut raw_offsets = BTreeSet::new();
    for r in &raw {
        let rec: RawRecord = codec().decode(&r.value).unwrap();
        raw_offsets.insert((r.partition, r.offset));
        raw_by_source
            .entry(rec.source.clone())
            .or_default()
            .push((rec, r.partition, r.offset));
    }
    let mut problems = Vec::new();
    let received: Vec<Value> = platform.received();
    let received_ids: BTreeSet<String> = received
        .iter()
        .filter_map(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    for integration in &integrations {
        let source = integration.spec.name.as_str();
        let mut records = raw_by_source.remove(source).unwrap_or_default();
        let fetch_ids: BTreeSet<&str> = records
            .iter()
            .map(|(r, _, _)| r.fetch_id.as_str())
            .collect();
        if fetch_ids.len() != 1 {
            problems.push(format!(
                "{source}: expected one fetch run, got {fetch_ids:?}"
            ));
        }
        records.sort_by_key(|(r, _, _)| r.sequence);
        let expected: Vec<&Expected> = integration
            .expected
            .iter()
            .filter(|e| e.reaches_kafka())
            .collect();
        if records.len() != expected.len() {
            problems.push(format!(
                "{source}: {} raw records, expected.jsonl says {}",
                records.len(),
                expected.len()
            ));
        }
        let mut counts = Counts::default();
        for ((rec, partition, offset), want) in records.iter().zip(expected.iter()) {
            let at = format!(
                "{source} raw {partition}/{offset} (sequence {})",
                rec.sequence
            );
            let made = by_raw_offset
                .get(&(*partition, *offset))
                .map_or(&[][..], Vec::as_slice);
            let dead = dead_by_offset
                .get(&(*partition, *offset))
                .map_or(&[][..], Vec::as_slice);
            match want {
                Expected::Indicator(fields) => {
                    counts.normalized += 1;
                    if made.len() != 1 || !dead.is_empty() {
                        problems.push(format!(
                            "{at}: want one indicator, got {} indicators and {} dead letters",
                            made.len(),
                            dead.len()
                        ));
                        continue;
                    }
                    let actual = serde_json::to_value(&made[0]).unwrap();
                    let fields = as_of(fields, made[0].normalized_at_ms);
                    for m in catalog::indicator_mismatches(&fields, &actual) {
                        problems.push(format!("{at}: {m}"));
                    }
                    if !received_ids.contains(&made[0].id) {
                        problems.push(format!("{at}: platform never received {}", made[0].id));
                    }
                }
                Expected::DeadLetter(kind) => {
                    counts.dead_lettered += 1;
                    if dead.len() != 1 || !made.is_empty() {
                        problems.push(format!(
                            "{at}: want one dead letter, got {} dead letters and {} indicators",
                            dead.len(),
                            made.len()
                        ));
                    } else if &dead[0].error_kind != kind {
                        problems.push(format!(
                            "{at}: dead letter kind {}, expected {kind}",
                            dead[0].error_kind
                        ));
                    } else if dead[0].original_value != raw_value(&raw, *partition, *offset) {
                        problems.push(format!("{at}: dead letter does not carry the raw bytes"));
                    }
                }
                Expected::SkipNormalize(_) => {
                    counts.skipped_normalize += 1;
                    if !made.is_empty() || !dead.is_empty() {
                        problems.push(format!(
                            "{at}: want a counted skip, got {} indicators and {} dead letters",
                            made.len(),
                            dead.len()
                        ));
                    }
                }
                Expected::Skip(_) => unreachable!("filtered out above"),
            }
        }

        // The binaries' metrics agree with the topics and with expected.jsonl.
        let want = expected_counts(integration);
        let got = observed_counts(&fetch_m, &normalize_m, source);
        if got != want {
            problems.push(format!("{source}: metrics {got:?}, expected {want:?}"));
        }
        if got.produced != records.len() as u64 {
            problems.push(format!(
                "{source}: fetcher reports {} produced, raw topic holds {}",
                got.produced,
                records.len()
            ));
        }
        let submitted = submit_m.records("submit", Some(source), "submitted");
        if submitted != counts.normalized {
            problems.push(format!(
                "{source}: submitter reports {submitted} submitted, {} indicators expected",
                counts.normalized
            ));
        }
    }
    for (source, records) in &raw_by_source {
        problems.push(format!(
            "{} raw records of unknown source {source}",
            records.len()
        ));
    }
    for key in by_raw_offset.keys().chain(dead_by_offset.keys()) {
        if !raw_offsets.contains(key) {
            problems.push(format!(
                "output points at raw {key:?}, which does not exist"
            ));
        }
    }

    // Every expected indicator reached the platform, and nothing else did.
    let received_values: BTreeSet<String> = received
        .iter()
        .filter_map(|v| v.get("value").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut expected_ids = BTreeSet::new();
    for integration in &integrations {
        for e in &integration.expected {
            if let Expected::Indicator(fields) = e {
                if let Some(id) = fields.get("id").and_then(Value::as_str) {
                    expected_ids.insert(id.to_string());
                    if !received_ids.contains(id) {
                        problems.push(format!("{}: platform lacks id {id}", integration.spec.name));
                    }
                }
                if let Some(value) = fields.get("value").and_then(Value::as_str) {
                    if !received_values.contains(value) {
                        problems.push(format!(
                            "{}: platform lacks value {value}",
                            integration.spec.name
                        ));
                    }
                }
            }
        }
    }
    let topic_ids: BTreeSet<String> = by_raw_offset
        .values()
        .flatten()
        .map(|i| i.id.clone())
        .collect();
    for id in received_ids.difference(&topic_ids) {
        problems.push(format!(
            "platform received {id}, which is on no indicator record"
        ));
    }

    // A fetch state per source, keyed by source.
    let mut state_sources = BTreeSet::new();
    for r in &states {
        let s: FetchState = codec().decode(&r.value).unwrap();
        if r.key.as_deref() != Some(s.source.as_bytes()) {
            problems.push(format!("fetch state of {} has key {:?}", s.source, r.key));
        }
        state_sources.insert(s.source);
    }
    for integration in &integrations {
        if !state_sources.contains(&integration.spec.name) {
            problems.push(format!("no fetch state for {}", integration.spec.name));
        }
    }

    // No source secret appears in any record, metric or log line of any stage.
    let secrets: Vec<&str> = integrations
        .iter()
        .filter_map(|i| i.secret.as_ref().map(|(_, value)| value.as_str()))
        .collect();
    assert!(
        !secrets.is_empty(),
        "the bundled catalog has an authenticated source"
    );
    let mut exposed: Vec<(String, Vec<u8>)> = Vec::new();
    for (topic, records) in [("raw", &raw), ("indicators", &indicators), ("dlq", &dead)] {
        for r in records.iter() {
            exposed.push((format!("{topic} record"), r.value.clone()));
            exposed.extend(r.key.clone().map(|k| (format!("{topic} key"), k)));
        }
    }
    for r in &states {
        exposed.push(("fetch state".into(), r.value.clone()));
    }
    for p in pipeline.procs() {
        let metrics = reqwest::get(format!(
            "http://{}/metrics",
            p.ops_addr().unwrap_or_default()
        ))
        .await
        .and_then(|r| r.error_for_status());
        if let Ok(m) = metrics {
            exposed.push((
                format!("{} metrics", p.name()),
                m.bytes().await.unwrap().to_vec(),
            ));
        } else {
            problems.push(format!("{} metrics could not be scraped", p.name()));
        }
        exposed.push((
            format!("{} output", p.name()),
            p.output_tail(100_000).into_bytes(),
        ));
    }
    for secret in &secrets {
        for (what, bytes) in &exposed {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                problems.push(format!("a source secret appears in {what}"));
            }
        }
    }

    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n{}",
        problems.len(),
        problems.join("\n"),
        pipeline.logs()
    );
    println!(
        "system: {} raw records, {} indicators, {} dead letters, {} delivered to the platform",
        raw.len(),
        indicators.len(),
        dead.len(),
        received.len()
    );

    // SIGTERM drains each stage to exit code 0.
    for p in pipeline.procs() {
        p.terminate().unwrap();
    }
    for p in pipeline.procs() {
        let status = p.wait_exit(DRAIN_TIMEOUT).await.unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "{} after SIGTERM: {status}\n{}",
            p.name(),
            p.output_tail(30)
        );
    }
}

/// `expected.jsonl` states each indicator's status at the conformance test's fixed clock (the
/// recordings' date); this pipeline ran on the real clock, so an indicator expected `active`
/// whose expected expiry has passed since is expected `expired` here. Nothing else changes.
fn as_of(fields: &Map<String, Value>, now_ms: i64) -> Map<String, Value> {
    let mut fields = fields.clone();
    let expired = fields
        .get("valid_until_ms")
        .and_then(Value::as_i64)
        .is_some_and(|until| until <= now_ms);
    if expired && fields.get("status").and_then(Value::as_str) == Some("active") {
        fields.insert("status".into(), Value::from("expired"));
    }
    fields
}

fn raw_value(raw: &[iocflow_tests::kafka::ReadRecord], partition: i32, offset: i64) -> Vec<u8> {
    raw.iter()
        .find(|r| r.partition == partition && r.offset == offset)
        .map(|r| r.value.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_key_stops_each_binary_with_exit_code_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let topics = TestTopics::unique("badcfg");
    let catalog_dir = bundled_catalog();
    let ops = "127.0.0.1:0";
    let cases = [
        (
            "iocflow-fetcher",
            config::fetcher_toml(&topics, "127.0.0.1:9", ops, &catalog_dir, &[])
                .replace("[fetcher]\n", "[fetcher]\nmax_concurent_fetches = 2\n"),
            "max_concurent_fetches",
        ),
        (
            "iocflow-normalizer",
            config::normalizer_toml(&topics, "127.0.0.1:9", ops, &catalog_dir, 10)
                .replace("[normalizer]\n", "[normalizer]\nbatch_sise = 2\n"),
            "batch_sise",
        ),
        (
            "iocflow-submitter",
            config::submitter_toml(&topics, "127.0.0.1:9", ops, "http://127.0.0.1:9/i")
                .replace("[submitter]\n", "[submitter]\ndrain_timout_ms = 2\n"),
            "drain_timout_ms",
        ),
    ];
    let mut problems = Vec::new();
    for (binary, text, key) in cases {
        let path = config::write(dir.path(), &format!("{binary}.toml"), &text).unwrap();
        let mut spec = ProcSpec::with_config(binary, binary, &path, dir.path(), ops);
        spec.ops_addr = None;
        let mut p = Proc::spawn(&spec).unwrap();
        let status = match p.wait_exit(Duration::from_secs(30)).await {
            Ok(status) => status,
            Err(e) => {
                problems.push(format!("{binary}: {e}"));
                p.kill().await.unwrap();
                continue;
            }
        };
        let stderr = p.stderr();
        if status.code() != Some(2) {
            problems.push(format!(
                "{binary}: exit {status}, expected code 2\n{}",
                p.output_tail(10)
            ));
        } else if !stderr.contains(key) {
            problems.push(format!("{binary}: stderr does not name {key}:\n{stderr}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_submitter_delivers_an_indicator_written_with_schema_v1() {
    let dir = tempfile::tempdir().unwrap();
    let tansu = Tansu::start().await.unwrap();
    let bootstrap = tansu.bootstrap();
    let topics = TestTopics::unique("codec");
    topics.create(&bootstrap, 1).await.unwrap();
    let platform = Platform::start(&[]).await.unwrap();

    let old = IndicatorV1 {
        id: "ipv4-addr--6b1b2f3e-0c55-5f0a-9d7e-0a4c2e9d1f01".into(),
        kind: "ipv4".into(),
        value: "198.51.100.23".into(),
        port: Some(8080),
        source: "feodotracker".into(),
        source_ref: None,
        first_seen_ms: Some(1_700_000_000_000),
        last_seen_ms: None,
        confidence: Some(90),
        tlp: "clear".into(),
        tags: vec![],
        threat_types: vec!["botnet_cc".into()],
        malware_families: vec!["QakBot".into()],
        fetch_id: "v1-writer".into(),
        raw_topic: topics.raw.clone(),
        raw_partition: 0,
        raw_offset: 0,
        normalized_at_ms: 1_700_000_000_500,
    };
    let bytes = codec().encode_version(&old, 1).unwrap();
    assert_ne!(
        bytes,
        codec()
            .encode(&codec().decode::<Indicator>(&bytes).unwrap())
            .unwrap()
    );
    produce(&bootstrap, &topics.indicators, &old.id, &bytes)
        .await
        .unwrap();

    let ops = free_ops_addr().unwrap();
    let cfg = config::write(
        dir.path(),
        "submitter.toml",
        &config::submitter_toml(&topics, &bootstrap, &ops, &platform.url()),
    )
    .unwrap();
    let mut submitter = Proc::spawn(&ProcSpec::with_config(
        "iocflow-submitter",
        "submitter",
        &cfg,
        dir.path(),
        &ops,
    ))
    .unwrap();

    let want_id = old.id.clone();
    let got = wait::until(
        "the v1 indicator at the platform",
        Duration::from_secs(60),
        || {
            let received = platform.received();
            let want_id = want_id.clone();
            let exited = submitter.try_status().ok().flatten();
            async move {
                if let Some(status) = exited {
                    return Ok(Err(status));
                }
                received
                    .into_iter()
                    .find(|v| v.get("id").and_then(Value::as_str) == Some(want_id.as_str()))
                    .map(Ok)
                    .ok_or_else(|| "not received yet".to_string())
            }
        },
    )
    .await;
    let got = match got {
        Ok(Ok(v)) => v,
        Ok(Err(status)) => panic!(
            "submitter exited with {status}\n{}",
            submitter.output_tail(30)
        ),
        Err(e) => panic!("{e}\n{}", submitter.output_tail(30)),
    };
    assert_eq!(got["value"], "198.51.100.23");
    assert_eq!(got["port"], 8080);
    assert!(
        got.get("valid_until_ms").is_none_or(Value::is_null),
        "{got}"
    );
    assert!(
        got.get("references")
            .is_none_or(|r| r.as_array().is_some_and(Vec::is_empty)),
        "{got}"
    );
    assert!(platform.rejected().is_empty());

    submitter.terminate().unwrap();
    let status = submitter.wait_exit(DRAIN_TIMEOUT).await.unwrap();
    assert_eq!(status.code(), Some(0), "{}", submitter.output_tail(30));
}
