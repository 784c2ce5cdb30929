//! The runtime against a real relais API, real databases and the partner
//! simulators: runtimes racing for one integration, a run killed part-way
//! and taken over, health and its reasons, the request budget.

#[macro_use]
mod common;

use relais_api::AppState;
use relais_core::employee::{ContractStatus, Email};
use relais_core::ids::BaseId;
use relais_core::integration::{Health, Integration, RunAsk, RunStatus, Trigger};
use relais_core::marketplace::AppManifest;
use relais_core::org::Name;
use relais_core::secret::{Sealer, Secrets};
use relais_sandbox::sim::Faults;
use relais_sandbox::{happypal, planningpme};
use relais_store::{DatabaseUrl, SharedStore};
use relais_sync::http::RetryPolicy;
use relais_sync::runtime::{Runtime, RuntimeOptions};
use relais_testkit::schema::{answer_schema, conforms_wholly};
use std::collections::BTreeSet;
use std::time::Duration;

struct World {
    url: DatabaseUrl,
    store: SharedStore,
    base: BaseId,
    api: String,
    sealer: Sealer,
    hp: relais_sandbox::sim::Running,
    installation: relais_core::ids::InstallationId,
    key: String,
    /// The test's database, dropped last.
    _db: relais_testkit::TestDb,
}

fn manifest(code: &str) -> AppManifest {
    let path = format!(
        "{}/../../integrations/{code}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    AppManifest::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

async fn world(postgres: bool, employees: u32) -> Option<World> {
    let db = common::database(postgres, "runtime").await?;
    let url = db.url().clone();
    let (store, base) = common::seeded_base(&url, employees, 5).await;
    let sealer = Sealer::from_hex(&Sealer::generate_key()).unwrap();
    let api = relais_testkit::spawn_app(
        AppState::new(store.clone(), 100_000).with_sealer(sealer.clone()),
    )
    .await;
    let admin = relais_testkit::people::account(&store, "admin@acme.fr", true, true).await;
    let (installation, key) = relais_app::install::install_app(
        &store,
        &sealer,
        &relais_sync::connectors::catalog(),
        base.id,
        &manifest("happypal"),
        &Email::parse("tech@happypal.fr").unwrap(),
        admin.id,
    )
    .await
    .unwrap();
    let hp = happypal::start("127.0.0.1:0".parse().unwrap(), "hp-token")
        .await
        .unwrap();
    let w = World {
        url,
        store,
        base: base.id,
        api,
        sealer,
        hp,
        installation: installation.id,
        key,
        _db: db,
    };
    w.configure(|i, secrets| {
        i.set_partner_url(&w.hp.url()).unwrap();
        secrets.set(
            relais_core::secret::SecretName::Partner("token"),
            "hp-token",
        );
        // These tests follow runs record by record: one profile per request, in order.
        i.options["batch_size"] = serde_json::json!(1);
        i.options["concurrency"] = serde_json::json!(1);
    })
    .await;
    Some(w)
}

impl World {
    async fn configure(&self, change: impl FnOnce(&mut Integration, &mut Secrets)) {
        let mut i = self.store.get_integration(self.installation).await.unwrap();
        let mut secrets = self.sealer.open(&i.sealed_secrets).unwrap();
        change(&mut i, &mut secrets);
        i.sealed_secrets = self.sealer.seal(&secrets);
        self.store.put_integration(&i).await.unwrap();
    }

    /// A runtime of its own process: its own connection pool.
    async fn runtime(&self, lease: Duration) -> Runtime {
        let store = relais_store::open(&self.url).await.unwrap();
        let mut options = RuntimeOptions::new(&self.api);
        options.lease_ttl = lease;
        options.policy = RetryPolicy {
            retries: 2,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(2),
        };
        Runtime::new(store, self.sealer.clone(), options)
    }

    async fn profiles(&self) -> Vec<happypal::Profile> {
        reqwest::get(format!("{}/_sim/profiles", self.hp.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn set_faults(&self, faults: Faults) {
        reqwest::Client::new()
            .put(format!("{}/_sim/faults", self.hp.url()))
            .json(&faults)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    /// Employees the HappyPal key sees: those under contract today.
    async fn visible(&self) -> BTreeSet<String> {
        let today = relais_testkit::today();
        self.store
            .list_employees(self.base, None, 100_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.data.contract.status_on(today) == ContractStatus::Active)
            .map(|e| e.id.0.to_string())
            .collect()
    }

    /// HappyPal holds exactly the visible employees, once each.
    async fn assert_in_step(&self) {
        let profiles = self.profiles().await;
        let ids: Vec<String> = profiles
            .iter()
            .filter_map(|p| p.external_id.clone())
            .collect();
        let distinct: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), distinct.len(), "no profile twice");
        assert_eq!(
            profiles.len(),
            ids.len(),
            "every profile linked to an employee"
        );
        assert_eq!(distinct, self.visible().await);
    }
}

async fn racing_runtimes_run_a_due_integration_once(postgres: bool) {
    let Some(w) = world(postgres, 40).await else {
        return;
    };
    w.configure(|i, _| i.next_run_at = Some(relais_testkit::now() - chrono::Duration::minutes(1)))
        .await;
    let (a, b) = (
        w.runtime(Duration::from_secs(30)).await,
        w.runtime(Duration::from_secs(30)).await,
    );
    let (ra, rb) = tokio::join!(a.tick(), b.tick());
    let done: Vec<_> = ra.unwrap().into_iter().chain(rb.unwrap()).collect();
    assert_eq!(done.len(), 1, "one runtime ran it: {done:?}");
    assert_eq!(done[0].status, RunStatus::Succeeded, "{:?}", done[0].error);
    assert_eq!(done[0].trigger, Trigger::Schedule);
    assert!(done[0].full, "the first run reads everything");
    w.assert_in_step().await;
    let runs = w.store.list_runs(w.installation, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    let after = w.store.get_integration(w.installation).await.unwrap();
    assert_eq!(after.health, Health::Healthy);
    assert!(
        after.next_run_at.unwrap() > relais_testkit::now(),
        "next run scheduled"
    );
    // Nothing due any more: neither runtime runs anything.
    let (ra, rb) = tokio::join!(a.tick(), b.tick());
    assert!(ra.unwrap().is_empty() && rb.unwrap().is_empty());

    // Manual runs asked for twice race too: each runs once, never at the same time.
    let served_before = w.profiles().await.iter().map(|p| p.updates).sum::<u32>();
    w.store
        .queue_run(&RunAsk::new(w.installation, Trigger::Api))
        .await
        .unwrap();
    w.store
        .queue_run(&RunAsk::new(w.installation, Trigger::Page).full(true))
        .await
        .unwrap();
    let mut done = Vec::new();
    for _ in 0..4 {
        let (ra, rb) = tokio::join!(a.tick(), b.tick());
        done.extend(ra.unwrap());
        done.extend(rb.unwrap());
    }
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(done.iter().all(|r| r.status == RunStatus::Succeeded));
    assert!(
        done.iter().all(|r| r.counts.written() == 0),
        "already in step"
    );
    assert_eq!(
        w.profiles().await.iter().map(|p| p.updates).sum::<u32>(),
        served_before,
        "nothing written twice"
    );
}

async fn a_killed_run_is_taken_over_after_its_lease_expires(postgres: bool) {
    let Some(w) = world(postgres, 60).await else {
        return;
    };
    w.set_faults(Faults {
        slow_ms: 40,
        ..Faults::default()
    })
    .await;
    let a = w.runtime(Duration::from_millis(1500)).await;
    let installation = w.installation;
    let killed =
        tokio::spawn(async move { a.run_now(installation, Trigger::Cli, false, false).await });
    // Let it write part of the employees, then kill it.
    relais_testkit::eventually(
        Duration::from_secs(30),
        "a dozen profiles written",
        || async { (w.profiles().await.len() >= 12).then_some(()) },
    )
    .await;
    killed.abort();
    let _ = killed.await;
    let partial = w.profiles().await.len();
    assert!(partial < w.visible().await.len(), "killed part-way");
    let runs = w.store.list_runs(installation, 10).await.unwrap();
    assert_eq!(
        runs[0].status,
        RunStatus::Running,
        "left running by the dead process"
    );
    w.set_faults(Faults::default()).await;

    // Its lease still holds: another runtime leaves it alone.
    let b = w.runtime(Duration::from_secs(30)).await;
    assert!(b.tick().await.unwrap().is_empty());
    // Once the lease expired, the other runtime takes the run over.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let done = b.tick().await.unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].status, RunStatus::Succeeded, "{:?}", done[0].error);
    assert_eq!(done[0].trigger, Trigger::Cli);
    let dead = w.store.get_run(runs[0].id).await.unwrap();
    assert_eq!(dead.status, RunStatus::Interrupted);
    assert!(dead.error.unwrap().contains("took over"));
    w.assert_in_step().await;
    // The dead run's report keeps what it had done: counts that match its
    // lines, and the requests it sent.
    let dead_lines = w.store.run_lines(dead.id, 0, 10_000).await.unwrap();
    assert!(dead.counts.written() > 0, "{:?}", dead.counts);
    assert!(
        dead.counts.written() <= partial as u64,
        "{:?} > {partial}",
        dead.counts
    );
    assert_eq!(
        dead_lines.len() as u64,
        dead.counts.total() - dead.counts.unchanged,
        "{:?}",
        dead.counts
    );
    assert!(dead.partner_requests >= dead.counts.written());
    assert!(
        dead.counts.written() + done[0].counts.written() >= w.visible().await.len() as u64,
        "every profile is in one report or the other"
    );
    // What the dead run had confirmed was not sent again.
    let lines = w.store.run_lines(done[0].id, 0, 1000).await.unwrap();
    assert!(
        (lines.len() as u64) < w.visible().await.len() as u64,
        "the take-over sent only what was missing ({} lines)",
        lines.len()
    );
}

both!(
    racing_runtimes_run_a_due_integration_once,
    a_killed_run_is_taken_over_after_its_lease_expires,
    run_reports_add_up,
    a_failing_integration_alerts_its_contact_once_then_on_recovery,
    the_runtime_deletes_requests_older_than_the_audit_retention,
    the_runtime_deletes_journal_entries_older_than_their_retention
);

/// A runtime's pass deletes the audit trail's requests older than its
/// retention and keeps the others, among them those its own run made.
async fn the_runtime_deletes_requests_older_than_the_audit_retention(postgres: bool) {
    use relais_core::access::AuditEntry;
    let Some(w) = world(postgres, 20).await else {
        return;
    };
    let key = w
        .store
        .list_installations(w.base)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.id == w.installation)
        .unwrap()
        .key_id;
    let t = relais_core::now();
    let made = |path: &str, days: i64| AuditEntry {
        base_id: w.base,
        key_id: key,
        method: "GET".into(),
        path: path.into(),
        status: 200,
        employee_records: 0,
        records: 0,
        at: t - chrono::Duration::days(days),
    };
    w.store
        .record_requests(&[made("/api/v3/old", 40), made("/api/v3/recent", 20)])
        .await
        .unwrap();
    let mut options = RuntimeOptions::new(&w.api);
    options.retention.audit = Duration::from_secs(30 * 86_400);
    let rt = Runtime::new(
        relais_store::open(&w.url).await.unwrap(),
        w.sealer.clone(),
        options,
    );
    w.store
        .ask_run(&RunAsk::new(w.installation, Trigger::Cli))
        .await
        .unwrap();
    let runs = rt.tick().await.unwrap();
    assert_eq!(runs.len(), 1, "the run asked for");
    // The API writes its trail a moment after it answers.
    let paths: Vec<String> = relais_testkit::eventually(
        Duration::from_secs(10),
        "the run's reads in the trail",
        || async {
            let paths: Vec<String> = w
                .store
                .list_requests(key, 10_000)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.path)
                .collect();
            paths
                .iter()
                .any(|p| p.starts_with("/api/v3/users"))
                .then_some(paths)
        },
    )
    .await;
    assert!(paths.contains(&"/api/v3/recent".to_owned()), "{paths:?}");
    assert!(!paths.contains(&"/api/v3/old".to_owned()), "{paths:?}");
}

/// A runtime's pass deletes the journal's entries older than their
/// retention (here a second: the entries the installation wrote) and keeps
/// those made since.
async fn the_runtime_deletes_journal_entries_older_than_their_retention(postgres: bool) {
    use relais_core::activity::ActivityQuery;
    let Some(w) = world(postgres, 5).await else {
        return;
    };
    let all = ActivityQuery {
        limit: 1_000,
        ..Default::default()
    };
    let written = w.store.list_activity(&all).await.unwrap();
    assert!(!written.is_empty(), "installing writes its entries");
    let mut options = RuntimeOptions::new(&w.api);
    options.retention.journal = Duration::from_secs(1);
    let rt = Runtime::new(
        relais_store::open(&w.url).await.unwrap(),
        w.sealer.clone(),
        options,
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let cut = relais_core::now() - chrono::Duration::seconds(1);
    rt.tick().await.unwrap();
    let left = w.store.list_activity(&all).await.unwrap();
    assert!(
        left.iter().all(|a| a.at >= cut),
        "entries older than a second: {left:?}"
    );
    assert!(
        written.iter().all(|a| !left.iter().any(|l| l.id == a.id)),
        "the installation's entries went"
    );
}

/// The technical contact hears of a failure once — not at every failed run
/// — and again when the integration works; a mail server that is down
/// delays an alert without losing it, and two runtimes send it once.
async fn a_failing_integration_alerts_its_contact_once_then_on_recovery(postgres: bool) {
    let Some(w) = world(postgres, 12).await else {
        return;
    };
    let catcher = relais_sandbox::mailbox::MailCatcher::start().await.unwrap();
    let with_mail = |smtp: String| {
        let w = &w;
        async move {
            let mut rt_options = RuntimeOptions::new(&w.api);
            rt_options.policy = RetryPolicy {
                retries: 1,
                min_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(10),
                max_retry_after: Duration::from_secs(1),
            };
            rt_options.mailer =
                Some(relais_sync::alerts::Mailer::new(&smtp, "relais@acme.fr").unwrap());
            rt_options.public_url = Some("https://rh.acme.fr".into());
            Runtime::new(
                relais_store::open(&w.url).await.unwrap(),
                w.sealer.clone(),
                rt_options,
            )
        }
    };
    // The mail server is down at first: the alert waits in the outbox.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let rt_down = with_mail(down).await;
    w.configure(|_, s| s.set(relais_core::secret::SecretName::Partner("token"), "wrong"))
        .await;
    let r = rt_down
        .run_now(w.installation, Trigger::Cli, false, false)
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(rt_down.deliver_alerts().await.unwrap(), 0);
    let waiting = w.store.list_alerts(w.installation, 10).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].sent_at.is_none() && waiting[0].attempts == 1);
    let refusal = waiting[0]
        .last_error
        .as_deref()
        .expect("the refusal is kept");
    assert!(
        relais_core::said::Said::read(refusal, "fr").ends_with(
            "est injoignable : connexion refusée (aucun service n'écoute à cette adresse)"
        ),
        "the refusal is kept, said in each language: {refusal}"
    );
    assert!(
        relais_core::said::Said::read(refusal, "en").starts_with("cannot reach smtp://"),
        "{refusal}"
    );
    // Failing again: no second alert.
    rt_down
        .run_now(w.installation, Trigger::Cli, false, false)
        .await
        .unwrap();
    assert_eq!(
        w.store.list_alerts(w.installation, 10).await.unwrap().len(),
        1
    );

    // The server is back; the retry is due: two runtimes, one mail.
    let (a, b) = (
        with_mail(catcher.smtp_url()).await,
        with_mail(catcher.smtp_url()).await,
    );
    let due = relais_testkit::now() + chrono::Duration::hours(2);
    let pending = w.store.due_alerts(due, 10).await.unwrap();
    w.store
        .alert_failed(pending[0].id, "down", relais_testkit::now())
        .await
        .unwrap();
    let (sent_a, sent_b) = tokio::join!(a.deliver_alerts(), b.deliver_alerts());
    assert_eq!(sent_a.unwrap() + sent_b.unwrap(), 1);
    assert_eq!(a.deliver_alerts().await.unwrap(), 0, "sent once");
    let mails = catcher.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["tech@happypal.fr".to_owned()]);
    assert_eq!(mails[0].from, "relais@acme.fr");
    assert!(
        mails[0].subject.contains("HappyPal ne se synchronise plus"),
        "{}",
        mails[0].subject
    );
    assert!(
        mails[0]
            .body
            .contains("HappyPal refused the credentials (401)")
            && mails[0]
                .body
                .contains("https://rh.acme.fr/integrations/happypal"),
        "{}",
        mails[0].body
    );

    // It works again: one more mail, saying so.
    w.configure(|_, s| {
        s.set(
            relais_core::secret::SecretName::Partner("token"),
            "hp-token",
        )
    })
    .await;
    let r = a
        .run_now(w.installation, Trigger::Cli, false, false)
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Succeeded);
    a.deliver_alerts().await.unwrap();
    let mails = catcher.mails();
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].subject.contains("de nouveau"),
        "{}",
        mails[1].subject
    );
    // Working on: nothing more.
    a.run_now(w.installation, Trigger::Cli, false, false)
        .await
        .unwrap();
    a.deliver_alerts().await.unwrap();
    assert_eq!(catcher.mails().len(), 2);
    let listed = w.store.list_alerts(w.installation, 10).await.unwrap();
    assert!(listed.iter().all(|l| l.sent_at.is_some()));
}

/// A run's numbers are what happened: requests sent (retries included) are
/// what the partner served; a long 429 pauses the integration until the
/// partner's time; after a ledger reset, profiles HappyPal already had are
/// linked, not created; and a reset waits for the run holding the lease.
async fn run_reports_add_up(postgres: bool) {
    let Some(w) = world(postgres, 30).await else {
        return;
    };
    let rt = w.runtime(Duration::from_secs(30)).await;
    let served = || async {
        let v: serde_json::Value = reqwest::get(format!("{}/_sim/served", w.hp.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["served"].as_u64().unwrap()
    };
    w.set_faults(Faults {
        error_rate: 0.3,
        ..Faults::default()
    })
    .await;
    let before = served().await;
    let r = rt
        .run_now(w.installation, Trigger::Cli, false, false)
        .await
        .unwrap();
    let sent = served().await - before;
    assert!(sent > r.counts.written(), "some requests were retried");
    assert_eq!(r.partner_requests, sent, "{r:?}");
    w.set_faults(Faults::default()).await;
    let r = rt
        .run_now(w.installation, Trigger::Cli, false, true)
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    w.assert_in_step().await;

    // A reset waits while another process holds the integration's lease.
    let job = relais_sync::runtime::lease_job(w.installation);
    assert!(w
        .store
        .claim_lease(&job, "another-process", Duration::from_secs(60))
        .await
        .unwrap());
    let refused = relais_sync::runtime::reset_ledger(&w.store, w.installation)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("another-process"), "{refused}");
    assert!(!w
        .store
        .acknowledged(
            &w.store
                .get_integration(w.installation)
                .await
                .unwrap()
                .stream_job("employees"),
            &w.visible().await.into_iter().collect::<Vec<_>>(),
        )
        .await
        .unwrap()
        .is_empty());
    w.store
        .release_lease(&job, "another-process")
        .await
        .unwrap();
    relais_sync::runtime::reset_ledger(&w.store, w.installation)
        .await
        .unwrap();
    let r = rt
        .run_now(w.installation, Trigger::Cli, false, false)
        .await
        .unwrap();
    let visible = w.visible().await.len() as u64;
    assert_eq!(
        (r.counts.created, r.counts.linked),
        (0, visible),
        "HappyPal already had them: {:?}",
        r.counts
    );
    w.assert_in_step().await;

    // A 429 asking for longer than a run waits pauses the integration until then.
    w.set_faults(Faults {
        rate_limit: Some(0),
        rate_window_seconds: Some(3_000),
        ..Faults::default()
    })
    .await;
    let r = rt
        .run_now(w.installation, Trigger::Cli, false, true)
        .await
        .unwrap();
    assert_eq!(r.status, RunStatus::Warnings, "{r:?}");
    let i = w.store.get_integration(w.installation).await.unwrap();
    assert_eq!(i.health, Health::Warnings);
    assert!(
        i.reason("en").contains("paused until"),
        "{}",
        i.reason("en")
    );
    let next = i.next_run_at.unwrap() - relais_testkit::now();
    assert!(
        next > chrono::Duration::minutes(45) && next <= chrono::Duration::minutes(51),
        "the next run waits for the partner: {next}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_why_an_integration_fails() {
    let w = world(false, 30).await.unwrap();
    let rt = w.runtime(Duration::from_secs(30)).await;
    let run = |trigger| rt.run_now(w.installation, trigger, false, false);

    // Not configured: no scheduled run starts, and a manual run says what is missing.
    w.configure(|i, s| {
        s.0.remove("token");
        i.next_run_at = Some(relais_testkit::now() - chrono::Duration::minutes(1));
    })
    .await;
    assert!(
        rt.tick().await.unwrap().is_empty(),
        "waits for its settings"
    );
    let r = run(Trigger::Cli).await.unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    let error = r.error.as_deref().unwrap();
    assert!(
        relais_core::integration::HealthReason::read(error, "en")
            .starts_with("not configured yet: token missing"),
        "{r:?}"
    );
    assert!(
        relais_core::integration::HealthReason::read(error, "fr")
            .starts_with("pas encore configurée : il manque token"),
        "said in French on the pages: {r:?}"
    );

    // The partner refuses the credentials.
    w.configure(|_, s| s.set(relais_core::secret::SecretName::Partner("token"), "wrong"))
        .await;
    let r = run(Trigger::Cli).await.unwrap();
    let i = w.store.get_integration(w.installation).await.unwrap();
    assert_eq!((r.status, i.health), (RunStatus::Failed, Health::Failing));
    assert!(
        i.reason("en")
            .contains("HappyPal refused the credentials (401)"),
        "{}",
        i.reason("en")
    );
    assert!(w.profiles().await.is_empty(), "nothing written");

    // The partner is unreachable.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    w.configure(|i, s| {
        s.set(
            relais_core::secret::SecretName::Partner("token"),
            "hp-token",
        );
        i.set_partner_url(&gone).unwrap();
    })
    .await;
    run(Trigger::Cli).await.unwrap();
    let i = w.store.get_integration(w.installation).await.unwrap();
    assert_eq!(i.health, Health::Failing);
    assert_eq!(
        (i.reason("en"), i.reason("fr")),
        (
            "HappyPal is unreachable: connection refused (nothing listens at that address)".into(),
            "HappyPal est injoignable : connexion refusée (aucun service n'écoute à cette adresse)"
                .into()
        ),
        "the network's cause, read in each language"
    );

    // The budget runs out: what was sent is kept, the rest waits for a run
    // within the hour. The requests of the past hour count (the failed runs' too).
    let used: u64 = w
        .store
        .list_runs(w.installation, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.partner_requests)
        .sum();
    w.configure(|i, _| {
        i.set_partner_url(&w.hp.url()).unwrap();
        i.options["requests_per_hour"] = serde_json::json!(used as u32 + 5);
    })
    .await;
    let r = run(Trigger::Api).await.unwrap();
    assert_eq!(r.status, RunStatus::Warnings);
    assert_eq!(r.counts.written(), 5);
    assert!(r.counts.skipped > 0);
    let i = w.store.get_integration(w.installation).await.unwrap();
    assert_eq!(i.health, Health::Warnings);
    assert!(i.next_run_at.unwrap() <= relais_testkit::now() + chrono::Duration::hours(1));
    let skipped = w.store.run_lines(r.id, 0, 1000).await.unwrap();
    assert!(skipped.iter().any(|l| l
        .outcome
        .reason_in("en")
        .is_some_and(|why| why.contains(&format!("budget of {} requests per hour", used + 5)))));
    assert_eq!(w.profiles().await.len(), 5);
    // The budget counts across runs: the next run within the hour sends
    // nothing, reports what it left out, and comes back when the budget allows.
    let r = run(Trigger::Api).await.unwrap();
    assert_eq!(r.counts.written(), 0);
    assert_eq!(
        r.counts.skipped as usize,
        w.visible().await.len() - 5,
        "{r:?}"
    );
    assert_eq!(r.partner_requests, 0);
    let i = w.store.get_integration(w.installation).await.unwrap();
    assert!(i.next_run_at.unwrap() <= relais_testkit::now() + chrono::Duration::hours(1));
    w.configure(|i, _| i.options["requests_per_hour"] = serde_json::json!(10_000))
        .await;
    let r = run(Trigger::Api).await.unwrap();
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    w.assert_in_step().await;

    // A key that lacks a grant, then a revoked key.
    let (_, narrow) = relais_app::keys::create_key(
        &w.store,
        w.base,
        Name::parse("name", "narrow").unwrap(),
        Email::parse("x@acme.fr").unwrap(),
        relais_core::access::KeyUsage::ThirdParty,
        relais_core::access::Role::parse(&["personnel-file:fields=firstName"]).unwrap(),
        relais_core::activity::Actor::CommandLine,
    )
    .await
    .unwrap();
    let original = w
        .sealer
        .open(
            &w.store
                .get_integration(w.installation)
                .await
                .unwrap()
                .sealed_secrets,
        )
        .unwrap();
    w.configure(|_, s| s.set(relais_core::secret::SecretName::SourceKey, &narrow))
        .await;
    let r = run(Trigger::Cli).await.unwrap();
    let i = w.store.get_integration(w.installation).await.unwrap();
    assert_eq!(i.health, Health::Failing, "{r:?} {}", i.reason("en"));
    assert!(
        i.reason("en").contains("lacks a grant"),
        "{}",
        i.reason("en")
    );
    w.configure(|_, s| *s = original.clone()).await;
    let inst = w.store.list_installations(w.base).await.unwrap();
    w.store
        .revoke_api_key(inst[0].key_id, relais_core::activity::Actor::CommandLine)
        .await
        .unwrap();
    run(Trigger::Cli).await.unwrap();
    let i = w.store.get_integration(w.installation).await.unwrap();
    assert!(
        i.reason("en").contains("refused the integration's API key"),
        "{}",
        i.reason("en")
    );

    // Paused: no scheduled run starts, and the health says why.
    w.configure(|i, _| {
        i.paused = Some("HappyPal contract renewal".into());
        i.next_run_at = Some(relais_testkit::now() - chrono::Duration::minutes(1));
    })
    .await;
    assert!(rt.tick().await.unwrap().is_empty());
}

/// PlanningPME installed on `w`'s base and pointed at a simulator of its
/// API (which it returns, to read what it holds).
async fn planningpme_installed(
    w: &World,
) -> (
    relais_core::ids::InstallationId,
    relais_sandbox::sim::Running,
) {
    let admin = w.store.list_people().await.unwrap()[0].id;
    let (inst, _) = relais_app::install::install_app(
        &w.store,
        &w.sealer,
        &relais_sync::connectors::catalog(),
        w.base,
        &manifest("planningpme"),
        &Email::parse("csm@planningpme.fr").unwrap(),
        admin,
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
    let mut i = w.store.get_integration(inst.id).await.unwrap();
    let mut secrets = w.sealer.open(&i.sealed_secrets).unwrap();
    secrets.set(
        relais_core::secret::SecretName::Partner("app_key"),
        "app-key",
    );
    secrets.set(
        relais_core::secret::SecretName::Partner("assertion"),
        "assertion",
    );
    i.sealed_secrets = w.sealer.seal(&secrets);
    i.set_partner_url(&format!("{}/acme", sim.url())).unwrap();
    w.store.put_integration(&i).await.unwrap();
    (inst.id, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planningpme_runs_through_the_runtime_with_its_report_stored() {
    let w = world(false, 40).await.unwrap();
    let (inst, sim) = planningpme_installed(&w).await;
    let rt = w.runtime(Duration::from_secs(30)).await;
    let dry = rt.run_now(inst, Trigger::Cli, true, false).await.unwrap();
    assert!(dry.dry_run && dry.counts.created > 0);
    let held: planningpme::Holdings = reqwest::get(format!("{}/_sim/state", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(held.resources.is_empty(), "a dry run writes nothing");
    assert_eq!(
        w.store.get_integration(inst).await.unwrap().health,
        Health::Pending
    );
    let run = rt.run_now(inst, Trigger::Cli, false, false).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        run.counts.created, dry.counts.created,
        "the dry run planned exactly this"
    );
    let held: planningpme::Holdings = reqwest::get(format!("{}/_sim/state", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = (held.departments.len() + held.resources.len() + held.unavailabilities.len()) as u64;
    assert_eq!(sent, run.counts.created);
    let lines = w.store.run_lines(run.id, 0, 100_000).await.unwrap();
    assert_eq!(lines.len() as u64, run.counts.created);
    assert!(lines
        .iter()
        .any(|l| l.key.starts_with("abs:") && l.fields.iter().any(|f| f.field == "label")));
    assert_eq!(
        run.partner_requests,
        sent + 1,
        "one token, one request per record"
    );
}

/// PlanningPME takes runs on change: the runtime starts one within a tick
/// of a change to what it sends, one run for a burst of changes, none
/// before the partner's gap has passed, and the first look starts no run
/// for the base's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planningpme_runs_within_seconds_of_a_change() {
    let w = world(false, 30).await.unwrap();
    let (inst, sim) = planningpme_installed(&w).await;
    let rt = w.runtime(Duration::from_secs(30)).await;
    assert!(
        rt.tick().await.unwrap().is_empty(),
        "nothing due, nothing changed"
    );
    let people = w.store.list_employees(w.base, None, 5).await.unwrap();
    let departments = w.store.list_departments(w.base).await.unwrap();
    let author = relais_core::audit::Author {
        name: "test".into(),
        source: "test".into(),
    };
    // PlanningPME holds each employee's department (not their name).
    let moved = |n: usize| {
        let mut data = people[n].data.clone();
        let to = departments
            .iter()
            .find(|d| Some(d.id) != data.department_id)
            .unwrap()
            .id;
        data.department_id = Some(to);
        let (store, base, id, author) = (w.store.clone(), w.base, people[n].id, author.clone());
        async move {
            store
                .update_employee(&store.get_employee(base, id).await.unwrap(), &data, &author)
                .await
                .unwrap();
            (id, to)
        }
    };
    let first = moved(0).await;
    let second = moved(1).await;
    let runs = rt.tick().await.unwrap();
    assert_eq!(runs.len(), 1, "one run for the burst: {runs:?}");
    assert_eq!(runs[0].trigger, Trigger::Change);
    assert_eq!(runs[0].status, RunStatus::Succeeded, "{:?}", runs[0].error);
    // (The first run of an integration sends everything: nothing was confirmed whole yet.)
    let held: planningpme::Holdings = reqwest::get(format!("{}/_sim/state", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (employee, department) in [first, second] {
        let resource = held
            .resources
            .values()
            .find(|r| r.label.ends_with(&format!(" {employee}")))
            .unwrap_or_else(|| panic!("employee {employee} is at the partner: {held:?}"));
        assert_eq!(
            resource.department_key.as_deref(),
            Some(department.to_string().as_str()),
            "{resource:?}"
        );
    }
    // Another change within the partner's gap waits for it.
    moved(2).await;
    assert!(
        rt.tick().await.unwrap().is_empty(),
        "too soon after the last run"
    );
    assert_eq!(w.store.list_runs(inst, 10).await.unwrap().len(), 1);
}

/// A run on change reads only the employees the change feed says changed,
/// and only a change PlanningPME is sent starts one: a new job title does
/// not, a move does; a move out of the synced departments makes the run
/// full, which takes the resource away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planningpme_on_change_reads_only_what_changed() {
    let w = world(false, 30).await.unwrap();
    let (inst, sim) = planningpme_installed(&w).await;
    let departments = w.store.list_departments(w.base).await.unwrap();
    let everyone = w.store.list_employees(w.base, None, 100).await.unwrap();
    // The department without sub-departments that has the most people: sent alone.
    let synced = departments
        .iter()
        .filter(|d| !departments.iter().any(|c| c.parent_id == Some(d.id)))
        .max_by_key(|d| {
            everyone
                .iter()
                .filter(|e| e.data.department_id == Some(d.id))
                .count()
        })
        .unwrap()
        .id;
    let elsewhere = departments.iter().find(|d| d.id != synced).unwrap().id;
    let mut i = w.store.get_integration(inst).await.unwrap();
    // A tier of budget that lets runs on change follow each other every second.
    i.options["requests_per_hour"] = serde_json::json!(100_000);
    i.options["base_department"] = serde_json::json!(synced.0);
    w.store.put_integration(&i).await.unwrap();
    let people: Vec<_> = everyone
        .into_iter()
        .filter(|e| e.data.department_id == Some(synced))
        .collect();
    assert!(
        people.len() >= 2,
        "the seed puts several people in {synced:?}"
    );
    let rt = w.runtime(Duration::from_secs(30)).await;
    let first = rt.run_now(inst, Trigger::Cli, false, false).await.unwrap();
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    let sent = |held: &planningpme::Holdings, id: relais_core::ids::EmployeeId| {
        held.resources
            .values()
            .find(|r| r.label.ends_with(&format!(" {id}")))
            .map(|r| r.department_key.clone())
    };
    let holdings = || async {
        reqwest::get(format!("{}/_sim/state", sim.url()))
            .await
            .unwrap()
            .json::<planningpme::Holdings>()
            .await
            .unwrap()
    };
    let held = holdings().await;
    assert!(
        people.iter().all(|p| sent(&held, p.id).is_some()),
        "{held:?}"
    );
    let absences = |held: &planningpme::Holdings, id: relais_core::ids::EmployeeId| {
        held.unavailabilities
            .values()
            .filter(|u| u.resource == id.to_string())
            .count() as u64
    };
    // The one who moves first: the one with the most absences sent.
    let mut people = people;
    people.sort_by_key(|p| std::cmp::Reverse(absences(&held, p.id)));
    let theirs = absences(&held, people[0].id);
    assert!(
        theirs > 0,
        "the seed gives absences in the window: {held:?}"
    );
    let author = relais_core::audit::Author {
        name: "test".into(),
        source: "test".into(),
    };
    let change = |n: usize, edit: &dyn Fn(&mut relais_core::employee::EmployeeData)| {
        let mut data = people[n].data.clone();
        edit(&mut data);
        let (store, base, id, author) = (w.store.clone(), w.base, people[n].id, author.clone());
        async move {
            let now = store.get_employee(base, id).await.unwrap();
            store.update_employee(&now, &data, &author).await.unwrap();
        }
    };
    // Past the partner's gap after the first run.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    change(0, &|d| d.job_title = Some("Cheffe de rang".into())).await;
    assert!(
        rt.tick().await.unwrap().is_empty(),
        "PlanningPME is not sent job titles"
    );
    change(1, &|d| d.job_title = Some("Chef de rang".into())).await;
    change(0, &|d| d.department_id = Some(elsewhere)).await;
    let runs = rt.tick().await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(
        (run.trigger, run.status),
        (Trigger::Change, RunStatus::Succeeded),
        "{:?}",
        run.error
    );
    // Out of the synced department: only a full run settles it, and it takes the resource away.
    assert!(run.full, "a move out of scope makes the run full");
    assert_eq!(run.streams["resources"].deleted, 1, "{:?}", run.streams);
    assert_eq!(run.streams["unavailabilities"].deleted, theirs);
    let held = holdings().await;
    assert_eq!(sent(&held, people[0].id), None, "{held:?}");
    assert_eq!(absences(&held, people[0].id), 0);
    // Back in: a run on change that reads that employee alone.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    change(0, &|d| d.department_id = Some(synced)).await;
    let runs = rt.tick().await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert!(!run.full);
    let resources = &run.streams["resources"];
    assert_eq!(
        (resources.created, resources.unchanged, resources.updated),
        (1, 0, 0),
        "the one employee the feed named was read: {:?}",
        run.streams
    );
    // Their absences come back with them, read by their owner.
    assert_eq!(run.streams["unavailabilities"].created, theirs);
    let held = holdings().await;
    assert_eq!(sent(&held, people[0].id), Some(Some(synced.0.to_string())));
    assert_eq!(absences(&held, people[0].id), theirs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_asks_for_a_run_and_reads_its_report_through_the_api() {
    let w = world(false, 30).await.unwrap();
    let http = reqwest::Client::new();
    let auth = format!("lucca application={}", w.key);
    let call = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{}{path}", w.api))
            .header("Authorization", &auth)
    };
    // What a GET of `path` answers, read as JSON.
    let read = |path: String| {
        let sent = call(reqwest::Method::GET, &path).send();
        async move {
            sent.await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let shown = read("/api/relais/integration".into()).await;
    // Every answer as the OpenAPI document gives it, member for member.
    let doc = read("/openapi.json".into()).await;
    let documented = |answer: &serde_json::Value, method: &str, path: &str, status: u16| {
        let schema = answer_schema(&doc, method, path, status);
        conforms_wholly(answer, &schema, &format!("{method} {path}"));
    };
    assert_eq!(shown["data"]["connector"], "happypal");
    assert_eq!(shown["data"]["health"], "pending");
    documented(&shown, "get", "/api/relais/integration", 200);
    let text = shown.to_string();
    assert!(
        !text.contains("hp-token") && !text.contains("source_key") && !text.contains(&w.key),
        "no secret shown"
    );

    let asked = call(reqwest::Method::POST, "/api/relais/integration/runs")
        .json(&serde_json::json!({ "full": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let asked: serde_json::Value = asked.json().await.unwrap();
    assert_eq!(asked["data"]["status"], "queued");
    assert_eq!(asked["data"]["trigger"], "api");
    assert_eq!(asked["data"]["full"], true);
    documented(&asked, "post", "/api/relais/integration/runs", 202);
    let again: serde_json::Value = call(reqwest::Method::POST, "/api/relais/integration/runs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["data"]["id"], asked["data"]["id"],
        "asking twice waits for the same run"
    );
    let bad = call(reqwest::Method::POST, "/api/relais/integration/runs")
        .json(&serde_json::json!({ "dry": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad: serde_json::Value = bad.json().await.unwrap();
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `dry`"),
        "{bad}"
    );
    let twice = call(reqwest::Method::POST, "/api/relais/integration/runs")
        .header("Content-Type", "application/json")
        .body(r#"{"dryRun": true, "dryRun": false}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    let twice: serde_json::Value = twice.json().await.unwrap();
    assert!(
        twice["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'dryRun' is given twice"),
        "{twice}"
    );

    let rt = w.runtime(Duration::from_secs(30)).await;
    let done = rt.tick().await.unwrap();
    assert_eq!(done.len(), 1);
    let id = done[0].id;
    assert_eq!(Some(id.0), asked["data"]["id"].as_i64());
    let report = read(format!(
        "/api/relais/integration/runs/{id}?limit=10&offset=0"
    ))
    .await;
    assert_eq!(report["data"]["run"]["status"], "succeeded");
    let created = report["data"]["run"]["counts"]["created"].as_u64().unwrap();
    assert_eq!(created as usize, w.visible().await.len());
    assert_eq!(report["data"]["lines"].as_array().unwrap().len(), 10);
    assert_eq!(report["data"]["lines"][0]["outcome"], "created");
    documented(&report, "get", "/api/relais/integration/runs/{id}", 200);
    assert_eq!(report["data"]["next"], 10, "another page follows");
    // The last page says none follows; the pages hold every line once.
    let mut keys = BTreeSet::new();
    let mut offset = Some(0);
    while let Some(at) = offset {
        let page = read(format!(
            "/api/relais/integration/runs/{id}?limit=7&offset={at}"
        ))
        .await;
        let lines = page["data"]["lines"].as_array().unwrap();
        assert!(!lines.is_empty(), "a page named by `next` holds lines");
        for l in lines {
            assert!(keys.insert(l["key"].as_str().unwrap().to_owned()), "{l}");
        }
        offset = page["data"]["next"].as_u64();
    }
    assert_eq!(
        keys.len() as u64,
        created,
        "every line once, as the counts say"
    );
    let runs = read("/api/relais/integration/runs".into()).await;
    assert_eq!(runs["data"]["items"][0]["id"], id.0);
    documented(&runs, "get", "/api/relais/integration/runs", 200);

    // A key of no installation, and another run's identifier, are refused.
    let (_, other) = relais_app::keys::create_key(
        &w.store,
        w.base,
        Name::parse("name", "scripts").unwrap(),
        Email::parse("it@acme.fr").unwrap(),
        relais_core::access::KeyUsage::Internal,
        relais_core::access::Role::parse(&["personnel-file:fields=firstName"]).unwrap(),
        relais_core::activity::Actor::CommandLine,
    )
    .await
    .unwrap();
    let refused = http
        .get(format!("{}/api/relais/integration/runs/{id}", w.api))
        .header("Authorization", format!("lucca application={other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    let missing = call(reqwest::Method::GET, "/api/relais/integration/runs/999999")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let word = call(reqwest::Method::GET, "/api/relais/integration/runs/abc")
        .send()
        .await
        .unwrap();
    assert_eq!(word.status(), 400);

    // A malformed or out-of-range page is refused in the API's own error,
    // naming the parameter.
    for (path, parameter) in [
        (format!("runs/{id}?limit=abc"), "limit"),
        (format!("runs/{id}?limit=0"), "limit"),
        (format!("runs/{id}?limit=1001"), "limit"),
        (format!("runs/{id}?offset=-1"), "offset"),
        ("runs?limit=many".to_owned(), "limit"),
        ("runs?limit=101".to_owned(), "limit"),
    ] {
        let answer = call(
            reqwest::Method::GET,
            &format!("/api/relais/integration/{path}"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(answer.status(), 400, "{path}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["details"]["parameter"], parameter, "{path}");
        let value = path.rsplit('=').next().unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("'{value}'")),
            "the message quotes what was sent: {path}: {body}"
        );
    }
}
