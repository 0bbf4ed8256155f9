use crate::field;
use analytics_core::enrich::client_hints::ClientHints;
use analytics_core::enrich::useragent::parse_with_hints;
use serde_json::{json, Value};

/// A case's user agent, read with the low-entropy client hints it carries (header names in
/// lower case), as ingest reads them.
pub fn predict(case: &Value) -> Value {
    let ch = &case["client_hints"];
    let hints = ClientHints {
        ua: ch["sec-ch-ua"].as_str(),
        mobile: ch["sec-ch-ua-mobile"].as_str(),
        platform: ch["sec-ch-ua-platform"].as_str(),
    };
    let info = parse_with_hints(field(case, "user_agent"), &hints);
    json!({
        "browser": info.browser,
        "browser_version": info.browser_version,
        "os": info.os,
        "os_version": info.os_version,
        "device": info.device,
    })
}
