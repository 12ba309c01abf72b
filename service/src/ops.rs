//! The operations endpoint of every binary: `/metrics` (Prometheus text), `/healthz` (the main
//! loop is alive) and `/readyz` (connected and doing its job).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::metrics::metrics;

/// `[ops]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// Address of the metrics/health endpoint. Default `0.0.0.0:9464`.
    pub listen_addr: SocketAddr,
    /// `/healthz` fails when the main loop has not reported for this long. Default 60000.
    pub liveness_timeout_ms: u64,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            listen_addr: SocketAddr::from(([0, 0, 0, 0], 9464)),
            liveness_timeout_ms: 60_000,
        }
    }
}

/// Liveness and readiness, shared between the main loop and the endpoint.
#[derive(Debug, Default)]
pub struct Health {
    ready: AtomicBool,
    last_beat_ms: AtomicU64,
}

impl Health {
    /// A new handle: alive now, not ready.
    pub fn new() -> Arc<Health> {
        let h = Arc::new(Health::default());
        h.beat();
        h
    }

    /// The main loop is alive; call at least once per liveness timeout.
    pub fn beat(&self) {
        self.last_beat_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Marks the process ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether the process is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    fn is_alive(&self, timeout: Duration) -> bool {
        now_ms().saturating_sub(self.last_beat_ms.load(Ordering::Relaxed))
            <= timeout.as_millis() as u64
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[derive(Clone)]
struct OpsState {
    health: Arc<Health>,
    liveness_timeout: Duration,
}

/// Binds the endpoint and serves it until `stop` is cancelled.
///
/// # Errors
/// The bind error, when the address is taken or not allowed.
pub async fn serve(
    cfg: &OpsConfig,
    health: Arc<Health>,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(cfg.listen_addr).await?;
    let addr = listener.local_addr()?;
    let state = OpsState {
        health,
        liveness_timeout: Duration::from_millis(cfg.liveness_timeout_ms),
    };
    let app = Router::new()
        .route("/metrics", get(|| async { metrics().render() }))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state);

    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, message = "Ops endpoint stopped.");
        }
    });
    tracing::info!(%addr, message = "Ops endpoint listening.");
    Ok(addr)
}

async fn healthz(State(s): State<OpsState>) -> (StatusCode, &'static str) {
    if s.health.is_alive(s.liveness_timeout) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "main loop stalled\n")
    }
}

async fn readyz(State(s): State<OpsState>) -> (StatusCode, &'static str) {
    if s.health.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
