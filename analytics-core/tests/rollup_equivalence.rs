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

// ---------------------------------------------------------------------------------------------
// Daily rollups (`rollups_daily`, store::rollups_daily): building local days from hourly rows
// (or raw events) changes no number the unfiltered views show, except values beyond a day's
// top DAILY_ROLLUP_TOP, which `(other)` holds.

mod daily {
    use super::*;
    use analytics_core::stats::goals::Conversions;
    use analytics_core::stats::period::{bucket_series, time_zone, HourRow, Period};
    use analytics_core::stats::query::{self, Goal, GoalKind, Scope};
    use analytics_core::store::rollups_daily::{
        self as daily, build_day, build_day_from_raw, build_state, clear_days, day_rows_from_raw,
        days_to_build, from_raw_parts, BuildState, DailyRow, DAILY_OTHER, DAILY_ROLLUP_TOP,
    };
    use analytics_core::store::sqlite as exec;
    use analytics_core::store::Sql;
    use jiff::tz::TimeZone;

    /// The generated events, optionally moved by `shift_days` and with page views spread over
    /// `tail` extra paths (so pages, entry and exit pages have more values a day than the bound).
    fn data(shift_days: i64, tail: usize) -> (Vec<EnrichedEvent>, Vec<rollup::Delta>) {
        let mut events = generate();
        for (i, e) in events.iter_mut().enumerate() {
            e.ts += shift_days * DAY_MS;
            if tail > 0 && e.kind.as_str() == "pageview" && i % 3 != 0 {
                e.path = format!("/tail/{:03}", (i * 7919) % tail);
            }
        }
        let deltas = roll_up(&mut events);
        (events, deltas)
    }

    fn batch(db: &Connection, sqls: &[Sql]) {
        for s in sqls {
            exec::run(db, s);
        }
    }

    /// A day's rows from raw events, as the cron computes them (one store here).
    fn raw_day(db: &Connection, start: i64, end: i64) -> Vec<DailyRow> {
        let [day, to_end, before] = day_rows_from_raw(SITE, start, end);
        from_raw_parts(
            exec::all(db, &day),
            exec::all(db, &to_end),
            exec::all(db, &before),
        )
    }

    fn state(db: &Connection) -> BuildState {
        exec::first(db, &build_state(SITE)).unwrap()
    }

    /// Builds every day that is due as the cron would, from hourly rows.
    fn build_all(db: &Connection, tz: &TimeZone, now: i64) -> usize {
        let mut built = 0;
        loop {
            let days = days_to_build(&state(db), tz, now);
            if days.is_empty() {
                return built;
            }
            for d in days {
                assert!(!d.from_raw);
                batch(db, &build_day(SITE, d.start_ms, d.end_ms));
                built += 1;
            }
        }
    }

    /// Everything the unfiltered overview, breakdowns and goals answer for a period.
    #[derive(Debug, PartialEq)]
    struct Answers {
        totals: Metrics,
        series: Vec<(i64, i64, i64)>,
        breakdowns: BTreeMap<&'static str, BTreeMap<String, Metrics>>,
        goals: Vec<Conversions>,
        revenue: Vec<BTreeMap<String, i128>>,
    }

    fn goals() -> Vec<Goal> {
        let page = |v: &str| Goal {
            kind: GoalKind::Page,
            value: v.into(),
        };
        let event = |v: &str| Goal {
            kind: GoalKind::Event,
            value: v.into(),
        };
        vec![
            page("/"),
            page("/pricing"),
            event("signup"),
            event("purchase"),
            event("play"),
        ]
    }

    fn answers(db: &Connection, period: &Period) -> Answers {
        let scope = Scope {
            site: SITE,
            from_ms: period.from_ms(),
            to_ms: period.to_ms(),
            filters: &[],
        };
        let totals = metrics_rows(db, &query::totals(&scope))[""];
        let hours: Vec<HourRow> = exec::all(db, &query::hourly(&scope));
        let series = bucket_series(period, &hours)
            .into_iter()
            .map(|p| (p.t, p.pageviews, p.visitors))
            .collect();
        let breakdowns = Dimension::BREAKDOWNS
            .iter()
            .map(|d| {
                (
                    d.as_str(),
                    nonzero(
                        d.as_str(),
                        metrics_rows(db, &query::breakdown(&scope, *d, 10_000)),
                    ),
                )
            })
            .collect();
        let goals = goals();
        Answers {
            totals,
            series,
            breakdowns,
            goals: goals
                .iter()
                .map(|g| exec::first(db, &query::goal(&scope, g)).unwrap())
                .collect(),
            revenue: goals
                .iter()
                .filter_map(|g| query::goal_revenue(&scope, g))
                .map(|sql| sql_revenue(db, &sql))
                .collect(),
        }
    }

    fn period(from: &str, to: &str, tz: &TimeZone) -> Period {
        Period::new(from.parse().unwrap(), to.parse().unwrap(), tz.clone()).unwrap()
    }

    /// Every local day of the data and ranges over several of them.
    fn periods(first: &str, days: i64, tz: &TimeZone) -> (Vec<Period>, Vec<Period>) {
        let first: jiff::civil::Date = first.parse().unwrap();
        let day = |i: i64| first.checked_add(jiff::Span::new().days(i)).unwrap();
        let singles = (0..days)
            .map(|i| Period::new(day(i), day(i), tz.clone()).unwrap())
            .collect();
        let multi = vec![
            Period::new(day(0), day(1), tz.clone()).unwrap(),
            Period::new(day(0), day(days - 1), tz.clone()).unwrap(),
            Period::new(day(1), day(days + 1), tz.clone()).unwrap(),
        ];
        (singles, multi)
    }

    fn daily_rows(db: &Connection, day: i64, dim: &str) -> BTreeMap<String, Metrics> {
        let rows: Vec<DailyRow> = exec::all(
            db,
            &Sql::new(
                "SELECT dimension, value, visitors, pageviews, visits, bounces, duration_ms, \
                 engaged_ms, events, revenue_micros FROM rollups_daily \
                 WHERE site_id = ?1 AND day = ?2 AND dimension = ?3 AND imported = 0",
                analytics_core::binds![SITE, day, dim],
            ),
        );
        rows.into_iter()
            .map(|r| {
                (
                    r.value,
                    [
                        r.visitors,
                        r.pageviews,
                        r.visits,
                        r.bounces,
                        r.duration_ms,
                        r.engaged_ms,
                        r.events,
                    ],
                )
            })
            .collect()
    }

    /// The heart of it: build every local day of the data in `tz` (moved by `shift` days) and
    /// compare what the unfiltered views answer before and after.
    fn build_changes_nothing_inside_the_bound(tz_name: &str, shift: i64, first_day: &str) {
        let tz = time_zone(tz_name).unwrap();
        let (events, deltas) = data(shift, 3 * DAILY_ROLLUP_TOP as usize);
        let db = database(&events, &deltas);
        let (singles, multi) = periods(first_day, 5, &tz);
        let before: Vec<Answers> = singles
            .iter()
            .chain(&multi)
            .map(|p| answers(&db, p))
            .collect();
        let hourly_rows: i64 = db
            .query_row("SELECT COUNT(*) FROM rollups_hourly", [], |r| r.get(0))
            .unwrap();
        let now = START + (shift + 9) * DAY_MS;
        let built = build_all(&db, &tz, now);
        assert!(built >= 5, "{built} days built");
        let left: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM rollups_hourly WHERE dimension != 'total'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "hourly rows of built days but total are gone");
        let daily_count: i64 = db
            .query_row("SELECT COUNT(*) FROM rollups_daily", [], |r| r.get(0))
            .unwrap();
        assert!(
            daily_count < hourly_rows / 2,
            "{daily_count} daily rows vs {hourly_rows} hourly"
        );
        // (b) at most N + 1 rows per day and dimension, and the bound was reached.
        let most: i64 = db
            .query_row(
                "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM rollups_daily GROUP BY day, dimension)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            most,
            DAILY_ROLLUP_TOP + 1,
            "the page dimensions reach the bound"
        );
        let after: Vec<Answers> = singles
            .iter()
            .chain(&multi)
            .map(|p| answers(&db, p))
            .collect();
        let mut exact_values = 0;
        let mut bounded = 0;
        for (i, p) in singles.iter().chain(&multi).enumerate() {
            let (b, a) = (&before[i], &after[i]);
            let what = format!("{tz_name} {}..{}", p.from, p.to);
            assert_eq!(a.totals, b.totals, "totals {what}");
            assert_eq!(a.series, b.series, "series {what}");
            assert_eq!(a.goals, b.goals, "goals {what}");
            assert_eq!(a.revenue, b.revenue, "revenue {what}");
            assert!(
                b.totals[2] > 0 || i >= singles.len() - 1,
                "visits on {what}"
            );
            for (dim, rows) in &a.breakdowns {
                let full = &b.breakdowns[dim];
                if i < singles.len() {
                    // One day: every kept value exactly as before; `(other)` holds the rest.
                    let kept = daily_rows(&db, p.from_ms(), dim);
                    for (value, m) in rows {
                        assert_eq!(Some(m), full.get(value), "{dim} {value} {what}");
                        exact_values += 1;
                    }
                    let mut rest = [0i64; 7];
                    for (value, m) in full.iter().filter(|(v, _)| !rows.contains_key(*v)) {
                        assert!(
                            !kept.contains_key(value),
                            "{dim} {value} dropped though kept"
                        );
                        for k in 0..7 {
                            rest[k] += m[k];
                        }
                    }
                    let other = kept.get(DAILY_OTHER).copied().unwrap_or_default();
                    assert_eq!(
                        defined(dim, other),
                        defined(dim, rest),
                        "(other) of {dim} {what}"
                    );
                    if full.len() as i64 > DAILY_ROLLUP_TOP {
                        assert_eq!(rows.len() as i64, DAILY_ROLLUP_TOP, "{dim} {what}");
                        bounded += 1;
                    }
                } else {
                    // Several days: each value is the sum of its kept days.
                    for (value, m) in rows {
                        let mut sum = [0i64; 7];
                        for (j, s) in singles.iter().enumerate() {
                            if s.from_ms() >= p.from_ms() && s.to_ms() <= p.to_ms() {
                                if let Some(d) = after[j].breakdowns[dim].get(value) {
                                    for k in 0..7 {
                                        sum[k] += d[k];
                                    }
                                }
                            }
                        }
                        if p.to_ms() <= singles.last().unwrap().to_ms() {
                            assert_eq!(defined(dim, sum), *m, "{dim} {value} {what}");
                        }
                        if m == &full[value] {
                            exact_values += 1;
                        }
                    }
                }
            }
        }
        assert!(exact_values > 1_000, "{exact_values} values compared");
        assert!(bounded >= 4, "{bounded} days and dimensions past the bound");
    }

    #[test]
    fn built_days_answer_as_hourly_rows_did_in_utc() {
        build_changes_nothing_inside_the_bound("UTC", 0, "2024-10-04");
    }

    #[test]
    fn built_days_answer_as_hourly_rows_did_across_a_dst_change() {
        // Lisbon falls back on 2024-10-27 (a 25-hour day); the data moved there.
        let tz = time_zone("Europe/Lisbon").unwrap();
        let dst = period("2024-10-27", "2024-10-27", &tz);
        assert_eq!(dst.to_ms() - dst.from_ms(), 25 * HOUR_MS);
        build_changes_nothing_inside_the_bound("Europe/Lisbon", 22, "2024-10-26");
        // And a zone west of UTC across its own change (New York, 2024-11-03).
        build_changes_nothing_inside_the_bound("America/New_York", 29, "2024-11-02");
    }

    fn table(db: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = db.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    fn contents(db: &Connection) -> (Vec<String>, Vec<String>, Vec<String>) {
        (
            table(db, "SELECT * FROM rollups_daily ORDER BY 1, 2, 3, 4, 5"),
            table(db, "SELECT * FROM rollups_hourly ORDER BY 1, 2, 3, 4"),
            table(db, "SELECT * FROM rollup_state"),
        )
    }

    #[test]
    fn a_build_cut_after_any_statement_and_run_again_ends_the_same() {
        let (events, deltas) = data(0, 150);
        let utc = TimeZone::UTC;
        let now = START + 9 * DAY_MS;
        let reference = database(&events, &deltas);
        build_all(&reference, &utc, now);
        let want = contents(&reference);
        // Run twice: nothing changes.
        let days = days_to_build(
            &BuildState {
                first_hour: Some(START),
                ..Default::default()
            },
            &utc,
            now,
        );
        for d in &days {
            batch(&reference, &build_day(SITE, d.start_ms, d.end_ms));
        }
        assert!(
            contents(&reference) == want,
            "a second run changed something"
        );
        // Cut the second day's batch after each statement, then run the whole batch.
        let steps = build_day(SITE, days[1].start_ms, days[1].end_ms);
        for cut in 0..=steps.len() {
            let db = database(&events, &deltas);
            batch(&db, &build_day(SITE, days[0].start_ms, days[0].end_ms));
            batch(&db, &steps[..cut]);
            build_all(&db, &utc, now);
            assert!(contents(&db) == want, "cut after {cut} statements");
        }
        // The same for a day built from raw events.
        let raw_rows = raw_day(&reference, days[1].start_ms, days[1].end_ms);
        let from_raw = build_day_from_raw(
            SITE,
            days[1].start_ms,
            days[1].end_ms,
            raw_rows.clone(),
            false,
        );
        let db = database(&events, &deltas);
        batch(&db, &build_day(SITE, days[0].start_ms, days[0].end_ms));
        for cut in 0..=from_raw.len() {
            batch(&db, &from_raw[..cut]);
            batch(&db, &from_raw);
        }
        let day1 = |db: &Connection| {
            table(
                db,
                &format!(
                    "SELECT * FROM rollups_daily WHERE day = {} ORDER BY 3, 4",
                    days[1].start_ms
                ),
            )
        };
        let mut rows_from_raw = day1(&db);
        let mut rows_from_hourly = day1(&reference);
        // Page rows of engagement without a page view that day exist only in hourly rollups
        // (the raw page breakdown leaves them out); none in this data beyond the bound.
        rows_from_raw.sort();
        rows_from_hourly.sort();
        assert!(
            rows_from_raw == rows_from_hourly,
            "day 1 from raw events, cut and run again"
        );
    }

    /// (e) Daily rows computed from raw events equal those built from hourly rows, day by day,
    /// in UTC and in a zone whose days straddle two UTC days.
    #[test]
    fn daily_rows_from_raw_events_equal_daily_rows_from_hourly_rows() {
        for (zone, tail) in [
            ("UTC", 0),
            ("Asia/Kolkata", 0),
            ("America/Los_Angeles", 250),
        ] {
            let tz = time_zone(zone).unwrap();
            let (events, deltas) = data(0, tail);
            let db = database(&events, &deltas);
            let days = days_to_build(&state(&db), &tz, START + 9 * DAY_MS);
            assert!(days.len() >= 4, "{zone}");
            // Raw rows first: building deletes the hourly rows, never the events.
            let from_raw: Vec<Vec<DailyRow>> = days
                .iter()
                .map(|d| daily::bound_day(raw_day(&db, d.start_ms, d.end_ms)))
                .collect();
            build_all(&db, &tz, START + 9 * DAY_MS);
            let mut compared = 0;
            for (d, raw) in days.iter().zip(from_raw) {
                let mut built: Vec<DailyRow> = exec::all(
                    &db,
                    &Sql::new(
                        "SELECT dimension, value, visitors, pageviews, visits, bounces, duration_ms, \
                         engaged_ms, events, revenue_micros FROM rollups_daily WHERE day = ?1",
                        analytics_core::binds![d.start_ms],
                    ),
                );
                // The raw page breakdown leaves out paths with engagement but no page view
                // that day (so does the hourly breakdown, by its HAVING): compare the rest.
                let shown = |r: &DailyRow| r.visitors + r.pageviews + r.visits + r.events != 0;
                built.retain(shown);
                let mut raw: Vec<DailyRow> = raw.into_iter().filter(shown).collect();
                let key = |r: &DailyRow| (r.dimension.as_str(), r.value.clone());
                built.sort_by_key(key);
                raw.sort_by_key(key);
                if tail > 0 {
                    // Past the bound the rank of engagement-only paths can move what `(other)`
                    // sums; kept values must still agree.
                    built.retain(|r| r.value != DAILY_OTHER);
                    raw.retain(|r| r.value != DAILY_OTHER);
                }
                compared += raw.len();
                assert_eq!(raw, built, "{zone} day {}", d.start_ms);
            }
            assert!(compared > 100, "{zone}: {compared}");
        }
    }

    fn imported_rows(day: i64, visitors: i64) -> Vec<DailyRow> {
        let row = |dim: Dimension, value: &str| DailyRow {
            dimension: dim,
            value: value.into(),
            visitors,
            pageviews: 3 * visitors,
            visits: visitors,
            bounces: 0,
            duration_ms: 0,
            engaged_ms: 0,
            events: 0,
            revenue_micros: day % 2,
        };
        vec![
            row(Dimension::Total, ""),
            row(Dimension::Page, "/imported"),
            row(Dimension::Source, "Google"),
        ]
    }

    /// (d) A day with collected rows ignores its imported rows; imported-only days count.
    #[test]
    fn imported_days_count_only_where_nothing_was_collected() {
        let utc = TimeZone::UTC;
        let (events, deltas) = data(0, 0);
        for build_first in [false, true] {
            let db = database(&events, &deltas);
            let whole = period("2024-10-01", "2024-10-09", &utc);
            let before = answers(&db, &whole);
            if build_first {
                build_all(&db, &utc, START + 9 * DAY_MS);
            }
            // Imported: day 1 (collected too) and two days before collection began.
            for (day, visitors) in [
                (START + DAY_MS, 1000),
                (START - 2 * DAY_MS, 7),
                (START - DAY_MS, 5),
            ] {
                let rows = imported_rows(day, visitors);
                batch(
                    &db,
                    &build_day_from_raw(SITE, day, day + DAY_MS, rows.clone(), true),
                );
                batch(
                    &db,
                    &build_day_from_raw(SITE, day, day + DAY_MS, rows, true),
                ); // idempotent
            }
            let after = answers(&db, &whole);
            let what = format!("built first: {build_first}");
            assert_eq!(after.totals[0], before.totals[0] + 12, "visitors, {what}");
            assert_eq!(after.totals[1], before.totals[1] + 36, "page views, {what}");
            assert_eq!(after.breakdowns["page"]["/imported"][0], 12, "{what}");
            assert_eq!(
                after.breakdowns["source"]["Google"][0],
                before.breakdowns["source"]["Google"][0] + 12
            );
            let series: BTreeMap<i64, (i64, i64)> =
                after.series.iter().map(|p| (p.0, (p.1, p.2))).collect();
            assert_eq!(series[&(START - 2 * DAY_MS)], (21, 7), "{what}");
            assert_eq!(
                series[&(START + DAY_MS)],
                (before.series[4].1, before.series[4].2),
                "{what}"
            );
            // A range of imported days only.
            let old = answers(&db, &period("2024-10-02", "2024-10-03", &utc));
            assert_eq!(old.totals[0], 12);
        }
    }

    /// A time zone change: built days are cleared and rebuilt from raw events in the new zone.
    #[test]
    fn a_zone_change_rebuilds_days_from_raw_events() {
        let (events, deltas) = data(0, 0);
        let db = database(&events, &deltas);
        let now = START + 9 * DAY_MS;
        build_all(&db, &TimeZone::UTC, now);
        let berlin = time_zone("Europe/Berlin").unwrap();
        let reference = database(&events, &deltas);
        let whole = period("2024-10-03", "2024-10-08", &berlin);
        let want = answers(&reference, &whole);
        batch(&db, &clear_days(SITE, 0));
        let days = days_to_build(&state(&db), &berlin, now);
        assert!(days.iter().all(|d| d.from_raw) && days.len() >= 4);
        // Meanwhile totals and the series stay right.
        let during = answers(&db, &whole);
        assert_eq!(
            (during.totals, during.series),
            (want.totals, want.series.clone())
        );
        for d in days {
            let rows = raw_day(&db, d.start_ms, d.end_ms);
            batch(
                &db,
                &build_day_from_raw(SITE, d.start_ms, d.end_ms, rows, false),
            );
        }
        assert!(days_to_build(&state(&db), &berlin, now).is_empty());
        let got = answers(&db, &whole);
        assert_eq!(got.totals, want.totals);
        assert_eq!(got.series, want.series);
        assert_eq!(got.goals, want.goals);
        for (dim, rows) in &want.breakdowns {
            assert_eq!(&got.breakdowns[dim], rows, "{dim}");
        }
    }
}
