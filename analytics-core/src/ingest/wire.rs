//! The wire format the collector sends to `POST /api/event`, and how leniently it is read.
//!
//! ```json
//! {"site":"demo","events":[
//!   {"kind":"pageview","url":"https://example.com/a","referrer":"https://duckduckgo.com/","screen_width":1280,"props":{"section":"docs"}},
//!   {"kind":"custom","url":"https://example.com/a","name":"signup","props":{"plan":"pro"},"revenue":{"amount":"12.50","currency":"EUR"}}]}
//! ```
//!
//! **One bad field never costs a batch.** Only a body that cannot be a batch at all is refused
//! (4xx): an empty body (`empty_body`), a body over `MAX_BODY_BYTES` (413
//! `payload_too_large`), text that is not one JSON document (`bad_json`: includes invalid
//! UTF-8, lone surrogates, numbers beyond a double, nesting deeper than 128), a document that is
//! not an object, `site` missing, not a string, repeated (`bad_json`), empty (`missing_site`),
//! over `MAX_SITE_ID_BYTES` (`field_too_long`) or holding NUL (`invalid_string`), `events`
//! missing, not an array or repeated (`bad_json`), or more than `MAX_EVENTS_PER_BATCH` events
//! (413 `too_many_events`). An empty `events` array is accepted (nothing is stored).
//!
//! Every event is then read on its own, from a JSON value (not all-or-nothing serde):
//!
//! - **The event is dropped** (only it) when it is not an object, its `kind` is missing or not
//!   one of [`EventKind::ALL`], its `url` is missing, not a string, over `MAX_URL_BYTES`, holds
//!   NUL or is not an absolute http(s) URL with a host, or a `custom` event has no usable
//!   `name` (missing, blank, not a string, or holding NUL).
//! - **Only the field is dropped** otherwise: `referrer` too long, with NUL or not a string →
//!   no referrer; `screen_width` (0..=u32::MAX), `engaged_ms` (0..=`MAX_ENGAGED_MS`) and
//!   `scroll` (0..=100) of the wrong type or out of range → absent; an `outbound`/`download`
//!   link `name` over `MAX_URL_BYTES` or with NUL → no name; `props` that are not an object →
//!   no properties; `revenue` that is not valid → no revenue. `null` is the same as absent.
//! - Any other event `name` (a custom event's) over `MAX_EVENT_NAME_BYTES` is **truncated** at a
//!   character boundary.
//! - **Properties** (`props`, on custom events and page views; other kinds keep theirs in the
//!   raw event only): a value that is an object, an array or `null` → that property dropped
//!   (`bad_prop`); a string value over `MAX_PROP_VALUE_BYTES` → truncated at a character
//!   boundary; a key over `MAX_PROP_KEY_BYTES` (`field_too_long`), a key or a string value
//!   holding NUL (`invalid_string`), a key already seen (`duplicate_key`) → that property
//!   dropped; past `MAX_PROPS` kept properties, the first `MAX_PROPS` are kept in the order
//!   sent and the rest dropped (`too_many_props`).
//! - **Revenue** (custom events only): `{"amount": <number or decimal string>, "currency":
//!   "EUR"}`. The currency is three ASCII letters (ISO 4217), stored uppercase. The amount is a
//!   JSON number or a string `-?digits[.digits]` of at most `MAX_REVENUE_AMOUNT_BYTES`; it is
//!   kept exactly as integer micro-units (millionths; more decimals are rounded half away from
//!   zero), may be negative (a refund: goal revenue is net) and at most `MAX_REVENUE_MICROS` in
//!   size. Anything else drops the revenue field only.
//! - A field appearing twice in one event keeps its first value (`duplicate_key`); unknown
//!   fields are ignored.
//!
//! The answer (202) says what happened: `accepted`, `dropped` (events), and `problems`, each
//! `{event, field, error}` — `event` is the index in the batch as sent, `field` e.g. `url`,
//! `props.plan`, `revenue.currency` (or `event` for the event as a whole). At most
//! `MAX_REPORTED_PROBLEMS` are listed; `problems_omitted` counts the rest when there are more.
//! Event ids are `{request_id}-{index:02}` with the index as sent, so they do not move when an
//! earlier event is dropped.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::error::ApiError;
use crate::limits::*;

pub use crate::ingest::event::EventKind;

/// A batch as read: the events that survived, and what was dropped on the way.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncomingBatch {
    pub site: String,
    /// The kept events, in the order sent.
    pub events: Vec<IncomingEvent>,
    /// How many events the batch carried.
    pub sent: usize,
    /// The first `MAX_REPORTED_PROBLEMS` problems.
    pub problems: Vec<Problem>,
    /// Problems past those listed.
    pub problems_omitted: usize,
}

impl IncomingBatch {
    /// Events dropped whole.
    pub fn dropped(&self) -> usize {
        self.sent - self.events.len()
    }

    /// The 202 answer once the kept events are buffered: `accepted`, `dropped`, `request_id`,
    /// `problems` (at most `MAX_REPORTED_PROBLEMS`) and, when more were found,
    /// `problems_omitted`.
    pub fn receipt(&self, request_id: &str) -> Receipt {
        Receipt {
            accepted: self.events.len(),
            dropped: self.dropped(),
            dropped_reasons: None,
            problems: self.problems.clone(),
            problems_omitted: self.problems_omitted,
            request_id: request_id.to_string(),
        }
    }

    /// The receipt once some kept events were dropped on purpose (referrer spam): they count
    /// as dropped, not accepted, and `dropped_reasons` says why (`{"referrer_spam": 2}`, only
    /// when any were).
    pub fn receipt_after(
        &self,
        request_id: &str,
        dropped: &crate::ingest::dropped::Dropped,
    ) -> Receipt {
        let mut receipt = self.receipt(request_id);
        let n = dropped.total();
        if n > 0 {
            receipt.accepted = self.events.len().saturating_sub(n);
            receipt.dropped = self.dropped() + n;
            receipt.dropped_reasons = Some(dropped.by_reason());
        }
        receipt
    }
}

/// The 202 answer to a batch (fields in the order the answer has always listed them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub accepted: usize,
    pub dropped: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_reasons: Option<std::collections::BTreeMap<&'static str, usize>>,
    pub problems: Vec<Problem>,
    #[serde(skip_serializing_if = "is_zero")]
    pub problems_omitted: usize,
    pub request_id: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncomingEvent {
    /// Position in the batch as sent (event ids carry it).
    pub index: usize,
    pub kind: EventKind,
    pub url: String,
    pub referrer: Option<String>,
    /// Custom event name (required for `custom`); link target for `outbound`/`download`.
    pub name: Option<String>,
    pub screen_width: Option<u32>,
    pub engaged_ms: Option<u64>,
    pub scroll: Option<u8>,
    pub props: Option<Map<String, Value>>,
    pub revenue: Option<Revenue>,
}

/// Revenue of a custom event, exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revenue {
    /// Millionths of the currency unit (negative: a refund).
    pub micros: i64,
    /// ISO 4217 code, uppercase.
    pub currency: String,
}

/// Something dropped or changed while reading a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub event: usize,
    pub field: String,
    pub error: &'static str,
}

/// A JSON value that keeps object members in the order sent (the first `MAX_PROPS` properties
/// are the first sent) and repeated keys (so they can be reported).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct JsonVisitor;
        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json, E> {
                Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("a number must be finite"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Json, E> {
                Ok(Json::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Json>()? {
                    members.push(member);
                }
                Ok(Json::Object(members))
            }
        }
        d.deserialize_any(JsonVisitor)
    }
}

/// The problems of one batch: the first few listed, the rest counted.
#[derive(Default)]
struct Problems {
    listed: Vec<Problem>,
    omitted: usize,
}

impl Problems {
    fn add(&mut self, event: usize, field: &str, error: &'static str) {
        if self.listed.len() < MAX_REPORTED_PROBLEMS {
            self.listed.push(Problem {
                event,
                field: field.to_string(),
                error,
            });
        } else {
            self.omitted += 1;
        }
    }
}

fn bad_json(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("bad_json", message)
}

/// Checks the size, parses the JSON, refuses what cannot be a batch and reads each event
/// leniently (see the module docs). The body length is checked before anything is parsed so a
/// huge body costs nothing.
pub fn parse_batch(body: &[u8]) -> Result<IncomingBatch, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "payload_too_large",
            format!(
                "request body is {} bytes; the limit is {MAX_BODY_BYTES}",
                body.len()
            ),
        ));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("empty_body", "request body is empty"));
    }
    let document: Json = serde_json::from_slice(body)
        .map_err(|e| bad_json(format!("body is not one JSON document: {e}")))?;
    let Json::Object(members) = document else {
        return Err(bad_json("body must be a JSON object with site and events"));
    };
    let (mut site, mut events) = (None, None);
    for (key, value) in members {
        let slot = match key.as_str() {
            "site" => &mut site,
            "events" => &mut events,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(bad_json(format!("{key} appears twice")));
        }
    }
    let site = match site {
        Some(Json::String(s)) => s,
        Some(_) => return Err(bad_json("site must be a string")),
        None => return Err(bad_json("site is missing")),
    };
    let events = match events {
        Some(Json::Array(events)) => events,
        Some(_) => return Err(bad_json("events must be an array")),
        None => return Err(bad_json("events is missing")),
    };
    if let Some(error) = text_error(&site, MAX_SITE_ID_BYTES) {
        return Err(ApiError::bad_request(
            error,
            format!("site is over {MAX_SITE_ID_BYTES} bytes or holds NUL"),
        ));
    }
    if site.is_empty() {
        return Err(ApiError::bad_request("missing_site", "site is empty"));
    }
    if events.len() > MAX_EVENTS_PER_BATCH {
        return Err(ApiError::new(
            413,
            "too_many_events",
            format!(
                "batch has {} events; the limit is {MAX_EVENTS_PER_BATCH}",
                events.len()
            ),
        ));
    }
    let mut problems = Problems::default();
    let sent = events.len();
    let kept = events
        .into_iter()
        .enumerate()
        .filter_map(|(index, event)| read_event(index, event, &mut problems))
        .collect();
    Ok(IncomingBatch {
        site,
        events: kept,
        sent,
        problems: problems.listed,
        problems_omitted: problems.omitted,
    })
}

/// Why a text field cannot be kept: too long or holding NUL.
fn text_error(value: &str, max: usize) -> Option<&'static str> {
    if value.len() > max {
        Some("field_too_long")
    } else if value.contains('\0') {
        Some("invalid_string")
    } else {
        None
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The fields of one event object, first occurrence of each.
#[derive(Default)]
struct Fields {
    kind: Option<Json>,
    url: Option<Json>,
    referrer: Option<Json>,
    name: Option<Json>,
    screen_width: Option<Json>,
    engaged_ms: Option<Json>,
    scroll: Option<Json>,
    props: Option<Json>,
    revenue: Option<Json>,
}

/// One event, or `None` (and why, in `problems`) when it cannot be kept.
fn read_event(index: usize, event: Json, problems: &mut Problems) -> Option<IncomingEvent> {
    let Json::Object(members) = event else {
        problems.add(index, "event", "not_an_object");
        return None;
    };
    let mut f = Fields::default();
    for (key, value) in members {
        let slot = match key.as_str() {
            "kind" => &mut f.kind,
            "url" => &mut f.url,
            "referrer" => &mut f.referrer,
            "name" => &mut f.name,
            "screen_width" => &mut f.screen_width,
            "engaged_ms" => &mut f.engaged_ms,
            "scroll" => &mut f.scroll,
            "props" => &mut f.props,
            "revenue" => &mut f.revenue,
            _ => continue,
        };
        if slot.is_some() {
            problems.add(index, &key, "duplicate_key");
        } else {
            *slot = Some(value);
        }
    }
    let kind = match f.kind {
        Some(Json::String(k)) => match EventKind::parse(&k) {
            Some(kind) => kind,
            None => return drop_event(problems, index, "kind", "unknown_kind"),
        },
        None | Some(Json::Null) => return drop_event(problems, index, "kind", "missing"),
        Some(_) => return drop_event(problems, index, "kind", "wrong_type"),
    };
    let url = match f.url {
        Some(Json::String(u)) => u,
        None | Some(Json::Null) => return drop_event(problems, index, "url", "missing"),
        Some(_) => return drop_event(problems, index, "url", "wrong_type"),
    };
    if let Some(error) = text_error(&url, MAX_URL_BYTES) {
        return drop_event(problems, index, "url", error);
    }
    if !is_page_url(&url) {
        return drop_event(problems, index, "url", "bad_url");
    }
    let is_link = matches!(kind, EventKind::Outbound | EventKind::Download);
    let (name, name_problem) = read_name(f.name, is_link);
    if let Some(error) = name_problem {
        problems.add(index, "name", error);
    }
    if kind == EventKind::Custom && name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        if name_problem.is_none() {
            problems.add(index, "name", "missing_name");
        }
        return None;
    }
    let referrer = optional_text(f.referrer, "referrer", MAX_URL_BYTES, index, problems);
    let screen_width = whole_number(
        f.screen_width,
        "screen_width",
        u32::MAX as u64,
        index,
        problems,
    )
    .map(|n| n as u32);
    let engaged_ms = whole_number(f.engaged_ms, "engaged_ms", MAX_ENGAGED_MS, index, problems);
    let scroll = whole_number(f.scroll, "scroll", 100, index, problems).map(|n| n as u8);
    let props = read_props(f.props, index, problems);
    let revenue = match f.revenue {
        None | Some(Json::Null) => None,
        Some(_) if kind != EventKind::Custom => {
            problems.add(index, "revenue", "not_allowed");
            None
        }
        Some(value) => read_revenue(value, index, problems),
    };
    Some(IncomingEvent {
        index,
        kind,
        url,
        referrer,
        name,
        screen_width,
        engaged_ms,
        scroll,
        props,
        revenue,
    })
}

/// An event's name, and what was wrong with it. Link events name the link's URL (dropped past
/// `MAX_URL_BYTES`); other names are cut at `MAX_EVENT_NAME_BYTES`.
fn read_name(value: Option<Json>, is_link: bool) -> (Option<String>, Option<&'static str>) {
    match value {
        None | Some(Json::Null) => (None, None),
        Some(Json::String(name)) if name.contains('\0') => (None, Some("invalid_string")),
        Some(Json::String(name)) if is_link && name.len() > MAX_URL_BYTES => {
            (None, Some("field_too_long"))
        }
        Some(Json::String(name)) if !is_link && name.len() > MAX_EVENT_NAME_BYTES => (
            Some(truncate_at_char(&name, MAX_EVENT_NAME_BYTES).to_string()),
            Some("truncated"),
        ),
        Some(Json::String(name)) => (Some(name), None),
        Some(_) => (None, Some("wrong_type")),
    }
}

fn drop_event<T>(
    problems: &mut Problems,
    index: usize,
    field: &str,
    error: &'static str,
) -> Option<T> {
    problems.add(index, field, error);
    None
}

/// An absolute http(s) URL with a host.
fn is_page_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

fn optional_text(
    value: Option<Json>,
    field: &str,
    max: usize,
    index: usize,
    problems: &mut Problems,
) -> Option<String> {
    match value {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => match text_error(&s, max) {
            Some(error) => {
                problems.add(index, field, error);
                None
            }
            None => Some(s),
        },
        Some(_) => {
            problems.add(index, field, "wrong_type");
            None
        }
    }
}

/// A whole number in `0..=max`: anything else is dropped (`wrong_type` when not a whole
/// number, `out_of_range` when outside the range).
fn whole_number(
    value: Option<Json>,
    field: &str,
    max: u64,
    index: usize,
    problems: &mut Problems,
) -> Option<u64> {
    match value {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) if n.is_u64() || n.is_i64() => match n.as_u64() {
            Some(n) if n <= max => Some(n),
            _ => {
                problems.add(index, field, "out_of_range");
                None
            }
        },
        Some(_) => {
            problems.add(index, field, "wrong_type");
            None
        }
    }
}

fn read_props(
    value: Option<Json>,
    index: usize,
    problems: &mut Problems,
) -> Option<Map<String, Value>> {
    let members = match value {
        None | Some(Json::Null) => return None,
        Some(Json::Object(members)) => members,
        Some(_) => {
            problems.add(index, "props", "wrong_type");
            return None;
        }
    };
    let mut kept = Map::new();
    let mut over = false;
    for (key, value) in members {
        let field = format!("props.{}", truncate_at_char(&key, MAX_PROP_KEY_BYTES));
        if let Some(error) = text_error(&key, MAX_PROP_KEY_BYTES) {
            problems.add(index, &field, error);
            continue;
        }
        if kept.contains_key(&key) {
            problems.add(index, &field, "duplicate_key");
            continue;
        }
        let value = match value {
            Json::String(s) if s.contains('\0') => {
                problems.add(index, &field, "invalid_string");
                continue;
            }
            Json::String(s) if s.len() > MAX_PROP_VALUE_BYTES => {
                problems.add(index, &field, "truncated");
                Value::String(truncate_at_char(&s, MAX_PROP_VALUE_BYTES).to_string())
            }
            Json::String(s) => Value::String(s),
            Json::Number(n) => Value::Number(n),
            Json::Bool(b) => Value::Bool(b),
            Json::Null | Json::Array(_) | Json::Object(_) => {
                problems.add(index, &field, "bad_prop");
                continue;
            }
        };
        if kept.len() == MAX_PROPS {
            over = true;
            continue;
        }
        kept.insert(key, value);
    }
    if over {
        problems.add(index, "props", "too_many_props");
    }
    Some(kept)
}

fn read_revenue(value: Json, index: usize, problems: &mut Problems) -> Option<Revenue> {
    let Json::Object(members) = value else {
        problems.add(index, "revenue", "wrong_type");
        return None;
    };
    let (mut amount, mut currency) = (None, None);
    for (key, value) in members {
        match key.as_str() {
            "amount" if amount.is_none() => amount = Some(value),
            "currency" if currency.is_none() => currency = Some(value),
            _ => {}
        }
    }
    let micros = match amount {
        None | Some(Json::Null) => Err("missing"),
        Some(Json::Number(n)) => number_micros(&n),
        Some(Json::String(s)) => decimal_micros(&s),
        Some(_) => Err("wrong_type"),
    };
    let micros = match micros {
        Ok(m) => m,
        Err(error) => return drop_event(problems, index, "revenue.amount", error),
    };
    let currency = match currency {
        Some(Json::String(c)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        None | Some(Json::Null) => {
            return drop_event(problems, index, "revenue.currency", "missing")
        }
        Some(_) => return drop_event(problems, index, "revenue.currency", "bad_currency"),
    };
    Some(Revenue { micros, currency })
}

fn in_revenue_range(micros: i128) -> Result<i64, &'static str> {
    if micros.abs() <= MAX_REVENUE_MICROS as i128 {
        Ok(micros as i64)
    } else {
        Err("out_of_range")
    }
}

/// A JSON number as micro-units. Integers are exact; a fraction comes as a double, which is
/// exact to the micro-unit across the whole allowed range once rounded.
fn number_micros(n: &Number) -> Result<i64, &'static str> {
    if let Some(i) = n.as_i64() {
        return in_revenue_range(i as i128 * REVENUE_MICROS_PER_UNIT as i128);
    }
    let f = n.as_f64().ok_or("bad_amount")?;
    let micros = (f * REVENUE_MICROS_PER_UNIT as f64).round();
    if micros.abs() > MAX_REVENUE_MICROS as f64 {
        return Err("out_of_range");
    }
    in_revenue_range(micros as i128)
}

/// `-?digits[.digits]` as micro-units, exactly; decimals past the sixth round half away from
/// zero.
pub fn decimal_micros(text: &str) -> Result<i64, &'static str> {
    if text.len() > MAX_REVENUE_AMOUNT_BYTES {
        return Err("field_too_long");
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || (digits.contains('.') && !all_digits(fraction)) {
        return Err("bad_amount");
    }
    // At most 24 bytes: the whole part fits an i128 with room to spare.
    let mut micros: i128 =
        whole.parse::<i128>().map_err(|_| "bad_amount")? * REVENUE_MICROS_PER_UNIT as i128;
    let mut scale = REVENUE_MICROS_PER_UNIT as i128 / 10;
    for (i, b) in fraction.bytes().enumerate() {
        let digit = (b - b'0') as i128;
        if i < 6 {
            micros += digit * scale;
            scale /= 10;
        } else {
            micros += (digit >= 5) as i128;
            break;
        }
    }
    in_revenue_range(if negative { -micros } else { micros })
}

/// Micro-units as an exact decimal: at least two decimals, more only when they are not zero
/// (`12500000` → `"12.50"`, `1234` → `"0.001234"`, `-5000000` → `"-5.00"`).
pub fn format_micros(micros: i128) -> String {
    let unit = REVENUE_MICROS_PER_UNIT as i128;
    let sign = if micros < 0 { "-" } else { "" };
    let (whole, fraction) = (micros.abs() / unit, micros.abs() % unit);
    let mut decimals = format!("{fraction:06}");
    while decimals.len() > 2 && decimals.ends_with('0') {
        decimals.pop();
    }
    format!("{sign}{whole}.{decimals}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(events: &str) -> Vec<u8> {
        format!(r#"{{"site":"demo","events":[{events}]}}"#).into_bytes()
    }
    const PV: &str = r#"{"kind":"pageview","url":"https://example.com/a?b=1","screen_width":1280}"#;

    /// Parses `events` (with `PV` before them, which must survive) and returns the batch.
    fn read(events: &str) -> IncomingBatch {
        let batch = parse_batch(&body(&format!("{PV},{events}"))).unwrap();
        assert_eq!(batch.events[0].index, 0, "the good event beside it stays");
        assert_eq!(batch.events[0].screen_width, Some(1280));
        batch
    }

    fn problems(batch: &IncomingBatch) -> Vec<(usize, &str, &str)> {
        batch
            .problems
            .iter()
            .map(|p| (p.event, p.field.as_str(), p.error))
            .collect()
    }

    fn custom(extra: &str) -> String {
        format!(r#"{{"kind":"custom","name":"buy","url":"https://e.com/"{extra}}}"#)
    }

    #[test]
    fn accepts_a_pageview() {
        let batch = parse_batch(&body(PV)).unwrap();
        assert_eq!(batch.site, "demo");
        assert_eq!(batch.events[0].screen_width, Some(1280));
        assert_eq!((batch.sent, batch.dropped()), (1, 0));
        assert!(batch.problems.is_empty());
    }

    #[test]
    fn refuses_a_body_over_the_byte_limit() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let err = parse_batch(&big).unwrap_err();
        assert_eq!((err.status, err.error), (413, "payload_too_large"));
    }

    #[test]
    fn refuses_more_events_than_the_batch_limit_even_bad_ones() {
        let events = vec![PV; MAX_EVENTS_PER_BATCH + 1].join(",");
        let err = parse_batch(&body(&events)).unwrap_err();
        assert_eq!((err.status, err.error), (413, "too_many_events"));
        let junk = vec!["1"; MAX_EVENTS_PER_BATCH + 1].join(",");
        assert_eq!(parse_batch(&body(&junk)).unwrap_err().status, 413);
        let events = vec![PV; MAX_EVENTS_PER_BATCH].join(",");
        assert_eq!(parse_batch(&body(&events)).unwrap().events.len(), 50);
    }

    #[test]
    fn refuses_only_what_cannot_be_a_batch() {
        for (text, error) in [
            (&br#"{"site":"demo","ev"#[..], "bad_json"),
            (b"", "empty_body"),
            (b"[]", "bad_json"),
            (br#"{"site":1,"events":[]}"#, "bad_json"),
            (br#"{"events":[]}"#, "bad_json"),
            (br#"{"site":"demo"}"#, "bad_json"),
            (br#"{"site":"demo","events":{}}"#, "bad_json"),
            (br#"{"site":"demo","site":"demo","events":[]}"#, "bad_json"),
            (br#"{"site":"","events":[]}"#, "missing_site"),
            (br#"{"site":"d\u0000","events":[]}"#, "invalid_string"),
        ] {
            let err = parse_batch(text).unwrap_err();
            assert_eq!((err.status, err.error), (400, error), "{text:?}");
        }
        let long_site = format!(
            r#"{{"site":"{}","events":[]}}"#,
            "s".repeat(MAX_SITE_ID_BYTES + 1)
        );
        assert_eq!(
            parse_batch(long_site.as_bytes()).unwrap_err().error,
            "field_too_long"
        );
    }

    #[test]
    fn an_empty_batch_is_accepted() {
        let batch = parse_batch(&body("")).unwrap();
        assert_eq!((batch.events.len(), batch.sent), (0, 0));
    }

    #[test]
    fn an_event_that_is_not_an_object_goes_alone() {
        let batch = read(r#""x",7,null,[]"#);
        assert_eq!(batch.events.len(), 1);
        assert_eq!(batch.dropped(), 4);
        assert_eq!(problems(&batch)[0], (1, "event", "not_an_object"));
        assert_eq!(problems(&batch)[3], (4, "event", "not_an_object"));
    }

    #[test]
    fn an_unknown_missing_or_odd_kind_drops_the_event() {
        let batch = read(
            r#"{"kind":"nope","url":"https://e.com/"},{"url":"https://e.com/"},{"kind":1,"url":"https://e.com/"}"#,
        );
        assert_eq!(batch.events.len(), 1);
        assert_eq!(
            problems(&batch),
            [
                (1, "kind", "unknown_kind"),
                (2, "kind", "missing"),
                (3, "kind", "wrong_type")
            ]
        );
    }

    #[test]
    fn a_bad_url_drops_the_event() {
        let long = format!("https://e.com/{}", "a".repeat(MAX_URL_BYTES));
        let batch = read(&format!(
            r#"{{"kind":"pageview","url":"javascript:alert(1)"}},{{"kind":"pageview"}},{{"kind":"pageview","url":5}},{{"kind":"pageview","url":"{long}"}},{{"kind":"pageview","url":"https://e.com/\u0000"}},{{"kind":"pageview","url":"/relative"}}"#
        ));
        assert_eq!(batch.events.len(), 1);
        assert_eq!(
            problems(&batch),
            [
                (1, "url", "bad_url"),
                (2, "url", "missing"),
                (3, "url", "wrong_type"),
                (4, "url", "field_too_long"),
                (5, "url", "invalid_string"),
                (6, "url", "bad_url"),
            ]
        );
    }

    #[test]
    fn a_custom_event_without_a_name_is_dropped() {
        let batch = read(
            r#"{"kind":"custom","url":"https://e.com/"},{"kind":"custom","name":"  ","url":"https://e.com/"},{"kind":"custom","name":5,"url":"https://e.com/"},{"kind":"custom","name":"a\u0000b","url":"https://e.com/"}"#,
        );
        assert_eq!(batch.events.len(), 1);
        assert_eq!(
            problems(&batch),
            [
                (1, "name", "missing_name"),
                (2, "name", "missing_name"),
                (3, "name", "wrong_type"),
                (4, "name", "invalid_string"),
            ]
        );
    }

    #[test]
    fn a_long_custom_name_is_cut_at_a_character_boundary() {
        // 119 ASCII bytes then "é" (2 bytes) would end past the limit: the "é" goes.
        let name = format!("{}é", "n".repeat(MAX_EVENT_NAME_BYTES - 1));
        let batch = read(&format!(
            r#"{{"kind":"custom","name":"{name}","url":"https://e.com/"}}"#
        ));
        assert_eq!(
            batch.events[1].name.as_deref(),
            Some("n".repeat(MAX_EVENT_NAME_BYTES - 1).as_str())
        );
        assert_eq!(problems(&batch), [(1, "name", "truncated")]);
        let exact = "n".repeat(MAX_EVENT_NAME_BYTES);
        let batch = read(&format!(
            r#"{{"kind":"custom","name":"{exact}","url":"https://e.com/"}}"#
        ));
        assert_eq!(batch.events[1].name.as_deref(), Some(exact.as_str()));
        assert!(batch.problems.is_empty());
    }

    #[test]
    fn link_events_may_name_a_long_url_but_an_oversized_one_loses_only_the_name() {
        let url = format!("https://e.com/{}", "a".repeat(MAX_EVENT_NAME_BYTES));
        let batch = read(&format!(
            r#"{{"kind":"outbound","name":"{url}","url":"https://e.com/"}}"#
        ));
        assert_eq!(batch.events[1].name.as_deref(), Some(url.as_str()));
        let huge = format!("https://e.com/{}", "a".repeat(MAX_URL_BYTES));
        let batch = read(&format!(
            r#"{{"kind":"download","name":"{huge}","url":"https://e.com/"}}"#
        ));
        assert_eq!(batch.events[1].name, None);
        assert_eq!(problems(&batch), [(1, "name", "field_too_long")]);
    }

    #[test]
    fn a_bad_referrer_is_dropped_and_the_event_kept() {
        let long = format!("https://r.com/{}", "r".repeat(MAX_URL_BYTES));
        let batch = read(&format!(
            r#"{{"kind":"pageview","url":"https://e.com/1","referrer":"{long}"}},{{"kind":"pageview","url":"https://e.com/2","referrer":"https://r.com/\u0000"}},{{"kind":"pageview","url":"https://e.com/3","referrer":{{"a":1}}}},{{"kind":"pageview","url":"https://e.com/4","referrer":null}}"#
        ));
        assert_eq!(batch.events.len(), 5);
        assert!(batch.events.iter().all(|e| e.referrer.is_none()));
        assert_eq!(batch.events[1].url, "https://e.com/1");
        assert_eq!(
            problems(&batch),
            [
                (1, "referrer", "field_too_long"),
                (2, "referrer", "invalid_string"),
                (3, "referrer", "wrong_type"),
            ]
        );
    }

    #[test]
    fn numbers_of_the_wrong_type_or_range_are_absent() {
        let batch = read(&format!(
            r#"{{"kind":"pageview","url":"https://e.com/","screen_width":"1280"}},
               {{"kind":"pageview","url":"https://e.com/","screen_width":-1}},
               {{"kind":"pageview","url":"https://e.com/","screen_width":12.5}},
               {{"kind":"pageview","url":"https://e.com/","screen_width":4294967296}},
               {{"kind":"engagement","url":"https://e.com/","engaged_ms":{},"scroll":101}},
               {{"kind":"engagement","url":"https://e.com/","engaged_ms":{MAX_ENGAGED_MS},"scroll":100}}"#,
            MAX_ENGAGED_MS + 1
        ));
        assert_eq!(batch.events.len(), 7);
        assert!(batch.events[1..5].iter().all(|e| e.screen_width.is_none()));
        assert_eq!(
            (batch.events[5].engaged_ms, batch.events[5].scroll),
            (None, None)
        );
        assert_eq!(
            (batch.events[6].engaged_ms, batch.events[6].scroll),
            (Some(MAX_ENGAGED_MS), Some(100))
        );
        assert_eq!(
            problems(&batch),
            [
                (1, "screen_width", "wrong_type"),
                (2, "screen_width", "out_of_range"),
                (3, "screen_width", "wrong_type"),
                (4, "screen_width", "out_of_range"),
                (5, "engaged_ms", "out_of_range"),
                (5, "scroll", "out_of_range"),
            ]
        );
    }

    #[test]
    fn nested_array_and_null_properties_go_and_the_others_stay() {
        let batch = read(&custom(
            r#","props":{"plan":"pro","n":{"a":1},"list":[1],"none":null,"seats":3,"ok":true}"#,
        ));
        let props = batch.events[1].props.as_ref().unwrap();
        assert_eq!(props.len(), 3);
        assert_eq!(
            (
                props["plan"].as_str(),
                props["seats"].as_i64(),
                props["ok"].as_bool()
            ),
            (Some("pro"), Some(3), Some(true))
        );
        assert_eq!(
            problems(&batch),
            [
                (1, "props.n", "bad_prop"),
                (1, "props.list", "bad_prop"),
                (1, "props.none", "bad_prop")
            ]
        );
    }

    #[test]
    fn a_long_property_value_is_cut_at_a_character_boundary() {
        let value = format!("{}é", "v".repeat(MAX_PROP_VALUE_BYTES - 1));
        let exact = "w".repeat(MAX_PROP_VALUE_BYTES);
        let batch = read(&custom(&format!(
            r#","props":{{"long":"{value}","exact":"{exact}"}}"#
        )));
        let props = batch.events[1].props.as_ref().unwrap();
        assert_eq!(
            props["long"].as_str().unwrap().len(),
            MAX_PROP_VALUE_BYTES - 1
        );
        assert_eq!(props["exact"].as_str(), Some(exact.as_str()));
        assert_eq!(problems(&batch), [(1, "props.long", "truncated")]);
    }

    #[test]
    fn a_long_or_nul_key_and_a_nul_value_drop_only_their_property() {
        let long_key = "k".repeat(MAX_PROP_KEY_BYTES + 1);
        let exact_key = "k".repeat(MAX_PROP_KEY_BYTES);
        let batch = read(&custom(&format!(
            r#","props":{{"{long_key}":1,"{exact_key}":2,"a\u0000":3,"b":"x\u0000y","c":"kept"}}"#
        )));
        let props = batch.events[1].props.as_ref().unwrap();
        assert_eq!(props.len(), 2);
        assert_eq!(
            (props[&exact_key].as_i64(), props["c"].as_str()),
            (Some(2), Some("kept"))
        );
        assert_eq!(
            problems(&batch),
            [
                (1, format!("props.{exact_key}").as_str(), "field_too_long"),
                (1, "props.a\0", "invalid_string"),
                (1, "props.b", "invalid_string"),
            ]
        );
    }

    #[test]
    fn past_the_property_limit_the_first_ones_sent_are_kept() {
        // Keys sent in reverse alphabetical order: "the first" means the order sent.
        let many: Vec<String> = (0..MAX_PROPS + 5)
            .rev()
            .map(|i| format!(r#""k{i:02}":{i}"#))
            .collect();
        let batch = read(&custom(&format!(r#","props":{{{}}}"#, many.join(","))));
        let props = batch.events[1].props.as_ref().unwrap();
        assert_eq!(props.len(), MAX_PROPS);
        assert!(props.contains_key(&format!("k{:02}", MAX_PROPS + 4)));
        assert!(!props.contains_key("k00"));
        assert_eq!(problems(&batch), [(1, "props", "too_many_props")]);
        let exact: Vec<String> = (0..MAX_PROPS).map(|i| format!(r#""k{i}":{i}"#)).collect();
        let batch = read(&custom(&format!(r#","props":{{{}}}"#, exact.join(","))));
        assert_eq!(batch.events[1].props.as_ref().unwrap().len(), MAX_PROPS);
        assert!(batch.problems.is_empty());
    }

    #[test]
    fn props_that_are_not_an_object_go_and_page_views_may_carry_props() {
        let batch = read(
            r#"{"kind":"custom","name":"x","url":"https://e.com/","props":[1,2]},{"kind":"pageview","url":"https://e.com/","props":{"section":"docs"}}"#,
        );
        assert_eq!(batch.events[1].props, None);
        assert_eq!(batch.events[2].props.as_ref().unwrap()["section"], "docs");
        assert_eq!(problems(&batch), [(1, "props", "wrong_type")]);
    }

    #[test]
    fn a_repeated_field_keeps_its_first_value() {
        let batch = read(
            r#"{"kind":"pageview","url":"https://e.com/first","url":"https://e.com/second","props":{"a":1,"a":2}}"#,
        );
        assert_eq!(batch.events[1].url, "https://e.com/first");
        assert_eq!(batch.events[1].props.as_ref().unwrap()["a"], 1);
        assert_eq!(
            problems(&batch),
            [(1, "url", "duplicate_key"), (1, "props.a", "duplicate_key")]
        );
    }

    #[test]
    fn revenue_is_read_exactly() {
        let cases = [
            (r#""12.50""#, "eur", 12_500_000),
            ("12.5", "EUR", 12_500_000),
            ("19.99", "usd", 19_990_000),
            ("7", "JPY", 7_000_000),
            (r#""-0.99""#, "EUR", -990_000),
            (r#""0.0000005""#, "EUR", 1),
            (r#""0.00000049""#, "EUR", 0),
            (r#""9999999.999999""#, "EUR", 9_999_999_999_999),
            (r#""10000000""#, "EUR", MAX_REVENUE_MICROS),
            (r#""-10000000""#, "EUR", -MAX_REVENUE_MICROS),
        ];
        for (amount, currency, micros) in cases {
            let batch = read(&custom(&format!(
                r#","revenue":{{"amount":{amount},"currency":"{currency}"}}"#
            )));
            let revenue = batch.events[1].revenue.clone().unwrap();
            assert_eq!(revenue.micros, micros, "{amount}");
            assert_eq!(revenue.currency, currency.to_ascii_uppercase());
            assert!(batch.problems.is_empty());
        }
    }

    #[test]
    fn a_bad_revenue_loses_only_the_revenue() {
        let cases = [
            (
                r#"{"amount":"12,50","currency":"EUR"}"#,
                "revenue.amount",
                "bad_amount",
            ),
            (
                r#"{"amount":"1e5","currency":"EUR"}"#,
                "revenue.amount",
                "bad_amount",
            ),
            (
                r#"{"amount":".5","currency":"EUR"}"#,
                "revenue.amount",
                "bad_amount",
            ),
            (
                r#"{"amount":"1.","currency":"EUR"}"#,
                "revenue.amount",
                "bad_amount",
            ),
            (
                r#"{"amount":"10000000.000001","currency":"EUR"}"#,
                "revenue.amount",
                "out_of_range",
            ),
            (
                r#"{"amount":-10000001,"currency":"EUR"}"#,
                "revenue.amount",
                "out_of_range",
            ),
            (
                r#"{"amount":1e300,"currency":"EUR"}"#,
                "revenue.amount",
                "out_of_range",
            ),
            (
                r#"{"amount":"0000000000000000000000001","currency":"EUR"}"#,
                "revenue.amount",
                "field_too_long",
            ),
            (
                r#"{"amount":true,"currency":"EUR"}"#,
                "revenue.amount",
                "wrong_type",
            ),
            (r#"{"currency":"EUR"}"#, "revenue.amount", "missing"),
            (
                r#"{"amount":5,"currency":"EURO"}"#,
                "revenue.currency",
                "bad_currency",
            ),
            (
                r#"{"amount":5,"currency":"E1R"}"#,
                "revenue.currency",
                "bad_currency",
            ),
            (
                r#"{"amount":5,"currency":"€UR"}"#,
                "revenue.currency",
                "bad_currency",
            ),
            (r#"{"amount":5}"#, "revenue.currency", "missing"),
            (r#""12.50 EUR""#, "revenue", "wrong_type"),
        ];
        for (revenue, field, error) in cases {
            let batch = read(&custom(&format!(
                r#","props":{{"plan":"pro"}},"revenue":{revenue}"#
            )));
            let event = &batch.events[1];
            assert_eq!(event.revenue, None, "{revenue}");
            assert_eq!(event.name.as_deref(), Some("buy"));
            assert_eq!(event.props.as_ref().unwrap()["plan"], "pro");
            assert_eq!(problems(&batch), [(1, field, error)], "{revenue}");
        }
        let batch = read(
            r#"{"kind":"pageview","url":"https://e.com/","revenue":{"amount":5,"currency":"EUR"}}"#,
        );
        assert_eq!(batch.events[1].revenue, None);
        assert_eq!(problems(&batch), [(1, "revenue", "not_allowed")]);
    }

    #[test]
    fn problems_are_listed_up_to_the_limit_and_counted_past_it() {
        let junk = vec!["1"; MAX_REPORTED_PROBLEMS + 7].join(",");
        let batch = read(&junk);
        assert_eq!(batch.problems.len(), MAX_REPORTED_PROBLEMS);
        assert_eq!(batch.problems_omitted, 7);
        assert_eq!(batch.dropped(), MAX_REPORTED_PROBLEMS + 7);
    }

    #[test]
    fn the_receipt_says_what_was_kept_and_what_went() {
        let batch = read(r#"{"kind":"nope","url":"https://e.com/"}"#);
        assert_eq!(
            serde_json::to_value(batch.receipt("r1")).unwrap(),
            serde_json::json!({"accepted": 1, "dropped": 1, "request_id": "r1",
                "problems": [{"event": 1, "field": "kind", "error": "unknown_kind"}]})
        );
        let junk = vec!["1"; MAX_REPORTED_PROBLEMS + 1].join(",");
        let receipt = serde_json::to_value(read(&junk).receipt("r2")).unwrap();
        assert_eq!(receipt["problems_omitted"], 1);
    }

    #[test]
    fn the_receipt_counts_events_dropped_on_purpose() {
        let batch = read(&format!("{PV},{PV}"));
        assert_eq!(batch.events.len(), 3);
        let mut dropped = crate::ingest::dropped::Dropped::default();
        assert_eq!(batch.receipt_after("r", &dropped), batch.receipt("r"));
        dropped.add(crate::ingest::dropped::DropReason::ReferrerSpam);
        dropped.add(crate::ingest::dropped::DropReason::ReferrerSpam);
        let receipt = serde_json::to_value(batch.receipt_after("r", &dropped)).unwrap();
        assert_eq!(
            (receipt["accepted"].as_u64(), receipt["dropped"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(
            receipt["dropped_reasons"],
            serde_json::json!({"referrer_spam": 2})
        );
        assert_eq!(receipt["request_id"], "r");
    }

    #[test]
    fn indexes_are_positions_as_sent() {
        let batch = read(&format!("1,{PV}"));
        let indexes: Vec<usize> = batch.events.iter().map(|e| e.index).collect();
        assert_eq!(indexes, [0, 2]);
    }

    #[test]
    fn micro_units_print_as_exact_decimals() {
        assert_eq!(format_micros(12_500_000), "12.50");
        assert_eq!(format_micros(0), "0.00");
        assert_eq!(format_micros(1_234), "0.001234");
        assert_eq!(format_micros(-5_000_000), "-5.00");
        assert_eq!(format_micros(-10), "-0.00001");
        let big = 4 * (i64::MAX as i128);
        assert_eq!(format_micros(big), "36893488147419.103228");
    }
}
