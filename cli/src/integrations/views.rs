//! `iocflow integrations export NAME --format stix|ecs [--out FILE]`: the indicators an
//! integration's recordings normalize to, rendered as a platform would receive them.
//!
//! The recordings are framed and normalized exactly as in the conformance test
//! ([`conformance::outcomes`]); skipped items and dead letters are counted on stderr, not
//! exported. `stix` writes one STIX 2.1 bundle (pretty JSON) holding every object of every
//! indicator; `ecs` writes one ECS document per line (NDJSON), with `threat.feed.name` set to
//! the spec's title and `threat.feed.reference` to its request URL. Output goes to `--out` or
//! to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use iocflow_normalizer::views::{ecs, stix};
use iocflow_schemas::Indicator;
use serde_json::Value;

use crate::integrations::conformance::{self, Outcome};
use crate::integrations::DEFAULT_DIR;

/// The view to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One STIX 2.1 bundle.
    Stix,
    /// Elastic Common Schema documents, one JSON object per line.
    Ecs,
}

/// `iocflow integrations export` arguments.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The integration catalog: one directory per integration.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Integration name (directory name).
    pub name: String,
    /// The view to render.
    #[arg(long, value_enum)]
    pub format: Format,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What an export produced, for the summary line on stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Indicators rendered.
    pub indicators: usize,
    /// Items skipped by the fetcher or the normalizer.
    pub skipped: usize,
    /// Items the normalizer would dead-letter.
    pub dead_lettered: usize,
}

/// Frames and normalizes the recordings of the integration in `dir` and renders the indicators
/// in `format`: the bytes to write, and the counts.
///
/// # Errors
/// The spec, recordings or a body cannot be used, or an indicator cannot be rendered.
pub fn export(dir: &Path, format: Format) -> anyhow::Result<(Vec<u8>, ExportSummary)> {
    let (spec, outcomes) = conformance::outcomes(dir)?;
    let mut summary = ExportSummary::default();
    let mut indicators = Vec::new();
    for (_, outcome) in outcomes {
        match outcome {
            Outcome::Indicator(fields) => {
                let indicator: Indicator = serde_json::from_value(Value::Object(fields))
                    .context("an indicator does not read back")?;
                indicators.push(indicator);
            }
            Outcome::Skip(_) | Outcome::SkipNormalize(_) => summary.skipped += 1,
            Outcome::DeadLetter { .. } => summary.dead_lettered += 1,
        }
    }
    summary.indicators = indicators.len();

    let mut out = Vec::new();
    match format {
        Format::Stix => {
            let bundle = stix::bundle_of(&indicators)?;
            serde_json::to_writer_pretty(&mut out, &bundle)?;
            out.push(b'\n');
        }
        Format::Ecs => {
            let feed = ecs::Feed {
                name: if spec.title.is_empty() {
                    spec.name.clone()
                } else {
                    spec.title.clone()
                },
                reference: Some(spec.request.url.clone()),
                description: None,
            };
            for indicator in &indicators {
                serde_json::to_writer(&mut out, &ecs::document(indicator, &feed)?)?;
                out.push(b'\n');
            }
        }
    }
    Ok((out, summary))
}

/// Runs `iocflow integrations export`.
///
/// # Errors
/// Unknown integration, unusable recordings, an indicator that cannot be rendered, or an
/// output that cannot be written.
pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let dirs = crate::integrations::integration_dirs(&args.dir, std::slice::from_ref(&args.name))?;
    let Some(dir) = dirs.first() else {
        anyhow::bail!("no integration {}", args.name);
    };
    let (bytes, summary) = export(dir, args.format)?;
    match &args.out {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout()
            .lock()
            .write_all(&bytes)
            .context("cannot write to stdout")?,
    }
    eprintln!(
        "{}: exported {} indicators ({} skipped, {} dead letters not exported)",
        args.name, summary.indicators, summary.skipped, summary.dead_lettered
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fetchers/integrations")
    }

    #[test]
    fn stix_export_is_a_deterministic_bundle() {
        let dir = catalog().join("feodotracker");
        let (a, summary) = export(&dir, Format::Stix).unwrap();
        let (b, _) = export(&dir, Format::Stix).unwrap();
        assert_eq!(a, b);
        assert!(summary.indicators > 0);
        let bundle: Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(bundle["type"], "bundle");
        let objects = bundle["objects"].as_array().unwrap();
        let indicators = objects.iter().filter(|o| o["type"] == "indicator").count();
        assert_eq!(indicators, summary.indicators);
    }

    #[test]
    fn ecs_export_is_one_document_per_indicator() {
        let dir = catalog().join("urlhaus");
        let (out, summary) = export(&dir, Format::Ecs).unwrap();
        let lines: Vec<Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), summary.indicators);
        for doc in lines {
            assert_eq!(doc["event"]["kind"], "enrichment");
            assert_eq!(doc["threat"]["indicator"]["type"], "url");
            assert_eq!(
                doc["threat"]["feed"]["reference"],
                "https://urlhaus.abuse.ch/downloads/csv_recent/"
            );
        }
    }
}
