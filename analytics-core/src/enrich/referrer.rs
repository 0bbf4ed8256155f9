//! Referrer → host, source name and channel, from Snowplow's maintained referer-parser data
//! (analytics-core/data/snowplow-referer-parser, compiled into sorted tables by build.rs).
//! Hosts match on label boundaries, longest suffix first: `mail.google.com` is Gmail (email),
//! `www.google.co.uk` Google (search), `google.com.evil.example` nobody. docs/channels.md has
//! the rules and the update procedure.

use super::channel::{self, Channel, SourceKind};
use url::Url;

mod data {
    include!(concat!(env!("OUT_DIR"), "/referrers.rs"));
}

pub use data::REFERERS_VERSION;

/// Where a visit came from, as stored: `host` (without `www.`; empty when direct), `source`
/// (the data set's name for a known host, else the host) and the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub host: String,
    pub source: String,
    pub channel: Channel,
}

/// The source name stored for visits without a referrer.
pub const DIRECT_SOURCE: &str = "Direct";

/// Referrers of Android apps: `android-app://<package id>/…`. The data set lists well-known
/// package ids (Gmail, Google app, Facebook, Instagram …) beside the web hosts.
const ANDROID_APP_SCHEME: &str = "android-app";

/// A host known to the data set: its source name and what kind of place it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub name: &'static str,
    pub kind: SourceKind,
}

fn kind_of(medium: u8) -> SourceKind {
    // The medium codes are the section order in build/referrers.rs.
    match medium {
        1 => SourceKind::Email,
        2 => SourceKind::Social,
        3 => SourceKind::Search,
        4 => SourceKind::Ads,
        5 => SourceKind::AiAssistant,
        _ => SourceKind::Other,
    }
}

fn known(source: u16, medium: u8) -> Known {
    Known {
        name: data::SOURCES.get(source as usize).copied().unwrap_or(""),
        kind: kind_of(medium),
    }
}

/// Looks a host (lowercase, as sent) and path up: for each suffix of the host on a label
/// boundary, longest first, an entry with a path prefix of `path` (longest wins), then the
/// host alone.
pub fn lookup(host: &str, path: &str) -> Option<Known> {
    let mut suffix = host.trim_end_matches('.');
    // `www.` names the same site: a path entry of the bare host (google.fr/imgres) beats the
    // `www.` host entry (www.google.fr).
    if let Some(bare) = suffix.strip_prefix("www.") {
        if let Some(hit) = lookup_path(suffix, path).or_else(|| lookup_path(bare, path)) {
            return Some(hit);
        }
    }
    loop {
        if let Some(hit) = lookup_path(suffix, path) {
            return Some(hit);
        }
        if let Some(hit) = lookup_exact(suffix) {
            return Some(hit);
        }
        suffix = &suffix[suffix.find('.')? + 1..];
    }
}

/// The host exactly as listed (app package ids are looked up this way: no suffixes).
pub fn lookup_exact(host: &str) -> Option<Known> {
    data::HOSTS
        .binary_search_by(|(h, _, _)| (*h).cmp(host))
        .ok()
        .map(|i| known(data::HOSTS[i].1, data::HOSTS[i].2))
}

fn lookup_path(host: &str, path: &str) -> Option<Known> {
    let start = data::PATHS.partition_point(|(h, _, _, _)| *h < host);
    data::PATHS[start..]
        .iter()
        .take_while(|(h, _, _, _)| *h == host)
        .filter(|(_, prefix, _, _)| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', ';', '?']))
        })
        .max_by_key(|(_, prefix, _, _)| prefix.len())
        .map(|(_, _, source, medium)| known(*source, *medium))
}

/// What kind of source `utm_source` names: a source name from the data set ("google",
/// "Facebook", case-insensitive) or one of its hosts ("facebook.com").
pub fn utm_source_kind(utm_source: &str) -> SourceKind {
    let s = utm_source.trim().to_ascii_lowercase();
    if s.is_empty() {
        return SourceKind::Other;
    }
    if let Ok(i) = data::NAMES.binary_search_by(|(n, _)| (*n).cmp(s.as_str())) {
        return kind_of(data::NAMES[i].1);
    }
    lookup(s.trim_start_matches("www."), "").map_or(SourceKind::Other, |k| k.kind)
}

fn bare(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

/// Whether `host` (bare, lowercase) is another of the site's hostnames or a subdomain of one.
fn is_internal(host: &str, page_host: &str, site_hostnames: &[String]) -> bool {
    std::iter::once(page_host)
        .chain(site_hostnames.iter().map(String::as_str))
        .map(|h| bare(h.trim()).to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .any(|h| {
            host == h
                || host
                    .strip_suffix(h.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
}

/// Classifies a referrer for a page on `page_host` of a site served on `site_hostnames`.
/// UTM tags win when they name a channel (channel::from_utm); `utm_source` also tells paid
/// search from paid social.
pub fn classify(
    referrer: Option<&str>,
    page_host: &str,
    site_hostnames: &[String],
    utm_source: &str,
    utm_medium: &str,
) -> Referrer {
    let parsed = referrer
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .and_then(|r| Url::parse(r).ok());
    let page = bare(page_host).to_ascii_lowercase();
    let (host, found, base) = match &parsed {
        Some(u) if matches!(u.scheme(), "http" | "https") => {
            let full = u.host_str().unwrap_or("").to_ascii_lowercase();
            // Stored without `www.`, but looked up as sent: the data lists some hosts only
            // with it (www.pricerunner.co.uk), and the suffix walk reaches the bare one anyway.
            let host = bare(&full).to_string();
            if host.is_empty() || host == page {
                (String::new(), None, Channel::Direct)
            } else if is_internal(&host, &page, site_hostnames) {
                (host, None, Channel::Internal)
            } else {
                let found = lookup(&full, u.path());
                let base = found.map_or(Channel::Referral, |k| k.kind.organic_channel());
                (host, found, base)
            }
        }
        Some(u) if u.scheme() == ANDROID_APP_SCHEME => {
            let package = u.host_str().unwrap_or("").to_ascii_lowercase();
            let found = lookup_exact(&package);
            let base = if package.is_empty() {
                Channel::Direct
            } else {
                found.map_or(Channel::Referral, |k| k.kind.organic_channel())
            };
            (package, found, base)
        }
        _ => (String::new(), None, Channel::Direct),
    };
    let source_kind = match utm_source_kind(utm_source) {
        SourceKind::Other => found.map_or(SourceKind::Other, |k| k.kind),
        kind => kind,
    };
    let channel = channel::from_utm(utm_medium, utm_source, source_kind).unwrap_or(
        // A known utm_source with no medium rule is that source's organic channel (GA4 reads
        // a search-engine source as organic search, whatever the referrer).
        match utm_source_kind(utm_source) {
            SourceKind::Other => base,
            kind if base == Channel::Direct || base == Channel::Referral => kind.organic_channel(),
            _ => base,
        },
    );
    let source = match (found, host.is_empty()) {
        (Some(k), _) if !k.name.is_empty() => k.name.to_string(),
        (_, true) => DIRECT_SOURCE.to_string(),
        (_, false) => host.clone(),
    };
    Referrer {
        host,
        source,
        channel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "example.com";

    fn of(referrer: &str) -> (String, Channel) {
        let r = classify(Some(referrer), SITE, &[SITE.into()], "", "");
        (r.source, r.channel)
    }

    fn channel(referrer: &str) -> Channel {
        of(referrer).1
    }

    #[test]
    fn no_referrer_is_direct() {
        let r = classify(None, SITE, &[], "", "");
        assert_eq!(
            (r.host.as_str(), r.source.as_str(), r.channel),
            ("", "Direct", Channel::Direct)
        );
        assert_eq!(channel("not a url"), Channel::Direct);
        assert_eq!(channel("file:///etc/passwd"), Channel::Direct);
    }

    #[test]
    fn the_page_host_with_or_without_www_is_direct() {
        let r = classify(
            Some("https://www.example.com/blog"),
            SITE,
            &[SITE.into()],
            "",
            "",
        );
        assert_eq!((r.host.as_str(), r.channel), ("", Channel::Direct));
    }

    #[test]
    fn the_sites_other_hostnames_and_subdomains_are_internal() {
        let hosts = vec!["example.com".to_string(), "example.org".to_string()];
        for r in [
            "https://blog.example.com/",
            "https://shop.example.org/x",
            "https://example.org/",
        ] {
            let c = classify(Some(r), "example.com", &hosts, "", "");
            assert_eq!(c.channel, Channel::Internal, "{r}");
        }
        // A host merely ending in the same letters is not a subdomain.
        let c = classify(
            Some("https://notexample.com/"),
            "example.com",
            &hosts,
            "",
            "",
        );
        assert_eq!(c.channel, Channel::Referral);
    }

    #[test]
    fn webmail_is_email() {
        for r in [
            "https://mail.google.com/mail/u/0/",
            "https://outlook.live.com/mail/0/inbox",
            "https://mail.yahoo.com/d/folders/1",
            // GMX and web.de webmail send links through their dereferrers.
            "https://deref-gmx.net/mail/client/dereferrer?redirectUrl=x",
            "https://deref-web.de/mail/client/dereferrer?redirectUrl=x",
            "https://3c.web.de/mail/client/start",
            // Their mail apps, Outlook on the web for work accounts, and gmail.com (the
            // supplement in build/referrers.rs: hosts the data lacks).
            "https://navigator.gmx.net/mail",
            "https://navigator.web.de/",
            "https://outlook.office.com/mail/",
            "https://outlook.office365.com/owa/",
            "https://gmail.com/",
        ] {
            assert_eq!(channel(r), Channel::Email, "{r}");
        }
        assert_eq!(of("https://mail.google.com/mail/u/0/").0, "Gmail");
    }

    #[test]
    fn google_hosts_match_on_label_boundaries_longest_first() {
        assert_eq!(
            of("https://www.google.co.uk/"),
            ("Google".into(), Channel::OrganicSearch)
        );
        assert_eq!(
            of("https://www.google.com/search?q=x").1,
            Channel::OrganicSearch
        );
        assert_ne!(channel("https://mail.google.com/"), Channel::OrganicSearch);
        let evil = classify(Some("https://google.com.evil.example/"), SITE, &[], "", "");
        assert_eq!(
            (evil.source.as_str(), evil.channel),
            ("google.com.evil.example", Channel::Referral)
        );
        assert_eq!(channel("https://notgoogle.com/"), Channel::Referral);
    }

    #[test]
    fn hosts_listed_only_with_www_are_found() {
        // referers.yml lists www.pricerunner.co.uk, not pricerunner.co.uk.
        let r = classify(
            Some("http://www.pricerunner.co.uk/search?q=x"),
            SITE,
            &[],
            "",
            "",
        );
        assert_eq!(
            (r.host.as_str(), r.source.as_str(), r.channel),
            ("pricerunner.co.uk", "PriceRunner", Channel::OrganicSearch)
        );
    }

    #[test]
    fn hosts_listed_only_as_www_are_found_bare_and_the_supplement_fills_gaps() {
        // referers.yml lists www.baidu.com only.
        assert_eq!(
            of("https://baidu.com/s?wd=x"),
            ("Baidu".into(), Channel::OrganicSearch)
        );
        // Not in referers.yml: build/referrers.rs SUPPLEMENT.
        for (r, name) in [
            ("https://x.com/someone/status/1", "Twitter"),
            ("https://bsky.app/profile/x", "Bluesky"),
            ("https://mastodon.social/@x", "Mastodon"),
        ] {
            assert_eq!(of(r), (name.into(), Channel::OrganicSocial), "{r}");
        }
    }

    #[test]
    fn path_entries_win_over_their_host() {
        // referers.yml lists google.fr/imgres as "Google Images".
        assert_eq!(of("https://www.google.fr/imgres?q=x").0, "Google Images");
        assert_eq!(of("https://www.google.fr/imgresx").0, "Google");
    }

    #[test]
    fn android_app_referrers_by_package_id() {
        let gmail = classify(
            Some("android-app://com.google.android.gm/"),
            SITE,
            &[],
            "",
            "",
        );
        assert_eq!(
            (gmail.host.as_str(), gmail.source.as_str(), gmail.channel),
            ("com.google.android.gm", "Gmail", Channel::Email)
        );
        assert_eq!(
            of("android-app://com.google.android.googlequicksearchbox"),
            ("Google".into(), Channel::OrganicSearch)
        );
        assert_eq!(
            channel("android-app://com.facebook.katana"),
            Channel::OrganicSocial
        );
        assert_eq!(
            of("android-app://org.example.reader"),
            ("org.example.reader".into(), Channel::Referral)
        );
    }

    #[test]
    fn ai_assistants() {
        for r in [
            "https://chatgpt.com/",
            "https://chat.openai.com/c/1",
            "https://www.perplexity.ai/search/x",
            "https://claude.ai/chat/1",
            "https://gemini.google.com/app",
            "https://copilot.microsoft.com/",
        ] {
            assert_eq!(channel(r), Channel::AiAssistant, "{r}");
        }
    }

    #[test]
    fn newer_social_networks() {
        for r in [
            "https://www.tiktok.com/@x",
            "https://www.threads.net/@x",
            "https://www.pinterest.com/pin/1",
            "https://x.tumblr.com/post/1",
            "https://www.facebook.com/",
            "https://t.co/abc",
        ] {
            assert_eq!(channel(r), Channel::OrganicSocial, "{r}");
        }
    }

    #[test]
    fn unknown_hosts_are_referrals_named_by_host() {
        assert_eq!(
            of("https://blog.rust-lang.org/x"),
            ("blog.rust-lang.org".into(), Channel::Referral)
        );
    }

    #[test]
    fn utm_rules_apply_over_the_referrer() {
        let c = |r: Option<&str>, s: &str, m: &str| classify(r, SITE, &[], s, m).channel;
        assert_eq!(
            c(Some("https://www.google.com/"), "", "cpc"),
            Channel::PaidSearch
        );
        assert_eq!(c(None, "google", "cpc"), Channel::PaidSearch);
        assert_eq!(c(None, "facebook", "paid"), Channel::PaidSocial);
        assert_eq!(
            c(Some("https://www.facebook.com/"), "", "cpc"),
            Channel::PaidSocial
        );
        assert_eq!(c(None, "partner", "cpc"), Channel::PaidOther);
        assert_eq!(c(None, "", "newsletter"), Channel::Email);
        assert_eq!(c(None, "", "banner"), Channel::Display);
        assert_eq!(
            c(Some("https://www.google.com/"), "", "qr"),
            Channel::OrganicSearch
        );
        // A known source without a medium is that source's organic channel.
        assert_eq!(c(None, "google", ""), Channel::OrganicSearch);
        assert_eq!(c(None, "Facebook", ""), Channel::OrganicSocial);
    }

    #[test]
    fn the_tables_are_sorted_and_versioned() {
        assert!(data::HOSTS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(data::PATHS
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        assert!(data::NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(REFERERS_VERSION.len(), 40 + 1 + 10, "{REFERERS_VERSION}");
    }

    /// The compiled tables' size (strings + entries), for docs/channels.md.
    #[test]
    fn table_size() {
        use std::mem::size_of_val;
        let strings: usize = data::SOURCES.iter().map(|s| s.len()).sum::<usize>()
            + data::HOSTS.iter().map(|h| h.0.len()).sum::<usize>()
            + data::PATHS
                .iter()
                .map(|p| p.0.len() + p.1.len())
                .sum::<usize>()
            + data::NAMES.iter().map(|n| n.0.len()).sum::<usize>();
        let entries = size_of_val(&data::SOURCES)
            + size_of_val(&data::HOSTS)
            + size_of_val(&data::PATHS)
            + size_of_val(&data::NAMES);
        println!(
            "referrer tables: {} hosts, {} paths, {} sources; {strings} B strings + {entries} B entries (native)",
            data::HOSTS.len(),
            data::PATHS.len(),
            data::SOURCES.len()
        );
        assert!(strings + entries < 512 * 1024);
    }
}
