//! The pages and their forms.

use crate::catalog::Catalog;
use crate::session::DUMMY_HASH;
use crate::session::{
    cookie, lang_of, open_session, redirect, set_cookie, verify_password, Lang, Viewer,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use relais_api::auth::{create_key as make_key, random_hex};
use relais_api::install::InstallError;
use relais_api::AppState;
use relais_core::access::{ApiKey, KeyUsage, Permission, Role};
use relais_core::base::BaseKind;
use relais_core::employee::Email;
use relais_core::marketplace::{AppManifest, Direction};
use relais_core::org::{Name, TimeZone};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7fb}\
header{background:#1d2433;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;display:flex;gap:.8rem;align-items:center}\
main{max-width:64rem;margin:1.5rem auto;padding:0 1.5rem}\
table{border-collapse:collapse;margin:1rem 0 2rem;background:#fff}th,td{padding:.35rem .9rem;border-bottom:1px solid #dde;text-align:left;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.kind{font-size:.8rem;padding:.1rem .5rem;border-radius:1rem;background:#e7ecff}\
.kind.test{background:#fff0d6}.health.healthy{color:#1d7a35;font-weight:600}.health.failing{color:#b42318;font-weight:600}.health.warnings,.health.paused,.health.pending{color:#8a5a00;font-weight:600}td.health{color:inherit;font-weight:normal}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:1rem}\
.card{background:#fff;border:1px solid #dde;border-radius:.5rem;padding:1rem}.card h3{margin:.2rem 0}.card h2{margin:.2rem 0 .4rem;font-size:1.2rem}\
.card table{width:100%;margin:0;table-layout:fixed}.card th[scope=row]{width:42%}.card td,.card th{overflow-wrap:anywhere}\
.muted{color:#667}form small.muted{display:block;margin:.15rem 0 .5rem}.notice{background:#fff7e0;border:1px solid #f0d48a;padding:.8rem 1rem;border-radius:.4rem}\
.error{background:#fde8e8;border:1px solid #f5a3a3;padding:.8rem 1rem;border-radius:.4rem}\
.ok{background:#e6f6ea;border:1px solid #9bd3a8;padding:.8rem 1rem;border-radius:.4rem}\
code.secret{font-size:1.05rem;background:#1d2433;color:#9fe;padding:.3rem .6rem;border-radius:.3rem;word-break:break-all}\
form.inline{display:inline}button,input[type=submit]{cursor:pointer}label{display:block;margin:.5rem 0 .2rem}\
select,input{max-width:100%}:focus-visible{outline:3px solid #2b59c3;outline-offset:2px}fieldset{min-width:0}code,li{overflow-wrap:anywhere}.scroll{overflow-x:auto;max-width:100%}\
#mapping-table{width:100%;table-layout:fixed}#mapping-table label{display:inline}#mapping-table select{width:100%}#mapping-table input{width:100%;box-sizing:border-box;margin:.1rem 0}\
.field-error{margin:.3rem 0;padding:.3rem .6rem}form.filters{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:flex-end}\
form.filters .field label{margin-top:0}ul.fields{margin:0;padding-left:1rem}\
body.test-base header{background:#8a4b08}#test-banner{background:#ffe9c7;border-bottom:2px solid #e0a040;padding:.5rem 1.5rem;font-weight:600}\
@media (max-width:48rem){main{padding:0 .6rem}table{display:block;overflow-x:auto;max-width:100%}#mapping-table{display:table}}";

/// The page frame: navigation, base switcher (which changes base only when
/// asked, by its button), language, sign-out; on a test base, a banner and
/// another colour on every page.
pub(crate) fn page(v: Option<&Viewer>, lang: Lang, title: &str, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · relais" }
                style { (PreEscaped(STYLE)) }
            }
            body class=[v.filter(|v| v.base.kind == BaseKind::Test).map(|_| "test-base")] {
                header {
                    strong { a href="/" { "relais" } }
                    @if let Some(v) = v {
                        a href="/integrations" { (lang.t("Intégrations")) }
                        a href="/installed" { (lang.t("Applications installées")) }
                        a href="/keys" { (lang.t("Clés API")) }
                        a href="/people" { (lang.t("Collaborateurs")) }
                        a href="/calendar" { (lang.t("Absences")) }
                        a href="/reports" { (lang.t("Rapports")) }
                        form.inline id="base-switcher" method="get" action="/base" {
                            label.inline for="base-select" style="display:inline" { (lang.t("Base")) " " }
                            select id="base-select" name="name" {
                                @for b in &v.bases {
                                    option value=(b.name) selected[b.id == v.base.id] { (b.name) " (" (b.kind) ")" }
                                }
                            }
                            " " button id="base-switch" type="submit" { (lang.t("Changer de base")) }
                        }
                    }
                    span.who {
                        a href={ "/lang?to=" (lang.other().code()) } { (lang.t("English")) }
                        @if let Some(v) = v {
                            span { (v.person.name) }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(v.csrf);
                                button id="sign-out" type="submit" { (lang.t("Se déconnecter")) }
                            }
                        }
                    }
                }
                @if let Some(v) = v.filter(|v| v.base.kind == BaseKind::Test) {
                    div id="test-banner" role="status" {
                        (lang.t("Base de test « ")) (v.base.name)
                        (lang.t(" » : ce qui se fait ici ne touche pas la production."))
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    };
    Html(markup.into_string())
}

pub(crate) fn error_page(
    v: Option<&Viewer>,
    lang: Lang,
    status: StatusCode,
    message: &str,
) -> Response {
    (
        status,
        page(v, lang, lang.t("Erreur"), html! { p.error { (message) } }),
    )
        .into_response()
}

pub(crate) fn internal(v: &Viewer, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "page failed");
    error_page(
        Some(v),
        v.lang,
        StatusCode::INTERNAL_SERVER_ERROR,
        v.lang
            .t("relais n'a pas pu afficher cette page ; la cause est dans son journal."),
    )
}

/// Every POST form carries the session's CSRF token: the refusal when it does not.
pub(crate) fn refuse_csrf(v: &Viewer, sent: &str) -> Option<Response> {
    if !sent.is_empty() && sent == v.csrf {
        None
    } else {
        Some(error_page(Some(v), v.lang, StatusCode::FORBIDDEN, v.lang.t("Ce formulaire a expiré ou ne vient pas de relais : rechargez la page et recommencez.")))
    }
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// `/`: the bases and what each holds, for someone signed in (others are
/// sent to the sign-in page).
pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(catalog): Extension<Arc<Catalog>>,
    viewer: Result<Viewer, Response>,
) -> Response {
    // Signed out, the home page is the way to sign in: a base's counts are
    // for the people of the company, not for anyone who reaches relais.
    let v = match viewer {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let lang = lang_of(&headers);
    let today = TimeZone::PARIS.today();
    let mut bases = Vec::new();
    match state.store.list_bases().await {
        Ok(list) => {
            for base in list {
                match state.store.base_counts(base.id, today).await {
                    Ok(c) => bases.push((base, c)),
                    Err(e) => {
                        return error_page(
                            None,
                            lang,
                            StatusCode::INTERNAL_SERVER_ERROR,
                            &e.to_string(),
                        )
                    }
                }
            }
        }
        Err(e) => {
            return error_page(
                None,
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            )
        }
    }
    let mut flows = HashMap::new();
    for (base, _) in &bases {
        match home_integrations(&state, &catalog, base.id, true).await {
            Ok(rows) => {
                flows.insert(base.id, rows);
            }
            Err(e) => return internal(&v, e),
        }
    }
    let body = html! {
        p.muted { (lang.t("Base RH · stockage ")) (state.store.backend()) " · " a href="/integrations" { (lang.t("Intégrations")) } }
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
            @let rows = flows.get(&base.id).map(Vec::as_slice).unwrap_or_default();
            h3 { (lang.t("Intégrations")) }
            @if rows.is_empty() {
                p.muted { (lang.t("Aucune application installée sur cette base.")) }
            } @else {
                table.home-integrations data-base=(base.name) {
                    thead { tr { th { "Application" } th { (lang.t("Santé")) } th { (lang.t("Dernière exécution")) } th { (lang.t("Prochaine")) } th { (lang.t("Enregistrements transmis aujourd'hui")) } } }
                    tbody {
                        @for r in rows {
                            tr data-app=(r.app) {
                                td { a href={ "/integrations/" (r.app) } { (r.name) } }
                                @match &r.sync {
                                    None => { td.muted colspan="4" { (lang.t("Lit la base elle-même avec sa clé")) } }
                                    Some(sync) => {
                                        td class={ "health " (sync.health.as_str()) } { (health_cell(Some(r), &r.app, lang)) }
                                        td { (sync.last.map_or_else(|| lang.t("jamais").to_owned(), paris_time)) }
                                        td { (sync.next.map_or_else(|| "—".to_owned(), paris_time)) }
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
    page(Some(&v), lang, lang.t("Bases"), body).into_response()
}

/// Query of the sign-in page.
#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

fn login_page(
    lang: Lang,
    next: &str,
    message: Option<&str>,
    token: &str,
    email: &str,
) -> Html<String> {
    page(
        None,
        lang,
        lang.t("Connexion"),
        html! {
            @if let Some(m) = message { p.error id="login-error" { (m) } }
            form method="post" action="/login" id="login-form" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label for="email" { (lang.t("E-mail")) }
                input id="email" name="email" type="email" required autocomplete="username" value=(email);
                label for="password" { (lang.t("Mot de passe")) }
                input id="password" name="password" type="password" required autocomplete="current-password";
                p { button id="login-submit" type="submit" { (lang.t("Se connecter")) } }
            }
        },
    )
}

/// `GET /login`.
pub async fn login_form(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = lang_of(&headers);
    let token = random_hex(16);
    let message = q
        .expired
        .as_ref()
        .map(|_| lang.t("Votre session a expiré : reconnectez-vous."));
    let mut r = login_page(
        lang,
        q.next.as_deref().unwrap_or("/integrations"),
        message,
        &token,
        "",
    )
    .into_response();
    r.headers_mut().append(
        axum::http::header::SET_COOKIE,
        set_cookie("relais_login", &token, 3600),
    );
    r
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::session::ClientAddress(address): crate::session::ClientAddress,
    Form(f): Form<LoginForm>,
) -> Response {
    use crate::session::{record_sign_in, sign_in_door, Door};
    use relais_store::SignInOutcome;
    let lang = lang_of(&headers);
    let fresh = random_hex(16);
    let again = |status: StatusCode, message: &str| {
        let mut r = (
            status,
            login_page(lang, &f.next, Some(message), &fresh, f.email.trim()),
        )
            .into_response();
        r.headers_mut().append(
            axum::http::header::SET_COOKIE,
            set_cookie("relais_login", &fresh, 3600),
        );
        r
    };
    if f.csrf.is_empty() || cookie(&headers, "relais_login").as_deref() != Some(f.csrf.as_str()) {
        return again(
            StatusCode::FORBIDDEN,
            lang.t("Ce formulaire a expiré : recommencez."),
        );
    }
    let account = f.email.trim().to_lowercase();
    let tries_left = match sign_in_door(&state, &account, &address).await {
        Ok(Door::Locked { until }) => {
            record_sign_in(&state, &account, &address, SignInOutcome::Locked).await;
            let at = until
                .with_timezone(&chrono_tz::Europe::Paris)
                .format("%H:%M")
                .to_string();
            let message = lang.tf(
                "Trop de tentatives infructueuses : la connexion est bloquée jusqu'à %{at}. Réessayez ensuite, ou demandez à un administrateur de vérifier votre compte.",
                &[("at", &at)],
            );
            return again(StatusCode::TOO_MANY_REQUESTS, &message);
        }
        Ok(Door::Open { wait, tries_left }) => {
            tokio::time::sleep(wait).await;
            tries_left
        }
        Err(e) => {
            return error_page(
                None,
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            )
        }
    };
    let found = match state.store.person_by_email(f.email.trim()).await {
        Ok(found) => found,
        Err(e) => {
            return error_page(
                None,
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            )
        }
    };
    // An unknown e-mail costs the same hashing as a wrong password.
    let known = match &found {
        Some((_, hash)) => verify_password(&f.password, hash),
        None => {
            let _ = verify_password(&f.password, DUMMY_HASH);
            false
        }
    };
    let Some((person, _)) = found.filter(|_| known) else {
        record_sign_in(&state, &account, &address, SignInOutcome::Failed).await;
        let left = tries_left.saturating_sub(1);
        let minutes = crate::session::LOCK_MINUTES;
        let message = match left {
            0 => lang.tf(
                "E-mail ou mot de passe incorrect. Trop d'échecs : la connexion à ce compte est bloquée pendant %{minutes} minutes.",
                &[("minutes", &minutes)],
            ),
            n if n <= 3 => lang.tf(
                "E-mail ou mot de passe incorrect. Encore %{n} essai(s) avant un blocage de %{minutes} minutes.",
                &[("n", &n), ("minutes", &minutes)],
            ),
            _ => lang.t("E-mail ou mot de passe incorrect.").to_owned(),
        };
        return again(StatusCode::UNAUTHORIZED, &message);
    };
    record_sign_in(&state, &account, &address, SignInOutcome::Succeeded).await;
    match open_session(&state, &person).await {
        Ok(c) => {
            let next = if local_path(&f.next) {
                f.next.as_str()
            } else {
                "/integrations"
            };
            redirect(next, vec![c, set_cookie("relais_login", "", 0)])
        }
        Err(e) => error_page(
            None,
            lang,
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        ),
    }
}

/// A form carrying only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A destructive action's form: asked once, done once confirmed.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    /// Set by the confirmation page's button.
    #[serde(default)]
    confirmed: Option<String>,
}

/// The page asking to confirm a destructive action: what it is, what will
/// stop working, the button that does it and the way back.
fn confirm_page(
    v: &Viewer,
    title: &str,
    stops: &[String],
    action: &str,
    button: (&str, &str),
    back: &str,
) -> Response {
    let lang = v.lang;
    let body = html! {
        p.notice id="confirm-what" { (lang.t("Ce qui cessera de fonctionner :")) }
        ul id="confirm-stops" { @for s in stops { li { (s) } } }
        form method="post" action=(action) id="confirm-form" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="confirmed" value="1";
            button id=(button.0) type="submit" { (button.1) }
            " "
            a id="confirm-cancel" href=(back) { (lang.t("Annuler")) }
        }
    };
    page(Some(v), lang, title, body).into_response()
}

/// `POST /logout`.
pub async fn logout(State(state): State<AppState>, v: Viewer, Form(f): Form<CsrfForm>) -> Response {
    if let Some(r) = refuse_csrf(&v, &f.csrf) {
        return r;
    }
    if let Err(e) = state.store.delete_session(&v.token_hash).await {
        return internal(&v, e);
    }
    redirect(
        "/login",
        vec![set_cookie(crate::session::SESSION_COOKIE, "", 0)],
    )
}

/// Query of the switchers.
#[derive(Deserialize)]
pub struct SwitchQuery {
    name: Option<String>,
    to: Option<String>,
}

/// `GET /base?name=test`: shows another base.
pub async fn switch_base(v: Viewer, headers: HeaderMap, Query(q): Query<SwitchQuery>) -> Response {
    let Some(base) = v
        .bases
        .iter()
        .find(|b| Some(b.name.as_str()) == q.name.as_deref())
    else {
        return error_page(
            Some(&v),
            v.lang,
            StatusCode::NOT_FOUND,
            v.lang.t("Cette base n'existe pas."),
        );
    };
    let back = back_path(&headers, "/integrations");
    redirect(
        &back,
        vec![set_cookie(
            "relais_base",
            base.name.as_str(),
            365 * 24 * 3600,
        )],
    )
}

/// Whether `path` stays on this site (no `//host` or `/\host` that browsers would follow elsewhere).
fn local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.contains(['\r', '\n'])
}

/// The path of the page that led here (from `Referer`), to go back to it.
fn back_path(headers: &HeaderMap, default: &str) -> String {
    headers
        .get(axum::http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        .filter(|p| local_path(p))
        .unwrap_or_else(|| default.to_owned())
}

/// `GET /lang?to=en`.
pub async fn switch_lang(headers: HeaderMap, Query(q): Query<SwitchQuery>) -> Response {
    let to = if q.to.as_deref() == Some("en") {
        "en"
    } else {
        "fr"
    };
    let back = back_path(&headers, "/");
    redirect(&back, vec![set_cookie("relais_lang", to, 365 * 24 * 3600)])
}

/// Query of the catalog.
#[derive(Deserialize)]
pub struct CatalogQuery {
    q: Option<String>,
}

/// `GET /integrations`: the catalog with a search box.
pub async fn catalog(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    Query(q): Query<CatalogQuery>,
) -> Response {
    let lang = v.lang;
    let installed = match bases_by_app(&state, &v).await {
        Ok(by) => by,
        Err(e) => return internal(&v, e),
    };
    let health: HashMap<String, HomeIntegration> =
        match home_integrations(&state, &catalog, v.base.id, false).await {
            Ok(list) => list.into_iter().map(|h| (h.app.clone(), h)).collect(),
            Err(e) => return internal(&v, e),
        };
    let search = q.q.unwrap_or_default();
    let apps: Vec<&AppManifest> = catalog
        .apps()
        .iter()
        .filter(|a| a.matches(&search))
        .collect();
    page(Some(&v), lang, lang.t("Intégrations"), html! {
        form method="get" action="/integrations" role="search" {
            input id="search" type="search" name="q" value=(search) placeholder=(lang.t("Rechercher une application"));
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
    }).into_response()
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

fn grant_label(code: &str, lang: Lang) -> String {
    let head = code.split([':', '=']).next().unwrap_or(code);
    let label = match head {
        "personnel-file" => Permission::PersonnelFile.label(),
        "future-employees" => Permission::FutureEmployees.label(),
        "former-employees" => Permission::FormerEmployees.label(),
        "write-employees" => Permission::WriteEmployees.label(),
        "absences" => Permission::Absences.label(),
        "absence-requests" => Permission::AbsenceRequests.label(),
        "expenses" => Permission::Expenses.label(),
        "organisation" => Permission::Organisation.label(),
        "all" => lang.t("Tous les droits"),
        "establishments" => lang.t("Limitée aux établissements"),
        _ => head,
    };
    label.to_owned()
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
    Path(code): Path<String>,
) -> Response {
    app_page(&state, &v, &catalog, &code, &InstallTyped::default()).await
}

/// A form's refusals, each shown beside the field it is about.
#[derive(Default)]
pub(crate) struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    /// Refuses `field` with `message`.
    pub(crate) fn refuse(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    /// Whether nothing was refused.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every refusal, as (field, message).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }

    /// The refusals of `field`, to show beside it.
    pub(crate) fn beside(&self, field: &str) -> Markup {
        html! {
            @for (_, e) in self.0.iter().filter(|(f, _)| f == field) {
                p.error.field-error data-field=(field) { (e) }
            }
        }
    }

    /// Above the form: nothing was done (`nothing`, e.g. « Rien n'a été
    /// enregistré »), and how many problems are shown beside the fields.
    pub(crate) fn summary(&self, lang: Lang, id: &str, nothing: &'static str) -> Markup {
        html! {
            p.error id=(id) {
                (lang.t(nothing)) " : " (self.0.len())
                (lang.t(" problème(s), indiqué(s) à côté des champs."))
            }
        }
    }
}

/// « `text` » is not an e-mail address, as people read it (`example` is
/// one that would do).
pub(crate) fn not_an_email(text: &str, lang: Lang, example: &str) -> String {
    format!(
        "{}{text}{}{example}).",
        lang.t("« "),
        lang.t(" » n'est pas une adresse e-mail (ex. ")
    )
}

/// The install form as it came back refused: what was typed, and what is
/// wrong with each field (`contact`, `base`).
#[derive(Default)]
struct InstallTyped {
    contact: String,
    base: String,
    errors: FieldErrors,
}

async fn app_page(
    state: &AppState,
    v: &Viewer,
    catalog: &Catalog,
    code: &str,
    typed: &InstallTyped,
) -> Response {
    let v = v.clone();
    let state = state.clone();
    let lang = v.lang;
    let Some(a) = catalog.get(code) else {
        return error_page(
            Some(&v),
            lang,
            StatusCode::NOT_FOUND,
            lang.t("Cette application n'est pas au catalogue."),
        );
    };
    let installed = match state.store.list_installations(v.base.id).await {
        Ok(list) => list.into_iter().find(|i| i.app == a.code),
        Err(e) => return internal(&v, e),
    };
    let admins = admins(&state).await;
    let elsewhere = match bases_by_app(&state, &v).await {
        Ok(mut by) => by.remove(&a.code).unwrap_or_default(),
        Err(e) => return internal(&v, e),
    };
    let installable: Vec<&relais_core::base::Base> = v
        .bases
        .iter()
        .filter(|b| !elsewhere.iter().any(|n| n.as_str() == b.name.as_str()))
        .collect();
    let sync = match &installed {
        Some(i) => match crate::sync_pages::section(&state, &v, i).await {
            Ok(m) => Some(m),
            Err(e) => return internal(&v, e),
        },
        None => None,
    };
    let reads = match &installed {
        Some(i) => match crate::report_pages::key_reads_section(&state, &v, i.key_id).await {
            Ok(m) => Some(m),
            Err(e) => return internal(&v, e),
        },
        None => None,
    };
    page(Some(&v), lang, &a.name, html! {
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
            thead { tr { th { (lang.t("Domaine")) } th { (lang.t("Sens")) } th { (lang.t("Fréquence")) } th { (lang.t("Données")) } } }
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
        ul id="grants" { @for g in &a.grants { li { (grant_label(g, lang)) " " code { (g) } } } }
        h2 { (lang.t("Étapes dans relais")) }
        ol { @for s in lang.pick(&a.steps.relais_fr, &a.steps.relais_en) { li { (s) } } }
        h2 { (lang.t("Étapes chez l'éditeur")) }
        ol { @for s in lang.pick(&a.steps.partner_fr, &a.steps.partner_en) { li { (s) } } }
        h2 { (lang.t("Installation")) }
        @if let Some(i) = &installed {
            p.ok id="installed" { (lang.t("Installée sur la base ")) (v.base.name) (lang.t(" le ")) (paris_time(i.installed_at)) "." " " a href="/installed" { (lang.t("Voir les applications installées")) } }
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
    }).into_response()
}

/// The install form.
#[derive(Deserialize)]
pub struct InstallForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    base: String,
}

/// `POST /integrations/{code}/install`: creates the key and shows it once.
pub async fn install(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Extension(catalog): Extension<Arc<Catalog>>,
    Path(code): Path<String>,
    Form(f): Form<InstallForm>,
) -> Response {
    let lang = v.lang;
    if let Some(r) = refuse_csrf(&v, &f.csrf) {
        return r;
    }
    if !v.person.can_admin_apps {
        return error_page(
            Some(&v),
            lang,
            StatusCode::FORBIDDEN,
            lang.t("Il vous manque la permission « Administration des applications »."),
        );
    }
    let Some(a) = catalog.get(&code) else {
        return error_page(
            Some(&v),
            lang,
            StatusCode::NOT_FOUND,
            lang.t("Cette application n'est pas au catalogue."),
        );
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
        return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    };
    let secret = match relais_api::install::install_app(
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
        Err(InstallError::AlreadyInstalled(_)) => {
            return error_page(
                Some(&v),
                lang,
                StatusCode::CONFLICT,
                &format!(
                    "{} {} {}.",
                    a.name,
                    lang.t("est déjà installée sur la base"),
                    base.name
                ),
            );
        }
        Err(InstallError::Grants(message)) => {
            return error_page(Some(&v), lang, StatusCode::UNPROCESSABLE_ENTITY, &message)
        }
        Err(InstallError::Api(e)) => return internal(&v, e),
    };
    let url = base_url(&headers);
    page(Some(&v), lang, &format!("{} {}", a.name, lang.t("est installée")), html! {
        p.ok { (lang.t("La clé API a été créée sur la base ")) strong { (base.name) } ". "
            (lang.t("Elle ne sera plus jamais affichée : copiez-la maintenant.")) }
        p { (lang.t("URL de la base")) " : " code id="base-url" { (url) } }
        p { (lang.t("Clé API")) " : " code.secret id="api-key" { (secret) } " "
            button type="button" id="copy" onclick="navigator.clipboard.writeText(document.getElementById('api-key').textContent).then(()=>{this.textContent='✓'})" { (lang.t("Copier")) } }
        h2 { (lang.t("À faire chez l'éditeur")) }
        ol { @for s in lang.pick(&a.steps.partner_fr, &a.steps.partner_en) { li { (s) } } }
        p { a href="/installed" { (lang.t("Applications installées")) } }
    }).into_response()
}

/// What `/installed` and `/keys` say after an action.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    /// The app just uninstalled (its code).
    uninstalled: Option<String>,
    /// The key just revoked.
    revoked: Option<i64>,
}

/// `GET /installed`: the apps installed on the base.
pub async fn installed(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    Query(done): Query<DoneQuery>,
) -> Response {
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
    let list = match state.store.list_installations(v.base.id).await {
        Ok(l) => l,
        Err(e) => return internal(&v, e),
    };
    let people: HashMap<i64, String> = state
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
        match home_integrations(&state, &catalog, v.base.id, false).await {
            Ok(list) => list.into_iter().map(|h| (h.app.clone(), h)).collect(),
            Err(e) => return internal(&v, e),
        };
    page(Some(&v), lang, lang.t("Applications installées"), html! {
        @if let Some(done) = done { (done) }
        @if rows.is_empty() { p.muted { (lang.t("Aucune application installée sur cette base.")) " " a href="/integrations" { (lang.t("Parcourir le catalogue")) } } }
        @else {
            table id="installations" {
                thead { tr { th { "Application" } th { (lang.t("Santé")) } th { (lang.t("Installée le")) } th { (lang.t("Par")) } th { (lang.t("Contact technique")) } th { (lang.t("Dernière utilisation de la clé")) } th {} } }
                tbody {
                    @for (i, key) in &rows {
                        tr data-app=(i.app) {
                            td { a href={ "/integrations/" (i.app) } { (catalog.get(&i.app).map_or(i.app.as_str(), |a| a.name.as_str())) } }
                            td { (health_cell(health.get(&i.app), &i.app, lang)) }
                            td { (paris_time(i.installed_at)) }
                            td { (people.get(&i.installed_by).map_or("?", String::as_str)) }
                            td { (i.contact) }
                            td { (key.as_ref().and_then(|k| k.last_used_at).map_or_else(|| lang.t("jamais").to_owned(), paris_time)) }
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
    }).into_response()
}

/// `POST /installed/{id}/uninstall`.
pub async fn uninstall(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    Path(id): Path<i64>,
    Form(f): Form<ConfirmForm>,
) -> Response {
    if let Some(r) = refuse_csrf(&v, &f.csrf) {
        return r;
    }
    let lang = v.lang;
    if !v.person.can_admin_apps {
        return error_page(
            Some(&v),
            lang,
            StatusCode::FORBIDDEN,
            lang.t("Il vous manque la permission « Administration des applications »."),
        );
    }
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
            None => return not_here(),
        },
        Err(e) => return internal(&v, e),
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
        return confirm_page(
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
        );
    }
    match state.store.uninstall(v.base.id, id).await {
        Ok(_) => redirect(
            &format!("/installed?uninstalled={}", installation.app),
            Vec::new(),
        ),
        Err(relais_store::StoreError::NotFound { .. }) => not_here(),
        Err(e) => internal(&v, e),
    }
}

/// The refusal for people without « Gestion des rôles et des clés API ».
fn refuse_keys(v: &Viewer) -> Option<Response> {
    if v.person.can_manage_keys {
        None
    } else {
        Some(error_page(
            Some(v),
            v.lang,
            StatusCode::FORBIDDEN,
            v.lang
                .t("Il vous manque la permission « Gestion des rôles et des clés API »."),
        ))
    }
}

const GRANT_CHOICES: &[&str] = &[
    "personnel-file",
    "future-employees",
    "former-employees",
    "write-employees",
    "absences",
    "absence-requests",
    "expenses",
    "organisation",
    "all",
];

/// The key form as it came back refused: what was typed, and what is
/// wrong with each field (`name`, `contact`, `usage`, `grants`).
#[derive(Default)]
struct KeyFormTyped {
    name: String,
    contact: String,
    usage: String,
    grants: Vec<String>,
    extra: String,
    errors: FieldErrors,
}

async fn keys_page(state: &AppState, v: &Viewer, message: Option<Markup>) -> Response {
    keys_page_typed(state, v, message, &KeyFormTyped::default()).await
}

async fn keys_page_typed(
    state: &AppState,
    v: &Viewer,
    message: Option<Markup>,
    typed: &KeyFormTyped,
) -> Response {
    let lang = v.lang;
    // Each key's last use, with this process's latest requests written.
    state.audit.flush().await;
    let keys = match state.store.list_api_keys(v.base.id).await {
        Ok(k) => k,
        Err(e) => return internal(v, e),
    };
    page(Some(v), lang, lang.t("Clés API"), html! {
        @if let Some(m) = message { (m) }
        table id="keys" {
            thead { tr { th { "#" } th { (lang.t("Nom")) } th { (lang.t("Contact")) } th { (lang.t("Usage")) } th { (lang.t("Droits")) } th { (lang.t("Dernière utilisation")) } th {} } }
            tbody {
                @for k in &keys {
                    tr data-key=(k.id) {
                        td { a href={ "/keys/" (k.id) } { (k.id) } }
                        td { (k.name) }
                        td { (k.contact) }
                        td { (k.usage.as_str()) }
                        td { @for c in k.role.codes() { code { (c) } " " } }
                        td { (k.last_used_at.map_or_else(|| lang.t("jamais").to_owned(), paris_time)) }
                        td {
                            @if k.revoked_at.is_some() { span.muted { (lang.t("révoquée")) } }
                            @else {
                                form.inline method="post" action={ "/keys/" (k.id) "/rotate" } {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button type="submit" class="rotate" { (lang.t("Renouveler")) }
                                }
                                " "
                                form.inline method="post" action={ "/keys/" (k.id) "/revoke" } {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button type="submit" class="revoke" { (lang.t("Révoquer")) }
                                }
                                @if let Some(until) = k.previous_valid_until.filter(|u| *u > relais_core::now()) {
                                    br;
                                    small.muted { (lang.t("ancien secret valable jusqu'au ")) (paris_time(until)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("Créer une clé")) }
        form method="post" action="/keys" id="create-key" {
            input type="hidden" name="csrf" value=(v.csrf);
            label for="key-name" { (lang.t("Nom")) } input id="key-name" name="name" required value=(typed.name);
            (typed.errors.beside("name"))
            label for="key-contact" { (lang.t("E-mail du contact technique")) } input id="key-contact" name="contact" type="email" required value=(typed.contact);
            (typed.errors.beside("contact"))
            label for="key-usage" { (lang.t("Usage")) }
            select id="key-usage" name="usage" {
                option value="internal" selected[typed.usage == "internal"] { (lang.t("interne")) }
                option value="third-party" selected[typed.usage == "third-party"] { (lang.t("éditeur tiers")) }
            }
            (typed.errors.beside("usage"))
            fieldset { legend { (lang.t("Droits")) }
                @for g in GRANT_CHOICES { label { input type="checkbox" name="grant" value=(g) checked[typed.grants.iter().any(|t| t == g)]; " " (grant_label(g, lang)) " " code { (g) } } }
                label for="key-extra" { (lang.t("Droits détaillés (un par ligne, ex. personnel-file:fields=firstName+mail)")) }
                textarea id="key-extra" name="extra" rows="3" cols="60" { (typed.extra) }
                (typed.errors.beside("grants"))
            }
            p { button type="submit" id="create-key-submit" { (lang.t("Créer la clé")) } }
        }
    }).into_response()
}

/// `GET /keys`.
pub async fn keys(
    State(state): State<AppState>,
    v: Viewer,
    Query(done): Query<DoneQuery>,
) -> Response {
    if let Some(r) = refuse_keys(&v) {
        return r;
    }
    let lang = v.lang;
    let message = match done.revoked {
        Some(id) => match state.store.get_api_key(id).await {
            Ok(k) if k.base_id == v.base.id && k.revoked_at.is_some() => Some(html! {
                p.ok id="done" role="status" {
                    (lang.t("La clé « ")) (k.name)
                    (lang.t(" » est révoquée."))
                }
            }),
            _ => None,
        },
        None => None,
    };
    keys_page(&state, &v, message).await
}

/// `POST /keys`: a custom key, from checked grants and detailed ones.
pub async fn create_key(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Some(r) = refuse_csrf(&v, &get("csrf")) {
        return r;
    }
    if let Some(r) = refuse_keys(&v) {
        return r;
    }
    let lang = v.lang;
    let mut grants: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n == "grant")
        .map(|(_, v)| v.clone())
        .collect();
    grants.extend(
        get("extra")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned),
    );
    // Every field checked, every mistake said beside its field at once.
    let mut typed = KeyFormTyped {
        name: get("name"),
        contact: get("contact"),
        usage: get("usage"),
        grants: fields
            .iter()
            .filter(|(n, _)| n == "grant")
            .map(|(_, v)| v.clone())
            .collect(),
        extra: get("extra"),
        errors: FieldErrors::default(),
    };
    let name = Name::parse("name", &typed.name)
        .map_err(|_| {
            typed.errors.refuse(
                "name",
                lang.t("Donnez un nom à la clé (ce à quoi elle sert)."),
            )
        })
        .ok();
    let contact = Email::parse(&typed.contact)
        .map_err(|_| {
            let message = not_an_email(&typed.contact, lang, "it@exemple.fr");
            typed.errors.refuse("contact", message)
        })
        .ok();
    let usage = typed
        .usage
        .parse::<KeyUsage>()
        .map_err(|_| {
            typed.errors.refuse(
                "usage",
                lang.t("Choisissez un usage : interne ou éditeur tiers."),
            )
        })
        .ok();
    let role = if grants.is_empty() {
        typed
            .errors
            .refuse("grants", lang.t("Cochez au moins un droit."));
        None
    } else {
        Role::parse(&grants)
            .map_err(|e| {
                typed.errors.refuse(
                    "grants",
                    format!("{}{}", lang.t("Droit refusé : "), e.message),
                )
            })
            .ok()
    };
    let (Some(name), Some(contact), Some(usage), Some(role)) = (name, contact, usage, role) else {
        let msg = typed
            .errors
            .summary(lang, "key-error", "Aucune clé n'a été créée");
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            keys_page_typed(&state, &v, Some(msg), &typed).await,
        )
            .into_response();
    };
    match make_key(&state.store, v.base.id, name, contact, usage, role).await {
        Ok((key, secret)) => {
            let msg = html! {
                p.ok { (lang.t("Clé créée ; elle ne sera plus jamais affichée.")) }
                p { (lang.t("URL de la base")) " : " code id="base-url" { (base_url(&headers)) } }
                p { "#" (key.id) " : " code.secret id="api-key" { (secret) } }
            };
            keys_page(&state, &v, Some(msg)).await
        }
        Err(e) => internal(&v, e),
    }
}

/// Key `id` if it opens the viewer's base (and, when `live`, is not
/// revoked); else the page saying there is no such key here.
async fn key_of_base(
    state: &AppState,
    v: &Viewer,
    id: i64,
    live: bool,
) -> Result<ApiKey, Box<Response>> {
    // Its last use, with this process's latest requests written.
    state.audit.flush().await;
    match state.store.get_api_key(id).await {
        Ok(k) if k.base_id == v.base.id && (!live || k.revoked_at.is_none()) => Ok(k),
        Ok(_) | Err(relais_store::StoreError::NotFound { .. }) => Err(Box::new(error_page(
            Some(v),
            v.lang,
            StatusCode::NOT_FOUND,
            if live {
                v.lang
                    .t("Cette clé n'existe pas sur cette base, ou elle est révoquée.")
            } else {
                v.lang.t("Cette clé n'existe pas sur cette base.")
            },
        ))),
        Err(e) => Err(Box::new(internal(v, e))),
    }
}

/// `POST /keys/{id}/revoke`.
pub async fn revoke_key(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    Path(id): Path<i64>,
    Form(f): Form<ConfirmForm>,
) -> Response {
    if let Some(r) = refuse_csrf(&v, &f.csrf) {
        return r;
    }
    if let Some(r) = refuse_keys(&v) {
        return r;
    }
    let lang = v.lang;
    let key = match key_of_base(&state, &v, id, false).await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    if f.confirmed.is_none() {
        let mut stops = vec![format!(
            "{}{}{}",
            lang.t("Tout client qui utilise la clé « "),
            key.name,
            lang.t(" » reçoit 401 à sa prochaine requête.")
        )];
        if let Ok(list) = state.store.list_installations(v.base.id).await {
            for i in list.iter().filter(|i| i.key_id == id) {
                let name = catalog
                    .get(&i.app)
                    .map_or(i.app.as_str(), |a| a.name.as_str());
                stops.push(format!(
                    "{name}{}",
                    lang.t(" ne peut plus lire la base, et sa synchronisation échoue.")
                ));
            }
        }
        stops.push(match key.last_used_at {
            Some(t) => format!("{}{}", lang.t("Dernière utilisation : "), paris_time(t)),
            None => lang.t("Elle n'a jamais servi.").to_owned(),
        });
        return confirm_page(
            &v,
            &format!(
                "{}{}{}",
                lang.t("Révoquer la clé « "),
                key.name,
                lang.t(" » ?")
            ),
            &stops,
            &format!("/keys/{id}/revoke"),
            ("confirm-revoke", lang.t("Oui, révoquer")),
            "/keys",
        );
    }
    match state.store.revoke_api_key(id).await {
        Ok(_) => redirect(&format!("/keys?revoked={id}"), Vec::new()),
        Err(e) => internal(&v, e),
    }
}

/// An installed app's health as a cell: its label in the page's language,
/// the reason linking to the app's page (where it is fixed).
fn health_cell(h: Option<&HomeIntegration>, app: &str, lang: Lang) -> Markup {
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
struct HomeIntegration {
    app: String,
    name: String,
    sync: Option<HomeSync>,
}

/// Its sync, when relais runs one.
struct HomeSync {
    health: relais_core::integration::Health,
    reason: String,
    last: Option<chrono::DateTime<chrono::Utc>>,
    next: Option<chrono::DateTime<chrono::Utc>>,
    /// Records written to or from the partner by runs started today (Paris).
    today: u64,
}

/// The apps installed on `base`, with their sync's health and next run;
/// `with_runs` (the home page) also reads their latest runs: the last one,
/// and what they moved today.
async fn home_integrations(
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

/// A time as people in France read it, the zone named.
/// A time as people in France read it, the zone named.
pub(crate) fn paris_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Paris)
        .format("%d/%m/%Y %H:%M (Europe/Paris)")
        .to_string()
}

/// How long a rotated key's previous secret may stay valid: seconds, and
/// how people say it.
const GRACE_CHOICES: [(i64, &str); 5] = [
    (0, "aucun : l'ancien secret cesse tout de suite"),
    (3_600, "1 heure"),
    (86_400, "24 heures"),
    (604_800, "7 jours"),
    (2_592_000, "30 jours"),
];

/// The rotate form.
#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    csrf: String,
    /// Set by the confirmation page's button.
    #[serde(default)]
    confirmed: Option<String>,
    /// Seconds the previous secret stays valid (one of [`GRACE_CHOICES`]).
    #[serde(default)]
    grace: Option<String>,
}

/// `POST /keys/{id}/rotate`: asks for the grace period, then gives the key
/// a new secret, shown once; the old one opens the key until the grace ends.
pub async fn rotate_key(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<RotateForm>,
) -> Response {
    if let Some(r) = refuse_csrf(&v, &f.csrf) {
        return r;
    }
    if let Some(r) = refuse_keys(&v) {
        return r;
    }
    let lang = v.lang;
    let key = match key_of_base(&state, &v, id, true).await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    let grace = f.grace.as_deref().map(|g| {
        GRACE_CHOICES
            .iter()
            .find(|(s, ..)| g.trim() == s.to_string())
            .map(|(s, ..)| *s)
    });
    if f.confirmed.is_none() || grace.is_none() || grace == Some(None) {
        let refused = grace == Some(None);
        let title = format!(
            "{}{}{}",
            lang.t("Renouveler la clé « "),
            key.name,
            lang.t(" » ?")
        );
        let body = html! {
            @if refused {
                p.error.field-error data-field="grace" { (lang.t("Choisissez un délai dans la liste.")) }
            }
            p { (lang.t("Un nouveau secret est créé et affiché une seule fois. Les clients qui utilisent l'ancien doivent passer au nouveau : l'ancien reste valable pendant le délai choisi, puis ne fonctionne plus.")) }
            form method="post" action={ "/keys/" (id) "/rotate" } id="rotate-form" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="confirmed" value="1";
                label for="grace" { (lang.t("L'ancien secret reste valable")) }
                select id="grace" name="grace" {
                    @for (seconds, label) in GRACE_CHOICES {
                        option value=(seconds) selected[seconds == 86_400] { (lang.t(label)) }
                    }
                }
                p {
                    button id="confirm-rotate" type="submit" { (lang.t("Renouveler")) }
                    " " a id="confirm-cancel" href="/keys" { (lang.t("Annuler")) }
                }
            }
        };
        let status = if refused {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        return (status, page(Some(&v), lang, &title, body)).into_response();
    }
    let grace = chrono::Duration::seconds(grace.flatten().unwrap_or(0));
    match relais_api::auth::rotate_key(&state.store, id, grace).await {
        Ok((key, secret)) => {
            let msg = html! {
                p.ok id="done" role="status" {
                    (lang.t("Clé « ")) (key.name) (lang.t(" » renouvelée ; son nouveau secret ne sera plus jamais affiché. "))
                    @match key.previous_valid_until.filter(|u| *u > relais_core::now()) {
                        Some(until) => { (lang.t("L'ancien reste valable jusqu'au ")) (paris_time(until)) "." },
                        None => { (lang.t("L'ancien ne fonctionne plus.")) },
                    }
                }
                p { (lang.t("URL de la base")) " : " code id="base-url" { (base_url(&headers)) } }
                p { "#" (key.id) " : " code.secret id="api-key" { (secret) } }
            };
            keys_page(&state, &v, Some(msg)).await
        }
        Err(e) => internal(&v, e),
    }
}

/// `GET /keys/{id}`: the audit trail of one key.
pub async fn key_audit(State(state): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    if let Some(r) = refuse_keys(&v) {
        return r;
    }
    let lang = v.lang;
    let key = match key_of_base(&state, &v, id, false).await {
        Ok(k) => k,
        Err(r) => return *r,
    };
    // What this process answered is written before it is read.
    state.audit.flush().await;
    let trail = match state.store.list_requests(id, 200).await {
        Ok(t) => t,
        Err(e) => return internal(&v, e),
    };
    page(Some(&v), lang, &format!("{} · {}", lang.t("Journal de la clé"), key.name), html! {
        p { code { @for c in key.role.codes() { (c) " " } } }
        table id="audit" {
            thead { tr { th { (lang.t("Quand")) } th { (lang.t("Requête")) } th { (lang.t("Statut")) } th { (lang.t("Collaborateurs renvoyés")) } } }
            tbody { @for r in &trail { tr { td { (r.at.format("%Y-%m-%d %H:%M:%S")) } td { code { (r.method) " " (r.path) } } td.n { (r.status) } td.n { (r.employee_records) } } } }
        }
    }).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_are_followed() {
        assert!(super::local_path("/integrations?q=x"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "integrations",
            "/a\r\nSet-Cookie: x",
        ] {
            assert!(!super::local_path(bad), "{bad}");
        }
    }
}
