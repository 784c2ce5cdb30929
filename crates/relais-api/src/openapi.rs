//! The OpenAPI document of the API, served at `/openapi.json`.

use crate::resources::{absences, users, webhooks};
use axum::Json;
use relais_core::fields::{FieldType, Resource};
use serde_json::{json, Map, Value};

/// What an endpoint needs, as its route declares it ([`crate::need`]).
fn needs(method: &str, path: &str) -> String {
    match crate::resources::need_of(method, path) {
        Some(crate::need::Need::AnyKey) => "Any key.".to_owned(),
        Some(crate::need::Need::AppKey) => "The app's own key.".to_owned(),
        Some(need) => format!("Needs the grant `{}`.", need.describe()),
        None => unreachable!("{method} {path} is documented but not routed"),
    }
}

/// One endpoint as the document describes it.
struct Endpoint {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    v4: bool,
    /// The resource it lists or writes: its filters, sort keys, the
    /// members of its body and, for employees, the item's fields come
    /// from the field catalogue.
    resource: Option<Resource>,
    /// Parameters besides the resource's filters (options).
    params: &'static [&'static str],
    body: bool,
    /// The members its JSON body takes, as the handler declares them (it
    /// refuses any other); empty where the body is not described member by
    /// member.
    members: &'static [&'static [&'static str]],
    /// A body a client could send, as JSON text (empty: none shown).
    body_example: &'static str,
    /// The status of a success (200, or 201 for a record created, 202 for
    /// work accepted, 204 for nothing to answer).
    success: u16,
    /// The members a write refuses to go without.
    required: &'static [&'static str],
}

const fn get(
    path: &'static str,
    summary: &'static str,
    params: &'static [&'static str],
) -> Endpoint {
    Endpoint {
        method: "get",
        path,
        summary,
        v4: false,
        resource: None,
        params,
        body: false,
        members: &[],
        body_example: "",
        success: 200,
        required: &[],
    }
}

/// A list of `resource`: its filters from the catalogue, then `options`.
const fn list(
    path: &'static str,
    summary: &'static str,
    resource: Resource,
    options: &'static [&'static str],
) -> Endpoint {
    Endpoint {
        resource: Some(resource),
        ..get(path, summary, options)
    }
}

/// One record of a v3 list, `GET <list>/{id}`: its fields as the list
/// shows them.
const fn one(path: &'static str, summary: &'static str, resource: Resource) -> Endpoint {
    list(path, summary, resource, &[])
}

impl Endpoint {
    /// The same endpoint, paged as Lucca's v4 API pages (`page`, `limit`).
    const fn v4(self) -> Endpoint {
        Endpoint { v4: true, ..self }
    }

    /// The same endpoint, answering a success with `status`.
    const fn answers(self, status: u16) -> Endpoint {
        Endpoint {
            success: status,
            ..self
        }
    }

    /// The same write, refusing a body without one of `members`.
    const fn requires(self, members: &'static [&'static str]) -> Endpoint {
        Endpoint {
            required: members,
            ..self
        }
    }

    /// The same write, showing `json` as a body a client could send.
    const fn example(self, json: &'static str) -> Endpoint {
        Endpoint {
            body_example: json,
            ..self
        }
    }
}

const fn write(method: &'static str, path: &'static str, summary: &'static str) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        v4: false,
        resource: None,
        params: &[],
        body: true,
        members: &[],
        body_example: "",
        success: 200,
        required: &[],
    }
}

/// A write whose body takes `members` and nothing else.
const fn write_taking(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    members: &'static [&'static [&'static str]],
) -> Endpoint {
    Endpoint {
        members,
        ..write(method, path, summary)
    }
}

/// A write of a record of `resource` whose body takes `members`: those the
/// field catalogue knows are typed from it.
const fn write_record(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    resource: Resource,
    members: &'static [&'static [&'static str]],
) -> Endpoint {
    Endpoint {
        resource: Some(resource),
        ..write_taking(method, path, summary, members)
    }
}

const ENDPOINTS: &[Endpoint] = &[
    list(
        "/api/v3/users",
        "List employees",
        Resource::Users,
        &["formerEmployees"],
    ),
    write_record(
        "post",
        "/api/v3/users",
        "Create an employee",
        Resource::Users,
        users::BODY_MEMBERS,
    )
    .answers(201)
    .requires(&[
        "firstName",
        "lastName",
        "mail",
        "employeeNumber",
        "legalEntityId",
        "dtContractStart",
    ])
    .example(
        r#"{"firstName": "Camille", "lastName": "Martin", "mail": "camille.martin@example.com", "employeeNumber": "M000900", "legalEntityId": 1, "departmentId": 1, "jobTitle": "Comptable", "dtContractStart": "2026-01-05"}"#,
    ),
    one("/api/v3/users/{id}", "One employee", Resource::Users),
    write_record(
        "put",
        "/api/v3/users/{id}",
        "Update an employee (fields given are replaced)",
        Resource::Users,
        users::BODY_MEMBERS,
    )
    .example(r#"{"jobTitle": "Responsable comptable", "departmentId": 2}"#),
    get(
        "/api/relais/fields",
        "The personnel file's fields (standard and custom) with section and label, and whether this key reads each (else the grant to add); definitions only, no values",
        &[],
    ),
    get(
        "/api/relais/webhooks",
        "This key's webhook endpoints: URL, topics, establishments, status (active, inactive, suspended) and why",
        &[],
    ),
    write_taking(
        "post",
        "/api/relais/webhooks",
        "Register a webhook endpoint; activated when GET <url>?echo=<value> answers the value; the signing secret (whsec_…) is in this answer only",
        &[webhooks::ENDPOINT_MEMBERS],
    )
    .answers(201)
    .requires(&["url"])
    .example(r#"{"url": "https://hooks.example.com/relais", "name": "Changes for the intranet", "topics": ["employee.*", "leave.created"]}"#),
    get(
        "/api/relais/webhooks/{id}",
        "One of this key's webhook endpoints",
        &[],
    ),
    Endpoint {
        method: "delete",
        path: "/api/relais/webhooks/{id}",
        summary: "Delete one of this key's webhook endpoints and its deliveries",
        v4: false,
        resource: None,
        params: &[],
        body: false,
        members: &[],
        body_example: "",
        success: 204,
        required: &[],
    },
    get(
        "/api/relais/webhooks/{id}/deliveries",
        "An endpoint's latest deliveries: topic, status, attempts, last answer and latency, next try",
        &[],
    ),
    write(
        "post",
        "/api/relais/webhooks/{id}/activate",
        "Activate an endpoint again by echo (a suspended one gets its waiting events)",
    ),
    write(
        "post",
        "/api/relais/webhooks/{id}/rotate",
        "A new signing secret (in this answer only); the previous one still signs for 24 hours",
    ),
    write(
        "post",
        "/api/relais/webhooks/{id}/test",
        "Send a test event (webhook.test) to the endpoint",
    ),
    write_taking(
        "post",
        "/api/relais/webhooks/{id}/replay",
        "Deliver again the events after a cursor",
        &[webhooks::REPLAY_MEMBERS],
    )
    .requires(&["after"])
    .example(r#"{"after": 0}"#),
    get(
        "/api/relais/reports",
        "The ready-made reports: code, title, columns, filters, the grant each needs and whether this key holds it",
        &[],
    ),
    get(
        "/api/relais/integration",
        "The integration of this key's installed app: settings and health",
        &[],
    ),
    get(
        "/api/relais/integration/runs",
        "The latest runs of this key's integration",
        &["limit"],
    ),
    write(
        "post",
        "/api/relais/integration/runs",
        "Ask for a run now (body: dryRun, full)",
    )
    .answers(202),
    get(
        "/api/relais/integration/runs/{id}",
        "A run's report: counts, then each record's line",
        &["offset", "limit"],
    ),
    list(
        "/api/v3/userlogs",
        "Changes of employee fields",
        Resource::UserLogs,
        &["name"],
    ),
    list(
        "/api/v3/departments",
        "List departments",
        Resource::Departments,
        &[],
    ),
    one(
        "/api/v3/departments/{id}",
        "One department",
        Resource::Departments,
    ),
    get(
        "/api/v3/departments/tree",
        "The department tree",
        &[],
    ),
    list(
        "/api/v3/legalentities",
        "List establishments (v3)",
        Resource::Establishments,
        &[],
    ),
    one(
        "/api/v3/legalentities/{id}",
        "One establishment (v3)",
        Resource::Establishments,
    ),
    list(
        "/organization/structure/api/establishments",
        "List establishments (v4)",
        Resource::Establishments,
        &[],
    ).v4(),
    list(
        "/organization/structure/api/legal-units",
        "List legal units (v4)",
        Resource::LegalUnits,
        &[],
    ).v4(),
    list(
        "/directory/api/4.0/work-contracts",
        "List work contracts (v4)",
        Resource::WorkContracts,
        &["isApplicable"],
    ).v4(),
    list(
        "/api/v3/leaveAccounts",
        "List absence accounts",
        Resource::LeaveAccounts,
        &[],
    ),
    one(
        "/api/v3/leaveAccounts/{id}",
        "One absence account",
        Resource::LeaveAccounts,
    ),
    list(
        "/api/v3/leaves",
        "Half-day leaves; date and an owner filter are required",
        Resource::Leaves,
        &["date"],
    ),
    one(
        "/api/v3/leaves/{id}",
        "One half-day leave, {id} as the list writes it: <ownerId>-<yyyyMMdd>-AM|PM",
        Resource::Leaves,
    ),
    list(
        "/api/v3/leaveRequests",
        "List leave requests (periods)",
        Resource::LeaveRequests,
        &["status"],
    ),
    write_record(
        "post",
        "/api/v3/leaveRequests",
        "Request a leave period",
        Resource::LeaveRequests,
        &[absences::REQUEST_MEMBERS],
    )
    .answers(201)
    .requires(&["leaveAccountId", "ownerId", "startDate", "endDate"])
    .example(r#"{"leaveAccountId": 1, "ownerId": 1, "startDate": "2026-06-01", "startDateHalf": "AM", "endDate": "2026-06-05", "endDateHalf": "PM", "comment": "Congés d'été"}"#),
    get(
        "/api/v3/leaveRequests/{id}",
        "One leave request",
        &[],
    ),
    write(
        "post",
        "/api/v3/leaveRequests/{id}/approve",
        "Approve a pending request",
    ),
    write(
        "post",
        "/api/v3/leaveRequests/{id}/deny",
        "Deny a pending request",
    ),
    write(
        "post",
        "/api/v3/leaveRequests/{id}/cancel",
        "Cancel a request",
    ),
    write(
        "post",
        "/timmi-absences/api/imports/v1.0/leavePeriods",
        "Import leave periods from a ';'-separated CSV file (multipart); create=false simulates",
    ),
    list(
        "/api/v3/expenseClaims",
        "List expense claims",
        Resource::ExpenseClaims,
        &[],
    ),
    one(
        "/api/v3/expenseClaims/{id}",
        "One expense claim",
        Resource::ExpenseClaims,
    ),
    list(
        "/api/v3/expenseClaimItems",
        "List expense claim items",
        Resource::ExpenseItems,
        &[],
    ),
    one(
        "/api/v3/expenseClaimItems/{id}",
        "One expense claim item",
        Resource::ExpenseItems,
    ),
    list(
        "/api/expenseNatures",
        "List expense natures",
        Resource::ExpenseNatures,
        &[],
    ),
    list(
        "/api/v3/expenseNatures",
        "List expense natures (v3 envelope)",
        Resource::ExpenseNatures,
        &[],
    ),
    get(
        "/api/v3/axes",
        "List analytics axes with their sections",
        &[],
    ),
    get(
        "/api/v3/axes/{id}",
        "One analytics axis with its sections",
        &[],
    ),
];

/// The envelope a successful read answers with: v3 lists and items, v4
/// lists with their optional links, and the older `/api/...` list.
fn success_schema(e: &Endpoint) -> Option<Value> {
    if e.path.starts_with("/api/relais/webhooks") && e.method != "delete" {
        let (item, list) = if e.path.ends_with("/deliveries") {
            (webhooks::delivery_schema(), true)
        } else {
            let list = e.method == "get" && !e.path.contains("{id}");
            (webhooks::endpoint_schema(), list)
        };
        let data = if list {
            json!({ "type": "object", "required": ["items"], "properties": {
                "items": { "type": "array", "items": item } } })
        } else {
            item
        };
        return Some(
            json!({ "type": "object", "required": ["data"], "properties": { "data": data } }),
        );
    }
    if e.method != "get" {
        return None;
    }
    let item = match e.resource {
        Some(Resource::Users) => employee_schema(),
        Some(r) => record_schema(r),
        None => json!({ "type": "object" }),
    };
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

/// The forms a filter's value takes.
const FILTER_FORMS: &str = "filter: value, v1,v2, null, notequal,v, since,v, until,v, between,a,b, greaterthan,v, greaterthanorequal,v, lessthan,v, lessthanorequal,v, like,text";

/// A field's value as the API writes it, typed from the catalogue: any
/// but an identifier or a list may be null.
fn field_schema(f: &relais_core::fields::Field) -> Value {
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
fn record_schema(resource: Resource) -> Value {
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
fn employee_schema() -> Value {
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

fn parameter(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" }, "description": description })
}

/// A query parameter with a value a client could send, shown beside it.
fn parameter_like(name: &str, description: &str, example: &str) -> Value {
    let mut p = parameter(name, description);
    p["example"] = json!(example);
    p
}

/// What an option (a parameter besides a list's filters) does, and a value
/// it takes.
fn option(name: &str) -> (String, String) {
    let (description, example) = match name {
        "formerEmployees" => (
            "true: former employees too (with the grant `former-employees`)".to_owned(),
            "true".to_owned(),
        ),
        "limit" => ("at most this many".to_owned(), "20".to_owned()),
        "offset" => (
            "how many to skip, from the first".to_owned(),
            "0".to_owned(),
        ),
        "isApplicable" => (
            "true: only the contracts in force today".to_owned(),
            "true".to_owned(),
        ),
        "date" => (
            "required: the days, as a day, since,<day>, until,<day> or between,<from>,<to>; \
             with one of the owner filters"
                .to_owned(),
            absences::DATE_EXAMPLE.to_owned(),
        ),
        "status" => (
            format!("statuses, comma-separated: {}", absences::STATUS_CODES),
            "0,2".to_owned(),
        ),
        "name" => {
            let logged: Vec<&str> = Resource::Users
                .fields()
                .iter()
                .filter_map(|f| f.logged)
                .take(2)
                .collect();
            (
                "only the changes of these fields, by their names in the log, comma-separated"
                    .to_owned(),
                logged.join(","),
            )
        }
        other => unreachable!("the option {other} is documented without a description"),
    };
    (description, example)
}

/// A value a filter on a field of type `ty` takes, in one of the forms of
/// [`FILTER_FORMS`]; none for a type that does not filter.
fn filter_example(ty: FieldType) -> Option<&'static str> {
    match ty {
        FieldType::Int => Some("1,2"),
        FieldType::Text => Some("like,an"),
        FieldType::Date => Some("since,2026-01-01"),
        FieldType::DateTime => Some("since,2026-01-01T00:00:00"),
        FieldType::Bool => Some("true"),
        FieldType::Link | FieldType::Object | FieldType::List => None,
    }
}

/// A `fields` selection of `resource`: its first few top-level fields.
fn fields_example(resource: Resource) -> String {
    let names: Vec<&str> = resource
        .fields()
        .iter()
        .map(|f| f.name)
        .filter(|n| !n.contains('.'))
        .take(3)
        .collect();
    names.join(",")
}

/// The schema of one member of a body: typed from the field catalogue
/// when `resource` has a field of that name (the value the API reads and
/// writes), else left open.
fn member_schema(resource: Option<Resource>, member: &str) -> Value {
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
fn report_path(r: &relais_core::report::ReportSpec) -> Value {
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
fn events_path() -> Value {
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

/// The parts of the API, in the order a reader meets them: each
/// operation is tagged with one (see [`tag_of`]).
const TAGS: &[(&str, &str)] = &[
    (
        "Employees",
        "Employees, their personnel file's fields, contracts and the log of their changes",
    ),
    (
        "Organisation",
        "Legal units, establishments and departments",
    ),
    (
        "Absences",
        "Absence accounts, leave requests (periods) and the half-day leaves they make",
    ),
    (
        "Expenses",
        "Expense claims, their items, natures and analytics axes",
    ),
    (
        "Change feed",
        "The records created, updated and deleted, in order, as the key may read them",
    ),
    (
        "Webhooks",
        "The key's endpoints, to which changes are posted, signed",
    ),
    ("Reports", "Ready-made reports for payroll and accounting"),
    (
        "Integration",
        "What an installed app's own key reads of its integration: settings, health, runs",
    ),
    ("Service", "Whether relais answers, and its metrics"),
];

/// The part of the API a path belongs to (one of [`TAGS`]).
fn tag_of(path: &str) -> &'static str {
    let has = |part: &str| path.contains(part);
    if has("/api/relais/events") {
        "Change feed"
    } else if has("/api/relais/webhooks") {
        "Webhooks"
    } else if has("/api/relais/reports") {
        "Reports"
    } else if has("/api/relais/integration") {
        "Integration"
    } else if has("leave") {
        "Absences"
    } else if has("expense") || has("/axes") {
        "Expenses"
    } else if has("departments") || has("legalentities") || has("structure/") {
        "Organisation"
    } else if path == "/health" || path == "/metrics" {
        "Service"
    } else {
        "Employees"
    }
}

/// Builds the document.
pub fn build() -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let mut params: Vec<Value> = Vec::new();
        if e.path.contains("{id}") {
            let (example, description) = if e.resource == Some(Resource::Leaves) {
                (
                    relais_core::absence::LeaveId::EXAMPLE,
                    "the leave's identifier: <ownerId>-<yyyyMMdd>-AM or -PM",
                )
            } else {
                ("1", "the record's identifier")
            };
            params.push(json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" }, "example": example, "description": description }));
            if let Some(r) = e.resource.filter(|_| e.method == "get") {
                params.push(parameter_like(
                    "fields",
                    "fields to return, as the list takes them, nested as a[b,c] or a.b",
                    &fields_example(r),
                ));
            }
        }
        // A list of a resource pages, selects and sorts; other reads take
        // none of that.
        if e.method == "get" && e.resource.is_some() && !e.path.contains("{id}") {
            if e.v4 {
                params.push(parameter_like("page", "page number, from 1", "1"));
                params.push(parameter_like(
                    "limit",
                    "records per page, at most 1000",
                    "100",
                ));
                params.push(parameter_like(
                    "fields.root",
                    "any of count, prev, next: the total, and the links to the neighbouring pages",
                    "count,next",
                ));
            } else {
                let fields = e.resource.map(fields_example).unwrap_or_default();
                params.push(parameter_like(
                    "fields",
                    "fields to return, nested as a[b,c] or a.b; collection.count adds the total",
                    &format!("{fields},collection.count"),
                ));
                params.push(parameter_like(
                    "paging",
                    "offset,limit (limit at most 1000)",
                    "0,100",
                ));
                let keys: Vec<&str> = e
                    .resource
                    .into_iter()
                    .flat_map(|r| r.sort_keys())
                    .map(|f| f.name)
                    .collect();
                let description = format!("field,asc|desc; fields: {}", keys.join(", "));
                params.push(match keys.first() {
                    Some(key) => parameter_like("orderBy", &description, &format!("{key},asc")),
                    None => parameter("orderBy", &description),
                });
            }
        }
        let filters = e
            .resource
            .into_iter()
            .filter(|_| e.method == "get" && !e.path.contains("{id}"))
            .flat_map(|r| r.filters());
        for f in filters {
            let description = format!("{} — {FILTER_FORMS}", f.label_en);
            params.push(match filter_example(f.ty) {
                Some(example) => parameter_like(f.name, &description, example),
                None => parameter(f.name, &description),
            });
        }
        for p in e.params {
            let (description, example) = option(p);
            params.push(parameter_like(p, &description, &example));
        }
        let mut op = json!({
            "summary": e.summary,
            "description": needs(e.method, e.path),
            "security": [{ "luccaApplication": [] }, { "bearer": [] }],
            "parameters": params,
            "responses": {
                "400": { "$ref": "#/components/responses/Error" },
                "401": { "$ref": "#/components/responses/Error" },
                "403": { "$ref": "#/components/responses/Error" },
                "404": { "$ref": "#/components/responses/Error" },
                "429": { "$ref": "#/components/responses/Error" },
            },
        });
        let success = e.success.to_string();
        op["responses"][&success] = match success_schema(e) {
            Some(schema) => json!({
                "description": "success",
                "content": { "application/json": { "schema": schema } },
            }),
            None => json!({ "description": "success" }),
        };
        if e.body {
            let content = if e.path.contains("imports") {
                "multipart/form-data"
            } else {
                "application/json"
            };
            let schema = if e.members.is_empty() {
                json!({ "type": "object" })
            } else {
                let properties: Map<String, Value> = e
                    .members
                    .iter()
                    .flat_map(|list| list.iter())
                    .map(|m| ((*m).to_owned(), member_schema(e.resource, m)))
                    .collect();
                let mut schema = json!({ "type": "object", "properties": properties, "additionalProperties": false });
                if !e.required.is_empty() {
                    schema["required"] = json!(e.required);
                }
                schema
            };
            let mut media = json!({ "schema": schema });
            if !e.body_example.is_empty() {
                media["example"] =
                    serde_json::from_str(e.body_example).expect("a body example is JSON");
            }
            op["requestBody"] = json!({ "required": !["approve", "deny", "cancel", "activate", "rotate", "test"].iter().any(|a| e.path.ends_with(a)), "content": { content: media } });
            op["responses"]["409"] = json!({ "$ref": "#/components/responses/Error" });
            op["responses"]["422"] = json!({ "$ref": "#/components/responses/Error" });
        }
        let entry = paths.entry(e.path.to_owned()).or_insert_with(|| json!({}));
        entry[e.method] = op;
    }
    paths.insert("/api/relais/events".into(), events_path());
    for r in relais_core::report::REPORTS {
        paths.insert(format!("/api/relais/reports/{}", r.code), report_path(r));
    }
    paths.insert("/health".into(), json!({ "get": { "summary": "Whether relais and its database answer", "responses": { "200": { "description": "healthy" }, "503": { "$ref": "#/components/responses/Error" } } } }));
    paths.insert("/metrics".into(), json!({ "get": { "summary": "Counters and latencies in the Prometheus text format: API requests by route and status; per integration, runs and records by outcome, partner requests and errors by status, partner latency, the request budget left, seconds since the last successful run", "responses": { "200": { "description": "the metrics", "content": { "text/plain": { "schema": { "type": "string" } } } } } } }));
    for (path, ops) in paths.iter_mut() {
        for op in ops.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            op["tags"] = json!([tag_of(path)]);
        }
    }
    let tags: Vec<Value> = TAGS
        .iter()
        .map(|(name, description)| json!({ "name": name, "description": description }))
        .collect();
    json!({
        "openapi": "3.0.3",
        "info": { "title": "relais API (Lucca-compatible)", "version": env!("CARGO_PKG_VERSION") },
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "luccaApplication": { "type": "apiKey", "in": "header", "name": "Authorization", "description": "lucca application=<key>" },
                "bearer": { "type": "http", "scheme": "bearer" },
            },
            "responses": {
                "Error": {
                    "description": "an error",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": { "error": { "type": "object", "properties": {
                            "code": { "type": "string" }, "message": { "type": "string" }, "details": {}
                        } } }
                    } } }
                }
            }
        }
    })
}

/// `GET /openapi.json`.
pub async fn document() -> Json<Value> {
    Json(build())
}

/// Every path and method the document lists, to check it against the router.
pub fn listed() -> Vec<(&'static str, &'static str)> {
    ENDPOINTS.iter().map(|e| (e.method, e.path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_endpoint_says_what_its_route_needs() {
        for e in ENDPOINTS {
            assert!(
                crate::resources::need_of(e.method, e.path).is_some(),
                "{} {} is documented but not routed",
                e.method,
                e.path
            );
        }
        assert_eq!(
            needs("get", "/api/v3/leaveRequests"),
            "Needs the grant `absences or absence-requests`."
        );
        assert_eq!(
            needs("post", "/api/v3/leaveRequests/{id}/deny"),
            "Needs the grant `absence-requests`."
        );
        assert_eq!(needs("get", "/api/relais/fields"), "Any key.");
    }

    #[test]
    fn examples_take_what_their_endpoint_takes() {
        let doc = build();
        let mut bodies = 0;
        for e in ENDPOINTS.iter().filter(|e| !e.body_example.is_empty()) {
            let example: Value = serde_json::from_str(e.body_example)
                .unwrap_or_else(|err| panic!("{} {}: {err}", e.method, e.path));
            for member in example.as_object().expect("a body is an object").keys() {
                assert!(
                    e.members.iter().any(|list| list.contains(&member.as_str())),
                    "{} {} shows {member}, which its body does not take",
                    e.method,
                    e.path
                );
            }
            for member in e.required {
                assert!(
                    example.get(member).is_some(),
                    "{} {}: its example goes without {member}, which it requires",
                    e.method,
                    e.path
                );
            }
            bodies += 1;
        }
        assert_eq!(bodies, 5, "the writes that show a body");
        // Every option is described, and every filter of a list shows a value.
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let name = p["name"].as_str().unwrap();
                    let described = p["description"].as_str().unwrap_or_default();
                    assert_ne!(described, "option", "{method} {path}: {name}");
                }
            }
        }
        let users = &doc["paths"]["/api/v3/users"]["get"]["parameters"];
        let example = |name: &str| {
            users
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["example"].clone())
        };
        assert_eq!(example("dtContractStart"), Some(json!("since,2026-01-01")));
        assert_eq!(example("departmentId"), Some(json!("1,2")));
        assert_eq!(example("orderBy"), Some(json!("id,asc")));
    }

    #[test]
    fn every_operation_belongs_to_one_part_of_the_api() {
        let doc = build();
        let mut used = std::collections::BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let tags = op["tags"].as_array().unwrap();
                assert_eq!(tags.len(), 1, "{method} {path}");
                let tag = tags[0].as_str().unwrap();
                assert!(
                    TAGS.iter().any(|(t, _)| *t == tag),
                    "{method} {path}: {tag}"
                );
                used.insert(tag);
            }
        }
        assert_eq!(used.len(), TAGS.len(), "every part has an operation");
        assert_eq!(tag_of("/api/v3/leaveRequests/{id}/approve"), "Absences");
        assert_eq!(
            tag_of("/organization/structure/api/legal-units"),
            "Organisation"
        );
        assert_eq!(tag_of("/directory/api/4.0/work-contracts"), "Employees");
        assert_eq!(tag_of("/api/v3/expenseClaimItems"), "Expenses");
    }

    #[test]
    fn a_write_types_the_members_the_catalogue_knows() {
        let doc = build();
        let body = &doc["paths"]["/api/v3/users/{id}"]["put"]["requestBody"]["content"]
            ["application/json"]["schema"]["properties"];
        assert_eq!(body["birthDate"]["format"], "date");
        assert_eq!(body["departmentId"]["type"], "integer");
        assert_eq!(body["extendedData"]["type"], "object");
        let request = &doc["paths"]["/api/v3/leaveRequests"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["properties"];
        assert_eq!(request["startDate"]["format"], "date");
        // A write lists no filters: they are a list's.
        let put = doc["paths"]["/api/v3/users/{id}"]["put"]["parameters"]
            .as_array()
            .unwrap();
        assert_eq!(put.len(), 1, "only the path's id: {put:?}");
    }

    #[test]
    fn every_routed_endpoint_is_documented() {
        let doc = build();
        let paths = doc["paths"].as_object().unwrap();
        let ops: Vec<(&str, &str)> = paths
            .iter()
            .flat_map(|(path, ops)| {
                let methods = ops.as_object().unwrap().keys();
                methods.map(move |m| (m.as_str(), path.as_str()))
            })
            .collect();
        // A documented path is that of the route, or one its `{…}`
        // segments take (`…/{id}/approve` for `…/{id}/{action}`).
        let documented = |route: &crate::need::Declared| {
            let only = [crate::need::Declared {
                need: crate::need::Need::AnyKey,
                ..route.clone()
            }];
            ops.iter()
                .any(|(method, path)| crate::need::find(&only, method, path).is_some())
        };
        let missing: Vec<String> = crate::resources::declared()
            .iter()
            .filter(|d| !documented(d))
            .map(|d| format!("{} {}", d.method, d.path))
            .collect();
        assert!(missing.is_empty(), "routed but not documented: {missing:?}");
    }
}
