//! The per-site Durable Object: a durable SQLite append buffer between ingest and D1.
//!
//! `POST /append` assigns sessions (this object is the one writer that sees every event of
//! its site in order), appends the events to its SQLite storage and answers only after that
//! write — the runtime's output gate holds the answer until the write is durable. An alarm
//! flushes up to `FLUSH_BATCH_SIZE` events at a time to D1 with `INSERT OR IGNORE` on the
//! event id, so a retried flush never duplicates; rows leave the buffer only after D1 said yes.
//!
//! Its SQL (`store::buffer`) and rules (`ingest::buffer`, `ingest::rate_limit`) are the core's;
//! `storage` below runs a core statement against the object's own SQLite.

use analytics_core::enrich::session::continues;
use analytics_core::ingest::buffer::{
    alarm_after_append, alarm_after_flush, flush_meter, is_full, Appended, Arrived, Purged, Status,
    METER_RECEIVED_HEADER, METER_REFUSED_HEADER,
};
use analytics_core::ingest::event::EnrichedEvent;
use analytics_core::ingest::rate_limit::{self, Refusal};
use analytics_core::limits::FLUSH_INTERVAL_MS;
use analytics_core::limits::{flush_retry_delay_ms, FLUSH_BATCH_SIZE};
use analytics_core::stats::rollup::{self, OpenSession, SeenSet};
use analytics_core::store::buffer::{self as sql, BufferedRow, Count, MeterCounts, OpenSessionRow};
use analytics_core::store::events::{event_values, insert_event_sql};
use analytics_core::store::ingest::{flush_state, record_flush, FlushState};
use analytics_core::store::metering::{add_for_site_id, month_of, MeterSource};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

use crate::db::{d1, statement};
use crate::http::now_ms;

/// The header ingest passes the sender's address fingerprint in (for the per-address limit).
pub const ADDRESS_HEADER: &str = "X-Vigia-Address";

/// The Durable Object's storage run like `db::{run, all, first}` run D1: a core `Sql` bound
/// through the one conversion of `SqlValue`, rows read through serde into the core's row types.
pub(crate) mod storage {
    use analytics_core::store::{buffer::Count, Sql, SqlValue};
    use serde::de::DeserializeOwned;
    use worker::{Result, SqlCursor, SqlStorage, SqlStorageValue};

    fn to_storage(value: &SqlValue) -> SqlStorageValue {
        match value {
            SqlValue::Int(i) => SqlStorageValue::Integer(*i),
            SqlValue::Text(s) => SqlStorageValue::String(s.clone()),
            SqlValue::Null => SqlStorageValue::Null,
        }
    }

    fn exec(storage: &SqlStorage, sql: &Sql) -> Result<SqlCursor> {
        storage.exec(
            &sql.text,
            sql.binds.iter().map(to_storage).collect::<Vec<_>>(),
        )
    }

    /// Runs a statement that returns no rows; the number of rows it wrote.
    pub fn run(storage: &SqlStorage, sql: &Sql) -> Result<usize> {
        let cursor = exec(storage, sql)?;
        // Drain the cursor so the write is counted.
        cursor.to_array::<serde_json::Value>()?;
        Ok(cursor.rows_written())
    }

    /// Every row, read as `T`.
    pub fn all<T: DeserializeOwned>(storage: &SqlStorage, sql: &Sql) -> Result<Vec<T>> {
        exec(storage, sql)?.to_array()
    }

    /// Every row, read as `T`, and how many rows SQLite read to answer (`rowsRead`).
    pub fn all_counted<T: DeserializeOwned>(
        storage: &SqlStorage,
        sql: &Sql,
    ) -> Result<(Vec<T>, usize)> {
        let cursor = exec(storage, sql)?;
        let rows = cursor.to_array()?;
        Ok((rows, cursor.rows_read()))
    }

    /// The first row, if any.
    pub fn first<T: DeserializeOwned>(storage: &SqlStorage, sql: &Sql) -> Result<Option<T>> {
        Ok(all(storage, sql)?.into_iter().next())
    }

    /// A single number (`n`); 0 without a row.
    pub fn count(storage: &SqlStorage, sql: &Sql) -> Result<i64> {
        Ok(first::<Count>(storage, sql)?.map_or(0, |c| c.n))
    }
}

#[durable_object]
pub struct EventBuffer {
    state: State,
    env: Env,
}

impl EventBuffer {
    fn sql(&self) -> worker::SqlStorage {
        self.state.storage().sql()
    }

    fn pending(&self) -> Result<i64> {
        storage::count(&self.sql(), &sql::pending())
    }

    fn meta(&self, key: &str) -> Result<i64> {
        storage::count(&self.sql(), &sql::meta(key))
    }

    fn set_meta(&self, key: &str, value: i64) -> Result<()> {
        storage::run(&self.sql(), &sql::set_meta(key, value)).map(|_| ())
    }

    /// The request's metering counts, sent by ingest with the append (or alone).
    fn arrived(req: &Request) -> Result<Arrived> {
        let h = req.headers();
        Ok(Arrived::from_headers(
            h.get(METER_RECEIVED_HEADER)?.as_deref(),
            h.get(METER_REFUSED_HEADER)?.as_deref(),
        ))
    }

    /// Adds a request's counts to this month's open counts, in this object's own SQLite (no D1
    /// write per request: the next flush carries them to D1 in its own batch), and makes sure an
    /// alarm will flush them even when no event waits.
    async fn meter(&self, site_id: &str, arrived: Arrived, now: i64) -> Result<()> {
        if arrived.is_empty() || site_id.is_empty() {
            return Ok(());
        }
        storage::run(
            &self.sql(),
            &sql::meter_add(site_id, &month_of(now), arrived.received, arrived.refused),
        )?;
        if self.state.storage().get_alarm().await?.is_none() {
            self.state.storage().set_alarm(FLUSH_INTERVAL_MS).await?;
        }
        Ok(())
    }

    /// `POST /meter`: counts alone, of a request ingest refused before the buffer; the body is
    /// the site id.
    async fn meter_only(&self, mut req: Request) -> Result<Response> {
        let arrived = Self::arrived(&req)?;
        let site_id = req.text().await?;
        self.meter(site_id.trim(), arrived, now_ms()).await?;
        Response::from_json(&Appended { buffered: 0 })
    }

    /// Reads the events, refuses them whole when the buffer is full (503) or a rate limit is
    /// passed (429 with a `Refusal`), else keeps them and makes sure an alarm will flush them.
    /// The request's metering counts are added either way, refused events included.
    async fn append(&self, mut req: Request) -> Result<Response> {
        let arrived = Self::arrived(&req)?;
        let events: Vec<EnrichedEvent> = req.json().await?;
        let now = now_ms();
        let Some(visitor) = events.first().map(|e| e.visitor.clone()) else {
            return Response::from_json(&Appended { buffered: 0 });
        };
        let site_id = events[0].site_id.clone();
        let settings = crate::config::settings(&self.env);
        let incoming = events.len() as i64;
        if is_full(self.pending()?, incoming, settings.max_buffered_events) {
            self.meter(&site_id, arrived.and_refused(incoming), now)
                .await?;
            return Response::error("buffer full", 503);
        }
        let address = req.headers().get(ADDRESS_HEADER)?.unwrap_or_default();
        let limits = rate_limit::Limits {
            address: settings.address_events_per_minute,
            site: settings.site_events_per_minute,
        };
        if let Some(refusal) = self.count_events(&visitor, &address, incoming, limits, now)? {
            self.meter(&site_id, arrived.and_refused(incoming), now)
                .await?;
            return Ok(Response::from_json(&refusal)?.with_status(429));
        }
        let buffered = self.keep(events, now)?;
        // Before the alarm below, which then flushes events and counts together.
        if !arrived.is_empty() {
            storage::run(
                &self.sql(),
                &sql::meter_add(&site_id, &month_of(now), arrived.received, arrived.refused),
            )?;
        }
        if self.state.storage().get_alarm().await?.is_none() {
            let delay = alarm_after_append(self.pending()?);
            self.state.storage().set_alarm(delay).await?;
        }
        Response::from_json(&Appended { buffered })
    }

    /// Counts `incoming` events against the visitor's, the address's and the site's limits of
    /// this window; when one would pass, counts the refusal instead and returns it.
    fn count_events(
        &self,
        visitor: &str,
        address: &str,
        incoming: i64,
        limits: rate_limit::Limits,
        now: i64,
    ) -> Result<Option<Refusal>> {
        let window = rate_limit::window_of(now);
        let keys = [
            rate_limit::visitor_key(visitor),
            rate_limit::address_key(address),
            rate_limit::SITE_KEY.to_string(),
        ];
        let storage = self.sql();
        let count = |key: &str| storage::count(&storage, &sql::rate_count(key, window));
        let counts = rate_limit::Counts {
            visitor: count(&keys[0])?,
            address: count(&keys[1])?,
            site: count(&keys[2])?,
        };
        if let Some(which) = rate_limit::check(counts, incoming, limits) {
            storage::run(
                &storage,
                &sql::add_rate_count(rate_limit::REFUSED_KEY, window, 1),
            )?;
            let refused = count(rate_limit::REFUSED_KEY)?;
            return Ok(Some(Refusal::at(which, now, refused)));
        }
        for key in &keys {
            storage::run(&storage, &sql::add_rate_count(key, window, incoming))?;
        }
        Ok(None)
    }

    /// Assigns each event its session, folds it into the rollups and appends it; how many
    /// were kept.
    fn keep(&self, mut events: Vec<EnrichedEvent>, now: i64) -> Result<usize> {
        let storage = self.sql();
        let mut seen = SeenInStorage {
            storage: &storage,
            now,
        };
        let mut prop_sets = PropSetsInStorage {
            storage: &storage,
            now,
        };
        for event in &mut events {
            // Bots add nothing to the rollups, so they do not spend the day's property budget.
            if !event.bot {
                rollup::bound_props(event, &mut prop_sets);
            }
            continue_from_yesterday(&storage, event)?;
            let previous: Option<OpenSession> =
                storage::first::<OpenSessionRow>(&storage, &sql::open_session(&event.visitor))?
                    .and_then(|r| serde_json::from_str(&r.state).ok());
            let (session, deltas) = rollup::apply(event, previous.as_ref(), &mut seen);
            storage::run(
                &storage,
                &sql::save_open_session(
                    &event.visitor,
                    &serde_json::to_string(&session)?,
                    session.last_ms,
                ),
            )?;
            storage::run(
                &storage,
                &sql::append(
                    &serde_json::to_string(event)?,
                    &serde_json::to_string(&deltas)?,
                ),
            )?;
        }
        Ok(events.len())
    }

    /// Writes one batch to D1: the raw events (`INSERT OR IGNORE` on their ids), the merged
    /// rollup deltas, the metering counts and a `flush_log` row, in one D1 transaction. A batch
    /// D1 already has (the answer was lost) is recognised by its `flush_log` row and only
    /// dropped here. Until it lands, the flush stays in flight (`sql::IN_FLIGHT`): a retry sends
    /// exactly the same events and counts, even when more arrived meanwhile, so that check
    /// holds and `stored` is never added twice. Counts with no event waiting flush alone,
    /// under a negative `flush_log` key of their own. Returns how many events left the buffer.
    async fn flush_once(&self) -> Result<usize> {
        let storage = self.sql();
        let mut flight = self.meta(sql::IN_FLIGHT)?;
        let rows: Vec<BufferedRow> = if flight > 0 {
            storage::all(&storage, &sql::batch_upto(flight, FLUSH_BATCH_SIZE))?
        } else if flight < 0 {
            Vec::new()
        } else {
            let rows: Vec<BufferedRow> =
                storage::all(&storage, &sql::next_batch(FLUSH_BATCH_SIZE))?;
            flight = match rows.last() {
                Some(last) => last.seq,
                None if storage::count(&storage, &sql::meter_open())? > 0 => {
                    let n = self.meta(sql::COUNT_FLUSHES)? + 1;
                    self.set_meta(sql::COUNT_FLUSHES, n)?;
                    -n
                }
                None => return Ok(0),
            };
            storage::run(&storage, &sql::meter_freeze())?;
            self.set_meta(sql::IN_FLIGHT, flight)?;
            rows
        };
        let counts: Vec<MeterCounts> = storage::all(&storage, &sql::meter_in_flight())?;
        self.write_to_d1(&rows, &counts, flight).await?;
        self.test_pause_after_landing().await;
        if flight > 0 {
            storage::run(&storage, &sql::drop_flushed(flight))?;
        }
        storage::run(&storage, &sql::meter_landed())?;
        self.set_meta(sql::IN_FLIGHT, 0)?;
        Ok(rows.len())
    }

    /// Tests only (`VIGIA_TEST_FLUSH_PAUSE = "landed"`, never in production): the flush stalls
    /// after D1 committed its batch and before the buffer forgets it, so a test can kill the
    /// process there and see the retry store nothing twice (tests/e2e/metering.test.mjs).
    async fn test_pause_after_landing(&self) {
        if crate::config::settings(&self.env).test_flush_pause {
            worker::console_log!("flush landed; pausing (VIGIA_TEST_FLUSH_PAUSE)");
            worker::Delay::from(std::time::Duration::from_secs(120)).await;
        }
    }

    /// The D1 half of `flush_once`: one transaction, or nothing when D1 has the batch already
    /// or its site is gone.
    async fn write_to_d1(
        &self,
        rows: &[BufferedRow],
        counts: &[MeterCounts],
        last: i64,
    ) -> Result<()> {
        let db = d1(&self.env)?;
        let mut site_id = counts
            .first()
            .map(|c| c.site_id.clone())
            .unwrap_or_default();
        let mut statements = Vec::with_capacity(rows.len() * 2);
        let mut deltas = Vec::new();
        let mut stored_ts = Vec::with_capacity(rows.len());
        let insert = insert_event_sql();
        for row in rows {
            let event: EnrichedEvent = serde_json::from_str(&row.event)?;
            statements.push(statement(&db, &insert, &event_values(&event))?);
            deltas.extend(serde_json::from_str::<Vec<rollup::Delta>>(&row.deltas)?);
            stored_ts.push(event.ts);
            site_id = event.site_id;
        }
        let state: FlushState = crate::db::first(&db, &flush_state(&site_id, last))
            .await?
            .unwrap_or_default();
        // A site deleted while events were buffered (ingest caches site configs for a minute):
        // its events are dropped, not written back.
        if !state.should_write() {
            return Ok(());
        }
        for delta in rollup::merge(deltas) {
            statements.push(statement(
                &db,
                rollup::UPSERT_SQL,
                &rollup::upsert_values(&site_id, &delta),
            )?);
        }
        for (month, delta) in flush_meter(stored_ts, counts) {
            statements.push(crate::db::prepare(
                &db,
                &add_for_site_id(&site_id, &month, MeterSource::Events, delta),
            )?);
        }
        statements.push(crate::db::prepare(
            &db,
            &record_flush(&site_id, last, now_ms()),
        )?);
        db.batch(statements).await?;
        Ok(())
    }

    /// After a successful flush: the failure count starts over, expired state goes, and the
    /// next alarm is set while events wait.
    async fn after_flush(&self, flushed: usize) -> Result<()> {
        self.set_meta(sql::FLUSH_FAILURES, 0)?;
        self.set_meta(sql::LAST_FLUSH_MS, now_ms())?;
        for statement in sql::forget_expired(now_ms()) {
            storage::run(&self.sql(), &statement)?;
        }
        let delay = alarm_after_flush(self.pending()?, flushed as i64).or(
            // Counts that arrived while the flush was in flight, with no event waiting.
            (storage::count(&self.sql(), &sql::meter_open())? > 0).then_some(FLUSH_INTERVAL_MS),
        );
        if let Some(delay) = delay {
            self.state.storage().set_alarm(delay).await?;
        }
        Ok(())
    }

    /// After a failed flush: everything stays buffered and the alarm retries, backing off.
    async fn after_failed_flush(&self, error: worker::Error) -> Result<()> {
        let failures = self.meta(sql::FLUSH_FAILURES)? + 1;
        self.set_meta(sql::FLUSH_FAILURES, failures)?;
        worker::console_error!("flush to D1 failed ({failures} in a row): {error}");
        self.state
            .storage()
            .set_alarm(flush_retry_delay_ms(failures as u32))
            .await
    }
}

/// Just after midnight, a session that began yesterday goes on under yesterday's hash.
fn continue_from_yesterday(storage: &worker::SqlStorage, event: &mut EnrichedEvent) -> Result<()> {
    let previous_visitor = std::mem::take(&mut event.previous_visitor);
    if previous_visitor.is_empty() {
        return Ok(());
    }
    let open = storage::first::<OpenSessionRow>(storage, &sql::open_session(&previous_visitor))?;
    if open.is_some_and(|r| continues(r.last_seen, event.ts)) {
        event.visitor = previous_visitor;
    }
    Ok(())
}

/// The Durable Object's `prop_sets` table as the daily sets of property keys and values.
struct PropSetsInStorage<'a> {
    storage: &'a worker::SqlStorage,
    now: i64,
}

impl PropSetsInStorage<'_> {
    fn admit_or_fail(&self, set: &str, item: &str, limit: i64) -> Result<bool> {
        if storage::first::<Count>(self.storage, &sql::prop_set_has(set, item))?.is_some() {
            return Ok(true);
        }
        if storage::count(self.storage, &sql::prop_set_size(set))? >= limit {
            return Ok(false);
        }
        storage::run(self.storage, &sql::add_to_prop_set(set, item, self.now))?;
        Ok(true)
    }
}

impl rollup::BoundedSets for PropSetsInStorage<'_> {
    fn admit(&mut self, set: &str, item: &str, limit: i64) -> bool {
        self.admit_or_fail(set, item, limit).unwrap_or_else(|e| {
            // Folding into (other) loses a value's name, never its count.
            worker::console_error!("property sets: {e}");
            false
        })
    }
}

/// The Durable Object's `seen` table as the rollups' set of already-counted uniques.
struct SeenInStorage<'a> {
    storage: &'a worker::SqlStorage,
    now: i64,
}

impl SeenSet for SeenInStorage<'_> {
    fn first(&mut self, key: &str) -> bool {
        match storage::run(self.storage, &sql::mark_seen(key, self.now)) {
            Ok(written) => written > 0,
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
        let storage = buffer.sql();
        // Schema creation is idempotent and synchronous, so every request sees the tables.
        let schema = analytics_core::store::Sql::new(sql::SCHEMA, []);
        if let Err(e) = storage::run(&storage, &schema) {
            worker::console_error!("buffer schema: {e}");
        }
        // Buffers created before rollups lack the deltas column; adding it twice fails harmlessly.
        let _ = storage::run(
            &storage,
            &analytics_core::store::Sql::new(sql::ADD_DELTAS_COLUMN, []),
        );
        buffer
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/append") => self.append(req).await,
            (Method::Post, "/meter") => self.meter_only(req).await,
            // The site is being deleted: forget everything buffered and every open session.
            (Method::Post, "/purge") => {
                for statement in sql::purge() {
                    storage::run(&self.sql(), &statement)?;
                }
                Response::from_json(&Purged { purged: true })
            }
            (Method::Get, "/status") => Response::from_json(&Status {
                pending: self.pending()?,
                flush_failures: self.meta(sql::FLUSH_FAILURES)?,
                last_flush_ms: self.meta(sql::LAST_FLUSH_MS)?,
            }),
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        match self.flush_once().await {
            Ok(flushed) => self.after_flush(flushed).await?,
            Err(e) => self.after_failed_flush(e).await?,
        }
        Response::ok("flushed")
    }
}
