//! `iocflow integrations`: the integration catalog (`fetchers/integrations/<name>/`) as seen by
//! an integration engineer: list it, check it, run the conformance test against the recordings,
//! scaffold a new integration; plus the replay server that serves the recordings over HTTP.
//!
//! Layout:
//! - [`recordings`]: `recordings/responses.toml`, shared by everything below.
//! - [`expected`]: `expected.jsonl`, the expected outcome of every framed item.
//! - [`list`], [`check`], [`conformance`], [`scaffold`]: one subcommand each.
//! - [`replay_server`]: `iocflow replay-server` and the reusable [`replay_server::ReplayServer`].
//! - [`views`]: `export`, the recordings' indicators as STIX 2.1 or ECS.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub mod check;
pub mod conformance;
pub mod expected;
pub mod list;
pub mod recordings;
pub mod replay_server;
pub mod scaffold;
pub mod views;

/// Default catalog directory, relative to the working directory.
pub const DEFAULT_DIR: &str = "fetchers/integrations";

/// `iocflow integrations` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IntegrationsCommand {
    /// List the integrations: name, title, enabled, framing, schedule, auth kind, secret env var.
    List(DirArgs),
    /// Check specs, mapping types, recordings and expected.jsonl; exit 1 naming each problem.
    Check(SelectArgs),
    /// Conformance test: frame and normalize every recorded 200 body and compare item by item
    /// with expected.jsonl; exit 1 on any mismatch.
    Test(SelectArgs),
    /// Write a new integration directory with a commented spec, a recording and expected.jsonl.
    Scaffold(scaffold::ScaffoldArgs),
    /// Frame and normalize the recordings of one integration and print its indicators as a
    /// STIX 2.1 bundle or as ECS documents (one per line).
    Export(views::ExportArgs),
}

/// The catalog directory.
#[derive(Debug, clap::Args)]
pub struct DirArgs {
    /// The integration catalog: one directory per integration.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

/// The catalog directory and, optionally, which integrations to look at.
#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// The integration catalog: one directory per integration.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Integration names (directory names); all when none is given.
    pub names: Vec<String>,
}

/// Runs an `iocflow integrations` subcommand.
///
/// # Errors
/// An unreadable catalog directory; problems found in integrations are reported and give exit
/// code 1 instead.
pub async fn run(command: IntegrationsCommand) -> anyhow::Result<ExitCode> {
    match command {
        IntegrationsCommand::List(a) => list::run(&a.dir),
        IntegrationsCommand::Check(a) => check::run(&a.dir, &a.names),
        IntegrationsCommand::Test(a) => conformance::run(&a.dir, &a.names),
        IntegrationsCommand::Scaffold(a) => scaffold::run(&a),
        IntegrationsCommand::Export(a) => views::run(&a),
    }
}

/// Integration directories of a catalog (those holding a `spec.toml`), sorted, optionally
/// restricted to `names`.
///
/// # Errors
/// The catalog cannot be read, or a requested name has no directory.
pub fn integration_dirs(dir: &Path, names: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read the catalog {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("spec.toml").is_file())
        .collect();
    dirs.sort();
    if names.is_empty() {
        return Ok(dirs);
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let d = dir.join(name);
        if !d.join("spec.toml").is_file() {
            anyhow::bail!(
                "no integration {name}: {} does not exist",
                d.join("spec.toml").display()
            );
        }
        out.push(d);
    }
    Ok(out)
}
