//! The activity journal: each change to keys, installed apps, webhook
//! endpoints, test bases and accounts writes its entry here, in its own
//! transaction (see [`relais_core::activity`]).

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use relais_core::activity::{Activity, ActivityQuery};

/// Reading the activity journal; entries are written by the changes they
/// tell, through the store's other areas.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// The entries `query` asks for, newest first.
    async fn list_activity(&self, query: &ActivityQuery) -> Result<Vec<Activity>>;

    /// Deletes the journal's entries and the accounts' changes made before
    /// `before`, a chunk at a time; how many of each went.
    async fn prune_journal(&self, before: DateTime<Utc>) -> Result<(u64, u64)>;
}

/// Implements [`ActivityStore`] for a backend (`$store`, over `$db`), and
/// the writing of an entry the other areas call in their transactions.
macro_rules! activity_store {
    ($store:ident, $db:ty) => {
        mod activity_sql {
            use super::$store;
            use crate::{ActivityStore, Result, StoreError};
            use async_trait::async_trait;
            use relais_core::activity::{Action, Activity, ActivityQuery, Actor, NewActivity, TargetKind};
            use relais_core::ids::*;

            type Conn = <$db as sqlx::Database>::Connection;

            /// A journal entry as selected, with the names of its base and
            /// of who made it.
            type Row = (
                i64,
                chrono::DateTime<chrono::Utc>,
                Option<i64>,
                Option<String>,
                String,
                Option<i64>,
                Option<i64>,
                Option<String>,
                String,
                i64,
                String,
                Option<String>,
            );

            impl $store {
                /// Writes `entry` on `conn`, in the transaction of the change
                /// it tells.
                pub(crate) async fn log_activity(conn: &mut Conn, entry: &NewActivity) -> Result<()> {
                    let (person, key) = match entry.by {
                        Actor::Person(p) => (Some(p.0), None),
                        Actor::Key(k) => (None, Some(k.0)),
                        Actor::CommandLine | Actor::Relais => (None, None),
                    };
                    sqlx::query(
                        "INSERT INTO activity (at, base_id, by_kind, by_person_id, by_key_id, action, target_id, subject, detail) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(relais_core::now())
                    .bind(entry.base.map(|b| b.0))
                    .bind(entry.by.code())
                    .bind(person)
                    .bind(key)
                    .bind(entry.action.code())
                    .bind(entry.target)
                    .bind(entry.subject.as_str())
                    .bind(entry.detail.as_deref())
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                }
            }

            fn read(row: Row) -> Result<Activity> {
                let (id, at, base_id, base_name, by_kind, person, key, by_name, action, target, subject, detail) = row;
                let corrupt = |message: String| StoreError::Corrupt { entity: "activity", message };
                let action = Action::parse(&action).ok_or_else(|| corrupt(format!("unknown action {action:?}")))?;
                let by = match (by_kind.as_str(), person, key) {
                    ("person", Some(p), _) => Actor::Person(PersonId(p)),
                    ("key", _, Some(k)) => Actor::Key(KeyId(k)),
                    ("command-line", _, _) => Actor::CommandLine,
                    ("relais", _, _) => Actor::Relais,
                    (other, _, _) => return Err(corrupt(format!("entry {id}: unknown actor {other:?}"))),
                };
                Ok(Activity {
                    id: ActivityId(id),
                    at,
                    base: base_id.map(|b| (BaseId(b), base_name.unwrap_or_default())),
                    by,
                    by_name,
                    action,
                    target,
                    subject,
                    detail,
                })
            }

            #[async_trait]
            impl ActivityStore for $store {
                async fn prune_journal(&self, before: chrono::DateTime<chrono::Utc>) -> Result<(u64, u64)> {
                    let sql = |table: &str| {
                        format!(
                            "DELETE FROM {table} WHERE id IN \
                             (SELECT id FROM {table} WHERE at < $1 ORDER BY at LIMIT {})",
                            crate::events::PRUNE_CHUNK
                        )
                    };
                    let entries = delete_in_chunks!(&self.writer, &sql("activity"), before);
                    let changes = delete_in_chunks!(&self.writer, &sql("account_changes"), before);
                    Ok((entries, changes))
                }

                async fn list_activity(&self, query: &ActivityQuery) -> Result<Vec<Activity>> {
                    let mut sql = String::from(
                        "SELECT a.id, a.at, a.base_id, b.name, a.by_kind, a.by_person_id, a.by_key_id, \
                         COALESCE(p.name, k.name), a.action, a.target_id, a.subject, a.detail \
                         FROM activity a LEFT JOIN bases b ON b.id = a.base_id \
                         LEFT JOIN people p ON p.id = a.by_person_id \
                         LEFT JOIN api_keys k ON k.id = a.by_key_id \
                         WHERE a.id < $1",
                    );
                    // The actions about the kinds of record asked for, as
                    // codes written in the statement (they are relais's own).
                    let kinds: Vec<TargetKind> = match query.target {
                        Some((kind, _)) => vec![kind],
                        None => query.kinds.clone(),
                    };
                    if !kinds.is_empty() {
                        let codes: Vec<String> = Action::ALL
                            .iter()
                            .filter(|a| kinds.contains(&a.target()))
                            .map(|a| format!("'{}'", a.code()))
                            .collect();
                        sql.push_str(&format!(" AND a.action IN ({})", codes.join(", ")));
                    }
                    if query.target.is_some() {
                        sql.push_str(" AND a.target_id = $2");
                    } else {
                        sql.push_str(" AND $2 = $2");
                    }
                    if query.by_person.is_some() {
                        sql.push_str(" AND a.by_person_id = $3");
                    } else {
                        sql.push_str(" AND $3 = $3");
                    }
                    sql.push_str(" ORDER BY a.id DESC LIMIT $4");
                    let rows: Vec<Row> = sqlx::query_as(&sql)
                        .bind(query.before.map_or(i64::MAX, |b| b.0))
                        .bind(query.target.map_or(0, |(_, id)| id))
                        .bind(query.by_person.map_or(0, |p| p.0))
                        .bind(i64::from(query.limit))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter().map(read).collect()
                }
            }
        }
    };
}
pub(crate) use activity_store;
