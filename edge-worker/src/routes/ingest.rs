//! `POST /api/event`: the collector's batches. A body that cannot be a batch is refused; in one
//! that can, each bad event or field goes alone and the 202 says so (`analytics_core::ingest::wire`).

use analytics_core::enrich::bot::FetchMetadata;
use analytics_core::enrich::client_hints::ClientHints;
use analytics_core::enrich::ip::IpHeaders;
use analytics_core::enrich::session::needs_previous_salt;
use analytics_core::governance::audit::FingerprintScope;
use analytics_core::ingest::buffer::{
    full_error, Arrived, METER_RECEIVED_HEADER, METER_REFUSED_HEADER,
};
use analytics_core::ingest::dropped::Dropped;
use analytics_core::ingest::event::EnrichedEvent;
use analytics_core::ingest::pipeline::{
    address_fingerprint, enrich_with_drops, visitor_under, Enriched, RequestFacts, SiteConfig,
};
use analytics_core::ingest::rate_limit::{report_refusals, Refusal};
use analytics_core::limits::MAX_BODY_BYTES;
use analytics_core::store::ingest::{count_dropped, record_refusals};
use analytics_core::{ingest::wire, stats, ApiError};
use worker::{D1Database, Env, Method, Request, RequestInit, Response};

use crate::db::{cached_site_config, d1, daily_salt, existing_salt};
use crate::http::{header, json, now_ms, random_hex, read_body, Failure, RouteResult};

/// Reads and checks the body, looks up the site, enriches the events (the request's address
/// and user agent end there) and hands them to the site's buffer, which applies the rate
/// limits; the 202 says what was kept (`wire::Receipt`).
///
/// Metering (docs/metering.md): from the moment the batch names a known site, its events are
/// counted as received, and those refused here (unreadable, foreign origin or host, referrer
/// spam) as refused; the counts go to the site's buffer with the append, or alone when nothing
/// is left to append. No D1 write: the buffer's flush carries them.
pub async fn post_event(mut req: Request, env: &Env, request_id: &str) -> RouteResult {
    let body = read_body(&mut req, MAX_BODY_BYTES).await?;
    let batch = wire::parse_batch(&body)?;
    let db = d1(env)?;
    let now = now_ms();
    let site = cached_site_config(&db, &batch.site, now)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown site {:?}", batch.site)))?;
    if batch.events.is_empty() {
        // Nothing survived reading (or nothing was sent): nothing to enrich or buffer.
        meter_only(env, &site.id, Arrived::refused_whole(batch.sent)).await;
        return json(202, &batch.receipt(request_id));
    }

    let salt = daily_salt(&db, &stats::day_of_ms(now), random_hex::<32>).await?;
    let edge = EdgeHeaders::read(&req, env);
    let facts = edge.facts();
    let Enriched {
        mut events,
        dropped,
    } = match enrich_with_drops(&batch, &site, &facts, &salt, now, request_id) {
        Ok(enriched) => enriched,
        Err(refused) => {
            // A foreign origin or a host not the site's: the whole batch is refused.
            meter_only(env, &site.id, Arrived::refused_whole(batch.sent)).await;
            return Err(refused.into());
        }
    };
    record_dropped(&db, &site.id, now, &dropped).await;
    let arrived = Arrived::at_route(batch.sent, events.len());
    if events.is_empty() {
        // Everything was dropped on purpose (referrer spam): nothing to buffer.
        meter_only(env, &site.id, arrived).await;
        return json(202, &batch.receipt_after(request_id, &dropped));
    }
    if needs_previous_salt(now) {
        carry_yesterdays_visitor(&db, &site, &facts, now, &mut events).await?;
    }
    // The per-address limit counts by the address's fingerprint under the site's key of the day.
    let address_key =
        crate::keys::fingerprint_key(env, FingerprintScope::Site(&site.id), now).await?;
    let address = address_fingerprint(&address_key, &facts);
    // The IP, the user agent and the salt end here; only `events` and the fingerprint travel on.

    append_to_buffer(env, &db, &site.id, &events, &address, arrived).await?;
    json(202, &batch.receipt_after(request_id, &dropped))
}

/// The request's headers (and `request.cf`) that enrichment reads, owned for as long as the
/// `RequestFacts` that borrow them.
struct EdgeHeaders {
    user_agent: String,
    ip: [Option<String>; 3],
    has_accept_language: bool,
    origin: Option<String>,
    fetch: [Option<String>; 3],
    client_hints: [Option<String>; 3],
    geo: (Option<String>, Option<String>, Option<String>),
    bot: EdgeBotFacts,
}

impl EdgeHeaders {
    fn read(req: &Request, env: &Env) -> EdgeHeaders {
        let all = |names: [&str; 3]| names.map(|name| header(req, name));
        EdgeHeaders {
            user_agent: header(req, "User-Agent").unwrap_or_default(),
            ip: all(["CF-Connecting-IP", "X-Forwarded-For", "X-Real-IP"]),
            has_accept_language: header(req, "Accept-Language").is_some(),
            origin: header(req, "Origin"),
            fetch: all(["Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest"]),
            // The low-entropy client hints every Chromium browser sends unasked on secure
            // requests.
            client_hints: all(["Sec-CH-UA", "Sec-CH-UA-Mobile", "Sec-CH-UA-Platform"]),
            geo: edge_geo(req, env),
            bot: edge_bot_facts(req, env),
        }
    }

    fn facts(&self) -> RequestFacts<'_> {
        let [cf_ip, xff, real_ip] = &self.ip;
        let [fetch_site, fetch_mode, fetch_dest] = &self.fetch;
        let [ch_ua, ch_mobile, ch_platform] = &self.client_hints;
        let (country, region, city) = &self.geo;
        RequestFacts {
            ip_headers: IpHeaders {
                cf_connecting_ip: cf_ip.as_deref(),
                x_forwarded_for: xff.as_deref(),
                x_real_ip: real_ip.as_deref(),
            },
            user_agent: &self.user_agent,
            has_accept_language: self.has_accept_language,
            origin: self.origin.as_deref(),
            fetch: FetchMetadata {
                site: fetch_site.as_deref(),
                mode: fetch_mode.as_deref(),
                dest: fetch_dest.as_deref(),
            },
            client_hints: ClientHints {
                ua: ch_ua.as_deref(),
                mobile: ch_mobile.as_deref(),
                platform: ch_platform.as_deref(),
            },
            country: country.as_deref(),
            region: region.as_deref(),
            city: city.as_deref(),
            asn: self.bot.asn,
            verified_bot_category: self.bot.verified_bot_category.as_deref(),
        }
    }
}

/// Just after midnight, gives the events the visitor's hash under yesterday's salt, so the
/// buffer can continue a session that began yesterday.
async fn carry_yesterdays_visitor(
    db: &D1Database,
    site: &SiteConfig,
    facts: &RequestFacts<'_>,
    now: i64,
    events: &mut [EnrichedEvent],
) -> worker::Result<()> {
    let yesterday = stats::format_day(now.div_euclid(stats::DAY_MS) - 1);
    if let Some(previous) = existing_salt(db, &yesterday).await? {
        let previous_visitor = visitor_under(&previous, site, facts);
        for event in events {
            event.previous_visitor = previous_visitor.clone();
        }
    }
    Ok(())
}

/// Hands the events to the site's buffer; its refusals become the route's 429 (rate limited)
/// or 503 (buffer full).
async fn append_to_buffer(
    env: &Env,
    db: &D1Database,
    site_id: &str,
    events: &[EnrichedEvent],
    address: &str,
    arrived: Arrived,
) -> Result<(), Failure> {
    let mut init = RequestInit::new();
    let headers = meter_headers(arrived)?;
    headers.set(crate::buffer::ADDRESS_HEADER, address)?;
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(events)?.into()));
    let mut answer = buffer_of(env, site_id)?
        .fetch_with_request(Request::new_with_init("https://buffer/append", &init)?)
        .await?;
    match answer.status_code() {
        200 => Ok(()),
        429 => {
            let refusal: Refusal = answer.json().await?;
            if report_refusals(refusal.refused) {
                record_refusal(db, site_id, &refusal).await;
            }
            Err(refusal.error().into())
        }
        503 => Err(full_error().into()),
        status => Err(Failure::Internal(worker::Error::RustError(format!(
            "buffer answered {status}: {}",
            answer.text().await.unwrap_or_default()
        )))),
    }
}

fn buffer_of(env: &Env, site_id: &str) -> worker::Result<worker::Stub> {
    env.durable_object("BUFFER")?
        .id_from_name(site_id)?
        .get_stub()
}

fn meter_headers(arrived: Arrived) -> worker::Result<worker::Headers> {
    let headers = worker::Headers::new();
    headers.set(METER_RECEIVED_HEADER, &arrived.received.to_string())?;
    headers.set(METER_REFUSED_HEADER, &arrived.refused.to_string())?;
    Ok(headers)
}

/// Hands a request's counts alone to the site's buffer, when nothing of it is appended (one
/// Durable Object request and a write to its own SQLite; no D1 write). Best effort: a count
/// lost to a hiccup must not change the answer the sender gets.
async fn meter_only(env: &Env, site_id: &str, arrived: Arrived) {
    if arrived.is_empty() {
        return;
    }
    let sent = async {
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(meter_headers(arrived)?)
            .with_body(Some(site_id.to_string().into()));
        let answer = buffer_of(env, site_id)?
            .fetch_with_request(Request::new_with_init("https://buffer/meter", &init)?)
            .await?;
        match answer.status_code() {
            200 => Ok(()),
            status => Err(worker::Error::RustError(format!(
                "buffer answered {status}"
            ))),
        }
    };
    if let Err(e) = sent.await {
        worker::console_error!("metering counts not recorded: {e}");
    }
}

/// Reports the window's running count of refused requests, for the suspicious-activity rules.
/// Best effort: losing a count is better than a 500 here.
async fn record_refusal(db: &D1Database, site_id: &str, refusal: &Refusal) {
    let sql = record_refusals(site_id, refusal.window_start, "ingest", refusal.refused);
    if let Err(e) = crate::db::run(db, &sql).await {
        worker::console_error!("refusals not recorded: {e}");
    }
}

/// Adds the batch's events dropped on purpose to the day's counts. Best effort: a count lost to
/// a D1 hiccup must not fail the ingest of the events kept.
async fn record_dropped(db: &D1Database, site_id: &str, now: i64, dropped: &Dropped) {
    let day = stats::day_of_ms(now);
    for (reason, n) in dropped.iter() {
        if let Err(e) = crate::db::run(db, &count_dropped(site_id, &day, reason, n)).await {
            worker::console_error!("dropped events not counted: {e}");
        }
    }
}

/// The collector posts with sendBeacon from the site's own origin; answer CORS preflights
/// for `fetch` fallbacks too.
pub fn preflight() -> worker::Result<Response> {
    let mut resp = Response::empty()?.with_status(204);
    let h = resp.headers_mut();
    h.set("Access-Control-Allow-Origin", "*")?;
    h.set("Access-Control-Allow-Methods", "POST, OPTIONS")?;
    h.set("Access-Control-Allow-Headers", "Content-Type")?;
    h.set("Access-Control-Max-Age", "86400")?;
    Ok(resp)
}

/// Whether this deployment trusts the `X-Vigia-*` test headers in place of `request.cf`.
fn trusts_test_headers(env: &Env) -> bool {
    crate::config::settings(env).trust_geo_headers
}

/// Bot facts from `request.cf`.
#[derive(Debug, Default)]
pub struct EdgeBotFacts {
    pub asn: Option<u32>,
    pub verified_bot_category: Option<String>,
}

/// The network (`request.cf.asn`) and Cloudflare's verified-bot verdict
/// (`request.cf.verifiedBotCategory`, or `botManagement.verifiedBot` alone, with Bot
/// Management). As for geo, a deployment with `VIGIA_TRUST_GEO_HEADERS = "true"` (the test
/// suite, never production) may pass them as `X-Vigia-Cf-Asn` and
/// `X-Vigia-Cf-Verified-Bot-Category` headers instead, since `wrangler dev` has no real `cf`.
pub fn edge_bot_facts(req: &Request, env: &Env) -> EdgeBotFacts {
    if trusts_test_headers(env) {
        let asn = header(req, "X-Vigia-Cf-Asn");
        let category = header(req, "X-Vigia-Cf-Verified-Bot-Category");
        if asn.is_some() || category.is_some() {
            return EdgeBotFacts {
                asn: asn.and_then(|a| a.trim().parse().ok()),
                verified_bot_category: category,
            };
        }
    }
    let Some(cf) = req.cf() else {
        return EdgeBotFacts::default();
    };
    let verified_bot_category = cf
        .verified_bot_category()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            cf.bot_management()
                .filter(|b| b.verified_bot())
                .map(|_| "verified".to_string())
        });
    EdgeBotFacts {
        asn: cf.asn(),
        verified_bot_category,
    }
}

/// Country, region and city from `request.cf`. Under `wrangler dev` offline there is no real
/// `cf`, so a deployment that sets `VIGIA_TRUST_GEO_HEADERS = "true"` (the test suite, never
/// production) may pass them as `X-Vigia-Geo-Country` / `-Region` / `-City` headers instead.
pub fn edge_geo(req: &Request, env: &Env) -> (Option<String>, Option<String>, Option<String>) {
    if trusts_test_headers(env) {
        if let Some(country) = header(req, "X-Vigia-Geo-Country") {
            return (
                Some(country),
                header(req, "X-Vigia-Geo-Region"),
                header(req, "X-Vigia-Geo-City"),
            );
        }
    }
    let cf = req.cf();
    (
        cf.and_then(|c| c.country()),
        cf.and_then(|c| c.region()),
        cf.and_then(|c| c.city()),
    )
}
