//! The HTTP API of relais.
//!
//! For now: the health endpoint and the JSON error shape every endpoint
//! answers with. The Lucca-compatible resources mount here.

mod error;

pub use error::ApiError;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use relais_store::SharedStore;
use serde::Serialize;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The HR base.
    pub store: SharedStore,
}

/// The API routes: `/health`, and a JSON 404 for unknown `/api/…` paths.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/api/{*rest}", get(unknown_api_path))
}

/// The answer of `/health`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok` when the database answers.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// The relais version.
    pub version: &'static str,
}

async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await.map_err(ApiError::Unavailable)?;
    Ok(Json(Health {
        status: "ok",
        database: state.store.backend(),
        version: env!("CARGO_PKG_VERSION"),
    }))
}

async fn unknown_api_path(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API endpoint at {}", uri.path()))
}
