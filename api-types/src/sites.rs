//! Bodies of the site routes: the site list, a site's settings, members and invitations, the
//! public link.
//!
//! Response fields are declared in alphabetical order: the order these answers had when they
//! were built with `serde_json::json!` (which sorts keys), so the bytes on the wire stay the same.

use serde::{Deserialize, Serialize};

use crate::apps::SiteKind;
use crate::Role;

/// A site as the site list (`GET /api/sites`) and a public link (`GET /api/share/{token}`)
/// show it, with the caller's role on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub hash_routing: bool,
    pub id: String,
    /// A web site or an app (`docs/apps.md`).
    #[serde(default)]
    pub kind: SiteKind,
    pub name: String,
    pub role: Role,
    pub timezone: String,
}

/// `GET /api/sites`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sites {
    pub sites: Vec<Site>,
}

/// `POST /api/sites` and `PATCH /api/sites/{site}`: every field optional (a create fills in
/// defaults, an edit changes only what is given).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SiteBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostnames: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_allow_list: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<i64>,
    /// Keep URL fragments in stored paths (single-page apps routing with `#/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_routing: Option<bool>,
    /// Only when creating: `app` makes an app (no hostnames; an app key is made). It never
    /// changes afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<SiteKind>,
}

/// `POST /api/sites` (201): the site as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedSite {
    pub hash_routing: bool,
    pub hostnames: Vec<String>,
    pub id: String,
    #[serde(default)]
    pub kind: SiteKind,
    pub name: String,
    pub timezone: String,
}

/// The public read-only link of a site; its address only for the site's admins.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Share {
    pub enabled: bool,
    pub url: Option<String>,
}

/// `GET /api/sites/{site}`: settings, the snippet, and when the first event arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteDetail {
    /// An app's public key (`vpk_…`, shipped inside the app), shown to the site's admins only.
    #[serde(default)]
    pub app_key: Option<String>,
    pub created_at: i64,
    pub first_event_at: Option<i64>,
    pub hash_routing: bool,
    pub hostnames: Vec<String>,
    pub id: String,
    #[serde(default)]
    pub kind: SiteKind,
    pub name: String,
    pub query_allow_list: String,
    pub retention_days: i64,
    pub role: Role,
    pub share: Share,
    pub snippet: String,
    pub timezone: String,
}

/// `PATCH /api/sites/{site}`: the site changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteUpdated {
    pub updated: String,
}

/// `DELETE /api/sites/{site}`: the site deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteDeleted {
    pub deleted: String,
}

/// A member of a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub email: String,
    pub role: Role,
    pub user_id: i64,
}

/// An invitation to a site not answered yet: a person joins only by accepting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub email: String,
    pub expires_at: i64,
    pub role: Role,
}

/// `GET /api/sites/{site}/members`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Members {
    pub invitations: Vec<Invitation>,
    pub members: Vec<Member>,
}

/// `PUT /api/sites/{site}/members`: a role for a person. The role stays text here so an
/// unknown one is answered `bad_role`, not as malformed JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberBody {
    pub email: String,
    pub role: String,
}

/// `DELETE /api/sites/{site}/members/{user}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRemoved {
    pub removed: i64,
}

/// `POST /api/sites/{site}/share`: the public link on (a new token each time) or off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareBody {
    pub enabled: bool,
}

/// `GET /api/share/{token}`: which site a public link opens.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ShareInfo {
    pub site: Option<Site>,
}

/// An invitation to a site sent to the logged-in user's email (`GET /api/me/invitations`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyInvitation {
    pub expires_at: i64,
    pub id: i64,
    pub invited_by: String,
    pub role: Role,
    pub site: String,
    pub site_name: String,
}

/// `GET /api/me/invitations`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MyInvitations {
    pub invitations: Vec<MyInvitation>,
}

/// `POST /api/me/invitations/{id}/accept`: the site joined, with the role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationAccepted {
    pub role: Role,
    pub site: String,
}

/// `DELETE /api/me/invitations/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationDeclined {
    pub declined: i64,
}

/// `PUT /api/sites/{site}/members` from someone who is not an instance admin: the same answer
/// whether an account has this email or not. Fields in the order this answer always had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invited {
    pub email: String,
    pub role: Role,
    pub status: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_their_wire_shape() {
        let site = Site {
            hash_routing: false,
            id: "demo".into(),
            kind: SiteKind::Web,
            name: "Demo".into(),
            role: Role::Owner,
            timezone: "UTC".into(),
        };
        assert_eq!(
            serde_json::to_string(&Sites { sites: vec![site] }).unwrap(),
            r#"{"sites":[{"hash_routing":false,"id":"demo","kind":"web","name":"Demo","role":"owner","timezone":"UTC"}]}"#
        );
        let body: SiteBody = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(body.name.as_deref(), Some("x"));
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"name":"x"}"#);
        assert_eq!(
            serde_json::to_string(&Share::default()).unwrap(),
            r#"{"enabled":false,"url":null}"#
        );
    }
}
