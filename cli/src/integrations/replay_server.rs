//! Placeholder for the replay server; replaced by its implementation.

use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct ReplayServerArgs {}

/// Runs the command.
///
/// # Errors
/// Always, until implemented.
pub async fn run(_a: ReplayServerArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
