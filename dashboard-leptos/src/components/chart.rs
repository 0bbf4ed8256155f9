//! The time-series chart: an SVG area/line chart with axes and a tooltip that follows the
//! pointer (one hover column per bucket). Drawn here rather than with a charting crate: the
//! Leptos-native one (leptos-chartistry) depends on leptos-use and chrono, and the whole
//! dashboard must stay under 250 KB gzip with ~11 KB to spare (not tried, so not measured).

use leptos::prelude::*;

use crate::api::Point;
use crate::api::Series;
use crate::format::{bucket_label, number};

// Whole units throughout: integer coordinates are sharp enough at this size, and keeping
// floats out of every formatted string keeps float formatting out of the bundle (~10 KB).
const WIDTH: i64 = 720;
const HEIGHT: i64 = 220;
const LEFT: i64 = 48;
const BOTTOM: i64 = 28;
const TOP: i64 = 12;

/// A "nice" axis maximum: four gridline steps of 1, 2 or 5 × 10ⁿ, reaching at least `max`.
fn nice_max(max: i64) -> i64 {
    let mut scale = 1;
    loop {
        for m in [1, 2, 5] {
            if 4 * m * scale >= max {
                return 4 * m * scale;
            }
        }
        scale *= 10;
    }
}

#[component]
pub fn Chart(series: Series) -> impl IntoView {
    let n = series.points.len().max(1);
    let max = nice_max(
        series
            .points
            .iter()
            .map(|p| p.pageviews.max(p.visitors))
            .max()
            .unwrap_or(0),
    );
    let plot_w = WIDTH - LEFT - 8;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = move |i: usize| {
        LEFT + if n == 1 {
            plot_w / 2
        } else {
            plot_w * i as i64 / (n - 1) as i64
        }
    };
    let y = move |v: i64| TOP + plot_h - plot_h * v / max;
    let line = |pick: fn(&Point) -> i64| {
        series
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}{},{}", if i == 0 { "M" } else { "L" }, x(i), y(pick(p))))
            .collect::<String>()
    };
    let pageviews_path = line(|p| p.pageviews);
    let visitors_path = line(|p| p.visitors);
    let area = format!("{pageviews_path}L{},{}L{},{}Z", x(n - 1), y(0), x(0), y(0));
    let gridlines = (0..=4)
        .map(|k| {
            let v = max * k / 4;
            view! {
                <line class="grid" x1=LEFT x2=WIDTH - 8 y1=y(v) y2=y(v)/>
                <text class="axis" x=LEFT - 6 y=y(v) + 4 text-anchor="end">{number(v, true)}</text>
            }
        })
        .collect_view();
    let every = (n / 6).max(1);
    let labels = series
        .points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, p)| {
            // Keep the outermost labels inside the drawing.
            let anchor = if i == 0 && n > 1 { "start" } else if i + every >= n && n > 1 { "end" } else { "middle" };
            view! { <text class="axis" x=x(i) y=HEIGHT - 8 text-anchor=anchor>{bucket_label(&p.label)}</text> }
        })
        .collect_view();
    let hovered = RwSignal::new(None::<usize>);
    let step = if n > 1 {
        (plot_w / (n - 1) as i64).max(1)
    } else {
        plot_w
    };
    let columns = (0..n)
        .map(|i| {
            view! {
                <rect class="hover" x=x(i) - step / 2 y=TOP width=step height=plot_h
                    on:mouseenter=move |_| hovered.set(Some(i))/>
            }
        })
        .collect_view();
    let points = series.points.clone();
    let marker = move || {
        hovered
            .get()
            .and_then(|i| points.get(i).map(|p| (i, p.clone())))
            .map(|(i, p)| {
                view! {
                    <line class="cursor" x1=x(i) x2=x(i) y1=TOP y2=TOP + plot_h/>
                    <circle class="dot" cx=x(i) cy=y(p.pageviews) r="4"/>
                    <circle class="dot visitors" cx=x(i) cy=y(p.visitors) r="4"/>
                }
            })
    };
    let points = series.points.clone();
    let tooltip = move || {
        hovered.get().and_then(|i| points.get(i).map(|p| (i, p.clone()))).map(|(i, p)| {
            let left = x(i) * 100 / WIDTH;
            let style = if left > 70 {
                format!("right:{}%", 100 - left)
            } else {
                format!("left:{left}%")
            };
            view! {
                <div class="tooltip" role="status" style=style>
                    <strong>{bucket_label(&p.label)}</strong>
                    <span class="key pageviews">{number(p.pageviews, false)} " page views"</span>
                    <span class="key visitors">{number(p.visitors, false)} " visitors"</span>
                </div>
            }
        })
    };
    view! {
        // Focusable: on a phone the chart scrolls sideways, and a keyboard must reach it to scroll.
        <figure class="chart" tabindex="0" on:mouseleave=move |_| hovered.set(None)>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="Page views and visitors over time">
                {gridlines}
                <path class="area" d=area/>
                <path class="line pageviews" d=pageviews_path/>
                <path class="line visitors" d=visitors_path/>
                {labels}
                {marker}
                {columns}
            </svg>
            {tooltip}
            <figcaption>
                <span class="key pageviews">"Page views"</span>
                <span class="key visitors">"Visitors"</span>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nice_axis_maxima() {
        assert_eq!(super::nice_max(0), 4);
        assert_eq!(super::nice_max(7), 8);
        assert_eq!(super::nice_max(11), 20);
        assert_eq!(super::nice_max(430), 800);
        assert_eq!(super::nice_max(4_000), 4_000);
    }
}
