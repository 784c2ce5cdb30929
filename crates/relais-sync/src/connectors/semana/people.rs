//! What Semana's three streams share: the people both sides know (an
//! employee and their Semana user), the window of days, the accounts, and
//! the run they are opened for ([`Opened`]).

use super::Config;
use crate::engine::Setup;
use crate::error::SyncError;
use crate::lucca;
use chrono::{Days, NaiveDate};
use relais_core::said::Said;
use std::collections::HashMap;
use std::sync::Mutex;

/// What each stream of one Semana run is opened with.
#[derive(Clone)]
pub struct Opened {
    /// Where the base is read.
    pub source: crate::source::LuccaSource,
    /// Semana's API.
    pub client: super::SemanaClient,
    /// The people both sides know.
    pub people: std::sync::Arc<People>,
    /// The days synced.
    pub window: Window,
    /// Requests to Semana in flight at once.
    pub concurrency: usize,
}

/// The days synced: from `weeks` back to `weeks` ahead of today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

impl Window {
    /// The window of `weeks` weeks around `today`.
    pub fn around(today: NaiveDate, weeks: u32) -> Self {
        let days = Days::new(u64::from(weeks) * 7);
        Self {
            from: today.checked_sub_days(days).unwrap_or(today),
            to: today.checked_add_days(days).unwrap_or(today),
        }
    }

    /// Whether `day` (`YYYY-MM-DD`) is in the window.
    pub fn holds(&self, day: &str) -> bool {
        NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok_and(|d| self.contains(d))
    }

    /// Whether `day` is in the window.
    pub fn contains(&self, day: NaiveDate) -> bool {
        day >= self.from && day <= self.to
    }

    /// Whether `day` is before the window: history, no longer read.
    pub fn is_past(&self, day: &str) -> bool {
        NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok_and(|d| d < self.from)
    }

    /// Whether a day record the other side holds (its `date` field) is
    /// still within what the window reads, rather than history.
    pub fn still_holds(&self, record: &relais_core::ledger::Acknowledged) -> bool {
        !record
            .fields
            .get("date")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|d| self.is_past(d))
    }
}

/// The half days of a day a booking or a period covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The whole day.
    Day,
    /// The morning.
    Morning,
    /// The afternoon.
    Afternoon,
}

impl Period {
    /// Semana's name of it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Morning => "morning",
            Self::Afternoon => "afternoon",
        }
    }

    /// Reads Semana's name of it.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "day" => Some(Self::Day),
            "morning" => Some(Self::Morning),
            "afternoon" => Some(Self::Afternoon),
            _ => None,
        }
    }

    /// Both periods of one day together.
    pub fn with(self, other: Self) -> Self {
        if self == other {
            self
        } else {
            Self::Day
        }
    }

    /// The base's half days it spans: start and end (`AM` / `PM`).
    pub fn halves(self) -> (&'static str, &'static str) {
        match self {
            Self::Day => ("AM", "PM"),
            Self::Morning => ("AM", "AM"),
            Self::Afternoon => ("PM", "PM"),
        }
    }

    /// As a person reads it.
    pub fn label_in(self, lang: &str) -> &'static str {
        relais_core::connector::FieldValue::Words(super::PERIOD_WORDS)
            .words(self.as_str(), lang)
            .unwrap_or(self.as_str())
    }
}

/// The accounts a run works with.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// Sent to Semana as days off.
    pub off: Vec<i64>,
    /// Where telework days come back into: (identifier, name).
    pub telework: (i64, String),
}

impl Accounts {
    /// The accounts the configuration names, or by default: the base's one
    /// telework account, and every other account for days off.
    pub async fn read(setup: &Setup, config: &Config) -> Result<Self, SyncError> {
        let listed = setup
            .source
            .all(
                "/api/v3/leaveAccounts",
                &format!("fields={}", lucca::LEAVE_ACCOUNT_FIELDS),
            )
            .await?;
        let accounts: Vec<(i64, String, String)> =
            lucca::typed::<lucca::LeaveAccount>("absence account", listed)?
                .into_iter()
                .filter_map(|a| Some((a.id, a.name?, a.category.unwrap_or_default())))
                .collect();
        let telework = match config.telework_account {
            Some(id) => accounts
                .iter()
                .find(|a| a.0 == id)
                .map(|a| (a.0, a.1.clone()))
                .ok_or_else(|| {
                    SyncError::Config(Said::new(
                        format!("telework_account {id} is not an absence account of the base"),
                        format!("le compte de télétravail {id} n'est pas un compte d'absence de la base"),
                    ))
                })?,
            None => {
                let found: Vec<&(i64, String, String)> =
                    accounts.iter().filter(|a| a.2 == "telework").collect();
                match found.as_slice() {
                    [one] => (one.0, one.1.clone()),
                    [] => {
                        return Err(SyncError::Config(Said::new(
                            "the base has no telework account: choose the account of telework days in the settings",
                            "la base n'a pas de compte de télétravail : choisissez le compte des jours de télétravail dans les réglages",
                        )))
                    }
                    several => {
                        let names: Vec<&str> = several.iter().map(|a| a.1.as_str()).collect();
                        let names = names.join(", ");
                        return Err(SyncError::Config(Said::new(
                            format!("the base has several telework accounts ({names}): choose the account of telework days in the settings"),
                            format!("la base a plusieurs comptes de télétravail ({names}) : choisissez le compte des jours de télétravail dans les réglages"),
                        )));
                    }
                }
            }
        };
        let off = if config.accounts.is_empty() {
            accounts
                .iter()
                .filter(|a| a.2 != "telework" && a.0 != telework.0)
                .map(|a| a.0)
                .collect()
        } else {
            for id in &config.accounts {
                if !accounts.iter().any(|a| a.0 == *id) {
                    return Err(SyncError::Config(Said::new(
                        format!("accounts: {id} is not an absence account of the base"),
                        format!("comptes : {id} n'est pas un compte d'absence de la base"),
                    )));
                }
            }
            // Telework days come back from Semana: they are never sent to it.
            config
                .accounts
                .iter()
                .copied()
                .filter(|id| *id != telework.0)
                .collect()
        };
        Ok(Self { off, telework })
    }
}

/// A person both sides know.
#[derive(Debug, Clone)]
pub struct Person {
    /// Their Semana user.
    pub collaborator: u64,
    /// Their name, as the base has it.
    pub name: String,
}

/// The people Semana holds, by employee and by Semana user: loaded from
/// the users stream's ledger when a run opens, completed as it writes.
#[derive(Debug, Default)]
pub struct People {
    inner: Mutex<Known>,
}

#[derive(Debug, Default)]
struct Known {
    by_employee: HashMap<i64, Person>,
    by_collaborator: HashMap<u64, i64>,
}

/// How a user's fields name the person.
pub fn name_of(fields: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    let part = |n: &str| fields.get(n).and_then(|v| v.as_str()).unwrap_or_default();
    format!("{} {}", part("firstName"), part("lastName"))
        .trim()
        .to_owned()
}

impl People {
    /// The people the users stream's ledger holds.
    pub async fn load(setup: &Setup) -> Result<Self, SyncError> {
        let job = setup.stream_job(super::DECLARATION.streams[0].name);
        let people = Self::default();
        let mut after: Option<String> = None;
        loop {
            let page = setup
                .store
                .acknowledged_page(&job, after.as_deref(), 1000)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.key.clone());
            for a in &page {
                let (Ok(employee), Some(collaborator)) = (
                    a.key.parse::<i64>(),
                    a.partner_id.as_deref().and_then(|p| p.parse::<u64>().ok()),
                ) else {
                    continue;
                };
                people.know(employee, collaborator, name_of(&a.fields));
            }
        }
        Ok(people)
    }

    /// Records that `employee` is Semana's user `collaborator`.
    pub fn know(&self, employee: i64, collaborator: u64, name: String) {
        let mut k = self.inner.lock().expect("never poisoned");
        k.by_collaborator.insert(collaborator, employee);
        k.by_employee
            .insert(employee, Person { collaborator, name });
    }

    /// The Semana user of `employee`, when Semana has one.
    pub fn of_employee(&self, employee: i64) -> Option<Person> {
        self.inner
            .lock()
            .expect("never poisoned")
            .by_employee
            .get(&employee)
            .cloned()
    }

    /// The employee Semana's user `collaborator` is, when the base has them.
    pub fn of_collaborator(&self, collaborator: u64) -> Option<i64> {
        self.inner
            .lock()
            .expect("never poisoned")
            .by_collaborator
            .get(&collaborator)
            .copied()
    }

    /// Who and when a day record (`ownerId`, `date`, `period`) is, as a
    /// person reads them: ("Margaux Payet", "02/12/2026 (matin)" and
    /// "2 Dec 2026 (morning)"); someone Semana does not know by their
    /// number in the base, in words of each language.
    pub fn describe_day(
        &self,
        fields: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> (Said, Said) {
        let text = |n: &str| fields.get(n).and_then(serde_json::Value::as_str);
        let period = text("period").and_then(Period::parse);
        let when = |lang: &str| {
            let day = day_label(text("date").unwrap_or_default(), lang);
            match period {
                Some(p) => format!("{day} ({})", p.label_in(lang)),
                None => day,
            }
        };
        let owner = owner_of(fields);
        let who = self.named(fields).map_or_else(
            || {
                Said::new(
                    format!("employee no. {owner}"),
                    format!("collaborateur n° {owner}"),
                )
            },
            |name| Said::new(name.clone(), name),
        );
        (who, Said::new(when("en"), when("fr")))
    }

    /// The name of a day record's owner, when Semana knows them.
    pub fn named(
        &self,
        fields: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Option<String> {
        self.of_employee(owner_of(fields))
            .map(|p| p.name)
            .filter(|n| !n.is_empty())
    }
}

/// The base's employee a day record (`ownerId`) is about (0 when it says none).
fn owner_of(fields: &std::collections::BTreeMap<String, serde_json::Value>) -> i64 {
    fields
        .get("ownerId")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0)
}

/// A day as a person of `lang` reads it: `10/03/2027`, `10 Mar 2027`.
pub fn day_label(day: &str, lang: &str) -> String {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| relais_core::said::day(d, lang))
        .unwrap_or_else(|_| day.to_owned())
}

/// The part of a day stream's `Stream` impl that days off and telework
/// share: its declaration (stream `$index` of Semana's), its concurrency,
/// whole reads within its window, and how its lines name a day — the
/// person, then what the day is and its date, in English (`$what_en`)
/// and in French (`$what_fr`): `off on 3 Mar 2027`, `absent le 03/03/2027`.
macro_rules! day_stream {
    ($index:expr, $what_en:literal, $what_fr:literal) => {
        fn spec(&self) -> &'static StreamSpec {
            &super::DECLARATION.streams[$index]
        }

        fn concurrency(&self) -> usize {
            self.run.concurrency
        }

        fn reads_whole(&self) -> bool {
            true
        }

        fn in_window(&self, record: &Acknowledged) -> bool {
            self.run.window.still_holds(record)
        }

        fn name(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<String> {
            // The person as Semana knows them; the day follows (`detail`).
            self.run.people.named(fields)
        }

        fn person(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<i64> {
            fields.get("ownerId").and_then(Value::as_i64)
        }

        fn detail(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<Said> {
            let (who, when) = self.run.people.describe_day(fields);
            // Someone Semana does not know is named here, in each language.
            let known = self.run.people.named(fields).is_some();
            let unnamed = |who: &str| {
                if known {
                    String::new()
                } else {
                    format!("{who} · ")
                }
            };
            Some(Said::new(
                format!(concat!("{}", $what_en, " {}"), unnamed(&who.en), when.en),
                format!(concat!("{}", $what_fr, " {}"), unnamed(&who.fr), when.fr),
            ))
        }
    };
}
pub(super) use day_stream;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_spans_weeks_both_ways() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let w = Window::around(today, 6);
        assert_eq!(w.from.to_string(), "2026-10-12");
        assert_eq!(w.to.to_string(), "2027-01-04");
        assert!(w.holds("2026-10-12") && w.holds("2027-01-04"));
        assert!(!w.holds("2026-10-11") && w.is_past("2026-10-11"));
        assert!(!w.is_past("2027-01-05") && !w.holds("2027-01-05"));
    }

    #[test]
    fn a_day_names_its_person_in_each_language_even_one_semana_does_not_know() {
        let people = People::default();
        people.know(7, 70, "Margaux Payet".into());
        let day = |owner: i64| {
            serde_json::json!({"ownerId": owner, "date": "2026-12-02", "period": "morning"})
                .as_object()
                .unwrap()
                .clone()
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let (who, when) = people.describe_day(&day(7));
        assert_eq!(
            (who.en.as_str(), who.fr.as_str()),
            ("Margaux Payet", "Margaux Payet")
        );
        assert_eq!(people.named(&day(7)).as_deref(), Some("Margaux Payet"));
        assert_eq!(when.fr, "02/12/2026 (matin)");
        let (who, _) = people.describe_day(&day(42));
        assert_eq!(
            (who.en.as_str(), who.fr.as_str()),
            ("employee no. 42", "collaborateur n° 42")
        );
        assert_eq!(people.named(&day(42)), None);
    }

    #[test]
    fn half_days_of_one_day_make_the_day() {
        assert_eq!(Period::Morning.with(Period::Afternoon), Period::Day);
        assert_eq!(Period::Morning.with(Period::Morning), Period::Morning);
        assert_eq!(Period::parse("afternoon").unwrap().halves(), ("PM", "PM"));
        assert!(Period::parse("evening").is_none());
    }
}
