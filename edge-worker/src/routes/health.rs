//! `GET /health`: is D1 answering, and is a buffer Durable Object answering.

use worker::{Env, Request};

use crate::db::d1;
use crate::http::{json, now_ms, RouteResult};

pub async fn health(_req: Request, env: &Env) -> RouteResult {
    let started = now_ms();
    let d1_check = match d1(env)?
        .prepare("SELECT COUNT(*) AS n FROM sites")
        .first::<f64>(Some("n"))
        .await
    {
        Ok(n) => serde_json::json!({ "ok": true, "sites": n.unwrap_or(0.0) as i64 }),
        Err(e) => serde_json::json!({ "ok": false, "error": e.to_string() }),
    };
    let buffer_check = match buffer_status(env).await {
        Ok(status) => serde_json::json!({ "ok": true, "status": status }),
        Err(e) => serde_json::json!({ "ok": false, "error": e.to_string() }),
    };
    let ok = d1_check["ok"] == true && buffer_check["ok"] == true;
    json(
        if ok { 200 } else { 503 },
        &serde_json::json!({
            "ok": ok,
            "d1": d1_check,
            "buffer": buffer_check,
            "took_ms": now_ms() - started,
        }),
    )
}

async fn buffer_status(env: &Env) -> worker::Result<serde_json::Value> {
    let stub = env
        .durable_object("BUFFER")?
        .id_from_name("__health")?
        .get_stub()?;
    stub.fetch_with_str("https://buffer/status")
        .await?
        .json()
        .await
}
