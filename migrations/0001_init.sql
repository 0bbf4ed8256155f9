-- Vigia schema, first cut. Times are UTC milliseconds since the epoch; `day` columns are
-- UTC YYYY-MM-DD. No column ever holds an IP address, a user agent string or a cookie id.

CREATE TABLE sites (
  id TEXT PRIMARY KEY,                -- the data-site value in the snippet
  name TEXT NOT NULL,
  timezone TEXT NOT NULL DEFAULT 'UTC',
  query_allow_list TEXT NOT NULL DEFAULT '',   -- comma-separated parameter names kept besides UTM
  hash_routing INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);

CREATE TABLE site_hostnames (
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  hostname TEXT NOT NULL,
  PRIMARY KEY (site_id, hostname)
);

CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,        -- pbkdf2-sha256$iterations$salt$hash
  is_admin INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'auditor', 'viewer')),
  PRIMARY KEY (user_id, site_id)
);

CREATE TABLE sessions_auth (
  token_hash TEXT PRIMARY KEY,        -- sha256 of the cookie value; the value itself is never stored
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE TABLE salts (
  day TEXT PRIMARY KEY,               -- UTC day the salt is for
  salt TEXT NOT NULL                  -- hex, 32 random bytes; never leaves the Worker
);

CREATE TABLE events (
  id TEXT PRIMARY KEY,                -- idempotency key: request id + index
  site_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  day TEXT NOT NULL,
  visitor TEXT NOT NULL,
  session TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  path TEXT NOT NULL,
  query TEXT NOT NULL DEFAULT '',
  referrer_host TEXT NOT NULL DEFAULT '',
  referrer_source TEXT NOT NULL DEFAULT '',
  channel TEXT NOT NULL DEFAULT '',
  utm_source TEXT NOT NULL DEFAULT '',
  utm_medium TEXT NOT NULL DEFAULT '',
  utm_campaign TEXT NOT NULL DEFAULT '',
  utm_term TEXT NOT NULL DEFAULT '',
  utm_content TEXT NOT NULL DEFAULT '',
  browser TEXT NOT NULL DEFAULT '',
  browser_version TEXT NOT NULL DEFAULT '',
  os TEXT NOT NULL DEFAULT '',
  os_version TEXT NOT NULL DEFAULT '',
  device TEXT NOT NULL DEFAULT '',
  country TEXT NOT NULL DEFAULT '',
  region TEXT NOT NULL DEFAULT '',
  city TEXT NOT NULL DEFAULT '',
  screen TEXT NOT NULL DEFAULT '',
  engaged_ms INTEGER NOT NULL DEFAULT 0,
  scroll INTEGER NOT NULL DEFAULT 0,
  props TEXT NOT NULL DEFAULT '{}',
  bot INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_site_ts ON events (site_id, ts);
