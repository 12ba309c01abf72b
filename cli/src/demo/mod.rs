//! Placeholder for `iocflow demo`; replaced by its implementation.

use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// Runs the command.
///
/// # Errors
/// Always, until implemented.
pub async fn run(_a: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
