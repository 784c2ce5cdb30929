//! The home page: the bases, their counts, and the health of each
//! installed integration.

use super::bases::{follows, refresh_section, Refreshes};
use super::layout::{column_heads_paris, following, paris_cell, OrPage, PageError};
use crate::catalog::Catalog;
use crate::session::{lang_of, Lang, Viewer};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::base::BaseKind;
use relais_core::org::TimeZone;
use std::collections::HashMap;
use std::sync::Arc;

/// `/`: the bases and what each holds, for someone signed in (others are
/// sent to the sign-in page).
pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(catalog): Extension<Arc<Catalog>>,
    Extension(refreshes): Extension<Refreshes>,
    viewer: Result<Viewer, Response>,
) -> Result<Response, PageError> {
    // Signed out, the home page is the way to sign in: a base's counts are
    // for the people of the company, not for anyone who reaches relais.
    let v = match viewer {
        Err(sign_in) => return Ok(sign_in),
        Ok(v) => v,
    };
    let lang = lang_of(&headers);
    // Taken before the counts: a copy that ends meanwhile is told on the
    // next reading, with the counts it left.
    let refreshes = refreshes.as_now();
    let today = TimeZone::PARIS.today();
    let mut bases = Vec::new();
    for base in state.store.list_bases().await.or_page(&v)? {
        let counts = state.store.base_counts(base.id, today).await.or_page(&v)?;
        bases.push((base, counts));
    }
    let mut flows = HashMap::new();
    for (base, _) in &bases {
        let rows = home_integrations(&state, &catalog, base.id, true)
            .await
            .or_page(&v)?;
        flows.insert(base.id, rows);
    }
    let body = html! {
        p.muted { (lang.t("Base RH · stockage ")) (state.store.product()) " · " a href="/integrations" { (lang.t("Intégrations")) } }
        @if bases.is_empty() {
            p { (lang.t("Aucune base. Créez-en une avec ")) code { "relais base create production" } "." }
        }
        @for (base, c) in &bases {
            h2 { (base.name) " " span class={"kind " (base.kind)} { (base.kind) } }
            table data-base=(base.name) {
                tbody {
                    tr { th { (lang.t("Sociétés")) } td.n data-count="legal_units" { (c.legal_units) } }
                    tr { th { (lang.t("Établissements")) } td.n data-count="establishments" { (c.establishments) } }
                    tr { th { (lang.t("Départements")) } td.n data-count="departments" { (c.departments) } }
                    tr { th { (lang.t("Collaborateurs actifs")) } td.n data-count="active_employees" { (c.active_employees) } }
                    tr { th { (lang.t("Futurs collaborateurs")) } td.n data-count="future_employees" { (c.future_employees) } }
                    tr { th { (lang.t("Anciens collaborateurs")) } td.n data-count="former_employees" { (c.former_employees) } }
                    tr { th { (lang.t("Comptes d'absence")) } td.n data-count="absence_accounts" { (c.absence_accounts) } }
                    tr { th { (lang.t("Absences")) } td.n data-count="leave_periods" { (c.leave_periods) } }
                    tr { th { (lang.t("Notes de frais")) } td.n data-count="expense_claims" { (c.expense_claims) } }
                    tr { th { (lang.t("Lignes de frais")) } td.n data-count="expense_items" { (c.expense_items) } }
                }
            }
            @if base.kind == BaseKind::Test { (refresh_section(&refreshes, &v, base)) }
            @let rows = flows.get(&base.id).map(Vec::as_slice).unwrap_or_default();
            h3 { (lang.t("Intégrations")) }
            @if rows.is_empty() {
                p.muted { (lang.t("Aucune application installée sur cette base.")) }
            } @else {
                table.home-integrations data-base=(base.name) {
                    (column_heads_paris(lang, &["Application", "Santé", "Dernière exécution", "Prochaine", "Enregistrements transmis aujourd'hui"], &["Dernière exécution", "Prochaine"]))
                    tbody {
                        @for r in rows {
                            tr data-app=(r.app) {
                                td { a href={ "/integrations/" (r.app) } { (r.name) } }
                                @match &r.sync {
                                    None => { td.muted colspan="4" { (lang.t("Lit la base elle-même avec sa clé")) } }
                                    Some(sync) => {
                                        td class={ "health " (sync.health.as_str()) } { (health_cell(Some(r), &r.app, lang)) }
                                        td { @match sync.last { Some(t) => (paris_cell(t, lang)), None => (lang.t("jamais")) } }
                                        td { @match sync.next { Some(t) => (paris_cell(t, lang)), None => "—" } }
                                        td.n data-today=(sync.today) { (sync.today) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let every = follows(&refreshes, &v.bases);
    Ok(following(Some(&v), lang, lang.t("Bases"), body, every).into_response())
}

/// An installed app's health as a cell: its label in the page's language,
/// the reason linking to the app's page (where it is fixed).
pub(crate) fn health_cell(h: Option<&HomeIntegration>, app: &str, lang: Lang) -> Markup {
    match h.and_then(|h| h.sync.as_ref()) {
        None => {
            html! { span.muted { (lang.t("lit la base avec sa clé")) } }
        }
        Some(sync) => html! {
            span class={ "health " (sync.health.as_str()) } data-health=(sync.health.as_str()) { (sync.health.label(lang.code())) }
            @if !sync.reason.is_empty() { " — " a href={ "/integrations/" (app) } { (relais_core::integration::HealthReason::read(&sync.reason, lang.code())) } }
        },
    }
}

/// An installed app as the home page shows it.
pub(crate) struct HomeIntegration {
    pub(crate) app: String,
    pub(crate) name: String,
    pub(crate) sync: Option<HomeSync>,
}

/// Its sync, when relais runs one.
pub(crate) struct HomeSync {
    pub(crate) health: relais_core::integration::Health,
    pub(crate) reason: String,
    pub(crate) last: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) next: Option<chrono::DateTime<chrono::Utc>>,
    /// Records written to or from the partner by runs started today (Paris).
    pub(crate) today: u64,
}

/// The apps installed on `base`, with their sync's health and next run;
/// `with_runs` (the home page) also reads their latest runs: the last one,
/// and what they moved today.
pub(crate) async fn home_integrations(
    state: &AppState,
    catalog: &Catalog,
    base: relais_core::ids::BaseId,
    with_runs: bool,
) -> Result<Vec<HomeIntegration>, relais_store::StoreError> {
    let midnight = TimeZone::PARIS
        .today()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(chrono_tz::Europe::Paris).earliest())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(relais_core::now);
    let mut out = Vec::new();
    for i in state.store.list_installations(base).await? {
        let name = catalog
            .get(&i.app)
            .map_or(i.app.clone(), |a| a.name.clone());
        let sync = match state.store.get_integration(i.id).await {
            Ok(integration) => {
                let runs = if with_runs {
                    state.store.list_runs(i.id, 100).await?
                } else {
                    Vec::new()
                };
                let today = runs
                    .iter()
                    .filter(|r| !r.dry_run && r.started_at.is_some_and(|t| t >= midnight))
                    .map(|r| r.counts.written())
                    .sum();
                let health = if integration.paused.is_some() {
                    relais_core::integration::Health::Paused
                } else {
                    integration.health
                };
                Some(HomeSync {
                    health,
                    reason: integration.health_reason.clone(),
                    last: runs.iter().find_map(|r| r.finished_at.or(r.started_at)),
                    next: integration.next_run_at,
                    today,
                })
            }
            Err(relais_store::StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        out.push(HomeIntegration {
            app: i.app,
            name,
            sync,
        });
    }
    Ok(out)
}
