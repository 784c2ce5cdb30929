//! The connectors relais runs, one folder per partner, and their registry.
//!
//! A new connector is a folder here (its declaration and typed
//! configuration in `mod.rs`, its partner client, its streams and their
//! mapping) plus one line in [`registry`]: the runtime, the pages, the API
//! and the CLI read everything else from its declaration.

/// The request budget a connector declares (`requests_per_hour`, 1 to
/// 1,000,000, optional): its label names the partner, its help says what
/// happens beyond it.
macro_rules! budget_setting {
    ($partner:literal, $help_fr:literal, $help_en:literal $(,)?) => {
        relais_core::connector::SettingSpec {
            name: relais_core::connector::REQUESTS_PER_HOUR,
            label_fr: concat!("Requêtes par heure au plus vers ", $partner),
            label_en: concat!("Requests per hour at most to ", $partner),
            help_fr: $help_fr,
            help_en: $help_en,
            kind: relais_core::connector::SettingKind::Number {
                min: 1,
                max: 1_000_000,
            },
            required: false,
        }
    };
}

/// The requests a run sends at once a connector declares (`concurrency`,
/// 1 to 8, optional): its help says to whom.
macro_rules! concurrency_setting {
    ($help_fr:literal, $help_en:literal $(,)?) => {
        relais_core::connector::SettingSpec {
            name: relais_core::connector::CONCURRENCY,
            label_fr: "Requêtes simultanées",
            label_en: "Requests at once",
            help_fr: $help_fr,
            help_en: $help_en,
            kind: relais_core::connector::SettingKind::Number { min: 1, max: 8 },
            required: false,
        }
    };
}

mod prelude;

pub mod happypal;
pub mod ledgy;
pub mod planningpme;
pub mod semana;

use crate::engine::Connector;
use relais_core::connector::{ConnectorCatalog, ConnectorSpec};
use std::sync::Arc;

/// Every connector relais runs.
pub fn registry() -> Vec<Arc<dyn Connector>> {
    vec![
        Arc::new(happypal::HappyPal),
        Arc::new(ledgy::Ledgy),
        Arc::new(planningpme::PlanningPme),
        Arc::new(semana::Semana),
    ]
}

/// The registry, built once for the process.
fn registered() -> &'static [Arc<dyn Connector>] {
    static REGISTERED: std::sync::OnceLock<Vec<Arc<dyn Connector>>> = std::sync::OnceLock::new();
    REGISTERED.get_or_init(registry)
}

/// The connector of app `code`, when relais runs one.
pub fn find(code: &str) -> Option<Arc<dyn Connector>> {
    registered()
        .iter()
        .find(|c| c.declaration().code == code)
        .cloned()
}

/// The connectors' declarations and typed configurations, for the API,
/// the pages and the CLI.
pub fn catalog() -> ConnectorCatalog {
    ConnectorCatalog::new(
        registered()
            .iter()
            .map(|c| c.clone() as Arc<dyn ConnectorSpec>)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declaration_names_exactly_its_typed_options() {
        for connector in registry() {
            let declaration = connector.declaration();
            let defaults = connector.default_options();
            let mut typed: Vec<&str> = defaults
                .as_object()
                .unwrap_or_else(|| panic!("{}: options are an object", declaration.code))
                .keys()
                .map(String::as_str)
                .collect();
            let mut declared: Vec<&str> = declaration.options.iter().map(|o| o.name).collect();
            typed.sort();
            declared.sort();
            assert_eq!(typed, declared, "{}", declaration.code);
            assert!(
                find(declaration.code).is_some(),
                "{} is found by its code",
                declaration.code
            );
        }
    }

    #[test]
    fn every_connector_takes_a_budget_naming_its_partner_and_a_concurrency() {
        use relais_core::connector::{SettingKind, CONCURRENCY, REQUESTS_PER_HOUR};
        for connector in registry() {
            let declaration = connector.declaration();
            let option = |name: &str| {
                *declaration
                    .options
                    .iter()
                    .find(|o| o.name == name)
                    .unwrap_or_else(|| panic!("{} declares {name}", declaration.code))
            };
            let budget = option(REQUESTS_PER_HOUR);
            assert_eq!(
                budget.label("fr"),
                format!("Requêtes par heure au plus vers {}", declaration.name)
            );
            assert_eq!(
                budget.label("en"),
                format!("Requests per hour at most to {}", declaration.name)
            );
            assert!(matches!(
                budget.kind,
                SettingKind::Number {
                    min: 1,
                    max: 1_000_000
                }
            ));
            let concurrency = option(CONCURRENCY);
            assert_eq!(concurrency.label("en"), "Requests at once");
            assert!(matches!(
                concurrency.kind,
                SettingKind::Number { min: 1, max: 8 }
            ));
            assert!(!budget.required && !concurrency.required);
            assert!(!budget.help("fr").is_empty() && !concurrency.help("en").is_empty());
        }
    }
}
