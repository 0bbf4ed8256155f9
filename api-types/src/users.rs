//! Bodies of the user routes: accounts (instance admins), passwords, API tokens.
//!
//! Response fields are declared in alphabetical order: the order these answers had when they
//! were built with `serde_json::json!` (which sorts keys), so the bytes on the wire stay the same.

use serde::{Deserialize, Serialize};

/// An account as instance admins list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub created_at: i64,
    pub email: String,
    pub id: i64,
    pub is_admin: bool,
    /// Sites the account is a member of.
    pub sites: i64,
}

/// `GET /api/users`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Users {
    pub users: Vec<User>,
}

/// `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    /// An initial password the admin passes on, or none to invite: the answer then carries a
    /// one-time link where the person sets their own.
    pub password: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
}

/// `POST /api/users` (201): the account, and its invitation link when it has no password yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub email: String,
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_url: Option<String>,
    pub is_admin: bool,
}

/// `POST /api/invites/accept`: the invited person's password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptInvite {
    pub token: String,
    pub password: String,
}

/// `POST /api/invites/accept`: logged in for the first time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub welcome: bool,
}

/// `DELETE /api/users/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDeleted {
    pub deleted: i64,
}

/// `POST /api/me/password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// `POST /api/me/password`: changed, and every API token revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordChanged {
    pub changed: bool,
    pub tokens_revoked: bool,
}

/// A personal API token, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub created_at: i64,
    pub expires_at: i64,
    pub id: i64,
    pub last_used_at: Option<i64>,
    pub name: String,
    pub prefix: String,
    /// The one site the token reads, or null for every site its owner can read.
    pub site: Option<String>,
}

/// `GET /api/tokens`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tokens {
    pub tokens: Vec<Token>,
}

/// `POST /api/tokens`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TokenBody {
    pub name: String,
    /// Days until the token stops working (the default when absent).
    pub expires_in_days: Option<i64>,
    /// Limits the token to this site (one the user can read).
    pub site: Option<String>,
}

/// `POST /api/tokens` (201): the token, in this answer only.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewToken {
    pub expires_at: i64,
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub site: Option<String>,
    pub token: String,
}

/// `DELETE /api/tokens/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRevoked {
    pub revoked: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_user_carries_an_invitation_only_when_it_has_one() {
        let mut user = CreatedUser {
            email: "a@example.com".into(),
            id: 2,
            invite_expires_at: None,
            invite_url: None,
            is_admin: false,
        };
        assert_eq!(
            serde_json::to_string(&user).unwrap(),
            r#"{"email":"a@example.com","id":2,"is_admin":false}"#
        );
        user.invite_expires_at = Some(5);
        user.invite_url = Some("u".into());
        assert_eq!(
            serde_json::to_string(&user).unwrap(),
            r#"{"email":"a@example.com","id":2,"invite_expires_at":5,"invite_url":"u","is_admin":false}"#
        );
        let body: NewUser = serde_json::from_str(r#"{"email":"a@example.com"}"#).unwrap();
        assert!(!body.is_admin && body.password.is_none());
    }
}
