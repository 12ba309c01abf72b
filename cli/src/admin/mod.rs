//! Broker-side operations on iocflow's topics and consumer groups.

pub mod dead_letters;
pub mod lag;
pub mod replay;
pub mod topics;
