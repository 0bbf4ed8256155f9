//! Talking to the Worker's JSON API: same origin, the session cookie, or a public link's
//! token in `X-Vigia-Share` when the dashboard was opened from one.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
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

#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

/// One request, answered as text; not generic, so every response type shares this code and
/// only the parsing below is instantiated per type.
async fn request_text(method: &str, path: &str, body: Option<String>) -> Result<String, ApiFailure> {
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
        let message = serde_json::from_str::<ErrorBody>(&text)
            .map(|e| e.message)
            .unwrap_or_else(|_| format!("The server answered {}.", resp.status()));
        return Err(ApiFailure {
            status: resp.status(),
            message,
        });
    }
    Ok(text)
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiFailure> {
    serde_json::from_str(text).map_err(|e| ApiFailure {
        status: 200,
        message: format!("Unexpected answer from the server: {e}"),
    })
}

async fn request<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiFailure> {
    parse(&request_text(method, path, body).await?)
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    request("GET", path, None).await
}

/// What `path()` answers, read again whenever a signal `path` reads changes. Lighter than a
/// `LocalResource` (each of those adds ~6 KB of future plumbing to the bundle); an answer that
/// arrives after a newer request was made is dropped, so a slow old period never overwrites
/// the one the person picked since.
pub fn fetched<T>(
    path: impl Fn() -> String + 'static,
) -> leptos::prelude::RwSignal<Option<Result<T, String>>>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    fetched_when(move || Some(path()))
}

/// [`fetched`], but only while `path()` names something (`None` leaves the last answer).
pub fn fetched_when<T>(
    path: impl Fn() -> Option<String> + 'static,
) -> leptos::prelude::RwSignal<Option<Result<T, String>>>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    use leptos::prelude::*;
    let out = RwSignal::new(None);
    let latest = StoredValue::new(0u32);
    Effect::new(move |_| {
        let Some(p) = path() else { return };
        let ticket = latest.get_value().wrapping_add(1);
        latest.set_value(ticket);
        leptos::task::spawn_local(async move {
            let text = request_text("GET", &p, None).await;
            if latest.try_get_value() == Some(ticket) {
                out.set(Some(text.and_then(|t| parse::<T>(&t)).map_err(|e| e.message)));
            }
        });
    });
    out
}

pub async fn send<B: Serialize, T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    request(
        method,
        path,
        Some(serde_json::to_string(body).unwrap_or_default()),
    )
    .await
}

pub async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    send("POST", path, body).await
}

pub async fn delete(path: &str) -> Result<serde_json::Value, ApiFailure> {
    request("DELETE", path, None).await
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SetupStatus {
    pub needs_setup: bool,
    pub logged_in: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub role: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Sites {
    pub sites: Vec<Site>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct Metrics {
    #[serde(default)]
    pub value: String,
    pub visitors: i64,
    pub pageviews: i64,
    pub visits: i64,
    #[serde(default)]
    pub events: i64,
    pub bounce_rate: f64,
    pub views_per_visit: f64,
    pub visit_duration_s: f64,
    pub engaged_s: f64,
    #[serde(default)]
    pub share_of_visitors: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Point {
    pub t: i64,
    pub label: String,
    pub pageviews: i64,
    pub visitors: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Series {
    pub bucket: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Range {
    pub from: String,
    pub to: String,
    pub timezone: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Previous {
    pub range: Range,
    pub totals: Metrics,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Overview {
    pub range: Range,
    pub totals: Metrics,
    pub previous: Previous,
    pub series: Series,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Breakdown {
    pub rows: Vec<Metrics>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LivePage {
    pub value: String,
    pub visitors: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Realtime {
    pub visitors: i64,
    pub pages: Vec<LivePage>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct GoalStat {
    pub id: i64,
    pub kind: String,
    pub value: String,
    pub visitors: i64,
    pub conversions: i64,
    pub conversion_rate: f64,
    /// Revenue per currency: `{currency, amount}`, the amount an exact decimal string. Read as
    /// JSON values, whose parser the bundle has already (a struct of its own costs ~0.5 KB).
    #[serde(default)]
    pub revenue: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct GoalStats {
    pub goals: Vec<GoalStat>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Funnel {
    pub id: i64,
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Funnels {
    pub funnels: Vec<Funnel>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FunnelStep {
    pub step: i64,
    pub kind: String,
    pub value: String,
    pub visits: i64,
    pub conversion_rate: f64,
    pub dropoff: i64,
    pub dropoff_rate: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FunnelStats {
    pub name: String,
    pub steps: Vec<FunnelStep>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Share {
    pub enabled: bool,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SiteDetail {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub hostnames: Vec<String>,
    pub query_allow_list: String,
    #[serde(default)]
    pub retention_days: i64,
    #[serde(default)]
    pub hash_routing: bool,
    pub role: String,
    pub snippet: String,
    pub first_event_at: Option<i64>,
    pub share: Share,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Goal {
    pub id: i64,
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Goals {
    pub goals: Vec<Goal>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Members {
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: f64,
    pub last_used_at: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Tokens {
    pub tokens: Vec<Token>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NewToken {
    pub token: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
    pub sites: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Users {
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ShareInfo {
    pub site: Option<Site>,
}

pub fn encode(text: &str) -> String {
    js_sys::encode_uri_component(text)
        .as_string()
        .unwrap_or_default()
}
