//! Webhook endpoints and their deliveries: the change feed pushed to the
//! URLs keys register.

use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use relais_core::activity::Actor;
use relais_core::events::TopicFilter;
use relais_core::ids::{BaseId, DeliveryId, EndpointId, EstablishmentId, KeyId};
use relais_core::webhooks::{Delivery, DeliveryStatus, Endpoint, EndpointSetup, EndpointStatus};

/// An endpoint about to be stored.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// What it receives, and where (its URL checked, its base the key's).
    pub setup: EndpointSetup,
    /// Its secrets, sealed.
    pub sealed_secrets: String,
    /// Where it stands after its activation.
    pub status: EndpointStatus,
    /// Why, when not active.
    pub status_reason: Option<String>,
    /// The event it starts after (the base's latest when it is made).
    pub cursor: i64,
}

/// A delivery about to be made.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The event's number (0 for a test).
    pub event_seq: i64,
    /// Its topic.
    pub topic: String,
    /// `webhook-id`.
    pub message_id: String,
    /// The body to post.
    pub body: String,
}

/// What one attempt of a delivery came to.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// Where the delivery stands now.
    pub status: DeliveryStatus,
    /// The answer's HTTP status, if one came.
    pub http_status: Option<u16>,
    /// The failure, in words.
    pub error: Option<String>,
    /// How long the attempt took.
    pub latency_ms: i64,
    /// When to try again (pending).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub at: DateTime<Utc>,
}

/// A delivery made from a new event, with what its first attempt came to.
#[derive(Debug, Clone)]
pub struct SentDelivery {
    /// The delivery.
    pub delivery: NewDelivery,
    /// Its first attempt (none: not tried yet, due at once).
    pub outcome: Option<AttemptOutcome>,
}

/// What storing deliveries did to their endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Whether the cursor moved (it had not been moved by someone else).
    pub moved: bool,
    /// Since when the endpoint fails after the last attempt (none: it does not).
    pub failing_since: Option<DateTime<Utc>>,
}

/// Webhook endpoints and deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores an endpoint, made by `by` (written in the activity journal
    /// with it, as `by` is below).
    async fn create_endpoint(&self, new: &NewEndpoint, by: Actor) -> Result<Endpoint>;

    /// One endpoint; 404 if there is none.
    async fn endpoint(&self, id: EndpointId) -> Result<Endpoint>;

    /// An endpoint's sealed secrets.
    async fn endpoint_secrets(&self, id: EndpointId) -> Result<String>;

    /// A key's endpoints, oldest first.
    async fn endpoints_of_key(&self, key: KeyId) -> Result<Vec<Endpoint>>;

    /// Every active endpoint, of every base.
    async fn active_endpoints(&self) -> Result<Vec<Endpoint>>;

    /// Sets where an endpoint stands; becoming active clears its failures.
    /// A change of status is written in the activity journal naming `by`
    /// (relais itself when its deliverer suspends the endpoint); the same
    /// status again is not.
    async fn set_endpoint_status(
        &self,
        id: EndpointId,
        status: EndpointStatus,
        reason: Option<&str>,
        by: Actor,
    ) -> Result<()>;

    /// Replaces an endpoint's sealed secrets; the previous one signs until `previous_until`.
    async fn set_endpoint_secrets(
        &self,
        id: EndpointId,
        sealed: &str,
        previous_until: Option<DateTime<Utc>>,
        by: Actor,
    ) -> Result<()>;

    /// Deletes an endpoint and its deliveries.
    async fn delete_endpoint(&self, id: EndpointId, by: Actor) -> Result<()>;

    /// Moves an endpoint's cursor back (or on) to `after`: the events after
    /// it are delivered (again).
    async fn set_endpoint_cursor(&self, id: EndpointId, after: i64, by: Actor) -> Result<()>;

    /// Queues `delivery`, a test message, to be posted to an endpoint at
    /// once, and writes who asked for it in the journal, in one
    /// transaction; the endpoint's cursor stays where it is.
    async fn queue_test_delivery(
        &self,
        id: EndpointId,
        delivery: &NewDelivery,
        by: Actor,
    ) -> Result<()>;

    /// Makes `deliveries` of an endpoint and moves its cursor from `from` to
    /// `to`, in one transaction; `false` (nothing written) if the cursor was
    /// no longer at `from`.
    async fn enqueue_deliveries(
        &self,
        id: EndpointId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
        at: DateTime<Utc>,
    ) -> Result<bool>;

    /// Stores deliveries made from new events and already posted (each
    /// with its attempt, or none when it was not tried), moves the endpoint's
    /// cursor from `from` to `to` and notes whether it fails after the last
    /// attempt, in one transaction. The deliveries are stored even if the
    /// cursor was no longer at `from` (moved by a replay): they were posted.
    async fn record_sent(
        &self,
        id: EndpointId,
        from: i64,
        to: i64,
        sent: &[SentDelivery],
        at: DateTime<Utc>,
    ) -> Result<Recorded>;

    /// An endpoint's pending deliveries due by `now`, oldest first.
    async fn due_deliveries(
        &self,
        id: EndpointId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;

    /// Records attempts of an endpoint's deliveries, in one transaction,
    /// and whether the endpoint is failing after the last of them (since
    /// the first failure that followed a success); returns since when it fails.
    async fn record_attempts(
        &self,
        endpoint: EndpointId,
        attempts: &[(DeliveryId, AttemptOutcome)],
    ) -> Result<Option<DateTime<Utc>>>;

    /// A page of an endpoint's delivery log, newest first: those made
    /// before `query.before` (all, if none), of `query.status` if given.
    /// Read through an index of the endpoint's deliveries by number (and
    /// by status), so that a deep page costs what the first one does.
    async fn list_deliveries(&self, id: EndpointId, query: &DeliveryQuery)
        -> Result<Vec<Delivery>>;

    /// Deletes the deliveries made before `before` that are over (delivered,
    /// or given up); how many. Pending ones are kept, however old.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Which page of an endpoint's delivery log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only the deliveries made before this one (older); none: the latest.
    pub before: Option<DeliveryId>,
    /// Only the deliveries with this status.
    pub status: Option<DeliveryStatus>,
    /// At most this many.
    pub limit: u32,
}

impl DeliveryQuery {
    /// The `limit` latest deliveries, whatever their status.
    pub fn latest(limit: u32) -> Self {
        Self {
            before: None,
            status: None,
            limit,
        }
    }
}

selected_row! {
    /// A row of `webhook_endpoints`.
    pub(crate) struct EndpointRow, columns ENDPOINT_COLUMNS {
        id: i64,
        base_id: i64,
        key_id: i64,
        name: String,
        url: String,
        topics: String,
        establishments: Option<String>,
        status: String,
        status_reason: Option<String>,
        cursor: i64,
        failing_since: Option<DateTime<Utc>>,
        previous_until: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
    }
}

fn corrupt(message: String) -> StoreError {
    StoreError::Corrupt {
        entity: "webhook endpoint",
        message,
    }
}

impl TryFrom<EndpointRow> for Endpoint {
    type Error = StoreError;
    fn try_from(r: EndpointRow) -> Result<Self> {
        Ok(Endpoint {
            id: EndpointId(r.id),
            setup: EndpointSetup {
                base_id: BaseId(r.base_id),
                key_id: KeyId(r.key_id),
                name: r.name,
                url: r.url,
                topics: TopicFilter::parse_list(&r.topics).map_err(|e| corrupt(e.to_string()))?,
                establishments: r
                    .establishments
                    .map(|list| {
                        list.split(',')
                            .map(|id| id.parse().map(EstablishmentId))
                            .collect::<std::result::Result<Vec<_>, _>>()
                    })
                    .transpose()
                    .map_err(|e| corrupt(e.to_string()))?,
            },
            status: EndpointStatus::parse(&r.status).map_err(|e| corrupt(e.to_string()))?,
            status_reason: r.status_reason,
            cursor: r.cursor,
            failing_since: r.failing_since,
            previous_until: r.previous_until,
            created_at: r.created_at,
        })
    }
}

/// A topic filter list as stored.
pub(crate) fn topics_text(topics: &[TopicFilter]) -> String {
    topics
        .iter()
        .map(TopicFilter::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

selected_row! {
    /// A row of `webhook_deliveries`.
    pub(crate) struct DeliveryRow, columns DELIVERY_COLUMNS {
        id: i64,
        endpoint_id: i64,
        event_seq: i64,
        topic: String,
        message_id: String,
        body: String,
        status: String,
        attempts: i64,
        next_attempt_at: Option<DateTime<Utc>>,
        last_status: Option<i64>,
        last_error: Option<String>,
        last_latency_ms: Option<i64>,
        created_at: DateTime<Utc>,
        delivered_at: Option<DateTime<Utc>>,
    }
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self> {
        Ok(Delivery {
            id: DeliveryId(r.id),
            endpoint_id: EndpointId(r.endpoint_id),
            event_seq: r.event_seq,
            topic: r.topic,
            message_id: r.message_id,
            body: r.body,
            status: DeliveryStatus::parse(&r.status).map_err(|e| corrupt(e.to_string()))?,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            next_attempt_at: r.next_attempt_at,
            last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: r.last_error,
            last_latency_ms: r.last_latency_ms,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        })
    }
}

/// Implements [`WebhookStore`] for a backend (`$store`, over `$db`): its
/// SQL, written once for both (see `sql.rs`).
macro_rules! webhook_store {
    ($store:ident, $db:ty) => {
        mod webhook_sql {
            use super::$store;
            use crate::dialect::Dialect;
            use crate::webhooks::*;
            use crate::{Result, StoreError};
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use relais_core::activity::{Action, Actor, NewActivity};
            use relais_core::ids::{DeliveryId, EndpointId, KeyId};
            use relais_core::webhooks::{Delivery, DeliveryStatus, Endpoint, EndpointStatus};

            fn missing(id: EndpointId) -> StoreError {
                StoreError::NotFound { entity: "webhook endpoint", key: id.to_string() }
            }

            /// Whether an attempt delivered its message (whose body is then
            /// no longer kept: it is not posted again).
            fn delivered(outcome: Option<&AttemptOutcome>) -> bool {
                outcome.is_some_and(|o| o.status == DeliveryStatus::Delivered)
            }

            /// Whether a statement about endpoint `id` found it.
            fn found(rows: u64, id: EndpointId) -> Result<()> {
                if rows == 0 {
                    Err(missing(id))
                } else {
                    Ok(())
                }
            }

            /// The deliverer's busiest writes, run on the write lane by
            /// their [`WebhookStore`] methods.
            impl $store {
                /// Stores deliveries of an endpoint (see
                /// [`WebhookStore::record_sent`]), moving its cursor from `from`
                /// to `to`; when the cursor was no longer at `from`, writes
                /// nothing unless `posted`.
                async fn make_now(&self, id: EndpointId, from: i64, to: i64, made: &[SentDelivery], at: DateTime<Utc>, posted: bool) -> Result<Recorded> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let moved = sqlx::query("UPDATE webhook_endpoints SET cursor = $3 WHERE id = $1 AND cursor = $2")
                        .bind(id.0)
                        .bind(from)
                        .bind(to)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        > 0;
                    if !moved && !posted {
                        return Ok(Recorded { moved, failing_since: None });
                    }
                    bulk_insert!($db, tx, "webhook_deliveries",
                        &["endpoint_id", "event_seq", "topic", "message_id", "body", "status", "attempts", "next_attempt_at",
                          "last_status", "last_error", "last_latency_ms", "created_at", "delivered_at"],
                        made, |b, m| {
                            let (d, o) = (&m.delivery, m.outcome.as_ref());
                            b.push_bind(id.0)
                                .push_bind(d.event_seq)
                                .push_bind(&d.topic)
                                .push_bind(&d.message_id)
                                .push_bind(if delivered(o) { "" } else { &d.body })
                                .push_bind(o.map_or(DeliveryStatus::Pending, |o| o.status).code())
                                .push_bind(i64::from(o.is_some()))
                                .push_bind(o.map_or(Some(at), |o| o.next_attempt_at))
                                .push_bind(o.and_then(|o| o.http_status).map(i64::from))
                                .push_bind(o.and_then(|o| o.error.as_deref()))
                                .push_bind(o.map(|o| o.latency_ms))
                                .push_bind(at)
                                .push_bind(o.filter(|o| delivered(Some(o))).map(|o| o.at));
                        });
                    // The failures come last: the endpoint fails if one did.
                    let last = made.iter().filter_map(|m| m.outcome.as_ref()).max_by_key(|o| o.status != DeliveryStatus::Delivered);
                    let failing_since = match last {
                        Some(last) => Self::note_failing(&mut tx, id, last).await?,
                        None => None,
                    };
                    tx.commit().await?;
                    Ok(Recorded { moved, failing_since })
                }

                /// Notes whether an endpoint fails after its `last` attempt;
                /// since when it does.
                async fn note_failing(tx: &mut crate::kept::Tx<$db>, endpoint: EndpointId, last: &AttemptOutcome) -> Result<Option<DateTime<Utc>>> {
                    let ok = last.status == DeliveryStatus::Delivered;
                    Ok(sqlx::query_scalar(
                        "UPDATE webhook_endpoints SET failing_since = CASE WHEN $2 THEN NULL ELSE COALESCE(failing_since, $3) END \
                         WHERE id = $1 RETURNING failing_since",
                    )
                    .bind(endpoint.0)
                    .bind(ok)
                    .bind(last.at)
                    .fetch_optional(&mut **tx)
                    .await?
                    .flatten())
                }

                /// See [`WebhookStore::record_attempts`].
                async fn record_now(&self, endpoint: EndpointId, attempts: &[(DeliveryId, AttemptOutcome)]) -> Result<Option<DateTime<Utc>>> {
                    let Some((_, last)) = attempts.last() else {
                        return Ok(None);
                    };
                    // One statement for the whole batch: the writer is held
                    // for one step, not one per attempt.
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "WITH v (id, status, next_attempt_at, last_status, last_error, last_latency_ms, at) AS (",
                    );
                    qb.push_values(attempts, |mut b, (delivery, o)| {
                        b.push_bind(delivery.0)
                            .push_bind(o.status.code())
                            .push_bind(o.next_attempt_at)
                            .push_bind(o.http_status.map(i64::from))
                            .push_bind(o.error.as_deref())
                            .push_bind(o.latency_ms)
                            .push_bind(o.at);
                    });
                    qb.push(
                        ") UPDATE webhook_deliveries SET status = v.status, attempts = attempts + 1, \
                         next_attempt_at = v.next_attempt_at, last_status = v.last_status, last_error = v.last_error, \
                         last_latency_ms = v.last_latency_ms, \
                         body = CASE WHEN v.status = 'delivered' THEN '' ELSE webhook_deliveries.body END, \
                         delivered_at = CASE WHEN v.status = 'delivered' THEN v.at ELSE webhook_deliveries.delivered_at END \
                         FROM v WHERE webhook_deliveries.id = v.id AND webhook_deliveries.endpoint_id = ",
                    );
                    qb.push_bind(endpoint.0);
                    let done = qb.build().execute(&mut *tx).await?;
                    if done.rows_affected() != attempts.len() as u64 {
                        let key = attempts.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>().join(", ");
                        return Err(StoreError::NotFound { entity: "webhook delivery", key });
                    }
                    let since = Self::note_failing(&mut tx, endpoint, last).await?;
                    tx.commit().await?;
                    Ok(since)
                }

                /// Endpoint `id` as the transaction `tx` sees it.
                async fn endpoint_on(tx: &mut crate::kept::Tx<$db>, id: EndpointId) -> Result<Endpoint> {
                    let row: Option<EndpointRow> = sqlx::query_as(&format!(
                        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
                    ))
                    .bind(id.0)
                    .fetch_optional(&mut **tx)
                    .await?;
                    row.ok_or_else(|| missing(id))?.try_into()
                }

                /// The journal's entry for `action`, made to `endpoint` by
                /// `by` (with the endpoint's address).
                fn endpoint_activity(endpoint: &Endpoint, action: Action, by: Actor) -> NewActivity {
                    NewActivity {
                        base: Some(endpoint.setup.base_id),
                        by,
                        action,
                        target: endpoint.id.0,
                        subject: endpoint.setup.name.clone(),
                        detail: Some(endpoint.setup.url.clone()),
                    }
                }

                /// Writes `action`, made to `endpoint` by `by`, in the journal.
                async fn log_endpoint(tx: &mut crate::kept::Tx<$db>, endpoint: &Endpoint, action: Action, by: Actor) -> Result<()> {
                    Self::log_activity(tx, &Self::endpoint_activity(endpoint, action, by)).await
                }
            }

            #[async_trait]
            impl WebhookStore for $store {
                async fn create_endpoint(&self, new: &NewEndpoint, by: Actor) -> Result<Endpoint> {
                    let now = relais_core::now();
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    // Counted under a lock of the key's endpoints (on
                    // PostgreSQL; SQLite has one writer at a time), so that
                    // two made at once cannot pass the most together.
                    if let Some(lock) = Self::ADVISORY_LOCK {
                        sqlx::query(lock).bind("relais.endpoints").bind(new.setup.key_id.0).execute(&mut *tx).await?;
                    }
                    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE key_id = $1")
                        .bind(new.setup.key_id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    if held >= relais_core::webhooks::MAX_ENDPOINTS_PER_KEY {
                        return Err(StoreError::Conflict {
                            field: "url",
                            message: format!(
                                "this key has {held} webhook endpoints, the most a key may have: delete one it no longer needs first"
                            ),
                        });
                    }
                    let row: EndpointRow = sqlx::query_as(&format!(
                        "INSERT INTO webhook_endpoints (base_id, key_id, name, url, topics, establishments, secrets, status, \
                         status_reason, cursor, created_at, modified_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {ENDPOINT_COLUMNS}"
                    ))
                    .bind(new.setup.base_id.0)
                    .bind(new.setup.key_id.0)
                    .bind(&new.setup.name)
                    .bind(&new.setup.url)
                    .bind(topics_text(&new.setup.topics))
                    .bind(new.setup.establishments.as_ref().map(|ids| {
                        ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
                    }))
                    .bind(&new.sealed_secrets)
                    .bind(new.status.code())
                    .bind(new.status_reason.as_deref())
                    .bind(new.cursor)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let endpoint: Endpoint = row.try_into()?;
                    Self::log_endpoint(&mut tx, &endpoint, Action::WebhookCreated, by).await?;
                    tx.commit().await?;
                    Ok(endpoint)
                }

                async fn endpoint(&self, id: EndpointId) -> Result<Endpoint> {
                    let row: Option<EndpointRow> = sqlx::query_as(&format!(
                        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
                    ))
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.ok_or_else(|| missing(id))?.try_into()
                }

                async fn endpoint_secrets(&self, id: EndpointId) -> Result<String> {
                    let sealed: Option<String> = sqlx::query_scalar("SELECT secrets FROM webhook_endpoints WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await?;
                    sealed.ok_or_else(|| missing(id))
                }

                async fn endpoints_of_key(&self, key: KeyId) -> Result<Vec<Endpoint>> {
                    let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
                        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE key_id = $1 ORDER BY id"
                    ))
                    .bind(key.0)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn active_endpoints(&self) -> Result<Vec<Endpoint>> {
                    let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
                        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE status = 'active' ORDER BY id"
                    ))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn set_endpoint_status(&self, id: EndpointId, status: EndpointStatus, reason: Option<&str>, by: Actor) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let before = Self::endpoint_on(&mut tx, id).await?;
                    let done = sqlx::query(
                        "UPDATE webhook_endpoints SET status = $2, status_reason = $3, modified_at = $4, \
                         failing_since = CASE WHEN $2 = 'active' THEN NULL ELSE failing_since END WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(status.code())
                    .bind(reason)
                    .bind(relais_core::now())
                    .execute(&mut *tx)
                    .await?;
                    found(done.rows_affected(), id)?;
                    if before.status != status {
                        let entry = NewActivity {
                            detail: Some(relais_core::webhooks::status_detail(status, reason)),
                            ..Self::endpoint_activity(&before, Action::WebhookStatus, by)
                        };
                        Self::log_activity(&mut tx, &entry).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn set_endpoint_secrets(&self, id: EndpointId, sealed: &str, previous_until: Option<DateTime<Utc>>, by: Actor) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let done = sqlx::query(
                        "UPDATE webhook_endpoints SET secrets = $2, previous_until = $3, modified_at = $4 WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(sealed)
                    .bind(previous_until)
                    .bind(relais_core::now())
                    .execute(&mut *tx)
                    .await?;
                    found(done.rows_affected(), id)?;
                    let endpoint = Self::endpoint_on(&mut tx, id).await?;
                    Self::log_endpoint(&mut tx, &endpoint, Action::WebhookRotated, by).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn delete_endpoint(&self, id: EndpointId, by: Actor) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let endpoint = Self::endpoint_on(&mut tx, id).await?;
                    sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1").bind(id.0).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id.0).execute(&mut *tx).await?;
                    Self::log_endpoint(&mut tx, &endpoint, Action::WebhookDeleted, by).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn set_endpoint_cursor(&self, id: EndpointId, after: i64, by: Actor) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let done = sqlx::query("UPDATE webhook_endpoints SET cursor = $2, modified_at = $3 WHERE id = $1")
                        .bind(id.0)
                        .bind(after)
                        .bind(relais_core::now())
                        .execute(&mut *tx)
                        .await?;
                    found(done.rows_affected(), id)?;
                    let endpoint = Self::endpoint_on(&mut tx, id).await?;
                    let entry = NewActivity {
                        detail: Some(after.to_string()),
                        ..Self::endpoint_activity(&endpoint, Action::WebhookReplayed, by)
                    };
                    Self::log_activity(&mut tx, &entry).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn queue_test_delivery(&self, id: EndpointId, delivery: &NewDelivery, by: Actor) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let endpoint = Self::endpoint_on(&mut tx, id).await?;
                    let at = relais_core::now();
                    sqlx::query(
                        "INSERT INTO webhook_deliveries (endpoint_id, event_seq, topic, message_id, body, status, attempts, next_attempt_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)",
                    )
                    .bind(id.0)
                    .bind(delivery.event_seq)
                    .bind(&delivery.topic)
                    .bind(&delivery.message_id)
                    .bind(&delivery.body)
                    .bind(DeliveryStatus::Pending.code())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                    Self::log_endpoint(&mut tx, &endpoint, Action::WebhookTested, by).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn enqueue_deliveries(&self, id: EndpointId, from: i64, to: i64, deliveries: &[NewDelivery], at: DateTime<Utc>) -> Result<bool> {
                    let made: Vec<SentDelivery> = deliveries.iter().map(|d| SentDelivery { delivery: d.clone(), outcome: None }).collect();
                    let store = self.clone();
                    let done = self.lane.run(async move { store.make_now(id, from, to, &made, at, false).await }).await?;
                    Ok(done.moved)
                }

                async fn record_sent(&self, id: EndpointId, from: i64, to: i64, sent: &[SentDelivery], at: DateTime<Utc>) -> Result<Recorded> {
                    let (store, sent) = (self.clone(), sent.to_vec());
                    self.lane.run(async move { store.make_now(id, from, to, &sent, at, true).await }).await
                }

                async fn due_deliveries(&self, id: EndpointId, now: DateTime<Utc>, limit: u32) -> Result<Vec<Delivery>> {
                    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
                        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending' \
                         AND next_attempt_at <= $2 ORDER BY id LIMIT $3"
                    ))
                    .bind(id.0)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn record_attempts(&self, endpoint: EndpointId, attempts: &[(DeliveryId, AttemptOutcome)]) -> Result<Option<DateTime<Utc>>> {
                    let (store, attempts) = (self.clone(), attempts.to_vec());
                    self.lane.run(async move { store.record_now(endpoint, &attempts).await }).await
                }

                async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
                    // Deliveries are numbered as they are made: the old ones
                    // are those below the first made since `before`, found by
                    // reading from the oldest (no index on when they were
                    // made, which every delivery would pay for).
                    let first_kept: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM webhook_deliveries WHERE created_at >= $1 ORDER BY id LIMIT 1",
                    )
                    .bind(before)
                    .fetch_optional(&self.pool)
                    .await?;
                    // Deleted a chunk at a time, like old events, each
                    // chunk read on from the last one deleted: pending
                    // deliveries among the old are passed over once.
                    let chunk = crate::events::PRUNE_CHUNK;
                    let sql = format!(
                        "DELETE FROM webhook_deliveries WHERE id IN \
                         (SELECT id FROM webhook_deliveries WHERE id > $1 AND id < $2 \
                          AND created_at < $3 AND status <> 'pending' ORDER BY id LIMIT {chunk}) \
                         RETURNING id"
                    );
                    let (mut after, mut pruned) = (i64::MIN, 0);
                    loop {
                        let done: Vec<i64> = sqlx::query_scalar(&sql)
                            .bind(after)
                            .bind(first_kept.unwrap_or(i64::MAX))
                            .bind(before)
                            .fetch_all(&self.writer)
                            .await?;
                        pruned += done.len() as u64;
                        match done.iter().max() {
                            Some(&last) if done.len() as u64 == chunk => after = last,
                            _ => return Ok(pruned),
                        }
                    }
                }

                async fn list_deliveries(&self, id: EndpointId, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
                    // Two statements rather than `($3 IS NULL OR status = $3)`,
                    // so that each walks its own index from its start.
                    let before = query.before.map_or(i64::MAX, |d| d.0);
                    let rows: Vec<DeliveryRow> = match query.status {
                        None => sqlx::query_as(&format!(
                            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND id < $2 \
                             ORDER BY id DESC LIMIT $3"
                        ))
                        .bind(id.0)
                        .bind(before)
                        .bind(i64::from(query.limit))
                        .fetch_all(&self.pool)
                        .await?,
                        Some(status) => sqlx::query_as(&format!(
                            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND status = $2 \
                             AND id < $3 ORDER BY id DESC LIMIT $4"
                        ))
                        .bind(id.0)
                        .bind(status.code())
                        .bind(before)
                        .bind(i64::from(query.limit))
                        .fetch_all(&self.pool)
                        .await?,
                    };
                    rows.into_iter().map(TryInto::try_into).collect()
                }
            }
        }
    };
}
pub(crate) use webhook_store;
