//! `iocflow-submitter`: loads the config, serves the ops endpoint and runs the submitter until
//! SIGTERM/SIGINT. Exit codes: 0 after a drain, 1 when the submitter stopped on an error, 2 for
//! a bad configuration (the message names the key).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use iocflow_service::ops::{self, Health};
use iocflow_service::{config, logging, shutdown};
use iocflow_submitter::{Config, Settings};
use tokio_util::sync::CancellationToken;

/// Longest wait for blocking librdkafka calls still running when the submitter returns.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(5);

/// Delivers normalized indicators to the intelligence platform.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Path of the TOML config file.
    #[arg(long, env = "IOCFLOW_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init();

    let settings = match load(args.config.as_deref()) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("iocflow-submitter: {message}");
            tracing::error!(error = %message, message = "Invalid configuration.");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(error) => {
            eprintln!("iocflow-submitter: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(serve(settings));
    // A blocking commit stuck on an unreachable broker must not hold the exit.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    code
}

fn load(path: Option<&std::path::Path>) -> Result<Settings, String> {
    let config: Config = config::load_from_env(path).map_err(|e| e.to_string())?;
    config.validate().map_err(|e| e.to_string())
}

async fn serve(settings: Settings) -> ExitCode {
    let stop = shutdown::on_signal();
    let health = Health::new();
    let ops_stop = CancellationToken::new();
    if let Err(error) = ops::serve(&settings.ops, health.clone(), ops_stop.clone()).await {
        tracing::error!(%error, addr = %settings.ops.listen_addr, message = "Ops endpoint cannot bind.");
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
            tracing::error!(%error, retriable = error.is_retriable(), message = "Submitter stopped on an error.");
            ExitCode::from(1)
        }
    }
}
