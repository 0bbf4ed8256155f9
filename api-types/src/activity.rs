//! Bodies of the server-side activity routes: what a site's backend reported, searched, per
//! session and summed up, and the answers to a batch, a new key and an erasure.

use serde::{Deserialize, Serialize};

crate::closed_set! {
    /// What a reported record is about. The wire and the `activity.type` column hold these names.
    #[derive(Default)]
    pub enum ActivityType {
        Login = "login",
        Logout = "logout",
        LoginFailed = "login_failed",
        TokenRefresh = "token_refresh",
        PageView = "page_view",
        DataCreate = "data_create",
        DataUpdate = "data_update",
        DataDelete = "data_delete",
        DataView = "data_view",
        FileUpload = "file_upload",
        FileDownload = "file_download",
        Error = "error",
        #[default]
        Custom = "custom",
        Export = "export",
    }
}

crate::closed_set! {
    /// How a reported action ended (`activity.outcome`).
    #[derive(Default)]
    pub enum Outcome {
        #[default]
        Success = "success",
        Failure = "failure",
        Error = "error",
    }
}

/// A stored record, as the search lists it (and as `activity` holds it, `day` aside).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub id: String,
    pub site_id: String,
    pub ts: i64,
    #[serde(rename = "type")]
    pub kind: ActivityType,
    pub user_id: String,
    pub session_id: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub outcome: Outcome,
    pub status_code: i64,
    pub duration_ms: i64,
    pub browser: String,
    pub os: String,
    pub device: String,
    pub ip_hash: String,
    /// The sanitised details, as JSON text.
    pub details: String,
}

/// `POST /api/activity`: how many records were stored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Stored {
    pub stored: i64,
}

/// `POST /api/sites/{site}/activity-key`: the new key, shown once.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActivityKey {
    pub key: String,
}

/// `GET /api/sites/{site}/activity`: a page of records, newest first. `next_before` is the
/// cursor of the page after (`ts:id`); `range` is the period as the stats API describes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActivityPage<Range> {
    pub records: Vec<ActivityRecord>,
    pub next_before: Option<String>,
    pub range: Range,
}

/// A session with recent activity that did not log out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActiveSession {
    pub session_id: String,
    pub user_id: String,
    pub started: i64,
    pub last_seen: i64,
    pub records: i64,
}

/// `GET /api/sites/{site}/activity/sessions`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActiveSessions {
    /// How recent a session's last record must be.
    pub window_s: i64,
    pub sessions: Vec<ActiveSession>,
}

/// Records and distinct users of one type and outcome.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SummaryRow {
    #[serde(rename = "type")]
    pub kind: ActivityType,
    pub outcome: Outcome,
    pub records: i64,
    pub users: i64,
}

/// `GET /api/sites/{site}/activity/summary`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActivitySummary<Range> {
    pub range: Range,
    pub rows: Vec<SummaryRow>,
}

/// `DELETE /api/sites/{site}/activity/users/{user}`: the id erased and its records deleted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserErased {
    pub user_id: String,
    pub deleted: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_outcomes_keep_their_wire_names() {
        assert_eq!(ActivityType::LoginFailed.as_str(), "login_failed");
        assert_eq!(ActivityType::parse("teleport"), None);
        let row = SummaryRow {
            kind: ActivityType::DataView,
            outcome: Outcome::Failure,
            records: 2,
            users: 1,
        };
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"{"type":"data_view","outcome":"failure","records":2,"users":1}"#
        );
    }
}
