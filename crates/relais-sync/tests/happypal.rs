//! The HappyPal connector against a real relais API and the HappyPal
//! simulator, over HTTP.

mod common;

use relais_api::AppState;
use relais_core::access::{KeyUsage, Role};
use relais_core::audit::Author;
use relais_core::employee::{ContractStatus, Email};
use relais_core::ids::BaseId;
use relais_core::org::Name;
use relais_sandbox::happypal;
use relais_store::{DatabaseUrl, SharedStore};
use relais_sync::connectors::happypal::HappyPal;
use relais_sync::engine::Job;
use relais_sync::http::RetryPolicy;
use relais_sync::{Outcome, SyncError};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

struct Setup {
    store: SharedStore,
    base: BaseId,
    connector: Job,
    sim: relais_sandbox::sim::Running,
    http: reqwest::Client,
    key_id: relais_core::ids::KeyId,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (store, base) =
        common::seeded_base(&DatabaseUrl::Sqlite(dir.path().join("s.db")), 60, 3).await;
    let api = relais_testkit::spawn_app(AppState::new(store.clone(), 100_000)).await;
    let role = Role::parse(&[
        "personnel-file:fields=firstName+lastName+mail+birthDate+dtContractStart+dtContractEnd",
    ])
    .unwrap();
    let (key, secret) = relais_app::keys::create_key(
        &store,
        base.id,
        Name::parse("name", "HappyPal").unwrap(),
        Email::parse("tech@happypal.fr").unwrap(),
        KeyUsage::ThirdParty,
        role,
        relais_core::activity::Actor::CommandLine,
    )
    .await
    .unwrap();
    let sim = happypal::start("127.0.0.1:0".parse().unwrap(), "hp-token")
        .await
        .unwrap();
    let policy = RetryPolicy {
        retries: 2,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    };
    let mut connector = Job::new(
        std::sync::Arc::new(HappyPal),
        relais_sync::source::LuccaSource::new(&api, &secret),
        &sim.url(),
        &[("token", "hp-token")],
        json!({}),
        &"happypal:1".parse().unwrap(),
        &store,
    )
    .unwrap();
    connector.setup.policy = policy;
    Setup {
        store,
        base: base.id,
        connector,
        sim,
        http: reqwest::Client::new(),
        key_id: key.id,
        _dir: dir,
    }
}

impl Setup {
    async fn profiles(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_sim/profiles", self.sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn faults(&self, f: Value) {
        self.http
            .put(format!("{}/_sim/faults", self.sim.url()))
            .json(&f)
            .send()
            .await
            .unwrap();
    }

    /// The employees the key sees, as (id, e-mail).
    async fn visible(&self) -> BTreeSet<(String, String)> {
        let today = relais_testkit::today();
        let mut out = BTreeSet::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_employees(self.base, after, 500)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            out.extend(
                page.into_iter()
                    .filter(|e| e.data.contract.status_on(today) == ContractStatus::Active)
                    .map(|e| (e.id.to_string(), e.data.mail.as_str().to_owned())),
            );
        }
        out
    }

    /// What HappyPal holds, as (external id, e-mail); panics on duplicates.
    async fn held(&self) -> BTreeSet<(String, String)> {
        let profiles = self.profiles().await;
        let set: BTreeSet<(String, String)> = profiles
            .iter()
            .map(|p| {
                (
                    p["external_id"].as_str().unwrap_or("-").to_owned(),
                    p["email"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(set.len(), profiles.len(), "no duplicate profiles");
        set
    }
}

#[tokio::test]
async fn happypal_syncs_links_updates_overwrites_and_deletes() {
    let s = setup().await;
    let shown = format!("{:?}", s.connector);
    assert!(
        shown.contains("partner_url") && !shown.contains("hp-token"),
        "{shown}"
    );
    let visible = s.visible().await;
    // A profile created in HappyPal before the integration, with another letter case.
    let (first_id, first_mail) = visible.iter().next().unwrap().clone();
    s.http.post(format!("{}/_sim/profiles", s.sim.url())).json(&json!({ "first_name": "X", "last_name": "Y", "email": first_mail.to_uppercase(), "birth_date": null, "contract_start": null, "contract_end": null })).send().await.unwrap();

    // A dry run plans everything, writes nothing, and predicts exactly
    // what the run then does: the existing profile is linked, not created.
    let dry = s.connector.run(true, true).await.unwrap();
    assert_eq!(
        dry.count(&Outcome::Linked),
        1,
        "the dry run sees the profile to link"
    );
    assert_eq!(dry.count(&Outcome::Created), visible.len() - 1);
    assert_eq!(s.profiles().await.len(), 1);
    assert!(s
        .store
        .checkpoint(&"happypal:1/employees".parse().unwrap(), "cursor")
        .await
        .unwrap()
        .is_none());

    // First full sync.
    let first = s.connector.run(true, false).await.unwrap();
    assert_eq!(
        first.count(&Outcome::Linked),
        1,
        "the existing profile is linked, not duplicated"
    );
    assert_eq!(first.count(&Outcome::Created), visible.len() - 1);
    assert!(first.checkpoint_moved && !first.has_failures());
    let outcomes = |r: &relais_sync::report::Report| {
        let mut lines: Vec<(String, &'static str)> = r
            .lines
            .iter()
            .map(|l| (l.key.clone(), l.outcome.code()))
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        outcomes(&dry),
        outcomes(&first),
        "the dry run predicted the run line by line"
    );
    assert_eq!(s.held().await.len(), visible.len());
    let linked = s
        .profiles()
        .await
        .into_iter()
        .find(|p| p["external_id"] == json!(first_id))
        .unwrap();
    assert_eq!(
        (linked["linked"].clone(), linked["first_name"].clone()),
        (
            json!(true),
            s.store
                .get_employee(
                    s.base,
                    relais_core::ids::EmployeeId(first_id.parse().unwrap())
                )
                .await
                .map(|e| json!(e.data.first_name.as_str()))
                .unwrap()
        )
    );

    // Incremental: only what changed is sent.
    let target: i64 = visible.iter().nth(3).unwrap().0.parse().unwrap();
    let mut e = s
        .store
        .get_employee(s.base, relais_core::ids::EmployeeId(target))
        .await
        .unwrap();
    e.data.last_name = Name::parse("lastName", "Nouveau-Nom").unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    s.store
        .update_employee(
            &s.store.get_employee(s.base, e.id).await.unwrap(),
            &e.data,
            &Author::system("test"),
        )
        .await
        .unwrap();
    let inc = s.connector.run(false, false).await.unwrap();
    assert_eq!(inc.count(&Outcome::Updated), 1);
    assert_eq!(
        inc.partner_requests, 2,
        "one write for one change, and one page of HappyPal read back"
    );
    let line = inc
        .lines
        .iter()
        .find(|l| l.outcome == Outcome::Updated)
        .unwrap();
    assert_eq!(
        (
            line.key.as_str(),
            line.fields.len(),
            line.fields[0].field.as_str()
        ),
        (target.to_string().as_str(), 1, "last_name")
    );
    assert_eq!(line.fields[0].after, json!("Nouveau-Nom"));

    // A change made in HappyPal is overwritten by the next run, and reported.
    let victim = s
        .profiles()
        .await
        .into_iter()
        .find(|p| p["external_id"] == json!(target.to_string()))
        .unwrap();
    s.http
        .patch(format!("{}/_sim/profiles/{}", s.sim.url(), victim["id"]))
        .json(&json!({ "first_name": "Edited" }))
        .send()
        .await
        .unwrap();
    let next = s.connector.run(false, false).await.unwrap();
    assert!(!next.full);
    let over = next
        .lines
        .iter()
        .find(|l| l.outcome == Outcome::Overwritten)
        .expect("an overwritten line");
    assert_eq!(
        (over.fields[0].field.as_str(), &over.fields[0].before),
        ("first_name", &json!("Edited"))
    );
    let restored = s
        .profiles()
        .await
        .into_iter()
        .find(|p| p["external_id"] == json!(target.to_string()))
        .unwrap();
    assert_eq!(restored["first_name"], json!(e.data.first_name.as_str()));

    // A terminated employee leaves the key's view: its profile is deleted.
    let leaving: i64 = visible.iter().nth(5).unwrap().0.parse().unwrap();
    let mut l = s
        .store
        .get_employee(s.base, relais_core::ids::EmployeeId(leaving))
        .await
        .unwrap();
    l.data.contract = relais_core::employee::Contract::new(
        l.data
            .contract
            .start
            .min(relais_testkit::today() - chrono::Days::new(30)),
        Some(relais_testkit::today() - chrono::Days::new(1)),
    )
    .unwrap();
    s.store
        .update_employee(
            &s.store.get_employee(s.base, l.id).await.unwrap(),
            &l.data,
            &Author::system("test"),
        )
        .await
        .unwrap();
    let full = s.connector.run(true, false).await.unwrap();
    assert_eq!(full.count(&Outcome::Deleted), 1);
    assert_eq!(
        s.held().await,
        s.visible().await,
        "HappyPal holds exactly what the key sees"
    );
}

#[tokio::test]
async fn a_run_that_fails_part_way_is_run_again_to_the_same_state() {
    let mut s = setup().await;
    // One profile per request, in order, so that failures fall on some records only.
    s.connector.setup.options["batch_size"] = json!(1);
    s.connector.setup.options["concurrency"] = json!(1);
    let visible = s.visible().await;
    // Writes fail, reads answer: the run goes on past its failures.
    s.faults(json!({ "error_rate": 0.6, "writes_only": true }))
        .await;
    let broken = s.connector.run(true, false).await.unwrap();
    assert!(broken.has_failures(), "some writes failed");
    assert!(
        !broken.checkpoint_moved,
        "the checkpoint stays until every write is confirmed"
    );
    let partial = s.held().await.len();
    assert!(partial < visible.len());
    s.faults(json!({})).await;
    let again = s.connector.run(false, false).await.unwrap();
    assert!(!again.has_failures());
    assert_eq!(
        again.count(&Outcome::Created),
        visible.len() - partial,
        "only what was missing is sent"
    );
    assert_eq!(s.held().await, visible, "nothing duplicated, nothing lost");
    let quiet = s.connector.run(false, false).await.unwrap();
    assert_eq!(
        quiet.partner_requests, 1,
        "in step: nothing sent, one page read back"
    );
    assert_eq!(quiet.counts.written(), 0);
}

#[tokio::test]
async fn refused_credentials_and_revoked_keys_stop_the_run() {
    let s = setup().await;
    s.faults(json!({ "refuse_credentials": true })).await;
    let err = s.connector.run(false, false).await.unwrap_err();
    assert!(
        matches!(err, SyncError::PartnerCredentials { status: 401 }),
        "{err}"
    );
    s.faults(json!({})).await;
    s.store
        .revoke_api_key(s.key_id, relais_core::activity::Actor::CommandLine)
        .await
        .unwrap();
    let err = s.connector.run(false, false).await.unwrap_err();
    assert!(
        matches!(err, SyncError::SourceRefused { status: 401, .. }),
        "{err}"
    );
    assert!(s.profiles().await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn batches_send_a_hundred_profiles_per_request() {
    let s = setup().await;
    let visible = s.visible().await;
    assert!(visible.len() > 40, "{}", visible.len());
    let first = s.connector.run(true, false).await.unwrap();
    assert_eq!(first.count(&Outcome::Created), visible.len());
    assert_eq!(s.held().await, visible);
    // One batch for the employees, one page read back.
    assert_eq!(first.partner_requests, 2, "{:?}", first.counts);
    let mut one_by_one = s.connector.clone();
    one_by_one.setup.options["batch_size"] = json!(1);
    one_by_one.setup.job = "happypal:901".parse().unwrap();
    s.store
        .reset_ledger(&"happypal:901".parse().unwrap())
        .await
        .unwrap();
    let again = one_by_one.run(true, false).await.unwrap();
    assert_eq!(again.count(&Outcome::Linked), visible.len());
    assert!(
        again.partner_requests >= 10 * first.partner_requests,
        "{} requests one by one, {} in batches",
        again.partner_requests,
        first.partner_requests
    );
}
