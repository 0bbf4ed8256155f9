-- Email reports (analytics-core/src/report) and suspicious-activity alerts
-- (analytics-core/src/alerts.rs).

-- A member's choice per site. No row: owners get the monthly report, nobody gets weekly ones.
CREATE TABLE report_subscriptions (
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  monthly INTEGER NOT NULL,
  weekly INTEGER NOT NULL,
  PRIMARY KEY (site_id, user_id)
);

-- One row per report and recipient: claimed before sending, so a cron firing twice sends once.
CREATE TABLE report_sends (
  site_id TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  kind TEXT NOT NULL,                 -- monthly, weekly
  period_from TEXT NOT NULL,          -- first local day of the period (YYYY-MM-DD)
  status TEXT NOT NULL,               -- sending, sent, failed
  attempts INTEGER NOT NULL,
  provider TEXT NOT NULL DEFAULT '',
  message_id TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL,
  PRIMARY KEY (site_id, user_id, kind, period_from)
);

-- Ingest requests (and activity records) refused by the rate limits, per site and rate window
-- (ingest is best effort: the buffer reports the running count on the first refusal and every
-- 50th).
CREATE TABLE rate_limited (
  site_id TEXT NOT NULL,
  win INTEGER NOT NULL,               -- start of the rate window (UTC ms)
  source TEXT NOT NULL DEFAULT 'ingest', -- ingest (requests) or activity (records)
  refused INTEGER NOT NULL,           -- running count within the window
  PRIMARY KEY (site_id, win, source)
);

-- Activity records per site and rate window, for the activity API's rate limit.
CREATE TABLE activity_rate (
  site_id TEXT NOT NULL,
  win INTEGER NOT NULL,               -- start of the rate window (UTC ms)
  records INTEGER NOT NULL,
  PRIMARY KEY (site_id, win)
);

CREATE TABLE alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL,
  rule TEXT NOT NULL,
  subject TEXT NOT NULL,              -- address fingerprint, user id, or '' for the whole site
  window_start INTEGER NOT NULL,
  window_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  threshold INTEGER NOT NULL,
  detail TEXT NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  emailed_at INTEGER,
  UNIQUE (site_id, rule, subject, window_start)
);
CREATE INDEX alerts_site ON alerts (site_id, id);
CREATE INDEX alerts_unmailed ON alerts (site_id) WHERE emailed_at IS NULL;
