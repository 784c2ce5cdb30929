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

use common::peak_kib;
use relais_core::base::{BaseKind, BaseName};
use relais_core::employee::Email;
use relais_core::integration::{IntegrationUpdate, SyncRun};
use relais_core::marketplace::AppManifest;
use relais_core::org::{Name, TimeZone};
use relais_core::secret::Sealer;
use relais_sandbox::demo::{seed, DemoOptions};
use relais_sandbox::sim::Faults;
use relais_store::{DatabaseUrl, NewPerson, SharedStore};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run cost.
struct Measure {
    run: SyncRun,
    wall: Duration,
    peak_mib: f64,
}

/// Runs `relais sync run <installation>` and measures it.
async fn sync_run(dir: &Path, store: &SharedStore, installation: i64) -> Measure {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .current_dir(dir)
        .env("RELAIS_LOG", "warn")
        .env_remove("RELAIS_DATABASE_URL")
        .env_remove("RELAIS_SECRET_KEY")
        .args(["sync", "run", &installation.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("relais starts");
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut first = String::new();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        if let Some(Ok(l)) = lines.next() {
            first = l;
        }
        lines.for_each(drop);
        first
    });
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let wall = start.elapsed();
    let first = reader.join().unwrap();
    let id: i64 = first
        .strip_prefix("run ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no run number in '{first}'"));
    let run = store.get_run(id).await.unwrap();
    assert!(
        run.error.is_none() && run.counts.failed == 0,
        "run {id} did not succeed: {:?}",
        run
    );
    Measure {
        run,
        wall,
        peak_mib: peak as f64 / 1024.0,
    }
}

fn print(label: &str, m: &Measure) {
    let secs = m.wall.as_secs_f64();
    println!(
        "  {label:<24} {:>7} records {:>7} written {:>9.0} records/s {:>7} requests {:>7.2} s {:>6.1} MiB",
        m.run.counts.total(),
        m.run.counts.written(),
        m.run.counts.total() as f64 / secs,
        m.run.partner_requests,
        secs,
        m.peak_mib
    );
}

fn manifest(code: &str) -> AppManifest {
    let path = format!(
        "{}/../../integrations/{code}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    AppManifest::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

async fn bench(employees: u32) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relais-data");
    std::fs::create_dir_all(&data).unwrap();
    let key = Sealer::generate_key();
    std::fs::write(data.join("secret.key"), &key).unwrap();
    let sealer = Sealer::from_hex(&key).unwrap();
    let store = relais_store::open(&DatabaseUrl::Sqlite(data.join("relais.db")))
        .await
        .unwrap();
    let base = store
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    let today = TimeZone::PARIS.today();
    seed(
        store.as_ref(),
        &base,
        &DemoOptions {
            employees,
            seed: 1,
            today,
        },
        &|_| {},
    )
    .await
    .unwrap();
    let admin = store
        .create_person(&NewPerson {
            email: Email::parse("bench@relais.test").unwrap(),
            name: Name::parse("name", "Bench").unwrap(),
            password_hash: "x".into(),
            can_admin_apps: true,
            can_manage_keys: true,
        })
        .await
        .unwrap();
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
        let (inst, _) = relais_api::install::install_app(
            &store,
            &sealer,
            &relais_sync::connectors::catalog(),
            base.id,
            &manifest(code),
            &Email::parse("tech@partner.test").unwrap(),
            admin.id,
        )
        .await
        .unwrap();
        let mut integration = store.get_integration(inst.id).await.unwrap();
        let connector = relais_sync::connectors::find(code).unwrap();
        integration
            .apply(
                connector.as_ref(),
                &IntegrationUpdate {
                    partner_url: Some(url),
                    secrets: secrets
                        .into_iter()
                        .map(|(n, v)| (n.to_owned(), v.to_owned()))
                        .collect(),
                    options: vec![("requests_per_hour".into(), "1000000".into())],
                    ..IntegrationUpdate::default()
                },
                &sealer,
                relais_core::now(),
            )
            .unwrap();
        store.put_integration(&integration).await.unwrap();
        installations.push((code, inst.id));
    }

    println!("{employees} employees:");
    let mut initial = Vec::new();
    for (code, id) in &installations {
        let m = sync_run(dir.path(), &store, *id).await;
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
            .update_employee(base.id, e.id, &data, &author)
            .await
            .unwrap();
    }
    for ((code, id), first) in installations.iter().zip(&initial) {
        let m = sync_run(dir.path(), &store, *id).await;
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
    let sizes: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![2_000, 10_000]
    } else {
        sizes
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for n in sizes {
            bench(n).await;
        }
    });
}
