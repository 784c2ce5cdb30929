//! The SQL of the HR base, written once for both backends.
//!
//! Both databases accept the same statements with `$n` placeholders, so
//! [`sql_store!`] expands one implementation of [`crate::Store`] per backend;
//! each backend module only connects and migrates.

/// `SELECT cols FROM table WHERE tail`.
pub(crate) fn select_sql(table: &str, cols: &[&str], tail: &str) -> String {
    format!("SELECT {} FROM {table} WHERE {tail}", cols.join(", "))
}

/// The fields of the row type `R`, in the order serde reads them from an
/// array — its declaration order, which is the order its columns are packed
/// in (so a packed row cannot be read into the wrong fields).
pub(crate) fn row_fields<R: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor};
    type Error = serde::de::value::Error;
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Fields<'_> {
        type Error = Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            *self.0 = fields;
            Err(Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = R::deserialize(Fields(&mut fields));
    fields
}

/// `json_array(f1, f2, …)` over the fields of `R`: a row packed as an array
/// in the order `R` reads it.
pub(crate) fn row_array<R: serde::de::DeserializeOwned>() -> String {
    format!("json_array({})", row_fields::<R>().join(", "))
}

/// The rows of `table` matching `filter`, packed into one value: a JSON
/// array of the rows in identifier order (said to the aggregate itself, as
/// a subquery's order is not promised to reach it).
pub(crate) fn packed_sql<R: serde::de::DeserializeOwned>(
    table: &str,
    cols: &[&str],
    filter: &str,
) -> String {
    format!(
        "SELECT json_group_array({} ORDER BY id) FROM ({})",
        row_array::<R>(),
        select_sql(table, cols, filter)
    )
}

/// A list's order, written three ways for a packed page.
pub(crate) struct OrderBy {
    /// The order of the rows in the table: `last_name ASC, id ASC`.
    pub inner: String,
    /// The sort keys selected beside the row: `last_name AS sort_0, id AS sort_1`.
    pub keys: String,
    /// The same order on those keys: `sort_0 ASC, sort_1 ASC`.
    pub outer: String,
}

/// `order`, then the identifier, which breaks ties.
pub(crate) fn order_by(order: &[(&'static str, crate::Direction)]) -> OrderBy {
    let all: Vec<(&str, &str)> = order
        .iter()
        .map(|(c, d)| {
            let dir = if *d == crate::Direction::Desc {
                "DESC"
            } else {
                "ASC"
            };
            (*c, dir)
        })
        .chain(std::iter::once(("id", "ASC")))
        .collect();
    let join = |f: &dyn Fn(usize, &(&str, &str)) -> String| {
        all.iter()
            .enumerate()
            .map(|(i, k)| f(i, k))
            .collect::<Vec<_>>()
            .join(", ")
    };
    OrderBy {
        inner: join(&|_, (c, d)| format!("{c} {d}")),
        keys: join(&|i, (c, _)| format!("{c} AS sort_{i}")),
        outer: join(&|i, (_, d)| format!("sort_{i} {d}")),
    }
}

/// The rows of a packed read.
pub(crate) fn unpack<R: serde::de::DeserializeOwned>(
    table: &'static str,
    packed: &str,
) -> crate::Result<Vec<R>> {
    serde_json::from_str(packed).map_err(|e| crate::StoreError::Corrupt {
        entity: table,
        message: e.to_string(),
    })
}

/// Inserts `rows` in multi-row statements of at most ~30,000 parameters.
macro_rules! bulk_insert {
    ($db:ty, $exec:expr, $table:literal, $cols:expr, $rows:expr, |$b:ident, $r:ident| $body:block) => {{
        let cols: &[&str] = $cols;
        let chunk = (4_000 / cols.len()).max(1);
        let several = $rows.len() > chunk;
        for (i, part) in $rows.chunks(chunk).enumerate() {
            let mut qb = sqlx::QueryBuilder::<$db>::new(concat!("INSERT INTO ", $table, " ("));
            qb.push(cols.join(", "));
            qb.push(") ");
            qb.push_values(part, |mut $b, $r| $body);
            qb.build().execute(&mut *$exec).await?;
            if several && i == 0 {
                Self::settle_statistics(&mut *$exec, $table).await?;
            }
        }
    }};
}

/// Inserts `rows` in one transaction of the store (see [`bulk_insert!`]).
///
/// The rows skip the per-row raise of their base's data version: the
/// transaction raises every base's version once instead (see the
/// `base_versions` migration).
macro_rules! insert_rows {
    ($db:ty, $store:expr, $table:literal, $cols:expr, $rows:expr, |$b:ident, $r:ident| $body:block) => {{
        bulk_transaction!($store, tx, {
            bulk_insert!($db, tx, $table, $cols, $rows, |$b, $r| $body);
        })
    }};
}

/// Runs `$body` in a bulk write's transaction (see `bulk_start`), on a
/// connection whose statement journals stay in memory for it (see
/// `BULK_JOURNAL`), and commits.
macro_rules! bulk_transaction {
    ($store:expr, $tx:ident, $body:block) => {{
        let mut conn = $store.pool.acquire().await?;
        if let Some((during, _)) = Self::BULK_JOURNAL {
            sqlx::query(during).execute(&mut *conn).await?;
        }
        let written = async {
            let mut $tx = sqlx::Connection::begin_with(&mut *conn, Self::BEGIN).await?;
            Self::bulk_start(&mut $tx).await?;
            $body
            Self::bulk_end(&mut $tx).await?;
            $tx.commit().await?;
            Ok::<(), $crate::StoreError>(())
        }
        .await;
        if let Some((_, after)) = Self::BULK_JOURNAL {
            sqlx::query(after).execute(&mut *conn).await?;
        }
        written
    }};
}

/// Appends report lines to a run, numbered after those it has, inside `$tx`.
macro_rules! append_lines {
    ($db:ty, $tx:ident, $run:expr, $lines:expr) => {{
        let first: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM sync_run_lines WHERE run_id = $1")
                .bind($run)
                .fetch_one(&mut *$tx)
                .await?;
        let first = first.map_or(0, |m| m + 1);
        let numbered: Vec<(i64, &relais_core::integration::ReportLine)> = $lines
            .iter()
            .enumerate()
            .map(|(i, l)| (first + i as i64, l))
            .collect();
        bulk_insert!(
            $db,
            $tx,
            "sync_run_lines",
            &[
                "run_id",
                "seq",
                "stream",
                "record_key",
                "label",
                "outcome",
                "reason",
                "fields",
                "employee_id"
            ],
            numbered,
            |b, l| {
                b.push_bind($run)
                    .push_bind(l.0)
                    .push_bind(l.1.stream.as_str())
                    .push_bind(l.1.key.as_str())
                    .push_bind(l.1.label.as_str())
                    .push_bind(l.1.outcome.code())
                    .push_bind(l.1.outcome.reason())
                    .push_bind(serde_json::to_string(&l.1.fields).expect("field changes serialise"))
                    .push_bind(l.1.employee);
            }
        );
    }};
}

/// Selects the rows of a table as domain records.
macro_rules! select_rows {
    ($exec:expr, $row:ty, $table:literal, $cols:expr, $tail:expr $(, $bind:expr)*) => {{
        let sql = $crate::sql::select_sql($table, $cols, $tail);
        let rows: Vec<$row> = sqlx::query_as(&sql)$(.bind($bind))*.fetch_all($exec).await?;
        rows.into_iter().map(TryInto::try_into).collect::<$crate::Result<Vec<_>>>()
    }};
}

/// The rows matching `$filter` in identifier order, read as one packed
/// value where the backend hands rows over one at a time (see
/// `PACKED_PAGES`): for lists read on every request.
macro_rules! select_packed {
    ($exec:expr, $row:ty, $table:literal, $cols:expr, $filter:literal $(, $bind:expr)*) => {{
        if Self::PACKED_PAGES {
            let sql = $crate::sql::packed_sql::<$row>($table, $cols, $filter);
            let packed: String = sqlx::query_scalar(&sql)$(.bind($bind))*.fetch_one($exec).await?;
            $crate::sql::unpack::<$row>($table, &packed)?
                .into_iter()
                .map(TryInto::try_into)
                .collect::<$crate::Result<Vec<_>>>()
        } else {
            select_rows!($exec, $row, $table, $cols, concat!($filter, " ORDER BY id") $(, $bind)*)
        }
    }};
}

/// Binds one [`crate::SqlValue`].
macro_rules! push_value {
    ($qb:expr, $v:expr) => {
        match $v {
            $crate::SqlValue::Int(i) => {
                $qb.push_bind(*i);
            }
            $crate::SqlValue::Text(t) => {
                $qb.push_bind(t.clone());
            }
            $crate::SqlValue::Date(d) => {
                $qb.push_bind(*d);
            }
            $crate::SqlValue::Time(t) => {
                $qb.push_bind(*t);
            }
            $crate::SqlValue::Bool(b) => {
                $qb.push_bind(*b);
            }
        }
    };
}

/// Appends ` AND <condition>` for each condition.
macro_rules! push_conditions {
    ($qb:expr, $conds:expr) => {
        for c in $conds {
            use $crate::Cond;
            $qb.push(" AND (");
            let op = |o: &'static str| o;
            match &c.cond {
                Cond::Eq(v)
                | Cond::NotEq(v)
                | Cond::Gt(v)
                | Cond::Gte(v)
                | Cond::Lt(v)
                | Cond::Lte(v) => {
                    $qb.push(c.column);
                    $qb.push(op(match &c.cond {
                        Cond::Eq(_) => " = ",
                        Cond::NotEq(_) => " <> ",
                        Cond::Gt(_) => " > ",
                        Cond::Gte(_) => " >= ",
                        Cond::Lt(_) => " < ",
                        _ => " <= ",
                    }));
                    push_value!($qb, v);
                }
                Cond::In(values) => {
                    $qb.push(c.column);
                    $qb.push(" IN (");
                    for (i, v) in values.iter().enumerate() {
                        if i > 0 {
                            $qb.push(", ");
                        }
                        push_value!($qb, v);
                    }
                    if values.is_empty() {
                        $qb.push("NULL");
                    }
                    $qb.push(")");
                }
                Cond::IsNull => {
                    $qb.push(c.column);
                    $qb.push(" IS NULL");
                }
                Cond::IsNotNull => {
                    $qb.push(c.column);
                    $qb.push(" IS NOT NULL");
                }
                Cond::NullOrGte(v) => {
                    $qb.push(c.column);
                    $qb.push(" IS NULL OR ");
                    $qb.push(c.column);
                    $qb.push(" >= ");
                    push_value!($qb, v);
                }
                Cond::Like(text) => {
                    $qb.push("lower(");
                    $qb.push(c.column);
                    $qb.push(") LIKE ");
                    $qb.push_bind($crate::query::like_pattern(text));
                    $qb.push(" ESCAPE '\\'");
                }
            }
            $qb.push(")");
        }
    };
}

/// Rows per part of a large page: eight parts of a page of 1,000 (one per
/// connection of the SQLite pool) start its conversion sooner than four did.
pub(crate) const PART_ROWS: usize = 125;

/// How long a pooled connection may stay idle and still be used without
/// first checking that it is alive.
const TRUSTED_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Pool options under which a connection is checked (pinged) before use
/// only when it has been idle for more than [`TRUSTED_IDLE`]: one used a
/// moment ago is alive, and checking every time cost each query a second
/// round trip to PostgreSQL, or a second switch to SQLite's thread. A
/// connection that fails its check is closed and another one is used.
pub(crate) fn checked_when_idle<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    use sqlx::Connection;
    options
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > TRUSTED_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Rows per batch of a page read as a stream (PostgreSQL): a page of 1,000
/// is decoded and made in four tasks while its rows arrive.
pub(crate) const STREAM_BATCH: usize = 250;

/// Stored rows as the domain's records; a row that does not read is corrupt.
pub(crate) fn convert<R: TryInto<T, Error = crate::StoreError>, T>(
    rows: Vec<R>,
) -> crate::Result<Vec<T>> {
    // Filled in place: collecting through `Result` would grow the vector
    // (and copy its records) step by step.
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        records.push(row.try_into()?);
    }
    Ok(records)
}

/// Stored rows as an [`Encoder`](crate::Encoder) makes their records.
pub(crate) fn encoded<R, T>(
    rows: Vec<R>,
    encode: &crate::Encoder<T>,
) -> crate::Result<crate::Encoded>
where
    R: TryInto<T, Error = crate::StoreError> + crate::rows::Keyed,
{
    let last_id = rows.last().map(crate::rows::Keyed::key);
    let records = convert(rows)?;
    Ok(crate::Encoded {
        bytes: encode(&records),
        records: records.len(),
        last_id,
    })
}

/// `rows`, read in any order, in the order of `ids` (those not found — gone
/// since the identifiers were chosen — left out).
pub(crate) fn in_order_of<R: crate::rows::Keyed>(ids: &[i64], rows: Vec<R>) -> Vec<R> {
    if rows.iter().map(|r| r.key()).eq(ids.iter().copied()) {
        return rows;
    }
    let position: std::collections::HashMap<i64, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(ids.len()).collect();
    for row in rows {
        if let Some(&i) = position.get(&row.key()) {
            slots[i] = Some(row);
        }
    }
    slots.into_iter().flatten().collect()
}

/// Runs a [`crate::ListQuery`] on a table: its page and, when asked, its
/// count, the two queries running side by side on two connections.
///
/// A page of more than the backend's `PARTS_FROM` rows is read in two
/// steps: its identifiers, in order (one small query that applies the
/// filters, order and paging), then its rows in parts of
/// [`PART_ROWS`](crate::sql::PART_ROWS) — each the range between its first
/// and last identifiers when the page is in identifier order, the list of
/// its identifiers otherwise — side by side on several connections, each
/// part converted as soon as it arrives: the database reads the next part
/// while the previous one is converted. A backend that reads a page whole
/// (PostgreSQL) streams its rows and decodes and converts each batch of
/// [`STREAM_BATCH`](crate::sql::STREAM_BATCH) in a task of its own while the
/// next batch arrives. The `@encode` form also has each part or batch
/// written by an [`Encoder`](crate::Encoder) in its task.
macro_rules! query_page {
    // The page's records.
    ($db:ty, $pool:expr, $row:ty, $table:literal, $cols:expr, $base:expr, $q:expr) => {{
        let page = query_page!(@pieces $db, $pool, $row, $table, $cols, $base, $q,
            |rows: Vec<$row>| $crate::sql::convert(rows));
        page.map(|page| $crate::Page {
            items: page.items.into_iter().flatten().collect(),
            count: page.count,
        })
    }};
    // The page's records as an [`Encoder`](crate::Encoder) makes them, batch by batch.
    (@encode $db:ty, $pool:expr, $row:ty, $table:literal, $cols:expr, $base:expr, $q:expr, $encode:expr) => {{
        let encode = $encode;
        query_page!(@pieces $db, $pool, $row, $table, $cols, $base, $q,
            move |rows: Vec<$row>| $crate::sql::encoded(rows, &encode))
    }};
    // The page in pieces, `$finish` (cloned into each task) making each
    // piece of its rows.
    (@pieces $db:ty, $pool:expr, $row:ty, $table:literal, $cols:expr, $base:expr, $q:expr, $finish:expr) => {{
        let finish = $finish;
        let q: &$crate::ListQuery = $q;
        let count = async {
            if !q.count {
                return Ok::<_, $crate::StoreError>(None);
            }
            let mut qb = sqlx::QueryBuilder::<$db>::new(concat!(
                "SELECT COUNT(*) FROM ",
                $table,
                " WHERE base_id = "
            ));
            qb.push_bind($base.0);
            push_conditions!(qb, &q.conditions);
            Ok(Some(qb.build_query_scalar::<i64>().fetch_one($pool).await?))
        };
        let rows = async {
            let columns = $crate::query::projected($cols, &q.without);
            let order = $crate::sql::order_by(&q.order);
            // A page in identifier order (either way) holds, between a
            // part's first and last identifiers, exactly the part's rows
            // among those meeting its conditions: the part is read as that
            // range, one index range scan, rather than one look-up per row
            // (a quarter of the work on SQLite).
            let by_range = q.order.iter().all(|(column, _)| *column == "id");
            let in_parts = q.limit > Self::PARTS_FROM;
            // What the first query selects: the rows themselves, or for a
            // page read in parts, its identifiers.
            let (selected, aggregate) = if in_parts {
                ("id".to_owned(), "id".to_owned())
            } else {
                (columns.clone(), $crate::sql::row_array::<$row>())
            };
            let mut qb = sqlx::QueryBuilder::<$db>::new(if Self::PACKED_PAGES {
                // The page's rows are chosen in the subquery (its order and
                // limit); the aggregate is told their order again, as a
                // subquery's order is not promised to reach it.
                format!(
                    "SELECT json_group_array({} ORDER BY {}) FROM (SELECT {}, {} FROM {} WHERE base_id = ",
                    aggregate, order.outer, selected, order.keys, $table
                )
            } else {
                format!("SELECT {} FROM {} WHERE base_id = ", selected, $table)
            });
            qb.push_bind($base.0);
            push_conditions!(qb, &q.conditions);
            qb.push(" ORDER BY ");
            qb.push(&order.inner);
            qb.push(" LIMIT ");
            qb.push_bind(i64::from(q.limit));
            qb.push(" OFFSET ");
            qb.push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
            if Self::PACKED_PAGES {
                qb.push(")");
            }
            if !in_parts {
                if Self::PACKED_PAGES {
                    let packed: String = qb.build_query_scalar().fetch_one($pool).await?;
                    let rows: Vec<$row> = $crate::sql::unpack($table, &packed)?;
                    return Ok(vec![finish(rows)?]);
                }
                // Rows are decoded and made in batches, each in a task of
                // its own, while the next batch arrives.
                use futures_util::TryStreamExt;
                let decode = |raw: Vec<<$db as sqlx::Database>::Row>| {
                    let mut rows = Vec::with_capacity(raw.len());
                    for r in &raw {
                        rows.push(<$row as sqlx::FromRow<'_, <$db as sqlx::Database>::Row>>::from_row(r)?);
                    }
                    Ok::<Vec<$row>, sqlx::Error>(rows)
                };
                let mut stream = qb.build().fetch($pool);
                let mut batches = Vec::new();
                let mut batch = Vec::with_capacity($crate::sql::STREAM_BATCH);
                while let Some(row) = stream.try_next().await? {
                    batch.push(row);
                    if batch.len() == $crate::sql::STREAM_BATCH {
                        let (raw, finish) = (std::mem::take(&mut batch), finish.clone());
                        batches.push(tokio::spawn(async move { finish(decode(raw)?) }));
                    }
                }
                let mut pieces = Vec::with_capacity(batches.len() + 1);
                for made in futures_util::future::join_all(batches).await {
                    // A task ends only by finishing or by a panic, passed on as is.
                    pieces.push(made.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?);
                }
                if !batch.is_empty() || pieces.is_empty() {
                    pieces.push(finish(decode(batch)?)?);
                }
                return Ok(pieces);
            }
            let ids: Vec<i64> = if Self::PACKED_PAGES {
                let packed: String = qb.build_query_scalar().fetch_one($pool).await?;
                $crate::sql::unpack($table, &packed)?
            } else {
                qb.build_query_scalar().fetch_all($pool).await?
            };
            // What every part's query starts with; each adds its range of
            // identifiers (with the page's conditions) or its list of them.
            let head = if Self::PACKED_PAGES {
                format!(
                    "SELECT json_group_array({}) FROM (SELECT {} FROM {} WHERE base_id = ",
                    $crate::sql::row_array::<$row>(), columns, $table
                )
            } else {
                format!("SELECT {} FROM {} WHERE base_id = ", columns, $table)
            };
            let conditions = std::sync::Arc::new(q.conditions.clone());
            // Each part is read and converted in a task of its own, so that
            // the runtime's threads convert parts while SQLite reads others.
            let parts = ids.chunks($crate::sql::PART_ROWS).map(|part| {
                let (head, pool, base, part) = (head.clone(), $pool.clone(), $base.0, part.to_vec());
                let (conditions, finish) = (conditions.clone(), finish.clone());
                tokio::spawn(async move {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(head);
                    qb.push_bind(base);
                    if by_range {
                        push_conditions!(qb, conditions.iter());
                        qb.push(" AND id BETWEEN ");
                        qb.push_bind(part.iter().copied().min().unwrap_or_default());
                        qb.push(" AND ");
                        qb.push_bind(part.iter().copied().max().unwrap_or_default());
                    } else {
                        qb.push(" AND id IN ");
                        qb.push(Self::ID_SET.0);
                        qb.push_bind(serde_json::Value::from(part.as_slice()).to_string());
                        qb.push(Self::ID_SET.1);
                    }
                    let rows: Vec<$row> = if Self::PACKED_PAGES {
                        qb.push(")");
                        let packed: String = qb.build_query_scalar().fetch_one(&pool).await?;
                        $crate::sql::unpack($table, &packed)?
                    } else {
                        qb.build_query_as().fetch_all(&pool).await?
                    };
                    finish($crate::sql::in_order_of(&part, rows))
                })
            });
            let mut pieces = Vec::with_capacity(ids.len().div_ceil($crate::sql::PART_ROWS));
            for part in futures_util::future::join_all(parts).await {
                // A task ends only by finishing or by a panic, passed on as is.
                pieces.push(part.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?);
            }
            Ok(pieces)
        };
        let (count, items) = futures_util::future::try_join(count, rows).await?;
        Ok($crate::Page { items, count })
    }};
}

macro_rules! sql_store {
    ($store:ident, $db:ty) => {
        use crate::rows::{self, columns};
        use crate::{BaseCounts, Result, Store, StoreError};
        use async_trait::async_trait;
        use chrono::NaiveDate;
        use relais_core::absence::*;
        use relais_core::base::{Base, BaseKind, BaseName};
        use relais_core::employee::{check_extended_data, Employee, EmployeeData, Section, SectionField};
        use relais_core::expense::{warnings_to_string, Axis, AxisSection, ExpenseClaim, ExpenseItem, ExpenseNature};
        use relais_core::ids::*;
        use relais_core::org::{Department, Establishment, LegalUnit};
        use relais_core::access::{ApiKey, AuditEntry};
        use relais_core::audit::{employee_changes, Author, EmployeeLog};
        use relais_core::{now, DomainError};
        use crate::{ListQuery, NewApiKey, Page};

        type Conn = <$db as sqlx::Database>::Connection;

        impl $store {

            /// Stores a new key on `conn`.
            async fn insert_key(conn: &mut Conn, key: &NewApiKey) -> Result<ApiKey> {
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

            /// Records an installation on `conn`; 409 if the app is already installed.
            async fn insert_installation(
                conn: &mut Conn,
                base: BaseId,
                app: &str,
                key_id: i64,
                contact: &relais_core::employee::Email,
                by: i64,
            ) -> Result<relais_core::people::Installation> {
                let sql = format!(
                    "INSERT INTO installations (base_id, app, key_id, contact, installed_by, installed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
                    rows::INSTALLATION_COLUMNS
                );
                let row: rows::InstallationRow = sqlx::query_as(&sql)
                    .bind(base.0)
                    .bind(app)
                    .bind(key_id)
                    .bind(contact.as_str())
                    .bind(by)
                    .bind(now())
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(StoreError::conflict_on("app", || format!("{app} is already installed on this base")))?;
                row.try_into()
            }

            /// Stores an integration on `conn` (replacing its settings if it exists).
            async fn upsert_integration(conn: &mut Conn, i: &relais_core::integration::Integration) -> Result<()> {
                let sql = format!(
                    "INSERT INTO integrations ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                     ON CONFLICT (installation_id) DO UPDATE SET source_url = excluded.source_url, partner_url = excluded.partner_url, \
                     secrets = excluded.secrets, schedule = excluded.schedule, full_schedule = excluded.full_schedule, \
                     time_zone = excluded.time_zone, options = excluded.options, paused_reason = excluded.paused_reason, \
                     health = excluded.health, health_reason = excluded.health_reason, next_run_at = excluded.next_run_at, \
                     next_full_at = excluded.next_full_at, updated_at = excluded.updated_at",
                    rows::INTEGRATION_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(i.installation_id)
                    .bind(i.base_id.0)
                    .bind(i.connector.as_str())
                    .bind(i.source_url.as_deref())
                    .bind(i.partner_url.as_str())
                    .bind(i.sealed_secrets.as_str())
                    .bind(i.schedule.as_str())
                    .bind(i.full_schedule.as_str())
                    .bind(i.time_zone.0.name())
                    .bind(serde_json::to_string(&i.options).expect("options serialise"))
                    .bind(i.paused.as_deref())
                    .bind(i.health.as_str())
                    .bind(i.health_reason.as_str())
                    .bind(i.next_run_at)
                    .bind(i.next_full_at)
                    .bind(now())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            async fn reserve_in(conn: &mut Conn, base: BaseId, entity: Entity, count: i64) -> Result<i64> {
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

            async fn exists(conn: &mut Conn, table: &str, base: BaseId, id: i64) -> Result<bool> {
                let sql = format!("SELECT COUNT(*) FROM {table} WHERE base_id = $1 AND id = $2");
                let n: i64 = sqlx::query_scalar(&sql).bind(base.0).bind(id).fetch_one(&mut *conn).await?;
                Ok(n > 0)
            }

            /// Checks the references an employee makes, with a message naming each.
            async fn check_employee_refs(
                conn: &mut Conn,
                base: BaseId,
                id: Option<EmployeeId>,
                data: &EmployeeData,
            ) -> Result<()> {
                if !Self::exists(conn, "establishments", base, data.establishment_id.0).await? {
                    return Err(DomainError::new(
                        "legalEntityId",
                        format!("no establishment {} in this base", data.establishment_id),
                    )
                    .into());
                }
                if let Some(dep) = data.department_id {
                    if !Self::exists(conn, "departments", base, dep.0).await? {
                        return Err(DomainError::new("departmentId", format!("no department {dep} in this base")).into());
                    }
                }
                if let Some(manager) = data.manager_id {
                    if Some(manager) == id {
                        return Err(DomainError::new("managerId", "an employee cannot be their own manager").into());
                    }
                    if !Self::exists(conn, "employees", base, manager.0).await? {
                        return Err(DomainError::new("managerId", format!("no employee {manager} in this base")).into());
                    }
                }
                Ok(())
            }

            async fn log_changes(
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
            async fn settle_statistics(conn: &mut Conn, table: &str) -> Result<()> {
                let Some((size, analyse)) = Self::PLANNER_SIZE else {
                    return Ok(());
                };
                let believed: f64 = sqlx::query_scalar(size).bind(table).fetch_one(&mut *conn).await?;
                if believed < 1_000.0 {
                    sqlx::query(&format!("{analyse} {table}")).execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Starts a bulk write in `conn`'s transaction: its rows skip the
            /// per-row raise of their base's data version.
            async fn bulk_start(conn: &mut Conn) -> Result<()> {
                sqlx::query(Self::BULK_WRITE.0).execute(&mut *conn).await?;
                Ok(())
            }

            /// Ends a bulk write: raises every base's data version once.
            async fn bulk_end(conn: &mut Conn) -> Result<()> {
                sqlx::query(Self::BULK_WRITE.1).execute(&mut *conn).await?;
                sqlx::query(
                    "INSERT INTO base_versions (base_id, version) SELECT id, 1 FROM bases WHERE true \
                     ON CONFLICT (base_id) DO UPDATE SET version = base_versions.version + 1",
                )
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn insert_employees_in(conn: &mut Conn, rows: &[Employee]) -> Result<()> {
                bulk_insert!($db, conn, "employees", columns::EMPLOYEES, rows, |b, e| {
                    let d = &e.data;
                    b.push_bind(e.base_id.0)
                        .push_bind(e.id.0)
                        .push_bind(d.employee_number.as_str())
                        .push_bind(d.first_name.as_str())
                        .push_bind(d.last_name.as_str())
                        .push_bind(d.mail.as_str())
                        .push_bind(d.login.as_str())
                        .push_bind(d.birth_date)
                        .push_bind(d.establishment_id.0)
                        .push_bind(d.department_id.map(|x| x.0))
                        .push_bind(d.manager_id.map(|x| x.0))
                        .push_bind(d.job_title.as_deref())
                        .push_bind(d.csp.map(|c| c.code()))
                        .push_bind(d.profession.as_deref())
                        .push_bind(d.contract.start)
                        .push_bind(d.contract.end)
                        .push_bind(serde_json::Value::Object(d.extended_data.clone()).to_string())
                        .push_bind(serde_json::Value::Object(d.personal.to_json()).to_string())
                        .push_bind(e.created_at)
                        .push_bind(e.modified_at);
                });
                Ok(())
            }

            async fn insert_leave_periods_in(conn: &mut Conn, rows: &[LeavePeriod]) -> Result<()> {
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

            async fn get_leave_period_in(conn: &mut Conn, base: BaseId, id: LeavePeriodId) -> Result<LeavePeriod> {
                let found: Vec<LeavePeriod> = select_rows!(
                    &mut *conn, rows::LeavePeriodRow, "leave_periods", columns::LEAVE_PERIODS,
                    "base_id = $1 AND id = $2", base.0, id.0
                )?;
                found.into_iter().next().ok_or(StoreError::NotFound { entity: "leave period", key: id.to_string() })
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

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
                .fetch_one(&self.pool)
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

            async fn base_version(&self, base: BaseId) -> Result<i64> {
                let version: Option<i64> =
                    sqlx::query_scalar("SELECT version FROM base_versions WHERE base_id = $1")
                        .bind(base.0)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(version.unwrap_or(0))
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
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                Self::bulk_start(&mut tx).await?;
                for (table, _) in columns::TABLES.iter().rev() {
                    sqlx::query(&format!("DELETE FROM {table} WHERE base_id = $1"))
                        .bind(base.0)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM id_sequences WHERE base_id = $1").bind(base.0).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM employee_logs WHERE base_id = $1").bind(base.0).execute(&mut *tx).await?;
                sqlx::query("UPDATE bases SET modified_at = $2 WHERE id = $1")
                    .bind(base.0)
                    .bind(now())
                    .execute(&mut *tx)
                    .await?;
                Self::bulk_end(&mut tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn copy_base(&self, from: BaseId, to: BaseId) -> Result<()> {
                if from == to {
                    return Err(DomainError::new("base", "a base cannot be copied onto itself").into());
                }
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                Self::bulk_start(&mut tx).await?;
                for (table, _) in columns::TABLES.iter().rev() {
                    sqlx::query(&format!("DELETE FROM {table} WHERE base_id = $1"))
                        .bind(to.0)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM id_sequences WHERE base_id = $1").bind(to.0).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM employee_logs WHERE base_id = $1").bind(to.0).execute(&mut *tx).await?;
                for (table, cols) in columns::TABLES {
                    let rest = cols[1..].join(", ");
                    let sql = format!(
                        "INSERT INTO {table} (base_id, {rest}) SELECT $1, {rest} FROM {table} WHERE base_id = $2"
                    );
                    sqlx::query(&sql).bind(to.0).bind(from.0).execute(&mut *tx).await?;
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
                sqlx::query("UPDATE bases SET modified_at = $2 WHERE id = $1")
                    .bind(to.0)
                    .bind(now())
                    .execute(&mut *tx)
                    .await?;
                Self::bulk_end(&mut tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn reserve_ids(&self, base: BaseId, entity: Entity, count: i64) -> Result<i64> {
                if count < 1 {
                    return Err(DomainError::new("count", "reserve at least one identifier").into());
                }
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                let first = Self::reserve_in(&mut tx, base, entity, count).await?;
                tx.commit().await?;
                Ok(first)
            }

            async fn insert_legal_units(&self, rows: &[LegalUnit]) -> Result<()> {
                insert_rows!($db, self, "legal_units", columns::LEGAL_UNITS, rows, |b, u| {
                    b.push_bind(u.base_id.0)
                        .push_bind(u.id.0)
                        .push_bind(u.name.as_str())
                        .push_bind(u.siren.as_str())
                        .push_bind(u.country.as_str())
                        .push_bind(u.code.as_str())
                        .push_bind(u.headquarters_id.map(|h| h.0))
                        .push_bind(u.archived)
                        .push_bind(u.created_at)
                        .push_bind(u.modified_at);
                })
            }

            async fn list_legal_units(&self, base: BaseId) -> Result<Vec<LegalUnit>> {
                select_rows!(&self.pool, rows::LegalUnitRow, "legal_units", columns::LEGAL_UNITS,
                    "base_id = $1 ORDER BY id", base.0)
            }

            async fn insert_establishments(&self, rows: &[Establishment]) -> Result<()> {
                insert_rows!($db, self, "establishments", columns::ESTABLISHMENTS, rows, |b, e| {
                    b.push_bind(e.base_id.0)
                        .push_bind(e.id.0)
                        .push_bind(e.legal_unit_id.0)
                        .push_bind(e.name.as_str())
                        .push_bind(e.code.as_str())
                        .push_bind(e.siret.as_str())
                        .push_bind(e.time_zone.name())
                        .push_bind(e.address.line.as_str())
                        .push_bind(e.address.postal_code.as_str())
                        .push_bind(e.address.city.as_str())
                        .push_bind(e.address.country.as_str())
                        .push_bind(e.calendar.week.to_string())
                        .push_bind(e.calendar.holidays.as_str())
                        .push_bind(e.archived)
                        .push_bind(e.created_at)
                        .push_bind(e.modified_at);
                })
            }

            async fn list_establishments(&self, base: BaseId) -> Result<Vec<Establishment>> {
                select_packed!(&self.pool, rows::EstablishmentRow, "establishments", columns::ESTABLISHMENTS,
                    "base_id = $1", base.0)
            }

            async fn insert_departments(&self, rows: &[Department]) -> Result<()> {
                insert_rows!($db, self, "departments", columns::DEPARTMENTS, rows, |b, d| {
                    b.push_bind(d.base_id.0)
                        .push_bind(d.id.0)
                        .push_bind(d.parent_id.map(|p| p.0))
                        .push_bind(d.code.as_str())
                        .push_bind(d.name.as_str())
                        .push_bind(d.head_id.map(|h| h.0))
                        .push_bind(d.position)
                        .push_bind(d.active)
                        .push_bind(d.created_at)
                        .push_bind(d.modified_at);
                })
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
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
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
                tx.commit().await?;
                Ok(())
            }

            async fn insert_sections(&self, rows: &[Section]) -> Result<()> {
                insert_rows!($db, self, "sections", columns::SECTIONS, rows, |b, s| {
                    b.push_bind(s.base_id.0)
                        .push_bind(s.id.0)
                        .push_bind(s.code.as_str())
                        .push_bind(s.name.as_str())
                        .push_bind(s.standard)
                        .push_bind(s.created_at)
                        .push_bind(s.modified_at);
                })
            }

            async fn list_sections(&self, base: BaseId) -> Result<Vec<Section>> {
                select_rows!(&self.pool, rows::SectionRow, "sections", columns::SECTIONS,
                    "base_id = $1 ORDER BY id", base.0)
            }

            async fn insert_section_fields(&self, rows: &[SectionField]) -> Result<()> {
                insert_rows!($db, self, "section_fields", columns::SECTION_FIELDS, rows, |b, f| {
                    b.push_bind(f.base_id.0)
                        .push_bind(f.id.0)
                        .push_bind(f.section_id.0)
                        .push_bind(f.code.as_str())
                        .push_bind(f.name.as_str())
                        .push_bind(f.kind.code())
                        .push_bind(rows::field_choices(&f.kind))
                        .push_bind(f.created_at)
                        .push_bind(f.modified_at);
                })
            }

            async fn list_section_fields(&self, base: BaseId) -> Result<Vec<SectionField>> {
                select_rows!(&self.pool, rows::SectionFieldRow, "section_fields", columns::SECTION_FIELDS,
                    "base_id = $1 ORDER BY id", base.0)
            }

            async fn insert_employees(&self, rows: &[Employee]) -> Result<()> {
                bulk_transaction!(self, tx, {
                    Self::insert_employees_in(&mut tx, rows).await?;
                })
            }

            async fn create_employee(&self, base: BaseId, data: &EmployeeData, author: &Author) -> Result<Employee> {
                let fields = self.list_section_fields(base).await?;
                check_extended_data(&data.extended_data, &fields)?;
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                Self::check_employee_refs(&mut tx, base, None, data).await?;
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
                tx.commit().await?;
                Ok(employee)
            }

            async fn update_employee(&self, base: BaseId, id: EmployeeId, data: &EmployeeData, author: &Author) -> Result<Employee> {
                let fields = self.list_section_fields(base).await?;
                check_extended_data(&data.extended_data, &fields)?;
                let before = self.get_employee(base, id).await?;
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                Self::check_employee_refs(&mut tx, base, Some(id), data).await?;
                let set = columns::EMPLOYEES[2..columns::EMPLOYEES.len() - 2]
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c} = ${}", i + 3))
                    .collect::<Vec<_>>()
                    .join(", ");
                let modified_at = now();
                let modified_slot = columns::EMPLOYEES.len() - 1;
                let sql = format!("UPDATE employees SET {set}, modified_at = ${modified_slot} WHERE base_id = $1 AND id = $2");
                let done = sqlx::query(&sql)
                    .bind(base.0)
                    .bind(id.0)
                    .bind(data.employee_number.as_str())
                    .bind(data.first_name.as_str())
                    .bind(data.last_name.as_str())
                    .bind(data.mail.as_str())
                    .bind(data.login.as_str())
                    .bind(data.birth_date)
                    .bind(data.establishment_id.0)
                    .bind(data.department_id.map(|x| x.0))
                    .bind(data.manager_id.map(|x| x.0))
                    .bind(data.job_title.as_deref())
                    .bind(data.csp.map(|c| c.code()))
                    .bind(data.profession.as_deref())
                    .bind(data.contract.start)
                    .bind(data.contract.end)
                    .bind(serde_json::Value::Object(data.extended_data.clone()).to_string())
                    .bind(serde_json::Value::Object(data.personal.to_json()).to_string())
                    .bind(modified_at)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound { entity: "employee", key: id.to_string() });
                }
                let after = Employee { base_id: base, id, data: data.clone(), created_at: before.created_at, modified_at };
                Self::log_changes(&mut tx, &after, Some(&before.data), author).await?;
                tx.commit().await?;
                Ok(after)
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
                    conditions: vec![crate::Condition::new("id", crate::Cond::In(ids.iter().map(|i| crate::SqlValue::Int(i.0)).collect()))],
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
                    conditions: vec![crate::Condition::new("id", crate::Cond::Gt(crate::SqlValue::Int(after.map_or(0, |a| a.0))))],
                    limit,
                    ..ListQuery::default()
                };
                Ok(self.query_employees(base, &q).await?.items)
            }

            async fn insert_absence_accounts(&self, rows: &[AbsenceAccount]) -> Result<()> {
                insert_rows!($db, self, "absence_accounts", columns::ABSENCE_ACCOUNTS, rows, |b, a| {
                    b.push_bind(a.base_id.0)
                        .push_bind(a.id.0)
                        .push_bind(a.name.as_str())
                        .push_bind(a.category.as_str())
                        .push_bind(a.unit.as_str())
                        .push_bind(a.active)
                        .push_bind(a.created_at)
                        .push_bind(a.modified_at);
                })
            }

            async fn list_absence_accounts(&self, base: BaseId) -> Result<Vec<AbsenceAccount>> {
                select_packed!(&self.pool, rows::AbsenceAccountRow, "absence_accounts", columns::ABSENCE_ACCOUNTS,
                    "base_id = $1", base.0)
            }

            async fn insert_leave_periods(&self, rows: &[LeavePeriod]) -> Result<()> {
                bulk_transaction!(self, tx, {
                    Self::insert_leave_periods_in(&mut tx, rows).await?;
                })
            }

            async fn create_leave_period(&self, base: BaseId, new: &NewLeavePeriod) -> Result<LeavePeriod> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
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
                let id = Self::reserve_in(&mut tx, base, Entity::LeavePeriod, 1).await?;
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
                Self::insert_leave_periods_in(&mut tx, std::slice::from_ref(&period)).await?;
                tx.commit().await?;
                Ok(period)
            }

            async fn set_leave_status(&self, base: BaseId, id: LeavePeriodId, status: LeaveStatus) -> Result<LeavePeriod> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
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
                tx.commit().await?;
                Ok(updated)
            }

            async fn get_leave_period(&self, base: BaseId, id: LeavePeriodId) -> Result<LeavePeriod> {
                let mut conn = self.pool.acquire().await?;
                Self::get_leave_period_in(&mut conn, base, id).await
            }

            async fn query_leave_periods(&self, base: BaseId, query: &ListQuery) -> Result<Page<LeavePeriod>> {
                query_page!($db, &self.pool, rows::LeavePeriodRow, "leave_periods", columns::LEAVE_PERIODS, base, query)
            }

            async fn list_leave_periods(&self, base: BaseId, employee: EmployeeId) -> Result<Vec<LeavePeriod>> {
                select_rows!(&self.pool, rows::LeavePeriodRow, "leave_periods", columns::LEAVE_PERIODS,
                    "base_id = $1 AND employee_id = $2 ORDER BY start_slot, id", base.0, employee.0)
            }

            async fn insert_expense_natures(&self, rows: &[ExpenseNature]) -> Result<()> {
                insert_rows!($db, self, "expense_natures", columns::EXPENSE_NATURES, rows, |b, n| {
                    b.push_bind(n.base_id.0)
                        .push_bind(n.id.0)
                        .push_bind(n.name.as_str())
                        .push_bind(n.cap.map(|c| c.minor))
                        .push_bind(n.cap.map(|c| c.currency.as_str().to_owned()))
                        .push_bind(n.mileage)
                        .push_bind(n.enabled)
                        .push_bind(n.created_at)
                        .push_bind(n.modified_at);
                })
            }

            async fn list_expense_natures(&self, base: BaseId) -> Result<Vec<ExpenseNature>> {
                select_rows!(&self.pool, rows::ExpenseNatureRow, "expense_natures", columns::EXPENSE_NATURES,
                    "base_id = $1 ORDER BY id", base.0)
            }

            async fn insert_axes(&self, rows: &[Axis]) -> Result<()> {
                insert_rows!($db, self, "axes", columns::AXES, rows, |b, a| {
                    b.push_bind(a.base_id.0)
                        .push_bind(a.id.0)
                        .push_bind(a.code.as_str())
                        .push_bind(a.name.as_str())
                        .push_bind(a.created_at)
                        .push_bind(a.modified_at);
                })
            }

            async fn list_axes(&self, base: BaseId) -> Result<Vec<Axis>> {
                select_rows!(&self.pool, rows::AxisRow, "axes", columns::AXES, "base_id = $1 ORDER BY id", base.0)
            }

            async fn insert_axis_sections(&self, rows: &[AxisSection]) -> Result<()> {
                insert_rows!($db, self, "axis_sections", columns::AXIS_SECTIONS, rows, |b, s| {
                    b.push_bind(s.base_id.0)
                        .push_bind(s.id.0)
                        .push_bind(s.axis_id.0)
                        .push_bind(s.code.as_str())
                        .push_bind(s.name.as_str())
                        .push_bind(s.created_at)
                        .push_bind(s.modified_at);
                })
            }

            async fn list_axis_sections(&self, base: BaseId) -> Result<Vec<AxisSection>> {
                select_rows!(&self.pool, rows::AxisSectionRow, "axis_sections", columns::AXIS_SECTIONS,
                    "base_id = $1 ORDER BY id", base.0)
            }

            async fn insert_expense_claims(&self, rows: &[ExpenseClaim]) -> Result<()> {
                insert_rows!($db, self, "expense_claims", columns::EXPENSE_CLAIMS, rows, |b, c| {
                    b.push_bind(c.base_id.0)
                        .push_bind(c.id.0)
                        .push_bind(c.owner_id.0)
                        .push_bind(c.author_id.0)
                        .push_bind(c.name.as_str())
                        .push_bind(c.status.id())
                        .push_bind(c.approval_state.id())
                        .push_bind(c.currency.as_str().to_owned())
                        .push_bind(c.declared_on)
                        .push_bind(c.created_at)
                        .push_bind(c.modified_at);
                })
            }

            async fn list_expense_claims(&self, base: BaseId, owner: EmployeeId) -> Result<Vec<ExpenseClaim>> {
                select_rows!(&self.pool, rows::ExpenseClaimRow, "expense_claims", columns::EXPENSE_CLAIMS,
                    "base_id = $1 AND owner_id = $2 ORDER BY id", base.0, owner.0)
            }

            async fn insert_expense_items(&self, rows: &[ExpenseItem]) -> Result<()> {
                insert_rows!($db, self, "expense_items", columns::EXPENSE_ITEMS, rows, |b, i| {
                    b.push_bind(i.base_id.0)
                        .push_bind(i.id.0)
                        .push_bind(i.claim_id.0)
                        .push_bind(i.line_number)
                        .push_bind(i.payment_method.id())
                        .push_bind(i.controlled)
                        .push_bind(i.owner_id.0)
                        .push_bind(i.nature_id.0)
                        .push_bind(i.purchased_on)
                        .push_bind(i.amounts.currency.as_str().to_owned())
                        .push_bind(i.amounts.gross)
                        .push_bind(i.amounts.net)
                        .push_bind(i.amounts.vat)
                        .push_bind(i.amounts.reimbursed)
                        .push_bind(i.quantity)
                        .push_bind(i.mileage_km)
                        .push_bind(serde_json::to_string(&i.attendees).expect("attendees serialise"))
                        .push_bind(serde_json::to_string(&i.axis_sections).expect("ids serialise"))
                        .push_bind(warnings_to_string(&i.warnings))
                        .push_bind(i.merchant.as_deref())
                        .push_bind(i.comment.as_deref())
                        .push_bind(i.created_at)
                        .push_bind(i.modified_at);
                })
            }

            async fn list_expense_items(&self, base: BaseId, claim: ExpenseClaimId) -> Result<Vec<ExpenseItem>> {
                select_rows!(&self.pool, rows::ExpenseItemRow, "expense_items", columns::EXPENSE_ITEMS,
                    "base_id = $1 AND claim_id = $2 ORDER BY id", base.0, claim.0)
            }

            async fn query_expense_claims(&self, base: BaseId, query: &ListQuery) -> Result<Page<ExpenseClaim>> {
                query_page!($db, &self.pool, rows::ExpenseClaimRow, "expense_claims", columns::EXPENSE_CLAIMS, base, query)
            }

            async fn query_expense_items(&self, base: BaseId, query: &ListQuery) -> Result<Page<ExpenseItem>> {
                query_page!($db, &self.pool, rows::ExpenseItemRow, "expense_items", columns::EXPENSE_ITEMS, base, query)
            }

            async fn query_departments(&self, base: BaseId, query: &ListQuery) -> Result<Page<Department>> {
                query_page!($db, &self.pool, rows::DepartmentRow, "departments", columns::DEPARTMENTS, base, query)
            }

            async fn query_establishments(&self, base: BaseId, query: &ListQuery) -> Result<Page<Establishment>> {
                query_page!($db, &self.pool, rows::EstablishmentRow, "establishments", columns::ESTABLISHMENTS, base, query)
            }

            async fn query_legal_units(&self, base: BaseId, query: &ListQuery) -> Result<Page<LegalUnit>> {
                query_page!($db, &self.pool, rows::LegalUnitRow, "legal_units", columns::LEGAL_UNITS, base, query)
            }

            async fn query_absence_accounts(&self, base: BaseId, query: &ListQuery) -> Result<Page<AbsenceAccount>> {
                query_page!($db, &self.pool, rows::AbsenceAccountRow, "absence_accounts", columns::ABSENCE_ACCOUNTS, base, query)
            }

            async fn query_expense_natures(&self, base: BaseId, query: &ListQuery) -> Result<Page<ExpenseNature>> {
                query_page!($db, &self.pool, rows::ExpenseNatureRow, "expense_natures", columns::EXPENSE_NATURES, base, query)
            }

            async fn query_axis_sections(&self, base: BaseId, query: &ListQuery) -> Result<Page<AxisSection>> {
                query_page!($db, &self.pool, rows::AxisSectionRow, "axis_sections", columns::AXIS_SECTIONS, base, query)
            }

            async fn create_api_key(&self, key: &NewApiKey) -> Result<ApiKey> {
                let mut conn = self.pool.acquire().await?;
                Self::insert_key(&mut conn, key).await
            }

            async fn install(
                &self,
                new: &crate::NewInstallation<'_>,
            ) -> Result<(ApiKey, relais_core::people::Installation)> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                let key = Self::insert_key(&mut tx, new.key).await?;
                let installation =
                    Self::insert_installation(&mut tx, new.key.base_id, new.app, key.id, new.contact, new.by).await?;
                if let Some(integration) = &new.integration {
                    let mut integration = integration.clone();
                    integration.installation_id = installation.id;
                    Self::upsert_integration(&mut tx, &integration).await?;
                }
                tx.commit().await?;
                Ok((key, installation))
            }

            async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<(ApiKey, i64)>> {
                let sql = format!(
                    "SELECT {}, (SELECT v.version FROM base_versions v WHERE v.base_id = api_keys.base_id) \
                     AS data_version FROM api_keys WHERE prefix = $1",
                    rows::API_KEY_COLUMNS
                );
                let row: Option<rows::KeyAtVersion> = sqlx::query_as(&sql).bind(prefix).fetch_optional(&self.pool).await?;
                row.map(|r| Ok((r.key.try_into()?, r.data_version.unwrap_or(0)))).transpose()
            }

            async fn list_api_keys(&self, base: BaseId) -> Result<Vec<ApiKey>> {
                let sql = format!("SELECT {} FROM api_keys WHERE base_id = $1 ORDER BY id", rows::API_KEY_COLUMNS);
                let rows: Vec<rows::ApiKeyRow> = sqlx::query_as(&sql).bind(base.0).fetch_all(&self.pool).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn get_api_key(&self, id: i64) -> Result<ApiKey> {
                let sql = format!("SELECT {} FROM api_keys WHERE id = $1", rows::API_KEY_COLUMNS);
                let row: Option<rows::ApiKeyRow> = sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.ok_or(StoreError::NotFound { entity: "API key", key: id.to_string() })?.try_into()
            }

            async fn revoke_api_key(&self, id: i64) -> Result<ApiKey> {
                sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
                self.get_api_key(id).await
            }

            async fn rotate_api_key(
                &self,
                id: i64,
                secret_hash: &str,
                previous_valid_until: chrono::DateTime<chrono::Utc>,
            ) -> Result<ApiKey> {
                let done = sqlx::query(
                    "UPDATE api_keys SET previous_secret_hash = secret_hash, previous_valid_until = $2, \
                     secret_hash = $3 WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind(id)
                .bind(previous_valid_until)
                .bind(secret_hash)
                .execute(&self.pool)
                .await?;
                if done.rows_affected() == 0 {
                    let key = self.get_api_key(id).await?;
                    return Err(StoreError::Conflict {
                        field: "key",
                        message: format!(
                            "key {} ({}) is revoked: a revoked key cannot be rotated",
                            key.id, key.name
                        ),
                    });
                }
                self.get_api_key(id).await
            }

            async fn record_requests(&self, entries: &[AuditEntry]) -> Result<()> {
                if entries.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                let mut last_used: std::collections::BTreeMap<i64, chrono::DateTime<chrono::Utc>> =
                    std::collections::BTreeMap::new();
                // One statement a request, the same each time (one prepared
                // statement per connection): a multi-row insert would be a
                // new statement for every batch size, each kept prepared.
                for entry in entries {
                    sqlx::query(
                        "INSERT INTO api_requests (base_id, key_id, method, path, status, employee_records, records, at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(entry.base_id.0)
                    .bind(entry.key_id)
                    .bind(entry.method.as_str())
                    .bind(entry.path.as_str())
                    .bind(i32::from(entry.status))
                    .bind(entry.employee_records)
                    .bind(entry.records)
                    .bind(entry.at)
                    .execute(&mut *tx)
                    .await?;
                    let at = last_used.entry(entry.key_id).or_insert(entry.at);
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

            async fn list_requests(&self, key_id: i64, limit: u32) -> Result<Vec<AuditEntry>> {
                let rows: Vec<rows::AuditRow> = sqlx::query_as(
                    "SELECT base_id, key_id, method, path, status, employee_records, records, at FROM api_requests \
                     WHERE key_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(key_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn create_person(&self, person: &crate::NewPerson) -> Result<relais_core::people::Person> {
                let sql = format!(
                    "INSERT INTO people (email, name, password_hash, can_admin_apps, can_manage_keys, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
                    rows::PERSON_COLUMNS
                );
                let row: rows::PersonRow = sqlx::query_as(&sql)
                    .bind(person.email.as_str())
                    .bind(person.name.as_str())
                    .bind(person.password_hash.as_str())
                    .bind(person.can_admin_apps)
                    .bind(person.can_manage_keys)
                    .bind(now())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(StoreError::conflict_on("email", || format!("an account with the e-mail {} already exists", person.email)))?;
                row.try_into()
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

            async fn create_session(&self, token_hash: &str, person: i64, csrf: &str, expires_at: chrono::DateTime<chrono::Utc>) -> Result<()> {
                sqlx::query("INSERT INTO sessions (token_hash, person_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(token_hash)
                    .bind(person)
                    .bind(csrf)
                    .bind(now())
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session(&self, token_hash: &str) -> Result<Option<(relais_core::people::Person, String)>> {
                let cols = rows::PERSON_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "SELECT {cols}, s.csrf FROM sessions s JOIN people p ON p.id = s.person_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2"
                );
                let Some(row) = sqlx::query(&sql).bind(token_hash).bind(now()).fetch_optional(&self.pool).await? else {
                    return Ok(None);
                };
                use sqlx::{FromRow, Row};
                let csrf: String = row.try_get("csrf")?;
                let person = rows::PersonRow::from_row(&row)?.try_into()?;
                Ok(Some((person, csrf)))
            }

            async fn take_requests(&self, key_id: i64, at: chrono::DateTime<chrono::Utc>, per_minute: u32, wanted: u32) -> Result<crate::RateDecision> {
                let seconds = at.timestamp();
                let minute = seconds.div_euclid(60);
                let elapsed = seconds.rem_euclid(60) as f64 + f64::from(at.timestamp_subsec_millis()) / 1000.0;
                let wanted = wanted.max(1);
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                let current: i64 = sqlx::query_scalar(
                    "INSERT INTO api_rate_windows (key_id, window_start, requests, limited) VALUES ($1, $2, $3, 0) \
                     ON CONFLICT (key_id, window_start) DO UPDATE SET requests = api_rate_windows.requests + $3 \
                     RETURNING requests",
                )
                .bind(key_id)
                .bind(minute)
                .bind(i64::from(wanted))
                .fetch_one(&mut *tx)
                .await?;
                let previous: Option<i64> = sqlx::query_scalar("SELECT requests FROM api_rate_windows WHERE key_id = $1 AND window_start = $2")
                    .bind(key_id)
                    .bind(minute - 1)
                    .fetch_optional(&mut *tx)
                    .await?;
                let before = current - i64::from(wanted);
                let granted = crate::rate_room(previous.unwrap_or(0), before, elapsed, per_minute, wanted);
                if granted < wanted {
                    sqlx::query("UPDATE api_rate_windows SET requests = requests - $3, limited = limited + $4 WHERE key_id = $1 AND window_start = $2")
                        .bind(key_id)
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
                        .bind(key_id)
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

            async fn limited_requests(&self, key_id: i64, limit: u32) -> Result<Vec<(chrono::DateTime<chrono::Utc>, i64)>> {
                let rows: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT window_start, limited FROM api_rate_windows WHERE key_id = $1 AND limited > 0 \
                     ORDER BY window_start DESC LIMIT $2",
                )
                .bind(key_id)
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
                    .execute(&self.pool)
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

            async fn list_sign_ins(&self, limit: u32) -> Result<Vec<crate::SignInAttempt>> {
                let rows: Vec<(String, String, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                    "SELECT email, address, outcome, at FROM sign_in_attempts ORDER BY id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
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

            async fn delete_session(&self, token_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn create_installation(
                &self,
                base: BaseId,
                app: &str,
                key_id: i64,
                contact: &relais_core::employee::Email,
                by: i64,
            ) -> Result<relais_core::people::Installation> {
                let mut conn = self.pool.acquire().await?;
                Self::insert_installation(&mut conn, base, app, key_id, contact, by).await
            }

            async fn list_installations(&self, base: BaseId) -> Result<Vec<relais_core::people::Installation>> {
                let sql = format!(
                    "SELECT {} FROM installations WHERE base_id = $1 AND uninstalled_at IS NULL ORDER BY id",
                    rows::INSTALLATION_COLUMNS
                );
                let rows: Vec<rows::InstallationRow> = sqlx::query_as(&sql).bind(base.0).fetch_all(&self.pool).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn uninstall(&self, base: BaseId, installation: i64) -> Result<relais_core::people::Installation> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                let at = now();
                let sql = format!(
                    "UPDATE installations SET uninstalled_at = $3 WHERE base_id = $1 AND id = $2 AND uninstalled_at IS NULL RETURNING {}",
                    rows::INSTALLATION_COLUMNS
                );
                let row: Option<rows::InstallationRow> =
                    sqlx::query_as(&sql).bind(base.0).bind(installation).bind(at).fetch_optional(&mut *tx).await?;
                let row = row.ok_or(StoreError::NotFound { entity: "installation", key: installation.to_string() })?;
                let done: relais_core::people::Installation = row.try_into()?;
                sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(done.key_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done)
            }

            async fn claim_lease(&self, job: &str, owner: &str, ttl: std::time::Duration) -> Result<bool> {
                let now = now();
                let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
                let until = now.checked_add_signed(ttl).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
                let won: Option<String> = sqlx::query_scalar(
                    "INSERT INTO sync_leases (job, owner, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
                     WHERE sync_leases.expires_at < $4 OR sync_leases.owner = excluded.owner \
                     RETURNING owner",
                )
                .bind(job)
                .bind(owner)
                .bind(until)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(won.as_deref() == Some(owner))
            }

            async fn release_lease(&self, job: &str, owner: &str) -> Result<()> {
                sqlx::query("DELETE FROM sync_leases WHERE job = $1 AND owner = $2").bind(job).bind(owner).execute(&self.pool).await?;
                Ok(())
            }

            async fn lease_holder(&self, job: &str) -> Result<Option<(String, chrono::DateTime<chrono::Utc>)>> {
                Ok(sqlx::query_as("SELECT owner, expires_at FROM sync_leases WHERE job = $1").bind(job).fetch_optional(&self.pool).await?)
            }

            async fn acknowledged(&self, job: &str, keys: &[String]) -> Result<Vec<relais_core::ledger::Acknowledged>> {
                let mut out = Vec::with_capacity(keys.len());
                for part in keys.chunks(1000) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {} FROM sync_ledger WHERE job = ", rows::LEDGER_COLUMNS));
                    qb.push_bind(job);
                    qb.push(" AND record_key IN ");
                    qb.push(Self::KEY_SET.0);
                    qb.push_bind(serde_json::to_string(part).expect("keys serialise"));
                    qb.push(Self::KEY_SET.1);
                    let found: Vec<rows::LedgerRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                    for row in found {
                        out.push(row.try_into()?);
                    }
                }
                Ok(out)
            }

            async fn acknowledged_page(&self, job: &str, after: Option<&str>, limit: u32) -> Result<Vec<relais_core::ledger::Acknowledged>> {
                let sql = format!(
                    "SELECT {} FROM sync_ledger WHERE job = $1 AND record_key > $2 ORDER BY record_key LIMIT $3",
                    rows::LEDGER_COLUMNS
                );
                let found: Vec<rows::LedgerRow> = sqlx::query_as(&sql).bind(job).bind(after.unwrap_or("")).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn acknowledge(&self, job: &str, records: &[relais_core::ledger::Acknowledged]) -> Result<()> {
                if records.is_empty() {
                    return Ok(());
                }
                let at = now();
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                for part in records.chunks(1000) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("INSERT INTO sync_ledger (job, record_key, hash, fields, partner_id, acknowledged_at) ");
                    qb.push_values(part, |mut b, r| {
                        b.push_bind(job)
                            .push_bind(r.key.as_str())
                            .push_bind(r.hash.as_str())
                            .push_bind(serde_json::to_string(&r.fields).expect("JSON values serialise"))
                            .push_bind(r.partner_id.as_deref())
                            .push_bind(at);
                    });
                    qb.push(
                        " ON CONFLICT (job, record_key) DO UPDATE SET hash = excluded.hash, fields = excluded.fields, \
                         partner_id = COALESCE(excluded.partner_id, sync_ledger.partner_id), acknowledged_at = excluded.acknowledged_at",
                    );
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn mark_seen(&self, job: &str, tag: &str, keys: &[String]) -> Result<()> {
                if keys.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                for part in keys.chunks(1000) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE sync_ledger SET seen_in = ");
                    qb.push_bind(tag);
                    qb.push(" WHERE job = ");
                    qb.push_bind(job);
                    qb.push(" AND record_key IN ");
                    qb.push(Self::KEY_SET.0);
                    qb.push_bind(serde_json::to_string(part).expect("keys serialise"));
                    qb.push(Self::KEY_SET.1);
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn seen_keys(&self, job: &str, tag: &str, keys: &[String]) -> Result<Vec<String>> {
                let mut out = Vec::new();
                for part in keys.chunks(1000) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT record_key FROM sync_ledger WHERE job = ");
                    qb.push_bind(job);
                    qb.push(" AND seen_in = ");
                    qb.push_bind(tag);
                    qb.push(" AND record_key IN ");
                    qb.push(Self::KEY_SET.0);
                    qb.push_bind(serde_json::to_string(part).expect("keys serialise"));
                    qb.push(Self::KEY_SET.1);
                    let found: Vec<String> = qb.build_query_scalar().fetch_all(&self.pool).await?;
                    out.extend(found);
                }
                Ok(out)
            }

            async fn unseen_page(&self, job: &str, tag: &str, after: Option<&str>, limit: u32) -> Result<Vec<relais_core::ledger::Acknowledged>> {
                let sql = format!(
                    "SELECT {} FROM sync_ledger WHERE job = $1 AND (seen_in IS NULL OR seen_in <> $2) AND record_key > $3 \
                     ORDER BY record_key LIMIT $4",
                    rows::LEDGER_COLUMNS
                );
                let found: Vec<rows::LedgerRow> = sqlx::query_as(&sql)
                    .bind(job)
                    .bind(tag)
                    .bind(after.unwrap_or(""))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn forget(&self, job: &str, keys: &[String]) -> Result<()> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                for part in keys.chunks(1000) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new("DELETE FROM sync_ledger WHERE job = ");
                    qb.push_bind(job);
                    qb.push(" AND record_key IN ");
                    qb.push(Self::KEY_SET.0);
                    qb.push_bind(serde_json::to_string(part).expect("keys serialise"));
                    qb.push(Self::KEY_SET.1);
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn reset_ledger(&self, job: &str) -> Result<()> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                // The integration's job and its streams' jobs (`job/stream`).
                let streams = format!("{job}/%");
                sqlx::query("DELETE FROM sync_ledger WHERE job = $1 OR job LIKE $2").bind(job).bind(&streams).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM sync_checkpoints WHERE job = $1 OR job LIKE $2").bind(job).bind(&streams).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn checkpoint(&self, job: &str, stream: &str) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT cursor_value FROM sync_checkpoints WHERE job = $1 AND stream = $2")
                    .bind(job)
                    .bind(stream)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn set_checkpoint(&self, job: &str, stream: &str, cursor: &str) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sync_checkpoints (job, stream, cursor_value, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (job, stream) DO UPDATE SET cursor_value = excluded.cursor_value, updated_at = excluded.updated_at",
                )
                .bind(job)
                .bind(stream)
                .bind(cursor)
                .bind(now())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn put_integration(&self, i: &relais_core::integration::Integration) -> Result<()> {
                let mut conn = self.pool.acquire().await?;
                Self::upsert_integration(&mut conn, i).await
            }

            async fn get_integration(&self, installation: i64) -> Result<relais_core::integration::Integration> {
                let cols = rows::INTEGRATION_COLUMNS.split(", ").map(|c| format!("g.{c}")).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "SELECT {cols} FROM integrations g JOIN installations i ON i.id = g.installation_id \
                     WHERE g.installation_id = $1 AND i.uninstalled_at IS NULL"
                );
                let row: Option<rows::IntegrationRow> = sqlx::query_as(&sql).bind(installation).fetch_optional(&self.pool).await?;
                row.ok_or(StoreError::NotFound { entity: "integration", key: installation.to_string() })?.try_into()
            }

            async fn list_integrations(&self, base: Option<BaseId>) -> Result<Vec<relais_core::integration::Integration>> {
                let cols = rows::INTEGRATION_COLUMNS.split(", ").map(|c| format!("g.{c}")).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "SELECT {cols} FROM integrations g JOIN installations i ON i.id = g.installation_id \
                     WHERE i.uninstalled_at IS NULL AND ($1 IS NULL OR g.base_id = $1) ORDER BY g.installation_id"
                );
                let found: Vec<rows::IntegrationRow> = sqlx::query_as(&sql).bind(base.map(|b| b.0)).fetch_all(&self.pool).await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_integration_state(&self, state: &crate::IntegrationState) -> Result<()> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                sqlx::query(
                    "UPDATE integrations SET health = $2, health_reason = $3, next_run_at = $4, next_full_at = $5 \
                     WHERE installation_id = $1",
                )
                .bind(state.installation)
                .bind(state.health.as_str())
                .bind(state.reason.as_str())
                .bind(state.next_run_at)
                .bind(state.next_full_at)
                .execute(&mut *tx)
                .await?;
                if let Some(alert) = &state.alert {
                    let at = now();
                    sqlx::query(
                        "INSERT INTO alerts (installation_id, kind, recipient, subject, body, created_at, attempts, next_attempt_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
                    )
                    .bind(alert.installation)
                    .bind(alert.kind.as_str())
                    .bind(alert.recipient.as_str())
                    .bind(alert.subject.as_str())
                    .bind(alert.body.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn due_alerts(&self, now: chrono::DateTime<chrono::Utc>, limit: u32) -> Result<Vec<relais_core::alert::Alert>> {
                let sql = format!(
                    "SELECT {} FROM alerts WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
                    rows::ALERT_COLUMNS
                );
                let found: Vec<rows::AlertRow> = sqlx::query_as(&sql).bind(now).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn alert_sent(&self, id: i64, at: chrono::DateTime<chrono::Utc>) -> Result<()> {
                sqlx::query("UPDATE alerts SET sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn alert_failed(&self, id: i64, error: &str, next: chrono::DateTime<chrono::Utc>) -> Result<()> {
                sqlx::query("UPDATE alerts SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(error)
                    .bind(next)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn list_alerts(&self, installation: i64, limit: u32) -> Result<Vec<relais_core::alert::Alert>> {
                let sql = format!(
                    "SELECT {} FROM alerts WHERE installation_id = $1 ORDER BY id DESC LIMIT $2",
                    rows::ALERT_COLUMNS
                );
                let found: Vec<rows::AlertRow> = sqlx::query_as(&sql).bind(installation).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn queue_run_by(
                &self,
                installation: i64,
                trigger: relais_core::integration::Trigger,
                dry_run: bool,
                full: bool,
                requested_by: Option<&str>,
            ) -> Result<relais_core::integration::SyncRun> {
                let sql = format!(
                    "INSERT INTO sync_runs (installation_id, trigger_kind, dry_run, full_run, status, requested_at, counts, partner_requests, requested_by) \
                     VALUES ($1, $2, $3, $4, 'queued', $5, $6, 0, $7) RETURNING {}",
                    rows::RUN_COLUMNS
                );
                let row: rows::RunRow = sqlx::query_as(&sql)
                    .bind(installation)
                    .bind(trigger.as_str())
                    .bind(dry_run)
                    .bind(full)
                    .bind(now())
                    .bind(serde_json::to_string(&relais_core::integration::RunCounts::default()).expect("counts serialise"))
                    .bind(requested_by)
                    .fetch_one(&self.pool)
                    .await?;
                row.try_into()
            }

            async fn open_runs(&self, limit: u32) -> Result<Vec<relais_core::integration::SyncRun>> {
                let sql = format!("SELECT {} FROM sync_runs WHERE status IN ('queued', 'running') ORDER BY id LIMIT $1", rows::RUN_COLUMNS);
                let found: Vec<rows::RunRow> = sqlx::query_as(&sql).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn start_run(&self, run: i64, owner: &str, full: bool) -> Result<relais_core::integration::SyncRun> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                let at = now();
                let installation: Option<i64> = sqlx::query_scalar("SELECT installation_id FROM sync_runs WHERE id = $1")
                    .bind(run)
                    .fetch_optional(&mut *tx)
                    .await?;
                let installation = installation.ok_or(StoreError::NotFound { entity: "sync run", key: run.to_string() })?;
                sqlx::query(
                    "UPDATE sync_runs SET status = 'interrupted', finished_at = $3, error = $4 \
                     WHERE installation_id = $1 AND status = 'running' AND id <> $2",
                )
                .bind(installation)
                .bind(run)
                .bind(at)
                .bind(format!("the relais process running it stopped; run {run} took over"))
                .execute(&mut *tx)
                .await?;
                let sql = format!(
                    "UPDATE sync_runs SET status = 'running', owner = $2, started_at = $3, full_run = $4 WHERE id = $1 RETURNING {}",
                    rows::RUN_COLUMNS
                );
                let row: rows::RunRow = sqlx::query_as(&sql).bind(run).bind(owner).bind(at).bind(full).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn record_run_progress(
                &self,
                run: i64,
                lines: &[relais_core::integration::ReportLine],
                counts: &relais_core::integration::StoredCounts,
                partner_requests: u64,
            ) -> Result<()> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                let running = sqlx::query("UPDATE sync_runs SET counts = $2, partner_requests = $3 WHERE id = $1 AND status = 'running'")
                    .bind(run)
                    .bind(serde_json::to_string(counts).expect("counts serialise"))
                    .bind(i64::try_from(partner_requests).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                // A finished run's report is closed: its lines and counts
                // stay as they were finished, together.
                if running {
                    append_lines!($db, tx, run, lines);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn finish_run(&self, run: i64, finish: &crate::RunFinish<'_>) -> Result<relais_core::integration::SyncRun> {
                let mut tx = self.pool.begin_with(Self::BEGIN).await?;
                append_lines!($db, tx, run, finish.lines);
                let sql = format!(
                    "UPDATE sync_runs SET status = $2, counts = $3, partner_requests = $4, error = $5, finished_at = $6, full_run = $7 \
                     WHERE id = $1 RETURNING {}",
                    rows::RUN_COLUMNS
                );
                let row: Option<rows::RunRow> = sqlx::query_as(&sql)
                    .bind(run)
                    .bind(finish.status.as_str())
                    .bind(serde_json::to_string(&finish.counts).expect("counts serialise"))
                    .bind(i64::try_from(finish.partner_requests).unwrap_or(i64::MAX))
                    .bind(finish.error)
                    .bind(now())
                    .bind(finish.full)
                    .fetch_optional(&mut *tx)
                    .await?;
                let row = row.ok_or(StoreError::NotFound { entity: "sync run", key: run.to_string() })?;
                tx.commit().await?;
                row.try_into()
            }

            async fn get_run(&self, run: i64) -> Result<relais_core::integration::SyncRun> {
                let sql = format!("SELECT {} FROM sync_runs WHERE id = $1", rows::RUN_COLUMNS);
                let row: Option<rows::RunRow> = sqlx::query_as(&sql).bind(run).fetch_optional(&self.pool).await?;
                row.ok_or(StoreError::NotFound { entity: "sync run", key: run.to_string() })?.try_into()
            }

            async fn list_runs(&self, installation: i64, limit: u32) -> Result<Vec<relais_core::integration::SyncRun>> {
                let sql = format!(
                    "SELECT {} FROM sync_runs WHERE installation_id = $1 ORDER BY id DESC LIMIT $2",
                    rows::RUN_COLUMNS
                );
                let found: Vec<rows::RunRow> = sqlx::query_as(&sql).bind(installation).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn find_run_lines(
                &self,
                run: i64,
                filter: &crate::LineFilter,
                offset: u64,
                limit: u32,
            ) -> Result<Vec<relais_core::integration::ReportLine>> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM sync_run_lines WHERE run_id = ",
                    rows::RUN_LINE_COLUMNS
                ));
                qb.push_bind(run);
                if let Some(outcome) = &filter.outcome {
                    qb.push(" AND outcome = ");
                    qb.push_bind(outcome.clone());
                }
                if let Some(stream) = &filter.stream {
                    qb.push(" AND stream = ");
                    qb.push_bind(stream.clone());
                }
                if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    let pattern = $crate::query::like_pattern(search);
                    qb.push(" AND (LOWER(label) LIKE ");
                    qb.push_bind(pattern.clone());
                    qb.push(" ESCAPE '\\' OR LOWER(record_key) LIKE ");
                    qb.push_bind(pattern);
                    qb.push(" ESCAPE '\\')");
                }
                qb.push(" ORDER BY seq LIMIT ");
                qb.push_bind(i64::from(limit));
                qb.push(" OFFSET ");
                qb.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
                let found: Vec<rows::RunLineRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn employee_deliveries(
                &self,
                base: relais_core::ids::BaseId,
                employee: relais_core::ids::EmployeeId,
                limit: u32,
            ) -> Result<Vec<crate::Delivery>> {
                let sql = format!(
                    "SELECT i.id AS installation_id, i.app AS app, r.id AS run_id, \
                     COALESCE(r.started_at, r.requested_at) AS run_at, r.dry_run AS dry_run, {} \
                     FROM sync_run_lines l JOIN sync_runs r ON r.id = l.run_id \
                     JOIN installations i ON i.id = r.installation_id \
                     WHERE l.employee_id = $1 AND i.base_id = $2 \
                     ORDER BY l.run_id DESC, l.seq DESC LIMIT $3",
                    rows::RUN_LINE_COLUMNS
                        .split(", ")
                        .map(|c| format!("l.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let found: Vec<rows::DeliveryRow> = sqlx::query_as(&sql)
                    .bind(employee.0)
                    .bind(base.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                found.into_iter().map(TryInto::try_into).collect()
            }

            async fn partner_requests_since(&self, installation: i64, since: chrono::DateTime<chrono::Utc>) -> Result<u64> {
                let sum: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(partner_requests) AS BIGINT) FROM sync_runs WHERE installation_id = $1 AND started_at >= $2",
                )
                .bind(installation)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
                Ok(sum.unwrap_or(0).max(0) as u64)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::rows::{self, columns};

    /// A packed page keeps the order its rows were chosen in.
    #[test]
    fn a_packed_page_is_ordered_as_its_rows_were_chosen() {
        let o = super::order_by(&[("last_name", crate::Direction::Desc)]);
        assert_eq!(o.inner, "last_name DESC, id ASC");
        assert_eq!(o.keys, "last_name AS sort_0, id AS sort_1");
        assert_eq!(o.outer, "sort_0 DESC, sort_1 ASC");
        assert_eq!(super::order_by(&[]).outer, "sort_0 ASC");
    }

    /// A packed row is read by position, in the order its type declares
    /// its fields: each field must be a column its list reads (columns kept
    /// for the database's own use, such as a leave's slot numbers, may be
    /// left out), each once.
    #[test]
    fn packed_rows_read_columns_of_their_table() {
        fn same(fields: &[&str], cols: &[&str]) {
            assert!(!fields.is_empty(), "a row type names its fields");
            for f in fields {
                assert!(cols.contains(f), "{f} is not among {cols:?}");
                assert_eq!(fields.iter().filter(|g| *g == f).count(), 1, "{f} twice");
            }
        }
        same(super::row_fields::<rows::EmployeeRow>(), columns::EMPLOYEES);
        // Read by position: the very columns, in their order.
        assert_eq!(
            super::row_fields::<rows::EmployeeRow>(),
            columns::EMPLOYEES,
            "an employee row's fields are the columns its queries select, in order"
        );
        same(
            super::row_fields::<rows::EmployeeLogRow>(),
            rows::EMPLOYEE_LOG_COLUMNS,
        );
        same(
            super::row_fields::<rows::LeavePeriodRow>(),
            columns::LEAVE_PERIODS,
        );
        same(
            super::row_fields::<rows::ExpenseClaimRow>(),
            columns::EXPENSE_CLAIMS,
        );
        same(
            super::row_fields::<rows::ExpenseItemRow>(),
            columns::EXPENSE_ITEMS,
        );
        same(
            super::row_fields::<rows::DepartmentRow>(),
            columns::DEPARTMENTS,
        );
        same(
            super::row_fields::<rows::EstablishmentRow>(),
            columns::ESTABLISHMENTS,
        );
        same(
            super::row_fields::<rows::LegalUnitRow>(),
            columns::LEGAL_UNITS,
        );
        same(
            super::row_fields::<rows::AbsenceAccountRow>(),
            columns::ABSENCE_ACCOUNTS,
        );
        same(
            super::row_fields::<rows::ExpenseNatureRow>(),
            columns::EXPENSE_NATURES,
        );
        same(
            super::row_fields::<rows::AxisSectionRow>(),
            columns::AXIS_SECTIONS,
        );
    }
}
