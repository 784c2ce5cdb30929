//! relais's API served over real HTTP on a free local port.

use relais_api::AppState;

/// Serves relais's API over `state` on `127.0.0.1:0`, with the limits and
/// layers `relais serve` puts around it, for as long as the test's runtime
/// lives; returns its address (`http://127.0.0.1:PORT`).
pub async fn spawn_app(state: AppState) -> String {
    crate::clock::fix();
    let app = relais_api::layers::harden(
        axum::Router::new()
            .merge(relais_api::router(state.clone()))
            .with_state(state),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free local port");
    let url = format!("http://{}", listener.local_addr().expect("a bound port"));
    tokio::spawn(relais_api::listen::serve(
        listener,
        app,
        relais_api::listen::ConnectionLimits::default(),
        std::future::pending(),
    ));
    url
}
