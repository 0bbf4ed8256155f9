//! The deployment's settings: every `VIGIA_*` variable the Worker reads, with its default and its
//! check, in one place. The Worker reads them once per isolate (`edge-worker/src/config.rs`)
//! through `Settings::read`; a test below keeps this list, `wrangler.toml` and the configuration
//! table in `docs/operations.md` the same set.

use crate::governance::alerts::Rules;
use crate::util::email::{Provider, DEFAULT_HTTP_EMAIL_URL};

/// Where a setting's value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A `[vars]` entry in wrangler.toml (or `--var` under wrangler dev).
    Var,
    /// A secret (`wrangler secret put`): never in wrangler.toml, where a comment names it.
    Secret,
}

/// One setting, as documented.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub source: Source,
    /// What it does, one line.
    pub about: &'static str,
}

const fn var(name: &'static str, about: &'static str) -> Setting {
    Setting {
        name,
        source: Source::Var,
        about,
    }
}

const fn secret(name: &'static str, about: &'static str) -> Setting {
    Setting {
        name,
        source: Source::Secret,
        about,
    }
}

/// Every setting the Worker reads. Adding one here without reading it in `Settings::read`,
/// listing it in wrangler.toml and documenting it fails the tests below.
pub const SETTINGS: [Setting; 20] = [
    var(
        "VIGIA_EMAIL_PROVIDER",
        "mail provider: cloudflare, http or empty (no mail)",
    ),
    var("VIGIA_EMAIL_FROM", "sender of reports and alerts"),
    var(
        "VIGIA_EMAIL_API_URL",
        "the HTTP provider's endpoint (Resend-compatible JSON)",
    ),
    secret("VIGIA_EMAIL_API_KEY", "the HTTP provider's key"),
    var(
        "VIGIA_PUBLIC_URL",
        "the origin snippets, public links and links in mail point at",
    ),
    var(
        "VIGIA_ALERT_RULES",
        "suspicious-activity thresholds as JSON",
    ),
    secret(
        "VIGIA_ALERT_WEBHOOK_URL",
        "chat webhook for new alerts (its URL is a credential)",
    ),
    secret(
        "VIGIA_SETUP_TOKEN",
        "the bearer token first-run setup needs",
    ),
    secret(
        "VIGIA_FINGERPRINT_SECRET",
        "mixed into every address-fingerprint key",
    ),
    var(
        "VIGIA_MAX_SITES_PER_USER",
        "sites a user who is not an instance admin may own",
    ),
    var(
        "VIGIA_SHARE_REQUESTS_PER_MINUTE",
        "public-link requests per address and minute",
    ),
    var(
        "VIGIA_ADDRESS_EVENTS_PER_MINUTE",
        "events one address may send to one site per minute",
    ),
    var(
        "VIGIA_SITE_EVENTS_PER_MINUTE",
        "events one site may receive per minute",
    ),
    var(
        "VIGIA_ACTIVITY_RECORDS_PER_MINUTE",
        "activity records one site may report per minute",
    ),
    var(
        "VIGIA_MAX_BUFFERED_EVENTS",
        "events a site's buffer holds before answering 503",
    ),
    var(
        "VIGIA_APP_RECORDS_PER_MINUTE",
        "records one app may upload per minute (all its installs)",
    ),
    var(
        "VIGIA_APP_INSTALL_RECORDS_PER_MINUTE",
        "records one install of an app may upload per minute",
    ),
    var(
        "VIGIA_TRUST_GEO_HEADERS",
        "tests only: take edge facts (geo) from X-Vigia-* headers",
    ),
    var(
        "VIGIA_TEST_SEAL_PAUSE",
        "tests only: the sealing job stalls after this step (cleared, page, copied, committed)",
    ),
    var(
        "VIGIA_TEST_FLUSH_PAUSE",
        "tests only: `landed` stalls a buffer flush after D1 committed it",
    ),
];

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: mail is off. `Err`: the value is wrong (kept, so each sender can say why).
    pub email_provider: Result<Option<Provider>, String>,
    pub email_from: String,
    pub email_api_url: String,
    pub email_api_key: Option<String>,
    pub public_url: Option<String>,
    pub alert_rules: Rules,
    pub alert_webhook_url: Option<String>,
    pub setup_token: Option<String>,
    pub fingerprint_secret: String,
    pub max_sites_per_user: i64,
    pub share_requests_per_minute: i64,
    pub address_events_per_minute: i64,
    pub site_events_per_minute: i64,
    pub activity_records_per_minute: i64,
    pub max_buffered_events: i64,
    pub app_records_per_minute: i64,
    pub app_install_records_per_minute: i64,
    pub trust_geo_headers: bool,
    /// Tests only: the sealing job waits after this step, so a test can kill the process there.
    pub test_seal_pause: Option<crate::store::seal::SealStep>,
    /// Tests only: a buffer flush stalls after D1 committed its batch (`VIGIA_TEST_FLUSH_PAUSE
    /// = "landed"`), so a test can kill the process there.
    pub test_flush_pause: bool,
}

/// The sender when `VIGIA_EMAIL_FROM` is unset.
pub const DEFAULT_EMAIL_FROM: &str = "Vigia <reports@localhost>";

impl Default for Settings {
    fn default() -> Self {
        Settings::read(|_| None).0
    }
}

impl Settings {
    /// Reads every setting through `lookup` (a variable or secret by name). Empty counts as
    /// unset. A value that fails its check keeps the default and is described in the second
    /// part of the answer, for the Worker to log: a typo in a limit must not stop ingest.
    pub fn read(lookup: impl Fn(&str) -> Option<String>) -> (Settings, Vec<String>) {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        let mut limit = |name: &str, default: i64| match get(name) {
            None => default,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    problems.push(format!(
                        "{name} is {v:?}; it must be a positive whole number (using {default})"
                    ));
                    default
                }
            },
        };
        use crate::{accounts::membership as accounts, governance::activity, ingest::rate_limit};
        let [max_sites_per_user, share_requests_per_minute, address_events_per_minute, site_events_per_minute, activity_records_per_minute, max_buffered_events, app_records_per_minute, app_install_records_per_minute] =
            [
                ("VIGIA_MAX_SITES_PER_USER", accounts::MAX_SITES_PER_USER),
                (
                    "VIGIA_SHARE_REQUESTS_PER_MINUTE",
                    accounts::SHARE_REQUESTS_PER_WINDOW,
                ),
                (
                    "VIGIA_ADDRESS_EVENTS_PER_MINUTE",
                    rate_limit::MAX_EVENTS_PER_ADDRESS_PER_WINDOW,
                ),
                (
                    "VIGIA_SITE_EVENTS_PER_MINUTE",
                    rate_limit::MAX_EVENTS_PER_SITE_PER_WINDOW,
                ),
                (
                    "VIGIA_ACTIVITY_RECORDS_PER_MINUTE",
                    activity::MAX_ACTIVITY_PER_SITE_PER_MINUTE,
                ),
                (
                    "VIGIA_MAX_BUFFERED_EVENTS",
                    crate::limits::MAX_BUFFERED_EVENTS,
                ),
                (
                    "VIGIA_APP_RECORDS_PER_MINUTE",
                    crate::apps::MAX_APP_RECORDS_PER_MINUTE,
                ),
                (
                    "VIGIA_APP_INSTALL_RECORDS_PER_MINUTE",
                    crate::apps::MAX_INSTALL_RECORDS_PER_MINUTE,
                ),
            ]
            .map(|(name, default)| limit(name, default));
        // A limit below one full batch would refuse every full batch forever: the agent resends
        // the same batch until it is taken.
        let batch = ingest_limits::app::MAX_RECORDS_PER_BATCH as i64;
        let [app_records_per_minute, app_install_records_per_minute] = [
            ("VIGIA_APP_RECORDS_PER_MINUTE", app_records_per_minute),
            (
                "VIGIA_APP_INSTALL_RECORDS_PER_MINUTE",
                app_install_records_per_minute,
            ),
        ]
        .map(|(name, n)| {
            if n < batch {
                problems.push(format!(
                    "{name} is {n}; it must be at least one full batch of the agent (using {batch})"
                ));
            }
            n.max(batch)
        });
        let email_provider = Provider::from_config(get("VIGIA_EMAIL_PROVIDER").as_deref());
        if let Err(e) = &email_provider {
            problems.push(e.clone());
        }
        let alert_rules =
            Rules::from_config(get("VIGIA_ALERT_RULES").as_deref()).unwrap_or_else(|e| {
                problems.push(format!("{e}; using the default thresholds"));
                Rules::default()
            });
        let trust_geo_headers = match get("VIGIA_TRUST_GEO_HEADERS").as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                problems.push(format!(
                    "VIGIA_TRUST_GEO_HEADERS is {other:?}; use true or leave it empty (off)"
                ));
                false
            }
        };
        let test_seal_pause = get("VIGIA_TEST_SEAL_PAUSE").and_then(|v| {
            let step = crate::store::seal::SealStep::parse(v.trim());
            if step.is_none() {
                problems.push(format!(
                    "VIGIA_TEST_SEAL_PAUSE is {v:?}; use one of {} or leave it empty",
                    crate::store::seal::SealStep::NAMES.join(", ")
                ));
            }
            step
        });
        let test_flush_pause = match get("VIGIA_TEST_FLUSH_PAUSE").as_deref().map(str::trim) {
            None => false,
            Some("landed") => true,
            Some(other) => {
                problems.push(format!(
                    "VIGIA_TEST_FLUSH_PAUSE is {other:?}; use landed or leave it empty"
                ));
                false
            }
        };
        let settings = Settings {
            email_provider,
            email_from: get("VIGIA_EMAIL_FROM").unwrap_or_else(|| DEFAULT_EMAIL_FROM.into()),
            email_api_url: get("VIGIA_EMAIL_API_URL")
                .unwrap_or_else(|| DEFAULT_HTTP_EMAIL_URL.into()),
            email_api_key: get("VIGIA_EMAIL_API_KEY"),
            public_url: get("VIGIA_PUBLIC_URL").map(|v| v.trim_end_matches('/').to_string()),
            alert_rules,
            alert_webhook_url: get("VIGIA_ALERT_WEBHOOK_URL"),
            setup_token: get("VIGIA_SETUP_TOKEN"),
            fingerprint_secret: get("VIGIA_FINGERPRINT_SECRET").unwrap_or_default(),
            max_sites_per_user,
            share_requests_per_minute,
            address_events_per_minute,
            site_events_per_minute,
            activity_records_per_minute,
            max_buffered_events,
            app_records_per_minute,
            app_install_records_per_minute,
            trust_geo_headers,
            test_seal_pause,
            test_flush_pause,
        };
        (settings, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::{BTreeSet, HashMap};

    fn read(pairs: &[(&str, &str)]) -> (Settings, Vec<String>) {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::read(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_set_gives_the_documented_defaults() {
        let (s, problems) = read(&[]);
        assert!(problems.is_empty());
        assert_eq!(s.email_provider, Ok(None));
        assert_eq!(s.email_from, DEFAULT_EMAIL_FROM);
        assert_eq!(s.email_api_url, DEFAULT_HTTP_EMAIL_URL);
        assert_eq!(s.max_sites_per_user, 10);
        assert_eq!(s.share_requests_per_minute, 240);
        assert_eq!(s.address_events_per_minute, 3_000);
        assert_eq!(s.site_events_per_minute, 60_000);
        assert_eq!(s.activity_records_per_minute, 6_000);
        assert_eq!(s.max_buffered_events, 100_000);
        assert_eq!(s.app_records_per_minute, 60_000);
        assert_eq!(s.app_install_records_per_minute, 2_000);
        assert!(!s.trust_geo_headers);
        assert_eq!((s.setup_token, s.public_url), (None, None));
    }

    #[test]
    fn app_limits_hold_at_least_one_full_batch() {
        let (s, problems) = read(&[("VIGIA_APP_INSTALL_RECORDS_PER_MINUTE", "100")]);
        assert_eq!(
            s.app_install_records_per_minute,
            ingest_limits::app::MAX_RECORDS_PER_BATCH as i64
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("full batch"), "{problems:?}");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let (s, problems) = read(&[
            ("VIGIA_SITE_EVENTS_PER_MINUTE", " "),
            ("VIGIA_EMAIL_FROM", ""),
        ]);
        assert!(problems.is_empty());
        assert_eq!(s.site_events_per_minute, 60_000);
        assert_eq!(s.email_from, DEFAULT_EMAIL_FROM);
    }

    #[test]
    fn values_are_read_and_checked() {
        let (s, problems) = read(&[
            ("VIGIA_SITE_EVENTS_PER_MINUTE", "500"),
            ("VIGIA_EMAIL_PROVIDER", "http"),
            ("VIGIA_PUBLIC_URL", "https://stats.example/"),
            ("VIGIA_TRUST_GEO_HEADERS", "true"),
            ("VIGIA_SETUP_TOKEN", "s3cret"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.site_events_per_minute, 500);
        assert_eq!(s.email_provider, Ok(Some(Provider::Http)));
        assert_eq!(s.public_url.as_deref(), Some("https://stats.example"));
        assert!(s.trust_geo_headers);
        assert_eq!(s.setup_token.as_deref(), Some("s3cret"));
    }

    #[test]
    fn a_bad_value_keeps_its_default_and_says_why() {
        let (s, problems) = read(&[
            ("VIGIA_SITE_EVENTS_PER_MINUTE", "-5"),
            ("VIGIA_MAX_BUFFERED_EVENTS", "lots"),
            ("VIGIA_EMAIL_PROVIDER", "smtp"),
            ("VIGIA_ALERT_RULES", "{not json"),
            ("VIGIA_TRUST_GEO_HEADERS", "yes"),
            ("VIGIA_TEST_SEAL_PAUSE", "midway"),
        ]);
        assert_eq!(s.site_events_per_minute, 60_000);
        assert_eq!(s.max_buffered_events, 100_000);
        assert!(s.email_provider.is_err());
        assert!(!s.trust_geo_headers);
        assert_eq!(s.test_seal_pause, None);
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(problems[0].contains("VIGIA_SITE_EVENTS_PER_MINUTE"));
    }

    #[test]
    fn the_seal_pause_names_a_step() {
        let (s, problems) = read(&[("VIGIA_TEST_SEAL_PAUSE", "copied")]);
        assert_eq!(
            s.test_seal_pause,
            Some(crate::store::seal::SealStep::Copied)
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn every_listed_setting_is_read_and_nothing_else() {
        let asked = RefCell::new(BTreeSet::new());
        Settings::read(|name| {
            asked.borrow_mut().insert(name.to_string());
            None
        });
        let listed: BTreeSet<String> = SETTINGS.iter().map(|s| s.name.to_string()).collect();
        assert_eq!(asked.into_inner(), listed);
    }

    fn repo_file(path: &str) -> String {
        std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// wrangler.toml lists every variable under `[vars]` and names every secret in a comment
    /// (`# secret: NAME`), and nothing else.
    #[test]
    fn wrangler_toml_lists_the_same_settings() {
        let toml = repo_file("wrangler.toml");
        let mut vars = BTreeSet::new();
        let mut secrets = BTreeSet::new();
        let mut in_vars = false;
        for line in toml.lines().map(str::trim) {
            if line.starts_with('[') {
                in_vars = line == "[vars]";
            } else if let Some(name) = line.strip_prefix("# secret: ") {
                secrets.insert(name.split_whitespace().next().unwrap_or("").to_string());
            } else if in_vars && !line.starts_with('#') {
                if let Some((name, _)) = line.split_once('=') {
                    vars.insert(name.trim().to_string());
                }
            }
        }
        let want = |source| {
            SETTINGS
                .iter()
                .filter(|s| s.source == source)
                .map(|s| s.name.to_string())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(vars, want(Source::Var), "[vars] in wrangler.toml");
        assert_eq!(
            secrets,
            want(Source::Secret),
            "`# secret:` lines in wrangler.toml"
        );
    }

    /// The configuration table in docs/operations.md has one row per setting, secrets marked.
    #[test]
    fn the_configuration_page_documents_the_same_settings() {
        let doc = repo_file("docs/operations.md");
        let mut rows = BTreeSet::new();
        for line in doc.lines() {
            let Some(rest) = line.strip_prefix("| `VIGIA_") else {
                continue;
            };
            let name = format!("VIGIA_{}", rest.split('`').next().unwrap_or(""));
            let is_secret = line.split('|').nth(2).is_some_and(|c| c.contains("secret"));
            rows.insert((name, is_secret));
        }
        // Settings of ./vigia run itself (not the Worker's) are documented in the same table.
        for local in [
            "VIGIA_PORT",
            "VIGIA_ADMIN_EMAIL",
            "VIGIA_ADMIN_PASSWORD",
            "VIGIA_STATE",
        ] {
            rows.retain(|(n, _)| n != local);
        }
        let want: BTreeSet<(String, bool)> = SETTINGS
            .iter()
            .map(|s| (s.name.to_string(), s.source == Source::Secret))
            .collect();
        assert_eq!(rows, want);
    }
}
