//! Test harness for iocflow's system and fault tests: real processes on loopback.
//!
//! The tests in `tests/tests/` run the three binaries (`iocflow-fetcher`, `iocflow-normalizer`,
//! `iocflow-submitter`) and the CLI's replay server as processes against a real Kafka-protocol
//! broker (Tansu on SQLite storage) and a real HTTP platform. They are gated behind the
//! `broker-tests` cargo feature; `scripts/test.sh` turns it on.
//!
//! Layout:
//! - [`tansu`]: start, stop and restart the Tansu broker on a free port.
//! - [`topics`]: unique topic and group names per test, created through the admin API.
//! - [`kafka`]: read a topic back to its end, produce a test record.
//! - [`processes`]: spawn the project binaries with a per-test config, signal them, scrape
//!   their `/metrics`.
//! - [`platform`]: an HTTP server implementing the platform API that records what it receives.
//! - [`config`]: per-test config files for the three binaries.
//! - [`catalog`]: an integration catalog's `expected.jsonl` files and recorded secrets.
//! - [`wait`]: poll a condition until a deadline, never a fixed sleep.

pub mod catalog;
pub mod config;
pub mod kafka;
pub mod platform;
pub mod processes;
pub mod tansu;
pub mod topics;
pub mod wait;

mod error;

pub use error::HarnessError;

/// Result type of the harness.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

/// Root of the repository (the parent of this crate's directory).
pub fn repo_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .map_or_else(|| here.to_path_buf(), std::path::Path::to_path_buf)
}
