//! User-Agent Client Hints: the low-entropy `Sec-CH-UA`, `Sec-CH-UA-Mobile` and
//! `Sec-CH-UA-Platform` headers every Chromium browser sends on secure requests (localhost
//! counts), cross-origin beacons included. They name the real brand where the user agent
//! string is frozen to "Chrome" (Brave's is identical to Chrome's) and the platform where the
//! string is reduced (Android "K", "Windows NT 10.0", macOS 10_15_7).
//!
//! The Worker passes the headers as sent ([`ClientHints`]); [`parse`] reads them here.

/// Longest `Sec-CH-UA` value read. Real ones are ~100 bytes (three brands); anything far longer
/// is not a browser's and is ignored as a whole.
pub const MAX_CLIENT_HINT_BYTES: usize = 512;
/// Most brands read from one `Sec-CH-UA` (browsers send three or four).
pub const MAX_BRANDS: usize = 8;

/// The three low-entropy hint headers, as the request carried them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientHints<'a> {
    /// `Sec-CH-UA`: `"Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131"`.
    pub ua: Option<&'a str>,
    /// `Sec-CH-UA-Mobile`: `?0` or `?1`.
    pub mobile: Option<&'a str>,
    /// `Sec-CH-UA-Platform`: `"Windows"`, `"macOS"`, `"Android"`, `"Linux"`, `"Chrome OS"` …
    pub platform: Option<&'a str>,
}

/// What the hints say, in Vigia's names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HintFacts {
    /// The browser named by a brand more specific than Chromium (Edge, Brave, Opera, Samsung
    /// Internet …), with its major version; `None` when the brands say only Chromium or
    /// Google Chrome (the user agent string is then right as it is).
    pub browser: Option<(String, String)>,
    /// Whether Google Chrome is among the brands.
    pub chrome: bool,
    /// `?1` → `Some(true)`, `?0` → `Some(false)`.
    pub mobile: Option<bool>,
    /// The platform in Vigia's OS names (`macOS`, `Windows`, `Android`, `Linux`, `Chrome OS`).
    pub platform: Option<&'static str>,
}

impl ClientHints<'_> {
    pub fn is_empty(&self) -> bool {
        self.ua.is_none() && self.mobile.is_none() && self.platform.is_none()
    }
}

/// Brand (as in `Sec-CH-UA`) → browser name (as the user agent parser names it). Brands not
/// listed here (and "Chromium") add nothing to what the user agent string says.
const BRANDS: &[(&str, &str)] = &[
    ("Microsoft Edge", "Edge"),
    ("Brave", "Brave"),
    ("Opera", "Opera"),
    ("Opera GX", "Opera"),
    ("Samsung Internet", "Samsung Internet"),
    ("YaBrowser", "Yandex Browser"),
    ("Yandex", "Yandex Browser"),
    ("Vivaldi", "Vivaldi"),
    ("Android WebView", "Android WebView"),
    ("DuckDuckGo", "DuckDuckGo"),
    ("Avast Secure Browser", "Avast Secure Browser"),
    ("HuaweiBrowser", "Huawei Browser"),
    ("Whale", "Whale"),
];

/// `Sec-CH-UA-Platform` value → OS name.
const PLATFORMS: &[(&str, &str)] = &[
    ("Windows", "Windows"),
    ("macOS", "macOS"),
    ("Android", "Android"),
    ("Linux", "Linux"),
    ("Chrome OS", "Chrome OS"),
    ("Chromium OS", "Chrome OS"),
    ("iOS", "iOS"),
    ("Fuchsia", "Fuchsia"),
];

pub fn parse(hints: &ClientHints) -> HintFacts {
    let brands = hints.ua.map(brands).unwrap_or_default();
    let browser = brands.iter().find_map(|(brand, version)| {
        BRANDS
            .iter()
            .find(|(b, _)| b.eq_ignore_ascii_case(brand))
            .map(|(_, name)| (name.to_string(), major(version)))
    });
    let chrome = brands.iter().any(|(b, _)| b == "Google Chrome");
    let mobile = match hints.mobile.map(str::trim) {
        Some("?1") => Some(true),
        Some("?0") => Some(false),
        _ => None,
    };
    let platform = hints.platform.and_then(|p| {
        let p = sf_string(p.trim())?;
        PLATFORMS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&p))
            .map(|(_, v)| *v)
    });
    HintFacts {
        browser,
        chrome,
        mobile,
        platform,
    }
}

/// The (brand, version) pairs of a `Sec-CH-UA` structured-header list, GREASE brands left out.
/// Anything that is not a list of quoted strings ends the list where it starts.
pub fn brands(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if header.len() > MAX_CLIENT_HINT_BYTES {
        return out;
    }
    let mut rest = header.trim_start();
    while !rest.is_empty() && out.len() < MAX_BRANDS {
        let Some((brand, after)) = quoted(rest) else {
            break;
        };
        rest = after;
        let mut version = String::new();
        // Parameters: `;key=value`, the value a quoted string or a token.
        while let Some(p) = rest.trim_start().strip_prefix(';') {
            let (key, after) = p.split_once('=').unwrap_or((p, ""));
            let (value, after) = match quoted(after) {
                Some(q) => q,
                None => {
                    let end = after.find([',', ';']).unwrap_or(after.len());
                    (after[..end].trim().to_string(), &after[end..])
                }
            };
            if key.trim() == "v" {
                version = value;
            }
            rest = after;
        }
        if !is_grease(&brand) {
            out.push((brand, version));
        }
        match rest.trim_start().strip_prefix(',') {
            Some(r) => rest = r.trim_start(),
            None => break,
        }
    }
    out
}

/// A structured-header string at the start of `s` (`"…"`, `\"` and `\\` escaped) and what
/// follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

fn sf_string(s: &str) -> Option<String> {
    match quoted(s) {
        Some((v, rest)) if rest.trim().is_empty() => Some(v),
        _ => None,
    }
}

/// GREASE brands ("Not_A Brand", "Not A(Brand", "Not)A;Brand", "Not/A)Brand" …): the letters
/// "Not A Brand" with arbitrary punctuation, there to keep servers from parsing strictly.
fn is_grease(brand: &str) -> bool {
    let letters: String = brand
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    letters == "notabrand"
}

fn major(version: &str) -> String {
    let m = version.split('.').next().unwrap_or("");
    if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) {
        m.to_string()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const CHROME: &str = r#""Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131""#;
    pub const BRAVE: &str = r#""Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24""#;
    const EDGE: &str = r#""Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24""#;
    const OPERA: &str = r#""Opera";v="114", "Chromium";v="128", "Not;A=Brand";v="24""#;
    const SAMSUNG: &str =
        r#""Samsung Internet";v="26.0", "Chromium";v="122", "Not(A:Brand";v="24""#;

    fn hints(ua: &'static str) -> ClientHints<'static> {
        ClientHints {
            ua: Some(ua),
            mobile: Some("?0"),
            platform: Some("\"Windows\""),
        }
    }

    #[test]
    fn brands_are_read_and_grease_is_dropped() {
        assert_eq!(
            brands(CHROME),
            [
                ("Chromium".to_string(), "131".to_string()),
                ("Google Chrome".to_string(), "131".to_string())
            ]
        );
        for grease in [
            "Not_A Brand",
            "Not A(Brand",
            "Not)A;Brand",
            "Not/A)Brand",
            "Not?A_Brand",
            "Not.A/Brand",
        ] {
            assert!(is_grease(grease), "{grease}");
        }
        assert!(!is_grease("Brave"));
    }

    #[test]
    fn the_brand_names_the_browser_behind_a_frozen_user_agent() {
        let name = |h: &'static str| parse(&hints(h)).browser.map(|(b, v)| format!("{b} {v}"));
        assert_eq!(name(BRAVE).as_deref(), Some("Brave 131"));
        assert_eq!(name(EDGE).as_deref(), Some("Edge 131"));
        assert_eq!(name(OPERA).as_deref(), Some("Opera 114"));
        assert_eq!(name(SAMSUNG).as_deref(), Some("Samsung Internet 26"));
        // Chrome and a bare Chromium say nothing the user agent does not.
        assert_eq!(name(CHROME), None);
        assert!(parse(&hints(CHROME)).chrome);
        assert_eq!(name(r#""Chromium";v="131", "Not_A Brand";v="24""#), None);
    }

    #[test]
    fn platform_and_mobile() {
        let h = ClientHints {
            ua: Some(CHROME),
            mobile: Some("?1"),
            platform: Some("\"Android\""),
        };
        let f = parse(&h);
        assert_eq!((f.platform, f.mobile), (Some("Android"), Some(true)));
        let mac = ClientHints {
            platform: Some("\"macOS\""),
            mobile: Some("?0"),
            ..h
        };
        assert_eq!(parse(&mac).platform, Some("macOS"));
        assert_eq!(parse(&mac).mobile, Some(false));
        let odd = ClientHints {
            platform: Some("Windows"),
            mobile: Some("yes"),
            ..h
        };
        assert_eq!((parse(&odd).platform, parse(&odd).mobile), (None, None));
    }

    #[test]
    fn malformed_and_oversized_hints_are_ignored_without_a_panic() {
        for bad in [
            "",
            "\"",
            "\"Brave",
            "Brave;v=1",
            "\"Brave\";v",
            "\"Brave\";v=\"1",
            "\"\\",
            ",,,,",
            "\"Brave\" \"Edge\"",
        ] {
            let _ = parse(&hints(bad));
        }
        let long = format!("\"Brave\";v=\"1\", {}", "\"x\";v=\"1\", ".repeat(60));
        assert!(long.len() > MAX_CLIENT_HINT_BYTES);
        assert!(brands(&long).is_empty());
        let many = "\"a\";v=\"1\", ".repeat(MAX_BRANDS + 4);
        assert_eq!(brands(&many).len(), MAX_BRANDS);
        // A token version is read too.
        assert_eq!(brands("\"Brave\";v=131")[0].1, "131");
    }
}
