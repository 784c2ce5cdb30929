//! Bases: the tenants of a relais installation (a production base and test bases).

use crate::error::{DomainError, Result};
use crate::ids::BaseId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The name of a base: 1 to 63 lowercase letters, digits or hyphens, starting
/// with a letter (it appears in URLs and on the command line).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BaseName(String);

impl BaseName {
    /// Parses a base name.
    pub fn parse(raw: &str) -> Result<Self> {
        let ok_chars = raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let starts_with_letter = raw.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if raw.is_empty() || raw.len() > 63 || !ok_chars || !starts_with_letter {
            return Err(DomainError::new(
                "base",
                format!(
                    "'{raw}' is not a valid base name: use 1 to 63 lowercase letters, digits or hyphens, starting with a letter"
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BaseName {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<BaseName> for String {
    fn from(value: BaseName) -> Self {
        value.0
    }
}

impl FromStr for BaseName {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Whether a base holds the company's real data or is a test copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaseKind {
    /// The company's real data.
    Production,
    /// A sandbox, refreshed as a copy of production.
    Test,
}

impl BaseKind {
    /// The stored and displayed code.
    pub fn as_str(self) -> &'static str {
        match self {
            BaseKind::Production => "production",
            BaseKind::Test => "test",
        }
    }
}

impl fmt::Display for BaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BaseKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "production" => Ok(BaseKind::Production),
            "test" => Ok(BaseKind::Test),
            other => Err(DomainError::new(
                "kind",
                format!("'{other}' is not a base kind: use 'production' or 'test'"),
            )),
        }
    }
}

/// A base (tenant).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Base {
    /// Its identifier.
    pub id: BaseId,
    /// Its unique name.
    pub name: BaseName,
    /// Production or test.
    pub kind: BaseKind,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed (renamed, refreshed).
    pub modified_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names_are_slugs() {
        assert!(BaseName::parse("production").is_ok());
        assert!(BaseName::parse("test-2").is_ok());
        for bad in ["", "Prod", "2test", "a b", "é", &"a".repeat(64)] {
            let err = BaseName::parse(bad).unwrap_err();
            assert_eq!(err.field, "base", "{bad}");
        }
    }

    #[test]
    fn base_kind_round_trips() {
        for kind in [BaseKind::Production, BaseKind::Test] {
            assert_eq!(kind.as_str().parse::<BaseKind>().unwrap(), kind);
        }
        assert!("staging"
            .parse::<BaseKind>()
            .unwrap_err()
            .message
            .contains("staging"));
    }
}
