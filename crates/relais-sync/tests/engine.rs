//! The engine with a stream that goes the other way: days booked in a
//! partner come back into the base as approved absences, through the API
//! with the installation's key, idempotently.

mod common;

use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use relais_api::AppState;
use relais_core::access::{KeyUsage, Role};
use relais_core::connector::{
    check_typed, ConnectorSpec, Declaration, Direction, ScheduleRule, StreamSpec, Validate,
};
use relais_core::employee::Email;
use relais_core::ids::{AbsenceAccountId, BaseId};
use relais_core::ledger::{Acknowledged, SourceRecord};
use relais_core::org::Name;
use relais_store::{DatabaseUrl, SharedStore};
use relais_sync::engine::{Batch, Connector, Job, Setup, Stream, Write, Written};
use relais_sync::{Outcome, SyncError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Days a partner holds: (booking id, employee id, date).
type Bookings = Arc<Mutex<Vec<(i64, i64, String)>>>;

async fn bookings(
    State(held): State<Bookings>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Json<Value> {
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let all = held.lock().unwrap().clone();
    let items: Vec<Value> = all
        .iter()
        .skip(page * 2)
        .take(2)
        .map(|(id, who, day)| json!({ "id": id, "employee": who, "day": day }))
        .collect();
    Json(json!({ "items": items }))
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    account: i64,
}
impl Validate for Options {}

static DECLARATION: Declaration = Declaration {
    code: "bookings",
    name: "Bookings",
    secrets: &[],
    options: &[relais_core::connector::SettingSpec {
        name: "account",
        label_fr: "Compte",
        label_en: "Account",
        help_fr: "",
        help_en: "",
        kind: relais_core::connector::SettingKind::Number {
            min: 1,
            max: 1_000_000,
        },
        required: true,
    }],
    schedule: ScheduleRule {
        default: "45 21 * * *",
        default_full: "45 21 * * 0",
        min_interval_minutes: None,
        nightly_from: Some((21, 30)),
        on_change: None,
    },
    mapping: None,
    streams: &[StreamSpec {
        name: "remote-days",
        direction: Direction::Inbound,
        label_fr: "Jours de télétravail ← partenaire",
        label_en: "Telework days ← partner",
        fields: &[],
    }],
};

struct BookingsConnector;

impl ConnectorSpec for BookingsConnector {
    fn declaration(&self) -> &'static Declaration {
        &DECLARATION
    }
    fn check_options(&self, options: &Value) -> relais_core::error::Result<Value> {
        check_typed::<Options>(&DECLARATION, options)
    }
    fn default_options(&self) -> Value {
        json!({ "account": 1 })
    }
}

#[async_trait]
impl Connector for BookingsConnector {
    async fn check_connection(&self, _setup: &Setup) -> Result<(), SyncError> {
        Ok(())
    }
    async fn open(&self, setup: &Setup, _dry_run: bool) -> Result<Vec<Box<dyn Stream>>, SyncError> {
        let options: Options = setup.config()?;
        Ok(vec![Box::new(RemoteDays {
            setup: setup.clone(),
            account: options.account,
            page: 0,
        })])
    }
}

/// The inbound stream: bookings read from the partner, written as absences.
struct RemoteDays {
    setup: Setup,
    account: i64,
    page: usize,
}

#[async_trait]
impl Stream for RemoteDays {
    fn spec(&self) -> &'static StreamSpec {
        &DECLARATION.streams[0]
    }

    async fn next_page(&mut self, _since: Option<&str>) -> Result<Option<Batch>, SyncError> {
        let url = format!("{}/bookings?page={}", self.setup.partner_url, self.page);
        let body: Value = self
            .setup
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = body["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return Ok(None);
        }
        self.page += 1;
        let records = items
            .iter()
            .map(|b| SourceRecord {
                key: format!("booking:{}", b["id"]),
                fields: BTreeMap::from([
                    ("ownerId".to_owned(), b["employee"].clone()),
                    ("date".to_owned(), b["day"].clone()),
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
        let mut out = Vec::new();
        for w in writes {
            let owner = &w.record.fields["ownerId"];
            let day = w.record.fields["date"].as_str().unwrap_or_default();
            // Already in the base (a run killed after writing it): linked, not written twice.
            let found = self
                .setup
                .source
                .get(&format!(
                    "/api/v3/leaveRequests?fields=id&ownerId={owner}&leaveAccountId={}&startDate={day}",
                    self.account
                ))
                .await;
            let existing = found
                .ok()
                .and_then(|v| v["data"]["items"][0]["id"].as_i64());
            if let Some(id) = existing {
                out.push(Ok(Written {
                    partner_id: Some(id.to_string()),
                    existed: true,
                }));
                continue;
            }
            let body = json!({
                "ownerId": owner, "leaveAccountId": self.account,
                "startDate": day, "startDateHalf": "AM", "endDate": day, "endDateHalf": "PM",
                "isApproved": true,
            });
            out.push(
                self.setup
                    .source
                    .post("/api/v3/leaveRequests", &body)
                    .await
                    .map(|(_, v)| Written {
                        partner_id: v["data"]["id"].as_i64().map(|i| i.to_string()),
                        existed: false,
                    }),
            );
        }
        out
    }

    async fn delete(&self, _record: &Acknowledged) -> Result<(), SyncError> {
        Ok(())
    }
}

/// The leave periods of `people` on `account`.
async fn in_base(
    store: &SharedStore,
    base: BaseId,
    people: &[relais_core::ids::EmployeeId],
    account: AbsenceAccountId,
) -> Vec<relais_core::absence::LeavePeriod> {
    let mut out = Vec::new();
    for p in people {
        out.extend(
            store
                .list_leave_periods(base, *p)
                .await
                .unwrap()
                .into_iter()
                .filter(|l| l.account_id == account),
        );
    }
    out
}

#[tokio::test]
async fn an_inbound_stream_writes_into_the_base_once_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (store, base) =
        common::seeded_base(&DatabaseUrl::Sqlite(dir.path().join("e.db")), 20, 9).await;
    let telework = store
        .list_absence_accounts(base.id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.category == relais_core::absence::AbsenceCategory::Telework)
        .unwrap();
    let api = relais_testkit::spawn_app(AppState::new(store.clone(), 100_000)).await;
    let role = Role::parse(&[
        "personnel-file:fields=firstName",
        "absences",
        &format!("absence-requests:accounts={}", telework.id),
    ])
    .unwrap();
    let (_, secret) = relais_app::keys::create_key(
        &store,
        base.id,
        Name::parse("name", "Bookings").unwrap(),
        Email::parse("tech@bookings.test").unwrap(),
        KeyUsage::ThirdParty,
        role,
        relais_core::activity::Actor::CommandLine,
    )
    .await
    .unwrap();
    let people = store.list_employees(base.id, None, 3).await.unwrap();
    // Far ahead, on weekdays, so that nothing in the demo overlaps them.
    let held: Bookings = Arc::new(Mutex::new(vec![
        (1, people[0].id.0, "2031-03-04".into()),
        (2, people[1].id.0, "2031-03-05".into()),
        (3, people[2].id.0, "2031-03-06".into()),
    ]));
    let partner = Router::new()
        .route("/bookings", get(bookings))
        .with_state(held.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let partner_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, partner).await.unwrap() });

    let job = Job::new(
        Arc::new(BookingsConnector),
        relais_sync::source::LuccaSource::new(&api, &secret),
        &partner_url,
        &[],
        json!({ "account": telework.id.0 }),
        &"bookings:1".parse().unwrap(),
        &store,
    )
    .unwrap();
    let ids: Vec<_> = people.iter().map(|p| p.id).collect();
    let before = in_base(&store, base.id, &ids, telework.id).await.len();
    let first = job.run(false, false).await.unwrap();
    assert_eq!(first.count(&Outcome::Created), 3, "{:?}", first.lines);
    assert!(first.lines.iter().all(|l| l.stream == "remote-days"));
    let written = in_base(&store, base.id, &ids, telework.id).await;
    assert_eq!(written.len(), before + 3);
    assert_eq!(
        written
            .iter()
            .filter(|p| p.source.code() == "integration:Bookings")
            .count(),
        3,
        "written with the installation's key, under its name"
    );

    // Run again: nothing written twice.
    let again = job.run(false, false).await.unwrap();
    assert_eq!((again.counts.written(), again.counts.unchanged), (0, 3));
    // A run killed after writing but before confirming (its ledger lost):
    // the days are found in the base and linked, not duplicated.
    store
        .reset_ledger(&"bookings:1".parse().unwrap())
        .await
        .unwrap();
    let after_reset = job.run(false, false).await.unwrap();
    assert_eq!(after_reset.count(&Outcome::Linked), 3);
    assert_eq!(
        in_base(&store, base.id, &ids, telework.id).await.len(),
        before + 3
    );

    // The key bounds what a partner can change: a day on another account is refused.
    let mut elsewhere = job.clone();
    elsewhere.setup.options = json!({ "account": telework.id.0 + 1000 });
    elsewhere.setup.job = "bookings:902".parse().unwrap();
    let refused = elsewhere.run(false, false).await.unwrap();
    assert_eq!(refused.counts.failed, 3, "{:?}", refused.lines);
    assert_eq!(
        in_base(&store, base.id, &ids, telework.id).await.len(),
        before + 3
    );
}
