//! Daily rollups (`rollups_daily`, migration 0015): per site, *local* day in the site's time
//! zone, dimension and value, bounded per day and dimension to the top [`DAILY_ROLLUP_TOP`]
//! values plus one [`DAILY_OTHER`] row holding the rest, so a 30-day overview reads thousands
//! of rows where hourly rollups made it read hundreds of thousands.
//!
//! Building a day (cron, oldest first, once the day is complete and ended before the start of
//! yesterday in UTC, so no visit that started in it can still go on):
//! - [`build_state`] + [`days_to_build`]: which days, and whether from hourly rows or raw events;
//! - [`build_day`]: the bounded rows from `rollups_hourly`, then that day's hourly rows are
//!   deleted except `total` (kept for the hourly chart), and `rollup_state.daily_until` moves on;
//! - [`day_rows_from_raw`] (run on every store holding the day's sessions: D1's `events` or a
//!   shard's decoding view), [`bound_day`] (merge and bound in Rust) and [`build_day_from_raw`]:
//!   the same rows from raw events, for imported raw history and for days whose hourly rows
//!   are gone after [`clear_days`] (a time zone change).
//!
//! Every batch is idempotent and safe to cut after any statement: the rows of a day are
//! written only while `daily_until` says the day is not built, the hourly rows are deleted only
//! once it says it is, so a rerun of the whole batch after a crash at any point ends the same.
//! D1 runs a batch as one transaction anyway.
//!
//! Reading ([`rollup_source`], used by the unfiltered queries of `stats::query`): built days
//! from daily rows, the rest of the range from hourly rows, split at `daily_until`; imported
//! rows count only on days without collected rows.

use serde::{Deserialize, Serialize};

use crate::stats::query::{breakdown_raw, totals_raw, Scope};
use crate::stats::rollup::Dimension;
use crate::stats::{DAY_MS, HOUR_MS};
use crate::store::{Sql, SqlValue};

/// Values kept per day and dimension; the rest is summed into one [`DAILY_OTHER`] row. A
/// 30-day overview reads its six top-10 panels as 6 × 30 × (N + 1) daily rows: 100 keeps that
/// at 18,180 rows (the target is ≤ 20 k for the whole overview), and makes any one
/// day's breakdown exact up to `MAX_BREAKDOWN_ROWS` (= 100) rows. Measured in benches/storage.rs.
pub const DAILY_ROLLUP_TOP: i64 = 100;

/// The value of the row that sums what is beyond a day's top [`DAILY_ROLLUP_TOP`] values.
/// Breakdowns leave it out (it is not a value anyone chose); totals never need it.
pub const DAILY_OTHER: &str = "(other)";

/// Most days one cron run builds per site (a first run over a long history goes on the next).
pub const BUILD_DAYS_PER_RUN: usize = 31;

/// Longest range whose time series is read from hourly `total` rows (the chart has hourly
/// buckets up to two local days: at most 2 × 25 hours on DST days). Longer ranges have daily
/// buckets and read one daily row per built day.
pub const HOURLY_SERIES_MAX_MS: i64 = 50 * HOUR_MS;

/// Where a built day's collected rows end: the expression the readers and builders share.
const DAILY_UNTIL: &str = "COALESCE((SELECT daily_until FROM rollup_state WHERE site_id = ?1), 0)";

/// Every dimension but `total`, as an SQL list: the hourly rows a build deletes. Listing them
/// lets SQLite seek the primary key (site, dimension, hour) instead of scanning the site.
fn non_total_dimensions() -> String {
    Dimension::ALL
        .iter()
        .filter(|d| **d != Dimension::Total)
        .map(|d| format!("'{}'", d.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn all_dimensions() -> String {
    Dimension::ALL
        .iter()
        .map(|d| format!("'{}'", d.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One daily row: a dimension's value and its additive metrics (also what
/// [`day_rows_from_raw`] returns and [`bound_day`] bounds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyRow {
    pub dimension: Dimension,
    pub value: String,
    pub visitors: i64,
    pub pageviews: i64,
    pub visits: i64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub engaged_ms: i64,
    pub events: i64,
    pub revenue_micros: i64,
}

impl DailyRow {
    fn zero(dimension: Dimension, value: &str) -> DailyRow {
        DailyRow {
            dimension,
            value: value.into(),
            visitors: 0,
            pageviews: 0,
            visits: 0,
            bounces: 0,
            duration_ms: 0,
            engaged_ms: 0,
            events: 0,
            revenue_micros: 0,
        }
    }

    fn add(&mut self, o: &DailyRow) {
        self.visitors += o.visitors;
        self.pageviews += o.pageviews;
        self.visits += o.visits;
        self.bounces += o.bounces;
        self.duration_ms += o.duration_ms;
        self.engaged_ms += o.engaged_ms;
        self.events += o.events;
        self.revenue_micros += o.revenue_micros;
    }

    fn is_zero(&self) -> bool {
        *self == DailyRow::zero(self.dimension, &self.value)
    }
}

/// The order breakdowns rank values by; [`build_day`] keeps the top of it in SQL.
fn rank_order(a: &DailyRow, b: &DailyRow) -> std::cmp::Ordering {
    (b.visitors, b.visits, b.pageviews, b.events)
        .cmp(&(a.visitors, a.visits, a.pageviews, a.events))
        .then_with(|| a.value.cmp(&b.value))
}

/// Merges rows of one day (from several stores: sums per dimension and value), drops rows
/// whose metrics are all zero, and keeps per dimension the top [`DAILY_ROLLUP_TOP`] values by
/// the breakdowns' order plus one [`DAILY_OTHER`] row summing the rest — the rows
/// [`build_day`] writes from hourly rows.
pub fn bound_day(rows: impl IntoIterator<Item = DailyRow>) -> Vec<DailyRow> {
    use std::collections::BTreeMap;
    let mut merged: BTreeMap<(&'static str, String), DailyRow> = BTreeMap::new();
    for r in rows {
        merged
            .entry((r.dimension.as_str(), r.value.clone()))
            .or_insert_with(|| DailyRow::zero(r.dimension, &r.value))
            .add(&r);
    }
    let mut by_dimension: BTreeMap<&'static str, Vec<DailyRow>> = BTreeMap::new();
    for ((dim, _), r) in merged {
        if !r.is_zero() {
            by_dimension.entry(dim).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for (_, mut rows) in by_dimension {
        rows.sort_by(rank_order);
        let rest = rows.split_off(rows.len().min(DAILY_ROLLUP_TOP as usize));
        if let Some(first) = rest.first() {
            let mut other = DailyRow::zero(first.dimension, DAILY_OTHER);
            for r in &rest {
                other.add(r);
            }
            // A value that really is "(other)" shares the row (as in the SQL build).
            match rows.iter_mut().find(|r| r.value == DAILY_OTHER) {
                Some(kept) => kept.add(&other),
                None => rows.push(other),
            }
        }
        out.extend(rows);
    }
    out
}

/// What [`build_state`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BuildState {
    /// The first hour with a `total` row at or after `daily_until` (none: nothing to build).
    pub first_hour: Option<i64>,
    /// Local days before it are built (0 when none is: stored days are all after 1970).
    pub daily_until: i64,
    /// Days before it (and from `daily_until`) must be built from raw events.
    pub raw_until: i64,
}

/// A site's build state (one row: [`BuildState`]).
pub fn build_state(site: &str) -> Sql {
    Sql::new(
        format!(
            "SELECT (SELECT MIN(hour) FROM rollups_hourly WHERE site_id = ?1 AND dimension = 'total' \
             AND hour >= {DAILY_UNTIL}) AS first_hour, {DAILY_UNTIL} AS daily_until, \
             COALESCE((SELECT raw_until FROM rollup_state WHERE site_id = ?1), 0) AS raw_until"
        ),
        crate::binds![site],
    )
}

/// A local day to build: `[start_ms, end_ms)` in UTC ms (local midnights floored to the hour,
/// as periods are), and whether its hourly rows are gone so it must come from raw events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayToBuild {
    pub start_ms: i64,
    pub end_ms: i64,
    pub from_raw: bool,
}

/// The bounds `[start, end)` of the local `date` in `tz` (midnights floored to the hour).
fn bounds(date: jiff::civil::Date, tz: &jiff::tz::TimeZone) -> (i64, i64) {
    crate::stats::period::Period::new(date, date, tz.clone())
        .map(|p| (p.from_ms(), p.to_ms()))
        .unwrap_or((0, 0))
}

/// The local day (in `tz`) whose floored bounds `[start, end)` contain `ms`, and its date.
/// Where midnight is not on the hour (India: 18:30 UTC, floored to 18:00), the half hour
/// before midnight belongs to the next day, as periods read it.
fn local_day_of(ms: i64, tz: &jiff::tz::TimeZone) -> (jiff::civil::Date, i64, i64) {
    let mut date = jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz.clone()).date())
        .unwrap_or_default();
    let (start, end) = bounds(date, tz);
    if start > ms {
        date = date.yesterday().unwrap_or(date);
    } else if end <= ms {
        date = date.tomorrow().unwrap_or(date);
    }
    let (start, end) = bounds(date, tz);
    (date, start, end)
}

/// The local day (in `tz`) that contains `ms`, as `[start, end)`.
pub fn local_day(ms: i64, tz: &jiff::tz::TimeZone) -> (i64, i64) {
    let (_, start, end) = local_day_of(ms, tz);
    (start, end)
}

/// The days to build now, oldest first, at most [`BUILD_DAYS_PER_RUN`]: every local day from
/// the first unbuilt hour on whose end is at or before the start of yesterday (UTC) at `now_ms`
/// (visits go on for at most a day past midnight, and yesterday's salt may still be in use).
pub fn days_to_build(state: &BuildState, tz: &jiff::tz::TimeZone, now_ms: i64) -> Vec<DayToBuild> {
    let Some(first) = state.first_hour else {
        return Vec::new();
    };
    let limit = (now_ms.div_euclid(DAY_MS) - 1) * DAY_MS;
    let mut out = Vec::new();
    let (mut date, _, _) = local_day_of(first.max(state.daily_until), tz);
    // Bounded by the days up to `limit` (a first run over a long history stops at the cap).
    while out.len() < BUILD_DAYS_PER_RUN {
        let (start, end) = bounds(date, tz);
        if end > limit || end <= start {
            break;
        }
        // A day that began before `daily_until` (the zone changed and `clear_days` was not
        // run) is partly built: skip it rather than count its first hours twice.
        if start >= state.daily_until {
            out.push(DayToBuild {
                start_ms: start,
                end_ms: end,
                from_raw: start < state.raw_until,
            });
        }
        match date.tomorrow() {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    out
}

/// True while the day starting at `?2` is not built.
fn not_built() -> String {
    format!("{DAILY_UNTIL} <= ?2")
}

/// Moves `daily_until` to the day's end (`?3`); never back.
const ADVANCE: &str = "INSERT INTO rollup_state (site_id, daily_until) VALUES (?1, ?3) \
    ON CONFLICT (site_id) DO UPDATE SET daily_until = MAX(daily_until, excluded.daily_until)";

const METRICS: &str =
    "visitors, pageviews, visits, bounces, duration_ms, engaged_ms, events, revenue_micros";

/// The batch that replaces a day's collected rows with `insert` (a statement writing them,
/// binds ?1 site, ?2 day start, ?3 day end) and deletes the day's hourly rows but `total`.
fn collected_batch(site: &str, start: i64, end: i64, insert: Sql) -> Vec<Sql> {
    let binds = || crate::binds![site, start, end];
    let (not_built, dims, non_total) = (not_built(), all_dimensions(), non_total_dimensions());
    vec![
        // A copy of an earlier build (or, after a zone change, of days in the old zone).
        Sql::new(
            format!(
                "DELETE FROM rollups_daily WHERE site_id = ?1 AND dimension IN ({dims}) \
                 AND day >= ?2 AND day < ?3 AND imported = 0 AND {not_built}"
            ),
            binds(),
        ),
        insert,
        Sql::new(ADVANCE, binds()),
        // Every built hour's rows but `total`: this day's once `daily_until` passed it, and any
        // an earlier batch cut after its advance left (or late deltas of a built day, which no
        // reader sees). Each dimension's seek stops at the first unbuilt hour.
        Sql::new(
            format!(
                "DELETE FROM rollups_hourly WHERE site_id = ?1 AND dimension IN ({non_total}) \
                 AND hour < {DAILY_UNTIL}"
            ),
            crate::binds![site],
        ),
    ]
}

/// Builds the local day `[day_start_ms, day_end_ms)` from its hourly rows: the bounded daily
/// rows (imported = 0), then the day's hourly rows except `total` go and `daily_until` moves
/// to the day's end. Run as one batch; days in order (see [`days_to_build`]).
pub fn build_day(site: &str, day_start_ms: i64, day_end_ms: i64) -> Vec<Sql> {
    let (top, other, dims) = (DAILY_ROLLUP_TOP, DAILY_OTHER, all_dimensions());
    let sums = METRICS
        .split(", ")
        .map(|m| format!("SUM({m}) AS {m}"))
        .collect::<Vec<_>>()
        .join(", ");
    let nonzero = METRICS
        .split(", ")
        .map(|m| format!("SUM({m}) != 0"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let insert = Sql::new(
        format!(
            "INSERT INTO rollups_daily (site_id, day, dimension, value, imported, {METRICS}) \
             SELECT ?1, ?2, dimension, label, 0, {sums} FROM (\
             SELECT *, CASE WHEN ROW_NUMBER() OVER (PARTITION BY dimension ORDER BY visitors DESC, \
             visits DESC, pageviews DESC, events DESC, value) <= {top} THEN value ELSE '{other}' END AS label \
             FROM (SELECT dimension, value, {sums} FROM rollups_hourly WHERE site_id = ?1 \
             AND dimension IN ({dims}) AND hour >= ?2 AND hour < ?3 GROUP BY dimension, value \
             HAVING {nonzero})) WHERE {} GROUP BY dimension, label",
            not_built()
        ),
        crate::binds![site, day_start_ms, day_end_ms],
    );
    collected_batch(site, day_start_ms, day_end_ms, insert)
}

/// What [`day_rows_from_raw`] reads, in three parts (rows: [`DailyRow`] each; run each on every
/// store holding the day's sessions — D1's `events` or a shard's decoding view — and pass the
/// parts to [`from_raw_parts`]):
/// 0. every dimension's rows of the local day `[day_start_ms, day_end_ms)`, all values, with
///    the raw SQL of `stats::query` (`totals_raw`, `breakdown_raw`), plus revenue and bots;
/// 1. the same from the UTC midnight that starts the day's first UTC day to the day's end;
/// 2. the same from that midnight to the day's start.
///
/// Unique visitors are counted once per UTC day, where they are first seen (as the hourly
/// rollups count them): a local day that starts inside a UTC day must not count again the
/// visitors seen earlier that UTC day. Its visitors are part 1's minus part 2's.
///
/// Each part is several statements (their rows together make the part): D1 and Durable Objects
/// compile at most [`MAX_COMPOUND_TERMS`] terms of a `UNION ALL`.
pub fn day_rows_from_raw(site: &str, day_start_ms: i64, day_end_ms: i64) -> [Vec<Sql>; 3] {
    let utc_midnight = day_start_ms.div_euclid(DAY_MS) * DAY_MS;
    [
        raw_rows(site, day_start_ms, day_end_ms),
        raw_rows(site, utc_midnight, day_end_ms),
        raw_rows(site, utc_midnight, day_start_ms),
    ]
}

/// A day's rows from the three parts [`day_rows_from_raw`] read (of one store; rows of several
/// stores add up in [`bound_day`]): part 0's metrics, with visitors part 1's minus part 2's.
pub fn from_raw_parts(
    day: Vec<DailyRow>,
    to_end: Vec<DailyRow>,
    before_start: Vec<DailyRow>,
) -> Vec<DailyRow> {
    use std::collections::BTreeMap;
    let mut rows: BTreeMap<(&'static str, String), DailyRow> = BTreeMap::new();
    for r in day {
        let row = rows
            .entry((r.dimension.as_str(), r.value.clone()))
            .or_insert_with(|| DailyRow::zero(r.dimension, &r.value));
        row.add(&DailyRow { visitors: 0, ..r });
    }
    for (r, sign) in to_end
        .into_iter()
        .map(|r| (r, 1))
        .chain(before_start.into_iter().map(|r| (r, -1)))
    {
        rows.entry((r.dimension.as_str(), r.value.clone()))
            .or_insert_with(|| DailyRow::zero(r.dimension, &r.value))
            .visitors += sign * r.visitors;
    }
    rows.into_values().collect()
}

/// Every dimension's rows of `[from, to)` from raw events, all values.
/// Most terms of one `UNION ALL` that D1 and a Durable Object's SQLite compile (workerd's
/// SQLite is built with a compound-select limit of 5; `wrangler d1 execute --local`: 5 compile,
/// 6 fail with "too many terms in compound SELECT").
pub const MAX_COMPOUND_TERMS: usize = 5;

fn raw_rows(site: &str, day_start_ms: i64, day_end_ms: i64) -> Vec<Sql> {
    let scope = Scope {
        site,
        from_ms: day_start_ms,
        to_ms: day_end_ms,
        filters: &[],
    };
    let cols = "value, visitors, pageviews, visits, bounces, duration_ms, engaged_ms, events";
    let mut parts = vec![format!(
        "SELECT 'total' AS dimension, '' AS value, visitors, pageviews, visits, bounces, \
         duration_ms, engaged_ms, 0 AS events, 0 AS revenue_micros FROM ({})",
        totals_raw(&scope).text
    )];
    let mut binds = Vec::new();
    for dim in Dimension::BREAKDOWNS {
        if dim == Dimension::Bots {
            continue;
        }
        let sql = breakdown_raw(&scope, dim, u32::MAX);
        // Same binds for every dimension without filters: site, from, to, limit.
        binds = sql.binds;
        parts.push(format!(
            "SELECT '{}' AS dimension, {cols}, 0 AS revenue_micros FROM ({})",
            dim.as_str(),
            sql.text
        ));
    }
    parts.push(
        "SELECT 'revenue' AS dimension, revenue_currency || char(31) || name AS value, 0, 0, 0, 0, \
         0, 0, COUNT(*), SUM(revenue_micros) FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 \
         AND bot = 0 AND kind = 'custom' AND revenue_currency != '' \
         GROUP BY revenue_currency, name"
            .into(),
    );
    parts.push(
        "SELECT 'bots', '', 0, 0, 0, 0, 0, 0, COUNT(*), 0 FROM events WHERE site_id = ?1 \
         AND ts >= ?2 AND ts < ?3 AND bot = 1 HAVING COUNT(*) > 0"
            .into(),
    );
    parts
        .chunks(MAX_COMPOUND_TERMS)
        .map(|terms| Sql {
            text: terms.join(" UNION ALL "),
            binds: binds.clone(),
        })
        .collect()
}

/// Writes `rows` (as they are: bound them first) as the day's rows, in one statement with one
/// bound JSON array (statements take at most 100 binds). Binds: site, day, day end, imported,
/// rows. With `guard`, only while the day is not built.
fn insert_rows(
    site: &str,
    start: i64,
    end: i64,
    imported: bool,
    rows: &[DailyRow],
    guard: bool,
) -> Sql {
    let json: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!([
                r.dimension.as_str(),
                r.value,
                r.visitors,
                r.pageviews,
                r.visits,
                r.bounces,
                r.duration_ms,
                r.engaged_ms,
                r.events,
                r.revenue_micros
            ])
        })
        .collect();
    let columns: Vec<String> = (0..10)
        .map(|i| format!("json_extract(j.value, '$[{i}]')"))
        .collect();
    let guard = if guard {
        format!(" WHERE {}", not_built())
    } else {
        String::new()
    };
    Sql::new(
        format!(
            "INSERT INTO rollups_daily (site_id, day, dimension, value, {METRICS}, imported) \
             SELECT ?1, ?2, {}, ?4 FROM json_each(?5) j{guard}",
            columns.join(", ")
        ),
        [
            SqlValue::Text(site.into()),
            SqlValue::Int(start),
            SqlValue::Int(end),
            SqlValue::Int(imported as i64),
            SqlValue::Text(serde_json::Value::Array(json).to_string()),
        ],
    )
}

/// Writes the local day `[day_start_ms, day_end_ms)` from raw-event rows (those of every store
/// holding the day's sessions; they are merged and bounded here). Collected data
/// (`imported == false`): the same batch as [`build_day`] — the day's hourly rows but `total`
/// go and `daily_until` moves on. Imported raw history (`imported == true`): replaces the
/// day's imported rows and touches nothing else.
pub fn build_day_from_raw(
    site: &str,
    day_start_ms: i64,
    day_end_ms: i64,
    rows: Vec<DailyRow>,
    imported: bool,
) -> Vec<Sql> {
    let rows = bound_day(rows);
    if imported {
        return vec![
            Sql::new(
                format!(
                    "DELETE FROM rollups_daily WHERE site_id = ?1 AND dimension IN ({}) \
                     AND day = ?2 AND imported = 1",
                    all_dimensions()
                ),
                crate::binds![site, day_start_ms],
            ),
            insert_rows(site, day_start_ms, day_end_ms, true, &rows, false),
        ];
    }
    let insert = insert_rows(site, day_start_ms, day_end_ms, false, &rows, true);
    collected_batch(site, day_start_ms, day_end_ms, insert)
}

/// Un-builds the collected daily rows of days from `from_ms` on (a time zone change: days are
/// rebuilt in the new zone). Their hourly rows but `total` are gone, so [`days_to_build`]
/// marks them `from_raw` until rebuilt; meanwhile totals and the series stay right (read from
/// the kept `total` hours) and breakdowns miss those days.
pub fn clear_days(site: &str, from_ms: i64) -> Vec<Sql> {
    clear_days_where(site, from_ms, "1", None)
}

/// `clear_days` of every day, only if the site's zone is not `zone` yet: run just before the
/// statement that sets it, so saving the settings with the same zone rebuilds nothing.
pub fn clear_days_on_zone_change(site: &str, zone: &str) -> Vec<Sql> {
    clear_days_where(
        site,
        0,
        "(SELECT timezone FROM sites WHERE id = ?1) IS NOT ?3",
        Some(zone),
    )
}

fn clear_days_where(site: &str, from_ms: i64, condition: &str, zone: Option<&str>) -> Vec<Sql> {
    let binds = || {
        let mut b = crate::binds![site, from_ms].to_vec();
        if let Some(z) = zone {
            b.push(z.into());
        }
        b
    };
    vec![
        Sql::new(
            format!(
                "UPDATE rollup_state SET raw_until = MAX(raw_until, daily_until), \
                 daily_until = MIN(daily_until, ?2) WHERE site_id = ?1 AND {condition}"
            ),
            binds(),
        ),
        Sql::new(
            format!(
                "DELETE FROM rollups_daily WHERE site_id = ?1 AND dimension IN ({}) \
                 AND day >= ?2 AND imported = 0 AND {condition}",
                all_dimensions()
            ),
            binds(),
        ),
    ]
}

/// The rollup rows of the range `[?2, ?3)` for site `?1` that meet `condition` (on `dimension`
/// and `value`; it may use later binds), as one subquery with the columns t (the day's or the
/// hour's start), value, visitors, hour_visitors (a day's visitors on daily rows: what an
/// hourly chart can show of an imported day), pageviews, visits, bounces,
/// duration_ms, engaged_ms, events, revenue_micros:
/// - collected daily rows of built days (before `daily_until`) in the range;
/// - hourly rows from `daily_until` (or the range start) to the range end;
/// - imported daily rows of days in the range without collected rows (neither a built day's
///   `total` row nor an hourly `total` row in the 24 hours from its start).
///
/// With `hourly_only`, every hour of the range comes from hourly rows (`total` rows are kept
/// for built days, so the hourly chart reads them) and daily rows only for imported days.
///
/// Ranges are whole local days in the site's zone (as `stats::period` makes them); a range
/// that starts inside a built day misses that day's part.
pub fn rollup_source(condition: &str, hourly_only: bool) -> String {
    let cut = if hourly_only {
        "?2".to_string()
    } else {
        format!("MAX(?2, MIN(?3, {DAILY_UNTIL}))")
    };
    let day_ms = DAY_MS;
    format!(
        "(SELECT d.day AS t, value, visitors, visitors AS hour_visitors, pageviews, visits, bounces, \
         duration_ms, engaged_ms, events, revenue_micros FROM rollups_daily d \
         WHERE d.site_id = ?1 AND {condition} AND d.day >= ?2 AND d.day < ?3 \
         AND ((d.imported = 0 AND d.day < {cut}) OR (d.imported = 1 \
         AND NOT EXISTS (SELECT 1 FROM rollups_daily x WHERE x.site_id = ?1 AND x.dimension = 'total' \
         AND x.day = d.day AND x.imported = 0) \
         AND NOT EXISTS (SELECT 1 FROM rollups_hourly h WHERE h.site_id = ?1 AND h.dimension = 'total' \
         AND h.hour >= d.day AND h.hour < d.day + {day_ms}))) \
         UNION ALL SELECT hour AS t, value, visitors, hour_visitors, pageviews, visits, bounces, \
         duration_ms, engaged_ms, events, revenue_micros FROM rollups_hourly \
         WHERE site_id = ?1 AND {condition} AND hour >= {cut} AND hour < ?3)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dim: Dimension, value: &str, visitors: i64) -> DailyRow {
        DailyRow {
            visitors,
            pageviews: visitors * 2,
            ..DailyRow::zero(dim, value)
        }
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn saving_the_same_zone_keeps_the_built_days_and_a_new_zone_clears_them() {
        use crate::store::sqlite::{migrated, run};
        let db = migrated();
        run(
            &db,
            &Sql::new(
                "INSERT INTO sites (id, name, timezone, created_at) VALUES ('s', 's', 'UTC', 0)",
                [],
            ),
        );
        run(
            &db,
            &Sql::new(
                "INSERT INTO rollup_state (site_id, daily_until) VALUES ('s', ?1)",
                crate::binds![10 * DAY_MS],
            ),
        );
        run(&db, &Sql::new("INSERT INTO rollups_daily (site_id, day, dimension, value, visitors) VALUES ('s', ?1, 'page', '/', 1)", crate::binds![2 * DAY_MS]));
        let rows = |db: &rusqlite::Connection| -> i64 {
            db.query_row("SELECT COUNT(*) FROM rollups_daily", [], |r| r.get(0))
                .unwrap()
        };
        for s in clear_days_on_zone_change("s", "UTC") {
            run(&db, &s);
        }
        assert_eq!(rows(&db), 1);
        for s in clear_days_on_zone_change("s", "Europe/Lisbon") {
            run(&db, &s);
        }
        assert_eq!(rows(&db), 0);
        let (until, raw): (i64, i64) = db
            .query_row("SELECT daily_until, raw_until FROM rollup_state", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((until, raw), (0, 10 * DAY_MS));
    }

    #[test]
    fn a_day_keeps_the_top_values_and_sums_the_rest_into_other() {
        let n = DAILY_ROLLUP_TOP;
        let mut rows: Vec<DailyRow> = (0..n + 50)
            .map(|i| row(Dimension::Page, &format!("/p{i:04}"), 1000 - i))
            .collect();
        rows.push(row(Dimension::Total, "", 5));
        rows.push(row(Dimension::Country, "PT", 0)); // all zero: dropped
                                                     // The same value from a second store adds up before ranking.
        rows.push(row(Dimension::Page, &format!("/p{:04}", n + 49), 2000));
        let out = bound_day(rows);
        let pages: Vec<&DailyRow> = out
            .iter()
            .filter(|r| r.dimension == Dimension::Page)
            .collect();
        assert_eq!(pages.len() as i64, n + 1);
        assert_eq!(pages[0].value, format!("/p{:04}", n + 49));
        assert_eq!(pages[0].visitors, 2000 + 1000 - (n + 49));
        let other = pages.iter().find(|r| r.value == DAILY_OTHER).unwrap();
        // Ranks n..n+48 of the first list (the last moved to the top).
        let rest: i64 = (n - 1..n + 49).map(|i| 1000 - i).sum();
        assert_eq!((other.visitors, other.pageviews), (rest, 2 * rest));
        assert!(out.iter().all(|r| r.dimension != Dimension::Country));
        assert_eq!(
            out.iter()
                .filter(|r| r.dimension == Dimension::Total)
                .count(),
            1
        );
    }

    #[test]
    fn days_to_build_are_whole_local_days_ending_before_yesterday() {
        let tz = crate::stats::period::time_zone("America/New_York").unwrap();
        let day0 = 20_000 * DAY_MS; // 2024-10-04
        let state = BuildState {
            first_hour: Some(day0 + 10 * HOUR_MS),
            daily_until: 0,
            raw_until: 0,
        };
        // Now: 2024-10-08 12:00 UTC; yesterday starts 2024-10-07 00:00 UTC, so the local day
        // 10-06 (ends 10-07 04:00 UTC) is not complete enough, 10-05 is.
        let days = days_to_build(&state, &tz, day0 + 4 * DAY_MS + 12 * HOUR_MS);
        assert_eq!(
            days.iter()
                .map(|d| (d.start_ms, d.end_ms))
                .collect::<Vec<_>>(),
            [
                (day0 + 4 * HOUR_MS, day0 + DAY_MS + 4 * HOUR_MS),
                (day0 + DAY_MS + 4 * HOUR_MS, day0 + 2 * DAY_MS + 4 * HOUR_MS)
            ]
        );
        assert!(days.iter().all(|d| !d.from_raw));
        // A long history is built a run at a time; days before raw_until come from raw events.
        let state = BuildState {
            first_hour: Some(0),
            daily_until: 0,
            raw_until: 10 * DAY_MS,
        };
        let days = days_to_build(
            &state,
            &crate::stats::period::time_zone("UTC").unwrap(),
            day0,
        );
        assert_eq!(days.len(), BUILD_DAYS_PER_RUN);
        assert_eq!(days.iter().filter(|d| d.from_raw).count(), 10);
        assert!(days_to_build(&BuildState::default(), &tz, day0).is_empty());
        // Kolkata's midnight is 18:30 UTC, floored to 18:00: days follow each other without a
        // gap or a repeat, and a built day is not offered again.
        let kolkata = crate::stats::period::time_zone("Asia/Kolkata").unwrap();
        let state = BuildState {
            first_hour: Some(day0),
            daily_until: 0,
            raw_until: 0,
        };
        let days = days_to_build(&state, &kolkata, day0 + 10 * DAY_MS);
        assert_eq!(days.len(), 9);
        assert!(days.windows(2).all(|w| w[0].end_ms == w[1].start_ms));
        assert_eq!(days[0].start_ms, day0 - 6 * HOUR_MS);
        let built = BuildState {
            daily_until: days[0].end_ms,
            first_hour: Some(days[0].end_ms),
            ..state
        };
        assert_eq!(
            days_to_build(&built, &kolkata, day0 + 10 * DAY_MS)[0],
            days[1]
        );
    }

    #[test]
    fn the_hourly_series_bound_covers_two_local_days_and_no_more() {
        use crate::stats::period::{time_zone, Bucket, Period};
        for zone in [
            "UTC",
            "Europe/Lisbon",
            "America/New_York",
            "Asia/Kolkata",
            "Australia/Lord_Howe",
        ] {
            let tz = time_zone(zone).unwrap();
            for start in [
                "2026-03-07",
                "2026-03-28",
                "2026-10-24",
                "2026-11-01",
                "2026-04-04",
            ] {
                let from: jiff::civil::Date = start.parse().unwrap();
                for days in 1..=3 {
                    let to = from.checked_add(jiff::Span::new().days(days - 1)).unwrap();
                    let p = Period::new(from, to, tz.clone()).unwrap();
                    let span = p.to_ms() - p.from_ms();
                    assert_eq!(
                        p.bucket() == Bucket::Hour,
                        span <= HOURLY_SERIES_MAX_MS,
                        "{zone} {start} {days}"
                    );
                }
            }
        }
    }
}
