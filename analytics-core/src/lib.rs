//! Vigia's pure core: every rule that can be tested without a browser or a Worker.
//!
//! The Worker only parses HTTP, calls into this crate, and talks to D1 / Durable Objects.

pub mod accounts;
pub mod activity;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod bot_stats;
pub mod compliance;
pub mod csv;
pub mod dropped;
pub mod email;
pub mod enrich;
pub mod error;
pub mod event;
pub mod filter;
pub mod hex;
pub mod login;
/// The ingest limits live in their own dependency-free crate so the no_std collector compiles
/// the same constants; `analytics_core::limits` stays their path here.
pub use ingest_limits as limits;
pub mod period;
pub mod pipeline;
pub mod query;
pub mod rate_limit;
pub mod report;
pub mod rollup;
pub mod routes;
pub mod settings;
pub mod site;
pub mod sql;
pub mod stats;
pub mod wire;

pub use error::ApiError;
