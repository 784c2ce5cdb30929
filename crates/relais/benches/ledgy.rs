//! Ledgy benchmark: `cargo bench -p relais --bench ledgy [-- EMPLOYEES...]`.
//!
//! For each base size (10,000 employees by default): seeds a fresh SQLite
//! base, starts a Ledgy simulator, installs Ledgy (default mapping), then
//! with the `relais` binary (one process each, reading the base through its
//! own local API):
//! 1. the preview's first page (`relais sync preview`), everyone new;
//! 2. the forced sync (a full run): every stakeholder sent;
//! 3. the preview's first page again, everyone unchanged;
//! 4. a mapping change (the department's parents added) and the run that
//!    sends everyone again.
//!
//! Prints the preview's time, and per run: records, records per second,
//! requests sent to Ledgy, time and the peak memory of the process.

mod common;

use common::{print, relais, sync_run, SyncBench};
use std::time::Instant;

const TOKEN: &str = "bench-ledgy-token";

fn preview(dir: &std::path::Path, id: relais_core::ids::InstallationId, label: &str) {
    let start = Instant::now();
    let out = relais(dir)
        .args(["sync", "preview", &id.to_string(), "--json"])
        .output()
        .unwrap();
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = page["rows"].as_array().unwrap();
    let statuses: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|r| r["status"].as_str()).collect();
    println!(
        "  {label:<24} first page of {} in {:.2} s (whole process), statuses {statuses:?}",
        rows.len(),
        wall.as_secs_f64()
    );
}

async fn bench(employees: u32) {
    let world = SyncBench::seeded(employees).await;
    let sim = relais_sandbox::ledgy::start("127.0.0.1:0".parse().unwrap(), TOKEN)
        .await
        .unwrap();
    let id = world
        .install(
            "ledgy",
            sim.url(),
            &[("api_token", TOKEN)],
            &[("requests_per_hour", "1000000")],
        )
        .await;
    println!("{employees} employees:");
    preview(world.dir.path(), id, "preview before");
    let forced = sync_run(world.dir.path(), &world.store, id).await;
    print("ledgy forced sync", &forced);
    preview(world.dir.path(), id, "preview after");
    let quiet = sync_run(world.dir.path(), &world.store, id).await;
    print("ledgy daily, no change", &quiet);
    let mut integration = world.store.get_integration(id).await.unwrap();
    let mut mapping = integration.options["mapping"].clone();
    for f in mapping["fields"].as_array_mut().unwrap() {
        if f["target"] == "department" {
            f["source"] = serde_json::json!({ "model": "groups" });
        }
    }
    integration.options["mapping"] = mapping;
    world.store.put_integration(&integration).await.unwrap();
    let remapped = sync_run(world.dir.path(), &world.store, id).await;
    print("ledgy after a new mapping", &remapped);
}

fn main() {
    common::each_size(common::sizes(&[10_000]), bench);
}
