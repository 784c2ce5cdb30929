//! The Lucca-compatible resources, one module each.

pub mod absences;
pub mod answer;
pub mod body;
pub mod events;
pub mod expenses;
pub mod extract;
pub mod fields;
pub mod organisation;
pub mod reports;
pub mod sync;
pub mod userlogs;
pub mod users;
pub mod webhooks;

/// Every key-protected route of the API, each with what it needs.
pub fn routes() -> crate::need::Routes {
    users::routes()
        .merge(organisation::routes())
        .merge(absences::routes())
        .merge(expenses::routes())
        .merge(userlogs::routes())
        .merge(sync::routes())
        .merge(fields::routes())
        .merge(reports::routes())
        .merge(events::routes())
        .merge(webhooks::routes())
}

/// Every key-protected route of the API and what it needs.
pub fn declared() -> &'static [crate::need::Declared] {
    static ALL: std::sync::OnceLock<Vec<crate::need::Declared>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| routes().declared().to_vec())
}

/// What `method` of `path` needs, if the API declares it (see
/// [`find`](crate::need::find)).
pub fn need_of(method: &str, path: &str) -> Option<crate::need::Need> {
    crate::need::find(declared(), method, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::need::Need;
    use relais_core::access::Permission;

    #[test]
    fn routes_say_what_they_need() {
        assert_eq!(
            need_of("get", "/api/v3/users"),
            Some(Need::Grant(Permission::PersonnelFile))
        );
        assert_eq!(
            need_of("put", "/api/v3/users/{id}"),
            Some(Need::Grant(Permission::WriteEmployees))
        );
        assert_eq!(
            need_of("post", "/api/v3/leaveRequests/{id}/approve"),
            Some(Need::Grant(Permission::AbsenceRequests))
        );
        assert_eq!(
            need_of("get", "/api/v3/leaveRequests"),
            Some(Need::Either(
                Permission::Absences,
                Permission::AbsenceRequests
            ))
        );
        // A list and its records are declared together, with one need.
        for (list, grant) in [
            ("/api/v3/departments", Permission::Organisation),
            ("/api/v3/legalentities", Permission::Organisation),
            ("/api/v3/leaveAccounts", Permission::Absences),
            ("/api/v3/expenseClaims", Permission::Expenses),
            ("/api/v3/expenseClaimItems", Permission::Expenses),
        ] {
            let need = need_of("get", list);
            assert!(matches!(need, Some(Need::Grant(g) | Need::Either(g, _)) if g == grant));
            assert_eq!(
                need_of("get", &format!("{list}/{{id}}")),
                need,
                "{list}/{{id}}"
            );
        }
        assert_eq!(need_of("delete", "/api/v3/users/{id}"), None);
        assert_eq!(need_of("get", "/api/v3/nowhere"), None);
        // One declaration per method and path.
        let mut seen = std::collections::BTreeSet::new();
        for d in declared() {
            assert!(
                seen.insert((d.method, &d.path)),
                "{} {} twice",
                d.method,
                d.path
            );
        }
    }
}
