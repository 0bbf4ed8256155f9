//! Bodies of the alerts routes: what the suspicious-activity rules found, and the rules.

use serde::{Deserialize, Serialize};

crate::closed_set! {
    /// A suspicious-activity rule. These names are the keys of `VIGIA_ALERT_RULES`, the text of
    /// `alerts.rule` and the `rule` of the alerts API.
    #[derive(Default)]
    pub enum AlertRule {
        #[default]
        FailedLoginsPerIp = "failed_logins_per_ip",
        FailedLoginsPerUser = "failed_logins_per_user",
        ErrorRate = "error_rate",
        BotBurst = "bot_burst",
        RateLimited = "rate_limited",
        BulkDownloads = "bulk_downloads",
        OutsideHours = "outside_hours",
        /// Vigia's own failed logins (instance alerts): per account…
        VigiaFailedLoginsPerAccount = "vigia_failed_logins_per_account",
        /// …and per address.
        VigiaFailedLoginsPerAddress = "vigia_failed_logins_per_address",
    }
}

impl AlertRule {
    /// The rules checked for each site.
    pub const SITE: [AlertRule; 7] = [
        AlertRule::FailedLoginsPerIp,
        AlertRule::FailedLoginsPerUser,
        AlertRule::ErrorRate,
        AlertRule::BotBurst,
        AlertRule::RateLimited,
        AlertRule::BulkDownloads,
        AlertRule::OutsideHours,
    ];
    /// The rules checked once for the whole instance.
    pub const INSTANCE: [AlertRule; 2] = [
        AlertRule::VigiaFailedLoginsPerAccount,
        AlertRule::VigiaFailedLoginsPerAddress,
    ];
}

/// One alert: a rule's count for a subject within a window (`alerts` row), and what the rule
/// means to the person reading it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AlertEntry {
    pub id: i64,
    pub rule: AlertRule,
    pub subject: String,
    pub window_start: i64,
    pub window_ms: i64,
    pub count: i64,
    pub threshold: i64,
    pub detail: String,
    pub first_ts: i64,
    pub last_ts: i64,
    pub created_at: i64,
    pub emailed_at: Option<i64>,
    /// Not stored: the rule's description, added when the alert is listed.
    #[serde(default)]
    pub description: String,
}

/// A rule and what it means.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuleInfo {
    pub rule: AlertRule,
    pub description: String,
}

/// `GET /api/sites/{site}/alerts` and `GET /api/alerts`: a page of alerts, newest first
/// (`next_before`: the id to page from), the rules that apply and their thresholds (the
/// instance's `VIGIA_ALERT_RULES`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AlertsPage<Thresholds> {
    pub alerts: Vec<AlertEntry>,
    pub next_before: Option<i64>,
    pub rules: Vec<RuleInfo>,
    pub thresholds: Thresholds,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_keep_their_wire_names() {
        assert_eq!(AlertRule::parse("failed_logins"), None);
    }
}
