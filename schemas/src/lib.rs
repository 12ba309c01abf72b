//! Data contracts shared by every iocflow stage.
//!
//! Layout:
//! - [`records`]: the Rust types of the Avro records (raw record, indicator, dead letter,
//!   fetch state). Their schemas live in `schemas/avro/*.avsc`, one file per version.
//! - [`codec`]: the one codec that turns those types into self-describing Avro bytes and back,
//!   resolving records written with an older schema version.
//! - [`legacy`]: shapes of older indicator versions, for compatibility tests.
//! - [`binary`]: hand-written Avro datums of the newest versions, the codec's fast path.
//! - [`spec`]: the declarative integration spec format (`spec.toml` of each integration), read
//!   by the fetcher (request, auth, pagination, framing) and the normalizer (mapping).

pub mod binary;
pub mod codec;
pub mod legacy;
pub mod records;
pub mod spec;

pub use codec::{codec, Codec, CodecError};
pub use records::{DeadLetter, FetchState, Indicator, IndicatorRef, RawRecord, RawRecordRef};
