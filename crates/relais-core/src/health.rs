//! Why an integration is not healthy, or why a check of its connection or
//! mapping failed, said in each language.

use serde::{Deserialize, Serialize};

/// Why an integration is not healthy, said in each language; stored as JSON
/// in the integration's `health_reason` (a paused integration keeps the
/// administrator's own words there instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum HealthReason {
    /// The source refused the integration's key.
    SourceKeyRefused,
    /// The key lacks a grant the source asks for.
    SourceGrantMissing {
        /// The source's message.
        message: String,
    },
    /// The source refused a request.
    SourceRefused {
        /// Its HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// The partner refused the credentials.
    PartnerCredentials {
        /// The partner's name.
        partner: String,
        /// Its HTTP status.
        status: u16,
    },
    /// The partner could not be reached.
    PartnerUnreachable {
        /// The partner's name.
        partner: String,
        /// Why, in the network's words.
        cause: crate::network::NetworkCause,
    },
    /// The source could not be reached.
    SourceUnreachable {
        /// Why, in the network's words.
        cause: crate::network::NetworkCause,
    },
    /// The partner answered with an error (after the retries a 5xx gets).
    PartnerAnswered {
        /// The partner's name.
        partner: String,
        /// Its HTTP status.
        status: u16,
        /// Its message (the start of its answer).
        message: String,
    },
    /// An answer did not have the shape the connector expects.
    UnexpectedAnswer {
        /// The partner's name, or none for the base.
        partner: Option<String>,
        /// What was wrong, in the reader's words.
        detail: String,
    },
    /// The requests the integration may send the partner in an hour are
    /// spent: what was sent is kept, the rest waits for a later run.
    BudgetSpent {
        /// The budget, in requests an hour.
        per_hour: u32,
    },
    /// Another process took the last run over (its lease was renewed too
    /// late) and resumes it.
    LeaseLost,
    /// The integration's settings do not allow a run (not configured yet,
    /// an account the base lacks…), in words in each language (stored as
    /// `{"reason": "configuration", "en": …, "fr": …}`).
    Configuration(crate::said::Said),
    /// This relais does not run the integration's connector.
    NoConnector {
        /// The connector's code.
        connector: String,
    },
    /// The partner asked to wait (429).
    RateLimited {
        /// The partner's name.
        partner: String,
        /// Seconds asked.
        wait_seconds: u64,
        /// When the next run starts (Paris time, `YYYY-MM-DD HH:MM`).
        until: String,
    },
    /// The last run finished but refused or left out records.
    RecordsLeftOut {
        /// Records refused.
        failed: u64,
        /// Records left out.
        skipped: u64,
        /// The run.
        run: crate::ids::RunId,
    },
    /// Anything else, in the words of the error.
    Other {
        /// The error.
        message: String,
    },
}

impl HealthReason {
    /// What it says in `lang` (`fr`, else English).
    pub fn text(&self, lang: &str) -> String {
        let fr = lang == "fr";
        match self {
            Self::SourceKeyRefused if fr => "la base a refusé la clé API de l'intégration (révoquée ou inconnue) ; installez de nouveau l'application ou donnez une autre clé".into(),
            Self::SourceKeyRefused => "the source refused the integration's API key (revoked or unknown); install the app again or set another key".into(),
            Self::SourceGrantMissing { message } if fr => format!("il manque un droit à la clé API de l'intégration : {message}"),
            Self::SourceGrantMissing { message } => format!("the integration's API key lacks a grant: {message}"),
            Self::SourceRefused { status, message } if fr => format!("la base a refusé la requête ({status}) : {message}"),
            Self::SourceRefused { status, message } => format!("the source refused the request ({status}): {message}"),
            Self::PartnerCredentials { partner, status } if fr => format!("{partner} a refusé les identifiants ({status}) ; vérifiez-les sur la page de l'application"),
            Self::PartnerCredentials { partner, status } => format!("{partner} refused the credentials ({status}); check them on the app's page"),
            Self::PartnerUnreachable { partner, cause } if fr => format!("{partner} est injoignable : {}", cause.text(lang)),
            Self::PartnerUnreachable { partner, cause } => format!("{partner} is unreachable: {}", cause.text(lang)),
            Self::SourceUnreachable { cause } if fr => format!("la base est injoignable : {}", cause.text(lang)),
            Self::SourceUnreachable { cause } => format!("the source is unreachable: {}", cause.text(lang)),
            Self::PartnerAnswered { partner, status, message } if message.is_empty() && fr => format!("{partner} a répondu par une erreur ({status})"),
            Self::PartnerAnswered { partner, status, message } if message.is_empty() => format!("{partner} answered with an error ({status})"),
            Self::PartnerAnswered { partner, status, message } if fr => format!("{partner} a répondu par une erreur ({status}) : {message}"),
            Self::PartnerAnswered { partner, status, message } => format!("{partner} answered with an error ({status}): {message}"),
            Self::UnexpectedAnswer { partner: Some(partner), detail } if fr => format!("réponse inattendue de {partner} : {detail}"),
            Self::UnexpectedAnswer { partner: Some(partner), detail } => format!("unexpected answer from {partner}: {detail}"),
            Self::UnexpectedAnswer { partner: None, detail } if fr => format!("réponse inattendue de la base : {detail}"),
            Self::UnexpectedAnswer { partner: None, detail } => format!("unexpected answer from the source: {detail}"),
            Self::BudgetSpent { per_hour } if fr => format!("le budget de {per_hour} requêtes par heure est épuisé ; le reste attend une prochaine exécution"),
            Self::BudgetSpent { per_hour } => format!("the request budget of {per_hour} requests per hour is spent; the rest waits for a later run"),
            Self::Configuration(words) => words.text(lang).to_owned(),
            Self::LeaseLost if fr => "un autre processus a repris la dernière exécution (son bail a été renouvelé trop tard) ; il la poursuit".into(),
            Self::LeaseLost => "another process took the last run over (its lease was renewed too late) and resumes it".into(),
            Self::NoConnector { connector } if fr => format!("cette version de relais n'exécute pas le connecteur « {connector} »"),
            Self::NoConnector { connector } => format!("this relais runs no connector '{connector}'"),
            Self::RateLimited { partner, wait_seconds, until } if fr => format!("{partner} a demandé d'attendre {wait_seconds} s (429) : en pause jusqu'au {until}, quand la prochaine exécution démarre"),
            Self::RateLimited { partner, wait_seconds, until } => format!("{partner} asked to wait {wait_seconds} s (429): paused until {until}, when the next run starts"),
            Self::RecordsLeftOut { failed, skipped, run } if fr => format!("{failed} enregistrement(s) refusé(s), {skipped} écarté(s) à l'exécution {run}"),
            Self::RecordsLeftOut { failed, skipped, run } => format!("{failed} record(s) refused, {skipped} left out in run {run}"),
            Self::Other { message } => message.clone(),
        }
    }

    /// As the integration stores it.
    pub fn stored(&self) -> String {
        serde_json::to_string(self).expect("a reason serialises")
    }

    /// A stored reason in `lang`: the reason's words, or the stored text as
    /// it is (an administrator's reason for a pause, an older relais's).
    pub fn read(stored: &str, lang: &str) -> String {
        serde_json::from_str::<Self>(stored).map_or_else(|_| stored.to_owned(), |r| r.text(lang))
    }
}

/// In English, as the API and the command line say it.
impl std::fmt::Display for HealthReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text("en"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_reason_is_said_in_the_page_language_and_old_texts_stay_readable() {
        let r = HealthReason::PartnerCredentials {
            partner: "HappyPal".into(),
            status: 401,
        };
        let stored = r.stored();
        assert_eq!(
            HealthReason::read(&stored, "fr"),
            "HappyPal a refusé les identifiants (401) ; vérifiez-les sur la page de l'application"
        );
        assert_eq!(
            HealthReason::read(&stored, "en"),
            "HappyPal refused the credentials (401); check them on the app's page"
        );
        assert_eq!(
            HealthReason::read("maintenance chez le partenaire", "en"),
            "maintenance chez le partenaire",
            "an administrator's words (a pause) as they are"
        );
    }

    #[test]
    fn every_failure_a_partner_causes_is_said_in_both_languages() {
        let partner = || "PlanningPME".to_owned();
        let every = [
            HealthReason::PartnerUnreachable {
                partner: partner(),
                cause: crate::network::NetworkCause::new("Connection refused (os error 111)"),
            },
            HealthReason::SourceUnreachable {
                cause: crate::network::NetworkCause::new(
                    "dns error: failed to lookup address information",
                ),
            },
            HealthReason::PartnerAnswered {
                partner: partner(),
                status: 502,
                message: "upstream down".into(),
            },
            HealthReason::PartnerAnswered {
                partner: partner(),
                status: 503,
                message: String::new(),
            },
            HealthReason::UnexpectedAnswer {
                partner: Some(partner()),
                detail: "missing field `id`".into(),
            },
            HealthReason::UnexpectedAnswer {
                partner: None,
                detail: "missing field `items`".into(),
            },
            HealthReason::BudgetSpent { per_hour: 600 },
            HealthReason::LeaseLost,
            HealthReason::Configuration(crate::said::Said::new(
                "not configured yet: token missing",
                "pas encore configurée : il manque token",
            )),
            HealthReason::NoConnector {
                connector: "payfit".into(),
            },
        ];
        let mut said = std::collections::HashSet::new();
        for reason in &every {
            let stored = reason.stored();
            let (fr, en) = (
                HealthReason::read(&stored, "fr"),
                HealthReason::read(&stored, "en"),
            );
            assert_eq!(en, reason.to_string());
            assert_ne!(fr, en, "{stored}");
            assert!(said.insert(fr) && said.insert(en), "{stored}");
        }
        for (n, lang, words) in [
            (0, "fr", "PlanningPME est injoignable : connexion refusée (aucun service n'écoute à cette adresse)"),
            (1, "fr", "la base est injoignable : nom de serveur inconnu"),
            (2, "fr", "PlanningPME a répondu par une erreur (502) : upstream down"),
            (3, "en", "PlanningPME answered with an error (503)"),
        ] {
            assert_eq!(every[n].text(lang), words);
        }
        // Words in each language are stored beside the reason's tag.
        let configuration = every
            .iter()
            .find(|r| matches!(r, HealthReason::Configuration(_)))
            .unwrap();
        assert_eq!(
            configuration.stored(),
            r#"{"reason":"configuration","en":"not configured yet: token missing","fr":"pas encore configurée : il manque token"}"#
        );
        // A cause an older relais stored as the system said it reads the same way.
        assert_eq!(
            HealthReason::read(
                r#"{"reason":"partner-unreachable","partner":"PlanningPME","cause":"Connection refused (os error 111)"}"#,
                "fr"
            ),
            every[0].text("fr")
        );
    }
}
