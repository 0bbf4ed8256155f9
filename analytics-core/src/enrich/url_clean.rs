//! Page URL → path plus the query parameters that may be kept. Everything else in the query
//! string (session tokens, emails, search terms) is dropped before anything is stored.

use url::Url;

pub const UTM_KEYS: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CleanUrl {
    pub host: String,
    pub path: String,
    /// Allow-listed, non-UTM parameters, re-encoded ("" when none).
    pub query: String,
    pub utm: [String; 5],
}

/// `allow_list`: extra query parameter names the site keeps. `hash_routing`: keep the fragment
/// (single-page apps that route with `#/`).
pub fn clean(url: &Url, allow_list: &[String], hash_routing: bool) -> CleanUrl {
    let mut utm: [String; 5] = Default::default();
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    let mut any_kept = false;
    for (key, value) in url.query_pairs() {
        if let Some(i) = UTM_KEYS.iter().position(|k| *k == key) {
            utm[i] = value.chars().take(200).collect();
        } else if allow_list.iter().any(|a| *a == key) {
            kept.append_pair(&key, &value);
            any_kept = true;
        }
    }
    let mut path = url.path().to_string();
    if hash_routing {
        if let Some(fragment) = url.fragment() {
            path.push('#');
            path.push_str(fragment);
        }
    }
    CleanUrl {
        host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
        path,
        query: if any_kept {
            kept.finish()
        } else {
            String::new()
        },
        utm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(url: &str, allow: &[&str], hash: bool) -> CleanUrl {
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        clean(&Url::parse(url).unwrap(), &allow, hash)
    }

    #[test]
    fn drops_the_query_string_but_keeps_utm() {
        let u = c(
            "https://Example.com/a/b?token=SECRET&utm_source=news&email=x%40y.z&utm_campaign=fall",
            &[],
            false,
        );
        assert_eq!(u.host, "example.com");
        assert_eq!(u.path, "/a/b");
        assert_eq!(u.query, "");
        assert_eq!(u.utm[0], "news");
        assert_eq!(u.utm[2], "fall");
    }

    #[test]
    fn keeps_allow_listed_parameters() {
        let u = c(
            "https://e.com/search?q=shoes&session=abc&page=2",
            &["q", "page"],
            false,
        );
        assert_eq!(u.query, "q=shoes&page=2");
    }

    #[test]
    fn fragments_only_with_hash_routing() {
        assert_eq!(c("https://e.com/app#/settings", &[], false).path, "/app");
        assert_eq!(
            c("https://e.com/app#/settings", &[], true).path,
            "/app#/settings"
        );
    }
}
