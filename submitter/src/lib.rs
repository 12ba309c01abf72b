//! iocflow's submitter stage: reads normalized indicators from the indicators topic in a consumer
//! group, delivers them in batches to the intelligence platform's HTTP JSON API and/or a local
//! JSON-lines file, and dead-letters what the platform rejects for good. Offsets are stored only
//! after every sink acknowledged a batch and its dead letters are acknowledged by the broker.
//!
//! Layout:
//! - [`config`]: the `[submitter]` config sections and their validation into [`Settings`].
//! - [`batch`]: collecting and decoding a batch from the consumer.
//! - [`sinks`]: the [`sinks::Sink`] trait, the HTTP sink and the file sink.
//! - [`dead_letters`]: the submit dead-letter topic.
//! - [`consumer`]: the loop, where offsets are stored, pausing during long retries.
//! - [`events`]: every log line and metric of the stage.
//! - [`error`]: the crate's error type.

pub mod batch;
pub mod config;
pub mod consumer;
pub mod dead_letters;
pub mod error;
mod events;
pub mod sinks;

use std::sync::Arc;

use iocflow_service::ops::Health;
use rdkafka::consumer::Consumer;
use tokio_util::sync::CancellationToken;

pub use config::{Config, Settings};
pub use error::SubmitError;

use crate::consumer::SubmitLoop;
use crate::dead_letters::DeadLetterWriter;
use crate::sinks::file::FileSink;
use crate::sinks::http::HttpSink;
use crate::sinks::Sink;

/// Runs the submitter until `shutdown` is cancelled, then drains (bounded by
/// `drain_timeout`) and commits the stored offsets. `health` is set ready once the consumer is
/// subscribed, and not ready while the platform refuses the credentials.
///
/// # Errors
/// [`SubmitError`] when a client or sink cannot be set up, when a sink gives up on a batch
/// (`max_attempts` used up), or when a dead letter is not acknowledged. Offsets of the failed
/// batch are not stored, so a restart delivers it again.
pub async fn run(
    settings: Settings,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> Result<(), SubmitError> {
    let client_id = format!("iocflow-submitter-{}", std::process::id());

    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(http) = settings.http.clone() {
        sinks.push(Box::new(HttpSink::new(http, health.clone())?));
    }
    if let Some(dir) = &settings.file_dir {
        sinks.push(Box::new(FileSink::open(dir)?));
    }

    let producer = settings
        .kafka
        .producer(&client_id)
        .map_err(SubmitError::Client)?;
    let dead_letters = DeadLetterWriter::new(producer, settings.kafka.topics.dlq_submit.clone());
    let consumer = settings
        .kafka
        .consumer(&settings.group_id, &client_id)
        .map_err(SubmitError::Client)?;
    consumer
        .subscribe(&[settings.kafka.topics.indicators.as_str()])
        .map_err(SubmitError::Client)?;

    SubmitLoop::new(settings, Arc::new(consumer), dead_letters, sinks, health)
        .run(shutdown)
        .await
}
