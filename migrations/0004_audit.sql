-- Vigia's own audit log (analytics-core/src/audit.rs). Append-only: the API has no route that
-- changes it, and these triggers refuse UPDATE and DELETE from anywhere.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,                -- UTC ms
  site_id TEXT,                       -- NULL for instance-wide actions (logins, users, tokens)
  actor_user_id INTEGER,              -- kept as a number: deleting a user keeps their entries
  actor_email TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  outcome INTEGER NOT NULL,           -- the HTTP status the action got
  details TEXT NOT NULL DEFAULT '{}', -- sanitised request body (no password, token or secret)
  country TEXT NOT NULL DEFAULT '',
  client TEXT NOT NULL DEFAULT '',    -- browser and OS
  ip_hash TEXT NOT NULL DEFAULT ''    -- HMAC of the address under an instance key; never the address
);
CREATE INDEX audit_log_site ON audit_log (site_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Keys that live as long as the instance (the audit log's address-hashing key).
CREATE TABLE instance_keys (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
