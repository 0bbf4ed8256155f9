//! The agent against a scripted local HTTP server (std only): what it sends, and what stays on
//! disk across restarts.

use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

/// Answers each request with the next scripted `(status, extra header lines, body)`; once the
/// script is used up, 200 with an answer naming the batch. Every request's body is kept.
struct Server {
    endpoint: String,
    bodies: mpsc::Receiver<String>,
}

fn server(script: Vec<(u16, &'static str, &'static str)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8(body).unwrap();
            let (status, headers, answer) = match script.next() {
                Some((s, h, a)) => (s, h.to_owned(), a.to_owned()),
                None => {
                    let batch: AppBatch = serde_json::from_str(&body).unwrap();
                    let a = AppBatchAnswer {
                        batch_id: batch.batch_id,
                        duplicate: false,
                        stored: batch.records.len() as u64,
                        refused: 0,
                        problems: vec![],
                    };
                    (200, String::new(), serde_json::to_string(&a).unwrap())
                }
            };
            let _ = tx.send(body);
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{answer}", answer.len());
        }
    });
    Server {
        endpoint,
        bodies: rx,
    }
}

fn config(endpoint: &str, dir: &Path) -> Config {
    let mut c = Config::new(endpoint, "vpk_test", dir);
    c.background_upload = false;
    c.backoff = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    c
}

fn quiet(endpoint: &str, dir: &Path) -> Config {
    Config {
        sessions: false,
        ..config(endpoint, dir)
    }
}

fn batches(s: &Server) -> Vec<AppBatch> {
    s.bodies
        .try_iter()
        .map(|b| serde_json::from_str(&b).unwrap())
        .collect()
}

const NOWHERE: &str = "http://127.0.0.1:9";

#[test]
fn a_restart_keeps_the_install_id_and_seq_goes_on_increasing() {
    let dir = tempfile::tempdir().unwrap();
    let a = Agent::start(quiet(NOWHERE, dir.path())).unwrap();
    let id = a.install_id();
    assert_eq!(id.len(), 32);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
    a.feature("one");
    a.feature("two");
    drop(a);
    let s = server(vec![]);
    let a = Agent::start(quiet(&s.endpoint, dir.path())).unwrap();
    assert_eq!(a.install_id(), id);
    a.feature("three");
    a.upload_now().unwrap();
    let sent = batches(&s);
    assert_eq!(
        sent[0].records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(sent[0].install_id, id);
    // The log is empty after the answer; seq still goes on after another restart.
    drop(a);
    let a = Agent::start(quiet(&s.endpoint, dir.path())).unwrap();
    a.feature("four");
    a.upload_now().unwrap();
    assert_eq!(
        batches(&s)[0]
            .records
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        vec![4]
    );
    // Another folder is another install.
    let other = tempfile::tempdir().unwrap();
    assert_ne!(
        Agent::start(quiet(NOWHERE, other.path()))
            .unwrap()
            .install_id(),
        id
    );
}

#[test]
fn a_batch_without_an_answer_is_sent_again_with_the_same_id_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(vec![(500, "", "{}"), (503, "Retry-After: 0\r\n", "{}")]);
    let a = Agent::start(quiet(&s.endpoint, dir.path())).unwrap();
    a.feature("one");
    a.feature("two");
    let first = a.upload_now().unwrap();
    assert!(
        first.stopped.as_deref().unwrap().starts_with("500"),
        "{first:?}"
    );
    // Recorded after the cut: not in the pending batch.
    a.feature("three");
    let pending = status(dir.path()).unwrap().pending_batch.unwrap();
    drop(a); // the process ends before any answer came
    let a = Agent::start(quiet(&s.endpoint, dir.path())).unwrap();
    let second = a.upload_now().unwrap();
    assert!(second.stopped.as_deref().unwrap().starts_with("503"));
    let report = a.upload_now().unwrap();
    assert_eq!(
        (report.batches, report.stored, report.stopped),
        (2, 3, None)
    );
    let sent = batches(&s);
    let ids: Vec<&str> = sent.iter().map(|b| b.batch_id.as_str()).collect();
    assert_eq!(
        ids[..3],
        [pending.as_str(), pending.as_str(), pending.as_str()]
    );
    assert_eq!(sent[2], sent[0], "the same body each time");
    assert_ne!(ids[3], pending);
    assert_eq!(
        sent[3]
            .records
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        vec!["three"]
    );
    let st = status(dir.path()).unwrap();
    assert_eq!(
        (st.records, st.pending_batch),
        (0, None),
        "only acknowledged records leave the log"
    );
}

#[test]
fn a_batch_the_server_refuses_for_good_is_dropped_and_counted_in_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(vec![(400, "", r#"{"error":"bad_batch"}"#)]);
    let a = Agent::start(quiet(&s.endpoint, dir.path())).unwrap();
    for n in ["a", "b", "c"] {
        a.feature(n);
    }
    let r = a.upload_now().unwrap();
    assert_eq!(
        (r.refused_batches, r.dropped_records, r.stopped),
        (1, 3, None)
    );
    a.feature("d");
    a.upload_now().unwrap();
    let sent = batches(&s);
    assert_eq!(sent.len(), 2, "the refused batch is not sent again");
    assert_eq!((sent[1].dropped, sent[1].records.len()), (3, 1));
    assert_eq!(
        status(dir.path()).unwrap().dropped,
        0,
        "reported, so no longer pending"
    );
}

#[test]
fn a_wrong_key_or_endpoint_or_a_foreign_answer_keeps_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(vec![
        (401, "", r#"{"error":"bad_app_key"}"#),
        (404, "", r#"{"error":"not_found"}"#),
        (200, "", r#"{"id":"x"}"#),
    ]);
    let a = Agent::start(quiet(&s.endpoint, dir.path())).unwrap();
    a.feature("kept");
    for want in ["401", "404", "not an answer"] {
        let r = a.upload_now().unwrap();
        assert!(r.stopped.as_deref().unwrap().contains(want), "{r:?}");
        assert_eq!((r.refused_batches, r.dropped_records), (0, 0));
    }
    let st = status(dir.path()).unwrap();
    assert_eq!(
        (st.records, st.dropped),
        (1, 0),
        "nothing lost, nothing counted as dropped"
    );
    let r = a.upload_now().unwrap();
    assert_eq!((r.batches, r.stored, r.stopped), (1, 1, None));
}

#[test]
fn records_dropped_by_the_log_bound_are_reported_in_the_next_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = quiet(NOWHERE, dir.path());
    c.max_log_bytes = MIN_MAX_LOG_BYTES;
    let a = Agent::start(c.clone()).unwrap();
    for i in 0..2000 {
        a.feature(&format!("feature-{i}"));
    }
    let st = status(dir.path()).unwrap();
    assert!(st.log_bytes <= MIN_MAX_LOG_BYTES);
    assert_eq!(st.dropped + st.records, 2000);
    assert!(st.dropped > 1000);
    drop(a);
    let s = server(vec![]);
    let a = Agent::start(Config {
        endpoint: s.endpoint.clone(),
        ..c
    })
    .unwrap();
    a.upload_now().unwrap();
    let sent = batches(&s);
    assert_eq!(sent[0].dropped, st.dropped);
    let seqs: Vec<u64> = sent
        .iter()
        .flat_map(|b| b.records.iter().map(|r| r.seq))
        .collect();
    assert_eq!(
        seqs,
        (st.dropped + 1..=2000).collect::<Vec<_>>(),
        "the newest records are the ones kept"
    );
    assert_eq!(status(dir.path()).unwrap().dropped, 0);
}

#[test]
fn batches_are_cut_by_the_servers_limits() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(vec![]);
    let mut c = quiet(&s.endpoint, dir.path());
    c.max_log_bytes = 8 * 1024 * 1024;
    let a = Agent::start(c).unwrap();
    let big: BTreeMap<String, String> = (0..limits::MAX_PROPS)
        .map(|i| (format!("k{i}"), "v".repeat(limits::MAX_PROP_VALUE_BYTES)))
        .collect();
    for i in 0..700 {
        a.record(AppRecordKind::Custom, &format!("n{i}"), big.clone())
            .unwrap();
    }
    a.upload_now().unwrap();
    let bodies: Vec<String> = s.bodies.try_iter().collect();
    assert!(
        bodies.len() >= 3,
        "700 records of ~2.7 KiB need at least 3 batches of 256 KiB"
    );
    let mut total = 0;
    for b in &bodies {
        assert!(b.len() <= limits::MAX_BATCH_BYTES, "{} bytes", b.len());
        let batch: AppBatch = serde_json::from_str(b).unwrap();
        assert!(batch.records.len() <= limits::MAX_RECORDS_PER_BATCH);
        total += batch.records.len();
    }
    assert_eq!(total, 700);
    // Records the server would refuse are refused here.
    assert!(matches!(
        a.record(
            AppRecordKind::Feature,
            &"x".repeat(limits::MAX_NAME_BYTES + 1),
            BTreeMap::new()
        ),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        a.record(AppRecordKind::Feature, "", BTreeMap::new()),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        a.record(AppRecordKind::SessionStart, "x", BTreeMap::new()),
        Err(Error::Invalid(_))
    ));
    let many: BTreeMap<String, String> = (0..=limits::MAX_PROPS)
        .map(|i| (format!("k{i}"), String::new()))
        .collect();
    assert!(matches!(
        a.record(AppRecordKind::Feature, "x", many),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn a_session_killed_without_shutdown_is_ended_on_the_next_start_with_its_saved_active_time() {
    let dir = tempfile::tempdir().unwrap();
    let a = Agent::start(config(NOWHERE, dir.path())).unwrap();
    a.active();
    {
        // Pretend the user was active for a while (ping 40 s ago), then checkpoint.
        let mut g = a.shared.lock();
        g.session.as_mut().unwrap().last_ping = Some(now_ms() - 40_000);
    }
    a.active();
    a.flush().unwrap();
    let saved = a.active_ms();
    assert!(saved >= 40_000, "{saved}");
    let first_session = a.shared.lock().session_id();
    drop(a); // killed: no shutdown
    let s = server(vec![]);
    let a = Agent::start(config(&s.endpoint, dir.path())).unwrap();
    let report = a.shutdown();
    assert_eq!(report.stopped, None);
    let records: Vec<AppRecord> = batches(&s).into_iter().flat_map(|b| b.records).collect();
    let kinds: Vec<(AppRecordKind, bool)> = records
        .iter()
        .map(|r| (r.kind, r.session == first_session))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (AppRecordKind::SessionStart, true),
            (AppRecordKind::SessionEnd, true),
            (AppRecordKind::SessionStart, false),
            (AppRecordKind::SessionEnd, false)
        ]
    );
    assert_eq!(records[1].active_ms, saved);
    assert_eq!(
        status(dir.path()).unwrap().records,
        0,
        "shutdown's last upload emptied the log"
    );
}

#[test]
fn activity_counts_only_gaps_within_the_idle_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(NOWHERE, dir.path());
    c.idle_window = Duration::from_secs(60);
    let a = Agent::start(c).unwrap();
    let ping_ago = |ms: i64| {
        a.shared.lock().session.as_mut().unwrap().last_ping = Some(now_ms() - ms);
        a.active();
    };
    ping_ago(30_000);
    let after_short_gap = a.active_ms();
    assert!(
        (30_000..31_000).contains(&after_short_gap),
        "{after_short_gap}"
    );
    ping_ago(10 * 60_000); // away for ten minutes: not active time
    assert!(a.active_ms() - after_short_gap < 1_000);
}

#[test]
fn opting_out_records_and_sends_nothing_clears_the_log_and_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(vec![]);
    let a = Agent::start(config(&s.endpoint, dir.path())).unwrap();
    a.feature("before");
    a.set_opt_out(true).unwrap();
    assert_eq!(status(dir.path()).unwrap().records, 0);
    a.feature("while out");
    a.error("while out");
    assert_eq!(a.upload_now().unwrap(), UploadReport::default());
    assert!(matches!(
        a.register_email("a@example.com", "yes"),
        Err(Error::OptedOut)
    ));
    drop(a);
    let a = Agent::start(config(&s.endpoint, dir.path())).unwrap();
    assert!(a.opted_out());
    a.feature("still out");
    a.shutdown();
    assert!(batches(&s).is_empty(), "nothing sent while opted out");
    assert_eq!(status(dir.path()).unwrap().records, 0);
    // Opting in starts recording again (with a new session).
    let a = Agent::start(config(&s.endpoint, dir.path())).unwrap();
    a.set_opt_out(false).unwrap();
    a.feature("back");
    a.upload_now().unwrap();
    let kinds: Vec<AppRecordKind> = batches(&s)
        .into_iter()
        .flat_map(|b| b.records)
        .map(|r| r.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![AppRecordKind::SessionStart, AppRecordKind::Feature]
    );
}

#[test]
fn erase_local_empties_the_log_but_never_reuses_a_seq() {
    let dir = tempfile::tempdir().unwrap();
    let a = Agent::start(quiet(NOWHERE, dir.path())).unwrap();
    a.feature("one");
    a.feature("two");
    a.erase_local().unwrap();
    assert_eq!(status(dir.path()).unwrap().records, 0);
    drop(a);
    let s = server(vec![]);
    let a = Agent::start(quiet(&s.endpoint, dir.path())).unwrap();
    a.feature("three");
    a.upload_now().unwrap();
    assert_eq!(batches(&s)[0].records[0].seq, 3);
}

#[test]
fn a_second_agent_on_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _a = Agent::start(quiet(NOWHERE, dir.path())).unwrap();
    assert!(matches!(
        Agent::start(quiet(NOWHERE, dir.path())),
        Err(Error::Busy)
    ));
}

#[test]
fn the_config_refuses_plain_http_except_to_loopback_and_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    for ok in [
        "https://vigia.example.com",
        "https://vigia.example.com:8443/",
        "http://127.0.0.1:8787",
        "http://localhost:1",
        "http://[::1]:80",
        "http://127.9.9.9",
    ] {
        assert!(check_endpoint(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://vigia.example.com",
        "http://127.0.0.1.evil.com",
        "http://localhost.evil.com:80",
        "http://user@127.0.0.1",
        "ftp://x",
        "vigia.example.com",
        "https://",
        "http://10.0.0.1",
    ] {
        assert!(
            matches!(check_endpoint(bad), Err(Error::Config(_))),
            "{bad}"
        );
    }
    assert!(matches!(
        Agent::start(Config::new("https://x.example", "secret", dir.path())),
        Err(Error::Config(_))
    ));
    let mut c = Config::new("https://x.example", "vpk_1", dir.path());
    c.max_log_bytes = MIN_MAX_LOG_BYTES - 1;
    assert!(matches!(Agent::start(c), Err(Error::Config(_))));
    assert_eq!(DEFAULT_MAX_LOG_BYTES, 4 << 20);
}

#[test]
fn records_older_than_the_servers_limit_are_dropped_and_counted_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(vec![]);
    let a = Agent::start(quiet(&s.endpoint, dir.path())).unwrap();
    {
        let mut g = a.shared.lock();
        let old = now_ms() - limits::MAX_RECORD_AGE_MS - 60_000;
        g.append(
            AppRecordKind::Feature,
            "ancient",
            String::new(),
            0,
            BTreeMap::new(),
            old,
        )
        .unwrap();
    }
    a.feature("fresh");
    a.upload_now().unwrap();
    let sent = batches(&s);
    assert_eq!(
        sent[0]
            .records
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        vec!["fresh"]
    );
    assert_eq!(sent[0].dropped, 1);
}

#[test]
fn the_wait_after_a_failure_is_never_shorter_than_retry_after_nor_longer_than_needed() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = quiet(NOWHERE, dir.path());
    c.backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
    };
    let a = Agent::start(c).unwrap();
    for attempt in [0, 3, 30] {
        assert_eq!(
            a.shared.retry_wait(attempt, Some(Duration::from_secs(7))),
            Duration::from_secs(7),
            "Retry-After past the backoff wins"
        );
        assert!(
            a.shared.retry_wait(attempt, None) <= Duration::from_secs(1),
            "without it, the jittered backoff under its cap"
        );
        assert!(a.shared.retry_wait(attempt, Some(Duration::ZERO)) <= Duration::from_secs(1));
    }
}

/// An app shares one agent between its threads (`Arc<Agent>`).
#[test]
fn the_agent_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Agent>();
}
