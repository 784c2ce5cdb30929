//! `/api/relais/webhooks`: a key's webhook endpoints — where its change
//! feed is pushed. An endpoint is activated by echo (`GET <url>?echo=…`
//! must answer the value), gets a signing secret shown once (rotatable,
//! the previous one still signing for a day), and keeps a log of its
//! deliveries; a test event can be sent, and events replayed from a cursor.
//! A key manages its own endpoints only; another key's read as missing.

use super::events::{check_topics, followed_topics};
use super::extract::{JsonBody, Pairs};
use crate::auth::Caller;
use crate::deliver::{test_delivery, RECEIVER_TIMEOUT};
use crate::error::ApiError;
use crate::need::{Need, Routes};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use relais_core::activity::Actor;
use relais_core::events::TopicFilter;
use relais_core::ids::{DeliveryId, EndpointId, EstablishmentId};
use relais_core::secret::{SecretName, Secrets};
use relais_core::webhooks::{
    check_url, Delivery, DeliveryStatus, Endpoint, EndpointSetup, EndpointStatus, WebhookFault,
    WebhookSecret,
};
use relais_store::{DeliveryQuery, NewEndpoint};
use serde_json::{json, Map, Value};

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    Routes::new()
        .get("/api/relais/webhooks", Need::AnyKey, list)
        .post("/api/relais/webhooks", Need::AnyKey, create)
        .get("/api/relais/webhooks/{id}", Need::AnyKey, one)
        .delete("/api/relais/webhooks/{id}", Need::AnyKey, delete)
        .get(
            "/api/relais/webhooks/{id}/deliveries",
            Need::AnyKey,
            deliveries,
        )
        .post("/api/relais/webhooks/{id}/{action}", Need::AnyKey, act)
}

/// How long the secret before a rotation still signs.
pub const ROTATION_GRACE: chrono::Duration = chrono::Duration::hours(24);

/// 422: a field of the body is wrong.
fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
    relais_core::DomainError::new(field, message.into()).into()
}

fn invalid_text(field: &str) -> ApiError {
    match field {
        "url" => invalid("url", "url must be a text"),
        _ => invalid("name", "name must be a text"),
    }
}

/// An endpoint as the API shows it (never its secret).
fn endpoint_json(e: &Endpoint) -> Value {
    json!({
        "id": e.id.0,
        "name": e.setup.name,
        "url": e.setup.url,
        "topics": e.setup.topics.iter().map(TopicFilter::to_string).collect::<Vec<_>>(),
        "establishments": e.setup.establishments.as_ref().map(|ids| ids.iter().map(|i| i.0).collect::<Vec<_>>()),
        "status": e.status.code(),
        "statusReason": e.status_reason.as_deref().map(|r| WebhookFault::read(r, "en")),
        "cursor": e.cursor,
        "failingSince": e.failing_since,
        "previousSecretUntil": e.previous_until,
        "createdAt": e.created_at,
    })
}

/// The JSON schema of [`endpoint_json`] (and the secret shown with it once),
/// for the OpenAPI document: written beside it, so that both change together.
pub fn endpoint_schema() -> Value {
    let statuses: Vec<&str> = EndpointStatus::ALL.iter().map(|s| s.code()).collect();
    let instant = |description: &str| json!({ "type": "string", "format": "date-time", "nullable": true, "description": description });
    json!({
        "type": "object",
        "required": ["id", "url", "topics", "status", "cursor", "createdAt"],
        "properties": {
            "id": { "type": "integer" },
            "name": { "type": "string", "nullable": true },
            "url": { "type": "string", "description": "where events are posted" },
            "topics": { "type": "array", "items": { "type": "string" }, "description": "the topics followed (empty: all the key reads)" },
            "establishments": { "type": "array", "items": { "type": "integer" }, "nullable": true, "description": "only events about employees of these establishments" },
            "status": { "type": "string", "enum": statuses },
            "statusReason": { "type": "string", "nullable": true, "description": "why it is inactive or suspended" },
            "cursor": { "type": "integer", "description": "the last event handed to the endpoint" },
            "failingSince": instant("since when its deliveries fail"),
            "previousSecretUntil": instant("until when the secret before the last rotation still signs"),
            "createdAt": { "type": "string", "format": "date-time" },
            "secret": { "type": "string", "description": "the signing secret, whsec_…: in the answer of a registration or a rotation only" },
        },
    })
}

/// The JSON schema of [`delivery_json`], for the OpenAPI document.
pub fn delivery_schema() -> Value {
    let statuses: Vec<&str> = relais_core::webhooks::DeliveryStatus::ALL
        .iter()
        .map(|s| s.code())
        .collect();
    let nullable = |ty: &str, description: &str| json!({ "type": ty, "nullable": true, "description": description });
    let mut next = nullable("string", "when it is tried again");
    next["format"] = json!("date-time");
    let mut delivered = nullable("string", "when the endpoint took it");
    delivered["format"] = json!("date-time");
    json!({
        "type": "object",
        "required": ["id", "messageId", "cursor", "topic", "status", "attempts", "createdAt"],
        "properties": {
            "id": { "type": "integer" },
            "messageId": { "type": "string", "description": "the webhook-id header: the same for every attempt" },
            "cursor": { "type": "integer", "description": "the event's place in the feed" },
            "topic": { "type": "string" },
            "status": { "type": "string", "enum": statuses },
            "attempts": { "type": "integer" },
            "lastStatus": nullable("integer", "the HTTP status of the last attempt"),
            "lastError": nullable("string", "why the last attempt failed"),
            "latencyMs": nullable("integer", "how long the last attempt took"),
            "nextAttemptAt": next,
            "createdAt": { "type": "string", "format": "date-time" },
            "deliveredAt": delivered,
        },
    })
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id.0,
        "messageId": d.message_id,
        "cursor": d.event_seq,
        "topic": d.topic,
        "status": d.status.code(),
        "attempts": d.attempts,
        "lastStatus": d.last_status,
        "lastError": d.last_error.as_deref().map(|r| WebhookFault::read(r, "en")),
        "latencyMs": d.last_latency_ms,
        "nextAttemptAt": d.next_attempt_at,
        "createdAt": d.created_at,
        "deliveredAt": d.delivered_at,
    })
}

/// The endpoint `id` if it is the caller's; another key's reads as missing.
async fn own(state: &AppState, caller: &Caller, id: &str) -> Result<Endpoint, ApiError> {
    let missing = || ApiError::NotFound(format!("no webhook endpoint {id}"));
    let id: EndpointId = id.parse().map_err(|_| missing())?;
    match state.store.endpoint(id).await {
        Ok(e) if e.setup.key_id == caller.key.id => Ok(e),
        Ok(_) | Err(relais_store::StoreError::NotFound { .. }) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = state
        .store
        .endpoints_of_key(caller.key.id)
        .await?
        .iter()
        .map(endpoint_json)
        .collect();
    Ok(Json(json!({ "data": { "items": items } })))
}

async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = own(&state, &caller, &id).await?;
    Ok(Json(json!({ "data": endpoint_json(&e) })))
}

/// Asks `url` to echo a random value, as Lucca's activation does: the
/// endpoint is active when it answers that value; otherwise why not.
/// Only addresses within `reach` are asked, over the connections, checks
/// and time limit of the deliveries ([`crate::posting::Poster`]).
pub async fn echo(reach: crate::reach::WebhookReach, url: &str) -> Result<(), WebhookFault> {
    use crate::posting::{PostError, Poster};
    let mut asked = reach.address(url)?;
    let value = format!("{:016x}", fastrand::u64(..));
    asked.query_pairs_mut().append_pair("echo", &value);
    // No connection is kept: an echo is asked for once in a while.
    let poster = Poster::new(reach, 0, crate::posting::USER_AGENT);
    let (answer, body) = poster
        .get(&asked, RECEIVER_TIMEOUT)
        .await
        .map_err(|e| match e {
            PostError::TimedOut => WebhookFault::EchoNoAnswer {
                seconds: RECEIVER_TIMEOUT.as_secs(),
            },
            PostError::Failed(cause) => WebhookFault::EchoUnreachable { cause: Some(cause) },
        })?;
    if !(200..300).contains(&answer.status) {
        return Err(WebhookFault::EchoAnswered {
            status: answer.status,
        });
    }
    if String::from_utf8_lossy(&body).trim() != value {
        return Err(WebhookFault::EchoWrongValue);
    }
    Ok(())
}

/// The members a new endpoint's body takes (the OpenAPI document lists
/// them from here).
pub const ENDPOINT_MEMBERS: &[&str] = &["url", "name", "topics", "establishments"];

/// The members a replay's body takes.
pub const REPLAY_MEMBERS: &[&str] = &["after"];

async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    super::body::only(&body, &[ENDPOINT_MEMBERS], "a webhook endpoint")?;
    let text = |field: &str| -> Result<Option<String>, ApiError> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(invalid_text(field)),
        }
    };
    let url = text("url")?
        .ok_or_else(|| invalid("url", "url is required: the address events are posted to"))?;
    let name = text("name")?;
    let topics = match body.get("topics") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => TopicFilter::parse_list(s)?,
        Some(Value::Array(list)) => {
            let joined: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            if joined.len() != list.len() {
                return Err(invalid(
                    "topics",
                    "topics is a list of texts such as employee.* or leave.created".to_owned(),
                ));
            }
            TopicFilter::parse_list(&joined.join(","))?
        }
        Some(_) => {
            return Err(invalid(
                "topics",
                "topics is a list of texts such as employee.* or leave.created".to_owned(),
            ))
        }
    };
    let establishments = match body.get("establishments") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) if !list.is_empty() => {
            let mut ids = Vec::new();
            for v in list {
                let id = v.as_i64().filter(|i| *i > 0).ok_or_else(|| {
                    invalid(
                        "establishments",
                        "establishments is a list of establishment identifiers",
                    )
                })?;
                ids.push(EstablishmentId(id));
            }
            Some(ids)
        }
        Some(_) => {
            return Err(invalid(
                "establishments",
                "establishments is a non-empty list of establishment identifiers",
            ))
        }
    };
    let (endpoint, secret) = register(
        &state,
        &caller,
        Registration {
            url,
            name,
            topics,
            establishments,
            by: by_key(&caller),
        },
    )
    .await?;
    let mut shown = endpoint_json(&endpoint);
    shown["secret"] = json!(secret.reveal());
    Ok((StatusCode::CREATED, Json(json!({ "data": shown }))).into_response())
}

/// What registering an endpoint takes.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The address, checked by [`register`].
    pub url: String,
    /// Its name (default: its address).
    pub name: Option<String>,
    /// Topic filters (none: every topic the key follows).
    pub topics: Vec<TopicFilter>,
    /// Only these establishments (none: all the key sees).
    pub establishments: Option<Vec<EstablishmentId>>,
    /// Who registers it: the key itself through the API, or a person on
    /// the key's page (for the activity journal).
    pub by: Actor,
}

/// Registers an endpoint for the caller's key, by the API or the key's
/// page: checks it (address, topics the key follows, establishments it
/// sees), activates it by echo, and gives it a secret — returned here, and
/// never shown again.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    r: Registration,
) -> Result<(Endpoint, WebhookSecret), ApiError> {
    let url = check_url(&r.url)?;
    state
        .webhook_reach
        .check(&url)
        .map_err(|e| ApiError::bad("url", e.to_string()))?;
    let name = r
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| url.clone());
    if name.chars().count() > 200 {
        return Err(invalid("name", "name is at most 200 characters"));
    }
    check_topics(caller.role(), &r.topics)?;
    if followed_topics(caller.role(), &r.topics).is_empty() {
        return Err(invalid(
            "topics",
            "this key reads none of the records these topics are about",
        ));
    }
    if let (Some(asked), Some(mine)) = (&r.establishments, &caller.scope.establishments) {
        if let Some(id) = asked.iter().find(|e| !mine.contains(e)) {
            return Err(ApiError::ForbiddenBecause(format!(
                "this key does not read establishment {id}"
            )));
        }
    }
    if let Some(asked) = &r.establishments {
        let known = state.store.list_establishments(caller.base()).await?;
        if let Some(id) = asked.iter().find(|id| !known.iter().any(|e| e.id == **id)) {
            return Err(invalid(
                "establishments",
                format!("no establishment {id} in this base"),
            ));
        }
    }
    let secret = WebhookSecret::generate();
    let mut secrets = Secrets::default();
    secrets.set(SecretName::WebhookSigning, &secret.reveal());
    let (status, reason) = echoed(state, &url).await;
    let endpoint = state
        .store
        .create_endpoint(
            &NewEndpoint {
                setup: EndpointSetup {
                    base_id: caller.base(),
                    key_id: caller.key.id,
                    name: name.trim().to_owned(),
                    url,
                    topics: r.topics,
                    establishments: r.establishments,
                },
                sealed_secrets: state.sealer.seal(&secrets),
                status,
                status_reason: reason,
                cursor: state.store.last_event(caller.base()).await?,
            },
            r.by,
        )
        .await?;
    Ok((endpoint, secret))
}

/// Where an endpoint at `url` stands after its echo, and why if inactive.
async fn echoed(state: &AppState, url: &str) -> (EndpointStatus, Option<String>) {
    match echo(state.webhook_reach, url).await {
        Ok(()) => (EndpointStatus::Active, None),
        Err(why) => (EndpointStatus::Inactive, Some(why.stored())),
    }
}

/// Asks the endpoint to echo again, for `by`: active if it does, inactive
/// with why if not (a suspended endpoint then gets the events that waited).
pub async fn activate(state: &AppState, e: &Endpoint, by: Actor) -> Result<(), ApiError> {
    let (status, reason) = echoed(state, &e.setup.url).await;
    state
        .store
        .set_endpoint_status(e.id, status, reason.as_deref(), by)
        .await?;
    Ok(())
}

/// Queues a test event (`webhook.test`) for the endpoint, asked for by
/// `by` (written in the journal).
pub async fn send_test(state: &AppState, e: &Endpoint, by: Actor) -> Result<(), ApiError> {
    state
        .store
        .queue_test_delivery(e.id, &test_delivery(e), by)
        .await?;
    Ok(())
}

/// Gives the endpoint a new signing secret, for `by`, and returns it (to be
/// shown once): the one before still signs for [`ROTATION_GRACE`].
pub async fn rotate(state: &AppState, e: &Endpoint, by: Actor) -> Result<WebhookSecret, ApiError> {
    let store = &state.store;
    let open = state.sealer.open(&store.endpoint_secrets(e.id).await?)?;
    let secret = WebhookSecret::generate();
    let mut secrets = Secrets::default();
    secrets.set(SecretName::WebhookSigning, &secret.reveal());
    if let Some(previous) = open.get(SecretName::WebhookSigning) {
        secrets.set(SecretName::WebhookPrevious, previous);
    }
    store
        .set_endpoint_secrets(
            e.id,
            &state.sealer.seal(&secrets),
            Some(relais_core::now() + ROTATION_GRACE),
            by,
        )
        .await?;
    Ok(secret)
}

/// Sends the endpoint the events after cursor `after` again (from 0 to the
/// base's latest event), for `by`.
pub async fn replay(state: &AppState, e: &Endpoint, after: i64, by: Actor) -> Result<(), ApiError> {
    let latest = state.store.last_event(e.setup.base_id).await?;
    if !(0..=latest).contains(&after) {
        return Err(invalid(
            "after",
            format!("after is a cursor from 0 to the latest event ({latest})"),
        ));
    }
    state.store.set_endpoint_cursor(e.id, after, by).await?;
    Ok(())
}

/// The caller's key, as who made a change (for the activity journal).
fn by_key(caller: &Caller) -> Actor {
    Actor::Key(caller.key.id)
}

async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let e = own(&state, &caller, &id).await?;
    state.store.delete_endpoint(e.id, by_key(&caller)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deliveries listed a page when no `limit` is given.
const DELIVERIES_PER_PAGE: u32 = 100;

/// The page of an endpoint's delivery log a query asks for: `before` (a
/// delivery's id: those older), `status` and `limit` (1 to 1,000).
fn delivery_query(pairs: &Pairs) -> Result<DeliveryQuery, ApiError> {
    let before = pairs
        .one("before")?
        .map(|raw| crate::query::number_in("before", raw, 1..=i64::MAX))
        .transpose()?
        .map(DeliveryId);
    let status = pairs
        .one("status")?
        .map(|raw| {
            DeliveryStatus::parse(raw).map_err(|_| {
                let codes: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.code()).collect();
                ApiError::bad(
                    "status",
                    format!("'{raw}' is not a delivery status: use {}", codes.join(", ")),
                )
            })
        })
        .transpose()?;
    let limit = pairs
        .one("limit")?
        .map(crate::query::parse_limit)
        .transpose()?
        .unwrap_or(DELIVERIES_PER_PAGE);
    Ok(DeliveryQuery {
        before,
        status,
        limit,
    })
}

async fn deliveries(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    pairs: Pairs,
) -> Result<Json<Value>, ApiError> {
    let query = delivery_query(&pairs)?;
    let e = own(&state, &caller, &id).await?;
    // One more than the page tells whether an older page follows.
    let mut page = state
        .store
        .list_deliveries(
            e.id,
            &DeliveryQuery {
                limit: query.limit + 1,
                ..query
            },
        )
        .await?;
    let more = page.len() > query.limit as usize;
    page.truncate(query.limit as usize);
    let next = page.last().filter(|_| more).map(|d| d.id.0);
    let items: Vec<Value> = page.iter().map(delivery_json).collect();
    Ok(Json(json!({ "data": { "items": items, "next": next } })))
}

/// The JSON schema of a page of the delivery log, for the OpenAPI document.
pub fn deliveries_schema() -> Value {
    json!({
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": { "type": "array", "items": delivery_schema() },
            "next": { "type": "integer", "nullable": true, "description": "the `before` of the next (older) page; null after the last" },
        },
    })
}

async fn act(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let e = own(&state, &caller, &id).await?;
    // Only a replay reads a body; the other actions take none.
    let body: Map<String, Value> = match serde_json::from_slice::<Value>(&body) {
        _ if body.iter().all(u8::is_ascii_whitespace) => Map::new(),
        Ok(Value::Null) => Map::new(),
        _ => super::extract::json_object(&body)?,
    };
    let store = &state.store;
    match action.as_str() {
        "activate" => activate(&state, &e, by_key(&caller)).await?,
        "rotate" => {
            let secret = rotate(&state, &e, by_key(&caller)).await?;
            let mut shown = endpoint_json(&store.endpoint(e.id).await?);
            shown["secret"] = json!(secret.reveal());
            return Ok(Json(json!({ "data": shown })).into_response());
        }
        "test" => send_test(&state, &e, by_key(&caller)).await?,
        "replay" => {
            super::body::only(&body, &[REPLAY_MEMBERS], "a replay")?;
            let Some(after) = body.get("after") else {
                return Err(invalid(
                    "after",
                    "after is required: the cursor to deliver the events after".to_owned(),
                ));
            };
            replay(&state, &e, after.as_i64().unwrap_or(-1), by_key(&caller)).await?;
        }
        other => {
            return Err(ApiError::bad(
                "action",
                format!("'{other}' is not an action: use activate, rotate, test or replay"),
            ))
        }
    }
    let e = store.endpoint(e.id).await?;
    Ok(Json(json!({ "data": endpoint_json(&e) })).into_response())
}
