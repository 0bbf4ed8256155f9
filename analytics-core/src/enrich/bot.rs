//! Bot flag. Bots are stored and flagged, never dropped, and excluded from stats.

use super::useragent::UserAgentInfo;

/// Substrings that give automation away even where the UA parser sees a normal browser.
const AUTOMATION_MARKERS: &[&str] = &[
    "headlesschrome",
    "phantomjs",
    "lighthouse",
    "puppeteer",
    "playwright",
    "selenium",
    "webdriver",
    "python-requests",
    "curl/",
    "wget/",
    "go-http-client",
    "bot",
    "spider",
    "crawl",
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

/// What the request looked like, beyond the user agent.
#[derive(Debug, Clone, Default)]
pub struct BotSignals<'a> {
    pub user_agent: &'a str,
    pub has_accept_language: bool,
    /// Whether the request named the page's origin (`Origin`), as browsers do on every POST.
    pub has_origin: bool,
    pub fetch: FetchMetadata<'a>,
}

pub fn is_bot(ua: &UserAgentInfo, signals: &BotSignals) -> bool {
    if ua.is_crawler || signals.user_agent.trim().is_empty() {
        return true;
    }
    // A browser's beacon names its origin and carries fetch metadata; a request without them
    // was scripted (curl with a copied user agent), whatever its user agent says.
    if !signals.has_origin || !signals.fetch.is_from_page_script() {
        return true;
    }
    let lower = signals.user_agent.to_ascii_lowercase();
    if AUTOMATION_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    // Every real browser sends Accept-Language with its beacons; scripts usually do not.
    !signals.has_accept_language
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::useragent::parse;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    const BEACON: FetchMetadata<'static> = FetchMetadata {
        site: Some("cross-site"),
        mode: Some("no-cors"),
        dest: Some("empty"),
    };

    fn check(ua: &str, lang: bool) -> bool {
        is_bot(
            &parse(ua),
            &BotSignals {
                user_agent: ua,
                has_accept_language: lang,
                has_origin: true,
                fetch: BEACON,
            },
        )
    }

    #[test]
    fn a_request_without_origin_or_fetch_metadata_is_a_bot() {
        let signals = |has_origin, fetch| BotSignals {
            user_agent: CHROME,
            has_accept_language: true,
            has_origin,
            fetch,
        };
        let ua = parse(CHROME);
        assert!(!is_bot(&ua, &signals(true, BEACON)));
        // fetch keepalive: mode cors.
        let keepalive = FetchMetadata {
            mode: Some("cors"),
            ..BEACON
        };
        assert!(!is_bot(&ua, &signals(true, keepalive)));
        // curl with a copied user agent: neither.
        assert!(is_bot(&ua, &signals(false, FetchMetadata::default())));
        // Origin forged, fetch metadata missing.
        assert!(is_bot(&ua, &signals(true, FetchMetadata::default())));
        // Fetch metadata without Origin.
        assert!(is_bot(&ua, &signals(false, BEACON)));
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
            assert!(is_bot(&ua, &signals(true, partial)));
        }
        // A form posted at the endpoint is a navigation, not a beacon.
        let form = FetchMetadata {
            mode: Some("navigate"),
            dest: Some("document"),
            ..BEACON
        };
        assert!(is_bot(&ua, &signals(true, form)));
    }

    #[test]
    fn a_normal_browser_is_not_a_bot() {
        assert!(!check(CHROME, true));
    }

    #[test]
    fn headless_markers_and_missing_headers_are_bots() {
        assert!(check(&CHROME.replace("Chrome/", "HeadlessChrome/"), true));
        assert!(check("curl/8.5.0", true));
        assert!(check(CHROME, false));
        assert!(check("", true));
        assert!(check("Mozilla/5.0 (compatible; bingbot/2.0)", true));
    }
}
