//! Referrer spam: hosts on Matomo's maintained referrer-spam blocklist
//! (analytics-core/data/matomo-referrer-spam-list, compiled in by build.rs). An event whose
//! referrer is one of them, or a subdomain of one, is dropped and counted, never stored.

use url::Url;

mod data {
    include!(concat!(env!("OUT_DIR"), "/spammers.rs"));
}

pub use data::SPAMMERS_VERSION;

/// Whether the host (any case) or a parent of it on a label boundary is a listed spammer.
pub fn is_spam_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let mut suffix = host.as_str();
    loop {
        if data::SPAMMERS.binary_search(&suffix).is_ok() {
            return true;
        }
        match suffix.find('.') {
            Some(i) => suffix = &suffix[i + 1..],
            None => return false,
        }
    }
}

/// Whether a referrer URL (as the collector sent it) comes from a listed spammer.
pub fn is_spam_referrer(referrer: Option<&str>) -> bool {
    referrer
        .and_then(|r| Url::parse(r.trim()).ok())
        .and_then(|u| u.host_str().map(is_spam_host))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_hosts_and_their_subdomains_are_spam() {
        assert!(is_spam_host("0-0.fr"));
        assert!(is_spam_host("WWW.0-0.FR"));
        assert!(is_spam_referrer(Some("https://www.zvuker.net/page")));
        assert!(is_spam_referrer(Some("http://a.b.zvooq.eu/")));
    }

    #[test]
    fn only_on_label_boundaries() {
        assert!(!is_spam_host("x0-0.fr"));
        assert!(!is_spam_host("0-0.fr.example.com"));
        assert!(!is_spam_referrer(Some("https://www.google.com/")));
        assert!(!is_spam_referrer(None));
        assert!(!is_spam_referrer(Some("not a url")));
    }

    #[test]
    fn the_list_is_sorted_and_versioned() {
        assert!(data::SPAMMERS.windows(2).all(|w| w[0] < w[1]));
        assert!(data::SPAMMERS.len() > 1_000);
        assert_eq!(SPAMMERS_VERSION.len(), 40 + 1 + 10);
    }
}
