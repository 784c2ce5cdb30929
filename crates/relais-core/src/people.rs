//! People who sign in to the admin pages, and the apps they install.

use crate::employee::Email;
use crate::ids::{BaseId, InstallationId, KeyId, PersonId};
use crate::org::Name;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// An admin-page account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    /// Its identifier.
    pub id: PersonId,
    /// E-mail, used to sign in.
    pub email: Email,
    /// Name shown.
    pub name: Name,
    /// « Administration des applications »: may install and uninstall apps.
    pub can_admin_apps: bool,
    /// « Gestion des rôles et des clés API »: may create and revoke keys.
    pub can_manage_keys: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// Since when the account is disabled (it signs in no more), if it is.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Whether its password was set by someone else from the pages (at its
    /// creation, or given anew by an administrator): its owner chooses
    /// their own before any other page opens.
    pub must_choose_password: bool,
}

/// What was done to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AccountChangeKind {
    /// It was created.
    Created,
    /// Its rights were set.
    Rights,
    /// It was given a new password.
    Password,
    /// It was disabled.
    Disabled,
    /// It was enabled again.
    Enabled,
    /// Its name or e-mail was changed.
    Identity,
}

impl AccountChangeKind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Created,
        Self::Rights,
        Self::Password,
        Self::Disabled,
        Self::Enabled,
        Self::Identity,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Rights => "rights",
            Self::Password => "password",
            Self::Disabled => "disabled",
            Self::Enabled => "enabled",
            Self::Identity => "identity",
        }
    }

    /// The kind stored as `code`.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One change of an account: what it was, the rights the account held
/// after it, who made it and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountChange {
    /// What was done.
    pub kind: AccountChangeKind,
    /// « Administration des applications », after the change.
    pub can_admin_apps: bool,
    /// « Gestion des rôles et des clés API », after the change.
    pub can_manage_keys: bool,
    /// Who made it from the pages; `None` from the command line.
    pub by: Option<PersonId>,
    /// When.
    pub at: DateTime<Utc>,
    /// For a change of name or e-mail, what the account was called before
    /// it: `Name <e-mail>`.
    pub previously: Option<String>,
}

/// An app installed on a base, with the key its installation created.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Installation {
    /// Its identifier.
    pub id: InstallationId,
    /// The base.
    pub base_id: BaseId,
    /// The app's code in the catalog.
    pub app: String,
    /// The key created for it.
    pub key_id: KeyId,
    /// The technical contact at the partner.
    pub contact: Email,
    /// Who installed it.
    pub installed_by: PersonId,
    /// When.
    pub installed_at: DateTime<Utc>,
    /// When it was uninstalled (its key revoked).
    pub uninstalled_at: Option<DateTime<Utc>>,
}
