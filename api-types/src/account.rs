//! Bodies of the account routes: setup, login, the logged-in user, and `/health`.
//!
//! Response fields are declared in alphabetical order: the order these answers had when they
//! were built with `serde_json::json!` (which sorts keys), so the bytes on the wire stay the same.

use serde::{Deserialize, Serialize};

/// `GET /api/setup`: whether the instance still needs its first admin, and whether the caller
/// is logged in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SetupStatus {
    pub logged_in: bool,
    pub needs_setup: bool,
}

/// `GET /api/me`: the logged-in user.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Me {
    pub email: String,
    pub id: i64,
    pub is_admin: bool,
}

/// The first site a first-run setup may create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupSite {
    pub id: String,
    pub name: String,
    pub hostnames: Vec<String>,
}

/// `POST /api/setup`: the first admin, and optionally a first site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupBody {
    pub email: String,
    pub password: String,
    pub site: Option<SetupSite>,
}

/// `POST /api/setup` (201): who was created, and the site's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupDone {
    pub email: String,
    pub site: Option<String>,
}

/// `POST /api/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

/// `POST /api/login`: logged in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedIn {
    pub email: String,
}

/// `POST /api/logout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedOut {
    pub logged_out: bool,
}

/// What a site's buffer Durable Object reports about itself.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BufferStatus {
    pub flush_failures: i64,
    pub last_flush_ms: i64,
    pub pending: i64,
}

/// One dependency's check in `/health`: answering (with what it said), or the error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check<T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub ok: bool,
    #[serde(flatten)]
    pub answer: Option<T>,
}

/// What D1 answered in `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct D1Answer {
    pub sites: i64,
}

/// What the buffer answered in `/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BufferAnswer {
    pub status: BufferStatus,
}

/// `GET /health` (200 when both answer, 503 otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub buffer: Check<BufferAnswer>,
    pub d1: Check<D1Answer>,
    pub ok: bool,
    pub took_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_checks_name_the_answer_or_the_error() {
        let ok = Check {
            error: None,
            ok: true,
            answer: Some(D1Answer { sites: 3 }),
        };
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"ok":true,"sites":3}"#
        );
        let failed: Check<D1Answer> = Check {
            error: Some("down".into()),
            ok: false,
            answer: None,
        };
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"error":"down","ok":false}"#
        );
    }
}
