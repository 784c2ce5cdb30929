//! What the sync tests share: a seeded base on a database of its own.

#![allow(dead_code)] // each test binary uses some of it

use relais_core::base::{Base, BaseKind, BaseName};
use relais_sandbox::demo::{seed, DemoOptions};
use relais_store::{DatabaseUrl, SharedStore};
use relais_testkit::{Backend, TestDb};

/// A store at `url` with a `production` base holding a demo company.
pub async fn seeded_base(
    url: &DatabaseUrl,
    employees: u32,
    seed_value: u64,
) -> (SharedStore, Base) {
    let store = relais_store::open(url).await.unwrap();
    let base = store
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    seed(
        store.as_ref(),
        &base,
        &DemoOptions {
            employees,
            seed: seed_value,
            today: relais_testkit::today(),
        },
        &|_| {},
    )
    .await
    .unwrap();
    (store, base)
}

/// A fresh database for a test of `suite`: SQLite, or PostgreSQL when
/// `postgres` (`None` when no PostgreSQL server is configured, said once).
pub async fn database(postgres: bool, suite: &str) -> Option<TestDb> {
    let backend = if postgres {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    TestDb::new(backend, &format!("relais-sync ({suite})")).await
}

/// Runs each named `async fn(postgres: bool)` twice: on SQLite, and on
/// PostgreSQL when configured.
#[allow(unused_macros)] // each test binary uses some of it
macro_rules! both {
    ($($name:ident),*) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(false).await })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(true).await })*
        }
    };
}
