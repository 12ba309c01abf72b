//! The error type of the admin commands, with the retriable/permanent split.
//!
//! Every admin command returns [`AdminError`]; the command's `run` turns configuration errors
//! into exit code 2 (like the binaries do) and everything else into exit code 1.

use std::path::PathBuf;

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The broker connection settings are missing or invalid.
    #[error("{0}")]
    Config(String),
    /// The topics file cannot be read or is invalid.
    #[error("topics file {path}: {message}")]
    TopicsFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The command line asks for something that cannot be done (for example a partition the
    /// topic does not have).
    #[error("{0}")]
    Usage(String),
    /// A broker call failed.
    #[error("{operation} failed: {error}")]
    Kafka {
        /// What the command was doing.
        operation: String,
        /// The client error.
        error: KafkaError,
    },
    /// The broker answered, but not the way the command needs.
    #[error("{0}")]
    Broker(String),
}

impl AdminError {
    /// Wraps a client error with what the command was doing.
    pub(crate) fn kafka(operation: impl Into<String>, error: KafkaError) -> AdminError {
        AdminError::Kafka {
            operation: operation.into(),
            error,
        }
    }

    /// Whether running the same command again may succeed (a broker that is down, a timeout,
    /// a coordinator that moved). Configuration, file and usage errors are permanent.
    pub fn is_retriable(&self) -> bool {
        match self {
            AdminError::Kafka { error, .. } => match error.rdkafka_error_code() {
                Some(code) => matches!(
                    code,
                    RDKafkaErrorCode::BrokerTransportFailure
                        | RDKafkaErrorCode::AllBrokersDown
                        | RDKafkaErrorCode::OperationTimedOut
                        | RDKafkaErrorCode::RequestTimedOut
                        | RDKafkaErrorCode::CoordinatorLoadInProgress
                        | RDKafkaErrorCode::CoordinatorNotAvailable
                        | RDKafkaErrorCode::NotCoordinator
                        | RDKafkaErrorCode::LeaderNotAvailable
                        | RDKafkaErrorCode::NotLeaderForPartition
                        | RDKafkaErrorCode::NetworkException
                        | RDKafkaErrorCode::RebalanceInProgress
                ),
                None => false,
            },
            AdminError::Broker(_) => true,
            AdminError::Config(_) | AdminError::TopicsFile { .. } | AdminError::Usage(_) => false,
        }
    }

    /// The process exit code for this error: 2 for configuration and usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Config(_) | AdminError::TopicsFile { .. } | AdminError::Usage(_) => 2,
            AdminError::Kafka { .. } | AdminError::Broker(_) => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_retriable_and_config_errors_are_not() {
        let timeout = AdminError::kafka(
            "fetching metadata",
            KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut),
        );
        assert!(timeout.is_retriable());
        assert_eq!(timeout.exit_code(), 1);

        let config = AdminError::Config("no broker".into());
        assert!(!config.is_retriable());
        assert_eq!(config.exit_code(), 2);
    }
}
