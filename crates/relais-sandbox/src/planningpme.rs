//! A local PlanningPME: departments, resources and unavailabilities, with
//! the partner's authentication and request budget.
//!
//! Shape (from `reference/partners.md`), under the customer's base URL
//! `/{brand}/`:
//!
//! | request | answer |
//! |---|---|
//! | `PUT token`, form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<token>` | `{"access_token", "token_type", "expires_in"}` |
//! | `GET api/department?pageSize=999` | `{"items": [{key, label, parentKey}]}` |
//! | `PUT api/department/{key}` `{label, parentKey}` | the department (created or updated) |
//! | `DELETE api/department/{key}` | 204 |
//! | `GET api/resource` | `{"items": [{registrationNumber, label, departmentKey}]}` |
//! | `PUT api/resource/{registrationNumber}` `{label, departmentKey}` | the resource |
//! | `DELETE api/resource/{registrationNumber}` | 204 (and its unavailabilities) |
//! | `PUT api/unavailability/{key}` `{resource, start, end, label}` | the unavailability (times `YYYY-MM-DDTHH:MM:SS`, no zone) |
//! | `DELETE api/unavailability/{key}` | 204 |
//! | `POST api/do/list` `{dateFrom, dateTo, resources}` | `{"items": [{key, start, end, label, resources:[{registrationNumber}]}]}` |
//!
//! Every call sends `X-APPKEY`; all but `token` also send `Authorization:
//! Bearer <access_token>`. The app key has 2,000 requests an hour by
//! default, then 429 with `Retry-After`. PUTs are idempotent: the client
//! chooses the keys. `GET /_sim/state` shows everything held.

use crate::sim::{self, lock, FaultState, Faults};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The grant type the token endpoint accepts.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Requests an app key may make per hour by default.
pub const DEFAULT_HOURLY_BUDGET: u32 = 2_000;

/// A department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Department {
    /// Client-chosen key.
    pub key: String,
    /// Name.
    pub label: String,
    /// Parent department.
    pub parent_key: Option<String>,
}

/// A resource (an employee to schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// The HR identifier.
    pub registration_number: String,
    /// Name shown.
    pub label: String,
    /// Its department.
    pub department_key: Option<String>,
}

/// An unavailability (an absence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailability {
    /// Client-chosen key.
    pub key: String,
    /// The resource's registration number.
    pub resource: String,
    /// Start, `YYYY-MM-DDTHH:MM:SS`.
    pub start: String,
    /// End, `YYYY-MM-DDTHH:MM:SS`.
    pub end: String,
    /// Reason shown (the absence account).
    pub label: String,
}

/// Everything the simulator holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdings {
    /// Departments by key.
    pub departments: BTreeMap<String, Department>,
    /// Resources by registration number.
    pub resources: BTreeMap<String, Resource>,
    /// Unavailabilities by key.
    pub unavailabilities: BTreeMap<String, Unavailability>,
}

struct Sim {
    app_key: String,
    assertion: String,
    tokens: Mutex<Vec<String>>,
    held: Mutex<Holdings>,
}

type Shared = Arc<Sim>;

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// The refusal of a request without the app key.
fn without_app_key(sim: &Shared, headers: &HeaderMap) -> Option<Response> {
    match headers.get("x-appkey").and_then(|h| h.to_str().ok()) {
        Some(k) if k == sim.app_key => None,
        _ => Some(refuse(
            StatusCode::UNAUTHORIZED,
            "missing or unknown X-APPKEY",
        )),
    }
}

/// The refusal of a request without the app key and a bearer token this
/// simulator gave.
fn unauthorised(sim: &Shared, headers: &HeaderMap) -> Option<Response> {
    without_app_key(sim, headers).or_else(|| match sim::bearer(headers) {
        Some(t) if lock(&sim.tokens).iter().any(|k| k == t) => None,
        _ => Some(refuse(
            StatusCode::UNAUTHORIZED,
            "missing or unknown bearer token",
        )),
    })
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    assertion: String,
}

async fn token(
    State(sim): State<Shared>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<TokenForm>,
) -> Response {
    if let Some(refusal) = without_app_key(&sim, &headers) {
        return refusal;
    }
    if f.grant_type != GRANT_TYPE {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("unsupported grant_type {}", f.grant_type),
        );
    }
    if f.assertion != sim.assertion {
        return refuse(StatusCode::UNAUTHORIZED, "the assertion is not valid");
    }
    let access = format!("pme-{:016x}", fastrand::u64(..));
    lock(&sim.tokens).push(access.clone());
    Json(json!({ "access_token": access, "token_type": "bearer", "expires_in": 3600 }))
        .into_response()
}

async fn departments(State(sim): State<Shared>) -> Response {
    let held = lock(&sim.held);
    Json(json!({ "items": held.departments.values().collect::<Vec<_>>() })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DepartmentBody {
    label: String,
    parent_key: Option<String>,
}

async fn put_department(
    State(sim): State<Shared>,
    Path(key): Path<String>,
    Json(b): Json<DepartmentBody>,
) -> Response {
    if b.label.trim().is_empty() {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "label is required");
    }
    let d = Department {
        key: key.clone(),
        label: b.label,
        parent_key: b.parent_key,
    };
    lock(&sim.held).departments.insert(key, d.clone());
    Json(d).into_response()
}

async fn delete_department(State(sim): State<Shared>, Path(key): Path<String>) -> Response {
    match lock(&sim.held).departments.remove(&key) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => refuse(StatusCode::NOT_FOUND, format!("no department {key}")),
    }
}

async fn resources(State(sim): State<Shared>) -> Response {
    let held = lock(&sim.held);
    Json(json!({ "items": held.resources.values().collect::<Vec<_>>() })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResourceBody {
    label: String,
    department_key: Option<String>,
}

async fn put_resource(
    State(sim): State<Shared>,
    Path(number): Path<String>,
    Json(b): Json<ResourceBody>,
) -> Response {
    let mut held = lock(&sim.held);
    if let Some(d) = &b.department_key {
        if !held.departments.contains_key(d) {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("no department {d}"),
            );
        }
    }
    let r = Resource {
        registration_number: number.clone(),
        label: b.label,
        department_key: b.department_key,
    };
    held.resources.insert(number, r.clone());
    Json(r).into_response()
}

async fn delete_resource(State(sim): State<Shared>, Path(number): Path<String>) -> Response {
    let mut held = lock(&sim.held);
    if held.resources.remove(&number).is_none() {
        return refuse(StatusCode::NOT_FOUND, format!("no resource {number}"));
    }
    held.unavailabilities.retain(|_, u| u.resource != number);
    StatusCode::NO_CONTENT.into_response()
}

fn time(raw: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S").ok()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnavailabilityBody {
    resource: String,
    start: String,
    end: String,
    label: String,
}

async fn put_unavailability(
    State(sim): State<Shared>,
    Path(key): Path<String>,
    Json(b): Json<UnavailabilityBody>,
) -> Response {
    let (Some(start), Some(end)) = (time(&b.start), time(&b.end)) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "start and end must read YYYY-MM-DDTHH:MM:SS",
        );
    };
    if end <= start {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "end must come after start",
        );
    }
    let mut held = lock(&sim.held);
    if !held.resources.contains_key(&b.resource) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("no resource {}", b.resource),
        );
    }
    let u = Unavailability {
        key: key.clone(),
        resource: b.resource,
        start: b.start,
        end: b.end,
        label: b.label,
    };
    held.unavailabilities.insert(key, u.clone());
    Json(u).into_response()
}

async fn delete_unavailability(State(sim): State<Shared>, Path(key): Path<String>) -> Response {
    match lock(&sim.held).unavailabilities.remove(&key) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => refuse(StatusCode::NOT_FOUND, format!("no unavailability {key}")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListBody {
    date_from: String,
    date_to: String,
    #[serde(default)]
    resources: Vec<String>,
}

async fn list_tasks(State(sim): State<Shared>, Json(b): Json<ListBody>) -> Response {
    let day = |raw: &str| {
        chrono::NaiveDate::parse_from_str(raw.get(..10).unwrap_or(raw), "%Y-%m-%d").ok()
    };
    let (Some(from), Some(to)) = (day(&b.date_from), day(&b.date_to)) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "dateFrom and dateTo must be dates",
        );
    };
    let held = lock(&sim.held);
    let items: Vec<_> = held
        .unavailabilities
        .values()
        .filter(|u| b.resources.is_empty() || b.resources.contains(&u.resource))
        .filter(|u| {
            let (s, e) = (time(&u.start).map(|t| t.date()), time(&u.end).map(|t| t.date()));
            s.is_some_and(|s| s <= to) && e.is_some_and(|e| e >= from)
        })
        .map(|u| json!({ "key": u.key, "start": u.start, "end": u.end, "label": u.label, "unavailable": true, "resources": [{ "registrationNumber": u.resource }] }))
        .collect();
    Json(json!({ "items": items })).into_response()
}

async fn state(State(sim): State<Shared>) -> Json<Holdings> {
    Json(lock(&sim.held).clone())
}

/// The simulator's routes under `/{brand}/`, answering to `app_key` and
/// giving tokens for `assertion`, with the default hourly budget.
pub fn router(brand: &str, app_key: &str, assertion: &str) -> Router {
    let faults = Arc::new(FaultState::with(Faults {
        rate_limit: Some(DEFAULT_HOURLY_BUDGET),
        ..Faults::default()
    }));
    let sim: Shared = Arc::new(Sim {
        app_key: app_key.to_owned(),
        assertion: assertion.to_owned(),
        tokens: Mutex::new(Vec::new()),
        held: Mutex::new(Holdings::default()),
    });
    let api = Router::new()
        .route("/api/department", get(departments))
        .route(
            "/api/department/{key}",
            put(put_department).delete(delete_department),
        )
        .route("/api/resource", get(resources))
        .route(
            "/api/resource/{number}",
            put(put_resource).delete(delete_resource),
        )
        .route(
            "/api/unavailability/{key}",
            put(put_unavailability).delete(delete_unavailability),
        )
        .route("/api/do/list", post(list_tasks));
    let check: sim::Check<Shared> = unauthorised;
    let api = api
        .route_layer(axum::middleware::from_fn_with_state(
            (sim.clone(), check),
            sim::guard,
        ))
        .route("/token", put(token))
        .with_state(sim.clone());
    Router::new()
        .nest(&format!("/{brand}"), api)
        .route("/_sim/state", get(state).with_state(sim))
        .merge(sim::control(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(faults, sim::inject))
}

/// Starts a PlanningPME simulator on `addr` (port 0 picks a free one).
pub async fn start(
    addr: std::net::SocketAddr,
    brand: &str,
    app_key: &str,
    assertion: &str,
) -> std::io::Result<sim::Running> {
    sim::start(router(brand, app_key, assertion), addr).await
}
