//! PlanningPME: departments and employees (identifier and department) as
//! resources, and the absences of the coming months as unavailabilities
//! labelled by absence account — half days as time ranges (morning
//! 08:00–12:00, afternoon 13:00–18:00).
//!
//! Three outbound streams, parents first: `departments`, `resources`,
//! `unavailabilities`. Options: the base department (only it and its
//! sub-departments are sent) and the window of absences, in months (6 by
//! default). By default every run is a full reconciliation of the window:
//! what changed is written, what left the window or was cancelled is
//! deleted. Authentication follows PlanningPME: `X-APPKEY` on every call and
//! a bearer token obtained from `PUT token` with the customer's assertion.
//!
//! The folder: the declaration and typed configuration (here), PlanningPME's
//! client (`client.rs`), the streams and their mapping (`streams.rs`).

mod client;
mod streams;

use super::prelude::*;
use relais_store::SharedStore;

pub use client::PlanningPmeClient;

/// PlanningPME's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Only this department and its sub-departments are sent (all when unset).
    #[serde(default)]
    pub base_department: Option<i64>,
    /// Months of absences sent, from today (the sync period).
    #[serde(default = "given::<6>")]
    pub months: u32,
    /// Requests relais sends PlanningPME per hour at most (its rate limit per app key).
    #[serde(default = "given::<2_000>")]
    pub requests_per_hour: u32,
    /// Requests in flight at once.
    #[serde(default = "given::<1>")]
    pub concurrency: u32,
}

impl Validate for Config {}

/// PlanningPME's secrets.
#[derive(Clone, Deserialize)]
pub struct Secrets {
    /// The app key, sent as `X-APPKEY`.
    pub app_key: String,
    /// The user assertion, exchanged for a bearer token.
    pub assertion: String,
}

/// PlanningPME's declaration.
pub static DECLARATION: Declaration = Declaration {
    code: "planningpme",
    name: "PlanningPME",
    secrets: &[
        SettingSpec {
            name: "app_key",
            label_fr: "Clé d'application (X-APPKEY)",
            label_en: "App key (X-APPKEY)",
            help_fr: "Fournie par PlanningPME pour cette intégration.",
            help_en: "Given by PlanningPME for this integration.",
            kind: SettingKind::Secret,
            required: true,
        },
        SettingSpec {
            name: "assertion",
            label_fr: "Assertion utilisateur (échangée contre un jeton)",
            label_en: "User assertion (exchanged for a token)",
            help_fr: "Générée dans PlanningPME par un administrateur.",
            help_en: "Generated in PlanningPME by an administrator.",
            kind: SettingKind::Secret,
            required: true,
        },
    ],
    options: &[
        SettingSpec {
            name: "base_department",
            label_fr: "Département de base",
            label_en: "Base department",
            help_fr: "Seuls ce département et ses sous-départements sont envoyés ; vide : tous.",
            help_en: "Only this department and its sub-departments are sent; blank: all.",
            kind: SettingKind::Department,
            required: false,
        },
        SettingSpec {
            name: "months",
            label_fr: "Période synchronisée, en mois",
            label_en: "Sync period, in months",
            help_fr: "Les absences des mois à venir envoyées à PlanningPME.",
            help_en: "The absences of the coming months sent to PlanningPME.",
            kind: SettingKind::Number { min: 1, max: 24 },
            required: false,
        },
        budget_setting!(
            "PlanningPME",
            "La limite de PlanningPME par clé d'application ; au-delà, le reste attend.",
            "PlanningPME's limit per app key; beyond it, the rest waits."
        ),
        concurrency_setting!(
            "Requêtes envoyées en parallèle à PlanningPME.",
            "Requests sent to PlanningPME in parallel."
        ),
    ],
    schedule: ScheduleRule {
        default: "30 5 * * *",
        // Every run sends its whole window.
        default_full: "30 5 * * *",
        min_interval_minutes: None,
        nightly_from: None,
        // PlanningPME takes a run within seconds of a change, a burst of
        // changes in one run; each run signs in (one request), so runs are
        // spaced to keep that within a quarter of the hourly budget (every
        // 7.2 s at the default 2,000 an hour, every second from 14,400).
        // Of an employee, PlanningPME is sent the department alone.
        on_change: Some(relais_core::connector::OnChange {
            kinds: &[
                relais_core::events::EventKind::Employee,
                relais_core::events::EventKind::Department,
                relais_core::events::EventKind::Leave,
            ],
            employee_fields: &[relais_core::fields::users::DEPARTMENT_ID],
            min_gap_seconds: 1,
            budget: Some(relais_core::connector::ChangeBudget {
                setting: relais_core::connector::REQUESTS_PER_HOUR,
                requests_per_run: 1,
            }),
        }),
    },
    mapping: None,
    streams: &[
        StreamSpec {
            name: "departments",
            direction: Direction::Outbound,
            label_fr: "Départements → PlanningPME",
            label_en: "Departments → PlanningPME",
            fields: &[
                FieldLabel {
                    name: "label",
                    fr: "Nom",
                    en: "Name",
                    value: FieldValue::Text,
                },
                FieldLabel {
                    name: "parentKey",
                    fr: "Département parent",
                    en: "Parent department",
                    value: FieldValue::Refers(Refers::Department),
                },
            ],
        },
        StreamSpec {
            name: "resources",
            direction: Direction::Outbound,
            label_fr: "Collaborateurs → ressources PlanningPME",
            label_en: "Employees → PlanningPME resources",
            fields: &[
                FieldLabel {
                    name: "label",
                    fr: "Libellé de la ressource",
                    en: "Resource label",
                    value: FieldValue::Text,
                },
                FieldLabel {
                    name: "departmentKey",
                    fr: "Département",
                    en: "Department",
                    value: FieldValue::Refers(Refers::Department),
                },
            ],
        },
        StreamSpec {
            name: "unavailabilities",
            direction: Direction::Outbound,
            label_fr: "Absences → indisponibilités PlanningPME",
            label_en: "Absences → PlanningPME unavailabilities",
            fields: &[
                FieldLabel {
                    name: "resource",
                    fr: "Ressource",
                    en: "Resource",
                    value: FieldValue::Refers(Refers::Employee),
                },
                FieldLabel {
                    name: "start",
                    fr: "Début",
                    en: "Start",
                    value: FieldValue::Text,
                },
                FieldLabel {
                    name: "end",
                    fr: "Fin",
                    en: "End",
                    value: FieldValue::Text,
                },
                FieldLabel {
                    name: "label",
                    fr: "Type d'absence",
                    en: "Absence type",
                    value: FieldValue::Text,
                },
            ],
        },
    ],
};

relais_core::declared_connector!(
    /// The PlanningPME connector.
    PlanningPme,
    &DECLARATION,
    Config
);

#[async_trait]
impl Connector for PlanningPme {
    async fn check_connection(&self, setup: &Setup) -> Result<(), SyncError> {
        PlanningPmeClient::new(setup)?.check().await
    }

    async fn open(&self, setup: &Setup, dry_run: bool) -> Result<Vec<Box<dyn Stream>>, SyncError> {
        streams::open(setup, dry_run).await
    }

    async fn needs_full(&self, setup: &Setup, store: &SharedStore) -> Result<bool, SyncError> {
        streams::someone_left(setup, store).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::connector::ConnectorSpec;

    #[test]
    fn defaults_and_rules_of_the_typed_configuration() {
        let defaults = PlanningPme.default_options();
        assert_eq!(
            (
                defaults["months"].as_u64(),
                defaults["requests_per_hour"].as_u64()
            ),
            (Some(6), Some(2_000))
        );
        let e = PlanningPme
            .check_options(&serde_json::json!({"months": 0}))
            .unwrap_err();
        assert!(
            e.message
                .contains("months must be a whole number from 1 to 24"),
            "{e}"
        );
    }
}
