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

/// What the request looked like, beyond the user agent.
#[derive(Debug, Clone, Default)]
pub struct BotSignals<'a> {
    pub user_agent: &'a str,
    pub has_accept_language: bool,
}

pub fn is_bot(ua: &UserAgentInfo, signals: &BotSignals) -> bool {
    if ua.is_crawler || signals.user_agent.trim().is_empty() {
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

    fn check(ua: &str, lang: bool) -> bool {
        is_bot(
            &parse(ua),
            &BotSignals {
                user_agent: ua,
                has_accept_language: lang,
            },
        )
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
