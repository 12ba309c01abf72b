//! Placeholder for `iocflow dead_letters`; replaced by its implementation.

use std::process::ExitCode;

/// Arguments.
#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// Not built yet.
    Placeholder,
}

/// Runs the command.
///
/// # Errors
/// Always, until implemented.
pub async fn run(_args: DlqCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
