-- Vigia's own failed logins (analytics-core/src/login.rs): the throttle counts them per account
-- and per address fingerprint, and the hourly instance alert rules read them. One row per
-- failure whose password was checked (requests refused by a lock write nothing); the daily
-- cron deletes rows older than two days.
CREATE TABLE login_failures (
  at INTEGER NOT NULL,                -- UTC ms
  account TEXT NOT NULL,              -- keyed hash of the email tried (never the email itself)
  user_id INTEGER,                    -- the account's id when the email has one, else NULL
  address TEXT NOT NULL DEFAULT ''    -- address fingerprint (keyed hash); never the address
);
CREATE INDEX login_failures_account ON login_failures (account, at);
CREATE INDEX login_failures_address ON login_failures (address, at);
CREATE INDEX login_failures_at ON login_failures (at);
