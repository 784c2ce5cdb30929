//! Admin-page accounts the tests make.

use relais_core::employee::Email;
use relais_core::org::Name;
use relais_core::people::Person;
use relais_store::{NewPerson, SharedStore};

/// Creates the account `email` (named « Admin », password hash `x`, made
/// from the command line) with the rights to administer apps (`apps`) and
/// to manage accounts and keys (`keys`).
pub async fn account(store: &SharedStore, email: &str, apps: bool, keys: bool) -> Person {
    let person = NewPerson {
        email: Email::parse(email).unwrap(),
        name: Name::parse("name", "Admin").unwrap(),
        password_hash: "x".into(),
        can_admin_apps: apps,
        can_manage_keys: keys,
    };
    store.create_person(&person, None).await.unwrap()
}
