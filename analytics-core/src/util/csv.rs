//! CSV for exports: RFC 4180 quoting, and cells that a spreadsheet would run as a formula
//! (visitor-controlled text starting with `=`, `+`, `-`, `@`, tab or CR) prefixed with `'` —
//! except a plain decimal number (`-12.50`, a refund), which a spreadsheet reads as a number.

/// Most raw events one export returns; the response says when it stopped there.
pub const MAX_EXPORT_ROWS: i64 = 1_000_000;
/// Raw events read per D1 query while an export streams.
pub const EXPORT_PAGE_ROWS: i64 = 1_000;

/// Columns of the raw-event export, in order. Documented in the OpenAPI file and README.
/// The visitor hash is left out on purpose: an export should not help link visits.
pub const EXPORT_COLUMNS: [&str; 29] = [
    "time",
    "kind",
    "name",
    "path",
    "query",
    "referrer_host",
    "referrer_source",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "country",
    "region",
    "city",
    "screen",
    "engaged_ms",
    "scroll",
    "props",
    "session",
    "bot",
    "revenue",
    "revenue_currency",
];

/// One cell.
pub fn cell(text: &str) -> String {
    let guarded = match text.chars().next() {
        _ if is_plain_number(text) => text.to_string(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// `-?digits[.digits]`: nothing a spreadsheet could run.
fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

/// One line, CRLF-terminated.
pub fn line<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut out = cells
        .into_iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// ISO 8601 UTC text of a millisecond timestamp.
pub fn iso_time(ms: i64) -> String {
    let day = ms.div_euclid(crate::stats::DAY_MS);
    let rest = ms.rem_euclid(crate::stats::DAY_MS);
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        crate::stats::format_day(day),
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1+1"), "'-1+1");
        assert_eq!(cell("-1-cmd|' /C calc'!A0"), "'-1-cmd|' /C calc'!A0");
        assert_eq!(cell("-"), "'-");
        assert_eq!(cell("-.5"), "'-.5");
        // A refund's amount is a number, not a formula.
        assert_eq!(cell("-12.50"), "-12.50");
        assert_eq!(cell("-1"), "-1");
        assert_eq!(line(["a", "b\nc"]), "a,\"b\nc\"\r\n");
        assert_eq!(iso_time(1_795_435_200_123), "2026-11-23T12:00:00.123Z");
    }
}
