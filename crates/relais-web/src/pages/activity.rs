//! « Journal d'activité »: who did what to keys, installed apps and their
//! settings, webhook endpoints, test bases and accounts, newest first, by
//! pages; and the same journal of one key on its page.

use super::layout::{
    column_heads_paris, page, paris_cell, reads_journal, refuse_journal, stacked_label, OrPage,
    PageError,
};
use crate::session::{Lang, Viewer};
use crate::sheets::{csv_file, csv_part, csv_rows};
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use relais_core::activity::{Action, Activity, ActivityQuery, Actor, TargetKind};
use relais_core::ids::{ActivityId, PersonId};
use relais_core::retention::in_days;
use serde::Deserialize;

/// Entries a page of the journal shows.
const PAGE: u32 = 50;

/// An action as people read it (in French, translated as shown).
fn label(action: Action) -> &'static str {
    match action {
        Action::KeyCreated => "Clé API créée",
        Action::KeyRotated => "Clé API renouvelée",
        Action::KeyRevoked => "Clé API révoquée",
        Action::AppInstalled => "Application installée",
        Action::AppUninstalled => "Application désinstallée",
        Action::SettingsChanged => "Réglages de l'intégration enregistrés",
        Action::MappingChanged => "Correspondance des champs enregistrée",
        Action::RunAsked => "Synchronisation demandée",
        Action::WebhookCreated => "Point d'accès webhook ajouté",
        Action::WebhookRotated => "Secret de webhook renouvelé",
        Action::WebhookDeleted => "Point d'accès webhook supprimé",
        Action::WebhookReplayed => "Événements renvoyés au webhook",
        Action::WebhookStatus => "État du webhook changé",
        Action::WebhookTested => "Événement de test envoyé au webhook",
        Action::BaseRefreshed => "Base de test rafraîchie",
        Action::AccountCreated => "Compte créé",
        Action::AccountRights => "Droits du compte changés",
        Action::AccountPassword => "Nouveau mot de passe du compte",
        Action::AccountDisabled => "Compte désactivé",
        Action::AccountEnabled => "Compte réactivé",
        Action::AccountIdentity => "Nom ou e-mail du compte changé",
    }
}

/// The kinds of record whose entries the viewer reads: keys, their webhook
/// endpoints and accounts with « Gestion des rôles et des clés API » (who
/// may see those), installed apps and test bases with either right.
fn readable(v: &Viewer) -> Vec<TargetKind> {
    let mut kinds = vec![TargetKind::Installation, TargetKind::Base];
    if v.person.can_manage_keys {
        kinds.extend([TargetKind::Key, TargetKind::Endpoint, TargetKind::Account]);
    }
    kinds
}

/// The address of an entry's record, where the viewer may open it.
fn link(v: &Viewer, entry: &Activity) -> Option<String> {
    match entry.action.target() {
        TargetKind::Key if v.person.can_manage_keys => Some(format!("/keys/{}", entry.target)),
        TargetKind::Account if v.person.can_manage_keys => {
            Some(format!("/accounts/{}", entry.target))
        }
        _ => None,
    }
}

/// Who made an entry's change, as text (for a file).
fn who_text(lang: Lang, entry: &Activity) -> String {
    let name = entry.by_name.as_deref().unwrap_or("?");
    match entry.by {
        Actor::Person(_) => name.to_owned(),
        Actor::Key(_) => format!("{}{name}{}", lang.t("clé API « "), lang.t(" »")),
        Actor::CommandLine => lang.t("ligne de commande").to_owned(),
        Actor::Relais => lang.t("relais lui-même").to_owned(),
    }
}

/// Who made an entry's change: a person leads to their entries, a key to
/// its page (for who may open it); otherwise the words of [`who_text`].
fn who(v: &Viewer, entry: &Activity) -> Markup {
    let lang = v.lang;
    let name = entry.by_name.as_deref().unwrap_or("?");
    match entry.by {
        Actor::Person(p) => html! { a href={ "/activity?by=" (p) } { (name) } },
        Actor::Key(k) if v.person.can_manage_keys => html! {
            (lang.t("clé API « ")) a href={ "/keys/" (k) } { (name) } (lang.t(" »"))
        },
        Actor::Key(_) => html! { (who_text(lang, entry)) },
        Actor::CommandLine | Actor::Relais => html! { span.muted { (who_text(lang, entry)) } },
    }
}

/// What an entry's detail says, in the reader's language.
fn detail(lang: Lang, entry: &Activity) -> Option<String> {
    let raw = entry.detail.as_deref()?;
    Some(match entry.action {
        Action::BaseRefreshed => lang.tf("depuis « %{base} »", &[("base", &raw)]),
        Action::WebhookReplayed => lang.tf("après l'événement %{cursor}", &[("cursor", &raw)]),
        Action::AccountIdentity => lang.tf("avant : %{before}", &[("before", &raw)]),
        Action::WebhookStatus => {
            let (code, why) = relais_core::webhooks::read_status_detail(raw, lang.code());
            let status = match code {
                "active" => lang.t("actif"),
                "inactive" => lang.t("inactif"),
                "suspended" => lang.t("suspendu"),
                other => other,
            };
            match why {
                Some(why) => format!("{status}{}{why}", lang.t(" : ")),
                None => status.to_owned(),
            }
        }
        Action::RunAsked => raw
            .split(',')
            .map(|flag| match flag {
                "full" => lang.t("complète"),
                "dry-run" => lang.t("à blanc"),
                other => other,
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => raw.to_owned(),
    })
}

/// The journal's entries about one record (a key, an installed app), for
/// its page: empty markup for people who may not read the journal.
pub(crate) async fn history_of(
    state: &AppState,
    v: &Viewer,
    target: (TargetKind, i64),
) -> Result<Markup, PageError> {
    if !reads_journal(v) {
        return Ok(html! {});
    }
    let entries = state
        .store
        .list_activity(&ActivityQuery {
            target: Some(target),
            limit: PAGE,
            ..Default::default()
        })
        .await
        .or_page(v)?;
    Ok(html! {
        h2 { (v.lang.t("Historique")) }
        div id="history" { (entries_table(v, &entries)) }
    })
}

/// A table of journal entries.
fn entries_table(v: &Viewer, entries: &[Activity]) -> Markup {
    let lang = v.lang;
    html! {
        @if entries.is_empty() {
            p.muted id="no-activity" { (lang.t("Rien n'a encore été fait ici.")) }
        } @else {
            table.activity.stack {
                (column_heads_paris(lang, &["Quand", "Qui", "Action", "Sur", "Base"], &["Quand"]))
                tbody {
                    @for e in entries {
                        tr data-action=(e.action.code()) {
                            td { (paris_cell(e.at, lang)) }
                            td { (who(v, e)) }
                            td { (lang.t(label(e.action))) }
                            td {
                                @match link(v, e) {
                                    Some(href) => { a href=(href) { (e.subject) } },
                                    None => { (e.subject) },
                                }
                                @if let Some(d) = detail(lang, e) { br; small.muted { (d) } }
                            }
                            td data-label=(stacked_label("Base", lang)) {
                                @match &e.base {
                                    Some((_, name)) => { (name) },
                                    None => { span.muted { (lang.t("toutes")) } },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The journal's address parameters.
#[derive(Deserialize, Default)]
pub struct JournalQuery {
    /// Only the changes of this account.
    #[serde(default)]
    by: Option<String>,
    /// The entries before this one (the next page).
    #[serde(default)]
    before: Option<String>,
}

/// Entries read at once for the journal's file.
const FILE_PART: u32 = 500;

/// What the journal's address `q` asks for, of the entries the viewer
/// reads (refused to people with neither right): one person's when `by`
/// names one, those before `before`. An address that does not parse reads
/// from the top, as a link cut short would.
fn asked(v: &Viewer, q: &JournalQuery, limit: u32) -> Result<ActivityQuery, PageError> {
    refuse_journal(v)?;
    Ok(ActivityQuery {
        target: None,
        kinds: readable(v),
        by_person: q.by.as_deref().and_then(|b| b.parse::<PersonId>().ok()),
        before: q
            .before
            .as_deref()
            .and_then(|b| b.parse::<ActivityId>().ok()),
        limit,
    })
}

/// `GET /activity.csv`: the whole journal (or one person's part of it,
/// `?by=`) as CSV, newest first, in the reader's language (UTF-8 with a
/// byte order mark, ISO times in UTC, the action's code beside its words),
/// streamed by parts of 500 entries: the server holds one part at a time.
/// Should the database fail midway, the download breaks off rather than
/// end as if complete.
pub async fn journal_file(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<JournalQuery>,
) -> Result<Response, PageError> {
    let asked = asked(&v, &q, FILE_PART)?;
    let lang = v.lang;
    let heads = [
        "Quand (UTC)",
        "Qui",
        "Action",
        "Code de l'action",
        "Sur",
        "Détail",
        "Base",
    ];
    let header = csv_rows(
        crate::sheets::UTF8_MARK.to_vec(),
        std::iter::once(heads.iter().map(|h| lang.t(h))),
    )
    .or_page(&v)?;
    // (the header not yet sent, the entry to read before; None: all read)
    let start = (Some(header), Some(None::<ActivityId>));
    let stream = futures_util::stream::unfold(start, move |(header, before)| {
        let (state, asked) = (state.clone(), asked.clone());
        async move {
            if let Some(h) = header {
                return Some((Ok(axum::body::Bytes::from(h)), (None, before)));
            }
            let query = ActivityQuery {
                before: before?,
                ..asked
            };
            let entries = match state.store.list_activity(&query).await {
                Ok(entries) => entries,
                Err(e) => return Some((Err(std::io::Error::other(e)), (None, None))),
            };
            let next = entries
                .last()
                .filter(|_| entries.len() == FILE_PART as usize)
                .map(|last| Some(last.id));
            let lines = entries.iter().map(|e| {
                vec![
                    e.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    who_text(lang, e),
                    lang.t(label(e.action)).to_owned(),
                    e.action.code().to_owned(),
                    e.subject.clone(),
                    detail(lang, e).unwrap_or_default(),
                    e.base
                        .as_ref()
                        .map_or_else(|| lang.t("toutes").to_owned(), |(_, n)| n.clone()),
                ]
            });
            Some((csv_part(lines), (None, next)))
        }
    });
    Ok(csv_file(stream, "journal-relais.csv"))
}

/// `GET /activity`: the journal, newest first, fifty entries a page; for
/// people who may administer apps or manage keys.
pub async fn journal(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<JournalQuery>,
) -> Result<Response, PageError> {
    let asked = asked(&v, &q, PAGE + 1)?;
    let (lang, by) = (v.lang, asked.by_person);
    let mut entries = state.store.list_activity(&asked).await.or_page(&v)?;
    let more = entries.len() > PAGE as usize;
    entries.truncate(PAGE as usize);
    let people = state.store.list_people().await.or_page(&v)?;
    let next = entries.last().filter(|_| more).map(|last| match by {
        Some(p) => format!("/activity?by={p}&before={}", last.id),
        None => format!("/activity?before={}", last.id),
    });
    Ok(page(Some(&v), lang, lang.t("Journal d'activité"), html! {
        p.muted { (lang.t("Ce qui a été fait aux clés API, aux applications installées et à leurs réglages, aux webhooks, aux bases de test et aux comptes : par qui et quand, sur toutes les bases.")) }
        form.inline method="get" action="/activity" id="activity-filter" {
            label.inline for="activity-by" { (lang.t("Fait par")) " " }
            select id="activity-by" name="by" {
                option value="" { (lang.t("tout le monde")) }
                @for p in &people {
                    option value=(p.id) selected[by == Some(p.id)] { (p.name) }
                }
            }
            " " button type="submit" id="activity-filter-submit" { (lang.t("Afficher")) }
        }
        p { a id="activity-csv" href=(match by { Some(p) => format!("/activity.csv?by={p}"), None => "/activity.csv".to_owned() }) { (lang.t("Télécharger en CSV")) } }
        (entries_table(&v, &entries))
        @if let Some(href) = next {
            p { a id="older" href=(href) { (lang.t("Entrées plus anciennes →")) } }
        }
        p.muted id="journal-retention" {
            (lang.t("Chaque entrée est conservée ")) (in_days(state.retention.journal)) (lang.t(" jours, puis supprimée."))
        }
    })
    .into_response())
}
