//! The replay server's decisions, free of I/O: which recorded response a request matches,
//! whether it carries the expected secret, whether a fault is injected, and the streaming
//! `{{base_url}}` substitution. The server in the parent module only wires these to HTTP.

use std::sync::atomic::{AtomicU32, Ordering};

use axum::http::HeaderMap;
use iocflow_schemas::spec::AuthSpec;

use crate::integrations::recordings::RecordedResponse;

/// Checks a request against the spec's auth and the recorded secret.
///
/// No secret recorded, or an integration without auth, accepts every request.
///
/// # Errors
/// A short, secret-free reason when the credential is missing or wrong.
pub fn check_auth(
    auth: &AuthSpec,
    secret: Option<&str>,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<(), String> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());

    match auth {
        AuthSpec::None => Ok(()),
        AuthSpec::Header { name, .. } => match header(name) {
            Some(v) if v == secret => Ok(()),
            Some(_) => Err(format!("wrong value in header {name}")),
            None => Err(format!("missing header {name}")),
        },
        AuthSpec::Query { name, .. } => match query.iter().find(|(k, _)| k == name) {
            Some((_, v)) if v == secret => Ok(()),
            Some(_) => Err(format!("wrong value in query parameter {name}")),
            None => Err(format!("missing query parameter {name}")),
        },
        AuthSpec::Bearer { .. } => match header("authorization") {
            Some(v) if v.strip_prefix("Bearer ") == Some(secret) => Ok(()),
            Some(_) => Err("wrong bearer token".into()),
            None => Err("missing Authorization header".into()),
        },
        AuthSpec::Basic { username, .. } => {
            let expected = format!("Basic {}", base64_encode(format!("{username}:{secret}")));
            match header("authorization") {
                Some(v) if v == expected => Ok(()),
                Some(_) => Err("wrong basic credentials".into()),
                None => Err("missing Authorization header".into()),
            }
        }
    }
}

/// Index of the first recorded response whose method, path and query match the request.
pub fn find_match<'a>(
    responses: impl IntoIterator<Item = &'a RecordedResponse>,
    method: &str,
    path: &str,
    query: &[(String, String)],
) -> Option<usize> {
    responses.into_iter().position(|r| {
        r.method.eq_ignore_ascii_case(method)
            && r.path == path
            && r.query
                .iter()
                .all(|(k, v)| query.iter().any(|(qk, qv)| qk == k && qv == v))
    })
}

/// Counts the requests one recorded response has matched, to inject its first failures.
#[derive(Debug, Default)]
pub struct FaultCounter {
    seen: AtomicU32,
}

impl FaultCounter {
    /// Records one more matching request; true when it must get the injected failure status.
    pub fn next_fails(&self, fail_first: u32) -> bool {
        if fail_first == 0 {
            return false;
        }
        // Saturate instead of wrapping so a long-running server never fails again by overflow.
        let seen = self
            .seen
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(1))
            })
            .unwrap_or(u32::MAX);
        seen < fail_first
    }
}

/// Splits a request path `/<name>/rest` into the integration name and the rest (`/` at least).
pub fn split_mount(path: &str) -> Option<(&str, &str)> {
    let trimmed = path.strip_prefix('/')?;
    match trimmed.find('/') {
        Some(i) => Some((&trimmed[..i], &trimmed[i..])),
        None if !trimmed.is_empty() => Some((trimmed, "/")),
        None => None,
    }
}

/// Replaces a placeholder in a byte stream that arrives in arbitrary chunks.
///
/// Holds back at most `placeholder.len() - 1` bytes between chunks, so memory stays bounded by
/// the chunk size whatever the body size.
#[derive(Debug)]
pub struct StreamingReplacer {
    placeholder: Vec<u8>,
    replacement: Vec<u8>,
    pending: Vec<u8>,
    replaced: u64,
}

impl StreamingReplacer {
    /// A replacer of `placeholder` (non-empty) by `replacement`.
    pub fn new(placeholder: &str, replacement: &str) -> StreamingReplacer {
        StreamingReplacer {
            placeholder: placeholder.as_bytes().to_vec(),
            replacement: replacement.as_bytes().to_vec(),
            pending: Vec::new(),
            replaced: 0,
        }
    }

    /// Feeds a chunk; returns the bytes that are final.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(self.pending.len());
        let mut i = 0;
        let p = &self.placeholder;
        while i < self.pending.len() {
            if self.pending[i..].starts_with(p) {
                out.extend_from_slice(&self.replacement);
                i += p.len();
                self.replaced += 1;
            } else if self.pending.len() - i < p.len() && p.starts_with(&self.pending[i..]) {
                // A possible start of the placeholder at the end of the chunk: keep it.
                break;
            } else {
                out.push(self.pending[i]);
                i += 1;
            }
        }
        self.pending.drain(..i);
        out
    }

    /// The held-back bytes, at the end of the stream.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }
}

/// Counts non-overlapping occurrences of `needle` in chunks fed one after another.
#[derive(Debug)]
pub struct OccurrenceCounter {
    replacer: StreamingReplacer,
}

impl OccurrenceCounter {
    /// A counter of `needle` (non-empty).
    pub fn new(needle: &str) -> OccurrenceCounter {
        OccurrenceCounter {
            replacer: StreamingReplacer::new(needle, ""),
        }
    }

    /// Feeds a chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        drop(self.replacer.push(chunk));
    }

    /// Occurrences seen so far.
    pub fn count(&self) -> u64 {
        self.replacer.replaced
    }
}

/// Standard base64 with padding (only used to build the expected HTTP Basic header).
pub fn base64_encode(input: impl AsRef<[u8]>) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_ref();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entry(method: &str, path: &str, query: &[(&str, &str)]) -> RecordedResponse {
        RecordedResponse {
            method: method.into(),
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            status: 200,
            headers: BTreeMap::new(),
            body_file: None,
            fail_first: 0,
            fail_status: 503,
            retry_after_secs: None,
            truncate_body_at: None,
            delay_ms: 0,
        }
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn first_matching_entry_wins_and_query_must_be_present() {
        let rs = vec![
            entry("GET", "/list", &[("page", "2")]),
            entry("GET", "/list", &[]),
            entry("POST", "/search", &[]),
        ];
        assert_eq!(
            find_match(&rs, "GET", "/list", &q(&[("page", "2"), ("x", "y")])),
            Some(0)
        );
        assert_eq!(
            find_match(&rs, "GET", "/list", &q(&[("page", "3")])),
            Some(1)
        );
        assert_eq!(find_match(&rs, "GET", "/list", &[]), Some(1));
        assert_eq!(find_match(&rs, "get", "/search", &[]), None);
        assert_eq!(find_match(&rs, "POST", "/search", &[]), Some(2));
        assert_eq!(find_match(&rs, "GET", "/other", &[]), None);
    }

    #[test]
    fn auth_is_checked_the_way_the_spec_says() {
        let mut h = HeaderMap::new();
        let header = AuthSpec::Header {
            name: "Auth-Key".into(),
            secret_env: "E".into(),
        };
        assert!(check_auth(&header, Some("s3"), &h, &[]).is_err());
        h.insert("auth-key", "wrong".parse().unwrap());
        assert!(check_auth(&header, Some("s3"), &h, &[]).is_err());
        h.insert("auth-key", "s3".parse().unwrap());
        assert!(check_auth(&header, Some("s3"), &h, &[]).is_ok());
        assert!(check_auth(&header, None, &HeaderMap::new(), &[]).is_ok());

        let query = AuthSpec::Query {
            name: "key".into(),
            secret_env: "E".into(),
        };
        assert!(check_auth(&query, Some("s3"), &HeaderMap::new(), &q(&[("key", "s3")])).is_ok());
        assert!(check_auth(&query, Some("s3"), &HeaderMap::new(), &q(&[("key", "x")])).is_err());

        let bearer = AuthSpec::Bearer {
            secret_env: "E".into(),
        };
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer s3".parse().unwrap());
        assert!(check_auth(&bearer, Some("s3"), &h, &[]).is_ok());
        assert!(check_auth(&bearer, Some("s4"), &h, &[]).is_err());

        let basic = AuthSpec::Basic {
            username: "Aladdin".into(),
            secret_env: "E".into(),
        };
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".parse().unwrap(),
        );
        assert!(check_auth(&basic, Some("open sesame"), &h, &[]).is_ok());
        assert!(check_auth(&basic, Some("closed"), &h, &[]).is_err());
    }

    #[test]
    fn reasons_never_carry_the_secret() {
        let mut h = HeaderMap::new();
        h.insert("auth-key", "almost-the-secret".parse().unwrap());
        let auth = AuthSpec::Header {
            name: "Auth-Key".into(),
            secret_env: "E".into(),
        };
        let reason = check_auth(&auth, Some("the-secret"), &h, &[]).unwrap_err();
        assert!(!reason.contains("secret"), "{reason}");
    }

    #[test]
    fn first_requests_fail_then_succeed() {
        let c = FaultCounter::default();
        assert!(c.next_fails(2));
        assert!(c.next_fails(2));
        assert!(!c.next_fails(2));
        assert!(!c.next_fails(2));
        assert!(!FaultCounter::default().next_fails(0));
    }

    #[test]
    fn mount_point_is_the_first_segment() {
        assert_eq!(
            split_mount("/urlhaus/downloads/x/"),
            Some(("urlhaus", "/downloads/x/"))
        );
        assert_eq!(split_mount("/urlhaus"), Some(("urlhaus", "/")));
        assert_eq!(split_mount("/"), None);
    }

    #[test]
    fn placeholder_is_replaced_across_chunk_boundaries() {
        let body = b"a{{base_url}}/next b {{base_ur c {{base_url}}";
        let expected = "ahttp://h/x/next b {{base_ur c http://h/x";
        for split in 1..body.len() {
            let mut r = StreamingReplacer::new("{{base_url}}", "http://h/x");
            let mut out = Vec::new();
            for chunk in body.chunks(split) {
                out.extend(r.push(chunk));
            }
            out.extend(r.finish());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected,
                "chunk size {split}"
            );

            let mut c = OccurrenceCounter::new("{{base_url}}");
            for chunk in body.chunks(split) {
                c.push(chunk);
            }
            assert_eq!(c.count(), 2, "chunk size {split}");
        }
    }

    #[test]
    fn base64_matches_the_rfc_examples() {
        assert_eq!(base64_encode(""), "");
        assert_eq!(base64_encode("f"), "Zg==");
        assert_eq!(base64_encode("fo"), "Zm8=");
        assert_eq!(base64_encode("foo"), "Zm9v");
        assert_eq!(base64_encode("foob"), "Zm9vYg==");
        assert_eq!(base64_encode("fooba"), "Zm9vYmE=");
        assert_eq!(base64_encode("foobar"), "Zm9vYmFy");
    }
}
