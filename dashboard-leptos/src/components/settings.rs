//! Site settings: the snippet and installation check, editing, goals, funnels, members, the
//! public link and deletion; and the form that adds a site.

use leptos::prelude::*;
use std::time::Duration;

use super::app::SitesVersion;
use super::status_line;
use crate::api::{self, Funnels, GoalKind, Goals, Members, Role, Share, SiteDetail, Step};
use crate::format::moment;
use crate::state::{Tab, View};
use api_types::apps::SiteKind;
use api_types::sites::{MemberBody, ShareBody, SiteBody};

fn site_path(view: RwSignal<View>, rest: &str) -> String {
    let site = view.with_untracked(|v| v.site.clone()).unwrap_or_default();
    format!("/api/sites/{}{rest}", api::encode(&site))
}

/// The browser's own time zone, the default for a new site.
fn browser_time_zone() -> String {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    js_sys::Reflect::get(&options, &"timeZone".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "UTC".into())
}

fn split_hosts(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[component]
pub fn NewSite() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let version = expect_context::<SitesVersion>().0;
    let name = RwSignal::new(String::new());
    let hosts = RwSignal::new(String::new());
    let tz = RwSignal::new(browser_time_zone());
    // A web site (the script tag, hostnames) or an app (the usage agent, a public key).
    let app = RwSignal::new(false);
    let status = RwSignal::new(None);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let is_app = app.get_untracked();
        let body = api::json_body(&SiteBody {
            name: Some(name.get_untracked()),
            // An app has no hostnames (its key identifies its uploads): the box holds its id.
            id: is_app.then(|| hosts.get_untracked().trim().to_string()),
            hostnames: (!is_app).then(|| split_hosts(&hosts.get_untracked())),
            timezone: Some(tz.get_untracked()),
            kind: Some(if is_app { SiteKind::App } else { SiteKind::Web }),
            ..Default::default()
        });
        leptos::task::spawn_local(async move {
            match api::post::<serde_json::Value>("/api/sites", &body).await {
                Ok(site) => {
                    let id = site["id"].as_str().unwrap_or_default().to_string();
                    version.update(|n| *n += 1);
                    view.update(|v| {
                        v.site = Some(id);
                        v.tab = Tab::Settings;
                        v.filters.clear();
                    });
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card narrow wide">
            <h1>"Add a site"</h1>
            <form on:submit=submit id="new-site">
                // A select, not radios: the form's text inputs keep their order for scripts.
                <label>"What will report to Vigia?"
                    <select id="new-site-kind" on:change=move |ev| app.set(event_target_value(&ev) == "app")>
                        <option value="web">"A web site (a script tag on its pages)"</option>
                        <option value="app">"An app installed on computers (the usage agent)"</option>
                    </select>
                </label>
                <label>{move || if app.get() { "App name" } else { "Name" }}
                    <input required placeholder=move || if app.get() { "My editor" } else { "My shop" } prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <label id="new-site-id">{move || if app.get() { "App id (letters, digits, '-', '_' or '.'; in the dashboard's addresses and the API)" } else { "Hostnames (comma separated; the first becomes the site id)" }}
                    <input required placeholder=move || if app.get() { "notes-desktop" } else { "shop.example.com" } prop:value=hosts on:input=move |ev| hosts.set(event_target_value(&ev))/></label>
                <label>"Time zone (days and reports follow it)"
                    <input required list="zones" prop:value=tz on:input=move |ev| tz.set(event_target_value(&ev))/></label>
                <ZoneList/>
                {status_line(status)}
                <button type="submit">{move || if app.get() { "Add app" } else { "Add site" }}</button>
            </form>
        </section>
    }
}

#[component]
fn ZoneList() -> impl IntoView {
    const ZONES: [&str; 16] = [
        "UTC",
        "Europe/Lisbon",
        "Europe/London",
        "Europe/Berlin",
        "Europe/Paris",
        "Europe/Madrid",
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Sao_Paulo",
        "Asia/Kolkata",
        "Asia/Singapore",
        "Asia/Tokyo",
        "Australia/Sydney",
        "Africa/Johannesburg",
    ];
    view! { <datalist id="zones">{ZONES.iter().map(|z| view! { <option value=*z/> }).collect_view()}</datalist> }
}

#[component]
pub fn Settings(role: Signal<Role>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let detail = LocalResource::new(move || {
        let path = view.with(|v| {
            format!(
                "/api/sites/{}",
                api::encode(v.site.as_deref().unwrap_or_default())
            )
        });
        async move { api::get::<SiteDetail>(&path).await }
    });
    let manage = move || role.get() >= Role::Admin;
    move || match detail.get() {
        None => view! { <p class="muted loading">"Loading settings…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        Some(Ok(site)) => {
            // Saved hash routing, shared by the form and the snippet it changes.
            let hash = RwSignal::new(site.hash_routing);
            // An app reports through the agent: its key and the embedding snippet instead of
            // the script tag; goals, funnels and the public link are about web pages.
            let app = site.kind == SiteKind::App;
            view! {
            {if app {
                view! { <AppKey site=site.clone() manage=manage()/> }.into_any()
            } else {
                view! { <Snippet site=site.clone() hash=hash/> }.into_any()
            }}
            {manage().then(|| view! {
                <EditSite site=site.clone() hash=hash/>
                {(!app).then(|| view! {
                    <GoalsEditor/>
                    <FunnelsEditor/>
                })}
                <MembersEditor owner=role.get() == Role::Owner/>
                {(!app).then(|| view! { <PublicLink share=site.share.clone()/> })}
            })}
            {(role.get() == Role::Owner).then(|| view! { <DeleteSite id=site.id.clone()/> })}
            }
            .into_any()
        }
    }
}

/// The snippet with or without `data-hash`: the collector sends URL fragments only when the
/// tag asks for them, and the server keeps them only when the site's setting is on.
fn snippet_for(snippet: &str, hash: bool) -> String {
    let plain = snippet.replace(" data-hash", "");
    if hash {
        plain.replace("></script>", " data-hash></script>")
    } else {
        plain
    }
}

#[component]
fn Snippet(site: SiteDetail, hash: RwSignal<bool>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let copied = RwSignal::new(None::<&'static str>);
    let base = site.snippet.clone();
    let snippet = move || snippet_for(&base, hash.get());
    let current = snippet.clone();
    let copy = move |_| copy_text(current(), copied);
    // The installation check asks again every five seconds until the first event is stored.
    let first_event = RwSignal::new(site.first_event_at);
    if first_event.get_untracked().is_none() {
        if let Ok(h) = set_interval_with_handle(
            move || {
                if first_event.get_untracked().is_some() {
                    return;
                }
                let path = site_path(view, "");
                leptos::task::spawn_local(async move {
                    if let Ok(d) = api::get::<SiteDetail>(&path).await {
                        first_event.set(d.first_event_at);
                    }
                });
            },
            Duration::from_secs(5),
        ) {
            on_cleanup(move || h.clear());
        }
    }
    view! {
        <section class="card" id="snippet">
            <h2>{format!("Install on {}", site.name)}</h2>
            <p class="muted">"Paste this into the " <code>"<head>"</code> " of every page of "
                {site.hostnames.join(", ")} ". No cookies, no banner needed."</p>
            <div class="snippet-row">
                <pre class="snippet"><code>{snippet}</code></pre>
                <button class="primary" id="copy-snippet" on:click=copy>"Copy"</button>
            </div>
            {move || copied.get().map(|m| view! { <p class="ok" role="status">{m}</p> })}
            <p class="install" id="install-status">
                {move || match first_event.get() {
                    Some(t) => view! { <span class="ok">"✓ Installed: first event received " {moment(t)} "."</span> }.into_any(),
                    None => view! { <span class="waiting">"Waiting for the first event… this updates by itself."</span> }.into_any(),
                }}
            </p>
        </section>
    }
}

/// Copies `text` to the clipboard and says whether it worked.
fn copy_text(text: String, copied: RwSignal<Option<&'static str>>) {
    leptos::task::spawn_local(async move {
        let Some(w) = web_sys::window() else { return };
        let done =
            wasm_bindgen_futures::JsFuture::from(w.navigator().clipboard().write_text(&text)).await;
        copied.set(Some(if done.is_ok() {
            "Copied."
        } else {
            "Select the text and copy it."
        }));
    });
}

/// An app's public key (shipped inside the app, so public: it identifies the app, it does not
/// protect anything), rotating it, and the snippet that embeds the agent.
#[component]
fn AppKey(site: SiteDetail, manage: bool) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let key = RwSignal::new(site.app_key.clone());
    let snippet = RwSignal::new(site.snippet.clone());
    let copied = RwSignal::new(None::<&'static str>);
    let confirm = RwSignal::new(false);
    let status = RwSignal::new(None);
    let rotate = move |_| {
        let path = site_path(view, "/app-key");
        leptos::task::spawn_local(async move {
            match api::post::<serde_json::Value>(&path, &"{}").await {
                Ok(_) => {
                    // Read the site again: the new key, and the snippet that carries it.
                    if let Ok(d) = api::get::<SiteDetail>(&site_path(view, "")).await {
                        key.set(d.app_key);
                        snippet.set(d.snippet);
                    }
                    confirm.set(false);
                    status.set(Some(Ok(
                        "A new key is in place; the previous one no longer works.".into(),
                    )));
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card" id="app-key">
            <h2>{format!("Embed the agent in {}", site.name)}</h2>
            <p class="muted">"The app reports through the " <code>"vigia-agent"</code> " crate (guide: docs/agent.md). Its key is shipped inside the app, so it is public: it tells Vigia which app an upload belongs to, and rate limits per app and per install keep one install from flooding it."</p>
            {move || key.get().map(|k| {
                let text = k.clone();
                view! {
                    <div class="snippet-row">
                        <pre class="snippet" id="app-key-value" aria-label="App key"><code>{k}</code></pre>
                        <button on:click=move |_| copy_text(text.clone(), copied)>"Copy key"</button>
                    </div>
                }
            })}
            <h2>"Embedding"</h2>
            <div class="snippet-row">
                <pre class="snippet" id="app-snippet" aria-label="Embedding snippet"><code>{move || snippet.get()}</code></pre>
                <button on:click=move |_| copy_text(snippet.get_untracked(), copied)>"Copy"</button>
            </div>
            {move || copied.get().map(|m| view! { <p class="ok" role="status">{m}</p> })}
            <p class="install" id="install-status">
                {match site.first_event_at {
                    Some(t) => view! { <span class="ok">"✓ First upload received " {moment(t)} "."</span> }.into_any(),
                    None => view! { <span class="waiting">"No upload yet: installs appear on the dashboard after their first upload."</span> }.into_any(),
                }}
            </p>
            {manage.then(|| view! {
                <h2>"Rotate the key"</h2>
                <p class="muted">"A new key replaces this one at once: copies of the app that ship the old key can no longer upload. Use it when the key is abused, and ship the new key with your next release."</p>
                {move || if confirm.get() {
                    view! {
                        <div class="inline-form">
                            <button class="danger" id="rotate-key" on:click=rotate>"Rotate now: the old key stops working"</button>
                            <button class="link" on:click=move |_| confirm.set(false)>"Cancel"</button>
                        </div>
                    }.into_any()
                } else {
                    view! { <button on:click=move |_| confirm.set(true)>"Rotate key…"</button> }.into_any()
                }}
            })}
            {status_line(status)}
        </section>
    }
}

#[component]
fn EditSite(site: SiteDetail, hash: RwSignal<bool>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let version = expect_context::<SitesVersion>().0;
    let name = RwSignal::new(site.name.clone());
    let hosts = RwSignal::new(site.hostnames.join(", "));
    let tz = RwSignal::new(site.timezone.clone());
    let allow = RwSignal::new(site.query_allow_list.clone());
    let retention = RwSignal::new(site.retention_days.to_string());
    let hash_on = RwSignal::new(site.hash_routing);
    let app = site.kind == SiteKind::App;
    let status = RwSignal::new(None);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // An app has no hostnames, query parameters or URL routes: only what applies is sent.
        let web = !app;
        let body = api::json_body(&SiteBody {
            id: None,
            name: Some(name.get_untracked()),
            hostnames: web.then(|| split_hosts(&hosts.get_untracked())),
            timezone: Some(tz.get_untracked()),
            query_allow_list: web.then(|| allow.get_untracked()),
            retention_days: Some(retention.get_untracked().trim().parse::<i64>().unwrap_or(0)),
            hash_routing: web.then(|| hash_on.get_untracked()),
            kind: None,
        });
        let path = site_path(view, "");
        leptos::task::spawn_local(async move {
            match api::send::<serde_json::Value>("PATCH", &path, &body).await {
                Ok(_) => {
                    status.set(Some(Ok("Saved.".into())));
                    hash.set(hash_on.get_untracked());
                    version.update(|n| *n += 1);
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card">
            <h2>"Settings"</h2>
            <form on:submit=submit id="edit-site" class="grid-form">
                <label>"Name" <input prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/></label>
                {(!app).then(|| view! { <label>"Hostnames" <input prop:value=hosts on:input=move |ev| hosts.set(event_target_value(&ev))/></label> })}
                <label>{if app { "Time zone (days, weeks and usage reports follow it)" } else { "Time zone" }} <input list="zones" prop:value=tz on:input=move |ev| tz.set(event_target_value(&ev))/></label>
                {(!app).then(|| view! {
                    <label>"Query parameters to keep besides UTM" <input placeholder="ref, page" prop:value=allow on:input=move |ev| allow.set(event_target_value(&ev))/></label>
                })}
                <label>{if app { "Keep data for (days; usage records)" } else { "Keep data for (days; raw events and hourly aggregates)" }} <input type="number" min="30" max="3650" prop:value=retention on:input=move |ev| retention.set(event_target_value(&ev))/></label>
                {(!app).then(|| view! {
                    <label class="check"><input type="checkbox" id="hash-routing" prop:checked=hash_on on:change=move |ev| hash_on.set(event_target_checked(&ev))/>
                        " Hash routing: #/… routes are pages (the snippet gets data-hash)"</label>
                })}
                <ZoneList/>
                {status_line(status)}
                <button type="submit">"Save"</button>
            </form>
        </section>
    }
}

fn step_label(step: &Step) -> String {
    match step.kind {
        GoalKind::Page => format!("Visit {}", step.value),
        GoalKind::Event => format!("Event {}", step.value),
    }
}

#[component]
fn GoalsEditor() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let reload = RwSignal::new(0u32);
    let goals = api::fetched::<Goals>(move || {
        reload.get();
        site_path(view, "/goals")
    });
    let kind = RwSignal::new("event".to_string());
    let value = RwSignal::new(String::new());
    let status = RwSignal::new(None);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::to_string(&Step {
            kind: GoalKind::parse(&kind.get_untracked()).unwrap_or(GoalKind::Event),
            value: value.get_untracked(),
        })
        .unwrap_or_default();
        let path = site_path(view, "/goals");
        leptos::task::spawn_local(async move {
            match api::post::<serde_json::Value>(&path, &body).await {
                Ok(_) => {
                    status.set(None);
                    value.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card" id="goals-editor">
            <h2>"Goals"</h2>
            <ul class="plain">
                {move || goals.get().and_then(Result::ok).map(|g| g.goals.into_iter().map(|goal| {
                    let path = site_path(view, &format!("/goals/{}", goal.id));
                    let step = Step { kind: goal.kind, value: goal.value };
                    view! { <li>{step_label(&step)}
                        <button class="link" on:click=move |_| { let path = path.clone(); leptos::task::spawn_local(async move { let _ = api::delete(&path).await; reload.update(|n| *n += 1); }); }>"Remove"</button></li> }
                }).collect_view())}
            </ul>
            <form class="inline-form" on:submit=add>
                <select aria-label="Goal kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="event">"Custom event"</option><option value="page">"Page visit"</option>
                </select>
                <input required aria-label="Event name or path" placeholder="Signup or /thank-you" prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
                <button type="submit">"Add goal"</button>
            </form>
            {status_line(status)}
        </section>
    }
}

/// Funnel steps typed one per line: `/pricing` is a page, anything else an event name.
fn parse_steps(text: &str) -> Vec<Step> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| Step {
            kind: if l.starts_with('/') {
                GoalKind::Page
            } else {
                GoalKind::Event
            },
            value: l.to_string(),
        })
        .collect()
}

#[component]
fn FunnelsEditor() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let reload = RwSignal::new(0u32);
    let funnels = api::fetched::<Funnels>(move || {
        reload.get();
        site_path(view, "/funnels")
    });
    let name = RwSignal::new(String::new());
    let steps = RwSignal::new(String::new());
    let status = RwSignal::new(None);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::to_string(&api_types::goals::NewFunnel {
            name: name.get_untracked(),
            steps: parse_steps(&steps.get_untracked()),
        })
        .unwrap_or_default();
        let path = site_path(view, "/funnels");
        leptos::task::spawn_local(async move {
            match api::post::<serde_json::Value>(&path, &body).await {
                Ok(_) => {
                    status.set(None);
                    name.set(String::new());
                    steps.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card" id="funnels-editor">
            <h2>"Funnels"</h2>
            <ul class="plain">
                {move || funnels.get().and_then(Result::ok).map(|f| f.funnels.into_iter().map(|funnel| {
                    let path = site_path(view, &format!("/funnels/{}", funnel.id));
                    let steps = funnel.steps.iter().map(step_label).collect::<Vec<_>>().join(" → ");
                    view! { <li><strong>{funnel.name}</strong>": "{steps}
                        <button class="link" on:click=move |_| { let path = path.clone(); leptos::task::spawn_local(async move { let _ = api::delete(&path).await; reload.update(|n| *n += 1); }); }>"Remove"</button></li> }
                }).collect_view())}
            </ul>
            <form on:submit=add id="new-funnel">
                <label>"Name" <input required prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <label>"Steps, one per line (a path like /pricing, or an event name)"
                    <textarea required rows="4" prop:value=steps on:input=move |ev| steps.set(event_target_value(&ev))></textarea></label>
                {status_line(status)}
                <button type="submit">"Add funnel"</button>
            </form>
        </section>
    }
}

#[component]
fn MembersEditor(owner: bool) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let reload = RwSignal::new(0u32);
    let members = api::fetched::<Members>(move || {
        reload.get();
        site_path(view, "/members")
    });
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    let status = RwSignal::new(None);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = api::json_body(&MemberBody {
            email: email.get_untracked(),
            role: role.get_untracked().as_str().into(),
        });
        let path = site_path(view, "/members");
        leptos::task::spawn_local(async move {
            match api::send::<serde_json::Value>("PUT", &path, &body).await {
                Ok(answer) => {
                    // Anyone but an instance admin invites: the person joins on accepting.
                    status.set(Some(Ok(if answer["status"] == "invited" {
                        "Invitation recorded. If this email has an account, they see it under Account and get access when they accept.".into()
                    } else {
                        "Access given.".into()
                    })));
                    email.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card" id="members">
            <h2>"People with access"</h2>
            <p class="muted">"Viewers read the stats; auditors also export raw events; admins change settings, goals and access; owners can delete the site."</p>
            <table class="breakdown">
                <tbody>
                    {move || members.get().and_then(Result::ok).map(|m| m.members.into_iter().map(|member| {
                        let path = site_path(view, &format!("/members/{}", member.user_id));
                        view! { <tr><td>{member.email}</td><td>{member.role.as_str()}</td>
                            <td class="num"><button class="link" on:click=move |_| { let path = path.clone(); leptos::task::spawn_local(async move {
                                if let Err(e) = api::delete(&path).await { status.set(Some(Err(e.message))); }
                                reload.update(|n| *n += 1); }); }>"Remove"</button></td></tr> }
                    }).collect_view())}
                    {move || members.get().and_then(Result::ok).map(|m| m.invitations.into_iter().map(|i| view! {
                        <tr class="invited"><td>{i.email}</td><td>{i.role.as_str()}</td><td class="num muted">"invited"</td></tr>
                    }).collect_view())}
                </tbody>
            </table>
            <form class="inline-form" on:submit=add>
                <input type="email" required aria-label="Email" placeholder="colleague@example.com" prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/>
                <select aria-label="Role" on:change=move |ev| role.set(Role::parse(&event_target_value(&ev)).unwrap_or(Role::Viewer))>
                    <option value="viewer">"Viewer"</option><option value="auditor">"Auditor"</option><option value="admin">"Admin"</option>
                    {owner.then(|| view! { <option value="owner">"Owner"</option> })}
                </select>
                <button type="submit">"Invite"</button>
            </form>
            {status_line(status)}
        </section>
    }
}

#[component]
fn PublicLink(share: Share) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let state = RwSignal::new(share);
    let toggle = move |_| {
        let enabled = !state.get_untracked().enabled;
        let path = site_path(view, "/share");
        leptos::task::spawn_local(async move {
            if let Ok(s) = api::post::<Share>(&path, &api::json_body(&ShareBody { enabled })).await
            {
                state.set(s);
            }
        });
    };
    view! {
        <section class="card" id="public-link">
            <h2>"Public link"</h2>
            <p class="muted">"Off by default. When on, anyone with the link can read this site's stats (not settings, not raw events)."</p>
            {move || state.get().url.map(|u| { let text = u.clone(); view! { <p><a class="share-url" href=u>{text}</a></p> } })}
            <button on:click=toggle>{move || if state.get().enabled { "Turn the public link off" } else { "Turn the public link on" }}</button>
        </section>
    }
}

#[component]
fn DeleteSite(id: String) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let version = expect_context::<SitesVersion>().0;
    let typed = RwSignal::new(String::new());
    let status = RwSignal::new(None);
    let expected = id.clone();
    let matches = move || typed.get() == expected;
    let delete = move |_| {
        let path = site_path(view, "");
        leptos::task::spawn_local(async move {
            match api::delete(&path).await {
                Ok(_) => {
                    version.update(|n| *n += 1);
                    view.update(|v| {
                        v.site = None;
                        v.tab = Tab::Overview;
                        v.filters.clear();
                    });
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card danger" id="delete-site">
            <h2>"Delete this site"</h2>
            <p>"This deletes the site and all of its data: events, statistics, goals, funnels and access. It cannot be undone."</p>
            <label>"Type " <code>{id.clone()}</code> " to confirm"
                <input aria-label="Site id to confirm" prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev))/></label>
            <button class="danger" disabled=move || !matches() on:click=delete>"Delete site and data"</button>
            {status_line(status)}
        </section>
    }
}
