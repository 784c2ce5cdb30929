//! The embedded backend: one SQLite file in the data directory.

use crate::dialect::Dialect;
use crate::{Result, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

crate::handles::store_type!(
    /// The HR base in an SQLite file.
    SqliteStore,
    sqlx::Sqlite
);

/// Rows an answer may hold in flight between SQLite's thread and its reader:
/// more than the largest page.
const ROW_CHANNEL: usize = 4_096;

/// How often the write-ahead log is copied into the database file beside
/// the writer (see `copy_log_aside`).
const LOG_COPY_EVERY: Duration = Duration::from_millis(100);

/// The pages SQLite's write-ahead log holds before the writer copies it
/// into the database file itself, in the commit that takes it past them
/// (SQLite's `wal_autocheckpoint`; its default is 1,000), some 40 MiB.
///
/// The copies made beside the writer every [`LOG_COPY_EVERY`] never catch
/// up with a writer that keeps writing, so only the writer's own copy
/// starts the log over: without it the log grows as long as the writes go
/// on. That copy finds most pages copied already, but still syncs the log
/// and the file to disk while every write waits, a few milliseconds; at
/// 10,000 pages it comes a tenth as often as at 1,000. Under 1,000 updates
/// a second without webhooks, the writes' p99 was 4.3 to 6.3 ms with the
/// writer copying past 1,000 pages, 2.9 to 4.6 ms past 10,000
/// (`docs/performance.md`, « The writer copies the log a tenth as often »).
const WRITER_COPIES_PAST: u32 = 10_000;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Connections reads may hold at once, kept between statements (see
/// [`crate::kept`]): one per part of a large page (see
/// `crate::sql::PART_ROWS`). The pool holds two more, for the log's copies
/// and the event watcher, which take theirs from the pool.
const READERS: usize = 8;

impl Dialect for SqliteStore {
    const BACKEND: &'static str = "sqlite";

    const PRODUCT: &'static str = "SQLite";

    /// Write transactions take SQLite's write lock at once, so that waiting
    /// for another writer goes through the busy timeout instead of failing
    /// when a read would have to be upgraded.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";

    /// SQLite builds a part's JSON on its connection's thread while the
    /// runtime's threads read and convert the parts already built.
    const PARTS_FROM: u32 = 400;

    /// The driver hands rows from SQLite's thread to the request's one at a
    /// time, and that handing over (a thread wake-up every few rows) cost
    /// more than reading the rows; one value per page costs one.
    const PACKED_PAGES: bool = true;

    /// SQLite plans each statement as it is prepared, from the table as it
    /// is: no size to settle.
    const PLANNER_SIZE: Option<(&'static str, &'static str)> = None;

    /// One writer at a time already: no lock to take.
    const ADVISORY_LOCK: Option<&'static str> = None;

    /// The writer's statements run wherever they are polled, from `BEGIN`
    /// to `COMMIT`, with no thread to wait for.
    const WRITES_WHERE_CALLED: bool = true;

    /// A mark in `bulk_writes`, which the version triggers look for.
    const BULK_WRITE: (&'static str, &'static str) = (
        "INSERT INTO bulk_writes (active) VALUES (1)",
        "DELETE FROM bulk_writes",
    );

    /// The one row of `write_context` (row 1), replaced in one statement
    /// (SQLite writes one transaction at a time).
    const WRITE_CONTEXT: &'static str =
        "INSERT OR REPLACE INTO write_context (rowid, source, at) VALUES (1, $1, $2)";

    /// Events are numbered across bases, in the order SQLite's one writer
    /// commits them (`$1`, the base, needs no look: every number up to the
    /// latest is committed).
    const LAST_EVENT: &'static str =
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) + 0 * $1";

    /// Nothing: SQLite numbers events as they are written, one writer at a
    /// time.
    const NUMBER_EVENTS: Option<&'static str> = None;

    /// The base (one writer at a time, one row per base).
    const VERSIONS_KEY: &'static str = "base_id";

    /// SQLite's row number.
    const ROW_KEY: &'static str = "rowid";

    /// A bulk insert's statement journals (the pages each multi-row insert
    /// changes, kept so that the statement alone can be undone) are kept in
    /// memory rather than in a temporary file: written there, they took a
    /// third of a seed's time in `pwrite` calls. A statement journal holds
    /// only the pages its one statement changes (a few hundred rows), and
    /// the setting, read when the transaction begins, is set back after it.
    const BULK_JOURNAL: Option<(&'static str, &'static str)> =
        Some(("PRAGMA temp_store = MEMORY", "PRAGMA temp_store = DEFAULT"));

    /// SQLite's triggers run once a row: inside a bulk write (marked in
    /// `bulk_writes`) the insert triggers stand aside, and the rows'
    /// events are written from the table's `{table}_created_events` view,
    /// one statement a table, after the rows' own (see the
    /// `bulk_created_events` migration). A table's new rows are the ones
    /// past its largest rowid before the insert.
    const BULK_CREATED_EVENTS: Option<(&'static str, &'static str)> = Some((
        "SELECT COALESCE(MAX(rowid), 0) FROM {table}",
        "INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, \
         contract_end, occurred_at, source, data, previous) \
         SELECT base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, \
         occurred_at, source, data, previous FROM {table}_created_events WHERE row_id > $1 ORDER BY row_id",
    ));

    const KEY_SET: (&'static str, &'static str) = ("(SELECT value FROM json_each(", "))");

    const JSON_MEMBER: (&'static str, &'static str, &'static str) =
        ("json_extract(", ", '$.", "')");

    /// Read from the walk index (which holds the columns reports group by) rather than the table.
    const OWNERS: &'static str = "employees e INDEXED BY employees_walk_idx";

    const PATH_ONLY: &'static str =
        "(CASE WHEN instr(path, '?') > 0 THEN substr(path, 1, instr(path, '?') - 1) ELSE path END)";

    const MONTH_OF: (&'static str, &'static str) = ("substr(", ", 1, 7)");

    const SHARES: (&'static str, &'static str) = (
        "(SELECT json_extract(value, '$[0]') AS m, \
         CAST(json_extract(value, '$[1]') AS BIGINT) AS employee_id, \
         CAST(json_extract(value, '$[2]') AS BIGINT) AS account_id, \
         CAST(json_extract(value, '$[3]') AS BIGINT) AS h, \
         CAST(json_extract(value, '$[4]') AS BIGINT) AS n, \
         CAST(json_extract(value, '$[5]') AS BIGINT) AS c FROM json_each(",
        "))",
    );

    const ID_SET: (&'static str, &'static str) = ("(SELECT value FROM json_each(", "))");

    /// `at` as this driver writes an instant.
    const REQUESTS: (&'static str, &'static str) = (
        "SELECT CAST(json_extract(value, '$[0]') AS BIGINT), \
         CAST(json_extract(value, '$[1]') AS BIGINT), json_extract(value, '$[2]'), \
         json_extract(value, '$[3]'), CAST(json_extract(value, '$[4]') AS INTEGER), \
         CAST(json_extract(value, '$[5]') AS BIGINT), CAST(json_extract(value, '$[6]') AS BIGINT), \
         json_extract(value, '$[7]') FROM json_each(",
        ") ORDER BY key",
    );
}

impl SqliteStore {
    /// Opens the file at `path` (creating it and its folder if needed) and
    /// applies migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::open_with_cache(path, 32).await
    }

    /// Copies the database at `db` into a new file `to`, whole and
    /// consistent (`VACUUM INTO`: one read transaction, so a server may go on
    /// serving and writing meanwhile), then checks the copy; its size in
    /// bytes. Refuses a `to` that exists, and a `db` that does not.
    pub async fn backup(db: &Path, to: &Path) -> Result<u64> {
        let refuse = |message: String| -> StoreError {
            relais_core::DomainError::new("file", message).into()
        };
        if !db.is_file() {
            return Err(refuse(format!("there is no database at {}", db.display())));
        }
        if to.exists() {
            return Err(refuse(format!(
                "{} already exists: a backup is written to a new file",
                to.display()
            )));
        }
        let target = to
            .to_str()
            .ok_or_else(|| refuse(format!("{} is not a path SQLite can take", to.display())))?;
        let options = SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(30));
        let mut conn: sqlx::SqliteConnection = sqlx::Connection::connect_with(&options)
            .await
            .map_err(|e| StoreError::Connect {
                url: format!("sqlite://{}", db.display()),
                reason: e.to_string(),
            })?;
        if let Some(folder) = to
            .parent()
            .filter(|f| !f.as_os_str().is_empty() && !f.is_dir())
        {
            return Err(refuse(format!(
                "the folder {} does not exist",
                folder.display()
            )));
        }
        // A copy that fails half-way is removed, so that the next try is
        // not refused for a file this one left.
        if let Err(e) = sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&mut conn)
            .await
        {
            let _ = std::fs::remove_file(to);
            let reason = match &e {
                sqlx::Error::Database(d) => d.message().to_owned(),
                other => other.to_string(),
            };
            return Err(refuse(format!(
                "cannot write the copy to {}: {reason}",
                to.display()
            )));
        }
        let check = SqliteConnectOptions::new().filename(to).read_only(true);
        let mut copy: sqlx::SqliteConnection = sqlx::Connection::connect_with(&check).await?;
        let verdict: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut copy)
            .await?;
        if verdict != "ok" {
            return Err(refuse(format!(
                "the copy at {} does not check out ({verdict}); keep the database as it is and try again",
                to.display()
            )));
        }
        Ok(std::fs::metadata(to).map(|m| m.len()).unwrap_or(0))
    }

    /// Opens the file at `path` with a page cache of `cache_mib` MiB per
    /// connection (creating it and its folder if needed) and applies migrations.
    pub async fn open_with_cache(path: &Path, cache_mib: u32) -> Result<Self> {
        Self::open_tuned(path, cache_mib, WRITER_COPIES_PAST).await
    }

    /// [`open_with_cache`](Self::open_with_cache), the writer copying the
    /// write-ahead log into the file once it holds `log_pages` pages.
    async fn open_tuned(path: &Path, cache_mib: u32, log_pages: u32) -> Result<Self> {
        let url = format!("sqlite://{}", path.display());
        let connect_error = |reason: String| StoreError::Connect {
            url: url.clone(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| connect_error(format!("cannot create {}: {e}", dir.display())))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Rows travel from SQLite's thread to the request one at a time:
            // a channel that holds a whole page keeps the reading thread
            // from stopping at every 50th row to wait for the reader (which
            // cost a thread switch per few rows, most of a walk's time).
            .row_buffer_size(ROW_CHANNEL)
            // A larger page cache keeps index pages of big bases in memory
            // (a negative size is in KiB).
            .pragma(
                "cache_size",
                format!("-{}", u64::from(cache_mib.max(1)) * 1024),
            );
        let writer = crate::kept::checked_when_idle(SqlitePoolOptions::new())
            .max_connections(1)
            // Its statements sent from the write lane run on the lane's
            // thread (see `lane`).
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.run_statements_inline();
                    Ok(())
                })
            })
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", log_pages.to_string()),
            )
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        crate::migrate(
            &writer,
            &MIGRATOR,
            |e| e.message().contains("no such table"),
            &connect_error,
        )
        .await?;
        // Reading connections cannot write: a write sent to one by mistake
        // fails at once, rather than taking the file's write lock beside the
        // writer (where one of the two would sleep in SQLite's busy handler).
        // Copying the log into the file is not a write of this kind.
        let pool = crate::kept::checked_when_idle(SqlitePoolOptions::new())
            .max_connections(READERS as u32 + 2)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let lane = crate::lane::WriteLane::start()?;
        lane.keep_up(Self::copy_log_aside(pool.clone()));
        Ok(Self(crate::handles::Handles {
            pool: crate::kept::Kept::new(pool, READERS),
            // Every write goes through these: its one connection is theirs.
            writer: crate::kept::Kept::new(writer, 1),
            signal: Default::default(),
            announcer: Default::default(),
            lane,
        }))
    }

    /// Copies the write-ahead log into the database file every
    /// [`LOG_COPY_EVERY`], on a reading connection, without waiting for the
    /// writer or the readers (a passive checkpoint). The copy the writer
    /// makes itself once the log passes [`WRITER_COPIES_PAST`] pages then
    /// finds most of it copied and synced: it holds the writer, and the
    /// thread that committed (the lane's, or for an employee's update the
    /// runtime's thread that asked for it), for the last pages only
    /// (in the events benchmark, the writer's `fsync` time fell from 353 to
    /// 125 ms in 30 s, its longest from 8 to 3 ms). Runs until the pool
    /// closes or the store is dropped (it lives on the write lane's thread).
    async fn copy_log_aside(pool: SqlitePool) {
        let mut every = tokio::time::interval(LOG_COPY_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            every.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                if !pool.is_closed() {
                    tracing::debug!(error = %e, "the write-ahead log was not copied this time");
                }
            }
        }
    }

    /// Looks at the number of the last event every
    /// [`SQLITE_LOOK`](crate::events::SQLITE_LOOK) (SQLite numbers events
    /// across bases, in commit order) and raises the signal when it moved,
    /// whoever committed. Stops when nobody holds the signal any more, or
    /// the pool closes.
    fn watch_events(pool: SqlitePool) -> crate::events::EventSignal {
        let (raise, signal) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            let mut seen: Option<i64> = None;
            let mut every = tokio::time::interval(crate::events::SQLITE_LOOK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = raise.closed() => return,
                    _ = every.tick() => {}
                }
                if pool.is_closed() {
                    return;
                }
                match sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) FROM events")
                    .fetch_one(&pool)
                    .await
                {
                    Ok(last) if seen != Some(last) => {
                        seen = Some(last);
                        raise.send_modify(|n| *n = n.wrapping_add(1));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "cannot look for change events"),
                }
            }
        });
        signal
    }
}

sql_store!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::Records;
    use relais_core::base::{BaseKind, BaseName};
    use relais_core::ids::{DepartmentId, Entity};
    use relais_core::org::{Code, Department, Name};

    /// A store in `dir` with a base and `n` departments for it, not written.
    async fn base_and_departments(dir: &Path, n: i64) -> (SqliteStore, Vec<Department>) {
        let store = SqliteStore::open(&dir.join("relais.db")).await.unwrap();
        let base = store
            .create_base(
                &BaseName::parse("production").unwrap(),
                BaseKind::Production,
            )
            .await
            .unwrap()
            .id;
        let first = store
            .reserve_ids(base, Entity::Department, n)
            .await
            .unwrap();
        let t = relais_core::now();
        let departments = (0..n)
            .map(|i| Department {
                base_id: base,
                id: DepartmentId(first + i),
                parent_id: None,
                code: Code::parse("code", &format!("D{i}")).unwrap(),
                name: Name::parse("name", &format!("Service {i}")).unwrap(),
                head_id: None,
                position: i as i32,
                active: true,
                created_at: t,
                modified_at: t,
            })
            .collect();
        (store, departments)
    }

    /// Every write goes through the writer: a reading connection refuses
    /// one, and the store's writes (here a base, its identifiers and its
    /// departments) go through all the same.
    #[tokio::test]
    async fn reading_connections_refuse_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, departments) = base_and_departments(dir.path(), 3).await;
        store
            .insert_records(Records::Departments(&departments))
            .await
            .unwrap();
        let mut reader = store.pool.acquire().await.unwrap();
        let refused = sqlx::query("DELETE FROM departments")
            .execute(&mut *reader)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("readonly"), "{refused}");
        drop(reader);
        let base = departments[0].base_id;
        assert_eq!(store.list_departments(base).await.unwrap().len(), 3);
    }

    /// A bulk insert keeps its statement journals in memory, and every
    /// connection it used reads its temporary files from disk again
    /// afterwards, whether the insert was written or refused.
    #[tokio::test]
    async fn a_bulk_insert_sets_the_journal_setting_back() {
        let dir = tempfile::tempdir().unwrap();
        let (store, departments) = base_and_departments(dir.path(), 300).await;
        let base = departments[0].base_id;
        // Written, then refused (the same identifiers again), each from
        // several inserts at once so that several connections are used.
        let (a, b) = tokio::join!(
            store.insert_records(Records::Departments(&departments[..150])),
            store.insert_records(Records::Departments(&departments[150..]))
        );
        a.unwrap();
        b.unwrap();
        let (a, b) = tokio::join!(
            store.insert_records(Records::Departments(&departments[..150])),
            store.insert_records(Records::Departments(&departments[150..]))
        );
        assert!(a.is_err() && b.is_err(), "the same departments twice");
        assert_eq!(store.list_departments(base).await.unwrap().len(), 300);
        // Every connection of the pool at once, those the readers kept
        // included: the default setting (0).
        store.pool.give_back();
        let mut held = Vec::new();
        for _ in 0..READERS + 2 {
            let mut conn = store.pool.pool().acquire().await.unwrap();
            let setting: i64 = sqlx::query_scalar("PRAGMA temp_store")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(setting, 0, "a connection kept the bulk insert's setting");
            held.push(conn);
        }
    }

    /// What the writer commits reaches the database file itself within a
    /// few copies' time, though the log is far below the pages at which
    /// the writer would copy it ([`WRITER_COPIES_PAST`]): the main file alone, read without
    /// its log, holds the rows.
    #[tokio::test]
    async fn the_log_is_copied_into_the_database_file_beside_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let (store, departments) = base_and_departments(dir.path(), 50).await;
        store
            .insert_records(Records::Departments(&departments))
            .await
            .unwrap();
        let copy = dir.path().join("copy.db");
        let found = relais_testkit::eventually(
            LOG_COPY_EVERY * 30,
            "the departments in the database file without its log",
            || async {
                std::fs::copy(dir.path().join("relais.db"), &copy).ok()?;
                let options = SqliteConnectOptions::new().filename(&copy);
                let mut conn: sqlx::SqliteConnection =
                    sqlx::Connection::connect_with(&options).await.ok()?;
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM departments")
                    .fetch_one(&mut conn)
                    .await
                    .ok()?;
                (n == 50).then_some(n)
            },
        )
        .await;
        assert_eq!(found, 50);
    }

    /// Under writes that never pause, with a reader at work beside them,
    /// the write-ahead log starts over each time the writer has copied it:
    /// it stays near the size at which the writer copies it, however much
    /// is written.
    #[tokio::test]
    async fn the_log_starts_over_under_writes_that_never_pause() {
        const PAGES: u32 = 100;
        const PAGE_BYTES: u64 = 4_096;
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_tuned(&dir.path().join("relais.db"), 8, PAGES)
            .await
            .unwrap();
        let writer = store.writer.pool().clone();
        sqlx::query("CREATE TABLE filler (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)")
            .execute(&writer)
            .await
            .unwrap();
        let reads = store.pool.pool().clone();
        let reading = tokio::spawn(async move {
            loop {
                let _: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM filler")
                    .fetch_one(&reads)
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        });
        let log = dir.path().join("relais.db-wal");
        let (rows, mut largest) = (10_000u64, 0);
        for _ in 0..rows {
            sqlx::query("INSERT INTO filler (bytes) VALUES (zeroblob(4000))")
                .execute(&writer)
                .await
                .unwrap();
            largest = largest.max(std::fs::metadata(&log).map_or(0, |m| m.len()));
        }
        reading.abort();
        // Each row takes a page of its own: forty megabytes went through
        // the log, which never held more than a few copies' worth of them.
        let bound = 8 * u64::from(PAGES) * PAGE_BYTES;
        assert!(rows * PAGE_BYTES > 10 * bound);
        assert!(
            largest <= bound,
            "the log grew to {largest} bytes under writes that never paused (at most {bound})"
        );
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM filler")
            .fetch_one(&writer)
            .await
            .unwrap();
        assert_eq!(count, rows as i64);
    }
}
