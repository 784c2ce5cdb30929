//! The organisation: departments, establishments (legal entities), legal
//! units, and work contracts.

use super::answer::{base_url, select_fields, v3_item, v3_list, v4_list, with_employee_records};
use super::extract::{V3List, V4Page};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::need::{Need, Routes};
use crate::query::V4Query;
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::{Extension, Json};
use relais_core::access::Permission;
use relais_core::fields::{users, Resource};
use relais_core::org::{Department, Establishment, TimeZone};
use relais_store::{Cond, Condition, ListQuery, SqlValue};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    let organisation = Need::Grant(Permission::Organisation);
    Routes::new()
        .records(
            "/api/v3/departments",
            organisation,
            "department",
            departments,
        )
        .get("/api/v3/departments/tree", organisation, department_tree)
        .records(
            "/api/v3/legalentities",
            organisation,
            "legal entity",
            legal_entities,
        )
        .get(
            "/organization/structure/api/establishments",
            organisation,
            establishments_v4,
        )
        .get(
            "/organization/structure/api/legal-units",
            organisation,
            legal_units_v4,
        )
        .get(
            "/directory/api/4.0/work-contracts",
            Need::Grant(Permission::PersonnelFile),
            work_contracts,
        )
}

/// Every department's level (root = 1) and path of names from the root.
pub(super) fn hierarchy(all: &[Department]) -> HashMap<i64, (usize, String)> {
    let by_id: HashMap<i64, &Department> = all.iter().map(|d| (d.id.0, d)).collect();
    all.iter()
        .map(|d| {
            let mut names = vec![d.name.to_string()];
            let mut current = d.parent_id;
            while let Some(p) = current.and_then(|p| by_id.get(&p.0)) {
                names.push(p.name.to_string());
                current = p.parent_id;
                if names.len() > all.len() {
                    break;
                }
            }
            names.reverse();
            (d.id.0, (names.len(), names.join("/")))
        })
        .collect()
}

async fn departments(list: V3List) -> Result<Response, ApiError> {
    let q = list.query(&[])?;
    let (state, caller, headers) = list.into_parts();
    let base = caller.base();
    let query = q.list_query(&caller.scope, Resource::Departments)?;
    let page = state.store.query_departments(base, &query).await?;
    let tree = q.fields_or(&["id", "name", "url"]);
    let all = state.store.list_departments(base).await?;
    let levels = hierarchy(&all);
    // A head outside the key's scope reads as no head, as a missing one would.
    let heads: Vec<relais_core::ids::EmployeeId> =
        page.items.iter().filter_map(|d| d.head_id).collect();
    let visible_heads: std::collections::HashSet<i64> =
        super::users::visible_among(&state.store, &caller, &heads)
            .await?
            .iter()
            .map(|e| e.id.0)
            .collect();
    let wants_users = ["users", "currentUsers", "currentUsersCount", "head"]
        .iter()
        .any(|f| tree.has(f));
    let mut disclosed = 0;
    let mut items = Vec::new();
    for d in &page.items {
        let head = d.head_id.filter(|h| visible_heads.contains(&h.0));
        let mut m = department_json(d, &levels, head, &base_url(&headers));
        if wants_users {
            // Names of people are personnel-file data: only with that grant.
            let people = caller.role().may_read(&users::NAME);
            let members = state
                .store
                .query_employees(
                    base,
                    &ListQuery {
                        scope: caller.scope.clone(),
                        conditions: vec![Condition::is(&users::DEPARTMENT_ID, d.id.0)],
                        limit: 1000,
                        count: true,
                        ..ListQuery::default()
                    },
                )
                .await?;
            m.insert(
                "currentUsersCount".into(),
                json!(members.count.unwrap_or(0)),
            );
            if people {
                let list: Vec<Value> = members
                    .items
                    .iter()
                    .map(|e| json!({ "id": e.id.0, "name": e.display_name() }))
                    .collect();
                disclosed += list.len();
                m.insert("users".into(), json!(list));
                m.insert("currentUsers".into(), json!(list));
                let head = d
                    .head_id
                    .and_then(|h| members.items.iter().find(|e| e.id == h))
                    .map(|e| json!({ "id": e.id.0, "name": e.display_name() }));
                m.insert("head".into(), head.unwrap_or(Value::Null));
            }
        }
        items.push(select_fields(m, &tree));
    }
    Ok(with_employee_records(v3_list(items, page.count), disclosed))
}

/// A department as `/api/v3/departments` shows it, without its members;
/// `head` its head when the key may see them.
pub(super) fn department_json(
    d: &Department,
    levels: &HashMap<i64, (usize, String)>,
    head: Option<relais_core::ids::EmployeeId>,
    base_url: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    let (level, path) = levels
        .get(&d.id.0)
        .cloned()
        .unwrap_or((1, d.name.to_string()));
    m.insert("id".into(), json!(d.id.0));
    m.insert("name".into(), json!(d.name.as_str()));
    m.insert(
        "url".into(),
        json!(format!("{base_url}/api/v3/departments/{}", d.id)),
    );
    m.insert("code".into(), json!(d.code.as_str()));
    m.insert("hierarchy".into(), json!(path));
    m.insert("parentId".into(), json!(d.parent_id.map(|p| p.0)));
    m.insert("isActive".into(), json!(d.active));
    m.insert("position".into(), json!(d.position));
    m.insert("sortOrder".into(), json!(d.position));
    m.insert("level".into(), json!(level));
    m.insert("headID".into(), json!(head.map(|h| h.0)));
    m
}

async fn department_tree(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let all = state.store.list_departments(caller.base()).await?;
    fn node(d: &Department, all: &[Department], depth: usize) -> Value {
        let children: Vec<Value> = if depth > 64 {
            Vec::new()
        } else {
            all.iter()
                .filter(|c| c.parent_id == Some(d.id))
                .map(|c| node(c, all, depth + 1))
                .collect()
        };
        json!({ "node": { "id": d.id.0, "name": d.name.as_str(), "code": d.code.as_str(), "isActive": d.active }, "children": children })
    }
    let roots: Vec<Value> = all
        .iter()
        .filter(|d| d.parent_id.is_none())
        .map(|d| node(d, &all, 0))
        .collect();
    Ok(v3_item(json!({ "node": null, "children": roots })))
}

pub(super) fn establishment_json(
    e: &Establishment,
    users: Option<i64>,
    base_url: &str,
    v4: bool,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(e.id.0));
    m.insert("name".into(), json!(e.name.as_str()));
    if !v4 {
        m.insert(
            "url".into(),
            json!(format!("{base_url}/api/v3/legalentities/{}", e.id)),
        );
    }
    m.insert("code".into(), json!(e.code.as_str()));
    m.insert("legalUnitId".into(), json!(e.legal_unit_id.0));
    m.insert("legalIdentificationNumber".into(), json!(e.siret.as_str()));
    m.insert("activityCode".into(), Value::Null);
    m.insert("calendarId".into(), Value::Null);
    m.insert(
        "address".into(),
        json!({ "street": e.address.line, "zipCode": e.address.postal_code, "city": e.address.city, "countryCode": e.address.country }),
    );
    m.insert("timeZoneId".into(), json!(e.time_zone.name()));
    m.insert("workingDays".into(), json!(e.calendar.week.to_string()));
    m.insert(
        "holidayCalendar".into(),
        json!(e.calendar.holidays.as_str()),
    );
    m.insert("usersCount".into(), json!(users));
    m.insert("isArchived".into(), json!(e.archived));
    m
}

async fn users_count(
    state: &AppState,
    caller: &Caller,
    establishment: i64,
) -> Result<i64, ApiError> {
    let page = state
        .store
        .query_employees(
            caller.base(),
            &ListQuery::count_of(
                caller.scope.clone(),
                &users::ESTABLISHMENT_ID,
                establishment,
            ),
        )
        .await?;
    Ok(page.count.unwrap_or(0))
}

async fn legal_entities(list: V3List) -> Result<Response, ApiError> {
    let q = list.query(&[])?;
    let (state, caller, headers) = list.into_parts();
    let query = q.list_query(&caller.scope, Resource::Establishments)?;
    let page = state
        .store
        .query_establishments(caller.base(), &query)
        .await?;
    let tree = q.fields_or(&["id", "name", "url"]);
    let mut items = Vec::new();
    for e in &page.items {
        let users = if tree.has("usersCount") {
            Some(users_count(&state, &caller, e.id.0).await?)
        } else {
            None
        };
        items.push(select_fields(
            establishment_json(e, users, &base_url(&headers), false),
            &tree,
        ));
    }
    Ok(with_employee_records(v3_list(items, page.count), 0))
}

async fn establishments_v4(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    at: V4Page,
) -> Result<Response, ApiError> {
    let q = V4Query::parse(&at.pairs)?;
    let query = q.list_query(&caller.scope, Resource::Establishments)?;
    let page = state
        .store
        .query_establishments(caller.base(), &query)
        .await?;
    let mut items = Vec::new();
    for e in &page.items {
        let users = users_count(&state, &caller, e.id.0).await?;
        items.push(Value::Object(establishment_json(
            e,
            Some(users),
            &base_url(&at.headers),
            true,
        )));
    }
    Ok(with_employee_records(
        v4_list(items, &q, &at, page.count),
        0,
    ))
}

async fn legal_units_v4(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    at: V4Page,
) -> Result<Response, ApiError> {
    let q = V4Query::parse(&at.pairs)?;
    let query = q.list_query(&caller.scope, Resource::LegalUnits)?;
    let page = state.store.query_legal_units(caller.base(), &query).await?;
    let lang = super::extract::answer_language(&at.headers);
    let items = page
        .items
        .iter()
        .map(|u| legal_unit_json(u, lang))
        .collect();
    Ok(with_employee_records(
        v4_list(items, &q, &at, page.count),
        0,
    ))
}

/// A legal unit as `/organization/structure/api/legal-units` shows it, its
/// country named in `lang` (`"en"` or `"fr"`, see
/// [`answer_language`](super::extract::answer_language)).
pub(super) fn legal_unit_json(u: &relais_core::org::LegalUnit, lang: &str) -> Value {
    let country = relais_core::country::Country::by_code(&u.country);
    json!({
        "id": u.id.0,
        "name": u.name.as_str(),
        "code": u.code,
        "legalIdentificationNumber": u.siren.as_str(),
        "countryCode": u.country,
        "countryId": country.map(|c| c.numeric),
        "country": country.map(|c| json!({
            "id": c.numeric,
            "name": if lang == "en" { c.en } else { c.fr },
            "code": c.alpha2,
        })),
        "headquartersId": u.headquarters_id.map(|h| h.0),
        "createdAt": u.created_at,
        "isArchived": u.archived,
    })
}

async fn work_contracts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    at: V4Page,
) -> Result<Response, ApiError> {
    let role = caller.role();
    if !role.may_read(&users::CONTRACT_START) {
        return Err(ApiError::ForbiddenBecause(
            "this key may not read contract dates (dtContractStart)".into(),
        ));
    }
    let mut pairs = at.pairs.clone();
    let applicable = match pairs.iter().position(|(k, _)| k == "isApplicable") {
        Some(i) => Some(match pairs.remove(i).1.as_str() {
            "true" => true,
            "false" => false,
            other => {
                return Err(ApiError::BadRequest {
                    parameter: "isApplicable".into(),
                    message: format!("'{other}' is not true or false"),
                })
            }
        }),
        None => None,
    };
    let q = V4Query::parse(&pairs)?;
    let today = TimeZone::PARIS.today();
    let mut conditions = Vec::new();
    match applicable {
        Some(true) => {
            conditions.push(Condition::new(&users::CONTRACT_START, Cond::Lte(SqlValue::Date(today))));
            conditions.push(Condition::new(&users::CONTRACT_END, Cond::NullOrGte(SqlValue::Date(today))));
        }
        Some(false) => {
            return Err(ApiError::BadRequest {
                parameter: "isApplicable".into(),
                message: "only isApplicable=true is supported; filter on startsOn or endsOn for other contracts".into(),
            })
        }
        None => {}
    }
    let mut query = q.list_query(&caller.scope_with_former(), Resource::WorkContracts)?;
    query.conditions.splice(0..0, conditions);
    let page = state.store.query_employees(caller.base(), &query).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|e| {
            let c = e.data.contract;
            json!({
                "id": e.id.0,
                "ownerId": e.id.0,
                "startsOn": c.start,
                "endsOn": c.end,
                "isApplicable": c.status_on(today) == relais_core::employee::ContractStatus::Active,
                "establishmentId": e.data.establishment_id.0,
                "spcId": e.data.csp.map(relais_core::employee::Csp::id),
                "typeId": if c.end.is_some() { 2 } else { 1 },
                "createdAt": e.created_at,
                "lastModifiedAt": e.modified_at,
            })
        })
        .collect();
    let n = items.len();
    Ok(with_employee_records(
        v4_list(items, &q, &at, page.count),
        n,
    ))
}
