//! Metering (`migrations/0017_apps.sql`): per site or app, UTC month and source, what reached
//! Vigia, what was stored and what was refused — the basis for pay-per-use.

use crate::binds;
use crate::store::Sql;

pub use api_types::apps::{MeterRow, MeterSource, Metering};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{all, migrated, run};
    use serde::Deserialize;

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
}
