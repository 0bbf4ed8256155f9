//! Build steps that turn vendored data (analytics-core/data/) into static tables. One line per
//! area; each step lives in build/<area>.rs.

#[path = "build/useragents.rs"]
mod useragents;

fn main() {
    useragents::generate();
}
