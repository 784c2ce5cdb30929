//! The admin pages of relais, rendered on the server: sign-in, the bases and
//! their counts, the integrations catalog, installing and uninstalling apps,
//! each installed app's sync (health, settings, "Sync now", runs and their
//! reports), and API keys. French by default, English on request; no
//! external assets.

// The pages' words, one catalogue per language: `locales/fr.toml` and
// `locales/en.toml`, keyed by the French wording (see `session::Lang::t`).
rust_i18n::i18n!("locales");

pub mod catalog;
mod mapping_pages;
mod pages;
mod people_pages;
mod report_pages;
pub mod security;
pub mod session;
mod sync_pages;

pub use catalog::Catalog;

use axum::routing::{get, post};
use axum::{Extension, Router};
use relais_api::AppState;
use std::sync::Arc;

/// The page routes; `catalog` is the marketplace they offer, `state` what
/// the security headers need to know (whether relais is reached over HTTPS).
pub fn router(catalog: Arc<Catalog>, state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/base", get(pages::switch_base))
        .route("/lang", get(pages::switch_lang))
        .route("/integrations", get(pages::catalog))
        .route("/integrations/{code}", get(pages::app))
        .route("/integrations/{code}/install", post(pages::install))
        .route("/installed", get(pages::installed))
        .route("/installed/{id}/uninstall", post(pages::uninstall))
        .route("/installed/{id}/sync", post(sync_pages::sync_now))
        .route("/installed/{id}/settings", post(sync_pages::save_settings))
        .route("/installed/{id}/mapping", post(mapping_pages::save))
        .route("/installed/{id}/mapping.json", get(mapping_pages::export))
        .route(
            "/installed/{id}/mapping/import",
            post(mapping_pages::import),
        )
        .route("/installed/{id}/preview", get(mapping_pages::preview))
        .route("/runs/{id}", get(sync_pages::run_page))
        .route("/runs/{id}/lines.csv", get(sync_pages::run_lines_csv))
        .route("/runs/{id}/progress", get(sync_pages::run_progress))
        .route("/people", get(people_pages::directory))
        .route("/people/{id}", get(people_pages::employee))
        .route("/calendar", get(people_pages::calendar))
        .route("/reports", get(report_pages::index))
        .route("/reports/{code}", get(report_pages::show))
        .route("/reports/{code}/csv", get(report_pages::csv))
        .route("/reports/{code}/xlsx", get(report_pages::xlsx))
        .route("/keys", get(pages::keys).post(pages::create_key))
        .route("/keys/{id}", get(pages::key_audit))
        .route("/keys/{id}/revoke", post(pages::revoke_key))
        .route("/keys/{id}/rotate", post(pages::rotate_key))
        .layer(Extension(catalog))
        .layer(axum::middleware::from_fn_with_state(
            state,
            security::headers,
        ))
}
