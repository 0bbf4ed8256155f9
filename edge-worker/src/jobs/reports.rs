//! The hourly email-report job: every report due now (in each site's time zone), once per
//! recipient. A send is claimed in `report_sends` before it is made, so a cron that fires twice
//! sends once; a failed send is retried by later runs up to `MAX_SEND_ATTEMPTS`.

use analytics_core::report::render::{subject, to_html, to_text};
use analytics_core::report::schedule::MAX_SEND_ATTEMPTS;
use analytics_core::report::{
    ReportKind, CLAIM_SQL, RECIPIENTS_SQL, RECORD_SEND_SQL, REPORT_KINDS,
};
use analytics_core::stats::period::{time_zone, Period};
use analytics_core::util::email::{unsubscribe_headers, unsubscribe_link, EmailMessage, Provider};
use serde::Deserialize;
use worker::{D1Database, Env};

use crate::db::{d1, site_summaries, SiteSummary};
use crate::http::{now_ms, public_base};
use crate::mail;
use crate::routes::reports::gather;

#[derive(Deserialize)]
struct Recipient {
    user_id: f64,
    email: String,
}

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
    let recipients: Vec<Recipient> = run
        .db
        .prepare(RECIPIENTS_SQL)
        .bind(&[site.id.as_str().into(), kind.name().into()])?
        .all()
        .await?
        .results()?;
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
            kind: kind.name(),
            period_from: &period_from,
        };
        if !send.claim(run).await? {
            continue;
        }
        let link = unsubscribe_link(&run.base, &run.key, &site.id, r.user_id as i64, kind.name());
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
        send.record(run, outcome).await?;
    }
    Ok(())
}

/// One report to one recipient: its row in `report_sends`.
struct Send<'a> {
    site: &'a str,
    user_id: f64,
    kind: &'a str,
    period_from: &'a str,
}

impl Send<'_> {
    /// Claims the send before it is made (false: sent already, in flight, or out of attempts),
    /// so a cron that fires twice sends once.
    async fn claim(&self, run: &Run<'_>) -> worker::Result<bool> {
        let claimed = run
            .db
            .prepare(CLAIM_SQL)
            .bind(&[
                self.site.into(),
                self.user_id.into(),
                self.kind.into(),
                self.period_from.into(),
                (run.now as f64).into(),
                (MAX_SEND_ATTEMPTS as f64).into(),
            ])?
            .run()
            .await?
            .meta()?
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(claimed > 0)
    }

    /// Records how the send went (a failure is retried by a later run).
    async fn record(&self, run: &Run<'_>, outcome: Result<String, String>) -> worker::Result<()> {
        let (status, message_id, error) = match outcome {
            Ok(id) => ("sent", id, String::new()),
            Err(e) => {
                worker::console_error!("report to user {} failed: {e}", self.user_id as i64);
                ("failed", String::new(), e)
            }
        };
        run.db
            .prepare(RECORD_SEND_SQL)
            .bind(&[
                self.site.into(),
                self.user_id.into(),
                self.kind.into(),
                self.period_from.into(),
                status.into(),
                run.provider.name().into(),
                message_id.into(),
                error.into(),
                (now_ms() as f64).into(),
            ])?
            .run()
            .await?;
        Ok(())
    }
}
