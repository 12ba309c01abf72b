//! Where indicators go: the [`Sink`] trait and its two implementations, the platform's HTTP
//! JSON API ([`http`]) and a local JSON-lines file ([`file`]).
//!
//! A sink retries its own transient failures (with backoff) until it succeeds, runs out of
//! attempts, or is told to give up; what comes back is which records it accepted and which it
//! rejected for good, with a reason. The consumer loop dead-letters the rejected ones.

use futures::future::BoxFuture;
use iocflow_schemas::Indicator;
use tokio_util::sync::CancellationToken;

pub mod file;
pub mod http;

/// A record a sink refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Index of the record in the delivered batch.
    pub index: usize,
    /// Why (from the platform's answer, at most a few hundred characters).
    pub reason: String,
}

/// The outcome of delivering a batch: every index of the batch is in exactly one list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Indexes of accepted records.
    pub accepted: Vec<usize>,
    /// Records rejected for good.
    pub rejected: Vec<Rejection>,
}

impl Delivery {
    /// Everything accepted.
    pub fn all_accepted(len: usize) -> Delivery {
        Delivery {
            accepted: (0..len).collect(),
            rejected: Vec::new(),
        }
    }
}

/// Why a sink did not finish a batch. Transient failures are retried inside the sink; these
/// are what is left when it stops retrying.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Transient failures used up `max_attempts`.
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: usize,
        /// The last failure.
        last: String,
    },
    /// The batch was abandoned (drain timeout after shutdown).
    #[error("abandoned")]
    Abandoned,
}

/// A destination for indicators.
pub trait Sink: Send + Sync {
    /// Short name for metrics and logs (`http`, `file`).
    fn name(&self) -> &'static str;

    /// Delivers `batch`, retrying transient failures until they succeed, attempts run out, or
    /// `abandon` is cancelled.
    ///
    /// # Errors
    /// [`SinkError`] when the batch was not delivered; no record of it counts as accepted.
    fn deliver<'a>(
        &'a self,
        batch: &'a [Indicator],
        abandon: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Delivery, SinkError>>;
}
