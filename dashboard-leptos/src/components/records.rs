//! Record views: server-side activity (search with filters, per-entity trail, active
//! sessions, summary), suspicious-activity alerts, and email reports (choice and preview).
//! Their rows are shown through one table component that reads each answer as its `api-types`
//! page (the audit log's free-form entries as JSON), so each new view costs columns and a
//! `Row` impl naming what each column key holds.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{self, FromJson};
use crate::components::overview::PeriodBar;
use crate::components::status_line;
use crate::format::moment;
use crate::state::View;
use wasm_bindgen::JsValue;

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

/// What a row holds under a column key, before its `Kind` shows it.
pub enum Cell {
    Text(String),
    Int(i64),
    Empty,
}

/// A row of a table: its value under each column key (the key is the API's field name).
pub trait Row {
    fn cell(&self, key: &str) -> Cell;

    fn text(&self, key: &str) -> String {
        match self.cell(key) {
            Cell::Text(s) => s,
            _ => String::new(),
        }
    }
}

/// An answer a table lists: its rows, and the cursor of the page after (`before=`) if any.
pub trait Page: FromJson {
    type Row: Row;
    /// `list` names the rows of a free-form answer; a typed page knows its own.
    fn split(self, list: &str) -> (Vec<Self::Row>, Option<String>);
}

/// Free-form rows (the audit log): the JSON as it came.
impl Row for Value {
    fn cell(&self, key: &str) -> Cell {
        match &self[key] {
            // D1 hands every number over as a float; counts read as whole numbers.
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.fract() == 0.0 => Cell::Int(x as i64),
                _ => Cell::Text(n.to_string()),
            },
            Value::String(s) => Cell::Text(s.clone()),
            Value::Null => Cell::Empty,
            other => Cell::Text(other.to_string()),
        }
    }
}

impl Page for Value {
    type Row = Value;
    fn split(mut self, list: &str) -> (Vec<Value>, Option<String>) {
        let rows = self[list]
            .as_array_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        let next = match &self["next_before"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        (rows, next)
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

impl Row for api::ActivityRecord {
    fn cell(&self, key: &str) -> Cell {
        match key {
            "ts" => Cell::Int(self.ts),
            "type" => text(self.kind.as_str()),
            "user_id" => text(&self.user_id),
            "session_id" => text(&self.session_id),
            "action" => text(&self.action),
            "entity_type" => text(&self.entity_type),
            "entity_id" => text(&self.entity_id),
            "outcome" => text(self.outcome.as_str()),
            "status_code" => Cell::Int(self.status_code),
            "browser" => text(&self.browser),
            "ip_hash" => text(&self.ip_hash),
            _ => Cell::Empty,
        }
    }
}

impl Page for api::ActivityPage {
    type Row = api::ActivityRecord;
    fn split(self, _: &str) -> (Vec<Self::Row>, Option<String>) {
        (self.records, self.next_before)
    }
}

impl Row for api::ActiveSession {
    fn cell(&self, key: &str) -> Cell {
        match key {
            "session_id" => text(&self.session_id),
            "user_id" => text(&self.user_id),
            "started" => Cell::Int(self.started),
            "last_seen" => Cell::Int(self.last_seen),
            "records" => Cell::Int(self.records),
            _ => Cell::Empty,
        }
    }
}

impl Page for api::ActiveSessions {
    type Row = api::ActiveSession;
    fn split(self, _: &str) -> (Vec<Self::Row>, Option<String>) {
        (self.sessions, None)
    }
}

impl Row for api::SummaryRow {
    fn cell(&self, key: &str) -> Cell {
        match key {
            "type" => text(self.kind.as_str()),
            "outcome" => text(self.outcome.as_str()),
            "records" => Cell::Int(self.records),
            "users" => Cell::Int(self.users),
            _ => Cell::Empty,
        }
    }
}

impl Page for api::ActivitySummary {
    type Row = api::SummaryRow;
    fn split(self, _: &str) -> (Vec<Self::Row>, Option<String>) {
        (self.rows, None)
    }
}

impl Row for api::AlertEntry {
    fn cell(&self, key: &str) -> Cell {
        match key {
            "rule" => text(self.rule.as_str()),
            "window_start" => Cell::Int(self.window_start),
            "description" => text(&self.description),
            "subject" => text(&self.subject),
            "detail" => text(&self.detail),
            "last_ts" => Cell::Int(self.last_ts),
            _ => Cell::Empty,
        }
    }
}

impl Page for api::AlertsPage {
    type Row = api::AlertEntry;
    fn split(self, _: &str) -> (Vec<Self::Row>, Option<String>) {
        (self.alerts, self.next_before.map(|id| id.to_string()))
    }
}

impl Row for api::SentReport {
    fn cell(&self, key: &str) -> Cell {
        match key {
            "at" => Cell::Int(self.at),
            "email" => self.email.as_deref().map_or(Cell::Empty, text),
            "kind" => text(self.kind.as_str()),
            "period_from" => text(&self.period_from),
            "status" => text(self.status.as_str()),
            "error" => text(&self.error),
            _ => Cell::Empty,
        }
    }
}

impl Page for api::SentReports {
    type Row = api::SentReport;
    fn split(self, _: &str) -> (Vec<Self::Row>, Option<String>) {
        (self.sent, None)
    }
}

fn show(row: &dyn Row, key: &str, kind: Kind) -> String {
    match (kind, row.cell(key)) {
        (Kind::Time, Cell::Int(n)) => moment(n),
        (Kind::Label, Cell::Text(s)) => {
            let mut label = s.replace('_', " ");
            if let Some(first) = label.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            label
        }
        (Kind::Outcome, Cell::Int(n)) if (200..300).contains(&n) => "ok".into(),
        (Kind::Origin, _) => ["country", "client", "ip_hash"]
            .iter()
            .map(|k| row.text(k))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
        (Kind::Entity, _) => {
            let id = row.text("entity_id");
            if id.is_empty() {
                String::new()
            } else {
                format!("{} {id}", row.text(key))
            }
        }
        (_, Cell::Int(n)) => n.to_string(),
        (_, Cell::Text(s)) => s,
        (_, Cell::Empty) => String::new(),
    }
}

/// A row as the table shows it: each column's text, what the row is (an audit action, an
/// activity type, a rule: for styling and tests) and the entity it names. The table itself
/// handles only these, so it is compiled once, not once per answer type.
#[derive(Clone)]
pub struct Shown {
    what: String,
    cells: Vec<String>,
    entity: (String, String),
}

fn shown(row: &dyn Row, columns: Columns) -> Shown {
    Shown {
        what: ["action", "type", "rule"]
            .iter()
            .map(|k| row.text(k))
            .find(|s| !s.is_empty())
            .unwrap_or_default(),
        cells: columns
            .iter()
            .map(|(key, _, kind)| show(row, key, *kind))
            .collect(),
        entity: (row.text("entity_type"), row.text("entity_id")),
    }
}

/// How a table reads its answer: as the page `P` (`read_page::<api::AlertsPage>`), its rows shown
/// in `columns`, with the cursor of the page after.
pub type Reader = fn(&JsValue, &'static str, Columns) -> (Vec<Shown>, Option<String>);

pub fn read_page<P: Page>(
    answer: &JsValue,
    list: &'static str,
    columns: Columns,
) -> (Vec<Shown>, Option<String>) {
    let (rows, next) = P::from_json(answer).split(list);
    let shown_rows = rows.iter().map(|r| shown(r, columns)).collect();
    (shown_rows, next)
}

/// A table of the rows `url` answers (re-read when it changes), read by `read`; "Older"
/// appends the page after `next_before`. `trail` receives (entity type, id) when an entity is
/// clicked.
#[component]
pub fn Table(
    id: &'static str,
    url: Signal<String>,
    read: Reader,
    /// Only for free-form answers: where their rows are.
    #[prop(optional)]
    list: &'static str,
    columns: Columns,
    #[prop(optional)] trail: Option<Callback<(String, String)>>,
) -> impl IntoView {
    let rows = RwSignal::new(Vec::<Shown>::new());
    let next = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<String>);
    let load = move |before: Option<String>| {
        let base = url.get_untracked();
        let path = match &before {
            Some(b) => format!("{base}&before={}", api::encode(b)),
            None => base,
        };
        leptos::task::spawn_local(async move {
            match api::get::<JsValue>(&path).await {
                Ok(page) => {
                    let (found, after) = read(&page, list, columns);
                    if before.is_some() {
                        rows.update(|r| r.extend(found));
                    } else {
                        rows.set(found);
                    }
                    next.set(after);
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
                        view! { <tr data-action=row.what>{columns.iter().zip(row.cells).map(|((key, _, kind), text)| {
                            match (kind, trail) {
                                (Kind::Entity, Some(open)) if !text.is_empty() => {
                                    let pair = row.entity.clone();
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

/// A table of free-form `list` rows from `url` (the audit log's entries).
#[component]
pub fn Records(
    id: &'static str,
    url: Signal<String>,
    list: &'static str,
    columns: Columns,
    #[prop(optional)] trail: Option<Callback<(String, String)>>,
) -> impl IntoView {
    let read: Reader = read_page::<Value>;
    match trail {
        Some(trail) => {
            view! { <Table id=id url=url read=read list=list columns=columns trail=trail/> }
                .into_any()
        }
        None => view! { <Table id=id url=url read=read list=list columns=columns/> }.into_any(),
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
    let range = move || period_query(view);
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
            <Table id="activity-records" read={read_page::<api::ActivityPage>} url=records trail=trail columns=&[
                ("ts", "When", Kind::Time), ("type", "Type", Kind::Text), ("user_id", "User", Kind::Text),
                ("session_id", "Session", Kind::Text), ("action", "Action", Kind::Text),
                ("entity_type", "Entity", Kind::Entity), ("outcome", "Outcome", Kind::Text),
                ("status_code", "Status", Kind::Text), ("browser", "Browser", Kind::Text),
                ("ip_hash", "Address fingerprint", Kind::Text),
            ]/>
        </section>
        <ActiveSessions/>
        <ActivitySummary/>
    }
}

/// The period the screen shows, as query parameters.
fn period_query(view: RwSignal<View>) -> String {
    view.with(|v| match v.period.as_str() {
        "custom" => format!("period=custom&from={}&to={}", v.from, v.to),
        p => format!("period={p}"),
    })
}

/// Sessions with recent activity that did not log out.
#[component]
fn ActiveSessions() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let sessions = Signal::derive(move || format!("{}?", site_path(view, "activity/sessions")));
    view! {
        <section class="card"><h2>"Active sessions"</h2>
            <Table id="activity-sessions" read={read_page::<api::ActiveSessions>} url=sessions columns=&[
                ("session_id", "Session", Kind::Text), ("user_id", "User", Kind::Text),
                ("started", "Started", Kind::Time), ("last_seen", "Last seen", Kind::Time), ("records", "Records", Kind::Text),
            ]/>
        </section>
    }
}

/// Records and users per type and outcome in the period.
#[component]
fn ActivitySummary() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let summary = Signal::derive(move || {
        format!(
            "{}?{}",
            site_path(view, "activity/summary"),
            period_query(view)
        )
    });
    view! {
        <section class="card"><h2>"Summary"</h2>
            <Table id="activity-summary" read={read_page::<api::ActivitySummary>} url=summary columns=&[
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
            <Table id="alert-list" read={read_page::<api::AlertsPage>} url=url columns=&[
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
        if let Ok(s) = api::get::<api::Subscription>(&read).await {
            monthly.set(s.monthly);
            weekly.set(s.weekly);
        }
    });
    let save = move |_| {
        let path = path.clone();
        // `api_types::reports::SubscriptionChoice`, built as a JSON value: the value's
        // serializer is in the bundle already, a derived one would add to it.
        let body = serde_json::json!({ "monthly": monthly.get_untracked(), "weekly": weekly.get_untracked() });
        leptos::task::spawn_local(async move {
            status.set(Some(
                match api::send::<api::Subscription>("PUT", &path, &body).await {
                    Ok(_) => Ok("Saved.".into()),
                    Err(e) => Err(e.message),
                },
            ));
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
                <Table id="reports-sent" read={read_page::<api::SentReports>} url=sent columns=&[
                    ("at", "When", Kind::Time), ("email", "To", Kind::Text), ("kind", "Report", Kind::Text),
                    ("period_from", "Period from", Kind::Text), ("status", "Status", Kind::Text), ("error", "Error", Kind::Text),
                ]/>
            </section>
        </Show>
    }
}
