//! `/api/relais/reports`: the ready-made reports ("états standards") an app
//! such as Inside Online reads with its key, bounded by the key's grants
//! (a report needing a grant the key lacks answers 403 naming it) and
//! establishments (rows of establishments outside them never count).
//!
//! `GET /api/relais/reports` lists them; `GET /api/relais/reports/{code}`
//! computes one: `from` and `to` (months, `2026-01`; by default the last
//! twelve months), `establishmentId`, `departmentId`, `accountId`,
//! `natureId` (lists of ids), `paging=offset,limit`, and `export=true` to
//! record this read as the key's export (the absences report then counts
//! what changes after it).

use super::extract::Pairs;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::need::{Need, Routes};
use crate::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use chrono::{DateTime, Months, Utc};
use relais_core::report::{
    report, Cell, FilterKind, Month, ReportFilter, ReportSpec, ReportTable, REPORTS,
};
use relais_store::reports::ComputedReport;
use serde_json::{json, Map, Value};

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    Routes::new()
        .get("/api/relais/reports", Need::AnyKey, list)
        // Each report needs its own grant, checked by its handler.
        .get("/api/relais/reports/{code}", Need::AnyKey, one)
}

/// A report's period, filters, page and whether to record an export, read
/// from query parameters (the API's and the admin page's form alike).
#[derive(Debug, Clone)]
pub struct ReportQuery {
    /// Period and filters.
    pub filter: ReportFilter,
    /// Offset and limit.
    pub page: (u64, u64),
    /// Record this read as an export.
    pub export: bool,
}

fn ids(parameter: &str, raw: &str) -> Result<Vec<i64>, ApiError> {
    let ids: Vec<i64> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::bad(parameter, format!("'{s}' is not an identifier")))
        })
        .collect::<Result<_, _>>()?;
    if ids.len() > 500 {
        return Err(ApiError::bad(parameter, "at most 500 identifiers"));
    }
    Ok(ids)
}

impl ReportQuery {
    /// Reads the parameters for `spec`; `today` sets the default period (the
    /// twelve months ending with today's).
    pub fn parse(
        spec: &ReportSpec,
        pairs: &[(String, String)],
        today: chrono::NaiveDate,
    ) -> Result<Self, ApiError> {
        let month = |parameter: &'static str, raw: &str| {
            raw.parse::<Month>().map_err(|e: relais_core::DomainError| {
                ApiError::BadValue(relais_core::DomainError {
                    field: parameter,
                    ..e
                })
            })
        };
        let mut to = Month::of(today);
        let mut from = Month::of(today.checked_sub_months(Months::new(11)).unwrap_or(today));
        let (mut from_given, mut to_given) = (false, false);
        let mut page = (0, 100);
        let mut export = false;
        let mut lists: Vec<(FilterKind, Vec<i64>)> = Vec::new();
        let mut once = crate::query::Once::default();
        for (name, value) in pairs {
            let value = value.trim();
            if ["from", "to", "paging", "export"].contains(&name.as_str()) {
                once.note(name)?;
            }
            match name.as_str() {
                "from" if !value.is_empty() => {
                    from = month("from", value)?;
                    from_given = true;
                }
                "to" if !value.is_empty() => {
                    to = month("to", value)?;
                    to_given = true;
                }
                "from" | "to" => {}
                "paging" => {
                    // The v3 parser's paging: its limits and its message.
                    let q = crate::query::V3Query::parse(
                        &[("paging".to_owned(), value.to_owned())],
                        &[],
                    )?;
                    page = (q.offset, u64::from(q.limit));
                }
                "export" => {
                    export = match value {
                        "true" | "1" => true,
                        "false" | "0" | "" => false,
                        other => {
                            return Err(ApiError::bad(
                                "export",
                                format!("'{other}' is not true or false"),
                            ))
                        }
                    }
                }
                other => {
                    let Some(kind) = spec
                        .filters
                        .iter()
                        .find(|f| f.parameter().eq_ignore_ascii_case(other))
                    else {
                        let known: Vec<&str> = ["from", "to", "paging", "export"]
                            .into_iter()
                            .chain(spec.filters.iter().map(|f| f.parameter()))
                            .collect();
                        return Err(ApiError::bad(
                            other,
                            format!(
                                "this report takes no parameter '{other}' (it takes {})",
                                known.join(", ")
                            ),
                        ));
                    };
                    let found = ids(kind.parameter(), value)?;
                    if !found.is_empty() {
                        lists.push((*kind, found));
                    }
                }
            }
        }
        // One bound given: the period is that month alone, or twelve months
        // from or to it.
        if from_given && !to_given {
            to = Month::of(
                from.first_day()
                    .checked_add_months(Months::new(11))
                    .unwrap_or(from.first_day()),
            );
        } else if to_given && !from_given {
            from = Month::of(
                to.first_day()
                    .checked_sub_months(Months::new(11))
                    .unwrap_or(to.first_day()),
            );
        }
        let mut filter = ReportFilter::new(from, to).map_err(ApiError::BadValue)?;
        for (kind, found) in lists {
            let slot = match kind {
                FilterKind::Establishment => &mut filter.establishments,
                FilterKind::Department => &mut filter.departments,
                FilterKind::Account => &mut filter.accounts,
                FilterKind::Nature => &mut filter.natures,
            };
            slot.get_or_insert_with(Vec::new).extend(found);
        }
        Ok(Self {
            filter,
            page,
            export,
        })
    }
}

/// A cell as the API gives it: numbers as numbers, months and dates as
/// ISO text.
pub fn cell_json(cell: &Cell) -> Value {
    match cell {
        Cell::Text(t) => json!(t),
        Cell::Month(m) => json!(m.to_string()),
        Cell::Date(d) => json!(d),
        Cell::Count(n) => json!(n),
        Cell::Empty => Value::Null,
        Cell::Warnings(_) => json!(cell.plain()),
        other => json!(other.number()),
    }
}

fn row_json(table: &ReportTable, row: &[Cell]) -> Value {
    let mut m = Map::new();
    for (column, cell) in table.spec.columns.iter().zip(row) {
        m.insert(column.key.into(), cell_json(cell));
    }
    Value::Object(m)
}

/// What the API says of a report: its code, titles, grant, columns and
/// filters.
pub fn describe(spec: &ReportSpec) -> Value {
    let filters: Vec<&str> = ["from", "to"]
        .into_iter()
        .chain(spec.filters.iter().map(|f| f.parameter()))
        .collect();
    json!({
        "code": spec.code,
        "title": spec.title,
        "titleEn": spec.title_en,
        "description": spec.description,
        "descriptionEn": spec.description_en,
        "grant": spec.permission.code(),
        "columns": spec.columns.iter().map(|c| json!({
            "key": c.key, "label": c.label, "labelEn": c.label_en,
            "type": c.kind.code(),
        })).collect::<Vec<_>>(),
        "filters": filters,
    })
}

/// The JSON schema of a report as the list describes it ([`describe`],
/// and whether the key reads it), for the OpenAPI document: written beside
/// it, so that both change together.
pub fn report_list_schema() -> Value {
    let text = |description: &str| json!({ "type": "string", "description": description });
    json!({
        "type": "object",
        "required": ["code", "title", "titleEn", "description", "descriptionEn", "grant", "columns", "filters", "readable"],
        "properties": {
            "code": text("what the report's path ends with"),
            "title": text("its title in French"),
            "titleEn": text("its title in English"),
            "description": text("what it counts, in French"),
            "descriptionEn": text("what it counts, in English"),
            "grant": text("the grant a key needs to read it"),
            "columns": { "type": "array", "items": {
                "type": "object",
                "required": ["key", "label", "labelEn", "type"],
                "properties": {
                    "key": text("the row's member holding it"),
                    "label": text("its heading in French"),
                    "labelEn": text("its heading in English"),
                    "type": text("text, month, date, count, days, money or percent"),
                },
            } },
            "filters": { "type": "array", "items": { "type": "string" }, "description": "the parameters it takes" },
            "readable": { "type": "boolean", "description": "whether this key holds the grant" },
        },
    })
}

async fn list(Extension(caller): Extension<Caller>) -> Json<Value> {
    let items: Vec<Value> = REPORTS
        .iter()
        .map(|r| {
            let mut d = describe(r);
            d["readable"] = json!(caller.role().has(r.permission));
            d
        })
        .collect();
    Json(json!({ "data": { "items": items } }))
}

/// Computes a report for a reader (`key:<id>` or `person:<id>`) within
/// `scope` (the reader's establishments, `None`: all): its previous export
/// sets what counts as changed; an export is recorded when asked.
pub async fn compute_for(
    state: &AppState,
    base: relais_core::ids::BaseId,
    spec: &'static ReportSpec,
    query: &ReportQuery,
    scope: Option<&[i64]>,
    reader: &str,
    page: Option<(u64, u64)>,
) -> Result<(ComputedReport, Option<DateTime<Utc>>), ApiError> {
    let filter = query.filter.clone().within(scope);
    let since = state.store.last_export(base, spec.code, reader).await?;
    let computed =
        relais_store::reports::compute(&*state.store, base, spec.kind, &filter, since, page)
            .await?;
    record_export(state, base, spec, query, reader).await?;
    Ok((computed, since))
}

/// Records the read as the reader's export when the query says it is one
/// (the next export counts what changed since).
async fn record_export(
    state: &AppState,
    base: relais_core::ids::BaseId,
    spec: &'static ReportSpec,
    query: &ReportQuery,
    reader: &str,
) -> Result<(), ApiError> {
    if query.export {
        state
            .store
            .record_export(base, spec.code, reader, relais_core::now())
            .await?;
    }
    Ok(())
}

/// Computes the whole report for a reader part after part (see
/// [`relais_store::reports::compute_parts`]), sending each part to `parts`;
/// the export is recorded once every part is computed.
pub async fn export_parts(
    state: &AppState,
    base: relais_core::ids::BaseId,
    spec: &'static ReportSpec,
    query: &ReportQuery,
    reader: &str,
    parts: &tokio::sync::mpsc::Sender<Vec<Vec<relais_core::report::Cell>>>,
) -> Result<(), ApiError> {
    let since = state.store.last_export(base, spec.code, reader).await?;
    relais_store::reports::compute_parts(
        &*state.store,
        base,
        spec.kind,
        &query.filter,
        since,
        parts,
    )
    .await?;
    record_export(state, base, spec, query, reader).await
}

async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    Pairs(pairs): Pairs,
) -> Result<axum::response::Response, ApiError> {
    let spec = report(&code).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no report '{code}': the reports are {}",
            REPORTS
                .iter()
                .map(|r| r.code)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    caller.role().require(spec.permission)?;
    let query = ReportQuery::parse(spec, &pairs, relais_core::org::TimeZone::PARIS.today())?;
    let scope: Option<Vec<i64>> = caller
        .role()
        .establishments
        .as_ref()
        .map(|ids| ids.iter().map(|i| i.0).collect());
    let reader = format!("key:{}", caller.key.id);
    let (ComputedReport { table, total, .. }, since) = compute_for(
        &state,
        caller.base(),
        spec,
        &query,
        scope.as_deref(),
        &reader,
        Some(query.page),
    )
    .await?;
    let items: Vec<Value> = table.rows.iter().map(|r| row_json(&table, r)).collect();
    let rows = items.len();
    let body = Json(json!({
        "data": {
            "items": items,
            "count": total,
            "report": describe(spec),
            "period": { "from": query.filter.from.to_string(), "to": query.filter.to.to_string() },
            "changedSince": since,
        }
    }));
    Ok(super::answer::listed(body, rows))
}
