//! Your account (password, API tokens) and, for instance admins, the users.

use leptos::prelude::*;

use super::status_line;
use crate::api::{self, CreatedUser, MyInvitations, NewToken, Tokens, Users};
use crate::format::moment;
use api_types::users::{NewUser, PasswordChange, TokenBody};

#[component]
pub fn Account() -> impl IntoView {
    view! { <Invitations/> <Password/> <ApiTokens/> }
}

/// Invitations to sites: a person becomes a member only by accepting one here.
#[component]
fn Invitations() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let invitations = api::fetched::<MyInvitations>(move || {
        reload.get();
        "/api/me/invitations".into()
    });
    let status = RwSignal::new(None);
    let answer = move |path: String, accept: bool| {
        leptos::task::spawn_local(async move {
            let done = if accept {
                api::post::<()>(&path, &"{}").await
            } else {
                api::delete(&path).await
            };
            match done {
                Ok(()) if accept => status.set(Some(Ok(
                    "Accepted: the site is in your site list now (reload to see it).".into(),
                ))),
                Ok(()) => status.set(Some(Ok("Declined.".into()))),
                Err(e) => status.set(Some(Err(e.message))),
            }
            reload.update(|n| *n += 1);
        });
    };
    view! {
        {move || invitations.get().and_then(Result::ok).filter(|i| !i.invitations.is_empty() || status.get().is_some()).map(|i| view! {
            <section class="card" id="invitations">
                <h2>"Invitations"</h2>
                <table class="breakdown"><tbody>
                    {i.invitations.into_iter().map(|inv| {
                        let accept = format!("/api/me/invitations/{}/accept", inv.id);
                        let decline = format!("/api/me/invitations/{}", inv.id);
                        view! { <tr><td>{inv.site_name}<br/><span class="muted">{format!("{} as {}, from {}", inv.site, inv.role.as_str(), inv.invited_by)}</span></td>
                            <td class="num"><button on:click=move |_| answer(accept.clone(), true)>"Accept"</button>" "
                            <button class="link" on:click=move |_| answer(decline.clone(), false)>"Decline"</button></td></tr> }
                    }).collect_view()}
                </tbody></table>
                {status_line(status)}
            </section>
        })}
    }
}

#[component]
fn Password() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let status = RwSignal::new(None);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = api::json_body(&PasswordChange {
            current: current.get_untracked(),
            new: new.get_untracked(),
        });
        leptos::task::spawn_local(async move {
            match api::post::<serde_json::Value>("/api/me/password", &body).await {
                Ok(_) => {
                    status.set(Some(Ok(
                        "Password changed. Other sessions were logged out.".into(),
                    )));
                    current.set(String::new());
                    new.set(String::new());
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card">
            <h2>"Change password"</h2>
            <form on:submit=submit id="change-password" class="grid-form">
                <label>"Current password" <input type="password" autocomplete="current-password" required prop:value=current on:input=move |ev| current.set(event_target_value(&ev))/></label>
                <label>"New password (10 characters or more)" <input type="password" autocomplete="new-password" required prop:value=new on:input=move |ev| new.set(event_target_value(&ev))/></label>
                {status_line(status)}
                <button type="submit">"Change password"</button>
            </form>
        </section>
    }
}

#[component]
fn ApiTokens() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let tokens = api::fetched::<Tokens>(move || {
        reload.get();
        "/api/tokens".into()
    });
    let name = RwSignal::new(String::new());
    let days = RwSignal::new("90".to_string());
    let site = RwSignal::new(String::new());
    let fresh = RwSignal::new(None::<String>);
    let status = RwSignal::new(None);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let scope = site.get_untracked();
        let body = api::json_body(&TokenBody {
            name: name.get_untracked(),
            expires_in_days: Some(days.get_untracked().parse::<i64>().unwrap_or(90)),
            site: Some(scope.trim().to_string()).filter(|s| !s.is_empty()),
        });
        leptos::task::spawn_local(async move {
            match api::post::<NewToken>("/api/tokens", &body).await {
                Ok(t) => {
                    fresh.set(Some(t.token));
                    name.set(String::new());
                    status.set(None);
                    reload.update(|n| *n += 1);
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card" id="api-tokens">
            <h2>"API tokens"</h2>
            <p class="muted">"For the stats API (" <a href="/api/openapi.json">"OpenAPI description"</a> "): send " <code>"Authorization: Bearer <token>"</code> ". A token reads what you can read; it cannot change anything."</p>
            {move || fresh.get().map(|t| view! {
                <div class="fresh-token" role="status"><p>"Copy this token now; it will not be shown again:"</p><pre><code id="new-token">{t}</code></pre></div>
            })}
            <table class="breakdown">
                <tbody>
                    {move || tokens.get().and_then(Result::ok).map(|t| t.tokens.into_iter().map(|token| {
                        let id = token.id;
                        let used = token.last_used_at.map(|t| format!("last used {}", moment(t))).unwrap_or_else(|| "never used".into());
                        let used = format!("{used} · expires {}{}", moment(token.expires_at), token.site.map(|s| format!(" · {s} only")).unwrap_or_default());
                        // When it was made and used goes under the name: four columns do not fit a phone.
                        view! { <tr><td>{token.name}<br/><span class="muted">{format!("created {} · {used}", moment(token.created_at))}</span></td><td><code>{token.prefix}"…"</code></td>
                            <td class="num"><button class="link" on:click=move |_| { leptos::task::spawn_local(async move {
                                let _ = api::delete(&format!("/api/tokens/{id}")).await; reload.update(|n| *n += 1); }); }>"Revoke"</button></td></tr> }
                    }).collect_view())}
                </tbody>
            </table>
            <form class="inline-form" on:submit=create>
                <input required aria-label="Token name" placeholder="Reporting script" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                <select aria-label="Expires after" on:change=move |ev| days.set(event_target_value(&ev))>
                    <option value="30">"30 days"</option><option value="90" selected>"90 days"</option><option value="365">"365 days"</option>
                </select>
                <input aria-label="Only this site (optional)" placeholder="all my sites" prop:value=site on:input=move |ev| site.set(event_target_value(&ev))/>
                <button type="submit">"Create token"</button>
            </form>
            {status_line(status)}
        </section>
    }
}

#[component]
pub fn UsersAdmin() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let users = LocalResource::new(move || {
        reload.get();
        api::get::<Users>("/api/users")
    });
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let admin = RwSignal::new(false);
    let invite = RwSignal::new(true);
    let invite_url = RwSignal::new(None::<String>);
    let status = RwSignal::new(None);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = api::json_body(&NewUser {
            email: email.get_untracked(),
            password: (!invite.get_untracked()).then(|| password.get_untracked()),
            is_admin: admin.get_untracked(),
        });
        leptos::task::spawn_local(async move {
            match api::post::<CreatedUser>("/api/users", &body).await {
                Ok(made) => {
                    let link = made.invite_url;
                    status.set(Some(Ok(if link.is_some() {
                        "Invitation created: send them this link (it works once, for 7 days)."
                            .into()
                    } else {
                        "User created. Give them access under a site's settings.".into()
                    })));
                    invite_url.set(link);
                    email.set(String::new());
                    password.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => status.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <section class="card" id="users">
            <h2>"Users"</h2>
            {move || match users.get() {
                None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(u)) => view! {
                    <table class="breakdown"><tbody>
                        {u.users.into_iter().map(|user| {
                            let id = user.id;
                            view! { <tr><td>{user.email}{user.is_admin.then(|| view! { <br/><span class="muted">"instance admin"</span> })}</td>
                                <td class="num">{format!("{} site{}", user.sites, if user.sites == 1 { "" } else { "s" })}</td>
                                <td class="num"><button class="link" on:click=move |_| { leptos::task::spawn_local(async move {
                                    if let Err(e) = api::delete(&format!("/api/users/{id}")).await { status.set(Some(Err(e.message))); }
                                    reload.update(|n| *n += 1); }); }>"Delete"</button></td></tr> }
                        }).collect_view()}
                    </tbody></table>
                }.into_any(),
            }}
            <form on:submit=create id="new-user" class="grid-form">
                <label>"Email" <input type="email" required prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/></label>
                <label class="check"><input type="checkbox" prop:checked=invite on:change=move |ev| invite.set(event_target_checked(&ev))/>" Invite: they choose their own password through a link"</label>
                <Show when=move || !invite.get()>
                    <label>"Initial password (10+ characters; they change it under Account)" <input type="password" autocomplete="new-password" required prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/></label>
                </Show>
                <label class="check"><input type="checkbox" prop:checked=admin on:change=move |ev| admin.set(event_target_checked(&ev))/>" Instance admin (owner of every site)"</label>
                {status_line(status)}
                {move || invite_url.get().map(|u| view! { <pre class="snippet"><code id="invite-url">{u}</code></pre> })}
                <button type="submit">"Create user"</button>
            </form>
        </section>
    }
}
