//! The one error type of the sync layer.

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
    Config(String),
    /// A record left out on purpose, with why (a conflict with what the
    /// other side holds): reported as skipped and tried again next run.
    #[error("{0}")]
    LeftOut(String),
    /// The ledger could not be read or written.
    #[error(transparent)]
    Store(#[from] relais_store::StoreError),
}

impl SyncError {
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
            Self::LeftOut(m) => Self::LeftOut(m.clone()),
            Self::Store(e) => Self::Unreachable {
                what: Side::Database,
                reason: relais_core::network::NetworkCause::new(e.to_string()),
            },
        }
    }

    /// How a record that met this error is reported: left out for a spent
    /// budget or on purpose, failed with the answer otherwise.
    pub fn outcome(&self) -> relais_core::integration::Outcome {
        use relais_core::integration::Outcome;
        match self {
            Self::BudgetSpent { .. } | Self::LeftOut(_) => Outcome::Skipped(self.to_string()),
            _ => Outcome::Failed(self.to_string()),
        }
    }
}
