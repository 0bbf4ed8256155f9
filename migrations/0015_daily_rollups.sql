CREATE TABLE rollups_daily (
  site_id TEXT NOT NULL,
  day INTEGER NOT NULL,        -- UTC ms of the local midnight starting the day in the site's time zone
  dimension TEXT NOT NULL,     -- as rollups_hourly
  value TEXT NOT NULL,         -- '(other)' sums what is beyond the day's top DAILY_ROLLUP_TOP values
  imported INTEGER NOT NULL DEFAULT 0,  -- 1: from an import (Plausible CSV, Vigia CSV)
  visitors INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
  visits INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0, engaged_ms INTEGER NOT NULL DEFAULT 0,
  events INTEGER NOT NULL DEFAULT 0, revenue_micros INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site_id, dimension, day, imported, value)
) WITHOUT ROWID;
CREATE TABLE rollup_state (site_id TEXT PRIMARY KEY, daily_until INTEGER NOT NULL);
