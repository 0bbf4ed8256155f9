//! The audit log: who did what, when and from where — read-only, newest first.

use leptos::prelude::*;
use serde::Deserialize;

use crate::api;
use crate::format::moment;
use crate::state::View;

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct Entry {
    id: i64,
    at: i64,
    site_id: Option<String>,
    actor_email: String,
    action: String,
    target: String,
    outcome: i64,
    country: String,
    client: String,
    ip_hash: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct Page {
    entries: Vec<Entry>,
    next_before: Option<i64>,
}

fn action_label(action: &str) -> String {
    let mut label = action.replace('_', " ");
    if let Some(first) = label.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    label
}

#[component]
pub fn AuditLog(instance_admin: Signal<bool>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let whole = RwSignal::new(false);
    let entries = RwSignal::new(Vec::<Entry>::new());
    let next = RwSignal::new(None::<i64>);
    let failure = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let load = move |before: Option<i64>| {
        let site = view.with_untracked(|v| v.site.clone()).unwrap_or_default();
        let base = if whole.get_untracked() {
            "/api/audit?limit=50".to_string()
        } else {
            format!("/api/sites/{}/audit?limit=50", api::encode(&site))
        };
        let url = match before {
            Some(b) => format!("{base}&before={b}"),
            None => base,
        };
        loading.set(true);
        leptos::task::spawn_local(async move {
            match api::get::<Page>(&url).await {
                Ok(p) => {
                    if before.is_none() {
                        entries.set(p.entries);
                    } else {
                        entries.update(|e| e.extend(p.entries));
                    }
                    next.set(p.next_before);
                    failure.set(None);
                }
                Err(e) => failure.set(Some(e.message)),
            }
            loading.set(false);
        });
    };
    Effect::new(move |_| {
        view.with(|v| v.site.clone());
        whole.get();
        load(None);
    });
    view! {
        <section class="card" id="audit-log">
            <div class="panel-head">
                <h2>"Audit log"</h2>
                <Show when=move || instance_admin.get()>
                    <label class="check"><input type="checkbox" prop:checked=whole on:change=move |ev| whole.set(event_target_checked(&ev))/>
                        " Whole instance (logins, users, tokens)"</label>
                </Show>
            </div>
            <p class="muted">"Every login, export, deletion, settings and role change, with the country, browser and a fingerprint of the address it came from. Nothing can edit or delete it."</p>
            {move || view.with(|v| v.site.clone()).map(|site| {
                let base = format!("/api/sites/{}/compliance", api::encode(&site));
                view! { <p id="compliance">"Compliance report for this site: "
                    <a href=base.clone() target="_blank" rel="noopener">"HTML"</a>" · "
                    <a href=format!("{base}?format=csv") download="">"CSV"</a></p> }
            })}
            {move || failure.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <div class="table-scroll">
                <table class="breakdown audit">
                    <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Target"</th><th class="num">"Result"</th><th>"From"</th></tr></thead>
                    <tbody>
                        {move || entries.get().into_iter().map(|e| {
                            let ok = (200..300).contains(&e.outcome);
                            let from = [e.country.clone(), e.client.clone(), e.ip_hash.clone()]
                                .into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ");
                            let target = match (&e.site_id, whole.get()) {
                                (Some(site), true) if !e.target.is_empty() => format!("{site}: {}", e.target),
                                (Some(site), true) => site.clone(),
                                _ => e.target.clone(),
                            };
                            view! {
                                <tr data-action=e.action.clone() data-id=e.id.to_string()>
                                    <td>{moment(e.at)}</td>
                                    <td>{e.actor_email}</td>
                                    <td>{action_label(&e.action)}</td>
                                    <td class="path">{target}</td>
                                    <td class="num" class:error=!ok>{if ok { "ok".to_string() } else { e.outcome.to_string() }}</td>
                                    <td class="muted">{from}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {move || (entries.with(Vec::is_empty) && !loading.get()).then(|| view! { <p class="muted empty-state">"Nothing recorded yet."</p> })}
            {move || next.get().map(|b| view! { <button on:click=move |_| load(Some(b))>"Older entries"</button> })}
        </section>
    }
}
