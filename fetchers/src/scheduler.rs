//! Running every enabled integration on its schedule, at most `max_concurrent_fetches` runs at
//! once. A failing run is recorded and reported by [`crate::run`], and the integration is tried
//! again on its next tick; it never stops the others. Each run is its own task, so even a panic
//! in one run only loses that run.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::catalog::Integration;
use crate::run::{run_integration, RunContext};

/// Runs each integration once (`--once`); returns the names of those that failed.
pub async fn run_once(
    ctx: Arc<RunContext>,
    integrations: Vec<Integration>,
    max_concurrent: usize,
) -> Vec<String> {
    let permits = Arc::new(Semaphore::new(max_concurrent));
    let mut runs = JoinSet::new();
    for integration in integrations {
        let ctx = ctx.clone();
        let permits = permits.clone();
        runs.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let failed = run_integration(&integration, &ctx).await.is_err();
            (integration.name().to_string(), failed)
        });
    }
    let mut failed = Vec::new();
    while let Some(joined) = runs.join_next().await {
        match joined {
            Ok((name, true)) => failed.push(name),
            Ok((_, false)) => {}
            Err(error) => {
                tracing::error!(error = %error, message = "Fetch run task panicked.");
                failed.push("(panicked run)".into());
            }
        }
    }
    failed.sort();
    failed
}

/// Runs each integration every `schedule_secs` until `shutdown` is cancelled, then waits up to
/// `drain` for runs in flight (they stop at their next item).
pub async fn run_forever(
    ctx: Arc<RunContext>,
    integrations: Vec<Integration>,
    max_concurrent: usize,
    shutdown: CancellationToken,
    drain: Duration,
) {
    let permits = Arc::new(Semaphore::new(max_concurrent));
    let mut loops = JoinSet::new();
    for integration in integrations {
        let ctx = ctx.clone();
        let permits = permits.clone();
        let shutdown = shutdown.clone();
        loops.spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(integration.schedule_secs));
            // A run longer than its period delays the next one instead of bunching runs up.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = shutdown.cancelled() => return,
                }
                let permit = tokio::select! {
                    p = permits.clone().acquire_owned() => p,
                    () = shutdown.cancelled() => return,
                };
                let ctx = ctx.clone();
                let one = integration.clone();
                let run = tokio::spawn(async move {
                    let _permit = permit;
                    // The outcome is recorded and reported inside; nothing more to do here.
                    let _ = run_integration(&one, &ctx).await;
                });
                if let Err(error) = run.await {
                    tracing::error!(
                        source = integration.name(),
                        error = %error,
                        message = "Fetch run task panicked."
                    );
                }
            }
        });
    }

    shutdown.cancelled().await;
    let drained =
        tokio::time::timeout(drain, async { while loops.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            drain_timeout_ms = drain.as_millis() as u64,
            message = "Fetch runs still in flight at the drain deadline; abandoning them."
        );
        loops.abort_all();
    }
}
