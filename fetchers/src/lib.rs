//! The iocflow fetcher (library part of `iocflow-fetcher`).
pub mod framing;
