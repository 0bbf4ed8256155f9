//! Native throughput of ingest's pure work: parsing + validating a 10-event batch, and the full
//! enrichment pipeline over it. Prints figures (criterion); asserts nothing.

use analytics_core::enrich::bot::{bot_reason, BotSignals};
use analytics_core::enrich::ip::IpHeaders;
use analytics_core::ingest::pipeline::{enrich_batch, RequestFacts, SiteConfig};
use analytics_core::ingest::wire::parse_batch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];

fn batch_body() -> Vec<u8> {
    let events: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"kind":"{}","url":"https://shop.example/products/{i}?utm_source=newsletter&utm_campaign=fall&token=secret","referrer":"https://www.google.com/search?q=shoes","screen_width":1280,"name":"signup","props":{{"plan":"pro","seats":{i}}}}}"#,
                if i % 3 == 0 { "custom" } else { "pageview" }
            )
        })
        .collect();
    format!(r#"{{"site":"shop","events":[{}]}}"#, events.join(",")).into_bytes()
}

fn benches(c: &mut Criterion) {
    let body = batch_body();
    let site = SiteConfig {
        id: "shop".into(),
        hostnames: vec!["shop.example".into()],
        query_allow_list: vec!["q".into()],
        hash_routing: false,
    };
    let mut group = c.benchmark_group("ingest-10-event-batch");
    group.throughput(Throughput::Elements(10));
    group.bench_function("parse+validate", |b| {
        b.iter(|| parse_batch(black_box(&body)).unwrap())
    });
    let batch = parse_batch(&body).unwrap();
    for (i, ua) in USER_AGENTS.iter().enumerate() {
        let facts = RequestFacts {
            ip_headers: IpHeaders {
                cf_connecting_ip: Some("203.0.113.9"),
                ..Default::default()
            },
            user_agent: ua,
            has_accept_language: true,
            country: Some("PT"),
            region: Some("Lisbon"),
            city: Some("Lisbon"),
            ..Default::default()
        };
        group.bench_function(format!("enrich (user agent {i})"), |b| {
            b.iter(|| {
                enrich_batch(
                    black_box(&batch),
                    &site,
                    &facts,
                    b"daily-salt",
                    1_800_000_000_000,
                    "req",
                )
                .unwrap()
            })
        });
    }
    group.bench_function("parse+validate+enrich", |b| {
        let facts = RequestFacts {
            user_agent: USER_AGENTS[0],
            has_accept_language: true,
            ..Default::default()
        };
        b.iter(|| {
            let batch = parse_batch(black_box(&body)).unwrap();
            enrich_batch(
                &batch,
                &site,
                &facts,
                b"daily-salt",
                1_800_000_000_000,
                "req",
            )
            .unwrap()
        })
    });
    group.finish();

    // The bot verdict alone, per user agent: a browser (every position of the user agent
    // searched, nothing found: the worst case), a crawler found by the literal table, one found
    // by the crawler-like words, and one of the list's true regexes (compiled on first use).
    let mut bots = c.benchmark_group("bot-verdict");
    for (name, ua) in [
        ("browser (chrome)", USER_AGENTS[0]),
        ("browser (iphone)", USER_AGENTS[1]),
        ("crawler (googlebot)", USER_AGENTS[3]),
        (
            "crawler-like (unknown bot)",
            "Mozilla/5.0 (compatible; AcmeIndexBot/2.1; +https://acme.example/bot)",
        ),
        (
            "crawler regex (adsbot)",
            "AdsBot-Google (+http://www.google.com/adsbot.html)",
        ),
    ] {
        let signals = BotSignals {
            asn: Some(3320),
            ..BotSignals::browser_beacon(ua)
        };
        bots.bench_function(name, |b| b.iter(|| bot_reason(black_box(&signals))));
    }
    bots.finish();
}

criterion_group!(enrichment, benches);
criterion_main!(enrichment);
