//! API keys: made from the operating system's randomness, stored as the
//! hash of their secret, shown in full once.

use crate::Result;
use relais_core::access::{ApiKey, KeyUsage, Role};
use relais_core::activity::Actor;
use relais_core::employee::Email;
use relais_core::ids::{BaseId, KeyId};
use relais_core::org::Name;
use relais_store::{NewApiKey, SharedStore};
use sha2::{Digest, Sha256};

/// SHA-256 of a key's secret part, hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `bytes` random bytes from the operating system, as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).expect("the operating system provides randomness");
    hex::encode(buf)
}

/// A new key for `base`, not yet stored, and its full text (shown once):
/// `relais_<prefix>_<secret>`, of which only the prefix and the secret's
/// hash are kept.
pub fn new_key(
    base: BaseId,
    name: Name,
    contact: Email,
    usage: KeyUsage,
    role: Role,
) -> (NewApiKey, String) {
    let prefix = random_hex(6);
    let secret = random_hex(32);
    let text = format!("relais_{prefix}_{secret}");
    let key = NewApiKey {
        base_id: base,
        prefix,
        secret_hash: hash_secret(&secret),
        name,
        contact,
        usage,
        role,
    };
    (key, text)
}

/// Creates a key for `base`, made by `by` (who, here and below, is
/// written in the activity journal with the change); returns it with its
/// full text, shown once.
pub async fn create_key(
    store: &SharedStore,
    base: BaseId,
    name: Name,
    contact: Email,
    usage: KeyUsage,
    role: Role,
    by: Actor,
) -> Result<(ApiKey, String)> {
    let (key, text) = new_key(base, name, contact, usage, role);
    Ok((store.create_api_key(&key, by).await?, text))
}

/// Gives key `id` a new secret; the previous one keeps opening it for
/// `grace` (zero: it stops at once). Returns the key with its new full
/// text, shown once.
pub async fn rotate_key(
    store: &SharedStore,
    id: KeyId,
    grace: chrono::Duration,
    by: Actor,
) -> Result<(ApiKey, String)> {
    let secret = random_hex(32);
    let key = store
        .rotate_api_key(id, &hash_secret(&secret), relais_core::now() + grace, by)
        .await?;
    let text = format!("relais_{}_{secret}", key.prefix);
    Ok((key, text))
}

/// Revokes key `id`: it opens nothing from then on.
pub async fn revoke_key(store: &SharedStore, id: KeyId, by: Actor) -> Result<ApiKey> {
    Ok(store.revoke_api_key(id, by).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_keeps_only_its_prefix_and_the_hash_of_its_secret() {
        let (key, text) = new_key(
            BaseId(1),
            Name::parse("name", "Paie").unwrap(),
            Email::parse("it@example.com").unwrap(),
            KeyUsage::Internal,
            Role::default(),
        );
        let (prefix, secret) = text
            .strip_prefix("relais_")
            .and_then(|rest| rest.split_once('_'))
            .expect("relais_<prefix>_<secret>");
        assert_eq!(prefix, key.prefix);
        assert_eq!((prefix.len(), secret.len()), (12, 64));
        assert_eq!(key.secret_hash, hash_secret(secret));
        assert!(!key.secret_hash.contains(secret));
        let (other, _) = new_key(
            BaseId(1),
            key.name.clone(),
            key.contact.clone(),
            KeyUsage::Internal,
            Role::default(),
        );
        assert_ne!(other.prefix, key.prefix, "two keys, two prefixes");
    }
}
