//! Build-time data: each area compiles its vendored data set (analytics-core/data/) into
//! sorted Rust tables under OUT_DIR, so nothing is parsed when the Worker starts.
//! One line per area keeps merges trivial.

#[path = "build/referrers.rs"]
mod build_referrers;

fn main() {
    build_referrers::run();
}
