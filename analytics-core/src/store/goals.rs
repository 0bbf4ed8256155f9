//! A site's goals and funnels (`goals`, `funnels`): listed, created and deleted. A funnel's
//! steps are stored as the JSON text of its `Step`s.

use serde::Deserialize;

use super::Sql;
use crate::binds;
use crate::stats::goals::Goal;
use api_types::goals::{Funnel, Step};

/// A stored goal (`api_types::goals::Goal`: id, kind, value).
pub type GoalRow = api_types::goals::Goal;

/// A site's goals, oldest first.
pub fn goals_of(site: &str) -> Sql {
    Sql::new(
        "SELECT id, kind, value FROM goals WHERE site_id = ?1 ORDER BY id",
        binds![site],
    )
}

/// The new goal's id; no row when the site has this goal already.
pub fn insert_goal(site: &str, goal: &Goal, now_ms: i64) -> Sql {
    Sql::new(
        "INSERT INTO goals (site_id, kind, value, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT DO NOTHING RETURNING id",
        binds![site, goal.kind.as_str(), goal.value.as_str(), now_ms],
    )
}

/// The deleted goal's id; no row when the site has no such goal.
pub fn delete_goal(site: &str, id: i64) -> Sql {
    Sql::new(
        "DELETE FROM goals WHERE id = ?1 AND site_id = ?2 RETURNING id",
        binds![id, site],
    )
}

/// The id a statement returned (`RETURNING id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct IdRow {
    pub id: i64,
}

/// A stored funnel, its steps still JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FunnelRow {
    pub id: i64,
    pub name: String,
    pub steps: String,
}

impl FunnelRow {
    /// The steps as stored.
    pub fn steps(&self) -> Result<Vec<Step>, serde_json::Error> {
        serde_json::from_str(&self.steps)
    }

    /// The funnel as listed: steps that cannot be read (never written so by this code) list
    /// as none.
    pub fn funnel(&self) -> Funnel {
        Funnel {
            id: self.id,
            name: self.name.clone(),
            steps: self.steps().unwrap_or_default(),
        }
    }
}

/// A site's funnels, oldest first.
pub fn funnels_of(site: &str) -> Sql {
    Sql::new(
        "SELECT id, name, steps FROM funnels WHERE site_id = ?1 ORDER BY id",
        binds![site],
    )
}

/// The steps as stored: the JSON text of the list.
pub fn steps_text(steps: &[Step]) -> String {
    serde_json::to_string(steps).unwrap_or_default()
}

/// The new funnel's id.
pub fn insert_funnel(site: &str, name: &str, steps: &[Step], now_ms: i64) -> Sql {
    Sql::new(
        "INSERT INTO funnels (site_id, name, steps, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        binds![site, name, steps_text(steps), now_ms],
    )
}

/// The deleted funnel's id; no row when the site has no such funnel.
pub fn delete_funnel(site: &str, id: i64) -> Sql {
    Sql::new(
        "DELETE FROM funnels WHERE id = ?1 AND site_id = ?2 RETURNING id",
        binds![id, site],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::goals::GoalKind;
    use crate::store::sqlite::{all, first, migrated};

    fn site(db: &rusqlite::Connection, id: &str) {
        db.execute(
            "INSERT INTO sites (id, name, timezone, created_at) VALUES (?1, ?1, 'UTC', 0)",
            [id],
        )
        .expect("site");
    }

    fn page(value: &str) -> Goal {
        Goal {
            kind: GoalKind::Page,
            value: value.into(),
        }
    }

    #[test]
    fn goals_are_listed_once_each_and_deleted_per_site() {
        let db = migrated();
        site(&db, "a");
        site(&db, "b");
        let signup = Goal {
            kind: GoalKind::Event,
            value: "Signup".into(),
        };
        let id = first::<IdRow>(&db, &insert_goal("a", &signup, 5))
            .unwrap()
            .id;
        assert!(
            first::<IdRow>(&db, &insert_goal("a", &signup, 6)).is_none(),
            "the same goal twice"
        );
        first::<IdRow>(&db, &insert_goal("a", &page("/thanks"), 7)).unwrap();
        let goals: Vec<GoalRow> = all(&db, &goals_of("a"));
        assert_eq!(
            goals
                .iter()
                .map(|g| (g.kind, g.value.as_str()))
                .collect::<Vec<_>>(),
            [(GoalKind::Event, "Signup"), (GoalKind::Page, "/thanks")]
        );
        assert!(all::<GoalRow>(&db, &goals_of("b")).is_empty());
        assert!(
            first::<IdRow>(&db, &delete_goal("b", id)).is_none(),
            "not b's"
        );
        assert_eq!(
            first::<IdRow>(&db, &delete_goal("a", id)),
            Some(IdRow { id })
        );
        assert_eq!(all::<GoalRow>(&db, &goals_of("a")).len(), 1);
    }

    #[test]
    fn funnels_keep_their_steps_in_order() {
        let db = migrated();
        site(&db, "a");
        let steps = [
            page("/"),
            Goal {
                kind: GoalKind::Event,
                value: "buy".into(),
            },
        ];
        let id = first::<IdRow>(&db, &insert_funnel("a", "Checkout", &steps, 9))
            .unwrap()
            .id;
        let rows: Vec<FunnelRow> = all(&db, &funnels_of("a"));
        assert_eq!(
            rows[0].steps,
            r#"[{"kind":"page","value":"/"},{"kind":"event","value":"buy"}]"#
        );
        assert_eq!(rows[0].funnel().steps, steps);
        assert_eq!(rows[0].funnel().name, "Checkout");
        assert!(first::<IdRow>(&db, &delete_funnel("b", id)).is_none());
        assert!(first::<IdRow>(&db, &delete_funnel("a", id)).is_some());
        assert!(all::<FunnelRow>(&db, &funnels_of("a")).is_empty());
    }
}
