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
