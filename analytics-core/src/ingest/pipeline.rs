//! The ingestion pipeline: validated batch + request facts → enriched events, with the IP and
//! the raw user agent used and then dropped. The Worker only gathers `RequestFacts`.

use crate::enrich::{
    bot, client_hints, geo, ip, referrer, screen, spam, url_clean, useragent, visitor,
};
use crate::error::ApiError;
use crate::ingest::event::EnrichedEvent;
use crate::ingest::wire::{IncomingBatch, IncomingEvent};

/// What the Worker knows about the request, beyond the body.
#[derive(Debug, Default, Clone)]
pub struct RequestFacts<'a> {
    pub ip_headers: ip::IpHeaders<'a>,
    pub user_agent: &'a str,
    pub has_accept_language: bool,
    /// The `Origin` header, as sent.
    pub origin: Option<&'a str>,
    /// The `Sec-Fetch-*` headers, as sent.
    pub fetch: bot::FetchMetadata<'a>,
    /// The low-entropy User-Agent Client Hints (`Sec-CH-UA`, `-Mobile`, `-Platform`), as sent.
    pub client_hints: client_hints::ClientHints<'a>,
    pub country: Option<&'a str>,
    pub region: Option<&'a str>,
    pub city: Option<&'a str>,
    /// Bot signals from the edge: Cloudflare's `request.cf.asn` and its verified-bot category
    /// (Bot Management only). The `Sec-CH-UA` brands (for a headless brand) are in
    /// `client_hints`.
    pub asn: Option<u32>,
    pub verified_bot_category: Option<&'a str>,
}

/// The site as ingest needs it.
#[derive(Debug, Clone, Default)]
pub struct SiteConfig {
    pub id: String,
    pub hostnames: Vec<String>,
    pub query_allow_list: Vec<String>,
    pub hash_routing: bool,
}

impl SiteConfig {
    /// A page belongs to the site when its host is one of the site's hostnames, with or
    /// without a leading `www.`.
    pub fn allows_host(&self, host: &str) -> bool {
        let bare = host.trim_start_matches("www.");
        self.hostnames.iter().any(|h| {
            h.eq_ignore_ascii_case(host) || h.trim_start_matches("www.").eq_ignore_ascii_case(bare)
        })
    }
}

/// What the `Origin` header says about where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginCheck {
    /// No origin to check: no header (`curl`, a server), or `null` (an opaque origin: a
    /// sandboxed frame, a privacy-sensitive context). Not refused, but counted as a bot.
    Absent,
    /// A page on one of the site's hostnames (any scheme and port, with or without `www.`).
    Site,
    /// A page elsewhere: refused, whatever URL the body names.
    Foreign,
}

/// Checks the `Origin` header against the site's hostnames. Browsers set it on every POST and
/// a page's script cannot change it, so unlike the URL in the body it says where the request
/// was really sent from.
pub fn check_origin(site: &SiteConfig, origin: Option<&str>) -> OriginCheck {
    let Some(origin) = origin
        .map(str::trim)
        .filter(|o| !o.is_empty() && *o != "null")
    else {
        return OriginCheck::Absent;
    };
    match url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    {
        Some(host) if site.allows_host(host.trim_start_matches('[').trim_end_matches(']')) => {
            OriginCheck::Site
        }
        _ => OriginCheck::Foreign,
    }
}

/// The request's address as the per-address rate limit knows it: its keyed fingerprint under
/// `key` (the site's fingerprint key of the day, `audit::fingerprint_key`). Empty without an
/// address (only outside Cloudflare, which always sets `CF-Connecting-IP`).
pub fn address_fingerprint(key: &[u8], facts: &RequestFacts) -> String {
    crate::governance::audit::ip_fingerprint(key, ip::client_ip(&facts.ip_headers))
}

/// The request's visitor hash under another (yesterday's) salt.
pub fn visitor_under(salt: &[u8], site: &SiteConfig, facts: &RequestFacts) -> String {
    visitor::visitor_hash(
        salt,
        &site.id,
        ip::client_ip(&facts.ip_headers),
        facts.user_agent,
    )
}

/// A batch's events to store, and those dropped on purpose (referrer spam), counted.
#[derive(Debug, Default)]
pub struct Enriched {
    pub events: Vec<EnrichedEvent>,
    pub dropped: crate::ingest::dropped::Dropped,
}

/// `enrich_with_drops`, the stored events only.
pub fn enrich_batch(
    batch: &IncomingBatch,
    site: &SiteConfig,
    facts: &RequestFacts,
    salt: &[u8],
    now_ms: i64,
    request_id: &str,
) -> Result<Vec<EnrichedEvent>, ApiError> {
    enrich_with_drops(batch, site, facts, salt, now_ms, request_id).map(|e| e.events)
}

/// Enriches a batch's events: refuses a request from a foreign origin (403) or an event on a
/// host outside the site (403), drops and counts referrer spam, and turns each other event into
/// the stored event (`Enriched`).
pub fn enrich_with_drops(
    batch: &IncomingBatch,
    site: &SiteConfig,
    facts: &RequestFacts,
    salt: &[u8],
    now_ms: i64,
    request_id: &str,
) -> Result<Enriched, ApiError> {
    let origin = check_origin(site, facts.origin);
    if origin == OriginCheck::Foreign {
        return Err(ApiError::new(
            403,
            "origin_not_allowed",
            format!(
                "this request was sent from a page outside site {:?}'s hostnames",
                site.id
            ),
        ));
    }
    let sender = Sender::of(site, facts, salt, origin);
    let mut out = Enriched {
        events: Vec::with_capacity(batch.events.len()),
        ..Default::default()
    };
    for incoming in &batch.events {
        let index = incoming.index;
        // Reading has parsed this URL already; a failure here is still a clean 400.
        let url = url::Url::parse(&incoming.url).map_err(|_| {
            ApiError::bad_request(
                "bad_url",
                format!("event {index}: url is not an absolute URL"),
            )
        })?;
        let clean = url_clean::clean(&url, &site.query_allow_list, site.hash_routing);
        if !site.allows_host(&clean.host) {
            return Err(ApiError::forbidden(format!(
                "event {index}: host {:?} is not one of site {:?}'s hostnames",
                clean.host, site.id
            )));
        }
        if spam::is_spam_referrer(incoming.referrer.as_deref()) {
            out.dropped
                .add(crate::ingest::dropped::DropReason::ReferrerSpam);
            continue;
        }
        out.events
            .push(sender.event(incoming, clean, site, now_ms, request_id));
    }
    Ok(out)
}

/// What the request says about every event of its batch: the browser, whether a bot sent it,
/// where from, and the visitor hash. The address and the raw user agent end here.
struct Sender {
    ua: useragent::UserAgentInfo,
    bot_reason: Option<bot::BotReason>,
    geo: geo::Geo,
    visitor: String,
}

impl Sender {
    fn of(site: &SiteConfig, facts: &RequestFacts, salt: &[u8], origin: OriginCheck) -> Sender {
        Sender {
            ua: useragent::parse_with_hints(facts.user_agent, &facts.client_hints),
            bot_reason: bot::bot_reason(&bot::BotSignals {
                user_agent: facts.user_agent,
                has_accept_language: facts.has_accept_language,
                has_origin: origin == OriginCheck::Site,
                fetch: facts.fetch,
                sec_ch_ua: facts.client_hints.ua,
                asn: facts.asn,
                verified_bot_category: facts.verified_bot_category,
            }),
            geo: geo::from_edge(facts.country, facts.region, facts.city),
            visitor: visitor_under(salt, site, facts),
        }
    }

    /// One kept event, from its cleaned URL and the sender.
    fn event(
        &self,
        incoming: &IncomingEvent,
        clean: url_clean::CleanUrl,
        site: &SiteConfig,
        now_ms: i64,
        request_id: &str,
    ) -> EnrichedEvent {
        let source = referrer::classify(
            incoming.referrer.as_deref(),
            &clean.host,
            &site.hostnames,
            &clean.utm[0],
            &clean.utm[1],
        );
        let [utm_source, utm_medium, utm_campaign, utm_term, utm_content] = clean.utm;
        let (revenue_micros, revenue_currency) = incoming
            .revenue
            .as_ref()
            .map(|r| (r.micros, r.currency.clone()))
            .unwrap_or_default();
        let index = incoming.index;
        EnrichedEvent {
            // The index as sent, zero-padded so ids sort in batch order: events of one request
            // share a timestamp, and funnels order steps by (ts, id).
            id: format!("{request_id}-{index:02}"),
            site_id: site.id.clone(),
            ts: now_ms,
            visitor: self.visitor.clone(),
            session: String::new(),
            kind: incoming.kind,
            name: incoming.name.clone().unwrap_or_default(),
            path: clean.path,
            query: clean.query,
            referrer_host: source.host,
            referrer_source: source.source,
            channel: source.channel.as_str().into(),
            utm_source,
            utm_medium,
            utm_campaign,
            utm_term,
            utm_content,
            browser: self.ua.browser.clone(),
            browser_version: self.ua.browser_version.clone(),
            os: self.ua.os.clone(),
            os_version: self.ua.os_version.clone(),
            device: self.ua.device.as_str().to_string(),
            country: self.geo.country.clone(),
            region: self.geo.region.clone(),
            city: self.geo.city.clone(),
            screen: screen::class(incoming.screen_width).to_string(),
            engaged_ms: incoming.engaged_ms.unwrap_or(0) as i64,
            scroll: incoming.scroll.unwrap_or(0) as i64,
            props: incoming
                .props
                .as_ref()
                .map(|p| serde_json::Value::Object(p.clone()).to_string())
                .unwrap_or_else(|| "{}".into()),
            revenue_micros,
            revenue_currency,
            bot: self.bot_reason.is_some(),
            bot_reason: self
                .bot_reason
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            previous_visitor: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::wire::parse_batch;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    fn site() -> SiteConfig {
        SiteConfig {
            id: "demo".into(),
            hostnames: vec!["example.com".into()],
            ..Default::default()
        }
    }

    fn facts() -> RequestFacts<'static> {
        RequestFacts {
            ip_headers: ip::IpHeaders {
                cf_connecting_ip: Some("203.0.113.50"),
                ..Default::default()
            },
            user_agent: CHROME,
            has_accept_language: true,
            origin: Some("https://www.example.com"),
            fetch: bot::FetchMetadata {
                site: Some("cross-site"),
                mode: Some("no-cors"),
                dest: Some("empty"),
            },
            country: Some("DE"),
            ..Default::default()
        }
    }

    #[test]
    fn enriches_and_keeps_no_ip_or_user_agent() {
        let body = br#"{"site":"demo","events":[{"kind":"pageview","url":"https://www.example.com/p?secret=hunter2&utm_source=nl","referrer":"https://duckduckgo.com/","screen_width":390}]}"#;
        let batch = parse_batch(body).unwrap();
        let events = enrich_batch(
            &batch,
            &site(),
            &facts(),
            b"salt",
            1_700_000_000_000,
            "req1",
        )
        .unwrap();
        let e = &events[0];
        assert_eq!(e.id, "req1-00");
        assert_eq!(
            (e.browser.as_str(), e.os.as_str(), e.device.as_str()),
            ("Chrome", "Linux", "desktop")
        );
        assert_eq!(e.country, "DE");
        assert_eq!(e.region, "unknown");
        assert_eq!(e.path, "/p");
        assert_eq!(e.utm_source, "nl");
        assert_eq!(
            (e.referrer_source.as_str(), e.channel.as_str()),
            ("DuckDuckGo", "organic_search")
        );
        assert_eq!(e.screen, "mobile");
        assert!(!e.bot);
        assert_eq!(e.visitor.len(), 32);
        let stored = serde_json::to_string(&events).unwrap();
        for secret in ["203.0.113.50", "hunter2", "X11; Linux", "Chrome/131"] {
            assert!(!stored.contains(secret), "{secret} leaked into {stored}");
        }
    }

    #[test]
    fn ids_keep_the_index_as_sent_and_revenue_and_props_travel_on() {
        let body = br#"{"site":"demo","events":[{"kind":"nope","url":"https://example.com/"},{"kind":"custom","name":"buy","url":"https://example.com/#/cart","props":{"plan":"pro"},"revenue":{"amount":"19.99","currency":"eur"}},{"kind":"pageview","url":"https://example.com/app#/settings?token=x","props":{"section":"docs"}}]}"#;
        let batch = parse_batch(body).unwrap();
        let events = enrich_batch(&batch, &site(), &facts(), b"salt", 0, "req").unwrap();
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["req-01", "req-02"]);
        assert_eq!(
            (
                events[0].revenue_micros,
                events[0].revenue_currency.as_str()
            ),
            (19_990_000, "EUR")
        );
        assert_eq!(events[0].props, r#"{"plan":"pro"}"#);
        assert_eq!(events[1].props, r#"{"section":"docs"}"#);
        assert_eq!(
            (
                events[1].revenue_micros,
                events[1].revenue_currency.as_str()
            ),
            (0, "")
        );
        // The fragment stays only when the site routes by hash.
        assert_eq!(events[1].path, "/app");
        let hashed = SiteConfig {
            hash_routing: true,
            ..site()
        };
        let events = enrich_batch(&batch, &hashed, &facts(), b"salt", 0, "req").unwrap();
        assert_eq!(events[1].path, "/app#/settings?token=x");
    }

    #[test]
    fn the_origin_header_decides_where_a_request_came_from() {
        let s = site();
        for (origin, want) in [
            (None, OriginCheck::Absent),
            (Some("null"), OriginCheck::Absent),
            (Some("https://example.com"), OriginCheck::Site),
            (Some("http://www.example.com:8080"), OriginCheck::Site),
            (Some("https://evil.test"), OriginCheck::Foreign),
            (Some("https://example.com.evil.test"), OriginCheck::Foreign),
            (Some("not a url"), OriginCheck::Foreign),
        ] {
            assert_eq!(check_origin(&s, origin), want, "{origin:?}");
        }
    }

    #[test]
    fn a_foreign_origin_is_refused_even_when_the_body_names_the_site() {
        let body =
            br#"{"site":"demo","events":[{"kind":"pageview","url":"https://example.com/"}]}"#;
        let batch = parse_batch(body).unwrap();
        let forged = RequestFacts {
            origin: Some("https://evil.test"),
            ..facts()
        };
        let err = enrich_batch(&batch, &site(), &forged, b"salt", 0, "r").unwrap_err();
        assert_eq!((err.status, err.error), (403, "origin_not_allowed"));
        // Without Origin (curl) it is kept, as a bot.
        let curl = RequestFacts {
            origin: None,
            fetch: Default::default(),
            ..facts()
        };
        let events = enrich_batch(&batch, &site(), &curl, b"salt", 0, "r").unwrap();
        assert!(events[0].bot);
        assert_eq!(events[0].bot_reason, "no_fetch_metadata");
    }

    #[test]
    fn edge_facts_flag_bots_with_their_reason() {
        let body =
            br#"{"site":"demo","events":[{"kind":"pageview","url":"https://example.com/"}]}"#;
        let batch = parse_batch(body).unwrap();
        let reason_for = |facts: &RequestFacts| {
            let e = &enrich_batch(&batch, &site(), facts, b"salt", 0, "r").unwrap()[0];
            assert_eq!(e.bot, !e.bot_reason.is_empty());
            e.bot_reason.clone()
        };
        assert_eq!(reason_for(&facts()), "");
        let hosted = RequestFacts {
            asn: Some(24940), // Hetzner
            ..facts()
        };
        assert_eq!(reason_for(&hosted), "hosting_network");
        let verified = RequestFacts {
            verified_bot_category: Some("Search Engine Crawler"),
            ..facts()
        };
        assert_eq!(reason_for(&verified), "verified_bot");
        let crawler = RequestFacts {
            user_agent: "WhatsApp/2.23.20.0 A",
            ..facts()
        };
        assert_eq!(reason_for(&crawler), "known_crawler");
    }

    #[test]
    fn rejects_a_foreign_hostname() {
        let body = br#"{"site":"demo","events":[{"kind":"pageview","url":"https://evil.test/"}]}"#;
        let batch = parse_batch(body).unwrap();
        let err = enrich_batch(&batch, &site(), &facts(), b"salt", 0, "r").unwrap_err();
        assert_eq!(err.status, 403);
    }

    #[test]
    fn referrer_spam_is_dropped_and_counted_the_rest_classified() {
        let body = br#"{"site":"demo","events":[
            {"kind":"pageview","url":"https://example.com/a","referrer":"https://www.zvuker.net/x"},
            {"kind":"pageview","url":"https://example.com/b","referrer":"https://mail.google.com/mail/u/0/"},
            {"kind":"pageview","url":"https://example.com/c","referrer":"http://sub.0-0.fr/"},
            {"kind":"pageview","url":"https://example.com/d","referrer":"https://blog.example.com/"}]}"#;
        let batch = parse_batch(body).unwrap();
        let out = enrich_with_drops(&batch, &site(), &facts(), b"salt", 0, "r").unwrap();
        assert_eq!(
            out.dropped
                .get(crate::ingest::dropped::DropReason::ReferrerSpam),
            2
        );
        let kept: Vec<(&str, &str, &str)> = out
            .events
            .iter()
            .map(|e| {
                (
                    e.path.as_str(),
                    e.referrer_source.as_str(),
                    e.channel.as_str(),
                )
            })
            .collect();
        assert_eq!(
            kept,
            [
                ("/b", "Gmail", "email"),
                ("/d", "blog.example.com", "internal")
            ]
        );
        // Ids keep the positions as sent.
        assert_eq!(out.events[1].id, "r-03");
    }
}
