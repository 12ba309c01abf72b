//! Waiting for a condition with a deadline, instead of sleeping a fixed time.
//!
//! A condition is polled every [`POLL_INTERVAL`] until it holds or the deadline passes; a
//! failure names the condition and the last state the poll saw, so a failing test explains
//! itself.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{HarnessError, Result};

/// Pause between two polls of a condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Polls `check` until it returns `Ok(value)` or `timeout` passes. `check` returns `Err(state)`
/// while the condition does not hold, describing what it saw; the last description ends up in
/// the timeout error.
///
/// # Errors
/// [`HarnessError::Timeout`] naming `what` and the last observed state.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, String>>,
{
    let start = Instant::now();
    loop {
        let last = match check().await {
            Ok(value) => return Ok(value),
            Err(state) => state,
        };
        if start.elapsed() >= timeout {
            return Err(HarnessError::Timeout {
                what: what.to_string(),
                waited_ms: start.elapsed().as_millis(),
                last,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_once_the_condition_holds() {
        let mut n = 0;
        let got = until("n reaches 3", Duration::from_secs(5), || {
            n += 1;
            let now = n;
            async move {
                if now >= 3 {
                    Ok(now)
                } else {
                    Err(format!("n = {now}"))
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 3);
    }

    #[tokio::test]
    async fn timeout_names_the_condition_and_the_last_state() {
        let err = until::<(), _, _>("never", Duration::from_millis(120), || async {
            Err("still false".to_string())
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("never"), "{err}");
        assert!(err.contains("still false"), "{err}");
    }
}
