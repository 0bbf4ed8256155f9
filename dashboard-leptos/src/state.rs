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
    /// The screen (`?tab=`; the overview when absent or unknown).
    pub tab: Tab,
    /// A public link's token: the dashboard then shows only that site, read-only.
    pub share: Option<String>,
    /// An invitation token (`?invite=`): read once, never written back to the address bar.
    pub invite: Option<String>,
}

pub const DEFAULT_PERIOD: &str = "30d";

/// The dashboard's screens, as `?tab=` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Overview,
    Settings,
    Reports,
    Activity,
    Alerts,
    Bots,
    Audit,
    Account,
    Users,
    NewSite,
}

impl Tab {
    /// The navigation, in order (a new site is reached by its own button).
    pub const NAVIGATION: [Tab; 9] = [
        Tab::Overview,
        Tab::Settings,
        Tab::Reports,
        Tab::Activity,
        Tab::Alerts,
        Tab::Bots,
        Tab::Audit,
        Tab::Account,
        Tab::Users,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Settings => "settings",
            Tab::Reports => "reports",
            Tab::Activity => "activity",
            Tab::Alerts => "alerts",
            Tab::Bots => "bots",
            Tab::Audit => "audit",
            Tab::Account => "account",
            Tab::Users => "users",
            Tab::NewSite => "new-site",
        }
    }

    /// An unknown name (an old bookmark) opens the overview.
    pub fn parse(name: &str) -> Tab {
        Tab::NAVIGATION
            .into_iter()
            .chain([Tab::NewSite])
            .find(|t| t.name() == name)
            .unwrap_or_default()
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::Overview => "Dashboard",
            Tab::Settings => "Site settings",
            Tab::Reports => "Reports",
            Tab::Activity => "Activity",
            Tab::Alerts => "Alerts",
            Tab::Bots => "Bots",
            Tab::Audit => "Audit log",
            Tab::Account => "Account",
            Tab::Users => "Users",
            Tab::NewSite => "Add a site",
        }
    }

    /// Whether the screen shows the selected site (and so waits for the site list).
    pub fn per_site(self) -> bool {
        !matches!(self, Tab::Account | Tab::Users | Tab::NewSite)
    }

    /// Whether the navigation offers it to someone with `role` on the site (the Worker checks
    /// again on every request).
    pub fn offered(self, instance_admin: bool, role: &str) -> bool {
        match self {
            Tab::Users => instance_admin,
            Tab::Audit | Tab::Activity | Tab::Alerts => {
                instance_admin || matches!(role, "auditor" | "admin" | "owner")
            }
            _ => true,
        }
    }
}

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
            tab: one("tab").map(|t| Tab::parse(&t)).unwrap_or_default(),
            share: one("share"),
            invite: one("invite"),
        }
        .normalised()
    }

    fn normalised(mut self) -> View {
        if self.period.is_empty() {
            self.period = DEFAULT_PERIOD.into();
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
        if self.tab != Tab::Overview {
            p.append("tab", self.tab.name());
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

#[cfg(test)]
mod tests {
    use super::Tab;

    #[test]
    fn every_tab_name_reads_back_and_unknown_names_open_the_overview() {
        for tab in Tab::NAVIGATION.into_iter().chain([Tab::NewSite]) {
            assert_eq!(Tab::parse(tab.name()), tab);
        }
        assert_eq!(Tab::parse("compliance"), Tab::Overview);
        assert_eq!(Tab::parse(""), Tab::Overview);
        assert!(!Tab::NAVIGATION.contains(&Tab::NewSite));
    }

    #[test]
    fn records_and_users_are_offered_only_to_whom_the_worker_serves_them() {
        assert!(!Tab::Users.offered(false, "owner"));
        assert!(Tab::Users.offered(true, "viewer"));
        assert!(!Tab::Audit.offered(false, "viewer"));
        assert!(Tab::Audit.offered(false, "auditor"));
        assert!(Tab::Settings.offered(false, "viewer"));
        // Bots are stats: whoever reads the stats may read them.
        assert!(Tab::Bots.offered(false, "viewer"));
    }
}
