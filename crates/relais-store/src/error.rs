//! The one error type of the storage layer.

use relais_core::DomainError;

/// What can go wrong when reading or writing the HR base.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record asked for does not exist in this base.
    #[error("{entity} {key} does not exist")]
    NotFound {
        /// What was looked for, e.g. `employee` or `base`.
        entity: &'static str,
        /// How it was looked for (identifier or name).
        key: String,
    },
    /// A unique field already holds this value in the base.
    #[error("{field}: {message}")]
    Conflict {
        /// The field whose value is taken.
        field: &'static str,
        /// What clashes.
        message: String,
    },
    /// The record changed since the caller read it: the change, made on
    /// what the caller read, would undo the other one, and was not made.
    #[error("{entity} {key} changed since it was read")]
    Changed {
        /// What changed, e.g. `employee`.
        entity: &'static str,
        /// Its identifier.
        key: String,
    },
    /// A domain rule refuses the change (overlap, unknown reference…).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The database URL is not one relais understands.
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot open the database {url}: {reason}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// Why.
        reason: String,
    },
    /// The database was migrated by a newer relais.
    #[error("the database schema is at version {found}, newer than this relais supports ({supported}); upgrade relais or use another database")]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Latest version this binary knows.
        supported: i64,
    },
    /// Applying migrations failed.
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
    /// A stored value no longer parses (edited by hand, or a bug).
    #[error("stored {entity} is invalid: {message}")]
    Corrupt {
        /// The table concerned.
        entity: &'static str,
        /// What does not parse.
        message: String,
    },
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

/// Shorthand for results of the storage layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// `err` as a conflict on `field` saying `message` when it is a unique
    /// violation (the database's own wording names a constraint, not what
    /// the person typed); any other error as it is.
    pub(crate) fn conflict_on(
        field: &'static str,
        message: impl FnOnce() -> String,
    ) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |err| match StoreError::from(err) {
            StoreError::Conflict { .. } => StoreError::Conflict {
                field,
                message: message(),
            },
            other => other,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            if db.is_unique_violation() {
                let (field, what) = unique_field(&text);
                return StoreError::Conflict {
                    field,
                    message: format!("another record of this base already has this {what}"),
                };
            }
            if db.is_foreign_key_violation() {
                return StoreError::Domain(DomainError::new(
                    "reference",
                    "a referenced record (establishment, department, manager, account, owner…) does not exist in this base",
                ));
            }
            if db.is_check_violation() {
                return StoreError::Domain(DomainError::new("record", db.message().to_owned()));
            }
        }
        StoreError::Database(err)
    }
}

/// Names the field behind a unique-constraint violation, from the constraint
/// name (PostgreSQL) or message (SQLite).
fn unique_field(text: &str) -> (&'static str, &'static str) {
    const KNOWN: &[(&str, &str, &str)] = &[
        ("employee_number", "employeeNumber", "employee number"),
        ("number_key", "employeeNumber", "employee number"),
        ("mail", "mail", "work e-mail"),
        ("login", "login", "login"),
        ("siren", "siren", "SIREN"),
        ("siret", "siret", "SIRET"),
        ("code", "code", "code"),
        ("bases", "name", "name"),
        ("name", "name", "name"),
    ];
    KNOWN
        .iter()
        .find(|(needle, _, _)| text.contains(needle))
        .map(|(_, field, what)| (*field, *what))
        .unwrap_or(("id", "identifier"))
}

#[cfg(test)]
mod tests {
    use super::unique_field;

    #[test]
    fn unique_violations_name_their_field() {
        assert_eq!(unique_field("employees_mail_key duplicate key").0, "mail");
        assert_eq!(
            unique_field(" UNIQUE constraint failed: employees.base_id, employees.employee_number")
                .0,
            "employeeNumber"
        );
        assert_eq!(
            unique_field(" UNIQUE constraint failed: index 'employees_mail_key'").0,
            "mail"
        );
        assert_eq!(unique_field("bases_name_key").0, "name");
        assert_eq!(unique_field("something_pkey").0, "id");
    }
}
