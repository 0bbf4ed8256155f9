//! The dashboard's view lives in the URL (`?site=…&period=…&f=country:PT&tab=…`), so any view
//! can be bookmarked and shared, and Back undoes a filter.

use wasm_bindgen::JsValue;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct View {
    pub site: Option<String>,
    /// A preset name (`today`, `7d`, …, `custom`).
    pub period: String,
    pub from: String,
    pub to: String,
    /// `dimension:value` filters.
    pub filters: Vec<String>,
    /// `overview` (default), `settings`, `new-site`, `account`, `users`.
    pub tab: String,
    /// A public link's token: the dashboard then shows only that site, read-only.
    pub share: Option<String>,
    /// An invitation token (`?invite=`): read once, never written back to the address bar.
    pub invite: Option<String>,
}

pub const DEFAULT_PERIOD: &str = "30d";

fn params() -> Option<web_sys::UrlSearchParams> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()
}

impl View {
    pub fn from_url() -> View {
        let Some(p) = params() else {
            return View::default().normalised();
        };
        let one = |k: &str| p.get(k).filter(|v| !v.is_empty());
        let filters = p
            .get_all("f")
            .iter()
            .filter_map(|v| v.as_string())
            .filter(|v| v.contains(':'))
            .collect();
        View {
            site: one("site"),
            period: one("period").unwrap_or_default(),
            from: one("from").unwrap_or_default(),
            to: one("to").unwrap_or_default(),
            filters,
            tab: one("tab").unwrap_or_default(),
            share: one("share"),
            invite: one("invite"),
        }
        .normalised()
    }

    fn normalised(mut self) -> View {
        if self.period.is_empty() {
            self.period = DEFAULT_PERIOD.into();
        }
        if self.tab.is_empty() {
            self.tab = "overview".into();
        }
        self
    }

    /// The query string for this view (what the address bar shows).
    pub fn to_query(&self) -> String {
        let p = web_sys::UrlSearchParams::new().expect("URLSearchParams");
        if let Some(s) = &self.share {
            p.append("share", s);
        }
        if let Some(s) = &self.site {
            p.append("site", s);
        }
        if self.tab != "overview" {
            p.append("tab", &self.tab);
        }
        self.append_period_and_filters(&p, false);
        p.to_string().as_string().unwrap_or_default()
    }

    /// The stats API's query for this view's site, period and filters.
    pub fn stats_query(&self) -> String {
        let p = web_sys::UrlSearchParams::new().expect("URLSearchParams");
        p.append("site", self.site.as_deref().unwrap_or_default());
        self.append_period_and_filters(&p, true);
        p.to_string().as_string().unwrap_or_default()
    }

    /// The address bar leaves the default period out; the API is always told.
    fn append_period_and_filters(&self, p: &web_sys::UrlSearchParams, always_period: bool) {
        if always_period || self.period != DEFAULT_PERIOD {
            p.append("period", &self.period);
        }
        if self.period == "custom" {
            p.append("from", &self.from);
            p.append("to", &self.to);
        }
        for f in &self.filters {
            p.append("f", f);
        }
    }

    /// Puts the view in the address bar; `push` adds a history entry (Back undoes it).
    pub fn write(&self, push: bool) {
        let Some(w) = web_sys::window() else { return };
        let Ok(history) = w.history() else { return };
        let query = self.to_query();
        let url = if query.is_empty() {
            "/".to_string()
        } else {
            format!("/?{query}")
        };
        let current = w.location().search().unwrap_or_default();
        if current.trim_start_matches('?') == query {
            return;
        }
        let _ = if push {
            history.push_state_with_url(&JsValue::NULL, "", Some(&url))
        } else {
            history.replace_state_with_url(&JsValue::NULL, "", Some(&url))
        };
    }

    pub fn with_filter(&self, filter: String) -> View {
        let mut v = self.clone();
        let dim = filter.split(':').next().unwrap_or_default().to_string();
        // One value per dimension: clicking another country replaces the country filter.
        v.filters.retain(|f| !f.starts_with(&format!("{dim}:")));
        v.filters.push(filter);
        v
    }

    pub fn without_filter(&self, filter: &str) -> View {
        let mut v = self.clone();
        v.filters.retain(|f| f != filter);
        v
    }
}
