//! A fresh database per test, on SQLite or PostgreSQL, gone when the test
//! is done.
//!
//! PostgreSQL tests run when `RELAIS_TEST_POSTGRES_URL` names a server
//! (the URL of a database that exists, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`); without it they are
//! skipped, saying so. Each test gets a database of its own, named after the
//! test process (`relais_t_<pid>_<random>`), dropped when its [`TestDb`] is;
//! databases left by a test process that was killed are dropped by the next
//! one.

use relais_store::{DatabaseUrl, SharedStore};
use sqlx::Connection;
use std::io::Write as _;
use std::sync::Once;

/// The variable naming the PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VARIABLE: &str = "RELAIS_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in a temporary folder.
    Sqlite,
    /// A database of its own on the server of `RELAIS_TEST_POSTGRES_URL`.
    Postgres,
}

/// A fresh, empty database of a test, dropped (PostgreSQL) or deleted
/// (SQLite) when this is.
pub struct TestDb {
    url: DatabaseUrl,
    folder: tempfile::TempDir,
    #[allow(dead_code)] // held for its Drop
    postgres: Option<Dropped>,
}

impl TestDb {
    /// A database on `backend`, or `None` when PostgreSQL is asked for and
    /// `RELAIS_TEST_POSTGRES_URL` is not set (said once per process, naming
    /// the `suite` whose tests are skipped).
    pub async fn new(backend: Backend, suite: &str) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite()),
            Backend::Postgres => TestDb::postgres(suite).await,
        }
    }

    /// An SQLite database in a temporary folder.
    pub fn sqlite() -> TestDb {
        crate::clock::fix();
        let folder = tempfile::tempdir().expect("a temporary folder");
        TestDb {
            url: DatabaseUrl::Sqlite(folder.path().join("relais.db")),
            folder,
            postgres: None,
        }
    }

    /// A database of its own on the PostgreSQL server tests use, or `None`
    /// (see [`TestDb::new`]).
    pub async fn postgres(suite: &str) -> Option<TestDb> {
        crate::clock::fix();
        let Ok(admin) = std::env::var(POSTGRES_URL_VARIABLE) else {
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                // Past the test harness's capture, so that every run shows it.
                let _ = writeln!(
                    std::io::stderr(),
                    "{suite}: PostgreSQL tests skipped: {POSTGRES_URL_VARIABLE} is not set"
                );
            });
            return None;
        };
        let mut connection = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!("{POSTGRES_URL_VARIABLE} is set but its server does not answer: {e}")
            });
        static SWEEP: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        SWEEP.get_or_init(|| drop_abandoned(&mut connection)).await;
        let name = format!(
            "{PREFIX}{}_{:012x}",
            std::process::id(),
            fastrand::u64(..1 << 48)
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("creating the test database {name}: {e}"));
        let _ = connection.close().await;
        let (server, _) = admin
            .rsplit_once('/')
            .unwrap_or_else(|| panic!("{POSTGRES_URL_VARIABLE} must end with a database name"));
        Some(TestDb {
            url: DatabaseUrl::Postgres(format!("{server}/{name}")),
            folder: tempfile::tempdir().expect("a temporary folder"),
            postgres: Some(Dropped { admin, name }),
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The database's URL as a `relais --database-url` takes it.
    pub fn url_text(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match self.url {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// A temporary folder that lives as long as the database (for files a
    /// test writes beside it).
    pub fn folder(&self) -> &std::path::Path {
        self.folder.path()
    }

    /// Opens the database as relais's store (applying its migrations).
    pub async fn open(&self) -> SharedStore {
        relais_store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("opening the test database {:?}: {e}", self.url))
    }
}

/// What test databases are named: `relais_t_<pid>_<random>`.
const PREFIX: &str = "relais_t_";

/// A PostgreSQL test database, dropped when this is.
struct Dropped {
    admin: String,
    name: String,
}

impl Drop for Dropped {
    fn drop(&mut self) {
        // Dropped from a thread of its own: a test's runtime may be the one
        // calling, and cannot wait on itself.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&admin)
                    .await
                    .map_err(|e| e.to_string())?;
                drop_database(&mut connection, &name).await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            let _ = writeln!(
                std::io::stderr(),
                "the test database {} could not be dropped: {e}",
                self.name
            );
        }
    }
}

/// Drops database `name`, closing whatever connections it still has.
async fn drop_database(connection: &mut sqlx::PgConnection, name: &str) -> Result<(), String> {
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(connection)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Drops the test databases of test processes that no longer run (killed
/// before they could drop theirs). Only where processes can be looked up
/// (`/proc`); the names of earlier test suites' databases count too.
async fn drop_abandoned(connection: &mut sqlx::PgConnection) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname ~ '^relais_(t|api|cli)_[0-9]+_[0-9a-f]+$'",
    )
    .fetch_all(&mut *connection)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).unwrap_or_default();
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = drop_database(connection, &name).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exists(admin: &str, name: &str) -> bool {
        let mut connection = sqlx::PgConnection::connect(admin).await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut connection)
            .await
            .unwrap()
            == 1
    }

    #[tokio::test]
    async fn a_postgres_test_database_drops_itself_even_while_open() {
        let Some(db) = TestDb::postgres("relais-testkit").await else {
            return;
        };
        let admin = std::env::var(POSTGRES_URL_VARIABLE).unwrap();
        let name = db.postgres.as_ref().unwrap().name.clone();
        assert!(name.starts_with(PREFIX), "{name}");
        let store = db.open().await;
        assert!(store.list_bases().await.unwrap().is_empty());
        assert!(exists(&admin, &name).await);
        drop(db);
        assert!(!exists(&admin, &name).await, "{name} is still there");
    }

    #[tokio::test]
    async fn databases_of_processes_gone_are_dropped() {
        let Ok(admin) = std::env::var(POSTGRES_URL_VARIABLE) else {
            return;
        };
        let mut connection = sqlx::PgConnection::connect(&admin).await.unwrap();
        // No process has this number (pid_max is at most 2^22).
        let abandoned = format!("relais_t_99999999_{:012x}", fastrand::u64(..1 << 48));
        sqlx::query(&format!("CREATE DATABASE {abandoned}"))
            .execute(&mut connection)
            .await
            .unwrap();
        let ours = TestDb::postgres("relais-testkit").await.unwrap();
        drop_abandoned(&mut connection).await;
        assert!(!exists(&admin, &abandoned).await);
        assert!(exists(&admin, &ours.postgres.as_ref().unwrap().name).await);
    }

    #[tokio::test]
    async fn a_sqlite_test_database_is_deleted_with_its_folder() {
        let db = TestDb::sqlite();
        let store = db.open().await;
        assert!(store.list_bases().await.unwrap().is_empty());
        let DatabaseUrl::Sqlite(path) = db.url().clone() else {
            unreachable!()
        };
        assert!(path.exists());
        drop(store);
        drop(db);
        assert!(!path.exists());
    }
}
