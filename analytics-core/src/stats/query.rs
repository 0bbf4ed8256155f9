//! The stats queries: totals, the hourly series and breakdowns, read from the hourly rollups
//! when there is no filter and from raw events when there is (rollups hold one dimension at a
//! time). Both paths return the same shapes and, without filters, the same numbers
//! (tests/rollup_equivalence.rs checks it).
//!
//! Raw-event definitions mirror `rollup.rs`: visits are the sessions that *started* in the
//! range (their first event, whose id is the session id, is in it) and carry all their events;
//! page views, pages and events count the events inside the range.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::stats::filter::{
    event_kind, prop_event_sql, session_column, Binds, Filter, PROP_VALUE_TEXT,
};
use crate::stats::rollup::{BREAKDOWN_SQL, DIMENSIONS, TOTALS_SQL};
use crate::store::events::SqlValue;

pub use crate::store::Sql;

/// What every stats query is about.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub site: &'a str,
    pub from_ms: i64,
    pub to_ms: i64,
    pub filters: &'a [Filter],
}

/// The additive metrics of the overview and of each breakdown row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsRow {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    pub visitors: i64,
    pub pageviews: i64,
    pub visits: i64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub engaged_ms: i64,
    #[serde(default)]
    pub events: i64,
}

impl MetricsRow {
    /// Bounce rate in percent (0 without visits).
    pub fn bounce_rate(&self) -> f64 {
        ratio(self.bounces, self.visits) * 100.0
    }
    pub fn views_per_visit(&self) -> f64 {
        ratio(self.pageviews, self.visits)
    }
    /// Mean visit duration in seconds.
    pub fn visit_duration_s(&self) -> f64 {
        ratio(self.duration_ms, self.visits) / 1000.0
    }
    /// Mean engaged (visible and focused) time per visit, in seconds.
    pub fn engaged_s(&self) -> f64 {
        ratio(self.engaged_ms, self.visits) / 1000.0
    }

    /// The row with its derived rates, as the API answers it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            let round = |x: f64| (x * 10.0).round() / 10.0;
            o.insert("bounce_rate".into(), round(self.bounce_rate()).into());
            o.insert(
                "views_per_visit".into(),
                round(self.views_per_visit()).into(),
            );
            o.insert(
                "visit_duration_s".into(),
                round(self.visit_duration_s()).into(),
            );
            o.insert("engaged_s".into(), round(self.engaged_s()).into());
        }
        v
    }
}

fn ratio(a: i64, b: i64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The raw-event CTEs every filtered query starts with:
/// - `sel`: the site's human events from the range start to a day past its end (visits that
///   started in the range may go on past it), restricted to the visits the filters select;
/// - `ev`: the events inside the range;
/// - `sess`: the visits that started in the range, with their metrics.
fn raw_prelude(scope: &Scope, binds: &mut Binds) -> String {
    let conditions: String = scope
        .filters
        .iter()
        .map(|f| format!(" AND {}", f.condition(binds)))
        .collect();
    format!(
        "WITH sel AS (SELECT * FROM events WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 + 86400000 \
         AND bot = 0{conditions}), \
         ev AS (SELECT * FROM sel WHERE ts < ?3), \
         sess AS (SELECT session, MIN(visitor) AS visitor, MIN(ts) AS t0, MAX(ts) AS t1, \
         SUM(kind = 'pageview') AS pv, SUM(engaged_ms) AS eng FROM sel GROUP BY session \
         HAVING SUM(id = session) > 0 AND MIN(ts) < ?3)"
    )
}

fn finish(text: String, binds: Binds) -> Sql {
    Sql {
        text,
        binds: binds.0,
    }
}

/// Overview totals (one `MetricsRow`).
pub fn totals(scope: &Scope) -> Sql {
    if scope.filters.is_empty() {
        let binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
        return finish(TOTALS_SQL.into(), binds);
    }
    totals_raw(scope)
}

/// `totals` from raw events, whatever the filters.
pub fn totals_raw(scope: &Scope) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let prelude = raw_prelude(scope, &mut binds);
    finish(
        format!(
            "{prelude} SELECT \
             (SELECT COUNT(DISTINCT (t0 / 86400000) || ':' || visitor) FROM sess) AS visitors, \
             (SELECT COUNT(*) FROM ev WHERE kind = 'pageview') AS pageviews, \
             COUNT(*) AS visits, COALESCE(SUM(pv <= 1), 0) AS bounces, \
             COALESCE(SUM(t1 - t0), 0) AS duration_ms, COALESCE(SUM(eng), 0) AS engaged_ms, \
             (SELECT COUNT(*) FROM ev WHERE kind IN ('custom', 'outbound', 'download')) AS events \
             FROM sess"
        ),
        binds,
    )
}

/// Hourly rows for the chart (`period::HourRow`), folded into the period's buckets by
/// `period::bucket_series`.
pub fn hourly(scope: &Scope) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    if scope.filters.is_empty() {
        return finish(
            "SELECT hour AS t, SUM(pageviews) AS pageviews, SUM(visitors) AS visitors, \
             SUM(hour_visitors) AS hour_visitors FROM rollups_hourly \
             WHERE site_id = ?1 AND dimension = 'total' AND hour >= ?2 AND hour < ?3 \
             GROUP BY hour ORDER BY hour"
                .into(),
            binds,
        );
    }
    let prelude = raw_prelude(scope, &mut binds);
    finish(
        format!(
            "{prelude}, \
             firsts AS (SELECT (MIN(t0) / 3600000) * 3600000 AS t FROM sess GROUP BY t0 / 86400000, visitor), \
             hours AS (SELECT (ts / 3600000) * 3600000 AS t, SUM(kind = 'pageview') AS pageviews, \
             COUNT(DISTINCT visitor) AS hour_visitors FROM ev GROUP BY t \
             UNION ALL SELECT t, 0, 0 FROM firsts) \
             SELECT h.t AS t, SUM(h.pageviews) AS pageviews, \
             (SELECT COUNT(*) FROM firsts f WHERE f.t = h.t) AS visitors, \
             SUM(h.hour_visitors) AS hour_visitors FROM hours h GROUP BY h.t ORDER BY h.t"
        ),
        binds,
    )
}

/// Checks a breakdown dimension.
pub fn check_dimension(dimension: &str) -> Result<&'static str, ApiError> {
    DIMENSIONS
        .iter()
        .find(|d| **d == dimension && **d != "total")
        .copied()
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_dimension",
                format!("dimension must be one of {}", DIMENSIONS[1..].join(", ")),
            )
        })
}

const ORDER: &str = "ORDER BY visitors DESC, visits DESC, pageviews DESC, events DESC, value";

/// One dimension's rows (`MetricsRow` with `value`), at most `limit`.
pub fn breakdown(scope: &Scope, dimension: &str, limit: u32) -> Sql {
    if scope.filters.is_empty() || dimension == "bots" {
        let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
        binds.push_text(dimension);
        binds.push_int(limit as i64);
        return finish(BREAKDOWN_SQL.into(), binds);
    }
    breakdown_raw(scope, dimension, limit)
}

/// `breakdown` from raw events, whatever the filters (public for the equivalence test).
pub fn breakdown_raw(scope: &Scope, dimension: &str, limit: u32) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let prelude = raw_prelude(scope, &mut binds);
    let body = if let Some(col) = session_column(dimension) {
        format!(
            ", first AS (SELECT session, {col} AS value FROM sel WHERE id = session) \
             SELECT f.value AS value, COUNT(DISTINCT (s.t0 / 86400000) || ':' || s.visitor) AS visitors, \
             SUM(s.pv) AS pageviews, COUNT(*) AS visits, SUM(s.pv <= 1) AS bounces, \
             SUM(s.t1 - s.t0) AS duration_ms, SUM(s.eng) AS engaged_ms, 0 AS events \
             FROM sess s JOIN first f ON f.session = s.session GROUP BY f.value"
        )
    } else {
        match dimension {
            "page" => " SELECT path AS value, \
                 COUNT(DISTINCT CASE WHEN kind = 'pageview' THEN day || ':' || visitor END) AS visitors, \
                 SUM(kind = 'pageview') AS pageviews, 0 AS visits, 0 AS bounces, 0 AS duration_ms, \
                 SUM(CASE WHEN kind = 'engagement' THEN engaged_ms ELSE 0 END) AS engaged_ms, 0 AS events \
                 FROM ev WHERE kind IN ('pageview', 'engagement') GROUP BY path HAVING SUM(kind = 'pageview') > 0"
                .to_string(),
            "exit_page" => ", last AS (SELECT session, path, MAX(ts) FROM sel WHERE kind = 'pageview' \
                 AND session IN (SELECT session FROM sess) GROUP BY session) \
                 SELECT path AS value, 0 AS visitors, 0 AS pageviews, COUNT(*) AS visits, 0 AS bounces, \
                 0 AS duration_ms, 0 AS engaged_ms, 0 AS events FROM last GROUP BY path"
                .to_string(),
            // A subquery names the label: json_each has its own `value` column, which GROUP
            // BY would pick over an alias.
            "prop" => format!(
                ", props AS (SELECT {} || char(31) || j.key || char(31) || {PROP_VALUE_TEXT} AS label, \
                 ev.day AS day, ev.visitor AS visitor FROM ev, json_each(ev.props) j \
                 WHERE ev.kind IN ('custom', 'pageview')) \
                 SELECT label AS value, COUNT(DISTINCT day || ':' || visitor) AS visitors, 0 AS pageviews, \
                 0 AS visits, 0 AS bounces, 0 AS duration_ms, 0 AS engaged_ms, COUNT(*) AS events \
                 FROM props GROUP BY label",
                prop_event_sql("ev.")
            ),
            dim => {
                let kind = event_kind(dim).unwrap_or("custom");
                format!(
                    " SELECT name AS value, COUNT(DISTINCT day || ':' || visitor) AS visitors, \
                     0 AS pageviews, 0 AS visits, 0 AS bounces, 0 AS duration_ms, 0 AS engaged_ms, \
                     COUNT(*) AS events FROM ev WHERE kind = '{kind}' GROUP BY name"
                )
            }
        }
    };
    let limit = binds.push_int(limit as i64);
    // `body` is either more CTEs (", name AS (…) SELECT …") or just the final SELECT.
    finish(format!("{prelude}{body} {ORDER} LIMIT {limit}"), binds)
}

/// What a goal is reached by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// `event` (a custom event's name) or `page` (a path).
    pub kind: String,
    pub value: String,
}

pub const GOAL_KINDS: [&str; 2] = ["event", "page"];
/// Most goals a site may define.
pub const MAX_GOALS: usize = 50;
/// Fewest and most steps in a funnel.
pub const MIN_FUNNEL_STEPS: usize = 2;
pub const MAX_FUNNEL_STEPS: usize = 8;
/// Most funnels a site may define.
pub const MAX_FUNNELS: usize = 20;

impl Goal {
    pub fn check(&self) -> Result<(), ApiError> {
        if !GOAL_KINDS.contains(&self.kind.as_str()) {
            return Err(ApiError::bad_request(
                "bad_goal",
                "a goal's kind is event (a custom event name) or page (a path)",
            ));
        }
        if self.value.is_empty() || self.value.len() > crate::limits::MAX_URL_BYTES {
            return Err(ApiError::bad_request(
                "bad_goal",
                "a goal needs a value (event name or path) of at most 2048 bytes",
            ));
        }
        if self.kind == "page" && !self.value.starts_with('/') {
            return Err(ApiError::bad_request(
                "bad_goal",
                "a page goal is a path starting with /",
            ));
        }
        Ok(())
    }

    fn matches(&self, binds: &mut Binds, prefix: &str) -> String {
        let v = binds.push_text(&self.value);
        if self.kind == "page" {
            format!("{prefix}kind = 'pageview' AND {prefix}path = {v}")
        } else {
            format!("{prefix}kind = 'custom' AND {prefix}name = {v}")
        }
    }
}

/// A goal's unique converting visitors and its completions (one row: visitors, conversions).
pub fn goal(scope: &Scope, goal: &Goal) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    if scope.filters.is_empty() {
        let dim = binds.push_text(if goal.kind == "page" { "page" } else { "event" });
        let value = binds.push_text(&goal.value);
        return finish(
            format!(
                "SELECT COALESCE(SUM(visitors), 0) AS visitors, \
                 COALESCE(SUM(pageviews) + SUM(events), 0) AS conversions FROM rollups_hourly \
                 WHERE site_id = ?1 AND hour >= ?2 AND hour < ?3 AND dimension = {dim} AND value = {value}"
            ),
            binds,
        );
    }
    let prelude = raw_prelude(scope, &mut binds);
    let matches = goal.matches(&mut binds, "");
    finish(
        format!(
            "{prelude} SELECT COUNT(DISTINCT day || ':' || visitor) AS visitors, COUNT(*) AS conversions \
             FROM ev WHERE {matches}"
        ),
        binds,
    )
}

/// A goal's revenue per currency (rows: currency, units, micros — the sum split in whole units
/// and the rest, so neither overflows nor loses precision on its way through JavaScript;
/// `RevenueRow::micros` puts them together). Only event goals carry revenue: `None` for pages.
pub fn goal_revenue(scope: &Scope, goal: &Goal) -> Option<Sql> {
    if goal.kind != "event" {
        return None;
    }
    if !scope.filters.is_empty() {
        return Some(goal_revenue_raw(scope, goal));
    }
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let dim = binds.push_text(crate::stats::rollup::REVENUE_DIMENSION);
    let name = binds.push_text(&goal.value);
    // The value is the currency (three letters), U+001F, the event name.
    Some(finish(
        format!(
            "SELECT substr(value, 1, 3) AS currency, {} FROM rollups_hourly \
             WHERE site_id = ?1 AND hour >= ?2 AND hour < ?3 AND dimension = {dim} \
             AND substr(value, 5) = {name} GROUP BY currency ORDER BY currency",
            revenue_sums()
        ),
        binds,
    ))
}

/// The sums `goal_revenue` answers: whole units and the micro-unit rest.
fn revenue_sums() -> String {
    let per_unit = crate::limits::REVENUE_MICROS_PER_UNIT;
    format!("SUM(revenue_micros / {per_unit}) AS units, SUM(revenue_micros % {per_unit}) AS micros")
}

/// `goal_revenue` from raw events, whatever the filters (public for the equivalence test).
pub fn goal_revenue_raw(scope: &Scope, goal: &Goal) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let prelude = raw_prelude(scope, &mut binds);
    let matches = goal.matches(&mut binds, "");
    finish(
        format!(
            "{prelude} SELECT revenue_currency AS currency, {} FROM ev \
             WHERE {matches} AND revenue_currency != '' GROUP BY currency ORDER BY currency",
            revenue_sums()
        ),
        binds,
    )
}

/// One currency's revenue as `goal_revenue` answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueRow {
    pub currency: String,
    pub units: i64,
    pub micros: i64,
}

impl RevenueRow {
    /// The exact sum in micro-units.
    pub fn total_micros(&self) -> i128 {
        self.units as i128 * crate::limits::REVENUE_MICROS_PER_UNIT as i128 + self.micros as i128
    }

    /// `{"currency": "EUR", "amount": "12.50"}`, the amount an exact decimal.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "currency": self.currency,
            "amount": crate::ingest::wire::format_micros(self.total_micros()),
        })
    }
}

pub fn check_funnel(steps: &[Goal]) -> Result<(), ApiError> {
    if steps.len() < MIN_FUNNEL_STEPS || steps.len() > MAX_FUNNEL_STEPS {
        return Err(ApiError::bad_request(
            "bad_funnel",
            format!("a funnel has {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps"),
        ));
    }
    steps.iter().try_for_each(Goal::check)
}

/// An event's place in its visit: events of one request share a timestamp, and their ids end
/// in the zero-padded index within the batch.
const ORDER_KEY: &str = "printf('%015d', e.ts) || e.id";

/// Visits that went through the steps in order: rows (step, visits), step counted from 1.
/// A step counts when it happens after the previous step, in the same visit.
pub fn funnel(scope: &Scope, steps: &[Goal]) -> Sql {
    let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
    let prelude = raw_prelude(scope, &mut binds);
    let mut ctes = Vec::new();
    let mut selects = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let matches = step.matches(&mut binds, "e.");
        if i == 0 {
            ctes.push(format!(
                "s1 AS (SELECT e.session, MIN({ORDER_KEY}) AS k FROM sel e \
                 WHERE e.session IN (SELECT session FROM sess) AND {matches} GROUP BY e.session)"
            ));
        } else {
            ctes.push(format!(
                "s{n} AS (SELECT e.session, MIN({ORDER_KEY}) AS k FROM sel e JOIN s{i} p ON p.session = e.session \
                 WHERE {ORDER_KEY} > p.k AND {matches} GROUP BY e.session)"
            ));
        }
        selects.push(format!("SELECT {n} AS step, COUNT(*) AS visits FROM s{n}"));
    }
    finish(
        format!(
            "{prelude}, {} {} ORDER BY step",
            ctes.join(", "),
            selects.join(" UNION ALL ")
        ),
        binds,
    )
}

/// How far back "realtime" looks.
pub const REALTIME_WINDOW_MS: i64 = 5 * 60 * 1000;

/// Visitors seen since `since_ms` (one row: visitors).
pub fn realtime_visitors(site: &str, since_ms: i64) -> Sql {
    Sql {
        text: "SELECT COUNT(DISTINCT visitor) AS visitors FROM events \
               WHERE site_id = ?1 AND ts >= ?2 AND bot = 0"
            .into(),
        binds: vec![SqlValue::Text(site.into()), SqlValue::Int(since_ms)],
    }
}

/// The page each visitor seen since `since_ms` viewed last, counted (rows: value, visitors).
pub fn realtime_pages(site: &str, since_ms: i64, limit: u32) -> Sql {
    Sql {
        text: "SELECT path AS value, COUNT(*) AS visitors FROM \
               (SELECT visitor, path, MAX(ts) FROM events WHERE site_id = ?1 AND ts >= ?2 AND bot = 0 \
               AND kind = 'pageview' GROUP BY visitor) GROUP BY path ORDER BY visitors DESC, path LIMIT ?3"
            .into(),
        binds: vec![
            SqlValue::Text(site.into()),
            SqlValue::Int(since_ms),
            SqlValue::Int(limit as i64),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(filters: &[Filter]) -> Scope<'_> {
        Scope {
            site: "s",
            from_ms: 0,
            to_ms: 10,
            filters,
        }
    }

    #[test]
    fn placeholders_match_binds() {
        let filters = [
            Filter::parse("country:PT").unwrap(),
            Filter::parse("prop:Signup\u{1f}plan\u{1f}pro").unwrap(),
        ];
        let steps = [
            Goal {
                kind: "page".into(),
                value: "/".into(),
            },
            Goal {
                kind: "event".into(),
                value: "Signup".into(),
            },
        ];
        for f in [&filters[..0], &filters[..]] {
            let s = scope(f);
            let mut all = vec![
                totals(&s),
                hourly(&s),
                goal(&s, &steps[1]),
                goal_revenue(&s, &steps[1]).unwrap(),
                funnel(&s, &steps),
            ];
            assert!(
                goal_revenue(&s, &steps[0]).is_none(),
                "pages carry no revenue"
            );
            for dim in &DIMENSIONS[1..] {
                all.push(breakdown(&s, dim, 10));
            }
            for sql in all {
                let highest = (1..=sql.binds.len())
                    .rev()
                    .find(|i| sql.text.contains(&format!("?{i}")))
                    .unwrap_or(0);
                assert_eq!(highest, sql.binds.len(), "{}", sql.text);
            }
        }
    }

    #[test]
    fn goals_and_funnels_are_checked() {
        assert!(Goal {
            kind: "page".into(),
            value: "pricing".into()
        }
        .check()
        .is_err());
        assert!(Goal {
            kind: "click".into(),
            value: "x".into()
        }
        .check()
        .is_err());
        assert!(Goal {
            kind: "event".into(),
            value: String::new()
        }
        .check()
        .is_err());
        let one = [Goal {
            kind: "event".into(),
            value: "x".into(),
        }];
        assert_eq!(check_funnel(&one).unwrap_err().error, "bad_funnel");
        assert!(check_dimension("total").is_err());
        assert!(check_dimension("country").is_ok());
    }

    #[test]
    fn derived_rates() {
        let m = MetricsRow {
            visits: 4,
            bounces: 1,
            pageviews: 10,
            duration_ms: 60_000,
            engaged_ms: 20_000,
            ..Default::default()
        };
        assert_eq!(m.bounce_rate(), 25.0);
        assert_eq!(m.views_per_visit(), 2.5);
        assert_eq!(m.visit_duration_s(), 15.0);
        assert_eq!(m.to_json()["engaged_s"], 5.0);
        assert_eq!(MetricsRow::default().bounce_rate(), 0.0);
    }
}
