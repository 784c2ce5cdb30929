//! Employees and their personnel file.

use crate::error::{DomainError, Result};
use crate::ids::{BaseId, DepartmentId, EmployeeId, EstablishmentId, SectionFieldId, SectionId};
use crate::org::Name;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// `parse`, `parse_owned`, `as_str` and `Display` of a text newtype whose
/// own `check` says which text it accepts (and returns it trimmed).
macro_rules! checked_text {
    ($t:ident, $what:literal) => {
        impl $t {
            #[doc = concat!("Parses ", $what, "; surrounding spaces are dropped.")]
            pub fn parse(raw: &str) -> Result<Self> {
                Self::check(raw).map(|s| Self(s.to_owned()))
            }
            #[doc = concat!("[`", stringify!($t), "::parse`], keeping `raw`'s text when it needs no trimming.")]
            pub fn parse_owned(raw: String) -> Result<Self> {
                Self::check(&raw)?;
                Ok(Self(crate::trimmed(raw)))
            }
            #[doc = concat!("The ", $what, " as written.")]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// An employee number (matricule): 1 to 32 letters, digits, `-`, `_`, `.` or `/`;
/// unique in a base.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmployeeNumber(String);

checked_text!(EmployeeNumber, "an employee number");

impl EmployeeNumber {
    fn check(raw: &str) -> Result<&str> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
        if !ok {
            return Err(DomainError::new(
                "employeeNumber",
                format!("'{raw}' is not a valid employee number: use 1 to 32 letters, digits, '-', '_', '.' or '/'"),
            ));
        }
        Ok(s)
    }
}

/// A work e-mail address. Kept as written; two addresses that differ only in
/// letter case are the same address (see [`Email::key`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

checked_text!(Email, "an e-mail address");

impl Email {
    fn check(raw: &str) -> Result<&str> {
        let s = raw.trim();
        let bad = |why: &str| {
            DomainError::new("mail", format!("'{raw}' is not an e-mail address: {why}"))
        };
        if s.len() > 254 {
            return Err(bad("longer than 254 characters"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it contains spaces"));
        }
        let (local, domain) = s.split_once('@').ok_or_else(|| bad("it has no '@'"))?;
        if local.is_empty() || domain.contains('@') {
            return Err(bad("it needs exactly one '@' with a name before it"));
        }
        let labels_ok = domain.split('.').count() >= 2
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if !labels_ok {
            return Err(bad("its domain must look like example.com"));
        }
        Ok(s)
    }
    /// The address in lower case, used to compare addresses.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A socio-professional category (CSP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Csp {
    /// Cadre (executive).
    Cadre,
    /// Agent de maîtrise (supervisor).
    AgentDeMaitrise,
    /// Technicien.
    Technicien,
    /// Employé (clerical employee).
    Employe,
    /// Ouvrier (worker).
    Ouvrier,
    /// Apprenti (apprentice).
    Apprenti,
}

impl Csp {
    /// Every category, in the order of their identifiers.
    pub const ALL: [Csp; 6] = [
        Csp::Cadre,
        Csp::AgentDeMaitrise,
        Csp::Technicien,
        Csp::Employe,
        Csp::Ouvrier,
        Csp::Apprenti,
    ];

    /// The stable identifier (`cspId` in the API).
    pub fn id(self) -> i64 {
        Csp::ALL.iter().position(|c| *c == self).expect("listed") as i64 + 1
    }

    /// The category with identifier `id`.
    pub fn from_id(id: i64) -> Result<Self> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| Csp::ALL.get(i).copied())
            .ok_or_else(|| {
                DomainError::new("cspId", format!("{id} is not a CSP identifier (1 to 6)"))
            })
    }

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Csp::Cadre => "cadre",
            Csp::AgentDeMaitrise => "agent-de-maitrise",
            Csp::Technicien => "technicien",
            Csp::Employe => "employe",
            Csp::Ouvrier => "ouvrier",
            Csp::Apprenti => "apprenti",
        }
    }

    /// The French label.
    pub fn label(self) -> &'static str {
        match self {
            Csp::Cadre => "Cadre",
            Csp::AgentDeMaitrise => "Agent de maîtrise",
            Csp::Technicien => "Technicien",
            Csp::Employe => "Employé",
            Csp::Ouvrier => "Ouvrier",
            Csp::Apprenti => "Apprenti",
        }
    }
}

impl FromStr for Csp {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        Csp::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| DomainError::new("csp", format!("'{s}' is not a CSP code")))
    }
}

/// Where an employee's contract stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContractStatus {
    /// The contract has not started yet.
    Future,
    /// The contract is running.
    Active,
    /// The contract has ended.
    Former,
}

/// A contract's start and optional end, the end not before the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Contract {
    /// First day of the contract.
    pub start: NaiveDate,
    /// Last day of the contract, if it is known.
    pub end: Option<NaiveDate>,
}

/// The first day a date of the personnel file may name.
pub const EARLIEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The last day a date of the personnel file may name.
pub const LATEST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The most characters of a free text field (job title, profession, login).
pub const MAX_TEXT_LENGTH: usize = 255;

/// Refuses a date no one could mean for `field` (before 1900 or after 2100).
pub fn check_plausible_date(field: &'static str, date: NaiveDate) -> Result<()> {
    if (EARLIEST_DATE..=LATEST_DATE).contains(&date) {
        Ok(())
    } else {
        Err(DomainError::new(
            field,
            format!("{date} is outside the years 1900 to 2100"),
        ))
    }
}

/// Refuses a birth date outside 1900–2100 or after `today`.
pub fn check_birth_date(date: NaiveDate, today: NaiveDate) -> Result<()> {
    check_plausible_date("birthDate", date)?;
    if date > today {
        return Err(DomainError::new(
            "birthDate",
            format!("{date} is in the future"),
        ));
    }
    Ok(())
}

/// Refuses a contract that starts before its employee was born.
pub fn check_contract_after_birth(start: NaiveDate, born: NaiveDate) -> Result<()> {
    if start < born {
        return Err(DomainError::new(
            "dtContractStart",
            format!("the contract starts on {start}, before the birth date {born}"),
        ));
    }
    Ok(())
}

/// Refuses a free text longer than [`MAX_TEXT_LENGTH`] characters, or with
/// control characters.
pub fn check_text(field: &'static str, text: &str) -> Result<()> {
    if text.chars().count() > MAX_TEXT_LENGTH {
        return Err(DomainError::new(
            field,
            format!("must be at most {MAX_TEXT_LENGTH} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(DomainError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

impl Contract {
    /// Builds a contract, refusing an end before the start and dates outside
    /// 1900–2100.
    pub fn new(start: NaiveDate, end: Option<NaiveDate>) -> Result<Self> {
        check_plausible_date("dtContractStart", start)?;
        if let Some(end) = end {
            check_plausible_date("dtContractEnd", end)?;
            if end < start {
                return Err(DomainError::new(
                    "dtContractEnd",
                    format!("the contract ends on {end}, before it starts on {start}"),
                ));
            }
        }
        Ok(Self { start, end })
    }

    /// Refuses a leave period that starts before the contract or ends after it.
    pub fn check_covers(&self, span: &crate::absence::LeaveSpan) -> Result<()> {
        if span.start.date < self.start {
            return Err(DomainError::new(
                "startDate",
                format!(
                    "{} is before the employee's contract starts on {}",
                    span.start.date, self.start
                ),
            ));
        }
        if let Some(end) = self.end.filter(|end| span.end.date > *end) {
            return Err(DomainError::new(
                "endDate",
                format!(
                    "{} is after the employee's contract ends on {end}",
                    span.end.date
                ),
            ));
        }
        Ok(())
    }

    /// Future, active or former on `day`.
    pub fn status_on(&self, day: NaiveDate) -> ContractStatus {
        if day < self.start {
            ContractStatus::Future
        } else if self.end.is_some_and(|end| day > end) {
            ContractStatus::Former
        } else {
            ContractStatus::Active
        }
    }
}

/// The type of a personnel-file field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "choices", rename_all = "lowercase")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A number.
    Number,
    /// A date (`YYYY-MM-DD`).
    Date,
    /// Yes or no.
    Boolean,
    /// One of a list of values.
    Choice(Vec<String>),
}

impl FieldKind {
    /// The stored code of the type.
    pub fn code(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Boolean => "boolean",
            FieldKind::Choice(_) => "choice",
        }
    }

    /// Rebuilds a type from its code and, for choices, the list of values.
    pub fn from_code(code: &str, choices: Vec<String>) -> Result<Self> {
        Ok(match code {
            "text" => FieldKind::Text,
            "number" => FieldKind::Number,
            "date" => FieldKind::Date,
            "boolean" => FieldKind::Boolean,
            "choice" if !choices.is_empty() => FieldKind::Choice(choices),
            "choice" => {
                return Err(DomainError::new(
                    "type",
                    "a choice field needs at least one value",
                ))
            }
            other => {
                return Err(DomainError::new(
                    "type",
                    format!(
                        "'{other}' is not a field type: use text, number, date, boolean or choice"
                    ),
                ))
            }
        })
    }

    /// Checks that `value` fits this type; `null` always fits (no value).
    pub fn check(&self, field: &str, value: &Value) -> Result<()> {
        let ok = match (self, value) {
            (_, Value::Null) => true,
            (FieldKind::Text, Value::String(s)) => s.chars().count() <= 2000,
            (FieldKind::Number, Value::Number(_)) => true,
            (FieldKind::Date, Value::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
            (FieldKind::Boolean, Value::Bool(_)) => true,
            (FieldKind::Choice(values), Value::String(s)) => values.contains(s),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            let expected = match self {
                FieldKind::Text => "a text of at most 2000 characters".to_owned(),
                FieldKind::Number => "a number".to_owned(),
                FieldKind::Date => "a date YYYY-MM-DD".to_owned(),
                FieldKind::Boolean => "true or false".to_owned(),
                FieldKind::Choice(v) => format!("one of {}", v.join(", ")),
            };
            Err(DomainError::new(
                "extendedData",
                format!("{field}: {value} is not {expected}"),
            ))
        }
    }
}

/// The code of a custom personnel-file field: `e_` followed by letters and digits,
/// e.g. `e_bloodType`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct FieldCode(String);

impl FieldCode {
    /// Parses a field code.
    pub fn parse(raw: &str) -> Result<Self> {
        let rest = raw.strip_prefix("e_").unwrap_or("");
        let ok = !rest.is_empty()
            && rest.len() <= 64
            && rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(DomainError::new(
                "code",
                format!("'{raw}' is not a custom field code: use e_ followed by a letter, then letters, digits or '_'"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A section of the personnel file, grouping fields that are granted together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: SectionId,
    /// Short code, unique in the base (e.g. `standard`, `benefits`).
    pub code: String,
    /// Name shown to people.
    pub name: Name,
    /// Whether this is the standard section holding the built-in employee fields.
    pub standard: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// A typed custom field of a personnel-file section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionField {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: SectionFieldId,
    /// The section it belongs to.
    pub section_id: SectionId,
    /// Its code, unique in the base (`e_…`).
    pub code: FieldCode,
    /// Name shown to people.
    pub name: Name,
    /// Its type.
    pub kind: FieldKind,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// Checks every value of `data` against the fields it names.
pub fn check_extended_data(data: &Map<String, Value>, fields: &[SectionField]) -> Result<()> {
    for (code, value) in data {
        let field = fields
            .iter()
            .find(|f| f.code.as_str() == code)
            .ok_or_else(|| {
                DomainError::new(
                    "extendedData",
                    format!("'{code}' is not a field of this base's personnel file"),
                )
            })?;
        field.kind.check(code, value)?;
    }
    Ok(())
}

/// A phone number: digits, spaces, `+`, `.`, `-` and parentheses, with 6 to
/// 20 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Phone {
    /// Parses a phone number for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self> {
        let s = raw.trim();
        let digits = s.chars().filter(char::is_ascii_digit).count();
        let ok = (6..=20).contains(&digits)
            && s.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '.' | '-' | '(' | ')'));
        if !ok {
            return Err(DomainError::new(
                field,
                format!(
                    "'{raw}' is not a phone number: 6 to 20 digits, with spaces, +, ., - or ()"
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }
    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Gender, as the personnel file records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Gender {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Neither, or not said.
    Other,
}

impl Gender {
    /// As the API writes it: `Female`, `Male` or `Other`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Female => "Female",
            Self::Male => "Male",
            Self::Other => "Other",
        }
    }

    /// Parses `Female`, `Male` or `Other` (any case).
    pub fn parse(raw: &str) -> Result<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "female" => Ok(Self::Female),
            "male" => Ok(Self::Male),
            "other" => Ok(Self::Other),
            _ => Err(DomainError::new(
                "gender",
                format!("'{raw}' is not Female, Male or Other"),
            )),
        }
    }
}

/// Civil title: Madame or Monsieur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CivilTitle {
    /// Madame.
    Madame,
    /// Monsieur.
    Monsieur,
}

impl CivilTitle {
    /// As the API writes it: `Mme` or `M.`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Madame => "Mme",
            Self::Monsieur => "M.",
        }
    }

    /// Parses `Mme`, `Madame`, `M.`, `M` or `Monsieur` (any case).
    pub fn parse(raw: &str) -> Result<Self> {
        match raw.trim().to_lowercase().as_str() {
            "mme" | "madame" => Ok(Self::Madame),
            "m." | "m" | "monsieur" => Ok(Self::Monsieur),
            _ => Err(DomainError::new(
                "civilTitle",
                format!("'{raw}' is not Mme or M."),
            )),
        }
    }
}

pub use crate::country::CountryCode;

/// Personal details of the personnel file, beyond the work identity.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PersonalDetails {
    /// Personal e-mail address.
    pub personal_email: Option<Email>,
    /// Personal phone.
    pub personal_phone: Option<Phone>,
    /// Work phone.
    pub professional_phone: Option<Phone>,
    /// Home address.
    pub address: Option<crate::org::Address>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Nationality.
    pub nationality: Option<CountryCode>,
    /// Civil title.
    pub civil_title: Option<CivilTitle>,
}

impl PersonalDetails {
    /// The fields, as the API (and the store) names them.
    pub const FIELDS: [&'static str; 7] = [
        "personalEmail",
        "personalPhone",
        "professionalPhone",
        "address",
        "gender",
        "nationality",
        "civilTitle",
    ];

    /// The value of one of [`PersonalDetails::FIELDS`], `None` when unset or
    /// when `name` is not one of them.
    pub fn field(&self, name: &str) -> Option<Value> {
        match name {
            "personalEmail" => self.personal_email.as_ref().map(|e| Value::from(e.as_str())),
            "personalPhone" => self.personal_phone.as_ref().map(|p| Value::from(p.as_str())),
            "professionalPhone" => self
                .professional_phone
                .as_ref()
                .map(|p| Value::from(p.as_str())),
            "address" => self.address.as_ref().map(|a| {
                serde_json::json!({ "street": a.line, "zipCode": a.postal_code, "city": a.city, "countryCode": a.country })
            }),
            "gender" => self.gender.map(|g| Value::from(g.code())),
            "nationality" => self.nationality.as_ref().map(|n| Value::from(n.as_str())),
            "civilTitle" => self.civil_title.map(|c| Value::from(c.code())),
            _ => None,
        }
    }

    /// As stored and as the API shows them: a JSON object with Lucca's names.
    pub fn to_json(&self) -> serde_json::Map<String, Value> {
        Self::FIELDS
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), self.field(name)?)))
            .collect()
    }

    /// Parses the fields of `map` named as [`PersonalDetails::to_json`] names
    /// them; absent or null fields are none. Every mistake names its field.
    /// A nationality or an address's country must be the two-letter code of
    /// a country of ISO 3166, in any case (kept in upper case).
    pub fn from_json(map: &serde_json::Map<String, Value>) -> Result<Self> {
        Self::read(map, false)
    }

    /// [`PersonalDetails::from_json`] for details read back from the store,
    /// where an older relais kept any two letters as a nationality and any
    /// text as an address's country: such a record still reads.
    pub fn from_stored(map: &serde_json::Map<String, Value>) -> Result<Self> {
        Self::read(map, true)
    }

    fn read(map: &serde_json::Map<String, Value>, stored: bool) -> Result<Self> {
        fn text<'a>(
            map: &'a serde_json::Map<String, Value>,
            field: &'static str,
        ) -> Result<Option<&'a str>> {
            match map.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(DomainError::new(field, format!("{other} is not a text"))),
            }
        }
        let address = match map.get("address") {
            None | Some(Value::Null) => None,
            Some(Value::Object(a)) => {
                let part = |k: &'static str| -> Result<String> {
                    let v = text(a, k)?.unwrap_or_default();
                    crate::employee::check_text("address", v)?;
                    Ok(v.to_owned())
                };
                Some(crate::org::Address {
                    line: part("street")?,
                    postal_code: part("zipCode")?,
                    city: part("city")?,
                    country: match text(a, "countryCode")? {
                        None => String::new(),
                        Some(c) if stored => c.trim().to_owned(),
                        Some(c) => CountryCode::parse("address", c)?.as_str().to_owned(),
                    },
                })
            }
            Some(other) => {
                return Err(DomainError::new(
                    "address",
                    format!("{other} is not an object {{street, zipCode, city, countryCode}}"),
                ))
            }
        };
        Ok(Self {
            personal_email: text(map, "personalEmail")?
                .map(|e| {
                    Email::parse(e).map_err(|err| DomainError::new("personalEmail", err.message))
                })
                .transpose()?,
            personal_phone: text(map, "personalPhone")?
                .map(|p| Phone::parse("personalPhone", p))
                .transpose()?,
            professional_phone: text(map, "professionalPhone")?
                .map(|p| Phone::parse("professionalPhone", p))
                .transpose()?,
            address,
            gender: text(map, "gender")?.map(Gender::parse).transpose()?,
            nationality: text(map, "nationality")?
                .map(|n| {
                    if stored {
                        CountryCode::stored("nationality", n)
                    } else {
                        CountryCode::parse("nationality", n)
                    }
                })
                .transpose()?,
            civil_title: text(map, "civilTitle")?
                .map(CivilTitle::parse)
                .transpose()?,
        })
    }
}

/// The data needed to create or replace an employee; every field is parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmployeeData {
    /// Employee number, unique in the base.
    pub employee_number: EmployeeNumber,
    /// First name.
    pub first_name: Name,
    /// Last name.
    pub last_name: Name,
    /// Work e-mail, unique in the base regardless of case.
    pub mail: Email,
    /// Login, unique in the base.
    pub login: String,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Establishment (legal entity) the contract is with.
    pub establishment_id: EstablishmentId,
    /// Department.
    pub department_id: Option<DepartmentId>,
    /// Manager.
    pub manager_id: Option<EmployeeId>,
    /// Job title.
    pub job_title: Option<String>,
    /// Socio-professional category.
    pub csp: Option<Csp>,
    /// Profession (métier).
    pub profession: Option<String>,
    /// Contract start and end.
    pub contract: Contract,
    /// Values of custom section fields, by field code.
    pub extended_data: Map<String, Value>,
    /// Personal details (personal e-mail and phone, address, gender…).
    pub personal: PersonalDetails,
}

/// An employee as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Employee {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier.
    pub id: EmployeeId,
    /// Everything else.
    #[serde(flatten)]
    pub data: EmployeeData,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

impl Employee {
    /// First and last name.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.data.first_name, self.data.last_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_contract_starts_once_its_employee_is_born() {
        assert!(check_contract_after_birth(d(2014, 10, 7), d(1992, 8, 6)).is_ok());
        assert!(check_contract_after_birth(d(1992, 8, 6), d(1992, 8, 6)).is_ok());
        let err = check_contract_after_birth(d(1900, 1, 1), d(1992, 8, 6)).unwrap_err();
        assert_eq!(err.field, "dtContractStart");
        assert_eq!(
            err.message,
            "the contract starts on 1900-01-01, before the birth date 1992-08-06"
        );
    }

    #[test]
    fn employee_numbers() {
        assert_eq!(
            EmployeeNumber::parse(" M-0042 ").unwrap().as_str(),
            "M-0042"
        );
        assert!(EmployeeNumber::parse("").is_err());
        assert!(EmployeeNumber::parse("a b").is_err());
        assert!(EmployeeNumber::parse(&"9".repeat(33)).is_err());
    }

    #[test]
    fn emails() {
        let e = Email::parse("Claire.Martin@Exemple.fr").unwrap();
        assert_eq!(e.as_str(), "Claire.Martin@Exemple.fr");
        assert_eq!(e.key(), "claire.martin@exemple.fr");
        for bad in [
            "claire",
            "@exemple.fr",
            "a@b",
            "a@@b.fr",
            "a b@c.fr",
            "a@.fr",
            "a@-b.fr",
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().field, "mail", "{bad}");
        }
    }

    #[test]
    fn contract_status_on_a_day() {
        let c = Contract::new(d(2024, 1, 15), Some(d(2025, 6, 30))).unwrap();
        assert_eq!(c.status_on(d(2024, 1, 14)), ContractStatus::Future);
        assert_eq!(c.status_on(d(2024, 1, 15)), ContractStatus::Active);
        assert_eq!(c.status_on(d(2025, 6, 30)), ContractStatus::Active);
        assert_eq!(c.status_on(d(2025, 7, 1)), ContractStatus::Former);
        let open = Contract::new(d(2020, 1, 1), None).unwrap();
        assert_eq!(open.status_on(d(2099, 1, 1)), ContractStatus::Active);
        assert_eq!(
            Contract::new(d(2024, 1, 15), Some(d(2024, 1, 14)))
                .unwrap_err()
                .field,
            "dtContractEnd"
        );
    }

    #[test]
    fn csp_ids_round_trip() {
        for c in Csp::ALL {
            assert_eq!(Csp::from_id(c.id()).unwrap(), c);
            assert_eq!(c.code().parse::<Csp>().unwrap(), c);
        }
        assert!(Csp::from_id(0).is_err());
        assert!(Csp::from_id(7).is_err());
    }

    #[test]
    fn field_values_are_typed() {
        let choice = FieldKind::Choice(vec!["A+".into(), "O-".into()]);
        assert!(choice.check("e_blood", &Value::from("A+")).is_ok());
        assert!(choice
            .check("e_blood", &Value::from("B+"))
            .unwrap_err()
            .message
            .contains("one of A+, O-"));
        assert!(FieldKind::Date
            .check("e_d", &Value::from("2024-02-30"))
            .is_err());
        assert!(FieldKind::Date
            .check("e_d", &Value::from("2024-02-29"))
            .is_ok());
        assert!(FieldKind::Number.check("e_n", &Value::from("12")).is_err());
        assert!(FieldKind::Boolean.check("e_b", &Value::Null).is_ok());
        assert!(FieldKind::from_code("choice", vec![]).is_err());
        assert!(FieldKind::from_code("colour", vec![]).is_err());
    }

    #[test]
    fn field_codes() {
        assert!(FieldCode::parse("e_bloodType").is_ok());
        for bad in ["bloodType", "e_", "e_1x", "e_a-b"] {
            assert!(FieldCode::parse(bad).is_err(), "{bad}");
        }
    }
}
