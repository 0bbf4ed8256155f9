-- Retention per site (analytics-core/src/compliance.rs): raw events older than this many days
-- are deleted by the daily job. 395 days = 13 months, so "last 12 months" stays filterable.
ALTER TABLE sites ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 395;

-- One row per site per daily run: what the retention job deleted.
CREATE TABLE purges (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  cutoff INTEGER NOT NULL,
  events_deleted INTEGER NOT NULL
);
CREATE INDEX purges_site ON purges (site_id, id);
