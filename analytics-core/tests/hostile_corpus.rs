//! Every payload of the hostile corpus (tests/corpus/ingest, written by generate.mjs) through
//! parsing, validation and enrichment: no panic, and the outcome the manifest expects. The
//! end-to-end suite sends the same files to the real Worker.

use analytics_core::enrich::ip::IpHeaders;
use analytics_core::ingest::pipeline::{enrich_batch, RequestFacts, SiteConfig};
use analytics_core::ingest::wire::parse_batch;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Case {
    file: String,
    status: u16,
    error: Option<String>,
    /// For a 202: events stored and dropped, the problems listed, and those past the list.
    #[serde(default)]
    accepted: usize,
    #[serde(default)]
    dropped: usize,
    #[serde(default)]
    problems: Vec<(usize, String, String)>,
    #[serde(default)]
    problems_omitted: usize,
}

/// What a 202 says: accepted, dropped, the problems listed and those omitted.
#[derive(Debug, PartialEq)]
struct Taken {
    accepted: usize,
    dropped: usize,
    problems: Vec<(usize, String, String)>,
    problems_omitted: usize,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/ingest")
}

/// What the Worker's ingest route does, minus HTTP and storage: the same core calls, with the
/// site lookup answered by a fixed "demo" site.
fn ingest(body: &[u8]) -> Result<Taken, (u16, &'static str)> {
    let batch = parse_batch(body).map_err(|e| (e.status, e.error))?;
    if batch.site != "demo" {
        return Err((404, "not_found"));
    }
    let site = SiteConfig {
        id: "demo".into(),
        hostnames: vec!["127.0.0.1".into(), "localhost".into()],
        ..Default::default()
    };
    let facts = RequestFacts {
        ip_headers: IpHeaders { cf_connecting_ip: Some("203.0.113.7"), ..Default::default() },
        user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        has_accept_language: true,
        ..Default::default()
    };
    let events = enrich_batch(&batch, &site, &facts, b"salt", 1_800_000_000_000, "req")
        .map_err(|e| (e.status, e.error))?;
    Ok(Taken {
        accepted: events.len(),
        dropped: batch.dropped(),
        problems: batch
            .problems
            .iter()
            .map(|p| (p.event, p.field.clone(), p.error.to_string()))
            .collect(),
        problems_omitted: batch.problems_omitted,
    })
}

#[test]
fn the_corpus_has_at_least_a_hundred_payloads_and_each_gets_its_expected_answer() {
    let manifest: Vec<Case> =
        serde_json::from_slice(&std::fs::read(corpus_dir().join("manifest.json")).unwrap())
            .unwrap();
    assert!(manifest.len() >= 100, "only {} payloads", manifest.len());
    let mut failures = Vec::new();
    for case in &manifest {
        let body = std::fs::read(corpus_dir().join(&case.file)).unwrap();
        let outcome = std::panic::catch_unwind(|| ingest(&body));
        let ok = match (&outcome, case.status) {
            (Ok(Ok(taken)), 202) => {
                *taken
                    == Taken {
                        accepted: case.accepted,
                        dropped: case.dropped,
                        problems: case.problems.clone(),
                        problems_omitted: case.problems_omitted,
                    }
            }
            (Ok(Err((status, error))), expected) => {
                *status == expected && case.error.as_deref() == Some(*error)
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: expected {} {:?} {}/{} {:?}, got {:?}",
                case.file,
                case.status,
                case.error,
                case.accepted,
                case.dropped,
                case.problems,
                outcome.map_err(|_| "panic")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        manifest.len(),
        failures.join("\n")
    );
}
