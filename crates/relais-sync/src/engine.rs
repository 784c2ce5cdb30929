//! The connector engine: the one loop every connector runs in.
//!
//! A connector ([`Connector`]) declares itself (its settings, schedules and
//! streams, see [`relais_core::connector`]) and, for a run, opens its
//! streams ([`Stream`]). The engine then runs each stream in the declared
//! order: it reads what changed since the stream's checkpoint (everything
//! on a full reconciliation), plans against the stream's ledger, writes
//! creates and updates (in batches and with bounded concurrency where the
//! connector allows it, each call within the request budget and retried by
//! the HTTP layer), records every record's outcome with its fields before
//! and after, confirms what the other side acknowledged to the ledger, and
//! corrects drift made on the other side where the stream can read it
//! back. Deletions follow, children first (streams in reverse order): on a
//! full run, whatever the ledger holds that the run did not see; otherwise
//! what the read said was gone. Checkpoints move only when the whole run
//! was confirmed, so a run that died is simply run again and writes nothing
//! twice.
//!
//! An outbound stream reads the base and writes to the partner; an inbound
//! one reads the partner and writes into the base through the Lucca API
//! with the installation's key. The engine treats both alike.
//!
//! A stream that reads a whole window on every run ([`Stream::reads_whole`],
//! e.g. Semana's days) is settled on every run as a full run would settle
//! it: what the read no longer returned is removed, unless it slid out of
//! the window ([`Stream::in_window`]), which leaves it as it is. A stream
//! may remove by deactivating ([`Stream::deactivates`]), and names its
//! records for the report ([`Stream::name`]).

use crate::error::SyncError;
use crate::http::{Budget, RetryPolicy};
use crate::report::{Report, ReportLine};
use crate::source::LuccaSource;
use crate::Side;
use async_trait::async_trait;
use chrono::NaiveDate;
use futures_util::stream::{self as futures_stream, StreamExt};
use relais_core::connector::{ConnectorSpec, StreamSpec};
use relais_core::integration::{LedgerJob, Outcome};
use relais_core::ledger::{field_changes, plan, Acknowledged, Change, SourceRecord};
use relais_core::said::Said;
use relais_core::secret::SecretName;
use relais_core::secret::Secrets;
use relais_store::SharedStore;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// The name of the checkpoint of what a stream read of its origin.
pub const CURSOR: &str = "cursor";

/// How far behind the start of its read a stream's cursor is kept: a
/// change stamped before the read but committed after it (a write that
/// waited for the database meanwhile) is read again by the next run
/// instead of falling behind the cursor. Records read again and unchanged
/// are only counted unchanged.
pub const COMMIT_LAG: chrono::Duration = chrono::Duration::seconds(10);

/// The cursor a stream keeps after a read that started at `started` and
/// reached `read` (cursors that are instants, as Lucca's `modifiedAt`, are
/// held back by [`COMMIT_LAG`]; others are kept as read).
pub fn settled_cursor(read: String, started: chrono::DateTime<chrono::Utc>) -> String {
    match chrono::DateTime::parse_from_rfc3339(&read) {
        Ok(at) if at > started - COMMIT_LAG => {
            (started - COMMIT_LAG).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        }
        _ => read,
    }
}

/// The name of the checkpoint of a stream's drift read-back.
pub const DRIFT_CURSOR: &str = "drift";

/// Everything a connector is given to open its streams for a run.
#[derive(Clone)]
pub struct Setup {
    /// The HR base, read (and, for inbound streams, written) through its
    /// Lucca API with the installation's key.
    pub source: LuccaSource,
    /// The partner's base URL.
    pub partner_url: String,
    /// The connector's options, checked against its typed configuration.
    pub options: Value,
    /// The partner's secrets (those the connector declares, nothing else).
    pub secrets: Secrets,
    /// The request budget towards the partner.
    pub budget: Budget,
    /// Retries towards the partner.
    pub policy: RetryPolicy,
    /// The HTTP client partner calls go through (timeouts, TLS roots).
    pub http: reqwest::Client,
    /// Today in the integration's time zone.
    pub today: NaiveDate,
    /// The integration's ledger job; each stream's job starts with it.
    pub job: LedgerJob,
    /// The store holding the ledger (streams may read it, e.g. to know
    /// which parents the other side holds).
    pub store: SharedStore,
    /// For a run on change: the records the change feed says changed, in
    /// what the connector sends, since the integration's last run. A
    /// stream may then read only these instead of everything modified
    /// since its cursor; `None`: read by the cursor.
    pub changed: Option<Changed>,
}

/// The records the change feed says changed, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    ids: BTreeMap<relais_core::events::EventKind, std::collections::BTreeSet<i64>>,
}

impl Changed {
    /// Notes that the record `id` of `kind` changed.
    pub fn note(&mut self, kind: relais_core::events::EventKind, id: i64) {
        self.ids.entry(kind).or_default().insert(id);
    }

    /// The records of `kind` that changed, in ascending order.
    pub fn of(&self, kind: relais_core::events::EventKind) -> Vec<i64> {
        self.ids
            .get(&kind)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Records of every kind that changed.
    pub fn len(&self) -> usize {
        self.ids.values().map(|ids| ids.len()).sum()
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed.
        f.debug_struct("Setup")
            .field("source", &self.source)
            .field("partner_url", &self.partner_url)
            .field("options", &self.options)
            .field("job", &self.job)
            .field("changed", &self.changed)
            .finish_non_exhaustive()
    }
}

impl Setup {
    /// The connector's typed configuration, read from the options.
    pub fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T, SyncError> {
        serde_json::from_value(self.options.clone()).map_err(|e| {
            SyncError::Config(Said::new(
                format!("the connector's options: {e}"),
                format!("les options du connecteur : {e}"),
            ))
        })
    }

    /// The connector's typed secrets: the partner's secrets it declares.
    pub fn typed_secrets<T: serde::de::DeserializeOwned>(&self) -> Result<T, SyncError> {
        let value = serde_json::to_value(&self.secrets.0).unwrap_or_default();
        serde_json::from_value(value).map_err(|e| {
            SyncError::Config(Said::new(
                format!("the connector's secrets: {e}"),
                format!("les secrets du connecteur : {e}"),
            ))
        })
    }

    /// The ledger job of stream `stream`.
    pub fn stream_job(&self, stream: &str) -> LedgerJob {
        self.job.stream(stream)
    }

    /// The partner's API as this setup reaches it: its URL, client, budget and retries.
    pub fn partner_api(&self) -> crate::http::PartnerApi {
        crate::http::PartnerApi::new(
            &self.partner_url,
            self.http.clone(),
            self.budget.clone(),
            self.policy,
        )
    }
}

/// What a stream read: records of its origin, the cursor to move its
/// checkpoint to once the run is confirmed, and (on runs that are not
/// full) keys whose record left the stream, to delete on the other side.
#[derive(Debug, Default)]
pub struct Batch {
    /// The records read, as the other side's fields.
    pub records: Vec<SourceRecord>,
    /// The newest modification among what was read.
    pub cursor: Option<String>,
    /// Keys to delete on the other side.
    pub gone: Vec<String>,
}

impl Batch {
    /// The next page of `pages` as a stream's batch: each user made a record
    /// by `record`, the page's newest modification as its cursor; `None`
    /// after the last page.
    pub async fn of_users(
        pages: &mut crate::source::UserPages,
        since: Option<&str>,
        record: impl Fn(&crate::lucca::User) -> SourceRecord,
    ) -> Result<Option<Batch>, SyncError> {
        let Some((users, cursor)) = pages.next(since).await? else {
            return Ok(None);
        };
        Ok(Some(Batch {
            records: users.iter().map(record).collect(),
            cursor,
            gone: Vec::new(),
        }))
    }
}

/// One record to create or update on the other side.
#[derive(Debug, Clone)]
pub struct Write {
    /// The record.
    pub record: SourceRecord,
    /// Whether the ledger has no trace of it (a create).
    pub creating: bool,
    /// The other side's identifier, when the ledger has it.
    pub partner_id: Option<String>,
}

/// What the other side answered to one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The other side's identifier of the record.
    pub partner_id: Option<String>,
    /// Whether a create found the record already there (linked by e-mail,
    /// or sent before a ledger reset).
    pub existed: bool,
}

/// What the other side holds of records it changed since the last read
/// back: keys and the fields as held there.
#[derive(Debug, Default)]
pub struct Drift {
    /// (key, fields held on the other side).
    pub held: Vec<(String, BTreeMap<String, Value>)>,
    /// The other side's clock when it answered: the next read starts there.
    pub clock: Option<String>,
    /// Whether this was the last page.
    pub last: bool,
}

/// One stream of a connector, opened for a run.
#[async_trait]
pub trait Stream: Send + Sync {
    /// Its declaration (name, direction, labels).
    fn spec(&self) -> &'static StreamSpec;

    /// Records sent in one write call (1 when the other side takes one at a time).
    fn batch_size(&self) -> usize {
        1
    }

    /// Write calls in flight at once.
    fn concurrency(&self) -> usize {
        1
    }

    /// Whether every read of this stream is whole (a window read again on
    /// every run): each run then reconciles it as a full run would, and
    /// removes what the read no longer returned.
    fn reads_whole(&self) -> bool {
        false
    }

    /// Whether a record the other side holds, and a whole read no longer
    /// returned, is still within what the stream reads (so it left: it is
    /// removed) rather than history that slid out of the stream's window
    /// (kept as it is on the other side, and out of the ledger).
    fn in_window(&self, _record: &Acknowledged) -> bool {
        true
    }

    /// Whether removing a record makes it inactive on the other side (the
    /// partner keeps it, e.g. a person who left) rather than deleting it.
    fn deactivates(&self) -> bool {
        false
    }

    /// Who or what a record is, as a person reads it in the report (a
    /// name, a day); `None` when the key says enough.
    fn name(&self, _key: &str, _fields: &BTreeMap<String, Value>) -> Option<String> {
        None
    }

    /// The employee of the base a record is about, when it is about one:
    /// the report then names them by name and employee number.
    fn person(&self, _key: &str, _fields: &BTreeMap<String, Value>) -> Option<i64> {
        None
    }

    /// What a record about an employee is beyond that employee (a day, a
    /// period), in both languages, put after their name in the report;
    /// `None` when the employee says it all.
    fn detail(&self, _key: &str, _fields: &BTreeMap<String, Value>) -> Option<Said> {
        None
    }

    /// The next page of its origin: changed since `since` (`None`: all of
    /// it, on a full run); `None` after the last page.
    async fn next_page(&mut self, since: Option<&str>) -> Result<Option<Batch>, SyncError>;

    /// Creates or updates `writes` on the other side; one answer per write, in order.
    async fn write(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>>;

    /// Deletes one record on the other side (a 404 counts as deleted).
    async fn delete(&self, record: &Acknowledged) -> Result<(), SyncError>;

    /// The next page of records changed on the other side since `since`
    /// (all on a full run), to overwrite edits made there. `None` when the
    /// stream does not read back.
    async fn drift_page(
        &mut self,
        _since: Option<&str>,
        _page: usize,
    ) -> Result<Option<Drift>, SyncError> {
        Ok(None)
    }

    /// For a dry run: whether the other side already holds a record each
    /// of these creates would be linked to (as the real run's write would
    /// find it), so that the dry run says "linked" where the run will link.
    /// Reads only. By default the other side links nothing.
    async fn held_before_create(
        &mut self,
        records: &[&SourceRecord],
    ) -> Result<Vec<bool>, SyncError> {
        Ok(vec![false; records.len()])
    }
}

/// Writes `writes` one after the other with `write_one`, for a stream
/// whose partner takes one record per call: one answer per write, in order.
pub async fn one_at_a_time<'a, F, Fut>(
    writes: &'a [Write],
    write_one: F,
) -> Vec<Result<Written, SyncError>>
where
    F: Fn(&'a Write) -> Fut,
    Fut: std::future::Future<Output = Result<Written, SyncError>>,
{
    let mut out = Vec::with_capacity(writes.len());
    for w in writes {
        out.push(write_one(w).await);
    }
    out
}

/// A connector: its declaration and typed configuration (through
/// [`ConnectorSpec`]), how it checks its partner, and its streams.
#[async_trait]
pub trait Connector: ConnectorSpec {
    /// Reaches the partner with the given credentials without writing
    /// anything: Ok, or why not.
    async fn check_connection(&self, setup: &Setup) -> Result<(), SyncError>;

    /// Opens the streams of one run, in the order they run.
    async fn open(&self, setup: &Setup, dry_run: bool) -> Result<Vec<Box<dyn Stream>>, SyncError>;

    /// Whether a run that would read changes must reconcile in full instead
    /// (e.g. a record left the synced scope, which only a full run settles).
    async fn needs_full(&self, _setup: &Setup, _store: &SharedStore) -> Result<bool, SyncError> {
        Ok(false)
    }

    /// The base's fields a field mapping may point at (for a connector
    /// whose declaration has a mapping), labels in `lang`.
    async fn mapping_sources(
        &self,
        _setup: &Setup,
        _lang: &str,
    ) -> Result<Vec<relais_core::mapping::SourceField>, SyncError> {
        Err(no_mapping(self.declaration().name))
    }

    /// Every problem `mapping` would have against the base.
    async fn check_mapping(
        &self,
        _setup: &Setup,
        _mapping: &relais_core::mapping::FieldMapping,
    ) -> Result<Vec<relais_core::mapping::MappingProblem>, SyncError> {
        Err(no_mapping(self.declaration().name))
    }

    /// A page of the partner's records as the next run would send them,
    /// against what the partner holds; nothing is written.
    async fn preview(
        &self,
        _setup: &Setup,
        _query: &relais_core::mapping::PreviewQuery,
    ) -> Result<relais_core::mapping::PreviewPage, SyncError> {
        Err(no_mapping(self.declaration().name))
    }
}

/// The error of a mapping tool asked of a connector without a mapping.
fn no_mapping(partner: &str) -> SyncError {
    SyncError::Config(Said::new(
        format!("{partner} takes no field mapping"),
        format!("{partner} ne prend pas de correspondance de champs"),
    ))
}

/// Runs `connector` once: every stream, then deletions, then checkpoints.
/// `report.full` says whether the run reconciles in full (it may become
/// full when the connector asks); each record's outcome goes into `report`
/// as it happens, so a run that stops part-way keeps what it did.
pub async fn run(
    connector: &dyn Connector,
    setup: &Setup,
    report: &mut Report,
) -> Result<(), SyncError> {
    let store = &setup.store;
    if !report.full && !report.dry_run {
        // A stream never confirmed whole (first run, or a stream added
        // since) starts with a full reconciliation.
        for spec in connector.declaration().streams {
            if store
                .checkpoint(&setup.stream_job(spec.name), CURSOR)
                .await?
                .is_none()
            {
                report.full = true;
            }
        }
    }
    if !report.full && connector.needs_full(setup, store).await? {
        report.full = true;
    }
    let dry_run = report.dry_run;
    let mut streams = connector.open(setup, dry_run).await?;
    // The mark of what this run saw, for the streams it reads whole: every
    // stream on a full run, those whose reads are always whole otherwise.
    let run_tag = crate::random_tag(8);
    let tags: Vec<Option<&str>> = streams
        .iter()
        .map(|s| (report.full || s.reads_whole()).then_some(run_tag.as_str()))
        .collect();
    let mut cursors: Vec<(LedgerJob, Option<String>)> = Vec::new();
    let mut gone: Vec<Vec<String>> = Vec::new();
    for (stream, tag) in streams.iter_mut().zip(&tags) {
        let job = setup.stream_job(stream.spec().name);
        let since = if tag.is_some() {
            None
        } else {
            store.checkpoint(&job, CURSOR).await?
        };
        let started = relais_core::now();
        let mut run = StreamRun {
            stream: stream.as_mut(),
            store,
            job: &job,
            dry_run,
            tag: *tag,
        };
        let (cursor, left) = run.send(since.as_deref(), report).await?;
        run.correct_drift(report).await?;
        // A whole read is confirmed as of now when its stream gives no cursor.
        let read_whole = tag
            .is_some()
            .then(|| started.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        let cursor = cursor.or(since).or(read_whole);
        cursors.push((job.clone(), cursor.map(|c| settled_cursor(c, started))));
        gone.push(left);
    }
    // Deletions: children first.
    for ((stream, left), tag) in streams.iter().zip(gone).zip(&tags).rev() {
        let job = setup.stream_job(stream.spec().name);
        delete_gone(stream.as_ref(), store, &job, *tag, &left, dry_run, report).await?;
    }
    if !dry_run && report.is_complete() {
        for (job, cursor) in cursors {
            if let Some(cursor) = cursor {
                store.set_checkpoint(&job, CURSOR, &cursor).await?;
                report.checkpoint_moved = true;
            }
        }
    }
    Ok(())
}

/// One stream's part of a run.
struct StreamRun<'a> {
    stream: &'a mut dyn Stream,
    store: &'a SharedStore,
    job: &'a LedgerJob,
    dry_run: bool,
    tag: Option<&'a str>,
}

/// The report line of a record of `stream`, named as the stream names it.
fn line(
    stream: &dyn Stream,
    record: (&str, &BTreeMap<String, Value>),
    outcome: Outcome,
    fields: Vec<relais_core::ledger::FieldChange>,
) -> ReportLine {
    let detail = stream.detail(record.0, record.1);
    let who = stream.name(record.0, record.1).unwrap_or_default();
    ReportLine {
        stream: stream.spec().name.to_owned(),
        key: record.0.to_owned(),
        label: ReportLine::label_of(&who, detail.as_ref()),
        outcome,
        fields,
        employee: stream.person(record.0, record.1),
        detail,
    }
}

/// Errors after which the other side takes nothing more this run.
fn stops_the_run(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::PartnerCredentials { .. }
            | SyncError::Unreachable { .. }
            | SyncError::RateLimited { .. }
            | SyncError::SourceRefused { status: 401, .. }
    )
}

impl StreamRun<'_> {
    /// Reads, plans and writes every page; returns the newest cursor read
    /// and the keys the read said were gone.
    async fn send(
        &mut self,
        since: Option<&str>,
        report: &mut Report,
    ) -> Result<(Option<String>, Vec<String>), SyncError> {
        let mut newest: Option<String> = None;
        let mut gone = Vec::new();
        while let Some(batch) = self.stream.next_page(since).await? {
            newest = newest.max(batch.cursor);
            gone.extend(batch.gone);
            let keys: Vec<String> = batch.records.iter().map(|r| r.key.clone()).collect();
            let known: HashMap<String, Acknowledged> = self
                .store
                .acknowledged(self.job, &keys)
                .await?
                .into_iter()
                .map(|a| (a.key.clone(), a))
                .collect();
            let mut writes: Vec<(Write, Vec<relais_core::ledger::FieldChange>)> = Vec::new();
            for change in plan(batch.records, &known, false) {
                match change {
                    Change::Unchanged { .. } => report.unchanged(self.stream.spec().name),
                    Change::Create { record } => {
                        let fields = field_changes(&BTreeMap::new(), &record.fields);
                        writes.push((
                            Write {
                                record,
                                creating: true,
                                partner_id: None,
                            },
                            fields,
                        ));
                    }
                    Change::Update { record, fields } => {
                        let partner_id = known.get(&record.key).and_then(|a| a.partner_id.clone());
                        writes.push((
                            Write {
                                record,
                                creating: false,
                                partner_id,
                            },
                            fields,
                        ));
                    }
                    Change::Delete { .. } => unreachable!("page plans never delete"),
                }
            }
            if self.dry_run {
                let creates: Vec<&SourceRecord> = writes
                    .iter()
                    .filter(|(w, _)| w.creating)
                    .map(|(w, _)| &w.record)
                    .collect();
                let mut held = if creates.is_empty() {
                    Vec::new()
                } else {
                    self.stream.held_before_create(&creates).await?
                }
                .into_iter();
                for (w, fields) in writes {
                    let outcome = match (w.creating, w.creating && held.next().unwrap_or(false)) {
                        (true, true) => Outcome::Linked,
                        (true, false) => Outcome::Created,
                        (false, _) => Outcome::Updated,
                    };
                    report.push(line(
                        &*self.stream,
                        (&w.record.key, &w.record.fields),
                        outcome,
                        fields,
                    ));
                }
            } else {
                self.write_all(writes, report).await?;
            }
            if let Some(tag) = self.tag {
                // Seen by this full run, so that it is not taken for deleted.
                self.store.mark_seen(self.job, tag, &keys).await?;
            }
            report.maybe_spill().await;
        }
        Ok((newest, gone))
    }

    /// Writes in batches, `concurrency` calls at once, confirming to the
    /// ledger as answers come (in order).
    async fn write_all(
        &mut self,
        writes: Vec<(Write, Vec<relais_core::ledger::FieldChange>)>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let size = self.stream.batch_size().max(1);
        let concurrency = self.stream.concurrency().max(1);
        let chunks: Vec<Vec<(Write, Vec<relais_core::ledger::FieldChange>)>> = {
            let mut chunks = Vec::new();
            let mut rest = writes.into_iter().peekable();
            while rest.peek().is_some() {
                chunks.push(rest.by_ref().take(size).collect());
            }
            chunks
        };
        let stream: &dyn Stream = &*self.stream;
        let mut answers = futures_stream::iter(chunks.into_iter().map(|chunk| async move {
            let plain: Vec<Write> = chunk.iter().map(|(w, _)| w.clone()).collect();
            let results = stream.write(&plain).await;
            (chunk, results)
        }))
        .buffered(concurrency);
        let mut confirmed = Confirmations::new(self.store, self.job);
        let mut stop: Option<SyncError> = None;
        while let Some((chunk, results)) = answers.next().await {
            let mut results = results.into_iter();
            for (w, fields) in chunk {
                let result = results.next().unwrap_or_else(|| {
                    Err(SyncError::Malformed {
                        what: Side::Partner,
                        reason: "fewer answers than records in a batch".into(),
                    })
                });
                match result {
                    Ok(written) => {
                        let outcome = match (w.creating, written.existed) {
                            (true, true) => Outcome::Linked,
                            (true, false) => Outcome::Created,
                            (false, _) => Outcome::Updated,
                        };
                        report.push(line(
                            stream,
                            (&w.record.key, &w.record.fields),
                            outcome,
                            fields,
                        ));
                        confirmed
                            .push(
                                Acknowledged {
                                    key: w.record.key.clone(),
                                    hash: w.record.hash(),
                                    fields: w.record.fields.clone(),
                                    partner_id: written.partner_id.or(w.partner_id),
                                },
                                report,
                            )
                            .await?;
                    }
                    Err(e) if stops_the_run(&e) => {
                        if stop.is_none() {
                            stop = Some(e);
                        }
                    }
                    Err(e) => report.push(line(
                        stream,
                        (&w.record.key, &w.record.fields),
                        e.outcome(),
                        fields,
                    )),
                }
            }
            if stop.is_some() {
                break;
            }
            report.maybe_spill().await;
        }
        // Keep what was confirmed, then stop if the other side cannot take more.
        confirmed.flush(report).await?;
        match stop {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Overwrites what the other side changed since the last read back.
    async fn correct_drift(&mut self, report: &mut Report) -> Result<(), SyncError> {
        let since = match self.tag {
            Some(_) => None,
            None => self.store.checkpoint(self.job, DRIFT_CURSOR).await?,
        };
        let mut clock: Option<String> = None;
        let mut page = 1;
        let mut read_any = false;
        loop {
            let Some(drift) = self.stream.drift_page(since.as_deref(), page).await? else {
                break;
            };
            read_any = true;
            clock = clock.or(drift.clock);
            let held: HashMap<String, BTreeMap<String, Value>> = drift.held.into_iter().collect();
            let keys: Vec<String> = held.keys().cloned().collect();
            let seen: Option<HashSet<String>> = match self.tag {
                Some(tag) => Some(
                    self.store
                        .seen_keys(self.job, tag, &keys)
                        .await?
                        .into_iter()
                        .collect(),
                ),
                None => None,
            };
            for ack in self.store.acknowledged(self.job, &keys).await? {
                if seen.as_ref().is_some_and(|seen| !seen.contains(&ack.key)) {
                    // No longer read from the origin: deleted later.
                    continue;
                }
                let Some(fields) = held.get(&ack.key) else {
                    continue;
                };
                let there: BTreeMap<String, Value> = ack
                    .fields
                    .keys()
                    .map(|n| (n.clone(), fields.get(n).cloned().unwrap_or(Value::Null)))
                    .collect();
                let edits = field_changes(&there, &ack.fields);
                if edits.is_empty() {
                    continue;
                }
                if self.dry_run {
                    report.push(line(
                        &*self.stream,
                        (&ack.key, &ack.fields),
                        Outcome::Overwritten,
                        edits,
                    ));
                    continue;
                }
                let write = Write {
                    record: SourceRecord {
                        key: ack.key.clone(),
                        fields: ack.fields.clone(),
                    },
                    creating: false,
                    partner_id: ack.partner_id.clone(),
                };
                let result = self.stream.write(std::slice::from_ref(&write)).await.pop();
                let named = (ack.key.as_str(), &ack.fields);
                match result {
                    Some(Ok(_)) => {
                        report.push(line(&*self.stream, named, Outcome::Overwritten, edits))
                    }
                    Some(Err(e)) if stops_the_run(&e) => return Err(e),
                    Some(Err(e)) => report.push(line(&*self.stream, named, e.outcome(), edits)),
                    None => {}
                }
            }
            report.maybe_spill().await;
            if drift.last {
                break;
            }
            page += 1;
        }
        // Next time, read only what changed from this read on.
        if let Some(t) = clock.filter(|_| read_any && !self.dry_run && report.is_complete()) {
            self.store
                .set_checkpoint(self.job, DRIFT_CURSOR, &t)
                .await?;
        }
        Ok(())
    }
}

/// Deletes on the other side what left the stream: on a full run, what the
/// ledger holds and the run did not see; otherwise the keys the read gave.
async fn delete_gone(
    stream: &dyn Stream,
    store: &SharedStore,
    job: &LedgerJob,
    tag: Option<&str>,
    gone: &[String],
    dry_run: bool,
    report: &mut Report,
) -> Result<(), SyncError> {
    let mut after: Option<String> = None;
    let mut listed = false;
    loop {
        let page = match tag {
            Some(tag) => store.unseen_page(job, tag, after.as_deref(), 1000).await?,
            None if listed => break,
            None => {
                listed = true;
                store.acknowledged(job, gone).await?
            }
        };
        let Some(last) = page.last() else { break };
        after = Some(last.key.clone());
        let mut forgotten = Vec::new();
        for a in &page {
            if !stream.in_window(a) {
                // History the stream no longer reads: left as it is on the
                // other side, and out of the ledger.
                if !dry_run {
                    forgotten.push(a.key.clone());
                }
                continue;
            }
            let (outcome, before) = if stream.deactivates() {
                let active = relais_core::ledger::FieldChange {
                    field: "active".into(),
                    before: Value::Bool(true),
                    after: Value::Bool(false),
                };
                (Outcome::Deactivated, vec![active])
            } else {
                (Outcome::Deleted, field_changes(&a.fields, &BTreeMap::new()))
            };
            let named = (a.key.as_str(), &a.fields);
            if dry_run {
                report.push(line(stream, named, outcome, before));
                continue;
            }
            match stream.delete(a).await {
                Ok(()) => {
                    report.push(line(stream, named, outcome, before));
                    forgotten.push(a.key.clone());
                }
                Err(e) if stops_the_run(&e) => {
                    store.forget(job, &forgotten).await?;
                    return Err(e);
                }
                Err(e) => report.push(line(stream, named, e.outcome(), before)),
            }
        }
        store.forget(job, &forgotten).await?;
        report.maybe_spill().await;
    }
    Ok(())
}

/// What the other side confirmed and the ledger has not recorded yet.
/// Written to the ledger every 100 records or quarter of a second, so a run
/// that dies loses at most that much of its progress (which the next run
/// sends again, idempotently).
struct Confirmations<'a> {
    store: &'a SharedStore,
    job: &'a LedgerJob,
    pending: Vec<Acknowledged>,
    since: Instant,
}

impl<'a> Confirmations<'a> {
    fn new(store: &'a SharedStore, job: &'a LedgerJob) -> Self {
        Self {
            store,
            job,
            pending: Vec::new(),
            since: Instant::now(),
        }
    }

    /// Records one confirmation; writes the batch when it is due.
    async fn push(&mut self, ack: Acknowledged, report: &mut Report) -> Result<(), SyncError> {
        self.pending.push(ack);
        if self.pending.len() >= 100 || self.since.elapsed() >= Duration::from_millis(250) {
            self.flush(report).await?;
        }
        Ok(())
    }

    /// Hands the report's lines and counts on, then writes what is pending
    /// to the ledger, so that what the ledger holds and what the report says
    /// move together.
    async fn flush(&mut self, report: &mut Report) -> Result<(), SyncError> {
        if !self.pending.is_empty() {
            // The report first: a run killed between the two reports a
            // record the take-over sends again (and reports again), where
            // the other order would lose it from both reports.
            report.spill_now().await;
            self.store.acknowledge(self.job, &self.pending).await?;
            self.pending.clear();
        }
        self.since = Instant::now();
        Ok(())
    }
}

/// A connector ready to run with its setup: what the runtime builds from
/// an integration, and what tests and benchmarks build by hand.
#[derive(Clone)]
pub struct Job {
    /// The connector.
    pub connector: std::sync::Arc<dyn Connector>,
    /// Its setup.
    pub setup: Setup,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("connector", &self.connector.declaration().code)
            .field("setup", &self.setup)
            .finish()
    }
}

impl Job {
    /// `connector` reading `source` and writing to `partner_url` with
    /// `secrets`, its options the defaults changed by `options` (a JSON
    /// object), no request budget, default retries, today in Paris.
    pub fn new(
        connector: std::sync::Arc<dyn Connector>,
        source: LuccaSource,
        partner_url: &str,
        secrets: &[(&'static str, &str)],
        options: Value,
        job: &LedgerJob,
        store: &SharedStore,
    ) -> Result<Self, SyncError> {
        let mut merged = connector.default_options();
        if let (Some(all), Some(given)) = (merged.as_object_mut(), options.as_object()) {
            all.extend(given.clone());
        }
        let options = connector
            .check_options(&merged)
            .map_err(SyncError::config)?;
        let mut sealed = Secrets::default();
        for (name, value) in secrets {
            sealed.set(SecretName::Partner(name), value);
        }
        Ok(Self {
            setup: Setup {
                source,
                partner_url: partner_url.to_owned(),
                options,
                secrets: sealed,
                budget: Budget::unlimited(),
                policy: RetryPolicy::default(),
                http: crate::http::client(Duration::from_secs(15)),
                today: relais_core::org::TimeZone::PARIS.today(),
                job: job.to_owned(),
                store: store.clone(),
                changed: None,
            },
            connector,
        })
    }

    /// Runs once (`full`: reconcile everything; `dry_run`: write nothing).
    pub async fn run(&self, full: bool, dry_run: bool) -> Result<Report, SyncError> {
        let mut report = Report {
            full,
            dry_run,
            ..Report::default()
        };
        self.run_into(&mut report).await?;
        Ok(report)
    }

    /// Runs once into `report` (its `full` and `dry_run` say how), counting
    /// the partner requests sent: a run that stops part-way keeps what it did.
    pub async fn run_into(&self, report: &mut Report) -> Result<(), SyncError> {
        let scope = crate::http::RequestScope {
            sent: report.sent.clone(),
            connector: self.connector.declaration().code.to_owned(),
            installation: self.setup.job.to_string(),
        };
        let out = crate::http::counting_requests(
            scope,
            run(self.connector.as_ref(), &self.setup, report),
        )
        .await;
        report.settle_requests();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_stays_behind_the_writes_still_committing() {
        let started: chrono::DateTime<chrono::Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        // Read up to a change stamped just before the read: held back.
        assert_eq!(
            settled_cursor("2026-12-02T09:59:59.500Z".into(), started),
            "2026-12-02T09:59:50Z"
        );
        // An older cursor is kept as it is.
        assert_eq!(
            settled_cursor("2026-12-02T09:00:00Z".into(), started),
            "2026-12-02T09:00:00Z"
        );
        // A cursor that is not an instant is the stream's own business.
        assert_eq!(settled_cursor("page-42".into(), started), "page-42");
    }
}
