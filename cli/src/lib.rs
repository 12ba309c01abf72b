//! The `iocflow` admin CLI as a library, so tests can drive its commands in-process.
//!
//! Layout:
//! - [`admin`]: broker-side operations: topics, lag, replay, dead letters.
//! - [`integrations`]: the integration catalog: list, check, conformance test, scaffold, and
//!   the replay server that serves recorded source responses.
//! - [`demo`]: `iocflow demo`, the whole pipeline on one machine.

pub mod admin;
pub mod demo;
pub mod integrations;
