//! What wraps every route of a relais server: a panic inside one request
//! answers 500 for that request alone, each request leaves one line in the
//! access log (method, path, status, duration and who asked, never a secret),
//! and the `Date` header follows relais's clock.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Who made a request, filled in by whatever authenticated it (an API key or
/// an admin session) and read by the access log once the answer is ready.
#[derive(Debug, Clone, Default)]
pub struct Actor(Arc<Mutex<Option<String>>>);

impl Actor {
    /// Records who made the request, e.g. `key:12` or `person:3`.
    pub fn set(&self, who: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(who);
    }

    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Records `who` as the request's author, if the access log follows it.
pub fn record_actor(extensions: &axum::http::Extensions, who: impl FnOnce() -> String) {
    if let Some(actor) = extensions.get::<Actor>() {
        actor.set(who());
    }
}

/// Wraps a whole server's routes with the panic guard, the access log, and
/// paths that match whatever their case.
pub fn harden(router: Router) -> Router {
    Router::new()
        .fallback_service(tower::service_fn(move |mut request: Request| {
            let router = router.clone();
            async move {
                canonical_path(&mut request);
                tower::ServiceExt::oneshot(router, request).await
            }
        }))
        .layer(axum::middleware::from_fn(access_log))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_answer,
        ))
}

/// The fixed segments of the API's paths, as Lucca spells them.
pub const PATH_SEGMENTS: &[&str] = &[
    "api",
    "v3",
    "users",
    "userlogs",
    "departments",
    "tree",
    "legalentities",
    "leaveAccounts",
    "leaves",
    "leaveRequests",
    "expenseClaims",
    "expenseClaimItems",
    "expenseNatures",
    "axes",
    "organization",
    "structure",
    "establishments",
    "legal-units",
    "directory",
    "work-contracts",
    "timmi-absences",
    "imports",
    "leavePeriods",
    "relais",
    "integration",
    "fields",
    "reports",
    "runs",
    "approve",
    "approvals",
    "deny",
    "refuse",
    "cancel",
    "cancellation",
    "events",
    "webhooks",
    "deliveries",
    "activate",
    "rotate",
    "test",
    "replay",
];

/// Spells each fixed segment of the request's path as the routes do, so
/// that `/api/v3/legalEntities` (as Lucca's own answers link to it) reaches
/// `/api/v3/legalentities`. Only API paths are touched; the rest (query
/// string included) is kept as sent.
fn canonical_path(request: &mut Request) {
    let uri = request.uri();
    let path = uri.path();
    let api = ["/api/", "/organization/", "/directory/", "/timmi-absences/"]
        .iter()
        .any(|p| {
            path.len() >= p.len()
                && path.is_char_boundary(p.len())
                && path[..p.len()].eq_ignore_ascii_case(p)
        });
    if !api {
        return;
    }
    let fixed: Vec<&str> = path
        .split('/')
        .map(|segment| {
            PATH_SEGMENTS
                .iter()
                .find(|s| s.eq_ignore_ascii_case(segment))
                .copied()
                .unwrap_or(segment)
        })
        .collect();
    let fixed = fixed.join("/");
    if fixed == path {
        return;
    }
    let with_query = match uri.query() {
        Some(q) => format!("{fixed}?{q}"),
        None => fixed,
    };
    if let Ok(p) = with_query.parse::<axum::http::uri::PathAndQuery>() {
        let mut parts = uri.clone().into_parts();
        parts.path_and_query = Some(p);
        if let Ok(new) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = new;
        }
    }
}

async fn access_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let actor = Actor::default();
    request.extensions_mut().insert(actor.clone());
    let method = request.method().clone();
    // The path only: query strings may carry personal data (e-mails in filters).
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if relais_core::clock::started_at().is_some() {
        // A clock started at a chosen instant: the `Date` header is relais's
        // time, as every instant in the answer is (the HTTP server would
        // write the wall clock's).
        let date = relais_core::now().format("%a, %d %b %Y %H:%M:%S GMT");
        if let Ok(value) = axum::http::HeaderValue::from_str(&date.to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::DATE, value);
        }
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    crate::metrics::request_served(&method, &path, status, elapsed);
    let who = actor.get();
    // A request relais failed (5xx) is a warning: it shows in a log that
    // leaves the other request lines out (the demo's).
    macro_rules! access_line {
        ($level:expr) => {
            tracing::event!(
                target: "relais::access",
                $level,
                method = %method,
                path = %path,
                status,
                duration_ms = format_args!("{duration_ms:.2}"),
                actor = who.as_deref().unwrap_or("-"),
                "request"
            )
        };
    }
    if status >= 500 {
        access_line!(tracing::Level::WARN);
    } else {
        access_line!(tracing::Level::INFO);
    }
    response
}

fn panic_answer(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(panic = detail, "a request panicked; it was answered 500");
    let body = serde_json::json!({ "error": {
        "code": "internal",
        "message": "relais could not complete the request; the cause is in its log",
        "details": null,
    }});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[tokio::test]
    async fn a_panic_answers_500_and_the_server_goes_on() {
        let app = harden(
            Router::new()
                .route(
                    "/boom",
                    get(|| async {
                        if std::hint::black_box(true) {
                            panic!("deliberate");
                        }
                        "never"
                    }),
                )
                .route("/fine", get(|| async { "fine" })),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = reqwest::Client::new();
        for _ in 0..3 {
            let r = client.get(format!("{url}/boom")).send().await.unwrap();
            assert_eq!(r.status(), 500);
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "internal");
            assert!(!body.to_string().contains("deliberate"));
            let r = client.get(format!("{url}/fine")).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
    }

    /// Log lines written as JSON into memory.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_request_relais_failed_is_a_warning_in_the_access_log() {
        let lines = Lines::default();
        let written = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || written.clone())
            .finish();
        let _logging = tracing::subscriber::set_default(subscriber);
        let app = harden(
            Router::new()
                .route("/boom", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
                .route("/fine", get(|| async { "fine" }))
                .route("/missing", get(|| async { StatusCode::NOT_FOUND })),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = reqwest::Client::new();
        for path in ["/boom", "/fine", "/missing"] {
            client.get(format!("{url}{path}")).send().await.unwrap();
        }
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let levels: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"] == "relais::access")
            .map(|v| {
                (
                    v["fields"]["path"].as_str().unwrap_or_default().to_owned(),
                    v["level"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            levels,
            [
                ("/boom".to_owned(), "WARN".to_owned()),
                ("/fine".to_owned(), "INFO".to_owned()),
                ("/missing".to_owned(), "INFO".to_owned())
            ],
            "{text}"
        );
    }

    #[test]
    fn paths_are_spelt_as_the_routes_do() {
        let fix = |raw: &str| {
            let mut r = Request::new(axum::body::Body::empty());
            *r.uri_mut() = raw.parse().unwrap();
            canonical_path(&mut r);
            r.uri().to_string()
        };
        assert_eq!(
            fix("/api/v3/legalEntities?fields=id"),
            "/api/v3/legalentities?fields=id"
        );
        assert_eq!(
            fix("/API/V3/LEAVEREQUESTS/12/approve"),
            "/api/v3/leaveRequests/12/approve"
        );
        assert_eq!(
            fix("/Organization/Structure/api/Legal-Units"),
            "/organization/structure/api/legal-units"
        );
        assert_eq!(
            fix("/integrations/HappyPal"),
            "/integrations/HappyPal",
            "pages are left alone"
        );
        assert_eq!(fix("/api/v3/users/42"), "/api/v3/users/42");
    }

    #[test]
    fn the_actor_is_shared_with_the_log() {
        let mut ext = axum::http::Extensions::new();
        let actor = Actor::default();
        ext.insert(actor.clone());
        record_actor(&ext, || "key:7".into());
        assert_eq!(actor.get().as_deref(), Some("key:7"));
    }
}
