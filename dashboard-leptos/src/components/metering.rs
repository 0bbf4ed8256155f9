//! The Metering screen (instance admins): per site or app and UTC month, the events, activity
//! records and app records received, stored and refused (`GET /api/admin/metering`), the
//! basis for pay-per-use. Split off the overview's wasm like the other rare screens.

use leptos::prelude::*;

use crate::api::{self, MeterRow, MeterSource, Metering};
use crate::format::number;

/// The sources, in the table's column order.
const SOURCES: [MeterSource; 3] = [MeterSource::Events, MeterSource::Activity, MeterSource::App];

/// Received, stored, refused for each source, then their totals.
type Counts = [[i64; 3]; 4];

/// One line of the table: a site (or app) in a month.
struct Line {
    month: String,
    site: String,
    deleted: bool,
    counts: Counts,
}

fn add(counts: &mut Counts, source: usize, r: &MeterRow) {
    for (i, n) in [r.received, r.stored, r.refused].into_iter().enumerate() {
        counts[source][i] += n;
        counts[3][i] += n;
    }
}

/// The answer's rows (newest month first, then by site) folded into one line per site and
/// month, and the totals of every line.
fn lines(rows: &[MeterRow]) -> (Vec<Line>, Counts) {
    let mut out: Vec<Line> = Vec::new();
    let mut totals = Counts::default();
    for r in rows {
        let source = SOURCES.iter().position(|s| *s == r.source).unwrap_or(0);
        let same = out
            .last()
            .is_some_and(|l| l.month == r.month && l.site == r.site && l.deleted == r.deleted);
        if !same {
            out.push(Line {
                month: r.month.clone(),
                site: r.site.clone(),
                deleted: r.deleted,
                counts: Counts::default(),
            });
        }
        if let Some(line) = out.last_mut() {
            add(&mut line.counts, source, r);
        }
        add(&mut totals, source, r);
    }
    (out, totals)
}

/// Text for HTML: site ids are plain already, but nothing read from the API goes in raw.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

fn cells(html: &mut String, counts: &Counts) {
    for n in counts.iter().flatten() {
        html.push_str("<td class=\"num\">");
        html.push_str(&number(*n, false));
        html.push_str("</td>");
    }
}

/// The table as HTML text: a read-only table built by hand is a fraction of the wasm the same
/// table costs as a typed view (measured: docs/metering.md).
fn table(rows: &[MeterRow]) -> String {
    let (lines, totals) = lines(rows);
    if lines.is_empty() {
        return "<p class=\"muted empty-state\">None.</p>".into();
    }
    let mut html = String::from(
        "<div class=\"table-scroll\" tabindex=\"0\"><table class=\"breakdown\" id=\"metering-table\">\
         <thead><tr><th scope=\"col\" rowspan=\"2\">Month</th><th scope=\"col\" rowspan=\"2\">Site or app</th>",
    );
    for source in ["Events", "Activity", "App records", "Total"] {
        html.push_str("<th scope=\"colgroup\" colspan=\"3\" class=\"num\">");
        html.push_str(source);
        html.push_str("</th>");
    }
    html.push_str("</tr><tr>");
    for _ in 0..4 {
        html.push_str(
            "<th scope=\"col\" class=\"num\">Received</th><th scope=\"col\" class=\"num\">Stored</th>\
             <th scope=\"col\" class=\"num\">Refused</th>",
        );
    }
    html.push_str("</tr></thead><tbody>");
    for l in &lines {
        html.push_str("<tr><td>");
        html.push_str(&l.month);
        html.push_str("</td><td>");
        html.push_str(&escape(&l.site));
        if l.deleted {
            html.push_str(" (deleted)");
        }
        html.push_str("</td>");
        cells(&mut html, &l.counts);
        html.push_str("</tr>");
    }
    html.push_str(
        "</tbody><tfoot><tr id=\"metering-totals\"><th scope=\"row\" colspan=\"2\">Total</th>",
    );
    cells(&mut html, &totals);
    html.push_str("</tr></tfoot></table></div>");
    html
}

#[component]
pub fn MeteringAdmin() -> impl IntoView {
    // `YYYY-MM`, or empty (the picker cleared) for every month kept.
    let month = RwSignal::new(String::new());
    let answer = api::fetched::<Metering>(move || {
        format!("/api/admin/metering?month={}", api::encode(&month.get()))
    });
    view! {
        <section class="card" id="metering">
            <h2>"Metering"</h2>
            <p class="muted">"Per site or app and UTC month."</p>
            <label>"Month "
                <input type="month" id="metering-month" prop:value=month
                    on:change=move |ev| month.set(event_target_value(&ev))/>
            </label>
            {move || match answer.get() {
                None => view! { <p class="muted" role="status">"Loading…"</p> }.into_any(),
                Some(Err(m)) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
                Some(Ok(a)) => view! { <div inner_html=table(&a.rows)></div> }.into_any(),
            }}
        </section>
    }
}
