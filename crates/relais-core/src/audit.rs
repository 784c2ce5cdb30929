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

/// The logged fields of an employee and their values, named as the field
/// catalogue logs them ([`crate::fields::Field::logged`]).
fn logged_fields(d: &crate::employee::EmployeeData) -> Vec<(String, serde_json::Value)> {
    use crate::fields::users as f;
    use serde_json::json;
    let log = |field: crate::fields::Field, value| {
        (field.logged.expect("a logged field").to_owned(), value)
    };
    let mut out = vec![
        log(f::EMPLOYEE_NUMBER, json!(d.employee_number.as_str())),
        log(f::FIRST_NAME, json!(d.first_name.as_str())),
        log(f::LAST_NAME, json!(d.last_name.as_str())),
        log(f::MAIL, json!(d.mail.as_str())),
        log(f::LOGIN, json!(d.login)),
        log(f::BIRTH_DATE, json!(d.birth_date)),
        log(f::ESTABLISHMENT_ID, json!(d.establishment_id.0)),
        log(f::DEPARTMENT_ID, json!(d.department_id.map(|x| x.0))),
        log(f::MANAGER_ID, json!(d.manager_id.map(|x| x.0))),
        log(f::JOB_TITLE, json!(d.job_title)),
        log(f::CSP_ID, json!(d.csp.map(|c| c.id()))),
        log(f::PROFESSION, json!(d.profession)),
        log(f::CONTRACT_START, json!(d.contract.start)),
        log(f::CONTRACT_END, json!(d.contract.end)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::employee::{Contract, Email, EmployeeData, EmployeeNumber};
    use crate::ids::EstablishmentId;
    use crate::org::Name;
    use chrono::NaiveDate;
    use std::collections::BTreeSet;

    #[test]
    fn the_log_names_fields_as_the_catalogue_declares_them() {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let data = EmployeeData {
            employee_number: EmployeeNumber::parse("M0001").unwrap(),
            first_name: Name::parse("firstName", "Claire").unwrap(),
            last_name: Name::parse("lastName", "Martin").unwrap(),
            mail: Email::parse("claire.martin@exemple.fr").unwrap(),
            login: "cmartin".into(),
            birth_date: None,
            establishment_id: EstablishmentId(1),
            department_id: None,
            manager_id: None,
            job_title: None,
            csp: None,
            profession: None,
            contract: Contract::new(start, None).unwrap(),
            extended_data: Default::default(),
            personal: Default::default(),
        };
        let logged: BTreeSet<String> = logged_fields(&data).into_iter().map(|(k, _)| k).collect();
        let declared: BTreeSet<String> = crate::fields::STANDARD
            .iter()
            .filter_map(|f| f.logged)
            .map(str::to_owned)
            .collect();
        assert_eq!(logged, declared);
        // A creation logs what it sets, named for the change log.
        let created: Vec<String> = employee_changes(None, &data)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(created.contains(&"firstname".to_owned()), "{created:?}");
        assert!(!created.contains(&"birthdate".to_owned()), "{created:?}");
    }
}
