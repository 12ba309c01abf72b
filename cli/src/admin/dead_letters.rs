//! `iocflow dlq inspect|redrive`: looking at and re-driving the dead letters of a stage.
//!
//! Both commands scan the stage's dead-letter topic (`--stage normalize` reads
//! `[kafka.topics] dlq_normalize`, `--stage submit` reads `dlq_submit`) from its low to its
//! high watermarks as they were at the start, by assignment: the reader never joins a group
//! and commits nothing, so a scan changes nothing on the broker. Each record is decoded as a
//! `DeadLetter` with the shared codec; `--source` and `--kind` keep the dead letters of one
//! integration or one error kind, and `--limit` stops after that many matches (oldest first,
//! partition by partition in arrival order).
//!
//! - `inspect` prints each match: DLQ position, source, kind, message, where the original
//!   record came from, and printable previews of its key and value (at most 200 characters;
//!   control characters and bytes that are not UTF-8 are escaped). Records that do not
//!   decode as a `DeadLetter` are counted, and listed when no filter is given.
//!   Default limit: 100.
//! - `redrive` produces each match's original key and value, unchanged, to its original topic
//!   (so the stage reads it again, typically after a fix), with the header
//!   `iocflow.redriven-from` = `<dlq topic>/<partition>/<offset>`, and waits until the broker
//!   acknowledged every record before it reports how many it re-drove. The dead letters stay
//!   in the DLQ (retention removes them); re-driving twice sends the records twice, which the
//!   pipeline tolerates because indicator ids are deterministic. The original partition is
//!   not forced: the producer's partitioner places the record by its key. `--dry-run` counts
//!   what would be re-driven. Default limit: none.

use std::collections::{BTreeMap, VecDeque};
use std::process::ExitCode;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use serde::Serialize;

use iocflow_schemas::DeadLetter;
use iocflow_service::kafka::KafkaConfig;

use crate::admin::connection::{self, BrokerArgs};
use crate::admin::error::AdminError;
use crate::admin::output::{printable_preview, PREVIEW_MAX_CHARS};
use crate::admin::reader::TopicReader;

/// Header naming the dead letter a re-driven record came from.
pub const REDRIVEN_FROM: &str = "iocflow.redriven-from";

/// Most records awaiting their delivery report at once while re-driving.
const MAX_IN_FLIGHT: usize = 1000;

/// `iocflow dlq` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// Print the dead letters of a stage.
    Inspect(InspectArgs),
    /// Produce dead letters' original records again to their original topic.
    Redrive(RedriveArgs),
}

/// The stage whose dead-letter topic is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// The normalizer's dead letters (`kafka.topics.dlq_normalize`).
    Normalize,
    /// The submitter's dead letters (`kafka.topics.dlq_submit`).
    Submit,
}

impl Stage {
    /// The stage's dead-letter topic in `kafka`'s topic names.
    pub fn topic(self, kafka: &KafkaConfig) -> &str {
        match self {
            Stage::Normalize => &kafka.topics.dlq_normalize,
            Stage::Submit => &kafka.topics.dlq_submit,
        }
    }
}

/// Flags of `iocflow dlq inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Whose dead letters.
    #[arg(long, value_enum)]
    pub stage: Stage,
    /// Show at most this many dead letters.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Only dead letters of this integration.
    #[arg(long)]
    pub source: Option<String>,
    /// Only dead letters of this error kind (e.g. unparseable, rejected).
    #[arg(long)]
    pub kind: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Broker connection.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Flags of `iocflow dlq redrive`.
#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    /// Whose dead letters.
    #[arg(long, value_enum)]
    pub stage: Stage,
    /// Only dead letters of this integration.
    #[arg(long)]
    pub source: Option<String>,
    /// Only dead letters of this error kind.
    #[arg(long)]
    pub kind: Option<String>,
    /// Re-drive at most this many (the oldest first). Default: all that match.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Count what would be re-driven; produce nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Broker connection.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Which dead letters a command works on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DlqFilter {
    /// Integration name, exact.
    pub source: Option<String>,
    /// Error kind, exact.
    pub kind: Option<String>,
}

impl DlqFilter {
    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.source.is_none() && self.kind.is_none()
    }

    /// Whether `letter` passes.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        self.source.as_ref().is_none_or(|s| *s == letter.source)
            && self.kind.as_ref().is_none_or(|k| *k == letter.error_kind)
    }
}

/// One record of a dead-letter topic.
#[derive(Debug, Clone, PartialEq)]
pub struct DlqEntry {
    /// Partition in the DLQ.
    pub partition: i32,
    /// Offset in the DLQ.
    pub offset: i64,
    /// The dead letter, or why it does not decode.
    pub letter: Result<DeadLetter, String>,
}

/// Decodes a DLQ record.
pub fn decode_entry(message: &OwnedMessage) -> DlqEntry {
    let letter = match message.payload() {
        Some(bytes) => iocflow_schemas::codec()
            .decode::<DeadLetter>(bytes)
            .map_err(|e| format!("not a dead letter: {e}")),
        None => Err("empty record".to_string()),
    };
    DlqEntry {
        partition: message.partition(),
        offset: message.offset(),
        letter,
    }
}

/// A dead letter as `inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectedLetter {
    /// Partition in the DLQ.
    pub partition: i32,
    /// Offset in the DLQ.
    pub offset: i64,
    /// Integration name.
    pub source: String,
    /// Stage that dead-lettered it.
    pub stage: String,
    /// Error kind.
    pub kind: String,
    /// Error message.
    pub message: String,
    /// Topic of the original record.
    pub original_topic: String,
    /// Partition of the original record.
    pub original_partition: i32,
    /// Offset of the original record.
    pub original_offset: i64,
    /// When the stage gave up (ms since epoch).
    pub failed_at_ms: i64,
    /// Printable preview of the original key.
    pub key_preview: Option<String>,
    /// Printable preview of the original value.
    pub value_preview: String,
    /// Size of the original value.
    pub value_bytes: usize,
}

impl InspectedLetter {
    fn new(partition: i32, offset: i64, letter: &DeadLetter) -> InspectedLetter {
        InspectedLetter {
            partition,
            offset,
            source: letter.source.clone(),
            stage: letter.stage.clone(),
            kind: letter.error_kind.clone(),
            message: printable_preview(letter.error_message.as_bytes(), PREVIEW_MAX_CHARS),
            original_topic: letter.original_topic.clone(),
            original_partition: letter.original_partition,
            original_offset: letter.original_offset,
            failed_at_ms: letter.failed_at_ms,
            key_preview: letter
                .original_key
                .as_deref()
                .map(|k| printable_preview(k, PREVIEW_MAX_CHARS)),
            value_preview: printable_preview(&letter.original_value, PREVIEW_MAX_CHARS),
            value_bytes: letter.original_value.len(),
        }
    }
}

/// A record of the DLQ that is not a dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Undecodable {
    /// Partition in the DLQ.
    pub partition: i32,
    /// Offset in the DLQ.
    pub offset: i64,
    /// Why it does not decode.
    pub error: String,
}

/// What `inspect` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InspectReport {
    /// The DLQ topic.
    pub topic: String,
    /// Records read.
    pub scanned: u64,
    /// Dead letters that passed the filter (counting stops at the limit).
    pub matched: u64,
    /// The dead letters shown, at most the limit.
    pub letters: Vec<InspectedLetter>,
    /// Records that are not dead letters (listed only without a filter).
    pub undecodable: Vec<Undecodable>,
    /// Whether the scan stopped at the limit before the end of the topic.
    pub truncated: bool,
}

/// What `redrive` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedriveReport {
    /// The DLQ topic.
    pub topic: String,
    /// Whether nothing was produced.
    pub dry_run: bool,
    /// Records read.
    pub scanned: u64,
    /// Records re-driven (or, in a dry run, that would be), per original topic.
    pub redriven: BTreeMap<String, u64>,
    /// Matching dead letters without an original topic, left alone.
    pub skipped_without_topic: u64,
    /// Records that are not dead letters, left alone.
    pub undecodable: u64,
}

impl RedriveReport {
    /// Records re-driven over all topics.
    pub fn total(&self) -> u64 {
        self.redriven.values().sum()
    }
}

/// Scans `topic` and returns the dead letters passing `filter`, at most `limit`.
///
/// # Errors
/// [`AdminError`] when the topic does not exist or cannot be read.
pub async fn inspect(
    kafka: &KafkaConfig,
    topic: &str,
    filter: &DlqFilter,
    limit: usize,
) -> Result<InspectReport, AdminError> {
    let mut reader = TopicReader::open(kafka, topic)?;
    let mut report = InspectReport {
        topic: topic.to_string(),
        ..InspectReport::default()
    };
    while let Some(message) = reader.next().await? {
        if report.letters.len() >= limit {
            report.truncated = true;
            break;
        }
        report.scanned += 1;
        let entry = decode_entry(&message);
        match &entry.letter {
            Ok(letter) if filter.matches(letter) => {
                report.matched += 1;
                report
                    .letters
                    .push(InspectedLetter::new(entry.partition, entry.offset, letter));
            }
            Ok(_) => {}
            Err(error) if filter.is_empty() => report.undecodable.push(Undecodable {
                partition: entry.partition,
                offset: entry.offset,
                error: error.clone(),
            }),
            Err(_) => {}
        }
    }
    Ok(report)
}

/// Scans `topic` and re-produces the original record of every dead letter passing `filter`
/// (at most `limit`) to its original topic, awaiting every delivery; with `dry_run`, counts
/// them instead.
///
/// # Errors
/// [`AdminError`] when the DLQ cannot be read or a record cannot be delivered; the message
/// says how many were delivered before.
pub async fn redrive(
    kafka: &KafkaConfig,
    topic: &str,
    filter: &DlqFilter,
    limit: Option<usize>,
    dry_run: bool,
) -> Result<RedriveReport, AdminError> {
    let mut reader = TopicReader::open(kafka, topic)?;
    let producer = if dry_run {
        None
    } else {
        Some(
            kafka
                .producer(connection::CLIENT_ID)
                .map_err(|e| AdminError::kafka("creating the producer", e))?,
        )
    };
    let mut report = RedriveReport {
        topic: topic.to_string(),
        dry_run,
        ..RedriveReport::default()
    };
    let mut pending: VecDeque<(String, DeliveryFuture)> = VecDeque::new();
    let mut delivered = 0u64;

    while let Some(message) = reader.next().await? {
        if limit.is_some_and(|l| report.total() >= l as u64) {
            break;
        }
        report.scanned += 1;
        let entry = decode_entry(&message);
        let letter = match entry.letter {
            Ok(letter) if filter.matches(&letter) => letter,
            Ok(_) => continue,
            Err(_) => {
                report.undecodable += 1;
                continue;
            }
        };
        if letter.original_topic.is_empty() {
            report.skipped_without_topic += 1;
            continue;
        }

        if let Some(producer) = &producer {
            let from = format!("{topic}/{}/{}", entry.partition, entry.offset);
            let future = enqueue(producer, &letter, &from, &mut pending, &mut delivered).await?;
            pending.push_back((from, future));
            if pending.len() >= MAX_IN_FLIGHT {
                await_oldest(&mut pending, &mut delivered).await?;
            }
        }
        *report.redriven.entry(letter.original_topic).or_default() += 1;
    }

    while !pending.is_empty() {
        await_oldest(&mut pending, &mut delivered).await?;
    }
    Ok(report)
}

/// Hands one record to the producer, waiting for older deliveries while its queue is full.
async fn enqueue(
    producer: &FutureProducer,
    letter: &DeadLetter,
    from: &str,
    pending: &mut VecDeque<(String, DeliveryFuture)>,
    delivered: &mut u64,
) -> Result<DeliveryFuture, AdminError> {
    loop {
        let headers = OwnedHeaders::new().insert(Header {
            key: REDRIVEN_FROM,
            value: Some(from),
        });
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&letter.original_topic)
            .payload(letter.original_value.as_slice())
            .headers(headers);
        if let Some(key) = &letter.original_key {
            record = record.key(key.as_slice());
        }
        match producer.send_result(record) {
            Ok(future) => return Ok(future),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                if !pending.is_empty() =>
            {
                await_oldest(pending, delivered).await?;
            }
            Err((error, _)) => {
                return Err(AdminError::Broker(format!(
                    "re-driving {from} failed after {delivered} record(s) were delivered: {error}"
                )))
            }
        }
    }
}

async fn await_oldest(
    pending: &mut VecDeque<(String, DeliveryFuture)>,
    delivered: &mut u64,
) -> Result<(), AdminError> {
    let Some((from, future)) = pending.pop_front() else {
        return Ok(());
    };
    match future.await {
        Ok(Ok(_)) => {
            *delivered += 1;
            Ok(())
        }
        Ok(Err((error, _))) => Err(AdminError::Broker(format!(
            "re-driving {from} failed after {delivered} record(s) were delivered: {error}"
        ))),
        Err(_canceled) => Err(AdminError::Broker(format!(
            "re-driving {from}: the producer went away after {delivered} record(s) were \
             delivered"
        ))),
    }
}

/// Runs `iocflow dlq inspect|redrive`.
///
/// # Errors
/// Broker failures; configuration errors print their message and exit 2.
pub async fn run(command: DlqCommand) -> anyhow::Result<ExitCode> {
    connection::finish(run_inner(command).await)
}

async fn run_inner(command: DlqCommand) -> Result<ExitCode, AdminError> {
    match command {
        DlqCommand::Inspect(args) => {
            let kafka = args.broker.kafka_config()?;
            let topic = args.stage.topic(&kafka).to_string();
            let filter = DlqFilter {
                source: args.source,
                kind: args.kind,
            };
            let report = inspect(&kafka, &topic, &filter, args.limit).await?;
            if args.json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                print!("{}", render_inspect(&report));
            }
        }
        DlqCommand::Redrive(args) => {
            let kafka = args.broker.kafka_config()?;
            let topic = args.stage.topic(&kafka).to_string();
            let filter = DlqFilter {
                source: args.source,
                kind: args.kind,
            };
            let report = redrive(&kafka, &topic, &filter, args.limit, args.dry_run).await?;
            if args.json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                print!("{}", render_redrive(&report));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `inspect`'s report as text, one block per dead letter.
pub fn render_inspect(report: &InspectReport) -> String {
    let mut out = String::new();
    for l in &report.letters {
        out.push_str(&format!(
            "{}/{}/{}  source={}  kind={}  failed_at_ms={}\n",
            report.topic, l.partition, l.offset, l.source, l.kind, l.failed_at_ms
        ));
        out.push_str(&format!("  message:  {}\n", l.message));
        out.push_str(&format!(
            "  original: {}/{}/{}\n",
            l.original_topic, l.original_partition, l.original_offset
        ));
        if let Some(key) = &l.key_preview {
            out.push_str(&format!("  key:      {key}\n"));
        }
        out.push_str(&format!(
            "  value:    {} ({} bytes)\n",
            l.value_preview, l.value_bytes
        ));
    }
    for u in &report.undecodable {
        out.push_str(&format!(
            "{}/{}/{}  undecodable: {}\n",
            report.topic, u.partition, u.offset, u.error
        ));
    }
    out.push_str(&format!(
        "{} dead letter(s) shown of {} record(s) read{}.\n",
        report.letters.len(),
        report.scanned,
        if report.truncated {
            "; stopped at the limit"
        } else {
            ""
        }
    ));
    out
}

/// `redrive`'s report as text.
pub fn render_redrive(report: &RedriveReport) -> String {
    let verb = if report.dry_run {
        "Would re-drive"
    } else {
        "Re-drove"
    };
    let mut out = format!(
        "{verb} {} record(s) from {} ({} read).\n",
        report.total(),
        report.topic,
        report.scanned
    );
    for (topic, count) in &report.redriven {
        out.push_str(&format!("  {topic}: {count}\n"));
    }
    if report.undecodable > 0 {
        out.push_str(&format!(
            "  {} record(s) are not dead letters and were left alone.\n",
            report.undecodable
        ));
    }
    if report.skipped_without_topic > 0 {
        out.push_str(&format!(
            "  {} dead letter(s) name no original topic and were left alone.\n",
            report.skipped_without_topic
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::testing::{broker_kafka, mock_kafka, unique_topic};
    use rdkafka::message::Headers;
    use rdkafka::util::Timeout;

    fn letter(source: &str, kind: &str, value: &[u8]) -> DeadLetter {
        DeadLetter {
            stage: "normalize".into(),
            source: source.into(),
            error_kind: kind.into(),
            error_message: format!("{kind} in {source}"),
            original_topic: "iocflow.raw".into(),
            original_partition: 0,
            original_offset: 7,
            original_key: Some(format!("key-{source}").into_bytes()),
            original_value: value.to_vec(),
            failed_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn filter_matches_source_and_kind() {
        let l = letter("urlhaus", "unparseable", b"x");
        assert!(DlqFilter::default().matches(&l));
        let by_source = DlqFilter {
            source: Some("urlhaus".into()),
            kind: None,
        };
        assert!(by_source.matches(&l));
        let both = DlqFilter {
            source: Some("urlhaus".into()),
            kind: Some("missing_field".into()),
        };
        assert!(!both.matches(&l));
        let other = DlqFilter {
            source: Some("feodo".into()),
            kind: None,
        };
        assert!(!other.matches(&l));
    }

    #[test]
    fn inspected_letter_previews_are_bounded_and_escaped() {
        let mut value = b"bad\xffbytes\n".to_vec();
        value.extend(std::iter::repeat_n(b'z', 1000));
        let shown = InspectedLetter::new(1, 2, &letter("s", "k", &value));
        assert!(shown.value_preview.starts_with("bad\\xffbytes\\n"));
        assert!(shown.value_preview.chars().count() <= PREVIEW_MAX_CHARS);
        assert_eq!(shown.value_bytes, value.len());
        assert_eq!(shown.key_preview.as_deref(), Some("key-s"));
    }

    async fn produce_raw(kafka: &KafkaConfig, topic: &str, partition: i32, value: &[u8]) {
        let producer = kafka.producer("test").unwrap();
        producer
            .send(
                FutureRecord::<(), [u8]>::to(topic)
                    .partition(partition)
                    .payload(value),
                Timeout::Never,
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn inspect_and_redrive_on_the_mock_cluster() {
        let (dlq, raw) = ("iocflow.dlq.normalize", "iocflow.raw");
        let (_cluster, kafka) = mock_kafka(&[(dlq, 2), (raw, 1)]);
        inspect_and_redrive(&kafka, dlq, raw).await;
    }

    /// The same on a real broker (Tansu or Kafka), when `IOCFLOW_TEST_BOOTSTRAP_SERVERS`
    /// names one; skipped otherwise.
    #[tokio::test]
    async fn inspect_and_redrive_on_a_real_broker() {
        let (dlq, raw) = (unique_topic("dlq"), unique_topic("raw"));
        let Some(kafka) = broker_kafka(&[(&dlq, 2), (&raw, 1)]).await else {
            return;
        };
        inspect_and_redrive(&kafka, &dlq, &raw).await;
    }

    async fn inspect_and_redrive(kafka: &KafkaConfig, dlq: &str, raw: &str) {
        let codec = iocflow_schemas::codec();
        let letters = [
            (0, letter("urlhaus", "unparseable", b"1.2.3.4,,")),
            (1, letter("feodo", "missing_field", b"{}")),
            (0, letter("urlhaus", "invalid_value", b"\xff\xfe")),
        ];
        for (partition, l) in &letters {
            let l = DeadLetter {
                original_topic: raw.to_string(),
                ..l.clone()
            };
            produce_raw(kafka, dlq, *partition, &codec.encode(&l).unwrap()).await;
        }
        produce_raw(kafka, dlq, 1, b"not avro").await;

        // Inspect: everything, then by source, then with a limit.
        let all = inspect(kafka, dlq, &DlqFilter::default(), 100)
            .await
            .unwrap();
        assert_eq!(all.scanned, 4);
        assert_eq!(all.letters.len(), 3);
        assert_eq!(all.undecodable.len(), 1);
        assert_eq!(
            (all.undecodable[0].partition, all.undecodable[0].offset),
            (1, 1)
        );
        let urlhaus = DlqFilter {
            source: Some("urlhaus".into()),
            kind: None,
        };
        let only = inspect(kafka, dlq, &urlhaus, 100).await.unwrap();
        let offsets: Vec<(i32, i64, &str)> = only
            .letters
            .iter()
            .map(|l| (l.partition, l.offset, l.kind.as_str()))
            .collect();
        assert_eq!(
            offsets,
            vec![(0, 0, "unparseable"), (0, 1, "invalid_value")]
        );
        assert!(only.undecodable.is_empty());
        assert_eq!(only.letters[1].value_preview, "\\xff\\xfe");
        let limited = inspect(kafka, dlq, &DlqFilter::default(), 1).await.unwrap();
        assert_eq!(limited.letters.len(), 1);
        assert!(limited.truncated);
        assert!(render_inspect(&only).contains(&format!("original: {raw}/0/7")));

        // Dry run: counts, produces nothing.
        let plan = redrive(kafka, dlq, &urlhaus, None, true).await.unwrap();
        assert_eq!(plan.total(), 2);
        assert_eq!(plan.undecodable, 1);
        let mut raw_reader = TopicReader::open(kafka, raw).unwrap();
        assert!(raw_reader.next().await.unwrap().is_none());

        // Redrive urlhaus, at most one: the oldest goes back to the raw topic, with the header.
        let done = redrive(kafka, dlq, &urlhaus, Some(1), false).await.unwrap();
        assert_eq!(done.redriven.get(raw), Some(&1));
        assert!(render_redrive(&done).contains("Re-drove 1 record(s)"));
        let mut raw_reader = TopicReader::open(kafka, raw).unwrap();
        let record = raw_reader.next().await.unwrap().unwrap();
        assert!(raw_reader.next().await.unwrap().is_none());
        assert_eq!(record.payload(), Some(&b"1.2.3.4,,"[..]));
        assert_eq!(record.key(), Some(&b"key-urlhaus"[..]));
        let headers = record.headers().unwrap();
        let header = headers.iter().find(|h| h.key == REDRIVEN_FROM).unwrap();
        let expected = format!("{dlq}/0/0");
        assert_eq!(header.value, Some(expected.as_bytes()));
    }
}
