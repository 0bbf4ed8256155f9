//! Numbers, durations, dates and labels as people read them.

/// 1234567 → "1,234,567"; 12345 → "12.3k" when `compact`.
pub fn number(n: i64, compact: bool) -> String {
    if compact && n.abs() >= 10_000 {
        let (value, unit) = if n.abs() >= 1_000_000 {
            (n as f64 / 1e6, "M")
        } else {
            (n as f64 / 1e3, "k")
        };
        return format!("{}{unit}", fixed(value, 1));
    }
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `x` with `decimals` digits after the point, by integer arithmetic: float formatting would
/// add ~10 KB to the bundle for a handful of percentages.
pub fn fixed(x: f64, decimals: u32) -> String {
    let scale = 10i64.pow(decimals);
    let n = (x * scale as f64).round() as i64;
    let sign = if n < 0 { "-" } else { "" };
    let n = n.abs();
    if decimals == 0 {
        return format!("{sign}{n}");
    }
    format!(
        "{sign}{}.{:0w$}",
        n / scale,
        n % scale,
        w = decimals as usize
    )
}

/// 83.4 → "1m 23s"; 3725 → "1h 2m".
pub fn duration(seconds: f64) -> String {
    let s = seconds.round() as i64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}

/// Change against the previous period, in percent; `None` when there was nothing before.
pub fn change(now: f64, before: f64) -> Option<f64> {
    if before == 0.0 {
        return None;
    }
    Some((now - before) / before * 100.0)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month_name(m: &str) -> &'static str {
    m.parse::<usize>()
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("")
}

/// A bucket label from the API ("2026-11-23", "2026-11-23 14:00", "2026-11") → "Nov 23",
/// "14:00", "Nov 2026".
pub fn bucket_label(label: &str) -> String {
    let (date, time) = label.split_once(' ').unwrap_or((label, ""));
    if !time.is_empty() {
        return time.to_string();
    }
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [y, m] => format!("{} {y}", month_name(m)),
        [_, m, d] => format!("{} {}", month_name(m), d.trim_start_matches('0')),
        _ => label.to_string(),
    }
}

/// "2026-11-01" → "Nov 1, 2026".
pub fn day(text: &str) -> String {
    let parts: Vec<&str> = text.split('-').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{} {}, {y}", month_name(m), d.trim_start_matches('0')),
        _ => text.to_string(),
    }
}

/// A moment in the reader's own locale and zone.
pub fn moment(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    date.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

/// An exact decimal amount in its currency, as the reader's locale writes money ("€12.50",
/// "¥1,000"): the browser's `Intl.NumberFormat` knows each currency's symbol and decimals. The
/// amount goes in as text, so it is not rounded through a float; sub-cent amounts keep their
/// digits (up to six). The currency is three letters, which the API guarantees.
pub fn money(amount: &str, currency: &str) -> String {
    let options = js_sys::Object::new();
    for (key, value) in [
        ("style", "currency".into()),
        ("currency", currency.into()),
        ("maximumFractionDigits", 6.into()),
    ] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value);
    }
    js_sys::Intl::NumberFormat::new(&js_sys::Array::new(), &options)
        .format()
        .call1(&wasm_bindgen::JsValue::NULL, &amount.into())
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{amount} {currency}"))
}

/// What a dimension is called on screen.
pub fn dimension_label(dim: &str) -> &'static str {
    match dim {
        "page" => "Page",
        "entry_page" => "Entry page",
        "exit_page" => "Exit page",
        "source" => "Source",
        "channel" => "Channel",
        "utm_source" => "UTM source",
        "utm_medium" => "UTM medium",
        "utm_campaign" => "UTM campaign",
        "utm_term" => "UTM term",
        "utm_content" => "UTM content",
        "country" => "Country",
        "region" => "Region",
        "city" => "City",
        "browser" => "Browser",
        "os" => "OS",
        "device" => "Device",
        "event" => "Event",
        "prop" => "Property",
        "outbound" => "Outbound link",
        "download" => "Download",
        _ => "Filter",
    }
}

/// A breakdown value as shown: props are "event · key = value" (a page view's "Page view ·
/// key = value"); empty values say so.
pub fn value_label(dim: &str, value: &str) -> String {
    if dim == "prop" {
        let mut p = value.split('\u{1f}');
        let (e, k, v) = (
            p.next().unwrap_or_default(),
            p.next().unwrap_or_default(),
            p.next().unwrap_or_default(),
        );
        let e = if e == "pageview" { "Page view" } else { e };
        return format!("{e} · {k} = {v}");
    }
    if value.is_empty() {
        return match dim {
            "source" => "Direct / none".into(),
            _ => "(none)".into(),
        };
    }
    if dim == "channel" {
        return channel_label(value);
    }
    value.to_string()
}

/// A stored channel (`organic_search`, `ai_assistant`, or an old value such as `search`) as a
/// phrase: "Organic search", "AI assistant", "Search". Generic on purpose: the overview bundle
/// has no room for a table, and values stored before the channel set changed still read well.
fn channel_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, word) in value.split('_').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if matches!(word, "ai" | "sms") {
            out.push_str(&word.to_ascii_uppercase());
        } else if i == 0 {
            let mut chars = word.chars();
            out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
            out.push_str(chars.as_str());
        } else {
            out.push_str(word);
        }
    }
    out
}

/// A filter chip's text: "Country is PT".
pub fn filter_label(filter: &str) -> String {
    let (dim, value) = filter.split_once(':').unwrap_or((filter, ""));
    format!("{} is {}", dimension_label(dim), value_label(dim, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_naturally() {
        assert_eq!(number(1_234_567, false), "1,234,567");
        assert_eq!(number(12_345, true), "12.3k");
        assert_eq!(duration(83.4), "1m 23s");
        assert_eq!(duration(3725.0), "1h 2m");
        assert_eq!(bucket_label("2026-11-03"), "Nov 3");
        assert_eq!(bucket_label("2026-11-03 14:00"), "14:00");
        assert_eq!(bucket_label("2026-11"), "Nov 2026");
        assert_eq!(day("2026-11-01"), "Nov 1, 2026");
        assert_eq!(change(120.0, 100.0), Some(20.0));
        assert_eq!(change(5.0, 0.0), None);
        assert_eq!(
            filter_label("prop:Signup\u{1f}plan\u{1f}pro"),
            "Property is Signup · plan = pro"
        );
        assert_eq!(filter_label("source:"), "Source is Direct / none");
        assert_eq!(value_label("channel", "organic_search"), "Organic search");
        assert_eq!(value_label("channel", "ai_assistant"), "AI assistant");
        assert_eq!(value_label("channel", "sms"), "SMS");
        // Values stored before the channel set changed.
        assert_eq!(value_label("channel", "search"), "Search");
        assert_eq!(
            filter_label("channel:paid_social"),
            "Channel is Paid social"
        );
        assert_eq!(value_label("source", "organic_search"), "organic_search");
        assert_eq!(
            filter_label("prop:pageview\u{1f}section\u{1f}docs"),
            "Property is Page view · section = docs"
        );
    }
}
