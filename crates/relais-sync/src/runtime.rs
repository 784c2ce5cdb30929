//! The runtime: finds the runs to do (asked for, due on their schedule, or
//! left by a process that died), claims each integration's lease so that no
//! two processes ever run one integration at once, runs its connector,
//! stores the report and the integration's health, and schedules the next run.

use crate::engine::{Changed, Connector, Setup};
use crate::error::SyncError;
use crate::http::{Budget, RetryPolicy};
use crate::report::{Report, Spill};
use crate::source::LuccaSource;
use crate::Side;
use chrono::Duration as Span;
use relais_core::alert::{AlertKind, NewAlert};
use relais_core::ids::InstallationId;
use relais_core::integration::{
    Health, HealthReason, Integration, LeaseJob, RunAsk, RunStatus, SyncRun, Trigger, SOURCE_KEY,
};
use relais_core::mapping::{FieldMapping, MappingProblem, PreviewPage, PreviewQuery, SourceField};
use relais_core::said::Said;
use relais_core::secret::Sealer;
use relais_core::secret::SecretName;
use relais_store::{IntegrationState, RunFinish, SharedStore, StoreError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a run could not be asked for or done.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Another run of the integration holds its lease.
    #[error("installation {installation} is already being synced by {holder}; try again when that run ends")]
    Busy {
        /// The installation.
        installation: InstallationId,
        /// Who holds the lease.
        holder: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the runtime behaves.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// The URL of relais's own API, read by integrations without a source URL.
    pub own_api: String,
    /// How long a lease lasts without renewal: a run whose process died is
    /// taken over this long after its last renewal.
    pub lease_ttl: Duration,
    /// Retries towards partners and sources.
    pub policy: RetryPolicy,
    /// Integrations run at once by one process.
    pub concurrency: usize,
    /// How partners and sources served over HTTPS are trusted.
    pub tls: crate::http::Tls,
    /// Where alerts to technical contacts go; `None`: no alert is written.
    pub mailer: Option<crate::alerts::Mailer>,
    /// The admin pages' public URL, for the links alerts carry.
    pub public_url: Option<String>,
    /// How long the change feed, the audit trail, the journal and the runs
    /// keep what they record: older records are deleted.
    pub retention: relais_core::retention::Retention,
}

impl RuntimeOptions {
    /// Defaults for reading relais's own API at `own_api`.
    pub fn new(own_api: &str) -> Self {
        Self {
            own_api: own_api.trim_end_matches('/').to_owned(),
            lease_ttl: Duration::from_secs(60),
            policy: RetryPolicy::default(),
            concurrency: 4,
            tls: crate::http::Tls::default(),
            mailer: None,
            public_url: None,
            retention: relais_core::retention::Retention::default(),
        }
    }
}

/// The lease of the process sending alerts.
const ALERTS_JOB: LeaseJob = LeaseJob::Alerts;

/// The checkpoint of an integration that runs on change: the change feed's
/// cursor up to which its changes were taken by a run (or concerned
/// nothing it sends).
const LOOK: &str = "change-feed";

/// The most events a look or a run on change goes through to learn what
/// changed (a base changed in bulk, or an integration paused a long
/// while): beyond, the run reads by its cursor, as a scheduled run does.
const MOST_EVENTS_READ: i64 = 20_000;

/// One process's runtime.
#[derive(Clone)]
pub struct Runtime {
    store: SharedStore,
    sealer: Sealer,
    options: RuntimeOptions,
    id: String,
    counter: Arc<AtomicU64>,
    in_flight: Arc<Mutex<HashSet<InstallationId>>>,
    /// When this process last pruned the change feed (Unix seconds).
    last_prune: Arc<AtomicI64>,
    /// The soonest instant a run on change held back by its partner's gap
    /// may start (the runtime looks again then).
    next_look: Arc<Mutex<Option<chrono::DateTime<chrono::Utc>>>>,
    /// Told when a run this process started ends: changes made meanwhile
    /// to what an integration sends on change are looked at then.
    run_ended: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The health a failed run leaves, and why.
pub fn reason_of(error: &SyncError, partner: &str) -> (Health, HealthReason) {
    let partner = partner.to_owned();
    let reason = match error {
        SyncError::SourceRefused { status: 401, .. } => HealthReason::SourceKeyRefused,
        SyncError::SourceRefused {
            status: 403,
            message,
        } => HealthReason::SourceGrantMissing {
            message: short(message),
        },
        SyncError::SourceRefused { status, message } => HealthReason::SourceRefused {
            status: *status,
            message: short(message),
        },
        SyncError::PartnerCredentials { status } => HealthReason::PartnerCredentials {
            partner,
            status: *status,
        },
        SyncError::Unreachable {
            what: Side::Partner,
            reason,
        } => HealthReason::PartnerUnreachable {
            partner,
            cause: reason.clone(),
        },
        SyncError::Unreachable { reason, .. } => HealthReason::SourceUnreachable {
            cause: reason.clone(),
        },
        SyncError::Partner { status, body } => HealthReason::PartnerAnswered {
            partner,
            status: *status,
            message: short(body),
        },
        SyncError::Malformed { what, reason } => HealthReason::UnexpectedAnswer {
            partner: (*what == Side::Partner).then_some(partner),
            detail: reason.clone(),
        },
        SyncError::LeaseLost => HealthReason::LeaseLost,
        SyncError::Config(words) => HealthReason::Configuration(words.clone()),
        SyncError::BudgetSpent { per_hour } => {
            return (
                Health::Warnings,
                HealthReason::BudgetSpent {
                    per_hour: *per_hour,
                },
            )
        }
        SyncError::RateLimited { wait, .. } => {
            let until = (relais_core::now() + Span::from_std(*wait).unwrap_or(Span::hours(1)))
                .with_timezone(&relais_core::org::TimeZone::PARIS.0);
            return (
                Health::Warnings,
                HealthReason::RateLimited {
                    partner,
                    wait_seconds: wait.as_secs(),
                    until: until.format("%Y-%m-%d %H:%M").to_string(),
                },
            );
        }
        other => HealthReason::Other {
            message: other.to_string(),
        },
    };
    (Health::Failing, reason)
}

fn short(message: &str) -> String {
    // The source's JSON error carries its message: show that, not the whole body.
    serde_json::from_str::<serde_json::Value>(message)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| message.chars().take(300).collect())
}

impl Runtime {
    /// A runtime over `store`, opening secrets with `sealer`.
    pub fn new(store: SharedStore, sealer: Sealer, options: RuntimeOptions) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "relais".into());
        Self {
            store,
            sealer,
            options,
            id: format!("{host}:{}:{}", std::process::id(), crate::random_tag(4)),
            counter: Arc::new(AtomicU64::new(0)),
            in_flight: Arc::new(Mutex::new(HashSet::new())),
            last_prune: Arc::new(AtomicI64::new(0)),
            next_look: Arc::default(),
            run_ended: Arc::default(),
        }
    }

    /// This runtime's name, as lease owner.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A new lease owner's name: this runtime's, numbered.
    fn lease_owner(&self) -> String {
        format!(
            "{}/{}",
            self.id,
            self.counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Claims the lease `job` for a new owner of this process: the owner,
    /// or none while another holds it.
    async fn claim(&self, job: &LeaseJob) -> Result<Option<String>, StoreError> {
        let owner = self.lease_owner();
        let claimed = self
            .store
            .claim_lease(job, &owner, self.options.lease_ttl)
            .await?;
        Ok(claimed.then_some(owner))
    }

    /// Asks for a run and does it here and now (for `relais sync run`);
    /// refused while another run of the integration holds its lease.
    pub async fn run_now(
        &self,
        installation: InstallationId,
        trigger: Trigger,
        dry_run: bool,
        full: bool,
    ) -> Result<SyncRun, RuntimeError> {
        let integration = self.store.get_integration(installation).await?;
        let job = lease_job(installation);
        let Some(owner) = self.claim(&job).await? else {
            return Err(busy(&self.store, &job, installation).await);
        };
        let run = self
            .store
            .queue_run(
                &RunAsk::new(installation, trigger)
                    .dry_run(dry_run)
                    .full(full),
            )
            .await;
        let run = match run {
            Ok(run) => run,
            Err(e) => {
                let _ = self.store.release_lease(&job, &owner).await;
                return Err(e.into());
            }
        };
        Ok(self.execute(integration, run, &owner).await?)
    }

    /// One pass: runs asked for, runs left by a process that died, and
    /// scheduled runs that are due — each only if its lease can be claimed.
    /// Waits for the runs it started; returns them.
    pub async fn tick(&self) -> Result<Vec<SyncRun>, StoreError> {
        let handles = self.launch().await?;
        let mut done = Vec::new();
        for h in handles {
            if let Ok(Ok(Some(run))) = h.await {
                done.push(run);
            }
        }
        self.deliver_alerts().await?;
        self.prune_old().await?;
        Ok(done)
    }

    /// Deletes the change feed's events older than their retention, the
    /// webhook deliveries made before it that are over, the audit trail's
    /// requests older than theirs, the expired sessions, the journal's
    /// entries and the accounts' changes older than theirs, and the runs
    /// finished before theirs, at most once every ten minutes per process.
    async fn prune_old(&self) -> Result<(), StoreError> {
        const EVERY: i64 = 600;
        let now = relais_core::now();
        let last = self.last_prune.load(Ordering::Relaxed);
        if now.timestamp() - last < EVERY {
            return Ok(());
        }
        self.last_prune.store(now.timestamp(), Ordering::Relaxed);
        let cut = Self::cut(now, self.options.retention.events);
        let pruned = self.store.prune_events(cut).await?;
        if pruned > 0 {
            tracing::info!(pruned, before = %cut, "old change events deleted");
        }
        let pruned = self.store.prune_deliveries(cut).await?;
        if pruned > 0 {
            tracing::info!(pruned, before = %cut, "old webhook deliveries deleted");
        }
        let cut = Self::cut(now, self.options.retention.audit);
        let (requests, sessions) = self.store.prune_requests(cut).await?;
        if requests > 0 || sessions > 0 {
            tracing::info!(requests, sessions, before = %cut, "old API requests of the audit trail and expired sessions deleted");
        }
        let cut = Self::cut(now, self.options.retention.journal);
        let (entries, changes) = self.store.prune_journal(cut).await?;
        if entries > 0 || changes > 0 {
            tracing::info!(entries, changes, before = %cut, "old entries of the journal and of the accounts' history deleted");
        }
        let cut = Self::cut(now, self.options.retention.runs);
        let (runs, lines) = self.store.prune_runs(cut).await?;
        if runs > 0 {
            tracing::info!(runs, lines, before = %cut, "old runs and their reports deleted");
        }
        Ok(())
    }

    /// The instant `retention` before `now`: what is older goes.
    fn cut(
        now: chrono::DateTime<chrono::Utc>,
        retention: Duration,
    ) -> chrono::DateTime<chrono::Utc> {
        chrono::Duration::from_std(retention)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    }

    /// Whether the base changed, in what an integration that runs on change
    /// sends, since its look ([`LOOK`]) — and its last run is far enough
    /// behind. A look that finds only changes the connector does not send
    /// moves past them; one that finds a change leaves the look where it
    /// is, for the run it starts to read from it (the run moves it when it
    /// ends). The first look only notes where the feed stands (the base's
    /// history is the schedule's business).
    async fn changed_since_last_look(
        &self,
        integration: &relais_core::integration::Integration,
        on_change: relais_core::connector::OnChange,
        gap: Span,
    ) -> Result<bool, StoreError> {
        let job = integration.job();
        let latest = self.store.last_event(integration.base_id).await?;
        let seen = match self.store.checkpoint(&job, LOOK).await? {
            Some(seen) => seen.parse::<i64>().unwrap_or(latest),
            None => {
                self.store
                    .set_checkpoint(&job, LOOK, &latest.to_string())
                    .await?;
                return Ok(false);
            }
        };
        if latest <= seen {
            return Ok(false);
        }
        let last = self.store.list_runs(integration.installation_id, 1).await?;
        if let Some(free) = last
            .first()
            .map(|r| r.requested_at + gap)
            .filter(|free| *free > relais_core::now())
        {
            // Too soon for the partner: the changes wait for a look when
            // the gap is over.
            let mut next = self.next_look.lock().expect("never poisoned");
            *next = Some(next.map_or(free, |n| n.min(free)));
            return Ok(false);
        }
        if latest - seen > MOST_EVENTS_READ {
            // Too much to go through: the run reads by its cursor.
            return Ok(true);
        }
        let changed = self
            .changes_between(integration.base_id, on_change, (seen, latest), true)
            .await?;
        if changed.is_empty() {
            self.store
                .set_checkpoint(&job, LOOK, &latest.to_string())
                .await?;
        }
        Ok(!changed.is_empty())
    }

    /// The records changed by the events of `base` in `span` that concern
    /// what `on_change`'s connector sends (only the first one when `first`
    /// is set).
    async fn changes_between(
        &self,
        base: relais_core::ids::BaseId,
        on_change: relais_core::connector::OnChange,
        span: (i64, i64),
        first: bool,
    ) -> Result<Changed, StoreError> {
        let topics: Vec<relais_core::events::Topic> = relais_core::events::Topic::all()
            .filter(|t| on_change.kinds.contains(&t.kind))
            .collect();
        let limit = if first { 1 } else { MOST_EVENTS_READ as u32 };
        let mut changed = Changed::default();
        for (topic, id) in self
            .store
            .changed_records(base, span, &topics, on_change.employee_fields, limit)
            .await?
        {
            changed.note(topic.kind, id);
        }
        Ok(changed)
    }

    /// For a run of `integration` that runs on change: the latest event
    /// when it starts (the look moves there when the run ends), and, for
    /// an incremental run on change reading this base, the records changed
    /// since the look (the run reads only those).
    async fn look_at_start(
        &self,
        integration: &Integration,
        run: &SyncRun,
        full: bool,
    ) -> Result<(Option<i64>, Option<Changed>), StoreError> {
        let on_change = crate::connectors::find(integration.connector.as_str())
            .and_then(|c| c.declaration().schedule.on_change);
        let Some(on_change) = on_change.filter(|_| !run.dry_run) else {
            return Ok((None, None));
        };
        let latest = self.store.last_event(integration.base_id).await?;
        let seen = self
            .store
            .checkpoint(&integration.job(), LOOK)
            .await?
            .and_then(|seen| seen.parse::<i64>().ok());
        let changed = match seen {
            Some(seen)
                if run.trigger == Trigger::Change
                    && !full
                    && integration.source_url.is_none()
                    && latest - seen <= MOST_EVENTS_READ =>
            {
                Some(
                    self.changes_between(integration.base_id, on_change, (seen, latest), false)
                        .await?,
                )
            }
            _ => None,
        };
        Ok((Some(latest), changed))
    }

    /// Starts the runs that are due as tasks (at most `concurrency` at once).
    async fn launch(
        &self,
    ) -> Result<Vec<tokio::task::JoinHandle<Result<Option<SyncRun>, StoreError>>>, StoreError> {
        let now = relais_core::now();
        let mut wanted: Vec<(InstallationId, Option<SyncRun>)> = Vec::new();
        for run in self.store.open_runs(100).await? {
            if !wanted.iter().any(|(i, _)| *i == run.installation_id) {
                wanted.push((run.installation_id, Some(run)));
            }
        }
        for integration in self.store.list_integrations(None).await? {
            // An integration not configured yet waits for its settings rather than failing on schedule.
            let connector = crate::connectors::find(integration.connector.as_str());
            let declaration = connector.as_ref().map(|c| c.declaration());
            let configured = declaration.is_some_and(|d| {
                self.sealer
                    .open(&integration.sealed_secrets)
                    .is_ok_and(|secrets| integration.missing_settings(d, &secrets).is_empty())
            });
            let waiting = |wanted: &[(InstallationId, Option<SyncRun>)]| {
                wanted
                    .iter()
                    .any(|(i, _)| *i == integration.installation_id)
            };
            if configured && integration.is_due(now) && !waiting(&wanted) {
                wanted.push((integration.installation_id, None));
            }
            let on_change = declaration.and_then(|d| d.schedule.on_change);
            if let (true, Some(on_change)) = (configured && integration.paused.is_none(), on_change)
            {
                // Changes during a run wait for its end (see `run_ended`).
                if !waiting(&wanted)
                    && self
                        .changed_since_last_look(
                            &integration,
                            on_change,
                            on_change.gap(
                                &integration.options,
                                &connector
                                    .as_ref()
                                    .map(|c| c.default_options())
                                    .unwrap_or_default(),
                            ),
                        )
                        .await?
                {
                    let (run, _) = self
                        .store
                        .ask_run(&RunAsk::new(integration.installation_id, Trigger::Change))
                        .await?;
                    wanted.push((integration.installation_id, Some(run)));
                }
            }
        }
        let mut handles = Vec::new();
        for (installation, run) in wanted {
            {
                let mut busy = self.in_flight.lock().expect("never poisoned");
                if busy.len() >= self.options.concurrency || !busy.insert(installation) {
                    continue;
                }
            }
            let me = self.clone();
            let slot = InFlight {
                set: self.in_flight.clone(),
                installation,
            };
            handles.push(tokio::spawn(async move {
                let done = {
                    // Freed however the task ends, panics included.
                    let _slot = slot;
                    me.attempt(installation, run).await
                };
                me.run_ended.notify_one();
                done
            }));
        }
        Ok(handles)
    }

    /// Claims the lease of one integration and does what is due for it.
    async fn attempt(
        &self,
        installation: InstallationId,
        candidate: Option<SyncRun>,
    ) -> Result<Option<SyncRun>, StoreError> {
        let job = lease_job(installation);
        let Some(owner) = self.claim(&job).await? else {
            return Ok(None);
        };
        // Read again under the lease: another process may have just done it.
        let integration = match self.store.get_integration(installation).await {
            Ok(i) => i,
            Err(StoreError::NotFound { .. }) => {
                if let Some(run) = candidate {
                    self.store.start_run(run.id, &owner, run.full).await?;
                    let error = "the app was uninstalled";
                    self.store
                        .finish_run(
                            run.id,
                            &finish(RunStatus::Failed, &Report::default(), Some(error)),
                        )
                        .await?;
                }
                self.store.release_lease(&job, &owner).await?;
                return Ok(None);
            }
            Err(e) => {
                self.store.release_lease(&job, &owner).await?;
                return Err(e);
            }
        };
        let run = match candidate {
            Some(run) => match self.store.get_run(run.id).await? {
                // A queued run: ours to start.
                r if r.status == RunStatus::Queued => Some(r),
                // A run its process left: a fresh run takes over (the ledger resumes it).
                r if r.status == RunStatus::Running => Some(
                    self.store
                        .queue_run(
                            &RunAsk::new(installation, r.trigger)
                                .dry_run(r.dry_run)
                                .full(r.full),
                        )
                        .await?,
                ),
                _ => None,
            },
            None if integration.is_due(relais_core::now()) => Some(
                self.store
                    .queue_run(&RunAsk::new(installation, Trigger::Schedule))
                    .await?,
            ),
            None => None,
        };
        match run {
            Some(run) => Ok(Some(self.execute(integration, run, &owner).await?)),
            None => {
                self.store.release_lease(&job, &owner).await?;
                Ok(None)
            }
        }
    }

    /// Runs a queued run under the lease `owner` holds, then gives the lease back.
    async fn execute(
        &self,
        integration: Integration,
        run: SyncRun,
        owner: &str,
    ) -> Result<SyncRun, StoreError> {
        let job = lease_job(integration.installation_id);
        let now = relais_core::now();
        let due_full = integration.next_full_at.is_some_and(|t| t <= now);
        // The engine makes a run full when a stream was never confirmed whole.
        let full = run.full || (!run.dry_run && due_full);
        // Read before the run starts: a run that cannot learn what changed stays queued.
        let (look, changed) = match self.look_at_start(&integration, &run, full).await {
            Ok(look) => look,
            Err(e) => {
                self.store.release_lease(&job, owner).await?;
                return Err(e);
            }
        };
        let run = self.store.start_run(run.id, owner, full).await?;
        tracing::info!(
            run = %run.id,
            installation = %integration.installation_id,
            connector = integration.connector.as_str(),
            full,
            dry_run = run.dry_run,
            "sync run started"
        );

        // Lines and counts are stored as the run goes: a long report never
        // sits whole in memory, and a run killed part-way keeps what it did.
        let (spill, mut batches) =
            tokio::sync::mpsc::channel::<Spill>(crate::report::SPILL_CHANNEL);
        let writer = {
            let store = self.store.clone();
            let id = run.id;
            let mut namer = crate::report::PersonNamer::new(store.clone(), integration.base_id);
            tokio::spawn(async move {
                while let Some(mut spilled) = batches.recv().await {
                    namer.name(&mut spilled.lines).await;
                    let stored = store
                        .record_run_progress(
                            id,
                            &spilled.lines,
                            &spilled.counts,
                            spilled.partner_requests,
                        )
                        .await;
                    if let Err(e) = stored {
                        tracing::error!(run = %id, error = %e, "cannot store a run's progress");
                    }
                }
                namer
            })
        };
        let mut report = Report {
            dry_run: run.dry_run,
            full,
            spill: Some(spill),
            ..Report::default()
        };
        // Each connector counts what it sends into the report (`run_into`).
        let outcome = {
            // What the run writes into the base itself, the change feed
            // says the connector did.
            let work = relais_store::writing_as(
                format!("connector:{}", integration.connector.as_str()),
                self.work(&integration, changed, &mut report),
            );
            tokio::pin!(work);
            let renew = self.keep_lease(&job, owner);
            tokio::pin!(renew);
            tokio::select! {
                out = &mut work => out,
                lost = &mut renew => Err(lost),
            }
        };
        // What a connector sent but had no time to fold in (its work was cut
        // short by a lost lease) still counts.
        report.settle_requests();
        report.spill = None;
        let mut namer = writer.await.unwrap_or_else(|_| {
            crate::report::PersonNamer::new(self.store.clone(), integration.base_id)
        });
        namer.name(&mut report.lines).await;
        let (status, error, health) = match &outcome {
            Ok(()) if report.is_complete() => {
                (RunStatus::Succeeded, None, (Health::Healthy, String::new()))
            }
            Ok(()) => {
                let reason = HealthReason::RecordsLeftOut {
                    failed: report.counts.failed,
                    skipped: report.counts.skipped,
                    run: run.id,
                };
                (
                    RunStatus::Warnings,
                    None,
                    (Health::Warnings, reason.stored()),
                )
            }
            Err(e) => {
                let partner = crate::connectors::find(integration.connector.as_str())
                    .map_or(integration.connector.as_str(), |c| c.declaration().name);
                // Stored as the reason itself: pages say it in their language.
                let (health, reason) = reason_of(e, partner);
                let reason = reason.stored();
                let status = if health == Health::Warnings {
                    RunStatus::Warnings
                } else {
                    RunStatus::Failed
                };
                (status, Some(reason.clone()), (health, reason))
            }
        };
        let done = self
            .store
            .finish_run(run.id, &finish(status, &report, error.as_deref()))
            .await?;
        record_run_metrics(&integration, &done);
        if !run.dry_run {
            let now = relais_core::now();
            let mut next_run_at = integration.schedule.next_after(now, integration.time_zone);
            let budget_spent = matches!(outcome, Err(SyncError::BudgetSpent { .. }));
            if report.counts.skipped > 0 || budget_spent {
                // Left out for the budget: try again once it has refilled
                // enough for what was left out (within the hour).
                let per_hour = u64::from(integration.requests_per_hour().max(1));
                let needed = report.counts.skipped.max(1);
                let seconds = (needed * 3600).div_ceil(per_hour).min(3600);
                let soon = now + Span::seconds(i64::try_from(seconds).unwrap_or(3600).max(60));
                next_run_at = Some(next_run_at.map_or(soon, |n| n.min(soon)));
            }
            if let Err(SyncError::RateLimited { wait, .. }) = &outcome {
                // The partner asked to wait: the next run is then, not before.
                let resume = now + Span::from_std(*wait).unwrap_or(Span::hours(1));
                next_run_at = Some(resume);
            }
            let next_full_at = if report.full {
                integration
                    .full_schedule
                    .next_after(now, integration.time_zone)
            } else {
                integration.next_full_at
            };
            let (health, reason) = match &integration.paused {
                Some(why) => (Health::Paused, why.clone()),
                None => health,
            };
            let alert = match AlertKind::on_change(integration.health, health) {
                Some(kind) if self.options.mailer.is_some() => {
                    self.alert(&integration, kind, &reason).await?
                }
                _ => None,
            };
            self.store
                .set_integration_state(&IntegrationState {
                    installation: integration.installation_id,
                    health,
                    reason,
                    next_run_at,
                    next_full_at,
                    alert,
                })
                .await?;
        }
        if let Some(latest) = look {
            // What changed up to the run's start is its business, done or
            // failed (a failed run's changes wait for the schedule's full
            // run); what changed since starts the next run.
            let look = integration.job();
            let seen = self.store.checkpoint(&look, LOOK).await?;
            if seen.and_then(|s| s.parse::<i64>().ok()) < Some(latest) {
                self.store
                    .set_checkpoint(&look, LOOK, &latest.to_string())
                    .await?;
            }
        }
        self.store.release_lease(&job, owner).await?;
        tracing::info!(
            run = %done.id,
            status = done.status.as_str(),
            written = done.counts.written(),
            requests = done.partner_requests,
            "sync run finished"
        );
        Ok(done)
    }

    /// The alert to the technical contact of `integration`'s installation.
    async fn alert(
        &self,
        integration: &Integration,
        kind: AlertKind,
        reason: &str,
    ) -> Result<Option<NewAlert>, StoreError> {
        let installation = self
            .store
            .list_installations(integration.base_id)
            .await?
            .into_iter()
            .find(|i| i.id == integration.installation_id);
        let Some(installation) = installation else {
            return Ok(None);
        };
        let base = self
            .store
            .list_bases()
            .await?
            .into_iter()
            .find(|b| b.id == integration.base_id)
            .map_or_else(|| integration.base_id.0.to_string(), |b| b.name.to_string());
        let app = crate::connectors::find(integration.connector.as_str())
            .map_or(integration.connector.as_str(), |c| c.declaration().name);
        let page = self.options.public_url.as_deref().map(|u| {
            format!(
                "{}/integrations/{}",
                u.trim_end_matches('/'),
                installation.app
            )
        });
        let (subject, body) = relais_core::alert::compose(
            kind,
            &relais_core::alert::AlertFacts {
                app,
                base: &base,
                reason_fr: &HealthReason::read(reason, "fr"),
                reason_en: &HealthReason::read(reason, "en"),
                page,
            },
        );
        Ok(Some(NewAlert {
            installation: installation.id,
            kind,
            recipient: installation.contact.to_string(),
            subject,
            body,
        }))
    }

    /// Sends the alerts that are due, under a lease so that one process
    /// sends each; a failed try waits longer each time. Returns how many
    /// the mail server took.
    pub async fn deliver_alerts(&self) -> Result<usize, StoreError> {
        let Some(mailer) = &self.options.mailer else {
            return Ok(0);
        };
        // A read first: most ticks have nothing to send, and take no lease.
        if self
            .store
            .due_alerts(relais_core::now(), 1)
            .await?
            .is_empty()
        {
            return Ok(0);
        }
        let owner = format!("{}-alerts", self.id);
        if !self
            .store
            .claim_lease(&ALERTS_JOB, &owner, self.options.lease_ttl)
            .await?
        {
            return Ok(0);
        }
        let mut sent = 0;
        let result = async {
            for due in self.store.due_alerts(relais_core::now(), 50).await? {
                match mailer.send(&due.alert).await {
                    Ok(()) => {
                        self.store.alert_sent(due.id, relais_core::now()).await?;
                        sent += 1;
                        tracing::info!(alert = %due.id, to = %due.alert.recipient, kind = due.alert.kind.as_str(), "alert sent");
                    }
                    Err(e) => {
                        let next = relais_core::now() + relais_core::alert::retry_after(due.attempts);
                        tracing::warn!(alert = %due.id, error = %e, "alert not sent; tried again later");
                        self.store.alert_failed(due.id, &e.stored(), next).await?;
                    }
                }
            }
            Ok::<(), StoreError>(())
        }
        .await;
        self.store.release_lease(&ALERTS_JOB, &owner).await?;
        result.map(|()| sent)
    }

    /// Renews the lease until it is lost (then says why).
    async fn keep_lease(&self, job: &LeaseJob, owner: &str) -> SyncError {
        let every = self.options.lease_ttl / 3;
        loop {
            tokio::time::sleep(every).await;
            match self
                .store
                .claim_lease(job, owner, self.options.lease_ttl)
                .await
            {
                Ok(true) => {}
                Ok(false) => return SyncError::LeaseLost,
                Err(e) => return SyncError::Store(e),
            }
        }
    }

    /// Builds the connector's setup from the integration and runs it.
    async fn work(
        &self,
        integration: &Integration,
        changed: Option<Changed>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let connector =
            crate::connectors::find(integration.connector.as_str()).ok_or_else(|| {
                let missing = HealthReason::NoConnector {
                    connector: integration.connector.as_str().to_owned(),
                };
                SyncError::Config(Said::new(missing.text("en"), missing.text("fr")))
            })?;
        let mut setup = self.setup(connector.as_ref(), integration).await?;
        setup.changed = changed;
        let scope = crate::http::RequestScope {
            sent: report.sent.clone(),
            connector: integration.connector.to_string(),
            installation: integration.installation_id.to_string(),
        };
        let out = crate::http::counting_requests(
            scope,
            crate::engine::run(connector.as_ref(), &setup, report),
        )
        .await;
        report.settle_requests();
        metrics::gauge!(
            "relais_sync_budget_left",
            "connector" => integration.connector.to_string(),
            "installation" => integration.installation_id.to_string()
        )
        .set(setup.budget.left());
        out
    }

    /// What `connector` is given for a run of `integration`: its source,
    /// partner, typed options and secrets, budget and clients.
    pub async fn setup(
        &self,
        connector: &dyn Connector,
        integration: &Integration,
    ) -> Result<Setup, SyncError> {
        self.setup_reaching(connector, integration, true).await
    }

    /// The setup of `integration`; one that does not reach the partner
    /// (`partner` false: reading the base alone, as a mapping's check
    /// does) may miss the partner's settings.
    async fn setup_reaching(
        &self,
        connector: &dyn Connector,
        integration: &Integration,
        partner: bool,
    ) -> Result<Setup, SyncError> {
        let declaration = connector.declaration();
        let secrets = self
            .sealer
            .open(&integration.sealed_secrets)
            .map_err(SyncError::config)?;
        let missing = integration.missing_settings(declaration, &secrets);
        if partner && !missing.is_empty() {
            let (missing, id) = (missing.join(", "), integration.installation_id);
            return Err(SyncError::Config(Said::new(
                format!(
                    "not configured yet: {missing} missing (set on the app's page or with `relais sync configure {id}`)"
                ),
                format!(
                    "pas encore configurée : il manque {missing} (à renseigner sur la page de l'application ou avec `relais sync configure {id}`)"
                ),
            )));
        }
        let source_url = integration
            .source_url
            .clone()
            .unwrap_or_else(|| self.options.own_api.clone());
        let source = LuccaSource::with_client(
            &source_url,
            secrets.get(SOURCE_KEY).unwrap_or_default(),
            self.options.tls.client(Duration::from_secs(30))?,
        );
        let used = self
            .store
            .partner_requests_since(
                integration.installation_id,
                relais_core::now() - Span::hours(1),
            )
            .await?;
        let options = connector
            .check_options(&integration.options)
            .map_err(SyncError::config)?;
        let mut partner_secrets = relais_core::secret::Secrets::default();
        for spec in declaration.secrets {
            partner_secrets.set(
                SecretName::Partner(spec.name),
                secrets
                    .get(SecretName::Partner(spec.name))
                    .unwrap_or_default(),
            );
        }
        Ok(Setup {
            source,
            partner_url: integration.partner_url.clone(),
            options,
            secrets: partner_secrets,
            budget: Budget::new(integration.requests_per_hour(), used),
            policy: self.options.policy,
            http: self.options.tls.client(Duration::from_secs(15))?,
            today: integration.time_zone.today(),
            job: integration.job(),
            store: self.store.clone(),
            changed: None,
        })
    }

    /// Runs the runtime until `shutdown` resolves: looks for work every
    /// `every`, and soon after events are committed (integrations that run
    /// on change; see [`EventStore::event_signal`](relais_store::EventStore::event_signal)).
    pub async fn serve(self, every: Duration, shutdown: impl std::future::Future<Output = ()>) {
        /// How long a look waits after a commit, so that a burst's changes
        /// are looked at once (and a busy base is looked at ten times a
        /// second at most).
        const SETTLE: Duration = Duration::from_millis(100);
        tokio::pin!(shutdown);
        let mut signal = self.store.event_signal();
        loop {
            signal.borrow_and_update();
            match self.launch().await {
                Ok(handles) => drop(handles),
                Err(e) => tracing::warn!(error = %e, "the sync runtime cannot read its work"),
            }
            if let Err(e) = self.deliver_alerts().await {
                tracing::warn!(error = %e, "the sync runtime cannot send its alerts");
            }
            // Looked again when a run on change held back may start.
            let wait = self
                .next_look
                .lock()
                .expect("never poisoned")
                .take()
                // A gap already over: look again at once.
                .map(|at| (at - relais_core::now()).to_std().unwrap_or(Duration::ZERO))
                .map_or(every, |soon| soon.min(every));
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(wait) => {}
                () = self.run_ended.notified() => {}
                changed = signal.changed() => {
                    if changed.is_err() {
                        // The store is closing: only the clock is left.
                        tokio::time::sleep(every).await;
                    }
                    tokio::time::sleep(SETTLE).await;
                }
            }
        }
    }
}

/// Counts a finished run and its records by outcome in the process's metrics.
fn record_run_metrics(integration: &Integration, run: &SyncRun) {
    let connector = integration.connector.to_string();
    let installation = integration.installation_id.to_string();
    metrics::counter!(
        "relais_sync_runs_total",
        "connector" => connector.clone(),
        "installation" => installation.clone(),
        "status" => run.status.as_str()
    )
    .increment(1);
    let c = run.counts;
    for (outcome, n) in [
        ("created", c.created),
        ("linked", c.linked),
        ("updated", c.updated),
        ("overwritten", c.overwritten),
        ("deleted", c.deleted),
        ("deactivated", c.deactivated),
        ("unchanged", c.unchanged),
        ("skipped", c.skipped),
        ("failed", c.failed),
    ] {
        metrics::counter!(
            "relais_sync_records_total",
            "connector" => connector.clone(),
            "installation" => installation.clone(),
            "outcome" => outcome
        )
        .increment(n);
    }
}

/// An integration this process is running; freed when dropped.
struct InFlight {
    set: Arc<Mutex<HashSet<InstallationId>>>,
    installation: InstallationId,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.installation);
        }
    }
}

/// Empties an integration's ledger, so that its next run sends every record
/// again; refused while a run of it holds its lease (in this process or
/// another), which would otherwise confirm records the reset just forgot.
pub async fn reset_ledger(
    store: &SharedStore,
    installation: InstallationId,
) -> Result<(), RuntimeError> {
    let integration = store.get_integration(installation).await?;
    let job = lease_job(installation);
    let owner = format!("reset:{}", crate::random_tag(6));
    if !store
        .claim_lease(&job, &owner, Duration::from_secs(60))
        .await?
    {
        return Err(busy(store, &job, installation).await);
    }
    let reset = store.reset_ledger(&integration.job()).await;
    store.release_lease(&job, &owner).await?;
    Ok(reset?)
}

/// Says who holds the lease `job` of `installation`.
async fn busy(store: &SharedStore, job: &LeaseJob, installation: InstallationId) -> RuntimeError {
    match store.lease_holder(job).await {
        Ok(holder) => RuntimeError::Busy {
            installation,
            holder: holder.map_or_else(|| "another process".to_owned(), |(h, _)| h),
        },
        Err(e) => e.into(),
    }
}

/// The lease job of an installation's integration.
pub fn lease_job(installation: InstallationId) -> LeaseJob {
    LeaseJob::Integration(installation)
}

fn finish<'a>(status: RunStatus, report: &'a Report, error: Option<&'a str>) -> RunFinish<'a> {
    RunFinish {
        status,
        full: report.full,
        counts: report.stored_counts(),
        partner_requests: report.partner_requests,
        error,
        lines: &report.lines,
    }
}

/// A connector set up for one integration, for the checks and mapping tools
/// the admin pages call.
struct Tool {
    connector: std::sync::Arc<dyn crate::engine::Connector>,
    setup: Setup,
}

impl Tool {
    /// `outcome`, its error said as a person reads it.
    fn said<T>(&self, outcome: Result<T, SyncError>) -> Result<T, HealthReason> {
        outcome.map_err(|e| reason_of(&e, self.connector.declaration().name).1)
    }
}

#[async_trait::async_trait]
impl relais_core::integration::ConnectionCheck for Runtime {
    async fn check(&self, integration: &Integration) -> Result<(), HealthReason> {
        let tool = self.set_up(integration, true).await?;
        tool.said(tool.connector.check_connection(&tool.setup).await)
    }
}

impl Runtime {
    /// The connector and setup of `integration`, for a mapping tool
    /// (reaching the partner or not).
    async fn set_up(
        &self,
        integration: &Integration,
        reaching: bool,
    ) -> Result<Tool, HealthReason> {
        let connector =
            crate::connectors::find(integration.connector.as_str()).ok_or_else(|| {
                HealthReason::NoConnector {
                    connector: integration.connector.as_str().to_owned(),
                }
            })?;
        let partner = connector.declaration().name;
        let setup = self
            .setup_reaching(connector.as_ref(), integration, reaching)
            .await
            .map_err(|e| reason_of(&e, partner).1)?;
        Ok(Tool { connector, setup })
    }
}

#[async_trait::async_trait]
impl relais_core::integration::MappingTools for Runtime {
    async fn tool(
        &self,
        integration: &Integration,
        reaching: bool,
    ) -> Result<Box<dyn relais_core::connector::MappingTool>, HealthReason> {
        Ok(Box::new(self.set_up(integration, reaching).await?))
    }
}

#[async_trait::async_trait]
impl relais_core::connector::MappingTool for Tool {
    async fn sources(&self, lang: &str) -> Result<Vec<SourceField>, HealthReason> {
        self.said(self.connector.mapping_sources(&self.setup, lang).await)
    }

    async fn check(&self, mapping: &FieldMapping) -> Result<Vec<MappingProblem>, HealthReason> {
        self.said(self.connector.check_mapping(&self.setup, mapping).await)
    }

    async fn preview(&self, query: &PreviewQuery) -> Result<PreviewPage, HealthReason> {
        self.said(self.connector.preview(&self.setup, query).await)
    }
}
