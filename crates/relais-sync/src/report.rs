//! The report of a run: counts of every outcome, then one line per record
//! written, refused or left out (records already in step are counted only).

pub use relais_core::integration::{Outcome, ReportLine, RunCounts};
use serde::Serialize;

/// A run's report.
#[derive(Debug, Clone, Default, Serialize)]
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
    /// Where lines go once 1,000 have gathered, so that a long run's report
    /// does not grow in memory (the runtime stores them as the run goes).
    #[serde(skip)]
    pub spill: Option<tokio::sync::mpsc::UnboundedSender<Vec<ReportLine>>>,
}

/// Lines kept in memory before they are handed to the spill.
const SPILL_AT: usize = 1_000;

impl Report {
    /// Records one record's line.
    pub fn push(&mut self, line: ReportLine) {
        self.counts.add(&line.outcome);
        if line.outcome != Outcome::Unchanged {
            self.lines.push(line);
            if self.lines.len() >= SPILL_AT {
                if let Some(spill) = &self.spill {
                    if spill.send(std::mem::take(&mut self.lines)).is_err() {
                        // The receiver is gone (the run is ending): keep them here.
                        tracing::warn!("report lines kept in memory: their writer stopped");
                    }
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reports_spill_their_lines_in_order() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut report = Report {
            spill: Some(tx),
            ..Report::default()
        };
        for n in 0..2_500 {
            report.push(ReportLine {
                key: n.to_string(),
                outcome: Outcome::Created,
                fields: Vec::new(),
            });
            report.unchanged();
        }
        let first = rx.try_recv().unwrap();
        let second = rx.try_recv().unwrap();
        assert!(rx.try_recv().is_err());
        assert_eq!(
            (first.len(), second.len(), report.lines.len()),
            (1_000, 1_000, 500)
        );
        assert_eq!(
            (first[0].key.as_str(), second[0].key.as_str()),
            ("0", "1000")
        );
        assert_eq!(report.lines[0].key, "2000");
        assert_eq!(
            (report.counts.created, report.counts.unchanged),
            (2_500, 2_500)
        );
    }
}
