//! Vigia's pure core: every rule that can be tested without a browser or a Worker.
//!
//! The Worker only parses HTTP, calls into this crate, and talks to D1 / Durable Objects.

pub mod activity;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod compliance;
pub mod csv;
pub mod email;
pub mod enrich;
pub mod error;
pub mod event;
pub mod filter;
pub mod hex;
pub mod limits;
pub mod period;
pub mod pipeline;
pub mod query;
pub mod rate_limit;
pub mod report;
pub mod rollup;
pub mod routes;
pub mod sql;
pub mod stats;
pub mod wire;

pub use error::ApiError;
