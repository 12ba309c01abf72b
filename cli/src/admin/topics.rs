//! Placeholder for `iocflow topics`; replaced by its implementation.

use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Subcommand)]
pub enum TopicsCommand {
    /// Not built yet.
    Placeholder,
}

/// Runs the command.
///
/// # Errors
/// Always, until implemented.
pub async fn run(_args: TopicsCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
