//! The shell: setup notice, login, a public link's read-only view, or the dashboard with its
//! site picker and tabs. The view (site, tab, period, filters) lives in the URL.

use leptos::prelude::*;

use super::lazy::{Lazy, LazyScreen, ScreenProps};
use super::login::Login;
use super::overview::Overview;
use crate::api::{self, Me, Role, SetupStatus, ShareInfo, Site, Sites};
use crate::state::{Tab, View};
use api_types::apps::SiteKind;

#[derive(Clone, Copy, PartialEq)]
enum Screen {
    Loading,
    NeedsSetup,
    Login,
    Dashboard,
    Shared,
    Invited,
}

/// Bumped when the list of sites changes (added, renamed, deleted).
#[derive(Clone, Copy)]
pub struct SitesVersion(pub RwSignal<u32>);

#[component]
pub fn App() -> impl IntoView {
    let view = RwSignal::new(View::from_url());
    provide_context(view);
    provide_context(SitesVersion(RwSignal::new(0)));
    // Keep the address bar in step with the view; new history entries for what a person
    // would want Back to undo.
    Effect::new(move |previous: Option<View>| {
        let now = view.get();
        let push = previous.as_ref().is_some_and(|p| {
            p.filters != now.filters
                || p.site != now.site
                || p.tab != now.tab
                || p.period != now.period
        });
        now.write(push);
        now
    });
    let _ = window_event_listener(leptos::ev::popstate, move |_| view.set(View::from_url()));

    let screen = RwSignal::new(Screen::Loading);
    let failure = RwSignal::new(None::<String>);
    let share = view.get_untracked().share;
    api::use_share_token(share.clone());
    let invited = view.get_untracked().invite.is_some();
    leptos::task::spawn_local(async move {
        if invited {
            screen.set(Screen::Invited);
            return;
        }
        if let Some(token) = share {
            match api::get::<ShareInfo>(&format!("/api/share/{}", api::encode(&token))).await {
                Ok(ShareInfo { site: Some(site) }) => {
                    view.update(|v| v.site = Some(site.id));
                    screen.set(Screen::Shared);
                }
                Ok(_) => failure.set(Some("This public link is off or wrong.".into())),
                Err(e) => failure.set(Some(e.message)),
            }
            return;
        }
        match api::get::<SetupStatus>("/api/setup").await {
            Ok(s) if s.needs_setup => screen.set(Screen::NeedsSetup),
            Ok(s) if s.logged_in => screen.set(Screen::Dashboard),
            Ok(_) => screen.set(Screen::Login),
            Err(e) => {
                failure.set(Some(e.message));
                screen.set(Screen::Login);
            }
        }
    });
    let on_login = Callback::new(move |_| screen.set(Screen::Dashboard));
    let on_logout = Callback::new(move |_| screen.set(Screen::Login));
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Vigia"</a>
            <span class="tagline">"privacy-first analytics"</span>
        </header>
        <main>
            {move || failure.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            {move || match screen.get() {
                Screen::Loading => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                Screen::NeedsSetup => view! {
                    <section class="card narrow">
                        <h1>"Finish setting up Vigia"</h1>
                        <p>"No account exists yet. Run " <code>"./vigia run"</code>
                           " (it creates the first admin); on a deployed instance, POST to " <code>"/api/setup"</code>
                           " with " <code>"Authorization: Bearer $VIGIA_SETUP_TOKEN"</code> " (see the README's deploy steps)."</p>
                    </section>
                }.into_any(),
                Screen::Login => view! { <Login on_login=on_login/> }.into_any(),
                Screen::Invited => {
                    let props = ScreenProps { role: Memo::new(|_| Role::Viewer), instance_admin: Signal::stored(false), on_login };
                    view! { <Lazy screen=LazyScreen::AcceptInvite props=props/> }.into_any()
                }
                Screen::Dashboard => view! { <Dashboard on_logout=on_logout/> }.into_any(),
                Screen::Shared => view! {
                    <p class="notice">"A public, read-only view of this site's statistics."</p>
                    <Overview role=Memo::new(|_| Role::Viewer) read_only=true/>
                }.into_any(),
            }}
        </main>
    }
}

/// The site list as fetched (`None` until it answers).
type SiteList = Signal<Option<Result<Vec<Site>, String>>>;

/// The logged-in dashboard: the toolbar (site picker, navigation, logout), then the page the
/// view names. Its state comes from `site_list` and `role_on_site`; the view stays one
/// `view!`: split into functions it costs the overview's bundle ~2 KB of render code.
#[component]
fn Dashboard(on_logout: Callback<()>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let me = api::fetched::<Me>(|| "/api/me".into());
    let sites = site_list(view);
    let role = role_on_site(view, sites);
    // Periods and filters never remount the page (its panels follow them).
    // The page is keyed by its tab and, on the tabs that show one site, by that site: the site
    // list settling must not remount Account or Users, and a site change does remount the
    // site's pages (their data starts from the new site, never from an empty one).
    // The third part says the site is an app, whose dashboard is the App screen (known once
    // the site list names the site's kind); one memo with the page's key, not one more.
    let page = Memo::new(move |_| {
        let (tab, site) = view.with(|v| {
            (
                v.tab,
                if v.tab.per_site() {
                    v.site.clone()
                } else {
                    None
                },
            )
        });
        let app = tab == Tab::Overview
            && sites.with(|l| {
                l.as_ref()
                    .and_then(|l| l.as_ref().ok())
                    .and_then(|l| l.iter().find(|s| Some(&s.id) == site.as_ref()))
                    .is_some_and(|s| s.kind == SiteKind::App)
            });
        (tab, site, app)
    });
    let has_sites = Memo::new(move |_| sites.get().map(|l| l.map(|l| !l.is_empty())));
    let is_admin = move || me.get().and_then(Result::ok).is_some_and(|m| m.is_admin);
    let props = ScreenProps {
        role,
        instance_admin: Signal::derive(is_admin),
        on_login: Callback::new(|_| ()),
    };
    let logout = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::post::<()>("/api/logout", &"{}").await;
            on_logout.run(());
        });
    };
    view! {
        <nav class="toolbar" aria-label="Dashboard">
            <label class="site-picker">"Site "
                <select on:change=move |ev| {
                    let id = event_target_value(&ev);
                    view.update(|v| { v.site = Some(id); v.filters.clear(); if v.tab == Tab::NewSite { v.tab = Tab::Overview; } });
                }>
                    {move || sites.get().and_then(Result::ok).map(|list| list.into_iter().map(|s| {
                        let selected = view.with(|v| v.site.as_deref() == Some(s.id.as_str()));
                        view! { <option value=s.id.clone() selected=selected>{s.name}</option> }
                    }).collect_view())}
                </select>
            </label>
            <button class="primary small" on:click=move |_| view.update(|v| v.tab = Tab::NewSite)>"+ Add site"</button>
            // Navigation between pages (each in the URL), so the current one is aria-current.
            <div class="tabs">
                {move || Tab::NAVIGATION.into_iter().filter(|t| t.offered(is_admin(), role.get().as_str())).map(|tab| view! {
                    <button aria-current=move || view.with(|v| v.tab == tab).then_some("page")
                        on:click=move |_| view.update(|v| v.tab = tab)>{tab.label()}</button>
                }).collect_view()}
            </div>
            <span class="who muted">{move || me.get().and_then(Result::ok).map(|m| m.email)}</span>
            <button class="link" on:click=logout>"Log out"</button>
        </nav>
        {move || {
            let (tab, site, app) = page.get();
            let lazy = LazyScreen::of(tab);
            // A deep link to a screen the navigation does not offer this person says so (the
            // Worker would refuse its requests anyway) instead of showing forms that fail.
            let forbidden = || view! {
                <section class="card narrow" role="alert" id="screen-forbidden">
                    <h2>"Not available to you"</h2>
                    <p>"This screen needs another role on this site, or an instance admin. Ask an owner of the site."</p>
                </section>
            }.into_any();
            // Pages that show no site do not read the site list, so its arrival cannot remount them.
            if let (false, Some(screen)) = (tab.per_site(), lazy) {
                return match me.get() {
                    None => view! { <p class="muted loading" role="status">"Loading…"</p> }.into_any(),
                    Some(_) if !tab.offered(is_admin(), "") => forbidden(),
                    Some(_) => view! { <Lazy screen=screen props=props/> }.into_any(),
                };
            }
            match (lazy, has_sites.get()) {
                (_, Some(Err(e))) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                (_, None) => view! { <p class="muted loading">"Loading sites…"</p> }.into_any(),
                (_, Some(Ok(true))) if site.is_none() => view! { <p class="muted loading">"Loading sites…"</p> }.into_any(),
                (_, Some(Ok(false))) => view! {
                    <section class="card empty">
                        <h2>"No sites yet"</h2>
                        <p>"Add your first site to get its snippet, or accept an invitation under Account."</p>
                        <button class="primary" on:click=move |_| view.update(|v| v.tab = Tab::NewSite)>"Add a site"</button>
                    </section>
                }.into_any(),
                (Some(_), _) if !tab.offered(is_admin(), role.get().as_str()) => forbidden(),
                (Some(screen), _) => view! { <Lazy screen=screen props=props/> }.into_any(),
                // An app has no web overview: its dashboard is the App screen (split off).
                (None, _) if app => view! { <Lazy screen=LazyScreen::AppUsage props=props/> }.into_any(),
                (None, _) => view! { <Overview role=role read_only=false/> }.into_any(),
            }
        }}
    }
}

/// The sites the person can see, read again when the list changes (`SitesVersion`); the first
/// is picked when the URL names none (or one that is gone).
fn site_list(view: RwSignal<View>) -> SiteList {
    let version = expect_context::<SitesVersion>().0;
    let fetched = api::fetched::<Sites>(move || {
        version.get();
        "/api/sites".into()
    });
    // `fetched` keeps the last list until a refetch (after an edit) answers, so the page is
    // never unmounted for a moment.
    let sites = Signal::derive(move || fetched.get().map(|r| r.map(|l| l.sites)));
    Effect::new(move |_| {
        if let Some(Ok(list)) = sites.get() {
            let current = view.with_untracked(|v| v.site.clone());
            let known = current
                .as_ref()
                .is_some_and(|c| list.iter().any(|s| &s.id == c));
            if !known {
                let first = list.first().map(|s| s.id.clone());
                view.update(|v| v.site = first);
            }
        }
    });
    sites
}

/// The person's role on the selected site (a viewer until the list says otherwise).
fn role_on_site(view: RwSignal<View>, sites: SiteList) -> Memo<Role> {
    Memo::new(move |_| {
        let site = view.with(|v| v.site.clone());
        sites
            .get()
            .and_then(Result::ok)
            .and_then(|l| l.into_iter().find(|s| Some(&s.id) == site.as_ref()))
            .map_or(Role::Viewer, |s| s.role)
    })
}
