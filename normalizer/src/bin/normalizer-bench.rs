//! `normalizer-bench`: single-thread throughput of the normalizer's per-record hot path.
//!
//! It generates a realistic, seeded mix of raw records in the shapes of the catalog's three
//! formats (URLhaus CSV rows, Feodo Tracker JSON objects, OpenPhish text lines, with varied
//! values and a few percent of bad items), Avro-encodes them as `RawRecord`s and wraps them in
//! consumer messages in batches of 1000 up front, then times, on one thread, the stage's own
//! batch function ([`iocflow_normalizer::consumer::normalize_batch`], what the consumer loop
//! runs on `spawn_blocking`): decode the `RawRecord`, look the source up in the catalog,
//! normalize, encode the `Indicator` or build the `DeadLetter`, tally, track offsets. Kafka is
//! not involved; `scripts/bench-normalizer.sh` measures through the broker.
//!
//! It prints records/s and ns/record of every run and their median, both by wall clock and by
//! the thread's own on-CPU time (`/proc/thread-self/schedstat`: what one core does when the
//! machine is shared); then, in a run of its own, allocations per record (the global allocator
//! is the stage's mimalloc wrapped in a counter that is off during the timed runs), a per-phase
//! allocation profile, and the peak RSS (`VmHWM`). Run it in release:
//! `cargo run -p iocflow-normalizer --release --bin normalizer-bench -- --records 1000000`.
//!
//! `normalizer-bench broker ...` is the broker side of `scripts/bench-normalizer.sh`: it creates
//! the topics, produces the same generated records to the raw topic, and measures the broker's
//! bare rates for reference (consume only; consume and produce the same bytes to another topic,
//! which is the normalizer's traffic without the normalizing).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use iocflow_normalizer::dead_letters;
use iocflow_normalizer::{consumer, normalize_parts, Catalog, Origin};
use iocflow_schemas::codec;
use rdkafka::message::{OwnedMessage, Timestamp};

/// The stage binary's allocator (mimalloc), counting only while switched on ([`counting::set`]).
#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// Records handed out together, as the stage's default `batch_size`.
const BATCH: usize = 1000;
/// The normalization time of every run (fixed, so runs do the same work).
const NOW_MS: i64 = 1_714_564_800_000;

/// Measures decode → normalize → encode per record on one thread.
#[derive(Debug, Parser)]
#[command(name = "normalizer-bench")]
struct Args {
    /// Number of raw records to generate.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Timed runs over the same records; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seed of the record generator.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The integration catalog (`fetchers/integrations`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../fetchers/integrations"))]
    integrations: PathBuf,
    /// Broker actions instead of the in-process benchmark.
    #[command(subcommand)]
    broker: Option<Command>,
}

/// Broker actions of `scripts/bench-normalizer.sh`.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Talk to a broker.
    Broker(broker::BrokerArgs),
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::Broker(b)) = &args.broker {
        return broker::run(b, args.records, args.seed);
    }
    let catalog = Catalog::load(&args.integrations)
        .with_context(|| format!("loading {}", args.integrations.display()))?;

    // Generate and encode the input up front: not timed.
    let started = Instant::now();
    let inputs = generate::encoded_records(args.records, args.seed)?;
    let input_bytes: usize = inputs.iter().map(Vec::len).sum();
    let batches = as_batches(&inputs);
    println!(
        "generated {} raw records ({} bytes encoded, {:.0} bytes/record) in {:.1} s",
        inputs.len(),
        input_bytes,
        input_bytes as f64 / inputs.len().max(1) as f64,
        started.elapsed().as_secs_f64()
    );

    // Timed runs.
    let mut rates = Vec::with_capacity(args.runs);
    let mut cpu_rates = Vec::with_capacity(args.runs);
    for run in 1..=args.runs {
        let cpu_before = thread_cpu_ns();
        let started = Instant::now();
        let summary = run_once(&catalog, &batches);
        let secs = started.elapsed().as_secs_f64();
        let cpu_secs = thread_cpu_ns().saturating_sub(cpu_before) as f64 / 1e9;
        let n = inputs.len() as f64;
        let rate = n / secs;
        rates.push(rate);
        let cpu_rate = n / cpu_secs.max(1e-9);
        cpu_rates.push(cpu_rate);
        println!(
            "run {run}: {rate:.0} records/s, {:.0} ns/record (on-CPU: {cpu_rate:.0} records/s, \
             {:.0} ns/record), {} indicators, {} dead letters, {} skipped, {} bytes out",
            secs * 1e9 / n,
            cpu_secs * 1e9 / n,
            summary.indicators,
            summary.dead_letters,
            summary.skipped,
            summary.bytes_out
        );
    }
    rates.sort_by(f64::total_cmp);
    cpu_rates.sort_by(f64::total_cmp);
    if let (Some(median), Some(cpu)) = (rates.get(rates.len() / 2), cpu_rates.get(rates.len() / 2))
    {
        println!(
            "median of {} runs: {median:.0} records/s, {:.0} ns/record wall clock; \
             on-CPU {cpu:.0} records/s, {:.0} ns/record",
            rates.len(),
            1e9 / median,
            1e9 / cpu
        );
    }

    // Allocations, in a run of their own so the timed runs do not pay for counting them.
    counting::set(true);
    let before = counting::allocations();
    let _ = run_once(&catalog, &batches);
    let allocs = counting::allocations() - before;
    println!(
        "allocations: {:.1} per record over a whole run (with batching and dead letters)",
        allocs as f64 / inputs.len().max(1) as f64
    );
    // Where the allocations go.
    profile_allocations(&catalog, &inputs);
    println!("peak RSS (VmHWM): {}", peak_rss());
    Ok(())
}

/// Counts of one run.
#[derive(Debug, Default)]
struct Summary {
    indicators: u64,
    dead_letters: u64,
    skipped: u64,
    bytes_out: u64,
}

/// The raw records as the consumer hands them to the stage: batches of `BATCH` messages.
fn as_batches(inputs: &[Vec<u8>]) -> Vec<Vec<OwnedMessage>> {
    inputs
        .chunks(BATCH)
        .enumerate()
        .map(|(b, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, payload)| {
                    OwnedMessage::new(
                        Some(payload.clone()),
                        None,
                        "iocflow.raw".to_owned(),
                        Timestamp::NotAvailable,
                        0,
                        (b * BATCH + i) as i64,
                        None,
                    )
                })
                .collect()
        })
        .collect()
}

/// The stage's own batch function over every batch: decode, normalize, encode, dead letters,
/// tally and offsets, exactly as the consumer loop runs it on `spawn_blocking`.
fn run_once(catalog: &Catalog, batches: &[Vec<OwnedMessage>]) -> Summary {
    let mut summary = Summary::default();
    for batch in batches {
        let processed = consumer::normalize_batch(batch, catalog, NOW_MS);
        let (normalized, skipped, dead) = processed.totals();
        summary.indicators += normalized;
        summary.skipped += skipped;
        summary.dead_letters += dead;
        // "Produce": the bytes leave the hot path here.
        summary.bytes_out += processed.output_bytes() as u64;
        std::hint::black_box(processed);
    }
    summary
}

/// Allocations per record of each phase, by source, over up to 100,000 records.
fn profile_allocations(catalog: &Catalog, inputs: &[Vec<u8>]) {
    #[derive(Default)]
    struct Phases {
        records: u64,
        decode: u64,
        normalize: u64,
        encode: u64,
        bytes: u64,
        ns: [u64; 3],
    }
    let count = counting::allocations;
    let bytes = counting::bytes;
    let origin = Origin {
        topic: "iocflow.raw".to_owned(),
        partition: 0,
        offset: 0,
    };
    let mut by_source: std::collections::BTreeMap<String, Phases> = Default::default();

    for payload in inputs.iter().take(100_000) {
        let (b0, c0) = (bytes(), count());
        let t0 = Instant::now();
        // As the stage decodes: borrowing from the message.
        let Ok(Some(raw)) = codec().decode_raw_ref(payload) else {
            continue;
        };
        let t1 = Instant::now();
        let c1 = count();
        let Some(spec) = catalog.get(raw.source) else {
            continue;
        };
        let t2a = Instant::now();
        // As the stage normalizes: into borrowed parts, encoded without an owned indicator.
        let result = normalize_parts(spec, &raw, &origin, NOW_MS);
        let t2 = Instant::now();
        let c2 = count();
        let ok = match &result {
            Ok(Some(mapped)) => codec().encode_indicator(&mapped.view()).is_ok(),
            Ok(None) => true,
            Err(e) => dead_letters::build(
                raw.source, e.kind, &e.message, &origin, None, payload, NOW_MS,
            )
            .is_ok(),
        };
        let t3 = Instant::now();
        let (c3, b3) = (count(), bytes());
        let _ = std::hint::black_box((ok, result));
        let kind = match catalog.get(raw.source).map(|_| raw.framing) {
            Some(framing) => format!("{} ({framing})", raw.source),
            None => raw.source.to_owned(),
        };
        let p = by_source.entry(kind).or_default();
        p.records += 1;
        p.decode += c1 - c0;
        p.normalize += c2 - c1;
        p.encode += c3 - c2;
        p.bytes += b3 - b0;
        let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        p.ns[0] += nanos(t1 - t0);
        p.ns[1] += nanos(t2 - t2a);
        p.ns[2] += nanos(t3 - t2);
    }

    println!(
        "per record by phase (decode / normalize / encode or dead letter), wall clock, \
         allocations, bytes allocated:"
    );
    for (source, p) in &by_source {
        let n = p.records.max(1) as f64;
        println!(
            "  {source:<26} {:>6} records: {:.0} / {:.0} / {:.0} ns, \
             {:.1} / {:.1} / {:.1} allocations, {:.0} bytes",
            p.records,
            p.ns[0] as f64 / n,
            p.ns[1] as f64 / n,
            p.ns[2] as f64 / n,
            p.decode as f64 / n,
            p.normalize as f64 / n,
            p.encode as f64 / n,
            p.bytes as f64 / n
        );
    }
}

/// Nanoseconds this thread has spent on a CPU (`/proc/thread-self/schedstat`), so a run on a
/// busy machine can be told from a slow run; 0 when unavailable.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// `VmHWM` of this process, as `/proc/self/status` states it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The seeded generator of raw records in the catalog's shapes.
mod generate {
    use iocflow_schemas::{codec, CodecError, RawRecord};

    /// A small xorshift generator: deterministic for a seed, no dependency.
    pub(super) struct Rng(u64);

    impl Rng {
        pub(super) fn new(seed: u64) -> Rng {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        pub(super) fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        /// A number in `0..n`.
        pub(super) fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        /// True with probability `percent`/100.
        pub(super) fn percent(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }
    }

    const WORDS: &[&str] = &[
        "secure",
        "login",
        "account",
        "verify",
        "update",
        "paypal",
        "apple",
        "microsoft",
        "bank",
        "parcel",
        "track",
        "invoice",
        "cdn",
        "download",
        "files",
        "auth",
        "session",
        "support",
        "wallet",
        "office",
        "mail",
        "cloud",
        "drive",
        "docs",
    ];
    const TLDS: &[&str] = &["com", "net", "org", "info", "xyz", "top", "ru", "co", "app"];
    const FAMILIES: &[&str] = &[
        "Emotet",
        "QakBot",
        "Dridex",
        "TrickBot",
        "Pikabot",
        "BumbleBee",
        "BazarLoader",
        "IcedID",
    ];
    const TAGS: &[&str] = &[
        "32-bit",
        "elf",
        "mips",
        "Mozi",
        "Mirai",
        "exe",
        "zip",
        "AgentTesla",
        "Gafgyt",
        "arm",
        "SmokeLoader",
        "doc",
    ];
    const REPORTERS: &[&str] = &["geenensp", "abuse_ch", "lrz_urlhaus", "Cryptolaemus1"];

    /// `n` encoded raw records: 40% URLhaus, 30% Feodo Tracker, 30% OpenPhish.
    pub(super) fn encoded_records(n: usize, seed: u64) -> Result<Vec<Vec<u8>>, CodecError> {
        let mut rng = Rng::new(seed);
        let fetch_id = "6f1c2b9e-3d4a-4b5c-8d7e-0a1b2c3d4e5f";
        (0..n)
            .map(|i| {
                let (source, framing, url, payload) = match rng.below(10) {
                    0..=3 => (
                        "urlhaus",
                        "csv_row",
                        "https://urlhaus.abuse.ch/downloads/csv_recent/",
                        urlhaus_row(&mut rng, i),
                    ),
                    4..=6 => (
                        "feodotracker",
                        "json_value",
                        "https://feodotracker.abuse.ch/downloads/ipblocklist.json",
                        feodo_object(&mut rng),
                    ),
                    _ => (
                        "openphish",
                        "text_line",
                        "https://www.openphish.com/feed.txt",
                        phish_line(&mut rng),
                    ),
                };
                codec().encode(&RawRecord {
                    source: source.to_owned(),
                    fetch_id: fetch_id.to_owned(),
                    fetched_at_ms: 1_714_564_814_000,
                    sequence: i as i64,
                    framing: framing.to_owned(),
                    payload: payload.into_bytes(),
                    request_url: url.to_owned(),
                })
            })
            .collect()
    }

    fn ipv4(rng: &mut Rng) -> String {
        format!(
            "{}.{}.{}.{}",
            1 + rng.below(222),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        )
    }

    fn host(rng: &mut Rng) -> String {
        let mut h = String::new();
        if rng.percent(30) {
            h.push_str("www.");
        }
        for k in 0..(1 + rng.below(3)) {
            if k > 0 {
                h.push('-');
            }
            h.push_str(rng.pick(WORDS));
        }
        if rng.percent(40) {
            h.push_str(&format!(".example-{}", rng.below(1000)));
        }
        h.push('.');
        h.push_str(rng.pick(TLDS));
        if rng.percent(10) {
            h = h.to_uppercase();
        }
        h
    }

    fn path(rng: &mut Rng) -> String {
        let mut p = String::new();
        for _ in 0..rng.below(4) {
            p.push('/');
            p.push_str(rng.pick(WORDS));
        }
        match rng.below(5) {
            0 => p.push_str(&format!("/bin.{}", rng.pick(&["sh", "exe", "zip"]))),
            1 => p.push_str(&format!(
                "/gate.php?id={}&u={}",
                rng.below(10_000),
                rng.pick(WORDS)
            )),
            2 => p.push('/'),
            _ => {}
        }
        p
    }

    fn url(rng: &mut Rng) -> String {
        let scheme = if rng.percent(50) { "http" } else { "https" };
        let authority = if rng.percent(40) {
            format!("{}:{}", ipv4(rng), 1024 + rng.below(60_000))
        } else if rng.percent(10) {
            format!("{}:80", host(rng))
        } else {
            host(rng)
        };
        format!("{scheme}://{authority}{}", path(rng))
    }

    fn date(rng: &mut Rng) -> String {
        format!(
            "2024-{:02}-{:02} {:02}:{:02}:{:02}",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60)
        )
    }

    fn urlhaus_row(rng: &mut Rng, i: usize) -> String {
        let id = 2_000_000 + i;
        let value = if rng.percent(2) {
            "not a url".to_owned()
        } else {
            url(rng)
        };
        if rng.percent(1) {
            // A truncated row: wrong column count.
            return format!("\"{id}\",\"{}\",\"{value}\",\"online\"", date(rng));
        }
        let added = date(rng);
        let last = if rng.percent(20) {
            String::new()
        } else {
            date(rng)
        };
        let tags: Vec<&str> = (0..rng.below(5)).map(|_| rng.pick(TAGS)).collect();
        format!(
            "\"{id}\",\"{added}\",\"{value}\",\"{}\",\"{last}\",\"malware_download\",\"{}\",\
             \"https://urlhaus.abuse.ch/url/{id}/\",\"{}\"",
            if rng.percent(70) { "online" } else { "offline" },
            tags.join(","),
            rng.pick(REPORTERS)
        )
    }

    fn feodo_object(rng: &mut Rng) -> String {
        let ip = if rng.percent(2) {
            format!("300.{}.{}.1", rng.below(256), rng.below(256))
        } else {
            ipv4(rng)
        };
        let port = rng.pick(&["443", "8080", "2222", "447", "995"]);
        let port = if rng.percent(10) {
            format!("\"{port}\"")
        } else {
            port.to_owned()
        };
        let hostname = if rng.percent(50) {
            "null".to_owned()
        } else {
            format!("\"{}\"", host(rng).to_lowercase())
        };
        let first_seen = if rng.percent(10) {
            String::new()
        } else {
            format!("\"first_seen\":\"{}\",", date(rng))
        };
        let ip_field = if rng.percent(1) {
            String::new()
        } else {
            format!("\"ip_address\":\"{ip}\",")
        };
        format!(
            "{{{ip_field}\"port\":{port},\"status\":\"{}\",\"hostname\":{hostname},\
             \"as_number\":{},\"as_name\":\"AS-{}\",\"country\":\"{}\",{first_seen}\
             \"last_online\":\"2024-{:02}-{:02}\",\"malware\":\"{}\"}}",
            if rng.percent(60) { "online" } else { "offline" },
            rng.below(400_000),
            rng.pick(WORDS).to_uppercase(),
            rng.pick(&["US", "RU", "SG", "DE", "NL"]),
            1 + rng.below(12),
            1 + rng.below(28),
            rng.pick(FAMILIES)
        )
    }

    fn phish_line(rng: &mut Rng) -> String {
        if rng.percent(2) {
            return "not a url at all".to_owned();
        }
        let u = url(rng);
        if rng.percent(10) {
            // Defanged, as some feeds publish them.
            u.replacen("http", "hxxp", 1).replace('.', "[.]")
        } else {
            u
        }
    }
}

/// Producing the generated records, and the broker's bare consume and copy rates.
mod broker {
    use std::time::{Duration, Instant};

    use anyhow::{bail, Context};
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::message::Message;
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    use rdkafka::ClientConfig;

    use super::generate;

    /// Flags of `normalizer-bench broker`.
    #[derive(Debug, clap::Args)]
    pub(super) struct BrokerArgs {
        /// `bootstrap.servers`.
        #[arg(long)]
        bootstrap: String,
        /// What to do.
        #[arg(value_enum)]
        action: Action,
        /// Topic to create, produce to, or read from.
        #[arg(long, default_value = "iocflow.raw")]
        topic: String,
        /// Partitions of created topics.
        #[arg(long, default_value_t = 12)]
        partitions: i32,
        /// Topics to create besides `--topic` (`create`).
        #[arg(long = "also-create")]
        also_create: Vec<String>,
        /// Consumer group (`consume`, `copy`).
        #[arg(long, default_value = "normalizer-bench")]
        group: String,
        /// Output topic of `copy`.
        #[arg(long, default_value = "bench.copy")]
        copy_to: String,
        /// `copy` gives every copy a key (a hash of its bytes, as the stage keys indicators by
        /// id), so the copies spread over every partition as the stage's outputs do.
        #[arg(long)]
        keyed: bool,
    }

    /// Broker actions.
    #[derive(Debug, Clone, Copy, clap::ValueEnum)]
    enum Action {
        /// Create `--topic` and `--also-create` with `--partitions` partitions.
        Create,
        /// Produce `--records` generated raw records to `--topic`.
        Produce,
        /// Read `--records` records of `--topic` in a fresh group, and nothing else.
        Consume,
        /// Read `--records` records of `--topic` and produce their bytes unchanged to
        /// `--copy-to`, waiting for every acknowledgement: the stage's traffic without the work.
        Copy,
    }

    pub(super) fn run(args: &BrokerArgs, records: usize, seed: u64) -> anyhow::Result<()> {
        match args.action {
            Action::Create => create(args),
            Action::Produce => produce(args, records, seed),
            Action::Consume => consume(args, records, None),
            Action::Copy => {
                let producer = producer(&args.bootstrap)?;
                consume(args, records, Some(&producer))
            }
        }
    }

    fn create(args: &BrokerArgs) -> anyhow::Result<()> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &args.bootstrap)
            .create()?;
        let names: Vec<&str> = std::iter::once(args.topic.as_str())
            .chain(args.also_create.iter().map(String::as_str))
            .collect();
        let topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|n| NewTopic::new(n, args.partitions, TopicReplication::Fixed(1)))
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = futures::executor::block_on(admin.create_topics(&topics, &options))?;
        for r in results {
            match r {
                Ok(name) => println!("created {name}"),
                Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    println!("{name} exists")
                }
                Err((name, code)) => bail!("creating {name}: {code}"),
            }
        }
        Ok(())
    }

    /// A producer with the stage's settings (idempotent, `acks=all`, lz4, 5 ms linger).
    fn producer(bootstrap: &str) -> anyhow::Result<ThreadedProducer<DefaultProducerContext>> {
        Ok(ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "120000")
            .create()?)
    }

    /// Sends one record, waiting for room in the producer queue.
    fn send(
        producer: &ThreadedProducer<DefaultProducerContext>,
        topic: &str,
        payload: &[u8],
        key: Option<&[u8]>,
    ) -> anyhow::Result<()> {
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(payload);
        if let Some(key) = key {
            record = record.key(key);
        }
        loop {
            match producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }

    fn produce(args: &BrokerArgs, records: usize, seed: u64) -> anyhow::Result<()> {
        let inputs = generate::encoded_records(records, seed)?;
        let bytes: usize = inputs.iter().map(Vec::len).sum();
        let producer = producer(&args.bootstrap)?;
        let started = Instant::now();
        for r in &inputs {
            send(&producer, &args.topic, r, None)?;
        }
        producer
            .flush(Duration::from_secs(600))
            .context("flushing the producer")?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "produced {} records ({bytes} bytes) to {} in {secs:.2} s: {:.0} records/s",
            inputs.len(),
            args.topic,
            inputs.len() as f64 / secs
        );
        Ok(())
    }

    /// Reads `records` records in a fresh group (and copies them when `copy` is given); the
    /// clock starts at the first record, as the normalizer runs' clock starts at its start.
    fn consume(
        args: &BrokerArgs,
        records: usize,
        copy: Option<&ThreadedProducer<DefaultProducerContext>>,
    ) -> anyhow::Result<()> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &args.bootstrap)
            .set("group.id", &args.group)
            .set("enable.auto.commit", "true")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .create()?;
        consumer.subscribe(&[args.topic.as_str()])?;
        let started = Instant::now();
        let mut first: Option<Instant> = None;
        let mut seen = 0usize;
        let mut bytes = 0usize;
        while seen < records {
            if started.elapsed() > Duration::from_secs(900) {
                bail!("only {seen} of {records} records arrived within 900 s");
            }
            let Some(m) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let m = m?;
            first.get_or_insert_with(Instant::now);
            let payload = m.payload().unwrap_or_default();
            bytes += payload.len();
            if let Some(p) = copy {
                let key = args.keyed.then(|| {
                    let mut h = std::hash::DefaultHasher::new();
                    std::hash::Hasher::write(&mut h, payload);
                    format!("{:016x}", std::hash::Hasher::finish(&h))
                });
                send(p, &args.copy_to, payload, key.as_deref().map(str::as_bytes))?;
            }
            seen += 1;
        }
        if let Some(p) = copy {
            p.flush(Duration::from_secs(600))
                .context("flushing the copies")?;
        }
        let from_start = started.elapsed().as_secs_f64();
        let from_first = first.map_or(from_start, |f| f.elapsed().as_secs_f64());
        println!(
            "{} {seen} records ({bytes} bytes) of {}: {from_start:.2} s from subscribe \
             ({:.0} records/s), {from_first:.2} s from the first record ({:.0} records/s)",
            if copy.is_some() { "copied" } else { "consumed" },
            args.topic,
            seen as f64 / from_start,
            seen as f64 / from_first
        );
        Ok(())
    }
}

/// A global allocator that forwards to mimalloc and, while switched on, counts allocations
/// (reallocations included) and bytes requested. Switched off, each call costs one relaxed
/// load more than plain mimalloc.
#[allow(unsafe_code)] // The workspace's only `unsafe`: GlobalAlloc is an unsafe trait.
mod counting {
    use std::alloc::{GlobalAlloc, Layout};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

    use mimalloc::MiMalloc;

    static ON: AtomicBool = AtomicBool::new(false);
    static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
    static BYTES: AtomicU64 = AtomicU64::new(0);

    /// Switches counting on or off.
    pub(crate) fn set(on: bool) {
        ON.store(on, Relaxed);
    }

    /// Allocations counted so far.
    pub(crate) fn allocations() -> u64 {
        ALLOCATIONS.load(Relaxed)
    }

    /// Bytes requested so far.
    pub(crate) fn bytes() -> u64 {
        BYTES.load(Relaxed)
    }

    fn count(size: usize) {
        if ON.load(Relaxed) {
            ALLOCATIONS.fetch_add(1, Relaxed);
            BYTES.fetch_add(size as u64, Relaxed);
        }
    }

    /// The counting allocator.
    pub(crate) struct Counting;

    // SAFETY: every method forwards to MiMalloc with the caller's arguments unchanged; counting
    // touches only atomics.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count(layout.size());
            // SAFETY: forwarded as received.
            unsafe { MiMalloc.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count(layout.size());
            // SAFETY: forwarded as received.
            unsafe { MiMalloc.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded as received.
            unsafe { MiMalloc.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count(new_size);
            // SAFETY: forwarded as received.
            unsafe { MiMalloc.realloc(ptr, layout, new_size) }
        }
    }
}
