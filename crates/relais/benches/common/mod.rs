//! What the benchmarks share: the `relais` binary in a folder of its own,
//! its peak memory, percentiles, and measured sync runs (what each thread
//! of a process used is `relais_testkit::usage`).

#![allow(dead_code)] // each benchmark uses some of them

use relais_core::integration::SyncRun;
use relais_core::marketplace::AppManifest;
use relais_store::SharedStore;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `relais` binary, run in `dir`, deaf to the caller's relais settings.
pub fn relais(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relais"));
    cmd.current_dir(dir)
        .env("RELAIS_LOG", "warn")
        // The benchmarks' webhook receivers run on this machine.
        .env("RELAIS_WEBHOOK_PRIVATE_ADDRESSES", "true")
        .env_remove("RELAIS_DATABASE_URL")
        .env_remove("RELAIS_CONFIG");
    cmd
}

/// Runs `relais args` in `dir`, which must succeed; returns what it printed.
pub fn run(dir: &Path, args: &[&str]) -> String {
    let out = relais(dir).args(args).output().expect("relais runs");
    assert!(
        out.status.success(),
        "relais {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `relais args` in `dir` on the database at `database` (none: the
/// embedded SQLite file), which must succeed; returns what it printed.
pub fn run_at(dir: &Path, database: Option<&str>, args: &[&str]) -> String {
    let mut cmd = relais(dir);
    if let Some(url) = database {
        cmd.env("RELAIS_DATABASE_URL", url);
    }
    let out = cmd.args(args).output().expect("relais runs");
    assert!(
        out.status.success(),
        "relais {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A `production` base in `dir` seeded with `employees`, and a key with
/// every grant and no rate limit to speak of: the seeding time and the key.
pub fn seeded_base(dir: &Path, employees: u32) -> (Duration, String) {
    seeded_base_at(dir, employees, None)
}

/// [`seeded_base`] on the database at `database` (none: SQLite in `dir`).
pub fn seeded_base_at(dir: &Path, employees: u32, database: Option<&str>) -> (Duration, String) {
    seeded_named_base_at(dir, "production", employees, database)
}

/// A base named `name` seeded with `employees` on the database at
/// `database` (none: SQLite in `dir`), and a key to it with every grant and
/// no rate limit to speak of: the seeding time and the key.
pub fn seeded_named_base_at(
    dir: &Path,
    name: &str,
    employees: u32,
    database: Option<&str>,
) -> (Duration, String) {
    let run = |dir: &Path, args: &[&str]| run_at(dir, database, args);
    run(dir, &["base", "create", name, "--kind", "production"]);
    let started = Instant::now();
    run(
        dir,
        &[
            "seed",
            "--base",
            name,
            "--employees",
            &employees.to_string(),
        ],
    );
    let seeded = started.elapsed();
    let key = run(
        dir,
        &[
            "keys",
            "create",
            "--base",
            name,
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
    (seeded, key.lines().nth(1).unwrap().trim().to_owned())
}

/// Starts `relais serve` in `dir` on a free port, without a rate limit that
/// would slow a benchmark down: the process and its address.
pub fn serve(dir: &Path) -> (std::process::Child, String) {
    serve_at(dir, None)
}

/// [`serve`] on the database at `database` (none: SQLite in `dir`).
pub fn serve_at(dir: &Path, database: Option<&str>) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut cmd = relais(dir);
    if let Some(url) = database {
        cmd.env("RELAIS_DATABASE_URL", url);
    }
    let mut server = cmd
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
    (server, url)
}

/// The peak resident memory of process `pid`, in KiB (VmHWM).
pub fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The base sizes given on the command line, or `default` when none is.
pub fn sizes(default: &[u32]) -> Vec<u32> {
    let given: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if given.is_empty() {
        default.to_vec()
    } else {
        given
    }
}

/// Runs `bench` on a multi-threaded runtime for each size, in turn.
pub fn each_size<F, Fut>(sizes: Vec<u32>, bench: F)
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for n in sizes {
        rt.block_on(bench(n));
    }
}

/// The `p` percentile (0 to 1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// What one run cost.
pub struct Measure {
    /// The run, as stored.
    pub run: SyncRun,
    /// How long the process took.
    pub wall: Duration,
    /// Its peak resident memory.
    pub peak_mib: f64,
}

/// Runs `relais sync run <installation>` and measures it.
pub async fn sync_run(
    dir: &Path,
    store: &SharedStore,
    installation: relais_core::ids::InstallationId,
) -> Measure {
    let start = Instant::now();
    let mut child = relais(dir)
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
    let id: relais_core::ids::RunId = first
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

pub fn print(label: &str, m: &Measure) {
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

pub fn manifest(code: &str) -> AppManifest {
    let path = format!(
        "{}/../../integrations/{code}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    AppManifest::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A fresh SQLite base in a folder of its own, seeded with a demo company,
/// with an administrator who installs apps: what the sync benchmarks start from.
pub struct SyncBench {
    /// The folder `relais` runs in (`relais-data/` holds the base and the key).
    pub dir: tempfile::TempDir,
    /// The store.
    pub store: SharedStore,
    /// The `production` base.
    pub base: relais_core::base::Base,
    sealer: relais_core::secret::Sealer,
    admin: relais_core::ids::PersonId,
}

impl SyncBench {
    /// A base of `employees` employees.
    pub async fn seeded(employees: u32) -> Self {
        use relais_core::base::{BaseKind, BaseName};
        use relais_core::secret::Sealer;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("relais-data");
        std::fs::create_dir_all(&data).unwrap();
        let key = Sealer::generate_key();
        std::fs::write(data.join("secret.key"), &key).unwrap();
        let sealer = Sealer::from_hex(&key).unwrap();
        let store = relais_store::open(&relais_store::DatabaseUrl::Sqlite(data.join("relais.db")))
            .await
            .unwrap();
        let base = store
            .create_base(
                &BaseName::parse("production").unwrap(),
                BaseKind::Production,
            )
            .await
            .unwrap();
        relais_sandbox::demo::seed(
            store.as_ref(),
            &base,
            &relais_sandbox::demo::DemoOptions {
                employees,
                seed: 1,
                today: relais_core::org::TimeZone::PARIS.today(),
            },
            &|_| {},
        )
        .await
        .unwrap();
        let admin = admin(&store).await;
        Self {
            dir,
            store,
            base,
            sealer,
            admin,
        }
    }

    /// Installs app `code` and points its integration at `url` with
    /// `secrets` and `options`: the installation's identifier.
    pub async fn install(
        &self,
        code: &str,
        url: String,
        secrets: &[(&str, &str)],
        options: &[(&str, &str)],
    ) -> relais_core::ids::InstallationId {
        install(
            &self.store,
            &self.sealer,
            self.base.id,
            self.admin,
            code,
            url,
            secrets,
            options,
        )
        .await
    }
}

/// Installs app `code` in `base` as `admin` and points its integration at
/// `url` with `secrets` and `options`: the installation's identifier.
#[allow(clippy::too_many_arguments)]
pub async fn install(
    store: &SharedStore,
    sealer: &relais_core::secret::Sealer,
    base: relais_core::ids::BaseId,
    admin: relais_core::ids::PersonId,
    code: &str,
    url: String,
    secrets: &[(&str, &str)],
    options: &[(&str, &str)],
) -> relais_core::ids::InstallationId {
    let (inst, _) = relais_app::install::install_app(
        store,
        sealer,
        &relais_sync::connectors::catalog(),
        base,
        &manifest(code),
        &relais_core::employee::Email::parse("tech@partner.test").unwrap(),
        admin,
    )
    .await
    .unwrap();
    let mut integration = store.get_integration(inst.id).await.unwrap();
    let connector = relais_sync::connectors::find(code).unwrap();
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    };
    integration
        .apply(
            connector.as_ref(),
            &relais_core::integration::IntegrationUpdate {
                partner_url: Some(url),
                secrets: owned(secrets),
                options: owned(options),
                ..relais_core::integration::IntegrationUpdate::default()
            },
            sealer,
            relais_core::now(),
        )
        .unwrap();
    store.put_integration(&integration).await.unwrap();
    inst.id
}

/// Where a benchmark's base lives.
pub enum Backend {
    /// relais's embedded SQLite file.
    Sqlite,
    /// A server URL (any database on it) and the database made for the run.
    Postgres {
        /// The server, as `RELAIS_BENCH_POSTGRES_URL` names it.
        server: String,
        /// The database made for the run.
        database: String,
    },
}

impl Backend {
    /// The backend's name, as the figures print it.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres { .. } => "PostgreSQL",
        }
    }

    /// The database URL `relais` is given (none: its embedded SQLite file).
    pub fn url(&self) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres { server, database } => {
                let (root, _) = server.rsplit_once('/').unwrap();
                Some(format!("{root}/{database}"))
            }
        }
    }

    /// A fresh PostgreSQL database on `server` for one run (`label` tells
    /// runs apart).
    pub async fn fresh_postgres(server: &str, label: &str) -> Backend {
        let database = format!("relais_bench_{}_{label}", std::process::id());
        let admin = sqlx::PgPool::connect(server).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {database}"))
            .execute(&admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        Backend::Postgres {
            server: server.to_owned(),
            database,
        }
    }

    /// Drops the run's database (nothing for SQLite: its folder goes).
    pub async fn drop(&self) {
        if let Backend::Postgres { server, database } = self {
            let admin = sqlx::PgPool::connect(server).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                .execute(&admin)
                .await;
            admin.close().await;
        }
    }
}

/// The PostgreSQL server a benchmark may make databases on
/// (`RELAIS_BENCH_POSTGRES_URL`, else `RELAIS_TEST_POSTGRES_URL`); says
/// so when there is none and `bench`'s PostgreSQL half is skipped.
pub fn postgres_server(bench: &str) -> Option<String> {
    let server = std::env::var("RELAIS_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("RELAIS_TEST_POSTGRES_URL"))
        .ok();
    if server.is_none() {
        println!("{bench}: PostgreSQL skipped: neither RELAIS_BENCH_POSTGRES_URL nor RELAIS_TEST_POSTGRES_URL is set");
    }
    server
}

/// An administrator who installs apps and manages keys: its identifier.
pub async fn admin(store: &SharedStore) -> relais_core::ids::PersonId {
    store
        .create_person(
            &relais_store::NewPerson {
                email: relais_core::employee::Email::parse("bench@relais.test").unwrap(),
                name: relais_core::org::Name::parse("name", "Bench").unwrap(),
                password_hash: "x".into(),
                can_admin_apps: true,
                can_manage_keys: true,
            },
            None,
        )
        .await
        .unwrap()
        .id
}

/// `GET url+path` with `key`, read as JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(
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
