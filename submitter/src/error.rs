//! The submitter's error type: what can stop the consumer loop, split into transient failures
//! (a restart, or waiting, will fix them) and permanent ones (the configuration must change).

use rdkafka::error::KafkaError;

/// Why the submitter stopped, or why a step of it failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// A Kafka client could not be created, or subscribing failed.
    #[error("kafka client: {0}")]
    Client(#[source] KafkaError),
    /// A dead letter was not acknowledged by the broker.
    #[error("dead letter for {topic}/{partition}@{offset} not acknowledged: {error}")]
    DeadLetter {
        /// Topic of the original record.
        topic: String,
        /// Partition of the original record.
        partition: i32,
        /// Offset of the original record.
        offset: i64,
        /// The producer error.
        #[source]
        error: KafkaError,
    },
    /// A dead letter could not be encoded.
    #[error("dead letter for {topic}/{partition}@{offset} cannot be encoded: {message}")]
    Encode {
        /// Topic of the original record.
        topic: String,
        /// Partition of the original record.
        partition: i32,
        /// Offset of the original record.
        offset: i64,
        /// The codec's message.
        message: String,
    },
    /// A sink gave up on a batch after its transient failures ran out of attempts.
    #[error("sink {sink} gave up on a batch: {message}")]
    SinkGaveUp {
        /// Sink name (`http` or `file`).
        sink: &'static str,
        /// The last failure.
        message: String,
    },
    /// A sink could not be set up (for example the file sink's directory).
    #[error("sink {sink} cannot start: {message}")]
    SinkSetup {
        /// Sink name.
        sink: &'static str,
        /// What failed.
        message: String,
    },
}

impl SubmitError {
    /// Whether a restart of the process (which re-reads from the committed offsets) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            SubmitError::DeadLetter { .. } | SubmitError::SinkGaveUp { .. } => true,
            SubmitError::Client(_) | SubmitError::Encode { .. } | SubmitError::SinkSetup { .. } => {
                false
            }
        }
    }
}
