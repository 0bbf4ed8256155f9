//! The shell: decides between setup notice, login form and the dashboard.

use leptos::prelude::*;

use super::login::Login;
use super::overview::Overview;
use crate::api::{self, SetupStatus};

#[derive(Clone, Copy, PartialEq)]
enum Screen {
    Loading,
    NeedsSetup,
    Login,
    Dashboard,
}

#[component]
pub fn App() -> impl IntoView {
    let screen = RwSignal::new(Screen::Loading);
    let failure = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
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
                           " (it creates the first admin) or POST to " <code>"/api/setup"</code> "."</p>
                    </section>
                }.into_any(),
                Screen::Login => view! { <Login on_login=on_login/> }.into_any(),
                Screen::Dashboard => view! { <Overview on_logout=on_logout/> }.into_any(),
            }}
        </main>
    }
}
