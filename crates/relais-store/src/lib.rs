//! Storage of the HR base.
//!
//! [`Store`] is the one interface the rest of relais uses. Two implementations
//! share its SQL (written once, with `$n` placeholders, in `sql.rs`) and keep
//! their own migrations: [`sqlite::SqliteStore`], the embedded default, and
//! [`postgres::PgStore`] for several relais processes over one server.
//! [`open`] picks one from a [`DatabaseUrl`] and applies migrations.

// First, so that every module below may use its SQL macros.
#[macro_use]
mod sql;

pub mod access;
pub mod activity;
mod dialect;
mod error;
pub mod events;
pub mod fields;
mod handles;
pub mod hr;
mod kept;
mod lane;
pub mod marketplace;
pub mod postgres;
pub mod query;
pub mod reports;
pub mod rows;
pub mod sqlite;
pub mod sync;
mod url;
pub mod webhooks;

pub use error::{Result, StoreError};
pub use query::{
    Cond, Condition, Direction, Encoded, Encoder, ListQuery, Page, PageFuture, Scope, SqlValue,
};
pub use url::DatabaseUrl;

pub use access::{
    rate_estimate, rate_room, NewApiKey, NewPerson, RateDecision, SignInAttempt, SignInFailures,
    SignInOutcome,
};
pub use events::{current_writer, writing_as, EventQuery};
pub use hr::{BaseCounts, BaseVersions, Records};
pub use marketplace::NewInstallation;
pub use sync::{Delivery, IntegrationState, LineFilter, RunFinish};
pub use webhooks::{
    AttemptOutcome, DeliveryQuery, NewDelivery, NewEndpoint, Recorded, SentDelivery,
};

use async_trait::async_trait;
use std::sync::Arc;

/// Every area's trait at once: `use relais_store::prelude::*;` lets a
/// [`SharedStore`] be called whatever area a method belongs to.
pub mod prelude {
    pub use crate::access::AccessStore;
    pub use crate::activity::ActivityStore;
    pub use crate::events::EventStore;
    pub use crate::hr::HrStore;
    pub use crate::marketplace::MarketplaceStore;
    pub use crate::reports::ReportStore;
    pub use crate::sync::SyncStore;
    pub use crate::webhooks::WebhookStore;
    pub use crate::Store;
}
pub use prelude::*;

/// Everything relais reads and writes in its database: one trait per area
/// ([`HrStore`], [`AccessStore`], [`ActivityStore`], [`MarketplaceStore`],
/// [`SyncStore`], [`ReportStore`], [`EventStore`], [`WebhookStore`]), each
/// with its SQL in its own file, implemented together
/// by each backend.
#[async_trait]
pub trait Store:
    HrStore
    + AccessStore
    + ActivityStore
    + MarketplaceStore
    + SyncStore
    + ReportStore
    + EventStore
    + WebhookStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// `SQLite` or `PostgreSQL`: the database's name as people know it.
    fn product(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;
}

/// A store shared by the server's tasks.
pub type SharedStore = Arc<dyn Store>;

/// Runs `read`, a read of a few rows found by key (a key, an employee, a
/// request's few managers), so that on SQLite its statements run on the
/// calling thread instead of being handed to a reading connection's own
/// thread and waited for: two thread switches a statement, more than SQLite
/// spends on such a read. Only for reads that are short whatever the base's
/// size, since the calling thread (one of the server's runtime's) is held
/// while SQLite runs them. Changes nothing on PostgreSQL.
pub async fn read_few<F: std::future::Future>(read: F) -> F::Output {
    sqlx_sqlite::run_statements_here(read).await
}

/// Opens (creating if needed) the database at `url` and applies migrations.
pub async fn open(url: &DatabaseUrl) -> Result<SharedStore> {
    open_with(url, &OpenOptions::default()).await
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// SQLite: the page cache of each of the pool's connections, in MiB
    /// (a server reading big bases wants a larger one; a short batch
    /// process, a small one).
    pub sqlite_cache_mib: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            sqlite_cache_mib: 32,
        }
    }
}

/// Opens the store at `url` with `options` and applies its migrations.
pub async fn open_with(url: &DatabaseUrl, options: &OpenOptions) -> Result<SharedStore> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => {
            Arc::new(sqlite::SqliteStore::open_with_cache(path, options.sqlite_cache_mib).await?)
        }
        DatabaseUrl::Postgres(raw) => Arc::new(postgres::PgStore::open(raw).await?),
    })
}

/// Brings the database behind `pool` to `migrator`'s latest schema. Fails
/// with [`StoreError::SchemaTooNew`], changing nothing, when the database
/// holds a migration this binary does not know (a newer relais wrote it);
/// with `connect_error` when the migrations' table cannot be read for
/// another reason than its absence (`no_table` tells the database's way of
/// saying a table is missing: a new database has none).
async fn migrate<DB>(
    pool: &sqlx::Pool<DB>,
    migrator: &sqlx::migrate::Migrator,
    no_table: impl Fn(&dyn sqlx::error::DatabaseError) -> bool,
    connect_error: impl Fn(String) -> StoreError,
) -> Result<()>
where
    DB: sqlx::Database,
    DB::Connection: sqlx::migrate::Migrate,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    Option<i64>: for<'r> sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'r> (Option<i64>,): sqlx::FromRow<'r, DB::Row>,
{
    let applied: Option<i64> =
        match sqlx::query_scalar::<DB, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(pool)
            .await
        {
            Ok(v) => v,
            Err(sqlx::Error::Database(e)) if no_table(e.as_ref()) => None,
            Err(e) => return Err(connect_error(e.to_string())),
        };
    let supported = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(found) = applied.filter(|found| *found > supported) {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    migrator
        .run(pool)
        .await
        .map_err(|e| StoreError::Migrate(e.to_string()))
}
