//! Apps (`docs/apps.md`): software installed on people's computers reports its use through the
//! `vigia-agent` crate. The upload body and its answer, a user's email registration, the
//! vendor's stats and the metering rows — written once here for the agent, the Worker and the
//! dashboard.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

crate::closed_set! {
    /// Whether a site is a web site (the browser collector, hostnames) or an app (the usage
    /// agent, no hostnames, a public app key). `sites.kind` holds these names.
    #[derive(Default)]
    pub enum SiteKind {
        #[default]
        Web = "web",
        App = "app",
    }
}

crate::closed_set! {
    /// What one record of the agent's log says (`app_records.kind`).
    pub enum AppRecordKind {
        /// The app started a session (the agent records it on `start`).
        SessionStart = "session_start",
        /// A session ended; `active_ms` is the time the user was active in it. A session the
        /// app did not end (a crash, a kill) is ended by the agent on the next start, with the
        /// active time it had saved.
        SessionEnd = "session_end",
        /// A feature was used (`name` says which).
        Feature = "feature",
        /// An error happened (`name` says which; no message text, no stack: they may hold
        /// personal data).
        Error = "error",
        /// Anything else the app records (`name`).
        Custom = "custom",
    }
}

crate::closed_set! {
    /// The operating system an install runs on (`app_installs.os`).
    #[derive(Default)]
    pub enum AppOs {
        Linux = "linux",
        Macos = "macos",
        Windows = "windows",
        #[default]
        Other = "other",
    }
}

/// One record of the agent's log, as uploaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppRecord {
    /// Position in the install's log: strictly increasing per install, never reused (the
    /// agent keeps the counter on disk). With the install it is the record's identity: a
    /// record sent twice, in any batch, is stored once.
    pub seq: u64,
    /// When it was recorded (UTC ms, the computer's clock).
    pub ts: i64,
    pub kind: AppRecordKind,
    /// Feature, error or custom event name; empty for session records.
    #[serde(default)]
    pub name: String,
    /// The agent's random id of the session the record belongs to.
    #[serde(default)]
    pub session: String,
    /// Active time of the session (session_end only).
    #[serde(default)]
    pub active_ms: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, String>,
}

/// `POST /api/app/batch` (header `Authorization: Bearer <app key>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppBatch {
    /// Chosen by the agent when it cuts the batch and kept until the server answers: a batch
    /// sent again (the answer was lost) is recognised and stored once.
    pub batch_id: String,
    /// The random id the agent made on first run (32 hex digits); no hardware id. The server
    /// keeps only a keyed hash of it.
    pub install_id: String,
    #[serde(default)]
    pub app_version: String,
    #[serde(default)]
    pub os: AppOs,
    #[serde(default)]
    pub os_version: String,
    /// Records the agent dropped from its full log since its last accepted batch (oldest
    /// first), so the vendor sees what was lost.
    #[serde(default)]
    pub dropped: u64,
    pub records: Vec<AppRecord>,
}

/// Why one record (or one field) was not kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppProblem {
    /// Index of the record in the batch.
    pub record: usize,
    pub field: String,
    pub error: String,
}

/// The answer to a batch (200): what was stored. A batch seen before answers
/// `duplicate: true` with what was stored the first time, and stores nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppBatchAnswer {
    pub batch_id: String,
    pub duplicate: bool,
    /// Records stored by this batch (a record already stored by seq counts as stored).
    pub stored: u64,
    /// Records refused (bad record); the rest of the batch is kept.
    pub refused: u64,
    pub problems: Vec<AppProblem>,
}

/// `POST /api/app/email` (app key): link an install to its user's email, with consent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailRegistration {
    pub install_id: String,
    pub email: String,
    /// The words the user agreed to, as the app showed them (recorded with the time).
    pub consent: String,
}

/// `POST /api/app/erase` (app key): erase everything stored about one install.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstallRef {
    pub install_id: String,
}

/// One value and its count (versions, OS, features, errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountedValue {
    pub value: String,
    /// Installs that sent it in the period.
    pub installs: i64,
    /// Records (features, errors) or installs (versions, OS).
    pub count: i64,
}

/// Active installs of one local day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyActive {
    /// `YYYY-MM-DD` in the app's time zone.
    pub day: String,
    pub installs: i64,
    pub sessions: i64,
}

/// One cohort: installs first seen in a week, and how many were active in each later week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// The Monday (`YYYY-MM-DD`, app's time zone) of the week the installs were first seen.
    pub week: String,
    pub installs: i64,
    /// `active[0]` is the first week (= installs), `active[n]` week n after.
    pub active: Vec<i64>,
}

/// `GET /api/sites/{site}/app/stats?period=…`: the vendor's view of an app.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppStats {
    /// Installs ever seen (not erased), and those first seen in the period.
    pub installs_total: i64,
    pub installs_new: i64,
    /// Installs active in the period (monthly active for a month).
    pub active_installs: i64,
    /// App users whose email is confirmed (each may have several installs).
    pub confirmed_users: i64,
    /// Average of the daily active installs over the period's days, and the last 30 days'
    /// active installs (MAU) at the period's end.
    pub dau: f64,
    pub mau: i64,
    pub sessions: i64,
    pub active_ms: i64,
    pub daily: Vec<DailyActive>,
    pub versions: Vec<CountedValue>,
    pub os: Vec<CountedValue>,
    pub features: Vec<CountedValue>,
    pub errors: Vec<CountedValue>,
    /// Records the agents dropped from full logs in the period.
    pub dropped: i64,
    pub cohorts: Vec<Cohort>,
}

crate::closed_set! {
    /// What a metering row counts.
    pub enum MeterSource {
        /// Browser events (`POST /api/event`).
        Events = "events",
        /// Server-side activity records (`POST /api/activity`).
        Activity = "activity",
        /// App records (`POST /api/app/batch`).
        App = "app",
    }
}

/// One site's (or app's) use in one UTC month, per source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterRow {
    pub site: String,
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub source: MeterSource,
    /// Events or records that reached Vigia.
    pub received: i64,
    /// Of them, stored (durably: for events, written to D1 by the buffer's flush).
    pub stored: i64,
    /// Of them, refused (bad input, rate limits, bot/spam drops, a full buffer).
    pub refused: i64,
    /// The site was deleted since (its id may name a newer site now); instance view only.
    #[serde(default)]
    pub deleted: bool,
}

/// `GET /api/admin/metering?month=` and `GET /api/sites/{site}/metering`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metering {
    pub rows: Vec<MeterRow>,
}

/// `POST /api/sites/{site}/app-key`: the app's new key (the old one stops working).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppKey {
    pub app_key: String,
}

/// `POST /api/app/erase` and `DELETE /api/sites/{site}/app/users/{email}`: what was erased.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppErased {
    /// Installs erased (their records, batches and links).
    pub installs: i64,
    /// Records deleted.
    pub records: i64,
    /// Users (emails) deleted: no install of theirs was left.
    pub users: i64,
}

/// `POST /api/app/email` (202): the same answer whether or not a mail was sent (a limit, an
/// address known already), so the route tells nothing about who registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailAccepted {
    pub message: String,
}
