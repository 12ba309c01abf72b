//! `iocflow replay`: moves a consumer group's committed offsets on one topic, so the group
//! re-reads (or skips) records when it next starts.
//!
//! **The group must have no active members.** Stop every consumer of the group first (scale
//! the stage's deployment to zero): a running member would overwrite the new offsets with its
//! own on its next commit. Apache Kafka refuses the commit while the group has members; the
//! command also asks the broker for the group's members (DescribeGroups) and refuses when
//! there are any. Tansu's SQLite engine fails DescribeGroups; the command then warns that it
//! could not check and goes on, so on Tansu stopping the group is up to the operator.
//!
//! Targets, per partition (all of the topic's partitions, or `--partition`):
//! - `--to-earliest`: the low watermark; `--to-latest`: the high watermark (skip everything);
//! - `--to-offset N`: N, clamped into `[low, high]` (the clamp is reported);
//! - `--to-timestamp RFC3339`: the first offset whose record timestamp is at or after the
//!   time (ListOffsets by timestamp, `offsets_for_times`), or the high watermark when no
//!   record is that recent. The command checks the broker's answer against the records
//!   around it (the record at the answer must be at or after the time, the one before it
//!   earlier) and fails, saying the broker does not support the lookup, when they disagree.
//!   Tansu 0.6 does not implement it (it answers the first offset whatever the time; the
//!   check catches that unless the time is before every record, where the answer happens to
//!   be right), nor does librdkafka's mock cluster. `--to-offset` is the way to replay
//!   there.
//!
//! The new offsets are written with a consumer that has the group's `group.id`, `assign`s the
//! partitions and `commit`s synchronously: the AlterConsumerGroupOffsets equivalent that works
//! on both Kafka and Tansu. The command prints each partition's committed offset before and
//! after; `--dry-run` prints the plan and commits nothing.

use std::process::ExitCode;
use std::time::Instant;

use chrono::DateTime;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use iocflow_service::kafka::{KafkaConfig, METADATA_TIMEOUT};

use crate::admin::connection::{self, BrokerArgs};
use crate::admin::error::AdminError;
use crate::admin::output::render_table;

/// Flags of `iocflow replay`.
///
/// The group must have no active members: stop its consumers first.
#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("target").required(true)
        .args(["to_earliest", "to_latest", "to_offset", "to_timestamp"])),
    after_help = "The group must have no active members: stop (scale to zero) every consumer \
                  of the group first, or a running member overwrites the new offsets."
)]
pub struct ReplayArgs {
    /// Consumer group whose offsets move (it must have no active members).
    #[arg(long)]
    pub group: String,
    /// Topic whose offsets move.
    #[arg(long)]
    pub topic: String,
    /// Move to the first retained record.
    #[arg(long)]
    pub to_earliest: bool,
    /// Move past the last record (skip everything written so far).
    #[arg(long)]
    pub to_latest: bool,
    /// Move to this offset (clamped into the partition's retained range).
    #[arg(long, value_name = "N")]
    pub to_offset: Option<i64>,
    /// Move to the first record at or after this time, e.g. 2026-12-03T10:00:00Z. Not
    /// supported by Tansu.
    #[arg(long, value_name = "RFC3339")]
    pub to_timestamp: Option<String>,
    /// Only this partition (repeatable). Default: every partition of the topic.
    #[arg(long = "partition", value_name = "P")]
    pub partitions: Vec<i32>,
    /// Print the plan; commit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Broker connection.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Where to move a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The low watermark.
    Earliest,
    /// The high watermark.
    Latest,
    /// An offset.
    Offset(i64),
    /// A time, in milliseconds since the epoch.
    Timestamp(i64),
}

impl Target {
    /// The target the flags ask for.
    ///
    /// # Errors
    /// [`AdminError::Usage`] for an unparsable timestamp or no target.
    pub fn from_args(args: &ReplayArgs) -> Result<Target, AdminError> {
        if args.to_earliest {
            Ok(Target::Earliest)
        } else if args.to_latest {
            Ok(Target::Latest)
        } else if let Some(offset) = args.to_offset {
            Ok(Target::Offset(offset))
        } else if let Some(text) = &args.to_timestamp {
            parse_timestamp(text).map(Target::Timestamp)
        } else {
            Err(AdminError::Usage(
                "give one of --to-earliest, --to-latest, --to-offset, --to-timestamp".into(),
            ))
        }
    }
}

/// Parses an RFC 3339 time into milliseconds since the epoch.
///
/// # Errors
/// [`AdminError::Usage`] naming the value.
pub fn parse_timestamp(text: &str) -> Result<i64, AdminError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            AdminError::Usage(format!(
                "--to-timestamp {text:?} is not an RFC 3339 time (e.g. 2026-12-03T10:00:00Z): {e}"
            ))
        })
}

/// One partition's move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionMove {
    /// Partition.
    pub partition: i32,
    /// Committed offset before, if any.
    pub before: Option<i64>,
    /// The new committed offset.
    pub after: i64,
    /// Low watermark.
    pub low: i64,
    /// High watermark.
    pub high: i64,
    /// Why `after` is not exactly what was asked, if it is not.
    pub note: Option<String>,
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// Group.
    pub group: String,
    /// Topic.
    pub topic: String,
    /// Whether the offsets were committed (false with `--dry-run`).
    pub committed: bool,
    /// Per partition.
    pub partitions: Vec<PartitionMove>,
}

/// The new offset of a partition for an `Earliest`, `Latest` or `Offset` target, with a note
/// when an offset had to be clamped into `[low, high]`. `Timestamp` targets are looked up on
/// the broker; here they resolve to `None`.
pub fn resolve_offset(target: Target, low: i64, high: i64) -> Option<(i64, Option<String>)> {
    match target {
        Target::Earliest => Some((low, None)),
        Target::Latest => Some((high, None)),
        Target::Offset(n) if n < low => Some((
            low,
            Some(format!(
                "{n} is before the first retained offset; moved to {low}"
            )),
        )),
        Target::Offset(n) if n > high => Some((
            high,
            Some(format!(
                "{n} is past the end; moved to the high watermark {high}"
            )),
        )),
        Target::Offset(n) => Some((n, None)),
        Target::Timestamp(_) => None,
    }
}

/// Runs `iocflow replay`.
///
/// # Errors
/// Broker failures; configuration and usage errors print their message and exit 2.
pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    connection::finish(run_inner(args).await)
}

async fn run_inner(args: ReplayArgs) -> Result<ExitCode, AdminError> {
    let target = Target::from_args(&args)?;
    let kafka = args.broker.kafka_config()?;
    let (group, topic, partitions, dry_run) = (
        args.group.clone(),
        args.topic.clone(),
        args.partitions.clone(),
        args.dry_run,
    );

    // librdkafka's offset calls block; keep them off the async workers.
    let report = tokio::task::spawn_blocking(move || {
        replay(&kafka, &group, &topic, &partitions, target, dry_run)
    })
    .await
    .map_err(|e| AdminError::Broker(format!("the replay stopped: {e}")))??;

    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print!("{}", render_replay(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// Moves `group`'s committed offsets on `topic` (all partitions when `partitions` is empty)
/// to `target`, or only plans it when `dry_run`. Blocking.
///
/// # Errors
/// [`AdminError::Usage`] for an unknown topic or partition, or a group with active members;
/// [`AdminError::Broker`] when the broker cannot look offsets up by time;
/// [`AdminError::Kafka`] when a broker call fails.
pub fn replay(
    kafka: &KafkaConfig,
    group: &str,
    topic: &str,
    partitions: &[i32],
    target: Target,
    dry_run: bool,
) -> Result<ReplayReport, AdminError> {
    let consumer = connection::group_consumer(kafka, group)?;

    // Which partitions.
    let metadata = connection::cluster_metadata(consumer.client())?;
    let existing = connection::topic_partitions(&metadata, topic)
        .ok_or_else(|| AdminError::Usage(format!("topic {topic} does not exist")))?;
    let chosen: Vec<i32> = if partitions.is_empty() {
        existing
    } else {
        if let Some(p) = partitions.iter().find(|p| !existing.contains(p)) {
            return Err(AdminError::Usage(format!(
                "topic {topic} has no partition {p} (it has {})",
                existing.len()
            )));
        }
        let mut chosen = partitions.to_vec();
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    };

    if !dry_run {
        ensure_no_members(&consumer, group)?;
    }

    // Before, and the plan.
    let mut tpl = TopicPartitionList::new();
    for p in &chosen {
        tpl.add_partition(topic, *p);
    }
    let before = consumer
        .committed_offsets(tpl, METADATA_TIMEOUT)
        .map_err(|e| AdminError::kafka(format!("reading committed offsets of {group}"), e))?;
    let by_time = match target {
        Target::Timestamp(ms) => Some(lookup_by_time(&consumer, topic, &chosen, ms)?),
        _ => None,
    };

    let mut moves = Vec::with_capacity(chosen.len());
    for (i, p) in chosen.iter().enumerate() {
        let (low, high) = consumer
            .fetch_watermarks(topic, *p, METADATA_TIMEOUT)
            .map_err(|e| AdminError::kafka(format!("reading watermarks of {topic}/{p}"), e))?;
        let (after, note) = match (&by_time, resolve_offset(target, low, high)) {
            (_, Some(resolved)) => resolved,
            (Some(found), None) => {
                let found = found.get(i).copied().flatten();
                let resolved = check_time_offset(found, low, high)?;
                if let Target::Timestamp(ms) = target {
                    verify_time_offset(kafka, topic, *p, found, (low, high), ms)?;
                }
                resolved
            }
            (None, None) => (high, None),
        };
        let before = before
            .find_partition(topic, *p)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => Some(o),
                _ => None,
            });
        moves.push(PartitionMove {
            partition: *p,
            before,
            after,
            low,
            high,
            note,
        });
    }

    // Commit as the group: assign + synchronous commit.
    if !dry_run {
        let mut new_offsets = TopicPartitionList::new();
        for m in &moves {
            new_offsets
                .add_partition_offset(topic, m.partition, Offset::Offset(m.after))
                .map_err(|e| AdminError::kafka("building the offset list", e))?;
        }
        consumer
            .assign(&new_offsets)
            .map_err(|e| AdminError::kafka(format!("assigning {topic}"), e))?;
        consumer
            .commit(&new_offsets, CommitMode::Sync)
            .map_err(|e| {
                AdminError::kafka(
                    format!("committing {group}'s offsets (is a member of the group running?)"),
                    e,
                )
            })?;
    }

    Ok(ReplayReport {
        group: group.to_string(),
        topic: topic.to_string(),
        committed: !dry_run,
        partitions: moves,
    })
}

/// Refuses when the broker says the group has members; warns and goes on when the broker
/// cannot say (Tansu's SQLite engine fails DescribeGroups).
fn ensure_no_members(consumer: &BaseConsumer, group: &str) -> Result<(), AdminError> {
    match consumer.fetch_group_list(Some(group), METADATA_TIMEOUT) {
        Ok(list) => {
            let members: usize = list
                .groups()
                .iter()
                .filter(|g| g.name() == group)
                .map(|g| g.members().len())
                .sum();
            if members > 0 {
                return Err(AdminError::Usage(format!(
                    "group {group} has {members} active member(s); stop its consumers first"
                )));
            }
            Ok(())
        }
        Err(e) => {
            eprintln!(
                "warning: could not check that group {group} has no active members \
                 (DescribeGroups failed: {e}); make sure its consumers are stopped"
            );
            Ok(())
        }
    }
}

/// Looks up, per partition, the first offset at or after `ms`. `None` in the result: no
/// record is that recent.
fn lookup_by_time(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
    ms: i64,
) -> Result<Vec<Option<i64>>, AdminError> {
    let unsupported = |detail: String| {
        AdminError::Broker(format!(
            "the broker cannot look offsets up by timestamp (ListOffsets by time): {detail}. \
             Tansu does not support it; use --to-offset instead"
        ))
    };

    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, *p, Offset::Offset(ms))
            .map_err(|e| AdminError::kafka("building the timestamp list", e))?;
    }
    let found = consumer
        .offsets_for_times(tpl, METADATA_TIMEOUT)
        .map_err(|e| unsupported(e.to_string()))?;

    let mut offsets = Vec::with_capacity(partitions.len());
    for p in partitions {
        let elem = found
            .find_partition(topic, *p)
            .ok_or_else(|| unsupported(format!("no answer for partition {p}")))?;
        if let Err(e) = elem.error() {
            return Err(unsupported(format!("partition {p}: {e}")));
        }
        offsets.push(match elem.offset() {
            Offset::Offset(o) if o >= 0 => Some(o),
            Offset::End => None,
            other => return Err(unsupported(format!("partition {p} answered {other:?}"))),
        });
    }
    Ok(offsets)
}

/// Accepts an offset found by time only when it lies in the partition's range: a broker that
/// answers the lookup without implementing it must not move a group somewhere arbitrary.
fn check_time_offset(
    found: Option<i64>,
    low: i64,
    high: i64,
) -> Result<(i64, Option<String>), AdminError> {
    match found {
        None => Ok((high, Some("no record that recent; moved to the end".into()))),
        Some(o) if (low..=high).contains(&o) => Ok((o, None)),
        Some(o) => Err(AdminError::Broker(format!(
            "the broker answered offset {o} for a timestamp, outside the partition's range \
             [{low}, {high}]: it does not support offsets-for-times (Tansu does not); use \
             --to-offset instead"
        ))),
    }
}

/// Checks a broker's by-time answer against the records themselves: the record at the found
/// offset must be at or after `ms`, and the one before it earlier than `ms` (with no offset
/// found, the last record must be earlier than `ms`). Kafka's answer always passes; a broker
/// that answers without implementing the lookup (Tansu answers the first offset whatever the
/// time) is caught here instead of moving the group somewhere arbitrary.
fn verify_time_offset(
    kafka: &KafkaConfig,
    topic: &str,
    partition: i32,
    found: Option<i64>,
    (low, high): (i64, i64),
    ms: i64,
) -> Result<(), AdminError> {
    let wrong = |detail: String| {
        AdminError::Broker(format!(
            "the broker's offsets-for-times answer for {topic}/{partition} is wrong ({detail}): \
             it does not support looking offsets up by timestamp (Tansu does not); use \
             --to-offset instead"
        ))
    };
    let (from, count) = match found {
        Some(o) if o > low => (o - 1, 2),
        Some(o) => (o, 1),
        None => (high - 1, 1),
    };
    if from < low || from >= high {
        return Ok(());
    }
    let records = read_timestamps(kafka, topic, partition, from, count.min(high - from))?;
    for (offset, timestamp) in records {
        let Some(ts) = timestamp else {
            return Err(wrong(format!("record {offset} has no timestamp")));
        };
        let should_be_later = found.is_some_and(|o| offset >= o);
        if should_be_later && ts < ms {
            return Err(wrong(format!(
                "offset {offset} has timestamp {ts}, before the {ms} asked for"
            )));
        }
        if !should_be_later && ts >= ms {
            return Err(wrong(format!(
                "offset {offset}, before the answer, already has timestamp {ts} >= {ms}"
            )));
        }
    }
    Ok(())
}

/// Reads up to `count` records of one partition from offset `from`, as (offset, timestamp).
fn read_timestamps(
    kafka: &KafkaConfig,
    topic: &str,
    partition: i32,
    from: i64,
    count: i64,
) -> Result<Vec<(i64, Option<i64>)>, AdminError> {
    let consumer: BaseConsumer = connection::reader(kafka)?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(from))
        .map_err(|e| AdminError::kafka("building the assignment", e))?;
    consumer
        .assign(&tpl)
        .map_err(|e| AdminError::kafka(format!("assigning {topic}/{partition}"), e))?;

    let deadline = Instant::now() + METADATA_TIMEOUT;
    let mut records = Vec::new();
    while (records.len() as i64) < count {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(AdminError::Broker(format!(
                "could not read {topic}/{partition} from offset {from} to check the \
                 offsets-for-times answer"
            )));
        }
        match consumer.poll(remaining) {
            Some(Ok(message)) => {
                records.push((message.offset(), message.timestamp().to_millis()));
            }
            Some(Err(e)) => {
                return Err(AdminError::kafka(format!("reading {topic}/{partition}"), e));
            }
            None => {}
        }
    }
    Ok(records)
}

/// The report as a table: partition, before → after, watermarks, notes.
pub fn render_replay(report: &ReplayReport) -> String {
    let rows: Vec<Vec<String>> = report
        .partitions
        .iter()
        .map(|m| {
            vec![
                m.partition.to_string(),
                format!(
                    "{} -> {}",
                    m.before.map_or_else(|| "-".to_string(), |b| b.to_string()),
                    m.after
                ),
                format!("{}..{}", m.low, m.high),
                m.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut out = format!(
        "{} {} on {}:\n",
        if report.committed {
            "Moved group"
        } else {
            "Dry run, would move group"
        },
        report.group,
        report.topic
    );
    out.push_str(&render_table(
        &["PARTITION", "COMMITTED", "RANGE", "NOTE"],
        &rows,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::testing::{broker_kafka, mock_kafka, produce_values, unique_topic};

    #[test]
    fn offsets_are_resolved_and_clamped() {
        assert_eq!(resolve_offset(Target::Earliest, 3, 10), Some((3, None)));
        assert_eq!(resolve_offset(Target::Latest, 3, 10), Some((10, None)));
        assert_eq!(resolve_offset(Target::Offset(5), 3, 10), Some((5, None)));
        let (low, note) = resolve_offset(Target::Offset(1), 3, 10).unwrap();
        assert_eq!(low, 3);
        assert!(note.is_some());
        assert_eq!(resolve_offset(Target::Offset(99), 3, 10).unwrap().0, 10);
        assert_eq!(resolve_offset(Target::Timestamp(0), 3, 10), None);
    }

    #[test]
    fn timestamps_parse_as_rfc3339_only() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(
            parse_timestamp("2026-12-03T10:00:00+01:00").unwrap(),
            parse_timestamp("2026-12-03T09:00:00Z").unwrap()
        );
        let err = parse_timestamp("yesterday").unwrap_err().to_string();
        assert!(err.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn offsets_found_by_time_must_be_in_range() {
        assert_eq!(check_time_offset(Some(4), 0, 10).unwrap(), (4, None));
        assert_eq!(check_time_offset(None, 0, 10).unwrap().0, 10);
        let err = check_time_offset(Some(42), 0, 10).unwrap_err().to_string();
        assert!(err.contains("offsets-for-times"), "{err}");
    }

    #[tokio::test]
    async fn replay_moves_committed_offsets_on_the_mock_cluster() {
        let (_cluster, kafka) = mock_kafka(&[("t", 2)]);
        replay_and_lag(kafka.clone(), "t".into()).await;

        // The mock answers offsets-for-times with the end offset whatever the time: the
        // check against the records refuses that answer instead of moving the group there.
        let err = tokio::task::spawn_blocking(move || {
            replay(&kafka, "g2", "t", &[], Target::Timestamp(0), true)
        })
        .await
        .unwrap()
        .unwrap_err()
        .to_string();
        assert!(err.contains("--to-offset"), "{err}");
    }

    /// The same on a real broker (Tansu or Kafka), when `IOCFLOW_TEST_BOOTSTRAP_SERVERS`
    /// names one; skipped otherwise.
    #[tokio::test]
    async fn replay_moves_committed_offsets_on_a_real_broker() {
        let topic = unique_topic("replay");
        let Some(kafka) = broker_kafka(&[(&topic, 2)]).await else {
            return;
        };
        replay_and_lag(kafka.clone(), topic.clone()).await;

        // Every record is later than the epoch: the lookup answers the first offsets and the
        // records confirm it (Kafka, and Tansu, which answers the first offset for any time).
        let by_time = tokio::task::spawn_blocking(move || {
            replay(&kafka, "g2", &topic, &[], Target::Timestamp(0), true)
        })
        .await
        .unwrap()
        .unwrap();
        let afters: Vec<i64> = by_time.partitions.iter().map(|m| m.after).collect();
        assert_eq!(afters, vec![0, 0]);
    }

    async fn replay_and_lag(kafka: KafkaConfig, topic: String) {
        produce_values(&kafka, &topic, 0, 5).await;
        produce_values(&kafka, &topic, 1, 2).await;
        let group = unique_topic("group");

        let (k, t, g) = (kafka.clone(), topic.clone(), group.clone());
        let report = tokio::task::spawn_blocking(move || {
            // A dry run commits nothing.
            let plan = replay(&k, &g, &t, &[], Target::Latest, true).unwrap();
            assert!(!plan.committed);
            let again = replay(&k, &g, &t, &[], Target::Latest, true).unwrap();
            assert_eq!(again.partitions[0].before, None);

            replay(&k, &g, &t, &[], Target::Latest, false).unwrap();
            replay(&k, &g, &t, &[0], Target::Offset(2), false).unwrap()
        })
        .await
        .unwrap();
        assert!(report.committed);
        assert_eq!(report.partitions.len(), 1);
        assert_eq!(report.partitions[0].before, Some(5));
        assert_eq!(report.partitions[0].after, 2);
        assert!(render_replay(&report).contains("5 -> 2"));

        let lag = tokio::task::spawn_blocking(move || {
            crate::admin::lag::collect_lag(&kafka, &[group], &[topic])
        })
        .await
        .unwrap()
        .unwrap();
        let rows: Vec<(Option<i64>, i64)> = lag.groups[0]
            .partitions
            .iter()
            .map(|p| (p.committed, p.lag))
            .collect();
        assert_eq!(rows, vec![(Some(2), 3), (Some(2), 0)]);
        assert_eq!(lag.total_lag, 3);
    }

    #[tokio::test]
    async fn unknown_partition_is_a_usage_error() {
        let (_cluster, kafka) = mock_kafka(&[("t", 1)]);
        let err = tokio::task::spawn_blocking(move || {
            replay(&kafka, "g", "t", &[7], Target::Earliest, true)
        })
        .await
        .unwrap()
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("no partition 7"), "{err}");
    }
}
