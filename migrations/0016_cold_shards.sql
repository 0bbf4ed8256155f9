-- The cold path (docs/storage.md): sealed days of raw events leave D1 for per-site, per-month
-- SQLite Durable Objects ("shards", named `<site_key>:<YYYY-MM>` by the internal site key that
-- is never reused). D1 keeps where each site's sealing has got to and which shards exist.

-- Sessions that started before `sealed_until` (UTC ms, a UTC midnight) live in shards; later
-- ones in D1's `events`. Moving a day and advancing this happen in one D1 batch, and shard
-- readers count only sessions that started before it, so no event is ever counted twice.
CREATE TABLE seal_state (
  site_key INTEGER PRIMARY KEY,
  sealed_until INTEGER NOT NULL
);

-- One row per shard: what the registry knows of it (fan-out reads it to find the shards of a
-- range; the capacity figures and site deletion read it too).
CREATE TABLE shards (
  site_key INTEGER NOT NULL,
  period TEXT NOT NULL,            -- YYYY-MM (UTC)
  events INTEGER NOT NULL DEFAULT 0,
  sessions INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site_key, period)
) WITHOUT ROWID;

-- Local days (in the site's zone) that received imported raw events and whose imported daily
-- rollups are still to be built from them (the hourly job, or POST /api/admin/seal, builds them).
CREATE TABLE import_days (
  site_id TEXT NOT NULL,
  day_start INTEGER NOT NULL,
  day_end INTEGER NOT NULL,
  PRIMARY KEY (site_id, day_start)
) WITHOUT ROWID;
