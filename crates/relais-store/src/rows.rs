//! Rows as stored, and their conversion to domain types (which re-parses every
//! value, so a hand-edited database cannot smuggle in an invalid record).

use crate::error::StoreError;
use chrono::{DateTime, NaiveDate, Utc};
use relais_core::absence::{AbsenceAccount, LeavePeriod, LeaveSource, LeaveSpan, LeaveStatus};
use relais_core::base::{Base, BaseName};
use relais_core::calendar::{HalfDaySlot, HolidayCalendar, WorkCalendar, WorkingWeek};
use relais_core::employee::{
    Contract, Csp, Email, Employee, EmployeeData, EmployeeNumber, FieldCode, FieldKind,
    PersonalDetails, Section, SectionField,
};
use relais_core::expense::{
    warnings_from_str, Axis, AxisSection, ClaimStatus, Currency, ExpenseClaim, ExpenseItem,
    ExpenseNature, ItemAmounts, Money,
};
use relais_core::ids::*;
use relais_core::org::{
    Address, Code, Department, Establishment, LegalUnit, Name, Siren, Siret, TimeZone,
};
use relais_core::DomainError;

/// Column lists, shared by inserts, selects and base copies. `base_id` comes first.
pub mod columns {
    /// `legal_units`.
    pub const LEGAL_UNITS: &[&str] = &[
        "base_id",
        "id",
        "name",
        "siren",
        "country",
        "code",
        "headquarters_id",
        "archived",
        "created_at",
        "modified_at",
    ];
    /// `establishments`.
    pub const ESTABLISHMENTS: &[&str] = &[
        "base_id",
        "id",
        "legal_unit_id",
        "name",
        "code",
        "siret",
        "time_zone",
        "address_line",
        "postal_code",
        "city",
        "country",
        "working_days",
        "holidays",
        "archived",
        "created_at",
        "modified_at",
    ];
    /// `departments`.
    pub const DEPARTMENTS: &[&str] = &[
        "base_id",
        "id",
        "parent_id",
        "code",
        "name",
        "head_id",
        "position",
        "active",
        "created_at",
        "modified_at",
    ];
    /// `sections`.
    pub const SECTIONS: &[&str] = &[
        "base_id",
        "id",
        "code",
        "name",
        "standard",
        "created_at",
        "modified_at",
    ];
    /// `section_fields`.
    pub const SECTION_FIELDS: &[&str] = &[
        "base_id",
        "id",
        "section_id",
        "code",
        "name",
        "kind",
        "choices",
        "created_at",
        "modified_at",
    ];
    /// `employees`.
    pub const EMPLOYEES: &[&str] = &[
        "base_id",
        "id",
        "employee_number",
        "first_name",
        "last_name",
        "mail",
        "login",
        "birth_date",
        "establishment_id",
        "department_id",
        "manager_id",
        "job_title",
        "csp",
        "profession",
        "contract_start",
        "contract_end",
        "extended_data",
        "personal",
        "created_at",
        "modified_at",
    ];
    /// `absence_accounts`.
    pub const ABSENCE_ACCOUNTS: &[&str] = &[
        "base_id",
        "id",
        "name",
        "category",
        "unit",
        "active",
        "created_at",
        "modified_at",
    ];
    /// `leave_periods`.
    pub const LEAVE_PERIODS: &[&str] = &[
        "base_id",
        "id",
        "employee_id",
        "account_id",
        "start_date",
        "start_half",
        "end_date",
        "end_half",
        "start_slot",
        "end_slot",
        "half_days",
        "status",
        "comment",
        "source",
        "created_at",
        "modified_at",
        "cancelled_at",
    ];
    /// `expense_natures`.
    pub const EXPENSE_NATURES: &[&str] = &[
        "base_id",
        "id",
        "name",
        "cap_minor",
        "cap_currency",
        "mileage",
        "enabled",
        "created_at",
        "modified_at",
    ];
    /// `axes`.
    pub const AXES: &[&str] = &["base_id", "id", "code", "name", "created_at", "modified_at"];
    /// `axis_sections`.
    pub const AXIS_SECTIONS: &[&str] = &[
        "base_id",
        "id",
        "axis_id",
        "code",
        "name",
        "created_at",
        "modified_at",
    ];
    /// `expense_claims`.
    pub const EXPENSE_CLAIMS: &[&str] = &[
        "base_id",
        "id",
        "owner_id",
        "author_id",
        "name",
        "status",
        "approval_state",
        "currency",
        "declared_on",
        "created_at",
        "modified_at",
    ];
    /// `expense_items`.
    pub const EXPENSE_ITEMS: &[&str] = &[
        "base_id",
        "id",
        "claim_id",
        "line_number",
        "payment_method",
        "controlled",
        "owner_id",
        "nature_id",
        "purchased_on",
        "currency",
        "gross",
        "net",
        "vat",
        "reimbursed",
        "quantity",
        "mileage_km",
        "attendees",
        "axis_sections",
        "warnings",
        "merchant",
        "comment",
        "created_at",
        "modified_at",
    ];

    /// The tables of a base whose creations, changes and deletions are
    /// events of the change feed (the `events` migration's triggers).
    pub const EVENT_TABLES: &[&str] = &[
        "legal_units",
        "establishments",
        "departments",
        "employees",
        "leave_periods",
        "expense_claims",
        "expense_items",
    ];

    /// Every table of a base with its columns, referenced tables first.
    pub const TABLES: &[(&str, &[&str])] = &[
        ("legal_units", LEGAL_UNITS),
        ("establishments", ESTABLISHMENTS),
        ("departments", DEPARTMENTS),
        ("sections", SECTIONS),
        ("section_fields", SECTION_FIELDS),
        ("employees", EMPLOYEES),
        ("absence_accounts", ABSENCE_ACCOUNTS),
        ("leave_periods", LEAVE_PERIODS),
        ("expense_natures", EXPENSE_NATURES),
        ("axes", AXES),
        ("axis_sections", AXIS_SECTIONS),
        ("expense_claims", EXPENSE_CLAIMS),
        ("expense_items", EXPENSE_ITEMS),
    ];
}

fn corrupt(entity: &'static str) -> impl Fn(DomainError) -> StoreError {
    move |e| StoreError::Corrupt {
        entity,
        message: e.to_string(),
    }
}

fn json<T: serde::de::DeserializeOwned>(entity: &'static str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt {
        entity,
        message: e.to_string(),
    })
}

/// A stored JSON object; `{}` (what a column left unread reads as, see
/// `LIGHT_COLUMNS`) without the parser.
fn json_object(
    entity: &'static str,
    raw: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
    if raw == "{}" {
        return Ok(serde_json::Map::new());
    }
    json(entity, raw)
}

/// Dates and instants as a packed page holds them: text SQLite wrote in one
/// fixed form (`2026-07-18`, `2026-07-18T13:50:59+00:00`), read without
/// chrono's general parser (a fifth of a page's reading time); any other
/// form goes through chrono as before.
pub(crate) mod stored {
    use chrono::{DateTime, NaiveDate, Utc};
    use std::marker::PhantomData;

    /// A value kept as text.
    pub trait FromStored: Sized {
        /// The value `text` holds, or `None` when it is not one.
        fn from_stored(text: &str) -> Option<Self>;
    }

    /// The number at `bytes[range]`, when all its bytes are digits.
    fn digits(bytes: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
        bytes.get(range)?.iter().try_fold(0u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    }

    /// `YYYY-MM-DD` at the start of `bytes`.
    fn date(bytes: &[u8]) -> Option<NaiveDate> {
        if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return None;
        }
        let year = i32::try_from(digits(bytes, 0..4)?).ok()?;
        NaiveDate::from_ymd_opt(year, digits(bytes, 5..7)?, digits(bytes, 8..10)?)
    }

    impl FromStored for NaiveDate {
        fn from_stored(text: &str) -> Option<Self> {
            match text.len() {
                10 => date(text.as_bytes()),
                _ => None,
            }
            .or_else(|| text.parse().ok())
        }
    }

    impl FromStored for DateTime<Utc> {
        fn from_stored(text: &str) -> Option<Self> {
            let b = text.as_bytes();
            let fixed = || {
                let utc = text.ends_with("+00:00") || text.ends_with('Z');
                let shape = matches!(b.get(10), Some(b'T' | b' '))
                    && b.get(13) == Some(&b':')
                    && b.get(16) == Some(&b':')
                    && (b.len() == 19 + 6 || b.len() == 19 + 1);
                if !(utc && shape) {
                    return None;
                }
                let time = date(b)?.and_hms_opt(
                    digits(b, 11..13)?,
                    digits(b, 14..16)?,
                    digits(b, 17..19)?,
                )?;
                Some(time.and_utc())
            };
            fixed().or_else(|| {
                DateTime::parse_from_rfc3339(text)
                    .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z"))
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            })
        }
    }

    struct Text<T>(PhantomData<T>);

    impl<T: FromStored> serde::de::Visitor<'_> for Text<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a date or an instant as text")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
            T::from_stored(text)
                .ok_or_else(|| E::custom(format!("'{text}' is not a date or an instant")))
        }
    }

    struct Optional<T>(PhantomData<T>);

    impl<'de, T: FromStored> serde::de::Visitor<'de> for Optional<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a date, an instant or null")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            value(d).map(Some)
        }
    }

    /// Reads a stored date or instant.
    pub fn value<'de, D: serde::Deserializer<'de>, T: FromStored>(d: D) -> Result<T, D::Error> {
        d.deserialize_str(Text(PhantomData))
    }

    /// Reads a stored date or instant that may be null.
    pub fn optional<'de, D: serde::Deserializer<'de>, T: FromStored>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        d.deserialize_option(Optional(PhantomData))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn stored_forms_read_as_chrono_reads_them() {
            for text in [
                "2026-07-18",
                "1900-01-01",
                "2100-12-31",
                "2024-02-29",
                "2026-02-30",
                "2026-13-01",
                "26-01-01",
                "2026-1-01",
                "2026/01/01",
                "",
            ] {
                assert_eq!(NaiveDate::from_stored(text), text.parse().ok(), "{text}");
            }
            assert_eq!(NaiveDate::from_stored("2026-02-30"), None);
            for text in [
                "2026-07-18T13:50:59+00:00",
                "2026-07-18T13:50:59Z",
                "2026-07-18T13:50:59.123456+00:00",
                "2026-07-18T15:50:59+02:00",
            ] {
                let chrono = DateTime::parse_from_rfc3339(text)
                    .unwrap()
                    .with_timezone(&Utc);
                assert_eq!(DateTime::<Utc>::from_stored(text), Some(chrono), "{text}");
            }
            let spaced = DateTime::<Utc>::from_stored("2026-07-18 13:50:59+00:00");
            assert_eq!(spaced, DateTime::<Utc>::from_stored("2026-07-18T13:50:59Z"));
            for text in [
                "2026-07-18T25:00:00+00:00",
                "2026-07-18T13:5x:59+00:00",
                "yesterday",
            ] {
                assert_eq!(DateTime::<Utc>::from_stored(text), None, "{text}");
            }
        }

        #[test]
        fn packed_dates_may_be_null_or_wrong() {
            #[derive(serde::Deserialize, Debug)]
            struct Row {
                #[serde(deserialize_with = "value")]
                on: NaiveDate,
                #[serde(deserialize_with = "optional")]
                until: Option<NaiveDate>,
            }
            let row: Row = serde_json::from_str(r#"["2026-01-02",null]"#).unwrap();
            assert_eq!((row.on.to_string(), row.until), ("2026-01-02".into(), None));
            let row: Row = serde_json::from_str(r#"["2026-01-02","2026-03-04"]"#).unwrap();
            assert_eq!(
                row.until.map(|d| d.to_string()).as_deref(),
                Some("2026-03-04")
            );
            let wrong = serde_json::from_str::<Row>(r#"["2026-01-32",null]"#).unwrap_err();
            assert!(
                wrong.to_string().contains("'2026-01-32' is not a date"),
                "{wrong}"
            );
        }
    }
}

/// A row read by identifier: a large page is read in parts by
/// identifier, and put back in the order its identifiers were chosen in.
pub(crate) trait Keyed {
    /// The row's identifier within its base.
    fn key(&self) -> i64;
}

impl Keyed for EmployeeLogRow {
    fn key(&self) -> i64 {
        self.id
    }
}

/// A boolean column as a packed page holds it: SQLite writes 0 or 1.
fn stored_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Bool(bool),
        Int(i64),
    }
    Ok(match <Stored as serde::Deserialize>::deserialize(d)? {
        Stored::Bool(b) => b,
        Stored::Int(i) => i != 0,
    })
}

/// A row of `bases`.
#[derive(sqlx::FromRow)]
pub struct BaseRow {
    id: i64,
    name: String,
    kind: String,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

impl TryFrom<BaseRow> for Base {
    type Error = StoreError;
    fn try_from(r: BaseRow) -> Result<Self, StoreError> {
        let c = corrupt("base");
        Ok(Base {
            id: BaseId(r.id),
            name: BaseName::parse(&r.name).map_err(&c)?,
            kind: r.kind.parse().map_err(&c)?,
            created_at: r.created_at,
            modified_at: r.modified_at,
        })
    }
}

/// Declares a row type read by its columns' names.
macro_rules! named_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }
    ) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        pub struct $name { $($(#[$fmeta])* $field: $ty,)* }
    };
}

/// Declares the row of one of a base's tables and its conversion to its
/// domain type, in one place. Every such table starts with `base_id` and
/// `id` and ends with `created_at` and `modified_at`, then the `after`
/// columns if any: the fields follow the table's column list, as a packed
/// page (a JSON array per row) is read by position. `by` names the macro
/// that declares the struct (`named_row` or `read_by_position`). The
/// conversion names the other fields only, after the statements it needs, with
/// the row as `r` and the entity's corrupt-row error as `c`.
macro_rules! base_row {
    (
        $(#[$meta:meta])*
        $row:ident by $declare:ident {
            $($(#[$fmeta:meta])* $field:ident: $ty:ty,)*
        }
        $(after { $($(#[$ameta:meta])* $after:ident: $aty:ty,)* })?
        into $domain:ident($id:ident) as $entity:literal, |$r:ident, $c:ident|
        { $($prelude:stmt;)* }
        { $($out:ident $(: $outv:expr)?),* $(,)? }
    ) => {
        $declare! {
            $(#[$meta])*
            #[derive(serde::Deserialize)]
            pub struct $row {
                base_id: i64,
                id: i64,
                $($(#[$fmeta])* $field: $ty,)*
                #[serde(deserialize_with = "crate::rows::stored::value")]
                created_at: DateTime<Utc>,
                #[serde(deserialize_with = "crate::rows::stored::value")]
                modified_at: DateTime<Utc>,
                $($($(#[$ameta])* $after: $aty,)*)?
            }
        }

        impl Keyed for $row {
            fn key(&self) -> i64 {
                self.id
            }
        }

        impl TryFrom<$row> for $domain {
            type Error = StoreError;
            #[allow(unused_variables, redundant_semicolons)]
            fn try_from($r: $row) -> Result<Self, StoreError> {
                let $c = corrupt($entity);
                $($prelude;)*
                Ok($domain {
                    base_id: BaseId($r.base_id),
                    id: $id($r.id),
                    $($out $(: $outv)?,)*
                    created_at: $r.created_at,
                    modified_at: $r.modified_at,
                    $($($after: $r.$after,)*)?
                })
            }
        }
    };
}

base_row! {
    /// A row of `legal_units`.
    LegalUnitRow by named_row {
        name: String,
        siren: String,
        country: String,
        code: String,
        headquarters_id: Option<i64>,
        #[serde(deserialize_with = "stored_bool")]
        archived: bool,
    }
    into LegalUnit(LegalUnitId) as "legal unit", |r, c| {} {
        name: Name::parse("name", &r.name).map_err(&c)?,
        siren: Siren::parse(&r.siren).map_err(&c)?,
        country: r.country,
        code: r.code,
        headquarters_id: r.headquarters_id.map(EstablishmentId),
        archived: r.archived,
    }
}

base_row! {
    /// A row of `establishments`.
    EstablishmentRow by named_row {
        legal_unit_id: i64,
        name: String,
        code: String,
        siret: String,
        time_zone: String,
        address_line: String,
        postal_code: String,
        city: String,
        country: String,
        working_days: String,
        holidays: String,
        #[serde(deserialize_with = "stored_bool")]
        archived: bool,
    }
    into Establishment(EstablishmentId) as "establishment", |r, c| {} {
        legal_unit_id: LegalUnitId(r.legal_unit_id),
        name: Name::parse("name", &r.name).map_err(&c)?,
        code: Code::parse("code", &r.code).map_err(&c)?,
        siret: Siret::parse(&r.siret).map_err(&c)?,
        time_zone: TimeZone::parse(&r.time_zone).map_err(&c)?,
        address: Address {
            line: r.address_line,
            postal_code: r.postal_code,
            city: r.city,
            country: r.country,
        },
        calendar: calendar_from(&r.working_days, &r.holidays)?,
        archived: r.archived,
    }
}

/// Rebuilds a working calendar from its stored columns.
pub fn calendar_from(working_days: &str, holidays: &str) -> Result<WorkCalendar, StoreError> {
    let c = corrupt("establishment");
    Ok(WorkCalendar {
        week: WorkingWeek::parse(working_days).map_err(&c)?,
        holidays: holidays.parse::<HolidayCalendar>().map_err(&c)?,
    })
}

base_row! {
    /// A row of `departments`.
    DepartmentRow by named_row {
        parent_id: Option<i64>,
        code: String,
        name: String,
        head_id: Option<i64>,
        position: i32,
        #[serde(deserialize_with = "stored_bool")]
        active: bool,
    }
    into Department(DepartmentId) as "department", |r, c| {} {
        parent_id: r.parent_id.map(DepartmentId),
        code: Code::parse("code", &r.code).map_err(&c)?,
        name: Name::parse("name", &r.name).map_err(&c)?,
        head_id: r.head_id.map(EmployeeId),
        position: r.position,
        active: r.active,
    }
}

base_row! {
    /// A row of `sections`.
    SectionRow by named_row {
        code: String,
        name: String,
        #[serde(deserialize_with = "stored_bool")]
        standard: bool,
    }
    into Section(SectionId) as "section", |r, c| {} {
        code: r.code,
        name: Name::parse("name", &r.name).map_err(&c)?,
        standard: r.standard,
    }
}

base_row! {
    /// A row of `section_fields`.
    SectionFieldRow by named_row {
        section_id: i64,
        code: String,
        name: String,
        kind: String,
        choices: String,
    }
    into SectionField(SectionFieldId) as "section field", |r, c| {} {
        section_id: SectionId(r.section_id),
        code: FieldCode::parse(&r.code).map_err(&c)?,
        name: Name::parse("name", &r.name).map_err(&c)?,
        kind: FieldKind::from_code(&r.kind, json("section field", &r.choices)?).map_err(&c)?,
    }
}

/// The stored `choices` of a field type.
pub fn field_choices(kind: &FieldKind) -> String {
    match kind {
        FieldKind::Choice(values) => serde_json::to_string(values).expect("strings serialise"),
        _ => "[]".to_owned(),
    }
}

base_row! {
    /// A row of `employees`, read by position from [`columns::EMPLOYEES`].
    EmployeeRow by read_by_position {
        employee_number: String,
        first_name: String,
        last_name: String,
        mail: String,
        login: String,
        #[serde(deserialize_with = "crate::rows::stored::optional")]
        birth_date: Option<NaiveDate>,
        establishment_id: i64,
        department_id: Option<i64>,
        manager_id: Option<i64>,
        job_title: Option<String>,
        csp: Option<String>,
        profession: Option<String>,
        #[serde(deserialize_with = "crate::rows::stored::value")]
        contract_start: NaiveDate,
        #[serde(deserialize_with = "crate::rows::stored::optional")]
        contract_end: Option<NaiveDate>,
        extended_data: String,
        personal: String,
    }
    into Employee(EmployeeId) as "employee", |r, c| {
        // As stored: dates written before relais bounded them to
        // 1900–2100 still read back (only an end before the start is corrupt).
        let contract = if r.contract_end.is_some_and(|end| end < r.contract_start) {
            return Err(c(DomainError::new(
                "dtContractEnd",
                "the contract ends before it starts",
            )));
        } else {
            Contract {
                start: r.contract_start,
                end: r.contract_end,
            }
        };
    } {
        data: EmployeeData {
            employee_number: EmployeeNumber::parse_owned(r.employee_number).map_err(&c)?,
            first_name: Name::parse_owned("firstName", r.first_name).map_err(&c)?,
            last_name: Name::parse_owned("lastName", r.last_name).map_err(&c)?,
            mail: Email::parse_owned(r.mail).map_err(&c)?,
            login: r.login,
            birth_date: r.birth_date,
            establishment_id: EstablishmentId(r.establishment_id),
            department_id: r.department_id.map(DepartmentId),
            manager_id: r.manager_id.map(EmployeeId),
            job_title: r.job_title,
            csp: r
                .csp
                .as_deref()
                .map(str::parse::<Csp>)
                .transpose()
                .map_err(&c)?,
            profession: r.profession,
            contract,
            extended_data: json_object("employee", &r.extended_data)?,
            personal: PersonalDetails::from_stored(&json_object("employee", &r.personal)?)
                .map_err(&c)?,
        },
    }
}

base_row! {
    /// A row of `absence_accounts`.
    AbsenceAccountRow by named_row {
        name: String,
        category: String,
        unit: String,
        #[serde(deserialize_with = "stored_bool")]
        active: bool,
    }
    into AbsenceAccount(AbsenceAccountId) as "absence account", |r, c| {} {
        name: Name::parse("name", &r.name).map_err(&c)?,
        category: r.category.parse().map_err(&c)?,
        unit: r.unit.parse().map_err(&c)?,
        active: r.active,
    }
}

base_row! {
    /// A row of `leave_periods`.
    LeavePeriodRow by named_row {
        employee_id: i64,
        account_id: i64,
        #[serde(deserialize_with = "crate::rows::stored::value")]
        start_date: NaiveDate,
        start_half: String,
        #[serde(deserialize_with = "crate::rows::stored::value")]
        end_date: NaiveDate,
        end_half: String,
        half_days: i32,
        status: String,
        comment: Option<String>,
        source: String,
    }
    after {
        #[serde(deserialize_with = "crate::rows::stored::optional")]
        cancelled_at: Option<DateTime<Utc>>,
    }
    into LeavePeriod(LeavePeriodId) as "leave period", |r, c| {
        let start = HalfDaySlot::new(r.start_date, r.start_half.parse().map_err(&c)?);
        let end = HalfDaySlot::new(r.end_date, r.end_half.parse().map_err(&c)?);
    } {
        employee_id: EmployeeId(r.employee_id),
        account_id: AbsenceAccountId(r.account_id),
        span: LeaveSpan::new(start, end).map_err(&c)?,
        half_days: u32::try_from(r.half_days).unwrap_or(0),
        status: r.status.parse::<LeaveStatus>().map_err(&c)?,
        comment: r.comment,
        source: LeaveSource::parse(&r.source).map_err(&c)?,
    }
}

base_row! {
    /// A row of `expense_natures`.
    ExpenseNatureRow by named_row {
        name: String,
        cap_minor: Option<i64>,
        cap_currency: Option<String>,
        #[serde(deserialize_with = "stored_bool")]
        mileage: bool,
        #[serde(deserialize_with = "stored_bool")]
        enabled: bool,
    }
    into ExpenseNature(ExpenseNatureId) as "expense nature", |r, c| {
        let cap = match (r.cap_minor, r.cap_currency) {
            (Some(minor), Some(cur)) => Some(Money {
                minor,
                currency: Currency::parse(&cur).map_err(&c)?,
            }),
            _ => None,
        };
    } {
        name: Name::parse("name", &r.name).map_err(&c)?,
        cap,
        mileage: r.mileage,
        enabled: r.enabled,
    }
}

base_row! {
    /// A row of `axes`.
    AxisRow by named_row {
        code: String,
        name: String,
    }
    into Axis(AxisId) as "axis", |r, c| {} {
        code: r.code,
        name: Name::parse("name", &r.name).map_err(&c)?,
    }
}

base_row! {
    /// A row of `axis_sections`.
    AxisSectionRow by named_row {
        axis_id: i64,
        code: String,
        name: String,
    }
    into AxisSection(AxisSectionId) as "axis section", |r, c| {} {
        axis_id: AxisId(r.axis_id),
        code: r.code,
        name: Name::parse("name", &r.name).map_err(&c)?,
    }
}

base_row! {
    /// A row of `expense_claims`.
    ExpenseClaimRow by named_row {
        owner_id: i64,
        author_id: Option<i64>,
        name: String,
        status: i32,
        approval_state: i32,
        currency: String,
        #[serde(deserialize_with = "crate::rows::stored::optional")]
        declared_on: Option<NaiveDate>,
    }
    into ExpenseClaim(ExpenseClaimId) as "expense claim", |r, c| {} {
        owner_id: EmployeeId(r.owner_id),
        author_id: EmployeeId(r.author_id.unwrap_or(r.owner_id)),
        name: Name::parse("name", &r.name).map_err(&c)?,
        status: ClaimStatus::from_id(r.status).map_err(&c)?,
        approval_state: relais_core::expense::ApprovalState::from_id(r.approval_state)
            .map_err(&c)?,
        currency: Currency::parse(&r.currency).map_err(&c)?,
        declared_on: r.declared_on,
    }
}

base_row! {
    /// A row of `expense_items`.
    ExpenseItemRow by named_row {
        claim_id: i64,
        line_number: i32,
        payment_method: i32,
        #[serde(deserialize_with = "stored_bool")]
        controlled: bool,
        owner_id: i64,
        nature_id: i64,
        #[serde(deserialize_with = "crate::rows::stored::value")]
        purchased_on: NaiveDate,
        currency: String,
        gross: i64,
        net: i64,
        vat: i64,
        reimbursed: i64,
        quantity: i32,
        mileage_km: Option<i32>,
        attendees: String,
        axis_sections: String,
        warnings: String,
        merchant: Option<String>,
        comment: Option<String>,
    }
    into ExpenseItem(ExpenseItemId) as "expense item", |r, c| {
        let currency = Currency::parse(&r.currency).map_err(&c)?;
        let amounts = ItemAmounts::new(currency, r.gross, r.vat, r.reimbursed).map_err(&c)?;
        if amounts.net != r.net {
            return Err(StoreError::Corrupt {
                entity: "expense item",
                message: format!("net {} is not gross {} minus VAT {}", r.net, r.gross, r.vat),
            });
        };
    } {
        claim_id: ExpenseClaimId(r.claim_id),
        line_number: r.line_number,
        payment_method: relais_core::expense::PaymentMethod::from_id(r.payment_method)
            .map_err(&c)?,
        controlled: r.controlled,
        owner_id: EmployeeId(r.owner_id),
        nature_id: ExpenseNatureId(r.nature_id),
        purchased_on: r.purchased_on,
        amounts,
        quantity: r.quantity,
        mileage_km: r.mileage_km,
        attendees: json("expense item", &r.attendees)?,
        axis_sections: json("expense item", &r.axis_sections)?,
        warnings: warnings_from_str(&r.warnings).map_err(&c)?,
        merchant: r.merchant,
        comment: r.comment,
    }
}

/// A row of `api_keys` with its base's versions.
#[derive(sqlx::FromRow)]
pub struct KeyAtVersion {
    /// The key.
    #[sqlx(flatten)]
    pub key: ApiKeyRow,
    /// The base's data version (none before its first write).
    pub data_version: Option<i64>,
    /// The base's structure version (none before its first write).
    pub structure_version: Option<i64>,
}

impl KeyAtVersion {
    /// The statement reading keys with their base's versions; a `WHERE`
    /// on `api_keys` follows.
    pub fn select() -> String {
        format!(
            concat!(
                "SELECT {}, ",
                versions_of!("version", "api_keys.base_id"),
                " AS data_version, ",
                versions_of!("structure", "api_keys.base_id"),
                " AS structure_version FROM api_keys"
            ),
            API_KEY_COLUMNS
        )
    }
}

impl TryFrom<KeyAtVersion> for (relais_core::access::ApiKey, crate::BaseVersions) {
    type Error = StoreError;
    fn try_from(r: KeyAtVersion) -> Result<Self, StoreError> {
        let versions = crate::BaseVersions {
            data: r.data_version.unwrap_or(0),
            structure: r.structure_version.unwrap_or(0),
        };
        Ok((r.key.try_into()?, versions))
    }
}

selected_row! {
    /// A row of `api_keys`.
    pub struct ApiKeyRow, columns API_KEY_COLUMNS {
        id: i64,
        base_id: i64,
        prefix: String,
        secret_hash: String,
        name: String,
        contact: String,
        usage: String,
        role: String,
        created_at: DateTime<Utc>,
        last_used_at: Option<DateTime<Utc>>,
        revoked_at: Option<DateTime<Utc>>,
        previous_secret_hash: Option<String>,
        previous_valid_until: Option<DateTime<Utc>>,
    }
}

impl TryFrom<ApiKeyRow> for relais_core::access::ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        let c = corrupt("API key");
        Ok(relais_core::access::ApiKey {
            id: KeyId(r.id),
            base_id: BaseId(r.base_id),
            prefix: r.prefix,
            secret_hash: r.secret_hash,
            name: Name::parse("name", &r.name).map_err(&c)?,
            contact: Email::parse(&r.contact).map_err(&c)?,
            usage: r.usage.parse().map_err(&c)?,
            role: json("API key", &r.role)?,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
            previous_secret_hash: r.previous_secret_hash,
            previous_valid_until: r.previous_valid_until,
        })
    }
}

/// A row of `api_requests`.
#[derive(sqlx::FromRow)]
pub struct AuditRow {
    base_id: i64,
    key_id: i64,
    method: String,
    path: String,
    status: i32,
    employee_records: i64,
    records: i64,
    at: DateTime<Utc>,
}

impl From<AuditRow> for relais_core::access::AuditEntry {
    fn from(r: AuditRow) -> Self {
        relais_core::access::AuditEntry {
            base_id: BaseId(r.base_id),
            key_id: KeyId(r.key_id),
            method: r.method,
            path: r.path,
            status: u16::try_from(r.status).unwrap_or(0),
            employee_records: r.employee_records,
            records: r.records,
            at: r.at,
        }
    }
}

/// Columns of `employee_logs`.
pub const EMPLOYEE_LOG_COLUMNS: &[&str] = &[
    "id",
    "base_id",
    "employee_id",
    "field",
    "entry_type",
    "value",
    "author",
    "source",
    "at",
];

/// A row of `employee_logs`.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct EmployeeLogRow {
    id: i64,
    base_id: i64,
    employee_id: i64,
    field: String,
    entry_type: String,
    value: String,
    author: String,
    source: String,
    #[serde(deserialize_with = "crate::rows::stored::value")]
    at: DateTime<Utc>,
}

impl TryFrom<EmployeeLogRow> for relais_core::audit::EmployeeLog {
    type Error = StoreError;
    fn try_from(r: EmployeeLogRow) -> Result<Self, StoreError> {
        Ok(relais_core::audit::EmployeeLog {
            id: r.id,
            base_id: BaseId(r.base_id),
            employee_id: EmployeeId(r.employee_id),
            field: r.field,
            entry_type: r.entry_type,
            value: json("employee log", &r.value)?,
            author: r.author,
            source: r.source,
            at: r.at,
        })
    }
}

selected_row! {
    /// A row of `people`, without the password hash.
    pub struct PersonRow, columns PERSON_COLUMNS {
        id: i64,
        email: String,
        name: String,
        disabled_at: Option<DateTime<Utc>>,
        can_admin_apps: bool,
        can_manage_keys: bool,
        created_at: DateTime<Utc>,
        must_choose_password: bool,
    }
}

impl TryFrom<PersonRow> for relais_core::people::Person {
    type Error = StoreError;
    fn try_from(r: PersonRow) -> Result<Self, StoreError> {
        let c = corrupt("person");
        Ok(relais_core::people::Person {
            id: PersonId(r.id),
            email: Email::parse(&r.email).map_err(&c)?,
            name: Name::parse("name", &r.name).map_err(&c)?,
            disabled_at: r.disabled_at,
            can_admin_apps: r.can_admin_apps,
            can_manage_keys: r.can_manage_keys,
            created_at: r.created_at,
            must_choose_password: r.must_choose_password,
        })
    }
}

selected_row! {
    /// A row of `installations`.
    pub struct InstallationRow, columns INSTALLATION_COLUMNS {
        id: i64,
        base_id: i64,
        app: String,
        key_id: i64,
        contact: String,
        installed_by: i64,
        installed_at: DateTime<Utc>,
        uninstalled_at: Option<DateTime<Utc>>,
    }
}

impl TryFrom<InstallationRow> for relais_core::people::Installation {
    type Error = StoreError;
    fn try_from(r: InstallationRow) -> Result<Self, StoreError> {
        Ok(relais_core::people::Installation {
            id: InstallationId(r.id),
            base_id: BaseId(r.base_id),
            app: r.app,
            key_id: KeyId(r.key_id),
            contact: Email::parse(&r.contact).map_err(corrupt("installation"))?,
            installed_by: PersonId(r.installed_by),
            installed_at: r.installed_at,
            uninstalled_at: r.uninstalled_at,
        })
    }
}

selected_row! {
    /// A row of `sync_ledger`.
    pub struct LedgerRow, columns LEDGER_COLUMNS {
        record_key: String,
        hash: String,
        fields: String,
        partner_id: Option<String>,
    }
}

impl TryFrom<LedgerRow> for relais_core::ledger::Acknowledged {
    type Error = StoreError;
    fn try_from(r: LedgerRow) -> Result<Self, StoreError> {
        Ok(relais_core::ledger::Acknowledged {
            key: r.record_key,
            hash: r.hash,
            fields: json("ledger record", &r.fields)?,
            partner_id: r.partner_id,
        })
    }
}

selected_row! {
    /// A row of `integrations`.
    pub struct IntegrationRow, columns INTEGRATION_COLUMNS {
        installation_id: i64,
        base_id: i64,
        connector: String,
        source_url: Option<String>,
        partner_url: String,
        secrets: String,
        schedule: String,
        full_schedule: String,
        time_zone: String,
        options: String,
        paused_reason: Option<String>,
        health: String,
        health_reason: String,
        next_run_at: Option<DateTime<Utc>>,
        next_full_at: Option<DateTime<Utc>>,
        updated_at: DateTime<Utc>,
    }
}

impl TryFrom<IntegrationRow> for relais_core::integration::Integration {
    type Error = StoreError;
    fn try_from(r: IntegrationRow) -> Result<Self, StoreError> {
        use relais_core::schedule::Schedule;
        let c = corrupt("integration");
        Ok(relais_core::integration::Integration {
            installation_id: InstallationId(r.installation_id),
            base_id: BaseId(r.base_id),
            connector: relais_core::connector::ConnectorCode::parse(&r.connector).map_err(&c)?,
            source_url: r.source_url,
            partner_url: r.partner_url,
            sealed_secrets: r.secrets,
            schedule: Schedule::parse(&r.schedule).map_err(&c)?,
            full_schedule: Schedule::parse(&r.full_schedule).map_err(&c)?,
            time_zone: TimeZone::parse(&r.time_zone).map_err(&c)?,
            options: json("integration", &r.options)?,
            paused: r.paused_reason,
            health: relais_core::integration::Health::parse(&r.health).map_err(&c)?,
            health_reason: r.health_reason,
            next_run_at: r.next_run_at,
            next_full_at: r.next_full_at,
            updated_at: r.updated_at,
        })
    }
}

selected_row! {
    /// A row of `sync_runs`.
    pub struct RunRow, columns RUN_COLUMNS {
        id: i64,
        installation_id: i64,
        trigger_kind: String,
        dry_run: bool,
        full_run: bool,
        status: String,
        owner: Option<String>,
        requested_at: DateTime<Utc>,
        started_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
        counts: String,
        partner_requests: i64,
        error: Option<String>,
        requested_by: Option<String>,
    }
}

impl TryFrom<RunRow> for relais_core::integration::SyncRun {
    type Error = StoreError;
    fn try_from(r: RunRow) -> Result<Self, StoreError> {
        use relais_core::integration::{RunStatus, StoredCounts, Trigger};
        let c = corrupt("sync run");
        let counts: StoredCounts = json("sync run", &r.counts)?;
        Ok(relais_core::integration::SyncRun {
            id: RunId(r.id),
            installation_id: InstallationId(r.installation_id),
            trigger: Trigger::parse(&r.trigger_kind).map_err(&c)?,
            dry_run: r.dry_run,
            full: r.full_run,
            status: RunStatus::parse(&r.status).map_err(&c)?,
            owner: r.owner,
            requested_at: r.requested_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: counts.all,
            streams: counts.streams,
            partner_requests: r.partner_requests.max(0) as u64,
            error: r.error,
            requested_by: r.requested_by,
        })
    }
}

selected_row! {
    /// A row of `sync_run_lines`.
    pub struct RunLineRow, columns RUN_LINE_COLUMNS {
        stream: String,
        record_key: String,
        label: String,
        outcome: String,
        reason: Option<String>,
        fields: String,
        employee_id: Option<i64>,
    }
}

selected_row! {
    /// A row of `alerts`.
    pub struct AlertRow, columns ALERT_COLUMNS {
        id: i64,
        installation_id: i64,
        kind: String,
        recipient: String,
        subject: String,
        body: String,
        created_at: DateTime<Utc>,
        sent_at: Option<DateTime<Utc>>,
        attempts: i64,
        last_error: Option<String>,
        next_attempt_at: DateTime<Utc>,
    }
}

impl TryFrom<AlertRow> for relais_core::alert::Alert {
    type Error = StoreError;
    fn try_from(r: AlertRow) -> Result<Self, StoreError> {
        let kind =
            relais_core::alert::AlertKind::parse(&r.kind).ok_or_else(|| StoreError::Corrupt {
                entity: "alert",
                message: format!("unknown kind '{}'", r.kind),
            })?;
        Ok(relais_core::alert::Alert {
            id: AlertId(r.id),
            alert: relais_core::alert::NewAlert {
                installation: InstallationId(r.installation_id),
                kind,
                recipient: r.recipient,
                subject: r.subject,
                body: r.body,
            },
            created_at: r.created_at,
            sent_at: r.sent_at,
            attempts: r.attempts,
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at,
        })
    }
}

/// A run's line about an employee, with its run and installation.
#[derive(sqlx::FromRow)]
pub struct DeliveryRow {
    installation_id: i64,
    app: String,
    run_id: i64,
    run_at: DateTime<Utc>,
    dry_run: bool,
    #[sqlx(flatten)]
    line: RunLineRow,
}

impl TryFrom<DeliveryRow> for crate::Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        Ok(crate::Delivery {
            installation: InstallationId(r.installation_id),
            app: r.app,
            run: RunId(r.run_id),
            at: r.run_at,
            dry_run: r.dry_run,
            line: r.line.try_into()?,
        })
    }
}

impl TryFrom<RunLineRow> for relais_core::integration::ReportLine {
    type Error = StoreError;
    fn try_from(r: RunLineRow) -> Result<Self, StoreError> {
        Ok(relais_core::integration::ReportLine {
            stream: r.stream,
            key: r.record_key,
            label: r.label,
            outcome: relais_core::integration::Outcome::from_parts(&r.outcome, r.reason)
                .map_err(corrupt("sync run line"))?,
            fields: json("sync run line", &r.fields)?,
            employee: r.employee_id,
            detail: None,
        })
    }
}
