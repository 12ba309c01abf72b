//! CSV framing: one item per CSV record (`framing.kind = "csv"`).
//!
//! Records are cut by [`LineSplitter`] with quote tracking, so a quoted field holding a newline
//! stays in one record and the record's bytes are passed on untouched. The `csv` crate reads
//! single fields out of a framed record (the key field, the cursor field); the normalizer does
//! the full parse.

use super::lines::LineSplitter;
use super::FramedItem;

/// Streaming CSV record framer.
#[derive(Debug)]
pub(crate) struct CsvFramer {
    splitter: LineSplitter,
}

impl CsvFramer {
    /// A framer for the given CSV settings.
    pub(crate) fn new(
        comment_prefix: Option<&str>,
        has_header: bool,
        max_item_bytes: usize,
    ) -> Self {
        CsvFramer {
            splitter: LineSplitter::new(comment_prefix, max_item_bytes, true, has_header),
        }
    }

    /// Feeds one chunk.
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<FramedItem>) {
        self.splitter.push(chunk, out);
    }

    /// Ends the input; `false` when it ended inside a quoted field.
    pub(crate) fn finish(&mut self, out: &mut Vec<FramedItem>) -> bool {
        self.splitter.finish(out)
    }
}

/// The value of column `index` of one framed CSV record, if it has one.
///
/// Reads with a `csv_core` parser kept per thread and reset for each record: building a parser
/// (its state machine) per record cost several times more than reading the record.
pub(crate) fn field(record: &[u8], delimiter: char, index: usize) -> Option<String> {
    let delimiter = u8::try_from(delimiter).ok()?;
    KEY_READER.with(|cell| {
        let mut cached = cell.borrow_mut();
        let reader = match &mut *cached {
            Some((d, reader)) if *d == delimiter => reader,
            slot => {
                let reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
                &mut slot.insert((delimiter, reader)).1
            }
        };
        reader.reset();
        field_with(reader, record, index)
    })
}

thread_local! {
    /// The parser of [`field`], per thread.
    static KEY_READER: std::cell::RefCell<Option<(u8, csv_core::Reader)>> =
        const { std::cell::RefCell::new(None) };
}

fn field_with(reader: &mut csv_core::Reader, record: &[u8], index: usize) -> Option<String> {
    // A field's unescaped bytes are never longer than the record.
    let mut out = vec![0u8; record.len() + 1];
    let (mut input, mut written, mut start, mut column) = (record, 0, 0, 0);

    loop {
        // Once `input` is empty, the call tells the reader the record has ended.
        let (result, read, wrote) = reader.read_field(input, &mut out[written..]);
        input = &input[read..];
        written += wrote;
        match result {
            csv_core::ReadFieldResult::InputEmpty => {}
            csv_core::ReadFieldResult::OutputFull | csv_core::ReadFieldResult::End => return None,
            csv_core::ReadFieldResult::Field { record_end } => {
                if column == index {
                    return Some(String::from_utf8_lossy(&out[start..written]).into_owned());
                }
                if record_end {
                    return None;
                }
                column += 1;
                start = written;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::tests::{catalog_spec, skips_and_payloads};
    use crate::framing::{frame_bytes, FramedItem, FramingError};
    use iocflow_schemas::spec::IntegrationSpec;
    use std::path::Path;

    fn csv_spec(extra: &str) -> IntegrationSpec {
        let text = format!(
            r##"
name = "t"
title = "t"
key_field = "id"
[request]
url = "https://example.org/x.csv"
[framing]
kind = "csv"
comment_prefix = "#"
columns = ["id", "url"]
{extra}
[mapping]
type = "url"
value = "url"
"##
        );
        IntegrationSpec::parse(&text, Path::new("t")).unwrap()
    }

    #[test]
    fn urlhaus_recording_frames_rows_with_keys() {
        let spec = catalog_spec("urlhaus");
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/integrations/urlhaus/recordings/csv_recent.csv"
        ))
        .unwrap();
        let items = frame_bytes(&spec, &body).unwrap();
        let (skips, payloads) = skips_and_payloads(&items);
        assert_eq!(&skips[..9], &["comment"; 9]);
        assert!(!payloads.is_empty());
        let FramedItem::Record { key, payload } = &items[9] else {
            panic!("item 9 is a record");
        };
        assert_eq!(key.as_deref(), Some("2849530"));
        assert!(payload.starts_with(b"\"2849530\",\"2024-05-01 11:58:05\""));
        assert!(!payload.ends_with(b"\n"));
    }

    #[test]
    fn quoted_newline_stays_in_one_record() {
        let spec = csv_spec("");
        let body = b"\"1\",\"http://a/\nb\"\r\n\"2\",\"say \"\"hi\"\"\"\n";
        let items = frame_bytes(&spec, body).unwrap();
        let (_, payloads) = skips_and_payloads(&items);
        assert_eq!(
            payloads,
            vec![
                b"\"1\",\"http://a/\nb\"".to_vec(),
                b"\"2\",\"say \"\"hi\"\"\"".to_vec()
            ]
        );
        let FramedItem::Record { key, .. } = &items[1] else {
            panic!("record");
        };
        assert_eq!(key.as_deref(), Some("2"));
    }

    #[test]
    fn header_comment_and_blank_are_counted_skips() {
        let spec = csv_spec("has_header = true");
        let items = frame_bytes(&spec, b"# c\nid,url\n\n1,http://x/\n").unwrap();
        let (skips, payloads) = skips_and_payloads(&items);
        assert_eq!(skips, vec!["comment", "header", "blank"]);
        assert_eq!(payloads, vec![b"1,http://x/".to_vec()]);
    }

    #[test]
    fn too_large_record_is_skipped() {
        let spec = csv_spec("max_item_bytes = 8");
        let items = frame_bytes(&spec, b"1,\"http://long/\nstill\"\n2,ok\n").unwrap();
        let (skips, payloads) = skips_and_payloads(&items);
        assert_eq!(skips, vec!["too_large"]);
        assert_eq!(payloads, vec![b"2,ok".to_vec()]);
    }

    #[test]
    fn unterminated_quote_is_a_truncated_body() {
        let spec = csv_spec("");
        let err = frame_bytes(&spec, b"1,\"http://a/\n").unwrap_err();
        assert!(matches!(err, FramingError::Truncated { .. }), "{err}");
    }

    #[test]
    fn field_reads_quoted_columns() {
        assert_eq!(field(b"\"a,b\",c", ',', 0).as_deref(), Some("a,b"));
        assert_eq!(field(b"x;y", ';', 1).as_deref(), Some("y"));
        assert_eq!(field(b"x", ',', 3), None);
        assert_eq!(
            field(b"\"say \"\"hi\"\"\",2", ',', 0).as_deref(),
            Some("say \"hi\"")
        );
        assert_eq!(field(b"\"multi\nline\",z\n", ',', 1).as_deref(), Some("z"));
        assert_eq!(field(b"a,,c", ',', 1).as_deref(), Some(""));
        assert_eq!(field(b"", ',', 0).as_deref(), None);
    }
}
