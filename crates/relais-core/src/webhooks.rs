//! Webhook endpoints: where a key's change events are pushed, signed as
//! Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`),
//! at least once, retried on the convention's schedule.

use crate::events::TopicFilter;
use crate::ids::{BaseId, DeliveryId, EndpointId, EstablishmentId, KeyId};
use crate::DomainError;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use std::time::Duration;

/// A signing secret: `whsec_` then the base64 of 24 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

const SECRET_PREFIX: &str = "whsec_";

impl WebhookSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 24];
        getrandom::getrandom(&mut bytes).expect("the operating system provides randomness");
        Self { bytes }
    }

    /// Reads `whsec_<base64>`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let wrong = || DomainError::new("secret", "a webhook secret reads whsec_ then base64");
        let body = raw.strip_prefix(SECRET_PREFIX).ok_or_else(wrong)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| wrong())?;
        if bytes.len() < 16 {
            return Err(wrong());
        }
        Ok(Self { bytes })
    }

    /// As shown once to the key's owner and kept sealed: `whsec_<base64>`.
    pub fn reveal(&self) -> String {
        format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&self.bytes)
        )
    }

    /// The signature of a message: base64 of HMAC-SHA256 over
    /// `<id>.<timestamp>.<body>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&self.bytes).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// The `webhook-signature` header: `v1,<signature>` for each secret that
/// signs (two while a rotated secret's grace runs), space-separated.
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| format!("v1,{}", s.sign(id, timestamp, body)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where an endpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointStatus {
    /// Not activated yet: its URL did not echo the challenge.
    Inactive,
    /// Receiving events.
    Active,
    /// Stopped by relais (404 or 410, or failing for a day); events wait
    /// and are sent when it is activated again.
    Suspended,
}

impl EndpointStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Inactive, Self::Active, Self::Suspended];

    /// Its stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    /// Reads a stored code.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == raw)
            .ok_or_else(|| DomainError::new("status", format!("'{raw}' is not an endpoint status")))
    }
}

/// What a webhook endpoint is set up to receive, and where: what its key's
/// holder chose when making it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSetup {
    /// The base whose events it receives.
    pub base_id: BaseId,
    /// The key whose grants decide what it receives.
    pub key_id: KeyId,
    /// What the key's owner calls it.
    pub name: String,
    /// Where events are posted (`http://` or `https://`).
    pub url: String,
    /// Only these topics (none: every topic the key follows).
    pub topics: Vec<TopicFilter>,
    /// Only events of these establishments (none: all the key sees).
    pub establishments: Option<Vec<EstablishmentId>>,
}

/// A webhook endpoint of a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Its identifier.
    pub id: EndpointId,
    /// What it receives, and where.
    pub setup: EndpointSetup,
    /// Where it stands.
    pub status: EndpointStatus,
    /// Why it is inactive or suspended, as stored (see
    /// [`WebhookFault::read`]).
    pub status_reason: Option<String>,
    /// The last event handed to its deliveries.
    pub cursor: i64,
    /// Since when every delivery fails (none: the last one succeeded).
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs.
    pub previous_until: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt of the schedule failed.
    Failed,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    /// Its stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Reads a stored code.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == raw)
            .ok_or_else(|| DomainError::new("status", format!("'{raw}' is not a delivery status")))
    }
}

/// Why an endpoint is inactive or suspended, or why a delivery's last
/// attempt failed: stored as a tagged document, read in the reader's
/// language (the API's readers get English).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum WebhookFault {
    /// The endpoint answered an HTTP status other than 2xx.
    Answered {
        /// Its HTTP status.
        status: u16,
    },
    /// The endpoint answered 404 or 410: it was suspended at once.
    Gone {
        /// Its HTTP status.
        status: u16,
    },
    /// No answer came in time.
    NoAnswer {
        /// The time allowed, in seconds.
        seconds: u64,
    },
    /// The endpoint could not be reached.
    Unreachable {
        /// Why, in the network's words.
        cause: crate::network::NetworkCause,
    },
    /// Every delivery failed for a day ([`SUSPEND_AFTER`]).
    FailingForADay,
    /// The endpoint's key was revoked.
    KeyRevoked,
    /// The address is not one webhooks may go to (a private one, while
    /// only public ones are allowed).
    NotPublic {
        /// The address.
        url: String,
    },
    /// The address cannot be read.
    NotAnAddress {
        /// The address.
        url: String,
        /// What is wrong with it.
        cause: String,
    },
    /// The echo that activates an endpoint got no answer in time.
    EchoNoAnswer {
        /// The time allowed, in seconds.
        seconds: u64,
    },
    /// The echo could not reach the address.
    EchoUnreachable {
        /// Why, in the network's words (none in what an older relais stored).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<crate::network::NetworkCause>,
    },
    /// The echo was answered with an HTTP status other than 2xx.
    EchoAnswered {
        /// Its HTTP status.
        status: u16,
    },
    /// The echo was answered without the value it carried.
    EchoWrongValue,
    /// Anything else, in its own words.
    Other {
        /// The words.
        message: String,
    },
}

impl WebhookFault {
    /// What it says in `lang` (`fr`, else English).
    pub fn text(&self, lang: &str) -> String {
        let fr = lang == "fr";
        match self {
            Self::Answered { status } if fr => format!("le point d'accès a répondu {status}"),
            Self::Answered { status } => format!("the endpoint answered {status}"),
            Self::Gone { status } if fr => format!("son adresse a répondu {status} : il a été suspendu aussitôt"),
            Self::Gone { status } => format!("its URL answered {status}: it was suspended at once"),
            Self::NoAnswer { seconds } if fr => format!("pas de réponse en {seconds} s"),
            Self::NoAnswer { seconds } => format!("no answer within {seconds} s"),
            Self::Unreachable { cause } if fr => format!("le point d'accès est injoignable : {}", cause.text(lang)),
            Self::Unreachable { cause } => format!("cannot reach the endpoint: {}", cause.text(lang)),
            Self::FailingForADay if fr => "toutes les livraisons ont échoué pendant un jour : il a été suspendu".into(),
            Self::FailingForADay => "every delivery failed for a day: it was suspended".into(),
            Self::KeyRevoked if fr => "sa clé API a été révoquée".into(),
            Self::KeyRevoked => "its key was revoked".into(),
            Self::NotPublic { url } if fr => format!("« {url} » n'est pas une adresse publique : les webhooks vont à des adresses joignables depuis internet (un administrateur peut autoriser les adresses privées avec webhook_private_addresses)"),
            Self::NotPublic { url } => format!("'{url}' is not a public address: webhooks go to addresses reachable from the internet (an administrator may allow private ones with webhook_private_addresses)"),
            Self::NotAnAddress { url, cause } if fr => format!("« {url} » n'est pas une adresse : {cause}"),
            Self::NotAnAddress { url, cause } => format!("'{url}' is not an address: {cause}"),
            Self::EchoNoAnswer { seconds } if fr => format!("pas de réponse à l'écho en {seconds} s"),
            Self::EchoNoAnswer { seconds } => format!("no answer to the echo within {seconds} s"),
            Self::EchoUnreachable { cause: Some(cause) } if fr => format!("l'écho n'a pas pu joindre l'adresse : {}", cause.text(lang)),
            Self::EchoUnreachable { cause: Some(cause) } => format!("the echo could not reach the address: {}", cause.text(lang)),
            Self::EchoUnreachable { cause: None } if fr => "l'écho n'a pas pu joindre l'adresse".into(),
            Self::EchoUnreachable { cause: None } => "the echo could not reach the address".into(),
            Self::EchoAnswered { status } if fr => format!("l'écho a reçu la réponse {status}"),
            Self::EchoAnswered { status } => format!("the echo was answered {status}"),
            Self::EchoWrongValue if fr => "l'écho a reçu une réponse sans la valeur qu'il portait".into(),
            Self::EchoWrongValue => "the echo was answered without the value it carried".into(),
            Self::Other { message } => message.clone(),
        }
    }

    /// As it is stored.
    pub fn stored(&self) -> String {
        serde_json::to_string(self).expect("a fault serialises")
    }

    /// A stored fault in `lang`: its words, or the stored text as it is
    /// (written by an older relais).
    pub fn read(stored: &str, lang: &str) -> String {
        serde_json::from_str::<Self>(stored).map_or_else(|_| stored.to_owned(), |f| f.text(lang))
    }
}

impl std::fmt::Display for WebhookFault {
    /// Its words in English, as the API gives them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text("en"))
    }
}

/// The journal's detail of an endpoint's change of status: the status's
/// code, then why as stored (see [`WebhookFault::stored`]).
pub fn status_detail(status: EndpointStatus, reason: Option<&str>) -> String {
    match reason {
        Some(why) => format!("{}: {why}", status.code()),
        None => status.code().to_owned(),
    }
}

/// Reads a journal detail written by [`status_detail`]: the status's code,
/// and why in `lang` if it says.
pub fn read_status_detail<'a>(raw: &'a str, lang: &str) -> (&'a str, Option<String>) {
    match raw.split_once(": ") {
        Some((code, why)) => (code, Some(WebhookFault::read(why, lang))),
        None => (raw, None),
    }
}

/// The topic of the test event an endpoint's holder asks for ("send a
/// test event"): no record's, so a receiver can tell it apart.
pub const TEST_TOPIC: &str = "webhook.test";

/// One event's delivery to one endpoint, with its attempts so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Its identifier.
    pub id: DeliveryId,
    /// To which endpoint.
    pub endpoint_id: EndpointId,
    /// The event's number in its base (0 for a test event).
    pub event_seq: i64,
    /// The event's topic (`webhook.test` for a test).
    pub topic: String,
    /// `webhook-id`: the same on every attempt, the receiver's idempotency key.
    pub message_id: String,
    /// The body posted, fixed when the delivery was made (empty once
    /// delivered: it is not posted again).
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last answer's HTTP status, if one came.
    pub last_status: Option<u16>,
    /// The last failure, as stored (see [`WebhookFault::read`]).
    pub last_error: Option<String>,
    /// How long the last attempt took, in milliseconds.
    pub last_latency_ms: Option<i64>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the endpoint took it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Waits before each retry, as Standard Webhooks suggests: 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (the first attempt is
/// immediate); after the last, the delivery has failed.
pub const RETRY_SCHEDULE: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// The wait before retrying after `attempts` failed attempts, with up to
/// 20 % jitter (`jitter` from 0 to 1) so that retries of many deliveries
/// spread out; `None` once the schedule is spent.
pub fn retry_after(attempts: u32, jitter: f64) -> Option<Duration> {
    let base = *RETRY_SCHEDULE.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    Some(base.mul_f64(1.0 + 0.2 * jitter.clamp(0.0, 1.0)))
}

/// How long failing deliveries may go on before their endpoint is suspended.
pub const SUSPEND_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The most endpoints one key may have: each is read on every pass of the
/// deliverer, so a key cannot make that work grow without end.
pub const MAX_ENDPOINTS_PER_KEY: i64 = 100;

/// Checks an endpoint URL (see [`crate::address`]); the address as given,
/// trimmed.
pub fn check_url(raw: &str) -> Result<String, DomainError> {
    crate::address::http_address("url", raw)?;
    Ok(raw.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The convention's published example.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let other = WebhookSecret::generate();
        let header = signature_header(&[&secret, &other], "msg_1", 1, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.starts_with("v1,"));
        assert_eq!(WebhookSecret::parse(&other.reveal()).unwrap(), other);
        assert!(WebhookSecret::parse("whsec_!!").is_err());
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
    }

    #[test]
    fn faults_are_stored_then_read_in_either_language() {
        let every = [
            WebhookFault::Answered { status: 503 },
            WebhookFault::Gone { status: 410 },
            WebhookFault::NoAnswer { seconds: 3 },
            WebhookFault::Unreachable {
                cause: crate::network::NetworkCause::new("Connection refused (os error 111)"),
            },
            WebhookFault::FailingForADay,
            WebhookFault::KeyRevoked,
            WebhookFault::NotPublic {
                url: "http://10.0.0.1/".into(),
            },
            WebhookFault::NotAnAddress {
                url: "x".into(),
                cause: "relative URL".into(),
            },
            WebhookFault::EchoNoAnswer { seconds: 3 },
            WebhookFault::EchoUnreachable {
                cause: Some(crate::network::NetworkCause::new(
                    "No route to host (os error 113)",
                )),
            },
            WebhookFault::EchoUnreachable { cause: None },
            WebhookFault::EchoAnswered { status: 500 },
            WebhookFault::EchoWrongValue,
        ];
        let mut said = std::collections::HashSet::new();
        for fault in &every {
            let stored = fault.stored();
            assert_eq!(WebhookFault::read(&stored, "en"), fault.to_string());
            let (fr, en) = (
                WebhookFault::read(&stored, "fr"),
                WebhookFault::read(&stored, "en"),
            );
            assert_ne!(fr, en, "{stored}");
            assert!(said.insert(fr) && said.insert(en), "{stored}");
        }
        // The details travel into the words.
        assert!(WebhookFault::read(&every[0].stored(), "fr").contains("503"));
        // An echo's fault stored before it kept its cause reads without one.
        assert_eq!(
            WebhookFault::read(r#"{"reason":"echo-unreachable"}"#, "fr"),
            "l'écho n'a pas pu joindre l'adresse"
        );
        assert_eq!(
            WebhookFault::read(&every[3].stored(), "fr"),
            "le point d'accès est injoignable : connexion refusée (aucun service n'écoute à cette adresse)"
        );
        // A cause stored by an older relais, as the system said it, reads the same way.
        assert_eq!(
            WebhookFault::read(
                r#"{"reason":"unreachable","cause":"Connection refused (os error 111)"}"#,
                "fr"
            ),
            WebhookFault::read(&every[3].stored(), "fr")
        );
        // The journal's detail of a suspension reads back in words.
        let detail = status_detail(EndpointStatus::Suspended, Some(&every[1].stored()));
        assert_eq!(
            read_status_detail(&detail, "fr"),
            (
                "suspended",
                Some("son adresse a répondu 410 : il a été suspendu aussitôt".to_owned())
            )
        );
        assert_eq!(
            read_status_detail(&status_detail(EndpointStatus::Active, None), "en"),
            ("active", None)
        );
        // What an older relais stored as words is shown as it is.
        assert_eq!(
            WebhookFault::read("the endpoint answered 500", "fr"),
            "the endpoint answered 500"
        );
        assert_eq!(
            WebhookFault::read("{\"reason\":\"unknown\"}", "fr"),
            "{\"reason\":\"unknown\"}"
        );
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        assert_eq!(retry_after(1, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_after(2, 1.0), Some(Duration::from_secs(360)));
        assert_eq!(retry_after(9, 0.0), Some(Duration::from_secs(24 * 3600)));
        assert_eq!(retry_after(10, 0.0), None);
        assert_eq!(retry_after(0, 0.0), None);
    }

    #[test]
    fn endpoint_urls_are_checked() {
        assert!(check_url("https://hooks.example.fr/relais").is_ok());
        assert!(check_url("http://127.0.0.1:9000/h?x=1").is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https://u:p@host/",
            "hooks.example.fr",
            "https://a b",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
