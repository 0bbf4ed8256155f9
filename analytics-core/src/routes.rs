//! Every route of the Worker with who may call it. The Worker checks access here, in one
//! place, before a handler runs; the OpenAPI file documents the same table (a test keeps them
//! equal) and the end-to-end role walk calls every route with every role.

pub use api_types::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (ingest, health, login, the API description, a public link's site name).
    Public,
    /// Any logged-in user.
    User,
    /// A user with the instance-wide admin flag.
    InstanceAdmin,
    /// A member of the site named by `{site}` (or `?site=`) with at least this role.
    Site(Role),
}

impl Access {
    /// The `x-vigia-access` value in the OpenAPI file.
    pub fn label(self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::User => "user".into(),
            Access::InstanceAdmin => "instance_admin".into(),
            Access::Site(role) => format!("site:{}", role.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// Path pattern; `{name}` matches one non-empty segment.
    pub path: &'static str,
    pub access: Access,
}

const fn r(method: &'static str, path: &'static str, access: Access) -> Route {
    Route {
        method,
        path,
        access,
    }
}

use Access::*;
use Role::*;

pub const ROUTES: &[Route] = &[
    r("POST", "/api/event", Public),
    // Authenticated by the site's secret activity key, checked in the handler.
    r("POST", "/api/activity", Public),
    r("OPTIONS", "/api/event", Public),
    r("GET", "/health", Public),
    r("GET", "/api/openapi.json", Public),
    r("GET", "/api/setup", Public),
    r("POST", "/api/setup", Public),
    r("POST", "/api/login", Public),
    r("GET", "/api/share/{token}", Public),
    r("POST", "/api/invites/accept", Public),
    // Authenticated by the signature in the link each report carries.
    r("GET", "/api/reports/unsubscribe", Public),
    r("POST", "/api/reports/unsubscribe", Public),
    r("POST", "/api/logout", User),
    r("GET", "/api/me", User),
    r("POST", "/api/me/password", User),
    // Invitations to sites, for the logged-in user's own email only.
    r("GET", "/api/me/invitations", User),
    r("POST", "/api/me/invitations/{id}/accept", User),
    r("DELETE", "/api/me/invitations/{id}", User),
    r("GET", "/api/tokens", User),
    r("POST", "/api/tokens", User),
    r("DELETE", "/api/tokens/{id}", User),
    r("GET", "/api/sites", User),
    r("POST", "/api/sites", User),
    r("GET", "/api/users", InstanceAdmin),
    r("POST", "/api/users", InstanceAdmin),
    r("DELETE", "/api/users/{id}", InstanceAdmin),
    r("GET", "/api/sites/{site}", Site(Viewer)),
    r("PATCH", "/api/sites/{site}", Site(Admin)),
    r("DELETE", "/api/sites/{site}", Site(Owner)),
    r("GET", "/api/sites/{site}/members", Site(Admin)),
    r("PUT", "/api/sites/{site}/members", Site(Admin)),
    r("DELETE", "/api/sites/{site}/members/{user}", Site(Admin)),
    r("POST", "/api/sites/{site}/share", Site(Admin)),
    r("GET", "/api/sites/{site}/goals", Site(Viewer)),
    r("POST", "/api/sites/{site}/goals", Site(Admin)),
    r("DELETE", "/api/sites/{site}/goals/{id}", Site(Admin)),
    r("GET", "/api/sites/{site}/funnels", Site(Viewer)),
    r("POST", "/api/sites/{site}/funnels", Site(Admin)),
    r("DELETE", "/api/sites/{site}/funnels/{id}", Site(Admin)),
    r("GET", "/api/sites/{site}/audit", Site(Auditor)),
    r("GET", "/api/audit", InstanceAdmin),
    r("GET", "/api/sites/{site}/compliance", Site(Auditor)),
    r("POST", "/api/sites/{site}/activity-key", Site(Admin)),
    r("GET", "/api/sites/{site}/activity", Site(Auditor)),
    r("GET", "/api/sites/{site}/activity/sessions", Site(Auditor)),
    r("GET", "/api/sites/{site}/activity/summary", Site(Auditor)),
    r(
        "DELETE",
        "/api/sites/{site}/activity/users/{user}",
        Site(Admin),
    ),
    r("GET", "/api/sites/{site}/reports/preview", Site(Viewer)),
    r(
        "GET",
        "/api/sites/{site}/reports/subscription",
        Site(Viewer),
    ),
    r(
        "PUT",
        "/api/sites/{site}/reports/subscription",
        Site(Viewer),
    ),
    r("GET", "/api/sites/{site}/reports/sent", Site(Admin)),
    r("GET", "/api/sites/{site}/alerts", Site(Auditor)),
    // Instance-wide alerts: Vigia's own failed logins.
    r("GET", "/api/alerts", InstanceAdmin),
    r("GET", "/api/stats/overview", Site(Viewer)),
    r("GET", "/api/stats/totals", Site(Viewer)),
    r("GET", "/api/stats/timeseries", Site(Viewer)),
    r("GET", "/api/stats/pages", Site(Viewer)),
    r("GET", "/api/stats/breakdown", Site(Viewer)),
    r("GET", "/api/stats/realtime", Site(Viewer)),
    r("GET", "/api/stats/goals", Site(Viewer)),
    r("GET", "/api/stats/funnel", Site(Viewer)),
    r("GET", "/api/stats/bots", Site(Viewer)),
    r("GET", "/api/export/events", Site(Auditor)),
];

/// Path parameters by name (`{site}` → ("site", "shop")).
pub type Params = Vec<(&'static str, String)>;

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    MethodNotAllowed,
}

fn params_of(pattern: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                params.push((&w[1..w.len() - 1], g.to_string()));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// The route for a request and its path parameters.
pub fn find(method: &str, path: &str) -> Result<(Route, Params), Miss> {
    let mut path_known = false;
    for route in ROUTES {
        if let Some(params) = params_of(route.path, path) {
            if route.method == method {
                return Ok((*route, params));
            }
            path_known = true;
        }
    }
    Err(if path_known {
        Miss::MethodNotAllowed
    } else {
        Miss::NotFound
    })
}

/// Routes an API token may call: reading stats and exports, nothing that changes state.
pub fn token_may_call(route: &Route) -> bool {
    route.method == "GET"
        && matches!(route.access, Site(_))
        && (route.path.starts_with("/api/stats/") || route.path.starts_with("/api/export/"))
}

/// Routes a public read-only link may call: the stats of its site.
pub fn share_may_call(route: &Route) -> bool {
    route.method == "GET" && route.path.starts_with("/api/stats/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_parameters() {
        let (route, params) = find("DELETE", "/api/sites/shop/goals/7").unwrap();
        assert_eq!(route.access, Site(Admin));
        assert_eq!(params, vec![("site", "shop".into()), ("id", "7".into())]);
        assert_eq!(
            find("PUT", "/api/event").unwrap_err(),
            Miss::MethodNotAllowed
        );
        assert_eq!(
            find("GET", "/api/sites//goals").unwrap_err(),
            Miss::NotFound
        );
        assert_eq!(find("GET", "/nope").unwrap_err(), Miss::NotFound);
        assert!(Owner > Admin && Admin > Auditor && Auditor > Viewer);
    }

    #[test]
    fn tokens_and_links_only_read() {
        let callable: Vec<&str> = ROUTES
            .iter()
            .filter(|r| token_may_call(r))
            .map(|r| r.path)
            .collect();
        assert!(callable.contains(&"/api/export/events"));
        assert!(!callable.iter().any(|p| p.starts_with("/api/sites")));
        assert!(ROUTES
            .iter()
            .filter(|r| share_may_call(r))
            .all(|r| r.method == "GET"));
    }

    /// The OpenAPI file documents exactly these routes, each with its access.
    #[test]
    fn openapi_documents_every_route_and_its_access() {
        let text = include_str!("../../edge-worker/openapi.json");
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                documented.push((
                    method.to_uppercase(),
                    path.clone(),
                    op["x-vigia-access"]
                        .as_str()
                        .unwrap_or("missing")
                        .to_string(),
                ));
            }
        }
        documented.sort();
        let mut routed: Vec<(String, String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string(), r.access.label()))
            .collect();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
