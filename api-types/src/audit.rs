//! Bodies of the audit routes, and the closed set of actions the audit log records.

use serde::{Deserialize, Serialize};

crate::closed_set! {
    /// What an audit entry records. The serde name is the text stored in `audit_log.action` and
    /// shown by the API; the route table (`analytics_core::routes`) names the action of each route.
    pub enum AuditAction {
        Setup = "setup",
        Login = "login",
        /// A login that did not answer 200 (recorded by the login route's outcome).
        LoginFailed = "login_failed",
        Logout = "logout",
        InviteAccept = "invite_accept",
        PasswordChange = "password_change",
        TokenCreate = "token_create",
        TokenRevoke = "token_revoke",
        UserCreate = "user_create",
        UserDelete = "user_delete",
        StorageSeal = "storage_seal",
        EventsImport = "events_import",
        SiteCreate = "site_create",
        SiteUpdate = "site_update",
        SiteDelete = "site_delete",
        RoleChange = "role_change",
        MemberRemove = "member_remove",
        SiteInviteAccept = "site_invite_accept",
        SiteInviteDecline = "site_invite_decline",
        PublicLinkChange = "public_link_change",
        GoalCreate = "goal_create",
        GoalDelete = "goal_delete",
        FunnelCreate = "funnel_create",
        FunnelDelete = "funnel_delete",
        ExportEvents = "export_events",
        ExportBreakdown = "export_breakdown",
        ExportActivity = "export_activity",
        ActivityKeyRotate = "activity_key_rotate",
        ActivitySearch = "activity_search",
        UserDataDelete = "user_data_delete",
        ReportSubscriptionChange = "report_subscription_change",
        ReportUnsubscribe = "report_unsubscribe",
        /// History imported from a CSV export (`POST /api/sites/{site}/import`).
        Import = "import",
        /// An app's public key created or rotated.
        AppKeyRotate = "app_key_rotate",
        /// An app user's email registration confirmed through the mailed link.
        AppEmailConfirm = "app_email_confirm",
        /// An app user turned their monthly usage report off (link in the mail).
        AppUsageUnsubscribe = "app_usage_unsubscribe",
        /// An install's data erased at the app's request (the user's own erasure).
        AppInstallErase = "app_install_erase",
        /// An app user's data erased by the vendor (by email).
        AppUserErase = "app_user_erase",
    }
}

/// One entry as the audit pages return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub site_id: Option<String>,
    pub actor_email: String,
    pub action: AuditAction,
    pub target: String,
    pub outcome: i64,
    pub details: String,
    pub country: String,
    pub client: String,
    pub ip_hash: String,
    /// How many requests this row stands for (anonymous entries fold; others are 1).
    pub count: i64,
    /// The last folded request (UTC ms); `at` is the first.
    pub last_at: Option<i64>,
}

/// `GET /api/sites/{site}/audit` and `GET /api/audit`: entries newest first; `next_before` is
/// the id to page on with `before`, or null after the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_before: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_keep_their_stored_names() {
        assert_eq!(AuditAction::UserDataDelete.as_str(), "user_data_delete");
        assert_eq!(AuditAction::parse("drop_table"), None);
    }
}
