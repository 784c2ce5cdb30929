//! Absence accounts, leave periods and the half-day leaves they expand to.

use crate::calendar::{HalfDaySlot, WorkCalendar};
use crate::error::{DomainError, Result};
use crate::ids::{AbsenceAccountId, BaseId, EmployeeId, LeavePeriodId};
use crate::org::Name;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vdoc])* #[serde(rename = $code)] $variant),* }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The stored code.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($code => Ok($name::$variant),)*
                    other => Err(DomainError::new(
                        $field,
                        format!("'{other}' is not valid: use one of {}", [$($code),*].join(", ")),
                    )),
                }
            }
        }
    };
}

code_enum! {
    /// What kind of absence an account holds.
    AbsenceCategory, "category" {
        /// Congés payés.
        PaidLeave = "paid-leave",
        /// Réduction du temps de travail.
        Rtt = "rtt",
        /// Sickness leave.
        Sickness = "sickness",
        /// Telework (remote work days).
        Telework = "telework",
        /// Unpaid leave.
        Unpaid = "unpaid",
        /// Anything else.
        Other = "other",
    }
}

impl AbsenceCategory {
    /// The category as people read it (French).
    pub fn label(self) -> &'static str {
        match self {
            AbsenceCategory::PaidLeave => "Congés payés",
            AbsenceCategory::Rtt => "RTT",
            AbsenceCategory::Sickness => "Maladie",
            AbsenceCategory::Telework => "Télétravail",
            AbsenceCategory::Unpaid => "Congé sans solde",
            AbsenceCategory::Other => "Autre",
        }
    }

    /// The category as people read it in `lang` (`en`, else French).
    pub fn label_in(self, lang: &str) -> &'static str {
        if lang != "en" {
            return self.label();
        }
        match self {
            AbsenceCategory::PaidLeave => "Paid leave",
            AbsenceCategory::Rtt => "RTT (reduced working time)",
            AbsenceCategory::Sickness => "Sickness",
            AbsenceCategory::Telework => "Telework",
            AbsenceCategory::Unpaid => "Unpaid leave",
            AbsenceCategory::Other => "Other",
        }
    }
}

code_enum! {
    /// Whether an account counts in days or hours.
    AbsenceUnit, "unit" {
        /// Counted in (half) days.
        Days = "days",
        /// Counted in hours.
        Hours = "hours",
    }
}

code_enum! {
    /// Where a leave period stands in its approval workflow.
    LeaveStatus, "status" {
        /// Waiting for approval.
        Pending = "pending",
        /// Approved.
        Approved = "approved",
        /// Refused.
        Denied = "denied",
        /// Withdrawn or cancelled after approval.
        Cancelled = "cancelled",
    }
}

impl LeaveStatus {
    /// The numeric status of the v3 API: 0 pending, 2 approved, 3 denied, 4 cancelled.
    pub fn api_code(self) -> i32 {
        match self {
            LeaveStatus::Pending => 0,
            LeaveStatus::Approved => 2,
            LeaveStatus::Denied => 3,
            LeaveStatus::Cancelled => 4,
        }
    }

    /// Checks that a period in this status may move to `next`: a pending
    /// period can be approved, denied or cancelled, an approved one cancelled;
    /// denied and cancelled periods are final.
    pub fn check_transition(self, next: LeaveStatus) -> Result<()> {
        use LeaveStatus::*;
        match (self, next) {
            (Pending, Approved | Denied | Cancelled) | (Approved, Cancelled) => Ok(()),
            _ => Err(DomainError::new(
                "status",
                format!("a {self} leave period cannot become {next}"),
            )),
        }
    }

    /// Whether a period in this status still occupies the calendar.
    pub fn occupies_calendar(self) -> bool {
        matches!(self, LeaveStatus::Pending | LeaveStatus::Approved)
    }
}

/// An absence account: an absence type employees take leave on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbsenceAccount {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: AbsenceAccountId,
    /// Name, unique in the base (e.g. « Congés payés »).
    pub name: Name,
    /// Category.
    pub category: AbsenceCategory,
    /// Days or hours.
    pub unit: AbsenceUnit,
    /// Whether new leave can be taken on it.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// The most days a new leave period may cover: five years, the longest
/// leave French law knows (congé de longue durée). Each working half day of
/// a period is a leave of its own, written with it.
pub const LONGEST_PERIOD_DAYS: i64 = 1_827;

/// A continuous span of half days, from `start` to `end` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct LeaveSpan {
    /// First half day.
    pub start: HalfDaySlot,
    /// Last half day.
    pub end: HalfDaySlot,
}

impl LeaveSpan {
    /// Builds a span, refusing an end before the start.
    pub fn new(start: HalfDaySlot, end: HalfDaySlot) -> Result<Self> {
        if end < start {
            return Err(DomainError::new(
                "endDate",
                format!(
                    "the period ends on {} {}, before it starts on {} {}",
                    end.date, end.half, start.date, start.half
                ),
            ));
        }
        Ok(Self { start, end })
    }

    /// Refuses, for a new leave period, a span of more than
    /// [`LONGEST_PERIOD_DAYS`] days.
    pub fn check_length(&self) -> Result<()> {
        let days = (self.end.date - self.start.date).num_days() + 1;
        if days > LONGEST_PERIOD_DAYS {
            return Err(DomainError::new(
                "endDate",
                format!(
                    "the period covers {days} days, from {} to {}: a leave period covers at most {LONGEST_PERIOD_DAYS} days (five years)",
                    self.start.date, self.end.date
                ),
            ));
        }
        Ok(())
    }

    /// Whether the two spans share at least one half day.
    pub fn overlaps(&self, other: &LeaveSpan) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// The working half days of the span, in order: one leave each.
    pub fn leaves(&self, calendar: &WorkCalendar) -> Vec<HalfDaySlot> {
        let mut out = Vec::new();
        let mut slot = self.start;
        while slot <= self.end {
            if calendar.is_working_day(slot.date) {
                out.push(slot);
            }
            slot = slot.next();
        }
        out
    }

    /// The number of working half days the span counts.
    pub fn working_half_days(&self, calendar: &WorkCalendar) -> u32 {
        calendar.working_half_days(self.start, self.end)
    }
}

/// Who or what created a leave period.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase", tag = "type", content = "name")]
pub enum LeaveSource {
    /// A person, through the admin pages or the API.
    Person,
    /// A CSV import.
    Import,
    /// An integration, named by its app.
    Integration(String),
}

impl LeaveSource {
    /// The stored code: `person`, `import` or `integration:<app>`.
    pub fn code(&self) -> String {
        match self {
            LeaveSource::Person => "person".into(),
            LeaveSource::Import => "import".into(),
            LeaveSource::Integration(app) => format!("integration:{app}"),
        }
    }

    /// Parses a stored code.
    pub fn parse(raw: &str) -> Result<Self> {
        match raw {
            "person" => Ok(LeaveSource::Person),
            "import" => Ok(LeaveSource::Import),
            _ => match raw.strip_prefix("integration:") {
                Some(app) if !app.is_empty() => Ok(LeaveSource::Integration(app.to_owned())),
                _ => Err(DomainError::new(
                    "source",
                    format!(
                        "'{raw}' is not a leave source: use person, import or integration:<app>"
                    ),
                )),
            },
        }
    }
}

/// A request for a new leave period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewLeavePeriod {
    /// Whose absence.
    pub employee_id: EmployeeId,
    /// On which account.
    pub account_id: AbsenceAccountId,
    /// From and to which half day.
    pub span: LeaveSpan,
    /// Initial status.
    pub status: LeaveStatus,
    /// Free comment.
    pub comment: Option<String>,
    /// Who created it.
    pub source: LeaveSource,
}

/// A leave period as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeavePeriod {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: LeavePeriodId,
    /// Whose absence.
    pub employee_id: EmployeeId,
    /// On which account.
    pub account_id: AbsenceAccountId,
    /// From and to which half day.
    pub span: LeaveSpan,
    /// Working half days counted on the owner's establishment calendar.
    pub half_days: u32,
    /// Workflow status.
    pub status: LeaveStatus,
    /// Free comment.
    pub comment: Option<String>,
    /// Who created it.
    pub source: LeaveSource,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Refuses `candidate` when it overlaps one of `existing` that still occupies
/// the calendar (pending or approved).
pub fn check_no_overlap<'a>(
    candidate: &LeaveSpan,
    existing: impl IntoIterator<Item = (LeavePeriodId, LeaveSpan, LeaveStatus)> + 'a,
) -> Result<()> {
    for (id, span, status) in existing {
        if status.occupies_calendar() && span.overlaps(candidate) {
            return Err(DomainError::new(
                "leavePeriod",
                format!(
                    "overlaps leave period {id} ({} {} to {} {}) of the same employee",
                    span.start.date, span.start.half, span.end.date, span.end.half
                ),
            ));
        }
    }
    Ok(())
}

/// A half-day leave's identifier, as the API writes it:
/// `<ownerId>-<yyyyMMdd>-AM` or `-PM` (`42-20260105-AM`). A leave is one
/// half day of a leave period: its owner, its day and which half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaveId {
    /// Whose leave it is.
    pub owner: EmployeeId,
    /// The day and the half of it.
    pub slot: HalfDaySlot,
}

impl LeaveId {
    /// An identifier as the API writes it, for messages and documentation.
    pub const EXAMPLE: &'static str = "42-20260105-AM";
}

impl fmt::Display for LeaveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}",
            self.owner,
            self.slot.date.format("%Y%m%d"),
            self.slot.half
        )
    }
}

impl FromStr for LeaveId {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        let refuse = || {
            DomainError::new(
                "id",
                format!(
                    "'{s}' is not a leave identifier: write <employee id>-<yyyyMMdd>-AM or -PM, \
                     e.g. {}",
                    LeaveId::EXAMPLE
                ),
            )
        };
        let mut parts = s.splitn(3, '-');
        let (Some(owner), Some(date), Some(half)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(refuse());
        };
        let owner: i64 = owner
            .parse()
            .ok()
            .filter(|n| *n > 0 && owner.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(refuse)?;
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse());
        }
        let date = chrono::NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| refuse())?;
        let half = match half {
            "AM" => crate::calendar::HalfDay::Am,
            "PM" => crate::calendar::HalfDay::Pm,
            _ => return Err(refuse()),
        };
        Ok(LeaveId {
            owner: EmployeeId(owner),
            slot: HalfDaySlot::new(date, half),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::HalfDay::{Am, Pm};
    use chrono::NaiveDate;

    fn slot(y: i32, m: u32, d: u32, h: crate::calendar::HalfDay) -> HalfDaySlot {
        HalfDaySlot::new(NaiveDate::from_ymd_opt(y, m, d).unwrap(), h)
    }

    #[test]
    fn a_leave_identifier_reads_back_as_written() {
        let id: LeaveId = "42-20260105-PM".parse().unwrap();
        assert_eq!(id.owner, EmployeeId(42));
        assert_eq!(id.slot, slot(2026, 1, 5, Pm));
        assert_eq!(id.to_string(), "42-20260105-PM");
        assert_eq!(
            LeaveId {
                owner: EmployeeId(7),
                slot: slot(2026, 12, 31, Am)
            }
            .to_string(),
            "7-20261231-AM"
        );
    }

    #[test]
    fn a_malformed_leave_identifier_is_refused_with_its_shape() {
        for bad in [
            "",
            "42",
            "42-20260105",
            "42-20260105-",
            "42-20260105-am",
            "42-20260105-XM",
            "42-2026015-AM",
            "42-20261305-AM",
            "42-20260230-AM",
            "-1-20260105-AM",
            "0-20260105-AM",
            "+4-20260105-AM",
            "x-20260105-AM",
            "42-20260105-AM-1",
            "42-2026-01-05-AM",
            "99999999999999999999-20260105-AM",
            " 42-20260105-AM",
        ] {
            let e = bad.parse::<LeaveId>().unwrap_err();
            assert_eq!(e.field, "id", "{bad:?}");
            assert!(
                e.message.contains("<employee id>-<yyyyMMdd>-AM"),
                "{bad:?}: {}",
                e.message
            );
        }
    }

    #[test]
    fn span_refuses_end_before_start() {
        assert!(LeaveSpan::new(slot(2026, 3, 2, Am), slot(2026, 3, 2, Pm)).is_ok());
        let err = LeaveSpan::new(slot(2026, 3, 2, Pm), slot(2026, 3, 2, Am)).unwrap_err();
        assert_eq!(err.field, "endDate");
        assert!(LeaveSpan::new(slot(2026, 3, 3, Am), slot(2026, 3, 2, Pm)).is_err());
        // Five years are the most a new period covers.
        let five = LeaveSpan::new(slot(2026, 1, 1, Am), slot(2030, 12, 31, Pm)).unwrap();
        assert!(five.check_length().is_ok());
        let longer = LeaveSpan::new(slot(2026, 1, 1, Am), slot(2031, 1, 2, Am)).unwrap();
        let err = longer.check_length().unwrap_err();
        assert_eq!(err.field, "endDate");
        assert!(err.message.contains("covers 1828 days"), "{err}");
    }

    #[test]
    fn a_week_expands_to_ten_half_day_leaves() {
        let span = LeaveSpan::new(slot(2026, 3, 2, Am), slot(2026, 3, 8, Pm)).unwrap();
        let cal = WorkCalendar::default();
        let leaves = span.leaves(&cal);
        assert_eq!(leaves.len(), 10);
        assert_eq!(leaves[0], slot(2026, 3, 2, Am));
        assert_eq!(leaves[9], slot(2026, 3, 6, Pm));
        assert_eq!(span.working_half_days(&cal), 10);
    }

    #[test]
    fn overlap_rules() {
        let a = LeaveSpan::new(slot(2026, 3, 2, Am), slot(2026, 3, 3, Am)).unwrap();
        let b = LeaveSpan::new(slot(2026, 3, 3, Pm), slot(2026, 3, 4, Pm)).unwrap();
        let c = LeaveSpan::new(slot(2026, 3, 3, Am), slot(2026, 3, 3, Am)).unwrap();
        assert!(!a.overlaps(&b), "adjacent half days do not overlap");
        assert!(a.overlaps(&c) && c.overlaps(&a));
        let existing = [(LeavePeriodId(7), a, LeaveStatus::Approved)];
        assert!(check_no_overlap(&b, existing).is_ok());
        let err = check_no_overlap(&c, existing).unwrap_err();
        assert!(err.message.contains("leave period 7"));
        let cancelled = [(LeavePeriodId(7), a, LeaveStatus::Cancelled)];
        assert!(check_no_overlap(&c, cancelled).is_ok());
        let denied = [(LeavePeriodId(7), a, LeaveStatus::Denied)];
        assert!(check_no_overlap(&c, denied).is_ok());
    }

    #[test]
    fn codes_round_trip() {
        for s in LeaveStatus::ALL {
            assert_eq!(s.as_str().parse::<LeaveStatus>().unwrap(), *s);
        }
        for c in AbsenceCategory::ALL {
            assert_eq!(c.as_str().parse::<AbsenceCategory>().unwrap(), *c);
        }
        assert!("vacation"
            .parse::<AbsenceCategory>()
            .unwrap_err()
            .message
            .contains("paid-leave"));
        assert_eq!(LeaveStatus::Approved.api_code(), 2);
        assert!(LeaveStatus::Pending
            .check_transition(LeaveStatus::Approved)
            .is_ok());
        assert!(LeaveStatus::Approved
            .check_transition(LeaveStatus::Cancelled)
            .is_ok());
        assert!(LeaveStatus::Cancelled
            .check_transition(LeaveStatus::Approved)
            .is_err());
        assert!(LeaveStatus::Denied
            .check_transition(LeaveStatus::Pending)
            .is_err());
        for src in [
            LeaveSource::Person,
            LeaveSource::Import,
            LeaveSource::Integration("semana".into()),
        ] {
            assert_eq!(LeaveSource::parse(&src.code()).unwrap(), src);
        }
        assert!(LeaveSource::parse("integration:").is_err());
    }
}
