//! `relais base` and `relais backup`.

use super::{find_base, open};
use crate::config::Settings;
use crate::BaseCommand;
use anyhow::{bail, Result};
use relais_core::activity::Actor;
use relais_core::base::{BaseKind, BaseName};
use relais_core::org::TimeZone;

/// `relais base`: list, create and refresh bases.
pub(super) async fn base_command(settings: &Settings, cmd: BaseCommand) -> Result<()> {
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

/// `relais backup FILE`: the SQLite database copied whole into `file`, and
/// a reminder of the master key its sealed credentials need.
pub(super) async fn backup_command(settings: &Settings, file: &std::path::Path) -> Result<()> {
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
