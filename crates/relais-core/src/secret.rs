//! Partner credentials at rest: sealed with ChaCha20-Poly1305 under the
//! installation's master key, so the database alone never reveals them.

use crate::error::{DomainError, Result};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::collections::BTreeMap;

/// Named secrets of one integration (e.g. `token`, `app_key`), in clear.
///
/// `Debug` prints the names only, never the values.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Secrets(pub BTreeMap<String, String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Which secret of an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretName {
    /// The API key relais made at installation, with which the integration
    /// reads (and, inbound, writes) the base through the Lucca API.
    SourceKey,
    /// A partner credential its connector declares (`token`, `app_key`…),
    /// by the declared name.
    Partner(&'static str),
    /// A webhook endpoint's signing secret (`whsec_…`).
    WebhookSigning,
    /// A webhook endpoint's signing secret before its last rotation, still
    /// signing until its grace ends.
    WebhookPrevious,
}

impl SecretName {
    /// The name it is kept under, and that forms and the command line use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SourceKey => "source_key",
            Self::Partner(name) => name,
            Self::WebhookSigning => "webhook_signing",
            Self::WebhookPrevious => "webhook_previous",
        }
    }
}

impl Secrets {
    /// The secret `name`, when set and not empty.
    pub fn get(&self, name: SecretName) -> Option<&str> {
        self.0
            .get(name.as_str())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: SecretName, value: &str) {
        self.0.insert(name.as_str().to_owned(), value.to_owned());
    }
}

/// Seals and opens secrets with a 256-bit master key.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer from the master key written as 64 hexadecimal digits.
    pub fn from_hex(hex_key: &str) -> Result<Self> {
        let bytes = hex::decode(hex_key.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                DomainError::new(
                    "secret_key",
                    "the master key must be 64 hexadecimal digits (32 bytes)",
                )
            })?;
        Ok(Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    /// A new random master key, as 64 hexadecimal digits.
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).expect("the operating system provides randomness");
        hex::encode(key)
    }

    /// Seals `secrets`: base64 of a random nonce followed by the ciphertext.
    pub fn seal(&self, secrets: &Secrets) -> String {
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut nonce).expect("the operating system provides randomness");
        let plain = serde_json::to_vec(secrets).expect("secrets serialise");
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_slice())
            .expect("sealing in memory does not fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// Opens what [`Sealer::seal`] sealed; refuses text sealed under another key or altered.
    pub fn open(&self, sealed: &str) -> Result<Secrets> {
        let refused = || {
            DomainError::new(
                "secret_key",
                "the stored credentials cannot be opened with this master key (another key, or altered)",
            )
        };
        if sealed.is_empty() {
            return Ok(Secrets::default());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| refused())?;
        if bytes.len() < 12 {
            return Err(refused());
        }
        let (nonce, body) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| refused())?;
        serde_json::from_slice(&plain).map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        let mut s = Secrets::default();
        s.set(SecretName::Partner("token"), "hp-very-secret");
        s
    }

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let key = Sealer::generate_key();
        let sealer = Sealer::from_hex(&key).unwrap();
        let sealed = sealer.seal(&secrets());
        assert!(!sealed.contains("hp-very-secret"));
        assert_ne!(
            sealed,
            sealer.seal(&secrets()),
            "each seal has its own nonce"
        );
        assert_eq!(sealer.open(&sealed).unwrap(), secrets());
        let other = Sealer::from_hex(&Sealer::generate_key()).unwrap();
        assert_eq!(other.open(&sealed).unwrap_err().field, "secret_key");
        let mut altered = base64::engine::general_purpose::STANDARD
            .decode(&sealed)
            .unwrap();
        *altered.last_mut().unwrap() ^= 1;
        let altered = base64::engine::general_purpose::STANDARD.encode(altered);
        assert!(sealer.open(&altered).is_err());
    }

    #[test]
    fn debug_never_shows_values() {
        assert_eq!(format!("{:?}", secrets()), "{\"token\"}");
        assert!(Sealer::from_hex("abcd").is_err());
        assert!(Sealer::from_hex(&"zz".repeat(32)).is_err());
    }
}
