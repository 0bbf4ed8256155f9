-- Tokens and accounts (issue #13 point 7) and rate-limited public links (point 8).

-- API tokens expire, and may be limited to one site. Tokens made before this migration get
-- the default life (90 days) from now, so no script breaks at once.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN site_id TEXT;       -- NULL: every site the owner can read
UPDATE api_tokens SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 90 * 86400000
  WHERE expires_at IS NULL;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Invitations to a site: a person becomes a member only by accepting. Keyed by email (whether
-- or not an account has it), so the inviter learns nothing about which accounts exist.
CREATE TABLE site_invites (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  email TEXT NOT NULL COLLATE NOCASE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'auditor', 'viewer')),
  invited_by INTEGER REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  UNIQUE (site_id, email)
);
CREATE INDEX site_invites_email ON site_invites (email);

-- Public-link requests per address fingerprint (keyed hash, never the address) and rate
-- window; pruned daily with the other rate counts.
CREATE TABLE share_rate (
  win INTEGER NOT NULL,               -- start of the rate window (UTC ms)
  fingerprint TEXT NOT NULL,
  requests INTEGER NOT NULL,
  PRIMARY KEY (win, fingerprint)
);
