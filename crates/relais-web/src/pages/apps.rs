//! The catalog of apps and each app's page, with its install form.

use super::home::{health_cell, home_integrations, HomeIntegration};
use super::layout::PageForm;
use super::layout::PagePath;
use super::layout::{
    base_url, column_heads, not_an_email, page, paris_time, refuse_csrf, FieldErrors, OrPage,
    PageError,
};
use crate::catalog::Catalog;
use crate::session::Viewer;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;
use relais_api::AppState;
use relais_app::AppError;
use relais_core::employee::Email;
use relais_core::marketplace::{AppManifest, Direction};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Query of the catalog.
#[derive(Deserialize)]
pub struct CatalogQuery {
    pub(crate) q: Option<String>,
}

/// `GET /integrations`: the catalog with a search box.
pub async fn catalog(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    Query(q): Query<CatalogQuery>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let installed = bases_by_app(&state, &v).await.or_page(&v)?;
    let health: HashMap<String, HomeIntegration> =
        home_integrations(&state, &catalog, v.base.id, false)
            .await
            .or_page(&v)
            .map(|list| list.into_iter().map(|h| (h.app.clone(), h)).collect())?;
    let search = q.q.unwrap_or_default();
    let apps: Vec<&AppManifest> = catalog
        .apps()
        .iter()
        .filter(|a| a.matches(&search))
        .collect();
    Ok(page(Some(&v), lang, lang.t("Intégrations"), html! {
        form method="get" action="/integrations" role="search" {
            input id="search" type="search" name="q" size="30" value=(search) placeholder=(lang.t("Rechercher une application")) aria-label=(lang.t("Rechercher une application"));
            " " button id="search-submit" type="submit" { (lang.t("Rechercher")) }
        }
        @if apps.is_empty() { p.muted id="no-result" { (lang.t("Aucune application ne correspond.")) } }
        div.cards {
            @for a in &apps {
                div.card data-app=(a.code) {
                    h3 { a href={ "/integrations/" (a.code) } { (a.name) } }
                    p.muted { (lang.t("Développée par ")) (a.publisher) }
                    p { (lang.pick(&a.description.short_fr, &a.description.short_en)) }
                    p.muted { @for (i, p) in a.products.iter().enumerate() { @if i > 0 { " · " } (p.label(lang.code())) } }
                    @if health.contains_key(&a.code) {
                        p.card-health { (lang.t("Ici : ")) (health_cell(health.get(&a.code), &a.code, lang)) }
                    }
                    @match installed.get(&a.code) {
                        Some(bases) => p.installed-on { "✓ " (lang.t("Installée sur ")) (bases.join(", ")) },
                        None => p.muted.installed-on { (lang.t("Installée sur aucune base")) },
                    }
                }
            }
        }
    }).into_response())
}

/// The names of the bases the viewer sees that each app is installed on,
/// by app code.
async fn bases_by_app(
    state: &AppState,
    v: &Viewer,
) -> Result<HashMap<String, Vec<String>>, relais_store::StoreError> {
    let mut by: HashMap<String, Vec<String>> = HashMap::new();
    for b in &v.bases {
        for i in state.store.list_installations(b.id).await? {
            by.entry(i.app).or_default().push(b.name.to_string());
        }
    }
    Ok(by)
}

async fn admins(state: &AppState) -> Vec<String> {
    state
        .store
        .list_people()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.can_admin_apps)
        .map(|p| format!("{} <{}>", p.name, p.email))
        .collect()
}

/// `GET /integrations/{code}`: what the app does and how to install it.
pub async fn app(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    PagePath(code): PagePath<String>,
) -> Result<Response, PageError> {
    app_page(&state, &v, &catalog, &code, &InstallTyped::default()).await
}

/// The install form as it came back refused: what was typed, and what is
/// wrong with each field (`contact`, `base`).
#[derive(Default)]
struct InstallTyped {
    pub(crate) contact: String,
    pub(crate) base: String,
    pub(crate) errors: FieldErrors,
}

async fn app_page(
    state: &AppState,
    v: &Viewer,
    catalog: &Catalog,
    code: &str,
    typed: &InstallTyped,
) -> Result<Response, PageError> {
    let v = v.clone();
    let state = state.clone();
    let lang = v.lang;
    let Some(a) = catalog.get(code) else {
        return Err(PageError::refused(
            &v,
            StatusCode::NOT_FOUND,
            lang.t("Cette application n'est pas au catalogue."),
        ));
    };
    let installed = state
        .store
        .list_installations(v.base.id)
        .await
        .or_page(&v)
        .map(|list| list.into_iter().find(|i| i.app == a.code))?;
    let admins = admins(&state).await;
    let names = super::grants::GrantNames::load(&state, &v).await?;
    let elsewhere = bases_by_app(&state, &v)
        .await
        .or_page(&v)
        .map(|mut by| by.remove(&a.code).unwrap_or_default())?;
    let installable: Vec<&relais_core::base::Base> = v
        .bases
        .iter()
        .filter(|b| !elsewhere.iter().any(|n| n.as_str() == b.name.as_str()))
        .collect();
    let sync = match &installed {
        Some(i) => super::integrations::section(&state, &v, i)
            .await
            .or_page(&v)
            .map(Some)?,
        None => None,
    };
    let reads = match &installed {
        Some(i) => super::reports::key_reads_section(&state, &v, i.key_id)
            .await
            .or_page(&v)
            .map(Some)?,
        None => None,
    };
    let history = match &installed {
        Some(i) => Some(
            super::activity::history_of(
                &state,
                &v,
                (relais_core::activity::TargetKind::Installation, i.id.0),
            )
            .await?,
        ),
        None => None,
    };
    Ok(page(Some(&v), lang, &a.name, html! {
        p.muted { (lang.t("Développée par ")) strong { (a.publisher) } " · " (a.integration_type) " · "
            @for (i, p) in a.products.iter().enumerate() { @if i > 0 { ", " } (p.label(lang.code())) } }
        // An installed app's sync comes first: it is what its administrators come for.
        @if let Some(sync) = sync { section id="integration" { (sync) } }
        @if let Some(reads) = reads { (reads) }
        p { (lang.pick(&a.description.long_fr, &a.description.long_en)) }
        p { strong { (lang.t("Mise en place : ")) }
            (match a.setup {
                relais_core::marketplace::Setup::Autonomous => lang.t("vous êtes autonome pour enregistrer l'URL et la clé API chez l'éditeur."),
                relais_core::marketplace::Setup::PartnerCsm => lang.t("le responsable de compte de l'éditeur active le connecteur."),
            }) }
        h2 { (lang.t("Données échangées")) }
        table id="flows" {
            (column_heads(lang, &["Domaine", "Sens", "Fréquence", "Données"]))
            tbody {
                @for f in &a.flows {
                    tr {
                        td { (f.domain.label(lang.code())) }
                        td { (match f.direction { Direction::ToPartner => format!("relais → {}", a.name), Direction::FromPartner => format!("{} → relais", a.name) }) }
                        td { (lang.pick(&f.frequency_fr, &f.frequency_en)) }
                        td { ul { @for d in lang.pick(&f.data_fr, &f.data_en) { li { (d) } } } }
                    }
                }
            }
        }
        h2 { (lang.t("Droits de la clé API créée")) }
        ul id="grants" { @for g in &a.grants { li { (super::grants::in_words(g, &names, lang)) } } }
        h2 { (lang.t("Étapes dans relais")) }
        ol { @for s in lang.pick(&a.steps.relais_fr, &a.steps.relais_en) { li { (s) } } }
        h2 { (lang.t("Étapes chez l'éditeur")) }
        ol { @for s in lang.pick(&a.steps.partner_fr, &a.steps.partner_en) { li { (s) } } }
        h2 { (lang.t("Installation")) }
        @if let Some(i) = &installed {
            p.ok id="installed" { (lang.t("Installée sur la base ")) (v.base.name) (lang.t(" le ")) (paris_time(i.installed_at, lang)) "." " " a href="/installed" { (lang.t("Voir les applications installées")) } }
        } @else if installable.is_empty() {
            p.muted id="installed-everywhere" { (lang.t("Installée sur toutes les bases : ")) (elsewhere.join(", ")) }
        } @else if v.person.can_admin_apps {
            @if !elsewhere.is_empty() {
                p.muted id="installed-elsewhere" { (lang.t("Déjà installée sur : ")) (elsewhere.join(", ")) }
            }
            form method="post" action={ "/integrations/" (a.code) "/install" } id="install-form" {
                input type="hidden" name="csrf" value=(v.csrf);
                @if !typed.errors.is_empty() {
                    (typed.errors.summary(lang, "install-refused", "Rien n'a été installé"))
                }
                label for="contact" { (lang.t("E-mail du contact technique chez l'éditeur")) }
                input id="contact" name="contact" type="email" required value=(typed.contact);
                (typed.errors.beside("contact"))
                label for="base" { (lang.t("Base")) }
                select id="base" name="base" {
                    @for b in &installable { option value=(b.name) selected[if typed.base.is_empty() { b.id == v.base.id } else { b.name.as_str() == typed.base }] { (b.name) " (" (b.kind) ")" } }
                }
                (typed.errors.beside("base"))
                p { button id="install" type="submit" { (lang.t("Installer")) } }
            }
        } @else {
            p.notice id="missing-permission" {
                (lang.t("Le bouton d'installation n'apparaît pas : il vous manque la permission « Administration des applications ». "))
                (lang.t("Demandez-la à un administrateur"))
                @if !admins.is_empty() { " (" (admins.join(", ")) ")" } "."
            }
        }
        @if let Some(history) = history { (history) }
    }).into_response())
}

/// The install form.
#[derive(Deserialize)]
pub struct InstallForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) contact: String,
    #[serde(default)]
    pub(crate) base: String,
}

/// `POST /integrations/{code}/install`: creates the key and shows it once.
pub async fn install(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Extension(catalog): Extension<Arc<Catalog>>,
    PagePath(code): PagePath<String>,
    PageForm(f): PageForm<InstallForm>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    refuse_csrf(&v, &f.csrf)?;
    super::layout::refuse_apps(&v)?;
    let Some(a) = catalog.get(&code) else {
        return Err(PageError::refused(
            &v,
            StatusCode::NOT_FOUND,
            lang.t("Cette application n'est pas au catalogue."),
        ));
    };
    // Every field checked; a refusal comes back on the app's page, beside
    // its field, with what was typed.
    let mut typed = InstallTyped {
        contact: f.contact.clone(),
        base: f.base.clone(),
        errors: FieldErrors::default(),
    };
    let base = v.bases.iter().find(|b| b.name.as_str() == f.base);
    if base.is_none() {
        typed
            .errors
            .refuse("base", lang.t("Choisissez une base dans la liste."));
    }
    let contact = Email::parse(&f.contact)
        .map_err(|_| {
            typed.errors.refuse(
                "contact",
                not_an_email(&f.contact, lang, "support@editeur.fr"),
            )
        })
        .ok();
    let (Some(base), Some(contact)) = (base, contact) else {
        let page = app_page(&state, &v, &catalog, &code, &typed).await;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let secret = match relais_app::install::install_app(
        &state.store,
        &state.sealer,
        &state.connectors,
        base.id,
        a,
        &contact,
        v.person.id,
    )
    .await
    {
        Ok((_, secret)) => secret,
        Err(AppError::AlreadyInstalled(_)) => {
            return Err(PageError::refused(
                &v,
                StatusCode::CONFLICT,
                format!(
                    "{} {} {}.",
                    a.name,
                    lang.t("est déjà installée sur la base"),
                    base.name
                ),
            ));
        }
        Err(AppError::Grants(message)) => {
            return Err(PageError::refused(
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                &message,
            ))
        }
        Err(e @ (AppError::Store(_) | AppError::NotATestBase(_))) => {
            return Err(PageError::internal(&v, e))
        }
    };
    let url = base_url(&headers);
    Ok(page(Some(&v), lang, &format!("{} {}", a.name, lang.t("est installée")), html! {
        p.ok { (lang.t("La clé API a été créée sur la base ")) strong { (base.name) } ". "
            (lang.t("Elle ne sera plus jamais affichée : copiez-la maintenant.")) }
        p { (lang.t("URL de la base")) (lang.t(" : ")) code id="base-url" { (url) } }
        p { (lang.t("Clé API")) (lang.t(" : ")) code.secret id="api-key" { (secret) } " "
            button type="button" id="copy" onclick="navigator.clipboard.writeText(document.getElementById('api-key').textContent).then(()=>{this.textContent='✓'})" { (lang.t("Copier")) } }
        h2 { (lang.t("À faire chez l'éditeur")) }
        ol { @for s in lang.pick(&a.steps.partner_fr, &a.steps.partner_en) { li { (s) } } }
        p { (lang.t("Pour les développeurs de l'éditeur : ")) a href="/api-reference" { (lang.t("Référence de l'API")) } }
        p { a href="/installed" { (lang.t("Applications installées")) } }
    }).into_response())
}
