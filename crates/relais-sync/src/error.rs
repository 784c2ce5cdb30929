//! The one error type of the sync layer.

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
        /// `source` or `partner`.
        what: &'static str,
        /// The last failure.
        reason: String,
    },
    /// An answer did not have the expected shape.
    #[error("unexpected answer from {what}: {reason}")]
    Malformed {
        /// `source` or `partner`.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The ledger could not be read or written.
    #[error(transparent)]
    Store(#[from] relais_store::StoreError),
}
