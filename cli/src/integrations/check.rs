//! `iocflow integrations check`: static checks of integrations, without running anything.
//!
//! For each integration: the spec loads; the indicator types its mapping names are ones the
//! normalizer knows; `recordings/responses.toml` loads and every body file it names exists;
//! `expected.jsonl` exists and parses. Every problem is printed with its file and key.

use std::path::Path;
use std::process::ExitCode;

use iocflow_schemas::spec::IntegrationSpec;

use crate::integrations::expected::{self, EXPECTED_FILE};
use crate::integrations::integration_dirs;
use crate::integrations::recordings::{body_path, responses_path, Recordings};

/// One problem found in an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file the problem is in.
    pub file: String,
    /// What is wrong, naming the key.
    pub message: String,
}

/// Checks one integration directory; an empty list means it is fine.
pub fn check_integration(dir: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut add = |file: &Path, message: String| {
        problems.push(Problem {
            file: file.display().to_string(),
            message,
        })
    };

    let spec_path = dir.join("spec.toml");
    match IntegrationSpec::load(&spec_path) {
        Ok(spec) => {
            if let Some(dir_name) = dir.file_name().and_then(|n| n.to_str()) {
                if dir_name != spec.name {
                    add(
                        &spec_path,
                        format!(
                            "key `name`: {} differs from the directory name {dir_name}",
                            spec.name
                        ),
                    );
                }
            }
            for (key, type_name) in mapping_types(&spec) {
                if !iocflow_normalizer::canonical::is_known_type(&type_name) {
                    add(
                        &spec_path,
                        format!(
                            "key `{key}`: the normalizer knows no indicator type {type_name:?}"
                        ),
                    );
                }
            }
        }
        Err(e) => add(&spec_path, e.to_string()),
    }

    let responses = responses_path(dir);
    match Recordings::load(dir) {
        Ok(rec) => {
            if rec.responses.is_empty() {
                add(&responses, "key `response`: no [[response]] entry".into());
            }
            for (i, r) in rec.responses.iter().enumerate() {
                if let Some(file) = &r.body_file {
                    let p = body_path(dir, file);
                    if !p.is_file() {
                        add(
                            &responses,
                            format!(
                                "key `response[{i}].body_file`: {} does not exist",
                                p.display()
                            ),
                        );
                    }
                }
            }
        }
        Err(e) => add(&responses, e.to_string()),
    }

    let expected_path = dir.join(EXPECTED_FILE);
    if !expected_path.is_file() {
        add(
            &expected_path,
            "missing: list the expected outcome of every framed item".into(),
        );
    } else if let Err(e) = expected::load(&expected_path) {
        add(&expected_path, e.to_string());
    }
    problems
}

/// The indicator type names a mapping can produce, with the key that names each.
pub fn mapping_types(spec: &IntegrationSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(kind) = &spec.mapping.kind {
        out.push(("mapping.type".to_string(), kind.clone()));
    }
    for (source_name, kind) in &spec.mapping.type_map {
        out.push((format!("mapping.type_map.{source_name}"), kind.clone()));
    }
    out
}

/// Runs `iocflow integrations check`.
///
/// # Errors
/// The catalog directory cannot be read or a named integration does not exist.
pub fn run(dir: &Path, names: &[String]) -> anyhow::Result<ExitCode> {
    let dirs = integration_dirs(dir, names)?;
    let mut failed = 0usize;
    for d in &dirs {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let problems = check_integration(d);
        if problems.is_empty() {
            println!("ok    {name}");
        } else {
            failed += 1;
            println!("FAIL  {name}");
            for p in problems {
                println!("      {}: {}", p.file, p.message);
            }
        }
    }
    println!("{} checked, {failed} with problems", dirs.len());
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
