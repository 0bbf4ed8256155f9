//! Routes: each parses and checks its request, calls the core, and answers. No logic beyond that.

pub mod account;
pub mod health;
pub mod ingest;
pub mod sites;
pub mod stats;
