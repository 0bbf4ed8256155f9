use crate::field;
use analytics_core::enrich::useragent::parse;
use serde_json::{json, Value};

pub fn predict(case: &Value) -> Value {
    let info = parse(field(case, "user_agent"));
    json!({
        "browser": info.browser,
        "browser_version": info.browser_version,
        "os": info.os,
        "device": info.device,
    })
}
