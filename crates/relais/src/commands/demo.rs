//! `relais demo`: a demo company, its partners' simulators, a mail catcher
//! and a webhook receiver, served.

use super::serve::{serve, webhook_reach};
use super::sync::connector_of;
use super::{open, seed_with_progress};
use crate::config::Settings;
use anyhow::{Context, Result};
use relais_api::AppState;
use relais_core::activity::{Action, Actor};
use relais_core::base::{BaseKind, BaseName};
use relais_core::org::TimeZone;
use relais_sandbox::demo::DemoOptions;
use relais_store::SharedStore;
use std::io::Write;

/// `relais demo`: on first start a demo company seeded, its test base
/// copied, the apps installed; then the simulators, the mail catcher, the
/// webhook receiver and the server.
pub(super) async fn demo_command(
    settings: &Settings,
    catalog: std::sync::Arc<relais_web::Catalog>,
    employees: u32,
    seed: u64,
) -> Result<()> {
    let store = open(settings).await?;
    let first = store.list_bases().await?.is_empty();
    if first {
        out!(
            "first start: creating the demo company in {}",
            settings.database
        );
        let production = store
            .create_base(&BaseName::parse("production")?, BaseKind::Production)
            .await?;
        seed_with_progress(
            &store,
            &production,
            DemoOptions {
                employees,
                seed,
                today: TimeZone::PARIS.today(),
            },
        )
        .await?;
        let test = store
            .create_base(&BaseName::parse("test")?, BaseKind::Test)
            .await?;
        store
            .copy_base(production.id, test.id, Actor::CommandLine)
            .await?;
        out!("created the test base 'test' as a copy of 'production'");
        let password = relais_web::session::generate_password();
        store
            .create_person(
                &relais_store::NewPerson {
                    email: relais_core::employee::Email::parse("admin@relais.demo")?,
                    name: relais_core::org::Name::parse("name", "Admin démo")?,
                    password_hash: relais_web::session::hash_password(&password),
                    can_admin_apps: true,
                    can_manage_keys: true,
                },
                None,
            )
            .await?;
        out!("sign in to the admin pages as admin@relais.demo with the password {password} (shown once)");
    }
    let partners = demo_partners(settings, &store, &catalog, first).await?;
    // Alerts to technical contacts land in a local mail catcher unless a
    // mail server is configured: nothing leaves the machine.
    let mut settings = settings.clone();
    // The demo's webhook receiver runs on this machine.
    settings.webhook_private_addresses = true;
    let _catcher = match &settings.smtp_url {
        Some(_) => None,
        None => {
            let catcher = relais_sandbox::mailbox::MailCatcher::start().await?;
            settings.smtp_url = Some(catcher.smtp_url());
            out!(
                "mail catcher: alerts to technical contacts are caught at {}/_sim/mails",
                catcher.http.url()
            );
            Some(catcher)
        }
    };
    // A webhook receiver, and an endpoint of a demo key pointing at it: the
    // base's changes arrive there, signed, within a second.
    let receiver = relais_sandbox::receiver::Receiver::new();
    let _hooks = receiver.start().await?;
    demo_webhook(&settings, &store, &receiver, &_hooks.url()).await?;
    out!(
        "webhook receiver: the base's changes arrive, signed and checked, at {}/hooks/demo/received",
        _hooks.url()
    );
    serve(&settings, store, catalog, partners.replica_key.clone()).await
}

/// The demo's webhook endpoint: a key « Récepteur de démonstration » on
/// `production` (made on the first start) whose endpoint points at
/// `receiver` (made again at each start, the receiver's port being new),
/// the receiver told its secret.
async fn demo_webhook(
    settings: &Settings,
    store: &SharedStore,
    receiver: &relais_sandbox::receiver::Receiver,
    url: &str,
) -> Result<()> {
    use relais_core::access::{KeyUsage, Role};
    let base = store.base_by_name(&BaseName::parse("production")?).await?;
    let name = relais_core::org::Name::parse("name", "Récepteur de démonstration")?;
    let existing = store
        .list_api_keys(base.id)
        .await?
        .into_iter()
        .find(|k| k.name == name && k.revoked_at.is_none());
    let key = match existing {
        Some(k) => k,
        None => {
            relais_app::keys::create_key(
                store,
                base.id,
                name,
                relais_core::employee::Email::parse("webhooks@relais.demo")?,
                KeyUsage::Internal,
                Role::parse(&["all"])?,
                Actor::CommandLine,
            )
            .await?
            .0
        }
    };
    for e in store.endpoints_of_key(key.id).await? {
        store.delete_endpoint(e.id, Actor::CommandLine).await?;
    }
    let state = AppState::new(store.clone(), settings.rate_limit)
        .with_sealer(settings.secret_key.sealer()?)
        .with_webhook_reach(webhook_reach(settings))
        .with_retention(settings.retention());
    let caller =
        relais_api::auth::Caller::new(std::sync::Arc::new(key), store.base_version(base.id).await?);
    let (_, secret) = relais_api::resources::webhooks::register(
        &state,
        &caller,
        relais_api::resources::webhooks::Registration {
            url: format!("{url}/hooks/demo"),
            name: Some("Démo".into()),
            topics: Vec::new(),
            establishments: None,
            by: Actor::CommandLine,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("the demo's webhook endpoint: {e}"))?;
    receiver.set_secrets("demo", vec![secret]);
    Ok(())
}

/// Where the demo keeps Inside Online's API key for its replica (beside the
/// master key, when that is a file): the key is shown once at install.
fn replica_key_file(settings: &Settings) -> Option<std::path::PathBuf> {
    match &settings.secret_key {
        crate::config::SecretKey::File(path) => Some(path.with_file_name("inside-online.key")),
        crate::config::SecretKey::Given(_) => None,
    }
}

/// Credentials of the demo's partner simulators (they accept nothing else).
const DEMO_HAPPYPAL_TOKEN: &str = "demo-happypal-token";
const DEMO_PME_BRAND: &str = "demo";
const DEMO_PME_APP_KEY: &str = "demo-app-key";
const DEMO_PME_ASSERTION: &str = "demo-assertion";

/// The demo's Semana workspace key.
const DEMO_SEMANA_KEY: &str = "demo-semana-key";

/// A Semana workspace in use before it was connected: some employees of
/// `base` already there (under their e-mail in capitals, as people type
/// them), each with telework days next week — a day, or a morning — so
/// that the first sync links them and brings their telework days back.
async fn demo_semana_workspace(
    store: &SharedStore,
    base: relais_core::ids::BaseId,
) -> Result<relais_sandbox::semana::Holdings> {
    use chrono::Datelike;
    let today = relais_core::org::TimeZone::PARIS.today();
    let monday = today + chrono::Days::new(u64::from(7 - today.weekday().num_days_from_monday()));
    let mut held = relais_sandbox::semana::Holdings::default();
    let employees = store.list_employees(base, None, 40).await?;
    let under_contract = employees.iter().filter(|e| {
        e.data.contract.status_on(today) == relais_core::employee::ContractStatus::Active
    });
    for (n, e) in under_contract.take(12).enumerate() {
        let user = held.add_user(
            &e.data.mail.as_str().to_uppercase(),
            e.data.first_name.as_str(),
            e.data.last_name.as_str(),
        );
        // Tuesday and Thursday, or Wednesday morning, on days they are
        // not away (a remote day on an absence would be a conflict).
        let periods = store.list_leave_periods(base, e.id).await?;
        let free = |day: chrono::NaiveDate| {
            !periods.iter().any(|p| {
                p.status.occupies_calendar() && p.span.start.date <= day && p.span.end.date >= day
            })
        };
        let days: &[(u64, &str)] = if n % 3 == 2 {
            &[(2, "morning")]
        } else {
            &[(1, "day"), (3, "day")]
        };
        for (offset, period) in days {
            let day = monday + chrono::Days::new(*offset);
            if free(day) {
                held.add_booking(user, day, period, "remote");
            }
        }
        held.add_booking(user, monday, "day", "office");
    }
    Ok(held)
}

/// The demo's Ledgy integration token.
const DEMO_LEDGY_TOKEN: &str = "demo-ledgy-token";

/// The demo's partner simulators.
struct DemoPartners {
    happypal: relais_sandbox::sim::Running,
    pme: relais_sandbox::sim::Running,
    semana: relais_sandbox::sim::Running,
    ledgy: relais_sandbox::sim::Running,
    /// Inside Online's API key, for the demo's replica.
    replica_key: Option<String>,
}

/// Starts the HappyPal, PlanningPME, Semana and Ledgy simulators and points
/// the demo's integrations at them. On first start the four apps are
/// installed on the production base; on later starts the simulators start
/// afresh, so the integrations that point at a local simulator forget what
/// it held.
async fn demo_partners(
    settings: &Settings,
    store: &SharedStore,
    catalog: &relais_web::Catalog,
    first: bool,
) -> Result<DemoPartners> {
    use relais_core::integration::IntegrationUpdate;
    let local: std::net::SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    let sealer = settings.secret_key.sealer()?;
    let production = store.base_by_name(&BaseName::parse("production")?).await?;
    let mut partners = DemoPartners {
        happypal: relais_sandbox::happypal::start(local, DEMO_HAPPYPAL_TOKEN).await?,
        pme: relais_sandbox::planningpme::start(
            local,
            DEMO_PME_BRAND,
            DEMO_PME_APP_KEY,
            DEMO_PME_ASSERTION,
        )
        .await?,
        semana: relais_sandbox::semana::start_with(
            local,
            DEMO_SEMANA_KEY,
            demo_semana_workspace(store, production.id).await?,
        )
        .await?,
        ledgy: relais_sandbox::ledgy::start(local, DEMO_LEDGY_TOKEN).await?,
        replica_key: replica_key_file(settings)
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|k| k.trim().to_owned()),
    };
    if first {
        let admin = store
            .person_by_email("admin@relais.demo")
            .await?
            .context("the demo administrator exists")?
            .0;
        for code in [
            "happypal",
            "planningpme",
            "semana",
            "ledgy",
            "inside-online",
        ] {
            let app = catalog
                .get(code)
                .with_context(|| format!("{code} is in the catalog"))?;
            let contact = relais_core::employee::Email::parse(&format!("tech@{code}.demo"))?;
            let (_, key) = relais_app::install::install_app(
                store,
                &sealer,
                &relais_sync::connectors::catalog(),
                production.id,
                app,
                &contact,
                admin.id,
            )
            .await
            .map_err(|e| anyhow::anyhow!("installing {code}: {e}"))?;
            if code == "inside-online" {
                if let Some(file) = replica_key_file(settings) {
                    // A secret, readable by its owner only, as the master key.
                    let mut options = std::fs::OpenOptions::new();
                    options.write(true).create(true).truncate(true);
                    #[cfg(unix)]
                    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                    let mut out = options
                        .open(&file)
                        .with_context(|| format!("cannot write {}", file.display()))?;
                    writeln!(out, "{key}")?;
                }
                partners.replica_key = Some(key);
            }
        }
        out!(
            "installed HappyPal, PlanningPME, Semana, Ledgy and Inside Online on 'production', each with its own API key"
        );
    }
    let departments = store.list_departments(production.id).await?;
    for mut integration in store.list_integrations(Some(production.id)).await? {
        let simulated = integration.partner_url.is_empty()
            || integration.partner_url.starts_with("http://127.0.0.1:");
        if !simulated {
            continue;
        }
        let mut update = IntegrationUpdate::default();
        match integration.connector.as_str() {
            "happypal" => {
                update.partner_url = Some(partners.happypal.url());
                update.secrets = vec![("token".into(), DEMO_HAPPYPAL_TOKEN.into())];
            }
            "planningpme" => {
                update.partner_url = Some(format!("{}/{DEMO_PME_BRAND}", partners.pme.url()));
                update.secrets = vec![
                    ("app_key".into(), DEMO_PME_APP_KEY.into()),
                    ("assertion".into(), DEMO_PME_ASSERTION.into()),
                ];
                if first {
                    if let Some(d) = departments.iter().find(|d| d.code.as_str() == "PROD") {
                        update.options = vec![("base_department".into(), d.id.0.to_string())];
                    }
                }
            }
            "semana" => {
                update.partner_url = Some(partners.semana.url());
                update.secrets = vec![("api_key".into(), DEMO_SEMANA_KEY.into())];
            }
            "ledgy" => {
                update.partner_url = Some(partners.ledgy.url());
                update.secrets = vec![("api_token".into(), DEMO_LEDGY_TOKEN.into())];
            }
            // A connector without a simulator keeps its settings.
            _ => continue,
        }
        integration
            .apply(
                connector_of(&integration)?.as_ref(),
                &update,
                &sealer,
                relais_core::now(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // Run at once, so that reports are there to read.
        integration.next_run_at = Some(relais_core::now());
        store.reset_ledger(&integration.job()).await?;
        store
            .change_integration(&integration, Action::SettingsChanged, Actor::CommandLine)
            .await?;
    }
    out!(
        "partner simulators: HappyPal at {} (its profiles: {}/_sim/profiles), PlanningPME at {}/{DEMO_PME_BRAND}, Semana at {}, Ledgy at {} (what each holds: /_sim/state); first syncs start now",
        partners.happypal.url(),
        partners.happypal.url(),
        partners.pme.url(),
        partners.semana.url(),
        partners.ledgy.url()
    );
    Ok(partners)
}
