//! Semana: hybrid-work planning. Every night after 21:30, the employees
//! (establishment, names, employee number, work e-mail) and their absences
//! go to Semana; the telework days planned in Semana come back into one
//! telework absence account of the base.
//!
//! Three streams, in this order:
//! - `users` (out): employees under contract, future ones included, as
//!   Semana users; an existing user with the same e-mail (any case) is
//!   linked, not duplicated; a person who left is deactivated at the next
//!   full reconciliation, never deleted (Semana keeps their bookings);
//! - `days-off` (out): the absences of the chosen accounts (all but
//!   telework by default), approved or pending, in the window (6 weeks back
//!   to 6 weeks ahead), one "off" booking per day or half day, without the
//!   account's name (Semana hides the reason on purpose); a cancelled,
//!   denied or moved absence is removed or moved in Semana;
//! - `telework` (in): Semana's "remote" days and half days of the window
//!   become approved leave periods on the telework account, created through
//!   the API with the installation's key (whose grant is that account
//!   alone); a day removed in Semana cancels its period; a day that already
//!   holds another absence is reported as a conflict, not written, and
//!   tried again at the next run.
//!
//! Both day streams read their whole window on every run, so what moved
//! out of it on either side is settled every night; days that slid out of
//! the window are history, left as they are.
//!
//! The folder: the declaration and typed configuration (here), Semana's
//! client (`client.rs`), the people both sides share (`people.rs`), and the
//! three streams (`users.rs`, `days_off.rs`, `telework.rs`).

mod client;
mod days_off;
mod people;
mod telework;
mod users;

use super::prelude::*;

pub use client::SemanaClient;

/// Semana's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The absence accounts sent to Semana as days off ("Choisissez les
    /// comptes à synchroniser"); empty: every account but telework ones.
    #[serde(default)]
    pub accounts: Vec<i64>,
    /// The account telework days come back into; unset: the base's one
    /// telework account.
    #[serde(default)]
    pub telework_account: Option<i64>,
    /// Weeks of the window, back and ahead of today.
    #[serde(default = "given::<6>")]
    pub weeks: u32,
    /// Requests relais sends Semana per hour at most.
    #[serde(default = "given::<100_000>")]
    pub requests_per_hour: u32,
    /// Requests in flight at once.
    #[serde(default = "given::<4>")]
    pub concurrency: u32,
}

impl Validate for Config {
    fn validate(&self) -> relais_core::error::Result<()> {
        if self
            .telework_account
            .is_some_and(|t| self.accounts.contains(&t))
        {
            return Err(relais_core::error::DomainError::new(
                "option",
                "accounts must not hold the telework account: telework days come back from Semana, they are not sent to it",
            ));
        }
        Ok(())
    }
}

/// Semana's secrets.
#[derive(Clone, Deserialize)]
pub struct Secrets {
    /// The workspace's API key, sent as `X-API-Key`.
    pub api_key: String,
}

/// Semana's declaration.
pub static DECLARATION: Declaration = Declaration {
    code: "semana",
    name: "Semana",
    secrets: &[SettingSpec {
        name: "api_key",
        label_fr: "Clé API de l'espace Semana (X-API-Key)",
        label_en: "Semana workspace API key (X-API-Key)",
        help_fr: "Créée dans Semana, espace intégration, par un administrateur.",
        help_en: "Created in Semana's integration space by an administrator.",
        kind: SettingKind::Secret,
        required: true,
    }],
    options: &[
        SettingSpec {
            name: "accounts",
            label_fr: "Choisissez les comptes à synchroniser",
            label_en: "Choose the accounts to sync",
            help_fr: "Les absences de ces comptes deviennent des jours « off » dans Semana, sans leur motif ; aucun : tous les comptes sauf le télétravail.",
            help_en: "Absences of these accounts become \"off\" days in Semana, without their reason; none: every account but telework.",
            kind: SettingKind::Accounts,
            required: false,
        },
        SettingSpec {
            name: "telework_account",
            label_fr: "Compte des jours de télétravail",
            label_en: "Account of telework days",
            help_fr: "Les jours « remote » de Semana reviennent dans ce compte ; par défaut : le compte de télétravail de la base.",
            help_en: "Semana's \"remote\" days come back into this account; by default: the base's telework account.",
            kind: SettingKind::Account,
            required: false,
        },
        SettingSpec {
            name: "weeks",
            label_fr: "Fenêtre synchronisée, en semaines avant et après aujourd'hui",
            label_en: "Synced window, in weeks before and after today",
            help_fr: "Semana synchronise 6 semaines en arrière et 6 en avant.",
            help_en: "Semana syncs 6 weeks back and 6 ahead.",
            kind: SettingKind::Number { min: 1, max: 26 },
            required: false,
        },
        budget_setting!(
            "Semana",
            "Au-delà, le reste attend la nuit suivante.",
            "Beyond it, the rest waits for the next night."
        ),
        concurrency_setting!(
            "Requêtes envoyées en parallèle à Semana et à la base.",
            "Requests sent in parallel to Semana and to the base."
        ),
    ],
    schedule: ScheduleRule {
        default: "45 21 * * *",
        // Leavers are deactivated at the weekly full reconciliation.
        default_full: "45 21 * * 0",
        min_interval_minutes: None,
        nightly_from: Some((21, 30)),
        on_change: None,
    },
    mapping: None,
    streams: &[
        StreamSpec {
            name: "users",
            direction: Direction::Outbound,
            label_fr: "Collaborateurs → utilisateurs Semana",
            label_en: "Employees → Semana users",
            fields: &[
                FieldLabel { name: "email", fr: "E-mail professionnel", en: "Work e-mail", value: FieldValue::Text },
                FieldLabel { name: "firstName", fr: "Prénom", en: "First name", value: FieldValue::Text },
                FieldLabel { name: "lastName", fr: "Nom", en: "Last name", value: FieldValue::Text },
                FieldLabel { name: "employeeNumber", fr: "Matricule", en: "Employee number", value: FieldValue::Text },
                FieldLabel { name: "establishment", fr: "Établissement", en: "Establishment", value: FieldValue::Text },
            ],
        },
        StreamSpec {
            name: "days-off",
            direction: Direction::Outbound,
            label_fr: "Absences → jours « off » Semana",
            label_en: "Absences → Semana \"off\" days",
            fields: DAY_FIELDS,
        },
        StreamSpec {
            name: "telework",
            direction: Direction::Inbound,
            label_fr: "Jours « remote » Semana → compte de télétravail",
            label_en: "Semana \"remote\" days → telework account",
            fields: DAY_FIELDS,
        },
    ],
};

/// The parts of a day, as people read them.
pub(crate) const PERIOD_WORDS: &[ValueWords] = &[
    ValueWords {
        code: people::Period::Day.as_str(),
        fr: "journée entière",
        en: "whole day",
    },
    ValueWords {
        code: people::Period::Morning.as_str(),
        fr: "matin",
        en: "morning",
    },
    ValueWords {
        code: people::Period::Afternoon.as_str(),
        fr: "après-midi",
        en: "afternoon",
    },
];

/// What a day sent or read back carries, both ways.
const DAY_FIELDS: &[FieldLabel] = &[
    FieldLabel {
        name: "ownerId",
        fr: "Collaborateur",
        en: "Employee",
        value: FieldValue::Refers(Refers::Employee),
    },
    FieldLabel {
        name: "date",
        fr: "Jour",
        en: "Day",
        value: FieldValue::Text,
    },
    FieldLabel {
        name: "period",
        fr: "Moment de la journée",
        en: "Part of the day",
        value: FieldValue::Words(PERIOD_WORDS),
    },
];

relais_core::declared_connector!(
    /// The Semana connector.
    Semana,
    &DECLARATION,
    Config
);

#[async_trait]
impl Connector for Semana {
    async fn check_connection(&self, setup: &Setup) -> Result<(), SyncError> {
        SemanaClient::new(setup)?.check().await
    }

    async fn open(&self, setup: &Setup, _dry_run: bool) -> Result<Vec<Box<dyn Stream>>, SyncError> {
        let config: Config = setup.config()?;
        let client = SemanaClient::new(setup)?;
        let accounts = people::Accounts::read(setup, &config).await?;
        let window = people::Window::around(setup.today, config.weeks);
        let people = std::sync::Arc::new(people::People::load(setup).await?);
        let opened = people::Opened {
            source: setup.source.clone(),
            client,
            people,
            window,
            concurrency: config.concurrency as usize,
        };
        Ok(vec![
            Box::new(users::Users::new(opened.clone())),
            Box::new(days_off::DaysOff::new(opened.clone(), &accounts)),
            Box::new(telework::Telework::new(opened, accounts.telework)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::connector::ConnectorSpec;

    #[test]
    fn defaults_and_rules_of_the_typed_configuration() {
        let defaults = Semana.default_options();
        assert_eq!(defaults["weeks"].as_u64(), Some(6));
        let e = Semana
            .check_options(&serde_json::json!({"telework_account": 4, "accounts": [1, 4]}))
            .unwrap_err();
        assert!(e.message.contains("telework"), "{e}");
        let e = Semana
            .check_options(&serde_json::json!({"weeks": 60}))
            .unwrap_err();
        assert!(e.message.contains("weeks"), "{e}");
    }

    #[test]
    fn the_schedule_is_nightly_after_half_past_nine() {
        let tz = relais_core::org::TimeZone::PARIS;
        let ok = relais_core::schedule::Schedule::parse(DECLARATION.schedule.default).unwrap();
        assert!(ok.check_nightly(21, 30, tz, "Semana").is_ok());
        let day = relais_core::schedule::Schedule::parse("0 14 * * *").unwrap();
        let e = day.check_nightly(21, 30, tz, "Semana").unwrap_err();
        assert!(e.message.contains("at night only"), "{e}");
    }
}
