//! End-to-end tests of the `relais` binary: real processes, a real SQLite file
//! (and PostgreSQL when `RELAIS_TEST_POSTGRES_URL` is set), real HTTP.

mod common;

use common::{relais, signed_in_get};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

fn run(dir: &Path, args: &[&str]) -> Output {
    relais(dir).args(args).output().expect("relais runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "relais {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail, and returns its one-line error.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(!out.status.success(), "relais {args:?} succeeded");
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<_> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one-line error expected, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_owned()
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    url: String,
    printed: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, args: &[&str]) -> Server {
    let mut child = relais(dir)
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Built before reading, so that the process is killed if reading fails.
    let mut server = Server {
        child,
        url: String::new(),
        printed: Vec::new(),
    };
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("relais printed its URL before exiting")
            .unwrap();
        server.printed.push(line.clone());
        if let Some(at) = line
            .find("http://")
            .filter(|_| line.starts_with("relais is serving"))
        {
            server.url = line[at..].trim_end_matches('/').to_owned();
            return server;
        }
    }
}

async fn get(url: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let resp = client.get(url).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn count_in(page: &str, base: &str, what: &str) -> i64 {
    let table = page
        .split(&format!("data-base=\"{base}\""))
        .nth(1)
        .expect("base on the page");
    let cell = table
        .split(&format!("data-count=\"{what}\">"))
        .nth(1)
        .expect("count on the page");
    cell.split('<').next().unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn serve_answers_health_counts_and_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["serve"]);
    ok(
        dir.path(),
        &[
            "people",
            "create",
            "--email",
            "hr@relais.test",
            "--name",
            "RH",
            "--password",
            "hr-password-1",
        ],
    );
    let (status, body) = get(&format!("{}/health", server.url)).await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "sqlite");
    // Signed out, the home page is the way to sign in: no counts for anyone.
    let anonymous = common::client()
        .get(format!("{}/", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert!(anonymous.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    assert!(!anonymous.text().await.unwrap().contains("data-count"));
    let (status, page) = signed_in_get(&server.url, "hr@relais.test", "hr-password-1", "/").await;
    assert_eq!(status, 200);
    assert_eq!(
        count_in(&page, "production", "active_employees"),
        0,
        "serve starts with an empty production base"
    );
    let (status, body) = get(&format!("{}/api/v3/nothing", server.url)).await;
    assert_eq!(status, 404);
    let err: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["error"]["code"], "not_found");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/api/v3/nothing"));
    assert!(
        dir.path().join("relais-data/relais.db").exists(),
        "the embedded database lives in ./relais-data"
    );
}

#[tokio::test]
async fn demo_seeds_once_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), &["demo", "--employees", "300"]);
    assert!(
        first.printed.iter().any(|l| l.contains("first start")),
        "{:?}",
        first.printed
    );
    assert!(
        first
            .printed
            .iter()
            .any(|l| l.contains("seeded base 'production'")),
        "{:?}",
        first.printed
    );
    let password = first
        .printed
        .iter()
        .find_map(|l| l.split("with the password ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .expect("the demo prints the administrator's password")
        .to_owned();
    let (_, page) = signed_in_get(&first.url, "admin@relais.demo", &password, "/").await;
    let total = |base: &str| {
        ["active_employees", "future_employees", "former_employees"]
            .iter()
            .map(|w| count_in(&page, base, w))
            .sum::<i64>()
    };
    assert_eq!(total("production"), 300);
    assert_eq!(
        total("test"),
        300,
        "the test base starts as a copy of production"
    );
    assert!(count_in(&page, "production", "leave_periods") > 1_000);
    drop(first);

    let second = start(dir.path(), &["demo", "--employees", "300"]);
    assert!(
        !second.printed.iter().any(|l| l.contains("first start")),
        "demo seeds only once"
    );
    let (_, page) = signed_in_get(&second.url, "admin@relais.demo", &password, "/").await;
    assert_eq!(
        count_in(&page, "production", "active_employees")
            + count_in(&page, "production", "future_employees")
            + count_in(&page, "production", "former_employees"),
        300
    );
}

/// The demo's log, left to its default, keeps the lines it starts with in
/// sight: no line for each API request (its Inside Online replica reads
/// every 5 s), and it says how to have them.
#[tokio::test]
async fn the_demo_log_leaves_request_lines_out_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = relais(dir.path())
        .env_remove("RELAIS_LOG")
        .args(["demo", "--employees", "80", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut printed = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            panic!("the demo stopped before serving: {printed:?}");
        };
        printed.push(line.clone());
        if let Some(at) = line
            .find("http://")
            .filter(|_| line.starts_with("relais is serving"))
        {
            break line[at..].trim_end_matches('/').to_owned();
        }
    };
    assert!(
        printed
            .iter()
            .any(|l| l
                .contains("request lines are left out of this log (RELAIS_LOG=info shows them)")),
        "{printed:?}"
    );
    // The replica's first catch-up, and requests of anyone's.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, _) = get(&format!("{url}/api/v3/users")).await;
    assert_eq!(status, 401);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("relais::access"), "{log}");
    assert!(
        log.contains("sync run started"),
        "the rest of the log is kept: {log}"
    );
}

#[test]
fn bases_are_created_seeded_listed_and_copied() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(
        ok(d, &["base", "create", "production", "--kind", "production"])
            .contains("created production base 'production'")
    );
    assert!(ok(d, &["base", "create", "test"]).contains("created test base 'test'"));
    let seeded = ok(
        d,
        &[
            "seed",
            "--base",
            "production",
            "--employees",
            "250",
            "--seed",
            "9",
            "--today",
            "2026-06-15",
        ],
    );
    assert!(seeded.contains("250 employees"), "{seeded}");
    let copied = ok(d, &["base", "copy", "--from", "production", "--to", "test"]);
    assert!(copied.contains("250 employees"), "{copied}");
    let list = ok(d, &["base", "list"]);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(rows[0][..3], ["production", "production", "250"]);
    assert_eq!(rows[1][..3], ["test", "test", "250"]);
    assert_eq!(rows[0][3..], rows[1][3..], "the copy holds the same data");
    // --replace wipes and reseeds.
    let again = ok(d, &["seed", "--employees", "40", "--replace"]);
    assert!(again.contains("40 employees"), "{again}");
}

#[test]
fn bad_input_gets_one_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "30"]);
    let before = ok(d, &["base", "list"]);

    let e = fails(d, &["seed", "--employees", "-5"]);
    assert!(e.contains("must be zero or more, got -5"), "{e}");
    let e = fails(d, &["seed", "--employees", "many"]);
    assert!(e.contains("'many' is not a whole number"), "{e}");
    let e = fails(d, &["seed", "--base", "staging", "--employees", "5"]);
    assert!(
        e.contains("base 'staging' does not exist; known bases: production"),
        "{e}"
    );
    let e = fails(d, &["seed", "--employees", "5"]);
    assert!(e.contains("already holds HR data"), "{e}");
    let e = fails(d, &["base", "create", "production"]);
    assert!(e.contains("already exists"), "{e}");
    let e = fails(d, &["base", "create", "Bad Name"]);
    assert!(e.contains("not a valid base name"), "{e}");
    let e = fails(d, &["base", "create", "x", "--kind", "staging"]);
    assert!(e.contains("'staging' is not a base kind"), "{e}");
    let e = fails(
        d,
        &["base", "copy", "--from", "production", "--to", "production"],
    );
    assert!(e.contains("only a test base can be refreshed"), "{e}");
    for listing in [
        &["people", "sign-ins", "--limit", "0"][..],
        &["keys", "audit", "1", "--limit", "-3"],
        &["sync", "runs", "1", "--limit", "10001"],
    ] {
        let e = fails(d, listing);
        assert!(
            e.contains("is not a number of lines from 1 to 10000"),
            "{e}"
        );
    }

    std::fs::File::create(d.join("relais.toml"))
        .unwrap()
        .write_all(b"listen = \"127.0.0.1:8080\"\ndatabse_url = \"x\"\n")
        .unwrap();
    let e = fails(d, &["--config", "relais.toml", "base", "list"]);
    assert!(
        e.contains("relais.toml: line 2, column 1") && e.contains("databse_url"),
        "{e}"
    );
    let e = fails(d, &["--config", "missing.toml", "base", "list"]);
    assert!(e.contains("cannot read config file missing.toml"), "{e}");
    // The help names every key the file takes, the newest included.
    let help = ok(d, &["--help"]);
    let config = help
        .split("--config <FILE>")
        .nth(1)
        .and_then(|rest| rest.split("[env: RELAIS_CONFIG").next())
        .unwrap_or_else(|| panic!("{help}"));
    for key in ["data_dir", "listen", "mail_from", "event_retention_days"] {
        assert!(config.contains(key), "{key} missing from: {config}");
    }
    assert!(config.contains("max_connections"), "{config}");
    let e = fails(
        d,
        &[
            "--database-url",
            "postgres://relais@127.0.0.1:1/relais",
            "base",
            "list",
        ],
    );
    assert!(
        e.contains("cannot open the database postgres://relais@127.0.0.1:1/relais")
            && e.contains("refused"),
        "{e}"
    );
    let e = fails(
        d,
        &[
            "--database-url",
            "postgres://relais:hunter2@127.0.0.1:1/relais",
            "base",
            "list",
        ],
    );
    assert!(
        !e.contains("hunter2") && e.contains("***"),
        "passwords never printed: {e}"
    );
    let e = fails(d, &["--database-url", "mysql://x/y", "base", "list"]);
    assert!(e.contains("'mysql' is not a supported database"), "{e}");

    assert_eq!(ok(d, &["base", "list"]), before, "nothing changed");
}

#[tokio::test]
async fn a_database_from_a_newer_relais_is_refused() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    let db = d.join("relais-data/relais.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (99991231000000, 'newer', CURRENT_TIMESTAMP, TRUE, x'00', 0)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let e = fails(d, &["base", "list"]);
    assert!(
        e.contains("schema is at version 99991231000000, newer than this relais supports"),
        "{e}"
    );
    let e = fails(d, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(e.contains("newer than this relais supports"), "{e}");
}

#[tokio::test]
async fn the_same_commands_work_on_postgres() {
    let Some(db) = relais_testkit::TestDb::postgres("relais cli").await else {
        return;
    };
    let url = db.url_text();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let with_db = |rest: &[&'static str]| -> Vec<&str> {
        let mut v = vec!["--database-url", url.as_str()];
        v.extend_from_slice(rest);
        v
    };
    ok(
        d,
        &with_db(&["base", "create", "production", "--kind", "production"]),
    );
    ok(d, &with_db(&["base", "create", "test"]));
    assert!(ok(d, &with_db(&["seed", "--employees", "300"])).contains("300 employees"));
    assert!(ok(d, &with_db(&["base", "copy"])).contains("300 employees"));
    ok(
        d,
        &with_db(&[
            "people",
            "create",
            "--email",
            "hr@relais.test",
            "--name",
            "RH",
            "--password",
            "hr-password-1",
        ]),
    );
    let server = start(d, &with_db(&["serve"]));
    let (status, body) = get(&format!("{}/health", server.url)).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"postgres\""), "{body}");
    let (_, page) = signed_in_get(&server.url, "hr@relais.test", "hr-password-1", "/").await;
    assert!(count_in(&page, "test", "leave_periods") > 1_000);
    assert!(
        !d.join("relais-data").join("relais.db").exists(),
        "no SQLite file when PostgreSQL is used"
    );
    assert!(
        d.join("relais-data").join("secret.key").exists(),
        "the master key sealing partner credentials is kept in the data folder"
    );
}

#[tokio::test]
async fn keys_are_created_listed_used_audited_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "60"]);
    let created = ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            "HappyPal",
            "--contact",
            "tech@happypal.fr",
            "--usage",
            "third-party",
            "--grant",
            "personnel-file:fields=firstName+lastName+mail+birthDate+dtContractStart+dtContractEnd",
        ],
    );
    let key = created.lines().nth(1).unwrap().trim().to_owned();
    assert!(key.starts_with("relais_"), "{created}");
    assert!(created.contains("only time the key is shown"));
    let list = ok(d, &["keys", "list"]);
    assert!(
        list.contains("HappyPal") && list.contains("third-party"),
        "{list}"
    );
    assert!(!list.contains(&key), "the secret is never listed");

    let server = start(d, &["serve"]);
    let client = reqwest::Client::new();
    let call = |k: String| {
        client
            .get(format!(
                "{}/api/v3/users?fields=id,firstName,jobTitle&paging=0,3",
                server.url
            ))
            .header("Authorization", format!("lucca application={k}"))
            .send()
    };
    let resp = call(key.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    let first = &body["data"]["items"][0];
    assert!(
        first.get("firstName").is_some() && first.get("jobTitle").is_none(),
        "{body}"
    );

    // The server writes its audit trail off the request's path, within a
    // fraction of a second: read by another process, it is there at once or
    // a moment later.
    let audit = relais_testkit::eventually(
        Duration::from_secs(5),
        "the request in the audit trail",
        || async {
            let audit = ok(d, &["keys", "audit", "1"]);
            audit.contains("3 employees").then_some(audit)
        },
    )
    .await;
    assert!(
        audit.contains("/api/v3/users?fields=id,firstName,jobTitle&paging=0,3")
            && audit.contains("3 employees"),
        "{audit}"
    );
    assert!(ok(d, &["keys", "revoke", "1"]).contains("revoked key 1"));
    assert_eq!(call(key).await.unwrap().status(), 401);

    let e = fails(
        d,
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--contact",
            "x@y.fr",
            "--grant",
            "read-everything",
        ],
    );
    assert!(e.contains("'read-everything' is not a grant"), "{e}");
    let e = fails(
        d,
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--contact",
            "not-an-email",
            "--grant",
            "all",
        ],
    );
    assert!(e.contains("not an e-mail address"), "{e}");
    let e = fails(d, &["keys", "revoke", "99"]);
    assert!(e.contains("API key 99 does not exist"), "{e}");
}

/// Output piped into a reader that stopped (`relais … | head -1`) ends the
/// command quietly: no panic, no error, success.
#[test]
fn a_closed_pipe_is_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "5"]);
    for _ in 0..3 {
        let mut child = relais(d)
            .args(["keys", "list"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before relais writes a line.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.status.success(), "{:?}: {err}", out.status);
    }
}

/// At info level each request leaves one access-log line, as JSON on
/// request: method, path (never the query), status, duration, who asked;
/// never the key itself.
#[tokio::test]
async fn requests_leave_a_structured_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "5"]);
    let created = ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            "log-test",
            "--contact",
            "a@b.fr",
            "--grant",
            "organisation",
        ],
    );
    let key = created.lines().nth(1).unwrap().trim().to_owned();
    let mut child = relais(d)
        .env("RELAIS_LOG", "info")
        .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("relais is serving"))
        .unwrap();
    let url = line[line.find("http://").unwrap()..]
        .trim_end_matches('/')
        .to_owned();
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{url}/api/v3/departments?name=secret-filter"))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{url}/api/v3/users"))
        .header("Authorization", "Bearer relais_000000000000_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let access: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "relais::access")
        .collect();
    assert_eq!(access.len(), 2, "{log}");
    assert_eq!(access[0]["path"], "/api/v3/departments");
    assert_eq!(access[0]["status"], 200);
    assert_eq!(access[0]["method"], "GET");
    assert!(
        access[0]["actor"].as_str().unwrap().starts_with("key:"),
        "{}",
        access[0]
    );
    assert!(access[0]["duration_ms"].is_string() || access[0]["duration_ms"].is_number());
    assert_eq!(
        (access[1]["status"].clone(), access[1]["actor"].clone()),
        (401.into(), "-".into())
    );
    assert!(
        !log.contains(&key) && !log.contains("secret-filter") && !log.contains("nope"),
        "{log}"
    );
}

/// The audit trail is written off the requests' path: a clean shutdown
/// (SIGTERM) loses none of the requests answered, and a process killed at
/// once (`kill -9`) loses none answered more than a fraction of a second
/// before (here: 300 requests from 8 clients, then 250 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_survives_a_shutdown_and_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "20"]);
    let created = ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            "Audit",
            "--contact",
            "a@relais.test",
            "--grant",
            "organisation",
            "--rate-limit",
            "1000000",
        ],
    );
    let key = created.lines().nth(1).unwrap().trim().to_owned();
    let audited = |d: &Path| {
        ok(d, &["keys", "audit", "1", "--limit", "10000"])
            .lines()
            .filter(|l| l.contains("/api/v3/departments"))
            .count()
    };
    let burst = |url: String, key: String| async move {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (client, url, key) = (client.clone(), url.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..300 / 8 {
                    let status = client
                        .get(format!("{url}/api/v3/departments?fields=id"))
                        .header("Authorization", format!("Bearer {key}"))
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert_eq!(status, 200);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        (300 / 8) * 8
    };

    // A clean shutdown writes everything answered.
    let mut server = start(d, &["serve"]);
    let sent = burst(server.url.clone(), key.clone()).await;
    let pid = server.child.id();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.child.wait().unwrap();
    assert_eq!(audited(d), sent);

    // Killed at once, a quarter of a second after the last answer: nothing lost.
    let server = start(d, &["serve"]);
    let more = burst(server.url.clone(), key.clone()).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let status = std::process::Command::new("kill")
        .args(["-KILL", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    drop(server);
    assert_eq!(audited(d), sent + more);
}

/// Every write of the command line is in the change feed, said to be the
/// command line's: a seed creates each record, a base copy deletes what the
/// test base held and creates each copied record there (its source
/// unchanged), and a reseed with `--replace` deletes then creates.
#[tokio::test]
async fn the_command_line_writes_its_changes_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["base", "create", "test"]);
    ok(d, &["seed", "--employees", "25", "--seed", "3"]);
    ok(d, &["base", "copy", "--from", "production", "--to", "test"]);
    let key = |base: &str| {
        let created = ok(
            d,
            &[
                "keys",
                "create",
                "--base",
                base,
                "--name",
                "feed",
                "--contact",
                "it@relais.test",
                "--grant",
                "all",
            ],
        );
        created.lines().nth(1).unwrap().trim().to_owned()
    };
    let (production, test) = (key("production"), key("test"));
    let server = start(d, &["serve"]);
    let client = reqwest::Client::new();
    let feed = |key: String| {
        let (client, url) = (client.clone(), server.url.clone());
        async move {
            let mut topics: std::collections::BTreeMap<String, usize> = Default::default();
            let mut sources = std::collections::BTreeSet::new();
            let mut after = 0;
            loop {
                let body: serde_json::Value = client
                    .get(format!("{url}/api/relais/events?after={after}&limit=1000"))
                    .header("Authorization", format!("Bearer {key}"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for e in body["data"]["items"].as_array().unwrap() {
                    *topics
                        .entry(e["topic"].as_str().unwrap().to_owned())
                        .or_default() += 1;
                    sources.insert(e["source"].as_str().unwrap().to_owned());
                }
                after = body["data"]["next"].as_i64().unwrap();
                if body["data"]["hasMore"] != true {
                    return (topics, sources);
                }
            }
        }
    };
    let (seeded, by) = feed(production.clone()).await;
    assert_eq!(seeded.get("employee.created"), Some(&25), "{seeded:?}");
    assert!(
        seeded.get("leave.created").is_some_and(|n| *n > 0),
        "{seeded:?}"
    );
    assert!(
        seeded
            .get("expense-claim-item.created")
            .is_some_and(|n| *n > 0),
        "{seeded:?}"
    );
    // One event a record written: as many as `base list` counts.
    let listed = ok(d, &["base", "list"]);
    let row: Vec<usize> = listed
        .lines()
        .find(|l| l.starts_with("production "))
        .unwrap()
        .split_whitespace()
        .skip(2)
        .map(|n| n.parse().unwrap())
        .collect();
    let [employees, _, _, _, absences, claims] = row[..] else {
        panic!("{listed}")
    };
    assert_eq!(
        (
            seeded.get("employee.created"),
            seeded.get("leave.created"),
            seeded.get("expense-claim.created")
        ),
        (Some(&employees), Some(&absences), Some(&claims)),
        "{listed}"
    );
    // Seeding creates records, then names each department's head.
    assert_eq!(
        seeded.get("department.updated"),
        seeded.get("department.created")
    );
    let created: std::collections::BTreeMap<String, usize> = seeded
        .iter()
        .filter(|(t, _)| t.ends_with(".created"))
        .map(|(t, n)| (t.clone(), *n))
        .collect();
    assert_eq!(created.len() + 1, seeded.len(), "{seeded:?}");
    assert_eq!(by, ["cli".to_owned()].into());
    let (copied, by) = feed(test.clone()).await;
    assert_eq!(
        copied, created,
        "the copy creates what the source holds, once each"
    );
    assert_eq!(by, ["cli".to_owned()].into());
    drop(server);
    ok(d, &["seed", "--employees", "10", "--replace"]);
    let server = start(d, &["serve"]);
    let feed = |key: String| {
        let (client, url) = (client.clone(), server.url.clone());
        async move {
            let body: serde_json::Value = client
                .get(format!(
                    "{url}/api/relais/events?after=0&limit=1000&topics=employee.*"
                ))
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["data"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["topic"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let topics = feed(production).await;
    let count = |t: &str| topics.iter().filter(|x| *x == t).count();
    assert_eq!(
        (count("employee.created"), count("employee.deleted")),
        (35, 25),
        "{topics:?}"
    );
}

/// `relais backup` copies the SQLite database while a server runs on it:
/// the copy opens as the same bases, a second backup refuses to overwrite
/// the first, and a PostgreSQL database is sent to pg_dump.
#[tokio::test]
async fn a_backup_is_taken_while_serving_and_opens_as_the_same_bases() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "40"]);
    let server = start(d, &["serve"]);
    // A write from another process while the server holds the file open.
    ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            "Paie",
            "--contact",
            "it@relais.test",
            "--grant",
            "all",
        ],
    );
    let copy = d.join("copy.db");
    let said = ok(d, &["backup", copy.to_str().unwrap()]);
    assert!(said.contains("checked"), "{said}");
    assert!(said.contains("secret.key"), "{said}");
    let (status, _) = get(&format!("{}/health", server.url)).await;
    assert_eq!(status, 200, "the server goes on serving");
    let copied = format!("sqlite://{}", copy.display());
    assert_eq!(
        ok(d, &["--database-url", &copied, "base", "list"]),
        ok(d, &["base", "list"])
    );
    assert!(ok(d, &["--database-url", &copied, "keys", "list"]).contains("Paie"));
    let again = fails(d, &["backup", copy.to_str().unwrap()]);
    assert!(again.contains("already exists"), "{again}");
    let nowhere = d.join("missing").join("copy.db");
    let e = fails(d, &["backup", nowhere.to_str().unwrap()]);
    assert!(e.contains("missing does not exist"), "{e}");
    assert!(!nowhere.exists());
    let on_postgres = fails(
        d,
        &[
            "--database-url",
            "postgres://nobody@127.0.0.1:1/relais",
            "backup",
            "elsewhere.db",
        ],
    );
    assert!(on_postgres.contains("pg_dump"), "{on_postgres}");
    assert!(!d.join("elsewhere.db").exists());
}
