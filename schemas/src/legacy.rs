//! Rust shapes of older indicator schema versions, as an older release wrote them.
//!
//! Nothing in the pipeline writes these; they exist so that compatibility tests (the codec's
//! own, and the broker tests) can produce real old-version records with
//! [`crate::Codec::encode_version`] and check that today's readers still take them.

use serde::{Deserialize, Serialize};

use crate::codec::{AvroRecord, RecordKind};
use crate::records::Indicator;

/// An indicator in schema version 1 (`indicator.v1.avsc`): no `valid_until_ms`, `references`,
/// `value_unicode`, `status` or `flags`. Fields mean what they mean in [`Indicator`].
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorV1 {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub port: Option<i32>,
    pub source: String,
    pub source_ref: Option<String>,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    pub confidence: Option<i32>,
    pub tlp: String,
    pub tags: Vec<String>,
    pub threat_types: Vec<String>,
    pub malware_families: Vec<String>,
    pub fetch_id: String,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub normalized_at_ms: i64,
}

impl AvroRecord for IndicatorV1 {
    const KIND: RecordKind = RecordKind::Indicator;
}

/// An indicator in schema version 2 (`indicator.v2.avsc`): version 1 plus `valid_until_ms`
/// and `references`.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorV2 {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub port: Option<i32>,
    pub source: String,
    pub source_ref: Option<String>,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    pub confidence: Option<i32>,
    pub tlp: String,
    pub tags: Vec<String>,
    pub threat_types: Vec<String>,
    pub malware_families: Vec<String>,
    pub fetch_id: String,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub normalized_at_ms: i64,
    pub valid_until_ms: Option<i64>,
    pub references: Vec<String>,
}

impl AvroRecord for IndicatorV2 {
    const KIND: RecordKind = RecordKind::Indicator;
}

impl From<&Indicator> for IndicatorV1 {
    /// Keeps the fields version 1 has and drops the newer ones.
    fn from(i: &Indicator) -> IndicatorV1 {
        IndicatorV1 {
            id: i.id.clone(),
            kind: i.kind.clone(),
            value: i.value.clone(),
            port: i.port,
            source: i.source.clone(),
            source_ref: i.source_ref.clone(),
            first_seen_ms: i.first_seen_ms,
            last_seen_ms: i.last_seen_ms,
            confidence: i.confidence,
            tlp: i.tlp.clone(),
            tags: i.tags.clone(),
            threat_types: i.threat_types.clone(),
            malware_families: i.malware_families.clone(),
            fetch_id: i.fetch_id.clone(),
            raw_topic: i.raw_topic.clone(),
            raw_partition: i.raw_partition,
            raw_offset: i.raw_offset,
            normalized_at_ms: i.normalized_at_ms,
        }
    }
}

impl From<&Indicator> for IndicatorV2 {
    /// Keeps the fields version 2 has and drops the newer ones.
    fn from(i: &Indicator) -> IndicatorV2 {
        IndicatorV2 {
            id: i.id.clone(),
            kind: i.kind.clone(),
            value: i.value.clone(),
            port: i.port,
            source: i.source.clone(),
            source_ref: i.source_ref.clone(),
            first_seen_ms: i.first_seen_ms,
            last_seen_ms: i.last_seen_ms,
            confidence: i.confidence,
            tlp: i.tlp.clone(),
            tags: i.tags.clone(),
            threat_types: i.threat_types.clone(),
            malware_families: i.malware_families.clone(),
            fetch_id: i.fetch_id.clone(),
            raw_topic: i.raw_topic.clone(),
            raw_partition: i.raw_partition,
            raw_offset: i.raw_offset,
            normalized_at_ms: i.normalized_at_ms,
            valid_until_ms: i.valid_until_ms,
            references: i.references.clone(),
        }
    }
}
