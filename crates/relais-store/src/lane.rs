//! The write lane: a thread of the store's own on which the busiest write
//! transactions run.
//!
//! A write transaction takes several statements in turn, each handed to the
//! database (SQLite's connection thread, PostgreSQL's socket) and its answer
//! handed back to the task that sends the next one. Run on the server's
//! shared threads, each hand-back waits behind whatever requests those
//! threads are busy with — parsing, answering, delivering webhooks — while
//! the transaction holds SQLite's one writer (or PostgreSQL's row locks).
//! On a thread that does nothing else, the next
//! statement goes at once: a write holds the database for the time its
//! statements take, not for the time the server's busiest moment takes.
//!
//! On SQLite the lane's thread runs the writing connection's statements
//! itself (the driver's change in `vendor/sqlx-sqlite`): the driver would
//! otherwise hand each to the connection's own thread and sleep until its
//! answer came back, two thread switches a statement.
//!
//! A short write (an employee's update, the API's busiest) need not cross
//! to the lane at all on SQLite: its task waits for the writing
//! connection's turn without holding its thread, then runs its statements
//! where it is asked for, from `BEGIN` to `COMMIT`, without waiting on
//! anything ([`WriteLane::run_short`]). Handed to the lane instead when the
//! writer was held, an update waited for the lane's thread to be woken and
//! scheduled as well: on busy cores, seven to nine in ten of the updates
//! that took over a millisecond in the store had been handed over
//! (`docs/performance.md`, « The writer copies the log a tenth as often »).
//! Only the `BEGIN` could wait, for another process's write (a command run
//! beside the server); the driver then hands that `BEGIN` to the
//! connection's thread rather than hold the runtime's thread in SQLite's
//! busy handler.

use crate::{Result, StoreError};
use std::future::Future;
use std::sync::Arc;

/// A runtime on a thread of its own, stopped when the last store holding
/// it is dropped.
#[derive(Clone)]
pub(crate) struct WriteLane(Arc<Lane>);

struct Lane {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Lane {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl WriteLane {
    /// Starts the lane's thread.
    pub(crate) fn start() -> Result<Self> {
        let failed = |e: std::io::Error| StoreError::Connect {
            url: "(write lane)".into(),
            reason: format!("cannot start the thread write transactions run on: {e}"),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(failed)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("relais-writes".into())
            .spawn(move || {
                // The writing connection's statements sent from here run
                // here, not on its own thread (vendor/README.md): a write
                // transaction makes no thread switch a statement.
                sqlx_sqlite::run_statements_on_this_thread();
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(failed)?;
        Ok(Self(Arc::new(Lane {
            handle,
            stop: Some(stop),
        })))
    }

    /// Runs `work` on the lane, as the current task's writer (see
    /// [`writing_as`](crate::events::writing_as)). Work once started goes
    /// to its end even if the caller stops waiting for it: a request whose
    /// client went away still commits (or rolls back) whole.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let source = crate::events::current_writer();
        match self
            .0
            .handle
            .spawn(crate::events::writing_as(source, work))
            .await
        {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(StoreError::Database(sqlx::Error::PoolClosed)),
        }
    }

    /// Runs `work`, a short write transaction, on the calling thread when
    /// `here` (SQLite): it waits for the writing connection's turn there
    /// without holding the thread, then its statements run where it is
    /// polled ([`sqlx_sqlite::run_statements_here`]) from `BEGIN` to
    /// `COMMIT` without waiting on anything, which saves the two thread
    /// switches of the hand-over to the lane and back. Otherwise (PostgreSQL,
    /// whose statements wait on a socket), on the lane as [`run`](Self::run).
    /// Like `run`, work once started goes to its end even if the caller
    /// stops waiting for it: it runs as a task of its own, which the
    /// runtime polls next on the same thread.
    pub(crate) async fn run_short<T: Send + 'static>(
        &self,
        here: bool,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        if !here {
            return self.run(work).await;
        }
        let source = crate::events::current_writer();
        let work = crate::events::writing_as(source, sqlx_sqlite::run_statements_here(work));
        match tokio::spawn(work).await {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(StoreError::Database(sqlx::Error::PoolClosed)),
        }
    }

    /// Runs `task` on the lane's thread for as long as the lane lives: it
    /// stops with the last store holding the lane. For upkeep that belongs
    /// to the store (its work is handed to the database's own threads), not
    /// for write transactions, which go through [`run`](Self::run).
    pub(crate) fn keep_up(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.handle.spawn(task);
    }
}

#[cfg(test)]
mod tests {
    use super::WriteLane;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{Connection, SqliteConnection};

    /// A runtime on the test's own thread.
    fn one_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A writing connection as the store opens it: allowed to run its
    /// statements on the lane's thread.
    async fn writer(dir: &tempfile::TempDir) -> SqliteConnection {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("lane.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, what TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.run_statements_inline();
        conn
    }

    /// The thread switches this thread has made so far (`None` where
    /// `/proc` does not say).
    fn switches() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|n| n.trim().parse().ok())
    }

    /// Fifty write transactions of four statements each, begun as the
    /// store begins them; the switches the thread running them made
    /// meanwhile.
    async fn fifty_transactions(conn: &mut SqliteConnection, from: i64) -> Option<u64> {
        let before = switches()?;
        for i in from..from + 50 {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query("INSERT INTO t (id, what) VALUES ($1, 'written')")
                .bind(i)
                .execute(&mut *tx)
                .await
                .unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert!(n >= 1);
            tx.commit().await.unwrap();
        }
        Some(switches()? - before)
    }

    #[tokio::test]
    async fn the_lanes_statements_run_on_its_own_thread() {
        let dir = tempfile::tempdir().unwrap();
        let lane = WriteLane::start().unwrap();
        let mut conn = writer(&dir).await;
        // The same connection, from a thread that is not the lane's: each
        // statement waits for the connection's thread to answer.
        let (mut conn, elsewhere) = std::thread::spawn(move || {
            one_thread().block_on(async move {
                let switched = fifty_transactions(&mut conn, 0).await;
                (conn, switched)
            })
        })
        .join()
        .unwrap();
        let (mut conn, on_lane) = lane
            .run(async move {
                let switched = fifty_transactions(&mut conn, 1000).await;
                Ok((conn, switched))
            })
            .await
            .unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(count, 100, "every transaction's row is there");
        let (Some(elsewhere), Some(on_lane)) = (elsewhere, on_lane) else {
            eprintln!(
                "skipped the thread switches' count: /proc/thread-self/status is not readable here"
            );
            return;
        };
        assert!(
            elsewhere >= 100,
            "a thread not marked waits on each statement: {elsewhere} switches for 200 statements"
        );
        assert!(on_lane < 20, "the lane runs its statements itself: {on_lane} switches for 200 statements (elsewhere {elsewhere})");
    }

    /// The threads that ran `conn`'s statements since the last call, told
    /// by SQLite's progress handler (called on the thread running a
    /// statement, every few of its instructions).
    type Runners =
        std::sync::Arc<std::sync::Mutex<std::collections::HashSet<std::thread::ThreadId>>>;

    /// Where the threads that run `conn`'s statements from now on are told.
    async fn runners_of(conn: &mut SqliteConnection) -> Runners {
        let runners = Runners::default();
        let told = runners.clone();
        conn.lock_handle()
            .await
            .unwrap()
            .set_progress_handler(1, move || {
                told.lock().unwrap().insert(std::thread::current().id());
                true
            });
        runners
    }

    /// Fifty reads of one row by key on `conn`; which threads ran them.
    async fn fifty_reads(
        conn: &mut SqliteConnection,
        runners: &Runners,
    ) -> std::collections::HashSet<std::thread::ThreadId> {
        runners.lock().unwrap().clear();
        for i in 0..50 {
            let what: Option<String> = sqlx::query_scalar("SELECT what FROM t WHERE id = $1")
                .bind(i % 5)
                .fetch_optional(&mut *conn)
                .await
                .unwrap();
            assert_eq!(what.as_deref(), Some("read"));
        }
        std::mem::take(&mut *runners.lock().unwrap())
    }

    #[test]
    fn reads_given_to_read_few_run_on_the_calling_thread() {
        let dir = tempfile::tempdir().unwrap();
        let rt = one_thread();
        let (before, inside, after) = rt.block_on(async {
            drop(writer(&dir).await);
            // A connection as the store's readers are: not allowed to run
            // its statements elsewhere than on its thread, but for reads
            // given to `read_few`.
            let options = SqliteConnectOptions::new().filename(dir.path().join("lane.db"));
            let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
            for id in 0..5 {
                sqlx::query("INSERT INTO t (id, what) VALUES ($1, 'read')")
                    .bind(id)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            let runners = runners_of(&mut conn).await;
            let before = fifty_reads(&mut conn, &runners).await;
            // The connection's thread counts its last command done just
            // after answering it; until then a statement is handed over,
            // to keep the order (a read given to `read_few` right after one
            // that was not may still be). Once it has nothing left to do:
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let inside = crate::read_few(fifty_reads(&mut conn, &runners)).await;
            let after = fifty_reads(&mut conn, &runners).await;
            (before, inside, after)
        });
        let here = std::thread::current().id();
        assert_eq!(
            inside,
            [here].into(),
            "read_few's reads run on the thread that polls them"
        );
        for (when, runners) in [("before", before), ("after", after)] {
            assert_eq!(runners.len(), 1, "{when}: {runners:?}");
            assert!(
                !runners.contains(&here),
                "{when} read_few, reads run on the connection's own thread"
            );
        }
    }

    /// A write transaction of one row on `conn`, given back with the
    /// threads that ran its statements.
    async fn one_write(
        mut conn: SqliteConnection,
        runners: Runners,
        id: i64,
    ) -> crate::Result<(
        SqliteConnection,
        std::collections::HashSet<std::thread::ThreadId>,
    )> {
        runners.lock().unwrap().clear();
        // As the store begins its writes: taking SQLite's lock at once.
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO t (id, what) VALUES ($1, 'short')")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let ran = std::mem::take(&mut *runners.lock().unwrap());
        Ok((conn, ran))
    }

    #[test]
    fn a_short_write_runs_where_it_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let rt = one_thread();
        let lane = WriteLane::start().unwrap();
        let (here_ran, lane_ran, rows) = rt.block_on(async {
            let mut conn = writer(&dir).await;
            let runners = runners_of(&mut conn).await;
            // Until the connection's thread has counted its last command
            // done, a statement is handed to it (see `read_few`'s test).
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let (conn, here_ran) = lane
                .run_short(true, one_write(conn, runners.clone(), 1))
                .await
                .unwrap();
            let (mut conn, lane_ran) = lane
                .run_short(false, one_write(conn, runners, 2))
                .await
                .unwrap();
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE what = 'short'")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            (here_ran, lane_ran, rows)
        });
        assert_eq!(rows, 2, "both transactions committed");
        let here = std::thread::current().id();
        assert_eq!(
            here_ran,
            [here].into(),
            "a write asked for here runs on the asking thread"
        );
        assert_eq!(lane_ran.len(), 1, "{lane_ran:?}");
        assert!(
            !lane_ran.contains(&here),
            "a write not asked for here runs on the lane"
        );
    }

    #[test]
    fn a_write_asked_for_here_waits_for_another_writer_without_holding_its_thread() {
        let dir = tempfile::tempdir().unwrap();
        let rt = one_thread();
        let lane = WriteLane::start().unwrap();
        rt.block_on(async {
            let conn = writer(&dir).await;
            // Another process's write transaction, holding SQLite's lock.
            let options = SqliteConnectOptions::new().filename(dir.path().join("lane.db"));
            let mut other = SqliteConnection::connect_with(&options).await.unwrap();
            let mut held = other.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query("INSERT INTO t (id, what) VALUES (7, 'other')")
                .execute(&mut *held)
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let write = tokio::spawn(async move {
                lane.run_short(true, one_write(conn, Runners::default(), 8))
                    .await
            });
            // This thread (the runtime's only one) goes on meanwhile: had
            // the write waited in SQLite's busy handler here, the lock
            // would never be let go, and the write would fail after the
            // busy timeout.
            for _ in 0..5 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert!(!write.is_finished(), "the write waits for the lock");
            held.commit().await.unwrap();
            let (mut conn, _) = write
                .await
                .unwrap()
                .expect("the write goes through once the lock is let go");
            let rows: Vec<i64> = sqlx::query_scalar("SELECT id FROM t ORDER BY id")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            assert_eq!(rows, [7, 8], "both writes, in the order they took the lock");
        });
    }

    #[tokio::test]
    async fn statements_on_the_lane_keep_their_order_and_their_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let lane = WriteLane::start().unwrap();
        let mut conn = writer(&dir).await;
        let rows = lane
            .run(async move {
                // A transaction dropped without ending: its rollback goes to
                // the connection's thread, and what follows waits for it.
                {
                    let mut tx = conn.begin().await?;
                    sqlx::query("INSERT INTO t (id, what) VALUES (1, 'dropped')")
                        .execute(&mut *tx)
                        .await?;
                }
                let mut tx = conn.begin().await?;
                sqlx::query("INSERT INTO t (id, what) VALUES (1, 'kept')")
                    .execute(&mut *tx)
                    .await?;
                // A savepoint rolled back inside a transaction committed.
                let mut inner = tx.begin().await?;
                sqlx::query("INSERT INTO t (id, what) VALUES (2, 'undone')")
                    .execute(&mut *inner)
                    .await?;
                inner.rollback().await?;
                sqlx::query("INSERT INTO t (id, what) VALUES (3, 'kept')")
                    .execute(&mut *tx)
                    .await?;
                // A statement that fails says why, and leaves the
                // transaction to its caller.
                let refused = sqlx::query("INSERT INTO t (id, what) VALUES (3, 'twice')")
                    .execute(&mut *tx)
                    .await;
                assert!(
                    refused
                        .as_ref()
                        .is_err_and(|e| e.to_string().contains("UNIQUE")),
                    "{refused:?}"
                );
                tx.commit().await?;
                for id in 10..20 {
                    sqlx::query("INSERT INTO t (id, what) VALUES ($1, 'many')")
                        .bind(id)
                        .execute(&mut conn)
                        .await?;
                }
                let first: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM t WHERE what = 'many' ORDER BY id")
                        .fetch_optional(&mut conn)
                        .await?;
                assert_eq!(first, Some(10), "one row of many");
                let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, what FROM t ORDER BY id")
                    .fetch_all(&mut conn)
                    .await?;
                Ok(rows)
            })
            .await
            .unwrap();
        let expected: Vec<(i64, String)> = [(1, "kept"), (3, "kept")]
            .into_iter()
            .map(|(id, w)| (id, w.to_owned()))
            .chain((10..20).map(|id| (id, "many".to_owned())))
            .collect();
        assert_eq!(rows, expected);
    }
}
