//! Logs through `tracing`: JSON lines on stdout by default (`IOCFLOW_LOG_FORMAT=text` for humans),
//! filtered by `IOCFLOW_LOG` (default `info`, same syntax as `RUST_LOG`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Calling it twice is harmless (the second call does nothing).
pub fn init() {
    let filter = EnvFilter::try_from_env("IOCFLOW_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,rdkafka=warn"));
    let text = std::env::var("IOCFLOW_LOG_FORMAT").is_ok_and(|v| v == "text");
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if text {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    };
    drop(result);
}
