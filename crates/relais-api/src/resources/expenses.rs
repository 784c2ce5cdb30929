//! Expenses: claims, their items, natures and analytics axes.

use super::answer::{base_url, select_fields, v3_item, v3_list};
use super::extract::{Pairs, V3List};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::need::{Need, Routes};
use crate::query::{FieldTree, V3Query};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use relais_core::access::Permission;
use relais_core::expense::{ExpenseClaim, ExpenseItem};
use relais_core::fields::Resource;
use relais_core::ids::EmployeeId;
use relais_store::{Condition, ListQuery};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    let expenses = Need::Grant(Permission::Expenses);
    Routes::new()
        .records("/api/v3/expenseClaims", expenses, "expense claim", claims)
        .records(
            "/api/v3/expenseClaimItems",
            expenses,
            "expense claim item",
            items,
        )
        .get("/api/expenseNatures", expenses, natures_legacy)
        .get("/api/v3/expenseNatures", expenses, natures)
        .get("/api/v3/axes", expenses, axes)
        .get("/api/v3/axes/{id}", expenses, axis)
}

/// What a claim's related fields need: its owner and author, and the names
/// of departments and establishments; people's names only for a key that may
/// read them.
#[derive(Default)]
pub(super) struct ClaimContext {
    people: HashMap<EmployeeId, relais_core::employee::Employee>,
    names: bool,
    departments: HashMap<i64, String>,
    establishments: HashMap<i64, String>,
}

impl ClaimContext {
    pub(super) async fn load(
        state: &AppState,
        caller: &Caller,
        claims: &[ExpenseClaim],
        tree: &FieldTree,
    ) -> Result<Self, ApiError> {
        const RELATED: [&str; 6] = [
            "owner",
            "author",
            "department",
            "departmentId",
            "legalEntity",
            "legalEntityId",
        ];
        if !RELATED.iter().any(|f| tree.has(f)) {
            return Ok(Self::default());
        }
        let base = caller.base();
        let mut ids: Vec<EmployeeId> = claims
            .iter()
            .flat_map(|c| [c.owner_id, c.author_id])
            .collect();
        ids.sort();
        ids.dedup();
        Ok(Self {
            people: state
                .store
                .employees_by_ids(base, &ids)
                .await?
                .into_iter()
                .map(|e| (e.id, e))
                .collect(),
            names: caller.role().may_read_field("standard", "name"),
            departments: state
                .store
                .list_departments(base)
                .await?
                .into_iter()
                .map(|d| (d.id.0, d.name.to_string()))
                .collect(),
            establishments: state
                .store
                .list_establishments(base)
                .await?
                .into_iter()
                .map(|e| (e.id.0, e.name.to_string()))
                .collect(),
        })
    }

    /// `{id, name, firstName, lastName}` of a person, names only when the key may read them.
    fn person(&self, id: EmployeeId) -> Value {
        match self.people.get(&id).filter(|_| self.names) {
            Some(e) => json!({
                "id": id.0,
                "name": e.display_name(),
                "firstName": e.data.first_name.as_str(),
                "lastName": e.data.last_name.as_str(),
            }),
            None => json!({ "id": id.0 }),
        }
    }
}

fn claim_status_name(id: i32) -> &'static str {
    match id {
        1 => "Créée",
        2 => "Partiellement approuvée",
        3 => "Approuvée",
        4 => "Contrôlée",
        5 => "Approuvée et contrôlée",
        6 => "Paiement initié",
        7 => "Payée",
        8 => "Refusée",
        _ => "Annulée",
    }
}

fn approval_state_name(id: i32) -> &'static str {
    match id {
        0 => "Non soumise",
        1 => "En attente d'approbation",
        2 => "Approuvée",
        _ => "Refusée",
    }
}

pub(super) fn claim_json(c: &ExpenseClaim, base: &str, ctx: &ClaimContext) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id.0));
    m.insert("name".into(), json!(c.name.as_str()));
    m.insert(
        "url".into(),
        json!(format!("{base}/api/v3/expenseClaims/{}", c.id)),
    );
    m.insert("ownerId".into(), json!(c.owner_id.0));
    m.insert("owner".into(), ctx.person(c.owner_id));
    m.insert("authorId".into(), json!(c.author_id.0));
    m.insert("author".into(), ctx.person(c.author_id));
    let owner = ctx.people.get(&c.owner_id).map(|e| &e.data);
    let department = owner.and_then(|d| d.department_id).map(|d| d.0);
    let establishment = owner.map(|d| d.establishment_id.0);
    m.insert("departmentId".into(), json!(department));
    m.insert(
        "department".into(),
        json!(department.map(|id| json!({ "id": id, "name": ctx.departments.get(&id) }))),
    );
    m.insert("legalEntityId".into(), json!(establishment));
    m.insert(
        "legalEntity".into(),
        json!(establishment.map(|id| json!({ "id": id, "name": ctx.establishments.get(&id) }))),
    );
    m.insert(
        "currency".into(),
        json!({ "id": c.currency.as_str(), "name": c.currency.as_str() }),
    );
    m.insert(
        "status".into(),
        json!({ "id": c.status.id(), "name": claim_status_name(c.status.id()) }),
    );
    m.insert(
        "approvalState".into(),
        json!({ "id": c.approval_state.id(), "name": approval_state_name(c.approval_state.id()) }),
    );
    // Claims are paid back to their owner; card payments are per item.
    m.insert(
        "paymentMethod".into(),
        json!({ "id": 0, "name": "Remboursement au collaborateur" }),
    );
    // What this key may do with the claim through the API: read it.
    m.insert("authorizedActions".into(), json!([]));
    m.insert("currencyId".into(), json!(c.currency.as_str()));
    m.insert("declaredOn".into(), json!(c.declared_on));
    m.insert("createdOn".into(), json!(c.created_at));
    m.insert("modifiedOn".into(), json!(c.modified_at));
    m.insert("statusId".into(), json!(c.status.id()));
    m.insert("approvalStateId".into(), json!(c.approval_state.id()));
    m.insert("paymentReceivedOn".into(), Value::Null);
    m
}

async fn claims(list: V3List) -> Result<Response, ApiError> {
    let q = list.query(&[])?;
    let (state, caller, headers) = list.into_parts();
    let query = q.list_query(&caller.scope, Resource::ExpenseClaims)?;
    let (store, base) = (&state.store, caller.base());
    let page = state
        .counts
        .page(&caller, "expense-claims", query, |query| async move {
            store.query_expense_claims(base, &query).await
        })
        .await?;
    let tree = q.fields_or(&["id", "name", "url"]);
    let base = base_url(&headers);
    let ctx = ClaimContext::load(&state, &caller, &page.items, &tree).await?;
    let items = page
        .items
        .iter()
        .map(|c| select_fields(claim_json(c, &base, &ctx), &tree))
        .collect();
    Ok(v3_list(items, page.count).into_response())
}

/// Axis sections by identifier, for `axisSections[id,axisId,code,name]`.
pub(super) type Sections = HashMap<i64, relais_core::expense::AxisSection>;

pub(super) fn item_json(i: &ExpenseItem, sections: &Sections) -> Map<String, Value> {
    let a = &i.amounts;
    let mut m = Map::new();
    m.insert("id".into(), json!(i.id.0));
    m.insert("expenseClaimId".into(), json!(i.claim_id.0));
    m.insert("ownerId".into(), json!(i.owner_id.0));
    m.insert("purchasedOn".into(), json!(i.purchased_on));
    m.insert("expenseNatureId".into(), json!(i.nature_id.0));
    m.insert("lineNumber".into(), json!(i.line_number));
    m.insert("quantity".into(), json!(i.quantity));
    m.insert("effectiveQuantity".into(), json!(i.quantity));
    let units = |minor: i64| minor as f64 / 100.0;
    m.insert("originalTransaction".into(), json!({ "grossAmount": units(a.gross), "currencyId": a.currency.as_str(), "isExpenseAbroad": false }));
    m.insert(
        "processedAmounts".into(),
        json!({
            "grossAmount": units(a.gross),
            "netAmount": units(a.net),
            "reimbursedAmount": units(a.reimbursed),
            "currencyId": a.currency.as_str(),
            "vatBases": [{ "countryVatRateId": null, "vatAmount": units(a.vat), "amountExcludingVat": units(a.net) }],
        }),
    );
    m.insert("amountsInMinorUnits".into(), json!({ "gross": a.gross, "net": a.net, "vat": a.vat, "reimbursed": a.reimbursed, "currencyId": a.currency.as_str() }));
    m.insert(
        "mileage".into(),
        i.mileage_km.map_or(
            Value::Null,
            |km| json!({ "distance": km, "power": null, "waypoints": [] }),
        ),
    );
    m.insert("attendees".into(), json!({ "internal": i.attendees.internal.iter().map(|e| json!({ "id": e.0 })).collect::<Vec<_>>(), "external": i.attendees.external }));
    m.insert(
        "axisSections".into(),
        json!(i
            .axis_sections
            .iter()
            .map(|s| match sections.get(&s.0) {
                Some(found) => json!({
                    "id": s.0,
                    "axisId": found.axis_id.0,
                    "code": found.code,
                    "name": found.name.as_str(),
                }),
                None => json!({ "id": s.0 }),
            })
            .collect::<Vec<_>>()),
    );
    m.insert(
        "warnings".into(),
        json!(i.warnings.iter().map(|w| w.as_str()).collect::<Vec<_>>()),
    );
    // Where the item was entered: relais's own API and pages.
    m.insert("source".into(), json!({ "id": 1, "name": "relais" }));
    m.insert("paymentMethodId".into(), json!(i.payment_method.id()));
    m.insert("isControlled".into(), json!(i.controlled));
    m.insert("createdOn".into(), json!(i.created_at));
    m.insert("modifiedOn".into(), json!(i.modified_at));
    m.insert("comment".into(), json!(i.comment));
    m.insert("merchant".into(), json!(i.merchant));
    m
}

async fn items(list: V3List) -> Result<Response, ApiError> {
    let q = list.query(&[])?;
    let (state, caller, _) = list.into_parts();
    let query = q.list_query(&caller.scope, Resource::ExpenseItems)?;
    let (store, base) = (&state.store, caller.base());
    let page = state
        .counts
        .page(&caller, "expense-items", query, |query| async move {
            store.query_expense_items(base, &query).await
        })
        .await?;
    let tree = q.fields_or(&[
        "id",
        "expenseClaimId",
        "purchasedOn",
        "expenseNatureId",
        "processedAmounts",
    ]);
    // Axis sections are read only when more than their identifiers is asked.
    let sections: Sections = match tree.get("axisSections") {
        Some(sub) if sub.is_empty() || sub.names().any(|n| !n.eq_ignore_ascii_case("id")) => state
            .store
            .list_axis_sections(caller.base())
            .await?
            .into_iter()
            .map(|s| (s.id.0, s))
            .collect(),
        _ => HashMap::new(),
    };
    let items = page
        .items
        .iter()
        .map(|i| select_fields(item_json(i, &sections), &tree))
        .collect();
    Ok(v3_list(items, page.count).into_response())
}

async fn natures(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Pairs(pairs): Pairs,
) -> Result<Response, ApiError> {
    let (items, count) = nature_items(&state, &caller, &pairs, false).await?;
    Ok(v3_list(items, count).into_response())
}

/// `GET /api/expenseNatures`, in the envelope of Lucca's older endpoints.
async fn natures_legacy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Pairs(pairs): Pairs,
) -> Result<Response, ApiError> {
    let (items, count) = nature_items(&state, &caller, &pairs, true).await?;
    Ok(super::answer::legacy_list(items, count.unwrap_or_default()).into_response())
}

async fn nature_items(
    state: &AppState,
    caller: &Caller,
    pairs: &[(String, String)],
    always_count: bool,
) -> Result<(Vec<Value>, Option<i64>), ApiError> {
    let mut q = V3Query::parse(pairs, &[])?;
    q.count |= always_count;
    let query = q.list_query(&caller.scope, Resource::ExpenseNatures)?;
    let page = state
        .store
        .query_expense_natures(caller.base(), &query)
        .await?;
    let tree = q.fields_or(&["id", "name", "multilingualName", "type", "isEnabled", "cap"]);
    let items = page
        .items
        .iter()
        .map(|n| {
            let mut m = Map::new();
            m.insert("id".into(), json!(n.id.0));
            m.insert("name".into(), json!(n.name.as_str()));
            m.insert("multilingualName".into(), json!({ "fr-FR": n.name.as_str() }));
            m.insert(
                "type".into(),
                if n.mileage {
                    json!({ "id": 2, "tag": "mileage", "label": "Indemnités kilométriques" })
                } else {
                    json!({ "id": 1, "tag": "standard", "label": "Standard" })
                },
            );
            m.insert("isEnabled".into(), json!(n.enabled));
            m.insert("cap".into(), n.cap.map_or(Value::Null, |c| json!({ "amount": c.minor as f64 / 100.0, "currencyId": c.currency.as_str() })));
            select_fields(m, &tree)
        })
        .collect();
    Ok((items, page.count))
}

async fn axis_json(
    state: &AppState,
    caller: &Caller,
    axis: &relais_core::expense::Axis,
) -> Result<Value, ApiError> {
    let conditions = vec![Condition::in_axis(axis.id)];
    let sections = state
        .store
        .query_axis_sections(
            caller.base(),
            &ListQuery {
                conditions,
                ..ListQuery::default()
            },
        )
        .await?
        .items;
    Ok(json!({
        "id": axis.id.0,
        "name": axis.name.as_str(),
        "code": axis.code,
        "axisSections": sections.iter().map(|s| json!({ "id": s.id.0, "axisId": s.axis_id.0, "code": s.code, "name": s.name.as_str() })).collect::<Vec<_>>(),
    }))
}

async fn axes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let mut items = Vec::new();
    for axis in state.store.list_axes(caller.base()).await? {
        items.push(axis_json(&state, &caller, &axis).await?);
    }
    Ok(v3_list(items, None).into_response())
}

async fn axis(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let axes = state.store.list_axes(caller.base()).await?;
    let axis = axes
        .iter()
        .find(|a| a.id.0.to_string() == id)
        .ok_or_else(|| ApiError::NotFound(format!("no analytics axis {id}")))?;
    Ok(v3_item(axis_json(&state, &caller, axis).await?).into_response())
}
