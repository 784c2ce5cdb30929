//! Seeding benchmark: `cargo bench -p relais-sandbox --bench seed [-- EMPLOYEES]`.
//!
//! Generates the demo company with EMPLOYEES employees (100,000 by default),
//! their absences and expenses, into a fresh SQLite file, then prints the time,
//! the records written per second and the process's peak memory.

use relais_core::base::{BaseKind, BaseName};
use relais_sandbox::demo::{seed, DemoOptions};
use relais_store::DatabaseUrl;
use std::time::Instant;

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let employees: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = relais_store::open(&DatabaseUrl::Sqlite(dir.path().join("bench.db")))
            .await
            .unwrap();
        let base = store
            .create_base(
                &BaseName::parse("production").unwrap(),
                BaseKind::Production,
            )
            .await
            .unwrap();
        let options = DemoOptions {
            employees,
            seed: 1,
            today: chrono::Utc::now().date_naive(),
        };
        let started = Instant::now();
        let counts = seed(store.as_ref(), &base, &options, &|_| {})
            .await
            .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        let records = counts.employees()
            + counts.leave_periods
            + counts.expense_claims
            + counts.expense_items;
        println!("seed: {employees} employees on SQLite");
        println!("  employees      {:>10}", counts.employees());
        println!("  leave periods  {:>10}", counts.leave_periods);
        println!("  expense claims {:>10}", counts.expense_claims);
        println!("  expense items  {:>10}", counts.expense_items);
        println!("  time           {elapsed:>10.2} s");
        println!("  records/s      {:>10.0}", records as f64 / elapsed);
        if let Some(mib) = peak_memory_mib() {
            println!("  peak memory    {mib:>10.1} MiB");
        }
    });
}
