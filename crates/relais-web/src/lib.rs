//! The admin pages of relais, rendered on the server.
//!
//! For now one page: the bases and what each holds.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use relais_api::{ApiError, AppState};

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2433}\
table{border-collapse:collapse;margin:1rem 0 2rem}th,td{padding:.35rem .9rem;border-bottom:1px solid #dde}\
th{text-align:left;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.kind{font-size:.8rem;padding:.1rem .5rem;border-radius:1rem;background:#e7ecff}.kind.test{background:#fff0d6}";

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · relais" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

async fn home(State(state): State<AppState>) -> Result<Response, ApiError> {
    let today = relais_core::org::TimeZone::PARIS.today();
    let mut bases = Vec::new();
    for base in state.store.list_bases().await? {
        let counts = state.store.base_counts(base.id, today).await?;
        bases.push((base, counts));
    }
    let body = html! {
        h1 { "relais" }
        p { "Base RH · stockage " (state.store.backend()) }
        @if bases.is_empty() {
            p { "Aucune base. Créez-en une avec " code { "relais base create production" } "." }
        }
        @for (base, c) in &bases {
            h2 { (base.name) " " span class={"kind " (base.kind)} { (base.kind) } }
            table data-base=(base.name) {
                tbody {
                    tr { th { "Sociétés" } td.n data-count="legal_units" { (c.legal_units) } }
                    tr { th { "Établissements" } td.n data-count="establishments" { (c.establishments) } }
                    tr { th { "Départements" } td.n data-count="departments" { (c.departments) } }
                    tr { th { "Collaborateurs actifs" } td.n data-count="active_employees" { (c.active_employees) } }
                    tr { th { "Futurs collaborateurs" } td.n data-count="future_employees" { (c.future_employees) } }
                    tr { th { "Anciens collaborateurs" } td.n data-count="former_employees" { (c.former_employees) } }
                    tr { th { "Comptes d'absence" } td.n data-count="absence_accounts" { (c.absence_accounts) } }
                    tr { th { "Absences" } td.n data-count="leave_periods" { (c.leave_periods) } }
                    tr { th { "Notes de frais" } td.n data-count="expense_claims" { (c.expense_claims) } }
                    tr { th { "Lignes de frais" } td.n data-count="expense_items" { (c.expense_items) } }
                }
            }
        }
    };
    Ok(Html(page("Bases", body).into_string()).into_response())
}
