//! API walk benchmark: `cargo bench -p relais --bench api_walk [-- EMPLOYEES...]`.
//!
//! For each base size (10,000 and 100,000 employees by default) and each
//! backend (SQLite; PostgreSQL too when `RELAIS_BENCH_POSTGRES_URL` or
//! `RELAIS_TEST_POSTGRES_URL` names a server the benchmark may create a
//! database on): seeds a fresh base with the `relais` binary, starts
//! `relais serve`, and compares, in the same run:
//! - the **walk**: `/api/v3/users` with 15 fields and `collection.count`,
//!   pages of 1,000 to the end over one keep-alive connection, all grants,
//!   each page timed from its request to its last byte (as `curl` times
//!   it; the benchmark's own reading of the JSON is left out, as the
//!   floor's output is not read back either — `walk+read` is the walk with
//!   that reading);
//! - the **floor**: the same columns of the same rows read straight from the
//!   database and written as JSON, with no API around it — the faster of the
//!   driver's rows serialised by serde_json and the database's own JSON
//!   (`json_group_array` / `json_agg`) read as one value;
//!
//! each the best of three, and prints both and their ratio, what the count
//! costs a page once known (pages with and without `collection.count`), and
//! the server's peak memory (VmHWM). On SQLite it then walks
//! `/api/v3/leaves` (every leave since 2000, pages of 250) and
//! `/api/v3/expenseClaimItems` (pages of 1,000) and prints per-page median
//! and p99 latency and the median of the first and of the last tenth of the
//! pages (a deep page should cost what the first one does).

mod common;

use common::{peak_kib, percentile, Backend};
use std::path::Path;
use std::time::{Duration, Instant};

const FIELDS: &str = "id,name,firstName,lastName,mail,login,employeeNumber,birthDate,dtContractStart,dtContractEnd,jobTitle,departmentId,legalEntityId,managerId,modifiedAt";

/// How many times each measure is taken (the best one is kept).
const TRIES: usize = 3;

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

/// One row of the floor, as the API names its fields.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FloorUser {
    id: i64,
    name: String,
    first_name: String,
    last_name: String,
    mail: String,
    login: String,
    employee_number: String,
    birth_date: Option<chrono::NaiveDate>,
    dt_contract_start: chrono::NaiveDate,
    dt_contract_end: Option<chrono::NaiveDate>,
    job_title: Option<String>,
    department_id: Option<i64>,
    legal_entity_id: i64,
    manager_id: Option<i64>,
    modified_at: chrono::DateTime<chrono::Utc>,
}

const FLOOR_COLUMNS: &str = "id, first_name, last_name, mail, login, employee_number, birth_date, \
    contract_start, contract_end, job_title, department_id, establishment_id, manager_id, modified_at";

/// The rows an all-grants key walks: current and future employees of base 1.
const FLOOR_WHERE: &str = "base_id = 1 AND (contract_end IS NULL OR contract_end >= $1)";

/// Reads the floor's rows through the driver and writes them as JSON; and
/// has the database write them as JSON itself. Returns (rows, bytes) of each.
macro_rules! floor_reads {
    ($pool:expr, $db:ty, $json_sql:expr) => {{
        use futures_util::TryStreamExt;
        let today = chrono::Utc::now().date_naive();
        let sql = format!("SELECT {FLOOR_COLUMNS} FROM employees WHERE {FLOOR_WHERE} ORDER BY id");
        let started = Instant::now();
        let mut out = Vec::with_capacity(1 << 20);
        let mut rows = sqlx::query_as::<
            $db,
            (
                i64,
                String,
                String,
                String,
                String,
                String,
                Option<chrono::NaiveDate>,
                chrono::NaiveDate,
                Option<chrono::NaiveDate>,
                Option<String>,
                Option<i64>,
                i64,
                Option<i64>,
                chrono::DateTime<chrono::Utc>,
            ),
        >(&sql)
        .bind(today)
        .fetch($pool);
        let mut n = 0usize;
        let mut bytes = 0usize;
        out.push(b'[');
        while let Some(r) = rows.try_next().await.unwrap() {
            if n > 0 {
                out.push(b',');
            }
            serde_json::to_writer(
                &mut out,
                &FloorUser {
                    id: r.0,
                    name: format!("{} {}", r.1, r.2),
                    first_name: r.1,
                    last_name: r.2,
                    mail: r.3,
                    login: r.4,
                    employee_number: r.5,
                    birth_date: r.6,
                    dt_contract_start: r.7,
                    dt_contract_end: r.8,
                    job_title: r.9,
                    department_id: r.10,
                    legal_entity_id: r.11,
                    manager_id: r.12,
                    modified_at: r.13,
                },
            )
            .unwrap();
            n += 1;
            // Written out as a server would, a page at a time.
            if out.len() > 1 << 20 {
                bytes += out.len();
                out.clear();
            }
        }
        out.push(b']');
        bytes += out.len();
        let driver = (started.elapsed(), n, bytes);
        let started = Instant::now();
        let json: String = sqlx::query_scalar::<$db, String>(&$json_sql)
            .bind(today)
            .fetch_one($pool)
            .await
            .unwrap();
        let database = (started.elapsed(), json.len());
        (driver, database)
    }};
}

/// The floor on this backend: (time, rows) of the faster raw read.
async fn floor(dir: &Path, backend: &Backend) -> (Duration, usize, &'static str) {
    let object = "'id', id, 'name', first_name || ' ' || last_name, 'firstName', first_name, \
        'lastName', last_name, 'mail', mail, 'login', login, 'employeeNumber', employee_number, \
        'birthDate', birth_date, 'dtContractStart', contract_start, 'dtContractEnd', contract_end, \
        'jobTitle', job_title, 'departmentId', department_id, 'legalEntityId', establishment_id, \
        'managerId', manager_id, 'modifiedAt', modified_at";
    let ((driver, rows, _), (database, _)) = match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                dir.join("relais-data/relais.db").display()
            ))
            .await
            .unwrap();
            let json_sql = format!(
                "SELECT json_group_array(json_object({object})) FROM \
                 (SELECT * FROM employees WHERE {FLOOR_WHERE} ORDER BY id)"
            );
            let r = floor_reads!(&pool, sqlx::Sqlite, json_sql);
            pool.close().await;
            r
        }
        Backend::Postgres { .. } => {
            let pool = sqlx::PgPool::connect(&backend.url().unwrap())
                .await
                .unwrap();
            let json_sql = format!(
                "SELECT json_agg(json_build_object({object}) ORDER BY id)::text FROM employees \
                 WHERE {FLOOR_WHERE}"
            );
            let r = floor_reads!(&pool, sqlx::Postgres, json_sql);
            pool.close().await;
            r
        }
    };
    if driver <= database {
        (driver, rows, "driver rows + serde_json")
    } else {
        (database, rows, "database's own JSON")
    }
}

/// Walks the users to the end; returns the time, the time with the
/// client's reading of each page's JSON, the rows and each page's time.
///
/// A page's time runs from its request to the last byte of its answer, as
/// `curl` would time it: the client's own reading of the JSON (checked and
/// counted after the clock stops) is no more part of the walk than the
/// floor's output is read back.
async fn walk_users(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    count: bool,
) -> (Duration, Duration, usize, Vec<Duration>) {
    let path = format!(
        "/api/v3/users?fields={FIELDS}{}",
        if count { ",collection.count" } else { "" }
    );
    let mut pages = Vec::new();
    let (mut offset, mut seen) = (0usize, 0usize);
    let started = Instant::now();
    loop {
        let t = Instant::now();
        let bytes = get_bytes(client, url, key, &format!("{path}&paging={offset},1000")).await;
        pages.push(t.elapsed());
        let body: Body = serde_json::from_slice(bytes.as_ref()).unwrap();
        let n = body.data.items.len();
        seen += n;
        offset += 1000;
        let done = match body.data.count {
            Some(total) => offset as u64 >= total,
            None => n < 1000,
        };
        if n == 0 || done {
            break;
        }
    }
    (pages.iter().sum(), started.elapsed(), seen, pages)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(d: &[Duration]) -> Duration {
    let mut d = d.to_vec();
    d.sort();
    percentile(&d, 0.5)
}

/// One line of the walk-against-floor table.
struct Line {
    backend: &'static str,
    employees: u32,
    seeded: Duration,
    rows: usize,
    walk: Duration,
    walk_read: Duration,
    floor: Duration,
    floor_kind: &'static str,
    page_counted: Duration,
    page_uncounted: Duration,
    first_count: Duration,
    peak_mib: f64,
}

async fn users_against_floor(employees: u32, backend: &Backend, leaves_too: bool) -> Line {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url_env = backend.url();
    let (seeded, key) = common::seeded_base_at(d, employees, url_env.as_deref());
    let (mut server, url) = common::serve_at(d, url_env.as_deref());
    let client = reqwest::Client::new();
    let mut best_walk = Duration::MAX;
    let mut best_read = Duration::MAX;
    let mut rows = 0;
    let mut counted = Vec::new();
    let mut first_count = Duration::MAX;
    for _ in 0..TRIES {
        let (t, read, n, pages) = walk_users(&client, &url, &key, true).await;
        best_walk = best_walk.min(t);
        best_read = best_read.min(read);
        rows = n;
        first_count = first_count.min(pages[0]);
        counted.extend_from_slice(&pages[1..]);
    }
    let mut uncounted = Vec::new();
    for _ in 0..TRIES {
        let (_, _, n, pages) = walk_users(&client, &url, &key, false).await;
        assert_eq!(n, rows, "the same rows with and without the count");
        uncounted.extend_from_slice(&pages[1..]);
    }
    let mut best_floor = Duration::MAX;
    let mut floor_kind = "";
    for _ in 0..TRIES {
        let (t, n, kind) = floor(d, backend).await;
        assert_eq!(n, rows, "the floor reads the rows the walk read");
        if t < best_floor {
            best_floor = t;
            floor_kind = kind;
        }
    }
    if leaves_too {
        other_walks(&client, &url, &key, employees).await;
    }
    let peak = peak_kib(server.id()).unwrap_or(0);
    let _ = server.kill();
    let _ = server.wait();
    Line {
        backend: backend.name(),
        employees,
        seeded,
        rows,
        walk: best_walk,
        walk_read: best_read,
        floor: best_floor,
        floor_kind,
        page_counted: median(&counted),
        page_uncounted: median(&uncounted),
        first_count,
        peak_mib: peak as f64 / 1024.0,
    }
}

/// The leaves and expense items walks (SQLite).
async fn other_walks(client: &reqwest::Client, url: &str, key: &str, employees: u32) {
    // Every establishment, for the owner filter the leaves endpoint needs.
    let establishments: Vec<String> = {
        let v: serde_json::Value =
            common::get_json(client, url, key, "/api/v3/legalentities?fields=id").await;
        v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].to_string())
            .collect()
    };
    let lists: [(&str, String, usize); 2] = [
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
    for (name, path, size) in lists {
        let mut pages = Vec::new();
        let mut offset = 0usize;
        let started = Instant::now();
        let mut seen = 0usize;
        loop {
            let t = Instant::now();
            let body: Body =
                common::get_json(client, url, key, &format!("{path}&paging={offset},{size}")).await;
            pages.push(t.elapsed());
            let n = body.data.items.len();
            let count = body.data.count.unwrap_or(0) as usize;
            seen += n;
            offset += size;
            if n == 0 || offset >= count {
                break;
            }
        }
        walks.push((name, size, seen, pages, started.elapsed()));
    }
    println!("  {employees} employees, SQLite: other lists walked to the end, count on every page");
    println!(
        "  {:<14} {:>8} {:>6} {:>11} {:>11} {:>13} {:>13} {:>9}",
        "list", "records", "pages", "median", "p99", "first tenth", "last tenth", "total"
    );
    for (name, size, seen, pages, total) in walks {
        let mut sorted = pages.clone();
        sorted.sort();
        let tenth = (pages.len() / 10).max(1);
        println!(
            "  {:<14} {:>8} {:>6} {:>8.1} ms {:>8.1} ms {:>10.1} ms {:>10.1} ms {:>7.2} s   (pages of {size})",
            name,
            seen,
            pages.len(),
            ms(percentile(&sorted, 0.5)),
            ms(percentile(&sorted, 0.99)),
            ms(median(&pages[..tenth])),
            ms(median(&pages[pages.len() - tenth..])),
            total.as_secs_f64()
        );
    }
}

/// GETs `path` with the key and reads its JSON answer.
/// The answer's body, as bytes.
async fn get_bytes(client: &reqwest::Client, url: &str, key: &str, path: &str) -> impl AsRef<[u8]> {
    let answer = client
        .get(format!("{url}{path}"))
        .header("Authorization", format!("lucca application={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    answer.bytes().await.unwrap()
}

fn main() {
    let postgres = common::postgres_server("api walk");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut lines = Vec::new();
    for n in common::sizes(&[10_000, 100_000]) {
        lines.push(runtime.block_on(users_against_floor(n, &Backend::Sqlite, true)));
        if let Some(server) = &postgres {
            let backend = runtime.block_on(Backend::fresh_postgres(server, &format!("walk_{n}")));
            lines.push(runtime.block_on(users_against_floor(n, &backend, false)));
            runtime.block_on(backend.drop());
        }
    }
    println!();
    println!("api walk: /api/v3/users, {FIELDS}, pages of 1,000 with collection.count, against the floor (best of {TRIES})");
    println!(
        "  {:<10} {:>9} {:>8} {:>8} {:>9} {:>9} {:>6} {:>10}  {:>26} {:>10} {:>12} {:>10} {:>9}",
        "backend",
        "employees",
        "seeded",
        "rows",
        "walk",
        "floor",
        "ratio",
        "walk+read",
        "floor read as",
        "1st page",
        "page+count",
        "page",
        "peak"
    );
    for l in &lines {
        println!(
            "  {:<10} {:>9} {:>6.1} s {:>8} {:>7.2} s {:>7.2} s {:>5.2}× {:>8.2} s  {:>26} {:>7.1} ms {:>9.1} ms {:>7.1} ms {:>5.1} MiB",
            l.backend,
            l.employees,
            l.seeded.as_secs_f64(),
            l.rows,
            l.walk.as_secs_f64(),
            l.floor.as_secs_f64(),
            l.walk.as_secs_f64() / l.floor.as_secs_f64(),
            l.walk_read.as_secs_f64(),
            l.floor_kind,
            ms(l.first_count),
            ms(l.page_counted),
            ms(l.page_uncounted),
            l.peak_mib,
        );
    }
}
