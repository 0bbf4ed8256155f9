//! `POST /api/event`: the collector's batches. A body that cannot be a batch is refused; in one
//! that can, each bad event or field goes alone and the 202 says so (`analytics_core::ingest::wire`).

use analytics_core::enrich::bot::FetchMetadata;
use analytics_core::enrich::client_hints::ClientHints;
use analytics_core::enrich::ip::IpHeaders;
use analytics_core::enrich::session::needs_previous_salt;
use analytics_core::governance::audit::FingerprintScope;
use analytics_core::ingest::pipeline::{
    address_fingerprint, enrich_with_drops, visitor_under, RequestFacts,
};
use analytics_core::limits::{BUFFER_FULL_RETRY_AFTER_S, MAX_BODY_BYTES};
use analytics_core::{ingest::wire, stats, ApiError};
use worker::{Env, Method, Request, RequestInit, Response};

use crate::db::{cached_site_config, d1, daily_salt, existing_salt};
use crate::http::{header, json, now_ms, random_hex, read_body, Failure, RouteResult};

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
        return json(202, &batch.receipt(request_id));
    }

    let salt = daily_salt(&db, &stats::day_of_ms(now), random_hex::<32>).await?;
    let user_agent = header(&req, "User-Agent").unwrap_or_default();
    let (cf_ip, xff, real_ip) = (
        header(&req, "CF-Connecting-IP"),
        header(&req, "X-Forwarded-For"),
        header(&req, "X-Real-IP"),
    );
    let (country, region, city) = edge_geo(&req, env);
    let edge_bot = edge_bot_facts(&req, env);
    let origin = header(&req, "Origin");
    let (fetch_site, fetch_mode, fetch_dest) = (
        header(&req, "Sec-Fetch-Site"),
        header(&req, "Sec-Fetch-Mode"),
        header(&req, "Sec-Fetch-Dest"),
    );
    // The low-entropy client hints every Chromium browser sends unasked on secure requests.
    let (ch_ua, ch_mobile, ch_platform) = (
        header(&req, "Sec-CH-UA"),
        header(&req, "Sec-CH-UA-Mobile"),
        header(&req, "Sec-CH-UA-Platform"),
    );
    let facts = RequestFacts {
        ip_headers: IpHeaders {
            cf_connecting_ip: cf_ip.as_deref(),
            x_forwarded_for: xff.as_deref(),
            x_real_ip: real_ip.as_deref(),
        },
        user_agent: &user_agent,
        has_accept_language: header(&req, "Accept-Language").is_some(),
        origin: origin.as_deref(),
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
        asn: edge_bot.asn,
        verified_bot_category: edge_bot.verified_bot_category.as_deref(),
    };
    let enriched = enrich_with_drops(&batch, &site, &facts, &salt, now, request_id)?;
    let dropped = enriched.dropped;
    record_dropped(&db, &site.id, now, &dropped).await;
    let mut events = enriched.events;
    if events.is_empty() {
        // Everything was dropped on purpose (referrer spam): nothing to buffer.
        return json(202, &batch.receipt_after(request_id, &dropped));
    }
    if needs_previous_salt(now) {
        let yesterday = stats::format_day(now.div_euclid(stats::DAY_MS) - 1);
        if let Some(previous) = existing_salt(&db, &yesterday).await? {
            let previous_visitor = visitor_under(&previous, &site, &facts);
            for event in &mut events {
                event.previous_visitor = previous_visitor.clone();
            }
        }
    }
    // The per-address limit counts by the address's fingerprint under the site's key of the day.
    let address_key =
        crate::keys::fingerprint_key(env, FingerprintScope::Site(&site.id), now).await?;
    let address = address_fingerprint(&address_key, &facts);
    // The IP, the user agent and the salt end here; only `events` and the fingerprint travel on.

    let mut init = RequestInit::new();
    let headers = worker::Headers::new();
    headers.set(crate::buffer::ADDRESS_HEADER, &address)?;
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(&events)?.into()));
    let buffer = env
        .durable_object("BUFFER")?
        .id_from_name(&site.id)?
        .get_stub()?;
    let mut answer = buffer
        .fetch_with_request(Request::new_with_init("https://buffer/append", &init)?)
        .await?;
    match answer.status_code() {
        200 => json(202, &batch.receipt_after(request_id, &dropped)),
        429 => {
            let limited: serde_json::Value = answer.json().await?;
            let retry_after = limited["retry_after"].as_u64().unwrap_or(60);
            let who = limited["limited"].as_str().unwrap_or("site");
            let refused = limited["refused"].as_i64().unwrap_or(0);
            if analytics_core::ingest::rate_limit::report_refusals(refused) {
                // For the suspicious-activity rules; losing a count is better than a 500 here.
                let recorded = db
                    .prepare(analytics_core::ingest::rate_limit::RECORD_REFUSALS_SQL)
                    .bind(&[
                        site.id.as_str().into(),
                        limited["window_start"].as_f64().unwrap_or(0.0).into(),
                        "ingest".into(),
                        (refused as f64).into(),
                    ]);
                if let Ok(statement) = recorded {
                    if let Err(e) = statement.run().await {
                        worker::console_error!("refusals not recorded: {e}");
                    }
                }
            }
            let mut resp = crate::http::error_response(&ApiError::new(
                429,
                "rate_limited",
                format!("too many events from this {who}; retry in {retry_after} s"),
            ))?;
            resp.headers_mut()
                .set("Retry-After", &retry_after.to_string())?;
            Ok(resp)
        }
        503 => {
            let mut resp = crate::http::error_response(&ApiError::new(
                503,
                "buffer_full",
                "ingest is backed up; retry later",
            ))?;
            resp.headers_mut()
                .set("Retry-After", &BUFFER_FULL_RETRY_AFTER_S.to_string())?;
            Ok(resp)
        }
        status => Err(Failure::Internal(worker::Error::RustError(format!(
            "buffer answered {status}: {}",
            answer.text().await.unwrap_or_default()
        )))),
    }
}

/// Adds the batch's events dropped on purpose to the day's counts. Best effort: a count lost to
/// a D1 hiccup must not fail the ingest of the events kept.
async fn record_dropped(
    db: &worker::D1Database,
    site_id: &str,
    now: i64,
    dropped: &analytics_core::ingest::dropped::Dropped,
) {
    let day = stats::day_of_ms(now);
    for (reason, n) in dropped.iter() {
        let statement = db
            .prepare(analytics_core::ingest::dropped::DROPPED_EVENTS_SQL)
            .bind(&[
                site_id.into(),
                day.as_str().into(),
                reason.as_str().into(),
                (n as f64).into(),
            ]);
        let result = match statement {
            Ok(s) => s.run().await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
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
