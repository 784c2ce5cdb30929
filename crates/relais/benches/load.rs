//! Load benchmark: `cargo bench -p relais --bench load [-- SECONDS CLIENTS EMPLOYEES]`.
//!
//! Seeds a fresh SQLite base with the `relais` binary (2,000 employees by
//! default), starts `relais serve`, and has 200 concurrent clients (one
//! keep-alive connection each) read for 30 s over loopback, twice:
//! - **users**: pages of 100 users with five fields, the department's name
//!   among them (the read every partner makes all day);
//! - **mixed**: four list endpoints in turn — those users, leaves of a
//!   month, expense items, departments.
//!
//! The load generator is a minimal HTTP/1.1 client on one thread (as `wrk`
//! would be), so that the server, not the client, is what is measured.
//! `RELAIS_LOAD_PHASES=users` runs only the first (`mixed`, only the second).
//! Prints, for each, requests per second, p50 and p99 latency, the answers
//! by status (anything but 200 is an error) and the server's peak memory
//! (VmHWM of its process).

mod common;

use common::{peak_kib, percentile, relais, run};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USERS: &str = "/api/v3/users?fields=id,firstName,lastName,mail,department.name&paging=0,100";

const MIXED: [&str; 4] = [
    USERS,
    "/api/v3/leaves?leavePeriod.ownerId=1,2,3,4,5,6,7,8,9,10&date=between,2026-01-01,2026-12-31&fields=id,date,isAm,leaveAccountId",
    "/api/v3/expenseClaimItems?fields=id,expenseClaimId,purchasedOn,expenseNatureId&paging=0,100",
    "/api/v3/departments?fields=id,name,parentId",
];

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Reads one HTTP/1.1 answer with a `Content-Length` from `stream`, using
/// `buf` for what arrives; returns its status (0 when it cannot be read).
async fn read_answer(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> u16 {
    buf.clear();
    let mut chunk = [0u8; 64 * 1024];
    // The head.
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return 0,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let Some(length) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    else {
        return 0;
    };
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return 0,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    status
}

/// What one load phase measured.
struct Phase {
    latencies: Vec<Duration>,
    statuses: std::collections::BTreeMap<u16, u64>,
    elapsed: Duration,
}

/// `clients` connections reading `paths` in turn for `seconds`.
async fn load(addr: &str, key: &str, paths: &[&str], clients: usize, seconds: u64) -> Phase {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        paths
            .iter()
            .map(|p| {
                format!("GET {p} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\r\n")
                    .into_bytes()
            })
            .collect(),
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (requests, addr) = (requests.clone(), addr.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = Vec::with_capacity(64 * 1024);
            let mut n = c;
            while Instant::now() < deadline {
                let request = &requests[n % requests.len()];
                n += 1;
                let sent = Instant::now();
                let status = match stream.write_all(request).await {
                    Ok(()) => read_answer(&mut stream, &mut buf).await,
                    Err(_) => 0,
                };
                latencies.push(sent.elapsed());
                *statuses.entry(status).or_default() += 1;
                if status == 0 {
                    // A broken connection: open another.
                    match tokio::net::TcpStream::connect(&addr).await {
                        Ok(s) => stream = s,
                        Err(_) => break,
                    }
                }
            }
            (latencies, statuses)
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    for t in tasks {
        let (l, s) = t.await.unwrap();
        latencies.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
    }
    latencies.sort();
    Phase {
        latencies,
        statuses,
        elapsed: started.elapsed(),
    }
}

fn main() {
    let seconds = arg(0, 30);
    let clients = arg(1, 200) as usize;
    let employees = arg(2, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["base", "create", "production", "--kind", "production"]);
    run(d, &["seed", "--employees", &employees.to_string()]);
    let key = run(
        d,
        &[
            "keys",
            "create",
            "--name",
            "load",
            "--contact",
            "load@relais.dev",
            "--grant",
            "all",
        ],
    )
    .lines()
    .nth(1)
    .unwrap()
    .trim()
    .to_owned();
    // The budget is the server's capacity here, not the per-key limit.
    let mut server = relais(d)
        .args([
            "--rate-limit",
            "100000000",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("relais is serving"))
        .unwrap();
    let url = line[line.find("http://").unwrap()..]
        .trim_end_matches('/')
        .to_owned();
    let addr = url.trim_start_matches("http://").to_owned();
    // One thread for all the clients: the rest of the machine is the server's.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("load: {clients} clients, {seconds} s each, {employees} employees (SQLite)");
    // `RELAIS_LOAD_PHASES=users` (or `mixed`) runs only that phase.
    let only = std::env::var("RELAIS_LOAD_PHASES").ok();
    for (name, paths) in [("users", &[USERS][..]), ("mixed", &MIXED[..])] {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|p| p == name))
        {
            continue;
        }
        let phase = rt.block_on(load(&addr, &key, paths, clients, seconds));
        let total = phase.latencies.len() as f64;
        let errors: u64 = phase
            .statuses
            .iter()
            .filter(|(s, _)| **s != 200)
            .map(|(_, n)| n)
            .sum();
        println!(
            "  {name:<6} {:>6.0} requests/s   p50 {:>6.1} ms   p99 {:>6.1} ms   errors {errors}   answers by status {:?} (0: none)",
            total / phase.elapsed.as_secs_f64(),
            percentile(&phase.latencies, 0.50).as_secs_f64() * 1000.0,
            percentile(&phase.latencies, 0.99).as_secs_f64() * 1000.0,
            phase.statuses,
        );
    }
    let peak = peak_kib(server.id());
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "  server peak RSS {}",
        peak.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
    );
}
