//! The report as mail: a subject, a plain-text part and an HTML part that mail clients render
//! without scripts or external images (tables and inline styles; the chart is table cells).

use crate::governance::compliance::escape_html;
use crate::stats::period::Period;
use crate::stats::query::MetricsRow;
use crate::stats::rollup::Dimension;

use super::schedule::ReportKind;

/// Rows per top list in a report.
pub const TOP_ROWS: usize = 5;
/// Height in pixels of the tallest bar of the chart.
const CHART_PX: i64 = 80;

/// One top list: its title and (value, visitors) rows, most visitors first.
#[derive(Debug, Clone, PartialEq)]
pub struct TopList {
    pub title: &'static str,
    pub rows: Vec<(String, i64)>,
}

/// The dimensions a report lists, with their titles.
pub const TOP_DIMENSIONS: [(Dimension, &str); 4] = [
    (Dimension::Page, "Top pages"),
    (Dimension::Source, "Top sources"),
    (Dimension::Country, "Countries"),
    (Dimension::Device, "Devices"),
];

/// Everything a report says.
#[derive(Debug, Clone)]
pub struct Report {
    pub site_id: String,
    pub site_name: String,
    pub kind: ReportKind,
    pub period: Period,
    pub previous: Period,
    pub now: MetricsRow,
    pub before: MetricsRow,
    pub top: Vec<TopList>,
    /// Visitors per day of the period: (YYYY-MM-DD, visitors).
    pub days: Vec<(String, i64)>,
    pub dashboard_url: String,
    /// Present in mail; the dashboard preview has none.
    pub unsubscribe_url: Option<String>,
}

/// A count with thousands separators: 12,345.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// Seconds as "1m 05s" (or "42s").
pub fn duration(seconds: f64) -> String {
    let s = seconds.round() as i64;
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A long time in use as "3h 05m" (under an hour as `duration` writes it).
pub fn active_time(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    if minutes >= 60 {
        format!("{}h {:02}m", minutes / 60, minutes % 60)
    } else {
        duration(ms.max(0) as f64 / 1000.0)
    }
}

/// Change against the previous period, as a person reads it: "+12%", "−3%", "new", "no change".
pub fn change(now: f64, before: f64) -> String {
    if before == 0.0 {
        return if now == 0.0 {
            "no change".into()
        } else {
            "new".into()
        };
    }
    let pct = ((now - before) / before * 100.0).round() as i64;
    match pct {
        0 => "no change".into(),
        p if p > 0 => format!("+{p}%"),
        p => format!("−{}%", -p),
    }
}

/// Bounce rate moves in percentage points, not percent of itself.
fn change_points(now: f64, before: f64) -> String {
    let d = (now - before).round() as i64;
    match d {
        0 => "no change".into(),
        d if d > 0 => format!("+{d} pts"),
        d => format!("−{} pts", -d),
    }
}

/// (label, value now, value before, change) for each headline figure.
pub fn headline(r: &Report) -> Vec<(&'static str, String, String, String)> {
    let (n, b) = (&r.now, &r.before);
    let pct = |x: f64| format!("{}%", x.round() as i64);
    vec![
        (
            "Visitors",
            count(n.visitors),
            count(b.visitors),
            change(n.visitors as f64, b.visitors as f64),
        ),
        (
            "Visits",
            count(n.visits),
            count(b.visits),
            change(n.visits as f64, b.visits as f64),
        ),
        (
            "Page views",
            count(n.pageviews),
            count(b.pageviews),
            change(n.pageviews as f64, b.pageviews as f64),
        ),
        (
            "Bounce rate",
            pct(n.bounce_rate()),
            pct(b.bounce_rate()),
            change_points(n.bounce_rate(), b.bounce_rate()),
        ),
        (
            "Visit duration",
            duration(n.visit_duration_s()),
            duration(b.visit_duration_s()),
            change(n.visit_duration_s(), b.visit_duration_s()),
        ),
    ]
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "November 2026" or "23–29 November 2026".
pub fn period_label(kind: ReportKind, p: &Period) -> String {
    let month = |d: jiff::civil::Date| MONTHS[(d.month() - 1) as usize];
    match kind {
        ReportKind::Monthly => format!("{} {}", month(p.from), p.from.year()),
        ReportKind::Weekly if p.from.month() == p.to.month() => {
            format!(
                "{}–{} {} {}",
                p.from.day(),
                p.to.day(),
                month(p.to),
                p.to.year()
            )
        }
        ReportKind::Weekly => format!(
            "{} {} – {} {} {}",
            p.from.day(),
            month(p.from),
            p.to.day(),
            month(p.to),
            p.to.year()
        ),
    }
}

pub fn subject(r: &Report) -> String {
    let kind = match r.kind {
        ReportKind::Monthly => "Monthly",
        ReportKind::Weekly => "Weekly",
    };
    format!(
        "{kind} report for {}, {}: {} visitors ({})",
        crate::util::email::header_text(&r.site_name),
        period_label(r.kind, &r.period),
        count(r.now.visitors),
        change(r.now.visitors as f64, r.before.visitors as f64)
    )
}

pub fn to_text(r: &Report) -> String {
    let mut out = format!(
        "{}\n{} ({} to {}, {}), compared with {} to {}\n\n",
        r.site_name,
        period_label(r.kind, &r.period),
        r.period.from,
        r.period.to,
        r.period.tz.iana_name().unwrap_or("UTC"),
        r.previous.from,
        r.previous.to
    );
    for (label, now, before, delta) in headline(r) {
        out.push_str(&format!("{label}: {now} (before: {before}, {delta})\n"));
    }
    for list in &r.top {
        out.push_str(&format!("\n{}\n", list.title));
        if list.rows.is_empty() {
            out.push_str("  (none)\n");
        }
        for (value, visitors) in &list.rows {
            out.push_str(&format!("  {value}: {}\n", count(*visitors)));
        }
    }
    out.push_str("\nVisitors per day\n");
    for (day, visitors) in &r.days {
        out.push_str(&format!("  {day}: {}\n", count(*visitors)));
    }
    out.push_str(&format!("\nOpen the dashboard: {}\n", r.dashboard_url));
    if let Some(u) = &r.unsubscribe_url {
        out.push_str(&format!("Stop these reports: {u}\n"));
    }
    out
}

/// The bar chart: one table cell per day, bar heights in pixels, no images.
fn chart(days: &[(String, i64)]) -> String {
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let mut cells = String::new();
    for (day, visitors) in days {
        let h = (visitors * CHART_PX / max).max(if *visitors > 0 { 2 } else { 0 });
        cells.push_str(&format!(
            "<td valign=\"bottom\" title=\"{day}: {v}\" style=\"padding:0 1px;height:{CHART_PX}px\">\
             <div style=\"height:{h}px;background:#4f46e5;border-radius:2px 2px 0 0;font-size:0;line-height:0\">&nbsp;</div></td>",
            day = escape_html(day),
            v = count(*visitors),
        ));
    }
    let first = days.first().map(|d| d.0.as_str()).unwrap_or_default();
    let last = days.last().map(|d| d.0.as_str()).unwrap_or_default();
    format!(
        "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"table-layout:fixed\"><tr>{cells}</tr></table>\
         <table role=\"presentation\" width=\"100%\" style=\"font-size:12px;color:#667085\"><tr><td>{}</td><td align=\"right\">{}</td></tr></table>",
        escape_html(first),
        escape_html(last)
    )
}

pub fn to_html(r: &Report) -> String {
    let cell = "padding:8px 10px;border-bottom:1px solid #e4e7ec";
    let mut figures = String::new();
    for (label, now, before, delta) in headline(r) {
        figures.push_str(&format!(
            "<tr><td style=\"{cell}\">{label}</td><td style=\"{cell};font-weight:600\" align=\"right\">{}</td>\
             <td style=\"{cell};color:#667085\" align=\"right\">{}</td><td style=\"{cell}\" align=\"right\">{}</td></tr>",
            escape_html(&now),
            escape_html(&before),
            escape_html(&delta)
        ));
    }
    let mut lists = String::new();
    for list in &r.top {
        lists.push_str(&format!(
            "<h3 style=\"font-size:15px;margin:22px 0 6px\">{}</h3><table role=\"presentation\" width=\"100%\" cellspacing=\"0\">",
            list.title
        ));
        if list.rows.is_empty() {
            lists.push_str(&format!(
                "<tr><td style=\"{cell};color:#667085\">None</td></tr>"
            ));
        }
        for (value, visitors) in &list.rows {
            lists.push_str(&format!(
                "<tr><td style=\"{cell};word-break:break-all\">{}</td><td style=\"{cell}\" align=\"right\">{}</td></tr>",
                escape_html(value),
                count(*visitors)
            ));
        }
        lists.push_str("</table>");
    }
    let unsubscribe = r
        .unsubscribe_url
        .as_ref()
        .map(|u| {
            format!(
                " · <a href=\"{}\" style=\"color:#667085\">Stop these reports</a>",
                escape_html(u)
            )
        })
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body style=\"margin:0;background:#f5f6f8;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1c2330\">\
         <table role=\"presentation\" width=\"100%\" cellspacing=\"0\"><tr><td align=\"center\" style=\"padding:24px 12px\">\
         <table role=\"presentation\" width=\"600\" cellspacing=\"0\" style=\"max-width:600px;width:100%;background:#ffffff;border-radius:8px\"><tr><td style=\"padding:24px\">\
         <p style=\"margin:0;color:#667085;font-size:13px\">Vigia · {site_id}</p>\
         <h1 style=\"font-size:22px;margin:4px 0 2px\">{name}</h1>\
         <p style=\"margin:0 0 16px;color:#667085\">{label} · {from} to {to} ({tz}), compared with {pfrom} to {pto}</p>\
         <table role=\"presentation\" width=\"100%\" cellspacing=\"0\" style=\"font-size:14px\">\
         <tr><th align=\"left\" style=\"{cell}\"></th><th align=\"right\" style=\"{cell}\">{label_short}</th><th align=\"right\" style=\"{cell}\">Before</th><th align=\"right\" style=\"{cell}\">Change</th></tr>\
         {figures}</table>\
         <h3 style=\"font-size:15px;margin:22px 0 6px\">Visitors per day</h3>{chart}\
         {lists}\
         <p style=\"margin:24px 0 0\"><a href=\"{dashboard}\" style=\"display:inline-block;background:#4f46e5;color:#ffffff;padding:10px 16px;border-radius:6px;text-decoration:none\">Open the dashboard</a></p>\
         </td></tr></table>\
         <p style=\"font-size:12px;color:#667085\">Sent by Vigia: privacy-first analytics, no cookies{unsubscribe}</p>\
         </td></tr></table></body></html>",
        title = escape_html(&subject(r)),
        site_id = escape_html(&r.site_id),
        name = escape_html(&r.site_name),
        label = escape_html(&period_label(r.kind, &r.period)),
        label_short = match r.kind {
            ReportKind::Monthly => "This month",
            ReportKind::Weekly => "This week",
        },
        from = r.period.from,
        to = r.period.to,
        tz = escape_html(r.period.tz.iana_name().unwrap_or("UTC")),
        pfrom = r.previous.from,
        pto = r.previous.to,
        chart = chart(&r.days),
        dashboard = escape_html(&r.dashboard_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::schedule::{parse_month, Schedule};
    use jiff::tz::TimeZone;

    fn report() -> Report {
        let period = ReportKind::Monthly
            .period_containing(parse_month("2026-11").unwrap(), TimeZone::UTC)
            .unwrap();
        let previous = ReportKind::Monthly.previous(&period);
        Report {
            site_id: "example.com".into(),
            site_name: "Example <b>shop</b>".into(),
            kind: ReportKind::Monthly,
            period,
            previous,
            now: MetricsRow {
                visitors: 1234,
                visits: 1500,
                pageviews: 4000,
                bounces: 600,
                duration_ms: 1500 * 65_000,
                ..Default::default()
            },
            before: MetricsRow {
                visitors: 1000,
                visits: 1200,
                pageviews: 4000,
                bounces: 600,
                duration_ms: 1200 * 60_000,
                ..Default::default()
            },
            top: vec![TopList {
                title: "Top pages",
                rows: vec![("/<script>alert(1)</script>".into(), 900)],
            }],
            days: (1..=30)
                .map(|d| (format!("2026-11-{d:02}"), d * 10))
                .collect(),
            dashboard_url: "https://vigia.example/?site=example.com&period=custom".into(),
            unsubscribe_url: Some("https://vigia.example/api/reports/unsubscribe?t=x&y=1".into()),
        }
    }

    #[test]
    fn figures_compare_with_the_period_before() {
        let h = headline(&report());
        assert_eq!(
            h[0],
            ("Visitors", "1,234".into(), "1,000".into(), "+23%".into())
        );
        assert_eq!(h[2].3, "no change");
        assert_eq!(
            h[3],
            ("Bounce rate", "40%".into(), "50%".into(), "−10 pts".into())
        );
        assert_eq!(h[4].1, "1m 05s");
        assert_eq!(count(-1_234_567), "-1,234,567");
        assert_eq!(change(5.0, 0.0), "new");
    }

    #[test]
    fn the_text_part_states_every_figure_and_list() {
        let text = to_text(&report());
        assert!(
            text.contains("Visitors: 1,234 (before: 1,000, +23%)"),
            "{text}"
        );
        assert!(text.contains("  /<script>alert(1)</script>: 900"));
        assert!(text.contains("  2026-11-30: 300"));
        assert!(text.contains("Stop these reports: https://vigia.example/api/reports/unsubscribe"));
        assert_eq!(
            subject(&report()),
            "Monthly report for Example <b>shop</b>, November 2026: 1,234 visitors (+23%)"
        );
    }

    #[test]
    fn the_html_part_has_no_script_no_image_and_escapes_what_people_typed() {
        let html = to_html(&report());
        for banned in ["<script", "<img", "src=", "url(", "<b>shop", "<link"] {
            assert!(!html.contains(banned), "{banned} in the mail");
        }
        assert!(html.contains("Example &lt;b&gt;shop&lt;/b&gt;"));
        // One bar per day, the tallest at full height.
        assert_eq!(html.matches("<td valign=\"bottom\"").count(), 30);
        assert!(html.contains("height:80px;background:#4f46e5"));
        assert!(html.contains("href=\"https://vigia.example/?site=example.com&amp;period=custom\""));
        let preview = Report {
            unsubscribe_url: None,
            ..report()
        };
        assert!(!to_html(&preview).contains("Stop these reports"));
    }

    #[test]
    fn weeks_across_months_name_both() {
        let tz = TimeZone::UTC;
        let w = ReportKind::Weekly
            .period_containing("2026-12-01".parse().unwrap(), tz)
            .unwrap();
        assert_eq!(
            period_label(ReportKind::Weekly, &w),
            "30 November – 6 December 2026"
        );
    }
}
