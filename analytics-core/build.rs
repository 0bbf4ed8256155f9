//! Build steps: data files under `data/` compiled into static tables, one module per area.

#[path = "build/bots.rs"]
mod bots;

fn main() {
    let out_dir = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    bots::generate(&out_dir);
}
