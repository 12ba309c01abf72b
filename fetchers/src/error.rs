//! The fetcher's error type, with the retriable/permanent split.
//!
//! Errors never carry a secret: HTTP errors are stripped of their URL (which may hold an auth
//! query parameter) and name the integration instead.

use std::time::Duration;

use crate::framing::FramingError;

/// Why a fetch run, the start-up, or the drain failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The configuration or the catalog is not usable (names the key).
    #[error("config key `{key}`: {message}")]
    Config {
        /// Dotted key, e.g. `integrations.urlhaus.base_url`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The environment variable named by `auth.secret_env` is not set.
    #[error("integration {source_id}: environment variable {env} (auth.secret_env) is not set")]
    MissingSecret {
        /// Integration name.
        source_id: String,
        /// The variable's name (never its value).
        env: String,
    },
    /// The request could not be sent or the body not read (connect error, timeout, reset).
    #[error("integration {source_id}: request to {url} failed: {message}")]
    Transport {
        /// Integration name.
        source_id: String,
        /// The URL without secret query parameters.
        url: String,
        /// The client error, without its URL.
        message: String,
        /// Whether it was a timeout or a connect error (worth another attempt).
        retriable: bool,
    },
    /// The source answered with an HTTP status that is not a success.
    #[error("integration {source_id}: {url} answered HTTP {status}")]
    HttpStatus {
        /// Integration name.
        source_id: String,
        /// The URL without secret query parameters.
        url: String,
        /// The status code.
        status: u16,
        /// The `Retry-After` delay the source asked for, if any.
        retry_after: Option<Duration>,
    },
    /// The body could not be cut into items.
    #[error("integration {source_id}: {error}")]
    Framing {
        /// Integration name.
        source_id: String,
        /// The framing error.
        error: FramingError,
    },
    /// A next-page link or cursor could not be turned into a URL, or pagination ran away.
    #[error("integration {source_id}: pagination: {message}")]
    Pagination {
        /// Integration name.
        source_id: String,
        /// What went wrong.
        message: String,
    },
    /// A Kafka operation failed.
    #[error("kafka {operation} on topic {topic}: {message}")]
    Kafka {
        /// What was being done (`produce`, `load fetch state`, ...).
        operation: &'static str,
        /// The topic.
        topic: String,
        /// librdkafka's message.
        message: String,
    },
    /// A record could not be encoded.
    #[error("encoding a {what} record: {message}")]
    Codec {
        /// Record type.
        what: &'static str,
        /// Codec message.
        message: String,
    },
    /// Shutdown began while the run was in flight; it stopped at the next item.
    #[error("integration {source_id}: interrupted by shutdown")]
    Interrupted {
        /// Integration name.
        source_id: String,
    },
}

impl FetchError {
    /// Whether the same operation may succeed if tried again soon (within a run for HTTP, on
    /// the next tick otherwise). Permanent errors need a fix of the config, the spec or the
    /// source.
    pub fn is_retriable(&self) -> bool {
        match self {
            FetchError::Transport { retriable, .. } => *retriable,
            FetchError::HttpStatus { status, .. } => {
                crate::http::retry::is_retriable_status(*status)
            }
            FetchError::Kafka { .. } | FetchError::Interrupted { .. } => true,
            FetchError::Config { .. }
            | FetchError::MissingSecret { .. }
            | FetchError::Framing { .. }
            | FetchError::Pagination { .. }
            | FetchError::Codec { .. } => false,
        }
    }

    /// A short, stable name of the error for logs (`error_type` field).
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Config { .. } => "config",
            FetchError::MissingSecret { .. } => "missing_secret",
            FetchError::Transport { .. } => "transport",
            FetchError::HttpStatus { .. } => "http_status",
            FetchError::Framing { .. } => "framing",
            FetchError::Pagination { .. } => "pagination",
            FetchError::Kafka { .. } => "kafka",
            FetchError::Codec { .. } => "codec",
            FetchError::Interrupted { .. } => "interrupted",
        }
    }
}
