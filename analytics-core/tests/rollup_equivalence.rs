//! Every number of the overview and the breakdowns, computed two ways over a generated dataset:
//! from `rollups_hourly` with the SQL the Worker runs, in real SQLite with the real migrations,
//! and straight from the raw events with the definitions in `rollup.rs`. They must be equal.

use analytics_core::ingest::event::{EnrichedEvent, EventKind};
use analytics_core::limits::MAX_REVENUE_MICROS;
use analytics_core::stats::rollup::{self, Dimension, OpenSession, BREAKDOWN_SQL, TOTALS_SQL};
use analytics_core::stats::{day_of_ms, DAY_MS, HOUR_MS};
use rusqlite::{params_from_iter, Connection};

#[path = "support/sqlite.rs"]
mod sqlite;
use sqlite::to_sql;
use std::collections::{BTreeMap, HashMap, HashSet};

const SITE: &str = "shop";
const START: i64 = 20_000 * DAY_MS; // 2024-10-04, a Friday

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Visitors with several visits a day over four days, sessions crossing midnight, every event
/// kind, custom and page-view properties, revenue in two currencies (refunds too), UTM tags
/// and bots.
fn generate() -> Vec<EnrichedEvent> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let pages = [
        "/", "/pricing", "/blog/a", "/blog/b", "/docs", "/signup", "/about",
    ];
    let sources = [
        ("Direct", "direct"),
        ("Google", "search"),
        ("Twitter", "social"),
        ("news.example", "referral"),
    ];
    let mut events = Vec::new();
    let mut n = 0;
    for visitor in 0..150 {
        let (browser, os, device) = [
            ("Chrome", "Linux", "desktop"),
            ("Safari", "iPhone", "mobile"),
            ("Firefox", "Windows 10", "desktop"),
        ][visitor % 3];
        let country = rng.pick(&["PT", "DE", "US", "unknown"]);
        let bot = visitor % 17 == 0;
        for day in 0..4 {
            if rng.below(3) == 0 {
                continue;
            }
            let visitor_hash = format!("v{visitor}-d{day}"); // daily rotation
            let mut t = START + day * DAY_MS + rng.below(DAY_MS as u64 - 3 * HOUR_MS as u64) as i64;
            if visitor % 11 == 0 && day < 3 {
                t = START + (day + 1) * DAY_MS - 5 * 60_000; // a visit that crosses midnight
            }
            for _visit in 0..1 + rng.below(3) {
                let (source, channel) = sources[rng.below(4) as usize];
                let utm = if rng.below(4) == 0 { "newsletter" } else { "" };
                for step in 0..1 + rng.below(5) {
                    let kind = match (step, rng.below(10)) {
                        (0, _) => "pageview",
                        (_, 0..=4) => "pageview",
                        (_, 5) => "custom",
                        (_, 6) => "outbound",
                        (_, 7) => "download",
                        (_, 8) => "engagement",
                        _ => "pageview",
                    };
                    n += 1;
                    let mut e = EnrichedEvent {
                        id: format!("e{n:06}"),
                        site_id: SITE.into(),
                        ts: t,
                        visitor: visitor_hash.clone(),
                        kind: EventKind::parse(kind).unwrap(),
                        path: rng.pick(&pages).into(),
                        referrer_source: source.into(),
                        channel: channel.into(),
                        utm_source: utm.into(),
                        utm_campaign: if utm.is_empty() {
                            String::new()
                        } else {
                            "fall".into()
                        },
                        browser: browser.into(),
                        os: os.into(),
                        device: device.into(),
                        country: country.into(),
                        region: "unknown".into(),
                        city: "unknown".into(),
                        screen: "laptop".into(),
                        props: "{}".into(),
                        bot,
                        ..Default::default()
                    };
                    match kind {
                        "pageview" if rng.below(3) == 0 => {
                            e.props = format!(
                                r#"{{"section":"{}","logged_in":{}}}"#,
                                rng.pick(&["docs", "blog"]),
                                rng.below(2) == 0
                            );
                        }
                        "custom" => {
                            e.name = rng.pick(&["signup", "play", "purchase"]).into();
                            e.props = format!(
                                r#"{{"plan":"{}","seats":{}}}"#,
                                rng.pick(&["free", "pro"]),
                                rng.below(3)
                            );
                            if e.name != "play" && rng.below(4) != 0 {
                                e.revenue_currency = rng.pick(&["EUR", "USD"]).into();
                                // Cents and odd micro-units, the largest amount allowed, and now
                                // and then a refund.
                                e.revenue_micros = match rng.below(10) {
                                    0 => -(rng.below(5_000) as i64) * 10_000,
                                    1 => MAX_REVENUE_MICROS - rng.below(1_000) as i64,
                                    _ => {
                                        rng.below(100_000_000) as i64 * 10_000
                                            + rng.below(10_000) as i64
                                    }
                                };
                            }
                        }
                        "outbound" => {
                            e.name = rng
                                .pick(&["https://partner.example/", "https://github.com/x"])
                                .into()
                        }
                        "download" => e.name = "https://shop.example/brochure.pdf".into(),
                        "engagement" => {
                            e.engaged_ms = 1_000 + rng.below(60_000) as i64;
                            e.scroll = rng.below(101) as i64;
                        }
                        _ => {}
                    }
                    events.push(e);
                    t += 1_000 + rng.below(10 * 60_000) as i64;
                }
                t += 31 * 60_000 + rng.below(4 * HOUR_MS as u64) as i64; // a new visit
            }
        }
    }
    events.sort_by_key(|e| (e.ts, e.id.clone()));
    events
}

/// What the Durable Object does on append: sessions and deltas, event by event in order.
fn roll_up(events: &mut [EnrichedEvent]) -> Vec<rollup::Delta> {
    let mut open: HashMap<String, OpenSession> = HashMap::new();
    let mut seen = HashSet::new();
    let mut deltas = Vec::new();
    for e in events.iter_mut() {
        let (state, mut d) = rollup::apply(e, open.get(&e.visitor), &mut seen);
        open.insert(e.visitor.clone(), state);
        deltas.append(&mut d);
    }
    deltas
}

fn database(events: &[EnrichedEvent], deltas: &[rollup::Delta]) -> Connection {
    let db = Connection::open_in_memory().unwrap();
    sqlite::apply_migrations(&db);
    let tx = db.unchecked_transaction().unwrap();
    sqlite::store(&tx, SITE, events, deltas);
    tx.commit().unwrap();
    db
}

fn hour_rows(db: &Connection, from: i64, to: i64) -> Vec<analytics_core::stats::period::HourRow> {
    sqlite::hour_rows(db, SITE, from, to)
}

/// [visitors, pageviews, visits, bounces, duration_ms, engaged_ms, events]
type Metrics = [i64; 7];

struct Session<'a> {
    start: i64,
    last: i64,
    visitor: &'a str,
    first: &'a EnrichedEvent,
    pageviews: i64,
    engaged: i64,
    exit: Option<&'a str>,
}

fn sessions(events: &[EnrichedEvent]) -> Vec<Session<'_>> {
    let mut by_id: BTreeMap<&str, Session> = BTreeMap::new();
    for e in events.iter().filter(|e| !e.bot) {
        let s = by_id.entry(&e.session).or_insert(Session {
            start: e.ts,
            last: e.ts,
            visitor: &e.visitor,
            first: e,
            pageviews: 0,
            engaged: 0,
            exit: None,
        });
        s.last = s.last.max(e.ts);
        s.engaged += e.engaged_ms;
        if e.kind.as_str() == "pageview" {
            s.pageviews += 1;
            s.exit = Some(&e.path);
        }
    }
    by_id.into_values().collect()
}

fn session_value<'a>(s: &Session<'a>, dim: &str) -> &'a str {
    let e = s.first;
    match dim {
        "entry_page" => &e.path,
        "source" => &e.referrer_source,
        "channel" => &e.channel,
        "utm_source" => &e.utm_source,
        "utm_medium" => &e.utm_medium,
        "utm_campaign" => &e.utm_campaign,
        "utm_term" => &e.utm_term,
        "utm_content" => &e.utm_content,
        "country" => &e.country,
        "region" => &e.region,
        "city" => &e.city,
        "browser" => &e.browser,
        "os" => &e.os,
        "device" => &e.device,
        _ => unreachable!(),
    }
}

/// The raw-event answer for one dimension (or "total" keyed by "").
fn raw_breakdown(
    events: &[EnrichedEvent],
    dim: &str,
    from: i64,
    to: i64,
) -> BTreeMap<String, Metrics> {
    let mut out: BTreeMap<String, Metrics> = BTreeMap::new();
    let mut uniques: HashSet<(String, String, String)> = HashSet::new();
    let in_range = |t: i64| t >= from && t < to;
    let live = || events.iter().filter(|e| !e.bot && in_range(e.ts));
    match dim {
        "total" => {
            let m = out.entry(String::new()).or_default();
            for s in sessions(events).iter().filter(|s| in_range(s.start)) {
                if uniques.insert((day_of_ms(s.start), s.visitor.into(), String::new())) {
                    m[0] += 1;
                }
                m[2] += 1;
                m[3] += (s.pageviews <= 1) as i64;
                m[4] += s.last - s.start;
                m[5] += s.engaged;
            }
            m[1] = live().filter(|e| e.kind.as_str() == "pageview").count() as i64;
        }
        "page" => {
            for e in live() {
                if e.kind.as_str() == "pageview" {
                    let m = out.entry(e.path.clone()).or_default();
                    m[1] += 1;
                    if uniques.insert((day_of_ms(e.ts), e.visitor.clone(), e.path.clone())) {
                        m[0] += 1;
                    }
                } else if e.kind.as_str() == "engagement" {
                    out.entry(e.path.clone()).or_default()[5] += e.engaged_ms;
                }
            }
        }
        "exit_page" => {
            for s in sessions(events).iter().filter(|s| in_range(s.start)) {
                if let Some(exit) = s.exit {
                    out.entry(exit.into()).or_default()[2] += 1;
                }
            }
        }
        "event" | "outbound" | "download" | "prop" => {
            let kinds: &[&str] = match dim {
                "event" => &["custom"],
                // Page views' properties are labelled with the event "pageview".
                "prop" => &["custom", "pageview"],
                _ => std::slice::from_ref(&dim),
            };
            for e in live().filter(|e| kinds.contains(&e.kind.as_str())) {
                let labels: Vec<String> = if dim == "prop" {
                    let props: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(&e.props).unwrap();
                    let event = if e.kind.as_str() == "pageview" {
                        rollup::PAGEVIEW_PROP_EVENT
                    } else {
                        &e.name
                    };
                    props
                        .iter()
                        .map(|(k, v)| {
                            rollup::prop_label(
                                event,
                                k,
                                &v.as_str()
                                    .map(String::from)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                } else {
                    vec![e.name.clone()]
                };
                for label in labels {
                    let m = out.entry(label.clone()).or_default();
                    m[6] += 1;
                    if uniques.insert((day_of_ms(e.ts), e.visitor.clone(), label)) {
                        m[0] += 1;
                    }
                }
            }
        }
        session_dim => {
            let all = sessions(events);
            for s in all.iter().filter(|s| in_range(s.start)) {
                let value = session_value(s, session_dim).to_string();
                let m = out.entry(value.clone()).or_default();
                if uniques.insert((day_of_ms(s.start), s.visitor.into(), value)) {
                    m[0] += 1;
                }
                m[1] += s.pageviews;
                m[2] += 1;
                m[3] += (s.pageviews <= 1) as i64;
                m[4] += s.last - s.start;
                m[5] += s.engaged;
            }
        }
    }
    out.retain(|_, m| m[0] + m[1] + m[2] + m[6] > 0);
    out
}

fn rollup_breakdown(db: &Connection, dim: &str, from: i64, to: i64) -> BTreeMap<String, Metrics> {
    if dim == "total" {
        let row: [i64; 6] = db
            .query_row(TOTALS_SQL, rusqlite::params![SITE, from, to], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ])
            })
            .unwrap();
        return BTreeMap::from([(
            String::new(),
            [row[0], row[1], row[2], row[3], row[4], row[5], 0],
        )]);
    }
    let mut stmt = db.prepare(BREAKDOWN_SQL).unwrap();
    let rows = stmt
        .query_map(rusqlite::params![SITE, from, to, dim, 10_000], |r| {
            Ok((
                r.get::<_, String>(0)?,
                [
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ],
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// Keeps the metrics a dimension defines (the others are zero or not meaningful there).
fn defined(dim: &str, m: Metrics) -> Metrics {
    let keep: [bool; 7] = match dim {
        "page" => [true, true, false, false, false, true, false],
        "exit_page" => [false, false, true, false, false, false, false],
        "event" | "outbound" | "download" | "prop" => {
            [true, false, false, false, false, false, true]
        }
        "total" => [true, true, true, true, true, true, false],
        _ => [true, true, true, true, true, true, false],
    };
    let mut out = [0; 7];
    for i in 0..7 {
        if keep[i] {
            out[i] = m[i];
        }
    }
    out
}

/// Revenue per currency of the custom event `name` in [from, to), straight from the events.
fn raw_revenue(events: &[EnrichedEvent], name: &str, from: i64, to: i64) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    for e in events.iter().filter(|e| {
        !e.bot
            && e.ts >= from
            && e.ts < to
            && e.kind.as_str() == "custom"
            && e.name == name
            && !e.revenue_currency.is_empty()
    }) {
        *out.entry(e.revenue_currency.clone()).or_default() += e.revenue_micros as i128;
    }
    out
}

/// What a `goal_revenue` query answers, per currency.
fn sql_revenue(db: &Connection, sql: &analytics_core::stats::query::Sql) -> BTreeMap<String, i128> {
    let mut stmt = db.prepare(&sql.text).unwrap();
    stmt.query_map(params_from_iter(sql.binds.iter().map(to_sql)), |r| {
        Ok(analytics_core::stats::query::RevenueRow {
            currency: r.get("currency")?,
            units: r.get("units")?,
            micros: r.get("micros")?,
        })
    })
    .unwrap()
    .map(|row| {
        let row = row.unwrap();
        (row.currency.clone(), row.total_micros())
    })
    .collect()
}

#[test]
fn every_overview_and_breakdown_number_is_the_same_from_rollups_and_from_raw_events() {
    let mut events = generate();
    assert!(events.len() > 1_000, "{} events", events.len());
    let deltas = roll_up(&mut events);
    let db = database(&events, &deltas);
    let rollup_rows: i64 = db
        .query_row("SELECT COUNT(*) FROM rollups_hourly", [], |r| r.get(0))
        .unwrap();
    assert!(rollup_rows > 0);
    let ranges = [(0, 1), (1, 2), (0, 4), (2, 4), (3, 5)];
    let mut compared = 0;
    for (from_day, to_day) in ranges {
        let (from, to) = (START + from_day * DAY_MS, START + to_day * DAY_MS);
        for dim in rollup::DIMENSIONS
            .iter()
            .map(|d| d.as_str())
            .filter(|d| *d != "bots")
        {
            let raw: BTreeMap<String, Metrics> = raw_breakdown(&events, dim, from, to)
                .into_iter()
                .map(|(k, m)| (k, defined(dim, m)))
                .collect();
            let rolled: BTreeMap<String, Metrics> = rollup_breakdown(&db, dim, from, to)
                .into_iter()
                .map(|(k, m)| (k, defined(dim, m)))
                .collect();
            let rolled: BTreeMap<String, Metrics> = rolled
                .into_iter()
                .filter(|(_, m)| m.iter().any(|v| *v != 0))
                .collect();
            let raw: BTreeMap<String, Metrics> = raw
                .into_iter()
                .filter(|(_, m)| m.iter().any(|v| *v != 0))
                .collect();
            assert_eq!(rolled, raw, "dimension {dim}, days {from_day}..{to_day}");
            compared += raw.len();
        }
        // The daily series: page views per day and daily uniques, from the hourly rows the
        // Worker reads.
        let mut series: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for h in hour_rows(&db, from, to) {
            let day = series.entry(h.t.div_euclid(DAY_MS) * DAY_MS).or_default();
            day.0 += h.pageviews;
            day.1 += h.visitors;
        }
        for (t, (pageviews, visitors)) in series {
            let day = raw_breakdown(&events, "total", t, t + DAY_MS)[""];
            assert_eq!(
                (pageviews, visitors),
                (day[1], day[0]),
                "day {}",
                day_of_ms(t)
            );
        }
    }
    // Goal revenue per currency, from the rollups' `revenue` rows and from raw events.
    let mut with_revenue = 0;
    for (from_day, to_day) in ranges {
        let (from, to) = (START + from_day * DAY_MS, START + to_day * DAY_MS);
        let scope = analytics_core::stats::query::Scope {
            site: SITE,
            from_ms: from,
            to_ms: to,
            filters: &[],
        };
        for name in ["signup", "purchase", "play"] {
            let goal = analytics_core::stats::query::Goal {
                kind: analytics_core::stats::query::GoalKind::Event,
                value: name.into(),
            };
            let rolled = sql_revenue(
                &db,
                &analytics_core::stats::query::goal_revenue(&scope, &goal).unwrap(),
            );
            let raw = sql_revenue(
                &db,
                &analytics_core::stats::query::goal_revenue_raw(&scope, &goal),
            );
            let expected = raw_revenue(&events, name, from, to);
            assert_eq!(
                rolled, expected,
                "revenue of {name}, days {from_day}..{to_day}"
            );
            assert_eq!(
                raw, expected,
                "raw revenue of {name}, days {from_day}..{to_day}"
            );
            with_revenue += expected.len();
        }
    }
    assert!(with_revenue > 10, "{with_revenue} revenue sums compared");
    let pageview_props: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM rollups_hourly WHERE dimension = 'prop' AND value LIKE 'pageview' || char(31) || '%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        pageview_props > 10,
        "page-view properties rolled up: {pageview_props}"
    );
    // The hourly series: page views per hour and uniques per hour.
    let (from, to) = (START + DAY_MS, START + 2 * DAY_MS);
    let hourly: Vec<(i64, i64, i64)> = hour_rows(&db, from, to)
        .into_iter()
        .map(|h| (h.t, h.pageviews, h.hour_visitors))
        .collect();
    assert!(hourly.len() > 10);
    for (t, pageviews, visitors) in hourly {
        let live: Vec<&EnrichedEvent> = events
            .iter()
            .filter(|e| !e.bot && e.ts >= t && e.ts < t + HOUR_MS)
            .collect();
        assert_eq!(
            pageviews,
            live.iter()
                .filter(|e| e.kind.as_str() == "pageview")
                .count() as i64
        );
        assert_eq!(
            visitors,
            live.iter()
                .map(|e| &e.visitor)
                .collect::<HashSet<_>>()
                .len() as i64
        );
    }
    // Bots are stored raw and counted, never in the stats.
    let bots: i64 = db
        .query_row(
            "SELECT SUM(events) FROM rollups_hourly WHERE dimension = 'bots'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bots, events.iter().filter(|e| e.bot).count() as i64);
    assert!(compared > 200, "{compared} rows compared");
}

/// Whether a visit (its events, in order) is one a filter selects.
type VisitTest = Box<dyn Fn(&[&EnrichedEvent]) -> bool>;

fn metrics_rows(
    db: &Connection,
    sql: &analytics_core::stats::query::Sql,
) -> BTreeMap<String, Metrics> {
    let mut stmt = db.prepare(&sql.text).unwrap();
    let named =
        |r: &rusqlite::Row, c: &str| -> i64 { r.get::<_, Option<i64>>(c).unwrap().unwrap_or(0) };
    let has_value = stmt.column_names().contains(&"value");
    stmt.query_map(params_from_iter(sql.binds.iter().map(to_sql)), |r| {
        let value = if has_value {
            r.get::<_, String>("value")?
        } else {
            String::new()
        };
        Ok((
            value,
            [
                named(r, "visitors"),
                named(r, "pageviews"),
                named(r, "visits"),
                named(r, "bounces"),
                named(r, "duration_ms"),
                named(r, "engaged_ms"),
                if has_value { named(r, "events") } else { 0 },
            ],
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn nonzero(dim: &str, rows: BTreeMap<String, Metrics>) -> BTreeMap<String, Metrics> {
    rows.into_iter()
        .map(|(k, m)| (k, defined(dim, m)))
        .filter(|(_, m)| m.iter().any(|v| *v != 0))
        .collect()
}

/// The filtered (raw-event) SQL path: without filters it gives the rollups' numbers; with
/// filters it gives the numbers of the selected visits computed in Rust.
#[test]
fn filtered_queries_agree_with_rollups_and_with_the_selected_visits() {
    use analytics_core::stats::filter::Filter;
    use analytics_core::stats::query::{self, Scope};
    let mut events = generate();
    let deltas = roll_up(&mut events);
    let db = database(&events, &deltas);
    let mut compared = 0;
    for (from_day, to_day) in [(0, 1), (1, 3), (0, 5)] {
        let (from, to) = (START + from_day * DAY_MS, START + to_day * DAY_MS);
        let none = Scope {
            site: SITE,
            from_ms: from,
            to_ms: to,
            filters: &[],
        };
        let raw_totals = metrics_rows(&db, &query::totals_raw(&none));
        let rolled_totals = metrics_rows(&db, &query::totals(&none));
        assert_eq!(
            defined("total", raw_totals[""]),
            defined("total", rolled_totals[""]),
            "totals, days {from_day}..{to_day}"
        );
        for dim in rollup::DIMENSIONS
            .iter()
            .map(|d| d.as_str())
            .filter(|d| !["bots", "total"].contains(d))
        {
            let rolled = nonzero(
                dim,
                metrics_rows(
                    &db,
                    &query::breakdown(&none, Dimension::parse(dim).unwrap(), 10_000),
                ),
            );
            let raw = nonzero(
                dim,
                metrics_rows(
                    &db,
                    &query::breakdown_raw(&none, Dimension::parse(dim).unwrap(), 10_000),
                ),
            );
            assert_eq!(
                raw, rolled,
                "raw vs rollup path, {dim}, days {from_day}..{to_day}"
            );
            compared += rolled.len();
        }
    }
    // Filters: each selects visits; the SQL answer must equal the Rust answer over the
    // selected visits' events.
    let (from, to) = (START, START + 5 * DAY_MS);
    let selections: Vec<(&str, VisitTest)> = vec![
        (
            "country:PT",
            Box::new(|s: &[&EnrichedEvent]| s[0].country == "PT"),
        ),
        (
            "page:/pricing",
            Box::new(|s: &[&EnrichedEvent]| {
                s.iter()
                    .any(|e| e.kind.as_str() == "pageview" && e.path == "/pricing")
            }),
        ),
        (
            "browser:Safari",
            Box::new(|s: &[&EnrichedEvent]| s[0].browser == "Safari"),
        ),
        (
            "event:signup",
            Box::new(|s: &[&EnrichedEvent]| {
                s.iter()
                    .any(|e| e.kind.as_str() == "custom" && e.name == "signup")
            }),
        ),
        (
            "prop:pageview\u{1f}section\u{1f}docs",
            Box::new(|s: &[&EnrichedEvent]| {
                s.iter().any(|e| {
                    e.kind.as_str() == "pageview" && e.props.contains(r#""section":"docs""#)
                })
            }),
        ),
        (
            "prop:signup\u{1f}plan\u{1f}pro",
            Box::new(|s: &[&EnrichedEvent]| {
                s.iter().any(|e| {
                    e.kind.as_str() == "custom"
                        && e.name == "signup"
                        && e.props.contains(r#""plan":"pro""#)
                })
            }),
        ),
    ];
    for (text, keep) in &selections {
        let filters = vec![Filter::parse(text).unwrap()];
        let scope = Scope {
            site: SITE,
            from_ms: from,
            to_ms: to,
            filters: &filters,
        };
        let mut by_session: BTreeMap<&str, Vec<&EnrichedEvent>> = BTreeMap::new();
        for e in events.iter().filter(|e| !e.bot) {
            by_session.entry(&e.session).or_default().push(e);
        }
        let kept: HashSet<&str> = by_session
            .iter()
            .filter(|(_, evs)| keep(evs))
            .map(|(s, _)| *s)
            .collect();
        let selected: Vec<EnrichedEvent> = events
            .iter()
            .filter(|e| !e.bot && kept.contains(e.session.as_str()))
            .cloned()
            .collect();
        assert!(
            !selected.is_empty() && selected.len() < events.len(),
            "{text}"
        );
        let totals = metrics_rows(&db, &query::totals(&scope));
        let expected = raw_breakdown(&selected, "total", from, to);
        assert_eq!(
            defined("total", totals[""]),
            defined("total", expected[""]),
            "totals under {text}"
        );
        for dim in [
            "page",
            "source",
            "country",
            "exit_page",
            "event",
            "prop",
            "entry_page",
        ] {
            let got = nonzero(
                dim,
                metrics_rows(
                    &db,
                    &query::breakdown(&scope, Dimension::parse(dim).unwrap(), 10_000),
                ),
            );
            let want = nonzero(dim, raw_breakdown(&selected, dim, from, to));
            assert_eq!(got, want, "{dim} under {text}");
            compared += got.len();
        }
        // Hourly series under the filter: page views per hour.
        let mut stmt = db.prepare(&query::hourly(&scope).text).unwrap();
        let hours: Vec<(i64, i64)> = stmt
            .query_map(
                params_from_iter(query::hourly(&scope).binds.iter().map(to_sql)),
                |r| Ok((r.get("t")?, r.get("pageviews")?)),
            )
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let pv: i64 = hours.iter().map(|h| h.1).sum();
        assert_eq!(pv, expected[""][1], "hourly page views under {text}");
        // Goal revenue under the filter: the selected visits' revenue.
        for name in ["signup", "purchase"] {
            let goal = analytics_core::stats::query::Goal {
                kind: analytics_core::stats::query::GoalKind::Event,
                value: name.into(),
            };
            assert_eq!(
                sql_revenue(&db, &query::goal_revenue(&scope, &goal).unwrap()),
                raw_revenue(&selected, name, from, to),
                "revenue of {name} under {text}"
            );
        }
    }
    assert!(compared > 100, "{compared}");
}
