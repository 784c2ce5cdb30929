//! The shapes the OpenAPI document gives: what a success answers (typed
//! from the field catalogue, or from the code that answers it), what a
//! write's members hold, and the change feed's and the reports' paths.

use super::endpoints::{needs, Endpoint};
use super::{parameter, parameter_like};
use relais_core::fields::{FieldType, Resource};
use serde_json::{json, Map, Value};

/// The envelope a success answers with: `{"data": …}` of the shape an
/// endpoint declares (`answering`), the v3 record a write wrote, v3 lists
/// and items, v4 lists with their optional links, and the older `/api/...`
/// list; none where the document knows no shape.
pub(super) fn success_schema(e: &Endpoint) -> Option<Value> {
    if let Some(data) = e.answer {
        return Some(
            json!({ "type": "object", "required": ["data"], "properties": { "data": data() } }),
        );
    }
    let item = match e.resource {
        Some(Resource::Users) => employee_schema(),
        Some(r) => record_schema(r),
        None => json!({ "type": "object" }),
    };
    if e.method != "get" {
        // A write of a v3 record answers the record written.
        return (e.resource.is_some() && e.path.starts_with("/api/v3/")).then(
            || json!({ "type": "object", "required": ["data"], "properties": { "data": item } }),
        );
    }
    let items = json!({ "type": "array", "items": item });
    let link = json!({ "type": "string", "nullable": true });
    if e.v4 {
        return Some(json!({
            "type": "object",
            "required": ["items"],
            "properties": { "items": items, "count": { "type": "integer" }, "prev": link, "next": link },
        }));
    }
    if e.path == "/api/expenseNatures" {
        return Some(json!({
            "type": "object",
            "required": ["header", "data"],
            "properties": {
                "header": { "type": "object", "required": ["paging"], "properties": {
                    "paging": { "type": "object", "required": ["count"], "properties": { "count": { "type": "integer" } } }
                } },
                "data": items,
            },
        }));
    }
    if !e.path.starts_with("/api/v3/") {
        return None;
    }
    if e.path.contains("{id}") || e.path.ends_with("/tree") {
        return Some(
            json!({ "type": "object", "required": ["data"], "properties": { "data": item } }),
        );
    }
    Some(json!({
        "type": "object",
        "required": ["data"],
        "properties": { "data": {
            "type": "object",
            "required": ["items"],
            "properties": { "items": items, "count": { "type": "integer" } },
        } },
    }))
}

/// A field's value as the API writes it, typed from the catalogue: any
/// but an identifier or a list may be null.
pub(super) fn field_schema(f: &relais_core::fields::Field) -> Value {
    let mut schema = f.ty.json_schema();
    schema["description"] = json!(f.label_en);
    if f.ty != FieldType::List && f.name != "id" {
        schema["nullable"] = json!(true);
    }
    schema
}

/// A record of `resource` as its list answers one: its top-level fields
/// typed from the catalogue (those selected appear; a nested name such as
/// `leavePeriod.ownerId` is a filter's, not a member's).
pub(super) fn record_schema(resource: Resource) -> Value {
    let properties: Map<String, Value> = resource
        .fields()
        .iter()
        .filter(|f| !f.name.contains('.'))
        .map(|f| (f.name.to_owned(), field_schema(f)))
        .collect();
    json!({ "type": "object", "properties": properties })
}

/// An employee as `/api/v3/users` answers one: the standard section's
/// fields, typed from the catalogue (those selected and readable appear),
/// and `extendedData`, the custom fields.
pub(super) fn employee_schema() -> Value {
    let mut properties: Map<String, Value> = relais_core::fields::STANDARD
        .iter()
        .map(|f| (f.name.to_owned(), field_schema(f)))
        .collect();
    properties.insert(
        "extendedData".into(),
        json!({ "type": "object", "description": "custom fields the key reads, by code" }),
    );
    json!({ "type": "object", "properties": properties })
}

/// The schema of one member of a body: typed from the field catalogue
/// when `resource` has a field of that name (the value the API reads and
/// writes), else left open.
pub(super) fn member_schema(resource: Option<Resource>, member: &str) -> Value {
    let field = resource.and_then(|r| r.field(member));
    match field {
        Some(f) => field_schema(f),
        None if member == "extendedData" => json!({
            "type": "object",
            "description": "custom fields by code; a null value clears one, those not given are kept",
        }),
        None => json!({}),
    }
}

/// A ready-made report's path: its parameters, grant and row shape, from
/// the report catalogue.
pub(super) fn report_path(r: &relais_core::report::ReportSpec) -> Value {
    use relais_core::report::ColumnKind;
    let mut params = vec![
        parameter_like(
            "from",
            "first month, YYYY-MM (default: eleven months before `to`)",
            "2026-01",
        ),
        parameter_like(
            "to",
            "last month, YYYY-MM (default: this month); at most 36 months in all",
            "2026-06",
        ),
        parameter_like(
            "paging",
            "offset,limit (limit at most 1000; default 0,100)",
            "0,100",
        ),
        parameter(
            "export",
            "true: record this read as the key's export (the next read counts what changed since)",
        ),
    ];
    for f in r.filters {
        params.push(parameter_like(
            f.parameter(),
            "identifiers, comma-separated",
            "1,2",
        ));
    }
    let columns: Map<String, Value> = r
        .columns
        .iter()
        .map(|c| {
            let schema = match c.kind {
                ColumnKind::Count => json!({ "type": "integer", "description": c.label_en }),
                ColumnKind::Days | ColumnKind::Money | ColumnKind::Percent => {
                    json!({ "type": "number", "description": c.label_en })
                }
                ColumnKind::Date => {
                    json!({ "type": "string", "format": "date", "description": c.label_en })
                }
                ColumnKind::Text | ColumnKind::Period => {
                    json!({ "type": "string", "description": c.label_en })
                }
            };
            (c.key.to_owned(), schema)
        })
        .collect();
    json!({ "get": {
        "summary": r.title_en,
        "description": format!("{} Needs the grant `{}`; rows of establishments outside the key's never count.", r.description, r.permission.code()),
        "security": [{ "luccaApplication": [] }, { "bearer": [] }],
        "parameters": params,
        "responses": {
            "200": { "description": "success", "content": { "application/json": { "schema": {
                "type": "object", "required": ["data"], "properties": { "data": {
                    "type": "object", "required": ["items", "count"],
                    "properties": {
                        "items": { "type": "array", "items": { "type": "object", "properties": columns } },
                        "count": { "type": "integer" },
                    },
                } },
            } } } },
            "400": { "$ref": "#/components/responses/Error" },
            "401": { "$ref": "#/components/responses/Error" },
            "403": { "$ref": "#/components/responses/Error" },
            "429": { "$ref": "#/components/responses/Error" },
        },
    } })
}

/// The change feed's path: its parameters and the shape of an event.
pub(super) fn events_path() -> Value {
    use relais_core::events::{EventKind, Topic};
    let topics: Vec<String> = Topic::all().map(|t| t.to_string()).collect();
    let kinds: Vec<String> = EventKind::ALL
        .iter()
        .map(|k| {
            format!(
                "`{}.*` (read as {})",
                k.code(),
                crate::resources::events::reading_route(*k)
            )
        })
        .collect();
    let integer = |min: i64, max: Option<u64>, description: &str, example: Option<i64>| {
        let mut schema = json!({ "type": "integer", "minimum": min });
        if let Some(max) = max {
            schema["maximum"] = json!(max);
        }
        let mut p = json!({ "name": description.split(':').next().unwrap_or_default(), "in": "query", "required": false,
                "schema": schema, "description": description });
        if let Some(example) = example {
            p["example"] = json!(example);
        }
        p
    };
    json!({ "get": {
        "summary": "The base's change feed: records created, updated and deleted, in order, as this key may read them",
        "description": format!(
            "{} Each event: `id`, `cursor`, `topic`, `occurredAt`, `source` (who wrote: `api:<key>`, `admin`, `cli`, `connector:<app>`…), \
             `data` (the record after the change, before it for a deletion, in the shape its API route answers, only the fields this key reads) \
             and, for an update, `previousAttributes` (the readable fields it changed, as they were). A key follows the records its grants read: {}. \
             No event about an employee outside its establishments or contract window, none for an update of fields it may not read.",
            needs("get", "/api/relais/events"),
            kinds.join(", ")
        ),
        "security": [{ "luccaApplication": [] }, { "bearer": [] }],
        "parameters": [
            integer(0, None, "after: the cursor to read after, 0 or the `next` of a page (not beyond the latest event)", Some(0)),
            { "name": "topics", "in": "query", "required": false, "schema": { "type": "string" },
              "description": format!("topics, comma-separated, each a topic or `<record>.*`; one of {}", topics.join(", ")),
              "example": "employee.*,leave.created" },
            integer(1, Some(1000), "limit: events per page, at most 1000 (default 100)", Some(100)),
            integer(0, Some(crate::resources::events::MAX_WAIT), "wait: seconds to wait for an event when there is none yet (long-poll)", None),
        ],
        "responses": {
            "200": { "description": "success", "content": { "application/json": { "schema": {
                "type": "object", "required": ["data"], "properties": { "data": {
                    "type": "object", "required": ["items", "next", "hasMore"],
                    "properties": {
                        "items": { "type": "array", "items": { "type": "object",
                            "required": ["id", "cursor", "topic", "occurredAt", "source", "data"],
                            "properties": {
                                "id": { "type": "string" },
                                "cursor": { "type": "integer" },
                                "topic": { "type": "string", "enum": topics },
                                "occurredAt": { "type": "string", "format": "date-time" },
                                "source": { "type": "string" },
                                "data": { "type": "object" },
                                "previousAttributes": { "type": "object" },
                            } } },
                        "next": { "type": "integer", "description": "the cursor of the next page" },
                        "hasMore": { "type": "boolean", "description": "whether the next page is known to hold more" },
                    },
                } },
            } } } },
            "400": { "$ref": "#/components/responses/Error" },
            "401": { "$ref": "#/components/responses/Error" },
            "403": { "$ref": "#/components/responses/Error" },
            "429": { "$ref": "#/components/responses/Error" },
        },
    } })
}
