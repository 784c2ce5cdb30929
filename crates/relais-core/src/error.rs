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
    /// The same in French, for the admin pages, when the refusal is one a
    /// person filling a form can meet.
    pub message_fr: Option<String>,
}

impl DomainError {
    /// Builds an error about `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            message_fr: None,
        }
    }

    /// Builds an error about `field` said in English and in French.
    pub fn said(field: &'static str, en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self {
            field,
            message: en.into(),
            message_fr: Some(fr.into()),
        }
    }

    /// What is wrong in `lang` (`fr`: the French words when there are;
    /// otherwise English).
    pub fn message_in(&self, lang: &str) -> &str {
        crate::said::pick(&self.message, self.message_fr.as_deref(), lang)
    }
}

/// Shorthand for results of the domain layer.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;
