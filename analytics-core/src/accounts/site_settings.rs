//! What a site's settings may be: its name, hostnames, kept query parameters, time zone and
//! retention, checked before anything is written (`POST /api/sites`, `PATCH /api/sites/{site}`).

use api_types::sites::SiteBody;

use super::membership::{check_site_id, is_hostname};
use crate::error::ApiError;
use crate::governance::compliance::check_retention;
use crate::stats::period::time_zone;
use crate::store::{sites as sql, Sql};

/// Largest body of a site route.
pub const MAX_SITE_BODY_BYTES: usize = 8 * 1024;
/// Most hostnames one site may list.
pub const MAX_HOSTNAMES: usize = 20;
/// Longest site name.
pub const MAX_SITE_NAME_BYTES: usize = 120;
/// Longest list of query parameters a site keeps.
pub const MAX_QUERY_ALLOW_LIST_BYTES: usize = 512;
/// The time zone of a site created without one.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// Hostnames as stored: lower-cased, without scheme or trailing slash, each once.
pub fn clean_hostnames(hosts: &[String]) -> Result<Vec<String>, ApiError> {
    if hosts.len() > MAX_HOSTNAMES {
        return Err(ApiError::bad_request(
            "bad_hostnames",
            format!("a site may list at most {MAX_HOSTNAMES} hostnames"),
        ));
    }
    let mut out = Vec::new();
    for host in hosts {
        let h = host.trim().trim_end_matches('/').to_ascii_lowercase();
        let h = h
            .strip_prefix("https://")
            .or_else(|| h.strip_prefix("http://"))
            .unwrap_or(&h)
            .to_string();
        if !is_hostname(&h) {
            return Err(ApiError::bad_request(
                "bad_hostnames",
                format!("{host:?} is not a hostname such as example.com"),
            ));
        }
        if !out.contains(&h) {
            out.push(h);
        }
    }
    Ok(out)
}

/// A site's name: not blank, at most `MAX_SITE_NAME_BYTES`.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > MAX_SITE_NAME_BYTES {
        return Err(ApiError::bad_request(
            "bad_name",
            format!("a site needs a name of 1-{MAX_SITE_NAME_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Query parameters to keep: names of letters, digits, '_' or '-', separated by commas.
pub fn check_allow_list(list: &str) -> Result<(), ApiError> {
    let ok = list.len() <= MAX_QUERY_ALLOW_LIST_BYTES
        && list.split(',').map(str::trim).all(|p| {
            p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "bad_query_allow_list",
            "query parameters to keep are names separated by commas, e.g. ref,page",
        ))
    }
}

/// A new site's settings, checked, with the defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSite {
    pub id: String,
    /// Trimmed.
    pub name: String,
    pub timezone: String,
    pub query_allow_list: String,
    pub hash_routing: bool,
    pub hostnames: Vec<String>,
}

/// Checks a new site: the id is the one given or else the first hostname; the name defaults to
/// the id and the time zone to UTC. Errors come in the order the fields are checked.
pub fn check_new_site(body: SiteBody) -> Result<CheckedSite, ApiError> {
    let hostnames = clean_hostnames(body.hostnames.as_deref().unwrap_or_default())?;
    let id = match body.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => hostnames.first().cloned().ok_or_else(|| {
            ApiError::bad_request(
                "bad_site_id",
                "give the site an id or at least one hostname",
            )
        })?,
    };
    check_site_id(&id)?;
    let name = body.name.unwrap_or_else(|| id.clone());
    check_name(&name)?;
    let timezone = body.timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.into());
    time_zone(&timezone)?;
    let query_allow_list = body.query_allow_list.unwrap_or_default();
    check_allow_list(&query_allow_list)?;
    Ok(CheckedSite {
        id,
        name: name.trim().to_string(),
        timezone,
        query_allow_list,
        hash_routing: body.hash_routing.unwrap_or(false),
        hostnames,
    })
}

/// Another site with this id exists.
pub fn site_exists(id: &str) -> ApiError {
    ApiError::new(
        409,
        "site_exists",
        format!("a site with id {id:?} exists already"),
    )
}

/// The statements of an edit of `site`, each field checked; an edit that changes nothing, or
/// tries to change the id, is refused.
pub fn site_changes(site: &str, body: &SiteBody) -> Result<Vec<Sql>, ApiError> {
    if body.id.as_deref().is_some_and(|id| id != site) {
        return Err(ApiError::bad_request(
            "bad_site_id",
            "a site's id cannot change",
        ));
    }
    let mut batch = Vec::new();
    if let Some(name) = &body.name {
        check_name(name)?;
        batch.push(sql::set_name(site, name.trim()));
    }
    if let Some(tz) = &body.timezone {
        time_zone(tz)?;
        // Daily rollups are whole days of the zone: a new zone rebuilds them (from raw events).
        batch.extend(crate::store::rollups_daily::clear_days_on_zone_change(
            site, tz,
        ));
        batch.push(sql::set_timezone(site, tz));
    }
    if let Some(allow) = &body.query_allow_list {
        check_allow_list(allow)?;
        batch.push(sql::set_query_allow_list(site, allow));
    }
    if let Some(days) = body.retention_days {
        check_retention(days)?;
        batch.push(sql::set_retention_days(site, days));
    }
    if let Some(on) = body.hash_routing {
        batch.push(sql::set_hash_routing(site, on));
    }
    if let Some(hosts) = &body.hostnames {
        batch.extend(sql::replace_hostnames(site, &clean_hostnames(hosts)?));
    }
    if batch.is_empty() {
        return Err(ApiError::bad_request(
            "nothing_to_change",
            "give name, hostnames, timezone, query_allow_list, retention_days or hash_routing",
        ));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn limits_are_named() {
        assert_eq!(MAX_SITE_BODY_BYTES, 8192);
        assert_eq!(MAX_HOSTNAMES, 20);
        assert_eq!(MAX_SITE_NAME_BYTES, 120);
        assert_eq!(MAX_QUERY_ALLOW_LIST_BYTES, 512);
        assert_eq!(DEFAULT_TIMEZONE, "UTC");
    }

    #[test]
    fn hostnames_are_cleaned_deduplicated_and_bounded() {
        assert_eq!(
            clean_hostnames(&hosts(&[
                " HTTPS://Shop.Example/ ",
                "http://shop.example",
                "b.example"
            ]))
            .unwrap(),
            ["shop.example", "b.example"]
        );
        for bad in ["a b", "shop.example/path", "..", ""] {
            assert_eq!(
                clean_hostnames(&hosts(&[bad])).unwrap_err().error,
                "bad_hostnames",
                "{bad:?}"
            );
        }
        let many: Vec<String> = (0..=MAX_HOSTNAMES)
            .map(|i| format!("h{i}.example"))
            .collect();
        assert_eq!(clean_hostnames(&many).unwrap_err().error, "bad_hostnames");
        assert_eq!(
            clean_hostnames(&many[..MAX_HOSTNAMES]).unwrap().len(),
            MAX_HOSTNAMES
        );
    }

    #[test]
    fn names_and_allow_lists_are_checked() {
        assert!(check_name("Shop").is_ok());
        assert!(check_name(&"n".repeat(MAX_SITE_NAME_BYTES)).is_ok());
        for bad in ["", "   ", &"n".repeat(MAX_SITE_NAME_BYTES + 1)] {
            assert_eq!(check_name(bad).unwrap_err().error, "bad_name");
        }
        for good in ["", "ref", "ref, page", "utm_x,a-b"] {
            assert!(check_allow_list(good).is_ok(), "{good:?}");
        }
        let long = "a".repeat(MAX_QUERY_ALLOW_LIST_BYTES + 1);
        for bad in ["ref;page", "a=b", long.as_str()] {
            assert_eq!(
                check_allow_list(bad).unwrap_err().error,
                "bad_query_allow_list"
            );
        }
        assert!(check_allow_list(&"a".repeat(MAX_QUERY_ALLOW_LIST_BYTES)).is_ok());
    }

    #[test]
    fn a_new_site_takes_its_id_from_the_first_hostname_and_defaults() {
        let site = check_new_site(SiteBody {
            hostnames: Some(hosts(&["Shop.Example"])),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (site.id.as_str(), site.name.as_str(), site.timezone.as_str()),
            ("shop.example", "shop.example", "UTC")
        );
        assert!(!site.hash_routing);
        let named = check_new_site(SiteBody {
            id: Some(" demo ".into()),
            name: Some("  Demo ".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((named.id.as_str(), named.name.as_str()), ("demo", "Demo"));
        assert_eq!(
            check_new_site(SiteBody::default()).unwrap_err().error,
            "bad_site_id"
        );
        let bad_tz = SiteBody {
            id: Some("demo".into()),
            timezone: Some("Mars/Base".into()),
            ..Default::default()
        };
        assert_eq!(check_new_site(bad_tz).unwrap_err().status, 400);
        assert_eq!(site_exists("demo").status, 409);
    }

    #[test]
    fn an_edit_writes_only_what_is_given() {
        assert_eq!(
            site_changes("demo", &SiteBody::default())
                .unwrap_err()
                .error,
            "nothing_to_change"
        );
        let rename = SiteBody {
            id: Some("other".into()),
            ..Default::default()
        };
        assert_eq!(
            site_changes("demo", &rename).unwrap_err().error,
            "bad_site_id"
        );
        let edit = SiteBody {
            id: Some("demo".into()),
            name: Some(" Shop ".into()),
            hostnames: Some(hosts(&["a.example", "b.example"])),
            ..Default::default()
        };
        let batch = site_changes("demo", &edit).unwrap();
        // The name, then the hostnames replaced (one delete, two inserts).
        assert_eq!(batch.len(), 4);
        assert_eq!(batch[0], sql::set_name("demo", "Shop"));
        let retention = SiteBody {
            retention_days: Some(0),
            ..Default::default()
        };
        assert_eq!(
            site_changes("demo", &retention).unwrap_err().error,
            "bad_retention"
        );
    }
}
