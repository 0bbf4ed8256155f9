//! Metering (`migrations/0017_apps.sql`): per site or app, UTC month and source, what reached
//! Vigia, what was stored and what was refused — the basis for pay-per-use.

use crate::binds;
use crate::error::ApiError;
use crate::store::Sql;
use serde::Deserialize;

pub use api_types::apps::{MeterRow, MeterSource, Metering};

/// The most rows one metering answer lists (newest months first). Three sources per site and
/// month: 10,000 rows are 3,333 site-months, more than any one month of an instance has.
pub const MAX_METERING_ROWS: i64 = 10_000;

/// What one request (or one flush) adds to a month's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeterDelta {
    pub received: i64,
    pub stored: i64,
    pub refused: i64,
}

impl MeterDelta {
    pub fn is_empty(self) -> bool {
        self.received == 0 && self.stored == 0 && self.refused == 0
    }
}

/// The UTC month (`YYYY-MM`) of `ms`: the metering period.
pub fn month_of(ms: i64) -> String {
    crate::store::seal::shard_period(ms)
}

/// Adds `delta` to the site's counters of the month holding `now_ms`.
pub fn add(site_key: i64, now_ms: i64, source: MeterSource, delta: MeterDelta) -> Sql {
    Sql::new(
        "INSERT INTO metering (site_key, month, source, received, stored, refused) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (site_key, month, source) DO UPDATE SET \
         received = received + excluded.received, stored = stored + excluded.stored, \
         refused = refused + excluded.refused",
        binds![
            site_key,
            month_of(now_ms),
            source.as_str(),
            delta.received,
            delta.stored,
            delta.refused
        ],
    )
}

/// Adds `delta` to the month `month` (`YYYY-MM`) of the site that now has the public id
/// `site_id`, through its internal key; nothing when no site has that id (it was deleted: its
/// counts went with it). The buffer's flush and the activity route use this one: they know the
/// public id, and the statement rides in a D1 batch that is written whole or not at all.
pub fn add_for_site_id(site_id: &str, month: &str, source: MeterSource, delta: MeterDelta) -> Sql {
    Sql::new(
        "INSERT INTO metering (site_key, month, source, received, stored, refused) \
         SELECT site_key, ?2, ?3, ?4, ?5, ?6 FROM sites WHERE id = ?1 AND site_key IS NOT NULL \
         ON CONFLICT (site_key, month, source) DO UPDATE SET \
         received = received + excluded.received, stored = stored + excluded.stored, \
         refused = refused + excluded.refused",
        binds![
            site_id,
            month,
            source.as_str(),
            delta.received,
            delta.stored,
            delta.refused
        ],
    )
}

/// How many records an activity body that was refused as bad carried, for its metering: the
/// length of `records` in a batch, 1 for any other JSON object (one record), 0 for what is not
/// JSON (there is no telling how many records it meant).
pub fn activity_records_sent(body: &[u8]) -> i64 {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(o)) => match o.get("records") {
            Some(serde_json::Value::Array(records)) => records.len() as i64,
            _ => 1,
        },
        _ => 0,
    }
}

/// Reads `?month=`: `YYYY-MM` with a month 01–12, or absent (every month kept).
pub fn parse_month(text: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let valid = b.len() == 7
        && b[4] == b'-'
        && digits(0..4)
        && digits(5..7)
        && matches!(text[5..7].parse::<u8>(), Ok(1..=12));
    if !valid {
        return Err(ApiError::bad_request(
            "bad_month",
            format!("month {text:?} is not YYYY-MM"),
        ));
    }
    Ok(Some(text.to_string()))
}

/// A metering row as SQLite returns it (the flag as 0/1).
#[derive(Debug, Deserialize)]
pub struct MeterRowSql {
    pub site: String,
    pub month: String,
    pub source: MeterSource,
    pub received: i64,
    pub stored: i64,
    pub refused: i64,
    #[serde(deserialize_with = "super::int_bool")]
    pub deleted: bool,
}

impl From<MeterRowSql> for MeterRow {
    fn from(r: MeterRowSql) -> MeterRow {
        MeterRow {
            site: r.site,
            month: r.month,
            source: r.source,
            received: r.received,
            stored: r.stored,
            refused: r.refused,
            deleted: r.deleted,
        }
    }
}

/// Every site's rows (deleted sites too, under the id their key was given to, flagged
/// `deleted`), of one month or of every month, newest month first, at most
/// [`MAX_METERING_ROWS`].
pub fn instance(month: Option<&str>) -> Sql {
    Sql::new(
        "SELECT COALESCE(k.id, '#' || m.site_key) AS site, m.month, m.source, m.received, \
         m.stored, m.refused, (k.deleted_at IS NOT NULL) AS deleted \
         FROM metering m LEFT JOIN site_keys k ON k.site_key = m.site_key \
         WHERE ?1 IS NULL OR m.month = ?1 \
         ORDER BY m.month DESC, site, m.site_key DESC, m.source LIMIT ?2",
        binds![month, MAX_METERING_ROWS],
    )
}

/// One site's rows: only the site that has the id now (a deleted site of the same id is not
/// its history), of one month or of every month, newest month first.
pub fn site(site_id: &str, month: Option<&str>) -> Sql {
    Sql::new(
        "SELECT s.id AS site, m.month, m.source, m.received, m.stored, m.refused, 0 AS deleted \
         FROM sites s JOIN metering m ON m.site_key = s.site_key \
         WHERE s.id = ?1 AND (?2 IS NULL OR m.month = ?2) \
         ORDER BY m.month DESC, m.source LIMIT ?3",
        binds![site_id, month, MAX_METERING_ROWS],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{all, migrated, run};

    #[derive(Debug, PartialEq, Deserialize)]
    struct Row {
        month: String,
        source: MeterSource,
        received: i64,
        stored: i64,
        refused: i64,
    }

    #[test]
    fn deltas_add_up_per_month_and_source() {
        let db = migrated();
        let dec = 1_764_547_200_000; // 2025-12-01T00:00Z
        let d = MeterDelta {
            received: 5,
            stored: 4,
            refused: 1,
        };
        run(&db, &add(7, dec, MeterSource::App, d));
        run(&db, &add(7, dec + 1000, MeterSource::App, d));
        run(&db, &add(7, dec - 1, MeterSource::App, d));
        run(&db, &add(7, dec, MeterSource::Events, d));
        run(&db, &add(8, dec, MeterSource::Events, d));
        let rows: Vec<Row> = all(
            &db,
            &Sql::new(
                "SELECT month, source, received, stored, refused FROM metering \
                 WHERE site_key = 7 ORDER BY month, source",
                vec![],
            ),
        );
        let row = |month: &str, source, n| Row {
            month: month.into(),
            source,
            received: 5 * n,
            stored: 4 * n,
            refused: n,
        };
        assert_eq!(
            rows,
            vec![
                row("2025-11", MeterSource::App, 1),
                row("2025-12", MeterSource::App, 2),
                row("2025-12", MeterSource::Events, 1),
            ]
        );
    }

    fn new_site(db: &rusqlite::Connection, id: &str) {
        run(
            db,
            &Sql::new(
                "INSERT INTO sites (id, name, timezone, created_at) VALUES (?1, ?1, 'UTC', 0)",
                binds![id],
            ),
        );
    }

    fn rows(db: &rusqlite::Connection, sql: &Sql) -> Vec<(String, String, MeterSource, i64, bool)> {
        all::<MeterRowSql>(db, sql)
            .into_iter()
            .map(MeterRow::from)
            .map(|r| (r.site, r.month, r.source, r.received, r.deleted))
            .collect()
    }

    #[test]
    fn counts_follow_the_site_key_so_a_recreated_id_starts_from_nothing() {
        let db = migrated();
        let d = |n| MeterDelta {
            received: n,
            stored: n,
            refused: 0,
        };
        new_site(&db, "shop");
        new_site(&db, "blog");
        run(
            &db,
            &add_for_site_id("shop", "2025-12", MeterSource::Events, d(3)),
        );
        run(
            &db,
            &add_for_site_id("shop", "2025-12", MeterSource::Events, d(2)),
        );
        run(
            &db,
            &add_for_site_id("blog", "2025-11", MeterSource::Activity, d(1)),
        );
        // No site has this id: nothing is written (and nothing fails).
        run(
            &db,
            &add_for_site_id("gone", "2025-12", MeterSource::Events, d(9)),
        );
        run(&db, &Sql::new("DELETE FROM sites WHERE id = 'shop'", []));
        new_site(&db, "shop");
        run(
            &db,
            &add_for_site_id("shop", "2025-12", MeterSource::Events, d(7)),
        );
        let ev = MeterSource::Events;
        assert_eq!(
            rows(&db, &instance(None)),
            vec![
                ("shop".into(), "2025-12".into(), ev, 7, false),
                ("shop".into(), "2025-12".into(), ev, 5, true),
                (
                    "blog".into(),
                    "2025-11".into(),
                    MeterSource::Activity,
                    1,
                    false
                ),
            ]
        );
        assert_eq!(rows(&db, &instance(Some("2025-11"))).len(), 1);
        assert_eq!(
            rows(&db, &site("shop", None)),
            vec![("shop".into(), "2025-12".into(), ev, 7, false)],
            "the new shop does not read the deleted one's counts"
        );
        assert!(rows(&db, &site("shop", Some("2025-11"))).is_empty());
        assert!(rows(&db, &site("gone", None)).is_empty());
    }

    #[test]
    fn an_answer_lists_at_most_max_metering_rows() {
        let db = migrated();
        new_site(&db, "big");
        let one = MeterDelta {
            received: 1,
            ..Default::default()
        };
        // MAX_METERING_ROWS + 1 distinct months (one source each).
        for i in 0..=MAX_METERING_ROWS {
            let month = format!("{:04}-{:02}", 1000 + i / 12, i % 12 + 1);
            run(
                &db,
                &add_for_site_id("big", &month, MeterSource::Events, one),
            );
        }
        assert_eq!(
            all::<MeterRowSql>(&db, &instance(None)).len() as i64,
            MAX_METERING_ROWS
        );
        let newest = &all::<MeterRowSql>(&db, &site("big", None))[0];
        assert_eq!(newest.month, "1833-05", "newest first");
    }

    #[test]
    fn a_month_is_yyyy_mm_or_absent() {
        assert_eq!(parse_month(None).unwrap(), None);
        assert_eq!(parse_month(Some("")).unwrap(), None);
        assert_eq!(
            parse_month(Some("2026-12")).unwrap().as_deref(),
            Some("2026-12")
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-12",
            "2026/12",
            "2026-12-01",
            "２０２６-12",
        ] {
            let e = parse_month(Some(bad)).unwrap_err();
            assert_eq!((e.status, e.error), (400, "bad_month"), "{bad}");
        }
    }

    #[test]
    fn a_bad_activity_body_counts_the_records_it_carried() {
        assert_eq!(
            activity_records_sent(br#"{"records":[{},{},{"type":"x"}]}"#),
            3
        );
        assert_eq!(activity_records_sent(br#"{"type":"nope"}"#), 1);
        assert_eq!(activity_records_sent(br#"{"records":"x"}"#), 1);
        assert_eq!(activity_records_sent(b"[1,2]"), 0);
        assert_eq!(activity_records_sent(b"not json"), 0);
    }
}
