//! The audit log: who did what, when and from where — read-only, newest first.

use leptos::prelude::*;

use super::records::{Kind, Records};
use crate::api;
use crate::state::View;

/// The table's columns, each named by a field of the API's `AuditEntry`
/// (`api_types::audit`): a field renamed or removed there fails to compile here.
macro_rules! entry_columns {
    ($( $field:ident: $title:literal, $kind:expr );* $(;)?) => {{
        #[allow(dead_code)]
        fn named_by_the_api(entry: &api_types::audit::AuditEntry) {
            $( let _ = &entry.$field; )*
        }
        &[ $( (stringify!($field), $title, $kind) ),* ]
    }};
}

#[component]
pub fn AuditLog(instance_admin: Signal<bool>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let whole = RwSignal::new(false);
    let url = Signal::derive(move || {
        if whole.get() {
            "/api/audit?limit=50".to_string()
        } else {
            let site = view.with(|v| v.site.clone()).unwrap_or_default();
            format!("/api/sites/{}/audit?limit=50", api::encode(&site))
        }
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
            <Records id="audit-entries" url=url list="entries" columns=entry_columns![
                at: "When", Kind::Time; actor_email: "Who", Kind::Text; action: "What", Kind::Label;
                site_id: "Site", Kind::Text; target: "Target", Kind::Text; outcome: "Result", Kind::Outcome;
                country: "From", Kind::Origin;
            ]/>
        </section>
    }
}
