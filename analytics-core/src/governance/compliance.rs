//! Retention and the compliance report.
//!
//! Raw events (and everything else that can single out a visit: session ids, visitor hashes)
//! are kept for a site's retention period, 395 days by default — thirteen months, so the "last
//! 12 months" view can still be filtered and compared — then deleted by the daily job, and so are
//! hourly rollups of hours before the same cutoff. The audit log stays.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::stats::DAY_MS;
use crate::store::retention::Deletion;

pub const DEFAULT_RETENTION_DAYS: i64 = 395;
pub const MIN_RETENTION_DAYS: i64 = 30;
pub const MAX_RETENTION_DAYS: i64 = 3650;
/// Raw events one retention statement deletes (D1 statements should stay short).
pub const PURGE_CHUNK_ROWS: i64 = 5_000;
/// Chunks one site may take per daily run; the rest waits for the next day.
pub const MAX_PURGE_CHUNKS: i64 = 40;

pub fn check_retention(days: i64) -> Result<(), ApiError> {
    if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "bad_retention",
            format!("retention is {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days"),
        ))
    }
}

/// Events before this instant are past retention at `now_ms`.
pub fn retention_cutoff(now_ms: i64, days: i64) -> i64 {
    now_ms - days * DAY_MS
}

/// What the retention job purges: raw events, server-side activity, and the hourly rollups
/// (which hold property values, paths and campaign names as long as raw events do, and would
/// otherwise be kept forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purged {
    Events,
    Activity,
    Rollups,
    /// Collected daily rollups; imported history is kept from retention.
    DailyRollups,
}

/// Everything the retention job purges, in the order it purges it.
pub const PURGED_TABLES: [Purged; 4] = [
    Purged::Events,
    Purged::Activity,
    Purged::Rollups,
    Purged::DailyRollups,
];

impl Purged {
    pub fn table(self) -> &'static str {
        match self {
            Purged::Events => "events",
            Purged::Activity => "activity",
            Purged::Rollups => "rollups_hourly",
            Purged::DailyRollups => "rollups_daily",
        }
    }

    /// The bound to delete below: raw rows go by their time; an hourly rollup row goes when
    /// its whole hour is before the cutoff (`hour` is the hour's start).
    pub fn cutoff(self, cutoff_ms: i64) -> i64 {
        match self {
            Purged::Events | Purged::Activity => cutoff_ms,
            Purged::Rollups => cutoff_ms - crate::stats::HOUR_MS + 1,
            // A day row (its local day's start) goes when its whole day is before the cutoff.
            Purged::DailyRollups => cutoff_ms - crate::stats::DAY_MS + 1,
        }
    }
}

/// One chunk of the retention purge of `what`. Binds: site, `what.cutoff(cutoff)`, chunk size.
/// `rollups_hourly` has no rowid (`WITHOUT ROWID`), so its rows are named by their key.
pub fn purge_sql(what: Purged) -> String {
    match what {
        Purged::Events | Purged::Activity => {
            let table = what.table();
            format!(
                "DELETE FROM {table} WHERE rowid IN \
                 (SELECT rowid FROM {table} WHERE site_id = ?1 AND ts < ?2 LIMIT ?3)"
            )
        }
        Purged::Rollups => "DELETE FROM rollups_hourly WHERE (site_id, dimension, hour, value) IN \
             (SELECT site_id, dimension, hour, value FROM rollups_hourly \
             WHERE site_id = ?1 AND hour < ?2 LIMIT ?3)"
            .to_string(),
        Purged::DailyRollups => {
            "DELETE FROM rollups_daily WHERE (site_id, dimension, day, imported, value) IN \
             (SELECT site_id, dimension, day, imported, value FROM rollups_daily \
             WHERE site_id = ?1 AND day < ?2 AND imported = 0 LIMIT ?3)"
                .to_string()
        }
    }
}

/// Every table that holds rows of a site by its id, emptied of the site's rows when the site is
/// deleted (children first, before the `sites` row itself). Nothing may survive for a later
/// site re-created under the same id to read: a test checks that every table with a `site_id`
/// column in the migrations is listed here or in `SITE_ROWS_KEPT`.
pub const SITE_DATA_TABLES: [&str; 20] = [
    "events",
    // Imported days waiting for their rollups (the raw events are in the cold shards, which
    // site deletion empties through the shard registry).
    "import_days",
    "rollups_hourly",
    "rollups_daily",
    "rollup_state",
    "flush_log",
    "activity",
    "activity_rate",
    "rate_limited",
    "alerts",
    "purges",
    "report_sends",
    "report_subscriptions",
    "goals",
    "funnels",
    "memberships",
    "site_hostnames",
    // Pending invitations, and API tokens scoped to the site: a token made for the old site
    // must not open a new one of the same id.
    "site_invites",
    "api_tokens",
    // Counts of events dropped on purpose (referrer spam).
    "dropped_events",
];

/// Tables that keep a deleted site's rows on purpose: Vigia's own audit log is immutable. Its
/// entries are scoped by the site's internal key (`sites.site_key`, from the AUTOINCREMENT
/// `site_keys` registry, never reused), not by the id, so a site re-created under the same id
/// reads none of them.
pub const SITE_ROWS_KEPT: [&str; 1] = ["audit_log"];

/// Deletes one site's rows from one of `SITE_DATA_TABLES`. Binds: site id.
pub fn delete_site_rows_sql(table: &str) -> String {
    format!("DELETE FROM {table} WHERE site_id = ?1")
}

/// What Vigia stores about a visit, for the report: column, what it holds, where it comes from.
pub const COLLECTED: [(&str, &str); 15] = [
    ("time", "when the Worker received the event (UTC)"),
    ("kind, name", "page view, engagement, outbound link, download, 404 or a custom event and its name"),
    ("path, query", "the page's path; of the query only UTM tags and parameters the site allow-lists"),
    ("referrer", "the referring host and its source and channel (organic search, email, AI assistant…)"),
    ("UTM", "source, medium, campaign, term, content"),
    ("browser, OS, device", "name, major version and device type derived from the user agent, which is then dropped"),
    ("country, region, city", "as the edge reports them; the address is then dropped"),
    ("screen", "a width class (mobile, tablet, laptop, desktop); never the exact width"),
    ("engaged time, scroll", "milliseconds visible and focused, deepest scroll in percent"),
    ("properties", "custom event properties the site sends (strings, numbers, booleans)"),
    ("visitor", "a keyed hash of site, address and user agent under a salt that changes daily and is deleted after a day"),
    ("session", "an id grouping one visit's events"),
    ("bot", "whether the user agent looks automated"),
    ("audit log", "who did what in Vigia, when, from which country and browser, with a keyed fingerprint of the address"),
    ("server-side activity", "what the site's backend reports: type, user id, session id, action, entity, outcome, status, duration, browser/OS, a keyed fingerprint of the address, sanitised details"),
];

/// What Vigia never stores.
pub const NEVER_STORED: [&str; 4] = [
    "IP addresses",
    "user agent strings",
    "cookies or any id kept in the visitor's browser",
    "query parameters other than UTM tags and the site's allow-list (passwords, tokens and the like in URLs are dropped)",
];

/// The figures the report states for a site. The counts are read as one row
/// (`store::retention::compliance_counts`, which names the site `name`); the site id, the
/// time and the deletions are added by [`Figures::complete`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Figures {
    pub site_id: String,
    #[serde(alias = "name")]
    pub site_name: String,
    pub generated_at: i64,
    pub retention_days: i64,
    pub raw_events: i64,
    pub oldest_event_at: Option<i64>,
    pub rollup_rows: i64,
    pub audit_entries: i64,
    pub activity_records: i64,
    pub last_purge_at: Option<i64>,
    pub last_purge_deleted: Option<i64>,
    pub purged_total: i64,
    /// Deletions recorded in the audit log: (when, who, what).
    pub deletions: Vec<(i64, String, String)>,
}

impl Figures {
    /// The counts of a site completed with its id, the time of the report and the deletions
    /// its audit log holds (each named by its action and, when it has one, target).
    pub fn complete(self, site_id: &str, generated_at: i64, deletions: Vec<Deletion>) -> Figures {
        Figures {
            site_id: site_id.to_string(),
            generated_at,
            deletions: deletions
                .into_iter()
                .map(|d| {
                    let what = if d.target.is_empty() {
                        d.action
                    } else {
                        format!("{} ({})", d.action, d.target)
                    };
                    (d.at, d.actor_email, what)
                })
                .collect(),
            ..self
        }
    }
}

/// Text safe to put in HTML.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn when(ms: Option<i64>) -> String {
    ms.map(crate::util::csv::iso_time)
        .unwrap_or_else(|| "never".into())
}

/// The report as (section, item, value) rows: the CSV, and the HTML's content.
pub fn rows(f: &Figures) -> Vec<(String, String, String)> {
    let mut out = vec![
        ("site".into(), "id".into(), f.site_id.clone()),
        ("site".into(), "name".into(), f.site_name.clone()),
        (
            "report".into(),
            "generated".into(),
            crate::util::csv::iso_time(f.generated_at),
        ),
        (
            "retention".into(),
            "raw events kept for (days)".into(),
            f.retention_days.to_string(),
        ),
        (
            "retention".into(),
            "events older than this are deleted daily".into(),
            crate::util::csv::iso_time(retention_cutoff(f.generated_at, f.retention_days)),
        ),
        (
            "stored".into(),
            "raw events".into(),
            f.raw_events.to_string(),
        ),
        (
            "stored".into(),
            "oldest raw event".into(),
            when(f.oldest_event_at),
        ),
        (
            "stored".into(),
            "hourly rollup rows (aggregates, deleted with the raw events past retention)".into(),
            f.rollup_rows.to_string(),
        ),
        (
            "stored".into(),
            "audit log entries for this site".into(),
            f.audit_entries.to_string(),
        ),
        ("purges".into(), "last purge".into(), when(f.last_purge_at)),
        (
            "purges".into(),
            "events deleted by the last purge".into(),
            f.last_purge_deleted
                .map(|n| n.to_string())
                .unwrap_or_else(|| "0".into()),
        ),
        (
            "purges".into(),
            "events deleted by retention in total".into(),
            f.purged_total.to_string(),
        ),
    ];
    for (what, how) in COLLECTED {
        out.push(("collected".into(), what.into(), how.into()));
    }
    for never in NEVER_STORED {
        out.push(("never stored".into(), never.into(), String::new()));
    }
    for (at, who, what) in &f.deletions {
        out.push((
            "deletions".into(),
            crate::util::csv::iso_time(*at),
            format!("{what} by {who}"),
        ));
    }
    out
}

pub fn to_csv(f: &Figures) -> String {
    let mut out = crate::util::csv::line(["section", "item", "value"]);
    for (a, b, c) in rows(f) {
        out.push_str(&crate::util::csv::line([a, b, c]));
    }
    out
}

/// A self-contained HTML page (no scripts, no external resources).
pub fn to_html(f: &Figures) -> String {
    let mut body = String::new();
    let mut section = String::new();
    for (s, item, value) in rows(f) {
        if s != section {
            if !section.is_empty() {
                body.push_str("</tbody></table>");
            }
            body.push_str(&format!(
                "<h2>{}</h2><table><tbody>",
                escape_html(&capitalise(&s))
            ));
            section = s;
        }
        body.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape_html(&item),
            escape_html(&value)
        ));
    }
    body.push_str("</tbody></table>");
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Compliance report · {name}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:820px;margin:2rem auto;padding:0 1rem;color:#1c2330}}\
         h1{{font-size:1.4rem}}h2{{font-size:1rem;margin-top:1.6rem;text-transform:none}}\
         table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #e4e7ec}}\
         th{{font-weight:500;width:40%}}</style></head><body>\
         <h1>Compliance report · {name}</h1><p>What Vigia collects for this site, how long it keeps it, \
         and what was deleted.</p>{body}</body></html>",
        name = escape_html(&f.site_name),
    )
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables with a `site_id` column, from the migrations' text.
    fn tables_with_site_id() -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let mut table: Option<String> = None;
            for line in sql.lines() {
                let line = line.split("--").next().unwrap_or("").trim();
                let words: Vec<&str> = line.split_whitespace().collect();
                let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
                if upper.starts_with(&["CREATE".into(), "TABLE".into()]) {
                    let name = if upper.get(2).map(String::as_str) == Some("IF") {
                        words.get(5)
                    } else {
                        words.get(2)
                    };
                    table = name.map(|n| n.trim_end_matches('(').to_string());
                } else if line.starts_with(')') {
                    table = None;
                } else if upper.starts_with(&["ALTER".into(), "TABLE".into()])
                    && upper.get(3..6) == Some(&["ADD".into(), "COLUMN".into(), "SITE_ID".into()])
                {
                    found.push(words[2].to_string());
                } else if let Some(t) = &table {
                    if words.first() == Some(&"site_id") {
                        found.push(t.clone());
                    }
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn deleting_a_site_reaches_every_table_that_holds_its_rows() {
        let tables = tables_with_site_id();
        assert!(
            tables.contains(&"events".to_string()) && tables.len() >= 10,
            "{tables:?}"
        );
        for t in &tables {
            assert!(
                SITE_DATA_TABLES.contains(&t.as_str()) || SITE_ROWS_KEPT.contains(&t.as_str()),
                "{t} has a site_id column but site deletion neither empties nor keeps it"
            );
        }
        for t in SITE_DATA_TABLES {
            assert!(
                tables.contains(&t.to_string()),
                "{t} is listed but has no site_id"
            );
        }
        assert_eq!(
            delete_site_rows_sql("goals"),
            "DELETE FROM goals WHERE site_id = ?1"
        );
    }

    #[test]
    fn rollups_are_purged_by_whole_hours_before_the_cutoff() {
        let hour = crate::stats::HOUR_MS;
        assert!(PURGED_TABLES.contains(&Purged::Rollups));
        let cutoff = 10 * hour + 1_000;
        // The hour that holds the cutoff still has rows after it: kept.
        assert!(9 * hour < Purged::Rollups.cutoff(cutoff));
        assert!(10 * hour >= Purged::Rollups.cutoff(cutoff));
        // At an exact hour boundary the hour before goes.
        assert!(9 * hour < Purged::Rollups.cutoff(10 * hour));
        assert_eq!(Purged::Events.cutoff(cutoff), cutoff);
        assert!(purge_sql(Purged::Rollups).contains("hour < ?2"));
        assert!(
            purge_sql(Purged::Activity).contains("FROM activity WHERE site_id = ?1 AND ts < ?2")
        );
    }

    #[test]
    fn collected_daily_rollups_go_by_whole_days_and_imported_ones_stay() {
        use crate::store::sqlite::{migrated, run};
        use crate::store::Sql;
        let day = crate::stats::DAY_MS;
        let db = migrated();
        for (d, imported) in [(1_i64, 0_i64), (2, 0), (2, 1), (3, 0)] {
            run(
                &db,
                &Sql::new(
                    "INSERT INTO rollups_daily (site_id, day, dimension, value, imported, visitors) \
                     VALUES ('s', ?1, 'total', '', ?2, 1)",
                    crate::binds![d * day, imported],
                ),
            );
        }
        // The cutoff falls inside day 3: days 1 and 2 are wholly before it.
        let cutoff = 3 * day + 5;
        let deleted = run(
            &db,
            &crate::store::retention::purge_chunk(Purged::DailyRollups, "s", cutoff),
        );
        assert_eq!(deleted, 2);
        let left: Vec<(i64, i64)> = db
            .prepare("SELECT day, imported FROM rollups_daily ORDER BY day, imported")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(left, [(2 * day, 1), (3 * day, 0)]);
    }

    #[test]
    fn retention_is_bounded_and_cut_by_days() {
        assert!(check_retention(DEFAULT_RETENTION_DAYS).is_ok());
        assert_eq!(check_retention(7).unwrap_err().error, "bad_retention");
        assert!(check_retention(MAX_RETENTION_DAYS + 1).is_err());
        assert_eq!(retention_cutoff(10 * DAY_MS, 3), 7 * DAY_MS);
    }

    #[test]
    fn the_report_escapes_what_people_typed() {
        let f = Figures {
            site_id: "s".into(),
            site_name: "<script>alert(1)</script>".into(),
            generated_at: 1_795_435_200_000,
            retention_days: 395,
            deletions: vec![(0, "a@b.c".into(), "site_update \"<img>\"".into())],
            ..Default::default()
        };
        let html = to_html(&f);
        assert!(!html.contains("<script>") && !html.contains("<img>"));
        assert!(html.contains("&lt;script&gt;"));
        let csv = to_csv(&f);
        assert!(csv.starts_with("section,item,value\r\n"));
        assert!(csv.contains("retention,raw events kept for (days),395\r\n"));
        assert!(csv.contains("never stored,IP addresses,"));
    }

    #[test]
    fn figures_name_each_deletion_by_action_and_target() {
        let counts = Figures {
            site_name: "Shop".into(),
            retention_days: 30,
            purged_total: 9,
            ..Figures::default()
        };
        let deletion = |action: &str, target: &str| Deletion {
            at: 5,
            actor_email: "o@x.test".into(),
            action: action.into(),
            target: target.into(),
        };
        let f = counts.complete(
            "shop",
            7,
            vec![
                deletion("goal_delete", "3"),
                deletion("activity_user_delete", ""),
            ],
        );
        assert_eq!(
            (
                f.site_name.as_str(),
                f.retention_days,
                f.purged_total,
                f.generated_at
            ),
            ("Shop", 30, 9, 7)
        );
        assert_eq!(
            f.deletions,
            [
                (5, "o@x.test".to_string(), "goal_delete (3)".to_string()),
                (
                    5,
                    "o@x.test".to_string(),
                    "activity_user_delete".to_string()
                )
            ]
        );
    }
}
