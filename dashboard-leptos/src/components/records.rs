//! Record views: server-side activity (search with filters, per-entity trail, active
//! sessions, summary), suspicious-activity alerts, and email reports (choice and preview).
//! Their rows are shown straight from the API's JSON through one table component, so each new
//! view costs columns, not code.

use leptos::prelude::*;
use serde_json::Value;

use crate::api;
use crate::components::overview::PeriodBar;
use crate::components::status_line;
use crate::format::moment;
use crate::state::View;

/// How a column shows its value.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Text,
    /// `snake_case` as words: "site_update" → "Site update".
    Label,
    /// An HTTP status: "ok" for 2xx, else the code.
    Outcome,
    /// Where an audit entry came from: country · browser and OS · address fingerprint.
    Origin,
    /// UTC milliseconds, shown in the reader's zone.
    Time,
    /// `entity_type` with `entity_id`: a button that opens the entity's trail.
    Entity,
}

pub type Columns = &'static [(&'static str, &'static str, Kind)];

fn cell(row: &Value, key: &str, kind: Kind) -> String {
    let v = &row[key];
    match (kind, v) {
        (Kind::Time, Value::Number(n)) => moment(n.as_f64().unwrap_or_default() as i64),
        (Kind::Label, Value::String(s)) => {
            let mut label = s.replace('_', " ");
            if let Some(first) = label.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            label
        }
        (Kind::Outcome, Value::Number(n))
            if (200.0..300.0).contains(&n.as_f64().unwrap_or(0.0)) =>
        {
            "ok".into()
        }
        (Kind::Origin, _) => ["country", "client", "ip_hash"]
            .iter()
            .filter_map(|k| row[*k].as_str().filter(|s| !s.is_empty()))
            .collect::<Vec<_>>()
            .join(" · "),
        (Kind::Entity, _) => {
            let id = row["entity_id"].as_str().unwrap_or_default();
            if id.is_empty() {
                String::new()
            } else {
                format!("{} {id}", v.as_str().unwrap_or_default())
            }
        }
        // D1 hands every number over as a float; counts read as whole numbers.
        (_, Value::Number(n)) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 => (x as i64).to_string(),
            _ => n.to_string(),
        },
        (_, Value::String(s)) => s.clone(),
        (_, Value::Null) => String::new(),
        (_, other) => other.to_string(),
    }
}

/// A table of `list` rows from `url` (re-read when it changes); "Older" appends the page
/// after `next_before`. `trail` receives (entity type, id) when an entity is clicked.
#[component]
pub fn Records(
    id: &'static str,
    url: Signal<String>,
    list: &'static str,
    columns: Columns,
    #[prop(optional)] trail: Option<Callback<(String, String)>>,
) -> impl IntoView {
    let rows = RwSignal::new(Vec::<Value>::new());
    let next = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<String>);
    let load = move |before: Option<String>| {
        let base = url.get_untracked();
        let path = match &before {
            Some(b) => format!("{base}&before={}", api::encode(b)),
            None => base,
        };
        leptos::task::spawn_local(async move {
            match api::get::<Value>(&path).await {
                Ok(mut page) => {
                    let found = page[list]
                        .as_array_mut()
                        .map(std::mem::take)
                        .unwrap_or_default();
                    if before.is_some() {
                        rows.update(|r| r.extend(found));
                    } else {
                        rows.set(found);
                    }
                    next.set(match &page["next_before"] {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    });
                    failure.set(None);
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    Effect::new(move |_| {
        url.track();
        load(None);
    });
    view! {
        {move || failure.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        // Focusable, so a keyboard can scroll a table wider than the screen.
        <div class="table-scroll" tabindex="0">
            <table class="breakdown audit" id=id>
                <thead><tr>{columns.iter().map(|(_, label, _)| view! { <th>{*label}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|row| {
                        // What the row is (an audit action, an activity type, a rule), for styling and tests.
                        let what = ["action", "type", "rule"].iter().find_map(|k| row[*k].as_str().filter(|s| !s.is_empty())).unwrap_or_default().to_string();
                        view! { <tr data-action=what>{columns.iter().map(|(key, _, kind)| {
                            let text = cell(&row, key, *kind);
                            match (kind, trail) {
                                (Kind::Entity, Some(open)) if !text.is_empty() => {
                                    let pair = (row["entity_type"].as_str().unwrap_or_default().to_string(),
                                        row["entity_id"].as_str().unwrap_or_default().to_string());
                                    view! { <td><button class="link trail" on:click=move |_| open.run(pair.clone())>{text}</button></td> }.into_any()
                                }
                                _ => {
                                    let failed = *kind == Kind::Outcome && text != "ok";
                                    view! { <td data-key=*key class:error=failed>{text}</td> }.into_any()
                                }
                            }
                        }).collect_view()}</tr> }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {move || rows.with(Vec::is_empty).then(|| view! { <p class="muted empty-state">"Nothing here."</p> })}
        {move || next.get().map(|b| view! { <button on:click=move |_| load(Some(b.clone()))>"Older"</button> })}
    }
}

fn site_path(view: RwSignal<View>, rest: &str) -> String {
    let site = view.with(|v| v.site.clone()).unwrap_or_default();
    format!("/api/sites/{}/{rest}", api::encode(&site))
}

const SEARCH_FIELDS: [(&str, &str); 6] = [
    ("user_id", "User"),
    ("session_id", "Session"),
    ("type", "Type"),
    ("entity_type", "Entity type"),
    ("entity_id", "Entity id"),
    ("outcome", "Outcome"),
];

/// The activity a site's backend reported.
#[component]
pub fn Activity() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let fields: [RwSignal<String>; 6] = std::array::from_fn(|_| RwSignal::new(String::new()));
    let applied = RwSignal::new(String::new());
    let search = move || {
        let mut q = String::new();
        for ((name, _), value) in SEARCH_FIELDS.iter().zip(fields) {
            let v = value.get_untracked();
            if !v.trim().is_empty() {
                q.push_str(&format!("&{name}={}", api::encode(v.trim())));
            }
        }
        applied.set(q);
    };
    let range = move || {
        view.with(|v| match v.period.as_str() {
            "custom" => format!("period=custom&from={}&to={}", v.from, v.to),
            p => format!("period={p}"),
        })
    };
    let records = Signal::derive(move || {
        format!(
            "{}?{}&limit=50{}",
            site_path(view, "activity"),
            range(),
            applied.get()
        )
    });
    let csv = move || {
        format!(
            "{}?{}&format=csv{}",
            site_path(view, "activity"),
            range(),
            applied.get()
        )
    };
    let summary =
        Signal::derive(move || format!("{}?{}", site_path(view, "activity/summary"), range()));
    let sessions = Signal::derive(move || format!("{}?", site_path(view, "activity/sessions")));
    let trail = Callback::new(move |(kind, id): (String, String)| {
        for (i, f) in fields.iter().enumerate() {
            f.set(match i {
                3 => kind.clone(),
                4 => id.clone(),
                _ => String::new(),
            });
        }
        search();
    });
    view! {
        <section class="card" id="activity">
            <h2>"Activity"</h2>
            <p class="muted">"What your backend reported through the activity API. Select an entity to see its whole trail."</p>
            <PeriodBar/>
            <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); search(); }>
                {SEARCH_FIELDS.iter().zip(fields).map(|((name, label), value)| view! {
                    <label>{*label}<input name=*name bind:value=value/></label>
                }).collect_view()}
                <button type="submit" class="primary">"Search"</button>
            </form>
            <p><a class="csv" href=csv download="">"Download these records as CSV"</a></p>
            <Records id="activity-records" url=records list="records" trail=trail columns=&[
                ("ts", "When", Kind::Time), ("type", "Type", Kind::Text), ("user_id", "User", Kind::Text),
                ("session_id", "Session", Kind::Text), ("action", "Action", Kind::Text),
                ("entity_type", "Entity", Kind::Entity), ("outcome", "Outcome", Kind::Text),
                ("status_code", "Status", Kind::Text), ("browser", "Browser", Kind::Text),
                ("ip_hash", "Address fingerprint", Kind::Text),
            ]/>
        </section>
        <section class="card"><h2>"Active sessions"</h2>
            <Records id="activity-sessions" url=sessions list="sessions" columns=&[
                ("session_id", "Session", Kind::Text), ("user_id", "User", Kind::Text),
                ("started", "Started", Kind::Time), ("last_seen", "Last seen", Kind::Time), ("records", "Records", Kind::Text),
            ]/>
        </section>
        <section class="card"><h2>"Summary"</h2>
            <Records id="activity-summary" url=summary list="rows" columns=&[
                ("type", "Type", Kind::Text), ("outcome", "Outcome", Kind::Text),
                ("records", "Records", Kind::Text), ("users", "Users", Kind::Text),
            ]/>
        </section>
    }
}

/// What the suspicious-activity rules found.
#[component]
pub fn Alerts() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let url = Signal::derive(move || format!("{}?limit=50", site_path(view, "alerts")));
    view! {
        <section class="card" id="alerts">
            <h2>"Suspicious activity"</h2>
            <p class="muted">"Failed logins, error rates, bot and rate-limit bursts, bulk downloads and access outside working hours, by the thresholds configured for this instance. Owners and admins get each new alert by mail once."</p>
            <Records id="alert-list" url=url list="alerts" columns=&[
                ("window_start", "Window", Kind::Time), ("description", "Rule", Kind::Text),
                ("subject", "Who", Kind::Text), ("detail", "What", Kind::Text), ("last_ts", "Last seen", Kind::Time),
            ]/>
        </section>
    }
}

/// The caller's report choice, a preview of any month's report, and what was sent.
#[component]
pub fn Reports(role: Signal<crate::api::Role>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let monthly = RwSignal::new(false);
    let weekly = RwSignal::new(false);
    let status = RwSignal::new(None::<Result<String, String>>);
    let path = site_path(view, "reports/subscription");
    let read = path.clone();
    leptos::task::spawn_local(async move {
        if let Ok(v) = api::get::<Value>(&read).await {
            monthly.set(v["monthly"] == true);
            weekly.set(v["weekly"] == true);
        }
    });
    let save = move |_| {
        let path = path.clone();
        let body = serde_json::json!({ "monthly": monthly.get_untracked(), "weekly": weekly.get_untracked() });
        leptos::task::spawn_local(async move {
            status.set(Some(match api::send::<Value>("PUT", &path, &body).await {
                Ok(_) => Ok("Saved.".into()),
                Err(e) => Err(e.message),
            }));
        });
    };
    let month = RwSignal::new(String::new());
    let preview = move || {
        let m = month.get();
        let q = if m.is_empty() {
            String::new()
        } else {
            format!("?month={m}")
        };
        format!("{}{q}", site_path(view, "reports/preview"))
    };
    let sent = Signal::derive(move || format!("{}?", site_path(view, "reports/sent")));
    view! {
        <section class="card" id="reports">
            <h2>"Email reports"</h2>
            <form class="inline-form" on:submit=|ev| ev.prevent_default()>
                <label class="check"><input type="checkbox" name="monthly" bind:checked=monthly/>" Monthly report (on the 1st)"</label>
                <label class="check"><input type="checkbox" name="weekly" bind:checked=weekly/>" Weekly report (on Mondays)"</label>
                <button type="button" class="primary" on:click=save>"Save"</button>
            </form>
            {status_line(status)}
            <label>"Preview a month "<input type="month" name="month" bind:value=month/></label>
            <iframe id="report-preview" title="Report preview" src=preview sandbox=""></iframe>
        </section>
        <Show when=move || { role.get() >= crate::api::Role::Admin }>
            <section class="card"><h2>"Sent"</h2>
                <Records id="reports-sent" url=sent list="sent" columns=&[
                    ("at", "When", Kind::Time), ("email", "To", Kind::Text), ("kind", "Report", Kind::Text),
                    ("period_from", "Period from", Kind::Text), ("status", "Status", Kind::Text), ("error", "Error", Kind::Text),
                ]/>
            </section>
        </Show>
    }
}
