//! Suspicious activity: rules with thresholds from configuration (`VIGIA_ALERT_RULES`), the SQL
//! that finds what crossed them, and the alert mail.
//!
//! Rules count within fixed windows (`floor(ts / window)`), not sliding ones: a burst that
//! straddles a window edge is split in two and may stay under the threshold in both. Each
//! (site, rule, subject, window) is one alert: re-running the check updates its count instead
//! of raising it again, and only alerts not yet mailed go into the next mail.

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::governance::compliance::escape_html;
use crate::stats::HOUR_MS;
use crate::store::SqlValue;

pub use api_types::alerts::AlertRule;

/// How far back each check looks: the hourly cron plus one missed run and the longest window.
pub const LOOKBACK_MS: i64 = 3 * HOUR_MS;
/// How long per-minute rate counts are kept (the daily cron deletes older ones).
pub const RATE_COUNTS_KEEP_MS: i64 = 2 * 24 * HOUR_MS;
/// Records the outside-hours rule reads per site and run.
pub const MAX_OUTSIDE_HOURS_SCAN: i64 = 5_000;
/// Alerts per page of the alerts API.
pub const MAX_ALERTS_PAGE: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Fires at this many or more within `minutes`.
    pub count: i64,
    pub minutes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRate {
    /// Fires when more than this share of an hour's activity records are errors…
    pub percent: f64,
    /// …and the hour has at least this many records (two errors in five is not a trend).
    pub min_records: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// Local hours (site time zone) in which access is expected: `from` ≤ hour < `to`.
    pub from: i8,
    pub to: i8,
    /// Whether Saturday and Sunday count as outside.
    #[serde(default)]
    pub weekdays_only: bool,
}

/// Every rule's threshold. Fields left out of the configuration keep their defaults; the
/// outside-hours rule is off until working hours are given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    pub failed_logins_per_ip: Threshold,
    pub failed_logins_per_user: Threshold,
    pub error_rate: ErrorRate,
    pub bot_burst: Threshold,
    pub rate_limited: Threshold,
    pub bulk_downloads: Threshold,
    pub working_hours: Option<WorkingHours>,
    /// Vigia's own failed logins (instance alerts, to instance admins): per account…
    pub vigia_failed_logins_per_account: Threshold,
    /// …and per address fingerprint.
    pub vigia_failed_logins_per_address: Threshold,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            failed_logins_per_ip: Threshold {
                count: 10,
                minutes: 15,
            },
            failed_logins_per_user: Threshold {
                count: 5,
                minutes: 15,
            },
            error_rate: ErrorRate {
                percent: 5.0,
                min_records: 20,
            },
            bot_burst: Threshold {
                count: 500,
                minutes: 10,
            },
            rate_limited: Threshold {
                count: 100,
                minutes: 10,
            },
            bulk_downloads: Threshold {
                count: 20,
                minutes: 60,
            },
            working_hours: None,
            // As many as lock the account or address (analytics_core::accounts::login): a lock is news.
            vigia_failed_logins_per_account: Threshold {
                count: crate::accounts::login::ACCOUNT_FREE_FAILURES,
                minutes: 15,
            },
            vigia_failed_logins_per_address: Threshold {
                count: crate::accounts::login::ADDRESS_FREE_FAILURES,
                minutes: 15,
            },
        }
    }
}

/// The site rules, with what they mean to the person reading an alert.
pub const RULES: [(AlertRule, &str); 7] = [
    (
        AlertRule::FailedLoginsPerIp,
        "Failed logins from one address",
    ),
    (AlertRule::FailedLoginsPerUser, "Failed logins for one user"),
    (AlertRule::ErrorRate, "Error rate above the limit"),
    (AlertRule::BotBurst, "Burst of bot traffic"),
    (AlertRule::RateLimited, "Burst of rate-limited requests"),
    (AlertRule::BulkDownloads, "Bulk exports or downloads"),
    (AlertRule::OutsideHours, "Access outside working hours"),
];

pub fn describe(rule: AlertRule) -> &'static str {
    RULES
        .iter()
        .chain(crate::accounts::login::INSTANCE_RULES.iter())
        .find(|(r, _)| *r == rule)
        .map(|(_, d)| *d)
        .unwrap_or("Suspicious activity")
}

impl Rules {
    /// Reads `VIGIA_ALERT_RULES` (JSON; empty or unset means the defaults) and checks it.
    pub fn from_config(text: Option<&str>) -> Result<Rules, String> {
        let text = text.map(str::trim).unwrap_or_default();
        let rules: Rules = if text.is_empty() {
            Rules::default()
        } else {
            serde_json::from_str(text).map_err(|e| format!("VIGIA_ALERT_RULES: {e}"))?
        };
        rules
            .check()
            .map_err(|e| format!("VIGIA_ALERT_RULES: {e}"))?;
        Ok(rules)
    }

    fn check(&self) -> Result<(), String> {
        let counting = AlertRule::SITE.into_iter().chain(AlertRule::INSTANCE);
        for (name, t) in counting.filter_map(|r| Some((r, self.threshold(r)?))) {
            if t.count < 1 || !(1..=120).contains(&t.minutes) {
                return Err(format!("{name} needs count ≥ 1 and minutes from 1 to 120"));
            }
        }
        let e = self.error_rate;
        if !(e.percent > 0.0 && e.percent < 100.0) || e.min_records < 1 {
            return Err("error_rate needs 0 < percent < 100 and min_records ≥ 1".into());
        }
        if let Some(h) = self.working_hours {
            if !(0..24).contains(&h.from) || !(1..=24).contains(&h.to) || h.from >= h.to {
                return Err("working_hours needs 0 ≤ from < to ≤ 24".into());
            }
        }
        Ok(())
    }

    /// Whether a moment in the site's zone is outside working hours (false when none are set).
    pub fn outside_hours(&self, ts_ms: i64, tz: &TimeZone) -> bool {
        let (Some(h), Ok(t)) = (self.working_hours, Timestamp::from_millisecond(ts_ms)) else {
            return false;
        };
        let local = t.to_zoned(tz.clone());
        let weekend = matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
        (h.weekdays_only && weekend) || local.hour() < h.from || local.hour() >= h.to
    }

    /// One query per counting rule, each answering `CheckRow`s that crossed its threshold.
    pub fn checks(&self, site: &str, now_ms: i64) -> Vec<Check> {
        let since = now_ms - LOOKBACK_MS;
        let mut checks: Vec<Check> = [
            AlertRule::FailedLoginsPerIp,
            AlertRule::FailedLoginsPerUser,
            AlertRule::BotBurst,
            AlertRule::RateLimited,
            AlertRule::BulkDownloads,
        ]
        .into_iter()
        .filter_map(|rule| Some(counted(rule, self.threshold(rule)?, site, since)))
        .collect();
        checks.push(self.error_rate_check(site, since));
        checks
    }

    /// The threshold of a counting rule (none for the rules that do not count in windows).
    fn threshold(&self, rule: AlertRule) -> Option<Threshold> {
        Some(match rule {
            AlertRule::FailedLoginsPerIp => self.failed_logins_per_ip,
            AlertRule::FailedLoginsPerUser => self.failed_logins_per_user,
            AlertRule::BotBurst => self.bot_burst,
            AlertRule::RateLimited => self.rate_limited,
            AlertRule::BulkDownloads => self.bulk_downloads,
            AlertRule::VigiaFailedLoginsPerAccount => self.vigia_failed_logins_per_account,
            AlertRule::VigiaFailedLoginsPerAddress => self.vigia_failed_logins_per_address,
            AlertRule::ErrorRate | AlertRule::OutsideHours => return None,
        })
    }

    /// Hours whose share of errors is above the limit, with enough records to mean something.
    fn error_rate_check(&self, site: &str, since: i64) -> Check {
        let e = self.error_rate;
        Check {
            rule: AlertRule::ErrorRate,
            window_ms: HOUR_MS,
            threshold: e.min_records,
            sql: "SELECT '' AS subject, CAST(ts / 3600000 AS INTEGER) * 3600000 AS window_start, \
                  SUM(outcome = 'error' OR status_code >= 500) AS count, COUNT(*) AS total, \
                  MIN(ts) AS first_ts, MAX(ts) AS last_ts FROM activity \
                  WHERE site_id = ?1 AND ts >= ?2 GROUP BY window_start \
                  HAVING COUNT(*) >= ?3 AND SUM(outcome = 'error' OR status_code >= 500) * 1000 > ?4 * COUNT(*)"
                .into(),
            binds: vec![
                SqlValue::Text(site.into()),
                SqlValue::Int(since),
                SqlValue::Int(e.min_records),
                // Per mille, so the bind stays an integer.
                SqlValue::Int((e.percent * 10.0).round() as i64),
            ],
        }
    }

    /// The instance-wide checks over Vigia's own failed logins.
    pub fn instance_checks(&self, now_ms: i64) -> Vec<Check> {
        crate::accounts::login::instance_checks(
            self.vigia_failed_logins_per_account,
            self.vigia_failed_logins_per_address,
            now_ms,
        )
    }

    /// Alerts for records outside working hours, one per user and hour, from `CANDIDATES`.
    pub fn outside_hours_alerts(&self, rows: &[AccessRow], tz: &TimeZone) -> Vec<Alert> {
        let mut out: Vec<Alert> = Vec::new();
        for r in rows.iter().filter(|r| self.outside_hours(r.ts, tz)) {
            let window_start = r.ts.div_euclid(HOUR_MS) * HOUR_MS;
            let subject = format!("user {}", r.user_id);
            match out
                .iter_mut()
                .find(|a| a.subject == subject && a.window_start == window_start)
            {
                Some(a) => {
                    a.count += 1;
                    a.last_ts = r.ts;
                }
                None => out.push(Alert {
                    rule: AlertRule::OutsideHours,
                    subject,
                    window_start,
                    window_ms: HOUR_MS,
                    count: 1,
                    threshold: 1,
                    detail: String::new(),
                    first_ts: r.ts,
                    last_ts: r.ts,
                }),
            }
        }
        for a in &mut out {
            let local = Timestamp::from_millisecond(a.first_ts)
                .map(|t| t.to_zoned(tz.clone()).strftime("%a %H:%M").to_string())
                .unwrap_or_default();
            a.detail = format!("{} record(s), first at {local} local time", a.count);
        }
        out
    }
}

/// A counting rule's check: the rows (subject, ts, n) of its source summed per subject and
/// fixed window, kept when they reach the threshold.
fn counted(rule: AlertRule, t: Threshold, site: &str, since: i64) -> Check {
    let source = counted_source(rule);
    Check {
        rule,
        window_ms: t.minutes * 60_000,
        threshold: t.count,
        sql: format!(
            "SELECT subject, CAST(ts / ?3 AS INTEGER) * ?3 AS window_start, SUM(n) AS count, \
             0 AS total, MIN(ts) AS first_ts, MAX(ts) AS last_ts FROM ({source}) \
             GROUP BY subject, window_start HAVING SUM(n) >= ?4"
        ),
        binds: vec![
            SqlValue::Text(site.into()),
            SqlValue::Int(since),
            SqlValue::Int(t.minutes * 60_000),
            SqlValue::Int(t.count),
        ],
    }
}

/// What a counting rule counts, as rows (subject, ts, n) of site `?1` since `?2`.
fn counted_source(rule: AlertRule) -> String {
    let failed = "(type = 'login_failed' OR (type = 'login' AND outcome <> 'success'))";
    let activity = |subject: &str, condition: &str| {
        format!(
            "SELECT {subject} AS subject, ts, 1 AS n FROM activity \
             WHERE site_id = ?1 AND ts >= ?2 AND {condition}"
        )
    };
    match rule {
        AlertRule::FailedLoginsPerIp => {
            activity("ip_hash", &format!("{failed} AND ip_hash <> ''"))
        }
        AlertRule::FailedLoginsPerUser => {
            activity("user_id", &format!("{failed} AND user_id <> ''"))
        }
        AlertRule::BotBurst => {
            "SELECT '' AS subject, ts, 1 AS n FROM events WHERE site_id = ?1 AND ts >= ?2 AND bot = 1"
                .into()
        }
        AlertRule::RateLimited => format!(
            "SELECT '' AS subject, win AS ts, refused AS n FROM rate_limited \
             WHERE site_id = ?1 AND win >= ?2 UNION ALL {}",
            activity("''", "status_code = 429")
        ),
        AlertRule::BulkDownloads => format!(
            "{} UNION ALL SELECT 'Vigia user ' || actor_email AS subject, at AS ts, count AS n \
             FROM audit_log WHERE site_key = (SELECT site_key FROM sites WHERE id = ?1) \
             AND at >= ?2 AND action LIKE 'export%' \
             AND outcome BETWEEN 200 AND 299",
            activity(
                "'user ' || user_id",
                "type IN ('file_download', 'export') AND user_id <> ''"
            )
        ),
        // Not counted per site in windows: the error rate is a share, outside hours reads
        // each record, and the instance rules count Vigia's own logins.
        AlertRule::ErrorRate
        | AlertRule::OutsideHours
        | AlertRule::VigiaFailedLoginsPerAccount
        | AlertRule::VigiaFailedLoginsPerAddress => String::new(),
    }
}

/// Activity the outside-hours rule looks at: sign-ins and data access by a known user.
pub const OUTSIDE_HOURS_CANDIDATES_SQL: &str = "SELECT user_id, ts FROM activity \
     WHERE site_id = ?1 AND ts >= ?2 AND user_id <> '' AND type IN ('login', 'data_create', \
     'data_update', 'data_delete', 'data_view', 'file_upload', 'file_download', 'export') \
     ORDER BY ts LIMIT ?3";

#[derive(Debug, Clone, Deserialize)]
pub struct AccessRow {
    pub user_id: String,
    pub ts: i64,
}

/// One counting query.
#[derive(Debug, Clone)]
pub struct Check {
    pub rule: AlertRule,
    pub window_ms: i64,
    pub threshold: i64,
    pub sql: String,
    pub binds: Vec<SqlValue>,
}

/// A row a `Check` answers.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckRow {
    pub subject: String,
    pub window_start: i64,
    pub count: i64,
    pub total: i64,
    pub first_ts: i64,
    pub last_ts: i64,
}

impl Check {
    pub fn alert(&self, row: CheckRow) -> Alert {
        let detail = if self.rule == AlertRule::ErrorRate {
            format!(
                "{} errors in {} records ({:.1}%)",
                row.count,
                row.total,
                row.count as f64 * 100.0 / row.total.max(1) as f64
            )
        } else {
            format!(
                "{} in {} minutes (threshold {})",
                row.count,
                self.window_ms / 60_000,
                self.threshold
            )
        };
        Alert {
            rule: self.rule,
            subject: row.subject,
            window_start: row.window_start,
            window_ms: self.window_ms,
            count: row.count,
            threshold: self.threshold,
            detail,
            first_ts: row.first_ts,
            last_ts: row.last_ts,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub rule: AlertRule,
    pub subject: String,
    pub window_start: i64,
    pub window_ms: i64,
    pub count: i64,
    pub threshold: i64,
    pub detail: String,
    pub first_ts: i64,
    pub last_ts: i64,
}

/// Records an alert once per (site, rule, subject, window); a later run raises its count.
pub const UPSERT_SQL: &str =
    "INSERT INTO alerts (site_id, rule, subject, window_start, window_ms, \
     count, threshold, detail, first_ts, last_ts, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
     ON CONFLICT (site_id, rule, subject, window_start) DO UPDATE SET \
     count = MAX(alerts.count, excluded.count), last_ts = MAX(alerts.last_ts, excluded.last_ts), \
     detail = CASE WHEN excluded.count >= alerts.count THEN excluded.detail ELSE alerts.detail END";

pub fn upsert_values(site: &str, a: &Alert, now_ms: i64) -> Vec<SqlValue> {
    use SqlValue::{Int, Text};
    vec![
        Text(site.into()),
        Text(a.rule.as_str().into()),
        Text(a.subject.clone()),
        Int(a.window_start),
        Int(a.window_ms),
        Int(a.count),
        Int(a.threshold),
        Text(a.detail.clone()),
        Int(a.first_ts),
        Int(a.last_ts),
        Int(now_ms),
    ]
}

/// Takes the site's alerts nobody was mailed about yet, marking them mailed in the same
/// statement: a second run (or a cron firing twice) finds none.
pub const CLAIM_UNMAILED_SQL: &str = "UPDATE alerts SET emailed_at = ?2 \
     WHERE site_id = ?1 AND emailed_at IS NULL \
     RETURNING rule, subject, window_start, window_ms, count, threshold, detail, first_ts, last_ts";

/// Who is mailed about a site's alerts: its owners and admins.
pub const ALERT_RECIPIENTS_SQL: &str = "SELECT u.email AS email FROM memberships m \
     JOIN users u ON u.id = m.user_id WHERE m.site_id = ?1 AND m.role IN ('owner', 'admin') \
     ORDER BY u.id";

/// The alert mail: subject, text and HTML.
pub fn mail(
    site_name: &str,
    alerts: &[Alert],
    link: &str,
    tz: &TimeZone,
) -> (String, String, String) {
    let when = |ms: i64| {
        Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let subject = format!(
        "Suspicious activity on {site_name}: {} new alert{}",
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" }
    );
    let mut text = format!("{subject}\n\n");
    let mut rows = String::new();
    for a in alerts {
        let who = if a.subject.is_empty() {
            "the whole site"
        } else {
            a.subject.as_str()
        };
        text.push_str(&format!(
            "- {}: {who}, {} (window from {})\n",
            describe(a.rule),
            a.detail,
            when(a.window_start)
        ));
        rows.push_str(&format!(
            "<tr><td style=\"padding:6px 8px;border-bottom:1px solid #e4e7ec\">{}</td>\
             <td style=\"padding:6px 8px;border-bottom:1px solid #e4e7ec\">{}</td>\
             <td style=\"padding:6px 8px;border-bottom:1px solid #e4e7ec\">{}</td>\
             <td style=\"padding:6px 8px;border-bottom:1px solid #e4e7ec\">{}</td></tr>",
            escape_html(describe(a.rule)),
            escape_html(who),
            escape_html(&a.detail),
            escape_html(&when(a.window_start))
        ));
    }
    text.push_str(&format!("\nReview them: {link}\n"));
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{s}</title></head>\
         <body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1c2330\">\
         <h1 style=\"font-size:20px\">{s}</h1><table cellspacing=\"0\" style=\"font-size:14px\">\
         <tr><th align=\"left\">Rule</th><th align=\"left\">Who</th><th align=\"left\">What</th><th align=\"left\">Window</th></tr>{rows}</table>\
         <p><a href=\"{l}\">Review them in Vigia</a></p></body></html>",
        s = escape_html(&subject),
        l = escape_html(link),
    );
    (subject, text, html)
}

/// What the chat webhook is sent about new alerts: the mail's text, as `text` for Slack and
/// Mattermost and `content` for Discord.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatMessage<'a> {
    pub text: &'a str,
    pub content: &'a str,
}

impl<'a> ChatMessage<'a> {
    pub fn of(text: &'a str) -> ChatMessage<'a> {
        ChatMessage {
            text,
            content: text,
        }
    }
}

/// `?before=` for the alerts page.
pub fn parse_before(value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request("bad_cursor", "before must be an alert id"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_overrides_single_rules_and_is_checked() {
        let r = Rules::from_config(Some(r#"{"failed_logins_per_ip":{"count":3,"minutes":5}}"#))
            .unwrap();
        assert_eq!(
            r.failed_logins_per_ip,
            Threshold {
                count: 3,
                minutes: 5
            }
        );
        assert_eq!(
            r.failed_logins_per_user,
            Rules::default().failed_logins_per_user
        );
        assert_eq!(Rules::from_config(None).unwrap(), Rules::default());
        assert_eq!(
            describe(AlertRule::VigiaFailedLoginsPerAddress),
            "Failed Vigia logins from one address"
        );
        for bad in [
            r#"{"bot_burst":{"count":0,"minutes":5}}"#,
            r#"{"error_rate":{"percent":150,"min_records":1}}"#,
            r#"{"working_hours":{"from":20,"to":8}}"#,
            r#"{"failed_logins":{"count":3,"minutes":5}}"#,
            r#"{"vigia_failed_logins_per_account":{"count":0,"minutes":5}}"#,
            "not json",
        ] {
            assert!(
                Rules::from_config(Some(bad))
                    .unwrap_err()
                    .starts_with("VIGIA_ALERT_RULES"),
                "{bad}"
            );
        }
    }

    #[test]
    fn working_hours_are_read_in_the_sites_zone() {
        let tz = TimeZone::get("Europe/Lisbon").unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap().as_millisecond();
        let none = Rules::default();
        assert!(
            !none.outside_hours(at("2026-11-23T03:00:00Z"), &tz),
            "off unless configured"
        );
        let r = Rules {
            working_hours: Some(WorkingHours {
                from: 8,
                to: 19,
                weekdays_only: true,
            }),
            ..Rules::default()
        };
        assert!(r.outside_hours(at("2026-11-23T07:59:00Z"), &tz)); // Monday 07:59 Lisbon
        assert!(!r.outside_hours(at("2026-11-23T08:00:00Z"), &tz));
        assert!(r.outside_hours(at("2026-11-23T19:00:00Z"), &tz));
        assert!(r.outside_hours(at("2026-11-22T12:00:00Z"), &tz)); // Sunday
        let rows = [
            AccessRow {
                user_id: "u1".into(),
                ts: at("2026-11-23T03:10:00Z"),
            },
            AccessRow {
                user_id: "u1".into(),
                ts: at("2026-11-23T03:20:00Z"),
            },
            AccessRow {
                user_id: "u1".into(),
                ts: at("2026-11-23T10:00:00Z"),
            },
            AccessRow {
                user_id: "u2".into(),
                ts: at("2026-11-23T03:30:00Z"),
            },
        ];
        let alerts = r.outside_hours_alerts(&rows, &tz);
        assert_eq!(alerts.len(), 2);
        assert_eq!(
            (alerts[0].subject.as_str(), alerts[0].count),
            ("user u1", 2)
        );
        assert_eq!(
            alerts[0].detail,
            "2 record(s), first at Mon 03:10 local time"
        );
    }

    #[test]
    fn every_rule_has_a_check_or_its_own_path_and_a_description() {
        let checks = Rules::default().checks("s", 10 * HOUR_MS);
        let mut names: Vec<AlertRule> = checks.iter().map(|c| c.rule).collect();
        names.push(AlertRule::OutsideHours);
        for (rule, _) in RULES {
            assert!(names.contains(&rule), "{rule} is never checked");
            assert_ne!(describe(rule), "Suspicious activity");
        }
        for c in &checks {
            let highest = (1..=9)
                .rev()
                .find(|n| c.sql.contains(&format!("?{n}")))
                .unwrap();
            assert_eq!(
                highest,
                c.binds.len(),
                "{}: placeholders and binds differ",
                c.rule
            );
        }
    }

    #[test]
    fn the_mail_escapes_subjects() {
        let a = Alert {
            rule: AlertRule::FailedLoginsPerUser,
            subject: "<script>x</script>".into(),
            window_start: 0,
            window_ms: 900_000,
            count: 7,
            threshold: 5,
            detail: "7 in 15 minutes (threshold 5)".into(),
            first_ts: 0,
            last_ts: 0,
        };
        let (subject, text, html) =
            mail("Shop", &[a], "https://v/?site=s&tab=alerts", &TimeZone::UTC);
        assert_eq!(subject, "Suspicious activity on Shop: 1 new alert");
        assert!(text.contains(
            "- Failed logins for one user: <script>x</script>, 7 in 15 minutes (threshold 5)"
        ));
        assert!(!html.contains("<script>") && html.contains("&amp;tab=alerts"));
    }
}
