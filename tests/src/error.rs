//! The harness's error type: what went wrong while setting up or observing a test run.

use std::path::PathBuf;

/// Why a harness step failed. Test code usually unwraps these; the message is written to be
/// read in a failing test's output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// A file or process operation failed.
    #[error("{what}: {error}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A Kafka client call failed.
    #[error("{what}: {error}")]
    Kafka {
        /// What the harness was doing.
        what: String,
        /// The client error.
        error: rdkafka::error::KafkaError,
    },
    /// An HTTP request (metrics scrape) failed.
    #[error("{what}: {error}")]
    Http {
        /// What the harness was doing.
        what: String,
        /// The client error.
        error: reqwest::Error,
    },
    /// A condition did not hold before its deadline.
    #[error("timed out after {waited_ms} ms waiting for {what}; last observed: {last}")]
    Timeout {
        /// The condition.
        what: String,
        /// How long the harness waited.
        waited_ms: u128,
        /// The last state seen, to explain the failure.
        last: String,
    },
    /// A program the harness needs is not there.
    #[error("{what} not found at {path}: {hint}")]
    Missing {
        /// Which program or file.
        what: String,
        /// Where it was looked for.
        path: PathBuf,
        /// How to get it.
        hint: String,
    },
    /// Something the harness read does not have the expected shape.
    #[error("{0}")]
    Invalid(String),
}

impl HarnessError {
    /// Whether trying the same step again may succeed (a timeout or a transient client
    /// error), as opposed to a permanent set-up problem (a missing binary, a bad file).
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            HarnessError::Timeout { .. } | HarnessError::Kafka { .. } | HarnessError::Http { .. }
        )
    }

    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
        let what = what.into();
        move |error| HarnessError::Io { what, error }
    }

    pub(crate) fn kafka(
        what: impl Into<String>,
    ) -> impl FnOnce(rdkafka::error::KafkaError) -> HarnessError {
        let what = what.into();
        move |error| HarnessError::Kafka { what, error }
    }
}
