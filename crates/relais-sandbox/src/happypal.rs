//! A local HappyPal: the benefits platform's employee directory.
//!
//! HappyPal publishes no API, so relais defines the exchange and this
//! simulator serves it:
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/employees?page=1&per_page=100[&updated_since=T]` | `{"items": [profile…], "total": N, "as_of": T}`: profiles in creation order, only those changed at or after `T` when given; `as_of` is the simulator's clock when it answered |
//! | `PUT /api/v1/employees/{external_id}` with `{first_name, last_name, email, birth_date, contract_start, contract_end}` | the profile; creates it, or links the profile with the same e-mail (any case), or updates it |
//! | `POST /api/v1/employees/batch` with `{"items": [{"external_id", "profile": {…as PUT…}}…]}` (at most 100) | `{"results": [{"external_id", "status": 201 \| 200 \| 422, "profile" or "error"}…]}`, one per item, in order: each item as its own PUT would be |
//! | `DELETE /api/v1/employees/{external_id}` | 204, or 404 |
//!
//! Every call needs `Authorization: Bearer <token>` (the token the simulator
//! was started with). A PUT with the same body twice changes nothing the
//! second time. Tests look inside with `GET /_sim/profiles`, add profiles that
//! existed before the integration with `POST /_sim/profiles`, and edit one as
//! a HappyPal user would with `PATCH /_sim/profiles/{id}`.

use crate::sim::{self, FaultState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// A HappyPal profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// HappyPal's own identifier.
    pub id: u64,
    /// The HR base's identifier, once synced or linked.
    pub external_id: Option<String>,
    /// What the HR base sends (or a HappyPal user typed).
    #[serde(flatten)]
    pub data: ProfileData,
    /// Whether an existing profile was linked to the HR base (shown with the HR base's logo).
    pub linked: bool,
    /// Profile updates received.
    pub updates: u32,
    /// When the profile last changed (RFC 3339, UTC, microseconds).
    pub updated_at: String,
}

/// The body of a PUT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileData {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Work e-mail.
    pub email: String,
    /// Birth date.
    pub birth_date: Option<String>,
    /// Contract start.
    pub contract_start: Option<String>,
    /// Contract end.
    pub contract_end: Option<String>,
}

#[derive(Debug, Default)]
struct Directory {
    profiles: Vec<Profile>,
    next_id: u64,
}

type Shared = Arc<sim::Held<Directory>>;

/// The refusal of a request without the simulator's token.
fn unauthorised(sim: &Shared, headers: &HeaderMap) -> Option<Response> {
    let ok = sim::bearer(headers).is_some_and(|t| t == sim.credential);
    (!ok).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid or missing token" })),
        )
            .into_response()
    })
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
    per_page: Option<usize>,
    updated_since: Option<String>,
}

async fn list(State(sim): State<Shared>, Query(q): Query<PageQuery>) -> Response {
    let per_page = q.per_page.unwrap_or(100).clamp(1, 1_000);
    let page = q.page.unwrap_or(1).max(1);
    let as_of = sim::stamp();
    let dir = sim.lock();
    let since = q.updated_since.as_deref().unwrap_or("");
    let items: Vec<&Profile> = dir
        .profiles
        .iter()
        .filter(|p| p.updated_at.as_str() >= since)
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    Json(json!({ "items": items, "total": dir.profiles.len(), "as_of": as_of })).into_response()
}

fn valid(data: &ProfileData) -> Result<(), String> {
    if data.first_name.trim().is_empty() || data.last_name.trim().is_empty() {
        return Err("first_name and last_name are required".into());
    }
    if !data.email.contains('@') {
        return Err(format!("'{}' is not an e-mail address", data.email));
    }
    for d in [&data.birth_date, &data.contract_start, &data.contract_end]
        .into_iter()
        .flatten()
    {
        if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            return Err(format!("'{d}' is not a date YYYY-MM-DD"));
        }
    }
    Ok(())
}

async fn upsert(
    State(sim): State<Shared>,
    Path(external_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let data: ProfileData = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.to_string() })),
            )
                .into_response()
        }
    };
    if let Err(e) = valid(&data) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e })),
        )
            .into_response();
    }
    let (status, profile) = upsert_one(&mut sim.lock(), external_id, &data);
    (status, Json(profile)).into_response()
}

/// Creates, links (same e-mail, any case) or updates one profile.
fn upsert_one(
    dir: &mut Directory,
    external_id: String,
    data: &ProfileData,
) -> (StatusCode, Profile) {
    let apply = |p: &mut Profile| {
        if p.data != *data {
            p.data = data.clone();
            p.updates += 1;
            p.updated_at = sim::stamp();
        }
    };
    if let Some(p) = dir
        .profiles
        .iter_mut()
        .find(|p| p.external_id.as_deref() == Some(external_id.as_str()))
    {
        apply(p);
        return (StatusCode::OK, p.clone());
    }
    let email = data.email.to_lowercase();
    if let Some(p) = dir
        .profiles
        .iter_mut()
        .find(|p| p.external_id.is_none() && p.data.email.to_lowercase() == email)
    {
        p.external_id = Some(external_id);
        p.linked = true;
        p.updated_at = sim::stamp();
        apply(p);
        return (StatusCode::OK, p.clone());
    }
    dir.next_id += 1;
    let p = Profile {
        id: dir.next_id,
        external_id: Some(external_id),
        data: data.clone(),
        linked: false,
        updates: 0,
        updated_at: sim::stamp(),
    };
    dir.profiles.push(p.clone());
    (StatusCode::CREATED, p)
}

/// A batch of profiles to upsert.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    items: Vec<BatchItem>,
}

/// One profile of a batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchItem {
    external_id: String,
    profile: ProfileData,
}

/// Profiles one batch request takes at most.
pub const BATCH_LIMIT: usize = 100;

async fn upsert_batch(State(sim): State<Shared>, body: axum::body::Bytes) -> Response {
    let batch: BatchBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.to_string() })),
            )
                .into_response()
        }
    };
    if batch.items.len() > BATCH_LIMIT {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({ "error": format!("{} profiles in one batch; at most {BATCH_LIMIT}", batch.items.len()) })),
        )
            .into_response();
    }
    let mut dir = sim.lock();
    let results: Vec<serde_json::Value> = batch
        .items
        .into_iter()
        .map(|item| match valid(&item.profile) {
            Err(e) => json!({ "external_id": item.external_id, "status": 422, "error": e }),
            Ok(()) => {
                let id = item.external_id.clone();
                let (status, profile) = upsert_one(&mut dir, item.external_id, &item.profile);
                json!({ "external_id": id, "status": status.as_u16(), "profile": profile })
            }
        })
        .collect();
    Json(json!({ "results": results })).into_response()
}

async fn remove(State(sim): State<Shared>, Path(external_id): Path<String>) -> Response {
    let mut dir = sim.lock();
    let before = dir.profiles.len();
    dir.profiles
        .retain(|p| p.external_id.as_deref() != Some(external_id.as_str()));
    if dir.profiles.len() < before {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no profile {external_id}") })),
        )
            .into_response()
    }
}

async fn sim_profiles(State(sim): State<Shared>) -> Json<Vec<Profile>> {
    Json(sim.lock().profiles.clone())
}

async fn sim_add(State(sim): State<Shared>, Json(data): Json<ProfileData>) -> Response {
    let mut dir = sim.lock();
    dir.next_id += 1;
    let p = Profile {
        id: dir.next_id,
        external_id: None,
        data,
        linked: false,
        updates: 0,
        updated_at: sim::stamp(),
    };
    dir.profiles.push(p.clone());
    (StatusCode::CREATED, Json(p)).into_response()
}

/// A partial edit, as a HappyPal user would make it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    birth_date: Option<String>,
}

async fn sim_edit(
    State(sim): State<Shared>,
    Path(id): Path<u64>,
    Json(edit): Json<Edit>,
) -> Response {
    let mut dir = sim.lock();
    let Some(p) = dir.profiles.iter_mut().find(|p| p.id == id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(v) = edit.first_name {
        p.data.first_name = v;
    }
    if let Some(v) = edit.last_name {
        p.data.last_name = v;
    }
    if let Some(v) = edit.email {
        p.data.email = v;
    }
    if let Some(v) = edit.birth_date {
        p.data.birth_date = Some(v);
    }
    p.updated_at = sim::stamp();
    Json(p.clone()).into_response()
}

/// The simulator's routes, answering to `token`, with injectable faults.
pub fn router(token: &str) -> Router {
    let faults = Arc::new(FaultState::default());
    let sim: Shared = sim::Held::new(token, Directory::default());
    let api = Router::new()
        .route("/api/v1/employees", get(list))
        .route("/api/v1/employees/batch", post(upsert_batch))
        .route(
            "/api/v1/employees/{external_id}",
            put(upsert).delete(remove),
        );
    let inspect = Router::new()
        .route("/_sim/profiles", get(sim_profiles).post(sim_add))
        .route("/_sim/profiles/{id}", patch(sim_edit));
    sim::assemble(sim, unauthorised, api, inspect, faults)
}

/// Starts a HappyPal simulator on `addr` (port 0 picks a free one).
pub async fn start(addr: std::net::SocketAddr, token: &str) -> std::io::Result<sim::Running> {
    sim::start(router(token), addr).await
}
