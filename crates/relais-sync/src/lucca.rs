//! Lucca answers as the connectors read them: typed records, not
//! `value["firstName"]`. An employee's fields are asked for by their
//! declaration in the field catalogue ([`relais_core::fields::users`]), so
//! the names a connector sends are the names the API answers to.

use crate::error::SyncError;
use crate::Side;
use relais_core::fields::Field;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// The `fields=` value that asks for `fields`.
pub fn fields_param(fields: &[Field]) -> String {
    fields.iter().map(|f| f.name).collect::<Vec<_>>().join(",")
}

/// A linked record as Lucca writes it: `{id, name, url}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct Link {
    /// Its identifier.
    #[serde(default)]
    pub id: Option<i64>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
}

/// An employee as `/api/v3/users` answers one: each field is there when it
/// was asked for (and the key reads it), dates and times as the API writes
/// them (`YYYY-MM-DD`, RFC 3339), so that what is sent on is what was read.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `id`.
    pub id: i64,
    /// `firstName`.
    #[serde(default)]
    pub first_name: Option<String>,
    /// `lastName`.
    #[serde(default)]
    pub last_name: Option<String>,
    /// `mail`: the work e-mail.
    #[serde(default)]
    pub mail: Option<String>,
    /// `employeeNumber`.
    #[serde(default)]
    pub employee_number: Option<String>,
    /// `birthDate`.
    #[serde(default)]
    pub birth_date: Option<String>,
    /// `dtContractStart`.
    #[serde(default)]
    pub dt_contract_start: Option<String>,
    /// `dtContractEnd`.
    #[serde(default)]
    pub dt_contract_end: Option<String>,
    /// `departmentId`.
    #[serde(default)]
    pub department_id: Option<i64>,
    /// `legalEntity`: the establishment.
    #[serde(default)]
    pub legal_entity: Option<Link>,
    /// `department`: the department, by name.
    #[serde(default)]
    pub department: Option<Link>,
    /// `manager`: the manager, by name.
    #[serde(default)]
    pub manager: Option<Link>,
    /// `jobTitle`.
    #[serde(default)]
    pub job_title: Option<String>,
    /// `seniorityDate`: where seniority counts from.
    #[serde(default)]
    pub seniority_date: Option<String>,
    /// `personalEmail`.
    #[serde(default)]
    pub personal_email: Option<String>,
    /// `personalPhone`.
    #[serde(default)]
    pub personal_phone: Option<String>,
    /// `modifiedAt`.
    #[serde(default)]
    pub modified_at: Option<String>,
}

/// A department as `/api/v3/departments` answers one.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Department {
    /// `id`.
    pub id: i64,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `parentId`.
    #[serde(default)]
    pub parent_id: Option<i64>,
}

/// A work contract as `/directory/api/4.0/work-contracts` answers one.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkContract {
    /// `ownerId`: the employee.
    #[serde(default)]
    pub owner_id: Option<i64>,
    /// `typeId`: 1 permanent, 2 fixed-term.
    #[serde(default)]
    pub type_id: Option<i64>,
}

/// An absence account as `/api/v3/leaveAccounts` answers one.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct LeaveAccount {
    /// `id`.
    pub id: i64,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `category`: `telework`, `paid_leave`…
    #[serde(default)]
    pub category: Option<String>,
}

/// The fields a [`LeaveAccount`] is read with.
pub const LEAVE_ACCOUNT_FIELDS: &str = "id,name,category";

/// The fields a [`Department`] is read with.
pub const DEPARTMENT_FIELDS: &str = "id,name,parentId";

/// A leave request (a leave period) as `/api/v3/leaveRequests` answers one.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LeaveRequest {
    /// `id`.
    pub id: i64,
    /// `ownerId`: the employee.
    #[serde(default)]
    pub owner_id: Option<i64>,
    /// `leaveAccount`: its account, by name.
    #[serde(default)]
    pub leave_account: Option<Link>,
    /// `startDate`.
    #[serde(default)]
    pub start_date: Option<String>,
    /// `startDateHalf`: `AM` or `PM`.
    #[serde(default)]
    pub start_date_half: Option<String>,
    /// `endDate`.
    #[serde(default)]
    pub end_date: Option<String>,
    /// `endDateHalf`: `AM` or `PM`.
    #[serde(default)]
    pub end_date_half: Option<String>,
    /// `status`: 0 pending, 2 approved, 3 denied, 4 cancelled.
    #[serde(default)]
    pub status: Option<i64>,
    /// `leaveAccountId`.
    #[serde(default)]
    pub leave_account_id: Option<i64>,
    /// `source`: what made the request (`api:<key>`, `admin`…).
    #[serde(default)]
    pub source: Option<String>,
    /// `leavePeriod`: its half-days, when asked as `leavePeriod[leaves]`.
    #[serde(default)]
    pub leave_period: Option<HalfDays>,
    /// `modifiedAt`.
    #[serde(default)]
    pub modified_at: Option<String>,
}

/// The half-days of a leave period (`leavePeriod[leaves]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct HalfDays {
    /// One per half-day.
    #[serde(default)]
    pub leaves: Vec<HalfDay>,
}

/// One half-day of leave.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HalfDay {
    /// `date`.
    pub date: String,
    /// `isAM`: the morning (else the afternoon).
    #[serde(default, rename = "isAM")]
    pub is_am: Option<bool>,
}

/// The items of an answer as `T`s; an item that does not read as one is
/// the source's mistake, named with its place in the answer.
pub fn typed<T: DeserializeOwned>(what: &str, items: Vec<Value>) -> Result<Vec<T>, SyncError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value(item).map_err(|e| SyncError::Malformed {
                what: Side::Source,
                reason: format!("{what} number {} of the answer: {e}", i + 1),
            })
        })
        .collect()
}

/// The newest `modifiedAt` among `times` (RFC 3339 texts in UTC compare as
/// times).
pub fn newest<'a>(times: impl Iterator<Item = Option<&'a String>>) -> Option<String> {
    times.flatten().max().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::fields::users;
    use serde_json::json;

    #[test]
    fn users_read_as_the_api_writes_them() {
        assert_eq!(
            fields_param(&[users::ID, users::FIRST_NAME, users::CONTRACT_END]),
            "id,firstName,dtContractEnd"
        );
        let read: Vec<User> = typed(
            "user",
            vec![json!({
                "id": 7, "firstName": "Léa", "dtContractEnd": null,
                "legalEntity": { "id": 2, "name": "Lyon", "url": "…" }
            })],
        )
        .unwrap();
        assert_eq!(read[0].first_name.as_deref(), Some("Léa"));
        assert_eq!(read[0].dt_contract_end, None);
        assert_eq!(
            read[0].legal_entity.as_ref().unwrap().name.as_deref(),
            Some("Lyon")
        );
        let wrong = typed::<User>("user", vec![json!({"id": 1}), json!({"id": "x"})]);
        let message = wrong.unwrap_err().to_string();
        assert!(message.contains("user number 2"), "{message}");
    }
}
