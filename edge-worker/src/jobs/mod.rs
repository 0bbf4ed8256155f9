//! The cron jobs (`[triggers]` in wrangler.toml). Each goes by the trigger's scheduled time,
//! which `wrangler dev --test-scheduled` lets a test set (`/__scheduled?cron=…&time=…`); a job
//! that fails is logged and the next one still runs.

pub mod alerts;
pub mod reports;
pub mod retention;
pub mod usage_reports;

use analytics_core::store::retention as sql;
use worker::{Env, Result};

use crate::db;

/// The daily cron in wrangler.toml; every other trigger is the hourly one.
pub const DAILY_CRON: &str = "45 0 * * *";

/// Daily (00:45 UTC): every salt but today's is deleted once sessions that crossed midnight
/// are over, so a visitor hash can never again be recomputed for past days; past days'
/// fingerprint keys go the same way; then raw events past each site's retention, old rate
/// counts and old failed logins are deleted.
/// Hourly: days ready to leave D1 move into the cold shards (`cold::seal_all`), email reports that fell due (in each site's time zone) and the suspicious-activity
/// rules.
pub async fn run(cron: &str, now: i64, env: &Env) {
    if cron == DAILY_CRON {
        let keep_from = analytics_core::stats::salt_keep_from(now);
        log(rotate_salts(env, &keep_from).await, "salt rotation");
        log(
            crate::keys::delete_old_secrets(env, now).await,
            "fingerprint key rotation",
        );
        log(retention::enforce_retention(env).await, "retention");
        log(prune_rate_counts(env, now).await, "pruning rate counts");
        log(
            alerts::prune_login_failures(env, now).await,
            "pruning failed logins",
        );
        return;
    }
    log(
        crate::cold::seal_all(env, now).await.map(|_| ()),
        "sealing days into cold shards",
    );
    log(reports::send_due(env, now).await, "email reports");
    log(usage_reports::send_due(env, now).await, "app usage reports");
    log(
        alerts::evaluate(env, now).await,
        "suspicious-activity check",
    );
    log(
        alerts::evaluate_instance(env, now).await,
        "instance failed-login check",
    );
}

fn log(outcome: Result<()>, job: &str) {
    if let Err(e) = outcome {
        worker::console_error!("{job} failed: {e}");
    }
}

/// Rate counts only matter to the limits (a minute) and the alert rules (hours).
async fn prune_rate_counts(env: &Env, now: i64) -> Result<()> {
    let cutoff = now - analytics_core::governance::alerts::RATE_COUNTS_KEEP_MS;
    let db = db::d1(env)?;
    for table in sql::RATE_COUNT_TABLES {
        db::run(&db, &sql::prune_rate_counts(table, cutoff)).await?;
    }
    Ok(())
}

async fn rotate_salts(env: &Env, keep_from: &str) -> Result<()> {
    db::run(&db::d1(env)?, &sql::rotate_salts(keep_from)).await
}
