//! The Tansu broker as a child process, on a free loopback port with SQLite storage.
//!
//! Tansu is found through `TANSU_BIN`, then `PATH`, then `~/.cargo/bin` (where
//! `scripts/install-tansu.sh` puts it). The SQLite file lives in a temporary directory owned by
//! the [`Tansu`] value, so [`Tansu::restart`] brings the broker back on the same port with the
//! same data and committed offsets. The broker's output goes to a log file whose tail
//! [`Tansu::log_tail`] returns for failure messages. Dropping the value kills the broker.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::{wait, HarnessError, Result};

/// How long the broker may take to answer its first metadata request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running (or stopped) Tansu broker owned by a test.
pub struct Tansu {
    bin: PathBuf,
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

/// Finds the `tansu` binary: `TANSU_BIN`, then `PATH`, then `~/.cargo/bin/tansu`.
///
/// # Errors
/// [`HarnessError::Missing`] with the command that installs it.
pub fn find_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        return Err(missing(path));
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("tansu");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidate = home.join(".cargo/bin/tansu");
    if candidate.is_file() {
        return Ok(candidate);
    }
    Err(missing(candidate))
}

fn missing(path: PathBuf) -> HarnessError {
    HarnessError::Missing {
        what: "tansu broker".into(),
        path,
        hint: "run scripts/install-tansu.sh, or set TANSU_BIN".into(),
    }
}

/// A loopback port nobody listens on right now.
///
/// # Errors
/// The bind error.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(HarnessError::io("bind a free port"))?;
    let port = listener
        .local_addr()
        .map_err(HarnessError::io("read the bound port"))?
        .port();
    Ok(port)
}

impl Tansu {
    /// Starts a broker on a free port with a fresh SQLite database and waits until it answers
    /// a metadata request.
    ///
    /// # Errors
    /// A missing binary, a failed spawn, or a broker that does not answer in time (the error
    /// carries the tail of its log).
    pub async fn start() -> Result<Tansu> {
        let bin = find_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("iocflow-tansu-")
            .tempdir()
            .map_err(HarnessError::io("create the broker's temporary directory"))?;
        let mut tansu = Tansu {
            bin,
            port: free_port()?,
            dir,
            child: None,
        };
        tansu.spawn_and_wait().await?;
        Ok(tansu)
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The file the broker's stdout and stderr go to.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("tansu.log")
    }

    /// The SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("tansu.db")
    }

    /// The last `lines` lines of the broker's log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path(), lines)
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. The
    /// database stays.
    ///
    /// # Errors
    /// A failed signal or wait.
    pub async fn stop(&mut self) -> Result<Option<ExitStatus>> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        if let Some(pid) = child.id() {
            crate::processes::signal(pid, "TERM")?;
        }
        let status = match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
            Ok(status) => status.map_err(HarnessError::io("wait for tansu"))?,
            Err(_) => {
                child.kill().await.map_err(HarnessError::io("kill tansu"))?;
                child
                    .wait()
                    .await
                    .map_err(HarnessError::io("wait for tansu"))?
            }
        };
        Ok(Some(status))
    }

    /// Starts the broker again on the same port and database, and waits until it answers.
    ///
    /// # Errors
    /// As [`Tansu::start`].
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await?;
        self.spawn_and_wait().await
    }

    async fn spawn_and_wait(&mut self) -> Result<()> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(HarnessError::io("open the broker log"))?;
        let log_err = log
            .try_clone()
            .map_err(HarnessError::io("open the broker log"))?;
        let url = format!("tcp://127.0.0.1:{}", self.port);
        // Tansu reads the path of a `sqlite://` URL relative to its working directory (even
        // `sqlite:///tmp/x.db`), so it runs inside the temporary directory with a relative name.
        let storage = "sqlite://tansu.db";
        let child = Command::new(&self.bin)
            .arg("broker")
            .arg("--listener-url")
            .arg(&url)
            .arg("--advertised-listener-url")
            .arg(&url)
            .arg("--storage-engine")
            .arg(storage)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .spawn()
            .map_err(HarnessError::io(format!("spawn {}", self.bin.display())))?;
        self.child = Some(child);

        let bootstrap = self.bootstrap();
        let answered = wait::until("tansu to answer a metadata request", START_TIMEOUT, || {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            let bootstrap = bootstrap.clone();
            async move {
                if let Some(status) = exited {
                    return Ok(Err(format!("tansu exited with {status}")));
                }
                match fetch_metadata(&bootstrap).await {
                    Ok(()) => Ok(Ok(())),
                    Err(e) => Err(e),
                }
            }
        })
        .await;
        match answered {
            Ok(Ok(())) => Ok(()),
            Ok(Err(exited)) => Err(HarnessError::Invalid(format!(
                "{exited}; log:\n{}",
                self.log_tail(40)
            ))),
            Err(e) => Err(HarnessError::Invalid(format!(
                "{e}; log:\n{}",
                self.log_tail(40)
            ))),
        }
    }
}

/// One metadata request with a short timeout; `Err` describes why it failed.
async fn fetch_metadata(bootstrap: &str) -> std::result::Result<(), String> {
    let bootstrap = bootstrap.to_string();
    let joined = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("log_level", "0")
            .create()
            .map_err(|e| e.to_string())?;
        consumer
            .fetch_metadata(None, Duration::from_secs(2))
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    joined.map_err(|e| e.to_string())?
}

impl Drop for Tansu {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // Best effort: the process may already be gone.
            let _ = child.start_kill();
        }
    }
}

/// The last `lines` lines of a text file, or a note that it cannot be read.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
