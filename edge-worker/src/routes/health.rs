//! `GET /health`: is D1 answering, and is a buffer Durable Object answering.

use analytics_core::store::accounts::{count_sites, CountRow};
use api_types::account::{BufferAnswer, BufferStatus, Check, D1Answer, Health};
use worker::{Env, Request};

use crate::db::{self, d1};
use crate::http::{json, now_ms, RouteResult};

/// A check from what a dependency answered, or its error.
fn check<T>(answer: worker::Result<T>) -> Check<T> {
    match answer {
        Ok(a) => Check {
            error: None,
            ok: true,
            answer: Some(a),
        },
        Err(e) => Check {
            error: Some(e.to_string()),
            ok: false,
            answer: None,
        },
    }
}

pub async fn health(_req: Request, env: &Env) -> RouteResult {
    let started = now_ms();
    let d1_check = check(d1_sites(env).await.map(|sites| D1Answer { sites }));
    let buffer_check = check(
        buffer_status(env)
            .await
            .map(|status| BufferAnswer { status }),
    );
    let ok = d1_check.ok && buffer_check.ok;
    json(
        if ok { 200 } else { 503 },
        &Health {
            buffer: buffer_check,
            d1: d1_check,
            ok,
            took_ms: now_ms() - started,
        },
    )
}

async fn d1_sites(env: &Env) -> worker::Result<i64> {
    let row: Option<CountRow> = db::first(&d1(env)?, &count_sites()).await?;
    Ok(row.map_or(0, |r| r.n))
}

async fn buffer_status(env: &Env) -> worker::Result<BufferStatus> {
    let stub = env
        .durable_object("BUFFER")?
        .id_from_name("__health")?
        .get_stub()?;
    stub.fetch_with_str("https://buffer/status")
        .await?
        .json()
        .await
}
