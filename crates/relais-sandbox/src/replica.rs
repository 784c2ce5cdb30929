//! An Inside Online replica: what a BI tool does with its key. It keeps a
//! copy of what the key reads — employees, leave requests, expense claims
//! and items, expense natures — catching up every few seconds with
//! incremental reads (`modifiedAt` / `modifiedOn` since its previous read of
//! the resource began, by relais's clock — its `Date` header — less two
//! seconds for writes that committed late), and computes two
//! reports from its copy: gross expenses per month and nature, and VAT per
//! month, of validated claims — the figures relais's own reports give.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Claim statuses whose items count (approved and controlled, payment
/// initiated, paid), as relais's expense reports count them.
const VALIDATED: [i64; 3] = [5, 6, 7];

/// Records a page asks for.
const PAGE: usize = 1000;

/// Why a catch-up stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// relais did not answer.
    #[error("relais did not answer {path}: {reason}")]
    Unreachable {
        /// The request.
        path: String,
        /// Why.
        reason: String,
    },
    /// relais answered with an error.
    #[error("relais answered {status} to {path}: {body}")]
    Refused {
        /// The request.
        path: String,
        /// Its status.
        status: u16,
        /// Its body.
        body: String,
    },
    /// The answer was not the shape the replica reads.
    #[error("relais's answer to {path} is not what the replica reads: {reason}")]
    Shape {
        /// The request.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

/// An expense item as the replica keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its claim.
    pub claim: i64,
    /// Its nature.
    pub nature: i64,
    /// Purchase date.
    pub purchased_on: NaiveDate,
    /// Gross, net and VAT in minor units.
    pub amounts: [i64; 3],
}

/// What one catch-up read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatchUp {
    /// Requests made.
    pub requests: u64,
    /// Records read (the last seconds before the previous catch-up are
    /// read again, so a record may be read twice).
    pub records: u64,
    /// Records among them that were new to the copy or changed it.
    pub changed: u64,
}

/// The copy and where each resource's reading stands.
#[derive(Debug, Default, Clone)]
pub struct Replicated {
    /// Employees by id, as the key reads them.
    pub employees: HashMap<i64, Value>,
    /// Leave requests by id.
    pub leave_requests: HashMap<i64, Value>,
    /// Expense claims' statuses by id.
    pub claims: HashMap<i64, i64>,
    /// Expense items by id.
    pub items: HashMap<i64, Item>,
    /// Expense natures' names by id.
    pub natures: HashMap<i64, String>,
    /// Per resource, when its last complete read began (relais's clock).
    cursors: HashMap<&'static str, DateTime<Utc>>,
}

/// A replica of what one key of a relais base reads.
#[derive(Debug)]
pub struct Replica {
    client: reqwest::Client,
    url: String,
    key: String,
    /// The copy.
    pub copy: Replicated,
}

/// One incremental resource: its path, fields, and its time filter.
struct Resource {
    name: &'static str,
    path: &'static str,
    fields: &'static str,
    modified: &'static str,
}

const RESOURCES: [Resource; 4] = [
    Resource {
        name: "users",
        path: "/api/v3/users",
        fields: "id,firstName,lastName,legalEntityId,departmentId,dtContractStart,dtContractEnd,modifiedAt",
        modified: "modifiedAt",
    },
    Resource {
        name: "leaveRequests",
        path: "/api/v3/leaveRequests",
        fields: "id,ownerId,leaveAccountId,startDate,endDate,status,modifiedAt",
        modified: "modifiedAt",
    },
    Resource {
        name: "expenseClaims",
        path: "/api/v3/expenseClaims",
        fields: "id,statusId,modifiedOn",
        modified: "modifiedOn",
    },
    Resource {
        name: "expenseClaimItems",
        path: "/api/v3/expenseClaimItems",
        fields: "id,expenseClaimId,expenseNatureId,purchasedOn,amountsInMinorUnits,modifiedOn",
        modified: "modifiedOn",
    },
];

#[derive(Deserialize)]
struct Envelope {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    items: Vec<Value>,
}

/// What every record the replica keeps has: its identifier.
#[derive(Deserialize)]
struct Identified {
    id: i64,
}

/// An expense nature as the replica reads it (`fields=id,name`).
#[derive(Deserialize)]
struct NatureRecord {
    id: i64,
    name: String,
}

/// An expense claim as the replica reads it: its status.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimRecord {
    status_id: i64,
}

/// An expense item as the replica reads it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemRecord {
    expense_claim_id: i64,
    expense_nature_id: i64,
    /// A date, or a date and time whose day is the purchase's.
    purchased_on: String,
    amounts_in_minor_units: Amounts,
}

/// An item's amounts in minor units.
#[derive(Deserialize)]
struct Amounts {
    gross: i64,
    net: i64,
    vat: i64,
}

impl Replica {
    /// A replica of what `key` reads at `url` (relais's base address).
    pub fn new(url: &str, key: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            copy: Replicated::default(),
        }
    }

    async fn get(&self, path: &str) -> Result<Value, ReplicaError> {
        self.get_dated(path).await.map(|(v, _)| v)
    }

    /// GETs `path`: the answer, and relais's time from its `Date` header.
    async fn get_dated(&self, path: &str) -> Result<(Value, Option<DateTime<Utc>>), ReplicaError> {
        let resp = self
            .client
            .get(format!("{}{path}", self.url))
            .header("Authorization", format!("lucca application={}", self.key))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| ReplicaError::Unreachable {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        let status = resp.status().as_u16();
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.with_timezone(&Utc));
        if status != 200 {
            return Err(ReplicaError::Refused {
                path: path.to_owned(),
                status,
                body: resp.text().await.unwrap_or_default(),
            });
        }
        let body = resp.json().await.map_err(|e| ReplicaError::Shape {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok((body, date))
    }

    /// Reads what changed since the last catch-up (everything the first
    /// time), resource by resource, every page.
    pub async fn catch_up(&mut self) -> Result<CatchUp, ReplicaError> {
        let started = relais_core::now();
        let mut done = CatchUp::default();
        if self.copy.natures.is_empty() {
            let natures = self
                .get("/api/v3/expenseNatures?fields=id,name&paging=0,1000")
                .await?;
            done.requests += 1;
            for n in items_of("/api/v3/expenseNatures", natures)? {
                let n = NatureRecord::deserialize(&n).map_err(|e| ReplicaError::Shape {
                    path: "/api/v3/expenseNatures".into(),
                    reason: format!("an expense nature: {e}"),
                })?;
                self.copy.natures.insert(n.id, n.name);
            }
        }
        for r in &RESOURCES {
            let since = self.copy.cursors.get(r.name).copied();
            let mut began = None;
            let mut offset = 0;
            loop {
                let mut path = format!(
                    "{}?fields={}&orderBy=id,asc&paging={offset},{PAGE}",
                    r.path, r.fields
                );
                if let Some(since) = since {
                    path += &format!(
                        "&{}=since,{}",
                        r.modified,
                        since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                    );
                }
                let (body, date) = self.get_dated(&path).await?;
                began = began.or(date);
                let page = items_of(r.path, body)?;
                done.requests += 1;
                done.records += page.len() as u64;
                let full = page.len() == PAGE;
                for record in page {
                    done.changed += u64::from(self.keep(r, record)?);
                }
                if !full {
                    break;
                }
                offset += PAGE;
            }
            // The next read starts where this one began, less two seconds
            // (the Date header's second, and writes that committed late).
            let began = began.unwrap_or(started) - chrono::Duration::seconds(2);
            self.copy.cursors.insert(r.name, began);
        }
        Ok(done)
    }

    /// Keeps one record of `r` in the copy, saying whether it was new or
    /// changed what the copy held; a record that does not read as `r`'s
    /// records do stops the catch-up, saying what is wrong.
    fn keep(&mut self, r: &Resource, record: Value) -> Result<bool, ReplicaError> {
        let shape = |reason: String| ReplicaError::Shape {
            path: r.path.to_owned(),
            reason,
        };
        let id = Identified::deserialize(&record)
            .map_err(|e| shape(format!("a record without its id: {e}")))?
            .id;
        let read = |what: &str, e: serde_json::Error| shape(format!("{what} {id}: {e}"));
        fn put<T: PartialEq>(held: &mut HashMap<i64, T>, id: i64, new: T) -> bool {
            let changed = held.get(&id) != Some(&new);
            held.insert(id, new);
            changed
        }
        Ok(match r.name {
            "users" => put(&mut self.copy.employees, id, record),
            "leaveRequests" => put(&mut self.copy.leave_requests, id, record),
            "expenseClaims" => {
                let claim = ClaimRecord::deserialize(&record).map_err(|e| read("claim", e))?;
                put(&mut self.copy.claims, id, claim.status_id)
            }
            _ => {
                let item = ItemRecord::deserialize(&record).map_err(|e| read("item", e))?;
                let purchased_on = item
                    .purchased_on
                    .get(..10)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .ok_or_else(|| {
                        shape(format!(
                            "item {id}: purchasedOn {:?} is not a date",
                            item.purchased_on
                        ))
                    })?;
                let a = item.amounts_in_minor_units;
                put(
                    &mut self.copy.items,
                    id,
                    Item {
                        claim: item.expense_claim_id,
                        nature: item.expense_nature_id,
                        purchased_on,
                        amounts: [a.gross, a.net, a.vat],
                    },
                )
            }
        })
    }

    fn validated(&self, from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = &Item> {
        self.copy.items.values().filter(move |i| {
            i.purchased_on >= from
                && i.purchased_on <= to
                && self
                    .copy
                    .claims
                    .get(&i.claim)
                    .is_some_and(|s| VALIDATED.contains(s))
        })
    }

    /// Gross expenses in minor units per month (`YYYY-MM`) and nature name,
    /// of validated claims purchased from `from` to `to`.
    pub fn gross_per_month_and_nature(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BTreeMap<(String, String), i64> {
        let mut out = BTreeMap::new();
        for i in self.validated(from, to) {
            let nature = self
                .copy
                .natures
                .get(&i.nature)
                .cloned()
                .unwrap_or_else(|| i.nature.to_string());
            *out.entry((i.purchased_on.format("%Y-%m").to_string(), nature))
                .or_default() += i.amounts[0];
        }
        out
    }

    /// VAT in minor units per month, of validated claims.
    pub fn vat_per_month(&self, from: NaiveDate, to: NaiveDate) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for i in self.validated(from, to) {
            *out.entry(i.purchased_on.format("%Y-%m").to_string())
                .or_default() += i.amounts[2];
        }
        out
    }

    /// Catches up every `every`, for ever, logging each catch-up that
    /// changed the copy (one that found nothing new, or only records read
    /// again as the copy holds them, only at debug level, so that a quiet
    /// demo's log keeps its first lines in sight) and each error.
    pub async fn run(mut self, every: Duration) {
        loop {
            match self.catch_up().await {
                Ok(done) if done.changed == 0 => tracing::debug!(
                    target: "relais::replica",
                    requests = done.requests,
                    records = done.records,
                    "Inside Online replica caught up: nothing new"
                ),
                Ok(done) => tracing::info!(
                    target: "relais::replica",
                    requests = done.requests,
                    changed = done.changed,
                    records = done.records,
                    employees = self.copy.employees.len(),
                    items = self.copy.items.len(),
                    "Inside Online replica caught up"
                ),
                Err(e) => {
                    tracing::warn!(target: "relais::replica", error = %e, "Inside Online replica could not catch up")
                }
            }
            tokio::time::sleep(every).await;
        }
    }
}

fn items_of(path: &str, body: Value) -> Result<Vec<Value>, ReplicaError> {
    serde_json::from_value::<Envelope>(body)
        .map(|e| e.data.items)
        .map_err(|e| ReplicaError::Shape {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items() -> &'static Resource {
        &RESOURCES[3]
    }

    #[test]
    fn an_item_is_kept_as_relais_answers_it() {
        let mut replica = Replica::new("http://relais.test", "key");
        let record = json!({
            "id": 7, "expenseClaimId": 3, "expenseNatureId": 2,
            "purchasedOn": "2026-11-04T00:00:00",
            "amountsInMinorUnits": { "gross": 1200, "net": 1000, "vat": 200, "reimbursed": 1200, "currencyId": "EUR" },
            "modifiedOn": "2026-11-05T10:00:00Z"
        });
        assert!(
            replica.keep(items(), record.clone()).unwrap(),
            "new to the copy"
        );
        assert!(
            !replica.keep(items(), record.clone()).unwrap(),
            "read again as the copy holds it"
        );
        let mut corrected = record.clone();
        corrected["amountsInMinorUnits"]["vat"] = json!(240);
        assert!(replica.keep(items(), corrected).unwrap(), "changed");
        assert!(replica.keep(items(), record).unwrap(), "changed back");
        assert_eq!(
            replica.copy.items[&7],
            Item {
                claim: 3,
                nature: 2,
                purchased_on: NaiveDate::from_ymd_opt(2026, 11, 4).unwrap(),
                amounts: [1200, 1000, 200],
            }
        );
    }

    #[test]
    fn a_record_that_does_not_read_is_refused_with_what_and_where() {
        let mut replica = Replica::new("http://relais.test", "key");
        let without_vat = json!({
            "id": 8, "expenseClaimId": 3, "expenseNatureId": 2, "purchasedOn": "2026-11-04",
            "amountsInMinorUnits": { "gross": 1200, "net": 1000 }
        });
        let e = replica.keep(items(), without_vat).unwrap_err().to_string();
        assert!(e.contains("/api/v3/expenseClaimItems"), "{e}");
        assert!(e.contains("item 8") && e.contains("vat"), "{e}");
        let bad_date = json!({
            "id": 9, "expenseClaimId": 3, "expenseNatureId": 2, "purchasedOn": "04/11/2026",
            "amountsInMinorUnits": { "gross": 1, "net": 1, "vat": 0 }
        });
        let e = replica.keep(items(), bad_date).unwrap_err().to_string();
        assert!(e.contains("item 9") && e.contains("04/11/2026"), "{e}");
        let claim_without_status = json!({ "id": 4, "statusId": "paid" });
        let e = replica
            .keep(&RESOURCES[2], claim_without_status)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("claim 4") && e.contains("/api/v3/expenseClaims"),
            "{e}"
        );
        let e = replica
            .keep(&RESOURCES[0], json!({ "firstName": "Ada" }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("without its id"), "{e}");
        // Nothing was kept of what did not read.
        assert!(replica.copy.items.is_empty() && replica.copy.claims.is_empty());
        assert!(replica.copy.employees.is_empty());
    }
}
