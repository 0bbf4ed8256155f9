//! Tests only: runs an [`Sql`] in an in-memory SQLite built from the real migrations and reads
//! the rows through serde, the same way the Worker reads D1's — so a row type that passes here
//! reads D1's answers too.

use super::{Sql, SqlValue};
use rusqlite::{params_from_iter, types::ValueRef, Connection};
use serde::de::DeserializeOwned;

/// An in-memory database with every file of `migrations/` applied, in order.
pub fn migrated() -> Connection {
    let db = Connection::open_in_memory().expect("in-memory SQLite");
    apply_migrations(&db);
    db
}

/// Gives a test connection the limits of D1's and Durable Objects' SQLite (workerd's build),
/// so a statement they would refuse fails here too: at most 5 terms in a compound SELECT
/// (`UNION ALL`), where SQLite's default is 500.
pub fn like_workerd(db: &Connection) {
    db.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_COMPOUND_SELECT, 5)
        .expect("compound-select limit");
}

/// Applies every file of `migrations/`, in order, to a connection with workerd's limits.
pub fn apply_migrations(db: &Connection) {
    like_workerd(db);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("migrations/")
        .map(|f| f.expect("migration file").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("migration text");
        db.execute_batch(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

pub fn value(v: &SqlValue) -> rusqlite::types::Value {
    match v {
        SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
        SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
        SqlValue::Null => rusqlite::types::Value::Null,
    }
}

/// Runs a statement that returns no rows; the number of rows it changed.
pub fn run(db: &Connection, sql: &Sql) -> usize {
    db.execute(&sql.text, params_from_iter(sql.binds.iter().map(value)))
        .unwrap_or_else(|e| panic!("{e}: {}", sql.text))
}

/// Every row, each read as `T` from a JSON object of its columns (as D1 hands them over).
pub fn all<T: DeserializeOwned>(db: &Connection, sql: &Sql) -> Vec<T> {
    let mut stmt = db
        .prepare(&sql.text)
        .unwrap_or_else(|e| panic!("{e}: {}", sql.text));
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt
        .query(params_from_iter(sql.binds.iter().map(value)))
        .expect("query");
    let mut out = Vec::new();
    while let Some(row) = rows.next().expect("row") {
        let mut object = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match row.get_ref(i).expect("column") {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(n) => n.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Blob(b) => crate::util::hex::encode(b).into(),
            };
            object.insert(name.clone(), v);
        }
        out.push(
            serde_json::from_value(object.into())
                .unwrap_or_else(|e| panic!("row of {}: {e}", sql.text)),
        );
    }
    out
}

/// The first row, if any.
pub fn first<T: DeserializeOwned>(db: &Connection, sql: &Sql) -> Option<T> {
    all(db, sql).into_iter().next()
}
