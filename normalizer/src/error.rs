//! Errors of the normalizer: the per-record [`NormalizeError`] (a record that cannot become an
//! indicator, which ends as a dead letter) and the stage-level [`StageError`] (what stops the
//! process or makes it retry).
//!
//! Every per-record error is permanent: normalizing the same bytes again gives the same answer,
//! so such a record is dead-lettered, never retried. Stage errors are split into retriable ones
//! (broker trouble) and permanent ones (bad configuration or catalog).

use std::fmt;

use iocflow_schemas::CodecError;

/// Why a record could not be normalized; the stable names go into dead letters and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes are not what the framing says (broken CSV row, JSON or UTF-8, undecodable
    /// Avro).
    Unparseable,
    /// A field the mapping needs is absent or empty.
    MissingField,
    /// A field is present but its value is not valid (bad address, URL, time, port...).
    InvalidValue,
    /// The item's type is not one the normalizer knows, or the source's type name is not in the
    /// spec's `type_map`.
    UnsupportedType,
    /// A value is longer than the normalizer accepts.
    TooLarge,
    /// The record does not fit the catalog or the schema (unknown source, wrong framing, unknown
    /// writer schema).
    SchemaMismatch,
    /// Normalizing the record panicked; the panic was caught and the record dead-lettered.
    Panic,
}

impl ErrorKind {
    /// The stable name used in dead letters, headers and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unparseable => "unparseable",
            ErrorKind::MissingField => "missing_field",
            ErrorKind::InvalidValue => "invalid_value",
            ErrorKind::UnsupportedType => "unsupported_type",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::SchemaMismatch => "schema_mismatch",
            ErrorKind::Panic => "panic",
        }
    }

    /// The kind of a record that failed codec decoding: an unknown or foreign writer schema is a
    /// `schema_mismatch`, anything else (no marker, corrupt datum) is `unparseable`.
    pub fn from_codec(error: &CodecError) -> ErrorKind {
        match error.kind() {
            "schema_mismatch" => ErrorKind::SchemaMismatch,
            _ => ErrorKind::Unparseable,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record that cannot become an indicator. Always permanent: it goes to the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct NormalizeError {
    /// The stable error kind.
    pub kind: ErrorKind,
    /// A human-readable reason (names the field; never a secret).
    pub message: String,
}

impl NormalizeError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> NormalizeError {
        NormalizeError {
            kind,
            message: message.into(),
        }
    }

    /// Whether retrying could help: never, the same bytes always fail the same way.
    pub fn is_retriable(&self) -> bool {
        false
    }
}

/// What stops the normalizer stage (as opposed to a single bad record).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// A configuration value is unusable; names the key.
    #[error("config key `{key}`: {message}")]
    Config {
        /// Dotted key path.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The integration catalog could not be loaded.
    #[error("integration catalog: {0}")]
    Catalog(#[from] iocflow_schemas::spec::SpecError),
    /// A Kafka client operation failed.
    #[error("kafka {operation} failed: {error}")]
    Kafka {
        /// What was attempted (`create consumer`, `subscribe`, `store offsets`...).
        operation: &'static str,
        /// The client error.
        error: rdkafka::error::KafkaError,
    },
    /// The task normalizing a batch failed outside the per-record panic guard (a bug). The
    /// stage stops without storing that batch's offsets, so its records are read again.
    #[error("normalizing a batch of {records} records failed: {message}")]
    Batch {
        /// Records in the batch.
        records: usize,
        /// The task's failure.
        message: String,
    },
}

impl StageError {
    /// Whether restarting the stage could help (broker trouble) or not (bad config, catalog).
    pub fn is_retriable(&self) -> bool {
        matches!(self, StageError::Kafka { .. })
    }

    pub(crate) fn kafka(operation: &'static str, error: rdkafka::error::KafkaError) -> StageError {
        StageError::Kafka { operation, error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_the_contract_names() {
        let all = [
            (ErrorKind::Unparseable, "unparseable"),
            (ErrorKind::MissingField, "missing_field"),
            (ErrorKind::InvalidValue, "invalid_value"),
            (ErrorKind::UnsupportedType, "unsupported_type"),
            (ErrorKind::TooLarge, "too_large"),
            (ErrorKind::SchemaMismatch, "schema_mismatch"),
            (ErrorKind::Panic, "panic"),
        ];
        for (kind, name) in all {
            assert_eq!(kind.as_str(), name);
        }
    }

    #[test]
    fn codec_failures_map_to_contract_kinds() {
        let codec = iocflow_schemas::codec();
        let err = codec
            .decode::<iocflow_schemas::RawRecord>(b"garbage bytes")
            .unwrap_err();
        assert_eq!(ErrorKind::from_codec(&err), ErrorKind::Unparseable);
        let state = codec
            .encode(&iocflow_schemas::FetchState::default())
            .unwrap();
        let err = codec
            .decode::<iocflow_schemas::RawRecord>(&state)
            .unwrap_err();
        assert_eq!(ErrorKind::from_codec(&err), ErrorKind::SchemaMismatch);
    }
}
