//! The SQL of the HR base, written once for both backends.
//!
//! Both databases accept the same statements with `$n` placeholders, so each
//! area's file (`hr.rs`, `access.rs`, `marketplace.rs`, `sync.rs`,
//! `reports.rs`) writes its SQL once, in a macro that [`sql_store!`] expands
//! for each backend; each backend module only connects and migrates. This
//! file holds what the areas share: bulk inserts, packed and streamed pages,
//! query conditions.

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
pub(crate) fn order_by(
    order: &[(&'static relais_core::fields::Field, crate::Direction)],
) -> OrderBy {
    let all: Vec<(&str, &str)> = order
        .iter()
        .map(|(f, d)| {
            let dir = if *d == crate::Direction::Desc {
                "DESC"
            } else {
                "ASC"
            };
            // A field kept nowhere is refused before (`ListQuery::check`).
            (crate::fields::column(f).unwrap_or("id"), dir)
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

/// A base's version (`"version"` or `"structure"`) as SQL, for the base
/// `$base` (a parameter or a column): the sum of its shares (PostgreSQL
/// keeps it in shares so that writers raise it side by side; SQLite in one
/// row), empty when the base has never been written.
macro_rules! versions_of {
    ($column:literal, $base:literal) => {
        concat!(
            "(SELECT CAST(SUM(v.",
            $column,
            ") AS BIGINT) FROM base_versions v WHERE v.base_id = ",
            $base,
            ")"
        )
    };
}

/// Runs `$sql` — a `DELETE` of at most [`crate::events::PRUNE_CHUNK`] rows
/// made before its `$1`, `$before` — on `$writer` until a chunk deletes
/// fewer: how many rows went in all (the pruning of old records).
macro_rules! delete_in_chunks {
    ($writer:expr, $sql:expr, $before:expr) => {{
        let mut pruned = 0;
        loop {
            let done = sqlx::query($sql)
                .bind($before)
                .execute($writer)
                .await?
                .rows_affected();
            pruned += done;
            if done < crate::events::PRUNE_CHUNK {
                break pruned;
            }
        }
    }};
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

/// Declares a row read by column name together with the list of the
/// columns its queries select (comma-separated, in the fields' order), so
/// that what a query selects and what its row reads are one list.
macro_rules! selected_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident, columns $columns:ident {
            $first:ident: $fty:ty, $($field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        $vis struct $name { $first: $fty, $($field: $ty,)* }

        #[doc = concat!("The columns of [`", stringify!($name), "`], in its fields' order.")]
        $vis const $columns: &str = concat!(stringify!($first) $(, ", ", stringify!($field))*);
    };
}

/// Declares a row type read by position: its fields are its table's
/// columns in the order its queries select them, so that a row is decoded
/// without looking each column up by its name (those look-ups were about a
/// tenth of the time a PostgreSQL page of employees took), nor checking each
/// value's declared type against the field's (the schema is relais's own,
/// and a value that does not decode still fails: a walk of 100,000
/// employees on PostgreSQL went from 0.345 s to 0.31 s). A unit test keeps
/// the employees' row equal to the column list its queries select; a
/// report's group row follows the `SELECT` of its one query (same file).
macro_rules! read_by_position {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident: $ty:ty,)* }
    ) => {
        $(#[$meta])*
        pub struct $name { $($(#[$fmeta])* $fvis $field: $ty,)* }

        impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for $name
        where
            usize: sqlx::ColumnIndex<R>,
            $($ty: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,)*
        {
            #[allow(unused_assignments)]
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                let mut at = 0usize;
                Ok(Self {
                    $($field: {
                        let value = row.try_get_unchecked(at)?;
                        at += 1;
                        value
                    },)*
                })
            }
        }
    };
}

/// Inserts `rows` in one transaction of the store (see [`bulk_insert!`]).
///
/// The rows skip the per-row raise of their base's data version: the
/// transaction raises every base's version once instead (see the
/// `base_versions` migration). Their events, if their table has some, are
/// written after them (see `rows_end`).
macro_rules! insert_rows {
    ($db:ty, $store:expr, $table:literal, $cols:expr, $rows:expr, |$b:ident, $r:ident| $body:block) => {{
        bulk_transaction!($store, tx, {
            let end = Self::rows_end(&mut tx, $table).await?;
            bulk_insert!($db, tx, $table, $cols, $rows, |$b, $r| $body);
            Self::write_created_events(&mut tx, $table, end).await?;
        })
    }};
}

/// Inserts whole records of one of a base's tables (see [`insert_rows!`]):
/// binds each record's `base_id` and `id`, then the `$value`s in the order
/// of `$cols`, then its `created_at` and `modified_at`.
macro_rules! insert_base_rows {
    ($db:ty, $store:expr, $table:literal, $cols:expr, $rows:expr, |$r:ident| [$($value:expr),* $(,)?]) => {
        insert_rows!($db, $store, $table, $cols, $rows, |b, $r| {
            b.push_bind($r.base_id.0).push_bind($r.id.0);
            $(b.push_bind($value);)*
            b.push_bind($r.created_at).push_bind($r.modified_at);
        })
    };
}

/// Runs `$body` in a bulk write's transaction (see `bulk_start`), on a
/// connection whose statement journals stay in memory for it (see
/// `BULK_JOURNAL`), and commits.
macro_rules! bulk_transaction {
    ($store:expr, $tx:ident, $body:block) => {{
        let mut conn = $store.writer.acquire().await?;
        if let Some((during, _)) = Self::BULK_JOURNAL {
            sqlx::query(during).execute(&mut *conn).await?;
        }
        let written = async {
            let mut $tx = sqlx::Connection::begin_with(&mut *conn, Self::BEGIN).await?;
            Self::bulk_start(&mut $tx).await?;
            $body
            Self::bulk_end(&mut $tx).await?;
            $tx.commit().await?;
            $store.announcer.announce();
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
                    $qb.push(c.sql());
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
                Cond::In(values) | Cond::NullOrIn(values) => {
                    if matches!(c.cond, Cond::NullOrIn(_)) {
                        $qb.push(c.sql());
                        $qb.push(" IS NULL OR ");
                    }
                    $qb.push(c.sql());
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
                    $qb.push(c.sql());
                    $qb.push(" IS NULL");
                }
                Cond::IsNotNull => {
                    $qb.push(c.sql());
                    $qb.push(" IS NOT NULL");
                }
                Cond::NullOrGte(v) | Cond::NullOrLte(v) => {
                    $qb.push(c.sql());
                    $qb.push(" IS NULL OR ");
                    $qb.push(c.sql());
                    $qb.push(if matches!(c.cond, Cond::NullOrGte(_)) {
                        " >= "
                    } else {
                        " <= "
                    });
                    push_value!($qb, v);
                }
                Cond::IsOrManagerOf(id) => {
                    // Two look-ups of the primary key; a missing manager
                    // (NULL) matches nothing.
                    $qb.push(c.sql());
                    $qb.push(" IN (");
                    $qb.push_bind(*id);
                    $qb.push(", (SELECT m.manager_id FROM employees m WHERE m.base_id = employees.base_id AND m.id = ");
                    $qb.push_bind(*id);
                    $qb.push("))");
                }
                Cond::Like(text) => {
                    $qb.push("lower(");
                    $qb.push(c.sql());
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
/// connection the SQLite store's reads hold) start its conversion sooner
/// than four did.
pub(crate) const PART_ROWS: usize = 125;

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
        $q.check($table)?;
        let q: &$crate::ListQuery = &$q.scoped($table);
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
            let by_range = q
                .order
                .iter()
                .all(|(f, _)| $crate::fields::column(f) == Some("id"));
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

/// The methods of [`HrStore`](crate::HrStore) that each read a page of one
/// table's records, written as tables: a row a method. In the trait (`decl`),
/// a row names the record the method answers; in an implementation (`impl`),
/// also its row type, table and columns, and the page is read with
/// [`query_page!`]. Each method is written as `#[async_trait]` writes it,
/// returning a [`PageFuture`](crate::PageFuture), since the attribute does
/// not see inside a macro.
macro_rules! page_queries {
    (decl; $($(#[$doc:meta])* $method:ident -> $record:ty;)*) => {$(
        page_queries!(@fn $(#[$doc])* $method -> $record, (self, base, query) ;);
    )*};
    (impl $db:ty; $($method:ident -> $record:ty = $row:ty, $table:literal, $cols:expr;)*) => {$(
        page_queries!(@fn $method -> $record, (self, base, query) {
            Box::pin(async move { query_page!($db, &self.pool, $row, $table, $cols, base, query) })
        });
    )*};
    // One method: its signature (with the names its body uses), then `;`
    // (in the trait) or its body.
    (@fn $(#[$doc:meta])* $method:ident -> $record:ty, ($this:ident, $base:ident, $query:ident) $end:tt) => {
        $(#[$doc])*
        fn $method<'life0, 'life1, 'async_trait>(
            &'life0 $this,
            $base: relais_core::ids::BaseId,
            $query: &'life1 $crate::ListQuery,
        ) -> $crate::PageFuture<'async_trait, $record>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait $end
    };
}

/// Implements every area's trait, and [`crate::Store`], for a backend:
/// `$store` (over `$db`) has a `pool` and the backend's constants.
macro_rules! sql_store {
    ($store:ident, $db:ty) => {
        crate::hr::hr_store!($store, $db);
        crate::access::access_store!($store, $db);
        crate::activity::activity_store!($store, $db);
        crate::marketplace::marketplace_store!($store, $db);
        crate::sync::sync_store!($store, $db);
        crate::reports::report_store!($store, $db);
        crate::events::event_store!($store, $db);
        crate::webhooks::webhook_store!($store, $db);

        #[async_trait::async_trait]
        impl crate::Store for $store {
            fn backend(&self) -> &'static str {
                <Self as crate::dialect::Dialect>::BACKEND
            }

            fn product(&self) -> &'static str {
                <Self as crate::dialect::Dialect>::PRODUCT
            }

            async fn ping(&self) -> crate::Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
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
        let o = super::order_by(&[(
            &relais_core::fields::users::LAST_NAME,
            crate::Direction::Desc,
        )]);
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
