//! The server backend: PostgreSQL, shared by any number of relais processes.

use crate::dialect::Dialect;
use crate::{Result, StoreError};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};
use std::time::Duration;

crate::handles::store_type!(
    /// The HR base in a PostgreSQL database.
    PgStore,
    sqlx::Postgres
);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections reads may hold at once, kept between statements (see
/// [`crate::kept`]).
const READERS: usize = 8;

/// Write transactions that may run at once, their connections kept from one
/// to the next (see [`crate::kept`]).
const WRITERS: usize = 4;

impl Dialect for PgStore {
    const BACKEND: &'static str = "postgres";

    const PRODUCT: &'static str = "PostgreSQL";

    /// Transactions start plainly; row locks do the rest.
    const BEGIN: &'static str = "BEGIN";

    /// Pages are read whole, in one query: the server sends rows as it
    /// finds them and the driver decodes them meanwhile. Read in parts —
    /// identifiers then rows by identifier — they cost the server three
    /// times the work (an index look-up per row), and even as ranges of
    /// identifiers the users walk took 0.38 s instead of 0.35 s.
    const PARTS_FROM: u32 = u32::MAX;

    /// Rows stream to the request, decoded in batches beside it as they
    /// arrive: nothing to gain from packing.
    const PACKED_PAGES: bool = false;

    /// The planner's belief is in `pg_class`, and `ANALYZE` settles it.
    const PLANNER_SIZE: Option<(&'static str, &'static str)> = Some((
        "SELECT reltuples::float8 FROM pg_class WHERE oid = $1::regclass",
        "ANALYZE",
    ));

    /// Writers work side by side: a lock of the transaction, on the check's
    /// name and scope.
    const ADVISORY_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(hashtext($1), CAST($2 AS INTEGER))");

    /// Each statement waits on the server's answer: a transaction stays on
    /// the write lane, whose thread does nothing else meanwhile.
    const WRITES_WHERE_CALLED: bool = false;

    /// A setting of the transaction (it lasts until the commit, when the
    /// deferred raise would run).
    const BULK_WRITE: (&'static str, &'static str) =
        ("SELECT set_config('relais.bulk', 'on', true)", "SELECT 1");

    /// Settings of the transaction.
    const WRITE_CONTEXT: &'static str =
        "SELECT set_config('relais.source', $1, true), set_config('relais.at', CAST(CAST($2 AS TIMESTAMPTZ) AS TEXT), true)";

    /// Numbers the events committed so far first: writers leave their
    /// events unnumbered, so that they commit side by side (see the
    /// `events_numbered_after_commit` migration).
    const LAST_EVENT: &'static str = "SELECT relais_number_events($1)";

    /// Numbers the events committed so far.
    const NUMBER_EVENTS: Option<&'static str> = Some(Self::LAST_EVENT);

    /// A base's share (see the `base_versions_in_shares` migration).
    const VERSIONS_KEY: &'static str = "base_id, share";

    /// Where the row lies (stable within the statement that reads it).
    const ROW_KEY: &'static str = "ctid";

    /// Nothing to set (see the SQLite store's).
    const BULK_JOURNAL: Option<(&'static str, &'static str)> = None;

    /// Nothing to do: the event triggers run once a statement, reading all
    /// its rows (see the `events` migration).
    const BULK_CREATED_EVENTS: Option<(&'static str, &'static str)> = None;

    const KEY_SET: (&'static str, &'static str) =
        ("(SELECT jsonb_array_elements_text(CAST(", " AS jsonb)))");

    const JSON_MEMBER: (&'static str, &'static str, &'static str) =
        ("(CAST(", " AS jsonb) -> '", "')");

    /// The planner picks the index.
    const OWNERS: &'static str = "employees e";

    const PATH_ONLY: &'static str = "split_part(path, '?', 1)";

    const MONTH_OF: (&'static str, &'static str) = ("to_char(", ", 'YYYY-MM')");

    const SHARES: (&'static str, &'static str) = (
        "(SELECT x->>0 AS m, CAST(x->>1 AS BIGINT) AS employee_id, \
         CAST(x->>2 AS BIGINT) AS account_id, CAST(x->>3 AS BIGINT) AS h, \
         CAST(x->>4 AS BIGINT) AS n, CAST(x->>5 AS BIGINT) AS c \
         FROM jsonb_array_elements(CAST(",
        " AS jsonb)) AS x)",
    );

    const ID_SET: (&'static str, &'static str) = (
        "(SELECT CAST(jsonb_array_elements_text(CAST(",
        " AS jsonb)) AS BIGINT))",
    );

    const REQUESTS: (&'static str, &'static str) = (
        "SELECT CAST(x->>0 AS BIGINT), CAST(x->>1 AS BIGINT), x->>2, x->>3, \
         CAST(x->>4 AS INTEGER), CAST(x->>5 AS BIGINT), CAST(x->>6 AS BIGINT), \
         CAST(x->>7 AS TIMESTAMPTZ) FROM jsonb_array_elements(CAST(",
        " AS jsonb)) WITH ORDINALITY AS r(x, n) ORDER BY n",
    );
}

impl PgStore {
    /// Connects to `url` and applies migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let shown = crate::DatabaseUrl::Postgres(url.to_owned()).redacted();
        let connect_error = |reason: String| StoreError::Connect {
            url: shown.clone(),
            reason,
        };
        // One direct connection first: its error says why (refused, unknown
        // host, authentication), where the pool would only report a timeout.
        let probe = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        probe
            .close()
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let pool = crate::kept::checked_when_idle(PgPoolOptions::new())
            // Eight for reads (see `READERS`) and four for write
            // transactions (`WRITERS`); of the other two, one listens for
            // change events (see `watch_events`), and one is left for
            // whoever takes a connection directly (the notices of commits).
            .max_connections((READERS + WRITERS) as u32 + 2)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        crate::migrate(
            &pool,
            &MIGRATOR,
            |e| e.code().as_deref() == Some("42P01"),
            &connect_error,
        )
        .await?;
        Ok(Self(crate::handles::Handles {
            writer: crate::kept::Kept::new(pool.clone(), WRITERS),
            announcer: crate::events::Announcer::start(pool.clone()),
            pool: crate::kept::Kept::new(pool, READERS),
            signal: Default::default(),
            lane: crate::lane::WriteLane::start()?,
        }))
    }

    /// Listens on `relais_events` (sent after each commit that wrote events:
    /// see [`crate::events::Announcer`]) on a
    /// connection of its own, and raises the signal at each notice, and
    /// after each reconnection (notices may have been missed meanwhile).
    /// Stops when nobody holds the signal any more, or the pool closes.
    fn watch_events(pool: PgPool) -> crate::events::EventSignal {
        let (raise, signal) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            let bump = || raise.send_modify(|n| *n = n.wrapping_add(1));
            loop {
                let mut listener = tokio::select! {
                    () = raise.closed() => return,
                    listening = async {
                        let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
                        l.listen("relais_events").await?;
                        Ok::<_, sqlx::Error>(l)
                    } => match listening {
                        Ok(l) => l,
                        Err(e) if pool.is_closed() => { let _ = e; return }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot listen for change events; trying again in 1 s");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    },
                };
                bump();
                loop {
                    tokio::select! {
                        () = raise.closed() => return,
                        notice = listener.try_recv() => match notice {
                            Ok(_) => bump(),
                            Err(_) if pool.is_closed() => return,
                            Err(e) => {
                                tracing::warn!(error = %e, "lost the change events' listening connection; reconnecting");
                                break;
                            }
                        },
                    }
                }
            }
        });
        signal
    }
}

sql_store!(PgStore, sqlx::Postgres);
