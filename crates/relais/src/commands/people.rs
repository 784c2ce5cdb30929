//! `relais people` and `relais activity`: accounts of the admin pages and the
//! journal of who did what.

use super::{open, stdin_if_dash};
use crate::config::Settings;
use crate::PeopleCommand;
use anyhow::{bail, Result};
use relais_core::activity::{Action, Actor};

/// `relais people`: the accounts of the admin pages.
pub(super) async fn people_command(settings: &Settings, cmd: PeopleCommand) -> Result<()> {
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

/// `relais activity`: the journal, newest first, one entry a line.
pub(super) async fn activity_command(
    settings: &Settings,
    email: Option<String>,
    limit: u32,
) -> Result<()> {
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
        let on = match (e.detail, e.action) {
            (Some(d), Action::WebhookStatus) => {
                let (status, why) = relais_core::webhooks::read_status_detail(&d, "en");
                match why {
                    Some(why) => format!("{} ({status}: {why})", e.subject),
                    None => format!("{} ({status})", e.subject),
                }
            }
            (Some(d), _) => format!("{} ({d})", e.subject),
            (None, _) => e.subject,
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
