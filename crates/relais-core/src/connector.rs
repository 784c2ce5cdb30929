//! What a connector declares about itself, so that the pages, the CLI, the
//! API and the runtime can show, check and run any connector without
//! knowing it: its code and name, its settings (options and secrets, with
//! labels, help and kinds), the schedules its partner allows, and its
//! streams. The connectors themselves live in `relais-sync`, one folder
//! each, and hand their declarations to the rest through a
//! [`ConnectorCatalog`].

use crate::error::{DomainError, Result};
pub use crate::values::{FieldValue, Refers, ValueWords};
use chrono::Duration;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The code of a connector: the catalog app code it runs for (`happypal`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectorCode(String);

impl ConnectorCode {
    /// Parses a code: 1 to 40 lowercase letters, digits or `-`.
    pub fn parse(raw: &str) -> Result<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 40
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::new(
                "connector",
                format!("'{raw}' is not a connector code (lowercase letters, digits and -)"),
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConnectorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ConnectorCode {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self> {
        Self::parse(&raw)
    }
}

impl From<ConnectorCode> for String {
    fn from(c: ConnectorCode) -> String {
        c.0
    }
}

/// What a setting holds, which decides how it is asked for and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// Free text.
    Text,
    /// A whole number from `min` to `max`.
    Number {
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
    },
    /// An `http://` or `https://` URL.
    Url,
    /// A secret: sealed at rest, never shown again.
    Secret,
    /// One of fixed values: (value, French label, English label).
    Choice(&'static [(&'static str, &'static str, &'static str)]),
    /// A department of the base, chosen by name; blank for none.
    Department,
    /// Absence accounts of the base, chosen by name (several).
    Accounts,
    /// One absence account of the base, chosen by name; blank for the
    /// connector's default.
    Account,
    /// A cron schedule.
    Schedule,
    /// The customer's field mapping (JSON, see [`crate::mapping`]), edited
    /// on its own form rather than among the settings.
    Mapping,
}

/// The option every connector declares for its request budget: requests
/// per hour at most to the partner.
pub const REQUESTS_PER_HOUR: &str = "requests_per_hour";

/// The option of how many requests a run sends the partner at once.
pub const CONCURRENCY: &str = "concurrency";

/// One setting a connector takes: an option or a secret.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    /// Its name, as in the configuration (`requests_per_hour`).
    pub name: &'static str,
    /// What it is, in French.
    pub label_fr: &'static str,
    /// What it is, in English.
    pub label_en: &'static str,
    /// Help shown under the field, in French.
    pub help_fr: &'static str,
    /// Help shown under the field, in English.
    pub help_en: &'static str,
    /// What it holds.
    pub kind: SettingKind,
    /// Whether a run needs it set (secrets: always).
    pub required: bool,
}

impl SettingSpec {
    /// The label in `lang` (`en`, else French).
    pub fn label(&self, lang: &str) -> &'static str {
        if lang == "en" {
            self.label_en
        } else {
            self.label_fr
        }
    }

    /// The help in `lang` (`en`, else French).
    pub fn help(&self, lang: &str) -> &'static str {
        if lang == "en" {
            self.help_en
        } else {
            self.help_fr
        }
    }

    /// Reads the setting from the text a form or the CLI gave: a number is
    /// checked against its range, a blank department or text is unset.
    pub fn read(&self, connector: &str, text: &str) -> Result<Value> {
        let text = text.trim();
        match self.kind {
            SettingKind::Number { min, max } => text
                .parse::<i64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .map(Value::from)
                .ok_or_else(|| {
                    DomainError::said(
                        "option",
                        format!(
                            "{} must be a whole number from {min} to {max}, not '{text}'",
                            self.name
                        ),
                        format!(
                            "« {} » attend un nombre entier de {min} à {max}, pas « {text} »",
                            self.label_fr
                        ),
                    )
                }),
            SettingKind::Department | SettingKind::Account if text.is_empty() => Ok(Value::Null),
            SettingKind::Account | SettingKind::Department => {
                let (en, fr) = if matches!(self.kind, SettingKind::Account) {
                    ("an absence account", "un compte d'absence")
                } else {
                    ("a department", "un département")
                };
                text.parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Value::from)
                    .ok_or_else(|| {
                        DomainError::said(
                            "option",
                            format!("{} must name {en} of the base, not '{text}'", self.name),
                            format!(
                                "« {} » attend {fr} de la base, pas « {text} »",
                                self.label_fr
                            ),
                        )
                    })
            }
            SettingKind::Accounts => {
                let mut ids = Vec::new();
                for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    match part.parse::<i64>() {
                        Ok(id) if id > 0 => ids.push(Value::from(id)),
                        _ => {
                            return Err(DomainError::said(
                                "option",
                                format!(
                                    "{} lists absence accounts by identifier, comma-separated; '{part}' is not one",
                                    self.name
                                ),
                                format!(
                                    "« {} » attend des comptes d'absence de la base ; « {part} » n'en est pas un",
                                    self.label_fr
                                ),
                            ))
                        }
                    }
                }
                Ok(Value::Array(ids))
            }
            SettingKind::Choice(choices) => choices
                .iter()
                .find(|(v, _, _)| *v == text)
                .map(|(v, _, _)| Value::from(*v))
                .ok_or_else(|| {
                    let values: Vec<&str> = choices.iter().map(|(v, _, _)| *v).collect();
                    DomainError::said(
                        "option",
                        format!(
                            "{} of {connector} is one of {}, not '{text}'",
                            self.name,
                            values.join(", ")
                        ),
                        format!(
                            "« {} » attend un choix de la liste, pas « {text} »",
                            self.label_fr
                        ),
                    )
                }),
            SettingKind::Url if text.is_empty() => Ok(Value::Null),
            SettingKind::Url => Ok(Value::from(parse_url("option", text)?)),
            SettingKind::Schedule => {
                crate::schedule::Schedule::parse(text)?;
                Ok(Value::from(text))
            }
            SettingKind::Mapping => {
                let mapping = crate::mapping::parse(text)?;
                Ok(serde_json::to_value(mapping).unwrap_or_default())
            }
            SettingKind::Text | SettingKind::Secret if text.is_empty() => Ok(Value::Null),
            SettingKind::Text | SettingKind::Secret => Ok(Value::from(text)),
        }
    }

    /// Shows a stored value as the text a form or the CLI takes back.
    pub fn show(&self, value: &Value) -> String {
        match value {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|v| self.show(v))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        }
    }
}

/// Which way a stream's data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the HR base to the partner.
    Outbound,
    /// From the partner into the HR base (through the API, with the installation's key).
    Inbound,
}

impl Direction {
    /// An arrow for reports: `→` to the partner, `←` into the base.
    pub fn arrow(self) -> &'static str {
        match self {
            Self::Outbound => "→",
            Self::Inbound => "←",
        }
    }
}

/// One stream of a connector.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec {
    /// Its name: its checkpoint and ledger carry it (`employees`).
    pub name: &'static str,
    /// Which way it goes.
    pub direction: Direction,
    /// What it carries, in French.
    pub label_fr: &'static str,
    /// What it carries, in English.
    pub label_en: &'static str,
    /// Its fields as a person reads them in a report (a stream with a
    /// mapping names its fields by the mapping's targets instead).
    pub fields: &'static [FieldLabel],
}

/// A field of a stream and its label in each language.
#[derive(Debug, Clone, Copy)]
pub struct FieldLabel {
    /// The field as the stream carries it (`last_name`, `departmentKey`).
    pub name: &'static str,
    /// Its label in French.
    pub fr: &'static str,
    /// Its label in English.
    pub en: &'static str,
    /// What its value is, when it is more than text to show as it is (an
    /// identifier of the base's records, a code with words).
    pub value: FieldValue,
}

impl StreamSpec {
    /// What the field `name` holds, as the stream declares it (text when
    /// it does not).
    pub fn field_value(&self, name: &str) -> FieldValue {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map_or(FieldValue::Text, |f| f.value)
    }

    /// What the field `name` refers to, when the stream declares it an
    /// identifier.
    pub fn field_refers(&self, name: &str) -> Option<Refers> {
        match self.field_value(name) {
            FieldValue::Refers(r) => Some(r),
            _ => None,
        }
    }

    /// The label of the field `name` in the language `lang` (`fr` or `en`),
    /// or the field's own name when the stream does not declare it.
    pub fn field_label<'a>(&self, name: &'a str, lang: &str) -> &'a str
    where
        'static: 'a,
    {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map_or(name, |f| if lang == "en" { f.en } else { f.fr })
    }
}

/// The schedules a connector's partner allows, and the defaults.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleRule {
    /// The schedule a new integration gets (cron).
    pub default: &'static str,
    /// The full reconciliation schedule a new integration gets (cron).
    pub default_full: &'static str,
    /// The shortest interval between two runs the partner allows.
    pub min_interval_minutes: Option<i64>,
    /// Runs only in the night from this local time (hour, minute) to 06:00.
    pub nightly_from: Option<(u32, u32)>,
    /// Whether the partner also takes a run soon after a change in the
    /// base (`None`: only on schedule).
    pub on_change: Option<OnChange>,
}

/// Runs on change: the runtime follows the change feed and starts an
/// incremental run within seconds of a change to what the connector sends,
/// the changes of a burst taken by one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnChange {
    /// The records whose changes the connector sends.
    pub kinds: &'static [crate::events::EventKind],
    /// The employee fields the connector sends: an update of an employee
    /// that changes none of them starts no run (a creation or a deletion
    /// always does). Empty: every change of an employee does.
    pub employee_fields: &'static [crate::fields::Field],
    /// The shortest time between two runs on change, in seconds: changes
    /// meanwhile wait for the next one.
    pub min_gap_seconds: u32,
    /// The partner's request budget, when it has one: runs on change are
    /// spaced so that what every run costs whatever it sends stays within
    /// a share of it ([`OnChange::BUDGET_SHARE`]).
    pub budget: Option<ChangeBudget>,
}

/// What runs on change cost of a partner's request budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeBudget {
    /// The integration's setting that holds its requests per hour.
    pub setting: &'static str,
    /// Requests every run makes whatever it sends (signing in…).
    pub requests_per_run: u32,
}

impl OnChange {
    /// The share of the hourly budget runs on change may spend on their
    /// fixed cost: the rest goes to the records they send and to the
    /// scheduled runs.
    pub const BUDGET_SHARE: f64 = 0.25;

    /// The shortest time between two runs on change of an integration
    /// whose settings are `options` (`defaults` for those not set): the
    /// declared floor, or more when the partner's budget asks for it.
    pub fn gap(&self, options: &serde_json::Value, defaults: &serde_json::Value) -> Duration {
        let floor = f64::from(self.min_gap_seconds);
        let seconds = self.budget.map_or(floor, |b| {
            let per_hour = options[b.setting]
                .as_u64()
                .or_else(|| defaults[b.setting].as_u64())
                .filter(|n| *n > 0);
            per_hour.map_or(floor, |per_hour| {
                let spacing = 3_600.0 * f64::from(b.requests_per_run)
                    / (per_hour as f64 * Self::BUDGET_SHARE);
                floor.max(spacing)
            })
        });
        Duration::milliseconds((seconds * 1_000.0).ceil() as i64)
    }
}

impl ScheduleRule {
    /// The shortest interval between two runs, when the partner sets one.
    pub fn min_interval(&self) -> Option<Duration> {
        self.min_interval_minutes.map(Duration::minutes)
    }
}

/// Everything a connector declares about itself.
#[derive(Debug, Clone, Copy)]
pub struct Declaration {
    /// Its code: the catalog app it runs for.
    pub code: &'static str,
    /// The partner's name.
    pub name: &'static str,
    /// The partner's secrets.
    pub secrets: &'static [SettingSpec],
    /// The connector's options.
    pub options: &'static [SettingSpec],
    /// The schedules the partner allows.
    pub schedule: ScheduleRule,
    /// Its streams, in the order they run.
    pub streams: &'static [StreamSpec],
    /// The partner's record fields a customer maps (option `mapping`), for
    /// a connector whose partner takes a field mapping.
    pub mapping: Option<&'static [crate::mapping::TargetSpec]>,
}

impl Declaration {
    /// The option `name`, or an error listing the options.
    pub fn option(&self, name: &str) -> Result<&'static SettingSpec> {
        self.options.iter().find(|o| o.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.options.iter().map(|o| o.name).collect();
            DomainError::new(
                "option",
                format!(
                    "{} has no option '{name}' (options: {})",
                    self.name,
                    names.join(", ")
                ),
            )
        })
    }

    /// The stream `name`.
    pub fn stream(&self, name: &str) -> Option<&'static StreamSpec> {
        self.streams.iter().find(|s| s.name == name)
    }
}

/// What the rest of relais knows of a connector: its declaration, and how
/// its options are checked (its typed configuration).
pub trait ConnectorSpec: Send + Sync + 'static {
    /// The connector's declaration.
    fn declaration(&self) -> &'static Declaration;

    /// Checks options (a JSON object) against the connector's typed
    /// configuration, filling defaults: the options as stored, or an error
    /// naming the field.
    fn check_options(&self, options: &Value) -> Result<Value>;

    /// The options a new integration gets.
    fn default_options(&self) -> Value {
        self.check_options(&Value::Object(Map::new()))
            .expect("a connector's defaults are valid")
    }
}

/// A connector told by its declaration and its typed configuration: every
/// such connector is a [`ConnectorSpec`] (its options checked against
/// `Config`).
pub trait Declared: Send + Sync + 'static {
    /// The connector's declaration.
    const DECLARATION: &'static Declaration;
    /// Its typed configuration: the options, with their defaults and rules.
    type Config: DeserializeOwned + Serialize + Validate;
}

/// Declares a connector: a unit type `$name` (with the attributes and doc
/// written before it) told by the declaration `$declaration` and read with
/// the typed configuration `$config`.
#[macro_export]
macro_rules! declared_connector {
    ($(#[$attr:meta])* $name:ident, $declaration:expr, $config:ty) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl $crate::connector::Declared for $name {
            const DECLARATION: &'static $crate::connector::Declaration = $declaration;
            type Config = $config;
        }
    };
}

impl<T: Declared> ConnectorSpec for T {
    fn declaration(&self) -> &'static Declaration {
        T::DECLARATION
    }

    fn check_options(&self, options: &Value) -> Result<Value> {
        check_typed::<T::Config>(T::DECLARATION, options)
    }
}

/// Checks that a typed configuration follows its own rules, naming the field.
pub trait Validate {
    /// Ok, or the first rule broken with the field it concerns.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Checks `options` against the typed configuration `T` of the connector
/// declared by `declaration`: unknown names, numbers out of their declared
/// range, wrong types and `T`'s own rules are refused with the field named.
pub fn check_typed<T>(declaration: &Declaration, options: &Value) -> Result<Value>
where
    T: DeserializeOwned + Serialize + Validate,
{
    let Some(object) = options.as_object() else {
        return Err(DomainError::new(
            "options",
            format!("the options of {} are a JSON object", declaration.name),
        ));
    };
    for (name, value) in object {
        let spec = declaration.option(name)?;
        if let (SettingKind::Number { min, max }, Some(n)) = (spec.kind, value.as_i64()) {
            if !(min..=max).contains(&n) {
                return Err(DomainError::new(
                    "option",
                    format!("{name} must be a whole number from {min} to {max}, not '{n}'"),
                ));
            }
        }
    }
    let typed: T = serde_json::from_value(options.clone())
        .map_err(|e| DomainError::new("option", format!("{} options: {e}", declaration.name)))?;
    typed.validate()?;
    serde_json::to_value(&typed)
        .map_err(|e| DomainError::new("option", format!("{} options: {e}", declaration.name)))
}

/// A connector set up for one integration: what a mapping may point at, a
/// mapping's check against the base, and a preview of what the partner
/// would receive. Errors are said as a person reads them.
#[async_trait::async_trait]
pub trait MappingTool: Send + Sync {
    /// The base's fields the mapping may point at, with whether the
    /// integration's key may read each, labelled in `lang` (`fr` or `en`).
    async fn sources(
        &self,
        lang: &str,
    ) -> Result<Vec<crate::mapping::SourceField>, crate::health::HealthReason>;

    /// Every problem `mapping` would have on the base (none: it may be saved).
    async fn check(
        &self,
        mapping: &crate::mapping::FieldMapping,
    ) -> Result<Vec<crate::mapping::MappingProblem>, crate::health::HealthReason>;

    /// A page of the partner's records as the next run would send them,
    /// against what the partner holds (the tool must reach the partner);
    /// nothing is written.
    async fn preview(
        &self,
        query: &crate::mapping::PreviewQuery,
    ) -> Result<crate::mapping::PreviewPage, crate::health::HealthReason>;
}

/// The connectors this relais runs, by code: handed by the sync layer to the
/// API (which creates an integration when an app with a connector is
/// installed), the pages and the CLI.
#[derive(Clone, Default)]
pub struct ConnectorCatalog {
    specs: Vec<Arc<dyn ConnectorSpec>>,
}

impl std::fmt::Debug for ConnectorCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.specs.iter().map(|s| s.declaration().code))
            .finish()
    }
}

impl ConnectorCatalog {
    /// A catalog of `specs`.
    pub fn new(specs: Vec<Arc<dyn ConnectorSpec>>) -> Self {
        Self { specs }
    }

    /// The connector of app `code`, when relais runs one.
    pub fn get(&self, code: &str) -> Option<&dyn ConnectorSpec> {
        self.specs
            .iter()
            .find(|s| s.declaration().code == code)
            .map(|s| s.as_ref())
    }
}

/// Parses a partner's `http://` or `https://` URL (see [`crate::address`]),
/// without its trailing `/`.
pub fn parse_url(field: &'static str, raw: &str) -> Result<String> {
    crate::address::http_address(field, raw)?;
    Ok(raw.trim().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_streams_fields_say_what_their_values_are() {
        const PARTS: &[ValueWords] = &[ValueWords {
            code: "morning",
            fr: "matin",
            en: "morning",
        }];
        let stream = StreamSpec {
            name: "days",
            direction: Direction::Outbound,
            label_fr: "Jours",
            label_en: "Days",
            fields: &[
                FieldLabel {
                    name: "owner",
                    fr: "Collaborateur",
                    en: "Employee",
                    value: FieldValue::Refers(Refers::Employee),
                },
                FieldLabel {
                    name: "period",
                    fr: "Moment",
                    en: "Part of the day",
                    value: FieldValue::Words(PARTS),
                },
            ],
        };
        assert_eq!(stream.field_refers("owner"), Some(Refers::Employee));
        assert_eq!(stream.field_refers("period"), None);
        assert_eq!(stream.field_value("undeclared"), FieldValue::Text);
        let period = stream.field_value("period");
        assert_eq!(period.words("morning", "fr"), Some("matin"));
        assert_eq!(period.words("morning", "en"), Some("morning"));
        assert_eq!(period.words("evening", "fr"), None, "an unknown code");
        assert_eq!(FieldValue::Text.words("morning", "fr"), None);
    }

    #[test]
    fn runs_on_change_are_spaced_within_the_partners_budget() {
        let on_change = OnChange {
            kinds: &[],
            employee_fields: &[],
            min_gap_seconds: 1,
            budget: Some(ChangeBudget {
                setting: "requests_per_hour",
                requests_per_run: 1,
            }),
        };
        let defaults = serde_json::json!({"requests_per_hour": 2_000});
        // 2,000 an hour, a quarter of it for one request a run: one run every 7.2 s.
        assert_eq!(
            on_change.gap(&serde_json::json!({}), &defaults),
            Duration::milliseconds(7_200)
        );
        // A higher tier: the floor.
        assert_eq!(
            on_change.gap(
                &serde_json::json!({"requests_per_hour": 100_000}),
                &defaults
            ),
            Duration::seconds(1)
        );
        // No budget: the floor alone.
        let free = OnChange {
            budget: None,
            ..on_change
        };
        assert_eq!(
            free.gap(&serde_json::json!({}), &defaults),
            Duration::seconds(1)
        );
    }

    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        #[serde(default = "ten")]
        per_hour: u32,
        #[serde(default)]
        base: Option<i64>,
    }
    fn ten() -> u32 {
        10
    }
    impl Validate for Demo {
        fn validate(&self) -> Result<()> {
            if self.base == Some(13) {
                return Err(DomainError::new("option", "base must not be 13"));
            }
            Ok(())
        }
    }

    const OPTIONS: &[SettingSpec] = &[
        SettingSpec {
            name: "per_hour",
            label_fr: "Par heure",
            label_en: "Per hour",
            help_fr: "",
            help_en: "",
            kind: SettingKind::Number { min: 1, max: 100 },
            required: false,
        },
        SettingSpec {
            name: "base",
            label_fr: "Base",
            label_en: "Base",
            help_fr: "",
            help_en: "",
            kind: SettingKind::Department,
            required: false,
        },
    ];
    const DECLARATION: Declaration = Declaration {
        code: "demo",
        name: "Demo",
        secrets: &[],
        options: OPTIONS,
        schedule: ScheduleRule {
            default: "0 6 * * *",
            default_full: "0 3 * * 0",
            min_interval_minutes: None,
            nightly_from: None,
            on_change: None,
        },
        mapping: None,
        streams: &[],
    };

    #[test]
    fn typed_options_fill_defaults_and_name_the_field() {
        let check = |v: Value| check_typed::<Demo>(&DECLARATION, &v);
        assert_eq!(
            check(serde_json::json!({})).unwrap(),
            serde_json::json!({"per_hour": 10, "base": null})
        );
        let e = check(serde_json::json!({"months": 3})).unwrap_err();
        assert!(
            e.message
                .contains("Demo has no option 'months' (options: per_hour, base)"),
            "{e}"
        );
        let e = check(serde_json::json!({"per_hour": 0})).unwrap_err();
        assert!(
            e.message
                .contains("per_hour must be a whole number from 1 to 100"),
            "{e}"
        );
        let e = check(serde_json::json!({"per_hour": "x"})).unwrap_err();
        assert!(e.message.contains("Demo options: invalid type"), "{e}");
        let e = check(serde_json::json!({"base": 13})).unwrap_err();
        assert!(e.message.contains("base must not be 13"), "{e}");
    }

    #[test]
    fn settings_read_from_text_by_kind() {
        let per_hour = &OPTIONS[0];
        assert_eq!(per_hour.read("Demo", " 12 ").unwrap(), Value::from(12));
        let e = per_hour.read("Demo", "0").unwrap_err();
        assert!(e
            .message
            .contains("per_hour must be a whole number from 1 to 100, not '0'"));
        assert_eq!(OPTIONS[1].read("Demo", "").unwrap(), Value::Null);
        let accounts = SettingSpec {
            kind: SettingKind::Accounts,
            ..OPTIONS[1]
        };
        assert_eq!(
            accounts.read("Demo", "3, 4").unwrap(),
            serde_json::json!([3, 4])
        );
        assert!(accounts.read("Demo", "3,x").is_err());
        assert_eq!(accounts.show(&serde_json::json!([3, 4])), "3,4");
        assert!(ConnectorCode::parse("Happy Pal").is_err());
        assert_eq!(
            ConnectorCode::parse("happypal").unwrap().as_str(),
            "happypal"
        );
    }
}
