//! The overview: period and filters, realtime, KPI cards against the previous period, the
//! chart, every breakdown panel, goals and funnels, and exports.

use leptos::prelude::*;
use std::time::Duration;

use super::chart::Chart;
use super::panel::Panel;
use crate::api::{
    self, FunnelStats, Funnels, GoalKind, GoalStats, Metrics as Totals, Overview as OverviewData,
    Realtime,
};
use crate::format::{change, day, duration, filter_label, fixed, money, number, value_label};
use crate::state::View;
use api_types::stats::Dimension as D;

pub const PERIODS: [(&str, &str); 8] = [
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("month", "Month to date"),
    ("last_month", "Last month"),
    ("12mo", "Last 12 months"),
    ("custom", "Custom range"),
];

#[component]
pub fn Overview(role: Memo<crate::api::Role>, read_only: bool) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let query = Memo::new(move |_| view.with(|v| v.stats_query()));
    let data = api::fetched::<OverviewData>(move || format!("/api/stats/overview?{}", query.get()));
    let can_export = move || !read_only && role.get() >= crate::api::Role::Auditor;
    view! {
        <PeriodBar/>
        <FilterChips/>
        <LiveVisitors/>
        {move || match data.get() {
            None => view! { <p class="muted loading">"Loading numbers…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            Some(Ok(o)) => view! { <Numbers data=o/> }.into_any(),
        }}
        <div class="panels">
            <Panel title="Pages" tabs=&[(D::Page, "Top pages"), (D::EntryPage, "Entry pages"), (D::ExitPage, "Exit pages")] query=query read_only=read_only/>
            <Panel title="Sources" tabs=&[(D::Source, "Sources"), (D::Channel, "Channels"), (D::UtmSource, "UTM source"), (D::UtmMedium, "Medium"), (D::UtmCampaign, "Campaign"), (D::UtmTerm, "Term"), (D::UtmContent, "Content")] query=query read_only=read_only/>
            <Panel title="Locations" tabs=&[(D::Country, "Countries"), (D::Region, "Regions"), (D::City, "Cities")] query=query read_only=read_only/>
            <Panel title="Devices" tabs=&[(D::Browser, "Browsers"), (D::Os, "Operating systems"), (D::Device, "Devices")] query=query read_only=read_only/>
            <Panel title="Events" tabs=&[(D::Event, "Custom events"), (D::Prop, "Properties"), (D::Outbound, "Outbound links"), (D::Download, "Downloads")] query=query read_only=read_only/>
            <GoalsPanel query=query/>
        </div>
        <FunnelPanel query=query/>
        <Show when=can_export>
            <section class="card exports">
                <h2>"Export"</h2>
                <p class="muted">"Raw events of this period as CSV (at most 1,000,000 rows; columns are listed in the API description). Each breakdown panel has its own CSV link."</p>
                <a class="button" id="export-raw" download="" href=move || format!("/api/export/events?{}", query.get())>"Download raw events (CSV)"</a>
            </section>
        </Show>
    }
}

/// The period picker: presets and a custom range, kept in the view (and the URL).
#[component]
pub fn PeriodBar() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let from = RwSignal::new(view.with_untracked(|v| v.from.clone()));
    let to = RwSignal::new(view.with_untracked(|v| v.to.clone()));
    view! {
        <div class="periodbar">
            <label class="inline">"Period "
                <select id="period" on:change=move |ev| {
                    let p = event_target_value(&ev);
                    if p != "custom" { view.update(|v| v.period = p); } else {
                        view.update(|v| { v.period = p; if v.from.is_empty() { v.from = from.get_untracked(); v.to = to.get_untracked(); } });
                    }
                }>
                    {PERIODS.iter().map(|(id, label)| {
                        let selected = move || view.with(|v| v.period == *id);
                        view! { <option value=*id selected=selected>{*label}</option> }
                    }).collect_view()}
                </select>
            </label>
            <Show when=move || view.with(|v| v.period == "custom")>
                <form class="custom-range" on:submit=move |ev| {
                    ev.prevent_default();
                    view.update(|v| { v.from = from.get_untracked(); v.to = to.get_untracked(); });
                }>
                    <input type="date" aria-label="From" prop:value=from on:input=move |ev| from.set(event_target_value(&ev))/>
                    <span>"–"</span>
                    <input type="date" aria-label="To" prop:value=to on:input=move |ev| to.set(event_target_value(&ev))/>
                    <button type="submit">"Apply"</button>
                </form>
            </Show>
        </div>
    }
}

#[component]
fn FilterChips() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    move || {
        let filters = view.with(|v| v.filters.clone());
        (!filters.is_empty()).then(|| view! {
            <div class="chips" role="group" aria-label="Filters">
                {filters.into_iter().map(|f| {
                    let label = filter_label(&f);
                    // Named after its filter: with two chips, two "Remove filter" buttons say too little.
                    let name = format!("Remove filter {label}");
                    let remove = f.clone();
                    view! {
                        <span class="chip">{label}
                            <button class="chip-x" aria-label=name title="Remove filter"
                                on:click=move |_| view.update(|v| *v = v.without_filter(&remove))>"×"</button>
                        </span>
                    }
                }).collect_view()}
                <button class="link" on:click=move |_| view.update(|v| v.filters.clear())>"Clear all"</button>
            </div>
        })
    }
}

/// Visitors in the last five minutes, refreshed every ten seconds.
#[component]
fn LiveVisitors() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let tick = RwSignal::new(0u32);
    if let Ok(handle) =
        set_interval_with_handle(move || tick.update(|t| *t += 1), Duration::from_secs(10))
    {
        on_cleanup(move || handle.clear());
    }
    let live = api::fetched_when::<Realtime>(move || {
        tick.get();
        let site = view.with(|v| v.site.clone())?;
        Some(format!("/api/stats/realtime?site={}", api::encode(&site)))
    });
    move || {
        live.get().and_then(Result::ok).map(|r| view! {
        <section class="card realtime" id="realtime">
            <span class="pulse" aria-hidden="true"></span>
            <strong class="live-count">{number(r.visitors, false)}</strong>
            {if r.visitors == 1 { " current visitor" } else { " current visitors" }}
            <span class="muted">" (last 5 minutes)"</span>
            <ul class="live-pages">
                {r.pages.into_iter().take(5).map(|p| view! {
                    <li><span class="path">{p.value}</span>" "<span class="muted">{number(p.visitors, false)}</span></li>
                }).collect_view()}
            </ul>
        </section>
    })
    }
}

fn kpi(
    id: &'static str,
    label: &'static str,
    value: String,
    delta: Option<f64>,
    lower_is_better: bool,
) -> impl IntoView {
    let delta_view = delta.map(|d| {
        let good = if lower_is_better { d < 0.0 } else { d > 0.0 };
        let class = if d.abs() < 0.05 { "delta" } else if good { "delta good" } else { "delta bad" };
        let arrow = if d > 0.0 { "↑" } else if d < 0.0 { "↓" } else { "" };
        view! { <span class=class title="against the previous period">{format!("{arrow}{}%", fixed(d.abs(), 0))}</span> }
    });
    view! {
        <div class="kpi" data-kpi=id>
            <span class="label">{label}</span>
            <span class="value">{value}</span>
            {delta_view}
        </div>
    }
}

#[component]
fn Numbers(data: OverviewData) -> impl IntoView {
    let (t, p) = (&data.totals, &data.previous.totals);
    let c = |f: fn(&Totals) -> f64| change(f(t), f(p));
    let empty = t.pageviews == 0 && t.visits == 0;
    view! {
        <p class="range muted">
            {day(&data.range.from)} " – " {day(&data.range.to)} " · " {data.range.timezone.clone()}
            " · compared with " {day(&data.previous.range.from)} " – " {day(&data.previous.range.to)}
            // Imported history (another tool's export) is told apart from collected data.
            {(data.imported_days > 0).then(|| format!(" · includes imported data on {} of these days", data.imported_days))}
        </p>
        <section class="kpis">
            {kpi("visitors", "Unique visitors", number(t.visitors, false), c(|m| m.visitors as f64), false)}
            {kpi("visits", "Visits", number(t.visits, false), c(|m| m.visits as f64), false)}
            {kpi("pageviews", "Page views", number(t.pageviews, false), c(|m| m.pageviews as f64), false)}
            {kpi("views-per-visit", "Views per visit", fixed(t.views_per_visit, 1), c(|m| m.views_per_visit), false)}
            {kpi("bounce-rate", "Bounce rate", format!("{}%", fixed(t.bounce_rate, 0)), c(|m| m.bounce_rate), true)}
            {kpi("visit-duration", "Visit duration", duration(t.visit_duration_s), c(|m| m.visit_duration_s), false)}
            {kpi("engaged-time", "Engaged time", duration(t.engaged_s), c(|m| m.engaged_s), false)}
        </section>
        <section class="card">
            {if empty {
                view! { <p class="muted empty-state">"No visits in this period yet. Add the snippet (Site settings) and open a page of your site."</p> }.into_any()
            } else {
                view! { <Chart series=data.series.clone()/> }.into_any()
            }}
        </section>
    }
}

#[component]
fn GoalsPanel(query: Memo<String>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let data = api::fetched::<GoalStats>(move || format!("/api/stats/goals?{}", query.get()));
    view! {
        <section class="card panel" id="goals">
            <h2>"Goals"</h2>
            {move || match data.get() {
                None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(g)) if g.goals.is_empty() => view! {
                    <p class="muted">"No goals yet. Add an event or a page as a goal under Site settings."</p>
                }.into_any(),
                Some(Ok(g)) => view! {
                    <table class="breakdown">
                        <thead><tr><th>"Goal"</th><th class="num">"Uniques"</th><th class="num">"Total"</th><th class="num">"Conversion"</th><th class="num">"Revenue"</th></tr></thead>
                        <tbody>
                            {g.goals.into_iter().map(|goal| {
                                let page = goal.kind == GoalKind::Page;
                                let filter = format!("{}:{}", if page { "page" } else { "event" }, goal.value);
                                let label = if page { format!("Visit {}", goal.value) } else { goal.value.clone() };
                                // One line per currency; sums are never converted between them.
                                let revenue = goal.revenue.iter().map(|r| money(&r.amount, &r.currency)).collect::<Vec<_>>().join("\n");
                                view! {
                                    <tr>
                                        <td><button class="row-filter" on:click=move |_| view.update(|v| *v = v.with_filter(filter.clone()))>{label}</button></td>
                                        <td class="num">{number(goal.visitors, false)}</td>
                                        <td class="num">{number(goal.conversions, false)}</td>
                                        <td class="num conversion">{format!("{}%", fixed(goal.conversion_rate, 1))}</td>
                                        <td class="num revenue">{revenue}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn FunnelPanel(query: Memo<String>) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let funnels = api::fetched::<Funnels>(move || {
        let site = view.with(|v| v.site.clone()).unwrap_or_default();
        format!("/api/sites/{}/funnels", api::encode(&site))
    });
    let chosen = RwSignal::new(None::<i64>);
    let stats = api::fetched_when::<FunnelStats>(move || {
        let q = query.get();
        let id = chosen.get().or_else(|| {
            funnels.with(|f| {
                f.as_ref()
                    .and_then(|f| f.as_ref().ok())
                    .and_then(|f| f.funnels.first().map(|f| f.id))
            })
        })?;
        Some(format!("/api/stats/funnel?{q}&funnel={id}"))
    });
    move || {
        let list = funnels
            .get()
            .and_then(Result::ok)
            .map(|f| f.funnels)
            .unwrap_or_default();
        (!list.is_empty()).then(|| view! {
            <section class="card" id="funnel">
                <div class="panel-head">
                    <h2>"Funnel"</h2>
                    <select aria-label="Funnel" on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                        {list.into_iter().map(|f| view! { <option value=f.id.to_string()>{f.name}</option> }).collect_view()}
                    </select>
                </div>
                {move || match stats.get() {
                    None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                    Some(Ok(f)) => view! {
                        <ol class="funnel-steps">
                            {f.steps.into_iter().map(|s| {
                                let label = if s.kind == GoalKind::Page { format!("Visit {}", s.value) } else { value_label("event", &s.value) };
                                view! {
                                    <li class="funnel-step">
                                        <div class="step-head"><span>{label}</span>
                                            <span class="num"><strong>{number(s.visits, false)}</strong>{if s.visits == 1 { " visit · " } else { " visits · " }}{format!("{}%", fixed(s.conversion_rate, 1))}</span></div>
                                        <div class="bar"><span style=format!("width:{}%", fixed(s.conversion_rate, 1))></span></div>
                                        {(s.step > 1).then(|| view! { <span class="muted dropoff">{format!("{} dropped off ({}%)", number(s.dropoff, false), fixed(s.dropoff_rate, 1))}</span> })}
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    }.into_any(),
                }}
            </section>
        })
    }
}
