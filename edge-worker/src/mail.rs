//! Sends mail through the provider `VIGIA_EMAIL_PROVIDER` names: Cloudflare's `send_email`
//! binding (`EMAIL`) or an HTTP email API taking Resend's JSON (`VIGIA_EMAIL_API_URL`, secret
//! `VIGIA_EMAIL_API_KEY`). The message itself is built in `analytics_core`.

use analytics_core::accounts::membership::{notice_mail, Notice};
use analytics_core::util::email::{http_api_body, EmailMessage, Provider};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::config::settings;

/// The configured provider, `None` when mail is off, or why the configuration is wrong.
pub fn provider(env: &Env) -> Result<Option<Provider>, String> {
    settings(env).email_provider.clone()
}

/// The sender every mail carries (`VIGIA_EMAIL_FROM`).
pub fn sender(env: &Env) -> String {
    settings(env).email_from.clone()
}

/// Sends one message; answers the provider's message id, or the reason it failed. A recipient
/// that is not a strict address (an account stored before emails were checked strictly) is
/// refused here too, so no stored value can add a header or a recipient.
pub async fn send(env: &Env, provider: Provider, m: &EmailMessage) -> Result<String, String> {
    analytics_core::util::email::check_address(&m.to)
        .map_err(|_| "the recipient is not a valid address".to_string())?;
    // Every subject, whatever made it, is one header line.
    let m = &EmailMessage {
        subject: analytics_core::util::email::header_text(&m.subject),
        ..m.clone()
    };
    match provider {
        Provider::Http => send_http(env, m).await,
        Provider::Cloudflare => send_binding(env, m).await,
    }
}

/// Tells an account's owner about a change to their account (password, new API token), when
/// mail is on. A failure is logged, not raised: the change has happened.
pub async fn notify_account(env: &Env, req: &Request, to: &str, notice: Notice<'_>) {
    let provider = match provider(env) {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => {
            worker::console_error!("account notice not sent: {e}");
            return;
        }
    };
    let base = crate::http::public_base(env, Some(req));
    let message = notice_mail(&sender(env), to, &base, notice, crate::http::now_ms());
    if let Err(e) = send(env, provider, &message).await {
        worker::console_error!("account notice not sent: {e}");
    }
}

async fn send_http(env: &Env, m: &EmailMessage) -> Result<String, String> {
    let settings = settings(env);
    let url = settings.email_api_url.clone();
    let key = settings
        .email_api_key
        .clone()
        .ok_or("VIGIA_EMAIL_API_KEY is not set (wrangler secret put VIGIA_EMAIL_API_KEY)")?;
    let body = post_json(&url, &http_api_body(m), Some(&key)).await?;
    Ok(serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(String::from))
        .unwrap_or_default())
}

/// POSTs JSON (with a bearer key when given); answers the body of a 2xx, or why it failed.
pub async fn post_json(
    url: &str,
    body: &impl serde::Serialize,
    bearer: Option<&str>,
) -> Result<String, String> {
    let body = serde_json::to_string(body).map_err(|e| e.to_string())?;
    let fail = |e: worker::Error| e.to_string();
    let headers = Headers::new();
    if let Some(key) = bearer {
        headers
            .set("Authorization", &format!("Bearer {key}"))
            .map_err(fail)?;
    }
    headers
        .set("Content-Type", "application/json")
        .map_err(fail)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(url, &init).map_err(fail)?;
    let mut answer = Fetch::Request(req).send().await.map_err(fail)?;
    let status = answer.status_code();
    let text = answer.text().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(format!(
            "{url} answered {status}: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
    Ok(text)
}

async fn send_binding(env: &Env, m: &EmailMessage) -> Result<String, String> {
    use js_sys::{JsString, Object};
    use worker::SendEmailBuilder;
    let binding = env
        .send_email("EMAIL")
        .map_err(|e| format!("the EMAIL send_email binding is missing: {e}"))?;
    let builder = SendEmailBuilder::new(&m.from, &m.to, &m.subject);
    builder.set_text(&m.text);
    builder.set_html(&m.html);
    let headers = js_sys::Object::new();
    for (k, v) in &m.headers {
        js_sys::Reflect::set(&headers, &k.into(), &v.into()).map_err(|e| format!("{e:?}"))?;
    }
    let headers: &Object<JsString> = wasm_bindgen::JsCast::unchecked_ref(&headers);
    builder.set_headers(headers);
    binding
        .send_with_builder(&builder)
        .await
        .map(|r| r.message_id())
        .map_err(|e| format!("send_email refused the message: {e:?}"))
}
