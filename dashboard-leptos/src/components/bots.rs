//! The Bots screen: what was flagged as a bot in the period (stored, never counted in the
//! stats), why, which user agents sent it, and what was dropped on purpose. One request
//! (`GET /api/stats/bots`); split off the overview's wasm like the other rare screens.

use leptos::prelude::*;

use crate::api::{self, Bots as Answer, Counted};
use crate::components::overview::PeriodBar;
use crate::state::View;

/// What a stored reason (or drop reason) means, in words.
fn reason_label(reason: &str) -> String {
    match reason {
        "verified_bot" => "Verified bot (Cloudflare)",
        "empty_user_agent" => "No user agent",
        "known_crawler" => "Known crawler (crawler list)",
        "crawler_like" => "Calls itself a bot or crawler",
        "automation" => "Headless browser or automation",
        "no_fetch_metadata" => "Not sent by a page (no Origin or Sec-Fetch headers)",
        "no_accept_language" => "No Accept-Language header",
        "hosting_network" => "Hosting or datacenter network",
        "unrecorded" => "Flagged before reasons were recorded",
        "referrer_spam" => "Referrer spam",
        other => return other.to_string(),
    }
    .to_string()
}

fn rows(list: &[Counted], label: fn(&str) -> String) -> Vec<(String, i64)> {
    list.iter().map(|r| (label(&r.value), r.events)).collect()
}

fn table(
    id: &'static str,
    title: &'static str,
    head: &'static str,
    rows: Vec<(String, i64)>,
) -> impl IntoView {
    let empty = rows.is_empty();
    view! {
        <section class="card" aria-labelledby=format!("{id}-title")>
        <h2 id=format!("{id}-title")>{title}</h2>
        {if empty {
            view! { <p class="muted empty-state">"None in this period."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll" tabindex="0">
                    <table class="breakdown" id=id>
                        <thead><tr><th scope="col">{head}</th><th scope="col" class="num">"Events"</th></tr></thead>
                        <tbody>{rows.into_iter().map(|(v, n)| view! {
                            <tr><td data-key="value">{v}</td><td data-key="events" class="num">{n}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                </div>
            }.into_any()
        }}
        </section>
    }
}

#[component]
pub fn Bots() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let answer = api::fetched::<Answer>(move || {
        format!("/api/stats/bots?{}", view.with(|v| v.stats_query()))
    });
    view! {
        <section class="card" id="bots">
            <h2>"Bots"</h2>
            <p class="muted">"Requests from crawlers, scripts and automated browsers are stored and flagged, and never counted in the dashboard's numbers. This is what was flagged in the period, and why."</p>
            <PeriodBar/>
            {move || match answer.get() {
                None => view! { <p class="muted" role="status">"Loading…"</p> }.into_any(),
                Some(Err(m)) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
                Some(Ok(a)) => view! {
                    <p id="bot-summary" role="status">
                        "Bot events: "<strong id="bot-events">{a.events}</strong>
                        " · bot visitors (not counted): "<strong>{a.visitors}</strong>
                        " · events dropped on purpose: "<strong id="dropped-events">{a.dropped_events}</strong>
                    </p>
                }.into_any(),
            }}
        </section>
        {move || answer.get().and_then(Result::ok).map(|a| view! {
                    {table("bot-reasons", "Why they were flagged", "Reason", rows(&a.reasons, reason_label))}
                    {table("bot-user-agents", "User agents", "Family", rows(&a.user_agents, |s| if s.is_empty() { "Unknown".into() } else { s.to_string() }))}
                    {table("dropped", "Dropped on purpose", "Reason", rows(&a.dropped, reason_label))}
        })}
    }
}
