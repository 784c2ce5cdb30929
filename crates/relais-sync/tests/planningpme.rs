//! The PlanningPME connector against a real relais API and the PlanningPME
//! simulator, and the retry policy against injected 429s.

mod common;

use relais_api::AppState;
use relais_core::absence::LeaveStatus;
use relais_core::access::{KeyUsage, Role};
use relais_core::employee::{ContractStatus, Email};
use relais_core::org::Name;
use relais_sandbox::{happypal, planningpme};
use relais_store::{DatabaseUrl, ListQuery};
use relais_sync::connectors::planningpme::PlanningPme;
use relais_sync::engine::Job;
use relais_sync::http::{self, RetryPolicy};
use relais_sync::Outcome;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[tokio::test]
async fn planningpme_gets_the_department_its_people_and_their_coming_absences() {
    let dir = tempfile::tempdir().unwrap();
    let (store, base) =
        common::seeded_base(&DatabaseUrl::Sqlite(dir.path().join("p.db")), 150, 11).await;
    let today = relais_testkit::today();
    let api = relais_testkit::spawn_app(AppState::new(store.clone(), 100_000)).await;
    let role = Role::parse(&[
        "personnel-file:fields=departmentId+department",
        "absences",
        "organisation",
    ])
    .unwrap();
    let (_, secret) = relais_app::keys::create_key(
        &store,
        base.id,
        Name::parse("name", "PlanningPME").unwrap(),
        Email::parse("csm@planningpme.fr").unwrap(),
        KeyUsage::ThirdParty,
        role,
        relais_core::activity::Actor::CommandLine,
    )
    .await
    .unwrap();
    let sim = planningpme::start(
        "127.0.0.1:0".parse().unwrap(),
        "acme",
        "app-key",
        "assertion",
    )
    .await
    .unwrap();

    let departments = store.list_departments(base.id).await.unwrap();
    let prod = departments
        .iter()
        .find(|d| d.code.as_str() == "PROD")
        .unwrap();
    let subtree: BTreeSet<i64> = departments
        .iter()
        .filter(|d| d.id == prod.id || d.parent_id == Some(prod.id))
        .map(|d| d.id.0)
        .collect();
    let pme = |job: &str, assertion: &str| {
        let mut job = Job::new(
            std::sync::Arc::new(PlanningPme),
            relais_sync::source::LuccaSource::new(&api, &secret),
            &format!("{}/acme", sim.url()),
            &[("app_key", "app-key"), ("assertion", assertion)],
            json!({ "base_department": prod.id.0, "months": 6 }),
            &job.parse().unwrap(),
            &store,
        )
        .unwrap();
        job.setup.today = today;
        job.setup.policy = RetryPolicy {
            retries: 2,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(2),
        };
        job
    };
    let connector = pme("planningpme:1", "assertion");
    // With no request left in the budget, not even for the token, a run
    // sends nothing and reports every record it would have written as left out.
    let mut spent = pme("planningpme:905", "assertion");
    spent.setup.budget = http::Budget::new(10, 10);
    let left_out = spent.run(true, false).await.unwrap();
    assert_eq!(
        (left_out.counts.written(), left_out.partner_requests),
        (0, 0)
    );
    assert!(left_out.counts.skipped > 10, "{:?}", left_out.counts);
    assert_eq!(left_out.lines.len() as u64, left_out.counts.skipped);
    assert!(left_out.lines.iter().all(|l| l
        .outcome
        .reason_in("en")
        .is_some_and(|r| r.contains("budget"))
        && l.outcome
            .reason_in("fr")
            .is_some_and(|r| r.contains("le budget de"))));
    let first = connector.run(true, false).await.unwrap();
    assert!(
        !first.has_failures(),
        "{:?}",
        first
            .lines
            .iter()
            .find(|l| matches!(l.outcome, Outcome::Failed(_)))
    );
    let held: planningpme::Holdings = reqwest::get(format!("{}/_sim/state", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent_departments: BTreeSet<i64> = held
        .departments
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    assert_eq!(
        sent_departments, subtree,
        "the base department and its sub-departments only"
    );

    // Expected, straight from the store: active people of the subtree, their live absences in the window.
    let people: Vec<_> = store
        .query_employees(
            base.id,
            &ListQuery {
                limit: 1000,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| {
            e.data.contract.status_on(today) == ContractStatus::Active
                && e.data.department_id.is_some_and(|d| subtree.contains(&d.0))
        })
        .collect();
    let ids: BTreeSet<String> = people.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(held.resources.keys().cloned().collect::<BTreeSet<_>>(), ids);
    let until = today.checked_add_months(chrono::Months::new(6)).unwrap();
    let mut expected = BTreeSet::new();
    for e in &people {
        for p in store.list_leave_periods(base.id, e.id).await.unwrap() {
            if p.status.occupies_calendar()
                && p.span.end.date >= today
                && p.span.start.date <= until
            {
                expected.insert(p.id.to_string());
            }
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(
        held.unavailabilities
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        expected
    );
    let one = held.unavailabilities.values().next().unwrap();
    assert!(
        one.start.ends_with("T08:00:00") || one.start.ends_with("T13:00:00"),
        "{one:?}"
    );
    assert!(!one.label.is_empty());

    // Nothing changed: only the token is asked for.
    let quiet = connector.run(true, false).await.unwrap();
    assert_eq!(quiet.partner_requests, 1);
    assert!(
        quiet.lines.is_empty(),
        "records in step are counted, not listed"
    );
    assert_eq!(
        quiet.count(&Outcome::Unchanged) as u64,
        first.counts.written()
    );

    // A cancelled absence is removed from PlanningPME.
    let cancelled: i64 = expected.iter().next().unwrap().parse().unwrap();
    let period = store
        .get_leave_period(base.id, relais_core::ids::LeavePeriodId(cancelled))
        .await
        .unwrap();
    let next = if period.status == LeaveStatus::Pending {
        LeaveStatus::Denied
    } else {
        LeaveStatus::Cancelled
    };
    store
        .set_leave_status(base.id, period.id, next)
        .await
        .unwrap();
    let after = connector.run(true, false).await.unwrap();
    assert_eq!(after.count(&Outcome::Deleted), 1);
    let held: planningpme::Holdings = reqwest::get(format!("{}/_sim/state", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!held.unavailabilities.contains_key(&cancelled.to_string()));
    assert_eq!(held.unavailabilities.len(), expected.len() - 1);

    // Incremental runs read only what changed since the checkpoint.
    let quiet = incremental(&connector, &store, today).await;
    assert!(!quiet.full && quiet.lines.is_empty(), "{:?}", quiet.lines);
    assert_eq!(quiet.partner_requests, 1, "only the token");
    let live: Vec<i64> = held
        .unavailabilities
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    let period = store
        .get_leave_period(base.id, relais_core::ids::LeavePeriodId(live[0]))
        .await
        .unwrap();
    let next = if period.status == LeaveStatus::Pending {
        LeaveStatus::Denied
    } else {
        LeaveStatus::Cancelled
    };
    store
        .set_leave_status(base.id, period.id, next)
        .await
        .unwrap();
    let inc = incremental(&connector, &store, today).await;
    assert!(!inc.full);
    assert_eq!(inc.count(&Outcome::Deleted), 1, "{:?}", inc.lines);
    assert_eq!(inc.lines[0].key, format!("abs:{}", live[0]));
    assert_eq!(inc.partner_requests, 2);

    // An employee moved inside the synced departments: one resource updated.
    let author = relais_core::audit::Author {
        name: "test".into(),
        source: "api".into(),
    };
    let sent: Vec<i64> = held.resources.keys().map(|k| k.parse().unwrap()).collect();
    let other_inside = *subtree.iter().find(|d| **d != prod.id.0).unwrap();
    let mover = store
        .get_employee(base.id, relais_core::ids::EmployeeId(sent[0]))
        .await
        .unwrap();
    let mut data = mover.data.clone();
    data.department_id = Some(relais_core::ids::DepartmentId(
        if mover.data.department_id.map(|d| d.0) == Some(other_inside) {
            prod.id.0
        } else {
            other_inside
        },
    ));
    store
        .update_employee(
            &store.get_employee(base.id, mover.id).await.unwrap(),
            &data,
            &author,
        )
        .await
        .unwrap();
    let inc = incremental(&connector, &store, today).await;
    assert!(!inc.full);
    assert_eq!(inc.count(&Outcome::Updated), 1, "{:?}", inc.lines);
    assert_eq!(inc.lines[0].key, format!("res:{}", mover.id.0));

    // An employee leaving the synced departments needs a full run: it happens at once.
    let outside = departments
        .iter()
        .find(|d| !subtree.contains(&d.id.0))
        .unwrap();
    let leaver = store
        .get_employee(base.id, relais_core::ids::EmployeeId(sent[1]))
        .await
        .unwrap();
    let mut data = leaver.data.clone();
    data.department_id = Some(outside.id);
    store
        .update_employee(
            &store.get_employee(base.id, leaver.id).await.unwrap(),
            &data,
            &author,
        )
        .await
        .unwrap();
    let inc = incremental(&connector, &store, today).await;
    assert!(inc.full, "fell back to a full reconciliation");
    assert!(inc
        .lines
        .iter()
        .any(|l| l.key == format!("res:{}", leaver.id.0) && l.outcome == Outcome::Deleted));
    let held: planningpme::Holdings = reqwest::get(format!("{}/_sim/state", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!held.resources.contains_key(&leaver.id.0.to_string()));
    assert!(
        held.unavailabilities
            .values()
            .all(|u| u.resource != leaver.id.0.to_string()),
        "its absences left too"
    );

    // Refused credentials stop the run.
    let wrong = pme("planningpme:1", "wrong");
    assert!(matches!(
        wrong.run(true, false).await.unwrap_err(),
        relais_sync::SyncError::PartnerCredentials { status: 401 }
    ));
}

async fn incremental(
    c: &Job,
    _store: &relais_store::SharedStore,
    _today: chrono::NaiveDate,
) -> relais_sync::Report {
    let mut report = relais_sync::Report::default();
    c.run_into(&mut report).await.unwrap();
    assert!(!report.has_failures(), "{:?}", report.lines);
    report
}

#[tokio::test]
async fn retries_wait_as_long_as_retry_after_says() {
    let sim = happypal::start("127.0.0.1:0".parse().unwrap(), "t")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    client
        .put(format!("{}/_sim/faults", sim.url()))
        .json(&json!({ "rate_limit": 1, "rate_window_seconds": 1 }))
        .send()
        .await
        .unwrap();
    let policy = RetryPolicy {
        retries: 3,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    };
    let url = format!("{}/api/v1/employees", sim.url());
    let call = || async {
        let resp = client
            .get(&url)
            .bearer_auth("t")
            .send()
            .await
            .map_err(|e| http::transport(e, relais_sync::Side::Partner, Duration::ZERO))?;
        if !resp.status().is_success() {
            return Err(http::classify(resp, relais_sync::Side::Partner, &policy).await);
        }
        Ok(resp.status().as_u16())
    };
    assert_eq!(http::with_retries(&policy, call).await.unwrap(), 200);
    let started = Instant::now();
    assert_eq!(
        http::with_retries(&policy, call).await.unwrap(),
        200,
        "the 429 is waited out, then retried"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let impatient = RetryPolicy {
        max_retry_after: Duration::from_millis(100),
        ..policy
    };
    client
        .put(format!("{}/_sim/faults", sim.url()))
        .json(&json!({ "rate_limit": 1, "rate_window_seconds": 60 }))
        .send()
        .await
        .unwrap();
    let call2 = || async {
        let resp = client
            .get(&url)
            .bearer_auth("t")
            .send()
            .await
            .map_err(|e| http::transport(e, relais_sync::Side::Partner, Duration::ZERO))?;
        if !resp.status().is_success() {
            return Err(http::classify(resp, relais_sync::Side::Partner, &impatient).await);
        }
        Ok(())
    };
    assert!(http::with_retries(&impatient, call2).await.is_ok());
    let err = http::with_retries(&impatient, call2).await.unwrap_err();
    assert!(
        matches!(err, relais_sync::error::SyncError::RateLimited { wait, .. } if wait.as_secs() > 1),
        "{err}"
    );
    assert!(err.to_string().contains("asked to wait"), "{err}");
}

#[tokio::test]
async fn a_timeout_is_reported_as_one_with_the_time_waited() {
    let sim = happypal::start("127.0.0.1:0".parse().unwrap(), "t")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    client
        .put(format!("{}/_sim/faults", sim.url()))
        .json(&json!({ "slow_ms": 1500 }))
        .send()
        .await
        .unwrap();
    let policy = RetryPolicy {
        retries: 1,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    };
    let impatient = http::client(Duration::from_millis(300));
    let url = format!("{}/api/v1/employees", sim.url());
    let err = http::call(&policy, relais_sync::Side::Partner, || {
        impatient.get(&url).bearer_auth("t")
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("timed out: no answer after 0.3 s"), "{err}");
}
