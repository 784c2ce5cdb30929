//! The integration of an installed app on its page: health and its reason,
//! settings (secrets write-only), "Sync now", a chart of recent runs and
//! their list (each run's own page is `runs`).

use super::installed::installation_for_admin;
use super::layout::PageForm;
use super::layout::PagePath;
use super::layout::{page, refuse_csrf, FieldErrors, OrPage, PageError};
use super::runs::{expected_records, live_block, run_duration, status_label, trigger_label, when};
use crate::session::{Lang, Viewer};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::activity::Action;
use relais_core::connector::{Declaration, SettingKind, SettingSpec};
use relais_core::ids::InstallationId;
use relais_core::integration::{
    Health, Integration, IntegrationUpdate, RunAsk, RunStatus, SettingError, SyncRun, Trigger,
    SOURCE_KEY,
};
use relais_core::people::Installation;
use relais_core::retention::in_days;
use relais_core::schedule::{weekday_name, Frequency, Schedule, HOUR_STEPS};
use relais_core::secret::SecretName;
use serde::Deserialize;

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
        p { (lang.t("Prochaine exécution : ")) strong id="next-run" { (when(i.next_run_at, &i, lang)) } " — " (Frequency::of(&i.schedule).sentence(lang.code()))
            " · " (lang.t("réconciliation complète : ")) (when(i.next_full_at, &i, lang)) }
        @if let Some(on_change) = declaration.schedule.on_change.filter(|_| i.paused.is_none()) {
            p id="on-change" { (on_change_sentence(&on_change, &i, &connector.default_options(), lang)) }
        }
        @if v.person.can_admin_apps {
            @if let Some(open) = &open_run {
                p.notice id="run-open" {
                    (if open.status == RunStatus::Queued { lang.t("Une exécution attend de démarrer") } else { lang.t("Une exécution est en cours") })
                    (lang.t(" : ")) a href={ "/runs/" (open.id) } { (lang.t("la suivre")) " (#" (open.id) ")" } ". "
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
        p.muted id="runs-retention" {
            (lang.t("Une exécution terminée est conservée ")) (in_days(state.retention.runs)) (lang.t(" jours avec son rapport, puis supprimée ; la dernière reste toujours."))
        }
        @if runs.is_empty() { p.muted id="no-runs" { (lang.t("Aucune exécution pour l'instant.")) } }
        @else {
            (chart(&runs, lang))
            table id="runs" {
                (super::layout::column_heads_zoned(lang, &["#", "État", "Origine", "Début", "Durée", "Créés", "Mis à jour", "Supprimés ou désactivés", "Refusés", "Requêtes"], &["Début"], i.time_zone.0))
                tbody {
                    @for r in &runs {
                        tr data-status=(r.status.as_str()) {
                            td { a href={ "/runs/" (r.id) } { (r.id) } }
                            td { (status_label(r.status, lang)) @if r.dry_run { " · " (lang.t("simulation")) } @if r.full { " · " (lang.t("complète")) } }
                            td { (trigger_label(r.trigger, lang)) @if let Some(who) = &r.requested_by { br; span.muted.requested-by { (lang.t("par ")) (who) } } }
                            td { (super::layout::time_cell(r.started_at.unwrap_or(r.requested_at), i.time_zone.0, false, lang)) }
                            td.n.duration { (run_duration(r, lang)) }
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
                (super::layout::column_heads_paris(lang, &["Alerte", "Écrite le", "Envoi"], &["Écrite le", "Envoi"]))
                tbody {
                    @for a in &alerts {
                        tr data-kind=(a.alert.kind.as_str()) data-sent=(a.sent_at.is_some()) {
                            td { (match a.alert.kind {
                                relais_core::alert::AlertKind::Failing => lang.t("Échec"),
                                relais_core::alert::AlertKind::Recovered => lang.t("Rétablie"),
                            }) }
                            td { (super::layout::paris_cell(a.created_at, lang)) }
                            td { @match a.sent_at {
                                Some(at) => { (lang.t("envoyée le ")) (super::layout::paris_cell(at, lang)) },
                                None => {
                                    (lang.t("pas encore envoyée"))
                                    @if let Some(e) = &a.last_error { br; span.muted { (lang.count(a.attempts.max(0).unsigned_abs(), "%{n} essai, dernier refus : ", "%{n} essais, dernier refus : ")) (relais_core::said::Said::read(e, lang.code())) } }
                                    br; span.muted { (lang.t("prochain essai le ")) (super::layout::paris_cell(a.next_attempt_at, lang)) }
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
                    .map(|f| f.as_named().label(lang.code()).to_lowercase())
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

/// `t` in `tz` as people of `lang` read it: « lundi 01/12/2026 02:30
/// (Europe/Paris) », « Monday 1 Dec 2026, 02:30 (Europe/Paris) ».
fn local_time(
    t: chrono::DateTime<chrono::Utc>,
    tz: relais_core::org::TimeZone,
    lang: Lang,
) -> String {
    use chrono::Datelike;
    format!(
        "{} {}",
        weekday_name(
            t.with_timezone(&tz.0).weekday().num_days_from_sunday(),
            lang.code()
        ),
        super::layout::zoned_time(t, tz.0, false, lang)
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
    outcome: Result<(), relais_core::integration::HealthReason>,
    pairs: &[(String, String)],
    testing: bool,
) -> Response {
    let lang = v.lang;
    let ok = outcome.is_ok();
    let body = html! {
        h1 { (lang.t("Connexion à ")) (partner) }
        @match &outcome {
            Ok(()) => p.ok id="connection-ok" { (lang.t("La connexion fonctionne : ")) (partner) (lang.t(" a répondu avec ces identifiants, sans que rien ne soit écrit.")) },
            Err(why) => p.error id="connection-failed" { (lang.t("La connexion a échoué : ")) (why.text(lang.code())) },
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
