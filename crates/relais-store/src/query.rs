//! Filtered, sorted, paged reads: the storage side of the API's query
//! parameters. Columns are SQL expressions chosen by the caller from fixed
//! lists (never from request text); values are always bound.

use chrono::{DateTime, NaiveDate, Utc};

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
    /// Contains the text, ignoring case.
    Like(String),
}

/// A condition on one column.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The SQL column or expression, from a fixed list.
    pub column: &'static str,
    /// The comparison.
    pub cond: Cond,
}

impl Condition {
    /// Builds a condition.
    pub fn new(column: &'static str, cond: Cond) -> Self {
        Self { column, cond }
    }
}

/// What to read: conditions (all must hold), order, page, and whether to count.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Conditions, joined with AND.
    pub conditions: Vec<Condition>,
    /// Sort keys; the identifier always breaks ties.
    pub order: Vec<(&'static str, Direction)>,
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

impl Default for ListQuery {
    fn default() -> Self {
        Self {
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
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::like_pattern("Mar_tin%"), "%mar\\_tin\\%%");
    }
}
