//! HappyPal: employees one way — first name, last name, work e-mail, birth
//! date, contract start and end — into HappyPal's directory.
//!
//! One outbound stream, `employees`: the employees changed since its
//! checkpoint (every employee on a full run) are upserted in batches
//! (HappyPal links an existing profile with the same e-mail). Every run then
//! reads back the profiles changed in HappyPal since its last read (all of
//! them on a full run): fields edited there are overwritten with the base's
//! values (the report names them); a full run also deletes the profiles of
//! employees the key no longer sees.
//!
//! The folder: the declaration and typed configuration (here), HappyPal's
//! client (`client.rs`) and the stream with its mapping (`employees.rs`).

mod client;
mod employees;

use super::prelude::*;

pub use client::HappyPalClient;
pub use employees::SOURCE_FIELDS;

/// HappyPal's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Requests relais sends HappyPal per hour at most (client-side budget).
    #[serde(default = "given::<10_000>")]
    pub requests_per_hour: u32,
    /// Profiles sent in one batch request (1 sends them one by one).
    #[serde(default = "given::<100>")]
    pub batch_size: u32,
    /// Batch requests in flight at once.
    #[serde(default = "given::<2>")]
    pub concurrency: u32,
}

impl Validate for Config {}

/// HappyPal's secrets.
#[derive(Clone, Deserialize)]
pub struct Secrets {
    /// HappyPal's API token, sent as a bearer token.
    pub token: String,
}

/// HappyPal's declaration: one secret, three options, a run every 4 hours at most.
pub static DECLARATION: Declaration = Declaration {
    code: "happypal",
    name: "HappyPal",
    secrets: &[SettingSpec {
        name: "token",
        label_fr: "Jeton d'API HappyPal",
        label_en: "HappyPal API token",
        help_fr: "Donné par HappyPal à l'activation du connecteur.",
        help_en: "Given by HappyPal when the connector is activated.",
        kind: SettingKind::Secret,
        required: true,
    }],
    options: &[
        budget_setting!(
            "HappyPal",
            "Au-delà, le reste attend l'exécution suivante.",
            "Beyond it, the rest waits for the next run."
        ),
        SettingSpec {
            name: "batch_size",
            label_fr: "Profils par requête",
            label_en: "Profiles per request",
            help_fr: "HappyPal accepte jusqu'à 100 profils par requête ; 1 les envoie un par un.",
            help_en: "HappyPal takes up to 100 profiles per request; 1 sends them one by one.",
            kind: SettingKind::Number { min: 1, max: 100 },
            required: false,
        },
        concurrency_setting!(
            "Requêtes envoyées en parallèle à HappyPal.",
            "Requests sent to HappyPal in parallel."
        ),
    ],
    schedule: ScheduleRule {
        default: "0 6 * * *",
        default_full: "0 3 * * 0",
        min_interval_minutes: Some(4 * 60),
        nightly_from: None,
        on_change: None,
    },
    mapping: None,
    streams: &[StreamSpec {
        name: "employees",
        direction: Direction::Outbound,
        label_fr: "Collaborateurs → HappyPal",
        label_en: "Employees → HappyPal",
        fields: &[
            FieldLabel {
                name: "first_name",
                fr: "Prénom",
                en: "First name",
                value: FieldValue::Text,
            },
            FieldLabel {
                name: "last_name",
                fr: "Nom",
                en: "Last name",
                value: FieldValue::Text,
            },
            FieldLabel {
                name: "email",
                fr: "E-mail professionnel",
                en: "Work e-mail",
                value: FieldValue::Text,
            },
            FieldLabel {
                name: "birth_date",
                fr: "Date de naissance",
                en: "Birth date",
                value: FieldValue::Text,
            },
            FieldLabel {
                name: "contract_start",
                fr: "Début de contrat",
                en: "Contract start",
                value: FieldValue::Text,
            },
            FieldLabel {
                name: "contract_end",
                fr: "Fin de contrat",
                en: "Contract end",
                value: FieldValue::Text,
            },
        ],
    }],
};

relais_core::declared_connector!(
    /// The HappyPal connector.
    HappyPal,
    &DECLARATION,
    Config
);

#[async_trait]
impl Connector for HappyPal {
    async fn check_connection(&self, setup: &Setup) -> Result<(), SyncError> {
        HappyPalClient::new(setup)?.check().await
    }

    async fn open(&self, setup: &Setup, _dry_run: bool) -> Result<Vec<Box<dyn Stream>>, SyncError> {
        let config: Config = setup.config()?;
        Ok(vec![Box::new(employees::Employees::new(
            setup,
            HappyPalClient::new(setup)?,
            &config,
        ))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::connector::ConnectorSpec;

    #[test]
    fn defaults_and_rules_of_the_typed_configuration() {
        let defaults = HappyPal.default_options();
        assert_eq!(defaults["requests_per_hour"], 10_000);
        let e = HappyPal
            .check_options(&serde_json::json!({"months": 3}))
            .unwrap_err();
        assert!(e.message.contains("HappyPal has no option 'months'"), "{e}");
        let e = HappyPal
            .check_options(&serde_json::json!({"batch_size": 500}))
            .unwrap_err();
        assert!(
            e.message
                .contains("batch_size must be a whole number from 1 to 100"),
            "{e}"
        );
    }
}
