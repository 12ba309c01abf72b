//! The iocflow normalizer: raw records in, canonical indicators (or dead letters) out.
//!
//! It sits between the fetcher and the submitter: a consumer group on the raw topic turns each
//! raw record into an [`Indicator`] on the indicators topic, keyed by its deterministic id, or
//! into a dead letter with the reason; offsets are stored only after the output is acknowledged.
//!
//! Layout:
//! - [`normalize`]: the pure per-record function (no I/O), used by the stage and by the
//!   integration conformance tests;
//! - [`mapping`]: reading fields by framing and applying an integration's `[mapping]`;
//! - [`canonical`]: one canonicalizer per indicator type family, plus refanging;
//! - [`identity`]: deterministic STIX 2.1 ids;
//! - [`catalog`]: the loaded integration specs;
//! - [`error`]: the per-record error kinds and the stage errors;
//! - [`config`]: the `[normalizer]` config and its validation;
//! - [`consumer`]: the stage loop (batching, delivery, offsets, drain);
//! - [`dead_letters`]: building dead letters and their headers;
//! - [`events`]: the one place that logs and counts what happens to records;
//! - [`lag`]: the consumer-lag gauge;
//! - [`views`]: the indicator as STIX 2.1 objects and as an ECS document.

pub mod canonical;
pub mod catalog;
pub mod config;
pub mod consumer;
pub mod dead_letters;
pub mod error;
pub mod events;
pub mod identity;
pub mod lag;
pub mod mapping;
pub mod views;

use iocflow_schemas::spec::IntegrationSpec;
use iocflow_schemas::{Indicator, RawRecordRef};

pub use catalog::Catalog;
pub use error::{ErrorKind, NormalizeError, StageError};

/// Where a raw record was read from; copied into the indicator or the dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Topic of the raw record.
    pub topic: String,
    /// Partition of the raw record.
    pub partition: i32,
    /// Offset of the raw record.
    pub offset: i64,
}

/// What a raw record became.
// The variant shapes are the contract in docs/CONTRACTS.md; an indicator is moved once per
// record, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized {
    /// A canonical indicator.
    Indicator(Indicator),
    /// A counted skip (the spec's `mapping.skip_when` matched).
    Skipped {
        /// Why it was skipped: always `skip_when` (a stable value, usable in `expected.jsonl`
        /// as `{"skip_normalize": "skip_when"}`).
        reason: String,
    },
}

/// Normalizes one raw record with its integration's spec. Pure: no I/O, no clock (`now_ms` is
/// the normalization time, used for `normalized_at_ms` and as the base of `valid_until_ms` when
/// the source gives no time).
///
/// # Errors
/// A [`NormalizeError`] whose [`ErrorKind`] says why the record cannot become an indicator:
/// `schema_mismatch` when the record's source or framing is not the spec's, `unparseable`,
/// `missing_field`, `invalid_value`, `unsupported_type` or `too_large` from the mapping.
pub fn normalize<'r>(
    spec: &IntegrationSpec,
    raw: impl Into<RawRecordRef<'r>>,
    origin: &Origin,
    now_ms: i64,
) -> Result<Normalized, NormalizeError> {
    let raw = raw.into();
    check_source(spec, &raw)?;
    mapping::map_record(spec, &raw, origin, now_ms)
}

/// [`normalize`] without building the owned [`Indicator`]: the parts, borrowed where they can
/// be, for the stage to encode directly; `None` for a `skip_when` skip. The same checks and the
/// same indicator (`Mapped::view().to_indicator()` equals what [`normalize`] returns).
///
/// # Errors
/// As [`normalize`].
pub fn normalize_parts<'a>(
    spec: &'a IntegrationSpec,
    raw: &RawRecordRef<'a>,
    origin: &'a Origin,
    now_ms: i64,
) -> Result<Option<mapping::Mapped<'a>>, NormalizeError> {
    check_source(spec, raw)?;
    mapping::map_parts(spec, raw, origin, now_ms)
}

fn check_source(spec: &IntegrationSpec, raw: &RawRecordRef<'_>) -> Result<(), NormalizeError> {
    if raw.source == spec.name {
        return Ok(());
    }
    Err(NormalizeError::new(
        ErrorKind::SchemaMismatch,
        format!(
            "record of source {:?} given the spec of {:?}",
            raw.source, spec.name
        ),
    ))
}
