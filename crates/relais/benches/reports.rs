//! Reports benchmark: `cargo bench -p relais --bench reports [-- EMPLOYEES...]`.
//!
//! For each base size (100,000 employees by default): seeds a fresh SQLite
//! base, starts `relais serve`, and computes each ready-made report over
//! the last twelve months through the API (the first page; the report is
//! computed whole), printing its time, its rows and the server's peak
//! memory after each. Then Inside Online's replica reads the base in full
//! with an all-grants key, 1 % of the leave periods change (approved,
//! cancelled), and the replica catches up: its requests, records and time
//! against the full read.

mod common;

use common::peak_kib;
use relais_sandbox::replica::Replica;
use std::time::Instant;

async fn bench(employees: u32) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (seeded, key) = common::seeded_base(d, employees);
    let (mut server, url) = common::serve(d);
    println!(
        "reports: {employees} employees seeded in {:.1} s (SQLite), each report over the last 12 months",
        seeded.as_secs_f64()
    );
    println!(
        "  {:<20} {:>9} {:>10} {:>16}",
        "report", "rows", "time", "server peak"
    );
    let client = reqwest::Client::new();
    for code in [
        "absences-payroll",
        "absenteeism",
        "headcount",
        "expenses-by-nature",
        "recoverable-vat",
        "expense-warnings",
    ] {
        let t = Instant::now();
        let body: serde_json::Value = client
            .get(format!("{url}/api/relais/reports/{code}?paging=0,1000"))
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let took = t.elapsed();
        let rows = body["data"]["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("{body}"));
        println!(
            "  {code:<20} {rows:>9} {:>8.2} s {:>12.1} MiB",
            took.as_secs_f64(),
            peak_kib(server.id()).unwrap_or(0) as f64 / 1024.0
        );
    }

    // The replica: a full read, 1 % of the leave periods changed, a catch-up.
    let mut replica = Replica::new(&url, &key);
    let t = Instant::now();
    let full = replica.catch_up().await.unwrap();
    let full_time = t.elapsed();
    let store = relais_store::open(&relais_store::DatabaseUrl::Sqlite(
        d.join("relais-data").join("relais.db"),
    ))
    .await
    .unwrap();
    let base = store
        .base_by_name(&relais_core::base::BaseName::parse("production").unwrap())
        .await
        .unwrap();
    let periods = store
        .query_leave_periods(
            base.id,
            &relais_store::ListQuery {
                limit: 100_000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    let mut changed = 0;
    let wanted = replica.copy.leave_requests.len() / 100;
    for p in &periods {
        if changed >= wanted {
            break;
        }
        use relais_core::absence::LeaveStatus::*;
        let to = match p.status {
            Pending => Approved,
            Approved => Cancelled,
            _ => continue,
        };
        if store.set_leave_status(base.id, p.id, to).await.is_ok() {
            changed += 1;
        }
    }
    let t = Instant::now();
    let next = replica.catch_up().await.unwrap();
    let next_time = t.elapsed();
    println!(
        "  replica full read     {:>7} requests {:>9} records {:>8.2} s",
        full.requests,
        full.records,
        full_time.as_secs_f64()
    );
    println!(
        "  after {changed} changes  {:>7} requests {:>9} records {:>8.2} s   ({:.2} % of the full read's time, {:.2} % of its records)",
        next.requests,
        next.records,
        next_time.as_secs_f64(),
        next_time.as_secs_f64() / full_time.as_secs_f64() * 100.0,
        next.records as f64 / full.records as f64 * 100.0
    );
    let _ = server.kill();
    let _ = server.wait();
}

fn main() {
    common::each_size(common::sizes(&[100_000]), bench);
}
