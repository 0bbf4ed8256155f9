//! Email reports: when they are due (`schedule`), what they say (`render`), and the mail that
//! carries them (`crate::util::email`).

pub mod render;
pub mod schedule;
pub mod usage;

pub use render::{Report, TopList, TOP_DIMENSIONS, TOP_ROWS};
pub use schedule::{ReportKind, Schedule, REPORT_KINDS};

/// A dashboard link for a site: `{base}/?site=…&{rest}`.
pub fn site_link(base: &str, site: &str, rest: &str) -> String {
    let site: String = url::form_urlencoded::byte_serialize(site.as_bytes()).collect();
    format!("{}/?site={site}&{rest}", base.trim_end_matches('/'))
}

/// Recipients of a site's reports of one kind: members whose choice says yes. Owners receive
/// the monthly report unless they turn it off; everyone else opts in.
pub const RECIPIENTS_SQL: &str = "SELECT u.id AS user_id, u.email AS email FROM memberships m \
     JOIN users u ON u.id = m.user_id \
     LEFT JOIN report_subscriptions s ON s.site_id = m.site_id AND s.user_id = m.user_id \
     WHERE m.site_id = ?1 AND CASE ?2 WHEN 'monthly' THEN COALESCE(s.monthly, m.role = 'owner') \
     ELSE COALESCE(s.weekly, 0) END = 1 ORDER BY u.id";

/// Claims one (site, recipient, kind, period) send. A second cron run finds the claim and
/// sends nothing; a failed send may be claimed again until `MAX_SEND_ATTEMPTS`.
pub const CLAIM_SQL: &str = "INSERT INTO report_sends \
     (site_id, user_id, kind, period_from, status, attempts, at) VALUES (?1, ?2, ?3, ?4, 'sending', 1, ?5) \
     ON CONFLICT (site_id, user_id, kind, period_from) DO UPDATE SET status = 'sending', \
     attempts = attempts + 1, at = excluded.at \
     WHERE report_sends.status = 'failed' AND report_sends.attempts < ?6";

/// Records how a claimed send went. Binds: site, user, kind, period start, status
/// (`sent`/`failed`), provider, message id, error, time (UTC ms).
pub const RECORD_SEND_SQL: &str =
    "UPDATE report_sends SET status = ?5, provider = ?6, message_id = ?7, error = ?8, at = ?9 \
     WHERE site_id = ?1 AND user_id = ?2 AND kind = ?3 AND period_from = ?4";

#[cfg(test)]
mod tests {
    #[test]
    fn links_encode_the_site() {
        assert_eq!(
            super::site_link("https://v.example/", "a&b", "tab=alerts"),
            "https://v.example/?site=a%26b&tab=alerts"
        );
    }
}
