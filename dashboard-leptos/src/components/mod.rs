pub mod account;
pub mod app;
pub mod app_usage;
pub mod audit;
pub mod bots;
pub mod chart;
pub mod lazy;
pub mod login;
pub mod metering;
pub mod overview;
pub mod panel;
pub mod records;
pub mod settings;

use leptos::prelude::*;

/// The line under a form that says what happened: `Ok` in green, `Err` as an alert.
pub fn status_line(status: RwSignal<Option<Result<String, String>>>) -> impl IntoView {
    move || {
        status.get().map(|s| match s {
            Ok(m) => view! { <p class="ok" role="status">{m}</p> }.into_any(),
            Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
        })
    }
}
