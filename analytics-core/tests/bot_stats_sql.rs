//! The Bots view's SQL over the real migrations in SQLite (D1's engine): bots counted with
//! their stored reasons (old rows without one as "unrecorded"), people and other sites left
//! out, dropped events summed per reason.

#[path = "support/sqlite.rs"]
#[allow(dead_code)]
mod sqlite;

use analytics_core::ingest::event::EnrichedEvent;
use analytics_core::stats::bot_stats;
use analytics_core::stats::query::Sql;
use rusqlite::{params_from_iter, Connection};
use sqlite::{apply_migrations, store, to_sql};

const T: i64 = 1_795_435_200_000; // 2026-11-23 12:00 UTC

fn event(id: &str, site: &str, bot: bool, reason: &str, browser: &str) -> EnrichedEvent {
    EnrichedEvent {
        id: id.into(),
        site_id: site.into(),
        ts: T,
        visitor: format!("v-{id}"),
        kind: analytics_core::ingest::event::EventKind::Pageview,
        browser: browser.into(),
        bot,
        bot_reason: reason.into(),
        props: "{}".into(),
        ..Default::default()
    }
}

fn rows(db: &Connection, sql: &Sql) -> Vec<(String, i64)> {
    let mut stmt = db.prepare(&sql.text).unwrap();
    stmt.query_map(params_from_iter(sql.binds.iter().map(to_sql)), |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn bots_are_counted_by_reason_and_family() {
    let db = Connection::open_in_memory().unwrap();
    apply_migrations(&db);
    let events = [
        event("1", "s", true, "known_crawler", "Googlebot"),
        event("2", "s", true, "known_crawler", "Googlebot"),
        event("3", "s", true, "hosting_network", "Chrome"),
        // Flagged before reasons were recorded.
        event("4", "s", true, "", "Other"),
        event("5", "s", false, "", "Firefox"),
        event("6", "other", true, "known_crawler", "Bingbot"),
    ];
    store(&db, "s", &events, &[]);
    db.execute_batch(
        "INSERT INTO dropped_events VALUES ('s', '2026-11-23', 'referrer_spam', 3);
         INSERT INTO dropped_events VALUES ('s', '2026-11-22', 'referrer_spam', 2);
         INSERT INTO dropped_events VALUES ('s', '2026-11-01', 'referrer_spam', 50);
         INSERT INTO dropped_events VALUES ('other', '2026-11-23', 'referrer_spam', 9);",
    )
    .unwrap();
    let (from, to) = (T - 2 * 86_400_000, T + 1);
    let totals = bot_stats::totals("s", from, to);
    let (events_n, visitors): (i64, i64) = db
        .query_row(
            &totals.text,
            params_from_iter(totals.binds.iter().map(to_sql)),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((events_n, visitors), (4, 4));
    assert_eq!(
        rows(&db, &bot_stats::reasons("s", from, to)),
        vec![
            ("known_crawler".into(), 2),
            ("hosting_network".into(), 1),
            (bot_stats::UNRECORDED_REASON.into(), 1)
        ]
    );
    assert_eq!(
        rows(&db, &bot_stats::user_agents("s", from, to)),
        vec![
            ("Googlebot".into(), 2),
            ("Chrome".into(), 1),
            ("Other".into(), 1)
        ]
    );
    let (d1, d2) = bot_stats::utc_days(from, to);
    assert_eq!(
        rows(&db, &bot_stats::dropped("s", &d1, &d2)),
        vec![("referrer_spam".into(), 5)]
    );
}
