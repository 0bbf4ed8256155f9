//! What the dashboard shows a site's owner to paste: the snippet.

/// The script tag for a site. With hash routing on it carries `data-hash`: the collector sends
/// URL fragments only when the tag asks for them (a fragment may hold a token), and the Worker
/// keeps a fragment in the stored path only when the site's `hash_routing` setting is on — so
/// both are needed, and the dashboard hands out the tag that matches the setting.
pub fn snippet(base: &str, site_id: &str, hash_routing: bool) -> String {
    let hash = if hash_routing { " data-hash" } else { "" };
    format!("<script defer src=\"{base}/v.js\" data-site=\"{site_id}\"{hash}></script>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_asks_for_fragments_only_with_hash_routing() {
        assert_eq!(
            snippet("https://v.example", "shop", false),
            r#"<script defer src="https://v.example/v.js" data-site="shop"></script>"#
        );
        assert_eq!(
            snippet("https://v.example", "shop", true),
            r#"<script defer src="https://v.example/v.js" data-site="shop" data-hash></script>"#
        );
    }
}
