//! `iocflow-submitter`: loads the config, serves the ops endpoint and runs the submitter until
//! SIGTERM/SIGINT. Exit codes: 0 after a drain, 1 when the submitter stopped on an error, 2 for
//! a bad configuration (the message names the key).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use iocflow_service::ops::{self, Health};
use iocflow_service::{config, logging, shutdown};
use iocflow_submitter::Config;

/// Delivers normalized indicators to the intelligence platform.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Path of the TOML config file.
    #[arg(long, env = "IOCFLOW_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    logging::init();

    let loaded: Result<Config, _> = config::load_from_env(args.config.as_deref());
    let settings = match loaded
        .map_err(|e| e.to_string())
        .and_then(|c| c.validate().map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(message) => {
            eprintln!("iocflow-submitter: {message}");
            tracing::error!(error = %message, message = "Invalid configuration.");
            return ExitCode::from(2);
        }
    };

    let stop = shutdown::on_signal();
    let health = Health::new();
    let ops_stop = tokio_util::sync::CancellationToken::new();
    if let Err(error) = ops::serve(&settings.ops, health.clone(), ops_stop.clone()).await {
        eprintln!(
            "iocflow-submitter: ops endpoint {}: {error}",
            settings.ops.listen_addr
        );
        return ExitCode::from(1);
    }

    let result = iocflow_submitter::run(settings, health, stop).await;
    ops_stop.cancel();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, message = "Submitter stopped on an error.");
            ExitCode::from(1)
        }
    }
}
