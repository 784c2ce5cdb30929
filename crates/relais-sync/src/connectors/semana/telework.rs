//! The `telework` stream, inbound: Semana's "remote" days and half days of
//! the window become approved leave periods on the telework account,
//! written through the API with the installation's key. A day removed in
//! Semana cancels its period; a day already holding another absence is a
//! conflict, reported and left for the next run. Periods relais did not
//! create from Semana are never touched.

use super::people::{day_label, Opened, Period};
use crate::engine::{Batch, Stream, Write, Written};
use crate::error::SyncError;
use crate::lucca::{self, LeaveRequest};
use crate::Side;
use async_trait::async_trait;
use chrono::{Datelike, Days, NaiveDate};
use relais_core::connector::StreamSpec;
use relais_core::ledger::{Acknowledged, SourceRecord};
use relais_core::said::Said;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The stream, opened for one run.
pub struct Telework {
    run: Opened,
    /// The telework account: identifier and name.
    account: (i64, String),
    /// The first day of the next week to read.
    next: Option<NaiveDate>,
}

/// What the base holds on a day that keeps a remote day out.
struct Held {
    id: i64,
    account: i64,
    account_name: String,
    start: String,
    end: String,
    start_half: String,
    end_half: String,
    source: String,
}

impl Telework {
    /// The stream of the run's window's remote days, into `account`.
    pub fn new(run: Opened, account: (i64, String)) -> Self {
        Self {
            next: Some(run.window.from),
            run,
            account,
        }
    }

    /// What the base holds for `owner` on `day`, approved or pending.
    async fn held(&self, owner: i64, day: &str) -> Result<Vec<Held>, SyncError> {
        let found = self
            .run
            .source
            .get(&format!(
                "/api/v3/leaveRequests?fields=id,leaveAccountId,leaveAccount,startDate,startDateHalf,endDate,endDateHalf,source&ownerId={owner}&startDate=until,{day}&endDate=since,{day}&status=0,2&paging=0,100"
            ))
            .await?;
        let items = match found {
            Value::Object(mut answer) => answer
                .get_mut("data")
                .and_then(|d| d.get_mut("items"))
                .map(Value::take),
            _ => None,
        };
        let Some(Value::Array(items)) = items else {
            return Err(SyncError::Malformed {
                what: Side::Source,
                reason: "no data.items in the leave requests answer".into(),
            });
        };
        let text = |t: Option<String>| t.unwrap_or_default();
        Ok(lucca::typed::<LeaveRequest>("leave request", items)?
            .into_iter()
            .filter_map(|p| {
                Some(Held {
                    id: p.id,
                    account: p.leave_account_id?,
                    account_name: text(p.leave_account.and_then(|l| l.name)),
                    start: text(p.start_date),
                    end: text(p.end_date),
                    start_half: text(p.start_date_half),
                    end_half: text(p.end_date_half),
                    source: text(p.source),
                })
            })
            .collect())
    }

    /// Cancels one of the periods this stream made (one already cancelled
    /// or gone counts as cancelled).
    async fn cancel(&self, id: &str) -> Result<(), SyncError> {
        match self
            .run
            .source
            .post(&format!("/api/v3/leaveRequests/{id}/cancel"), &json!({}))
            .await
        {
            Ok(_)
            | Err(SyncError::Partner {
                status: 404 | 422, ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates the period of one remote day; a day that already holds an
    /// absence is a conflict, unless what it holds is this very day made
    /// by an earlier run (linked) or an older state of it (replaced).
    async fn create(&self, fields: &BTreeMap<String, Value>) -> Result<Written, SyncError> {
        let owner = fields.get("ownerId").and_then(Value::as_i64).unwrap_or(0);
        let day = fields
            .get("date")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let period = fields
            .get("period")
            .and_then(Value::as_str)
            .and_then(Period::parse)
            .unwrap_or(Period::Day);
        let (start_half, end_half) = period.halves();
        let body = json!({
            "ownerId": owner,
            "leaveAccountId": self.account.0,
            "startDate": day,
            "startDateHalf": start_half,
            "endDate": day,
            "endDateHalf": end_half,
            "isApproved": true,
            "comment": "Semana",
        });
        for attempt in 0..2 {
            match self.run.source.post("/api/v3/leaveRequests", &body).await {
                Ok((_, made)) => {
                    return Ok(Written {
                        partner_id: made["data"]["id"].as_i64().map(|i| i.to_string()),
                        existed: false,
                    })
                }
                Err(SyncError::Partner {
                    status: 422,
                    body: said,
                }) if said.contains("overlaps") => {
                    let held = self.held(owner, day).await?;
                    let ours = |h: &&Held| {
                        h.account == self.account.0
                            && h.source.eq_ignore_ascii_case(&format!(
                                "integration:{}",
                                super::DECLARATION.name
                            ))
                            && h.start == day
                            && h.end == day
                    };
                    if let Some(same) = held
                        .iter()
                        .filter(ours)
                        .find(|h| h.start_half == start_half && h.end_half == end_half)
                    {
                        // Written by a run that stopped before confirming it.
                        return Ok(Written {
                            partner_id: Some(same.id.to_string()),
                            existed: true,
                        });
                    }
                    let (stale, others): (Vec<&Held>, Vec<&Held>) =
                        held.iter().partition(|h| ours(h));
                    if let Some(other) = others.first() {
                        let (who, when) = self.run.people.describe_day(fields);
                        let account = &other.account_name;
                        let start = |lang| day_label(&other.start, lang);
                        let end = |lang| day_label(&other.end, lang);
                        return Err(SyncError::LeftOut(Said::new(
                            format!(
                                "conflict: telework of {} on {} not written, the day already holds « {account} » from {} to {}",
                                who.en, when.en, start("en"), end("en")
                            ),
                            format!(
                                "conflit : télétravail de {} le {} non écrit, ce jour porte déjà « {account} » du {} au {}",
                                who.fr, when.fr, start("fr"), end("fr")
                            ),
                        )));
                    }
                    if attempt == 1 || stale.is_empty() {
                        return Err(SyncError::Partner {
                            status: 422,
                            body: said,
                        });
                    }
                    // An older state of this day (its half changed): replaced.
                    for s in stale {
                        self.cancel(&s.id.to_string()).await?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the loop returns")
    }
}

#[async_trait]
impl Stream for Telework {
    super::people::day_stream!(2, "telework on", "télétravail le");

    /// One week of the window at a time: every page of its remote
    /// bookings, a person's morning and afternoon of one day made one day.
    async fn next_page(&mut self, _since: Option<&str>) -> Result<Option<Batch>, SyncError> {
        let Some(from) = self.next else {
            return Ok(None);
        };
        let sunday = from
            .checked_add_days(Days::new(u64::from(
                6 - from.weekday().num_days_from_monday(),
            )))
            .unwrap_or(from)
            .min(self.run.window.to);
        self.next = sunday.succ_opt().filter(|d| *d <= self.run.window.to);
        let (from, to) = (from.to_string(), sunday.to_string());
        let mut days: BTreeMap<(i64, NaiveDate), Period> = BTreeMap::new();
        let mut page = 1;
        loop {
            let (bookings, last) = self.run.client.bookings(&from, &to, "remote", page).await?;
            for b in bookings {
                let (Some(owner), Some(period)) = (
                    self.run.people.of_collaborator(b.collaborator_id),
                    Period::parse(&b.period),
                ) else {
                    // Someone the base does not hold (Semana's own users),
                    // or a period relais does not know.
                    continue;
                };
                if !self.run.window.contains(b.date) {
                    continue;
                }
                days.entry((owner, b.date))
                    .and_modify(|p| *p = p.with(period))
                    .or_insert(period);
            }
            if last {
                break;
            }
            page += 1;
        }
        let records = days
            .into_iter()
            .map(|((owner, day), period)| SourceRecord {
                key: format!("{owner}:{day}"),
                fields: BTreeMap::from([
                    ("ownerId".to_owned(), json!(owner)),
                    ("date".to_owned(), json!(day)),
                    ("period".to_owned(), json!(period.as_str())),
                ]),
            })
            .collect();
        Ok(Some(Batch {
            records,
            cursor: None,
            gone: Vec::new(),
        }))
    }

    async fn write(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>> {
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            if let Some(old) = w.partner_id.as_deref().filter(|_| !w.creating) {
                // The day changed (a half became the whole day): its period
                // is replaced.
                if let Err(e) = self.cancel(old).await {
                    out.push(Err(e));
                    continue;
                }
            }
            out.push(self.create(&w.record.fields).await);
        }
        out
    }

    async fn delete(&self, record: &Acknowledged) -> Result<(), SyncError> {
        match record.partner_id.as_deref() {
            Some(id) => self.cancel(id).await,
            None => Ok(()),
        }
    }
}
