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

    /// Runs `task` on the lane's thread for as long as the lane lives: it
    /// stops with the last store holding the lane. For upkeep that belongs
    /// to the store (its work is handed to the database's own threads), not
    /// for write transactions, which go through [`run`](Self::run).
    pub(crate) fn keep_up(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.handle.spawn(task);
    }
}
