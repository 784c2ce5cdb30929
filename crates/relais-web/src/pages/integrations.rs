//! The integration of an installed app on its page: health and its reason,
//! settings (secrets write-only), "Sync now", a chart of recent runs and
//! their list; and each run's report.

use super::installed::installation_for_admin;
use super::layout::PageForm;
use super::layout::PagePath;
use super::layout::{column_heads, page, refuse_csrf, FieldErrors, OrPage, PageError};
use crate::session::{Lang, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::activity::Action;
use relais_core::connector::{Declaration, SettingKind, SettingSpec};
use relais_core::ids::{InstallationId, RunId};
use relais_core::integration::{
    Health, Integration, IntegrationUpdate, RunAsk, RunStatus, SettingError, SyncRun, Trigger,
    SOURCE_KEY,
};
use relais_core::people::Installation;
use relais_core::schedule::{weekday_name, Frequency, Schedule, HOUR_STEPS};
use relais_core::secret::SecretName;
use serde::Deserialize;

/// A time in the integration's zone, the zone named: `02/03/2027 21:30 (Europe/Paris)`.
fn when(t: Option<chrono::DateTime<chrono::Utc>>, i: &Integration) -> String {
    t.map_or_else(
        || "—".to_owned(),
        |t| {
            format!(
                "{} ({})",
                t.with_timezone(&i.time_zone.0).format("%d/%m/%Y %H:%M"),
                i.time_zone.0.name()
            )
        },
    )
}

fn status_label(s: RunStatus, lang: Lang) -> &'static str {
    match s {
        RunStatus::Queued => lang.t("en attente"),
        RunStatus::Running => lang.t("en cours"),
        RunStatus::Succeeded => lang.t("réussie"),
        RunStatus::Warnings => lang.t("avec avertissements"),
        RunStatus::Failed => lang.t("en échec"),
        RunStatus::Interrupted => lang.t("interrompue"),
    }
}

/// What happened to a record, as a report line says it in `lang`.
pub(crate) fn outcome_label(o: &relais_core::integration::Outcome, lang: Lang) -> &'static str {
    use relais_core::integration::Outcome;
    match o {
        Outcome::Created => lang.t("créé"),
        Outcome::Linked => lang.t("rattaché à un profil existant"),
        Outcome::Updated => lang.t("mis à jour"),
        Outcome::Overwritten => lang.t("modification chez l'éditeur écrasée"),
        Outcome::Deleted => lang.t("supprimé"),
        Outcome::Deactivated => lang.t("désactivé (conservé chez l'éditeur)"),
        Outcome::Unchanged => lang.t("inchangé"),
        Outcome::Skipped(_) => lang.t("écarté"),
        Outcome::Failed(_) => lang.t("refusé"),
    }
}

fn trigger_label(t: Trigger, lang: Lang) -> &'static str {
    match t {
        Trigger::Schedule => lang.t("planification"),
        Trigger::Page => lang.t("bouton"),
        Trigger::Cli => lang.t("ligne de commande"),
        Trigger::Api => "API",
        Trigger::Change => lang.t("modification dans la base"),
    }
}

/// A bar per run (oldest left): records written, coloured by status; the
/// height is relative to the busiest run shown.
fn chart(runs: &[SyncRun], lang: Lang) -> Markup {
    let shown: Vec<&SyncRun> = runs.iter().rev().collect();
    let most = shown
        .iter()
        .map(|r| r.counts.written().max(r.counts.failed + r.counts.skipped))
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, gap) = (24u64, 90u64, 6u64);
    let width = (w + gap) * shown.len() as u64 + gap;
    html! {
        figure {
            svg id="runs-chart" width=(width) height=(h + 20) viewBox={ "0 0 " (width) " " (h + 20) } role="group"
                aria-label=(lang.t("Enregistrements écrits par exécution")) {
                @for (n, r) in shown.iter().enumerate() {
                    @let value = r.counts.written().max(r.counts.failed + r.counts.skipped);
                    @let bar = (value * h / most).max(2);
                    @let x = gap + n as u64 * (w + gap);
                    @let color = match r.status {
                        RunStatus::Succeeded => "#3a9a5b",
                        RunStatus::Warnings => "#d99a21",
                        RunStatus::Failed | RunStatus::Interrupted => "#c0392b",
                        _ => "#8a93a6",
                    };
                    a href={ "/runs/" (r.id) } {
                        @if r.dry_run {
                            // A dry run wrote nothing: an outline of what it planned.
                            rect.dry x=(x) y=(h - bar) width=(w) height=(bar) fill="none" stroke=(color) stroke-dasharray="3 2" {
                                title { "#" (r.id) " · " (lang.t("simulation")) " · " (value) " " (lang.t("prévus, rien d'écrit")) }
                            }
                        } @else {
                            rect.written x=(x) y=(h - bar) width=(w) height=(bar) fill=(color) {
                                title { "#" (r.id) " · " (status_label(r.status, lang)) " · " (value) }
                            }
                        }
                    }
                    text x=(x + w / 2) y=(h + 14) font-size="10" text-anchor="middle" fill="#667" { (r.id) }
                }
            }
            figcaption.muted { (lang.t("Enregistrements écrits (ou refusés) par exécution, les plus récentes à droite ; en pointillés, les simulations, qui n'écrivent rien.")) }
        }
    }
}

/// The integration section of an installed app's page.
pub(crate) async fn section(
    state: &AppState,
    v: &Viewer,
    installation: &Installation,
) -> Result<Markup, relais_store::StoreError> {
    let lang = v.lang;
    let i = match state.store.get_integration(installation.id).await {
        Ok(i) => i,
        Err(relais_store::StoreError::NotFound { .. }) => {
            return Ok(html! {
                p.muted id="no-integration" { (lang.t("Cette application lit la base elle-même avec sa clé : relais n'exécute pas de synchronisation pour elle.")) }
            })
        }
        Err(e) => return Err(e),
    };
    let runs = state.store.list_runs(i.installation_id, 20).await?;
    let alerts = state.store.list_alerts(i.installation_id, 5).await?;
    let open_run = runs.iter().find(|r| !r.status.is_finished()).cloned();
    let open_expected = open_run
        .as_ref()
        .and_then(|open| expected_records(&runs, open));
    let secrets = state.sealer.open(&i.sealed_secrets).unwrap_or_default();
    let Some(connector) = state.connectors.get(i.connector.as_str()) else {
        return Ok(html! {
            p.error id="no-connector" { (lang.t("Le connecteur de cette intégration n'est pas exécuté par cette version de relais : ")) (i.connector) }
        });
    };
    let declaration = connector.declaration();
    let choices = if v.person.can_admin_apps {
        Choices::of(state, installation.base_id, declaration).await?
    } else {
        Choices::default()
    };
    let missing = i.missing_settings(declaration, &secrets);
    let mapping = if v.person.can_admin_apps {
        super::mapping::section(state, v, &i, declaration).await
    } else {
        html! {}
    };
    let health = if i.paused.is_some() {
        Health::Paused
    } else {
        i.health
    };
    let badge = match health {
        Health::Healthy => "ok",
        Health::Warnings | Health::Paused | Health::Pending => "notice",
        Health::Failing => "error",
    };
    Ok(html! {
        h2 { (lang.t("Synchronisation")) }
        p class=(badge) id="health" data-health=(health.as_str()) {
            strong { (health.label(lang.code())) }
            @if !i.health_reason.is_empty() { " — " span id="health-reason" { (i.reason(lang.code())) } }
        }
        @if !missing.is_empty() {
            p.notice id="missing-settings" { (lang.t("À renseigner avant la première synchronisation : ")) (missing.join(", ")) }
        }
        p { (lang.t("Prochaine exécution : ")) strong id="next-run" { (when(i.next_run_at, &i)) } " — " (Frequency::of(&i.schedule).sentence(lang.code()))
            " · " (lang.t("réconciliation complète : ")) (when(i.next_full_at, &i)) }
        @if let Some(on_change) = declaration.schedule.on_change.filter(|_| i.paused.is_none()) {
            p id="on-change" { (on_change_sentence(&on_change, &i, &connector.default_options(), lang)) }
        }
        @if v.person.can_admin_apps {
            @if let Some(open) = &open_run {
                p.notice id="run-open" {
                    (if open.status == RunStatus::Queued { lang.t("Une exécution attend de démarrer") } else { lang.t("Une exécution est en cours") })
                    " : " a href={ "/runs/" (open.id) } { (lang.t("la suivre")) " (#" (open.id) ")" } ". "
                    (lang.t("Les boutons reviennent quand elle est finie."))
                }
                (live_block(open, Some(declaration), open_expected, lang))
            }
            form.inline method="post" action={ "/installed/" (i.installation_id) "/sync" } {
                input type="hidden" name="csrf" value=(v.csrf);
                button id="sync-now" type="submit" disabled[open_run.is_some()] { (lang.t("Synchroniser maintenant")) }
            }
            " "
            form.inline method="post" action={ "/installed/" (i.installation_id) "/sync" } {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="dry_run" value="true";
                button id="dry-run" type="submit" disabled[open_run.is_some()] { (lang.t("Simuler (sans rien écrire)")) }
            }
            " "
            form.inline method="post" action={ "/installed/" (i.installation_id) "/sync" } {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="full" value="true";
                @if declaration.mapping.is_some() {
                    button id="full-run" type="submit" disabled[open_run.is_some()] { (lang.t("Forcer la synchronisation")) }
                } @else {
                    button id="full-run" type="submit" disabled[open_run.is_some()] { (lang.t("Réconciliation complète")) }
                }
            }
        }
        h3 { (lang.t("Dernières exécutions")) }
        @if runs.is_empty() { p.muted id="no-runs" { (lang.t("Aucune exécution pour l'instant.")) } }
        @else {
            (chart(&runs, lang))
            table id="runs" {
                (column_heads(lang, &["#", "État", "Origine", "Début", "Durée", "Créés", "Mis à jour", "Supprimés ou désactivés", "Refusés", "Requêtes"]))
                tbody {
                    @for r in &runs {
                        tr data-status=(r.status.as_str()) {
                            td { a href={ "/runs/" (r.id) } { (r.id) } }
                            td { (status_label(r.status, lang)) @if r.dry_run { " · " (lang.t("simulation")) } @if r.full { " · " (lang.t("complète")) } }
                            td { (trigger_label(r.trigger, lang)) @if let Some(who) = &r.requested_by { br; span.muted.requested-by { (lang.t("par ")) (who) } } }
                            td { (when(r.started_at.or(Some(r.requested_at)), &i)) }
                            td.n.duration { (run_duration(r)) }
                            td.n { (r.counts.created + r.counts.linked) }
                            td.n { (r.counts.updated + r.counts.overwritten) }
                            td.n { (r.counts.deleted + r.counts.deactivated) }
                            td.n { (r.counts.failed + r.counts.skipped) }
                            td.n { (r.partner_requests) }
                        }
                    }
                }
            }
        }
        h3 { (lang.t("Alertes par e-mail")) }
        p.muted { (lang.t("Quand la synchronisation échoue, puis quand elle refonctionne, relais écrit au contact technique : ")) strong { (installation.contact) } "." }
        @if !alerts.is_empty() {
            table id="alerts" {
                (column_heads(lang, &["Alerte", "Écrite le", "Envoi"]))
                tbody {
                    @for a in &alerts {
                        tr data-kind=(a.alert.kind.as_str()) data-sent=(a.sent_at.is_some()) {
                            td { (match a.alert.kind {
                                relais_core::alert::AlertKind::Failing => lang.t("Échec"),
                                relais_core::alert::AlertKind::Recovered => lang.t("Rétablie"),
                            }) }
                            td { (super::layout::paris_time(a.created_at)) }
                            td { @match a.sent_at {
                                Some(at) => { (lang.t("envoyée le ")) (super::layout::paris_time(at)) },
                                None => {
                                    (lang.t("pas encore envoyée"))
                                    @if let Some(e) = &a.last_error { br; span.muted { (a.attempts) (lang.t(" essai(s), dernier refus : ")) (e) } }
                                    br; span.muted { (lang.t("prochain essai le ")) (super::layout::paris_time(a.next_attempt_at)) }
                                },
                            } }
                        }
                    }
                }
            }
        }
        @if v.person.can_admin_apps { (mapping) (settings_form(v, &i, declaration, &secrets, &choices, &Typed::default())) }
    })
}

/// What the settings form shows: the values typed (kept after a refusal or
/// a preview, secrets aside) and the refusals, each beside its field.
#[derive(Default)]
struct Typed<'a> {
    values: Option<&'a std::collections::BTreeMap<String, String>>,
    errors: FieldErrors,
}

impl Typed<'_> {
    /// The value typed in `field`, if the form came back.
    fn get(&self, field: &str) -> Option<&str> {
        self.values.and_then(|v| v.get(field)).map(String::as_str)
    }

    /// The refusals of `field`, beside it.
    fn errors_of(&self, field: &str) -> Markup {
        self.errors.beside(field)
    }
}

fn settings_form(
    v: &Viewer,
    i: &Integration,
    declaration: &Declaration,
    secrets: &relais_core::secret::Secrets,
    choices: &Choices,
    typed: &Typed,
) -> Markup {
    let lang = v.lang;
    let set = lang.t("enregistré — laisser vide pour le garder");
    let unset = lang.t("non renseigné");
    let text = |field: &str, saved: String| typed.get(field).map_or(saved, str::to_owned);
    let time_zone = text("time_zone", i.time_zone.0.name().to_owned());
    html! {
        h3 { (lang.t("Réglages")) }
        form method="post" action={ "/installed/" (i.installation_id) "/settings" } id="settings-form" {
            input type="hidden" name="csrf" value=(v.csrf);
            label for="partner_url" { (lang.t("URL de l'API de ")) (declaration.name) }
            input id="partner_url" name="partner_url" type="url" size="50" value=(text("partner_url", i.partner_url.clone()));
            (typed.errors_of("partner_url"))
            @for spec in declaration.secrets {
                label for={ "secret-" (spec.name) } { (spec.label(lang.code())) }
                input id={ "secret-" (spec.name) } name={ "secret_" (spec.name) } type="password" autocomplete="off"
                    placeholder=(if secrets.get(SecretName::Partner(spec.name)).is_some() { set } else { unset });
                @if !spec.help(lang.code()).is_empty() { small.muted { (spec.help(lang.code())) } }
                (typed.errors_of(&format!("secret_{}", spec.name)))
            }
            label for="source_url" { (lang.t("Base source (vide : cette base, avec la clé de l'installation)")) }
            input id="source_url" name="source_url" type="text" size="50" value=(text("source_url", i.source_url.clone().unwrap_or_default()));
            (typed.errors_of("source_url"))
            label for="source_key" { (lang.t("Clé API de la base source (seulement pour une autre base)")) }
            input id="source_key" name="source_key" type="password" autocomplete="off" placeholder=(set);
            (schedule_picker("schedule", lang.t("Planification"), &i.schedule, i, declaration, typed, lang))
            (schedule_picker("full_schedule", lang.t("Réconciliation complète"), &i.full_schedule, i, declaration, typed, lang))
            label for="time_zone" { (lang.t("Fuseau horaire")) }
            select id="time_zone" name="time_zone" {
                @for tz in chrono_tz::TZ_VARIANTS {
                    option value=(tz.name()) selected[tz.name() == time_zone] { (tz.name()) }
                }
                @if time_zone.parse::<chrono_tz::Tz>().is_err() {
                    option value=(time_zone) selected { (time_zone) }
                }
            }
            (typed.errors_of("time_zone"))
            @for spec in declaration.options {
                @let value = typed.get(&format!("option_{}", spec.name)).map(|t| typed_option(spec, t))
                    .unwrap_or_else(|| i.options.get(spec.name).cloned().unwrap_or(serde_json::Value::Null));
                (setting_field(spec, &value, choices, lang))
                (typed.errors_of(&format!("option_{}", spec.name)))
            }
            (typed.errors_of("options"))
            label for="pause" { (lang.t("Mettre en pause (raison ; vide : actif)")) }
            input id="pause" name="pause" type="text" size="50" value=(text("pause", i.paused.clone().unwrap_or_default()));
            (typed.errors_of("pause"))
            p {
                button id="save-settings" type="submit" { (lang.t("Enregistrer")) }
                " "
                button id="preview-settings" type="submit" name="preview" value="1" { (lang.t("Aperçu des exécutions")) }
                " "
                button id="test-connection" type="submit" name="test" value="1" { (lang.t("Tester la connexion")) }
            }
        }
    }
}

/// An option's value as typed in the form, to show it again.
fn typed_option(spec: &SettingSpec, typed: &str) -> serde_json::Value {
    match spec.kind {
        SettingKind::Department | SettingKind::Account => typed
            .trim()
            .parse::<i64>()
            .map_or(serde_json::Value::Null, serde_json::Value::from),
        SettingKind::Accounts => typed
            .split(',')
            .filter_map(|a| a.trim().parse::<i64>().ok())
            .map(serde_json::Value::from)
            .collect(),
        _ => serde_json::Value::String(typed.to_owned()),
    }
}

/// Whether the settings form shows the refusals of `field` beside it (the
/// others are listed above the form).
fn typed_field_shown(field: &str, declaration: &Declaration) -> bool {
    matches!(
        field,
        "partner_url"
            | "source_url"
            | "schedule"
            | "full_schedule"
            | "time_zone"
            | "options"
            | "pause"
    ) || field
        .strip_prefix("secret_")
        .is_some_and(|n| declaration.secrets.iter().any(|s| s.name == n))
        || field
            .strip_prefix("option_")
            .is_some_and(|n| declaration.options.iter().any(|s| s.name == n))
}

/// When an integration that runs on change runs besides its schedule, in
/// words: the records (and employee fields) whose change starts a run, and
/// how often at most (within the partner's budget, from its settings).
fn on_change_sentence(
    on_change: &relais_core::connector::OnChange,
    i: &Integration,
    defaults: &serde_json::Value,
    lang: Lang,
) -> String {
    let what: Vec<String> = on_change
        .kinds
        .iter()
        .map(|kind| {
            let label = kind.label(lang.code());
            if *kind == relais_core::events::EventKind::Employee
                && !on_change.employee_fields.is_empty()
            {
                let fields: Vec<String> = on_change
                    .employee_fields
                    .iter()
                    .map(|f| f.label(lang.code()).to_lowercase())
                    .collect();
                format!("{label} ({})", fields.join(", "))
            } else {
                label.to_owned()
            }
        })
        .collect();
    let gap = on_change.gap(&i.options, defaults).num_milliseconds();
    // Whole seconds without decimals: « 1 s », « 7,2 s ».
    let every = if gap % 1_000 == 0 {
        (gap / 1_000).to_string()
    } else {
        lang.decimal(gap as f64 / 1_000.0)
    };
    lang.tf(
        "Aussi dans les secondes qui suivent un changement de %{what}, au plus une exécution toutes les %{every} s.",
        &[("what", &what.join(", ")), ("every", &every)],
    )
}

/// A schedule chosen as people say it: a frequency, a time, a day, every N
/// hours, or a cron rule; offering only what the partner takes. Below it,
/// the schedule in a sentence and its next five runs.
fn schedule_picker(
    prefix: &str,
    title: &str,
    schedule: &Schedule,
    i: &Integration,
    declaration: &Declaration,
    typed: &Typed,
    lang: Lang,
) -> Markup {
    let rule = declaration.schedule;
    let saved = Frequency::of(schedule);
    let (saved_kind, saved_time, saved_day, saved_hours) = match &saved {
        Frequency::Daily { hour, minute } => ("daily", (*hour, *minute), 1, 4),
        Frequency::Weekdays { hour, minute } => ("weekdays", (*hour, *minute), 1, 4),
        Frequency::Weekly {
            weekday,
            hour,
            minute,
        } => ("weekly", (*hour, *minute), *weekday, 4),
        Frequency::EveryHours { hours } => ("hours", (2, 0), 1, *hours),
        Frequency::Cron(_) => ("cron", (2, 0), 1, 4),
    };
    let field = |name: &str| format!("{prefix}_{name}");
    let kind = typed.get(&field("kind")).unwrap_or(saved_kind).to_owned();
    let time = typed.get(&field("time")).map_or_else(
        || format!("{:02}:{:02}", saved_time.0, saved_time.1),
        str::to_owned,
    );
    let day: u32 = typed
        .get(&field("day"))
        .and_then(|d| d.parse().ok())
        .unwrap_or(saved_day);
    let hours: u32 = typed
        .get(&field("hours"))
        .and_then(|h| h.parse().ok())
        .unwrap_or(saved_hours);
    // The rule as typed when it is the choice, else the rule the choice makes.
    let cron = match typed.get(prefix) {
        Some(rule) if kind == "cron" => rule.to_owned(),
        _ => schedule.as_str().to_owned(),
    };
    let steps: Vec<u32> = HOUR_STEPS
        .into_iter()
        .filter(|h| {
            rule.min_interval_minutes
                .is_none_or(|min| i64::from(*h) * 60 >= min)
        })
        .collect();
    let kinds: Vec<(&str, &str)> = [
        ("daily", lang.t("Chaque jour (ou chaque nuit)")),
        ("weekdays", lang.t("Du lundi au vendredi")),
        ("weekly", lang.t("Chaque semaine")),
        ("hours", lang.t("Toutes les N heures")),
        ("cron", lang.t("Règle cron (avancé)")),
    ]
    .into_iter()
    .filter(|(k, _)| *k != "hours" || (rule.nightly_from.is_none() && !steps.is_empty()))
    .collect();
    // A partner taking runs at night only is offered night times only.
    let night_times: Vec<String> = rule
        .nightly_from
        .map(|(h, m)| {
            let from = h * 60 + m;
            (0..24 * 4)
                .map(|q| (from + q * 15) % (24 * 60))
                .take_while(|t| *t >= from || *t < 6 * 60)
                .map(|t| format!("{:02}:{:02}", t / 60, t % 60))
                .collect()
        })
        .unwrap_or_default();
    let sentence = Frequency::of(schedule).sentence(lang.code());
    let next = schedule.next_runs(relais_core::now(), i.time_zone, 5);
    html! {
        fieldset.schedule id={ (prefix) "-picker" } {
            legend { (title) }
            label for={ (prefix) "-kind" } { (lang.t("Fréquence")) }
            select id={ (prefix) "-kind" } name=(field("kind")) {
                @for (k, label) in &kinds {
                    option value=(k) selected[*k == kind] { (label) }
                }
            }
            label for={ (prefix) "-time" } { (lang.t("À (chaque jour, du lundi au vendredi, chaque semaine)")) }
            @if night_times.is_empty() {
                input id={ (prefix) "-time" } name=(field("time")) type="time" value=(time);
            } @else {
                select id={ (prefix) "-time" } name=(field("time")) {
                    @for t in &night_times { option value=(t) selected[*t == time] { (t) } }
                }
            }
            label for={ (prefix) "-day" } { (lang.t("Le (chaque semaine)")) }
            select id={ (prefix) "-day" } name=(field("day")) {
                @for d in [1, 2, 3, 4, 5, 6, 0] {
                    option value=(d) selected[d == day] { (weekday_name(d, lang.code())) }
                }
            }
            @if kinds.iter().any(|(k, _)| *k == "hours") {
                label for={ (prefix) "-hours" } { (lang.t("Toutes les (heures)")) }
                select id={ (prefix) "-hours" } name=(field("hours")) {
                    @for h in &steps { option value=(h) selected[*h == hours] { (h) " h" } }
                }
            }
            label for=(prefix) { (lang.t("Règle cron (si « Règle cron » : minute heure jour mois jour-de-semaine)")) }
            input id=(prefix) name=(prefix) type="text" value=(cron);
            (typed.errors_of(prefix))
            @if prefix == "schedule" { (schedule_rule(declaration, lang)) }
            p.muted id={ (prefix) "-sentence" } {
                (lang.t("Soit ")) strong { (sentence) } " (" (i.time_zone.0.name()) ")"
            }
            @if !next.is_empty() {
                p.muted { (lang.t("Prochaines exécutions :")) }
                ol id={ (prefix) "-next-runs" } {
                    @for t in &next { li { (local_time(*t, i.time_zone, lang)) } }
                }
            }
        }
    }
}

/// `t` in `tz` as people read it: « lundi 01/12/2026 02:30 (Europe/Paris) ».
fn local_time(
    t: chrono::DateTime<chrono::Utc>,
    tz: relais_core::org::TimeZone,
    lang: Lang,
) -> String {
    use chrono::Datelike;
    let local = t.with_timezone(&tz.0);
    format!(
        "{} {} ({})",
        weekday_name(local.weekday().num_days_from_sunday(), lang.code()),
        local.format("%d/%m/%Y %H:%M"),
        tz.0.name()
    )
}

/// The schedule the form's frequency fields for `prefix` say (`None` when
/// the form has none or chose the cron rule: then the rule is read as typed).
fn chosen_schedule(
    fields: &std::collections::BTreeMap<String, String>,
    prefix: &str,
    lang: Lang,
) -> Option<Result<String, SettingError>> {
    let kind = fields.get(&format!("{prefix}_kind"))?;
    let get = |name: &str| {
        fields
            .get(&format!("{prefix}_{name}"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let refuse = |message: String| SettingError {
        field: prefix.to_owned(),
        error: relais_core::DomainError::new("schedule", message),
    };
    let time = || -> Result<(u32, u32), SettingError> {
        let t = get("time");
        chrono::NaiveTime::parse_from_str(&t, "%H:%M")
            .map(|t| {
                use chrono::Timelike;
                (t.hour(), t.minute())
            })
            .map_err(|_| {
                refuse(lang.tf(
                    "« %{time} » n'est pas une heure de la journée comme 02:30",
                    &[("time", &t)],
                ))
            })
    };
    let frequency = match kind.as_str() {
        "cron" => return None,
        "daily" => time().map(|(hour, minute)| Frequency::Daily { hour, minute }),
        "weekdays" => time().map(|(hour, minute)| Frequency::Weekdays { hour, minute }),
        "weekly" => time().and_then(|(hour, minute)| {
            let d = get("day");
            d.parse::<u32>()
                .ok()
                .filter(|d| *d <= 6)
                .map(|weekday| Frequency::Weekly {
                    weekday,
                    hour,
                    minute,
                })
                .ok_or_else(|| {
                    refuse(lang.tf(
                        "« %{day} » n'est pas un jour de la semaine (0 dimanche à 6 samedi)",
                        &[("day", &d)],
                    ))
                })
        }),
        "hours" => {
            let h = get("hours");
            h.parse::<u32>()
                .map(|hours| Frequency::EveryHours { hours })
                .map_err(|_| {
                    refuse(lang.tf(
                        "« %{hours} » n'est pas un nombre d'heures",
                        &[("hours", &h)],
                    ))
                })
        }
        other => Err(refuse(lang.tf(
            "« %{kind} » n'est pas une fréquence : daily, weekdays, weekly, hours ou cron",
            &[("kind", &other)],
        ))),
    };
    Some(frequency.map(|f| f.cron()))
}

/// What the partner allows, in words.
fn schedule_rule(declaration: &Declaration, lang: Lang) -> Markup {
    let rule = declaration.schedule;
    html! {
        @if let Some(min) = rule.min_interval() {
            small.muted id="schedule-rule" { (declaration.name) (lang.t(" accepte une exécution toutes les ")) (min.num_hours()) (lang.t(" h au plus.")) }
        }
        @if let Some((h, m)) = rule.nightly_from {
            small.muted id="schedule-rule" { (declaration.name) (lang.t(" accepte les exécutions la nuit seulement, de ")) (format!("{h:02}:{m:02}")) (lang.t(" à 06:00.")) }
        }
    }
}

/// The base's departments and absence accounts, for pickers.
#[derive(Default)]
pub(crate) struct Choices {
    pub(crate) departments: Vec<(i64, String)>,
    pub(crate) accounts: Vec<(i64, String)>,
}

impl Choices {
    /// The lists `declaration`'s pickers need, and only those.
    async fn of(
        state: &AppState,
        base: relais_core::ids::BaseId,
        declaration: &Declaration,
    ) -> Result<Self, relais_store::StoreError> {
        let wants = |kind: SettingKind| declaration.options.iter().any(|o| o.kind == kind);
        let mut choices = Self::default();
        if wants(SettingKind::Department) {
            for d in state.store.list_departments(base).await? {
                choices.departments.push((d.id.0, d.name.to_string()));
            }
        }
        if wants(SettingKind::Accounts) || wants(SettingKind::Account) {
            for a in state.store.list_absence_accounts(base).await? {
                choices.accounts.push((a.id.0, a.name.to_string()))
            }
        }
        Ok(choices)
    }
}

/// One option's field, as its kind asks for it.
fn setting_field(
    spec: &SettingSpec,
    value: &serde_json::Value,
    choices: &Choices,
    lang: Lang,
) -> Markup {
    let id = format!("option-{}", spec.name);
    let name = format!("option_{}", spec.name);
    let text = spec.show(value);
    html! {
        label for=(id) { (spec.label(lang.code())) }
        @match spec.kind {
            SettingKind::Number { min, max } => {
                input id=(id) name=(name) type="number" min=(min) max=(max) value=(text);
            }
            SettingKind::Department => {
                select id=(id) name=(name) {
                    option value="" selected[value.is_null()] { (lang.t("— tous —")) }
                    @for (d, label) in &choices.departments {
                        option value=(d) selected[value.as_i64() == Some(*d)] { (label) }
                    }
                }
            }
            SettingKind::Accounts => {
                @let chosen: Vec<i64> = value.as_array().map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect()).unwrap_or_default();
                select id=(id) name=(name) multiple {
                    @for (a, label) in &choices.accounts {
                        option value=(a) selected[chosen.contains(a)] { (label) }
                    }
                }
            }
            SettingKind::Account => {
                select id=(id) name=(name) {
                    option value="" selected[value.is_null()] { (lang.t("— par défaut —")) }
                    @for (a, label) in &choices.accounts {
                        option value=(a) selected[value.as_i64() == Some(*a)] { (label) }
                    }
                }
            }
            SettingKind::Choice(options) => {
                select id=(id) name=(name) {
                    @for (v, fr, en) in options {
                        option value=(v) selected[value.as_str() == Some(*v)] { (lang.pick(fr, en)) }
                    }
                }
            }
            SettingKind::Url => { input id=(id) name=(name) type="url" size="50" value=(text); }
            SettingKind::Secret => { input id=(id) name=(name) type="password" autocomplete="off"; }
            SettingKind::Text | SettingKind::Schedule => { input id=(id) name=(name) type="text" value=(text); }
            SettingKind::Mapping => { a href="#mapping" { (lang.t("Voir la correspondance des champs ci-dessous.")) } }
        }
        @if !spec.help(lang.code()).is_empty() { small.muted { (spec.help(lang.code())) } }
    }
}

/// The "Sync now" forms.
#[derive(Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) dry_run: bool,
    #[serde(default)]
    pub(crate) full: bool,
}

/// `POST /installed/{id}/sync`: asks for a run; the runtime starts it within seconds.
pub async fn sync_now(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<InstallationId>,
    PageForm(f): PageForm<SyncForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.csrf)?;
    let installation = installation_for_admin(&state, &v, id).await?;
    if state.store.get_integration(id).await.is_err() {
        return Err(PageError::refused(
            &v,
            StatusCode::NOT_FOUND,
            v.lang
                .t("Cette application n'a pas de synchronisation exécutée par relais."),
        ));
    }
    // A run already waiting answers: asking twice does not run twice.
    match relais_app::runs::ask_run(
        &state.store,
        &RunAsk::new(id, Trigger::Page)
            .dry_run(f.dry_run)
            .full(f.full)
            .by(Some(v.person.name.as_str()))
            .actor(v.actor()),
    )
    .await
    {
        Ok(asked) => Ok(Redirect::to(&format!("/runs/{}", asked.run.id)).into_response()),
        Err(e) => {
            tracing::error!(error = %e, app = installation.app, "cannot queue a run");
            Err(PageError::internal(&v, e))
        }
    }
}

/// The settings form, as (name, value) pairs (every field optional;
/// secrets left blank are kept; a field chosen several times, such as
/// absence accounts, comes once per value).
pub type SettingsForm = Vec<(String, String)>;

/// `POST /installed/{id}/settings`: checks every value, then saves them all, or none.
pub async fn save_settings(
    State(state): State<AppState>,
    v: Viewer,
    PagePath(id): PagePath<InstallationId>,
    PageForm(pairs): PageForm<SettingsForm>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let mut fields: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for (name, value) in &pairs {
        fields
            .entry(name.clone())
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    refuse_csrf(&v, fields.get("csrf").map_or("", String::as_str))?;
    let installation = installation_for_admin(&state, &v, id).await?;
    let mut integration = state.store.get_integration(id).await.or_page(&v)?;
    let field = |name: &str| fields.get(name).cloned();
    let mut errors: Vec<SettingError> = Vec::new();
    let mut schedule_of = |prefix: &str| match chosen_schedule(&fields, prefix, lang) {
        Some(Ok(cron)) => Some(cron),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
        None => field(prefix),
    };
    let schedule = schedule_of("schedule");
    let full_schedule = schedule_of("full_schedule");
    let mut update = IntegrationUpdate {
        partner_url: field("partner_url").filter(|u| !u.trim().is_empty()),
        source_url: field("source_url").map(|u| Some(u).filter(|u| !u.trim().is_empty())),
        schedule,
        full_schedule,
        time_zone: field("time_zone"),
        pause: field("pause").map(|p| Some(p).filter(|p| !p.trim().is_empty())),
        ..IntegrationUpdate::default()
    };
    for (name, value) in &fields {
        if let Some(secret) = name.strip_prefix("secret_") {
            update.secrets.push((secret.to_owned(), value.clone()));
        } else if let Some(option) = name.strip_prefix("option_") {
            update.options.push((option.to_owned(), value.clone()));
        } else if name == "source_key" {
            update
                .secrets
                .push((SOURCE_KEY.as_str().to_owned(), value.clone()));
        }
    }
    let Some(connector) = state.connectors.get(integration.connector.as_str()) else {
        return Err(PageError::refused(
            &v,
            StatusCode::NOT_FOUND,
            lang.t("Cette application n'a pas de synchronisation exécutée par relais."),
        ));
    };
    if let Err(refused) =
        integration.apply_all(connector, &update, &state.sealer, relais_core::now())
    {
        errors.extend(refused);
    }
    let preview = fields.contains_key("preview");
    if !errors.is_empty() || preview {
        let declaration = connector.declaration();
        let choices = Choices::of(&state, installation.base_id, declaration)
            .await
            .or_page(&v)?;
        let secrets = state
            .sealer
            .open(&integration.sealed_secrets)
            .unwrap_or_default();
        let mut refused = FieldErrors::default();
        for e in &errors {
            refused.refuse(&e.field, e.error.message_in(lang.code()).to_owned());
        }
        let typed = Typed {
            values: Some(&fields),
            errors: refused,
        };
        let title = format!("{}{}", lang.t("Réglages de "), declaration.name);
        let body = html! {
            @if errors.is_empty() {
                p.notice id="settings-preview" { (lang.t("Aperçu : rien n'est encore enregistré. Voici quand les exécutions auraient lieu avec ces réglages.")) }
            } @else {
                (typed.errors.summary(lang, "settings-refused", "Rien n'a été enregistré"))
                @for (_, message) in typed.errors.iter().filter(|(field, _)| !typed_field_shown(field, declaration)) {
                    p.error { (message) }
                }
            }
            (settings_form(&v, &integration, declaration, &secrets, &choices, &typed))
            p { a href={ "/integrations/" (installation.app) } { (lang.t("Revenir à l'application sans enregistrer")) } }
        };
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok((status, page(Some(&v), lang, &title, body)).into_response());
    }
    let testing = fields.contains_key("test");
    let confirmed = fields.contains_key("confirmed");
    if testing || !confirmed {
        if let Some(check) = &state.connection_check {
            let partner = connector.declaration().name;
            let outcome = check.check(&integration).await;
            if testing || outcome.is_err() {
                return Ok(connection_page(
                    &v,
                    &installation,
                    partner,
                    outcome,
                    &pairs,
                    testing,
                ));
            }
        }
    }
    state
        .store
        .change_integration(&integration, Action::SettingsChanged, v.actor())
        .await
        .or_page(&v)?;
    Ok(Redirect::to(&format!("/integrations/{}", installation.app)).into_response())
}

/// The answer to "Tester la connexion", or to saving settings whose test
/// failed: what the partner said, and the settings sent again (to save them
/// anyway, or, after a successful test, to save them).
fn connection_page(
    v: &Viewer,
    installation: &Installation,
    partner: &str,
    outcome: Result<(), String>,
    pairs: &[(String, String)],
    testing: bool,
) -> Response {
    let lang = v.lang;
    let ok = outcome.is_ok();
    let body = html! {
        h1 { (lang.t("Connexion à ")) (partner) }
        @match &outcome {
            Ok(()) => p.ok id="connection-ok" { (lang.t("La connexion fonctionne : ")) (partner) (lang.t(" a répondu avec ces identifiants, sans que rien ne soit écrit.")) },
            Err(why) => p.error id="connection-failed" { (lang.t("La connexion a échoué : ")) (why) },
        }
        @if !testing {
            p { (lang.t("Rien n'a encore été enregistré.")) }
        }
        form method="post" action={ "/installed/" (installation.id) "/settings" } id="confirm-settings" {
            @for (name, value) in pairs.iter().filter(|(n, _)| n != "test" && n != "confirmed") {
                input type="hidden" name=(name) value=(value);
            }
            input type="hidden" name="confirmed" value="1";
            button id="save-anyway" type="submit" {
                @if ok { (lang.t("Enregistrer ces réglages")) }
                @else { (lang.t("Enregistrer quand même")) }
            }
            " "
            a href={ "/integrations/" (installation.app) } { (lang.t("Revenir aux réglages sans enregistrer")) }
        }
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = (status, page(Some(v), lang, partner, body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// A stream as people read it: what it carries and which way it goes.
fn stream_label(declaration: Option<&Declaration>, stream: &str, lang: Lang) -> String {
    match declaration.and_then(|d| d.stream(stream)) {
        Some(s) => lang.pick(s.label_fr, s.label_en).to_owned(),
        None => stream.to_owned(),
    }
}

/// A changed field as a person reads it: « Nom : Martin → Martin-Durand »,
/// the field by its label (the stream's, or the mapping target's) and the
/// values as text (an empty value as « — »).
fn field_change(
    declaration: Option<&Declaration>,
    stream: &str,
    change: &relais_core::ledger::FieldChange,
    lang: Lang,
) -> (String, String, String) {
    let field = change.field.as_str();
    let from_mapping = || {
        declaration
            .and_then(|d| d.mapping)
            .and_then(|targets| targets.iter().find(|t| t.name == field))
            .map(|t| lang.pick(t.label_fr, t.label_en))
    };
    let label = match declaration.and_then(|d| d.stream(stream)) {
        Some(s) if s.fields.iter().any(|f| f.name == field) => s.field_label(field, lang.code()),
        _ => from_mapping().unwrap_or(field),
    };
    let shown = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(text) if text.is_empty() => "—".to_owned(),
        // A date as people write it: 11/04/1981.
        serde_json::Value::String(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_or_else(|_| text.clone(), |d| d.format("%d/%m/%Y").to_string()),
        other => other.to_string(),
    };
    (
        label.to_owned(),
        shown(&change.before),
        shown(&change.after),
    )
}

/// Paging of a report's lines.
#[derive(Deserialize)]
pub struct LinesQuery {
    pub(crate) offset: Option<u64>,
    /// Only this outcome (its code).
    pub(crate) outcome: Option<String>,
    /// Only this stream.
    pub(crate) stream: Option<String>,
    /// Only lines naming this (a name, an employee number, a key).
    pub(crate) q: Option<String>,
}

impl LinesQuery {
    /// The store's filter (blank fields filter nothing).
    fn filter(&self) -> relais_store::LineFilter {
        let set = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        relais_store::LineFilter {
            outcome: set(&self.outcome),
            stream: set(&self.stream),
            search: set(&self.q),
        }
    }

    /// The filter as a query string (for links and the download).
    fn query(&self) -> String {
        let f = self.filter();
        [
            ("outcome", f.outcome),
            ("stream", f.stream),
            ("q", f.search),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.map(|v| format!("{k}={}", relais_core::integration::percent_encode(&v, b"")))
        })
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Outcomes a run's lines can be filtered by, in the order shown.
const OUTCOMES: [&str; 9] = [
    "created",
    "linked",
    "updated",
    "overwritten",
    "deleted",
    "deactivated",
    "unchanged",
    "skipped",
    "failed",
];

const LINES_PER_PAGE: u32 = 500;

/// `GET /runs/{id}/progress`: where a run is, for its page to follow it
/// live: its status, how long it has been going, records done in all and
/// per stream, requests to the partner.
pub async fn run_progress(
    State(state): State<AppState>,
    ViewedRun(v, run, _): ViewedRun,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let streams: Vec<serde_json::Value> = run
        .streams
        .iter()
        .map(|(name, c)| serde_json::json!({ "stream": name, "done": c.total() }))
        .collect();
    let expected = expected_for(&state, &run).await;
    Ok(axum::Json(serde_json::json!({
        "expected": expected,
        "estimate": expected.and_then(|e| remaining(&run, e, lang)),
        "status": run.status.as_str(),
        "statusLabel": status_label(run.status, lang),
        "finished": run.status.is_finished(),
        "elapsed": run_duration(&run),
        "done": run.counts.total(),
        "written": run.counts.written(),
        "created": run.counts.created + run.counts.linked,
        "updated": run.counts.updated + run.counts.overwritten,
        "deleted": run.counts.deleted + run.counts.deactivated,
        "failed": run.counts.failed + run.counts.skipped,
        "streams": streams,
        "partnerRequests": run.partner_requests,
    }))
    .into_response())
}

/// A running run, followed live: its phase, elapsed time, records done in
/// all and per stream, partner requests, and how far it is against the last
/// comparable run (`expected` records) with the time it still needs.
fn live_block(
    run: &SyncRun,
    declaration: Option<&Declaration>,
    expected: Option<u64>,
    lang: Lang,
) -> Markup {
    html! {
            noscript { meta http-equiv="refresh" content="2"; }
            div.notice id="run-live" data-progress={ "/runs/" (run.id) "/progress" } role="status" {
                strong id="live-status" { (status_label(run.status, lang)) } " · "
                (lang.t("depuis ")) span id="live-elapsed" { (run_duration(run)) } " · "
                span id="live-done" { (run.counts.total()) } (lang.t(" enregistrements traités")) " · "
                span id="live-requests" { (run.partner_requests) } (lang.t(" requêtes à l'éditeur"))
                br;
                (lang.t("Créés ou rattachés")) " : " span id="live-created" { (run.counts.created + run.counts.linked) } " · "
                (lang.t("Mis à jour")) " : " span id="live-updated" { (run.counts.updated + run.counts.overwritten) } " · "
                (lang.t("Supprimés ou désactivés")) " : " span id="live-deleted" { (run.counts.deleted + run.counts.deactivated) } " · "
                (lang.t("Refusés ou écartés")) " : " span id="live-failed" { (run.counts.failed + run.counts.skipped) }
                @if let Some(e) = expected {
                    br;
                    label for="live-progress" { (lang.tf("sur environ %{expected} (la dernière exécution comparable)", &[("expected", &e)])) }
                    " " progress id="live-progress" max=(e) value=(run.counts.total().min(e)) {}
                    " " span id="live-estimate" { (remaining(run, e, lang).unwrap_or_default()) }
                }
                @if let Some(d) = declaration {
                    ul {
                        @for st in d.streams {
                            li { (lang.pick(st.label_fr, st.label_en)) " : " span data-live-stream=(st.name) { (run.streams.get(st.name).map_or(0, |c| c.total())) } }
                        }
                    }
                }
            }
            script { (maud::PreEscaped(FOLLOW_RUN)) }
    }
}

/// Follows a run live on its page: asks for its progress every second and
/// a half, updates the figures, and reloads the page (its lines) once the
/// run is over.
const FOLLOW_RUN: &str = "(function(){const el=document.getElementById('run-live');if(!el)return;\
const url=el.dataset.progress;async function tick(){try{const r=await fetch(url,{credentials:'same-origin'});\
if(r.ok){const p=await r.json();if(p.finished){location.reload();return;}\
document.getElementById('live-status').textContent=p.statusLabel;document.getElementById('live-elapsed').textContent=p.elapsed;\
document.getElementById('live-done').textContent=p.done;document.getElementById('live-requests').textContent=p.partnerRequests;\
for(const k of ['created','updated','deleted','failed']){const c=document.getElementById('live-'+k);if(c)c.textContent=p[k];}\
const bar=document.getElementById('live-progress');if(bar&&p.expected){bar.max=p.expected;bar.value=Math.min(p.done,p.expected);}\
const est=document.getElementById('live-estimate');if(est)est.textContent=p.estimate||'';\
for(const s of p.streams){const c=document.querySelector('[data-live-stream=\"'+s.stream+'\"]');if(c)c.textContent=s.done;}}}catch(e){}\
setTimeout(tick,1500);}setTimeout(tick,1500);})();";

/// How long a run took (or has been running), as people say it.
fn run_duration(r: &SyncRun) -> String {
    let Some(start) = r.started_at else {
        return "—".into();
    };
    let end = r.finished_at.unwrap_or_else(relais_core::now);
    let seconds = (end - start).num_seconds().max(0);
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min {:02} s", seconds / 60, seconds % 60),
        _ => format!("{} h {:02} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// How many records a run should go through, known from the last finished
/// run of its integration of the same kind (full or not) among `runs` (the
/// integration's latest, newest first); `None` without one.
fn expected_records(runs: &[SyncRun], run: &SyncRun) -> Option<u64> {
    runs.iter()
        .find(|r| {
            r.id != run.id
                && r.full == run.full
                && matches!(r.status, RunStatus::Succeeded | RunStatus::Warnings)
        })
        .map(|r| r.counts.total())
        .filter(|n| *n > 0)
}

/// [`expected_records`] for a run alone: reads its integration's latest runs.
async fn expected_for(state: &AppState, run: &SyncRun) -> Option<u64> {
    let runs = state.store.list_runs(run.installation_id, 20).await.ok()?;
    expected_records(&runs, run)
}

/// Seconds still needed at the pace of `done` records in `elapsed_ms`.
fn seconds_left(elapsed_ms: i64, done: u64, expected: u64) -> i64 {
    let per_record = elapsed_ms as f64 / 1000.0 / done.max(1) as f64;
    (per_record * expected.saturating_sub(done) as f64).ceil() as i64
}

/// The time a running run still needs, from its pace so far and the records
/// it should go through: « environ 2 min ».
fn remaining(run: &SyncRun, expected: u64, lang: Lang) -> Option<String> {
    let done = run.counts.total();
    let start = run.started_at?;
    if done == 0 || done >= expected || run.status.is_finished() {
        return None;
    }
    let elapsed = (relais_core::now() - start).num_milliseconds().max(0);
    let left = seconds_left(elapsed, done, expected);
    let text = match left {
        0..=59 => format!("{left} s"),
        _ => format!("{} min", (left + 59) / 60),
    };
    Some(lang.tf("environ %{left} restantes", &[("left", &text)]))
}

/// What the connector of a run declares (its streams' labels): the
/// integration's connector, or the app's when the integration is gone.
async fn declaration_of(
    state: &AppState,
    run: &SyncRun,
    installation: &Installation,
) -> Option<&'static Declaration> {
    match state.store.get_integration(run.installation_id).await {
        Ok(i) => state
            .connectors
            .get(i.connector.as_str())
            .map(|c| c.declaration()),
        Err(_) => state
            .connectors
            .get(&installation.app)
            .map(|c| c.declaration()),
    }
}

/// The run the path's `{id}` names, if it is one of the viewer's base,
/// with who looks and the installation it ran for (a page saying so
/// otherwise). What its connector declares is read by the pages that show
/// it (`declaration_of`), not by the live progress polled while it runs.
pub struct ViewedRun(Viewer, SyncRun, Installation);

impl axum::extract::FromRequestParts<AppState> for ViewedRun {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let v = Viewer::from_request_parts(parts, state).await?;
        let PagePath(id) = PagePath::<RunId>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (run, installation) = run_of_base(state, &v, id)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(v, run, installation))
    }
}

/// Run `id`, if it is one of the viewer's base, with its installation.
async fn run_of_base(
    state: &AppState,
    v: &Viewer,
    id: RunId,
) -> Result<(SyncRun, Installation), PageError> {
    let not_found = || {
        PageError::refused(
            v,
            StatusCode::NOT_FOUND,
            v.lang.t("Aucune exécution de ce numéro sur cette base."),
        )
    };
    let Ok(run) = state.store.get_run(id).await else {
        return Err(not_found());
    };
    match state.store.list_installations(v.base.id).await {
        Ok(list) => match list.into_iter().find(|i| i.id == run.installation_id) {
            Some(installation) => Ok((run, installation)),
            None => Err(not_found()),
        },
        Err(e) => Err(PageError::internal(v, e)),
    }
}

/// `GET /runs/{id}/lines.csv`: the run's lines the filters keep, as CSV
/// (UTF-8 with a byte order mark), read a thousand at a time as they are
/// sent.
pub async fn run_lines_csv(
    State(state): State<AppState>,
    ViewedRun(v, run, installation): ViewedRun,
    Query(q): Query<LinesQuery>,
) -> Result<Response, PageError> {
    let lang = v.lang;
    let declaration = declaration_of(&state, &run, &installation).await;
    let header = [
        lang.t("Flux"),
        lang.t("Enregistrement"),
        lang.t("Clé"),
        lang.t("Résultat"),
        lang.t("Raison"),
        lang.t("Champs : avant → après"),
    ];
    let first = crate::sheets::csv_rows(crate::sheets::UTF8_MARK.to_vec(), std::iter::once(header))
        .map_err(|e| PageError::internal(&v, e))?;
    let (filter, id) = (q.filter(), run.id);
    const PART: u32 = 1_000;
    let stream =
        futures_util::stream::unfold((Some(first), 0u64, false), move |(head, offset, done)| {
            let state = state.clone();
            let filter = filter.clone();
            async move {
                if let Some(h) = head {
                    return Some((Ok(axum::body::Bytes::from(h)), (None, offset, false)));
                }
                if done {
                    return None;
                }
                let lines = match state.store.find_run_lines(id, &filter, offset, PART).await {
                    Ok(lines) => lines,
                    Err(e) => {
                        tracing::error!(error = %e, run = %id, "run lines download failed");
                        return Some((
                            Err(std::io::Error::other(e.to_string())),
                            (None, offset, true),
                        ));
                    }
                };
                if lines.is_empty() {
                    return None;
                }
                let records = lines.iter().map(|l| {
                    let fields = l
                        .fields
                        .iter()
                        .map(|f| {
                            let (field, before, after) =
                                field_change(declaration, &l.stream, f, lang);
                            format!("{field} : {before} → {after}")
                        })
                        .collect::<Vec<_>>()
                        .join(" ; ");
                    [
                        stream_label(declaration, &l.stream, lang),
                        l.label.clone(),
                        l.key.clone(),
                        outcome_label(&l.outcome, lang).to_owned(),
                        l.outcome.reason().unwrap_or_default().to_owned(),
                        fields,
                    ]
                });
                let bytes = crate::sheets::csv_part(records);
                // After a part that could not be written, nothing more.
                let last = bytes.is_err() || lines.len() < PART as usize;
                Some((bytes, (None, offset + lines.len() as u64, last)))
            }
        });
    Ok(crate::sheets::csv_file(
        stream,
        &format!("run-{}.csv", run.id),
    ))
}

/// `GET /runs/{id}`: a run's report — counts, then each record's line.
pub async fn run_page(
    State(state): State<AppState>,
    ViewedRun(v, run, installation): ViewedRun,
    Query(q): Query<LinesQuery>,
) -> Result<Response, PageError> {
    let (lang, id) = (v.lang, run.id);
    let declaration = declaration_of(&state, &run, &installation).await;
    let offset = q.offset.unwrap_or(0);
    let filter = q.filter();
    let query = q.query();
    let lines = state
        .store
        .find_run_lines(id, &filter, offset, LINES_PER_PAGE)
        .await
        .or_page(&v)?;
    let c = run.counts;
    let shown = lines.len() as u64;
    let title = format!("{} #{}", lang.t("Exécution"), run.id);
    let refresh = !run.status.is_finished();
    let expected = if refresh {
        expected_for(&state, &run).await
    } else {
        None
    };
    Ok(page(Some(&v), lang, &title, html! {
        @if refresh { (live_block(&run, declaration, expected, lang)) }
        p { a href={ "/integrations/" (installation.app) } { "← " (declaration.map_or(installation.app.as_str(), |d| d.name)) } }
        p id="run-status" data-status=(run.status.as_str()) class=(match run.status { RunStatus::Succeeded => "ok", RunStatus::Failed | RunStatus::Interrupted => "error", _ => "notice" }) {
            strong { (status_label(run.status, lang)) }
            @if run.dry_run { " · " (lang.t("simulation : rien n'a été écrit")) }
            " · " @if run.full { (lang.t("réconciliation complète")) } @else { (lang.t("incrémentale")) }
            " · " (trigger_label(run.trigger, lang))
            @if let Some(who) = &run.requested_by { " " (lang.t("par ")) span id="requested-by" { (who) } }
            @if let Some(e) = &run.error { br; span id="run-error" { (relais_core::integration::HealthReason::read(e, lang.code())) } }
            @if refresh { br; (lang.t("Cette page suit l'exécution en direct.")) }
        }
        table id="counts" {
            tbody {
                tr { th { (lang.t("Créés")) } td.n { (c.created) } th { (lang.t("Rattachés")) } td.n { (c.linked) } }
                tr { th { (lang.t("Mis à jour")) } td.n { (c.updated) } th { (lang.t("Écrasés chez l'éditeur")) } td.n { (c.overwritten) } }
                tr { th { (lang.t("Supprimés")) } td.n { (c.deleted) } th { (lang.t("Inchangés")) } td.n { (c.unchanged) } }
                tr { th { (lang.t("Écartés")) } td.n { (c.skipped) } th { (lang.t("Refusés")) } td.n { (c.failed) } }
                tr { th { (lang.t("Désactivés")) } td.n { (c.deactivated) } th { (lang.t("Requêtes à l'éditeur")) } td.n { (run.partner_requests) } }
            }
        }
        @if run.streams.len() > 1 {
            table id="stream-counts" {
                (column_heads(lang, &["Flux", "Créés ou rattachés", "Mis à jour", "Supprimés ou désactivés", "Inchangés", "Écartés", "Refusés"]))
                tbody {
                    @for (name, s) in &run.streams {
                        tr data-stream=(name) {
                            td { (stream_label(declaration, name, lang)) }
                            td.n { (s.created + s.linked) } td.n { (s.updated + s.overwritten) } td.n { (s.deleted + s.deactivated) }
                            td.n { (s.unchanged) } td.n { (s.skipped) } td.n { (s.failed) }
                        }
                    }
                }
            }
        }
        form.filters id="line-filters" method="get" action={ "/runs/" (id) } {
            div.field {
                label for="outcome" { (lang.t("Résultat")) }
                select id="outcome" name="outcome" {
                    option value="" { (lang.t("— tous —")) }
                    @for code in OUTCOMES {
                        @if let Ok(o) = relais_core::integration::Outcome::from_parts(code, Some(String::new())) {
                            option value=(code) selected[filter.outcome.as_deref() == Some(code)] { (outcome_label(&o, lang)) }
                        }
                    }
                }
            }
            @if run.streams.len() > 1 {
                div.field {
                    label for="stream" { (lang.t("Flux")) }
                    select id="stream" name="stream" {
                        option value="" { (lang.t("— tous —")) }
                        @for name in run.streams.keys() {
                            option value=(name) selected[filter.stream.as_deref() == Some(name.as_str())] { (stream_label(declaration, name, lang)) }
                        }
                    }
                }
            }
            div.field {
                label for="q" { (lang.t("Nom ou matricule")) }
                input id="q" name="q" type="search" value=(filter.search.clone().unwrap_or_default());
            }
            div.field { button id="filter-lines" type="submit" { (lang.t("Filtrer")) } }
            div.field { a.button id="download-lines" href={ "/runs/" (id) "/lines.csv?" (query) } { (lang.t("Télécharger en CSV")) } }
        }
        @if lines.is_empty() && offset == 0 {
            @if filter == relais_store::LineFilter::default() { p.muted id="no-lines" { (lang.t("Aucun enregistrement modifié.")) } }
            @else { p.muted id="no-lines" { (lang.t("Aucune ligne ne correspond à ces filtres.")) } }
        }
        @else {
            table id="lines" {
                (column_heads(lang, &["Flux", "Enregistrement", "Résultat", "Champs : avant → après"]))
                tbody {
                    @for l in &lines {
                        tr data-outcome=(l.outcome.code()) {
                            td.stream data-stream=(l.stream) { (stream_label(declaration, &l.stream, lang)) }
                            td.record { @if l.label.is_empty() { code { (l.key) } } @else { (l.label) } }
                            td { (outcome_label(&l.outcome, lang)) @if let Some(r) = l.outcome.reason() { br; span.muted { (r) } } }
                            td.changes { @for f in &l.fields {
                                @let (field, before, after) = field_change(declaration, &l.stream, f, lang);
                                div { strong { (field) } " : " (before) " → " (after) }
                            } }
                        }
                    }
                }
            }
            p {
                @if offset > 0 { a href={ "/runs/" (id) "?offset=" (offset.saturating_sub(u64::from(LINES_PER_PAGE))) "&" (query) } { (lang.t("← précédentes")) } " " }
                @if shown == u64::from(LINES_PER_PAGE) { a id="next-lines" href={ "/runs/" (id) "?offset=" (offset + shown) "&" (query) } { (lang.t("suivantes →")) } }
            }
        }
    }).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_follows_the_pace_so_far() {
        // 250 of 1,000 records in 30 s: 90 s more.
        assert_eq!(seconds_left(30_000, 250, 1_000), 90);
        assert_eq!(seconds_left(30_000, 1_000, 1_000), 0);
        assert_eq!(seconds_left(1_500, 3, 4), 1, "rounded up");
    }
}
