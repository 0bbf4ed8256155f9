//! Goals (a custom event or a page) and funnels (ordered steps): what a request may define,
//! and how their stats are computed from the counts the queries in `query.rs` return. Their
//! definitions are stored by `store::goals`.

use serde::Deserialize;

use crate::error::ApiError;
use crate::stats::query::{percent, RevenueRow};
use crate::stats::rollup::Dimension;
use api_types::goals::{FunnelStep, GoalStat, NewFunnel};

pub use api_types::goals::GoalKind;
/// What a goal (or a funnel step) is reached by.
pub use api_types::goals::Step as Goal;

/// Most goals a site may define.
pub const MAX_GOALS: usize = 50;
/// Fewest and most steps in a funnel.
pub const MIN_FUNNEL_STEPS: usize = 2;
pub const MAX_FUNNEL_STEPS: usize = 8;
/// Most funnels a site may define.
pub const MAX_FUNNELS: usize = 20;
/// Longest funnel name.
pub const MAX_FUNNEL_NAME_BYTES: usize = 120;

/// The rollup dimension that counts a goal's kind.
pub fn goal_dimension(kind: GoalKind) -> Dimension {
    match kind {
        GoalKind::Page => Dimension::Page,
        GoalKind::Event => Dimension::Event,
    }
}

/// A goal or a step as a request carries it, its kind still text: an unknown kind answers
/// `bad_goal` with the message below, not the JSON reader's `bad_json`.
#[derive(Debug, Clone, Deserialize)]
pub struct GoalInput {
    pub kind: String,
    pub value: String,
}

impl GoalInput {
    /// The goal, if its kind is known and its value fits it.
    pub fn check(self) -> Result<Goal, ApiError> {
        let bad = |message: &str| ApiError::bad_request("bad_goal", message.to_string());
        let kind = GoalKind::parse(&self.kind)
            .ok_or_else(|| bad("a goal's kind is event (a custom event name) or page (a path)"))?;
        if self.value.is_empty() || self.value.len() > crate::limits::MAX_URL_BYTES {
            return Err(bad(
                "a goal needs a value (event name or path) of at most 2048 bytes",
            ));
        }
        if kind == GoalKind::Page && !self.value.starts_with('/') {
            return Err(bad("a page goal is a path starting with /"));
        }
        Ok(Goal {
            kind,
            value: self.value,
        })
    }
}

/// The body of a new funnel, as a request carries it.
#[derive(Debug, Clone, Deserialize)]
pub struct FunnelInput {
    pub name: String,
    pub steps: Vec<GoalInput>,
}

impl FunnelInput {
    /// The funnel (its name trimmed), if its name and steps are acceptable.
    pub fn check(self) -> Result<NewFunnel, ApiError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > MAX_FUNNEL_NAME_BYTES {
            return Err(ApiError::bad_request(
                "bad_funnel",
                format!("a funnel needs a name of 1-{MAX_FUNNEL_NAME_BYTES} bytes"),
            ));
        }
        Ok(NewFunnel {
            name: name.to_string(),
            steps: check_funnel(self.steps)?,
        })
    }
}

/// A funnel's steps, if there are `MIN_FUNNEL_STEPS` to `MAX_FUNNEL_STEPS` good ones.
pub fn check_funnel(steps: Vec<GoalInput>) -> Result<Vec<Goal>, ApiError> {
    if steps.len() < MIN_FUNNEL_STEPS || steps.len() > MAX_FUNNEL_STEPS {
        return Err(ApiError::bad_request(
            "bad_funnel",
            format!("a funnel has {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps"),
        ));
    }
    steps.into_iter().map(GoalInput::check).collect()
}

/// Refuses one goal or funnel more than a site may have.
pub fn check_room(existing: usize, what: Defined) -> Result<(), ApiError> {
    let (max, error, noun) = match what {
        Defined::Goals => (MAX_GOALS, "too_many_goals", "goals"),
        Defined::Funnels => (MAX_FUNNELS, "too_many_funnels", "funnels"),
    };
    if existing >= max {
        return Err(ApiError::bad_request(
            error,
            format!("a site may have at most {max} {noun}"),
        ));
    }
    Ok(())
}

/// What [`check_room`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defined {
    Goals,
    Funnels,
}

/// A goal's converting visitors and completions in a period (one row of `query::goal`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Conversions {
    pub visitors: i64,
    pub conversions: i64,
}

/// A goal's stats: its conversions, their rate among `total_visitors`, and its revenue.
pub fn goal_stat(
    goal: &api_types::goals::Goal,
    conversions: Conversions,
    total_visitors: i64,
    revenue: &[RevenueRow],
) -> GoalStat {
    GoalStat {
        conversion_rate: percent(conversions.visitors, total_visitors),
        conversions: conversions.conversions,
        id: goal.id,
        kind: goal.kind,
        revenue: revenue.iter().map(RevenueRow::revenue).collect(),
        value: goal.value.clone(),
        visitors: conversions.visitors,
    }
}

/// Visits that reached a funnel step (one row of `query::funnel`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct StepCount {
    pub step: i64,
    pub visits: i64,
}

/// Each step's visits, conversion from the first step and drop-off from the previous one.
pub fn funnel_steps(steps: &[Goal], counts: &[StepCount]) -> Vec<FunnelStep> {
    let first = counts.first().map(|s| s.visits).unwrap_or(0);
    let mut previous = first;
    steps
        .iter()
        .zip(counts)
        .map(|(step, count)| {
            let out = FunnelStep {
                conversion_rate: percent(count.visits, first),
                dropoff: previous - count.visits,
                dropoff_rate: 100.0 - percent(count.visits, previous).min(100.0),
                kind: step.kind,
                step: count.step,
                value: step.value.clone(),
                visits: count.visits,
            };
            previous = count.visits;
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: &str, value: &str) -> GoalInput {
        GoalInput {
            kind: kind.into(),
            value: value.into(),
        }
    }

    #[test]
    fn goals_and_funnels_are_checked() {
        let refused = |i: GoalInput| i.check().unwrap_err();
        assert_eq!(refused(input("page", "pricing")).error, "bad_goal");
        let unknown = refused(input("click", "x"));
        assert_eq!(
            (unknown.status, unknown.error, unknown.message.as_str()),
            (
                400,
                "bad_goal",
                "a goal's kind is event (a custom event name) or page (a path)"
            )
        );
        assert_eq!(refused(input("event", "")).error, "bad_goal");
        assert_eq!(
            input("page", "/thanks").check().unwrap(),
            Goal {
                kind: GoalKind::Page,
                value: "/thanks".into()
            }
        );
        let one = vec![input("event", "x")];
        assert_eq!(check_funnel(one).unwrap_err().error, "bad_funnel");
        let unnamed = FunnelInput {
            name: "  ".into(),
            steps: vec![input("event", "x"), input("page", "/")],
        };
        assert_eq!(unnamed.check().unwrap_err().error, "bad_funnel");
        let named = FunnelInput {
            name: " Signup ".into(),
            steps: vec![input("page", "/"), input("event", "x")],
        };
        let funnel = named.check().unwrap();
        assert_eq!((funnel.name.as_str(), funnel.steps.len()), ("Signup", 2));
        assert!(check_room(MAX_GOALS - 1, Defined::Goals).is_ok());
        let full = check_room(MAX_FUNNELS, Defined::Funnels).unwrap_err();
        assert_eq!(
            (full.error, full.message.as_str()),
            ("too_many_funnels", "a site may have at most 20 funnels")
        );
    }

    #[test]
    fn funnel_steps_convert_from_the_first_and_drop_from_the_previous() {
        let steps = [
            Goal {
                kind: GoalKind::Page,
                value: "/".into(),
            },
            Goal {
                kind: GoalKind::Event,
                value: "buy".into(),
            },
        ];
        let counts = [
            StepCount { step: 1, visits: 8 },
            StepCount { step: 2, visits: 2 },
        ];
        let out = funnel_steps(&steps, &counts);
        assert_eq!(
            (out[0].conversion_rate, out[0].dropoff, out[0].dropoff_rate),
            (100.0, 0, 0.0)
        );
        assert_eq!(
            (out[1].conversion_rate, out[1].dropoff, out[1].dropoff_rate),
            (25.0, 6, 75.0)
        );
        let stat = goal_stat(
            &api_types::goals::Goal {
                id: 3,
                kind: GoalKind::Event,
                value: "buy".into(),
            },
            Conversions {
                visitors: 1,
                conversions: 4,
            },
            3,
            &[],
        );
        assert_eq!((stat.conversion_rate, stat.conversions), (33.3, 4));
    }
}
