//! The project's binaries as child processes: spawn with a per-test config, signal, wait,
//! and scrape `/metrics`.
//!
//! `CARGO_BIN_EXE_*` only exists for a crate's own binaries, so the binaries are found next to
//! the test executable: `target/<profile>/deps/<test>-<hash>` → `target/<profile>/`. Build them
//! first (`cargo build --bins`; `scripts/test.sh` does). Each process writes stdout and stderr
//! to files in the test's directory; [`Proc::output_tail`] returns them for failure messages.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::tansu::tail;
use crate::{wait, HarnessError, Result};

/// Directory holding the workspace's binaries for the profile the tests were built with.
///
/// # Errors
/// [`HarnessError::Io`] when the test executable's path cannot be read.
pub fn bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(HarnessError::io("locate the test executable"))?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    Ok(dir)
}

/// Path of a workspace binary, checked to exist.
///
/// # Errors
/// [`HarnessError::Missing`] with the build command.
pub fn binary(name: &str) -> Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::Missing {
            what: name.to_string(),
            path,
            hint: "build the binaries first: cargo build --workspace --bins".into(),
        })
    }
}

/// Sends a signal (`TERM`, `KILL`, `INT`) to a process with the system `kill` command, which
/// keeps this crate free of `unsafe` and of a signal-handling dependency.
///
/// # Errors
/// A failed spawn of `kill`, or `kill` reporting an error.
pub fn signal(pid: u32, name: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .arg("-s")
        .arg(name)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(HarnessError::io("run kill"))?;
    if status.success() {
        Ok(())
    } else {
        Err(HarnessError::Invalid(format!(
            "kill -s {name} {pid} failed with {status}"
        )))
    }
}

/// A spawned project binary.
pub struct Proc {
    name: String,
    child: Child,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    ops_addr: Option<String>,
    status: Option<ExitStatus>,
}

/// How to start a binary.
#[derive(Debug, Clone)]
pub struct ProcSpec {
    /// Binary name, e.g. `iocflow-normalizer`.
    pub binary: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Directory for the output files; `<label>.stdout` and `<label>.stderr` go there.
    pub log_dir: PathBuf,
    /// Name used for the output files and messages (e.g. `normalizer-2`).
    pub label: String,
    /// `host:port` of the process's ops endpoint, if it has one.
    pub ops_addr: Option<String>,
}

impl ProcSpec {
    /// A binary started with `--config <config>` and its ops endpoint at `ops_addr`.
    pub fn with_config(
        binary: &str,
        label: &str,
        config: &Path,
        log_dir: &Path,
        ops: &str,
    ) -> Self {
        ProcSpec {
            binary: binary.to_string(),
            args: vec!["--config".into(), config.display().to_string()],
            env: Vec::new(),
            log_dir: log_dir.to_path_buf(),
            label: label.to_string(),
            ops_addr: Some(ops.to_string()),
        }
    }
}

impl Proc {
    /// Spawns the binary. Environment variables starting with `IOCFLOW_` are removed from the
    /// child's environment so the developer's shell cannot change a test's config.
    ///
    /// # Errors
    /// A missing binary or a failed spawn.
    pub fn spawn(spec: &ProcSpec) -> Result<Proc> {
        let bin = binary(&spec.binary)?;
        let stdout_path = spec.log_dir.join(format!("{}.stdout", spec.label));
        let stderr_path = spec.log_dir.join(format!("{}.stderr", spec.label));
        let stdout = File::create(&stdout_path).map_err(HarnessError::io("create stdout file"))?;
        let stderr = File::create(&stderr_path).map_err(HarnessError::io("create stderr file"))?;

        let mut cmd = Command::new(&bin);
        for (key, _) in std::env::vars() {
            if key.starts_with("IOCFLOW_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn()
            .map_err(HarnessError::io(format!("spawn {}", bin.display())))?;

        Ok(Proc {
            name: spec.label.clone(),
            child,
            stdout_path,
            stderr_path,
            ops_addr: spec.ops_addr.clone(),
            status: None,
        })
    }

    /// The label given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `host:port` of the ops endpoint, if it has one.
    pub fn ops_addr(&self) -> Option<&str> {
        self.ops_addr.as_deref()
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends SIGTERM (graceful drain).
    ///
    /// # Errors
    /// As [`signal`]; a process that already exited is not an error.
    pub fn terminate(&mut self) -> Result<()> {
        match self.child.id() {
            Some(pid) => signal(pid, "TERM"),
            None => Ok(()),
        }
    }

    /// Sends SIGKILL and reaps the process.
    ///
    /// # Errors
    /// A failed kill or wait.
    pub async fn kill(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        if let Some(pid) = self.child.id() {
            signal(pid, "KILL")?;
        }
        self.wait_exit(Duration::from_secs(10)).await
    }

    /// Whether the process has exited, without waiting.
    ///
    /// # Errors
    /// A failed `waitpid`.
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self
                .child
                .try_wait()
                .map_err(HarnessError::io(format!("poll {}", self.name)))?;
        }
        Ok(self.status)
    }

    /// Waits for the process to exit.
    ///
    /// # Errors
    /// [`HarnessError::Timeout`] (with the process's output) when it is still running after
    /// `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => {
                let status = status.map_err(HarnessError::io(format!("wait for {}", self.name)))?;
                self.status = Some(status);
                Ok(status)
            }
            Err(_) => Err(HarnessError::Timeout {
                what: format!("{} to exit", self.name),
                waited_ms: timeout.as_millis(),
                last: self.output_tail(20),
            }),
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read(&self.stderr_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `lines` lines of stdout and of stderr, labelled, for failure messages.
    pub fn output_tail(&self, lines: usize) -> String {
        format!(
            "--- {} stdout ---\n{}\n--- {} stderr ---\n{}",
            self.name,
            tail(&self.stdout_path, lines),
            self.name,
            tail(&self.stderr_path, lines)
        )
    }

    /// Scrapes the process's `/metrics`.
    ///
    /// # Errors
    /// [`HarnessError::Invalid`] when the process has no ops endpoint, or the request fails.
    pub async fn metrics(&self) -> Result<Metrics> {
        let addr = self
            .ops_addr
            .as_deref()
            .ok_or_else(|| HarnessError::Invalid(format!("{} has no ops endpoint", self.name)))?;
        scrape(addr).await
    }

    /// Waits until the ops endpoint answers `/readyz` with 200.
    ///
    /// # Errors
    /// [`HarnessError::Timeout`] with the process's output; also when it exits meanwhile.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let addr = self
            .ops_addr
            .clone()
            .ok_or_else(|| HarnessError::Invalid(format!("{} has no ops endpoint", self.name)))?;
        let url = format!("http://{addr}/readyz");
        let client = reqwest::Client::new();
        let what = format!("{} to be ready", self.name);
        let result = wait::until(&what, timeout, || {
            let exited = self.try_status().ok().flatten();
            let request = client.get(&url).timeout(Duration::from_secs(2)).send();
            async move {
                if let Some(status) = exited {
                    return Ok(Err(status));
                }
                match request.await {
                    Ok(r) if r.status().is_success() => Ok(Ok(())),
                    Ok(r) => Err(format!("/readyz answered {}", r.status())),
                    Err(e) => Err(format!("/readyz: {e}")),
                }
            }
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(status)) => Err(HarnessError::Invalid(format!(
                "{} exited with {status} before it was ready\n{}",
                self.name,
                self.output_tail(30)
            ))),
            Err(e) => Err(HarnessError::Invalid(format!(
                "{e}\n{}",
                self.output_tail(30)
            ))),
        }
    }
}

/// Starts `iocflow replay-server` over a catalog directory and returns it with its base URL
/// (`http://127.0.0.1:PORT`), read from its first stdout line.
///
/// # Errors
/// A failed spawn, or no `listening on` line within 30 s.
pub async fn start_replay_server(catalog: &Path, log_dir: &Path) -> Result<(Child, String)> {
    let bin = binary("iocflow")?;
    let mut child = Command::new(&bin)
        .arg("replay-server")
        .arg("--integrations-dir")
        .arg(catalog)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            File::create(log_dir.join("replay-server.stderr"))
                .map_err(HarnessError::io("create replay-server stderr file"))?,
        ))
        .kill_on_drop(true)
        .spawn()
        .map_err(HarnessError::io(format!("spawn {}", bin.display())))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| HarnessError::Invalid("replay server has no stdout".into()))?;
    let mut lines = BufReader::new(stdout).lines();

    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .map_err(|_| HarnessError::Timeout {
            what: "the replay server's `listening on` line".into(),
            waited_ms: 30_000,
            last: tail(&log_dir.join("replay-server.stderr"), 20),
        })?
        .map_err(HarnessError::io("read the replay server's stdout"))?;
    let Some(base) = first
        .as_deref()
        .and_then(|l| l.trim().strip_prefix("listening on "))
        .map(|u| u.trim_end_matches('/').to_string())
    else {
        return Err(HarnessError::Invalid(format!(
            "replay server's first line is {first:?}, expected `listening on http://...`; stderr:\n{}",
            tail(&log_dir.join("replay-server.stderr"), 20)
        )));
    };

    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, base))
}

/// One scrape of a Prometheus text endpoint: every sample with its labels.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Metrics {
    /// Parses Prometheus text exposition format (comments and malformed lines are ignored).
    pub fn parse(text: &str) -> Metrics {
        let mut samples = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (series, value) = match line.rsplit_once(' ') {
                Some(split) => split,
                None => continue,
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            samples.push((name.to_string(), labels, value));
        }
        Metrics { samples }
    }

    /// Sum of the samples of `name` whose labels include every pair in `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// `iocflow_records_total{stage,source,outcome}` as an integer (all sources when `source`
    /// is `None`).
    pub fn records(&self, stage: &str, source: Option<&str>, outcome: &str) -> u64 {
        let mut labels = vec![("stage", stage), ("outcome", outcome)];
        if let Some(source) = source {
            labels.push(("source", source));
        }
        self.sum("iocflow_records_total", &labels) as u64
    }

    /// Every distinct value of label `label` among the samples of `name`.
    pub fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .samples
            .iter()
            .filter(|(n, _, _)| n == name)
            .filter_map(|(_, l, _)| l.get(label).cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(if escaped == 'n' { '\n' } else { escaped });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.trim().trim_start_matches(',').trim().to_string(), value);
        rest = &after[end..];
    }
    labels
}

/// Scrapes `http://<addr>/metrics`.
///
/// # Errors
/// [`HarnessError::Http`] when the request fails.
pub async fn scrape(addr: &str) -> Result<Metrics> {
    let url = format!("http://{addr}/metrics");
    let what = format!("scrape {url}");
    let text = reqwest::Client::new()
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| HarnessError::Http {
            what: what.clone(),
            error,
        })?
        .text()
        .await
        .map_err(|error| HarnessError::Http { what, error })?;
    Ok(Metrics::parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_text_with_labels() {
        let text = "# HELP iocflow_records_total Records.\n\
                    # TYPE iocflow_records_total counter\n\
                    iocflow_records_total{outcome=\"fetched\",source=\"urlhaus\",stage=\"fetch\"} 12\n\
                    iocflow_records_total{outcome=\"fetched\",source=\"openphish\",stage=\"fetch\"} 3\n\
                    iocflow_records_total{outcome=\"skipped\",source=\"urlhaus\",stage=\"fetch\"} 2\n\
                    process_open_fds 7\n";
        let m = Metrics::parse(text);
        assert_eq!(m.records("fetch", Some("urlhaus"), "fetched"), 12);
        assert_eq!(m.records("fetch", None, "fetched"), 15);
        assert_eq!(m.records("normalize", None, "normalized"), 0);
        assert_eq!(m.sum("process_open_fds", &[]), 7.0);
        assert_eq!(
            m.label_values("iocflow_records_total", "source"),
            vec!["openphish".to_string(), "urlhaus".to_string()]
        );
    }

    #[test]
    fn label_values_may_hold_escaped_quotes_and_commas() {
        let m = Metrics::parse("x{a=\"1,\\\"2\",b=\"3\"} 1\n");
        assert_eq!(m.sum("x", &[("a", "1,\"2"), ("b", "3")]), 1.0);
    }
}
