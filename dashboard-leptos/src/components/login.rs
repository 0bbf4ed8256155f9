//! The login form.

use crate::api;
use leptos::prelude::*;

#[component]
pub fn Login(on_login: Callback<()>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let body = api::body(&[
            ("email", &email.get_untracked()),
            ("password", &password.get_untracked()),
        ]);
        leptos::task::spawn_local(async move {
            match api::post::<()>("/api/login", &body).await {
                Ok(_) => on_login.run(()),
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card narrow">
            <h1>"Log in"</h1>
            <form on:submit=submit id="login-form">
                <label>"Email"
                    <input type="email" name="email" autocomplete="username" required
                        prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/>
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="current-password" required
                        prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
                {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                <button type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Logging in…" } else { "Log in" }}
                </button>
            </form>
        </section>
    }
}

/// The page an invitation link opens: choose a password, and you are in.
#[component]
pub fn AcceptInvite(on_login: Callback<()>) -> impl IntoView {
    let view = expect_context::<RwSignal<crate::state::View>>();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let token = view
            .with_untracked(|v| v.invite.clone())
            .unwrap_or_default();
        let body = serde_json::json!({ "token": token, "password": password.get_untracked() });
        leptos::task::spawn_local(async move {
            match api::post::<serde_json::Value>("/api/invites/accept", &body).await {
                Ok(_) => {
                    view.update(|v| v.invite = None);
                    on_login.run(());
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <section class="card narrow">
            <h1>"Welcome to Vigia"</h1>
            <p class="muted">"You were invited. Choose a password (10 characters or more) to finish."</p>
            <form on:submit=submit id="accept-invite">
                <label>"Password"
                    <input type="password" name="new-password" autocomplete="new-password" required
                        prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
                {move || error.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                <button type="submit">"Set password and continue"</button>
            </form>
        </section>
    }
}
