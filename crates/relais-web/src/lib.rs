//! The admin pages of relais, rendered on the server: sign-in, the bases and
//! their counts, the integrations catalog, installing and uninstalling apps,
//! each installed app's sync (health, settings, "Sync now", runs and their
//! reports), API keys, and the accounts that sign in. French by default, English on request; no
//! external assets.

// The pages' words, one catalogue per language: `locales/fr.toml` and
// `locales/en.toml`, keyed by the French wording (see `session::Lang::t`).
rust_i18n::i18n!("locales");

pub mod catalog;
mod pages;
pub mod security;
pub mod session;
mod sheets;

pub use catalog::Catalog;

use axum::routing::{get, post};
use axum::{Extension, Router};
use relais_api::AppState;
use std::sync::Arc;

/// The page routes; `catalog` is the marketplace they offer, `state` what
/// the security headers need to know (whether relais is reached over HTTPS).
pub fn router(catalog: Arc<Catalog>, state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home::home))
        .route(
            "/login",
            get(pages::sign_in::login_form).post(pages::sign_in::login),
        )
        .route("/logout", post(pages::sign_in::logout))
        .route("/base", get(pages::sign_in::switch_base))
        .route("/lang", get(pages::sign_in::switch_lang))
        .route("/integrations", get(pages::apps::catalog))
        .route("/integrations/{code}", get(pages::apps::app))
        .route("/integrations/{code}/install", post(pages::apps::install))
        .route("/installed", get(pages::installed::installed))
        .route(
            "/installed/{id}/uninstall",
            post(pages::installed::uninstall),
        )
        .route("/installed/{id}/sync", post(pages::integrations::sync_now))
        .route(
            "/installed/{id}/settings",
            post(pages::integrations::save_settings),
        )
        .route("/installed/{id}/mapping", post(pages::mapping::save))
        .route("/installed/{id}/mapping.json", get(pages::mapping::export))
        .route(
            "/installed/{id}/mapping/import",
            post(pages::mapping::import),
        )
        .route("/installed/{id}/preview", get(pages::mapping::preview))
        .route("/runs/{id}", get(pages::runs::run_page))
        .route("/runs/{id}/lines.csv", get(pages::runs::run_lines_csv))
        .route("/runs/{id}/progress", get(pages::runs::run_progress))
        .route("/api-reference", get(pages::reference::reference))
        .route("/people", get(pages::people::directory))
        .route("/people.csv", get(pages::people::directory_file))
        .route("/people/{id}", get(pages::people::employee))
        .route("/calendar", get(pages::people::calendar))
        .route("/reports", get(pages::reports::index))
        .route("/reports/{code}", get(pages::reports::show))
        .route(
            "/reports/{code}/{format}",
            get(pages::reports::download_report),
        )
        .route(
            "/keys",
            get(pages::keys::keys).post(pages::keys::create_key),
        )
        .route("/keys/{id}", get(pages::keys::key_audit))
        .route("/keys/{id}/revoke", post(pages::keys::revoke_key))
        .route("/keys/{id}/rotate", post(pages::keys::rotate_key))
        .route("/keys/{id}/webhooks", post(pages::keys::add_webhook))
        .route(
            "/keys/{id}/webhooks/{endpoint}/{action}",
            post(pages::keys::act_on_webhook),
        )
        .route(
            "/accounts",
            get(pages::accounts::accounts).post(pages::accounts::create_account),
        )
        .route("/accounts/{id}", get(pages::accounts::account))
        .route("/accounts/{id}/rights", post(pages::accounts::save_rights))
        .route(
            "/accounts/{id}/identity",
            post(pages::accounts::save_identity),
        )
        .route(
            "/accounts/{id}/password",
            post(pages::accounts::new_password),
        )
        .route("/accounts/{id}/disable", post(pages::accounts::disable))
        .route("/accounts/{id}/enable", post(pages::accounts::enable))
        .route("/bases/{name}/refresh", post(pages::bases::refresh))
        .route("/me", get(pages::accounts::me))
        .route("/activity", get(pages::activity::journal))
        .route("/activity.csv", get(pages::activity::journal_file))
        .route("/me/password", post(pages::accounts::change_my_password))
        .route("/me/name", post(pages::accounts::change_my_name))
        .method_not_allowed_fallback(pages::layout::form_only)
        .fallback(pages::layout::no_such_page)
        .layer(Extension(catalog))
        .layer(Extension(pages::bases::Refreshes::default()))
        .layer(axum::middleware::from_fn_with_state(
            state,
            security::headers,
        ))
}
