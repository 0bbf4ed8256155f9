//! Dashboard filters: `dimension:value` pairs from the URL (`?f=country:PT&f=page:/pricing`).
//!
//! A filter selects **visits**: every number is then computed over the sessions that match all
//! filters. Session attributes (entry page, source, channel, UTM, geo, browser, OS, device)
//! match the session's first event; `page` matches visits that viewed the page; `exit_page`
//! the visit's last page view; `event`, `outbound`, `download` and `prop` visits that sent
//! that event (a `prop` filter's event part is a custom event's name, or `pageview` for a page
//! view's properties). Filtered queries read raw events (rollups hold one dimension at a time).

use crate::error::ApiError;
use crate::ingest::event::EventKind;
use crate::stats::rollup::{named_dimension, Dimension, DIMENSIONS, SESSION_DIMENSIONS};
use crate::store::events::SqlValue;

/// Most filters one query may combine.
pub const MAX_FILTERS: usize = 10;
/// Longest filter value (a URL path or a prop label).
pub const MAX_FILTER_VALUE_BYTES: usize = 2048;

/// Dimensions that can be filtered on: every rollup dimension but `total` and `bots`.
pub fn filter_dimensions() -> impl Iterator<Item = Dimension> {
    DIMENSIONS
        .into_iter()
        .filter(|d| !matches!(d, Dimension::Total | Dimension::Bots))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub dimension: Dimension,
    pub value: String,
}

/// The `events` column a session-level dimension reads from the session's first event.
pub fn session_column(dimension: Dimension) -> Option<&'static str> {
    SESSION_DIMENSIONS
        .iter()
        .find(|(d, _)| *d == dimension)
        .map(|(_, column)| *column)
}

/// The event kind a named-event dimension counts (the inverse of `rollup::named_dimension`).
pub fn event_kind(dimension: Dimension) -> Option<EventKind> {
    [EventKind::Custom, EventKind::Outbound, EventKind::Download]
        .into_iter()
        .find(|kind| named_dimension(*kind) == Some(dimension))
}

impl Filter {
    /// Parses `dimension:value`.
    pub fn parse(text: &str) -> Result<Filter, ApiError> {
        let bad = |m: String| ApiError::bad_request("bad_filter", m);
        let (dimension, value) = text
            .split_once(':')
            .ok_or_else(|| bad(format!("filter {text:?} must look like dimension:value")))?;
        let dimension = filter_dimensions()
            .find(|d| d.as_str() == dimension)
            .ok_or_else(|| {
                bad(format!(
                    "cannot filter on {dimension:?}; use one of {}",
                    filter_dimensions()
                        .map(Dimension::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if value.len() > MAX_FILTER_VALUE_BYTES {
            return Err(bad(format!(
                "a filter value may be at most {MAX_FILTER_VALUE_BYTES} bytes"
            )));
        }
        if dimension == Dimension::Prop && value.split('\u{1f}').count() != 3 {
            return Err(bad(
                "a prop filter is event, key and value separated by U+001F".into(),
            ));
        }
        Ok(Filter {
            dimension,
            value: value.to_string(),
        })
    }

    pub fn parse_all<'a>(
        texts: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Filter>, ApiError> {
        let filters = texts
            .into_iter()
            .map(Filter::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if filters.len() > MAX_FILTERS {
            return Err(ApiError::bad_request(
                "bad_filter",
                format!("at most {MAX_FILTERS} filters may be combined"),
            ));
        }
        Ok(filters)
    }

    /// `session IN (…)` selecting the visits this filter matches. `?1`–`?3` are site, from
    /// and to; the filter's own values are bound through `binds`.
    pub fn condition(&self, binds: &mut Binds) -> String {
        const IN_RANGE: &str = "site_id = ?1 AND ts >= ?2 AND ts < ?3";
        if let Some(col) = session_column(self.dimension) {
            // A session's first event is the one whose id is the session id; it may have
            // started before the range (sessions last at most a day).
            let v = binds.push_text(&self.value);
            return format!(
                "session IN (SELECT session FROM events WHERE site_id = ?1 AND ts >= ?2 - 86400000 \
                 AND ts < ?3 AND id = session AND {col} = {v})"
            );
        }
        match self.dimension {
            Dimension::Page => {
                let v = binds.push_text(&self.value);
                format!(
                    "session IN (SELECT session FROM events WHERE {IN_RANGE} AND kind = 'pageview' AND path = {v})"
                )
            }
            Dimension::ExitPage => {
                let v = binds.push_text(&self.value);
                format!(
                    "session IN (SELECT session FROM (SELECT session, path, MAX(ts) FROM events \
                     WHERE {IN_RANGE} AND kind = 'pageview' GROUP BY session) WHERE path = {v})"
                )
            }
            Dimension::Prop => {
                let mut parts = self.value.split('\u{1f}');
                let (name, key, value) = (
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                );
                let (n, k, v) = (
                    binds.push_text(name),
                    binds.push_text(key),
                    binds.push_text(value),
                );
                format!(
                    "session IN (SELECT session FROM events WHERE {IN_RANGE} AND kind IN ('custom', 'pageview') \
                     AND {} = {n} \
                     AND EXISTS (SELECT 1 FROM json_each(events.props) j WHERE j.key = {k} AND {} = {v}))",
                    prop_event_sql(""),
                    PROP_VALUE_TEXT
                )
            }
            dim => {
                let kind = event_kind(dim).unwrap_or(EventKind::Custom);
                let v = binds.push_text(&self.value);
                format!(
                    "session IN (SELECT session FROM events WHERE {IN_RANGE} AND kind = '{kind}' AND name = {v})"
                )
            }
        }
    }
}

/// The event part of a `prop` label, the way `rollup::apply` writes it: a custom event's name,
/// or `pageview` for a page view. `prefix` qualifies the columns (`"ev."`).
pub fn prop_event_sql(prefix: &str) -> String {
    format!(
        "(CASE WHEN {prefix}kind = 'pageview' THEN '{}' ELSE {prefix}name END)",
        crate::stats::rollup::PAGEVIEW_PROP_EVENT
    )
}

/// A JSON property value as text, the way `rollup::prop_label` writes it.
pub const PROP_VALUE_TEXT: &str =
    "(CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS TEXT) END)";

/// Numbered bind values after the fixed `?1`–`?3` (site, from, to).
#[derive(Debug, Clone, PartialEq)]
pub struct Binds(pub Vec<SqlValue>);

impl Binds {
    pub fn new(site: &str, from_ms: i64, to_ms: i64) -> Binds {
        Binds(vec![
            SqlValue::Text(site.into()),
            SqlValue::Int(from_ms),
            SqlValue::Int(to_ms),
        ])
    }

    pub fn push(&mut self, value: SqlValue) -> String {
        self.0.push(value);
        format!("?{}", self.0.len())
    }

    pub fn push_text(&mut self, text: &str) -> String {
        self.push(SqlValue::Text(text.into()))
    }

    pub fn push_int(&mut self, n: i64) -> String {
        self.push(SqlValue::Int(n))
    }
}

/// The query-string form: `dimension:value`.
pub fn to_param(filter: &Filter) -> String {
    format!("{}:{}", filter.dimension, filter.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_refuse_what_they_cannot_match() {
        let f = Filter::parse("page:/a:b").unwrap();
        assert_eq!((f.dimension, f.value.as_str()), (Dimension::Page, "/a:b"));
        assert_eq!(to_param(&f), "page:/a:b");
        for bad in ["nocolon", "visitor:x", "prop:only-two\u{1f}parts", "total:"] {
            assert_eq!(Filter::parse(bad).unwrap_err().error, "bad_filter", "{bad}");
        }
        let long = format!("page:/{}", "a".repeat(MAX_FILTER_VALUE_BYTES));
        assert_eq!(Filter::parse(&long).unwrap_err().status, 400);
        let many: Vec<String> = (0..=MAX_FILTERS).map(|i| format!("page:/{i}")).collect();
        assert!(Filter::parse_all(many.iter().map(String::as_str)).is_err());
        assert!(Filter::parse_all(many[..MAX_FILTERS].iter().map(String::as_str)).is_ok());
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let mut binds = Binds::new("s", 0, 1);
        let f = Filter::parse("country:PT' OR 1=1 --").unwrap();
        let sql = f.condition(&mut binds);
        assert!(sql.contains("country = ?4"), "{sql}");
        assert!(!sql.contains("OR 1=1"));
        assert_eq!(binds.0[3], SqlValue::Text("PT' OR 1=1 --".into()));
    }
}
