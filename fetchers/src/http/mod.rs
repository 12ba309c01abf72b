//! Talking to sources over HTTP: building authenticated requests ([`client`]), retrying
//! transient failures with backoff ([`retry`]), and walking pages ([`pagination`]).

pub mod client;
pub mod pagination;
pub mod retry;
