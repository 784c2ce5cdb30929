//! Storage of the HR base.
//!
//! [`Store`] is the one interface the rest of relais uses. Two implementations
//! share its SQL (written once, with `$n` placeholders, in `sql.rs`) and keep
//! their own migrations: [`sqlite::SqliteStore`], the embedded default, and
//! [`postgres::PgStore`] for several relais processes over one server.
//! [`open`] picks one from a [`DatabaseUrl`] and applies migrations.

mod error;
pub mod query;
pub mod reports;
#[macro_use]
mod sql;
pub mod postgres;
pub mod rows;
pub mod sqlite;
mod url;

pub use error::{Result, StoreError};
pub use query::{Cond, Condition, Direction, Encoded, Encoder, ListQuery, Page, SqlValue};
pub use url::DatabaseUrl;

use async_trait::async_trait;
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use relais_core::absence::{AbsenceAccount, LeavePeriod, LeaveStatus, NewLeavePeriod};
use relais_core::access::{ApiKey, AuditEntry, KeyUsage, Role};
use relais_core::audit::{Author, EmployeeLog};
use relais_core::base::{Base, BaseKind, BaseName};
use relais_core::employee::Email;
use relais_core::employee::{Employee, EmployeeData, Section, SectionField};
use relais_core::expense::{Axis, AxisSection, ExpenseClaim, ExpenseItem, ExpenseNature};
use relais_core::ids::*;
use relais_core::integration::{Health, Integration, ReportLine, RunStatus, SyncRun, Trigger};
use relais_core::ledger::Acknowledged;
use relais_core::org::{Department, Establishment, LegalUnit, Name};
use relais_core::people::{Installation, Person};
use serde::Serialize;
use std::sync::Arc;

/// How many records of each kind a base holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct BaseCounts {
    /// Legal units.
    pub legal_units: i64,
    /// Establishments.
    pub establishments: i64,
    /// Departments.
    pub departments: i64,
    /// Employees whose contract runs today.
    pub active_employees: i64,
    /// Employees whose contract starts after today.
    pub future_employees: i64,
    /// Employees whose contract ended before today.
    pub former_employees: i64,
    /// Absence accounts.
    pub absence_accounts: i64,
    /// Leave periods, whatever their status.
    pub leave_periods: i64,
    /// Expense claims.
    pub expense_claims: i64,
    /// Expense items.
    pub expense_items: i64,
}

impl BaseCounts {
    /// All employees, whatever their contract status.
    pub fn employees(&self) -> i64 {
        self.active_employees + self.future_employees + self.former_employees
    }

    /// Whether the base holds no HR data at all.
    pub fn is_empty(&self) -> bool {
        *self == BaseCounts::default()
    }
}

/// Everything relais reads and writes in its database.
///
/// Methods that take whole records with their identifiers (`insert_*`) store
/// them as they are, in bulk, checking only what the database enforces
/// (references and unique fields): the demo generator and imports use them
/// after building valid records. Methods named `create_*`, `update_*` and
/// `set_*` apply every domain rule and are what people and the API go through.
#[async_trait]
pub trait Store: reports::ReportStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// Every base, in creation order.
    async fn list_bases(&self) -> Result<Vec<Base>>;
    /// Creates an empty base; 409 if the name is taken.
    async fn create_base(&self, name: &BaseName, kind: BaseKind) -> Result<Base>;
    /// The base with this name.
    async fn base_by_name(&self, name: &BaseName) -> Result<Base>;
    /// The base's data version: it grows with every committed change to the
    /// base's HR data, whoever writes it (kept by the database itself), so
    /// anything computed from that data stays right while it is unchanged.
    async fn base_version(&self, base: BaseId) -> Result<i64>;
    /// What a base holds; employees are split by their status on `today`.
    async fn base_counts(&self, base: BaseId, today: NaiveDate) -> Result<BaseCounts>;
    /// Deletes every HR record of a base, keeping the base itself.
    async fn clear_base(&self, base: BaseId) -> Result<()>;
    /// Replaces the HR data of `to` by a copy of `from`'s, identifiers
    /// included, in one transaction.
    async fn copy_base(&self, from: BaseId, to: BaseId) -> Result<()>;
    /// Reserves `count` consecutive identifiers for `entity` in `base` and
    /// returns the first.
    async fn reserve_ids(&self, base: BaseId, entity: Entity, count: i64) -> Result<i64>;

    /// Stores legal units.
    async fn insert_legal_units(&self, rows: &[LegalUnit]) -> Result<()>;
    /// The legal units of a base.
    async fn list_legal_units(&self, base: BaseId) -> Result<Vec<LegalUnit>>;
    /// Stores establishments.
    async fn insert_establishments(&self, rows: &[Establishment]) -> Result<()>;
    /// The establishments of a base.
    async fn list_establishments(&self, base: BaseId) -> Result<Vec<Establishment>>;
    /// Stores departments (parents before children).
    async fn insert_departments(&self, rows: &[Department]) -> Result<()>;
    /// The departments of a base.
    async fn list_departments(&self, base: BaseId) -> Result<Vec<Department>>;
    /// Names the head of a department; the head must be an employee of the base.
    async fn set_department_head(
        &self,
        base: BaseId,
        department: DepartmentId,
        head: Option<EmployeeId>,
    ) -> Result<()>;

    /// Stores personnel-file sections.
    async fn insert_sections(&self, rows: &[Section]) -> Result<()>;
    /// The personnel-file sections of a base.
    async fn list_sections(&self, base: BaseId) -> Result<Vec<Section>>;
    /// Stores personnel-file fields.
    async fn insert_section_fields(&self, rows: &[SectionField]) -> Result<()>;
    /// The personnel-file fields of a base.
    async fn list_section_fields(&self, base: BaseId) -> Result<Vec<SectionField>>;

    /// Stores employees (managers before the people they manage).
    async fn insert_employees(&self, rows: &[Employee]) -> Result<()>;
    /// Creates an employee, checking custom fields against the base's
    /// sections, and logs the new values under `author`.
    async fn create_employee(
        &self,
        base: BaseId,
        data: &EmployeeData,
        author: &Author,
    ) -> Result<Employee>;
    /// Replaces an employee's data and logs each changed field under `author`.
    async fn update_employee(
        &self,
        base: BaseId,
        id: EmployeeId,
        data: &EmployeeData,
        author: &Author,
    ) -> Result<Employee>;
    /// Employees matching a query.
    async fn query_employees(&self, base: BaseId, query: &ListQuery) -> Result<Page<Employee>>;
    /// The page [`Store::query_employees`] reads, each batch of its
    /// employees made by `encode` (into its JSON, say) on the runtime's
    /// threads while the next batch is read; batches in the page's order.
    async fn encode_employees(
        &self,
        base: BaseId,
        query: &ListQuery,
        encode: Encoder<Employee>,
    ) -> Result<Page<Encoded>>;
    /// The employees with these identifiers (unknown ones are left out).
    async fn employees_by_ids(&self, base: BaseId, ids: &[EmployeeId]) -> Result<Vec<Employee>>;
    /// The working calendar of each of these employees' establishments
    /// (those that exist), without reading the rest of their records.
    async fn calendars_of(
        &self,
        base: BaseId,
        ids: &[EmployeeId],
    ) -> Result<Vec<(EmployeeId, relais_core::calendar::WorkCalendar)>>;
    /// Adds entries to the change log as they are (a history brought in by
    /// seeding or an import); their identifiers are assigned by the store.
    async fn insert_employee_logs(&self, logs: &[EmployeeLog]) -> Result<()>;
    /// Field changes matching a query.
    async fn query_employee_logs(
        &self,
        base: BaseId,
        query: &ListQuery,
    ) -> Result<Page<EmployeeLog>>;
    /// One employee.
    async fn get_employee(&self, base: BaseId, id: EmployeeId) -> Result<Employee>;
    /// Up to `limit` employees with identifiers above `after`, in identifier order.
    async fn list_employees(
        &self,
        base: BaseId,
        after: Option<EmployeeId>,
        limit: u32,
    ) -> Result<Vec<Employee>>;

    /// Stores absence accounts.
    async fn insert_absence_accounts(&self, rows: &[AbsenceAccount]) -> Result<()>;
    /// The absence accounts of a base.
    async fn list_absence_accounts(&self, base: BaseId) -> Result<Vec<AbsenceAccount>>;
    /// Stores leave periods as they are (no overlap check: the caller built
    /// them without overlaps).
    async fn insert_leave_periods(&self, rows: &[LeavePeriod]) -> Result<()>;
    /// Creates a leave period: refuses an inactive account, a period that
    /// covers no working half day, or one that overlaps a pending or approved
    /// period of the same employee; counts its working half days.
    async fn create_leave_period(&self, base: BaseId, new: &NewLeavePeriod) -> Result<LeavePeriod>;
    /// Moves a leave period through its workflow.
    async fn set_leave_status(
        &self,
        base: BaseId,
        id: LeavePeriodId,
        status: LeaveStatus,
    ) -> Result<LeavePeriod>;
    /// One leave period.
    async fn get_leave_period(&self, base: BaseId, id: LeavePeriodId) -> Result<LeavePeriod>;
    /// Leave periods matching a query.
    async fn query_leave_periods(
        &self,
        base: BaseId,
        query: &ListQuery,
    ) -> Result<Page<LeavePeriod>>;
    /// The leave periods of one employee, by start.
    async fn list_leave_periods(
        &self,
        base: BaseId,
        employee: EmployeeId,
    ) -> Result<Vec<LeavePeriod>>;

    /// Stores expense natures.
    async fn insert_expense_natures(&self, rows: &[ExpenseNature]) -> Result<()>;
    /// The expense natures of a base.
    async fn list_expense_natures(&self, base: BaseId) -> Result<Vec<ExpenseNature>>;
    /// Stores analytics axes.
    async fn insert_axes(&self, rows: &[Axis]) -> Result<()>;
    /// The analytics axes of a base.
    async fn list_axes(&self, base: BaseId) -> Result<Vec<Axis>>;
    /// Stores analytics axis sections.
    async fn insert_axis_sections(&self, rows: &[AxisSection]) -> Result<()>;
    /// The analytics axis sections of a base.
    async fn list_axis_sections(&self, base: BaseId) -> Result<Vec<AxisSection>>;
    /// Stores expense claims.
    async fn insert_expense_claims(&self, rows: &[ExpenseClaim]) -> Result<()>;
    /// The expense claims of one employee.
    async fn list_expense_claims(
        &self,
        base: BaseId,
        owner: EmployeeId,
    ) -> Result<Vec<ExpenseClaim>>;
    /// Stores expense items.
    async fn insert_expense_items(&self, rows: &[ExpenseItem]) -> Result<()>;
    /// The items of one claim.
    async fn list_expense_items(
        &self,
        base: BaseId,
        claim: ExpenseClaimId,
    ) -> Result<Vec<ExpenseItem>>;
    /// Expense claims matching a query.
    async fn query_expense_claims(
        &self,
        base: BaseId,
        query: &ListQuery,
    ) -> Result<Page<ExpenseClaim>>;
    /// Expense items matching a query.
    async fn query_expense_items(
        &self,
        base: BaseId,
        query: &ListQuery,
    ) -> Result<Page<ExpenseItem>>;

    /// Departments matching a query.
    async fn query_departments(&self, base: BaseId, query: &ListQuery) -> Result<Page<Department>>;
    /// Establishments matching a query.
    async fn query_establishments(
        &self,
        base: BaseId,
        query: &ListQuery,
    ) -> Result<Page<Establishment>>;
    /// Legal units matching a query.
    async fn query_legal_units(&self, base: BaseId, query: &ListQuery) -> Result<Page<LegalUnit>>;
    /// Absence accounts matching a query.
    async fn query_absence_accounts(
        &self,
        base: BaseId,
        query: &ListQuery,
    ) -> Result<Page<AbsenceAccount>>;
    /// Expense natures matching a query.
    async fn query_expense_natures(
        &self,
        base: BaseId,
        query: &ListQuery,
    ) -> Result<Page<ExpenseNature>>;
    /// Analytics axis sections matching a query.
    async fn query_axis_sections(
        &self,
        base: BaseId,
        query: &ListQuery,
    ) -> Result<Page<AxisSection>>;

    /// Stores a new API key.
    async fn create_api_key(&self, key: &NewApiKey) -> Result<ApiKey>;
    /// The key with this public prefix, whatever its base, and its base's
    /// data version ([`Store::base_version`]) read in the same statement: a
    /// request learns both in one round trip.
    async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, i64)>>;
    /// The keys of a base, revoked ones included.
    async fn list_api_keys(&self, base: BaseId) -> Result<Vec<ApiKey>>;
    /// One key.
    async fn get_api_key(&self, id: i64) -> Result<ApiKey>;
    /// Revokes a key; it opens nothing from then on.
    async fn revoke_api_key(&self, id: i64) -> Result<ApiKey>;
    /// Gives a live key a new secret (`secret_hash`); the current one keeps
    /// opening it until `previous_valid_until` (a past time: not at all).
    async fn rotate_api_key(
        &self,
        id: i64,
        secret_hash: &str,
        previous_valid_until: DateTime<Utc>,
    ) -> Result<ApiKey>;
    /// Records an authenticated request and the key's last use.
    async fn record_request(&self, entry: &AuditEntry) -> Result<()> {
        self.record_requests(std::slice::from_ref(entry)).await
    }
    /// Records authenticated requests, and each key's last use, in one
    /// transaction (the audit trail's group commit).
    async fn record_requests(&self, entries: &[AuditEntry]) -> Result<()>;
    /// The latest requests made with a key, newest first.
    async fn list_requests(&self, key_id: i64, limit: u32) -> Result<Vec<AuditEntry>>;

    /// Reserves up to `wanted` requests of a key in the shared one-minute
    /// windows, as many as fit in `per_minute` (a sliding estimate over this
    /// minute and the last), counted as made. When none fits, one refused
    /// request is counted as limited, not as made. Every process sharing the
    /// database shares the windows.
    async fn take_requests(
        &self,
        key_id: i64,
        at: DateTime<Utc>,
        per_minute: u32,
        wanted: u32,
    ) -> Result<RateDecision>;
    /// Requests refused for going over the limit, per minute, newest first.
    async fn limited_requests(&self, key_id: i64, limit: u32) -> Result<Vec<(DateTime<Utc>, i64)>>;
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
    /// The latest sign-in attempts, newest first.
    async fn list_sign_ins(&self, limit: u32) -> Result<Vec<SignInAttempt>>;

    /// Creates an admin-page account; 409 if the e-mail is taken.
    async fn create_person(&self, person: &NewPerson) -> Result<Person>;
    /// An account and its password hash, by e-mail (any case).
    async fn person_by_email(&self, email: &str) -> Result<Option<(Person, String)>>;
    /// Every account.
    async fn list_people(&self) -> Result<Vec<Person>>;
    /// Opens a session for a person.
    async fn create_session(
        &self,
        token_hash: &str,
        person: i64,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The person and CSRF token of a live session.
    async fn session(&self, token_hash: &str) -> Result<Option<(Person, String)>>;
    /// Closes a session.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Installs an app in one transaction — its key, the installation and,
    /// for the apps relais syncs, the integration (given without its
    /// installation's id, which the store fills in): all of it, or nothing.
    /// 409 if the app is already installed on the base.
    async fn install(&self, new: &NewInstallation<'_>) -> Result<(ApiKey, Installation)>;
    /// Records an installation; 409 if the app is already installed on the base.
    async fn create_installation(
        &self,
        base: BaseId,
        app: &str,
        key_id: i64,
        contact: &Email,
        by: i64,
    ) -> Result<Installation>;
    /// The apps installed on a base (not uninstalled).
    async fn list_installations(&self, base: BaseId) -> Result<Vec<Installation>>;
    /// Uninstalls an app and revokes its key, in one transaction.
    async fn uninstall(&self, base: BaseId, installation: i64) -> Result<Installation>;

    /// Takes (or renews) the lease of `job` for `owner` until `ttl` from
    /// now, unless another owner holds an unexpired lease: `true` when the
    /// lease is `owner`'s. Atomic in both databases, so any number of
    /// processes can race for one job.
    async fn claim_lease(&self, job: &str, owner: &str, ttl: std::time::Duration) -> Result<bool>;
    /// Gives a lease back (only its owner can).
    async fn release_lease(&self, job: &str, owner: &str) -> Result<()>;
    /// Who holds the lease of `job`, until when (expired leases included).
    async fn lease_holder(&self, job: &str) -> Result<Option<(String, DateTime<Utc>)>>;

    /// What the partner of `job` acknowledged of these records (unknown keys are left out).
    async fn acknowledged(&self, job: &str, keys: &[String]) -> Result<Vec<Acknowledged>>;
    /// Up to `limit` acknowledged records of `job` with keys after `after`, in key order
    /// (for full reconciliations that walk the ledger page by page).
    async fn acknowledged_page(
        &self,
        job: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Acknowledged>>;
    /// Records what the partner confirmed (insert or replace).
    async fn acknowledge(&self, job: &str, records: &[Acknowledged]) -> Result<()>;
    /// Marks these acknowledged records of `job` as seen by the full run `tag`
    /// (unknown keys are ignored).
    async fn mark_seen(&self, job: &str, tag: &str, keys: &[String]) -> Result<()>;
    /// Of these keys, those the full run `tag` has seen.
    async fn seen_keys(&self, job: &str, tag: &str, keys: &[String]) -> Result<Vec<String>>;
    /// Up to `limit` acknowledged records of `job` that the full run `tag`
    /// has not seen, with keys after `after`, in key order.
    async fn unseen_page(
        &self,
        job: &str,
        tag: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Acknowledged>>;
    /// Forgets records the partner confirmed deleting.
    async fn forget(&self, job: &str, keys: &[String]) -> Result<()>;
    /// Forgets everything the partner of `job` acknowledged, and its
    /// checkpoints: the next run sends every record again.
    async fn reset_ledger(&self, job: &str) -> Result<()>;
    /// The checkpoint of one stream of `job`.
    async fn checkpoint(&self, job: &str, stream: &str) -> Result<Option<String>>;
    /// Moves the checkpoint of one stream of `job`.
    async fn set_checkpoint(&self, job: &str, stream: &str, cursor: &str) -> Result<()>;

    /// Creates or replaces the configuration of an integration.
    async fn put_integration(&self, integration: &Integration) -> Result<()>;
    /// The integration of an installation that is still installed.
    async fn get_integration(&self, installation: i64) -> Result<Integration>;
    /// The integrations of installed apps, of one base or of every base.
    async fn list_integrations(&self, base: Option<BaseId>) -> Result<Vec<Integration>>;
    /// Records how an integration is doing and when its next runs are due.
    async fn set_integration_state(&self, state: &IntegrationState) -> Result<()>;
    /// Asks for a run of an integration; a runtime starts it.
    async fn queue_run(
        &self,
        installation: i64,
        trigger: Trigger,
        dry_run: bool,
        full: bool,
    ) -> Result<SyncRun> {
        self.queue_run_by(installation, trigger, dry_run, full, None)
            .await
    }
    /// Queues a run as [`Store::queue_run`], recording who asked for it.
    async fn queue_run_by(
        &self,
        installation: i64,
        trigger: Trigger,
        dry_run: bool,
        full: bool,
        requested_by: Option<&str>,
    ) -> Result<SyncRun>;
    /// The oldest unfinished runs of every integration: asked for and not
    /// started, or marked running (by a live process, or one that died).
    async fn open_runs(&self, limit: u32) -> Result<Vec<SyncRun>>;
    /// Starts a run for `owner` (who holds the integration's lease). A run
    /// of the same integration still marked running was left by a process
    /// that died: it is marked interrupted.
    async fn start_run(&self, run: i64, owner: &str, full: bool) -> Result<SyncRun>;
    /// Records a running run's progress in one transaction: lines added
    /// after those it has, and its counts and partner requests so far, so
    /// that a run whose process dies keeps what it had done, with counts
    /// that always match its lines.
    async fn record_run_progress(
        &self,
        run: i64,
        lines: &[ReportLine],
        counts: &relais_core::integration::StoredCounts,
        partner_requests: u64,
    ) -> Result<()>;
    /// Finishes a run: its status, counts, error and report lines, in one transaction.
    async fn finish_run(&self, run: i64, finish: &RunFinish<'_>) -> Result<SyncRun>;
    /// One run.
    async fn get_run(&self, run: i64) -> Result<SyncRun>;
    /// The latest runs of an integration, newest first.
    async fn list_runs(&self, installation: i64, limit: u32) -> Result<Vec<SyncRun>>;
    /// Lines of a run's report, in the order they happened.
    async fn run_lines(&self, run: i64, offset: u64, limit: u32) -> Result<Vec<ReportLine>> {
        self.find_run_lines(run, &LineFilter::default(), offset, limit)
            .await
    }
    /// Lines of a run's report that `filter` keeps, in the order they
    /// happened, `limit` from `offset` (among those kept).
    async fn find_run_lines(
        &self,
        run: i64,
        filter: &LineFilter,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<ReportLine>>;
    /// What the runs of `base`'s integrations did about one employee, newest
    /// first, at most `limit` lines.
    async fn employee_deliveries(
        &self,
        base: BaseId,
        employee: EmployeeId,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    /// Alerts not sent yet whose try is due at `now`, oldest first.
    async fn due_alerts(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<relais_core::alert::Alert>>;
    /// Records that the mail server took the alert.
    async fn alert_sent(&self, id: i64, at: DateTime<Utc>) -> Result<()>;
    /// Records a failed try of the alert, and when to try again.
    async fn alert_failed(&self, id: i64, error: &str, next: DateTime<Utc>) -> Result<()>;
    /// The latest alerts about an installation, newest first.
    async fn list_alerts(
        &self,
        installation: i64,
        limit: u32,
    ) -> Result<Vec<relais_core::alert::Alert>>;
    /// Requests sent to the partner by the integration's runs started since `since`.
    async fn partner_requests_since(&self, installation: i64, since: DateTime<Utc>) -> Result<u64>;
}

/// How an integration is doing after a run, and when it runs next.
#[derive(Debug, Clone)]
pub struct IntegrationState {
    /// The installation.
    pub installation: i64,
    /// Its health.
    pub health: Health,
    /// Why (empty when healthy).
    pub reason: String,
    /// The next scheduled run.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The next full reconciliation.
    pub next_full_at: Option<DateTime<Utc>>,
    /// The alert this change of health calls for, written with it.
    pub alert: Option<relais_core::alert::NewAlert>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunFinish<'a> {
    /// Its final status.
    pub status: RunStatus,
    /// Whether it ended up a full reconciliation.
    pub full: bool,
    /// Records per outcome, in all and per stream.
    pub counts: relais_core::integration::StoredCounts,
    /// Requests sent to the partner.
    pub partner_requests: u64,
    /// Why it stopped, when it failed.
    pub error: Option<&'a str>,
    /// The report's lines.
    pub lines: &'a [ReportLine],
}

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

/// Recent failed sign-ins, as [`Store::sign_in_failures`] counts them.
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

/// Which lines of a run's report to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineFilter {
    /// Only this outcome (its code: `created`, `failed`…).
    pub outcome: Option<String>,
    /// Only this stream.
    pub stream: Option<String>,
    /// Only lines whose label or record key holds this text (any case).
    pub search: Option<String>,
}

/// A run's line about one employee: what an app received of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The installation whose integration ran.
    pub installation: i64,
    /// The app installed (its catalog code).
    pub app: String,
    /// The run.
    pub run: i64,
    /// When the run started (when it was asked, for one not started).
    pub at: DateTime<Utc>,
    /// Whether the run only planned.
    pub dry_run: bool,
    /// The line.
    pub line: ReportLine,
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

/// An installation about to be stored ([`Store::install`]).
#[derive(Debug, Clone)]
pub struct NewInstallation<'a> {
    /// The key the app is given (its base is the installation's).
    pub key: &'a NewApiKey,
    /// The app's code in the catalog.
    pub app: &'a str,
    /// The app's technical contact.
    pub contact: &'a Email,
    /// The person who installs it.
    pub by: i64,
    /// The integration relais runs for it, if it syncs the app itself.
    pub integration: Option<relais_core::integration::Integration>,
}

/// A store shared by the server's tasks.
pub type SharedStore = Arc<dyn Store>;

/// Opens (creating if needed) the database at `url` and applies migrations.
pub async fn open(url: &DatabaseUrl) -> Result<SharedStore> {
    open_with(url, &OpenOptions::default()).await
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// SQLite: the page cache of each of the pool's connections, in MiB
    /// (a server reading big bases wants a larger one; a short batch
    /// process, a small one).
    pub sqlite_cache_mib: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            sqlite_cache_mib: 32,
        }
    }
}

/// Opens the store at `url` with `options` and applies its migrations.
pub async fn open_with(url: &DatabaseUrl, options: &OpenOptions) -> Result<SharedStore> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => {
            Arc::new(sqlite::SqliteStore::open_with_cache(path, options.sqlite_cache_mib).await?)
        }
        DatabaseUrl::Postgres(raw) => Arc::new(postgres::PgStore::open(raw).await?),
    })
}

/// Fails with [`StoreError::SchemaTooNew`] when the database holds a migration
/// this binary does not know.
fn check_schema_version(applied: Option<i64>, migrator: &sqlx::migrate::Migrator) -> Result<()> {
    let supported = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match applied {
        Some(found) if found > supported => Err(StoreError::SchemaTooNew { found, supported }),
        _ => Ok(()),
    }
}
