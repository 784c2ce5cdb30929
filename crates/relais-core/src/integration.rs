//! Integrations: the connector configuration of an installed app (where the
//! data comes from, the partner's URL and sealed credentials, schedules,
//! options), its health, and its runs with their reports.

use crate::connector::{parse_url, ConnectorCode, ConnectorSpec, Declaration};
use crate::error::{DomainError, Result};
use crate::ids::{BaseId, InstallationId};
use crate::ledger::FieldChange;
use crate::org::TimeZone;
use crate::schedule::Schedule;
use crate::secret::SecretName;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The secret holding the API key an integration reads its source with.
pub const SOURCE_KEY: SecretName = SecretName::SourceKey;

/// How an integration is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Not run yet.
    Pending,
    /// The last run wrote everything.
    Healthy,
    /// The last run finished, but some records were refused or left out.
    Warnings,
    /// The last run stopped: the reason says why.
    Failing,
    /// Paused by an administrator; no scheduled run starts.
    Paused,
}

impl Health {
    /// Every health, in the order an integration passes through them.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Healthy,
        Self::Warnings,
        Self::Failing,
        Self::Paused,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Healthy => "healthy",
            Self::Warnings => "warnings",
            Self::Failing => "failing",
            Self::Paused => "paused",
        }
    }

    /// Parses a stored code.
    pub fn parse(raw: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|h| h.as_str() == raw)
            .ok_or_else(|| DomainError::new("health", format!("unknown health '{raw}'")))
    }

    /// A label in `lang` (`fr` or `en`).
    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Self::Pending, "en") => "Not run yet",
            (Self::Pending, _) => "Jamais exécutée",
            (Self::Healthy, "en") => "Healthy",
            (Self::Healthy, _) => "En bonne santé",
            (Self::Warnings, "en") => "Warnings",
            (Self::Warnings, _) => "Avertissements",
            (Self::Failing, "en") => "Failing",
            (Self::Failing, _) => "En échec",
            (Self::Paused, "en") => "Paused",
            (Self::Paused, _) => "En pause",
        }
    }
}

/// A request for a run of an integration: which, why, how, and who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAsk {
    /// The integration, by its installation.
    pub installation: InstallationId,
    /// What asks for the run.
    pub trigger: Trigger,
    /// Whether the run only reports what it would change.
    pub dry_run: bool,
    /// Whether the run reads everything, not only what changed since the
    /// last one.
    pub full: bool,
    /// Who asked (a person's name), for the runs' history.
    pub by: Option<String>,
    /// Who asked, for the activity journal: a person, a key or the command
    /// line; `None` for the runtime (a schedule, a change).
    pub actor: Option<crate::activity::Actor>,
}

impl RunAsk {
    /// An incremental run that changes the partner, asked for by nobody in
    /// particular.
    pub fn new(installation: InstallationId, trigger: Trigger) -> Self {
        Self {
            installation,
            trigger,
            dry_run: false,
            full: false,
            by: None,
            actor: None,
        }
    }

    /// The same run, only reporting what it would change when `yes`.
    pub fn dry_run(self, yes: bool) -> Self {
        Self {
            dry_run: yes,
            ..self
        }
    }

    /// The same run, reading everything when `yes`.
    pub fn full(self, yes: bool) -> Self {
        Self { full: yes, ..self }
    }

    /// The same run, asked for by `actor` (written in the activity
    /// journal when it queues a run).
    pub fn actor(self, actor: crate::activity::Actor) -> Self {
        Self {
            actor: Some(actor),
            ..self
        }
    }

    /// The same run, asked for by `who`.
    pub fn by(self, who: Option<&str>) -> Self {
        Self {
            by: who.map(str::to_owned),
            ..self
        }
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// Its schedule.
    Schedule,
    /// "Sync now" on the app's page.
    Page,
    /// `relais sync run`.
    Cli,
    /// The API.
    Api,
    /// A change in the base, for a partner that takes runs on change.
    Change,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Self; 5] = [
        Self::Schedule,
        Self::Page,
        Self::Cli,
        Self::Api,
        Self::Change,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Page => "page",
            Self::Cli => "cli",
            Self::Api => "api",
            Self::Change => "change",
        }
    }

    /// Parses a stored code.
    pub fn parse(raw: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| DomainError::new("trigger", format!("unknown trigger '{raw}'")))
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Asked for, waiting for a runtime.
    Queued,
    /// A runtime holds it.
    Running,
    /// Every record written.
    Succeeded,
    /// Finished with some records refused or left out.
    Warnings,
    /// Stopped before the end, with the reason.
    Failed,
    /// Its process stopped; another run took over.
    Interrupted,
}

impl RunStatus {
    /// Every status, from asked for to over.
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Warnings,
        Self::Failed,
        Self::Interrupted,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Warnings => "warnings",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }

    /// Parses a stored code.
    pub fn parse(raw: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| DomainError::new("status", format!("unknown run status '{raw}'")))
    }

    /// Whether the run is over.
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// What happened to one record in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Created at the partner.
    Created,
    /// An existing partner record was linked to it (same e-mail).
    Linked,
    /// Updated at the partner.
    Updated,
    /// Partner-side edits were overwritten with the source's values.
    Overwritten,
    /// Deleted at the partner.
    Deleted,
    /// Kept at the partner but made inactive (a person who left, whose
    /// history the partner keeps).
    Deactivated,
    /// Already in step.
    Unchanged,
    /// Left out, with the reason.
    Skipped(String),
    /// The partner refused it, with its answer.
    Failed(String),
}

impl Outcome {
    /// Every outcome's code, as [`Outcome::code`] writes it.
    pub const CODES: [&'static str; 9] = [
        "created",
        "linked",
        "updated",
        "overwritten",
        "deleted",
        "deactivated",
        "unchanged",
        "skipped",
        "failed",
    ];

    /// What the records counted under an outcome's code are, as an API
    /// reader is told (the destination is the partner, or the base for what
    /// a partner sends); `None` for what is not a code.
    pub fn meaning(code: &str) -> Option<&'static str> {
        Some(match code {
            "created" => "records created at the destination",
            "linked" => "records linked to one the destination already held (same e-mail)",
            "updated" => "records updated at the destination",
            "overwritten" => {
                "records whose edits at the destination were overwritten with the source's values"
            }
            "deleted" => "records deleted at the destination",
            "deactivated" => "records kept at the destination but made inactive (people who left)",
            "unchanged" => "records already in step",
            "skipped" => "records left out, each line saying why",
            "failed" => "records the destination refused, each line giving its answer",
            _ => return None,
        })
    }

    /// The stored code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Linked => "linked",
            Self::Updated => "updated",
            Self::Overwritten => "overwritten",
            Self::Deleted => "deleted",
            Self::Deactivated => "deactivated",
            Self::Unchanged => "unchanged",
            Self::Skipped(_) => "skipped",
            Self::Failed(_) => "failed",
        }
    }

    /// The reason of a skip or failure, as stored.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Skipped(r) | Self::Failed(r) => Some(r),
            _ => None,
        }
    }

    /// The reason of a skip or failure in `lang` (`fr`, else English): its
    /// words in that language, or the stored text as it is (one language,
    /// from an older relais).
    pub fn reason_in(&self, lang: &str) -> Option<String> {
        self.reason().map(|r| crate::said::Said::read(r, lang))
    }

    /// Rebuilds an outcome from its stored code and reason.
    pub fn from_parts(code: &str, reason: Option<String>) -> Result<Self> {
        Ok(match code {
            "created" => Self::Created,
            "linked" => Self::Linked,
            "updated" => Self::Updated,
            "overwritten" => Self::Overwritten,
            "deleted" => Self::Deleted,
            "deactivated" => Self::Deactivated,
            "unchanged" => Self::Unchanged,
            "skipped" => Self::Skipped(reason.unwrap_or_default()),
            "failed" => Self::Failed(reason.unwrap_or_default()),
            other => {
                return Err(DomainError::new(
                    "outcome",
                    format!("unknown outcome '{other}'"),
                ))
            }
        })
    }
}

pub use crate::health::HealthReason;

/// A run's stored error as readers of the API get it: its words in English.
fn error_in_words<S: serde::Serializer>(
    error: &Option<String>,
    out: S,
) -> std::result::Result<S::Ok, S::Error> {
    match error {
        Some(e) => out.serialize_some(&HealthReason::read(e, "en")),
        None => out.serialize_none(),
    }
}

/// One record's line in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    /// The stream it belongs to (its direction is the stream's).
    #[serde(default)]
    pub stream: String,
    /// The source key.
    pub key: String,
    /// Who or what the record is, as a person reads it (a name and a day),
    /// empty when the stream gives none: plain text, or the same words in
    /// English and in French as [`Said`](crate::said::Said) stores them when
    /// it says more than a name (read with [`ReportLine::label_in`]).
    #[serde(default)]
    pub label: String,
    /// What happened.
    pub outcome: Outcome,
    /// The fields changed, with the value before and after.
    pub fields: Vec<FieldChange>,
    /// The employee of the base the record is about, when it is about one:
    /// the report names them by name and employee number, and their page
    /// lists what each app received.
    #[serde(default)]
    pub employee: Option<i64>,
    /// What the record is beyond its employee (a day, a period), put after
    /// their name once it is known; not stored.
    #[serde(skip)]
    pub detail: Option<crate::said::Said>,
}

impl ReportLine {
    /// The label of a record named `who` (empty when nothing names it),
    /// `detail` after it (a day, a period) in both languages: « Margaux
    /// Payet · absent le 02/12/2026 (matin) », « … · off on 2 Dec 2026
    /// (morning) ».
    pub fn label_of(who: &str, detail: Option<&crate::said::Said>) -> String {
        match detail {
            None => who.to_owned(),
            Some(d) if who.is_empty() => d.stored(),
            Some(d) => {
                crate::said::Said::new(format!("{who} · {}", d.en), format!("{who} · {}", d.fr))
                    .stored()
            }
        }
    }

    /// Its label in `lang` (`fr`, else English).
    pub fn label_in(&self, lang: &str) -> String {
        crate::said::Said::read(&self.label, lang)
    }
}

/// How many records of a run had each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Created at the partner.
    pub created: u64,
    /// Linked to an existing partner record.
    pub linked: u64,
    /// Updated.
    pub updated: u64,
    /// Partner-side edits overwritten.
    pub overwritten: u64,
    /// Deleted.
    pub deleted: u64,
    /// Made inactive at the partner.
    #[serde(default)]
    pub deactivated: u64,
    /// Already in step.
    pub unchanged: u64,
    /// Left out.
    pub skipped: u64,
    /// Refused by the partner.
    pub failed: u64,
}

impl RunCounts {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        *match outcome {
            Outcome::Created => &mut self.created,
            Outcome::Linked => &mut self.linked,
            Outcome::Updated => &mut self.updated,
            Outcome::Overwritten => &mut self.overwritten,
            Outcome::Deleted => &mut self.deleted,
            Outcome::Deactivated => &mut self.deactivated,
            Outcome::Unchanged => &mut self.unchanged,
            Outcome::Skipped(_) => &mut self.skipped,
            Outcome::Failed(_) => &mut self.failed,
        } += 1;
    }

    /// The count of an outcome (any reason for skips and failures).
    pub fn of(&self, outcome: &Outcome) -> u64 {
        match outcome {
            Outcome::Created => self.created,
            Outcome::Linked => self.linked,
            Outcome::Updated => self.updated,
            Outcome::Overwritten => self.overwritten,
            Outcome::Deleted => self.deleted,
            Outcome::Deactivated => self.deactivated,
            Outcome::Unchanged => self.unchanged,
            Outcome::Skipped(_) => self.skipped,
            Outcome::Failed(_) => self.failed,
        }
    }

    /// Records written at the partner.
    pub fn written(&self) -> u64 {
        self.created
            + self.linked
            + self.updated
            + self.overwritten
            + self.deleted
            + self.deactivated
    }

    /// Every record the run looked at.
    pub fn total(&self) -> u64 {
        self.written() + self.unchanged + self.skipped + self.failed
    }
}

/// The connector configuration of one installation.
#[derive(Debug, Clone)]
pub struct Integration {
    /// The installation it belongs to (also its identifier).
    pub installation_id: crate::ids::InstallationId,
    /// The base it was installed on.
    pub base_id: BaseId,
    /// The connector.
    pub connector: ConnectorCode,
    /// A Lucca-compatible base to read from; relais's own base when `None`.
    pub source_url: Option<String>,
    /// The partner's base URL.
    pub partner_url: String,
    /// The sealed secrets: `source_key` and the connector's partner secrets.
    pub sealed_secrets: String,
    /// When incremental runs start.
    pub schedule: Schedule,
    /// When a run is a full reconciliation.
    pub full_schedule: Schedule,
    /// The time zone both schedules are read in.
    pub time_zone: TimeZone,
    /// The connector's options, as its typed configuration stores them.
    pub options: serde_json::Value,
    /// Why it is paused, when it is.
    pub paused: Option<String>,
    /// How it is doing.
    pub health: Health,
    /// Why (empty when healthy).
    pub health_reason: String,
    /// When the next scheduled run is due.
    pub next_run_at: Option<DateTime<Utc>>,
    /// When the next full reconciliation is due.
    pub next_full_at: Option<DateTime<Utc>>,
    /// Last change of the configuration.
    pub updated_at: DateTime<Utc>,
}

impl Integration {
    /// A new integration of `connector` for an installation, with the defaults.
    pub fn new(
        installation_id: crate::ids::InstallationId,
        base_id: BaseId,
        connector: &dyn ConnectorSpec,
        sealed_secrets: String,
        now: DateTime<Utc>,
    ) -> Self {
        let declaration = connector.declaration();
        let schedule = Schedule::parse(declaration.schedule.default).expect("defaults parse");
        let full_schedule =
            Schedule::parse(declaration.schedule.default_full).expect("defaults parse");
        let time_zone = TimeZone::PARIS;
        Self {
            installation_id,
            base_id,
            connector: ConnectorCode::parse(declaration.code).expect("declared codes parse"),
            source_url: None,
            partner_url: String::new(),
            sealed_secrets,
            next_run_at: schedule.next_after(now, time_zone),
            next_full_at: full_schedule.next_after(now, time_zone),
            schedule,
            full_schedule,
            time_zone,
            options: connector.default_options(),
            paused: None,
            health: Health::Pending,
            health_reason: String::new(),
            updated_at: now,
        }
    }

    /// Refuses a schedule the partner does not take (too frequent, or
    /// outside its nightly window).
    pub fn check_schedule(
        declaration: &Declaration,
        schedule: &Schedule,
        time_zone: TimeZone,
    ) -> Result<()> {
        if let Some(min) = declaration.schedule.min_interval() {
            schedule.check_at_most_every(min, time_zone, declaration.name)?;
        }
        if let Some((hour, minute)) = declaration.schedule.nightly_from {
            schedule.check_nightly(hour, minute, time_zone, declaration.name)?;
        }
        Ok(())
    }

    /// Sets the schedules and time zone, refusing one faster than the partner allows.
    pub fn set_schedules(
        &mut self,
        declaration: &Declaration,
        schedule: Schedule,
        full_schedule: Schedule,
        time_zone: TimeZone,
        now: DateTime<Utc>,
    ) -> Result<()> {
        Self::check_schedule(declaration, &schedule, time_zone)?;
        Self::check_schedule(declaration, &full_schedule, time_zone)?;
        self.next_run_at = schedule.next_after(now, time_zone);
        self.next_full_at = full_schedule.next_after(now, time_zone);
        self.schedule = schedule;
        self.full_schedule = full_schedule;
        self.time_zone = time_zone;
        Ok(())
    }

    /// Sets the partner's URL, refusing anything but http(s).
    pub fn set_partner_url(&mut self, url: &str) -> Result<()> {
        self.partner_url = parse_url("partner_url", url)?;
        Ok(())
    }

    /// Reads from another Lucca-compatible base (`Some`) or relais's own (`None`).
    pub fn set_source_url(&mut self, url: Option<&str>) -> Result<()> {
        self.source_url = match url.map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => Some(parse_url("source_url", u)?),
        };
        Ok(())
    }

    /// What a run still needs: the partner's URL, its secrets, the source key.
    pub fn missing_settings(
        &self,
        declaration: &Declaration,
        secrets: &crate::secret::Secrets,
    ) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.partner_url.is_empty() {
            missing.push("partner_url");
        }
        for spec in declaration.secrets.iter().filter(|s| s.required) {
            if secrets.get(SecretName::Partner(spec.name)).is_none() {
                missing.push(spec.name);
            }
        }
        for spec in declaration.options.iter().filter(|s| s.required) {
            if self
                .options
                .get(spec.name)
                .is_none_or(serde_json::Value::is_null)
            {
                missing.push(spec.name);
            }
        }
        if secrets.get(SOURCE_KEY).is_none() {
            missing.push(SOURCE_KEY.as_str());
        }
        missing
    }

    /// Why it is not healthy, in `lang` (`fr`, else English); empty when it is.
    pub fn reason(&self, lang: &str) -> String {
        HealthReason::read(&self.health_reason, lang)
    }

    /// The ledger job of this integration (its streams' jobs start with it).
    pub fn job(&self) -> LedgerJob {
        LedgerJob::of(&self.connector, self.installation_id)
    }

    /// The ledger job of one of its streams.
    pub fn stream_job(&self, stream: &str) -> LedgerJob {
        self.job().stream(stream)
    }

    /// The requests per hour relais sends the partner at most (the
    /// `requests_per_hour` option every connector declares).
    pub fn requests_per_hour(&self) -> u32 {
        self.options
            .get(crate::connector::REQUESTS_PER_HOUR)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1_000)
    }

    /// Whether a scheduled run is due at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.paused.is_none() && self.next_run_at.is_some_and(|t| t <= now)
    }
}

/// Changes to an integration's settings, as given on the app's page or to
/// `relais sync configure`; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct IntegrationUpdate {
    /// The partner's URL.
    pub partner_url: Option<String>,
    /// `Some(None)` reads relais's own base; `Some(Some(url))` another base.
    pub source_url: Option<Option<String>>,
    /// Secrets to set, by name (an empty value is ignored: the secret is kept).
    pub secrets: Vec<(String, String)>,
    /// The schedule of runs.
    pub schedule: Option<String>,
    /// The schedule of full reconciliations.
    pub full_schedule: Option<String>,
    /// The time zone schedules are read in.
    pub time_zone: Option<String>,
    /// Connector options, by name.
    pub options: Vec<(String, String)>,
    /// `Some(Some(reason))` pauses, `Some(None)` resumes.
    pub pause: Option<Option<String>>,
}

/// A setting refused: the form field it came from (`partner_url`,
/// `source_url`, `secret_<name>`, `schedule`, `full_schedule`, `time_zone`,
/// `option_<name>`, `options`, `pause`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The form field.
    pub field: String,
    /// What is wrong.
    pub error: DomainError,
}

impl Integration {
    /// Applies `update` whole or not at all: the first bad value is refused
    /// with what is wrong, and the integration is left unchanged.
    pub fn apply(
        &mut self,
        connector: &dyn ConnectorSpec,
        update: &IntegrationUpdate,
        sealer: &crate::secret::Sealer,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.apply_all(connector, update, sealer, now)
            .map_err(|mut errors| errors.remove(0).error)
    }

    /// Applies `update` whole or not at all, checking every value: every
    /// bad one is refused, each with its form field, and the integration is
    /// left unchanged.
    pub fn apply_all(
        &mut self,
        connector: &dyn ConnectorSpec,
        update: &IntegrationUpdate,
        sealer: &crate::secret::Sealer,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), Vec<SettingError>> {
        let declaration = connector.declaration();
        let mut next = self.clone();
        let mut errors: Vec<SettingError> = Vec::new();
        let mut refuse = |field: &str, error: DomainError| {
            errors.push(SettingError {
                field: field.to_owned(),
                error,
            })
        };
        if let Some(url) = &update.partner_url {
            if let Err(e) = next.set_partner_url(url) {
                refuse("partner_url", e);
            }
        }
        if let Some(source) = &update.source_url {
            if let Err(e) = next.set_source_url(source.as_deref()) {
                refuse("source_url", e);
            }
        }
        if !update.secrets.is_empty() {
            match sealer.open(&next.sealed_secrets) {
                Ok(mut secrets) => {
                    let allowed: Vec<SecretName> = declaration
                        .secrets
                        .iter()
                        .map(|s| SecretName::Partner(s.name))
                        .chain([SOURCE_KEY])
                        .collect();
                    for (name, value) in &update.secrets {
                        let Some(secret) = allowed.iter().find(|s| s.as_str() == name) else {
                            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                            refuse(
                                &format!("secret_{name}"),
                                DomainError::new(
                                    "secret",
                                    format!(
                                        "{} takes no secret '{name}' (secrets: {})",
                                        declaration.name,
                                        names.join(", ")
                                    ),
                                ),
                            );
                            continue;
                        };
                        if !value.trim().is_empty() {
                            secrets.set(*secret, value.trim());
                        }
                    }
                    next.sealed_secrets = sealer.seal(&secrets);
                }
                Err(e) => refuse("secrets", e),
            }
        }
        if update.schedule.is_some() || update.full_schedule.is_some() || update.time_zone.is_some()
        {
            let mut read = |field: &str, raw: &Option<String>, current: &Schedule| match raw {
                Some(s) => Schedule::parse(s).map_err(|e| refuse(field, e)).ok(),
                None => Some(current.clone()),
            };
            let schedule = read("schedule", &update.schedule, &next.schedule);
            let full = read("full_schedule", &update.full_schedule, &next.full_schedule);
            let tz = match &update.time_zone {
                Some(t) => TimeZone::parse(t.trim())
                    .map_err(|e| refuse("time_zone", e))
                    .ok(),
                None => Some(next.time_zone),
            };
            if let (Some(schedule), Some(full), Some(tz)) = (schedule, full, tz) {
                let mut fits = true;
                for (field, s) in [("schedule", &schedule), ("full_schedule", &full)] {
                    if let Err(e) = Self::check_schedule(declaration, s, tz) {
                        refuse(field, e);
                        fits = false;
                    }
                }
                if fits {
                    next.next_run_at = schedule.next_after(now, tz);
                    next.next_full_at = full.next_after(now, tz);
                    next.schedule = schedule;
                    next.full_schedule = full;
                    next.time_zone = tz;
                }
            }
        }
        if !update.options.is_empty() {
            let mut options = next.options.as_object().cloned().unwrap_or_default();
            let mut read_all = true;
            for (name, text) in &update.options {
                match declaration
                    .option(name)
                    .and_then(|spec| spec.read(declaration.name, text))
                {
                    Ok(value) => {
                        options.insert(name.clone(), value);
                    }
                    Err(e) => {
                        refuse(&format!("option_{name}"), e);
                        read_all = false;
                    }
                }
            }
            if read_all {
                match connector.check_options(&serde_json::Value::Object(options)) {
                    Ok(options) => next.options = options,
                    Err(e) => refuse("options", e),
                }
            }
        }
        match &update.pause {
            Some(Some(reason)) => {
                let reason = reason.trim();
                if reason.is_empty() {
                    refuse(
                        "pause",
                        DomainError::said(
                            "pause",
                            "say why the integration is paused",
                            "dites pourquoi l'intégration est mise en pause",
                        ),
                    );
                } else {
                    next.paused = Some(reason.to_owned());
                    next.health = Health::Paused;
                    next.health_reason = reason.to_owned();
                }
            }
            Some(None) if next.paused.is_some() => {
                next.paused = None;
                next.health = Health::Pending;
                next.health_reason = String::new();
                next.next_run_at = next.schedule.next_after(now, next.time_zone);
            }
            _ => {}
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        next.updated_at = now;
        *self = next;
        Ok(())
    }
}

/// Work that one relais process at a time does, claimed through a lease
/// in the database that every process shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseJob {
    /// The runs of one integration, one at a time.
    Integration(crate::ids::InstallationId),
    /// Sending the alerts waiting in the outbox.
    Alerts,
    /// Delivering one webhook endpoint's events, in order.
    Webhook(crate::ids::EndpointId),
}

impl LeaseJob {
    /// The lease's key in the database.
    pub fn key(&self) -> String {
        match self {
            Self::Integration(installation) => format!("integration:{installation}"),
            Self::Alerts => "alerts".to_owned(),
            Self::Webhook(endpoint) => format!("webhook:{endpoint}"),
        }
    }
}

impl std::fmt::Display for LeaseJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// Whose ledger and checkpoints: an integration's (what its partner
/// acknowledged, whatever the stream), or one of its streams'.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LedgerJob(String);

impl LedgerJob {
    /// The ledger of the integration of `installation`, run by `connector`.
    pub fn of(connector: &ConnectorCode, installation: crate::ids::InstallationId) -> Self {
        Self(format!("{connector}:{installation}"))
    }

    /// The ledger of stream `stream` of this integration.
    pub fn stream(&self, stream: &str) -> Self {
        Self(format!("{}/{stream}", self.0))
    }

    /// Its key in the database (a stream's key starts with its integration's).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for LedgerJob {
    type Err = String;
    /// `<connector>:<installation>`, then `/<stream>` for a stream's.
    fn from_str(raw: &str) -> std::result::Result<Self, String> {
        let bad = || format!("'{raw}' is not a ledger job (<connector>:<installation>[/<stream>])");
        let (integration, stream) = match raw.split_once('/') {
            Some((integration, stream)) if !stream.is_empty() => (integration, Some(stream)),
            Some(_) => return Err(bad()),
            None => (raw, None),
        };
        let (connector, installation) = integration.split_once(':').ok_or_else(bad)?;
        let connector = ConnectorCode::parse(connector).map_err(|_| bad())?;
        let installation = installation.parse().map_err(|_| bad())?;
        let job = Self::of(&connector, installation);
        Ok(stream.map_or_else(|| job.clone(), |s| job.stream(s)))
    }
}

impl std::fmt::Display for LedgerJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reaches an integration's partner with its settings, writing nothing:
/// `Ok`, or why not in plain words. The sync layer provides it to the pages
/// and the CLI ("Tester la connexion").
#[async_trait::async_trait]
pub trait ConnectionCheck: Send + Sync {
    /// Checks the connection of `integration`.
    async fn check(&self, integration: &Integration) -> Result<(), HealthReason>;
}

/// A connector's field mapping tools, provided by the sync layer to the
/// pages and the CLI: each integration's connector, set up for its tools.
#[async_trait::async_trait]
pub trait MappingTools: Send + Sync {
    /// `integration`'s connector, set up to read its base through its key
    /// and, when `reaching`, its partner too (a preview compares with what
    /// the partner holds).
    async fn tool(
        &self,
        integration: &Integration,
        reaching: bool,
    ) -> Result<Box<dyn crate::connector::MappingTool>, HealthReason>;
}

/// One run of an integration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncRun {
    /// Its identifier.
    pub id: crate::ids::RunId,
    /// The installation whose integration ran.
    pub installation_id: crate::ids::InstallationId,
    /// What started it.
    pub trigger: Trigger,
    /// Whether it only planned.
    pub dry_run: bool,
    /// Whether it was a full reconciliation.
    pub full: bool,
    /// Where it is.
    pub status: RunStatus,
    /// The runtime that holds or held it.
    pub owner: Option<String>,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When a runtime started it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records per outcome.
    pub counts: RunCounts,
    /// Records per outcome of each stream, by stream name.
    pub streams: BTreeMap<String, RunCounts>,
    /// Requests sent to the partner.
    pub partner_requests: u64,
    /// Why it failed, when it did.
    #[serde(serialize_with = "error_in_words")]
    pub error: Option<String>,
    /// Who asked for it from the admin pages (a person's name); `None`
    /// for a scheduled run or one asked from the command line.
    #[serde(default)]
    pub requested_by: Option<String>,
}

/// A run's counts as they are stored: in all, and per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCounts {
    /// Records per outcome, in all.
    #[serde(flatten)]
    pub all: RunCounts,
    /// Records per outcome of each stream (absent from runs stored before
    /// streams were counted apart).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub streams: BTreeMap<String, RunCounts>,
}

/// Percent-encodes `raw` for a URL, leaving letters, digits, `-_.~` and the
/// bytes of `keep` as they are.
pub fn percent_encode(raw: &str, keep: &[u8]) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_code_is_listed_and_reads_back() {
        for code in Outcome::CODES {
            assert!(Outcome::meaning(code).is_some(), "{code} is not explained");
            let outcome = Outcome::from_parts(code, Some("why".into())).unwrap();
            assert_eq!(outcome.code(), code);
        }
        assert_eq!(Outcome::meaning("refused"), None);
        // Each variant's code is among them.
        for o in [
            Outcome::Created,
            Outcome::Linked,
            Outcome::Updated,
            Outcome::Overwritten,
            Outcome::Deleted,
            Outcome::Deactivated,
            Outcome::Unchanged,
            Outcome::Skipped(String::new()),
            Outcome::Failed(String::new()),
        ] {
            assert!(Outcome::CODES.contains(&o.code()), "{o:?}");
        }
        assert!(Outcome::from_parts("gone", None).is_err());
    }

    use crate::connector::{check_typed, ScheduleRule, SettingKind, SettingSpec, Validate};
    use chrono::Duration;

    /// A connector declared for these tests: two secrets, a department, a
    /// number of months, a budget, and no run closer than every 4 hours.
    struct Planner;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PlannerOptions {
        #[serde(default)]
        base_department: Option<i64>,
        #[serde(default = "six")]
        months: u32,
        #[serde(default = "two_thousand")]
        requests_per_hour: u32,
    }
    fn six() -> u32 {
        6
    }
    fn two_thousand() -> u32 {
        2_000
    }
    impl Validate for PlannerOptions {}

    const fn setting(name: &'static str, kind: SettingKind) -> SettingSpec {
        SettingSpec {
            name,
            label_fr: name,
            label_en: name,
            help_fr: "",
            help_en: "",
            kind,
            required: true,
        }
    }
    static DECLARATION: Declaration = Declaration {
        code: "planner",
        name: "Planner",
        secrets: &[
            setting("app_key", SettingKind::Secret),
            setting("assertion", SettingKind::Secret),
        ],
        options: &[
            SettingSpec {
                required: false,
                ..setting("base_department", SettingKind::Department)
            },
            setting("months", SettingKind::Number { min: 1, max: 24 }),
            setting(
                "requests_per_hour",
                SettingKind::Number {
                    min: 1,
                    max: 1_000_000,
                },
            ),
        ],
        schedule: ScheduleRule {
            default: "30 5 * * *",
            default_full: "30 5 * * *",
            min_interval_minutes: Some(240),
            nightly_from: None,
            on_change: None,
        },
        mapping: None,
        streams: &[],
    };
    impl ConnectorSpec for Planner {
        fn declaration(&self) -> &'static Declaration {
            &DECLARATION
        }
        fn check_options(&self, options: &serde_json::Value) -> Result<serde_json::Value> {
            check_typed::<PlannerOptions>(&DECLARATION, options)
        }
    }

    fn update(options: &[(&str, &str)]) -> IntegrationUpdate {
        IntegrationUpdate {
            options: options
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            ..IntegrationUpdate::default()
        }
    }

    #[test]
    fn options_are_checked_against_the_declaration() {
        let sealer =
            crate::secret::Sealer::from_hex(&crate::secret::Sealer::generate_key()).unwrap();
        let now = crate::now();
        let mut i = Integration::new(
            crate::ids::InstallationId(1),
            BaseId(1),
            &Planner,
            String::new(),
            now,
        );
        assert_eq!(i.requests_per_hour(), 2_000);
        assert_eq!(i.options["months"], 6);
        i.apply(
            &Planner,
            &update(&[("months", "3"), ("base_department", "12")]),
            &sealer,
            now,
        )
        .unwrap();
        assert_eq!(
            (&i.options["months"], &i.options["base_department"]),
            (&3.into(), &12.into())
        );
        let e = i
            .apply(&Planner, &update(&[("months", "0")]), &sealer, now)
            .unwrap_err();
        assert!(
            e.message
                .contains("months must be a whole number from 1 to 24"),
            "{e}"
        );
        let e = i
            .apply(&Planner, &update(&[("weeks", "3")]), &sealer, now)
            .unwrap_err();
        assert!(e.message.contains("Planner has no option 'weeks'"), "{e}");
        i.apply(&Planner, &update(&[("base_department", "")]), &sealer, now)
            .unwrap();
        assert_eq!(i.options["base_department"], serde_json::Value::Null);
        assert_eq!(i.job().as_str(), "planner:1");
        assert_eq!(i.stream_job("resources").as_str(), "planner:1/resources");
        assert_eq!("planner:1/resources".parse(), Ok(i.stream_job("resources")));
        assert_eq!("planner:1".parse(), Ok(i.job()));
        for bad in ["planner", "planner:x", "planner:1/", ":1", "planner:0"] {
            assert!(bad.parse::<LedgerJob>().is_err(), "{bad}");
        }
    }

    #[test]
    fn schedules_faster_than_the_partner_allows_are_refused() {
        let now = crate::now();
        let mut i = Integration::new(
            crate::ids::InstallationId(1),
            BaseId(1),
            &Planner,
            String::new(),
            now,
        );
        let hourly = Schedule::parse("0 * * * *").unwrap();
        let e = i
            .set_schedules(
                &DECLARATION,
                hourly,
                i.full_schedule.clone(),
                TimeZone::PARIS,
                now,
            )
            .unwrap_err();
        assert!(e.message.contains("Planner allows a run every 4 h"), "{e}");
        let four = Schedule::parse("0 */4 * * *").unwrap();
        i.set_schedules(
            &DECLARATION,
            four,
            i.full_schedule.clone(),
            TimeZone::PARIS,
            now,
        )
        .unwrap();
        assert!(i.next_run_at.unwrap() > now);
        assert!(i.next_run_at.unwrap() <= now + Duration::hours(4));
    }

    #[test]
    fn every_bad_setting_is_refused_at_once_with_its_field() {
        let sealer =
            crate::secret::Sealer::from_hex(&crate::secret::Sealer::generate_key()).unwrap();
        let now = crate::now();
        let mut i = Integration::new(
            crate::ids::InstallationId(1),
            BaseId(1),
            &Planner,
            String::new(),
            now,
        );
        let before = i.clone();
        let bad = IntegrationUpdate {
            partner_url: Some("ftp://pme.example".into()),
            schedule: Some("every day".into()),
            full_schedule: Some("0 * * * *".into()),
            time_zone: Some("Mars/Olympus".into()),
            options: vec![("months".into(), "30".into())],
            ..IntegrationUpdate::default()
        };
        let errors = i.apply_all(&Planner, &bad, &sealer, now).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["partner_url", "schedule", "time_zone", "option_months"],
            "{errors:?}"
        );
        assert_eq!(
            (&i.partner_url, i.schedule.as_str(), i.time_zone, &i.options),
            (
                &before.partner_url,
                before.schedule.as_str(),
                before.time_zone,
                &before.options
            ),
            "nothing applied"
        );
        // With a valid zone, the too frequent full schedule is named too.
        let bad = IntegrationUpdate {
            schedule: Some("0 */4 * * *".into()),
            full_schedule: Some("0 * * * *".into()),
            time_zone: Some("Europe/Paris".into()),
            ..IntegrationUpdate::default()
        };
        let errors = i.apply_all(&Planner, &bad, &sealer, now).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "full_schedule");
        assert!(errors[0].error.message.contains("every 4 h"));
    }

    #[test]
    fn updates_apply_whole_or_not_at_all() {
        let sealer =
            crate::secret::Sealer::from_hex(&crate::secret::Sealer::generate_key()).unwrap();
        let now = crate::now();
        let mut i = Integration::new(
            crate::ids::InstallationId(1),
            BaseId(1),
            &Planner,
            String::new(),
            now,
        );
        let missing = i.missing_settings(
            &DECLARATION,
            &sealer.open(&sealer.seal(&Default::default())).unwrap(),
        );
        assert_eq!(
            missing,
            ["partner_url", "app_key", "assertion", "source_key"]
        );
        let bad = IntegrationUpdate {
            partner_url: Some("http://pme.example/acme".into()),
            secrets: vec![("app_key".into(), "k".into())],
            options: vec![("months".into(), "30".into())],
            ..IntegrationUpdate::default()
        };
        assert!(i.apply(&Planner, &bad, &sealer, now).is_err());
        assert_eq!(i.partner_url, "", "nothing applied");
        let wrong_secret = IntegrationUpdate {
            secrets: vec![("token".into(), "k".into())],
            ..IntegrationUpdate::default()
        };
        let e = i.apply(&Planner, &wrong_secret, &sealer, now).unwrap_err();
        assert!(
            e.message
                .contains("secrets: app_key, assertion, source_key"),
            "{e}"
        );
        let good = IntegrationUpdate {
            options: vec![("months".into(), "3".into())],
            time_zone: Some("Europe/London".into()),
            pause: Some(Some("migration".into())),
            ..bad
        };
        i.apply(&Planner, &good, &sealer, now).unwrap();
        assert_eq!(
            (&i.options["months"], i.time_zone.0.name()),
            (&3.into(), "Europe/London")
        );
        assert_eq!(
            sealer
                .open(&i.sealed_secrets)
                .unwrap()
                .get(SecretName::Partner("app_key")),
            Some("k")
        );
        assert_eq!(
            (i.health, i.paused.as_deref()),
            (Health::Paused, Some("migration"))
        );
        assert!(!i.is_due(now + Duration::days(2)));
        let resume = IntegrationUpdate {
            pause: Some(None),
            secrets: vec![("app_key".into(), " ".into())],
            ..IntegrationUpdate::default()
        };
        i.apply(&Planner, &resume, &sealer, now).unwrap();
        assert_eq!(i.health, Health::Pending);
        assert_eq!(
            sealer
                .open(&i.sealed_secrets)
                .unwrap()
                .get(SecretName::Partner("app_key")),
            Some("k"),
            "a blank value keeps the secret"
        );
        assert!(i.is_due(now + Duration::days(2)));
    }

    #[test]
    fn urls_and_outcomes_parse() {
        let mut i = Integration::new(
            crate::ids::InstallationId(1),
            BaseId(1),
            &Planner,
            String::new(),
            crate::now(),
        );
        assert!(i.set_partner_url("ftp://x").is_err());
        i.set_partner_url("http://127.0.0.1:9000/").unwrap();
        assert_eq!(i.partner_url, "http://127.0.0.1:9000");
        i.set_source_url(Some(" ")).unwrap();
        assert_eq!(i.source_url, None);
        for o in [Outcome::Created, Outcome::Skipped("budget".into())] {
            let back = Outcome::from_parts(o.code(), o.reason().map(str::to_owned)).unwrap();
            assert_eq!(back, o);
        }
        let mut c = RunCounts::default();
        c.add(&Outcome::Failed("x".into()));
        c.add(&Outcome::Created);
        assert_eq!((c.failed, c.written(), c.total()), (1, 1, 2));
    }
}
