//! What each subcommand does.

use crate::config::{FileConfig, Overrides, Settings};
use crate::{BaseCommand, Cli, Command, KeysCommand, PeopleCommand, SyncCommand};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use relais_api::AppState;
use relais_core::activity::{Action, Actor};
use relais_core::base::{Base, BaseKind, BaseName};
use relais_core::org::TimeZone;
use relais_sandbox::demo::{self, DemoOptions};
use relais_store::{SharedStore, StoreError};
use std::io::Write;
use tracing_subscriber::EnvFilter;

/// Writes a line to standard output; a reader that stopped (`| head -1`)
/// ends the command quietly instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    let listen = match &cli.command {
        Command::Demo { listen, .. } | Command::Serve { listen } => *listen,
        _ => None,
    };
    let settings = Settings::resolve(&Overrides {
        config: cli.global.config.clone(),
        values: FileConfig {
            listen,
            ..cli.global.values.clone()
        },
    })?;
    let filter = EnvFilter::try_new(&settings.log)
        .map_err(|e| anyhow::anyhow!("invalid log filter '{}': {e}", settings.log))?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        crate::config::LogFormat::Text => logs.init(),
        crate::config::LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    if let Some(start) = cli.global.clock_start {
        relais_core::clock::start_at(start)?;
        tracing::info!(%start, "the clock was started at a chosen instant (--clock-start): dates and schedules follow it, not the wall clock");
    }
    let catalog = std::sync::Arc::new(match &cli.global.integrations {
        Some(dir) => relais_web::Catalog::load_dir(dir)?,
        None => relais_web::Catalog::embedded(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // What a command changes, the change feed says the command line did
    // (the server's requests and runs say who they are themselves).
    runtime.block_on(relais_store::writing_as("cli".into(), async move {
        match cli.command {
            Command::Demo {
                employees, seed, ..
            } => demo_command(&settings, catalog, employees, seed).await,
            Command::Serve { .. } => {
                let store = open(&settings).await?;
                if store.list_bases().await?.is_empty() {
                    let name = BaseName::parse("production")?;
                    store.create_base(&name, BaseKind::Production).await?;
                    tracing::info!("created the empty base 'production'");
                }
                serve(&settings, store, catalog, None).await
            }
            Command::Seed {
                base,
                employees,
                seed,
                today,
                replace,
            } => {
                let store = open(&settings).await?;
                let base = find_base(&store, &base).await?;
                let today = today.unwrap_or_else(|| TimeZone::PARIS.today());
                if replace {
                    store.clear_base(base.id).await?;
                }
                seed_with_progress(
                    &store,
                    &base,
                    DemoOptions {
                        employees,
                        seed,
                        today,
                    },
                )
                .await
            }
            Command::Backup { file } => backup_command(&settings, &file).await,
            Command::Base(cmd) => base_command(&settings, cmd).await,
            Command::Keys(cmd) => keys_command(&settings, cmd).await,
            Command::People(cmd) => people_command(&settings, cmd).await,
            Command::Sync(cmd) => sync_command(&settings, cmd).await,
            Command::Activity { email, limit } => activity_command(&settings, email, limit).await,
        }
    }))
}

async fn open(settings: &Settings) -> Result<SharedStore> {
    open_cached(settings, 32).await
}

/// Opens the store with SQLite's page cache as set, or `default_mib` MiB.
async fn open_cached(settings: &Settings, default_mib: u32) -> Result<SharedStore> {
    let options = relais_store::OpenOptions {
        sqlite_cache_mib: settings.sqlite_cache_mib.unwrap_or(default_mib),
    };
    Ok(relais_store::open_with(&settings.database, &options).await?)
}

/// `relais backup FILE`: the SQLite database copied whole into `file`, and
/// a reminder of the master key its sealed credentials need.
/// `relais activity`: the journal, newest first, one entry a line.
async fn activity_command(settings: &Settings, email: Option<String>, limit: u32) -> Result<()> {
    let store = open(settings).await?;
    let by_person = match email {
        None => None,
        Some(email) => match store.person_by_email(&email).await? {
            Some((person, _)) => Some(person.id),
            None => bail!("account {email} does not exist"),
        },
    };
    let entries = store
        .list_activity(&relais_core::activity::ActivityQuery {
            by_person,
            limit,
            ..Default::default()
        })
        .await?;
    out!(
        "{:<19}  {:<12} {:<21} {:<28} BY",
        "WHEN (UTC)",
        "BASE",
        "ACTION",
        "ON"
    );
    for e in entries {
        let by = match e.by {
            Actor::CommandLine => "command line".to_owned(),
            Actor::Relais => "relais".to_owned(),
            Actor::Person(_) => e.by_name.unwrap_or_default(),
            Actor::Key(k) => format!("key {k} '{}'", e.by_name.unwrap_or_default()),
        };
        let on = match e.detail {
            Some(d) => format!("{} ({d})", e.subject),
            None => e.subject,
        };
        out!(
            "{:<19}  {:<12} {:<21} {:<28} {}",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.base.map_or_else(|| "-".to_owned(), |(_, name)| name),
            e.action.code(),
            on,
            by
        );
    }
    Ok(())
}

async fn backup_command(settings: &Settings, file: &std::path::Path) -> Result<()> {
    let relais_store::DatabaseUrl::Sqlite(db) = &settings.database else {
        bail!("this database is on PostgreSQL: back it up with pg_dump (e.g. `pg_dump -Fc -f relais.dump DATABASE`); relais backup copies the embedded SQLite file")
    };
    let bytes = relais_store::sqlite::SqliteStore::backup(db, file).await?;
    out!(
        "backed up {} into {} ({:.1} MB, checked)",
        db.display(),
        file.display(),
        bytes as f64 / 1e6
    );
    match &settings.secret_key {
        crate::config::SecretKey::File(key) => out!(
            "keep a copy of {} too, apart from this one: the partners' credentials in the backup open only with it",
            key.display()
        ),
        crate::config::SecretKey::Given(_) => out!(
            "the partners' credentials in the backup open only with the master key this relais was given (secret_key): keep it too, apart from the backup"
        ),
    }
    Ok(())
}

async fn find_base(store: &SharedStore, raw: &str) -> Result<Base> {
    let name = BaseName::parse(raw)?;
    match store.base_by_name(&name).await {
        Ok(base) => Ok(base),
        Err(StoreError::NotFound { .. }) => {
            let known: Vec<String> = store
                .list_bases()
                .await?
                .into_iter()
                .map(|b| b.name.to_string())
                .collect();
            if known.is_empty() {
                bail!("base '{name}' does not exist, and there is no base yet: create one with `relais base create {name} --kind production`")
            }
            bail!(
                "base '{name}' does not exist; known bases: {}",
                known.join(", ")
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn seed_with_progress(store: &SharedStore, base: &Base, options: DemoOptions) -> Result<()> {
    let bar = ProgressBar::new(u64::from(options.employees));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} seeding {prefix} [{bar:32}] {pos}/{len} employees ({per_sec}, {eta} left)",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(base.name.to_string());
    let started = std::time::Instant::now();
    let counts = demo::seed(store.as_ref(), base, &options, &|n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    out!(
        "seeded base '{}' in {:.1} s: {} employees ({} active, {} future, {} former), {} leave periods, {} expense claims with {} items",
        base.name,
        started.elapsed().as_secs_f64(),
        counts.employees(),
        counts.active_employees,
        counts.future_employees,
        counts.former_employees,
        counts.leave_periods,
        counts.expense_claims,
        counts.expense_items
    );
    Ok(())
}

async fn demo_command(
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
        .with_webhook_reach(webhook_reach(settings));
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

/// Serves the store; with `replica_key`, also runs the demo's Inside Online
/// replica with that key against this server, catching up every 5 seconds.
/// Where this process's webhooks may go, as the settings say.
fn webhook_reach(settings: &Settings) -> relais_api::reach::WebhookReach {
    if settings.webhook_private_addresses {
        relais_api::reach::WebhookReach::Anywhere
    } else {
        relais_api::reach::WebhookReach::PublicOnly
    }
}

async fn serve(
    settings: &Settings,
    store: SharedStore,
    catalog: std::sync::Arc<relais_web::Catalog>,
    replica_key: Option<String>,
) -> Result<()> {
    let sealer = settings.secret_key.sealer()?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    // The runtime reads this base through the API this process serves.
    let own = if addr.ip().is_unspecified() {
        std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let runtime = relais_sync::runtime::Runtime::new(
        store.clone(),
        sealer.clone(),
        runtime_options(settings, &format!("http://{own}"))?,
    );
    let state = AppState::new(store.clone(), settings.rate_limit)
        .with_sealer(sealer)
        .with_webhook_reach(webhook_reach(settings))
        .with_public_url(settings.public_url.as_deref())
        .with_connectors(
            relais_sync::connectors::catalog(),
            std::sync::Arc::new(runtime.clone()),
        );
    let app = relais_api::layers::harden(
        axum::Router::new()
            .merge(relais_api::router(state.clone()))
            .merge(relais_web::router(catalog, state.clone()))
            .with_state(state.clone()),
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sync = tokio::spawn(
        runtime.serve(std::time::Duration::from_secs(2), async move {
            let mut stopped = stopped;
            let _ = stopped.changed().await;
        }),
    );
    // Webhook endpoints get their events from this process too, one
    // process per endpoint at a time (leases).
    let public = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{own}"));
    let deliveries = {
        let mut stopped = stop.subscribe();
        tokio::spawn(
            relais_api::deliver::Deliverer::new(state.clone(), &public).serve(
                std::time::Duration::from_millis(500),
                async move {
                    let _ = stopped.changed().await;
                },
            ),
        )
    };
    if let Some(key) = replica_key {
        let replica = relais_sandbox::replica::Replica::new(&format!("http://{own}"), &key);
        tokio::spawn(replica.run(std::time::Duration::from_secs(5)));
        out!("Inside Online replica: a copy of what its key reads, caught up every 5 s (its reads and lag: /integrations/inside-online)");
    }
    out!(
        "relais is serving {} ({}) at http://{addr}/",
        settings.database,
        store.backend()
    );
    std::io::stdout().flush()?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    let _ = stop.send(true);
    let _ = sync.await;
    let _ = deliveries.await;
    // Every request answered is in the audit trail before the process ends.
    state.audit.flush().await;
    Ok(())
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

async fn base_command(settings: &Settings, cmd: BaseCommand) -> Result<()> {
    let store = open(settings).await?;
    match cmd {
        BaseCommand::List => {
            let today = TimeZone::PARIS.today();
            let bases = store.list_bases().await?;
            if bases.is_empty() {
                out!("no base yet: create one with `relais base create production --kind production`");
            }
            out!(
                "{:<20} {:<11} {:>10} {:>8} {:>8} {:>8} {:>10} {:>10}",
                "NAME",
                "KIND",
                "EMPLOYEES",
                "ACTIVE",
                "FUTURE",
                "FORMER",
                "ABSENCES",
                "EXPENSES"
            );
            for b in bases {
                let c = store.base_counts(b.id, today).await?;
                out!(
                    "{:<20} {:<11} {:>10} {:>8} {:>8} {:>8} {:>10} {:>10}",
                    b.name.as_str(),
                    b.kind.as_str(),
                    c.employees(),
                    c.active_employees,
                    c.future_employees,
                    c.former_employees,
                    c.leave_periods,
                    c.expense_claims
                );
            }
        }
        BaseCommand::Create { name, kind } => {
            let name = BaseName::parse(&name)?;
            let kind: BaseKind = kind.parse()?;
            let base = store.create_base(&name, kind).await?;
            out!("created {} base '{}'", base.kind, base.name);
        }
        BaseCommand::Copy { from, to } => {
            let source = find_base(&store, &from).await?;
            let target = find_base(&store, &to).await?;
            let c =
                relais_app::bases::refresh_test_base(&store, &source, &target, Actor::CommandLine)
                    .await?;
            out!(
                "refreshed '{}' from '{}': {} employees, {} leave periods, {} expense claims (API keys are not copied)",
                target.name, source.name, c.employees(), c.leave_periods, c.expense_claims
            );
        }
    }
    Ok(())
}

async fn keys_command(settings: &Settings, cmd: KeysCommand) -> Result<()> {
    use relais_core::access::{KeyUsage, Role};
    use relais_core::employee::Email;
    use relais_core::org::Name;
    let store = open(settings).await?;
    match cmd {
        KeysCommand::Create {
            base,
            name,
            contact,
            usage,
            grants,
        } => {
            let base = find_base(&store, &base).await?;
            let name = Name::parse("name", &name)?;
            let contact = Email::parse(&contact)?;
            let usage: KeyUsage = usage.parse()?;
            let role = Role::parse(&grants)?;
            let (key, secret) = relais_app::keys::create_key(
                &store,
                base.id,
                name,
                contact,
                usage,
                role,
                Actor::CommandLine,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            out!(
                "created key {} '{}' on base '{}' with grants: {}",
                key.id,
                key.name,
                base.name,
                key.role.codes().join(", ")
            );
            out!("{secret}");
            out!("this is the only time the key is shown: hand it to its user with the base URL");
        }
        KeysCommand::List { base } => {
            let base = find_base(&store, &base).await?;
            out!(
                "{:>5}  {:<24} {:<28} {:<11} {:<20} {:<20} GRANTS",
                "ID",
                "NAME",
                "CONTACT",
                "USAGE",
                "LAST USE",
                "REVOKED"
            );
            for k in store.list_api_keys(base.id).await? {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or("-".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
                };
                out!(
                    "{:>5}  {:<24} {:<28} {:<11} {:<20} {:<20} {}",
                    k.id,
                    k.name.as_str(),
                    k.contact.as_str(),
                    k.usage.as_str(),
                    when(k.last_used_at),
                    when(k.revoked_at),
                    k.role.codes().join(" ")
                );
            }
        }
        KeysCommand::Revoke { id } => {
            let key = relais_app::keys::revoke_key(&store, id, Actor::CommandLine).await?;
            out!("revoked key {} '{}': it now answers 401", key.id, key.name);
        }
        KeysCommand::Audit { id, limit } => {
            let key = store.get_api_key(id).await?;
            out!("latest requests of key {} '{}'", key.id, key.name);
            for r in store.list_requests(id, limit).await? {
                out!(
                    "{}  {:<6} {:>3}  {:>5} employees  {}",
                    r.at.format("%Y-%m-%d %H:%M:%S"),
                    r.method,
                    r.status,
                    r.employee_records,
                    r.path
                );
            }
            let limited = store.limited_requests(id, limit).await?;
            if !limited.is_empty() {
                out!("requests refused for going over the rate limit, per minute:");
                for (minute, n) in limited {
                    out!("{}  {n} refused (429)", minute.format("%Y-%m-%d %H:%M"));
                }
            }
        }
    }
    Ok(())
}

/// The password given (`-`: read from standard input), or a generated one
/// (then `true`); at least [`MIN_PASSWORD_CHARS`] characters.
///
/// [`MIN_PASSWORD_CHARS`]: relais_web::session::MIN_PASSWORD_CHARS
fn new_password(given: Option<String>) -> Result<(String, bool)> {
    let (password, generated) = match given {
        None => (relais_web::session::generate_password(), true),
        Some(p) => (stdin_if_dash(&p)?, false),
    };
    let least = relais_web::session::MIN_PASSWORD_CHARS;
    if password.chars().count() < least {
        bail!("the password must hold at least {least} characters");
    }
    Ok((password, generated))
}

/// What an account may do, in words.
fn rights_text(apps: bool, keys: bool) -> String {
    let mut rights = Vec::new();
    if apps {
        rights.push("install and uninstall apps (--apps-admin)");
    }
    if keys {
        rights.push("manage accounts and keys (--keys-admin)");
    }
    if rights.is_empty() {
        "read the pages only".to_owned()
    } else {
        rights.join(", ")
    }
}

async fn people_command(settings: &Settings, cmd: PeopleCommand) -> Result<()> {
    let store = open(settings).await?;
    match cmd {
        PeopleCommand::Create {
            email,
            name,
            password,
            apps_admin,
            keys_admin,
        } => {
            let (password, generated) = new_password(password)?;
            let person = store
                .create_person(
                    &relais_store::NewPerson {
                        email: relais_core::employee::Email::parse(&email)?,
                        name: relais_core::org::Name::parse("name", &name)?,
                        password_hash: relais_web::session::hash_password(&password),
                        can_admin_apps: apps_admin,
                        can_manage_keys: keys_admin,
                    },
                    None,
                )
                .await?;
            out!("created account {} for {}", person.id, person.email);
            if generated {
                out!("password: {password} (shown once)");
            }
        }
        PeopleCommand::List => {
            out!(
                "{:>4}  {:<32} {:<24} {:<6} {:<6} STATUS",
                "ID",
                "E-MAIL",
                "NAME",
                "APPS",
                "KEYS"
            );
            for p in store.list_people().await? {
                let status = p.disabled_at.map_or_else(
                    || "active".to_owned(),
                    |at| format!("disabled since {}", at.format("%Y-%m-%d %H:%M UTC")),
                );
                out!(
                    "{:>4}  {:<32} {:<24} {:<6} {:<6} {status}",
                    p.id,
                    p.email.as_str(),
                    p.name.as_str(),
                    p.can_admin_apps,
                    p.can_manage_keys
                );
            }
        }
        PeopleCommand::Password { email, password } => {
            let (password, generated) = new_password(password)?;
            let person = store
                .set_person_password(&email, &relais_web::session::hash_password(&password), None)
                .await?;
            out!(
                "new password for {}; their open sessions are ended",
                person.email
            );
            if generated {
                out!("password: {password} (shown once)");
            }
        }
        PeopleCommand::Disable { email } => {
            let person = store.set_person_disabled(&email, true, None).await?;
            out!(
                "{} is disabled: signing in is refused and their open sessions are ended",
                person.email
            );
        }
        PeopleCommand::Enable { email } => {
            let person = store.set_person_disabled(&email, false, None).await?;
            out!("{} may sign in again", person.email);
        }
        PeopleCommand::Rights {
            email,
            apps_admin,
            keys_admin,
        } => {
            let p = store
                .set_person_rights(&email, apps_admin, keys_admin, None)
                .await?;
            out!(
                "{} may now: {}",
                p.email,
                rights_text(p.can_admin_apps, p.can_manage_keys)
            );
        }
        PeopleCommand::Rename {
            email,
            name,
            new_email,
        } => {
            let Some((person, _)) = store.person_by_email(&email).await? else {
                bail!("account {email} does not exist");
            };
            let name = match name {
                Some(name) => relais_core::org::Name::parse("name", &name)?,
                None => person.name,
            };
            let new_email = match new_email {
                Some(e) => relais_core::employee::Email::parse(&e)?,
                None => person.email,
            };
            let p = store
                .set_person_identity(&email, &name, &new_email, None)
                .await?;
            out!("account {} is now {} <{}>", p.id, p.name, p.email);
        }
        PeopleCommand::History { email, limit } => {
            let Some((person, _)) = store.person_by_email(&email).await? else {
                bail!("account {email} does not exist");
            };
            let people = store.list_people().await?;
            let who = |id: Option<relais_core::ids::PersonId>| match id {
                None => "command line".to_owned(),
                Some(id) => people
                    .iter()
                    .find(|p| p.id == id)
                    .map_or_else(|| format!("account {id}"), |p| p.email.to_string()),
            };
            out!(
                "{:<19}  {:<9} {:<6} {:<6} BY",
                "WHEN (UTC)",
                "CHANGE",
                "APPS",
                "KEYS"
            );
            for c in store.list_account_changes(person.id, limit).await? {
                let before = c
                    .previously
                    .map(|b| format!(" (before: {b})"))
                    .unwrap_or_default();
                out!(
                    "{:<19}  {:<9} {:<6} {:<6} {}{before}",
                    c.at.format("%Y-%m-%d %H:%M:%S"),
                    c.kind.code(),
                    c.can_admin_apps,
                    c.can_manage_keys,
                    who(c.by)
                );
            }
        }
        PeopleCommand::SignIns { email, limit } => {
            out!(
                "{:<19}  {:<9} {:<32} ADDRESS",
                "WHEN (UTC)",
                "OUTCOME",
                "E-MAIL"
            );
            for a in store.list_sign_ins(email.as_deref(), limit).await? {
                out!(
                    "{:<19}  {:<9} {:<32} {}",
                    a.at.format("%Y-%m-%d %H:%M:%S"),
                    a.outcome.code(),
                    a.email,
                    a.address
                );
            }
        }
    }
    Ok(())
}

/// Serves relais's own API on a free local port, for integrations that read
/// this base while no server is running (`relais sync run`): its URL, and
/// its audit trail's writer (to flush before the process ends).
async fn local_api(
    settings: &Settings,
    store: &SharedStore,
) -> Result<(String, relais_api::audit::AuditLog)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(store.clone(), settings.rate_limit);
    let audit = state.audit.clone();
    let app = relais_api::layers::harden(
        axum::Router::new()
            .merge(relais_api::router(state.clone()))
            .with_state(state),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the local API stopped");
        }
    });
    Ok((url, audit))
}

/// `NAME=VALUE`, with `-` read from standard input.
fn pair(raw: &str, what: &str) -> Result<(String, String)> {
    let Some((name, value)) = raw.split_once('=') else {
        bail!("{what} '{raw}' is not NAME=VALUE");
    };
    Ok((name.trim().to_owned(), stdin_if_dash(value)?))
}

fn stdin_if_dash(value: &str) -> Result<String> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| {
            t.with_timezone(&TimeZone::PARIS.0)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}

async fn sync_command(settings: &Settings, cmd: SyncCommand) -> Result<()> {
    use relais_core::integration::{IntegrationUpdate, RunStatus, Trigger};
    // A run in its own process is a short batch: a small page cache keeps
    // its memory flat whatever the base's size.
    let cache = if matches!(cmd, SyncCommand::Run { .. }) {
        2
    } else {
        32
    };
    let store = open_cached(settings, cache).await?;
    match cmd {
        SyncCommand::List { base } => {
            let base = match base {
                Some(name) => Some(find_base(&store, &name).await?.id),
                None => None,
            };
            let bases = store.list_bases().await?;
            let list = store.list_integrations(base).await?;
            if list.is_empty() {
                out!("no integration: install HappyPal, PlanningPME, Semana or Ledgy from the marketplace first");
            }
            for i in list {
                let base_name = bases
                    .iter()
                    .find(|b| b.id == i.base_id)
                    .map_or("?".to_owned(), |b| b.name.to_string());
                let last = store.list_runs(i.installation_id, 1).await?;
                out!(
                    "{:>4}  {:<12} {:<12} {:<9} next run {}  last run {}  {}",
                    i.installation_id,
                    partner_name(&i.connector),
                    base_name,
                    i.health.as_str(),
                    when(i.next_run_at),
                    last.first().map_or("-".to_owned(), |r| format!(
                        "{} ({})",
                        r.id,
                        r.status.as_str()
                    )),
                    i.reason("en")
                );
            }
            Ok(())
        }
        SyncCommand::Configure(args) => {
            let crate::ConfigureArgs {
                installation,
                partner_url,
                secrets,
                source_url,
                source_key,
                own_source,
                schedule,
                full_schedule,
                time_zone,
                options,
                pause,
                resume,
            } = *args;
            let sealer = settings.secret_key.sealer()?;
            let mut integration = store.get_integration(installation).await?;
            let mut update = IntegrationUpdate {
                partner_url,
                schedule,
                full_schedule,
                time_zone,
                ..IntegrationUpdate::default()
            };
            for raw in &secrets {
                update.secrets.push(pair(raw, "--secret")?);
            }
            for raw in &options {
                update.options.push(pair(raw, "--option")?);
            }
            if own_source {
                update.source_url = Some(None);
            } else if let Some(url) = source_url {
                update.source_url = Some(Some(url));
            }
            if let Some(key) = source_key {
                update.secrets.push((
                    relais_core::integration::SOURCE_KEY.as_str().to_owned(),
                    stdin_if_dash(&key)?,
                ));
            }
            if let Some(reason) = pause {
                update.pause = Some(Some(reason));
            } else if resume {
                update.pause = Some(None);
            }
            let connector = connector_of(&integration)?;
            integration
                .apply(connector.as_ref(), &update, &sealer, relais_core::now())
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            store
                .change_integration(&integration, Action::SettingsChanged, Actor::CommandLine)
                .await?;
            let secrets = sealer.open(&integration.sealed_secrets)?;
            let missing = integration.missing_settings(connector.declaration(), &secrets);
            out!(
                "installation {installation} ({}): schedule '{}' ({}), full '{}', next run {}{}",
                partner_name(&integration.connector),
                integration.schedule.as_str(),
                integration.time_zone.0.name(),
                integration.full_schedule.as_str(),
                when(integration.next_run_at),
                match &integration.paused {
                    Some(why) => format!(", paused: {why}"),
                    None => String::new(),
                }
            );
            if !missing.is_empty() {
                out!("still missing before it can run: {}", missing.join(", "));
            }
            Ok(())
        }
        SyncCommand::Run {
            installation,
            dry_run,
            full,
        } => {
            let sealer = settings.secret_key.sealer()?;
            let integration = store.get_integration(installation).await?;
            let (api, audit) = local_api(settings, &store).await?;
            let runtime = relais_sync::runtime::Runtime::new(
                store.clone(),
                sealer,
                runtime_options(settings, &api)?,
            );
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("valid template"),
            );
            spinner.set_message(format!(
                "syncing {} (installation {installation}){}",
                partner_name(&integration.connector),
                if dry_run { ", dry run" } else { "" }
            ));
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let run = runtime
                .run_now(installation, Trigger::Cli, dry_run, full)
                .await;
            // The run's reads of the base are in the audit trail before the process ends.
            audit.flush().await;
            spinner.finish_and_clear();
            let run = run?;
            print_report(&store, run.id, false).await?;
            if run.status == RunStatus::Failed {
                bail!(
                    "run {} failed: {}",
                    run.id,
                    relais_core::integration::HealthReason::read(
                        &run.error.unwrap_or_default(),
                        "en"
                    )
                );
            }
            Ok(())
        }
        SyncCommand::Runs {
            installation,
            limit,
        } => {
            store.get_integration(installation).await?;
            for r in store.list_runs(installation, limit).await? {
                out!(
                    "{:>6}  {:<11} {:<8} {}{} started {}  written {} of {}  {} requests  {}",
                    r.id,
                    r.status.as_str(),
                    r.trigger.as_str(),
                    if r.full { "full" } else { "incremental" },
                    if r.dry_run { " (dry run)" } else { "" },
                    when(r.started_at),
                    r.counts.written(),
                    r.counts.total(),
                    r.partner_requests,
                    relais_core::integration::HealthReason::read(
                        &r.error.unwrap_or_default(),
                        "en"
                    )
                );
            }
            Ok(())
        }
        SyncCommand::Report { run, json } => print_report(&store, run, json).await,
        SyncCommand::Settings { installation } => {
            let integration = store.get_integration(installation).await?;
            let connector = connector_of(&integration)?;
            let d = connector.declaration();
            let secrets = settings
                .secret_key
                .sealer()?
                .open(&integration.sealed_secrets)?;
            out!(
                "installation {installation}: {} (connector {})",
                d.name,
                d.code
            );
            out!(
                "partner_url      {}",
                if integration.partner_url.is_empty() {
                    "(not set)"
                } else {
                    &integration.partner_url
                }
            );
            for s in d.secrets {
                let state = if secrets
                    .get(relais_core::secret::SecretName::Partner(s.name))
                    .is_some()
                {
                    "set"
                } else {
                    "not set"
                };
                out!("--secret {:<16} {state:<8} {}", s.name, s.label_en);
            }
            for o in d.options {
                let value = o.show(
                    integration
                        .options
                        .get(o.name)
                        .unwrap_or(&serde_json::Value::Null),
                );
                let kind = match o.kind {
                    relais_core::connector::SettingKind::Number { min, max } => {
                        format!("number {min}..{max}")
                    }
                    relais_core::connector::SettingKind::Department => {
                        "department id, blank for all".to_owned()
                    }
                    relais_core::connector::SettingKind::Accounts => {
                        "absence account ids, comma-separated".to_owned()
                    }
                    relais_core::connector::SettingKind::Account => {
                        "absence account id, blank for the default".to_owned()
                    }
                    other => format!("{other:?}").to_lowercase(),
                };
                out!(
                    "--option {:<16} {:<10} {} ({kind}) — {}",
                    o.name,
                    if value.is_empty() { "-" } else { &value },
                    o.label_en,
                    o.help_en
                );
            }
            if let Some(min) = d.schedule.min_interval() {
                out!(
                    "schedule: '{}' — {} takes a run every {} h at most",
                    integration.schedule.as_str(),
                    d.name,
                    min.num_hours()
                );
            } else {
                out!("schedule: '{}'", integration.schedule.as_str());
            }
            for s in d.streams {
                out!(
                    "stream {:<18} {} {}",
                    s.name,
                    s.direction.arrow(),
                    s.label_en
                );
            }
            Ok(())
        }
        SyncCommand::Test { installation } => {
            use relais_core::integration::ConnectionCheck as _;
            let integration = store.get_integration(installation).await?;
            let runtime = local_runtime(settings, &store).await?;
            match runtime.check(&integration).await {
                Ok(()) => {
                    out!("installation {installation}: {} answered with these settings; nothing was written", partner_name(&integration.connector));
                    Ok(())
                }
                Err(why) => bail!("installation {installation}: the connection failed: {why}"),
            }
        }
        SyncCommand::Preview {
            installation,
            search,
            page,
            per_page,
            json,
        } => {
            use relais_core::integration::MappingTools as _;
            let integration = store.get_integration(installation).await?;
            let runtime = local_runtime(settings, &store).await?;
            let query = relais_core::mapping::PreviewQuery {
                search,
                page,
                per_page,
            };
            let preview = match runtime.tool(&integration, true).await {
                Ok(tool) => tool.preview(&query).await,
                Err(why) => Err(why),
            }
            .map_err(|why| anyhow::anyhow!("installation {installation}: no preview: {why}"))?;
            if json {
                out!("{}", serde_json::to_string_pretty(&preview)?);
                return Ok(());
            }
            for row in &preview.rows {
                let status = serde_json::to_value(row.status)?;
                out!(
                    "{:<10} {} ({})",
                    status.as_str().unwrap_or_default(),
                    row.name,
                    row.identifier
                );
                for f in &row.fields {
                    if f.held != f.sent {
                        out!("    {}: {} → {}", f.target, f.held, f.sent);
                    }
                }
            }
            if preview.more {
                out!("… more on page {}", page + 1);
            }
            for s in &preview.skipped {
                out!("skipped    {}: {}", s.name, s.reason);
            }
            Ok(())
        }
        SyncCommand::Reset { installation } => {
            let integration = store.get_integration(installation).await?;
            relais_sync::runtime::reset_ledger(&store, installation).await?;
            out!(
                "installation {installation}: the ledger is empty; the next run sends every record to {} again",
                partner_name(&integration.connector)
            );
            Ok(())
        }
    }
}

/// A sync runtime reading this base through a local API of its own.
async fn local_runtime(
    settings: &Settings,
    store: &SharedStore,
) -> Result<relais_sync::runtime::Runtime> {
    let (api, _audit) = local_api(settings, store).await?;
    Ok(relais_sync::runtime::Runtime::new(
        store.clone(),
        settings.secret_key.sealer()?,
        runtime_options(settings, &api)?,
    ))
}

/// The runtime's options: reading this base at `own_api`, trusting the
/// extra certificate authority of `--partner-ca-file` when one is set.
fn runtime_options(
    settings: &Settings,
    own_api: &str,
) -> Result<relais_sync::runtime::RuntimeOptions> {
    let mut options = relais_sync::runtime::RuntimeOptions::new(own_api);
    if let Some(path) = &settings.partner_ca_file {
        options.tls = relais_sync::http::Tls::default()
            .with_ca_file(path)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    if let Some(url) = &settings.smtp_url {
        options.mailer = Some(
            relais_sync::alerts::Mailer::new(url, &settings.mail_from)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    options.public_url = settings.public_url.clone();
    let days = |n: u32| std::time::Duration::from_secs(u64::from(n) * 86_400);
    options.event_retention = days(settings.event_retention_days);
    options.audit_retention = days(settings.audit_retention_days);
    options.run_retention = days(settings.run_retention_days);
    Ok(options)
}

/// The partner's name of a connector code (the code itself for a connector
/// this relais does not run).
fn partner_name(code: &relais_core::connector::ConnectorCode) -> &str {
    relais_sync::connectors::find(code.as_str()).map_or(code.as_str(), |c| c.declaration().name)
}

/// The connector of an integration, or why it cannot be configured here.
fn connector_of(
    integration: &relais_core::integration::Integration,
) -> Result<std::sync::Arc<dyn relais_sync::engine::Connector>> {
    relais_sync::connectors::find(integration.connector.as_str()).with_context(|| {
        format!(
            "installation {}: this relais runs no connector '{}'",
            integration.installation_id, integration.connector
        )
    })
}

/// Prints a run's report, its lines read page by page.
async fn print_report(store: &SharedStore, run: relais_core::ids::RunId, json: bool) -> Result<()> {
    let r = store.get_run(run).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        let lines = store.run_lines(run, 0, u32::MAX).await?;
        serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "run": r, "lines": lines }))?;
        writeln!(out)?;
        return Ok(out.flush()?);
    }
    let seconds = match (r.started_at, r.finished_at) {
        (Some(a), Some(b)) => format!("{:.1} s", (b - a).num_milliseconds() as f64 / 1000.0),
        _ => "-".to_owned(),
    };
    writeln!(
        out,
        "run {} of installation {}: {}{}, {}, asked by {}",
        r.id,
        r.installation_id,
        r.status.as_str(),
        if r.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        if r.full {
            "full reconciliation"
        } else {
            "incremental"
        },
        r.trigger.as_str()
    )?;
    writeln!(
        out,
        "started {}, took {seconds}, {} requests to the partner",
        when(r.started_at),
        r.partner_requests
    )?;
    if let Some(e) = &r.error {
        let e = relais_core::integration::HealthReason::read(e, "en");
        writeln!(out, "stopped: {e}")?;
    }
    let c = r.counts;
    writeln!(
        out,
        "created {} · linked {} · updated {} · overwritten {} · deleted {} · deactivated {} · unchanged {} · skipped {} · failed {}",
        c.created, c.linked, c.updated, c.overwritten, c.deleted, c.deactivated, c.unchanged, c.skipped, c.failed
    )?;
    // Each line's stream, with the way it goes.
    let declaration = store
        .get_integration(r.installation_id)
        .await
        .ok()
        .and_then(|i| relais_sync::connectors::find(i.connector.as_str()))
        .map(|c| c.declaration());
    let stream_of = |name: &str| match declaration.and_then(|d| d.stream(name)) {
        Some(s) => format!("{} {}", s.name, s.direction.arrow()),
        None => name.to_owned(),
    };
    for (name, c) in r.streams.iter().filter(|_| r.streams.len() > 1) {
        writeln!(
            out,
            "  {:<24} created {} · linked {} · updated {} · deleted {} · deactivated {} · unchanged {} · skipped {} · failed {}",
            stream_of(name),
            c.created,
            c.linked,
            c.updated + c.overwritten,
            c.deleted,
            c.deactivated,
            c.unchanged,
            c.skipped,
            c.failed
        )?;
    }
    let mut offset = 0u64;
    loop {
        let lines = store.run_lines(run, offset, 1000).await?;
        if lines.is_empty() {
            break;
        }
        offset += lines.len() as u64;
        for l in lines {
            let fields = l
                .fields
                .iter()
                .map(|f| format!("{}: {} → {}", f.field, f.before, f.after))
                .collect::<Vec<_>>()
                .join("; ");
            writeln!(
                out,
                "  {:<11} {:<12} {:<24} {}{}",
                l.outcome.code(),
                if l.label.is_empty() {
                    l.key.clone()
                } else {
                    format!("{} ({})", l.label, l.key)
                },
                stream_of(&l.stream),
                l.outcome
                    .reason()
                    .map(|r| format!("{r} "))
                    .unwrap_or_default(),
                fields
            )?;
        }
    }
    Ok(out.flush()?)
}
