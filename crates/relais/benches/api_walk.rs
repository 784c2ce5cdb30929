//! API walk benchmark: `cargo bench -p relais --bench api_walk [-- EMPLOYEES...]`.
//!
//! For each base size (10,000 and 100,000 employees by default): seeds a fresh
//! SQLite base with the `relais` binary, starts `relais serve`, and walks to
//! the end, with `collection.count` on every page and an all-grants key:
//! `/api/v3/users` (15 fields, pages of 1,000), `/api/v3/leaves` (every leave
//! since 2000, pages of 250) and `/api/v3/expenseClaimItems` (pages of 1,000).
//! Prints per-page median and p99 latency, the median of the first and of the
//! last tenth of the pages (a deep page should cost what the first one does),
//! the total time, and the server's peak memory (VmHWM of its process).

mod common;

use common::{peak_kib, percentile};
use std::time::{Duration, Instant};

const FIELDS: &str = "id,name,firstName,lastName,mail,login,employeeNumber,birthDate,dtContractStart,dtContractEnd,jobTitle,departmentId,legalEntityId,managerId,modifiedAt";

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

fn walk(employees: u32) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (seeded, key) = common::seeded_base(d, employees);
    let (mut server, url) = common::serve(d);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (walks, rows) = runtime.block_on(async {
        let client = reqwest::Client::new();
        // Every establishment, for the owner filter the leaves endpoint needs.
        let establishments: Vec<String> = {
            let v: serde_json::Value =
                get_json(&client, &url, &key, "/api/v3/legalentities?fields=id").await;
            v["data"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].to_string())
                .collect()
        };
        let lists: [(&str, String, usize); 3] = [
            ("users", format!("/api/v3/users?fields={FIELDS},collection.count"), 1000),
            (
                "leaves",
                format!(
                    "/api/v3/leaves?date=since,2000-01-01&leavePeriod.owner.legalEntityId={}&fields=id,date,isAM,leaveAccountId,collection.count",
                    establishments.join(",")
                ),
                250,
            ),
            (
                "expense items",
                "/api/v3/expenseClaimItems?fields=id,expenseClaimId,purchasedOn,expenseNatureId,collection.count".to_owned(),
                1000,
            ),
        ];
        let mut walks = Vec::new();
        let mut rows = 0usize;
        for (name, path, size) in lists {
            let mut pages = Vec::new();
            let mut offset = 0usize;
            let started = Instant::now();
            let mut seen = 0usize;
            loop {
                let t = Instant::now();
                let body: Body =
                    get_json(&client, &url, &key, &format!("{path}&paging={offset},{size}")).await;
                pages.push(t.elapsed());
                let n = body.data.items.len();
                let count = body.data.count.unwrap_or(0) as usize;
                seen += n;
                offset += size;
                if n == 0 || offset >= count {
                    break;
                }
            }
            if name == "users" {
                rows = seen;
            }
            walks.push((name, size, seen, pages, started.elapsed()));
        }
        (walks, rows)
    });
    let peak = peak_kib(server.id());
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "api walk: {employees} employees seeded in {:.1} s; {rows} visible users",
        seeded.as_secs_f64(),
    );
    println!(
        "  {:<14} {:>8} {:>6} {:>11} {:>11} {:>13} {:>13} {:>9}",
        "list", "records", "pages", "median", "p99", "first tenth", "last tenth", "total"
    );
    for (name, size, seen, pages, total) in walks {
        let mut sorted = pages.clone();
        sorted.sort();
        let tenth = (pages.len() / 10).max(1);
        let median_of = |part: &[Duration]| {
            let mut p = part.to_vec();
            p.sort();
            percentile(&p, 0.5).as_secs_f64() * 1000.0
        };
        println!(
            "  {:<14} {:>8} {:>6} {:>8.1} ms {:>8.1} ms {:>10.1} ms {:>10.1} ms {:>7.2} s   (pages of {size})",
            name,
            seen,
            pages.len(),
            percentile(&sorted, 0.5).as_secs_f64() * 1000.0,
            percentile(&sorted, 0.99).as_secs_f64() * 1000.0,
            median_of(&pages[..tenth]),
            median_of(&pages[pages.len() - tenth..]),
            total.as_secs_f64()
        );
    }
    if let Some(kib) = peak {
        println!("  server peak  {:>8.1} MiB", kib as f64 / 1024.0);
    }
}

/// GETs `path` with the key and reads its JSON answer.
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    path: &str,
) -> T {
    client
        .get(format!("{url}{path}"))
        .header("Authorization", format!("lucca application={key}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn main() {
    for n in common::sizes(&[10_000, 100_000]) {
        walk(n);
    }
}
