-- Apps (docs/apps.md), email registration: an install is linked to a user's address only when
-- the link mailed to that address is followed. Until then the pending link waits here, with the
-- words the user agreed to; the token itself is never stored, only its hash.
CREATE TABLE app_links (
  site_key INTEGER NOT NULL,
  install TEXT NOT NULL,              -- the install's keyed hash
  user_id INTEGER NOT NULL,           -- app_users.id (pending until a link is confirmed)
  token_hash TEXT NOT NULL,
  consent TEXT NOT NULL,
  consent_at INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY (site_key, install, user_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX app_links_token ON app_links (token_hash);
CREATE INDEX app_links_user ON app_links (user_id);

-- Confirmation mails sent per install and per address (keyed hash) and day: a public app key
-- must not let anyone mail an address over and over.
CREATE TABLE app_mail_rate (
  site_key INTEGER NOT NULL,
  subject TEXT NOT NULL,              -- 'install <hash>' or 'address <hash>'
  win INTEGER NOT NULL,
  mails INTEGER NOT NULL,
  PRIMARY KEY (site_key, subject, win)
) WITHOUT ROWID;
