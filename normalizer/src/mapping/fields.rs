//! Reading named fields out of one framed item, according to the raw record's framing.
//!
//! - `csv_row`: one CSV record read with the `csv` crate, fields named by the spec's columns; a
//!   row with another number of fields than columns is `unparseable`;
//! - `json_value`: one JSON value; a field is an object key, or a JSON pointer when it starts
//!   with `/`;
//! - `text_line`: one line of text, the only field is `line`.
//!
//! A string is expected almost everywhere; JSON numbers and booleans are accepted and written
//! in their JSON form (a port given as `443` or `"443"` reads the same). An empty string and a
//! JSON `null` count as absent.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{Cursor, SeekFrom};

use iocflow_schemas::spec::FramingSpec;
use serde_json::Value;

use crate::error::{ErrorKind, NormalizeError};

/// One framed item, parsed according to its framing.
#[derive(Debug)]
pub enum Item<'a> {
    /// A CSV row with the spec's column names.
    Csv {
        /// Column names from the spec.
        columns: &'a [String],
        /// The row's fields.
        record: csv::StringRecord,
    },
    /// A JSON value.
    Json(Value),
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
            Item::Csv { columns, record } => columns
                .iter()
                .position(|c| c == field)
                .and_then(|i| record.get(i))
                .map(Cow::Borrowed),
            Item::Line(line) => (field == "line").then_some(Cow::Borrowed(*line)),
            Item::Json(value) => match json_field(value, field) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
                Some(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
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
    pub fn list(&self, field: &str, split: Option<&str>) -> Result<Vec<String>, NormalizeError> {
        if let Item::Json(value) = self {
            if let Some(Value::Array(elements)) = json_field(value, field) {
                let mut out = Vec::with_capacity(elements.len());
                for element in elements {
                    let text = match element {
                        Value::Null => continue,
                        Value::String(s) => s.trim().to_owned(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
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
        }
        let Some(text) = self.string(field)? else {
            return Ok(Vec::new());
        };
        let parts: Vec<String> = match split {
            Some(sep) if !sep.is_empty() => text
                .split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => vec![text.trim().to_owned()],
        };
        Ok(parts)
    }
}

fn json_field<'v>(value: &'v Value, field: &str) -> Option<&'v Value> {
    if field.starts_with('/') {
        value.pointer(field)
    } else {
        value.get(field)
    }
}

fn parse_csv<'a>(
    columns: &'a [String],
    delimiter: char,
    payload: &[u8],
) -> Result<Item<'a>, NormalizeError> {
    let delimiter = u8::try_from(delimiter).map_err(|_| {
        NormalizeError::new(ErrorKind::SchemaMismatch, "CSV delimiter is not one byte")
    })?;
    let (first, extra) = CSV_READER.with(|cell| {
        let mut cached = cell.borrow_mut();
        let reader = match &mut *cached {
            Some((d, reader)) if *d == delimiter => reader,
            slot => &mut slot.insert((delimiter, new_csv_reader(delimiter))).1,
        };
        read_one_row(reader, payload)
    });
    let record = match first {
        Ok(Some(record)) => record,
        Ok(None) => return Err(unparseable("empty CSV row".into())),
        Err(e) => return Err(unparseable(format!("broken CSV row: {e}"))),
    };
    if extra {
        return Err(unparseable("more than one CSV row in one record".into()));
    }
    if record.len() != columns.len() {
        return Err(unparseable(format!(
            "CSV row has {} fields, the spec has {} columns",
            record.len(),
            columns.len()
        )));
    }
    Ok(Item::Csv { columns, record })
}

/// A CSV reader over an in-memory row.
type RowReader = csv::Reader<Cursor<Vec<u8>>>;

thread_local! {
    /// One CSV reader per thread, reused for every row: building a reader (its parser tables
    /// and buffer) costs far more than parsing one row.
    static CSV_READER: RefCell<Option<(u8, RowReader)>> =
        const { RefCell::new(None) };
}

fn new_csv_reader(delimiter: u8) -> RowReader {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(Cursor::new(Vec::new()));
    // The first seek reads the (empty) header row once, so no later row is taken for one.
    let _ = reader.seek_raw(SeekFrom::Start(0), csv::Position::new());
    reader
}

/// Reads the first row of `payload` with a reused reader, and whether a second row follows.
fn read_one_row(
    reader: &mut RowReader,
    payload: &[u8],
) -> (csv::Result<Option<csv::StringRecord>>, bool) {
    let buf = reader.get_mut().get_mut();
    buf.clear();
    buf.extend_from_slice(payload);
    // Resets the parser, the reader's buffer and its end-of-input state for the new input.
    if let Err(e) = reader.seek_raw(SeekFrom::Start(0), csv::Position::new()) {
        return (Err(e), false);
    }
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return (Ok(None), false),
        Err(e) => return (Err(e), false),
    }
    let mut next = csv::ByteRecord::new();
    let extra = matches!(reader.read_byte_record(&mut next), Ok(true) | Err(_));
    (Ok(Some(record)), extra)
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
        assert_eq!(item.list("tags", Some(",")).unwrap(), ["x", "y", "z"]);
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
        assert_eq!(item.list("/a/b", None).unwrap(), ["x", "1"]);
        assert_eq!(item.string("a").unwrap_err().kind, ErrorKind::InvalidValue);
        let err = Item::parse(&spec, "json_value", b"{\"broken\":").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unparseable);
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
