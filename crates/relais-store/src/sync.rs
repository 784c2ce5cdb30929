//! What the connector runtime keeps: integrations and their settings, runs
//! and their reports, each partner's ledger and checkpoints, leases shared by
//! relais processes, and alerts.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use relais_core::ids::*;
use relais_core::integration::{
    Health, Integration, LeaseJob, LedgerJob, ReportLine, RunAsk, RunStatus, SyncRun,
};
use relais_core::ledger::Acknowledged;

/// How an integration is doing after a run, and when it runs next.
#[derive(Debug, Clone)]
pub struct IntegrationState {
    /// The installation.
    pub installation: InstallationId,
    /// Its health.
    pub health: Health,
    /// Why (empty when healthy).
    pub reason: String,
    /// The next scheduled run.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The next full reconciliation.
    pub next_full_at: Option<DateTime<Utc>>,
    /// The alert this change of health calls for, written with it.
    pub alert: Option<relais_core::alert::NewAlert>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunFinish<'a> {
    /// Its final status.
    pub status: RunStatus,
    /// Whether it ended up a full reconciliation.
    pub full: bool,
    /// Records per outcome, in all and per stream.
    pub counts: relais_core::integration::StoredCounts,
    /// Requests sent to the partner.
    pub partner_requests: u64,
    /// Why it stopped, when it failed.
    pub error: Option<&'a str>,
    /// The report's lines.
    pub lines: &'a [ReportLine],
}

/// Which lines of a run's report to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineFilter {
    /// Only this outcome (its code: `created`, `failed`…).
    pub outcome: Option<String>,
    /// Only this stream.
    pub stream: Option<String>,
    /// Only lines whose label or record key holds this text (any case).
    pub search: Option<String>,
}

/// A run's line about one employee: what an app received of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The installation whose integration ran.
    pub installation: InstallationId,
    /// The app installed (its catalog code).
    pub app: String,
    /// The run.
    pub run: RunId,
    /// When the run started (when it was asked, for one not started).
    pub at: DateTime<Utc>,
    /// Whether the run only planned.
    pub dry_run: bool,
    /// The line.
    pub line: ReportLine,
}

/// Integrations, runs and reports, ledgers, checkpoints, leases and alerts.
#[async_trait]
pub trait SyncStore: Send + Sync {
    /// Takes (or renews) the lease of `job` for `owner` until `ttl` from
    /// now, unless another owner holds an unexpired lease: `true` when the
    /// lease is `owner`'s. Atomic in both databases, so any number of
    /// processes can race for one job.
    async fn claim_lease(
        &self,
        job: &LeaseJob,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<bool>;

    /// Gives a lease back (only its owner can).
    async fn release_lease(&self, job: &LeaseJob, owner: &str) -> Result<()>;

    /// Who holds the lease of `job`, until when (expired leases included).
    async fn lease_holder(&self, job: &LeaseJob) -> Result<Option<(String, DateTime<Utc>)>>;

    /// What the partner of `job` acknowledged of these records (unknown keys are left out).
    async fn acknowledged(&self, job: &LedgerJob, keys: &[String]) -> Result<Vec<Acknowledged>>;

    /// Up to `limit` acknowledged records of `job` with keys after `after`, in key order
    /// (for full reconciliations that walk the ledger page by page).
    async fn acknowledged_page(
        &self,
        job: &LedgerJob,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Acknowledged>>;

    /// Records what the partner confirmed (insert or replace).
    async fn acknowledge(&self, job: &LedgerJob, records: &[Acknowledged]) -> Result<()>;

    /// Marks these acknowledged records of `job` as seen by the full run `tag`
    /// (unknown keys are ignored).
    async fn mark_seen(&self, job: &LedgerJob, tag: &str, keys: &[String]) -> Result<()>;

    /// Of these keys, those the full run `tag` has seen.
    async fn seen_keys(&self, job: &LedgerJob, tag: &str, keys: &[String]) -> Result<Vec<String>>;

    /// Up to `limit` acknowledged records of `job` that the full run `tag`
    /// has not seen, with keys after `after`, in key order.
    async fn unseen_page(
        &self,
        job: &LedgerJob,
        tag: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Acknowledged>>;

    /// Forgets records the partner confirmed deleting.
    async fn forget(&self, job: &LedgerJob, keys: &[String]) -> Result<()>;

    /// Forgets everything the partner of `job` acknowledged, and its
    /// checkpoints: the next run sends every record again.
    async fn reset_ledger(&self, job: &LedgerJob) -> Result<()>;

    /// The checkpoint of one stream of `job`.
    async fn checkpoint(&self, job: &LedgerJob, stream: &str) -> Result<Option<String>>;

    /// Moves the checkpoint of one stream of `job`.
    async fn set_checkpoint(&self, job: &LedgerJob, stream: &str, cursor: &str) -> Result<()>;

    /// Creates or replaces the configuration of an integration.
    async fn put_integration(&self, integration: &Integration) -> Result<()>;

    /// Replaces the configuration of an integration as someone changed it
    /// (`action`: its settings or its mapping, made by `by`), with its entry
    /// in the activity journal, in one transaction.
    async fn change_integration(
        &self,
        integration: &Integration,
        action: relais_core::activity::Action,
        by: relais_core::activity::Actor,
    ) -> Result<()>;

    /// The integration of an installation that is still installed.
    async fn get_integration(&self, installation: InstallationId) -> Result<Integration>;

    /// The integrations of installed apps, of one base or of every base.
    async fn list_integrations(&self, base: Option<BaseId>) -> Result<Vec<Integration>>;

    /// Records how an integration is doing and when its next runs are due.
    async fn set_integration_state(&self, state: &IntegrationState) -> Result<()>;

    /// Asks for a run of an integration; a runtime starts it.
    async fn queue_run(&self, ask: &RunAsk) -> Result<SyncRun>;

    /// Asks for a run as [`SyncStore::queue_run`] does, unless a run of
    /// the integration is already waiting to start: then that run, and
    /// `false`. One transaction, holding the integration's row, so that two
    /// asking at once get one run.
    async fn ask_run(&self, ask: &RunAsk) -> Result<(SyncRun, bool)>;

    /// The oldest unfinished runs of every integration: asked for and not
    /// started, or marked running (by a live process, or one that died).
    async fn open_runs(&self, limit: u32) -> Result<Vec<SyncRun>>;

    /// Starts a run for `owner` (who holds the integration's lease). A run
    /// of the same integration still marked running was left by a process
    /// that died: it is marked interrupted.
    async fn start_run(&self, run: RunId, owner: &str, full: bool) -> Result<SyncRun>;

    /// Records a running run's progress in one transaction: lines added
    /// after those it has, and its counts and partner requests so far, so
    /// that a run whose process dies keeps what it had done, with counts
    /// that always match its lines.
    async fn record_run_progress(
        &self,
        run: RunId,
        lines: &[ReportLine],
        counts: &relais_core::integration::StoredCounts,
        partner_requests: u64,
    ) -> Result<()>;

    /// Finishes a run: its status, counts, error and report lines, in one transaction.
    async fn finish_run(&self, run: RunId, finish: &RunFinish<'_>) -> Result<SyncRun>;

    /// One run.
    async fn get_run(&self, run: RunId) -> Result<SyncRun>;

    /// The latest runs of an integration, newest first.
    async fn list_runs(&self, installation: InstallationId, limit: u32) -> Result<Vec<SyncRun>>;

    /// Deletes the runs that finished before `before`, with their reports'
    /// lines, a few runs per transaction; each integration keeps its latest
    /// finished run (its last run, as the pages and the runtime read it),
    /// and runs waiting or under way are never touched. How many runs and
    /// lines went.
    async fn prune_runs(&self, before: DateTime<Utc>) -> Result<(u64, u64)>;

    /// Lines of a run's report, in the order they happened.
    async fn run_lines(&self, run: RunId, offset: u64, limit: u32) -> Result<Vec<ReportLine>> {
        self.find_run_lines(run, &LineFilter::default(), offset, limit)
            .await
    }

    /// Lines of a run's report that `filter` keeps, in the order they
    /// happened, `limit` from `offset` (among those kept).
    async fn find_run_lines(
        &self,
        run: RunId,
        filter: &LineFilter,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<ReportLine>>;

    /// What the runs of `base`'s integrations did about one employee, newest
    /// first, at most `limit` lines.
    async fn employee_deliveries(
        &self,
        base: BaseId,
        employee: EmployeeId,
        limit: u32,
    ) -> Result<Vec<Delivery>>;

    /// Alerts not sent yet whose try is due at `now`, oldest first.
    async fn due_alerts(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<relais_core::alert::Alert>>;

    /// Records that the mail server took the alert.
    async fn alert_sent(&self, id: AlertId, at: DateTime<Utc>) -> Result<()>;

    /// Records a failed try of the alert, and when to try again.
    async fn alert_failed(&self, id: AlertId, error: &str, next: DateTime<Utc>) -> Result<()>;

    /// The latest alerts about an installation, newest first.
    async fn list_alerts(
        &self,
        installation: InstallationId,
        limit: u32,
    ) -> Result<Vec<relais_core::alert::Alert>>;

    /// Requests sent to the partner by the integration's runs started since `since`.
    async fn partner_requests_since(
        &self,
        installation: InstallationId,
        since: DateTime<Utc>,
    ) -> Result<u64>;
}

/// Implements [`SyncStore`] for a backend (`$store`, over `$db`): its SQL,
/// written once for both (see `sql.rs`).
macro_rules! sync_store {
    ($store:ident, $db:ty) => {
        mod sync_sql {
            use super::$store;
            use crate::dialect::Dialect;
            use crate::SyncStore;
            use relais_core::integration::LedgerJob;
            use crate::rows;
            use crate::{Result, StoreError};
            use async_trait::async_trait;
            use relais_core::ids::*;
            use relais_core::now;

            type Conn = <$db as sqlx::Database>::Connection;

            impl $store {
                /// The base of `installation` and its name (its key's, after
                /// the app), as `conn` sees them.
                async fn installation_named(conn: &mut Conn, installation: InstallationId) -> Result<(BaseId, String)> {
                    let (base, name): (i64, String) = sqlx::query_as(
                        "SELECT i.base_id, k.name FROM installations i JOIN api_keys k ON k.id = i.key_id WHERE i.id = $1",
                    )
                    .bind(installation.0)
                    .fetch_one(&mut *conn)
                    .await?;
                    Ok((BaseId(base), name))
                }

                /// Completes `… WHERE job = ` with the ledger `job` and
                /// ` AND record_key IN` the keys of `part`, sent as one value.
                fn push_ledger_keys<'a>(qb: &mut sqlx::QueryBuilder<'a, $db>, job: &'a LedgerJob, part: &[String]) {
                    qb.push_bind(job.as_str());
                    qb.push(" AND record_key IN ");
                    qb.push(Self::KEY_SET.0);
                    qb.push_bind(serde_json::to_string(part).expect("keys serialise"));
                    qb.push(Self::KEY_SET.1);
                }

                /// The latest `limit` rows of `table` (as `columns`) about
                /// `installation`, newest first.
                async fn latest_of<R, T>(&self, table: &str, columns: &str, installation: InstallationId, limit: u32) -> Result<Vec<T>>
                where
                    R: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin + TryInto<T, Error = StoreError>,
                {
                    let sql = format!("SELECT {columns} FROM {table} WHERE installation_id = $1 ORDER BY id DESC LIMIT $2");
                    let found: Vec<R> = sqlx::query_as(&sql).bind(installation.0).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                    found.into_iter().map(TryInto::try_into).collect()
                }

                /// Queues a run on `conn`.
                pub(crate) async fn insert_run(conn: &mut Conn, ask: &relais_core::integration::RunAsk) -> Result<relais_core::integration::SyncRun> {
                    let sql = format!(
                        "INSERT INTO sync_runs (installation_id, trigger_kind, dry_run, full_run, status, requested_at, counts, partner_requests, requested_by) \
                         VALUES ($1, $2, $3, $4, 'queued', $5, $6, 0, $7) RETURNING {}",
                        rows::RUN_COLUMNS
                    );
                    let row: rows::RunRow = sqlx::query_as(&sql)
                        .bind(ask.installation.0)
                        .bind(ask.trigger.as_str())
                        .bind(ask.dry_run)
                        .bind(ask.full)
                        .bind(now())
                        .bind(serde_json::to_string(&relais_core::integration::RunCounts::default()).expect("counts serialise"))
                        .bind(ask.by.as_deref())
                        .fetch_one(&mut *conn)
                        .await?;
                    row.try_into()
                }

                /// Stores an integration on `conn` (replacing its settings if it exists).
                pub(crate) async fn upsert_integration(conn: &mut Conn, i: &relais_core::integration::Integration) -> Result<()> {
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
                        .bind(i.installation_id.0)
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
            }

            #[async_trait]
            impl SyncStore for $store {
                async fn claim_lease(&self, job: &relais_core::integration::LeaseJob, owner: &str, ttl: std::time::Duration) -> Result<bool> {
                    let job = job.key();
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
                    .fetch_optional(&self.writer)
                    .await?;
                    Ok(won.as_deref() == Some(owner))
                }

                async fn release_lease(&self, job: &relais_core::integration::LeaseJob, owner: &str) -> Result<()> {
                    sqlx::query("DELETE FROM sync_leases WHERE job = $1 AND owner = $2").bind(job.key()).bind(owner).execute(&self.writer).await?;
                    Ok(())
                }

                async fn lease_holder(&self, job: &relais_core::integration::LeaseJob) -> Result<Option<(String, chrono::DateTime<chrono::Utc>)>> {
                    Ok(sqlx::query_as("SELECT owner, expires_at FROM sync_leases WHERE job = $1").bind(job.key()).fetch_optional(&self.pool).await?)
                }

                async fn acknowledged(&self, job: &LedgerJob, keys: &[String]) -> Result<Vec<relais_core::ledger::Acknowledged>> {
                    let mut out = Vec::with_capacity(keys.len());
                    for part in keys.chunks(1000) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new(format!("SELECT {} FROM sync_ledger WHERE job = ", rows::LEDGER_COLUMNS));
                        Self::push_ledger_keys(&mut qb, job, part);
                        let found: Vec<rows::LedgerRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                        for row in found {
                            out.push(row.try_into()?);
                        }
                    }
                    Ok(out)
                }

                async fn acknowledged_page(&self, job: &LedgerJob, after: Option<&str>, limit: u32) -> Result<Vec<relais_core::ledger::Acknowledged>> {
                    let sql = format!(
                        "SELECT {} FROM sync_ledger WHERE job = $1 AND record_key > $2 ORDER BY record_key LIMIT $3",
                        rows::LEDGER_COLUMNS
                    );
                    let found: Vec<rows::LedgerRow> = sqlx::query_as(&sql).bind(job.as_str()).bind(after.unwrap_or("")).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                    found.into_iter().map(TryInto::try_into).collect()
                }

                async fn acknowledge(&self, job: &LedgerJob, records: &[relais_core::ledger::Acknowledged]) -> Result<()> {
                    if records.is_empty() {
                        return Ok(());
                    }
                    let at = now();
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    for part in records.chunks(1000) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new("INSERT INTO sync_ledger (job, record_key, hash, fields, partner_id, acknowledged_at) ");
                        qb.push_values(part, |mut b, r| {
                            b.push_bind(job.as_str())
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

                async fn mark_seen(&self, job: &LedgerJob, tag: &str, keys: &[String]) -> Result<()> {
                    if keys.is_empty() {
                        return Ok(());
                    }
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    for part in keys.chunks(1000) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new("UPDATE sync_ledger SET seen_in = ");
                        qb.push_bind(tag);
                        qb.push(" WHERE job = ");
                        Self::push_ledger_keys(&mut qb, job, part);
                        qb.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn seen_keys(&self, job: &LedgerJob, tag: &str, keys: &[String]) -> Result<Vec<String>> {
                    let mut out = Vec::new();
                    for part in keys.chunks(1000) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT record_key FROM sync_ledger WHERE job = ");
                        Self::push_ledger_keys(&mut qb, job, part);
                        qb.push(" AND seen_in = ");
                        qb.push_bind(tag);
                        let found: Vec<String> = qb.build_query_scalar().fetch_all(&self.pool).await?;
                        out.extend(found);
                    }
                    Ok(out)
                }

                async fn unseen_page(&self, job: &LedgerJob, tag: &str, after: Option<&str>, limit: u32) -> Result<Vec<relais_core::ledger::Acknowledged>> {
                    let sql = format!(
                        "SELECT {} FROM sync_ledger WHERE job = $1 AND (seen_in IS NULL OR seen_in <> $2) AND record_key > $3 \
                         ORDER BY record_key LIMIT $4",
                        rows::LEDGER_COLUMNS
                    );
                    let found: Vec<rows::LedgerRow> = sqlx::query_as(&sql)
                        .bind(job.as_str())
                        .bind(tag)
                        .bind(after.unwrap_or(""))
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    found.into_iter().map(TryInto::try_into).collect()
                }

                async fn forget(&self, job: &LedgerJob, keys: &[String]) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    for part in keys.chunks(1000) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new("DELETE FROM sync_ledger WHERE job = ");
                        Self::push_ledger_keys(&mut qb, job, part);
                        qb.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn reset_ledger(&self, job: &LedgerJob) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    // The integration's job and its streams' jobs (`job/stream`).
                    let streams = format!("{job}/%");
                    sqlx::query("DELETE FROM sync_ledger WHERE job = $1 OR job LIKE $2").bind(job.as_str()).bind(&streams).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM sync_checkpoints WHERE job = $1 OR job LIKE $2").bind(job.as_str()).bind(&streams).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn checkpoint(&self, job: &LedgerJob, stream: &str) -> Result<Option<String>> {
                    Ok(sqlx::query_scalar("SELECT cursor_value FROM sync_checkpoints WHERE job = $1 AND stream = $2")
                        .bind(job.as_str())
                        .bind(stream)
                        .fetch_optional(&self.pool)
                        .await?)
                }

                async fn set_checkpoint(&self, job: &LedgerJob, stream: &str, cursor: &str) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO sync_checkpoints (job, stream, cursor_value, updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (job, stream) DO UPDATE SET cursor_value = excluded.cursor_value, updated_at = excluded.updated_at",
                    )
                    .bind(job.as_str())
                    .bind(stream)
                    .bind(cursor)
                    .bind(now())
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn put_integration(&self, i: &relais_core::integration::Integration) -> Result<()> {
                    let mut conn = self.writer.acquire().await?;
                    Self::upsert_integration(&mut conn, i).await
                }

                async fn change_integration(
                    &self,
                    i: &relais_core::integration::Integration,
                    action: relais_core::activity::Action,
                    by: relais_core::activity::Actor,
                ) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    Self::upsert_integration(&mut tx, i).await?;
                    let (base, subject) = Self::installation_named(&mut tx, i.installation_id).await?;
                    let entry = relais_core::activity::NewActivity {
                        base: Some(base),
                        by,
                        action,
                        target: i.installation_id.0,
                        subject,
                        detail: None,
                    };
                    Self::log_activity(&mut tx, &entry).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn get_integration(&self, installation: InstallationId) -> Result<relais_core::integration::Integration> {
                    let cols = rows::INTEGRATION_COLUMNS.split(", ").map(|c| format!("g.{c}")).collect::<Vec<_>>().join(", ");
                    let sql = format!(
                        "SELECT {cols} FROM integrations g JOIN installations i ON i.id = g.installation_id \
                         WHERE g.installation_id = $1 AND i.uninstalled_at IS NULL"
                    );
                    let row: Option<rows::IntegrationRow> = sqlx::query_as(&sql).bind(installation.0).fetch_optional(&self.pool).await?;
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
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    sqlx::query(
                        "UPDATE integrations SET health = $2, health_reason = $3, next_run_at = $4, next_full_at = $5 \
                         WHERE installation_id = $1",
                    )
                    .bind(state.installation.0)
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
                        .bind(alert.installation.0)
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

                async fn alert_sent(&self, id: AlertId, at: chrono::DateTime<chrono::Utc>) -> Result<()> {
                    sqlx::query("UPDATE alerts SET sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1")
                        .bind(id.0)
                        .bind(at)
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn alert_failed(&self, id: AlertId, error: &str, next: chrono::DateTime<chrono::Utc>) -> Result<()> {
                    sqlx::query("UPDATE alerts SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1")
                        .bind(id.0)
                        .bind(error)
                        .bind(next)
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                async fn list_alerts(&self, installation: InstallationId, limit: u32) -> Result<Vec<relais_core::alert::Alert>> {
                    self.latest_of::<rows::AlertRow, _>("alerts", rows::ALERT_COLUMNS, installation, limit).await
                }

                async fn queue_run(&self, ask: &relais_core::integration::RunAsk) -> Result<relais_core::integration::SyncRun> {
                    let mut conn = self.writer.acquire().await?;
                    Self::insert_run(&mut conn, ask).await
                }

                async fn ask_run(&self, ask: &relais_core::integration::RunAsk) -> Result<(relais_core::integration::SyncRun, bool)> {
                    let installation = ask.installation;
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    // Holds the integration's row (PostgreSQL) until the
                    // commit; SQLite's write transaction holds the file.
                    let found = sqlx::query("UPDATE integrations SET updated_at = updated_at WHERE installation_id = $1")
                        .bind(installation.0)
                        .execute(&mut *tx)
                        .await?;
                    if found.rows_affected() == 0 {
                        return Err(StoreError::NotFound { entity: "integration", key: installation.to_string() });
                    }
                    let sql = format!(
                        "SELECT {} FROM sync_runs WHERE installation_id = $1 AND status = 'queued' ORDER BY id LIMIT 1",
                        rows::RUN_COLUMNS
                    );
                    let waiting: Option<rows::RunRow> = sqlx::query_as(&sql).bind(installation.0).fetch_optional(&mut *tx).await?;
                    if let Some(row) = waiting {
                        tx.commit().await?;
                        return Ok((row.try_into()?, false));
                    }
                    let run = Self::insert_run(&mut tx, ask).await?;
                    if let Some(by) = ask.actor {
                        let flags: Vec<&str> = [(ask.full, "full"), (ask.dry_run, "dry-run")]
                            .into_iter()
                            .filter_map(|(on, flag)| on.then_some(flag))
                            .collect();
                        let (base, subject) = Self::installation_named(&mut tx, installation).await?;
                        let entry = relais_core::activity::NewActivity {
                            base: Some(base),
                            by,
                            action: relais_core::activity::Action::RunAsked,
                            target: installation.0,
                            subject,
                            detail: (!flags.is_empty()).then(|| flags.join(",")),
                        };
                        Self::log_activity(&mut tx, &entry).await?;
                    }
                    tx.commit().await?;
                    Ok((run, true))
                }

                async fn open_runs(&self, limit: u32) -> Result<Vec<relais_core::integration::SyncRun>> {
                    let sql = format!("SELECT {} FROM sync_runs WHERE status IN ('queued', 'running') ORDER BY id LIMIT $1", rows::RUN_COLUMNS);
                    let found: Vec<rows::RunRow> = sqlx::query_as(&sql).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                    found.into_iter().map(TryInto::try_into).collect()
                }

                async fn start_run(&self, run: RunId, owner: &str, full: bool) -> Result<relais_core::integration::SyncRun> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let at = now();
                    let installation: Option<i64> = sqlx::query_scalar("SELECT installation_id FROM sync_runs WHERE id = $1")
                        .bind(run.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let installation = installation.ok_or(StoreError::NotFound { entity: "sync run", key: run.to_string() })?;
                    sqlx::query(
                        "UPDATE sync_runs SET status = 'interrupted', finished_at = $3, error = $4 \
                         WHERE installation_id = $1 AND status = 'running' AND id <> $2",
                    )
                    .bind(installation)
                    .bind(run.0)
                    .bind(at)
                    .bind(format!("the relais process running it stopped; run {run} took over"))
                    .execute(&mut *tx)
                    .await?;
                    let sql = format!(
                        "UPDATE sync_runs SET status = 'running', owner = $2, started_at = $3, full_run = $4 WHERE id = $1 RETURNING {}",
                        rows::RUN_COLUMNS
                    );
                    let row: rows::RunRow = sqlx::query_as(&sql).bind(run.0).bind(owner).bind(at).bind(full).fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    row.try_into()
                }

                async fn record_run_progress(
                    &self,
                    run: RunId,
                    lines: &[relais_core::integration::ReportLine],
                    counts: &relais_core::integration::StoredCounts,
                    partner_requests: u64,
                ) -> Result<()> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let running = sqlx::query("UPDATE sync_runs SET counts = $2, partner_requests = $3 WHERE id = $1 AND status = 'running'")
                        .bind(run.0)
                        .bind(serde_json::to_string(counts).expect("counts serialise"))
                        .bind(i64::try_from(partner_requests).unwrap_or(i64::MAX))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1;
                    // A finished run's report is closed: its lines and counts
                    // stay as they were finished, together.
                    if running {
                        append_lines!($db, tx, run.0, lines);
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn finish_run(&self, run: RunId, finish: &crate::RunFinish<'_>) -> Result<relais_core::integration::SyncRun> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    append_lines!($db, tx, run.0, finish.lines);
                    let sql = format!(
                        "UPDATE sync_runs SET status = $2, counts = $3, partner_requests = $4, error = $5, finished_at = $6, full_run = $7 \
                         WHERE id = $1 RETURNING {}",
                        rows::RUN_COLUMNS
                    );
                    let row: Option<rows::RunRow> = sqlx::query_as(&sql)
                        .bind(run.0)
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

                async fn get_run(&self, run: RunId) -> Result<relais_core::integration::SyncRun> {
                    let sql = format!("SELECT {} FROM sync_runs WHERE id = $1", rows::RUN_COLUMNS);
                    let row: Option<rows::RunRow> = sqlx::query_as(&sql).bind(run.0).fetch_optional(&self.pool).await?;
                    row.ok_or(StoreError::NotFound { entity: "sync run", key: run.to_string() })?.try_into()
                }

                async fn list_runs(&self, installation: InstallationId, limit: u32) -> Result<Vec<relais_core::integration::SyncRun>> {
                    self.latest_of::<rows::RunRow, _>("sync_runs", rows::RUN_COLUMNS, installation, limit).await
                }

                async fn prune_runs(&self, before: chrono::DateTime<chrono::Utc>) -> Result<(u64, u64)> {
                    /// Runs deleted per transaction: a full run may hold
                    /// thousands of lines.
                    const RUNS: i64 = 20;
                    let (mut runs, mut lines) = (0, 0);
                    loop {
                        let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                        let ids: Vec<i64> = sqlx::query_scalar(
                            "SELECT r.id FROM sync_runs r WHERE r.finished_at < $1 \
                             AND r.id < (SELECT MAX(l.id) FROM sync_runs l \
                                         WHERE l.installation_id = r.installation_id AND l.finished_at IS NOT NULL) \
                             ORDER BY r.id LIMIT $2",
                        )
                        .bind(before)
                        .bind(RUNS)
                        .fetch_all(&mut *tx)
                        .await?;
                        if ids.is_empty() {
                            return Ok((runs, lines));
                        }
                        // Identifiers the database just gave, written as numbers.
                        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                        lines += sqlx::query(&format!("DELETE FROM sync_run_lines WHERE run_id IN ({list})"))
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        runs += sqlx::query(&format!("DELETE FROM sync_runs WHERE id IN ({list})"))
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        tx.commit().await?;
                    }
                }

                async fn find_run_lines(
                    &self,
                    run: RunId,
                    filter: &crate::LineFilter,
                    offset: u64,
                    limit: u32,
                ) -> Result<Vec<relais_core::integration::ReportLine>> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {} FROM sync_run_lines WHERE run_id = ",
                        rows::RUN_LINE_COLUMNS
                    ));
                    qb.push_bind(run.0);
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

                async fn partner_requests_since(&self, installation: InstallationId, since: chrono::DateTime<chrono::Utc>) -> Result<u64> {
                    let sum: Option<i64> = sqlx::query_scalar(
                        "SELECT CAST(SUM(partner_requests) AS BIGINT) FROM sync_runs WHERE installation_id = $1 AND started_at >= $2",
                    )
                    .bind(installation.0)
                    .bind(since)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(sum.unwrap_or(0).max(0) as u64)
                }
            }
        }
    };
}
pub(crate) use sync_store;
