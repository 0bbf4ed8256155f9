//! Bodies of the account routes: setup, login, the logged-in user.

use serde::{Deserialize, Serialize};

/// `GET /api/setup`: whether the instance still needs its first admin, and whether the caller
/// is logged in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SetupStatus {
    pub needs_setup: bool,
    pub logged_in: bool,
}

/// `GET /api/me`: the logged-in user.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
}
