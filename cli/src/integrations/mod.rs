//! Placeholder for `iocflow integrations`; replaced by its implementation.

use std::process::ExitCode;

pub mod replay_server;

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IntegrationsCommand {
    /// Not built yet.
    Placeholder,
}

/// Runs the command.
///
/// # Errors
/// Always, until implemented.
pub async fn run(_c: IntegrationsCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
