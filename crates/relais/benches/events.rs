//! Change-feed benchmark: `cargo bench -p relais --bench events [-- SECONDS RATE EMPLOYEES]`.
//!
//! Seeds a fresh SQLite base with the `relais` binary (2,000 employees by
//! default), starts `relais serve`, and changes employees' job titles
//! through the API at RATE updates a second (default 1,000) for SECONDS
//! (default 30), twice:
//! - **quiet**: no webhook endpoint;
//! - **webhook**: one endpoint following `employee.updated`, served by a
//!   receiver in this process that notes when each change arrives.
//!
//! Prints, for each phase, the updates made, their write latency (p50, p99)
//! and errors; for the webhook phase, how many changes arrived and the time
//! from each update's answer to its webhook (p50, p99); and the write p99
//! with the webhook over the quiet one.

mod common;

use axum::extract::{Query, State};
use axum::routing::get;
use common::{percentile, seeded_base, serve};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// When each change (by its job title, `bench-<n>`) reached the receiver.
type Arrivals = Arc<Mutex<HashMap<u64, Instant>>>;

async fn echo(Query(q): Query<HashMap<String, String>>) -> String {
    q.get("echo").cloned().unwrap_or_default()
}

async fn take(State(arrivals): State<Arrivals>, body: String) -> &'static str {
    let at = Instant::now();
    if let Ok(v) = serde_json::from_str::<Value>(&body) {
        if let Some(n) = v["data"]["data"]["jobTitle"]
            .as_str()
            .and_then(|t| t.strip_prefix("bench-"))
            .and_then(|n| n.parse().ok())
        {
            arrivals.lock().unwrap().entry(n).or_insert(at);
        }
    }
    "ok"
}

/// One phase's writes: when each update was answered, and its latency.
struct Writes {
    answered: HashMap<u64, Instant>,
    latencies: Vec<Duration>,
    errors: u64,
}

async fn write_phase(
    url: &str,
    key: &str,
    ids: &[i64],
    first: u64,
    rate: u64,
    seconds: u64,
) -> Writes {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let total = rate * seconds;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        ticker.tick().await;
        let n = first + i;
        let id = ids[(n as usize) % ids.len()];
        let (client, url, key) = (client.clone(), url.to_owned(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = client
                .put(format!("{url}/api/v3/users/{id}"))
                .header("Authorization", format!("Bearer {key}"))
                .json(&json!({ "jobTitle": format!("bench-{n}") }))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            (n, status, sent.elapsed(), Instant::now())
        }));
    }
    let mut out = Writes {
        answered: HashMap::new(),
        latencies: Vec::new(),
        errors: 0,
    };
    for t in tasks {
        let (n, status, latency, at) = t.await.unwrap();
        if status == 200 {
            out.answered.insert(n, at);
            out.latencies.push(latency);
        } else {
            out.errors += 1;
        }
    }
    out.latencies.sort();
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p` percentile of sorted durations (zero when there are none).
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        Duration::ZERO
    } else {
        percentile(sorted, p)
    }
}

fn main() {
    let seconds = arg(0, 30);
    let rate = arg(1, 1_000);
    let employees = arg(2, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, key) = seeded_base(d, employees as u32);
    let (mut server, url) = serve(d);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let listed: Value = client
            .get(format!("{url}/api/v3/users?fields=id&paging=0,1000"))
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<i64> = listed["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u["id"].as_i64())
            .collect();
        println!(
            "events: {rate} updates/s for {seconds} s per phase, {employees} employees (SQLite)"
        );
        let quiet = write_phase(&url, &key, &ids, 0, rate, seconds).await;
        let arrivals: Arrivals = Arc::default();
        let app = axum::Router::new()
            .route("/hook", get(echo).post(take))
            .with_state(arrivals.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let made: Value = client
            .post(format!("{url}/api/relais/webhooks"))
            .header("Authorization", format!("Bearer {key}"))
            .json(&json!({ "url": hook, "topics": ["employee.updated"] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(made["data"]["status"], "active", "{made}");
        let first = rate * seconds;
        let hooked = write_phase(&url, &key, &ids, first, rate, seconds).await;
        // What is still on its way arrives within a few seconds.
        let deadline = Instant::now() + Duration::from_secs(30);
        while arrivals.lock().unwrap().len() < hooked.answered.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let arrived = arrivals.lock().unwrap().clone();
        let mut delays: Vec<Duration> = hooked
            .answered
            .iter()
            .filter_map(|(n, at)| arrived.get(n).map(|got| got.saturating_duration_since(*at)))
            .collect();
        delays.sort();
        for (name, w) in [("quiet", &quiet), ("webhook", &hooked)] {
            println!(
                "  {name:<8} {:>6} updates   write p50 {:>6.1} ms   p99 {:>6.1} ms   errors {}",
                w.latencies.len(),
                ms(pct(&w.latencies, 0.50)),
                ms(pct(&w.latencies, 0.99)),
                w.errors,
            );
        }
        println!(
            "  write p99 with a webhook / without: {:.2}",
            ms(pct(&hooked.latencies, 0.99)) / ms(pct(&quiet.latencies, 0.99)).max(0.001)
        );
        println!(
            "  change -> webhook delivered: {} of {} changes, p50 {:.0} ms, p99 {:.0} ms",
            delays.len(),
            hooked.answered.len(),
            ms(pct(&delays, 0.50)),
            ms(pct(&delays, 0.99)),
        );
    });
    let _ = server.kill();
    let _ = server.wait();
}
