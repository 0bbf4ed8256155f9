//! `POST /api/sites/{site}/import`: one CSV file of another tool's export (or Vigia's own)
//! into the site's history. The parsing and the SQL are in `analytics_core::import`; this reads
//! the body under its limit, picks the parser and runs the statements as one D1 batch, so a
//! file is either all written or not at all.

use analytics_core::import::{
    self, plausible, vigia, ImportAnswer, ImportFormat, MAX_IMPORT_BYTES,
};
use analytics_core::ApiError;
use worker::{Env, Request};

use super::sites::batch;
use super::stats::site_zone;
use crate::db::d1;
use crate::http::{json, now_ms, query_pairs, query_value, read_body, RouteResult};
use crate::session::Caller;

/// The skip reason of events of sessions that started yesterday or today (UTC): live
/// ingest's days, not history.
const TOO_RECENT: &str = "session started yesterday or today (UTC): not history";

pub async fn import(mut req: Request, env: &Env, c: &Caller) -> RouteResult {
    let pairs = query_pairs(&req)?;
    let format = match query_value(&pairs, "format") {
        None | Some("") => ImportFormat::Plausible,
        Some(f) => ImportFormat::parse(f).ok_or_else(|| {
            ApiError::bad_request(
                "bad_format",
                format!("format must be one of {}", ImportFormat::NAMES.join(", ")),
            )
        })?,
    };
    // The table is checked before the body is read: a wrong name costs no upload.
    let table = match format {
        ImportFormat::Plausible => {
            let name = query_value(&pairs, "table").unwrap_or_default();
            Some(plausible::table_of(name).ok_or_else(|| {
                ApiError::bad_request(
                    "unknown_table",
                    format!(
                        "table {name:?} is not a table of a Plausible export; one of {}",
                        plausible::Table::NAMES.join(", ")
                    ),
                )
            })?)
        }
        ImportFormat::Vigia => None,
    };
    let body = read_body(&mut req, MAX_IMPORT_BYTES).await?;
    let text = String::from_utf8(body)
        .map_err(|_| ApiError::bad_request("not_utf8", "the file is not UTF-8 text"))?;
    let site = c.site();
    match (format, table) {
        (ImportFormat::Plausible, Some((table, range))) => {
            let tz = site_zone(env, site).await?;
            let today = analytics_core::stats::period::local_day_number(now_ms(), &tz);
            let parsed = plausible::parse(table, &text, &tz, range, today)?;
            batch(&d1(env)?, &import::replace_daily(site, &parsed.import)).await?;
            let (days, from, to) = import::day_span(&parsed.import.rows, &tz);
            json(
                200,
                &ImportAnswer {
                    format,
                    table: table.as_str().to_string(),
                    rows_imported: parsed.rows_read,
                    rows_skipped: parsed.skipped.total(),
                    skipped_reasons: parsed.skipped.reasons(),
                    skipped: parsed.skipped.listed.clone(),
                    days,
                    from,
                    to,
                    daily_rows: parsed.import.rows.len() as u64,
                },
            )
        }
        _ => {
            // Raw events: into the cold shards, marked imported; their daily rollups are
            // built by the next sealing run (hourly, or POST /api/admin/seal).
            let parsed = vigia::parse(site, &text)?;
            let tz = site_zone(env, site).await?;
            let (days, from, to) = import::event_day_span(&parsed.events, &tz);
            let read = parsed.events.len() as u64;
            let stored = crate::cold::import_events(env, site, parsed.events).await?;
            let mut skipped_reasons = parsed.skipped.reasons();
            if stored.too_recent > 0 {
                skipped_reasons.insert(TOO_RECENT.into(), stored.too_recent);
            }
            json(
                200,
                &ImportAnswer {
                    format,
                    table: "events".into(),
                    rows_imported: read - stored.too_recent,
                    rows_skipped: parsed.skipped.total() + stored.too_recent,
                    skipped_reasons,
                    skipped: parsed.skipped.listed.clone(),
                    days,
                    from,
                    to,
                    daily_rows: 0,
                },
            )
        }
    }
}
