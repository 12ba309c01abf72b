//! Reading named fields out of one framed item, according to the raw record's framing.
//!
//! - `csv_row`: one CSV record read with `csv_core` (the `csv` crate's parser: RFC 4180 quoting,
//!   doubled quotes, any line terminator), fields named by the spec's columns; a row with
//!   another number of fields than columns, a second row, or text that is not UTF-8 is
//!   `unparseable`. A row whose fields need no unquoting (the usual case) is read where it lies
//!   and its fields borrow from the record; the others are unquoted by `csv_core`;
//! - `json_value`: one JSON value, parsed into a DOM that borrows its strings from the record
//!   (`serde_json_borrow`); a field is an object key (the last one wins when a key repeats, as
//!   with `serde_json`), or a JSON pointer (RFC 6901) when it starts with `/`;
//! - `text_line`: one line of text, the only field is `line`.
//!
//! A string is expected almost everywhere; JSON numbers and booleans are accepted and written
//! in their JSON form (a port given as `443` or `"443"` reads the same). An empty string and a
//! JSON `null` count as absent.

use std::borrow::Cow;
use std::cell::RefCell;

use iocflow_schemas::spec::FramingSpec;
use serde_json_borrow::Value;

use crate::error::{ErrorKind, NormalizeError};

/// The elements of a list field. Lists are short (a tag or two, one malware family), so up to
/// two elements are held without an allocation.
pub type List<'a> = smallvec::SmallVec<[Cow<'a, str>; 2]>;

/// One framed item, parsed according to its framing.
#[derive(Debug)]
pub enum Item<'a> {
    /// A CSV row with the spec's column names.
    Csv {
        /// Column names from the spec.
        columns: &'a [String],
        /// The record itself when no field needed unquoting, else the fields unquoted one
        /// after the other.
        text: Cow<'a, str>,
        /// Where each field starts and ends in `text`.
        spans: Vec<(usize, usize)>,
    },
    /// A JSON value, borrowing from the record.
    Json(Value<'a>),
    /// A text line.
    Line(&'a str),
}

impl<'a> Item<'a> {
    /// Parses `payload` as the framing `framing` says, checked against the spec's framing.
    ///
    /// # Errors
    /// `schema_mismatch` when the record's framing is not the spec's; `unparseable` when the
    /// bytes are not valid for it (bad UTF-8, broken CSV or JSON, wrong column count).
    pub fn parse(
        spec_framing: &'a FramingSpec,
        framing: &str,
        payload: &'a [u8],
    ) -> Result<Item<'a>, NormalizeError> {
        if framing != spec_framing.record_framing() {
            return Err(NormalizeError::new(
                ErrorKind::SchemaMismatch,
                format!(
                    "record framing {framing:?} is not the spec's {:?}",
                    spec_framing.record_framing()
                ),
            ));
        }
        match spec_framing {
            FramingSpec::Csv {
                columns, delimiter, ..
            } => parse_csv(columns, *delimiter, payload),
            FramingSpec::Json { .. } => serde_json::from_slice(payload)
                .map(Item::Json)
                .map_err(|e| unparseable(format!("broken JSON: {e}"))),
            FramingSpec::Lines { .. } => std::str::from_utf8(payload)
                .map(|line| Item::Line(line.trim_end_matches(['\r', '\n'])))
                .map_err(|e| unparseable(format!("line is not UTF-8: {e}"))),
        }
    }

    /// The field as a string; `None` when absent, empty or null.
    ///
    /// # Errors
    /// `invalid_value` when a JSON field holds an array or an object.
    pub fn string(&self, field: &str) -> Result<Option<Cow<'_, str>>, NormalizeError> {
        let found = match self {
            Item::Csv { .. } => self.csv_field(field).map(Cow::Borrowed),
            Item::Line(line) => (field == "line").then_some(Cow::Borrowed(*line)),
            Item::Json(value) => match json_field(value, field) {
                None | Some(Value::Null) => None,
                Some(Value::Str(s)) => Some(Cow::Borrowed(s.as_ref())),
                Some(Value::Number(n)) => Some(Cow::Owned(number_text(n))),
                Some(Value::Bool(b)) => Some(Cow::Owned(b.to_string())),
                Some(Value::Array(_) | Value::Object(_)) => {
                    return Err(NormalizeError::new(
                        ErrorKind::InvalidValue,
                        format!("field {field} holds an array or object, not a value"),
                    ))
                }
            },
        };
        Ok(found.filter(|s| !s.trim().is_empty()))
    }

    /// The field as a list: a JSON array of values, or a string split on `split` (or the whole
    /// string as one element). Elements are trimmed; empty ones are dropped.
    ///
    /// # Errors
    /// `invalid_value` when a JSON array holds arrays or objects.
    pub fn list(&self, field: &str, split: Option<&str>) -> Result<List<'a>, NormalizeError> {
        if let Item::Json(value) = self {
            match json_field(value, field) {
                Some(Value::Array(elements)) => {
                    let mut out = List::with_capacity(elements.len());
                    for element in elements {
                        let text = match element {
                            Value::Null => continue,
                            // A string without escapes borrows from the record.
                            Value::Str(Cow::Borrowed(b)) => Cow::Borrowed(b.trim()),
                            Value::Str(Cow::Owned(o)) => Cow::Owned(o.trim().to_owned()),
                            Value::Number(n) => Cow::Owned(number_text(n)),
                            Value::Bool(b) => Cow::Owned(b.to_string()),
                            Value::Array(_) | Value::Object(_) => {
                                return Err(NormalizeError::new(
                                    ErrorKind::InvalidValue,
                                    format!("list field {field} holds an array or object"),
                                ))
                            }
                        };
                        if !text.is_empty() {
                            out.push(text);
                        }
                    }
                    return Ok(out);
                }
                // A string without escapes: its elements borrow from the record.
                Some(Value::Str(Cow::Borrowed(text))) => {
                    let mut out = List::new();
                    for_each_element(text, split, |e| out.push(Cow::Borrowed(e)));
                    return Ok(out);
                }
                _ => {}
            }
        }
        if let Item::Csv {
            text: Cow::Borrowed(text),
            ..
        } = self
        {
            // A row read in place: its elements borrow from the record.
            let text: &'a str = text;
            let mut out = List::new();
            if let Some(field) = self.csv_span(field).and_then(|(s, e)| text.get(s..e)) {
                for_each_element(field, split, |e| out.push(Cow::Borrowed(e)));
            }
            return Ok(out);
        }
        let Some(text) = self.string(field)? else {
            return Ok(List::new());
        };
        let mut out = List::new();
        for_each_element(&text, split, |e| out.push(Cow::Owned(e.to_owned())));
        Ok(out)
    }
}

impl Item<'_> {
    /// The CSV field named `field`, empty or not; `None` for another framing or column.
    fn csv_field(&self, field: &str) -> Option<&str> {
        let Item::Csv { text, .. } = self else {
            return None;
        };
        let (start, end) = self.csv_span(field)?;
        text.get(start..end)
    }

    /// Where the CSV field named `field` lies in the row's text.
    fn csv_span(&self, field: &str) -> Option<(usize, usize)> {
        match self {
            Item::Csv { columns, spans, .. } => {
                spans.get(columns.iter().position(|c| c == field)?).copied()
            }
            _ => None,
        }
    }
}

/// Calls `f` with each element of a list held in one string: `text` split on `split` (or whole
/// when there is none), trimmed, empty elements skipped.
fn for_each_element<'t>(text: &'t str, split: Option<&str>, mut f: impl FnMut(&'t str)) {
    let mut element = |e: &'t str| {
        let e = e.trim();
        if !e.is_empty() {
            f(e);
        }
    };
    match split {
        Some(sep) if !sep.is_empty() => text.split(sep).for_each(element),
        _ => element(text),
    }
}

fn json_field<'v, 'a>(value: &'v Value<'a>, field: &str) -> Option<&'v Value<'a>> {
    match field.strip_prefix('/') {
        Some(pointer) => pointer
            .split('/')
            .try_fold(value, |at, token| step(at, &unescape_token(token))),
        None => object_key(value, field),
    }
}

/// One JSON pointer step: an object key, or an array index written without sign or leading
/// zeros.
fn step<'v, 'a>(value: &'v Value<'a>, token: &str) -> Option<&'v Value<'a>> {
    match value {
        Value::Object(_) => object_key(value, token),
        Value::Array(elements) => {
            let signed_or_padded =
                token.starts_with('+') || (token.starts_with('0') && token.len() > 1);
            if signed_or_padded {
                return None;
            }
            token.parse::<usize>().ok().and_then(|i| elements.get(i))
        }
        _ => None,
    }
}

/// The value of `key` in an object; the last one when the key repeats.
fn object_key<'v, 'a>(value: &'v Value<'a>, key: &str) -> Option<&'v Value<'a>> {
    value
        .as_object()?
        .iter()
        .filter(|(k, _)| *k == key)
        .last()
        .map(|(_, v)| v)
}

/// A pointer token with `~1` read as `/` and `~0` as `~`.
fn unescape_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// A JSON number as `serde_json::Number` writes it (`443`, `-1`, `1.0`, `1e+20`).
fn number_text(n: &serde_json_borrow::Number) -> String {
    if let Some(u) = n.as_u64() {
        u.to_string()
    } else if let Some(i) = n.as_i64() {
        i.to_string()
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(String::new, |f| f.to_string())
    }
}

fn parse_csv<'a>(
    columns: &'a [String],
    delimiter: char,
    payload: &'a [u8],
) -> Result<Item<'a>, NormalizeError> {
    let delimiter = u8::try_from(delimiter).map_err(|_| {
        NormalizeError::new(ErrorKind::SchemaMismatch, "CSV delimiter is not one byte")
    })?;
    if let Some(item) = read_in_place(columns, delimiter, payload) {
        return Ok(item);
    }
    parse_csv_unquoting(columns, delimiter, payload)
}

/// Reads a row whose fields need no unquoting where it lies, borrowing every field from the
/// record: each field is either plain (no quote, delimiter or line break) or quoted without a
/// doubled quote inside and followed directly by a delimiter, a line break or the end. Returns
/// `None` for every other row, and for any row [`parse_csv_unquoting`] would refuse, which then
/// reads it and says why; the two agree on every row this accepts (property test).
fn read_in_place<'a>(columns: &'a [String], delimiter: u8, payload: &'a [u8]) -> Option<Item<'a>> {
    if matches!(delimiter, b'"' | b'\r' | b'\n')
        || matches!(payload.first(), None | Some(b'\r' | b'\n'))
    {
        return None;
    }
    let mut spans = Vec::with_capacity(columns.len());
    let mut at = 0;
    let row_end = loop {
        let (span, next) = if payload.get(at) == Some(&b'"') {
            let close = at + 1 + memchr::memchr(b'"', &payload[at + 1..])?;
            ((at + 1, close), close + 1)
        } else {
            let stop = memchr::memchr3(delimiter, b'\r', b'\n', &payload[at..])
                .map_or(payload.len(), |i| at + i);
            if memchr::memchr(b'"', &payload[at..stop]).is_some() {
                return None;
            }
            ((at, stop), stop)
        };
        spans.push(span);
        match payload.get(next) {
            None => break next,
            Some(b'\r' | b'\n') => break next,
            Some(&b) if b == delimiter => at = next + 1,
            Some(_) => return None,
        }
    };
    if spans.len() != columns.len()
        || payload[row_end..]
            .iter()
            .any(|b| *b != b'\r' && *b != b'\n')
    {
        return None;
    }
    // Each field must be UTF-8 on its own: the record is, and every field starts and ends on a
    // character boundary.
    let text = std::str::from_utf8(payload).ok()?;
    if spans
        .iter()
        .any(|&(start, end)| !text.is_char_boundary(start) || !text.is_char_boundary(end))
    {
        return None;
    }
    Some(Item::Csv {
        columns,
        text: Cow::Borrowed(text),
        spans,
    })
}

/// Reads any row with `csv_core`, unquoting its fields into a new string.
fn parse_csv_unquoting<'a>(
    columns: &'a [String],
    delimiter: u8,
    payload: &[u8],
) -> Result<Item<'a>, NormalizeError> {
    // Unquoting never makes a field longer, so the payload's length is always room enough.
    let mut out = vec![0u8; payload.len()];
    let mut ends = vec![0usize; columns.len()];
    let row = CSV_READER.with(|cell| {
        let mut cached = cell.borrow_mut();
        let reader = match &mut *cached {
            Some((d, reader)) if *d == delimiter => reader,
            slot => {
                let reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
                &mut slot.insert((delimiter, reader)).1
            }
        };
        reader.reset();
        read_row(reader, payload, &mut out, &mut ends)
    });
    let Some((fields, written, used)) = row else {
        return Err(unparseable("empty CSV row".into()));
    };
    // Lines holding only terminators are skipped by the parser; anything else after the first
    // row starts a second one.
    if payload[used..].iter().any(|b| *b != b'\r' && *b != b'\n') {
        return Err(unparseable("more than one CSV row in one record".into()));
    }
    if fields != columns.len() {
        return Err(unparseable(format!(
            "CSV row has {fields} fields, the spec has {} columns",
            columns.len()
        )));
    }
    out.truncate(written);
    ends.truncate(fields);
    let text = String::from_utf8(out)
        .map_err(|e| unparseable(format!("broken CSV row: invalid UTF-8: {}", e.utf8_error())))?;
    // The fields joined can be valid UTF-8 when a field is not (`\xc3,\xa9`): every field must
    // also end on a character boundary.
    if let Some(i) = ends.iter().position(|&end| !text.is_char_boundary(end)) {
        return Err(unparseable(format!(
            "broken CSV row: invalid UTF-8 in field {}",
            i + 1
        )));
    }
    let spans = ends
        .iter()
        .scan(0, |start, &end| Some((std::mem::replace(start, end), end)))
        .collect();
    Ok(Item::Csv {
        columns,
        text: Cow::Owned(text),
        spans,
    })
}

thread_local! {
    /// One CSV parser per thread, reset for every row: building one (its state machine) costs
    /// several times more than reading a row with it.
    static CSV_READER: RefCell<Option<(u8, csv_core::Reader)>> = const { RefCell::new(None) };
}

/// Reads the first record of `input` into `out` (room for all of `input`) and `ends` (grown when
/// the row has more fields). Returns (fields, bytes written, input bytes used), or `None` when
/// the input holds no record. (`csv_core` reads an empty input as the end of the input.)
fn read_row(
    reader: &mut csv_core::Reader,
    input: &[u8],
    out: &mut [u8],
    ends: &mut Vec<usize>,
) -> Option<(usize, usize, usize)> {
    use csv_core::ReadRecordResult as R;
    let (mut used, mut written, mut fields) = (0, 0, 0);
    loop {
        let (result, nin, nout, nend) =
            reader.read_record(&input[used..], &mut out[written..], &mut ends[fields..]);
        used += nin;
        written += nout;
        fields += nend;
        match result {
            R::Record => return Some((fields, written, used)),
            R::End => return None,
            // The whole input is read; the next call, with no input left, tells the parser the
            // input ended, which ends a record that has no terminator.
            R::InputEmpty => {}
            R::OutputEndsFull => ends.resize(ends.len().max(1) * 2, 0),
            // Cannot happen (see `out`); treated as a record cut short, which then fails the
            // column count or UTF-8 check rather than passing silently.
            R::OutputFull => return Some((fields, written, used)),
        }
    }
}

fn unparseable(message: String) -> NormalizeError {
    NormalizeError::new(ErrorKind::Unparseable, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_spec() -> FramingSpec {
        FramingSpec::Csv {
            columns: vec!["id".into(), "url".into(), "tags".into()],
            comment_prefix: None,
            has_header: false,
            delimiter: ',',
            max_item_bytes: 1024,
        }
    }

    #[test]
    fn csv_fields_by_column_name() {
        let spec = csv_spec();
        let item = Item::parse(&spec, "csv_row", br#""1","http://a.example/","x, y,,z""#).unwrap();
        assert_eq!(item.string("url").unwrap().unwrap(), "http://a.example/");
        assert_eq!(
            item.list("tags", Some(",")).unwrap().as_slice(),
            ["x", "y", "z"]
        );
        assert_eq!(item.string("nope").unwrap(), None);
    }

    #[test]
    fn csv_wrong_column_count_is_unparseable() {
        let spec = csv_spec();
        let err = Item::parse(&spec, "csv_row", br#""1","http://a.example/""#).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unparseable);
        let err = Item::parse(&spec, "csv_row", b"\xff\xfe,a,b").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unparseable);
        let err = Item::parse(&spec, "csv_row", b"1,a,b\n2,c,d\n").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unparseable);
    }

    #[test]
    fn csv_extra_fields_blank_lines_and_second_rows() {
        let spec = csv_spec();
        let err = Item::parse(&spec, "csv_row", b"1,2,3,4,5,6,7,8,9").unwrap_err();
        assert_eq!(err.message, "CSV row has 9 fields, the spec has 3 columns");
        let item = Item::parse(&spec, "csv_row", b"\r\n1,a,b\r\n\r\n\n").unwrap();
        assert_eq!(item.string("tags").unwrap().unwrap(), "b");
        let err = Item::parse(&spec, "csv_row", b"1,a,b\n ").unwrap_err();
        assert_eq!(err.message, "more than one CSV row in one record");
        let err = Item::parse(&spec, "csv_row", b"").unwrap_err();
        assert_eq!(err.message, "empty CSV row");
        let err = Item::parse(&spec, "csv_row", b"\n\r\n").unwrap_err();
        assert_eq!(err.message, "empty CSV row");
        // Found by the property test below: the fields joined are `é`, the first is not UTF-8.
        let err = Item::parse(&spec, "csv_row", b"\xc3,,\xa9").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unparseable);
        assert_eq!(err.message, "broken CSV row: invalid UTF-8 in field 1");
    }

    proptest::proptest! {
        /// The row reader (in place or unquoting) agrees with the `csv` crate (flexible rows, no
        /// headers) on random bytes that matter to CSV and on rows of plain and quoted fields.
        #[test]
        fn csv_rows_read_as_the_csv_crate_reads_them(
            bytes in proptest::prop_oneof![
                proptest::collection::vec(
                    proptest::sample::select(b"a,\"\r\n \xc3\xa9\xff".to_vec()), 0..24),
                csv_rows(),
            ]
        ) {
            let spec = csv_spec();
            let mut oracle = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes.as_slice());
            let rows: Vec<csv::ByteRecord> =
                oracle.byte_records().collect::<Result<_, _>>().unwrap();
            let ours = Item::parse(&spec, "csv_row", &bytes);
            let expected = match rows.as_slice() {
                // Every field valid UTF-8 (the fields' concatenation can be valid when they
                // are not: `\xc3` and `\xa9` in two fields).
                [row] if row.len() == 3
                    && row.iter().all(|f| std::str::from_utf8(f).is_ok()) => Some(row),
                _ => None,
            };
            match (expected, ours) {
                (Some(row), Ok(item)) => {
                    for (i, column) in ["id", "url", "tags"].iter().enumerate() {
                        let want = std::str::from_utf8(&row[i]).unwrap();
                        let got = item.string(column).unwrap();
                        let want = (!want.trim().is_empty()).then_some(want);
                        proptest::prop_assert_eq!(got.as_deref(), want);
                    }
                }
                (None, Err(e)) => proptest::prop_assert_eq!(e.kind, ErrorKind::Unparseable),
                (expected, ours) => proptest::prop_assert!(
                    false,
                    "csv crate: {:?}, ours: {:?}",
                    expected,
                    ours.map(|_| "a row")
                ),
            }
        }
    }

    /// The fields of a CSV item, column by column.
    fn csv_fields(item: &Item<'_>) -> Vec<String> {
        ["id", "url", "tags"]
            .iter()
            .map(|c| item.csv_field(c).unwrap().to_owned())
            .collect()
    }

    /// Whether a CSV item borrows the record's text rather than holding unquoted fields.
    fn read_where_it_lies(item: &Item<'_>) -> bool {
        matches!(
            item,
            Item::Csv {
                text: Cow::Borrowed(_),
                ..
            }
        )
    }

    #[test]
    fn rows_without_escapes_are_read_in_place() {
        let spec = csv_spec();
        for (row, want) in [
            (
                &b"\"3276581\",\"http://a.example/x.sh\",\"elf,mozi\"\r\n"[..],
                ["3276581", "http://a.example/x.sh", "elf,mozi"],
            ),
            (b"1,http://a.example/,", ["1", "http://a.example/", ""]),
            (b"1,\"a\nb\",\"\"\n\n", ["1", "a\nb", ""]),
            ("1,é,\"ü\"".as_bytes(), ["1", "é", "ü"]),
        ] {
            let item = Item::parse(&spec, "csv_row", row).unwrap();
            assert!(read_where_it_lies(&item), "{row:?}");
            assert_eq!(csv_fields(&item), want, "{row:?}");
        }
        // Doubled quotes and text after a closing quote are unquoted by csv_core.
        for row in [
            &b"1,\"q\"\"x\",t"[..],
            b"1,\"a\"b,t",
            b"1,a\"b,t",
            b"\n1,a,t",
        ] {
            let item = Item::parse(&spec, "csv_row", row).unwrap();
            assert!(matches!(&item, Item::Csv { .. }), "{row:?}");
            assert!(!read_where_it_lies(&item), "{row:?}");
        }
    }

    /// CSV rows of plain and quoted fields with the bytes that matter to CSV mixed in.
    fn csv_rows() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let field = (
            any::<bool>(),
            prop::collection::vec(
                prop_oneof![
                    12 => Just(&b"a"[..]),
                    2 => Just("é".as_bytes()),
                    1 => prop::sample::select(vec![
                        &b","[..], b"\"", b"\r", b"\n", b" ", b"\xc3", b"\xa9", b"\xff", b";",
                    ]),
                ],
                0..8,
            )
            .prop_map(|pieces| pieces.concat()),
        );
        let terminator = prop::sample::select(vec![&b""[..], b"\n", b"\r\n", b"\n\nx"]);
        (prop::collection::vec(field, 2..5), terminator).prop_map(|(fields, terminator)| {
            let mut row = Vec::new();
            for (i, (quoted, bytes)) in fields.iter().enumerate() {
                if i > 0 {
                    row.push(b',');
                }
                if *quoted {
                    row.push(b'"');
                }
                row.extend_from_slice(bytes);
                if *quoted {
                    row.push(b'"');
                }
            }
            row.extend_from_slice(terminator);
            row
        })
    }

    /// The property below is only worth something if many rows are read in place.
    #[test]
    fn csv_rows_are_often_read_in_place() {
        use proptest::strategy::{Strategy, ValueTree};
        let columns: Vec<String> = ["id", "url", "tags"].map(String::from).to_vec();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let rows = csv_rows();
        let in_place = (0..2000)
            .filter(|_| {
                let row = rows.new_tree(&mut runner).unwrap().current();
                read_in_place(&columns, b',', &row).is_some()
            })
            .count();
        assert!(in_place >= 100, "{in_place} of 2000 read in place");
    }

    proptest::proptest! {
        /// Reading a row in place and unquoting it agree on every row read in place.
        #[test]
        fn rows_read_in_place_read_as_unquoted(row in csv_rows()) {
            let columns: Vec<String> = ["id", "url", "tags"].map(String::from).to_vec();
            if let Some(item) = read_in_place(&columns, b',', &row) {
                let unquoted = parse_csv_unquoting(&columns, b',', &row);
                proptest::prop_assert!(unquoted.is_ok(), "{:?}: {:?}", row, unquoted);
                proptest::prop_assert_eq!(csv_fields(&item), csv_fields(&unquoted.unwrap()));
            }
        }
    }

    #[test]
    fn reused_reader_starts_fresh_for_every_row() {
        let spec = csv_spec();
        // An unterminated quote must not swallow the next row.
        let item = Item::parse(&spec, "csv_row", b"\"1,a,b").unwrap_err();
        assert_eq!(item.kind, ErrorKind::Unparseable);
        for i in 0..3 {
            let row = format!("{i},\"http://a.example/{i}\",\"q\"\"x\"\r\n");
            let item = Item::parse(&spec, "csv_row", row.as_bytes()).unwrap();
            assert_eq!(item.string("id").unwrap().unwrap(), i.to_string());
            assert_eq!(item.string("tags").unwrap().unwrap(), "q\"x");
        }
        // A quoted newline stays inside its field.
        let item = Item::parse(&spec, "csv_row", b"1,\"a\nb\",c").unwrap();
        assert_eq!(item.string("url").unwrap().unwrap(), "a\nb");
        // Another delimiter gets its own reader.
        let semi = FramingSpec::Csv {
            columns: vec!["a".into(), "b".into()],
            comment_prefix: None,
            has_header: false,
            delimiter: ';',
            max_item_bytes: 1024,
        };
        let item = Item::parse(&semi, "csv_row", b"x;y").unwrap();
        assert_eq!(item.string("b").unwrap().unwrap(), "y");
    }

    #[test]
    fn framing_must_match_the_spec() {
        let spec = csv_spec();
        let err = Item::parse(&spec, "json_value", b"{}").unwrap_err();
        assert_eq!(err.kind, ErrorKind::SchemaMismatch);
    }

    #[test]
    fn json_keys_pointers_numbers_and_nulls() {
        let spec = FramingSpec::Json {
            items_pointer: String::new(),
            max_item_bytes: 1024,
        };
        let body = br#"{"port":443,"p2":"443","h":null,"e":"","a":{"b":["x",1,null," "]}}"#;
        let item = Item::parse(&spec, "json_value", body).unwrap();
        assert_eq!(item.string("port").unwrap().unwrap(), "443");
        assert_eq!(item.string("p2").unwrap().unwrap(), "443");
        assert_eq!(item.string("h").unwrap(), None);
        assert_eq!(item.string("e").unwrap(), None);
        assert_eq!(item.list("/a/b", None).unwrap().as_slice(), ["x", "1"]);
        assert_eq!(item.string("a").unwrap_err().kind, ErrorKind::InvalidValue);
        let err = Item::parse(&spec, "json_value", b"{\"broken\":").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unparseable);
    }

    #[test]
    fn json_lists_borrow_unescaped_strings_and_own_the_rest() {
        let spec = FramingSpec::Json {
            items_pointer: String::new(),
            max_item_bytes: 1024,
        };
        let body = br#"{"l":[" Emotet ","a\u0062",7,true,null,"  "],"s":" QakBot ","e":"  ",
            "t":"a, b ,,c"}"#;
        let item = Item::parse(&spec, "json_value", body).unwrap();
        let list = item.list("l", None).unwrap();
        assert_eq!(list.as_slice(), ["Emotet", "ab", "7", "true"]);
        assert!(matches!(list[0], Cow::Borrowed(_)));
        assert!(matches!(list[1], Cow::Owned(_)));
        let one = item.list("s", None).unwrap();
        assert_eq!(one.as_slice(), ["QakBot"]);
        assert!(matches!(one[0], Cow::Borrowed(_)));
        assert_eq!(item.list("s", Some("")).unwrap().as_slice(), ["QakBot"]);
        assert!(item.list("e", None).unwrap().is_empty());
        assert!(item.list("missing", None).unwrap().is_empty());
        let split = item.list("t", Some(",")).unwrap();
        assert_eq!(split.as_slice(), ["a", "b", "c"]);
        assert!(split.iter().all(|e| matches!(e, Cow::Borrowed(_))));
    }

    #[test]
    fn json_duplicate_keys_pointer_escapes_indexes_and_floats() {
        let spec = FramingSpec::Json {
            items_pointer: String::new(),
            max_item_bytes: 1024,
        };
        let body = br#"{"k":"first","k":"last","a/b":{"m~n":"esc"},"l":["x","y"],
            "f":1.0,"big":1e20,"neg":-3,"q":"say \"hi\""}"#;
        let item = Item::parse(&spec, "json_value", body).unwrap();
        // As serde_json's map: the last of a repeated key wins.
        assert_eq!(item.string("k").unwrap().unwrap(), "last");
        assert_eq!(item.string("/a~1b/m~0n").unwrap().unwrap(), "esc");
        assert_eq!(item.string("/l/1").unwrap().unwrap(), "y");
        assert_eq!(item.string("/l/01").unwrap(), None);
        assert_eq!(item.string("/l/+1").unwrap(), None);
        assert_eq!(item.string("/l/2").unwrap(), None);
        // Numbers read as serde_json::Number writes them (what this module read before it
        // parsed into a borrowed DOM).
        assert_eq!(item.string("f").unwrap().unwrap(), "1.0");
        assert_eq!(item.string("big").unwrap().unwrap(), "1e+20");
        assert_eq!(item.string("neg").unwrap().unwrap(), "-3");
        // An escaped string is unescaped.
        assert_eq!(item.string("q").unwrap().unwrap(), "say \"hi\"");
    }

    #[test]
    fn text_line_is_field_line() {
        let spec = FramingSpec::Lines {
            comment_prefix: None,
            max_item_bytes: 1024,
        };
        let item = Item::parse(&spec, "text_line", b"http://a.example/\r\n").unwrap();
        assert_eq!(item.string("line").unwrap().unwrap(), "http://a.example/");
        let err = Item::parse(&spec, "text_line", b"\xc3\x28").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unparseable);
    }
}
