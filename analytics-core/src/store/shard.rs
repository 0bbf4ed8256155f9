//! The cold shard: one SQLite database (a SQLite-backed Durable Object in production) per site
//! and UTC month, holding the sealed days' events in compact integer rows. The Durable Object
//! only runs what this module builds: [`MIGRATIONS`] at start, then [`Sql`] statements.
//!
//! Layout (all integers, so a row is ~40 bytes instead of D1's ~275):
//! - `dict`: every string (paths, names, queries, props, context values) once; id 0 is `''`,
//!   which SQLite stores in no bytes at all (integers 0 and 1 have their own record types).
//! - `ctx`: the per-visit strings (referrer, UTM, browser, OS, device, geo, screen) as one
//!   tuple of `dict` ids; events of a visit share one tuple, so an event carries one id for 17.
//! - `ev`: one row per event. `t` is the timestamp minus `meta.ts_base` (mid-period, so a
//!   month fits 4 bytes), `visitor` the first 8 bytes of the hash, `session` the rowid of the
//!   visit's first event (so "first event" ⇔ `rowid = session`; orphans, whose first event is
//!   gone, get a negative session that no rowid equals), `k` the event kind plus 8 for bots.
//!   No index: rows go in day by day, and `days` maps each day to its rowid ranges.
//! - `days`: (UTC day of the visits' start, first rowid, last rowid, imported).
//! - `meta`: one row: the site id the stats SQL binds as `?1`, `visible_until`, `ts_base`.
//! - `stage` maps D1's session ids to shard sessions while a day is copied in pages (a visit
//!   may straddle pages); `page_*` hold one page's dictionary while it is appended.
//!
//! The `events` VIEW decodes rows into D1's columns and types, so the stats SQL written for D1
//! (`stats::query`, `stats::filter`, exports, bot stats, goals, funnels) runs on a shard
//! unchanged, over the visits that started before `meta.visible_until` only. The filtered
//! overview has faster forms in [`fast`] (one statement per store, integer columns).
//!
//! Measured with `benches/shard.rs` on the storage bench's generator, 1 M events in a month:
//! 39.7 B/event for the whole file (`ev` 39.0; dictionary, context and staging under 1).
//! A filtered query still reads every row of the range's days twice (the filter's visits,
//! then their events): 0.2–1 s of CPU per query and 0.7–3.6 s per overview statement at
//! 1 M events natively (filtered by one page / country / source), far from 100 ms. Reading less needs per-visit rows (a visit's events
//! stored together, its attributes and sums in one row), the next step.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::Sql;
use crate::binds;
use crate::ingest::event::{EnrichedEvent, EventKind};
use crate::stats::DAY_MS;

/// Most events one appended page holds.
pub const SHARD_PAGE_EVENTS: usize = 2_000;
/// Most bytes of bound JSON one page's statements carry: a Durable Object request stays well
/// under its size limit (and the JSON parse under its CPU budget).
pub const SHARD_PAGE_MAX_BYTES: usize = 1024 * 1024;
/// Most values bound to one statement in D1 and a Durable Object.
pub const MAX_BOUND_PARAMETERS: usize = 100;

/// The per-visit string columns kept in `ctx`, in its column order (`c0`…`c16`).
pub const CONTEXT_COLUMNS: [&str; 17] = [
    "referrer_host",
    "referrer_source",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "country",
    "region",
    "city",
    "screen",
];

/// The shard's schema, applied in order by the Durable Object when it starts. Every statement
/// may run again (`IF NOT EXISTS`; the view is replaced so a new decoding takes effect).
pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (one INTEGER PRIMARY KEY CHECK (one = 1), \
     site_id TEXT NOT NULL DEFAULT '', visible_until INTEGER NOT NULL DEFAULT 0, \
     ts_base INTEGER NOT NULL DEFAULT 0, page_base INTEGER NOT NULL DEFAULT 0)",
    "INSERT OR IGNORE INTO meta (one) VALUES (1)",
    "CREATE TABLE IF NOT EXISTS dict (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE)",
    "INSERT OR IGNORE INTO dict (id, value) VALUES (0, '')",
    "CREATE TABLE IF NOT EXISTS ctx (id INTEGER PRIMARY KEY, \
     c0 INT NOT NULL, c1 INT NOT NULL, c2 INT NOT NULL, c3 INT NOT NULL, c4 INT NOT NULL, \
     c5 INT NOT NULL, c6 INT NOT NULL, c7 INT NOT NULL, c8 INT NOT NULL, c9 INT NOT NULL, \
     c10 INT NOT NULL, c11 INT NOT NULL, c12 INT NOT NULL, c13 INT NOT NULL, c14 INT NOT NULL, \
     c15 INT NOT NULL, c16 INT NOT NULL, \
     UNIQUE (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16))",
    "CREATE TABLE IF NOT EXISTS ev (t INT NOT NULL, visitor INT NOT NULL, session INT NOT NULL, \
     k INT NOT NULL, ctx INT NOT NULL, name INT NOT NULL, path INT NOT NULL, query INT NOT NULL, \
     props INT NOT NULL, engaged_ms INT NOT NULL, scroll INT NOT NULL, \
     revenue_micros INT NOT NULL, revenue_currency INT NOT NULL, bot_reason INT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS days (day INTEGER NOT NULL, first_rowid INTEGER NOT NULL, \
     last_rowid INTEGER NOT NULL, imported INTEGER NOT NULL, PRIMARY KEY (day, first_rowid)) \
     WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS stage (sid TEXT PRIMARY KEY, session INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS page_str (k INTEGER PRIMARY KEY, s TEXT NOT NULL, id INTEGER)",
    "CREATE TABLE IF NOT EXISTS page_ctx (k INTEGER PRIMARY KEY, \
     c0 INT, c1 INT, c2 INT, c3 INT, c4 INT, c5 INT, c6 INT, c7 INT, c8 INT, c9 INT, c10 INT, \
     c11 INT, c12 INT, c13 INT, c14 INT, c15 INT, c16 INT, id INTEGER)",
    "CREATE TABLE IF NOT EXISTS page_sess (k INTEGER PRIMARY KEY, sid TEXT NOT NULL, \
     at INTEGER NOT NULL, first INTEGER NOT NULL, session INTEGER)",
    // Bulk imports' page ids: a page sent again is recognised and stored once.
    "CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY) WITHOUT ROWID",
    "DROP VIEW IF EXISTS events",
    // `id` and `session` are zero-padded text so that, as in D1, they compare as text and
    // order events of one timestamp in the order they were appended (funnels, export pages).
    "CREATE VIEW events AS SELECT \
     printf('%012d', e.rowid) AS id, m.site_id AS site_id, e.t + m.ts_base AS ts, \
     date((e.t + m.ts_base) / 1000, 'unixepoch') AS day, printf('%016x', e.visitor) AS visitor, \
     printf('%012d', e.session) AS session, \
     CASE e.k & 7 WHEN 0 THEN 'pageview' WHEN 1 THEN 'engagement' WHEN 2 THEN 'outbound' \
     WHEN 3 THEN 'download' WHEN 4 THEN 'custom' WHEN 5 THEN '404' END AS kind, \
     (SELECT value FROM dict WHERE id = e.name) AS name, \
     (SELECT value FROM dict WHERE id = e.path) AS path, \
     (SELECT value FROM dict WHERE id = e.query) AS query, \
     (SELECT value FROM dict WHERE id = c.c0) AS referrer_host, \
     (SELECT value FROM dict WHERE id = c.c1) AS referrer_source, \
     (SELECT value FROM dict WHERE id = c.c2) AS channel, \
     (SELECT value FROM dict WHERE id = c.c3) AS utm_source, \
     (SELECT value FROM dict WHERE id = c.c4) AS utm_medium, \
     (SELECT value FROM dict WHERE id = c.c5) AS utm_campaign, \
     (SELECT value FROM dict WHERE id = c.c6) AS utm_term, \
     (SELECT value FROM dict WHERE id = c.c7) AS utm_content, \
     (SELECT value FROM dict WHERE id = c.c8) AS browser, \
     (SELECT value FROM dict WHERE id = c.c9) AS browser_version, \
     (SELECT value FROM dict WHERE id = c.c10) AS os, \
     (SELECT value FROM dict WHERE id = c.c11) AS os_version, \
     (SELECT value FROM dict WHERE id = c.c12) AS device, \
     (SELECT value FROM dict WHERE id = c.c13) AS country, \
     (SELECT value FROM dict WHERE id = c.c14) AS region, \
     (SELECT value FROM dict WHERE id = c.c15) AS city, \
     (SELECT value FROM dict WHERE id = c.c16) AS screen, \
     e.engaged_ms AS engaged_ms, e.scroll AS scroll, \
     (SELECT value FROM dict WHERE id = e.props) AS props, (e.k >> 3) & 1 AS bot, \
     e.revenue_micros AS revenue_micros, \
     (SELECT value FROM dict WHERE id = e.revenue_currency) AS revenue_currency, \
     (SELECT value FROM dict WHERE id = e.bot_reason) AS bot_reason, d.imported AS imported \
     FROM meta m JOIN days d ON d.day + 86400000 <= m.visible_until \
     JOIN ev e ON e.rowid BETWEEN d.first_rowid AND d.last_rowid \
     LEFT JOIN ctx c ON c.id = e.ctx",
];

/// The integer a visitor hash is stored as: its 32 hex digits (16 bytes) folded to 8 by XOR of
/// the halves, as an `i64` (the view shows it as 16 hex digits). Folding keeps every bit of
/// the hash in play, so hashes that differ only in one half still differ. Any other text
/// (never written by ingest) is hashed, so it still counts as one visitor. Two visitors of one
/// site and day collide with probability about n²/2⁶⁵: 3·10⁻⁸ for a million visitors a day,
/// and a collision costs one unique visitor of that day.
pub fn visitor_int(visitor: &str) -> i64 {
    if !visitor.is_empty() && visitor.len() <= 32 && visitor.bytes().all(|b| b.is_ascii_hexdigit())
    {
        if let Ok(v) = u128::from_str_radix(visitor, 16) {
            return ((v >> 64) as u64 ^ v as u64) as i64;
        }
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(visitor.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]))
}

/// The text the `events` view shows for a stored visitor.
pub fn visitor_text(visitor: &str) -> String {
    format!("{:016x}", visitor_int(visitor))
}

/// The kind's number in `ev.k` (its place in `EventKind::ALL`), the view decodes it back.
fn kind_number(kind: EventKind) -> i64 {
    EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as i64
}

/// Where `meta.ts_base` goes for a shard whose first appended day starts at `day_start_ms`:
/// half a month later, so a month's offsets fit in 4 bytes (±24.8 days).
fn ts_base(day_start_ms: i64) -> i64 {
    day_start_ms + 15 * DAY_MS
}

/// Splits events into pages [`append`] takes: at most [`SHARD_PAGE_EVENTS`] events and about
/// [`SHARD_PAGE_MAX_BYTES`] of JSON each (every string counted as if new and escaped).
pub fn pages(events: &[EnrichedEvent]) -> Vec<&[EnrichedEvent]> {
    // Integers of one event, their commas and brackets, at most.
    const FIXED: usize = 16 * 21;
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in events.iter().enumerate() {
        let strings: usize =
            e.texts().iter().map(|s| s.len() * 6 + 3).sum::<usize>() + e.session.len() * 6 + 40;
        let size = FIXED + strings;
        if i > start && (i - start == SHARD_PAGE_EVENTS || bytes + size > SHARD_PAGE_MAX_BYTES) {
            out.push(&events[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

/// A page's strings, each once, by first appearance.
#[derive(Default)]
struct Interner<'a> {
    index: HashMap<&'a str, usize>,
    items: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: &'a str) -> usize {
        let next = self.items.len();
        *self.index.entry(s).or_insert_with(|| {
            self.items.push(s);
            next
        })
    }
}

/// The statements that append one page of events (from [`pages`]) to the shard, in order, to
/// run in one transaction. `day_start_ms` is the UTC day the page's visits started on (the day
/// being sealed); pages of one day must follow each other, in D1's order (`ts`, `id`), so a
/// visit's first event comes first. Each statement binds at most 3 values; the page travels
/// as JSON in one of them (`json_each`), as D1 and Durable Objects allow 100 binds.
pub fn append(
    site_id: &str,
    day_start_ms: i64,
    events: &[EnrichedEvent],
    imported: bool,
) -> Vec<Sql> {
    if events.is_empty() {
        return Vec::new();
    }
    let mut strings = Interner::default();
    let mut contexts: HashMap<Vec<usize>, usize> = HashMap::new();
    let mut context_rows: Vec<Value> = Vec::new();
    let mut sessions: HashMap<&str, usize> = HashMap::new();
    let mut session_rows: Vec<(String, usize, bool)> = Vec::new();
    let mut rows = Vec::with_capacity(events.len());
    for (at, e) in events.iter().enumerate() {
        let s = e.texts();
        let ids: Vec<usize> = s.iter().map(|x| strings.id(x)).collect();
        let ctx_key = ids[6..].to_vec();
        let next = context_rows.len();
        let ctx = *contexts.entry(ctx_key.clone()).or_insert_with(|| {
            context_rows.push(json!(ctx_key));
            next
        });
        let first = e.id == e.session;
        let next = session_rows.len();
        let sess = *sessions.entry(e.session.as_str()).or_insert_with(|| {
            session_rows.push((e.session.clone(), at, first));
            next
        });
        if first {
            // The visit's first event decides its rowid even if a stray event came before.
            session_rows[sess].1 = at;
            session_rows[sess].2 = true;
        }
        let k = kind_number(e.kind) + if e.bot { 8 } else { 0 };
        rows.push(json!([
            e.ts,
            visitor_int(&e.visitor),
            sess,
            k,
            ctx,
            ids[0],
            ids[1],
            ids[2],
            ids[3],
            e.engaged_ms,
            e.scroll,
            e.revenue_micros,
            ids[4],
            ids[5]
        ]));
    }
    let sessions_json: Vec<Value> = session_rows
        .iter()
        .map(|(sid, at, first)| json!([sid, at, i64::from(*first)]))
        .collect();
    let n = events.len() as i64;
    let ctx_cols: Vec<String> = (0..17).map(|i| format!("c{i}")).collect();
    let ctx_list = ctx_cols.join(", ");
    let ctx_from_page: Vec<String> = (0..17)
        .map(|i| format!("(SELECT id FROM page_str WHERE k = j.value ->> {i})"))
        .collect();
    let ctx_match: Vec<String> = ctx_cols
        .iter()
        .map(|c| format!("ctx.{c} = page_ctx.{c}"))
        .collect();
    let json_text = |v: &Value| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let imported = i64::from(imported);
    vec![
        Sql::new("DELETE FROM page_str", []),
        Sql::new("DELETE FROM page_ctx", []),
        Sql::new("DELETE FROM page_sess", []),
        // New rows go after the highest rowid; the time base is chosen by the first day.
        Sql::new(
            "UPDATE meta SET site_id = ?1, page_base = (SELECT COALESCE(MAX(rowid), 0) FROM ev), \
             ts_base = CASE WHEN EXISTS (SELECT 1 FROM ev) THEN ts_base ELSE ?2 END",
            binds![site_id, ts_base(day_start_ms)],
        ),
        Sql::new(
            "INSERT INTO page_str (k, s) SELECT key, value FROM json_each(?1)",
            binds![json_text(&json!(strings.items))],
        ),
        Sql::new(
            "INSERT OR IGNORE INTO dict (value) SELECT s FROM page_str",
            [],
        ),
        Sql::new(
            "UPDATE page_str SET id = (SELECT id FROM dict WHERE value = page_str.s)",
            [],
        ),
        Sql::new(
            format!(
                "INSERT INTO page_ctx (k, {ctx_list}) SELECT j.key, {} FROM json_each(?1) j",
                ctx_from_page.join(", ")
            ),
            binds![json_text(&Value::Array(context_rows))],
        ),
        Sql::new(
            format!("INSERT OR IGNORE INTO ctx ({ctx_list}) SELECT {ctx_list} FROM page_ctx"),
            [],
        ),
        Sql::new(
            format!(
                "UPDATE page_ctx SET id = (SELECT id FROM ctx WHERE {})",
                ctx_match.join(" AND ")
            ),
            [],
        ),
        Sql::new(
            "INSERT INTO page_sess (k, sid, at, first) \
             SELECT key, value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1)",
            binds![json_text(&Value::Array(sessions_json))],
        ),
        // A visit seen on an earlier page of the day keeps its session; a new one gets its
        // first event's rowid, or, when its first event is missing, a negative number that no
        // rowid equals (so, as in D1, it never counts as a visit).
        Sql::new(
            "INSERT OR IGNORE INTO stage (sid, session) SELECT p.sid, \
             CASE WHEN p.first THEN m.page_base + p.at + 1 ELSE -(m.page_base + p.at + 1) END \
             FROM page_sess p, meta m ORDER BY p.k",
            [],
        ),
        Sql::new(
            "UPDATE page_sess SET session = (SELECT session FROM stage WHERE sid = page_sess.sid)",
            [],
        ),
        Sql::new(
            "INSERT INTO ev (rowid, t, visitor, session, k, ctx, name, path, query, props, \
             engaged_ms, scroll, revenue_micros, revenue_currency, bot_reason) \
             SELECT m.page_base + j.key + 1, (j.value ->> 0) - m.ts_base, j.value ->> 1, \
             (SELECT session FROM page_sess WHERE k = j.value ->> 2), j.value ->> 3, \
             (SELECT id FROM page_ctx WHERE k = j.value ->> 4), \
             (SELECT id FROM page_str WHERE k = j.value ->> 5), \
             (SELECT id FROM page_str WHERE k = j.value ->> 6), \
             (SELECT id FROM page_str WHERE k = j.value ->> 7), \
             (SELECT id FROM page_str WHERE k = j.value ->> 8), \
             j.value ->> 9, j.value ->> 10, j.value ->> 11, \
             (SELECT id FROM page_str WHERE k = j.value ->> 12), \
             (SELECT id FROM page_str WHERE k = j.value ->> 13) \
             FROM json_each(?1) j, meta m ORDER BY j.key",
            binds![json_text(&Value::Array(rows))],
        ),
        // The day's range grows when this page follows the day's previous one; otherwise
        // (another day came in between) the page starts a new range of the day.
        Sql::new(
            "UPDATE days SET last_rowid = last_rowid + ?2 \
             WHERE day = ?1 AND imported = ?3 AND last_rowid = (SELECT page_base FROM meta)",
            binds![day_start_ms, n, imported],
        ),
        Sql::new(
            "INSERT INTO days (day, first_rowid, last_rowid, imported) \
             SELECT ?1, page_base + 1, page_base + ?2, ?3 FROM meta WHERE NOT EXISTS \
             (SELECT 1 FROM days WHERE day = ?1 AND imported = ?3 AND last_rowid = meta.page_base + ?2)",
            binds![day_start_ms, n, imported],
        ),
    ]
}

/// Step 0 of sealing the day starting at `day_start_ms`: removes collected (not imported)
/// rows of visits that started on that day or later — a partial copy an interrupted seal left,
/// never visible — and forgets the copy's session map.
pub fn clear_from(day_start_ms: i64) -> Vec<Sql> {
    vec![
        Sql::new(
            "DELETE FROM ev WHERE rowid IN (SELECT e.rowid FROM days d \
             JOIN ev e ON e.rowid BETWEEN d.first_rowid AND d.last_rowid \
             WHERE d.day >= ?1 AND d.imported = 0)",
            binds![day_start_ms],
        ),
        Sql::new(
            "DELETE FROM days WHERE day >= ?1 AND imported = 0",
            binds![day_start_ms],
        ),
        Sql::new("DELETE FROM stage", []),
    ]
}

/// Retention: removes the visits that started on days before `cutoff_ms` (a UTC day start),
/// imported ones too only when `include_imported`.
pub fn delete_days_before(cutoff_ms: i64, include_imported: bool) -> Vec<Sql> {
    vec![
        Sql::new(
            "DELETE FROM ev WHERE rowid IN (SELECT e.rowid FROM days d \
             JOIN ev e ON e.rowid BETWEEN d.first_rowid AND d.last_rowid \
             WHERE d.day < ?1 AND (d.imported = 0 OR ?2))",
            binds![cutoff_ms, include_imported],
        ),
        Sql::new(
            "DELETE FROM days WHERE day < ?1 AND (imported = 0 OR ?2)",
            binds![cutoff_ms, include_imported],
        ),
    ]
}

/// Readers count the visits that started before `ms` only (the end of the last sealed day):
/// the days wholly before it.
pub fn set_visible_until(ms: i64) -> Sql {
    Sql::new("UPDATE meta SET visible_until = ?1", binds![ms])
}

/// Whether an import page with this id was stored already (a row when it was).
pub fn batch_seen(id: &str) -> Sql {
    Sql::new("SELECT 1 AS seen FROM batches WHERE id = ?1", binds![id])
}

/// Records an import page's id, in the same request as its rows.
pub fn record_batch(id: &str) -> Sql {
    Sql::new("INSERT OR IGNORE INTO batches (id) VALUES (?1)", binds![id])
}

/// The site id the stats SQL binds as `?1` (set by every append as well).
pub fn set_site(site_id: &str) -> Sql {
    Sql::new("UPDATE meta SET site_id = ?1", binds![site_id])
}

/// What the registry (`shards` in D1) records of a shard; days are UTC day starts in ms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ShardStats {
    pub events: i64,
    pub sessions: i64,
    pub first_day: Option<i64>,
    pub last_day: Option<i64>,
}

/// One row: [`ShardStats`] (visible or not).
pub fn stats() -> Sql {
    Sql::new(
        "SELECT (SELECT COUNT(*) FROM ev) AS events, \
         (SELECT COUNT(*) FROM ev WHERE session = rowid) AS sessions, \
         (SELECT MIN(day) FROM days) AS first_day, (SELECT MAX(day) FROM days) AS last_day",
        [],
    )
}

/// Faster shard forms of the filtered stats queries (`stats::query`): the same SQL with its
/// `sel` step (the visits' events the filters select) read from `ev` directly — integer
/// columns, the filters matched on dictionary ids, only the days of the range read by rowid —
/// instead of through the decoding view, which would decode every column of every row.
pub mod fast {
    use super::*;
    use crate::stats::filter::{session_column, Binds, Filter};
    use crate::stats::query::{self, Goal, Scope};
    use crate::stats::rollup::Dimension;

    /// The start of the `sel` step `stats::query` writes, and what follows it.
    const SEL_START: &str = "WITH sel AS (SELECT * FROM events WHERE site_id = ?1 AND ts >= ?2 \
                             AND ts < ?3 + 86400000 AND bot = 0";
    const SEL_END: &str = "), ev AS (";

    /// The days whose visits can have events in [`?2` − 1 day, `?3` + 1 day): visits last at
    /// most a day. `d` ranges over `days`, `alias` over `ev`.
    fn day_rows(d: &str, alias: &str) -> String {
        format!(
            "main.days {d} JOIN main.ev {alias} ON {alias}.rowid BETWEEN {d}.first_rowid AND {d}.last_rowid \
             AND {d}.day >= ?2 - 172800000 AND {d}.day < ?3 + 86400000"
        )
    }

    const TS: &str = "(SELECT ts_base FROM meta)";

    fn dict_id(v: &str) -> String {
        format!("(SELECT id FROM dict WHERE value = {v})")
    }

    /// `filter`'s condition on the integer `session` of `sel`, binding exactly what
    /// `Filter::condition` binds, in its order (the rest of the query numbers on from there).
    /// The unary `+` keeps SQLite from building a temporary index over every row for the
    /// one lookup (measured: 10 s instead of a scan's tenth at 1 M events).
    fn condition(filter: &Filter, binds: &mut Binds) -> String {
        let in_range = format!("f.t + {TS} >= ?2 AND f.t + {TS} < ?3");
        if let Some(col) = session_column(filter.dimension) {
            let v = binds.push_text(&filter.value);
            let attribute = match CONTEXT_COLUMNS.iter().position(|c| *c == col) {
                Some(i) => format!(
                    "+f.ctx IN (SELECT id FROM ctx WHERE c{i} = {})",
                    dict_id(&v)
                ),
                None => format!("+f.{col} = {}", dict_id(&v)),
            };
            return format!(
                "session IN (SELECT f.rowid FROM {} WHERE f.rowid = f.session \
                 AND f.t + {TS} >= ?2 - 86400000 AND f.t + {TS} < ?3 AND {attribute})",
                day_rows("fd", "f")
            );
        }
        if filter.dimension == Dimension::Page {
            let v = binds.push_text(&filter.value);
            return format!(
                "session IN (SELECT f.session FROM {} WHERE {in_range} AND f.k & 7 = 0 \
                 AND +f.path = {})",
                day_rows("fd", "f"),
                dict_id(&v)
            );
        }
        // The other filters are rare on the hot path: D1's condition over the view, whose
        // sessions are text.
        let generic = filter.condition(binds);
        match generic.strip_prefix("session IN (") {
            Some(rest) => format!("printf('%012d', session) IN ({rest}"),
            None => generic,
        }
    }

    /// `sql` (built by `stats::query` for `scope`) with its `sel` step read from `ev`, with
    /// `columns` (text columns the rest of the query reads, decoded) besides the integer ones.
    /// The query unchanged (through the view) if it has no such step.
    fn shard_form(sql: Sql, scope: &Scope, columns: &[&str]) -> Sql {
        let end = match sql.text.find(SEL_END) {
            Some(end) if sql.text.starts_with(SEL_START) => end,
            _ => return sql,
        };
        let mut binds = Binds::new(scope.site, scope.from_ms, scope.to_ms);
        let conditions: String = scope
            .filters
            .iter()
            .map(|f| format!(" AND {}", condition(f, &mut binds)))
            .collect();
        if sql.binds.get(..binds.0.len()) != Some(&binds.0[..]) {
            return sql;
        }
        let decoded: String = columns
            .iter()
            .map(|c| format!(", {} AS {c}", decode(c)))
            .collect();
        let text = format!(
            "WITH sel AS (SELECT e.rowid AS id, e.t + {TS} AS ts, (e.t + {TS}) / 86400000 AS day, \
             e.visitor AS visitor, e.session AS session, {KIND} AS kind, e.engaged_ms AS engaged_ms, \
             e.revenue_micros AS revenue_micros{decoded} \
             FROM {} WHERE (SELECT site_id FROM meta) = ?1 \
             AND d.day + 86400000 <= (SELECT visible_until FROM meta) \
             AND e.t + {TS} >= ?2 AND e.t + {TS} < ?3 + 86400000 AND e.k & 8 = 0{conditions}{}",
            day_rows("d", "e"),
            &sql.text[end..]
        );
        Sql {
            text,
            binds: sql.binds,
        }
    }

    const KIND: &str = "CASE e.k & 7 WHEN 0 THEN 'pageview' WHEN 1 THEN 'engagement' \
                        WHEN 2 THEN 'outbound' WHEN 3 THEN 'download' WHEN 4 THEN 'custom' \
                        WHEN 5 THEN '404' END";

    /// A text column of `events`, decoded from `e` (session attributes only on a visit's
    /// first event, the one every query reads them from).
    fn decode(column: &str) -> String {
        match CONTEXT_COLUMNS.iter().position(|c| *c == column) {
            Some(i) => format!(
                "CASE WHEN e.rowid = e.session THEN (SELECT value FROM dict WHERE id = \
                 (SELECT c{i} FROM ctx WHERE id = e.ctx)) END"
            ),
            None => format!("(SELECT value FROM dict WHERE id = e.{column})"),
        }
    }

    /// The text columns a breakdown of `dimension` reads from `sel`.
    fn breakdown_columns(dimension: Dimension) -> Vec<&'static str> {
        match (session_column(dimension), dimension) {
            (Some(col), _) => vec![col],
            (None, Dimension::Page | Dimension::ExitPage) => vec!["path"],
            (None, Dimension::Prop) => vec!["name", "props"],
            _ => vec!["name"],
        }
    }

    /// `query::totals_raw` on a shard.
    pub fn totals(scope: &Scope) -> Sql {
        shard_form(query::totals_raw(scope), scope, &[])
    }

    /// `query::hourly` (filtered) on a shard.
    pub fn hourly(scope: &Scope) -> Sql {
        shard_form(query::hourly(scope), scope, &[])
    }

    /// `query::breakdown_part` on a shard.
    pub fn breakdown(scope: &Scope, dimension: Dimension, limit: u32) -> Sql {
        shard_form(
            query::breakdown_part(scope, dimension, limit),
            scope,
            &breakdown_columns(dimension),
        )
    }

    /// `query::goal` (filtered) on a shard.
    pub fn goal(scope: &Scope, goal: &Goal) -> Sql {
        shard_form(query::goal(scope, goal), scope, &["name", "path"])
    }

    /// `query::goal_revenue_raw` on a shard.
    pub fn goal_revenue(scope: &Scope, goal: &Goal) -> Sql {
        shard_form(
            query::goal_revenue_raw(scope, goal),
            scope,
            &["name", "path", "revenue_currency"],
        )
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::store::sqlite::{all, first, run};
    use rusqlite::Connection;

    pub fn shard() -> Connection {
        let db = Connection::open_in_memory().unwrap();
        crate::store::sqlite::like_workerd(&db);
        for m in MIGRATIONS {
            db.execute_batch(m).unwrap();
        }
        db
    }

    fn event(id: &str, session: &str, ts: i64) -> EnrichedEvent {
        EnrichedEvent {
            id: id.into(),
            site_id: "s".into(),
            ts,
            visitor: "0123456789abcdef0123456789abcdef".into(),
            session: session.into(),
            path: "/".into(),
            props: "{}".into(),
            country: "PT".into(),
            ..Default::default()
        }
    }

    #[test]
    fn migrations_run_twice() {
        let db = shard();
        for m in MIGRATIONS {
            db.execute_batch(m).unwrap();
        }
        let n: i64 = db
            .query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn the_view_decodes_kinds_in_event_kind_order() {
        let db = shard();
        let day = 20_000 * DAY_MS;
        let events: Vec<EnrichedEvent> = EventKind::ALL
            .iter()
            .enumerate()
            .map(|(i, k)| EnrichedEvent {
                kind: *k,
                ..event(&format!("e{i}"), "e0", day + i as i64)
            })
            .collect();
        for s in append("s", day, &events, false) {
            run(&db, &s);
        }
        run(&db, &set_visible_until(day + DAY_MS));
        #[derive(Deserialize)]
        struct Row {
            kind: String,
            visitor: String,
        }
        let rows: Vec<Row> = all(
            &db,
            &Sql::new("SELECT kind, visitor FROM events ORDER BY id", []),
        );
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        let want: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, want);
        assert_eq!(rows[0].visitor, "0000000000000000", "both halves alike");
        let stats: ShardStats = first(&db, &stats()).unwrap();
        assert_eq!(
            stats,
            ShardStats {
                events: 6,
                sessions: 1,
                first_day: Some(day),
                last_day: Some(day)
            }
        );
    }

    fn bound_bytes(statements: &[Sql]) -> usize {
        statements
            .iter()
            .flat_map(|s| &s.binds)
            .map(|b| match b {
                crate::store::SqlValue::Text(t) => t.len(),
                _ => 8,
            })
            .sum()
    }

    #[test]
    fn a_page_stays_under_its_event_and_byte_limits_and_a_statement_under_100_binds() {
        use crate::limits::{MAX_EVENT_NAME_BYTES, MAX_PROPS, MAX_PROP_VALUE_BYTES, MAX_URL_BYTES};
        // Every string as long as ingest lets it be, different in every event, with quotes
        // and control characters that JSON escapes.
        let long = |i: usize, n: usize| {
            format!("{i}\"\u{1}{}", "x".repeat(n))
                .chars()
                .take(n)
                .collect::<String>()
        };
        let props = |i: usize| {
            let map: serde_json::Map<String, Value> = (0..MAX_PROPS)
                .map(|k| {
                    (
                        format!("k{k}"),
                        Value::String(long(i + k, MAX_PROP_VALUE_BYTES)),
                    )
                })
                .collect();
            Value::Object(map).to_string()
        };
        let huge: Vec<EnrichedEvent> = (0..3_000)
            .map(|i| EnrichedEvent {
                name: long(i, MAX_EVENT_NAME_BYTES),
                path: long(i, MAX_URL_BYTES),
                query: long(i, MAX_URL_BYTES),
                referrer_host: long(i, 255),
                utm_campaign: long(i, MAX_URL_BYTES),
                city: long(i, 100),
                props: props(i),
                ..event(&format!("e{i}"), &format!("e{i}"), i as i64)
            })
            .collect();
        let small: Vec<EnrichedEvent> = (0..5_000)
            .map(|i| event(&format!("e{i}"), "e0", i as i64))
            .collect();
        for events in [&huge, &small] {
            let pages = pages(events);
            assert_eq!(pages.iter().map(|p| p.len()).sum::<usize>(), events.len());
            for page in pages {
                assert!(page.len() <= SHARD_PAGE_EVENTS);
                let statements = append("s", 0, page, false);
                let bytes = bound_bytes(&statements);
                assert!(
                    bytes <= SHARD_PAGE_MAX_BYTES,
                    "{bytes} B in {} events",
                    page.len()
                );
                assert!(statements
                    .iter()
                    .all(|s| s.binds.len() <= MAX_BOUND_PARAMETERS));
            }
        }
        assert_eq!(pages(&small)[0].len(), SHARD_PAGE_EVENTS);
        assert!(pages(&huge).len() > 3, "large events make smaller pages");
    }

    #[test]
    fn visitors_keep_eight_bytes_of_their_hash() {
        assert_eq!(visitor_int("ffffffffffffffff0000000000000000"), -1);
        assert_eq!(visitor_int("00000000000000000000000000000001"), 1);
        assert_eq!(
            visitor_text("0123456789abcdef0000000000000001"),
            "0123456789abcdee"
        );
        // Not a hash: hashed, stable, distinct.
        assert_eq!(visitor_int("v1-d0"), visitor_int("v1-d0"));
        assert_ne!(visitor_int("v1-d0"), visitor_int("v2-d0"));
        assert_ne!(visitor_int("+1"), 1);
    }
}
