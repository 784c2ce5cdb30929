//! Connections kept between statements: a store's reads, and its write
//! transactions, run on connections kept here from one statement (or one
//! transaction) to the next.
//!
//! sqlx's pool checks every connection handed back to it with a round trip
//! (a ping: on SQLite a command to the connection's thread and its answer,
//! a thread woken each way; on PostgreSQL a message to the server), from a
//! task it starts for the purpose. A read made through the pool paid that
//! check after each statement — about a tenth of the thread switches an API
//! update cost in the events benchmark — and a write transaction after each
//! commit. A statement that ran to its end, or a transaction committed,
//! leaves its connection in a known state, so [`Kept`] keeps it for the next
//! one instead. A connection whose statement failed or was dropped half-way,
//! or whose transaction was not committed, goes back to the pool, which
//! checks it as before (the check also ends the rollback); one kept unused
//! for longer than [`TRUSTED_IDLE`] too, so that a connection the server
//! closed meanwhile is found out by the pool's check, not by a request.

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::TryStreamExt;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Either, Error, Execute, Executor, Pool, TransactionManager};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a pooled connection may stay idle and still be used without
/// first checking that it is alive.
pub(crate) const TRUSTED_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Pool options under which a connection is checked (pinged) before use
/// only when it has been idle for more than [`TRUSTED_IDLE`]: one used a
/// moment ago is alive, and checking every time cost each query a second
/// round trip to PostgreSQL, or a second switch to SQLite's thread. A
/// connection that fails its check is closed and another one is used.
pub(crate) fn checked_when_idle<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    use sqlx::Connection;
    options
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > TRUSTED_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// A pool's connections, kept between statements (reads) or transactions
/// (writes).
pub(crate) struct Kept<DB: Database>(Arc<Shelf<DB>>);

impl<DB: Database> std::fmt::Debug for Kept<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kept")
    }
}

impl<DB: Database> Clone for Kept<DB> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// What the clones of a [`Kept`] share.
struct Shelf<DB: Database> {
    /// Where connections come from and go back to.
    pool: Pool<DB>,
    /// Connections kept since their last statement, the latest last.
    kept: Mutex<Vec<(PoolConnection<DB>, Instant)>>,
    /// Statements running at once: at most the connections this shelf may
    /// hold, fewer than the pool's, so that whoever takes a connection from
    /// the pool directly (a write, the upkeep) always finds one.
    turns: Arc<Semaphore>,
}

impl<DB: Database> Drop for Shelf<DB> {
    fn drop(&mut self) {
        let kept = std::mem::take(self.kept.get_mut().unwrap_or_else(|e| e.into_inner()));
        if tokio::runtime::Handle::try_current().is_err() {
            // Outside a runtime the pool cannot take them back (it would
            // start a task to check them): they close with the shelf.
            for (conn, _) in kept {
                drop(conn.detach());
            }
        }
        // Otherwise they go back to the pool as they are dropped.
    }
}

impl<DB: Database> Kept<DB> {
    /// Keeps connections of `pool`, at most `connections` of them at once:
    /// fewer than the pool's largest size where others take connections
    /// from the pool directly (the rest stay for them), all of them where
    /// nobody else does (SQLite's one writer connection).
    pub(crate) fn new(pool: Pool<DB>, connections: usize) -> Self {
        Self(Arc::new(Shelf {
            pool,
            kept: Mutex::new(Vec::new()),
            turns: Arc::new(Semaphore::new(connections)),
        }))
    }

    /// The pool the connections come from, for work that holds a connection
    /// of its own (the log's copies, the event watcher, a read of several
    /// statements on one connection).
    pub(crate) fn pool(&self) -> &Pool<DB> {
        &self.0.pool
    }

    /// Gives every kept connection back to the pool (a test that takes all
    /// of the pool's connections at once).
    #[cfg(test)]
    pub(crate) fn give_back(&self) {
        let kept = std::mem::take(&mut *self.0.kept.lock().unwrap_or_else(|e| e.into_inner()));
        drop(kept);
    }

    /// A connection for one statement, or several in turn: a kept one if
    /// one was used a moment ago, else one from the pool (which checks it
    /// if it has been idle). It goes back to the pool when dropped: only
    /// the statements run through [`Kept`] itself, and the transactions of
    /// [`Kept::begin_with`], leave theirs kept.
    pub(crate) async fn acquire(&self) -> Result<Lease<DB>, Error> {
        let turn = self
            .0
            .turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::PoolClosed)?;
        let (fresh, stale) = {
            let mut kept = self.0.kept.lock().unwrap_or_else(|e| e.into_inner());
            match kept.pop() {
                Some((conn, since)) if since.elapsed() <= TRUSTED_IDLE => (Some(conn), Vec::new()),
                // The latest kept is stale, and so are those before it.
                Some(old) => {
                    let mut stale = std::mem::take(&mut *kept);
                    stale.push(old);
                    (None, stale)
                }
                None => (None, Vec::new()),
            }
        };
        // Back to the pool, outside the lock: it checks each as it takes it
        // back, and closes one that fails.
        drop(stale);
        let conn = match fresh {
            Some(conn) => conn,
            None => self.0.pool.acquire().await?,
        };
        Ok(Lease {
            conn: Some(conn),
            shelf: self.0.clone(),
            finished: false,
            _turn: turn,
        })
    }
}

/// A connection lent for one statement, or for the statements of its
/// holder (see [`Kept::acquire`]).
pub(crate) struct Lease<DB: Database> {
    conn: Option<PoolConnection<DB>>,
    shelf: Arc<Shelf<DB>>,
    /// Whether the statement ran to its end (the connection may be kept).
    finished: bool,
    /// The turn taken, given back after the connection is put away.
    _turn: OwnedSemaphorePermit,
}

impl<DB: Database> Lease<DB> {
    fn conn(&mut self) -> &mut DB::Connection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl<DB: Database> std::ops::Deref for Lease<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl<DB: Database> std::ops::DerefMut for Lease<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.conn()
    }
}

impl<DB: Database> Kept<DB> {
    /// Begins a transaction with `statement` (`BEGIN`, `BEGIN IMMEDIATE`)
    /// on a kept connection, or one from the pool.
    pub(crate) async fn begin_with(&self, statement: &'static str) -> Result<Tx<DB>, Error> {
        let mut lease = self.acquire().await?;
        <DB::TransactionManager as TransactionManager>::begin(&mut lease, Some(statement.into()))
            .await?;
        Ok(Tx { lease })
    }
}

/// A transaction on a kept connection: the connection is kept for the next
/// transaction once this one is committed, and goes back to the pool (rolled
/// back) otherwise. It reads and writes as its connection (`&mut *tx`).
///
/// This is sqlx's own `Transaction` but for what becomes of the connection
/// after: sqlx's hands it back to the pool in every case, and the pool checks
/// it with a round trip.
pub(crate) struct Tx<DB: Database> {
    /// Its connection, `finished` once the transaction is committed.
    lease: Lease<DB>,
}

impl<DB: Database> Tx<DB> {
    /// Commits the transaction; its connection is kept for the next one.
    pub(crate) async fn commit(mut self) -> Result<(), Error> {
        <DB::TransactionManager as TransactionManager>::commit(&mut self.lease).await?;
        self.lease.finished = true;
        Ok(())
    }
}

impl<DB: Database> std::ops::Deref for Tx<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.lease
    }
}

impl<DB: Database> std::ops::DerefMut for Tx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.lease
    }
}

impl<DB: Database> Drop for Tx<DB> {
    fn drop(&mut self) {
        if !self.lease.finished {
            // Queues the rollback on the connection, as sqlx's own
            // transactions do when dropped; the pool's check on the way
            // back runs it.
            <DB::TransactionManager as TransactionManager>::start_rollback(&mut self.lease);
        }
    }
}

impl<DB: Database> Drop for Lease<DB> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if self.finished && !self.shelf.pool.is_closed() {
            let mut kept = self.shelf.kept.lock().unwrap_or_else(|e| e.into_inner());
            kept.push((conn, Instant::now()));
        }
        // Otherwise the connection is dropped here: back to the pool, which
        // checks it (or closes it, once the pool is closed).
    }
}

impl<'p, DB: Database> Executor<'p> for &'_ Kept<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<DB::QueryResult, DB::Row>, Error>>
    where
        E: 'q + Execute<'q, DB>,
    {
        let kept = self.clone();
        Box::pin(async_stream::try_stream! {
            let mut lease = kept.acquire().await?;
            {
                let mut answers = lease.conn().fetch_many(query);
                while let Some(answer) = answers.try_next().await? {
                    yield answer;
                }
            }
            lease.finished = true;
        })
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<DB::Row>, Error>>
    where
        E: 'q + Execute<'q, DB>,
    {
        let kept = self.clone();
        Box::pin(async move {
            let mut lease = kept.acquire().await?;
            let row = lease.conn().fetch_optional(query).await?;
            lease.finished = true;
            Ok(row)
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement<'q>, Error>> {
        let kept = self.clone();
        Box::pin(async move {
            let mut lease = kept.acquire().await?;
            let statement = lease.conn().prepare_with(sql, parameters).await?;
            lease.finished = true;
            Ok(statement)
        })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<sqlx::Describe<DB>, Error>> {
        let kept = self.clone();
        Box::pin(async move {
            let mut lease = kept.acquire().await?;
            let described = lease.conn().describe(sql).await?;
            lease.finished = true;
            Ok(described)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use sqlx::Sqlite;

    /// Keeps at most `turns` connections of a pool of `turns + 1`.
    async fn kept_of(dir: &std::path::Path, turns: usize) -> Kept<Sqlite> {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("readers.db"))
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(turns as u32 + 1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE n (v INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO n VALUES (1), (2), (3)")
            .execute(&pool)
            .await
            .unwrap();
        Kept::new(pool, turns)
    }

    fn kept(r: &Kept<Sqlite>) -> usize {
        r.0.kept.lock().unwrap().len()
    }

    #[tokio::test]
    async fn a_statement_that_ends_leaves_its_connection_for_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let r = kept_of(dir.path(), 2).await;
        // A temporary table lives on its connection alone: the next
        // statement finds it only on the same connection.
        sqlx::query("CREATE TEMP TABLE mine (v INTEGER)")
            .execute(&r)
            .await
            .unwrap();
        assert_eq!(kept(&r), 1);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM temp.mine")
            .fetch_one(&r)
            .await
            .unwrap();
        assert_eq!(n, 0);
        let all: Vec<i64> = sqlx::query_scalar("SELECT v FROM n ORDER BY v")
            .fetch_all(&r)
            .await
            .unwrap();
        assert_eq!(all, [1, 2, 3]);
        assert_eq!(kept(&r), 1, "one connection served all three");
    }

    #[tokio::test]
    async fn a_committed_transaction_keeps_its_connection_and_a_dropped_one_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let w = kept_of(dir.path(), 1).await;
        let mut tx = w.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("CREATE TEMP TABLE mine (v INTEGER)")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("INSERT INTO n VALUES (4)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(kept(&w), 1, "a committed transaction's connection is kept");
        // The next transaction runs on it (its temporary table is there).
        let mut tx = w.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("INSERT INTO temp.mine VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("INSERT INTO n VALUES (5)")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert_eq!(kept(&w), 0);
        drop(tx);
        assert_eq!(kept(&w), 0, "a transaction not committed is not kept");
        // Rolled back: 5 was never written, 4 was.
        let all: Vec<i64> = sqlx::query_scalar("SELECT v FROM n ORDER BY v")
            .fetch_all(&w)
            .await
            .unwrap();
        assert_eq!(all, [1, 2, 3, 4]);
        // A transaction that only read is kept once committed, like any.
        let mut tx = w.begin_with("BEGIN").await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM n")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 4);
        tx.commit().await.unwrap();
        assert_eq!(kept(&w), 1);
    }

    #[tokio::test]
    async fn transactions_on_one_turn_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let w = kept_of(dir.path(), 1).await;
        let writes = (10..30).map(|v| {
            let w = w.clone();
            async move {
                let mut tx = w.begin_with("BEGIN IMMEDIATE").await.unwrap();
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM n")
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
                sqlx::query("INSERT INTO n VALUES ($1)")
                    .bind(v)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                n
            }
        });
        let mut seen = futures_util::future::join_all(writes).await;
        seen.sort();
        // One after the other: each counted the rows of all those before.
        assert_eq!(seen, (3..23).collect::<Vec<i64>>());
        assert_eq!(kept(&w), 1);
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_statement_gives_its_connection_back_to_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let r = kept_of(dir.path(), 2).await;
        let failed = sqlx::query("SELECT nothing FROM nowhere").execute(&r).await;
        assert!(failed.is_err());
        assert_eq!(kept(&r), 0, "a failed statement's connection is not kept");
        let mut rows = sqlx::query_scalar::<_, i64>("SELECT v FROM n ORDER BY v").fetch(&r);
        assert_eq!(rows.next().await.unwrap().unwrap(), 1);
        drop(rows);
        assert_eq!(kept(&r), 0, "a statement left half-read is not kept");
        // The pool has them back, checked: the next statements run.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM n")
            .fetch_one(&r)
            .await
            .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn readers_dropped_after_their_runtime_close_their_connections_quietly() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = runtime.block_on(async {
            let r = kept_of(dir.path(), 2).await;
            sqlx::query("SELECT 1").execute(&r).await.unwrap();
            r
        });
        assert_eq!(kept(&r), 1);
        drop(runtime);
        // Handing the kept connection back to the pool would need a runtime.
        drop(r);
    }

    #[tokio::test]
    async fn more_statements_than_turns_wait_and_leave_the_pool_a_connection() {
        let dir = tempfile::tempdir().unwrap();
        let r = kept_of(dir.path(), 2).await;
        let reads = (0..20).map(|_| {
            let r = r.clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM n")
                    .fetch_one(&r)
                    .await
                    .unwrap()
            }
        });
        let counts = futures_util::future::join_all(reads).await;
        assert_eq!(counts, vec![3; 20]);
        assert!(kept(&r) <= 2, "never more kept than turns");
        // With both turns' connections kept, the pool still lends its own.
        let mut direct =
            tokio::time::timeout(std::time::Duration::from_secs(5), r.pool().acquire())
                .await
                .expect("the pool keeps a connection for those who take one directly")
                .unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM n")
            .fetch_one(&mut *direct)
            .await
            .unwrap();
        assert_eq!(n, 3);
    }
}
