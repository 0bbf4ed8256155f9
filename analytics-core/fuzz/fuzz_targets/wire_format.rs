//! Any bytes through the wire-format parser and, when they parse, the whole enrichment
//! pipeline: no panic, and every rejection a 4xx.
#![no_main]

use analytics_core::ingest::pipeline::{enrich_batch, RequestFacts, SiteConfig};
use analytics_core::ingest::wire::parse_batch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_batch(data) {
        Err(e) => assert!((400..500).contains(&e.status), "{e}"),
        Ok(batch) => {
            let site = SiteConfig {
                id: batch.site.clone(),
                hostnames: vec!["127.0.0.1".into(), "example.com".into()],
                query_allow_list: vec!["q".into()],
                hash_routing: data.len() % 2 == 0,
            };
            let facts = RequestFacts { user_agent: "Mozilla/5.0", has_accept_language: true, ..Default::default() };
            if let Err(e) = enrich_batch(&batch, &site, &facts, b"salt", 1_800_000_000_000, "fuzz") {
                assert!((400..500).contains(&e.status), "{e}");
            }
        }
    }
});
