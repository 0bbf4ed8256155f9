//! `vigia-agent`: the agent as a command, for scripts, services written in other languages, and
//! the end-to-end test. Each command opens the data folder, does its work and closes it (the
//! folder belongs to one process at a time: a command waits for it up to `--wait-ms`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use api_types::apps::AppRecordKind;
use clap::{Parser, Subcommand, ValueEnum};
use vigia_agent::{
    Agent, Backoff, Config, Error, BACKOFF_BASE, BACKOFF_CAP, DEFAULT_MAX_LOG_BYTES,
};

#[derive(Parser)]
#[command(
    name = "vigia-agent",
    version,
    about = "Record an app's usage into a local log and upload it to Vigia (docs/agent.md)"
)]
struct Cli {
    /// Vigia's base URL (https, or http to a loopback host)
    #[arg(long, env = "VIGIA_ENDPOINT", global = true, default_value = "")]
    endpoint: String,
    /// The app's public key (vpk_…)
    #[arg(long, env = "VIGIA_APP_KEY", global = true, default_value = "")]
    app_key: String,
    /// The agent's data folder (log, install id, pending batch)
    #[arg(
        long,
        env = "VIGIA_AGENT_DIR",
        global = true,
        default_value = ".vigia-agent"
    )]
    dir: PathBuf,
    #[arg(long, env = "VIGIA_APP_VERSION", global = true, default_value = "")]
    app_version: String,
    /// The local log's bound in bytes
    #[arg(long, global = true, default_value_t = DEFAULT_MAX_LOG_BYTES)]
    max_log_bytes: u64,
    /// First backoff step after a failed upload, in ms
    #[arg(long, global = true, default_value_t = BACKOFF_BASE.as_millis() as u64)]
    backoff_base_ms: u64,
    /// Longest wait between two failed uploads, in ms
    #[arg(long, global = true, default_value_t = BACKOFF_CAP.as_millis() as u64)]
    backoff_cap_ms: u64,
    /// How long to wait for the data folder when another process has it, in ms
    #[arg(long, global = true, default_value_t = 30_000)]
    wait_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Feature,
    Error,
    Custom,
}

#[derive(Subcommand)]
enum Command {
    /// Append records to the local log
    Record {
        kind: Kind,
        name: String,
        /// A property, key=value (repeatable)
        #[arg(long = "prop", value_parser = parse_prop)]
        props: Vec<(String, String)>,
        /// Append this many copies (each its own record)
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Send what the log holds now; stops at the first failure (exit 3 if records are left)
    Upload,
    /// The uploader loop: retries with backoff and Retry-After, every --interval-ms when idle
    Run {
        /// Exit once the log is empty and every batch answered
        #[arg(long)]
        until_empty: bool,
        #[arg(long, default_value_t = 60_000)]
        interval_ms: u64,
    },
    /// Log bytes, records, dropped count and pending batch (JSON)
    Status,
    /// Stop recording and sending; clears the local log
    OptOut,
    OptIn,
    /// Empty the local log; --remote also asks the server to erase this install's data
    Erase {
        #[arg(long)]
        remote: bool,
    },
    /// Link this install to the user's email (a confirmation mail is sent)
    RegisterEmail {
        email: String,
        /// The consent text the user agreed to
        #[arg(long)]
        consent: String,
    },
}

fn parse_prop(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not key=value"))
}

fn open(cli: &Cli, interval: Duration) -> Result<Agent, Error> {
    let mut config = Config::new(cli.endpoint.clone(), cli.app_key.clone(), cli.dir.clone());
    // One-shot commands: no session (the app embedding the library records those).
    config.sessions = false;
    config.background_upload = false;
    config.app_version = cli.app_version.clone();
    config.max_log_bytes = cli.max_log_bytes;
    config.backoff = Backoff {
        base: Duration::from_millis(cli.backoff_base_ms),
        cap: Duration::from_millis(cli.backoff_cap_ms),
    };
    config.upload_interval = interval;
    let deadline = Instant::now() + Duration::from_millis(cli.wait_ms);
    loop {
        match Agent::start(config.clone()) {
            Err(Error::Busy) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            other => return other,
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).expect("serializes"));
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Status = cli.command {
        return match vigia_agent::status(&cli.dir) {
            Ok(s) => {
                print_json(&s);
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        };
    }
    let interval = match cli.command {
        Command::Run { interval_ms, .. } => Duration::from_millis(interval_ms),
        _ => vigia_agent::DEFAULT_UPLOAD_INTERVAL,
    };
    let agent = match open(&cli, interval) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let result = match &cli.command {
        Command::Record {
            kind,
            name,
            props,
            count,
        } => {
            let kind = match kind {
                Kind::Feature => AppRecordKind::Feature,
                Kind::Error => AppRecordKind::Error,
                Kind::Custom => AppRecordKind::Custom,
            };
            let props: BTreeMap<String, String> = props.iter().cloned().collect();
            (0..*count)
                .try_for_each(|_| agent.record(kind, name, props.clone()))
                .and_then(|()| agent.flush())
        }
        Command::Upload => match agent.upload_now() {
            Ok(report) => {
                print_json(&report);
                if report.stopped.is_some() {
                    return ExitCode::from(3);
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
        Command::Run { until_empty, .. } => {
            let r = if *until_empty {
                agent.upload_until_empty()
            } else {
                agent.run_uploader()
            };
            r.map(|report| print_json(&report))
        }
        Command::OptOut => agent.set_opt_out(true),
        Command::OptIn => agent.set_opt_out(false),
        Command::Erase { remote } => agent.erase_local().and_then(|()| {
            if *remote {
                agent.erase_remote().map(|erased| print_json(&erased))
            } else {
                Ok(())
            }
        }),
        Command::RegisterEmail { email, consent } => agent.register_email(email, consent),
        Command::Status => unreachable!("answered above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: Error) -> ExitCode {
    eprintln!("vigia-agent: {e}");
    ExitCode::FAILURE
}
