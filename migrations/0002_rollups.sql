-- Hourly rollups: one row per (site, hour, dimension, value) with additive metrics, written in
-- the same D1 batch as the raw events they summarise (see analytics-core/src/rollup.rs for
-- the definitions). The dashboard reads these for ranges of a day or more.
CREATE TABLE rollups_hourly (
  site_id TEXT NOT NULL,
  hour INTEGER NOT NULL,            -- UTC ms at the start of the hour
  dimension TEXT NOT NULL,          -- total, page, entry_page, exit_page, source, channel, utm_*, country, region, city, browser, os, device, event, prop, outbound, download, bots
  value TEXT NOT NULL,
  visitors INTEGER NOT NULL DEFAULT 0,       -- unique per UTC day
  hour_visitors INTEGER NOT NULL DEFAULT 0,  -- unique per hour (total only; the hourly chart)
  pageviews INTEGER NOT NULL DEFAULT 0,
  visits INTEGER NOT NULL DEFAULT 0,
  bounces INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  engaged_ms INTEGER NOT NULL DEFAULT 0,
  events INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, dimension, hour, value)
) WITHOUT ROWID;

-- One row per flushed buffer batch: a flush retried after D1 committed it is recognised and
-- its rollup deltas are not added twice (raw events are idempotent by id already).
CREATE TABLE flush_log (
  site_id TEXT NOT NULL,
  upto_seq INTEGER NOT NULL,
  flushed_at INTEGER NOT NULL,
  PRIMARY KEY (site_id, upto_seq)
);
