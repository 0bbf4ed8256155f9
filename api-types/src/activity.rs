//! Bodies of the server-side activity routes: what a site's backend reported, searched, per
//! session and summed up, and the answers to a batch, a new key and an erasure.

use serde::{Deserialize, Serialize};

/// What a reported record is about. The wire and the `activity.type` column hold these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityType {
    Login,
    Logout,
    LoginFailed,
    TokenRefresh,
    PageView,
    DataCreate,
    DataUpdate,
    DataDelete,
    DataView,
    FileUpload,
    FileDownload,
    Error,
    #[default]
    Custom,
    Export,
}

impl ActivityType {
    /// Every type, in the order the API lists them.
    pub const ALL: [ActivityType; 14] = [
        ActivityType::Login,
        ActivityType::Logout,
        ActivityType::LoginFailed,
        ActivityType::TokenRefresh,
        ActivityType::PageView,
        ActivityType::DataCreate,
        ActivityType::DataUpdate,
        ActivityType::DataDelete,
        ActivityType::DataView,
        ActivityType::FileUpload,
        ActivityType::FileDownload,
        ActivityType::Error,
        ActivityType::Custom,
        ActivityType::Export,
    ];

    pub fn parse(text: &str) -> Option<ActivityType> {
        ActivityType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityType::Login => "login",
            ActivityType::Logout => "logout",
            ActivityType::LoginFailed => "login_failed",
            ActivityType::TokenRefresh => "token_refresh",
            ActivityType::PageView => "page_view",
            ActivityType::DataCreate => "data_create",
            ActivityType::DataUpdate => "data_update",
            ActivityType::DataDelete => "data_delete",
            ActivityType::DataView => "data_view",
            ActivityType::FileUpload => "file_upload",
            ActivityType::FileDownload => "file_download",
            ActivityType::Error => "error",
            ActivityType::Custom => "custom",
            ActivityType::Export => "export",
        }
    }
}

/// How a reported action ended (`activity.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Success,
    Failure,
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Success, Outcome::Failure, Outcome::Error];

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
        }
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
        for t in ActivityType::ALL {
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            assert_eq!(ActivityType::parse(t.as_str()), Some(t));
        }
        for o in Outcome::ALL {
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
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
