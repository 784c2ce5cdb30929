//! `relais keys`: API keys from the command line.

use super::{find_base, open};
use crate::config::Settings;
use crate::KeysCommand;
use anyhow::Result;
use relais_core::activity::Actor;

/// `relais keys`: list, create and revoke API keys.
pub(super) async fn keys_command(settings: &Settings, cmd: KeysCommand) -> Result<()> {
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
