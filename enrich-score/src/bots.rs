use crate::field;
use analytics_core::enrich::bot::{bot_reason, BotSignals, FetchMetadata};
use serde_json::{json, Value};

pub fn predict(case: &Value) -> Value {
    let user_agent = field(case, "user_agent");
    // Everything but the user agent as a real browser's beacon sends it: no client hints, no
    // `cf` facts (a consumer network), so only what the user agent says is scored.
    let signals = BotSignals {
        user_agent,
        has_accept_language: true,
        has_origin: true,
        fetch: FetchMetadata {
            site: Some("cross-site"),
            mode: Some("no-cors"),
            dest: Some("empty"),
        },
        ..Default::default()
    };
    let reason = bot_reason(&signals);
    json!({ "bot": reason.is_some(), "reason": reason.map(|r| r.as_str()) })
}
