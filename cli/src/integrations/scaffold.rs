//! `iocflow integrations scaffold NAME --format csv|json|lines`: writes a new integration
//! directory that `check` and `test` accept from the start, for the engineer to edit: a
//! commented `spec.toml`, `recordings/responses.toml`, a sample body and `expected.jsonl`.
//! It never overwrites an existing directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::integrations::DEFAULT_DIR;

/// Body format of the new integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScaffoldFormat {
    /// A CSV download with a header line.
    Csv,
    /// A JSON document with an array of objects.
    Json,
    /// Plain text, one value per line.
    Lines,
}

/// `iocflow integrations scaffold` arguments.
#[derive(Debug, clap::Args)]
pub struct ScaffoldArgs {
    /// Name of the new integration: lower-case letters, digits and `_`.
    pub name: String,
    /// Body format of the source.
    #[arg(long, value_enum)]
    pub format: ScaffoldFormat,
    /// The integration catalog the directory is created in.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

/// Runs `iocflow integrations scaffold`.
///
/// # Errors
/// A bad name, an existing directory, or a write failure.
pub fn run(args: &ScaffoldArgs) -> anyhow::Result<ExitCode> {
    let dir = scaffold(&args.dir, &args.name, args.format)?;
    println!("created {}", dir.display());
    println!("next: edit spec.toml, replace the recording with a real response, list the expected");
    println!(
        "outcomes in expected.jsonl, then run `iocflow integrations test {}`",
        args.name
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `<catalog>/<name>/` and returns its path.
///
/// # Errors
/// A bad name, an existing directory, or a write failure.
pub fn scaffold(catalog: &Path, name: &str, format: ScaffoldFormat) -> anyhow::Result<PathBuf> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        anyhow::bail!("integration name {name:?}: use lower-case letters, digits and _");
    }
    let dir = catalog.join(name);
    if dir.exists() {
        anyhow::bail!(
            "{} already exists; scaffold never overwrites",
            dir.display()
        );
    }

    let (body_file, content_type, spec_tail, body, expected) = match format {
        ScaffoldFormat::Csv => (
            "indicators.csv",
            "text/csv",
            [CSV_FRAMING, MAPPING],
            CSV_BODY,
            &["{\"skip\": \"comment\"}", "{\"skip\": \"header\"}"][..],
        ),
        ScaffoldFormat::Json => (
            "indicators.json",
            "application/json",
            [JSON_FRAMING, MAPPING],
            JSON_BODY,
            &[][..],
        ),
        ScaffoldFormat::Lines => (
            "indicators.txt",
            "text/plain",
            [LINES_FRAMING, LINES_MAPPING],
            LINES_BODY,
            &["{\"skip\": \"comment\"}"][..],
        ),
    };
    let path = format!("/v1/{body_file}");
    let secret_env = format!("IOCFLOW_SECRET_{}_API_KEY", name.to_ascii_uppercase());

    let spec = format!(
        "{SPEC_HEAD}name = \"{name}\"\ntitle = \"{name} (edit me)\"\n# Seconds between two fetch runs.\nschedule_secs = 3600\n\n\
[request]\n# The real source URL; tests and the demo replace scheme://host:port with the replay server.\n\
url = \"https://api.example.com{path}\"\n\n\
# How the request authenticates: header, query, bearer, basic or none. The secret itself lives in\n\
# the environment variable named here (it must start with IOCFLOW_SECRET_), never in this file.\n\
[auth]\nkind = \"header\"\nname = \"X-Api-Key\"\nsecret_env = \"{secret_env}\"\n{}{}",
        spec_tail[0], spec_tail[1]
    );
    let responses = format!(
        "# What the replay server answers for {name}. The secret is a made-up test value; the demo\n\
# and the tests put it in {secret_env}.\nsecret = \"recorded-test-key-{name}\"\n\n\
[[response]]\npath = \"{path}\"\nheaders = {{ \"content-type\" = \"{content_type}\" }}\n\
body_file = \"{body_file}\"\n\
# Fault injection, to test retries: fail_first = 1, fail_status = 429, retry_after_secs = 1.\n"
    );
    let mut expected_text = String::new();
    for line in expected.iter().chain(COMMON_EXPECTED) {
        expected_text.push_str(line);
        expected_text.push('\n');
    }

    std::fs::create_dir_all(catalog)?;
    // create_dir (not create_dir_all) fails if someone created it since the check above.
    std::fs::create_dir(&dir)?;
    std::fs::create_dir(dir.join("recordings"))?;
    std::fs::write(dir.join("spec.toml"), spec)?;
    std::fs::write(dir.join("recordings").join("responses.toml"), responses)?;
    std::fs::write(dir.join("recordings").join(body_file), body)?;
    std::fs::write(dir.join("expected.jsonl"), expected_text)?;
    Ok(dir)
}

const SPEC_HEAD: &str = "# A new iocflow integration. Every key is described in schemas/src/spec.rs; \
unknown keys are\n# rejected. Check it with `iocflow integrations check` and `iocflow integrations test`.\n";

const MAPPING: &str = "\n# How one item becomes an indicator. Types: ip, ipv4, ipv6, domain, url, email, hash, md5,\n\
# sha1, sha256, sha512, cve (or type_field + type_map when the source names the type).\n\
[mapping]\ntype = \"domain\"\nvalue = \"domain\"\n\
first_seen = { field = \"first_seen\", format = \"%Y-%m-%d %H:%M:%S\" }\n\
constant_threat_types = [\"malicious_activity\"]\n# 0-100, when the source gives none.\nconfidence = 50\n\
tlp = \"clear\"\nvalid_days = 30\n";

const CSV_FRAMING: &str =
    "\n# One item per CSV record. Comment lines and the header are counted skips.\n\
[framing]\nkind = \"csv\"\ncomment_prefix = \"#\"\nhas_header = true\n\
columns = [\"domain\", \"first_seen\", \"comment\"]\n";

const JSON_FRAMING: &str =
    "\n# One item per element of the JSON array at items_pointer (a JSON pointer).\n\
[framing]\nkind = \"json\"\nitems_pointer = \"/data\"\n";

const LINES_FRAMING: &str =
    "\n# One item per line; blank lines and comment lines are counted skips.\n\
[framing]\nkind = \"lines\"\ncomment_prefix = \"#\"\n";

const LINES_MAPPING: &str =
    "\n# How one item becomes an indicator. A text line is the field `line`.\n\
[mapping]\ntype = \"domain\"\nvalue = \"line\"\nconstant_threat_types = [\"malicious_activity\"]\n\
confidence = 50\ntlp = \"clear\"\nvalid_days = 30\n";

const CSV_BODY: &str = "# Example export: replace with a real response of the source.\n\
domain,first_seen,comment\n\
malware-delivery.example.net,2024-05-01 10:00:00,loader\n\
Phish-Login.Example.ORG,2024-05-01 11:00:00,phishing kit\n\
not a domain!,2024-05-01 12:00:00,broken row\n";

const JSON_BODY: &str = r#"{
  "data": [
    {"domain": "malware-delivery.example.net", "first_seen": "2024-05-01 10:00:00"},
    {"domain": "Phish-Login.Example.ORG", "first_seen": "2024-05-01 11:00:00"},
    {"domain": "not a domain!", "first_seen": "2024-05-01 12:00:00"}
  ]
}
"#;

const LINES_BODY: &str = "# Example list: replace with a real response of the source.\n\
malware-delivery.example.net\n\
Phish-Login.Example.ORG\n\
not a domain!\n";

/// Expected outcomes of the three sample items every format shares. Add `"id"` once computed
/// independently of the code under test (Python `uuid.uuid5`), as the bundled integrations do.
const COMMON_EXPECTED: &[&str] = &[
    r#"{"indicator": {"type": "domain", "value": "malware-delivery.example.net"}}"#,
    r#"{"indicator": {"type": "domain", "value": "phish-login.example.org"}}"#,
    r#"{"dead_letter": "invalid_value"}"#,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::{check, conformance};

    #[test]
    fn every_format_passes_check_and_conformance() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, format) in [
            ("new_csv", ScaffoldFormat::Csv),
            ("new_json", ScaffoldFormat::Json),
            ("new_lines", ScaffoldFormat::Lines),
        ] {
            let dir = scaffold(tmp.path(), name, format).unwrap();
            let problems = check::check_integration(&dir);
            assert!(problems.is_empty(), "{name}: {problems:?}");
            let report = conformance::check(&dir).unwrap();
            assert!(report.passed(), "{name}: {:?}", report.mismatches);
        }
    }

    #[test]
    fn refuses_to_overwrite_and_bad_names() {
        let tmp = tempfile::tempdir().unwrap();
        scaffold(tmp.path(), "feed", ScaffoldFormat::Lines).unwrap();
        let err = scaffold(tmp.path(), "feed", ScaffoldFormat::Csv)
            .unwrap_err()
            .to_string();
        assert!(err.contains("already exists"), "{err}");
        assert!(scaffold(tmp.path(), "Bad-Name", ScaffoldFormat::Csv).is_err());
    }
}
