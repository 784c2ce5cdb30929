//! The one error type of the domain layer.

/// A value or a combination of values that the domain refuses.
///
/// `field` names what was wrong (a field or parameter name) so that the API and
/// the CLI can point at it; `message` says why, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    /// The field, parameter or rule concerned, e.g. `mail` or `endDate`.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl DomainError {
    /// Builds an error about `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Shorthand for results of the domain layer.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;
