//! The App screen: what a vendor sees of an app (a site of kind `app`) — installs, daily and
//! monthly active installs, sessions and active time, a daily chart, versions, OS, top
//! features and errors, records the agents dropped, and retention by cohort week. One request
//! (`GET /api/sites/{site}/app/stats`); split off the overview's wasm like the other screens
//! (an app site opens it instead of the web overview), so none of it is fetched for a web site.

use leptos::prelude::*;

use crate::api::{self, AppStats, Cohort, CountedValue, DailyActive};
use crate::components::overview::PeriodBar;
use crate::format::{day, duration, fixed, number};
use crate::state::{Tab, View};

/// The stats API's query for the view's period (an app has no filters).
fn stats_path(v: &View) -> String {
    let site = api::encode(v.site.as_deref().unwrap_or_default());
    let mut path = format!(
        "/api/sites/{site}/app/stats?period={}",
        api::encode(&v.period)
    );
    if v.period == "custom" {
        path.push_str(&format!(
            "&from={}&to={}",
            api::encode(&v.from),
            api::encode(&v.to)
        ));
    }
    path
}

/// `part` of `whole` in percent, rounded to a whole number ("–" when there is no whole).
fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "–".into();
    }
    format!("{}%", fixed(part as f64 * 100.0 / whole as f64, 0))
}

/// "1 install" / "2 installs".
fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", number(n, false), if n == 1 { one } else { many })
}

#[component]
pub fn AppUsage() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    let answer = api::fetched::<AppStats>(move || view.with(stats_path));
    view! {
        <section class="card" id="app-usage">
            <h2>"App usage"</h2>
            <p class="muted">"Installs that reported through the usage agent, in the app's time zone. An install is one copy of the app on one computer (a random id the agent made; no hardware id)."</p>
            <PeriodBar/>
        </section>
        {move || match answer.get() {
            None => view! { <p class="muted loading" role="status">"Loading numbers…"</p> }.into_any(),
            Some(Err(m)) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            Some(Ok(s)) if s.installs_total == 0 => view! { <NoInstalls/> }.into_any(),
            Some(Ok(s)) => view! { <Usage stats=s/> }.into_any(),
        }}
    }
}

/// No install has ever reported: how to embed the agent.
#[component]
fn NoInstalls() -> impl IntoView {
    let view = expect_context::<RwSignal<View>>();
    view! {
        <section class="card empty" id="app-empty">
            <h2>"No installs have reported yet"</h2>
            <p>"Embed the usage agent in your app: add the " <code>"vigia-agent"</code>
               " crate, start it with this app's public key, and call " <code>"feature(…)"</code>
               " and " <code>"error(…)"</code> " where they happen. It keeps a bounded log on the computer and uploads it in the background; the first install appears here after its first upload."</p>
            <p>"Site settings shows the app key and a snippet to copy. The agent's guide is docs/agent.md."</p>
            <button class="primary" on:click=move |_| view.update(|v| v.tab = Tab::Settings)>"Open Site settings"</button>
        </section>
    }
}

fn kpi(id: &'static str, label: &'static str, value: String, title: &'static str) -> impl IntoView {
    view! {
        <div class="kpi" data-kpi=id title=title>
            <span class="label">{label}</span>
            <span class="value">{value}</span>
        </div>
    }
}

#[component]
fn Usage(stats: AppStats) -> impl IntoView {
    let s = stats;
    let per_session = if s.sessions > 0 {
        duration(s.active_ms as f64 / 1000.0 / s.sessions as f64)
    } else {
        "–".into()
    };
    view! {
        <section class="kpis" aria-label="Totals">
            {kpi("installs", "Installs", number(s.installs_total, false), "Installs ever seen (erased ones are gone)")}
            {kpi("new-installs", "New installs", number(s.installs_new, false), "First seen in this period")}
            {kpi("active-installs", "Active installs", number(s.active_installs, false), "Installs that sent a record in this period")}
            {kpi("dau", "Daily active (avg)", fixed(s.dau, 1), "Average of each day's active installs")}
            {kpi("mau", "Monthly active", number(s.mau, false), "Installs active in the 30 days to the period's end")}
            {kpi("sessions", "Sessions", number(s.sessions, false), "Sessions started in this period")}
            {kpi("active-time", "Active time", duration(s.active_ms as f64 / 1000.0), "Time users were active, summed over ended sessions")}
            {kpi("per-session", "Per session", per_session, "Active time per session")}
            {kpi("users", "Confirmed users", number(s.confirmed_users, false), "Installs linked to an email its user confirmed")}
        </section>
        {(s.dropped > 0).then(|| view! {
            <p class="notice" id="app-dropped" role="note">
                {format!("The agents dropped {} from full local logs in this period (oldest first): those were never uploaded, so the numbers here miss them.", plural(s.dropped, "record", "records"))}
            </p>
        })}
        <section class="card" aria-labelledby="app-daily-title">
            <h2 id="app-daily-title">"Daily active installs"</h2>
            <DailyChart days=s.daily/>
        </section>
        <div class="panels">
            {table("app-versions", "Versions", "Version", "Installs", s.versions, false)}
            {table("app-os", "Operating systems", "OS", "Installs", s.os, false)}
            {table("app-features", "Top features", "Feature", "Uses", s.features, true)}
            {table("app-errors", "Top errors", "Error", "Errors", s.errors, true)}
        </div>
        <Cohorts cohorts=s.cohorts/>
    }
}

/// How an OS's wire name reads.
fn os_label(os: &str) -> &str {
    match os {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        "other" => "Other",
        "" => "Unknown",
        other => other,
    }
}

/// A table of values with their installs, and (features, errors) the records counted.
fn table(
    id: &'static str,
    title: &'static str,
    head: &'static str,
    count_head: &'static str,
    rows: Vec<CountedValue>,
    with_count: bool,
) -> impl IntoView {
    let empty = rows.is_empty();
    view! {
        <section class="card panel" aria-labelledby=format!("{id}-title")>
            <h2 id=format!("{id}-title")>{title}</h2>
            {if empty {
                view! { <p class="muted empty-state">"None in this period."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="breakdown" id=id>
                            <thead><tr>
                                <th scope="col">{head}</th>
                                <th scope="col" class="num">"Installs"</th>
                                {with_count.then(|| view! { <th scope="col" class="num">{count_head}</th> })}
                            </tr></thead>
                            <tbody>{rows.into_iter().map(|r| {
                                let value = if id == "app-os" { os_label(&r.value).to_string() } else if r.value.is_empty() { "Unknown".into() } else { r.value };
                                view! {
                                    <tr>
                                        <td data-key="value">{value}</td>
                                        <td data-key="installs" class="num">{number(r.installs, false)}</td>
                                        {with_count.then(|| view! { <td data-key="count" class="num">{number(r.count, false)}</td> })}
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

// The chart's drawing, in whole units (no float formatting in the strings).
const WIDTH: i64 = 720;
const HEIGHT: i64 = 200;
const LEFT: i64 = 40;
const TOP: i64 = 10;
const BOTTOM: i64 = 26;

/// The axis maximum: at least 4, a multiple of 4 so the four gridlines fall on whole numbers.
fn axis_max(max: i64) -> i64 {
    ((max.max(1) + 3) / 4) * 4
}

/// One bar per day (active installs), a native tooltip on each with the day's sessions. Not
/// the overview's chart: that one draws page views and visitors under those names, and making
/// its labels parameters would add bytes to the overview's bundle.
#[component]
fn DailyChart(days: Vec<DailyActive>) -> impl IntoView {
    if days.is_empty() {
        return view! { <p class="muted empty-state">"No active installs in this period."</p> }
            .into_any();
    }
    let n = days.len() as i64;
    let max = axis_max(days.iter().map(|d| d.installs).max().unwrap_or(0));
    let plot_w = WIDTH - LEFT - 8;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n;
    let bar = (slot * 3 / 4).max(1);
    let y = move |v: i64| TOP + plot_h - plot_h * v / max;
    let peak = days.iter().map(|d| d.installs).max().unwrap_or(0);
    let label = format!(
        "Daily active installs, {} to {}: at most {} on a day",
        day(&days[0].day),
        day(&days[days.len() - 1].day),
        number(peak, false)
    );
    let every = (days.len() / 6).max(1);
    view! {
        <figure class="chart" id="app-daily" tabindex="0">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
                {(0..=4).map(|k| {
                    let v = max * k / 4;
                    view! {
                        <line class="grid" x1=LEFT x2=WIDTH - 8 y1=y(v) y2=y(v)/>
                        <text class="axis" x=LEFT - 6 y=y(v) + 4 text-anchor="end">{number(v, true)}</text>
                    }
                }).collect_view()}
                {days.iter().enumerate().map(|(i, d)| {
                    let x = LEFT + slot * i as i64 + (slot - bar) / 2;
                    let tip = format!("{}: {}, {}", day(&d.day), plural(d.installs, "active install", "active installs"), plural(d.sessions, "session", "sessions"));
                    view! {
                        <rect class="dot" data-day=d.day.clone() data-installs=d.installs x=x y=y(d.installs) width=bar height=y(0) - y(d.installs)>
                            <title>{tip}</title>
                        </rect>
                    }
                }).collect_view()}
                {days.iter().enumerate().filter(|(i, _)| i % every == 0).map(|(i, d)| {
                    let x = LEFT + slot * i as i64 + slot / 2;
                    view! { <text class="axis" x=x y=HEIGHT - 8 text-anchor="middle">{day(&d.day).split(',').next().unwrap_or_default().to_string()}</text> }
                }).collect_view()}
            </svg>
            <figcaption class="muted">"Each bar is a day's active installs; point at one for its sessions."</figcaption>
        </figure>
    }
    .into_any()
}

/// Retention by cohort week: installs first seen in a week (rows), and the share of them
/// active in each later week (columns), with the counts in each cell's title.
#[component]
fn Cohorts(cohorts: Vec<Cohort>) -> impl IntoView {
    let weeks = cohorts.iter().map(|c| c.active.len()).max().unwrap_or(0);
    view! {
        <section class="card" aria-labelledby="app-cohorts-title">
            <h2 id="app-cohorts-title">"Retention by cohort week"</h2>
            <p class="muted">"Each row is the installs first seen in a week (weeks start on Monday); each column the share of them active that many weeks later."</p>
            {if cohorts.is_empty() {
                view! { <p class="muted empty-state">"No cohorts in this period."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Retention table">
                        <table class="breakdown" id="app-cohorts">
                            <thead><tr>
                                <th scope="col">"First seen (week of)"</th>
                                <th scope="col" class="num">"Installs"</th>
                                {(0..weeks).map(|w| view! { <th scope="col" class="num">{format!("Week {w}")}</th> }).collect_view()}
                            </tr></thead>
                            <tbody>{cohorts.into_iter().map(|c| {
                                let installs = c.installs;
                                view! {
                                    <tr data-week=c.week.clone()>
                                        <th scope="row">{day(&c.week)}</th>
                                        <td class="num" data-key="installs">{number(installs, false)}</td>
                                        {(0..weeks).map(|w| match c.active.get(w) {
                                            Some(&a) => view! {
                                                <td class="num" data-active=a title=format!("{} of {} active in week {w}", number(a, false), plural(installs, "install", "installs"))>{percent(a, installs)}</td>
                                            }.into_any(),
                                            None => view! { <td class="num muted" title="Not reached yet">""</td> }.into_any(),
                                        }).collect_view()}
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_cells_read_as_whole_percentages() {
        assert_eq!(percent(3, 4), "75%");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(2, 3), "67%");
        assert_eq!(percent(0, 5), "0%");
        assert_eq!(percent(5, 5), "100%");
        // A cohort of no installs has no share to show.
        assert_eq!(percent(0, 0), "–");
    }

    #[test]
    fn the_axis_ends_on_a_multiple_of_four_at_or_above_the_peak() {
        assert_eq!(axis_max(0), 4);
        assert_eq!(axis_max(1), 4);
        assert_eq!(axis_max(4), 4);
        assert_eq!(axis_max(5), 8);
        assert_eq!(axis_max(103), 104);
    }

    #[test]
    fn os_names_read_as_people_write_them() {
        assert_eq!(os_label("macos"), "macOS");
        assert_eq!(os_label("windows"), "Windows");
        assert_eq!(os_label(""), "Unknown");
        assert_eq!(os_label("haiku"), "haiku");
        assert_eq!(plural(1, "install", "installs"), "1 install");
        assert_eq!(plural(1200, "install", "installs"), "1,200 installs");
    }
}
