//! A breakdown panel: a few related dimensions as tabs, the top rows with bars, each row a
//! filter for the whole dashboard, and the full breakdown as CSV.

use leptos::prelude::*;

use crate::api::{self, Breakdown, Metrics as BreakdownRow};
use crate::format::{number, value_label};
use crate::state::View;
use api_types::stats::Dimension;

/// Which number a dimension ranks by, and its column title.
fn metric(dim: Dimension) -> (&'static str, fn(&BreakdownRow) -> i64) {
    match dim {
        Dimension::ExitPage => ("Exits", |m| m.visits),
        Dimension::Event | Dimension::Prop | Dimension::Outbound | Dimension::Download => {
            ("Events", |m| m.events)
        }
        _ => ("Visitors", |m| m.visitors),
    }
}

#[component]
pub fn Panel(
    title: &'static str,
    tabs: &'static [(Dimension, &'static str)],
    query: Memo<String>,
    read_only: bool,
) -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let active = RwSignal::new(0usize);
    let data = api::fetched::<Breakdown>(move || {
        format!(
            "/api/stats/breakdown?{}&dimension={}&limit=10",
            query.get(),
            tabs[active.get()].0
        )
    });
    view! {
        <section class="card panel" data-panel=title>
            <div class="panel-head">
                <h2>{title}</h2>
                <div class="tabs small" role="tablist" aria-label=title>
                    {tabs.iter().enumerate().map(|(i, (dim, label))| view! {
                        <button role="tab" data-dimension=dim.as_str() aria-selected=move || if active.get() == i { "true" } else { "false" } on:click=move |_| active.set(i)>{*label}</button>
                    }).collect_view()}
                </div>
            </div>
            <div role="tabpanel" aria-label=move || tabs[active.get()].1>{move || {
                let dimension = tabs[active.get()].0;
                let (column, pick) = metric(dimension);
                let dim = dimension.as_str();
                match data.get() {
                    None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                    Some(Ok(b)) if b.rows.is_empty() => view! { <p class="muted empty-state">"Nothing here for this period."</p> }.into_any(),
                    Some(Ok(b)) => {
                        let max = b.rows.iter().map(pick).max().unwrap_or(1).max(1);
                        view! {
                            <table class="breakdown" data-dimension=dim>
                                <thead><tr><th>{crate::format::dimension_label(dim)}</th><th class="num">{column}</th></tr></thead>
                                <tbody>
                                    {b.rows.into_iter().map(|row| {
                                        let n = pick(&row);
                                        let filter = format!("{dim}:{}", row.value);
                                        let label = value_label(dim, &row.value);
                                        let width = format!("width:{}%", n * 100 / max.max(1));
                                        view! {
                                            <tr>
                                                <td class="bar-cell">
                                                    <span class="bar-fill" style=width></span>
                                                    <button class="row-filter" title="Filter the dashboard by this"
                                                        on:click=move |_| view.update(|v| *v = v.with_filter(filter.clone()))>{label}</button>
                                                </td>
                                                <td class="num">{number(n, true)}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }
                }
            }}</div>
            {(!read_only).then(|| view! {
                <a class="csv" download="" href=move || format!("/api/stats/breakdown?{}&dimension={}&limit=100&format=csv", query.get(), tabs[active.get()].0)>"CSV"</a>
            })}
        </section>
    }
}
