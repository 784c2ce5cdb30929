//! The HR data of each base: bases, organisation (legal units,
//! establishments, departments), employees and their personnel-file fields
//! and change log, absences, expenses.

use crate::{Encoded, Encoder, ListQuery, Page, Result};
use async_trait::async_trait;
use chrono::NaiveDate;
use relais_core::absence::{AbsenceAccount, LeavePeriod, LeaveStatus, NewLeavePeriod};
use relais_core::audit::{Author, EmployeeLog};
use relais_core::base::{Base, BaseKind, BaseName};
use relais_core::employee::{Employee, EmployeeData, Section, SectionField};
use relais_core::expense::{Axis, AxisSection, ExpenseClaim, ExpenseItem, ExpenseNature};
use relais_core::ids::*;
use relais_core::org::{Department, Establishment, LegalUnit};
use serde::Serialize;

/// Whole records of one of a base's tables, with their identifiers, for
/// [`HrStore::insert_records`].
#[derive(Debug, Clone, Copy)]
pub enum Records<'a> {
    /// Legal units.
    LegalUnits(&'a [LegalUnit]),
    /// Establishments.
    Establishments(&'a [Establishment]),
    /// Departments, parents before children.
    Departments(&'a [Department]),
    /// Personnel-file sections.
    Sections(&'a [Section]),
    /// Personnel-file fields.
    SectionFields(&'a [SectionField]),
    /// Employees, managers before the people they manage.
    Employees(&'a [Employee]),
    /// Absence accounts.
    AbsenceAccounts(&'a [AbsenceAccount]),
    /// Leave periods as they are (no overlap check: the caller built them
    /// without overlaps).
    LeavePeriods(&'a [LeavePeriod]),
    /// Expense natures.
    ExpenseNatures(&'a [ExpenseNature]),
    /// Analytics axes.
    Axes(&'a [Axis]),
    /// Analytics axis sections.
    AxisSections(&'a [AxisSection]),
    /// Expense claims.
    ExpenseClaims(&'a [ExpenseClaim]),
    /// Expense items.
    ExpenseItems(&'a [ExpenseItem]),
}

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

/// What a base's versions say: each grows with every committed change to
/// what it covers, whoever writes it (kept by the database itself), so that
/// anything computed from that part of the base stays right while it is
/// unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BaseVersions {
    /// Every change to the base's HR data and its history of changes.
    pub data: i64,
    /// Changes to the base's structure only: its legal units,
    /// establishments, departments, and personnel-file sections and fields
    /// (what names a record and files its custom fields).
    pub structure: i64,
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

/// The HR data of the bases: what the Lucca API reads and writes.
///
/// Methods that take whole records with their identifiers
/// (`insert_records`, `insert_employee_logs`) store them as they are, in
/// bulk, checking only what the database enforces (references and unique
/// fields): the demo generator and imports use them after building valid
/// records. Methods named `create_*`, `update_*` and
/// `set_*` apply every domain rule and are what people and the API go through.
#[async_trait]
pub trait HrStore: Send + Sync {
    /// Every base, in creation order.
    async fn list_bases(&self) -> Result<Vec<Base>>;

    /// Creates an empty base; 409 if the name is taken.
    async fn create_base(&self, name: &BaseName, kind: BaseKind) -> Result<Base>;

    /// The base with this name.
    async fn base_by_name(&self, name: &BaseName) -> Result<Base>;

    /// The base's data and structure versions (zero before its first write).
    async fn base_version(&self, base: BaseId) -> Result<BaseVersions>;

    /// What a base holds; employees are split by their status on `today`.
    async fn base_counts(&self, base: BaseId, today: NaiveDate) -> Result<BaseCounts>;

    /// Deletes every HR record of a base, keeping the base itself.
    async fn clear_base(&self, base: BaseId) -> Result<()>;

    /// Replaces the HR data of `to` by a copy of `from`'s, identifiers
    /// included, in one transaction, with its entry in the activity journal
    /// naming `by`.
    async fn copy_base(
        &self,
        from: BaseId,
        to: BaseId,
        by: relais_core::activity::Actor,
    ) -> Result<()>;

    /// Reserves `count` consecutive identifiers for `entity` in `base` and
    /// returns the first.
    async fn reserve_ids(&self, base: BaseId, entity: Entity, count: i64) -> Result<i64>;

    /// Stores whole records of one table (see [`Records`]).
    async fn insert_records(&self, records: Records<'_>) -> Result<()>;

    /// The legal units of a base.
    async fn list_legal_units(&self, base: BaseId) -> Result<Vec<LegalUnit>>;

    /// The establishments of a base.
    async fn list_establishments(&self, base: BaseId) -> Result<Vec<Establishment>>;

    /// The departments of a base.
    async fn list_departments(&self, base: BaseId) -> Result<Vec<Department>>;

    /// Names the head of a department; the head must be an employee of the base.
    async fn set_department_head(
        &self,
        base: BaseId,
        department: DepartmentId,
        head: Option<EmployeeId>,
    ) -> Result<()>;

    /// The personnel-file sections of a base.
    async fn list_sections(&self, base: BaseId) -> Result<Vec<Section>>;

    /// The personnel-file fields of a base.
    async fn list_section_fields(&self, base: BaseId) -> Result<Vec<SectionField>>;

    /// Creates an employee, checking custom fields against the base's
    /// sections, and logs the new values under `author`.
    async fn create_employee(
        &self,
        base: BaseId,
        data: &EmployeeData,
        author: &Author,
    ) -> Result<Employee>;

    /// Replaces the data of employee `before` (as the caller read it, in
    /// its base) and logs each field changed since under `author` — if it
    /// is still as `before` says (its `modified_at`): otherwise nothing is
    /// written and the answer is [`StoreError::Changed`], so that a change
    /// made meanwhile is never undone by data computed from an older
    /// reading; the caller reads again and applies its change anew. Custom
    /// fields are checked against the base's sections when they change, and
    /// references (establishment, department, manager) when they change; the
    /// database keeps the others true.
    async fn update_employee(
        &self,
        before: &Employee,
        data: &EmployeeData,
        author: &Author,
    ) -> Result<Employee>;

    /// Employees matching a query.
    async fn query_employees(&self, base: BaseId, query: &ListQuery) -> Result<Page<Employee>>;

    /// The page [`HrStore::query_employees`] reads, each batch of its
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

    /// The absence accounts of a base.
    async fn list_absence_accounts(&self, base: BaseId) -> Result<Vec<AbsenceAccount>>;

    /// Creates a leave period: refuses an inactive account, a period that
    /// covers no working half day, or one that overlaps a pending or approved
    /// period of the same employee; counts its working half days.
    async fn create_leave_period(&self, base: BaseId, new: &NewLeavePeriod) -> Result<LeavePeriod> {
        let made = self
            .create_leave_periods(base, std::slice::from_ref(new))
            .await?;
        made.into_iter()
            .next()
            .ok_or_else(|| crate::StoreError::Corrupt {
                entity: "leave period",
                message: "a period asked for was not made".into(),
            })
    }

    /// Creates leave periods in one transaction, each as
    /// [`create_leave_period`](Self::create_leave_period) does and seeing
    /// those before it: all are written, or, the first refused, none.
    async fn create_leave_periods(
        &self,
        base: BaseId,
        new: &[NewLeavePeriod],
    ) -> Result<Vec<LeavePeriod>>;

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

    /// The expense natures of a base.
    async fn list_expense_natures(&self, base: BaseId) -> Result<Vec<ExpenseNature>>;

    /// The analytics axes of a base.
    async fn list_axes(&self, base: BaseId) -> Result<Vec<Axis>>;

    /// The analytics axis sections of a base.
    async fn list_axis_sections(&self, base: BaseId) -> Result<Vec<AxisSection>>;

    /// The expense claims of one employee.
    async fn list_expense_claims(
        &self,
        base: BaseId,
        owner: EmployeeId,
    ) -> Result<Vec<ExpenseClaim>>;

    /// The items of one claim.
    async fn list_expense_items(
        &self,
        base: BaseId,
        claim: ExpenseClaimId,
    ) -> Result<Vec<ExpenseItem>>;

    page_queries! { decl;
        /// Expense claims matching a query.
        query_expense_claims -> ExpenseClaim;
        /// Expense items matching a query.
        query_expense_items -> ExpenseItem;
        /// Departments matching a query.
        query_departments -> Department;
        /// Establishments matching a query.
        query_establishments -> Establishment;
        /// Legal units matching a query.
        query_legal_units -> LegalUnit;
        /// Absence accounts matching a query.
        query_absence_accounts -> AbsenceAccount;
        /// Expense natures matching a query.
        query_expense_natures -> ExpenseNature;
        /// Analytics axis sections matching a query.
        query_axis_sections -> AxisSection;
    }
}

/// A reference an employee's record makes to another record, checked when
/// it is written.
pub(crate) struct EmployeeRef {
    /// The table the other record is in.
    pub(crate) table: &'static str,
    /// The other record's identifier.
    pub(crate) id: i64,
    /// The API field the reference is written in, which an answer names.
    pub(crate) field: &'static str,
    /// What the other record is, as the answer names it when it is missing.
    pub(crate) what: &'static str,
}

impl EmployeeRef {
    /// The answer when the other record is missing.
    pub(crate) fn missing(&self) -> relais_core::DomainError {
        relais_core::DomainError::new(
            self.field,
            format!("no {} {} in this base", self.what, self.id),
        )
    }
}

/// The references of `data` that differ from `before`'s (all of them for a
/// new employee): the database keeps unchanged ones true. Refuses an
/// employee who would be their own manager.
pub(crate) fn employee_refs(
    id: Option<EmployeeId>,
    data: &EmployeeData,
    before: Option<&EmployeeData>,
) -> Result<Vec<EmployeeRef>> {
    let changed =
        |same: fn(&EmployeeData, &EmployeeData) -> bool| before.is_none_or(|b| !same(b, data));
    let mut refs = Vec::new();
    if changed(|a, b| a.establishment_id == b.establishment_id) {
        let est = data.establishment_id;
        refs.push(EmployeeRef {
            table: "establishments",
            id: est.0,
            field: "legalEntityId",
            what: "establishment",
        });
    }
    if let Some(dep) = data
        .department_id
        .filter(|_| changed(|a, b| a.department_id == b.department_id))
    {
        refs.push(EmployeeRef {
            table: "departments",
            id: dep.0,
            field: "departmentId",
            what: "department",
        });
    }
    if let Some(manager) = data.manager_id {
        if Some(manager) == id {
            return Err(relais_core::DomainError::new(
                "managerId",
                "an employee cannot be their own manager",
            )
            .into());
        }
        if changed(|a, b| a.manager_id == b.manager_id) {
            refs.push(EmployeeRef {
                table: "employees",
                id: manager.0,
                field: "managerId",
                what: "employee",
            });
        }
    }
    Ok(refs)
}

/// Each stored column of an employee's data with its value, in the order of
/// [`columns::EMPLOYEES`](crate::rows::columns::EMPLOYEES) between the
/// identifiers and the times: the one list of which field goes in which
/// column, for the inserts that write them all (`bind(b, data)` binds every
/// value to `b`) and the updates that write those that changed
/// (`set_changed(set, before, after)` adds `column = value` to `set` for each
/// value of `after` that differs from `before`'s: an update that leaves a
/// column out leaves its indexes alone, where SQLite rewrites the entries of
/// every index over a column it sets, changed or not: a job title's change
/// wrote 14 pages when every column was set, and writes 7 now).
///
/// A cell written `|d| field => value` is compared by its field and stored
/// as its value (the custom fields and personal details, stored as JSON, are
/// not written out to be compared).
macro_rules! employee_cells {
    (@cell bind($b:ident, $data:ident) $column:literal, |$d:ident| $field:expr => $value:expr) => {
        crate::hr::employee_cells!(@cell bind($b, $data) $column, |$d| $value)
    };
    (@cell bind($b:ident, $data:ident) $column:literal, |$d:ident| $value:expr) => {{
        let $d = $data;
        $b.push_bind($value);
    }};
    (@cell set_changed($set:ident, $before:ident, $after:ident) $column:literal, |$d:ident| $field:expr => $value:expr) => {{
        let changed = {
            let $d = $before;
            $field
        } != {
            let $d = $after;
            $field
        };
        if changed {
            let $d = $after;
            $set.push(concat!($column, " = "));
            $set.push_bind_unseparated($value);
        }
    }};
    (@cell set_changed($set:ident, $before:ident, $after:ident) $column:literal, |$d:ident| $value:expr) => {
        crate::hr::employee_cells!(@cell set_changed($set, $before, $after) $column, |$d| $value => $value)
    };
    ($($mode:tt)*) => {
        crate::hr::employee_cells!(@cell $($mode)* "employee_number", |d| d.employee_number.as_str());
        crate::hr::employee_cells!(@cell $($mode)* "first_name", |d| d.first_name.as_str());
        crate::hr::employee_cells!(@cell $($mode)* "last_name", |d| d.last_name.as_str());
        crate::hr::employee_cells!(@cell $($mode)* "mail", |d| d.mail.as_str());
        crate::hr::employee_cells!(@cell $($mode)* "login", |d| d.login.as_str());
        crate::hr::employee_cells!(@cell $($mode)* "birth_date", |d| d.birth_date);
        crate::hr::employee_cells!(@cell $($mode)* "establishment_id", |d| d.establishment_id.0);
        crate::hr::employee_cells!(@cell $($mode)* "department_id", |d| d.department_id.map(|x| x.0));
        crate::hr::employee_cells!(@cell $($mode)* "manager_id", |d| d.manager_id.map(|x| x.0));
        crate::hr::employee_cells!(@cell $($mode)* "job_title", |d| d.job_title.as_deref());
        crate::hr::employee_cells!(@cell $($mode)* "csp", |d| d.csp.map(|c| c.code()));
        crate::hr::employee_cells!(@cell $($mode)* "profession", |d| d.profession.as_deref());
        crate::hr::employee_cells!(@cell $($mode)* "contract_start", |d| d.contract.start);
        crate::hr::employee_cells!(@cell $($mode)* "contract_end", |d| d.contract.end);
        crate::hr::employee_cells!(@cell $($mode)* "extended_data", |d| &d.extended_data => serde_json::Value::Object(d.extended_data.clone()).to_string());
        crate::hr::employee_cells!(@cell $($mode)* "personal", |d| &d.personal => serde_json::Value::Object(d.personal.to_json()).to_string());
    };
}
pub(crate) use employee_cells;

/// Implements [`HrStore`] for a backend (`$store`, over `$db`): its SQL,
/// written once for both (see `sql.rs`).
macro_rules! hr_store {
    ($store:ident, $db:ty) => {
        mod hr_sql {
            use super::$store;
            use crate::dialect::Dialect;
            use crate::HrStore;
            use crate::rows::{self, columns};
            use crate::{BaseCounts, BaseVersions, Records, Result, StoreError};
            use async_trait::async_trait;
            use chrono::NaiveDate;
            use relais_core::absence::*;
            use relais_core::base::{Base, BaseKind, BaseName};
            use relais_core::employee::{check_extended_data, Employee, EmployeeData, Section, SectionField};
            use relais_core::expense::{warnings_to_string, Axis, AxisSection, ExpenseClaim, ExpenseItem, ExpenseNature};
            use relais_core::ids::*;
            use relais_core::org::{Department, Establishment, LegalUnit};
            use relais_core::audit::{employee_changes, Author, EmployeeLog};
            use relais_core::{now, DomainError};
            use crate::{ListQuery, Page};

            type Conn = <$db as sqlx::Database>::Connection;

            impl $store {
                pub(crate) async fn reserve_in(conn: &mut Conn, base: BaseId, entity: Entity, count: i64) -> Result<i64> {
                    sqlx::query(
                        "INSERT INTO id_sequences (base_id, entity, next_id) VALUES ($1, $2, 1) \
                         ON CONFLICT (base_id, entity) DO NOTHING",
                    )
                    .bind(base.0)
                    .bind(entity.table())
                    .execute(&mut *conn)
                    .await?;
                    let next: i64 = sqlx::query_scalar(
                        "UPDATE id_sequences SET next_id = next_id + $3 \
                         WHERE base_id = $1 AND entity = $2 RETURNING next_id",
                    )
                    .bind(base.0)
                    .bind(entity.table())
                    .bind(count)
                    .fetch_one(&mut *conn)
                    .await?;
                    Ok(next - count)
                }

                pub(crate) async fn exists(conn: &mut Conn, table: &str, base: BaseId, id: i64) -> Result<bool> {
                    let sql = format!("SELECT COUNT(*) FROM {table} WHERE base_id = $1 AND id = $2");
                    let n: i64 = sqlx::query_scalar(&sql).bind(base.0).bind(id).fetch_one(&mut *conn).await?;
                    Ok(n > 0)
                }

                /// Checks each of `refs` in `conn`, with an answer that names
                /// the field of the first one missing.
                async fn check_refs(conn: &mut Conn, base: BaseId, refs: &[crate::hr::EmployeeRef]) -> Result<()> {
                    for r in refs {
                        if !Self::exists(conn, r.table, base, r.id).await? {
                            return Err(r.missing().into());
                        }
                    }
                    Ok(())
                }

                /// Checks the references of `data` that differ from `before`'s
                /// (see [`crate::hr::employee_refs`]).
                pub(crate) async fn check_employee_refs(
                    conn: &mut Conn,
                    base: BaseId,
                    id: Option<EmployeeId>,
                    data: &EmployeeData,
                    before: Option<&EmployeeData>,
                ) -> Result<()> {
                    Self::check_refs(conn, base, &crate::hr::employee_refs(id, data, before)?).await
                }

                pub(crate) async fn log_changes(
                    conn: &mut Conn,
                    employee: &Employee,
                    before: Option<&EmployeeData>,
                    author: &Author,
                ) -> Result<()> {
                    let changes = employee_changes(before, &employee.data);
                    let entry_type = if before.is_some() { "modification" } else { "creation" };
                    bulk_insert!($db, conn, "employee_logs", &rows::EMPLOYEE_LOG_COLUMNS[1..], changes, |b, change| {
                        b.push_bind(employee.base_id.0)
                            .push_bind(employee.id.0)
                            .push_bind(change.0.as_str())
                            .push_bind(entry_type)
                            .push_bind(change.1.to_string())
                            .push_bind(author.name.as_str())
                            .push_bind(author.source.as_str())
                            .push_bind(employee.modified_at);
                    });
                    Ok(())
                }

                /// Lets the planner know how large `table` is when it believes
                /// the table tiny (never analysed, or analysed nearly empty) and
                /// a bulk write is filling it.
                ///
                /// PostgreSQL keeps, per connection, the plans of its foreign-key
                /// checks; one made while a table looked empty may look a key up
                /// by an index that holds only its base, so that every check of a
                /// large insert read all the rows of the base (seeding 100,000
                /// employees took over ten minutes). Analysing the table (its
                /// rows written by this transaction count) replans those checks
                /// by the primary key. Cheap while the table is small, and not
                /// done again once the planner knows it holds thousands of rows.
                pub(crate) async fn settle_statistics(conn: &mut Conn, table: &str) -> Result<()> {
                    let Some((size, analyse)) = Self::PLANNER_SIZE else {
                        return Ok(());
                    };
                    let believed: f64 = sqlx::query_scalar(size).bind(table).fetch_one(&mut *conn).await?;
                    if believed < 1_000.0 {
                        sqlx::query(&format!("{analyse} {table}")).execute(&mut *conn).await?;
                    }
                    Ok(())
                }

                /// One leave period of [`crate::HrStore::create_leave_periods`], in its transaction.
                async fn create_leave_period_in(tx: &mut Conn, base: BaseId, new: &NewLeavePeriod) -> Result<LeavePeriod> {
                    new.span.check_length()?;
                    // Touching the owner's row serialises concurrent requests for one employee.
                    let locked = sqlx::query("UPDATE employees SET modified_at = modified_at WHERE base_id = $1 AND id = $2")
                        .bind(base.0)
                        .bind(new.employee_id.0)
                        .execute(&mut *tx)
                        .await?;
                    if locked.rows_affected() == 0 {
                        return Err(DomainError::new("ownerId", format!("no employee {} in this base", new.employee_id)).into());
                    }
                    let active: Option<bool> = sqlx::query_scalar("SELECT active FROM absence_accounts WHERE base_id = $1 AND id = $2")
                        .bind(base.0)
                        .bind(new.account_id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                    match active {
                        None => return Err(DomainError::new("leaveAccountId", format!("no absence account {} in this base", new.account_id)).into()),
                        Some(false) => return Err(DomainError::new("leaveAccountId", format!("absence account {} is closed", new.account_id)).into()),
                        Some(true) => {}
                    }
                    let (days, holidays, contract_start, contract_end): (String, String, chrono::NaiveDate, Option<chrono::NaiveDate>) = sqlx::query_as(
                        "SELECT s.working_days, s.holidays, e.contract_start, e.contract_end FROM employees e JOIN establishments s \
                         ON s.base_id = e.base_id AND s.id = e.establishment_id WHERE e.base_id = $1 AND e.id = $2",
                    )
                    .bind(base.0)
                    .bind(new.employee_id.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    relais_core::employee::Contract { start: contract_start, end: contract_end }.check_covers(&new.span)?;
                    let calendar = rows::calendar_from(&days, &holidays)?;
                    let half_days = new.span.working_half_days(&calendar);
                    if half_days == 0 {
                        return Err(DomainError::new("leavePeriod", "the period covers no working half day of the employee's establishment").into());
                    }
                    let existing: Vec<(i64, i64, i64, String)> = sqlx::query_as(
                        "SELECT id, start_slot, end_slot, status FROM leave_periods \
                         WHERE base_id = $1 AND employee_id = $2 AND start_slot <= $3 AND end_slot >= $4 \
                         AND status IN ('pending', 'approved')",
                    )
                    .bind(base.0)
                    .bind(new.employee_id.0)
                    .bind(new.span.end.ordinal())
                    .bind(new.span.start.ordinal())
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut spans = Vec::with_capacity(existing.len());
                    for (id, start, end, status) in existing {
                        let span = LeaveSpan::new(
                            relais_core::calendar::HalfDaySlot::from_ordinal(start),
                            relais_core::calendar::HalfDaySlot::from_ordinal(end),
                        )
                        .map_err(|e| StoreError::Corrupt { entity: "leave period", message: e.to_string() })?;
                        let status = status.parse::<LeaveStatus>()
                            .map_err(|e| StoreError::Corrupt { entity: "leave period", message: e.to_string() })?;
                        spans.push((LeavePeriodId(id), span, status));
                    }
                    check_no_overlap(&new.span, spans)?;
                    let id = Self::reserve_in(&mut *tx, base, Entity::LeavePeriod, 1).await?;
                    let now = now();
                    let period = LeavePeriod {
                        base_id: base,
                        id: LeavePeriodId(id),
                        employee_id: new.employee_id,
                        account_id: new.account_id,
                        span: new.span,
                        half_days,
                        status: new.status,
                        comment: new.comment.clone(),
                        source: new.source.clone(),
                        created_at: now,
                        modified_at: now,
                        cancelled_at: (new.status == LeaveStatus::Cancelled).then_some(now),
                    };
                    Self::insert_leave_periods_in(&mut *tx, std::slice::from_ref(&period)).await?;
                    Ok(period)
                }

                /// Updates an employee, on the thread it runs on (see
                /// `update_employee`, which runs it where it is asked for
                /// when SQLite's writer is free, on the write lane otherwise).
                async fn update_employee_now(&self, before: &Employee, data: &EmployeeData, author: &Author) -> Result<Employee> {
                    let (base, id) = (before.base_id, before.id);
                    if data.extended_data != before.data.extended_data {
                        let fields = self.list_section_fields(base).await?;
                        check_extended_data(&data.extended_data, &fields)?;
                    }
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    Self::mark_writer(&mut tx).await?;
                    // The references are checked by the update itself, which
                    // finds no row when one is missing; only then are they
                    // looked at one by one, for an answer that names the field.
                    let refs = crate::hr::employee_refs(Some(id), data, Some(&before.data))?;
                    if let Some(manager) = data.manager_id.filter(|_| data.manager_id != before.data.manager_id) {
                        Self::refuse_manager_circle(&mut tx, base, id, manager).await?;
                    }
                    let modified_at = now();
                    let after = Employee { base_id: base, id, data: data.clone(), created_at: before.created_at, modified_at };
                    Self::log_changes(&mut tx, &after, Some(&before.data), author).await?;
                    let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE employees SET ");
                    let mut set = qb.separated(", ");
                    let before_data = &before.data;
                    crate::hr::employee_cells!(set_changed(set, before_data, data));
                    set.push("modified_at = ").push_bind_unseparated(modified_at);
                    qb.push(" WHERE base_id = ").push_bind(base.0).push(" AND id = ").push_bind(id.0)
                        .push(" AND modified_at = ").push_bind(before.modified_at);
                    for r in &refs {
                        qb.push(format!(" AND EXISTS (SELECT 1 FROM {} WHERE base_id = ", r.table)).push_bind(base.0)
                            .push(" AND id = ").push_bind(r.id).push(")");
                    }
                    let done = qb.build().execute(&mut *tx).await?;
                    if done.rows_affected() == 0 {
                        Self::check_refs(&mut tx, base, &refs).await?;
                        let key = id.to_string();
                        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM employees WHERE base_id = $1 AND id = $2")
                            .bind(base.0)
                            .bind(id.0)
                            .fetch_optional(&mut *tx)
                            .await?;
                        return Err(match exists {
                            Some(_) => StoreError::Changed { entity: "employee", key },
                            None => StoreError::NotFound { entity: "employee", key },
                        });
                    }
                    self.commit_writes(tx).await?;
                    Ok(after)
                }

                /// Refuses `manager` as `employee`'s manager when `employee`
                /// manages them, directly or through others: a chain of
                /// managers never comes back to where it started (approvals
                /// and organisation charts that follow it would never end).
                /// A circle already in the base does not make the check loop.
                async fn refuse_manager_circle(conn: &mut Conn, base: BaseId, employee: EmployeeId, manager: EmployeeId) -> Result<()> {
                    if let Some(lock) = Self::ADVISORY_LOCK {
                        sqlx::query(lock).bind("relais.managers").bind(base.0).execute(&mut *conn).await?;
                    }
                    let circle: i64 = sqlx::query_scalar(
                        "WITH RECURSIVE chain(id) AS ( \
                           SELECT manager_id FROM employees WHERE base_id = $1 AND id = $2 \
                           UNION \
                           SELECT e.manager_id FROM employees e JOIN chain c ON e.base_id = $1 AND e.id = c.id \
                         ) SELECT COUNT(*) FROM chain WHERE id = $3",
                    )
                    .bind(base.0)
                    .bind(manager.0)
                    .bind(employee.0)
                    .fetch_one(&mut *conn)
                    .await?;
                    if circle == 0 {
                        return Ok(());
                    }
                    // Identifiers only: the caller may write a manager
                    // without reading people's names.
                    Err(DomainError::new(
                        "managerId",
                        format!("employee {manager} reports, directly or through others, to employee {employee}: a manager cannot report to the people they manage"),
                    )
                    .into())
                }

                /// Tells the database who writes in `conn`'s transaction, and
                /// when, for the events its changes write (see `events.rs`).
                pub(crate) async fn mark_writer(conn: &mut Conn) -> Result<()> {
                    sqlx::query(Self::WRITE_CONTEXT)
                        .bind(crate::events::current_writer())
                        .bind(now())
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                }

                /// Commits a transaction that wrote HR records — and so their
                /// events — then tells the readers of other processes (see
                /// [`Announcer`](crate::events::Announcer)).
                pub(crate) async fn commit_writes(&self, tx: crate::kept::Tx<$db>) -> Result<()> {
                    tx.commit().await?;
                    self.announcer.announce();
                    Ok(())
                }

                /// Deletes a base's records, identifier sequences and change log,
                /// children before parents, in `conn`'s bulk write.
                async fn empty_in(conn: &mut Conn, base: BaseId) -> Result<()> {
                    let tables = columns::TABLES.iter().rev().map(|(table, _)| *table);
                    for table in tables.chain(["id_sequences", "employee_logs"]) {
                        sqlx::query(&format!("DELETE FROM {table} WHERE base_id = $1"))
                            .bind(base.0)
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                }

                /// Ends the bulk write that replaced a base's data (emptied, or
                /// copied from another): marks the base modified and commits.
                async fn end_replacement(&self, mut tx: crate::kept::Tx<$db>, base: BaseId) -> Result<()> {
                    sqlx::query("UPDATE bases SET modified_at = $2 WHERE id = $1")
                        .bind(base.0)
                        .bind(now())
                        .execute(&mut *tx)
                        .await?;
                    Self::bulk_end(&mut tx).await?;
                    self.commit_writes(tx).await
                }

                /// Starts a bulk write in `conn`'s transaction: its rows skip the
                /// per-row raise of their base's data version. On SQLite they
                /// skip their insert triggers' events too, so every insert into
                /// one of `columns::EVENT_TABLES` in a bulk write goes between
                /// [`Self::rows_end`] and [`Self::write_created_events`].
                pub(crate) async fn bulk_start(conn: &mut Conn) -> Result<()> {
                    Self::mark_writer(conn).await?;
                    sqlx::query(Self::BULK_WRITE.0).execute(&mut *conn).await?;
                    Ok(())
                }

                /// Ends a bulk write: raises every base's data version once.
                pub(crate) async fn bulk_end(conn: &mut Conn) -> Result<()> {
                    sqlx::query(Self::BULK_WRITE.1).execute(&mut *conn).await?;
                    sqlx::query(&format!(
                        "INSERT INTO base_versions (base_id, version, structure) SELECT id, 1, 1 FROM bases WHERE true \
                         ON CONFLICT ({}) DO UPDATE SET version = base_versions.version + 1, \
                         structure = base_versions.structure + 1",
                        Self::VERSIONS_KEY
                    ))
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                }

                /// Where `table`'s rows end before a bulk write inserts into it,
                /// for [`Self::write_created_events`] after the insert; `None`
                /// when the table has no events or the database's triggers
                /// write a statement's events together (`BULK_CREATED_EVENTS`).
                pub(crate) async fn rows_end(conn: &mut Conn, table: &str) -> Result<Option<i64>> {
                    let Some((end, _)) = Self::BULK_CREATED_EVENTS else { return Ok(None) };
                    if !columns::EVENT_TABLES.contains(&table) {
                        return Ok(None);
                    }
                    let end: i64 = sqlx::query_scalar(&end.replace("{table}", table)).fetch_one(&mut *conn).await?;
                    Ok(Some(end))
                }

                /// Writes the events of the rows a bulk write inserted into
                /// `table` past `end` (from [`Self::rows_end`], before the
                /// insert), in the bulk write's transaction.
                pub(crate) async fn write_created_events(conn: &mut Conn, table: &str, end: Option<i64>) -> Result<()> {
                    if let (Some(end), Some((_, write))) = (end, Self::BULK_CREATED_EVENTS) {
                        sqlx::query(&write.replace("{table}", table)).bind(end).execute(&mut *conn).await?;
                    }
                    Ok(())
                }

                /// Binds an employee's data, in the order of its columns
                /// (`columns::EMPLOYEES` between the identifiers and the times).
                fn push_employee_data<'a>(b: &mut sqlx::query_builder::Separated<'_, 'a, $db, &'static str>, d: &'a EmployeeData) {
                    crate::hr::employee_cells!(bind(b, d));
                }

                pub(crate) async fn insert_employees_in(conn: &mut Conn, rows: &[Employee]) -> Result<()> {
                    bulk_insert!($db, conn, "employees", columns::EMPLOYEES, rows, |b, e| {
                        b.push_bind(e.base_id.0).push_bind(e.id.0);
                        Self::push_employee_data(&mut b, &e.data);
                        b.push_bind(e.created_at).push_bind(e.modified_at);
                    });
                    Ok(())
                }

                pub(crate) async fn insert_leave_periods_in(conn: &mut Conn, rows: &[LeavePeriod]) -> Result<()> {
                    bulk_insert!($db, conn, "leave_periods", columns::LEAVE_PERIODS, rows, |b, p| {
                        b.push_bind(p.base_id.0)
                            .push_bind(p.id.0)
                            .push_bind(p.employee_id.0)
                            .push_bind(p.account_id.0)
                            .push_bind(p.span.start.date)
                            .push_bind(p.span.start.half.as_str())
                            .push_bind(p.span.end.date)
                            .push_bind(p.span.end.half.as_str())
                            .push_bind(p.span.start.ordinal())
                            .push_bind(p.span.end.ordinal())
                            .push_bind(p.half_days as i32)
                            .push_bind(p.status.as_str())
                            .push_bind(p.comment.as_deref())
                            .push_bind(p.source.code())
                            .push_bind(p.created_at)
                            .push_bind(p.modified_at)
                            .push_bind(p.cancelled_at);
                    });
                    Ok(())
                }

                pub(crate) async fn get_leave_period_in(conn: &mut Conn, base: BaseId, id: LeavePeriodId) -> Result<LeavePeriod> {
                    let found: Vec<LeavePeriod> = select_rows!(
                        &mut *conn, rows::LeavePeriodRow, "leave_periods", columns::LEAVE_PERIODS,
                        "base_id = $1 AND id = $2", base.0, id.0
                    )?;
                    found.into_iter().next().ok_or(StoreError::NotFound { entity: "leave period", key: id.to_string() })
                }
            }

            #[async_trait]
            impl HrStore for $store {
                async fn list_bases(&self) -> Result<Vec<Base>> {
                    let rows: Vec<rows::BaseRow> =
                        sqlx::query_as("SELECT id, name, kind, created_at, modified_at FROM bases ORDER BY id")
                            .fetch_all(&self.pool)
                            .await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn create_base(&self, name: &BaseName, kind: BaseKind) -> Result<Base> {
                    let now = now();
                    let row: rows::BaseRow = sqlx::query_as(
                        "INSERT INTO bases (id, name, kind, created_at, modified_at) \
                         SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $3 FROM bases \
                         RETURNING id, name, kind, created_at, modified_at",
                    )
                    .bind(name.as_str())
                    .bind(kind.as_str())
                    .bind(now)
                    .fetch_one(&self.writer)
                    .await
                    .map_err(StoreError::conflict_on("name", || format!("a base named '{name}' already exists")))?;
                    row.try_into()
                }

                async fn base_by_name(&self, name: &BaseName) -> Result<Base> {
                    let row: Option<rows::BaseRow> = sqlx::query_as(
                        "SELECT id, name, kind, created_at, modified_at FROM bases WHERE name = $1",
                    )
                    .bind(name.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                    row.ok_or_else(|| StoreError::NotFound { entity: "base", key: format!("'{name}'") })?
                        .try_into()
                }

                async fn base_version(&self, base: BaseId) -> Result<BaseVersions> {
                    let (data, structure): (Option<i64>, Option<i64>) = sqlx::query_as(concat!(
                        "SELECT ", versions_of!("version", "$1"), ", ", versions_of!("structure", "$1")
                    ))
                    .bind(base.0)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(BaseVersions { data: data.unwrap_or(0), structure: structure.unwrap_or(0) })
                }

                async fn base_counts(&self, base: BaseId, today: NaiveDate) -> Result<BaseCounts> {
                    let counts: BaseCounts = sqlx::query_as(
                        "SELECT \
                         (SELECT COUNT(*) FROM legal_units WHERE base_id = $1) AS legal_units, \
                         (SELECT COUNT(*) FROM establishments WHERE base_id = $1) AS establishments, \
                         (SELECT COUNT(*) FROM departments WHERE base_id = $1) AS departments, \
                         (SELECT COUNT(*) FROM employees WHERE base_id = $1 AND contract_start <= $2 \
                            AND (contract_end IS NULL OR contract_end >= $2)) AS active_employees, \
                         (SELECT COUNT(*) FROM employees WHERE base_id = $1 AND contract_start > $2) AS future_employees, \
                         (SELECT COUNT(*) FROM employees WHERE base_id = $1 AND contract_end < $2) AS former_employees, \
                         (SELECT COUNT(*) FROM absence_accounts WHERE base_id = $1) AS absence_accounts, \
                         (SELECT COUNT(*) FROM leave_periods WHERE base_id = $1) AS leave_periods, \
                         (SELECT COUNT(*) FROM expense_claims WHERE base_id = $1) AS expense_claims, \
                         (SELECT COUNT(*) FROM expense_items WHERE base_id = $1) AS expense_items",
                    )
                    .bind(base.0)
                    .bind(today)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(counts)
                }

                async fn clear_base(&self, base: BaseId) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    Self::bulk_start(&mut tx).await?;
                    Self::empty_in(&mut tx, base).await?;
                    self.end_replacement(tx, base).await
                }

                async fn copy_base(&self, from: BaseId, to: BaseId, by: relais_core::activity::Actor) -> Result<()> {
                    if from == to {
                        return Err(DomainError::new("base", "a base cannot be copied onto itself").into());
                    }
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    Self::bulk_start(&mut tx).await?;
                    Self::empty_in(&mut tx, to).await?;
                    for (table, cols) in columns::TABLES {
                        let rest = cols[1..].join(", ");
                        let sql = format!(
                            "INSERT INTO {table} (base_id, {rest}) SELECT $1, {rest} FROM {table} WHERE base_id = $2"
                        );
                        let end = Self::rows_end(&mut tx, table).await?;
                        sqlx::query(&sql).bind(to.0).bind(from.0).execute(&mut *tx).await?;
                        Self::write_created_events(&mut tx, table, end).await?;
                    }
                    // The change log goes with the data it tells the history of.
                    let log_columns = rows::EMPLOYEE_LOG_COLUMNS[2..].join(", ");
                    sqlx::query(&format!(
                        "INSERT INTO employee_logs (base_id, {log_columns}) \
                         SELECT $1, {log_columns} FROM employee_logs WHERE base_id = $2 ORDER BY id"
                    ))
                    .bind(to.0)
                    .bind(from.0)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO id_sequences (base_id, entity, next_id) \
                         SELECT $1, entity, next_id FROM id_sequences WHERE base_id = $2",
                    )
                    .bind(to.0)
                    .bind(from.0)
                    .execute(&mut *tx)
                    .await?;
                    let name = |id: BaseId| sqlx::query_scalar::<_, String>("SELECT name FROM bases WHERE id = $1").bind(id.0);
                    let entry = relais_core::activity::NewActivity {
                        base: Some(to),
                        by,
                        action: relais_core::activity::Action::BaseRefreshed,
                        target: to.0,
                        subject: name(to).fetch_one(&mut *tx).await?,
                        detail: Some(name(from).fetch_one(&mut *tx).await?),
                    };
                    Self::log_activity(&mut tx, &entry).await?;
                    self.end_replacement(tx, to).await
                }

                async fn reserve_ids(&self, base: BaseId, entity: Entity, count: i64) -> Result<i64> {
                    if count < 1 {
                        return Err(DomainError::new("count", "reserve at least one identifier").into());
                    }
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let first = Self::reserve_in(&mut tx, base, entity, count).await?;
                    tx.commit().await?;
                    Ok(first)
                }

                async fn insert_records(&self, records: Records<'_>) -> Result<()> {
                    match records {
                        Records::LegalUnits(rows) => insert_base_rows!($db, self, "legal_units", columns::LEGAL_UNITS, rows, |u| [
                            u.name.as_str(), u.siren.as_str(), u.country.as_str(), u.code.as_str(),
                            u.headquarters_id.map(|h| h.0), u.archived,
                        ]),
                        Records::Establishments(rows) => insert_base_rows!($db, self, "establishments", columns::ESTABLISHMENTS, rows, |e| [
                            e.legal_unit_id.0, e.name.as_str(), e.code.as_str(), e.siret.as_str(), e.time_zone.name(),
                            e.address.line.as_str(), e.address.postal_code.as_str(), e.address.city.as_str(),
                            e.address.country.as_str(), e.calendar.week.to_string(), e.calendar.holidays.as_str(),
                            e.archived,
                        ]),
                        Records::Departments(rows) => insert_base_rows!($db, self, "departments", columns::DEPARTMENTS, rows, |d| [
                            d.parent_id.map(|p| p.0), d.code.as_str(), d.name.as_str(), d.head_id.map(|h| h.0),
                            d.position, d.active,
                        ]),
                        Records::Sections(rows) => insert_base_rows!($db, self, "sections", columns::SECTIONS, rows, |s| [
                            s.code.as_str(), s.name.as_str(), s.standard,
                        ]),
                        Records::SectionFields(rows) => insert_base_rows!($db, self, "section_fields", columns::SECTION_FIELDS, rows, |f| [
                            f.section_id.0, f.code.as_str(), f.name.as_str(), f.kind.code(), rows::field_choices(&f.kind),
                        ]),
                        Records::Employees(rows) => bulk_transaction!(self, tx, {
                            let end = Self::rows_end(&mut tx, "employees").await?;
                            Self::insert_employees_in(&mut tx, rows).await?;
                            Self::write_created_events(&mut tx, "employees", end).await?;
                        }),
                        Records::AbsenceAccounts(rows) => insert_base_rows!($db, self, "absence_accounts", columns::ABSENCE_ACCOUNTS, rows, |a| [
                            a.name.as_str(), a.category.as_str(), a.unit.as_str(), a.active,
                        ]),
                        Records::LeavePeriods(rows) => bulk_transaction!(self, tx, {
                            let end = Self::rows_end(&mut tx, "leave_periods").await?;
                            Self::insert_leave_periods_in(&mut tx, rows).await?;
                            Self::write_created_events(&mut tx, "leave_periods", end).await?;
                        }),
                        Records::ExpenseNatures(rows) => insert_base_rows!($db, self, "expense_natures", columns::EXPENSE_NATURES, rows, |n| [
                            n.name.as_str(), n.cap.map(|c| c.minor), n.cap.map(|c| c.currency.as_str().to_owned()),
                            n.mileage, n.enabled,
                        ]),
                        Records::Axes(rows) => insert_base_rows!($db, self, "axes", columns::AXES, rows, |a| [
                            a.code.as_str(), a.name.as_str(),
                        ]),
                        Records::AxisSections(rows) => insert_base_rows!($db, self, "axis_sections", columns::AXIS_SECTIONS, rows, |s| [
                            s.axis_id.0, s.code.as_str(), s.name.as_str(),
                        ]),
                        Records::ExpenseClaims(rows) => insert_base_rows!($db, self, "expense_claims", columns::EXPENSE_CLAIMS, rows, |c| [
                            c.owner_id.0, c.author_id.0, c.name.as_str(), c.status.id(), c.approval_state.id(),
                            c.currency.as_str().to_owned(), c.declared_on,
                        ]),
                        Records::ExpenseItems(rows) => insert_base_rows!($db, self, "expense_items", columns::EXPENSE_ITEMS, rows, |i| [
                            i.claim_id.0, i.line_number, i.payment_method.id(), i.controlled, i.owner_id.0,
                            i.nature_id.0, i.purchased_on, i.amounts.currency.as_str().to_owned(), i.amounts.gross,
                            i.amounts.net, i.amounts.vat, i.amounts.reimbursed, i.quantity, i.mileage_km,
                            serde_json::to_string(&i.attendees).expect("attendees serialise"),
                            serde_json::to_string(&i.axis_sections).expect("ids serialise"),
                            warnings_to_string(&i.warnings), i.merchant.as_deref(), i.comment.as_deref(),
                        ]),
                    }
                }

                async fn list_legal_units(&self, base: BaseId) -> Result<Vec<LegalUnit>> {
                    select_rows!(&self.pool, rows::LegalUnitRow, "legal_units", columns::LEGAL_UNITS,
                        "base_id = $1 ORDER BY id", base.0)
                }

                async fn list_establishments(&self, base: BaseId) -> Result<Vec<Establishment>> {
                    select_packed!(&self.pool, rows::EstablishmentRow, "establishments", columns::ESTABLISHMENTS,
                        "base_id = $1", base.0)
                }

                async fn list_departments(&self, base: BaseId) -> Result<Vec<Department>> {
                    select_packed!(&self.pool, rows::DepartmentRow, "departments", columns::DEPARTMENTS,
                        "base_id = $1", base.0)
                }

                async fn set_department_head(
                    &self,
                    base: BaseId,
                    department: DepartmentId,
                    head: Option<EmployeeId>,
                ) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    Self::mark_writer(&mut tx).await?;
                    if let Some(h) = head {
                        if !Self::exists(&mut tx, "employees", base, h.0).await? {
                            return Err(DomainError::new("headID", format!("no employee {h} in this base")).into());
                        }
                    }
                    let done = sqlx::query("UPDATE departments SET head_id = $3, modified_at = $4 WHERE base_id = $1 AND id = $2")
                        .bind(base.0)
                        .bind(department.0)
                        .bind(head.map(|h| h.0))
                        .bind(now())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { entity: "department", key: department.to_string() });
                    }
                    self.commit_writes(tx).await?;
                    Ok(())
                }

                async fn list_sections(&self, base: BaseId) -> Result<Vec<Section>> {
                    select_rows!(&self.pool, rows::SectionRow, "sections", columns::SECTIONS,
                        "base_id = $1 ORDER BY id", base.0)
                }

                async fn list_section_fields(&self, base: BaseId) -> Result<Vec<SectionField>> {
                    select_rows!(&self.pool, rows::SectionFieldRow, "section_fields", columns::SECTION_FIELDS,
                        "base_id = $1 ORDER BY id", base.0)
                }

                async fn create_employee(&self, base: BaseId, data: &EmployeeData, author: &Author) -> Result<Employee> {
                    let fields = self.list_section_fields(base).await?;
                    check_extended_data(&data.extended_data, &fields)?;
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    Self::mark_writer(&mut tx).await?;
                    Self::check_employee_refs(&mut tx, base, None, data, None).await?;
                    let id = Self::reserve_in(&mut tx, base, Entity::Employee, 1).await?;
                    let now = now();
                    let employee = Employee {
                        base_id: base,
                        id: EmployeeId(id),
                        data: data.clone(),
                        created_at: now,
                        modified_at: now,
                    };
                    Self::insert_employees_in(&mut tx, std::slice::from_ref(&employee)).await?;
                    Self::log_changes(&mut tx, &employee, None, author).await?;
                    self.commit_writes(tx).await?;
                    Ok(employee)
                }

                async fn update_employee(&self, before: &Employee, data: &EmployeeData, author: &Author) -> Result<Employee> {
                    let (store, before, data, author) = (self.clone(), before.clone(), data.clone(), author.clone());
                    // On SQLite where it is asked for, waiting there for
                    // the writer's turn when another write holds it.
                    self.lane.run_short(Self::WRITES_WHERE_CALLED, async move { store.update_employee_now(&before, &data, &author).await }).await
                }

                async fn query_employees(&self, base: BaseId, query: &ListQuery) -> Result<Page<Employee>> {
                    query_page!($db, &self.pool, rows::EmployeeRow, "employees", columns::EMPLOYEES, base, query)
                }

                async fn encode_employees(&self, base: BaseId, query: &ListQuery, encode: crate::Encoder<Employee>) -> Result<crate::Page<crate::Encoded>> {
                    query_page!(@encode $db, &self.pool, rows::EmployeeRow, "employees", columns::EMPLOYEES, base, query, encode)
                }

                async fn employees_by_ids(&self, base: BaseId, ids: &[EmployeeId]) -> Result<Vec<Employee>> {
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let q = ListQuery {
                        conditions: vec![crate::Condition::column("id", crate::Cond::In(ids.iter().map(|i| crate::SqlValue::Int(i.0)).collect()))],
                        limit: u32::try_from(ids.len()).unwrap_or(u32::MAX),
                        ..ListQuery::default()
                    };
                    Ok(self.query_employees(base, &q).await?.items)
                }

                async fn calendars_of(&self, base: BaseId, ids: &[EmployeeId]) -> Result<Vec<(EmployeeId, relais_core::calendar::WorkCalendar)>> {
                    let list = serde_json::Value::from(ids.iter().map(|i| i.0).collect::<Vec<_>>()).to_string();
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "SELECT e.id, s.working_days, s.holidays FROM employees e JOIN establishments s \
                         ON s.base_id = e.base_id AND s.id = e.establishment_id WHERE e.base_id = ");
                    qb.push_bind(base.0);
                    qb.push(" AND e.id IN ");
                    qb.push(Self::ID_SET.0);
                    qb.push_bind(list);
                    qb.push(Self::ID_SET.1);
                    let found: Vec<(i64, String, String)> = qb.build_query_as().fetch_all(&self.pool).await?;
                    found
                        .into_iter()
                        .map(|(e, days, holidays)| Ok((EmployeeId(e), rows::calendar_from(&days, &holidays)?)))
                        .collect()
                }

                async fn insert_employee_logs(&self, logs: &[EmployeeLog]) -> Result<()> {
                    insert_rows!($db, self, "employee_logs", &rows::EMPLOYEE_LOG_COLUMNS[1..], logs, |b, l| {
                        b.push_bind(l.base_id.0)
                            .push_bind(l.employee_id.0)
                            .push_bind(l.field.as_str())
                            .push_bind(l.entry_type.as_str())
                            .push_bind(l.value.to_string())
                            .push_bind(l.author.as_str())
                            .push_bind(l.source.as_str())
                            .push_bind(l.at);
                    })
                }

                async fn query_employee_logs(&self, base: BaseId, query: &ListQuery) -> Result<Page<EmployeeLog>> {
                    query_page!($db, &self.pool, rows::EmployeeLogRow, "employee_logs", rows::EMPLOYEE_LOG_COLUMNS, base, query)
                }

                async fn get_employee(&self, base: BaseId, id: EmployeeId) -> Result<Employee> {
                    let found: Vec<Employee> = select_rows!(&self.pool, rows::EmployeeRow, "employees", columns::EMPLOYEES,
                        "base_id = $1 AND id = $2", base.0, id.0)?;
                    found.into_iter().next().ok_or(StoreError::NotFound { entity: "employee", key: id.to_string() })
                }

                async fn list_employees(&self, base: BaseId, after: Option<EmployeeId>, limit: u32) -> Result<Vec<Employee>> {
                    let q = ListQuery {
                        conditions: vec![crate::Condition::column("id", crate::Cond::Gt(crate::SqlValue::Int(after.map_or(0, |a| a.0))))],
                        limit,
                        ..ListQuery::default()
                    };
                    Ok(self.query_employees(base, &q).await?.items)
                }

                async fn list_absence_accounts(&self, base: BaseId) -> Result<Vec<AbsenceAccount>> {
                    select_packed!(&self.pool, rows::AbsenceAccountRow, "absence_accounts", columns::ABSENCE_ACCOUNTS,
                        "base_id = $1", base.0)
                }

                async fn create_leave_periods(&self, base: BaseId, new: &[NewLeavePeriod]) -> Result<Vec<LeavePeriod>> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    Self::mark_writer(&mut tx).await?;
                    let mut made = Vec::with_capacity(new.len());
                    for one in new {
                        made.push(Self::create_leave_period_in(&mut tx, base, one).await?);
                    }
                    self.commit_writes(tx).await?;
                    Ok(made)
                }

                async fn set_leave_status(&self, base: BaseId, id: LeavePeriodId, status: LeaveStatus) -> Result<LeavePeriod> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    Self::mark_writer(&mut tx).await?;
                    let current = Self::get_leave_period_in(&mut tx, base, id).await?;
                    current.status.check_transition(status)?;
                    let now = now();
                    let cancelled_at = if status == LeaveStatus::Cancelled { Some(now) } else { current.cancelled_at };
                    sqlx::query("UPDATE leave_periods SET status = $3, modified_at = $4, cancelled_at = $5 WHERE base_id = $1 AND id = $2")
                        .bind(base.0)
                        .bind(id.0)
                        .bind(status.as_str())
                        .bind(now)
                        .bind(cancelled_at)
                        .execute(&mut *tx)
                        .await?;
                    let updated = Self::get_leave_period_in(&mut tx, base, id).await?;
                    self.commit_writes(tx).await?;
                    Ok(updated)
                }

                async fn get_leave_period(&self, base: BaseId, id: LeavePeriodId) -> Result<LeavePeriod> {
                    let mut conn = self.pool.pool().acquire().await?;
                    Self::get_leave_period_in(&mut conn, base, id).await
                }

                async fn query_leave_periods(&self, base: BaseId, query: &ListQuery) -> Result<Page<LeavePeriod>> {
                    query_page!($db, &self.pool, rows::LeavePeriodRow, "leave_periods", columns::LEAVE_PERIODS, base, query)
                }

                async fn list_leave_periods(&self, base: BaseId, employee: EmployeeId) -> Result<Vec<LeavePeriod>> {
                    select_rows!(&self.pool, rows::LeavePeriodRow, "leave_periods", columns::LEAVE_PERIODS,
                        "base_id = $1 AND employee_id = $2 ORDER BY start_slot, id", base.0, employee.0)
                }

                async fn list_expense_natures(&self, base: BaseId) -> Result<Vec<ExpenseNature>> {
                    select_rows!(&self.pool, rows::ExpenseNatureRow, "expense_natures", columns::EXPENSE_NATURES,
                        "base_id = $1 ORDER BY id", base.0)
                }

                async fn list_axes(&self, base: BaseId) -> Result<Vec<Axis>> {
                    select_rows!(&self.pool, rows::AxisRow, "axes", columns::AXES, "base_id = $1 ORDER BY id", base.0)
                }

                async fn list_axis_sections(&self, base: BaseId) -> Result<Vec<AxisSection>> {
                    select_rows!(&self.pool, rows::AxisSectionRow, "axis_sections", columns::AXIS_SECTIONS,
                        "base_id = $1 ORDER BY id", base.0)
                }

                async fn list_expense_claims(&self, base: BaseId, owner: EmployeeId) -> Result<Vec<ExpenseClaim>> {
                    select_rows!(&self.pool, rows::ExpenseClaimRow, "expense_claims", columns::EXPENSE_CLAIMS,
                        "base_id = $1 AND owner_id = $2 ORDER BY id", base.0, owner.0)
                }

                async fn list_expense_items(&self, base: BaseId, claim: ExpenseClaimId) -> Result<Vec<ExpenseItem>> {
                    select_rows!(&self.pool, rows::ExpenseItemRow, "expense_items", columns::EXPENSE_ITEMS,
                        "base_id = $1 AND claim_id = $2 ORDER BY id", base.0, claim.0)
                }

                page_queries! { impl $db;
                    query_expense_claims -> ExpenseClaim = rows::ExpenseClaimRow, "expense_claims", columns::EXPENSE_CLAIMS;
                    query_expense_items -> ExpenseItem = rows::ExpenseItemRow, "expense_items", columns::EXPENSE_ITEMS;
                    query_departments -> Department = rows::DepartmentRow, "departments", columns::DEPARTMENTS;
                    query_establishments -> Establishment = rows::EstablishmentRow, "establishments", columns::ESTABLISHMENTS;
                    query_legal_units -> LegalUnit = rows::LegalUnitRow, "legal_units", columns::LEGAL_UNITS;
                    query_absence_accounts -> AbsenceAccount = rows::AbsenceAccountRow, "absence_accounts", columns::ABSENCE_ACCOUNTS;
                    query_expense_natures -> ExpenseNature = rows::ExpenseNatureRow, "expense_natures", columns::EXPENSE_NATURES;
                    query_axis_sections -> AxisSection = rows::AxisSectionRow, "axis_sections", columns::AXIS_SECTIONS;
                }
            }
        }
    };
}
pub(crate) use hr_store;

#[cfg(test)]
mod tests {
    use crate::rows::columns;
    use chrono::NaiveDate;
    use relais_core::employee::*;
    use relais_core::ids::{DepartmentId, EmployeeId, EstablishmentId};
    use relais_core::org::Name;

    /// An employee whose every field depends on `n`: two of them differ in
    /// every column.
    fn someone(n: i64) -> EmployeeData {
        let day = |d| NaiveDate::from_ymd_opt(2020, 1, d).unwrap();
        let details = serde_json::json!({ "personalEmail": format!("p{n}@orange.fr") });
        EmployeeData {
            employee_number: EmployeeNumber::parse(&format!("M{n}")).unwrap(),
            first_name: Name::parse("firstName", &format!("Claire{n}")).unwrap(),
            last_name: Name::parse("lastName", &format!("Martin{n}")).unwrap(),
            mail: Email::parse(&format!("c{n}@exemple.fr")).unwrap(),
            login: format!("c{n}"),
            birth_date: Some(day(n as u32)),
            establishment_id: EstablishmentId(n),
            department_id: Some(DepartmentId(n)),
            manager_id: Some(EmployeeId(n)),
            job_title: Some(format!("Métier {n}")),
            csp: Some(if n % 2 == 0 { Csp::Cadre } else { Csp::Employe }),
            profession: Some(format!("Profession {n}")),
            contract: Contract::new(day(n as u32), Some(day(n as u32 + 10))).unwrap(),
            extended_data: serde_json::json!({ "n": n }).as_object().unwrap().clone(),
            personal: PersonalDetails::from_json(details.as_object().unwrap()).unwrap(),
        }
    }

    /// The `SET` list an update from `before` to `after` writes.
    fn set_list(before: &EmployeeData, after: &EmployeeData) -> String {
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
        let mut set = qb.separated(", ");
        crate::hr::employee_cells!(set_changed(set, before, after));
        qb.into_sql()
    }

    #[test]
    fn an_update_sets_only_the_columns_that_changed() {
        let before = someone(1);
        assert_eq!(set_list(&before, &before), "", "nothing changed");
        let mut after = before.clone();
        after.job_title = Some("Paie".into());
        assert_eq!(set_list(&before, &after), "job_title = ?");
        after.mail = Email::parse("claire@exemple.fr").unwrap();
        after.extended_data.insert("n".into(), 2.into());
        assert_eq!(
            set_list(&before, &after),
            "mail = ?, job_title = ?, extended_data = ?"
        );
        after.job_title = None;
        assert_eq!(
            set_list(&before, &after),
            "mail = ?, job_title = ?, extended_data = ?",
            "a field emptied is set too"
        );
    }

    #[test]
    fn every_stored_column_has_its_cell_in_the_tables_order() {
        let set = set_list(&someone(1), &someone(2));
        let set: Vec<&str> = set
            .split(", ")
            .map(|c| c.trim_end_matches(" = ?"))
            .collect();
        let stored = &columns::EMPLOYEES[2..columns::EMPLOYEES.len() - 2];
        assert_eq!(set, stored);
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("");
        let mut b = qb.separated(", ");
        let d = &someone(1);
        crate::hr::employee_cells!(bind(b, d));
        assert_eq!(
            qb.into_sql().matches('?').count(),
            stored.len(),
            "an insert binds each"
        );
    }
}
