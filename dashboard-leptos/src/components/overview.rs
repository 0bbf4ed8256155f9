//! The overview: site picker, range picker, KPI cards, chart and top pages.

use leptos::prelude::*;

use super::chart::Chart;
use crate::api::{self, Overview as OverviewData, Sites};
use crate::format::{day_string, number};

/// The ranges offered, as (label, days back for `from`).
const RANGES: [(&str, i64); 3] = [("Today", 0), ("Last 7 days", 6), ("Last 30 days", 29)];

#[component]
pub fn Overview(on_logout: Callback<()>) -> impl IntoView {
    let site = RwSignal::new(None::<String>);
    let range = RwSignal::new(1usize);
    let sites = LocalResource::new(|| api::get::<Sites>("/api/sites"));
    Effect::new(move |_| {
        if let Some(Ok(list)) = sites.get() {
            if site.get_untracked().is_none() {
                site.set(list.sites.first().map(|s| s.id.clone()));
            }
        }
    });
    let data = LocalResource::new(move || {
        let chosen = site.get();
        let days_back = RANGES[range.get()].1;
        async move {
            match chosen {
                Some(s) => Some(api::overview(&s, &day_string(days_back), &day_string(0)).await),
                None => None,
            }
        }
    });
    let logout = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::post::<_, serde_json::Value>("/api/logout", &()).await;
            on_logout.run(());
        });
    };

    view! {
        <div class="toolbar">
            <label class="site-picker">"Site "
                <select on:change=move |ev| site.set(Some(event_target_value(&ev)))>
                    {move || sites.get().and_then(Result::ok).map(|list| list.sites.into_iter().map(|s| {
                        let selected = site.get().as_deref() == Some(s.id.as_str());
                        view! { <option value=s.id.clone() selected=selected>{s.name}</option> }
                    }).collect_view())}
                </select>
            </label>
            <div class="ranges" role="group" aria-label="Date range">
                {RANGES.iter().enumerate().map(|(i, (label, _))| view! {
                    <button class:active=move || range.get() == i on:click=move |_| range.set(i)>{*label}</button>
                }).collect_view()}
            </div>
            <button class="link" on:click=logout>"Log out"</button>
        </div>
        {move || match sites.get() {
            Some(Ok(list)) if list.sites.is_empty() => view! {
                <section class="card empty"><p>"No sites yet."</p></section>
            }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
            _ => view! { <OverviewBody data=data/> }.into_any(),
        }}
    }
}

#[component]
fn OverviewBody(
    data: LocalResource<Option<Result<OverviewData, api::ApiFailure>>>,
) -> impl IntoView {
    move || match data.get().flatten() {
        None => view! { <p class="muted loading">"Loading numbers…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        Some(Ok(o)) => {
            let views_per_visit = if o.totals.visits > 0 {
                format!("{:.1}", o.totals.pageviews as f64 / o.totals.visits as f64)
            } else {
                "–".into()
            };
            let empty = o.totals.pageviews == 0;
            view! {
                <section class="kpis">
                    <div class="kpi" data-kpi="visitors"><span class="label">"Unique visitors"</span>
                        <span class="value">{number(o.totals.visitors, false)}</span></div>
                    <div class="kpi" data-kpi="visits"><span class="label">"Visits"</span>
                        <span class="value">{number(o.totals.visits, false)}</span></div>
                    <div class="kpi" data-kpi="pageviews"><span class="label">"Page views"</span>
                        <span class="value">{number(o.totals.pageviews, false)}</span></div>
                    <div class="kpi" data-kpi="views-per-visit"><span class="label">"Views per visit"</span>
                        <span class="value">{views_per_visit}</span></div>
                </section>
                <section class="card">
                    <Chart series=o.series.clone()/>
                </section>
                <section class="card">
                    <h2>"Top pages"</h2>
                    {if empty {
                        view! { <p class="muted">"No page views in this range yet. Add the snippet to your site and visit a page."</p> }.into_any()
                    } else {
                        view! {
                            <table class="breakdown" id="top-pages">
                                <thead><tr><th>"Page"</th><th class="num">"Visitors"</th><th class="num">"Page views"</th></tr></thead>
                                <tbody>
                                    {o.pages.iter().map(|p| view! {
                                        <tr><td class="path">{p.path.clone()}</td>
                                            <td class="num">{number(p.visitors, false)}</td>
                                            <td class="num">{number(p.pageviews, false)}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                </section>
            }.into_any()
        }
    }
}
