-- Why an event was flagged as a bot (issue #14): one of analytics_core::enrich::bot::BotReason
-- as text ('known_crawler', 'no_fetch_metadata', 'hosting_network', …). '' for people, and for
-- bots flagged before reasons were recorded: old rows keep their flag and are not re-flagged.
ALTER TABLE events ADD COLUMN bot_reason TEXT NOT NULL DEFAULT '';
