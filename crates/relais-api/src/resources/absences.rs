//! Absences: leave accounts, half-day leaves, leave requests (periods and
//! their workflow), and the CSV import of leave periods.

use super::answer::{base_url, select_fields, v3_item, v3_list};
use super::body;
use super::extract::{JsonBody, Keyed, Pairs, V3List};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::need::{Need, Routes};
use crate::query::{filter_field, FieldTree, FilterOp};
use crate::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use chrono::NaiveDate;
use relais_core::absence::{
    AbsenceAccount, AbsenceCategory, AbsenceUnit, LeaveId, LeavePeriod, LeaveSource, LeaveSpan,
    LeaveStatus, NewLeavePeriod,
};
use relais_core::access::{Permission, Role};
use relais_core::calendar::{HalfDay, HalfDaySlot, WorkCalendar};
use relais_core::fields::{leave_requests, users, Resource};
use relais_core::ids::{AbsenceAccountId, EmployeeId};
use relais_core::DomainError;
use relais_store::{Cond, Condition, Direction, ListQuery, SqlValue};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    let reading = Need::Either(Permission::Absences, Permission::AbsenceRequests);
    let requesting = Need::Grant(Permission::AbsenceRequests);
    Routes::new()
        .records(
            "/api/v3/leaveAccounts",
            reading,
            "absence account",
            accounts,
        )
        .get("/api/v3/leaves", Need::Grant(Permission::Absences), leaves)
        .get(
            "/api/v3/leaves/{id}",
            Need::Grant(Permission::Absences),
            one_leave,
        )
        .get("/api/v3/leaveRequests", reading, requests)
        .post("/api/v3/leaveRequests", requesting, create_request)
        .get("/api/v3/leaveRequests/{id}", reading, one_request)
        .post("/api/v3/leaveRequests/{id}/{action}", requesting, act)
        .add(
            "post",
            "/timmi-absences/api/imports/v1.0/leavePeriods",
            requesting,
            // The multipart envelope around the file needs a little more room.
            axum::routing::post(import)
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY_LIMIT))
                .layer(axum::middleware::from_fn(|request, next| {
                    super::extract::refuse_oversized(
                        IMPORT_BODY_LIMIT,
                        "file",
                        IMPORT_FILE_LIMIT,
                        request,
                        next,
                    )
                })),
        )
}

/// The number of an account category in the API.
fn category_id(c: AbsenceCategory) -> i64 {
    AbsenceCategory::ALL
        .iter()
        .position(|x| *x == c)
        .map_or(0, |i| i as i64 + 1)
}

fn account_json(a: &AbsenceAccount) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.id.0));
    m.insert("name".into(), json!(a.name.as_str()));
    m.insert("categoryId".into(), json!(category_id(a.category)));
    m.insert("categoryName".into(), json!(a.category.label()));
    m.insert("category".into(), json!(a.category.as_str()));
    m.insert("unit".into(), json!(a.unit.as_str()));
    m.insert("isActive".into(), json!(a.active));
    m
}

async fn accounts(list: V3List) -> Result<Response, ApiError> {
    let q = list.query(&[])?;
    let (state, caller, _) = list.into_parts();
    let query = q.list_query(&caller.scope, Resource::LeaveAccounts)?;
    let page = state
        .store
        .query_absence_accounts(caller.base(), &query)
        .await?;
    let tree = q.fields_or(&[
        "id",
        "name",
        "categoryId",
        "categoryName",
        "unit",
        "isActive",
    ]);
    let items = page
        .items
        .iter()
        .map(|a| select_fields(account_json(a), &tree))
        .collect();
    Ok(v3_list(items, page.count).into_response())
}

/// A `date` filter of `/api/v3/leaves`, for messages and documentation.
pub const DATE_EXAMPLE: &str = "between,2026-01-01,2026-01-31";

/// A date window from the `date` filter of `/api/v3/leaves`.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl Window {
    fn parse(op: &FilterOp) -> Result<Self, ApiError> {
        let d = |raw: &str| {
            crate::query::parse_date(raw).ok_or_else(|| ApiError::BadRequest {
                parameter: "date".into(),
                message: format!("'{raw}' is not a date YYYY-MM-DD"),
            })
        };
        Ok(match op {
            FilterOp::Eq(x) => Window {
                from: Some(d(x)?),
                to: Some(d(x)?),
            },
            FilterOp::Since(x) | FilterOp::GreaterThanOrEqual(x) => Window {
                from: Some(d(x)?),
                to: None,
            },
            FilterOp::Until(x) | FilterOp::LessThanOrEqual(x) => Window {
                from: None,
                to: Some(d(x)?),
            },
            FilterOp::Between(a, b) => Window {
                from: Some(d(a)?),
                to: Some(d(b)?),
            },
            _ => {
                return Err(ApiError::BadRequest {
                    parameter: "date".into(),
                    message: "date takes a day, since,<day>, until,<day> or between,<from>,<to>"
                        .into(),
                })
            }
        })
    }

    fn conditions(&self) -> Vec<Condition> {
        let mut out = Vec::new();
        if let Some(from) = self.from {
            out.push(Condition::new(
                &leave_requests::END_DATE,
                Cond::Gte(SqlValue::Date(from)),
            ));
        }
        if let Some(to) = self.to {
            out.push(Condition::new(
                &leave_requests::START_DATE,
                Cond::Lte(SqlValue::Date(to)),
            ));
        }
        out
    }

    fn contains(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}

/// The base's absence accounts, by identifier.
pub(super) async fn accounts_by_id(
    state: &AppState,
    caller: &Caller,
) -> Result<HashMap<AbsenceAccountId, AbsenceAccount>, ApiError> {
    let accounts = state.store.list_absence_accounts(caller.base()).await?;
    Ok(accounts.into_iter().map(|a| (a.id, a)).collect())
}

/// One leave request in the API's shape, with its account and its owner's
/// working calendar, as `GET /api/v3/leaveRequests/{id}` answers it.
async fn one_request_json(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    p: &LeavePeriod,
) -> Result<Value, ApiError> {
    let accounts = accounts_by_id(state, caller).await?;
    let cals = calendars(state, caller, std::slice::from_ref(p)).await?;
    Ok(Value::Object(request_json(
        p,
        accounts.get(&p.account_id),
        &base_url(headers),
        cals.get(&p.employee_id),
    )))
}

/// The working calendar of each employee's establishment, for these periods.
async fn calendars(
    state: &AppState,
    caller: &Caller,
    periods: &[LeavePeriod],
) -> Result<HashMap<EmployeeId, WorkCalendar>, ApiError> {
    let mut ids: Vec<EmployeeId> = periods.iter().map(|p| p.employee_id).collect();
    ids.sort();
    ids.dedup();
    Ok(state
        .store
        .calendars_of(caller.base(), &ids)
        .await?
        .into_iter()
        .collect())
}

fn leave_json(
    p: &LeavePeriod,
    slot: HalfDaySlot,
    account: Option<&AbsenceAccount>,
    calendar: &WorkCalendar,
    tree: &FieldTree,
) -> Value {
    // Only what is asked for is built: a walk of leaves serialises
    // hundreds of thousands of them.
    let want = |name: &str| tree.is_empty() || tree.has(name);
    let hours = account.is_some_and(|a| a.unit == AbsenceUnit::Hours);
    let mut m = Map::new();
    if want("id") {
        m.insert(
            "id".into(),
            json!(LeaveId {
                owner: p.employee_id,
                slot
            }
            .to_string()),
        );
    }
    if want("date") {
        m.insert("date".into(), json!(slot.date));
    }
    if want("isAM") {
        m.insert("isAM".into(), json!(slot.half == HalfDay::Am));
    }
    if want("leaveAccountId") {
        m.insert("leaveAccountId".into(), json!(p.account_id.0));
    }
    if want("leaveAccount") {
        m.insert(
            "leaveAccount".into(),
            json!({ "id": p.account_id.0, "name": account.map(|a| a.name.as_str()) }),
        );
    }
    if want("leavePeriodId") {
        m.insert("leavePeriodId".into(), json!(p.id.0));
    }
    if want("leavePeriod") {
        let mut period = Map::new();
        period.insert("id".into(), json!(p.id.0));
        period.insert("ownerId".into(), json!(p.employee_id.0));
        period.insert(
            "isConfirmed".into(),
            json!(p.status == LeaveStatus::Approved),
        );
        period.insert(
            "confirmationDate".into(),
            json!((p.status == LeaveStatus::Approved).then_some(p.modified_at)),
        );
        period.insert("status".into(), json!(p.status.api_code()));
        if let Some(sub) = tree.get("leavePeriod") {
            if sub.has("leaves") {
                period.insert("leaves".into(), period_leaves(p, calendar));
            }
            if sub.has("logs") {
                period.insert("logs".into(), period_logs(p));
            }
        }
        let period = match tree.get("leavePeriod") {
            Some(sub) if !sub.is_empty() => {
                Value::Object(period.into_iter().filter(|(k, _)| sub.has(k)).collect())
            }
            _ => Value::Object(period),
        };
        m.insert("leavePeriod".into(), period);
    }
    if want("value") {
        m.insert("value".into(), if hours { json!(4) } else { json!(0.5) });
    }
    if want("creationDate") {
        m.insert("creationDate".into(), json!(p.created_at));
    }
    if want("modifiedAt") {
        m.insert("modifiedAt".into(), json!(p.modified_at));
    }
    if want("isActive") {
        m.insert("isActive".into(), json!(p.status.occupies_calendar()));
    }
    if want("cancellationDate") {
        m.insert("cancellationDate".into(), json!(p.cancelled_at));
    }
    if want("cancellationUserId") {
        m.insert("cancellationUserId".into(), Value::Null);
    }
    if want("comment") {
        m.insert("comment".into(), json!(p.comment));
    }
    select_fields(m, tree)
}

const LEAVE_DEFAULT_FIELDS: &[&str] = &[
    "id",
    "date",
    "isAM",
    "leaveAccountId",
    "leavePeriodId",
    "leavePeriod",
    "value",
    "isActive",
    "cancellationDate",
];

async fn leaves(list: V3List) -> Result<Response, ApiError> {
    let mut q = list.query(&[])?;
    let (state, caller, _) = list.into_parts();
    let date_at = q
        .filters
        .iter()
        .position(|(k, _)| k == "date")
        .ok_or_else(|| ApiError::BadRequest {
            parameter: "date".into(),
            message: format!(
                "a date filter is required, e.g. date={DATE_EXAMPLE} or date=since,2000-01-01"
            ),
        })?;
    let window = Window::parse(&q.filters.remove(date_at).1)?;
    let owner_filters = [
        "leavePeriod.ownerId",
        "leavePeriod.owner.departmentId",
        "leavePeriod.owner.legalEntityId",
    ];
    if !q
        .filters
        .iter()
        .any(|(k, _)| owner_filters.iter().any(|o| o.eq_ignore_ascii_case(k)))
    {
        return Err(ApiError::BadRequest {
            parameter: "leavePeriod.ownerId".into(),
            message: format!("one of {} is required", owner_filters.join(", ")),
        });
    }
    let conditions = leave_conditions(&window, &q.filters)?;
    let tree = q.fields_or(LEAVE_DEFAULT_FIELDS);
    let accounts = accounts_by_id(&state, &caller).await?;
    // Walk the periods in identifier order, expanding each into its half-day
    // leaves. A walk (same key, filters and window) remembers its count and
    // where each page it served ends, so its next page starts there instead
    // of expanding every leave before it.
    let walk = format!(
        "leaves:{:?}:{conditions:?}:{:?}:{:?}",
        caller.scope, window.from, window.to
    );
    let (base, key) = (caller.base(), caller.key.id);
    // A first page without a count uses nothing remembered: it reads no
    // data version and leaves nothing behind (as the other lists).
    let version = if q.count || q.offset > 0 {
        Some(caller.data_version)
    } else {
        None
    };
    let (known_count, cursor) = match version {
        Some(version) => state.counts.recall(base, key, &walk, version, q.offset),
        None => (None, None),
    };
    // A count not known yet is counted from the first leave: the cursor,
    // which would skip what comes before, is not used then.
    let cursor = cursor.filter(|_| !q.count || known_count.is_some());
    let (mut after, mut skip) = match cursor.as_deref() {
        // Start at period `at` (included), past `skip` of its leaves.
        Some([at, skip]) => (at - 1, u64::try_from(*skip).unwrap_or(0)),
        _ => (0, q.offset),
    };
    let positioned = cursor.is_some();
    let want_count = q.count && known_count.is_none();
    let limit = q.limit as usize;
    let mut items = Vec::new();
    let mut next_cursor = None;
    // Leaves before the page (when counting from the start).
    let mut before: u64 = 0;
    let mut after_page: u64 = 0;
    // A period holds a few leaves: read about as many periods as the page
    // needs, more only when counting or skipping.
    let batch = if want_count || !positioned && skip > 0 {
        500
    } else {
        (q.limit / 4).clamp(16, 500)
    };
    'walk: loop {
        let mut page_conditions = conditions.clone();
        page_conditions.push(Condition::new(
            &leave_requests::ID,
            Cond::Gt(SqlValue::Int(after)),
        ));
        let page_query = ListQuery {
            scope: caller.scope.clone(),
            conditions: page_conditions,
            order: vec![(&leave_requests::ID, Direction::Asc)],
            offset: 0,
            limit: batch,
            count: false,
            without: Vec::new(),
        };
        let periods = state
            .store
            .query_leave_periods(base, &page_query)
            .await?
            .items;
        let Some(last) = periods.last() else { break };
        after = last.id.0;
        let cals = calendars(&state, &caller, &periods).await?;
        for p in &periods {
            let cal = cals.get(&p.employee_id).copied().unwrap_or_default();
            let slots = p.span.leaves(&cal);
            for (index, slot) in slots
                .into_iter()
                .filter(|s| window.contains(s.date))
                .enumerate()
            {
                if skip > 0 {
                    skip -= 1;
                    before += 1;
                    continue;
                }
                if items.len() < limit {
                    items.push(leave_json(
                        p,
                        slot,
                        accounts.get(&p.account_id),
                        &cal,
                        &tree,
                    ));
                    continue;
                }
                if next_cursor.is_none() {
                    next_cursor = Some(vec![p.id.0, index as i64]);
                }
                if !want_count {
                    break 'walk;
                }
                after_page += 1;
            }
        }
    }
    let count = if want_count {
        Some((before + items.len() as u64 + after_page) as i64)
    } else {
        known_count
    };
    let next_offset = q.offset + items.len() as u64;
    if let Some(version) = version {
        state.counts.remember(
            base,
            key,
            &walk,
            version,
            count,
            next_cursor.map(|c| (next_offset, c)),
        );
    }
    Ok(v3_list(items, count.filter(|_| q.count)).into_response())
}

/// The conditions on leave periods of the leaves in `window` that `filters`
/// admit, each filter read as the list reads it.
fn leave_conditions(
    window: &Window,
    filters: &[(String, FilterOp)],
) -> Result<Vec<Condition>, ApiError> {
    let mut conditions = window.conditions();
    for (name, op) in filters {
        conditions.extend(crate::query::condition(
            filter_field(Resource::Leaves, name)?,
            name,
            op,
        )?);
    }
    Ok(conditions)
}

/// `GET /api/v3/leaves/{id}`: one half-day leave, `{id}` as the list
/// writes it (`<ownerId>-<yyyyMMdd>-AM|PM`), with the list's `fields` and
/// filters. Where periods of the owner that day overlap (one cancelled, a
/// later one approved), the leave that holds the calendar is the one
/// answered, or else the latest. A leave of an employee the key does not see
/// is not found, as a missing one.
async fn one_leave(list: V3List, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id: LeaveId = raw
        .parse()
        .map_err(|e: relais_core::DomainError| ApiError::BadRequest {
            parameter: "id".into(),
            message: e.message,
        })?;
    let mut q = list.query(&[])?;
    let (state, caller, _) = list.into_parts();
    let day = Window {
        from: Some(id.slot.date),
        to: Some(id.slot.date),
    };
    let mut filters = std::mem::take(&mut q.filters);
    filters.push((
        "leavePeriod.ownerId".into(),
        FilterOp::Eq(id.owner.to_string()),
    ));
    let conditions = leave_conditions(&day, &filters)?;
    let missing = || ApiError::NotFound(format!("no leave {raw} visible to this key"));
    // One employee's periods over one day: a handful at most.
    let periods = state
        .store
        .query_leave_periods(
            caller.base(),
            &ListQuery {
                scope: caller.scope.clone(),
                conditions,
                order: vec![(&leave_requests::ID, Direction::Asc)],
                offset: 0,
                limit: 1000,
                count: false,
                without: Vec::new(),
            },
        )
        .await?
        .items;
    let cals = calendars(&state, &caller, &periods).await?;
    let cal = cals.get(&id.owner).copied().unwrap_or_default();
    let period = periods
        .iter()
        .filter(|p| p.employee_id == id.owner && p.span.leaves(&cal).contains(&id.slot))
        .max_by_key(|p| (p.status.occupies_calendar(), p.id.0))
        .ok_or_else(missing)?;
    let accounts = accounts_by_id(&state, &caller).await?;
    let json = leave_json(
        period,
        id.slot,
        accounts.get(&period.account_id),
        &cal,
        &q.fields_or(LEAVE_DEFAULT_FIELDS),
    );
    Ok(super::answer::listed(v3_item(json), 1))
}

/// The leaves of a period, as `leavePeriod.leaves` lists them.
fn period_leaves(p: &LeavePeriod, calendar: &WorkCalendar) -> Value {
    Value::Array(
        p.span
            .leaves(calendar)
            .into_iter()
            .map(|slot| {
                json!({
                    "id": LeaveId { owner: p.employee_id, slot }.to_string(),
                    "date": slot.date,
                    "isAM": slot.half == HalfDay::Am,
                })
            })
            .collect(),
    )
}

/// What happened to a period, as `leavePeriod.logs` lists it: its creation,
/// then its approval, refusal or cancellation.
fn period_logs(p: &LeavePeriod) -> Value {
    let mut logs = vec![
        json!({ "id": p.id.0 * 10, "action": "creation", "date": p.created_at, "comment": p.comment }),
    ];
    let last = match p.status {
        LeaveStatus::Approved => Some(("approval", p.modified_at)),
        LeaveStatus::Denied => Some(("refusal", p.modified_at)),
        LeaveStatus::Cancelled => Some(("cancellation", p.cancelled_at.unwrap_or(p.modified_at))),
        LeaveStatus::Pending => None,
    };
    if let Some((action, date)) = last {
        logs.push(
            json!({ "id": p.id.0 * 10 + 1, "action": action, "date": date, "comment": null }),
        );
    }
    Value::Array(logs)
}

pub(super) fn request_json(
    p: &LeavePeriod,
    account: Option<&AbsenceAccount>,
    base: &str,
    calendar: Option<&WorkCalendar>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id.0));
    // A leave request and its leave period are one record in relais.
    m.insert("leavePeriodId".into(), json!(p.id.0));
    m.insert(
        "leavePeriod".into(),
        json!({
            "id": p.id.0,
            "ownerId": p.employee_id.0,
            "owner": { "id": p.employee_id.0 },
            "startDate": p.span.start.date,
            "endDate": p.span.end.date,
            "isConfirmed": p.status == LeaveStatus::Approved,
            "leaves": calendar.map_or(Value::Null, |c| period_leaves(p, c)),
            "logs": period_logs(p),
        }),
    );
    m.insert(
        "url".into(),
        json!(format!("{base}/api/v3/leaveRequests/{}", p.id)),
    );
    m.insert("ownerId".into(), json!(p.employee_id.0));
    m.insert("leaveAccountId".into(), json!(p.account_id.0));
    m.insert(
        "leaveAccount".into(),
        json!({ "id": p.account_id.0, "name": account.map(|a| a.name.as_str()) }),
    );
    m.insert("startDate".into(), json!(p.span.start.date));
    m.insert("startDateHalf".into(), json!(p.span.start.half));
    m.insert("endDate".into(), json!(p.span.end.date));
    m.insert("endDateHalf".into(), json!(p.span.end.half));
    m.insert("halfDays".into(), json!(p.half_days));
    m.insert("duration".into(), json!(f64::from(p.half_days) / 2.0));
    m.insert("status".into(), json!(p.status.api_code()));
    m.insert("isActive".into(), json!(p.status.occupies_calendar()));
    m.insert("comment".into(), json!(p.comment));
    m.insert("source".into(), json!(p.source.code()));
    m.insert("creationDate".into(), json!(p.created_at));
    m.insert("modifiedAt".into(), json!(p.modified_at));
    m.insert("cancellationDate".into(), json!(p.cancelled_at));
    let approvals = match p.status {
        LeaveStatus::Approved => {
            json!([{ "id": p.id.0, "approverId": null, "approved": true, "comment": null, "date": p.modified_at }])
        }
        LeaveStatus::Denied => {
            json!([{ "id": p.id.0, "approverId": null, "approved": false, "comment": null, "date": p.modified_at }])
        }
        _ => json!([]),
    };
    m.insert("approvals".into(), approvals);
    m.insert(
        "cancellationRequests".into(),
        match (p.status, p.cancelled_at) {
            (LeaveStatus::Cancelled, Some(at)) => {
                json!([{ "id": p.id.0, "creationDate": at, "isApproved": true, "comment": null }])
            }
            _ => json!([]),
        },
    );
    m.insert("nextApproverId".into(), Value::Null);
    m
}

const REQUEST_DEFAULT_FIELDS: &[&str] = &[
    "id",
    "url",
    "ownerId",
    "leaveAccountId",
    "startDate",
    "startDateHalf",
    "endDate",
    "endDateHalf",
    "status",
];

/// The codes `status=` takes on `/api/v3/leaveRequests`, as people read them.
pub const STATUS_CODES: &str = "0 pending, 2 approved, 3 denied or 4 cancelled";

fn status_condition(raw: &str) -> Result<Condition, ApiError> {
    let statuses = raw
        .split(',')
        .map(|code| match code.trim() {
            "0" => Ok(LeaveStatus::Pending),
            "2" => Ok(LeaveStatus::Approved),
            "3" => Ok(LeaveStatus::Denied),
            "4" => Ok(LeaveStatus::Cancelled),
            other => Err(ApiError::BadRequest {
                parameter: "status".into(),
                message: format!("'{other}' is not a status: use {STATUS_CODES}"),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Condition::new(
        &leave_requests::STATUS,
        Cond::In(
            statuses
                .into_iter()
                .map(|s| SqlValue::Text(s.as_str().to_owned()))
                .collect(),
        ),
    ))
}

async fn requests(list: V3List) -> Result<Response, ApiError> {
    let q = list.query(&["status"])?;
    let (state, caller, headers) = list.into_parts();
    let mut query = q.list_query(&caller.scope, Resource::LeaveRequests)?;
    if let Some(raw) = q.options.get("status") {
        query.conditions.push(status_condition(raw)?);
    }
    let (store, base) = (&state.store, caller.base());
    let page = state
        .counts
        .page(&caller, "leave-requests", query, |query| async move {
            store.query_leave_periods(base, &query).await
        })
        .await?;
    let accounts = accounts_by_id(&state, &caller).await?;
    let tree = q.fields_or(REQUEST_DEFAULT_FIELDS);
    let base = base_url(&headers);
    // The period's leaves need each owner's working calendar: read only when asked.
    let cals = match tree.get("leavePeriod") {
        Some(sub) if sub.is_empty() || sub.has("leaves") => {
            calendars(&state, &caller, &page.items).await?
        }
        _ => HashMap::new(),
    };
    let items = page
        .items
        .iter()
        .map(|p| {
            let json = request_json(
                p,
                accounts.get(&p.account_id),
                &base,
                cals.get(&p.employee_id),
            );
            select_fields(json, &tree)
        })
        .collect();
    Ok(v3_list(items, page.count).into_response())
}

async fn visible_period(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> Result<LeavePeriod, ApiError> {
    let id: i64 = raw.parse().map_err(|_| ApiError::BadRequest {
        parameter: "id".into(),
        message: format!("'{raw}' is not a leave request identifier"),
    })?;
    let page = state
        .store
        .query_leave_periods(
            caller.base(),
            &ListQuery::one(caller.scope.clone(), &leave_requests::ID, id),
        )
        .await?;
    page.first()
        .ok_or_else(|| ApiError::NotFound(format!("no leave request {id} visible to this key")))
}

async fn one_request(keyed: Keyed, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (state, caller, headers) = keyed.into_parts();
    let p = visible_period(&state, &caller, &id).await?;
    let json = one_request_json(&state, &caller, &headers, &p).await?;
    Ok(v3_item(json).into_response())
}

fn check_account(role: &Role, account: AbsenceAccountId) -> Result<(), ApiError> {
    role.require(Permission::AbsenceRequests)?;
    if role.may_request_on(account) {
        Ok(())
    } else {
        Err(ApiError::ForbiddenBecause(format!(
            "this key may not request absences on account {account}"
        )))
    }
}

/// An owner outside the key's scope is answered as a missing one: 404.
async fn check_owner(state: &AppState, caller: &Caller, owner: EmployeeId) -> Result<(), ApiError> {
    let include_former = caller.role().has(Permission::FormerEmployees);
    super::users::visible_employee(&state.store, caller, owner.0, include_former).await?;
    Ok(())
}

fn source_of(caller: &Caller) -> LeaveSource {
    LeaveSource::Integration(caller.key.name.to_string())
}

fn half(
    body: &Map<String, Value>,
    field: &'static str,
    default: HalfDay,
) -> Result<HalfDay, ApiError> {
    match body::text(body, field)? {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|e: DomainError| DomainError::new(field, e.message).into()),
    }
}

/// The members a new leave request takes (the OpenAPI document lists them
/// from here).
pub const REQUEST_MEMBERS: &[&str] = &[
    "leaveAccountId",
    "ownerId",
    "startDate",
    "startDateHalf",
    "endDate",
    "endDateHalf",
    "isApproved",
    "comment",
];

async fn create_request(keyed: Keyed, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let (state, caller, headers) = keyed.into_parts();
    body::only(&body, &[REQUEST_MEMBERS], "a leave request")?;
    let required = |field: &'static str, what: &str| -> ApiError {
        DomainError::new(field, format!("is required ({what})")).into()
    };
    let member_id = |field| body::id(&body, field)?.ok_or_else(|| required(field, "an identifier"));
    let member_date =
        |field| body::date(&body, field)?.ok_or_else(|| required(field, "YYYY-MM-DD"));
    let account = AbsenceAccountId(member_id("leaveAccountId")?);
    check_account(caller.role(), account)?;
    let owner = EmployeeId(member_id("ownerId")?);
    check_owner(&state, &caller, owner).await?;
    let start = HalfDaySlot::new(
        member_date("startDate")?,
        half(&body, "startDateHalf", HalfDay::Am)?,
    );
    let end = HalfDaySlot::new(
        member_date("endDate")?,
        half(&body, "endDateHalf", HalfDay::Pm)?,
    );
    let approved = body::flag(&body, "isApproved")?.unwrap_or(false);
    let comment = body::text(&body, "comment")?.map(str::to_owned);
    let new = NewLeavePeriod {
        employee_id: owner,
        account_id: account,
        span: LeaveSpan::new(start, end)?,
        status: if approved {
            LeaveStatus::Approved
        } else {
            LeaveStatus::Pending
        },
        comment,
        source: source_of(&caller),
    };
    let p = state.store.create_leave_period(caller.base(), &new).await?;
    let json = one_request_json(&state, &caller, &headers, &p).await?;
    Ok((StatusCode::CREATED, v3_item(json)).into_response())
}

async fn act(
    keyed: Keyed,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (state, caller, headers) = keyed.into_parts();
    let status = match action.as_str() {
        "approve" | "approvals" => LeaveStatus::Approved,
        "deny" | "refuse" => LeaveStatus::Denied,
        "cancel" | "cancellation" => LeaveStatus::Cancelled,
        other => {
            return Err(ApiError::NotFound(format!(
                "no action '{other}' on leave requests: use approve, deny or cancel"
            )))
        }
    };
    let p = visible_period(&state, &caller, &id).await?;
    check_account(caller.role(), p.account_id)?;
    let p = state
        .store
        .set_leave_status(caller.base(), p.id, status)
        .await?;
    let json = one_request_json(&state, &caller, &headers, &p).await?;
    Ok(v3_item(json).into_response())
}

/// One line of an import, parsed.
struct ImportLine {
    line: usize,
    result: Result<NewLeavePeriod, String>,
}

const IMPORT_COLUMNS: [&str; 10] = [
    "legalEntity",
    "employeeNumber",
    "lastName",
    "firstName",
    "accountId",
    "startDate",
    "flagStartDate",
    "endDate",
    "flagEndDate",
    "isApproved",
];

async fn import(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Pairs(pairs): Pairs,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let create = match pairs
        .iter()
        .find(|(k, _)| k == "create")
        .map(|(_, v)| v.as_str())
    {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::BadRequest {
                parameter: "create".into(),
                message: format!("'{other}' is not true or false"),
            })
        }
    };
    // The file is the first part of the form, whatever its name.
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                what: "file",
                limit: IMPORT_FILE_LIMIT,
            }
        } else {
            ApiError::BadRequest {
                parameter: "file".into(),
                message: format!("the multipart body is malformed: {}", e.body_text()),
            }
        }
    };
    let field = multipart
        .next_field()
        .await
        .map_err(multipart_error)?
        .ok_or_else(|| ApiError::BadRequest {
            parameter: "file".into(),
            message: "the request holds no file".into(),
        })?;
    let bytes = field.bytes().await.map_err(multipart_error)?;
    if bytes.len() > IMPORT_FILE_LIMIT {
        return Err(ApiError::PayloadTooLarge {
            what: "file",
            limit: IMPORT_FILE_LIMIT,
        });
    }
    let rows = read_import_file(&bytes)?;

    let base = caller.base();
    let establishments = state.store.list_establishments(base).await?;
    let accounts = state.store.list_absence_accounts(base).await?;
    let mut parsed = Vec::new();
    for (line, cells) in rows {
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        let result = parse_import_line(&state, &caller, &cells, &establishments, &accounts).await?;
        parsed.push(ImportLine { line, result });
    }
    // Check each line against the base and against the lines above it.
    let mut accepted: Vec<(EmployeeId, LeaveSpan)> = Vec::new();
    let mut report = Vec::new();
    let mut errors = 0;
    for l in &mut parsed {
        if let Ok(new) = &l.result {
            let clash = accepted
                .iter()
                .any(|(e, s)| *e == new.employee_id && s.overlaps(&new.span));
            let mut conditions = vec![Condition::is(&leave_requests::OWNER_ID, new.employee_id.0)];
            conditions.extend(Condition::leave_overlapping(&new.span));
            conditions.extend([Condition::new(
                &leave_requests::STATUS,
                Cond::In(vec![
                    SqlValue::Text("pending".into()),
                    SqlValue::Text("approved".into()),
                ]),
            )]);
            let existing = state
                .store
                .query_leave_periods(
                    base,
                    &ListQuery {
                        conditions,
                        limit: 1,
                        ..ListQuery::default()
                    },
                )
                .await?
                .items;
            if clash {
                l.result = Err("overlaps a period on an earlier line of this file".into());
            } else if let Some(p) = existing.first() {
                l.result = Err(format!(
                    "overlaps leave period {} ({} {} to {} {})",
                    p.id, p.span.start.date, p.span.start.half, p.span.end.date, p.span.end.half
                ));
            } else {
                accepted.push((new.employee_id, new.span));
            }
        }
        match &l.result {
            Ok(_) => report.push(json!({ "line": l.line, "status": "ok" })),
            Err(message) => {
                errors += 1;
                report.push(json!({ "line": l.line, "status": "error", "message": message }));
            }
        }
    }
    let mut created = Vec::new();
    if create && errors == 0 {
        // One transaction: a line refused now (another request took its
        // half days since it was read) leaves the base as it was.
        let new: Vec<NewLeavePeriod> = parsed
            .iter()
            .filter_map(|l| l.result.as_ref().ok().cloned())
            .collect();
        created = state.store.create_leave_periods(base, &new).await?;
        for (entry, p) in report.iter_mut().zip(&created) {
            entry["leavePeriodId"] = json!(p.id.0);
        }
    }
    let body = json!({ "data": {
        "simulated": !create,
        "lines": parsed.len(),
        "errors": errors,
        "created": created.len(),
        "report": report,
    }});
    let status = if errors > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(body)).into_response())
}

/// The JSON schema of an import's answer (`data`), for the OpenAPI
/// document: written beside the code that answers it. An import with a
/// line in error answers the same with 422, and creates nothing.
pub fn import_schema() -> Value {
    json!({
        "type": "object",
        "required": ["simulated", "lines", "errors", "created", "report"],
        "properties": {
            "simulated": { "type": "boolean", "description": "true when create=false: nothing was written" },
            "lines": { "type": "integer", "description": "the file's data lines" },
            "errors": { "type": "integer", "description": "lines refused" },
            "created": { "type": "integer", "description": "leave periods created" },
            "report": { "type": "array", "items": {
                "type": "object",
                "required": ["line", "status"],
                "properties": {
                    "line": { "type": "integer", "description": "the line's number in the file" },
                    "status": { "type": "string", "enum": ["ok", "error"] },
                    "message": { "type": "string", "description": "what is wrong with the line" },
                    "leavePeriodId": { "type": "integer", "description": "the leave period created from it" },
                },
            } },
        },
    })
}

/// The most bytes an imported file may hold (5 MiB, about 50,000 lines).
pub const IMPORT_FILE_LIMIT: usize = 5 * 1024 * 1024;

/// The most bytes of an import's request: the file and its multipart envelope.
const IMPORT_BODY_LIMIT: usize = IMPORT_FILE_LIMIT + 64 * 1024;

/// Reads an import file: UTF-8 (with or without a byte-order mark, as Lucca's
/// template is saved), `;`-separated, cells quoted or not, lines ended by LF,
/// CRLF or CR. Returns each data line's number and cells; the header line and
/// blank lines are left out. A file that cannot be read, or that holds no data
/// line, is a 400 that says where.
fn read_import_file(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ApiError> {
    let bad = |message: String| ApiError::BadRequest {
        parameter: "file".into(),
        message,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        return Err(bad(format!(
            "the file is not UTF-8 (line {line}, byte {}): save it as \"CSV UTF-8\"",
            at + 1
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    // Where each line starts, whatever ends them (the csv crate counts only LF).
    let mut starts = vec![0usize];
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            starts.push(i + 1);
        }
    }
    // A record's position is where reading it began, before the line ends
    // (and blank lines) that precede it.
    let line_at = |byte: u64| {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX);
        while matches!(bytes.get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        starts.partition_point(|s| *s <= byte)
    };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(p.byte()));
            bad(format!("line {line} is not valid CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if i == 0
            && record
                .get(0)
                .is_some_and(|c| c.eq_ignore_ascii_case(IMPORT_COLUMNS[0]))
        {
            continue;
        }
        rows.push((line, record.iter().map(str::to_owned).collect()));
    }
    if rows.is_empty() {
        return Err(bad(format!(
            "the file holds no data line: after the header, one line per leave period ({})",
            IMPORT_COLUMNS.join(";")
        )));
    }
    Ok(rows)
}

fn flag(raw: &str, column: &str) -> Result<HalfDay, String> {
    raw.parse::<HalfDay>()
        .map_err(|_| format!("{column}: '{raw}' is not AM or PM"))
}

fn french_date(raw: &str, column: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw, "%d/%m/%Y")
        .map_err(|_| format!("{column}: '{raw}' is not a date DD/MM/YYYY"))
}

async fn parse_import_line(
    state: &AppState,
    caller: &Caller,
    cells: &[&str],
    establishments: &[relais_core::org::Establishment],
    accounts: &[AbsenceAccount],
) -> Result<Result<NewLeavePeriod, String>, ApiError> {
    if cells.len() != IMPORT_COLUMNS.len() {
        return Ok(Err(format!(
            "expected {} columns separated by ';' ({}), found {}",
            IMPORT_COLUMNS.len(),
            IMPORT_COLUMNS.join(";"),
            cells.len()
        )));
    }
    // Establishments outside the key's scope are answered as missing ones.
    let Some(est) = establishments.iter().find(|e| {
        caller.role().covers_establishment(e.id)
            && (e.code.as_str().eq_ignore_ascii_case(cells[0])
                || e.name.as_str().eq_ignore_ascii_case(cells[0])
                || e.id.0.to_string() == cells[0])
    }) else {
        return Ok(Err(format!(
            "legalEntity: no establishment '{}' (use its code, name or id)",
            cells[0]
        )));
    };
    let number = match relais_core::employee::EmployeeNumber::parse(cells[1]) {
        Ok(n) => n,
        Err(e) => return Ok(Err(format!("employeeNumber: {}", e.message))),
    };
    // Only employees the key may see are looked up: anyone else reads as missing.
    let found = state
        .store
        .query_employees(
            caller.base(),
            &ListQuery {
                scope: caller.scope_with_former(),
                conditions: vec![Condition::new(
                    &users::EMPLOYEE_NUMBER,
                    Cond::Eq(SqlValue::Text(number.as_str().to_owned())),
                )],
                limit: 1,
                ..ListQuery::default()
            },
        )
        .await?
        .items;
    let Some(employee) = found.into_iter().next() else {
        return Ok(Err(format!("employeeNumber: no employee {number}")));
    };
    if employee.data.establishment_id != est.id {
        return Ok(Err(format!(
            "legalEntity: employee {number} is not in establishment '{}'",
            cells[0]
        )));
    }
    if !employee
        .data
        .last_name
        .as_str()
        .eq_ignore_ascii_case(cells[2])
        || !employee
            .data
            .first_name
            .as_str()
            .eq_ignore_ascii_case(cells[3])
    {
        // The line is told what is wrong with it, never what the base holds.
        return Ok(Err(format!(
            "lastName/firstName: '{} {}' is not the name of employee {number}",
            cells[3], cells[2]
        )));
    }
    let Some(account) = cells[4]
        .parse::<i64>()
        .ok()
        .and_then(|id| accounts.iter().find(|a| a.id.0 == id))
    else {
        return Ok(Err(format!("accountId: no absence account '{}'", cells[4])));
    };
    if !caller.role().may_request_on(account.id) {
        return Ok(Err(format!(
            "accountId: this key may not request absences on account {}",
            account.id
        )));
    }
    if !account.active {
        return Ok(Err(format!(
            "accountId: absence account {} is closed",
            account.id
        )));
    }
    let parsed = (|| -> Result<(HalfDaySlot, HalfDaySlot, bool), String> {
        let start = HalfDaySlot::new(
            french_date(cells[5], "startDate")?,
            flag(cells[6], "flagStartDate")?,
        );
        let end = HalfDaySlot::new(
            french_date(cells[7], "endDate")?,
            flag(cells[8], "flagEndDate")?,
        );
        let approved = match cells[9].to_ascii_lowercase().as_str() {
            "true" | "1" | "oui" | "yes" => true,
            "false" | "0" | "non" | "no" | "" => false,
            other => return Err(format!("isApproved: '{other}' is not true or false")),
        };
        Ok((start, end, approved))
    })();
    let (start, end, approved) = match parsed {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let span = match LeaveSpan::new(start, end).and_then(|s| s.check_length().map(|()| s)) {
        Ok(s) => s,
        Err(e) => return Ok(Err(format!("{}: {}", e.field, e.message))),
    };
    if span.working_half_days(&est.calendar) == 0 {
        return Ok(Err(
            "the period covers no working half day of the employee's establishment".into(),
        ));
    }
    Ok(Ok(NewLeavePeriod {
        employee_id: employee.id,
        account_id: account.id,
        span,
        status: if approved {
            LeaveStatus::Approved
        } else {
            LeaveStatus::Pending
        },
        comment: None,
        source: LeaveSource::Import,
    }))
}
