use crate::field;
use analytics_core::enrich::bot::{is_bot, BotSignals, FetchMetadata};
use analytics_core::enrich::useragent::parse;
use serde_json::{json, Value};

pub fn predict(case: &Value) -> Value {
    let user_agent = field(case, "user_agent");
    // Everything but the user agent as a real browser's beacon sends it.
    let signals = BotSignals {
        user_agent,
        has_accept_language: true,
        has_origin: true,
        fetch: FetchMetadata {
            site: Some("cross-site"),
            mode: Some("no-cors"),
            dest: Some("empty"),
        },
    };
    json!({ "bot": is_bot(&parse(user_agent), &signals), "reason": Value::Null })
}
