//! Who may come in: API keys, the audit trail of their requests and their
//! rate limits, the admin pages' accounts, sessions and sign-in attempts.

use crate::hr::BaseVersions;
use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use relais_core::access::{ApiKey, AuditEntry, KeyUsage, Role};
use relais_core::activity::Actor;
use relais_core::employee::Email;
use relais_core::ids::*;
use relais_core::org::Name;
use relais_core::people::{AccountChange, Person};

/// How many of the requests a key asked to reserve fit in its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// This many fit (at least one, at most the number asked for).
    Allowed(u32),
    /// None does; retry after this many seconds.
    Limited(u64),
}

/// How many of `wanted` more requests fit in `per_minute`, given the
/// `previous` window's count, the `current` window's count before them and
/// the seconds `elapsed` in the current window (the sliding estimate of
/// [`rate_estimate`], whose one-request answer it agrees with).
pub fn rate_room(previous: i64, current: i64, elapsed: f64, per_minute: u32, wanted: u32) -> u32 {
    let weight = (1.0 - elapsed / 60.0).clamp(0.0, 1.0);
    let room = f64::from(per_minute.max(1)) - previous as f64 * weight - current as f64;
    if room < 1.0 {
        return 0;
    }
    (room.floor() as u64).min(u64::from(wanted)) as u32
}

/// The sliding estimate of a key's requests over the last minute: this
/// window's count plus the previous window's, weighted by the part of it that
/// is still within a minute of now. Returns the seconds to wait and whether
/// the request (already counted in `current`) goes over `per_minute`.
pub fn rate_estimate(previous: i64, current: i64, elapsed: f64, per_minute: u32) -> (u64, bool) {
    let limit = f64::from(per_minute.max(1));
    let weight = (1.0 - elapsed / 60.0).clamp(0.0, 1.0);
    let estimate = previous as f64 * weight + current as f64;
    if estimate <= limit {
        return (0, false);
    }
    // Without the refused request, `current - 1` stay in this window; the
    // previous window's share fades until one more request fits again.
    let room = limit - (current - 1) as f64 - 1.0;
    let wait = if room < 0.0 || previous == 0 {
        60.0 - elapsed
    } else {
        let weight_needed = room / previous as f64;
        ((1.0 - weight_needed) * 60.0 - elapsed).max(0.0)
    };
    (wait.ceil().max(1.0) as u64, true)
}

/// What happened at one sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// A wrong e-mail or password.
    Failed,
    /// The person signed in.
    Succeeded,
    /// Refused without checking the password: too many failures lately.
    Locked,
}

impl SignInOutcome {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Succeeded => "succeeded",
            Self::Locked => "locked",
        }
    }

    /// The outcome stored as `code`.
    pub fn from_code(code: &str) -> Self {
        match code {
            "succeeded" => Self::Succeeded,
            "locked" => Self::Locked,
            _ => Self::Failed,
        }
    }
}

/// One sign-in attempt: the account asked for (lower case), the client's
/// address, what happened and when. Passwords are never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInAttempt {
    /// The e-mail typed, in lower case.
    pub email: String,
    /// The client's address.
    pub address: String,
    /// What happened.
    pub outcome: SignInOutcome,
    /// When.
    pub at: DateTime<Utc>,
}

/// Recent failed sign-ins, as [`AccessStore::sign_in_failures`] counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignInFailures {
    /// Failures for the account since its last success.
    pub account: u32,
    /// Failures from the address, whatever the account.
    pub address: u32,
    /// When the latest of either happened.
    pub latest: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod rate_tests {
    use super::{rate_estimate, rate_room};

    #[test]
    fn the_estimate_slides_over_the_minute_boundary() {
        assert_eq!(rate_estimate(0, 3, 10.0, 3), (0, false));
        // Reserving many agrees with asking one at a time.
        for (previous, current, elapsed) in [
            (0, 2, 10.0),
            (3, 0, 1.0),
            (2, 0, 30.0),
            (6, 0, 0.0),
            (0, 3, 5.0),
        ] {
            let one = rate_room(previous, current, elapsed, 3, 1) == 1;
            assert_eq!(
                one,
                !rate_estimate(previous, current + 1, elapsed, 3).1,
                "{previous} {current} {elapsed}"
            );
        }
        assert_eq!(rate_room(0, 0, 0.0, 6000, 60), 60);
        assert_eq!(rate_room(0, 5990, 0.0, 6000, 60), 10);
        assert_eq!(rate_room(6000, 0, 30.0, 6000, 60), 60);
        assert_eq!(rate_room(6000, 2990, 30.0, 6000, 60), 10);
        let (wait, limited) = rate_estimate(0, 4, 10.0, 3);
        assert!(limited && wait == 50, "{wait}");
        // Three requests just before the minute still count just after it.
        assert!(rate_estimate(3, 1, 1.0, 3).1);
        // Half a minute later, half of them have faded.
        assert!(!rate_estimate(2, 1, 30.0, 3).1);
        let (wait, limited) = rate_estimate(6, 1, 0.0, 3);
        assert!(limited && (1..=60).contains(&wait), "{wait}");
    }
}

/// An account about to be created.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// E-mail, used to sign in.
    pub email: Email,
    /// Name shown.
    pub name: Name,
    /// Argon2 hash of the password (PHC string).
    pub password_hash: String,
    /// « Administration des applications ».
    pub can_admin_apps: bool,
    /// « Gestion des rôles et des clés API ».
    pub can_manage_keys: bool,
}

/// A key about to be stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The base it opens.
    pub base_id: BaseId,
    /// Public part, used to find it.
    pub prefix: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// What it is for.
    pub name: Name,
    /// Technical contact.
    pub contact: Email,
    /// Internal or third-party.
    pub usage: KeyUsage,
    /// What it may see and do.
    pub role: Role,
}

/// API keys, their audit trail and rate limits; admin accounts, sessions and sign-ins.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Stores a new API key, made by `by` (written in the activity journal
    /// with it, as `by` is below).
    async fn create_api_key(&self, key: &NewApiKey, by: Actor) -> Result<ApiKey>;

    /// The key with this public prefix, whatever its base, and its base's
    /// data version ([`HrStore::base_version`](crate::HrStore::base_version)) read in the same statement: a
    /// request learns both in one round trip.
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, BaseVersions)>>;

    /// The keys of a base, revoked ones included.
    async fn list_api_keys(&self, base: BaseId) -> Result<Vec<ApiKey>>;

    /// One key.
    async fn get_api_key(&self, id: KeyId) -> Result<ApiKey>;

    /// One key and its base's versions, read in one statement (as
    /// [`api_key_by_prefix`](Self::api_key_by_prefix) does).
    async fn api_key_at_version(&self, id: KeyId) -> Result<(ApiKey, BaseVersions)>;

    /// Revokes a key; it opens nothing from then on. Revoking a revoked key
    /// changes nothing and writes nothing in the journal.
    async fn revoke_api_key(&self, id: KeyId, by: Actor) -> Result<ApiKey>;

    /// Gives a live key a new secret (`secret_hash`); the current one keeps
    /// opening it until `previous_valid_until` (a past time: not at all).
    async fn rotate_api_key(
        &self,
        id: KeyId,
        secret_hash: &str,
        previous_valid_until: DateTime<Utc>,
        by: Actor,
    ) -> Result<ApiKey>;

    /// Records an authenticated request and the key's last use.
    async fn record_request(&self, entry: &AuditEntry) -> Result<()> {
        self.record_requests(std::slice::from_ref(entry)).await
    }

    /// Records authenticated requests, and each key's last use, in one
    /// transaction (the audit trail's group commit).
    async fn record_requests(&self, entries: &[AuditEntry]) -> Result<()>;

    /// The latest requests made with a key, newest first.
    async fn list_requests(&self, key_id: KeyId, limit: u32) -> Result<Vec<AuditEntry>>;

    /// Deletes the audit trail's requests made before `before`, by chunks
    /// of [`crate::events::PRUNE_CHUNK`] so that no transaction holds the
    /// writer long, and the pages' sessions that have expired; how many
    /// requests and sessions went.
    async fn prune_requests(&self, before: DateTime<Utc>) -> Result<(u64, u64)>;

    /// Reserves up to `wanted` requests of a key in the shared one-minute
    /// windows, as many as fit in `per_minute` (a sliding estimate over this
    /// minute and the last), counted as made. When none fits, one refused
    /// request is counted as limited, not as made. Every process sharing the
    /// database shares the windows.
    async fn take_requests(
        &self,
        key_id: KeyId,
        at: DateTime<Utc>,
        per_minute: u32,
        wanted: u32,
    ) -> Result<RateDecision>;

    /// Requests refused for going over the limit, per minute, newest first.
    async fn limited_requests(
        &self,
        key_id: KeyId,
        limit: u32,
    ) -> Result<Vec<(DateTime<Utc>, i64)>>;

    /// Records a sign-in attempt of the admin pages.
    async fn record_sign_in(&self, attempt: &SignInAttempt) -> Result<()>;

    /// Failed sign-ins since `since`: for the account (after its last
    /// success) and from the address, with the time of the latest.
    async fn sign_in_failures(
        &self,
        email: &str,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<SignInFailures>;

    /// The latest sign-in attempts, newest first: all of them, or those
    /// made to the account signing in with `email` (any case).
    async fn list_sign_ins(&self, email: Option<&str>, limit: u32) -> Result<Vec<SignInAttempt>>;

    /// When each account last signed in, by e-mail (lower case); accounts
    /// that never did are left out.
    async fn last_sign_ins(&self) -> Result<std::collections::HashMap<String, DateTime<Utc>>>;

    /// Creates an admin-page account; 409 if the e-mail is taken. `by`:
    /// who created it from the pages (`None`: the command line); one made
    /// from the pages chooses its own password at its first sign-in.
    async fn create_person(&self, person: &NewPerson, by: Option<PersonId>) -> Result<Person>;

    /// An account and its password hash, by e-mail (any case).
    async fn person_by_email(&self, email: &str) -> Result<Option<(Person, String)>>;

    /// Every account.
    async fn list_people(&self) -> Result<Vec<Person>>;

    /// Opens a session for a person.
    async fn create_session(
        &self,
        token_hash: &str,
        person: PersonId,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    /// The person and CSRF token of a live session.
    async fn session(&self, token_hash: &str) -> Result<Option<(Person, String)>>;

    /// Closes a session.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Sets the password hash of the account signing in with `email` and
    /// ends its sessions, in one transaction; the account. `by`, here and
    /// below: who made the change from the pages (`None`: the command line),
    /// kept in the account's history with it. A password set by another
    /// account marks it to choose its own
    /// ([`Person::must_choose_password`]); one set by its owner or at the
    /// command line clears the mark.
    async fn set_person_password(
        &self,
        email: &str,
        password_hash: &str,
        by: Option<PersonId>,
    ) -> Result<Person>;

    /// Disables the account signing in with `email` (it signs in no more,
    /// and its sessions end) or enables it again; the account. Refused (a
    /// conflict on `can_manage_keys`) when it would leave no enabled account
    /// that may manage accounts and keys.
    async fn set_person_disabled(
        &self,
        email: &str,
        disabled: bool,
        by: Option<PersonId>,
    ) -> Result<Person>;

    /// Sets what the account signing in with `email` may do: install apps
    /// (« Administration des applications ») and manage accounts and keys
    /// (« Gestion des rôles et des clés API »); the account. Refused (a
    /// conflict on `can_manage_keys`) when it would leave no enabled account
    /// that may manage accounts and keys.
    async fn set_person_rights(
        &self,
        email: &str,
        can_admin_apps: bool,
        can_manage_keys: bool,
        by: Option<PersonId>,
    ) -> Result<Person>;

    /// Renames the account signing in with `email` and sets the e-mail it
    /// signs in with (`new_email`, which may be the same); the account. Its
    /// sessions stay open, and its sign-in attempts follow it to the new
    /// address. Refused (a conflict on `email`) when another
    /// account signs in with `new_email`, in any case. A change that changes
    /// nothing is not written in the history.
    async fn set_person_identity(
        &self,
        email: &str,
        name: &relais_core::org::Name,
        new_email: &relais_core::employee::Email,
        by: Option<PersonId>,
    ) -> Result<Person>;

    /// The latest changes of an account, newest first.
    async fn list_account_changes(
        &self,
        person: PersonId,
        limit: u32,
    ) -> Result<Vec<AccountChange>>;
}

/// Implements [`AccessStore`] for a backend (`$store`, over `$db`): its SQL,
/// written once for both (see `sql.rs`).
macro_rules! access_store {
    ($store:ident, $db:ty) => {
        mod access_sql {
            use super::$store;
            use crate::dialect::Dialect;
            use crate::AccessStore;
            use crate::rows;
            use crate::{BaseVersions, Result, StoreError};
            use async_trait::async_trait;
            use relais_core::ids::*;
            use relais_core::access::{ApiKey, AuditEntry};
            use relais_core::activity::{Action, Actor, NewActivity};
            use relais_core::people::AccountChangeKind;
            use relais_core::now;
            use crate::NewApiKey;

            type Conn = <$db as sqlx::Database>::Connection;

            impl $store {
                /// The account an update of `people` found (`row`), its
                /// sessions ended when `end_sessions`, the change (`kind`,
                /// made by `by`) written in its history; an unknown `email`
                /// is not found.
                async fn changed_person(
                    conn: &mut Conn,
                    email: &str,
                    row: Option<rows::PersonRow>,
                    end_sessions: bool,
                    (kind, by): (AccountChangeKind, Option<PersonId>),
                ) -> Result<relais_core::people::Person> {
                    let Some(row) = row else {
                        return Err(StoreError::NotFound { entity: "account", key: email.to_owned() });
                    };
                    let person: relais_core::people::Person = row.try_into()?;
                    Self::log_account_change(conn, &person, (kind, None), by).await?;
                    if end_sessions {
                        sqlx::query("DELETE FROM sessions WHERE person_id = $1")
                            .bind(person.id.0)
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(person)
                }

                /// Writes `kind`, made to `person` by `by`, in its history,
                /// with the rights it holds now and, for a change of name or
                /// e-mail, what it was called before (`previously`).
                async fn log_account_change(
                    conn: &mut Conn,
                    person: &relais_core::people::Person,
                    (kind, previously): (AccountChangeKind, Option<String>),
                    by: Option<PersonId>,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO account_changes (person_id, change, can_admin_apps, can_manage_keys, by_person_id, at, previously) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(person.id.0)
                    .bind(kind.code())
                    .bind(person.can_admin_apps)
                    .bind(person.can_manage_keys)
                    .bind(by.map(|p| p.0))
                    .bind(now())
                    .bind(previously.as_deref())
                    .execute(&mut *conn)
                    .await?;
                    let entry = NewActivity {
                        base: None,
                        by: by.map_or(Actor::CommandLine, Actor::Person),
                        action: kind.into(),
                        target: person.id.0,
                        subject: format!("{} <{}>", person.name, person.email),
                        detail: previously,
                    };
                    Self::log_activity(conn, &entry).await
                }

                /// Enabled accounts that may manage accounts and keys, after
                /// taking the lock that serialises changes of them for the
                /// transaction (on PostgreSQL, where a session may take it
                /// again; SQLite has one writer at a time already).
                async fn account_managers(conn: &mut Conn) -> Result<i64> {
                    if let Some(lock) = Self::ADVISORY_LOCK {
                        sqlx::query(lock).bind("relais.accounts").bind(0_i64).execute(&mut *conn).await?;
                    }
                    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE can_manage_keys AND disabled_at IS NULL")
                        .fetch_one(&mut *conn)
                        .await?)
                }

                /// Refuses a change of accounts made on `conn` when, of the
                /// `before` accounts that could manage accounts and keys, it
                /// left none: nobody could then give that right back from
                /// the pages.
                async fn keep_an_account_manager(conn: &mut Conn, before: i64) -> Result<()> {
                    if before > 0 && Self::account_managers(conn).await? == 0 {
                        return Err(StoreError::Conflict {
                            field: "can_manage_keys",
                            message: "this would leave no enabled account that may manage accounts and keys; give that right to another account first".to_owned(),
                        });
                    }
                    Ok(())
                }

                /// Key `id` as `conn` sees it.
                pub(crate) async fn key_on(conn: &mut Conn, id: KeyId) -> Result<ApiKey> {
                    let sql = format!("SELECT {} FROM api_keys WHERE id = $1", rows::API_KEY_COLUMNS);
                    let row: Option<rows::ApiKeyRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
                    row.ok_or(StoreError::NotFound { entity: "API key", key: id.to_string() })?.try_into()
                }

                /// Writes `action`, made to `key` by `by`, in the journal.
                async fn log_key(conn: &mut Conn, key: &ApiKey, action: Action, by: Actor) -> Result<()> {
                    let entry = NewActivity {
                        base: Some(key.base_id),
                        by,
                        action,
                        target: key.id.0,
                        subject: key.name.to_string(),
                        detail: None,
                    };
                    Self::log_activity(conn, &entry).await
                }

                /// Stores a new key on `conn`.
                pub(crate) async fn insert_key(conn: &mut Conn, key: &NewApiKey) -> Result<ApiKey> {
                    let sql = format!(
                        "INSERT INTO api_keys (base_id, prefix, secret_hash, name, contact, usage, role, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {}",
                        rows::API_KEY_COLUMNS
                    );
                    let row: rows::ApiKeyRow = sqlx::query_as(&sql)
                        .bind(key.base_id.0)
                        .bind(key.prefix.as_str())
                        .bind(key.secret_hash.as_str())
                        .bind(key.name.as_str())
                        .bind(key.contact.as_str())
                        .bind(key.usage.as_str())
                        .bind(serde_json::to_string(&key.role).expect("roles serialise"))
                        .bind(now())
                        .fetch_one(&mut *conn)
                        .await?;
                    row.try_into()
                }
            }

            #[async_trait]
            impl AccessStore for $store {
                async fn create_api_key(&self, key: &NewApiKey, by: Actor) -> Result<ApiKey> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let created = Self::insert_key(&mut tx, key).await?;
                    Self::log_key(&mut tx, &created, Action::KeyCreated, by).await?;
                    tx.commit().await?;
                    Ok(created)
                }

                async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, BaseVersions)>> {
                    let sql = format!("{} WHERE prefix = $1", rows::KeyAtVersion::select());
                    let row: Option<rows::KeyAtVersion> = sqlx::query_as(&sql).bind(prefix).fetch_optional(&self.pool).await?;
                    row.map(TryInto::try_into).transpose()
                }

                async fn api_key_at_version(&self, id: KeyId) -> Result<(ApiKey, BaseVersions)> {
                    let sql = format!("{} WHERE id = $1", rows::KeyAtVersion::select());
                    let row: Option<rows::KeyAtVersion> = sqlx::query_as(&sql).bind(id.0).fetch_optional(&self.pool).await?;
                    row.ok_or(StoreError::NotFound { entity: "API key", key: id.to_string() })?.try_into()
                }

                async fn list_api_keys(&self, base: BaseId) -> Result<Vec<ApiKey>> {
                    let sql = format!("SELECT {} FROM api_keys WHERE base_id = $1 ORDER BY id", rows::API_KEY_COLUMNS);
                    let rows: Vec<rows::ApiKeyRow> = sqlx::query_as(&sql).bind(base.0).fetch_all(&self.pool).await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn get_api_key(&self, id: KeyId) -> Result<ApiKey> {
                    let sql = format!("SELECT {} FROM api_keys WHERE id = $1", rows::API_KEY_COLUMNS);
                    let row: Option<rows::ApiKeyRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(&self.pool).await?;
                    row.ok_or(StoreError::NotFound { entity: "API key", key: id.to_string() })?.try_into()
                }

                async fn revoke_api_key(&self, id: KeyId, by: Actor) -> Result<ApiKey> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let done = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                        .bind(id.0)
                        .bind(now())
                        .execute(&mut *tx)
                        .await?;
                    let key = Self::key_on(&mut tx, id).await?;
                    if done.rows_affected() > 0 {
                        Self::log_key(&mut tx, &key, Action::KeyRevoked, by).await?;
                    }
                    tx.commit().await?;
                    Ok(key)
                }

                async fn rotate_api_key(
                    &self,
                    id: KeyId,
                    secret_hash: &str,
                    previous_valid_until: chrono::DateTime<chrono::Utc>,
                    by: Actor,
                ) -> Result<ApiKey> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let done = sqlx::query(
                        "UPDATE api_keys SET previous_secret_hash = secret_hash, previous_valid_until = $2, \
                         secret_hash = $3 WHERE id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id.0)
                    .bind(previous_valid_until)
                    .bind(secret_hash)
                    .execute(&mut *tx)
                    .await?;
                    let key = Self::key_on(&mut tx, id).await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Conflict {
                            field: "key",
                            message: format!(
                                "key {} ({}) is revoked: a revoked key cannot be rotated",
                                key.id, key.name
                            ),
                        });
                    }
                    Self::log_key(&mut tx, &key, Action::KeyRotated, by).await?;
                    tx.commit().await?;
                    Ok(key)
                }

                async fn record_requests(&self, entries: &[AuditEntry]) -> Result<()> {
                    if entries.is_empty() {
                        return Ok(());
                    }
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    // The whole batch in one statement, the same whatever its
                    // size: a statement a request cost each request a round
                    // trip to the database (a thread switch each way on SQLite)
                    // while the one writer was held.
                    let rows: Vec<serde_json::Value> = entries
                        .iter()
                        .map(|e| {
                            serde_json::json!([
                                e.base_id.0,
                                e.key_id.0,
                                e.method,
                                e.path,
                                e.status,
                                e.employee_records,
                                e.records,
                                // As the drivers write an instant, so that the
                                // rows compare and read as those bound one by one.
                                e.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
                            ])
                        })
                        .collect();
                    sqlx::query(&format!(
                        "INSERT INTO api_requests (base_id, key_id, method, path, status, employee_records, records, at) {}$1{}",
                        Self::REQUESTS.0,
                        Self::REQUESTS.1
                    ))
                    .bind(serde_json::Value::Array(rows).to_string())
                    .execute(&mut *tx)
                    .await?;
                    let mut last_used: std::collections::BTreeMap<i64, chrono::DateTime<chrono::Utc>> =
                        std::collections::BTreeMap::new();
                    for entry in entries {
                        let at = last_used.entry(entry.key_id.0).or_insert(entry.at);
                        *at = (*at).max(entry.at);
                    }
                    for (key, at) in last_used {
                        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                            .bind(key)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn prune_requests(&self, before: chrono::DateTime<chrono::Utc>) -> Result<(u64, u64)> {
                    let chunk = crate::events::PRUNE_CHUNK;
                    let sql = format!(
                        "DELETE FROM api_requests WHERE id IN \
                         (SELECT id FROM api_requests WHERE at < $1 ORDER BY at LIMIT {chunk})"
                    );
                    let requests = delete_in_chunks!(&self.writer, &sql, before);
                    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                        .bind(now())
                        .execute(&self.writer)
                        .await?
                        .rows_affected();
                    Ok((requests, sessions))
                }

                async fn list_requests(&self, key_id: KeyId, limit: u32) -> Result<Vec<AuditEntry>> {
                    let rows: Vec<rows::AuditRow> = sqlx::query_as(
                        "SELECT base_id, key_id, method, path, status, employee_records, records, at FROM api_requests \
                         WHERE key_id = $1 ORDER BY id DESC LIMIT $2",
                    )
                    .bind(key_id.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(Into::into).collect())
                }

                async fn create_person(&self, person: &crate::NewPerson, by: Option<PersonId>) -> Result<relais_core::people::Person> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let sql = format!(
                        "INSERT INTO people (email, name, password_hash, can_admin_apps, can_manage_keys, created_at, must_choose_password) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {}",
                        rows::PERSON_COLUMNS
                    );
                    let row: rows::PersonRow = sqlx::query_as(&sql)
                        .bind(person.email.as_str())
                        .bind(person.name.as_str())
                        .bind(person.password_hash.as_str())
                        .bind(person.can_admin_apps)
                        .bind(person.can_manage_keys)
                        .bind(now())
                        // Someone made it from the pages: its owner chooses
                        // their own password at their first sign-in.
                        .bind(by.is_some())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(StoreError::conflict_on("email", || format!("an account with the e-mail {} already exists", person.email)))?;
                    let created: relais_core::people::Person = row.try_into()?;
                    Self::log_account_change(&mut tx, &created, (AccountChangeKind::Created, None), by).await?;
                    tx.commit().await?;
                    Ok(created)
                }

                async fn list_account_changes(&self, person: PersonId, limit: u32) -> Result<Vec<relais_core::people::AccountChange>> {
                    let rows: Vec<(String, bool, bool, Option<i64>, chrono::DateTime<chrono::Utc>, Option<String>)> = sqlx::query_as(
                        "SELECT change, can_admin_apps, can_manage_keys, by_person_id, at, previously FROM account_changes \
                         WHERE person_id = $1 ORDER BY id DESC LIMIT $2",
                    )
                    .bind(person.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter()
                        .map(|(change, can_admin_apps, can_manage_keys, by, at, previously)| {
                            let kind = AccountChangeKind::parse(&change).ok_or_else(|| StoreError::Corrupt {
                                entity: "account_changes",
                                message: format!("unknown change {change:?}"),
                            })?;
                            Ok(relais_core::people::AccountChange { kind, can_admin_apps, can_manage_keys, by: by.map(PersonId), at, previously })
                        })
                        .collect()
                }

                async fn person_by_email(&self, email: &str) -> Result<Option<(relais_core::people::Person, String)>> {
                    let sql = format!("SELECT {}, password_hash FROM people WHERE lower(email) = lower($1)", rows::PERSON_COLUMNS);
                    let Some(row) = sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await? else {
                        return Ok(None);
                    };
                    use sqlx::{FromRow, Row};
                    let hash: String = row.try_get("password_hash")?;
                    let person = rows::PersonRow::from_row(&row)?.try_into()?;
                    Ok(Some((person, hash)))
                }

                async fn list_people(&self) -> Result<Vec<relais_core::people::Person>> {
                    let sql = format!("SELECT {} FROM people ORDER BY id", rows::PERSON_COLUMNS);
                    let rows: Vec<rows::PersonRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn create_session(&self, token_hash: &str, person: PersonId, csrf: &str, expires_at: chrono::DateTime<chrono::Utc>) -> Result<()> {
                    sqlx::query("INSERT INTO sessions (token_hash, person_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(token_hash)
                        .bind(person.0)
                        .bind(csrf)
                        .bind(now())
                        .bind(expires_at)
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn session(&self, token_hash: &str) -> Result<Option<(relais_core::people::Person, String)>> {
                    let cols = rows::PERSON_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
                    let sql = format!(
                        "SELECT {cols}, s.csrf FROM sessions s JOIN people p ON p.id = s.person_id \
                         WHERE s.token_hash = $1 AND s.expires_at > $2 AND p.disabled_at IS NULL"
                    );
                    let Some(row) = sqlx::query(&sql).bind(token_hash).bind(now()).fetch_optional(&self.pool).await? else {
                        return Ok(None);
                    };
                    use sqlx::{FromRow, Row};
                    let csrf: String = row.try_get("csrf")?;
                    let person = rows::PersonRow::from_row(&row)?.try_into()?;
                    Ok(Some((person, csrf)))
                }

                async fn take_requests(&self, key_id: KeyId, at: chrono::DateTime<chrono::Utc>, per_minute: u32, wanted: u32) -> Result<crate::RateDecision> {
                    let seconds = at.timestamp();
                    let minute = seconds.div_euclid(60);
                    let elapsed = seconds.rem_euclid(60) as f64 + f64::from(at.timestamp_subsec_millis()) / 1000.0;
                    let wanted = wanted.max(1);
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let current: i64 = sqlx::query_scalar(
                        "INSERT INTO api_rate_windows (key_id, window_start, requests, limited) VALUES ($1, $2, $3, 0) \
                         ON CONFLICT (key_id, window_start) DO UPDATE SET requests = api_rate_windows.requests + $3 \
                         RETURNING requests",
                    )
                    .bind(key_id.0)
                    .bind(minute)
                    .bind(i64::from(wanted))
                    .fetch_one(&mut *tx)
                    .await?;
                    let previous: Option<i64> = sqlx::query_scalar("SELECT requests FROM api_rate_windows WHERE key_id = $1 AND window_start = $2")
                        .bind(key_id.0)
                        .bind(minute - 1)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let before = current - i64::from(wanted);
                    let granted = crate::rate_room(previous.unwrap_or(0), before, elapsed, per_minute, wanted);
                    if granted < wanted {
                        sqlx::query("UPDATE api_rate_windows SET requests = requests - $3, limited = limited + $4 WHERE key_id = $1 AND window_start = $2")
                            .bind(key_id.0)
                            .bind(minute)
                            .bind(i64::from(wanted - granted))
                            .bind(i64::from(granted == 0))
                            .execute(&mut *tx)
                            .await?;
                    }
                    // Windows older than the one before are no longer needed for the estimate
                    // (cleared once a minute, by the minute's first reservation); those with
                    // refused requests stay as the audit of the limit.
                    if before == 0 {
                        sqlx::query("DELETE FROM api_rate_windows WHERE key_id = $1 AND window_start < $2 AND limited = 0")
                            .bind(key_id.0)
                            .bind(minute - 1)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(if granted == 0 {
                        let (wait, _) = crate::rate_estimate(previous.unwrap_or(0), before + 1, elapsed, per_minute);
                        crate::RateDecision::Limited(wait)
                    } else {
                        crate::RateDecision::Allowed(granted)
                    })
                }

                async fn limited_requests(&self, key_id: KeyId, limit: u32) -> Result<Vec<(chrono::DateTime<chrono::Utc>, i64)>> {
                    let rows: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT window_start, limited FROM api_rate_windows WHERE key_id = $1 AND limited > 0 \
                         ORDER BY window_start DESC LIMIT $2",
                    )
                    .bind(key_id.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .filter_map(|(minute, n)| chrono::DateTime::from_timestamp(minute * 60, 0).map(|t| (t, n)))
                        .collect())
                }

                async fn record_sign_in(&self, attempt: &crate::SignInAttempt) -> Result<()> {
                    sqlx::query("INSERT INTO sign_in_attempts (email, address, outcome, at) VALUES ($1, $2, $3, $4)")
                        .bind(attempt.email.as_str())
                        .bind(attempt.address.as_str())
                        .bind(attempt.outcome.code())
                        .bind(attempt.at)
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn sign_in_failures(&self, email: &str, address: &str, since: chrono::DateTime<chrono::Utc>) -> Result<crate::SignInFailures> {
                    let last_success: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
                        "SELECT MAX(at) FROM sign_in_attempts WHERE email = $1 AND outcome = 'succeeded'",
                    )
                    .bind(email)
                    .fetch_one(&self.pool)
                    .await?;
                    let from = last_success.map_or(since, |t| t.max(since));
                    let (account, account_latest): (i64, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
                        "SELECT COUNT(*), MAX(at) FROM sign_in_attempts WHERE email = $1 AND outcome = 'failed' AND at > $2",
                    )
                    .bind(email)
                    .bind(from)
                    .fetch_one(&self.pool)
                    .await?;
                    let (by_address, address_latest): (i64, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
                        "SELECT COUNT(*), MAX(at) FROM sign_in_attempts WHERE address = $1 AND outcome = 'failed' AND at > $2",
                    )
                    .bind(address)
                    .bind(since)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(crate::SignInFailures {
                        account: u32::try_from(account).unwrap_or(u32::MAX),
                        address: u32::try_from(by_address).unwrap_or(u32::MAX),
                        latest: account_latest.max(address_latest),
                    })
                }

                async fn last_sign_ins(&self) -> Result<std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>> {
                    let rows: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                        "SELECT email, MAX(at) AS at FROM sign_in_attempts \
                         WHERE outcome = 'succeeded' AND email IN (SELECT lower(email) FROM people) \
                         GROUP BY email",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().collect())
                }

                async fn list_sign_ins(&self, email: Option<&str>, limit: u32) -> Result<Vec<crate::SignInAttempt>> {
                    let of_account = if email.is_some() { "WHERE email = lower($2)" } else { "" };
                    let sql = format!("SELECT email, address, outcome, at FROM sign_in_attempts {of_account} ORDER BY id DESC LIMIT $1");
                    let mut query = sqlx::query_as(&sql).bind(i64::from(limit));
                    if let Some(email) = email {
                        query = query.bind(email);
                    }
                    let rows: Vec<(String, String, String, chrono::DateTime<chrono::Utc>)> = query.fetch_all(&self.pool).await?;
                    Ok(rows
                        .into_iter()
                        .map(|(email, address, outcome, at)| crate::SignInAttempt {
                            email,
                            address,
                            outcome: crate::SignInOutcome::from_code(&outcome),
                            at,
                        })
                        .collect())
                }

                async fn set_person_password(&self, email: &str, password_hash: &str, by: Option<PersonId>) -> Result<relais_core::people::Person> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let sql = format!(
                        "UPDATE people SET password_hash = $2, must_choose_password = COALESCE($3 <> id, FALSE) \
                         WHERE lower(email) = lower($1) RETURNING {}",
                        rows::PERSON_COLUMNS
                    );
                    // Set by someone else from the pages, the password is to
                    // be replaced by its owner's own.
                    let row = sqlx::query_as(&sql)
                        .bind(email)
                        .bind(password_hash)
                        .bind(by.map(|p| p.0))
                        .fetch_optional(&mut *tx)
                        .await?;
                    let person = Self::changed_person(&mut tx, email, row, true, (AccountChangeKind::Password, by)).await?;
                    tx.commit().await?;
                    Ok(person)
                }

                async fn set_person_disabled(&self, email: &str, disabled: bool, by: Option<PersonId>) -> Result<relais_core::people::Person> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let before = Self::account_managers(&mut tx).await?;
                    let sql = format!(
                        "UPDATE people SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, $3) END \
                         WHERE lower(email) = lower($1) RETURNING {}",
                        rows::PERSON_COLUMNS
                    );
                    let row = sqlx::query_as(&sql).bind(email).bind(disabled).bind(now()).fetch_optional(&mut *tx).await?;
                    let kind = if disabled { AccountChangeKind::Disabled } else { AccountChangeKind::Enabled };
                    let person = Self::changed_person(&mut tx, email, row, disabled, (kind, by)).await?;
                    Self::keep_an_account_manager(&mut tx, before).await?;
                    tx.commit().await?;
                    Ok(person)
                }

                async fn set_person_rights(&self, email: &str, can_admin_apps: bool, can_manage_keys: bool, by: Option<PersonId>) -> Result<relais_core::people::Person> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let before = Self::account_managers(&mut tx).await?;
                    let sql = format!(
                        "UPDATE people SET can_admin_apps = $2, can_manage_keys = $3 \
                         WHERE lower(email) = lower($1) RETURNING {}",
                        rows::PERSON_COLUMNS
                    );
                    let row = sqlx::query_as(&sql).bind(email).bind(can_admin_apps).bind(can_manage_keys).fetch_optional(&mut *tx).await?;
                    let person = Self::changed_person(&mut tx, email, row, false, (AccountChangeKind::Rights, by)).await?;
                    Self::keep_an_account_manager(&mut tx, before).await?;
                    tx.commit().await?;
                    Ok(person)
                }

                async fn set_person_identity(&self, email: &str, name: &relais_core::org::Name, new_email: &relais_core::employee::Email, by: Option<PersonId>) -> Result<relais_core::people::Person> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let sql = format!("SELECT {} FROM people WHERE lower(email) = lower($1)", rows::PERSON_COLUMNS);
                    let Some(row) = sqlx::query_as::<_, rows::PersonRow>(&sql).bind(email).fetch_optional(&mut *tx).await? else {
                        return Err(StoreError::NotFound { entity: "account", key: email.to_owned() });
                    };
                    let before: relais_core::people::Person = row.try_into()?;
                    if before.name == *name && before.email.as_str() == new_email.as_str() {
                        return Ok(before);
                    }
                    let sql = format!("UPDATE people SET name = $2, email = $3 WHERE id = $1 RETURNING {}", rows::PERSON_COLUMNS);
                    let row: rows::PersonRow = sqlx::query_as(&sql)
                        .bind(before.id.0)
                        .bind(name.as_str())
                        .bind(new_email.as_str())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(StoreError::conflict_on("email", || format!("an account with the e-mail {new_email} already exists")))?;
                    let after: relais_core::people::Person = row.try_into()?;
                    // The account's sign-ins follow it to its new address:
                    // its last sign-in and any lock stay its own (the
                    // history keeps the address they were made with).
                    if !before.email.as_str().eq_ignore_ascii_case(after.email.as_str()) {
                        sqlx::query("UPDATE sign_in_attempts SET email = lower($2) WHERE email = lower($1)")
                            .bind(before.email.as_str())
                            .bind(after.email.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                    let previously = format!("{} <{}>", before.name, before.email);
                    Self::log_account_change(&mut tx, &after, (AccountChangeKind::Identity, Some(previously)), by).await?;
                    tx.commit().await?;
                    Ok(after)
                }

                async fn delete_session(&self, token_hash: &str) -> Result<()> {
                    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.writer).await?;
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use access_store;
