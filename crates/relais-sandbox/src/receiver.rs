//! A webhook receiver for the demo and the tests: it answers activation
//! echoes, checks each message's Standard Webhooks signature against the
//! secrets it was given, and records what it got — what a partner's
//! endpoint would do.
//!
//! Per hook name (`/hooks/<name>`):
//! - `GET ?echo=<value>` answers the value as text;
//! - `POST` records the message (headers, body, whether a signature
//!   matched) and answers the next status queued for it, else 204;
//! - `PUT /hooks/<name>/secrets` (a JSON list of `whsec_…`) sets the
//!   secrets it checks against;
//! - `PUT /hooks/<name>/answers` (a JSON list of statuses, optionally
//!   `[429, 2]` for a 429 with `Retry-After: 2`) queues answers;
//! - `PUT /hooks/<name>/delay` (milliseconds) makes it take that long
//!   before it records and answers a message (one whose sender gives up
//!   meanwhile is not recorded);
//! - `GET /hooks/<name>/received` lists what it recorded (JSON, oldest first).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use relais_core::webhooks::WebhookSecret;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// A message the receiver got.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The body, as sent.
    pub body: String,
    /// Whether one of the signatures matched one of the hook's secrets.
    pub verified: bool,
    /// The status it answered.
    pub answered: u16,
    /// When it arrived (before any delay the hook was told to take).
    pub arrived_at: chrono::DateTime<chrono::Utc>,
}

/// One hook's state.
#[derive(Default)]
struct Hook {
    secrets: Vec<WebhookSecret>,
    answers: VecDeque<(u16, Option<u64>)>,
    received: Vec<Received>,
    delay_ms: u64,
}

/// Every hook's state.
#[derive(Clone, Default)]
pub struct Receiver {
    hooks: Arc<Mutex<HashMap<String, Hook>>>,
}

impl Receiver {
    /// A receiver with no hook yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Its routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/hooks/{name}", get(echo).post(take))
            .route("/hooks/{name}/secrets", put(set_secrets))
            .route("/hooks/{name}/answers", put(set_answers))
            .route("/hooks/{name}/delay", put(set_delay))
            .route("/hooks/{name}/received", get(received))
            .with_state(self.clone())
    }

    /// What the hook `name` recorded, oldest first.
    pub fn received(&self, name: &str) -> Vec<Received> {
        let hooks = self.hooks.lock().expect("the receiver's lock");
        hooks
            .get(name)
            .map(|h| h.received.clone())
            .unwrap_or_default()
    }

    /// Sets the secrets the hook `name` checks signatures against.
    pub fn set_secrets(&self, name: &str, secrets: Vec<WebhookSecret>) {
        let mut hooks = self.hooks.lock().expect("the receiver's lock");
        hooks.entry(name.to_owned()).or_default().secrets = secrets;
    }

    /// Starts it on a free local port.
    pub async fn start(&self) -> std::io::Result<crate::sim::Running> {
        crate::sim::start(self.router(), "127.0.0.1:0".parse().expect("an address")).await
    }
}

async fn echo(Query(q): Query<HashMap<String, String>>) -> Response {
    match q.get("echo") {
        Some(v) => v.clone().into_response(),
        None => (StatusCode::BAD_REQUEST, "ask with ?echo=<value>").into_response(),
    }
}

async fn take(
    State(r): State<Receiver>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let arrived_at = chrono::Utc::now();
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let delay = {
        let hooks = r.hooks.lock().expect("the receiver's lock");
        hooks.get(&name).map_or(0, |h| h.delay_ms)
    };
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let mut hooks = r.hooks.lock().expect("the receiver's lock");
    let hook = hooks.entry(name).or_default();
    let verified = timestamp.parse::<i64>().is_ok_and(|ts| {
        hook.secrets.iter().any(|s| {
            let expected = format!("v1,{}", s.sign(&id, ts, body.as_bytes()));
            signature.split(' ').any(|given| given == expected)
        })
    });
    let (status, retry_after) = hook.answers.pop_front().unwrap_or((204, None));
    hook.received.push(Received {
        id,
        timestamp,
        signature,
        body,
        verified,
        answered: status,
        arrived_at,
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT);
    match retry_after {
        Some(s) => (status, [("retry-after", s.to_string())]).into_response(),
        None => status.into_response(),
    }
}

async fn set_secrets(
    State(r): State<Receiver>,
    Path(name): Path<String>,
    Json(list): Json<Vec<String>>,
) -> Response {
    let parsed: Result<Vec<WebhookSecret>, _> =
        list.iter().map(|s| WebhookSecret::parse(s)).collect();
    match parsed {
        Ok(secrets) => {
            let mut hooks = r.hooks.lock().expect("the receiver's lock");
            hooks.entry(name).or_default().secrets = secrets;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.message).into_response(),
    }
}

async fn set_answers(
    State(r): State<Receiver>,
    Path(name): Path<String>,
    Json(list): Json<Vec<Value>>,
) -> Response {
    let mut answers = VecDeque::new();
    for v in list {
        let answer = match &v {
            Value::Number(n) => n.as_u64().map(|s| (s, None)),
            Value::Array(pair) => match pair.as_slice() {
                [s, wait] => s.as_u64().zip(wait.as_u64()).map(|(s, w)| (s, Some(w))),
                _ => None,
            },
            _ => None,
        };
        match answer.and_then(|(s, w)| {
            u16::try_from(s)
                .ok()
                .filter(|s| (100..600).contains(s))
                .map(|s| (s, w))
        }) {
            Some(a) => answers.push_back(a),
            None => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "{v} is not a status from 100 to 599, nor [status, retry-after seconds]"
                    ),
                )
                    .into_response()
            }
        }
    }
    let mut hooks = r.hooks.lock().expect("the receiver's lock");
    hooks.entry(name).or_default().answers = answers;
    StatusCode::NO_CONTENT.into_response()
}

async fn set_delay(
    State(r): State<Receiver>,
    Path(name): Path<String>,
    Json(ms): Json<u64>,
) -> StatusCode {
    let mut hooks = r.hooks.lock().expect("the receiver's lock");
    hooks.entry(name).or_default().delay_ms = ms.min(60_000);
    StatusCode::NO_CONTENT
}

async fn received(State(r): State<Receiver>, Path(name): Path<String>) -> Json<Vec<Received>> {
    Json(r.received(&name))
}
