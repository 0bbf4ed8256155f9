//! The cold shard: one SQLite-backed Durable Object per site and UTC month
//! (`<site_key>:<YYYY-MM>`), holding sealed days of raw events in the core's compact layout
//! (`analytics_core::store::shard`). It is a thin executor: the Worker sends core-built
//! statements and the object runs them, in order, with no `await` between them — a Durable
//! Object commits the writes of such a stretch together, so a request's statements land whole
//! or not at all. The object is reachable only through its binding, never from the Internet.

use analytics_core::store::shard as sql;
use analytics_core::store::Sql;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

use crate::buffer::storage;

/// What the Worker asks of a shard.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShardRequest {
    /// Readers pass the site's `sealed_until`: only sessions that started before it count
    /// (a later, partial copy of a day being sealed stays invisible).
    #[serde(default)]
    pub visible_until: Option<i64>,
    /// A bulk write's id: a batch the shard has seen already is skipped, so a retried import
    /// page is stored once.
    #[serde(default)]
    pub batch: Option<String>,
    pub statements: Vec<Sql>,
}

/// The shard's answer: each statement's rows, in order; `skipped` when the batch was known;
/// the rows SQLite read for them and the database's size (the registry and the bench).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ShardAnswer {
    pub rows: Vec<Vec<Value>>,
    #[serde(default)]
    pub skipped: bool,
    #[serde(default)]
    pub rows_read: u64,
    #[serde(default)]
    pub bytes: u64,
}

#[durable_object]
pub struct EventShard {
    state: State,
}

impl EventShard {
    fn run(&self, request: &ShardRequest) -> Result<ShardAnswer> {
        let storage = self.state.storage().sql();
        if let Some(batch) = &request.batch {
            if !storage::all::<Value>(&storage, &sql::batch_seen(batch))?.is_empty() {
                return Ok(ShardAnswer {
                    skipped: true,
                    ..Default::default()
                });
            }
            storage::run(&storage, &sql::record_batch(batch))?;
        }
        if let Some(until) = request.visible_until {
            storage::run(&storage, &sql::set_visible_until(until))?;
        }
        let mut rows = Vec::with_capacity(request.statements.len());
        let mut rows_read = 0;
        for statement in &request.statements {
            let (found, read) = storage::all_counted::<Value>(&storage, statement)?;
            rows.push(found);
            rows_read += read as u64;
        }
        Ok(ShardAnswer {
            rows,
            skipped: false,
            rows_read,
            bytes: storage.database_size() as u64,
        })
    }
}

impl DurableObject for EventShard {
    fn new(state: State, _env: Env) -> Self {
        let storage = state.storage().sql();
        // Idempotent and synchronous, so every request sees the schema.
        for statement in sql::MIGRATIONS {
            if let Err(e) = storage::run(&storage, &Sql::new(*statement, [])) {
                worker::console_error!("shard schema: {e}");
            }
        }
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/run") => {
                let request: ShardRequest = req.json().await?;
                Response::from_json(&self.run(&request)?)
            }
            // Retention dropped the last day or the site was deleted: nothing of it stays.
            (Method::Post, "/drop") => {
                self.state.storage().delete_all().await?;
                Response::from_json(&ShardAnswer::default())
            }
            _ => Response::error("not found", 404),
        }
    }
}
