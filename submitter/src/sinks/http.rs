//! The platform's HTTP JSON API (see "Platform HTTP JSON API" in `docs/CONTRACTS.md`).
//!
//! A batch is sent as `POST <url>` with `{"indicators": [...]}`. A 2xx answer accepts the batch,
//! except the records its optional `rejected` list names. A 400/422 (or 413) answer means some
//! record in the batch is bad: the batch is split in halves and each half sent again, until a
//! one-record batch answered 400/422 is rejected with the start of the answer as its reason.
//! 408, 429, 5xx and connection errors are retried with exponential backoff and jitter
//! (`backon`), waiting what `Retry-After` asks when it is given in seconds. 401/403 are retried
//! too, logged at ERROR, and keep `/readyz` false until a request succeeds. Any other status is
//! treated as transient as well: it usually means a misconfigured URL, which an operator fixes
//! without the records being lost.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use futures::future::BoxFuture;
use iocflow_schemas::Indicator;
use iocflow_service::ops::Health;
use reqwest::header::RETRY_AFTER;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::HttpSettings;
use crate::error::SubmitError;
use crate::events;
use crate::sinks::{Delivery, Rejection, Sink, SinkError};

/// Sink name in metrics and logs.
const NAME: &str = "http";
/// Longest reason kept from a platform answer, in characters.
const REASON_CHARS: usize = 200;
/// Longest `Retry-After` honoured; a larger value is capped so the drain stays bounded.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Delivers batches to the platform.
pub struct HttpSink {
    client: reqwest::Client,
    settings: HttpSettings,
    health: Arc<Health>,
}

#[derive(Serialize)]
struct RequestBody<'a> {
    indicators: &'a [Indicator],
}

#[derive(Deserialize, Default)]
struct AcceptedBody {
    #[serde(default)]
    rejected: Vec<RejectedItem>,
}

#[derive(Deserialize)]
struct RejectedItem {
    id: String,
    #[serde(default)]
    reason: String,
}

/// What the platform answered to one request, when it answered conclusively.
enum Answer {
    /// 2xx, with the ids and reasons of rejected records.
    Accepted(Vec<RejectedItem>),
    /// 400/422/413: some record of the batch is bad; the body, shortened.
    Invalid(String),
}

/// A transient failure of one request.
#[derive(Debug)]
struct Failure {
    message: String,
    retry_after: Option<Duration>,
}

impl HttpSink {
    /// A sink for `settings`; `health` goes not-ready while the platform refuses credentials.
    ///
    /// # Errors
    /// [`SubmitError::SinkSetup`] when the HTTP client cannot be built (TLS setup).
    pub fn new(settings: HttpSettings, health: Arc<Health>) -> Result<HttpSink, SubmitError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("iocflow-submitter/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SubmitError::SinkSetup {
                sink: NAME,
                message: e.without_url().to_string(),
            })?;
        Ok(HttpSink {
            client,
            settings,
            health,
        })
    }

    /// Sends one request and classifies the answer.
    async fn post_once(&self, batch: &[Indicator]) -> Result<Answer, Failure> {
        let mut request = self
            .client
            .post(self.settings.url.clone())
            .json(&RequestBody { indicators: batch });
        if let Some(token) = &self.settings.token {
            request = request.bearer_auth(token.expose());
        }

        let response = request.send().await.map_err(|e| Failure {
            message: e.without_url().to_string(),
            retry_after: None,
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER));
        let body = response.text().await.map_err(|e| Failure {
            message: format!("status {status}, body unreadable: {}", e.without_url()),
            retry_after,
        })?;

        match status {
            200..=299 => {
                self.health.set_ready(true);
                let parsed: AcceptedBody = if body.trim().is_empty() {
                    AcceptedBody::default()
                } else {
                    // A 2xx body that is not the documented JSON still accepts the batch.
                    serde_json::from_str(&body).unwrap_or_default()
                };
                Ok(Answer::Accepted(parsed.rejected))
            }
            400 | 413 | 422 => Ok(Answer::Invalid(shorten(&body))),
            401 | 403 => {
                self.health.set_ready(false);
                events::sink_unauthorized(NAME, status);
                Err(Failure {
                    message: format!("status {status}: credentials refused"),
                    retry_after,
                })
            }
            _ => Err(Failure {
                message: format!("status {status}: {}", shorten(&body)),
                retry_after,
            }),
        }
    }

    /// Sends one request, retrying transient failures.
    async fn post(
        &self,
        batch: &[Indicator],
        abandon: &CancellationToken,
    ) -> Result<Answer, SinkError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(self.settings.max_backoff)
            .with_factor(2.0)
            .with_jitter();
        backoff = match self.settings.max_attempts {
            0 => backoff.without_max_times(),
            n => backoff.with_max_times(n as usize - 1),
        };

        let attempts = AtomicUsize::new(0);
        let retried = (|| {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.post_once(batch)
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .adjust(|failure: &Failure, delay| delay.map(|d| failure.retry_after.unwrap_or(d)))
        .notify(|failure: &Failure, delay| events::sink_retrying(NAME, &failure.message, delay));

        tokio::select! {
            result = retried => result.map_err(|failure| SinkError::Exhausted {
                attempts: attempts.load(Ordering::Relaxed),
                last: failure.message,
            }),
            _ = abandon.cancelled() => Err(SinkError::Abandoned),
        }
    }

    /// Delivers a batch, bisecting it on 400/422 to isolate the bad records.
    async fn deliver_batch(
        &self,
        batch: &[Indicator],
        abandon: &CancellationToken,
    ) -> Result<Delivery, SinkError> {
        let started = Instant::now();
        let mut delivery = Delivery::default();
        // A stack of index ranges still to send; it starts with the whole batch.
        let mut pending: Vec<Range<usize>> = Vec::new();
        pending.push(0..batch.len());

        while let Some(range) = pending.pop() {
            if range.is_empty() {
                continue;
            }
            match self.post(&batch[range.clone()], abandon).await? {
                Answer::Accepted(rejected) => {
                    for index in range {
                        match rejected.iter().find(|r| r.id == batch[index].id) {
                            Some(r) => delivery.rejected.push(Rejection {
                                index,
                                reason: shorten(&r.reason),
                            }),
                            None => delivery.accepted.push(index),
                        }
                    }
                }
                Answer::Invalid(reason) if range.len() == 1 => {
                    delivery.rejected.push(Rejection {
                        index: range.start,
                        reason,
                    });
                }
                Answer::Invalid(_) => {
                    let mid = range.start + range.len() / 2;
                    // Second half pushed first so the first half is sent first.
                    pending.push(mid..range.end);
                    pending.push(range.start..mid);
                }
            }
        }

        delivery.accepted.sort_unstable();
        delivery.rejected.sort_by_key(|r| r.index);
        events::sink_batch_delivered(NAME, delivery.rejected.len(), started.elapsed());
        Ok(delivery)
    }
}

impl Sink for HttpSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn deliver<'a>(
        &'a self,
        batch: &'a [Indicator],
        abandon: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Delivery, SinkError>> {
        Box::pin(self.deliver_batch(batch, abandon))
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(REASON_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Mutex;

    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::Router;
    use iocflow_service::secret::Secret;
    use url::Url;

    use super::*;

    type Behaviour = dyn Fn(usize, &[serde_json::Value]) -> Response + Send + Sync;

    /// What the test platform saw.
    #[derive(Default)]
    struct Seen {
        calls: usize,
        authorization: Vec<Option<String>>,
        accepted_values: Vec<String>,
    }

    #[derive(Clone)]
    struct Platform {
        seen: Arc<Mutex<Seen>>,
        behaviour: Arc<Behaviour>,
    }

    async fn handle(State(p): State<Platform>, headers: HeaderMap, body: String) -> Response {
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let items = parsed["indicators"].as_array().cloned().unwrap_or_default();
        let call = {
            let mut seen = p.seen.lock().unwrap();
            seen.calls += 1;
            seen.authorization.push(
                headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            );
            seen.calls
        };
        let response = (p.behaviour)(call, &items);
        if response.status().is_success() {
            let mut seen = p.seen.lock().unwrap();
            for item in &items {
                seen.accepted_values
                    .push(item["value"].as_str().unwrap_or_default().to_string());
            }
        }
        response
    }

    async fn spawn_platform(
        behaviour: impl Fn(usize, &[serde_json::Value]) -> Response + Send + Sync + 'static,
    ) -> (Url, Arc<Mutex<Seen>>) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let platform = Platform {
            seen: seen.clone(),
            behaviour: Arc::new(behaviour),
        };
        let app = Router::new()
            .route("/api/indicators", post(handle))
            .with_state(platform);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = Url::parse(&format!("http://{addr}/api/indicators")).unwrap();
        (url, seen)
    }

    fn settings(url: Url) -> HttpSettings {
        HttpSettings {
            url,
            token: None,
            timeout: Duration::from_secs(10),
            max_attempts: 0,
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
        }
    }

    fn batch(n: usize) -> Vec<Indicator> {
        (0..n)
            .map(|i| crate::batch::tests::indicator(&format!("d{i}.example")))
            .collect()
    }

    fn sink(settings: HttpSettings) -> (HttpSink, Arc<Health>) {
        let health = Health::new();
        (HttpSink::new(settings, health.clone()).unwrap(), health)
    }

    #[tokio::test]
    async fn all_accepted() {
        let (url, seen) = spawn_platform(|_, _| StatusCode::OK.into_response()).await;
        let (sink, _) = sink(settings(url));
        let records = batch(5);

        let delivery = sink
            .deliver(&records, &CancellationToken::new())
            .await
            .unwrap();

        assert_eq!(delivery, Delivery::all_accepted(5));
        assert_eq!(seen.lock().unwrap().calls, 1);
    }

    #[tokio::test]
    async fn rejected_list_names_permanently_rejected_records() {
        let (url, _) = spawn_platform(|_, _| {
            (
                StatusCode::OK,
                r#"{"rejected":[{"id":"indicator--d2.example","reason":"reserved range"}]}"#,
            )
                .into_response()
        })
        .await;
        let (sink, _) = sink(settings(url));
        let records = batch(4);

        let delivery = sink
            .deliver(&records, &CancellationToken::new())
            .await
            .unwrap();

        assert_eq!(delivery.accepted, vec![0, 1, 3]);
        assert_eq!(
            delivery.rejected,
            vec![Rejection {
                index: 2,
                reason: "reserved range".into()
            }]
        );
    }

    #[tokio::test]
    async fn bisection_isolates_exactly_the_bad_record() {
        let (url, seen) = spawn_platform(|_, items| {
            if items.iter().any(|i| i["value"] == "d5.example") {
                (StatusCode::BAD_REQUEST, "invalid indicator d5.example").into_response()
            } else {
                StatusCode::OK.into_response()
            }
        })
        .await;
        let (sink, _) = sink(settings(url));
        let records = batch(13);

        let delivery = sink
            .deliver(&records, &CancellationToken::new())
            .await
            .unwrap();

        let expected: Vec<usize> = (0..13).filter(|i| *i != 5).collect();
        assert_eq!(delivery.accepted, expected);
        assert_eq!(delivery.rejected.len(), 1);
        assert_eq!(delivery.rejected[0].index, 5);
        assert_eq!(delivery.rejected[0].reason, "invalid indicator d5.example");
        let mut values = seen.lock().unwrap().accepted_values.clone();
        values.sort();
        assert_eq!(values.len(), 12);
        assert!(!values.contains(&"d5.example".to_string()));
    }

    #[tokio::test]
    async fn single_record_answered_422_is_rejected_with_the_body_start() {
        let long_body = "x".repeat(500);
        let (url, _) = spawn_platform(move |_, _| {
            (StatusCode::UNPROCESSABLE_ENTITY, long_body.clone()).into_response()
        })
        .await;
        let (sink, _) = sink(settings(url));
        let records = batch(1);

        let delivery = sink
            .deliver(&records, &CancellationToken::new())
            .await
            .unwrap();

        assert!(delivery.accepted.is_empty());
        assert_eq!(delivery.rejected.len(), 1);
        assert_eq!(delivery.rejected[0].reason, "x".repeat(200));
    }

    #[tokio::test]
    async fn service_unavailable_twice_then_ok_is_retried() {
        let (url, seen) = spawn_platform(|call, _| {
            if call <= 2 {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else {
                StatusCode::OK.into_response()
            }
        })
        .await;
        let (sink, _) = sink(settings(url));
        let records = batch(3);

        let delivery = sink
            .deliver(&records, &CancellationToken::new())
            .await
            .unwrap();

        assert_eq!(delivery, Delivery::all_accepted(3));
        assert_eq!(seen.lock().unwrap().calls, 3);
    }

    #[tokio::test]
    async fn too_many_requests_honours_retry_after() {
        let (url, seen) = spawn_platform(|call, _| {
            if call == 1 {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    "slow down",
                )
                    .into_response()
            } else {
                StatusCode::OK.into_response()
            }
        })
        .await;
        let (sink, _) = sink(settings(url));
        let records = batch(2);
        let started = Instant::now();

        let delivery = sink
            .deliver(&records, &CancellationToken::new())
            .await
            .unwrap();

        assert_eq!(delivery, Delivery::all_accepted(2));
        assert_eq!(seen.lock().unwrap().calls, 2);
        // The backoff alone is at most 50 ms here, so a wait near one second is Retry-After's.
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn bearer_token_is_sent_and_never_in_error_text() {
        let (url, seen) =
            spawn_platform(|_, _| (StatusCode::BAD_GATEWAY, "upstream down").into_response()).await;
        let mut s = settings(url);
        s.token = Some(Secret::new("tok-abc-123"));
        s.max_attempts = 3;
        let (sink, _) = sink(s);
        let records = batch(1);

        let err = sink
            .deliver(&records, &CancellationToken::new())
            .await
            .unwrap_err();

        let text = format!("{err} {err:?}");
        assert!(
            matches!(err, SinkError::Exhausted { attempts: 3, .. }),
            "{text}"
        );
        assert!(!text.contains("tok-abc-123"), "{text}");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.calls, 3);
        assert!(seen
            .authorization
            .iter()
            .all(|a| a.as_deref() == Some("Bearer tok-abc-123")));
    }

    #[tokio::test]
    async fn refused_credentials_make_it_unready_until_success() {
        let (url, _) = spawn_platform(|call, _| {
            if call <= 2 {
                StatusCode::UNAUTHORIZED.into_response()
            } else {
                StatusCode::OK.into_response()
            }
        })
        .await;
        let (sink, health) = sink(settings(url.clone()));
        health.set_ready(true);
        let records = batch(1);

        let delivery = sink
            .deliver(&records, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(delivery, Delivery::all_accepted(1));
        assert!(health.is_ready());

        let (url, _) = spawn_platform(|_, _| StatusCode::FORBIDDEN.into_response()).await;
        let mut s = settings(url);
        s.max_attempts = 2;
        let (sink, health) = self::sink(s);
        health.set_ready(true);
        assert!(sink
            .deliver(&records, &CancellationToken::new())
            .await
            .is_err());
        assert!(!health.is_ready());
    }

    #[tokio::test]
    async fn abandon_stops_endless_retries() {
        let (url, _) = spawn_platform(|_, _| StatusCode::SERVICE_UNAVAILABLE.into_response()).await;
        let (sink, _) = sink(settings(url));
        let records = batch(1);
        let abandon = CancellationToken::new();
        abandon.cancel();

        let err = sink.deliver(&records, &abandon).await.unwrap_err();

        assert!(matches!(err, SinkError::Abandoned));
    }
}
