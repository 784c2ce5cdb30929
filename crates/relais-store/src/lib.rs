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
pub use query::{Cond, Condition, Direction, Encoded, Encoder, ListQuery, Page, Scope, SqlValue};
pub use url::DatabaseUrl;

pub use access::{
    rate_estimate, rate_room, NewApiKey, NewPerson, RateDecision, SignInAttempt, SignInFailures,
    SignInOutcome,
};
pub use events::{current_writer, writing_as, EventQuery};
pub use hr::{BaseCounts, BaseVersions, Records};
pub use marketplace::NewInstallation;
pub use sync::{Delivery, IntegrationState, LineFilter, RunFinish};
pub use webhooks::{AttemptOutcome, NewDelivery, NewEndpoint, Recorded, SentDelivery};

use async_trait::async_trait;
use std::sync::Arc;

/// Every area's trait at once: `use relais_store::prelude::*;` lets a
/// [`SharedStore`] be called whatever area a method belongs to.
pub mod prelude {
    pub use crate::access::AccessStore;
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
/// ([`HrStore`], [`AccessStore`], [`MarketplaceStore`], [`SyncStore`],
/// [`ReportStore`], [`EventStore`], [`WebhookStore`]), each with its SQL in its own file, implemented together
/// by each backend.
#[async_trait]
pub trait Store:
    HrStore
    + AccessStore
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

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;
}

/// A store shared by the server's tasks.
pub type SharedStore = Arc<dyn Store>;

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

/// Fails with [`StoreError::SchemaTooNew`] when the database holds a migration
/// this binary does not know.
fn check_schema_version(applied: Option<i64>, migrator: &sqlx::migrate::Migrator) -> Result<()> {
    let supported = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(found) if found > supported => Err(StoreError::SchemaTooNew { found, supported }),
        _ => Ok(()),
    }
}
