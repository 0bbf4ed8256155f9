//! HTTP plumbing shared by every route: the error type routes return, JSON answers, request
//! ids, randomness and the clock.

use analytics_core::ApiError;
use serde::Serialize;
use wasm_bindgen::JsCast;
use worker::{Date, Env, Headers, Request, Response};

/// What a route can fail with: a client error (4xx JSON) or an internal one (logged, 500 JSON).
pub enum Failure {
    Api(ApiError),
    Internal(worker::Error),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

impl From<worker::Error> for Failure {
    fn from(e: worker::Error) -> Self {
        Failure::Internal(e)
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Failure::Internal(worker::Error::RustError(e.to_string()))
    }
}

pub type RouteResult = Result<Response, Failure>;

/// On every answer of the Worker: no content sniffing (a JSON answer is never run as script or
/// rendered as HTML) and HTTPS only for a year (browsers ignore it over plain http, so wrangler
/// dev is unaffected). The dashboard's static files get the same from `scripts/assets.mjs`.
pub const SECURITY_HEADERS: [(&str, &str); 2] = [
    ("X-Content-Type-Options", "nosniff"),
    ("Strict-Transport-Security", "max-age=31536000"),
];

/// The client's address as the edge (or a trusted proxy) reports it; never stored, only
/// fingerprinted.
pub fn client_address(req: &Request) -> Option<std::net::IpAddr> {
    let (cf, xff, real) = (
        header(req, "CF-Connecting-IP"),
        header(req, "X-Forwarded-For"),
        header(req, "X-Real-IP"),
    );
    analytics_core::enrich::ip::client_ip(&analytics_core::enrich::ip::IpHeaders {
        cf_connecting_ip: cf.as_deref(),
        x_forwarded_for: xff.as_deref(),
        x_real_ip: real.as_deref(),
    })
}

pub fn json<T: Serialize>(status: u16, body: &T) -> RouteResult {
    Ok(Response::from_json(body)?.with_status(status))
}

pub fn error_response(error: &ApiError) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json; charset=utf-8")?;
    if let Some(seconds) = error.retry_after_s {
        headers.set("Retry-After", &seconds.to_string())?;
    }
    Ok(Response::ok(error.to_json())?
        .with_status(error.status)
        .with_headers(headers))
}

pub fn internal_error_response(request_id: &str) -> worker::Result<Response> {
    error_response(&ApiError::new(
        500,
        "internal",
        format!("something went wrong on our side; quote request id {request_id}"),
    ))
}

/// Cryptographically random bytes from the runtime's WebCrypto.
pub fn random_bytes<const N: usize>() -> worker::Result<[u8; N]> {
    let crypto: web_sys::Crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .map_err(worker::Error::from)?
        .unchecked_into();
    let mut bytes = [0u8; N];
    crypto
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(worker::Error::from)?;
    Ok(bytes)
}

pub fn random_hex<const N: usize>() -> worker::Result<String> {
    Ok(analytics_core::util::hex::encode(&random_bytes::<N>()?))
}

pub fn now_ms() -> i64 {
    Date::now().as_millis() as i64
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// Reads a JSON body no larger than `max_bytes` into `T`, as a 4xx on any problem.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    req: &mut Request,
    max_bytes: usize,
) -> Result<T, Failure> {
    let body = read_body(req, max_bytes).await?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_json",
            format!("body is not valid JSON for this route: {e}"),
        )
        .into()
    })
}

/// Reads the body, refusing early (by Content-Length) and late (by actual size) when too big.
pub async fn read_body(req: &mut Request, max_bytes: usize) -> Result<Vec<u8>, Failure> {
    let too_big = |n: usize| {
        ApiError::new(
            413,
            "payload_too_large",
            format!("request body is {n} bytes; the limit is {max_bytes}"),
        )
    };
    if let Some(len) = header(req, "Content-Length").and_then(|v| v.parse::<usize>().ok()) {
        if len > max_bytes {
            return Err(too_big(len).into());
        }
    }
    let body = req
        .bytes()
        .await
        .map_err(|_| ApiError::bad_request("bad_body", "request body could not be read"))?;
    if body.len() > max_bytes {
        return Err(too_big(body.len()).into());
    }
    Ok(body)
}

/// State-changing dashboard routes refuse requests another site's page sent (CSRF). Browsers
/// always send Origin on cross-site POSTs; scripts without a browser send none and carry no
/// ambient cookie, so they are let through to the usual auth check.
pub fn check_same_origin(req: &Request) -> Result<(), Failure> {
    if header(req, "Sec-Fetch-Site").as_deref() == Some("cross-site") {
        return Err(ApiError::forbidden("cross-site request refused").into());
    }
    let Some(origin) = header(req, "Origin") else {
        return Ok(());
    };
    let url = req.url()?;
    let own = url.origin().ascii_serialization();
    if origin == own {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("cross-site request from {origin} refused")).into())
    }
}

/// The query string's pairs, repeated keys kept in order.
pub fn query_pairs(req: &Request) -> Result<Vec<(String, String)>, Failure> {
    Ok(req
        .url()?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

pub fn query_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A CSV attachment. `filename` is built from checked ids and dates only.
pub fn csv_response(filename: &str, body: String) -> RouteResult {
    let mut resp = Response::ok(body)?;
    let h = resp.headers_mut();
    h.set("Content-Type", "text/csv; charset=utf-8")?;
    h.set(
        "Content-Disposition",
        &format!("attachment; filename=\"{filename}\""),
    )?;
    Ok(resp)
}

/// A path parameter that must be a positive integer id.
pub fn id_param(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found(format!("no such id {text:?}")))
}

/// Where people reach this instance, for links in snippets, invitations and mail:
/// `VIGIA_PUBLIC_URL`, else the request's own origin, else (cron, no request) wrangler dev's.
pub fn public_base(env: &Env, req: Option<&Request>) -> String {
    if let Some(v) = &crate::config::settings(env).public_url {
        return v.clone();
    }
    req.and_then(|r| r.url().ok())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| "http://127.0.0.1:8787".into())
}

/// A static HTML page that may not run scripts or load anything, even if escaping ever
/// failed; `frames` lets the dashboard show it in a frame.
pub fn static_html(html: String, frames: bool) -> RouteResult {
    let mut resp = Response::from_html(html)?;
    resp.headers_mut().set(
        "Content-Security-Policy",
        if frames {
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'self'"
        } else {
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        },
    )?;
    Ok(resp)
}
