//! API keys: the list, creating, rotating and revoking one, and a key's
//! page: its audit trail and its webhook endpoints (their section and
//! actions are `webhooks.rs`'s, reached from here).

use super::grants::{self, GrantNames};
use super::installed::DoneQuery;
use super::layout::{
    base_url, column_heads_paris, confirm_page, grant_label, not_an_email, page, paris_cell,
    paris_time, refuse_csrf, refuse_keys, time_cell, ConfirmForm, FieldErrors, OrPage, PageError,
    PageForm, PagePath,
};
use crate::catalog::Catalog;
use crate::session::{redirect, Viewer};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};
use relais_api::AppState;
use relais_app::keys::create_key as make_key;
use relais_core::access::{ApiKey, KeyUsage, Role};
use relais_core::employee::Email;
use relais_core::ids::{EndpointId, KeyId};
use relais_core::org::Name;
use relais_core::retention::in_days;
use serde::Deserialize;
use std::sync::Arc;

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
    pub(crate) name: String,
    pub(crate) contact: String,
    pub(crate) usage: String,
    pub(crate) grants: Vec<String>,
    pub(crate) extra: String,
    pub(crate) errors: FieldErrors,
}

async fn keys_page(
    state: &AppState,
    v: &Viewer,
    message: Option<Markup>,
) -> Result<Response, PageError> {
    keys_page_typed(state, v, message, &KeyFormTyped::default()).await
}

async fn keys_page_typed(
    state: &AppState,
    v: &Viewer,
    message: Option<Markup>,
    typed: &KeyFormTyped,
) -> Result<Response, PageError> {
    let lang = v.lang;
    // Each key's last use, with this process's latest requests written.
    state.audit.flush().await;
    let keys = state.store.list_api_keys(v.base.id).await.or_page(v)?;
    let names = GrantNames::load(state, v).await?;
    Ok(page(Some(v), lang, lang.t("Clés API"), html! {
        @if let Some(m) = message { (m) }
        p.muted {
            (lang.t("Ce que chaque clé lit et écrit par l'API : "))
            a id="api-reference" href="/api-reference" { (lang.t("Référence de l'API")) } "."
        }
        table id="keys" {
            (column_heads_paris(lang, &["#", "Nom", "Contact", "Usage", "Droits", "Dernière utilisation", ""], &["Dernière utilisation"]))
            tbody {
                @for k in &keys {
                    tr data-key=(k.id) {
                        td { a href={ "/keys/" (k.id) } { (k.id) } }
                        td { (k.name) }
                        td { (k.contact) }
                        td { (usage_label(k.usage, lang)) }
                        td { (grants_of(&k.role, &names, lang)) }
                        td { @match k.last_used_at { Some(t) => (paris_cell(t, lang)), None => (lang.t("jamais")) } }
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
                                    small.muted { (lang.t("ancien secret valable jusqu'au ")) (paris_time(until, lang)) }
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
            (typed.errors.input(("key-name", "name", "text"), lang.t("Nom"), &typed.name))
            (typed.errors.input(("key-contact", "contact", "email"), lang.t("E-mail du contact technique"), &typed.contact))
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
    }).into_response())
}

/// `GET /keys`.
pub async fn keys(
    State(state): State<AppState>,
    v: Viewer,
    Query(done): Query<DoneQuery>,
) -> Result<Response, PageError> {
    refuse_keys(&v)?;
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
    PageForm(f): PageForm<super::layout::Fields>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, f.one(&v, "csrf")?)?;
    refuse_keys(&v)?;
    let lang = v.lang;
    let checked: Vec<String> = f.every("grant").map(str::to_owned).collect();
    // Every field checked, every mistake said beside its field at once.
    let mut typed = KeyFormTyped {
        name: f.one(&v, "name")?.to_owned(),
        contact: f.one(&v, "contact")?.to_owned(),
        usage: f.one(&v, "usage")?.to_owned(),
        grants: checked.clone(),
        extra: f.one(&v, "extra")?.to_owned(),
        errors: FieldErrors::default(),
    };
    let mut grants = checked;
    grants.extend(
        typed
            .extra
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned),
    );
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
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            keys_page_typed(&state, &v, Some(msg), &typed).await,
        )
            .into_response());
    };
    match make_key(
        &state.store,
        v.base.id,
        name,
        contact,
        usage,
        role,
        v.actor(),
    )
    .await
    {
        Ok((key, secret)) => {
            let msg = html! {
                p.ok { (lang.t("Clé créée ; elle ne sera plus jamais affichée.")) }
                p { (lang.t("URL de la base")) (lang.t(" : ")) code id="base-url" { (base_url(&headers)) } }
                p { "#" (key.id) (lang.t(" : ")) code.secret id="api-key" { (secret) } }
            };
            keys_page(&state, &v, Some(msg)).await
        }
        Err(e) => Err(PageError::internal(&v, e)),
    }
}

/// Key `id` if it opens the viewer's base (and, when `live`, is not
/// revoked); else the page saying there is no such key here.
async fn key_of_base(
    state: &AppState,
    v: &Viewer,
    id: KeyId,
    live: bool,
) -> Result<ApiKey, PageError> {
    // Its last use, with this process's latest requests written.
    state.audit.flush().await;
    match state.store.get_api_key(id).await {
        Ok(k) if k.base_id == v.base.id && (!live || k.revoked_at.is_none()) => Ok(k),
        Ok(_) | Err(relais_store::StoreError::NotFound { .. }) => Err(PageError::refused(
            v,
            StatusCode::NOT_FOUND,
            if live {
                v.lang
                    .t("Cette clé n'existe pas sur cette base, ou elle est révoquée.")
            } else {
                v.lang.t("Cette clé n'existe pas sur cette base.")
            },
        )),
        Err(e) => Err(PageError::internal(v, e)),
    }
}

/// `POST /keys/{id}/revoke`.
pub async fn revoke_key(
    State(state): State<AppState>,
    v: Viewer,
    Extension(catalog): Extension<Arc<Catalog>>,
    PagePath(id): PagePath<KeyId>,
    PageForm(f): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.csrf)?;
    refuse_keys(&v)?;
    let lang = v.lang;
    let key = key_of_base(&state, &v, id, false).await?;
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
            Some(t) => format!(
                "{}{}",
                lang.t("Dernière utilisation : "),
                paris_time(t, lang)
            ),
            None => lang.t("Elle n'a jamais servi.").to_owned(),
        });
        return Ok(confirm_page(
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
        ));
    }
    relais_app::keys::revoke_key(&state.store, id, v.actor())
        .await
        .or_page(&v)?;
    Ok(redirect(&format!("/keys?revoked={id}"), Vec::new()))
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
    pub(crate) csrf: String,
    /// Set by the confirmation page's button.
    #[serde(default)]
    pub(crate) confirmed: Option<String>,
    /// Seconds the previous secret stays valid (one of [`GRACE_CHOICES`]).
    #[serde(default)]
    pub(crate) grace: Option<String>,
}

/// `POST /keys/{id}/rotate`: asks for the grace period, then gives the key
/// a new secret, shown once; the old one opens the key until the grace ends.
pub async fn rotate_key(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    PagePath(id): PagePath<KeyId>,
    PageForm(f): PageForm<RotateForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.csrf)?;
    refuse_keys(&v)?;
    let lang = v.lang;
    let key = key_of_base(&state, &v, id, true).await?;
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
        return Ok((status, page(Some(&v), lang, &title, body)).into_response());
    }
    let grace = chrono::Duration::seconds(grace.flatten().unwrap_or(0));
    match relais_app::keys::rotate_key(&state.store, id, grace, v.actor()).await {
        Ok((key, secret)) => {
            let msg = html! {
                p.ok id="done" role="status" {
                    (lang.t("Clé « ")) (key.name) (lang.t(" » renouvelée ; son nouveau secret ne sera plus jamais affiché. "))
                    @match key.previous_valid_until.filter(|u| *u > relais_core::now()) {
                        Some(until) => { (lang.t("L'ancien reste valable jusqu'au ")) (paris_time(until, lang)) "." },
                        None => { (lang.t("L'ancien ne fonctionne plus.")) },
                    }
                }
                p { (lang.t("URL de la base")) (lang.t(" : ")) code id="base-url" { (base_url(&headers)) } }
                p { "#" (key.id) (lang.t(" : ")) code.secret id="api-key" { (secret) } }
            };
            keys_page(&state, &v, Some(msg)).await
        }
        Err(e) => Err(PageError::internal(&v, e)),
    }
}

/// `GET /keys/{id}`: the audit trail of one key.
pub async fn key_audit(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<KeyId>,
) -> Result<Response, PageError> {
    refuse_keys(&v)?;
    let key = key_of_base(&state, &v, id, false).await?;
    key_page(&state, &v, &key, None, None).await
}

/// `POST /keys/{id}/webhooks`: registers an endpoint and shows its secret
/// once, on the key's page.
pub async fn add_webhook(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<KeyId>,
    PageForm(f): PageForm<super::layout::Fields>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, f.one(&v, "csrf")?)?;
    refuse_keys(&v)?;
    let key = key_of_base(&state, &v, id, true).await?;
    let (notice, added) = super::webhooks::create(&state, &v, &key, &f).await?;
    // Refused: the form again as it was filled in, beside why.
    let refill = (!added).then_some(&f);
    let mut answer = key_page(&state, &v, &key, Some(notice), refill).await?;
    if !added {
        *answer.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(answer)
}

/// `POST /keys/{id}/webhooks/{endpoint}/{action}`: tests, activates,
/// rotates the secret of, replays or deletes one of the key's endpoints,
/// then shows them again.
pub async fn act_on_webhook(
    State(state): State<AppState>,
    v: Viewer,
    PagePath((id, endpoint, action)): PagePath<(KeyId, EndpointId, String)>,
    PageForm(f): PageForm<super::layout::Fields>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, f.one(&v, "csrf")?)?;
    refuse_keys(&v)?;
    let key = key_of_base(&state, &v, id, true).await?;
    match super::webhooks::act(&state, &v, &key, endpoint, &action, &f).await? {
        // A new secret, shown once: on the page answered, not after a redirect.
        Some(notice) => key_page(&state, &v, &key, Some(notice), None).await,
        None => Ok(redirect(&format!("/keys/{id}#webhooks"), vec![])),
    }
}

/// What a key may do: each grant in words (see [`grants::in_words`]).
fn grants_of(role: &Role, names: &GrantNames, lang: crate::session::Lang) -> Markup {
    html! {
        ul.fields.grants {
            @for c in role.codes() { li { (grants::in_words(&c, names, lang)) } }
        }
    }
}

/// Who a key is for, in the reader's language.
fn usage_label(usage: relais_core::access::KeyUsage, lang: crate::session::Lang) -> &'static str {
    match usage {
        relais_core::access::KeyUsage::Internal => lang.t("interne"),
        relais_core::access::KeyUsage::ThirdParty => lang.t("éditeur tiers"),
    }
}

/// A key's page: its grants, its webhook endpoints (with `notice`, what
/// was just done to them, and `refill`, a refused endpoint's form as it was
/// filled in) and its audit trail.
async fn key_page(
    state: &AppState,
    v: &Viewer,
    key: &ApiKey,
    notice: Option<Markup>,
    refill: Option<&super::layout::Fields>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    // What this process answered is written before it is read.
    state.audit.flush().await;
    let trail = state.store.list_requests(key.id, 200).await.or_page(v)?;
    let names = GrantNames::load(state, v).await?;
    let webhooks = super::webhooks::section(state, v, key, notice, refill).await?;
    let history =
        super::activity::history_of(state, v, (relais_core::activity::TargetKind::Key, key.id.0))
            .await?;
    Ok(page(Some(v), lang, &format!("{} · {}", lang.t("Journal de la clé"), key.name), html! {
        p { (usage_label(key.usage, lang)) }
        (grants_of(&key.role, &names, lang))
        (webhooks)
        (history)
        h2 { (lang.t("Requêtes")) }
        p.muted id="audit-retention" {
            (lang.t("Chaque requête est conservée ")) (in_days(state.retention.audit)) (lang.t(" jours, puis supprimée."))
        }
        table id="audit" {
            (column_heads_paris(lang, &["Quand", "Requête", "Statut", "Collaborateurs renvoyés"], &["Quand"]))
            tbody { @for r in &trail { tr { td { (time_cell(r.at, chrono_tz::Europe::Paris, true, lang)) } td { code { (r.method) " " (r.path) } } td.n { (r.status) } td.n { (r.employee_records) } } } }
        }
    }).into_response())
}
