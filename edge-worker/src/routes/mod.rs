//! Routes: each parses and checks its request, calls the core, and answers. No logic beyond
//! that; who may call what is checked before, in `session::authorize`.

pub mod account;
pub mod activity;
pub mod alerts;
pub mod app_stats;
pub mod apps;
pub mod compliance;
pub mod export;
pub mod goals;
pub mod health;
pub mod import;
pub mod ingest;
pub mod metering;
pub mod reports;
pub mod sites;
pub mod stats;
pub mod storage;
pub mod users;
