//! The audit trail's writer: every authenticated request is recorded, off
//! the request's path, by group commit.
//!
//! The key middleware hands each request's entry to [`AuditLog::record`]
//! once the answer is ready, and the answer leaves without waiting for the
//! database. One writer task per process takes every entry waiting, writes
//! them in one transaction, and starts again with those that arrived
//! meanwhile: under load the batches grow by themselves, and an idle
//! server writes each entry as it comes. [`AuditLog::flush`] waits until
//! everything handed over so far is written — the server calls it when it
//! stops, so a clean shutdown loses nothing, and readers in the process
//! (the key's audit page) call it before reading. A process killed at once
//! (`kill -9`) loses at most what was handed over during the write in
//! progress: a few milliseconds of requests (bounded by [`MAX_BATCH`]).

use relais_core::access::AuditEntry;
use relais_store::SharedStore;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Entries written in one transaction at most.
pub const MAX_BATCH: usize = 1_000;

/// Entries waiting for the writer at most; a request beyond waits for room.
const QUEUE: usize = 10_000;

enum Message {
    Entry(AuditEntry),
    Flush(oneshot::Sender<()>),
}

/// The process's audit trail writer (cheap to clone).
#[derive(Clone)]
pub struct AuditLog {
    store: SharedStore,
    sender: Arc<OnceLock<mpsc::Sender<Message>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl AuditLog {
    /// A writer into `store`; its task starts with the first entry.
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            sender: Arc::new(OnceLock::new()),
        }
    }

    fn sender(&self) -> &mpsc::Sender<Message> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write(self.store.clone(), rx));
            tx
        })
    }

    /// Hands one request's entry to the writer.
    pub async fn record(&self, entry: AuditEntry) {
        if self.sender().send(Message::Entry(entry)).await.is_err() {
            tracing::error!("the audit trail writer stopped: a request was not recorded");
        }
    }

    /// Waits until every entry handed over before this call is written.
    pub async fn flush(&self) {
        let Some(sender) = self.sender.get() else {
            return;
        };
        let (done, written) = oneshot::channel();
        if sender.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

/// The writer task: every entry waiting, one transaction, again.
async fn write(store: SharedStore, mut rx: mpsc::Receiver<Message>) {
    while let Some(first) = rx.recv().await {
        let mut batch = Vec::new();
        let mut waiting = Vec::new();
        let mut take = |m: Message, batch: &mut Vec<AuditEntry>| match m {
            Message::Entry(e) => batch.push(e),
            Message::Flush(done) => waiting.push(done),
        };
        take(first, &mut batch);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => take(m, &mut batch),
                Err(_) => break,
            }
        }
        if let Err(e) = store.record_requests(&batch).await {
            tracing::error!(error = %e, requests = batch.len(), "cannot record API requests in the audit trail");
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}
