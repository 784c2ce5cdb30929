//! The accounts that sign in to these pages: the list, creating one (its
//! password generated and shown once), and an account's page — what it may
//! do, a new password, disabling and enabling it, its latest sign-ins — for
//! people with « Gestion des rôles et des clés API »; and, for everyone,
//! their own account and changing its password.

use super::layout::{
    base_url, column_heads_paris, confirm_page, not_an_email, page, paris_cell, paris_time,
    refuse_csrf, refuse_keys, stacked_label, ConfirmForm, FieldErrors, OrPage, PageError, PageForm,
    PagePath,
};
use crate::session::{
    generate_password, hash_password, open_session, record_sign_in, redirect, sign_in_door,
    verify_password, ClientAddress, Door, Lang, Viewer,
};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::employee::Email;
use relais_core::ids::PersonId;
use relais_core::org::Name;
use relais_core::people::{AccountChangeKind, Person};
use relais_store::{NewPerson, SignInOutcome, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

/// Sign-ins, and changes, an account's page shows, newest first.
const SIGN_INS: u32 = 20;

/// The two rights an account may hold: the form field that sets it, and its
/// name as the permission is called.
const RIGHTS: [(&str, &str); 2] = [
    ("apps", "Administration des applications"),
    ("keys", "Gestion des rôles et des clés API"),
];

/// Whether the right of [`RIGHTS`] set by `field` is among `apps` and
/// `keys`.
fn held(field: &str, apps: bool, keys: bool) -> bool {
    if field == "apps" {
        apps
    } else {
        keys
    }
}

/// Which of [`RIGHTS`] `p` holds.
fn holds(p: &Person, field: &str) -> bool {
    held(field, p.can_admin_apps, p.can_manage_keys)
}

/// What an account may do, by the permissions' names.
fn rights_of(p: &Person, lang: Lang) -> Markup {
    rights_list(p.can_admin_apps, p.can_manage_keys, lang)
}

/// The rights `apps` and `keys`, by the permissions' names.
fn rights_list(apps: bool, keys: bool, lang: Lang) -> Markup {
    html! {
        @if !apps && !keys {
            span.muted { (lang.t("consultation seulement")) }
        } @else {
            ul.fields.rights {
                @for (field, label) in RIGHTS {
                    @if held(field, apps, keys) { li { (lang.t(label)) } }
                }
            }
        }
    }
}

/// Whether an account signs in, in words.
fn status_of(p: &Person, lang: Lang) -> String {
    match p.disabled_at {
        None if p.must_choose_password => lang.t("actif, mot de passe à choisir").to_owned(),
        None => lang.t("actif").to_owned(),
        Some(at) => format!("{}{}", lang.t("désactivé depuis le "), paris_time(at, lang)),
    }
}

/// What was done to an account, in words.
fn change_label(kind: AccountChangeKind, lang: Lang) -> &'static str {
    match kind {
        AccountChangeKind::Created => lang.t("compte créé"),
        AccountChangeKind::Rights => lang.t("droits changés"),
        AccountChangeKind::Password => lang.t("nouveau mot de passe"),
        AccountChangeKind::Disabled => lang.t("désactivé"),
        AccountChangeKind::Enabled => lang.t("réactivé"),
        AccountChangeKind::Identity => lang.t("nom ou e-mail changé"),
    }
}

/// How a sign-in attempt ended, in words.
fn outcome_label(outcome: SignInOutcome, lang: Lang) -> &'static str {
    match outcome {
        SignInOutcome::Succeeded => lang.t("réussie"),
        SignInOutcome::Failed => lang.t("refusée (adresse ou mot de passe)"),
        SignInOutcome::Locked => lang.t("bloquée (trop d'échecs)"),
    }
}

/// What a refused change of an account says: the store's refusal to leave
/// nobody who may manage accounts, in the reader's language; any other
/// failure is relais's.
fn refusal(v: &Viewer, e: StoreError) -> PageError {
    match e {
        StoreError::Conflict {
            field: "can_manage_keys",
            ..
        } => PageError::refused(
            v,
            StatusCode::CONFLICT,
            v.lang.t("Plus aucun compte actif ne pourrait gérer les comptes et les clés : donnez d'abord la permission « Gestion des rôles et des clés API » à un autre compte."),
        ),
        e => PageError::internal(v, e),
    }
}

/// What `/accounts` says after an action.
#[derive(Deserialize, Default)]
pub struct AccountsQuery {
    /// The account just changed.
    #[serde(default)]
    changed: Option<PersonId>,
}

/// The create form as it came back refused: what was typed, and what is
/// wrong with each field (`name`, `email`).
#[derive(Default)]
struct NewAccountTyped {
    name: String,
    email: String,
    rights: Vec<String>,
    errors: FieldErrors,
}

async fn accounts_page(
    state: &AppState,
    v: &Viewer,
    message: Option<Markup>,
    typed: &NewAccountTyped,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let people = state.store.list_people().await.or_page(v)?;
    let last = state.store.last_sign_ins().await.or_page(v)?;
    Ok(page(Some(v), lang, lang.t("Comptes"), html! {
        @if let Some(m) = message { (m) }
        p.muted { (lang.t("Les personnes qui se connectent à ces pages, sur toutes les bases, et ce qu'elles peuvent y faire.")) }
        table id="accounts" {
            (column_heads_paris(lang, &["Nom", "E-mail", "Droits", "État", "Dernière connexion"], &["Dernière connexion"]))
            tbody {
                @for p in &people {
                    tr data-account=(p.id) {
                        td { a href={ "/accounts/" (p.id) } { (p.name) } @if p.id == v.person.id { " " small.muted { (lang.t("(vous)")) } } }
                        td { (p.email) }
                        td { (rights_of(p, lang)) }
                        td { (status_of(p, lang)) }
                        td.last-sign-in {
                            @match last.get(&p.email.as_str().to_lowercase()) {
                                Some(at) => { (paris_cell(*at, lang)) },
                                None => { span.muted { (lang.t("jamais")) } },
                            }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("Créer un compte")) }
        form method="post" action="/accounts" id="create-account" {
            input type="hidden" name="csrf" value=(v.csrf);
            (typed.errors.input(("account-name", "name", "text"), lang.t("Nom"), &typed.name))
            (typed.errors.input(("account-email", "email", "email"), lang.t("E-mail, pour se connecter"), &typed.email))
            (rights_fields(lang, |field| typed.rights.iter().any(|r| r == field)))
            p.muted { (lang.t("Un mot de passe est créé et affiché une seule fois, pour que vous le transmettiez à la personne.")) }
            p { button type="submit" id="create-account-submit" { (lang.t("Créer le compte")) } }
        }
    }).into_response())
}

/// The rights' checkboxes, checked where `checked` says.
fn rights_fields(lang: Lang, checked: impl Fn(&str) -> bool) -> Markup {
    html! {
        fieldset { legend { (lang.t("Droits")) }
            @for (field, label) in RIGHTS {
                label { input type="checkbox" name=(field) value="on" checked[checked(field)]; " " (lang.t(label)) }
            }
        }
    }
}

/// `GET /accounts`.
pub async fn accounts(State(state): State<AppState>, v: Viewer) -> Result<Response, PageError> {
    refuse_keys(&v)?;
    accounts_page(&state, &v, None, &NewAccountTyped::default()).await
}

/// The create form: a name and e-mail, as an account's page changes them,
/// and its rights.
#[derive(Deserialize)]
pub struct NewAccountForm {
    #[serde(flatten)]
    who: IdentityForm,
    /// Ticked: « Administration des applications ».
    #[serde(default)]
    apps: Option<String>,
    /// Ticked: « Gestion des rôles et des clés API ».
    #[serde(default)]
    keys: Option<String>,
}

/// `POST /accounts`: a new account, its password shown once.
pub async fn create_account(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    PageForm(f): PageForm<NewAccountForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.who.csrf)?;
    refuse_keys(&v)?;
    let lang = v.lang;
    let ticked = [("apps", &f.apps), ("keys", &f.keys)];
    let mut typed = NewAccountTyped {
        name: f.who.name,
        email: f.who.email,
        rights: ticked
            .iter()
            .filter(|(_, on)| on.is_some())
            .map(|(field, _)| (*field).to_owned())
            .collect(),
        errors: FieldErrors::default(),
    };
    let (name, email) = name_and_email(lang, &typed.name, &typed.email, &mut typed.errors);
    let (Some(name), Some(email)) = (name, email) else {
        return refused(&state, &v, &typed).await;
    };
    let password = generate_password();
    let created = state
        .store
        .create_person(
            &NewPerson {
                email,
                name,
                password_hash: hash_password(&password),
                can_admin_apps: typed.rights.iter().any(|r| r == "apps"),
                can_manage_keys: typed.rights.iter().any(|r| r == "keys"),
            },
            Some(v.person.id),
        )
        .await;
    match created {
        Ok(person) => {
            let msg = html! {
                p.ok id="done" role="status" {
                    (lang.t("Compte créé pour ")) (person.name)
                    (lang.t(". Transmettez-lui son mot de passe, qui ne sera plus jamais affiché :"))
                }
                (shown_once(lang, &password, &headers, true))
            };
            accounts_page(&state, &v, Some(msg), &NewAccountTyped::default()).await
        }
        Err(StoreError::Conflict { field: "email", .. }) => {
            typed.errors.refuse(
                "email",
                lang.t("Un compte existe déjà avec cette adresse e-mail."),
            );
            refused(&state, &v, &typed).await
        }
        Err(e) => Err(PageError::internal(&v, e)),
    }
}

/// The list again, with the create form as it was typed and what is wrong
/// with it beside each field: 422, nothing created.
async fn refused(
    state: &AppState,
    v: &Viewer,
    typed: &NewAccountTyped,
) -> Result<Response, PageError> {
    let msg = typed
        .errors
        .summary(v.lang, "account-error", "Aucun compte n'a été créé");
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        accounts_page(state, v, Some(msg), typed).await?,
    )
        .into_response())
}

/// Account `id`, or the page saying there is none.
async fn account_of(state: &AppState, v: &Viewer, id: PersonId) -> Result<Person, PageError> {
    let people = state.store.list_people().await.or_page(v)?;
    find_account(v, people, id)
}

/// Account `id` among `people`, or the page saying there is none.
fn find_account(v: &Viewer, people: Vec<Person>, id: PersonId) -> Result<Person, PageError> {
    people.into_iter().find(|p| p.id == id).ok_or_else(|| {
        PageError::refused(
            v,
            StatusCode::NOT_FOUND,
            v.lang.t("Ce compte n'existe pas."),
        )
    })
}

/// A form that carries the page's CSRF token.
pub trait Sent {
    /// The token the form carried.
    fn csrf(&self) -> &str;
}

/// A change of an account asked from its page: the form sent (`form`),
/// the person who sent it (`v`) and the account (`p`), once the form was
/// found to be the page's own and sent by someone who may manage accounts,
/// and the account to exist; else the page saying why not.
pub struct OnAccount<F> {
    v: Viewer,
    p: Person,
    form: F,
}

impl<F: serde::de::DeserializeOwned + Sent + Send + Sync> axum::extract::FromRequest<AppState>
    for OnAccount<F>
{
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Response> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = request.into_parts();
        let v = Viewer::from_request_parts(&mut parts, state).await?;
        let PagePath(id) = PagePath::<PersonId>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let request = axum::extract::Request::from_parts(parts, body);
        let PageForm(form) = PageForm::<F>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let allowed = refuse_csrf(&v, form.csrf()).and_then(|()| refuse_keys(&v));
        if let Err(refused) = allowed {
            return Err(refused.into_response());
        }
        match account_of(state, &v, id).await {
            Ok(p) => Ok(Self { v, p, form }),
            Err(refused) => Err(refused.into_response()),
        }
    }
}

/// Implements [`Sent`] for forms whose token is their `csrf` field.
macro_rules! sent_with_csrf {
    ($($form:ty),*) => {
        $(impl Sent for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })*
    };
}

sent_with_csrf!(
    RightsForm,
    IdentityForm,
    ConfirmForm,
    super::layout::CsrfForm
);

/// `GET /accounts/{id}`: an account, what it may do, and its latest sign-ins.
pub async fn account(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<PersonId>,
    Query(done): Query<AccountsQuery>,
) -> Result<Response, PageError> {
    refuse_keys(&v)?;
    account_page(&state, &v, id, done.changed == Some(id), None).await
}

/// The name and e-mail form as it came back refused: what was typed, and
/// what is wrong with each field (`name`, `email`).
#[derive(Default)]
struct IdentityTyped {
    name: String,
    email: String,
    errors: FieldErrors,
}

/// Account `id`'s page; `saved` says its change was saved, `typed` is the
/// name and e-mail form as it came back refused.
async fn account_page(
    state: &AppState,
    v: &Viewer,
    id: PersonId,
    saved: bool,
    typed: Option<&IdentityTyped>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let people = state.store.list_people().await.or_page(v)?;
    let names: HashMap<PersonId, String> =
        people.iter().map(|p| (p.id, p.name.to_string())).collect();
    let p = find_account(v, people, id)?;
    let none = FieldErrors::default();
    let (shown, errors) = match typed {
        Some(t) => ((t.name.clone(), t.email.clone()), &t.errors),
        None => ((p.name.to_string(), p.email.to_string()), &none),
    };
    let changes = state
        .store
        .list_account_changes(p.id, SIGN_INS)
        .await
        .or_page(v)?;
    let sign_ins = state
        .store
        .list_sign_ins(Some(p.email.as_str()), SIGN_INS)
        .await
        .or_page(v)?;
    let me = p.id == v.person.id;
    let title = format!("{} · {}", lang.t("Compte"), p.name);
    Ok(page(Some(v), lang, &title, html! {
        @if saved {
            p.ok id="done" role="status" { (lang.t("Modification enregistrée.")) }
        }
        @if !errors.is_empty() {
            (errors.summary(lang, "account-error", "Le nom et l'e-mail n'ont pas changé"))
        }
        table.card id="account" {
            tbody {
                tr { th scope="row" { (lang.t("E-mail")) } td { (p.email) } }
                tr { th scope="row" { (lang.t("État")) } td id="account-status" { (status_of(&p, lang)) } }
                tr { th scope="row" { (lang.t("Créé le")) } td { (paris_time(p.created_at, lang)) } }
            }
        }
        h2 { (lang.t("Nom et e-mail")) }
        form method="post" action={ "/accounts/" (p.id) "/identity" } id="identity-form" {
            input type="hidden" name="csrf" value=(v.csrf);
            (errors.input(("identity-name", "name", "text"), lang.t("Nom"), &shown.0))
            (errors.input(("identity-email", "email", "email"), lang.t("E-mail, pour se connecter"), &shown.1))
            p.muted { (lang.t("Changée, l'adresse e-mail est celle avec laquelle la personne se connecte dès maintenant ; ses sessions ouvertes restent ouvertes.")) }
            p { button type="submit" id="save-identity" { (lang.t("Enregistrer le nom et l'e-mail")) } }
        }
        form method="post" action={ "/accounts/" (p.id) "/rights" } id="rights-form" {
            input type="hidden" name="csrf" value=(v.csrf);
            (rights_fields(lang, |field| holds(&p, field)))
            p { button type="submit" id="save-rights" { (lang.t("Enregistrer les droits")) } }
        }
        h2 { (lang.t("Accès")) }
        p {
            form.inline method="post" action={ "/accounts/" (p.id) "/password" } {
                input type="hidden" name="csrf" value=(v.csrf);
                button type="submit" id="new-password" { (lang.t("Nouveau mot de passe")) }
            }
            @if !me {
                " "
                @if p.disabled_at.is_none() {
                    form.inline method="post" action={ "/accounts/" (p.id) "/disable" } {
                        input type="hidden" name="csrf" value=(v.csrf);
                        button type="submit" id="disable" { (lang.t("Désactiver")) }
                    }
                } @else {
                    form.inline method="post" action={ "/accounts/" (p.id) "/enable" } {
                        input type="hidden" name="csrf" value=(v.csrf);
                        button type="submit" id="enable" { (lang.t("Réactiver")) }
                    }
                }
            }
        }
        h2 { (lang.t("Historique du compte")) }
        @if changes.is_empty() {
            p.muted { (lang.t("Aucun changement enregistré.")) }
        }
        table.stack id="changes" {
            (column_heads_paris(lang, &["Quand", "Changement", "Droits ensuite", "Par"], &["Quand"]))
            tbody {
                @for c in &changes {
                    tr {
                        td { (paris_cell(c.at, lang)) }
                        td {
                            (change_label(c.kind, lang))
                            @if let Some(before) = &c.previously { br; small.muted { (lang.t("avant : ")) (before) } }
                        }
                        td data-label=(stacked_label("Droits ensuite", lang)) { (rights_list(c.can_admin_apps, c.can_manage_keys, lang)) }
                        td data-label=(stacked_label("Par", lang)) { @match c.by {
                            Some(by) => { (names.get(&by).map_or("?", String::as_str)) },
                            None => { span.muted { (lang.t("ligne de commande")) } },
                        } }
                    }
                }
            }
        }
        h2 { (lang.t("Dernières connexions")) }
        @if sign_ins.is_empty() {
            p.muted { (lang.t("Aucune tentative de connexion.")) }
        } @else {
            table.stack id="sign-ins" {
                (column_heads_paris(lang, &["Quand", "Résultat", "Adresse IP"], &["Quand"]))
                tbody {
                    @for a in &sign_ins {
                        tr { td { (paris_cell(a.at, lang)) } td { (outcome_label(a.outcome, lang)) } td { (a.address) } }
                    }
                }
            }
        }
    }).into_response())
}

/// The rights form: the rights ticked.
#[derive(Deserialize)]
pub struct RightsForm {
    #[serde(default)]
    csrf: String,
    /// Ticked: « Administration des applications ».
    #[serde(default)]
    apps: Option<String>,
    /// Ticked: « Gestion des rôles et des clés API ».
    #[serde(default)]
    keys: Option<String>,
}

/// The account's page again, saying its change was saved.
fn saved(id: PersonId) -> Response {
    redirect(&format!("/accounts/{id}?changed={id}"), vec![])
}

/// `POST /accounts/{id}/rights`: sets what the account may do. Nobody takes
/// away their own right to manage accounts here (they would lose this page
/// half-way); no change leaves nobody with it.
pub async fn save_rights(
    State(state): State<AppState>,
    OnAccount { v, p, form: f }: OnAccount<RightsForm>,
) -> Result<Response, PageError> {
    let (apps, keys) = (f.apps.is_some(), f.keys.is_some());
    if p.id == v.person.id && !keys {
        return Err(PageError::refused(
            &v,
            StatusCode::CONFLICT,
            v.lang.t("Vous ne pouvez pas retirer votre propre permission « Gestion des rôles et des clés API » : demandez-le à une autre personne qui l'a."),
        ));
    }
    let change = state
        .store
        .set_person_rights(p.email.as_str(), apps, keys, Some(v.person.id));
    change.await.map_err(|e| refusal(&v, e))?;
    Ok(saved(p.id))
}

/// The name and e-mail form of an account's page.
#[derive(Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

/// `POST /accounts/{id}/identity`: renames the account and sets the e-mail
/// it signs in with. Mistakes are said beside their fields (422), an e-mail
/// another account has beside its own; nothing is changed then.
pub async fn save_identity(
    State(state): State<AppState>,
    OnAccount { v, p, form: f }: OnAccount<IdentityForm>,
) -> Result<Response, PageError> {
    let mut typed = IdentityTyped {
        name: f.name,
        email: f.email,
        errors: FieldErrors::default(),
    };
    let (name, email) = name_and_email(v.lang, &typed.name, &typed.email, &mut typed.errors);
    if let (Some(name), Some(email)) = (name, email) {
        let change =
            state
                .store
                .set_person_identity(p.email.as_str(), &name, &email, Some(v.person.id));
        match change.await {
            Ok(_) => return Ok(saved(p.id)),
            Err(StoreError::Conflict { field: "email", .. }) => typed.errors.refuse(
                "email",
                v.lang.t("Un compte existe déjà avec cette adresse e-mail."),
            ),
            Err(e) => return Err(PageError::internal(&v, e)),
        }
    }
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        account_page(&state, &v, p.id, false, Some(&typed)).await?,
    )
        .into_response())
}

/// The name and e-mail typed in an account form, each parsed, or what is
/// wrong with it written beside its field in `errors`.
fn name_and_email(
    lang: Lang,
    name: &str,
    email: &str,
    errors: &mut FieldErrors,
) -> (Option<Name>, Option<Email>) {
    let name = Name::parse("name", name)
        .map_err(|_| errors.refuse("name", lang.t("Donnez le nom de la personne.")))
        .ok();
    let email = Email::parse(email)
        .map_err(|_| errors.refuse("email", not_an_email(email, lang, "rh@exemple.fr")))
        .ok();
    (name, email)
}

/// `POST /accounts/{id}/password`: asks, then gives the account a new
/// password, shown once, and ends its sessions (the viewer's own too, when
/// it is theirs).
pub async fn new_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    OnAccount { v, p, form: f }: OnAccount<ConfirmForm>,
) -> Result<Response, PageError> {
    let id = p.id;
    let lang = v.lang;
    let me = p.id == v.person.id;
    if f.confirmed.is_none() {
        let mut stops = vec![format!(
            "{}{}",
            lang.t("L'ancien mot de passe ne fonctionne plus pour "),
            p.email
        )];
        stops.push(
            if me {
                lang.t("Votre session se termine : vous vous reconnecterez avec le nouveau mot de passe.")
            } else {
                lang.t("Les sessions ouvertes de ce compte se terminent.")
            }
            .to_owned(),
        );
        return Ok(confirm_page(
            &v,
            &format!(
                "{}{}{}",
                lang.t("Nouveau mot de passe pour « "),
                p.name,
                lang.t(" » ?")
            ),
            &stops,
            &format!("/accounts/{id}/password"),
            (
                "confirm-password",
                lang.t("Oui, créer un nouveau mot de passe"),
            ),
            &format!("/accounts/{id}"),
        ));
    }
    let password = generate_password();
    state
        .store
        .set_person_password(
            p.email.as_str(),
            &hash_password(&password),
            Some(v.person.id),
        )
        .await
        .or_page(&v)?;
    let body = html! {
        p.ok id="done" role="status" {
            (lang.t("Nouveau mot de passe de ")) (p.name)
            (lang.t(", qui ne sera plus jamais affiché :"))
        }
        (shown_once(lang, &password, &headers, !me))
        @if me {
            p.notice { (lang.t("Votre session est terminée : notez ce mot de passe, puis reconnectez-vous.")) }
            p { a href="/login" { (lang.t("Se reconnecter")) } }
        } @else {
            p { a href={ "/accounts/" (id) } { (lang.t("Retour au compte")) } }
        }
    };
    let title = format!("{} · {}", lang.t("Compte"), p.name);
    // The session just ended: the frame is shown without its menu.
    let viewer = (!me).then_some(&v);
    Ok(page(viewer, lang, &title, body).into_response())
}

/// A generated password, shown this once, with the address to sign in at;
/// for `someone_else`'s account, that its owner replaces it at their first
/// sign-in (see `Person::must_choose_password`).
fn shown_once(lang: Lang, password: &str, headers: &HeaderMap, someone_else: bool) -> Markup {
    html! {
        @if someone_else {
            p.muted { (lang.t("À sa première connexion, la personne le remplacera par le sien dans « Mon compte » : les autres pages s'ouvriront ensuite.")) }
        }
        p { code.secret id="password" { (password) } }
        p { (lang.t("Adresse de connexion")) (lang.t(" : ")) code { (base_url(headers)) "/login" } }
    }
}

/// `POST /accounts/{id}/disable`: asks, then disables the account (its
/// sessions end, it signs in no more). Nobody disables themselves here.
pub async fn disable(
    State(state): State<AppState>,
    OnAccount { v, p, form: f }: OnAccount<ConfirmForm>,
) -> Result<Response, PageError> {
    let id = p.id;
    let lang = v.lang;
    if p.id == v.person.id {
        return Err(PageError::refused(
            &v,
            StatusCode::CONFLICT,
            lang.t("Vous ne pouvez pas désactiver votre propre compte : demandez-le à une autre personne qui gère les comptes."),
        ));
    }
    if f.confirmed.is_none() {
        let stops = [
            format!(
                "{}{}{}",
                lang.t("« "),
                p.name,
                lang.t(" » ne peut plus se connecter, et ses sessions ouvertes se terminent.")
            ),
            lang.t("Les clés API et les applications installées restent en service.")
                .to_owned(),
        ];
        return Ok(confirm_page(
            &v,
            &format!(
                "{}{}{}",
                lang.t("Désactiver le compte « "),
                p.name,
                lang.t(" » ?")
            ),
            &stops,
            &format!("/accounts/{id}/disable"),
            ("confirm-disable", lang.t("Oui, désactiver")),
            &format!("/accounts/{id}"),
        ));
    }
    set_disabled(&state, &v, &p, true).await
}

/// Disables (`disabled`) or enables account `p`, then shows its page again.
async fn set_disabled(
    state: &AppState,
    v: &Viewer,
    p: &Person,
    disabled: bool,
) -> Result<Response, PageError> {
    let store = &state.store;
    let change = store.set_person_disabled(p.email.as_str(), disabled, Some(v.person.id));
    change.await.map_err(|e| refusal(v, e))?;
    Ok(saved(p.id))
}

/// `POST /accounts/{id}/enable`: the account signs in again.
pub async fn enable(
    State(state): State<AppState>,
    OnAccount { v, p, .. }: OnAccount<super::layout::CsrfForm>,
) -> Result<Response, PageError> {
    set_disabled(&state, &v, &p, false).await
}

/// What `/me` says after an action.
#[derive(Deserialize, Default)]
pub struct MeQuery {
    /// Set after the password was changed.
    #[serde(default)]
    changed: Option<String>,
    /// Set after the name was changed.
    #[serde(default)]
    named: Option<String>,
}

/// The viewer's own account: `message` above it, and the password form
/// with `errors` beside its fields (`current`, `new`, `confirm`; the
/// passwords typed are never sent back).
fn my_account_page(v: &Viewer, message: Option<Markup>, errors: &FieldErrors) -> Response {
    my_page(v, message, errors, None)
}

/// The viewer's own account, as [`my_account_page`], with the name form
/// holding `typed` (a name refused) rather than their name.
fn my_page(
    v: &Viewer,
    message: Option<Markup>,
    errors: &FieldErrors,
    typed: Option<&str>,
) -> Response {
    let lang = v.lang;
    let p = &v.person;
    page(Some(v), lang, lang.t("Mon compte"), html! {
        @if let Some(m) = message { (m) }
        @if p.must_choose_password {
            p.notice id="choose-password" role="status" {
                (lang.t("Votre mot de passe a été choisi par quelqu'un d'autre : remplacez-le par le vôtre. Les autres pages s'ouvriront ensuite."))
            }
        }
        table.card id="account" {
            tbody {
                tr { th scope="row" { (lang.t("Nom")) } td { (p.name) } }
                tr { th scope="row" { (lang.t("E-mail")) } td { (p.email) } }
                tr { th scope="row" { (lang.t("Droits")) } td { (rights_of(p, lang)) } }
            }
        }
        h2 { (lang.t("Mon nom")) }
        form method="post" action="/me/name" id="name-form" {
            input type="hidden" name="csrf" value=(v.csrf);
            (errors.input(("my-name", "name", "text"), lang.t("Nom"), typed.unwrap_or(p.name.as_str())))
            p { button type="submit" id="save-name" { (lang.t("Enregistrer mon nom")) } }
        }
        h2 { (lang.t("Changer mon mot de passe")) }
        form method="post" action="/me/password" id="password-form" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="username" autocomplete="username" value=(p.email);
            label for="current" { (lang.t("Mot de passe actuel")) }
            input id="current" name="current" type="password" required autocomplete="current-password";
            (errors.beside("current"))
            label for="new" { (lang.t("Nouveau mot de passe")) }
            input id="new" name="new" type="password" required autocomplete="new-password" minlength=(crate::session::MIN_PASSWORD_CHARS);
            (errors.beside("new"))
            label for="confirm" { (lang.t("Le nouveau mot de passe, encore")) }
            input id="confirm" name="confirm" type="password" required autocomplete="new-password";
            (errors.beside("confirm"))
            p.muted { (lang.t("Vos autres sessions se terminent ; celle-ci continue.")) }
            p { button type="submit" id="change-password" { (lang.t("Changer le mot de passe")) } }
        }
    })
    .into_response()
}

/// `GET /me`: the viewer's own account, and changing its password.
pub async fn me(v: Viewer, Query(q): Query<MeQuery>) -> Response {
    let done = match (q.changed, q.named) {
        (Some(_), _) => Some("Mot de passe changé. Vos autres sessions sont terminées."),
        (None, Some(_)) => Some("Nom enregistré."),
        (None, None) => None,
    };
    let message = done.map(|said| html! { p.ok id="done" role="status" { (v.lang.t(said)) } });
    my_account_page(&v, message, &FieldErrors::default())
}

/// The name form of « Mon compte ».
#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// `POST /me/name`: the viewer renames their own account (their e-mail,
/// which they sign in with, is changed by someone who manages accounts);
/// an empty name is refused beside the field (422).
pub async fn change_my_name(
    State(state): State<AppState>,
    v: Viewer,
    PageForm(f): PageForm<NameForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.csrf)?;
    let Ok(name) = Name::parse("name", &f.name) else {
        let mut errors = FieldErrors::default();
        errors.refuse("name", v.lang.t("Donnez le nom de la personne."));
        let said = errors.summary(v.lang, "name-error", "Le nom n'a pas changé");
        let again = my_page(&v, Some(said), &errors, Some(&f.name));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, again).into_response());
    };
    let me = &v.person;
    state
        .store
        .set_person_identity(me.email.as_str(), &name, &me.email, Some(me.id))
        .await
        .or_page(&v)?;
    Ok(redirect("/me?named=1", vec![]))
}

/// The password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    /// The password now.
    #[serde(default)]
    current: String,
    /// The one wanted.
    #[serde(default)]
    new: String,
    /// The one wanted, typed again.
    #[serde(default)]
    confirm: String,
}

/// `POST /me/password`: changes the viewer's password when they give the
/// one they have. A wrong one counts as a failed sign-in (and is held back
/// as sign-ins are after several); the other sessions end, this one goes on.
pub async fn change_my_password(
    State(state): State<AppState>,
    v: Viewer,
    ClientAddress(address): ClientAddress,
    PageForm(f): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.csrf)?;
    let lang = v.lang;
    let account = v.person.email.as_str().to_lowercase();
    match sign_in_door(&state, &account, &address).await.or_page(&v)? {
        Door::Locked { until } => {
            record_sign_in(&state, &account, &address, SignInOutcome::Locked).await;
            let at = until
                .with_timezone(&chrono_tz::Europe::Paris)
                .format("%H:%M")
                .to_string();
            return Err(PageError::refused(
                &v,
                StatusCode::TOO_MANY_REQUESTS,
                lang.tf(
                    "Trop de tentatives infructueuses : la connexion est bloquée jusqu'à %{at}. Réessayez ensuite, ou demandez à un administrateur de vérifier votre compte.",
                    &[("at", &at)],
                ),
            ));
        }
        Door::Open { wait, .. } => tokio::time::sleep(wait).await,
    }
    let (person, hash) = state
        .store
        .person_by_email(v.person.email.as_str())
        .await
        .or_page(&v)?
        .ok_or_else(|| PageError::internal(&v, "the signed-in account is gone"))?;
    let mut errors = FieldErrors::default();
    if !verify_password(&f.current, &hash) {
        record_sign_in(&state, &account, &address, SignInOutcome::Failed).await;
        errors.refuse("current", lang.t("Ce n'est pas votre mot de passe actuel."));
    }
    let least = crate::session::MIN_PASSWORD_CHARS;
    if f.new.chars().count() < least {
        errors.refuse(
            "new",
            lang.tf(
                "Un mot de passe tient en %{n} caractères au moins.",
                &[("n", &least)],
            ),
        );
    } else if f.new == f.current {
        errors.refuse(
            "new",
            lang.t("Choisissez un mot de passe différent de l'actuel."),
        );
    }
    if f.confirm != f.new {
        errors.refuse(
            "confirm",
            lang.t("Les deux saisies du nouveau mot de passe diffèrent."),
        );
    }
    if !errors.is_empty() {
        let msg = errors.summary(lang, "password-error", "Le mot de passe n'a pas changé");
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            my_account_page(&v, Some(msg), &errors),
        )
            .into_response());
    }
    state
        .store
        .set_person_password(
            person.email.as_str(),
            &hash_password(&f.new),
            Some(person.id),
        )
        .await
        .or_page(&v)?;
    // Every session ended with the old password; this one opens again.
    let cookie = open_session(&state, &person).await.or_page(&v)?;
    Ok(redirect("/me?changed=1", vec![cookie]))
}
