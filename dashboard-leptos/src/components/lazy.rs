//! The screens a site owner opens rarely (settings, reports, activity, alerts, bots, audit, account,
//! users, a new site, accepting an invitation, an app's usage) are split off the overview's wasm. Each function
//! declared by `screens!` is a `#[wasm_split]` point: the build (`wasm-split-cli`, see
//! scripts/build.sh) moves it and whatever only it uses into a chunk the browser fetches the
//! first time the screen opens. Built with the `unsplit` feature they are plain functions in
//! one wasm (the bench compares both).

use leptos::prelude::*;

use super::account::{Account, UsersAdmin};
use super::app_usage::AppUsage;
use super::audit::AuditLog;
use super::bots::Bots;
use super::login::AcceptInvite;
use super::metering::MeteringAdmin;
use super::records::{Activity, Alerts, Reports};
use super::settings::{NewSite, Settings};
use crate::state::Tab;

/// A chunk did not arrive (offline, or removed by a deploy since this page was opened).
pub struct LoadFailed;

#[cfg(not(feature = "unsplit"))]
impl From<wasm_split_helpers::SplitLoaderError> for LoadFailed {
    fn from(_: wasm_split_helpers::SplitLoaderError) -> Self {
        LoadFailed
    }
}

/// What a split-off screen is given by the shell.
#[derive(Clone, Copy)]
pub struct ScreenProps {
    /// A memo, not a `Signal`: no signal plumbing for one more type in the overview's bundle.
    pub role: Memo<crate::api::Role>,
    pub instance_admin: Signal<bool>,
    pub on_login: Callback<()>,
}

macro_rules! screens {
    ($( $variant:ident => $function:ident |$props:ident| $body:expr ;)*) => {
        /// The split-off screens, one chunk each (code they share lands in shared chunks).
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub enum LazyScreen { $( $variant, )* }

        $(
            #[cfg_attr(not(feature = "unsplit"), wasm_split_helpers::wasm_split($function, fallible))]
            #[allow(unused_variables)]
            fn $function($props: ScreenProps, owner: Owner) -> Result<AnyView, LoadFailed> {
                // Built after an await: under the shell's owner, so the screen finds its context.
                Ok(owner.with(|| $body.into_any()))
            }
        )*

        async fn load(screen: LazyScreen, props: ScreenProps, owner: Owner) -> Result<AnyView, LoadFailed> {
            match screen {
                $(
                    #[cfg(not(feature = "unsplit"))]
                    LazyScreen::$variant => $function(props, owner).await,
                    #[cfg(feature = "unsplit")]
                    LazyScreen::$variant => $function(props, owner),
                )*
            }
        }
    };
}

screens! {
    Settings => settings |p| view! { <Settings role=p.role.into()/> };
    NewSite => new_site |p| view! { <NewSite/> };
    Reports => reports |p| view! { <Reports role=p.role.into()/> };
    Activity => activity |p| view! { <Activity/> };
    Alerts => alerts |p| view! { <Alerts/> };
    Bots => bots |p| view! { <Bots/> };
    Audit => audit |p| view! { <AuditLog instance_admin=p.instance_admin/> };
    Account => account |p| view! { <Account/> };
    // Metering is the instance admins' too: on their one screen, so it adds no split point
    // (and no bytes) to the overview (docs/metering.md).
    Users => users |p| view! { <UsersAdmin/><MeteringAdmin/> };
    AcceptInvite => accept_invite |p| view! { <AcceptInvite on_login=p.on_login/> };
    // An app's dashboard: the shell opens it instead of the overview for a site of kind app.
    AppUsage => app_usage |p| view! { <AppUsage/> };
}

impl LazyScreen {
    /// The split-off screen behind a tab; `None` for the overview, which is in the main bundle.
    pub fn of(tab: Tab) -> Option<LazyScreen> {
        Some(match tab {
            Tab::Overview => return None,
            Tab::Settings => LazyScreen::Settings,
            Tab::Reports => LazyScreen::Reports,
            Tab::Activity => LazyScreen::Activity,
            Tab::Alerts => LazyScreen::Alerts,
            Tab::Bots => LazyScreen::Bots,
            Tab::Audit => LazyScreen::Audit,
            Tab::Account => LazyScreen::Account,
            Tab::Users => LazyScreen::Users,
            Tab::NewSite => LazyScreen::NewSite,
        })
    }
}

/// What went wrong when a screen's chunk could not be loaded.
#[derive(Clone, Copy, PartialEq)]
enum Failure {
    /// index.html names another build: this page predates a deploy that removed its chunks.
    Outdated,
    /// The same build, so the network (or the server) failed: trying again may work.
    Unreachable,
}

/// The build this page runs (index.html's `<meta name="vigia-build">`).
fn running_build() -> Option<String> {
    let meta = web_sys::window()?
        .document()?
        .query_selector("meta[name=vigia-build]")
        .ok()??;
    meta.get_attribute("content")
}

/// Asks the server (past every cache) which build it now serves.
async fn served_build_differs() -> bool {
    let Some(running) = running_build() else {
        return false;
    };
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let Some(window) = web_sys::window() else {
        return false;
    };
    let Ok(response) =
        wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init("/", &init)).await
    else {
        return false;
    };
    let response: web_sys::Response = wasm_bindgen::JsCast::unchecked_into(response);
    let Ok(text) = response.text() else {
        return false;
    };
    let Ok(text) = wasm_bindgen_futures::JsFuture::from(text).await else {
        return false;
    };
    text.as_string()
        .is_some_and(|html| html.contains("vigia-build") && !html.contains(&running))
}

/// A chunk that has neither arrived nor failed by then is reported as slow (a request that
/// hangs on a bad network never fails by itself).
pub const SLOW_AFTER: std::time::Duration = std::time::Duration::from_secs(15);

fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// Shows a split-off screen once its chunk has arrived; says what to do when it cannot.
#[component]
pub fn Lazy(screen: LazyScreen, props: ScreenProps) -> impl IntoView {
    let slot = RwSignal::new_local(None::<Result<AnyView, Failure>>);
    let attempt = RwSignal::new(0u32);
    let slow = RwSignal::new(false);
    let done = StoredValue::new(false);
    let owner = Owner::current().unwrap_or_default();
    Effect::new(move |_| {
        attempt.get();
        done.set_value(false);
        slow.set(false);
        slot.set(None);
        let owner = owner.clone();
        set_timeout(
            move || {
                if done.try_get_value() == Some(false) {
                    slow.set(true);
                }
            },
            SLOW_AFTER,
        );
        leptos::task::spawn_local(async move {
            let loaded = match load(screen, props, owner).await {
                Ok(view) => Ok(view),
                Err(LoadFailed) if served_build_differs().await => Err(Failure::Outdated),
                Err(LoadFailed) => Err(Failure::Unreachable),
            };
            done.set_value(true);
            slot.set(Some(loaded));
        });
    });
    // The view is moved out once; only a new answer (or the slow notice, which comes only
    // while nothing has arrived) re-runs this.
    move || {
        slot.track();
        match slot.try_update_untracked(Option::take).flatten() {
            None if slow.get() => view! {
                <section class="card narrow" role="status" id="screen-slow">
                    <h2>"Still loading this screen"</h2>
                    <p>"The connection is slow. The screen appears as soon as it arrives; reloading the page starts over."</p>
                    <button class="primary" on:click=|_| reload()>"Reload"</button>
                </section>
            }.into_any(),
            None => view! { <p class="muted loading" role="status">"Loading…"</p> }.into_any(),
            Some(Ok(view)) => view,
            Some(Err(Failure::Outdated)) => view! {
                <section class="card narrow" role="alert" id="screen-outdated">
                    <h2>"Vigia was updated"</h2>
                    <p>"This page was opened before the update and the screen it asked for is gone. Reload to get the new version; nothing you saved is lost."</p>
                    <button class="primary" on:click=|_| reload()>"Reload"</button>
                </section>
            }.into_any(),
            Some(Err(Failure::Unreachable)) => view! {
                <section class="card narrow" role="alert" id="screen-failed">
                    <h2>"This screen could not be loaded"</h2>
                    <p>"Its file did not arrive. Check your connection, or try again in a moment."</p>
                    <button class="primary" on:click=move |_| attempt.update(|n| *n += 1)>"Try again"</button>
                </section>
            }.into_any(),
        }
    }
}
