//! Ready-made reports, computed where the data is: SQL groups and sums the
//! records, and only the groups (never the base) come back. The few leave
//! periods that run over a month's end are read one by one and split into
//! their months with their owner's working calendar.
//!
//! [`ReportStore`] holds the queries (one implementation per backend, from
//! [`report_store!`]); [`compute`] turns their groups into a report's rows,
//! with names instead of identifiers.

use crate::{Result, Store};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use relais_core::absence::LeaveSpan;
use relais_core::calendar::{HalfDaySlot, WorkCalendar};
use relais_core::ids::{BaseId, KeyId};
use relais_core::report::{snap_vat_rate, Cell, Month, ReportFilter, ReportKind, ReportTable};
use std::collections::{BTreeMap, HashMap};

/// Claim statuses whose items count in the expense reports: approved and
/// controlled, payment initiated, paid.
pub const VALIDATED_CLAIM_STATUSES: [i32; 3] = [5, 6, 7];
/// Claim statuses whose items are left out of the warnings list: refused,
/// cancelled.
pub const CLOSED_CLAIM_STATUSES: [i32; 2] = [8, 9];

/// Which approved absences an absence report reads, and how it groups them.
#[derive(Debug, Clone, Copy)]
pub struct AbsenceAsk<'a> {
    /// The base.
    pub base: BaseId,
    /// The period and the report's filters.
    pub filter: &'a ReportFilter,
    /// How they are grouped besides their month.
    pub by: AbsenceGrouping,
    /// The periods created or changed since then are counted as changed
    /// (none: the report asks about no earlier export).
    pub since: Option<DateTime<Utc>>,
}

/// How absences are grouped besides their month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbsenceGrouping {
    /// By employee and account.
    EmployeeAccount,
    /// By establishment and account category.
    EstablishmentCategory,
}

read_by_position! {
/// Approved absence half days of one month and group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceGroup {
    /// `YYYY-MM`.
    pub month: String,
    /// Employee or establishment id.
    pub first: i64,
    /// Account id or category code.
    pub second: String,
    /// Working half days.
    pub half_days: i64,
    /// Leave periods.
    pub periods: i64,
    /// Periods created or changed since the export asked about.
    pub changed: i64,
}
}

/// An approved leave period running over a month's end, to be split.
#[derive(Debug, Clone)]
pub struct SplitPeriod {
    /// Employee or establishment id.
    pub first: i64,
    /// Account id or category code.
    pub second: String,
    /// First half day (ordinal).
    pub start_slot: i64,
    /// Last half day (ordinal).
    pub end_slot: i64,
    /// Its owner's establishment (whose calendar counts its working days).
    pub establishment: i64,
    /// Created or changed since the export asked about.
    pub changed: bool,
}

read_by_position! {
/// Employees under contract at some time of a period, with the same
/// establishment, department, socio-professional category and contract
/// bounds. A contract starting before the period reads as starting the day
/// before it; one ending after it (or not ending) as ending the day after:
/// a month's entries, exits and month-end headcount all follow from the
/// two bounds.
#[derive(Debug, Clone)]
pub struct ContractGroup {
    /// Their establishment.
    pub establishment: i64,
    /// Their department, if any.
    pub department: Option<i64>,
    /// Their socio-professional category (empty when unknown).
    pub csp: String,
    /// First day under contract, or the day before the period.
    pub start: NaiveDate,
    /// Last day under contract, or the day after the period.
    pub end: NaiveDate,
    /// How many.
    pub employees: i64,
}
}

/// Sums of expense items of one group.
#[derive(Debug, Clone)]
pub struct ExpenseGroup {
    /// `YYYY-MM`.
    pub month: String,
    /// Nature id, or VAT rate in tenths of a percent.
    pub key: i64,
    /// The items' axis sections (JSON list of ids; empty for VAT groups).
    pub sections: String,
    /// Currency.
    pub currency: String,
    /// Gross, net, VAT and reimbursed sums, in minor units.
    pub amounts: [i64; 4],
    /// Items.
    pub items: i64,
}

/// An expense item with warnings, as the warnings list shows it.
#[derive(Debug, Clone)]
pub struct WarningItem {
    /// Purchase date.
    pub date: NaiveDate,
    /// Owner's employee number.
    pub employee_number: String,
    /// Owner's name.
    pub employee: String,
    /// Nature's name.
    pub nature: String,
    /// Currency.
    pub currency: String,
    /// Gross amount in minor units.
    pub gross: i64,
    /// Warning codes, comma-separated.
    pub warnings: String,
}

/// The half days of one employee on one account in one month that come
/// from leave periods over a month's end (split with the owner's calendar
/// before the store sums them with the periods lying within the month).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PayrollShare(
    /// `YYYY-MM`.
    pub String,
    /// Employee id.
    pub i64,
    /// Account id.
    pub i64,
    /// Working half days.
    pub i64,
    /// Leave periods.
    pub i64,
    /// Periods created or changed since the export asked about.
    pub i64,
);

/// One line of the payroll absences report, as the store reads it.
#[derive(Debug, Clone)]
pub struct PayrollLine {
    /// Employee number.
    pub employee_number: String,
    /// « Last First ».
    pub employee: String,
    /// The employee's establishment.
    pub establishment: i64,
    /// The account's name.
    pub account: String,
    /// Working half days.
    pub half_days: i64,
    /// Leave periods.
    pub periods: i64,
    /// Periods created or changed since the export asked about.
    pub changed: i64,
}

/// A report's rows in one month and the sum of its charted figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthTotal {
    /// The month.
    pub month: Month,
    /// Rows.
    pub rows: u64,
    /// The charted figure summed, in its stored unit (half days, cents).
    pub amount: i64,
}

/// What a key read through one path (its query left aside).
#[derive(Debug, Clone)]
pub struct PathReads {
    /// The path, e.g. `/api/v3/users` or `/api/v3/users/12`.
    pub path: String,
    /// Requests.
    pub requests: i64,
    /// Requests answered with an error (status 400 and above).
    pub errors: i64,
    /// Records the answers held.
    pub records: i64,
    /// The latest request.
    pub last: DateTime<Utc>,
}

/// What a key read of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceReads {
    /// The resource's path, identifiers written `{id}`, e.g. `/api/v3/users/{id}`.
    pub resource: String,
    /// Requests.
    pub requests: i64,
    /// Requests answered with an error.
    pub errors: i64,
    /// Records the answers held.
    pub records: i64,
    /// The latest request.
    pub last: DateTime<Utc>,
}

/// What key `key_id` read since `since`, per resource, most read first.
pub async fn key_reads(
    store: &dyn Store,
    key_id: KeyId,
    since: DateTime<Utc>,
) -> Result<Vec<ResourceReads>> {
    let mut by: BTreeMap<String, ResourceReads> = BTreeMap::new();
    for p in store.path_reads(key_id, since).await? {
        let resource: String = p
            .path
            .split('/')
            .map(|s| {
                if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                    "{id}"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let r = by
            .entry(resource.to_ascii_lowercase())
            .or_insert(ResourceReads {
                resource,
                requests: 0,
                errors: 0,
                records: 0,
                last: p.last,
            });
        r.requests += p.requests;
        r.errors += p.errors;
        r.records += p.records;
        r.last = r.last.max(p.last);
    }
    let mut out: Vec<ResourceReads> = by.into_values().collect();
    out.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.resource.cmp(&b.resource))
    });
    Ok(out)
}

/// The queries behind the ready-made reports.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// What a key read since `since`, per path (query left aside), from the
    /// audit trail.
    async fn path_reads(&self, key_id: KeyId, since: DateTime<Utc>) -> Result<Vec<PathReads>>;
    /// The first change to the base's employees, leave periods, expense
    /// claims or items after `after`: how far behind a copy read at `after` is.
    async fn first_change_after(
        &self,
        base: BaseId,
        after: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>>;
    /// Approved absences lying within one month, grouped.
    async fn absence_groups(&self, ask: &AbsenceAsk<'_>) -> Result<Vec<AbsenceGroup>>;
    /// Approved absences over a month's end that touch the period.
    async fn split_periods(&self, ask: &AbsenceAsk<'_>) -> Result<Vec<SplitPeriod>>;
    /// Employees under contract during the period, grouped by
    /// establishment, department, category and contract bounds.
    async fn contract_groups(
        &self,
        base: BaseId,
        filter: &ReportFilter,
    ) -> Result<Vec<ContractGroup>>;
    /// The payroll absences report's lines and half days per month: the
    /// approved periods lying within a month, grouped per employee and
    /// account with `shares` (the periods over a month's end, split).
    async fn payroll_months(
        &self,
        base: BaseId,
        filter: &ReportFilter,
        shares: &[PayrollShare],
    ) -> Result<Vec<MonthTotal>>;
    /// A page of the payroll absences report's lines of `month` (`shares`
    /// are that month's), sorted by name, employee number and account.
    #[allow(clippy::too_many_arguments)]
    async fn payroll_lines(
        &self,
        base: BaseId,
        filter: &ReportFilter,
        month: Month,
        shares: &[PayrollShare],
        since: Option<DateTime<Utc>>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<PayrollLine>>;
    /// Items of validated claims per month, nature, sections and currency.
    async fn expense_groups(
        &self,
        base: BaseId,
        filter: &ReportFilter,
    ) -> Result<Vec<ExpenseGroup>>;
    /// Items of validated claims per month, VAT rate and currency.
    async fn vat_groups(&self, base: BaseId, filter: &ReportFilter) -> Result<Vec<ExpenseGroup>>;
    /// Items with warnings, by date, a page of them, and how many there
    /// are per month with their gross amount.
    async fn warning_items(
        &self,
        base: BaseId,
        filter: &ReportFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<WarningItem>, Vec<MonthTotal>)>;
    /// When `reader` last exported `report` on `base`.
    async fn last_export(
        &self,
        base: BaseId,
        report: &str,
        reader: &str,
    ) -> Result<Option<DateTime<Utc>>>;
    /// Records that `reader` exported `report` on `base` at `at`.
    async fn record_export(
        &self,
        base: BaseId,
        report: &str,
        reader: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
}

/// Pushes the employee filters (`e.`), and the account (`p.account_id`) or
/// nature (`i.nature_id`) filters, of a report's filter.
macro_rules! push_report_filters {
    ($qb:expr, $store:ty, $filter:expr, $accounts:expr, $natures:expr) => {{
        let list = |ids: &[i64]| serde_json::Value::from(ids.to_vec()).to_string();
        let mut sets: Vec<(&str, &Option<Vec<i64>>)> = vec![
            ("e.establishment_id", &$filter.establishments),
            ("e.department_id", &$filter.departments),
        ];
        if let Some(col) = $accounts {
            sets.push((col, &$filter.accounts));
        }
        if let Some(col) = $natures {
            sets.push((col, &$filter.natures));
        }
        for (column, ids) in sets {
            if let Some(ids) = ids {
                $qb.push(format!(" AND {column} IN "));
                $qb.push(<$store>::ID_SET.0);
                $qb.push_bind(list(ids));
                $qb.push(<$store>::ID_SET.1);
            }
        }
    }};
}

/// Implements [`ReportStore`] for a backend: `$store` has `pool`, `ID_SET`
/// and `MONTH_OF` (how a date column reads as `YYYY-MM`).
macro_rules! report_store {
    ($store:ty, $db:ty) => {
        impl $store {
            fn month_of(column: &str) -> String {
                format!("{}{column}{}", Self::MONTH_OF.0, Self::MONTH_OF.1)
            }

            fn absence_dims(by: $crate::reports::AbsenceGrouping) -> (&'static str, &'static str) {
                match by {
                    $crate::reports::AbsenceGrouping::EmployeeAccount => ("p.employee_id", "CAST(p.account_id AS TEXT)"),
                    $crate::reports::AbsenceGrouping::EstablishmentCategory => ("e.establishment_id", "a.category"),
                }
            }
        }

        #[async_trait::async_trait]
        impl $crate::reports::ReportStore for $store {
            async fn first_change_after(
                &self,
                base: relais_core::ids::BaseId,
                after: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<Option<chrono::DateTime<chrono::Utc>>> {
                let firsts = ["employees", "leave_periods", "expense_claims", "expense_items"]
                    .map(|t| format!("SELECT MIN(modified_at) AS m FROM {t} WHERE base_id = $1 AND modified_at > $2"))
                    .join(" UNION ALL ");
                Ok(sqlx::query_scalar(&format!("SELECT MIN(m) FROM ({firsts}) firsts"))
                    .bind(base.0)
                    .bind(after)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn path_reads(
                &self,
                key_id: relais_core::ids::KeyId,
                since: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<Vec<$crate::reports::PathReads>> {
                let path = Self::PATH_ONLY;
                let rows: Vec<(String, i64, i64, i64, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(&format!(
                    "SELECT {path}, COUNT(*), CAST(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS BIGINT), \
                     CAST(SUM(records) AS BIGINT), MAX(at) FROM api_requests \
                     WHERE key_id = $1 AND at >= $2 GROUP BY {path}"
                ))
                .bind(key_id.0)
                .bind(since)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(path, requests, errors, records, last)| $crate::reports::PathReads {
                        path, requests, errors, records, last,
                    })
                    .collect())
            }

            async fn absence_groups(
                &self,
                ask: &$crate::reports::AbsenceAsk<'_>,
            ) -> $crate::Result<Vec<$crate::reports::AbsenceGroup>> {
                let $crate::reports::AbsenceAsk { base, filter, by, since } = *ask;
                let (first, second) = Self::absence_dims(by);
                let month = Self::month_of("p.start_date");
                let since = since.unwrap_or($crate::reports::never());
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {month}, {first}, {second}, CAST(SUM(p.half_days) AS BIGINT), COUNT(*), \
                     CAST(SUM(CASE WHEN p.modified_at > "
                ));
                qb.push_bind(since);
                let owners = Self::OWNERS;
                qb.push(format!(
                    " THEN 1 ELSE 0 END) AS BIGINT) FROM leave_periods p \
                     JOIN {owners} ON e.base_id = p.base_id AND e.id = p.employee_id \
                     JOIN absence_accounts a ON a.base_id = p.base_id AND a.id = p.account_id \
                     WHERE p.base_id = "
                ));
                qb.push_bind(base.0);
                qb.push(" AND p.status = 'approved' AND p.start_date >= ");
                qb.push_bind(filter.first_day());
                qb.push(" AND p.end_date <= ");
                qb.push_bind(filter.last_day());
                qb.push(format!(" AND {month} = {}", Self::month_of("p.end_date")));
                $crate::reports::push_report_filters!(qb, $store, filter, Some("p.account_id"), None::<&str>);
                qb.push(format!(" GROUP BY {month}, {first}, {second}"));
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn split_periods(
                &self,
                ask: &$crate::reports::AbsenceAsk<'_>,
            ) -> $crate::Result<Vec<$crate::reports::SplitPeriod>> {
                let $crate::reports::AbsenceAsk { base, filter, by, since } = *ask;
                let (first, second) = Self::absence_dims(by);
                let since = since.unwrap_or($crate::reports::never());
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {first}, {second}, p.start_slot, p.end_slot, e.establishment_id, \
                     CASE WHEN p.modified_at > "
                ));
                qb.push_bind(since);
                qb.push(format!(
                    " THEN 1 ELSE 0 END FROM leave_periods p \
                     JOIN {} ON e.base_id = p.base_id AND e.id = p.employee_id \
                     JOIN absence_accounts a ON a.base_id = p.base_id AND a.id = p.account_id \
                     WHERE p.base_id = ",
                    Self::OWNERS
                ));
                qb.push_bind(base.0);
                qb.push(" AND p.status = 'approved' AND p.start_date <= ");
                qb.push_bind(filter.last_day());
                qb.push(" AND p.end_date >= ");
                qb.push_bind(filter.first_day());
                qb.push(format!(
                    " AND {} <> {}",
                    Self::month_of("p.start_date"),
                    Self::month_of("p.end_date")
                ));
                $crate::reports::push_report_filters!(qb, $store, filter, Some("p.account_id"), None::<&str>);
                let rows: Vec<(i64, String, i64, i64, i64, i32)> =
                    qb.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(first, second, start_slot, end_slot, establishment, changed)| {
                        $crate::reports::SplitPeriod {
                            first,
                            second,
                            start_slot,
                            end_slot,
                            establishment,
                            changed: changed != 0,
                        }
                    })
                    .collect())
            }

            async fn contract_groups(
                &self,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
            ) -> $crate::Result<Vec<$crate::reports::ContractGroup>> {
                let (from, to) = (filter.first_day(), filter.last_day());
                let (before, after) = (from - chrono::Days::new(1), to + chrono::Days::new(1));
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT e.establishment_id, e.department_id, COALESCE(e.csp, ''), CASE WHEN e.contract_start < ",
                );
                qb.push_bind(from);
                qb.push(" THEN ");
                qb.push_bind(before);
                qb.push(" ELSE e.contract_start END AS s, CASE WHEN e.contract_end IS NULL OR e.contract_end > ");
                qb.push_bind(to);
                qb.push(" THEN ");
                qb.push_bind(after);
                qb.push(" ELSE e.contract_end END AS t, COUNT(*) FROM employees e WHERE e.base_id = ");
                qb.push_bind(base.0);
                qb.push(" AND e.contract_start <= ");
                qb.push_bind(to);
                qb.push(" AND (e.contract_end IS NULL OR e.contract_end >= ");
                qb.push_bind(from);
                qb.push(")");
                $crate::reports::push_report_filters!(qb, $store, filter, None::<&str>, None::<&str>);
                qb.push(" GROUP BY 1, 2, 3, 4, 5");
                Ok(qb.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn payroll_months(
                &self,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
                shares: &[$crate::reports::PayrollShare],
            ) -> $crate::Result<Vec<$crate::reports::MonthTotal>> {
                let month = Self::month_of("p.start_date");
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT m, COUNT(*), CAST(SUM(h) AS BIGINT) FROM (\
                     SELECT m, employee_id, account_id, SUM(h) AS h FROM (\
                     SELECT {month} AS m, p.employee_id AS employee_id, p.account_id AS account_id, p.half_days AS h"
                ));
                Self::push_periods_within_months(&mut qb, base, filter, filter.first_day(), filter.last_day());
                qb.push(" UNION ALL SELECT s.m, s.employee_id, s.account_id, s.h FROM ");
                Self::push_shares(&mut qb, shares);
                qb.push(") u GROUP BY m, employee_id, account_id) g GROUP BY m ORDER BY m");
                let rows: Vec<(String, i64, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter()
                    .map(|(m, lines, half_days)| {
                        Ok($crate::reports::MonthTotal {
                            month: $crate::reports::month(&m)?,
                            rows: u64::try_from(lines).unwrap_or(0),
                            amount: half_days,
                        })
                    })
                    .collect()
            }

            async fn payroll_lines(
                &self,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
                month: relais_core::report::Month,
                shares: &[$crate::reports::PayrollShare],
                since: Option<chrono::DateTime<chrono::Utc>>,
                offset: u64,
                limit: u64,
            ) -> $crate::Result<Vec<$crate::reports::PayrollLine>> {
                let since = since.unwrap_or($crate::reports::never());
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT e.employee_number, e.last_name, e.first_name, e.establishment_id, a.name, \
                     CAST(g.h AS BIGINT), CAST(g.n AS BIGINT), CAST(g.c AS BIGINT) FROM (\
                     SELECT employee_id, account_id, SUM(h) AS h, SUM(n) AS n, SUM(c) AS c FROM (\
                     SELECT p.employee_id AS employee_id, p.account_id AS account_id, p.half_days AS h, 1 AS n, \
                     CASE WHEN p.modified_at > ",
                );
                qb.push_bind(since);
                qb.push(" THEN 1 ELSE 0 END AS c");
                let (first, last) = (
                    month.first_day().max(filter.first_day()),
                    month.last_day().min(filter.last_day()),
                );
                Self::push_periods_within_months(&mut qb, base, filter, first, last);
                qb.push(" UNION ALL SELECT s.employee_id, s.account_id, s.h, s.n, s.c FROM ");
                Self::push_shares(&mut qb, shares);
                qb.push(
                    ") u GROUP BY employee_id, account_id) g \
                     JOIN employees e ON e.id = g.employee_id AND e.base_id = ",
                );
                qb.push_bind(base.0);
                qb.push(" JOIN absence_accounts a ON a.id = g.account_id AND a.base_id = ");
                qb.push_bind(base.0);
                qb.push(
                    " ORDER BY e.last_name || ' ' || e.first_name, e.employee_number, a.name, g.account_id LIMIT ",
                );
                qb.push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
                qb.push(" OFFSET ");
                qb.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
                let rows: Vec<(String, String, String, i64, String, i64, i64, i64)> =
                    qb.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(employee_number, last, first, establishment, account, half_days, periods, changed)| {
                        $crate::reports::PayrollLine {
                            employee_number,
                            employee: format!("{last} {first}"),
                            establishment,
                            account,
                            half_days,
                            periods,
                            changed,
                        }
                    })
                    .collect())
            }

            async fn expense_groups(
                &self,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
            ) -> $crate::Result<Vec<$crate::reports::ExpenseGroup>> {
                let month = Self::month_of("i.purchased_on");
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {month}, i.nature_id, i.axis_sections, i.currency, \
                     CAST(SUM(i.gross) AS BIGINT), CAST(SUM(i.net) AS BIGINT), CAST(SUM(i.vat) AS BIGINT), CAST(SUM(i.reimbursed) AS BIGINT), COUNT(*)"
                ));
                Self::push_validated_items(&mut qb, base, filter);
                qb.push(format!(" GROUP BY {month}, i.nature_id, i.axis_sections, i.currency"));
                Self::expense_rows(qb, &self.pool).await
            }

            async fn vat_groups(
                &self,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
            ) -> $crate::Result<Vec<$crate::reports::ExpenseGroup>> {
                let month = Self::month_of("i.purchased_on");
                let rate = "CASE WHEN i.net = 0 THEN 0 ELSE CAST(ROUND(i.vat * 1000.0 / i.net) AS BIGINT) END";
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {month}, {rate}, '', i.currency, \
                     CAST(SUM(i.gross) AS BIGINT), CAST(SUM(i.net) AS BIGINT), CAST(SUM(i.vat) AS BIGINT), CAST(SUM(i.reimbursed) AS BIGINT), COUNT(*)"
                ));
                Self::push_validated_items(&mut qb, base, filter);
                qb.push(format!(" GROUP BY {month}, {rate}, i.currency"));
                Self::expense_rows(qb, &self.pool).await
            }

            async fn warning_items(
                &self,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
                offset: u64,
                limit: u64,
            ) -> $crate::Result<(Vec<$crate::reports::WarningItem>, Vec<$crate::reports::MonthTotal>)> {
                let claims = format!(
                    "i.warnings <> '' AND c.status NOT IN ({})",
                    $crate::reports::CLOSED_CLAIM_STATUSES.map(|s| s.to_string()).join(", ")
                );
                let from_where = |qb: &mut sqlx::QueryBuilder<'_, $db>| {
                    Self::push_items(qb, base, filter, &claims, true);
                };
                let month = Self::month_of("i.purchased_on");
                let mut count = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {month}, COUNT(*), CAST(SUM(i.gross) AS BIGINT)"
                ));
                from_where(&mut count);
                count.push(format!(" GROUP BY {month} ORDER BY {month}"));
                let months: Vec<(String, i64, i64)> = count.build_query_as().fetch_all(&self.pool).await?;
                let months = months
                    .into_iter()
                    .map(|(m, rows, amount)| {
                        Ok($crate::reports::MonthTotal {
                            month: $crate::reports::month(&m)?,
                            rows: u64::try_from(rows).unwrap_or(0),
                            amount,
                        })
                    })
                    .collect::<$crate::Result<Vec<_>>>()?;
                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "SELECT i.purchased_on, e.employee_number, e.first_name, e.last_name, n.name, i.currency, i.gross, i.warnings",
                );
                from_where(&mut qb);
                qb.push(" ORDER BY i.purchased_on, i.id LIMIT ");
                qb.push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
                qb.push(" OFFSET ");
                qb.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
                let rows: Vec<(chrono::NaiveDate, String, String, String, String, String, i64, String)> =
                    qb.build_query_as().fetch_all(&self.pool).await?;
                Ok((
                    rows.into_iter()
                        .map(|(date, employee_number, first, last, nature, currency, gross, warnings)| {
                            $crate::reports::WarningItem {
                                date,
                                employee_number,
                                employee: format!("{first} {last}"),
                                nature,
                                currency,
                                gross,
                                warnings,
                            }
                        })
                        .collect(),
                    months,
                ))
            }

            async fn last_export(
                &self,
                base: relais_core::ids::BaseId,
                report: &str,
                reader: &str,
            ) -> $crate::Result<Option<chrono::DateTime<chrono::Utc>>> {
                Ok(sqlx::query_scalar(
                    "SELECT MAX(exported_at) FROM report_exports WHERE base_id = $1 AND report = $2 AND reader = $3",
                )
                .bind(base.0)
                .bind(report)
                .bind(reader)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn record_export(
                &self,
                base: relais_core::ids::BaseId,
                report: &str,
                reader: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<()> {
                sqlx::query("INSERT INTO report_exports (base_id, report, reader, exported_at) VALUES ($1, $2, $3, $4)")
                    .bind(base.0)
                    .bind(report)
                    .bind(reader)
                    .bind(at)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }
        }

        impl $store {
            /// ` FROM … WHERE …` of the approved leave periods lying within
            /// one month, between `first` and `last`, under the filter's
            /// bounds (employees joined only when the filter needs them).
            fn push_periods_within_months(
                qb: &mut sqlx::QueryBuilder<'_, $db>,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
                first: chrono::NaiveDate,
                last: chrono::NaiveDate,
            ) {
                qb.push(" FROM leave_periods p");
                if filter.establishments.is_some() || filter.departments.is_some() {
                    qb.push(format!(" JOIN {} ON e.base_id = p.base_id AND e.id = p.employee_id", Self::OWNERS));
                }
                qb.push(" WHERE p.base_id = ");
                qb.push_bind(base.0);
                qb.push(" AND p.status = 'approved' AND p.start_date >= ");
                qb.push_bind(first);
                qb.push(" AND p.end_date <= ");
                qb.push_bind(last);
                qb.push(format!(" AND {} = {}", Self::month_of("p.start_date"), Self::month_of("p.end_date")));
                $crate::reports::push_report_filters!(qb, $store, filter, Some("p.account_id"), None::<&str>);
            }

            /// The payroll shares as a table `s (m, employee_id, account_id,
            /// h, n, c)`, bound as one JSON array.
            fn push_shares(qb: &mut sqlx::QueryBuilder<'_, $db>, shares: &[$crate::reports::PayrollShare]) {
                qb.push(Self::SHARES.0);
                qb.push_bind(serde_json::to_string(shares).unwrap_or_else(|_| "[]".into()));
                qb.push(Self::SHARES.1);
                qb.push(" s");
            }

            /// `FROM` and `WHERE` for the expense items of `base` bought within
            /// the filter's period, of claims whose status `claims` (a condition
            /// on `c.status`) accepts, filtered as the report asks: each item
            /// `i` with its claim `c` and owner `e`, and its nature `n` when
            /// `with_nature`.
            fn push_items(
                qb: &mut sqlx::QueryBuilder<'_, $db>,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
                claims: &str,
                with_nature: bool,
            ) {
                qb.push(
                    " FROM expense_items i \
                     JOIN expense_claims c ON c.base_id = i.base_id AND c.id = i.claim_id \
                     JOIN employees e ON e.base_id = i.base_id AND e.id = i.owner_id",
                );
                if with_nature {
                    qb.push(" JOIN expense_natures n ON n.base_id = i.base_id AND n.id = i.nature_id");
                }
                qb.push(" WHERE i.base_id = ");
                qb.push_bind(base.0);
                qb.push(format!(" AND {claims} AND i.purchased_on >= "));
                qb.push_bind(filter.first_day());
                qb.push(" AND i.purchased_on <= ");
                qb.push_bind(filter.last_day());
                $crate::reports::push_report_filters!(qb, $store, filter, None::<&str>, Some("i.nature_id"));
            }

            /// [`Self::push_items`] of validated claims.
            fn push_validated_items(
                qb: &mut sqlx::QueryBuilder<'_, $db>,
                base: relais_core::ids::BaseId,
                filter: &relais_core::report::ReportFilter,
            ) {
                let claims = format!(
                    "c.status IN ({})",
                    $crate::reports::VALIDATED_CLAIM_STATUSES.map(|s| s.to_string()).join(", ")
                );
                Self::push_items(qb, base, filter, &claims, false);
            }

            async fn expense_rows(
                mut qb: sqlx::QueryBuilder<'_, $db>,
                pool: &$crate::kept::Kept<$db>,
            ) -> $crate::Result<Vec<$crate::reports::ExpenseGroup>> {
                let rows: Vec<(String, i64, String, String, i64, i64, i64, i64, i64)> =
                    qb.build_query_as().fetch_all(pool).await?;
                Ok(rows
                    .into_iter()
                    .map(|(month, key, sections, currency, gross, net, vat, reimbursed, items)| {
                        $crate::reports::ExpenseGroup {
                            month,
                            key,
                            sections,
                            currency,
                            amounts: [gross, net, vat, reimbursed],
                            items,
                        }
                    })
                    .collect())
            }
        }
    };
}
pub(crate) use {push_report_filters, report_store};

/// A report computed for one page of its rows.
#[derive(Debug, Clone)]
pub struct ComputedReport {
    /// The page's rows, in the order shown.
    pub table: ReportTable,
    /// Rows in the whole report.
    pub total: u64,
    /// The charted figure summed per month over the whole report, in month
    /// order.
    pub per_month: Vec<(Month, f64)>,
}

/// Computes report `kind` on `base` for `filter`; `since` is the reader's
/// previous export (the absences report counts what changed after it).
/// Only the rows of `page` (offset and limit; all when `None`) are built,
/// in the order the report shows them: the absences and warnings lists are
/// sorted and paged by the store, the other reports are groups and come
/// whole from it.
pub async fn compute(
    store: &dyn Store,
    base: BaseId,
    kind: ReportKind,
    filter: &ReportFilter,
    since: Option<DateTime<Utc>>,
    page: Option<(u64, u64)>,
) -> Result<ComputedReport> {
    let spec = relais_core::report::spec(kind);
    let rows = match kind {
        ReportKind::AbsencesPayroll => {
            return absences_payroll(store, base, filter, since, page).await;
        }
        ReportKind::ExpenseWarnings => {
            let (offset, limit) = page.unwrap_or((0, u64::MAX / 2));
            let (items, months) = store.warning_items(base, filter, offset, limit).await?;
            let rows = items
                .into_iter()
                .map(|w| {
                    let warnings = w
                        .warnings
                        .split(',')
                        .filter_map(|c| c.parse::<relais_core::expense::ExpenseWarning>().ok())
                        .collect::<Vec<_>>();
                    vec![
                        Cell::Date(w.date),
                        Cell::Text(w.employee_number),
                        Cell::Text(w.employee),
                        Cell::Text(w.nature),
                        Cell::Text(w.currency),
                        Cell::Money(w.gross),
                        Cell::Warnings(warnings),
                    ]
                })
                .collect();
            return Ok(ComputedReport {
                table: ReportTable { spec, rows },
                total: months.iter().map(|m| m.rows).sum(),
                per_month: months
                    .iter()
                    .map(|m| (m.month, Cell::Money(m.amount).number().unwrap_or(0.0)))
                    .collect(),
            });
        }
        ReportKind::Absenteeism => absenteeism(store, base, filter).await?,
        ReportKind::Headcount => headcount(store, base, filter).await?,
        ReportKind::ExpensesByNature => expenses_by_nature(store, base, filter).await?,
        ReportKind::RecoverableVat => recoverable_vat(store, base, filter).await?,
    };
    let whole = ReportTable { spec, rows };
    let per_month = whole.per_month(spec.chart.key);
    let total = whole.rows.len() as u64;
    let rows = match page {
        Some((offset, limit)) => whole
            .rows
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect(),
        None => whole.rows,
    };
    Ok(ComputedReport {
        table: ReportTable { spec, rows },
        total,
        per_month,
    })
}

/// A time after every change: "changed since" it counts nothing.
pub fn never() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date")
        .and_utc()
}

/// A `YYYY-MM` read from the database.
pub(crate) fn month(text: &str) -> Result<Month> {
    text.parse()
        .map_err(|e: relais_core::DomainError| crate::StoreError::Corrupt {
            entity: "report",
            message: e.to_string(),
        })
}

/// Amounts summed, and the items counted.
type Sums<const N: usize> = ([i64; N], i64);

/// Half days, periods and changed periods per (month, first, second).
type AbsenceSums = BTreeMap<(Month, i64, String), [i64; 3]>;

/// The approved leave periods over a month's end that touch the period,
/// split into their months with their owner's working calendar.
async fn split_sums(store: &dyn Store, ask: &AbsenceAsk<'_>) -> Result<AbsenceSums> {
    let AbsenceAsk { base, filter, .. } = *ask;
    let mut sums = AbsenceSums::new();
    let (first_day, last_day) = (filter.first_day(), filter.last_day());
    let splits = store.split_periods(ask).await?;
    let calendars: HashMap<i64, WorkCalendar> = if splits.is_empty() {
        HashMap::new()
    } else {
        store
            .list_establishments(base)
            .await?
            .into_iter()
            .map(|e| (e.id.0, e.calendar))
            .collect()
    };
    for p in splits {
        let calendar = calendars.get(&p.establishment).copied().unwrap_or_default();
        let Ok(span) = LeaveSpan::new(
            HalfDaySlot::from_ordinal(p.start_slot),
            HalfDaySlot::from_ordinal(p.end_slot),
        ) else {
            continue;
        };
        let mut per_month: BTreeMap<Month, i64> = BTreeMap::new();
        for slot in span.leaves(&calendar) {
            if slot.date >= first_day && slot.date <= last_day {
                *per_month.entry(Month::of(slot.date)).or_default() += 1;
            }
        }
        for (m, half_days) in per_month {
            let sum = sums.entry((m, p.first, p.second.clone())).or_default();
            sum[0] += half_days;
            sum[1] += 1;
            sum[2] += i64::from(p.changed);
        }
    }
    Ok(sums)
}

/// Approved absences summed per month and group, split over months' ends.
async fn absence_sums(store: &dyn Store, ask: &AbsenceAsk<'_>) -> Result<AbsenceSums> {
    let mut sums = split_sums(store, ask).await?;
    for g in store.absence_groups(ask).await? {
        let sum = sums
            .entry((month(&g.month)?, g.first, g.second))
            .or_default();
        sum[0] += g.half_days;
        sum[1] += g.periods;
        sum[2] += g.changed;
    }
    Ok(sums)
}

/// What the payroll report's pages are read from: the periods over a
/// month's end, split (a few per cent of them), and each month's lines.
struct PayrollPlan {
    shares: BTreeMap<Month, Vec<PayrollShare>>,
    months: Vec<MonthTotal>,
    establishments: HashMap<i64, String>,
}

impl PayrollPlan {
    async fn read(
        store: &dyn Store,
        base: BaseId,
        filter: &ReportFilter,
        since: Option<DateTime<Utc>>,
    ) -> Result<Self> {
        let mut shares: BTreeMap<Month, Vec<PayrollShare>> = BTreeMap::new();
        for ((m, employee, account), [half_days, periods, changed]) in split_sums(
            store,
            &AbsenceAsk {
                base,
                filter,
                by: AbsenceGrouping::EmployeeAccount,
                since,
            },
        )
        .await?
        {
            let Ok(account) = account.parse::<i64>() else {
                continue;
            };
            shares.entry(m).or_default().push(PayrollShare(
                m.to_string(),
                employee,
                account,
                half_days,
                periods,
                changed,
            ));
        }
        let all: Vec<PayrollShare> = shares.values().flatten().cloned().collect();
        Ok(Self {
            months: store.payroll_months(base, filter, &all).await?,
            shares,
            establishments: establishment_names(store, base).await?,
        })
    }

    /// Lines `skip..skip + wanted` of `month`, as the report shows them.
    #[allow(clippy::too_many_arguments)]
    async fn lines(
        &self,
        store: &dyn Store,
        base: BaseId,
        filter: &ReportFilter,
        since: Option<DateTime<Utc>>,
        month: Month,
        skip: u64,
        wanted: u64,
    ) -> Result<Vec<Vec<Cell>>> {
        let shares = self
            .shares
            .get(&month)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let lines = store
            .payroll_lines(base, filter, month, shares, since, skip, wanted)
            .await?;
        Ok(lines
            .into_iter()
            .map(|l| {
                vec![
                    Cell::Month(month),
                    Cell::Text(l.employee_number),
                    Cell::Text(l.employee),
                    Cell::Text(
                        self.establishments
                            .get(&l.establishment)
                            .cloned()
                            .unwrap_or_default(),
                    ),
                    Cell::Text(l.account),
                    Cell::HalfDays(l.half_days),
                    Cell::Count(l.periods),
                    Cell::Count(l.changed),
                ]
            })
            .collect())
    }
}

/// The payroll report: the store sums, sorts and pages the lines month by
/// month, so a page costs one month's sort whatever its depth.
async fn absences_payroll(
    store: &dyn Store,
    base: BaseId,
    filter: &ReportFilter,
    since: Option<DateTime<Utc>>,
    page: Option<(u64, u64)>,
) -> Result<ComputedReport> {
    let spec = relais_core::report::spec(ReportKind::AbsencesPayroll);
    let plan = PayrollPlan::read(store, base, filter, since).await?;
    let total: u64 = plan.months.iter().map(|m| m.rows).sum();
    let (offset, limit) = page.unwrap_or((0, total));
    let mut rows = Vec::new();
    let mut before = 0;
    for m in &plan.months {
        let wanted = limit.saturating_sub(rows.len() as u64);
        if wanted == 0 {
            break;
        }
        let skip = offset.saturating_sub(before);
        before += m.rows;
        if skip >= m.rows {
            continue;
        }
        rows.extend(
            plan.lines(store, base, filter, since, m.month, skip, wanted)
                .await?,
        );
    }
    Ok(ComputedReport {
        table: ReportTable { spec, rows },
        total,
        per_month: plan
            .months
            .iter()
            .map(|m| (m.month, Cell::HalfDays(m.amount).number().unwrap_or(0.0)))
            .collect(),
    })
}

/// Rows a part of a report read whole holds at most (besides the payroll
/// report, whose parts are its months).
pub const PART_ROWS: u64 = 10_000;

/// Computes the whole report `kind` part after part, in order, sending each
/// to `parts`: the payroll report a month at a time, the warnings
/// [`PART_ROWS`] at a time, the other reports (groups) whole. So a download
/// of the largest report holds one part in memory, not the report. Stops
/// early, without error, when the receiver is gone.
pub async fn compute_parts(
    store: &dyn Store,
    base: BaseId,
    kind: ReportKind,
    filter: &ReportFilter,
    since: Option<DateTime<Utc>>,
    parts: &tokio::sync::mpsc::Sender<Vec<Vec<Cell>>>,
) -> Result<()> {
    match kind {
        ReportKind::AbsencesPayroll => {
            let plan = PayrollPlan::read(store, base, filter, since).await?;
            for m in &plan.months {
                let rows = plan
                    .lines(store, base, filter, since, m.month, 0, m.rows)
                    .await?;
                if parts.send(rows).await.is_err() {
                    break;
                }
            }
        }
        ReportKind::ExpenseWarnings => {
            let mut offset = 0;
            loop {
                let part = compute(store, base, kind, filter, since, Some((offset, PART_ROWS)))
                    .await?
                    .table
                    .rows;
                if part.is_empty() {
                    break;
                }
                offset += part.len() as u64;
                if parts.send(part).await.is_err() {
                    break;
                }
            }
        }
        _ => {
            let whole = compute(store, base, kind, filter, since, None).await?;
            let _ = parts.send(whole.table.rows).await;
        }
    }
    Ok(())
}

async fn establishment_names(store: &dyn Store, base: BaseId) -> Result<HashMap<i64, String>> {
    Ok(store
        .list_establishments(base)
        .await?
        .into_iter()
        .map(|e| (e.id.0, e.name.to_string()))
        .collect())
}

async fn absenteeism(
    store: &dyn Store,
    base: BaseId,
    filter: &ReportFilter,
) -> Result<Vec<Vec<Cell>>> {
    let ask = AbsenceAsk {
        base,
        filter,
        by: AbsenceGrouping::EstablishmentCategory,
        since: None,
    };
    let sums = absence_sums(store, &ask).await?;
    let establishments = store.list_establishments(base).await?;
    let calendars: HashMap<i64, WorkCalendar> = establishments
        .iter()
        .map(|e| (e.id.0, e.calendar))
        .collect();
    let names: HashMap<i64, String> = establishments
        .iter()
        .map(|e| (e.id.0, e.name.to_string()))
        .collect();
    // Working days of each establishment's calendar, counted once per day of
    // the period: then each contract group costs two look-ups a month.
    let (first_day, last_day) = (filter.first_day(), filter.last_day());
    let days: Vec<NaiveDate> = first_day
        .iter_days()
        .take_while(|d| *d <= last_day)
        .collect();
    let mut cumulative: HashMap<i64, Vec<u32>> = HashMap::new();
    let index = |d: NaiveDate| (d - first_day).num_days() as usize;
    let mut theoretical: HashMap<(Month, i64), i64> = HashMap::new();
    let months = filter.from.through(filter.to);
    for g in store.contract_groups(base, filter).await? {
        let calendar = calendars.get(&g.establishment).copied().unwrap_or_default();
        let sums = cumulative.entry(g.establishment).or_insert_with(|| {
            let mut acc = 0;
            let mut out = vec![0];
            for d in &days {
                acc += u32::from(calendar.is_working_day(*d));
                out.push(acc);
            }
            out
        });
        for m in &months {
            let start = g.start.max(m.first_day());
            let end = g.end.min(m.last_day());
            if start > end {
                continue;
            }
            let working = i64::from(sums[index(end) + 1] - sums[index(start)]);
            *theoretical.entry((*m, g.establishment)).or_default() += working * g.employees;
        }
    }
    // Telework is work, not absence.
    let telework = relais_core::absence::AbsenceCategory::Telework.as_str();
    let mut rows: Vec<(Month, String, String, Vec<Cell>)> = sums
        .into_iter()
        .filter(|((_, _, category), _)| category != telework)
        .map(|((m, establishment, category), [half_days, ..])| {
            let working = theoretical.get(&(m, establishment)).copied().unwrap_or(0);
            let rate = if working > 0 {
                half_days as f64 / 2.0 / working as f64
            } else {
                0.0
            };
            let name = names.get(&establishment).cloned().unwrap_or_default();
            let category = category_label(&category);
            let cells = vec![
                Cell::Month(m),
                Cell::Text(name.clone()),
                Cell::Text(category.clone()),
                Cell::HalfDays(half_days),
                Cell::Count(working),
                Cell::Percent(rate),
            ];
            (m, name, category, cells)
        })
        .collect();
    rows.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
    Ok(rows.into_iter().map(|(.., cells)| cells).collect())
}

/// An account category code as people read it.
fn category_label(code: &str) -> String {
    code.parse::<relais_core::absence::AbsenceCategory>()
        .map(|c| c.label().to_owned())
        .unwrap_or_else(|_| code.to_owned())
}

async fn headcount(
    store: &dyn Store,
    base: BaseId,
    filter: &ReportFilter,
) -> Result<Vec<Vec<Cell>>> {
    let establishments = establishment_names(store, base).await?;
    let departments: HashMap<i64, String> = store
        .list_departments(base)
        .await?
        .into_iter()
        .map(|d| (d.id.0, d.name.to_string()))
        .collect();
    // Headcount on the month's last day, entries, exits, per month and
    // group: each group of contract bounds counts in the months it touches.
    type Key = (Month, i64, Option<i64>, String);
    let mut sums: HashMap<Key, [i64; 3]> = HashMap::new();
    let months = filter.from.through(filter.to);
    for g in store.contract_groups(base, filter).await? {
        for m in &months {
            let (first, last) = (m.first_day(), m.last_day());
            if g.start > last || g.end < first {
                continue;
            }
            let sum = sums
                .entry((*m, g.establishment, g.department, g.csp.clone()))
                .or_default();
            sum[0] += i64::from(g.end >= last) * g.employees;
            sum[1] += i64::from(g.start >= first) * g.employees;
            sum[2] += i64::from(g.end <= last) * g.employees;
        }
    }
    let mut rows: Vec<(Month, String, String, String, Vec<Cell>)> = sums
        .into_iter()
        .map(
            |((m, establishment, department, csp), [count, entries, exits])| {
                let establishment = establishments
                    .get(&establishment)
                    .cloned()
                    .unwrap_or_default();
                let department = department
                    .and_then(|d| departments.get(&d).cloned())
                    .unwrap_or_else(|| "(sans département)".into());
                let csp = if csp.is_empty() {
                    "(non renseignée)".into()
                } else {
                    csp
                };
                let cells = vec![
                    Cell::Month(m),
                    Cell::Text(establishment.clone()),
                    Cell::Text(department.clone()),
                    Cell::Text(csp.clone()),
                    Cell::Count(count),
                    Cell::Count(entries),
                    Cell::Count(exits),
                ];
                (m, establishment, department, csp, cells)
            },
        )
        .collect();
    rows.sort_by(|a, b| (a.0, &a.1, &a.2, &a.3).cmp(&(b.0, &b.1, &b.2, &b.3)));
    Ok(rows.into_iter().map(|(.., cells)| cells).collect())
}

async fn expenses_by_nature(
    store: &dyn Store,
    base: BaseId,
    filter: &ReportFilter,
) -> Result<Vec<Vec<Cell>>> {
    let natures: HashMap<i64, String> = store
        .list_expense_natures(base)
        .await?
        .into_iter()
        .map(|n| (n.id.0, n.name.to_string()))
        .collect();
    let sections: HashMap<i64, String> = store
        .list_axis_sections(base)
        .await?
        .into_iter()
        .map(|s| (s.id.0, s.name.to_string()))
        .collect();
    // Groups of the same month, nature and currency whose sections read the
    // same are one line.
    let mut sums: BTreeMap<(Month, String, String, String), Sums<4>> = BTreeMap::new();
    for g in store.expense_groups(base, filter).await? {
        let ids: Vec<i64> = serde_json::from_str(&g.sections).unwrap_or_default();
        let analytics = if ids.is_empty() {
            "(aucune)".to_owned()
        } else {
            ids.iter()
                .map(|id| sections.get(id).cloned().unwrap_or_else(|| id.to_string()))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let nature = natures
            .get(&g.key)
            .cloned()
            .unwrap_or_else(|| g.key.to_string());
        let sum = sums
            .entry((month(&g.month)?, nature, analytics, g.currency))
            .or_default();
        for (total, add) in sum.0.iter_mut().zip(g.amounts) {
            *total += add;
        }
        sum.1 += g.items;
    }
    Ok(sums
        .into_iter()
        .map(|((m, nature, analytics, currency), (amounts, items))| {
            vec![
                Cell::Month(m),
                Cell::Text(nature),
                Cell::Text(analytics),
                Cell::Text(currency),
                Cell::Money(amounts[0]),
                Cell::Money(amounts[1]),
                Cell::Money(amounts[2]),
                Cell::Money(amounts[3]),
                Cell::Count(items),
            ]
        })
        .collect())
}

async fn recoverable_vat(
    store: &dyn Store,
    base: BaseId,
    filter: &ReportFilter,
) -> Result<Vec<Vec<Cell>>> {
    let mut sums: BTreeMap<(Month, std::cmp::Reverse<i64>, String), Sums<3>> = BTreeMap::new();
    for g in store.vat_groups(base, filter).await? {
        let rate = snap_vat_rate(g.key);
        let sum = sums
            .entry((month(&g.month)?, std::cmp::Reverse(rate), g.currency))
            .or_default();
        let [gross, net, vat, _] = g.amounts;
        sum.0[0] += net;
        sum.0[1] += vat;
        sum.0[2] += gross;
        sum.1 += g.items;
    }
    Ok(sums
        .into_iter()
        .map(
            |((m, std::cmp::Reverse(rate), currency), ([net, vat, gross], items))| {
                vec![
                    Cell::Month(m),
                    Cell::Percent(rate as f64 / 1000.0),
                    Cell::Text(currency),
                    Cell::Money(net),
                    Cell::Money(vat),
                    Cell::Money(gross),
                    Cell::Count(items),
                ]
            },
        )
        .collect())
}
