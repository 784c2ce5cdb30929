//! Ledgy, through Merge: equity management. Employees become Ledgy
//! stakeholders, with the fields the customer maps.
//!
//! One stream, `stakeholders` (out): the base read as Merge reads a Lucca
//! base ([`merge`]: users, work contracts, legal entities, the department
//! tree, each employee as Merge's Employee model with the raw record
//! beside it), each employee's stakeholder fields taken where the
//! customer's mapping (option `mapping`, edited on the app's page) says,
//! sent to Ledgy under the stakeholder identifier (the employee number by
//! default). Every run reads the whole base, as Merge's daily sync does,
//! and sends what changed against what Ledgy holds (edits made in Ledgy
//! are overwritten); "Forcer la synchronisation" runs it now. A changed
//! mapping sends every stakeholder again. An employee without an
//! identifier, or sharing one with someone else, is skipped with the
//! reason. A stakeholder is never deleted: a person who left keeps theirs,
//! with a termination date and status; one who left the key's sight is
//! unlinked (Ledgy keeps it, no longer fed).
//!
//! The preview ([`stakeholders::preview`]) shows a page of stakeholders as
//! the next run would send them, against what Ledgy holds, and who would
//! be skipped and why.

mod client;
pub mod merge;
mod stakeholders;

use super::prelude::*;
use relais_core::mapping::{
    FieldMapping, MappingProblem, PreviewPage, PreviewQuery, SourceField, TargetSpec,
};
use std::sync::Arc;

pub use client::LedgyClient;
pub use stakeholders::MAPPING_FIELD;

/// Merge's employment statuses, as relais reads a contract's dates.
const STATUS_WORDS: &[ValueWords] = &[
    ValueWords {
        code: merge::ACTIVE,
        fr: "en poste",
        en: "active",
    },
    ValueWords {
        code: merge::PENDING,
        fr: "arrivée à venir",
        en: "starting later",
    },
    ValueWords {
        code: merge::INACTIVE,
        fr: "parti",
        en: "left",
    },
];

/// Ledgy's stakeholder fields a customer maps.
pub const TARGETS: &[TargetSpec] = &[
    TargetSpec {
        name: "identifier",
        label_fr: "Identifiant du bénéficiaire",
        label_en: "Stakeholder identifier",
        identifier: true,
        default: "model:employee_number",
        words: &[],
    },
    TargetSpec {
        name: "firstName",
        label_fr: "Prénom",
        label_en: "First name",
        identifier: false,
        default: "model:first_name",
        words: &[],
    },
    TargetSpec {
        name: "lastName",
        label_fr: "Nom",
        label_en: "Last name",
        identifier: false,
        default: "model:last_name",
        words: &[],
    },
    TargetSpec {
        name: "email",
        label_fr: "E-mail",
        label_en: "E-mail",
        identifier: false,
        default: "model:work_email",
        words: &[],
    },
    TargetSpec {
        name: "birthDate",
        label_fr: "Date de naissance",
        label_en: "Birth date",
        identifier: false,
        default: "model:date_of_birth",
        words: &[],
    },
    TargetSpec {
        name: "startDate",
        label_fr: "Date d'arrivée",
        label_en: "Start date",
        identifier: false,
        default: "model:start_date",
        words: &[],
    },
    TargetSpec {
        name: "terminationDate",
        label_fr: "Date de départ",
        label_en: "Termination date",
        identifier: false,
        default: "model:termination_date",
        words: &[],
    },
    TargetSpec {
        name: "status",
        label_fr: "Statut",
        label_en: "Status",
        identifier: false,
        default: "model:employment_status",
        words: STATUS_WORDS,
    },
    TargetSpec {
        name: "company",
        label_fr: "Société",
        label_en: "Company",
        identifier: false,
        default: "model:company",
        words: &[],
    },
    TargetSpec {
        name: "department",
        label_fr: "Service",
        label_en: "Department",
        identifier: false,
        default: "model:team",
        words: &[],
    },
];

/// Ledgy's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The customer's mapping of HR fields to stakeholder fields.
    #[serde(default = "Config::default_mapping")]
    pub mapping: FieldMapping,
    /// Requests relais sends Ledgy per hour at most.
    #[serde(default = "given::<36_000>")]
    pub requests_per_hour: u32,
    /// Requests in flight at once.
    #[serde(default = "given::<4>")]
    pub concurrency: u32,
    /// Stakeholders sent in one request (1: one by one).
    #[serde(default = "given::<100>")]
    pub batch_size: u32,
}

impl Config {
    fn default_mapping() -> FieldMapping {
        FieldMapping::defaults(TARGETS)
    }
}

impl Validate for Config {
    fn validate(&self) -> relais_core::error::Result<()> {
        // The mapping's own rules; its sources are checked against the base
        // before it is saved (they need the base).
        match self.mapping.check_shape(TARGETS).first() {
            Some(p) => Err(relais_core::error::DomainError::said(
                "mapping",
                p.to_string(),
                match p.target.as_str() {
                    "" => p.message_in("fr").to_owned(),
                    target => format!("{target} : {}", p.message_in("fr")),
                },
            )),
            None => Ok(()),
        }
    }
}

/// Ledgy's secrets.
#[derive(Clone, Deserialize)]
pub struct Secrets {
    /// The token Ledgy gave for its HR-system integration (bearer).
    pub api_token: String,
}

/// Ledgy's declaration.
pub static DECLARATION: Declaration = Declaration {
    code: "ledgy",
    name: "Ledgy",
    secrets: &[SettingSpec {
        name: "api_token",
        label_fr: "Jeton d'intégration Ledgy",
        label_en: "Ledgy integration token",
        help_fr:
            "Donné par Ledgy quand vous connectez un système RH (General › HR System Integration).",
        help_en: "Given by Ledgy when you connect an HR system (General › HR System Integration).",
        kind: SettingKind::Secret,
        required: true,
    }],
    options: &[
        SettingSpec {
            name: "mapping",
            label_fr: "Correspondance des champs",
            label_en: "Field mapping",
            help_fr: "Quel champ RH alimente chaque champ de bénéficiaire.",
            help_en: "Which HR field feeds each stakeholder field.",
            kind: SettingKind::Mapping,
            required: false,
        },
        budget_setting!(
            "Ledgy",
            "Merge limite chaque compte lié à 100 à 600 requêtes par minute.",
            "Merge limits each linked account to 100 to 600 requests a minute."
        ),
        SettingSpec {
            name: "batch_size",
            label_fr: "Bénéficiaires par requête",
            label_en: "Stakeholders per request",
            help_fr:
                "Ledgy accepte jusqu'à 100 bénéficiaires par requête ; 1 les envoie un par un.",
            help_en: "Ledgy takes up to 100 stakeholders per request; 1 sends them one by one.",
            kind: SettingKind::Number { min: 1, max: 100 },
            required: false,
        },
        concurrency_setting!(
            "Requêtes envoyées en parallèle à Ledgy.",
            "Stakeholders sent in parallel to Ledgy."
        ),
    ],
    schedule: ScheduleRule {
        // Merge syncs daily; every run reads the whole base.
        default: "0 4 * * *",
        default_full: "0 4 * * 0",
        min_interval_minutes: None,
        nightly_from: None,
        on_change: None,
    },
    mapping: Some(TARGETS),
    streams: &[StreamSpec {
        name: "stakeholders",
        direction: Direction::Outbound,
        label_fr: "Collaborateurs → bénéficiaires Ledgy",
        label_en: "Employees → Ledgy stakeholders",
        fields: &[FieldLabel {
            name: MAPPING_FIELD,
            fr: "Correspondance des champs",
            en: "Field mapping",
            value: FieldValue::Fingerprint,
        }],
    }],
};

relais_core::declared_connector!(
    /// The Ledgy connector.
    Ledgy,
    &DECLARATION,
    Config
);

fn mapper(setup: &Setup) -> Result<stakeholders::Mapper, SyncError> {
    let config: Config = setup.config()?;
    stakeholders::Mapper::new(config.mapping, TARGETS)
}

#[async_trait]
impl Connector for Ledgy {
    async fn check_connection(&self, setup: &Setup) -> Result<(), SyncError> {
        LedgyClient::new(setup)?.check().await
    }

    async fn open(&self, setup: &Setup, _dry_run: bool) -> Result<Vec<Box<dyn Stream>>, SyncError> {
        let config: Config = setup.config()?;
        let client = LedgyClient::new(setup)?;
        let mapper = Arc::new(mapper(setup)?);
        Ok(vec![Box::new(
            stakeholders::Stakeholders::open(
                setup,
                client,
                mapper,
                config.concurrency as usize,
                config.batch_size as usize,
            )
            .await?,
        )])
    }

    async fn mapping_sources(
        &self,
        setup: &Setup,
        lang: &str,
    ) -> Result<Vec<SourceField>, SyncError> {
        merge::sources(setup, lang).await
    }

    async fn check_mapping(
        &self,
        setup: &Setup,
        mapping: &FieldMapping,
    ) -> Result<Vec<MappingProblem>, SyncError> {
        let sources = merge::sources(setup, "fr").await?;
        let mut problems = mapping.check(TARGETS, &sources);
        if problems.is_empty() {
            // An identifier most people share names no one: refused.
            let mapper = stakeholders::Mapper::new(mapping.clone(), TARGETS)?;
            let ids = stakeholders::Identifiers::read(setup, &mapper).await?;
            let (people, distinct) = ids.spread();
            if people >= 10 && distinct * 10 < people * 9 {
                let source = mapping
                    .identifier(TARGETS)
                    .map(|f| f.source.code())
                    .unwrap_or_default();
                problems.push(MappingProblem::said(
                    "identifier",
                    format!(
                        "'{source}' gives {distinct} different values for {people} employees: a stakeholder identifier must name one person (the employee number does)"
                    ),
                    format!(
                        "« {source} » donne {distinct} valeurs différentes pour {people} salariés : un identifiant de bénéficiaire doit désigner une seule personne (le matricule le fait)"
                    ),
                ));
            }
        }
        Ok(problems)
    }

    async fn preview(&self, setup: &Setup, query: &PreviewQuery) -> Result<PreviewPage, SyncError> {
        let client = LedgyClient::new(setup)?;
        stakeholders::preview(setup, &client, &mapper(setup)?, query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::connector::ConnectorSpec;

    #[test]
    fn the_default_mapping_sends_the_standard_stakeholder_fields() {
        let defaults = Ledgy.default_options();
        let mapping: FieldMapping = serde_json::from_value(defaults["mapping"].clone()).unwrap();
        assert_eq!(mapping.fields.len(), TARGETS.len());
        assert_eq!(
            mapping.identifier(TARGETS).unwrap().source.code(),
            "model:employee_number"
        );
        let e = Ledgy
            .check_options(&serde_json::json!({"mapping": {"fields": []}}))
            .unwrap_err();
        assert!(e.message.contains("identifier must be mapped"), "{e}");
    }

    #[test]
    fn every_model_field_is_offered_with_what_it_needs() {
        for f in merge::MODEL {
            assert!(!f.needs.is_empty(), "{}", f.name);
            for n in f.needs {
                assert!(
                    relais_core::fields::standard(n.name).is_some(),
                    "{} needs {}",
                    f.name,
                    n.name
                );
            }
        }
        for t in TARGETS {
            let source = relais_core::mapping::SourcePath::parse(t.default).unwrap();
            let relais_core::mapping::SourcePath::Model(name) = source else {
                panic!()
            };
            assert!(merge::MODEL.iter().any(|f| f.name == name), "{name}");
        }
    }
}
