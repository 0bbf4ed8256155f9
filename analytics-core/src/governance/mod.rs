//! What a site answers for: the audit log, server-side activity, suspicious-activity alerts and
//! the compliance report built from them.

pub mod activity;
pub mod alerts;
pub mod audit;
pub mod compliance;
