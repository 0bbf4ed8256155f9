//! The stats and admin API's bodies, one type per request and response, shared by the Worker
//! (which answers with them) and the dashboard (which reads them): a field renamed here is
//! renamed for both, and the compiler finds every use. Serde only — no rule lives here (rules
//! are in `analytics-core`, which re-exports the enums below where it uses them).
//!
//! Closed sets are enums whose serde names are the text on the wire and in the database.

pub mod account;
pub mod activity;
pub mod alerts;
pub mod audit;
pub mod goals;
pub mod reports;
pub mod sites;
pub mod stats;
pub mod users;

use serde::{Deserialize, Serialize};

/// A member's role on a site, weakest first: each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Auditor,
    Admin,
    Owner,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Auditor, Role::Admin, Role::Owner];

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_keep_their_wire_names_and_order() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(Role::Viewer < Role::Auditor && Role::Admin < Role::Owner);
        assert_eq!(Role::parse("root"), None);
    }
}
