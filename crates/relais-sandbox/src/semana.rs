//! A local Semana: hybrid-work planning, where employees book each working
//! day (or half day) as office, remote (telework) or off.
//!
//! Shape (from `reference/partners.md`), under `/v1`, every call with the
//! workspace's `X-API-Key`, every answer the envelope
//! `{"ok", "page": {"current", "count", "totalItemsCount"}, "data", "error": {"code", "message"}}`:
//!
//! | request | answer |
//! |---|---|
//! | `GET /v1/users?page=1&limit=100` | users, in creation order |
//! | `POST /v1/users` `{email, firstName, lastName, employeeNumber, establishment}` | 201 with the user; 200 with the existing user of the same e-mail (any case), linked and updated |
//! | `PATCH /v1/users/{id}` `{firstName?, lastName?, employeeNumber?, establishment?, email?, active?}` | the user (`active: false` deactivates; bookings are kept) |
//! | `GET /v1/bookings?from=YYYY-MM-DD&to=YYYY-MM-DD[&type=remote][&updatedSince=T]&page=1&limit=100` | bookings of those days |
//! | `POST /v1/bookings` `{collaboratorId, date, period: "day" \| "morning" \| "afternoon", type: "office" \| "remote" \| "off", externalId?}` | 201 with the booking; with an `externalId` already held, 200 with that booking, updated |
//! | `DELETE /v1/bookings/{id}` | 204, or 404 |
//!
//! Errors answer the envelope with `ok: false` and a code (`bad_argument`,
//! `not_found`, `unauthorized`, `conflict`). Tests and the demo look inside
//! with `GET /_sim/state`, and book days as an employee would with
//! `POST /_sim/book` `{email, date, period, type}` (no `externalId`: the
//! booking is Semana's own) or cancel one with `DELETE /_sim/bookings/{id}`.

use crate::sim::{self, FaultState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

/// A Semana user (a collaborator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Semana's identifier.
    pub id: u64,
    /// Work e-mail (unique, any case).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// The HR employee number.
    pub employee_number: Option<String>,
    /// The establishment (site) name.
    pub establishment: Option<String>,
    /// Whether the user may book; a user who left is deactivated, never deleted.
    pub active: bool,
    /// Whether an existing user was linked to the HR base.
    pub linked: bool,
}

/// A booking of one day or half day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    /// Semana's identifier.
    pub id: u64,
    /// The user's identifier.
    pub collaborator_id: u64,
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// `day`, `morning` or `afternoon`.
    pub period: String,
    /// `office`, `remote` or `off`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The client's identifier (the HR absence it comes from), when a client made it.
    pub external_id: Option<String>,
    /// When it last changed (RFC 3339, UTC, microseconds).
    pub updated_at: String,
}

/// Everything the simulator holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holdings {
    /// Users, in creation order.
    pub users: Vec<User>,
    /// Bookings, in creation order.
    pub bookings: Vec<Booking>,
    /// The last identifier given.
    pub last_id: u64,
}

impl Holdings {
    /// Adds a user of Semana's own (not linked to any HR base yet): its identifier.
    pub fn add_user(&mut self, email: &str, first_name: &str, last_name: &str) -> u64 {
        self.last_id += 1;
        self.users.push(User {
            id: self.last_id,
            email: email.to_owned(),
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            employee_number: None,
            establishment: None,
            active: true,
            linked: false,
        });
        self.last_id
    }

    /// Adds a booking a user made themselves (`day`, `morning` or
    /// `afternoon`; `office`, `remote` or `off`): its identifier.
    pub fn add_booking(
        &mut self,
        collaborator: u64,
        date: NaiveDate,
        period: &str,
        kind: &str,
    ) -> u64 {
        self.last_id += 1;
        self.bookings.push(Booking {
            id: self.last_id,
            collaborator_id: collaborator,
            date: date.to_string(),
            period: period.to_owned(),
            kind: kind.to_owned(),
            external_id: None,
            updated_at: sim::stamp(),
        });
        self.last_id
    }
}

type Shared = Arc<sim::Held<Holdings>>;

/// An envelope holding `data`.
fn ok(status: StatusCode, data: Value, page: Option<(usize, usize, usize)>) -> Response {
    let page = page.map(|(current, count, total)| {
        json!({ "current": current, "count": count, "totalItemsCount": total })
    });
    (
        status,
        Json(json!({ "ok": true, "page": page, "data": data, "error": null })),
    )
        .into_response()
}

/// An envelope saying what went wrong.
fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "ok": false, "page": null, "data": null,
            "error": { "code": code, "message": message.into() } })),
    )
        .into_response()
}

fn unauthorised(sim: &Shared, headers: &HeaderMap) -> Option<Response> {
    let given = headers.get("x-api-key").and_then(|h| h.to_str().ok());
    (given != Some(sim.credential.as_str())).then(|| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or unknown X-API-Key",
        )
    })
}

#[derive(Deserialize)]
struct Paging {
    page: Option<usize>,
    limit: Option<usize>,
}

impl Paging {
    /// (page, limit): page from 1, limit from 1 to 500 (100 by default).
    fn bounds(&self) -> (usize, usize) {
        (
            self.page.unwrap_or(1).max(1),
            self.limit.unwrap_or(100).clamp(1, 500),
        )
    }
}

fn paged<T: Serialize>(items: Vec<&T>, paging: &Paging) -> Response {
    let (page, limit) = paging.bounds();
    let total = items.len();
    let data: Vec<&&T> = items.iter().skip((page - 1) * limit).take(limit).collect();
    let count = data.len();
    ok(StatusCode::OK, json!(data), Some((page, count, total)))
}

async fn list_users(State(sim): State<Shared>, Query(paging): Query<Paging>) -> Response {
    let h = sim.lock();
    paged(h.users.iter().collect(), &paging)
}

/// The fields of a user a client sends.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserData {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    employee_number: Option<String>,
    establishment: Option<String>,
    active: Option<bool>,
}

/// A refusal not answered yet: status, error code, message.
struct Refusal(StatusCode, &'static str, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.0, self.1, self.2)
    }
}

fn body<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(raw)
        .map_err(|e| Refusal(StatusCode::BAD_REQUEST, "bad_argument", e.to_string()))
}

fn apply(user: &mut User, data: UserData) {
    if let Some(v) = data.email {
        user.email = v;
    }
    if let Some(v) = data.first_name {
        user.first_name = v;
    }
    if let Some(v) = data.last_name {
        user.last_name = v;
    }
    if data.employee_number.is_some() {
        user.employee_number = data.employee_number;
    }
    if data.establishment.is_some() {
        user.establishment = data.establishment;
    }
    if let Some(v) = data.active {
        user.active = v;
    }
}

async fn create_user(State(sim): State<Shared>, raw: axum::body::Bytes) -> Response {
    let data: UserData = match body(&raw) {
        Ok(d) => d,
        Err(r) => return r.into_response(),
    };
    let Some(email) = data.email.clone().filter(|e| e.contains('@')) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_argument",
            "email is required and must be an e-mail address",
        );
    };
    let mut h = sim.lock();
    let wanted = email.to_lowercase();
    if let Some(user) = h
        .users
        .iter_mut()
        .find(|u| u.email.to_lowercase() == wanted)
    {
        user.linked = true;
        apply(user, data);
        return ok(StatusCode::OK, json!(user), None);
    }
    if data.first_name.as_deref().is_none_or(str::is_empty)
        || data.last_name.as_deref().is_none_or(str::is_empty)
    {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_argument",
            "firstName and lastName are required",
        );
    }
    h.last_id += 1;
    let mut user = User {
        id: h.last_id,
        email,
        first_name: String::new(),
        last_name: String::new(),
        employee_number: None,
        establishment: None,
        active: true,
        linked: false,
    };
    apply(&mut user, data);
    h.users.push(user.clone());
    ok(StatusCode::CREATED, json!(user), None)
}

async fn update_user(
    State(sim): State<Shared>,
    Path(id): Path<u64>,
    raw: axum::body::Bytes,
) -> Response {
    let data: UserData = match body(&raw) {
        Ok(d) => d,
        Err(r) => return r.into_response(),
    };
    let mut h = sim.lock();
    match h.users.iter_mut().find(|u| u.id == id) {
        Some(user) => {
            apply(user, data);
            ok(StatusCode::OK, json!(user), None)
        }
        None => refuse(StatusCode::NOT_FOUND, "not_found", format!("no user {id}")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookingQuery {
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    updated_since: Option<String>,
    page: Option<usize>,
    limit: Option<usize>,
}

fn day(raw: &str, name: &str) -> Result<NaiveDate, Refusal> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        Refusal(
            StatusCode::BAD_REQUEST,
            "bad_argument",
            format!("{name} '{raw}' is not a date YYYY-MM-DD"),
        )
    })
}

async fn list_bookings(State(sim): State<Shared>, Query(q): Query<BookingQuery>) -> Response {
    let (Some(from), Some(to)) = (q.from.as_deref(), q.to.as_deref()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "bad_argument",
            "from and to are required",
        );
    };
    let (from, to) = match (day(from, "from"), day(to, "to")) {
        (Ok(f), Ok(t)) => (f.to_string(), t.to_string()),
        (Err(r), _) | (_, Err(r)) => return r.into_response(),
    };
    let h = sim.lock();
    let since = q.updated_since.as_deref().unwrap_or("");
    let items: Vec<&Booking> = h
        .bookings
        .iter()
        .filter(|b| b.date >= from && b.date <= to)
        .filter(|b| q.kind.as_deref().is_none_or(|k| k == b.kind))
        .filter(|b| b.updated_at.as_str() >= since)
        .collect();
    paged(
        items,
        &Paging {
            page: q.page,
            limit: q.limit,
        },
    )
}

/// A booking a client or an employee makes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewBooking {
    collaborator_id: u64,
    date: String,
    period: String,
    #[serde(rename = "type")]
    kind: String,
    external_id: Option<String>,
}

/// Books a day; with a known `externalId`, updates that booking instead.
fn book(h: &mut Holdings, b: NewBooking) -> Response {
    if let Err(r) = day(&b.date, "date") {
        return r.into_response();
    }
    if !["day", "morning", "afternoon"].contains(&b.period.as_str()) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_argument",
            format!("period '{}' is not day, morning or afternoon", b.period),
        );
    }
    if !["office", "remote", "off"].contains(&b.kind.as_str()) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_argument",
            format!("type '{}' is not office, remote or off", b.kind),
        );
    }
    if !h.users.iter().any(|u| u.id == b.collaborator_id) {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no user {}", b.collaborator_id),
        );
    }
    if let Some(ext) = &b.external_id {
        if let Some(existing) = h
            .bookings
            .iter_mut()
            .find(|x| x.external_id.as_deref() == Some(ext.as_str()))
        {
            existing.collaborator_id = b.collaborator_id;
            existing.date = b.date;
            existing.period = b.period;
            existing.kind = b.kind;
            existing.updated_at = sim::stamp();
            return ok(StatusCode::OK, json!(existing), None);
        }
    }
    h.last_id += 1;
    let booking = Booking {
        id: h.last_id,
        collaborator_id: b.collaborator_id,
        date: b.date,
        period: b.period,
        kind: b.kind,
        external_id: b.external_id,
        updated_at: sim::stamp(),
    };
    h.bookings.push(booking.clone());
    ok(StatusCode::CREATED, json!(booking), None)
}

async fn create_booking(State(sim): State<Shared>, raw: axum::body::Bytes) -> Response {
    match body::<NewBooking>(&raw) {
        Ok(b) => book(&mut sim.lock(), b),
        Err(r) => r.into_response(),
    }
}

fn remove_booking(sim: &Shared, id: u64) -> Response {
    let mut h = sim.lock();
    let before = h.bookings.len();
    h.bookings.retain(|b| b.id != id);
    if h.bookings.len() < before {
        StatusCode::NO_CONTENT.into_response()
    } else {
        refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no booking {id}"),
        )
    }
}

async fn delete_booking(State(sim): State<Shared>, Path(id): Path<u64>) -> Response {
    remove_booking(&sim, id)
}

async fn sim_state(State(sim): State<Shared>) -> Json<Holdings> {
    Json(sim.lock().clone())
}

/// A day booked as an employee would, named by e-mail.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmployeeBooking {
    email: String,
    date: String,
    period: String,
    #[serde(rename = "type")]
    kind: String,
}

async fn sim_book(State(sim): State<Shared>, Json(b): Json<EmployeeBooking>) -> Response {
    let mut h = sim.lock();
    let wanted = b.email.to_lowercase();
    let Some(user) = h.users.iter().find(|u| u.email.to_lowercase() == wanted) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no user {}", b.email),
        );
    };
    let booking = NewBooking {
        collaborator_id: user.id,
        date: b.date,
        period: b.period,
        kind: b.kind,
        external_id: None,
    };
    book(&mut h, booking)
}

async fn sim_cancel(State(sim): State<Shared>, Path(id): Path<u64>) -> Response {
    remove_booking(&sim, id)
}

/// The simulator's routes, answering to the workspace key `key`, with injectable faults.
pub fn router(key: &str) -> Router {
    router_with(key, Holdings::default())
}

/// The simulator's routes, holding `held` from the start (a workspace in
/// use before it was connected to an HR base).
pub fn router_with(key: &str, held: Holdings) -> Router {
    let faults = Arc::new(FaultState::default());
    let sim: Shared = sim::Held::new(key, held);
    let api = Router::new()
        .route("/v1/users", get(list_users).post(create_user))
        .route("/v1/users/{id}", patch(update_user))
        .route("/v1/bookings", get(list_bookings).post(create_booking))
        .route("/v1/bookings/{id}", delete(delete_booking));
    let inspect = Router::new()
        .route("/_sim/state", get(sim_state))
        .route("/_sim/book", post(sim_book))
        .route("/_sim/bookings/{id}", delete(sim_cancel));
    sim::assemble(sim, unauthorised, api, inspect, faults)
}

/// Starts a Semana simulator on `addr` (port 0 picks a free one).
pub async fn start(addr: std::net::SocketAddr, key: &str) -> std::io::Result<sim::Running> {
    sim::start(router(key), addr).await
}

/// Starts a Semana simulator holding `held` from the start.
pub async fn start_with(
    addr: std::net::SocketAddr,
    key: &str,
    held: Holdings,
) -> std::io::Result<sim::Running> {
    sim::start(router_with(key, held), addr).await
}
