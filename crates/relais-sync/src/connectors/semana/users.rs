//! The `users` stream: employees under contract (future ones included) as
//! Semana users, linked on e-mail, deactivated when they left.

use super::client::SemanaClient;
use super::people::{name_of, People};
use crate::engine::{Batch, Setup, Stream, Write, Written};
use crate::error::SyncError;
use crate::source::LuccaSource;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use relais_core::connector::StreamSpec;
use relais_core::ledger::{Acknowledged, SourceRecord};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The fields read of employees.
pub const SOURCE_FIELDS: &str = "id,firstName,lastName,employeeNumber,mail,legalEntity,modifiedAt";

/// Employees read per page.
const PAGE: u32 = 500;

/// An employee as Semana's user fields, with its modification time.
fn record(user: &Value) -> Result<(SourceRecord, Option<DateTime<Utc>>), SyncError> {
    crate::source::require_fields(user, SOURCE_FIELDS)?;
    let id = user["id"].as_i64().ok_or_else(|| SyncError::Malformed {
        what: "source",
        reason: format!("a user without id: {user}"),
    })?;
    let fields = BTreeMap::from([
        ("email".to_owned(), user["mail"].clone()),
        ("firstName".to_owned(), user["firstName"].clone()),
        ("lastName".to_owned(), user["lastName"].clone()),
        ("employeeNumber".to_owned(), user["employeeNumber"].clone()),
        (
            "establishment".to_owned(),
            user["legalEntity"]["name"].clone(),
        ),
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

/// The stream, opened for one run.
pub struct Users {
    source: LuccaSource,
    client: SemanaClient,
    people: Arc<People>,
    offset: u64,
    done: bool,
    concurrency: usize,
}

impl Users {
    /// The stream over `setup`'s source, writing with `client`.
    pub fn new(
        setup: &Setup,
        client: SemanaClient,
        people: Arc<People>,
        concurrency: usize,
    ) -> Self {
        Self {
            source: setup.source.clone(),
            client,
            people,
            offset: 0,
            done: false,
            concurrency,
        }
    }

    async fn write_one(&self, w: &Write) -> Result<Written, SyncError> {
        let fields = &w.record.fields;
        if fields["email"].as_str().is_none_or(|m| !m.contains('@')) {
            return Err(SyncError::LeftOut(format!(
                "{} has no work e-mail: Semana knows people by e-mail",
                name_of(fields)
            )));
        }
        let body = json!(fields);
        let written = match w.partner_id.as_deref() {
            Some(id) => {
                self.client.update_user(id, &body).await?;
                Written {
                    partner_id: Some(id.to_owned()),
                    existed: false,
                }
            }
            None => {
                let (id, existed) = self.client.create_user(&body).await?;
                Written {
                    partner_id: Some(id.to_string()),
                    existed,
                }
            }
        };
        if let (Ok(employee), Some(collaborator)) = (
            w.record.key.parse::<i64>(),
            written.partner_id.as_deref().and_then(|p| p.parse().ok()),
        ) {
            self.people.know(employee, collaborator, name_of(fields));
        }
        Ok(written)
    }
}

#[async_trait]
impl Stream for Users {
    fn spec(&self) -> &'static StreamSpec {
        &super::DECLARATION.streams[0]
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn deactivates(&self) -> bool {
        true
    }

    fn name(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<String> {
        Some(name_of(fields)).filter(|n| !n.is_empty())
    }

    async fn next_page(&mut self, since: Option<&str>) -> Result<Option<Batch>, SyncError> {
        if self.done {
            return Ok(None);
        }
        let since = since
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&Utc));
        let users = self
            .source
            .users_page(SOURCE_FIELDS, since, self.offset, PAGE)
            .await?;
        if users.is_empty() {
            self.done = true;
            return Ok(None);
        }
        self.offset += users.len() as u64;
        let mut batch = Batch::default();
        let mut newest = None;
        for u in &users {
            let (r, modified) = record(u)?;
            newest = newest.max(modified);
            batch.records.push(r);
        }
        batch.cursor = newest.map(|t| t.to_rfc3339());
        Ok(Some(batch))
    }

    async fn write(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>> {
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            out.push(self.write_one(w).await);
        }
        out
    }

    async fn delete(&self, record: &Acknowledged) -> Result<(), SyncError> {
        match record.partner_id.as_deref() {
            Some(id) => self.client.deactivate_user(id).await,
            None => Ok(()),
        }
    }
}
