-- Events Vigia refused to store on purpose, counted per site, UTC day and reason, so the
-- dashboard's Bots view can say how many were dropped and why (issue #14). `reason` is one of
-- analytics_core's closed set of drop reasons (today: 'referrer_spam', from the maintained
-- referrer-spam blocklist). Counts only: nothing about the request is kept.
CREATE TABLE dropped_events (
  site_id TEXT NOT NULL,
  day TEXT NOT NULL,                  -- YYYY-MM-DD (UTC)
  reason TEXT NOT NULL,
  events INTEGER NOT NULL,
  PRIMARY KEY (site_id, day, reason)
);
