//! Goals and funnels: their definitions (`/api/sites/{site}/goals`, `/funnels`), the bodies
//! that create them, and their stats (`/api/stats/goals`, `/api/stats/funnel`).
//!
//! Answers keep their fields in alphabetical order: they were `serde_json` maps before, which
//! write keys sorted, so the bytes on the wire stay the same.

use serde::{Deserialize, Serialize};

use crate::stats::Range;

crate::closed_set! {
    /// What a goal (or a funnel step) is reached by. The serde name is the text on the wire and
    /// in `goals.kind` and `funnels.steps`.
    pub enum GoalKind {
        /// A custom event, by name.
        Event = "event",
        /// A page view, by path.
        Page = "page",
    }
}

/// A goal or a funnel step: a custom event's name or a page's path. Also the body of
/// `POST /api/sites/{site}/goals`, and the form a funnel's steps are stored in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub kind: GoalKind,
    pub value: String,
}

/// A site's goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    pub id: i64,
    pub kind: GoalKind,
    pub value: String,
}

/// `GET /api/sites/{site}/goals`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Goals {
    pub goals: Vec<Goal>,
}

/// `POST /api/sites/{site}/funnels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFunnel {
    pub name: String,
    pub steps: Vec<Step>,
}

/// A site's funnel: ordered steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub id: i64,
    pub name: String,
    pub steps: Vec<Step>,
}

/// `GET /api/sites/{site}/funnels`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Funnels {
    pub funnels: Vec<Funnel>,
}

/// The answer of deleting a goal or a funnel: its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub deleted: i64,
}

/// One currency's revenue, never converted between currencies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Revenue {
    /// An exact decimal string ("12.50").
    pub amount: String,
    pub currency: String,
}

/// A goal's numbers in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalStat {
    /// Percent of the period's visitors, one decimal.
    pub conversion_rate: f64,
    /// Completions (every matching event).
    pub conversions: i64,
    pub id: i64,
    pub kind: GoalKind,
    /// Revenue per currency (event goals only).
    pub revenue: Vec<Revenue>,
    pub value: String,
    /// Unique converting visitors.
    pub visitors: i64,
}

/// `GET /api/stats/goals`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GoalStats {
    pub goals: Vec<GoalStat>,
    /// The period's visitors, the rates' denominator.
    pub visitors: i64,
}

/// One funnel step's numbers in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelStep {
    /// Percent of the first step's visits, one decimal.
    pub conversion_rate: f64,
    /// Visits lost since the previous step.
    pub dropoff: i64,
    pub dropoff_rate: f64,
    pub kind: GoalKind,
    /// Counted from 1.
    pub step: i64,
    pub value: String,
    pub visits: i64,
}

/// `GET /api/stats/funnel?funnel=ID`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunnelStats {
    pub id: i64,
    pub name: String,
    pub range: Range,
    pub steps: Vec<FunnelStep>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goal_kinds_keep_their_wire_names() {
        assert_eq!(GoalKind::parse("click"), None);
        let step = Step {
            kind: GoalKind::Page,
            value: "/".into(),
        };
        assert_eq!(
            serde_json::to_string(&[step]).unwrap(),
            r#"[{"kind":"page","value":"/"}]"#
        );
    }
}
