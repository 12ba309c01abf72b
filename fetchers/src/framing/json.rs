//! JSON framing: one item per element of the array at `items_pointer` (`framing.kind = "json"`).
//!
//! The body is scanned byte by byte, never parsed as a whole: outside the items array the
//! scanner tracks the structure (objects, arrays, keys) so it knows where it is; inside it only
//! tracks strings, escapes and depth to find where an element ends, and copies the element's
//! bytes untouched. Values the fetcher needs from the same body (the next-page link, a cursor
//! token, the `status_pointer` field) are captured during the same scan.
//!
//! Elements are not validated (the normalizer does that); the structure around them is, and a
//! body that ends early is an error.

use std::collections::BTreeMap;

use super::{FramedItem, FramingError};

/// Where the scanner stands outside an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a value.
    Value,
    /// Just after `[`: a value or `]`.
    ValueOrClose,
    /// Just after `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value: `,` or the container's end.
    AfterValue,
    /// Inside a string outside items.
    Str { is_key: bool, escaped: bool },
    /// Inside a number or literal outside items.
    Scalar,
    /// Inside an element of the items array.
    Item,
    /// After the top-level value.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Container,
    Str,
    Scalar,
}

#[derive(Debug)]
struct Frame {
    is_object: bool,
    index: usize,
    key: Option<String>,
    is_items: bool,
}

/// Streaming JSON array framer.
#[derive(Debug)]
pub(crate) struct JsonFramer {
    items_path: Vec<String>,
    captures: Vec<(String, Vec<String>)>,
    captured: BTreeMap<String, serde_json::Value>,
    max_item_bytes: usize,
    stack: Vec<Frame>,
    state: State,
    offset: u64,
    items_found: bool,
    /// Key text, or the raw bytes of a value being captured.
    token: Vec<u8>,
    capturing: Option<usize>,
    item: Vec<u8>,
    item_kind: ItemKind,
    item_depth: u32,
    item_in_str: bool,
    item_escaped: bool,
    item_too_large: bool,
}

enum Step {
    Consumed,
    Again,
}

impl JsonFramer {
    /// A framer for the array at `items_pointer` that also captures the values at `captures`.
    pub(crate) fn new(items_pointer: &str, max_item_bytes: usize, captures: &[String]) -> Self {
        JsonFramer {
            items_path: parse_pointer(items_pointer),
            captures: captures
                .iter()
                .map(|p| (p.clone(), parse_pointer(p)))
                .collect(),
            captured: BTreeMap::new(),
            max_item_bytes,
            stack: Vec::new(),
            state: State::Value,
            offset: 0,
            items_found: false,
            token: Vec::new(),
            capturing: None,
            item: Vec::new(),
            item_kind: ItemKind::Scalar,
            item_depth: 0,
            item_in_str: false,
            item_escaped: false,
            item_too_large: false,
        }
    }

    /// The value captured at `pointer`, if the body had one.
    pub(crate) fn captured(&self, pointer: &str) -> Option<&serde_json::Value> {
        self.captured.get(pointer)
    }

    /// Feeds one chunk.
    ///
    /// # Errors
    /// [`FramingError::MalformedJson`] when the structure around the items is not JSON.
    pub(crate) fn push(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<FramedItem>,
    ) -> Result<(), FramingError> {
        let mut i = 0;
        while i < chunk.len() {
            match self.step(chunk[i], out)? {
                Step::Consumed => {
                    i += 1;
                    self.offset += 1;
                }
                Step::Again => {}
            }
        }
        Ok(())
    }

    /// Ends the input. Returns whether the items array was found.
    ///
    /// # Errors
    /// [`FramingError::Truncated`] when the body ends inside a value.
    pub(crate) fn finish(&mut self, out: &mut Vec<FramedItem>) -> Result<bool, FramingError> {
        if self.state == State::Scalar && self.stack.is_empty() {
            self.end_scalar()?;
        }
        if self.state == State::Item && self.item_kind == ItemKind::Scalar {
            // A scalar element directly before the end of input: the array never closed.
            self.emit_item(out);
        }
        if self.state != State::End {
            return Err(FramingError::Truncated {
                offset: self.offset,
            });
        }
        Ok(self.items_found)
    }

    fn malformed(&self, message: &str) -> FramingError {
        FramingError::MalformedJson {
            offset: self.offset,
            message: message.to_string(),
        }
    }

    fn step(&mut self, b: u8, out: &mut Vec<FramedItem>) -> Result<Step, FramingError> {
        let ws = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.state {
            State::Item => return Ok(self.item_byte(b, out)),
            State::Str { is_key, escaped } => {
                self.string_byte(b, is_key, escaped)?;
                return Ok(Step::Consumed);
            }
            State::Scalar => {
                if ws || matches!(b, b',' | b']' | b'}') {
                    self.end_scalar()?;
                    return Ok(Step::Again);
                }
                if !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) {
                    return Err(self.malformed("unexpected byte in a number or literal"));
                }
                if self.capturing.is_some() {
                    self.token.push(b);
                }
                return Ok(Step::Consumed);
            }
            _ => {}
        }
        if ws {
            return Ok(Step::Consumed);
        }

        match self.state {
            State::Value | State::ValueOrClose => {
                if self.state == State::ValueOrClose && b == b']' {
                    self.close(false)?;
                    return Ok(Step::Consumed);
                }
                if self.stack.last().is_some_and(|f| f.is_items) {
                    self.start_item(b);
                    return Ok(Step::Consumed);
                }
                self.start_value(b)?;
            }
            State::KeyOrClose | State::Key => {
                if b == b'}' && self.state == State::KeyOrClose {
                    self.close(true)?;
                } else if b == b'"' {
                    self.token.clear();
                    self.token.push(b);
                    self.state = State::Str {
                        is_key: true,
                        escaped: false,
                    };
                } else {
                    return Err(self.malformed("expected an object key"));
                }
            }
            State::Colon => {
                if b != b':' {
                    return Err(self.malformed("expected `:`"));
                }
                self.state = State::Value;
            }
            State::AfterValue => match (b, self.stack.last_mut()) {
                (b',', Some(frame)) if frame.is_object => self.state = State::Key,
                (b',', Some(frame)) => {
                    frame.index += 1;
                    self.state = State::Value;
                }
                (b'}', _) => self.close(true)?,
                (b']', _) => self.close(false)?,
                _ => return Err(self.malformed("expected `,` or the end of a container")),
            },
            State::End => return Err(self.malformed("data after the top-level value")),
            State::Item | State::Str { .. } | State::Scalar => {}
        }
        Ok(Step::Consumed)
    }

    fn path_is(&self, target: &[String]) -> bool {
        self.stack.len() == target.len()
            && self.stack.iter().zip(target).all(|(f, seg)| {
                if f.is_object {
                    f.key.as_deref() == Some(seg.as_str())
                } else {
                    seg.parse::<usize>().is_ok_and(|i| i == f.index)
                }
            })
    }

    fn start_value(&mut self, b: u8) -> Result<(), FramingError> {
        let at_items = self.path_is(&self.items_path);
        self.capturing = self.captures.iter().position(|(_, p)| self.path_is(p));
        match b {
            b'{' => {
                self.capturing = None;
                self.stack.push(Frame {
                    is_object: true,
                    index: 0,
                    key: None,
                    is_items: false,
                });
                self.state = State::KeyOrClose;
            }
            b'[' => {
                self.capturing = None;
                if at_items {
                    self.items_found = true;
                }
                self.stack.push(Frame {
                    is_object: false,
                    index: 0,
                    key: None,
                    is_items: at_items,
                });
                self.state = State::ValueOrClose;
            }
            b'"' => {
                self.token.clear();
                self.token.push(b);
                self.state = State::Str {
                    is_key: false,
                    escaped: false,
                };
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                self.token.clear();
                self.token.push(b);
                self.state = State::Scalar;
            }
            _ => return Err(self.malformed("expected a value")),
        }
        Ok(())
    }

    fn string_byte(&mut self, b: u8, is_key: bool, escaped: bool) -> Result<(), FramingError> {
        let keep = is_key || self.capturing.is_some();
        if keep {
            if self.token.len() >= self.max_item_bytes {
                return Err(self.malformed("string outside items is longer than max_item_bytes"));
            }
            self.token.push(b);
        }
        if escaped {
            self.state = State::Str {
                is_key,
                escaped: false,
            };
            return Ok(());
        }
        match b {
            b'\\' => {
                self.state = State::Str {
                    is_key,
                    escaped: true,
                }
            }
            b'"' if is_key => {
                let key: String = serde_json::from_slice(&self.token)
                    .map_err(|_| self.malformed("object key is not a valid JSON string"))?;
                if let Some(frame) = self.stack.last_mut() {
                    frame.key = Some(key);
                }
                self.state = State::Colon;
            }
            b'"' => {
                self.finish_capture();
                self.value_done();
            }
            _ => {}
        }
        Ok(())
    }

    fn end_scalar(&mut self) -> Result<(), FramingError> {
        if self.capturing.is_some() {
            if serde_json::from_slice::<serde_json::Value>(&self.token).is_err() {
                return Err(self.malformed("invalid number or literal"));
            }
            self.finish_capture();
        }
        self.value_done();
        Ok(())
    }

    fn finish_capture(&mut self) {
        if let Some(i) = self.capturing.take() {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&self.token) {
                self.captured.insert(self.captures[i].0.clone(), v);
            }
        }
        self.token.clear();
    }

    fn value_done(&mut self) {
        self.state = if self.stack.is_empty() {
            State::End
        } else {
            State::AfterValue
        };
    }

    fn close(&mut self, object: bool) -> Result<(), FramingError> {
        match self.stack.last() {
            Some(f) if f.is_object == object => {
                self.stack.pop();
                self.value_done();
                Ok(())
            }
            _ => Err(self.malformed("mismatched closing bracket")),
        }
    }

    fn start_item(&mut self, b: u8) {
        self.item.clear();
        self.item_too_large = false;
        self.item_in_str = false;
        self.item_escaped = false;
        self.item_depth = 0;
        self.item_kind = match b {
            b'{' | b'[' => {
                self.item_depth = 1;
                ItemKind::Container
            }
            b'"' => {
                self.item_in_str = true;
                ItemKind::Str
            }
            _ => ItemKind::Scalar,
        };
        self.append_item(b);
        self.state = State::Item;
    }

    fn append_item(&mut self, b: u8) {
        if self.item_too_large {
            return;
        }
        if self.item.len() >= self.max_item_bytes {
            self.item_too_large = true;
            self.item = Vec::new();
        } else {
            self.item.push(b);
        }
    }

    fn item_byte(&mut self, b: u8, out: &mut Vec<FramedItem>) -> Step {
        if self.item_kind == ItemKind::Scalar {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b']' | b'}') {
                self.emit_item(out);
                return Step::Again;
            }
            self.append_item(b);
            return Step::Consumed;
        }

        self.append_item(b);
        if self.item_in_str {
            if self.item_escaped {
                self.item_escaped = false;
            } else if b == b'\\' {
                self.item_escaped = true;
            } else if b == b'"' {
                self.item_in_str = false;
                if self.item_kind == ItemKind::Str {
                    self.emit_item(out);
                }
            }
            return Step::Consumed;
        }
        match b {
            b'"' => self.item_in_str = true,
            b'{' | b'[' => self.item_depth += 1,
            b'}' | b']' => {
                self.item_depth -= 1;
                if self.item_depth == 0 {
                    self.emit_item(out);
                }
            }
            _ => {}
        }
        Step::Consumed
    }

    fn emit_item(&mut self, out: &mut Vec<FramedItem>) {
        let item = if self.item_too_large {
            FramedItem::Skipped {
                reason: "too_large",
            }
        } else {
            FramedItem::Record {
                payload: std::mem::take(&mut self.item),
                key: None,
            }
        };
        out.push(item);
        self.item_too_large = false;
        self.state = State::AfterValue;
    }
}

/// Splits a JSON pointer into unescaped segments (`""` is the whole document).
pub(crate) fn parse_pointer(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// A field of one JSON item as text: an object key, or a JSON pointer when it starts with `/`.
pub(crate) fn field(item: &[u8], name: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(item).ok()?;
    let found = if name.starts_with('/') {
        value.pointer(name)?
    } else {
        value.get(name)?
    };
    value_text(found)
}

/// A scalar JSON value as text; `None` for null, arrays and objects.
pub(crate) fn value_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::frame_bytes;
    use crate::framing::tests::{catalog_spec, skips_and_payloads};

    fn frame(pointer: &str, body: &[u8], max: usize) -> Result<Vec<FramedItem>, FramingError> {
        let mut f = JsonFramer::new(pointer, max, &[]);
        let mut out = Vec::new();
        f.push(body, &mut out)?;
        if !f.finish(&mut out)? {
            return Err(FramingError::ItemsNotFound {
                pointer: pointer.into(),
            });
        }
        Ok(out)
    }

    #[test]
    fn feodotracker_recording_yields_each_element_untouched() {
        let spec = catalog_spec("feodotracker");
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/integrations/feodotracker/recordings/ipblocklist.json"
        ))
        .unwrap();
        let items = frame_bytes(&spec, &body).unwrap();
        let whole: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert_eq!(items.len(), whole.len());
        let (skips, payloads) = skips_and_payloads(&items);
        assert!(skips.is_empty());
        for (payload, value) in payloads.iter().zip(&whole) {
            let parsed: serde_json::Value = serde_json::from_slice(payload).unwrap();
            assert_eq!(&parsed, value);
        }
    }

    #[test]
    fn nested_items_pointer_and_captures() {
        let body = br#"{"query_status": "ok", "data": [{"a": "x]}\"y"}, 2, "s", [1, [2]]],
            "links": {"next": "/page/2"}, "n": null}"#;
        let mut f = JsonFramer::new(
            "/data",
            1000,
            &["/query_status".into(), "/links/next".into(), "/n".into()],
        );
        let mut out = Vec::new();
        f.push(body, &mut out).unwrap();
        assert!(f.finish(&mut out).unwrap());
        let (_, payloads) = skips_and_payloads(&out);
        assert_eq!(
            payloads,
            vec![
                br#"{"a": "x]}\"y"}"#.to_vec(),
                b"2".to_vec(),
                b"\"s\"".to_vec(),
                b"[1, [2]]".to_vec()
            ]
        );
        assert_eq!(f.captured("/query_status"), Some(&serde_json::json!("ok")));
        assert_eq!(
            f.captured("/links/next"),
            Some(&serde_json::json!("/page/2"))
        );
        assert_eq!(f.captured("/n"), Some(&serde_json::Value::Null));
    }

    #[test]
    fn truncated_json_is_an_error() {
        let err = frame("", br#"[{"a": 1}, {"b": "#, 1000).unwrap_err();
        assert!(matches!(err, FramingError::Truncated { .. }), "{err}");
        let err = frame("/data", br#"{"data": [1, 2"#, 1000).unwrap_err();
        assert!(matches!(err, FramingError::Truncated { .. }), "{err}");
    }

    #[test]
    fn malformed_structure_and_missing_items_are_errors() {
        assert!(matches!(
            frame("", b"[1, 2} ", 1000),
            Err(FramingError::MalformedJson { .. })
        ));
        assert!(matches!(
            frame("/data", br#"{"other": []}"#, 1000),
            Err(FramingError::ItemsNotFound { .. })
        ));
        assert!(matches!(
            frame("", b"[1] x", 1000),
            Err(FramingError::MalformedJson { .. })
        ));
    }

    #[test]
    fn too_large_element_is_skipped_and_scanning_continues() {
        let items = frame("", br#"[{"big": "0123456789abcdef"}, {"s": 1}]"#, 10).unwrap();
        let (skips, payloads) = skips_and_payloads(&items);
        assert_eq!(skips, vec!["too_large"]);
        assert_eq!(payloads, vec![br#"{"s": 1}"#.to_vec()]);
    }

    #[test]
    fn empty_array_and_invalid_utf8_in_strings() {
        assert!(frame("", b" [ ] ", 10).unwrap().is_empty());
        let items = frame("", b"[\"\xff\"]", 10).unwrap();
        let (_, payloads) = skips_and_payloads(&items);
        assert_eq!(payloads, vec![b"\"\xff\"".to_vec()]);
    }

    #[test]
    fn field_reads_keys_and_pointers() {
        let item = br#"{"id": 7, "x": {"y": "z"}, "n": null}"#;
        assert_eq!(field(item, "id").as_deref(), Some("7"));
        assert_eq!(field(item, "/x/y").as_deref(), Some("z"));
        assert_eq!(field(item, "n"), None);
        assert_eq!(parse_pointer("/a~1b/c~0"), vec!["a/b", "c~"]);
    }
}
