//! Vigia's pure core: every rule that can be tested without a browser or a Worker.
//!
//! The Worker only parses HTTP, calls into this crate, and talks to D1 / Durable Objects.
//! Grouped by what the modules serve: `ingest` (an event's way in) and `enrich` (what is
//! learnt from a request), `stats` (queries, periods, rollups), `accounts` (people and access),
//! `governance` (audit, activity, alerts, compliance), `report` (scheduled mail), `store` (SQL
//! with row types), `util`; `routes` and `settings` describe the Worker itself.

pub mod accounts;
pub mod apps;
pub mod enrich;
pub mod error;
pub mod governance;
pub mod import;
pub mod ingest;
/// The ingest limits live in their own dependency-free crate so the no_std collector compiles
/// the same constants; `analytics_core::limits` stays their path here.
pub use ingest_limits as limits;
pub mod report;
pub mod routes;
pub mod settings;
pub mod stats;
pub mod store;
pub mod util;

pub use error::ApiError;
