//! SQL the Worker and the Durable Object buffer run, with the row types it reads, kept here so
//! every statement is tested against SQLite over the real migrations.

pub mod events;
