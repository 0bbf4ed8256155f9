//! The suspicious-activity checks and the report bookkeeping SQL, run in real SQLite (D1's
//! engine) over the real migrations: each rule fires at its threshold and not below it, and a
//! report claimed once cannot be claimed again.

#[path = "support/sqlite.rs"]
#[allow(dead_code)]
mod sqlite;

use analytics_core::governance::alerts::{
    CheckRow, Rules, Threshold, CLAIM_UNMAILED_SQL, UPSERT_SQL,
};
use analytics_core::report::{CLAIM_SQL, RECIPIENTS_SQL, RECORD_SEND_SQL};
use analytics_core::stats::HOUR_MS;
use rusqlite::{params, params_from_iter, Connection};
use sqlite::{apply_migrations, to_sql};

const NOW: i64 = 1_795_435_200_000; // 2026-11-23 12:00 UTC, a window edge for every rule
const MIN: i64 = 60_000;

fn db() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    apply_migrations(&db);
    db
}

/// One activity record: (type, user id, address fingerprint, outcome) and a status code.
fn activity(db: &Connection, id: &str, ts: i64, what: (&str, &str, &str, &str), status: i64) {
    let (kind, user, ip, outcome) = what;
    db.execute(
        "INSERT INTO activity (id, site_id, ts, day, type, user_id, ip_hash, outcome, status_code) \
         VALUES (?1, 's', ?2, '2026-11-23', ?3, ?4, ?5, ?6, ?7)",
        params![id, ts, kind, user, ip, outcome, status],
    )
    .unwrap();
}

/// What each counting rule finds, as (rule, subject, count).
fn fired(db: &Connection, rules: &Rules) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for check in rules.checks("s", NOW) {
        let mut stmt = db.prepare(&check.sql).unwrap();
        let rows: Vec<CheckRow> = stmt
            .query_map(params_from_iter(check.binds.iter().map(to_sql)), |r| {
                Ok(CheckRow {
                    subject: r.get("subject")?,
                    window_start: r.get("window_start")?,
                    count: r.get("count")?,
                    total: r.get("total")?,
                    first_ts: r.get("first_ts")?,
                    last_ts: r.get("last_ts")?,
                })
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for row in rows {
            assert_eq!(row.window_start % check.window_ms, 0, "{}", check.rule);
            out.push((check.rule.to_string(), row.subject, row.count));
        }
    }
    out.sort();
    out
}

fn strict() -> Rules {
    Rules {
        failed_logins_per_ip: Threshold {
            count: 3,
            minutes: 15,
        },
        failed_logins_per_user: Threshold {
            count: 3,
            minutes: 15,
        },
        bot_burst: Threshold {
            count: 3,
            minutes: 10,
        },
        rate_limited: Threshold {
            count: 100,
            minutes: 10,
        },
        bulk_downloads: Threshold {
            count: 3,
            minutes: 60,
        },
        ..Rules::default()
    }
}

#[test]
fn failed_logins_fire_per_address_and_per_user_at_the_threshold() {
    let db = db();
    // Three failures from one address for three users (per address: fires; per user: no),
    // two failures for "bob" from two addresses, then a third one in another window.
    activity(
        &db,
        "a1",
        NOW + MIN,
        ("login_failed", "ann", "ip1", "failure"),
        401,
    );
    activity(
        &db,
        "a2",
        NOW + 2 * MIN,
        ("login", "cid", "ip1", "failure"),
        401,
    );
    activity(
        &db,
        "a3",
        NOW + 3 * MIN,
        ("login_failed", "dan", "ip1", "failure"),
        401,
    );
    activity(
        &db,
        "b1",
        NOW + 4 * MIN,
        ("login_failed", "bob", "ip2", "failure"),
        401,
    );
    activity(
        &db,
        "b2",
        NOW + 5 * MIN,
        ("login_failed", "bob", "ip3", "failure"),
        401,
    );
    activity(
        &db,
        "b3",
        NOW - MIN,
        ("login_failed", "bob", "ip3", "failure"),
        401,
    );
    activity(
        &db,
        "ok",
        NOW + 6 * MIN,
        ("login", "bob", "ip3", "success"),
        200,
    );
    assert_eq!(
        fired(&db, &strict()),
        vec![("failed_logins_per_ip".into(), "ip1".into(), 3)]
    );
    activity(
        &db,
        "b4",
        NOW + 7 * MIN,
        ("login_failed", "bob", "ip3", "failure"),
        401,
    );
    assert!(fired(&db, &strict()).contains(&("failed_logins_per_user".into(), "bob".into(), 3)));
}

#[test]
fn error_rate_fires_above_the_share_with_enough_records() {
    let db = db();
    for i in 0..19 {
        activity(
            &db,
            &format!("ok{i}"),
            NOW + i * MIN,
            ("data_view", "u", "", "success"),
            200,
        );
    }
    activity(&db, "e1", NOW + 30 * MIN, ("error", "u", "", "error"), 500);
    // 1 error in 20 records is exactly 5%: not above it.
    assert!(fired(&db, &Rules::default()).is_empty());
    activity(
        &db,
        "e2",
        NOW + 31 * MIN,
        ("data_view", "u", "", "failure"),
        503,
    );
    assert_eq!(
        fired(&db, &Rules::default()),
        vec![("error_rate".into(), "".into(), 2)]
    );
}

#[test]
fn bots_rate_limits_and_bulk_downloads_fire() {
    let db = db();
    for i in 0..3 {
        db.execute(
            "INSERT INTO events (id, site_id, ts, day, visitor, session, kind, path, bot) \
             VALUES (?1, 's', ?2, '2026-11-23', 'v', 'x', 'pageview', '/', ?3)",
            params![format!("e{i}"), NOW + i * MIN, 1],
        )
        .unwrap();
    }
    db.execute(
        "INSERT INTO rate_limited (site_id, win, refused) VALUES ('s', ?1, 99)",
        [NOW],
    )
    .unwrap();
    for i in 0..2 {
        activity(
            &db,
            &format!("d{i}"),
            NOW + i * MIN,
            ("file_download", "eve", "", "success"),
            200,
        );
    }
    db.execute(
        "INSERT INTO audit_log (at, site_id, actor_email, action, outcome) VALUES (?1, 's', 'x@y.z', 'export_events', 200)",
        [NOW],
    )
    .unwrap();
    activity(
        &db,
        "d9",
        NOW + 2 * MIN,
        ("export", "eve", "", "success"),
        200,
    );
    activity(
        &db,
        "r1",
        NOW + 3 * MIN,
        ("data_view", "eve", "", "failure"),
        429,
    );
    assert_eq!(
        fired(&db, &strict()),
        vec![
            ("bot_burst".into(), "".into(), 3),
            ("bulk_downloads".into(), "user eve".into(), 3),
            ("rate_limited".into(), "".into(), 100),
        ]
    );
}

#[test]
fn alerts_are_kept_once_and_mailed_once() {
    let db = db();
    let rules = strict();
    let check = rules.checks("s", NOW).into_iter().next().unwrap();
    let row = |count| CheckRow {
        subject: "ip1".into(),
        window_start: NOW,
        count,
        total: 0,
        first_ts: NOW,
        last_ts: NOW + count * MIN,
    };
    let upsert = |a: &analytics_core::governance::alerts::Alert| {
        db.execute(
            UPSERT_SQL,
            params_from_iter(
                analytics_core::governance::alerts::upsert_values("s", a, NOW)
                    .iter()
                    .map(to_sql),
            ),
        )
        .unwrap();
    };
    upsert(&check.alert(row(3)));
    upsert(&check.alert(row(5)));
    upsert(&check.alert(row(4)));
    let (n, count): (i64, i64) = db
        .query_row("SELECT COUNT(*), MAX(count) FROM alerts", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (n, count),
        (1, 5),
        "one alert per window, with its highest count"
    );
    let claimed = |db: &Connection| {
        let mut stmt = db.prepare(CLAIM_UNMAILED_SQL).unwrap();
        stmt.query_map(params!["s", NOW + HOUR_MS], |r| r.get::<_, String>("rule"))
            .unwrap()
            .count()
    };
    assert_eq!(claimed(&db), 1);
    assert_eq!(claimed(&db), 0, "a second run mails nothing");
}

#[test]
fn a_report_is_claimed_once_and_a_failed_one_retried_a_bounded_number_of_times() {
    let db = db();
    let claim = |db: &Connection| {
        db.execute(CLAIM_SQL, params!["s", 1, "monthly", "2026-11-01", NOW, 3])
            .unwrap()
    };
    let record = |db: &Connection, status: &str| {
        let error = if status == "failed" {
            "502 from the provider"
        } else {
            ""
        };
        db.execute(
            RECORD_SEND_SQL,
            params![
                "s",
                1,
                "monthly",
                "2026-11-01",
                status,
                "http",
                "m1",
                error,
                NOW + 1
            ],
        )
        .unwrap()
    };
    assert_eq!(claim(&db), 1);
    assert_eq!(claim(&db), 0, "claimed (sending) already");
    assert_eq!(record(&db, "sent"), 1);
    assert_eq!(claim(&db), 0, "sent already");
    db.execute("UPDATE report_sends SET status = 'failed'", [])
        .unwrap();
    assert_eq!(claim(&db), 1, "second attempt");
    assert_eq!(record(&db, "failed"), 1);
    let (status, error): (String, String) = db
        .query_row("SELECT status, error FROM report_sends", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (status.as_str(), error.as_str()),
        ("failed", "502 from the provider")
    );
    assert_eq!(claim(&db), 1, "third attempt");
    assert_eq!(record(&db, "failed"), 1);
    assert_eq!(claim(&db), 0, "attempts exhausted");
}

#[test]
fn owners_get_the_monthly_report_unless_they_opt_out_and_others_opt_in() {
    let db = db();
    db.execute_batch(
        "INSERT INTO sites (id, name, created_at) VALUES ('s', 'S', 0);
         INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'owner@x.io', '', 0), (2, 'viewer@x.io', '', 0), (3, 'out@x.io', '', 0);
         INSERT INTO memberships (user_id, site_id, role) VALUES (1, 's', 'owner'), (2, 's', 'viewer'), (3, 's', 'owner');
         INSERT INTO report_subscriptions (site_id, user_id, monthly, weekly) VALUES ('s', 2, 1, 1), ('s', 3, 0, 0);",
    )
    .unwrap();
    let recipients = |kind: &str| {
        let mut stmt = db.prepare(RECIPIENTS_SQL).unwrap();
        stmt.query_map(params!["s", kind], |r| r.get::<_, String>("email"))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    assert_eq!(recipients("monthly"), vec!["owner@x.io", "viewer@x.io"]);
    assert_eq!(recipients("weekly"), vec!["viewer@x.io"]);
}
