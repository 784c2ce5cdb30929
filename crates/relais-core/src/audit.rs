//! The change log of employee fields (`/api/v3/userlogs`).

use crate::ids::{BaseId, EmployeeId};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One change of one employee field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmployeeLog {
    /// Its identifier.
    pub id: i64,
    /// The base.
    pub base_id: BaseId,
    /// The employee changed.
    pub employee_id: EmployeeId,
    /// The field, as named in the API (lower case, e.g. `departmentid`).
    pub field: String,
    /// `creation` or `modification`.
    pub entry_type: String,
    /// The new value, as JSON.
    pub value: serde_json::Value,
    /// Who made the change (a key's or a person's name).
    pub author: String,
    /// Through what: `api`, `import`, `person`, `integration:<app>`.
    pub source: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Who changes an employee, for the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Name shown in the log.
    pub name: String,
    /// Through what.
    pub source: String,
}

impl Author {
    /// A change made by relais itself (seeding, imports run by an administrator).
    pub fn system(source: &str) -> Self {
        Self {
            name: "relais".into(),
            source: source.into(),
        }
    }
}

/// The logged fields of an employee and their values.
fn logged_fields(d: &crate::employee::EmployeeData) -> Vec<(String, serde_json::Value)> {
    use serde_json::json;
    let mut out = vec![
        (
            "employeenumber".to_owned(),
            json!(d.employee_number.as_str()),
        ),
        ("firstname".to_owned(), json!(d.first_name.as_str())),
        ("lastname".to_owned(), json!(d.last_name.as_str())),
        ("mail".to_owned(), json!(d.mail.as_str())),
        ("login".to_owned(), json!(d.login)),
        ("birthdate".to_owned(), json!(d.birth_date)),
        ("legalentityid".to_owned(), json!(d.establishment_id.0)),
        (
            "departmentid".to_owned(),
            json!(d.department_id.map(|x| x.0)),
        ),
        ("manager".to_owned(), json!(d.manager_id.map(|x| x.0))),
        ("jobtitle".to_owned(), json!(d.job_title)),
        ("cspid".to_owned(), json!(d.csp.map(|c| c.id()))),
        ("profession".to_owned(), json!(d.profession)),
        ("dtcontractstart".to_owned(), json!(d.contract.start)),
        ("dtcontractend".to_owned(), json!(d.contract.end)),
    ];
    for (k, v) in &d.extended_data {
        out.push((k.to_lowercase(), v.clone()));
    }
    out
}

/// The field changes between `before` (none for a creation) and `after`:
/// `(field, new value)` pairs, fields named as `/api/v3/userlogs` names them.
pub fn employee_changes(
    before: Option<&crate::employee::EmployeeData>,
    after: &crate::employee::EmployeeData,
) -> Vec<(String, serde_json::Value)> {
    let new = logged_fields(after);
    let Some(before) = before else {
        return new.into_iter().filter(|(_, v)| !v.is_null()).collect();
    };
    let old = logged_fields(before);
    let mut changes: Vec<_> = new
        .into_iter()
        .filter(|(k, v)| old.iter().find(|(ok, _)| ok == k).map(|(_, ov)| ov) != Some(v))
        .collect();
    for (k, _) in old {
        if !changes.iter().any(|(c, _)| *c == k)
            && !after.extended_data.keys().any(|e| e.to_lowercase() == k)
            && k.starts_with("e_")
        {
            changes.push((k, serde_json::Value::Null));
        }
    }
    changes
}
