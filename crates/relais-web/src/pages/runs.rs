//! A run's page: its report (counts, lines filtered by outcome, stream or
//! name, each change field by field), its progress followed live, and
//! its lines as a CSV download; and the labels runs are shown with.

use super::layout::{column_heads, page, OrPage, PageError, PagePath};
use crate::session::{Lang, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::connector::{Declaration, FieldValue, Refers};
use relais_core::ids::RunId;
use relais_core::integration::{Integration, RunStatus, SyncRun, Trigger};
use relais_core::people::Installation;
use serde::Deserialize;

/// A time in the integration's zone as people of `lang` read it, the zone
/// named: « 02/03/2027 21:30 (Europe/Paris) », « 2 Mar 2027, 21:30 (Europe/Paris) ».
pub(crate) fn when(
    t: Option<chrono::DateTime<chrono::Utc>>,
    i: &Integration,
    lang: Lang,
) -> String {
    t.map_or_else(
        || "—".to_owned(),
        |t| super::layout::zoned_time(t, i.time_zone.0, false, lang),
    )
}

pub(crate) fn status_label(s: RunStatus, lang: Lang) -> &'static str {
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

pub(crate) fn trigger_label(t: Trigger, lang: Lang) -> &'static str {
    match t {
        Trigger::Schedule => lang.t("planification"),
        Trigger::Page => lang.t("bouton"),
        Trigger::Cli => lang.t("ligne de commande"),
        Trigger::Api => "API",
        Trigger::Change => lang.t("modification dans la base"),
    }
}

/// A stream as people read it: what it carries and which way it goes.
fn stream_label(declaration: Option<&Declaration>, stream: &str, lang: Lang) -> String {
    match declaration.and_then(|d| d.stream(stream)) {
        Some(s) => lang.pick(s.label_fr, s.label_en).to_owned(),
        None => stream.to_owned(),
    }
}

/// The names of the base's records that a page of a run's lines point at
/// through a field declared as an identifier (a department, an employee),
/// so that a person reads « Atelier », not « 11 »; and the employees the
/// lines are about, whose page a line links to while they are in the base.
#[derive(Debug, Default)]
struct Referred(std::collections::HashMap<(Refers, i64), String>);

impl Referred {
    /// Reads, on `base`, the names the fields of `lines` point at. A name
    /// that cannot be read is left out: its identifier is shown instead.
    async fn of(
        state: &AppState,
        base: relais_core::ids::BaseId,
        declaration: Option<&Declaration>,
        lines: &[relais_core::integration::ReportLine],
    ) -> Self {
        let mut wanted: std::collections::HashMap<Refers, std::collections::BTreeSet<i64>> =
            Default::default();
        for l in lines {
            if let Some(employee) = l.employee {
                wanted.entry(Refers::Employee).or_default().insert(employee);
            }
            let Some(stream) = declaration.and_then(|d| d.stream(&l.stream)) else {
                continue;
            };
            for f in &l.fields {
                if let Some(refers) = stream.field_refers(f.field.as_str()) {
                    let ids = [&f.before, &f.after].into_iter().filter_map(id_in);
                    wanted.entry(refers).or_default().extend(ids);
                }
            }
        }
        let mut names = std::collections::HashMap::new();
        if wanted.contains_key(&Refers::Department) {
            match state.store.list_departments(base).await {
                Ok(departments) => names.extend(
                    departments
                        .into_iter()
                        .map(|d| ((Refers::Department, d.id.0), d.name.to_string())),
                ),
                Err(e) => tracing::warn!(error = %e, "cannot read the departments' names"),
            }
        }
        if let Some(ids) = wanted.get(&Refers::Employee).filter(|ids| !ids.is_empty()) {
            let ids: Vec<relais_core::ids::EmployeeId> = ids
                .iter()
                .copied()
                .map(relais_core::ids::EmployeeId)
                .collect();
            match state.store.employees_by_ids(base, &ids).await {
                Ok(found) => names.extend(
                    found
                        .into_iter()
                        .map(|e| ((Refers::Employee, e.id.0), e.display_name())),
                ),
                Err(e) => tracing::warn!(error = %e, "cannot read the employees' names"),
            }
        }
        Self(names)
    }

    /// Whether employee `id` was found in the base.
    fn has_employee(&self, id: i64) -> bool {
        self.0.contains_key(&(Refers::Employee, id))
    }

    /// The name of the record `value` identifies, when it was read.
    fn name(&self, refers: Refers, value: &serde_json::Value) -> Option<&str> {
        self.0.get(&(refers, id_in(value)?)).map(String::as_str)
    }
}

/// The identifier a field's value holds: a number, or digits as text.
fn id_in(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// A changed field as a person reads it: « Nom : Martin → Martin-Durand »,
/// the field by its label (the stream's, or the mapping target's) and the
/// values as text (an empty value as « — », an identifier as the name of
/// what it identifies, a date or a time as people of `lang` write it).
fn field_change(
    declaration: Option<&Declaration>,
    stream: &str,
    change: &relais_core::ledger::FieldChange,
    referred: &Referred,
    lang: Lang,
) -> Option<(String, String, String)> {
    let field = change.field.as_str();
    let target = declaration
        .and_then(|d| d.mapping)
        .and_then(|targets| targets.iter().find(|t| t.name == field));
    let spec = declaration.and_then(|d| d.stream(stream));
    let declared = spec.is_some_and(|s| s.fields.iter().any(|f| f.name == field));
    let label = match (spec, target) {
        (Some(s), _) if declared => s.field_label(field, lang.code()),
        (_, Some(t)) => lang.pick(t.label_fr, t.label_en),
        _ => field,
    };
    let target_words = if declared { None } else { target };
    let value = spec.map_or(FieldValue::Text, |s| s.field_value(field));
    if value == FieldValue::Fingerprint {
        // Settings a record was sent with: their change, never their value.
        return (!change.before.is_null()).then(|| {
            (
                label.to_owned(),
                lang.t("ancienne").to_owned(),
                lang.t("nouvelle").to_owned(),
            )
        });
    }
    let named = |v: &serde_json::Value| match value {
        FieldValue::Refers(r) => referred.name(r, v).map(str::to_owned),
        words => v
            .as_str()
            .and_then(|code| {
                words
                    .words(code, lang.code())
                    .or_else(|| target_words.and_then(|t| t.words(code, lang.code())))
            })
            .map(str::to_owned),
    };
    let shown = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(text) if text.is_empty() => "—".to_owned(),
        _ => named(v).unwrap_or_else(|| match v {
            serde_json::Value::String(text) => said_value(text, lang),
            other => other.to_string(),
        }),
    };
    Some((
        label.to_owned(),
        shown(&change.before),
        shown(&change.after),
    ))
}

/// A field's text value as people of `lang` write it: a date (11/04/1981,
/// 11 Apr 1981) or a time of day (20/01/2027 08:00) as such, any other text
/// as it is.
pub(crate) fn said_value(text: &str, lang: Lang) -> String {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return relais_core::said::day(d, lang.code());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        use chrono::Timelike as _;
        return relais_core::said::moment(t, t.second() != 0, lang.code());
    }
    text.to_owned()
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
    /// The store's filter for `run`'s lines, or what is wrong with the
    /// address: an outcome relais does not know, or a stream neither the run
    /// carried nor its connector declares, named with the choices there are
    /// (a line matching neither would otherwise read as « no line matches »).
    fn checked(
        &self,
        run: &SyncRun,
        declaration: Option<&Declaration>,
        lang: Lang,
    ) -> Result<relais_store::LineFilter, String> {
        let filter = self.filter();
        if let Some(raw) = filter.outcome.as_deref() {
            if !OUTCOMES.contains(&raw) {
                let choices: Vec<String> = OUTCOMES
                    .iter()
                    .filter_map(|code| {
                        relais_core::integration::Outcome::from_parts(code, Some(String::new()))
                            .ok()
                            .map(|o| format!("{code} ({})", outcome_label(&o, lang)))
                    })
                    .collect();
                return Err(lang.tf(
                    "Le filtre « Résultat » ne connaît pas « %{raw} » : %{choices}.",
                    &[("raw", &raw), ("choices", &choices.join(", "))],
                ));
            }
        }
        if let Some(raw) = filter.stream.as_deref() {
            // A stream the connector declares may still be ahead of a run
            // under way: it has no line yet, which the page says.
            let declared = declaration.is_some_and(|d| d.stream(raw).is_some());
            if !run.streams.contains_key(raw) && !declared {
                let choices: Vec<String> = run
                    .streams
                    .keys()
                    .map(|name| format!("{name} ({})", stream_label(declaration, name, lang)))
                    .collect();
                return Err(if choices.is_empty() {
                    lang.tf(
                        "Le filtre « Flux » ne connaît pas « %{raw} » : cette exécution n'a encore traité aucun flux.",
                        &[("raw", &raw)],
                    )
                } else {
                    lang.tf(
                        "Le filtre « Flux » ne connaît pas « %{raw} » : les flux de cette exécution sont %{choices}.",
                        &[("raw", &raw), ("choices", &choices.join(", "))],
                    )
                });
            }
        }
        Ok(filter)
    }

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
const OUTCOMES: [&str; 9] = relais_core::integration::Outcome::CODES;

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
        "elapsed": run_duration(&run, lang),
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
pub(crate) fn live_block(
    run: &SyncRun,
    declaration: Option<&Declaration>,
    expected: Option<u64>,
    lang: Lang,
) -> Markup {
    html! {
            noscript { meta http-equiv="refresh" content="2"; }
            div.notice id="run-live" data-progress={ "/runs/" (run.id) "/progress" } role="status" {
                strong id="live-status" { (status_label(run.status, lang)) } " · "
                (lang.t("depuis ")) span id="live-elapsed" { (run_duration(run, lang)) } " · "
                span id="live-done" { (run.counts.total()) } (lang.t(" enregistrements traités")) " · "
                span id="live-requests" { (run.partner_requests) } (lang.t(" requêtes à l'éditeur"))
                br;
                (lang.t("Créés ou rattachés")) (lang.t(" : ")) span id="live-created" { (run.counts.created + run.counts.linked) } " · "
                (lang.t("Mis à jour")) (lang.t(" : ")) span id="live-updated" { (run.counts.updated + run.counts.overwritten) } " · "
                (lang.t("Supprimés ou désactivés")) (lang.t(" : ")) span id="live-deleted" { (run.counts.deleted + run.counts.deactivated) } " · "
                (lang.t("Refusés ou écartés")) (lang.t(" : ")) span id="live-failed" { (run.counts.failed + run.counts.skipped) }
                @if let Some(e) = expected {
                    br;
                    label for="live-progress" { (lang.tf("sur environ %{expected} (la dernière exécution comparable)", &[("expected", &e)])) }
                    " " progress id="live-progress" max=(e) value=(run.counts.total().min(e)) {}
                    " " span id="live-estimate" { (remaining(run, e, lang).unwrap_or_default()) }
                }
                @if let Some(d) = declaration {
                    ul {
                        @for st in d.streams {
                            li { (lang.pick(st.label_fr, st.label_en)) (lang.t(" : ")) span data-live-stream=(st.name) { (run.streams.get(st.name).map_or(0, |c| c.total())) } }
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

/// How long a run took (or has been running), as people of `lang` say it.
pub(crate) fn run_duration(r: &SyncRun, lang: Lang) -> String {
    let Some(start) = r.started_at else {
        return "—".into();
    };
    let end = r.finished_at.unwrap_or_else(relais_core::now);
    relais_core::said::duration(end - start, lang.code())
}

/// How many records a run should go through, known from the last finished
/// run of its integration of the same kind (full or not) among `runs` (the
/// integration's latest, newest first); `None` without one.
pub(crate) fn expected_records(runs: &[SyncRun], run: &SyncRun) -> Option<u64> {
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
    let filter = q
        .checked(&run, declaration, lang)
        .map_err(|m| PageError::refused(&v, StatusCode::BAD_REQUEST, &m))?;
    let (id, base) = (run.id, installation.base_id);
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
                let referred = Referred::of(&state, base, declaration, &lines).await;
                let records = lines.iter().map(|l| {
                    let fields = l
                        .fields
                        .iter()
                        .filter_map(|f| {
                            let (field, before, after) =
                                field_change(declaration, &l.stream, f, &referred, lang)?;
                            Some(format!("{field}{}{before} → {after}", lang.t(" : ")))
                        })
                        .collect::<Vec<_>>()
                        .join(" ; ");
                    [
                        stream_label(declaration, &l.stream, lang),
                        l.label_in(lang.code()),
                        l.key.clone(),
                        outcome_label(&l.outcome, lang).to_owned(),
                        l.outcome.reason_in(lang.code()).unwrap_or_default(),
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
    let filter = q
        .checked(&run, declaration, lang)
        .map_err(|m| PageError::refused(&v, StatusCode::BAD_REQUEST, &m))?;
    let query = q.query();
    let lines = state
        .store
        .find_run_lines(id, &filter, offset, LINES_PER_PAGE)
        .await
        .or_page(&v)?;
    let c = run.counts;
    let shown = lines.len() as u64;
    let referred = Referred::of(&state, installation.base_id, declaration, &lines).await;
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
            table.stack id="lines" {
                (column_heads(lang, &["Flux", "Enregistrement", "Résultat", "Champs : avant → après"]))
                tbody {
                    @for l in &lines {
                        tr data-outcome=(l.outcome.code()) {
                            td.stream data-stream=(l.stream) { (stream_label(declaration, &l.stream, lang)) }
                            td.record {
                                @if l.label.is_empty() { code { (l.key) } }
                                @else if let Some(id) = l.employee.filter(|id| referred.has_employee(*id)) {
                                    a href={ "/people/" (id) } { (l.label_in(lang.code())) }
                                }
                                @else { (l.label_in(lang.code())) }
                            }
                            td { (outcome_label(&l.outcome, lang)) @if let Some(r) = l.outcome.reason_in(lang.code()) { br; span.muted { (r) } } }
                            td.changes { @for f in &l.fields {
                                @if let Some((field, before, after)) = field_change(declaration, &l.stream, f, &referred, lang) {
                                    div { strong { (field) } (lang.t(" : ")) (before) " → " (after) }
                                }
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
