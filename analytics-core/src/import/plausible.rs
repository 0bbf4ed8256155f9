//! Plausible's CSV export ("Export data": a zip of `imported_<table>_<YYYYMMDD>_<YYYYMMDD>.csv`
//! files, one per table, each a header row then one row per day and value) read into daily
//! rollup rows.
//!
//! Columns are found by their header names, so the export's older and newer shapes both read
//! (newer exports add `pageviews` to most tables, versions to browsers and systems,
//! `referrer`/`utm_source` to sources, scroll and time columns to pages). Per table, the
//! required columns are the date, the table's value column(s) and `visitors`; a count column
//! a shape lacks counts 0. What each table becomes:
//!
//! | table | Vigia dimension(s) | metrics |
//! |---|---|---|
//! | visitors | `total` | visitors, pageviews, visits, bounces, duration |
//! | sources | `source` (empty = `Direct`), `utm_source/medium/campaign/content/term` (non-empty only) | visitors, visits, bounces, duration, pageviews |
//! | pages | `page` | visitors, pageviews, engaged time (from `total_time_on_page`, when exported) |
//! | entry_pages | `entry_page` | visitors, visits (= entrances), bounces, duration, pageviews |
//! | exit_pages | `exit_page` | visitors, visits (= exits), and the rest when exported |
//! | locations | `country` (ISO code as collected), `region` (ISO 3166-2 code) | visitors, visits, bounces, duration, pageviews |
//! | devices | `device` (lowercase; `Laptop` is `desktop`) | as locations |
//! | browsers | `browser` (versions summed) | as locations |
//! | operating_systems | `os` (`Mac` is `macOS`, `GNU/Linux` is `Linux`, versions summed) | as locations |
//! | custom_events | `event`; `Outbound Link: Click` also `outbound`, `File Download` also `download` (by URL) | visitors, events |
//!
//! Lost on the way: cities (Plausible exports GeoNames ids; Vigia stores the edge's city names
//! and has no id table), hostnames of pages, browser and OS versions, the `referrer` URL, scroll
//! depth, time on page of older exports, and channels (Vigia derives a channel from the
//! referrer and UTM of each visit, which an aggregate no longer has). Regions keep Plausible's
//! ISO 3166-2 codes (`PT-11`), not the region names Vigia collects. Unique visitors of a value
//! split over several rows (versions, cities) are summed, as Plausible's own import sums them.

use jiff::tz::TimeZone;

use super::{
    count, local_midnight_ms, merge_rows, records, value, DailyImport, DailyRow, Header,
    SkipReason, Skipped, MAX_IMPORT_ROWS, MAX_IMPORT_SPAN_DAYS,
};
use crate::stats::rollup::Dimension;
use crate::stats::{date_of_day, parse_day};
use crate::ApiError;

api_types::closed_set! {
    /// The tables of a Plausible export, by their file names' stem.
    pub enum Table {
        Visitors = "imported_visitors",
        Sources = "imported_sources",
        Pages = "imported_pages",
        EntryPages = "imported_entry_pages",
        ExitPages = "imported_exit_pages",
        Locations = "imported_locations",
        Devices = "imported_devices",
        Browsers = "imported_browsers",
        OperatingSystems = "imported_operating_systems",
        CustomEvents = "imported_custom_events",
    }
}

/// Plausible's source for a visit without a referrer or UTM source.
const PLAUSIBLE_DIRECT: [&str; 3] = ["", "Direct / None", "(none)"];
/// System goals that carry a link: imported into Vigia's own dimensions for them too.
const OUTBOUND_GOAL: &str = "Outbound Link: Click";
const DOWNLOAD_GOAL: &str = "File Download";

impl Table {
    /// The dimensions this table writes (its imported rows of these are what a re-import
    /// replaces; no other table writes them).
    pub fn dimensions(self) -> &'static [Dimension] {
        use Dimension as D;
        match self {
            Table::Visitors => &[D::Total],
            Table::Sources => &[
                D::Source,
                D::UtmSource,
                D::UtmMedium,
                D::UtmCampaign,
                D::UtmContent,
                D::UtmTerm,
            ],
            Table::Pages => &[D::Page],
            Table::EntryPages => &[D::EntryPage],
            Table::ExitPages => &[D::ExitPage],
            Table::Locations => &[D::Country, D::Region],
            Table::Devices => &[D::Device],
            Table::Browsers => &[D::Browser],
            Table::OperatingSystems => &[D::Os],
            Table::CustomEvents => &[D::Event, D::Outbound, D::Download],
        }
    }

    /// Columns a file of this table must have.
    fn required(self) -> &'static [&'static str] {
        match self {
            // The day's totals: every export shape has all five, and a file without one would
            // replace the day's imported totals with a zero.
            Table::Visitors => &[
                "date",
                "visitors",
                "pageviews",
                "bounces",
                "visits",
                "visit_duration",
            ],
            Table::Sources => &["date", "source", "visitors"],
            Table::Pages => &["date", "page", "visitors"],
            Table::EntryPages => &["date", "entry_page", "visitors"],
            Table::ExitPages => &["date", "exit_page", "visitors"],
            Table::Locations => &["date", "country", "visitors"],
            Table::Devices => &["date", "device", "visitors"],
            Table::Browsers => &["date", "browser", "visitors"],
            Table::OperatingSystems => &["date", "operating_system", "visitors"],
            Table::CustomEvents => &["date", "name", "visitors", "events"],
        }
    }
}

/// The table a file name (or a bare table name) names, and the export's date range when the
/// name carries one: `imported_pages_20211230_20220101.csv` → (Pages, 2021-12-30..2022-01-01).
/// A directory part is ignored; `pages` alone is accepted too.
pub fn table_of(name: &str) -> Option<(Table, Option<(i64, i64)>)> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = base.strip_suffix(".csv").unwrap_or(base);
    let mut range = None;
    let mut table_name = stem;
    let parts: Vec<&str> = stem.rsplitn(3, '_').collect();
    if parts.len() == 3 {
        let ymd = |s: &str| {
            (s.len() == 8)
                .then(|| parse_day(&format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..])))
                .flatten()
        };
        if let (Some(to), Some(from)) = (ymd(parts[0]), ymd(parts[1])) {
            if from <= to {
                range = Some((from, to));
                table_name = parts[2];
            }
        }
    }
    let table =
        Table::parse(table_name).or_else(|| Table::parse(&format!("imported_{table_name}")))?;
    Some((table, range))
}

/// A file read: what it writes, and what it skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub table: Table,
    pub import: DailyImport,
    /// Data rows read and kept.
    pub rows_read: u64,
    pub skipped: Skipped,
}

/// Column positions of the metrics, when present.
struct Columns {
    date: usize,
    visitors: usize,
    pageviews: Option<usize>,
    visits: Option<usize>,
    bounces: Option<usize>,
    duration: Option<usize>,
    events: Option<usize>,
    time_on_page: Option<usize>,
}

/// Reads one table's file. `range` (day numbers, from the file name) widens the days replaced
/// so a re-export that lost a day clears it too. Rows dated `today` (the day number of the
/// site's local today) or later are skipped as `date_out_of_range`: history is of whole past
/// days, and today's figures are being collected. Errors (4xx) are for the whole file: no
/// header, a missing column, no row that could be read; a bad row is only skipped and counted.
pub fn parse(
    table: Table,
    text: &str,
    tz: &TimeZone,
    range: Option<(i64, i64)>,
    today: i64,
) -> Result<Parsed, ApiError> {
    let all = records(text);
    let Some((head, body)) = all.split_first() else {
        return Err(ApiError::bad_request(
            "empty_file",
            format!("{} is empty: no header row", table.as_str()),
        ));
    };
    let header = Header::new(&head.cells);
    header.require(table.as_str(), table.required())?;
    let at = |name: &str| header.index(name);
    let cols = Columns {
        date: at("date").expect("required"),
        visitors: at("visitors").expect("required"),
        pageviews: at("pageviews"),
        visits: match table {
            Table::EntryPages => at("entrances"),
            Table::ExitPages => at("exits"),
            _ => at("visits"),
        },
        bounces: at("bounces"),
        duration: at("visit_duration"),
        events: at("events"),
        time_on_page: at("total_time_on_page"),
    };
    let mut skipped = Skipped::default();
    let mut rows = Vec::new();
    let mut first_day: Option<i64> = None;
    let mut read = 0u64;
    for record in body {
        if !record.complete {
            skipped.add(record.line, SkipReason::UnterminatedQuote);
            continue;
        }
        if record.cells.len() != header.names.len() {
            skipped.add(record.line, SkipReason::WrongCellCount);
            continue;
        }
        if read as usize >= MAX_IMPORT_ROWS {
            skipped.add(record.line, SkipReason::TooManyRows);
            continue;
        }
        let cell = |i: usize| record.cells[i].as_str();
        let Some(day) = parse_day(cell(cols.date).trim()) else {
            skipped.add(record.line, SkipReason::BadDate);
            continue;
        };
        if day >= today {
            skipped.add(record.line, SkipReason::DateOutOfRange);
            continue;
        }
        let anchor = *first_day.get_or_insert(day);
        if (day - anchor).abs() >= MAX_IMPORT_SPAN_DAYS {
            skipped.add(record.line, SkipReason::DateOutOfRange);
            continue;
        }
        let number = |i: Option<usize>| i.map_or(Some(0), |i| count(cell(i)));
        let metrics = (
            number(Some(cols.visitors)),
            number(cols.pageviews),
            number(cols.visits),
            number(cols.bounces),
            number(cols.duration),
            number(cols.events),
            number(cols.time_on_page),
        );
        let (
            Some(visitors),
            Some(pageviews),
            Some(visits),
            Some(bounces),
            Some(duration_s),
            Some(events),
            Some(time_on_page_s),
        ) = metrics
        else {
            skipped.add(record.line, SkipReason::BadNumber);
            continue;
        };
        read += 1;
        let base = DailyRow {
            day: local_midnight_ms(date_of_day(day), tz),
            dimension: Dimension::Total,
            value: String::new(),
            visitors,
            pageviews,
            visits,
            bounces,
            duration_ms: duration_s * 1000,
            ..Default::default()
        };
        let text = |name: &str| at(name).map(|i| value(cell(i))).unwrap_or_default();
        let mut push = |dimension: Dimension, v: String| {
            rows.push(DailyRow {
                dimension,
                value: v,
                ..base.clone()
            });
        };
        match table {
            Table::Visitors => push(Dimension::Total, String::new()),
            Table::Sources => {
                let source = text("source");
                let source = if PLAUSIBLE_DIRECT.contains(&source.as_str()) {
                    crate::enrich::referrer::DIRECT_SOURCE.to_string()
                } else {
                    source
                };
                push(Dimension::Source, source);
                for (column, dimension) in [
                    ("utm_source", Dimension::UtmSource),
                    ("utm_medium", Dimension::UtmMedium),
                    ("utm_campaign", Dimension::UtmCampaign),
                    ("utm_content", Dimension::UtmContent),
                    ("utm_term", Dimension::UtmTerm),
                ] {
                    let v = text(column);
                    if !v.is_empty() {
                        push(dimension, v);
                    }
                }
            }
            Table::Pages => {
                rows.push(DailyRow {
                    dimension: Dimension::Page,
                    value: text("page"),
                    engaged_ms: time_on_page_s * 1000,
                    // A page's row counts page views, not visits (as collected page rows).
                    visits: 0,
                    bounces: 0,
                    duration_ms: 0,
                    ..base.clone()
                });
            }
            Table::EntryPages => push(Dimension::EntryPage, text("entry_page")),
            Table::ExitPages => push(Dimension::ExitPage, text("exit_page")),
            Table::Locations => {
                let country = text("country").to_ascii_uppercase();
                let known = country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic());
                push(
                    Dimension::Country,
                    if known {
                        country
                    } else {
                        crate::enrich::geo::UNKNOWN.into()
                    },
                );
                let region = text("region");
                push(
                    Dimension::Region,
                    if region.is_empty() {
                        crate::enrich::geo::UNKNOWN.into()
                    } else {
                        region
                    },
                );
            }
            Table::Devices => push(Dimension::Device, device(&text("device"))),
            Table::Browsers => push(Dimension::Browser, known_or_unknown(text("browser"))),
            Table::OperatingSystems => {
                push(Dimension::Os, operating_system(&text("operating_system")))
            }
            Table::CustomEvents => {
                let name = text("name");
                let link = text("link_url");
                let event = DailyRow {
                    dimension: Dimension::Event,
                    value: name.clone(),
                    events,
                    pageviews: 0,
                    visits: 0,
                    bounces: 0,
                    duration_ms: 0,
                    ..base.clone()
                };
                let linked = match name.as_str() {
                    OUTBOUND_GOAL => Some(Dimension::Outbound),
                    DOWNLOAD_GOAL => Some(Dimension::Download),
                    _ => None,
                };
                if let Some(dimension) = linked.filter(|_| !link.is_empty()) {
                    rows.push(DailyRow {
                        dimension,
                        value: link,
                        ..event.clone()
                    });
                }
                rows.push(event);
            }
        }
    }
    if read == 0 && skipped.total() > 0 {
        return Err(ApiError::new(
            422,
            "no_valid_rows",
            format!(
                "{}: none of its {} rows could be read ({}); nothing was imported",
                table.as_str(),
                skipped.total(),
                skipped
                    .reasons()
                    .iter()
                    .map(|(r, n)| format!("{r}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let rows = merge_rows(rows);
    let mut days: Vec<i64> = rows.iter().map(|r| r.day).collect();
    if let Some((from, to)) = range {
        days.push(local_midnight_ms(date_of_day(from), tz));
        days.push(local_midnight_ms(date_of_day(to), tz));
    }
    Ok(Parsed {
        table,
        import: DailyImport {
            dimensions: table.dimensions().to_vec(),
            first_day: days.iter().copied().min().unwrap_or(0),
            last_day: days.iter().copied().max().unwrap_or(-1),
            rows,
        },
        rows_read: read,
        skipped,
    })
}

fn known_or_unknown(v: String) -> String {
    if v.is_empty() || v == "(not set)" {
        crate::enrich::geo::UNKNOWN.into()
    } else {
        v
    }
}

/// Plausible's device (screen size class) as Vigia's device class.
fn device(v: &str) -> String {
    match v.to_ascii_lowercase().as_str() {
        "laptop" | "desktop" => "desktop".into(),
        "" | "(not set)" => crate::enrich::geo::UNKNOWN.into(),
        other => other.into(),
    }
}

/// Plausible's OS names where Vigia names the same system differently.
fn operating_system(v: &str) -> String {
    match v {
        "Mac" => "macOS".into(),
        "GNU/Linux" => "Linux".into(),
        other => known_or_unknown(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{day_span, replace_daily};
    use crate::store::sqlite::{all, migrated, run};
    use crate::store::Sql;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/plausible");
    /// A "today" after every fixture's days.
    const TODAY: i64 = 30_000;

    #[test]
    fn days_from_today_on_are_skipped() {
        let text = "date,visitors,pageviews,bounces,visits,visit_duration\n\
                    2024-05-30,1,1,0,1,5\n2024-05-31,2,2,0,2,5\n2024-06-01,3,3,0,3,5\n";
        let today = parse_day("2024-05-31").unwrap();
        let p = parse(Table::Visitors, text, &utc(), None, today).unwrap();
        assert_eq!(p.rows_read, 1);
        assert_eq!(p.skipped.reasons()["date_out_of_range"], 2);
        assert_eq!(find(&p, Dimension::Total, "2024-05-30", "").visitors, 1);
    }

    fn fixture(table: Table) -> (String, Option<(i64, i64)>) {
        let file = std::fs::read_dir(FIXTURES)
            .unwrap()
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .find(|n| table_of(n).map(|(t, _)| t) == Some(table))
            .unwrap_or_else(|| panic!("no fixture for {table:?}"));
        let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
        (text, table_of(&file).unwrap().1)
    }

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn find<'a>(p: &'a Parsed, dimension: Dimension, date: &str, v: &str) -> &'a DailyRow {
        let day = parse_day(date).unwrap() * crate::stats::DAY_MS;
        p.import
            .rows
            .iter()
            .find(|r| r.dimension == dimension && r.day == day && r.value == v)
            .unwrap_or_else(|| panic!("no {dimension:?} {date} {v}"))
    }

    #[test]
    fn file_names_name_the_table_and_the_range() {
        let (t, range) = table_of("export/imported_entry_pages_20211230_20211231.csv").unwrap();
        assert_eq!(t, Table::EntryPages);
        let (from, to) = range.unwrap();
        assert_eq!(
            (date_of_day(from).to_string(), date_of_day(to).to_string()),
            ("2021-12-30".into(), "2021-12-31".into())
        );
        assert_eq!(table_of("imported_pages"), Some((Table::Pages, None)));
        assert_eq!(table_of("pages"), Some((Table::Pages, None)));
        assert_eq!(
            table_of("imported_pages_20220101_20211230.csv").map(|t| t.1),
            None
        );
        assert_eq!(table_of("imported_scroll_depth.csv"), None);
        assert_eq!(table_of("notes.txt"), None);
    }

    #[test]
    fn every_fixture_table_reads_without_skipping() {
        for table in Table::ALL {
            let (text, range) = fixture(table);
            let p = parse(table, &text, &utc(), range, TODAY).unwrap();
            assert_eq!(p.skipped.total(), 0, "{table:?}");
            assert_eq!(
                p.rows_read as usize,
                text.lines().count() - 1,
                "{table:?}: every row read"
            );
            assert!(!p.import.rows.is_empty());
            assert!(p
                .import
                .rows
                .iter()
                .all(|r| table.dimensions().contains(&r.dimension)));
        }
    }

    #[test]
    fn visitors_become_daily_totals() {
        let (text, range) = fixture(Table::Visitors);
        let p = parse(Table::Visitors, &text, &utc(), range, TODAY).unwrap();
        let first = find(&p, Dimension::Total, "2011-12-25", "");
        assert_eq!(
            (
                first.visitors,
                first.pageviews,
                first.bounces,
                first.visits,
                first.duration_ms
            ),
            (5, 50, 2, 7, 8_640_000)
        );
        // Plausible's own test counts 99 page views in this file.
        assert_eq!(p.import.rows.iter().map(|r| r.pageviews).sum::<i64>(), 99);
        assert_eq!(day_span(&p.import.rows, &utc()).0, 6);
    }

    #[test]
    fn split_values_are_summed_and_names_mapped() {
        let (text, range) = fixture(Table::Browsers);
        let p = parse(Table::Browsers, &text, &utc(), range, TODAY).unwrap();
        let app = find(&p, Dimension::Browser, "2021-12-30", "Mobile App");
        assert_eq!((app.visitors, app.visits, app.bounces), (7, 7, 7));
        let (text, range) = fixture(Table::OperatingSystems);
        let p = parse(Table::OperatingSystems, &text, &utc(), range, TODAY).unwrap();
        assert_eq!(find(&p, Dimension::Os, "2021-12-30", "macOS").visitors, 13);
        assert_eq!(
            find(&p, Dimension::Os, "2022-01-01", "unknown").visitors,
            17
        );
        let (text, range) = fixture(Table::Devices);
        let p = parse(Table::Devices, &text, &utc(), range, TODAY).unwrap();
        assert_eq!(
            find(&p, Dimension::Device, "2022-01-02", "mobile").visits,
            73
        );
    }

    #[test]
    fn sources_fill_source_and_the_utm_values_they_have() {
        let (text, range) = fixture(Table::Sources);
        let p = parse(Table::Sources, &text, &utc(), range, TODAY).unwrap();
        assert_eq!(
            find(&p, Dimension::Source, "2021-12-30", "Direct").visitors,
            25
        );
        assert_eq!(
            find(&p, Dimension::UtmMedium, "2022-01-01", "referral").visitors,
            31
        );
        let google = find(&p, Dimension::Source, "2022-01-01", "Google");
        assert_eq!((google.visitors, google.visits), (22, 24));
        assert_eq!(
            find(
                &p,
                Dimension::UtmTerm,
                "2022-01-06",
                "how lucky am I as UInt64"
            )
            .visitors,
            1
        );
        // The file name's range (to 2022-01-06) is what a re-import replaces.
        assert_eq!(
            p.import.last_day,
            parse_day("2022-01-06").unwrap() * crate::stats::DAY_MS
        );
    }

    #[test]
    fn locations_keep_countries_and_regions_not_city_ids() {
        let (text, range) = fixture(Table::Locations);
        let p = parse(Table::Locations, &text, &utc(), range, TODAY).unwrap();
        let us = find(&p, Dimension::Country, "2021-12-30", "US");
        assert_eq!((us.visitors, us.visits), (7, 9));
        assert_eq!(
            find(&p, Dimension::Region, "2021-12-30", "unknown").visitors,
            22
        );
        assert!(p.import.rows.iter().all(|r| r.dimension != Dimension::City));
    }

    #[test]
    fn custom_events_count_events_and_links_fill_their_dimension() {
        let (text, range) = fixture(Table::CustomEvents);
        let p = parse(Table::CustomEvents, &text, &utc(), range, TODAY).unwrap();
        let signup = find(&p, Dimension::Event, "2021-12-30", "Signup");
        assert_eq!(
            (signup.visitors, signup.events, signup.pageviews),
            (40, 82, 0)
        );
        let newer = "date,name,link_url,path,visitors,events\n\
                     2024-04-01,Outbound Link: Click,https://example.com/x,,3,4\n";
        let p = parse(Table::CustomEvents, newer, &utc(), None, TODAY).unwrap();
        assert_eq!(
            find(
                &p,
                Dimension::Outbound,
                "2024-04-01",
                "https://example.com/x"
            )
            .events,
            4
        );
    }

    #[test]
    fn the_newer_export_shape_reads_by_header_names() {
        // Columns of the export since browser versions, page visits and time on page.
        let browsers =
            "date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews\r\n\
                        2024-04-01,Chrome,123.0,3,4,60,1,9\r\n\
                        2024-04-01,Chrome,124.0,2,2,0,2,2\r\n";
        let p = parse(Table::Browsers, browsers, &utc(), None, TODAY).unwrap();
        let chrome = find(&p, Dimension::Browser, "2024-04-01", "Chrome");
        assert_eq!(
            (chrome.visitors, chrome.pageviews, chrome.duration_ms),
            (5, 11, 60_000)
        );
        let pages = "date,hostname,page,visits,visitors,pageviews,total_scroll_depth,total_scroll_depth_visits,total_time_on_page,total_time_on_page_visits\n\
                     2024-04-01,example.com,/,5,4,7,100,2,30,2\n";
        let p = parse(Table::Pages, pages, &utc(), None, TODAY).unwrap();
        let home = find(&p, Dimension::Page, "2024-04-01", "/");
        assert_eq!(
            (home.visitors, home.pageviews, home.engaged_ms),
            (4, 7, 30_000)
        );
    }

    #[test]
    fn bad_rows_are_skipped_and_counted_and_good_rows_kept() {
        let text = "\u{feff}\"date\",\"device\",\"visitors\",\"visits\"\r\n\
                    \"2021-12-30\",\"Desktop\",1,1\r\n\
                    \"2021-13-01\",\"Desktop\",1,1\r\n\
                    \"2021-12-30\",\"Mobile\",-2,1\r\n\
                    \"2021-12-30\",\"Mobile\",2\r\n\
                    \"2021-12-31\",\"Tablet, large\",3,3\r\n\
                    \"1999-12-31\",\"Desktop\",1,1\r\n";
        let p = parse(Table::Devices, text, &utc(), None, TODAY).unwrap();
        assert_eq!(p.rows_read, 2);
        let reasons = p.skipped.reasons();
        assert_eq!(reasons["bad_date"], 1);
        assert_eq!(reasons["bad_number"], 1);
        assert_eq!(reasons["wrong_cell_count"], 1);
        assert_eq!(reasons["date_out_of_range"], 1);
        assert_eq!(p.skipped.listed[0].line, 3);
        assert_eq!(
            find(&p, Dimension::Device, "2021-12-31", "tablet, large").visitors,
            3
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_is_refused_whole() {
        let e = parse(Table::Pages, "", &utc(), None, TODAY).unwrap_err();
        assert_eq!((e.status, e.error), (400, "empty_file"));
        let e = parse(
            Table::Pages,
            "date,visitors\n2021-12-30,1\n",
            &utc(),
            None,
            TODAY,
        )
        .unwrap_err();
        assert_eq!((e.status, e.error), (400, "missing_columns"));
        assert!(e.message.contains("page"), "{}", e.message);
        // Totals without their counts would overwrite a day's imported totals with zeros.
        let e = parse(
            Table::Visitors,
            "date,visitors,bounces\n2021-12-30,10,1\n",
            &utc(),
            None,
            TODAY,
        )
        .unwrap_err();
        assert_eq!((e.status, e.error), (400, "missing_columns"));
        assert!(e.message.contains("pageviews"), "{}", e.message);
        // Plausible's own invalid sample: its one row has fewer cells than the header.
        let invalid = std::fs::read_to_string(format!(
            "{FIXTURES}/invalid/imported_devices_20211230_20211231.csv"
        ))
        .unwrap();
        let e = parse(Table::Devices, &invalid, &utc(), None, TODAY).unwrap_err();
        assert_eq!((e.status, e.error), (422, "no_valid_rows"));
        assert!(e.message.contains("wrong_cell_count"), "{}", e.message);
    }

    #[test]
    fn too_many_rows_are_skipped_past_the_limit() {
        let mut text = String::from("date,visitors,pageviews,bounces,visits,visit_duration\n");
        for _ in 0..MAX_IMPORT_ROWS + 2 {
            text.push_str("2021-12-30,1,1,0,1,0\n");
        }
        let p = parse(Table::Visitors, &text, &utc(), None, TODAY).unwrap();
        assert_eq!(p.rows_read as usize, MAX_IMPORT_ROWS);
        assert_eq!(p.skipped.reasons()["too_many_rows"], 2);
    }

    #[test]
    fn days_are_local_midnights_in_the_site_zone() {
        let lisbon_summer =
            "date,visitors,pageviews,bounces,visits,visit_duration\n2021-07-01,1,1,0,1,0\n";
        let tz = TimeZone::get("Europe/Lisbon").unwrap();
        let p = parse(Table::Visitors, lisbon_summer, &tz, None, TODAY).unwrap();
        let utc_midnight = parse_day("2021-07-01").unwrap() * crate::stats::DAY_MS;
        assert_eq!(p.import.rows[0].day, utc_midnight - crate::stats::HOUR_MS);
        assert_eq!(
            day_span(&p.import.rows, &tz).1.as_deref(),
            Some("2021-07-01")
        );
    }

    #[test]
    fn importing_every_fixture_twice_stores_the_same_rows() {
        let db = migrated();
        let store = |db: &rusqlite::Connection| {
            for table in Table::ALL {
                let (text, range) = fixture(table);
                let p = parse(table, &text, &utc(), range, TODAY).unwrap();
                for sql in replace_daily("s", &p.import) {
                    run(db, &sql);
                }
            }
        };
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Row {
            day: i64,
            dimension: String,
            value: String,
            visitors: i64,
            pageviews: i64,
            events: i64,
        }
        let read = |db: &rusqlite::Connection| -> Vec<Row> {
            all(
                db,
                &Sql::new(
                    "SELECT day, dimension, value, visitors, pageviews, events FROM rollups_daily \
                     WHERE imported = 1 ORDER BY dimension, day, value",
                    [],
                ),
            )
        };
        store(&db);
        let once = read(&db);
        store(&db);
        assert_eq!(read(&db), once);
        assert!(once.len() > 100, "{}", once.len());
        let total_pageviews: i64 = once
            .iter()
            .filter(|r| r.dimension == "total")
            .map(|r| r.pageviews)
            .sum();
        assert_eq!(total_pageviews, 99);
    }
}
