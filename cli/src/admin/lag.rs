//! Placeholder for `iocflow lag`; replaced by its implementation.

use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct LagArgs {}

/// Runs the command.
///
/// # Errors
/// Always, until implemented.
pub async fn run(_args: LagArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
