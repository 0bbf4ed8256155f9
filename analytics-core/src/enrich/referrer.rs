//! Referrer → host, source name and channel. Self-referrals (same site) count as no referrer.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Referrer {
    pub host: String,
    pub source: String,
    pub channel: String,
}

/// (host suffix, source name, channel)
const KNOWN_SOURCES: &[(&str, &str, &str)] = &[
    ("google.", "Google", "search"),
    ("bing.com", "Bing", "search"),
    ("duckduckgo.com", "DuckDuckGo", "search"),
    ("search.yahoo.com", "Yahoo", "search"),
    ("yandex.", "Yandex", "search"),
    ("baidu.com", "Baidu", "search"),
    ("ecosia.org", "Ecosia", "search"),
    ("search.brave.com", "Brave Search", "search"),
    ("facebook.com", "Facebook", "social"),
    ("instagram.com", "Instagram", "social"),
    ("t.co", "Twitter", "social"),
    ("twitter.com", "Twitter", "social"),
    ("x.com", "Twitter", "social"),
    ("linkedin.com", "LinkedIn", "social"),
    ("lnkd.in", "LinkedIn", "social"),
    ("reddit.com", "Reddit", "social"),
    ("news.ycombinator.com", "Hacker News", "social"),
    ("youtube.com", "YouTube", "social"),
    ("mastodon.social", "Mastodon", "social"),
    ("bsky.app", "Bluesky", "social"),
    ("mail.google.com", "Gmail", "email"),
    ("outlook.live.com", "Outlook", "email"),
    ("mail.yahoo.com", "Yahoo Mail", "email"),
    ("github.com", "GitHub", "referral"),
];

/// UTM mediums that name a channel outright.
fn channel_from_medium(medium: &str) -> Option<&'static str> {
    match medium.to_ascii_lowercase().as_str() {
        "cpc" | "ppc" | "paid" | "paidsearch" | "paid_social" | "display" | "cpm" => Some("paid"),
        "email" | "newsletter" | "e-mail" => Some("email"),
        "social" | "social-network" | "social-media" => Some("social"),
        "organic" => Some("search"),
        _ => None,
    }
}

/// Classifies a referrer for a page on `page_host`. `utm_medium` (possibly empty) overrides the
/// channel when it names one.
pub fn classify(referrer: Option<&str>, page_host: &str, utm_medium: &str) -> Referrer {
    let parsed = referrer
        .filter(|r| !r.is_empty())
        .and_then(|r| Url::parse(r).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str())
        .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
        .unwrap_or_default();
    let is_self =
        !host.is_empty() && host == page_host.trim_start_matches("www.").to_ascii_lowercase();
    let mut result = if host.is_empty() || is_self {
        Referrer {
            host: String::new(),
            source: "Direct".into(),
            channel: "direct".into(),
        }
    } else {
        let known = KNOWN_SOURCES
            .iter()
            .find(|(suffix, _, _)| host_matches(&host, suffix));
        match known {
            Some((_, name, channel)) => Referrer {
                host: host.clone(),
                source: (*name).into(),
                channel: (*channel).into(),
            },
            None => Referrer {
                source: host.clone(),
                host,
                channel: "referral".into(),
            },
        }
    };
    if let Some(channel) = channel_from_medium(utm_medium) {
        result.channel = channel.into();
    }
    result
}

fn host_matches(host: &str, pattern: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('.') {
        // "google." matches google.com, google.co.uk, www.google.de
        host.starts_with(pattern) || host.contains(&format!(".{prefix}."))
    } else {
        host == pattern || host.ends_with(&format!(".{pattern}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_referrer_is_direct() {
        assert_eq!(classify(None, "example.com", "").channel, "direct");
        assert_eq!(
            classify(Some("not a url"), "example.com", "").channel,
            "direct"
        );
    }

    #[test]
    fn self_referrals_are_removed() {
        let r = classify(Some("https://www.example.com/blog"), "example.com", "");
        assert_eq!((r.host.as_str(), r.channel.as_str()), ("", "direct"));
    }

    #[test]
    fn known_sources_get_names_and_channels() {
        let g = classify(Some("https://www.google.co.uk/"), "example.com", "");
        assert_eq!(
            (g.source.as_str(), g.channel.as_str()),
            ("Google", "search")
        );
        let hn = classify(
            Some("https://news.ycombinator.com/item?id=1"),
            "example.com",
            "",
        );
        assert_eq!(
            (hn.source.as_str(), hn.channel.as_str()),
            ("Hacker News", "social")
        );
        let other = classify(Some("https://blog.rust-lang.org/x"), "example.com", "");
        assert_eq!(
            (other.source.as_str(), other.channel.as_str()),
            ("blog.rust-lang.org", "referral")
        );
    }

    #[test]
    fn utm_medium_overrides_the_channel() {
        assert_eq!(
            classify(Some("https://google.com/"), "e.com", "cpc").channel,
            "paid"
        );
        assert_eq!(classify(None, "e.com", "newsletter").channel, "email");
    }
}
