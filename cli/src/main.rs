//! `iocflow`: the admin CLI. Flags are parsed here; every command lives in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use iocflow_cli::{admin, demo, integrations};

/// iocflow admin CLI: topics, consumer lag, replay, dead letters, integrations, local demo.
#[derive(Debug, Parser)]
#[command(name = "iocflow", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create missing topics from the declarative topics file and report drift.
    #[command(subcommand)]
    Topics(admin::topics::TopicsCommand),
    /// Show consumer lag per group and partition.
    Lag(admin::lag::LagArgs),
    /// Move a consumer group's offsets to an offset or a timestamp, to replay a topic.
    Replay(admin::replay::ReplayArgs),
    /// Inspect and re-drive dead letters.
    #[command(subcommand)]
    Dlq(admin::dead_letters::DlqCommand),
    /// List, check, test and scaffold integrations.
    #[command(subcommand)]
    Integrations(integrations::IntegrationsCommand),
    /// Run the whole pipeline locally on the bundled integrations' recordings.
    Demo(demo::DemoArgs),
    /// Serve the integrations' recorded responses over HTTP (for demos and tests).
    ReplayServer(integrations::replay_server::ReplayServerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("iocflow: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };

    let result = runtime.block_on(async move {
        match cli.command {
            Command::Topics(c) => admin::topics::run(c).await,
            Command::Lag(a) => admin::lag::run(a).await,
            Command::Replay(a) => admin::replay::run(a).await,
            Command::Dlq(c) => admin::dead_letters::run(c).await,
            Command::Integrations(c) => integrations::run(c).await,
            Command::Demo(a) => demo::run(a).await,
            Command::ReplayServer(a) => integrations::replay_server::run(a).await,
        }
    });

    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("iocflow: {error:#}");
            ExitCode::from(1)
        }
    }
}
