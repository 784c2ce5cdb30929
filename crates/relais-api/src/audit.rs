//! The audit trail's writer: every authenticated request is recorded, off
//! the request's path, by group commit.
//!
//! The key middleware hands each request's entry to [`AuditLog::record`]
//! once the answer is ready, and the answer leaves without waiting for the
//! database. One writer task per process takes an entry, gathers those
//! that arrive within [`LINGER`] after it, writes them all in one
//! transaction, and starts again: a client reading page after page (one
//! request at a time) costs one transaction per [`LINGER`], not one per
//! request, and under load the batches grow by themselves up to
//! [`MAX_BATCH`]. [`AuditLog::flush`] waits until everything handed over so
//! far is written, at once — the server calls it when it stops, so a clean
//! shutdown loses nothing, and readers in the process (the key's audit
//! page) call it before reading. A process killed at once (`kill -9`) loses
//! at most what was handed over in the last [`LINGER`] and during the write
//! in progress: under a tenth of a second of requests.

use relais_core::access::AuditEntry;
use relais_store::SharedStore;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Entries written in one transaction at most.
pub const MAX_BATCH: usize = 1_000;

/// How long the writer gathers entries after the first one of a batch
/// before writing them (a flush writes at once).
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(20);

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

/// The writer task: an entry, those that arrive within [`LINGER`] after it
/// (or until a flush), one transaction, again.
async fn write(store: SharedStore, mut rx: mpsc::Receiver<Message>) {
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut batch = Vec::new();
        let mut waiting = Vec::new();
        let take = |m: Message, batch: &mut Vec<AuditEntry>, waiting: &mut Vec<_>| match m {
            Message::Entry(e) => batch.push(e),
            Message::Flush(done) => waiting.push(done),
        };
        take(first, &mut batch, &mut waiting);
        while batch.len() < MAX_BATCH && waiting.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => take(m, &mut batch, &mut waiting),
                Ok(None) | Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(e) = store.record_requests(&batch).await {
                tracing::error!(error = %e, requests = batch.len(), "cannot record API requests in the audit trail");
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}
