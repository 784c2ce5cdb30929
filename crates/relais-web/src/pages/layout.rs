//! What every page shares: the frame (navigation, base switcher,
//! language, sign-out), the error page and [`PageError`], the CSRF check,
//! form errors, and how instants are shown.

use crate::session::{Lang, Viewer};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use relais_core::base::BaseKind;
use serde::Deserialize;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2433;background:#f6f7fb}\
header{background:#1d2433;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;display:flex;gap:.8rem;align-items:center}\
main{max-width:64rem;margin:1.5rem auto;padding:0 1.5rem}\
table{border-collapse:collapse;margin:1rem 0 2rem;background:#fff}th,td{padding:.35rem .9rem;border-bottom:1px solid #dde;text-align:left;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.kind{font-size:.8rem;padding:.1rem .5rem;border-radius:1rem;background:#e7ecff}\
.kind.test{background:#fff0d6}.health.healthy{color:#1d7a35;font-weight:600}.health.failing{color:#b42318;font-weight:600}.health.warnings,.health.paused,.health.pending{color:#8a5a00;font-weight:600}td.health{color:inherit;font-weight:normal}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:1rem}.cards.record{grid-template-columns:repeat(auto-fill,minmax(min(100%,24rem),1fr))}\
.card{background:#fff;border:1px solid #dde;border-radius:.5rem;padding:1rem}.card h3{margin:.2rem 0}.card h2{margin:.2rem 0 .4rem;font-size:1.2rem}\
.card table{width:100%;margin:0;table-layout:fixed}.card th[scope=row]{width:42%}.card td{overflow-wrap:anywhere}.card th{overflow-wrap:break-word;hyphens:auto}\
.muted{color:#667}form small.muted{display:block;margin:.15rem 0 .5rem}.notice{background:#fff7e0;border:1px solid #f0d48a;padding:.8rem 1rem;border-radius:.4rem}\
.error{background:#fde8e8;border:1px solid #f5a3a3;padding:.8rem 1rem;border-radius:.4rem}\
.ok{background:#e6f6ea;border:1px solid #9bd3a8;padding:.8rem 1rem;border-radius:.4rem}\
code.secret{font-size:1.05rem;background:#1d2433;color:#9fe;padding:.3rem .6rem;border-radius:.3rem;word-break:break-all}\
form.inline{display:inline}button,input[type=submit]{cursor:pointer}label{display:block;margin:.5rem 0 .2rem}\
select,input{max-width:100%}:focus-visible{outline:3px solid #2b59c3;outline-offset:2px}fieldset{min-width:0}code,li{overflow-wrap:anywhere}.scroll{overflow-x:auto;max-width:100%}\
#mapping-table{width:100%;table-layout:fixed}#mapping-table label{display:inline}#mapping-table select{width:100%}#mapping-table input{width:100%;box-sizing:border-box;margin:.1rem 0}\
.field-error{margin:.3rem 0;padding:.3rem .6rem}form.filters{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:flex-end}\
form.filters .field label{margin-top:0}ul.fields{margin:0;padding-left:1rem}#accounts ul.rights{min-width:13rem}\
body.test-base header{background:#8a4b08}#test-banner{background:#ffe9c7;border-bottom:2px solid #e0a040;padding:.5rem 1.5rem;font-weight:600}\
section.operation{margin:1rem 0}table.params th:first-child{width:30%}table.params th:nth-child(2){width:32%}table.members th:first-child{width:40%}table.members th:nth-child(2){width:22%}section.operation h3{font-size:1.05rem;overflow-wrap:anywhere}section.part{margin-top:2.5rem}#reference-index ul{padding-left:1rem;margin:.2rem 0 .6rem}caption{text-align:left;padding:.3rem 0}th small.zone{font-weight:normal;white-space:nowrap}\
table.topics td{text-align:center}table.topics input{margin:0}div.actions{display:flex;flex-wrap:wrap;gap:.4rem}\
pre{background:#fff;border:1px solid #dde;padding:.6rem;border-radius:.3rem}#reference-index{padding-left:1.2rem}pre.curl{white-space:pre-wrap;overflow-wrap:anywhere}\
@media (max-width:48rem){main{padding:0 .6rem}section.operation th,section.operation td{padding:.35rem .3rem}section.operation table{font-size:.92rem}table{display:block;overflow-x:auto;max-width:100%;width:max-content}#mapping-table{display:table}table.topics{font-size:.85rem;display:table}table.topics th,table.topics td{padding:.3rem .25rem}table.topics td{padding:.3rem .55rem}table.topics input{width:1.2rem;height:1.2rem}table.topics thead th{vertical-align:bottom}table.topics thead th+th{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;padding:.4rem 0}table.stack{display:block;overflow:visible;width:auto}table.stack thead{display:none}table.stack tbody,table.stack tr,table.stack td{display:block}table.stack tr{border-bottom:1px solid #dde;padding:.45rem 0}table.stack td{border:0;padding:.1rem .6rem;overflow-wrap:anywhere}table.stack td:first-child{font-size:.85rem;color:#556}table.stack td[data-label]::before{content:attr(data-label);color:#556}#counts th,#counts td{padding:.35rem .45rem}#lines td.record{font-weight:600}}";

/// The console's sections, in the order of its header: each page's path
/// and its name (in French, translated as shown).
const SECTIONS: &[(&str, &str)] = &[
    ("/integrations", "Intégrations"),
    ("/installed", "Applications installées"),
    ("/keys", "Clés API"),
    ("/people", "Collaborateurs"),
    ("/calendar", "Absences"),
    ("/reports", "Rapports"),
    ("/accounts", "Comptes"),
    ("/activity", "Journal"),
];

/// A table's column headings, each in the reader's language (from its
/// French label) and marked as heading its column.
pub(crate) fn column_heads(lang: Lang, labels: &[&'static str]) -> Markup {
    html! {
        thead { tr { @for label in labels { th scope="col" { (lang.t(label)) } } } }
    }
}

/// The page frame: navigation, base switcher (which changes base only when
/// asked, by its button), language, sign-out; on a test base, a banner and
/// another colour on every page.
pub(crate) fn page(v: Option<&Viewer>, lang: Lang, title: &str, body: Markup) -> Html<String> {
    following(v, lang, title, body, None)
}

/// [`page`], read again by the browser every `every` seconds when set
/// (a page following work under way).
pub(crate) fn following(
    v: Option<&Viewer>,
    lang: Lang,
    title: &str,
    body: Markup,
    every: Option<u32>,
) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = every { meta http-equiv="refresh" content=(seconds); }
                title { (title) " · relais" }
                style { (PreEscaped(STYLE)) }
            }
            body class=[v.filter(|v| v.base.kind == BaseKind::Test).map(|_| "test-base")] {
                header {
                    strong { a href="/" { "relais" } }
                    @if let Some(v) = v {
                        @for (path, label) in SECTIONS {
                            a href=(path) { (lang.t(label)) }
                        }
                        form.inline id="base-switcher" method="get" action="/base" {
                            label.inline for="base-select" style="display:inline" { (lang.t("Base")) " " }
                            select id="base-select" name="name" {
                                @for b in &v.bases {
                                    option value=(b.name) selected[b.id == v.base.id] {
                                        (b.name)
                                        // The kind, unless the name already says it.
                                        @if b.name.as_str() != b.kind.as_str() { " (" (b.kind) ")" }
                                    }
                                }
                            }
                            " " button id="base-switch" type="submit" { (lang.t("Changer de base")) }
                        }
                    }
                    span.who {
                        a href={ "/lang?to=" (lang.other().code()) } { (lang.t("English")) }
                        @if let Some(v) = v {
                            a id="my-account" href="/me" title=(lang.t("Mon compte")) { (v.person.name) }
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

/// A page saying `message`, answered with `status`.
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

/// The page of an address relais serves no page at: 404, in the language
/// of the pages the person reads, with the way home — and, for someone
/// signed in, the usual frame with its menu.
pub(crate) async fn no_such_page(headers: HeaderMap, viewer: Result<Viewer, Response>) -> Response {
    address_page(
        &headers,
        viewer.ok(),
        StatusCode::NOT_FOUND,
        "Cette adresse ne mène à aucune page de relais.",
    )
}

/// An address that only takes a form, opened on its own (a reload, a kept
/// link): 405 saying so, with the way home, rather than an empty answer.
pub(crate) async fn form_only(headers: HeaderMap, viewer: Result<Viewer, Response>) -> Response {
    address_page(
        &headers,
        viewer.ok(),
        StatusCode::METHOD_NOT_ALLOWED,
        "Cette adresse reçoit un formulaire envoyé depuis une page de relais : elle ne s'ouvre pas seule.",
    )
}

/// [`no_such_page`] and [`form_only`]: `message`, then a link home, in the
/// viewer's frame when someone is signed in.
fn address_page(
    headers: &HeaderMap,
    viewer: Option<Viewer>,
    status: StatusCode,
    message: &'static str,
) -> Response {
    let lang = crate::session::lang_of(headers);
    let body = html! {
        p.error id="no-page" { (lang.t(message)) }
        p { a href="/" { (lang.t("Aller à la page d'accueil")) } }
    };
    (status, page(viewer.as_ref(), lang, lang.t("Erreur"), body)).into_response()
}

/// Why a page could not be shown. Handlers return it with `?`; it becomes
/// the error page, in the viewer's frame and language, here and nowhere
/// else.
#[derive(Debug)]
pub(crate) struct PageError {
    /// Who sees the page (nobody signed in on the sign-in page).
    viewer: Option<Box<Viewer>>,
    lang: Lang,
    status: StatusCode,
    /// What the viewer reads.
    message: String,
    /// What went wrong inside relais, for the log only.
    cause: Option<String>,
}

impl PageError {
    /// relais failed (storage, a partner…): 500 saying the cause is in the
    /// log, and the cause written there.
    pub(crate) fn internal(v: &Viewer, cause: impl std::fmt::Display) -> Self {
        Self {
            viewer: Some(Box::new(v.clone())),
            ..Self::signed_out(v.lang, cause)
        }
    }

    /// [`PageError::internal`] on a page shown to someone not signed in.
    pub(crate) fn signed_out(lang: Lang, cause: impl std::fmt::Display) -> Self {
        Self {
            viewer: None,
            lang,
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: lang
                .t("relais n'a pas pu afficher cette page ; la cause est dans son journal.")
                .to_owned(),
            cause: Some(cause.to_string()),
        }
    }

    /// A refusal the viewer reads: `status` with `message`.
    pub(crate) fn refused(v: &Viewer, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            viewer: Some(Box::new(v.clone())),
            lang: v.lang,
            status,
            message: message.into(),
            cause: None,
        }
    }
}

/// A form as the pages read it: a body that is not that form (a field
/// given twice, a value of the wrong kind, another content type) is the
/// error page in the viewer's language, saying what is wrong, instead of
/// the framework's one line of English.
pub(crate) struct PageForm<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, PageError> {
        let lang = crate::session::lang_of(request.headers());
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(form)) => Ok(PageForm(form)),
            Err(refused) => {
                let text = refused.body_text();
                // What serde said, without the framework's preamble
                // ("Failed to deserialize form body: ").
                let what = text
                    .split_once(": ")
                    .map_or(text.as_str(), |(_, said)| said);
                Err(PageError {
                    viewer: None,
                    lang,
                    status: refused.status(),
                    message: format!("{} {what}", lang.t("Ce formulaire n'a pas pu être lu :")),
                    cause: None,
                })
            }
        }
    }
}

/// A form whose fields may repeat (the checkboxes of one name), as
/// [`PageForm`] reads it: `PageForm<Fields>`.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// The value of `name`, a field given once at most (empty when absent):
    /// given twice, which was meant is unknown, so the form is refused, as
    /// [`PageForm`] refuses a field given twice.
    pub(crate) fn one<'a>(&'a self, v: &Viewer, name: &'a str) -> Result<&'a str, PageError> {
        let mut given = self.every(name);
        let first = given.next().unwrap_or_default();
        if given.next().is_some() {
            return Err(PageError::refused(
                v,
                StatusCode::UNPROCESSABLE_ENTITY,
                v.lang.tf(
                    "Ce formulaire n'a pas pu être lu : le champ « %{name} » est donné deux fois.",
                    &[("name", &name)],
                ),
            ));
        }
        Ok(first)
    }

    /// Every value given for `name`, in the form's order.
    pub(crate) fn every<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A page's address parameters (an identifier, a code) as the pages read
/// them: one that does not parse (`/keys/abc`) is the page saying the
/// address leads nowhere (404), in the reader's language, instead of the
/// framework's one line of English.
pub(crate) struct PagePath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for PagePath<T>
{
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, PageError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PagePath(value)),
            Err(refused) => {
                tracing::debug!(error = %refused.body_text(), "address parameter refused");
                let lang = crate::session::lang_of(&parts.headers);
                Err(PageError {
                    viewer: None,
                    lang,
                    status: StatusCode::NOT_FOUND,
                    message: lang
                        .t("Cette adresse ne mène à aucune page de relais.")
                        .to_owned(),
                    cause: None,
                })
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            tracing::error!(error = %cause, "page failed");
        }
        error_page(
            self.viewer.as_deref(),
            self.lang,
            self.status,
            &self.message,
        )
    }
}

/// `?` for pages: a failure becomes [`PageError::internal`].
pub(crate) trait OrPage<T> {
    /// The value, or the internal-error page for `v`.
    fn or_page(self, v: &Viewer) -> Result<T, PageError>;
}

impl<T, E: std::fmt::Display> OrPage<T> for Result<T, E> {
    fn or_page(self, v: &Viewer) -> Result<T, PageError> {
        self.map_err(|e| PageError::internal(v, e))
    }
}

/// A grant code's label in `lang`, as the grant type itself says it
/// (`personnel-file:fields=…` reads as its permission's label); a code that
/// does not parse is shown as it is.
pub(crate) fn grant_label(code: &str, lang: Lang) -> &str {
    relais_core::access::GrantCode::parse(code).map_or(code, |g| g.label(lang.code()))
}

/// Every POST form carries the session's CSRF token: refused (403) when
/// it does not.
pub(crate) fn refuse_csrf(v: &Viewer, sent: &str) -> Result<(), PageError> {
    if !sent.is_empty() && sent == v.csrf {
        Ok(())
    } else {
        Err(PageError::refused(
            v,
            StatusCode::FORBIDDEN,
            v.lang.t("Ce formulaire a expiré ou ne vient pas de relais : rechargez la page et recommencez."),
        ))
    }
}

/// Refused (403) for people without « Administration des applications »,
/// who may not install, uninstall, or refresh a test base.
pub(crate) fn refuse_apps(v: &Viewer) -> Result<(), PageError> {
    refuse_without(
        v,
        v.person.can_admin_apps,
        "Il vous manque la permission « Administration des applications ».",
    )
}

/// Refused (403) for people without « Gestion des rôles et des clés API »,
/// who may not see or change keys and accounts.
pub(crate) fn refuse_keys(v: &Viewer) -> Result<(), PageError> {
    refuse_without(
        v,
        v.person.can_manage_keys,
        "Il vous manque la permission « Gestion des rôles et des clés API ».",
    )
}

/// Whether the viewer may read the activity journal: with either right.
pub(crate) fn reads_journal(v: &Viewer) -> bool {
    v.person.can_admin_apps || v.person.can_manage_keys
}

/// Refused (403) for people with neither right, who may not read the
/// activity journal.
pub(crate) fn refuse_journal(v: &Viewer) -> Result<(), PageError> {
    refuse_without(
        v,
        reads_journal(v),
        "Il vous faut la permission « Administration des applications » ou « Gestion des rôles et des clés API ».",
    )
}

/// Refused (403) with `missing`, the permission named, unless the viewer
/// `holds` it.
fn refuse_without(v: &Viewer, holds: bool, missing: &'static str) -> Result<(), PageError> {
    if holds {
        Ok(())
    } else {
        Err(PageError::refused(
            v,
            StatusCode::FORBIDDEN,
            v.lang.t(missing),
        ))
    }
}

/// The address the browser reached relais at, for the base URL an app is given.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// A form carrying only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

/// A destructive action's form: asked once, done once confirmed.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub(crate) csrf: String,
    /// Set by the confirmation page's button.
    #[serde(default)]
    pub(crate) confirmed: Option<String>,
}

/// The page asking to confirm a destructive action: what it is, what will
/// stop working, the button that does it and the way back.
pub(crate) fn confirm_page(
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

/// Whether `path` stays on this site (no `//host` or `/\host` that browsers would follow elsewhere).
pub(crate) fn local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.contains(['\r', '\n'])
}

/// The path of the page that led here (from `Referer`), to go back to it.
pub(crate) fn back_path(headers: &HeaderMap, default: &str) -> String {
    headers
        .get(axum::http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        .filter(|p| local_path(p))
        .unwrap_or_else(|| default.to_owned())
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

    /// A required text input of a form named `name` (of HTML type `kind`),
    /// labelled `label`, holding `value` (what was typed, or what is
    /// stored), with its refusals beside it.
    pub(crate) fn input(
        &self,
        (id, name, kind): (&str, &str, &str),
        label: &str,
        value: &str,
    ) -> Markup {
        html! {
            label for=(id) { (label) } input id=(id) name=(name) type=(kind) required value=(value);
            (self.beside(name))
        }
    }

    /// Above the form: nothing was done (`nothing`, e.g. « Rien n'a été
    /// enregistré »), and how many problems are shown beside the fields.
    pub(crate) fn summary(&self, lang: Lang, id: &str, nothing: &'static str) -> Markup {
        html! {
            p.error id=(id) {
                (lang.t(nothing)) (lang.t(" : "))
                (lang.count(self.0.len() as u64, "%{n} problème, indiqué à côté du champ.", "%{n} problèmes, indiqués à côté des champs."))
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

/// A time in France's zone as people of `lang` read it, the zone named:
/// « 05/12/2026 03:27 (Europe/Paris) », « 5 Dec 2026, 03:27 (Europe/Paris) ».
pub(crate) fn paris_time(t: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
    zoned_time(t, chrono_tz::Europe::Paris, false, lang)
}

/// [`paris_time`] to the second, for lists of events that come many a
/// minute (a key's requests).
pub(crate) fn paris_time_to_second(t: chrono::DateTime<chrono::Utc>, lang: Lang) -> String {
    zoned_time(t, chrono_tz::Europe::Paris, true, lang)
}

/// A time in `zone` as people of `lang` read it, the zone named.
pub(crate) fn zoned_time(
    t: chrono::DateTime<chrono::Utc>,
    zone: chrono_tz::Tz,
    seconds: bool,
    lang: Lang,
) -> String {
    format!(
        "{} ({})",
        relais_core::said::moment(t.with_timezone(&zone).naive_local(), seconds, lang.code()),
        zone.name()
    )
}

/// How a table's heading names the zone of its column's times, once for
/// the whole column: « heure de Paris », « Paris time » (the zone's city).
pub(crate) fn zone_words(zone: chrono_tz::Tz, lang: Lang) -> String {
    let name = zone.name();
    let city = name.rsplit('/').next().unwrap_or(name).replace('_', " ");
    lang.tf("heure de %{city}", &[("city", &city)])
}

/// A table's column headings, as [`column_heads`] gives them, where the
/// columns labelled as in `times` hold times in `zone`: their heading names
/// the zone once, so that their cells ([`time_cell`]) need not.
pub(crate) fn column_heads_zoned(
    lang: Lang,
    labels: &[&'static str],
    times: &[&'static str],
    zone: chrono_tz::Tz,
) -> Markup {
    debug_assert!(
        times.iter().all(|t| labels.contains(t)),
        "every time column is one of the table's: {times:?} in {labels:?}"
    );
    html! {
        thead { tr { @for label in labels {
            th scope="col" {
                (lang.t(label))
                @if times.contains(label) { br; small.muted.zone { (zone_words(zone, lang)) } }
            }
        } } }
    }
}

/// A time in a table's cell, in `zone` as people of `lang` read it, the
/// zone named in the column's heading ([`column_heads_zoned`]) rather than in
/// each cell; the instant itself for machines, and the zone in its tooltip.
pub(crate) fn time_cell(
    t: chrono::DateTime<chrono::Utc>,
    zone: chrono_tz::Tz,
    seconds: bool,
    lang: Lang,
) -> Markup {
    html! {
        time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) title=(zoned_time(t, zone, seconds, lang)) {
            (relais_core::said::moment(t.with_timezone(&zone).naive_local(), seconds, lang.code()))
        }
    }
}

/// What a cell of a `table.stack` says before its value once a phone's
/// screen stacks its rows into cards (its column's heading hidden): « Par : ».
pub(crate) fn stacked_label(label: &'static str, lang: Lang) -> String {
    format!("{}{}", lang.t(label), lang.t(" : "))
}

/// [`time_cell`] in France's zone, to the minute.
pub(crate) fn paris_cell(t: chrono::DateTime<chrono::Utc>, lang: Lang) -> Markup {
    time_cell(t, chrono_tz::Europe::Paris, false, lang)
}

/// [`column_heads_zoned`] for times in France's zone.
pub(crate) fn column_heads_paris(
    lang: Lang,
    labels: &[&'static str],
    times: &[&'static str],
) -> Markup {
    column_heads_zoned(lang, labels, times, chrono_tz::Europe::Paris)
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::base::{Base, BaseKind, BaseName};
    use relais_core::employee::Email;
    use relais_core::org::Name;
    use relais_core::people::Person;

    fn viewer(lang: Lang) -> Viewer {
        let base = Base {
            id: relais_core::ids::BaseId(1),
            name: BaseName::parse("production").unwrap(),
            kind: BaseKind::Production,
            created_at: relais_core::now(),
            modified_at: relais_core::now(),
        };
        Viewer {
            person: Person {
                id: relais_core::ids::PersonId(1),
                email: Email::parse("rh@relais.test").unwrap(),
                name: Name::parse("name", "Alice").unwrap(),
                can_admin_apps: true,
                can_manage_keys: true,
                created_at: relais_core::now(),
                disabled_at: None,
                must_choose_password: false,
            },
            csrf: "token".into(),
            token_hash: "hash".into(),
            bases: vec![base.clone()],
            base,
            lang,
        }
    }

    async fn body_of(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_internal_error_is_one_page_that_keeps_its_cause_to_the_log() {
        let v = viewer(Lang::En);
        let failed: Result<(), &str> = Err("database password rejected for user relais");
        let e = failed.or_page(&v).unwrap_err();
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let html = body_of(r).await;
        assert!(!html.contains("password rejected"), "{html}");
        assert!(html.contains("Alice"), "in the viewer's frame: {html}");
        assert!(html.contains("lang=\"en\""), "{html}");
    }

    #[tokio::test]
    async fn a_signed_out_page_that_fails_keeps_its_cause_to_the_log_too() {
        let r = PageError::signed_out(Lang::Fr, "pool timed out on 10.0.0.7").into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let html = body_of(r).await;
        assert!(!html.contains("10.0.0.7"), "{html}");
        assert!(html.contains("la cause est dans son journal"), "{html}");
        assert!(!html.contains("sign-out"), "nobody is signed in: {html}");
    }

    #[tokio::test]
    async fn a_refusal_says_why_with_its_status() {
        let v = viewer(Lang::Fr);
        let r = refuse_csrf(&v, "forged").unwrap_err().into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(body_of(r).await.contains("Ce formulaire a expiré"));
        assert!(refuse_csrf(&v, "token").is_ok());
        assert!(refuse_csrf(&v, "").is_err());
    }

    #[test]
    fn column_headings_head_their_columns_in_the_readers_language() {
        let html = column_heads(Lang::En, &["Quand", "Application", "#", ""]).into_string();
        assert_eq!(
            html,
            "<thead><tr><th scope=\"col\">When</th><th scope=\"col\">App</th>\
             <th scope=\"col\">#</th><th scope=\"col\"></th></tr></thead>"
        );
        let french = column_heads(Lang::Fr, &["Quand"]).into_string();
        assert!(french.contains(">Quand</th>"), "{french}");
    }

    #[test]
    fn the_header_names_every_section_in_the_readers_language() {
        let html = page(Some(&viewer(Lang::En)), Lang::En, "t", html! {}).0;
        assert!(html.contains(">Installed apps</a>"), "{html}");
        for (path, label) in SECTIONS {
            assert!(
                crate::_rust_i18n_try_translate("en", label).is_some(),
                "{label} is in the catalogues"
            );
            let english = Lang::En.t(label);
            assert!(
                html.contains(&format!("<a href=\"{path}\">{english}</a>")),
                "{path}: {html}"
            );
        }
    }

    #[test]
    fn a_table_names_its_times_zone_once_in_the_heading() {
        use chrono::TimeZone as _;
        let winter = chrono::Utc.with_ymd_and_hms(2026, 12, 5, 2, 27, 1).unwrap();
        let heads = column_heads_paris(
            Lang::Fr,
            &["Application", "Installée le"],
            &["Installée le"],
        )
        .into_string();
        assert_eq!(heads.matches("heure de Paris").count(), 1, "{heads}");
        assert!(
            heads.find("Installée le") < heads.find("heure de Paris"),
            "{heads}"
        );
        let heads =
            column_heads_zoned(Lang::En, &["Date"], &["Date"], chrono_tz::America::New_York)
                .into_string();
        assert!(heads.contains("New York time"), "{heads}");
        let cell = paris_cell(winter, Lang::Fr).into_string();
        assert!(cell.contains(">05/12/2026 03:27</time>"), "{cell}");
        assert!(cell.contains("datetime=\"2026-12-05T02:27:01Z\""), "{cell}");
        assert!(
            cell.contains("title=\"05/12/2026 03:27 (Europe/Paris)\""),
            "{cell}"
        );
    }

    #[test]
    fn times_are_shown_in_paris_whatever_the_season() {
        use chrono::TimeZone as _;
        let winter = chrono::Utc.with_ymd_and_hms(2026, 12, 5, 2, 27, 1).unwrap();
        let summer = chrono::Utc.with_ymd_and_hms(2026, 7, 14, 22, 5, 9).unwrap();
        assert_eq!(
            paris_time(winter, Lang::Fr),
            "05/12/2026 03:27 (Europe/Paris)"
        );
        assert_eq!(
            paris_time_to_second(winter, Lang::Fr),
            "05/12/2026 03:27:01 (Europe/Paris)"
        );
        assert_eq!(
            paris_time_to_second(summer, Lang::Fr),
            "15/07/2026 00:05:09 (Europe/Paris)"
        );
        // In English the month is named: no reader takes 05/12 for May.
        assert_eq!(
            paris_time(winter, Lang::En),
            "5 Dec 2026, 03:27 (Europe/Paris)"
        );
        assert_eq!(
            paris_time_to_second(summer, Lang::En),
            "15 Jul 2026, 00:05:09 (Europe/Paris)"
        );
    }

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
