//! The report of a run: counts, then one line per record.

use relais_core::ledger::FieldChange;
use serde::Serialize;

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Created at the partner.
    Created,
    /// An existing partner record was linked to it (same e-mail).
    Linked,
    /// Updated at the partner.
    Updated,
    /// Partner-side edits were overwritten with the source's values.
    Overwritten,
    /// Deleted at the partner.
    Deleted,
    /// Already in step.
    Unchanged,
    /// Left out, with the reason.
    Skipped(String),
    /// The partner refused it, with its answer.
    Failed(String),
}

/// One record's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportLine {
    /// The source key.
    pub key: String,
    /// What happened.
    pub outcome: Outcome,
    /// The fields changed, with the value before and after.
    pub fields: Vec<FieldChange>,
}

/// A run's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Whether the run only planned (nothing was written).
    pub dry_run: bool,
    /// Whether the run was a full reconciliation.
    pub full: bool,
    /// One line per record touched.
    pub lines: Vec<ReportLine>,
    /// Requests sent to the partner.
    pub partner_requests: u64,
    /// Whether the checkpoint moved (only when every write was confirmed).
    pub checkpoint_moved: bool,
}

impl Report {
    /// How many lines have this outcome (failures and skips counted whatever their reason).
    pub fn count(&self, outcome: &Outcome) -> usize {
        self.lines
            .iter()
            .filter(|l| match (&l.outcome, outcome) {
                (Outcome::Failed(_), Outcome::Failed(_))
                | (Outcome::Skipped(_), Outcome::Skipped(_)) => true,
                (a, b) => a == b,
            })
            .count()
    }

    /// Whether some record failed.
    pub fn has_failures(&self) -> bool {
        self.count(&Outcome::Failed(String::new())) > 0
    }
}
