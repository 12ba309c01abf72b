//! The demo's child processes: `iocflow-fetcher`, `iocflow-normalizer` and `iocflow-submitter`,
//! found next to the running `iocflow`, each with a config file written to the work directory
//! and its stdout and stderr in `<output-dir>/logs/<stage>.log`.
//!
//! Stopping sends SIGTERM (the stages' graceful drain) and waits for the exit, killing a child
//! that does not exit within the grace period.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// How long a child may take to drain after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Bytes of a log shown when a child fails.
const LOG_TAIL_BYTES: u64 = 4096;

/// One of the three stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `iocflow-fetcher`.
    Fetcher,
    /// `iocflow-normalizer`.
    Normalizer,
    /// `iocflow-submitter`.
    Submitter,
}

impl Stage {
    /// All three, in pipeline order.
    pub const ALL: [Stage; 3] = [Stage::Fetcher, Stage::Normalizer, Stage::Submitter];

    /// The binary's file name.
    pub fn binary(self) -> &'static str {
        match self {
            Stage::Fetcher => "iocflow-fetcher",
            Stage::Normalizer => "iocflow-normalizer",
            Stage::Submitter => "iocflow-submitter",
        }
    }

    /// Short name, used for config and log files.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Fetcher => "fetcher",
            Stage::Normalizer => "normalizer",
            Stage::Submitter => "submitter",
        }
    }
}

/// A running stage.
#[derive(Debug)]
pub struct StageProcess {
    /// Which stage.
    pub stage: Stage,
    /// Its `/metrics` URL.
    pub metrics_url: String,
    /// Its log file.
    pub log_path: PathBuf,
    child: Child,
}

/// The directory holding the stage binaries: the one of the running executable.
///
/// # Errors
/// The current executable cannot be determined.
pub fn binaries_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    exe.parent()
        .map(Path::to_path_buf)
        .context("the running executable has no parent directory")
}

/// A free loopback port, found by binding port 0 and releasing it.
///
/// # Errors
/// Binding fails.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind loopback")?;
    Ok(listener.local_addr()?.port())
}

/// Starts a stage with `--config config_path`, extra environment variables, and its output
/// appended to `log_path`.
///
/// Inherited `IOCFLOW_*` variables other than logging settings and secrets are removed, so a
/// variable meant for another deployment cannot override the demo's config.
///
/// # Errors
/// The binary is missing or cannot be started, or the log cannot be created.
pub fn spawn(
    stage: Stage,
    bin_dir: &Path,
    config_path: &Path,
    env: &[(String, String)],
    log_path: &Path,
    metrics_port: u16,
) -> anyhow::Result<StageProcess> {
    let binary = bin_dir.join(stage.binary());
    if !binary.is_file() {
        anyhow::bail!(
            "{} not found next to iocflow (in {}); build it first: cargo build -p iocflow-fetchers \
             -p iocflow-normalizer -p iocflow-submitter -p iocflow-cli",
            stage.binary(),
            bin_dir.display()
        );
    }
    let log = std::fs::File::create(log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let log_err = log.try_clone()?;

    let mut cmd = Command::new(&binary);
    cmd.arg("--config")
        .arg(config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .kill_on_drop(true);
    for (k, _) in std::env::vars() {
        let keep = !k.starts_with("IOCFLOW_")
            || k.starts_with("IOCFLOW_SECRET_")
            || k == "IOCFLOW_LOG"
            || k == "IOCFLOW_LOG_FORMAT";
        if !keep {
            cmd.env_remove(&k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    Ok(StageProcess {
        stage,
        metrics_url: format!("http://127.0.0.1:{metrics_port}/metrics"),
        log_path: log_path.to_path_buf(),
        child,
    })
}

impl StageProcess {
    /// The exit status if the process has ended.
    ///
    /// # Errors
    /// The status cannot be queried.
    pub fn try_exit(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Sends SIGTERM and waits for the exit; kills the process after the grace period.
    ///
    /// # Errors
    /// The process cannot be signalled or waited for.
    pub async fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        if let Some(pid) = self.child.id() {
            // Limitation: without unsafe code or a signal crate, SIGTERM goes through kill(1).
            let sent = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
            if !sent.is_ok_and(|s| s.success()) {
                self.child.start_kill()?;
            }
        }
        match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                self.child.start_kill()?;
                Ok(self.child.wait().await?)
            }
        }
    }

    /// The end of the log, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path, LOG_TAIL_BYTES)
    }
}

/// The last `max_bytes` of a file (from a line start), or a note that it cannot be read.
pub fn log_tail(path: &Path, max_bytes: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let read = || -> std::io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        let start = len.saturating_sub(max_bytes);
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        Ok(match (start > 0, text.find('\n')) {
            (true, Some(i)) => text[i + 1..].to_string(),
            _ => text,
        })
    };
    read().unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_starts_at_a_line() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.log");
        std::fs::write(&p, "first line\nsecond line\nthird\n").unwrap();
        assert_eq!(log_tail(&p, 1000), "first line\nsecond line\nthird\n");
        assert_eq!(log_tail(&p, 15), "third\n");
        assert!(log_tail(&tmp.path().join("none"), 10).contains("cannot read"));
    }

    #[test]
    fn free_ports_are_nonzero() {
        assert_ne!(free_port().unwrap(), 0);
    }
}
