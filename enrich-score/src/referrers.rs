use crate::field;
use analytics_core::enrich::referrer::classify;
use serde_json::{json, Value};

/// The site is the page's host alone: the yardsticks name no other hostnames.
pub fn predict(case: &Value) -> Value {
    let page_host = url_host(field(case, "page"));
    let referrer = field(case, "referrer");
    let r = classify(
        Some(referrer).filter(|r| !r.is_empty()),
        &page_host,
        std::slice::from_ref(&page_host),
        field(case, "utm_source"),
        field(case, "utm_medium"),
    );
    json!({ "channel": r.channel.as_str(), "source": r.source })
}

fn url_host(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':', '?', '#']).next())
        .unwrap_or("")
        .to_ascii_lowercase()
}
