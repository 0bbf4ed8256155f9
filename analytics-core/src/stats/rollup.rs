//! Hourly rollups: what each event adds to `rollups_hourly`, so the dashboard reads sums over a
//! few rows per hour instead of scanning raw events.
//!
//! The site's Durable Object is the one writer that sees every event of its site in order, so
//! it can keep each visitor's open session and the set of (day, dimension, value, visitor)
//! already counted; this module turns one event plus that state into additive deltas.
//!
//! Definitions (the raw-event computation in tests/rollup_equivalence.rs follows them):
//! - A session's attributes (entry page, source, channel, UTM, geo, browser, OS, device) are
//!   those of its first event; visits, bounces (sessions with at most one page view) and visit
//!   duration (last event − first event) are counted in the hour the session started.
//! - `total` and session-level dimensions count page views in the session's start hour too,
//!   except `total`'s page views and `hour_visitors`, which follow each event's own hour (the
//!   time-series chart).
//! - Unique visitors are counted once per UTC day per dimension value (visitor hashes rotate
//!   daily, so uniques over several days are a sum of daily uniques).
//! - `page` counts page views, visitors and engaged time per path, in each event's hour;
//!   `exit_page` counts visits by the session's last page view.
//! - `prop` counts the properties of custom events (labelled with the event's name) and of
//!   page views (labelled `pageview`), in each event's hour.
//! - `revenue` rows (value: currency, U+001F, custom event name; see `revenue_label`) count the
//!   custom events that carried revenue and sum it in `revenue_micros`.
//! - Bots are stored in `events` but add nothing here except to the `bots` row.

use crate::enrich::session::continues;
use crate::ingest::event::{EnrichedEvent, EventKind};
use crate::stats::{day_of_ms, HOUR_MS};
use serde::{Deserialize, Serialize};

pub use api_types::stats::Dimension;

/// Dimensions carried by the session (taken from its first event), each with the `events`
/// column it is read from (filters select visits by these columns of the first event).
pub const SESSION_DIMENSIONS: [(Dimension, &str); 14] = [
    (Dimension::EntryPage, "path"),
    (Dimension::Source, "referrer_source"),
    (Dimension::Channel, "channel"),
    (Dimension::UtmSource, "utm_source"),
    (Dimension::UtmMedium, "utm_medium"),
    (Dimension::UtmCampaign, "utm_campaign"),
    (Dimension::UtmTerm, "utm_term"),
    (Dimension::UtmContent, "utm_content"),
    (Dimension::Country, "country"),
    (Dimension::Region, "region"),
    (Dimension::City, "city"),
    (Dimension::Browser, "browser"),
    (Dimension::Os, "os"),
    (Dimension::Device, "device"),
];

/// Every dimension a rollup row can have and a breakdown can ask for (besides
/// `REVENUE_DIMENSION`, which only goal stats read): `total`, then the breakdowns.
pub const DIMENSIONS: [Dimension; 22] = {
    let mut all = [Dimension::Total; 22];
    let mut i = 0;
    while i < Dimension::BREAKDOWNS.len() {
        all[i + 1] = Dimension::BREAKDOWNS[i];
        i += 1;
    }
    all
};
/// Rollup rows holding revenue per currency and custom event name (only goal stats read them).
pub const REVENUE_DIMENSION: Dimension = Dimension::Revenue;
/// The event part of a page view's `prop` label.
pub const PAGEVIEW_PROP_EVENT: &str = "pageview";

/// The dimension that counts an event kind's events by name, if any.
pub fn named_dimension(kind: EventKind) -> Option<Dimension> {
    Some(match kind {
        EventKind::Custom => Dimension::Event,
        EventKind::Outbound => Dimension::Outbound,
        EventKind::Download => Dimension::Download,
        _ => return None,
    })
}

/// A visitor's open session, as the Durable Object keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenSession {
    pub id: String,
    pub start_ms: i64,
    pub last_ms: i64,
    pub pageviews: u32,
    pub exit_page: Option<String>,
    /// Values of `SESSION_DIMENSIONS`, in order.
    pub attributes: Vec<String>,
}

impl OpenSession {
    /// The session `event` starts (the event's id becomes the session's).
    fn start(event: &EnrichedEvent) -> OpenSession {
        OpenSession {
            id: event.id.clone(),
            start_ms: event.ts,
            last_ms: event.ts,
            pageviews: 0,
            exit_page: None,
            attributes: session_attributes(event),
        }
    }
}

/// Remembers which (day, dimension, value, visitor) were already counted.
pub trait SeenSet {
    /// True the first time `key` is offered.
    fn first(&mut self, key: &str) -> bool;
}

impl SeenSet for std::collections::HashSet<String> {
    fn first(&mut self, key: &str) -> bool {
        self.insert(key.to_string())
    }
}

/// An additive change to one rollup row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    pub hour: i64,
    pub dimension: Dimension,
    pub value: String,
    pub visitors: i64,
    pub hour_visitors: i64,
    pub pageviews: i64,
    pub visits: i64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub engaged_ms: i64,
    pub events: i64,
    /// Revenue in micro-units (`revenue` rows only). Deltas buffered before it existed read 0.
    #[serde(default)]
    pub revenue_micros: i64,
}

impl Delta {
    /// A row's key with every metric zero.
    pub fn zero(hour: i64, dimension: Dimension, value: &str) -> Delta {
        Delta {
            hour,
            dimension,
            value: value.into(),
            visitors: 0,
            hour_visitors: 0,
            pageviews: 0,
            visits: 0,
            bounces: 0,
            duration_ms: 0,
            engaged_ms: 0,
            events: 0,
            revenue_micros: 0,
        }
    }

    fn is_zero(&self) -> bool {
        *self == Delta::zero(self.hour, self.dimension, &self.value)
    }
}

fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

fn session_attributes(e: &EnrichedEvent) -> Vec<String> {
    [
        &e.path,
        &e.referrer_source,
        &e.channel,
        &e.utm_source,
        &e.utm_medium,
        &e.utm_campaign,
        &e.utm_term,
        &e.utm_content,
        &e.country,
        &e.region,
        &e.city,
        &e.browser,
        &e.os,
        &e.device,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

struct Deltas(Vec<Delta>);

impl Deltas {
    fn row(&mut self, hour: i64, dimension: Dimension, value: &str) -> &mut Delta {
        let i = match self
            .0
            .iter()
            .position(|d| d.hour == hour && d.dimension == dimension && d.value == value)
        {
            Some(i) => i,
            None => {
                self.0.push(Delta::zero(hour, dimension, value));
                self.0.len() - 1
            }
        };
        &mut self.0[i]
    }
}

/// What one event is, for the counting below: its hours and days, and whose it is.
struct At<'a> {
    event: &'a EnrichedEvent,
    start_hour: i64,
    start_day: String,
    event_hour: i64,
    event_day: String,
}

impl At<'_> {
    /// Counts the visitor once per day and row: true the first time.
    fn first_visit(&self, seen: &mut impl SeenSet, day: &str, dim: Dimension, value: &str) -> bool {
        seen.first(&format!(
            "{day}\u{1f}{dim}\u{1f}{value}\u{1f}{}",
            self.event.visitor
        ))
    }
}

/// Assigns `event` to a session (setting `event.session`) and returns the session's new state
/// and the rollup deltas. `previous` is the visitor's open session, if any.
pub fn apply(
    event: &mut EnrichedEvent,
    previous: Option<&OpenSession>,
    seen: &mut impl SeenSet,
) -> (OpenSession, Vec<Delta>) {
    if event.bot {
        return apply_bot(event, previous);
    }
    let continuing = previous.filter(|p| continues(p.last_ms, event.ts));
    let mut session = continuing
        .cloned()
        .unwrap_or_else(|| OpenSession::start(event));
    event.session = session.id.clone();
    let event = &*event;
    let at = At {
        event,
        start_hour: hour_of(session.start_ms),
        start_day: day_of_ms(session.start_ms),
        event_hour: hour_of(event.ts),
        event_day: day_of_ms(event.ts),
    };
    let mut out = Deltas(Vec::new());
    count_session(&mut out, &at, &session, continuing.is_none(), seen);
    count_hour(&mut out, &at, seen);
    match event.kind {
        EventKind::Pageview => count_page_view(&mut out, &at, &mut session, seen),
        EventKind::Engagement => {
            out.row(at.event_hour, Dimension::Page, &event.path)
                .engaged_ms += event.engaged_ms;
        }
        _ => {}
    }
    count_named_event(&mut out, &at, seen);
    count_props(&mut out, &at, seen);
    count_revenue(&mut out, &at);
    session.last_ms = session.last_ms.max(event.ts);
    // Remove rows that ended up all zero (a bounce undone in the same call, say).
    out.0.retain(|d| !d.is_zero());
    (session, out.0)
}

/// A bot's event joins (or starts) the visitor's session and counts only in the `bots` row.
fn apply_bot(
    event: &mut EnrichedEvent,
    previous: Option<&OpenSession>,
) -> (OpenSession, Vec<Delta>) {
    let mut out = Deltas(Vec::new());
    out.row(hour_of(event.ts), Dimension::Bots, "").events += 1;
    let state = previous
        .cloned()
        .unwrap_or_else(|| OpenSession::start(event));
    event.session = state.id.clone();
    (state, out.0)
}

/// Session-level rows: `total` plus each session dimension, in the session's start hour.
fn count_session(
    out: &mut Deltas,
    at: &At,
    session: &OpenSession,
    new_session: bool,
    seen: &mut impl SeenSet,
) {
    let event = at.event;
    let is_pageview = event.kind == EventKind::Pageview;
    let duration = if new_session {
        0
    } else {
        (event.ts - session.last_ms).max(0)
    };
    let attributes = SESSION_DIMENSIONS
        .iter()
        .zip(&session.attributes)
        .map(|((dim, _), value)| (*dim, value.as_str()));
    for (dim, value) in std::iter::once((Dimension::Total, "")).chain(attributes) {
        let first_visit = at.first_visit(seen, &at.start_day, dim, value);
        let row = out.row(at.start_hour, dim, value);
        row.visitors += first_visit as i64;
        if new_session {
            row.visits += 1;
            row.bounces += 1;
        }
        if is_pageview && session.pageviews == 1 {
            row.bounces -= 1; // the second page view: no longer a bounce
        }
        if is_pageview && dim != Dimension::Total {
            row.pageviews += 1;
        }
        row.duration_ms += duration;
        row.engaged_ms += event.engaged_ms;
    }
}

/// `total`'s page views and hourly uniques follow the event's own hour (the chart).
fn count_hour(out: &mut Deltas, at: &At, seen: &mut impl SeenSet) {
    let hour_first = seen.first(&format!(
        "{}\u{1f}hour\u{1f}{}",
        at.event_hour, at.event.visitor
    ));
    let total = out.row(at.event_hour, Dimension::Total, "");
    total.hour_visitors += hour_first as i64;
    total.pageviews += (at.event.kind == EventKind::Pageview) as i64;
}

/// A page view counts for its page and moves the session's exit page to it.
fn count_page_view(out: &mut Deltas, at: &At, session: &mut OpenSession, seen: &mut impl SeenSet) {
    let path = &at.event.path;
    let first = at.first_visit(seen, &at.event_day, Dimension::Page, path);
    let page = out.row(at.event_hour, Dimension::Page, path);
    page.pageviews += 1;
    page.visitors += first as i64;
    if let Some(old) = session.exit_page.take() {
        out.row(at.start_hour, Dimension::ExitPage, &old).visits -= 1;
    }
    out.row(at.start_hour, Dimension::ExitPage, path).visits += 1;
    session.exit_page = Some(path.clone());
    session.pageviews += 1;
}

/// Custom events, outbound links and downloads, by name.
fn count_named_event(out: &mut Deltas, at: &At, seen: &mut impl SeenSet) {
    let Some(dim) = named_dimension(at.event.kind) else {
        return;
    };
    let name = &at.event.name;
    let first = at.first_visit(seen, &at.event_day, dim, name);
    let row = out.row(at.event_hour, dim, name);
    row.events += 1;
    row.visitors += first as i64;
}

/// The properties of custom events (labelled with the event's name) and of page views
/// (labelled `pageview`).
fn count_props(out: &mut Deltas, at: &At, seen: &mut impl SeenSet) {
    let event = at.event;
    let prop_event = match event.kind {
        EventKind::Custom => event.name.as_str(),
        EventKind::Pageview => PAGEVIEW_PROP_EVENT,
        _ => return,
    };
    let Ok(serde_json::Value::Object(props)) =
        serde_json::from_str::<serde_json::Value>(&event.props)
    else {
        return;
    };
    for (key, value) in props {
        let value = match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        let label = prop_label(prop_event, &key, &value);
        let first = at.first_visit(seen, &at.event_day, Dimension::Prop, &label);
        let row = out.row(at.event_hour, Dimension::Prop, &label);
        row.events += 1;
        row.visitors += first as i64;
    }
}

/// A custom event's revenue, per currency and event name.
fn count_revenue(out: &mut Deltas, at: &At) {
    let event = at.event;
    if event.kind == EventKind::Custom && !event.revenue_currency.is_empty() {
        let label = revenue_label(&event.revenue_currency, &event.name);
        let row = out.row(at.event_hour, REVENUE_DIMENSION, &label);
        row.events += 1;
        row.revenue_micros += event.revenue_micros;
    }
}

/// Distinct property keys one site may create per UTC day. Each key is a rollup row per hour it
/// is seen in; keys past this one are counted under `OTHER` (key and value).
pub const MAX_PROP_KEYS_PER_DAY: i64 = 50;
/// Distinct (key, value) pairs one site may create per UTC day, all keys together. Each is a
/// rollup row per hour: without a bound one 25 KB request made 1,554 rows. Values past this
/// are counted under their key with the value `OTHER`.
pub const MAX_PROP_VALUES_PER_DAY: i64 = 1_000;
/// What an overflowing property key or value is counted as.
pub const OTHER: &str = "(other)";

/// Sets of distinct items with a size bound (the site's Durable Object keeps them per day).
pub trait BoundedSets {
    /// True when `item` is in `set`, adding it first if the set holds fewer than `limit` items;
    /// false when it is not in the set and the set is full.
    fn admit(&mut self, set: &str, item: &str, limit: i64) -> bool;
}

impl BoundedSets for std::collections::HashMap<String, std::collections::HashSet<String>> {
    fn admit(&mut self, set: &str, item: &str, limit: i64) -> bool {
        let items = self.entry(set.to_string()).or_default();
        if items.contains(item) {
            return true;
        }
        if (items.len() as i64) < limit {
            items.insert(item.to_string());
            return true;
        }
        false
    }
}

/// Replaces the event's properties past the site's daily bounds by `OTHER`: a key past
/// `MAX_PROP_KEYS_PER_DAY` becomes `OTHER` with the value `OTHER` (all such keys of one event
/// fold into that one property), a value past `MAX_PROP_VALUES_PER_DAY` becomes `OTHER` under
/// its key. The event is still counted; only what makes new rows is folded. Applied before
/// the event is stored, so raw events and rollups agree.
pub fn bound_props(event: &mut EnrichedEvent, sets: &mut impl BoundedSets) {
    let Ok(serde_json::Value::Object(props)) =
        serde_json::from_str::<serde_json::Value>(&event.props)
    else {
        return;
    };
    if props.is_empty() {
        return;
    }
    let day = day_of_ms(event.ts);
    let (keys, values) = (format!("{day}\u{1f}keys"), format!("{day}\u{1f}values"));
    let mut bounded = serde_json::Map::new();
    for (key, value) in props {
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !sets.admit(&keys, &key, MAX_PROP_KEYS_PER_DAY) {
            bounded.insert(OTHER.into(), OTHER.into());
        } else if sets.admit(
            &values,
            &format!("{key}\u{1f}{text}"),
            MAX_PROP_VALUES_PER_DAY,
        ) {
            bounded.insert(key, value);
        } else {
            bounded.insert(key, OTHER.into());
        }
    }
    event.props = serde_json::Value::Object(bounded).to_string();
}

/// Sums deltas that hit the same row, so a flush upserts each row once.
pub fn merge(deltas: impl IntoIterator<Item = Delta>) -> Vec<Delta> {
    let mut rows: std::collections::BTreeMap<(i64, &'static str, String), Delta> =
        std::collections::BTreeMap::new();
    for d in deltas {
        let row = rows
            .entry((d.hour, d.dimension.as_str(), d.value.clone()))
            .or_insert_with(|| Delta::zero(d.hour, d.dimension, &d.value));
        row.visitors += d.visitors;
        row.hour_visitors += d.hour_visitors;
        row.pageviews += d.pageviews;
        row.visits += d.visits;
        row.bounces += d.bounces;
        row.duration_ms += d.duration_ms;
        row.engaged_ms += d.engaged_ms;
        row.events += d.events;
        row.revenue_micros += d.revenue_micros;
    }
    rows.into_values().collect()
}

/// The `prop` dimension's value: event name (`pageview` for a page view's properties),
/// property key and value, separated by U+001F.
pub fn prop_label(event: &str, key: &str, value: &str) -> String {
    format!("{event}\u{1f}{key}\u{1f}{value}")
}

/// The `revenue` dimension's value: the currency (always three letters), U+001F, the custom
/// event's name — so a goal's rows are those whose value from the fifth character is its name.
pub fn revenue_label(currency: &str, event: &str) -> String {
    format!("{currency}\u{1f}{event}")
}

/// Upsert of one delta. Binds: site, hour, dimension, value, then the nine metrics in
/// `Delta` order.
pub const UPSERT_SQL: &str = "INSERT INTO rollups_hourly \
    (site_id, hour, dimension, value, visitors, hour_visitors, pageviews, visits, bounces, duration_ms, engaged_ms, events, revenue_micros) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
    ON CONFLICT (site_id, dimension, hour, value) DO UPDATE SET \
    visitors = visitors + excluded.visitors, hour_visitors = hour_visitors + excluded.hour_visitors, \
    pageviews = pageviews + excluded.pageviews, visits = visits + excluded.visits, \
    bounces = bounces + excluded.bounces, duration_ms = duration_ms + excluded.duration_ms, \
    engaged_ms = engaged_ms + excluded.engaged_ms, events = events + excluded.events, \
    revenue_micros = revenue_micros + excluded.revenue_micros";

pub fn upsert_values(site_id: &str, d: &Delta) -> Vec<crate::store::events::SqlValue> {
    use crate::store::events::SqlValue::{Int, Text};
    vec![
        Text(site_id.into()),
        Int(d.hour),
        Text(d.dimension.as_str().into()),
        Text(d.value.clone()),
        Int(d.visitors),
        Int(d.hour_visitors),
        Int(d.pageviews),
        Int(d.visits),
        Int(d.bounces),
        Int(d.duration_ms),
        Int(d.engaged_ms),
        Int(d.events),
        Int(d.revenue_micros),
    ]
}

/// Overview totals from rollups. Binds: site, from_ms, to_ms.
pub const TOTALS_SQL: &str =
    "SELECT COALESCE(SUM(visitors), 0) AS visitors, COALESCE(SUM(pageviews), 0) AS pageviews, \
    COALESCE(SUM(visits), 0) AS visits, COALESCE(SUM(bounces), 0) AS bounces, \
    COALESCE(SUM(duration_ms), 0) AS duration_ms, COALESCE(SUM(engaged_ms), 0) AS engaged_ms \
    FROM rollups_hourly WHERE site_id = ?1 AND dimension = 'total' AND hour >= ?2 AND hour < ?3";

/// One dimension's breakdown from rollups. Binds: site, from_ms, to_ms, dimension, limit.
pub const BREAKDOWN_SQL: &str =
    "SELECT value, SUM(visitors) AS visitors, SUM(pageviews) AS pageviews, \
    SUM(visits) AS visits, SUM(bounces) AS bounces, SUM(duration_ms) AS duration_ms, \
    SUM(engaged_ms) AS engaged_ms, SUM(events) AS events \
    FROM rollups_hourly WHERE site_id = ?1 AND hour >= ?2 AND hour < ?3 AND dimension = ?4 \
    GROUP BY value HAVING SUM(visitors) + SUM(pageviews) + SUM(visits) + SUM(events) > 0 \
    ORDER BY visitors DESC, visits DESC, pageviews DESC, events DESC, value LIMIT ?5";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::session::SESSION_TIMEOUT_MS;
    use std::collections::HashSet;

    #[test]
    fn session_columns_are_the_columns_session_attributes_read() {
        use crate::store::events::{event_values, SqlValue, EVENT_COLUMNS};
        let mut e = EnrichedEvent::default();
        for (i, field) in [
            &mut e.path,
            &mut e.referrer_source,
            &mut e.channel,
            &mut e.utm_source,
            &mut e.utm_medium,
            &mut e.utm_campaign,
            &mut e.utm_term,
            &mut e.utm_content,
            &mut e.country,
            &mut e.region,
            &mut e.city,
            &mut e.browser,
            &mut e.os,
            &mut e.device,
        ]
        .into_iter()
        .enumerate()
        {
            *field = format!("value-{i}");
        }
        let values = event_values(&e);
        for (i, attribute) in session_attributes(&e).into_iter().enumerate() {
            let column = EVENT_COLUMNS
                .iter()
                .position(|c| *c == SESSION_DIMENSIONS[i].1)
                .unwrap();
            assert_eq!(
                values[column],
                SqlValue::Text(attribute),
                "{}",
                SESSION_DIMENSIONS[i].0
            );
        }
    }

    fn ev(id: &str, ts: i64, kind: &str, path: &str) -> EnrichedEvent {
        EnrichedEvent {
            id: id.into(),
            ts,
            visitor: "v1".into(),
            kind: EventKind::parse(kind).unwrap(),
            path: path.into(),
            referrer_source: "Google".into(),
            channel: "search".into(),
            country: "PT".into(),
            browser: "Firefox".into(),
            props: "{}".into(),
            ..Default::default()
        }
    }

    fn find<'a>(ds: &'a [Delta], dim: &str, value: &str) -> Option<&'a Delta> {
        ds.iter()
            .find(|d| d.dimension.as_str() == dim && d.value == value)
    }

    #[test]
    fn a_two_page_visit_is_one_visit_no_bounce_with_its_duration() {
        let mut seen = HashSet::new();
        let mut a = ev("a", 1_000, "pageview", "/");
        let (s1, d1) = apply(&mut a, None, &mut seen);
        let total = find(&d1, "total", "").unwrap();
        assert_eq!(
            (total.visits, total.bounces, total.visitors, total.pageviews),
            (1, 1, 1, 1)
        );
        assert_eq!(find(&d1, "entry_page", "/").unwrap().visits, 1);
        assert_eq!(find(&d1, "source", "Google").unwrap().visits, 1);
        let mut b = ev("b", 61_000, "pageview", "/pricing");
        let (s2, d2) = apply(&mut b, Some(&s1), &mut seen);
        assert_eq!(b.session, "a");
        let total = find(&d2, "total", "").unwrap();
        assert_eq!(
            (
                total.visits,
                total.bounces,
                total.visitors,
                total.duration_ms,
                total.pageviews
            ),
            (0, -1, 0, 60_000, 1)
        );
        assert_eq!(find(&d2, "exit_page", "/").unwrap().visits, -1);
        assert_eq!(find(&d2, "exit_page", "/pricing").unwrap().visits, 1);
        assert_eq!(s2.pageviews, 2);
    }

    #[test]
    fn thirty_idle_minutes_start_a_new_session() {
        let mut seen = HashSet::new();
        let mut a = ev("a", 0, "pageview", "/");
        let (s1, _) = apply(&mut a, None, &mut seen);
        let mut b = ev("b", SESSION_TIMEOUT_MS + 1, "pageview", "/");
        let (s2, d2) = apply(&mut b, Some(&s1), &mut seen);
        assert_eq!((b.session.as_str(), s2.id.as_str()), ("b", "b"));
        assert_eq!(find(&d2, "total", "").unwrap().visits, 1);
        assert_eq!(
            find(&d2, "total", "").unwrap().visitors,
            0,
            "same visitor, same day"
        );
    }

    #[test]
    fn merging_sums_rows_with_the_same_key() {
        let mut seen = HashSet::new();
        let mut a = ev("a", 0, "pageview", "/");
        let (s, mut all) = apply(&mut a, None, &mut seen);
        let mut b = ev("b", 1_000, "pageview", "/");
        all.extend(apply(&mut b, Some(&s), &mut seen).1);
        let merged = merge(all.clone());
        assert!(merged.len() < all.len());
        let total: Vec<&Delta> = merged
            .iter()
            .filter(|d| d.dimension == Dimension::Total)
            .collect();
        assert_eq!(total.len(), 1);
        assert_eq!(
            (total[0].pageviews, total[0].visits, total[0].bounces),
            (2, 1, 0)
        );
    }

    #[test]
    fn bots_only_count_as_bots() {
        let mut seen = HashSet::new();
        let mut a = ev("a", 0, "pageview", "/");
        a.bot = true;
        let (_, d) = apply(&mut a, None, &mut seen);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].dimension.as_str(), d[0].events), ("bots", 1));
    }

    #[test]
    fn page_view_properties_are_props_of_the_pageview_event() {
        let mut seen = HashSet::new();
        let mut a = ev("a", 0, "pageview", "/docs");
        a.props = r#"{"section":"guides","v":2}"#.into();
        let (_, d) = apply(&mut a, None, &mut seen);
        let row = find(
            &d,
            "prop",
            &prop_label(PAGEVIEW_PROP_EVENT, "section", "guides"),
        )
        .unwrap();
        assert_eq!((row.events, row.visitors), (1, 1));
        assert!(find(&d, "prop", &prop_label("pageview", "v", "2")).is_some());
        assert_eq!(find(&d, "page", "/docs").unwrap().pageviews, 1);
        // Other kinds' properties stay in the raw event only.
        let mut b = ev("b", 1_000, "outbound", "/docs");
        b.name = "https://x.example/".into();
        b.props = r#"{"k":"v"}"#.into();
        let (_, d) = apply(&mut b, None, &mut seen);
        assert!(d.iter().all(|r| r.dimension != Dimension::Prop));
    }

    #[test]
    fn revenue_is_summed_per_currency_and_event() {
        let mut seen = HashSet::new();
        let mut all = Vec::new();
        for (id, micros, currency) in [
            ("a", 12_500_000, "EUR"),
            ("b", -2_500_000, "EUR"),
            ("c", 5_000_000, "USD"),
        ] {
            let mut e = ev(id, 0, "custom", "/");
            e.name = "buy".into();
            e.revenue_micros = micros;
            e.revenue_currency = currency.into();
            all.extend(apply(&mut e, None, &mut seen).1);
        }
        let mut plain = ev("d", 0, "custom", "/");
        plain.name = "buy".into();
        all.extend(apply(&mut plain, None, &mut seen).1);
        let merged = merge(all);
        let eur = find(&merged, "revenue", &revenue_label("EUR", "buy")).unwrap();
        assert_eq!((eur.events, eur.revenue_micros), (2, 10_000_000));
        let usd = find(&merged, "revenue", &revenue_label("USD", "buy")).unwrap();
        assert_eq!((usd.events, usd.revenue_micros), (1, 5_000_000));
        assert_eq!(find(&merged, "event", "buy").unwrap().events, 4);
        assert_eq!(
            merged
                .iter()
                .filter(|d| d.dimension == REVENUE_DIMENSION)
                .count(),
            2
        );
    }

    #[test]
    fn custom_events_and_their_properties() {
        let mut seen = HashSet::new();
        let mut a = ev("a", 0, "custom", "/");
        a.name = "signup".into();
        a.props = r#"{"plan":"pro","seats":3}"#.into();
        let (_, d) = apply(&mut a, None, &mut seen);
        assert_eq!(find(&d, "event", "signup").unwrap().events, 1);
        assert_eq!(
            find(&d, "prop", &prop_label("signup", "plan", "pro"))
                .unwrap()
                .visitors,
            1
        );
        assert_eq!(
            find(&d, "prop", &prop_label("signup", "seats", "3"))
                .unwrap()
                .events,
            1
        );
        assert_eq!(
            find(&d, "total", "").unwrap().bounces,
            1,
            "a visit without a second page view"
        );
    }

    #[test]
    fn property_keys_and_values_are_bounded_per_site_and_day() {
        use std::collections::{HashMap, HashSet};
        let mut sets: HashMap<String, HashSet<String>> = HashMap::new();
        let event = |ts: i64, props: serde_json::Value| EnrichedEvent {
            ts,
            kind: EventKind::Custom,
            name: "flood".into(),
            props: props.to_string(),
            ..Default::default()
        };
        // Values: the first MAX_PROP_VALUES_PER_DAY pass, the rest fold into (other).
        let mut folded = 0;
        for i in 0..MAX_PROP_VALUES_PER_DAY + 200 {
            let mut e = event(1_000, serde_json::json!({ "k": format!("v{i}") }));
            bound_props(&mut e, &mut sets);
            let props: serde_json::Value = serde_json::from_str(&e.props).unwrap();
            if props["k"] == OTHER {
                folded += 1;
            } else {
                assert_eq!(props["k"], format!("v{i}"));
            }
        }
        assert_eq!(folded, 200);
        // A value already seen today still passes.
        let mut again = event(2_000, serde_json::json!({ "k": "v1" }));
        bound_props(&mut again, &mut sets);
        assert_eq!(again.props, r#"{"k":"v1"}"#);
        // Keys: past MAX_PROP_KEYS_PER_DAY (one key used so far), new keys fold into one (other).
        let many: serde_json::Map<String, serde_json::Value> = (0..MAX_PROP_KEYS_PER_DAY + 5)
            .map(|i| (format!("key{i}"), serde_json::Value::from(1)))
            .collect();
        let mut e = event(3_000, serde_json::Value::Object(many));
        bound_props(&mut e, &mut sets);
        let props: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&e.props).unwrap();
        assert_eq!(props.len() as i64, MAX_PROP_KEYS_PER_DAY - 1 + 1);
        assert_eq!(props[OTHER], OTHER);
        // The next day starts afresh.
        let mut tomorrow = event(86_400_000 + 1, serde_json::json!({ "new": "x" }));
        bound_props(&mut tomorrow, &mut sets);
        assert_eq!(tomorrow.props, r#"{"new":"x"}"#);
    }
}
