//! Talking to the Worker's JSON API: same origin, the session cookie, or a public link's
//! token in `X-Vigia-Share` when the dashboard was opened from one.

use js_sys::{Array, Reflect, JSON};
use serde::Serialize;
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

thread_local! {
    static SHARE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Makes every request carry a public link's token.
pub fn use_share_token(token: Option<String>) {
    SHARE.with(|s| *s.borrow_mut() = token);
}

/// An error a person can read: the API's message, or what went wrong on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    pub status: u16,
    pub message: String,
}

/// One request, answered as text; not generic, so every response type shares this code and
/// only the parsing below is instantiated per type.
async fn request_text(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<String, ApiFailure> {
    let network = |_| ApiFailure {
        status: 0,
        message: "Vigia's server could not be reached. Check your connection and try again.".into(),
    };
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(network)?;
    if let Some(token) = SHARE.with(|s| s.borrow().clone()) {
        headers.set("X-Vigia-Share", &token).map_err(network)?;
    }
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(network)?;
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or(ApiFailure {
        status: 0,
        message: "no window".into(),
    })?;
    let resp: Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(network)?
        .unchecked_into();
    let text = JsFuture::from(resp.text().map_err(network)?)
        .await
        .map_err(network)?
        .as_string()
        .unwrap_or_default();
    if !resp.ok() {
        let message = JSON::parse(&text)
            .ok()
            .and_then(|e| field(&e, "message").as_string())
            .unwrap_or_else(|| format!("The server answered {}.", resp.status()));
        return Err(ApiFailure {
            status: resp.status(),
            message,
        });
    }
    Ok(text)
}

/// Reads a typed answer out of JSON the browser parsed (`JSON.parse`). Written by
/// `api_types!` for the API's types instead of serde's derive: the overview then carries no
/// JSON parser of its own (≈20 KB of wasm with a deserializer per type). Missing or mistyped
/// fields read as their default, as a newer server's extra fields are ignored.
pub trait FromJson: Sized {
    fn from_json(v: &JsValue) -> Self;
}

/// `v[name]`, or `undefined`.
pub fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// For answers only their success matters.
impl FromJson for () {
    fn from_json(_: &JsValue) -> Self {}
}
/// Screens that read free-form JSON (records, settings) keep serde_json's `Value`.
impl FromJson for serde_json::Value {
    fn from_json(v: &JsValue) -> Self {
        JSON::stringify(v)
            .ok()
            .and_then(|s| s.as_string())
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }
}
impl FromJson for JsValue {
    fn from_json(v: &JsValue) -> Self {
        v.clone()
    }
}
impl FromJson for i64 {
    fn from_json(v: &JsValue) -> Self {
        v.as_f64().map_or(0, |n| n as i64)
    }
}
impl FromJson for f64 {
    fn from_json(v: &JsValue) -> Self {
        v.as_f64().unwrap_or_default()
    }
}
impl FromJson for bool {
    fn from_json(v: &JsValue) -> Self {
        v.as_bool().unwrap_or_default()
    }
}
impl FromJson for String {
    fn from_json(v: &JsValue) -> Self {
        v.as_string().unwrap_or_default()
    }
}
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &JsValue) -> Self {
        (!v.is_null() && !v.is_undefined()).then(|| T::from_json(v))
    }
}
impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &JsValue) -> Self {
        if !Array::is_array(v) {
            return Vec::new();
        }
        Array::from(v)
            .iter()
            .map(|item| T::from_json(&item))
            .collect()
    }
}

/// A JSON object of string fields, for request bodies (escaped by the browser's JSON).
pub fn body(fields: &[(&str, &str)]) -> String {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    JSON::stringify(&object)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// An `api-types` request body as JSON text. Only for the split-off screens: serde's
/// serializer stays out of the overview's bundle.
pub fn json_body(body: &impl Serialize) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

/// Declares the API's answer types with their [`FromJson`] readers (field name = JSON key).
macro_rules! api_types {
    ($( $(#[$meta:meta])* pub struct $name:ident { $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty ),* $(,)? } )*) => {$(
        $(#[$meta])*
        pub struct $name { $( $(#[$field_meta])* pub $field: $ty ),* }
        impl FromJson for $name {
            fn from_json(v: &JsValue) -> Self {
                $name { $( $field: FromJson::from_json(&field(v, stringify!($field))) ),* }
            }
        }
    )*};
}

/// Writes the [`FromJson`] reader of a type defined in the shared `api-types` crate (field name
/// = JSON key): `from_json! { api_types::sites::Site { id, name, timezone, role } }`. The list
/// is checked by the compiler — the reader builds the struct literal, so a field added, renamed
/// or removed in `api-types` fails to compile here until this list follows. Fields no screen
/// shows are named after `; unread:` and left at their default: reading them would only add
/// bytes to the bundle.
macro_rules! from_json {
    ($( $ty:path { $( $field:ident ),* $(,)? $(; unread: $( $unread:ident ),* $(,)? )? } )*) => {$(
        impl FromJson for $ty {
            fn from_json(v: &JsValue) -> Self {
                use $ty as Target;
                Target {
                    $( $field: FromJson::from_json(&field(v, stringify!($field))), )*
                    $($( $unread: Default::default(), )*)?
                }
            }
        }
    )*};
}

/// Reads a closed set (an `api-types` enum) from its wire name; an unknown name reads as the
/// given fallback, as a newer server's new value must not break the screen.
macro_rules! from_json_enum {
    ($( $ty:path => $fallback:expr ),* $(,)?) => {$(
        impl FromJson for $ty {
            fn from_json(v: &JsValue) -> Self {
                let text = v.as_string().unwrap_or_default();
                <$ty>::parse(&text).unwrap_or($fallback)
            }
        }
    )*};
}

fn parse<T: FromJson>(text: &str) -> Result<T, ApiFailure> {
    match JSON::parse(text) {
        Ok(v) => Ok(T::from_json(&v)),
        Err(_) => Err(ApiFailure {
            status: 200,
            message: "Unexpected answer from the server: not JSON.".into(),
        }),
    }
}

async fn request<T: FromJson>(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiFailure> {
    parse(&request_text(method, path, body).await?)
}

pub async fn get<T: FromJson>(path: &str) -> Result<T, ApiFailure> {
    request("GET", path, None).await
}

/// What `path()` answers, read again whenever a signal `path` reads changes. Lighter than a
/// `LocalResource` (each of those adds ~6 KB of future plumbing to the bundle).
pub fn fetched<T: FromJson + Send + Sync + 'static>(
    path: impl Fn() -> String + Send + Sync + 'static,
) -> leptos::prelude::Signal<Option<Result<T, String>>> {
    fetched_when(move || Some(path()))
}

/// [`fetched`], but only while `path()` names something (`None` keeps the last answer). The
/// fetching is not generic (one copy for every type); only the reading of the answer is.
pub fn fetched_when<T: FromJson + Send + Sync + 'static>(
    path: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> leptos::prelude::Signal<Option<Result<T, String>>> {
    use leptos::prelude::*;
    let raw = fetched_json(Box::new(path));
    // Read again on every get: cheap (a few property reads), and no copy of every type's
    // answer kept beside the JSON.
    Signal::derive(move || {
        raw.with(|r| {
            r.as_ref()
                .map(|r| r.as_ref().map(T::from_json).map_err(Clone::clone))
        })
    })
}

/// The answer as JSON; an answer that arrives after a newer request was made is dropped, so a
/// slow old period never overwrites the one the person picked since.
fn fetched_json(
    path: Box<dyn Fn() -> Option<String> + Send + Sync>,
) -> leptos::prelude::RwSignal<Option<Result<JsValue, String>>, leptos::prelude::LocalStorage> {
    use leptos::prelude::*;
    let out = RwSignal::new_local(None);
    let latest = StoredValue::new(0u32);
    Effect::new(move |_| {
        let Some(p) = path() else { return };
        let ticket = latest.get_value().wrapping_add(1);
        latest.set_value(ticket);
        leptos::task::spawn_local(async move {
            let answer = request_text("GET", &p, None)
                .await
                .and_then(|text| parse::<JsValue>(&text));
            if latest.try_get_value() == Some(ticket) {
                out.set(Some(answer.map_err(|e| e.message)));
            }
        });
    });
    out
}

/// `body`: JSON text (`api::body(…)`, or a `serde_json::Value` on the screens that build one).
pub async fn send<T: FromJson>(
    method: &str,
    path: &str,
    body: &dyn std::fmt::Display,
) -> Result<T, ApiFailure> {
    request(method, path, Some(body.to_string())).await
}

pub async fn post<T: FromJson>(path: &str, body: &dyn std::fmt::Display) -> Result<T, ApiFailure> {
    send("POST", path, body).await
}

pub async fn delete(path: &str) -> Result<(), ApiFailure> {
    request("DELETE", path, None).await
}

pub use api_types::account::{Me, SetupStatus};
pub use api_types::sites::{Members, MyInvitations, Share, ShareInfo, Site, SiteDetail, Sites};
pub use api_types::users::{CreatedUser, NewToken, Tokens, Users};
pub use api_types::Role;
from_json! {
    api_types::account::SetupStatus { needs_setup, logged_in }
    api_types::account::Me { id, email, is_admin }
    api_types::sites::Site { hash_routing, id, kind, name, role, timezone }
    api_types::sites::Sites { sites }
    api_types::sites::ShareInfo { site }
    api_types::sites::Share { enabled, url }
    api_types::sites::SiteDetail { app_key, created_at, first_event_at, hash_routing, hostnames, id, kind, name, query_allow_list, retention_days, role, share, snippet, timezone }
    api_types::sites::Member { email, role, user_id }
    api_types::sites::Invitation { email, expires_at, role }
    api_types::sites::Members { invitations, members }
    api_types::sites::MyInvitation { expires_at, id, invited_by, role, site, site_name }
    api_types::sites::MyInvitations { invitations }
    api_types::users::Token { created_at, expires_at, id, last_used_at, name, prefix, site }
    api_types::users::Tokens { tokens }
    api_types::users::NewToken { expires_at, id, name, prefix, site, token }
    api_types::users::User { created_at, email, id, is_admin, sites }
    api_types::users::Users { users }
    api_types::users::CreatedUser { email, id, invite_expires_at, invite_url, is_admin }
}
from_json_enum! { api_types::Role => api_types::Role::Viewer }
/// Two kinds, read in the overview's bundle (the shell opens an app's screen): a comparison is
/// lighter than `from_json_enum!`'s `parse`; anything but "app" is a web site.
impl FromJson for api_types::apps::SiteKind {
    fn from_json(v: &JsValue) -> Self {
        if v.as_string().as_deref() == Some("app") {
            api_types::apps::SiteKind::App
        } else {
            api_types::apps::SiteKind::Web
        }
    }
}

// The metering screen (instance admins).
pub use api_types::apps::{MeterRow, MeterSource, Metering};
from_json! {
    api_types::apps::MeterRow { site, month, source, received, stored, refused, deleted }
    api_types::apps::Metering { rows }
}
from_json_enum! { api_types::apps::MeterSource => api_types::apps::MeterSource::Events }

pub use api_types::goals::{FunnelStats, Funnels, GoalKind, GoalStats, Goals, Step};
pub use api_types::stats::{Bots, Counted};
from_json! {
    api_types::stats::Counted { value, events }
    api_types::stats::Bots {
        events, visitors, dropped_events, reasons, user_agents, dropped; unread: range
    }
    api_types::goals::Revenue { currency, amount }
    api_types::goals::GoalStat {
        kind, value, visitors, conversions, conversion_rate, revenue; unread: id
    }
    api_types::goals::GoalStats { goals; unread: visitors }
    api_types::goals::Step { kind, value }
    api_types::goals::Funnel { id, name, steps }
    api_types::goals::Funnels { funnels }
    api_types::goals::FunnelStep {
        step, kind, value, visits, conversion_rate, dropoff, dropoff_rate
    }
    api_types::goals::FunnelStats { steps; unread: id, name, range }
    api_types::goals::Goal { id, kind, value }
    api_types::goals::Goals { goals }
}
/// Two kinds: a comparison is lighter in the overview than `from_json_enum!`'s `parse`.
impl FromJson for GoalKind {
    fn from_json(v: &JsValue) -> Self {
        if v.as_string().as_deref() == Some("page") {
            GoalKind::Page
        } else {
            GoalKind::Event
        }
    }
}

api_types! {

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metrics {
    pub value: String,
    pub visitors: i64,
    pub pageviews: i64,
    pub visits: i64,
    pub events: i64,
    pub bounce_rate: f64,
    pub views_per_visit: f64,
    pub visit_duration_s: f64,
    pub engaged_s: f64,
    pub share_of_visitors: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub t: i64,
    pub label: String,
    pub pageviews: i64,
    pub visitors: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub bucket: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub from: String,
    pub to: String,
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    pub range: Range,
    pub totals: Metrics,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub range: Range,
    pub totals: Metrics,
    pub previous: Previous,
    pub series: Series,
    /// Days of the range read from imported history (0 from a Worker without imports).
    pub imported_days: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    pub rows: Vec<Metrics>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LivePage {
    pub value: String,
    pub visitors: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Realtime {
    pub visitors: i64,
    pub pages: Vec<LivePage>,
}

}

pub fn encode(text: &str) -> String {
    js_sys::encode_uri_component(text)
        .as_string()
        .unwrap_or_default()
}

// The record screens (activity, alerts, reports): their pages and rows from `api-types`. The
// period a page carries (`range`) and the alert thresholds are not shown there: read as `()`.
pub use api_types::activity::{ActiveSession, ActiveSessions, ActivityRecord, SummaryRow};
pub use api_types::alerts::AlertEntry;
pub use api_types::reports::{SentReport, SentReports, Subscription};
pub type ActivityPage = api_types::activity::ActivityPage<()>;
pub type ActivitySummary = api_types::activity::ActivitySummary<()>;
pub type AlertsPage = api_types::alerts::AlertsPage<()>;
from_json! {
    crate::api::ActivityPage { records, next_before, range }
    crate::api::ActivitySummary { range, rows }
    crate::api::AlertsPage { alerts, next_before, rules, thresholds }
    api_types::activity::ActiveSessions { window_s, sessions }
    api_types::activity::ActiveSession { session_id, user_id, started, last_seen, records }
    api_types::alerts::AlertEntry {
        id, rule, subject, window_start, window_ms, count, threshold, detail, first_ts, last_ts,
        created_at, emailed_at, description
    }
    api_types::alerts::RuleInfo { rule, description }
    api_types::reports::Subscription { monthly, weekly, member }
    api_types::reports::SentReports { sent }
    api_types::reports::SentReport {
        email, kind, period_from, status, attempts, provider, message_id, error, at
    }
}
from_json_enum! {
    api_types::activity::ActivityType => api_types::activity::ActivityType::Custom,
    api_types::activity::Outcome => api_types::activity::Outcome::Success,
    api_types::alerts::AlertRule => api_types::alerts::AlertRule::default(),
    api_types::reports::ReportKind => api_types::reports::ReportKind::Monthly,
    api_types::reports::SendStatus => api_types::reports::SendStatus::Sending,
}

/// `type` is a keyword: the two rows that carry it are read by hand (still a struct literal,
/// so a field added in `api-types` fails to compile here until it is read).
impl FromJson for ActivityRecord {
    fn from_json(v: &JsValue) -> Self {
        let get = |name: &str| field(v, name);
        ActivityRecord {
            id: FromJson::from_json(&get("id")),
            site_id: FromJson::from_json(&get("site_id")),
            ts: FromJson::from_json(&get("ts")),
            kind: FromJson::from_json(&get("type")),
            user_id: FromJson::from_json(&get("user_id")),
            session_id: FromJson::from_json(&get("session_id")),
            action: FromJson::from_json(&get("action")),
            entity_type: FromJson::from_json(&get("entity_type")),
            entity_id: FromJson::from_json(&get("entity_id")),
            outcome: FromJson::from_json(&get("outcome")),
            status_code: FromJson::from_json(&get("status_code")),
            duration_ms: FromJson::from_json(&get("duration_ms")),
            browser: FromJson::from_json(&get("browser")),
            os: FromJson::from_json(&get("os")),
            device: FromJson::from_json(&get("device")),
            ip_hash: FromJson::from_json(&get("ip_hash")),
            details: FromJson::from_json(&get("details")),
        }
    }
}
impl FromJson for SummaryRow {
    fn from_json(v: &JsValue) -> Self {
        SummaryRow {
            kind: FromJson::from_json(&field(v, "type")),
            outcome: FromJson::from_json(&field(v, "outcome")),
            records: FromJson::from_json(&field(v, "records")),
            users: FromJson::from_json(&field(v, "users")),
        }
    }
}

// The App screen (split off): an app's stats. Read only there, so these readers land in its chunk.
pub use api_types::apps::{AppStats, Cohort, CountedValue, DailyActive};
from_json! {
    api_types::apps::AppStats {
        installs_total, installs_new, active_installs, confirmed_users, dau, mau, sessions,
        active_ms, daily, versions, os, features, errors, dropped, cohorts
    }
    api_types::apps::CountedValue { value, installs, count }
    api_types::apps::DailyActive { day, installs, sessions }
    api_types::apps::Cohort { week, installs, active }
}
