//! Load benchmark: `cargo bench -p relais --bench load [-- SECONDS CLIENTS EMPLOYEES]`.
//!
//! Seeds a fresh SQLite base with the `relais` binary (2,000 employees by
//! default), starts `relais serve`, and has 200 concurrent clients (one
//! keep-alive connection each) read four list endpoints in turn for 30 s over
//! loopback: users with their department's name, leaves of a month, expense
//! items, departments. Prints requests per second, p50 and p99 latency, the
//! answers by status (anything but 200 and 429 is an error) and the server's
//! peak memory (VmHWM of its process).

mod common;

use common::{peak_kib, percentile, relais, run};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ENDPOINTS: [&str; 4] = [
    "/api/v3/users?fields=id,firstName,lastName,mail,department.name&paging=0,100",
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (latencies, statuses, elapsed) = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let key = Arc::new(key);
        let url = Arc::new(url);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (key, url) = (key.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut latencies = Vec::new();
                let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
                let mut n = c;
                while Instant::now() < deadline {
                    let path = ENDPOINTS[n % ENDPOINTS.len()];
                    n += 1;
                    let sent = Instant::now();
                    let status = match client
                        .get(format!("{url}{path}"))
                        .header("Authorization", format!("Bearer {key}"))
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let s = r.status().as_u16();
                            let _ = r.bytes().await;
                            s
                        }
                        Err(_) => 0,
                    };
                    latencies.push(sent.elapsed());
                    *statuses.entry(status).or_default() += 1;
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
        (latencies, statuses, started.elapsed())
    });
    let peak = peak_kib(server.id());
    let _ = server.kill();
    let _ = server.wait();
    let mut sorted = latencies;
    sorted.sort();
    let total = sorted.len() as f64;
    let errors: u64 = statuses
        .iter()
        .filter(|(s, _)| **s != 200 && **s != 429)
        .map(|(_, n)| n)
        .sum();
    println!(
        "load: {clients} clients, {seconds} s, 4 list endpoints, {employees} employees (SQLite)"
    );
    println!(
        "  {:.0} requests/s   p50 {:.1} ms   p99 {:.1} ms   errors (not 200/429) {errors}   server peak RSS {} MiB",
        total / elapsed.as_secs_f64(),
        percentile(&sorted, 0.50).as_secs_f64() * 1000.0,
        percentile(&sorted, 0.99).as_secs_f64() * 1000.0,
        peak.map_or("?".to_owned(), |k| (k / 1024).to_string())
    );
    println!("  answers by status: {statuses:?} (0: no answer)");
}
