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
use relais_core::integration::{Integration, RunAsk, Trigger};
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

fn describe(i: &Integration) -> Value {
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

async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let i = integration_of(&state, &caller).await?;
    Ok(Json(json!({ "data": describe(&i) })))
}

/// The value of `name` in the query, the last one if given twice.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ApiError> {
    let mut given = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = given.next();
    match given.next() {
        Some(_) => Err(crate::query::Once::twice(name)),
        None => Ok(first),
    }
}

async fn runs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Pairs(pairs): Pairs,
) -> Result<Json<Value>, ApiError> {
    let limit = param(&pairs, "limit")?.map_or(Ok(20), |raw| number_in("limit", raw, 1..=100))?;
    let i = integration_of(&state, &caller).await?;
    let runs = state.store.list_runs(i.installation_id, limit).await?;
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
    let run = asked.run;
    Ok((StatusCode::ACCEPTED, Json(json!({ "data": run }))))
}

async fn report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Pairs(pairs): Pairs,
) -> Result<Json<Value>, ApiError> {
    let limit = param(&pairs, "limit")?
        .map(crate::query::parse_limit)
        .transpose()?
        .unwrap_or(crate::query::MAX_LIMIT);
    let offset =
        param(&pairs, "offset")?.map_or(Ok(0), |raw| number_in("offset", raw, 0..=u64::MAX))?;
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
    let lines = state.store.run_lines(id, offset, limit).await?;
    Ok(Json(json!({ "data": { "run": run, "lines": lines } })))
}
