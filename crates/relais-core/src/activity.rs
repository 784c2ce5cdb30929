//! The activity journal: what people (from the pages), keys (through the
//! API) and the command line did to what relais connects — keys, installed
//! apps and their settings, webhook endpoints, test bases, accounts — by
//! whom and when. Each entry is written in the transaction of the change it
//! tells, so that a change without its entry cannot exist.

use crate::ids::{ActivityId, BaseId, KeyId, PersonId};
use crate::people::AccountChangeKind;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum Actor {
    /// A person signed in to the pages.
    Person(PersonId),
    /// A program, through the API with this key.
    Key(KeyId),
    /// Someone at the server's command line.
    CommandLine,
    /// relais itself, on its own rule (its runtime suspending a webhook
    /// endpoint that answers 410, say).
    Relais,
}

impl Actor {
    /// The stored code of the kind of actor.
    pub fn code(self) -> &'static str {
        match self {
            Actor::Person(_) => "person",
            Actor::Key(_) => "key",
            Actor::CommandLine => "command-line",
            Actor::Relais => "relais",
        }
    }
}

/// What a journal entry's action was made to: the kind of record its
/// `target` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetKind {
    /// An API key.
    Key,
    /// An installed app (and its integration).
    Installation,
    /// A webhook endpoint.
    Endpoint,
    /// A base.
    Base,
    /// An admin-page account.
    Account,
}

macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident = $code:literal on $target:ident;)*) => {
        /// What was done.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];

            /// The stored code, e.g. `key.created`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Action::$name => $code,)*
                }
            }

            /// The kind of record the action is made to.
            pub fn target(self) -> TargetKind {
                match self {
                    $(Action::$name => TargetKind::$target,)*
                }
            }
        }
    };
}

actions! {
    /// An API key was created.
    KeyCreated = "key.created" on Key;
    /// A key was given a new secret.
    KeyRotated = "key.rotated" on Key;
    /// A key was revoked.
    KeyRevoked = "key.revoked" on Key;
    /// An app was installed (with its key).
    AppInstalled = "app.installed" on Installation;
    /// An app was uninstalled (and its key revoked).
    AppUninstalled = "app.uninstalled" on Installation;
    /// An integration's settings were saved.
    SettingsChanged = "integration.settings" on Installation;
    /// An integration's mapping was saved.
    MappingChanged = "integration.mapping" on Installation;
    /// A run of an integration was asked for by hand.
    RunAsked = "integration.run" on Installation;
    /// A webhook endpoint was registered.
    WebhookCreated = "webhook.created" on Endpoint;
    /// A webhook endpoint was given a new secret.
    WebhookRotated = "webhook.rotated" on Endpoint;
    /// A webhook endpoint was deleted.
    WebhookDeleted = "webhook.deleted" on Endpoint;
    /// A webhook endpoint's events after a cursor were sent again.
    WebhookReplayed = "webhook.replayed" on Endpoint;
    /// A webhook endpoint was activated, found inactive or suspended.
    WebhookStatus = "webhook.status" on Endpoint;
    /// A test event was sent to a webhook endpoint.
    WebhookTested = "webhook.tested" on Endpoint;
    /// A test base was refreshed from another base.
    BaseRefreshed = "base.refreshed" on Base;
    /// An account was created.
    AccountCreated = "account.created" on Account;
    /// An account's rights were set.
    AccountRights = "account.rights" on Account;
    /// An account was given a new password.
    AccountPassword = "account.password" on Account;
    /// An account was disabled.
    AccountDisabled = "account.disabled" on Account;
    /// An account was enabled again.
    AccountEnabled = "account.enabled" on Account;
    /// An account's name or e-mail was changed.
    AccountIdentity = "account.identity" on Account;
}

impl Action {
    /// The action stored as `code`.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.code() == code)
    }
}

impl From<AccountChangeKind> for Action {
    fn from(kind: AccountChangeKind) -> Self {
        match kind {
            AccountChangeKind::Created => Action::AccountCreated,
            AccountChangeKind::Rights => Action::AccountRights,
            AccountChangeKind::Password => Action::AccountPassword,
            AccountChangeKind::Disabled => Action::AccountDisabled,
            AccountChangeKind::Enabled => Action::AccountEnabled,
            AccountChangeKind::Identity => Action::AccountIdentity,
        }
    }
}

/// An entry about to be written, in the transaction of its change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    /// The base the change was made on; `None` for accounts, which are
    /// the server's.
    pub base: Option<BaseId>,
    /// Who made it.
    pub by: Actor,
    /// What was done.
    pub action: Action,
    /// The record it was made to (of the action's [`TargetKind`]).
    pub target: i64,
    /// The record's name as it was then (a key's or an app's name, an
    /// account's e-mail), so that the entry reads the same once the
    /// record is gone.
    pub subject: String,
    /// A detail in no language: a webhook's address, the cursor a replay
    /// starts after, a webhook's new status (`active`, `inactive`,
    /// `suspended`) then what relais found, the base a test base was
    /// refreshed from, a run's flags (`full`, `dry-run`).
    pub detail: Option<String>,
}

/// An entry of the journal, as read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// Its number: entries are numbered in the order they were written.
    pub id: ActivityId,
    /// When.
    pub at: DateTime<Utc>,
    /// The base, with its name; `None` for accounts.
    pub base: Option<(BaseId, String)>,
    /// Who made it.
    pub by: Actor,
    /// The name of who made it: the person's or the key's.
    pub by_name: Option<String>,
    /// What was done.
    pub action: Action,
    /// The record it was made to.
    pub target: i64,
    /// The record's name as it was then.
    pub subject: String,
    /// A detail in no language, if any.
    pub detail: Option<String>,
}

/// Which entries to read, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivityQuery {
    /// Only the entries about this record.
    pub target: Option<(TargetKind, i64)>,
    /// Only the entries about these kinds of record (empty: every kind).
    pub kinds: Vec<TargetKind>,
    /// Only the entries made by this person.
    pub by_person: Option<PersonId>,
    /// Only entries older than this one (the next page).
    pub before: Option<ActivityId>,
    /// At most this many.
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_back_from_their_codes() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.code()), Some(*action));
        }
        assert_eq!(Action::parse("key.lost"), None);
        let codes: std::collections::HashSet<_> = Action::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(codes.len(), Action::ALL.len(), "codes are unique");
    }

    #[test]
    fn account_changes_are_account_actions() {
        for kind in AccountChangeKind::ALL {
            assert_eq!(Action::from(kind).target(), TargetKind::Account);
        }
    }
}
