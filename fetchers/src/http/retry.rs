//! Retrying a source request with exponential backoff and jitter (the `backon` crate).
//!
//! Connect errors, timeouts, 408, 429 and 5xx are retried up to `request.max_attempts` attempts;
//! a `Retry-After` header (seconds or an HTTP date) replaces the computed delay, capped at
//! [`MAX_RETRY_AFTER`]. Other statuses fail the run at once: another attempt would get the
//! same answer.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

use crate::error::FetchError;
use crate::events;
use crate::http::client::{Conditional, SourceClient};

/// The longest `Retry-After` honoured; a source asking for more waits for its next tick.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Backoff settings for one integration.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First delay.
    pub min_delay: Duration,
    /// Largest delay.
    pub max_delay: Duration,
    /// Attempts including the first.
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The fetcher's defaults (0.5 s doubling up to 30 s) with the spec's attempt count.
    pub fn with_attempts(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts,
        }
    }
}

/// Whether a failing HTTP status is worth another attempt.
pub fn is_retriable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// The delay a `Retry-After` header asks for, if it holds one.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Sends the request for `url`, retrying transient failures, and returns a response whose
/// status is 2xx or 304 (the body is not read yet).
///
/// # Errors
/// The last attempt's [`FetchError::Transport`] or [`FetchError::HttpStatus`], or the first
/// permanent one.
pub async fn send(
    client: &SourceClient,
    url: &Url,
    conditional: &Conditional,
    policy: RetryPolicy,
) -> Result<reqwest::Response, FetchError> {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_attempts.saturating_sub(1) as usize)
        .with_jitter();

    let attempt = || async {
        let request = client.build(url, conditional)?;
        let result = client.http().execute(request).await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                events::http_requested(client.source_id(), None);
                return Err(FetchError::Transport {
                    source_id: client.source_id().to_string(),
                    url: client.request_url(url),
                    retriable: e.is_timeout() || e.is_connect() || e.is_request(),
                    message: e.without_url().to_string(),
                });
            }
        };
        let status = response.status().as_u16();
        events::http_requested(client.source_id(), Some(status));
        if response.status().is_success() || status == 304 {
            return Ok(response);
        }
        Err(FetchError::HttpStatus {
            source_id: client.source_id().to_string(),
            url: client.request_url(url),
            status,
            retry_after: retry_after(response.headers()),
        })
    };

    attempt
        .retry(backoff)
        .when(FetchError::is_retriable)
        .adjust(|error, delay| {
            delay.map(|d| match error {
                FetchError::HttpStatus {
                    retry_after: Some(wait),
                    ..
                } => (*wait).min(MAX_RETRY_AFTER),
                _ => d,
            })
        })
        .notify(|error, delay| events::request_retried(client.source_id(), error, delay))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{serve, Reply};
    use reqwest::header::HeaderValue;

    #[test]
    fn classification() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retriable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 422] {
            assert!(!is_retriable_status(s), "{s}");
        }
        let permanent = FetchError::HttpStatus {
            source_id: "s".into(),
            url: "u".into(),
            status: 404,
            retry_after: None,
        };
        assert!(!permanent.is_retriable());
        let timeout = FetchError::Transport {
            source_id: "s".into(),
            url: "u".into(),
            message: "timed out".into(),
            retriable: true,
        };
        assert!(timeout.is_retriable());
    }

    fn fast(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_attempts,
        }
    }

    fn client() -> SourceClient {
        let spec = crate::framing::tests::catalog_spec("openphish");
        SourceClient::with_secret(std::sync::Arc::new(spec), reqwest::Client::new(), None)
    }

    #[tokio::test]
    async fn retries_503_then_honours_retry_after_on_429() {
        let (addr, seen) = serve(|_, attempt| match attempt {
            0 => Reply::status(503),
            1 => Reply::status(429).header("retry-after", "1"),
            _ => Reply::ok(b"http://a/\n"),
        })
        .await;
        let url = Url::parse(&format!("http://{addr}/feed.txt")).unwrap();
        let started = std::time::Instant::now();
        let response = send(&client(), &url, &Conditional::default(), fast(5))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(seen.lock().unwrap().len(), 3);
        // The backoff alone is at most 50 ms: the 1 s wait came from Retry-After.
        assert!(started.elapsed() >= Duration::from_millis(950));
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts_and_not_on_404() {
        let (addr, seen) = serve(|path, _| {
            if path.starts_with("/missing") {
                Reply::status(404)
            } else {
                Reply::status(502)
            }
        })
        .await;
        let url = Url::parse(&format!("http://{addr}/down")).unwrap();
        let err = send(&client(), &url, &Conditional::default(), fast(3))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::HttpStatus { status: 502, .. }),
            "{err}"
        );
        assert_eq!(seen.lock().unwrap().len(), 3);

        let url = Url::parse(&format!("http://{addr}/missing")).unwrap();
        let err = send(&client(), &url, &Conditional::default(), fast(3))
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::HttpStatus { status: 404, .. }),
            "{err}"
        );
        assert_eq!(seen.lock().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn connection_refused_is_a_retriable_transport_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let url = Url::parse(&format!("http://{addr}/x")).unwrap();
        let err = send(&client(), &url, &Conditional::default(), fast(2))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                FetchError::Transport {
                    retriable: true,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
