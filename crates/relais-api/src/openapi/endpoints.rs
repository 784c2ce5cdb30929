//! What the OpenAPI document says of each endpoint of the API: its path,
//! summary, the resource it lists or writes, its options, its body's
//! members, those it requires and a body it takes, and its success.

use crate::resources::answer::items_schema as items;
use crate::resources::{absences, fields, reports, sync, users, webhooks};
use relais_core::fields::Resource;
use serde_json::Value;

/// What an endpoint needs, as its route declares it ([`crate::need`]).
pub(super) fn needs(method: &str, path: &str) -> String {
    match crate::resources::need_of(method, path) {
        Some(crate::need::Need::AnyKey) => "Any key.".to_owned(),
        Some(crate::need::Need::AppKey) => "The app's own key.".to_owned(),
        Some(need) => format!("Needs the grant `{}`.", need.describe()),
        None => unreachable!("{method} {path} is documented but not routed"),
    }
}

/// One endpoint as the document describes it.
pub(super) struct Endpoint {
    /// `get`, `post`, `put` or `delete`.
    pub(super) method: &'static str,
    /// Its path, `{id}` for an identifier.
    pub(super) path: &'static str,
    /// What it does, in a line.
    pub(super) summary: &'static str,
    /// Whether it pages as Lucca's v4 API pages (`page`, `limit`).
    pub(super) v4: bool,
    /// The resource it lists or writes: its filters, sort keys, the
    /// members of its body and, for employees, the item's fields come
    /// from the field catalogue.
    pub(super) resource: Option<Resource>,
    /// Parameters besides the resource's filters (options).
    pub(super) params: &'static [&'static str],
    /// Whether it takes a body.
    pub(super) body: bool,
    /// The members its JSON body takes, as the handler declares them (it
    /// refuses any other); empty where the body is not described member by
    /// member.
    pub(super) members: &'static [&'static [&'static str]],
    /// A body a client could send, as JSON text (empty: none shown).
    pub(super) body_example: &'static str,
    /// The status of a success (200, or 201 for a record created, 202 for
    /// work accepted, 204 for nothing to answer).
    pub(super) success: u16,
    /// The members a write refuses to go without.
    pub(super) required: &'static [&'static str],
    /// The schema of the `data` member its success answers with, written
    /// beside the code that answers it; none where the answer's shape
    /// comes from the resource (its records) or there is no answer.
    pub(super) answer: Option<fn() -> Value>,
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
        answer: None,
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

    /// The same write, answering the record of `resource` it wrote.
    const fn of(self, resource: Resource) -> Endpoint {
        Endpoint {
            resource: Some(resource),
            ..self
        }
    }

    /// The same endpoint, its success answering `{"data": <schema>}`.
    const fn answering(self, schema: fn() -> Value) -> Endpoint {
        Endpoint {
            answer: Some(schema),
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
        answer: None,
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

pub(super) const ENDPOINTS: &[Endpoint] = &[
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
    )
    .answering(|| items(fields::field_schema())),
    get(
        "/api/relais/webhooks",
        "This key's webhook endpoints: URL, topics, establishments, status (active, inactive, suspended) and why",
        &[],
    )
    .answering(|| items(webhooks::endpoint_schema())),
    write_taking(
        "post",
        "/api/relais/webhooks",
        "Register a webhook endpoint; activated when GET <url>?echo=<value> answers the value; the signing secret (whsec_…) is in this answer only",
        &[webhooks::ENDPOINT_MEMBERS],
    )
    .answers(201)
    .answering(webhooks::endpoint_schema)
    .requires(&["url"])
    .example(r#"{"url": "https://hooks.example.com/relais", "name": "Changes for the intranet", "topics": ["employee.*", "leave.created"]}"#),
    get(
        "/api/relais/webhooks/{id}",
        "One of this key's webhook endpoints",
        &[],
    )
    .answering(webhooks::endpoint_schema),
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
        answer: None,
    },
    get(
        "/api/relais/webhooks/{id}/deliveries",
        "An endpoint's delivery log, newest first, a page at a time: topic, status, attempts, last answer and latency, next try",
        &["before", "status", "limit"],
    )
    .answering(webhooks::deliveries_schema),
    write(
        "post",
        "/api/relais/webhooks/{id}/activate",
        "Activate an endpoint again by echo (a suspended one gets its waiting events)",
    )
    .answering(webhooks::endpoint_schema),
    write(
        "post",
        "/api/relais/webhooks/{id}/rotate",
        "A new signing secret (in this answer only); the previous one still signs for 24 hours",
    )
    .answering(webhooks::endpoint_schema),
    write(
        "post",
        "/api/relais/webhooks/{id}/test",
        "Send a test event (webhook.test) to the endpoint",
    )
    .answering(webhooks::endpoint_schema),
    write_taking(
        "post",
        "/api/relais/webhooks/{id}/replay",
        "Deliver again the events after a cursor",
        &[webhooks::REPLAY_MEMBERS],
    )
    .requires(&["after"])
    .answering(webhooks::endpoint_schema)
    .example(r#"{"after": 0}"#),
    get(
        "/api/relais/reports",
        "The ready-made reports: code, title, columns, filters, the grant each needs and whether this key holds it",
        &[],
    )
    .answering(|| items(reports::report_list_schema())),
    get(
        "/api/relais/integration",
        "The integration of this key's installed app: settings and health",
        &[],
    )
    .answering(sync::integration_schema),
    get(
        "/api/relais/integration/runs",
        "The latest runs of this key's integration",
        &["limit"],
    )
    .answering(|| items(sync::run_schema())),
    write(
        "post",
        "/api/relais/integration/runs",
        "Ask for a run now (body: dryRun, full)",
    )
    .answers(202)
    .answering(sync::run_schema),
    get(
        "/api/relais/integration/runs/{id}",
        "A run's report: counts, then each record's line",
        &["offset", "limit"],
    )
    .answering(sync::report_schema),
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
    .example(r#"{"leaveAccountId": 1, "ownerId": 1, "startDate": "2027-08-02", "startDateHalf": "AM", "endDate": "2027-08-06", "endDateHalf": "PM", "comment": "Congés d'été"}"#),
    one(
        "/api/v3/leaveRequests/{id}",
        "One leave request",
        Resource::LeaveRequests,
    ),
    write(
        "post",
        "/api/v3/leaveRequests/{id}/approve",
        "Approve a pending request",
    )
    .of(Resource::LeaveRequests),
    write(
        "post",
        "/api/v3/leaveRequests/{id}/deny",
        "Deny a pending request",
    )
    .of(Resource::LeaveRequests),
    write(
        "post",
        "/api/v3/leaveRequests/{id}/cancel",
        "Cancel a request",
    )
    .of(Resource::LeaveRequests),
    write(
        "post",
        "/timmi-absences/api/imports/v1.0/leavePeriods",
        "Import leave periods from a ';'-separated CSV file (multipart); create=false simulates",
    )
    .answering(absences::import_schema),
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
