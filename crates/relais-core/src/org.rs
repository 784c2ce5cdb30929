//! The organisation: legal units, establishments and the department tree.

use crate::calendar::WorkCalendar;
use crate::error::{DomainError, Result};
use crate::ids::{BaseId, DepartmentId, EmployeeId, EstablishmentId, LegalUnitId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

/// Whether `digits` passes the Luhn check used by SIREN and SIRET numbers.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// The digit that, appended to `digits`, makes the whole pass the Luhn check.
pub fn luhn_check_digit(digits: &str) -> char {
    (b'0'..=b'9')
        .map(char::from)
        .find(|d| luhn_valid(&format!("{digits}{d}")))
        .expect("one of ten digits completes a Luhn number")
}

fn digits_with_luhn(field: &'static str, what: &str, raw: &str, len: usize) -> Result<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() != len || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::new(
            field,
            format!("'{raw}' is not a {what}: expected {len} digits"),
        ));
    }
    if !luhn_valid(&compact) {
        return Err(DomainError::new(
            field,
            format!("'{raw}' is not a {what}: its check digit is wrong"),
        ));
    }
    Ok(compact)
}

/// A SIREN: the 9-digit identifier of a French company, with a Luhn check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Siren(String);

impl Siren {
    /// Parses a SIREN; spaces are allowed and dropped.
    pub fn parse(raw: &str) -> Result<Self> {
        digits_with_luhn("siren", "SIREN", raw, 9).map(Self)
    }
    /// The nine digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A SIRET: the 14-digit identifier of an establishment (its SIREN and a
/// 5-digit internal number), with a Luhn check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Siret(String);

impl Siret {
    /// Parses a SIRET; spaces are allowed and dropped.
    pub fn parse(raw: &str) -> Result<Self> {
        digits_with_luhn("siret", "SIRET", raw, 14).map(Self)
    }
    /// The fourteen digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The SIREN of the company the establishment belongs to.
    pub fn siren_part(&self) -> &str {
        &self.0[..9]
    }
}

/// An IANA time zone, e.g. `Europe/Paris`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    /// Europe/Paris, the default.
    pub const PARIS: TimeZone = TimeZone(chrono_tz::Europe::Paris);

    /// Parses an IANA time zone name.
    pub fn parse(raw: &str) -> Result<Self> {
        raw.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            DomainError::new(
                "timeZoneId",
                format!("'{raw}' is not an IANA time zone such as Europe/Paris"),
            )
        })
    }

    /// The current date in this time zone.
    pub fn today(self) -> chrono::NaiveDate {
        crate::now().with_timezone(&self.0).date_naive()
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TimeZone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A short code (department, establishment): 1 to 32 letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Code(String);

impl Code {
    /// Parses a code.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return Err(DomainError::new(
                field,
                format!(
                    "'{raw}' is not a valid code: use 1 to 32 letters, digits, '-', '_' or '.'"
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A non-empty name of at most 200 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Parses a name for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self> {
        Self::check(field, raw).map(|s| Self(s.to_owned()))
    }
    /// [`Name::parse`], keeping `raw`'s text when it needs no trimming.
    pub fn parse_owned(field: &'static str, raw: String) -> Result<Self> {
        Self::check(field, &raw)?;
        Ok(Self(crate::trimmed(raw)))
    }
    fn check<'r>(field: &'static str, raw: &'r str) -> Result<&'r str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(DomainError::new(field, "must not be empty"));
        }
        if trimmed.chars().count() > 200 {
            return Err(DomainError::new(field, "must be at most 200 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(DomainError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(trimmed)
    }
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A legal unit: a company, identified by its SIREN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegalUnit {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier in the base.
    pub id: LegalUnitId,
    /// Company name.
    pub name: Name,
    /// SIREN.
    pub siren: Siren,
    /// ISO 3166 country code, e.g. `FR`.
    pub country: String,
    /// Short code, e.g. `RDEMO`.
    pub code: String,
    /// The establishment that is its head office.
    pub headquarters_id: Option<EstablishmentId>,
    /// Whether it no longer trades.
    pub archived: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Address {
    /// Street and number.
    pub line: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166 country code.
    pub country: String,
}

impl Address {
    /// The address on one line as people of `lang` read it: « 3 rue des
    /// Lilas, 69003 Lyon, France », its country named, its empty parts left
    /// out.
    pub fn label_in(&self, lang: &str) -> String {
        let town = [self.postal_code.trim(), self.city.trim()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let country = crate::country::label_in(self.country.trim(), lang);
        [self.line.trim(), town.as_str(), country]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An establishment: a site of a legal unit, with its own SIRET, time zone and
/// working calendar (called a legal entity in the v3 API).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Establishment {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier in the base.
    pub id: EstablishmentId,
    /// The legal unit it belongs to.
    pub legal_unit_id: LegalUnitId,
    /// Name.
    pub name: Name,
    /// Short code, unique in the base.
    pub code: Code,
    /// SIRET.
    pub siret: Siret,
    /// Time zone of the site.
    pub time_zone: TimeZone,
    /// Postal address.
    pub address: Address,
    /// Working week and public holidays.
    #[serde(skip)]
    pub calendar: WorkCalendar,
    /// Whether the establishment is closed.
    pub archived: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// A department of the organisation tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Department {
    /// Its base.
    pub base_id: BaseId,
    /// Its identifier in the base.
    pub id: DepartmentId,
    /// The parent department; `None` at the root.
    pub parent_id: Option<DepartmentId>,
    /// Short code, unique in the base.
    pub code: Code,
    /// Name.
    pub name: Name,
    /// The head of the department.
    pub head_id: Option<EmployeeId>,
    /// Position among its siblings.
    pub position: i32,
    /// Whether it is still in use.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// Checks that giving `department` the parent `new_parent` keeps the tree a
/// tree. `parent_of` returns each department's current parent.
pub fn check_no_cycle(
    department: DepartmentId,
    new_parent: Option<DepartmentId>,
    parent_of: impl Fn(DepartmentId) -> Option<DepartmentId>,
) -> Result<()> {
    let mut current = new_parent;
    let mut steps = 0;
    while let Some(p) = current {
        if p == department {
            return Err(DomainError::new(
                "parentId",
                "a department cannot be placed under itself or one of its sub-departments",
            ));
        }
        steps += 1;
        if steps > 10_000 {
            return Err(DomainError::new(
                "parentId",
                "the department tree is too deep",
            ));
        }
        current = parent_of(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_reads_on_one_line_with_its_country_named() {
        let a = Address {
            line: "3 rue des Lilas".into(),
            postal_code: "69003".into(),
            city: "Lyon".into(),
            country: "FR".into(),
        };
        assert_eq!(a.label_in("fr"), "3 rue des Lilas, 69003 Lyon, France");
        let abroad = Address {
            country: "DE".into(),
            ..a.clone()
        };
        assert_eq!(
            abroad.label_in("en"),
            "3 rue des Lilas, 69003 Lyon, Germany"
        );
        let bare = Address {
            line: String::new(),
            postal_code: String::new(),
            city: "Lyon".into(),
            country: String::new(),
        };
        assert_eq!(bare.label_in("fr"), "Lyon");
    }

    #[test]
    fn siren_and_siret_check_their_digit() {
        assert_eq!(Siren::parse("732 829 320").unwrap().as_str(), "732829320");
        assert!(Siren::parse("732829321")
            .unwrap_err()
            .message
            .contains("check digit"));
        assert!(Siren::parse("12345")
            .unwrap_err()
            .message
            .contains("9 digits"));
        let siret = Siret::parse("73282932000074").unwrap();
        assert_eq!(siret.siren_part(), "732829320");
        assert!(Siret::parse("73282932000075").is_err());
        assert!(Siret::parse("7328293200007A").is_err());
    }

    #[test]
    fn luhn_check_digit_completes_a_number() {
        let base = "55203253";
        let full = format!("{base}{}", luhn_check_digit(base));
        assert!(Siren::parse(&full).is_ok());
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(TimeZone::parse("Europe/Paris").unwrap(), TimeZone::PARIS);
        assert!(TimeZone::parse("Paris")
            .unwrap_err()
            .message
            .contains("IANA"));
    }

    #[test]
    fn codes_and_names_are_checked() {
        assert!(Code::parse("code", "DIR-FIN").is_ok());
        assert!(Code::parse("code", "a b").is_err());
        assert!(Code::parse("code", "").is_err());
        assert_eq!(
            Name::parse("name", "  Finance ").unwrap().as_str(),
            "Finance"
        );
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", "a\u{0}b").is_err());
    }

    #[test]
    fn department_tree_refuses_cycles() {
        // 1 <- 2 <- 3
        let parent = |d: DepartmentId| match d.0 {
            2 => Some(DepartmentId(1)),
            3 => Some(DepartmentId(2)),
            _ => None,
        };
        assert!(check_no_cycle(DepartmentId(1), Some(DepartmentId(3)), parent).is_err());
        assert!(check_no_cycle(DepartmentId(1), Some(DepartmentId(1)), parent).is_err());
        assert!(check_no_cycle(DepartmentId(3), Some(DepartmentId(1)), parent).is_ok());
        assert!(check_no_cycle(DepartmentId(3), None, parent).is_ok());
    }
}
