//! The Bots view's SQL: how many events of a site and period were flagged as bots, why (the
//! stored `bot_reason`), which user-agent families sent them (the `browser` column), and how
//! many events were dropped on purpose (`dropped_events`, e.g. referrer spam).

use serde::Deserialize;

use crate::stats::query::Sql;
use crate::store::events::SqlValue;

/// A label and its events: the rows of `reasons`, `user_agents` and `dropped`.
pub use api_types::stats::Counted;

/// What `totals` reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct BotTotals {
    pub events: i64,
    pub visitors: i64,
}

/// Rows of each top list the Bots view answers.
pub const BOT_TOP_ROWS: u32 = 10;

/// The label the API gives bots flagged before reasons were recorded (stored `bot_reason` '').
pub const UNRECORDED_REASON: &str = "unrecorded";

fn binds(site: &str, from_ms: i64, to_ms: i64) -> Vec<SqlValue> {
    vec![
        SqlValue::Text(site.into()),
        SqlValue::Int(from_ms),
        SqlValue::Int(to_ms),
    ]
}

/// [`BotTotals`]: bot events in [from, to) and the distinct (daily) visitor hashes.
pub fn totals(site: &str, from_ms: i64, to_ms: i64) -> Sql {
    Sql {
        text: "SELECT COUNT(*) AS events, COUNT(DISTINCT visitor) AS visitors FROM events \
               WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND bot = 1"
            .into(),
        binds: binds(site, from_ms, to_ms),
    }
}

/// `[{value, events}]` per stored reason, most first (`unrecorded` for rows from before).
pub fn reasons(site: &str, from_ms: i64, to_ms: i64) -> Sql {
    let mut b = binds(site, from_ms, to_ms);
    b.push(SqlValue::Text(UNRECORDED_REASON.into()));
    b.push(SqlValue::Int(BOT_TOP_ROWS as i64));
    Sql {
        text: "SELECT CASE WHEN bot_reason = '' THEN ?4 ELSE bot_reason END AS value, \
               COUNT(*) AS events FROM events \
               WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND bot = 1 \
               GROUP BY value ORDER BY events DESC, value LIMIT ?5"
            .into(),
        binds: b,
    }
}

/// `[{value, events}]` per user-agent family (the `browser` column), most first.
pub fn user_agents(site: &str, from_ms: i64, to_ms: i64) -> Sql {
    let mut b = binds(site, from_ms, to_ms);
    b.push(SqlValue::Int(BOT_TOP_ROWS as i64));
    Sql {
        text: "SELECT browser AS value, COUNT(*) AS events FROM events \
               WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND bot = 1 \
               GROUP BY browser ORDER BY events DESC, value LIMIT ?4"
            .into(),
        binds: b,
    }
}

/// `[{value, events}]` per drop reason over the UTC days from `from_day` to `to_day`
/// (inclusive; `dropped_events` counts per UTC day, so a period in another time zone is
/// rounded out to whole UTC days).
pub fn dropped(site: &str, from_day: &str, to_day: &str) -> Sql {
    Sql {
        text: "SELECT reason AS value, SUM(events) AS events FROM dropped_events \
               WHERE site_id = ?1 AND day >= ?2 AND day <= ?3 \
               GROUP BY reason ORDER BY events DESC, value"
            .into(),
        binds: vec![
            SqlValue::Text(site.into()),
            SqlValue::Text(from_day.into()),
            SqlValue::Text(to_day.into()),
        ],
    }
}

/// The UTC days a period [from, to) touches, for `dropped`.
pub fn utc_days(from_ms: i64, to_ms: i64) -> (String, String) {
    (
        crate::stats::day_of_ms(from_ms),
        crate::stats::day_of_ms((to_ms - 1).max(from_ms)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_match_binds_and_days_round_out() {
        for sql in [
            totals("s", 0, 1),
            reasons("s", 0, 1),
            user_agents("s", 0, 1),
            dropped("s", "2026-01-01", "2026-01-02"),
        ] {
            let highest = (1..=9)
                .rev()
                .find(|n| sql.text.contains(&format!("?{n}")))
                .unwrap();
            assert_eq!(highest, sql.binds.len(), "{}", sql.text);
        }
        let day = crate::stats::DAY_MS;
        assert_eq!(
            utc_days(day, 2 * day),
            ("1970-01-02".into(), "1970-01-02".into())
        );
        assert_eq!(
            utc_days(day + 5, 3 * day + 1),
            ("1970-01-02".into(), "1970-01-04".into())
        );
        assert_eq!(BOT_TOP_ROWS, 10);
    }
}
