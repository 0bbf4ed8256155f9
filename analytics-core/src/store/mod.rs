//! SQL the Worker and the Durable Object buffer run, with the row types it reads, kept here so
//! every statement is tested against SQLite over the real migrations.
//!
//! One conversion, both ways, for every database this code talks to (D1, a Durable Object's
//! SQLite, rusqlite in tests): values are bound as [`SqlValue`] — integers as `i64`, never as
//! a float — and rows are read by serde into row types whose numbers are `i64` and whose
//! flags are `bool` through [`int_bool`]. The Worker's `db` module and the tests' runner
//! ([`sqlite`], feature `sqlite`, for tests and benches) are the only places that turn these into a driver's own types.

pub mod accounts;
pub mod activity;
pub mod alerts;
pub mod app_stats;
pub mod apps;
pub mod audit;
pub mod buffer;
pub mod events;
pub mod goals;
pub mod ingest;
pub mod keys;
pub mod metering;
pub mod reports;
pub mod retention;
pub mod rollups_daily;
pub mod seal;
pub mod sessions;
pub mod shard;
pub mod sites;
#[cfg(any(test, feature = "sqlite"))]
pub mod sqlite;
pub mod users;

use serde::{Deserialize, Deserializer, Serialize};

/// A bound SQL value, independent of D1's and the Durable Object's own types. As JSON (the
/// Worker sends statements to a cold shard's Durable Object) a number, a string or null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SqlValue {
    Int(i64),
    Text(String),
    Null,
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}
impl From<u32> for SqlValue {
    fn from(v: u32) -> Self {
        SqlValue::Int(i64::from(v))
    }
}
impl From<bool> for SqlValue {
    /// SQLite has no boolean: 1 or 0.
    fn from(v: bool) -> Self {
        SqlValue::Int(i64::from(v))
    }
}
impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}
impl From<&String> for SqlValue {
    fn from(v: &String) -> Self {
        SqlValue::Text(v.clone())
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// A statement's SQL text and its values, bound in order as `?1`, `?2`…
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<SqlValue>,
}

impl Sql {
    /// A statement with its values: `Sql::new(SQL, [site.into(), day.into()])`.
    pub fn new(text: impl Into<String>, binds: impl IntoIterator<Item = SqlValue>) -> Sql {
        Sql {
            text: text.into(),
            binds: binds.into_iter().collect(),
        }
    }
}

/// Builds the binds of an [`Sql`] from values of any type with a `SqlValue` conversion:
/// `Sql::new(SQL, binds![site, day, limit])`.
#[macro_export]
macro_rules! binds {
    ($($value:expr),* $(,)?) => {
        [$($crate::store::SqlValue::from($value)),*]
    };
}

/// Reads an SQLite flag (0 or 1; D1 hands it over as a number) as a `bool`. A real boolean is
/// accepted too, so the same row type reads JSON written by this code.
pub fn int_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
        Float(f64),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
        Flag::Float(f) => f != 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row {
        id: i64,
        #[serde(deserialize_with = "int_bool")]
        admin: bool,
        name: Option<String>,
    }

    #[test]
    fn rows_read_integers_and_flags_as_their_types_from_sqlite() {
        let db = sqlite::migrated();
        let rows: Vec<Row> = sqlite::all(
            &db,
            &Sql::new(
                "SELECT ?1 AS id, ?2 AS admin, ?3 AS name UNION ALL SELECT 9007199254740993, 0, NULL",
                binds![7_i64, true, "x"],
            ),
        );
        assert_eq!(
            (rows[0].id, rows[0].admin, rows[0].name.as_deref()),
            (7, true, Some("x"))
        );
        // Beyond 2^53: an i64 survives, a float would not.
        assert_eq!(
            (rows[1].id, rows[1].admin, rows[1].name.as_deref()),
            (9_007_199_254_740_993, false, None)
        );
    }

    #[test]
    fn a_flag_reads_from_a_number_a_float_or_a_boolean() {
        for (json, want) in [
            ("1", true),
            ("0", false),
            ("1.0", true),
            ("true", true),
            ("false", false),
        ] {
            #[derive(Deserialize)]
            struct F(#[serde(deserialize_with = "int_bool")] bool);
            assert_eq!(serde_json::from_str::<F>(json).unwrap().0, want, "{json}");
        }
    }

    #[test]
    fn a_statement_travels_as_json_and_back_unchanged() {
        let sql = Sql::new(
            "SELECT ?1, ?2, ?3",
            binds![9_007_199_254_740_993_i64, "a", None::<i64>],
        );
        let json = serde_json::to_string(&sql).unwrap();
        assert!(json.contains("[9007199254740993,\"a\",null]"), "{json}");
        assert_eq!(serde_json::from_str::<Sql>(&json).unwrap(), sql);
    }

    #[test]
    fn options_bind_as_null() {
        assert_eq!(SqlValue::from(None::<i64>), SqlValue::Null);
        assert_eq!(SqlValue::from(Some("a")), SqlValue::Text("a".into()));
    }
}
