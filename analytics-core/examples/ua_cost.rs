//! Cost of the user-agent parser, natively: the first parse in a fresh process (cold), a first
//! pass over a file of user agents (one per line; patterns compile as they are first needed),
//! a second pass (steady state, per user agent), and the heap the parser keeps. The figures in
//! docs/user-agents.md come from here:
//!
//!   cargo run --release -p analytics-core --example ua_cost -- FILE [--eager]
//!
//! `--eager` first compiles every pattern, as a parser that builds its whole regex set up
//! front would. Only `useragent::parse` is used otherwise, so the same file runs against the
//! earlier woothee-based parser for comparison.

use analytics_core::enrich::useragent::parse;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            PEAK.fetch_max(NOW.fetch_add(l.size(), Relaxed) + l.size(), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        NOW.fetch_sub(l.size(), Relaxed);
    }
}

#[global_allocator]
static A: Counting = Counting;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn mib(b: usize) -> String {
    format!("{:.2} MiB", b as f64 / (1 << 20) as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let file = args.get(1).expect("a file of user agents, one per line");
    let text = std::fs::read_to_string(file).expect("read the file");
    let uas: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let base = NOW.load(Relaxed);
    PEAK.store(base, Relaxed);

    if args.iter().any(|a| a == "--eager") {
        let t = Instant::now();
        let n = analytics_core::enrich::useragent::compile_every_pattern();
        println!(
            "eager: {n} patterns compiled in {:.1} ms, heap {}",
            t.elapsed().as_secs_f64() * 1e3,
            mib(NOW.load(Relaxed) - base)
        );
    }

    let t = Instant::now();
    let first = parse(CHROME);
    println!(
        "cold first parse (desktop Chrome): {:.3} ms → {} / {} / {}",
        t.elapsed().as_secs_f64() * 1e3,
        first.browser,
        first.os,
        first.device
    );
    let t = Instant::now();
    for ua in &uas {
        std::hint::black_box(parse(ua));
    }
    let pass1 = t.elapsed();
    let kept = NOW.load(Relaxed) - base;
    let t = Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        for ua in &uas {
            std::hint::black_box(parse(ua));
        }
    }
    let steady = t.elapsed();
    println!(
        "first pass over {} user agents: {:.1} ms ({:.1} µs each); heap kept {}, peak {}",
        uas.len(),
        pass1.as_secs_f64() * 1e3,
        pass1.as_secs_f64() * 1e6 / uas.len() as f64,
        mib(kept),
        mib(PEAK.load(Relaxed) - base)
    );
    println!(
        "steady state: {:.2} µs per user agent",
        steady.as_secs_f64() * 1e6 / (uas.len() * rounds) as f64
    );
}
