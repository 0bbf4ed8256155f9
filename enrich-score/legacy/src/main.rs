//! `enrich-predict-legacy`: the protocol of `enrich-score/src/main.rs`, answered by the
//! enrichment as it was at the commit before the enrichment change (its API is frozen here).
//! scripts/bench-accuracy.mjs builds it inside an export of that commit, beside a copy of this
//! checkout's enrich-score/ (for the shared protocol).

mod bots;
#[path = "../../src/protocol.rs"]
mod protocol;
mod referrers;
mod useragents;

pub use protocol::field;

fn main() {
    protocol::serve(protocol::Predictors {
        ua: useragents::predict,
        bot: bots::predict,
        referrer: referrers::predict,
    });
}
