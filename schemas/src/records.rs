//! Rust types of the Avro records exchanged between stages.
//!
//! Each type matches the newest `.avsc` version of its record in `schemas/avro/`; the codec
//! checks that at start-up (a mismatch fails `Codec::new`). Timestamps are milliseconds since the
//! Unix epoch, UTC, as `i64`.

use serde::{Deserialize, Serialize};

use crate::binary;
use crate::codec::{AvroRecord, CodecError, RecordKind};

/// One source item exactly as the source sent it (raw topic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawRecord {
    /// Integration name, as in its spec file.
    pub source: String,
    /// UUID of the fetch run that produced this record.
    pub fetch_id: String,
    /// When the fetch run started (ms since epoch).
    pub fetched_at_ms: i64,
    /// Position of the item in the fetch run, counting every framed item from 0.
    pub sequence: i64,
    /// How the payload was cut from the response: `csv_row`, `json_value` or `text_line`.
    pub framing: String,
    /// The item's bytes, untouched.
    #[serde(with = "serde_bytes_vec")]
    pub payload: Vec<u8>,
    /// The URL the item came from, without secret query parameters.
    pub request_url: String,
}

/// A [`RawRecord`] that borrows its strings and payload, from the encoded bytes
/// ([`crate::Codec::decode_raw_ref`]) or from an owned record ([`RawRecord::view`]). The
/// normalizer reads raw records this way so that decoding one copies nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecordRef<'a> {
    /// Integration name, as in its spec file.
    pub source: &'a str,
    /// UUID of the fetch run that produced this record.
    pub fetch_id: &'a str,
    /// When the fetch run started (ms since epoch).
    pub fetched_at_ms: i64,
    /// Position of the item in the fetch run.
    pub sequence: i64,
    /// How the payload was cut from the response.
    pub framing: &'a str,
    /// The item's bytes, untouched.
    pub payload: &'a [u8],
    /// The URL the item came from.
    pub request_url: &'a str,
}

impl RawRecord {
    /// The record as a [`RawRecordRef`].
    pub fn view(&self) -> RawRecordRef<'_> {
        RawRecordRef {
            source: &self.source,
            fetch_id: &self.fetch_id,
            fetched_at_ms: self.fetched_at_ms,
            sequence: self.sequence,
            framing: &self.framing,
            payload: &self.payload,
            request_url: &self.request_url,
        }
    }
}

impl<'a> From<&'a RawRecord> for RawRecordRef<'a> {
    fn from(raw: &'a RawRecord) -> Self {
        raw.view()
    }
}

impl AvroRecord for RawRecord {
    const KIND: RecordKind = RecordKind::RawRecord;
    const FAST_VERSION: Option<u32> = Some(binary::RAW_RECORD_VERSION);

    fn write_datum(&self, out: &mut Vec<u8>) -> bool {
        binary::write_raw_record(self, out);
        true
    }

    fn datum_len_hint(&self) -> usize {
        binary::raw_record_len(self)
    }

    fn read_datum(datum: &[u8]) -> Option<Result<Self, CodecError>> {
        Some(binary::read_raw_record(datum).map_err(|e| CodecError::Avro(e.to_string())))
    }
}

/// A canonical, validated indicator (indicators topic, keyed by `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Deterministic id (`<stix type>--<UUIDv5>`), the same for the same observable everywhere.
    pub id: String,
    /// Indicator type, e.g. `ipv4`, `domain`, `url`, `sha256`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Canonical value.
    pub value: String,
    /// Port for ip:port indicators.
    pub port: Option<i32>,
    /// Integration name.
    pub source: String,
    /// The source's own id or link for the item.
    pub source_ref: Option<String>,
    /// First seen by the source (ms since epoch).
    pub first_seen_ms: Option<i64>,
    /// Last seen by the source (ms since epoch).
    pub last_seen_ms: Option<i64>,
    /// Confidence, 0-100.
    pub confidence: Option<i32>,
    /// TLP 2.0 marking: `clear`, `green`, `amber`, `amber+strict`, `red`.
    pub tlp: String,
    /// Free-form tags from the source.
    pub tags: Vec<String>,
    /// Threat types (e.g. `malware_download`, `botnet_cc`, `phishing`).
    pub threat_types: Vec<String>,
    /// Malware families.
    pub malware_families: Vec<String>,
    /// The fetch run the raw record came from.
    pub fetch_id: String,
    /// Topic of the raw record.
    pub raw_topic: String,
    /// Partition of the raw record.
    pub raw_partition: i32,
    /// Offset of the raw record.
    pub raw_offset: i64,
    /// When the normalizer produced this indicator (ms since epoch).
    pub normalized_at_ms: i64,
    /// Expiry (ms since epoch). Added in schema version 2.
    #[serde(default)]
    pub valid_until_ms: Option<i64>,
    /// Links to reports about the indicator. Added in schema version 2.
    #[serde(default)]
    pub references: Vec<String>,
    /// Unicode form of an IDNA value (domain, URL host, email domain) when it differs from the
    /// punycode `value`. Added in schema version 3.
    #[serde(default)]
    pub value_unicode: Option<String>,
    /// Lifecycle: `active`, `revoked` (the source withdrew it) or `expired` (`valid_until_ms` is
    /// in the past when normalized). Added in schema version 3; records written before it read
    /// as `active`.
    #[serde(default = "default_status")]
    pub status: String,
    /// Caveats of an indicator that was kept anyway, e.g. `private_address` or
    /// `reserved_address` when the integration keeps non-public addresses. Added in schema
    /// version 3.
    #[serde(default)]
    pub flags: Vec<String>,
}

/// An [`Indicator`] as borrowed parts, field for field: what the normalizer encodes without
/// first building the owned record (its strings mostly point into the raw record, the spec and
/// static tables). [`crate::Codec::encode_indicator`] writes exactly the bytes that
/// [`crate::Codec::encode`] writes for the equivalent `Indicator`. `F` is the type of the flags
/// (`&'static str` in the normalizer, `String` in a view of an owned indicator), `L` the type of
/// the list elements (tags, threat types, malware families, references: `Cow<str>` in the
/// normalizer, which borrows the spec's constants and the record's JSON strings).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy)]
pub struct IndicatorRef<'a, F: AsRef<str> = String, L: AsRef<str> = String> {
    pub id: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub port: Option<i32>,
    pub source: &'a str,
    pub source_ref: Option<&'a str>,
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    pub confidence: Option<i32>,
    pub tlp: &'a str,
    pub tags: &'a [L],
    pub threat_types: &'a [L],
    pub malware_families: &'a [L],
    pub fetch_id: &'a str,
    pub raw_topic: &'a str,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub normalized_at_ms: i64,
    pub valid_until_ms: Option<i64>,
    pub references: &'a [L],
    pub value_unicode: Option<&'a str>,
    pub status: &'a str,
    pub flags: &'a [F],
}

impl Indicator {
    /// The indicator as borrowed parts.
    pub fn view(&self) -> IndicatorRef<'_> {
        IndicatorRef {
            id: &self.id,
            kind: &self.kind,
            value: &self.value,
            port: self.port,
            source: &self.source,
            source_ref: self.source_ref.as_deref(),
            first_seen_ms: self.first_seen_ms,
            last_seen_ms: self.last_seen_ms,
            confidence: self.confidence,
            tlp: &self.tlp,
            tags: &self.tags,
            threat_types: &self.threat_types,
            malware_families: &self.malware_families,
            fetch_id: &self.fetch_id,
            raw_topic: &self.raw_topic,
            raw_partition: self.raw_partition,
            raw_offset: self.raw_offset,
            normalized_at_ms: self.normalized_at_ms,
            valid_until_ms: self.valid_until_ms,
            references: &self.references,
            value_unicode: self.value_unicode.as_deref(),
            status: &self.status,
            flags: &self.flags,
        }
    }
}

impl<F: AsRef<str>, L: AsRef<str>> IndicatorRef<'_, F, L> {
    /// The owned indicator.
    pub fn to_indicator(&self) -> Indicator {
        Indicator {
            id: self.id.to_owned(),
            kind: self.kind.to_owned(),
            value: self.value.to_owned(),
            port: self.port,
            source: self.source.to_owned(),
            source_ref: self.source_ref.map(str::to_owned),
            first_seen_ms: self.first_seen_ms,
            last_seen_ms: self.last_seen_ms,
            confidence: self.confidence,
            tlp: self.tlp.to_owned(),
            tags: owned(self.tags),
            threat_types: owned(self.threat_types),
            malware_families: owned(self.malware_families),
            fetch_id: self.fetch_id.to_owned(),
            raw_topic: self.raw_topic.to_owned(),
            raw_partition: self.raw_partition,
            raw_offset: self.raw_offset,
            normalized_at_ms: self.normalized_at_ms,
            valid_until_ms: self.valid_until_ms,
            references: owned(self.references),
            value_unicode: self.value_unicode.map(str::to_owned),
            status: self.status.to_owned(),
            flags: self.flags.iter().map(|f| f.as_ref().to_owned()).collect(),
        }
    }
}

fn owned<L: AsRef<str>>(list: &[L]) -> Vec<String> {
    list.iter().map(|s| s.as_ref().to_owned()).collect()
}

/// Status of an indicator whose record predates schema version 3.
fn default_status() -> String {
    "active".to_owned()
}

impl AvroRecord for Indicator {
    const KIND: RecordKind = RecordKind::Indicator;
    const FAST_VERSION: Option<u32> = Some(binary::INDICATOR_VERSION);

    fn write_datum(&self, out: &mut Vec<u8>) -> bool {
        binary::write_indicator(&self.view(), out);
        true
    }

    fn datum_len_hint(&self) -> usize {
        binary::indicator_len(&self.view())
    }
}

/// A record a stage could not process (dead-letter topics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// `normalize` or `submit`.
    pub stage: String,
    /// Integration name, or `unknown` when the record could not be decoded.
    pub source: String,
    /// Stable error kind (see the README's dead-letter section).
    pub error_kind: String,
    /// Human-readable reason.
    pub error_message: String,
    /// Topic the failed record was read from.
    pub original_topic: String,
    /// Partition the failed record was read from.
    pub original_partition: i32,
    /// Offset of the failed record.
    pub original_offset: i64,
    /// Key of the failed record.
    #[serde(with = "serde_bytes_opt")]
    pub original_key: Option<Vec<u8>>,
    /// Value of the failed record, byte for byte.
    #[serde(with = "serde_bytes_vec")]
    pub original_value: Vec<u8>,
    /// When the stage gave up on the record (ms since epoch).
    pub failed_at_ms: i64,
}

impl AvroRecord for DeadLetter {
    const KIND: RecordKind = RecordKind::DeadLetter;
    const FAST_VERSION: Option<u32> = Some(binary::DEAD_LETTER_VERSION);

    fn write_datum(&self, out: &mut Vec<u8>) -> bool {
        binary::write_dead_letter(self, out);
        true
    }

    fn datum_len_hint(&self) -> usize {
        binary::dead_letter_len(self)
    }
}

/// Where an integration's fetching stands (compacted fetch-state topic, keyed by source).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FetchState {
    /// Integration name.
    pub source: String,
    /// Incremental cursor for the next fetch.
    pub cursor: Option<String>,
    /// ETag of the last successful response, for conditional requests.
    pub etag: Option<String>,
    /// Last-Modified of the last successful response, for conditional requests.
    pub last_modified: Option<String>,
    /// Id of the last fetch run.
    pub last_fetch_id: Option<String>,
    /// When the last fetch run started (ms since epoch).
    pub last_attempt_at_ms: Option<i64>,
    /// When the last successful fetch run started (ms since epoch).
    pub last_success_at_ms: Option<i64>,
    /// Failed runs since the last success.
    pub consecutive_failures: i32,
    /// Reason of the last failure, without secrets.
    pub last_error: Option<String>,
    /// Items framed by the last successful run.
    pub records_last_fetch: i64,
}

impl AvroRecord for FetchState {
    const KIND: RecordKind = RecordKind::FetchState;
    const FAST_VERSION: Option<u32> = Some(binary::FETCH_STATE_VERSION);

    fn write_datum(&self, out: &mut Vec<u8>) -> bool {
        binary::write_fetch_state(self, out);
        true
    }
}

/// Serde adapter so `Vec<u8>` is written as Avro `bytes`, not an array of ints.
mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(serde_bytes_like::ByteBuf::deserialize(d)?.0)
    }

    pub(crate) mod serde_bytes_like {
        use serde::de::{Error, SeqAccess, Visitor};
        use serde::{Deserialize, Deserializer};
        use std::fmt;

        /// Owned bytes that accept every way a deserializer may hand them over.
        pub(crate) struct ByteBuf(pub(crate) Vec<u8>);

        impl<'de> Deserialize<'de> for ByteBuf {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = ByteBuf;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v.to_vec()))
                    }
                    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v))
                    }
                    fn visit_str<E: Error>(self, v: &str) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v.as_bytes().to_vec()))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
                        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                        while let Some(b) = seq.next_element::<u8>()? {
                            out.push(b);
                        }
                        Ok(ByteBuf(out))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
    }
}

/// Serde adapter for `Option<Vec<u8>>` as an Avro `["null","bytes"]` union.
mod serde_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::serde_bytes_vec::serde_bytes_like::ByteBuf;

    pub(crate) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&Bytes(b)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<ByteBuf>::deserialize(d)?.map(|b| b.0))
    }

    struct Bytes<'a>(&'a [u8]);

    impl serde::Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
}
