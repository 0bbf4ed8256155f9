//! Talking to the Worker's JSON API (same origin, cookie auth).

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

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

async fn request<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiFailure> {
    let network = |_| ApiFailure {
        status: 0,
        message: "Vigia's server could not be reached. Check your connection and try again.".into(),
    };
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = body {
        let headers = web_sys::Headers::new().map_err(network)?;
        headers
            .set("Content-Type", "application/json")
            .map_err(network)?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
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
    serde_json::from_str(&text).map_err(|e| ApiFailure {
        status: resp.status(),
        message: format!("Unexpected answer from the server: {e}"),
    })
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    request("GET", path, None).await
}

pub async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    request(
        "POST",
        path,
        Some(serde_json::to_string(body).unwrap_or_default()),
    )
    .await
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SetupStatus {
    pub needs_setup: bool,
    pub logged_in: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Sites {
    pub sites: Vec<Site>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct Totals {
    pub pageviews: i64,
    pub visitors: i64,
    pub visits: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Point {
    pub t: i64,
    pub pageviews: i64,
    pub visitors: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Series {
    pub bucket_ms: i64,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PageRow {
    pub path: String,
    pub pageviews: i64,
    pub visitors: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Pages {
    pub pages: Vec<PageRow>,
}

/// Everything the overview shows, fetched together.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub totals: Totals,
    pub series: Series,
    pub pages: Vec<PageRow>,
}

pub async fn overview(site: &str, from: &str, to: &str) -> Result<Overview, ApiFailure> {
    let q = format!("site={}&from={from}&to={to}", encode(site));
    let totals = get::<Totals>(&format!("/api/stats/totals?{q}")).await?;
    let series = get::<Series>(&format!("/api/stats/timeseries?{q}")).await?;
    let pages = get::<Pages>(&format!("/api/stats/pages?{q}&limit=10")).await?;
    Ok(Overview {
        totals,
        series,
        pages: pages.pages,
    })
}

pub fn encode(text: &str) -> String {
    js_sys::encode_uri_component(text)
        .as_string()
        .unwrap_or_default()
}
