//! `/api/relais/integration…`: the integration of the calling key's
//! installation — its settings and health (never its secrets), its runs,
//! each run's report, and asking for a run. The partner holding the key can
//! so start a sync and read what it did, as HappyPal's manual runs need.

use super::extract::{JsonBody, Pairs};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::need::{Need, Routes};
use crate::query::number_in;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use relais_core::ids::RunId;
use relais_core::integration::{
    Health, HealthReason, Integration, Outcome, ReportLine, RunAsk, RunStatus, SyncRun, Trigger,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    Routes::new()
        .get("/api/relais/integration", Need::AppKey, show)
        .get("/api/relais/integration/runs", Need::AppKey, runs)
        .post("/api/relais/integration/runs", Need::AppKey, ask)
        .get("/api/relais/integration/runs/{id}", Need::AppKey, report)
}

/// The integration of the caller's installation.
async fn integration_of(state: &AppState, caller: &Caller) -> Result<Integration, ApiError> {
    let installation = state
        .store
        .list_installations(caller.base())
        .await?
        .into_iter()
        .find(|i| i.key_id == caller.key.id)
        .ok_or_else(|| {
            ApiError::NotFound(
                "this key belongs to no installed app: only an app's own key reaches its integration"
                    .into(),
            )
        })?;
    state
        .store
        .get_integration(installation.id)
        .await
        .map_err(|_| {
            ApiError::NotFound(format!(
                "{} has no integration run by relais: the partner reads the base itself",
                installation.app
            ))
        })
}

/// The integration as its partner reads it: its settings and health, never
/// its secrets.
pub fn integration_json(i: &Integration) -> Value {
    json!({
        "installationId": i.installation_id,
        "connector": i.connector.as_str(),
        "partnerUrl": i.partner_url,
        "sourceUrl": i.source_url,
        "schedule": i.schedule.as_str(),
        "fullSchedule": i.full_schedule.as_str(),
        "timeZone": i.time_zone.0.name(),
        "options": i.options,
        "health": i.health.as_str(),
        "healthReason": i.reason("en"),
        "paused": i.paused,
        "nextRunAt": i.next_run_at,
        "nextFullAt": i.next_full_at,
    })
}

/// A date and time in the document's schema, null where `nullable`.
fn instant(description: &str, nullable: bool) -> Value {
    json!({ "type": "string", "format": "date-time", "nullable": nullable, "description": description })
}

/// A text in the document's schema.
fn text(description: &str, nullable: bool) -> Value {
    json!({ "type": "string", "nullable": nullable, "description": description })
}

/// The JSON schema of [`integration_json`], for the OpenAPI document:
/// written beside it, so that both change together.
pub fn integration_schema() -> Value {
    let healths: Vec<&str> = Health::ALL.iter().map(|h| h.as_str()).collect();
    json!({
        "type": "object",
        "required": ["installationId", "connector", "partnerUrl", "schedule", "fullSchedule", "timeZone", "health"],
        "properties": {
            "installationId": { "type": "integer" },
            "connector": text("the connector's code, e.g. `happypal`", false),
            "partnerUrl": text("the partner's API, where relais sends", false),
            "sourceUrl": text("the base relais reads from when it is not this one", true),
            "schedule": text("when incremental runs start (a cron rule)", false),
            "fullSchedule": text("when a run is a full reconciliation (a cron rule)", false),
            "timeZone": text("the time zone both schedules are read in", false),
            "options": { "type": "object", "description": "the connector's settings (never a secret)" },
            "health": { "type": "string", "enum": healths },
            "healthReason": text("why, in words (empty when healthy)", false),
            "paused": text("why an administrator paused it, when paused", true),
            "nextRunAt": instant("when the next scheduled run is due", true),
            "nextFullAt": instant("when the next full reconciliation is due", true),
        },
    })
}

/// A run as its partner reads it: what started it, where it is, and how
/// many records had each outcome, in all and per stream.
pub fn run_json(r: &SyncRun) -> Value {
    json!({
        "id": r.id,
        "installationId": r.installation_id,
        "trigger": r.trigger.as_str(),
        "dryRun": r.dry_run,
        "full": r.full,
        "status": r.status.as_str(),
        "requestedAt": r.requested_at,
        "startedAt": r.started_at,
        "finishedAt": r.finished_at,
        "counts": r.counts,
        "streams": r.streams,
        "partnerRequests": r.partner_requests,
        "error": r.error.as_deref().map(|e| HealthReason::read(e, "en")),
    })
}

/// `schema` with its `description`.
fn described(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

/// The JSON schema of a run's counts: records per outcome.
fn counts_schema() -> Value {
    let properties: serde_json::Map<String, Value> = Outcome::CODES
        .iter()
        .map(|code| {
            (
                (*code).to_owned(),
                json!({ "type": "integer", "description": Outcome::meaning(code) }),
            )
        })
        .collect();
    json!({ "type": "object", "required": Outcome::CODES, "properties": properties })
}

/// The JSON schema of [`run_json`], for the OpenAPI document.
pub fn run_schema() -> Value {
    let triggers: Vec<&str> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
    let statuses: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    json!({
        "type": "object",
        "required": ["id", "installationId", "trigger", "dryRun", "full", "status", "requestedAt", "counts", "streams", "partnerRequests"],
        "properties": {
            "id": { "type": "integer" },
            "installationId": { "type": "integer" },
            "trigger": { "type": "string", "enum": triggers, "description": "what started it" },
            "dryRun": { "type": "boolean", "description": "whether it only planned, writing nothing" },
            "full": { "type": "boolean", "description": "whether it was a full reconciliation" },
            "status": { "type": "string", "enum": statuses },
            "requestedAt": instant("when it was asked for", false),
            "startedAt": instant("when a runtime started it", true),
            "finishedAt": instant("when it finished", true),
            "counts": described(counts_schema(), "records per outcome, in all"),
            "streams": { "type": "object", "additionalProperties": counts_schema(), "description": "records per outcome of each stream, by its name" },
            "partnerRequests": { "type": "integer", "description": "requests sent to the partner" },
            "error": text("why it stopped, in words, when it did", true),
        },
    })
}

/// One record's line of a run's report: the record, what happened to it
/// (and why, for one skipped or refused), and the fields it changed.
pub fn line_json(l: &ReportLine) -> Value {
    json!({
        "stream": l.stream,
        "key": l.key,
        "label": l.label_in("en"),
        "outcome": l.outcome.code(),
        "reason": l.outcome.reason_in("en"),
        "fields": l.fields,
        "employeeId": l.employee,
    })
}

/// The JSON schema of [`line_json`], for the OpenAPI document.
pub fn line_schema() -> Value {
    json!({
        "type": "object",
        "required": ["stream", "key", "label", "outcome", "fields"],
        "properties": {
            "stream": text("the stream it belongs to, e.g. `resources`", false),
            "key": text("the record's key in the source", false),
            "label": text("who or what the record is, as a person reads it", false),
            "outcome": { "type": "string", "enum": Outcome::CODES },
            "reason": text("why it was skipped or refused", true),
            "fields": { "type": "array", "description": "the fields it changed at the partner", "items": {
                "type": "object",
                "required": ["field", "before", "after"],
                "properties": {
                    "field": { "type": "string", "description": "the field, as the partner names it" },
                    "before": { "nullable": true, "description": "the value the partner held (null: none)" },
                    "after": { "nullable": true, "description": "the value sent (null: none)" },
                },
            } },
            "employeeId": { "type": "integer", "nullable": true, "description": "the employee of the base it is about" },
        },
    })
}

/// The JSON schema of a run's report page: the run, a page of its lines,
/// and the offset of the next page.
pub fn report_schema() -> Value {
    json!({
        "type": "object",
        "required": ["run", "lines", "next"],
        "properties": {
            "run": described(run_schema(), "the run: what started it, where it is, its counts"),
            "lines": { "type": "array", "items": line_schema(), "description": "a page of its lines, a record each, in the order written" },
            "next": { "type": "integer", "nullable": true, "description": "the offset of the next page; null after the last" },
        },
    })
}

async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let i = integration_of(&state, &caller).await?;
    Ok(Json(json!({ "data": integration_json(&i) })))
}

async fn runs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    pairs: Pairs,
) -> Result<Json<Value>, ApiError> {
    let limit = pairs
        .one("limit")?
        .map_or(Ok(20), |raw| number_in("limit", raw, 1..=100))?;
    let i = integration_of(&state, &caller).await?;
    let runs: Vec<Value> = state
        .store
        .list_runs(i.installation_id, limit)
        .await?
        .iter()
        .map(run_json)
        .collect();
    Ok(Json(json!({ "data": { "items": runs } })))
}

/// The body of `POST /api/relais/integration/runs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Ask {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    full: bool,
}

async fn ask(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Option<JsonBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ask: Ask = match body {
        None => Ask::default(),
        Some(JsonBody(v)) => {
            serde_json::from_value(Value::Object(v)).map_err(|e| ApiError::BadRequest {
                parameter: "body".into(),
                message: format!("the body must be {{\"dryRun\": bool, \"full\": bool}}: {e}"),
            })?
        }
    };
    let i = integration_of(&state, &caller).await?;
    // A run already waiting answers: asking twice does not run twice.
    let asked = relais_app::runs::ask_run(
        &state.store,
        &RunAsk::new(i.installation_id, Trigger::Api)
            .dry_run(ask.dry_run)
            .full(ask.full)
            .actor(relais_core::activity::Actor::Key(caller.key.id)),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "data": run_json(&asked.run) })),
    ))
}

async fn report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    pairs: Pairs,
) -> Result<Json<Value>, ApiError> {
    let limit = pairs
        .one("limit")?
        .map(crate::query::parse_limit)
        .transpose()?
        .unwrap_or(crate::query::MAX_LIMIT);
    let offset = pairs
        .one("offset")?
        .map_or(Ok(0), |raw| number_in("offset", raw, 0..=u64::MAX))?;
    let id = RunId(id.parse().map_err(|_| ApiError::BadRequest {
        parameter: "id".into(),
        message: format!("'{id}' is not a run identifier"),
    })?);
    let i = integration_of(&state, &caller).await?;
    let run = state
        .store
        .get_run(id)
        .await
        .ok()
        .filter(|r| r.installation_id == i.installation_id)
        .ok_or_else(|| ApiError::NotFound(format!("no run {id} of this integration")))?;
    // One line more than the page tells whether another page follows.
    let mut lines = state.store.run_lines(id, offset, limit + 1).await?;
    let next = (lines.len() > limit as usize).then(|| offset + u64::from(limit));
    lines.truncate(limit as usize);
    let lines: Vec<Value> = lines.iter().map(line_json).collect();
    Ok(Json(
        json!({ "data": { "run": run_json(&run), "lines": lines, "next": next } }),
    ))
}
