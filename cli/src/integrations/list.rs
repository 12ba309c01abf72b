//! `iocflow integrations list`: one line per integration, with the name of the environment
//! variable holding its secret (never the value).

use std::path::Path;
use std::process::ExitCode;

use iocflow_schemas::spec::{load_catalog, AuthSpec};

/// Prints the catalog as a table.
///
/// # Errors
/// A spec that does not load (named with its file and key).
pub fn run(dir: &Path) -> anyhow::Result<ExitCode> {
    let catalog = load_catalog(dir)?;
    let rows: Vec<[String; 7]> = catalog
        .iter()
        .map(|(_, s)| {
            [
                s.name.clone(),
                s.title.clone(),
                if s.enabled { "yes" } else { "no" }.to_string(),
                s.framing.record_framing().to_string(),
                format!("{}s", s.schedule_secs),
                auth_kind(&s.auth).to_string(),
                s.auth.secret_env().unwrap_or("-").to_string(),
            ]
        })
        .collect();
    let header = [
        "NAME",
        "TITLE",
        "ENABLED",
        "FRAMING",
        "SCHEDULE",
        "AUTH",
        "SECRET ENV",
    ];
    print!("{}", render_table(&header, &rows));
    Ok(ExitCode::SUCCESS)
}

/// The `kind` of an auth spec, as written in `spec.toml`.
pub fn auth_kind(auth: &AuthSpec) -> &'static str {
    match auth {
        AuthSpec::None => "none",
        AuthSpec::Header { .. } => "header",
        AuthSpec::Query { .. } => "query",
        AuthSpec::Bearer { .. } => "bearer",
        AuthSpec::Basic { .. } => "basic",
    }
}

/// Left-aligned columns separated by two spaces.
pub fn render_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = render_table(&["A", "BB"], &[["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    BB\nxyz  1\n");
    }
}
