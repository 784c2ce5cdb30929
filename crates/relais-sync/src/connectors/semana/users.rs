//! The `users` stream: employees under contract (future ones included) as
//! Semana users, linked on e-mail, deactivated when they left.

use super::people::{name_of, Opened};
use crate::engine::{Batch, Stream, Write, Written};
use crate::error::SyncError;
use crate::lucca::User;
use crate::source::UserPages;
use async_trait::async_trait;
use relais_core::connector::StreamSpec;
use relais_core::fields::{users, Field};
use relais_core::ledger::{Acknowledged, SourceRecord};
use relais_core::said::Said;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The fields read of employees.
pub const SOURCE_FIELDS: &[Field] = &[
    users::ID,
    users::FIRST_NAME,
    users::LAST_NAME,
    users::EMPLOYEE_NUMBER,
    users::MAIL,
    users::ESTABLISHMENT,
    users::MODIFIED_AT,
];

/// Employees read per page.
const PAGE: u32 = 500;

/// An employee as Semana's user fields.
fn record(user: &User) -> SourceRecord {
    let fields = BTreeMap::from([
        ("email".to_owned(), json!(user.mail)),
        ("firstName".to_owned(), json!(user.first_name)),
        ("lastName".to_owned(), json!(user.last_name)),
        ("employeeNumber".to_owned(), json!(user.employee_number)),
        (
            "establishment".to_owned(),
            json!(user.legal_entity.as_ref().and_then(|l| l.name.as_ref())),
        ),
    ]);
    SourceRecord {
        key: user.id.to_string(),
        fields,
    }
}

/// The stream, opened for one run.
pub struct Users {
    pages: UserPages,
    run: Opened,
    /// For a dry run, the e-mails (lower case) of the users Semana holds,
    /// read once: a create with one of them links to that user.
    held: Option<std::collections::HashSet<String>>,
}

impl Users {
    /// The stream over the run's source, writing with its client.
    pub fn new(run: Opened) -> Self {
        Self {
            pages: UserPages::new(run.source.clone(), SOURCE_FIELDS, PAGE),
            run,
            held: None,
        }
    }

    async fn write_one(&self, w: &Write) -> Result<Written, SyncError> {
        let fields = &w.record.fields;
        if fields["email"].as_str().is_none_or(|m| !m.contains('@')) {
            let name = name_of(fields);
            return Err(SyncError::LeftOut(Said::new(
                format!("{name} has no work e-mail: Semana knows people by e-mail"),
                format!("{name} n'a pas d'e-mail professionnel : Semana reconnaît les personnes à leur e-mail"),
            )));
        }
        let body = json!(fields);
        let written = match w.partner_id.as_deref() {
            Some(id) => {
                self.run.client.update_user(id, &body).await?;
                Written {
                    partner_id: Some(id.to_owned()),
                    existed: false,
                }
            }
            None => {
                let (id, existed) = self.run.client.create_user(&body).await?;
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
            self.run
                .people
                .know(employee, collaborator, name_of(fields));
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
        self.run.concurrency
    }

    fn deactivates(&self) -> bool {
        true
    }

    fn name(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<String> {
        Some(name_of(fields)).filter(|n| !n.is_empty())
    }

    fn person(&self, key: &str, _fields: &BTreeMap<String, Value>) -> Option<i64> {
        key.parse().ok()
    }

    async fn held_before_create(
        &mut self,
        records: &[&SourceRecord],
    ) -> Result<Vec<bool>, SyncError> {
        if self.held.is_none() {
            let mut emails = std::collections::HashSet::new();
            let mut page = 1;
            loop {
                let (users, last) = self.run.client.users(page).await?;
                emails.extend(
                    users
                        .into_iter()
                        .filter_map(|u| u.email)
                        .map(|e| e.to_lowercase()),
                );
                if last {
                    break;
                }
                page += 1;
            }
            self.held = Some(emails);
        }
        let emails = self.held.get_or_insert_with(Default::default);
        Ok(records
            .iter()
            .map(|r| {
                let email = r
                    .fields
                    .get("email")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase);
                // Semana answers a create with the user of the same e-mail,
                // even one made earlier in the same run.
                email.is_some_and(|e| !emails.insert(e))
            })
            .collect())
    }

    async fn next_page(&mut self, since: Option<&str>) -> Result<Option<Batch>, SyncError> {
        Batch::of_users(&mut self.pages, since, record).await
    }

    async fn write(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>> {
        crate::engine::one_at_a_time(writes, |w| self.write_one(w)).await
    }

    async fn delete(&self, record: &Acknowledged) -> Result<(), SyncError> {
        match record.partner_id.as_deref() {
            Some(id) => self.run.client.deactivate_user(id).await,
            None => Ok(()),
        }
    }
}
