//! Compiles Snowplow's referers.yml and Matomo's referrer-spam list into sorted tables
//! (`$OUT_DIR/referrers.rs`, `$OUT_DIR/spammers.rs`) that `enrich::referrer` binary-searches.
//! No YAML crate: referers.yml is a fixed, three-level layout (section → source → `domains:`
//! list), read line by line; the build fails if the layout changes so an update cannot
//! silently empty the tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Sections of referers.yml in the order they are preferred when a source *name* appears in
/// several (for `utm_source` look-ups): a search engine named "Google" beats the
/// medium-unknown "Google" pages. The index is the medium code the tables store.
const SECTIONS: [&str; 6] = ["unknown", "email", "social", "search", "paid", "chatbot"];
const NAME_PREFERENCE: [&str; 6] = ["search", "social", "email", "chatbot", "paid", "unknown"];

/// Hosts the data set does not list (yet) that the hand list before it had, or that moved:
/// (host, source name, section). Used only where referers.yml has no entry for the host, so an
/// updated data set takes over; keep this tiny and say why for each (docs/channels.md).
const SUPPLEMENT: [(&str, &str, &str); 8] = [
    // Twitter's main host since 2023; referers.yml knows twitter.com and t.co only.
    ("x.com", "Twitter", "social"),
    ("bsky.app", "Bluesky", "social"),
    ("mastodon.social", "Mastodon", "social"),
    // Webmail hosts the data's email section lacks (it has their deref/redirect hosts): the
    // mail apps of GMX and web.de, and Outlook on the web for work and school accounts.
    ("navigator.gmx.net", "GMX", "email"),
    ("navigator.web.de", "Web.de", "email"),
    ("outlook.office.com", "Outlook.com", "email"),
    ("outlook.office365.com", "Outlook.com", "email"),
    ("gmail.com", "Gmail", "email"),
];

/// Below these counts the file's layout has changed under the parser.
const MIN_HOSTS: usize = 1_500;
const MIN_SPAMMERS: usize = 1_000;

pub fn run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let referers = dir.join("snowplow-referer-parser/referers.yml");
    let referers_version = dir.join("snowplow-referer-parser/VERSION");
    let spammers = dir.join("matomo-referrer-spam-list/spammers.txt");
    let spammers_version = dir.join("matomo-referrer-spam-list/VERSION");
    println!("cargo:rerun-if-changed=build/referrers.rs");
    for p in [&referers, &referers_version, &spammers, &spammers_version] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    std::fs::write(
        out.join("referrers.rs"),
        referrers_table(&read(&referers), read(&referers_version).trim()),
    )
    .expect("write referrers.rs");
    std::fs::write(
        out.join("spammers.rs"),
        spammers_table(&read(&spammers), read(&spammers_version).trim()),
    )
    .expect("write spammers.rs");
}

fn referrers_table(yaml: &str, version: &str) -> String {
    let mut section: Option<u8> = None;
    let mut source: Option<u16> = None;
    let mut in_domains = false;
    let mut sources: Vec<String> = Vec::new();
    // key → (source, medium); the first occurrence of a key wins.
    let mut hosts: BTreeMap<String, (u16, u8)> = BTreeMap::new();
    let mut paths: BTreeMap<(String, String), (u16, u8)> = BTreeMap::new();
    let mut names: BTreeMap<String, (usize, u8)> = BTreeMap::new();
    for raw in yaml.lines() {
        let line = match raw.find(" #") {
            Some(i) => &raw[..i],
            None => raw,
        }
        .trim_end();
        let text = line.trim_start();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let indent = line.len() - text.len();
        match indent {
            0 => {
                let name = text.trim_end_matches(':');
                let index = SECTIONS
                    .iter()
                    .position(|s| *s == name)
                    .unwrap_or_else(|| panic!("referers.yml: unknown section {name:?}"));
                section = Some(index as u8);
                source = None;
            }
            2 => {
                let name = text
                    .trim_end_matches(':')
                    .trim_matches(['"', '\''])
                    .to_string();
                let medium = section.expect("referers.yml: source outside a section");
                let id = sources.iter().position(|s| *s == name).unwrap_or_else(|| {
                    sources.push(name.clone());
                    sources.len() - 1
                }) as u16;
                source = Some(id);
                let rank = NAME_PREFERENCE
                    .iter()
                    .position(|s| *s == SECTIONS[medium as usize])
                    .unwrap_or(usize::MAX);
                let key = name.to_ascii_lowercase();
                let better = names.get(&key).is_none_or(|(r, _)| rank < *r);
                if better {
                    names.insert(key, (rank, medium));
                }
                in_domains = false;
            }
            4 => in_domains = text == "domains:",
            _ if in_domains => {
                let value = text
                    .strip_prefix('-')
                    .unwrap_or_else(|| panic!("referers.yml: not a list item: {raw:?}"))
                    .trim()
                    .trim_matches(['"', '\''])
                    .to_ascii_lowercase();
                if value.is_empty() {
                    continue;
                }
                let entry = (
                    source.expect("referers.yml: domain outside a source"),
                    section.expect("referers.yml: domain outside a section"),
                );
                match value.split_once('/') {
                    Some((host, path)) => {
                        let path = format!("/{}", path.trim_end_matches('/'));
                        paths.entry((host.to_string(), path)).or_insert(entry);
                    }
                    None => {
                        hosts.entry(value).or_insert(entry);
                    }
                }
            }
            _ => {}
        }
    }
    // `www.` names the same site: a host listed only with it is also found without it.
    let www: Vec<(String, (u16, u8))> = hosts
        .iter()
        .filter_map(|(h, e)| h.strip_prefix("www.").map(|bare| (bare.to_string(), *e)))
        .collect();
    for (bare, entry) in www {
        hosts.entry(bare).or_insert(entry);
    }
    for (host, name, section) in SUPPLEMENT {
        let medium = SECTIONS
            .iter()
            .position(|s| *s == section)
            .expect("supplement section") as u8;
        let id = sources.iter().position(|s| s == name).unwrap_or_else(|| {
            sources.push(name.to_string());
            sources.len() - 1
        }) as u16;
        hosts.entry(host.to_string()).or_insert((id, medium));
        names
            .entry(name.to_ascii_lowercase())
            .or_insert((0, medium));
    }
    assert!(
        hosts.len() >= MIN_HOSTS,
        "referers.yml: only {} hosts read; has the layout changed?",
        hosts.len()
    );
    let mut code = String::new();
    writeln!(
        code,
        "/// Snowplow referer-parser `resources/referers.yml`, commit and date."
    )
    .unwrap();
    writeln!(code, "pub const REFERERS_VERSION: &str = {version:?};").unwrap();
    writeln!(code, "/// Source names; the other tables index into this.").unwrap();
    writeln!(code, "pub static SOURCES: [&str; {}] = [", sources.len()).unwrap();
    for s in &sources {
        writeln!(code, "    {s:?},").unwrap();
    }
    writeln!(code, "];").unwrap();
    writeln!(code, "/// (host, source, medium code), sorted by host.").unwrap();
    writeln!(
        code,
        "pub static HOSTS: [(&str, u16, u8); {}] = [",
        hosts.len()
    )
    .unwrap();
    for (host, (s, m)) in &hosts {
        writeln!(code, "    ({host:?}, {s}, {m}),").unwrap();
    }
    writeln!(code, "];").unwrap();
    writeln!(
        code,
        "/// (host, path prefix, source, medium code), sorted by host then path."
    )
    .unwrap();
    writeln!(
        code,
        "pub static PATHS: [(&str, &str, u16, u8); {}] = [",
        paths.len()
    )
    .unwrap();
    for ((host, path), (s, m)) in &paths {
        writeln!(code, "    ({host:?}, {path:?}, {s}, {m}),").unwrap();
    }
    writeln!(code, "];").unwrap();
    writeln!(
        code,
        "/// (lowercase source name, medium code), sorted: `utm_source` look-ups."
    )
    .unwrap();
    writeln!(code, "pub static NAMES: [(&str, u8); {}] = [", names.len()).unwrap();
    for (name, (_, m)) in &names {
        writeln!(code, "    ({name:?}, {m}),").unwrap();
    }
    writeln!(code, "];").unwrap();
    code
}

fn spammers_table(list: &str, version: &str) -> String {
    let mut hosts: Vec<String> = list
        .lines()
        .map(|l| l.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    hosts.sort();
    hosts.dedup();
    assert!(
        hosts.len() >= MIN_SPAMMERS,
        "spammers.txt: only {} hosts read",
        hosts.len()
    );
    let mut code = String::new();
    writeln!(
        code,
        "/// Matomo referrer-spam-list `spammers.txt`, commit and date."
    )
    .unwrap();
    writeln!(code, "pub const SPAMMERS_VERSION: &str = {version:?};").unwrap();
    writeln!(code, "/// Spam hosts, lowercase, sorted.").unwrap();
    writeln!(code, "pub static SPAMMERS: [&str; {}] = [", hosts.len()).unwrap();
    for h in &hosts {
        writeln!(code, "    {h:?},").unwrap();
    }
    writeln!(code, "];").unwrap();
    code
}
