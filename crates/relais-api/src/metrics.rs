//! `GET /metrics`: what relais does, in the Prometheus text format — the
//! API's requests by route and status with their latency, the writes it
//! applied again because their record changed meanwhile, and, per
//! integration, runs and records by outcome, partner requests and errors by
//! status, partner latency, the request budget left and the seconds since
//! the last successful run (recorded by the sync layer with the `metrics`
//! crate, rendered here).

use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
            .expect("the buckets are not empty");
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed (a test harness): render ours alone.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}

/// Installs the recorder: metrics recorded before it is installed are lost.
/// The clash counter is shown from the start, at 0, so that a chart or an
/// alert on it has a series before the first clash.
pub fn install() {
    handle();
    metrics::describe_counter!(
        WRITES_APPLIED_AGAIN,
        "Writes applied again because their record changed while they were applied"
    );
    metrics::counter!(WRITES_APPLIED_AGAIN, "resource" => "users").increment(0);
}

/// The name of the counter [`write_applied_again`] raises.
const WRITES_APPLIED_AGAIN: &str = "relais_api_writes_applied_again_total";

/// A route as a label: numbers become `{id}`, so that labels stay few.
fn route_label(path: &str) -> String {
    let mut label = String::with_capacity(path.len());
    for (n, segment) in path.split('/').enumerate() {
        if n > 0 {
            label.push('/');
        }
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            label.push_str("{id}");
        } else {
            label.push_str(segment);
        }
        if label.len() > 120 {
            break;
        }
    }
    label
}

/// Counts one answered request and its latency.
pub fn request_served(method: &axum::http::Method, path: &str, status: u16, took: Duration) {
    let route = if status == 404 {
        "unmatched".to_owned()
    } else {
        route_label(path)
    };
    let labels = [
        ("method", method.as_str().to_owned()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("relais_api_requests_total", &labels).increment(1);
    metrics::histogram!("relais_api_request_duration_seconds", &labels[..2])
        .record(took.as_secs_f64());
}

/// Counts one write applied again because its record changed while it was
/// applied (another process, the admin pages, a sync wrote it meanwhile):
/// many of them mean writers of the same records clash.
pub fn write_applied_again(resource: &'static str) {
    metrics::counter!(WRITES_APPLIED_AGAIN, "resource" => resource).increment(1);
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    // Seconds since each integration's last successful run, as of now.
    if let Ok(integrations) = state.store.list_integrations(None).await {
        let now = relais_core::now();
        for i in integrations {
            let labels = [
                ("connector", i.connector.as_str().to_owned()),
                ("installation", i.installation_id.to_string()),
            ];
            let last = state
                .store
                .list_runs(i.installation_id, 50)
                .await
                .ok()
                .and_then(|runs| {
                    runs.into_iter()
                        .filter(|r| {
                            r.status == relais_core::integration::RunStatus::Succeeded && !r.dry_run
                        })
                        .find_map(|r| r.finished_at)
                });
            match last {
                Some(t) => metrics::gauge!("relais_sync_seconds_since_success", &labels)
                    .set((now - t).num_milliseconds() as f64 / 1000.0),
                None => metrics::gauge!("relais_sync_seconds_since_success", &labels).set(f64::NAN),
            }
        }
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn routes_keep_their_shape_not_their_numbers() {
        assert_eq!(super::route_label("/api/v3/users/12"), "/api/v3/users/{id}");
        assert_eq!(super::route_label("/runs/7/lines"), "/runs/{id}/lines");
    }
}
