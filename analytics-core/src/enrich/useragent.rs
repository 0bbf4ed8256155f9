//! User agent → browser, major version, OS, OS version, device class. The parsing is
//! woothee's (a maintained, table-driven parser); this module only maps its answer onto
//! Vigia's vocabulary.

use crate::limits::MAX_USER_AGENT_BYTES;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAgentInfo {
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    /// desktop / mobile / tablet / bot / unknown
    pub device: String,
    /// woothee recognised a crawler.
    pub is_crawler: bool,
}

pub fn parse(user_agent: &str) -> UserAgentInfo {
    let ua = crate::wire::truncate_at_char(user_agent, MAX_USER_AGENT_BYTES);
    let Some(result) = woothee::parser::Parser::new().parse(ua) else {
        return UserAgentInfo {
            browser: "unknown".into(),
            os: "unknown".into(),
            device: "unknown".into(),
            ..Default::default()
        };
    };
    let is_crawler = result.category == "crawler";
    let device = match result.category {
        "crawler" => "bot",
        "pc" => "desktop",
        "smartphone" | "mobilephone" if is_tablet(ua, result.os) => "tablet",
        "smartphone" | "mobilephone" => "mobile",
        "appliance" => "appliance",
        _ => "unknown",
    };
    UserAgentInfo {
        browser: known_or_unknown(result.name),
        browser_version: major(result.version),
        os: known_or_unknown(result.os),
        os_version: known_or_unknown(&result.os_version).replace("UNKNOWN", ""),
        device: device.to_string(),
        is_crawler,
    }
}

fn is_tablet(ua: &str, os: &str) -> bool {
    os == "iPad" || (os == "Android" && !ua.contains("Mobile")) || ua.contains("Tablet")
}

fn known_or_unknown(value: &str) -> String {
    if value.is_empty() || value == "UNKNOWN" {
        "unknown".to_string()
    } else {
        value.to_string()
    }
}

fn major(version: &str) -> String {
    let major = version.split('.').next().unwrap_or("");
    if major.is_empty() || major == "UNKNOWN" {
        String::new()
    } else {
        major.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1";
    const GOOGLEBOT: &str =
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    const FIREFOX_WIN: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

    #[test]
    fn desktop_chrome_on_linux() {
        let info = parse(CHROME_LINUX);
        assert_eq!(info.browser, "Chrome");
        assert_eq!(info.browser_version, "131");
        assert_eq!(info.os, "Linux");
        assert_eq!(info.device, "desktop");
        assert!(!info.is_crawler);
    }

    #[test]
    fn firefox_on_windows() {
        let info = parse(FIREFOX_WIN);
        assert_eq!(info.browser, "Firefox");
        assert_eq!(info.browser_version, "133");
        assert!(info.os.starts_with("Windows"), "{}", info.os);
        assert_eq!(info.device, "desktop");
    }

    #[test]
    fn phones_and_tablets() {
        let phone = parse(IPHONE);
        assert_eq!(
            (phone.browser.as_str(), phone.device.as_str()),
            ("Safari", "mobile")
        );
        assert_eq!(phone.os, "iPhone");
        assert_eq!(parse(IPAD).device, "tablet");
    }

    #[test]
    fn crawlers_are_bots() {
        let info = parse(GOOGLEBOT);
        assert!(info.is_crawler);
        assert_eq!(info.device, "bot");
    }

    #[test]
    fn garbage_is_unknown_not_a_panic() {
        let info = parse("\u{1F600}".repeat(400).as_str());
        assert_eq!(info.browser, "unknown");
        assert_eq!(parse("").device, "unknown");
    }
}
