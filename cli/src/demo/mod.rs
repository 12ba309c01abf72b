//! `iocflow demo`: the whole pipeline on one machine, on the bundled integrations' recordings.
//!
//! It starts a broker ([`broker`]: the in-memory development broker inside this process by
//! default, or an existing one), the replay server in-process on a loopback port, and the three
//! stage binaries as child processes ([`processes`]) with generated configs. While they run it
//! scrapes their `/metrics` and shows progress on stderr ([`progress`]); when every enabled
//! integration has been fetched and every record has reached its end, it stops the children
//! with SIGTERM and prints the per-source summary ([`summary`]), with `--json` as one JSON
//! object on the last stdout line.

pub mod broker;
pub mod processes;
pub mod progress;
pub mod summary;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use iocflow_schemas::spec::{load_catalog, IntegrationSpec};
use iocflow_service::kafka::TopicNames;

use crate::integrations::recordings::Recordings;
use crate::integrations::replay_server::ReplayServer;
use broker::{topic_plan, DemoBroker};
use processes::{binaries_dir, free_port, spawn, Stage, StageProcess};
use progress::{scrape, ProgressDisplay, Snapshot};
use summary::{missing, Summary};

/// Time between two scrapes of the stages' metrics.
const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// `iocflow demo` arguments.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Run the whole pipeline locally on the bundled integrations' recordings.\n\n\
By default the broker is an in-memory development broker (librdkafka's mock cluster) running \
inside this iocflow process: nothing to install, nothing kept after the demo. Use \
--bootstrap-servers to run against an existing Kafka-protocol broker instead. A local replay \
server answers for the sources; iocflow-fetcher, iocflow-normalizer and iocflow-submitter run as \
separate processes (found next to this executable) and the submitter writes indicators to the \
file sink in the output directory. Progress goes to stderr; the per-source summary to stdout."
)]
pub struct DemoArgs {
    /// Use this existing broker (host:port[,host:port]) instead of the embedded in-memory
    /// development broker; missing topics are created.
    #[arg(long)]
    pub bootstrap_servers: Option<String>,
    /// Topic name prefix (`<prefix>.raw`, ...). Default: `iocflow` on the embedded broker, a
    /// fresh `iocflow-demo-<id>` on an existing broker so earlier runs never mix in.
    #[arg(long)]
    pub topic_prefix: Option<String>,
    /// The integration catalog. Default: `fetchers/integrations` in the working directory, else
    /// `../../fetchers/integrations` next to this executable.
    #[arg(long)]
    pub integrations_dir: Option<PathBuf>,
    /// Where the file sink writes indicators, with `logs/` and the stage configs in `work/`.
    /// Default: a fresh directory under the system temp directory.
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// Give up (exit 1, saying what is missing) after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_secs: u64,
    /// Print the summary as one JSON object on the last stdout line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `iocflow demo`.
///
/// # Errors
/// Set-up failures (catalog, broker, replay server, binaries, output directory). A pipeline that
/// does not finish in time, or a stage that exits early, gives exit code 1 with the reason.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let stop_signal = iocflow_service::shutdown::on_signal();

    // The catalog and what each enabled integration needs.
    let catalog_dir = resolve_integrations_dir(args.integrations_dir.as_deref())?;
    let catalog = load_catalog(&catalog_dir)?;
    let enabled: Vec<(PathBuf, IntegrationSpec)> =
        catalog.into_iter().filter(|(_, s)| s.enabled).collect();
    if enabled.is_empty() {
        anyhow::bail!("no enabled integration in {}", catalog_dir.display());
    }
    let names: Vec<String> = enabled.iter().map(|(_, s)| s.name.clone()).collect();
    let mut secrets = Vec::new();
    for (dir, spec) in &enabled {
        let recordings = Recordings::load(dir)?;
        if let (Some(var), Some(secret)) = (spec.auth.secret_env(), recordings.secret) {
            secrets.push((var.to_string(), secret));
        }
    }

    // Output, logs and configs.
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let output_dir = match &args.output_dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            std::path::absolute(d)?
        }
        None => tempfile::Builder::new()
            .prefix("iocflow-demo-")
            .tempdir()
            .context("cannot create a directory under the system temp directory")?
            .keep(),
    };
    let logs_dir = output_dir.join("logs");
    let work_dir = output_dir.join("work");
    std::fs::create_dir_all(&logs_dir)?;
    std::fs::create_dir_all(&work_dir)?;

    // Broker and replay server.
    let prefix = match (&args.topic_prefix, &args.bootstrap_servers) {
        (Some(p), _) => p.clone(),
        (None, None) => "iocflow".to_string(),
        (None, Some(_)) => format!("iocflow-demo-{run_id}"),
    };
    let topics = topic_names(&prefix);
    let plan = topic_plan(&topics);
    let broker = match &args.bootstrap_servers {
        None => DemoBroker::start_embedded(&plan)?,
        Some(servers) => DemoBroker::connect_external(servers, &plan).await?,
    };
    let replay = ReplayServer::start(&catalog_dir, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    eprintln!("iocflow demo");
    eprintln!("  broker:       {}", broker.describe());
    eprintln!("  topics:       {prefix}.*");
    eprintln!(
        "  sources:      {} (replay server {})",
        names.join(", "),
        replay.base_url()
    );
    eprintln!("  output dir:   {}", output_dir.display());
    eprintln!("  logs:         {}", logs_dir.display());

    // The three stages.
    let bin_dir = binaries_dir()?;
    let mut children: Vec<StageProcess> = Vec::with_capacity(3);
    let started = start_stages(
        &mut children,
        &StageSetup {
            bin_dir: &bin_dir,
            work_dir: &work_dir,
            logs_dir: &logs_dir,
            output_dir: &output_dir,
            catalog_dir: &catalog_dir,
            bootstrap_servers: broker.bootstrap_servers(),
            topics: &topics,
            run_id: &run_id,
            replay: &replay,
            names: &names,
            secrets: &secrets,
        },
    );
    if let Err(e) = started {
        stop_all(&mut children).await;
        return Err(e);
    }

    // Watch until done, timed out, failed or interrupted.
    let mut display = ProgressDisplay::new();
    let outcome = watch(
        &mut children,
        &names,
        &mut display,
        Duration::from_secs(args.timeout_secs),
        &stop_signal,
    )
    .await;
    display.finish();
    stop_all(&mut children).await;
    replay.stop().await;
    broker.stop();

    let snapshot = match outcome {
        Watch::Done(s) => s,
        Watch::TimedOut(s) => {
            eprintln!(
                "iocflow demo: the pipeline did not finish within {}s; still missing:",
                args.timeout_secs
            );
            for m in missing(&s, &names) {
                eprintln!("  {m}");
            }
            eprintln!("logs: {}", logs_dir.display());
            return Ok(ExitCode::from(1));
        }
        Watch::ChildExited {
            stage,
            status,
            tail,
        } => {
            eprintln!(
                "iocflow demo: {} exited early ({status}); end of its log:\n{tail}",
                stage.binary()
            );
            return Ok(ExitCode::from(1));
        }
        Watch::Interrupted => {
            eprintln!("iocflow demo: interrupted; stages stopped");
            return Ok(ExitCode::from(1));
        }
    };

    let summary = Summary::from_snapshot(&snapshot, &names, output_dir.display().to_string());
    println!("{}", summary.render_table());
    println!("indicators, logs and configs: {}", output_dir.display());
    if args.json {
        println!("{}", summary.to_json_line()?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Default topic names with `prefix` in place of `iocflow`.
pub fn topic_names(prefix: &str) -> TopicNames {
    TopicNames {
        raw: format!("{prefix}.raw"),
        indicators: format!("{prefix}.indicators"),
        dlq_normalize: format!("{prefix}.dlq.normalize"),
        dlq_submit: format!("{prefix}.dlq.submit"),
        fetch_state: format!("{prefix}.fetch-state"),
    }
}

/// The catalog directory: the given one, else `fetchers/integrations` in the working directory,
/// else `../../fetchers/integrations` next to the executable (the layout of `target/<profile>/`).
///
/// # Errors
/// None of them is a directory.
pub fn resolve_integrations_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let mut candidates = Vec::new();
    match given {
        Some(d) => candidates.push(d.to_path_buf()),
        None => {
            candidates.push(PathBuf::from(crate::integrations::DEFAULT_DIR));
            if let Ok(bin) = binaries_dir() {
                candidates.push(bin.join("../..").join(crate::integrations::DEFAULT_DIR));
            }
        }
    }
    for c in &candidates {
        if c.is_dir() {
            return Ok(std::path::absolute(c)?);
        }
    }
    anyhow::bail!(
        "no integration catalog found (looked in {}); pass --integrations-dir",
        candidates
            .iter()
            .map(|c| c.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

struct StageSetup<'a> {
    bin_dir: &'a Path,
    work_dir: &'a Path,
    logs_dir: &'a Path,
    output_dir: &'a Path,
    catalog_dir: &'a Path,
    bootstrap_servers: &'a str,
    topics: &'a TopicNames,
    run_id: &'a str,
    replay: &'a ReplayServer,
    names: &'a [String],
    secrets: &'a [(String, String)],
}

fn start_stages(children: &mut Vec<StageProcess>, s: &StageSetup<'_>) -> anyhow::Result<()> {
    // Consumers first, so their groups are forming while the fetcher produces.
    for stage in [Stage::Submitter, Stage::Normalizer, Stage::Fetcher] {
        let port = free_port()?;
        let config = stage_config(stage, s, port);
        let config_path = s.work_dir.join(format!("{}.toml", stage.name()));
        std::fs::write(&config_path, toml::to_string(&config)?)
            .with_context(|| format!("cannot write {}", config_path.display()))?;
        let env: Vec<(String, String)> = if stage == Stage::Fetcher {
            s.secrets.to_vec()
        } else {
            Vec::new()
        };
        let log_path = s.logs_dir.join(format!("{}.log", stage.name()));
        children.push(spawn(
            stage,
            s.bin_dir,
            &config_path,
            &env,
            &log_path,
            port,
        )?);
    }
    Ok(())
}

/// The config file of one stage.
fn stage_config(stage: Stage, s: &StageSetup<'_>, metrics_port: u16) -> toml::Table {
    let mut root = toml::Table::new();
    let mut kafka = toml::Table::new();
    kafka.insert("bootstrap_servers".into(), s.bootstrap_servers.into());
    let mut topics = toml::Table::new();
    topics.insert("raw".into(), s.topics.raw.clone().into());
    topics.insert("indicators".into(), s.topics.indicators.clone().into());
    topics.insert(
        "dlq_normalize".into(),
        s.topics.dlq_normalize.clone().into(),
    );
    topics.insert("dlq_submit".into(), s.topics.dlq_submit.clone().into());
    topics.insert("fetch_state".into(), s.topics.fetch_state.clone().into());
    kafka.insert("topics".into(), topics.into());
    root.insert("kafka".into(), kafka.into());

    let mut ops = toml::Table::new();
    ops.insert(
        "listen_addr".into(),
        format!("127.0.0.1:{metrics_port}").into(),
    );
    root.insert("ops".into(), ops.into());

    let catalog = s.catalog_dir.display().to_string();
    match stage {
        Stage::Fetcher => {
            let mut fetcher = toml::Table::new();
            fetcher.insert("integrations_dir".into(), catalog.into());
            root.insert("fetcher".into(), fetcher.into());
            let mut integrations = toml::Table::new();
            for name in s.names {
                let mut t = toml::Table::new();
                t.insert("base_url".into(), s.replay.url_for(name).into());
                integrations.insert(name.clone(), t.into());
            }
            root.insert("integrations".into(), integrations.into());
        }
        Stage::Normalizer => {
            let mut n = toml::Table::new();
            n.insert("integrations_dir".into(), catalog.into());
            n.insert(
                "group_id".into(),
                format!("iocflow-demo-{}-normalizer", s.run_id).into(),
            );
            root.insert("normalizer".into(), n.into());
        }
        Stage::Submitter => {
            let mut sub = toml::Table::new();
            sub.insert(
                "group_id".into(),
                format!("iocflow-demo-{}-submitter", s.run_id).into(),
            );
            sub.insert("batch_timeout_ms".into(), 200.into());
            let mut file = toml::Table::new();
            file.insert("dir".into(), s.output_dir.display().to_string().into());
            sub.insert("file".into(), file.into());
            root.insert("submitter".into(), sub.into());
        }
    }
    root
}

enum Watch {
    Done(Snapshot),
    TimedOut(Snapshot),
    ChildExited {
        stage: Stage,
        status: std::process::ExitStatus,
        tail: String,
    },
    Interrupted,
}

async fn watch(
    children: &mut [StageProcess],
    names: &[String],
    display: &mut ProgressDisplay,
    timeout: Duration,
    stop_signal: &tokio_util::sync::CancellationToken,
) -> Watch {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    let mut last = Snapshot::default();
    let mut done_before = false;

    loop {
        for child in children.iter_mut() {
            if let Ok(Some(status)) = child.try_exit() {
                return Watch::ChildExited {
                    stage: child.stage,
                    status,
                    tail: child.log_tail(),
                };
            }
        }

        let mut snap = Snapshot::default();
        let mut all_up = true;
        for child in children.iter() {
            match scrape(&client, &child.metrics_url).await {
                Some(text) => snap.add_metrics_text(&text),
                None => all_up = false,
            }
        }
        if all_up {
            display.update(&snap, names);
            // Two scrapes in a row must agree that it is done, so a counter bumped a moment
            // after another (a fetch run counted before its last produce) cannot end it early.
            let done = missing(&snap, names).is_empty();
            if done && done_before && snap == last {
                return Watch::Done(snap);
            }
            done_before = done;
            last = snap;
        }

        if Instant::now() >= deadline {
            return Watch::TimedOut(last);
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop_signal.cancelled() => return Watch::Interrupted,
        }
    }
}

async fn stop_all(children: &mut [StageProcess]) {
    // The fetcher first, then the stages downstream of it, each draining what it holds.
    for stage in Stage::ALL {
        for child in children.iter_mut().filter(|c| c.stage == stage) {
            match child.stop().await {
                Ok(status) if status.success() => {}
                Ok(status) => eprintln!(
                    "iocflow demo: {} ended with {status} after SIGTERM; see {}",
                    stage.binary(),
                    child.log_path.display()
                ),
                Err(e) => eprintln!("iocflow demo: cannot stop {}: {e:#}", stage.binary()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_the_prefix() {
        assert_eq!(topic_names("iocflow"), TopicNames::default());
        assert_eq!(topic_names("x").dlq_submit, "x.dlq.submit");
    }

    #[test]
    fn bundled_catalog_is_found_from_the_workspace() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fetchers/integrations");
        let resolved = resolve_integrations_dir(Some(&dir)).unwrap();
        assert!(resolved.is_absolute());
        assert!(resolve_integrations_dir(Some(Path::new("/nonexistent/x"))).is_err());
    }
}
