-- Dashboard: API tokens, goals, funnels and the optional public link.

-- A public read-only link per site: off (NULL) by default. The token is a capability that
-- owners and admins can show again, so it is stored as is.
ALTER TABLE sites ADD COLUMN share_token TEXT;
CREATE UNIQUE INDEX sites_share_token ON sites (share_token) WHERE share_token IS NOT NULL;

-- Personal API tokens for the stats API, shown once: only their hash is kept.
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,    -- sha256 of the token
  prefix TEXT NOT NULL,               -- first characters, to recognise a token in a list
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
);

CREATE TABLE goals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('event', 'page')),
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (site_id, kind, value)
);

CREATE TABLE funnels (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  steps TEXT NOT NULL,                -- JSON array of {kind, value}
  created_at INTEGER NOT NULL
);

-- Invitations: an instance admin creates the account, the person sets their password through a
-- one-time link. Only the token's hash is kept.
CREATE TABLE invites (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
