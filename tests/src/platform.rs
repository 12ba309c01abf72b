//! A real HTTP platform for the submitter to deliver to, recording what it receives.
//!
//! It implements the platform API of `docs/CONTRACTS.md`: `POST /indicators` with
//! `{"indicators": [...]}`, answered 200 with `{"rejected": [{"id", "reason"}]}` for the
//! indicators whose value the test chose to reject. Every accepted indicator is kept, in
//! arrival order, duplicates included, so tests can count redeliveries.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::{HarnessError, Result};

#[derive(Default)]
struct Inner {
    received: Vec<Value>,
    rejected: Vec<Value>,
    batches: u64,
    reject_values: BTreeSet<String>,
}

type Shared = Arc<Mutex<Inner>>;

/// The running platform; stops when dropped.
pub struct Platform {
    addr: SocketAddr,
    inner: Shared,
    task: JoinHandle<()>,
}

impl Platform {
    /// Serves on `127.0.0.1:0`, rejecting indicators whose `value` is in `reject_values`.
    ///
    /// # Errors
    /// The bind error.
    pub async fn start(reject_values: &[&str]) -> Result<Platform> {
        let inner: Shared = Arc::new(Mutex::new(Inner {
            reject_values: reject_values.iter().map(|s| s.to_string()).collect(),
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(HarnessError::io("bind the platform"))?;
        let addr = listener
            .local_addr()
            .map_err(HarnessError::io("read the platform address"))?;
        let app = Router::new()
            .route("/indicators", post(receive))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            // The server ends when the test drops the platform (the task is aborted).
            let _ = axum::serve(listener, app).await;
        });
        Ok(Platform { addr, inner, task })
    }

    /// The URL the submitter posts to.
    pub fn url(&self) -> String {
        format!("http://{}/indicators", self.addr)
    }

    /// Every accepted indicator so far, in arrival order, duplicates included.
    pub fn received(&self) -> Vec<Value> {
        self.lock().received.clone()
    }

    /// Every indicator answered as rejected so far.
    pub fn rejected(&self) -> Vec<Value> {
        self.lock().rejected.clone()
    }

    /// Number of accepted indicators (duplicates included).
    pub fn received_count(&self) -> usize {
        self.lock().received.len()
    }

    /// Number of batches posted.
    pub fn batches(&self) -> u64 {
        self.lock().batches
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the recorded data half-written: every
        // critical section is a push, so the poisoned data is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(inner): State<Shared>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let Some(indicators) = body.get("indicators").and_then(Value::as_array) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "body must be {\"indicators\": [...]}"})),
        );
    };
    let mut inner = inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    inner.batches += 1;
    let mut rejected = Vec::new();
    for indicator in indicators {
        let value = indicator.get("value").and_then(Value::as_str).unwrap_or("");
        if inner.reject_values.contains(value) {
            rejected.push(json!({
                "id": indicator.get("id").cloned().unwrap_or(Value::Null),
                "reason": "rejected by the test platform",
            }));
            inner.rejected.push(indicator.clone());
        } else {
            inner.received.push(indicator.clone());
        }
    }
    (StatusCode::OK, Json(json!({ "rejected": rejected })))
}
