//! The enriched event: what the Durable Object buffers and D1 stores. It holds no IP and no
//! user agent string, only what was derived from them.

use serde::{Deserialize, Serialize};

api_types::closed_set! {
    /// What an event records. The serde name is the text on the wire (`"kind"` of a batch's event)
    /// and in `events.kind`.
    #[derive(Default)]
    pub enum EventKind {
        #[default]
        Pageview = "pageview",
        /// Time a page was visible and focused, sent when the visitor leaves it.
        Engagement = "engagement",
        /// A click on a link to another site (`name` is the URL).
        Outbound = "outbound",
        /// A click on a file download (`name` is the URL).
        Download = "download",
        /// A custom event (`name` is its name).
        Custom = "custom",
        /// A page the site answered with "not found".
        NotFound = "404",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EnrichedEvent {
    /// Idempotency key: the request id plus the event's index in its batch.
    pub id: String,
    pub site_id: String,
    /// Milliseconds since the Unix epoch, UTC, taken by the Worker (client clocks are not trusted).
    pub ts: i64,
    /// Keyed hash of (daily salt, site, IP, user agent); changes every day.
    pub visitor: String,
    /// Filled by the site's Durable Object, the one writer that sees every event of the site in order.
    pub session: String,
    pub kind: EventKind,
    pub name: String,
    pub path: String,
    /// The query string that survived cleaning (UTM and the site's allow-list only).
    pub query: String,
    pub referrer_host: String,
    pub referrer_source: String,
    pub channel: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_term: String,
    pub utm_content: String,
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    pub device: String,
    pub country: String,
    pub region: String,
    pub city: String,
    pub screen: String,
    pub engaged_ms: i64,
    pub scroll: i64,
    /// Properties (custom events and page views) as a JSON object text ("{}" when none).
    pub props: String,
    /// A custom event's revenue in millionths of `revenue_currency` (0 when none; negative:
    /// a refund). Defaults keep events buffered before revenue existed readable.
    #[serde(default)]
    pub revenue_micros: i64,
    /// ISO 4217 code, uppercase; "" when the event carries no revenue.
    #[serde(default)]
    pub revenue_currency: String,
    /// D1 and shards hand the flag over as 0/1; JSON written by this code has a boolean.
    #[serde(deserialize_with = "crate::store::int_bool")]
    pub bot: bool,
    /// Why `bot` is set: an `enrich::bot::BotReason` as text; "" for people, and for bots
    /// flagged before reasons were recorded (and buffered events from before, hence default).
    #[serde(default)]
    pub bot_reason: String,
    /// The same visitor's hash under yesterday's salt, set only in the first half hour after
    /// midnight UTC, so the Durable Object can continue a session that crosses midnight under
    /// its old hash. Dropped there; never stored in D1.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub previous_visitor: String,
}

impl EnrichedEvent {
    /// The event's text fields but its ids (id, visitor, session): what a shard keeps in its
    /// dictionary and what a bulk load bounds.
    pub fn texts(&self) -> [&str; 23] {
        [
            &self.name,
            &self.path,
            &self.query,
            &self.props,
            &self.revenue_currency,
            &self.bot_reason,
            &self.referrer_host,
            &self.referrer_source,
            &self.channel,
            &self.utm_source,
            &self.utm_medium,
            &self.utm_campaign,
            &self.utm_term,
            &self.utm_content,
            &self.browser,
            &self.browser_version,
            &self.os,
            &self.os_version,
            &self.device,
            &self.country,
            &self.region,
            &self.city,
            &self.screen,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_wire_and_stored_names() {
        api_types::check_closed_set(&EventKind::ALL, EventKind::as_str, EventKind::parse);
        assert_eq!(EventKind::NotFound.as_str(), "404");
        assert_eq!(EventKind::parse("nope"), None);
    }
}
