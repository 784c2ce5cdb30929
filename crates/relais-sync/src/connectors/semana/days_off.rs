//! The `days-off` stream: the absences of the chosen accounts, approved or
//! pending, in the window, as Semana "off" bookings of a day or half day —
//! without the account's name, which Semana hides on purpose.

use super::people::{Accounts, Opened, Period, Window};
use crate::engine::{Batch, Stream, Write, Written};
use crate::error::SyncError;
use crate::lucca::{self, LeaveRequest};
use crate::source::Pager;
use crate::Side;
use async_trait::async_trait;
use relais_core::connector::StreamSpec;
use relais_core::ledger::{Acknowledged, SourceRecord};
use relais_core::said::Said;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The fields read of absences.
const LEAVE_FIELDS: &str = "id,ownerId,status,leavePeriod[leaves],modifiedAt";

/// The days off of one absence in the window: (day, period), in day order.
fn days_of(leave: &LeaveRequest, window: &Window) -> Vec<(String, Period)> {
    let mut days: BTreeMap<String, Period> = BTreeMap::new();
    for half in leave.leave_period.iter().flat_map(|p| &p.leaves) {
        let day = half.date.as_str();
        if !window.holds(day) {
            continue;
        }
        let period = if half.is_am.unwrap_or(true) {
            Period::Morning
        } else {
            Period::Afternoon
        };
        days.entry(day.to_owned())
            .and_modify(|p| *p = p.with(period))
            .or_insert(period);
    }
    days.into_iter().collect()
}

/// The stream, opened for one run.
pub struct DaysOff {
    run: Opened,
    accounts: Vec<i64>,
    pager: Option<Pager>,
}

impl DaysOff {
    /// The stream of `accounts`' absences in the run's window.
    pub fn new(run: Opened, accounts: &Accounts) -> Self {
        Self {
            run,
            accounts: accounts.off.clone(),
            pager: None,
        }
    }

    fn owner(fields: &BTreeMap<String, Value>) -> Option<i64> {
        fields.get("ownerId").and_then(Value::as_i64)
    }
}

#[async_trait]
impl Stream for DaysOff {
    super::people::day_stream!(1, "off on", "absent le");

    async fn next_page(&mut self, _since: Option<&str>) -> Result<Option<Batch>, SyncError> {
        if self.accounts.is_empty() {
            return Ok(None);
        }
        if self.pager.is_none() {
            let accounts: Vec<String> = self.accounts.iter().map(i64::to_string).collect();
            let query = format!(
                "fields={LEAVE_FIELDS}&leaveAccountId={}&endDate=since,{}&startDate=until,{}&status=0,2&orderBy=id,asc",
                accounts.join(","),
                self.run.window.from,
                self.run.window.to
            );
            self.pager = Some(self.run.source.pages("/api/v3/leaveRequests", &query));
        }
        let pager = self.pager.as_mut().expect("set above");
        let Some(leaves) = pager.next().await? else {
            return Ok(None);
        };
        let mut batch = Batch::default();
        for leave in &lucca::typed::<LeaveRequest>("leave request", leaves)? {
            let (id, Some(owner)) = (leave.id, leave.owner_id) else {
                return Err(SyncError::Malformed {
                    what: Side::Source,
                    reason: format!("the absence {} has no owner", leave.id),
                });
            };
            if self.run.people.of_employee(owner).is_none() {
                // Not in Semana (no work e-mail, or outside the key's
                // reach): the users stream says why.
                continue;
            }
            for (day, period) in days_of(leave, &self.run.window) {
                batch.records.push(SourceRecord {
                    key: format!("{id}:{day}"),
                    fields: BTreeMap::from([
                        ("ownerId".to_owned(), json!(owner)),
                        ("date".to_owned(), json!(day)),
                        ("period".to_owned(), json!(period.as_str())),
                    ]),
                });
            }
        }
        Ok(Some(batch))
    }

    async fn write(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>> {
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            let fields = &w.record.fields;
            let Some(person) = Self::owner(fields).and_then(|o| self.run.people.of_employee(o))
            else {
                out.push(Err(SyncError::LeftOut(Said::new(
                    "the person is not in Semana",
                    "la personne n'est pas dans Semana",
                ))));
                continue;
            };
            let booking = json!({
                "collaboratorId": person.collaborator,
                "date": fields["date"],
                "period": fields["period"],
                "type": "off",
                "externalId": format!("relais:off:{}", w.record.key),
            });
            out.push(
                self.run
                    .client
                    .book(&booking)
                    .await
                    .map(|(id, existed)| Written {
                        partner_id: Some(id.to_string()),
                        existed: existed && w.creating,
                    }),
            );
        }
        out
    }

    async fn delete(&self, record: &Acknowledged) -> Result<(), SyncError> {
        match record.partner_id.as_deref() {
            Some(id) => self.run.client.unbook(id).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn an_absence_becomes_days_and_half_days_in_the_window() {
        let window = Window::around(NaiveDate::from_ymd_opt(2027, 3, 10).unwrap(), 1);
        let leave: LeaveRequest =
            serde_json::from_value(json!({"id": 1, "leavePeriod": {"leaves": [
                {"date": "2027-03-01", "isAM": true},
                {"date": "2027-03-04", "isAM": false},
                {"date": "2027-03-05", "isAM": true},
                {"date": "2027-03-05", "isAM": false},
                {"date": "2027-03-08", "isAM": true},
            ]}}))
            .unwrap();
        assert_eq!(
            days_of(&leave, &window),
            vec![
                ("2027-03-04".to_owned(), Period::Afternoon),
                ("2027-03-05".to_owned(), Period::Day),
                ("2027-03-08".to_owned(), Period::Morning),
            ]
        );
    }
}
