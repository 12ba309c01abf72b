//! Process plumbing shared by `iocflow-fetcher`, `iocflow-normalizer`, `iocflow-submitter` and
//! the `iocflow` CLI.
//!
//! Layout:
//! - [`config`]: TOML config files with `IOCFLOW_` environment overrides, validated at start-up.
//! - [`kafka`]: broker connection settings, topic names, and the producer/consumer builders
//!   with iocflow's delivery settings (idempotent producer, manual offset storing).
//! - [`ops`]: the `/metrics`, `/healthz` and `/readyz` HTTP endpoint.
//! - [`metrics`]: the Prometheus metrics every stage reports.
//! - [`logging`]: JSON (or text) logs through `tracing`.
//! - [`secret`]: a string type that never prints its value.
//! - [`shutdown`]: SIGTERM/SIGINT handling for a bounded drain.

pub mod config;
pub mod kafka;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod secret;
pub mod shutdown;
