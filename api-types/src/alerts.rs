//! Bodies of the alerts routes: what the suspicious-activity rules found, and the rules.

use serde::{Deserialize, Serialize};

/// A suspicious-activity rule. These names are the keys of `VIGIA_ALERT_RULES`, the text of
/// `alerts.rule` and the `rule` of the alerts API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    #[default]
    FailedLoginsPerIp,
    FailedLoginsPerUser,
    ErrorRate,
    BotBurst,
    RateLimited,
    BulkDownloads,
    OutsideHours,
    /// Vigia's own failed logins (instance alerts): per account…
    VigiaFailedLoginsPerAccount,
    /// …and per address.
    VigiaFailedLoginsPerAddress,
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

    pub fn parse(text: &str) -> Option<AlertRule> {
        AlertRule::SITE
            .into_iter()
            .chain(AlertRule::INSTANCE)
            .find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertRule::FailedLoginsPerIp => "failed_logins_per_ip",
            AlertRule::FailedLoginsPerUser => "failed_logins_per_user",
            AlertRule::ErrorRate => "error_rate",
            AlertRule::BotBurst => "bot_burst",
            AlertRule::RateLimited => "rate_limited",
            AlertRule::BulkDownloads => "bulk_downloads",
            AlertRule::OutsideHours => "outside_hours",
            AlertRule::VigiaFailedLoginsPerAccount => "vigia_failed_logins_per_account",
            AlertRule::VigiaFailedLoginsPerAddress => "vigia_failed_logins_per_address",
        }
    }
}

impl std::fmt::Display for AlertRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
        for rule in AlertRule::SITE.into_iter().chain(AlertRule::INSTANCE) {
            assert_eq!(
                serde_json::to_string(&rule).unwrap(),
                format!("\"{}\"", rule.as_str())
            );
            assert_eq!(AlertRule::parse(rule.as_str()), Some(rule));
        }
        assert_eq!(AlertRule::parse("failed_logins"), None);
    }
}
