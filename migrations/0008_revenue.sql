-- Revenue on custom events, kept exactly: integer millionths of the currency unit (a negative
-- amount is a refund) and the ISO 4217 code ('' when the event carries no revenue).
ALTER TABLE events ADD COLUMN revenue_micros INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN revenue_currency TEXT NOT NULL DEFAULT '';

-- Summed revenue per rollup row. Rows of dimension `revenue` (value: currency, U+001F, event
-- name) carry it, so unfiltered goal stats read revenue per currency from rollups.
ALTER TABLE rollups_hourly ADD COLUMN revenue_micros INTEGER NOT NULL DEFAULT 0;
