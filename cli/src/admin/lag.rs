//! `iocflow lag`: how far each consumer group is behind, per topic and partition.
//!
//! For every group (`--group`, repeatable; default `iocflow-normalizer` and
//! `iocflow-submitter`) the command reads the group's committed offsets with a consumer that
//! has the group's `group.id` but never joins the group (OffsetFetch, which Tansu supports,
//! rather than DescribeGroups, which fails on Tansu's SQLite engine), and the partitions' low
//! and high watermarks. Lag is `high - committed`; a partition without a committed offset
//! counts everything retained (`high - low`), because iocflow's consumers start from the
//! earliest offset.
//!
//! Topics: `--topic` (repeatable) when given; otherwise the group's input topic for the two
//! pipeline groups (`[kafka.topics]` names), plus every other topic on which the group has a
//! committed offset. Internal topics (`__...`) are skipped.
//!
//! The numbers are a snapshot: offsets and watermarks are read one after the other, so a busy
//! partition can show a small lag that was already consumed. `--json` prints one object with
//! every partition and the totals.

use std::collections::BTreeSet;
use std::process::ExitCode;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::Metadata;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use iocflow_service::kafka::{KafkaConfig, TopicNames, METADATA_TIMEOUT};

use crate::admin::connection::{self, BrokerArgs};
use crate::admin::error::AdminError;
use crate::admin::output::render_table;

/// The pipeline's consumer groups (the normalizer's and the submitter's default `group_id`).
pub const DEFAULT_GROUPS: [&str; 2] = ["iocflow-normalizer", "iocflow-submitter"];

/// Flags of `iocflow lag`.
#[derive(Debug, clap::Args)]
pub struct LagArgs {
    /// Consumer group to report (repeatable). Default: iocflow-normalizer and
    /// iocflow-submitter.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// Only these topics (repeatable). Default: the group's input topic and every topic the
    /// group has committed offsets on.
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Broker connection.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Lag of one partition for one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The group's committed offset (next record to read), if it has one.
    pub committed: Option<i64>,
    /// Low watermark (first retained offset).
    pub low: i64,
    /// High watermark (offset of the next record to be written).
    pub high: i64,
    /// Records the group has still to read.
    pub lag: i64,
}

/// Lag of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupLag {
    /// Group id.
    pub group: String,
    /// Per partition, sorted by topic and partition.
    pub partitions: Vec<PartitionLag>,
    /// Sum over the partitions.
    pub total_lag: i64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LagReport {
    /// Per group, in the order asked for.
    pub groups: Vec<GroupLag>,
    /// Sum over the groups.
    pub total_lag: i64,
}

/// Records still to read on a partition: from the committed offset, or (without one) from
/// the low watermark, to the high watermark. A committed offset below the low watermark
/// (retention deleted unread records) counts from the low watermark; never negative.
pub fn partition_lag(committed: Option<i64>, low: i64, high: i64) -> i64 {
    let from = committed.map_or(low, |c| c.max(low));
    (high - from).max(0)
}

/// The input topic of a pipeline group, if `group` is one.
pub fn input_topic<'a>(group: &str, names: &'a TopicNames) -> Option<&'a str> {
    match group {
        "iocflow-normalizer" => Some(&names.raw),
        "iocflow-submitter" => Some(&names.indicators),
        _ => None,
    }
}

/// Runs `iocflow lag`.
///
/// # Errors
/// Broker failures; configuration errors print their message and exit 2.
pub async fn run(args: LagArgs) -> anyhow::Result<ExitCode> {
    connection::finish(run_inner(args).await)
}

async fn run_inner(args: LagArgs) -> Result<ExitCode, AdminError> {
    let kafka = args.broker.kafka_config()?;
    let groups = if args.groups.is_empty() {
        DEFAULT_GROUPS.iter().map(|g| g.to_string()).collect()
    } else {
        args.groups
    };
    let topics = args.topics;

    // librdkafka's offset and watermark calls block; keep them off the async workers.
    let report = tokio::task::spawn_blocking(move || collect_lag(&kafka, &groups, &topics))
        .await
        .map_err(|e| AdminError::Broker(format!("the lag query stopped: {e}")))??;

    if args.json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        print!("{}", render_lag(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads committed offsets and watermarks for `groups` (see the module docs for which
/// topics). Blocking.
///
/// # Errors
/// [`AdminError::Usage`] for a `--topic` that does not exist; [`AdminError::Kafka`] when the
/// broker does not answer.
pub fn collect_lag(
    kafka: &KafkaConfig,
    groups: &[String],
    topics: &[String],
) -> Result<LagReport, AdminError> {
    let mut report = LagReport {
        groups: Vec::with_capacity(groups.len()),
        total_lag: 0,
    };
    for group in groups {
        let consumer = connection::group_consumer(kafka, group)?;
        let metadata = connection::cluster_metadata(consumer.client())?;
        for topic in topics {
            if connection::topic_partitions(&metadata, topic).is_none() {
                return Err(AdminError::Usage(format!("topic {topic} does not exist")));
            }
        }

        let group_lag = group_lag(&consumer, &metadata, group, topics, &kafka.topics)?;
        report.total_lag += group_lag.total_lag;
        report.groups.push(group_lag);
    }
    Ok(report)
}

fn group_lag(
    consumer: &BaseConsumer,
    metadata: &Metadata,
    group: &str,
    topics: &[String],
    names: &TopicNames,
) -> Result<GroupLag, AdminError> {
    // Which topics to ask about: the ones named, or every user topic (kept below only when the
    // group has committed something there, or it is the group's own input).
    let explicit = !topics.is_empty();
    let candidates: Vec<String> = if explicit {
        topics.to_vec()
    } else {
        metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && !t.name().starts_with("__"))
            .map(|t| t.name().to_string())
            .collect()
    };
    let mut tpl = TopicPartitionList::new();
    for topic in &candidates {
        for partition in connection::topic_partitions(metadata, topic).unwrap_or_default() {
            tpl.add_partition(topic, partition);
        }
    }
    let committed = if tpl.count() == 0 {
        TopicPartitionList::new()
    } else {
        consumer
            .committed_offsets(tpl, METADATA_TIMEOUT)
            .map_err(|e| AdminError::kafka(format!("reading committed offsets of {group}"), e))?
    };

    let mut committed_by_partition = Vec::new();
    let mut keep: BTreeSet<String> = BTreeSet::new();
    if explicit {
        keep.extend(topics.iter().cloned());
    }
    if let Some(input) = input_topic(group, names) {
        if connection::topic_partitions(metadata, input).is_some() && !explicit {
            keep.insert(input.to_string());
        }
    }
    for elem in committed.elements() {
        let offset = match elem.offset() {
            Offset::Offset(o) if o >= 0 => Some(o),
            _ => None,
        };
        if offset.is_some() && !explicit {
            keep.insert(elem.topic().to_string());
        }
        committed_by_partition.push((elem.topic().to_string(), elem.partition(), offset));
    }
    committed_by_partition.sort();

    let mut partitions = Vec::new();
    for (topic, partition, committed) in committed_by_partition {
        if !keep.contains(&topic) {
            continue;
        }
        let (low, high) = consumer
            .fetch_watermarks(&topic, partition, METADATA_TIMEOUT)
            .map_err(|e| {
                AdminError::kafka(format!("reading watermarks of {topic}/{partition}"), e)
            })?;
        partitions.push(PartitionLag {
            lag: partition_lag(committed, low, high),
            topic,
            partition,
            committed,
            low,
            high,
        });
    }
    Ok(GroupLag {
        group: group.to_string(),
        total_lag: partitions.iter().map(|p| p.lag).sum(),
        partitions,
    })
}

/// The report as a table, with a total line per group and overall.
pub fn render_lag(report: &LagReport) -> String {
    let mut rows = Vec::new();
    for group in &report.groups {
        for p in &group.partitions {
            rows.push(vec![
                group.group.clone(),
                p.topic.clone(),
                p.partition.to_string(),
                p.committed
                    .map_or_else(|| "-".to_string(), |c| c.to_string()),
                p.high.to_string(),
                p.lag.to_string(),
            ]);
        }
        rows.push(vec![
            group.group.clone(),
            "(total)".into(),
            String::new(),
            String::new(),
            String::new(),
            group.total_lag.to_string(),
        ]);
    }
    rows.push(vec![
        "(all groups)".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        report.total_lag.to_string(),
    ]);
    render_table(
        &["GROUP", "TOPIC", "PARTITION", "COMMITTED", "HIGH", "LAG"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::testing::{mock_kafka, produce_values};
    use rdkafka::consumer::CommitMode;

    #[test]
    fn lag_counts_from_the_committed_offset_or_the_low_watermark() {
        assert_eq!(partition_lag(Some(7), 0, 10), 3);
        assert_eq!(partition_lag(None, 4, 10), 6);
        assert_eq!(
            partition_lag(Some(2), 5, 10),
            5,
            "retention removed unread records"
        );
        assert_eq!(partition_lag(Some(10), 0, 10), 0);
        assert_eq!(partition_lag(Some(12), 0, 10), 0, "never negative");
    }

    #[test]
    fn pipeline_groups_know_their_input_topic() {
        let names = TopicNames::default();
        assert_eq!(
            input_topic("iocflow-normalizer", &names),
            Some("iocflow.raw")
        );
        assert_eq!(
            input_topic("iocflow-submitter", &names),
            Some("iocflow.indicators")
        );
        assert_eq!(input_topic("someone-else", &names), None);
    }

    #[tokio::test]
    async fn lag_on_the_mock_cluster_follows_commits() {
        let (_cluster, kafka) = mock_kafka(&[("iocflow.raw", 2), ("other", 1)]);
        produce_values(&kafka, "iocflow.raw", 0, 5).await;
        produce_values(&kafka, "iocflow.raw", 1, 3).await;
        produce_values(&kafka, "other", 0, 4).await;

        // The normalizer has read 2 records of partition 0 and nothing else.
        let consumer = connection::group_consumer(&kafka, "iocflow-normalizer").unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("iocflow.raw", 0, Offset::Offset(2))
            .unwrap();
        consumer.assign(&tpl).unwrap();
        consumer.commit(&tpl, CommitMode::Sync).unwrap();
        drop(consumer);

        let groups = vec!["iocflow-normalizer".to_string(), "idle".to_string()];
        let report = tokio::task::spawn_blocking(move || collect_lag(&kafka, &groups, &[]))
            .await
            .unwrap()
            .unwrap();

        let normalizer = &report.groups[0];
        let rows: Vec<(&str, i32, Option<i64>, i64)> = normalizer
            .partitions
            .iter()
            .map(|p| (p.topic.as_str(), p.partition, p.committed, p.lag))
            .collect();
        assert_eq!(
            rows,
            vec![("iocflow.raw", 0, Some(2), 3), ("iocflow.raw", 1, None, 3)]
        );
        assert_eq!(normalizer.total_lag, 6);
        assert!(
            report.groups[1].partitions.is_empty(),
            "no commits, no input topic"
        );
        assert_eq!(report.total_lag, 6);
        assert!(render_lag(&report).contains("(all groups)"));
    }
}
