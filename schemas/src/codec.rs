//! The one codec for iocflow records: Avro single-object encoding.
//!
//! Every record is written as the two marker bytes `C3 01`, the 8-byte little-endian
//! CRC-64-AVRO (Rabin) fingerprint of the writer schema, then the Avro binary datum. A reader
//! looks the fingerprint up among every schema version shipped in `schemas/avro/` and resolves
//! the datum from that writer schema to the newest one, so records written by an older release
//! stay readable without a schema registry server.
//!
//! Records of the newest version take a fast path where the type has one: the hand-written
//! datum writers and readers of [`crate::binary`], byte-identical to apache-avro's. Everything
//! else (older writer versions, which need schema resolution, and types without a fast path)
//! goes through apache-avro's `Value` tree.

use std::collections::HashMap;
use std::sync::OnceLock;

use apache_avro::rabin::Rabin;
use apache_avro::{from_avro_datum, from_value, to_avro_datum, to_value, Schema};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::binary;
use crate::records::{Indicator, IndicatorRef, RawRecord, RawRecordRef};

/// The marker that opens an Avro single-object encoded record.
const MARKER: [u8; 2] = [0xC3, 0x01];
/// Marker plus fingerprint.
const HEADER_LEN: usize = 10;
/// Longest string, byte array or array (in items) a decoded record may hold: 16 MiB, well
/// above any item the fetcher frames (`max_item_bytes`, 1 MiB by default).
const MAX_AVRO_LENGTH: usize = 16 << 20;

/// Every schema version shipped with this build, oldest first within a kind.
const SCHEMAS: &[(RecordKind, u32, &str)] = &[
    (
        RecordKind::RawRecord,
        1,
        include_str!("../avro/raw_record.v1.avsc"),
    ),
    (
        RecordKind::Indicator,
        1,
        include_str!("../avro/indicator.v1.avsc"),
    ),
    (
        RecordKind::Indicator,
        2,
        include_str!("../avro/indicator.v2.avsc"),
    ),
    (
        RecordKind::Indicator,
        3,
        include_str!("../avro/indicator.v3.avsc"),
    ),
    (
        RecordKind::DeadLetter,
        1,
        include_str!("../avro/dead_letter.v1.avsc"),
    ),
    (
        RecordKind::FetchState,
        1,
        include_str!("../avro/fetch_state.v1.avsc"),
    ),
];

/// The kinds of record iocflow writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// [`crate::RawRecord`].
    RawRecord,
    /// [`crate::Indicator`].
    Indicator,
    /// [`crate::DeadLetter`].
    DeadLetter,
    /// [`crate::FetchState`].
    FetchState,
}

impl RecordKind {
    /// Position in [`Codec`]'s per-kind table.
    const fn index(self) -> usize {
        match self {
            RecordKind::RawRecord => 0,
            RecordKind::Indicator => 1,
            RecordKind::DeadLetter => 2,
            RecordKind::FetchState => 3,
        }
    }
}

/// Number of [`RecordKind`]s.
const KINDS: usize = 4;

/// A Rust type that the codec can write and read.
///
/// Only [`AvroRecord::KIND`] is required. A type may add a hand-written encoder and decoder of
/// its newest schema version (see [`crate::binary`]): it names that version in
/// [`AvroRecord::FAST_VERSION`] and overrides [`AvroRecord::write_datum`] and/or
/// [`AvroRecord::read_datum`]. The codec uses them only while `FAST_VERSION` is the newest
/// bundled version of the kind, so a new schema version falls back to apache-avro until the
/// hand-written code is updated.
pub trait AvroRecord: Serialize + DeserializeOwned {
    /// Which schema family the type belongs to.
    const KIND: RecordKind;

    /// The schema version the hand-written datum code implements, if the type has any.
    const FAST_VERSION: Option<u32> = None;

    /// Appends the Avro binary datum of `self` in schema version [`AvroRecord::FAST_VERSION`]
    /// to `out` and returns `true`; returns `false`, writing nothing, when the type has no
    /// hand-written encoder.
    fn write_datum(&self, _out: &mut Vec<u8>) -> bool {
        false
    }

    /// A bound of the size [`AvroRecord::write_datum`] writes, so the encoder allocates once;
    /// 0 when unknown.
    fn datum_len_hint(&self) -> usize {
        0
    }

    /// Reads a datum written in schema version [`AvroRecord::FAST_VERSION`]; `None` when the
    /// type has no hand-written decoder.
    ///
    /// # Errors
    /// [`CodecError::Avro`] when the datum is truncated or not valid for the schema.
    fn read_datum(_datum: &[u8]) -> Option<Result<Self, CodecError>>
    where
        Self: Sized,
    {
        None
    }
}

/// Why a record could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The bytes do not start with the single-object marker.
    #[error("not an Avro single-object record: missing C3 01 marker")]
    NotSingleObject,
    /// The fingerprint names no schema this build knows.
    #[error("unknown writer schema fingerprint {0:016x}")]
    UnknownSchema(u64),
    /// The fingerprint names a schema of another record type.
    #[error("record is a {found:?}, expected a {expected:?}")]
    WrongRecordType {
        /// What the caller asked for.
        expected: RecordKind,
        /// What the fingerprint says the record is.
        found: RecordKind,
    },
    /// The datum does not match its schema, or the value does not match the Rust type.
    #[error("avro: {0}")]
    Avro(String),
}

impl CodecError {
    /// A stable, short name of the error, for dead-letter headers and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            CodecError::NotSingleObject | CodecError::Avro(_) => "undecodable",
            CodecError::UnknownSchema(_) | CodecError::WrongRecordType { .. } => "schema_mismatch",
        }
    }
}

struct Version {
    kind: RecordKind,
    version: u32,
    schema: Schema,
}

/// Encoder/decoder holding every parsed schema version.
pub struct Codec {
    by_fingerprint: HashMap<u64, Version>,
    newest: HashMap<RecordKind, (u64, Schema)>,
    /// Fingerprint and version of the newest schema of each kind, by [`RecordKind::index`]:
    /// what the fast path checks per record without hashing.
    newest_ids: [Option<(u64, u32)>; KINDS],
}

/// The process-wide codec, parsed once.
///
/// # Panics
/// Panics if a bundled `.avsc` file does not parse; the test suite parses all of them, so this
/// cannot happen in a released build.
pub fn codec() -> &'static Codec {
    static CODEC: OnceLock<Codec> = OnceLock::new();
    #[allow(clippy::expect_used)]
    CODEC.get_or_init(|| Codec::new().expect("bundled Avro schemas parse"))
}

/// A buffer holding the single-object header (marker and fingerprint), with room for a datum of
/// about `datum_len` bytes after it.
fn header(fingerprint: u64, datum_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + datum_len);
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&fingerprint.to_le_bytes());
    out
}

impl Codec {
    /// Parses every bundled schema version.
    ///
    /// # Errors
    /// Returns [`CodecError::Avro`] if a bundled schema does not parse.
    pub fn new() -> Result<Codec, CodecError> {
        // Length prefixes come from untrusted bytes, and apache-avro reserves an array's announced
        // length up front: under its default cap (512 Mi) a 30-byte record could ask for tens of
        // GB and abort the process, which no catch_unwind survives (fuzz target codec_decode).
        apache_avro::util::max_allocation_bytes(MAX_AVRO_LENGTH);
        let mut by_fingerprint = HashMap::new();
        let mut newest: HashMap<RecordKind, (u64, Schema)> = HashMap::new();
        let mut newest_ids = [None; KINDS];

        for (kind, version, text) in SCHEMAS {
            let schema = Schema::parse_str(text).map_err(|e| CodecError::Avro(e.to_string()))?;
            let fp = fingerprint(&schema);
            newest.insert(*kind, (fp, schema.clone()));
            newest_ids[kind.index()] = Some((fp, *version));
            by_fingerprint.insert(
                fp,
                Version {
                    kind: *kind,
                    version: *version,
                    schema,
                },
            );
        }

        Ok(Codec {
            by_fingerprint,
            newest,
            newest_ids,
        })
    }

    /// The newest schema of a kind and its fingerprint.
    fn writer(&self, kind: RecordKind) -> Result<&(u64, Schema), CodecError> {
        self.newest
            .get(&kind)
            .ok_or_else(|| CodecError::Avro(format!("no schema for {kind:?}")))
    }

    /// Encodes a record with the newest schema of its kind.
    ///
    /// # Errors
    /// Returns [`CodecError::Avro`] when the value does not fit the schema.
    pub fn encode<T: AvroRecord>(&self, record: &T) -> Result<Vec<u8>, CodecError> {
        if let Some(fp) = self.fast_path::<T>() {
            let mut out = header(fp, record.datum_len_hint());
            if record.write_datum(&mut out) {
                return Ok(out);
            }
        }
        let (fp, schema) = self.writer(T::KIND)?;
        self.encode_with(record, *fp, schema)
    }

    /// Encodes an indicator given as borrowed parts: the same bytes as [`Codec::encode`] of the
    /// equivalent [`Indicator`], without building it.
    ///
    /// # Errors
    /// As [`Codec::encode`].
    pub fn encode_indicator<F: AsRef<str>, L: AsRef<str>>(
        &self,
        indicator: &IndicatorRef<'_, F, L>,
    ) -> Result<Vec<u8>, CodecError> {
        match self.fast_path::<Indicator>() {
            Some(fp) => {
                let mut out = header(fp, binary::indicator_len(indicator));
                binary::write_indicator(indicator, &mut out);
                Ok(out)
            }
            None => self.encode(&indicator.to_indicator()),
        }
    }

    /// The newest fingerprint of `T`'s kind when `T`'s hand-written datum code implements
    /// that newest version.
    fn fast_path<T: AvroRecord>(&self) -> Option<u64> {
        let (fp, version) = self.newest_ids[T::KIND.index()]?;
        (T::FAST_VERSION == Some(version)).then_some(fp)
    }

    /// Encodes a record with a named schema version (used to test old-writer compatibility).
    ///
    /// # Errors
    /// Returns [`CodecError::Avro`] when the version does not exist or the value does not fit.
    pub fn encode_version<T: AvroRecord>(
        &self,
        record: &T,
        version: u32,
    ) -> Result<Vec<u8>, CodecError> {
        let (fp, v) = self
            .by_fingerprint
            .iter()
            .find(|(_, v)| v.kind == T::KIND && v.version == version)
            .ok_or_else(|| CodecError::Avro(format!("no version {version} of {:?}", T::KIND)))?;
        self.encode_with(record, *fp, &v.schema)
    }

    fn encode_with<T: Serialize>(
        &self,
        record: &T,
        fp: u64,
        schema: &Schema,
    ) -> Result<Vec<u8>, CodecError> {
        let value = to_value(record).map_err(|e| CodecError::Avro(e.to_string()))?;
        let datum = to_avro_datum(schema, value).map_err(|e| CodecError::Avro(e.to_string()))?;
        let mut out = header(fp, datum.len());
        out.extend_from_slice(&datum);
        Ok(out)
    }

    /// Decodes a record written with any known version of its schema.
    ///
    /// # Errors
    /// [`CodecError::NotSingleObject`] without the marker, [`CodecError::UnknownSchema`] or
    /// [`CodecError::WrongRecordType`] for a fingerprint that does not fit, and
    /// [`CodecError::Avro`] when the datum is corrupt.
    pub fn decode<T: AvroRecord>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        if bytes.len() < HEADER_LEN || bytes[..2] != MARKER {
            return Err(CodecError::NotSingleObject);
        }
        let mut fp_bytes = [0u8; 8];
        fp_bytes.copy_from_slice(&bytes[2..HEADER_LEN]);
        let fp = u64::from_le_bytes(fp_bytes);

        // Newest version with a hand-written reader: no schema resolution needed.
        if self.fast_path::<T>() == Some(fp) {
            if let Some(read) = T::read_datum(&bytes[HEADER_LEN..]) {
                return read;
            }
        }

        let writer = self
            .by_fingerprint
            .get(&fp)
            .ok_or(CodecError::UnknownSchema(fp))?;
        if writer.kind != T::KIND {
            return Err(CodecError::WrongRecordType {
                expected: T::KIND,
                found: writer.kind,
            });
        }
        let (newest_fp, reader) = self.writer(T::KIND)?;

        let mut datum = &bytes[HEADER_LEN..];
        let reader_schema = (*newest_fp != fp).then_some(reader);
        let value = from_avro_datum(&writer.schema, &mut datum, reader_schema)
            .map_err(|e| CodecError::Avro(e.to_string()))?;
        from_value::<T>(&value).map_err(|e| CodecError::Avro(e.to_string()))
    }

    /// Decodes a raw record without copying, when it is written with the newest raw-record schema
    /// (the usual case); `Ok(None)` when another version wrote it, which [`Codec::decode`] then
    /// reads with schema resolution.
    ///
    /// # Errors
    /// As [`Codec::decode`], for bytes that are not a single-object record or whose datum is
    /// broken.
    pub fn decode_raw_ref<'b>(
        &self,
        bytes: &'b [u8],
    ) -> Result<Option<RawRecordRef<'b>>, CodecError> {
        if bytes.len() < HEADER_LEN || bytes[..2] != MARKER {
            return Err(CodecError::NotSingleObject);
        }
        let mut fp_bytes = [0u8; 8];
        fp_bytes.copy_from_slice(&bytes[2..HEADER_LEN]);
        if self.fast_path::<RawRecord>() != Some(u64::from_le_bytes(fp_bytes)) {
            return Ok(None);
        }
        binary::read_raw_record_ref(&bytes[HEADER_LEN..])
            .map(Some)
            .map_err(|e| CodecError::Avro(e.to_string()))
    }

    /// The newest schema version number of a kind.
    pub fn newest_version(&self, kind: RecordKind) -> Option<u32> {
        self.by_fingerprint
            .values()
            .filter(|v| v.kind == kind)
            .map(|v| v.version)
            .max()
    }
}

/// CRC-64-AVRO fingerprint of a schema's Parsing Canonical Form.
fn fingerprint(schema: &Schema) -> u64 {
    let fp = schema.fingerprint::<Rabin>();
    let mut b = [0u8; 8];
    let n = fp.bytes.len().min(8);
    b[..n].copy_from_slice(&fp.bytes[..n]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{DeadLetter, FetchState, Indicator, RawRecord};

    fn indicator() -> Indicator {
        Indicator {
            id: "ipv4-addr--0f8a4b8e-9b5a-5b6e-9a0e-3d7c1b2a4f10".into(),
            kind: "ipv4".into(),
            value: "192.0.2.10".into(),
            port: Some(443),
            source: "feodotracker".into(),
            source_ref: None,
            first_seen_ms: Some(1_700_000_000_000),
            last_seen_ms: None,
            confidence: Some(75),
            tlp: "clear".into(),
            tags: vec!["c2".into()],
            threat_types: vec!["botnet_cc".into()],
            malware_families: vec!["QakBot".into()],
            fetch_id: "f".into(),
            raw_topic: "iocflow.raw".into(),
            raw_partition: 2,
            raw_offset: 42,
            normalized_at_ms: 1_700_000_000_500,
            valid_until_ms: Some(1_800_000_000_000),
            references: vec!["https://example.org/report".into()],
            value_unicode: None,
            status: "revoked".into(),
            flags: vec!["reserved_address".into()],
        }
    }

    #[test]
    fn every_record_round_trips() {
        let c = Codec::new().unwrap();

        let raw = RawRecord {
            source: "urlhaus".into(),
            fetch_id: "id".into(),
            fetched_at_ms: 1,
            sequence: 7,
            framing: "csv_row".into(),
            payload: b"\"1\",\"x\"\xff\x00".to_vec(),
            request_url: "http://127.0.0.1/x".into(),
        };
        assert_eq!(
            c.decode::<RawRecord>(&c.encode(&raw).unwrap()).unwrap(),
            raw
        );
        // The borrowing decoder reads the same record, and leaves other kinds to `decode`.
        let bytes = c.encode(&raw).unwrap();
        assert_eq!(c.decode_raw_ref(&bytes).unwrap(), Some(raw.view()));
        assert_eq!(
            c.decode_raw_ref(&c.encode(&indicator()).unwrap()).unwrap(),
            None
        );
        assert!(matches!(
            c.decode_raw_ref(b"not avro at all"),
            Err(CodecError::NotSingleObject)
        ));
        assert!(c.decode_raw_ref(&bytes[..bytes.len() - 3]).is_err());

        let ind = indicator();
        assert_eq!(
            c.decode::<Indicator>(&c.encode(&ind).unwrap()).unwrap(),
            ind
        );

        let dl = DeadLetter {
            stage: "normalize".into(),
            source: "urlhaus".into(),
            error_kind: "invalid_value".into(),
            error_message: "bad".into(),
            original_topic: "iocflow.raw".into(),
            original_partition: 0,
            original_offset: 3,
            original_key: Some(b"k".to_vec()),
            original_value: vec![0, 1, 2, 255],
            failed_at_ms: 9,
        };
        assert_eq!(c.decode::<DeadLetter>(&c.encode(&dl).unwrap()).unwrap(), dl);
        let dl_none = DeadLetter {
            original_key: None,
            ..dl
        };
        assert_eq!(
            c.decode::<DeadLetter>(&c.encode(&dl_none).unwrap())
                .unwrap(),
            dl_none
        );

        let st = FetchState {
            source: "urlhaus".into(),
            cursor: Some("2024-01-01".into()),
            consecutive_failures: 2,
            ..FetchState::default()
        };
        assert_eq!(c.decode::<FetchState>(&c.encode(&st).unwrap()).unwrap(), st);
    }

    #[test]
    fn encoding_is_single_object_with_fingerprint() {
        let c = Codec::new().unwrap();
        let bytes = c.encode(&indicator()).unwrap();
        assert_eq!(&bytes[..2], &[0xC3, 0x01]);
        let (fp, _) = c.writer(RecordKind::Indicator).unwrap();
        assert_eq!(&bytes[2..10], &fp.to_le_bytes());
    }

    #[test]
    fn reader_decodes_records_written_with_the_older_indicator_schema() {
        let c = Codec::new().unwrap();
        // Written by a v1 producer: its type knows nothing of valid_until_ms and references.
        let v1 = crate::legacy::IndicatorV1::from(&indicator());
        let old = c.encode_version(&v1, 1).unwrap();
        // The v2 writer refuses to write a v1-shaped value, and vice versa: the versions differ.
        assert!(c.encode_version(&indicator(), 1).is_err());
        let new = c.encode(&indicator()).unwrap();
        assert_ne!(
            old[2..10],
            new[2..10],
            "v1 and v2 have different fingerprints"
        );

        let read: Indicator = c.decode(&old).unwrap();
        assert_eq!(read.value, "192.0.2.10");
        assert_eq!(read.port, Some(443));
        assert_eq!(read.raw_offset, 42);
        // The fields added in v2 and v3 take their schema defaults.
        assert_eq!(read.valid_until_ms, None);
        assert!(read.references.is_empty());
        assert_eq!(read.value_unicode, None);
        assert_eq!(read.status, "active");
        assert!(read.flags.is_empty());
    }

    #[test]
    fn reader_decodes_records_written_with_the_v2_indicator_schema() {
        let c = Codec::new().unwrap();
        // Written by a v2 producer: its type knows nothing of value_unicode, status and flags.
        let i = indicator();
        let v2 = crate::legacy::IndicatorV2::from(&i);
        let old = c.encode_version(&v2, 2).unwrap();
        assert!(c.encode_version(&i, 2).is_err());
        assert_ne!(
            old[2..10],
            c.encode(&i).unwrap()[2..10],
            "v2 and v3 have different fingerprints"
        );

        let read: Indicator = c.decode(&old).unwrap();
        let expected = Indicator {
            value_unicode: None,
            status: "active".into(),
            flags: Vec::new(),
            ..i
        };
        assert_eq!(read, expected);
        assert_eq!(c.newest_version(RecordKind::Indicator), Some(3));
    }

    #[test]
    fn bad_bytes_are_typed_errors() {
        let c = Codec::new().unwrap();
        assert!(matches!(
            c.decode::<Indicator>(b"{\"json\":1}"),
            Err(CodecError::NotSingleObject)
        ));
        let mut unknown = c.encode(&indicator()).unwrap();
        unknown[2] ^= 0xff;
        assert!(matches!(
            c.decode::<Indicator>(&unknown),
            Err(CodecError::UnknownSchema(_))
        ));
        let raw_fp = c.encode(&FetchState::default()).unwrap();
        assert!(matches!(
            c.decode::<Indicator>(&raw_fp),
            Err(CodecError::WrongRecordType { .. })
        ));
        let mut truncated = c.encode(&indicator()).unwrap();
        truncated.truncate(20);
        assert_eq!(
            c.decode::<Indicator>(&truncated).unwrap_err().kind(),
            "undecodable"
        );
    }
}
