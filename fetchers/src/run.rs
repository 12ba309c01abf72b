//! One fetch run of one integration: request every page, stream each body through the framer,
//! produce the records, wait for their delivery, then save the new fetch state.
//!
//! The run reads the body chunk by chunk and sends records as they are framed, so memory stays
//! bounded by the largest item plus the producer's in-flight window. When shutdown begins, the
//! run stops at the next item, waits for what it already sent, and leaves the state unchanged
//! (the next run repeats it; duplicates are harmless downstream).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use iocflow_schemas::spec::FramingSpec;
use iocflow_schemas::{FetchState, RawRecord};
use reqwest::header::{ETAG, LAST_MODIFIED};
use tokio_util::sync::CancellationToken;

use crate::catalog::Integration;
use crate::error::FetchError;
use crate::events;
use crate::framing::{item_field, FramedItem, Framer};
use crate::http::client::{Conditional, SourceClient};
use crate::http::pagination::Pager;
use crate::http::retry::{self, RetryPolicy};
use crate::produce::{record_key, RawProducer, RunSink};
use crate::state::StateStore;

/// What every run shares.
#[derive(Debug)]
pub struct RunContext {
    /// The raw-topic producer.
    pub producer: RawProducer,
    /// Fetch states, loaded at start-up and saved after each run.
    pub state: Arc<StateStore>,
    /// The HTTP client (connection pool shared by all integrations).
    pub http: reqwest::Client,
    /// Cancelled when shutdown begins: runs stop at the next item.
    pub stop: CancellationToken,
    /// Backoff delays; the attempt count comes from each spec.
    pub retry: RetryPolicy,
}

/// How a run ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Items were fetched and delivered.
    Success {
        /// Items framed (records and skips).
        items: u64,
    },
    /// The source answered 304 Not Modified.
    NotModified,
}

/// The HTTP client every run uses.
///
/// # Errors
/// [`FetchError::Config`] when the TLS backend cannot start.
pub fn http_client() -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .user_agent(concat!("iocflow-fetcher/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .redirect(same_host_redirects())
        .build()
        .map_err(|e| FetchError::Config {
            key: "(http client)".into(),
            message: e.to_string(),
        })
}

/// Follows up to 5 redirects on the same host and port only: a header or query secret must not
/// follow a redirect to another host (reqwest itself only drops `Authorization` and cookies).
fn same_host_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_host = attempt.previous().first().is_some_and(|first| {
            first.host_str() == attempt.url().host_str()
                && first.port_or_known_default() == attempt.url().port_or_known_default()
        });
        if attempt.previous().len() > 5 || !same_host {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// Runs `integration` once, records the outcome in its fetch state, and reports it.
///
/// # Errors
/// The run's error (after the failure was recorded), or the state-save error.
pub async fn run_integration(
    integration: &Integration,
    ctx: &RunContext,
) -> Result<RunOutcome, FetchError> {
    let source = integration.name();
    let prev = ctx.state.get(source);
    let fetch_id = uuid::Uuid::new_v4().to_string();
    let fetched_at_ms = chrono::Utc::now().timestamp_millis();
    let started = Instant::now();
    events::run_started(source, &fetch_id);

    let result = fetch(integration, ctx, &prev, &fetch_id, fetched_at_ms).await;

    let mut next = prev.clone();
    next.last_fetch_id = Some(fetch_id.clone());
    next.last_attempt_at_ms = Some(fetched_at_ms);
    match result {
        Ok(done) => {
            next.last_success_at_ms = Some(fetched_at_ms);
            next.consecutive_failures = 0;
            next.last_error = None;
            let outcome = match done {
                Fetched::NotModified => RunOutcome::NotModified,
                Fetched::Items {
                    items,
                    cursor,
                    conditional,
                } => {
                    if cursor.is_some() {
                        next.cursor = cursor;
                    }
                    next.etag = conditional.etag;
                    next.last_modified = conditional.last_modified;
                    next.records_last_fetch = items as i64;
                    RunOutcome::Success { items }
                }
            };
            if let Err(error) = ctx.state.save(next).await {
                events::state_save_failed(source, &error);
                return Err(error);
            }
            match &outcome {
                RunOutcome::NotModified => {
                    events::run_not_modified(source, &fetch_id, started.elapsed())
                }
                RunOutcome::Success { items } => {
                    events::run_succeeded(source, &fetch_id, *items, started.elapsed())
                }
            }
            Ok(outcome)
        }
        Err(error @ FetchError::Interrupted { .. }) => {
            events::run_interrupted(source, &fetch_id);
            Err(error)
        }
        Err(error) => {
            next.consecutive_failures = prev.consecutive_failures.saturating_add(1);
            next.last_error = Some(error.to_string().chars().take(500).collect());
            let failures = next.consecutive_failures;
            if let Err(save_error) = ctx.state.save(next).await {
                events::state_save_failed(source, &save_error);
            }
            events::run_failed(source, &fetch_id, &error, failures, started.elapsed());
            Err(error)
        }
    }
}

enum Fetched {
    NotModified,
    Items {
        items: u64,
        cursor: Option<String>,
        conditional: Conditional,
    },
}

/// The part of a run that talks to the source and the broker.
async fn fetch(
    integration: &Integration,
    ctx: &RunContext,
    prev: &FetchState,
    fetch_id: &str,
    fetched_at_ms: i64,
) -> Result<Fetched, FetchError> {
    let spec = &integration.spec;
    let client = SourceClient::new(spec.clone(), ctx.http.clone())?;
    let cursor_param = spec.cursor.as_ref().and_then(|c| {
        let value = prev.cursor.clone().or_else(|| c.initial.clone())?;
        Some((c.param.clone(), value))
    });
    let mut pager = Pager::new(integration);
    let mut url = pager.first_url(cursor_param.as_ref().map(|(p, v)| (p.as_str(), v.as_str())))?;
    let conditional = if matches!(spec.pagination, iocflow_schemas::spec::PaginationSpec::None) {
        Conditional {
            etag: prev.etag.clone(),
            last_modified: prev.last_modified.clone(),
        }
    } else {
        Conditional::default()
    };
    let policy = RetryPolicy {
        max_attempts: spec.request.max_attempts,
        ..ctx.retry
    };

    let mut items = ItemWriter {
        sink: ctx.producer.sink(&spec.name),
        source: spec.name.clone(),
        fetch_id: fetch_id.to_string(),
        fetched_at_ms,
        framing: spec.framing.clone(),
        cursor_field: spec.cursor.as_ref().map(|c| c.field.clone()),
        max_cursor: None,
        sequence: 0,
        request_url: String::new(),
        page_fetched: 0,
        page_records: 0,
        page_skips: BTreeMap::new(),
        stop: ctx.stop.clone(),
    };
    let mut first = true;
    let mut saved = Conditional::default();
    let mut buf: Vec<FramedItem> = Vec::new();
    let unconditional = Conditional::default();
    let pages: Result<bool, FetchError> = async {
        loop {
            let validators = if first { &conditional } else { &unconditional };
            let response = tokio::select! {
                r = retry::send(&client, &url, validators, policy) => r?,
                () = ctx.stop.cancelled() => return Err(items.interrupted()),
            };
            if response.status().as_u16() == 304 {
                if first {
                    return Ok(true);
                }
                break;
            }
            if first {
                let header = |name| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                        .map(str::to_string)
                };
                saved = Conditional {
                    etag: header(ETAG),
                    last_modified: header(LAST_MODIFIED),
                };
            }
            items.start_page(client.request_url(&url));

            let mut framer = Framer::new(spec);
            let mut body = response.bytes_stream();
            loop {
                let chunk = tokio::select! {
                    c = body.next() => c,
                    () = ctx.stop.cancelled() => return Err(items.interrupted()),
                };
                let Some(chunk) = chunk else { break };
                let chunk = chunk.map_err(|e| FetchError::Transport {
                    source_id: spec.name.clone(),
                    url: client.request_url(&url),
                    message: e.without_url().to_string(),
                    retriable: true,
                })?;
                framer
                    .push(&chunk, &mut buf)
                    .map_err(|error| items.framing_error(error))?;
                items.write(&mut buf).await?;
            }
            let outcome = framer
                .finish(&mut buf)
                .map_err(|error| items.framing_error(error))?;
            items.write(&mut buf).await?;
            let records = items.end_page();

            match pager.next_url(&url, outcome.page_token.as_deref(), records)? {
                Some(next) => {
                    url = next;
                    first = false;
                }
                None => break,
            }
        }
        Ok(false)
    }
    .await;

    // Whatever happened, count the page in progress and wait for what was already sent, so
    // the fetched/skipped/produced counters add up even for a failed run.
    if items.page_fetched > 0 {
        items.end_page();
    }
    let flushed = items.sink.flush().await;
    let not_modified = pages?;
    flushed?;
    if not_modified {
        return Ok(Fetched::NotModified);
    }

    Ok(Fetched::Items {
        items: items.sequence as u64,
        cursor: items.max_cursor,
        conditional: saved,
    })
}

/// Turns framed items into raw records of one run and counts them per page.
struct ItemWriter<'a> {
    sink: RunSink<'a>,
    source: String,
    fetch_id: String,
    fetched_at_ms: i64,
    framing: FramingSpec,
    cursor_field: Option<String>,
    max_cursor: Option<String>,
    sequence: i64,
    request_url: String,
    page_fetched: u64,
    page_records: u64,
    page_skips: BTreeMap<&'static str, u64>,
    stop: CancellationToken,
}

impl ItemWriter<'_> {
    fn start_page(&mut self, request_url: String) {
        self.request_url = request_url;
        self.page_fetched = 0;
        self.page_records = 0;
        self.page_skips.clear();
    }

    /// Reports the page's counts and returns its number of records.
    fn end_page(&mut self) -> u64 {
        let skips: Vec<(&'static str, u64)> =
            self.page_skips.iter().map(|(k, v)| (*k, *v)).collect();
        events::items_framed(&self.source, self.page_fetched, &skips);
        self.page_fetched = 0;
        self.page_skips.clear();
        self.page_records
    }

    fn framing_error(&self, error: crate::framing::FramingError) -> FetchError {
        FetchError::Framing {
            source_id: self.source.clone(),
            error,
        }
    }

    fn interrupted(&self) -> FetchError {
        FetchError::Interrupted {
            source_id: self.source.clone(),
        }
    }

    async fn write(&mut self, buf: &mut Vec<FramedItem>) -> Result<(), FetchError> {
        for item in buf.drain(..) {
            if self.stop.is_cancelled() {
                return Err(self.interrupted());
            }
            let sequence = self.sequence;
            self.sequence += 1;
            self.page_fetched += 1;
            match item {
                FramedItem::Skipped { reason } => {
                    *self.page_skips.entry(reason).or_default() += 1;
                    if reason == "too_large" {
                        events::item_too_large(
                            &self.source,
                            sequence,
                            max_item_bytes(&self.framing),
                        );
                    }
                }
                FramedItem::Record { payload, key } => {
                    self.page_records += 1;
                    if let Some(field) = &self.cursor_field {
                        if let Some(v) = item_field(&self.framing, &payload, field) {
                            if self.max_cursor.as_ref().is_none_or(|m| v > *m) {
                                self.max_cursor = Some(v);
                            }
                        }
                    }
                    let key = record_key(&self.source, key.as_deref(), &payload);
                    let record = RawRecord {
                        source: self.source.clone(),
                        fetch_id: self.fetch_id.clone(),
                        fetched_at_ms: self.fetched_at_ms,
                        sequence,
                        framing: self.framing.record_framing().to_string(),
                        payload,
                        request_url: self.request_url.clone(),
                    };
                    self.sink.send(&key, &record).await?;
                }
            }
        }
        Ok(())
    }
}

fn max_item_bytes(framing: &FramingSpec) -> usize {
    match framing {
        FramingSpec::Csv { max_item_bytes, .. }
        | FramingSpec::Lines { max_item_bytes, .. }
        | FramingSpec::Json { max_item_bytes, .. } => *max_item_bytes,
    }
}
