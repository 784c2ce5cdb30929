//! Refreshing a test base from the production base, from the home page:
//! asked first (what is replaced, what stays), then copied in the
//! background while the home page says it is under way and follows it.

use super::layout::PagePath;
use super::layout::{
    confirm_page, paris_time, refuse_csrf, ConfirmForm, OrPage, PageError, PageForm,
};
use crate::session::{redirect, Viewer};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::base::{Base, BaseKind};
use relais_core::ids::BaseId;
use relais_core::org::TimeZone;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The refreshes this process started, by the base refreshed: the one
/// under way, or how the latest ended.
#[derive(Clone, Default)]
pub struct Refreshes(Arc<Mutex<HashMap<BaseId, Refresh>>>);

/// One refresh of a test base.
#[derive(Clone)]
struct Refresh {
    /// The base copied.
    from: String,
    /// Who asked for it.
    by: String,
    /// When it started.
    started: DateTime<Utc>,
    /// How it ended, once it has.
    ended: Option<Ended>,
}

/// How a refresh ended.
#[derive(Clone)]
struct Ended {
    /// When.
    at: DateTime<Utc>,
    /// The employees, absences and expense claims the base then held; none
    /// when the copy failed (its cause is in the log).
    counts: Option<[i64; 3]>,
}

impl Refreshes {
    fn get(&self, base: BaseId) -> Option<Refresh> {
        self.0.lock().ok()?.get(&base).cloned()
    }

    /// The refreshes as they stand now, kept apart from those still
    /// running: a page that reads its counts after taking it never says a
    /// copy ended beside counts read before its end.
    pub(crate) fn as_now(&self) -> Self {
        let now = self.0.lock().map(|all| all.clone()).unwrap_or_default();
        Self(Arc::new(Mutex::new(now)))
    }

    /// Whether a refresh of `base` is under way in this process.
    pub(crate) fn running(&self, base: BaseId) -> bool {
        self.get(base).is_some_and(|r| r.ended.is_none())
    }

    /// Records `refresh` of `base` as under way, unless one already is
    /// (two people asking at once start one copy); whether it was.
    fn start(&self, base: BaseId, refresh: Refresh) -> bool {
        let Ok(mut all) = self.0.lock() else {
            return false;
        };
        if all.get(&base).is_some_and(|r| r.ended.is_none()) {
            return false;
        }
        all.insert(base, refresh);
        true
    }

    fn set(&self, base: BaseId, refresh: Refresh) {
        if let Ok(mut all) = self.0.lock() {
            all.insert(base, refresh);
        }
    }
}

/// The production base a test base is refreshed from.
fn production(v: &Viewer) -> Option<&Base> {
    v.bases.iter().find(|b| b.kind == BaseKind::Production)
}

/// Under a test base on the home page: the refresh under way or how the
/// latest ended, and, for people with « Administration des applications »,
/// the button that asks for one.
pub(crate) fn refresh_section(refreshes: &Refreshes, v: &Viewer, base: &Base) -> Markup {
    let lang = v.lang;
    let refresh = refreshes.get(base.id);
    let from = production(v).filter(|p| p.id != base.id);
    html! {
        @if let Some(r) = &refresh {
            @match &r.ended {
                None => p.notice.refresh role="status" data-base=(base.name) {
                    (lang.tf("Copie depuis « %{from} » en cours, commencée le %{at} par %{by} : cette page se met à jour seule.", &[("from", &r.from), ("at", &paris_time(r.started, lang)), ("by", &r.by)]))
                },
                Some(Ended { at, counts: Some([employees, leaves, claims]) }) => p.ok.refresh role="status" data-base=(base.name) {
                    (lang.tf("Rafraîchie depuis « %{from} » le %{at} : %{employees} collaborateurs, %{leaves} absences, %{claims} notes de frais.", &[("from", &r.from), ("at", &paris_time(*at, lang)), ("employees", employees), ("leaves", leaves), ("claims", claims)]))
                },
                Some(Ended { counts: None, .. }) => p.error.refresh role="status" data-base=(base.name) {
                    (lang.t("La copie a échoué et la base n'a pas changé ; la cause est dans le journal de relais."))
                },
            }
        }
        @if let (Some(from), true, false) = (from, v.person.can_admin_apps, refreshes.running(base.id)) {
            form method="post" action={ "/bases/" (base.name) "/refresh" } {
                input type="hidden" name="csrf" value=(v.csrf);
                button type="submit" class="refresh-base" data-base=(base.name) {
                    (lang.tf("Rafraîchir depuis « %{from} »", &[("from", &from.name)]))
                }
            }
        }
    }
}

/// `POST /bases/{name}/refresh`: asks, then copies the production base's
/// HR data into test base `name`, in the background, and leads back home.
pub async fn refresh(
    State(state): State<AppState>,
    v: Viewer,
    Extension(refreshes): Extension<Refreshes>,
    PagePath(name): PagePath<String>,
    PageForm(f): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.csrf)?;
    super::layout::refuse_apps(&v)?;
    let lang = v.lang;
    let refused = |message: &str| PageError::refused(&v, StatusCode::CONFLICT, message);
    let Some(to) = v.bases.iter().find(|b| b.name.as_str() == name).cloned() else {
        return Err(PageError::refused(
            &v,
            StatusCode::NOT_FOUND,
            lang.t("Cette base n'existe pas."),
        ));
    };
    if to.kind != BaseKind::Test {
        return Err(refused(
            lang.t("Seule une base de test peut être remplacée par une copie."),
        ));
    }
    let Some(from) = production(&v).cloned() else {
        return Err(refused(lang.t("Aucune base de production à copier.")));
    };
    if refreshes.running(to.id) {
        return Err(refused(
            lang.t("Une copie vers cette base est déjà en cours."),
        ));
    }
    if f.confirmed.is_none() {
        let today = TimeZone::PARIS.today();
        let (now, then) = (
            state.store.base_counts(to.id, today).await.or_page(&v)?,
            state.store.base_counts(from.id, today).await.or_page(&v)?,
        );
        let stops = [
            lang.tf(
                "Les données RH de « %{to} » (%{now} collaborateurs, %{leaves} absences) sont remplacées par celles de « %{from} » (%{then} collaborateurs, %{then_leaves} absences).",
                &[
                    ("to", &to.name),
                    ("now", &now.employees()),
                    ("leaves", &now.leave_periods),
                    ("from", &from.name),
                    ("then", &then.employees()),
                    ("then_leaves", &then.leave_periods),
                ],
            ),
            lang.t("Ses clés API, ses applications installées et leurs réglages restent ; ses intégrations enverront la nouvelle copie à leurs partenaires à leur prochaine exécution.").to_owned(),
        ];
        return Ok(confirm_page(
            &v,
            &lang.tf(
                "Rafraîchir « %{to} » depuis « %{from} » ?",
                &[("to", &to.name), ("from", &from.name)],
            ),
            &stops,
            &format!("/bases/{}/refresh", to.name),
            ("confirm-refresh", lang.t("Oui, rafraîchir")),
            "/",
        ));
    }
    let started = refreshes.start(
        to.id,
        Refresh {
            from: from.name.to_string(),
            by: v.person.name.to_string(),
            started: relais_core::now(),
            ended: None,
        },
    );
    if !started {
        return Err(refused(
            lang.t("Une copie vers cette base est déjà en cours."),
        ));
    }
    let store = state.store.clone();
    let by = v.actor();
    tokio::spawn(async move {
        let outcome = relais_app::bases::refresh_test_base(&store, &from, &to, by).await;
        let counts = match outcome {
            Ok(c) => Some([c.employees(), c.leave_periods, c.expense_claims]),
            Err(e) => {
                tracing::error!(error = %e, base = %to.name, "refreshing a test base failed");
                None
            }
        };
        if let Some(mut r) = refreshes.get(to.id) {
            r.ended = Some(Ended {
                at: relais_core::now(),
                counts,
            });
            refreshes.set(to.id, r);
        }
    });
    Ok(redirect("/", Vec::new()))
}

/// Seconds between two readings of the home page while a refresh runs.
pub(crate) const FOLLOW_SECONDS: u32 = 2;

/// The home page follows a refresh under way when one is.
pub(crate) fn follows(refreshes: &Refreshes, bases: &[Base]) -> Option<u32> {
    bases
        .iter()
        .any(|b| refreshes.running(b.id))
        .then_some(FOLLOW_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh() -> Refresh {
        Refresh {
            from: "production".into(),
            by: "Alice".into(),
            started: relais_core::now(),
            ended: None,
        }
    }

    #[test]
    fn one_refresh_of_a_base_at_a_time() {
        let r = Refreshes::default();
        let (test, other) = (BaseId(2), BaseId(3));
        assert!(r.start(test, refresh()));
        assert!(r.running(test));
        assert!(!r.start(test, refresh()), "already under way");
        assert!(r.start(other, refresh()), "another base is free");
        let mut done = r.get(test).unwrap();
        done.ended = Some(Ended {
            at: relais_core::now(),
            counts: Some([1, 2, 3]),
        });
        let before = r.as_now();
        r.set(test, done);
        assert!(
            before.running(test),
            "taken before the end, it stays as it was"
        );
        assert!(!r.running(test));
        assert!(!r.as_now().running(test));
        assert!(r.start(test, refresh()), "once ended, it may run again");
    }
}
