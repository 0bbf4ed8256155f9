-- Server-side activity reported by a site's own backend (analytics-core/src/activity.rs).
-- The backend authenticates with a per-site secret key; only its hash is kept.
ALTER TABLE sites ADD COLUMN activity_key_hash TEXT;
CREATE UNIQUE INDEX sites_activity_key ON sites (activity_key_hash) WHERE activity_key_hash IS NOT NULL;

CREATE TABLE activity (
  id TEXT PRIMARY KEY,                -- request id + index
  site_id TEXT NOT NULL,
  ts INTEGER NOT NULL,                -- when Vigia received it (UTC ms)
  day TEXT NOT NULL,
  type TEXT NOT NULL,                 -- login, logout, login_failed, token_refresh, page_view, data_*, file_*, error, custom, export
  user_id TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL DEFAULT '',
  entity_type TEXT NOT NULL DEFAULT '',
  entity_id TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,              -- success, failure, error
  status_code INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  browser TEXT NOT NULL DEFAULT '',
  os TEXT NOT NULL DEFAULT '',
  device TEXT NOT NULL DEFAULT '',
  ip_hash TEXT NOT NULL DEFAULT '',   -- HMAC of the reported address under the instance key; never the address
  details TEXT NOT NULL DEFAULT '{}'  -- sanitised: no password, token, secret or authorization values
);
CREATE INDEX activity_site_ts ON activity (site_id, ts);
CREATE INDEX activity_site_user ON activity (site_id, user_id, ts);
CREATE INDEX activity_site_entity ON activity (site_id, entity_type, entity_id, ts);
CREATE INDEX activity_site_session ON activity (site_id, session_id, ts);
