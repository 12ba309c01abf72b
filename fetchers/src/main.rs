//! `iocflow-fetcher`: loads the config, serves the ops endpoint, and runs
//! [`iocflow_fetchers::run_with`] until SIGTERM/SIGINT (or once with `--once`).
//!
//! Exit codes: 0 success (or a clean drain), 1 a failed source with `--once` or a runtime
//! failure, 2 a bad configuration or catalog (the message names the key).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use iocflow_fetchers::{run_with, Catalog, FetcherConfig, RunOptions};
use iocflow_service::ops::{self, Health};
use iocflow_service::{config, logging, shutdown};
use tokio_util::sync::CancellationToken;

/// Fetches threat-intelligence sources and writes raw records to Kafka.
#[derive(Debug, Parser)]
#[command(name = "iocflow-fetcher", version)]
struct Args {
    /// Config file (TOML); `IOCFLOW_*` environment variables override its keys.
    #[arg(long, env = "IOCFLOW_CONFIG")]
    config: Option<PathBuf>,
    /// Run every enabled integration once, wait for deliveries, save state, and exit
    /// (0 when all succeeded, 1 otherwise).
    #[arg(long)]
    once: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg: FetcherConfig = match config::load_from_env(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("iocflow-fetcher: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = cfg.validate().and_then(|()| Catalog::load(&cfg).map(drop)) {
        eprintln!("iocflow-fetcher: {e}");
        return ExitCode::from(2);
    }
    logging::init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("iocflow-fetcher: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(serve(cfg, args.once))
}

async fn serve(cfg: FetcherConfig, once: bool) -> ExitCode {
    let shutdown = shutdown::on_signal();
    let health = Health::new();
    let ops_stop = CancellationToken::new();
    if let Err(error) = ops::serve(&cfg.ops, health.clone(), ops_stop.clone()).await {
        tracing::error!(
            error = %error,
            addr = %cfg.ops.listen_addr,
            message = "Cannot bind the ops endpoint."
        );
        return ExitCode::from(1);
    }

    let result = run_with(cfg, shutdown, RunOptions { once, health }).await;
    ops_stop.cancel();
    match result {
        Ok(report) if report.failed_sources.is_empty() => ExitCode::SUCCESS,
        Ok(report) => {
            tracing::error!(
                failed = ?report.failed_sources,
                message = "Some integrations failed."
            );
            ExitCode::from(1)
        }
        Err(error) => {
            tracing::error!(error = %error, error_type = error.kind(), message = "Fetcher failed.");
            ExitCode::from(1)
        }
    }
}
