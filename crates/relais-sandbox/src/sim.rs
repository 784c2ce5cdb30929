//! What the partner simulators share: injected faults, a request counter,
//! and starting a simulator on a local port.
//!
//! Every simulator answers `GET /_sim/faults` and `PUT /_sim/faults` (a JSON
//! [`Faults`]) and counts the partner-API requests it served; the `/_sim`
//! paths themselves are never faulted, so tests can always look inside.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Faults a simulator injects into its partner API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of requests answered 503, from 0 to 1.
    pub error_rate: f64,
    /// Whether `error_rate` spares reads (GET): only writes are answered 503.
    pub writes_only: bool,
    /// Delay added to every answer, in milliseconds.
    pub slow_ms: u64,
    /// Requests allowed per window before answers are 429.
    pub rate_limit: Option<u32>,
    /// Length of the rate-limit window, in seconds (default 3600).
    pub rate_window_seconds: Option<u64>,
    /// Whether every credential is refused (401).
    pub refuse_credentials: bool,
}

/// Injected faults and counters of one simulator.
#[derive(Debug)]
pub struct FaultState {
    faults: Mutex<Faults>,
    rng: Mutex<fastrand::Rng>,
    window: Mutex<(Instant, u32)>,
    served: Mutex<u64>,
}

impl Default for FaultState {
    fn default() -> Self {
        Self {
            faults: Mutex::new(Faults::default()),
            rng: Mutex::new(fastrand::Rng::with_seed(7)),
            window: Mutex::new((Instant::now(), 0)),
            served: Mutex::new(0),
        }
    }
}

/// Locks `m`, going on with what it holds even if a handler panicked while
/// holding it (a simulator keeps answering).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a simulator holds, behind the one credential its partner API
/// answers to.
#[derive(Debug)]
pub struct Held<H> {
    /// The token or key every partner-API call must carry.
    pub credential: String,
    held: Mutex<H>,
}

impl<H> Held<H> {
    /// A simulator answering to `credential`, holding `held`.
    pub fn new(credential: &str, held: H) -> Arc<Self> {
        Arc::new(Self {
            credential: credential.to_owned(),
            held: Mutex::new(held),
        })
    }

    /// What it holds, locked.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, H> {
        lock(&self.held)
    }
}

/// The simulators' clock as partners stamp records: RFC 3339, UTC,
/// microseconds.
pub fn stamp() -> String {
    relais_core::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The token of a request's `Authorization: Bearer …` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
}

impl FaultState {
    /// A state starting with `faults` in force.
    pub fn with(faults: Faults) -> Self {
        let state = Self::default();
        state.set(faults);
        state
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    /// Replaces the faults (and restarts the rate-limit window).
    pub fn set(&self, faults: Faults) {
        *lock(&self.faults) = faults;
        *lock(&self.window) = (Instant::now(), 0);
    }

    /// Partner-API requests served so far (faulted ones included).
    pub fn served(&self) -> u64 {
        *lock(&self.served)
    }

    /// The fault to answer a request with, if any (`write`: whether it
    /// changes something).
    fn decide(&self, write: bool) -> Option<Response> {
        *lock(&self.served) += 1;
        let f = self.faults();
        if f.refuse_credentials {
            return Some(
                (
                    StatusCode::UNAUTHORIZED,
                    Json(serde_json::json!({ "error": "invalid credentials" })),
                )
                    .into_response(),
            );
        }
        if let Some(limit) = f.rate_limit {
            let window = Duration::from_secs(f.rate_window_seconds.unwrap_or(3600));
            let mut w = lock(&self.window);
            if w.0.elapsed() >= window {
                *w = (Instant::now(), 0);
            }
            w.1 += 1;
            if w.1 > limit {
                let wait = window.saturating_sub(w.0.elapsed()).as_secs().max(1);
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(serde_json::json!({ "error": "rate limit" })),
                )
                    .into_response();
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from(wait));
                return Some(r);
            }
        }
        if f.error_rate > 0.0 && (write || !f.writes_only) && lock(&self.rng).f64() < f.error_rate {
            return Some(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({ "error": "temporarily unavailable" })),
                )
                    .into_response(),
            );
        }
        None
    }
}

/// Middleware applying the faults to every path but `/_sim/…`.
pub async fn inject(
    State(faults): State<Arc<FaultState>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/_sim") {
        return next.run(request).await;
    }
    let slow = faults.faults().slow_ms;
    if slow > 0 {
        tokio::time::sleep(Duration::from_millis(slow)).await;
    }
    match faults.decide(request.method() != axum::http::Method::GET) {
        Some(fault) => fault,
        None => next.run(request).await,
    }
}

/// How a simulator checks a request's credential: a refusal, or `None`.
pub type Check<S> = fn(&S, &axum::http::HeaderMap) -> Option<Response>;

/// Refuses each request the simulator's `check` refuses, before its
/// handler: the partner's credential is checked in one place.
pub async fn guard<S: Clone + Send + Sync + 'static>(
    State((sim, check)): State<(S, Check<S>)>,
    request: Request,
    next: Next,
) -> Response {
    match check(&sim, request.headers()) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

/// A simulator's whole router: its partner `api` behind `check` and the
/// injected faults, and its own `inspect` routes (`/_sim/…`, neither
/// checked nor faulted) besides the shared fault controls.
pub fn assemble<S: Clone + Send + Sync + 'static>(
    sim: S,
    check: Check<S>,
    api: Router<S>,
    inspect: Router<S>,
    faults: Arc<FaultState>,
) -> Router {
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        (sim.clone(), check),
        guard,
    ));
    api.merge(inspect)
        .with_state(sim)
        .merge(control(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(faults, inject))
}

/// The `/_sim/faults` and `/_sim/served` routes.
pub fn control(faults: Arc<FaultState>) -> Router {
    Router::new()
        .route(
            "/_sim/faults",
            get({
                let f = faults.clone();
                move || async move { Json(f.faults()) }
            })
            .put({
                let f = faults.clone();
                move |Json(new): Json<Faults>| async move {
                    f.set(new);
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route(
            "/_sim/served",
            get(move || async move { Json(serde_json::json!({ "served": faults.served() })) }),
        )
}

/// A simulator listening on a local port.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Its server task; aborted when dropped.
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// `http://addr` (or `https://localhost:port` when served over TLS,
    /// the name its certificate carries).
    pub fn url(&self) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}", self.addr.port()),
            _ => format!("http://{}", self.addr),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` on `addr` (port 0 picks a free one).
pub async fn start(app: Router, addr: SocketAddr) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "a simulator stopped");
        }
    });
    Ok(Running {
        addr,
        scheme: "http",
        task,
    })
}

/// Serves `app` over HTTPS on `addr` with the certificate chain and private
/// key given as PEM (a partner with a private certificate authority).
pub async fn start_tls(
    app: Router,
    addr: SocketAddr,
    cert_chain_pem: &str,
    key_pem: &str,
) -> std::io::Result<Running> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {e}"))
    };
    let certs = CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("the certificate chain", &e))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| bad("the private key", &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad("TLS versions", &e))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| bad("the certificate", &e))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            });
        }
    });
    Ok(Running {
        addr,
        scheme: "https",
        task,
    })
}
