//! Vigia's dashboard, a client-side Leptos app served as static assets by the Worker.

mod api;
mod components;
mod format;
mod state;

fn main() {
    leptos::mount::mount_to_body(components::app::App);
}
