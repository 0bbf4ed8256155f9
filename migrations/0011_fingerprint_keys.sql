-- Address fingerprints (audit log, activity, ingest's per-address limit, login throttling)
-- are HMACs under a key derived per UTC day and per scope (a site, or the instance) from this
-- day's random secret (analytics_core::audit::fingerprint_key). The daily job deletes past
-- days' secrets, so a stored fingerprint can no longer be reversed by hashing every address.
CREATE TABLE fingerprint_keys (
  day TEXT PRIMARY KEY,               -- UTC day, YYYY-MM-DD
  secret TEXT NOT NULL                -- hex, 32 random bytes; never leaves the Worker
);

-- The single instance-wide key, kept forever beside the data: one of its fingerprints was
-- reversed to its address by enumeration. Gone; old entries keep their fingerprints, which
-- nothing can reverse once the key is deleted.
DELETE FROM instance_keys WHERE name = 'audit_ip';
