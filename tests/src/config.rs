//! Per-test config files for the three binaries, in the format of `docs/CONTRACTS.md`.
//!
//! Each config names the test's own topics and consumer groups and an ops endpoint on a free
//! loopback port, so several tests can share one broker without seeing each other.

use std::path::{Path, PathBuf};

use crate::tansu::free_port;
use crate::topics::TestTopics;
use crate::{HarnessError, Result};

/// `127.0.0.1:PORT` on a port that is free now, for a binary's ops endpoint.
///
/// # Errors
/// The bind error.
pub fn free_ops_addr() -> Result<String> {
    Ok(format!("127.0.0.1:{}", free_port()?))
}

fn ops_toml(ops_addr: &str) -> String {
    format!("[ops]\nlisten_addr = \"{ops_addr}\"\n")
}

/// The fetcher's config: every integration in `base_urls` pointed at its replay-server base.
pub fn fetcher_toml(
    topics: &TestTopics,
    bootstrap: &str,
    ops_addr: &str,
    integrations_dir: &Path,
    base_urls: &[(String, String)],
) -> String {
    let mut text = format!(
        "{}\n{}\n[fetcher]\nintegrations_dir = {}\n",
        topics.kafka_toml(bootstrap),
        ops_toml(ops_addr),
        toml_string(&integrations_dir.display().to_string()),
    );
    for (name, base) in base_urls {
        text.push_str(&format!(
            "\n[integrations.{name}]\nbase_url = {}\n",
            toml_string(base)
        ));
    }
    text
}

/// The normalizer's config with the test's group and a batch size.
pub fn normalizer_toml(
    topics: &TestTopics,
    bootstrap: &str,
    ops_addr: &str,
    integrations_dir: &Path,
    batch_size: u32,
) -> String {
    format!(
        "{}\n{}\n[normalizer]\nintegrations_dir = {}\ngroup_id = \"{}\"\nbatch_size = {batch_size}\n",
        topics.kafka_toml(bootstrap),
        ops_toml(ops_addr),
        toml_string(&integrations_dir.display().to_string()),
        topics.normalizer_group,
    )
}

/// The submitter's config with the test's group, posting to `platform_url`.
pub fn submitter_toml(
    topics: &TestTopics,
    bootstrap: &str,
    ops_addr: &str,
    platform_url: &str,
) -> String {
    format!(
        "{}\n{}\n[submitter]\ngroup_id = \"{}\"\nbatch_size = 200\nbatch_timeout_ms = 200\n\n\
         [submitter.http]\nurl = {}\ntimeout_ms = 10000\n",
        topics.kafka_toml(bootstrap),
        ops_toml(ops_addr),
        topics.submitter_group,
        toml_string(platform_url),
    )
}

/// Writes `text` to `dir/name` and returns the path.
///
/// # Errors
/// The write error.
pub fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(HarnessError::io(format!("write {}", path.display())))?;
    Ok(path)
}

/// A TOML basic string literal.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_valid_toml_with_the_test_topics() {
        let topics = TestTopics::unique("cfg");
        let dir = Path::new("/tmp/catalog");
        let bases = [(
            "urlhaus".to_string(),
            "http://127.0.0.1:1/urlhaus".to_string(),
        )];
        let fetcher: toml::Table = fetcher_toml(&topics, "127.0.0.1:9", "127.0.0.1:2", dir, &bases)
            .parse()
            .unwrap();
        assert_eq!(
            fetcher["kafka"]["topics"]["raw"].as_str(),
            Some(topics.raw.as_str())
        );
        assert_eq!(
            fetcher["integrations"]["urlhaus"]["base_url"].as_str(),
            Some("http://127.0.0.1:1/urlhaus")
        );
        let normalizer: toml::Table = normalizer_toml(&topics, "b", "127.0.0.1:2", dir, 50)
            .parse()
            .unwrap();
        assert_eq!(
            normalizer["normalizer"]["batch_size"].as_integer(),
            Some(50)
        );
        let submitter: toml::Table = submitter_toml(&topics, "b", "127.0.0.1:2", "http://x/i")
            .parse()
            .unwrap();
        assert_eq!(
            submitter["submitter"]["http"]["url"].as_str(),
            Some("http://x/i")
        );
    }
}
