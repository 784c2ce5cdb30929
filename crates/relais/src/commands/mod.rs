//! What each subcommand does, one file a group of commands: the server
//! and the demo, bases, keys, people and the journal, and the sync.

use crate::config::{FileConfig, Overrides, Settings};
use crate::{Cli, Command};
use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use relais_core::base::{Base, BaseKind, BaseName};
use relais_core::org::TimeZone;
use relais_sandbox::demo::DemoOptions;
use relais_store::{SharedStore, StoreError};
use tracing_subscriber::EnvFilter;

/// Writes a line to standard output; a reader that stopped (`| head -1`)
/// ends the command quietly instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

mod base;
mod demo;
mod keys;
mod people;
mod serve;
mod sync;

use base::{backup_command, base_command};
use demo::demo_command;
use keys::keys_command;
use people::{activity_command, people_command};
use serve::serve;
use sync::sync_command;

/// The demo's log filter when none was chosen: its Inside Online replica
/// reads the API every 5 s, and one line for each of those requests would
/// push the lines the demo starts with (the address, the administrator's
/// password) out of sight within a minute. Each key's requests are on its
/// page in the admin pages; a filter chosen (`RELAIS_LOG=info`) shows them.
pub(crate) const DEMO_LOG: &str = "info,relais::access=warn";

/// The log filter in force: the one chosen, else the default (the demo's
/// own, [`DEMO_LOG`], for `demo`).
fn log_filter(settings: &Settings, demo: bool) -> &str {
    if demo && !settings.log_chosen {
        DEMO_LOG
    } else {
        &settings.log
    }
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
    let demo = matches!(cli.command, Command::Demo { .. });
    let log = log_filter(&settings, demo);
    let filter =
        EnvFilter::try_new(log).map_err(|e| anyhow::anyhow!("invalid log filter '{log}': {e}"))?;
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

/// Opens the configured store, SQLite's page cache at 32 MiB unless set.
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

/// The base named `raw`, or an error that lists the bases there are.
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

/// Seeds `base` with demo data, a progress bar on the terminal meanwhile.
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
    let counts =
        relais_sandbox::demo::seed(store.as_ref(), base, &options, &|n| bar.set_position(n))
            .await?;
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

/// `value`, or standard input's first line when it is `-`.
fn stdin_if_dash(value: &str) -> Result<String> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// An instant as people read it, in Paris time; `-` when there is none.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_has_a_log_of_its_own_unless_one_is_chosen() {
        let default = Settings::resolve(&Overrides::default()).unwrap();
        assert_eq!(log_filter(&default, true), DEMO_LOG);
        assert_eq!(log_filter(&default, false), "info");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("relais.toml");
        std::fs::write(&file, "log = \"info\"\n").unwrap();
        let chosen = Settings::resolve(&Overrides {
            config: Some(file),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(log_filter(&chosen, true), "info");
        assert!(EnvFilter::try_new(DEMO_LOG).is_ok());
    }
}
