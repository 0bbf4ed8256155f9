//! The per-site Durable Object: a durable SQLite append buffer between ingest and D1.
//!
//! `POST /append` assigns sessions (this object is the one writer that sees every event of
//! its site in order), appends the events to its SQLite storage and answers only after that
//! write — the runtime's output gate holds the answer until the write is durable. An alarm
//! flushes up to `FLUSH_BATCH_SIZE` events at a time to D1 with `INSERT OR IGNORE` on the
//! event id, so a retried flush never duplicates; rows leave the buffer only after D1 said yes.

use analytics_core::enrich::session::{continues, SESSION_TIMEOUT_MS};
use analytics_core::ingest::event::EnrichedEvent;
use analytics_core::ingest::rate_limit::{self};
use analytics_core::limits::{flush_retry_delay_ms, FLUSH_BATCH_SIZE, FLUSH_INTERVAL_MS};
use analytics_core::stats::rollup::{self, OpenSession, SeenSet};
use analytics_core::store::events::{event_values, insert_event_sql, BUFFER_SCHEMA};
use serde::Deserialize;
use worker::{
    durable_object, DurableObject, Env, Method, Request, Response, Result, SqlStorage, State,
};

use crate::db::{d1, statement};
use crate::http::now_ms;

/// The header ingest passes the sender's address fingerprint in (for the per-address limit).
pub const ADDRESS_HEADER: &str = "X-Vigia-Address";

/// How long the set of counted uniques keeps a key (longer than a day plus a session).
const SEEN_KEEP_MS: i64 = 2 * 24 * 60 * 60 * 1000;

#[durable_object]
pub struct EventBuffer {
    state: State,
    env: Env,
}

#[derive(Deserialize)]
struct BufferedRow {
    seq: i64,
    event: String,
    deltas: String,
}

#[derive(Deserialize)]
struct StateRow {
    state: String,
}

#[derive(Deserialize)]
struct LastSeenRow {
    last_seen: i64,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

impl EventBuffer {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn pending(&self) -> Result<i64> {
        Ok(self
            .sql()
            .exec("SELECT COUNT(*) AS n FROM buffer", None)?
            .one::<Count>()?
            .n)
    }

    fn meta_get(&self, key: &str) -> Result<i64> {
        let rows: Vec<Count> = self
            .sql()
            .exec(
                "SELECT value AS n FROM meta WHERE key = ?",
                vec![key.into()],
            )?
            .to_array()?;
        Ok(rows.first().map(|r| r.n).unwrap_or(0))
    }

    fn meta_set(&self, key: &str, value: i64) -> Result<()> {
        self.sql().exec(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), value.into()],
        )?;
        Ok(())
    }

    /// Events seen in the current rate window under `key`.
    fn rate_count(&self, key: &str, window: i64) -> Result<i64> {
        let rows: Vec<Count> = self
            .sql()
            .exec(
                "SELECT count AS n FROM rate_counts WHERE key = ? AND win = ?",
                vec![key.into(), window.into()],
            )?
            .to_array()?;
        Ok(rows.first().map(|r| r.n).unwrap_or(0))
    }

    fn add_rate_count(&self, key: &str, window: i64, n: i64) -> Result<()> {
        self.sql().exec(
            "INSERT INTO rate_counts (key, win, count) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET \
             count = CASE WHEN win = excluded.win THEN count + excluded.count ELSE excluded.count END, \
             win = excluded.win",
            vec![key.into(), window.into(), n.into()],
        )?;
        Ok(())
    }

    async fn append(&self, mut req: Request) -> Result<Response> {
        let mut events: Vec<EnrichedEvent> = req.json().await?;
        let Some(visitor) = events.first().map(|e| e.visitor.clone()) else {
            return Response::from_json(&serde_json::json!({ "buffered": 0 }));
        };
        let settings = crate::config::settings(&self.env);
        let max_buffered = settings.max_buffered_events;
        if self.pending()? + events.len() as i64 > max_buffered {
            return Response::error("buffer full", 503);
        }
        let now = now_ms();
        let window = rate_limit::window_of(now);
        let visitor_key = format!("v:{visitor}");
        let address_key = format!(
            "a:{}",
            req.headers().get(ADDRESS_HEADER)?.unwrap_or_default()
        );
        let limits = rate_limit::Limits {
            address: settings.address_events_per_minute,
            site: settings.site_events_per_minute,
        };
        let incoming = events.len() as i64;
        let counts = rate_limit::Counts {
            visitor: self.rate_count(&visitor_key, window)?,
            address: self.rate_count(&address_key, window)?,
            site: self.rate_count("site", window)?,
        };
        if let Some(which) = rate_limit::check(counts, incoming, limits) {
            self.add_rate_count("refused", window, 1)?;
            return Ok(Response::from_json(&serde_json::json!({
                "limited": which.as_str(),
                "retry_after": rate_limit::retry_after_s(now),
                "refused": self.rate_count("refused", window)?,
                "window_start": window * rate_limit::RATE_WINDOW_MS,
            }))?
            .with_status(429));
        }
        self.add_rate_count(&visitor_key, window, incoming)?;
        self.add_rate_count(&address_key, window, incoming)?;
        self.add_rate_count("site", window, incoming)?;
        let sql = self.sql();
        let mut seen = SeenInStorage { sql: &sql, now };
        let mut prop_sets = PropSetsInStorage { sql: &sql, now };
        for event in &mut events {
            // Bots add nothing to the rollups, so they do not spend the day's property budget.
            if !event.bot {
                rollup::bound_props(event, &mut prop_sets);
            }
            // Just after midnight, a session that began yesterday goes on under yesterday's hash.
            let previous_visitor = std::mem::take(&mut event.previous_visitor);
            if !previous_visitor.is_empty() {
                let open: Vec<LastSeenRow> = sql
                    .exec(
                        "SELECT last_seen FROM open_sessions WHERE visitor = ?",
                        vec![previous_visitor.clone().into()],
                    )?
                    .to_array()?;
                if open
                    .first()
                    .is_some_and(|r| continues(r.last_seen, event.ts))
                {
                    event.visitor = previous_visitor;
                }
            }
            let previous: Vec<StateRow> = sql
                .exec(
                    "SELECT state FROM open_sessions WHERE visitor = ?",
                    vec![event.visitor.clone().into()],
                )?
                .to_array()?;
            let previous: Option<OpenSession> = previous
                .first()
                .and_then(|r| serde_json::from_str(&r.state).ok());
            let (session, deltas) = rollup::apply(event, previous.as_ref(), &mut seen);
            sql.exec(
                "INSERT INTO open_sessions (visitor, state, last_seen) VALUES (?, ?, ?) \
                 ON CONFLICT(visitor) DO UPDATE SET state = excluded.state, last_seen = excluded.last_seen",
                vec![
                    event.visitor.clone().into(),
                    serde_json::to_string(&session)?.into(),
                    session.last_ms.into(),
                ],
            )?;
            sql.exec(
                "INSERT INTO buffer (event, deltas) VALUES (?, ?)",
                vec![
                    serde_json::to_string(event)?.into(),
                    serde_json::to_string(&deltas)?.into(),
                ],
            )?;
        }
        if self.state.storage().get_alarm().await?.is_none() {
            let delay = if self.pending()? >= FLUSH_BATCH_SIZE {
                0
            } else {
                FLUSH_INTERVAL_MS
            };
            self.state.storage().set_alarm(delay).await?;
        }
        Response::from_json(&serde_json::json!({ "buffered": events.len() }))
    }

    /// Writes one batch to D1: the raw events (`INSERT OR IGNORE` on their ids), the merged
    /// rollup deltas, and a `flush_log` row, in one D1 transaction. A batch D1 already has
    /// (the answer was lost) is recognised by its `flush_log` row and only dropped here.
    /// Returns how many events left the buffer.
    async fn flush_once(&self) -> Result<usize> {
        let rows: Vec<BufferedRow> = self
            .sql()
            .exec(
                "SELECT seq, event, deltas FROM buffer ORDER BY seq LIMIT ?",
                vec![FLUSH_BATCH_SIZE.into()],
            )?
            .to_array()?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(0);
        };
        let db = d1(&self.env)?;
        let mut site_id = String::new();
        let mut statements = Vec::with_capacity(rows.len() * 2);
        let mut deltas = Vec::new();
        let insert = insert_event_sql();
        for row in &rows {
            let event: EnrichedEvent = serde_json::from_str(&row.event)?;
            statements.push(statement(&db, &insert, &event_values(&event))?);
            deltas.extend(serde_json::from_str::<Vec<rollup::Delta>>(&row.deltas)?);
            site_id = event.site_id;
        }
        let state: Option<FlushState> = db
            .prepare(
                "SELECT (SELECT upto_seq FROM flush_log WHERE site_id = ?1 AND upto_seq = ?2) AS done, \
                 EXISTS (SELECT 1 FROM sites WHERE id = ?1) AS site_exists",
            )
            .bind(&[site_id.as_str().into(), (last as f64).into()])?
            .first(None)
            .await?;
        let state = state.unwrap_or_default();
        // A site deleted while events were buffered (ingest caches site configs for a minute):
        // its events are dropped, not written back.
        if state.done.is_none() && state.site_exists != 0.0 {
            for delta in rollup::merge(deltas) {
                statements.push(statement(
                    &db,
                    rollup::UPSERT_SQL,
                    &rollup::upsert_values(&site_id, &delta),
                )?);
            }
            statements.push(
                db.prepare(
                    "INSERT INTO flush_log (site_id, upto_seq, flushed_at) VALUES (?1, ?2, ?3)",
                )
                .bind(&[
                    site_id.as_str().into(),
                    (last as f64).into(),
                    (now_ms() as f64).into(),
                ])?,
            );
            db.batch(statements).await?;
        }
        self.sql()
            .exec("DELETE FROM buffer WHERE seq <= ?", vec![last.into()])?;
        Ok(rows.len())
    }
}

#[derive(serde::Deserialize, Default)]
struct FlushState {
    done: Option<f64>,
    site_exists: f64,
}

/// The Durable Object's `prop_sets` table as the daily sets of property keys and values.
struct PropSetsInStorage<'a> {
    sql: &'a SqlStorage,
    now: i64,
}

impl rollup::BoundedSets for PropSetsInStorage<'_> {
    fn admit(&mut self, set: &str, item: &str, limit: i64) -> bool {
        let known = || -> Result<bool> {
            let rows: Vec<Count> = self
                .sql
                .exec(
                    "SELECT 1 AS n FROM prop_sets WHERE set_name = ? AND item = ?",
                    vec![set.into(), item.into()],
                )?
                .to_array()?;
            Ok(!rows.is_empty())
        };
        let add = || -> Result<bool> {
            let size = self
                .sql
                .exec(
                    "SELECT COUNT(*) AS n FROM prop_sets WHERE set_name = ?",
                    vec![set.into()],
                )?
                .one::<Count>()?
                .n;
            if size >= limit {
                return Ok(false);
            }
            self.sql.exec(
                "INSERT OR IGNORE INTO prop_sets (set_name, item, at) VALUES (?, ?, ?)",
                vec![set.into(), item.into(), self.now.into()],
            )?;
            Ok(true)
        };
        match known().and_then(|k| if k { Ok(true) } else { add() }) {
            Ok(admitted) => admitted,
            Err(e) => {
                // Folding into (other) loses a value's name, never its count.
                worker::console_error!("property sets: {e}");
                false
            }
        }
    }
}

/// The Durable Object's `seen` table as the rollups' set of already-counted uniques.
struct SeenInStorage<'a> {
    sql: &'a SqlStorage,
    now: i64,
}

impl SeenSet for SeenInStorage<'_> {
    fn first(&mut self, key: &str) -> bool {
        match self.sql.exec(
            "INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)",
            vec![key.into(), self.now.into()],
        ) {
            Ok(cursor) => {
                // Drain the cursor so the write is counted.
                let _ = cursor.to_array::<serde_json::Value>();
                cursor.rows_written() > 0
            }
            Err(e) => {
                worker::console_error!("seen set: {e}");
                false
            }
        }
    }
}

impl DurableObject for EventBuffer {
    fn new(state: State, env: Env) -> Self {
        let buffer = Self { state, env };
        // Schema creation is idempotent and synchronous, so every request sees the tables.
        if let Err(e) = buffer.sql().exec(BUFFER_SCHEMA, None) {
            worker::console_error!("buffer schema: {e}");
        }
        // Buffers created before rollups lack the deltas column; adding it twice fails harmlessly.
        let _ = buffer.sql().exec(
            "ALTER TABLE buffer ADD COLUMN deltas TEXT NOT NULL DEFAULT '[]'",
            None,
        );
        buffer
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/append") => self.append(req).await,
            // The site is being deleted: forget everything buffered and every open session.
            (Method::Post, "/purge") => {
                self.sql().exec(
                    "DELETE FROM buffer; DELETE FROM open_sessions; DELETE FROM seen; DELETE FROM meta; \
                     DELETE FROM prop_sets;",
                    None,
                )?;
                Response::from_json(&serde_json::json!({ "purged": true }))
            }
            (Method::Get, "/status") => Response::from_json(&serde_json::json!({
                "pending": self.pending()?,
                "flush_failures": self.meta_get("flush_failures")?,
                "last_flush_ms": self.meta_get("last_flush_ms")?,
            })),
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        match self.flush_once().await {
            Ok(flushed) => {
                self.meta_set("flush_failures", 0)?;
                self.meta_set("last_flush_ms", now_ms())?;
                // Sessions idle past the timeout can never continue, and past rate windows
                // never count again; forget both.
                self.sql().exec(
                    "DELETE FROM open_sessions WHERE last_seen < ?",
                    vec![(now_ms() - SESSION_TIMEOUT_MS).into()],
                )?;
                // Uniques are counted per day; two days later no event can need the key.
                self.sql().exec(
                    "DELETE FROM seen WHERE at < ?",
                    vec![(now_ms() - SEEN_KEEP_MS).into()],
                )?;
                // The property budget is per day; older days' sets are never asked again.
                self.sql().exec(
                    "DELETE FROM prop_sets WHERE at < ?",
                    vec![(now_ms() - SEEN_KEEP_MS).into()],
                )?;
                self.sql().exec(
                    "DELETE FROM rate_counts WHERE win < ?",
                    vec![rate_limit::window_of(now_ms()).into()],
                )?;
                let pending = self.pending()?;
                if pending > 0 {
                    let delay = if pending >= FLUSH_BATCH_SIZE || flushed as i64 == FLUSH_BATCH_SIZE
                    {
                        0
                    } else {
                        FLUSH_INTERVAL_MS
                    };
                    self.state.storage().set_alarm(delay).await?;
                }
            }
            Err(e) => {
                let failures = self.meta_get("flush_failures")? + 1;
                self.meta_set("flush_failures", failures)?;
                worker::console_error!("flush to D1 failed ({failures} in a row): {e}");
                self.state
                    .storage()
                    .set_alarm(flush_retry_delay_ms(failures as u32))
                    .await?;
            }
        }
        Response::ok("flushed")
    }
}
