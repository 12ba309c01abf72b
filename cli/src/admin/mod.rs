//! Broker-side operations on iocflow's topics and consumer groups.
//!
//! Layout:
//! - [`topics`]: `iocflow topics apply|verify`, the declarative topics file.
//! - [`lag`]: `iocflow lag`, committed offsets against high watermarks per group.
//! - [`replay`]: `iocflow replay`, moving a stopped group's committed offsets.
//! - [`dead_letters`]: `iocflow dlq inspect|redrive`.
//! - [`connection`]: the shared broker flags and client builders; [`reader`]: bounded topic
//!   scans; [`output`]: tables and previews; [`error`]: the error type.

pub mod connection;
pub mod dead_letters;
pub mod error;
pub mod lag;
pub mod output;
pub mod reader;
pub mod replay;
#[cfg(test)]
mod testing;
pub mod topics;
