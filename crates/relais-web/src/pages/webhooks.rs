//! A key's webhook endpoints, on the key's page: each with its status and
//! why, its latest deliveries (attempts, last answer, latency, next try),
//! and buttons to send a test event, activate it again or delete it; a form
//! registers a new one, whose signing secret is shown once.

use super::layout::{column_heads_paris, paris_cell, Fields, OrPage, PageError};
use crate::session::{Lang, Viewer};
use maud::{html, Markup};
use relais_api::auth::Caller;
use relais_api::resources::events::followed_topics;
use relais_api::resources::webhooks::{
    activate, register, replay, rotate, send_test, Registration, ROTATION_GRACE,
};
use relais_api::AppState;
use relais_core::access::ApiKey;
use relais_core::events::{EventAction, EventKind, Topic, TopicFilter};
use relais_core::ids::EndpointId;
use relais_core::ids::EstablishmentId;
use relais_core::org::Establishment;
use relais_core::webhooks::{DeliveryStatus, Endpoint, EndpointStatus, WebhookFault, TEST_TOPIC};
use std::sync::Arc;

/// Deliveries shown per endpoint.
const SHOWN: u32 = 10;

fn status_label(s: EndpointStatus, lang: Lang) -> &'static str {
    match s {
        EndpointStatus::Active => lang.t("actif"),
        EndpointStatus::Inactive => lang.t("inactif"),
        EndpointStatus::Suspended => lang.t("suspendu"),
    }
}

fn delivery_label(s: DeliveryStatus, lang: Lang) -> &'static str {
    match s {
        DeliveryStatus::Pending => lang.t("en attente"),
        DeliveryStatus::Delivered => lang.t("remis"),
        DeliveryStatus::Failed => lang.t("abandonné"),
    }
}

/// The events an endpoint is sent, in words: each kind of record with the
/// changes followed (« départements : création, modification »).
fn topics_text(e: &Endpoint, lang: Lang) -> String {
    if e.setup.topics.is_empty() {
        return lang.t("tous les événements que la clé lit").to_owned();
    }
    let code = lang.code();
    EventKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let actions: Vec<&str> = EventAction::ALL
                .into_iter()
                .filter(|&action| {
                    e.setup
                        .topics
                        .iter()
                        .any(|f| f.admits(Topic { kind, action }))
                })
                .map(|a| a.label(code))
                .collect();
            (!actions.is_empty()).then(|| kind.label_with(&actions.join(", "), code))
        })
        .collect::<Vec<_>>()
        .join(" ; ")
}

/// A delivery's event in words: its topic's label, or the test event's.
fn event_text(topic: &str, lang: Lang) -> String {
    match topic.parse::<Topic>() {
        Ok(t) => t.label(lang.code()),
        Err(_) if topic == TEST_TOPIC => lang.t("événement de test").to_owned(),
        Err(_) => topic.to_owned(),
    }
}

/// The establishments `ids` by name, in the base's order (one the base no
/// longer has by its number).
fn names_of(ids: &[EstablishmentId], known: &[Establishment]) -> String {
    let mut names: Vec<String> = known
        .iter()
        .filter(|e| ids.contains(&e.id))
        .map(|e| e.name.to_string())
        .collect();
    names.extend(
        ids.iter()
            .filter(|id| !known.iter().any(|e| e.id == **id))
            .map(|id| format!("n° {id}")),
    );
    names.join(", ")
}

/// Its first letter in capitals, for a label that starts a line.
fn capitalised(label: &str) -> String {
    let mut chars = label.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The form's choice of events: all the key reads (now and later), or
/// those checked, among the kinds of records the key reads, a row each.
fn topics_choice(key: &ApiKey, lang: Lang, refill: Option<&Fields>) -> Markup {
    let code = lang.code();
    let chosen = refill.is_some_and(|f| f.every("which").any(|w| w == "chosen"));
    let ticked =
        |topic: Topic| refill.is_some_and(|f| f.every("topic").any(|t| t == topic.to_string()));
    let mut kinds: Vec<EventKind> = followed_topics(&key.role, &[])
        .into_iter()
        .map(|t| t.kind)
        .collect();
    kinds.dedup();
    html! {
        fieldset id="webhook-topics" {
            legend { (lang.t("Événements envoyés")) }
            label { input type="radio" name="which" value="all" checked[!chosen]; " " (lang.t("Tous ceux que la clé lit, et ceux qu'elle lira si ses droits changent")) }
            label { input type="radio" name="which" value="chosen" checked[chosen]; " " (lang.t("Seulement ceux cochés :")) }
            div.scroll {
                table.topics {
                    thead { tr {
                        th scope="col" { (lang.t("Données")) }
                        @for a in EventAction::ALL { th scope="col" { (capitalised(a.label(code))) } }
                    } }
                    tbody { @for kind in &kinds { tr {
                        th scope="row" { (capitalised(kind.label(code))) }
                        @for action in EventAction::ALL {
                            @let topic = Topic { kind: *kind, action };
                            td { input type="checkbox" name="topic" value=(topic) aria-label=(topic.label(code)) checked[ticked(topic)]; }
                        }
                    } } }
                }
            }
        }
    }
}

/// The webhooks section of a key's page; `notice` says what was just done
/// (a new endpoint's secret, or why it was refused), and `refill` is the
/// refused form as it was filled in, to be put right rather than typed again.
pub(crate) async fn section(
    state: &AppState,
    v: &Viewer,
    key: &ApiKey,
    notice: Option<Markup>,
    refill: Option<&Fields>,
) -> Result<Markup, PageError> {
    let lang = v.lang;
    let endpoints = state.store.endpoints_of_key(key.id).await.or_page(v)?;
    let mut deliveries = Vec::with_capacity(endpoints.len());
    for e in &endpoints {
        deliveries.push(
            state
                .store
                .list_deliveries(e.id, &relais_store::DeliveryQuery::latest(SHOWN))
                .await
                .or_page(v)?,
        );
    }
    let live = key.revoked_at.is_none();
    // The establishments the key sees, by name.
    let establishments: Vec<Establishment> = state
        .store
        .list_establishments(key.base_id)
        .await
        .or_page(v)?
        .into_iter()
        .filter(|e| {
            key.role
                .establishments
                .as_ref()
                .is_none_or(|mine| mine.contains(&e.id))
        })
        .collect();
    let refilled = |name: &'static str| refill.and_then(|f| f.every(name).next());
    let ticked =
        |name: &str, value: &str| refill.is_some_and(|f| f.every(name).any(|v| v == value));
    Ok(html! {
        section id="webhooks" aria-labelledby="webhooks-title" {
            h2 id="webhooks-title" { (lang.t("Webhooks")) }
            p { (lang.t("Chaque modification que cette clé peut lire est envoyée, signée, aux adresses ci-dessous, au moins une fois, dans l'ordre.")) }
            @if let Some(n) = notice { (n) }
            @if endpoints.is_empty() {
                p id="no-webhooks" { (lang.t("Aucun point d'accès.")) }
            }
            @for (e, sent) in endpoints.iter().zip(&deliveries) {
                article.webhook id={ "webhook-" (e.id) } {
                    h3 { (e.setup.name) }
                    p { code { (e.setup.url) } }
                    p {
                        (lang.t("Statut : ")) strong.status { (status_label(e.status, lang)) }
                        @if let Some(why) = &e.status_reason { " — " (WebhookFault::read(why, lang.code())) }
                    }
                    p { (lang.t("Événements : ")) (topics_text(e, lang)) }
                    @if let Some(only) = &e.setup.establishments {
                        p { (lang.t("Établissements : ")) (names_of(only, &establishments)) }
                    }
                    @if live {
                        div.actions {
                            @for (action, label) in [("test", lang.t("Envoyer un événement de test")), ("activate", lang.t("Réactiver")), ("rotate", lang.t("Nouveau secret de signature")), ("delete", lang.t("Supprimer"))] {
                                form method="post" action={ "/keys/" (key.id) "/webhooks/" (e.id) "/" (action) } {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button type="submit" { (label) }
                                }
                            }
                        }
                    }
                    @if sent.is_empty() {
                        p { (lang.t("Aucun envoi pour l'instant.")) }
                    } @else {
                        div.scroll {
                            table {
                                caption { (lang.t("Derniers envois")) }
                                (column_heads_paris(lang, &["Quand", "Événement", "État", "Tentatives", "Dernière réponse", "Durée (ms)", "Prochain essai", "Renvoi"], &["Quand", "Prochain essai"]))
                                tbody { @for d in sent { tr {
                                    td { (paris_cell(d.created_at, lang)) }
                                    td { (event_text(&d.topic, lang)) }
                                    td { (delivery_label(d.status, lang)) }
                                    td.n { (d.attempts) }
                                    td { @if let Some(e) = &d.last_error { (WebhookFault::read(e, lang.code())) } @else if let Some(s) = d.last_status { (s) } }
                                    td.n { @if let Some(ms) = d.last_latency_ms { (ms) } }
                                    td { @if d.status == DeliveryStatus::Pending { @if let Some(t) = d.next_attempt_at { (paris_cell(t, lang)) } } }
                                    td { @if live && d.event_seq > 0 {
                                        form method="post" action={ "/keys/" (key.id) "/webhooks/" (e.id) "/replay" } {
                                            input type="hidden" name="csrf" value=(v.csrf);
                                            input type="hidden" name="after" value=(d.event_seq - 1);
                                            button type="submit" { (lang.t("Renvoyer depuis celui-ci")) }
                                        }
                                    } }
                                } } }
                            }
                        }
                    }
                }
            }
            @if live {
                form method="post" action={ "/keys/" (key.id) "/webhooks" } id="new-webhook" {
                    input type="hidden" name="csrf" value=(v.csrf);
                    h3 { (lang.t("Nouveau point d'accès")) }
                    label for="webhook-url" { (lang.t("Adresse (https://…)")) }
                    input id="webhook-url" name="url" type="url" required value=[refilled("url")];
                    label for="webhook-name" { (lang.t("Nom")) }
                    input id="webhook-name" name="name" type="text" maxlength="200" value=[refilled("name")];
                    (topics_choice(key, lang, refill))
                    @if establishments.len() > 1 {
                        fieldset id="webhook-establishments" {
                            legend { (lang.t("Établissements (aucun coché : tous ceux que la clé voit)")) }
                            @for e in &establishments {
                                label { input type="checkbox" name="establishment" value=(e.id) checked[ticked("establishment", &e.id.to_string())]; " " (e.name) }
                            }
                        }
                    }
                    button type="submit" { (lang.t("Ajouter")) }
                }
            }
        }
    })
}

/// The caller a key is, for the API's use cases.
async fn caller_of(state: &AppState, v: &Viewer, key: ApiKey) -> Result<Caller, PageError> {
    let version = state.store.base_version(key.base_id).await.or_page(v)?;
    Ok(Caller::new(Arc::new(key), version))
}

/// Registers the endpoint the form `f` describes for `key` (the viewer may
/// manage it: the key page's handler checked): the notice says so and
/// shows its secret once, or says why it was not added; and whether it was.
pub(crate) async fn create(
    state: &AppState,
    v: &Viewer,
    key: &ApiKey,
    f: &Fields,
) -> Result<(Markup, bool), PageError> {
    let lang = v.lang;
    let (url, name) = (f.one(v, "url")?.to_owned(), f.one(v, "name")?.to_owned());
    let topics: Result<Vec<TopicFilter>, String> = match f.one(v, "which")? {
        "" | "all" => Ok(Vec::new()),
        "chosen" => f
            .every("topic")
            .map(str::parse)
            .collect::<Result<Vec<TopicFilter>, _>>()
            .map_err(|e| e.to_string())
            .and_then(|chosen| {
                if chosen.is_empty() {
                    Err(lang
                        .t("cochez au moins un événement, ou choisissez de tous les envoyer.")
                        .to_owned())
                } else {
                    Ok(chosen)
                }
            }),
        other => Err(lang.tf(
            "« %{which} » n'est pas un choix d'événements : « all » ou « chosen ».",
            &[("which", &other)],
        )),
    };
    let establishments: Result<Vec<EstablishmentId>, String> =
        f.every("establishment").map(str::parse).collect();
    let caller = caller_of(state, v, key.clone()).await?;
    // An address webhooks may not go to is refused in the viewer's
    // language (the use case checks it again for the API's callers).
    let reach = state
        .webhook_reach
        .check(url.trim())
        .map_err(|fault| fault.text(lang.code()));
    let outcome = match (topics, establishments, reach) {
        (Ok(topics), Ok(establishments), Ok(())) => register(
            state,
            &caller,
            Registration {
                url,
                name: Some(name),
                topics,
                establishments: (!establishments.is_empty()).then_some(establishments),
                by: v.actor(),
            },
        )
        .await
        .map_err(|e| e.message_in(lang.code())),
        (Err(why), _, _) | (_, Err(why), _) | (_, _, Err(why)) => Err(why),
    };
    let added = outcome.is_ok();
    let notice = match outcome {
        Ok((endpoint, secret)) => html! {
            div.notice role="status" id="webhook-created" {
                p { (lang.t("Point d'accès ajouté. Son secret de signature ne sera plus jamais affiché : ")) code.secret id="webhook-secret" { (secret.reveal()) } }
                @if endpoint.status != EndpointStatus::Active {
                    p { (lang.t("Il est inactif : ")) (endpoint.status_reason.as_deref().map(|r| WebhookFault::read(r, lang.code())).unwrap_or_default()) }
                }
            }
        },
        Err(e) => html! {
            div.error role="alert" id="webhook-refused" {
                p { (lang.t("Le point d'accès n'a pas été ajouté : ")) (e) }
            }
        },
    };
    Ok((notice, added))
}

/// Tests, activates, rotates the secret of, replays (`after`, a cursor, in
/// the form `f`) or deletes `endpoint` of `key` (the viewer may manage it:
/// the key page's handler checked); another endpoint, or another action,
/// is refused as not found. A new secret comes back as a notice, to be
/// shown once.
pub(crate) async fn act(
    state: &AppState,
    v: &Viewer,
    key: &ApiKey,
    endpoint: EndpointId,
    action: &str,
    f: &Fields,
) -> Result<Option<Markup>, PageError> {
    let lang = v.lang;
    let e = match state.store.endpoint(endpoint).await {
        Ok(e) if e.setup.key_id == key.id => e,
        Ok(_) | Err(relais_store::StoreError::NotFound { .. }) => {
            return Err(PageError::refused(
                v,
                axum::http::StatusCode::NOT_FOUND,
                lang.t("Ce point d'accès n'existe pas pour cette clé."),
            ))
        }
        Err(e) => return Err(PageError::internal(v, e)),
    };
    let mut notice = None;
    let done = match action {
        "test" => send_test(state, &e, v.actor()).await,
        "activate" => activate(state, &e, v.actor()).await,
        "rotate" => rotate(state, &e, v.actor()).await.map(|secret| {
            notice = Some(html! {
                div.notice role="status" id="webhook-rotated" {
                    p { (e.setup.name) (lang.t(" : ")) (lang.t("nouveau secret de signature, qui ne sera plus jamais affiché : ")) code.secret id="webhook-secret" { (secret.reveal()) } }
                    p { (lang.tf("L'ancien signe encore les messages pendant %{hours} heures, le temps de donner le nouveau au destinataire.", &[("hours", &ROTATION_GRACE.num_hours())])) }
                }
            });
        }),
        "replay" => {
            let after = f.one(v, "after")?;
            match after.parse::<i64>() {
                Ok(after) => replay(state, &e, after, v.actor()).await,
                Err(_) => Err(relais_core::DomainError::new(
                    "after",
                    format!("'{after}' is not a cursor"),
                )
                .into()),
            }
        }
        "delete" => state
            .store
            .delete_endpoint(e.id, v.actor())
            .await
            .map_err(Into::into),
        _ => {
            return Err(PageError::refused(
                v,
                axum::http::StatusCode::NOT_FOUND,
                lang.t("Cette action n'existe pas."),
            ))
        }
    };
    done.map_err(|e| match e {
        // Another change to the endpoint's deliveries came first: say so.
        relais_api::ApiError::Store(relais_store::StoreError::Conflict { .. }) => {
            PageError::refused(
                v,
                axum::http::StatusCode::CONFLICT,
                lang.t("Le point d'accès a changé entre-temps : recommencez."),
            )
        }
        // A form that is not the page's (a cursor out of range).
        relais_api::ApiError::Store(relais_store::StoreError::Domain(why)) => PageError::refused(
            v,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{} {}",
                lang.t("Ce formulaire n'a pas pu être lu :"),
                why.message_in(lang.code())
            ),
        ),
        e => PageError::internal(v, e),
    })?;
    Ok(notice)
}
