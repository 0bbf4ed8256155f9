//! The same stats two ways over one generated dataset: (a) every event in D1's `events` (the
//! real migrations), and (b) the layout after sealing: the visits of the first days in cold
//! shards (`store::shard`, appended in pages the way sealing copies them) and the rest in D1,
//! each store answering the unchanged raw stats SQL and `stats::merge` combining the answers.
//! Every number must be equal.

use analytics_core::ingest::event::{EnrichedEvent, EventKind};
use analytics_core::stats::bot_stats;
use analytics_core::stats::export::{self, After, ExportRow};
use analytics_core::stats::filter::Filter;
use analytics_core::stats::goals::{Conversions, StepCount};
use analytics_core::stats::merge::{self, SHARD_BREAKDOWN_ROWS};
use analytics_core::stats::period::HourRow;
use analytics_core::stats::query::{self, Goal, GoalKind, MetricsRow, RevenueRow, Scope};
use analytics_core::stats::rollup::{self, Dimension, OpenSession};
use analytics_core::stats::{DAY_MS, HOUR_MS};
use analytics_core::store::shard::{self, MAX_BOUND_PARAMETERS};
use analytics_core::store::sqlite::{all, first, migrated, run};
use analytics_core::store::Sql;
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};

const SITE: &str = "shop";
const START: i64 = 20_000 * DAY_MS;
const DAYS: i64 = 6;

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Visitors with several visits a day over six days, visits crossing midnight, every event
/// kind, properties, revenue, UTM tags, several countries, sources, pages, and bots. Visitor
/// hashes are 32 hex digits, a new one each day, as ingest writes them.
fn generate() -> Vec<EnrichedEvent> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
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
    for visitor in 0..120u64 {
        let (browser, os, device) = [
            ("Chrome", "Linux", "desktop"),
            ("Safari", "iPhone", "mobile"),
            ("Firefox", "Windows 10", "desktop"),
        ][visitor as usize % 3];
        let country = rng.pick(&["PT", "DE", "US", "BR", "unknown"]);
        let city = rng.pick(&["Lisbon", "Porto", "Berlin", "unknown"]);
        let bot = visitor % 17 == 0;
        for day in 0..DAYS {
            if rng.below(4) == 0 {
                continue;
            }
            let mut t = START + day * DAY_MS + rng.below((DAY_MS - 3 * HOUR_MS) as u64) as i64;
            if visitor % 7 == 0 && day < DAYS - 1 {
                t = START + (day + 1) * DAY_MS - 5 * 60_000; // a visit crossing midnight
            }
            for _visit in 0..1 + rng.below(3) {
                // The hash of the day the visit starts on (a visit crossing midnight keeps it).
                let hash = hash_of(visitor, t.div_euclid(DAY_MS));
                let (source, channel) = sources[rng.below(4) as usize];
                let utm = if rng.below(4) == 0 { "newsletter" } else { "" };
                for step in 0..1 + rng.below(6) {
                    let kind = match (step, rng.below(10)) {
                        (0, _) | (_, 0..=4) => EventKind::Pageview,
                        (_, 5) => EventKind::Custom,
                        (_, 6) => EventKind::Outbound,
                        (_, 7) => EventKind::Download,
                        (_, 8) => EventKind::Engagement,
                        _ => EventKind::NotFound,
                    };
                    n += 1;
                    let mut e = EnrichedEvent {
                        id: format!("r{n:07}-0"),
                        site_id: SITE.into(),
                        ts: t,
                        visitor: hash.clone(),
                        kind,
                        path: rng.pick(&pages).into(),
                        query: if rng.below(5) == 0 {
                            "utm_source=x".into()
                        } else {
                            String::new()
                        },
                        referrer_source: source.into(),
                        referrer_host: source.to_lowercase(),
                        channel: channel.into(),
                        utm_source: utm.into(),
                        utm_campaign: if utm.is_empty() { "" } else { "fall" }.into(),
                        browser: browser.into(),
                        browser_version: rng.pick(&["130", "131"]).into(),
                        os: os.into(),
                        device: device.into(),
                        country: country.into(),
                        region: "unknown".into(),
                        city: city.into(),
                        screen: "laptop".into(),
                        props: "{}".into(),
                        bot,
                        bot_reason: if bot { "user_agent" } else { "" }.into(),
                        ..Default::default()
                    };
                    match kind {
                        EventKind::Pageview if rng.below(3) == 0 => {
                            e.props = format!(
                                r#"{{"section":"{}","logged_in":{}}}"#,
                                rng.pick(&["docs", "blog"]),
                                rng.below(2) == 0
                            );
                        }
                        EventKind::Custom => {
                            e.name = rng.pick(&["signup", "play", "purchase"]).into();
                            e.props = format!(
                                r#"{{"plan":"{}","seats":{}}}"#,
                                rng.pick(&["free", "pro"]),
                                rng.below(3)
                            );
                            if e.name != "play" && rng.below(3) != 0 {
                                e.revenue_currency = rng.pick(&["EUR", "USD"]).into();
                                e.revenue_micros = rng.below(100_000_000) as i64 * 10_000
                                    - if rng.below(10) == 0 { 5_000_000_000 } else { 0 };
                            }
                        }
                        EventKind::Outbound => e.name = "https://partner.example/".into(),
                        EventKind::Download => e.name = "https://shop.example/a.pdf".into(),
                        EventKind::Engagement => {
                            e.engaged_ms = 1_000 + rng.below(60_000) as i64;
                            e.scroll = rng.below(101) as i64;
                        }
                        _ => {}
                    }
                    events.push(e);
                    // Now and then two events of one request share a timestamp.
                    if rng.below(5) != 0 {
                        t += 1_000 + rng.below(10 * 60_000) as i64;
                    }
                }
                t += 31 * 60_000 + rng.below(4 * HOUR_MS as u64) as i64;
            }
        }
    }
    events.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
    // Sessions as the Durable Object assigns them.
    let mut open: HashMap<String, OpenSession> = HashMap::new();
    let mut seen = HashSet::new();
    for e in events.iter_mut() {
        let (state, _) = rollup::apply(e, open.get(&e.visitor), &mut seen);
        open.insert(e.visitor.clone(), state);
    }
    events
}

/// A visitor's hash on a day: 32 hex digits that look random, as ingest's keyed hash does.
fn hash_of(visitor: u64, day: i64) -> String {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let h = mix(visitor.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ day as u64);
    format!("{h:016x}{:016x}", mix(h))
}

/// The UTC day start each visit started on (the day that seals it), by session id.
fn start_days(events: &[EnrichedEvent]) -> HashMap<String, i64> {
    let mut days = HashMap::new();
    for e in events {
        days.entry(e.session.clone())
            .or_insert(e.ts.div_euclid(DAY_MS) * DAY_MS);
    }
    days
}

fn d1_with(events: &[EnrichedEvent]) -> Connection {
    let db = migrated();
    let tx = db.unchecked_transaction().unwrap();
    for e in events {
        run(
            &tx,
            &Sql::new(
                analytics_core::store::events::insert_event_sql(),
                analytics_core::store::events::event_values(e),
            ),
        );
    }
    tx.commit().unwrap();
    db
}

fn new_shard() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    analytics_core::store::sqlite::like_workerd(&db);
    for m in shard::MIGRATIONS {
        db.execute_batch(m).unwrap();
    }
    db
}

fn run_all(db: &Connection, statements: &[Sql]) {
    let tx = db.unchecked_transaction().unwrap();
    for s in statements {
        assert!(s.binds.len() <= MAX_BOUND_PARAMETERS, "{}", s.text);
        run(&tx, s);
    }
    tx.commit().unwrap();
}

/// Seals `day` into `shard` as the cron does: step 0 (clear), then the day's visits in pages
/// of `page` events, in D1's order.
fn seal(
    db: &Connection,
    events: &[EnrichedEvent],
    starts: &HashMap<String, i64>,
    day: i64,
    page: usize,
) {
    run_all(db, &shard::clear_from(day));
    let of_day: Vec<EnrichedEvent> = events
        .iter()
        .filter(|e| starts[&e.session] == day)
        .cloned()
        .collect();
    for chunk in of_day.chunks(page) {
        run_all(db, &shard::append(SITE, day, chunk, false));
    }
}

struct Layout {
    everything: Connection,
    stores: Vec<Connection>,
}

/// (a) one D1 with every event; (b) days 0–1 in shard A, day 2 in shard B, days 3– in D1.
fn layouts() -> (Vec<EnrichedEvent>, Layout) {
    let events = generate();
    let starts = start_days(&events);
    let everything = d1_with(&events);
    let day = |n: i64| START + n * DAY_MS;
    let a = new_shard();
    seal(&a, &events, &starts, day(0), 7);
    seal(&a, &events, &starts, day(1), 500);
    run_all(&a, &[shard::set_visible_until(day(2))]);
    let b = new_shard();
    seal(&b, &events, &starts, day(2), 13);
    run_all(&b, &[shard::set_visible_until(day(3))]);
    let hot: Vec<EnrichedEvent> = events
        .iter()
        .filter(|e| starts[&e.session] >= day(3))
        .cloned()
        .collect();
    let d1 = d1_with(&hot);
    (
        events,
        Layout {
            everything,
            stores: vec![a, b, d1],
        },
    )
}

fn checked(sql: Sql) -> Sql {
    assert!(sql.binds.len() <= MAX_BOUND_PARAMETERS);
    sql
}

fn scopes(filters: &[Filter]) -> [Scope<'_>; 2] {
    [
        Scope {
            site: SITE,
            from_ms: START,
            to_ms: START + DAYS * DAY_MS,
            filters,
        },
        // A site seven hours west of UTC, days 1 to 4: ranges that cut UTC days.
        Scope {
            site: SITE,
            from_ms: START + DAY_MS + 7 * HOUR_MS,
            to_ms: START + 4 * DAY_MS + 7 * HOUR_MS,
            filters,
        },
    ]
}

fn filter_sets() -> Vec<Vec<Filter>> {
    [
        vec![],
        vec!["country:PT"],
        vec!["page:/pricing"],
        vec!["source:Google"],
        vec!["prop:signup\u{1f}plan\u{1f}pro"],
        vec!["country:DE", "entry_page:/docs"],
        vec!["event:purchase"],
    ]
    .into_iter()
    .map(|fs| fs.into_iter().map(|f| Filter::parse(f).unwrap()).collect())
    .collect()
}

fn goals() -> Vec<Goal> {
    vec![
        Goal {
            kind: GoalKind::Page,
            value: "/pricing".into(),
        },
        Goal {
            kind: GoalKind::Event,
            value: "purchase".into(),
        },
        Goal {
            kind: GoalKind::Event,
            value: "signup".into(),
        },
    ]
}

/// Asserts every stats answer of `scope` is the same from `everything` as merged from `stores`.
fn assert_same(layout: &Layout, scope: &Scope) {
    let label = format!("{:?} {}..{}", scope.filters, scope.from_ms, scope.to_ms);
    let one = |sql: &Sql| -> MetricsRow { first(&layout.everything, sql).unwrap() };
    let parts = |sql: &Sql| -> Vec<MetricsRow> {
        layout
            .stores
            .iter()
            .map(|db| first(db, sql).unwrap())
            .collect()
    };
    let totals = checked(query::totals_raw(scope));
    let want = one(&totals);
    assert!(want.visits > 0 || !scope.filters.is_empty(), "{label}");
    assert_eq!(merge::totals(&parts(&totals)), want, "totals {label}");

    if !scope.filters.is_empty() {
        let hourly = checked(query::hourly(scope));
        let want: Vec<HourRow> = all(&layout.everything, &hourly);
        let got: Vec<Vec<HourRow>> = layout.stores.iter().map(|db| all(db, &hourly)).collect();
        assert_eq!(merge::hourly(&got), want, "hourly {label}");
    }

    for dim in Dimension::BREAKDOWNS {
        if dim == Dimension::Bots {
            continue; // read from rollups only
        }
        let want: Vec<MetricsRow> = all(
            &layout.everything,
            &checked(query::breakdown_raw(scope, dim, 10)),
        );
        let each = checked(query::breakdown_part(scope, dim, SHARD_BREAKDOWN_ROWS));
        let got: Vec<Vec<MetricsRow>> = layout.stores.iter().map(|db| all(db, &each)).collect();
        let merged = merge::breakdown(&got, SHARD_BREAKDOWN_ROWS, 10);
        assert!(merged.exact);
        assert_eq!(merged.rows, want, "breakdown {dim} {label}");
    }

    for goal in goals() {
        let sql = checked(query::goal(&Scope { ..*scope }, &goal));
        if scope.filters.is_empty() {
            continue; // unfiltered goals read rollups
        }
        let want: Conversions = first(&layout.everything, &sql).unwrap();
        let got: Vec<Conversions> = layout
            .stores
            .iter()
            .map(|db| first(db, &sql).unwrap())
            .collect();
        assert_eq!(merge::goal(&got), want, "goal {} {label}", goal.value);
        let sql = checked(query::goal_revenue_raw(scope, &goal));
        let want: Vec<RevenueRow> = all(&layout.everything, &sql);
        let got: Vec<Vec<RevenueRow>> = layout.stores.iter().map(|db| all(db, &sql)).collect();
        let merged = merge::revenue(&got);
        let micros = |rows: &[RevenueRow]| -> Vec<(String, i128)> {
            rows.iter()
                .map(|r| (r.currency.clone(), r.total_micros()))
                .collect()
        };
        assert_eq!(
            micros(&merged),
            micros(&want),
            "revenue {} {label}",
            goal.value
        );
    }

    let funnel = checked(query::funnel(scope, &goals()[..2]));
    let want: Vec<StepCount> = all(&layout.everything, &funnel);
    let got: Vec<Vec<StepCount>> = layout.stores.iter().map(|db| all(db, &funnel)).collect();
    assert_eq!(merge::funnel(&got), want, "funnel {label}");
}

#[test]
fn every_stats_answer_is_the_same_from_one_d1_and_merged_from_shards_and_d1() {
    let (_, layout) = layouts();
    for filters in filter_sets() {
        for scope in scopes(&filters) {
            assert_same(&layout, &scope);
        }
    }
}

#[test]
fn bot_stats_and_exports_read_the_same_events_across_the_boundary() {
    let (events, layout) = layouts();
    let (from, to) = (START, START + DAYS * DAY_MS);
    let bots = bot_stats::totals(SITE, from, to);
    let want: bot_stats::BotTotals = first(&layout.everything, &bots).unwrap();
    let got: Vec<bot_stats::BotTotals> = layout
        .stores
        .iter()
        .map(|db| first(db, &bots).unwrap())
        .collect();
    assert_eq!(got.iter().map(|b| b.events).sum::<i64>(), want.events);
    assert_eq!(got.iter().map(|b| b.visitors).sum::<i64>(), want.visitors);
    assert!(want.events > 0);

    // Every event exports from exactly one store, with the same line but for its ids.
    let export_all = |db: &Connection| -> Vec<String> {
        let mut after = After {
            ts: from - 1,
            id: String::new(),
        };
        let mut lines = Vec::new();
        loop {
            let rows: Vec<ExportRow> = all(db, &export::page(SITE, from, to, &after, 50));
            let Some(last) = rows.last() else { break };
            after = After {
                ts: last.ts,
                id: last.id.clone(),
            };
            lines.extend(rows.into_iter().map(|mut r| {
                r.session = String::new();
                r.line()
            }));
        }
        lines
    };
    let mut want = export_all(&layout.everything);
    let mut got: Vec<String> = layout.stores.iter().flat_map(export_all).collect();
    // Visits crossing the range's end export only their events inside it.
    assert_eq!(want.len(), events.iter().filter(|e| e.ts < to).count());
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn rows_of_visits_after_visible_until_are_not_counted() {
    let (events, layout) = layouts();
    let starts = start_days(&events);
    let day3 = START + 3 * DAY_MS;
    let scope = Scope {
        site: SITE,
        from_ms: START,
        to_ms: START + DAYS * DAY_MS,
        filters: &[],
    };
    let sql = query::totals_raw(&scope);
    let before: MetricsRow = first(&layout.stores[1], &sql).unwrap();
    // An interrupted seal of day 3 left a partial copy in shard B: invisible.
    let of_day3: Vec<EnrichedEvent> = events
        .iter()
        .filter(|e| starts[&e.session] == day3)
        .cloned()
        .collect();
    run_all(
        &layout.stores[1],
        &shard::append(SITE, day3, &of_day3[..of_day3.len() / 2], false),
    );
    assert_eq!(
        first::<MetricsRow>(&layout.stores[1], &sql).unwrap(),
        before
    );
    // The seal starts over: step 0 clears the partial copy, and no event is doubled.
    seal(&layout.stores[1], &events, &starts, day3, 11);
    run_all(
        &layout.stores[1],
        &[shard::set_visible_until(day3 + DAY_MS)],
    );
    let d1_day3 = d1_with(&of_day3);
    let want = merge::totals(&[before, first(&d1_day3, &sql).unwrap()]);
    assert_eq!(first::<MetricsRow>(&layout.stores[1], &sql).unwrap(), want);
    let stats: shard::ShardStats = first(&layout.stores[1], &shard::stats()).unwrap();
    let day2 = events
        .iter()
        .filter(|e| starts[&e.session] == day3 - DAY_MS)
        .count();
    assert_eq!(stats.events as usize, day2 + of_day3.len());
    assert_eq!(
        (stats.first_day, stats.last_day),
        (Some(day3 - DAY_MS), Some(day3))
    );
}

#[test]
fn retention_deletes_whole_days_and_keeps_imported_ones_unless_asked() {
    let (events, layout) = layouts();
    let starts = start_days(&events);
    let a = &layout.stores[0];
    let day1 = START + DAY_MS;
    // Day 0 again, as an import of history (kept from retention by default).
    let day0: Vec<EnrichedEvent> = events
        .iter()
        .filter(|e| starts[&e.session] == START)
        .cloned()
        .collect();
    run_all(a, &shard::append(SITE, START, &day0, true));
    let count = |db: &Connection| -> (i64, i64) {
        #[derive(serde::Deserialize)]
        struct Row {
            n: i64,
            imported: i64,
        }
        let r: Row = first(
            db,
            &Sql::new(
                "SELECT COUNT(*) AS n, COALESCE(SUM(imported), 0) AS imported FROM events",
                [],
            ),
        )
        .unwrap();
        (r.n, r.imported)
    };
    let n0 = day0.len() as i64;
    let n1 = events.iter().filter(|e| starts[&e.session] == day1).count() as i64;
    assert_eq!(count(a), (2 * n0 + n1, n0));
    run_all(a, &shard::delete_days_before(day1, false));
    assert_eq!(
        count(a),
        (n0 + n1, n0),
        "collected day 0 gone, imported kept"
    );
    run_all(a, &shard::delete_days_before(day1, true));
    assert_eq!(count(a), (n1, 0));
    let stats: shard::ShardStats = first(a, &shard::stats()).unwrap();
    assert_eq!((stats.events, stats.first_day), (n1, Some(day1)));
}

#[test]
fn the_fast_shard_forms_answer_as_the_view_does() {
    let (_, layout) = layouts();
    for filters in filter_sets() {
        for scope in scopes(&filters) {
            let label = format!("{:?} {}", scope.filters, scope.from_ms);
            for db in &layout.stores[..2] {
                let same_row = |view: Sql, fast: Sql, what: &str| {
                    assert_ne!(view.text, fast.text, "{what}: the fast form is used");
                    let fast = checked(fast);
                    let a: Vec<serde_json::Value> = all(db, &view);
                    let b: Vec<serde_json::Value> = all(db, &fast);
                    assert_eq!(a, b, "{what} {label}");
                };
                same_row(
                    query::totals_raw(&scope),
                    shard::fast::totals(&scope),
                    "totals",
                );
                if !scope.filters.is_empty() {
                    same_row(query::hourly(&scope), shard::fast::hourly(&scope), "hourly");
                    for goal in goals() {
                        same_row(
                            query::goal(&scope, &goal),
                            shard::fast::goal(&scope, &goal),
                            "goal",
                        );
                        same_row(
                            query::goal_revenue_raw(&scope, &goal),
                            shard::fast::goal_revenue(&scope, &goal),
                            "revenue",
                        );
                    }
                }
                for dim in Dimension::BREAKDOWNS {
                    if dim != Dimension::Bots {
                        same_row(
                            query::breakdown_part(&scope, dim, SHARD_BREAKDOWN_ROWS),
                            shard::fast::breakdown(&scope, dim, SHARD_BREAKDOWN_ROWS),
                            dim.as_str(),
                        );
                    }
                }
            }
        }
    }
}
