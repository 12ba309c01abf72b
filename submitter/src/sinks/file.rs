//! The local file sink: appends one JSON line per indicator to
//! `<dir>/indicators-<hostname>-<pid>.jsonl`, and flushes and fsyncs before acknowledging a batch,
//! so an acknowledged record survives a crash. One file per process means replicas never
//! interleave their writes. A failed write is retried with backoff until it succeeds or the batch
//! is abandoned; the lines already written by the failed attempt stay, so a retried batch may
//! appear twice (at-least-once, like the rest of the pipeline).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use futures::future::BoxFuture;
use iocflow_schemas::Indicator;
use tokio_util::sync::CancellationToken;

use crate::error::SubmitError;
use crate::events;
use crate::sinks::{Delivery, Rejection, Sink, SinkError};

/// Sink name in metrics and logs.
const NAME: &str = "file";

/// Appends indicators to a JSON-lines file.
pub struct FileSink {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl FileSink {
    /// Creates `dir` when missing and opens this process's file in it for appending.
    ///
    /// # Errors
    /// [`SubmitError::SinkSetup`] when the directory or the file cannot be created.
    pub fn open(dir: &Path) -> Result<FileSink, SubmitError> {
        let setup = |e: std::io::Error| SubmitError::SinkSetup {
            sink: NAME,
            message: format!("{}: {e}", dir.display()),
        };
        std::fs::create_dir_all(dir).map_err(setup)?;
        let path = dir.join(format!(
            "indicators-{}-{}.jsonl",
            hostname(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(setup)?;
        tracing::info!(path = %path.display(), message = "File sink opened.");
        Ok(FileSink {
            path,
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// The file this sink appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write_once(&self, lines: Arc<Vec<u8>>) -> Result<(), String> {
        let file = self.file.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = file
                .lock()
                .map_err(|_| std::io::Error::other("file sink lock poisoned"))?;
            file.write_all(&lines)?;
            file.flush()?;
            file.sync_data()
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{}: {e}", self.path.display())),
            Err(e) => Err(format!("write task failed: {e}")),
        }
    }

    async fn deliver_batch(
        &self,
        batch: &[Indicator],
        abandon: &CancellationToken,
    ) -> Result<Delivery, SinkError> {
        let started = Instant::now();
        let mut delivery = Delivery::default();
        let mut lines = Vec::new();
        for (index, indicator) in batch.iter().enumerate() {
            match serde_json::to_vec(indicator) {
                Ok(line) => {
                    lines.extend_from_slice(&line);
                    lines.push(b'\n');
                    delivery.accepted.push(index);
                }
                Err(e) => delivery.rejected.push(Rejection {
                    index,
                    reason: format!("not serializable as JSON: {e}"),
                }),
            }
        }
        let lines = Arc::new(lines);

        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(30))
            .with_jitter()
            .without_max_times();
        let written = (|| self.write_once(lines.clone()))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .notify(|error: &String, delay| events::sink_retrying(NAME, error, delay));

        tokio::select! {
            result = written => result.map_err(|last| SinkError::Exhausted { attempts: 0, last })?,
            _ = abandon.cancelled() => return Err(SinkError::Abandoned),
        }
        events::sink_batch_delivered(NAME, delivery.rejected.len(), started.elapsed());
        Ok(delivery)
    }
}

impl Sink for FileSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn deliver<'a>(
        &'a self,
        batch: &'a [Indicator],
        abandon: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Delivery, SinkError>> {
        Box::pin(self.deliver_batch(batch, abandon))
    }
}

/// The host name for the file name, reduced to characters safe in a path.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::tests::indicator;

    #[tokio::test]
    async fn writes_one_parseable_line_per_indicator() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FileSink::open(&dir.path().join("out")).unwrap();
        let first: Vec<Indicator> = (0..3)
            .map(|i| indicator(&format!("a{i}.example")))
            .collect();
        let second = vec![indicator("b.example")];

        let d1 = sink
            .deliver(&first, &CancellationToken::new())
            .await
            .unwrap();
        let d2 = sink
            .deliver(&second, &CancellationToken::new())
            .await
            .unwrap();

        assert_eq!(d1, Delivery::all_accepted(3));
        assert_eq!(d2, Delivery::all_accepted(1));
        let name = sink
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(name.starts_with("indicators-"), "{name}");
        assert!(
            name.ends_with(&format!("-{}.jsonl", std::process::id())),
            "{name}"
        );
        let text = std::fs::read_to_string(sink.path()).unwrap();
        let parsed: Vec<Indicator> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[0], first[0]);
        assert_eq!(parsed[3].value, "b.example");
        assert!(text.contains("\"type\":\"domain\""));
    }
}
