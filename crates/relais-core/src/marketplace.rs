//! The marketplace catalog: one manifest per app, as data.
//!
//! A manifest says who built the app, what it does (French and English),
//! which products it concerns, each data flow with its direction and
//! frequency, how it is set up, and the grants of the key its installation
//! creates — the least that lets it work.

use crate::absence::{AbsenceAccount, AbsenceCategory};
use crate::access::Role;

use serde::{Deserialize, Serialize};

/// A product of the HR base an app concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    /// Employees and organisation (« Socle RH »).
    CoreHr,
    /// Absences.
    Absences,
    /// Expenses (« Notes de frais »).
    Expenses,
}

impl Product {
    /// The name shown, in `lang` (`fr` or `en`).
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Product::CoreHr, "en") => "Core HR",
            (Product::CoreHr, _) => "Socle RH",
            (Product::Absences, "en") => "Absences",
            (Product::Absences, _) => "Absences",
            (Product::Expenses, "en") => "Expenses",
            (Product::Expenses, _) => "Notes de frais",
        }
    }
}

/// Which way data moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// From the HR base to the partner.
    ToPartner,
    /// From the partner into the HR base.
    FromPartner,
}

/// Who activates the integration on the partner's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setup {
    /// The customer enters the URL and key in the partner's app.
    Autonomous,
    /// The partner's customer success manager activates it.
    PartnerCsm,
}

/// Descriptions in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// One line, in French.
    pub short_fr: String,
    /// One line, in English.
    pub short_en: String,
    /// A paragraph, in French.
    pub long_fr: String,
    /// A paragraph, in English.
    pub long_en: String,
}

/// One data flow of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// The product the data belongs to.
    pub domain: Product,
    /// Which way it moves.
    pub direction: Direction,
    /// How often, in French.
    pub frequency_fr: String,
    /// How often, in English.
    pub frequency_en: String,
    /// The data exchanged, in French.
    pub data_fr: Vec<String>,
    /// The data exchanged, in English.
    pub data_en: Vec<String>,
}

/// The set-up steps on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    /// In relais, in French.
    pub relais_fr: Vec<String>,
    /// In relais, in English.
    pub relais_en: Vec<String>,
    /// On the partner's side, in French.
    pub partner_fr: Vec<String>,
    /// On the partner's side, in English.
    pub partner_en: Vec<String>,
}

/// An app of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppManifest {
    /// Short unique code, used in URLs.
    pub code: String,
    /// Name shown.
    pub name: String,
    /// Who developed it.
    pub publisher: String,
    /// How it connects, e.g. `API`.
    pub integration_type: String,
    /// Products concerned.
    pub products: Vec<Product>,
    /// Who activates it.
    pub setup: Setup,
    /// Grant codes of the key its installation creates.
    pub grants: Vec<String>,
    /// What it does.
    pub description: Description,
    /// Its data flows.
    pub flows: Vec<Flow>,
    /// How to set it up.
    pub steps: Steps,
}

/// A manifest that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest {file}: {message}")]
pub struct ManifestError {
    /// The file.
    pub file: String,
    /// What is wrong, with its line when known.
    pub message: String,
}

impl AppManifest {
    /// Parses and checks the manifest text of `file`.
    pub fn parse(file: &str, text: &str) -> Result<Self, ManifestError> {
        let err = |message: String| ManifestError {
            file: file.to_owned(),
            message,
        };
        let manifest: AppManifest = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            err(format!(
                "{}{}",
                line.map(|l| format!("line {l}: ")).unwrap_or_default(),
                e.message().replace('\n', " ")
            ))
        })?;
        let slug_ok = !manifest.code.is_empty()
            && manifest
                .code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            return Err(err(format!(
                "code '{}' must be lowercase letters, digits and '-'",
                manifest.code
            )));
        }
        for (what, value) in [("name", &manifest.name), ("publisher", &manifest.publisher)] {
            if value.trim().is_empty() {
                return Err(err(format!("{what} must not be empty")));
            }
        }
        if manifest.products.is_empty() {
            return Err(err("products must list at least one product".into()));
        }
        if manifest.flows.is_empty() {
            return Err(err("flows must list at least one data flow".into()));
        }
        for (i, f) in manifest.flows.iter().enumerate() {
            if f.data_fr.is_empty() || f.data_fr.len() != f.data_en.len() {
                return Err(err(format!(
                    "flow {}: data_fr and data_en must list the same data",
                    i + 1
                )));
            }
        }
        manifest
            .role()
            .map_err(|e| err(format!("grants: {}", e.message)))?;
        Ok(manifest)
    }

    /// The role of the key an installation on a base with these absence
    /// accounts creates: the manifest's grants, read by the role parser,
    /// with a grant `absence-requests:categories=telework` resolved to the
    /// base's active accounts of those categories ([`Role::resolved_for`]).
    pub fn role_for(&self, accounts: &[AbsenceAccount]) -> Result<Role, crate::DomainError> {
        Role::parse(&self.grants)?.resolved_for(accounts)
    }

    /// The role on a base holding one account of every category (to check a manifest).
    pub fn role(&self) -> Result<Role, crate::DomainError> {
        let now = crate::now();
        let every: Vec<AbsenceAccount> = AbsenceCategory::ALL
            .iter()
            .enumerate()
            .map(|(i, c)| AbsenceAccount {
                base_id: crate::ids::BaseId(0),
                id: crate::ids::AbsenceAccountId(i as i64 + 1),
                name: crate::org::Name::parse("name", c.as_str())
                    .expect("category codes are names"),
                category: *c,
                unit: crate::absence::AbsenceUnit::Days,
                active: true,
                created_at: now,
                modified_at: now,
            })
            .collect();
        self.role_for(&every)
    }

    /// Whether the app matches a search: name, publisher, descriptions or data.
    pub fn matches(&self, search: &str) -> bool {
        let needle = search.trim().to_lowercase();
        if needle.is_empty() {
            return true;
        }
        let d = &self.description;
        [
            &self.name,
            &self.publisher,
            &d.short_fr,
            &d.short_en,
            &d.long_fr,
            &d.long_en,
        ]
        .iter()
        .any(|t| t.to_lowercase().contains(&needle))
            || self
                .flows
                .iter()
                .flat_map(|f| f.data_fr.iter().chain(&f.data_en))
                .any(|t| t.to_lowercase().contains(&needle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
code = "demo"
name = "Demo"
publisher = "Demo SAS"
integration_type = "API"
products = ["core-hr"]
setup = "autonomous"
grants = ["personnel-file:fields=firstName"]
[description]
short_fr = "a"
short_en = "a"
long_fr = "a"
long_en = "a"
[[flows]]
domain = "core-hr"
direction = "to-partner"
frequency_fr = "Quotidienne"
frequency_en = "Daily"
data_fr = ["Prénom"]
data_en = ["First name"]
[steps]
relais_fr = []
relais_en = []
partner_fr = []
partner_en = []
"#;

    #[test]
    fn a_manifest_parses_and_gives_its_role() {
        let m = AppManifest::parse("demo.toml", MINIMAL).unwrap();
        assert!(m.role().unwrap().may_read_field("standard", "firstName"));
        assert!(m.matches("prénom") && m.matches("DEMO") && !m.matches("payroll"));
    }

    #[test]
    fn mistakes_name_the_file_and_line() {
        let bad_grant = MINIMAL.replace("personnel-file:fields=firstName", "read-all");
        let e = AppManifest::parse("demo.toml", &bad_grant).unwrap_err();
        assert!(
            e.to_string().starts_with("manifest demo.toml: grants:")
                && e.message.contains("'read-all' is not a grant"),
            "{e}"
        );
        let unknown = MINIMAL.replace(
            "setup = \"autonomous\"",
            "setup = \"autonomous\"\ncolour = \"blue\"",
        );
        let e = AppManifest::parse("demo.toml", &unknown).unwrap_err();
        assert!(
            e.message.contains("line 8") && e.message.contains("colour"),
            "{e}"
        );
        let bad_direction = MINIMAL.replace("to-partner", "sideways");
        assert!(AppManifest::parse("demo.toml", &bad_direction)
            .unwrap_err()
            .message
            .contains("sideways"));
        let bad_code = MINIMAL.replace("code = \"demo\"", "code = \"Demo App\"");
        assert!(AppManifest::parse("demo.toml", &bad_code).is_err());
    }
}
