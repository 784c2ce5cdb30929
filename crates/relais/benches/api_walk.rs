//! API walk benchmark: `cargo bench -p relais --bench api_walk [-- EMPLOYEES...]`.
//!
//! For each base size (10,000 and 100,000 employees by default): seeds a fresh
//! SQLite base with the `relais` binary, starts `relais serve`, and walks
//! `GET /api/v3/users?fields=<15 fields>,collection.count&paging=k,1000` to the
//! end with an all-grants key. Prints per-page median and p99 latency, the
//! total time, and the server's peak memory (VmHWM of its process).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FIELDS: &str = "id,name,firstName,lastName,mail,login,employeeNumber,birthDate,dtContractStart,dtContractEnd,jobTitle,departmentId,legalEntityId,managerId,modifiedAt";

fn relais(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relais"));
    cmd.current_dir(dir)
        .env("RELAIS_LOG", "warn")
        .env_remove("RELAIS_DATABASE_URL");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = relais(dir).args(args).output().expect("relais runs");
    assert!(
        out.status.success(),
        "relais {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The envelope of a page; items are checked for well-formed JSON and counted.
#[derive(serde::Deserialize)]
struct Body {
    data: Data,
}

#[derive(serde::Deserialize)]
struct Data {
    items: Vec<serde::de::IgnoredAny>,
    count: Option<u64>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn walk(employees: u32) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["base", "create", "production", "--kind", "production"]);
    let started = Instant::now();
    run(d, &["seed", "--employees", &employees.to_string()]);
    let seeded = started.elapsed();
    let key = run(
        d,
        &[
            "keys",
            "create",
            "--name",
            "bench",
            "--contact",
            "bench@relais.dev",
            "--grant",
            "all",
            "--rate-limit",
            "1000000",
        ],
    );
    let key = key.lines().nth(1).unwrap().to_owned();
    let mut server = relais(d)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "1000000",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .find_map(|l| l.ok().filter(|l| l.contains("http://")))
        .unwrap();
    let url = line[line.find("http://").unwrap()..]
        .trim_end_matches('/')
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (pages, total, rows) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut pages = Vec::new();
        let mut rows = 0usize;
        let mut offset = 0usize;
        let started = Instant::now();
        loop {
            let t = Instant::now();
            let body: Body = client
                .get(format!(
                    "{url}/api/v3/users?fields={FIELDS},collection.count&paging={offset},1000"
                ))
                .header("Authorization", format!("lucca application={key}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            pages.push(t.elapsed());
            let n = body.data.items.len();
            let count = body.data.count.unwrap_or(0) as usize;
            rows += n;
            offset += 1000;
            if n == 0 || offset >= count {
                break;
            }
        }
        (pages, started.elapsed(), rows)
    });
    let peak = peak_kib(server.id());
    let _ = server.kill();
    let _ = server.wait();
    let mut sorted = pages.clone();
    sorted.sort();
    println!(
        "api walk: {employees} employees seeded in {:.1} s; {rows} visible users in {} pages",
        seeded.as_secs_f64(),
        pages.len()
    );
    println!(
        "  page median  {:>8.1} ms",
        percentile(&sorted, 0.5).as_secs_f64() * 1000.0
    );
    println!(
        "  page p99     {:>8.1} ms",
        percentile(&sorted, 0.99).as_secs_f64() * 1000.0
    );
    println!("  total        {:>8.2} s", total.as_secs_f64());
    if let Some(kib) = peak {
        println!("  server peak  {:>8.1} MiB", kib as f64 / 1024.0);
    }
}

fn main() {
    let sizes: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    for n in sizes {
        walk(n);
    }
}
