//! Sync benchmark: `cargo bench -p relais --bench sync [-- EMPLOYEES...]`.
//!
//! For each base size (2,000 and 10,000 employees by default): seeds a fresh
//! SQLite base, starts the HappyPal and PlanningPME simulators, installs both
//! apps, then with the `relais` binary (`relais sync run`, one process per
//! run, reading the base through its own local API):
//! 1. the initial sync of every employee into HappyPal, and of every
//!    department, employee and absence of the next six months into PlanningPME;
//! 2. after 1 % of the employees changed (last name and department), the
//!    incremental run of each.
//!
//! Prints per run: records looked at, records written, records per second,
//! requests sent to the partner, time, and the peak memory of the process
//! that ran it (VmHWM); then the incremental run's cost against the initial one.

mod common;

use common::{print, sync_run, SyncBench};
use relais_core::org::Name;
use relais_sandbox::sim::Faults;

async fn bench(employees: u32) {
    let world = SyncBench::seeded(employees).await;
    let (dir, store, base) = (&world.dir, &world.store, &world.base);
    let local = "127.0.0.1:0".parse().unwrap();
    let hp = relais_sandbox::happypal::start(local, "bench-token")
        .await
        .unwrap();
    let pme = relais_sandbox::planningpme::start(local, "bench", "bench-key", "bench-assertion")
        .await
        .unwrap();
    // A higher PlanningPME tier: the simulator's default 2,000 requests an hour would stop the initial sync.
    reqwest::Client::new()
        .put(format!("{}/_sim/faults", pme.url()))
        .json(&Faults::default())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut installations = Vec::new();
    for (code, url, secrets) in [
        ("happypal", hp.url(), vec![("token", "bench-token")]),
        (
            "planningpme",
            format!("{}/bench", pme.url()),
            vec![("app_key", "bench-key"), ("assertion", "bench-assertion")],
        ),
    ] {
        let id = world
            .install(code, url, &secrets, &[("requests_per_hour", "1000000")])
            .await;
        installations.push((code, id));
    }

    println!("{employees} employees:");
    let mut initial = Vec::new();
    for (code, id) in &installations {
        let m = sync_run(dir.path(), store, *id).await;
        print(&format!("{code} initial"), &m);
        initial.push(m);
    }

    // 1 % of the employees change: a new last name, and another department.
    let departments = store.list_departments(base.id).await.unwrap();
    let people = store
        .list_employees(base.id, None, employees)
        .await
        .unwrap();
    let author = relais_core::audit::Author {
        name: "bench".into(),
        source: "api".into(),
    };
    let changed = (employees / 100).max(1) as usize;
    for (n, e) in people
        .iter()
        .step_by(people.len() / changed)
        .take(changed)
        .enumerate()
    {
        let mut data = e.data.clone();
        data.last_name = Name::parse("lastName", &format!("{}-Changé", data.last_name)).unwrap();
        data.department_id = Some(departments[n % departments.len()].id);
        store
            .update_employee(
                &store.get_employee(base.id, e.id).await.unwrap(),
                &data,
                &author,
            )
            .await
            .unwrap();
    }
    for ((code, id), first) in installations.iter().zip(&initial) {
        let m = sync_run(dir.path(), store, *id).await;
        print(&format!("{code} after 1 % changed"), &m);
        println!(
            "  {:<24} {:.1} % of the initial time, {:.1} % of its requests",
            "",
            100.0 * m.wall.as_secs_f64() / first.wall.as_secs_f64(),
            100.0 * m.run.partner_requests as f64 / first.run.partner_requests.max(1) as f64
        );
    }
}

fn main() {
    common::each_size(common::sizes(&[2_000, 10_000]), bench);
}
