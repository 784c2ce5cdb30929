//! The HTTP API of relais: the Lucca-compatible endpoints, opened by scoped
//! API keys, with the JSON error shape every endpoint answers with.

pub mod audit;
pub mod auth;
pub mod counts;
pub mod deliver;
mod error;
pub mod layers;
pub mod listen;
pub mod metrics;
pub mod names;
pub mod need;
pub mod openapi;
pub mod posting;
pub mod query;
pub mod rate;
pub mod reach;
pub mod resources;
pub mod turns;
pub mod written;

pub use error::ApiError;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use relais_store::SharedStore;
use serde::Serialize;
use std::sync::Arc;

/// Requests a minute one key may make by default.
pub const DEFAULT_RATE_LIMIT: u32 = 6_000;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The HR base.
    pub store: SharedStore,
    /// Requests a minute one key may make, across every process sharing the
    /// store, and this process's reserved share of them.
    pub rate_limit: Arc<rate::RateLimiter>,
    /// `collection.count` answers reused across the pages of a walk.
    pub counts: Arc<counts::CountCache>,
    /// Department and establishment names, kept for one data version.
    pub names: Arc<names::NameCache>,
    /// Seals and opens integrations' secrets.
    pub sealer: relais_core::secret::Sealer,
    /// The address people reach relais at, when it differs from the one it
    /// listens on (behind a proxy); an `https://` one makes cookies `Secure`.
    pub public_url: Option<Arc<str>>,
    /// The connectors relais runs (handed over by the sync layer): an app
    /// with one gets an integration when it is installed.
    pub connectors: relais_core::connector::ConnectorCatalog,
    /// Tests an integration's connection to its partner (from the sync layer).
    pub connection_check: Option<Arc<dyn relais_core::integration::ConnectionCheck>>,
    /// Field mapping tools: a mapping's sources, its check, the preview (from the sync layer).
    pub mapping_tools: Option<Arc<dyn relais_core::integration::MappingTools>>,
    /// The audit trail's writer (group commit, off the requests' path).
    pub audit: audit::AuditLog,
    /// Which addresses webhook endpoints may have (public ones unless told).
    pub webhook_reach: reach::WebhookReach,
    /// How long what relais records is kept (the pages say so; the runtime
    /// deletes what is older).
    pub retention: relais_core::retention::Retention,
    /// The turns the API's writers of one record take (see [`turns`]).
    pub turns: Arc<turns::Turns>,
}

impl AppState {
    /// State over `store`, with `per_minute` requests a minute per key.
    ///
    /// Secrets are sealed under a key made for this process only; a server
    /// sets its lasting master key with [`AppState::with_sealer`].
    pub fn new(store: SharedStore, per_minute: u32) -> Self {
        let sealer =
            relais_core::secret::Sealer::from_hex(&relais_core::secret::Sealer::generate_key())
                .expect("a generated key is valid");
        Self {
            audit: audit::AuditLog::new(store.clone()),
            store,
            rate_limit: Arc::new(rate::RateLimiter::new(per_minute)),
            counts: Arc::new(counts::CountCache::default()),
            names: Arc::new(names::NameCache::default()),
            sealer,
            public_url: None,
            connectors: relais_core::connector::ConnectorCatalog::default(),
            connection_check: None,
            mapping_tools: None,
            webhook_reach: reach::WebhookReach::default(),
            retention: relais_core::retention::Retention::default(),
            turns: Arc::default(),
        }
    }

    /// The same state, keeping records as long as `retention` says.
    pub fn with_retention(mut self, retention: relais_core::retention::Retention) -> Self {
        self.retention = retention;
        self
    }

    /// The same state, webhooks reaching `reach`.
    pub fn with_webhook_reach(mut self, reach: reach::WebhookReach) -> Self {
        self.webhook_reach = reach;
        self
    }

    /// The same state, running `connectors`, whose connections and field
    /// mappings `tools` (the sync runtime) test, check and preview.
    pub fn with_connectors<T>(
        mut self,
        connectors: relais_core::connector::ConnectorCatalog,
        tools: Arc<T>,
    ) -> Self
    where
        T: relais_core::integration::ConnectionCheck
            + relais_core::integration::MappingTools
            + 'static,
    {
        self.connectors = connectors;
        self.connection_check = Some(tools.clone());
        self.mapping_tools = Some(tools);
        self
    }

    /// The same state, knowing the address people reach relais at.
    pub fn with_public_url(mut self, url: Option<&str>) -> Self {
        self.public_url = url.map(|u| Arc::from(u.trim_end_matches('/')));
        self
    }

    /// Whether people reach relais over HTTPS: its public address says so,
    /// or the proxy in front of it does (`X-Forwarded-Proto: https`).
    pub fn served_over_https(&self, headers: &axum::http::HeaderMap) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    }

    /// The same state, sealing secrets with `sealer`.
    pub fn with_sealer(mut self, sealer: relais_core::secret::Sealer) -> Self {
        self.sealer = sealer;
        self
    }
}

/// The API routes: `/health` and `/openapi.json` for anyone, the resources
/// for API keys, and a JSON 404 for unknown paths under the API's prefixes
/// (`/api/…`, and Lucca's `/directory/api/…`, `/organization/structure/api/…`,
/// `/timmi-absences/api/…`).
pub fn router(state: AppState) -> Router<AppState> {
    metrics::install();
    let protected =
        resources::routes()
            .into_router()
            .route_layer(axum::middleware::from_fn_with_state(
                state,
                auth::require_key,
            ));
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(openapi::document))
        .merge(protected)
        .route("/api/{*rest}", get(unknown_api_path))
        .route("/directory/api/{*rest}", get(unknown_api_path))
        .route("/organization/structure/api/{*rest}", get(unknown_api_path))
        .route("/timmi-absences/api/{*rest}", get(unknown_api_path))
        .layer(axum::middleware::from_fn(error::json_rejections))
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
