//! The hourly email-report job: every report due now (in each site's time zone), once per
//! recipient. A send is claimed in `report_sends` before it is made, so a cron that fires twice
//! sends once; a failed send is retried by later runs up to `MAX_SEND_ATTEMPTS`.

use analytics_core::report::render::{subject, to_html, to_text};
use analytics_core::report::{ReportKind, Schedule, REPORT_KINDS};
use analytics_core::stats::period::{time_zone, Period};
use analytics_core::store::reports::{self as sql, Recipient, Send};
use analytics_core::util::email::{unsubscribe_headers, unsubscribe_link, EmailMessage, Provider};
use worker::{D1Database, Env};

use crate::db::{self, d1, site_summaries, SiteSummary};
use crate::http::{now_ms, public_base};
use crate::mail;
use crate::routes::reports::gather;

/// What every send of one run shares.
struct Run<'a> {
    env: &'a Env,
    db: D1Database,
    provider: Provider,
    /// Signs the unsubscribe links.
    key: Vec<u8>,
    base: String,
    from: String,
    now: i64,
}

/// The hourly job: every report due now, once per recipient.
pub async fn send_due(env: &Env, now: i64) -> worker::Result<()> {
    let provider = match mail::provider(env) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(()),
        Err(e) => {
            worker::console_error!("reports not sent: {e}");
            return Ok(());
        }
    };
    let run = Run {
        env,
        db: d1(env)?,
        provider,
        key: crate::keys::lasting_key(env, crate::keys::LastingKey::ReportLinks).await?,
        base: public_base(env, None),
        from: mail::sender(env),
        now,
    };
    for site in site_summaries(&run.db, None).await? {
        // An app's users get their own usage report (jobs::usage_reports); the visitor report
        // means nothing for an app.
        if site.kind == api_types::apps::SiteKind::App {
            continue;
        }
        let Ok(tz) = time_zone(&site.timezone) else {
            continue;
        };
        for kind in REPORT_KINDS {
            if let Some(period) = kind.due(now, &tz) {
                send_report(&run, &site, kind, period).await?;
            }
        }
    }
    Ok(())
}

/// One site's report of one kind for `period`, to each recipient who has not had it.
async fn send_report(
    run: &Run<'_>,
    site: &SiteSummary,
    kind: ReportKind,
    period: Period,
) -> worker::Result<()> {
    let recipients: Vec<Recipient> = db::all(&run.db, &sql::recipients(&site.id, kind)).await?;
    if recipients.is_empty() {
        return Ok(());
    }
    let Ok(mut report) = gather(run.env, &run.base, site, kind, period).await else {
        worker::console_error!("report for {} could not be gathered", site.id);
        return Ok(());
    };
    let period_from = report.period.from.to_string();
    for r in recipients {
        let send = Send {
            site: &site.id,
            user_id: r.user_id,
            kind: kind.into(),
            period_from: &period_from,
        };
        if !claim(run, &send).await? {
            continue;
        }
        let link = unsubscribe_link(&run.base, &run.key, &site.id, r.user_id, kind.as_str());
        report.unsubscribe_url = Some(link.clone());
        let message = EmailMessage {
            from: run.from.clone(),
            to: r.email.clone(),
            subject: subject(&report),
            text: to_text(&report),
            html: to_html(&report),
            headers: unsubscribe_headers(&link),
        };
        let outcome = mail::send(run.env, run.provider, &message).await;
        record(run, &send, outcome).await?;
    }
    Ok(())
}

/// Claims the send before it is made (false: sent already, in flight, or out of attempts), so
/// a cron that fires twice sends once.
async fn claim(run: &Run<'_>, send: &Send<'_>) -> worker::Result<bool> {
    let claimed = db::prepare(&run.db, &send.claim(run.now))?
        .run()
        .await?
        .meta()?
        .and_then(|m| m.changes)
        .unwrap_or(0);
    Ok(claimed > 0)
}

/// Records how the send went (a failure is retried by a later run).
async fn record(
    run: &Run<'_>,
    send: &Send<'_>,
    outcome: Result<String, String>,
) -> worker::Result<()> {
    if let Err(e) = &outcome {
        worker::console_error!("report to user {} failed: {e}", send.user_id);
    }
    let record = send.record(&outcome, run.provider.name(), now_ms());
    db::run(&run.db, &record).await
}
