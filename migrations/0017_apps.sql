-- Apps (docs/apps.md): a site may be an app, whose installs upload usage through the
-- `vigia-agent` crate. Everything is filed by the internal site key (never reused), so an app
-- re-created under a deleted id reads none of the old installs.

-- web (the browser collector, hostnames) or app (the agent, a public app key, no hostnames).
ALTER TABLE sites ADD COLUMN kind TEXT NOT NULL DEFAULT 'web';
-- The app key shipped inside the app (public by nature; rotatable): `vpk_` + 32 hex digits.
ALTER TABLE sites ADD COLUMN app_key TEXT;
CREATE UNIQUE INDEX sites_app_key ON sites (app_key) WHERE app_key IS NOT NULL;

-- One row per install: a keyed hash of the agent's random install id, never the id itself.
CREATE TABLE app_installs (
  site_key INTEGER NOT NULL,
  install TEXT NOT NULL,
  first_seen INTEGER NOT NULL,        -- UTC ms of its first stored record
  last_seen INTEGER NOT NULL,
  app_version TEXT NOT NULL DEFAULT '',
  os TEXT NOT NULL DEFAULT 'other',
  os_version TEXT NOT NULL DEFAULT '',
  user_id INTEGER,                    -- app_users.id once the install registered an email
  dropped INTEGER NOT NULL DEFAULT 0, -- records the agent dropped from its full log, summed
  PRIMARY KEY (site_key, install)
) WITHOUT ROWID;
CREATE INDEX app_installs_user ON app_installs (user_id) WHERE user_id IS NOT NULL;

-- The records. (site_key, install, seq) is a record's identity: sent twice, stored once.
CREATE TABLE app_records (
  site_key INTEGER NOT NULL,
  install TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,                 -- session_start, session_end, feature, error, custom
  name TEXT NOT NULL DEFAULT '',
  session TEXT NOT NULL DEFAULT '',
  active_ms INTEGER NOT NULL DEFAULT 0,
  props TEXT NOT NULL DEFAULT '{}',
  app_version TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (site_key, install, seq)
) WITHOUT ROWID;
CREATE INDEX app_records_ts ON app_records (site_key, ts);

-- Batches seen, per install: a batch sent again (its answer was lost) stores nothing.
CREATE TABLE app_batches (
  site_key INTEGER NOT NULL,
  install TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  stored INTEGER NOT NULL,
  refused INTEGER NOT NULL,
  PRIMARY KEY (site_key, install, batch_id)
) WITHOUT ROWID;

-- Users who registered an email from an app, with their consent. No report goes to an address
-- before it is confirmed through the link mailed to it.
CREATE TABLE app_users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_key INTEGER NOT NULL,
  email TEXT NOT NULL,
  status TEXT NOT NULL,               -- pending, confirmed, unsubscribed
  consent TEXT NOT NULL,              -- the words the user agreed to
  consent_at INTEGER NOT NULL,
  confirm_hash TEXT,                  -- hash of the pending confirmation token
  confirm_expires INTEGER,
  confirmed_at INTEGER,
  unsubscribed_at INTEGER,
  UNIQUE (site_key, email)
);

-- Records per app and per install and rate window: the upload's rate limits.
CREATE TABLE app_rate (
  site_key INTEGER NOT NULL,
  install TEXT NOT NULL,              -- '' for the whole app
  win INTEGER NOT NULL,
  records INTEGER NOT NULL,
  PRIMARY KEY (site_key, install, win)
) WITHOUT ROWID;

-- Metering: per site (or app), UTC month and source, what was received, stored and refused.
CREATE TABLE metering (
  site_key INTEGER NOT NULL,
  month TEXT NOT NULL,                -- YYYY-MM
  source TEXT NOT NULL,               -- events, activity, app
  received INTEGER NOT NULL DEFAULT 0,
  stored INTEGER NOT NULL DEFAULT 0,
  refused INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site_key, month, source)
) WITHOUT ROWID;
