//! The report of a run: counts of every outcome, then one line per record
//! written, refused or left out (records already in step are counted only).

pub use relais_core::integration::{Outcome, ReportLine, RunCounts};
use serde::Serialize;

/// A run's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Whether the run only planned (nothing was written).
    pub dry_run: bool,
    /// Whether the run was a full reconciliation.
    pub full: bool,
    /// Records per outcome.
    pub counts: RunCounts,
    /// One line per record touched (not those already in step).
    pub lines: Vec<ReportLine>,
    /// Requests sent to the partner.
    pub partner_requests: u64,
    /// Whether the checkpoint moved (only when every write was confirmed).
    pub checkpoint_moved: bool,
}

impl Report {
    /// Records one record's line.
    pub fn push(&mut self, line: ReportLine) {
        self.counts.add(&line.outcome);
        if line.outcome != Outcome::Unchanged {
            self.lines.push(line);
        }
    }

    /// Records a record already in step.
    pub fn unchanged(&mut self) {
        self.counts.add(&Outcome::Unchanged);
    }

    /// How many records had this outcome (failures and skips counted whatever their reason).
    pub fn count(&self, outcome: &Outcome) -> usize {
        self.counts.of(outcome) as usize
    }

    /// Whether some record failed.
    pub fn has_failures(&self) -> bool {
        self.counts.failed > 0
    }

    /// Whether every record was sent and confirmed (nothing failed or left out).
    pub fn is_complete(&self) -> bool {
        self.counts.failed == 0 && self.counts.skipped == 0
    }
}
