//! HappyPal: employees one way — first name, last name, work e-mail, birth
//! date, contract start and end — into HappyPal's directory.
//!
//! A run reads the employees changed since its checkpoint (every employee on
//! a full run), plans against the ledger, and PUTs each created or changed
//! record (HappyPal links an existing profile with the same e-mail). Every
//! run then reads back the profiles changed in HappyPal since its last read
//! (all of them on a full run): fields edited there are overwritten with the
//! base's values (the report names them); a full run also deletes the
//! profiles of employees the key no longer sees. The checkpoint moves only
//! when every write was confirmed, so a run that died is simply run again.

use crate::error::SyncError;
use crate::http::{self, RetryPolicy};
use crate::report::{Outcome, Report, ReportLine};
use crate::source::LuccaSource;
use chrono::{DateTime, Utc};
use relais_core::ledger::{field_changes, plan, Acknowledged, Change, SourceRecord};
use relais_store::SharedStore;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// The fields read from the source.
pub const SOURCE_FIELDS: &str =
    "id,firstName,lastName,mail,birthDate,dtContractStart,dtContractEnd,modifiedAt";

/// The checkpoint stream: the newest employee modification sent.
pub const STREAM: &str = "users";

/// The checkpoint of HappyPal's side: its clock at the last read-back.
pub const PARTNER_STREAM: &str = "partner";

/// Profiles read back from HappyPal per page.
const PARTNER_PAGE: usize = 1_000;

/// Records read per page.
const PAGE: u32 = 500;

/// How a run goes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Read every employee, read HappyPal back, delete what the source no longer has.
    pub full: bool,
    /// Plan and report only; write nothing.
    pub dry_run: bool,
}

/// A HappyPal integration: its source, HappyPal's URL and token, its ledger job.
#[derive(Clone)]
pub struct HappyPal {
    /// Where employees come from.
    pub source: LuccaSource,
    /// HappyPal's base URL.
    pub partner_url: String,
    /// HappyPal's API token (a secret: never logged).
    pub token: String,
    /// The client-side request budget towards the partner.
    pub budget: http::Budget,
    /// The ledger job, e.g. `happypal:<installation>`.
    pub job: String,
    /// Retries towards HappyPal.
    pub policy: RetryPolicy,
}

/// A source user as HappyPal's fields.
fn record(user: &Value) -> Result<(SourceRecord, Option<DateTime<Utc>>), SyncError> {
    let id = user["id"].as_i64().ok_or_else(|| SyncError::Malformed {
        what: "source",
        reason: format!("a user without id: {user}"),
    })?;
    let fields = BTreeMap::from([
        ("first_name".to_owned(), user["firstName"].clone()),
        ("last_name".to_owned(), user["lastName"].clone()),
        ("email".to_owned(), user["mail"].clone()),
        ("birth_date".to_owned(), user["birthDate"].clone()),
        ("contract_start".to_owned(), user["dtContractStart"].clone()),
        ("contract_end".to_owned(), user["dtContractEnd"].clone()),
    ]);
    let modified = user["modifiedAt"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok((
        SourceRecord {
            key: id.to_string(),
            fields,
        },
        modified,
    ))
}

impl std::fmt::Debug for HappyPal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials are secrets: never printed.
        f.debug_struct("HappyPal")
            .field("source", &self.source)
            .field("partner_url", &self.partner_url)
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

impl HappyPal {
    async fn send(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        key: &str,
        body: Option<&BTreeMap<String, Value>>,
    ) -> Result<(u16, Value), SyncError> {
        let url = format!(
            "{}/api/v1/employees/{key}",
            self.partner_url.trim_end_matches('/')
        );
        self.budget.spend()?;
        http::call(&self.policy, "partner", || {
            let req = http.request(method.clone(), &url).bearer_auth(&self.token);
            match body {
                Some(b) => req.json(b),
                None => req,
            }
        })
        .await
    }

    /// One page of HappyPal's profiles (changed since `since` when given),
    /// with HappyPal's clock when it answered.
    async fn partner_page(
        &self,
        http: &reqwest::Client,
        page: usize,
        since: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), SyncError> {
        let mut url = format!(
            "{}/api/v1/employees?page={page}&per_page={PARTNER_PAGE}",
            self.partner_url.trim_end_matches('/')
        );
        if let Some(t) = since {
            url.push_str("&updated_since=");
            url.push_str(&t.replace('+', "%2B"));
        }
        self.budget.spend()?;
        let (_, mut body) = http::call(&self.policy, "partner", || {
            http.get(&url).bearer_auth(&self.token)
        })
        .await?;
        let as_of = body["as_of"].as_str().map(str::to_owned);
        match body["items"].take() {
            Value::Array(items) => Ok((items, as_of)),
            _ => Err(SyncError::Malformed {
                what: "partner",
                reason: "no items in HappyPal's list of profiles".into(),
            }),
        }
    }

    /// Runs the integration once and reports every record's outcome.
    pub async fn run(&self, store: &SharedStore, options: RunOptions) -> Result<Report, SyncError> {
        let mut report = Report {
            dry_run: options.dry_run,
            full: options.full,
            ..Report::default()
        };
        self.run_into(store, options, &mut report).await?;
        Ok(report)
    }

    /// Runs the integration once, writing each record's outcome into
    /// `report` as it goes: a run that stops part-way keeps what it did.
    /// Its partner requests are those the HTTP layer sent, retries included.
    pub async fn run_into(
        &self,
        store: &SharedStore,
        options: RunOptions,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let sent = report.sent.clone();
        let out = http::counting_requests(sent, self.steps(store, options, report)).await;
        report.settle_requests();
        out
    }

    async fn steps(
        &self,
        store: &SharedStore,
        options: RunOptions,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let http = http::client(Duration::from_secs(15));
        let since = if options.full {
            None
        } else {
            store
                .checkpoint(&self.job, STREAM)
                .await?
                .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let mut newest = since;
        // A full run marks in the ledger what it read, rather than keeping every key in memory.
        let tag = options.full.then(|| crate::random_tag(8));
        let mut offset = 0u64;
        loop {
            let users = self
                .source
                .users_page(SOURCE_FIELDS, since, offset, PAGE)
                .await?;
            if users.is_empty() {
                break;
            }
            offset += users.len() as u64;
            let mut records = Vec::with_capacity(users.len());
            for u in &users {
                crate::source::require_fields(u, SOURCE_FIELDS)?;
                let (r, modified) = record(u)?;
                newest = newest.max(modified);
                records.push(r);
            }
            let keys: Vec<String> = records.iter().map(|r| r.key.clone()).collect();
            let known = store
                .acknowledged(&self.job, &keys)
                .await?
                .into_iter()
                .map(|a| (a.key.clone(), a))
                .collect();
            let mut confirmed = super::Confirmations::new(store, &self.job);
            for change in plan(records, &known, false) {
                let (record, fields, creating) = match change {
                    Change::Unchanged { .. } => {
                        report.unchanged();
                        continue;
                    }
                    Change::Create { record } => {
                        let fields = field_changes(&BTreeMap::new(), &record.fields);
                        (record, fields, true)
                    }
                    Change::Update { record, fields } => (record, fields, false),
                    Change::Delete { .. } => unreachable!("incremental plans never delete"),
                };
                let line = |outcome| ReportLine {
                    key: record.key.clone(),
                    outcome,
                    fields: fields.clone(),
                };
                if options.dry_run {
                    report.push(line(if creating {
                        Outcome::Created
                    } else {
                        Outcome::Updated
                    }));
                    continue;
                }
                match self
                    .send(
                        &http,
                        reqwest::Method::PUT,
                        &record.key,
                        Some(&record.fields),
                    )
                    .await
                {
                    Ok((status, profile)) => {
                        // A 200 to a create means HappyPal already had the profile:
                        // found by its e-mail, or sent before a ledger reset.
                        let linked = creating && status == 200;
                        let outcome = if linked {
                            Outcome::Linked
                        } else if creating {
                            Outcome::Created
                        } else {
                            Outcome::Updated
                        };
                        report.push(line(outcome));
                        confirmed
                            .push(
                                Acknowledged {
                                    key: record.key.clone(),
                                    hash: record.hash(),
                                    fields: record.fields.clone(),
                                    partner_id: profile["id"].as_u64().map(|i| i.to_string()),
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
                    Err(e) => report.push(line(e.outcome())),
                }
            }
            confirmed.flush(report).await?;
            if let Some(tag) = &tag {
                store.mark_seen(&self.job, tag, &keys).await?;
            }
        }
        // HR data wins: every run reads HappyPal back and overwrites edits made there.
        self.reconcile(store, &http, tag.as_deref(), options, report)
            .await?;
        if !options.dry_run && report.is_complete() {
            if let Some(t) = newest {
                store
                    .set_checkpoint(&self.job, STREAM, &t.to_rfc3339())
                    .await?;
                report.checkpoint_moved = true;
            }
        }
        Ok(())
    }

    /// Overwrites partner-side edits; on a full run (`tag`), also deletes
    /// what the source no longer has.
    async fn reconcile(
        &self,
        store: &SharedStore,
        http: &reqwest::Client,
        tag: Option<&str>,
        options: RunOptions,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let names = [
            "first_name",
            "last_name",
            "email",
            "birth_date",
            "contract_start",
            "contract_end",
        ];
        // A full run reads every profile; other runs those changed since the last read.
        let since = match tag {
            Some(_) => None,
            None => store.checkpoint(&self.job, PARTNER_STREAM).await?,
        };
        let mut as_of: Option<String> = None;
        let mut page = 1;
        loop {
            if page == 0 {
                break;
            }
            let (profiles, clock) = self.partner_page(http, page, since.as_deref()).await?;
            as_of = as_of.or(clock);
            if profiles.is_empty() {
                break;
            }
            // A short page is the last one.
            page = if profiles.len() < PARTNER_PAGE {
                0
            } else {
                page + 1
            };
            let by_key: std::collections::HashMap<&str, &Value> = profiles
                .iter()
                .filter_map(|p| p["external_id"].as_str().map(|k| (k, p)))
                .collect();
            let keys: Vec<String> = by_key.keys().map(|k| (*k).to_owned()).collect();
            let seen: Option<HashSet<String>> = match tag {
                Some(tag) => Some(
                    store
                        .seen_keys(&self.job, tag, &keys)
                        .await?
                        .into_iter()
                        .collect(),
                ),
                None => None,
            };
            for ack in store.acknowledged(&self.job, &keys).await? {
                if seen.as_ref().is_some_and(|seen| !seen.contains(&ack.key)) {
                    // No longer in the source: deleted below.
                    continue;
                }
                let Some(profile) = by_key.get(ack.key.as_str()) else {
                    continue;
                };
                let held: BTreeMap<String, Value> = names
                    .iter()
                    .map(|n| ((*n).to_owned(), profile[*n].clone()))
                    .collect();
                let edits = field_changes(&held, &ack.fields);
                if edits.is_empty() {
                    continue;
                }
                if options.dry_run {
                    report.push(ReportLine {
                        key: ack.key.clone(),
                        outcome: Outcome::Overwritten,
                        fields: edits,
                    });
                    continue;
                }
                match self
                    .send(http, reqwest::Method::PUT, &ack.key, Some(&ack.fields))
                    .await
                {
                    Ok(_) => report.push(ReportLine {
                        key: ack.key.clone(),
                        outcome: Outcome::Overwritten,
                        fields: edits,
                    }),
                    Err(e) => report.push(ReportLine {
                        key: ack.key.clone(),
                        outcome: e.outcome(),
                        fields: edits,
                    }),
                }
            }
        }
        // Next time, read only the profiles changed from this read on.
        if let Some(t) = as_of.filter(|_| !options.dry_run && report.is_complete()) {
            store.set_checkpoint(&self.job, PARTNER_STREAM, &t).await?;
        }
        // What the partner acknowledged but the full run did not see in the source is deleted.
        let Some(tag) = tag else {
            return Ok(());
        };
        let mut after: Option<String> = None;
        loop {
            let acked = store
                .unseen_page(&self.job, tag, after.as_deref(), 1000)
                .await?;
            let Some(last) = acked.last() else { break };
            after = Some(last.key.clone());
            let mut gone = Vec::new();
            for a in &acked {
                let before = field_changes(&a.fields, &BTreeMap::new());
                if options.dry_run {
                    report.push(ReportLine {
                        key: a.key.clone(),
                        outcome: Outcome::Deleted,
                        fields: before,
                    });
                    continue;
                }
                match self.send(http, reqwest::Method::DELETE, &a.key, None).await {
                    Ok(_) | Err(SyncError::Partner { status: 404, .. }) => {
                        report.push(ReportLine {
                            key: a.key.clone(),
                            outcome: Outcome::Deleted,
                            fields: before,
                        });
                        gone.push(a.key.clone());
                    }
                    Err(e) => report.push(ReportLine {
                        key: a.key.clone(),
                        outcome: e.outcome(),
                        fields: before,
                    }),
                }
            }
            store.forget(&self.job, &gone).await?;
        }
        Ok(())
    }
}
