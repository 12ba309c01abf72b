//! Hand-written Avro binary datums for the hot records, used by [`crate::codec`] as a fast path.
//!
//! The normalizer decodes one [`RawRecord`] and encodes one [`Indicator`] (or [`DeadLetter`])
//! per record. Going through apache-avro's `Value` tree costs an allocation per field and a
//! schema walk per record, which dominated the stage's profile. This module writes and reads
//! the Avro binary encoding of exactly the newest schema version of those records directly:
//! zig-zag varints, length-prefixed strings and bytes, `["null", T]` unions as branch index
//! plus value, and arrays as one block of `len` items followed by the `0` terminator, which is
//! how apache-avro writes them. The output is byte-identical to `apache_avro::to_avro_datum`
//! with the schema version named by each `*_VERSION` constant (the tests compare both over many
//! generated records).
//!
//! Records written with an older schema version still go through apache-avro and its schema
//! resolution: the codec uses this module only when the writer fingerprint is the newest one
//! and the hand-written version is that newest version. Adding a schema version without
//! updating this module therefore only turns the fast path off (and fails the equivalence
//! tests), it never writes the wrong bytes.
//!
//! One deliberate difference when reading: a datum cut inside its last string is an error here,
//! while apache-avro 0.21 returns the shorter string.

#[cfg(doc)]
use crate::records::Indicator;
use crate::records::{DeadLetter, FetchState, IndicatorRef, RawRecord, RawRecordRef};

/// The `raw_record` schema version [`write_raw_record`] and [`read_raw_record`] implement.
pub(crate) const RAW_RECORD_VERSION: u32 = 1;
/// The `indicator` schema version [`write_indicator`] implements.
pub(crate) const INDICATOR_VERSION: u32 = 3;
/// The `dead_letter` schema version [`write_dead_letter`] implements.
pub(crate) const DEAD_LETTER_VERSION: u32 = 1;
/// The `fetch_state` schema version [`write_fetch_state`] implements.
pub(crate) const FETCH_STATE_VERSION: u32 = 1;

/// Why a datum could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DatumError {
    /// The datum ends inside a value.
    #[error("datum truncated while reading {0}")]
    Truncated(&'static str),
    /// A varint is longer than 10 bytes.
    #[error("variable-length integer too long in {0}")]
    VarintOverflow(&'static str),
    /// A length is negative.
    #[error("negative length in {0}")]
    NegativeLength(&'static str),
    /// A string is not UTF-8.
    #[error("invalid UTF-8 in string field {0}")]
    InvalidUtf8(&'static str),
}

// ---- Writing ----------------------------------------------------------------------------------

/// Appends a zig-zag varint.
fn put_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z > 0x7F {
        out.push(0x80 | (z & 0x7F) as u8);
        z >>= 7;
    }
    out.push(z as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// `["null", "string"]`.
fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(2);
            put_str(out, s);
        }
    }
}

/// `["null", "long"]` and `["null", "int"]` (an Avro int is written like a long).
fn put_opt_long(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(2);
            put_long(out, v);
        }
    }
}

/// `{"type": "array", "items": "string"}`: one block, then the terminating `0`.
fn put_str_array<S: AsRef<str>>(out: &mut Vec<u8>, items: &[S]) {
    if !items.is_empty() {
        put_long(out, items.len() as i64);
        for s in items {
            put_str(out, s.as_ref());
        }
    }
    out.push(0);
}

/// Bytes of a string array's strings, for reserving.
fn strings_len<S: AsRef<str>>(items: &[S]) -> usize {
    items.iter().map(|s| s.as_ref().len() + 2).sum()
}

/// The datum size of a [`RawRecord`], estimated so the encoder allocates once (the buffer
/// still grows when the estimate is short).
pub(crate) fn raw_record_len(r: &RawRecord) -> usize {
    40 + r.source.len() + r.fetch_id.len() + r.framing.len() + r.payload.len() + r.request_url.len()
}

/// Appends the datum of a [`RawRecord`] (`raw_record.v1.avsc`).
pub(crate) fn write_raw_record(r: &RawRecord, out: &mut Vec<u8>) {
    out.reserve(raw_record_len(r));
    put_str(out, &r.source);
    put_str(out, &r.fetch_id);
    put_long(out, r.fetched_at_ms);
    put_long(out, r.sequence);
    put_str(out, &r.framing);
    put_bytes(out, &r.payload);
    put_str(out, &r.request_url);
}

/// The datum size of an [`Indicator`], estimated so the encoder allocates once (the buffer
/// still grows when the estimate is short).
pub(crate) fn indicator_len<F: AsRef<str>, L: AsRef<str>>(i: &IndicatorRef<'_, F, L>) -> usize {
    96 + i.id.len()
        + i.kind.len()
        + i.value.len()
        + i.source.len()
        + i.source_ref.map_or(0, str::len)
        + i.tlp.len()
        + strings_len(i.tags)
        + strings_len(i.threat_types)
        + strings_len(i.malware_families)
        + i.fetch_id.len()
        + i.raw_topic.len()
        + strings_len(i.references)
        + i.value_unicode.map_or(0, str::len)
        + i.status.len()
        + strings_len(i.flags)
}

/// Appends the datum of an [`Indicator`] (`indicator.v3.avsc`).
pub(crate) fn write_indicator<F: AsRef<str>, L: AsRef<str>>(
    i: &IndicatorRef<'_, F, L>,
    out: &mut Vec<u8>,
) {
    out.reserve(indicator_len(i));
    put_str(out, i.id);
    put_str(out, i.kind);
    put_str(out, i.value);
    put_opt_long(out, i.port.map(i64::from));
    put_str(out, i.source);
    put_opt_str(out, i.source_ref);
    put_opt_long(out, i.first_seen_ms);
    put_opt_long(out, i.last_seen_ms);
    put_opt_long(out, i.confidence.map(i64::from));
    put_str(out, i.tlp);
    put_str_array(out, i.tags);
    put_str_array(out, i.threat_types);
    put_str_array(out, i.malware_families);
    put_str(out, i.fetch_id);
    put_str(out, i.raw_topic);
    put_long(out, i64::from(i.raw_partition));
    put_long(out, i.raw_offset);
    put_long(out, i.normalized_at_ms);
    put_opt_long(out, i.valid_until_ms);
    put_str_array(out, i.references);
    put_opt_str(out, i.value_unicode);
    put_str(out, i.status);
    put_str_array(out, i.flags);
}

/// The datum size of a [`DeadLetter`], estimated so the encoder allocates once (the buffer
/// still grows when the estimate is short).
pub(crate) fn dead_letter_len(d: &DeadLetter) -> usize {
    48 + d.stage.len()
        + d.source.len()
        + d.error_kind.len()
        + d.error_message.len()
        + d.original_topic.len()
        + d.original_key.as_ref().map_or(0, Vec::len)
        + d.original_value.len()
}

/// Appends the datum of a [`DeadLetter`] (`dead_letter.v1.avsc`).
pub(crate) fn write_dead_letter(d: &DeadLetter, out: &mut Vec<u8>) {
    out.reserve(dead_letter_len(d));
    put_str(out, &d.stage);
    put_str(out, &d.source);
    put_str(out, &d.error_kind);
    put_str(out, &d.error_message);
    put_str(out, &d.original_topic);
    put_long(out, i64::from(d.original_partition));
    put_long(out, d.original_offset);
    match &d.original_key {
        None => out.push(0),
        Some(k) => {
            out.push(2);
            put_bytes(out, k);
        }
    }
    put_bytes(out, &d.original_value);
    put_long(out, d.failed_at_ms);
}

/// Appends the datum of a [`FetchState`] (`fetch_state.v1.avsc`).
pub(crate) fn write_fetch_state(s: &FetchState, out: &mut Vec<u8>) {
    put_str(out, &s.source);
    put_opt_str(out, s.cursor.as_deref());
    put_opt_str(out, s.etag.as_deref());
    put_opt_str(out, s.last_modified.as_deref());
    put_opt_str(out, s.last_fetch_id.as_deref());
    put_opt_long(out, s.last_attempt_at_ms);
    put_opt_long(out, s.last_success_at_ms);
    put_long(out, i64::from(s.consecutive_failures));
    put_opt_str(out, s.last_error.as_deref());
    put_long(out, s.records_last_fetch);
}

// ---- Reading ----------------------------------------------------------------------------------

/// A cursor over a datum; each read names the field it is for, for the error.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A zig-zag varint, read the way apache-avro reads it (at most 10 bytes).
    fn long(&mut self, field: &'static str) -> Result<i64, DatumError> {
        let mut z = 0u64;
        for (j, &b) in self.rest.iter().enumerate() {
            if j > 9 {
                return Err(DatumError::VarintOverflow(field));
            }
            z |= u64::from(b & 0x7F) << (j * 7);
            if b & 0x80 == 0 {
                self.rest = &self.rest[j + 1..];
                return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        Err(DatumError::Truncated(field))
    }

    fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], DatumError> {
        let len = self.long(field)?;
        let len = usize::try_from(len).map_err(|_| DatumError::NegativeLength(field))?;
        if len > self.rest.len() {
            return Err(DatumError::Truncated(field));
        }
        let (b, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(b)
    }

    fn str(&mut self, field: &'static str) -> Result<&'a str, DatumError> {
        let b = self.bytes(field)?;
        std::str::from_utf8(b).map_err(|_| DatumError::InvalidUtf8(field))
    }
}

/// Reads the datum of a [`RawRecord`] written with `raw_record.v1.avsc`. Bytes after the datum
/// are ignored, as apache-avro ignores them.
pub(crate) fn read_raw_record(datum: &[u8]) -> Result<RawRecord, DatumError> {
    let r = read_raw_record_ref(datum)?;
    Ok(RawRecord {
        source: r.source.to_owned(),
        fetch_id: r.fetch_id.to_owned(),
        fetched_at_ms: r.fetched_at_ms,
        sequence: r.sequence,
        framing: r.framing.to_owned(),
        payload: r.payload.to_vec(),
        request_url: r.request_url.to_owned(),
    })
}

/// [`read_raw_record`] without copying: the strings and payload borrow from `datum`.
pub(crate) fn read_raw_record_ref(datum: &[u8]) -> Result<RawRecordRef<'_>, DatumError> {
    let mut r = Reader { rest: datum };
    Ok(RawRecordRef {
        source: r.str("source")?,
        fetch_id: r.str("fetch_id")?,
        fetched_at_ms: r.long("fetched_at_ms")?,
        sequence: r.long("sequence")?,
        framing: r.str("framing")?,
        payload: r.bytes("payload")?,
        request_url: r.str("request_url")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Indicator;
    use apache_avro::{from_avro_datum, to_avro_datum, to_value, Schema};

    /// A seeded xorshift generator, so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn long(&mut self) -> i64 {
            // Mix small, large, negative and extreme values.
            match self.below(6) {
                0 => 0,
                1 => i64::MAX - self.below(3) as i64,
                2 => i64::MIN + self.below(3) as i64,
                3 => -(self.below(1000) as i64),
                4 => self.below(200) as i64,
                _ => self.next() as i64,
            }
        }
        fn int(&mut self) -> i32 {
            match self.below(4) {
                0 => i32::MAX,
                1 => i32::MIN,
                _ => self.next() as i32,
            }
        }
        fn string(&mut self) -> String {
            const PARTS: &[&str] = &[
                "a",
                "é",
                "http://x/",
                "ü-ñ",
                "\u{0}",
                "🦀",
                "xn--bcher-kva",
                " ",
                "\"",
                "\n",
            ];
            let n = match self.below(4) {
                0 => 0,
                1 => 200 + self.below(40),
                _ => self.below(12),
            };
            (0..n)
                .map(|_| PARTS[self.below(PARTS.len() as u64) as usize])
                .collect()
        }
        fn bytes(&mut self) -> Vec<u8> {
            let n = if self.below(5) == 0 {
                300
            } else {
                self.below(20)
            };
            (0..n).map(|_| self.next() as u8).collect()
        }
        fn opt<T>(&mut self, f: impl FnOnce(&mut Rng) -> T) -> Option<T> {
            (self.below(2) == 0).then(|| f(self))
        }
        fn strings(&mut self) -> Vec<String> {
            let n = match self.below(3) {
                0 => 0,
                1 => 1,
                _ => self.below(80) as usize,
            };
            (0..n).map(|_| self.string()).collect()
        }
    }

    fn schema(file: &str) -> Schema {
        let text =
            std::fs::read_to_string(format!("{}/avro/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        Schema::parse_str(&text).unwrap()
    }

    fn reference<T: serde::Serialize>(schema: &Schema, record: &T) -> Vec<u8> {
        to_avro_datum(schema, to_value(record).unwrap()).unwrap()
    }

    fn raw_record(rng: &mut Rng) -> RawRecord {
        RawRecord {
            source: rng.string(),
            fetch_id: rng.string(),
            fetched_at_ms: rng.long(),
            sequence: rng.long(),
            framing: rng.string(),
            payload: rng.bytes(),
            request_url: rng.string(),
        }
    }

    fn indicator(rng: &mut Rng) -> Indicator {
        Indicator {
            id: rng.string(),
            kind: rng.string(),
            value: rng.string(),
            port: rng.opt(Rng::int),
            source: rng.string(),
            source_ref: rng.opt(Rng::string),
            first_seen_ms: rng.opt(Rng::long),
            last_seen_ms: rng.opt(Rng::long),
            confidence: rng.opt(Rng::int),
            tlp: rng.string(),
            tags: rng.strings(),
            threat_types: rng.strings(),
            malware_families: rng.strings(),
            fetch_id: rng.string(),
            raw_topic: rng.string(),
            raw_partition: rng.int(),
            raw_offset: rng.long(),
            normalized_at_ms: rng.long(),
            valid_until_ms: rng.opt(Rng::long),
            references: rng.strings(),
            value_unicode: rng.opt(Rng::string),
            status: rng.string(),
            flags: rng.strings(),
        }
    }

    const CASES: u64 = 3000;

    #[test]
    fn raw_record_datum_is_byte_identical_to_apache_avro_and_reads_back() {
        let schema = schema(&format!("raw_record.v{RAW_RECORD_VERSION}.avsc"));
        let mut rng = Rng(0x5EED_0001);
        for _ in 0..CASES {
            let r = raw_record(&mut rng);
            let expected = reference(&schema, &r);
            let mut ours = Vec::new();
            write_raw_record(&r, &mut ours);
            assert_eq!(ours, expected, "{r:?}");

            // What apache-avro wrote, we read back to the same record.
            assert_eq!(read_raw_record(&expected).unwrap(), r);
            let value = from_avro_datum(&schema, &mut expected.as_slice(), None).unwrap();
            assert_eq!(apache_avro::from_value::<RawRecord>(&value).unwrap(), r);
        }
    }

    #[test]
    fn indicator_datum_is_byte_identical_to_apache_avro() {
        let schema = schema(&format!("indicator.v{INDICATOR_VERSION}.avsc"));
        let mut rng = Rng(0x5EED_0002);
        for _ in 0..CASES {
            let i = indicator(&mut rng);
            let mut ours = Vec::new();
            write_indicator(&i.view(), &mut ours);
            assert_eq!(ours, reference(&schema, &i), "{i:?}");
            // Flags borrowed as `&str` and lists as `Cow<str>` (as the normalizer passes them)
            // write the same bytes.
            let flags: Vec<&str> = i.flags.iter().map(String::as_str).collect();
            fn cow(l: &[String]) -> Vec<std::borrow::Cow<'_, str>> {
                l.iter()
                    .map(|s| std::borrow::Cow::Borrowed(s.as_str()))
                    .collect()
            }
            let (tags, threat_types) = (cow(&i.tags), cow(&i.threat_types));
            let (malware_families, references) = (cow(&i.malware_families), cow(&i.references));
            let v = i.view();
            let borrowed = IndicatorRef {
                id: v.id,
                kind: v.kind,
                value: v.value,
                port: v.port,
                source: v.source,
                source_ref: v.source_ref,
                first_seen_ms: v.first_seen_ms,
                last_seen_ms: v.last_seen_ms,
                confidence: v.confidence,
                tlp: v.tlp,
                tags: &tags,
                threat_types: &threat_types,
                malware_families: &malware_families,
                fetch_id: v.fetch_id,
                raw_topic: v.raw_topic,
                raw_partition: v.raw_partition,
                raw_offset: v.raw_offset,
                normalized_at_ms: v.normalized_at_ms,
                valid_until_ms: v.valid_until_ms,
                references: &references,
                value_unicode: v.value_unicode,
                status: v.status,
                flags: &flags,
            };
            let mut again = Vec::new();
            write_indicator(&borrowed, &mut again);
            assert_eq!(again, ours);
            assert_eq!(borrowed.to_indicator(), i);
        }
    }

    #[test]
    fn dead_letter_datum_is_byte_identical_to_apache_avro() {
        let schema = schema(&format!("dead_letter.v{DEAD_LETTER_VERSION}.avsc"));
        let mut rng = Rng(0x5EED_0003);
        for _ in 0..CASES {
            let d = DeadLetter {
                stage: rng.string(),
                source: rng.string(),
                error_kind: rng.string(),
                error_message: rng.string(),
                original_topic: rng.string(),
                original_partition: rng.int(),
                original_offset: rng.long(),
                original_key: rng.opt(Rng::bytes),
                original_value: rng.bytes(),
                failed_at_ms: rng.long(),
            };
            let mut ours = Vec::new();
            write_dead_letter(&d, &mut ours);
            assert_eq!(ours, reference(&schema, &d), "{d:?}");
        }
    }

    #[test]
    fn fetch_state_datum_is_byte_identical_to_apache_avro() {
        let schema = schema(&format!("fetch_state.v{FETCH_STATE_VERSION}.avsc"));
        let mut rng = Rng(0x5EED_0004);
        for _ in 0..CASES {
            let s = FetchState {
                source: rng.string(),
                cursor: rng.opt(Rng::string),
                etag: rng.opt(Rng::string),
                last_modified: rng.opt(Rng::string),
                last_fetch_id: rng.opt(Rng::string),
                last_attempt_at_ms: rng.opt(Rng::long),
                last_success_at_ms: rng.opt(Rng::long),
                consecutive_failures: rng.int(),
                last_error: rng.opt(Rng::string),
                records_last_fetch: rng.long(),
            };
            let mut ours = Vec::new();
            write_fetch_state(&s, &mut ours);
            assert_eq!(ours, reference(&schema, &s), "{s:?}");
        }
    }

    #[test]
    fn every_truncation_of_a_raw_record_is_an_error() {
        // apache-avro 0.21 is more lenient here: it accepts a datum cut inside its last string
        // and returns the shorter string. The fast path refuses every truncation, so a cut
        // record becomes an `undecodable` dead letter instead of a silently shortened one.
        let schema = schema(&format!("raw_record.v{RAW_RECORD_VERSION}.avsc"));
        let mut rng = Rng(0x5EED_0005);
        for _ in 0..50 {
            let bytes = reference(&schema, &raw_record(&mut rng));
            for cut in 0..bytes.len() {
                assert!(read_raw_record(&bytes[..cut]).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn malformed_raw_records_are_errors() {
        // Invalid UTF-8 in `source`.
        assert_eq!(
            read_raw_record(&[4, 0xff, 0xfe]),
            Err(DatumError::InvalidUtf8("source"))
        );
        // A negative length.
        assert_eq!(
            read_raw_record(&[1]),
            Err(DatumError::NegativeLength("source"))
        );
        // An 11-byte varint.
        assert_eq!(
            read_raw_record(&[0x80; 12]),
            Err(DatumError::VarintOverflow("source"))
        );
        // A length past the end.
        assert_eq!(
            read_raw_record(&[20, b'a']),
            Err(DatumError::Truncated("source"))
        );
    }

    #[test]
    fn the_codec_fast_path_is_on_and_matches_the_apache_avro_path() {
        use crate::codec::{AvroRecord, Codec, RecordKind};

        let c = Codec::new().unwrap();
        // Each hand-written version is the newest bundled one, so the fast path is taken. A new
        // schema version fails here until this module implements it.
        for (kind, version) in [
            (RecordKind::RawRecord, RAW_RECORD_VERSION),
            (RecordKind::Indicator, INDICATOR_VERSION),
            (RecordKind::DeadLetter, DEAD_LETTER_VERSION),
            (RecordKind::FetchState, FETCH_STATE_VERSION),
        ] {
            assert_eq!(c.newest_version(kind), Some(version), "{kind:?}");
        }
        assert_eq!(RawRecord::FAST_VERSION, Some(RAW_RECORD_VERSION));

        // `encode_version` always goes through apache-avro: same bytes, header included.
        let mut rng = Rng(0x5EED_0006);
        for _ in 0..500 {
            let r = raw_record(&mut rng);
            let slow = c.encode_version(&r, RAW_RECORD_VERSION).unwrap();
            assert_eq!(c.encode(&r).unwrap(), slow);
            assert_eq!(c.decode::<RawRecord>(&slow).unwrap(), r);

            let i = indicator(&mut rng);
            let slow = c.encode_version(&i, INDICATOR_VERSION).unwrap();
            assert_eq!(c.encode(&i).unwrap(), slow);
            assert_eq!(c.decode::<Indicator>(&slow).unwrap(), i);
        }

        // A corrupt newest-version raw record is an `undecodable` error, as before.
        let mut bytes = c.encode(&raw_record(&mut rng)).unwrap();
        bytes.truncate(11);
        bytes.push(0x80);
        assert_eq!(
            c.decode::<RawRecord>(&bytes).unwrap_err().kind(),
            "undecodable"
        );
    }

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            i64::MAX,
            i64::MIN,
            1 << 35,
            -(1 << 35),
        ] {
            let mut out = Vec::new();
            put_long(&mut out, v);
            let mut r = Reader { rest: &out };
            assert_eq!(r.long("v").unwrap(), v);
            assert!(r.rest.is_empty());
        }
    }
}
