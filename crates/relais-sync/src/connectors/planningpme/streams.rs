//! PlanningPME's three streams and the mapping from Lucca records: the
//! departments in scope (parents first), their employees as resources, and
//! the absences of the window as unavailabilities.

use super::client::PlanningPmeClient;
use super::Config;
use crate::engine::{Batch, Changed, Setup, Stream, Write, Written, CURSOR};
use crate::error::SyncError;
use crate::lucca::{self, fields_param, LeaveRequest, User};
use crate::source::{LuccaSource, Pager};
use async_trait::async_trait;
use chrono::{Months, NaiveDate};
use relais_core::connector::StreamSpec;
use relais_core::events::EventKind;
use relais_core::fields::{users, Field};
use relais_core::integration::LedgerJob;
use relais_core::ledger::{Acknowledged, SourceRecord};
use relais_core::said::Said;
use relais_store::SharedStore;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// The fields read of employees.
const USER_FIELDS: &[Field] = &[users::ID, users::DEPARTMENT_ID, users::MODIFIED_AT];
/// Records asked for by identifier in one request, on a run on change.
const BY_ID: usize = 100;
/// The fields read of absences.
const LEAVE_FIELDS: &str =
    "id,ownerId,leaveAccount,startDate,startDateHalf,endDate,endDateHalf,status,modifiedAt";

/// What a kind of record is called at PlanningPME, and its ledger prefix.
#[derive(Clone, Copy)]
struct Kind {
    stream: usize,
    prefix: &'static str,
    path: &'static str,
}

const DEPARTMENT: Kind = Kind {
    stream: 0,
    prefix: "dept:",
    path: "api/department",
};
const RESOURCE: Kind = Kind {
    stream: 1,
    prefix: "res:",
    path: "api/resource",
};
const ABSENCE: Kind = Kind {
    stream: 2,
    prefix: "abs:",
    path: "api/unavailability",
};

fn time_of(date: Option<&String>, half: Option<&String>, start: bool) -> Option<String> {
    let day = date?;
    let hour = match (half?.as_str(), start) {
        ("AM", true) => "08:00:00",
        ("PM", true) => "13:00:00",
        ("AM", false) => "12:00:00",
        _ => "18:00:00",
    };
    Some(format!("{day}T{hour}"))
}

/// An employee as a PlanningPME resource.
fn resource(u: &User) -> SourceRecord {
    let id = u.id;
    SourceRecord {
        key: format!("{}{id}", RESOURCE.prefix),
        fields: BTreeMap::from([
            ("label".to_owned(), json!(format!("Collaborateur {id}"))),
            (
                "departmentKey".to_owned(),
                json!(u.department_id.map(|d| d.to_string())),
            ),
        ]),
    }
}

/// An absence as a PlanningPME unavailability.
fn absence(a: &LeaveRequest) -> Option<SourceRecord> {
    Some(SourceRecord {
        key: format!("{}{}", ABSENCE.prefix, a.id),
        fields: BTreeMap::from([
            ("resource".to_owned(), json!(a.owner_id?.to_string())),
            (
                "start".to_owned(),
                json!(time_of(
                    a.start_date.as_ref(),
                    a.start_date_half.as_ref(),
                    true
                )?),
            ),
            (
                "end".to_owned(),
                json!(time_of(
                    a.end_date.as_ref(),
                    a.end_date_half.as_ref(),
                    false
                )?),
            ),
            (
                "label".to_owned(),
                json!(a.leave_account.as_ref().and_then(|l| l.name.as_ref())),
            ),
        ]),
    })
}

/// The departments in scope, and their records, parents first.
struct Scope {
    ids: HashSet<i64>,
    records: Vec<SourceRecord>,
}

impl Scope {
    /// The identifiers in scope, as a Lucca list filter.
    fn list(&self) -> String {
        let mut sorted: Vec<i64> = self.ids.iter().copied().collect();
        sorted.sort_unstable();
        joined(&sorted)
    }
}

async fn read_scope(source: &LuccaSource, base: Option<i64>) -> Result<Scope, SyncError> {
    let departments = source.departments().await?;
    let mut ids: HashSet<i64> = HashSet::new();
    match base {
        None => ids.extend(departments.iter().map(|d| d.id)),
        Some(root) => {
            ids.insert(root);
            loop {
                let before = ids.len();
                for d in &departments {
                    if d.parent_id.is_some_and(|p| ids.contains(&p)) {
                        ids.insert(d.id);
                    }
                }
                if ids.len() == before {
                    break;
                }
            }
        }
    }
    let mut records = Vec::new();
    // Parents before children, so PlanningPME knows each parent first.
    let mut placed: HashSet<i64> = HashSet::new();
    while placed.len() < ids.len() {
        let mut progress = false;
        for d in &departments {
            let id = d.id;
            if !ids.contains(&id) || placed.contains(&id) {
                continue;
            }
            let parent = d.parent_id.filter(|p| ids.contains(p));
            if parent.is_some_and(|p| !placed.contains(&p)) {
                continue;
            }
            placed.insert(id);
            progress = true;
            records.push(SourceRecord {
                key: format!("{}{id}", DEPARTMENT.prefix),
                fields: BTreeMap::from([
                    ("label".to_owned(), json!(d.name)),
                    ("parentKey".to_owned(), json!(parent.map(|p| p.to_string()))),
                ]),
            });
        }
        if !progress {
            break;
        }
    }
    Ok(Scope { ids, records })
}

/// What the three streams of a run share.
struct Shared {
    scope: Scope,
    client: PlanningPmeClient,
    /// Employees sent as resources by this run.
    people: Mutex<HashSet<i64>>,
    store: SharedStore,
    resources_job: LedgerJob,
    today: NaiveDate,
    until: NaiveDate,
    /// On a run on change, the records the change feed says changed.
    changed: Option<Changed>,
    /// The base, read through its API.
    source: LuccaSource,
    /// Write calls in flight at once (departments aside).
    concurrency: usize,
}

/// Opens the three streams: reads the scope once, signs in once.
pub(super) async fn open(setup: &Setup, dry_run: bool) -> Result<Vec<Box<dyn Stream>>, SyncError> {
    let config: Config = setup.config()?;
    let scope = read_scope(&setup.source, config.base_department).await?;
    let mut client = PlanningPmeClient::new(setup)?;
    if !dry_run {
        match client.sign_in().await {
            Ok(()) => {}
            // No request left even for the token: the run still plans, and
            // every write it would make is reported as left out for the budget.
            Err(SyncError::BudgetSpent { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let shared = Arc::new(Shared {
        scope,
        client,
        people: Mutex::new(HashSet::new()),
        store: setup.store.clone(),
        resources_job: setup.stream_job(super::DECLARATION.streams[1].name),
        today: setup.today,
        until: setup
            .today
            .checked_add_months(Months::new(config.months))
            .unwrap_or(setup.today),
        changed: setup.changed.clone(),
        source: setup.source.clone(),
        concurrency: config.concurrency as usize,
    });
    Ok([DEPARTMENT, RESOURCE, ABSENCE]
        .into_iter()
        .map(|kind| {
            Box::new(PmeStream {
                kind,
                shared: shared.clone(),
                read: Mutex::new(HashSet::new()),
                pager: None,
                done: false,
            }) as Box<dyn Stream>
        })
        .collect())
}

/// Whether an employee sent as a resource left the synced departments
/// since the last run (or nothing was sent yet): only a full run settles it.
///
/// On a run on change, only the employees the change feed names are read:
/// one it no longer returns (deleted, or out of the key's reach) left too;
/// and with a base department, a changed department may have taken its
/// people out of scope.
pub(super) async fn someone_left(setup: &Setup, store: &SharedStore) -> Result<bool, SyncError> {
    let config: Config = setup.config()?;
    let job = setup.stream_job(super::DECLARATION.streams[1].name);
    let Some(since) = store.checkpoint(&job, CURSOR).await? else {
        return Ok(true);
    };
    if let Some(changed) = &setup.changed {
        if config.base_department.is_some() && !changed.of(EventKind::Department).is_empty() {
            return Ok(true);
        }
        let ids = changed.of(EventKind::Employee);
        if ids.is_empty() {
            return Ok(false);
        }
        let scope = read_scope(&setup.source, config.base_department).await?;
        for ids in ids.chunks(BY_ID) {
            let found: Vec<User> = lucca::typed(
                "user",
                setup
                    .source
                    .all(
                        "/api/v3/users",
                        &format!("fields={}&id={}", fields_param(USER_FIELDS), joined(ids)),
                    )
                    .await?,
            )?;
            let left: Vec<String> = ids
                .iter()
                .filter(|id| {
                    !found.iter().any(|u| {
                        u.id == **id && u.department_id.is_some_and(|d| scope.ids.contains(&d))
                    })
                })
                .map(|id| format!("{}{id}", RESOURCE.prefix))
                .collect();
            if !store.acknowledged(&job, &left).await?.is_empty() {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let scope = read_scope(&setup.source, config.base_department).await?;
    if scope.ids.is_empty() {
        return Ok(true);
    }
    let mut pages = setup.source.pages(
        "/api/v3/users",
        &format!(
            "fields={}&modifiedAt=since,{since}&orderBy=id,asc",
            fields_param(USER_FIELDS)
        ),
    );
    while let Some(users) = pages.next().await? {
        let users: Vec<User> = lucca::typed("user", users)?;
        let left: Vec<String> = users
            .iter()
            .filter(|u| !u.department_id.is_some_and(|d| scope.ids.contains(&d)))
            .map(|u| resource(u).key)
            .collect();
        if !store.acknowledged(&job, &left).await?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Identifiers as a Lucca list filter.
fn joined(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// One of the three streams.
struct PmeStream {
    /// Which of the three.
    kind: Kind,
    /// What the three streams of the run share.
    shared: Arc<Shared>,
    /// The records read so far, on a run on change (whose reads may overlap).
    read: Mutex<HashSet<i64>>,
    /// The stream's reads (opened by the first page).
    pager: Option<Pager>,
    /// Whether every read was made.
    done: bool,
}

impl PmeStream {
    /// The path this stream reads.
    fn path(&self) -> &'static str {
        if self.kind.stream == 1 {
            "/api/v3/users"
        } else {
            "/api/v3/leaveRequests"
        }
    }

    /// Whether this run reads only the records the change feed names
    /// (a run on change), rather than all modified since `since`.
    fn by_change(&self, since: Option<&str>) -> Option<&Changed> {
        since.and(self.shared.changed.as_ref())
    }

    /// The reads of this stream: everything in scope (`since` unset),
    /// what was modified since `since`, or on a run on change the records
    /// the change feed names, a hundred at a time.
    fn queries(&self, since: Option<&str>) -> VecDeque<String> {
        let list = self.shared.scope.list();
        let (user_fields, leave_fields) = (fields_param(USER_FIELDS), LEAVE_FIELDS);
        let in_scope = if self.kind.stream == 1 {
            format!("fields={user_fields}&departmentId={list}")
        } else {
            format!("fields={leave_fields}&owner.departmentId={list}")
        };
        let window = format!(
            "endDate=since,{}&startDate=until,{}&status=0,2",
            self.shared.today, self.shared.until
        );
        if let Some(changed) = self.by_change(since) {
            let by_id = |kind: EventKind, filter: &str| {
                changed
                    .of(kind)
                    .chunks(BY_ID)
                    .map(|ids| format!("{in_scope}&{filter}={}&orderBy=id,asc", joined(ids)))
                    .collect::<Vec<_>>()
            };
            if self.kind.stream == 1 {
                return by_id(EventKind::Employee, "id").into();
            }
            // The absences changed, and those of the window of the
            // employees changed (one may just have joined the synced
            // departments).
            let mut queries = by_id(EventKind::Leave, "id");
            queries.extend(
                by_id(EventKind::Employee, "ownerId")
                    .into_iter()
                    .map(|q| format!("{q}&{window}")),
            );
            return queries.into();
        }
        let query = match (self.kind.stream, since) {
            (1, None) => format!("{in_scope}&orderBy=id,asc"),
            (_, None) => format!("{in_scope}&{window}&orderBy=id,asc"),
            (_, Some(since)) => format!("{in_scope}&modifiedAt=since,{since}&orderBy=id,asc"),
        };
        VecDeque::from([query])
    }

    /// Resources: those of the departments in scope.
    /// On a run on change, the cursor stays (the records read are not all
    /// that changed since it).
    fn resources(&self, users: Vec<Value>, by_change: bool) -> Result<Batch, SyncError> {
        let fields = fields_param(USER_FIELDS);
        for u in &users {
            crate::source::require_fields(u, &fields)?;
        }
        let users: Vec<User> = lucca::typed("user", users)?;
        let mut people = self.shared.people.lock().expect("never poisoned");
        let mut batch = Batch {
            cursor: lucca::newest(users.iter().map(|u| u.modified_at.as_ref()))
                .filter(|_| !by_change),
            ..Batch::default()
        };
        for u in &users {
            people.insert(u.id);
            batch.records.push(resource(u));
        }
        Ok(batch)
    }

    /// Unavailabilities: the absences of the window whose owner is a
    /// resource; on a run that is not full, what is no longer live is gone.
    async fn absences(
        &self,
        absences: Vec<Value>,
        full: bool,
        by_change: bool,
    ) -> Result<Batch, SyncError> {
        let absences: Vec<LeaveRequest> = lucca::typed("leave request", absences)?;
        let owners: Vec<String> = absences
            .iter()
            .filter_map(|a| a.owner_id)
            .map(|o| format!("{}{o}", RESOURCE.prefix))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut known: HashSet<String> = if full {
            HashSet::new()
        } else {
            self.shared
                .store
                .acknowledged(&self.shared.resources_job, &owners)
                .await?
                .into_iter()
                .map(|a| a.key)
                .collect()
        };
        known.extend(
            self.shared
                .people
                .lock()
                .expect("never poisoned")
                .iter()
                .map(|p| format!("{}{p}", RESOURCE.prefix)),
        );
        let (today, until) = (self.shared.today.to_string(), self.shared.until.to_string());
        let mut batch = Batch {
            cursor: lucca::newest(absences.iter().map(|a| a.modified_at.as_ref()))
                .filter(|_| !by_change),
            ..Batch::default()
        };
        for a in &absences {
            if by_change && !self.read.lock().expect("never poisoned").insert(a.id) {
                // Read twice (changed, and of an employee changed): once is enough.
                continue;
            }
            let live = matches!(a.status, Some(0 | 2))
                && a.end_date.as_ref().is_some_and(|d| *d >= today)
                && a.start_date.as_ref().is_some_and(|d| *d <= until)
                && a.owner_id
                    .is_some_and(|o| known.contains(&format!("{}{o}", RESOURCE.prefix)));
            match (live, absence(a)) {
                (true, Some(r)) => batch.records.push(r),
                (false, Some(r)) if !full => batch.gone.push(r.key),
                _ => {}
            }
        }
        Ok(batch)
    }
}

#[async_trait]
impl Stream for PmeStream {
    fn spec(&self) -> &'static StreamSpec {
        &super::DECLARATION.streams[self.kind.stream]
    }

    fn name(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<String> {
        // A department by its name; resources and absences are named by
        // the employee they stand for (an absence's type and days follow).
        let label = fields.get("label").and_then(Value::as_str)?;
        (self.kind.stream == 0).then(|| label.to_owned())
    }

    fn person(&self, key: &str, fields: &BTreeMap<String, Value>) -> Option<i64> {
        match self.kind.stream {
            1 => key.strip_prefix(RESOURCE.prefix)?.parse().ok(),
            2 => fields.get("resource")?.as_str()?.parse().ok(),
            _ => None,
        }
    }

    fn detail(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<Said> {
        if self.kind.stream != 2 {
            return None;
        }
        let day = |n: &str, lang: &str| {
            let text = fields.get(n).and_then(Value::as_str).unwrap_or_default();
            chrono::NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
                .map_or_else(|_| text.to_owned(), |d| relais_core::said::day(d, lang))
        };
        let what = fields
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or("absence");
        Some(Said::new(
            format!("{what} from {} to {}", day("start", "en"), day("end", "en")),
            format!("{what} du {} au {}", day("start", "fr"), day("end", "fr")),
        ))
    }

    fn concurrency(&self) -> usize {
        // Parents before children: departments one at a time.
        if self.kind.stream == 0 {
            1
        } else {
            self.shared.concurrency
        }
    }

    async fn next_page(&mut self, since: Option<&str>) -> Result<Option<Batch>, SyncError> {
        if self.done {
            return Ok(None);
        }
        if self.kind.stream == 0 {
            // Departments are few: read whole on every run.
            self.done = true;
            return Ok(Some(Batch {
                records: self.shared.scope.records.clone(),
                cursor: Some(relais_core::now().to_rfc3339()),
                gone: Vec::new(),
            }));
        }
        if self.shared.scope.ids.is_empty() {
            self.done = true;
            return Ok(None);
        }
        if self.pager.is_none() {
            let queries = self.queries(since);
            self.pager = Some(self.shared.source.pages_of_each(self.path(), queries));
        }
        let pager = self.pager.as_mut().expect("set above");
        let Some(items) = pager.next().await? else {
            self.done = true;
            return Ok(None);
        };
        let by_change = self.by_change(since).is_some();
        if self.kind.stream == 1 {
            self.resources(items, by_change).map(Some)
        } else {
            self.absences(items, since.is_none(), by_change)
                .await
                .map(Some)
        }
    }

    async fn write(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>> {
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            let id = &w.record.key[self.kind.prefix.len()..];
            let sent = self
                .shared
                .client
                .send(
                    reqwest::Method::PUT,
                    &format!("{}/{id}", self.kind.path),
                    Some(&w.record.fields),
                )
                .await;
            out.push(sent.map(|()| Written {
                partner_id: Some(id.to_owned()),
                existed: false,
            }));
        }
        out
    }

    async fn delete(&self, record: &Acknowledged) -> Result<(), SyncError> {
        let id = &record.key[self.kind.prefix.len()..];
        match self
            .shared
            .client
            .send(
                reqwest::Method::DELETE,
                &format!("{}/{id}", self.kind.path),
                None,
            )
            .await
        {
            Ok(()) | Err(SyncError::Partner { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::time_of;

    #[test]
    fn half_days_become_time_ranges() {
        let day = "2026-03-02".to_owned();
        let (am, pm) = ("AM".to_owned(), "PM".to_owned());
        let at = |half: &String, start| time_of(Some(&day), Some(half), start).unwrap();
        assert_eq!(at(&am, true), "2026-03-02T08:00:00");
        assert_eq!(at(&pm, true), "2026-03-02T13:00:00");
        assert_eq!(at(&am, false), "2026-03-02T12:00:00");
        assert_eq!(at(&pm, false), "2026-03-02T18:00:00");
        assert!(time_of(None, Some(&am), true).is_none());
    }
}
