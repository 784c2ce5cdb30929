//! The Semana connector end to end, over HTTP: relais's API serving a
//! seeded base (SQLite, and PostgreSQL when configured) and the Semana
//! simulator. Employees and absences go out; telework days come back into
//! the telework account through the API with the installation's key.

#[macro_use]
mod common;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use relais_api::AppState;
use relais_core::access::{KeyUsage, Role};
use relais_core::audit::Author;
use relais_core::employee::{ContractStatus, Email};
use relais_core::ids::{BaseId, EmployeeId};
use relais_core::org::Name;
use relais_sandbox::semana::{self, Holdings};
use relais_sandbox::sim::Faults;
use relais_store::SharedStore;
use relais_sync::connectors::semana::Semana;
use relais_sync::engine::Job;
use relais_sync::http::RetryPolicy;
use relais_sync::{Outcome, Report, SyncError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SEMANA_KEY: &str = "workspace-key";

struct World {
    /// The test's database, dropped last.
    _db: relais_testkit::TestDb,
    store: SharedStore,
    base: BaseId,
    api: String,
    /// A key that reads and writes everything, for the test's own checks.
    admin: String,
    /// Semana's key: what the app's manifest grants.
    key: String,
    sim: relais_sandbox::sim::Running,
    telework: i64,
    today: NaiveDate,
    http: reqwest::Client,
}

async fn world(postgres: bool) -> Option<World> {
    let db = common::database(postgres, "Semana").await?;
    let url = db.url().clone();
    let (store, base) = common::seeded_base(&url, 60, 12).await;
    let api = relais_testkit::spawn_app(AppState::new(store.clone(), 1_000_000)).await;
    let accounts = store.list_absence_accounts(base.id).await.unwrap();
    let telework = accounts
        .iter()
        .find(|a| a.category.as_str() == "telework")
        .unwrap()
        .id
        .0;
    let key = |name: &str, grants: Vec<String>| {
        let store = store.clone();
        let name = name.to_owned();
        async move {
            let grants: Vec<&str> = grants.iter().map(String::as_str).collect();
            relais_app::keys::create_key(
                &store,
                base.id,
                Name::parse("name", &name).unwrap(),
                Email::parse("csm@semana.io").unwrap(),
                KeyUsage::ThirdParty,
                Role::parse(&grants).unwrap(),
                relais_core::activity::Actor::CommandLine,
            )
            .await
            .unwrap()
            .1
        }
    };
    let admin = key("Tests", vec!["all".into()]).await;
    let semana_key = key(
        "Semana",
        vec![
            "personnel-file:fields=legalEntityId+legalEntity+firstName+lastName+employeeNumber+mail"
                .into(),
            "future-employees".into(),
            "absences".into(),
            format!("absence-requests:accounts={telework}"),
        ],
    )
    .await;
    let sim = semana::start("127.0.0.1:0".parse().unwrap(), SEMANA_KEY)
        .await
        .unwrap();
    Some(World {
        _db: db,
        store,
        base: base.id,
        api,
        admin,
        key: semana_key,
        sim,
        telework,
        today: relais_testkit::today(),
        http: reqwest::Client::new(),
    })
}

impl World {
    fn job(&self, name: &str, options: Value) -> Job {
        let mut job = Job::new(
            std::sync::Arc::new(Semana),
            relais_sync::source::LuccaSource::new(&self.api, &self.key),
            &self.sim.url(),
            &[("api_key", SEMANA_KEY)],
            options,
            &name.parse().unwrap(),
            &self.store,
        )
        .unwrap();
        job.setup.today = self.today;
        job.setup.policy = RetryPolicy {
            retries: 4,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(2),
        };
        job
    }

    async fn held(&self) -> Holdings {
        self.http
            .get(format!("{}/_sim/state", self.sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn faults(&self, faults: Faults) {
        let status = self
            .http
            .put(format!("{}/_sim/faults", self.sim.url()))
            .json(&faults)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success());
    }

    /// Books a day in Semana as the employee with `email` would.
    async fn book(&self, email: &str, day: NaiveDate, period: &str) -> u64 {
        let answer: Value = self
            .http
            .post(format!("{}/_sim/book", self.sim.url()))
            .json(&json!({ "email": email, "date": day.to_string(), "period": period, "type": "remote" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["data"]["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("{answer}"))
    }

    async fn unbook(&self, id: u64) {
        let status = self
            .http
            .delete(format!("{}/_sim/bookings/{id}", self.sim.url()))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204);
    }

    async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.api))
            .header("Authorization", format!("lucca application={key}"))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.api))
            .header("Authorization", format!("lucca application={key}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    /// Active leave requests of the telework account: (owner, day, halves, source, id).
    async fn telework_periods(&self) -> Vec<(i64, String, String, String, i64)> {
        let (status, body) = self
            .get(
                &format!(
                    "/api/v3/leaveRequests?leaveAccountId={}&status=0,2&fields=id,ownerId,startDate,startDateHalf,endDate,endDateHalf,source&paging=0,1000",
                    self.telework
                ),
                &self.admin,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert_eq!(p["startDate"], p["endDate"], "one period per day: {p}");
                (
                    p["ownerId"].as_i64().unwrap(),
                    p["startDate"].as_str().unwrap().to_owned(),
                    format!(
                        "{}-{}",
                        p["startDateHalf"].as_str().unwrap(),
                        p["endDateHalf"].as_str().unwrap()
                    ),
                    p["source"].as_str().unwrap().to_owned(),
                    p["id"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    /// Those relais made from Semana: (owner, day, halves).
    async fn made_from_semana(&self) -> BTreeSet<(i64, String, String)> {
        self.telework_periods()
            .await
            .into_iter()
            .filter(|p| p.3 == "integration:Semana")
            .map(|p| (p.0, p.1, p.2))
            .collect()
    }

    /// What the base should show Semana as days off: every active
    /// half-day leave of the window outside the telework account, of the
    /// people Semana holds — (employee, day, period).
    async fn expected_days_off(&self, held: &Holdings) -> BTreeSet<(i64, String, String)> {
        let window = (self.today - Days::new(42), self.today + Days::new(42));
        let mut halves: BTreeMap<(i64, String), BTreeSet<bool>> = BTreeMap::new();
        let people = self.employees_in_semana(held).await;
        for owner in people.keys() {
            let (status, body) = self
                .get(
                    &format!(
                        "/api/v3/leaves?date=between,{},{}&leavePeriod.ownerId={owner}&fields=date,isAM,isActive,leaveAccountId&paging=0,1000",
                        window.0, window.1
                    ),
                    &self.admin,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            for l in body["data"]["items"].as_array().unwrap() {
                if l["isActive"] == json!(true) && l["leaveAccountId"] != json!(self.telework) {
                    halves
                        .entry((*owner, l["date"].as_str().unwrap().to_owned()))
                        .or_default()
                        .insert(l["isAM"].as_bool().unwrap());
                }
            }
        }
        halves
            .into_iter()
            .map(|((owner, day), h)| {
                let period = match (h.contains(&true), h.contains(&false)) {
                    (true, true) => "day",
                    (true, false) => "morning",
                    _ => "afternoon",
                };
                (owner, day, period.to_owned())
            })
            .collect()
    }

    /// Semana's off bookings, merged per person and day — (employee, day, period).
    async fn days_off_held(&self, held: &Holdings) -> BTreeSet<(i64, String, String)> {
        let people = self.employees_in_semana(held).await;
        let by_user: BTreeMap<u64, i64> = people.iter().map(|(e, u)| (*u, *e)).collect();
        let mut halves: BTreeMap<(i64, String), BTreeSet<&str>> = BTreeMap::new();
        for b in held.bookings.iter().filter(|b| b.kind == "off") {
            let owner = by_user[&b.collaborator_id];
            halves
                .entry((owner, b.date.clone()))
                .or_default()
                .insert(b.period.as_str());
        }
        halves
            .into_iter()
            .map(|(k, p)| {
                let period = if p.contains("day") || p.len() == 2 {
                    "day"
                } else {
                    *p.iter().next().unwrap()
                };
                (k.0, k.1, period.to_owned())
            })
            .collect()
    }

    /// Employees Semana holds as users: employee → Semana user, by e-mail.
    async fn employees_in_semana(&self, held: &Holdings) -> BTreeMap<i64, u64> {
        let by_mail: BTreeMap<String, u64> = held
            .users
            .iter()
            .map(|u| (u.email.to_lowercase(), u.id))
            .collect();
        self.store
            .list_employees(self.base, None, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| Some((e.id.0, *by_mail.get(&e.data.mail.as_str().to_lowercase())?)))
            .collect()
    }

    /// Employees under contract today or later, as the key sees them.
    async fn under_contract(&self) -> Vec<relais_core::employee::Employee> {
        self.store
            .list_employees(self.base, None, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.data.contract.status_on(self.today) != ContractStatus::Former)
            .collect()
    }

    /// A working day (Tuesday to Thursday) from `after` days on, when
    /// `employee` holds no active absence.
    async fn free_day(&self, employee: i64, after: u64) -> NaiveDate {
        let periods = self
            .store
            .list_leave_periods(self.base, EmployeeId(employee))
            .await
            .unwrap();
        (after..after + 30)
            .map(|n| self.today + Days::new(n))
            .filter(|d| matches!(d.weekday(), Weekday::Tue | Weekday::Wed | Weekday::Thu))
            .filter(|d| !relais_core::calendar::HolidayCalendar::FranceAlsaceMoselle.is_holiday(*d))
            .find(|d| {
                !periods.iter().any(|p| {
                    p.status.occupies_calendar() && p.span.start.date <= *d && p.span.end.date >= *d
                })
            })
            .unwrap()
    }
}

fn failures(report: &Report) -> Vec<String> {
    report
        .lines
        .iter()
        .filter(|l| matches!(l.outcome, Outcome::Failed(_)))
        .map(|l| format!("{} {}: {:?}", l.stream, l.key, l.outcome))
        .collect()
}

fn lines_of<'a>(
    report: &'a Report,
    stream: &'a str,
    outcome: &'a str,
) -> impl Iterator<Item = &'a relais_sync::ReportLine> + 'a {
    report
        .lines
        .iter()
        .filter(move |l| l.stream == stream && l.outcome.code() == outcome)
}

async fn both_ways_every_night(postgres: bool) {
    let Some(w) = world(postgres).await else {
        return;
    };
    let people = w.under_contract().await;
    // Someone Semana already knows, under another case of their e-mail:
    // linked, not duplicated.
    let known = &people[3];
    let (status, _) = (
        w.http
            .post(format!("{}/v1/users", w.sim.url()))
            .header("X-API-Key", SEMANA_KEY)
            .json(&json!({
                "email": known.data.mail.as_str().to_uppercase(),
                "firstName": "Old", "lastName": "Name"
            }))
            .send()
            .await
            .unwrap()
            .status(),
        (),
    );
    assert_eq!(status, 201);
    let job = w.job("semana:1", json!({}));

    // A dry run writes nothing on either side.
    let dry = job.run(false, true).await.unwrap();
    assert_eq!(w.held().await.users.len(), 1);
    assert!(dry.count(&Outcome::Created) >= people.len() - 1);

    // The first night: everyone and their absences go out.
    let first = job.run(false, false).await.unwrap();
    assert!(failures(&first).is_empty(), "{:?}", failures(&first));
    // The dry run said what the night did, the user Semana held linked.
    for outcome in ["created", "linked"] {
        assert_eq!(
            lines_of(&dry, "users", outcome)
                .map(|l| &l.key)
                .collect::<Vec<_>>(),
            lines_of(&first, "users", outcome)
                .map(|l| &l.key)
                .collect::<Vec<_>>(),
            "users {outcome} by the dry run and the run"
        );
    }
    let held = w.held().await;
    assert_eq!(held.users.len(), people.len(), "one Semana user per person");
    let mails: BTreeSet<String> = held.users.iter().map(|u| u.email.to_lowercase()).collect();
    assert_eq!(mails.len(), held.users.len(), "no one twice");
    let linked = held.users.iter().find(|u| u.linked).unwrap();
    assert_eq!(linked.first_name, known.data.first_name.as_str());
    assert_eq!(lines_of(&first, "users", "linked").count(), 1);
    let line = lines_of(&first, "users", "linked").next().unwrap();
    assert_eq!(
        line.label,
        format!(
            "{} {}",
            known.data.first_name.as_str(),
            known.data.last_name.as_str()
        ),
        "a line names the person"
    );
    let someone = held
        .users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(people[0].data.mail.as_str()))
        .unwrap();
    assert!(someone.establishment.is_some() && someone.employee_number.is_some());
    let off = w.days_off_held(&held).await;
    assert!(
        !off.is_empty(),
        "the seeded base has absences in the window"
    );
    assert_eq!(off, w.expected_days_off(&held).await);
    assert_eq!(
        lines_of(&first, "days-off", "created").count(),
        held.bookings.len(),
        "the report counts what Semana holds"
    );
    assert!(
        held.bookings.iter().all(|b| b.external_id.is_some()),
        "every booking relais makes is its own"
    );
    // A second night with nothing new writes nothing.
    let quiet = job.run(false, false).await.unwrap();
    assert_eq!(quiet.counts.written(), 0, "{:?}", quiet.lines);
    assert!(!quiet.full);

    // Employees book telework in Semana: a whole day, and a day in two
    // halves (one period for the day), a day that already holds an
    // absence in the base (a conflict), and there is a period somebody
    // made by hand in the telework account.
    let (a, b) = (&people[0], &people[1]);
    let day_a = w.free_day(a.id.0, 7).await;
    let day_b = w.free_day(b.id.0, 7).await;
    let booked_a = w.book(a.data.mail.as_str(), day_a, "day").await;
    w.book(b.data.mail.as_str(), day_b, "morning").await;
    w.book(b.data.mail.as_str(), day_b, "afternoon").await;
    // Someone with an absence in the coming weeks.
    let future_off = off
        .iter()
        .find(|(e, d, _)| *d > (w.today + Days::new(2)).to_string() && *e != a.id.0 && *e != b.id.0)
        .cloned()
        .expect("a coming absence in the seeded base");
    let c = people.iter().find(|p| p.id.0 == future_off.0).unwrap();
    let conflict_day = NaiveDate::parse_from_str(&future_off.1, "%Y-%m-%d").unwrap();
    w.book(c.data.mail.as_str(), conflict_day, "day").await;
    let d = &people[2];
    let day_d = w.free_day(d.id.0, 8).await;
    let (status, body) = w
        .post(
            "/api/v3/leaveRequests",
            &w.admin,
            json!({ "ownerId": d.id.0, "leaveAccountId": w.telework, "startDate": day_d, "endDate": day_d, "isApproved": true }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let by_hand = body["data"]["id"].as_i64().unwrap();

    let second = job.run(false, false).await.unwrap();
    assert!(failures(&second).is_empty(), "{:?}", failures(&second));
    assert_eq!(
        w.made_from_semana().await,
        BTreeSet::from([
            (a.id.0, day_a.to_string(), "AM-PM".to_owned()),
            (b.id.0, day_b.to_string(), "AM-PM".to_owned()),
        ]),
        "one approved period per remote day, in the telework account"
    );
    let conflict: Vec<_> = lines_of(&second, "telework", "skipped").collect();
    assert_eq!(conflict.len(), 1, "{:?}", second.lines);
    let reason = conflict[0].outcome.reason_in("fr").unwrap();
    let english = conflict[0].outcome.reason_in("en").unwrap();
    assert!(
        english.starts_with("conflict: telework of ")
            && english.contains(c.data.last_name.as_str()),
        "{english}"
    );
    assert!(
        reason.starts_with("conflit : télétravail de ")
            && reason.contains(c.data.last_name.as_str()),
        "the conflict names the person and what the day holds: {reason}"
    );
    assert!(conflict[0].label.contains(c.data.first_name.as_str()));
    // The line names the person, then the day, in each reader's language;
    // the day in the conflict's words too.
    let (fr, en) = (conflict[0].label_in("fr"), conflict[0].label_in("en"));
    assert!(
        fr.contains(c.data.first_name.as_str()) && fr.contains(" · télétravail le "),
        "{fr}"
    );
    assert!(
        en.contains(c.data.first_name.as_str())
            && en.contains(" · telework on ")
            && !en.contains("télétravail"),
        "{en}"
    );
    let day_en = &en[en.find(" · telework on ").unwrap() + " · telework on ".len()..];
    assert!(
        english.contains(&format!(" on {day_en} not written")),
        "{english} / {day_en}"
    );
    assert!(!second.is_complete(), "a conflict is not a clean run");
    // Counts per stream: both directions in one report.
    let telework = second.streams["telework"];
    assert_eq!((telework.created, telework.skipped), (2, 1), "{telework:?}");
    assert_eq!(second.streams["days-off"].written(), 0);
    assert_eq!(
        second.streams.values().map(|c| c.total()).sum::<u64>(),
        second.counts.total()
    );
    assert_eq!(
        second.counts.created,
        lines_of(&second, "telework", "created").count() as u64
    );
    let all_periods = w.telework_periods().await;
    assert!(
        all_periods
            .iter()
            .any(|p| p.4 == by_hand && p.3 != "integration:Semana"),
        "the hand-made period is still there"
    );

    // The base cancels the absence in the way: its days leave Semana, and
    // the remote day it kept out comes in.
    let (status, body) = w
        .get(
            &format!(
                "/api/v3/leaveRequests?ownerId={}&startDate=until,{}&endDate=since,{}&status=0,2&fields=id,leaveAccountId",
                c.id.0, conflict_day, conflict_day
            ),
            &w.admin,
        )
        .await;
    assert_eq!(status, 200);
    let in_the_way: Vec<i64> = body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["leaveAccountId"] != json!(w.telework))
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert!(!in_the_way.is_empty());
    for id in &in_the_way {
        let (status, body) = w
            .post(
                &format!("/api/v3/leaveRequests/{id}/cancel"),
                &w.admin,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let third = job.run(false, false).await.unwrap();
    assert!(failures(&third).is_empty(), "{:?}", failures(&third));
    assert!(third.is_complete(), "{:?}", third.lines);
    assert!(w.made_from_semana().await.contains(&(
        c.id.0,
        conflict_day.to_string(),
        "AM-PM".to_owned()
    )));
    let held = w.held().await;
    assert_eq!(
        w.days_off_held(&held).await,
        w.expected_days_off(&held).await,
        "the cancelled absence left Semana"
    );
    assert!(lines_of(&third, "days-off", "deleted").count() > 0);

    // A remote day removed in Semana cancels its period; the hand-made one stays.
    w.unbook(booked_a).await;
    let fourth = job.run(false, false).await.unwrap();
    assert_eq!(lines_of(&fourth, "telework", "deleted").count(), 1);
    assert!(!w
        .made_from_semana()
        .await
        .iter()
        .any(|p| p.0 == a.id.0 && p.1 == day_a.to_string()));
    assert!(w.telework_periods().await.iter().any(|p| p.4 == by_hand));

    // The key cannot write outside the telework account, and the
    // connector never tried: every period it made is in that account.
    let paid = w
        .store
        .list_absence_accounts(w.base)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.category.as_str() != "telework")
        .unwrap();
    let (status, _) = w
        .post(
            "/api/v3/leaveRequests",
            &w.key,
            json!({ "ownerId": a.id.0, "leaveAccountId": paid.id.0, "startDate": day_a, "endDate": day_a }),
        )
        .await;
    assert_eq!(status, 403);
    let mut offset = 0;
    let mut made_by_semana = 0;
    loop {
        let (status, page) = w
            .get(
                &format!("/api/v3/leaveRequests?fields=id,leaveAccountId,source&status=0,2,3,4&paging={offset},1000"),
                &w.admin,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let items = page["data"]["items"].as_array().unwrap();
        for p in items
            .iter()
            .filter(|p| p["source"] == json!("integration:Semana"))
        {
            assert_eq!(p["leaveAccountId"], json!(w.telework), "{p}");
            made_by_semana += 1;
        }
        if items.len() < 1000 {
            break;
        }
        offset += 1000;
    }
    assert!(made_by_semana >= 3, "{made_by_semana}");

    // Someone leaves: at the next full reconciliation their Semana user is
    // deactivated, never deleted, and their bookings stay.
    let mut leaver = w.store.get_employee(w.base, b.id).await.unwrap();
    leaver.data.contract = relais_core::employee::Contract::new(
        leaver.data.contract.start.min(w.today - Days::new(30)),
        Some(w.today - Days::new(1)),
    )
    .unwrap();
    w.store
        .update_employee(
            &w.store.get_employee(w.base, b.id).await.unwrap(),
            &leaver.data,
            &Author::system("test"),
        )
        .await
        .unwrap();
    let bookings_before = w.held().await.bookings.len();
    let full = job.run(true, false).await.unwrap();
    let deactivated: Vec<_> = lines_of(&full, "users", "deactivated").collect();
    assert_eq!(deactivated.len(), 1, "{:?}", full.lines);
    assert!(deactivated[0].label.contains(b.data.last_name.as_str()));
    assert_eq!(full.counts.deactivated, 1);
    let held = w.held().await;
    let gone = held
        .users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(b.data.mail.as_str()))
        .unwrap();
    assert!(!gone.active, "deactivated");
    assert_eq!(held.users.len(), people.len(), "never deleted");
    assert!(held.bookings.len() >= bookings_before - 10);
    assert!(held
        .bookings
        .iter()
        .any(|x| x.collaborator_id == gone.id && x.kind == "remote"));
}

async fn a_killed_run_and_a_lost_ledger_leave_both_sides_in_step(postgres: bool) {
    let Some(w) = world(postgres).await else {
        return;
    };
    let people = w.under_contract().await;
    let job = w.job("semana:2", json!({ "concurrency": 1 }));
    // Users first, so that employees can book.
    let first = job.run(false, false).await.unwrap();
    assert!(failures(&first).is_empty(), "{:?}", failures(&first));
    let mut remote = BTreeSet::new();
    for p in people.iter().take(20) {
        let day = w.free_day(p.id.0, 2).await;
        w.book(p.data.mail.as_str(), day, "day").await;
        remote.insert((p.id.0, day.to_string(), "AM-PM".to_owned()));
    }

    // Semana answers slowly; the run dies part-way.
    w.faults(Faults {
        slow_ms: 15,
        ..Faults::default()
    })
    .await;
    let killed = {
        let job = job.clone();
        tokio::spawn(async move { job.run(false, false).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    killed.abort();
    let _ = killed.await;
    w.faults(Faults::default()).await;

    // Then the ledger is lost as well: whatever either side holds is
    // linked again, nothing is made twice.
    let again = job.run(false, false).await.unwrap();
    assert!(failures(&again).is_empty(), "{:?}", failures(&again));
    w.store
        .reset_ledger(&"semana:2".parse().unwrap())
        .await
        .unwrap();
    let relinked = job.run(false, false).await.unwrap();
    assert!(failures(&relinked).is_empty(), "{:?}", failures(&relinked));
    assert!(
        relinked.counts.linked >= people.len() as u64 + remote.len() as u64,
        "{:?}",
        relinked.counts
    );
    assert_eq!(relinked.counts.created, 0, "{:?}", relinked.lines);

    let held = w.held().await;
    assert_eq!(held.users.len(), people.len());
    let externals: Vec<&String> = held
        .bookings
        .iter()
        .filter_map(|b| b.external_id.as_ref())
        .collect();
    let distinct: BTreeSet<&&String> = externals.iter().collect();
    assert_eq!(externals.len(), distinct.len(), "no booking twice");
    assert_eq!(
        w.days_off_held(&held).await,
        w.expected_days_off(&held).await
    );
    assert_eq!(w.made_from_semana().await, remote, "no period twice");
    let settled = job.run(false, false).await.unwrap();
    assert_eq!(settled.counts.written(), 0, "{:?}", settled.lines);
}

async fn partner_faults_are_retried_or_reported(postgres: bool) {
    let Some(w) = world(postgres).await else {
        return;
    };
    let mut job = w.job("semana:3", json!({}));
    // One answer in four is a 503: retried (up to 12 times here, so that
    // no request of the run is unlucky 13 times), the run still completes.
    job.setup.policy.retries = 12;
    w.faults(Faults {
        error_rate: 0.25,
        ..Faults::default()
    })
    .await;
    let shaky = job.run(false, false).await.unwrap();
    assert!(failures(&shaky).is_empty(), "{:?}", failures(&shaky));
    assert_eq!(w.held().await.users.len(), w.under_contract().await.len());
    // A refused key stops the run with the reason.
    w.faults(Faults {
        refuse_credentials: true,
        ..Faults::default()
    })
    .await;
    let refused = job.run(true, false).await.unwrap_err();
    assert!(
        matches!(refused, SyncError::PartnerCredentials { status: 401 }),
        "{refused}"
    );
    let check = Semana;
    let setup = job.setup.clone();
    assert!(
        relais_sync::engine::Connector::check_connection(&check, &setup)
            .await
            .is_err()
    );
    // A partner asking to wait longer than a run waits pauses the run.
    w.faults(Faults {
        rate_limit: Some(0),
        rate_window_seconds: Some(3600),
        ..Faults::default()
    })
    .await;
    let limited = job.run(true, false).await.unwrap_err();
    assert!(
        matches!(limited, SyncError::RateLimited { .. }),
        "{limited}"
    );
    w.faults(Faults::default()).await;
    assert!(
        relais_sync::engine::Connector::check_connection(&check, &setup)
            .await
            .is_ok()
    );
}

both!(
    both_ways_every_night,
    a_killed_run_and_a_lost_ledger_leave_both_sides_in_step,
    partner_faults_are_retried_or_reported
);
