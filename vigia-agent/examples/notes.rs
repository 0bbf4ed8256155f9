//! A tiny notes app that embeds the agent (docs/agent.md walks through it).
//!
//! ```text
//! VIGIA_ENDPOINT=http://127.0.0.1:8787 VIGIA_APP_KEY=vpk_… \
//!   cargo run -p vigia-agent --example notes -- add "buy milk"
//! cargo run -p vigia-agent --example notes -- list
//! cargo run -p vigia-agent --example notes -- delete 7        # an error: no note 7
//! cargo run -p vigia-agent --example notes -- --no-usage-stats list   # opts out (remembered)
//! cargo run -p vigia-agent --example notes -- --usage-stats list      # opts in again
//! ```
//!
//! Notes live in `notes.txt` under `NOTES_DIR` (default `./notes-data`); the agent's folder is
//! `NOTES_DIR/vigia`.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use vigia_agent::{Agent, Config};

fn main() -> ExitCode {
    let dir = PathBuf::from(std::env::var("NOTES_DIR").unwrap_or_else(|_| "notes-data".into()));
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let opt = args
        .iter()
        .position(|a| a == "--no-usage-stats" || a == "--usage-stats")
        .map(|i| args.remove(i));

    // 1. Start the agent once, early. Usage statistics must never stop the app: without an
    //    endpoint and a key, or if the folder is busy, the app runs without them.
    let endpoint =
        std::env::var("VIGIA_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8787".into());
    let key = std::env::var("VIGIA_APP_KEY").unwrap_or_default();
    let mut config = Config::new(endpoint, key, dir.join("vigia"));
    config.app_version = env!("CARGO_PKG_VERSION").into();
    let agent = match Agent::start(config) {
        Ok(a) => Some(a),
        Err(e) => {
            eprintln!("(usage statistics off: {e})");
            None
        }
    };
    // 2. The user's choice, remembered by the agent across runs.
    if let (Some(a), Some(flag)) = (&agent, &opt) {
        let _ = a.set_opt_out(flag == "--no-usage-stats");
    }

    let code = run(&dir, &args, agent.as_ref());

    // 4. At exit: ends the session with its active time and tries a last, short upload.
    if let Some(a) = agent {
        a.shutdown();
    }
    code
}

fn run(dir: &std::path::Path, args: &[String], agent: Option<&Agent>) -> ExitCode {
    let file = dir.join("notes.txt");
    let _ = fs::create_dir_all(dir);
    let mut notes: Vec<String> = fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    // 3. Each command is a feature; the user acting is activity.
    let feature = |name: &str| {
        if let Some(a) = agent {
            a.active();
            a.feature(name);
        }
    };
    match args.first().map(String::as_str) {
        Some("add") => {
            feature("add_note");
            notes.push(args[1..].join(" "));
        }
        Some("delete") => {
            feature("delete_note");
            match args
                .get(1)
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=notes.len()).contains(n))
            {
                Some(n) => {
                    notes.remove(n - 1);
                }
                None => {
                    // An error is a name: never the message or user data.
                    if let Some(a) = agent {
                        a.error("note_not_found");
                    }
                    eprintln!("no such note");
                    return ExitCode::FAILURE;
                }
            }
        }
        Some("list") | None => {
            feature("list_notes");
            for (i, n) in notes.iter().enumerate() {
                println!("{}. {n}", i + 1);
            }
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("unknown command {other:?}: add TEXT | list | delete N");
            return ExitCode::from(2);
        }
    }
    let mut text = notes.join("\n");
    text.push('\n');
    if fs::write(&file, text).is_err() {
        if let Some(a) = agent {
            a.error("save_failed");
        }
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
