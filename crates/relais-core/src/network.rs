//! Why a call over the network failed, in words a person reads.
//!
//! The system says why a connection failed in its own English
//! (« Connection refused (os error 111) », « failed to lookup address
//! information: Name or service not known »). relais keeps those words as
//! they are — they are what is stored, so that what an older relais stored
//! reads the same way — and reads the usual causes in the reader's language.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why an address could not be reached: the words of the innermost error
/// that said so, or one of relais's own ([`NetworkCause::timed_out`],
/// [`NetworkCause::rate_limited`]). Stored as those words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NetworkCause(String);

/// The usual causes, as they are recognised in the system's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usual {
    Refused,
    UnknownHost,
    NoRoute,
    Reset,
    Closed,
    Tls,
    TimedOut,
}

/// Words the system uses for each usual cause (compared in lower case),
/// the more particular first.
const MARKS: &[(&str, Usual)] = &[
    ("connection refused", Usual::Refused),
    ("failed to lookup address", Usual::UnknownHost),
    ("name or service not known", Usual::UnknownHost),
    ("no address associated with hostname", Usual::UnknownHost),
    ("nodename nor servname", Usual::UnknownHost),
    ("temporary failure in name resolution", Usual::UnknownHost),
    ("dns error", Usual::UnknownHost),
    ("no route to host", Usual::NoRoute),
    ("network is unreachable", Usual::NoRoute),
    ("host is unreachable", Usual::NoRoute),
    ("connection reset", Usual::Reset),
    ("connection closed before message completed", Usual::Closed),
    ("broken pipe", Usual::Closed),
    ("unexpected eof", Usual::Closed),
    ("certificate", Usual::Tls),
    ("handshake", Usual::Tls),
    ("tls", Usual::Tls),
    ("timed out", Usual::TimedOut),
];

/// How relais words a call it gave up waiting for, before the seconds.
const NO_ANSWER: &str = "timed out: no answer after ";
/// How relais words a connection it gave up making, before the seconds.
const NOT_CONNECTED: &str = "no connection made within ";
/// What follows those seconds when an address failed meanwhile, before its words.
const MEANWHILE: &str = "; meanwhile: ";
/// How relais words a partner's request to wait, before the seconds.
const RATE_LIMITED: &str = "rate limited (429), waited ";

impl NetworkCause {
    /// The cause in `words` (as the system or an older relais said it).
    pub fn new(words: impl Into<String>) -> Self {
        Self(words.into())
    }

    /// The cause of `error`: the words of its innermost source, where the
    /// system says what went wrong (the outer ones say only which request).
    pub fn of(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut cause = error;
        while let Some(next) = cause.source() {
            cause = next;
        }
        Self(cause.to_string())
    }

    /// A call that got no answer within `waited`.
    pub fn timed_out(waited: Duration) -> Self {
        Self(format!("{NO_ANSWER}{:.1} s", waited.as_secs_f64()))
    }

    /// A connection that could not be made within `waited`: no address
    /// answered (a firewall, a route that goes nowhere), and what one of
    /// them said meanwhile if one did (`meanwhile`, a refusal say).
    pub fn not_connected(waited: Duration, meanwhile: Option<NetworkCause>) -> Self {
        let within = format!("{NOT_CONNECTED}{:.1} s", waited.as_secs_f64());
        Self(match meanwhile {
            Some(cause) => format!("{within}{MEANWHILE}{}", cause.0),
            None => within,
        })
    }

    /// A partner that asked to wait (429), waited for `wait`.
    pub fn rate_limited(wait: Duration) -> Self {
        Self(format!("{RATE_LIMITED}{} s", wait.as_secs()))
    }

    /// The words as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What it says in `lang` (`fr`, else English): a usual cause in that
    /// language, any other in the system's words.
    pub fn text(&self, lang: &str) -> String {
        let fr = lang == "fr";
        let seconds = |prefix: &str| {
            self.0
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(" s"))
                .filter(|n| n.parse::<f64>().is_ok())
        };
        if let Some(s) = seconds(NO_ANSWER) {
            return if fr {
                format!("pas de réponse après {} s", s.replace('.', ","))
            } else {
                self.0.clone()
            };
        }
        if let Some(rest) = self.0.strip_prefix(NOT_CONNECTED) {
            let (within, meanwhile) = match rest.split_once(MEANWHILE) {
                Some((within, cause)) => (within, Some(NetworkCause::new(cause))),
                None => (rest, None),
            };
            if let Some(s) = within
                .strip_suffix(" s")
                .filter(|n| n.parse::<f64>().is_ok())
            {
                let s = if fr {
                    s.replace('.', ",")
                } else {
                    s.to_owned()
                };
                let also = meanwhile.map(|c| c.text(lang));
                return match (fr, also) {
                    (true, None) => format!("aucune connexion établie en {s} s (l'adresse ne répond pas : pare-feu ou route réseau)"),
                    (true, Some(c)) => format!("aucune connexion établie en {s} s ; entre-temps : {c}"),
                    (false, None) => format!("no connection made within {s} s (the address does not answer: a firewall or a network route)"),
                    (false, Some(c)) => format!("no connection made within {s} s; meanwhile: {c}"),
                };
            }
        }
        if let Some(s) = seconds(RATE_LIMITED) {
            return if fr {
                format!("trop de requêtes (429) : attendu {s} s")
            } else {
                self.0.clone()
            };
        }
        let lower = self.0.to_lowercase();
        let Some(usual) = MARKS
            .iter()
            .find(|(mark, _)| lower.contains(mark))
            .map(|(_, u)| *u)
        else {
            return self.0.clone();
        };
        match usual {
            Usual::Refused if fr => {
                "connexion refusée (aucun service n'écoute à cette adresse)".into()
            }
            Usual::Refused => "connection refused (nothing listens at that address)".into(),
            Usual::UnknownHost if fr => "nom de serveur inconnu".into(),
            Usual::UnknownHost => "unknown server name".into(),
            Usual::NoRoute if fr => "aucun chemin réseau jusqu'au serveur".into(),
            Usual::NoRoute => "no network route to the server".into(),
            Usual::Reset if fr => "connexion coupée par le serveur".into(),
            Usual::Reset => "connection reset by the server".into(),
            Usual::Closed if fr => "connexion fermée avant la réponse".into(),
            Usual::Closed => "connection closed before the answer".into(),
            Usual::Tls if fr => format!("la connexion sécurisée (TLS) a échoué : {}", self.0),
            Usual::Tls => format!("the secure connection (TLS) failed: {}", self.0),
            Usual::TimedOut if fr => "délai dépassé".into(),
            Usual::TimedOut => "timed out".into(),
        }
    }
}

impl std::fmt::Display for NetworkCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text("en"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_causes_read_in_either_language() {
        let said = [
            ("Connection refused (os error 111)", "connexion refusée"),
            (
                "failed to lookup address information: Name or service not known",
                "nom de serveur inconnu",
            ),
            ("No route to host (os error 113)", "aucun chemin réseau"),
            (
                "Connection reset by peer (os error 104)",
                "connexion coupée",
            ),
            (
                "connection closed before message completed",
                "connexion fermée avant la réponse",
            ),
            (
                "invalid peer certificate: UnknownIssuer",
                "la connexion sécurisée (TLS) a échoué : invalid peer certificate: UnknownIssuer",
            ),
            ("operation timed out", "délai dépassé"),
        ];
        let mut english = std::collections::HashSet::new();
        for (words, french) in said {
            let cause = NetworkCause::new(words);
            assert!(
                cause.text("fr").starts_with(french),
                "{words}: {}",
                cause.text("fr")
            );
            assert!(
                !cause.text("en").contains("os error"),
                "{}",
                cause.text("en")
            );
            assert_eq!(cause.to_string(), cause.text("en"));
            english.insert(cause.text("en"));
        }
        assert_eq!(english.len(), said.len(), "each cause has its own words");
        // A connection not made in time: said so, with what an address
        // answered meanwhile, in either language.
        let silent = NetworkCause::not_connected(Duration::from_secs(3), None);
        assert_eq!(silent.as_str(), "no connection made within 3.0 s");
        assert!(
            silent
                .text("fr")
                .starts_with("aucune connexion établie en 3,0 s"),
            "{}",
            silent.text("fr")
        );
        assert!(
            silent
                .text("en")
                .starts_with("no connection made within 3.0 s"),
            "{}",
            silent.text("en")
        );
        let refused = NetworkCause::not_connected(
            Duration::from_secs(3),
            Some(NetworkCause::new("Connection refused (os error 111)")),
        );
        assert_eq!(
            refused.text("fr"),
            "aucune connexion établie en 3,0 s ; entre-temps : connexion refusée (aucun service n'écoute à cette adresse)"
        );
        assert_eq!(
            refused.text("en"),
            "no connection made within 3.0 s; meanwhile: connection refused (nothing listens at that address)"
        );
        // Any other cause is read in the system's words.
        let odd = NetworkCause::new("protocol wobble");
        assert_eq!(
            (odd.text("fr"), odd.text("en")),
            ("protocol wobble".into(), "protocol wobble".into())
        );
    }

    #[test]
    fn relais_own_causes_carry_their_seconds() {
        let slow = NetworkCause::timed_out(Duration::from_millis(2500));
        assert_eq!(slow.text("en"), "timed out: no answer after 2.5 s");
        assert_eq!(slow.text("fr"), "pas de réponse après 2,5 s");
        let busy = NetworkCause::rate_limited(Duration::from_secs(30));
        assert_eq!(busy.text("en"), "rate limited (429), waited 30 s");
        assert_eq!(busy.text("fr"), "trop de requêtes (429) : attendu 30 s");
        // Stored as the words themselves, so what an older relais stored reads alike.
        assert_eq!(
            serde_json::to_string(&slow).unwrap(),
            "\"timed out: no answer after 2.5 s\""
        );
        let read: NetworkCause =
            serde_json::from_str("\"Connection refused (os error 111)\"").unwrap();
        assert!(read.text("fr").starts_with("connexion refusée"));
    }

    #[test]
    fn an_error_is_read_at_its_innermost_source() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request for url (http://10.0.0.1/)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let cause = NetworkCause::of(&e);
        assert!(
            !cause.as_str().contains("error sending request"),
            "{}",
            cause.as_str()
        );
        assert!(
            cause.text("fr").starts_with("connexion refusée"),
            "{}",
            cause.as_str()
        );
    }
}
