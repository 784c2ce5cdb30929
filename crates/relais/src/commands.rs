//! What each subcommand does.

use crate::config::{Overrides, Settings};
use crate::{BaseCommand, Cli, Command, KeysCommand, PeopleCommand};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use relais_api::AppState;
use relais_core::base::{Base, BaseKind, BaseName};
use relais_core::org::TimeZone;
use relais_sandbox::demo::{self, DemoOptions};
use relais_store::{SharedStore, StoreError};
use std::io::Write;
use tracing_subscriber::EnvFilter;

/// Runs the command line.
pub fn run(cli: Cli) -> Result<()> {
    let listen = match &cli.command {
        Command::Demo { listen, .. } | Command::Serve { listen } => *listen,
        _ => None,
    };
    let settings = Settings::resolve(&Overrides {
        config: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
        listen,
        log: cli.global.log.clone(),
        rate_limit: cli.global.rate_limit,
    })?;
    let filter = EnvFilter::try_new(&settings.log)
        .map_err(|e| anyhow::anyhow!("invalid log filter '{}': {e}", settings.log))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let catalog = std::sync::Arc::new(match &cli.global.integrations {
        Some(dir) => relais_web::Catalog::load_dir(dir)?,
        None => relais_web::Catalog::embedded(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
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
                serve(&settings, store, catalog).await
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
            Command::Base(cmd) => base_command(&settings, cmd).await,
            Command::Keys(cmd) => keys_command(&settings, cmd).await,
            Command::People(cmd) => people_command(&settings, cmd).await,
        }
    })
}

async fn open(settings: &Settings) -> Result<SharedStore> {
    Ok(relais_store::open(&settings.database).await?)
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
    println!(
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
    if store.list_bases().await?.is_empty() {
        println!(
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
        store.copy_base(production.id, test.id).await?;
        println!("created the test base 'test' as a copy of 'production'");
        let password = relais_api::auth::random_hex(8);
        store
            .create_person(&relais_store::NewPerson {
                email: relais_core::employee::Email::parse("admin@relais.demo")?,
                name: relais_core::org::Name::parse("name", "Admin démo")?,
                password_hash: relais_web::session::hash_password(&password),
                can_admin_apps: true,
                can_manage_keys: true,
            })
            .await?;
        println!("sign in to the admin pages as admin@relais.demo with the password {password} (shown once)");
    }
    serve(settings, store, catalog).await
}

async fn serve(
    settings: &Settings,
    store: SharedStore,
    catalog: std::sync::Arc<relais_web::Catalog>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(store.clone(), settings.rate_limit);
    let app = axum::Router::new()
        .merge(relais_api::router(state.clone()))
        .merge(relais_web::router(catalog))
        .with_state(state);
    println!(
        "relais is serving {} ({}) at http://{addr}/",
        settings.database,
        store.backend()
    );
    std::io::stdout().flush()?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
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
                println!("no base yet: create one with `relais base create production --kind production`");
            }
            println!(
                "{:<20} {:<11} {:>10} {:>8} {:>8} {:>8} {:>10} {:>10}",
                "NAME", "KIND", "EMPLOYEES", "ACTIVE", "FUTURE", "FORMER", "ABSENCES", "EXPENSES"
            );
            for b in bases {
                let c = store.base_counts(b.id, today).await?;
                println!(
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
            println!("created {} base '{}'", base.kind, base.name);
        }
        BaseCommand::Copy { from, to } => {
            let source = find_base(&store, &from).await?;
            let target = find_base(&store, &to).await?;
            if target.kind != BaseKind::Test {
                bail!("refusing to overwrite '{}': it is a {} base, and only a test base can be refreshed from another base", target.name, target.kind);
            }
            if source.id == target.id {
                bail!("'{}' cannot be copied onto itself", source.name);
            }
            store.copy_base(source.id, target.id).await?;
            let c = store
                .base_counts(target.id, TimeZone::PARIS.today())
                .await?;
            println!(
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
            let (key, secret) =
                relais_api::auth::create_key(&store, base.id, name, contact, usage, role)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created key {} '{}' on base '{}' with grants: {}",
                key.id,
                key.name,
                base.name,
                key.role.codes().join(", ")
            );
            println!("{secret}");
            println!(
                "this is the only time the key is shown: hand it to its user with the base URL"
            );
        }
        KeysCommand::List { base } => {
            let base = find_base(&store, &base).await?;
            println!(
                "{:>5}  {:<24} {:<28} {:<11} {:<20} {:<20} GRANTS",
                "ID", "NAME", "CONTACT", "USAGE", "LAST USE", "REVOKED"
            );
            for k in store.list_api_keys(base.id).await? {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or("-".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
                };
                println!(
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
            let key = store.revoke_api_key(id).await?;
            println!("revoked key {} '{}': it now answers 401", key.id, key.name);
        }
        KeysCommand::Audit { id, limit } => {
            let key = store.get_api_key(id).await?;
            println!("latest requests of key {} '{}'", key.id, key.name);
            for r in store.list_requests(id, limit).await? {
                println!(
                    "{}  {:<6} {:>3}  {:>5} employees  {}",
                    r.at.format("%Y-%m-%d %H:%M:%S"),
                    r.method,
                    r.status,
                    r.employee_records,
                    r.path
                );
            }
        }
    }
    Ok(())
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
            let generated = password.is_none();
            let password = password.unwrap_or_else(|| relais_api::auth::random_hex(8));
            if password.chars().count() < 10 {
                bail!("the password must hold at least 10 characters");
            }
            let person = store
                .create_person(&relais_store::NewPerson {
                    email: relais_core::employee::Email::parse(&email)?,
                    name: relais_core::org::Name::parse("name", &name)?,
                    password_hash: relais_web::session::hash_password(&password),
                    can_admin_apps: apps_admin,
                    can_manage_keys: keys_admin,
                })
                .await?;
            println!("created account {} for {}", person.id, person.email);
            if generated {
                println!("password: {password} (shown once)");
            }
        }
        PeopleCommand::List => {
            println!(
                "{:>4}  {:<32} {:<24} {:<6} KEYS",
                "ID", "E-MAIL", "NAME", "APPS"
            );
            for p in store.list_people().await? {
                println!(
                    "{:>4}  {:<32} {:<24} {:<6} {}",
                    p.id,
                    p.email.as_str(),
                    p.name.as_str(),
                    p.can_admin_apps,
                    p.can_manage_keys
                );
            }
        }
    }
    Ok(())
}
