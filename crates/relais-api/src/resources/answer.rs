//! What the resources answer: the envelopes of Lucca's lists and items,
//! the selection of fields, and the marks the audit trail counts.

use super::extract::{V3List, V4Page};
use crate::auth::{EmployeeRecords, ListedRecords};
use crate::error::ApiError;
use crate::need::{Need, Routes};
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// The JSON schema of a list's `data` (`{"items": [...]}`), each item of
/// `item`'s schema, for the OpenAPI document.
pub fn items_schema(item: Value) -> Value {
    json!({ "type": "object", "required": ["items"], "properties": {
        "items": { "type": "array", "items": item } } })
}

/// Keeps the fields of `map` that `tree` selects, nested as asked: a
/// field asked with sub-fields (`approvals[id,approved]`) keeps only those,
/// in each element of a list too; one asked alone comes whole.
pub fn select_fields(map: Map<String, Value>, tree: &crate::query::FieldTree) -> Value {
    Value::Object(
        map.into_iter()
            .filter_map(|(k, v)| {
                let sub = tree.get(&k)?;
                Some((k, select_nested(v, sub)))
            })
            .collect(),
    )
}

fn select_nested(value: Value, sub: &crate::query::FieldTree) -> Value {
    if sub.is_empty() {
        return value;
    }
    match value {
        Value::Object(map) => select_fields(map, sub),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| select_nested(v, sub)).collect())
        }
        other => other,
    }
}

/// Marks a list answer with the number of records it holds.
pub(crate) fn listed(response: impl IntoResponse, n: usize) -> Response {
    let mut response = response.into_response();
    response
        .extensions_mut()
        .insert(ListedRecords(i64::try_from(n).unwrap_or(i64::MAX)));
    response
}

/// The v3 list envelope: `{"data": {"items": [...], "count": N}}`.
pub fn v3_list(items: Vec<Value>, count: Option<i64>) -> Response {
    let n = items.len();
    let mut data = Map::new();
    data.insert("items".into(), Value::Array(items));
    if let Some(n) = count {
        data.insert("count".into(), json!(n));
    }
    listed(Json(json!({ "data": data })), n)
}

/// The v3 list envelope around items serialised straight to the body.
pub fn v3_list_of<T: serde::Serialize>(items: &[T], count: Option<i64>) -> Response {
    #[derive(serde::Serialize)]
    struct Data<'a, T> {
        items: &'a [T],
        #[serde(skip_serializing_if = "Option::is_none")]
        count: Option<i64>,
    }
    #[derive(serde::Serialize)]
    struct Body<'a, T> {
        data: Data<'a, T>,
    }
    match serde_json::to_vec(&Body {
        data: Data { items, count },
    }) {
        Ok(bytes) => listed(
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                bytes,
            ),
            items.len(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise an answer");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The v3 list envelope around items already written, batch by batch
/// (each batch's items comma-separated), as [`v3_list_of`] writes them.
pub fn v3_list_encoded(batches: &[relais_store::Encoded], count: Option<i64>) -> Response {
    let size: usize = batches.iter().map(|b| b.bytes.len() + 1).sum();
    let mut body = Vec::with_capacity(size + 48);
    body.extend_from_slice(br#"{"data":{"items":["#);
    for (i, batch) in batches.iter().filter(|b| b.records > 0).enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&batch.bytes);
    }
    body.push(b']');
    if let Some(count) = count {
        body.extend_from_slice(format!(r#","count":{count}"#).as_bytes());
    }
    body.extend_from_slice(b"}}");
    listed(
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        ),
        batches.iter().map(|b| b.records).sum(),
    )
}

/// The v3 envelope of one item: `{"data": {...}}`.
pub fn v3_item(item: Value) -> Json<Value> {
    Json(json!({ "data": item }))
}

/// The most bytes the list answer of one record may take: a department
/// with a thousand members is far below it.
const ONE_RECORD_BYTES: usize = 16 << 20;

/// The one item of `list`'s successful answer (the list
/// narrowed to that record, see [`super::extract::V3List::of_one`]) in the
/// v3 item envelope, with the records it discloses; a list without it is
/// `missing` (not found, or not visible to the key). A refusal passes as it
/// is.
async fn only_item(
    list: Response,
    missing: impl FnOnce() -> ApiError,
) -> Result<Response, ApiError> {
    if !list.status().is_success() {
        return Ok(list);
    }
    let (parts, body) = list.into_parts();
    let bytes = axum::body::to_bytes(body, ONE_RECORD_BYTES)
        .await
        .map_err(|e| relais_store::StoreError::Corrupt {
            entity: "answer",
            message: format!("cannot read a list answer again: {e}"),
        })?;
    let mut value: Value =
        serde_json::from_slice(&bytes).map_err(|e| relais_store::StoreError::Corrupt {
            entity: "answer",
            message: format!("a list answer is not JSON: {e}"),
        })?;
    let item = value
        .pointer_mut("/data/items/0")
        .map(Value::take)
        .ok_or_else(missing)?;
    let mut one = v3_item(item).into_response();
    *one.extensions_mut() = parts.extensions;
    Ok(listed(one, 1))
}

/// The answer of one record of a v3 list, as a route's handler
/// (`GET <list>/{id}`): the list `read` narrows to the record, answered as
/// one item; a record the key does not see is not found, as a missing one.
/// `what` names the kind of record in the refusals.
fn one_of<F, Fut>(
    what: &'static str,
    read: F,
) -> impl Fn(V3List, Path<String>) -> BoxedAnswer + Clone + Send + Sync + 'static
where
    F: Fn(V3List) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response, ApiError>> + Send + 'static,
{
    move |list: V3List, Path(id): Path<String>| {
        let read = read.clone();
        Box::pin(async move {
            let answer = read(list.of_one(&id, what)?).await?;
            only_item(answer, || {
                ApiError::NotFound(format!("no {what} {id} visible to this key"))
            })
            .await
        })
    }
}

impl Routes {
    /// A v3 list and its records: `GET path`, served by `list`, and
    /// `GET path/{id}`, its record `{id}` (see [`one_of`], `what` naming the
    /// kind of record), both needing `need`.
    pub(crate) fn records<F, Fut>(
        self,
        path: &'static str,
        need: Need,
        what: &'static str,
        list: F,
    ) -> Self
    where
        F: Fn(V3List) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Response, ApiError>> + Send + 'static,
    {
        let one = one_of(what, list.clone());
        self.get(path, need, list).add(
            "get",
            format!("{path}/{{id}}"),
            need,
            axum::routing::get(one),
        )
    }
}

/// What [`one_of`]'s handlers answer.
pub(crate) type BoxedAnswer =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, ApiError>> + Send>>;

/// The v4 list envelope: `{"items": [...], "count": N, "prev": …, "next": …}`,
/// with `count`, `prev` and `next` only when `fields.root` asked for them.
pub fn v4_list(
    items: Vec<Value>,
    q: &crate::query::V4Query,
    page: &V4Page,
    count: Option<i64>,
) -> Response {
    let n = items.len();
    let (prev, next) = q.links(
        &base_url(&page.headers),
        page.uri.path(),
        &page.pairs,
        items.len(),
        count,
    );
    let mut out = Map::new();
    out.insert("items".into(), Value::Array(items));
    if let Some(n) = count {
        out.insert("count".into(), json!(n));
    }
    if q.prev {
        out.insert("prev".into(), json!(prev));
    }
    if q.next {
        out.insert("next".into(), json!(next));
    }
    listed(Json(Value::Object(out)), n)
}

/// The envelope of Lucca's older `/api/...` endpoints:
/// `{"header": {"paging": {"count": N}}, "data": [ … ]}`.
pub fn legacy_list(items: Vec<Value>, count: i64) -> Response {
    let n = items.len();
    listed(
        Json(json!({ "header": { "paging": { "count": count } }, "data": items })),
        n,
    )
}

/// Marks a response with the number of employee records it disclosed.
pub fn with_employee_records(response: impl IntoResponse, n: usize) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(EmployeeRecords(n as i64));
    response
}

/// The base URL clients used, for `url` fields.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}
