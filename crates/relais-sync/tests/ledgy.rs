//! Ledgy via Merge end to end, over HTTP: relais's API serving a seeded
//! base (SQLite, and PostgreSQL when configured) and the Ledgy simulator.
//! The customer's mapping is checked against the base and the key, the
//! preview equals what the forced sync then writes, a changed mapping sends
//! everyone again, leavers keep their stakeholder, duplicates are skipped,
//! and a killed run or a lost ledger leave Ledgy exactly in step.

#[macro_use]
mod common;

use relais_api::AppState;
use relais_core::access::{KeyUsage, Role};
use relais_core::audit::Author;
use relais_core::employee::{ContractStatus, Email, EmployeeNumber};
use relais_core::ids::{BaseId, EmployeeId};
use relais_core::mapping::{FieldMapping, MappedField, PreviewQuery, PreviewStatus, SourcePath};
use relais_core::org::Name;
use relais_sandbox::ledgy::{self, Holdings};
use relais_sandbox::sim::Faults;
use relais_store::SharedStore;
use relais_sync::connectors::ledgy::{Ledgy, MAPPING_FIELD, TARGETS};
use relais_sync::engine::{Connector, Job};
use relais_sync::http::RetryPolicy;
use relais_sync::{Outcome, Report, SyncError};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const TOKEN: &str = "ledgy-token";

struct World {
    /// The test's database, dropped last.
    _db: relais_testkit::TestDb,
    store: SharedStore,
    base: BaseId,
    api: String,
    /// Ledgy's key: what the app's manifest grants.
    key: String,
    /// The same, with the "Actionnariat salarié" section added.
    equity_key: String,
    sim: relais_sandbox::sim::Running,
    http: reqwest::Client,
}

async fn world(postgres: bool) -> Option<World> {
    let db = common::database(postgres, "Ledgy").await?;
    let url = db.url().clone();
    let (store, base) = common::seeded_base(&url, 60, 21).await;
    let api = relais_testkit::spawn_app(AppState::new(store.clone(), 1_000_000)).await;
    let key = |grants: &[&str]| {
        let store = store.clone();
        let role = Role::parse(grants).unwrap();
        async move {
            relais_app::keys::create_key(
                &store,
                base.id,
                Name::parse("name", "Ledgy").unwrap(),
                Email::parse("hr@ledgy.com").unwrap(),
                KeyUsage::ThirdParty,
                role,
                relais_core::activity::Actor::CommandLine,
            )
            .await
            .unwrap()
            .1
        }
    };
    let manifest = [
        "personnel-file:sections=standard",
        "future-employees",
        "former-employees",
        "organisation",
    ];
    let ledgy_key = key(&manifest).await;
    let mut equity = manifest.to_vec();
    equity[0] = "personnel-file:sections=standard+actionnariat";
    let equity_key = key(&equity).await;
    let sim = ledgy::start("127.0.0.1:0".parse().unwrap(), TOKEN)
        .await
        .unwrap();
    Some(World {
        _db: db,
        store,
        base: base.id,
        api,
        key: ledgy_key,
        equity_key,
        sim,
        http: reqwest::Client::new(),
    })
}

fn mapping_with(extra: &[(&str, &str, &str)]) -> FieldMapping {
    let mut m = FieldMapping::defaults(TARGETS);
    for (target, label, source) in extra {
        m.fields.push(MappedField {
            target: (*target).into(),
            label: Some((*label).into()),
            source: SourcePath::parse(source).unwrap(),
        });
    }
    m
}

impl World {
    fn job(&self, key: &str, mapping: &FieldMapping, options: Value) -> Job {
        let mut options = options;
        options["mapping"] = serde_json::to_value(mapping).unwrap();
        let mut job = Job::new(
            std::sync::Arc::new(Ledgy),
            relais_sync::source::LuccaSource::new(&self.api, key),
            &self.sim.url(),
            &[("api_token", TOKEN)],
            options,
            &"ledgy:5".parse().unwrap(),
            &self.store,
        )
        .unwrap();
        job.setup.today = relais_testkit::today();
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

    /// Each stakeholder's fields, by identifier.
    async fn stakeholders(&self) -> BTreeMap<String, Map<String, Value>> {
        self.held()
            .await
            .stakeholders
            .into_iter()
            .map(|s| (s.identifier, s.fields))
            .collect()
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

    /// Changes an employee in the base as an HR administrator would.
    async fn edit(
        &self,
        id: EmployeeId,
        change: impl FnOnce(&mut relais_core::employee::EmployeeData),
    ) {
        let mut e = self.store.get_employee(self.base, id).await.unwrap();
        change(&mut e.data);
        self.store
            .update_employee(
                &self.store.get_employee(self.base, id).await.unwrap(),
                &e.data,
                &Author::system("test"),
            )
            .await
            .unwrap();
    }

    async fn employees(&self) -> Vec<relais_core::employee::Employee> {
        self.store
            .list_employees(self.base, None, 10_000)
            .await
            .unwrap()
    }

    /// The whole preview, every page.
    async fn preview(
        &self,
        job: &Job,
    ) -> (BTreeMap<String, (PreviewStatus, Map<String, Value>)>, usize) {
        let mut out = BTreeMap::new();
        let mut skipped = 0;
        for page in 1.. {
            let p = Ledgy
                .preview(
                    &job.setup,
                    &PreviewQuery {
                        search: None,
                        page,
                        per_page: 25,
                    },
                )
                .await
                .unwrap();
            skipped = p.skipped.len();
            for r in p.rows {
                let sent: Map<String, Value> =
                    r.fields.into_iter().map(|f| (f.target, f.sent)).collect();
                out.insert(r.identifier, (r.status, sent));
            }
            if !p.more {
                break;
            }
        }
        (out, skipped)
    }
}

fn count(report: &Report, f: impl Fn(&Outcome) -> bool) -> usize {
    report.lines.iter().filter(|l| f(&l.outcome)).count()
}

fn failures(report: &Report) -> Vec<String> {
    report
        .lines
        .iter()
        .filter(|l| matches!(l.outcome, Outcome::Failed(_)))
        .map(|l| format!("{}: {:?}", l.key, l.outcome))
        .collect()
}

/// The fields written by a run's created / updated / overwritten lines, by
/// identifier (the employee number, which the lines' keys lead to).
fn written(
    report: &Report,
    numbers: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeMap<String, Value>> {
    report
        .lines
        .iter()
        .filter(|l| {
            matches!(
                l.outcome,
                Outcome::Created | Outcome::Updated | Outcome::Overwritten
            )
        })
        .map(|l| {
            let after: BTreeMap<String, Value> = l
                .fields
                .iter()
                .filter(|c| c.field != MAPPING_FIELD)
                .map(|c| (c.field.clone(), c.after.clone()))
                .collect();
            (numbers[&l.key].clone(), after)
        })
        .collect()
}

async fn mapping_preview_and_forced_sync(postgres: bool) {
    let Some(w) = world(postgres).await else {
        return;
    };
    let shares = (
        "sharesPlan",
        "Plan d'actionnariat",
        "raw:extendedData.e_sharesPlan",
    );
    let with_shares = mapping_with(&[shares]);

    // The mapping is checked against the base and the key.
    let plain = w.job(&w.key, &with_shares, json!({}));
    let sources = Ledgy.mapping_sources(&plain.setup, "fr").await.unwrap();
    let plan = sources
        .iter()
        .find(|s| s.path.code() == "raw:extendedData.e_sharesPlan")
        .expect("custom fields are offered");
    assert!(!plan.readable);
    assert!(plan.label.contains("Plan d'actionnariat"), "{plan:?}");
    let problems = Ledgy
        .check_mapping(&plain.setup, &with_shares)
        .await
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].target, "sharesPlan");
    assert!(
        problems[0].message.contains("Actionnariat salarié")
            && problems[0].message.contains("actionnariat"),
        "the grant to add is named: {}",
        problems[0].message
    );
    let typo = mapping_with(&[("plan", "Plan", "raw:extendedData.e_sharesPlann")]);
    let problems = Ledgy.check_mapping(&plain.setup, &typo).await.unwrap();
    assert!(
        problems[0]
            .message
            .contains("no field 'raw:extendedData.e_sharesPlann'"),
        "{problems:?}"
    );
    let mut by_company = FieldMapping::defaults(TARGETS);
    by_company.fields[0].source = SourcePath::parse("model:company").unwrap();
    let problems = Ledgy
        .check_mapping(&plain.setup, &by_company)
        .await
        .unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("must name one person")),
        "{problems:?}"
    );
    let job = w.job(&w.equity_key, &with_shares, json!({}));
    assert_eq!(
        Ledgy.check_mapping(&job.setup, &with_shares).await.unwrap(),
        vec![]
    );

    let people = w.employees().await;

    // The preview: everyone new.
    let (preview, skipped) = w.preview(&job).await;
    assert_eq!(skipped, 0);
    assert_eq!(preview.len(), people.len());
    assert!(preview.values().all(|(s, _)| *s == PreviewStatus::New));
    assert!(
        preview.values().any(|(_, f)| f["sharesPlan"].is_string()),
        "some hold a plan"
    );

    // Nothing is written by a dry run; the forced sync writes exactly the preview.
    let dry = job.run(true, true).await.unwrap();
    assert!(w.stakeholders().await.is_empty());
    assert_eq!(count(&dry, |o| *o == Outcome::Created), preview.len());
    let forced = job.run(true, false).await.unwrap();
    assert!(failures(&forced).is_empty(), "{:?}", failures(&forced));
    let held = w.stakeholders().await;
    assert_eq!(held.len(), preview.len());
    for (identifier, (_, sent)) in &preview {
        assert_eq!(
            &held[identifier], sent,
            "{identifier}: Ledgy holds what the preview showed"
        );
    }
    let numbers: BTreeMap<String, String> = people
        .iter()
        .map(|e| {
            (
                e.id.0.to_string(),
                e.data.employee_number.as_str().to_owned(),
            )
        })
        .collect();
    let lines = written(&forced, &numbers);
    assert_eq!(lines.len(), preview.len());
    for (identifier, fields) in &lines {
        let (_, sent) = &preview[identifier];
        // A create reports the fields it set (a null sets nothing).
        let sent: BTreeMap<String, Value> = sent
            .clone()
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect();
        assert_eq!(fields, &sent, "{identifier}: the report says what was sent");
    }
    assert_eq!(forced.counts.created as usize, preview.len());
    // A hundred stakeholders a request: one write and one read of what Ledgy holds.
    assert!(
        forced.partner_requests <= 3,
        "{} requests",
        forced.partner_requests
    );
    // Every line is named.
    assert!(forced.lines.iter().all(|l| !l.label.is_empty()));

    // Leavers keep their stakeholder, with a termination date.
    let today = relais_testkit::today();
    let former: Vec<_> = people
        .iter()
        .filter(|e| e.data.contract.status_on(today) == ContractStatus::Former)
        .collect();
    for f in &former {
        if let Some(s) = held.get(f.data.employee_number.as_str()) {
            assert_eq!(s["status"], "INACTIVE");
            assert_eq!(
                s["terminationDate"],
                json!(f.data.contract.end.unwrap().to_string())
            );
        }
    }

    // A quiet run writes nothing.
    let quiet = job.run(false, false).await.unwrap();
    assert_eq!(
        count(&quiet, |o| matches!(
            o,
            Outcome::Created | Outcome::Updated | Outcome::Overwritten
        )),
        0,
        "{:?}",
        quiet.counts
    );

    // Someone leaves, someone is renamed, someone's stakeholder is edited in Ledgy.
    let leaver = people
        .iter()
        .find(|e| e.data.contract.status_on(today) == ContractStatus::Active)
        .unwrap();
    let yesterday = today.pred_opt().unwrap();
    w.edit(leaver.id, |d| {
        d.contract = relais_core::employee::Contract::new(
            d.contract.start.min(yesterday - chrono::Days::new(1)),
            Some(yesterday),
        )
        .unwrap()
    })
    .await;
    let renamed = &people[10];
    w.edit(renamed.id, |d| {
        d.last_name = Name::parse("lastName", "Nouveau-Nom").unwrap()
    })
    .await;
    let edited = people[12].data.employee_number.as_str().to_owned();
    let status = w
        .http
        .put(format!("{}/api/v1/stakeholders/{edited}", w.sim.url()))
        .bearer_auth(TOKEN)
        .json(&json!({ "fields": { "identifier": edited, "firstName": "Edited in Ledgy" } }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let (preview, _) = w.preview(&job).await;
    let changed: BTreeSet<&str> = preview
        .iter()
        .filter(|(_, (s, _))| *s != PreviewStatus::Unchanged)
        .map(|(i, _)| i.as_str())
        .collect();
    let expected: BTreeSet<&str> = [
        leaver.data.employee_number.as_str(),
        renamed.data.employee_number.as_str(),
        edited.as_str(),
    ]
    .into();
    assert_eq!(changed, expected);
    let daily = job.run(false, false).await.unwrap();
    assert!(failures(&daily).is_empty(), "{:?}", failures(&daily));
    let lines = written(&daily, &numbers);
    assert_eq!(
        lines.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected
    );
    let held = w.stakeholders().await;
    for identifier in &expected {
        let sent: Map<String, Value> = preview[*identifier].1.clone();
        assert_eq!(&held[*identifier], &sent, "{identifier}");
    }
    let gone = &held[leaver.data.employee_number.as_str()];
    assert_eq!(gone["status"], "INACTIVE");
    assert_eq!(gone["terminationDate"], json!(yesterday.to_string()));
    assert_eq!(
        held[renamed.data.employee_number.as_str()]["lastName"],
        "Nouveau-Nom"
    );
    assert_eq!(count(&daily, |o| *o == Outcome::Overwritten), 1);
    assert_eq!(daily.counts.deleted + daily.counts.deactivated, 0);

    // A changed mapping sends every stakeholder again.
    let mut groups = with_shares.clone();
    groups
        .fields
        .iter_mut()
        .find(|f| f.target == "department")
        .unwrap()
        .source = SourcePath::parse("model:groups").unwrap();
    let regrouped = w.job(&w.equity_key, &groups, json!({}));
    let again = regrouped.run(false, false).await.unwrap();
    assert!(failures(&again).is_empty(), "{:?}", failures(&again));
    assert_eq!(
        again.counts.updated as usize,
        held.len(),
        "{:?}",
        again.counts
    );
    let held = w.stakeholders().await;
    assert!(held
        .values()
        .any(|s| s["department"].as_str().is_some_and(|d| d.contains(" › "))));

    // Two people swap employee numbers: each stakeholder follows its
    // identifier, neither is unlinked.
    let (x, y) = (&people[20], &people[21]);
    let (nx, ny) = (
        x.data.employee_number.clone(),
        y.data.employee_number.clone(),
    );
    let spare = EmployeeNumber::parse("SWAP-TEMP").unwrap();
    w.edit(x.id, |d| d.employee_number = spare.clone()).await;
    w.edit(y.id, |d| d.employee_number = nx.clone()).await;
    w.edit(x.id, |d| d.employee_number = ny.clone()).await;
    let swapped = regrouped.run(false, false).await.unwrap();
    assert!(failures(&swapped).is_empty(), "{:?}", failures(&swapped));
    let held = w.stakeholders().await;
    assert_eq!(
        held[nx.as_str()]["lastName"],
        json!(y.data.last_name.as_str())
    );
    assert_eq!(
        held[ny.as_str()]["lastName"],
        json!(x.data.last_name.as_str())
    );

    // Nobody was ever deleted from Ledgy, nor unlinked.
    assert!(w.held().await.stakeholders.iter().all(|s| s.hr_linked));
}

async fn shared_or_missing_identifiers_are_skipped_with_the_reason(postgres: bool) {
    let Some(w) = world(postgres).await else {
        return;
    };
    // Stakeholders known by personal e-mail: two people share one, one has none.
    let mut mapping = FieldMapping::defaults(TARGETS);
    mapping.fields[0].source = SourcePath::parse("model:personal_email").unwrap();
    let job = w.job(&w.key, &mapping, json!({}));
    let people = w.employees().await;
    let shared = Email::parse("famille.martin@example.org").unwrap();
    for e in &people[3..5] {
        w.edit(e.id, |d| d.personal.personal_email = Some(shared.clone()))
            .await;
    }
    w.edit(people[6].id, |d| d.personal.personal_email = None)
        .await;
    let without: usize = w
        .employees()
        .await
        .iter()
        .filter(|e| e.data.personal.personal_email.is_none())
        .count();
    assert!(Ledgy
        .check_mapping(&job.setup, &mapping)
        .await
        .unwrap()
        .is_empty());

    let page = Ledgy
        .preview(
            &job.setup,
            &PreviewQuery {
                search: None,
                page: 1,
                per_page: 200,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.skipped.len(), 2 + without, "{:?}", page.skipped);
    let named: Vec<&str> = page.skipped.iter().map(|s| s.reason.as_str()).collect();
    let a = format!("{} {}", people[3].data.first_name, people[3].data.last_name);
    let b = format!("{} {}", people[4].data.first_name, people[4].data.last_name);
    assert!(
        named.iter().any(|r| r.starts_with(&a)
            && r.contains("famille.martin@example.org")
            && r.contains(&b)),
        "{named:?}"
    );
    assert!(
        named
            .iter()
            .any(|r| r.contains("no stakeholder identifier")),
        "{named:?}"
    );
    assert_eq!(page.rows.len(), people.len() - page.skipped.len());
    // Searching finds one employee.
    let wanted = page.rows[5].name.clone();
    let last = wanted.rsplit(' ').next().unwrap().to_uppercase();
    let one = Ledgy
        .preview(
            &job.setup,
            &PreviewQuery {
                search: Some(last),
                page: 1,
                per_page: 50,
            },
        )
        .await
        .unwrap();
    assert!(one.rows.iter().any(|r| r.name == wanted), "{:?}", one.rows);
    assert!(one.rows.len() < people.len());

    let run = job.run(true, false).await.unwrap();
    assert!(failures(&run).is_empty(), "{:?}", failures(&run));
    assert_eq!(run.counts.skipped as usize, 2 + without);
    assert_eq!(run.counts.created as usize, page.rows.len());
    let held = w.stakeholders().await;
    assert_eq!(held.len(), page.rows.len());
    assert!(!held.contains_key(shared.as_str()));
}

async fn a_killed_run_and_a_lost_ledger_leave_ledgy_in_step(postgres: bool) {
    let Some(w) = world(postgres).await else {
        return;
    };
    let mapping = FieldMapping::defaults(TARGETS);
    // One stakeholder a request, one request at a time: the run is followed record by record.
    let job = w.job(
        &w.key,
        &mapping,
        json!({ "concurrency": 1, "batch_size": 1 }),
    );
    let (expected, _) = w.preview(&job).await;

    // Ledgy answers slowly; the run dies part-way.
    w.faults(Faults {
        slow_ms: 20,
        ..Faults::default()
    })
    .await;
    let killed = {
        let job = job.clone();
        tokio::spawn(async move { job.run(true, false).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    killed.abort();
    let _ = killed.await;
    w.faults(Faults::default()).await;
    let part = w.stakeholders().await.len();
    assert!(part < expected.len(), "the run died part-way ({part})");

    let again = job.run(false, false).await.unwrap();
    assert!(failures(&again).is_empty(), "{:?}", failures(&again));
    // Then the ledger is lost: every stakeholder is linked, none made twice.
    w.store
        .reset_ledger(&"ledgy:5".parse().unwrap())
        .await
        .unwrap();
    let relinked = job.run(false, false).await.unwrap();
    assert_eq!(relinked.counts.created, 0, "{:?}", relinked.counts);
    assert_eq!(relinked.counts.linked as usize, expected.len());
    let held = w.stakeholders().await;
    assert_eq!(held.len(), expected.len());
    for (identifier, (_, sent)) in &expected {
        assert_eq!(&held[identifier], sent);
    }
    let quiet = job.run(false, false).await.unwrap();
    assert_eq!(
        quiet.counts.created + quiet.counts.updated + quiet.counts.overwritten,
        0
    );

    // A quarter of the answers fail: retried to a complete run.
    w.faults(Faults {
        error_rate: 0.25,
        ..Faults::default()
    })
    .await;
    let mut renamed = 0;
    for e in w.employees().await.iter().take(15) {
        w.edit(e.id, |d| {
            d.employee_number =
                EmployeeNumber::parse(&format!("{}-B", d.employee_number.as_str())).unwrap()
        })
        .await;
        renamed += 1;
    }
    let flaky = job.run(false, false).await.unwrap();
    assert!(failures(&flaky).is_empty(), "{:?}", failures(&flaky));
    assert!(flaky.is_complete());
    w.faults(Faults::default()).await;
    let held = w.held().await;
    // A changed identifier: a new stakeholder, the old one kept but unlinked.
    assert_eq!(
        held.stakeholders.iter().filter(|s| !s.hr_linked).count(),
        renamed
    );
    assert_eq!(
        held.stakeholders
            .iter()
            .filter(|s| s.identifier.ends_with("-B"))
            .count(),
        renamed
    );

    // A refused token stops the run with the reason.
    let wrong = Job::new(
        std::sync::Arc::new(Ledgy),
        relais_sync::source::LuccaSource::new(&w.api, &w.key),
        &w.sim.url(),
        &[("api_token", "wrong")],
        job.setup.options.clone(),
        &"ledgy:5".parse().unwrap(),
        &w.store,
    )
    .unwrap();
    let e = wrong.run(false, false).await.unwrap_err();
    assert!(
        matches!(e, SyncError::PartnerCredentials { status: 401, .. }),
        "{e}"
    );
    assert!(Ledgy.check_connection(&wrong.setup).await.is_err());
    assert!(Ledgy.check_connection(&job.setup).await.is_ok());
}

both!(
    mapping_preview_and_forced_sync,
    shared_or_missing_identifiers_are_skipped_with_the_reason,
    a_killed_run_and_a_lost_ledger_leave_ledgy_in_step
);
