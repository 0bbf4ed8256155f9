-- Security (issue #13, points 3, 4 and 6): deleted sites stay deleted, the audit log records
-- truth only, erasure erases.

-- 1. Internal site keys, never reused. A site id can be deleted and taken again by anyone;
-- its audit entries (immutable) must not come back with it. Every site gets a key from this
-- AUTOINCREMENT registry when it is created (the trigger below, so every way of creating a
-- site gets one); AUTOINCREMENT never hands out a key twice, even after deletions. The
-- registry keeps which id a key was given to and when it was deleted, for the instance log.
CREATE TABLE site_keys (
  site_key INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,                   -- the site id the key was given to
  created_at INTEGER NOT NULL,
  deleted_at INTEGER                  -- NULL while the site exists
);
ALTER TABLE sites ADD COLUMN site_key INTEGER;
INSERT INTO site_keys (id, created_at) SELECT id, created_at FROM sites ORDER BY created_at, id;
UPDATE sites SET site_key = (SELECT MAX(k.site_key) FROM site_keys k WHERE k.id = sites.id);
CREATE UNIQUE INDEX sites_site_key ON sites (site_key);

CREATE TRIGGER sites_key_on_insert AFTER INSERT ON sites
BEGIN
  INSERT INTO site_keys (id, created_at) VALUES (NEW.id, NEW.created_at);
  UPDATE sites SET site_key = (SELECT MAX(site_key) FROM site_keys WHERE id = NEW.id) WHERE id = NEW.id;
END;
CREATE TRIGGER sites_key_on_delete AFTER DELETE ON sites
BEGIN
  UPDATE site_keys SET deleted_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE site_key = OLD.site_key;
END;
CREATE TRIGGER sites_key_is_fixed BEFORE UPDATE OF site_key ON sites
WHEN OLD.site_key IS NOT NULL AND NEW.site_key IS NOT OLD.site_key
BEGIN SELECT RAISE(ABORT, 'a site key never changes'); END;

-- 2. The audit log: entries scoped by site key; anonymous entries fold into counted rows.
ALTER TABLE audit_log ADD COLUMN site_key INTEGER;   -- the site's key when the entry was made
ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1; -- requests this row stands for
ALTER TABLE audit_log ADD COLUMN last_at INTEGER;    -- the last folded request (UTC ms)
ALTER TABLE audit_log ADD COLUMN fold_key TEXT;      -- window|site key|fingerprint|action|outcome, anonymous rows only
CREATE INDEX audit_log_site_key ON audit_log (site_key, id);
CREATE UNIQUE INDEX audit_log_fold ON audit_log (fold_key) WHERE fold_key IS NOT NULL;

-- The append-only guard is dropped for the rewrites below and restored at the end.
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;

-- Existing entries go to the current key of their site, unless they came before the site's
-- last successful deletion: those belong to the deleted site, and keep no key (the instance
-- log still shows them, with the id).
UPDATE audit_log SET site_key = (SELECT s.site_key FROM sites s WHERE s.id = audit_log.site_id)
WHERE site_id IS NOT NULL
  AND id > COALESCE((SELECT MAX(d.id) FROM audit_log d WHERE d.site_id = audit_log.site_id
                     AND d.action = 'site_delete' AND d.outcome BETWEEN 200 AND 299), 0);

-- 3. Erasure. Ids erased before this migration were compared still percent-encoded, so ids
-- with a space, '/', '@' or letters outside ASCII were never erased, and each erased id stayed
-- in clear in the erasure's target. Decode each erased id (SQL has no URL decoding: each
-- character becomes its UTF-8 hex, each %XX its two digits, and unhex() turns the whole back),
-- erase its activity now, and replace it everywhere by a pseudonym.
CREATE TABLE erased_ids_0010 (site_id TEXT NOT NULL, raw TEXT NOT NULL, clear TEXT NOT NULL,
  PRIMARY KEY (site_id, raw));
WITH RECURSIVE dec(site_id, raw, rest, hx) AS (
  SELECT site_id, substr(target, 6), substr(target, 6), '' FROM audit_log
  WHERE action = 'user_data_delete' AND target LIKE 'user %' AND site_id IS NOT NULL
  UNION ALL
  SELECT site_id, raw,
    CASE WHEN substr(rest, 1, 1) = '%' THEN substr(rest, 4) ELSE substr(rest, 2) END,
    hx || CASE WHEN substr(rest, 1, 1) = '%' THEN upper(substr(rest, 2, 2)) ELSE hex(substr(rest, 1, 1)) END
  FROM dec WHERE rest <> ''
)
INSERT OR IGNORE INTO erased_ids_0010 (site_id, raw, clear)
SELECT site_id, raw, COALESCE(CAST(unhex(hx) AS TEXT), raw) FROM dec WHERE rest = '';
-- One pseudonym per site and decoded id: '~' and 16 random hex digits (not a keyed hash: SQL
-- has no HMAC; the mapping is dropped below, so nobody can trace a pseudonym back).
CREATE TABLE pseudonyms_0010 (site_id TEXT NOT NULL, clear TEXT NOT NULL, pseudonym TEXT NOT NULL,
  PRIMARY KEY (site_id, clear));
INSERT OR IGNORE INTO pseudonyms_0010 (site_id, clear, pseudonym)
SELECT site_id, clear, '~' || lower(hex(randomblob(8))) FROM erased_ids_0010;
DELETE FROM activity WHERE EXISTS (SELECT 1 FROM erased_ids_0010 e
  WHERE e.site_id = activity.site_id AND (e.clear = activity.user_id OR e.raw = activity.user_id));
UPDATE OR REPLACE alerts SET subject = 'user ' || (SELECT p.pseudonym FROM pseudonyms_0010 p
  WHERE p.site_id = alerts.site_id AND (alerts.subject = p.clear OR alerts.subject = 'user ' || p.clear))
WHERE EXISTS (SELECT 1 FROM pseudonyms_0010 p
  WHERE p.site_id = alerts.site_id AND (alerts.subject = p.clear OR alerts.subject = 'user ' || p.clear));
UPDATE audit_log SET target = 'user ' || (SELECT p.pseudonym FROM erased_ids_0010 e
  JOIN pseudonyms_0010 p ON p.site_id = e.site_id AND p.clear = e.clear
  WHERE e.site_id = audit_log.site_id AND e.raw = substr(audit_log.target, 6))
WHERE action = 'user_data_delete' AND target LIKE 'user %' AND site_id IS NOT NULL;
-- Activity searches and exports kept the user id they searched for in their details: from now
-- on only as a keyed hash; before, every such id (erased or not: the log cannot be edited
-- when an id is erased later) becomes a pseudonym.
INSERT OR IGNORE INTO pseudonyms_0010 (site_id, clear, pseudonym)
SELECT site_id, json_extract(details, '$.user_id'), '~' || lower(hex(randomblob(8))) FROM audit_log
WHERE action IN ('activity_search', 'export_activity') AND site_id IS NOT NULL AND json_valid(details)
  AND json_type(details) = 'object' AND json_type(details, '$.user_id') = 'text';
UPDATE audit_log SET details = json_set(details, '$.user_id', (SELECT p.pseudonym FROM pseudonyms_0010 p
  WHERE p.site_id = audit_log.site_id AND p.clear = json_extract(audit_log.details, '$.user_id')))
WHERE action IN ('activity_search', 'export_activity') AND site_id IS NOT NULL AND json_valid(details)
  AND json_type(details) = 'object' AND json_type(details, '$.user_id') = 'text';
-- Details cut to a JSON string (too long to keep whole) cannot be rewritten field by field.
UPDATE audit_log SET details = '{}'
WHERE action IN ('activity_search', 'export_activity')
  AND (NOT json_valid(details) OR json_type(details) <> 'object') AND details LIKE '%user_id%';
-- The mappings are dropped: nobody can trace a pseudonym back to its id.
DROP TABLE erased_ids_0010;
DROP TABLE pseudonyms_0010;

-- The append-only guard, restored. Rows are never deleted; an entry is never changed, except
-- that a folded anonymous row (fold_key set) may raise its count and last_at.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN OLD.fold_key IS NULL OR NEW.fold_key IS NOT OLD.fold_key OR NEW.id IS NOT OLD.id
  OR NEW.at IS NOT OLD.at OR NEW.site_id IS NOT OLD.site_id OR NEW.site_key IS NOT OLD.site_key
  OR NEW.actor_user_id IS NOT OLD.actor_user_id OR NEW.actor_email IS NOT OLD.actor_email
  OR NEW.action IS NOT OLD.action OR NEW.target IS NOT OLD.target OR NEW.outcome IS NOT OLD.outcome
  OR NEW.details IS NOT OLD.details OR NEW.country IS NOT OLD.country OR NEW.client IS NOT OLD.client
  OR NEW.ip_hash IS NOT OLD.ip_hash OR NEW.count < OLD.count OR NEW.last_at < OLD.last_at
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
