//! The `employees` stream: the base's employees as HappyPal profiles.

use super::client::{HappyPalClient, PAGE as PARTNER_PAGE};
use super::Config;
use crate::engine::{Batch, Drift, Setup, Stream, Write, Written};
use crate::error::SyncError;
use crate::lucca::User;
use crate::source::UserPages;
use async_trait::async_trait;
use relais_core::connector::StreamSpec;
use relais_core::fields::{users, Field};
use relais_core::ledger::{Acknowledged, SourceRecord};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// The fields read from the source.
pub const SOURCE_FIELDS: &[Field] = &[
    users::ID,
    users::FIRST_NAME,
    users::LAST_NAME,
    users::MAIL,
    users::BIRTH_DATE,
    users::CONTRACT_START,
    users::CONTRACT_END,
    users::MODIFIED_AT,
];

/// HappyPal's profile fields relais writes.
const PROFILE_FIELDS: [&str; 6] = [
    "first_name",
    "last_name",
    "email",
    "birth_date",
    "contract_start",
    "contract_end",
];

/// Employees read per page.
const PAGE: u32 = 500;

/// A source user as HappyPal's fields.
fn record(user: &User) -> SourceRecord {
    let values = [
        &user.first_name,
        &user.last_name,
        &user.mail,
        &user.birth_date,
        &user.dt_contract_start,
        &user.dt_contract_end,
    ];
    let fields = PROFILE_FIELDS
        .iter()
        .zip(values)
        .map(|(name, v)| ((*name).to_owned(), json!(v)))
        .collect();
    SourceRecord {
        key: user.id.to_string(),
        fields,
    }
}

/// The stream, opened for one run.
pub struct Employees {
    pages: UserPages,
    client: HappyPalClient,
    batch_size: usize,
    concurrency: usize,
    /// For a dry run, HappyPal's profiles read once: their external ids,
    /// and the e-mails (lower case) of those not linked yet.
    held: Option<(HashSet<String>, HashSet<String>)>,
}

impl Employees {
    /// The stream over `setup`'s source, writing with `client`.
    pub fn new(setup: &Setup, client: HappyPalClient, config: &Config) -> Self {
        Self {
            pages: UserPages::new(setup.source.clone(), SOURCE_FIELDS, PAGE),
            client,
            batch_size: config.batch_size as usize,
            concurrency: config.concurrency as usize,
            held: None,
        }
    }
}

#[async_trait]
impl Stream for Employees {
    fn spec(&self) -> &'static StreamSpec {
        &super::DECLARATION.streams[0]
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn name(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<String> {
        let part = |n: &str| fields.get(n).and_then(Value::as_str).unwrap_or_default();
        let name = format!("{} {}", part("first_name"), part("last_name"));
        Some(name.trim().to_owned()).filter(|n| !n.is_empty())
    }

    fn person(&self, key: &str, _fields: &BTreeMap<String, Value>) -> Option<i64> {
        key.parse().ok()
    }

    async fn next_page(&mut self, since: Option<&str>) -> Result<Option<Batch>, SyncError> {
        Batch::of_users(&mut self.pages, since, record).await
    }

    async fn write(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>> {
        if writes.len() == 1 {
            let w = &writes[0];
            return vec![self.client.upsert(&w.record.key, &w.record.fields).await];
        }
        let profiles: Vec<(&str, &BTreeMap<String, Value>)> = writes
            .iter()
            .map(|w| (w.record.key.as_str(), &w.record.fields))
            .collect();
        self.client.upsert_batch(&profiles).await
    }

    async fn delete(&self, record: &Acknowledged) -> Result<(), SyncError> {
        self.client.delete(&record.key).await
    }

    /// HappyPal links a profile it already has with the same external id,
    /// or an unlinked one with the same work e-mail (any case).
    async fn held_before_create(
        &mut self,
        records: &[&SourceRecord],
    ) -> Result<Vec<bool>, SyncError> {
        if self.held.is_none() {
            let (mut ids, mut emails) = (HashSet::new(), HashSet::new());
            let mut page = 1;
            loop {
                let (profiles, _) = self.client.page(page, None).await?;
                for p in &profiles {
                    match p["external_id"].as_str() {
                        Some(id) => {
                            ids.insert(id.to_owned());
                        }
                        None => {
                            if let Some(e) = p["email"].as_str() {
                                emails.insert(e.to_lowercase());
                            }
                        }
                    }
                }
                if profiles.len() < PARTNER_PAGE {
                    break;
                }
                page += 1;
            }
            self.held = Some((ids, emails));
        }
        let Some((ids, emails)) = self.held.as_mut() else {
            return Ok(vec![false; records.len()]);
        };
        Ok(records
            .iter()
            .map(|r| {
                if ids.contains(&r.key) {
                    return true;
                }
                let email = r
                    .fields
                    .get("email")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase);
                // A profile linked by one create is not there for the next.
                match email {
                    Some(e) if emails.remove(&e) => {
                        ids.insert(r.key.clone());
                        true
                    }
                    _ => false,
                }
            })
            .collect())
    }

    async fn drift_page(
        &mut self,
        since: Option<&str>,
        page: usize,
    ) -> Result<Option<Drift>, SyncError> {
        let (profiles, clock) = self.client.page(page, since).await?;
        let last = profiles.len() < PARTNER_PAGE;
        let held = profiles
            .iter()
            .filter_map(|p| {
                let key = p["external_id"].as_str()?;
                let fields = PROFILE_FIELDS
                    .iter()
                    .map(|n| ((*n).to_owned(), p[*n].clone()))
                    .collect();
                Some((key.to_owned(), fields))
            })
            .collect();
        Ok(Some(Drift { held, clock, last }))
    }
}
