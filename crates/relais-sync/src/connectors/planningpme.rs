//! PlanningPME: departments and employees (identifier and department) as
//! resources, and the absences of the coming months as unavailabilities
//! labelled by absence account — half days as time ranges (morning
//! 08:00–12:00, afternoon 13:00–18:00).
//!
//! Options: the base department (only it and its sub-departments are sent)
//! and the window of absences, in months (6 by default). Each run sends the
//! whole window and reconciles it against the ledger: what changed is
//! written, what left the window or was cancelled is deleted. Authentication
//! follows PlanningPME: `X-APPKEY` on every call and a bearer token obtained
//! from `PUT token` with the customer's assertion.

use crate::error::SyncError;
use crate::http::{self, RetryPolicy};
use crate::report::{Outcome, Report, ReportLine};
use crate::source::LuccaSource;
use chrono::{Months, NaiveDate};
use relais_core::ledger::{field_changes, plan, Acknowledged, Change, SourceRecord};
use relais_store::SharedStore;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// What a PlanningPME integration is set up with.
#[derive(Clone)]
pub struct PlanningPme {
    /// Where the data comes from.
    pub source: LuccaSource,
    /// The customer's PlanningPME base URL (`…/{brand}`).
    pub partner_url: String,
    /// The app key (a secret).
    pub app_key: String,
    /// The user assertion exchanged for a token (a secret).
    pub assertion: String,
    /// Only this department and its sub-departments; all when `None`.
    pub base_department: Option<i64>,
    /// Months of absences sent, from today.
    pub months: u32,
    /// The client-side request budget towards the partner.
    pub budget: http::Budget,
    /// The ledger job, e.g. `planningpme:<installation>`.
    pub job: String,
    /// Retries towards PlanningPME.
    pub policy: RetryPolicy,
}

/// What a kind of record is called at PlanningPME, and its ledger prefix.
#[derive(Clone, Copy)]
struct Kind {
    prefix: &'static str,
    path: &'static str,
}

const DEPARTMENT: Kind = Kind {
    prefix: "dept:",
    path: "api/department",
};
const RESOURCE: Kind = Kind {
    prefix: "res:",
    path: "api/resource",
};
const ABSENCE: Kind = Kind {
    prefix: "abs:",
    path: "api/unavailability",
};

fn time_of(date: &Value, half: &Value, start: bool) -> Option<String> {
    let day = date.as_str()?;
    let hour = match (half.as_str()?, start) {
        ("AM", true) => "08:00:00",
        ("PM", true) => "13:00:00",
        ("AM", false) => "12:00:00",
        _ => "18:00:00",
    };
    Some(format!("{day}T{hour}"))
}

fn ids(items: &[Value], field: &str) -> Vec<i64> {
    items.iter().filter_map(|i| i[field].as_i64()).collect()
}

/// The checkpoint stream: the newest modification of an employee or absence sent.
pub const STREAM: &str = "changes";

/// Records of each kind, in the order they are written.
type Snapshot = Vec<(Kind, Vec<SourceRecord>)>;

/// The fields read of employees.
const USER_FIELDS: &str = "id,departmentId,modifiedAt";
/// The fields read of absences.
const LEAVE_FIELDS: &str =
    "id,ownerId,leaveAccount,startDate,startDateHalf,endDate,endDateHalf,status,modifiedAt";

fn list(ids: &HashSet<i64>) -> String {
    let mut sorted: Vec<&i64> = ids.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The newest `modifiedAt` of `items` (RFC 3339 texts in UTC compare as times).
fn newest(items: &[Value]) -> Option<String> {
    items
        .iter()
        .filter_map(|i| i["modifiedAt"].as_str())
        .max()
        .map(str::to_owned)
}

/// An employee as a PlanningPME resource.
fn resource(u: &Value) -> Option<SourceRecord> {
    let id = u["id"].as_i64()?;
    Some(SourceRecord {
        key: format!("{}{id}", RESOURCE.prefix),
        fields: BTreeMap::from([
            ("label".to_owned(), json!(format!("Collaborateur {id}"))),
            (
                "departmentKey".to_owned(),
                json!(u["departmentId"].as_i64().map(|d| d.to_string())),
            ),
        ]),
    })
}

/// An absence as a PlanningPME unavailability.
fn absence(a: &Value) -> Option<SourceRecord> {
    Some(SourceRecord {
        key: format!("{}{}", ABSENCE.prefix, a["id"].as_i64()?),
        fields: BTreeMap::from([
            (
                "resource".to_owned(),
                json!(a["ownerId"].as_i64()?.to_string()),
            ),
            (
                "start".to_owned(),
                json!(time_of(&a["startDate"], &a["startDateHalf"], true)?),
            ),
            (
                "end".to_owned(),
                json!(time_of(&a["endDate"], &a["endDateHalf"], false)?),
            ),
            ("label".to_owned(), a["leaveAccount"]["name"].clone()),
        ]),
    })
}

impl std::fmt::Debug for PlanningPme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials are secrets: never printed.
        f.debug_struct("PlanningPme")
            .field("source", &self.source)
            .field("partner_url", &self.partner_url)
            .field("base_department", &self.base_department)
            .field("months", &self.months)
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

impl PlanningPme {
    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.partner_url.trim_end_matches('/'))
    }

    async fn token(&self, http: &reqwest::Client) -> Result<String, SyncError> {
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", self.assertion.as_str()),
        ];
        self.budget.spend()?;
        let (_, body) = http::call(&self.policy, "partner", || {
            http.put(self.url("token"))
                .header("X-APPKEY", &self.app_key)
                .form(&form)
        })
        .await?;
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or(SyncError::Malformed {
                what: "partner",
                reason: "no access_token".into(),
            })
    }

    async fn send(
        &self,
        http: &reqwest::Client,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&BTreeMap<String, Value>>,
    ) -> Result<(), SyncError> {
        let url = self.url(path);
        self.budget.spend()?;
        http::call(&self.policy, "partner", || {
            let req = http
                .request(method.clone(), &url)
                .header("X-APPKEY", &self.app_key)
                .bearer_auth(token);
            match body {
                Some(b) => req.json(b),
                None => req,
            }
        })
        .await
        .map(|_| ())
    }

    /// Reads the departments: those in scope, and their records, parents first.
    async fn departments(&self) -> Result<(HashSet<i64>, Vec<SourceRecord>), SyncError> {
        let departments = self
            .source
            .all("/api/v3/departments", "fields=id,name,parentId")
            .await?;
        let mut scope: HashSet<i64> = HashSet::new();
        match self.base_department {
            None => scope.extend(ids(&departments, "id")),
            Some(root) => {
                scope.insert(root);
                loop {
                    let before = scope.len();
                    for d in &departments {
                        if d["parentId"].as_i64().is_some_and(|p| scope.contains(&p)) {
                            scope.extend(d["id"].as_i64());
                        }
                    }
                    if scope.len() == before {
                        break;
                    }
                }
            }
        }
        let mut dept_records: Vec<SourceRecord> = Vec::new();
        // Parents before children, so PlanningPME knows each parent first.
        let mut placed: HashSet<i64> = HashSet::new();
        while placed.len() < scope.len() {
            let mut progress = false;
            for d in &departments {
                let Some(id) = d["id"]
                    .as_i64()
                    .filter(|i| scope.contains(i) && !placed.contains(i))
                else {
                    continue;
                };
                let parent = d["parentId"].as_i64().filter(|p| scope.contains(p));
                if parent.is_some_and(|p| !placed.contains(&p)) {
                    continue;
                }
                placed.insert(id);
                progress = true;
                dept_records.push(SourceRecord {
                    key: format!("{}{id}", DEPARTMENT.prefix),
                    fields: BTreeMap::from([
                        ("label".to_owned(), d["name"].clone()),
                        ("parentKey".to_owned(), json!(parent.map(|p| p.to_string()))),
                    ]),
                });
            }
            if !progress {
                break;
            }
        }
        Ok((scope, dept_records))
    }

    /// A full run's reading and writing: the departments in scope, then
    /// their employees and the absences of the window, a page at a time, so
    /// that memory does not grow with the base. Returns the newest
    /// modification seen.
    #[allow(clippy::too_many_arguments)]
    async fn stream_all(
        &self,
        store: &SharedStore,
        http: &reqwest::Client,
        token: &str,
        today: NaiveDate,
        dry_run: bool,
        tag: Option<&str>,
        report: &mut Report,
    ) -> Result<Option<String>, SyncError> {
        let (scope, dept_records) = self.departments().await?;
        self.write_records(
            store,
            http,
            token,
            DEPARTMENT,
            dept_records,
            dry_run,
            tag,
            report,
        )
        .await?;
        if scope.is_empty() {
            return Ok(None);
        }
        let dept_list = list(&scope);
        let mut newest_seen: Option<String> = None;
        let mut people: HashSet<i64> = HashSet::new();
        let mut pages = self.source.pages(
            "/api/v3/users",
            &format!("fields={USER_FIELDS}&departmentId={dept_list}&orderBy=id,asc"),
        );
        while let Some(users) = pages.next().await? {
            newest_seen = newest_seen.max(newest(&users));
            people.extend(ids(&users, "id"));
            let records = users.iter().filter_map(resource).collect();
            self.write_records(store, http, token, RESOURCE, records, dry_run, tag, report)
                .await?;
        }
        let mut pages = self.source.pages(
            "/api/v3/leaveRequests",
            &format!(
                "fields={LEAVE_FIELDS}&owner.departmentId={dept_list}&endDate=since,{today}&startDate=until,{}&status=0,2&orderBy=id,asc",
                self.until(today)
            ),
        );
        while let Some(absences) = pages.next().await? {
            newest_seen = newest_seen.max(newest(&absences));
            let records = absences
                .iter()
                .filter(|a| a["ownerId"].as_i64().is_some_and(|o| people.contains(&o)))
                .filter_map(absence)
                .collect();
            self.write_records(store, http, token, ABSENCE, records, dry_run, tag, report)
                .await?;
        }
        Ok(newest_seen)
    }

    fn until(&self, today: NaiveDate) -> NaiveDate {
        today
            .checked_add_months(Months::new(self.months))
            .unwrap_or(today)
    }

    /// Reads what changed since `since`: the departments (always whole, they
    /// are few), employees and absences modified since. Returns the records
    /// to send, the keys to delete (absences cancelled, denied or out of the
    /// window), and the newest modification seen; `None` when an employee
    /// left the synced departments, which only a full run reconciles.
    async fn changes(
        &self,
        store: &SharedStore,
        today: NaiveDate,
        since: &str,
    ) -> Result<Option<(Snapshot, Vec<String>, Option<String>)>, SyncError> {
        let (scope, dept_records) = self.departments().await?;
        if scope.is_empty() {
            return Ok(None);
        }
        let users = self
            .source
            .all(
                "/api/v3/users",
                &format!("fields={USER_FIELDS}&modifiedAt=since,{since}&orderBy=id,asc"),
            )
            .await?;
        let mut resources = Vec::new();
        let mut left = Vec::new();
        for u in &users {
            crate::source::require_fields(u, USER_FIELDS)?;
            let in_scope = u["departmentId"]
                .as_i64()
                .is_some_and(|d| scope.contains(&d));
            match resource(u) {
                Some(r) if in_scope => resources.push(r),
                Some(r) => left.push(r.key),
                None => {}
            }
        }
        if !store.acknowledged(&self.job, &left).await?.is_empty() {
            return Ok(None);
        }
        let absences = self
            .source
            .all(
                "/api/v3/leaveRequests",
                &format!(
                    "fields={LEAVE_FIELDS}&owner.departmentId={}&modifiedAt=since,{since}",
                    list(&scope)
                ),
            )
            .await?;
        let until = self.until(today).to_string();
        let today = today.to_string();
        let owners: Vec<String> = absences
            .iter()
            .filter_map(|a| a["ownerId"].as_i64())
            .map(|o| format!("{}{o}", RESOURCE.prefix))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut known: HashSet<String> = store
            .acknowledged(&self.job, &owners)
            .await?
            .into_iter()
            .map(|a| a.key)
            .collect();
        known.extend(resources.iter().map(|r| r.key.clone()));
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for a in &absences {
            let live = matches!(a["status"].as_i64(), Some(0 | 2))
                && a["endDate"].as_str().is_some_and(|d| d >= today.as_str())
                && a["startDate"].as_str().is_some_and(|d| d <= until.as_str())
                && a["ownerId"]
                    .as_i64()
                    .is_some_and(|o| known.contains(&format!("{}{o}", RESOURCE.prefix)));
            match (live, absence(a)) {
                (true, Some(r)) => kept.push(r),
                (_, r) => dropped.extend(r.map(|r| r.key)),
            }
        }
        let newest = newest(&users).max(newest(&absences));
        Ok(Some((
            vec![
                (DEPARTMENT, dept_records),
                (RESOURCE, resources),
                (ABSENCE, kept),
            ],
            dropped,
            newest,
        )))
    }

    /// Plans `records` of one kind against the ledger a thousand at a time,
    /// writes what changed, and marks them seen by the full run `tag`.
    #[allow(clippy::too_many_arguments)]
    async fn write_records(
        &self,
        store: &SharedStore,
        http: &reqwest::Client,
        token: &str,
        kind: Kind,
        records: Vec<SourceRecord>,
        dry_run: bool,
        tag: Option<&str>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        // A thousand records at a time against the ledger, so that what is
        // read of it stays bounded.
        let mut records = records.into_iter();
        let mut confirmed = super::Confirmations::new(store, &self.job);
        loop {
            let chunk: Vec<SourceRecord> = records.by_ref().take(1000).collect();
            if chunk.is_empty() {
                break;
            }
            let keys: Vec<String> = chunk.iter().map(|r| r.key.clone()).collect();
            let known: HashMap<String, Acknowledged> = store
                .acknowledged(&self.job, &keys)
                .await?
                .into_iter()
                .map(|a| (a.key.clone(), a))
                .collect();
            for change in plan(chunk, &known, false) {
                let (record, fields, outcome) = match change {
                    Change::Unchanged { .. } => {
                        report.unchanged();
                        continue;
                    }
                    Change::Create { record } => {
                        let f = field_changes(&BTreeMap::new(), &record.fields);
                        (record, f, Outcome::Created)
                    }
                    Change::Update { record, fields } => (record, fields, Outcome::Updated),
                    Change::Delete { .. } => unreachable!("plans without full never delete"),
                };
                if dry_run {
                    report.push(ReportLine {
                        key: record.key.clone(),
                        outcome,
                        fields,
                    });
                    continue;
                }
                let id = &record.key[kind.prefix.len()..];
                match self
                    .send(
                        http,
                        token,
                        reqwest::Method::PUT,
                        &format!("{}/{id}", kind.path),
                        Some(&record.fields),
                    )
                    .await
                {
                    Ok(()) => {
                        report.push(ReportLine {
                            key: record.key.clone(),
                            outcome,
                            fields,
                        });
                        confirmed
                            .push(
                                Acknowledged {
                                    key: record.key.clone(),
                                    hash: record.hash(),
                                    fields: record.fields.clone(),
                                    partner_id: Some(id.to_owned()),
                                },
                                report,
                            )
                            .await?;
                    }
                    Err(
                        e @ (SyncError::PartnerCredentials { .. } | SyncError::Unreachable { .. }),
                    ) => {
                        // Keep what was confirmed, then stop: the partner cannot take more.
                        confirmed.flush(report).await?;
                        return Err(e);
                    }
                    Err(e) => report.push(ReportLine {
                        key: record.key.clone(),
                        outcome: e.outcome(),
                        fields,
                    }),
                }
            }
            // Seen by this full run once in the ledger, so that it is not taken for deleted.
            if let Some(tag) = tag {
                confirmed.flush(report).await?;
                store.mark_seen(&self.job, tag, &keys).await?;
            }
        }
        confirmed.flush(report).await?;
        Ok(())
    }

    /// Runs the integration once: sends the window, reconciles, reports.
    pub async fn run(
        &self,
        store: &SharedStore,
        today: NaiveDate,
        dry_run: bool,
    ) -> Result<Report, SyncError> {
        let mut report = Report {
            dry_run,
            full: true,
            ..Report::default()
        };
        self.run_into(store, today, dry_run, &mut report).await?;
        Ok(report)
    }

    /// Runs the integration once, writing each record's outcome into
    /// `report` as it goes: a run that stops part-way keeps what it did.
    /// Its partner requests are those the HTTP layer sent, retries included.
    pub async fn run_into(
        &self,
        store: &SharedStore,
        today: NaiveDate,
        dry_run: bool,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let sent = report.sent.clone();
        let out = http::counting_requests(sent, self.steps(store, today, dry_run, report)).await;
        report.settle_requests();
        out
    }

    async fn steps(
        &self,
        store: &SharedStore,
        today: NaiveDate,
        dry_run: bool,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let http = http::client(Duration::from_secs(15));
        let since = if report.full {
            None
        } else {
            store.checkpoint(&self.job, STREAM).await?
        };
        let changes = match &since {
            Some(since) => self.changes(store, today, since).await?,
            None => None,
        };
        if changes.is_none() {
            // First run, full run, or someone left the synced departments.
            report.full = true;
        }
        let token = if dry_run {
            String::new()
        } else {
            match self.token(&http).await {
                Ok(token) => token,
                // No request left even for the token: the run still plans, and
                // every write it would make is reported as left out for the budget.
                Err(SyncError::BudgetSpent { .. }) => String::new(),
                Err(e) => return Err(e),
            }
        };
        // Writes, parents first.
        let tag = report.full.then(|| crate::random_tag(8));
        let tag = tag.as_deref();
        let (dropped, newest) = match changes {
            Some((snapshot, dropped, newest)) => {
                for (kind, records) in snapshot {
                    self.write_records(store, &http, &token, kind, records, dry_run, tag, report)
                        .await?;
                }
                (Some(dropped), newest)
            }
            None => {
                let newest = self
                    .stream_all(store, &http, &token, today, dry_run, tag, report)
                    .await?;
                (None, newest)
            }
        };
        // Deletions: children first (absences, then resources, then departments).
        let mut gone: Vec<Acknowledged> = Vec::new();
        if let Some(dropped) = &dropped {
            // Incremental: only what the changes took out.
            gone = store.acknowledged(&self.job, dropped).await?;
        } else {
            // Full: whatever the partner holds that this run did not see in the source.
            let tag = tag.expect("full runs have a tag");
            let mut after: Option<String> = None;
            loop {
                let page = store
                    .unseen_page(&self.job, tag, after.as_deref(), 1000)
                    .await?;
                let Some(last) = page.last() else { break };
                after = Some(last.key.clone());
                gone.extend(page);
            }
        }
        for kind in [ABSENCE, RESOURCE, DEPARTMENT] {
            let mut forgotten = Vec::new();
            for a in gone.iter().filter(|a| a.key.starts_with(kind.prefix)) {
                let before = field_changes(&a.fields, &BTreeMap::new());
                if dry_run {
                    report.push(ReportLine {
                        key: a.key.clone(),
                        outcome: Outcome::Deleted,
                        fields: before,
                    });
                    continue;
                }
                let id = &a.key[kind.prefix.len()..];
                match self
                    .send(
                        &http,
                        &token,
                        reqwest::Method::DELETE,
                        &format!("{}/{id}", kind.path),
                        None,
                    )
                    .await
                {
                    Ok(()) | Err(SyncError::Partner { status: 404, .. }) => {
                        report.push(ReportLine {
                            key: a.key.clone(),
                            outcome: Outcome::Deleted,
                            fields: before,
                        });
                        forgotten.push(a.key.clone());
                    }
                    Err(e) => report.push(ReportLine {
                        key: a.key.clone(),
                        outcome: e.outcome(),
                        fields: before,
                    }),
                }
            }
            store.forget(&self.job, &forgotten).await?;
        }
        if !dry_run && report.is_complete() {
            if let Some(t) = newest.or(since) {
                store.set_checkpoint(&self.job, STREAM, &t).await?;
                report.checkpoint_moved = true;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::time_of;
    use serde_json::json;

    #[test]
    fn half_days_become_time_ranges() {
        assert_eq!(
            time_of(&json!("2026-03-02"), &json!("AM"), true).unwrap(),
            "2026-03-02T08:00:00"
        );
        assert_eq!(
            time_of(&json!("2026-03-02"), &json!("PM"), true).unwrap(),
            "2026-03-02T13:00:00"
        );
        assert_eq!(
            time_of(&json!("2026-03-02"), &json!("AM"), false).unwrap(),
            "2026-03-02T12:00:00"
        );
        assert_eq!(
            time_of(&json!("2026-03-02"), &json!("PM"), false).unwrap(),
            "2026-03-02T18:00:00"
        );
        assert!(time_of(&json!(null), &json!("AM"), true).is_none());
    }
}
