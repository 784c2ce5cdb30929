//! Where each field of the Lucca catalogue ([`relais_core::fields`]) is
//! kept: the one place a field becomes a column (or the subquery reading
//! its owner's), for the lists that filter and sort on it.

use relais_core::fields::{Field, Resource};

/// The department of a leave period's owner.
const LEAVE_OWNER_DEPARTMENT: &str = "(SELECT e.department_id FROM employees e WHERE e.base_id = leave_periods.base_id AND e.id = leave_periods.employee_id)";
/// The establishment of a leave period's owner.
const LEAVE_OWNER_ESTABLISHMENT: &str = "(SELECT e.establishment_id FROM employees e WHERE e.base_id = leave_periods.base_id AND e.id = leave_periods.employee_id)";
/// The establishment of an expense claim's owner.
const CLAIM_OWNER_ESTABLISHMENT: &str = "(SELECT e.establishment_id FROM employees e WHERE e.base_id = expense_claims.base_id AND e.id = expense_claims.owner_id)";
/// The department of an expense claim's owner.
const CLAIM_OWNER_DEPARTMENT: &str = "(SELECT e.department_id FROM employees e WHERE e.base_id = expense_claims.base_id AND e.id = expense_claims.owner_id)";

/// What the admin pages' search looks in: an employee's names, number and
/// work e-mail.
pub(crate) const EMPLOYEE_SEARCH: &str =
    "(first_name || ' ' || last_name || ' ' || employee_number || ' ' || mail)";

/// The table a resource's records are read from.
pub fn table(resource: Resource) -> &'static str {
    match resource {
        Resource::Users | Resource::WorkContracts => "employees",
        Resource::UserLogs => "employee_logs",
        Resource::Departments => "departments",
        Resource::Establishments => "establishments",
        Resource::LegalUnits => "legal_units",
        Resource::LeaveAccounts => "absence_accounts",
        Resource::Leaves | Resource::LeaveRequests => "leave_periods",
        Resource::ExpenseClaims => "expense_claims",
        Resource::ExpenseItems => "expense_items",
        Resource::ExpenseNatures => "expense_natures",
    }
}

/// The column (or expression) a field is kept in, in its resource's
/// table; `None` for a field the store computes or does not keep (a
/// linked record, `url`…), which can neither filter nor sort.
pub fn column(field: &Field) -> Option<&'static str> {
    use Resource::*;
    Some(match (field.resource, field.name) {
        (_, "id") => "id",
        (Users, "name" | "lastName") => "last_name",
        (Users, "firstName") => "first_name",
        (Users, "mail") => "mail",
        (Users, "login") => "login",
        (Users, "employeeNumber") => "employee_number",
        (Users, "jobTitle") => "job_title",
        (Users, "birthDate") => "birth_date",
        (Users, "dtContractStart") | (WorkContracts, "startsOn") => "contract_start",
        (Users, "dtContractEnd") | (WorkContracts, "endsOn") => "contract_end",
        (Users, "modifiedAt") => "modified_at",
        (Users, "departmentId") => "department_id",
        (Users, "legalEntityId") | (WorkContracts, "establishmentId") => "establishment_id",
        (Users, "managerId") => "manager_id",
        (WorkContracts, "ownerId") => "id",
        (UserLogs, "ownerId") => "employee_id",
        (UserLogs, "modifiedAt") => "at",
        (UserLogs, "modificationSource") => "source",
        (UserLogs, "entryType") => "entry_type",
        (UserLogs, "name") => "field",
        (Departments, "parentId") => "parent_id",
        (Departments, "headID") => "head_id",
        (Departments, "position") => "position",
        (Departments | Establishments, "code") => "code",
        (Departments | Establishments | LegalUnits | LeaveAccounts | ExpenseNatures, "name") => {
            "name"
        }
        (Departments | LeaveAccounts, "isActive") => "active",
        (Establishments, "legalUnitId") => "legal_unit_id",
        (Establishments, "isArchived") => "archived",
        (ExpenseNatures, "isEnabled") => "enabled",
        (Leaves, "leavePeriod.ownerId") | (LeaveRequests, "ownerId") => "employee_id",
        (Leaves, "leavePeriod.owner.departmentId") | (LeaveRequests, "owner.departmentId") => {
            LEAVE_OWNER_DEPARTMENT
        }
        (Leaves, "leavePeriod.owner.legalEntityId") | (LeaveRequests, "owner.legalEntityId") => {
            LEAVE_OWNER_ESTABLISHMENT
        }
        (Leaves | LeaveRequests, "leaveAccountId") => "account_id",
        (Leaves, "leavePeriodId") => "id",
        (Leaves | LeaveRequests, "modifiedAt") | (ExpenseClaims | ExpenseItems, "modifiedOn") => {
            "modified_at"
        }
        (LeaveRequests, "startDate") => "start_date",
        (LeaveRequests, "endDate") => "end_date",
        (LeaveRequests, "creationDate") | (ExpenseClaims | ExpenseItems, "createdOn") => {
            "created_at"
        }
        (LeaveRequests, "status") => "status",
        (ExpenseClaims | ExpenseItems, "ownerId") => "owner_id",
        (ExpenseClaims, "statusId") => "status",
        (ExpenseClaims, "declaredOn") => "declared_on",
        (ExpenseClaims, "legalEntityId") => CLAIM_OWNER_ESTABLISHMENT,
        (ExpenseClaims, "departmentId") => CLAIM_OWNER_DEPARTMENT,
        (ExpenseItems, "expenseClaimId") => "claim_id",
        (ExpenseItems, "expenseNatureId") => "nature_id",
        (ExpenseItems, "purchasedOn") => "purchased_on",
        _ => return None,
    })
}

/// The employee columns a list may leave unread (see
/// [`crate::query::LIGHT_COLUMNS`]) when the answer shows none of the fields
/// they hold: `asked` says whether a field (by its API name) is shown.
pub fn unread_employee_columns(asked: impl Fn(&str) -> bool) -> Vec<&'static str> {
    use relais_core::fields::users;
    let unasked = |fields: &[&str]| !fields.iter().any(|f| asked(f));
    [
        ("extended_data", unasked(&["extendedData"])),
        (
            "personal",
            unasked(&relais_core::employee::PersonalDetails::FIELDS),
        ),
        ("csp", unasked(&[users::CSP.name, users::CSP_ID.name])),
        ("profession", unasked(&[users::PROFESSION.name])),
    ]
    .into_iter()
    .filter_map(|(column, unread)| unread.then_some(column))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_that_filters_or_sorts_is_kept_in_a_column() {
        for r in Resource::ALL {
            for f in r.fields().iter().filter(|f| f.filter || f.sort) {
                assert!(column(f).is_some(), "{r:?}.{} has no column", f.name);
            }
        }
        // Conditions the API and the pages set on fields that do not
        // filter by name (chosen by options) have theirs too.
        assert_eq!(column(&relais_core::fields::userlogs::NAME), Some("field"));
        assert_eq!(
            column(&relais_core::fields::leave_requests::STATUS),
            Some("status")
        );
        assert_eq!(column(&relais_core::fields::users::ESTABLISHMENT), None);
    }
}
