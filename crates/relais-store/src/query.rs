//! Filtered, sorted, paged reads: the storage side of the API's query
//! parameters. Columns are SQL expressions chosen by the caller from fixed
//! lists (never from request text); values are always bound.

use chrono::{DateTime, NaiveDate, Utc};
use relais_core::fields::Field;
use relais_core::ids::EstablishmentId;

/// A value to compare a column with.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
    /// A date.
    Date(NaiveDate),
    /// A point in time.
    Time(DateTime<Utc>),
    /// A boolean.
    Bool(bool),
}

/// A comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// `= v`
    Eq(SqlValue),
    /// `<> v`
    NotEq(SqlValue),
    /// `IN (v, …)`
    In(Vec<SqlValue>),
    /// `IS NULL`
    IsNull,
    /// `IS NOT NULL`
    IsNotNull,
    /// `> v`
    Gt(SqlValue),
    /// `>= v`
    Gte(SqlValue),
    /// `< v`
    Lt(SqlValue),
    /// `<= v`
    Lte(SqlValue),
    /// `IS NULL OR >= v` (an open-ended contract still runs on `v`).
    NullOrGte(SqlValue),
    /// `IS NULL OR <= v`.
    NullOrLte(SqlValue),
    /// `IS NULL OR IN (v, …)` (a record that belongs to no establishment).
    NullOrIn(Vec<SqlValue>),
    /// Contains the text, ignoring case.
    Like(String),
    /// `= v`, or the identifier of `v`'s manager: an employee and the one
    /// it reports to, read together (on the employees' `id` only, see
    /// [`Condition::employee_and_manager`]).
    IsOrManagerOf(i64),
}

/// What a condition compares: a field of the catalogue, or a column the
/// store itself chooses.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// A field, kept where [`crate::fields::column`] says.
    Field(&'static Field),
    /// A column or expression of the store's own.
    Column(&'static str),
}

/// A condition on one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What is compared.
    target: Target,
    /// The comparison.
    pub cond: Cond,
}

impl Condition {
    /// Records whose identifier `field` is `id`.
    pub fn is(field: &'static Field, id: i64) -> Self {
        Self::new(field, Cond::Eq(SqlValue::Int(id)))
    }

    /// A condition on a field of the catalogue.
    pub fn new(field: &'static Field, cond: Cond) -> Self {
        Self {
            target: Target::Field(field),
            cond,
        }
    }

    /// A condition on a column of the store's own choosing.
    pub(crate) fn column(column: &'static str, cond: Cond) -> Self {
        Self {
            target: Target::Column(column),
            cond,
        }
    }

    /// Employees whose names, number or work e-mail hold `word`, whatever
    /// its case (the admin pages' search).
    pub fn employee_search(word: &str) -> Self {
        Self::column(
            crate::fields::EMPLOYEE_SEARCH,
            Cond::Like(word.to_lowercase()),
        )
    }

    /// The employee `id` and, when it has one, its manager: both rows in
    /// one read, each within the reader's scope as any other row would be.
    pub fn employee_and_manager(id: i64) -> Self {
        Self::column("id", Cond::IsOrManagerOf(id))
    }

    /// Records after the identifier `id`, whatever their table (a walk's
    /// cursor).
    pub fn after_id(id: i64) -> Self {
        Self::column("id", Cond::Gt(SqlValue::Int(id)))
    }

    /// Leave periods that share a half-day with `span`.
    pub fn leave_overlapping(span: &relais_core::absence::LeaveSpan) -> [Self; 2] {
        [
            Self::column("start_slot", Cond::Lte(SqlValue::Int(span.end.ordinal()))),
            Self::column("end_slot", Cond::Gte(SqlValue::Int(span.start.ordinal()))),
        ]
    }

    /// The sections of the analytics axis `axis`.
    pub fn in_axis(axis: relais_core::ids::AxisId) -> Self {
        Self::column("axis_id", Cond::Eq(SqlValue::Int(axis.0)))
    }

    /// The field compared, when it is one of the catalogue's.
    pub fn field(&self) -> Option<&'static Field> {
        match self.target {
            Target::Field(f) => Some(f),
            Target::Column(_) => None,
        }
    }

    /// The SQL column or expression compared (`NULL`, matching nothing,
    /// for a field kept nowhere: [`ListQuery::check`] refuses it first).
    pub(crate) fn sql(&self) -> &'static str {
        match self.target {
            Target::Field(f) => crate::fields::column(f).unwrap_or("NULL"),
            Target::Column(c) => c,
        }
    }
}

/// What a reader may see of a base. The store adds it to every list it
/// reads, in the terms of each table — an employee's establishment, a
/// leave's, an expense's or a change's owner's — so that no reader writes
/// its own filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Only the records of these establishments (an establishment itself,
    /// an employee in it, what such an employee owns); `None`: all.
    pub establishments: Option<Vec<EstablishmentId>>,
    /// The day employees' contracts are judged on.
    pub today: NaiveDate,
    /// Whether lists of employees show those whose contract starts later.
    pub future: bool,
    /// Whether lists of employees show those whose contract has ended.
    pub former: bool,
}

impl Default for Scope {
    /// Everything: every establishment, every contract.
    fn default() -> Self {
        Self {
            establishments: None,
            today: NaiveDate::MIN,
            future: true,
            former: true,
        }
    }
}

/// The establishment of a record of `table`: its own column, or a subquery
/// reading its owner's (the one place these are written).
fn establishment_of(table: &str) -> Option<&'static str> {
    Some(match table {
        "employees" => "establishment_id",
        "establishments" => "id",
        "leave_periods" => "(SELECT e.establishment_id FROM employees e WHERE e.base_id = leave_periods.base_id AND e.id = leave_periods.employee_id)",
        "expense_claims" => "(SELECT e.establishment_id FROM employees e WHERE e.base_id = expense_claims.base_id AND e.id = expense_claims.owner_id)",
        "expense_items" => "(SELECT e.establishment_id FROM employees e WHERE e.base_id = expense_items.base_id AND e.id = expense_items.owner_id)",
        "employee_logs" => "(SELECT e.establishment_id FROM employees e WHERE e.base_id = employee_logs.base_id AND e.id = employee_logs.employee_id)",
        // Kept with the event when it was written; none for an event about
        // a department or a legal entity.
        "events" => "establishment_id",
        _ => return None,
    })
}

/// The contract start and end of the employee a record of `table` is
/// about, for the tables whose lists follow the reader's contract window:
/// employees, and their change log.
fn contract_of(table: &str) -> Option<(&'static str, &'static str)> {
    Some(match table {
        "employees" => ("contract_start", "contract_end"),
        "employee_logs" => (
            "(SELECT e.contract_start FROM employees e WHERE e.base_id = employee_logs.base_id AND e.id = employee_logs.employee_id)",
            "(SELECT e.contract_end FROM employees e WHERE e.base_id = employee_logs.base_id AND e.id = employee_logs.employee_id)",
        ),
        // The contract of the employee the event is about, when it was written.
        "events" => ("contract_start", "contract_end"),
        _ => return None,
    })
}

impl Scope {
    /// Whether the scope hides nothing.
    pub fn is_everything(&self) -> bool {
        self.establishments.is_none() && self.future && self.former
    }

    /// The conditions that keep a list of `table` within the scope.
    pub fn conditions(&self, table: &str) -> Vec<Condition> {
        let mut out = Vec::new();
        // An event may be about no employee and no establishment: then
        // neither bound applies.
        let of_anything = table == "events";
        if let (Some(ids), Some(column)) = (&self.establishments, establishment_of(table)) {
            let ids = ids.iter().map(|i| SqlValue::Int(i.0)).collect();
            out.push(Condition::column(
                column,
                if of_anything {
                    Cond::NullOrIn(ids)
                } else {
                    Cond::In(ids)
                },
            ));
        }
        if let Some((start, end)) = contract_of(table) {
            if !self.future {
                let today = SqlValue::Date(self.today);
                out.push(Condition::column(
                    start,
                    if of_anything {
                        Cond::NullOrLte(today)
                    } else {
                        Cond::Lte(today)
                    },
                ));
            }
            if !self.former {
                out.push(Condition::column(
                    end,
                    Cond::NullOrGte(SqlValue::Date(self.today)),
                ));
            }
        }
        out
    }
}

/// What to read: conditions (all must hold), order, page, and whether to count.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// What the reader may see (added by the store, whatever the table).
    pub scope: Scope,
    /// Conditions, joined with AND.
    pub conditions: Vec<Condition>,
    /// Sort keys; the identifier always breaks ties.
    pub order: Vec<(&'static Field, Direction)>,
    /// Records skipped.
    pub offset: u64,
    /// Records returned at most.
    pub limit: u32,
    /// Whether to count all matching records.
    pub count: bool,
    /// Columns the answer does not need, read as their empty value (see
    /// [`LIGHT_COLUMNS`]): a list of employees that shows neither personal
    /// details nor custom fields need not read them.
    pub without: Vec<&'static str>,
}

/// Columns a list may leave unread, with the empty value they then read as.
pub const LIGHT_COLUMNS: &[(&str, &str)] = &[
    ("extended_data", "'{}'"),
    ("personal", "'{}'"),
    ("csp", "NULL"),
    ("profession", "NULL"),
];

/// `columns` as a select list, those in `without` (when they may be left
/// unread) replaced by their empty value.
pub fn projected(columns: &[&str], without: &[&'static str]) -> String {
    columns
        .iter()
        .map(|c| {
            match LIGHT_COLUMNS
                .iter()
                .find(|(name, _)| name == c && without.contains(name))
            {
                Some((name, empty)) => format!("{empty} AS {name}"),
                None => (*c).to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl ListQuery {
    /// The record whose identifier `field` is `id`, if `scope` shows it.
    pub fn one(scope: Scope, field: &'static Field, id: i64) -> Self {
        Self {
            scope,
            conditions: vec![Condition::is(field, id)],
            limit: 1,
            ..Self::default()
        }
    }

    /// How many records whose identifier `field` is `id` `scope` shows
    /// (the answer's count), with the first of them.
    pub fn count_of(scope: Scope, field: &'static Field, id: i64) -> Self {
        Self {
            count: true,
            ..Self::one(scope, field, id)
        }
    }

    /// Refuses, naming it, a condition or a sort key on a field the store
    /// keeps nowhere (a linked record, a computed field) or that belongs to
    /// another table than `table`, the one the list reads.
    pub fn check(&self, table: &str) -> crate::Result<()> {
        let fields = self
            .conditions
            .iter()
            .filter_map(Condition::field)
            .chain(self.order.iter().map(|(f, _)| *f));
        for f in fields {
            let refusal = if crate::fields::column(f).is_none() {
                "this field is not kept in a column: it can neither filter nor sort"
            } else if crate::fields::table(f.resource) != table {
                "this field belongs to another list: it can neither filter nor sort this one"
            } else {
                continue;
            };
            return Err(crate::StoreError::Domain(relais_core::DomainError::new(
                f.name, refusal,
            )));
        }
        Ok(())
    }

    /// The query as read from `table`: the scope's conditions, then its own.
    pub fn scoped(&self, table: &str) -> std::borrow::Cow<'_, ListQuery> {
        if self.scope.is_everything() {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut conditions = self.scope.conditions(table);
        conditions.extend(self.conditions.iter().cloned());
        std::borrow::Cow::Owned(ListQuery {
            conditions,
            ..self.clone()
        })
    }
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            scope: Scope::default(),
            conditions: Vec::new(),
            order: Vec::new(),
            offset: 0,
            limit: 1000,
            count: false,
            without: Vec::new(),
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// One page of records, and the number of all matching records when asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records of the page.
    pub items: Vec<T>,
    /// All matching records, when counting was asked.
    pub count: Option<i64>,
}

/// A page of records on its way, as a store's object-safe query methods
/// return it.
pub type PageFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<Page<T>>> + Send + 'a>>;

impl<T> Page<T> {
    /// The page's first record.
    pub fn first(self) -> Option<T> {
        self.items.into_iter().next()
    }
}

/// What a caller makes of a batch of a page's records (their JSON, say):
/// run on the runtime's threads, beside the reading of the next batch.
pub type Encoder<T> = std::sync::Arc<dyn Fn(&[T]) -> Vec<u8> + Send + Sync>;

/// A batch of a page's records as an [`Encoder`] made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// What the encoder made of the batch.
    pub bytes: Vec<u8>,
    /// How many records the batch holds.
    pub records: usize,
    /// The identifier of the batch's last record.
    pub last_id: Option<i64>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern and wraps the text in `%`.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::fields;

    #[test]
    fn a_scope_reads_in_each_tables_terms() {
        let everything = Scope::default();
        assert!(everything.is_everything());
        let q = ListQuery::default();
        assert!(matches!(
            q.scoped("employees"),
            std::borrow::Cow::Borrowed(_)
        ));
        let today = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        let scope = Scope {
            establishments: Some(vec![EstablishmentId(3)]),
            today,
            future: false,
            former: false,
        };
        let columns = |table: &str| -> Vec<&'static str> {
            scope.conditions(table).iter().map(|c| c.sql()).collect()
        };
        assert_eq!(
            columns("employees"),
            ["establishment_id", "contract_start", "contract_end"]
        );
        assert_eq!(columns("establishments"), ["id"]);
        for owned in ["leave_periods", "expense_claims", "expense_items"] {
            let c = columns(owned);
            assert_eq!(c.len(), 1, "{owned}: its owner's establishment only");
            assert!(c[0].contains("e.establishment_id") && c[0].contains(owned));
        }
        assert_eq!(
            columns("employee_logs").len(),
            3,
            "owner's establishment and contract"
        );
        assert!(columns("absence_accounts").is_empty());
        assert_eq!(
            scope.conditions("employees")[0].cond,
            Cond::In(vec![SqlValue::Int(3)])
        );
        let q = ListQuery {
            scope: scope.clone(),
            conditions: vec![Condition::new(
                &fields::users::ID,
                Cond::Eq(SqlValue::Int(7)),
            )],
            ..ListQuery::default()
        };
        let scoped = q.scoped("employees");
        assert_eq!(
            scoped.conditions.len(),
            4,
            "the scope's, then the query's own"
        );
        assert_eq!(scoped.conditions[3].field(), Some(&fields::users::ID));
        assert!(q.check("employees").is_ok());
        let other_list = q.check("leave_periods").unwrap_err().to_string();
        assert!(other_list.contains("another list"), "{other_list}");
        let unkept = ListQuery {
            order: vec![(&fields::users::DEPARTMENT, Direction::Asc)],
            ..ListQuery::default()
        };
        let unkept = unkept.check("employees").unwrap_err().to_string();
        assert!(unkept.contains("not kept in a column"), "{unkept}");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_pattern("Mar_tin%"), "%mar\\_tin\\%%");
    }
}
