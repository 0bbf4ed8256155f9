//! `GET /api/export/events`: the raw events of a period as CSV, streamed page by page (keyset
//! on time and id) so memory stays flat, and bounded by `csv::MAX_EXPORT_ROWS`. The cold shards
//! of the period are read first (oldest month first), then D1.

use analytics_core::stats::export::{page, After, ExportRow};
use analytics_core::util::csv::{self, EXPORT_COLUMNS, EXPORT_PAGE_ROWS, MAX_EXPORT_ROWS};
use futures_util::stream;
use worker::{Env, Request, Response};

use super::stats::parse;
use crate::cold::{self, Store};
use crate::http::RouteResult;
use crate::session::Caller;

struct Cursor {
    env: Env,
    site: String,
    /// The stores still to read, the current one first.
    stores: Vec<Store>,
    from: i64,
    to: i64,
    after: After,
    sent: i64,
    header_sent: bool,
    done: bool,
}

async fn next_page(mut c: Cursor) -> Option<(worker::Result<Vec<u8>>, Cursor)> {
    if !c.header_sent {
        c.header_sent = true;
        return Some((Ok(csv::line(EXPORT_COLUMNS).into_bytes()), c));
    }
    if c.done {
        return None;
    }
    let limit = EXPORT_PAGE_ROWS.min(MAX_EXPORT_ROWS - c.sent);
    let sql = page(&c.site, c.from, c.to, &c.after, limit);
    let page: worker::Result<Vec<ExportRow>> = cold::read(&c.env, &c.stores[0], &sql).await;
    match page {
        Err(e) => {
            c.done = true;
            Some((Err(e), c))
        }
        Ok(rows) => {
            c.sent += rows.len() as i64;
            if (rows.len() as i64) < limit {
                // This store is done: the next starts from the period's beginning.
                c.stores.remove(0);
                c.after = After {
                    ts: c.from - 1,
                    id: String::new(),
                };
            } else if let Some(last) = rows.last() {
                c.after = After {
                    ts: last.ts,
                    id: last.id.clone(),
                };
            }
            c.done = c.stores.is_empty() || c.sent >= MAX_EXPORT_ROWS;
            let chunk: String = rows.iter().map(ExportRow::line).collect();
            Some((Ok(chunk.into_bytes()), c))
        }
    }
}

pub async fn events(req: Request, env: &Env, c: &Caller) -> RouteResult {
    let r = parse(&req, env, c).await?;
    let (from, to) = (r.period.from_ms(), r.period.to_ms());
    let cursor = Cursor {
        env: env.clone(),
        site: r.site.clone(),
        stores: cold::stores(env, &r.site, from, to).await?,
        from,
        to,
        after: After {
            ts: from - 1,
            id: String::new(),
        },
        sent: 0,
        header_sent: false,
        done: false,
    };
    let mut resp = Response::from_stream(stream::unfold(cursor, next_page))?;
    let h = resp.headers_mut();
    h.set("Content-Type", "text/csv; charset=utf-8")?;
    h.set(
        "Content-Disposition",
        &format!(
            "attachment; filename=\"vigia-{}-events-{}-{}.csv\"",
            r.site, r.period.from, r.period.to
        ),
    )?;
    h.set("X-Vigia-Export-Limit", &MAX_EXPORT_ROWS.to_string())?;
    Ok(resp)
}
