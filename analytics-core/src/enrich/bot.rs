//! Bot flag and the reason for it. Bots are stored and flagged, never dropped, and excluded
//! from stats; the reason is stored beside the flag so the Bots view can say why.
//!
//! Each signal is one small function below. [`bot_reason`] asks them strongest first and
//! returns the first that fires (the order of [`BotReason::ORDER`]):
//!
//! 1. `verified_bot`: Cloudflare verified the client as a known good bot.
//! 2. `empty_user_agent`: no user agent at all.
//! 3. `known_crawler`: the user agent matches monperrus/crawler-user-agents (data/, compiled
//!    into static tables by build/bots.rs).
//! 4. `crawler_like`: the user agent describes itself as an automated client, in the words
//!    crawlers use whatever their name: a product token such as `AcmeBot/1.0`, `FooCrawler/2`,
//!    `feed-fetcher/3` or `go-http/1`, a word such as "bot", "crawler", "spider" or
//!    "monitoring" standing alone, a contact URL or e-mail address, or no `name/version` at
//!    all. "bot" inside a word (a CUBOT phone) is not one of them.
//! 5. `automation`: headless or automation markers (HeadlessChrome, PhantomJS, Selenium,
//!    Playwright, Puppeteer …) in the user agent or the `Sec-CH-UA` brands.
//! 6. `no_fetch_metadata`: no `Origin` naming the site or no `Sec-Fetch-*` of a page's script.
//! 7. `no_accept_language`: every browser sends `Accept-Language`; HTTP libraries do not.
//! 8. `hosting_network`: the request came from a datacenter / hosting network (Cloudflare's
//!    `request.cf.asn` in X4BNet/lists_vpn's datacenter ASN list). Last: a person behind a VPN
//!    or a cloud desktop lands there too, so it only names traffic nothing else explains.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

#[allow(dead_code)] // Some tables are only read by tests.
mod data {
    include!(concat!(env!("OUT_DIR"), "/bots_data.rs"));
}

/// Why an event was flagged as a bot. Stored as its snake_case text in `events.bot_reason`
/// ('' there: not a bot, or flagged before reasons were recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotReason {
    VerifiedBot,
    EmptyUserAgent,
    KnownCrawler,
    CrawlerLike,
    Automation,
    NoFetchMetadata,
    NoAcceptLanguage,
    HostingNetwork,
}

impl BotReason {
    /// Every reason, in the order `bot_reason` checks them (strongest first).
    pub const ORDER: [BotReason; 8] = [
        BotReason::VerifiedBot,
        BotReason::EmptyUserAgent,
        BotReason::KnownCrawler,
        BotReason::CrawlerLike,
        BotReason::Automation,
        BotReason::NoFetchMetadata,
        BotReason::NoAcceptLanguage,
        BotReason::HostingNetwork,
    ];

    /// The stored text (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            BotReason::VerifiedBot => "verified_bot",
            BotReason::EmptyUserAgent => "empty_user_agent",
            BotReason::KnownCrawler => "known_crawler",
            BotReason::CrawlerLike => "crawler_like",
            BotReason::Automation => "automation",
            BotReason::NoFetchMetadata => "no_fetch_metadata",
            BotReason::NoAcceptLanguage => "no_accept_language",
            BotReason::HostingNetwork => "hosting_network",
        }
    }

    pub fn parse(text: &str) -> Option<BotReason> {
        Self::ORDER.into_iter().find(|r| r.as_str() == text)
    }
}

/// The crawler list's version, as vendored (analytics-core/data/README.md).
pub const CRAWLER_LIST_VERSION: &str = "monperrus/crawler-user-agents@7c7f9f25 (2026-07-02)";
/// The hosting-ASN list's version, as vendored.
pub const HOSTING_ASN_LIST_VERSION: &str = "X4BNet/lists_vpn@167937a7 (2026-08-22)";

/// Bytes of a user agent searched for crawler names. Real user agents stay well under this
/// (the longest in the yardsticks is about 600 bytes); it bounds the work one request costs.
pub const MAX_USER_AGENT_SCAN_BYTES: usize = 1024;

/// Substrings (lowercase) that give automation away even where the user agent otherwise
/// looks like a browser's.
const AUTOMATION_MARKERS: &[&str] = &[
    "headlesschrome",
    "headless",
    "phantomjs",
    "slimerjs",
    "selenium",
    "webdriver",
    "playwright",
    "puppeteer",
    "htmlunit",
    "electron-headless",
];

/// The fetch metadata (`Sec-Fetch-*`) a request carried. Every current browser adds these to
/// its own requests and scripts cannot set them from a page; `curl` and HTTP libraries do not
/// send them. Checked in Chromium: `sendBeacon` sends `Sec-Fetch-Site: cross-site` (or
/// `same-site`/`same-origin`), `Sec-Fetch-Mode: no-cors` and `Sec-Fetch-Dest: empty`; `fetch`
/// with `keepalive` the same with mode `cors`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchMetadata<'a> {
    pub site: Option<&'a str>,
    pub mode: Option<&'a str>,
    pub dest: Option<&'a str>,
}

impl FetchMetadata<'_> {
    /// Whether this is what a beacon or a `fetch` from a page sends: all three headers, and a
    /// destination of `empty` (a form posted at the endpoint is a `document` navigation).
    pub fn is_from_page_script(&self) -> bool {
        self.site.is_some_and(|s| !s.is_empty())
            && self.mode.is_some_and(|m| !m.is_empty())
            && self.dest == Some("empty")
    }
}

/// What the request looked like, beyond the body.
#[derive(Debug, Clone, Default)]
pub struct BotSignals<'a> {
    pub user_agent: &'a str,
    pub has_accept_language: bool,
    /// Whether the request named the page's origin (`Origin`), as browsers do on every POST.
    pub has_origin: bool,
    pub fetch: FetchMetadata<'a>,
    /// The `Sec-CH-UA` header (brand list), as sent by Chromium browsers.
    pub sec_ch_ua: Option<&'a str>,
    /// Cloudflare's `request.cf.asn`: the network the request came from.
    pub asn: Option<u32>,
    /// Cloudflare's `request.cf.botManagement.verifiedBotCategory` (or "verified" when only
    /// `verifiedBot: true` is known). Present only with Bot Management.
    pub verified_bot_category: Option<&'a str>,
}

impl<'a> BotSignals<'a> {
    /// What a browser's `sendBeacon` from a page carries besides `user_agent` (Origin on the
    /// site, fetch metadata, Accept-Language; no hints, no `cf` facts), so that only the user
    /// agent decides: for the accuracy bench and the benchmarks.
    pub fn browser_beacon(user_agent: &'a str) -> BotSignals<'a> {
        BotSignals {
            user_agent,
            has_accept_language: true,
            has_origin: true,
            fetch: FetchMetadata {
                site: Some("cross-site"),
                mode: Some("no-cors"),
                dest: Some("empty"),
            },
            ..Default::default()
        }
    }
}

/// Why the request is a bot, or `None` for a person: the first signal that fires, strongest
/// first (see the module comment).
pub fn bot_reason(s: &BotSignals) -> Option<BotReason> {
    if verified_bot(s.verified_bot_category) {
        Some(BotReason::VerifiedBot)
    } else if empty_user_agent(s.user_agent) {
        Some(BotReason::EmptyUserAgent)
    } else if known_crawler(s.user_agent) {
        Some(BotReason::KnownCrawler)
    } else if crawler_like(s.user_agent) {
        Some(BotReason::CrawlerLike)
    } else if automation(s.user_agent, s.sec_ch_ua) {
        Some(BotReason::Automation)
    } else if no_fetch_metadata(s.has_origin, &s.fetch) {
        Some(BotReason::NoFetchMetadata)
    } else if !s.has_accept_language {
        Some(BotReason::NoAcceptLanguage)
    } else if s.asn.is_some_and(hosting_network) {
        Some(BotReason::HostingNetwork)
    } else {
        None
    }
}

pub fn is_bot(s: &BotSignals) -> bool {
    bot_reason(s).is_some()
}

/// Cloudflare says so: any verified-bot category (an empty one is no verdict).
pub fn verified_bot(category: Option<&str>) -> bool {
    category.is_some_and(|c| !c.trim().is_empty())
}

pub fn empty_user_agent(user_agent: &str) -> bool {
    user_agent.trim().is_empty()
}

/// Whether the user agent matches a pattern of the crawler list. One pass over the user
/// agent: at each position, the literals starting with its next three bytes (a bit of a
/// hashed filter first, then a binary search in a build-time-sorted table); the few true regexes only when their literal is present.
pub fn known_crawler(user_agent: &str) -> bool {
    let b = &user_agent.as_bytes()[..user_agent.len().min(MAX_USER_AGENT_SCAN_BYTES)];
    let hit = |index: u16, at: usize| {
        let (text, start, end) = data::LITERALS[index as usize];
        b[at..].starts_with(text.as_bytes())
            && (!start || at == 0)
            && (!end || at + text.len() == b.len())
    };
    for at in 0..b.len() {
        if let [first, second, third, ..] = b[at..] {
            let key = (first as u32) << 16 | (second as u32) << 8 | third as u32;
            let bit = key_bit(key);
            if data::KEY_FILTER[bit / 64] & (1 << (bit % 64)) != 0 {
                if let Ok(k) = data::BUCKET_KEYS.binary_search(&key) {
                    let (first, end) = data::BUCKET_RANGES[k];
                    if (first..end).any(|i| hit(i, at)) {
                        return true;
                    }
                }
            }
        }
        if data::SHORT.iter().any(|&i| hit(i, at)) {
            return true;
        }
    }
    residual_match(user_agent)
}

/// The filter bit of a three-byte key; the same function as build/bots.rs's `key_bit`.
fn key_bit(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

const RESIDUAL_COUNT: usize = data::RESIDUAL_COUNT;

/// The crawler patterns that are true regexes, each compiled the first time a user agent
/// contains its literal (never at startup).
fn residual_match(user_agent: &str) -> bool {
    static COMPILED: [OnceLock<Option<regex::bytes::Regex>>; RESIDUAL_COUNT] =
        [const { OnceLock::new() }; RESIDUAL_COUNT];
    data::RESIDUAL
        .iter()
        .zip(COMPILED.iter())
        .any(|(&(needle, pattern), cell)| {
            user_agent.contains(needle)
                && cell
                    .get_or_init(|| compile_residual(pattern))
                    .as_ref()
                    .is_some_and(|re| re.is_match(user_agent.as_bytes()))
        })
}

/// One residual pattern, with the same engine the user-agent parser uses (one regex engine in
/// the Worker; Unicode classes off, as the patterns are ASCII).
fn compile_residual(pattern: &str) -> Option<regex::bytes::Regex> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .ok()
}

/// Words (lowercase) that, standing alone in a user agent, say it is automated.
const CRAWLER_WORDS: &[&str] = &[
    "bot",
    "robot",
    "crawler",
    "crawling",
    "spider",
    "scraper",
    "fetcher",
    "checker",
    "validator",
    "scanner",
    "monitor",
    "monitoring",
    "uptime",
    "preview",
];

/// Parts (lowercase) of a product name (`Name/1.0`) that say it is automated. Browsers'
/// product names (Chrome, Safari, SamsungBrowser, Instagram …) contain none of them ("index"
/// is not one: feature phones send `INDEX/004`).
const CRAWLER_NAME_PARTS: &[&str] = &[
    "crawl", "spider", "scrap", "fetch", "check", "archiv", "feed", "rss", "monitor", "preview",
    "probe", "proxy", "reader", "request", "validat", "agent",
];

/// Whether the user agent describes itself as an automated client (see the module comment).
pub fn crawler_like(user_agent: &str) -> bool {
    let ua = &user_agent[..floor_char_boundary(user_agent, MAX_USER_AGENT_SCAN_BYTES)];
    let lower = ua.to_ascii_lowercase();
    // No product/version and no comment: nothing a browser sends ("Hexometer", "COMODO DCV").
    if !ua.contains('/') && !ua.contains('(') {
        return true;
    }
    if lower.contains("http://") || lower.contains("https://") || lower.contains("www.") {
        return true;
    }
    if has_email(&lower) {
        return true;
    }
    let standalone_word = lower.split(|c: char| !c.is_ascii_lowercase()).any(|w| {
        // "bot" before a number names a phone model ("M bot 54", "VR BOT 552"), not a crawler.
        let end = w.as_ptr() as usize - lower.as_ptr() as usize + w.len();
        let model_number = lower.as_bytes()[end..].starts_with(b" ")
            && lower
                .as_bytes()
                .get(end + 1)
                .is_some_and(u8::is_ascii_digit);
        CRAWLER_WORDS.contains(&w) && !(w == "bot" && model_number)
    });
    if standalone_word {
        return true;
    }
    let named = product_names(&lower).any(|name| {
        name.ends_with("bot")
            || name.starts_with("bot")
            || name.contains("bot-")
            || name.contains("bot_")
            || name.starts_with("http")
            || name.ends_with("http")
            || name.contains("httpclient")
            || CRAWLER_NAME_PARTS.iter().any(|p| name.contains(p))
    });
    named
}

/// The largest index ≤ `at` on a character boundary (so a cut never splits a character).
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Names of `name/version` product tokens: the run of `[a-z0-9_.-]` before a `/` followed by
/// a digit or `v`, from its first letter.
fn product_names(lower: &str) -> impl Iterator<Item = &str> {
    let b = lower.as_bytes();
    b.iter().enumerate().filter_map(move |(slash, &c)| {
        if c != b'/'
            || !b
                .get(slash + 1)
                .is_some_and(|n| n.is_ascii_digit() || *n == b'v')
        {
            return None;
        }
        let name_char = |x: u8| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-');
        let mut start = slash;
        while start > 0 && name_char(b[start - 1]) {
            start -= 1;
        }
        while start < slash && !b[start].is_ascii_alphabetic() {
            start += 1;
        }
        (start < slash).then(|| &lower[start..slash])
    })
}

/// Whether the text holds an e-mail address (`x@host.tld`), as crawlers give for contact.
/// `ios@9.2` (a version) or `en_IR@calendar=…` (a locale) are not.
fn has_email(lower: &str) -> bool {
    let b = lower.as_bytes();
    b.iter().enumerate().any(|(at, &c)| {
        if c != b'@' || at == 0 {
            return false;
        }
        let local = |x: u8| x.is_ascii_alphanumeric() || matches!(x, b'.' | b'_' | b'-');
        if !local(b[at - 1]) {
            return false;
        }
        // host label(s), then a dot and a top-level domain of two letters or more.
        let rest = &lower[at + 1..];
        let host_end = rest
            .find(|x: char| !(x.is_ascii_alphanumeric() || x == '-' || x == '.'))
            .unwrap_or(rest.len());
        let host = &rest[..host_end];
        host.rsplit_once('.').is_some_and(|(name, tld)| {
            !name.is_empty() && tld.len() >= 2 && tld.bytes().all(|x| x.is_ascii_lowercase())
        })
    })
}

/// Headless browsers and automation frameworks, by user agent or `Sec-CH-UA` brand.
pub fn automation(user_agent: &str, sec_ch_ua: Option<&str>) -> bool {
    let has_marker = |text: &str| {
        let lower = text.to_ascii_lowercase();
        AUTOMATION_MARKERS.iter().any(|m| lower.contains(m))
    };
    has_marker(user_agent) || sec_ch_ua.is_some_and(has_marker)
}

/// A browser's beacon names its origin and carries fetch metadata; a request without them was
/// scripted (curl with a copied user agent), whatever its user agent says.
pub fn no_fetch_metadata(has_origin: bool, fetch: &FetchMetadata) -> bool {
    !has_origin || !fetch.is_from_page_script()
}

/// Whether the network is in the vendored datacenter / hosting ASN list.
pub fn hosting_network(asn: u32) -> bool {
    data::HOSTING_ASNS.binary_search(&asn).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    const BEACON: FetchMetadata<'static> = FetchMetadata {
        site: Some("cross-site"),
        mode: Some("no-cors"),
        dest: Some("empty"),
    };

    /// A real browser's beacon with this user agent.
    fn browser(ua: &str) -> BotSignals<'_> {
        BotSignals {
            user_agent: ua,
            has_accept_language: true,
            has_origin: true,
            fetch: BEACON,
            sec_ch_ua: None,
            asn: None,
            verified_bot_category: None,
        }
    }

    fn reason(ua: &str) -> Option<BotReason> {
        bot_reason(&browser(ua))
    }

    #[test]
    fn a_request_without_origin_or_fetch_metadata_is_a_bot() {
        let signals = |has_origin, fetch| BotSignals {
            has_origin,
            fetch,
            ..browser(CHROME)
        };
        assert_eq!(bot_reason(&signals(true, BEACON)), None);
        // fetch keepalive: mode cors.
        let keepalive = FetchMetadata {
            mode: Some("cors"),
            ..BEACON
        };
        assert_eq!(bot_reason(&signals(true, keepalive)), None);
        let no_meta = Some(BotReason::NoFetchMetadata);
        // curl with a copied user agent: neither.
        assert_eq!(
            bot_reason(&signals(false, FetchMetadata::default())),
            no_meta
        );
        // Origin forged, fetch metadata missing.
        assert_eq!(
            bot_reason(&signals(true, FetchMetadata::default())),
            no_meta
        );
        // Fetch metadata without Origin.
        assert_eq!(bot_reason(&signals(false, BEACON)), no_meta);
        // One header missing.
        for partial in [
            FetchMetadata {
                site: None,
                ..BEACON
            },
            FetchMetadata {
                mode: None,
                ..BEACON
            },
            FetchMetadata {
                dest: None,
                ..BEACON
            },
        ] {
            assert_eq!(bot_reason(&signals(true, partial)), no_meta);
        }
        // A form posted at the endpoint is a navigation, not a beacon.
        let form = FetchMetadata {
            mode: Some("navigate"),
            dest: Some("document"),
            ..BEACON
        };
        assert_eq!(bot_reason(&signals(true, form)), no_meta);
    }

    #[test]
    fn real_browsers_are_people() {
        for ua in [
            CHROME,
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.0]",
            // A CUBOT phone: "bot" in the model name is not a crawler.
            "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 9; CUBOT KINGKONG 5 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36",
        ] {
            assert_eq!(reason(ua), None, "{ua}");
        }
        // Chrome's real brand list.
        let hints = BotSignals {
            sec_ch_ua: Some(r#""Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131""#),
            asn: Some(3320), // Deutsche Telekom: a consumer network
            ..browser(CHROME)
        };
        assert_eq!(bot_reason(&hints), None);
    }

    #[test]
    fn crawlers_the_old_list_missed_are_known_crawlers() {
        for ua in [
            "WhatsApp/2.23.20.0 A",
            "Apache-HttpClient/4.5.13 (Java/17.0.2)",
            "Python-urllib/3.11",
            "Mozilla/5.0 (compatible; heritrix/3.4.0 +https://www.loc.gov/)",
            // uptime monitors
            "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
            "Uptime-Kuma/1.23.0",
            // feed readers
            "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 5 subscribers)",
            "Miniflux/2.0.50 (https://miniflux.app)",
            // the old list's own
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "curl/8.5.0",
            "Wget/1.21.4",
            "python-requests/2.31.0",
            "Go-http-client/2.0",
        ] {
            assert_eq!(reason(ua), Some(BotReason::KnownCrawler), "{ua}");
        }
    }

    #[test]
    fn user_agents_that_describe_themselves_as_automated_are_crawler_like() {
        for ua in [
            "Mozilla/5.0 (compatible; AcoonBot/4.11.1; +http://www.acoon.de/robot.asp)",
            "Heurekabot-Feed/1.0",
            "AmorankSpider/0.1; +http://amorank.com/webcrawler.html",
            "Hexometer",
            "support@domainreanimator.com",
            "GuzzleHttp/7",
            "Mozilla/5.0 (compatible; meanpathbot/1.0)",
            "Bloglovin/1.0 (http://www.bloglovin.com; 1 subscribers)",
        ] {
            assert!(crawler_like(ua), "{ua}");
        }
        for ua in [
            CHROME,
            // "bot" inside a word or a name without a version.
            "Mozilla/5.0 (Linux; Android 6.0; CUBOT MAX Build/MRA58K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.81 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
            // Phone models with "bot" as a word before their number.
            "Mozilla/5.0 (Linux; Android 7.0; M bot 54) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.96 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 6.0; VR BOT 552) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0.3626.121 Mobile Safari/537.36",
            // An @ that is a version or a locale, not an address.
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111.0.0.0 Mobile Safari/537.36 (Ecosia android@111.0.5563.116)",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML,like Gecko) Mobile/21F79 Instagram 330.0.3.29.91 (iPhone14,3; iOS 17_5; en_IR@calendar=gregorian; en; scale=3.00; 1125x2436; 595323416)",
        ] {
            assert!(!crawler_like(ua), "{ua}");
        }
        assert!(has_email("contact: crawler@example.org"));
        assert!(!has_email("ios@9.2.3.1367"));
        assert_eq!(
            reason("Mozilla/5.0 (compatible; BountiiBot/1.1; +http://bountii.com/contact.php)"),
            Some(BotReason::CrawlerLike)
        );
        // A multi-byte character at the scan limit is not split.
        let long = format!("{}é", "a".repeat(MAX_USER_AGENT_SCAN_BYTES - 1));
        assert!(crawler_like(&long)); // (no name/version at all)
    }

    #[test]
    fn anchors_and_true_regexes_of_the_list_keep_their_meaning() {
        // `^curl`: only at the start.
        assert!(known_crawler("curl/8.5.0"));
        assert!(!known_crawler("Mozilla/5.0 (X11) not-curl/1"));
        // `(^| )sentry\/`: at the start or after a space.
        assert!(known_crawler("sentry/23.1"));
        assert!(known_crawler("Mozilla/5.0 sentry/23.1"));
        assert!(!known_crawler("Mozilla/5.0 nosentry/23.1"));
        // `AdsBot-Google([^-]|$)` (a true regex, compiled on first use).
        assert!(known_crawler(
            "AdsBot-Google (+http://www.google.com/adsbot.html)"
        ));
        assert!(known_crawler("AdsBot-Google"));
        // `ContextualBot[\s\S]*outcomes\.net`
        assert!(known_crawler(
            "ContextualBot/1.0 (+https://outcomes.net/bot)"
        ));
        assert!(!known_crawler("ContextualBot/1.0"));
    }

    #[test]
    fn names_past_the_scan_limit_are_not_searched() {
        let padded = format!("{}bingbot/2.0", "a".repeat(MAX_USER_AGENT_SCAN_BYTES));
        assert!(!known_crawler(&padded));
        let within = format!("{}bingbot/2.0", "a".repeat(MAX_USER_AGENT_SCAN_BYTES - 20));
        assert!(known_crawler(&within));
    }

    #[test]
    fn headless_and_automation_markers() {
        // Not in the crawler list's spelling: a marker of ours.
        let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36";
        assert!(matches!(
            reason(headless),
            Some(BotReason::KnownCrawler | BotReason::Automation)
        ));
        // Automation tools, whether or not the crawler list knows them too.
        for ua in [
            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Playwright/1.49",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Selenium/4",
        ] {
            assert!(automation(ua, None), "{ua}");
            assert!(reason(ua).is_some(), "{ua}");
        }
        assert!(!automation(CHROME, None));
        assert!(automation(CHROME, Some(r#""HeadlessChrome";v="131""#)));
        let brands = BotSignals {
            sec_ch_ua: Some(r#""Chromium";v="131", "HeadlessChrome";v="131""#),
            ..browser(CHROME)
        };
        assert_eq!(bot_reason(&brands), Some(BotReason::Automation));
    }

    #[test]
    fn empty_user_agent_and_missing_language() {
        assert_eq!(reason(""), Some(BotReason::EmptyUserAgent));
        assert_eq!(reason("   "), Some(BotReason::EmptyUserAgent));
        let no_lang = BotSignals {
            has_accept_language: false,
            ..browser(CHROME)
        };
        assert_eq!(bot_reason(&no_lang), Some(BotReason::NoAcceptLanguage));
    }

    #[test]
    fn hosting_networks_by_cloudflare_asn() {
        // Hetzner, DigitalOcean, AWS: in the datacenter list.
        for asn in [24940, 14061, 16509] {
            assert!(hosting_network(asn), "AS{asn}");
            let s = BotSignals {
                asn: Some(asn),
                ..browser(CHROME)
            };
            assert_eq!(bot_reason(&s), Some(BotReason::HostingNetwork));
        }
        // Consumer networks: Deutsche Telekom, Comcast.
        assert!(!hosting_network(3320));
        assert!(!hosting_network(7922));
        assert!(data::HOSTING_ASNS.len() > 500);
    }

    #[test]
    fn a_verified_bot_is_flagged_first() {
        let s = BotSignals {
            verified_bot_category: Some("Search Engine Crawler"),
            ..browser("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
        };
        assert_eq!(bot_reason(&s), Some(BotReason::VerifiedBot));
        let s = BotSignals {
            verified_bot_category: Some(""),
            ..browser(CHROME)
        };
        assert_eq!(bot_reason(&s), None);
    }

    #[test]
    fn the_first_reason_in_order_is_stored() {
        // A crawler without Accept-Language from a datacenter: the crawler list names it.
        let s = BotSignals {
            has_accept_language: false,
            has_origin: false,
            fetch: FetchMetadata::default(),
            asn: Some(16509),
            ..browser("curl/8.5.0")
        };
        assert_eq!(bot_reason(&s), Some(BotReason::KnownCrawler));
        assert_eq!(BotReason::ORDER.len(), 8);
        for r in BotReason::ORDER {
            assert_eq!(BotReason::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
    }

    #[test]
    fn the_whole_crawler_list_is_compiled() {
        const { assert!(data::CRAWLER_PATTERNS > 1000) };
        // known_crawler reads three-byte keys.
        const { assert!(data::KEY == 3) };
        // Every bucket's key has its filter bit set (the build computes the same hash).
        for &key in data::BUCKET_KEYS {
            let bit = key_bit(key);
            assert!(
                data::KEY_FILTER[bit / 64] & (1 << (bit % 64)) != 0,
                "{key:x}"
            );
        }
        assert!(data::LITERALS.len() >= data::CRAWLER_PATTERNS - data::RESIDUAL_COUNT);
        // Every residual regex compiles.
        for (_, pattern) in data::RESIDUAL {
            assert!(compile_residual(pattern).is_some(), "{pattern}");
        }
        // Each pattern's own examples are found (the list's tests, for the whole table).
        let list: serde_json::Value = serde_json::from_str(include_str!(
            "../../data/crawler-user-agents/crawler-user-agents.json"
        ))
        .unwrap();
        let mut missed = Vec::new();
        for entry in list.as_array().unwrap() {
            if data::EXCLUDED.contains(&entry["pattern"].as_str().unwrap()) {
                continue;
            }
            for ua in entry["instances"].as_array().unwrap() {
                let ua = ua.as_str().unwrap();
                if ua.len() <= MAX_USER_AGENT_SCAN_BYTES && !known_crawler(ua) {
                    missed.push(ua.to_string());
                }
            }
        }
        assert!(missed.is_empty(), "{missed:#?}");
    }
}
