//! The OpenAPI document of the API, served at `/openapi.json`.

use crate::resources::absences;
use axum::Json;
use relais_core::fields::{FieldType, Resource};
use relais_core::webhooks::DeliveryStatus;
use serde_json::{json, Map, Value};

mod endpoints;
mod schemas;

use endpoints::{needs, ENDPOINTS};
use schemas::{events_path, member_schema, report_path, success_schema};

/// The forms a filter's value takes.
const FILTER_FORMS: &str = "filter: value, v1,v2, null, notequal,v, since,v, until,v, between,a,b, greaterthan,v, greaterthanorequal,v, lessthan,v, lessthanorequal,v, like,text";

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
fn option(path: &str, name: &str) -> (String, String) {
    let (description, example) = match name {
        "before" => (
            "only the deliveries older than this one (the `next` of the page before)".to_owned(),
            "1000".to_owned(),
        ),
        "status" if path.ends_with("/deliveries") => {
            let codes: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.code()).collect();
            (
                format!("only the deliveries of this status: {}", codes.join(", ")),
                "failed".to_owned(),
            )
        }
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
            let (description, example) = option(e.path, p);
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
