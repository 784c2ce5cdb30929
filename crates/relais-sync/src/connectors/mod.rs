//! The connectors, one module per partner.

pub mod happypal;
pub mod planningpme;

use relais_core::ledger::Acknowledged;
use relais_store::SharedStore;
use std::time::{Duration, Instant};

/// What the partner confirmed and the ledger has not recorded yet. Written
/// to the ledger every 100 records or quarter of a second, so a run that
/// dies loses at most that much of its progress (which the next run sends
/// again, idempotently).
pub(crate) struct Confirmations<'a> {
    store: &'a SharedStore,
    job: &'a str,
    pending: Vec<Acknowledged>,
    since: Instant,
}

impl<'a> Confirmations<'a> {
    pub(crate) fn new(store: &'a SharedStore, job: &'a str) -> Self {
        Self {
            store,
            job,
            pending: Vec::new(),
            since: Instant::now(),
        }
    }

    /// Records one confirmation; writes the batch when it is due.
    pub(crate) async fn push(
        &mut self,
        ack: Acknowledged,
        report: &mut crate::report::Report,
    ) -> Result<(), relais_store::StoreError> {
        self.pending.push(ack);
        if self.pending.len() >= 100 || self.since.elapsed() >= Duration::from_millis(250) {
            self.flush(report).await?;
        }
        Ok(())
    }

    /// Writes what is pending, then hands the report's lines and counts on,
    /// so that what the ledger holds and what the report says move together.
    pub(crate) async fn flush(
        &mut self,
        report: &mut crate::report::Report,
    ) -> Result<(), relais_store::StoreError> {
        if !self.pending.is_empty() {
            self.store.acknowledge(self.job, &self.pending).await?;
            self.pending.clear();
            report.spill_now();
        }
        self.since = Instant::now();
        Ok(())
    }
}
