//! The installed apps, and uninstalling one.

use super::home::{health_cell, home_integrations, HomeIntegration};
use super::layout::{
    column_heads_paris, confirm_page, error_page, page, paris_cell, refuse_csrf, ConfirmForm,
    OrPage, PageError, PageForm, PagePath,
};
use crate::catalog::Catalog;
use crate::session::{redirect, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;
use relais_api::AppState;
use relais_core::ids::{InstallationId, KeyId, PersonId};
use relais_core::people::Installation;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

/// What `/installed` and `/keys` say after an action.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    /// The app just uninstalled (its code).
    pub(crate) uninstalled: Option<String>,
    /// The key just revoked.
    pub(crate) revoked: Option<KeyId>,
}

/// `GET /installed`: the apps installed on the base.
pub async fn installed(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    Query(done): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let done = done
        .uninstalled
        .as_deref()
        .and_then(|code| catalog.get(code))
        .map(|a| {
            html! {
                p.ok id="done" role="status" {
                    (a.name) (lang.t(" est désinstallée de la base « ")) (v.base.name)
                    (lang.t(" » : sa clé est révoquée et sa synchronisation arrêtée."))
                }
            }
        });
    let list = state
        .store
        .list_installations(v.base.id)
        .await
        .or_page(&v)?;
    let people: HashMap<PersonId, String> = state
        .store
        .list_people()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.id, p.name.to_string()))
        .collect();
    let mut rows = Vec::new();
    // Each key's last use, with this process's latest requests written.
    state.audit.flush().await;
    for i in list {
        let key = state.store.get_api_key(i.key_id).await.ok();
        rows.push((i, key));
    }
    let health: HashMap<String, HomeIntegration> =
        home_integrations(&state, &catalog, v.base.id, false)
            .await
            .or_page(&v)
            .map(|list| list.into_iter().map(|h| (h.app.clone(), h)).collect())?;
    Ok(page(Some(&v), lang, lang.t("Applications installées"), html! {
        @if let Some(done) = done { (done) }
        @if rows.is_empty() { p.muted { (lang.t("Aucune application installée sur cette base.")) " " a href="/integrations" { (lang.t("Parcourir le catalogue")) } } }
        @else {
            table id="installations" {
                (column_heads_paris(lang, &["Application", "Santé", "Installée le", "Par", "Contact technique", "Dernière utilisation de la clé", ""], &["Installée le", "Dernière utilisation de la clé"]))
                tbody {
                    @for (i, key) in &rows {
                        tr data-app=(i.app) {
                            td { a href={ "/integrations/" (i.app) } { (catalog.get(&i.app).map_or(i.app.as_str(), |a| a.name.as_str())) } }
                            td { (health_cell(health.get(&i.app), &i.app, lang)) }
                            td { (paris_cell(i.installed_at, lang)) }
                            td { (people.get(&i.installed_by).map_or("?", String::as_str)) }
                            td { (i.contact) }
                            td { @match key.as_ref().and_then(|k| k.last_used_at) { Some(t) => (paris_cell(t, lang)), None => (lang.t("jamais")) } }
                            td {
                                @if v.person.can_admin_apps {
                                    form.inline method="post" action={ "/installed/" (i.id) "/uninstall" } {
                                        input type="hidden" name="csrf" value=(v.csrf);
                                        button type="submit" class="uninstall" { (lang.t("Désinstaller")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.muted { (lang.t("Désinstaller révoque la clé API de l'application.")) }
        }
    }).into_response())
}

/// `POST /installed/{id}/uninstall`.
pub async fn uninstall(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    PagePath(id): PagePath<InstallationId>,
    PageForm(f): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.csrf)?;
    let lang = v.lang;
    super::layout::refuse_apps(&v)?;
    let not_here = || {
        error_page(
            Some(&v),
            lang,
            StatusCode::NOT_FOUND,
            lang.t("Cette installation n'existe pas sur cette base."),
        )
    };
    let installation = match state.store.list_installations(v.base.id).await {
        Ok(list) => match list.into_iter().find(|i| i.id == id) {
            Some(i) => i,
            None => return Ok(not_here()),
        },
        Err(e) => return Err(PageError::internal(&v, e)),
    };
    let name = catalog
        .get(&installation.app)
        .map_or(installation.app.clone(), |a| a.name.clone());
    if f.confirmed.is_none() {
        let mut stops = vec![format!(
            "{}{name}{}",
            lang.t("La clé API de "),
            lang.t(" est révoquée : l'application ne pourra plus lire ni écrire la base.")
        )];
        if let Ok(i) = state.store.get_integration(id).await {
            let streams = state
                .connectors
                .get(i.connector.as_str())
                .map(|c| {
                    c.declaration()
                        .streams
                        .iter()
                        .map(|s| lang.pick(s.label_fr, s.label_en))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            stops.push(format!(
                "{}{streams}{}",
                lang.t("La synchronisation s'arrête ("),
                lang.t(") : plus aucune exécution planifiée ni manuelle.")
            ));
        }
        return Ok(confirm_page(
            &v,
            &format!(
                "{}{name}{}{}{}",
                lang.t("Désinstaller "),
                lang.t(" de la base « "),
                v.base.name,
                lang.t(" » ?")
            ),
            &stops,
            &format!("/installed/{id}/uninstall"),
            ("confirm-uninstall", lang.t("Oui, désinstaller")),
            &format!("/integrations/{}", installation.app),
        ));
    }
    match relais_app::install::uninstall(&state.store, v.base.id, id, v.actor()).await {
        Ok(_) => Ok(redirect(
            &format!("/installed?uninstalled={}", installation.app),
            Vec::new(),
        )),
        Err(relais_app::AppError::Store(relais_store::StoreError::NotFound { .. })) => {
            Ok(not_here())
        }
        Err(e) => Err(PageError::internal(&v, e)),
    }
}

/// The installation `id` of the viewer's base, for someone who may administer apps.
pub(crate) async fn installation_for_admin(
    state: &AppState,
    v: &Viewer,
    id: InstallationId,
) -> Result<Installation, PageError> {
    let lang = v.lang;
    super::layout::refuse_apps(v)?;
    match state.store.list_installations(v.base.id).await {
        Ok(list) => list.into_iter().find(|i| i.id == id).ok_or_else(|| {
            PageError::refused(
                v,
                StatusCode::NOT_FOUND,
                lang.t("Cette application n'est pas installée sur cette base."),
            )
        }),
        Err(e) => Err(PageError::internal(v, e)),
    }
}
