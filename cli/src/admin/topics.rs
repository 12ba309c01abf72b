//! `iocflow topics apply|verify`: iocflow's topics from one declarative file
//! (`deploy/topics.toml`), created when missing and checked for drift when present.
//!
//! The file has one table per topic role (`raw`, `indicators`, `dlq_normalize`, `dlq_submit`,
//! `fetch_state`), each with `name`, `partitions`, `replication_factor` (default 1) and
//! `configs` (topic-level Kafka configs such as `retention.ms`). Unknown keys are refused with
//! the key named; `fetch_state` must be compacted because the fetcher keeps only the newest
//! state per source.
//!
//! - `apply` creates the missing topics (CreateTopics with partitions, replication factor and
//!   configs) and reports drift on existing ones without changing them: fewer partitions or
//!   replicas than declared, and declared configs whose value (from DescribeConfigs) differs.
//!   More partitions than declared is noted, not drift (Kafka cannot shrink a topic).
//!   `--dry-run` reports what it would create and creates nothing.
//! - `verify` gives the same report and creates nothing.
//!
//! Exit codes: 0 when every topic matches (or was created; or, with `apply --dry-run`, would
//! be), 3 when drift remains or (`verify`) a topic is missing, 2 for a bad file or config,
//! 1 when the broker fails or refuses a creation.
//!
//! Fixing drift is left to the operator on purpose: adding partitions moves keys to other
//! partitions (breaking per-key order for a while) and config changes deserve review.
//!
//! On Tansu (0.6, SQLite engine), CreateTopics with configs and DescribeConfigs work. Tansu
//! accepts any replication factor, even above its broker count, and reports it back, so the
//! replication check says nothing about real redundancy there: Tansu's storage engine keeps
//! the data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use rdkafka::admin::{AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;
use serde::{Deserialize, Serialize};

use iocflow_service::kafka::TopicNames;

use crate::admin::connection::{self, BrokerArgs};
use crate::admin::error::AdminError;
use crate::admin::output::render_table;

/// Where `apply` and `verify` look for the topics file by default.
pub const DEFAULT_TOPICS_FILE: &str = "deploy/topics.toml";

/// How long the broker may take to create topics.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30);

/// `iocflow topics` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TopicsCommand {
    /// Create missing topics from the topics file; report drift on existing ones (exit 3)
    /// without changing them.
    Apply(ApplyArgs),
    /// Report missing topics and drift (exit 3); create nothing.
    Verify(VerifyArgs),
}

/// Flags of `iocflow topics apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The declarative topics file.
    #[arg(long, default_value = DEFAULT_TOPICS_FILE)]
    pub file: PathBuf,
    /// Report what would be created; create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Broker connection.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// Flags of `iocflow topics verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The declarative topics file.
    #[arg(long, default_value = DEFAULT_TOPICS_FILE)]
    pub file: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Broker connection.
    #[command(flatten)]
    pub broker: BrokerArgs,
}

/// The topics file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicsFile {
    raw: TopicEntry,
    indicators: TopicEntry,
    dlq_normalize: TopicEntry,
    dlq_submit: TopicEntry,
    fetch_state: TopicEntry,
}

/// One topic of the file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicEntry {
    name: String,
    partitions: i64,
    #[serde(default = "default_replication_factor")]
    replication_factor: i64,
    #[serde(default)]
    configs: BTreeMap<String, toml::Value>,
}

const fn default_replication_factor() -> i64 {
    1
}

/// A validated topic declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredTopic {
    /// Role in the pipeline (`raw`, `indicators`, `dlq_normalize`, `dlq_submit`,
    /// `fetch_state`).
    pub role: &'static str,
    /// Topic name.
    pub name: String,
    /// Partition count, at least 1.
    pub partitions: i32,
    /// Replication factor, at least 1.
    pub replication_factor: i32,
    /// Topic-level configs, values as Kafka spells them.
    pub configs: BTreeMap<String, String>,
}

/// What the broker says about an existing topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribedTopic {
    /// Partition count.
    pub partitions: i32,
    /// The smallest replica count over the topic's partitions.
    pub replication_factor: i32,
    /// Config values reported by DescribeConfigs (entries without a value left out).
    pub configs: BTreeMap<String, String>,
}

/// One difference between the file and the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Drift {
    /// The topic has fewer partitions than declared.
    Partitions {
        /// Declared count.
        declared: i32,
        /// Actual count.
        actual: i32,
    },
    /// The topic has fewer replicas than declared.
    ReplicationFactor {
        /// Declared factor.
        declared: i32,
        /// Actual factor.
        actual: i32,
    },
    /// A declared config has another value, or none.
    Config {
        /// Config key.
        key: String,
        /// Declared value.
        declared: String,
        /// Value the broker reports, if any.
        actual: Option<String>,
    },
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Partitions { declared, actual } => {
                write!(f, "partitions {actual} < declared {declared}")
            }
            Drift::ReplicationFactor { declared, actual } => {
                write!(f, "replication factor {actual} < declared {declared}")
            }
            Drift::Config {
                key,
                declared,
                actual: Some(actual),
            } => write!(f, "{key}={actual} (declared {declared})"),
            Drift::Config {
                key,
                declared,
                actual: None,
            } => write!(f, "{key} not reported (declared {declared})"),
        }
    }
}

/// Where a topic stands after the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicState {
    /// Exists and matches the file.
    Matches,
    /// Exists and differs from the file (see the drift list).
    Drifted,
    /// Does not exist.
    Missing,
    /// `apply --dry-run`: would be created.
    WouldCreate,
    /// Created by this run.
    Created,
    /// Creation failed (the reason is in the notes).
    CreateFailed,
}

impl TopicState {
    fn as_str(&self) -> &'static str {
        match self {
            TopicState::Matches => "ok",
            TopicState::Drifted => "drift",
            TopicState::Missing => "missing",
            TopicState::WouldCreate => "would create",
            TopicState::Created => "created",
            TopicState::CreateFailed => "create failed",
        }
    }
}

/// The report line of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicReport {
    /// Role in the pipeline.
    pub role: &'static str,
    /// Topic name.
    pub name: String,
    /// Where it stands.
    pub state: TopicState,
    /// Declared partitions.
    pub declared_partitions: i32,
    /// Actual partitions, when the topic exists.
    pub actual_partitions: Option<i32>,
    /// Differences that need an operator.
    pub drift: Vec<Drift>,
    /// Facts worth knowing that are not drift.
    pub notes: Vec<String>,
}

/// Reads and validates a topics file.
///
/// # Errors
/// [`AdminError::TopicsFile`] when it cannot be read or is invalid; the bad key is named.
pub fn load_topics_file(path: &Path) -> Result<Vec<DeclaredTopic>, AdminError> {
    let text = std::fs::read_to_string(path).map_err(|e| AdminError::TopicsFile {
        path: path.to_path_buf(),
        message: format!("cannot read it: {e}"),
    })?;
    parse_topics_file(&text).map_err(|message| AdminError::TopicsFile {
        path: path.to_path_buf(),
        message,
    })
}

/// Parses and validates the text of a topics file; the error names the bad key.
///
/// # Errors
/// A message naming the key that is unknown, missing or invalid.
pub fn parse_topics_file(text: &str) -> Result<Vec<DeclaredTopic>, String> {
    let file: TopicsFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let entries = [
        ("raw", file.raw),
        ("indicators", file.indicators),
        ("dlq_normalize", file.dlq_normalize),
        ("dlq_submit", file.dlq_submit),
        ("fetch_state", file.fetch_state),
    ];

    let mut declared = Vec::with_capacity(entries.len());
    for (role, entry) in entries {
        declared.push(validate_entry(role, entry)?);
    }

    for (i, a) in declared.iter().enumerate() {
        if let Some(b) = declared[i + 1..].iter().find(|b| b.name == a.name) {
            return Err(format!(
                "`{}.name` and `{}.name` are both `{}`; every role needs its own topic",
                a.role, b.role, a.name
            ));
        }
    }

    let compacted = declared
        .iter()
        .find(|t| t.role == "fetch_state")
        .and_then(|t| t.configs.get("cleanup.policy"))
        .is_some_and(|policy| policy.split(',').any(|p| p.trim() == "compact"));
    if !compacted {
        return Err(
            "`fetch_state.configs.\"cleanup.policy\"` must include `compact`: the \
                    fetch state keeps only the newest record per source"
                .into(),
        );
    }
    Ok(declared)
}

fn validate_entry(role: &'static str, entry: TopicEntry) -> Result<DeclaredTopic, String> {
    if let Some(problem) = topic_name_problem(&entry.name) {
        return Err(format!("`{role}.name` = {:?}: {problem}", entry.name));
    }
    let partitions = i32::try_from(entry.partitions)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| format!("`{role}.partitions` must be at least 1"))?;
    let replication_factor = i32::try_from(entry.replication_factor)
        .ok()
        .filter(|r| *r >= 1)
        .ok_or_else(|| format!("`{role}.replication_factor` must be at least 1"))?;

    let mut configs = BTreeMap::new();
    for (key, value) in entry.configs {
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => {
                return Err(format!(
                    "`{role}.configs.\"{key}\"` must be a string, integer or boolean, not {}",
                    other.type_str()
                ))
            }
        };
        if key.trim().is_empty() || text.trim().is_empty() {
            return Err(format!("`{role}.configs.\"{key}\"`: empty key or value"));
        }
        configs.insert(key, text);
    }

    Ok(DeclaredTopic {
        role,
        name: entry.name,
        partitions,
        replication_factor,
        configs,
    })
}

/// Why `name` is not a legal Kafka topic name, if it is not.
fn topic_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("a topic name cannot be empty")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not topic names")
    } else if name.len() > 249 {
        Some("a topic name has at most 249 characters")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("a topic name uses only ASCII letters, digits, `.`, `_` and `-`")
    } else {
        None
    }
}

/// Roles whose name in the file differs from the names the pipeline is configured with, as
/// `(role, file name, config name)`.
pub fn name_mismatches(
    declared: &[DeclaredTopic],
    names: &TopicNames,
) -> Vec<(&'static str, String, String)> {
    declared
        .iter()
        .filter_map(|t| {
            let configured = match t.role {
                "raw" => &names.raw,
                "indicators" => &names.indicators,
                "dlq_normalize" => &names.dlq_normalize,
                "dlq_submit" => &names.dlq_submit,
                "fetch_state" => &names.fetch_state,
                _ => return None,
            };
            (configured != &t.name).then(|| (t.role, t.name.clone(), configured.clone()))
        })
        .collect()
}

/// Compares a declaration with what the broker described (`None`: the topic does not exist).
pub fn compare(declared: &DeclaredTopic, described: Option<&DescribedTopic>) -> TopicReport {
    let mut report = TopicReport {
        role: declared.role,
        name: declared.name.clone(),
        state: TopicState::Missing,
        declared_partitions: declared.partitions,
        actual_partitions: None,
        drift: Vec::new(),
        notes: Vec::new(),
    };
    let Some(actual) = described else {
        return report;
    };
    report.actual_partitions = Some(actual.partitions);

    if actual.partitions < declared.partitions {
        report.drift.push(Drift::Partitions {
            declared: declared.partitions,
            actual: actual.partitions,
        });
    } else if actual.partitions > declared.partitions {
        report.notes.push(format!(
            "{} partitions, more than the {} declared",
            actual.partitions, declared.partitions
        ));
    }
    if actual.replication_factor < declared.replication_factor {
        report.drift.push(Drift::ReplicationFactor {
            declared: declared.replication_factor,
            actual: actual.replication_factor,
        });
    }
    for (key, value) in &declared.configs {
        let found = actual.configs.get(key);
        if found.map(|v| v.trim()) != Some(value.trim()) {
            report.drift.push(Drift::Config {
                key: key.clone(),
                declared: value.clone(),
                actual: found.cloned(),
            });
        }
    }

    report.state = if report.drift.is_empty() {
        TopicState::Matches
    } else {
        TopicState::Drifted
    };
    report
}

/// The exit code of a report: 1 when a creation failed, 3 when drift or a missing topic
/// remains, 0 otherwise.
pub fn exit_code(reports: &[TopicReport]) -> u8 {
    if reports.iter().any(|r| r.state == TopicState::CreateFailed) {
        1
    } else if reports
        .iter()
        .any(|r| matches!(r.state, TopicState::Drifted | TopicState::Missing))
    {
        3
    } else {
        0
    }
}

/// Runs `iocflow topics apply|verify`.
///
/// # Errors
/// Broker failures; configuration and file errors print their message and exit 2.
pub async fn run(command: TopicsCommand) -> anyhow::Result<ExitCode> {
    connection::finish(run_inner(command).await)
}

async fn run_inner(command: TopicsCommand) -> Result<ExitCode, AdminError> {
    let (file, broker, json, mode) = match command {
        TopicsCommand::Apply(a) => {
            let mode = if a.dry_run { Mode::DryRun } else { Mode::Apply };
            (a.file, a.broker, a.json, mode)
        }
        TopicsCommand::Verify(v) => (v.file, v.broker, v.json, Mode::Verify),
    };
    let declared = load_topics_file(&file)?;
    let kafka = broker.kafka_config()?;

    for (role, in_file, in_config) in name_mismatches(&declared, &kafka.topics) {
        eprintln!(
            "warning: {role} is `{in_file}` in {} but the pipeline's config names `{in_config}`",
            file.display()
        );
    }

    let reports = reconcile(&kafka, &declared, mode).await?;
    let code = exit_code(&reports);
    if json {
        let body = serde_json::json!({ "ok": code == 0, "topics": reports });
        println!("{body}");
    } else {
        print!("{}", render_reports(&reports));
    }
    Ok(ExitCode::from(code))
}

/// What the command may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create missing topics.
    Apply,
    /// Report what `Apply` would create.
    DryRun,
    /// Report only.
    Verify,
}

/// Describes the declared topics on the broker, creates the missing ones in `Mode::Apply`, and
/// reports every topic.
///
/// # Errors
/// [`AdminError::Kafka`] when the broker cannot be asked; a refused creation is reported in
/// the topic's line instead.
pub async fn reconcile(
    kafka: &iocflow_service::kafka::KafkaConfig,
    declared: &[DeclaredTopic],
    mode: Mode,
) -> Result<Vec<TopicReport>, AdminError> {
    let admin = connection::admin_client(kafka)?;

    // Describe what exists: partitions and replicas from metadata, configs from DescribeConfigs.
    let metadata = connection::cluster_metadata(admin.inner())?;
    let mut described: BTreeMap<String, DescribedTopic> = BTreeMap::new();
    for topic in declared {
        if let Some(d) = describe_from_metadata(&metadata, &topic.name) {
            described.insert(topic.name.clone(), d);
        }
    }
    let names: Vec<String> = described.keys().cloned().collect();
    if !names.is_empty() {
        let specifiers: Vec<ResourceSpecifier<'_>> = names
            .iter()
            .map(|n| ResourceSpecifier::Topic(n.as_str()))
            .collect();
        let results = admin
            .describe_configs(&specifiers, &AdminOptions::new())
            .await
            .map_err(|e| AdminError::kafka("describing topic configs", e))?;
        for (name, result) in names.iter().zip(results) {
            let resource = result.map_err(|code| {
                AdminError::Broker(format!("describing the configs of {name} failed: {code}"))
            })?;
            if let Some(d) = described.get_mut(name) {
                d.configs = resource
                    .entries
                    .into_iter()
                    .filter_map(|e| e.value.map(|v| (e.name, v)))
                    .collect();
            }
        }
    }

    let mut reports: Vec<TopicReport> = declared
        .iter()
        .map(|t| compare(t, described.get(&t.name)))
        .collect();

    // Create what is missing.
    let missing: Vec<&DeclaredTopic> = declared
        .iter()
        .filter(|t| !described.contains_key(&t.name))
        .collect();
    match mode {
        Mode::Verify => {}
        Mode::DryRun => {
            for r in reports
                .iter_mut()
                .filter(|r| r.state == TopicState::Missing)
            {
                r.state = TopicState::WouldCreate;
            }
        }
        Mode::Apply if !missing.is_empty() => {
            create(&admin, &missing, &mut reports).await?;
        }
        Mode::Apply => {}
    }
    Ok(reports)
}

async fn create(
    admin: &rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>,
    missing: &[&DeclaredTopic],
    reports: &mut [TopicReport],
) -> Result<(), AdminError> {
    let new_topics: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|t| {
            t.configs.iter().fold(
                NewTopic::new(
                    &t.name,
                    t.partitions,
                    TopicReplication::Fixed(t.replication_factor),
                ),
                |nt, (k, v)| nt.set(k, v),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(CREATE_TIMEOUT));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .map_err(|e| AdminError::kafka("creating topics", e))?;

    for result in results {
        let (name, outcome) = match result {
            Ok(name) => (name, Ok(())),
            Err((name, code)) => (name, Err(code)),
        };
        let Some(report) = reports.iter_mut().find(|r| r.name == name) else {
            continue;
        };
        match outcome {
            Ok(()) => report.state = TopicState::Created,
            Err(RDKafkaErrorCode::TopicAlreadyExists) => {
                // Someone created it between our describe and our create: its settings are
                // unknown, so ask for a verify rather than claiming it matches.
                report.state = TopicState::Missing;
                report
                    .notes
                    .push("created concurrently by someone else; run `topics verify`".into());
            }
            Err(code) => {
                report.state = TopicState::CreateFailed;
                report.notes.push(format!("broker refused: {code}"));
            }
        }
    }
    Ok(())
}

fn describe_from_metadata(metadata: &Metadata, name: &str) -> Option<DescribedTopic> {
    let topic = metadata
        .topics()
        .iter()
        .find(|t| t.name() == name && t.error().is_none())?;
    let partitions = i32::try_from(topic.partitions().len()).unwrap_or(i32::MAX);
    let replication_factor = topic
        .partitions()
        .iter()
        .map(|p| i32::try_from(p.replicas().len()).unwrap_or(i32::MAX))
        .min()
        .unwrap_or(0);
    Some(DescribedTopic {
        partitions,
        replication_factor,
        configs: BTreeMap::new(),
    })
}

/// The report as a table: role, topic, state, partitions (actual/declared) and details.
pub fn render_reports(reports: &[TopicReport]) -> String {
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let partitions = match r.actual_partitions {
                Some(actual) => format!("{actual}/{}", r.declared_partitions),
                None => format!("-/{}", r.declared_partitions),
            };
            let details: Vec<String> = r
                .drift
                .iter()
                .map(ToString::to_string)
                .chain(r.notes.iter().cloned())
                .collect();
            vec![
                r.role.to_string(),
                r.name.clone(),
                r.state.as_str().to_string(),
                partitions,
                details.join("; "),
            ]
        })
        .collect();
    render_table(&["ROLE", "TOPIC", "STATE", "PARTITIONS", "DETAILS"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
[raw]
name = "iocflow.raw"
partitions = 12
configs = { "retention.ms" = 604800000 }

[indicators]
name = "iocflow.indicators"
partitions = 12

[dlq_normalize]
name = "iocflow.dlq.normalize"
partitions = 3

[dlq_submit]
name = "iocflow.dlq.submit"
partitions = 3

[fetch_state]
name = "iocflow.fetch-state"
partitions = 1
replication_factor = 1
configs = { "cleanup.policy" = "compact" }
"#;

    fn declared(role: &'static str) -> DeclaredTopic {
        parse_topics_file(VALID)
            .unwrap()
            .into_iter()
            .find(|t| t.role == role)
            .unwrap()
    }

    #[test]
    fn the_bundled_file_is_valid_and_names_the_default_topics() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/topics.toml");
        let topics = load_topics_file(&path).unwrap();
        assert_eq!(topics.len(), 5);
        assert!(name_mismatches(&topics, &TopicNames::default()).is_empty());
        let state = topics.iter().find(|t| t.role == "fetch_state").unwrap();
        assert_eq!(state.configs["cleanup.policy"], "compact");
    }

    #[test]
    fn parses_roles_defaults_and_integer_configs() {
        let topics = parse_topics_file(VALID).unwrap();
        let roles: Vec<&str> = topics.iter().map(|t| t.role).collect();
        assert_eq!(
            roles,
            [
                "raw",
                "indicators",
                "dlq_normalize",
                "dlq_submit",
                "fetch_state"
            ]
        );
        let raw = &topics[0];
        assert_eq!(raw.partitions, 12);
        assert_eq!(raw.replication_factor, 1);
        assert_eq!(raw.configs["retention.ms"], "604800000");
    }

    #[test]
    fn unknown_key_is_named() {
        let text = VALID.replace("partitions = 3\n", "partitons = 3\n");
        let err = parse_topics_file(&text).unwrap_err();
        assert!(err.contains("partitons"), "{err}");
    }

    #[test]
    fn missing_role_is_named() {
        let text = VALID.replace("[dlq_submit]", "[dlq_submitt]");
        let err = parse_topics_file(&text).unwrap_err();
        assert!(err.contains("dlq_submitt"), "{err}");
    }

    #[test]
    fn invalid_values_are_named() {
        let err =
            parse_topics_file(&VALID.replace("partitions = 12", "partitions = 0")).unwrap_err();
        assert!(err.contains("raw.partitions"), "{err}");

        let err = parse_topics_file(&VALID.replace("\"iocflow.indicators\"", "\"bad name\""))
            .unwrap_err();
        assert!(err.contains("indicators.name"), "{err}");

        let err = parse_topics_file(&VALID.replace("\"iocflow.dlq.submit\"", "\"iocflow.raw\""))
            .unwrap_err();
        assert!(
            err.contains("raw.name") && err.contains("dlq_submit.name"),
            "{err}"
        );

        let err = parse_topics_file(&VALID.replace("\"compact\"", "\"delete\"")).unwrap_err();
        assert!(err.contains("fetch_state.configs"), "{err}");

        let err = parse_topics_file(&VALID.replace("604800000", "[1]")).unwrap_err();
        assert!(err.contains("raw.configs.\"retention.ms\""), "{err}");
    }

    #[test]
    fn matching_topic_has_no_drift() {
        let raw = declared("raw");
        let described = DescribedTopic {
            partitions: 12,
            replication_factor: 3,
            configs: [("retention.ms".to_string(), "604800000".to_string())].into(),
        };
        let report = compare(&raw, Some(&described));
        assert_eq!(report.state, TopicState::Matches);
        assert!(report.drift.is_empty());
        assert_eq!(exit_code(&[report]), 0);
    }

    #[test]
    fn fewer_partitions_and_other_configs_are_drift() {
        let raw = declared("raw");
        let described = DescribedTopic {
            partitions: 6,
            replication_factor: 1,
            configs: [("retention.ms".to_string(), "86400000".to_string())].into(),
        };
        let report = compare(&raw, Some(&described));
        assert_eq!(report.state, TopicState::Drifted);
        assert_eq!(
            report.drift,
            vec![
                Drift::Partitions {
                    declared: 12,
                    actual: 6
                },
                Drift::Config {
                    key: "retention.ms".into(),
                    declared: "604800000".into(),
                    actual: Some("86400000".into()),
                },
            ]
        );
        assert_eq!(exit_code(&[report]), 3);
    }

    #[test]
    fn more_partitions_is_a_note_and_unreported_config_is_drift() {
        let state = declared("fetch_state");
        let described = DescribedTopic {
            partitions: 2,
            replication_factor: 1,
            configs: BTreeMap::new(),
        };
        let report = compare(&state, Some(&described));
        assert_eq!(report.notes.len(), 1);
        assert_eq!(
            report.drift,
            vec![Drift::Config {
                key: "cleanup.policy".into(),
                declared: "compact".into(),
                actual: None,
            }]
        );
        let table = render_reports(&[report]);
        assert!(table.contains("cleanup.policy not reported"), "{table}");
    }

    #[test]
    fn missing_topic_and_exit_codes() {
        let report = compare(&declared("raw"), None);
        assert_eq!(report.state, TopicState::Missing);
        assert_eq!(exit_code(std::slice::from_ref(&report)), 3);

        let mut created = report.clone();
        created.state = TopicState::Created;
        assert_eq!(exit_code(&[created.clone()]), 0);

        let mut failed = report;
        failed.state = TopicState::CreateFailed;
        assert_eq!(exit_code(&[created, failed]), 1);
    }

    #[test]
    fn name_mismatches_are_listed() {
        let topics = parse_topics_file(VALID).unwrap();
        let names = TopicNames {
            raw: "other.raw".into(),
            ..TopicNames::default()
        };
        let mismatches = name_mismatches(&topics, &names);
        assert_eq!(
            mismatches,
            vec![("raw", "iocflow.raw".to_string(), "other.raw".to_string())]
        );
    }
}
