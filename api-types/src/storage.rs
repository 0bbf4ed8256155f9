//! Bodies of the storage admin routes (instance admins): where each site's raw events live.

use serde::{Deserialize, Serialize};

/// One cold shard: a site's sealed events of one UTC month.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Shard {
    pub bytes: i64,
    pub events: i64,
    /// `YYYY-MM` (UTC).
    pub period: String,
    pub sessions: i64,
}

/// A site's storage: sessions that started before `sealed_until` (UTC ms) are in its shards.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SiteStorage {
    pub hot_events: i64,
    pub sealed_until: i64,
    pub shards: Vec<Shard>,
    pub site: String,
}

/// `GET /api/admin/storage`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Storage {
    pub sites: Vec<SiteStorage>,
}

/// What one sealing run did for a site.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sealed {
    /// UTC days moved.
    pub days: u32,
    /// Events moved.
    pub events: u64,
    /// More days are ready: call again.
    pub more: bool,
    pub sealed_until: i64,
    pub site: String,
}

/// `POST /api/admin/seal`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SealReport {
    /// Some site has more days ready (the run stopped at its bound).
    pub more: bool,
    pub sites: Vec<Sealed>,
}
