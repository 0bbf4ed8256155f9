//! `GET /api/export/events`: the raw events of a period as CSV, streamed page by page (keyset
//! on time and id) so memory stays flat, and bounded by `csv::MAX_EXPORT_ROWS`.

use analytics_core::ingest::wire::format_micros;
use analytics_core::util::csv::{self, EXPORT_COLUMNS, EXPORT_PAGE_ROWS, MAX_EXPORT_ROWS};
use futures_util::stream;
use serde::Deserialize;
use worker::{Env, Request, Response};

use super::stats::parse;
use crate::db::d1;
use crate::http::RouteResult;
use crate::session::Caller;

#[derive(Deserialize)]
struct Row {
    id: String,
    ts: f64,
    kind: String,
    name: String,
    path: String,
    query: String,
    referrer_host: String,
    referrer_source: String,
    channel: String,
    utm_source: String,
    utm_medium: String,
    utm_campaign: String,
    utm_term: String,
    utm_content: String,
    browser: String,
    browser_version: String,
    os: String,
    os_version: String,
    device: String,
    country: String,
    region: String,
    city: String,
    screen: String,
    engaged_ms: f64,
    scroll: f64,
    props: String,
    session: String,
    bot: f64,
    revenue_micros: f64,
    revenue_currency: String,
}

impl Row {
    fn line(&self) -> String {
        csv::line([
            csv::iso_time(self.ts as i64),
            self.kind.clone(),
            self.name.clone(),
            self.path.clone(),
            self.query.clone(),
            self.referrer_host.clone(),
            self.referrer_source.clone(),
            self.channel.clone(),
            self.utm_source.clone(),
            self.utm_medium.clone(),
            self.utm_campaign.clone(),
            self.utm_term.clone(),
            self.utm_content.clone(),
            self.browser.clone(),
            self.browser_version.clone(),
            self.os.clone(),
            self.os_version.clone(),
            self.device.clone(),
            self.country.clone(),
            self.region.clone(),
            self.city.clone(),
            self.screen.clone(),
            (self.engaged_ms as i64).to_string(),
            (self.scroll as i64).to_string(),
            self.props.clone(),
            self.session.clone(),
            (self.bot as i64).to_string(),
            // Exact: one event's revenue is at most MAX_REVENUE_MICROS, well inside a double.
            if self.revenue_currency.is_empty() {
                String::new()
            } else {
                format_micros(self.revenue_micros as i128)
            },
            self.revenue_currency.clone(),
        ])
    }
}

const PAGE_SQL: &str = "SELECT id, ts, kind, name, path, query, referrer_host, referrer_source, channel, \
    utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, browser_version, os, os_version, \
    device, country, region, city, screen, engaged_ms, scroll, props, session, bot, revenue_micros, \
    revenue_currency FROM events \
    WHERE site_id = ?1 AND ts >= ?2 AND ts < ?3 AND (ts > ?4 OR (ts = ?4 AND id > ?5)) \
    ORDER BY ts, id LIMIT ?6";

struct Cursor {
    env: Env,
    site: String,
    from: i64,
    to: i64,
    after: (i64, String),
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
    let page: worker::Result<Vec<Row>> = async {
        d1(&c.env)?
            .prepare(PAGE_SQL)
            .bind(&[
                c.site.as_str().into(),
                (c.from as f64).into(),
                (c.to as f64).into(),
                (c.after.0 as f64).into(),
                c.after.1.as_str().into(),
                (limit as f64).into(),
            ])?
            .all()
            .await?
            .results()
    }
    .await;
    match page {
        Err(e) => {
            c.done = true;
            Some((Err(e), c))
        }
        Ok(rows) => {
            c.sent += rows.len() as i64;
            c.done = (rows.len() as i64) < limit || c.sent >= MAX_EXPORT_ROWS;
            if let Some(last) = rows.last() {
                c.after = (last.ts as i64, last.id.clone());
            }
            let chunk: String = rows.iter().map(Row::line).collect();
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
        from,
        to,
        after: (from - 1, String::new()),
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
