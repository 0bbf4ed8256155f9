//! `vigia-agent`: what an application embeds to report its use to Vigia (docs/agent.md).
//!
//! ```no_run
//! use vigia_agent::{Agent, Config};
//! let agent = Agent::start(Config::new("https://vigia.example.com", "vpk_…", "/home/me/.local/share/notes/vigia")).unwrap();
//! agent.feature("export_pdf");
//! agent.active(); // the user did something
//! agent.shutdown();
//! ```
//!
//! Records go to a local log in `data_dir` (bounded, crash-safe: [`log`]); a background thread
//! cuts them into batches, persists each batch with its id before sending it and sends it again,
//! with the same id, until the server answers, so a batch whose answer was lost is recognised
//! and stored once. Only acknowledged records leave the log.

mod backoff;
pub mod log;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_types::apps::{
    AppBatch, AppBatchAnswer, AppErased, AppOs, AppRecord, AppRecordKind, EmailRegistration,
    InstallRef,
};
use ingest_limits::app as limits;
use serde::{Deserialize, Serialize};

pub use backoff::{parse_retry_after, Backoff, BACKOFF_BASE, BACKOFF_CAP, MAX_RETRY_AFTER};
pub use log::Log;

/// The local log's default bound: about 40,000 records of ~100 bytes (measured: a feature record
/// with a short name takes 103 bytes framed), weeks offline for most apps.
pub const DEFAULT_MAX_LOG_BYTES: u64 = 4 * 1024 * 1024;
/// The smallest bound accepted: room for several of the largest records the server takes.
pub const MIN_MAX_LOG_BYTES: u64 = 16 * 1024;
/// How often the background uploader looks for records to send.
pub const DEFAULT_UPLOAD_INTERVAL: Duration = Duration::from_secs(60);
/// Two activity pings at most this far apart count the time between them as active.
pub const DEFAULT_IDLE_WINDOW: Duration = Duration::from_secs(2 * 60);
/// How often a session's active time is saved to disk while pings come in (a session killed
/// without `shutdown` loses at most this much active time).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(15);
/// The last upload at `shutdown` gives up after this long (an app's exit must not hang).
pub const SHUTDOWN_UPLOAD_TIMEOUT: Duration = Duration::from_secs(3);
/// One HTTP request's limit otherwise.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

const STATE_FILE: &str = "state.json";
const LOG_FILE: &str = "log.bin";
const PENDING_FILE: &str = "pending.json";
const SESSION_FILE: &str = "session.json";
const LOCK_FILE: &str = "lock";

#[derive(Debug)]
pub enum Error {
    /// The configuration cannot work (the message says why).
    Config(String),
    /// Another process (or another `Agent`) has this data folder.
    Busy,
    /// A record over the server's limits (it would be refused): the message says which.
    Invalid(String),
    /// The user opted out.
    OptedOut,
    /// The server could not be reached.
    Network(String),
    /// The server answered with an error status.
    Status(u16, String),
    Io(io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Config(m) => write!(f, "configuration: {m}"),
            Error::Busy => write!(f, "another process is using this agent's data folder"),
            Error::Invalid(m) => write!(f, "record refused: {m}"),
            Error::OptedOut => write!(f, "the user opted out"),
            Error::Network(m) => write!(f, "network: {m}"),
            Error::Status(s, body) => write!(f, "server answered {s}: {body}"),
            Error::Io(e) => write!(f, "local storage: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// How the agent runs. [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Vigia's base URL: `https://…`; plain `http://` only for a loopback host (tests, a local
    /// `./vigia run`).
    pub endpoint: String,
    /// The app's public key (`vpk_…`, from the dashboard), shipped inside the app.
    pub app_key: String,
    /// A folder of the app's own (per user): the log, the install id, the pending batch.
    pub data_dir: PathBuf,
    pub app_version: String,
    /// The OS version the app knows (optional; the agent reads no hardware or system ids).
    pub os_version: String,
    pub max_log_bytes: u64,
    pub upload_interval: Duration,
    pub idle_window: Duration,
    pub backoff: Backoff,
    /// Record session start and end (an app: yes; the CLI's one-shot commands: no).
    pub sessions: bool,
    /// Run the uploader thread.
    pub background_upload: bool,
}

impl Config {
    pub fn new(
        endpoint: impl Into<String>,
        app_key: impl Into<String>,
        data_dir: impl Into<PathBuf>,
    ) -> Config {
        Config {
            endpoint: endpoint.into(),
            app_key: app_key.into(),
            data_dir: data_dir.into(),
            app_version: String::new(),
            os_version: String::new(),
            max_log_bytes: DEFAULT_MAX_LOG_BYTES,
            upload_interval: DEFAULT_UPLOAD_INTERVAL,
            idle_window: DEFAULT_IDLE_WINDOW,
            backoff: Backoff::default(),
            sessions: true,
            background_upload: true,
        }
    }

    fn check(&mut self) -> Result<()> {
        self.endpoint = check_endpoint(&self.endpoint)?;
        if !self.app_key.starts_with("vpk_")
            || self.app_key.len() > 200
            || !self.app_key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::Config(
                "app_key must be the app's public key (vpk_…)".into(),
            ));
        }
        for (what, v) in [
            ("app_version", &self.app_version),
            ("os_version", &self.os_version),
        ] {
            if v.len() > limits::MAX_VERSION_BYTES {
                return Err(Error::Config(format!(
                    "{what} longer than {} bytes",
                    limits::MAX_VERSION_BYTES
                )));
            }
        }
        if self.max_log_bytes < MIN_MAX_LOG_BYTES {
            return Err(Error::Config(format!(
                "max_log_bytes below {MIN_MAX_LOG_BYTES}"
            )));
        }
        if self.backoff.base.is_zero() || self.backoff.cap < self.backoff.base {
            return Err(Error::Config(
                "backoff base must be above zero and at most its cap".into(),
            ));
        }
        Ok(())
    }
}

/// The endpoint without a trailing slash, if it is https, or http to a loopback host.
fn check_endpoint(endpoint: &str) -> Result<String> {
    let e = endpoint.trim_end_matches('/');
    let bad = |m: &str| Err(Error::Config(format!("endpoint {endpoint:?}: {m}")));
    let (secure, rest) = if let Some(r) = e.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = e.strip_prefix("http://") {
        (false, r)
    } else {
        return bad("must start with https://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return bad("needs a host (and no user name)");
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    if !secure && !loopback {
        return bad(
            "plain http is only for a loopback host (127.0.0.1, localhost, [::1]); use https",
        );
    }
    Ok(e.to_owned())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source");
    b
}

/// 128 random bits as 32 lowercase hex digits (install, session and batch ids).
fn random_id() -> String {
    random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Uniform in [0, 1).
fn random_unit() -> f64 {
    (u64::from_le_bytes(random_bytes::<8>()) >> 11) as f64 / (1u64 << 53) as f64
}

fn this_os() -> AppOs {
    if cfg!(target_os = "linux") {
        AppOs::Linux
    } else if cfg!(target_os = "macos") {
        AppOs::Macos
    } else if cfg!(windows) {
        AppOs::Windows
    } else {
        AppOs::Other
    }
}

/// Refuses what the server would refuse (`ingest_limits::app`), so the agent never sends it.
fn check_record(kind: AppRecordKind, name: &str, props: &BTreeMap<String, String>) -> Result<()> {
    let invalid = |m: String| Err(Error::Invalid(m));
    if matches!(
        kind,
        AppRecordKind::SessionStart | AppRecordKind::SessionEnd
    ) {
        return invalid("session records are recorded by the agent itself".into());
    }
    if name.is_empty() || name.len() > limits::MAX_NAME_BYTES || name.chars().any(char::is_control)
    {
        return invalid(format!(
            "name must be 1 to {} bytes without control characters",
            limits::MAX_NAME_BYTES
        ));
    }
    if props.len() > limits::MAX_PROPS {
        return invalid(format!("at most {} props", limits::MAX_PROPS));
    }
    for (k, v) in props {
        if k.is_empty()
            || k.len() > limits::MAX_PROP_KEY_BYTES
            || v.len() > limits::MAX_PROP_VALUE_BYTES
        {
            return invalid(format!(
                "prop keys are 1 to {} bytes, values at most {}",
                limits::MAX_PROP_KEY_BYTES,
                limits::MAX_PROP_VALUE_BYTES
            ));
        }
    }
    Ok(())
}

/// What stays on disk between runs besides the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    install_id: String,
    /// Every seq below it has been used (the log's last record may be ahead of it: the next
    /// seq is the larger of the two, so no record write needs a second one here).
    next_seq: u64,
    /// Records lost (log full, too old, refused batches, a torn tail) not yet reported in an
    /// acknowledged batch.
    dropped: u64,
    opted_out: bool,
    /// The last acknowledged batch: a pending batch with this id was acknowledged and only
    /// its clean-up was cut short (its `dropped` is not subtracted twice).
    #[serde(default)]
    acked_batch: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    id: String,
    /// The last time the session was known alive (its end time if it is ended on a later start).
    last: i64,
    active_ms: u64,
    #[serde(skip)]
    last_ping: Option<i64>,
    #[serde(skip)]
    saved_at: i64,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        // A file that does not parse (written by something else) counts as absent rather than
        // stopping the app.
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    log::write_atomic(path, &serde_json::to_vec(value).expect("state serializes"))
}

fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

struct Inner {
    cfg: Config,
    state: State,
    log: Log,
    pending: Option<AppBatch>,
    session: Option<Session>,
    next_seq: u64,
    _lock: File,
}

impl Inner {
    fn path(&self, name: &str) -> PathBuf {
        self.cfg.data_dir.join(name)
    }

    fn open(cfg: Config) -> Result<Inner> {
        fs::create_dir_all(&cfg.data_dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(cfg.data_dir.join(LOCK_FILE))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(Error::Busy),
            Err(fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let dir = &cfg.data_dir;
        let state = match read_json::<State>(&dir.join(STATE_FILE))? {
            Some(s) if s.install_id.len() == limits::INSTALL_ID_HEX_DIGITS => s,
            // First run: a new random install id, nothing from the machine.
            _ => State {
                install_id: random_id(),
                next_seq: 1,
                dropped: 0,
                opted_out: false,
                acked_batch: String::new(),
            },
        };
        let (log, opened, bound_dropped) = Log::open(&dir.join(LOG_FILE), cfg.max_log_bytes)?;
        let pending = read_json::<AppBatch>(&dir.join(PENDING_FILE))?
            .filter(|b| b.install_id == state.install_id);
        let mut inner = Inner {
            next_seq: 1,
            state,
            log,
            pending,
            session: None,
            _lock: lock,
            cfg,
        };
        inner.next_seq = inner
            .state
            .next_seq
            .max(inner.log.last_seq().map_or(0, |s| s + 1))
            .max(inner.pending_last_seq().map_or(0, |s| s + 1));
        // The torn tail held at most a record being written when the process died.
        inner.state.dropped += u64::from(opened.torn_bytes > 0);
        inner.count_dropped(&bound_dropped);
        inner.state.next_seq = inner.next_seq;
        inner.save_state()?;
        if inner
            .pending
            .as_ref()
            .is_some_and(|p| p.batch_id == inner.state.acked_batch)
        {
            inner.finish_ack()?;
        }
        Ok(inner)
    }

    fn save_state(&self) -> io::Result<()> {
        write_json(&self.path(STATE_FILE), &self.state)
    }

    fn pending_last_seq(&self) -> Option<u64> {
        self.pending
            .as_ref()
            .and_then(|p| p.records.last())
            .map(|r| r.seq)
    }

    /// Counts records dropped from the log, except those already in the pending batch (they
    /// are delivered with it, or counted if it is refused).
    fn count_dropped(&mut self, seqs: &[u64]) {
        let pending = self.pending_last_seq().unwrap_or(0);
        self.state.dropped += seqs.iter().filter(|s| **s > pending).count() as u64;
    }

    fn append(
        &mut self,
        kind: AppRecordKind,
        name: &str,
        session: String,
        active_ms: u64,
        props: BTreeMap<String, String>,
        ts: i64,
    ) -> Result<()> {
        if self.state.opted_out {
            return Ok(());
        }
        let record = AppRecord {
            seq: self.next_seq,
            ts,
            kind,
            name: name.to_owned(),
            session,
            active_ms,
            props,
        };
        let dropped = self.log.append(&record)?;
        self.next_seq += 1;
        if !dropped.is_empty() {
            self.count_dropped(&dropped);
            self.state.next_seq = self.next_seq;
            self.save_state()?;
        }
        Ok(())
    }

    fn session_id(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.id.clone())
            .unwrap_or_default()
    }

    fn save_session(&mut self, now: i64) -> io::Result<()> {
        if let Some(s) = &mut self.session {
            s.last = now;
            s.saved_at = now;
            write_json(&self.cfg.data_dir.join(SESSION_FILE), s)?;
        }
        Ok(())
    }

    /// Ends a session left by a process that died, with the active time it had saved, and
    /// starts a new one.
    fn begin_session(&mut self) -> Result<()> {
        let now = now_ms();
        if let Some(old) = read_json::<Session>(&self.path(SESSION_FILE))? {
            self.append(
                AppRecordKind::SessionEnd,
                "",
                old.id,
                old.active_ms.min(limits::MAX_ACTIVE_MS),
                BTreeMap::new(),
                old.last,
            )?;
        }
        if self.state.opted_out {
            return Ok(remove(&self.path(SESSION_FILE))?);
        }
        let id = random_id();
        self.append(
            AppRecordKind::SessionStart,
            "",
            id.clone(),
            0,
            BTreeMap::new(),
            now,
        )?;
        self.session = Some(Session {
            id,
            last: now,
            active_ms: 0,
            last_ping: None,
            saved_at: now,
        });
        self.save_session(now)?;
        Ok(())
    }

    fn end_session(&mut self) -> Result<()> {
        if let Some(s) = self.session.take() {
            let now = now_ms();
            self.append(
                AppRecordKind::SessionEnd,
                "",
                s.id,
                s.active_ms.min(limits::MAX_ACTIVE_MS),
                BTreeMap::new(),
                now,
            )?;
            self.log.sync()?;
            remove(&self.path(SESSION_FILE))?;
        }
        Ok(())
    }

    /// Cuts the next batch from the oldest records and persists it before anything is sent.
    fn ensure_pending(&mut self, now: i64) -> Result<()> {
        if self.pending.is_some() || self.state.opted_out {
            return Ok(());
        }
        let cutoff = now - limits::MAX_RECORD_AGE_MS;
        let old = self.log.remove_where(|_, ts| ts < cutoff)?;
        if !old.is_empty() {
            self.count_dropped(&old);
            self.state.next_seq = self.next_seq;
            self.save_state()?;
        }
        if self.log.is_empty() {
            return Ok(());
        }
        let mut batch = AppBatch {
            batch_id: random_id(),
            install_id: self.state.install_id.clone(),
            app_version: self.cfg.app_version.clone(),
            os: this_os(),
            os_version: self.cfg.os_version.clone(),
            dropped: self.state.dropped,
            records: Vec::new(),
        };
        // The body's exact size: the envelope, then each record and its comma.
        let mut size = serde_json::to_vec(&batch).map_err(io::Error::other)?.len();
        let mut count = 0;
        let records = self.log.head(|r| {
            let add =
                serde_json::to_vec(r).map_or(usize::MAX, |v| v.len()) + usize::from(count > 0);
            if count == limits::MAX_RECORDS_PER_BATCH
                || size.saturating_add(add) > limits::MAX_BATCH_BYTES
            {
                return false;
            }
            size += add;
            count += 1;
            true
        })?;
        batch.records = records;
        write_json(&self.path(PENDING_FILE), &batch)?;
        self.pending = Some(batch);
        Ok(())
    }

    /// The pending batch was answered with a 2xx: its records leave the log, its `dropped` was
    /// reported.
    fn ack(&mut self) -> Result<()> {
        let Some(p) = &self.pending else {
            return Ok(());
        };
        self.state.dropped = self.state.dropped.saturating_sub(p.dropped);
        self.state.acked_batch = p.batch_id.clone();
        self.state.next_seq = self.next_seq;
        self.save_state()?;
        self.finish_ack()
    }

    fn finish_ack(&mut self) -> Result<()> {
        if let Some(last) = self.pending_last_seq() {
            self.log.remove_where(|seq, _| seq <= last)?;
        }
        self.pending = None;
        remove(&self.path(PENDING_FILE))?;
        Ok(())
    }

    /// The server will never take the pending batch (400, 413, 422): its records
    /// are dropped and counted, and its `dropped` is still to report.
    fn refuse_pending(&mut self) -> Result<u64> {
        let Some(p) = self.pending.take() else {
            return Ok(0);
        };
        let n = p.records.len() as u64;
        self.state.dropped += n;
        self.state.next_seq = self.next_seq;
        self.save_state()?;
        if let Some(last) = p.records.last().map(|r| r.seq) {
            self.log.remove_where(|seq, _| seq <= last)?;
        }
        remove(&self.path(PENDING_FILE))?;
        Ok(n)
    }

    fn erase_local(&mut self) -> Result<()> {
        self.pending = None;
        remove(&self.path(PENDING_FILE))?;
        self.state.dropped = 0;
        self.state.next_seq = self.next_seq;
        self.save_state()?;
        self.log.clear()?;
        Ok(())
    }
}

/// The result of one try at the pending batch.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Nothing to send.
    Idle,
    Sent(AppBatchAnswer),
    /// Refused for good (status); its records were dropped and counted.
    Refused(u16, u64),
    /// Try again later: not before `after` (Retry-After) when the server said so.
    Retry(Option<Duration>, String),
}

/// What an upload did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UploadReport {
    pub batches: u64,
    /// Of them, batches the server had already seen (an answer lost earlier).
    pub duplicates: u64,
    pub stored: u64,
    pub refused_records: u64,
    /// Batches refused for good (and their records, dropped and counted).
    pub refused_batches: u64,
    pub dropped_records: u64,
    /// Why the upload stopped before the log was empty (a failure to retry later).
    pub stopped: Option<String>,
}

struct Http {
    agent: ureq::Agent,
    short: ureq::Agent,
    endpoint: String,
    auth: String,
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

impl Http {
    fn new(endpoint: &str, app_key: &str) -> Http {
        let make = |timeout: Duration| -> ureq::Agent {
            let builder = ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .user_agent(concat!("vigia-agent/", env!("CARGO_PKG_VERSION")));
            // The OS's TLS and its certificate store where the OS has them.
            #[cfg(any(windows, target_os = "macos"))]
            let builder = builder.tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(ureq::tls::TlsProvider::NativeTls)
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            );
            builder.build().into()
        };
        Http {
            agent: make(HTTP_TIMEOUT),
            short: make(SHUTDOWN_UPLOAD_TIMEOUT),
            endpoint: endpoint.to_owned(),
            auth: format!("Bearer {app_key}"),
        }
    }

    fn post(&self, path: &str, body: &[u8], short: bool) -> std::result::Result<Answer, String> {
        let agent = if short { &self.short } else { &self.agent };
        let mut response = agent
            .post(format!("{}{path}", self.endpoint))
            .header("Authorization", &self.auth)
            .header("Content-Type", "application/json")
            .send(body)
            .map_err(|e| e.to_string())?;
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .unwrap_or_default();
        Ok(Answer {
            status: response.status().as_u16(),
            retry_after,
            body,
        })
    }
}

struct Shared {
    inner: Mutex<Inner>,
    /// One sender at a time (the thread, `upload_now`, `shutdown`).
    sending: Mutex<()>,
    http: Http,
    stop: AtomicBool,
    wake: (Mutex<bool>, Condvar),
    interval: Duration,
    backoff: Backoff,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent files (every change is
        // written before the memory is): carry on with it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn step(&self, short: bool) -> Result<Outcome> {
        let _one = self.sending.lock().unwrap_or_else(|p| p.into_inner());
        let (batch_id, body) = {
            let mut g = self.lock();
            g.ensure_pending(now_ms())?;
            match &g.pending {
                None => return Ok(Outcome::Idle),
                Some(p) => (
                    p.batch_id.clone(),
                    serde_json::to_vec(p).map_err(io::Error::other)?,
                ),
            }
        };
        let answer = self.http.post("/api/app/batch", &body, short);
        let mut g = self.lock();
        // An opt-out or an erase while the batch was out: nothing left to settle.
        if g.pending.as_ref().map(|p| &p.batch_id) != Some(&batch_id) {
            return Ok(Outcome::Idle);
        }
        let answer = match answer {
            Ok(a) => a,
            Err(e) => return Ok(Outcome::Retry(None, e)),
        };
        let said = || {
            let body: String = answer.body.chars().take(200).collect();
            format!("{} {body}", answer.status)
        };
        Ok(match answer.status {
            // Only Vigia's answer about this very batch lets its records go: any other 2xx (a
            // proxy, a wrong endpoint that answers everything) keeps them for the next try.
            200..=299 => match serde_json::from_str::<AppBatchAnswer>(&answer.body) {
                Ok(a) if a.batch_id == batch_id => {
                    g.ack()?;
                    Outcome::Sent(a)
                }
                _ => Outcome::Retry(None, format!("not an answer about this batch: {}", said())),
            },
            429 | 503 => Outcome::Retry(
                answer
                    .retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, now_ms())),
                format!("{} {}", answer.status, answer.body),
            ),
            // A batch the server will never take (malformed, too large): dropped and counted.
            status @ (400 | 413 | 422) => Outcome::Refused(status, g.refuse_pending()?),
            // Anything else — a wrong or rotated key (401, 403), a wrong endpoint (404, 405), a
            // server failure — is for the setup or the server to fix: the records stay.
            _ => Outcome::Retry(None, said()),
        })
    }

    /// Sends batches until the log is empty or a try fails (`max_tries` failures in a row,
    /// waiting as the backoff and `Retry-After` say between them; 1 = no waiting).
    fn upload(&self, max_tries: u32, short: bool) -> Result<UploadReport> {
        let mut report = UploadReport::default();
        let mut failures = 0;
        loop {
            if self.stop.load(Ordering::SeqCst) && !short {
                report.stopped = Some("stopping".into());
                return Ok(report);
            }
            match self.step(short)? {
                Outcome::Idle => return Ok(report),
                Outcome::Sent(a) => {
                    failures = 0;
                    report.batches += 1;
                    report.duplicates += u64::from(a.duplicate);
                    report.stored += a.stored;
                    report.refused_records += a.refused;
                }
                Outcome::Refused(_, n) => {
                    failures = 0;
                    report.refused_batches += 1;
                    report.dropped_records += n;
                }
                Outcome::Retry(after, why) => {
                    failures += 1;
                    if failures >= max_tries {
                        report.stopped = Some(why);
                        return Ok(report);
                    }
                    self.wait(self.retry_wait(failures - 1, after));
                }
            }
        }
    }

    /// Never before the server's `Retry-After`; otherwise the jittered backoff.
    fn retry_wait(&self, attempt: u32, after: Option<Duration>) -> Duration {
        self.backoff
            .delay(attempt)
            .max(after.unwrap_or(Duration::ZERO))
    }

    /// Sleeps up to `d`, or until `flush`/`shutdown` wakes the uploader.
    fn wait(&self, d: Duration) {
        let (flag, cv) = &self.wake;
        let mut woken = flag.lock().unwrap_or_else(|p| p.into_inner());
        if !*woken && !self.stop.load(Ordering::SeqCst) {
            woken = cv
                .wait_timeout(woken, d)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *woken = false;
    }

    fn wake(&self) {
        let (flag, cv) = &self.wake;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }

    /// The background uploader: every interval, and after failures as the backoff says.
    fn run(&self, until_empty: bool) -> Result<UploadReport> {
        let mut total = UploadReport::default();
        let mut failures = 0u32;
        while !self.stop.load(Ordering::SeqCst) {
            let outcome = self.step(false);
            match outcome {
                Ok(Outcome::Idle) => {
                    if until_empty {
                        return Ok(total);
                    }
                    failures = 0;
                    self.wait(self.interval);
                }
                Ok(Outcome::Sent(a)) => {
                    failures = 0;
                    total.batches += 1;
                    total.duplicates += u64::from(a.duplicate);
                    total.stored += a.stored;
                    total.refused_records += a.refused;
                }
                Ok(Outcome::Refused(_, n)) => {
                    total.refused_batches += 1;
                    total.dropped_records += n;
                }
                Ok(Outcome::Retry(after, _)) => {
                    self.wait(self.retry_wait(failures, after));
                    failures = failures.saturating_add(1);
                }
                // Local storage failed (a full disk): try again later rather than end the thread.
                Err(_) => {
                    self.wait(self.retry_wait(failures, None));
                    failures = failures.saturating_add(1);
                }
            }
        }
        Ok(total)
    }
}

/// What is on disk (`status`), read without taking the folder from its owner.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub install_id: Option<String>,
    pub opted_out: bool,
    pub log_bytes: u64,
    pub records: u64,
    pub dropped: u64,
    pub next_seq: u64,
    pub pending_batch: Option<String>,
    pub pending_records: u64,
}

pub fn status(data_dir: &Path) -> Result<Status> {
    let state = read_json::<State>(&data_dir.join(STATE_FILE))?;
    let (log_bytes, records, last_seq) = Log::peek(&data_dir.join(LOG_FILE))?;
    let pending = read_json::<AppBatch>(&data_dir.join(PENDING_FILE))?;
    Ok(Status {
        install_id: state.as_ref().map(|s| s.install_id.clone()),
        opted_out: state.as_ref().is_some_and(|s| s.opted_out),
        log_bytes,
        records,
        dropped: state.as_ref().map_or(0, |s| s.dropped),
        next_seq: state
            .as_ref()
            .map_or(1, |s| s.next_seq)
            .max(last_seq.map_or(0, |s| s + 1)),
        pending_records: pending.as_ref().map_or(0, |p| p.records.len() as u64),
        pending_batch: pending.map(|p| p.batch_id),
    })
}

/// The embedded agent. Dropping it stops the uploader without ending the session (the next
/// start ends it with the saved active time); call [`Agent::shutdown`] at a normal exit.
pub struct Agent {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Agent {
    /// Opens the data folder (creating the install id on first run), ends a session a killed
    /// process left open, starts a session and the uploader thread, as `config` says.
    pub fn start(mut config: Config) -> Result<Agent> {
        config.check()?;
        let http = Http::new(&config.endpoint, &config.app_key);
        let (interval, backoff, sessions, background) = (
            config.upload_interval,
            config.backoff,
            config.sessions,
            config.background_upload,
        );
        let mut inner = Inner::open(config)?;
        if sessions {
            inner.begin_session()?;
        }
        let shared = Arc::new(Shared {
            inner: Mutex::new(inner),
            sending: Mutex::new(()),
            http,
            stop: AtomicBool::new(false),
            wake: (Mutex::new(false), Condvar::new()),
            interval,
            backoff,
        });
        let thread = background.then(|| {
            let s = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("vigia-agent-upload".into())
                .spawn(move || drop(s.run(false)))
                .expect("spawn the uploader thread")
        });
        Ok(Agent { shared, thread })
    }

    pub fn install_id(&self) -> String {
        self.shared.lock().state.install_id.clone()
    }

    /// Records an event of the app (`feature`, `error`, `custom`). Nothing is recorded while
    /// the user is opted out. A record the server would refuse is refused here.
    pub fn record(
        &self,
        kind: AppRecordKind,
        name: &str,
        props: BTreeMap<String, String>,
    ) -> Result<()> {
        check_record(kind, name, &props)?;
        let mut g = self.shared.lock();
        let session = g.session_id();
        g.append(kind, name, session, 0, props, now_ms())
    }

    /// `record(Feature, name)`, for apps that do not look at the result.
    pub fn feature(&self, name: &str) {
        let _ = self.record(AppRecordKind::Feature, name, BTreeMap::new());
    }

    /// `record(Error, name)`: a name, never a message or a stack (they may hold personal data).
    pub fn error(&self, name: &str) {
        let _ = self.record(AppRecordKind::Error, name, BTreeMap::new());
    }

    /// The user did something: time between two such calls at most the idle window apart
    /// counts as active.
    pub fn active(&self) {
        let now = now_ms();
        let mut g = self.shared.lock();
        let idle = g.cfg.idle_window.as_millis() as i64;
        let Some(s) = &mut g.session else { return };
        if let Some(last) = s.last_ping {
            let gap = now - last;
            if (0..=idle).contains(&gap) {
                s.active_ms += gap as u64;
            }
        }
        s.last_ping = Some(now);
        if now - s.saved_at >= CHECKPOINT_INTERVAL.as_millis() as i64 {
            let _ = g.save_session(now);
        }
    }

    /// The current session's active time so far.
    pub fn active_ms(&self) -> u64 {
        self.shared
            .lock()
            .session
            .as_ref()
            .map_or(0, |s| s.active_ms)
    }

    /// Writes the log and the session to disk and wakes the uploader.
    pub fn flush(&self) -> Result<()> {
        {
            let mut g = self.shared.lock();
            g.log.sync()?;
            g.save_session(now_ms())?;
        }
        self.shared.wake();
        Ok(())
    }

    /// Sends what the log holds now, in this thread, without waiting between failures:
    /// stops at the first failure (the report says why).
    pub fn upload_now(&self) -> Result<UploadReport> {
        self.shared.upload(1, false)
    }

    /// Like the uploader thread, in this thread, until the log is empty: failures are retried
    /// with backoff and `Retry-After`, for as long as it takes (the CLI's `run --until-empty`).
    pub fn upload_until_empty(&self) -> Result<UploadReport> {
        self.shared.run(true)
    }

    /// Runs the uploader in this thread until the process ends (the CLI's `run`).
    pub fn run_uploader(&self) -> Result<UploadReport> {
        self.shared.run(false)
    }

    /// Ends the session (with its active time), stops the uploader and tries one last upload
    /// for at most [`SHUTDOWN_UPLOAD_TIMEOUT`] per request.
    pub fn shutdown(mut self) -> UploadReport {
        self.stop_thread();
        {
            let mut g = self.shared.lock();
            let _ = g.end_session();
        }
        let report = self.shared.upload(1, true).unwrap_or_default();
        let _ = self.shared.lock().log.sync();
        report
    }

    fn stop_thread(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    pub fn opted_out(&self) -> bool {
        self.shared.lock().state.opted_out
    }

    /// Opting out (remembered across runs): nothing is recorded or sent and the local log is
    /// cleared. Opting in again starts a new session.
    pub fn set_opt_out(&self, opt_out: bool) -> Result<()> {
        let mut g = self.shared.lock();
        if g.state.opted_out == opt_out {
            return Ok(());
        }
        if opt_out {
            g.session = None;
            remove(&g.path(SESSION_FILE))?;
            g.state.opted_out = true;
            g.erase_local()?;
        } else {
            g.state.opted_out = false;
            g.save_state()?;
            if g.cfg.sessions {
                g.begin_session()?;
            }
        }
        Ok(())
    }

    /// Empties the local log and the pending batch (the install id and the seq counter stay:
    /// a seq is never reused).
    pub fn erase_local(&self) -> Result<()> {
        self.shared.lock().erase_local()
    }

    /// POSTs `body`; answers the body of a 2xx.
    fn post_json<T: Serialize>(&self, path: &str, body: &T) -> Result<String> {
        let bytes = serde_json::to_vec(body).map_err(io::Error::other)?;
        let a = self
            .shared
            .http
            .post(path, &bytes, false)
            .map_err(Error::Network)?;
        if (200..300).contains(&a.status) {
            Ok(a.body)
        } else {
            Err(Error::Status(a.status, a.body))
        }
    }

    /// Asks the server to erase everything it stored about this install (`POST /api/app/erase`);
    /// answers what it erased.
    pub fn erase_remote(&self) -> Result<AppErased> {
        let install_id = self.install_id();
        let body = self.post_json("/api/app/erase", &InstallRef { install_id })?;
        serde_json::from_str(&body)
            .map_err(|e| Error::Status(200, format!("not Vigia's answer to an erasure: {e}")))
    }

    /// Links this install to the user's email (`POST /api/app/email`); `consent` is the text
    /// the user agreed to. The server mails a confirmation link; no report goes out before it
    /// is followed.
    pub fn register_email(&self, email: &str, consent: &str) -> Result<()> {
        if self.opted_out() {
            return Err(Error::OptedOut);
        }
        if consent.is_empty() || consent.len() > limits::MAX_CONSENT_BYTES {
            return Err(Error::Invalid(format!(
                "consent must be 1 to {} bytes",
                limits::MAX_CONSENT_BYTES
            )));
        }
        let install_id = self.install_id();
        self.post_json(
            "/api/app/email",
            &EmailRegistration {
                install_id,
                email: email.to_owned(),
                consent: consent.to_owned(),
            },
        )
        .map(|_| ())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop_thread();
        let _ = self.shared.lock().log.sync();
    }
}

#[cfg(test)]
mod tests;
