//! The small static pages a link in a mail opens (unsubscribe, confirm an address): one look,
//! no script, the title escaped here and the body escaped by whoever builds it.

use crate::governance::compliance::escape_html;

/// A whole page: `title` (text, escaped) as its title and heading, then `body` (HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:560px;margin:3rem auto;padding:0 1rem;color:#1c2330}}\
         blockquote{{border-left:3px solid #c7c9d1;margin:1rem 0;padding:.25rem 1rem}}\
         button{{font:inherit;padding:.5rem 1rem;border-radius:6px;border:0;background:#4f46e5;color:#fff;cursor:pointer}}</style>\
         </head><body><h1>{t}</h1>{body}</body></html>",
        t = escape_html(title)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_title_is_escaped_and_the_page_has_no_script() {
        let p = super::page("<b>Ana's</b> app", "<p>ok</p>");
        assert!(
            p.contains("<h1>&lt;b&gt;Ana&#39;s&lt;/b&gt; app</h1>"),
            "{p}"
        );
        assert!(p.contains("<p>ok</p>"));
        assert!(!p.contains("<script"));
    }
}
