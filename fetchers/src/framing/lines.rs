//! Line framing: one item per line of text (`framing.kind = "lines"`).
//!
//! The splitter here is also the record splitter of the CSV framer ([`super::csv`]), which turns
//! on quote tracking so that a newline inside a quoted field does not end the record. Bytes are
//! never decoded: a line with invalid UTF-8 passes through untouched for the normalizer to judge.

use super::FramedItem;

/// Splits a byte stream into lines (or CSV records) chunk by chunk and classifies each one.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    comment_prefix: Option<Vec<u8>>,
    max_item_bytes: usize,
    quotes: bool,
    header_pending: bool,
    buf: Vec<u8>,
    /// Bytes of the current line seen so far (kept even when `buf` stopped growing).
    seen: usize,
    in_quotes: bool,
    /// `Some(true)` once the current line is known to be a comment, `None` while undecided.
    comment: Option<bool>,
    too_large: bool,
}

impl LineSplitter {
    /// A splitter; `quotes` turns on CSV quote tracking, `has_header` skips the first data line.
    pub(crate) fn new(
        comment_prefix: Option<&str>,
        max_item_bytes: usize,
        quotes: bool,
        has_header: bool,
    ) -> LineSplitter {
        LineSplitter {
            comment_prefix: comment_prefix
                .filter(|p| !p.is_empty())
                .map(|p| p.as_bytes().to_vec()),
            max_item_bytes,
            quotes,
            header_pending: has_header,
            buf: Vec::new(),
            seen: 0,
            in_quotes: false,
            comment: None,
            too_large: false,
        }
    }

    /// Feeds one chunk, appending every line it completes to `out`.
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<FramedItem>) {
        for &b in chunk {
            if b == b'\n' && !(self.in_quotes && self.comment == Some(false)) {
                self.end_line(out);
                continue;
            }
            self.seen += 1;
            let decided = self.comment.is_some();
            if !self.too_large {
                if self.buf.len() < self.max_item_bytes {
                    self.buf.push(b);
                } else {
                    self.too_large = true;
                    self.buf = Vec::new();
                }
            }
            // The decision itself counts the quotes read so far, this byte included.
            self.decide_comment();
            if decided && self.quotes && b == b'"' && self.comment == Some(false) {
                self.in_quotes = !self.in_quotes;
            }
        }
    }

    /// Ends the input: a last line without a newline is still an item.
    ///
    /// Returns `false` when the input ended inside a quoted CSV field (a truncated body).
    pub(crate) fn finish(&mut self, out: &mut Vec<FramedItem>) -> bool {
        if self.in_quotes && self.comment == Some(false) {
            return false;
        }
        if self.seen > 0 {
            self.end_line(out);
        }
        true
    }

    /// Decides whether the current line is a comment as soon as enough bytes are in.
    fn decide_comment(&mut self) {
        if self.comment.is_some() {
            return;
        }
        let Some(prefix) = &self.comment_prefix else {
            self.comment = Some(false);
            return;
        };
        if self.buf.len() >= prefix.len() || self.too_large {
            let is_comment = self.buf.starts_with(prefix);
            self.comment = Some(is_comment);
            if !is_comment && self.quotes {
                // Quotes seen before the decision were not tracked yet.
                let quotes = self.buf.iter().filter(|&&c| c == b'"').count();
                self.in_quotes = quotes % 2 == 1;
            }
        }
    }

    fn end_line(&mut self, out: &mut Vec<FramedItem>) {
        // A line shorter than the prefix was never decided: it is not a comment.
        let is_comment = match self.comment {
            Some(c) => c,
            None => self
                .comment_prefix
                .as_ref()
                .is_some_and(|p| self.buf.starts_with(p)),
        };
        let mut line = std::mem::take(&mut self.buf);
        if line.last() == Some(&b'\r') {
            line.pop();
        }

        let item = if is_comment {
            FramedItem::Skipped { reason: "comment" }
        } else if self.too_large {
            FramedItem::Skipped {
                reason: "too_large",
            }
        } else if line.iter().all(u8::is_ascii_whitespace) {
            FramedItem::Skipped { reason: "blank" }
        } else if self.header_pending {
            self.header_pending = false;
            FramedItem::Skipped { reason: "header" }
        } else {
            FramedItem::Record {
                payload: line,
                key: None,
            }
        };
        out.push(item);

        self.seen = 0;
        self.in_quotes = false;
        self.comment = None;
        self.too_large = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::tests::{catalog_spec, skips_and_payloads};
    use crate::framing::{frame_bytes, FramedItem};

    fn split(input: &[u8], max: usize) -> Vec<FramedItem> {
        let mut s = LineSplitter::new(Some("#"), max, false, false);
        let mut out = Vec::new();
        s.push(input, &mut out);
        assert!(s.finish(&mut out));
        out
    }

    #[test]
    fn openphish_recording_frames_every_line() {
        let spec = catalog_spec("openphish");
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/integrations/openphish/recordings/feed.txt"
        ))
        .unwrap();
        let items = frame_bytes(&spec, &body).unwrap();
        let lines = body
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        let blanks = body.windows(2).filter(|w| w == b"\n\n").count();
        assert_eq!(items.len(), lines + blanks);
        let (skips, payloads) = skips_and_payloads(&items);
        assert_eq!(skips.iter().filter(|s| **s == "blank").count(), blanks);
        assert_eq!(
            payloads[0],
            b"https://secure-login.example-bank.com.verify-account.info/signin/".to_vec()
        );
    }

    #[test]
    fn comments_blanks_and_crlf() {
        let items = split(b"# head\r\n1.2.3.4\r\n\r\n  \n5.6.7.8", 100);
        let (skips, payloads) = skips_and_payloads(&items);
        assert_eq!(skips, vec!["comment", "blank", "blank"]);
        assert_eq!(payloads, vec![b"1.2.3.4".to_vec(), b"5.6.7.8".to_vec()]);
    }

    #[test]
    fn too_long_line_is_a_counted_skip_and_the_next_line_survives() {
        let items = split(b"aaaaaaaaaaaa\nbb\n", 5);
        let (skips, payloads) = skips_and_payloads(&items);
        assert_eq!(skips, vec!["too_large"]);
        assert_eq!(payloads, vec![b"bb".to_vec()]);
    }

    #[test]
    fn invalid_utf8_passes_through() {
        let items = split(b"\xff\xfeok\n", 100);
        let (_, payloads) = skips_and_payloads(&items);
        assert_eq!(payloads, vec![b"\xff\xfeok".to_vec()]);
    }
}
