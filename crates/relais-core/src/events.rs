//! Change events: what changed in a base, in the order it changed. The
//! database writes one with every create, update and delete of the records
//! partners follow (see the store's `events` migration); a feed shows each
//! reader the ones it may see.

use crate::absence::LeavePeriod;
use crate::employee::Employee;
use crate::expense::{ExpenseClaim, ExpenseItem};
use crate::ids::BaseId;
use crate::org::{Department, Establishment, LegalUnit};
use crate::DomainError;
use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;

/// What an event is about: the first half of its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// An employee (`employee.*`).
    Employee,
    /// A department (`department.*`).
    Department,
    /// An establishment (`business-establishment.*`).
    Establishment,
    /// A legal entity (`legal-entity.*`).
    LegalEntity,
    /// A leave period, which is also its leave request (`leave.*`).
    Leave,
    /// An expense claim (`expense-claim.*`).
    ExpenseClaim,
    /// An expense claim's item (`expense-claim-item.*`).
    ExpenseClaimItem,
}

impl EventKind {
    /// Every kind, in the order the feed documents them.
    pub const ALL: [EventKind; 7] = [
        EventKind::Employee,
        EventKind::Department,
        EventKind::Establishment,
        EventKind::LegalEntity,
        EventKind::Leave,
        EventKind::ExpenseClaim,
        EventKind::ExpenseClaimItem,
    ];

    /// What people call such records, in `lang` (`en`, else French), plural.
    pub fn label(self, lang: &str) -> &'static str {
        let (fr, en) = match self {
            EventKind::Employee => ("collaborateurs", "employees"),
            EventKind::Department => ("départements", "departments"),
            EventKind::Establishment => ("établissements", "establishments"),
            EventKind::LegalEntity => ("entités légales", "legal entities"),
            EventKind::Leave => ("absences", "leaves"),
            EventKind::ExpenseClaim => ("notes de frais", "expense claims"),
            EventKind::ExpenseClaimItem => ("lignes de notes de frais", "expense claim items"),
        };
        if lang == "en" {
            en
        } else {
            fr
        }
    }

    /// Its label followed by `what` is said of it, in `lang`: « collaborateurs :
    /// création, modification ».
    pub fn label_with(self, what: &str, lang: &str) -> String {
        // French sets a colon apart with a space before it.
        let colon = if lang == "en" { ": " } else { " : " };
        format!("{}{colon}{what}", self.label(lang))
    }

    /// Its name in topics: `employee`, `business-establishment`…
    pub fn code(self) -> &'static str {
        match self {
            EventKind::Employee => "employee",
            EventKind::Department => "department",
            EventKind::Establishment => "business-establishment",
            EventKind::LegalEntity => "legal-entity",
            EventKind::Leave => "leave",
            EventKind::ExpenseClaim => "expense-claim",
            EventKind::ExpenseClaimItem => "expense-claim-item",
        }
    }
}

/// What happened to the record: the second half of its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventAction {
    /// It was created.
    Created,
    /// It was changed.
    Updated,
    /// It was deleted.
    Deleted,
}

impl EventAction {
    /// Every action.
    pub const ALL: [EventAction; 3] = [
        EventAction::Created,
        EventAction::Updated,
        EventAction::Deleted,
    ];

    /// What people call it, in `lang` (`en`, else French): a noun, as a
    /// column heads it (« création »).
    pub fn label(self, lang: &str) -> &'static str {
        let (fr, en) = match self {
            EventAction::Created => ("création", "creation"),
            EventAction::Updated => ("modification", "update"),
            EventAction::Deleted => ("suppression", "deletion"),
        };
        if lang == "en" {
            en
        } else {
            fr
        }
    }

    /// Its name in topics.
    pub fn code(self) -> &'static str {
        match self {
            EventAction::Created => "created",
            EventAction::Updated => "updated",
            EventAction::Deleted => "deleted",
        }
    }
}

/// An event's topic: `employee.updated`, `leave.created`…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic {
    /// What it is about.
    pub kind: EventKind,
    /// What happened.
    pub action: EventAction,
}

impl Topic {
    /// Every topic there is.
    pub fn all() -> impl Iterator<Item = Topic> {
        EventKind::ALL.into_iter().flat_map(|kind| {
            EventAction::ALL
                .into_iter()
                .map(move |action| Topic { kind, action })
        })
    }

    /// What people call it, in `lang` (`en`, else French): « collaborateurs :
    /// modification ».
    pub fn label(self, lang: &str) -> String {
        self.kind.label_with(self.action.label(lang), lang)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.code(), self.action.code())
    }
}

impl FromStr for Topic {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, DomainError> {
        // Read by its two codes, not by writing every topic out: every
        // stored event's topic is read this way.
        let (kind, action) = raw.rsplit_once('.').ok_or_else(|| not_a_topic(raw))?;
        let kind = EventKind::ALL.into_iter().find(|k| k.code() == kind);
        let action = EventAction::ALL.into_iter().find(|a| a.code() == action);
        match (kind, action) {
            (Some(kind), Some(action)) => Ok(Topic { kind, action }),
            _ => Err(not_a_topic(raw)),
        }
    }
}

fn not_a_topic(raw: &str) -> DomainError {
    let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.code()).collect();
    DomainError::new(
        "topics",
        format!(
            "'{raw}' is not a topic: use <record>.<created|updated|deleted> or <record>.*, the record one of {}",
            kinds.join(", ")
        ),
    )
}

/// A topic filter: one topic, or every action of a kind (`employee.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicFilter {
    /// Exactly this topic.
    One(Topic),
    /// Every topic of this kind.
    Kind(EventKind),
}

impl TopicFilter {
    /// Whether `topic` passes.
    pub fn admits(self, topic: Topic) -> bool {
        match self {
            TopicFilter::One(t) => t == topic,
            TopicFilter::Kind(k) => k == topic.kind,
        }
    }

    /// Parses a comma-separated list (`employee.*,leave.created`).
    pub fn parse_list(raw: &str) -> Result<Vec<TopicFilter>, DomainError> {
        raw.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::parse)
            .collect()
    }
}

impl fmt::Display for TopicFilter {
    /// As written in a list: `employee.updated`, `employee.*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicFilter::One(t) => t.fmt(f),
            TopicFilter::Kind(k) => write!(f, "{}.*", k.code()),
        }
    }
}

impl FromStr for TopicFilter {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, DomainError> {
        if let Some(kind) = raw.strip_suffix(".*") {
            return EventKind::ALL
                .into_iter()
                .find(|k| k.code() == kind)
                .map(TopicFilter::Kind)
                .ok_or_else(|| not_a_topic(raw));
        }
        raw.parse().map(TopicFilter::One)
    }
}

/// The record an event carries, as it was just after the change (just
/// before it, for a deletion).
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// An employee.
    Employee(Box<Employee>),
    /// A department.
    Department(Department),
    /// An establishment.
    Establishment(Establishment),
    /// A legal entity.
    LegalEntity(LegalUnit),
    /// A leave period.
    Leave(LeavePeriod),
    /// An expense claim.
    ExpenseClaim(ExpenseClaim),
    /// An expense claim's item.
    ExpenseClaimItem(ExpenseItem),
}

/// One change of a base, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its base.
    pub base_id: BaseId,
    /// Its place in the base's order (the feed's cursor).
    pub seq: i64,
    /// What happened to what.
    pub topic: Topic,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who wrote it: `api:<key>`, `admin`, `cli`, `connector:<app>`…
    pub source: String,
    /// The record after the change (before it, for a deletion).
    pub data: Record,
    /// The record before an update.
    pub previous: Option<Record>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_read_back_and_refuse_what_is_not_one() {
        for t in Topic::all() {
            assert_eq!(t.to_string().parse::<Topic>().unwrap(), t);
        }
        assert_eq!(Topic::all().count(), 21);
        for bad in [
            "",
            "employee",
            "employee.",
            ".created",
            "employee.created.again",
            "Employee.created",
            "employee.created ",
        ] {
            let e = bad.parse::<Topic>().unwrap_err();
            assert!(e.message.contains("is not a topic"), "{bad:?}: {e}");
        }
        let e = "employee.removed".parse::<Topic>().unwrap_err();
        assert!(
            e.message.contains("'employee.removed' is not a topic"),
            "{e}"
        );
        let filters = TopicFilter::parse_list("employee.*, leave.created").unwrap();
        let updated = Topic {
            kind: EventKind::Employee,
            action: EventAction::Updated,
        };
        assert!(filters[0].admits(updated));
        assert!(!filters[1].admits(updated));
        assert_eq!(filters[0].to_string(), "employee.*");
        assert_eq!(filters[1].to_string(), "leave.created");
        let e = "people.*".parse::<TopicFilter>().unwrap_err();
        assert!(e.message.contains("'people.*' is not a topic"), "{e}");
    }

    #[test]
    fn every_topic_has_a_label_of_its_own_in_each_language() {
        for lang in ["fr", "en"] {
            let labels: std::collections::HashSet<String> =
                Topic::all().map(|t| t.label(lang)).collect();
            assert_eq!(labels.len(), 21, "{lang}: {labels:?}");
        }
        let updated = Topic {
            kind: EventKind::Employee,
            action: EventAction::Updated,
        };
        assert_eq!(updated.label("fr"), "collaborateurs : modification");
        assert_eq!(updated.label("en"), "employees: update");
    }
}
