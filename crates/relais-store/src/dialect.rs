//! Where the two backends differ, listed once.
//!
//! The SQL in `sql.rs` and the areas' files is written once for both
//! databases; what cannot be — how a write transaction starts, how a JSON
//! array is read as a table, whether pages are packed — is an item of
//! [`Dialect`], said here, and each backend (`sqlite.rs`, `postgres.rs`)
//! gives its value and why.

/// The choices and the pieces of SQL in which a backend differs from the
/// other. A pair `(open, close)` wraps an expression: `open`, the bound
/// parameter or column, `close`.
pub(crate) trait Dialect {
    /// The backend's name, as the server's health and logs give it.
    const BACKEND: &'static str;

    /// The database's name as people know it, for the pages.
    const PRODUCT: &'static str;

    /// The statement that starts a write transaction.
    const BEGIN: &'static str;

    /// Pages of more rows than this are read in parts, side by side.
    const PARTS_FROM: u32;

    /// Whether a page of a list is read as one JSON array built by the
    /// database, rather than row by row.
    const PACKED_PAGES: bool;

    /// How many rows the planner believes a table holds, and the statement
    /// that tells it (see `settle_statistics`); `None` when the planner
    /// needs no telling.
    const PLANNER_SIZE: Option<(&'static str, &'static str)>;

    /// Serialises the transactions that make one check (`$1` its name,
    /// `$2` the base, the key, or 0), so that two changes made at once
    /// cannot each pass it and together break its rule: two changes of
    /// manager closing a circle, two accounts disabled leaving nobody to
    /// manage accounts, two endpoints of one key passing the most it may
    /// have. `None` when transactions never run side by side.
    const ADVISORY_LOCK: Option<&'static str>;

    /// Whether a short write transaction (an employee's update) runs on the
    /// thread that asks for it, rather than on the write lane (see
    /// [`crate::lane::WriteLane::run_short`]): where the driver can run its
    /// statements there without waiting.
    const WRITES_WHERE_CALLED: bool;

    /// How a bulk write starts and ends inside its transaction: what makes
    /// its rows skip the per-row raise of the base's version.
    const BULK_WRITE: (&'static str, &'static str);

    /// Who writes and when, handed to the database at the start of a write
    /// transaction for the events it writes (`$1` the writer, `$2` the
    /// instant).
    const WRITE_CONTEXT: &'static str;

    /// A base's latest event's number (`$1` the base), every event up to it
    /// committed.
    const LAST_EVENT: &'static str;

    /// What a reader runs before it reads a base's events (`$1` the base),
    /// if anything.
    const NUMBER_EVENTS: Option<&'static str>;

    /// What identifies a row of `base_versions`.
    const VERSIONS_KEY: &'static str;

    /// What names a row of any table, for deleting old rows a chunk at a
    /// time.
    const ROW_KEY: &'static str;

    /// What is set before a bulk insert and set back after it, if anything.
    const BULK_JOURNAL: Option<(&'static str, &'static str)>;

    /// How a bulk write writes the events of the rows it creates in a table
    /// that has them (`{table}` in both): `(end, write)`, `end` reading
    /// where the table's rows end before the insert, `write` writing the
    /// events of the rows after that point (`$1`) in the order they were
    /// inserted. `None` when the database's triggers already write a
    /// statement's events together.
    const BULK_CREATED_EVENTS: Option<(&'static str, &'static str)>;

    /// A set of keys bound as one JSON array: one statement shape whatever
    /// the number of keys, so prepared statements do not pile up.
    const KEY_SET: (&'static str, &'static str);

    /// A member of a JSON column kept as text (an event's record): `open`,
    /// the column, `member`, the member's name, `close`.
    const JSON_MEMBER: (&'static str, &'static str, &'static str);

    /// Employees joined to the records they own, as reports read them.
    const OWNERS: &'static str;

    /// The audit trail's `path` without its query string.
    const PATH_ONLY: &'static str;

    /// How a date column reads as its month, `YYYY-MM`.
    const MONTH_OF: (&'static str, &'static str);

    /// Payroll shares (`[month, employee, account, half days, periods,
    /// changed]` each) bound as one JSON array, read as a table.
    const SHARES: (&'static str, &'static str);

    /// A set of identifiers bound as one JSON array of numbers.
    const ID_SET: (&'static str, &'static str);

    /// API requests (`[base, key, method, path, status, employee records,
    /// records, at]` each) bound as one JSON array, read as the rows of
    /// `api_requests`.
    const REQUESTS: (&'static str, &'static str);
}
