//! Build-time data: each area compiles its vendored data set (analytics-core/data/) into
//! static Rust tables under OUT_DIR, so nothing is parsed when the Worker starts.
//! One line per area keeps merges trivial.

#[path = "build/bots.rs"]
mod bots;
#[path = "build/referrers.rs"]
mod build_referrers;
#[path = "build/useragents.rs"]
mod useragents;

fn main() {
    let out_dir = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    bots::generate(&out_dir);
    build_referrers::run();
    useragents::generate();
}
