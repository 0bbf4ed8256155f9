use crate::field;
use analytics_core::enrich::bot::{bot_reason, BotSignals};
use serde_json::{json, Value};

pub fn predict(case: &Value) -> Value {
    // Everything but the user agent as a real browser's beacon sends it: no client hints, no
    // `cf` facts (a consumer network), so only what the user agent says is scored.
    let reason = bot_reason(&BotSignals::browser_beacon(field(case, "user_agent")));
    json!({ "bot": reason.is_some(), "reason": reason.map(|r| r.as_str()) })
}
