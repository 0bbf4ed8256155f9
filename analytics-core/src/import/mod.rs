//! Bringing history from other tools: Plausible's CSV export (daily aggregates, written to
//! `rollups_daily` with `imported = 1`, see [`plausible`]) and Vigia's own raw-event export
//! (parsed back into events for the cold shards, see [`vigia`]).
//!
//! Shared here: the CSV reader both formats use (RFC 4180 quoting, a UTF-8 BOM, CRLF, LF or
//! CR line ends), the limits, the skipped-row accounting, and the SQL that replaces a file's
//! imported daily rows in one batch — so importing the same file twice gives the same rows,
//! and a file that cannot be read writes nothing.

pub mod plausible;
pub mod vigia;

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::binds;
use crate::stats::rollup::Dimension;
use crate::stats::HOUR_MS;
use crate::store::Sql;
use crate::ApiError;

/// Largest file one import request takes (the body of `POST /api/sites/{site}/import`). A
/// Plausible export of a busy site's year is split per table; a bigger table is split by the
/// CLI's caller into several date ranges (each a separate, idempotent import).
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// Most data rows one file may hold; rows past it are skipped (`too_many_rows`), not lost
/// silently.
pub const MAX_IMPORT_ROWS: usize = 100_000;
/// Widest span of days one file may cover (rows outside are skipped, `date_out_of_range`):
/// bounds what one import may replace.
pub const MAX_IMPORT_SPAN_DAYS: i64 = 3_700;
/// Longest dimension value kept (longer ones are cut, as ingest cuts long paths).
pub const MAX_IMPORTED_VALUE_CHARS: usize = 500;
/// Values kept per day and dimension (by visitors, then events); the rest are summed into
/// one `(other)` row. The same bound as the collected daily rollups (`DAILY_ROLLUP_TOP` of
/// `store::rollups_daily`, 100), so an imported month reads no more rows than a collected one.
pub const MAX_IMPORTED_VALUES_PER_DAY: usize = 100;
/// The value the rows beyond `MAX_IMPORTED_VALUES_PER_DAY` are summed into (`DAILY_OTHER`).
pub const OTHER_VALUE: &str = "(other)";
/// Rows per INSERT: each INSERT binds one JSON array (D1 allows 100 binds and ~2 MB a value).
pub const INSERT_CHUNK_ROWS: usize = 2_000;
/// Most skipped rows listed one by one in an answer (the rest are only counted).
pub const MAX_LISTED_SKIPS: usize = 20;

api_types::closed_set! {
    /// Which tool's export a file comes from (`?format=`).
    #[derive(Default)]
    pub enum ImportFormat {
        #[default]
        Plausible = "plausible",
        Vigia = "vigia",
    }
}

api_types::closed_set! {
    /// Why a row was skipped.
    #[derive(PartialOrd, Ord)]
    pub enum SkipReason {
        /// The row has a different number of cells than the header.
        WrongCellCount = "wrong_cell_count",
        /// The date (or time) is not a date (`YYYY-MM-DD`).
        BadDate = "bad_date",
        /// A count is not a whole number of 0 or more.
        BadNumber = "bad_number",
        /// The date is outside `MAX_IMPORT_SPAN_DAYS` of the file's first date.
        DateOutOfRange = "date_out_of_range",
        /// Past `MAX_IMPORT_ROWS`.
        TooManyRows = "too_many_rows",
        /// A quoted cell never closes (the rest of the file is that one row).
        UnterminatedQuote = "unterminated_quote",
        /// A raw event whose kind Vigia does not know.
        BadKind = "bad_kind",
        /// A raw event's field that cannot be what Vigia stores (props not a JSON object, a
        /// revenue amount that is not a decimal).
        BadField = "bad_field",
    }
}

/// One CSV record and the line it starts on (1-based, the header being line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub cells: Vec<String>,
    /// False when the record's quote never closed.
    pub complete: bool,
}

/// Splits CSV text into records: a leading BOM dropped, `"` quoting with `""` for a quote,
/// line ends LF, CRLF or CR (inside quotes they are part of the cell), blank lines skipped.
pub fn records(text: &str) -> Vec<Record> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start_line = 1;
    let mut chars = text.chars().peekable();
    let mut row_has_content = false;
    let end_record = |cells: &mut Vec<String>,
                      cell: &mut String,
                      out: &mut Vec<Record>,
                      start: usize,
                      content: bool,
                      complete: bool| {
        cells.push(std::mem::take(cell));
        let row = std::mem::take(cells);
        // A blank line is no record.
        if content || row.len() > 1 {
            out.push(Record {
                line: start,
                cells: row,
                complete,
            });
        }
    };
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    cell.push(c);
                }
                '\r' => {
                    if chars.peek() != Some(&'\n') {
                        line += 1;
                    }
                    cell.push(c);
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                row_has_content = true;
            }
            ',' => {
                cells.push(std::mem::take(&mut cell));
                row_has_content = true;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                end_record(
                    &mut cells,
                    &mut cell,
                    &mut out,
                    start_line,
                    row_has_content,
                    true,
                );
                row_has_content = false;
                line += 1;
                start_line = line;
            }
            _ => {
                cell.push(c);
                row_has_content = true;
            }
        }
    }
    if row_has_content || !cell.is_empty() || !cells.is_empty() {
        end_record(&mut cells, &mut cell, &mut out, start_line, true, !quoted);
    }
    out
}

/// A file's header: column names (trimmed, lowercase) and where each is.
#[derive(Debug, Clone)]
pub struct Header {
    pub names: Vec<String>,
}

impl Header {
    pub fn new(cells: &[String]) -> Header {
        Header {
            names: cells
                .iter()
                .map(|c| c.trim().to_ascii_lowercase())
                .collect(),
        }
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The index of each required column, or a 400 naming every missing one.
    pub fn require(&self, what: &str, required: &[&str]) -> Result<Vec<usize>, ApiError> {
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|n| self.index(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::bad_request(
                "missing_columns",
                format!(
                    "{what} needs the column(s) {}; the header has: {}",
                    missing.join(", "),
                    self.names.join(", ")
                ),
            ));
        }
        Ok(required.iter().filter_map(|n| self.index(n)).collect())
    }
}

/// A skipped row, as the answer lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub line: usize,
    pub reason: SkipReason,
}

/// Skipped rows: counted per reason, the first `MAX_LISTED_SKIPS` listed with their line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    pub by_reason: BTreeMap<SkipReason, u64>,
    pub listed: Vec<Skip>,
}

impl Skipped {
    pub fn add(&mut self, line: usize, reason: SkipReason) {
        *self.by_reason.entry(reason).or_default() += 1;
        if self.listed.len() < MAX_LISTED_SKIPS {
            self.listed.push(Skip { line, reason });
        }
    }

    pub fn total(&self) -> u64 {
        self.by_reason.values().sum()
    }

    /// `{reason: count}` as the answer carries it.
    pub fn reasons(&self) -> BTreeMap<String, u64> {
        self.by_reason
            .iter()
            .map(|(r, n)| (r.as_str().to_string(), *n))
            .collect()
    }
}

/// The answer of an import: which table, what was written and skipped, and the days it covers
/// (`from`/`to` as `YYYY-MM-DD` in the site's zone; null when nothing was imported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportAnswer {
    pub format: ImportFormat,
    pub table: String,
    pub rows_imported: u64,
    pub rows_skipped: u64,
    pub skipped_reasons: BTreeMap<String, u64>,
    pub skipped: Vec<Skip>,
    /// Distinct days with imported rows.
    pub days: u32,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Rows written to `rollups_daily` (a CSV row may add to several dimensions).
    pub daily_rows: u64,
}

/// One `rollups_daily` row an import writes (`imported = 1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyRow {
    /// UTC ms of the local midnight that starts the day (see [`local_midnight_ms`]).
    pub day: i64,
    pub dimension: Dimension,
    pub value: String,
    pub visitors: i64,
    pub pageviews: i64,
    pub visits: i64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub engaged_ms: i64,
    pub events: i64,
    pub revenue_micros: i64,
}

impl DailyRow {
    fn add(&mut self, other: &DailyRow) {
        self.visitors += other.visitors;
        self.pageviews += other.pageviews;
        self.visits += other.visits;
        self.bounces += other.bounces;
        self.duration_ms += other.duration_ms;
        self.engaged_ms += other.engaged_ms;
        self.events += other.events;
        self.revenue_micros += other.revenue_micros;
    }
}

/// Sums rows of the same (day, dimension, value) — an export may split a value (Plausible's
/// browser versions, a country's cities) — then keeps the top `MAX_IMPORTED_VALUES_PER_DAY`
/// values per day and dimension and sums the rest into `(other)`.
pub fn merge_rows(rows: Vec<DailyRow>) -> Vec<DailyRow> {
    // Keyed by the dimension's name (the closed set has no order of its own).
    let mut by_key: BTreeMap<(i64, &'static str, String), DailyRow> = BTreeMap::new();
    for row in rows {
        let key = (row.day, row.dimension.as_str(), row.value.clone());
        match by_key.get_mut(&key) {
            Some(have) => have.add(&row),
            None => {
                by_key.insert(key, row);
            }
        }
    }
    let mut groups: BTreeMap<(i64, &'static str), Vec<DailyRow>> = BTreeMap::new();
    for ((day, dimension, _), row) in by_key {
        groups.entry((day, dimension)).or_default().push(row);
    }
    let mut out = Vec::new();
    for ((day, _), mut rows) in groups {
        let dimension = rows[0].dimension;
        if rows.len() > MAX_IMPORTED_VALUES_PER_DAY {
            rows.sort_by(|a, b| {
                (b.visitors, b.events, b.pageviews, &a.value).cmp(&(
                    a.visitors,
                    a.events,
                    a.pageviews,
                    &b.value,
                ))
            });
            let rest = rows.split_off(MAX_IMPORTED_VALUES_PER_DAY);
            let mut other = rows
                .iter()
                .position(|r| r.value == OTHER_VALUE)
                .map(|i| rows.remove(i))
                .unwrap_or(DailyRow {
                    day,
                    dimension,
                    value: OTHER_VALUE.into(),
                    ..Default::default()
                });
            for r in &rest {
                other.add(r);
            }
            rows.push(other);
            rows.sort_by(|a, b| a.value.cmp(&b.value));
        }
        out.extend(rows);
    }
    out
}

/// UTC ms of the midnight that starts `date` in `tz`, floored to the hour as the stats'
/// periods floor theirs (`stats::period`), so a daily row lines up with the hourly rollups
/// the same day's views read (a zone offset by half an hour is read by whole UTC hours).
pub fn local_midnight_ms(date: Date, tz: &TimeZone) -> i64 {
    let ms = date
        .to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0);
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// A count cell: a whole number ≥ 0 (Plausible writes integers; `12.0` is read as 12).
/// Empty is 0 (older exports leave a column blank where a newer one counts).
pub fn count(cell: &str) -> Option<i64> {
    let t = cell.trim();
    if t.is_empty() {
        return Some(0);
    }
    let whole = t.strip_suffix(".0").unwrap_or(t);
    if whole.is_empty() || whole.len() > 15 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    whole.parse().ok()
}

/// `text` cut to `MAX_IMPORTED_VALUE_CHARS` characters and trimmed.
pub fn value(text: &str) -> String {
    text.trim().chars().take(MAX_IMPORTED_VALUE_CHARS).collect()
}

/// What a parsed file will write: its rows, the dimensions it owns and the days it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyImport {
    pub rows: Vec<DailyRow>,
    /// Every dimension the file's table writes (also those it had no rows for): its imported
    /// rows in `[first_day, last_day]` are replaced.
    pub dimensions: Vec<Dimension>,
    /// Local midnights (UTC ms) of the first and last day replaced.
    pub first_day: i64,
    pub last_day: i64,
}

/// The statements that replace a site's imported rows of `import`'s dimensions and days with
/// `import`'s rows, to run as ONE batch (D1 runs a batch as one transaction): the delete of
/// the range and the inserts land together or not at all, and a re-run gives the same rows.
pub fn replace_daily(site: &str, import: &DailyImport) -> Vec<Sql> {
    let dimensions = serde_json::to_string(
        &import
            .dimensions
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>(),
    )
    .expect("a list of names is JSON");
    let mut out = vec![Sql::new(
        "DELETE FROM rollups_daily WHERE site_id = ?1 AND imported = 1 \
         AND day >= ?2 AND day <= ?3 \
         AND dimension IN (SELECT value FROM json_each(?4))",
        binds![site, import.first_day, import.last_day, dimensions],
    )];
    for chunk in import.rows.chunks(INSERT_CHUNK_ROWS) {
        let json = serde_json::to_string(chunk).expect("rows are JSON");
        out.push(Sql::new(
            "INSERT INTO rollups_daily (site_id, day, dimension, value, imported, visitors, \
             pageviews, visits, bounces, duration_ms, engaged_ms, events, revenue_micros) \
             SELECT ?1, json_extract(j.value, '$.day'), json_extract(j.value, '$.dimension'), \
             json_extract(j.value, '$.value'), 1, json_extract(j.value, '$.visitors'), \
             json_extract(j.value, '$.pageviews'), json_extract(j.value, '$.visits'), \
             json_extract(j.value, '$.bounces'), json_extract(j.value, '$.duration_ms'), \
             json_extract(j.value, '$.engaged_ms'), json_extract(j.value, '$.events'), \
             json_extract(j.value, '$.revenue_micros') FROM json_each(?2) AS j",
            binds![site, json],
        ));
    }
    out
}

/// Days in `[from_ms, to_ms)` that have imported rows and no collected daily rows — the days
/// the stats read from an import (a day with collected data ignores its imported rows).
/// Collected days are those with a non-imported `total` daily row or any hourly rollup.
pub fn imported_days(site: &str, from_ms: i64, to_ms: i64) -> Sql {
    Sql::new(
        "SELECT COUNT(DISTINCT d.day) AS days FROM rollups_daily AS d \
         WHERE d.site_id = ?1 AND d.imported = 1 AND d.day >= ?2 AND d.day < ?3 \
         AND NOT EXISTS (SELECT 1 FROM rollups_daily AS c WHERE c.site_id = d.site_id \
           AND c.dimension = 'total' AND c.imported = 0 AND c.day = d.day) \
         AND NOT EXISTS (SELECT 1 FROM rollups_hourly AS h WHERE h.site_id = d.site_id \
           AND h.dimension = 'total' AND h.hour >= d.day AND h.hour < d.day + 86400000)",
        binds![site, from_ms, to_ms],
    )
}

/// The row [`imported_days`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct DaysRow {
    pub days: i64,
}

/// The days a list of rows covers, as (count, first, last) in `tz`'s dates.
pub fn day_span(rows: &[DailyRow], tz: &TimeZone) -> (u32, Option<String>, Option<String>) {
    let days: std::collections::BTreeSet<i64> = rows.iter().map(|r| r.day).collect();
    let date = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(tz.clone()).date().to_string())
            .ok()
    };
    (
        days.len() as u32,
        days.first().and_then(|d| date(*d)),
        days.last().and_then(|d| date(*d)),
    )
}

/// The local days (in `tz`) raw events fall on: how many, the first and the last.
pub fn event_day_span(
    events: &[crate::ingest::event::EnrichedEvent],
    tz: &TimeZone,
) -> (u32, Option<String>, Option<String>) {
    let days: Vec<DailyRow> = events
        .iter()
        .map(|e| DailyRow {
            day: crate::store::rollups_daily::local_day(e.ts, tz).0,
            ..Default::default()
        })
        .collect();
    day_span(&days, tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{all, migrated, run};

    fn cells(r: &Record) -> Vec<&str> {
        r.cells.iter().map(String::as_str).collect()
    }

    #[test]
    fn records_read_quotes_bom_and_every_line_end() {
        let text = "\u{feff}a,\"b,c\"\r\n\"say \"\"hi\"\"\",2\n\n\"two\nlines\",3\rlast,4";
        let r = records(text);
        assert_eq!(r.len(), 4);
        assert_eq!(cells(&r[0]), ["a", "b,c"]);
        assert_eq!(cells(&r[1]), ["say \"hi\"", "2"]);
        assert_eq!(cells(&r[2]), ["two\nlines", "3"]);
        assert_eq!((r[2].line, r[3].line), (4, 6));
        assert_eq!(cells(&r[3]), ["last", "4"]);
        assert!(r.iter().all(|r| r.complete));
    }

    #[test]
    fn an_unclosed_quote_is_one_incomplete_record() {
        let r = records("a,b\n1,\"oops\n2,3\n");
        assert_eq!(r.len(), 2);
        assert!(!r[1].complete);
        assert_eq!(r[1].line, 2);
    }

    #[test]
    fn empty_cells_and_trailing_commas_keep_their_count() {
        let r = records("a,,\n,,\n");
        assert_eq!(cells(&r[0]), ["a", "", ""]);
        assert_eq!(cells(&r[1]), ["", "", ""]);
    }

    #[test]
    fn counts_are_whole_and_not_negative() {
        assert_eq!(count("12"), Some(12));
        assert_eq!(count(" 7 "), Some(7));
        assert_eq!(count("3.0"), Some(3));
        assert_eq!(count(""), Some(0));
        for bad in ["-1", "1.5", "x", "1e3", "9999999999999999"] {
            assert_eq!(count(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_missing_column_is_named() {
        let h = Header::new(&["Date".into(), " visitors ".into()]);
        assert_eq!(h.index("date"), Some(0));
        let e = h.require("imported_pages", &["date", "page"]).unwrap_err();
        assert_eq!((e.status, e.error), (400, "missing_columns"));
        assert!(e.message.contains("page"), "{}", e.message);
    }

    #[test]
    fn skipped_rows_are_counted_and_only_the_first_listed() {
        let mut s = Skipped::default();
        for line in 0..(MAX_LISTED_SKIPS + 5) {
            s.add(line, SkipReason::BadDate);
        }
        s.add(99, SkipReason::BadNumber);
        assert_eq!(s.total(), MAX_LISTED_SKIPS as u64 + 6);
        assert_eq!(s.listed.len(), MAX_LISTED_SKIPS);
        assert_eq!(s.reasons()["bad_date"], MAX_LISTED_SKIPS as u64 + 5);
    }

    #[test]
    fn closed_sets_read_back() {
        api_types::check_closed_set(
            &ImportFormat::ALL,
            ImportFormat::as_str,
            ImportFormat::parse,
        );
        api_types::check_closed_set(&SkipReason::ALL, SkipReason::as_str, SkipReason::parse);
    }

    fn row(day: i64, value: &str, visitors: i64) -> DailyRow {
        DailyRow {
            day,
            dimension: Dimension::Page,
            value: value.into(),
            visitors,
            pageviews: visitors,
            ..Default::default()
        }
    }

    #[test]
    fn the_same_value_is_summed_and_a_day_keeps_its_top_values() {
        let merged = merge_rows(vec![row(0, "/a", 1), row(0, "/a", 2), row(0, "/b", 5)]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].visitors, 3);
        let many: Vec<DailyRow> = (0..MAX_IMPORTED_VALUES_PER_DAY as i64 + 3)
            .map(|i| row(0, &format!("/{i}"), i + 1))
            .collect();
        let total: i64 = many.iter().map(|r| r.visitors).sum();
        let merged = merge_rows(many);
        assert_eq!(merged.len(), MAX_IMPORTED_VALUES_PER_DAY + 1);
        assert_eq!(merged.iter().map(|r| r.visitors).sum::<i64>(), total);
        let other = merged.iter().find(|r| r.value == OTHER_VALUE).unwrap();
        // The three smallest (1, 2, 3 visitors) went into (other).
        assert_eq!(other.visitors, 6);
    }

    #[test]
    fn midnight_is_local_and_on_the_hour() {
        let date = Date::constant(2021, 12, 30);
        let lisbon = TimeZone::get("Europe/Lisbon").unwrap();
        let ny = TimeZone::get("America/New_York").unwrap();
        let kolkata = TimeZone::get("Asia/Kolkata").unwrap();
        let utc_midnight = 1_640_822_400_000;
        assert_eq!(local_midnight_ms(date, &lisbon), utc_midnight);
        assert_eq!(local_midnight_ms(date, &ny), utc_midnight + 5 * HOUR_MS);
        // 18:30 UTC the day before, read from 18:00.
        assert_eq!(
            local_midnight_ms(date, &kolkata),
            utc_midnight - 6 * HOUR_MS
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Stored {
        day: i64,
        dimension: String,
        value: String,
        imported: i64,
        visitors: i64,
        pageviews: i64,
    }

    fn stored(db: &rusqlite::Connection) -> Vec<Stored> {
        all(
            db,
            &Sql::new(
                "SELECT day, dimension, value, imported, visitors, pageviews FROM rollups_daily \
                 ORDER BY day, dimension, value, site_id",
                [],
            ),
        )
    }

    fn import(rows: Vec<DailyRow>, first: i64, last: i64) -> DailyImport {
        DailyImport {
            rows,
            dimensions: vec![Dimension::Page],
            first_day: first,
            last_day: last,
        }
    }

    #[test]
    fn a_replace_is_idempotent_and_touches_only_its_dimensions_and_days() {
        let db = migrated();
        // A collected row and an imported row of another dimension stay.
        run(
            &db,
            &Sql::new(
                "INSERT INTO rollups_daily (site_id, day, dimension, value, imported, visitors) \
                 VALUES ('s', 0, 'page', '/a', 0, 9), ('s', 0, 'device', 'mobile', 1, 4), \
                 ('t', 0, 'page', '/a', 1, 8)",
                [],
            ),
        );
        let day = crate::stats::DAY_MS;
        let first = import(vec![row(0, "/a", 1), row(day, "/b", 2)], 0, day);
        for _ in 0..2 {
            for sql in replace_daily("s", &first) {
                run(&db, &sql);
            }
        }
        let rows = stored(&db);
        assert_eq!(rows.len(), 5, "{rows:?}");
        assert_eq!(
            rows.iter()
                .filter(|r| r.imported == 1 && r.dimension == "page")
                .map(|r| (r.value.as_str(), r.visitors))
                .collect::<Vec<_>>(),
            [("/a", 1), ("/a", 8), ("/b", 2)]
        );
        // A new export of the same range replaces what the first one wrote.
        for sql in replace_daily("s", &import(vec![row(0, "/c", 3)], 0, day)) {
            run(&db, &sql);
        }
        let page_rows: Vec<(String, i64)> = stored(&db)
            .into_iter()
            .filter(|r| r.imported == 1 && r.dimension == "page")
            .map(|r| (r.value, r.visitors))
            .collect();
        assert_eq!(page_rows, [("/a".to_string(), 8), ("/c".to_string(), 3)]);
    }

    #[test]
    fn many_rows_are_written_in_chunks_of_one_bind_each() {
        let db = migrated();
        let rows: Vec<DailyRow> = (0..INSERT_CHUNK_ROWS as i64 + 10)
            .map(|i| row(i * crate::stats::DAY_MS, "/", 1))
            .collect();
        let sqls = replace_daily("s", &import(rows, 0, i64::MAX));
        assert_eq!(sqls.len(), 3);
        assert!(sqls.iter().all(|s| s.binds.len() <= 4));
        for sql in &sqls {
            run(&db, sql);
        }
        assert_eq!(stored(&db).len(), INSERT_CHUNK_ROWS + 10);
    }

    #[test]
    fn imported_days_leave_out_days_with_collected_data() {
        let db = migrated();
        let day = crate::stats::DAY_MS;
        for sql in replace_daily(
            "s",
            &import(
                vec![row(0, "/", 1), row(day, "/", 1), row(2 * day, "/", 1)],
                0,
                2 * day,
            ),
        ) {
            run(&db, &sql);
        }
        // Day 1 has collected hourly data, day 2 a collected daily total.
        run(
            &db,
            &Sql::new(
                "INSERT INTO rollups_hourly (site_id, hour, dimension, value, visitors) \
                 VALUES ('s', ?1, 'total', '', 1)",
                binds![day + 3 * HOUR_MS],
            ),
        );
        run(
            &db,
            &Sql::new(
                "INSERT INTO rollups_daily (site_id, day, dimension, value, imported, visitors) \
                 VALUES ('s', ?1, 'total', '', 0, 1)",
                binds![2 * day],
            ),
        );
        let got: Vec<DaysRow> = all(&db, &imported_days("s", 0, 3 * day));
        assert_eq!(got[0].days, 1);
        let got: Vec<DaysRow> = all(&db, &imported_days("s", day, 3 * day));
        assert_eq!(got[0].days, 0);
        let got: Vec<DaysRow> = all(&db, &imported_days("other", 0, 3 * day));
        assert_eq!(got[0].days, 0);
    }
}
