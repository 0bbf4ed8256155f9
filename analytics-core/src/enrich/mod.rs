//! Enrichment steps, one small pure function per concern, each with its tests beside it.
//! `crate::ingest::pipeline` runs them in order.

pub mod bot;
pub mod channel;
pub mod client_hints;
pub mod geo;
pub mod ip;
pub mod referrer;
pub mod screen;
pub mod session;
pub mod spam;
pub mod url_clean;
pub mod useragent;
pub mod visitor;
