//! The monthly usage report an app user receives about their own use (docs/app-reports.md):
//! sessions, active time, top features and errors of the month, each compared with the month
//! before, in the app's time zone. Its figures come from the statements of
//! `store::app_stats` with the user's scope — the ones `GET /api/sites/{site}/app/stats?email=`
//! runs — so the mail and the API cannot disagree.
//!
//! The mail is a subject, a text part and an HTML part without scripts, images or anything
//! loaded; every name (the app's, a feature's, an error's) is escaped.

use api_types::apps::{AppRecordKind, CountedValue};

use crate::governance::compliance::escape_html;
use crate::stats::period::Period;
use crate::store::app_stats::{self, of_kind, Scope, TopRow, TotalsRow};
use crate::store::Sql;
use crate::util::email::{header_text, unsubscribe_signature, unsubscribe_valid};

use super::render::{active_time, change, count, period_label};
use super::schedule::ReportKind;

/// Features and errors a report lists (the API lists `app_stats::TOP_VALUES`; these are its
/// first rows).
pub const REPORT_TOP: usize = 5;

/// `report_sends.kind` and the unsubscribe link's kind of a usage report.
pub const USAGE_KIND: &str = "usage";

/// One month of one user's use.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageFigures {
    /// Records of every kind: none means no use, and no mail.
    pub records: i64,
    pub sessions: i64,
    pub active_ms: i64,
    pub features: Vec<CountedValue>,
    pub errors: Vec<CountedValue>,
}

impl UsageFigures {
    pub fn new(totals: TotalsRow, top: &[TopRow]) -> UsageFigures {
        UsageFigures {
            records: totals.records,
            sessions: totals.sessions,
            active_ms: totals.active_ms,
            features: of_kind(top, AppRecordKind::Feature),
            errors: of_kind(top, AppRecordKind::Error),
        }
    }

    /// How often a named feature or error was recorded (0 when it was not).
    fn times(&self, kind: AppRecordKind, name: &str) -> i64 {
        let list = match kind {
            AppRecordKind::Error => &self.errors,
            _ => &self.features,
        };
        list.iter().find(|v| v.value == name).map_or(0, |v| v.count)
    }
}

/// The statements of a report, in two steps: first the month's totals and lists and the month
/// before's totals, then ([`UsageQuery::before_named`]) the month before's counts of the names
/// the month lists.
pub struct UsageQuery {
    pub now: Scope,
    pub before: Scope,
}

impl UsageQuery {
    pub fn new(site_key: i64, user: i64, period: &Period, previous: &Period) -> UsageQuery {
        UsageQuery {
            now: Scope::of(site_key, period, Some(user)),
            before: Scope::of(site_key, previous, Some(user)),
        }
    }

    /// The month's totals, its top features and errors, the month before's totals.
    pub fn first(&self) -> [Sql; 3] {
        [
            app_stats::totals(&self.now),
            app_stats::top(&self.now),
            app_stats::totals(&self.before),
        ]
    }

    /// The month before's counts of what the report lists for the month.
    pub fn before_named(&self, now: &UsageFigures) -> Sql {
        let names: Vec<(AppRecordKind, String)> = listed(&now.features)
            .map(|v| (AppRecordKind::Feature, v.value.clone()))
            .chain(listed(&now.errors).map(|v| (AppRecordKind::Error, v.value.clone())))
            .collect();
        app_stats::named(&self.before, &names)
    }
}

fn listed(list: &[CountedValue]) -> impl Iterator<Item = &CountedValue> {
    list.iter().take(REPORT_TOP)
}

/// One line of a figure or a list: (name, this month, the month before, change).
pub type Line = (String, String, String, String);

/// Everything one user's report says.
#[derive(Debug, Clone)]
pub struct UsageReport {
    pub app_name: String,
    pub period: Period,
    pub previous: Period,
    pub now: UsageFigures,
    /// The month before: its totals, and its counts of the names `now` lists.
    pub before: UsageFigures,
    pub unsubscribe_url: String,
}

/// What the link in a usage report signs for: the app by its internal key (never reused), so
/// a link cannot be replayed against a member's report of a site or another app.
fn link_subject(site_key: i64) -> String {
    format!("app:{site_key}")
}

/// `{base}/api/app/unsubscribe?user=…&sig=…`: works without logging in.
pub fn unsubscribe_link(base: &str, key: &[u8], site_key: i64, user_id: i64) -> String {
    let sig = unsubscribe_signature(key, &link_subject(site_key), user_id, USAGE_KIND);
    format!(
        "{}/api/app/unsubscribe?user={user_id}&sig={sig}",
        base.trim_end_matches('/')
    )
}

/// Whether `sig` is the signature of the link for this user of this app.
pub fn link_valid(key: &[u8], site_key: i64, user_id: i64, sig: &str) -> bool {
    unsubscribe_valid(key, &link_subject(site_key), user_id, USAGE_KIND, sig)
}

impl UsageReport {
    fn month(&self) -> String {
        period_label(ReportKind::Monthly, &self.period)
    }

    fn month_before(&self) -> String {
        period_label(ReportKind::Monthly, &self.previous)
    }

    /// (label, this month, the month before, change) of the headline figures.
    pub fn headline(&self) -> Vec<(&'static str, String, String, String)> {
        let (n, b) = (&self.now, &self.before);
        vec![
            (
                "Sessions",
                count(n.sessions),
                count(b.sessions),
                change(n.sessions as f64, b.sessions as f64),
            ),
            (
                "Active time",
                active_time(n.active_ms),
                active_time(b.active_ms),
                change(n.active_ms as f64, b.active_ms as f64),
            ),
        ]
    }

    /// (title, rows of (name, this month, the month before, change)) of the lists.
    pub fn lists(&self) -> Vec<(&'static str, Vec<Line>)> {
        let rows = |kind: AppRecordKind, list: &[CountedValue]| {
            listed(list)
                .map(|v| {
                    let before = self.before.times(kind, &v.value);
                    (
                        v.value.clone(),
                        count(v.count),
                        count(before),
                        change(v.count as f64, before as f64),
                    )
                })
                .collect()
        };
        vec![
            (
                "Top features",
                rows(AppRecordKind::Feature, &self.now.features),
            ),
            ("Errors", rows(AppRecordKind::Error, &self.now.errors)),
        ]
    }

    /// Said when the month before has nothing to compare with.
    fn no_prior(&self) -> Option<String> {
        (self.before.records == 0).then(|| {
            format!(
                "You did not use {} in {}, so there is nothing to compare with.",
                self.app_name,
                self.month_before()
            )
        })
    }

    pub fn subject(&self) -> String {
        format!(
            "{}: your use in {} ({} {}, {} active)",
            header_text(&self.app_name),
            self.month(),
            count(self.now.sessions),
            if self.now.sessions == 1 {
                "session"
            } else {
                "sessions"
            },
            active_time(self.now.active_ms)
        )
    }

    pub fn to_text(&self) -> String {
        let before = self.month_before();
        let mut out = format!(
            "Your use of {} in {} ({} to {}, {}), compared with {before}\n\n",
            self.app_name,
            self.month(),
            self.period.from,
            self.period.to,
            self.period.tz.iana_name().unwrap_or("UTC"),
        );
        for (label, now, was, delta) in self.headline() {
            out.push_str(&format!("{label}: {now} ({before}: {was}, {delta})\n"));
        }
        if let Some(note) = self.no_prior() {
            out.push_str(&format!("{note}\n"));
        }
        for (title, rows) in self.lists() {
            out.push_str(&format!("\n{title}\n"));
            if rows.is_empty() {
                out.push_str("  (none)\n");
            }
            for (name, now, was, delta) in rows {
                out.push_str(&format!("  {name}: {now} ({before}: {was}, {delta})\n"));
            }
        }
        out.push_str(&format!(
            "\nYou receive this because you asked {} for a monthly report of your use.\n\
             Stop these reports: {}\n",
            self.app_name, self.unsubscribe_url
        ));
        out
    }

    pub fn to_html(&self) -> String {
        let cell = "padding:8px 10px;border-bottom:1px solid #e4e7ec";
        let before = escape_html(&self.month_before());
        let row = |label: &str, now: &str, was: &str, delta: &str| {
            format!(
                "<tr><td style=\"{cell};word-break:break-all\">{}</td><td style=\"{cell};font-weight:600\" align=\"right\">{}</td>\
                 <td style=\"{cell};color:#667085\" align=\"right\">{}</td><td style=\"{cell}\" align=\"right\">{}</td></tr>",
                escape_html(label),
                escape_html(now),
                escape_html(was),
                escape_html(delta)
            )
        };
        let head = format!(
            "<tr><th align=\"left\" style=\"{cell}\"></th><th align=\"right\" style=\"{cell}\">{}</th>\
             <th align=\"right\" style=\"{cell}\">{before}</th><th align=\"right\" style=\"{cell}\">Change</th></tr>",
            escape_html(&self.month())
        );
        let mut figures = head.clone();
        for (label, now, was, delta) in self.headline() {
            figures.push_str(&row(label, &now, &was, &delta));
        }
        let note = self
            .no_prior()
            .map(|n| format!("<p style=\"color:#667085\">{}</p>", escape_html(&n)))
            .unwrap_or_default();
        let mut lists = String::new();
        for (title, rows) in self.lists() {
            lists.push_str(&format!(
                "<h3 style=\"font-size:15px;margin:22px 0 6px\">{}</h3>\
                 <table role=\"presentation\" width=\"100%\" cellspacing=\"0\" style=\"font-size:14px\">",
                escape_html(title)
            ));
            if rows.is_empty() {
                lists.push_str(&format!(
                    "<tr><td style=\"{cell};color:#667085\">None</td></tr>"
                ));
            } else {
                lists.push_str(&head);
            }
            for (name, now, was, delta) in rows {
                lists.push_str(&row(&name, &now, &was, &delta));
            }
            lists.push_str("</table>");
        }
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
             <body style=\"margin:0;background:#f5f6f8;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1c2330\">\
             <table role=\"presentation\" width=\"100%\" cellspacing=\"0\"><tr><td align=\"center\" style=\"padding:24px 12px\">\
             <table role=\"presentation\" width=\"600\" cellspacing=\"0\" style=\"max-width:600px;width:100%;background:#ffffff;border-radius:8px\"><tr><td style=\"padding:24px\">\
             <h1 style=\"font-size:22px;margin:0 0 2px\">Your use of {app}</h1>\
             <p style=\"margin:0 0 16px;color:#667085\">{month} · {from} to {to} ({tz}), compared with {before}</p>\
             <table role=\"presentation\" width=\"100%\" cellspacing=\"0\" style=\"font-size:14px\">{figures}</table>\
             {note}{lists}\
             </td></tr></table>\
             <p style=\"font-size:12px;color:#667085\">You receive this because you asked {app} for a monthly report of your use. \
             <a href=\"{unsubscribe}\" style=\"color:#667085\">Stop these reports</a></p>\
             </td></tr></table></body></html>",
            title = escape_html(&self.subject()),
            app = escape_html(&self.app_name),
            month = escape_html(&self.month()),
            from = self.period.from,
            to = self.period.to,
            tz = escape_html(self.period.tz.iana_name().unwrap_or("UTC")),
            unsubscribe = escape_html(&self.unsubscribe_url),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::schedule::Schedule;
    use crate::store::app_stats::tests::{app_db, install, ms, record, user, EDITOR};
    use crate::store::app_stats::StatsQuery;
    use crate::store::sqlite::{all, first};
    use jiff::tz::TimeZone;
    use rusqlite::Connection;

    fn month(text: &str, tz: &TimeZone) -> Period {
        ReportKind::Monthly
            .period_containing(text.parse().unwrap(), tz.clone())
            .unwrap()
    }

    /// The report as the job builds it, from the same statements, in SQLite.
    fn gather(db: &Connection, user: i64, period: &Period) -> UsageReport {
        let previous = ReportKind::Monthly.previous(period);
        let q = UsageQuery::new(EDITOR, user, period, &previous);
        let [t, top, bt] = q.first();
        let now = UsageFigures::new(first(db, &t).unwrap(), &all::<TopRow>(db, &top));
        let named: Vec<TopRow> = all(db, &q.before_named(&now));
        let before = UsageFigures::new(first(db, &bt).unwrap(), &named);
        UsageReport {
            app_name: "Editor <Pro> & \"Co\"".into(),
            period: period.clone(),
            previous,
            now,
            before,
            unsubscribe_url: unsubscribe_link("https://v.example/", b"k", EDITOR, user),
        }
    }

    fn two_months(db: &Connection) {
        user(db, 1, "ana@example.com", "confirmed");
        install(db, "a1", ms("2026-10-01T09:00:00Z"), Some(1), "linux");
        install(db, "x1", ms("2026-10-01T09:00:00Z"), None, "linux");
        let mut seq = 0;
        let mut rec = |i: &str, ts: &str, kind: &str, name: &str, active: i64| {
            seq += 1;
            record(db, i, seq, ms(ts), kind, name, active);
        };
        // October: 1 session, 30 min, export once.
        rec("a1", "2026-10-05T09:00:00Z", "session_start", "", 0);
        rec("a1", "2026-10-05T09:01:00Z", "feature", "export", 0);
        rec("a1", "2026-10-05T09:30:00Z", "session_end", "", 1_800_000);
        // November: 2 sessions, 1h 15m, export twice, <b>bold</b> once, an error.
        for day in ["2026-11-03", "2026-11-17"] {
            rec("a1", &format!("{day}T09:00:00Z"), "session_start", "", 0);
            rec("a1", &format!("{day}T09:01:00Z"), "feature", "export", 0);
            rec(
                "a1",
                &format!("{day}T10:00:00Z"),
                "session_end",
                "",
                2_250_000,
            );
        }
        rec("a1", "2026-11-17T09:02:00Z", "feature", "<b>bold</b>", 0);
        rec(
            "a1",
            "2026-11-17T09:03:00Z",
            "error",
            "<script>x</script>",
            0,
        );
        // Someone else's install is not in Ana's report.
        rec("x1", "2026-11-03T09:00:00Z", "session_start", "", 0);
        rec("x1", "2026-11-03T09:00:01Z", "feature", "export", 0);
    }

    #[test]
    fn the_report_states_the_month_and_compares_with_the_month_before() {
        let db = app_db();
        two_months(&db);
        let tz = TimeZone::get("Europe/Lisbon").unwrap();
        let nov = month("2026-11-01", &tz);
        let r = gather(&db, 1, &nov);
        assert_eq!(
            r.headline(),
            [
                ("Sessions", "2".into(), "1".into(), "+100%".into()),
                (
                    "Active time",
                    "1h 15m".into(),
                    "30m 00s".into(),
                    "+150%".into()
                ),
            ]
        );
        let lists = r.lists();
        assert_eq!(
            lists[0].1,
            [
                ("export".into(), "2".into(), "1".into(), "+100%".into()),
                ("<b>bold</b>".into(), "1".into(), "0".into(), "new".into()),
            ]
        );
        assert_eq!(lists[1].1[0].3, "new");
        let text = r.to_text();
        assert!(
            text.contains("Sessions: 2 (October 2026: 1, +100%)"),
            "{text}"
        );
        assert!(
            text.contains("  export: 2 (October 2026: 1, +100%)"),
            "{text}"
        );
        assert!(
            text.contains("Stop these reports: https://v.example/api/app/unsubscribe?user=1&sig=")
        );
        assert!(!text.contains("nothing to compare"));
        assert_eq!(
            r.subject(),
            "Editor <Pro> & \"Co\": your use in November 2026 (2 sessions, 1h 15m active)"
        );
        // The same numbers as the API's view of Ana's installs.
        let api =
            crate::store::app_stats::tests::gather(&db, &StatsQuery::new(EDITOR, nov, Some(1)));
        assert_eq!(
            (api.sessions, api.active_ms),
            (r.now.sessions, r.now.active_ms)
        );
        assert_eq!(api.features[..2], r.now.features[..2]);
        assert_eq!(api.errors, r.now.errors);
    }

    #[test]
    fn a_first_month_has_nothing_to_compare_with() {
        let db = app_db();
        two_months(&db);
        let tz = TimeZone::get("Europe/Lisbon").unwrap();
        let r = gather(&db, 1, &month("2026-10-01", &tz));
        assert_eq!(r.before.records, 0);
        assert_eq!(
            r.headline()[0],
            ("Sessions", "1".into(), "0".into(), "new".into())
        );
        let text = r.to_text();
        assert!(
            text.contains("in September 2026, so there is nothing to compare with"),
            "{text}"
        );
        assert!(r.to_html().contains("nothing to compare with"));
        // And a month without use: the job sends nothing.
        assert_eq!(gather(&db, 1, &month("2026-12-01", &tz)).now.records, 0);
    }

    #[test]
    fn a_dst_month_counts_by_local_days() {
        // New York leaves summer time on 1 November 2026; 1 Nov 03:30 UTC is still 31 Oct there.
        let db = app_db();
        user(&db, 1, "ana@example.com", "confirmed");
        install(&db, "a1", 0, Some(1), "linux");
        record(
            &db,
            "a1",
            1,
            ms("2026-11-01T03:30:00Z"),
            "session_start",
            "",
            0,
        );
        record(
            &db,
            "a1",
            2,
            ms("2026-11-01T04:30:00Z"),
            "session_start",
            "",
            0,
        );
        record(
            &db,
            "a1",
            3,
            ms("2026-12-01T04:30:00Z"),
            "session_start",
            "",
            0,
        );
        record(
            &db,
            "a1",
            4,
            ms("2026-12-01T05:30:00Z"),
            "session_start",
            "",
            0,
        );
        let tz = TimeZone::get("America/New_York").unwrap();
        let r = gather(&db, 1, &month("2026-11-01", &tz));
        // 1 Nov 04:30 UTC = 00:30 EDT (in); 1 Dec 04:30 UTC = 23:30 EST 30 Nov (in).
        assert_eq!((r.now.sessions, r.before.sessions), (2, 1));
        assert_eq!(r.period.to.to_string(), "2026-11-30");
    }

    #[test]
    fn the_mail_has_no_script_no_image_and_escapes_every_name() {
        let db = app_db();
        two_months(&db);
        let tz = TimeZone::get("Europe/Lisbon").unwrap();
        let r = gather(&db, 1, &month("2026-11-01", &tz));
        let html = r.to_html();
        for banned in ["<script", "<img", "src=", "url(", "<b>", "<link", "<Pro>"] {
            assert!(!html.contains(banned), "{banned} in the mail");
        }
        assert!(html.contains("Your use of Editor &lt;Pro&gt; &amp; &quot;Co&quot;"));
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"));
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(html.contains("href=\"https://v.example/api/app/unsubscribe?user=1&amp;sig="));
        // A name cannot start a header of its own.
        let evil = UsageReport {
            app_name: "Editor\r\nBcc: x@y.z".into(),
            ..r
        };
        assert!(!evil.subject().contains('\n'));
    }

    #[test]
    fn lists_stop_at_the_report_limit_and_links_are_signed_per_app_and_user() {
        assert_eq!(REPORT_TOP, 5);
        let many: Vec<CountedValue> = (0..8)
            .map(|i| CountedValue {
                value: format!("f{i}"),
                installs: 1,
                count: 10 - i,
            })
            .collect();
        let r = UsageReport {
            app_name: "A".into(),
            period: month("2026-11-01", &TimeZone::UTC),
            previous: month("2026-10-01", &TimeZone::UTC),
            now: UsageFigures {
                features: many,
                records: 8,
                ..Default::default()
            },
            before: UsageFigures::default(),
            unsubscribe_url: String::new(),
        };
        assert_eq!(r.lists()[0].1.len(), REPORT_TOP);
        let link = unsubscribe_link("https://v.example", b"key", 2, 5);
        let sig = link.rsplit_once("sig=").unwrap().1;
        assert!(link_valid(b"key", 2, 5, sig));
        assert!(!link_valid(b"key", 3, 5, sig), "another app");
        assert!(!link_valid(b"key", 2, 6, sig), "another user");
        assert!(!link_valid(b"other", 2, 5, sig), "another key");
        // A member's monthly-report link for the same numbers is not a usage link.
        let member = unsubscribe_signature(b"key", "app:2", 5, "monthly");
        assert!(!link_valid(b"key", 2, 5, &member));
    }
}
