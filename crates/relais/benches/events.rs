//! Change-feed benchmark: `cargo bench -p relais --bench events [-- SECONDS RATE EMPLOYEES [sqlite|postgres]]`.
//!
//! Seeds two bases of the same size with the `relais` binary (2,000
//! employees each by default) on SQLite, and on PostgreSQL too when
//! `RELAIS_BENCH_POSTGRES_URL` or `RELAIS_TEST_POSTGRES_URL` names a server;
//! starts `relais serve`, and changes employees' job titles through the API
//! at RATE updates a second (default 1,000) for SECONDS (default 30) in each
//! of two phases, after a warm-up of 3 s at the same rate on each base that
//! is not measured:
//! - **quiet**: updates of the base `quiet`, which has no webhook endpoint
//!   and no integration: its events are written, nobody follows them; it
//!   moves employees between departments as the events phase does (below),
//!   so that both phases make the same writes;
//! - **events**: updates of the base `production`, which has one endpoint
//!   following `employee.updated`, served by a receiver in this process that
//!   notes when each change arrives, and PlanningPME installed (a simulator
//!   in this process, its budget set high enough not to throttle), running
//!   on change; five updates a second of the RATE move an employee to
//!   another department, which PlanningPME holds, and the simulator notes
//!   when each move reaches it.
//!
//! The phases take turns in slices of 5 s, each followed by 2 s in which
//! what it started (deliveries, a run on change) ends: whatever else the
//! machine is doing meanwhile weighs on both phases alike, and the ratio of
//! their latencies is the cost of the deliveries and runs, not of the
//! moment each phase ran at.
//!
//! With `RELAIS_BENCH_NO_WEBHOOK=1` the events phase has PlanningPME alone,
//! no endpoint: what the runs on change cost the writes, apart from the
//! webhook's deliveries.
//!
//! The receiver and the simulator stand for the partners' own servers,
//! which run elsewhere: on Linux their thread runs at the lowest priority
//! (`SCHED_IDLE`), so that it takes the processor only when relais and the
//! load generator leave it, and the writes are not measured behind work
//! that would not share relais's machine. Nothing passes between that
//! thread and the server's but HTTP. `RELAIS_BENCH_PARTNERS_IDLE=0` runs it
//! at normal priority, sharing the cores with relais as before.
//!
//! Prints, for each backend and phase, the updates made, their write
//! latency (p50, p99) and the updates not answered 200, by what came
//! instead (a status, or the client's error); the write p99 of the events
//! phase over the quiet one, and slice by slice (each events slice over
//! the quiet slice before it, sorted, with their median: a burst of the
//! machine's own weighs on one pair of slices, not on the whole); the write
//! p99 of the events phase's updates answered while a pass of the deliverer
//! ran (from a little before its first webhook arrived to its last) and of
//! those answered between passes; the time from each
//! update's answer to its webhook (p50, p99); and the time from each move's
//! answer to PlanningPME holding it (p50, p99), with the runs on change it
//! took; and the CPU time each phase spent an update (its slices and the
//! pauses after them), in the server by thread name and in this process
//! (the load generator on `tokio-rt-worker`, the receiver and simulator on
//! `bench-partners`), and the server's thread switches an update (the
//! hand-overs between threads its requests cost, a figure the machine's speed
//! does not move; on Linux, from `/proc`). Last, the events base's whole
//! feed is read by pages of 1,000, as a client catching up would, and the
//! server's processor an event it cost is printed, and again by pages of 60
//! (a page of a feed read often; what a deliverer's pass read under 1,000
//! changes a second when it passed every 50 ms, before it gathered longer
//! under a steady stream).

mod common;

use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::routing::get;
use common::{percentile, seeded_named_base_at, serve_at, Backend};
use relais_core::integration::{RunAsk, RunStatus, Trigger};
use relais_testkit::usage::{add_cpu, cpu_by_thread, Use};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
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

/// Department moves a second in each phase.
const MOVES_PER_SECOND: u64 = 5;

/// Seconds of updates at the phase's rate before each phase, not measured:
/// the first updates of a run open connections (the load generator's, the
/// server's pools, the deliverer's to the receiver) and find cold caches,
/// which would weigh on whichever phase came first.
const WARM_UP_SECONDS: u64 = 3;

/// Seconds each slice of a phase lasts: the phases take turns.
const SLICE_SECONDS: u64 = 5;

/// The pause after each slice, in which the deliveries and the run on
/// change it started end before the next slice begins.
const SETTLE: Duration = Duration::from_secs(2);

/// When each change (by its job title, `bench-<n>`) reached the receiver.
type Arrivals = Arc<Mutex<HashMap<u64, Instant>>>;

/// When PlanningPME first held each (employee, department key).
type Placements = Arc<Mutex<HashMap<(i64, String), Instant>>>;

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

/// Notes each resource PlanningPME is sent (`Collaborateur <id>` in its
/// department) as it arrives, before the simulator takes it.
async fn note_resource(
    State(placed): State<Placements>,
    request: Request,
    next: Next,
) -> axum::response::Response {
    let at = Instant::now();
    if request.method() != axum::http::Method::PUT
        || !request.uri().path().contains("/api/resource/")
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
        let id = v["label"]
            .as_str()
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok());
        if let (Some(id), Some(dept)) = (id, v["departmentKey"].as_str()) {
            placed
                .lock()
                .unwrap()
                .entry((id, dept.to_owned()))
                .or_insert(at);
        }
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// One phase's writes: when each update was answered, and its latency.
#[derive(Default)]
struct Writes {
    answered: HashMap<u64, Instant>,
    /// When each move (employee, department) was answered.
    moved: HashMap<(i64, String), Instant>,
    latencies: Vec<Duration>,
    /// The slowest update: its latency and when it was sent, from the
    /// phase's start.
    slowest: (Duration, Duration),
    /// The updates not answered 200, by what came instead (`HTTP 503`, or
    /// the client's error), each with how many.
    errors: std::collections::BTreeMap<String, u64>,
    /// When the phase began.
    began: Option<Instant>,
    /// The write p99 of each slice, in the order they ran.
    slice_p99: Vec<Duration>,
    /// When each update answered 200 was sent, and when its answer came.
    spans: Vec<(Instant, Instant)>,
}

impl Writes {
    /// Adds the writes of one of the phase's slices, which began after
    /// those already added.
    fn add(&mut self, slice: Writes) {
        let began = *self
            .began
            .get_or_insert(slice.began.unwrap_or_else(Instant::now));
        let since = slice
            .began
            .map_or(Duration::ZERO, |b| b.saturating_duration_since(began));
        if slice.slowest.0 > self.slowest.0 {
            self.slowest = (slice.slowest.0, slice.slowest.1 + since);
        }
        self.slice_p99.push(pct(&slice.latencies, 0.99));
        self.answered.extend(slice.answered);
        self.moved.extend(slice.moved);
        self.latencies.extend(slice.latencies);
        self.latencies.sort();
        self.spans.extend(slice.spans);
        for (what, n) in slice.errors {
            *self.errors.entry(what).or_default() += n;
        }
    }
}

/// A base's employees with their departments, and its departments, as
/// `key` reads them.
async fn people_and_departments(
    client: &reqwest::Client,
    url: &str,
    key: &str,
) -> (Vec<(i64, Option<i64>)>, Vec<i64>) {
    let listed: Value = common::get_json(
        client,
        url,
        key,
        "/api/v3/users?fields=id,departmentId&paging=0,1000",
    )
    .await;
    let people = listed["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| Some((u["id"].as_i64()?, u["departmentId"].as_i64())))
        .collect();
    let departments: Value =
        common::get_json(client, url, key, "/api/v3/departments?fields=id").await;
    let departments = departments["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_i64())
        .collect();
    (people, departments)
}

/// The moves of a phase of `seconds`: employees among `people` that
/// `movable` admits, the last first, each once to a department other
/// than theirs.
fn moves_among(
    people: &[(i64, Option<i64>)],
    departments: &[i64],
    movable: impl Fn(i64) -> bool,
    seconds: u64,
) -> Vec<(i64, i64)> {
    people
        .iter()
        .rev()
        .filter(|(id, _)| movable(*id))
        .take((MOVES_PER_SECOND * seconds) as usize)
        .map(|&(id, now)| {
            let to = departments
                .iter()
                .copied()
                .find(|d| Some(*d) != now && (d + id) % 3 == 0)
                .or_else(|| departments.iter().copied().find(|d| Some(*d) != now))
                .unwrap();
            (id, to)
        })
        .collect()
}

/// The employees and departments a phase changes.
struct Plan {
    ids: Vec<i64>,
    /// Employees to move, each once, and where to.
    moves: Vec<(i64, i64)>,
}

async fn write_phase(
    url: &str,
    key: &str,
    plan: &Plan,
    first: u64,
    rate: u64,
    seconds: u64,
) -> Writes {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let total = rate * seconds;
    let move_every = if plan.moves.is_empty() {
        u64::MAX
    } else {
        (rate / MOVES_PER_SECOND).max(1)
    };
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total as usize);
    let mut moves = plan.moves.iter();
    let start = Instant::now();
    for i in 0..total {
        ticker.tick().await;
        let n = first + i;
        let (id, body, moved) = match (i % move_every == move_every - 1)
            .then(|| moves.next())
            .flatten()
        {
            Some(&(id, to)) => (
                id,
                json!({ "departmentId": to }),
                Some((id, to.to_string())),
            ),
            None => (
                plan.ids[(n as usize) % plan.ids.len()],
                json!({ "jobTitle": format!("bench-{n}") }),
                None,
            ),
        };
        let (client, url, key) = (client.clone(), url.to_owned(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = client
                .put(format!("{url}/api/v3/users/{id}"))
                .header("Authorization", format!("Bearer {key}"))
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| {
                    // The error and its causes, the innermost last.
                    let mut text = e.to_string();
                    let mut cause = std::error::Error::source(&e);
                    while let Some(c) = cause {
                        text = format!("{text}: {c}");
                        cause = c.source();
                    }
                    text
                });
            (
                n,
                moved,
                status,
                sent.elapsed(),
                Instant::now(),
                sent - start,
            )
        }));
    }
    let mut out = Writes {
        began: Some(start),
        ..Writes::default()
    };
    for t in tasks {
        let (n, moved, status, latency, at, offset) = t.await.unwrap();
        if latency > out.slowest.0 {
            out.slowest = (latency, offset);
        }
        if status == Ok(200) {
            match moved {
                Some(m) => {
                    out.moved.insert(m, at);
                }
                None => {
                    out.answered.insert(n, at);
                }
            }
            out.latencies.push(latency);
            out.spans.push((at - latency, at));
        } else {
            let what = status.map_or_else(|e| e, |code| format!("HTTP {code}"));
            *out.errors.entry(what).or_default() += 1;
        }
    }
    out.latencies.sort();
    out
}

/// The latencies (ms) the shares of slow updates are given for: bounds of
/// the server's histogram buckets.
const SLOW_MS: [u64; 4] = [5, 10, 25, 50];

/// The share (%) of `latencies` (sorted) over `ms`.
fn over(latencies: &[Duration], ms: u64) -> f64 {
    let fast = latencies.partition_point(|l| *l <= Duration::from_millis(ms));
    100.0 * (latencies.len() - fast) as f64 / latencies.len().max(1) as f64
}

/// The server's counts of employee updates answered within each bucket
/// (its upper bound in seconds; cumulative), from `/metrics`.
async fn served(client: &reqwest::Client, url: &str) -> Vec<(f64, u64)> {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("relais_api_request_duration_seconds_bucket")
                && l.contains(r#"method="PUT""#)
                && l.contains(r#"route="/api/v3/users/{id}""#)
        })
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let n = l.rsplit(' ').next()?.parse().ok()?;
            Some((le.parse().unwrap_or(f64::INFINITY), n))
        })
        .collect()
}

/// Adds to `sum` the updates the server answered between two readings of
/// its histogram, bucket by bucket.
fn add_served(sum: &mut Vec<(f64, u64)>, before: &[(f64, u64)], after: &[(f64, u64)]) {
    for (le, n) in after {
        let was = before.iter().find(|(b, _)| b == le).map_or(0, |(_, n)| *n);
        match sum.iter_mut().find(|(s, _)| s == le) {
            Some((_, total)) => *total += n.saturating_sub(was),
            None => sum.push((*le, n.saturating_sub(was))),
        }
    }
}

/// The share (%) of the updates the server answered between two readings
/// of its histogram that took over each of [`SLOW_MS`], by its own clock
/// (from the request's arrival to its answer).
fn over_in_server(before: &[(f64, u64)], after: &[(f64, u64)]) -> Vec<f64> {
    let count = |at: &[(f64, u64)], bound: f64| {
        at.iter()
            .find(|(le, _)| *le == bound || (*le - bound).abs() < 1e-9)
            .map_or(0, |(_, n)| *n)
    };
    let total = count(after, f64::INFINITY).saturating_sub(count(before, f64::INFINITY));
    SLOW_MS
        .iter()
        .map(|ms| {
            let bound = *ms as f64 / 1000.0;
            let within = count(after, bound).saturating_sub(count(before, bound));
            100.0 * total.saturating_sub(within) as f64 / total.max(1) as f64
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A phase's use an update, in all and by thread name, largest first:
/// `what` picks the measure, `scale` turns it into the unit shown.
fn use_line(
    sum: &HashMap<String, Use>,
    updates: usize,
    what: fn(&Use) -> f64,
    scale: f64,
    unit: &str,
) -> String {
    // Half a unit or less shows as 0 (not "-0", from readings a hair apart).
    let per = |t: f64| {
        let v = t * scale / updates.max(1) as f64;
        if v.abs() < 0.5 {
            0.0
        } else {
            v
        }
    };
    let mut names: Vec<(&String, f64)> = sum
        .iter()
        .map(|(n, u)| (n, what(u)))
        .filter(|(_, t)| *t > 0.0)
        .collect();
    names.sort_by(|a, b| b.1.total_cmp(&a.1));
    let parts: Vec<String> = names
        .iter()
        .map(|(n, t)| format!("{n} {:.0}", per(*t)))
        .collect();
    let all: f64 = names.iter().map(|(_, t)| t).sum();
    format!("{:.0}{unit} ({})", per(all), parts.join(", "))
}

/// A phase's CPU an update in µs, in all and by thread name.
fn cpu_line(sum: &HashMap<String, Use>, updates: usize) -> String {
    use_line(sum, updates, |u| u.cpu, 1e6, " µs")
}

/// A phase's thread switches an update, in all and by thread name.
fn switches_line(sum: &HashMap<String, Use>, updates: usize) -> String {
    use_line(sum, updates, |u| u.switches, 1.0, "")
}

/// The median of sorted numbers (of the middle two for an even count;
/// zero when there are none).
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The `p` percentile of sorted durations (zero when there are none).
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        Duration::ZERO
    } else {
        percentile(sorted, p)
    }
}

/// How long before a pass's first webhook arrives its work begins (it
/// reads and shapes the events it posts), as the benchmark counts it.
const PASS_LEAD: Duration = Duration::from_millis(15);

/// The webhooks of one pass arrive together: a gap longer than this
/// between two arrivals starts another pass.
const PASS_GAP: Duration = Duration::from_millis(30);

/// The updates answered while a deliverer's pass ran, against the others:
/// the passes as the webhooks' `arrivals` show them (from [`PASS_LEAD`]
/// before a pass's first to its last), the updates by when each was sent
/// and answered. Answers the share of updates in a pass (%), the write p99
/// of those in a pass and of those between passes, and the passes' posting
/// time at the median (from first arrival to last).
fn in_passes(
    spans: &[(Instant, Instant)],
    arrivals: &HashMap<u64, Instant>,
) -> (f64, Duration, Duration, Duration) {
    let mut at: Vec<Instant> = arrivals.values().copied().collect();
    at.sort();
    let mut passes: Vec<(Instant, Instant)> = Vec::new();
    for t in at {
        match passes.last_mut() {
            Some((_, last)) if t.duration_since(*last) <= PASS_GAP => *last = t,
            _ => passes.push((t, t)),
        }
    }
    let (mut during, mut between) = (Vec::new(), Vec::new());
    for &(sent, answered) in spans {
        // The last pass that began before this answer (lead included).
        let i = passes.partition_point(|(first, _)| *first <= answered + PASS_LEAD);
        let overlaps = i > 0 && {
            let (first, last) = passes[i - 1];
            sent <= last && answered + PASS_LEAD >= first
        };
        let latency = answered - sent;
        if overlaps {
            during.push(latency);
        } else {
            between.push(latency);
        }
    }
    during.sort();
    between.sort();
    let mut posting: Vec<Duration> = passes.iter().map(|(f, l)| *l - *f).collect();
    posting.sort();
    let share = 100.0 * during.len() as f64 / spans.len().max(1) as f64;
    (
        share,
        pct(&during, 0.99),
        pct(&between, 0.99),
        pct(&posting, 0.50),
    )
}

/// The delays from each answer to its arrival, sorted.
fn delays<K: std::hash::Hash + Eq>(
    sent: &HashMap<K, Instant>,
    got: &HashMap<K, Instant>,
) -> Vec<Duration> {
    let mut d: Vec<Duration> = sent
        .iter()
        .filter_map(|(k, at)| got.get(k).map(|g| g.saturating_duration_since(*at)))
        .collect();
    d.sort();
    d
}

/// Installs PlanningPME against a simulator in this process that notes
/// when each resource reaches it, and waits for its first, whole run.
async fn planningpme(
    dir: PathBuf,
    database: Option<String>,
    placed: Placements,
) -> (relais_store::SharedStore, relais_core::ids::InstallationId) {
    use relais_store::DatabaseUrl;
    let url = match database {
        Some(url) => DatabaseUrl::Postgres(url.to_owned()),
        None => DatabaseUrl::Sqlite(dir.join("relais-data/relais.db")),
    };
    let store = relais_store::open(&url).await.unwrap();
    let key = std::fs::read_to_string(dir.join("relais-data/secret.key")).unwrap();
    let sealer = relais_core::secret::Sealer::from_hex(key.trim()).unwrap();
    let base = store
        .list_bases()
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.name.as_str() == "production")
        .unwrap()
        .id;
    let admin = common::admin(&store).await;
    let app = relais_sandbox::planningpme::router("bench", "bench-key", "bench-assertion")
        .layer(axum::middleware::from_fn_with_state(placed, note_resource));
    let sim = relais_sandbox::sim::start(app, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // A tier high enough that the budget is not what is measured.
    reqwest::Client::new()
        .put(format!("{}/_sim/faults", sim.url()))
        .json(&json!({"error_rate": 0.0, "writes_only": false, "slow_ms": 0, "rate_limit": null, "rate_window_seconds": null, "refuse_credentials": false}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let inst = common::install(
        &store,
        &sealer,
        base,
        admin,
        "planningpme",
        format!("{}/bench", sim.url()),
        &[("app_key", "bench-key"), ("assertion", "bench-assertion")],
        &[("requests_per_hour", "1000000"), ("concurrency", "4")],
    )
    .await;
    let (run, _) = store
        .ask_run(&RunAsk::new(inst, Trigger::Cli).full(true))
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let now = store.list_runs(inst, 1).await.unwrap();
        let status = now.first().map(|r| r.status);
        if now.first().is_some_and(|r| r.id == run.id)
            && !matches!(status, Some(RunStatus::Queued | RunStatus::Running))
        {
            println!(
                "  PlanningPME's first run: {:?} in {:.1} s",
                status.unwrap(),
                started.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    std::mem::forget(sim); // serves until the benchmark ends
    (store, inst)
}

/// The environment switch `name`: `1` on, `0` off, unset or empty
/// `default`; anything else stops the benchmark saying what `1` means.
fn switch(name: &str, default: bool, meaning: &str) -> bool {
    match std::env::var(name).as_deref() {
        Err(_) | Ok("") => default,
        Ok("1") => true,
        Ok("0") => false,
        Ok(other) => {
            eprintln!("{name} is `1` ({meaning}) or `0`, not `{other}`");
            std::process::exit(2);
        }
    }
}

/// Puts the calling thread at the lowest priority (`SCHED_IDLE`): it runs
/// only when no other thread of the machine wants the processor.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` outlives the call.
        let done = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        assert_eq!(done, 0, "SCHED_IDLE: {}", std::io::Error::last_os_error());
    }
}

fn bench(
    backend: &Backend,
    seconds: u64,
    rate: u64,
    employees: u64,
    webhook: bool,
    partners_idle: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let database = backend.url();
    let (_, key) = seeded_named_base_at(d, "production", employees as u32, database.as_deref());
    let (_, quiet_key) = seeded_named_base_at(d, "quiet", employees as u32, database.as_deref());
    let (mut server, url) = serve_at(d, database.as_deref());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The receiver and the simulator answer on a thread of their own, so
    // that the load generator's measures are not taken behind their work,
    // at the lowest priority unless asked otherwise (see above).
    let partners = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-partners")
        .on_thread_start(move || {
            if partners_idle {
                lowest_priority();
            }
        })
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let (people, departments) = people_and_departments(&client, &url, &key).await;
        let ids: Vec<i64> = people.iter().map(|(id, _)| *id).collect();
        let (quiet_people, quiet_departments) = people_and_departments(&client, &url, &quiet_key).await;
        let quiet_plan = Plan {
            ids: quiet_people.iter().map(|(id, _)| *id).collect(),
            moves: Vec::new(),
        };
        // The quiet phase moves as many employees of its own base, so that
        // both phases make the same writes and only the events differ.
        let quiet_moves = moves_among(&quiet_people, &quiet_departments, |_| true, seconds);
        println!(
            "events on {}: {rate} updates/s for {seconds} s per phase, in slices of {SLICE_SECONDS} s taking turns, {employees} employees a base",
            backend.name()
        );
        println!(
            "  the receiver and the simulator at {} priority",
            if partners_idle { "the lowest (SCHED_IDLE)" } else { "normal" }
        );
        // Warm-ups change job titles numbered after both phases' (their
        // webhooks are not counted).
        write_phase(&url, &quiet_key, &quiet_plan, 2 * rate * seconds, rate, WARM_UP_SECONDS).await;

        let placed: Placements = Arc::default();
        let (store, inst) = partners
            .spawn(planningpme(d.to_path_buf(), database.clone(), placed.clone()))
            .await
            .unwrap();
        // Each moved employee goes once to a department other than theirs.
        // Moved: employees PlanningPME holds (its key sees them).
        let held: std::collections::HashSet<i64> =
            placed.lock().unwrap().keys().map(|(id, _)| *id).collect();
        let moves = moves_among(&people, &departments, |id| held.contains(&id), seconds);
        let arrivals: Arrivals = Arc::default();
        let app = axum::Router::new()
            .route("/hook", get(echo).post(take))
            .with_state(arrivals.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let hook = format!("http://{}/hook", listener.local_addr().unwrap());
        partners.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap()
        });
        if webhook {
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
        } else {
            println!("  events phase without a webhook endpoint (RELAIS_BENCH_NO_WEBHOOK)");
        }
        let unmeasured = Plan { ids: ids.clone(), moves: Vec::new() };
        write_phase(&url, &key, &unmeasured, (2 * seconds + WARM_UP_SECONDS) * rate, rate, WARM_UP_SECONDS).await;
        tokio::time::sleep(SETTLE).await;
        let runs_before = store.list_runs(inst, 1_000).await.unwrap().len();
        // The phases take turns, a slice each: quiet, then events.
        let (mut quiet, mut hooked) = (Writes::default(), Writes::default());
        let (mut served_quiet, mut served_hooked) = (Vec::new(), Vec::new());
        // CPU of the server's threads and of this process's (the load generator and the partners), each
        // slice with the pause after it (where its deliveries and runs end).
        let server_pid = server.id().to_string();
        let (mut cpu_quiet, mut cpu_hooked) = (HashMap::new(), HashMap::new());
        let (mut partners_quiet, mut partners_hooked) = (HashMap::new(), HashMap::new());
        let mut moves = moves.chunks((MOVES_PER_SECOND * SLICE_SECONDS) as usize);
        let mut quiet_moves = quiet_moves.chunks((MOVES_PER_SECOND * SLICE_SECONDS) as usize);
        let mut done = 0;
        while done < seconds {
            let slice = SLICE_SECONDS.min(seconds - done);
            let before = served(&client, &url).await;
            let (cpu, mine) = (cpu_by_thread(&server_pid), cpu_by_thread("self"));
            let plan = Plan { ids: quiet_plan.ids.clone(), moves: quiet_moves.next().unwrap_or_default().to_vec() };
            quiet.add(write_phase(&url, &quiet_key, &plan, done * rate, rate, slice).await);
            add_served(&mut served_quiet, &before, &served(&client, &url).await);
            tokio::time::sleep(SETTLE).await;
            add_cpu(&mut cpu_quiet, &cpu, &cpu_by_thread(&server_pid));
            add_cpu(&mut partners_quiet, &mine, &cpu_by_thread("self"));
            let plan = Plan { ids: ids.clone(), moves: moves.next().unwrap_or_default().to_vec() };
            let before = served(&client, &url).await;
            let (cpu, mine) = (cpu_by_thread(&server_pid), cpu_by_thread("self"));
            hooked.add(write_phase(&url, &key, &plan, (seconds + done) * rate, rate, slice).await);
            add_served(&mut served_hooked, &before, &served(&client, &url).await);
            tokio::time::sleep(SETTLE).await;
            add_cpu(&mut cpu_hooked, &cpu, &cpu_by_thread(&server_pid));
            add_cpu(&mut partners_hooked, &mine, &cpu_by_thread("self"));
            done += slice;
        }
        // What is still on its way arrives within a few seconds.
        let deadline = Instant::now() + Duration::from_secs(30);
        while ((webhook
            && delays(&hooked.answered, &arrivals.lock().unwrap()).len() < hooked.answered.len())
            || delays(&hooked.moved, &placed.lock().unwrap()).len() < hooked.moved.len())
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let to_webhook = delays(&hooked.answered, &arrivals.lock().unwrap());
        let to_partner = delays(&hooked.moved, &placed.lock().unwrap());
        // Moves PlanningPME never got: who, where to, and when they were answered.
        let missing: Vec<String> = {
            let placed = placed.lock().unwrap();
            let mut missing: Vec<_> = hooked.moved.iter().filter(|(m, _)| !placed.contains_key(*m)).collect();
            missing.sort_by_key(|(_, at)| **at);
            missing.iter().take(5).map(|((id, to), at)| {
                let when = hooked.began.map_or(0.0, |b| at.saturating_duration_since(b).as_secs_f64());
                format!("employee {id} to department {to}, answered at {when:.1} s")
            }).collect()
        };
        let runs = store.list_runs(inst, 1_000).await.unwrap();
        let mut took: Vec<Duration> = runs[..runs.len() - runs_before]
            .iter()
            .filter(|r| r.trigger == Trigger::Change)
            .filter_map(|r| (r.finished_at? - r.started_at?).to_std().ok())
            .collect();
        took.sort();
        let on_change = took.len();
        for (name, w) in [("quiet", &quiet), ("events", &hooked)] {
            println!(
                "  {name:<8} {:>6} updates   write p50 {:>6.1} ms   p99 {:>6.1} ms   errors {}   slowest {:.0} ms, sent at {:.1} s",
                w.latencies.len(),
                ms(pct(&w.latencies, 0.50)),
                ms(pct(&w.latencies, 0.99)),
                w.errors.values().sum::<u64>(),
                ms(w.slowest.0),
                w.slowest.1.as_secs_f64(),
            );
            for (what, n) in &w.errors {
                println!("    {n} not answered 200: {what}");
            }
        }
        for (name, w, (before, after)) in [
            ("quiet", &quiet, (&Vec::new(), &served_quiet)),
            ("events", &hooked, (&Vec::new(), &served_hooked)),
        ] {
            let server = over_in_server(before, after);
            let shown: Vec<String> = SLOW_MS
                .iter()
                .zip(server)
                .map(|(ms, share)| format!("over {ms} ms {:.2} % / {share:.2} %", over(&w.latencies, *ms)))
                .collect();
            println!("  {name:<8} measured / in the server: {}", shown.join(", "));
        }
        for (name, w, server, partners) in [
            ("quiet", &quiet, &cpu_quiet, &partners_quiet),
            ("events", &hooked, &cpu_hooked, &partners_hooked),
        ] {
            let n = w.latencies.len();
            println!(
                "  {name:<8} CPU an update: server {}; this process (load generator on tokio-rt-worker, partners on bench-partners) {}",
                cpu_line(server, n),
                cpu_line(partners, n)
            );
            println!("  {name:<8} thread switches an update: server {}", switches_line(server, n));
        }
        println!(
            "  write p99 with events delivered / without: {:.2}",
            ms(pct(&hooked.latencies, 0.99)) / ms(pct(&quiet.latencies, 0.99)).max(0.001)
        );
        // Each events slice against the quiet slice just before it: a
        // burst of the machine's own falls on one pair, not on the whole.
        let mut pairs: Vec<f64> = quiet
            .slice_p99
            .iter()
            .zip(&hooked.slice_p99)
            .map(|(q, e)| ms(*e) / ms(*q).max(0.001))
            .collect();
        pairs.sort_by(f64::total_cmp);
        println!(
            "  slice by slice (events p99 / the quiet slice's before it): {}; median {:.2}",
            pairs.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", "),
            median(&pairs),
        );
        if webhook {
            let (share, during, between, posting) =
                in_passes(&hooked.spans, &arrivals.lock().unwrap());
            println!(
                "  events phase, updates answered during a deliverer's pass ({share:.0} %; a pass posts for {:.0} ms at the median) / between passes: write p99 {:.1} / {:.1} ms",
                ms(posting),
                ms(during),
                ms(between),
            );
            println!(
                "  change -> webhook delivered: {} of {} changes, p50 {:.0} ms, p99 {:.0} ms",
                to_webhook.len(),
                hooked.answered.len(),
                ms(pct(&to_webhook, 0.50)),
                ms(pct(&to_webhook, 0.99)),
            );
        }
        println!(
            "  change -> PlanningPME holds it: {} of {} moves, p50 {:.0} ms, p99 {:.0} ms, {} runs on change (each p50 {:.0} ms, longest {:.0} ms)",
            to_partner.len(),
            hooked.moved.len(),
            ms(pct(&to_partner, 0.50)),
            ms(pct(&to_partner, 0.99)),
            on_change,
            ms(pct(&took, 0.50)),
            ms(took.last().copied().unwrap_or_default()),
        );
        if !missing.is_empty() {
            println!("  moves PlanningPME never got: {}", missing.join("; "));
        }
        // The whole feed of the events base, read by pages of 1,000 as a
        // client catching up would, then by pages of 60 as a client that
        // reads it often would: the server's processor an event.
        for limit in [1_000, 60] {
            let (cpu, started) = (cpu_by_thread(&server_pid), Instant::now());
            let mut read = HashMap::new();
            let (mut after, mut events) = (0_i64, 0_usize);
            loop {
                let path = format!("/api/relais/events?after={after}&limit={limit}");
                let page: Value = common::get_json(&client, &url, &key, &path).await;
                events += page["data"]["items"].as_array().map_or(0, Vec::len);
                after = page["data"]["next"].as_i64().unwrap();
                if page["data"]["hasMore"] != json!(true) {
                    break;
                }
            }
            add_cpu(&mut read, &cpu, &cpu_by_thread(&server_pid));
            println!(
                "  feed read to its end by pages of {limit}: {events} events in {:.2} s, server CPU an event {}",
                started.elapsed().as_secs_f64(),
                cpu_line(&read, events),
            );
        }
    });
    let _ = server.kill();
    let _ = server.wait();
}

fn main() {
    let seconds = arg(0, 30);
    let rate = arg(1, 1_000);
    let employees = arg(2, 2_000);
    // A fourth argument, `sqlite` or `postgres`, runs that backend alone.
    let only = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(3);
    if let Some(other) = only
        .as_deref()
        .filter(|o| !["sqlite", "postgres"].contains(o))
    {
        eprintln!("the fourth argument names the backend to run alone, `sqlite` or `postgres`, not `{other}`");
        std::process::exit(2);
    }
    let webhook = !switch(
        "RELAIS_BENCH_NO_WEBHOOK",
        false,
        "no endpoint in the events phase",
    );
    let partners_idle = switch(
        "RELAIS_BENCH_PARTNERS_IDLE",
        true,
        "the partners at the lowest priority",
    );
    if only.as_deref() != Some("postgres") {
        bench(
            &Backend::Sqlite,
            seconds,
            rate,
            employees,
            webhook,
            partners_idle,
        );
    }
    if only.as_deref() == Some("sqlite") {
        return;
    }
    if let Some(server) = common::postgres_server("events") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let backend = rt.block_on(Backend::fresh_postgres(&server, "events"));
        bench(&backend, seconds, rate, employees, webhook, partners_idle);
        rt.block_on(backend.drop());
    } else if only.as_deref() == Some("postgres") {
        eprintln!(
            "no PostgreSQL server: set RELAIS_BENCH_POSTGRES_URL or RELAIS_TEST_POSTGRES_URL"
        );
        std::process::exit(2);
    }
}
