-- Daily rollups (issue #16): one row per site, local day (in the site's time zone), dimension
-- and value, bounded per day and dimension to the top DAILY_ROLLUP_TOP values plus one
-- '(other)' row, so a 30-day overview reads thousands of rows instead of the hundreds of
-- thousands of hourly ones. Built from `rollups_hourly` once a day is complete (then that day's
-- hourly rows are deleted except `total`, kept for the hourly chart), from raw events when
-- hourly rows are gone (time zone change) or never existed (imported raw history), and written
-- by imports (imported = 1). See analytics-core/src/store/rollups_daily.rs.
CREATE TABLE rollups_daily (
  site_id TEXT NOT NULL,
  day INTEGER NOT NULL,        -- UTC ms of the local midnight starting the day in the site's time zone (floored to the hour, as periods are)
  dimension TEXT NOT NULL,     -- as rollups_hourly
  value TEXT NOT NULL,         -- '(other)' sums what is beyond the day's top DAILY_ROLLUP_TOP values
  imported INTEGER NOT NULL DEFAULT 0,  -- 1: from an import (Plausible CSV, Vigia CSV); counted only on days without collected rows
  visitors INTEGER NOT NULL DEFAULT 0,  -- unique per UTC day, summed over the day's UTC days
  pageviews INTEGER NOT NULL DEFAULT 0,
  visits INTEGER NOT NULL DEFAULT 0,
  bounces INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  engaged_ms INTEGER NOT NULL DEFAULT 0,
  events INTEGER NOT NULL DEFAULT 0,
  revenue_micros INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, dimension, day, imported, value)
) WITHOUT ROWID;

-- How far each site's collected data is in rollups_daily: every local day before daily_until
-- is there (and its hourly rows other than `total` are gone). Days in [daily_until, raw_until)
-- lost their hourly rows to an earlier build and must be rebuilt from raw events (after a time
-- zone change cleared them).
CREATE TABLE rollup_state (
  site_id TEXT PRIMARY KEY,
  daily_until INTEGER NOT NULL,
  raw_until INTEGER NOT NULL DEFAULT 0
);
