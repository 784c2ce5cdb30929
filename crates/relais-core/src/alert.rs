//! E-mail alerts to an installation's technical contact: one when its
//! integration starts failing, one when it recovers — never one per failed
//! run. Alerts are written to an outbox with the integration's new state and
//! sent from there, retried until the mail server takes them.

use crate::integration::Health;
use chrono::{DateTime, Utc};

/// Why an alert is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// The integration stopped working.
    Failing,
    /// It works again.
    Recovered,
}

impl AlertKind {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failing => "failing",
            Self::Recovered => "recovered",
        }
    }

    /// Reads a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "failing" => Some(Self::Failing),
            "recovered" => Some(Self::Recovered),
            _ => None,
        }
    }

    /// The alert a change of health calls for: failing after not failing,
    /// or working (healthy or with warnings) after failing; `None` otherwise
    /// (a second failed run in a row alerts nobody).
    pub fn on_change(before: Health, after: Health) -> Option<Self> {
        match (before, after) {
            (Health::Failing, Health::Healthy | Health::Warnings) => Some(Self::Recovered),
            (b, Health::Failing) if b != Health::Failing => Some(Self::Failing),
            _ => None,
        }
    }
}

/// What an alert says about its integration.
#[derive(Debug, Clone)]
pub struct AlertFacts<'a> {
    /// The app's name (`HappyPal`).
    pub app: &'a str,
    /// The base's name.
    pub base: &'a str,
    /// Why it fails (for a failing alert), in French.
    pub reason_fr: &'a str,
    /// Why it fails, in English.
    pub reason_en: &'a str,
    /// The app's page in the admin pages, when relais knows its public URL.
    pub page: Option<String>,
}

/// The subject and text of an alert, in French then English.
pub fn compose(kind: AlertKind, facts: &AlertFacts<'_>) -> (String, String) {
    let AlertFacts {
        app,
        base,
        reason_fr,
        reason_en,
        page,
    } = facts;
    let link = page
        .as_deref()
        .map(|p| format!("\n\n{p}\n"))
        .unwrap_or_default();
    match kind {
        AlertKind::Failing => (
            format!("[relais] {app} ne se synchronise plus (base « {base} »)"),
            format!(
                "Bonjour,\n\nLa synchronisation de {app} sur la base « {base} » a échoué : {reason_fr}.\n\
                 Les données ne parviennent plus à {app} tant que ce n'est pas corrigé ; relais \
                 vous écrira de nouveau quand elle refonctionnera. Ouvrez la page de l'application \
                 pour voir le rapport et ce qu'il faut corriger.{link}\n\
                 —\n\nThe {app} sync on base “{base}” failed: {reason_en}.\n\
                 Data no longer reaches {app} until this is fixed; relais will write again once it \
                 works. Open the app's page for the report and what to fix.{link}"
            ),
        ),
        AlertKind::Recovered => (
            format!("[relais] {app} se synchronise de nouveau (base « {base} »)"),
            format!(
                "Bonjour,\n\nLa synchronisation de {app} sur la base « {base} » fonctionne de \
                 nouveau : la dernière exécution s'est terminée.{link}\n\
                 —\n\nThe {app} sync on base “{base}” works again: its last run finished.{link}"
            ),
        ),
    }
}

/// An alert to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// The installation it is about.
    pub installation: crate::ids::InstallationId,
    /// Why.
    pub kind: AlertKind,
    /// The technical contact it goes to.
    pub recipient: String,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub body: String,
}

/// An alert in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its identifier.
    pub id: crate::ids::AlertId,
    /// What it says and to whom.
    pub alert: NewAlert,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When the mail server took it.
    pub sent_at: Option<DateTime<Utc>>,
    /// Tries so far.
    pub attempts: i64,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// When the next try is due (for one not sent).
    pub next_attempt_at: DateTime<Utc>,
}

/// How long to wait before try `attempts + 1` after a failure: a minute,
/// doubling, at most an hour.
pub fn retry_after(attempts: i64) -> chrono::Duration {
    let minutes = 1i64 << attempts.clamp(0, 6);
    chrono::Duration::minutes(minutes.min(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_alert_when_failing_starts_and_one_when_it_ends() {
        use Health::*;
        assert_eq!(
            AlertKind::on_change(Healthy, Failing),
            Some(AlertKind::Failing)
        );
        assert_eq!(
            AlertKind::on_change(Pending, Failing),
            Some(AlertKind::Failing)
        );
        assert_eq!(
            AlertKind::on_change(Warnings, Failing),
            Some(AlertKind::Failing)
        );
        assert_eq!(AlertKind::on_change(Failing, Failing), None);
        assert_eq!(
            AlertKind::on_change(Failing, Healthy),
            Some(AlertKind::Recovered)
        );
        assert_eq!(
            AlertKind::on_change(Failing, Warnings),
            Some(AlertKind::Recovered)
        );
        assert_eq!(AlertKind::on_change(Healthy, Warnings), None);
        assert_eq!(AlertKind::on_change(Failing, Paused), None);
        for k in [AlertKind::Failing, AlertKind::Recovered] {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn an_alert_names_the_app_the_base_the_reason_and_the_page() {
        let facts = AlertFacts {
            app: "HappyPal",
            base: "production",
            reason_fr: "HappyPal a refusé les identifiants (401)",
            reason_en: "HappyPal refused the credentials (401)",
            page: Some("https://rh.example.fr/integrations/happypal".into()),
        };
        let (subject, body) = compose(AlertKind::Failing, &facts);
        assert!(subject.contains("HappyPal") && subject.contains("production"));
        assert!(body.contains("refused the credentials (401)"));
        assert!(body.contains("a refusé les identifiants (401)"));
        assert!(body.contains("https://rh.example.fr/integrations/happypal"));
        let (subject, _) = compose(AlertKind::Recovered, &facts);
        assert!(subject.contains("de nouveau"));
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        assert_eq!(retry_after(0), chrono::Duration::minutes(1));
        assert_eq!(retry_after(3), chrono::Duration::minutes(8));
        assert_eq!(retry_after(40), chrono::Duration::minutes(60));
    }
}
