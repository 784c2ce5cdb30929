//! A local Ledgy: equity management, where a company's people are
//! stakeholders. Ledgy publishes no write API; relais defines this one for
//! the HR-system leg of its integration (what Merge feeds Ledgy).
//!
//! Every call carries `Authorization: Bearer <token>`; answers are JSON:
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/stakeholders?page=1&limit=100[&identifiers=a,b]` | `{stakeholders, page, total, hasMore}`, in creation order (or those identifiers) |
//! | `PUT /api/v1/stakeholders/{identifier}` `{"fields": {name: value}}` | 201 with the new stakeholder, 200 with the stakeholder updated (the fields sent replace those held) |
//! | `POST /api/v1/stakeholders/batch` `{"stakeholders": [{"identifier", "fields"}, …]}` (100 at most, else 413) | 200 `{"results": [{"identifier", "status": "created" \| "updated" \| "refused", "error"}]}`, one per item, in order |
//! | `POST /api/v1/stakeholders/{identifier}/unlink` | 200: the stakeholder stays, no longer fed by the HR system |
//!
//! A stakeholder is `{identifier, fields, hrLinked, createdAt, updatedAt}`;
//! the identifier is the customer's stakeholder identifier (the employee
//! number by default). A stakeholder is never deleted because an employee
//! left: equity outlives employment, so leaving is a termination date and
//! a status among its fields. Errors are `{"error": {"code", "message"}}`
//! (`unauthorized`, `bad_request`, `not_found`). Tests look inside with
//! `GET /_sim/state`; faults as every simulator (`/_sim/faults`).

use crate::sim::{self, FaultState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A stakeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stakeholder {
    /// The customer's stakeholder identifier.
    pub identifier: String,
    /// Its fields, as the HR system last sent them.
    pub fields: Map<String, Value>,
    /// Whether the HR system still feeds it.
    pub hr_linked: bool,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// How many times the HR system wrote it.
    pub writes: u64,
}

/// Everything the simulator holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdings {
    /// Stakeholders, in creation order.
    pub stakeholders: Vec<Stakeholder>,
}

impl Holdings {
    /// The stakeholder `identifier`.
    pub fn get(&self, identifier: &str) -> Option<&Stakeholder> {
        self.stakeholders
            .iter()
            .find(|s| s.identifier == identifier)
    }
}

type Shared = Arc<sim::Held<Holdings>>;

fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message.into() } })),
    )
        .into_response()
}

fn unauthorised(sim: &Shared, headers: &HeaderMap) -> Option<Response> {
    let given = sim::bearer(headers);
    (given != Some(sim.credential.as_str())).then(|| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown bearer token",
        )
    })
}

#[derive(Deserialize)]
struct Listing {
    page: Option<usize>,
    limit: Option<usize>,
    identifiers: Option<String>,
}

async fn list(State(sim): State<Shared>, Query(q): Query<Listing>) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let h = sim.lock();
    let chosen: Vec<&Stakeholder> = match &q.identifiers {
        Some(ids) => ids.split(',').filter_map(|id| h.get(id.trim())).collect(),
        None => h.stakeholders.iter().collect(),
    };
    let total = chosen.len();
    let items: Vec<&&Stakeholder> = chosen.iter().skip((page - 1) * limit).take(limit).collect();
    Json(json!({
        "stakeholders": items,
        "page": page,
        "total": total,
        "hasMore": page * limit < total,
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Write {
    fields: Map<String, Value>,
}

/// One stakeholder of a batch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchItem {
    identifier: String,
    fields: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchWrite {
    stakeholders: Vec<BatchItem>,
}

/// Stakeholders one batch takes at most.
pub const BATCH_LIMIT: usize = 100;

/// Why a stakeholder's write is refused, if it is.
fn refusal(identifier: &str, fields: &Map<String, Value>) -> Option<String> {
    if identifier.trim().is_empty() || identifier.len() > 100 {
        return Some("a stakeholder identifier is 1 to 100 characters".into());
    }
    fields
        .iter()
        .find(|(_, v)| v.is_object() || v.is_array())
        .map(|(name, _)| format!("field '{name}' must be a text, a number, a boolean or null"))
}

/// Creates or replaces a stakeholder's fields: it, and whether it was created.
fn put_one(
    h: &mut Holdings,
    identifier: String,
    fields: Map<String, Value>,
) -> (Stakeholder, bool) {
    let now = relais_core::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    if let Some(s) = h
        .stakeholders
        .iter_mut()
        .find(|s| s.identifier == identifier)
    {
        s.fields = fields;
        s.hr_linked = true;
        s.updated_at = now;
        s.writes += 1;
        return (s.clone(), false);
    }
    let s = Stakeholder {
        identifier,
        fields,
        hr_linked: true,
        created_at: now.clone(),
        updated_at: now,
        writes: 1,
    };
    h.stakeholders.push(s.clone());
    (s, true)
}

async fn batch(State(sim): State<Shared>, raw: axum::body::Bytes) -> Response {
    let write: BatchWrite = match serde_json::from_slice(&raw) {
        Ok(w) => w,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
    };
    if write.stakeholders.len() > BATCH_LIMIT {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("a batch takes {BATCH_LIMIT} stakeholders at most"),
        );
    }
    let mut h = sim.lock();
    let results: Vec<Value> = write
        .stakeholders
        .into_iter()
        .map(|item| match refusal(&item.identifier, &item.fields) {
            Some(why) => json!({ "identifier": item.identifier, "status": "refused", "error": why }),
            None => {
                let (s, created) = put_one(&mut h, item.identifier, item.fields);
                json!({ "identifier": s.identifier, "status": if created { "created" } else { "updated" }, "error": null })
            }
        })
        .collect();
    Json(json!({ "results": results })).into_response()
}

async fn upsert(
    State(sim): State<Shared>,
    Path(identifier): Path<String>,
    raw: axum::body::Bytes,
) -> Response {
    let write: Write = match serde_json::from_slice(&raw) {
        Ok(w) => w,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
    };
    if let Some(why) = refusal(&identifier, &write.fields) {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", why);
    }
    let (s, created) = put_one(&mut sim.lock(), identifier, write.fields);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(json!(s))).into_response()
}

async fn unlink(State(sim): State<Shared>, Path(identifier): Path<String>) -> Response {
    let mut h = sim.lock();
    match h
        .stakeholders
        .iter_mut()
        .find(|s| s.identifier == identifier)
    {
        Some(s) => {
            s.hr_linked = false;
            (StatusCode::OK, Json(json!(s))).into_response()
        }
        None => refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no stakeholder '{identifier}'"),
        ),
    }
}

async fn sim_state(State(sim): State<Shared>) -> Json<Holdings> {
    Json(sim.lock().clone())
}

/// The simulator's routes, answering to the bearer token `token`, with injectable faults.
pub fn router(token: &str) -> Router {
    let faults = Arc::new(FaultState::default());
    let sim: Shared = sim::Held::new(token, Holdings::default());
    let api = Router::new()
        .route("/api/v1/stakeholders", get(list))
        .route("/api/v1/stakeholders/batch", post(batch))
        .route("/api/v1/stakeholders/{identifier}", put(upsert))
        .route("/api/v1/stakeholders/{identifier}/unlink", post(unlink));
    let inspect = Router::new().route("/_sim/state", get(sim_state));
    sim::assemble(sim, unauthorised, api, inspect, faults)
}

/// Starts a Ledgy simulator on `addr` (port 0 picks a free one).
pub async fn start(addr: std::net::SocketAddr, token: &str) -> std::io::Result<sim::Running> {
    sim::start(router(token), addr).await
}
