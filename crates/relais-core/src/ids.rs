//! Identifiers. Records are numbered per base, so a test base copied from
//! production keeps the same identifiers and every reference stays valid.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            /// A positive whole number, as in a path, a form or a command line.
            fn from_str(raw: &str) -> Result<Self, String> {
                match raw.trim().parse::<i64>() {
                    Ok(n) if n > 0 => Ok(Self(n)),
                    _ => Err(format!("'{raw}' is not an identifier (a whole number above 0)")),
                }
            }
        }
    )*};
}

id_type! {
    /// A base (tenant).
    BaseId;
    /// A legal unit (company, identified by its SIREN).
    LegalUnitId;
    /// An establishment (site of a legal unit, identified by its SIRET).
    EstablishmentId;
    /// A department of the organisation tree.
    DepartmentId;
    /// An employee.
    EmployeeId;
    /// A personnel-file section.
    SectionId;
    /// A typed field of a personnel-file section.
    SectionFieldId;
    /// An absence account (absence type).
    AbsenceAccountId;
    /// A leave period: one continuous absence of one employee.
    LeavePeriodId;
    /// An expense nature (meal, train, mileage…).
    ExpenseNatureId;
    /// An analytics axis (cost centre, project…).
    AxisId;
    /// A section of an analytics axis.
    AxisSectionId;
    /// An expense claim.
    ExpenseClaimId;
    /// An item of an expense claim.
    ExpenseItemId;
}

id_type! {
    /// An API key (numbered across bases).
    KeyId;
    /// An app's installation on a base (numbered across bases); an
    /// integration, one per installation of an app relais syncs, goes by
    /// its installation's identifier.
    InstallationId;
    /// A run of an integration.
    RunId;
    /// An admin-page account.
    PersonId;
    /// An alert written for a technical contact.
    AlertId;
    /// A webhook endpoint.
    EndpointId;
    /// One event's delivery to one webhook endpoint.
    DeliveryId;
    /// An entry of the activity journal.
    ActivityId;
}

/// The kinds of record that get an identifier, used to reserve identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// Legal units.
    LegalUnit,
    /// Establishments.
    Establishment,
    /// Departments.
    Department,
    /// Employees.
    Employee,
    /// Personnel-file sections.
    Section,
    /// Personnel-file section fields.
    SectionField,
    /// Absence accounts.
    AbsenceAccount,
    /// Leave periods.
    LeavePeriod,
    /// Expense natures.
    ExpenseNature,
    /// Analytics axes.
    Axis,
    /// Analytics axis sections.
    AxisSection,
    /// Expense claims.
    ExpenseClaim,
    /// Expense items.
    ExpenseItem,
}

impl Entity {
    /// Every entity, in an order where referenced records come first.
    pub const ALL: [Entity; 13] = [
        Entity::LegalUnit,
        Entity::Establishment,
        Entity::Department,
        Entity::Section,
        Entity::SectionField,
        Entity::Employee,
        Entity::AbsenceAccount,
        Entity::LeavePeriod,
        Entity::ExpenseNature,
        Entity::Axis,
        Entity::AxisSection,
        Entity::ExpenseClaim,
        Entity::ExpenseItem,
    ];

    /// The table holding this entity, also the name of its identifier sequence.
    pub fn table(self) -> &'static str {
        match self {
            Entity::LegalUnit => "legal_units",
            Entity::Establishment => "establishments",
            Entity::Department => "departments",
            Entity::Employee => "employees",
            Entity::Section => "sections",
            Entity::SectionField => "section_fields",
            Entity::AbsenceAccount => "absence_accounts",
            Entity::LeavePeriod => "leave_periods",
            Entity::ExpenseNature => "expense_natures",
            Entity::Axis => "axes",
            Entity::AxisSection => "axis_sections",
            Entity::ExpenseClaim => "expense_claims",
            Entity::ExpenseItem => "expense_items",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_parse_from_text() {
        assert_eq!("42".parse::<RunId>(), Ok(RunId(42)));
        assert_eq!(" 7 ".parse::<InstallationId>(), Ok(InstallationId(7)));
        for bad in ["", "0", "-3", "1.5", "abc", "99999999999999999999"] {
            let e = bad.parse::<KeyId>().unwrap_err();
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
    }
}
