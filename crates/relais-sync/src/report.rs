//! The report of a run: counts of every outcome, then one line per record
//! written, refused or left out (records already in step are counted only).

pub use relais_core::integration::{Outcome, ReportLine, RunCounts};

/// Employees named at most once per run in memory: beyond this many, the
/// names known are dropped and read again as needed.
const NAMES_KEPT: usize = 20_000;

/// Names the employees a run's lines are about, as people know them — « Léa
/// Martin (E0042) » and what the record is beyond them — instead of the
/// partner's key; one read of the base per batch of lines.
pub struct PersonNamer {
    store: relais_store::SharedStore,
    base: relais_core::ids::BaseId,
    known: std::collections::HashMap<i64, String>,
}

impl PersonNamer {
    /// A namer reading the employees of `base`.
    pub fn new(store: relais_store::SharedStore, base: relais_core::ids::BaseId) -> Self {
        Self {
            store,
            base,
            known: std::collections::HashMap::new(),
        }
    }

    /// Names the employee of each line about one (a line about someone no
    /// longer in the base keeps the name the stream gave it).
    pub async fn name(&mut self, lines: &mut [ReportLine]) {
        let missing: std::collections::BTreeSet<i64> = lines
            .iter()
            .filter_map(|l| l.employee)
            .filter(|id| !self.known.contains_key(id))
            .collect();
        if !missing.is_empty() {
            if self.known.len() + missing.len() > NAMES_KEPT {
                self.known.clear();
            }
            let ids: Vec<relais_core::ids::EmployeeId> = missing
                .into_iter()
                .map(relais_core::ids::EmployeeId)
                .collect();
            match self.store.employees_by_ids(self.base, &ids).await {
                Ok(found) => self.known.extend(found.into_iter().map(|e| {
                    let who = format!("{} ({})", e.display_name(), e.data.employee_number);
                    (e.id.0, who)
                })),
                Err(e) => tracing::warn!(error = %e, "cannot name the employees of a run's lines"),
            }
        }
        for line in lines {
            let detail = line.detail.take();
            // The base's name of the person; else the stream's, already
            // in the label with the detail.
            if let Some(who) = line.employee.and_then(|id| self.known.get(&id)) {
                line.label = ReportLine::label_of(who, detail.as_ref());
            }
        }
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    #[tokio::test]
    async fn a_running_report_hands_on_its_counts_and_requests() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(SPILL_CHANNEL);
        let mut report = Report {
            spill: Some(tx),
            ..Report::default()
        };
        report.partner_requests = 3;
        report
            .sent
            .fetch_add(2, std::sync::atomic::Ordering::Relaxed);
        report.push(ReportLine {
            stream: "employees".into(),
            key: "1".into(),
            label: String::new(),
            outcome: Outcome::Created,
            fields: Vec::new(),
            employee: None,
            detail: None,
        });
        report.maybe_spill().await;
        let spilled = rx.try_recv().unwrap();
        assert_eq!(
            (
                spilled.lines.len(),
                spilled.counts.all.created,
                spilled.partner_requests
            ),
            (1, 1, 5)
        );
        report.settle_requests();
        assert_eq!((report.partner_requests, report.requests_sent()), (5, 5));
    }
}
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
    /// Records per outcome of each stream, by stream name.
    pub streams: std::collections::BTreeMap<String, RunCounts>,
    /// One line per record touched (not those already in step).
    pub lines: Vec<ReportLine>,
    /// Requests sent to the partner.
    pub partner_requests: u64,
    /// Whether the checkpoint moved (only when every write was confirmed).
    pub checkpoint_moved: bool,
    /// Where lines and progress go as the run goes: lines once 1,000 have
    /// gathered or a quarter of a second has passed, with the counts and
    /// requests so far, so that a long run's report does not grow in memory
    /// and a run killed part-way keeps what it had done (the runtime stores
    /// them as they come). The channel is bounded: a run that writes faster
    /// than its report is stored waits for it.
    #[serde(skip)]
    pub spill: Option<tokio::sync::mpsc::Sender<Spill>>,
    /// Partner requests sent, retries included, counted by the HTTP layer
    /// while the run's work goes on (see [`crate::http::counting_requests`])
    /// and not yet folded into [`Report::partner_requests`].
    #[serde(skip)]
    pub sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// When lines and progress were last handed to the spill.
    #[serde(skip)]
    pub last_spill: Option<std::time::Instant>,
}

/// What a run hands to its report's writer as it goes: the lines gathered
/// since the last time, with the counts and partner requests so far, stored
/// together so that a report's counts always match its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Spill {
    /// Lines to add to the report, in order.
    pub lines: Vec<ReportLine>,
    /// Records per outcome so far, in all and per stream.
    pub counts: relais_core::integration::StoredCounts,
    /// Partner requests sent so far, retries included.
    pub partner_requests: u64,
}

/// Lines kept in memory before they are handed to the spill.
const SPILL_AT: usize = 1_000;

/// Batches of lines or progress waiting to be stored, at most.
pub const SPILL_CHANNEL: usize = 8;

/// The longest the counts of a running run wait before they are handed on.
const SPILL_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl Report {
    /// Records one record's line (handed on by the next [`Report::maybe_spill`]).
    pub fn push(&mut self, line: ReportLine) {
        self.counts.add(&line.outcome);
        self.streams
            .entry(line.stream.clone())
            .or_default()
            .add(&line.outcome);
        if line.outcome != Outcome::Unchanged {
            self.lines.push(line);
        }
    }

    /// Records a record of `stream` already in step.
    pub fn unchanged(&mut self, stream: &str) {
        self.counts.add(&Outcome::Unchanged);
        match self.streams.get_mut(stream) {
            Some(counts) => counts.add(&Outcome::Unchanged),
            None => self
                .streams
                .entry(stream.to_owned())
                .or_default()
                .add(&Outcome::Unchanged),
        }
    }

    /// Partner requests sent so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.partner_requests + self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Folds the requests counted so far into [`Report::partner_requests`].
    pub fn settle_requests(&mut self) {
        self.partner_requests += self.sent.swap(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// Hands lines and progress on when 1,000 lines have gathered or a
    /// quarter of a second has passed since the last time.
    pub async fn maybe_spill(&mut self) {
        if self.spill.is_none() {
            return;
        }
        let due = self.lines.len() >= SPILL_AT
            || self.last_spill.is_none_or(|t| t.elapsed() >= SPILL_EVERY);
        if due {
            self.spill_now().await;
        }
    }

    /// Hands the lines gathered and the progress so far to the spill,
    /// waiting while it is full.
    pub async fn spill_now(&mut self) {
        let Some(spill) = self.spill.clone() else {
            return;
        };
        self.last_spill = Some(std::time::Instant::now());
        let spilled = Spill {
            lines: std::mem::take(&mut self.lines),
            counts: self.stored_counts(),
            partner_requests: self.requests_sent(),
        };
        if let Err(back) = spill.send(spilled).await {
            // The receiver is gone (the run is ending): keep them here.
            tracing::warn!("report lines kept in memory: their writer stopped");
            self.lines = back.0.lines;
        }
    }

    /// The counts as the store keeps them: in all and per stream.
    pub fn stored_counts(&self) -> relais_core::integration::StoredCounts {
        relais_core::integration::StoredCounts {
            all: self.counts,
            streams: self.streams.clone(),
        }
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

    #[tokio::test]
    async fn long_reports_spill_their_lines_in_order() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(SPILL_CHANNEL);
        let mut report = Report {
            spill: Some(tx),
            ..Report::default()
        };
        let reader = tokio::spawn(async move {
            let mut batches = Vec::new();
            while let Some(spilled) = rx.recv().await {
                batches.push(spilled.lines);
            }
            batches
        });
        for n in 0..2_500 {
            report.push(ReportLine {
                stream: "employees".into(),
                key: n.to_string(),
                label: String::new(),
                outcome: Outcome::Created,
                fields: Vec::new(),
                employee: None,
                detail: None,
            });
            report.unchanged("employees");
            report.maybe_spill().await;
        }
        report.spill = None;
        let batches = reader.await.unwrap();
        // The first line goes at once (the first quarter of a second starts
        // then), then a thousand at a time.
        let (first, second) = (batches[1].clone(), batches[2].clone());
        assert_eq!(batches.len(), 3, "{}", batches.len());
        assert_eq!(batches[0].len(), 1);
        assert_eq!(
            (first.len(), second.len(), report.lines.len()),
            (1_000, 1_000, 499)
        );
        assert_eq!(
            (first[0].key.as_str(), second[0].key.as_str()),
            ("1", "1001")
        );
        assert_eq!(report.lines[0].key, "2001");
        assert_eq!(
            (report.counts.created, report.counts.unchanged),
            (2_500, 2_500)
        );
    }
}
