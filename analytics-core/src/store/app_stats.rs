//! The vendor's view of an app (`GET /api/sites/{site}/app/stats`) and the figures of one
//! user's monthly usage report (`report::usage`): every statement, its row type, and the
//! assembly of the rows into [`AppStats`]. The report and the route run the same statements, so
//! a user's mail says exactly what the route answers for `?email=` that user.
//!
//! Bounded work: records are read by index ranges only — `(site_key, ts)` for the whole app,
//! `(site_key, install, ts)` for one user's installs (migration 0019) — so a request reads the
//! records of its period (and the 30 days of MAU), never the app's whole history. Installs are
//! read by `(site_key, first_seen)`. docs/app-reports.md counts the rows each statement reads.

use api_types::apps::{AppRecordKind, AppStats, Cohort, CountedValue, DailyActive};
use jiff::civil::Date;
use serde::Deserialize;

use crate::binds;
use crate::stats::period::Period;
use crate::store::{Sql, SqlValue};

/// Rows of each list of the vendor's view (versions, OS, features, errors).
pub const TOP_VALUES: u32 = 10;
/// A cohort is followed for this many weeks after the week its installs were first seen.
pub const COHORT_WEEKS: usize = 12;
/// Monthly active installs: those active in this many local days up to the period's end.
pub const MAU_DAYS: i64 = 30;

/// Whose records a statement reads: an app's (its internal key), between two UTC instants, and
/// optionally only the installs linked to one confirmed user (`app_users.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub site_key: i64,
    pub from_ms: i64,
    /// Exclusive.
    pub to_ms: i64,
    pub user: Option<i64>,
}

impl Scope {
    pub fn of(site_key: i64, period: &Period, user: Option<i64>) -> Scope {
        Scope {
            site_key,
            from_ms: period.from_ms(),
            to_ms: period.to_ms(),
            user,
        }
    }

    /// `?1` site key, `?2` from, `?3` to, and `?4` the user when there is one.
    fn binds(&self) -> Vec<SqlValue> {
        let mut b = binds![self.site_key, self.from_ms, self.to_ms].to_vec();
        if let Some(u) = self.user {
            b.push(u.into());
        }
        b
    }

    /// The number of the first placeholder after the scope's own.
    fn next(&self) -> usize {
        if self.user.is_some() {
            5
        } else {
            4
        }
    }

    /// Records `r` of the scope with `lo <= ts < hi`. For a user, the install list comes first
    /// so SQLite walks `(site_key, install, ts)` per install instead of the app's whole range.
    fn records(&self, lo: &str, hi: &str) -> String {
        let user = if self.user.is_some() {
            "r.install IN (SELECT i.install FROM app_installs i WHERE i.site_key = ?1 AND i.user_id = ?4) AND "
        } else {
            ""
        };
        format!("r.site_key = ?1 AND {user}r.ts >= {lo} AND r.ts < {hi}")
    }

    fn sql(&self, text: String, extra: impl IntoIterator<Item = SqlValue>) -> Sql {
        // Without statistics SQLite prefers the primary key (site_key, install, seq) for a
        // user's installs, which reads each install's whole history; the index bounds the read
        // to the scope's time range.
        let text = if self.user.is_some() {
            text.replace(
                "app_records r ",
                "app_records r INDEXED BY app_records_install_ts ",
            )
        } else {
            text
        };
        let mut binds = self.binds();
        binds.extend(extra);
        Sql::new(text, binds)
    }
}

/// A site as the app views need it (row of [`app_site`] and [`app_sites`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AppSite {
    pub site_key: i64,
    pub id: String,
    pub name: String,
    pub kind: String,
    pub timezone: String,
}

impl AppSite {
    pub fn is_app(&self) -> bool {
        self.kind == api_types::apps::SiteKind::App.as_str()
    }
}

const SITE_COLUMNS: &str = "SELECT site_key, id, name, kind, timezone FROM sites";

/// One site by its public id (rows: [`AppSite`]).
pub fn app_site(site_id: &str) -> Sql {
    Sql::new(format!("{SITE_COLUMNS} WHERE id = ?1"), binds![site_id])
}

/// Every app (rows: [`AppSite`]): the monthly job's list.
pub fn app_sites() -> Sql {
    Sql::new(
        format!("{SITE_COLUMNS} WHERE kind = 'app' AND site_key IS NOT NULL ORDER BY id"),
        [],
    )
}

/// An app user (rows of [`confirmed_user`] and [`usage_recipients`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppUser {
    pub id: i64,
    pub email: String,
}

/// The confirmed user of an app with this address, if there is one.
pub fn confirmed_user(site_key: i64, email: &str) -> Sql {
    Sql::new(
        "SELECT id, email FROM app_users WHERE site_key = ?1 AND email = ?2 AND status = 'confirmed'",
        binds![site_key, email],
    )
}

/// Who receives an app's monthly usage report: its confirmed (and still subscribed) users.
pub fn usage_recipients(site_key: i64) -> Sql {
    Sql::new(
        "SELECT id, email FROM app_users WHERE site_key = ?1 AND status = 'confirmed' ORDER BY id",
        binds![site_key],
    )
}

/// The user an unsubscribe link names, with their app (row: [`UsageUser`]).
pub fn usage_user(user_id: i64) -> Sql {
    Sql::new(
        "SELECT u.id AS id, u.site_key AS site_key, u.status AS status, s.name AS app_name, \
         s.id AS app_id FROM app_users u LEFT JOIN sites s ON s.site_key = u.site_key \
         WHERE u.id = ?1",
        binds![user_id],
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UsageUser {
    pub id: i64,
    pub site_key: i64,
    pub status: String,
    /// None once the app is deleted.
    pub app_name: Option<String>,
    /// The app's site id (None once the app is deleted): its audit entries are filed there.
    pub app_id: Option<String>,
}

/// Stops a user's monthly report (the unsubscribe link). A pending or already unsubscribed user
/// is left as is.
pub fn unsubscribe(user_id: i64, now_ms: i64) -> Sql {
    Sql::new(
        "UPDATE app_users SET status = 'unsubscribed', unsubscribed_at = ?2 \
         WHERE id = ?1 AND status = 'confirmed'",
        binds![user_id, now_ms],
    )
}

/// Installs ever seen up to the scope's end, those first seen in it, and the confirmed users
/// (row: [`InstallsRow`]). Reads the app's installs by `(site_key, first_seen)`.
pub fn installs(scope: &Scope) -> Sql {
    let (mine, me) = if scope.user.is_some() {
        (" AND i.user_id = ?4", " AND u.id = ?4")
    } else {
        ("", "")
    };
    scope.sql(
        format!(
            "SELECT COUNT(*) AS total, COALESCE(SUM(i.first_seen >= ?2), 0) AS new, \
             (SELECT COUNT(*) FROM app_users u WHERE u.site_key = ?1 AND u.status = 'confirmed'{me}) AS confirmed_users \
             FROM app_installs i WHERE i.site_key = ?1 AND i.first_seen < ?3{mine}"
        ),
        [],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct InstallsRow {
    pub total: i64,
    pub new: i64,
    pub confirmed_users: i64,
}

/// The scope's records, active installs, sessions and active time (row: [`TotalsRow`]).
pub fn totals(scope: &Scope) -> Sql {
    scope.sql(
        format!(
            "SELECT COUNT(*) AS records, COUNT(DISTINCT r.install) AS installs, \
             COALESCE(SUM(r.kind = 'session_start'), 0) AS sessions, \
             COALESCE(SUM(CASE WHEN r.kind = 'session_end' THEN r.active_ms ELSE 0 END), 0) AS active_ms \
             FROM app_records r WHERE {}",
            scope.records("?2", "?3")
        ),
        [],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct TotalsRow {
    /// Records read (every kind): zero means the scope has no use at all.
    pub records: i64,
    pub installs: i64,
    pub sessions: i64,
    pub active_ms: i64,
}

/// The UTC bounds of each local day of a period: `(YYYY-MM-DD, from, to)`. Floored to the hour
/// like the period itself (`Period::from_ms`), so the days add up to the period exactly.
pub fn day_bounds(period: &Period) -> Vec<(String, i64, i64)> {
    let mut out = Vec::new();
    let mut day = period.from;
    while day <= period.to {
        let one = Period {
            from: day,
            to: day,
            tz: period.tz.clone(),
        };
        out.push((
            day.to_string(),
            one.from_ms().max(period.from_ms()),
            one.to_ms().min(period.to_ms()),
        ));
        day = next_day(day);
    }
    out
}

fn next_day(day: Date) -> Date {
    day.tomorrow().unwrap_or(day)
}

/// Active installs and sessions per local day (rows: [`DailyRow`]; days without records are
/// absent). `days` from [`day_bounds`]: each day is its own index range.
pub fn daily(scope: &Scope, days: &[(String, i64, i64)]) -> Sql {
    let n = scope.next();
    let days = serde_json::to_string(days).unwrap_or_else(|_| "[]".into());
    scope.sql(
        format!(
            "WITH d AS (SELECT json_extract(value, '$[0]') AS day, json_extract(value, '$[1]') AS lo, \
             json_extract(value, '$[2]') AS hi FROM json_each(?{n})) \
             SELECT d.day AS day, COUNT(DISTINCT r.install) AS installs, \
             COALESCE(SUM(r.kind = 'session_start'), 0) AS sessions \
             FROM d JOIN app_records r ON {} GROUP BY d.day ORDER BY d.day",
            scope.records("d.lo", "d.hi")
        ),
        [days.into()],
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DailyRow {
    pub day: String,
    pub installs: i64,
    pub sessions: i64,
}

/// What the versions and OS lists count: a column of `app_installs` (a closed set, so no text
/// from a request reaches the statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallField {
    Version,
    Os,
}

impl InstallField {
    fn column(self) -> &'static str {
        match self {
            InstallField::Version => "app_version",
            InstallField::Os => "os",
        }
    }
}

/// The active installs of the scope by version or OS, as `app_installs` holds them now (rows:
/// `CountedValue`, `count` = installs).
pub fn by_install(scope: &Scope, field: InstallField) -> Sql {
    let n = scope.next();
    let column = field.column();
    scope.sql(
        format!(
            "SELECT a.{column} AS value, COUNT(*) AS installs, COUNT(*) AS count FROM app_installs a \
             WHERE a.site_key = ?1 AND a.install IN (SELECT DISTINCT r.install FROM app_records r WHERE {}) \
             GROUP BY a.{column} ORDER BY count DESC, value LIMIT ?{n}",
            scope.records("?2", "?3")
        ),
        binds![TOP_VALUES],
    )
}

/// The most used features and most frequent errors, `TOP_VALUES` of each (rows: [`TopRow`]).
pub fn top(scope: &Scope) -> Sql {
    let n = scope.next();
    scope.sql(
        format!(
            "SELECT kind, value, installs, count FROM (SELECT r.kind AS kind, r.name AS value, \
             COUNT(DISTINCT r.install) AS installs, COUNT(*) AS count, \
             ROW_NUMBER() OVER (PARTITION BY r.kind ORDER BY COUNT(*) DESC, r.name) AS n \
             FROM app_records r WHERE {} AND r.kind IN ('feature', 'error') GROUP BY r.kind, r.name) \
             WHERE n <= ?{n} ORDER BY kind, count DESC, value",
            scope.records("?2", "?3")
        ),
        binds![TOP_VALUES],
    )
}

/// The same counts for named features and errors (the report's month before, for the names
/// the month itself lists). Rows: [`TopRow`]; a name without records is absent.
pub fn named(scope: &Scope, names: &[(AppRecordKind, String)]) -> Sql {
    let n = scope.next();
    let names: Vec<(&str, &str)> = names
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let names = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
    scope.sql(
        format!(
            "SELECT r.kind AS kind, r.name AS value, COUNT(DISTINCT r.install) AS installs, COUNT(*) AS count \
             FROM app_records r WHERE {} AND r.kind IN ('feature', 'error') \
             AND (r.kind, r.name) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?{n})) \
             GROUP BY r.kind, r.name ORDER BY kind, count DESC, value",
            scope.records("?2", "?3")
        ),
        [names.into()],
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TopRow {
    pub kind: AppRecordKind,
    pub value: String,
    pub installs: i64,
    pub count: i64,
}

impl TopRow {
    fn counted(&self) -> CountedValue {
        CountedValue {
            value: self.value.clone(),
            installs: self.installs,
            count: self.count,
        }
    }
}

/// The rows of one kind, as the API lists them.
pub fn of_kind(rows: &[TopRow], kind: AppRecordKind) -> Vec<CountedValue> {
    rows.iter()
        .filter(|r| r.kind == kind)
        .map(TopRow::counted)
        .collect()
}

/// Records the agents dropped, summed over the batches received in the scope (row:
/// [`DroppedRow`]). Reads the batches by `(site_key, at)`.
pub fn dropped(scope: &Scope) -> Sql {
    let mine = if scope.user.is_some() {
        "b.install IN (SELECT i.install FROM app_installs i WHERE i.site_key = ?1 AND i.user_id = ?4) AND "
    } else {
        ""
    };
    scope.sql(
        format!(
            "SELECT COALESCE(SUM(b.dropped), 0) AS dropped FROM app_batches b \
             WHERE b.site_key = ?1 AND {mine}b.at >= ?2 AND b.at < ?3"
        ),
        [],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct DroppedRow {
    pub dropped: i64,
}

/// The weeks (Monday to Sunday, in the period's zone) that meet the period: `(Monday, from,
/// to)`, the first and last cut to the period.
pub fn week_bounds(period: &Period) -> Vec<(String, i64, i64)> {
    let back = period.from.weekday().to_monday_zero_offset() as i64;
    let mut monday = period
        .from
        .checked_sub(jiff::Span::new().days(back))
        .unwrap_or(period.from);
    let mut out = Vec::new();
    while monday <= period.to {
        let sunday = monday
            .checked_add(jiff::Span::new().days(6))
            .unwrap_or(monday);
        let week = Period {
            from: monday,
            to: sunday,
            tz: period.tz.clone(),
        };
        out.push((
            monday.to_string(),
            week.from_ms().max(period.from_ms()),
            week.to_ms().min(period.to_ms()),
        ));
        monday = sunday.tomorrow().unwrap_or(sunday);
        if monday == sunday {
            break;
        }
    }
    out
}

/// Cohorts: installs first seen in each week of the period, and how many of them were active
/// in each of the `COHORT_WEEKS` weeks after (up to the period's end). Rows: [`CohortRow`];
/// `week == cohort` is the cohort's size.
pub fn cohorts(scope: &Scope, weeks: &[(String, i64, i64)]) -> Sql {
    let n = scope.next();
    let mine = if scope.user.is_some() {
        " AND a.user_id = ?4"
    } else {
        ""
    };
    let weeks = serde_json::to_string(weeks).unwrap_or_else(|_| "[]".into());
    // Each record of the period is read once (its week's range), its install's first week
    // found by primary key: joining a list of active installs to the cohorts instead made
    // SQLite compare every pair (minutes for 2,000 new installs).
    scope.sql(
        format!(
            "WITH w AS (SELECT CAST(key AS INTEGER) AS i, json_extract(value, '$[1]') AS lo, \
             json_extract(value, '$[2]') AS hi FROM json_each(?{n})) \
             SELECT c.i AS cohort, w.i AS week, COUNT(DISTINCT r.install) AS installs \
             FROM w CROSS JOIN app_records r ON {} \
             CROSS JOIN app_installs a ON a.site_key = ?1 AND a.install = r.install \
             CROSS JOIN w c ON a.first_seen >= c.lo AND a.first_seen < c.hi \
             WHERE w.i > c.i AND w.i <= c.i + {COHORT_WEEKS} GROUP BY c.i, w.i \
             UNION ALL SELECT c.i AS cohort, c.i AS week, COUNT(*) AS installs FROM w c \
             JOIN app_installs a ON a.site_key = ?1 AND a.first_seen >= c.lo AND a.first_seen < c.hi{mine} \
             GROUP BY c.i ORDER BY cohort, week",
            scope.records("w.lo", "w.hi")
        ),
        [weeks.into()],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CohortRow {
    pub cohort: i64,
    pub week: i64,
    pub installs: i64,
}

/// Every statement of the vendor's view, in the order [`StatsRows`] takes their answers.
pub struct StatsQuery {
    pub period: Period,
    pub scope: Scope,
    pub days: Vec<(String, i64, i64)>,
    pub weeks: Vec<(String, i64, i64)>,
}

impl StatsQuery {
    pub fn new(site_key: i64, period: Period, user: Option<i64>) -> StatsQuery {
        StatsQuery {
            scope: Scope::of(site_key, &period, user),
            days: day_bounds(&period),
            weeks: week_bounds(&period),
            period,
        }
    }

    /// The scope of monthly active installs: the `MAU_DAYS` local days up to the period's end.
    pub fn mau_scope(&self) -> Scope {
        let from = self
            .period
            .to
            .checked_sub(jiff::Span::new().days(MAU_DAYS - 1))
            .unwrap_or(self.period.to);
        let days = Period {
            from,
            to: self.period.to,
            tz: self.period.tz.clone(),
        };
        Scope::of(self.scope.site_key, &days, self.scope.user)
    }

    /// installs, totals, MAU totals, daily, versions, OS, top, dropped, cohorts.
    pub fn statements(&self) -> Vec<Sql> {
        let s = &self.scope;
        vec![
            installs(s),
            totals(s),
            totals(&self.mau_scope()),
            daily(s, &self.days),
            by_install(s, InstallField::Version),
            by_install(s, InstallField::Os),
            top(s),
            dropped(s),
            cohorts(s, &self.weeks),
        ]
    }

    /// The answers, as the route returns them: every day of the period (zero when idle), DAU the
    /// mean of the days, each cohort followed up to `COHORT_WEEKS` weeks or the period's end.
    pub fn assemble(&self, rows: StatsRows) -> AppStats {
        let daily: Vec<DailyActive> = self
            .days
            .iter()
            .map(|(day, _, _)| {
                let found = rows.daily.iter().find(|r| &r.day == day);
                DailyActive {
                    day: day.clone(),
                    installs: found.map_or(0, |r| r.installs),
                    sessions: found.map_or(0, |r| r.sessions),
                }
            })
            .collect();
        let days = daily.len().max(1) as f64;
        let dau = daily.iter().map(|d| d.installs).sum::<i64>() as f64 / days;
        let weeks = self.weeks.len() as i64;
        let cohorts = self
            .weeks
            .iter()
            .enumerate()
            .filter_map(|(i, (monday, _, _))| {
                let i = i as i64;
                let count = |week: i64| {
                    rows.cohorts
                        .iter()
                        .find(|r| r.cohort == i && r.week == week)
                        .map_or(0, |r| r.installs)
                };
                let installs = count(i);
                if installs == 0 {
                    return None;
                }
                let last = (i + COHORT_WEEKS as i64).min(weeks - 1);
                Some(Cohort {
                    week: monday.clone(),
                    installs,
                    active: (i..=last).map(count).collect(),
                })
            })
            .collect();
        AppStats {
            installs_total: rows.installs.total,
            installs_new: rows.installs.new,
            active_installs: rows.totals.installs,
            confirmed_users: rows.installs.confirmed_users,
            dau: (dau * 100.0).round() / 100.0,
            mau: rows.mau.installs,
            sessions: rows.totals.sessions,
            active_ms: rows.totals.active_ms,
            daily,
            versions: rows.versions,
            os: rows.os,
            features: of_kind(&rows.top, AppRecordKind::Feature),
            errors: of_kind(&rows.top, AppRecordKind::Error),
            dropped: rows.dropped.dropped,
            cohorts,
        }
    }
}

/// The answers to [`StatsQuery::statements`], read by the caller (D1 or SQLite).
#[derive(Debug, Clone, Default)]
pub struct StatsRows {
    pub installs: InstallsRow,
    pub totals: TotalsRow,
    pub mau: TotalsRow,
    pub daily: Vec<DailyRow>,
    pub versions: Vec<CountedValue>,
    pub os: Vec<CountedValue>,
    pub top: Vec<TopRow>,
    pub dropped: DroppedRow,
    pub cohorts: Vec<CohortRow>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::{ReportKind, Schedule};
    use crate::store::sqlite::{all, first, migrated, run};
    use jiff::tz::TimeZone;
    use rusqlite::Connection;

    pub fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    /// An app (site key 2, zone Europe/Lisbon), a web site, two confirmed users, one pending.
    pub fn app_db() -> Connection {
        let db = migrated();
        for sql in [
            "INSERT INTO sites (id, name, created_at, timezone, kind) VALUES ('web', 'Web', 0, 'UTC', 'web')",
            "INSERT INTO sites (id, name, created_at, timezone, kind, app_key) VALUES ('editor', 'Editor <Pro>', 0, 'Europe/Lisbon', 'app', 'vpk_1')",
        ] {
            run(&db, &Sql::new(sql, []));
        }
        let key: i64 = db
            .query_row("SELECT site_key FROM sites WHERE id = 'editor'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(key, 2, "site keys are assigned in order");
        db
    }

    /// The editor's key in [`app_db`].
    pub const EDITOR: i64 = 2;

    pub fn user(db: &Connection, id: i64, email: &str, status: &str) {
        run(
            db,
            &Sql::new(
                "INSERT INTO app_users (id, site_key, email, status, consent, consent_at) VALUES (?1, ?2, ?3, ?4, 'yes', 0)",
                binds![id, EDITOR, email, status],
            ),
        );
    }

    pub fn install(db: &Connection, install: &str, first_seen: i64, user: Option<i64>, os: &str) {
        run(
            db,
            &Sql::new(
                "INSERT INTO app_installs (site_key, install, first_seen, last_seen, app_version, os, user_id) \
                 VALUES (?1, ?2, ?3, ?3, '1.2.0', ?4, ?5)",
                binds![EDITOR, install, first_seen, os, user],
            ),
        );
    }

    pub fn record(
        db: &Connection,
        install: &str,
        seq: i64,
        ts: i64,
        kind: &str,
        name: &str,
        active_ms: i64,
    ) {
        run(
            db,
            &Sql::new(
                "INSERT INTO app_records (site_key, install, seq, ts, kind, name, active_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                binds![EDITOR, install, seq, ts, kind, name, active_ms],
            ),
        );
    }

    /// Runs every statement of the view in SQLite, as the Worker runs them in D1.
    pub fn gather(db: &Connection, q: &StatsQuery) -> AppStats {
        let s = q.statements();
        let rows = StatsRows {
            installs: first(db, &s[0]).unwrap(),
            totals: first(db, &s[1]).unwrap(),
            mau: first(db, &s[2]).unwrap(),
            daily: all(db, &s[3]),
            versions: all(db, &s[4]),
            os: all(db, &s[5]),
            top: all(db, &s[6]),
            dropped: first(db, &s[7]).unwrap(),
            cohorts: all(db, &s[8]),
        };
        q.assemble(rows)
    }

    fn lisbon() -> TimeZone {
        TimeZone::get("Europe/Lisbon").unwrap()
    }

    fn month(text: &str) -> Period {
        ReportKind::Monthly
            .period_containing(text.parse().unwrap(), lisbon())
            .unwrap()
    }

    #[test]
    fn the_app_and_its_users_are_found_by_site_and_status() {
        let db = app_db();
        user(&db, 1, "ana@example.com", "confirmed");
        user(&db, 2, "bo@example.com", "pending");
        let site: AppSite = first(&db, &app_site("editor")).unwrap();
        assert!(site.is_app());
        assert_eq!(
            (site.site_key, site.timezone.as_str()),
            (EDITOR, "Europe/Lisbon")
        );
        let web: AppSite = first(&db, &app_site("web")).unwrap();
        assert!(!web.is_app());
        let apps: Vec<AppSite> = all(&db, &app_sites());
        assert_eq!(apps.len(), 1);
        assert!(first::<AppUser>(&db, &confirmed_user(EDITOR, "bo@example.com")).is_none());
        assert!(
            first::<AppUser>(&db, &confirmed_user(1, "ana@example.com")).is_none(),
            "another app"
        );
        let ana: AppUser = first(&db, &confirmed_user(EDITOR, "ana@example.com")).unwrap();
        assert_eq!(ana.id, 1);
        let to: Vec<AppUser> = all(&db, &usage_recipients(EDITOR));
        assert_eq!(to, [ana]);
        // Unsubscribing is once, and only from confirmed.
        assert_eq!(run(&db, &unsubscribe(1, 50)), 1);
        assert_eq!(run(&db, &unsubscribe(1, 60)), 0);
        assert_eq!(run(&db, &unsubscribe(2, 60)), 0, "pending stays pending");
        assert!(all::<AppUser>(&db, &usage_recipients(EDITOR)).is_empty());
        let u: UsageUser = first(&db, &usage_user(1)).unwrap();
        assert_eq!(
            (u.status.as_str(), u.app_name.as_deref()),
            ("unsubscribed", Some("Editor <Pro>"))
        );
    }

    /// Two users' installs and one anonymous install over November 2026 (Lisbon).
    fn november(db: &Connection) {
        user(db, 1, "ana@example.com", "confirmed");
        user(db, 2, "bo@example.com", "confirmed");
        install(db, "a1", ms("2026-11-02T09:00:00Z"), Some(1), "linux");
        install(db, "a2", ms("2026-11-20T09:00:00Z"), Some(1), "macos");
        install(db, "b1", ms("2026-10-01T09:00:00Z"), Some(2), "windows");
        install(db, "x1", ms("2026-11-02T10:00:00Z"), None, "linux");
        let mut seq = 0;
        let mut rec = |db: &Connection, i: &str, ts: &str, kind: &str, name: &str, active: i64| {
            seq += 1;
            record(db, i, seq, ms(ts), kind, name, active);
        };
        // a1: Monday 2 Nov and Monday 9 Nov (weeks 0 and 1); a2 on the 20th.
        rec(db, "a1", "2026-11-02T09:00:00Z", "session_start", "", 0);
        rec(db, "a1", "2026-11-02T09:05:00Z", "feature", "export", 0);
        rec(db, "a1", "2026-11-02T09:06:00Z", "feature", "export", 0);
        rec(db, "a1", "2026-11-02T09:07:00Z", "error", "disk_full", 0);
        rec(db, "a1", "2026-11-02T10:00:00Z", "session_end", "", 600_000);
        rec(db, "a1", "2026-11-09T09:00:00Z", "session_start", "", 0);
        rec(db, "a1", "2026-11-09T09:10:00Z", "feature", "print", 0);
        rec(db, "a1", "2026-11-09T10:00:00Z", "session_end", "", 300_000);
        rec(db, "a2", "2026-11-20T09:00:00Z", "session_start", "", 0);
        rec(db, "a2", "2026-11-20T09:01:00Z", "feature", "export", 0);
        // b1 and x1
        rec(db, "b1", "2026-11-02T23:30:00Z", "session_start", "", 0);
        rec(db, "b1", "2026-11-02T23:40:00Z", "feature", "import", 0);
        rec(db, "x1", "2026-11-02T10:00:00Z", "session_start", "", 0);
        // Outside the month: October 31st 23:59 Lisbon (UTC+0 since 25 Oct) and 1 December.
        rec(db, "a1", "2026-10-31T23:59:00Z", "feature", "export", 0);
        rec(db, "a1", "2026-12-01T00:00:00Z", "feature", "export", 0);
        for (i, at, dropped) in [
            ("a1", "2026-11-03T00:00:00Z", 4i64),
            ("b1", "2026-11-04T00:00:00Z", 1),
            ("a1", "2026-12-02T00:00:00Z", 9),
        ] {
            run(
                db,
                &Sql::new(
                    "INSERT INTO app_batches (site_key, install, batch_id, at, stored, refused, dropped) VALUES (?1, ?2, ?3, ?4, 1, 0, ?5)",
                    binds![EDITOR, i, at, ms(at), dropped],
                ),
            );
        }
    }

    #[test]
    fn the_vendor_sees_installs_use_lists_and_drops_of_the_period() {
        let db = app_db();
        november(&db);
        let q = StatsQuery::new(EDITOR, month("2026-11-01"), None);
        let s = gather(&db, &q);
        assert_eq!(
            (s.installs_total, s.installs_new, s.active_installs),
            (4, 3, 4)
        );
        assert_eq!(s.confirmed_users, 2);
        assert_eq!((s.sessions, s.active_ms), (5, 900_000));
        assert_eq!(s.mau, 4);
        assert_eq!(s.daily.len(), 30);
        let day = |d: &str| s.daily.iter().find(|x| x.day == d).unwrap().clone();
        // b1's 23:30 UTC on the 2nd is still the 2nd in Lisbon (UTC+0 in November).
        assert_eq!(
            (day("2026-11-02").installs, day("2026-11-02").sessions),
            (3, 3)
        );
        assert_eq!(day("2026-11-09").installs, 1);
        assert_eq!(day("2026-11-01").installs, 0);
        // DAU: 3 + 1 + 1 install-days over 30 days.
        assert_eq!(s.dau, (5.0f64 / 30.0 * 100.0).round() / 100.0);
        assert_eq!(
            s.features,
            [
                CountedValue {
                    value: "export".into(),
                    installs: 2,
                    count: 3
                },
                CountedValue {
                    value: "import".into(),
                    installs: 1,
                    count: 1
                },
                CountedValue {
                    value: "print".into(),
                    installs: 1,
                    count: 1
                },
            ]
        );
        assert_eq!(
            s.errors,
            [CountedValue {
                value: "disk_full".into(),
                installs: 1,
                count: 1
            }]
        );
        assert_eq!(
            s.os[0],
            CountedValue {
                value: "linux".into(),
                installs: 2,
                count: 2
            }
        );
        assert_eq!(
            s.versions,
            [CountedValue {
                value: "1.2.0".into(),
                installs: 4,
                count: 4
            }]
        );
        assert_eq!(s.dropped, 5, "December's batch is not November's");
        // Cohorts: the week of Monday 26 Oct (cut to 1 Nov) has none first seen in November;
        // 2 Nov: a1 and x1, of which a1 came back the week after; 16 Nov: a2.
        assert_eq!(
            s.cohorts,
            [
                Cohort {
                    week: "2026-11-02".into(),
                    installs: 2,
                    active: vec![2, 1, 0, 0, 0]
                },
                Cohort {
                    week: "2026-11-16".into(),
                    installs: 1,
                    active: vec![1, 0, 0]
                },
            ]
        );
    }

    #[test]
    fn a_users_view_is_only_their_installs() {
        let db = app_db();
        november(&db);
        let q = StatsQuery::new(EDITOR, month("2026-11-01"), Some(1));
        let s = gather(&db, &q);
        assert_eq!(
            (s.installs_total, s.installs_new, s.active_installs),
            (2, 2, 2)
        );
        assert_eq!(s.confirmed_users, 1);
        assert_eq!((s.sessions, s.active_ms), (3, 900_000));
        assert_eq!(
            s.features[0],
            CountedValue {
                value: "export".into(),
                installs: 2,
                count: 3
            }
        );
        assert_eq!(s.features.len(), 2, "b1's import is Bo's");
        assert_eq!(s.dropped, 4);
        let bo = gather(&db, &StatsQuery::new(EDITOR, month("2026-11-01"), Some(2)));
        assert_eq!((bo.sessions, bo.installs_new, bo.installs_total), (1, 0, 1));
        assert!(bo.cohorts.is_empty(), "first seen in October");
        let nobody = gather(&db, &StatsQuery::new(EDITOR, month("2026-11-01"), Some(99)));
        assert_eq!(
            nobody,
            AppStats {
                daily: nobody.daily.clone(),
                ..Default::default()
            }
        );
    }

    #[test]
    fn a_dst_month_has_its_local_days() {
        // Lisbon leaves summer time on 25 October 2026: that day has 25 hours.
        let db = app_db();
        install(&db, "a1", ms("2026-10-01T00:00:00Z"), None, "linux");
        // 24 Oct 23:30 UTC is 25 Oct 00:30 local (UTC+1); 25 Oct 23:30 UTC is 25 Oct 23:30 local.
        record(
            &db,
            "a1",
            1,
            ms("2026-10-24T23:30:00Z"),
            "session_start",
            "",
            0,
        );
        record(
            &db,
            "a1",
            2,
            ms("2026-10-25T23:30:00Z"),
            "session_start",
            "",
            0,
        );
        // 31 Oct 23:30 UTC is still October in Lisbon (UTC+0); 30 Sep 23:30 UTC is 1 Oct local.
        record(
            &db,
            "a1",
            3,
            ms("2026-10-31T23:30:00Z"),
            "session_start",
            "",
            0,
        );
        record(
            &db,
            "a1",
            4,
            ms("2026-09-30T23:30:00Z"),
            "session_start",
            "",
            0,
        );
        let q = StatsQuery::new(EDITOR, month("2026-10-01"), None);
        assert_eq!(q.days.len(), 31);
        let d25 = q.days.iter().find(|d| d.0 == "2026-10-25").unwrap();
        assert_eq!(d25.2 - d25.1, 25 * 3_600_000);
        let s = gather(&db, &q);
        let day = |d: &str| s.daily.iter().find(|x| x.day == d).unwrap().sessions;
        assert_eq!(
            (day("2026-10-25"), day("2026-10-31"), day("2026-10-01")),
            (2, 1, 1)
        );
        assert_eq!(s.sessions, 4);
        assert_eq!(
            s.daily.iter().map(|d| d.sessions).sum::<i64>(),
            s.sessions,
            "days add up"
        );
    }

    #[test]
    fn the_report_compares_named_features_with_the_month_before() {
        let db = app_db();
        november(&db);
        let oct = Scope::of(EDITOR, &month("2026-10-01"), Some(1));
        let names = vec![
            (AppRecordKind::Feature, "export".to_string()),
            (AppRecordKind::Feature, "print".to_string()),
            (AppRecordKind::Error, "disk_full".to_string()),
        ];
        let rows: Vec<TopRow> = all(&db, &named(&oct, &names));
        assert_eq!(
            rows,
            [TopRow {
                kind: AppRecordKind::Feature,
                value: "export".into(),
                installs: 1,
                count: 1
            }]
        );
        let t: TotalsRow = first(&db, &totals(&oct)).unwrap();
        assert_eq!(t.records, 1);
    }

    #[test]
    fn records_are_read_by_index_ranges() {
        let db = app_db();
        let plan = |sql: &Sql| -> String {
            let mut stmt = db
                .prepare(&format!("EXPLAIN QUERY PLAN {}", sql.text))
                .unwrap();
            let rows = stmt
                .query_map(
                    rusqlite::params_from_iter(sql.binds.iter().map(crate::store::sqlite::value)),
                    |r| r.get::<_, String>(3),
                )
                .unwrap();
            rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("\n")
        };
        for user in [None, Some(1)] {
            let q = StatsQuery::new(EDITOR, month("2026-11-01"), user);
            for sql in q.statements() {
                let p = plan(&sql);
                assert!(!p.contains("SCAN app_records"), "{p}\n{}", sql.text);
                assert!(!p.contains("SCAN r"), "{p}\n{}", sql.text);
                assert!(
                    !p.contains("SCAN a ")
                        && !p.contains("SCAN app_installs")
                        && !p.contains("SCAN b"),
                    "{p}\n{}",
                    sql.text
                );
                if p.contains("app_records") || sql.text.contains("app_records r") {
                    let index = if user.is_some() {
                        "app_records_install_ts"
                    } else {
                        "app_records_ts"
                    };
                    assert!(p.contains(index), "{p}\n{}", sql.text);
                }
            }
        }
    }

    #[test]
    fn limits_are_what_the_view_lists() {
        let db = app_db();
        install(&db, "a1", 0, None, "linux");
        for i in 0..(TOP_VALUES as i64 + 3) {
            record(
                &db,
                "a1",
                i + 1,
                ms("2026-11-10T10:00:00Z") + i,
                "feature",
                &format!("f{i:02}"),
                0,
            );
        }
        let s = gather(&db, &StatsQuery::new(EDITOR, month("2026-11-01"), None));
        assert_eq!(s.features.len(), TOP_VALUES as usize);
        assert_eq!(MAU_DAYS, 30);
        assert_eq!(COHORT_WEEKS, 12);
        // A long period follows a cohort 12 weeks, not more.
        let year = Period::new(
            "2026-01-05".parse().unwrap(),
            "2026-12-27".parse().unwrap(),
            lisbon(),
        )
        .unwrap();
        install(&db, "c1", ms("2026-01-06T10:00:00Z"), None, "linux");
        record(
            &db,
            "c1",
            1,
            ms("2026-01-06T10:00:00Z"),
            "session_start",
            "",
            0,
        );
        record(
            &db,
            "c1",
            2,
            ms("2026-03-30T10:00:00Z"),
            "session_start",
            "",
            0,
        );
        let s = gather(&db, &StatsQuery::new(EDITOR, year, None));
        let c = &s.cohorts[0];
        assert_eq!(
            (c.week.as_str(), c.active.len()),
            ("2026-01-05", COHORT_WEEKS + 1)
        );
        assert_eq!(c.active[12], 1, "30 March is week 12");
    }

    /// SQLite's virtual-machine steps of one statement: a measure of the rows it visits that
    /// does not depend on the machine's speed.
    fn steps(db: &Connection, sql: &Sql) -> i64 {
        let mut stmt = db.prepare(&sql.text).unwrap();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(
                sql.binds.iter().map(crate::store::sqlite::value),
            ))
            .unwrap();
        while rows.next().unwrap().is_some() {}
        drop(rows);
        stmt.get_status(rusqlite::StatementStatus::VmStep) as i64
    }

    #[test]
    fn a_users_figures_read_their_records_not_the_apps_nor_other_months() {
        let db = app_db();
        user(&db, 1, "ana@example.com", "confirmed");
        install(&db, "a1", 0, Some(1), "linux");
        install(&db, "x1", 0, None, "linux");
        let nov = ms("2026-11-10T10:00:00Z");
        for i in 0..50 {
            record(&db, "a1", i + 1, nov + i, "feature", "export", 0);
        }
        let measure = |db: &Connection| {
            let q = StatsQuery::new(EDITOR, month("2026-11-01"), Some(1));
            let user: i64 = [totals(&q.scope), top(&q.scope)]
                .iter()
                .map(|s| steps(db, s))
                .sum();
            let v = Scope {
                user: None,
                ..q.scope
            };
            let app: i64 = [totals(&v), top(&v)].iter().map(|s| steps(db, s)).sum();
            (user, app)
        };
        let (user_before, app_before) = measure(&db);
        // 2,000 records of another install in November, 2,000 of Ana's in October.
        for i in 0..2000 {
            record(&db, "x1", i + 1, nov + i, "feature", "export", 0);
            record(
                &db,
                "a1",
                1000 + i,
                ms("2026-10-10T10:00:00Z") + i,
                "feature",
                "export",
                0,
            );
        }
        let (user_after, app_after) = measure(&db);
        // A seek may step past one neighbour; 4,000 rows added cost at most a few steps.
        assert!(
            user_after - user_before < 10,
            "Ana's November reads only Ana's November: {user_before} -> {user_after}"
        );
        assert!(
            app_after > app_before + 2000,
            "the app's view reads every November record"
        );
    }
}
