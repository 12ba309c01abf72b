//! Placeholder for `iocflow replay`; replaced by its implementation.

use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {}

/// Runs the command.
///
/// # Errors
/// Always, until implemented.
pub async fn run(_args: ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
