//! Numbers and dates as people read them.

/// 1234567 → "1,234,567"; 12345 → "12.3k" when `compact`.
pub fn number(n: i64, compact: bool) -> String {
    if compact && n.abs() >= 10_000 {
        let (value, unit) = if n.abs() >= 1_000_000 {
            (n as f64 / 1e6, "M")
        } else {
            (n as f64 / 1e3, "k")
        };
        return format!("{value:.1}{unit}");
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

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A bucket's label: "14:00" for hourly series, "Nov 23" for daily ones.
pub fn bucket_label(t_ms: i64, hourly: bool) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t_ms as f64));
    if hourly {
        format!("{:02}:00", date.get_utc_hours())
    } else {
        format!(
            "{} {}",
            MONTHS[date.get_utc_month() as usize % 12],
            date.get_utc_date()
        )
    }
}

/// Today's UTC date and the date `days_back` before it, as YYYY-MM-DD.
pub fn day_string(days_back: i64) -> String {
    let now = js_sys::Date::now() - (days_back as f64) * 86_400_000.0;
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(now));
    format!(
        "{:04}-{:02}-{:02}",
        d.get_utc_full_year(),
        d.get_utc_month() + 1,
        d.get_utc_date()
    )
}
