//! The one error type of the sync layer.

use relais_core::said::Said;

/// What relais talks to during a run: the side an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The HR base, read (and, for inbound streams, written) through the
    /// Lucca API with the installation's key.
    Source,
    /// The partner's API.
    Partner,
    /// relais's own database (a lease lost, a write refused).
    Database,
}

impl Side {
    /// How messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Partner => "partner",
            Self::Database => "database",
        }
    }
}

impl Side {
    /// How French messages name it, as a subject.
    fn named_fr(self) -> &'static str {
        match self {
            Self::Source => "la base",
            Self::Partner => "le partenaire",
            Self::Database => "la base de données de relais",
        }
    }

    /// How French messages name what comes from it.
    fn origin_fr(self) -> &'static str {
        match self {
            Self::Source => "de la base",
            Self::Partner => "du partenaire",
            Self::Database => "de la base de données de relais",
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call or a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The source base refused the key (revoked, unknown) or a grant is missing.
    #[error("the source refused the request ({status}): {message}")]
    SourceRefused {
        /// HTTP status.
        status: u16,
        /// The source's message.
        message: String,
    },
    /// The partner refused the credentials.
    #[error("the partner refused the credentials ({status})")]
    PartnerCredentials {
        /// HTTP status.
        status: u16,
    },
    /// The partner answered with an error that retrying does not fix.
    #[error("the partner answered {status}: {body}")]
    Partner {
        /// HTTP status.
        status: u16,
        /// The answer's body.
        body: String,
    },
    /// The partner or source could not be reached, or kept failing after retries.
    #[error("cannot reach {what}: {reason}")]
    Unreachable {
        /// Which side.
        what: Side,
        /// The last failure.
        reason: relais_core::network::NetworkCause,
    },
    /// An answer did not have the expected shape.
    #[error("unexpected answer from {what}: {reason}")]
    Malformed {
        /// Which side.
        what: Side,
        /// What was wrong.
        reason: String,
    },
    /// The partner asked to wait (429) longer than a run waits: the
    /// integration pauses until then.
    #[error("{what} asked to wait {} s before the next request (429); the integration resumes then", .wait.as_secs())]
    RateLimited {
        /// Which side.
        what: Side,
        /// How long the partner asked to wait.
        wait: std::time::Duration,
    },
    /// The client-side request budget towards the partner is spent for now.
    #[error("the request budget of {per_hour} requests per hour is spent; the rest waits for a later run")]
    BudgetSpent {
        /// The budget.
        per_hour: u32,
    },
    /// The integration's configuration does not allow a run.
    #[error("{0}")]
    Config(Said),
    /// A record left out on purpose, with why (a conflict with what the
    /// other side holds): reported as skipped and tried again next run.
    #[error("{0}")]
    LeftOut(Said),
    /// Another process took the run's lease over (this one renewed it too
    /// late); that process resumes the run.
    #[error("the run's lease was taken over (renewal came too late); another process resumes it")]
    LeaseLost,
    /// The ledger could not be read or written.
    #[error(transparent)]
    Store(#[from] relais_store::StoreError),
}

impl SyncError {
    /// A configuration that does not allow a run, refused by the domain:
    /// its words in both languages.
    pub fn config(refused: relais_core::DomainError) -> Self {
        Self::Config(Said::new(refused.message.clone(), refused.message_in("fr")))
    }

    /// The same error for another record (each record of a batch that
    /// failed as a whole gets its own).
    pub fn again(&self) -> Self {
        match self {
            Self::SourceRefused { status, message } => Self::SourceRefused {
                status: *status,
                message: message.clone(),
            },
            Self::PartnerCredentials { status } => Self::PartnerCredentials { status: *status },
            Self::Partner { status, body } => Self::Partner {
                status: *status,
                body: body.clone(),
            },
            Self::Unreachable { what, reason } => Self::Unreachable {
                what: *what,
                reason: reason.clone(),
            },
            Self::Malformed { what, reason } => Self::Malformed {
                what: *what,
                reason: reason.clone(),
            },
            Self::RateLimited { what, wait } => Self::RateLimited {
                what: *what,
                wait: *wait,
            },
            Self::BudgetSpent { per_hour } => Self::BudgetSpent {
                per_hour: *per_hour,
            },
            Self::Config(m) => Self::Config(m.clone()),
            Self::LeaseLost => Self::LeaseLost,
            Self::LeftOut(m) => Self::LeftOut(m.clone()),
            Self::Store(e) => Self::Unreachable {
                what: Side::Database,
                reason: relais_core::network::NetworkCause::new(e.to_string()),
            },
        }
    }

    /// How a record that met this error is reported: left out for a spent
    /// budget or on purpose, failed with the answer otherwise.
    /// The reason stored with it is [`SyncError::words`], read in the
    /// reader's language ([`Outcome::reason_in`](relais_core::integration::Outcome::reason_in)).
    pub fn outcome(&self) -> relais_core::integration::Outcome {
        use relais_core::integration::Outcome;
        let reason = self.words().stored();
        match self {
            Self::BudgetSpent { .. } | Self::LeftOut(_) => Outcome::Skipped(reason),
            _ => Outcome::Failed(reason),
        }
    }

    /// What it says, in English (its `Display`) and in French.
    pub fn words(&self) -> Said {
        let fr = match self {
            Self::SourceRefused { status, message } => {
                format!("la base a refusé la requête ({status}) : {message}")
            }
            Self::PartnerCredentials { status } => {
                format!("le partenaire a refusé les identifiants ({status})")
            }
            Self::Partner { status, body } => format!("le partenaire a répondu {status} : {body}"),
            Self::Unreachable { what, reason } => format!(
                "impossible de joindre {} : {}",
                what.named_fr(),
                reason.text("fr")
            ),
            Self::Malformed { what, reason } => {
                format!("réponse inattendue {} : {reason}", what.origin_fr())
            }
            Self::RateLimited { what, wait } => format!(
                "{} a demandé d'attendre {} s avant la prochaine requête (429) ; l'intégration reprend alors",
                what.named_fr(),
                wait.as_secs()
            ),
            Self::BudgetSpent { per_hour } => format!(
                "le budget de {per_hour} requêtes par heure est épuisé ; le reste attend une prochaine exécution"
            ),
            Self::LeftOut(said) => said.fr.clone(),
            Self::LeaseLost => "un autre processus a repris l'exécution (son bail a été renouvelé trop tard) ; il la poursuit".into(),
            Self::Config(said) => said.fr.clone(),
            Self::Store(_) => self.to_string(),
        };
        Said::new(self.to_string(), fr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::integration::Outcome;
    use relais_core::network::NetworkCause;
    use std::time::Duration;

    #[test]
    fn a_record_s_reason_is_kept_in_both_languages() {
        let every = [
            SyncError::SourceRefused {
                status: 403,
                message: "no grant".into(),
            },
            SyncError::PartnerCredentials { status: 401 },
            SyncError::Partner {
                status: 422,
                body: "date is a holiday".into(),
            },
            SyncError::Unreachable {
                what: Side::Partner,
                reason: NetworkCause::new("Connection reset by peer (os error 104)"),
            },
            SyncError::Malformed {
                what: Side::Source,
                reason: "missing field `id`".into(),
            },
            SyncError::RateLimited {
                what: Side::Partner,
                wait: Duration::from_secs(120),
            },
            SyncError::BudgetSpent { per_hour: 2000 },
            SyncError::LeaseLost,
            SyncError::LeftOut(Said::new(
                "the person is not in Semana",
                "la personne n'est pas dans Semana",
            )),
        ];
        let mut said = std::collections::HashSet::new();
        for e in &every {
            let outcome = e.outcome();
            let (en, fr) = (
                outcome.reason_in("en").unwrap(),
                outcome.reason_in("fr").unwrap(),
            );
            assert_eq!(en, e.to_string(), "the API's words are the error's");
            assert_ne!(fr, en);
            assert!(said.insert(fr) && said.insert(en), "{e}");
        }
        assert_eq!(
            every[3].outcome().reason_in("fr").unwrap(),
            "impossible de joindre le partenaire : connexion coupée par le serveur"
        );
        assert!(matches!(every[6].outcome(), Outcome::Skipped(_)));
        assert!(matches!(every[8].outcome(), Outcome::Skipped(_)));
        assert!(matches!(every[2].outcome(), Outcome::Failed(_)));
        // A line an older relais stored in English reads as it was.
        let old = Outcome::Failed("the partner answered 422: x".into());
        assert_eq!(old.reason_in("fr").unwrap(), "the partner answered 422: x");
    }
}
