//! User agent (+ client hints) → browser, major version, OS, OS version, device class.
//!
//! The parsing is uap-core's (`analytics-core/data/uap-core/regexes.yaml`, the maintained
//! data set behind most ua-parser ports), turned into static tables at build time by
//! `build/useragents.rs`: each pattern with the literals one of which must occur in any user
//! agent it matches. At run time a trigram index over those literals picks the few patterns
//! that can match; only those are compiled (`regex` without its Unicode tables, lazily, once per pattern) and tried
//! in file order, the first match winning as uap-core specifies. No setup cost, and memory
//! grows only with the patterns real traffic needs (see docs/user-agents.md for figures).
//!
//! On top of the data, small tested steps: Vigia's browser and OS names (`naming`), a
//! documented supplement where uap-core lacks an in-app browser (`SUPPLEMENT`), the client
//! hints (`super::client_hints`) where the string is frozen or reduced, and the device class.

use super::client_hints::{self, ClientHints};
use crate::limits::MAX_USER_AGENT_BYTES;
use regex::bytes::{Captures, Regex, RegexBuilder};
use std::sync::OnceLock;

/// One uap-core pattern as the build step leaves it.
pub(crate) struct Rule {
    pattern: &'static str,
    icase: bool,
    /// Lower-case strings of which at least one occurs in every user agent the pattern matches.
    literals: &'static [&'static str],
    /// family (os, device) replacement, then v1..v3 replacements; `$1`… name capture groups.
    repl: [Option<&'static str>; 4],
}

mod tables {
    use super::Rule;
    include!(concat!(env!("OUT_DIR"), "/useragents.rs"));
}
use tables::*;

/// The uap-core commit the tables come from (analytics-core/data/README.md).
pub const UAP_CORE_VERSION: &str = "e3c5e634bee0b14f1a129c991483910739ad9f6c (2026-08-11)";

/// The device classes Vigia stores (as their lower-case names). Rows stored before this
/// closed set keep what they had ("appliance" from the earlier parser).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum DeviceClass {
    Desktop,
    Mobile,
    Tablet,
    /// Smart TVs, streaming sticks and boxes, and game consoles.
    Tv,
    Bot,
    #[default]
    Unknown,
}

impl DeviceClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Desktop => "desktop",
            DeviceClass::Mobile => "mobile",
            DeviceClass::Tablet => "tablet",
            DeviceClass::Tv => "tv",
            DeviceClass::Bot => "bot",
            DeviceClass::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for DeviceClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for DeviceClass {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserAgentInfo {
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    pub device: DeviceClass,
    /// uap-core names the device a crawler ("Spider"). The bot verdict itself is
    /// `super::bot`'s; this is one of its inputs.
    pub is_crawler: bool,
}

impl UserAgentInfo {
    /// "Firefox on Windows 10": the browser and the OS with its version, as the audit log
    /// shows where a request came from. Unknown parts are left out; empty when both are.
    pub fn client_label(&self) -> String {
        let os = match (self.os.as_str(), self.os_version.as_str()) {
            ("unknown" | "", _) => String::new(),
            (os, "") => os.to_string(),
            (os, version) => format!("{os} {version}"),
        };
        [self.browser.clone(), os]
            .into_iter()
            .filter(|s| !s.is_empty() && s != "unknown")
            .collect::<Vec<_>>()
            .join(" on ")
    }
}

/// The user agent alone (activity records, audit entries, scoring).
pub fn parse(user_agent: &str) -> UserAgentInfo {
    parse_with_hints(user_agent, &ClientHints::default())
}

/// Answers kept per isolate (`parse_with_hints`): most traffic repeats a few hundred user
/// agents, and a cached answer costs a hash lookup instead of ~0.1 ms of pattern matching.
/// Cleared whole when full (simpler than LRU, and a busy site refills it in seconds). Held in
/// memory only, never stored or logged.
pub const PARSE_CACHE_ENTRIES: usize = 2_048;

type CacheKey = (String, [Option<String>; 3]);

thread_local! {
    static PARSE_CACHE: std::cell::RefCell<std::collections::HashMap<CacheKey, UserAgentInfo>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The user agent read together with the client hints the request carried (cached, see
/// `PARSE_CACHE_ENTRIES`).
pub fn parse_with_hints(user_agent: &str, hints: &ClientHints) -> UserAgentInfo {
    let key: CacheKey = (
        user_agent.to_string(),
        [hints.ua, hints.mobile, hints.platform].map(|h| h.map(str::to_string)),
    );
    if let Some(hit) = PARSE_CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return hit;
    }
    let info = parse_uncached(user_agent, hints);
    PARSE_CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= PARSE_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, info.clone());
    });
    info
}

/// `parse_with_hints` without the cache.
pub fn parse_uncached(user_agent: &str, hints: &ClientHints) -> UserAgentInfo {
    let ua = crate::ingest::wire::truncate_at_char(user_agent, MAX_USER_AGENT_BYTES).trim();
    let lower = ua.to_ascii_lowercase();
    let parsed = Parsed::of(ua, &lower);
    let (mut browser, mut browser_version) = naming::browser(&parsed.family, &parsed.v1);
    // Only Chromium browsers send client hints, and their user agents all say "Chrome/": hints
    // beside another browser's user agent (a script copying headers) are not believed.
    let hint = if lower.contains("chrome/") || browser == "unknown" {
        client_hints::parse(hints)
    } else {
        client_hints::HintFacts::default()
    };
    if let Some((name, version)) = supplement(ua) {
        (browser, browser_version) = (name.to_string(), version);
    }
    // Chromium-based browsers that send a Chrome user agent (Brave always; Edge, Opera,
    // Samsung Internet in some modes) name themselves in Sec-CH-UA.
    if let Some((name, version)) = hint.browser {
        if matches!(browser.as_str(), "Chrome" | "Chromium" | "unknown") {
            browser = name;
            if !version.is_empty() {
                browser_version = version;
            }
        }
    }

    let (mut os, mut os_version) = naming::os(&parsed.os, &parsed.os_v1, &parsed.os_v2);
    // Chrome's reduced Android user agent always says "Android 10; K": the version is frozen.
    if os == "Android" && lower.contains("; k)") {
        os_version.clear();
    }
    if let Some(platform) = hint.platform {
        if naming::platform_of(&os) != Some(platform) {
            os = platform.to_string();
            os_version.clear();
        }
    }

    let is_crawler = parsed.device == "Spider" || parsed.family == "Spider";
    let mut device = if is_crawler {
        DeviceClass::Bot
    } else {
        device_class(ua, &lower, &os)
    };
    match (hint.mobile, device) {
        (Some(true), DeviceClass::Desktop | DeviceClass::Unknown) => device = DeviceClass::Mobile,
        (Some(false), DeviceClass::Unknown) => device = DeviceClass::Desktop,
        _ => {}
    }
    UserAgentInfo {
        browser,
        browser_version,
        os,
        os_version,
        device,
        is_crawler,
    }
}

/// What the three uap-core sections say, as raw uap-core names.
#[derive(Debug, Default)]
struct Parsed {
    family: String,
    v1: String,
    os: String,
    os_v1: String,
    os_v2: String,
    device: String,
}

impl Parsed {
    fn of(ua: &str, lower: &str) -> Parsed {
        let mut p = Parsed::default();
        if ua.is_empty() {
            return p;
        }
        if let Some((rule, caps)) = first_match(&UA, ua, lower) {
            p.family = expand(rule.repl[0], &caps, 1);
            p.v1 = expand(rule.repl[1], &caps, 2);
        }
        if let Some((rule, caps)) = first_match(&OS, ua, lower) {
            p.os = expand(rule.repl[0], &caps, 1);
            p.os_v1 = expand(rule.repl[1], &caps, 2);
            p.os_v2 = expand(rule.repl[2], &caps, 3);
        }
        if let Some((rule, caps)) = first_match(&DEVICE, ua, lower) {
            p.device = expand(rule.repl[0], &caps, 1);
        }
        p
    }
}

/// One section of regexes.yaml with its index and its cache of compiled patterns.
struct Section {
    rules: &'static [Rule],
    /// Rules with no literal of three bytes or more: tried on every user agent.
    always: &'static [u16],
    /// First three bytes of a literal → the rules that have it, sorted by trigram.
    index: &'static [(u32, &'static [u16])],
    compiled: &'static [OnceLock<Option<Regex>>],
}

static UA_COMPILED: [OnceLock<Option<Regex>>; UA_COUNT] = [const { OnceLock::new() }; UA_COUNT];
static OS_COMPILED: [OnceLock<Option<Regex>>; OS_COUNT] = [const { OnceLock::new() }; OS_COUNT];
static DEVICE_COMPILED: [OnceLock<Option<Regex>>; DEVICE_COUNT] =
    [const { OnceLock::new() }; DEVICE_COUNT];

static UA: Section = Section {
    rules: &UA_RULES,
    always: UA_ALWAYS,
    index: UA_INDEX,
    compiled: &UA_COMPILED,
};
static OS: Section = Section {
    rules: &OS_RULES,
    always: OS_ALWAYS,
    index: OS_INDEX,
    compiled: &OS_COMPILED,
};
static DEVICE: Section = Section {
    rules: &DEVICE_RULES,
    always: DEVICE_ALWAYS,
    index: DEVICE_INDEX,
    compiled: &DEVICE_COMPILED,
};

/// Largest compiled pattern allowed (the regex crate's measure). uap-core's bounded repeats
/// (`.{0,300}`) make some patterns big; none needs more than this.
const MAX_PATTERN_SIZE: usize = 4 << 20;

/// Compiles every pattern now, as a parser that builds its whole set up front would; returns
/// how many compiled. Only for measuring (analytics-core/examples/ua_cost.rs): ingest never
/// calls it.
pub fn compile_every_pattern() -> usize {
    [&UA, &OS, &DEVICE]
        .iter()
        .flat_map(|s| s.rules.iter().zip(s.compiled))
        .filter(|(rule, cell)| cell.get_or_init(|| compile(rule)).is_some())
        .count()
}

fn compile(rule: &Rule) -> Option<Regex> {
    RegexBuilder::new(rule.pattern)
        .case_insensitive(rule.icase)
        .unicode(false)
        .size_limit(MAX_PATTERN_SIZE)
        .build()
        .ok()
}

/// uap-core rules Vigia reads past. uap-core names HbbTV sets' browser "HbbTV" (the TV
/// standard, not a browser) and their OS after the set's maker ("Sony", "LG"); past those
/// rules the data names the engine's browser (Opera, Chrome …) and the OS (Linux, Tizen,
/// webOS). The device class says "tv" either way.
fn skips(rule: &Rule) -> bool {
    rule.pattern.contains("HbbTV")
}

/// The first rule of the section (in file order) that matches, with its captures.
fn first_match<'u>(
    section: &Section,
    ua: &'u str,
    lower: &str,
) -> Option<(&'static Rule, Captures<'u>)> {
    let mut candidates = vec![0u64; section.rules.len().div_ceil(64)];
    let mut mark = |i: u16| candidates[i as usize / 64] |= 1 << (i % 64);
    section.always.iter().copied().for_each(&mut mark);
    for w in lower.as_bytes().windows(3) {
        let key = (w[0] as u32) << 16 | (w[1] as u32) << 8 | w[2] as u32;
        if let Ok(at) = section.index.binary_search_by_key(&key, |e| e.0) {
            section.index[at].1.iter().copied().for_each(&mut mark);
        }
    }
    for (word_at, mut word) in candidates.into_iter().enumerate() {
        while word != 0 {
            let i = word_at * 64 + word.trailing_zeros() as usize;
            word &= word - 1;
            let rule = &section.rules[i];
            if skips(rule) {
                continue;
            }
            if !rule.literals.is_empty() && !rule.literals.iter().any(|l| lower.contains(l)) {
                continue;
            }
            let compiled = section.compiled[i].get_or_init(|| compile(rule));
            if let Some(caps) = compiled.as_ref().and_then(|re| re.captures(ua.as_bytes())) {
                return Some((rule, caps));
            }
        }
    }
    None
}

/// A replacement template with `$1`…`$9` filled in, or the capture group `group` when the
/// rule has no template; trimmed.
fn expand(template: Option<&str>, caps: &Captures, group: usize) -> String {
    let Some(t) = template else {
        return caps
            .get(group)
            .map(|m| String::from_utf8_lossy(m.as_bytes()).trim().to_string())
            .unwrap_or_default();
    };
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().and_then(|d| d.to_digit(10))) {
            ('$', Some(n)) => {
                chars.next();
                if let Some(m) = caps.get(n as usize) {
                    out.push_str(&String::from_utf8_lossy(m.as_bytes()));
                }
            }
            _ => out.push(c),
        }
    }
    out.trim().to_string()
}

/// In-app browsers uap-core does not know (yet), checked after it: marker in the user agent
/// → browser name, and where its version follows. Kept tiny and documented in
/// docs/user-agents.md; remove an entry once uap-core has it.
const SUPPLEMENT: &[(&str, &str)] = &[
    // LinkedIn's iOS and Android apps append "[LinkedInApp]/9.30.1234" to the WebView's UA.
    ("[LinkedInApp]", "LinkedIn"),
];

fn supplement(ua: &str) -> Option<(&'static str, String)> {
    SUPPLEMENT.iter().find_map(|(marker, name)| {
        let at = ua.find(marker)?;
        let rest = ua[at + marker.len()..].trim_start_matches(['/', ' ']);
        let version: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((*name, version))
    })
}

/// Device class from the user agent (and the OS found): crawlers are decided before this.
/// TV first (TV user agents often also say "Android" or "Mobile"), then tablets (which say
/// "Mobile" on iOS), phones, and desktops by OS.
fn device_class(ua: &str, lower: &str, os: &str) -> DeviceClass {
    if ua.is_empty() {
        return DeviceClass::Unknown;
    }
    if is_tv(ua, lower) {
        return DeviceClass::Tv;
    }
    let android = lower.contains("android");
    let browser_like = lower.starts_with("mozilla/") || lower.starts_with("opera/");
    if lower.contains("ipad")
        || (lower.contains("tablet") && !lower.contains("tablet pc"))
        || lower.contains("kindle")
        || lower.contains("silk/")
        || lower.contains("playbook")
        // Android browsers say "Mobile" on phones only; an app's own user agent often never
        // does (Instagram, Dalvik), and those are mostly phones.
        || (android && browser_like && !lower.contains("mobile"))
    {
        return DeviceClass::Tablet;
    }
    if matches!(
        os,
        "iOS"
            | "Android"
            | "Windows Phone"
            | "Windows Mobile"
            | "BlackBerry OS"
            | "KaiOS"
            | "Symbian OS"
            | "Symbian^3"
            | "Firefox OS"
            | "Ubuntu Touch"
            | "Sailfish"
    ) {
        return DeviceClass::Mobile;
    }
    // A desktop OS, unless a Linux user agent says it is a phone's (Firefox OS and others
    // call themselves "Linux; Mobile").
    let desktop_os = naming::platform_of(os).is_some() || naming::is_desktop_os(os);
    if desktop_os && !(os == "Linux" && lower.contains("mobile")) {
        return DeviceClass::Desktop;
    }
    const PHONE_MARKERS: &[&str] = &[
        "mobile",
        "mobi",
        "iphone",
        "ipod",
        "android",
        "windows phone",
        "blackberry",
        "bb10",
        "opera mini",
        "kaios",
        "symbian",
        "series60",
        "series40",
        "midp",
        "j2me",
        "webos",
    ];
    if PHONE_MARKERS.iter().any(|m| lower.contains(m)) {
        return DeviceClass::Mobile;
    }
    // Systems uap-core does not name, and X11 / Macintosh without a named OS.
    const DESKTOP_MARKERS: &[&str] = &[
        "x11",
        "macintosh",
        "windows nt",
        "amigaos",
        "beos",
        "haiku",
        "morphos",
        "irix",
        "os/2",
        "risc os",
        "freebsd",
        "openbsd",
        "netbsd",
        "sunos",
    ];
    if DESKTOP_MARKERS.iter().any(|m| lower.contains(m)) {
        return DeviceClass::Desktop;
    }
    DeviceClass::Unknown
}

/// Smart TVs, streaming devices and game consoles (all "tv").
fn is_tv(ua: &str, lower: &str) -> bool {
    const TV_MARKERS: &[&str] = &[
        "smart-tv",
        "smarttv",
        "smart tv",
        "hbbtv",
        "googletv",
        "google tv",
        "android tv",
        "androidtv",
        "crkey",
        "appletv",
        "apple tv",
        "tvos",
        "roku",
        "playstation",
        "xbox",
        "nintendo",
        "netcast",
        "web0s",
        "bravia",
        "aquos",
        "viera",
        "opera tv",
        "large screen",
        "; tv)",
        "; tv ",
        " tv;",
        "dtv",
        "tizen tv",
        "philipstv",
        "vidaa",
        "titanos",
    ];
    if TV_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    if lower.contains("tizen") && lower.contains("tv")
        || lower.contains("webos") && lower.contains("tv")
    {
        return true;
    }
    // Fire TV models are "AFT" + capitals ("AFTMM", "AFTKA"), as a token of their own.
    ua.match_indices("AFT").any(|(at, _)| {
        let before = ua[..at].chars().next_back();
        let after = ua[at + 3..].chars().next();
        matches!(before, Some(' ' | ';' | '(')) && after.is_some_and(|c| c.is_ascii_uppercase())
    })
}

/// uap-core's names → the names Vigia shows. The data names a browser's mobile build apart
/// ("Chrome Mobile", "Mobile Safari"); the device class already says that, so one browser
/// keeps one name. WebViews and in-app browsers keep names of their own.
mod naming {
    const BROWSERS: &[(&str, &str)] = &[
        ("Chrome Mobile", "Chrome"),
        ("Chrome Mobile iOS", "Chrome"),
        ("Chrome Frame", "Chrome"),
        ("Mobile Safari", "Safari"),
        ("Chrome Mobile WebView", "Android WebView"),
        ("Mobile Safari UI/WKWebView", "iOS WebView"),
        ("Firefox Mobile", "Firefox"),
        ("Firefox iOS", "Firefox"),
        ("Edge Mobile", "Edge"),
        ("Opera Mobile", "Opera"),
        ("IE", "Internet Explorer"),
        ("IE Mobile", "Internet Explorer"),
        ("MicroMessenger", "WeChat"),
        ("WeChat Browser", "WeChat"),
        ("Other", "unknown"),
        ("", "unknown"),
    ];

    pub fn browser(family: &str, v1: &str) -> (String, String) {
        let name = BROWSERS
            .iter()
            .find(|(k, _)| *k == family)
            .map_or(family, |(_, v)| v);
        let version = if v1.bytes().all(|b| b.is_ascii_digit()) {
            v1
        } else {
            ""
        };
        (
            name.to_string(),
            if name == "unknown" {
                String::new()
            } else {
                version.to_string()
            },
        )
    }

    pub fn os(family: &str, v1: &str, v2: &str) -> (String, String) {
        let name = match family {
            "Mac OS X" => "macOS",
            "Other" | "" => "unknown",
            f => f,
        };
        let version = match (v1, v2) {
            _ if name == "unknown" => String::new(),
            ("", _) => String::new(),
            (v1, "") => v1.to_string(),
            (v1, v2) => format!("{v1}.{v2}"),
        };
        (name.to_string(), version)
    }

    /// The `Sec-CH-UA-Platform` an OS name corresponds to (Linux distributions are "Linux").
    pub fn platform_of(os: &str) -> Option<&'static str> {
        Some(match os {
            "Windows" => "Windows",
            "macOS" => "macOS",
            "Android" => "Android",
            "Chrome OS" => "Chrome OS",
            "iOS" => "iOS",
            "Fuchsia" => "Fuchsia",
            "Linux" | "Ubuntu" | "Debian" | "Fedora" | "Mint" | "Arch Linux" | "Gentoo"
            | "openSUSE" | "SUSE" | "Red Hat" | "CentOS" | "Kubuntu" | "Xubuntu" | "Slackware"
            | "Mandriva" | "Linux Mint" | "elementary OS" => "Linux",
            _ => return None,
        })
    }

    pub fn is_desktop_os(os: &str) -> bool {
        matches!(
            os,
            "FreeBSD" | "OpenBSD" | "NetBSD" | "Solaris" | "SunOS" | "BeOS" | "Haiku" | "OS/2"
        ) || os.starts_with("Windows")
            && !matches!(
                os,
                "Windows Phone" | "Windows Mobile" | "Windows CE" | "Windows RT"
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const CHROME_ANDROID_REDUCED: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1";
    const GOOGLEBOT: &str =
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    const FIREFOX_WIN: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

    fn hints(
        ua: &'static str,
        mobile: &'static str,
        platform: &'static str,
    ) -> ClientHints<'static> {
        ClientHints {
            ua: Some(ua),
            mobile: Some(mobile),
            platform: Some(platform),
        }
    }

    fn summary(info: &UserAgentInfo) -> String {
        format!(
            "{} {} / {} {} / {}",
            info.browser, info.browser_version, info.os, info.os_version, info.device
        )
    }

    #[test]
    fn desktop_chrome_on_linux() {
        let info = parse(CHROME_LINUX);
        assert_eq!(summary(&info), "Chrome 131 / Linux  / desktop");
        assert!(!info.is_crawler);
    }

    #[test]
    fn firefox_on_windows() {
        let info = parse(FIREFOX_WIN);
        assert_eq!(summary(&info), "Firefox 133 / Windows 10 / desktop");
    }

    #[test]
    fn phones_and_tablets() {
        assert_eq!(summary(&parse(IPHONE)), "Safari 17 / iOS 17.5 / mobile");
        assert_eq!(parse(IPAD).device, DeviceClass::Tablet);
        let tablets = [
            "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Android 13; Tablet; rv:120.0) Gecko/120.0 Firefox/120.0",
            "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.4 Mobile Safari/535.19 Silk-Accelerated=true",
            "Mozilla/5.0 (X11; U; Linux armv7l like Android; en-us) AppleWebKit/531.2+ (KHTML, like Gecko) Version/5.0 Safari/533.2+ Kindle/3.0+",
        ];
        for t in tablets {
            assert_eq!(parse(t).device, DeviceClass::Tablet, "{t}");
        }
        let firefox_phone = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0";
        assert_eq!(
            summary(&parse(firefox_phone)),
            "Firefox 133 / Android 14 / mobile"
        );
    }

    #[test]
    fn a_cubot_phone_is_a_phone_not_a_bot() {
        let cubot = "Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36";
        let info = parse(cubot);
        assert_eq!(summary(&info), "Chrome 120 / Android 9 / mobile");
        assert!(!info.is_crawler);
        let cubot_king = "Mozilla/5.0 (Linux; Android 6.0; CUBOT KING KONG Build/MRA58K) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/44.0.2403.119 Mobile Safari/537.36";
        assert!(!parse(cubot_king).is_crawler);
    }

    #[test]
    fn crawlers_are_bots() {
        let info = parse(GOOGLEBOT);
        assert!(info.is_crawler);
        assert_eq!(info.device, DeviceClass::Bot);
        assert_eq!(info.browser, "Googlebot");
    }

    #[test]
    fn in_app_browsers_are_named() {
        let cases = [
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.41.105;FBBV/612345;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/5]", "Facebook"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A.240405.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/460.0.0.48.109;]", "Facebook"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 329.0.3.29.120 (iPhone14,5; iOS 17_4; en_US; en; scale=3.00; 1170x2532; 590358712)", "Instagram"),
            ("Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 Instagram 329.0.0.41.93 Android (33/13; 420dpi; 1080x2340; samsung; SM-G991B; o1s; exynos2100; en_GB; 590200001)", "Instagram"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_34.8.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US", "TikTok"),
            ("Mozilla/5.0 (Linux; Android 12; SM-A525F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 trill_330604 BytedanceWebview/d8a21c6", "TikTok"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.30.1234", "LinkedIn"),
            ("Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0 Mobile Safari/537.36 [LinkedInApp]/4.1.881", "LinkedIn"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN", "WeChat"),
        ];
        for (ua, browser) in cases {
            let info = parse(ua);
            assert_eq!(info.browser, browser, "{ua}");
            assert_eq!(info.device, DeviceClass::Mobile, "{ua}");
            assert!(!info.is_crawler, "{ua}");
        }
        assert_eq!(parse(cases[0].0).browser_version, "470");
        assert_eq!(parse(cases[6].0).browser_version, "9");
    }

    #[test]
    fn webviews_are_named() {
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A.240405.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36";
        assert_eq!(
            summary(&parse(android)),
            "Android WebView 124 / Android 14 / mobile"
        );
        let ios = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
        assert_eq!(parse(ios).browser, "iOS WebView");
    }

    #[test]
    fn client_hints_name_the_browser_behind_a_chrome_user_agent() {
        let brave = r#""Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24""#;
        let edge = r#""Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24""#;
        let opera = r#""Opera";v="114", "Chromium";v="128", "Not;A=Brand";v="24""#;
        let samsung = r#""Samsung Internet";v="26.0", "Chromium";v="122", "Not(A:Brand";v="24""#;
        let chrome = r#""Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131""#;
        let on = |ua, h| summary(&parse_with_hints(ua, &h));
        // Brave's user agent is Chrome's, to the byte.
        assert_eq!(
            summary(&parse(CHROME_WIN)),
            "Chrome 131 / Windows 10 / desktop"
        );
        for (ua, brands, mobile, platform, want) in [
            (
                CHROME_WIN,
                brave,
                "?0",
                "\"Windows\"",
                "Brave 131 / Windows 10 / desktop",
            ),
            (
                CHROME_WIN,
                edge,
                "?0",
                "\"Windows\"",
                "Edge 131 / Windows 10 / desktop",
            ),
            (
                CHROME_WIN,
                opera,
                "?0",
                "\"Windows\"",
                "Opera 114 / Windows 10 / desktop",
            ),
            (
                CHROME_ANDROID_REDUCED,
                samsung,
                "?1",
                "\"Android\"",
                "Samsung Internet 26 / Android  / mobile",
            ),
            (
                CHROME_WIN,
                chrome,
                "?0",
                "\"Windows\"",
                "Chrome 131 / Windows 10 / desktop",
            ),
        ] {
            assert_eq!(on(ua, hints(brands, mobile, platform)), want, "{brands}");
        }
        // A user agent that names its browser is not overruled.
        // A user agent that is not Chromium's is not overruled (nor is its OS).
        let firefox = parse_with_hints(FIREFOX_WIN, &hints(brave, "?1", "\"Linux\""));
        assert_eq!(summary(&firefox), "Firefox 133 / Windows 10 / desktop");
    }

    #[test]
    fn the_platform_hint_fills_in_a_reduced_os() {
        let chrome = r#""Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131""#;
        // Reduced Android: "Android 10; K" always; the version is not stored.
        let info = parse(CHROME_ANDROID_REDUCED);
        assert_eq!(summary(&info), "Chrome 131 / Android  / mobile");
        // A ChromeOS device whose user agent says Linux (Chromium on Chromebooks in some modes).
        let info = parse_with_hints(CHROME_LINUX, &hints(chrome, "?0", "\"Chrome OS\""));
        assert_eq!(summary(&info), "Chrome 131 / Chrome OS  / desktop");
        // Where they agree, the user agent's version stays.
        let info = parse_with_hints(CHROME_MAC, &hints(chrome, "?0", "\"macOS\""));
        assert_eq!(summary(&info), "Chrome 131 / macOS 10.15 / desktop");
        // "Request desktop site" on an Android phone: a Linux desktop user agent, ?1 is truer.
        let info = parse_with_hints(CHROME_LINUX, &hints(chrome, "?1", "\"Android\""));
        assert_eq!(summary(&info), "Chrome 131 / Android  / mobile");
    }

    #[test]
    fn tvs_and_consoles() {
        let tvs = [
            "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36",
            "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager",
            "Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.5359.160 Mobile Safari/537.36",
            "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36 CrKey/1.56.500000",
            "Mozilla/5.0 (Linux; Android 12; BRAVIA 4K VH2 Build/STT1.211025.001.Z4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.5735.196 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 11; Chromecast HD Build/RVC; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0 Mobile Safari/537.36 GoogleTV",
            "AppleTV11,1/11.1",
            "Roku4640X/DVP-7.70 (297.70E04154A)",
            "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox Series X) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/48.0.2564.82 Safari/537.36 Edge/20.02",
            "Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko) NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393",
            "Opera/9.80 (Linux armv7l; HbbTV/1.2.1 (; Philips; 40HFL5010T12; ; PHILIPSTV; CE-HTML/1.0 NETTV/4.4.1 SmartTvA/3.0.0 Firmware/004.002.036.135 (PhilipsTV, 4.1.3,)) Presto/2.12.407 Version/12.50",
        ];
        for t in tvs {
            assert_eq!(parse(t).device, DeviceClass::Tv, "{t}");
        }
        // "AFT" inside a word is not a Fire TV.
        assert_eq!(parse("Mozilla/5.0 (Linux; Android 13; DRAFT-X) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36").device, DeviceClass::Mobile);
    }

    #[test]
    fn the_mobile_hint_decides_where_the_user_agent_cannot() {
        let chrome = r#""Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131""#;
        let info = parse_with_hints("Mozilla/5.0", &hints(chrome, "?1", "\"Android\""));
        assert_eq!(info.device, DeviceClass::Mobile);
        let info = parse_with_hints("Mozilla/5.0", &hints(chrome, "?0", "\"Windows\""));
        assert_eq!(
            (info.device, info.os.as_str()),
            (DeviceClass::Desktop, "Windows")
        );
        // An iPad is not made a phone by a hint.
        assert_eq!(
            parse_with_hints(IPAD, &hints(chrome, "?1", "")).device,
            DeviceClass::Tablet
        );
    }

    #[test]
    fn garbage_is_unknown_not_a_panic() {
        let info = parse("\u{1F600}".repeat(400).as_str());
        assert_eq!(info.browser, "unknown");
        assert_eq!(info.device, DeviceClass::Unknown);
        assert_eq!(parse("").device, DeviceClass::Unknown);
        assert_eq!(parse("").os, "unknown");
        for junk in [
            "$1$2$3",
            "((((",
            "\0\0\0",
            "Mozilla/5.0 (",
            "   ",
            "ñandú/1.0 (Ñ; ü)",
        ] {
            let _ = parse(junk);
        }
    }

    #[test]
    fn every_uap_core_pattern_compiles() {
        for (name, section) in [("ua", &UA), ("os", &OS), ("device", &DEVICE)] {
            for rule in section.rules {
                assert!(compile(rule).is_some(), "{name}: {}", rule.pattern);
            }
        }
    }

    #[test]
    fn the_prefilter_keeps_most_patterns_out() {
        // Few rules are tried on every user agent, so few are compiled per new user agent.
        assert!(UA_ALWAYS.len() < 40, "{}", UA_ALWAYS.len());
        assert!(OS_ALWAYS.len() < 40, "{}", OS_ALWAYS.len());
        assert!(DEVICE_ALWAYS.len() < 60, "{}", DEVICE_ALWAYS.len());
    }

    #[test]
    fn device_classes_keep_their_stored_names() {
        for (class, text) in [
            (DeviceClass::Desktop, "\"desktop\""),
            (DeviceClass::Tv, "\"tv\""),
            (DeviceClass::Unknown, "\"unknown\""),
        ] {
            assert_eq!(serde_json::to_string(&class).unwrap(), text);
            assert_eq!(class.to_string(), text.trim_matches('"'));
        }
        assert!(DeviceClass::Bot == "bot");
    }

    #[test]
    fn the_cache_answers_as_the_parser_does_and_stays_bounded() {
        let hints = ClientHints {
            ua: Some(r#""Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24""#),
            mobile: Some("?0"),
            platform: Some(r#""Windows""#),
        };
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        // The same user agent with and without hints are two answers, not one.
        assert_eq!(
            parse_with_hints(chrome, &hints),
            parse_uncached(chrome, &hints)
        );
        assert_eq!(parse_with_hints(chrome, &hints).browser, "Brave");
        assert_eq!(parse(chrome).browser, "Chrome");
        for i in 0..PARSE_CACHE_ENTRIES + 10 {
            parse(&format!("Mozilla/5.0 (X11; Linux x86_64) Firefox/{i}.0"));
        }
        let len = PARSE_CACHE.with(|c| c.borrow().len());
        assert!(len <= PARSE_CACHE_ENTRIES, "{len}");
        assert_eq!(parse_with_hints(chrome, &hints).browser, "Brave");
    }

    #[test]
    fn the_client_label_names_browser_and_os_with_its_version() {
        const FIREFOX_WIN: &str =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(parse(FIREFOX_WIN).client_label(), "Firefox on Windows 10");
        assert_eq!(parse("").client_label(), "");
        let no_os = UserAgentInfo {
            browser: "curl".into(),
            os: "unknown".into(),
            ..Default::default()
        };
        assert_eq!(no_os.client_label(), "curl");
    }
}
