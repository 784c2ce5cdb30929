//! What the sync tests share: a seeded base and relais's API serving it.

#![allow(dead_code)] // each test binary uses some of it

use relais_api::AppState;
use relais_core::base::{Base, BaseKind, BaseName};
use relais_core::org::TimeZone;
use relais_sandbox::demo::{seed, DemoOptions};
use relais_store::{DatabaseUrl, SharedStore};

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
            today: TimeZone::PARIS.today(),
        },
        &|_| {},
    )
    .await
    .unwrap();
    (store, base)
}

/// Serves relais's API over `state` on a free local port; returns its URL.
pub async fn serve_api(state: AppState) -> String {
    let app = axum::Router::new()
        .merge(relais_api::router(state.clone()))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    api
}

/// SQLite in `dir`, or a fresh PostgreSQL database when `postgres` and
/// `RELAIS_TEST_POSTGRES_URL` names a server (otherwise `None`, saying the
/// `suite`'s PostgreSQL tests were skipped and why).
pub async fn database(postgres: bool, dir: &tempfile::TempDir, suite: &str) -> Option<DatabaseUrl> {
    use std::io::Write as _;
    if !postgres {
        return Some(DatabaseUrl::Sqlite(dir.path().join("relais.db")));
    }
    match std::env::var("RELAIS_TEST_POSTGRES_URL") {
        Ok(admin) => Some(relais_store::testing::fresh_postgres(&admin).await.unwrap()),
        Err(_) => {
            let _ = writeln!(
                std::io::stderr(),
                "relais-sync: PostgreSQL {suite} tests skipped: RELAIS_TEST_POSTGRES_URL is not set"
            );
            None
        }
    }
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
