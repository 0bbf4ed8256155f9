//! The hourly job's monthly usage reports (docs/app-reports.md): for every app whose month is
//! due (`ReportKind::Monthly.due` in the app's time zone), one mail to each confirmed user about
//! their own installs' use in the month before. A send is claimed in `report_sends` (kind
//! `usage`, `user_id` the app user) before it is made, so a cron that fires twice sends once;
//! a user without a record in the month gets no mail (and no claim: records uploaded late, by an
//! agent that was offline, still make the report within the send window).

use analytics_core::report::usage::{unsubscribe_link, UsageQuery, UsageReport};
use analytics_core::report::{ReportKind, Schedule};
use analytics_core::stats::period::{time_zone, Period};
use analytics_core::store::app_stats::{self as sql, AppSite, AppUser};
use analytics_core::store::reports::{Send, SendKind};
use analytics_core::util::email::{unsubscribe_headers, EmailMessage, Provider};
use worker::{D1Database, Env};

use crate::db::{self, d1};
use crate::http::{now_ms, public_base};
use crate::mail;
use crate::routes::app_stats::usage_figures;

struct Run<'a> {
    env: &'a Env,
    db: D1Database,
    provider: Provider,
    /// Signs the unsubscribe links (the member reports' lasting key).
    key: Vec<u8>,
    base: String,
    from: String,
    now: i64,
}

/// Every app's usage reports due now, once per confirmed user.
pub async fn send_due(env: &Env, now: i64) -> worker::Result<()> {
    let provider = match mail::provider(env) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(()),
        Err(e) => {
            worker::console_error!("usage reports not sent: {e}");
            return Ok(());
        }
    };
    let db = d1(env)?;
    let apps: Vec<AppSite> = db::all(&db, &sql::app_sites()).await?;
    let due: Vec<(AppSite, Period)> = apps
        .into_iter()
        .filter_map(|app| {
            let tz = time_zone(&app.timezone).ok()?;
            let period = ReportKind::Monthly.due(now, &tz)?;
            Some((app, period))
        })
        .collect();
    if due.is_empty() {
        return Ok(());
    }
    let run = Run {
        env,
        db,
        provider,
        key: crate::keys::lasting_key(env, crate::keys::LastingKey::ReportLinks).await?,
        base: public_base(env, None),
        from: mail::sender(env),
        now,
    };
    for (app, period) in due {
        // One app's failure (a D1 error) does not stop the others' reports.
        if let Err(e) = send_app(&run, &app, period).await {
            worker::console_error!("usage reports of {} failed: {e}", app.id);
        }
    }
    Ok(())
}

async fn send_app(run: &Run<'_>, app: &AppSite, period: Period) -> worker::Result<()> {
    let users: Vec<AppUser> = db::all(&run.db, &sql::usage_recipients(app.site_key)).await?;
    let previous = ReportKind::Monthly.previous(&period);
    let period_from = period.from.to_string();
    for user in users {
        let q = UsageQuery::new(app.site_key, user.id, &period, &previous);
        let (now, before) = match usage_figures(&run.db, &q).await {
            Ok(f) => f,
            Err(_) => {
                worker::console_error!("usage report of user {} could not be gathered", user.id);
                continue;
            }
        };
        if now.records == 0 {
            continue;
        }
        let send = Send {
            site: &app.id,
            user_id: user.id,
            kind: SendKind::Usage,
            period_from: &period_from,
        };
        if !claim(run, &send).await? {
            continue;
        }
        let link = unsubscribe_link(&run.base, &run.key, app.site_key, user.id);
        let report = UsageReport {
            app_name: app.name.clone(),
            period: period.clone(),
            previous: previous.clone(),
            now,
            before,
            unsubscribe_url: link.clone(),
        };
        let message = EmailMessage {
            from: run.from.clone(),
            to: user.email.clone(),
            subject: report.subject(),
            text: report.to_text(),
            html: report.to_html(),
            headers: unsubscribe_headers(&link),
        };
        let outcome = mail::send(run.env, run.provider, &message).await;
        if let Err(e) = &outcome {
            worker::console_error!("usage report to app user {} failed: {e}", user.id);
        }
        let record = send.record(&outcome, run.provider.name(), now_ms());
        db::run(&run.db, &record).await?;
    }
    Ok(())
}

/// Claims the send before it is made (false: sent already, in flight, or out of attempts).
async fn claim(run: &Run<'_>, send: &Send<'_>) -> worker::Result<bool> {
    let claimed = db::prepare(&run.db, &send.claim(run.now))?
        .run()
        .await?
        .meta()?
        .and_then(|m| m.changes)
        .unwrap_or(0);
    Ok(claimed > 0)
}
