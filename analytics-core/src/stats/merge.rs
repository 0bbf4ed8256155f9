//! Merging the partial answers of several stores (D1's hot events and the cold shards of the
//! range) to one stats query. Every sum is exact: unique visitors are counted per UTC day
//! (`day || ':' || visitor`, the hash rotating daily), and all visits that started on one UTC
//! day live in exactly one store, with every event they have, so no (day, visitor) pair is
//! counted in two stores. A visit crossing midnight keeps yesterday's hash, which no visit
//! starting after midnight uses.

use std::collections::BTreeMap;

use crate::stats::bot_stats::{BotTotals, Counted};
use crate::stats::goals::{Conversions, StepCount};
use crate::stats::period::HourRow;
use crate::stats::query::{MetricsRow, RevenueRow};

/// How many groups each store returns for a breakdown (its `limit`). The merged top N is exact
/// when no store had more groups than this (see [`Breakdown::exact`]).
pub const SHARD_BREAKDOWN_ROWS: u32 = 1_000;

/// Sums the stores' totals.
pub fn totals(parts: &[MetricsRow]) -> MetricsRow {
    parts.iter().fold(MetricsRow::default(), |mut sum, p| {
        add(&mut sum, p);
        sum
    })
}

fn add(sum: &mut MetricsRow, p: &MetricsRow) {
    sum.visitors += p.visitors;
    sum.pageviews += p.pageviews;
    sum.visits += p.visits;
    sum.bounces += p.bounces;
    sum.duration_ms += p.duration_ms;
    sum.engaged_ms += p.engaged_ms;
    sum.events += p.events;
}

/// Sums the stores' hourly rows hour by hour, in time order.
pub fn hourly(parts: &[Vec<HourRow>]) -> Vec<HourRow> {
    let mut by_hour: BTreeMap<i64, HourRow> = BTreeMap::new();
    for row in parts.iter().flatten() {
        let sum = by_hour.entry(row.t).or_insert(HourRow {
            t: row.t,
            pageviews: 0,
            visitors: 0,
            hour_visitors: 0,
        });
        sum.pageviews += row.pageviews;
        sum.visitors += row.visitors;
        sum.hour_visitors += row.hour_visitors;
    }
    by_hour.into_values().collect()
}

/// A merged breakdown: its rows, and whether they are surely the true top rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakdown {
    pub rows: Vec<MetricsRow>,
    /// False when some store returned a full `per_store_limit` rows: a group it left out could
    /// have summed into the top.
    pub exact: bool,
}

/// Sums the stores' rows (`query::breakdown_part`) value by value, orders them as `stats::query` does (visitors, visits,
/// page views, events, all descending, then the value) and keeps `limit`. `per_store_limit`
/// is the limit each store was asked for (normally [`SHARD_BREAKDOWN_ROWS`]).
pub fn breakdown(parts: &[Vec<MetricsRow>], per_store_limit: u32, limit: u32) -> Breakdown {
    let mut by_value: BTreeMap<&str, MetricsRow> = BTreeMap::new();
    for row in parts.iter().flatten() {
        let sum = by_value
            .entry(row.value.as_str())
            .or_insert_with(|| MetricsRow {
                value: row.value.clone(),
                ..Default::default()
            });
        add(sum, row);
    }
    // A page with engaged time but no page view in any store is no row (`breakdown_part`).
    let mut rows: Vec<MetricsRow> = by_value
        .into_values()
        .filter(|r| r.visitors + r.pageviews + r.visits + r.events > 0)
        .collect();
    rows.sort_by(|a, b| {
        (b.visitors, b.visits, b.pageviews, b.events)
            .cmp(&(a.visitors, a.visits, a.pageviews, a.events))
            .then_with(|| a.value.as_bytes().cmp(b.value.as_bytes()))
    });
    rows.truncate(limit as usize);
    Breakdown {
        rows,
        exact: parts.iter().all(|p| p.len() < per_store_limit as usize),
    }
}

/// Sums a goal's converting visitors and completions.
pub fn goal(parts: &[Conversions]) -> Conversions {
    parts
        .iter()
        .fold(Conversions::default(), |sum, p| Conversions {
            visitors: sum.visitors + p.visitors,
            conversions: sum.conversions + p.conversions,
        })
}

/// Sums a goal's revenue per currency (whole units and the micro-unit rest kept apart, as
/// each store answers them), ordered by currency.
pub fn revenue(parts: &[Vec<RevenueRow>]) -> Vec<RevenueRow> {
    let mut by_currency: BTreeMap<&str, RevenueRow> = BTreeMap::new();
    for row in parts.iter().flatten() {
        let sum = by_currency
            .entry(row.currency.as_str())
            .or_insert_with(|| RevenueRow {
                currency: row.currency.clone(),
                ..Default::default()
            });
        sum.units += row.units;
        sum.micros += row.micros;
    }
    by_currency.into_values().collect()
}

/// Sums a funnel's visits step by step (a visit, like its events, lives in one store).
pub fn funnel(parts: &[Vec<StepCount>]) -> Vec<StepCount> {
    let mut by_step: BTreeMap<i64, i64> = BTreeMap::new();
    for row in parts.iter().flatten() {
        *by_step.entry(row.step).or_default() += row.visits;
    }
    by_step
        .into_iter()
        .map(|(step, visits)| StepCount { step, visits })
        .collect()
}

/// Sums the stores' bot totals (visitor hashes rotate daily and a day lives in one store).
pub fn bot_totals(parts: &[BotTotals]) -> BotTotals {
    parts.iter().fold(BotTotals::default(), |sum, p| BotTotals {
        events: sum.events + p.events,
        visitors: sum.visitors + p.visitors,
    })
}

/// Sums labelled counts (bot reasons, user-agent families) label by label, most first, and
/// keeps `limit`.
pub fn counted(parts: &[Vec<Counted>], limit: u32) -> Vec<Counted> {
    let mut by_value: BTreeMap<&str, i64> = BTreeMap::new();
    for row in parts.iter().flatten() {
        *by_value.entry(row.value.as_str()).or_default() += row.events;
    }
    let mut rows: Vec<Counted> = by_value
        .into_iter()
        .map(|(value, events)| Counted {
            events,
            value: value.to_string(),
        })
        .collect();
    rows.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.value.cmp(&b.value)));
    rows.truncate(limit as usize);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: &str, visitors: i64, visits: i64) -> MetricsRow {
        MetricsRow {
            value: value.into(),
            visitors,
            visits,
            pageviews: visits,
            ..Default::default()
        }
    }

    #[test]
    fn breakdowns_sum_by_value_and_order_as_the_sql_does() {
        let merged = breakdown(
            &[
                vec![row("b", 3, 3), row("a", 1, 1)],
                vec![row("a", 2, 5), row("c", 3, 3)],
            ],
            10,
            2,
        );
        assert_eq!(merged.rows, [row("a", 3, 6), row("b", 3, 3)]);
        assert!(merged.exact);
        let full = breakdown(&[vec![row("a", 1, 1), row("b", 1, 1)]], 2, 1);
        assert!(!full.exact, "a store filled its limit");
    }

    #[test]
    fn hours_and_steps_sum_in_order() {
        let h = |t, pv| HourRow {
            t,
            pageviews: pv,
            visitors: 1,
            hour_visitors: 1,
        };
        let merged = hourly(&[vec![h(7, 1), h(3, 2)], vec![h(3, 5)]]);
        assert_eq!(
            merged,
            [h(3, 7), h(7, 1)].map(|mut r| {
                r.visitors = if r.t == 3 { 2 } else { 1 };
                r.hour_visitors = r.visitors;
                r
            })
        );
        let s = |step, visits| StepCount { step, visits };
        assert_eq!(
            funnel(&[vec![s(1, 4), s(2, 1)], vec![s(1, 1), s(2, 1)]]),
            [s(1, 5), s(2, 2)]
        );
    }

    #[test]
    fn revenue_sums_per_currency_exactly() {
        let r = |c: &str, units, micros| RevenueRow {
            currency: c.into(),
            units,
            micros,
        };
        let merged = revenue(&[
            vec![r("USD", 1, 999_999)],
            vec![r("EUR", 2, 0), r("USD", 0, 1)],
        ]);
        assert_eq!(merged, [r("EUR", 2, 0), r("USD", 1, 1_000_000)]);
        assert_eq!(merged[1].total_micros(), 2_000_000);
    }

    #[test]
    fn bot_counts_sum_label_by_label_and_keep_the_top() {
        let c = |value: &str, events| Counted {
            value: value.into(),
            events,
        };
        let merged = counted(&[vec![c("a", 3), c("b", 2)], vec![c("b", 2), c("c", 1)]], 2);
        assert_eq!(merged, [c("b", 4), c("a", 3)]);
        let t = bot_totals(&[
            BotTotals {
                events: 2,
                visitors: 1,
            },
            BotTotals {
                events: 5,
                visitors: 3,
            },
        ]);
        assert_eq!((t.events, t.visitors), (7, 4));
    }
}
