//! The change feed's outbox: the events the database writes with every
//! change of the records partners follow (see the `events` migration), read
//! in order within a reader's scope, and pruned when they are old.
//!
//! Who writes is known to the code that runs the write, not to the
//! database: [`writing_as`] names it for everything a task writes, and the
//! store hands it to the database at the start of each write transaction.

use crate::{Result, Scope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use relais_core::events::{Event, Topic};
use relais_core::ids::BaseId;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use tokio::sync::watch;

tokio::task_local! {
    static WRITER: String;
}

/// Runs `work` with its writes' events saying `source` wrote them
/// (`api:<key>`, `admin:<person>`, `cli`, `connector:<app>`…).
pub async fn writing_as<F: Future>(source: String, work: F) -> F::Output {
    WRITER.scope(source, work).await
}

/// Who the current task writes as: what [`writing_as`] said, else `relais`.
pub fn current_writer() -> String {
    WRITER
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "relais".to_owned())
}

/// Wakes those who wait for events: its value changes after events are
/// committed — by this process, or on PostgreSQL by any process (`LISTEN
/// relais_events`); on SQLite, another process's are seen within
/// [`SQLITE_LOOK`]. It may change with nothing new to read (another base's
/// events, a reconnection), never stays put after a commit: a waiter marks
/// it seen, reads, then waits for a change.
pub type EventSignal = watch::Receiver<u64>;

/// How often an SQLite store looks for events committed by other processes
/// (one read of the last event's number).
pub const SQLITE_LOOK: std::time::Duration = std::time::Duration::from_millis(100);

/// Old records (events, webhook deliveries, the audit trail's requests, the
/// journal's entries) deleted by one statement when they are pruned: each chunk holds the writer for a moment, and writes waiting for
/// it go between two chunks (after a long stop, or a shorter retention, a
/// prune may delete millions).
pub const PRUNE_CHUNK: u64 = 2_000;

/// A store's [`EventSignal`], started by the first to ask for it and shared
/// by the store's clones; its watcher stops when the store and every
/// signal handed out are gone.
#[derive(Clone, Default)]
pub(crate) struct SignalCell(Arc<OnceLock<EventSignal>>);

impl SignalCell {
    /// The signal, started by `start` if nobody asked before.
    pub(crate) fn get(&self, start: impl FnOnce() -> EventSignal) -> EventSignal {
        self.0.get_or_init(start).clone()
    }
}

/// Tells the readers of other processes that events were committed, after
/// the commit (PostgreSQL: a `NOTIFY relais_events` of its own, sent by a
/// task of the store). A `NOTIFY` inside the writing transaction would make
/// every such transaction take PostgreSQL's one notification lock from its
/// commit until it is on disk: the writers of all bases would commit one at
/// a time. Announcements made while one is on its way fold into the next.
/// SQLite's readers look for themselves (see `SqliteStore::watch_events`).
#[derive(Clone, Default)]
pub(crate) struct Announcer(Option<tokio::sync::mpsc::Sender<()>>);

impl Announcer {
    /// Sends `NOTIFY relais_events` on `pool` once per announcement, on a
    /// task of the current runtime that ends with the last announcer.
    pub(crate) fn start(pool: sqlx::PgPool) -> Self {
        let (announce, mut announced) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            while announced.recv().await.is_some() {
                if let Err(e) = sqlx::query("SELECT pg_notify('relais_events', '')")
                    .execute(&pool)
                    .await
                {
                    tracing::debug!(error = %e, "cannot announce change events");
                }
            }
        });
        Self(Some(announce))
    }

    /// Announces the events of a transaction just committed.
    pub(crate) fn announce(&self) {
        if let Some(announce) = &self.0 {
            // Full: an announcement not yet sent covers this commit too.
            let _ = announce.try_send(());
        }
    }
}

/// Which events to read.
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    /// Only events after this one (0: from the oldest kept).
    pub after: i64,
    /// Only these topics (empty: all).
    pub topics: Vec<Topic>,
    /// At most this many.
    pub limit: u32,
    /// What the reader may see: events about employees outside it are left out.
    pub scope: Scope,
}

/// The change events of each base.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// A base's events after `query.after`, oldest first, within the
    /// query's scope and topics (on PostgreSQL, once the committed events
    /// waiting for a number are numbered: see `relais_number_events`).
    async fn read_events(&self, base: BaseId, query: &EventQuery) -> Result<Vec<Event>>;

    /// The number of a base's latest event (0 if it has none yet): every
    /// event of the base up to it is committed. (On SQLite events are
    /// numbered across bases, so this may be another base's; on PostgreSQL
    /// the committed events waiting for a number are numbered first.)
    async fn last_event(&self, base: BaseId) -> Result<i64>;

    /// The records a base's events in `span` (after its first cursor, up to
    /// its second) of `topics` (all when empty) are about, as `(topic, record id)` in their
    /// order, at most `limit` — an update of an employee only when it
    /// changed one of `employee_fields` (every update when empty). What a
    /// run on change reads of the feed: the records are not decoded.
    async fn changed_records(
        &self,
        base: BaseId,
        span: (i64, i64),
        topics: &[Topic],
        employee_fields: &[relais_core::fields::Field],
        limit: u32,
    ) -> Result<Vec<(Topic, i64)>>;

    /// Deletes the events that occurred before `before`; how many.
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64>;

    /// What wakes a reader when events are committed (see [`EventSignal`]).
    /// Must be called within a Tokio runtime (the first call starts the
    /// store's watcher on it).
    fn event_signal(&self) -> EventSignal;
}

/// Reads a stored event's topic; one that does not read is corrupt.
pub(crate) fn decode_topic(stored: &str) -> Result<Topic> {
    stored
        .parse()
        .map_err(|e: relais_core::DomainError| crate::StoreError::Corrupt {
            entity: "event",
            message: e.to_string(),
        })
}

/// Reads a stored event's record, whose kind its topic says, from the row
/// the database wrote (`json_object` of the row on SQLite, `to_jsonb` on
/// PostgreSQL: either reads by column name).
pub(crate) fn decode_record(topic: Topic, raw: &str) -> Result<relais_core::events::Record> {
    use crate::rows::*;
    use relais_core::events::{EventKind, Record};
    fn row<R: serde::de::DeserializeOwned>(raw: &str) -> Result<R> {
        serde_json::from_str(raw).map_err(|e| crate::StoreError::Corrupt {
            entity: "event",
            message: e.to_string(),
        })
    }
    Ok(match topic.kind {
        EventKind::Employee => Record::Employee(Box::new(row::<EmployeeRow>(raw)?.try_into()?)),
        EventKind::Department => Record::Department(row::<DepartmentRow>(raw)?.try_into()?),
        EventKind::Establishment => {
            Record::Establishment(row::<EstablishmentRow>(raw)?.try_into()?)
        }
        EventKind::LegalEntity => Record::LegalEntity(row::<LegalUnitRow>(raw)?.try_into()?),
        EventKind::Leave => Record::Leave(row::<LeavePeriodRow>(raw)?.try_into()?),
        EventKind::ExpenseClaim => Record::ExpenseClaim(row::<ExpenseClaimRow>(raw)?.try_into()?),
        EventKind::ExpenseClaimItem => {
            Record::ExpenseClaimItem(row::<ExpenseItemRow>(raw)?.try_into()?)
        }
    })
}

/// Implements [`EventStore`] for a backend (`$store`, over `$db`): its SQL,
/// written once for both (see `sql.rs`).
macro_rules! event_store {
    ($store:ident, $db:ty) => {
        mod event_sql {
            use super::$store;
            use crate::dialect::Dialect;
            use crate::events::{decode_record, decode_topic, EventQuery, EventStore};
            use crate::Result;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use relais_core::events::{Event, Topic};
            use relais_core::ids::BaseId;

            type EventRow = (i64, String, DateTime<Utc>, String, String, Option<String>);

            impl $store {
                /// The start of a read of `columns` of a base's events after
                /// `after` of `topics` (all when empty), once the committed
                /// events waiting for a number are numbered.
                async fn events_after(
                    &self,
                    columns: &str,
                    base: BaseId,
                    after: i64,
                    topics: &[Topic],
                ) -> Result<sqlx::QueryBuilder<'static, $db>> {
                    if let Some(number) = Self::NUMBER_EVENTS {
                        sqlx::query(number).bind(base.0).execute(&self.pool).await?;
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {columns} FROM events WHERE base_id = "
                    ));
                    qb.push_bind(base.0);
                    qb.push(" AND seq > ");
                    qb.push_bind(after);
                    if !topics.is_empty() {
                        let topics: Vec<String> = topics.iter().map(Topic::to_string).collect();
                        qb.push(" AND topic IN ");
                        qb.push(Self::KEY_SET.0);
                        qb.push_bind(serde_json::Value::from(topics).to_string());
                        qb.push(Self::KEY_SET.1);
                    }
                    Ok(qb)
                }
            }

            #[async_trait]
            impl EventStore for $store {
                async fn read_events(&self, base: BaseId, query: &EventQuery) -> Result<Vec<Event>> {
                    let columns = "seq, topic, occurred_at, source, data, previous";
                    let mut qb = self.events_after(columns, base, query.after, &query.topics).await?;
                    push_conditions!(qb, query.scope.conditions("events"));
                    qb.push(" ORDER BY seq LIMIT ");
                    qb.push_bind(i64::from(query.limit));
                    let rows: Vec<EventRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                    rows.into_iter()
                        .map(|(seq, topic, occurred_at, source, data, previous)| {
                            let topic = decode_topic(&topic)?;
                            Ok(Event {
                                base_id: base,
                                seq,
                                topic,
                                occurred_at,
                                source,
                                data: decode_record(topic, &data)?,
                                previous: previous.as_deref().map(|p| decode_record(topic, p)).transpose()?,
                            })
                        })
                        .collect()
                }

                async fn changed_records(
                    &self,
                    base: BaseId,
                    (after, to): (i64, i64),
                    topics: &[Topic],
                    employee_fields: &[relais_core::fields::Field],
                    limit: u32,
                ) -> Result<Vec<(Topic, i64)>> {
                    let mut qb = self.events_after("topic, record_id", base, after, topics).await?;
                    qb.push(" AND seq <= ");
                    qb.push_bind(to);
                    // Columns the catalogue names, never the caller's text.
                    let columns: Option<Vec<&str>> =
                        employee_fields.iter().map(crate::fields::column).collect();
                    if let Some(columns) = columns.filter(|c| !c.is_empty()) {
                        let (open, member, close) = Self::JSON_MEMBER;
                        let changed: Vec<String> = columns
                            .iter()
                            .map(|c| {
                                format!("{open}data{member}{c}{close} IS DISTINCT FROM {open}previous{member}{c}{close}")
                            })
                            .collect();
                        // The topic as stored: its text, spelled by `Topic` alone.
                        let updated = Topic {
                            kind: relais_core::events::EventKind::Employee,
                            action: relais_core::events::EventAction::Updated,
                        };
                        qb.push(format!(" AND (topic <> '{updated}' OR {})", changed.join(" OR ")));
                    }
                    qb.push(" ORDER BY seq LIMIT ");
                    qb.push_bind(i64::from(limit));
                    let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
                    rows.into_iter()
                        .map(|(topic, id)| Ok((decode_topic(&topic)?, id)))
                        .collect()
                }

                async fn last_event(&self, base: BaseId) -> Result<i64> {
                    let last: Option<i64> = sqlx::query_scalar(Self::LAST_EVENT)
                        .bind(base.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(last.unwrap_or(0))
                }

                async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64> {
                    let chunk = crate::events::PRUNE_CHUNK;
                    let sql = format!(
                        "DELETE FROM events WHERE {key} IN \
                         (SELECT {key} FROM events WHERE occurred_at < $1 LIMIT {chunk})",
                        key = Self::ROW_KEY
                    );
                    Ok(delete_in_chunks!(&self.writer, &sql, before))
                }

                fn event_signal(&self) -> crate::events::EventSignal {
                    self.signal.get(|| Self::watch_events(self.pool.pool().clone()))
                }
            }
        }
    };
}
pub(crate) use event_store;
