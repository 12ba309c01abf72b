//! `iocflow-normalizer`: loads and validates the config, starts the ops endpoint and runs the
//! stage loop until SIGTERM/SIGINT, then drains and exits 0. A bad config or catalog exits 2
//! with a message naming the key.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use iocflow_normalizer::config::NormalizerConfig;
use iocflow_normalizer::{consumer, Catalog};
use iocflow_service::ops::{serve, Health};
use iocflow_service::{logging, shutdown};

/// mimalloc: the per-record path allocates a few dozen short strings, and glibc's malloc took a
/// fifth of its time (see `normalizer-bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Normalizes raw records from the raw topic into canonical indicators.
#[derive(Debug, Parser)]
#[command(name = "iocflow-normalizer", version)]
struct Args {
    /// Config file (TOML); `IOCFLOW_*` environment variables override its keys.
    #[arg(long, env = "IOCFLOW_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init();

    // Config and catalog problems are permanent: exit 2 with the key named.
    let loaded = NormalizerConfig::load(args.config.as_deref())
        .and_then(|cfg| cfg.validate().map(|settings| (cfg, settings)))
        .and_then(|(cfg, settings)| {
            let catalog = Catalog::load(&settings.integrations_dir)?;
            Ok((cfg, settings, catalog))
        });
    let (cfg, settings, catalog) = match loaded {
        Ok(v) => v,
        Err(error) => {
            eprintln!("iocflow-normalizer: {error}");
            tracing::error!(%error, message = "Invalid configuration.");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            tracing::error!(%error, message = "Cannot start the async runtime.");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cfg, settings, catalog));
    // A commit still blocked in librdkafka after the drain deadline must not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                message = "Normalizer stopped."
            );
            ExitCode::FAILURE
        }
    }
}

async fn run(
    cfg: NormalizerConfig,
    settings: iocflow_normalizer::config::Settings,
    catalog: Catalog,
) -> anyhow::Result<()> {
    let stop = shutdown::on_signal();
    let health = Health::new();
    serve(&cfg.ops, Arc::clone(&health), stop.child_token())
        .await
        .context("starting the ops endpoint")?;
    consumer::run(settings, cfg.kafka, Arc::new(catalog), health, stop)
        .await
        .context("running the stage")?;
    Ok(())
}
