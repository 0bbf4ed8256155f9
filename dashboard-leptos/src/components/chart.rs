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

/// Where values and buckets land in the drawing: the axis maximum and the plot's size.
#[derive(Clone, Copy)]
struct Scale {
    /// Buckets (at least 1).
    n: usize,
    max: i64,
    plot_w: i64,
    plot_h: i64,
}

impl Scale {
    fn of(points: &[Point]) -> Scale {
        let max = points
            .iter()
            .map(|p| p.pageviews.max(p.visitors))
            .max()
            .unwrap_or(0);
        Scale {
            n: points.len().max(1),
            max: nice_max(max),
            plot_w: WIDTH - LEFT - 8,
            plot_h: HEIGHT - TOP - BOTTOM,
        }
    }

    fn x(self, i: usize) -> i64 {
        LEFT + if self.n == 1 {
            self.plot_w / 2
        } else {
            self.plot_w * i as i64 / (self.n - 1) as i64
        }
    }

    fn y(self, v: i64) -> i64 {
        TOP + self.plot_h - self.plot_h * v / self.max
    }

    /// Width of one bucket's hover column.
    fn step(self) -> i64 {
        if self.n > 1 {
            (self.plot_w / (self.n - 1) as i64).max(1)
        } else {
            self.plot_w
        }
    }
}

/// An SVG path through one number of every point.
fn line(points: &[Point], s: Scale, pick: fn(&Point) -> i64) -> String {
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "{}{},{}",
                if i == 0 { "M" } else { "L" },
                s.x(i),
                s.y(pick(p))
            )
        })
        .collect()
}

/// Four horizontal gridlines with their values.
fn gridlines(s: Scale) -> impl IntoView {
    (0..=4)
        .map(|k| {
            let v = s.max * k / 4;
            view! {
                <line class="grid" x1=LEFT x2=WIDTH - 8 y1=s.y(v) y2=s.y(v)/>
                <text class="axis" x=LEFT - 6 y=s.y(v) + 4 text-anchor="end">{number(v, true)}</text>
            }
        })
        .collect_view()
}

/// About six bucket labels along the bottom.
fn axis_labels(points: &[Point], s: Scale) -> impl IntoView {
    let n = s.n;
    let every = (n / 6).max(1);
    points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, p)| {
            // Keep the outermost labels inside the drawing.
            let anchor = if i == 0 && n > 1 { "start" } else if i + every >= n && n > 1 { "end" } else { "middle" };
            view! { <text class="axis" x=s.x(i) y=HEIGHT - 8 text-anchor=anchor>{bucket_label(&p.label)}</text> }
        })
        .collect_view()
}

/// One invisible column per bucket: hovering it picks the bucket.
fn hover_columns(s: Scale, hovered: RwSignal<Option<usize>>) -> impl IntoView {
    let step = s.step();
    (0..s.n)
        .map(|i| {
            view! {
                <rect class="hover" x=s.x(i) - step / 2 y=TOP width=step height=s.plot_h
                    on:mouseenter=move |_| hovered.set(Some(i))/>
            }
        })
        .collect_view()
}

/// The hovered bucket's cursor line and dots.
fn marker(points: Vec<Point>, s: Scale, hovered: RwSignal<Option<usize>>) -> impl IntoView {
    move || {
        hovered
            .get()
            .and_then(|i| points.get(i).map(|p| (i, p.clone())))
            .map(|(i, p)| {
                view! {
                    <line class="cursor" x1=s.x(i) x2=s.x(i) y1=TOP y2=TOP + s.plot_h/>
                    <circle class="dot" cx=s.x(i) cy=s.y(p.pageviews) r="4"/>
                    <circle class="dot visitors" cx=s.x(i) cy=s.y(p.visitors) r="4"/>
                }
            })
    }
}

/// The hovered bucket's numbers, beside the pointer.
fn tooltip(points: Vec<Point>, s: Scale, hovered: RwSignal<Option<usize>>) -> impl IntoView {
    move || {
        hovered.get().and_then(|i| points.get(i).map(|p| (i, p.clone()))).map(|(i, p)| {
            let left = s.x(i) * 100 / WIDTH;
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
    }
}

#[component]
pub fn Chart(series: Series) -> impl IntoView {
    let points = series.points;
    let s = Scale::of(&points);
    let pageviews_path = line(&points, s, |p| p.pageviews);
    let visitors_path = line(&points, s, |p| p.visitors);
    let area = format!(
        "{pageviews_path}L{},{}L{},{}Z",
        s.x(s.n - 1),
        s.y(0),
        s.x(0),
        s.y(0)
    );
    let hovered = RwSignal::new(None::<usize>);
    view! {
        // Focusable: on a phone the chart scrolls sideways, and a keyboard must reach it to scroll.
        <figure class="chart" tabindex="0" on:mouseleave=move |_| hovered.set(None)>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label="Page views and visitors over time">
                {gridlines(s)}
                <path class="area" d=area/>
                <path class="line pageviews" d=pageviews_path/>
                <path class="line visitors" d=visitors_path/>
                {axis_labels(&points, s)}
                {marker(points.clone(), s, hovered)}
                {hover_columns(s, hovered)}
            </svg>
            {tooltip(points, s, hovered)}
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
