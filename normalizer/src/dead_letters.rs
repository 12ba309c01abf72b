//! Dead letters of the normalize stage: a codec-encoded `DeadLetter` record (original bytes,
//! error kind and message, original topic/partition/offset) with the same facts repeated in
//! Kafka headers, so tools can filter the dead-letter topic without decoding it.

use iocflow_schemas::{codec, CodecError, DeadLetter};
use iocflow_service::kafka::headers;
use rdkafka::message::{Header, OwnedHeaders};

use crate::error::ErrorKind;
use crate::events::STAGE;
use crate::Origin;

/// Longest error message put in a header, in bytes (the record keeps the whole message).
const MAX_HEADER_MESSAGE_BYTES: usize = 1024;

/// A dead letter ready to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterOut {
    /// Key: the original record's key.
    pub key: Option<Vec<u8>>,
    /// The encoded `DeadLetter`.
    pub payload: Vec<u8>,
    /// Header name and value pairs.
    pub headers: Vec<(&'static str, String)>,
}

/// Builds the dead letter of a record that could not be normalized.
///
/// # Errors
/// [`CodecError`] if the record cannot be encoded (cannot happen with valid UTF-8 strings).
pub fn build(
    source: &str,
    kind: ErrorKind,
    message: &str,
    origin: &Origin,
    original_key: Option<&[u8]>,
    original_value: &[u8],
    failed_at_ms: i64,
) -> Result<DeadLetterOut, CodecError> {
    let record = DeadLetter {
        stage: STAGE.into(),
        source: source.into(),
        error_kind: kind.as_str().into(),
        error_message: message.into(),
        original_topic: origin.topic.clone(),
        original_partition: origin.partition,
        original_offset: origin.offset,
        original_key: original_key.map(<[u8]>::to_vec),
        original_value: original_value.to_vec(),
        failed_at_ms,
    };
    let payload = codec().encode(&record)?;
    let headers = vec![
        (headers::STAGE, STAGE.to_owned()),
        (headers::SOURCE, source.to_owned()),
        (headers::ERROR_KIND, kind.as_str().to_owned()),
        (
            headers::ERROR_MESSAGE,
            truncate_bytes(message, MAX_HEADER_MESSAGE_BYTES).to_owned(),
        ),
        (headers::ORIGINAL_TOPIC, origin.topic.clone()),
        (headers::ORIGINAL_PARTITION, origin.partition.to_string()),
        (headers::ORIGINAL_OFFSET, origin.offset.to_string()),
    ];
    Ok(DeadLetterOut {
        key: original_key.map(<[u8]>::to_vec),
        payload,
        headers,
    })
}

/// Kafka headers from name/value pairs.
pub fn to_kafka_headers(pairs: &[(&'static str, String)]) -> OwnedHeaders {
    pairs.iter().fold(
        OwnedHeaders::new_with_capacity(pairs.len()),
        |h, (key, value)| {
            h.insert(Header {
                key,
                value: Some(value.as_bytes()),
            })
        },
    )
}

fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::Headers;

    #[test]
    fn dead_letter_carries_original_bytes_and_reason() {
        let origin = Origin {
            topic: "iocflow.raw".into(),
            partition: 2,
            offset: 41,
        };
        let out = build(
            "urlhaus",
            ErrorKind::InvalidValue,
            "not a URL",
            &origin,
            Some(b"k"),
            &[0, 159, 146, 150],
            7,
        )
        .unwrap();
        let dl: DeadLetter = codec().decode(&out.payload).unwrap();
        assert_eq!(dl.original_value, [0, 159, 146, 150]);
        assert_eq!(dl.error_kind, "invalid_value");
        assert_eq!((dl.original_partition, dl.original_offset), (2, 41));
        assert_eq!(out.key.as_deref(), Some(&b"k"[..]));

        let headers = to_kafka_headers(&out.headers);
        let find = |name: &str| {
            headers
                .iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(find(headers::ERROR_KIND).as_deref(), Some("invalid_value"));
        assert_eq!(find(headers::ORIGINAL_OFFSET).as_deref(), Some("41"));
        assert_eq!(find(headers::STAGE).as_deref(), Some("normalize"));
    }

    #[test]
    fn header_message_is_cut_on_a_char_boundary() {
        let long = "é".repeat(1000);
        let cut = truncate_bytes(&long, MAX_HEADER_MESSAGE_BYTES);
        assert!(cut.len() <= MAX_HEADER_MESSAGE_BYTES);
        assert!(long.starts_with(cut));
    }
}
