//! The API over real HTTP, against a seeded base on SQLite and, when
//! `RELAIS_TEST_POSTGRES_URL` is set, on PostgreSQL.

use chrono::NaiveDate;
use relais_api::AppState;
use relais_core::access::{KeyUsage, Role};
use relais_core::base::{Base, BaseKind, BaseName};
use relais_core::employee::{ContractStatus, Email, Employee};
use relais_core::org::Name;
use relais_sandbox::demo::{seed, DemoOptions};
use relais_store::SharedStore;
use relais_testkit::schema::{answer_schema, conforms, conforms_wholly, written_as};
use relais_testkit::{Backend, TestDb};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

struct App {
    url: String,
    store: SharedStore,
    base: Base,
    other: Base,
    client: reqwest::Client,
    today: NaiveDate,
    /// The server's audit trail writer, flushed before the trail is read.
    audit: relais_api::audit::AuditLog,
    /// The server's state (its sealer opens what the server sealed).
    state: AppState,
    /// The test's database, dropped after the store.
    _db: TestDb,
}

async fn spawn(backend: Backend, per_minute: u32) -> Option<App> {
    let db = TestDb::new(backend, "relais-api").await?;
    let store = db.open().await;
    let today = relais_testkit::today();
    let base = store
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    seed(
        store.as_ref(),
        &base,
        &DemoOptions {
            employees: 150,
            seed: 5,
            today,
        },
        &|_| {},
    )
    .await
    .unwrap();
    let other = store
        .create_base(&BaseName::parse("other").unwrap(), BaseKind::Production)
        .await
        .unwrap();
    seed(
        store.as_ref(),
        &other,
        &DemoOptions {
            employees: 40,
            seed: 99,
            today,
        },
        &|_| {},
    )
    .await
    .unwrap();
    // The tests' webhook receivers listen on this machine.
    let state = AppState::new(store.clone(), per_minute)
        .with_webhook_reach(relais_api::reach::WebhookReach::Anywhere);
    let audit = state.audit.clone();
    let url = relais_testkit::spawn_app(state.clone()).await;
    Some(App {
        url,
        store,
        base,
        other,
        client: reqwest::Client::new(),
        today,
        audit,
        state,
        _db: db,
    })
}

impl App {
    async fn key_on(&self, base: &Base, grants: &[&str]) -> String {
        let role = Role::parse(grants).unwrap();
        let (_, secret) = relais_app::keys::create_key(
            &self.store,
            base.id,
            Name::parse("name", &format!("test {}", grants.join(" "))).unwrap(),
            Email::parse("tech@partner.fr").unwrap(),
            KeyUsage::ThirdParty,
            role,
            relais_core::activity::Actor::CommandLine,
        )
        .await
        .unwrap();
        secret
    }

    async fn key(&self, grants: &[&str]) -> String {
        self.key_on(&self.base, grants).await
    }

    /// The OpenAPI document the server serves.
    async fn openapi(&self) -> Value {
        let resp = self.client.get(format!("{}/openapi.json", self.url)).send();
        resp.await.unwrap().json().await.unwrap()
    }

    async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        self.get_in("", path, key).await
    }

    /// A GET from a client that asks for `languages` (`Accept-Language`;
    /// none when empty).
    async fn get_in(&self, languages: &str, path: &str, key: &str) -> (u16, Value) {
        let mut request = self
            .client
            .get(format!("{}{path}", self.url))
            .header("Authorization", format!("lucca application={key}"));
        if !languages.is_empty() {
            request = request.header("Accept-Language", languages);
        }
        let resp = request.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Value,
    ) -> (u16, Value) {
        let resp = self
            .client
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {key}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Every employee of the base, straight from the store.
    async fn employees(&self) -> Vec<Employee> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_employees(self.base.id, after, 500)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            out.extend(page);
        }
        out
    }
}

fn items(body: &Value) -> &Vec<Value> {
    body["data"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {body}"))
}

fn ids(body: &Value) -> Vec<i64> {
    items(body)
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

fn keys_of(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

macro_rules! api_suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::spawn(super::Backend::Sqlite, 10_000).await.unwrap()).await })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(app) = super::spawn(super::Backend::Postgres, 10_000).await { super::$name(app).await }
            })*
        }
    };
}

api_suite!(
    the_field_list_says_what_a_key_reads_and_nothing_more,
    users_fields_count_paging_and_order,
    users_filter_operators,
    permission_matrix,
    fields_outside_the_grants_never_appear,
    future_and_former_employees_need_their_grants,
    establishment_limited_keys,
    bases_are_isolated,
    mistakes_get_clear_answers,
    users_are_created_updated_and_logged,
    simultaneous_updates_of_an_employee_keep_both_changes,
    leave_requests_and_their_workflow,
    leaves_expand_to_half_days,
    a_leave_is_read_by_its_identifier,
    csv_import_simulates_then_creates,
    organisation_and_expenses_shapes,
    audit_trail_records_each_request,
    openapi_describes_every_endpoint,
    the_documents_examples_are_answered,
    hostile_requests_are_bounded,
    out_of_scope_reads_and_writes_as_missing,
    a_written_employee_is_answered_as_it_reads,
    a_key_that_cannot_see_an_employee_does_not_wait_for_its_writers,
    writers_of_one_employee_at_once_each_change_what_the_last_left,
    implausible_values_are_refused,
    csv_import_reads_real_files_and_tells_nothing_more,
    the_rate_limit_holds_across_processes,
    v4_pages_link_their_neighbours,
    names_match_whatever_their_case,
    a_deep_leaves_walk_serves_every_leave_once,
    counts_are_kept_until_the_base_changes_whoever_changes_it,
    names_are_kept_until_the_structure_changes,
    a_seeded_base_has_a_history_of_changes,
    stored_values_read_as_lucca_documents_them,
    related_fields_come_back_nested_as_asked,
    personal_details_are_read_and_written,
    reports_add_up_to_the_records,
    reports_are_bounded_by_the_key,
    report_pages_follow_one_another,
    an_inside_online_replica_keeps_up,
    a_list_shows_what_the_store_holds,
    the_feed_shows_each_key_what_it_may_read,
    webhooks_deliver_signed_events_at_least_once,
    a_deliverer_stopped_mid_delivery_loses_nothing,
    a_pass_of_many_changes_is_sent_page_by_page,
    an_address_outside_the_reach_is_not_posted_to,
    each_record_reads_alone_as_its_list_shows_it,
);

async fn users_fields_count_paging_and_order(app: App) {
    let key = app.key(&["all"]).await;
    let (status, body) = app.get("/api/v3/users", &key).await;
    assert_eq!(status, 200);
    assert_eq!(
        keys_of(&items(&body)[0]),
        ["id", "name", "url"].map(String::from).into()
    );
    assert!(body["data"].get("count").is_none(), "count only when asked");

    let (_, bracket) = app
        .get(
            "/api/v3/users?fields=id,department[id,name],manager[name]&paging=0,20",
            &key,
        )
        .await;
    let (_, dotted) = app
        .get(
            "/api/v3/users?fields=id,department.id,department.name,manager.name&paging=0,20",
            &key,
        )
        .await;
    assert_eq!(bracket, dotted);
    assert_eq!(
        keys_of(&items(&bracket)[1]["department"]),
        ["id", "name"].map(String::from).into()
    );

    let visible = app
        .employees()
        .await
        .into_iter()
        .filter(|e| e.data.contract.status_on(app.today) != ContractStatus::Former)
        .count();
    let (_, counted) = app
        .get("/api/v3/users?fields=id,collection.count&paging=0,10", &key)
        .await;
    assert_eq!(counted["data"]["count"], json!(visible));
    assert_eq!(items(&counted).len(), 10);

    // Walking pages gives every visible employee once, in order.
    let mut walked = Vec::new();
    for offset in (0..visible).step_by(40) {
        let (_, page) = app
            .get(&format!("/api/v3/users?fields=id&paging={offset},40"), &key)
            .await;
        walked.extend(ids(&page));
    }
    assert_eq!(walked.len(), visible);
    assert!(walked.windows(2).all(|w| w[0] < w[1]));

    let (_, by_name) = app
        .get(
            "/api/v3/users?fields=id,lastName&orderBy=lastName,desc&paging=0,50",
            &key,
        )
        .await;
    let names: Vec<String> = items(&by_name)
        .iter()
        .map(|i| i["lastName"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    let (status, _) = app.get("/api/v3/users?fields=id,shoeSize", &key).await;
    assert_eq!(status, 200, "unknown field names are ignored");
}

async fn users_filter_operators(app: App) {
    let key = app.key(&["all"]).await;
    let visible: Vec<Employee> = app
        .employees()
        .await
        .into_iter()
        .filter(|e| e.data.contract.status_on(app.today) != ContractStatus::Former)
        .collect();
    let expect = |pred: &dyn Fn(&Employee) -> bool| -> Vec<i64> {
        visible.iter().filter(|e| pred(e)).map(|e| e.id.0).collect()
    };
    let some_start = visible[40].data.contract.start;
    let name_part: String = visible[3]
        .data
        .last_name
        .as_str()
        .to_lowercase()
        .chars()
        .take(3)
        .collect();
    let cases: Vec<(String, Vec<i64>)> = vec![
        ("id=5".into(), expect(&|e| e.id.0 == 5)),
        ("id=1,2,3".into(), expect(&|e| e.id.0 <= 3)),
        ("id=notequal,1".into(), expect(&|e| e.id.0 != 1)),
        ("id=greaterthan,100".into(), expect(&|e| e.id.0 > 100)),
        (
            "id=greaterthanorequal,100".into(),
            expect(&|e| e.id.0 >= 100),
        ),
        ("id=lessthan,10".into(), expect(&|e| e.id.0 < 10)),
        ("id=lessthanorequal,10".into(), expect(&|e| e.id.0 <= 10)),
        (
            "dtContractEnd=null".into(),
            expect(&|e| e.data.contract.end.is_none()),
        ),
        (
            "dtContractEnd=notequal,null".into(),
            expect(&|e| e.data.contract.end.is_some()),
        ),
        (
            format!("dtContractStart=since,{some_start}"),
            expect(&|e| e.data.contract.start >= some_start),
        ),
        (
            format!("dtContractStart=until,{some_start}"),
            expect(&|e| e.data.contract.start <= some_start),
        ),
        (
            format!("dtContractStart=between,2020-01-01,{some_start}"),
            expect(&|e| {
                e.data.contract.start >= NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()
                    && e.data.contract.start <= some_start
            }),
        ),
        (
            format!("lastName=like,{name_part}"),
            expect(&|e| {
                e.data
                    .last_name
                    .as_str()
                    .to_lowercase()
                    .contains(&name_part)
            }),
        ),
        (
            "departmentId=3".into(),
            expect(&|e| e.data.department_id.map(|d| d.0) == Some(3)),
        ),
        (
            "legalEntityId=2,3".into(),
            expect(&|e| matches!(e.data.establishment_id.0, 2 | 3)),
        ),
        (
            format!("mail={}", visible[7].data.mail.as_str()),
            expect(&|e| e.id == visible[7].id),
        ),
        (
            "modifiedAt=since,2000-01-01T00:00:00".into(),
            expect(&|_| true),
        ),
        ("modifiedAt=since,2999-01-01T00:00:00Z".into(), vec![]),
    ];
    for (filter, expected) in cases {
        let (status, body) = app
            .get(
                &format!("/api/v3/users?fields=id&paging=0,1000&{filter}"),
                &key,
            )
            .await;
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(ids(&body), expected, "{filter}");
    }
}

const ENDPOINTS: &[(&str, &str)] = &[
    ("/api/v3/users", "personnel-file"),
    ("/api/v3/users/2", "personnel-file"),
    ("/api/v3/userlogs", "personnel-file"),
    ("/directory/api/4.0/work-contracts", "personnel-file"),
    ("/api/v3/departments", "organisation"),
    ("/api/v3/departments/tree", "organisation"),
    ("/api/v3/departments/2", "organisation"),
    ("/api/v3/legalentities", "organisation"),
    ("/api/v3/legalentities/2", "organisation"),
    ("/organization/structure/api/establishments", "organisation"),
    ("/organization/structure/api/legal-units", "organisation"),
    ("/api/v3/leaveAccounts", "absences"),
    ("/api/v3/leaveAccounts/2", "absences"),
    ("/api/v3/leaveRequests", "absences"),
    (
        "/api/v3/leaves?date=since,2000-01-01&leavePeriod.ownerId=2",
        "absences",
    ),
    ("/api/v3/expenseClaims", "expenses"),
    ("/api/v3/expenseClaims/2", "expenses"),
    ("/api/v3/expenseClaimItems", "expenses"),
    ("/api/v3/expenseClaimItems/2", "expenses"),
    ("/api/expenseNatures", "expenses"),
    ("/api/v3/expenseNatures", "expenses"),
    ("/api/v3/axes", "expenses"),
];

async fn permission_matrix(app: App) {
    let grants = [
        "all",
        "personnel-file",
        "organisation",
        "absences",
        "absence-requests",
        "expenses",
        "future-employees",
        "former-employees",
        "write-employees",
    ];
    for grant in grants {
        let key = app.key(&[grant]).await;
        for (path, needs) in ENDPOINTS {
            let request_reads = grant == "absence-requests"
                && (path.contains("leaveAccounts") || path.contains("leaveRequests"));
            let allowed = grant == "all" || grant == *needs || request_reads;
            let (status, body) = app.get(path, &key).await;
            if allowed {
                assert_eq!(status, 200, "{grant} on {path}: {body}");
            } else {
                assert_eq!(status, 403, "{grant} on {path}: {body}");
                assert_eq!(body["error"]["code"], "forbidden");
                let missing = body["error"]["details"]["missingGrant"]
                    .as_str()
                    .unwrap_or_default();
                assert_eq!(
                    missing, *needs,
                    "{grant} on {path}: the 403 names the missing grant"
                );
            }
        }
    }
}

async fn fields_outside_the_grants_never_appear(app: App) {
    let all_fields = "id,name,url,displayName,modifiedAt,lastName,firstName,login,mail,dtContractStart,dtContractEnd,birthDate,employeeNumber,jobTitle,csp,cspId,legalEntityId,legalEntity,departmentId,department[id,name],managerId,manager[id,name,url],extendedData";
    let happypal = app
        .key(&[
            "personnel-file:fields=firstName+lastName+mail+birthDate+dtContractStart+dtContractEnd",
        ])
        .await;
    let (_, body) = app
        .get(
            &format!("/api/v3/users?fields={all_fields}&paging=0,50"),
            &happypal,
        )
        .await;
    let allowed: BTreeSet<String> = [
        "id",
        "url",
        "modifiedAt",
        "firstName",
        "lastName",
        "mail",
        "birthDate",
        "dtContractStart",
        "dtContractEnd",
    ]
    .map(String::from)
    .into();
    for item in items(&body) {
        let got = keys_of(item);
        assert!(got.is_subset(&allowed), "HappyPal got {got:?}");
        assert!(got.contains("mail") && got.contains("birthDate"));
    }
    let (_, one) = app.get("/api/v3/users/2", &happypal).await;
    assert!(keys_of(&one["data"]).is_subset(&allowed), "{one}");

    let standard = app.key(&["personnel-file:sections=standard"]).await;
    let (_, body) = app
        .get(
            "/api/v3/users?fields=id,jobTitle,extendedData&paging=0,20",
            &standard,
        )
        .await;
    for item in items(&body) {
        assert!(item.get("jobTitle").is_some());
        assert!(
            item.get("extendedData").is_none(),
            "custom sections not granted: {item}"
        );
    }
    let medical = app.key(&["personnel-file:sections=medical"]).await;
    let (_, body) = app
        .get(
            "/api/v3/users?fields=id,jobTitle,extendedData&paging=0,50",
            &medical,
        )
        .await;
    for item in items(&body) {
        assert!(item.get("jobTitle").is_none());
        for k in item["extendedData"].as_object().unwrap().keys() {
            assert!(k == "e_bloodType" || k == "e_lastMedicalVisit", "{k}");
        }
    }
    // Filtering or sorting on a field the key may not read would leak it.
    let (status, body) = app
        .get("/api/v3/users?jobTitle=like,comptable", &happypal)
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = app.get("/api/v3/users?orderBy=login,asc", &happypal).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .get("/api/v3/userlogs?fields=name,value", &happypal)
        .await;
    assert_eq!(status, 200);
}

async fn future_and_former_employees_need_their_grants(app: App) {
    let all = app.employees().await;
    let count = |s: ContractStatus| {
        all.iter()
            .filter(|e| e.data.contract.status_on(app.today) == s)
            .count()
    };
    let (active, future, former) = (
        count(ContractStatus::Active),
        count(ContractStatus::Future),
        count(ContractStatus::Former),
    );
    assert!(future > 0 && former > 0);
    let plain = app.key(&["personnel-file"]).await;
    let (_, body) = app
        .get("/api/v3/users?fields=id,collection.count", &plain)
        .await;
    assert_eq!(body["data"]["count"], json!(active));
    let (status, body) = app.get("/api/v3/users?formerEmployees=true", &plain).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["details"]["missingGrant"], "former-employees");
    let both = app
        .key(&["personnel-file", "future-employees", "former-employees"])
        .await;
    let (_, body) = app
        .get(
            "/api/v3/users?fields=id,collection.count&formerEmployees=true",
            &both,
        )
        .await;
    assert_eq!(body["data"]["count"], json!(active + future + former));
    let future_one = all
        .iter()
        .find(|e| e.data.contract.status_on(app.today) == ContractStatus::Future)
        .unwrap();
    let (status, _) = app
        .get(&format!("/api/v3/users/{}", future_one.id), &plain)
        .await;
    assert_eq!(
        status, 404,
        "a future employee is invisible without the grant"
    );
    let (status, _) = app
        .get(&format!("/api/v3/users/{}", future_one.id), &both)
        .await;
    assert_eq!(status, 200);
}

async fn establishment_limited_keys(app: App) {
    let key = app
        .key(&[
            "personnel-file",
            "absences",
            "expenses",
            "organisation",
            "establishments=2",
        ])
        .await;
    let (_, body) = app
        .get("/api/v3/users?fields=id,legalEntityId&paging=0,1000", &key)
        .await;
    assert!(!items(&body).is_empty());
    assert!(items(&body).iter().all(|i| i["legalEntityId"] == 2));
    let (_, body) = app.get("/api/v3/legalentities?fields=id", &key).await;
    assert_eq!(ids(&body), vec![2]);
    let outsider = app
        .employees()
        .await
        .into_iter()
        .find(|e| {
            e.data.establishment_id.0 != 2
                && e.data.contract.status_on(app.today) == ContractStatus::Active
        })
        .unwrap();
    let (status, _) = app
        .get(&format!("/api/v3/users/{}", outsider.id), &key)
        .await;
    assert_eq!(status, 404);
    let (_, body) = app
        .get(
            &format!("/api/v3/leaveRequests?ownerId={}", outsider.id),
            &key,
        )
        .await;
    assert!(items(&body).is_empty());
}

async fn bases_are_isolated(app: App) {
    let mine = app.key(&["all"]).await;
    let theirs = app.key_on(&app.other, &["all"]).await;
    let (_, a) = app
        .get(
            "/api/v3/users?fields=id,mail,collection.count&formerEmployees=true",
            &mine,
        )
        .await;
    let (_, b) = app
        .get(
            "/api/v3/users?fields=id,mail,collection.count&formerEmployees=true",
            &theirs,
        )
        .await;
    assert_eq!(a["data"]["count"], json!(150));
    assert_eq!(b["data"]["count"], json!(40));
    // The same identifier names different people in each base.
    let (_, one_a) = app.get("/api/v3/users/3?fields=mail", &mine).await;
    let (_, one_b) = app.get("/api/v3/users/3?fields=mail", &theirs).await;
    assert_ne!(one_a["data"]["mail"], one_b["data"]["mail"]);
    let (status, _) = app.get("/api/v3/users/120", &theirs).await;
    assert_eq!(
        status, 404,
        "base 'other' has 40 employees; 120 exists only in production"
    );
}

async fn mistakes_get_clear_answers(app: App) {
    let key = app.key(&["all"]).await;
    let resp = app
        .client
        .get(format!("{}/api/v3/users", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let (status, body) = app
        .get("/api/v3/users", "relais_000000000000_deadbeef")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = app.get("/api/v3/users", "not-a-key").await;
    assert_eq!(status, 401);
    let cases = [
        (
            "/api/v3/users?id=greater,5",
            "id",
            "'greater' is neither a whole number nor an operator",
        ),
        (
            "/api/v3/users?modifiedAt=since,yesterday",
            "modifiedAt",
            "'yesterday' is not a date-time",
        ),
        (
            "/api/v3/users?dtContractStart=since,2026-02-30",
            "dtContractStart",
            "not a date",
        ),
        (
            "/api/v3/users?paging=0,1001",
            "paging",
            "between 1 and 1000",
        ),
        (
            "/api/v3/users?fields=id,department[name",
            "fields",
            "']' is missing",
        ),
        ("/api/v3/users?colour=blue", "colour", "not a parameter"),
        ("/api/v3/leaves?leavePeriod.ownerId=1", "date", "required"),
        (
            "/api/v3/leaves?date=since,2026-01-01",
            "leavePeriod.ownerId",
            "required",
        ),
        (
            "/organization/structure/api/establishments?page=0",
            "page",
            "page number",
        ),
    ];
    for (path, parameter, words) in cases {
        let (status, body) = app.get(path, &key).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(
            body["error"]["details"]["parameter"], parameter,
            "{path}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains(words),
            "{path}: {body}"
        );
    }
    let (status, body) = app.get("/api/v3/users/99999", &key).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = app.get("/api/v3/nowhere", &key).await;
    assert_eq!(status, 404);
    // A method the route does not take answers in the API's JSON too,
    // saying which it takes.
    let resp = app
        .client
        .delete(format!("{}/api/v3/users/1", app.url))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET,HEAD,PUT");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    assert_eq!(
        body["error"]["message"],
        "DELETE is not allowed on /api/v3/users/1: the answer's Allow header lists the methods it takes",
        "{body}"
    );

    // Rate limit: a key over its budget gets 429 with Retry-After.
    let limited = spawn(Backend::Sqlite, 3).await.unwrap();
    let k = limited.key(&["organisation"]).await;
    for _ in 0..3 {
        assert_eq!(limited.get("/api/v3/departments", &k).await.0, 200);
    }
    let resp = limited
        .client
        .get(format!("{}/api/v3/departments", limited.url))
        .header("Authorization", format!("lucca application={k}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    let other_key = limited.key(&["organisation"]).await;
    assert_eq!(
        limited.get("/api/v3/departments", &other_key).await.0,
        200,
        "the budget is per key"
    );

    // A revoked key answers 401.
    let (key_row, secret) = relais_app::keys::create_key(
        &app.store,
        app.base.id,
        Name::parse("name", "temp").unwrap(),
        Email::parse("a@b.fr").unwrap(),
        KeyUsage::Internal,
        Role::parse(&["all"]).unwrap(),
        relais_core::activity::Actor::CommandLine,
    )
    .await
    .unwrap();
    assert_eq!(app.get("/api/v3/users", &secret).await.0, 200);
    app.store
        .revoke_api_key(key_row.id, relais_core::activity::Actor::CommandLine)
        .await
        .unwrap();
    let (status, body) = app.get("/api/v3/users", &secret).await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("revoked"));
}

async fn users_are_created_updated_and_logged(app: App) {
    let writer = app
        .key(&["personnel-file", "write-employees", "future-employees"])
        .await;
    let reader = app.key(&["personnel-file"]).await;
    let new = json!({
        "firstName": "Inès", "lastName": "Nouvelle", "mail": "ines.nouvelle@relais-demo.fr", "employeeNumber": "N-0001",
        "legalEntityId": 1, "departmentId": 2, "managerId": 2, "jobTitle": "Comptable", "cspId": 1,
        "dtContractStart": "2024-01-08", "birthDate": "1994-02-03", "extendedData": { "e_tshirtSize": "M" }
    });
    let (status, _) = app
        .send(reqwest::Method::POST, "/api/v3/users", &reader, new.clone())
        .await;
    assert_eq!(status, 403, "creating needs write-employees");
    let (status, body) = app
        .send(reqwest::Method::POST, "/api/v3/users", &writer, new.clone())
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    assert_eq!(body["data"]["extendedData"]["e_tshirtSize"], "M");

    let mut same_mail = new.clone();
    same_mail["employeeNumber"] = json!("N-0002");
    same_mail["mail"] = json!("INES.NOUVELLE@relais-demo.fr");
    let (status, body) = app
        .send(reqwest::Method::POST, "/api/v3/users", &writer, same_mail)
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["details"]["field"], "mail");

    let mut backwards = new.clone();
    backwards["employeeNumber"] = json!("N-0003");
    backwards["mail"] = json!("x@relais-demo.fr");
    backwards["dtContractEnd"] = json!("2023-01-01");
    let (status, body) = app
        .send(reqwest::Method::POST, "/api/v3/users", &writer, backwards)
        .await;
    assert_eq!(status, 422, "{body}");
    let mut unborn = new.clone();
    unborn["employeeNumber"] = json!("N-0004");
    unborn["mail"] = json!("y@relais-demo.fr");
    unborn["birthDate"] = json!("1990-05-01");
    unborn["dtContractStart"] = json!("1989-09-01");
    let (status, body) = app
        .send(reqwest::Method::POST, "/api/v3/users", &writer, unborn)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"]["field"], "dtContractStart",
        "{body}"
    );
    let (status, body) = app
        .send(
            reqwest::Method::POST,
            "/api/v3/users",
            &writer,
            json!({ "firstName": 3 }),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let resp = app
        .client
        .post(format!("{}/api/v3/users", app.url))
        .header("Authorization", format!("Bearer {writer}"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{id}"),
            &writer,
            json!({ "departmentId": 3, "jobTitle": "Cheffe comptable" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["departmentId"], 3);
    assert_eq!(
        body["data"]["firstName"], "Inès",
        "fields not given are kept"
    );

    let (_, logs) = app.get(&format!("/api/v3/userlogs?ownerId={id}&name=departmentid&fields=name,value,entryType,author,modificationSource"), &reader).await;
    let entries = items(&logs);
    assert_eq!(entries.len(), 2, "{logs}");
    assert_eq!(entries[0]["entryType"], "creation");
    assert_eq!(
        (entries[1]["value"].clone(), entries[1]["entryType"].clone()),
        (json!("3"), json!("modification")),
        "a userlog's value is a string, as Lucca documents it"
    );
    assert_eq!(entries[1]["modificationSource"], "api");
    assert!(entries[1]["author"]["name"]
        .as_str()
        .unwrap()
        .contains("write-employees"));
}

/// Two requests changing two fields of one employee at the same moment
/// each keep their change: neither writes back what the other replaced.
async fn simultaneous_updates_of_an_employee_keep_both_changes(app: App) {
    let writer = app
        .key(&["personnel-file", "write-employees", "future-employees"])
        .await;
    let (_, listed) = app
        .get("/api/v3/users?fields=id&paging=0,20", &writer)
        .await;
    let ids: Vec<i64> = items(&listed)
        .iter()
        .filter_map(|u| u["id"].as_i64())
        .collect();
    assert!(ids.len() >= 10, "{listed}");
    for round in 0..6 {
        let department = 2 + round % 2;
        let writes: Vec<(String, Value)> = ids
            .iter()
            .flat_map(|id| {
                [
                    json!({ "jobTitle": format!("Round {round} of {id}") }),
                    json!({ "departmentId": department }),
                ]
                .map(|body| (format!("/api/v3/users/{id}"), body))
            })
            .collect();
        let sent = writes
            .iter()
            .map(|(path, body)| app.send(reqwest::Method::PUT, path, &writer, body.clone()));
        for (status, body) in futures_util::future::join_all(sent).await {
            assert_eq!(status, 200, "{body}");
        }
        for id in &ids {
            let (_, user) = app
                .get(
                    &format!("/api/v3/users/{id}?fields=jobTitle,departmentId"),
                    &writer,
                )
                .await;
            assert_eq!(
                (&user["data"]["jobTitle"], &user["data"]["departmentId"]),
                (&json!(format!("Round {round} of {id}")), &json!(department)),
                "round {round}, employee {id}: both changes are kept"
            );
        }
    }
    // Fifty writers of one employee at once: each is applied in turn, none
    // told to send it again (clashing and trying again, as writers in
    // different processes do, some ran out of tries).
    let one = format!("/api/v3/users/{}", ids[0]);
    let titles: Vec<String> = (0..50).map(|n| format!("Clash {n}")).collect();
    let sent = titles.iter().map(|title| {
        app.send(
            reqwest::Method::PUT,
            &one,
            &writer,
            json!({ "jobTitle": title }),
        )
    });
    for ((status, body), title) in futures_util::future::join_all(sent)
        .await
        .iter()
        .zip(&titles)
    {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["data"]["jobTitle"], json!(title), "{body}");
    }
    let (_, user) = app.get(&format!("{one}?fields=jobTitle"), &writer).await;
    assert!(
        titles.iter().any(|t| user["data"]["jobTitle"] == json!(t)),
        "{user}"
    );
}

async fn leave_requests_and_their_workflow(app: App) {
    let accounts = app.store.list_absence_accounts(app.base.id).await.unwrap();
    let telework = accounts
        .iter()
        .find(|a| a.name.as_str() == "Télétravail")
        .unwrap()
        .id
        .0;
    let paid = accounts
        .iter()
        .find(|a| a.name.as_str() == "Congés payés")
        .unwrap()
        .id
        .0;
    let semana = app
        .key(&[
            "personnel-file",
            "absences",
            &format!("absence-requests:accounts={telework}"),
        ])
        .await;
    let owner = 2;
    // A Wednesday well in the future, clear of generated absences.
    let day = "2027-03-10";
    let (status, body) = app
        .send(
            reqwest::Method::POST,
            "/api/v3/leaveRequests",
            &semana,
            json!({ "ownerId": owner, "leaveAccountId": paid, "startDate": day, "endDate": day }),
        )
        .await;
    assert_eq!(status, 403, "only the telework account: {body}");
    let (status, body) = app.send(reqwest::Method::POST, "/api/v3/leaveRequests", &semana, json!({ "ownerId": owner, "leaveAccountId": telework, "startDate": day, "endDate": day, "isApproved": true, "comment": "Télétravail" })).await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    assert_eq!(body["data"]["status"], 2);
    assert_eq!(body["data"]["halfDays"], 2);
    let (status, body) = app.send(reqwest::Method::POST, "/api/v3/leaveRequests", &semana, json!({ "ownerId": owner, "leaveAccountId": telework, "startDate": day, "startDateHalf": "PM", "endDate": day })).await;
    assert_eq!(status, 422, "overlap: {body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("overlaps"));
    let (status, body) = app.send(reqwest::Method::POST, "/api/v3/leaveRequests", &semana, json!({ "ownerId": owner, "leaveAccountId": telework, "startDate": "2027-03-12", "endDate": "2027-03-11" })).await;
    assert_eq!(status, 422, "end before start: {body}");
    assert_eq!(body["error"]["details"]["field"], "endDate");
    // A member of the wrong type, or one a request does not take, is refused
    // by name (read as absent, `isApproved: "yes"` would file a pending
    // request); a period over five years is refused; none writes anything.
    let periods = app
        .store
        .list_leave_periods(app.base.id, relais_core::ids::EmployeeId(owner))
        .await
        .unwrap()
        .len();
    let request = |extra: Value| {
        let mut body = json!({ "ownerId": owner, "leaveAccountId": telework, "startDate": "2027-04-07", "endDate": "2027-04-07" });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (extra, status, member, words) in [
        (
            json!({"isApproved": "yes"}),
            422,
            "isApproved",
            "\"yes\" is not true or false",
        ),
        (json!({"comment": 42}), 422, "comment", "42 is not a text"),
        (
            json!({"leaveAccountId": "4"}),
            422,
            "leaveAccountId",
            "\"4\" is not an identifier",
        ),
        (
            json!({"startDateHalf": "XM"}),
            422,
            "startDateHalf",
            "'XM' is not a half day",
        ),
        (
            json!({"isAproved": true}),
            400,
            "isAproved",
            "'isAproved' is not a member of a leave request; it takes leaveAccountId, ownerId",
        ),
        (
            json!({"endDate": "2032-04-07"}),
            422,
            "endDate",
            "a leave period covers at most 1827 days",
        ),
        (
            json!({"startDate": null}),
            422,
            "startDate",
            "is required (YYYY-MM-DD)",
        ),
    ] {
        let (got, body) = app
            .send(
                reqwest::Method::POST,
                "/api/v3/leaveRequests",
                &semana,
                request(extra.clone()),
            )
            .await;
        assert_eq!(got, status, "{extra}: {body}");
        let error = &body["error"];
        let named = if status == 400 {
            &error["details"]["parameter"]
        } else {
            &error["details"]["field"]
        };
        assert_eq!(named, member, "{extra}: {body}");
        assert!(
            error["message"].as_str().unwrap().contains(words),
            "{extra}: {body}"
        );
    }
    assert_eq!(
        app.store
            .list_leave_periods(app.base.id, relais_core::ids::EmployeeId(owner))
            .await
            .unwrap()
            .len(),
        periods
    );

    let (status, body) = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v3/leaveRequests/{id}/cancel"),
            &semana,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], 4);
    assert!(!body["data"]["cancellationDate"].is_null());
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v3/leaveRequests/{id}/approve"),
            &semana,
            json!({}),
        )
        .await;
    assert_eq!(status, 422, "a cancelled request cannot be approved");
    let (_, listed) = app
        .get(
            &format!("/api/v3/leaveRequests?id={id}&fields=id,status,source,isActive"),
            &semana,
        )
        .await;
    assert_eq!(items(&listed)[0]["isActive"], false);
    assert!(items(&listed)[0]["source"]
        .as_str()
        .unwrap()
        .starts_with("integration:"));
    let (_, pending) = app
        .get(
            "/api/v3/leaveRequests?status=0&fields=id,status&paging=0,1000",
            &semana,
        )
        .await;
    assert!(items(&pending).iter().all(|i| i["status"] == 0));
}

async fn leaves_expand_to_half_days(app: App) {
    let key = app.key(&["absences"]).await;
    let owner = app
        .employees()
        .await
        .into_iter()
        .find(|e| e.data.contract.status_on(app.today) == ContractStatus::Active && e.id.0 > 20)
        .unwrap();
    let periods = app
        .store
        .list_leave_periods(app.base.id, owner.id)
        .await
        .unwrap();
    let expected: u32 = periods.iter().map(|p| p.half_days).sum();
    let (status, body) = app.get(&format!("/api/v3/leaves?date=since,2000-01-01&leavePeriod.ownerId={}&fields=id,date,isAM,leavePeriod[ownerId,isConfirmed],isActive,collection.count&paging=0,1000", owner.id), &key).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"], json!(expected));
    let first = &items(&body)[0];
    let id = first["id"].as_str().unwrap();
    assert!(
        id.starts_with(&format!("{}-", owner.id)) && (id.ends_with("-AM") || id.ends_with("-PM")),
        "{id}"
    );
    assert_eq!(
        keys_of(&first["leavePeriod"]),
        ["isConfirmed", "ownerId"].map(String::from).into()
    );
    // A window keeps only the leaves inside it.
    let p = periods.iter().find(|p| p.half_days >= 4).unwrap();
    let day = p.span.start.date;
    let (_, one_day) = app
        .get(
            &format!(
                "/api/v3/leaves?date={day}&leavePeriod.ownerId={}&fields=date,collection.count",
                owner.id
            ),
            &key,
        )
        .await;
    assert!(items(&one_day).iter().all(|l| l["date"] == json!(day)));
    assert!(one_day["data"]["count"].as_i64().unwrap() <= 2);
    let dept = owner.data.department_id.unwrap().0;
    let (status, by_dept) = app.get(&format!("/api/v3/leaves?date=between,{},{}&leavePeriod.owner.departmentId={dept}&fields=leavePeriod.ownerId&paging=0,1000", app.today - chrono::Days::new(60), app.today), &key).await;
    assert_eq!(status, 200);
    let owners: BTreeSet<i64> = items(&by_dept)
        .iter()
        .map(|l| l["leavePeriod"]["ownerId"].as_i64().unwrap())
        .collect();
    for o in owners {
        let e = app
            .store
            .get_employee(app.base.id, relais_core::ids::EmployeeId(o))
            .await
            .unwrap();
        assert_eq!(e.data.department_id.unwrap().0, dept);
    }
}

async fn a_leave_is_read_by_its_identifier(app: App) {
    let key = app.key(&["absences"]).await;
    let employees = app.employees().await;
    // An owner with a period of several half days that holds the calendar.
    let (owner, period) = {
        let mut found = None;
        for e in employees
            .iter()
            .filter(|e| e.data.contract.status_on(app.today) == ContractStatus::Active)
        {
            let periods = app
                .store
                .list_leave_periods(app.base.id, e.id)
                .await
                .unwrap();
            if let Some(p) = periods
                .into_iter()
                .find(|p| p.half_days >= 2 && p.status.occupies_calendar())
            {
                found = Some((e.clone(), p));
                break;
            }
        }
        found.expect("the seed has a period of two half days or more")
    };
    let day = period.span.start.date;
    let (status, listed) = app
        .get(
            &format!(
                "/api/v3/leaves?date={day}&leavePeriod.ownerId={}&paging=0,100",
                owner.id
            ),
            &key,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let mine: Vec<&Value> = items(&listed)
        .iter()
        .filter(|l| l["leavePeriodId"] == json!(period.id.0))
        .collect();
    assert!(!mine.is_empty(), "{listed}");
    let leave_id = mine[0]["id"].as_str().unwrap().to_owned();
    for leave in mine {
        let id = leave["id"].as_str().unwrap();
        // The list's own leave, field for field, with the list's default fields.
        let (status, one) = app.get(&format!("/api/v3/leaves/{id}"), &key).await;
        assert_eq!(status, 200, "{id}: {one}");
        assert_eq!(&one["data"], leave, "{id}");
        // And with the fields asked for.
        let (status, some) = app
            .get(
                &format!("/api/v3/leaves/{id}?fields=id,isAM,leavePeriod[ownerId]"),
                &key,
            )
            .await;
        assert_eq!(status, 200, "{some}");
        assert_eq!(
            keys_of(&some["data"]),
            ["id", "isAM", "leavePeriod"].map(String::from).into()
        );
        assert_eq!(
            some["data"]["leavePeriod"],
            json!({ "ownerId": owner.id.0 })
        );
        // A filter the leave does not match leaves nothing to answer.
        let other = if period.account_id.0 == 1 { 2 } else { 1 };
        let (status, _) = app
            .get(&format!("/api/v3/leaves/{id}?leaveAccountId={other}"), &key)
            .await;
        assert_eq!(status, 404, "{id} with another account");
    }
    // A day without a leave of the owner, well formed: not found.
    let (status, body) = app
        .get(&format!("/api/v3/leaves/{}-19990104-AM", owner.id), &key)
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("visible to this key"), "{body}");
    // An identifier that is not one says what one looks like.
    for bad in [
        "abc",
        "12",
        "12-20260105",
        "12-20261301-AM",
        "12-20260105-XM",
    ] {
        let (status, body) = app.get(&format!("/api/v3/leaves/{bad}"), &key).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["details"]["parameter"], "id", "{bad}: {body}");
        assert!(
            body.to_string().contains("<employee id>-<yyyyMMdd>-AM"),
            "{bad}: {body}"
        );
    }
    // A key limited to another establishment does not see it, as if it did not exist.
    let elsewhere = app
        .store
        .list_establishments(app.base.id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.id != owner.data.establishment_id)
        .unwrap();
    let outside = app
        .key(&["absences", &format!("establishments={}", elsewhere.id)])
        .await;
    let (status, body) = app
        .get(&format!("/api/v3/leaves/{leave_id}"), &outside)
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("leavePeriod"), "{body}");
    // A key without the absences grant is refused, with the grant it lacks.
    let people = app.key(&["personnel-file"]).await;
    let (status, _) = app
        .get(&format!("/api/v3/leaves/{leave_id}"), &people)
        .await;
    assert_eq!(status, 403);
}

async fn csv_import_simulates_then_creates(app: App) {
    let employees = app.employees().await;
    let e = employees
        .iter()
        .find(|e| e.data.contract.status_on(app.today) == ContractStatus::Active && e.id.0 > 30)
        .unwrap();
    let est = app
        .store
        .list_establishments(app.base.id)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.id == e.data.establishment_id)
        .unwrap();
    let accounts = app.store.list_absence_accounts(app.base.id).await.unwrap();
    let rtt = accounts
        .iter()
        .find(|a| a.name.as_str() == "RTT")
        .unwrap()
        .id
        .0;
    let key = app.key(&["absences", "absence-requests"]).await;
    let line = |start: &str, end: &str| {
        format!(
            "{};{};{};{};{rtt};{start};AM;{end};PM;true",
            est.code.as_str(),
            e.data.employee_number,
            e.data.last_name,
            e.data.first_name
        )
    };
    let header = "legalEntity;employeeNumber;lastName;firstName;accountId;startDate;flagStartDate;endDate;flagEndDate;isApproved";
    let good = format!(
        "{header}\n{}\n{}\n",
        line("08/03/2027", "08/03/2027"),
        line("09/03/2027", "10/03/2027")
    );
    let before = app
        .store
        .list_leave_periods(app.base.id, e.id)
        .await
        .unwrap()
        .len();
    let post = |csv: String, create: bool| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::text(csv).file_name("absences.csv"),
        );
        app.client
            .post(format!(
                "{}/timmi-absences/api/imports/v1.0/leavePeriods?create={create}",
                app.url
            ))
            .header("Authorization", format!("lucca application={key}"))
            .multipart(form)
            .send()
    };
    let resp = post(good.clone(), false).await.unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["data"]["simulated"], true);
    assert_eq!(report["data"]["errors"], 0);
    assert_eq!(
        app.store
            .list_leave_periods(app.base.id, e.id)
            .await
            .unwrap()
            .len(),
        before,
        "a simulation changes nothing"
    );

    let bad = format!(
        "{header}\n{}\n{};{};X;Y;{rtt};32/01/2027;AM;01/02/2027;PM;true\n{}\nnot;enough;columns\n",
        line("15/03/2027", "15/03/2027"),
        est.code.as_str(),
        e.data.employee_number,
        line("15/03/2027", "16/03/2027")
    );
    let resp = post(bad, true).await.unwrap();
    assert_eq!(resp.status(), 422);
    let report: Value = resp.json().await.unwrap();
    let refused = report.clone();
    let lines = report["data"]["report"].as_array().unwrap();
    assert_eq!(lines[0]["status"], "ok");
    assert_eq!(
        (lines[1]["line"].clone(), lines[1]["status"].clone()),
        (json!(3), json!("error"))
    );
    assert!(
        lines[1]["message"].as_str().unwrap().contains("is "),
        "{}",
        lines[1]
    );
    assert!(
        lines[2]["message"]
            .as_str()
            .unwrap()
            .contains("earlier line"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3]["message"].as_str().unwrap().contains("columns"),
        "{}",
        lines[3]
    );
    assert_eq!(
        app.store
            .list_leave_periods(app.base.id, e.id)
            .await
            .unwrap()
            .len(),
        before,
        "a file with errors creates nothing"
    );

    let resp = post(good, true).await.unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["data"]["created"], 2);
    // The answer as the document gives it, with and without errors.
    let schema = answer_schema(
        &app.openapi().await,
        "post",
        "/timmi-absences/api/imports/v1.0/leavePeriods",
        200,
    );
    conforms_wholly(&report, &schema, "the import");
    conforms_wholly(&refused, &schema, "the import refused");
    assert!(report["data"]["report"][0]["leavePeriodId"].is_i64());
    assert_eq!(
        app.store
            .list_leave_periods(app.base.id, e.id)
            .await
            .unwrap()
            .len(),
        before + 2
    );
}

async fn organisation_and_expenses_shapes(app: App) {
    let key = app
        .key(&["organisation", "expenses", "personnel-file"])
        .await;
    let (_, deps) = app
        .get(
            "/api/v3/departments?fields=id,name,code,parentId,level,hierarchy,collection.count",
            &key,
        )
        .await;
    assert_eq!(deps["data"]["count"], json!(17));
    let root = items(&deps)
        .iter()
        .find(|d| d["parentId"].is_null())
        .unwrap();
    assert_eq!(root["level"], 1);
    let (_, tree) = app.get("/api/v3/departments/tree", &key).await;
    assert_eq!(tree["data"]["children"].as_array().unwrap().len(), 1);
    let (_, est) = app
        .get(
            "/organization/structure/api/establishments?page=1&limit=2&fields.root=count",
            &key,
        )
        .await;
    assert_eq!(est["count"], json!(5));
    assert_eq!(est["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        est["items"][0]["legalIdentificationNumber"]
            .as_str()
            .unwrap()
            .len(),
        14
    );
    let (_, units) = app
        .get("/organization/structure/api/legal-units", &key)
        .await;
    assert_eq!(units["items"].as_array().unwrap().len(), 2);
    // A legal unit's country is named in the language the client asks
    // first, French otherwise (Lucca's own names).
    let id = relais_core::ids::LegalUnitId(
        app.store
            .reserve_ids(app.base.id, relais_core::ids::Entity::LegalUnit, 1)
            .await
            .unwrap(),
    );
    let t = relais_core::now();
    app.store
        .insert_records(relais_store::Records::LegalUnits(&[
            relais_core::org::LegalUnit {
                base_id: app.base.id,
                id,
                name: Name::parse("name", "Filiale Deutschland GmbH").unwrap(),
                siren: relais_core::org::Siren::parse("732829320").unwrap(),
                country: "DE".into(),
                code: "FILDE".into(),
                headquarters_id: None,
                archived: false,
                created_at: t,
                modified_at: t,
            },
        ]))
        .await
        .unwrap();
    let country_of = |units: &Value| {
        units["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id.0)
            .map(|u| u["country"].clone())
            .unwrap()
    };
    let (_, french) = app
        .get("/organization/structure/api/legal-units", &key)
        .await;
    let (_, english) = app
        .get_in(
            "en-US,en;q=0.9,fr;q=0.8",
            "/organization/structure/api/legal-units",
            &key,
        )
        .await;
    assert_eq!(
        country_of(&french),
        json!({ "id": 276, "name": "Allemagne", "code": "DE" })
    );
    assert_eq!(
        country_of(&english),
        json!({ "id": 276, "name": "Germany", "code": "DE" })
    );
    let (_, contracts) = app
        .get(
            "/directory/api/4.0/work-contracts?isApplicable=true&fields.root=count&limit=5",
            &key,
        )
        .await;
    assert!(contracts["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["isApplicable"] == true));
    let (_, claims) = app.get("/api/v3/expenseClaims?fields=id,ownerId,statusId,declaredOn,collection.count&paging=0,5", &key).await;
    assert!(claims["data"]["count"].as_i64().unwrap() > 10);
    let claim = &items(&claims)[0];
    let (_, its) = app.get(&format!("/api/v3/expenseClaimItems?expenseClaimId={}&fields=id,expenseClaimId,processedAmounts,axisSections,warnings", claim["id"]), &key).await;
    for item in items(&its) {
        assert_eq!(item["expenseClaimId"], claim["id"]);
        let gross = item["processedAmounts"]["grossAmount"].as_f64().unwrap();
        let net = item["processedAmounts"]["netAmount"].as_f64().unwrap();
        assert!(gross >= net);
    }
    // Lucca's older envelope: the list under data, its count in the header.
    let (_, natures) = app.get("/api/expenseNatures", &key).await;
    let list = natures["data"].as_array().unwrap();
    assert!(list.len() >= 5, "{natures}");
    assert_eq!(natures["header"]["paging"]["count"], list.len());
    assert!(list
        .iter()
        .all(|n| n["type"]["tag"].is_string() && n["type"]["id"].is_i64()));
    assert!(list.iter().any(|n| n["type"]["tag"] == "mileage"));
    let (_, v3) = app.get("/api/v3/expenseNatures", &key).await;
    assert_eq!(items(&v3).len(), list.len());
    let (_, axes) = app.get("/api/v3/axes", &key).await;
    let axis_id = items(&axes)[0]["id"].as_i64().unwrap();
    let (_, axis) = app.get(&format!("/api/v3/axes/{axis_id}"), &key).await;
    assert!(!axis["data"]["axisSections"].as_array().unwrap().is_empty());
}

async fn audit_trail_records_each_request(app: App) {
    let key = app.key(&["personnel-file"]).await;
    app.get("/api/v3/users?fields=id&paging=0,7", &key).await;
    app.get("/api/v3/expenseClaims", &key).await;
    app.audit.flush().await;
    let keys = app.store.list_api_keys(app.base.id).await.unwrap();
    let row = keys.iter().find(|k| key.contains(&k.prefix)).unwrap();
    assert!(row.last_used_at.is_some());
    let trail = app.store.list_requests(row.id, 10).await.unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!((trail[0].status, trail[0].employee_records), (403, 0));
    assert_eq!((trail[1].status, trail[1].employee_records), (200, 7));
    assert!(trail[1]
        .path
        .ends_with("/api/v3/users?fields=id&paging=0,7"));
}

async fn openapi_describes_every_endpoint(app: App) {
    let doc = app.openapi().await;
    assert_eq!(doc["openapi"], "3.0.3");
    let key = app.key(&["all"]).await;
    for (method, path) in relais_api::openapi::listed() {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        // Every documented path is routed: it never answers the unknown-path 404.
        let concrete = path.replace("{id}", "1");
        let req = app
            .client
            .request(
                method.to_uppercase().parse().unwrap(),
                format!("{}{concrete}", app.url),
            )
            .header("Authorization", format!("Bearer {key}"));
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let unrouted = status == 404
            && body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("no API endpoint"));
        assert!(
            !unrouted && status != 405,
            "{method} {path} is documented but not served ({status})"
        );
    }
    for (path, _) in ENDPOINTS {
        let bare = path.split('?').next().unwrap().replace("/2", "/{id}");
        assert!(
            doc["paths"][&bare].is_object(),
            "{bare} is served but not documented"
        );
    }
    // A body described member by member is the body the handler takes: a
    // member it lists is not refused as unknown, one it does not list is.
    let mut described = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            let Some(members) = schema["properties"].as_object() else {
                continue;
            };
            if path.contains("{id}/") {
                continue; // an action on an endpoint this test has not made
            }
            described += 1;
            assert_eq!(schema["additionalProperties"], false, "{method} {path}");
            let concrete = path.replace("{id}", "1");
            let send = |body: Value| {
                let (method, concrete, key) =
                    (method.to_uppercase(), concrete.clone(), key.clone());
                let app = &app;
                async move {
                    app.send(method.parse().unwrap(), &concrete, &key, body)
                        .await
                }
            };
            let (status, body) = send(json!({ "notAMember": 1 })).await;
            assert_eq!(status, 400, "{method} {path}: {body}");
            assert_eq!(
                body["error"]["details"]["parameter"], "notAMember",
                "{method} {path}"
            );
            for member in members.keys() {
                let (_, body) = send(json!({ member.clone(): null })).await;
                assert_ne!(
                    body["error"]["details"]["parameter"],
                    member.as_str(),
                    "{method} {path}: {member} is described but refused: {body}"
                );
            }
        }
    }
    assert_eq!(described, 4, "users (POST, PUT), leave requests, webhooks");
}

/// What the OpenAPI document shows a client could send is answered as a
/// success on a seeded base: every list with all its parameters' examples
/// at once, and every body example of a write on a record of its own.
async fn the_documents_examples_are_answered(app: App) {
    let doc = app.openapi().await;
    let key = app.key(&["all"]).await;
    let (mut lists, mut typed_values) = (0, 0);
    for (path, ops) in doc["paths"].as_object().unwrap() {
        // An integration's own reads take an installed app's key.
        let read = !path.contains('{') && !path.starts_with("/api/relais/integration");
        let Some(op) = ops.get("get").filter(|_| read) else {
            continue;
        };
        let pairs: Vec<(&str, String)> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let example = match &p["example"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((p["name"].as_str()?, example))
            })
            .collect();
        if pairs.is_empty() {
            continue;
        }
        lists += 1;
        let resp = app
            .client
            .get(format!("{}{path}", app.url))
            .query(&pairs)
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 200, "GET {path} with {pairs:?}: {body}");
        // Every field the document types, asked for at once (a v4 list
        // answers its own selection): each value written as the document
        // (the field catalogue) says.
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        let v3 = &schema["properties"]["data"]["properties"]["items"]["items"]["properties"];
        let v4 = &schema["properties"]["items"]["items"]["properties"];
        let (fields, selected) = match (v3.as_object(), v4.as_object()) {
            (Some(f), _) if pairs.iter().any(|(n, _)| *n == "fields") => (f, true),
            (_, Some(f)) => (f, false),
            _ => continue,
        };
        // Only what a list requires (the leaves' days and owners), over all
        // the days kept, so that there are records to look at.
        let mut asked: Vec<(&str, String)> = pairs
            .iter()
            .filter(|(n, _)| *n == "leavePeriod.ownerId")
            .cloned()
            .collect();
        if pairs.iter().any(|(n, _)| *n == "date") {
            asked.push(("date", "since,2000-01-01".to_owned()));
        }
        if selected {
            let names: Vec<&str> = fields.keys().map(String::as_str).collect();
            asked.push(("fields", names.join(",")));
            asked.push(("paging", "0,50".to_owned()));
        }
        let resp = app
            .client
            .get(format!("{}{path}", app.url))
            .query(&asked)
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        let records = if selected {
            &body["data"]["items"]
        } else {
            &body["items"]
        };
        let records = records.as_array().expect("a list");
        assert!(
            !records.is_empty(),
            "{path} with {asked:?}: no record to check"
        );
        for record in records {
            for (name, field) in fields {
                let Some(value) = record.get(name) else {
                    assert!(!selected, "{path}: {name} asked, not written: {record}");
                    continue;
                };
                assert!(
                    !value.is_null() || field["nullable"] == true,
                    "{path}: {name} is null: {record}"
                );
                if !value.is_null() {
                    assert!(
                        written_as(value, field),
                        "{path}: {name} is {value}, the document says {field}"
                    );
                    typed_values += 1;
                }
            }
        }
    }
    // The resources' lists, the ready-made reports and the change feed.
    assert!(lists >= 20, "lists showing examples: {lists}");
    assert!(typed_values > 1_000, "values checked: {typed_values}");

    let example = |path: &str, method: &str| {
        doc["paths"][path][method]["requestBody"]["content"]["application/json"]["example"].clone()
    };
    // The one success status the document gives a write.
    let success = |path: &str, method: &str| -> u16 {
        let answers = doc["paths"][path][method]["responses"].as_object().unwrap();
        let successes: Vec<&String> = answers.keys().filter(|k| k.starts_with('2')).collect();
        assert_eq!(successes.len(), 1, "{method} {path}: {successes:?}");
        successes[0].parse().unwrap()
    };
    let answer_schema =
        |path: &str, method: &str, status: u16| answer_schema(&doc, method, path, status);
    // Sends a write the document describes (`template` its path there),
    // checks it answers the success the document gives it, shaped as the
    // document says (`what` names it), and returns the answer.
    let write = |method: reqwest::Method,
                 template: &'static str,
                 path: String,
                 body: Value,
                 what: &'static str| {
        let (app, key, success, answer_schema) = (&app, &key, &success, &answer_schema);
        async move {
            let verb = method.as_str().to_lowercase();
            let (status, answer) = app.send(method, &path, key, body).await;
            assert_eq!(status, success(template, &verb), "{what}: {answer}");
            conforms(&answer, &answer_schema(template, &verb, status), what);
            answer
        }
    };
    // The base's fields and the ready-made reports, as documented, member
    // for member.
    for path in ["/api/relais/fields", "/api/relais/reports"] {
        let (status, answer) = app.get(path, &key).await;
        assert_eq!(status, 200, "{answer}");
        assert!(!answer["data"]["items"].as_array().unwrap().is_empty());
        conforms_wholly(&answer, &answer_schema(path, "get", 200), path);
    }
    // A standard field's label in the language the client asks first.
    let job_title = |answer: &Value| {
        items(answer)
            .iter()
            .find(|f| f["path"] == "jobTitle")
            .map(|f| f["label"].clone())
            .unwrap()
    };
    let (_, french) = app.get("/api/relais/fields", &key).await;
    let (_, english) = app
        .get_in("en-GB,en;q=0.9,fr;q=0.8", "/api/relais/fields", &key)
        .await;
    assert_eq!(
        (job_title(&french), job_title(&english)),
        (json!("Intitulé de poste"), json!("Job title"))
    );
    assert_eq!(success("/api/v3/users", "post"), 201);
    let created = write(
        reqwest::Method::POST,
        "/api/v3/users",
        "/api/v3/users".into(),
        example("/api/v3/users", "post"),
        "the employee created",
    )
    .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let update = example("/api/v3/users/{id}", "put");
    write(
        reqwest::Method::PUT,
        "/api/v3/users/{id}",
        format!("/api/v3/users/{id}"),
        update.clone(),
        "the employee updated",
    )
    .await;
    let (_, read) = app
        .get(
            &format!("/api/v3/users/{id}?fields=jobTitle,departmentId"),
            &key,
        )
        .await;
    assert_eq!(read["data"]["jobTitle"], update["jobTitle"]);
    assert_eq!(read["data"]["departmentId"], update["departmentId"]);
    // A write goes without any member but those the document requires:
    // one left out is refused, naming it, and nothing is written; any other
    // left out, the write succeeds.
    let before = app.employees().await.len();
    let made = leave_out_each(&app, &key, &doc, "/api/v3/users", |i, body| {
        body["mail"] = json!(format!("without.{i}@example.com"));
        body["employeeNumber"] = json!(format!("W{i:05}"));
    })
    .await;
    assert_eq!(app.employees().await.len(), before + made);
    leave_out_each(&app, &key, &doc, "/api/v3/leaveRequests", |i, body| {
        // A week of its own each (Monday to Friday), for the employee just
        // created: those made do not overlap.
        let monday = NaiveDate::from_ymd_opt(2026, 9, 7).unwrap() + chrono::Days::new(7 * i as u64);
        body["ownerId"] = json!(id);
        body["startDate"] = json!(monday);
        body["endDate"] = json!(monday + chrono::Days::new(4));
    })
    .await;
    let mut request = example("/api/v3/leaveRequests", "post");
    request["ownerId"] = json!(id);
    let requested = write(
        reqwest::Method::POST,
        "/api/v3/leaveRequests",
        "/api/v3/leaveRequests".into(),
        request,
        "the leave requested",
    )
    .await;
    let request_id = requested["data"]["id"].as_i64().unwrap();
    let approved = write(
        reqwest::Method::POST,
        "/api/v3/leaveRequests/{id}/approve",
        format!("/api/v3/leaveRequests/{request_id}/approve"),
        Value::Null,
        "the leave approved",
    )
    .await;
    let (_, read) = app
        .get(&format!("/api/v3/leaveRequests/{request_id}"), &key)
        .await;
    conforms(
        &read,
        &answer_schema("/api/v3/leaveRequests/{id}", "get", 200),
        "the leave read",
    );
    assert_eq!(read["data"]["status"], approved["data"]["status"]);
    // An endpoint is registered (inactive until its address echoes), then
    // deleted, each answered as documented.
    let endpoint = write(
        reqwest::Method::POST,
        "/api/relais/webhooks",
        "/api/relais/webhooks".into(),
        example("/api/relais/webhooks", "post"),
        "the endpoint registered",
    )
    .await;
    assert!(endpoint["data"]["secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));
    let id = endpoint["data"]["id"].as_i64().unwrap();
    // Its test event is a delivery (failed: the address does not answer),
    // listed as the document says.
    assert_eq!(success("/api/relais/webhooks/{id}/test", "post"), 200);
    write(
        reqwest::Method::POST,
        "/api/relais/webhooks/{id}/test",
        format!("/api/relais/webhooks/{id}/test"),
        Value::Null,
        "the endpoint tested",
    )
    .await;
    let (_, endpoints) = app.get("/api/relais/webhooks", &key).await;
    conforms(
        &endpoints,
        &answer_schema("/api/relais/webhooks", "get", 200),
        "the endpoints",
    );
    let (_, deliveries) = app
        .get(&format!("/api/relais/webhooks/{id}/deliveries"), &key)
        .await;
    assert_eq!(
        deliveries["data"]["items"][0]["topic"], "webhook.test",
        "{deliveries}"
    );
    conforms(
        &deliveries,
        &answer_schema("/api/relais/webhooks/{id}/deliveries", "get", 200),
        "the deliveries",
    );
    let resp = app
        .client
        .delete(format!("{}/api/relais/webhooks/{id}", app.url))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        success("/api/relais/webhooks/{id}", "delete")
    );
}

/// Sends the document's example body of `POST path` once for each of its
/// members, that member left out and the rest made unique by `unique` (with
/// the member's place): one the document requires is refused with an error
/// naming it; any other, the record is created (201). How many were.
async fn leave_out_each(
    app: &App,
    key: &str,
    doc: &Value,
    path: &str,
    unique: impl Fn(usize, &mut Value),
) -> usize {
    let schema = &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"];
    let required: Vec<&str> = schema["schema"]["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let example = &schema["example"];
    let mut made = 0;
    for (i, member) in example.as_object().unwrap().keys().enumerate() {
        let mut body = example.clone();
        unique(i, &mut body);
        body.as_object_mut().unwrap().remove(member);
        let (status, answer) = app.send(reqwest::Method::POST, path, key, body).await;
        if required.contains(&member.as_str()) {
            let details = &answer["error"]["details"];
            assert!(
                (400..500).contains(&status)
                    && (details["field"] == *member || details["parameter"] == *member),
                "{path} without {member}: {status} {answer}"
            );
        } else {
            assert_eq!(status, 201, "{path} without {member}: {answer}");
            made += 1;
        }
    }
    made
}

/// Every part of a request that relais parses is bounded, with a 400 naming
/// the parameter and the limit; none of these reaches the database, and the
/// server answers the next request as before.
async fn hostile_requests_are_bounded(app: App) {
    let key = app.key(&["all"]).await;
    // The request that once overflowed the stack: refused before parsing.
    let (status, body) = app
        .get(
            &format!("/api/v3/users?fields={}id", "manager.".repeat(8_000)),
            &key,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let deep = format!("/api/v3/users?fields={}id", "manager.".repeat(300));
    let long_fields = format!("/api/v3/users?fields={}", vec!["id"; 1500].join(","));
    let many_orders = format!("/api/v3/users?orderBy={}", vec!["id,asc"; 40].join(","));
    let many_filters = format!(
        "/api/v3/users?{}",
        (0..1000)
            .map(|i| format!("id={i}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let long_like = format!("/api/v3/users?lastName=like,{}", "a".repeat(60_000));
    let long_list = format!("/api/v3/users?id={}", vec!["1"; 600].join(","));
    let bracketed = format!(
        "/api/v3/users?fields={}id{}",
        "a[".repeat(500),
        "]".repeat(500)
    );
    let cases: [(&str, &str, &str); 7] = [
        (&deep, "fields", "8 levels"),
        (&long_fields, "fields", "4096 characters"),
        (&many_orders, "orderBy", "8 terms"),
        (&many_filters, "query", "at most 100"),
        (&long_like, "query", "16384 bytes"),
        (&long_list, "id", "500 values"),
        (&bracketed, "fields", "8 levels"),
    ];
    for (path, parameter, words) in cases {
        let (status, body) = app.get(path, &key).await;
        assert_eq!(status, 400, "{}: {body}", &path[..60]);
        assert_eq!(body["error"]["details"]["parameter"], parameter, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(words),
            "{body}"
        );
    }
    let like = format!("/api/v3/users?lastName=like,{}", "é".repeat(300));
    let (status, body) = app.get(&like, &key).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("200 characters"));
    let twelve = format!(
        "/api/v3/users?{}",
        (0..60)
            .map(|i| format!("lastName=like,x{i}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let (status, body) = app.get(&twelve, &key).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("50 filters"));
    // Nesting within the limit still works.
    let (status, body) = app
        .get("/api/v3/users?fields=id,manager.id&paging=0,2", &key)
        .await;
    assert_eq!(status, 200, "{body}");

    // A JSON body over the limit is a 413 naming it; a deeply nested one a 400.
    let huge = json!({ "firstName": "x".repeat(2 * 1024 * 1024) });
    let (status, body) = app
        .send(reqwest::Method::POST, "/api/v3/users", &key, huge)
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["details"]["limitBytes"], 1024 * 1024);
    let nested = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let resp = app
        .client
        .post(format!("{}/api/v3/users", app.url))
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .body(nested)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // The server is still there.
    let (status, _) = app.get("/api/v3/users?paging=0,1", &key).await;
    assert_eq!(status, 200);
}

/// Someone working in establishment 2 whose manager works elsewhere, and
/// that manager.
fn managed_from_elsewhere<'a>(
    app: &App,
    employees: &'a [Employee],
) -> (&'a Employee, &'a Employee) {
    let by_id: std::collections::HashMap<_, _> = employees.iter().map(|e| (e.id, e)).collect();
    employees
        .iter()
        .filter(|e| e.data.contract.status_on(app.today) == ContractStatus::Active)
        .filter(|e| e.data.establishment_id.0 == 2)
        .find_map(|e| {
            let m = by_id.get(&e.data.manager_id?)?;
            (m.data.establishment_id.0 != 2).then_some((e, *m))
        })
        .expect("the demo has a manager in another establishment")
}

/// A write to an employee the key may not see is refused at once, as for a
/// missing one, even while someone else's write of that employee is under
/// way: it neither waits behind it (which would tell the key that the
/// employee exists and is being changed) nor holds it up. A key that may
/// see the employee waits for its turn.
async fn a_key_that_cannot_see_an_employee_does_not_wait_for_its_writers(app: App) {
    use std::time::Duration;
    let employees = app.employees().await;
    let (_, boss) = managed_from_elsewhere(&app, &employees);
    let scoped = app
        .key(&["personnel-file", "write-employees", "establishments=2"])
        .await;
    let all = app.key(&["all"]).await;
    let path = format!("/api/v3/users/{}", boss.id);
    let turn = app.state.turns.take((app.base.id.0, boss.id.0)).await;
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        app.send(
            reqwest::Method::PUT,
            &path,
            &scoped,
            json!({ "jobTitle": "X" }),
        ),
    )
    .await
    .expect("refused without waiting for the turn");
    assert_eq!(refused.0, 404, "{}", refused.1);
    let waiting = app.send(
        reqwest::Method::PUT,
        &path,
        &all,
        json!({ "jobTitle": "Y" }),
    );
    tokio::pin!(waiting);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut waiting)
            .await
            .is_err(),
        "a key that sees the employee waits for the turn"
    );
    drop(turn);
    let (status, body) = waiting.await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["jobTitle"], "Y", "{body}");
}

/// Twenty writes of one employee sent at once, while another write of it
/// is under way, are all applied, none asked to be sent again, each on what
/// the one before left: the change feed holds twenty updates whose previous
/// job title is the one before's new one, ending with the title the
/// employee has, and none had to be applied again (each read the employee
/// once its turn came, not before).
async fn writers_of_one_employee_at_once_each_change_what_the_last_left(app: App) {
    let employees = app.employees().await;
    let (someone, _) = managed_from_elsewhere(&app, &employees);
    let writer = app.key(&["all"]).await;
    let start = app.store.last_event(app.base.id).await.unwrap();
    let path = format!("/api/v3/users/{}", someone.id);
    let applied_again = || async {
        let metrics = reqwest::get(format!("{}/metrics", app.url)).await.unwrap();
        let text = metrics.text().await.unwrap();
        text.lines()
            .find_map(|l| {
                l.strip_prefix("relais_api_writes_applied_again_total{resource=\"users\"} ")
            })
            .map(|n| n.trim().parse::<u64>().unwrap())
            .expect("the counter is shown from the start")
    };
    let clashes_before = applied_again().await;
    // The write under way: each of the twenty reads the employee before it
    // ends, then waits for its turn.
    let turn = app.state.turns.take((app.base.id.0, someone.id.0)).await;
    let ended = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        drop(turn);
    };
    let writes = (0..20).map(|n| {
        let (app, path, writer) = (&app, &path, &writer);
        async move {
            app.send(
                reqwest::Method::PUT,
                path,
                writer,
                json!({ "jobTitle": format!("Titre {n}") }),
            )
            .await
        }
    });
    let ((), answers) = tokio::join!(ended, futures_util::future::join_all(writes));
    for (status, body) in answers {
        assert_eq!(status, 200, "{body}");
    }
    let (events, _) = feed(&app, &writer, start, "&topics=employee.updated&limit=100").await;
    assert_eq!(events.len(), 20, "{events:?}");
    let mut title = json!(someone.data.job_title);
    for event in &events {
        assert_eq!(event["data"]["id"], someone.id.0);
        assert_eq!(event["previousAttributes"]["jobTitle"], title, "{event}");
        title = event["data"]["jobTitle"].clone();
    }
    let (_, now) = app.get(&path, &writer).await;
    assert_eq!(now["data"]["jobTitle"], title);
    // Each read the employee again once its turn came, after the one before
    // had written it: none clashed and had to be applied again.
    assert_eq!(applied_again().await, clashes_before);
}

/// The answer to a write is the employee as a read just after shows it,
/// manager included: named when the key may see them, `null` when not,
/// the new one when the write names one, none when it clears it.
async fn a_written_employee_is_answered_as_it_reads(app: App) {
    let employees = app.employees().await;
    let (report, boss) = managed_from_elsewhere(&app, &employees);
    // Someone else of establishment 2, to be their new manager.
    let colleague = employees
        .iter()
        .filter(|e| e.data.contract.status_on(app.today) == ContractStatus::Active)
        .find(|e| e.data.establishment_id.0 == 2 && e.id != report.id)
        .expect("establishment 2 has two people");
    let scoped = app
        .key(&["personnel-file", "write-employees", "establishments=2"])
        .await;
    let all = app.key(&["all"]).await;
    let path = format!("/api/v3/users/{}", report.id);
    let written_then_read = |key: String, body: Value| {
        let (app, path) = (&app, &path);
        async move {
            let (status, written) = app.send(reqwest::Method::PUT, path, &key, body).await;
            assert_eq!(status, 200, "{written}");
            let (status, read) = app.get(path, &key).await;
            assert_eq!(status, 200, "{read}");
            assert_eq!(written["data"], read["data"]);
            written["data"].clone()
        }
    };
    let seen = written_then_read(all.clone(), json!({ "jobTitle": "Paie" })).await;
    assert_eq!(seen["manager"]["id"], boss.id.0, "{seen}");
    assert_eq!(seen["manager"]["name"], boss.display_name(), "{seen}");
    let hidden = written_then_read(scoped.clone(), json!({ "jobTitle": "Paie 2" })).await;
    assert_eq!(hidden["managerId"], Value::Null, "{hidden}");
    assert_eq!(hidden["manager"], Value::Null, "{hidden}");
    assert!(!hidden.to_string().contains(boss.data.last_name.as_str()));
    let moved = written_then_read(scoped.clone(), json!({ "managerId": colleague.id.0 })).await;
    assert_eq!(
        moved["manager"]["name"],
        colleague.display_name(),
        "{moved}"
    );
    let kept = written_then_read(scoped.clone(), json!({ "jobTitle": "Paie 3" })).await;
    assert_eq!(kept["manager"]["id"], colleague.id.0, "{kept}");
    let cleared = written_then_read(all, json!({ "managerId": null })).await;
    assert_eq!(cleared["manager"], Value::Null, "{cleared}");
}

/// A key limited to establishments learns nothing of people outside them:
/// not through links, not through filters, not through writes, and the
/// same person is "not found" whether read or written.
async fn out_of_scope_reads_and_writes_as_missing(app: App) {
    let employees = app.employees().await;
    let (report, boss) = managed_from_elsewhere(&app, &employees);
    let key = app
        .key(&[
            "personnel-file",
            "write-employees",
            "absences",
            "absence-requests",
            "establishments=2",
        ])
        .await;
    let (status, _) = app.get(&format!("/api/v3/users/{}", boss.id), &key).await;
    assert_eq!(status, 404);
    let (status, body) = app
        .get(
            &format!(
                "/api/v3/users/{}?fields=id,managerId,manager[id,name]",
                report.id
            ),
            &key,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["managerId"], Value::Null, "{body}");
    assert_eq!(body["data"]["manager"], Value::Null, "{body}");
    assert!(!body.to_string().contains(boss.data.last_name.as_str()));
    // Filtering on such a manager matches nobody, like a missing one.
    let (_, found) = app
        .get(
            &format!("/api/v3/users?managerId={}&fields=id", boss.id),
            &key,
        )
        .await;
    let (_, missing) = app
        .get("/api/v3/users?managerId=999999&fields=id", &key)
        .await;
    assert!(items(&found).is_empty(), "{found}");
    assert_eq!(found, missing);
    // A key that sees everyone still finds the reports.
    let all = app.key(&["all"]).await;
    let (_, everyone) = app
        .get(
            &format!("/api/v3/users?managerId={}&fields=id", boss.id),
            &all,
        )
        .await;
    assert!(ids(&everyone).contains(&report.id.0));
    // Writes may not point at them, and answer as for a missing person.
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{}", report.id),
            &key,
            json!({ "managerId": boss.id.0 }),
        )
        .await;
    let (missing_status, missing_body) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{}", report.id),
            &key,
            json!({ "managerId": 999_999 }),
        )
        .await;
    assert_eq!(
        (status, missing_status),
        (422, 422),
        "{body} {missing_body}"
    );
    assert_eq!(body["error"]["details"]["field"], "managerId");
    assert_eq!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .replace(&boss.id.to_string(), "N"),
        missing_body["error"]["message"]
            .as_str()
            .unwrap()
            .replace("999999", "N")
    );
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{}", boss.id),
            &key,
            json!({ "jobTitle": "Changed" }),
        )
        .await;
    assert_eq!(
        status, 404,
        "writing someone out of scope is not found, like reading"
    );
    let accounts = app.store.list_absence_accounts(app.base.id).await.unwrap();
    let (status, body) = app
        .send(
            reqwest::Method::POST,
            "/api/v3/leaveRequests",
            &key,
            json!({ "ownerId": boss.id.0, "leaveAccountId": accounts[0].id.0,
                    "startDate": "2027-06-02", "endDate": "2027-06-02" }),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.to_string().contains("establishment"), "{body}");
    // Department heads outside the key's scope read as no head.
    let org_key = app.key(&["organisation", "establishments=2"]).await;
    let (_, departments) = app
        .get(
            "/api/v3/departments?fields=id,headID&paging=0,1000",
            &org_key,
        )
        .await;
    let (_, all_departments) = app
        .get(
            "/api/v3/departments?fields=id,headID&paging=0,1000",
            &app.key(&["all"]).await,
        )
        .await;
    let by_id: std::collections::HashMap<i64, &Employee> =
        employees.iter().map(|e| (e.id.0, e)).collect();
    let mut hidden = 0;
    for (scoped, full) in items(&departments).iter().zip(items(&all_departments)) {
        match full["headID"].as_i64() {
            Some(head) if by_id[&head].data.establishment_id.0 != 2 => {
                assert!(scoped["headID"].is_null(), "{scoped}");
                hidden += 1;
            }
            _ => {}
        }
    }
    assert!(hidden > 0, "the demo has heads outside establishment 2");
}

/// Values no one could mean are refused with the field named.
async fn implausible_values_are_refused(app: App) {
    let writer = app
        .key(&[
            "personnel-file",
            "write-employees",
            "future-employees",
            "absences",
            "absence-requests",
        ])
        .await;
    let base = json!({
        "firstName": "Paul", "lastName": "Plausible", "mail": "paul.plausible@relais-demo.fr",
        "employeeNumber": "P-0001", "legalEntityId": 1, "dtContractStart": "2024-01-08"
    });
    let tomorrow = (app.today + chrono::Duration::days(1)).to_string();
    let cases = [
        ("dtContractStart", json!("1899-12-31"), "dtContractStart"),
        ("dtContractStart", json!("2101-01-01"), "dtContractStart"),
        ("dtContractEnd", json!("2345-01-01"), "dtContractEnd"),
        ("birthDate", json!("1850-05-05"), "birthDate"),
        ("birthDate", json!(tomorrow), "birthDate"),
        ("jobTitle", json!("x".repeat(256)), "jobTitle"),
        ("profession", json!("y".repeat(300)), "profession"),
        ("login", json!(""), "login"),
        ("login", json!("   "), "login"),
    ];
    for (field, value, named) in cases {
        let mut body = base.clone();
        body[field] = value;
        let (status, answer) = app
            .send(reqwest::Method::POST, "/api/v3/users", &writer, body)
            .await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert_eq!(answer["error"]["details"]["field"], named, "{answer}");
    }
    let mut fine = base.clone();
    fine["jobTitle"] = json!("x".repeat(255));
    fine["birthDate"] = json!("1990-02-03");
    fine["dtContractEnd"] = json!("2026-12-31");
    let (status, created) = app
        .send(reqwest::Method::POST, "/api/v3/users", &writer, fine)
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_i64().unwrap();
    // A member named twice is refused, not read as one of its values, and
    // changes nothing.
    let answer = app
        .client
        .put(format!("{}/api/v3/users/{id}", app.url))
        .header("Authorization", format!("Bearer {writer}"))
        .header("Content-Type", "application/json")
        .body(r#"{"jobTitle": "Directeur", "jobTitle": "Stagiaire"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["error"]["details"]["parameter"], "body", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("'jobTitle' is given twice"), "{answer}");
    let (_, read) = app.get(&format!("/api/v3/users/{id}"), &writer).await;
    assert_eq!(read["data"]["jobTitle"], "x".repeat(255), "{read}");
    // Leave periods before the contract starts or after it ends are refused.
    let account = app.store.list_absence_accounts(app.base.id).await.unwrap()[0]
        .id
        .0;
    for (start, end, field) in [
        ("2023-12-04", "2023-12-05", "startDate"),
        ("2026-12-28", "2027-01-05", "endDate"),
    ] {
        let (status, body) = app
            .send(
                reqwest::Method::POST,
                "/api/v3/leaveRequests",
                &writer,
                json!({ "ownerId": id, "leaveAccountId": account, "startDate": start, "endDate": end }),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["details"]["field"], field, "{body}");
    }
}

/// The CSV import reads files as spreadsheets save them, says what is wrong
/// with a line without telling what the base holds outside the key's reach,
/// and refuses empty or oversized files.
async fn csv_import_reads_real_files_and_tells_nothing_more(app: App) {
    let employees = app.employees().await;
    let active = |e: &&Employee| e.data.contract.status_on(app.today) == ContractStatus::Active;
    let inside = employees
        .iter()
        .filter(active)
        .find(|e| e.data.establishment_id.0 == 2)
        .unwrap();
    let outside = employees
        .iter()
        .filter(active)
        .find(|e| e.data.establishment_id.0 != 2)
        .unwrap();
    let establishments = app.store.list_establishments(app.base.id).await.unwrap();
    let code = |id: i64| {
        establishments
            .iter()
            .find(|e| e.id.0 == id)
            .unwrap()
            .code
            .as_str()
            .to_owned()
    };
    let rtt = app
        .store
        .list_absence_accounts(app.base.id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.name.as_str() == "RTT")
        .unwrap()
        .id
        .0;
    // A key limited to establishment 2 that cannot read names.
    let key = app
        .key(&["absences", "absence-requests", "establishments=2"])
        .await;
    let post = |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("absences.csv"),
        );
        app.client
            .post(format!(
                "{}/timmi-absences/api/imports/v1.0/leavePeriods?create=false",
                app.url
            ))
            .header("Authorization", format!("lucca application={key}"))
            .multipart(form)
            .send()
    };
    let header = "legalEntity;employeeNumber;lastName;firstName;accountId;startDate;flagStartDate;endDate;flagEndDate;isApproved";
    let line = |e: &Employee, last: &str, first: &str| {
        format!(
            "{};{};{last};{first};{rtt};08/03/2027;AM;08/03/2027;PM;true",
            code(e.data.establishment_id.0),
            e.data.employee_number
        )
    };
    // Wrong names for someone inside, the right names for someone outside,
    // someone inside claimed for another establishment, a missing number.
    let text = [
        header.to_owned(),
        line(inside, "y", "x"),
        line(
            outside,
            outside.data.last_name.as_str(),
            outside.data.first_name.as_str(),
        ),
        format!(
            "{};{};a;b;{rtt};08/03/2027;AM;08/03/2027;PM;true",
            code(2),
            outside.data.employee_number
        ),
        format!(
            "{};NOBODY-1;a;b;{rtt};08/03/2027;AM;08/03/2027;PM;true",
            code(2)
        ),
    ]
    .join("\n");
    let resp = post(text.into_bytes()).await.unwrap();
    assert_eq!(resp.status(), 422);
    let report: Value = resp.json().await.unwrap();
    let lines = report["data"]["report"].as_array().unwrap();
    let all = report.to_string();
    for e in [inside, outside] {
        assert!(
            !all.contains(e.data.last_name.as_str()) || e.id == outside.id,
            "{all}"
        );
        assert!(!all.contains(&e.display_name()), "{all}");
    }
    assert!(
        lines[0]["message"]
            .as_str()
            .unwrap()
            .contains("'x y' is not the name"),
        "{}",
        lines[0]
    );
    // Someone outside reads exactly like someone who does not exist.
    let strip = |v: &Value, number: &str| v["message"].as_str().unwrap().replace(number, "N");
    assert!(
        lines[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("legalEntity: no establishment"),
        "{}",
        lines[1]
    );
    assert_eq!(
        strip(&lines[2], outside.data.employee_number.as_str()),
        strip(&lines[3], "NOBODY-1")
    );

    // Real files: a BOM, CRLF or CR line ends, quoted cells, a blank line.
    let good = |e: &Employee| {
        format!(
            "\"{}\";{};\"{}\";{};{rtt};08/03/2027;AM;08/03/2027;PM;true",
            code(2),
            e.data.employee_number,
            e.data.last_name,
            e.data.first_name
        )
    };
    for end in ["\r\n", "\r", "\n"] {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(format!("{header}{end}{end}{}{end}", good(inside)).into_bytes());
        let resp = post(bytes).await.unwrap();
        let status = resp.status();
        let report: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{end:?}: {report}");
        assert_eq!(report["data"]["lines"], 1, "{end:?}: {report}");
        assert_eq!(report["data"]["report"][0]["line"], 3, "{end:?}: {report}");
    }
    // No data line, not UTF-8, too large.
    for (bytes, words) in [
        (header.as_bytes().to_vec(), "no data line"),
        (b"".to_vec(), "no data line"),
        (
            [format!("{header}\nab").as_bytes(), b"\xE9;c"].concat(),
            "line 2",
        ),
    ] {
        let resp = post(bytes).await.unwrap();
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(words),
            "{body}"
        );
    }
    let big = vec![b'a'; 6 * 1024 * 1024];
    let resp = post(big).await.unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["details"]["limitBytes"], 5 * 1024 * 1024);
}

/// Two servers over one database (as two relais processes would be) share
/// each key's budget; refused requests are counted per minute, not written
/// one row each to the audit trail.
async fn the_rate_limit_holds_across_processes(app: App) {
    let key = app.key(&["organisation"]).await;
    let mut urls = Vec::new();
    let mut audits = Vec::new();
    for _ in 0..2 {
        let state = AppState::new(app.store.clone(), 6);
        audits.push(state.audit.clone());
        let router = relais_api::layers::harden(
            axum::Router::new()
                .merge(relais_api::router(state.clone()))
                .with_state(state),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!("http://{}", listener.local_addr().unwrap()));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    }
    let mut statuses = Vec::new();
    for n in 0..20 {
        let resp = app
            .client
            .get(format!("{}/api/v3/departments?fields=id", urls[n % 2]))
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(allowed, 6, "six a minute across both servers: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 14);
    let key_id = app
        .store
        .list_api_keys(app.base.id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| key.contains(&format!("relais_{}_", k.prefix)))
        .unwrap()
        .id;
    for audit in &audits {
        audit.flush().await;
    }
    let logged = app.store.list_requests(key_id, 100).await.unwrap();
    assert_eq!(logged.len(), 6, "refused requests are not one row each");
    let limited: i64 = app
        .store
        .limited_requests(key_id, 10)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(limited, 14);
}

/// `fields.root` takes any of count, prev and next; the links lead through
/// every record once, as a Lucca client follows them.
async fn v4_pages_link_their_neighbours(app: App) {
    let key = app.key(&["all"]).await;
    for path in [
        "/organization/structure/api/establishments",
        "/organization/structure/api/legal-units",
        "/directory/api/4.0/work-contracts",
    ] {
        let (status, all) = app
            .get(&format!("{path}?limit=1000&fields.root=count"), &key)
            .await;
        assert_eq!(status, 200, "{all}");
        let total = all["count"].as_i64().unwrap();
        assert_eq!(all["items"].as_array().unwrap().len() as i64, total);
        assert!(all.get("next").is_none(), "links only when asked");
        let mut next = Some(format!(
            "{}{path}?limit=2&fields.root=count,prev,next",
            app.url
        ));
        let (mut seen, mut pages) = (Vec::new(), 0);
        while let Some(url) = next {
            let resp = app
                .client
                .get(&url)
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{url}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["count"], total);
            if pages == 0 {
                assert!(body["prev"].is_null(), "{body}");
            } else {
                assert!(body["prev"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("page={pages}")));
            }
            seen.extend(
                body["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].clone()),
            );
            next = body["next"].as_str().map(|n| {
                // Links name the host the client used.
                assert!(n.starts_with("http://"), "{n}");
                format!("{}{}", app.url, &n[n.find(path).unwrap()..])
            });
            pages += 1;
            assert!(pages <= 1000);
        }
        assert_eq!(seen.len() as i64, total, "{path}");
        let distinct: BTreeSet<String> = seen.iter().map(Value::to_string).collect();
        assert_eq!(distinct.len(), seen.len());
    }
    let (status, body) = app
        .get(
            "/organization/structure/api/legal-units?fields.root=total",
            &key,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["details"]["parameter"], "fields.root");
}

/// Field names, parameters and path segments match whatever their case, as
/// on Lucca; answers keep Lucca's spelling; grants still hold.
async fn names_match_whatever_their_case(app: App) {
    let key = app.key(&["all"]).await;
    let (status, lower) = app
        .get("/api/v3/users?fields=id,FIRSTNAME,extendeddata,Department[NAME]&orderby=LASTNAME,desc&paging=0,5", &key)
        .await;
    assert_eq!(status, 200, "{lower}");
    let (_, exact) = app
        .get("/api/v3/users?fields=id,firstName,extendedData,department[name]&orderBy=lastName,desc&paging=0,5", &key)
        .await;
    assert_eq!(lower, exact);
    assert_eq!(
        keys_of(&items(&exact)[0]),
        ["id", "firstName", "extendedData", "department"]
            .map(String::from)
            .into()
    );
    let (_, filtered) = app
        .get(
            "/api/v3/users?LASTNAME=like,a&Fields=id,lastName,Collection.Count",
            &key,
        )
        .await;
    let (_, same) = app
        .get(
            "/api/v3/users?lastName=like,a&fields=id,lastName,collection.count",
            &key,
        )
        .await;
    assert_eq!(filtered, same);
    assert!(same["data"]["count"].as_i64().unwrap() > 0);
    let (_, former) = app
        .get(
            "/api/v3/users?FormerEmployees=true&fields=collection.count",
            &key,
        )
        .await;
    let (_, current) = app.get("/api/v3/users?fields=collection.count", &key).await;
    assert!(former["data"]["count"].as_i64() > current["data"]["count"].as_i64());
    for (a, b) in [
        (
            "/api/v3/legalEntities?fields=id,name",
            "/api/v3/legalentities?fields=id,name",
        ),
        ("/API/V3/LeaveAccounts", "/api/v3/leaveAccounts"),
        (
            "/organization/structure/api/Legal-Units",
            "/organization/structure/api/legal-units",
        ),
    ] {
        let (status, x) = app.get(a, &key).await;
        let (_, y) = app.get(b, &key).await;
        assert_eq!(status, 200, "{a}: {x}");
        assert_eq!(x, y, "{a}");
    }
    // A key that may read only first names reads nothing more in another case.
    let narrow = app.key(&["personnel-file:fields=firstName"]).await;
    let (_, body) = app
        .get(
            "/api/v3/users?fields=id,FIRSTNAME,LASTNAME,MAIL&paging=0,3",
            &narrow,
        )
        .await;
    assert_eq!(
        keys_of(&items(&body)[0]),
        ["id", "firstName"].map(String::from).into()
    );
    let (status, _) = app.get("/api/v3/users?LASTNAME=like,a", &narrow).await;
    assert_eq!(status, 403);
    // Every fixed segment of every route is known to the path matching.
    for (_, path) in relais_api::openapi::listed() {
        for segment in path
            .split('/')
            .filter(|s| s.chars().any(char::is_alphabetic) && !s.starts_with('{'))
        {
            if segment.starts_with('v')
                && segment[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
            {
                continue;
            }
            assert!(
                relais_api::layers::PATH_SEGMENTS.contains(&segment),
                "{path}: {segment}"
            );
        }
    }
}

/// Walking every leave 250 at a time with `collection.count`: one total for
/// the whole walk, every leave once, and a page reached directly is the same
/// page the walk served.
async fn a_deep_leaves_walk_serves_every_leave_once(app: App) {
    let key = app.key(&["absences"]).await;
    let establishments: Vec<String> = app
        .store
        .list_establishments(app.base.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.0.to_string())
        .collect();
    let mut expected = 0u64;
    for e in app.employees().await {
        for p in app
            .store
            .list_leave_periods(app.base.id, e.id)
            .await
            .unwrap()
        {
            expected += u64::from(p.half_days);
        }
    }
    let path = |offset: u64| {
        format!(
            "/api/v3/leaves?date=since,2000-01-01&leavePeriod.owner.legalEntityId={}&fields=id,date,collection.count&paging={offset},250",
            establishments.join(",")
        )
    };
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    loop {
        let (status, body) = app.get(&path(seen.len() as u64), &key).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["data"]["count"],
            json!(expected),
            "page {}",
            pages.len()
        );
        let page: Vec<String> = items(&body)
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect();
        if page.is_empty() {
            break;
        }
        seen.extend(page.clone());
        pages.push(page);
    }
    assert!(pages.len() > 4, "{} pages", pages.len());
    assert_eq!(seen.len() as u64, expected);
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "no leave twice");
    // Another key jumping straight to the third page gets the same page.
    let other = app.key(&["absences"]).await;
    let (_, body) = app.get(&path(500), &other).await;
    let direct: Vec<String> = items(&body)
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(direct, pages[2]);
    assert_eq!(body["data"]["count"], json!(expected));
}

/// A walk's count is kept while the base's data is unchanged and counted
/// again after any change to it — made here straight through the store, as
/// the pages, an import, the command line or a connector would, not
/// through the API — and only after a change: reads, the audit trail, a
/// refused write and another base's changes leave it as it is.
/// The names an answer shows (`department.name`) are read once per
/// structure version: an employee's update keeps them, and a department
/// added outside the API shows by its name at once.
async fn names_are_kept_until_the_structure_changes(app: App) {
    use relais_core::ids::{DepartmentId, Entity};
    use relais_core::org::{Code, Department};
    let key = app.key(&["all"]).await;
    let someone = app.employees().await.remove(5);
    let path = format!("/api/v3/users/{}", someone.id);
    let named = |body: &Value| {
        body["data"]["department"]["name"]
            .as_str()
            .map(str::to_owned)
    };
    let (status, before) = app
        .get(&format!("{path}?fields=id,department.name"), &key)
        .await;
    assert_eq!(status, 200, "{before}");
    let structure = app.store.base_version(app.base.id).await.unwrap().structure;
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &path,
            &key,
            json!({ "jobTitle": "Cartographe" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(named(&body), named(&before), "an update keeps the names");
    assert_eq!(
        app.store.base_version(app.base.id).await.unwrap().structure,
        structure,
        "an employee's update is not a change to the structure"
    );
    // A department added by another writer (an import, a copy).
    let id = DepartmentId(
        app.store
            .reserve_ids(app.base.id, Entity::Department, 1)
            .await
            .unwrap(),
    );
    let t = relais_core::now();
    app.store
        .insert_records(relais_store::Records::Departments(&[Department {
            base_id: app.base.id,
            id,
            parent_id: None,
            code: Code::parse("code", "CARTO").unwrap(),
            name: Name::parse("name", "Cartographie").unwrap(),
            head_id: None,
            position: 99,
            active: true,
            created_at: t,
            modified_at: t,
        }]))
        .await
        .unwrap();
    assert!(app.store.base_version(app.base.id).await.unwrap().structure > structure);
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &path,
            &key,
            json!({ "departmentId": id.0 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(named(&body).as_deref(), Some("Cartographie"), "{body}");
    let (_, listed) = app
        .get(
            &format!("/api/v3/users?id={}&fields=id,department.name", someone.id),
            &key,
        )
        .await;
    assert_eq!(
        items(&listed)[0]["department"]["name"],
        "Cartographie",
        "{listed}"
    );
}

async fn counts_are_kept_until_the_base_changes_whoever_changes_it(app: App) {
    use relais_core::audit::Author;
    let key = app.key(&["all"]).await;
    let count = |path: &'static str| {
        let (app, key) = (&app, &key);
        async move {
            let (status, body) = app.get(path, key).await;
            assert_eq!(status, 200, "{body}");
            body["data"]["count"].as_i64().unwrap()
        }
    };
    const ALL: &str = "/api/v3/users?fields=id,collection.count&paging=0,10";
    const DEEP: &str = "/api/v3/users?fields=id,collection.count&paging=20,10";
    const NAMED: &str = "/api/v3/users?lastName=like,Zzqx&fields=id,collection.count";
    let before = app.store.base_version(app.base.id).await.unwrap();
    let total = count(ALL).await;
    assert_eq!(count(DEEP).await, total);
    assert_eq!(count(NAMED).await, 0);
    app.audit.flush().await;
    assert_eq!(
        app.store.base_version(app.base.id).await.unwrap(),
        before,
        "reads and their audit rows are not changes to the base"
    );
    // Another base changes: this one's version stays.
    let stranger = app
        .store
        .query_employees(app.other.id, &relais_store::ListQuery::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let mut data = stranger.data.clone();
    data.job_title = Some("Cartographe".into());
    app.store
        .update_employee(&stranger, &data, &Author::system("test"))
        .await
        .unwrap();
    assert_eq!(app.store.base_version(app.base.id).await.unwrap(), before);
    // A change to this base outside the API: the next page counts again.
    let someone = app.employees().await.remove(3);
    let mut renamed = someone.data.clone();
    renamed.last_name = Name::parse("lastName", "Zzqxette").unwrap();
    app.store
        .update_employee(&someone, &renamed, &Author::system("test"))
        .await
        .unwrap();
    let after_update = app.store.base_version(app.base.id).await.unwrap();
    assert!(
        after_update.data > before.data,
        "{after_update:?} after {before:?}"
    );
    assert_eq!(count(NAMED).await, 1, "the update is counted");
    // A refused write (the e-mail is taken) changes nothing, the version included.
    let mut twin = someone.data.clone();
    twin.employee_number = relais_core::employee::EmployeeNumber::parse("ZZ-TWIN").unwrap();
    twin.login = "zz.twin".into();
    assert!(app
        .store
        .create_employee(app.base.id, &twin, &Author::system("test"))
        .await
        .is_err());
    assert_eq!(
        app.store.base_version(app.base.id).await.unwrap(),
        after_update
    );
    assert_eq!(count(ALL).await, total);
    // A new employee: the first page and a deep one both count them.
    twin.mail = Email::parse("zz.twin@relais-demo.fr").unwrap();
    app.store
        .create_employee(app.base.id, &twin, &Author::system("test"))
        .await
        .unwrap();
    assert_eq!(count(DEEP).await, total + 1);
    assert_eq!(count(ALL).await, total + 1);
}

/// A seeded base tells how its people moved over the years: department,
/// manager, job title and establishment changes, each ending at the current
/// value, with values as strings.
async fn a_seeded_base_has_a_history_of_changes(app: App) {
    let key = app.key(&["all"]).await;
    let mut logs = Vec::new();
    let mut offset = 0;
    loop {
        let (status, body) = app
            .get(
                &format!("/api/v3/userlogs?name=departmentid,manager,jobtitle,legalentityid&fields=id,ownerId,name,value,entryType,modifiedAt,modificationSource&paging={offset},1000"),
                &key,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let page = items(&body).clone();
        if page.is_empty() {
            break;
        }
        offset += page.len();
        logs.extend(page);
    }
    let moves = logs
        .iter()
        .filter(|l| l["entryType"] == "modification")
        .count();
    assert!(moves > 50, "{moves} changes in {} entries", logs.len());
    assert!(
        logs.iter().all(|l| l["value"].is_string()),
        "values are strings"
    );
    for field in ["departmentid", "manager", "jobtitle", "legalentityid"] {
        assert!(
            logs.iter()
                .any(|l| l["name"] == field && l["entryType"] == "modification"),
            "{field} changes"
        );
    }
    // The latest entry of each field is the employee's current value.
    let employees: std::collections::HashMap<i64, Employee> = app
        .employees()
        .await
        .into_iter()
        .map(|e| (e.id.0, e))
        .collect();
    let mut latest: std::collections::BTreeMap<(i64, String), (String, String)> =
        Default::default();
    for l in &logs {
        let k = (
            l["ownerId"].as_i64().unwrap(),
            l["name"].as_str().unwrap().to_owned(),
        );
        let at = l["modifiedAt"].as_str().unwrap().to_owned();
        let value = l["value"].as_str().unwrap().to_owned();
        if latest.get(&k).is_none_or(|(t, _)| at >= *t) {
            latest.insert(k, (at, value));
        }
    }
    assert!(latest.len() > 100);
    // A key without the former-employees grant sees no log of someone who left.
    let today = app.today;
    let narrow = app.key(&["personnel-file"]).await;
    let (_, body) = app
        .get(
            "/api/v3/userlogs?fields=ownerId&paging=0,1000&name=departmentid",
            &narrow,
        )
        .await;
    for l in items(&body) {
        let e = &employees[&l["ownerId"].as_i64().unwrap()];
        assert_eq!(e.data.contract.status_on(today), ContractStatus::Active);
    }
    for ((owner, field), (_, value)) in latest {
        let e = &employees[&owner].data;
        let current = match field.as_str() {
            "departmentid" => e.department_id.map(|d| d.0.to_string()),
            "manager" => e.manager_id.map(|m| m.0.to_string()),
            "jobtitle" => e.job_title.clone(),
            _ => Some(e.establishment_id.0.to_string()),
        }
        .unwrap_or_default();
        assert_eq!(value, current, "{owner} {field}");
    }
}

/// Values of their own, not copies of other columns: each item's number
/// within its claim, how it was paid and whether it was checked; who entered
/// a claim and where its approval stands; the legal units' code, country,
/// head office and archiving.
/// A list leaves unread the columns its fields do not show, and writes
/// dates, instants and names by hand: what it shows is still what the
/// store holds, field for field, whatever the case the fields are asked in.
async fn a_list_shows_what_the_store_holds(app: App) {
    let key = app.key(&["all"]).await;
    let stored: BTreeMap<i64, Employee> = app
        .employees()
        .await
        .into_iter()
        .map(|e| (e.id.0, e))
        .collect();
    let day = |d: Option<NaiveDate>| json!(d.map(|d| d.format("%Y-%m-%d").to_string()));
    let mut shown = 0;
    let (mut with_csp, mut with_profession, mut ended) = (0, 0, 0);
    for fields in [
        "id,name,CSPID,Profession,csp[id,name],birthDate,dtContractStart,dtContractEnd,modifiedAt",
        "id,cspId,profession,jobTitle",
    ] {
        let (status, body) = app
            .get(
                &format!("/api/v3/users?fields={fields}&formerEmployees=true&paging=0,1000"),
                &key,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for item in items(&body) {
            let e = &stored[&item["id"].as_i64().unwrap()];
            let d = &e.data;
            assert_eq!(item["cspId"], json!(d.csp.map(|c| c.id())), "{item}");
            assert_eq!(item["profession"], json!(d.profession), "{item}");
            if fields.starts_with("id,name") {
                assert_eq!(
                    item["name"],
                    json!(format!(
                        "{} {}",
                        d.first_name.as_str(),
                        d.last_name.as_str()
                    ))
                );
                assert_eq!(item["csp"]["id"], json!(d.csp.map(|c| c.id())), "{item}");
                assert_eq!(item["birthDate"], day(d.birth_date));
                assert_eq!(item["dtContractStart"], day(Some(d.contract.start)));
                assert_eq!(item["dtContractEnd"], day(d.contract.end));
                assert_eq!(
                    item["modifiedAt"],
                    json!(e
                        .modified_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                );
            } else {
                assert_eq!(item["jobTitle"], json!(d.job_title), "{item}");
            }
            shown += 1;
            with_csp += usize::from(d.csp.is_some());
            with_profession += usize::from(d.profession.is_some());
            ended += usize::from(d.contract.end.is_some());
        }
    }
    // Each value compared was there to be lost.
    assert_eq!(shown, 2 * stored.len());
    assert!(
        with_csp > 0 && with_profession > 0 && ended > 0,
        "{with_csp} with a category, {with_profession} with a profession, {ended} ended"
    );
}

async fn stored_values_read_as_lucca_documents_them(app: App) {
    let key = app.key(&["all"]).await;
    let mut claims = std::collections::HashMap::new();
    let mut offset = 0;
    loop {
        let (_, body) = app
            .get(&format!("/api/v3/expenseClaims?fields=id,statusId,approvalStateId,ownerId,authorId&paging={offset},1000"), &key)
            .await;
        let page = items(&body).clone();
        if page.is_empty() {
            break;
        }
        offset += page.len();
        for c in page {
            claims.insert(c["id"].as_i64().unwrap(), c);
        }
    }
    assert!(claims.len() > 20);
    for c in claims.values() {
        let expected = match c["statusId"].as_i64().unwrap() {
            1 | 2 => 1,
            8 => 3,
            9 => 0,
            _ => 2,
        };
        assert_eq!(c["approvalStateId"], expected, "{c}");
        assert_eq!(c["authorId"], c["ownerId"]);
    }
    assert!(claims
        .values()
        .any(|c| c["approvalStateId"] != c["statusId"]));
    let mut lines: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    let (mut card, mut controlled) = (0, 0);
    let mut offset = 0;
    loop {
        let (_, body) = app
            .get(&format!("/api/v3/expenseClaimItems?fields=id,expenseClaimId,lineNumber,paymentMethodId,isControlled&paging={offset},1000"), &key)
            .await;
        let page = items(&body).clone();
        if page.is_empty() {
            break;
        }
        offset += page.len();
        for i in page {
            let claim = i["expenseClaimId"].as_i64().unwrap();
            lines
                .entry(claim)
                .or_default()
                .push(i["lineNumber"].as_i64().unwrap());
            card += i64::from(i["paymentMethodId"] == 1);
            let status = claims[&claim]["statusId"].as_i64().unwrap();
            assert_eq!(i["isControlled"], (4..=7).contains(&status), "{i}");
            controlled += i64::from(i["isControlled"] == true);
        }
    }
    for (claim, mut numbers) in lines {
        numbers.sort_unstable();
        let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
        assert_eq!(numbers, expected, "claim {claim}");
    }
    assert!(
        card > 0 && controlled > 0,
        "{card} on a card, {controlled} controlled"
    );
    let (_, units) = app
        .get(
            "/organization/structure/api/legal-units?fields.root=count",
            &key,
        )
        .await;
    let (_, sites) = app
        .get(
            "/organization/structure/api/establishments?limit=1000",
            &key,
        )
        .await;
    for u in units["items"].as_array().unwrap() {
        assert!(!u["code"].as_str().unwrap().is_empty(), "{u}");
        assert_eq!(
            (u["countryId"].clone(), u["country"]["name"].clone()),
            (json!(250), json!("France"))
        );
        assert_eq!(u["isArchived"], false);
        assert!(u["createdAt"].is_string());
        let head = u["headquartersId"].as_i64().unwrap();
        let site = sites["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == head)
            .unwrap();
        assert_eq!(
            site["legalUnitId"], u["id"],
            "the head office is one of the unit's sites"
        );
    }
}

/// Related records asked for come back, nested as asked: a leave request's
/// period with its leaves, approvals with exactly the sub-fields asked; a
/// leave's period's leaves and logs; a claim's owner, author, status,
/// approval state, currency, department and establishment; an item's axis
/// sections with their axis.
async fn related_fields_come_back_nested_as_asked(app: App) {
    let key = app.key(&["all"]).await;
    let (status, body) = app
        .get("/api/v3/leaveRequests?fields=id,leavePeriodId,leavePeriod[id,ownerId,leaves],approvals[id,approved],cancellationRequests,status&paging=0,200", &key)
        .await;
    assert_eq!(status, 200, "{body}");
    let requests = items(&body);
    for r in requests {
        assert_eq!(r["leavePeriodId"], r["id"]);
        assert_eq!(
            keys_of(&r["leavePeriod"]),
            ["id", "leaves", "ownerId"].map(String::from).into()
        );
        assert!(
            !r["leavePeriod"]["leaves"].as_array().unwrap().is_empty(),
            "{r}"
        );
        for a in r["approvals"].as_array().unwrap() {
            assert_eq!(
                keys_of(a),
                ["approved", "id"].map(String::from).into(),
                "{r}"
            );
        }
        assert!(r["cancellationRequests"].is_array());
    }
    assert!(requests
        .iter()
        .any(|r| !r["approvals"].as_array().unwrap().is_empty()));
    let owner = requests[0]["leavePeriod"]["ownerId"].as_i64().unwrap();
    let (_, leaves) = app
        .get(&format!("/api/v3/leaves?date=since,2000-01-01&leavePeriod.ownerId={owner}&fields=id,leavePeriod[id,leaves,logs]&paging=0,5"), &key)
        .await;
    for l in items(&leaves) {
        let period = &l["leavePeriod"];
        let ids: Vec<&str> = period["leaves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&l["id"].as_str().unwrap()),
            "a leave is among its period's leaves"
        );
        assert_eq!(period["logs"][0]["action"], "creation");
    }
    let (_, claims) = app
        .get("/api/v3/expenseClaims?fields=id,owner[id,name,firstName,lastName],author[name],status,approvalState[id],currency,departmentId,department[name],legalEntityId,legalEntity,paymentMethod,authorizedActions&paging=0,20", &key)
        .await;
    let employees: std::collections::HashMap<i64, Employee> = app
        .employees()
        .await
        .into_iter()
        .map(|e| (e.id.0, e))
        .collect();
    for c in items(&claims) {
        let owner = &employees[&c["owner"]["id"].as_i64().unwrap()];
        assert_eq!(c["owner"]["lastName"], owner.data.last_name.as_str());
        assert_eq!(keys_of(&c["author"]), ["name"].map(String::from).into());
        assert_eq!(
            c["departmentId"],
            json!(owner.data.department_id.map(|d| d.0))
        );
        assert_eq!(c["legalEntityId"], owner.data.establishment_id.0);
        assert!(
            c["legalEntity"]["name"].is_string() && c["department"]["name"].is_string(),
            "{c}"
        );
        assert!(c["status"]["name"].is_string() && c["currency"]["id"] == "EUR");
        assert_eq!(
            keys_of(&c["approvalState"]),
            ["id"].map(String::from).into()
        );
        assert!(c["authorizedActions"].is_array() && c["paymentMethod"]["id"].is_i64());
    }
    // A key that may not read names gets the people's identifiers only.
    let no_names = app.key(&["expenses"]).await;
    let (_, claims) = app
        .get("/api/v3/expenseClaims?fields=owner&paging=0,3", &no_names)
        .await;
    for c in items(&claims) {
        assert_eq!(keys_of(&c["owner"]), ["id"].map(String::from).into(), "{c}");
    }
    let (_, expense_items) = app
        .get(
            "/api/v3/expenseClaimItems?fields=id,axisSections[id,axisId,name],source&paging=0,50",
            &key,
        )
        .await;
    let sections: Vec<&Value> = items(&expense_items)
        .iter()
        .flat_map(|i| i["axisSections"].as_array().unwrap())
        .collect();
    assert!(!sections.is_empty());
    for s in sections {
        assert_eq!(
            keys_of(s),
            ["axisId", "id", "name"].map(String::from).into(),
            "{s}"
        );
    }
    assert!(items(&expense_items)
        .iter()
        .all(|i| i["source"]["name"].is_string()));
}

/// The personnel file's personal details: read like any field the key's
/// grants allow, written with every mistake named by its field.
async fn personal_details_are_read_and_written(app: App) {
    let key = app.key(&["all"]).await;
    let (status, body) = app
        .get("/api/v3/users?fields=id,personalEmail,personalPhone,professionalPhone,address,gender,nationality,civilTitle,culture&paging=0,100", &key)
        .await;
    assert_eq!(status, 200, "{body}");
    let users = items(&body);
    assert!(users.iter().any(|u| u["personalEmail"].is_string()));
    assert!(users.iter().any(|u| u["professionalPhone"].is_string()));
    assert!(users
        .iter()
        .all(|u| u["address"]["city"].is_string() && u["nationality"].is_string()));
    for u in users {
        match u["gender"].as_str().unwrap() {
            "Female" => assert_eq!(u["civilTitle"], "Mme"),
            "Male" => assert_eq!(u["civilTitle"], "M."),
            _ => assert!(u["civilTitle"].is_null()),
        }
        assert_eq!(
            keys_of(&u["culture"]),
            ["id", "name", "url"].map(String::from).into()
        );
    }
    // A key limited to first names reads none of it.
    let narrow = app.key(&["personnel-file:fields=firstName"]).await;
    let (_, body) = app
        .get(
            "/api/v3/users?fields=id,personalEmail,address,gender&paging=0,3",
            &narrow,
        )
        .await;
    assert_eq!(keys_of(&items(&body)[0]), ["id"].map(String::from).into());
    // Writing: mistakes named, good values read back, null clears.
    let writer = app.key(&["all"]).await;
    let id = users[0]["id"].as_i64().unwrap();
    for (field, value) in [
        ("gender", json!("Robot")),
        ("personalPhone", json!("call me")),
        ("personalEmail", json!("not-an-address")),
        ("nationality", json!("France")),
        ("nationality", json!("ZZ")),
        ("civilTitle", json!("Dr")),
        ("address", json!("12 rue X")),
        (
            "address",
            json!({ "street": "1 rue X", "zipCode": "75001", "city": "Paris", "countryCode": "Atlantis" }),
        ),
    ] {
        let (status, body) = app
            .send(
                reqwest::Method::PUT,
                &format!("/api/v3/users/{id}"),
                &writer,
                json!({ field: value }),
            )
            .await;
        assert_eq!(status, 422, "{field}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{body}");
    }
    let (_, body) = app
        .get(
            &format!("/api/v3/users/{id}?fields=nationality,address"),
            &writer,
        )
        .await;
    assert_eq!(
        (&body["data"]["nationality"], &body["data"]["address"]),
        (&users[0]["nationality"], &users[0]["address"]),
        "a refused country changes nothing"
    );
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{id}"),
            &writer,
            json!({ "address": { "street": "2 Hauptstraße", "zipCode": "10115", "city": "Berlin", "countryCode": "de" } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = app
        .get(&format!("/api/v3/users/{id}?fields=address"), &writer)
        .await;
    assert_eq!(
        body["data"]["address"]["countryCode"], "DE",
        "kept in upper case"
    );
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{id}"),
            &writer,
            json!({ "personalPhone": "+33 6 12 34 56 78", "nationality": "be", "address": null }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = app
        .get(
            &format!("/api/v3/users/{id}?fields=personalPhone,nationality,address,gender"),
            &writer,
        )
        .await;
    assert_eq!(body["data"]["personalPhone"], "+33 6 12 34 56 78");
    assert_eq!(body["data"]["nationality"], "BE");
    assert!(body["data"]["address"].is_null());
    assert_eq!(
        body["data"]["gender"], users[0]["gender"],
        "fields not given are kept"
    );
}

/// `/api/relais/fields`: every personnel-file field with its section and
/// label, whether the calling key reads it and, if not, the grant to add;
/// definitions only, never an employee's value.
async fn the_field_list_says_what_a_key_reads_and_nothing_more(app: App) {
    let key = app.key(&["personnel-file:sections=standard"]).await;
    let (status, body) = app.get("/api/relais/fields", &key).await;
    assert_eq!(status, 200, "{body}");
    let items = body["data"]["items"].as_array().unwrap();
    let field = |path: &str| {
        items
            .iter()
            .find(|i| i["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {body}"))
    };
    let number = field("employeeNumber");
    assert_eq!(number["readable"], true);
    assert_eq!(number["label"], "Matricule");
    assert!(number["grant"].is_null());
    let blood = field("extendedData.e_bloodType");
    assert_eq!(blood["readable"], false);
    assert_eq!(blood["section"]["code"], "medical");
    assert!(
        blood["grant"].as_str().unwrap().contains("Suivi médical")
            && blood["grant"].as_str().unwrap().contains("+medical"),
        "{blood}"
    );
    // Definitions only: no employee's value anywhere in the answer.
    let text = body.to_string();
    let people = app
        .store
        .list_employees(app.base.id, None, 5)
        .await
        .unwrap();
    for e in &people {
        assert!(!text.contains(e.data.mail.as_str()), "no e-mail in {text}");
        assert!(!text.contains(e.data.employee_number.as_str()));
    }
    // With every section, every field reads.
    let all = app.key(&["personnel-file"]).await;
    let (_, body) = app.get("/api/relais/fields", &all).await;
    assert!(body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["readable"] == true));
}

/// Every row of a report over its default period (pages of 1,000).
async fn report_rows(app: &App, key: &str, code: &str, query: &str) -> Vec<Value> {
    report_rows_by(app, key, code, query, 1000).await
}

/// A report's rows, read `per_page` at a time.
async fn report_rows_by(
    app: &App,
    key: &str,
    code: &str,
    query: &str,
    per_page: usize,
) -> Vec<Value> {
    let mut rows = Vec::new();
    loop {
        let (status, body) = app
            .get(
                &format!(
                    "/api/relais/reports/{code}?paging={},{per_page}{query}",
                    rows.len()
                ),
                key,
            )
            .await;
        assert_eq!(status, 200, "{code}: {body}");
        let page = items(&body).clone();
        let count = body["data"]["count"].as_u64().unwrap() as usize;
        rows.extend(page.iter().cloned());
        if page.is_empty() || rows.len() >= count {
            assert_eq!(rows.len(), count, "{code}: the count is the rows");
            return rows;
        }
    }
}

/// Sums `value` per key of a report's rows.
fn sum_by(rows: &[Value], key: impl Fn(&Value) -> String, value: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(key(r)).or_default() += r[value].as_f64().unwrap();
    }
    out
}

fn same_sums(what: &str, got: &BTreeMap<String, f64>, want: &BTreeMap<String, f64>) {
    let keys: BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    for k in keys {
        let (g, w) = (
            got.get(k).copied().unwrap_or(0.0),
            want.get(k).copied().unwrap_or(0.0),
        );
        assert!((g - w).abs() < 1e-6, "{what} {k}: report {g}, records {w}");
    }
}

/// What the tests compute themselves from the records (read whole through
/// the store, expanded with the domain's own calendar rules), to hold each
/// report's SQL against.
struct Records {
    from: NaiveDate,
    to: NaiveDate,
    employees: Vec<Employee>,
    establishments: BTreeMap<i64, (String, relais_core::calendar::WorkCalendar)>,
    accounts: BTreeMap<i64, (String, relais_core::absence::AbsenceCategory)>,
    periods: Vec<relais_core::absence::LeavePeriod>,
}

impl Records {
    async fn read(app: &App) -> Records {
        use chrono::Datelike;
        let to_month =
            chrono::NaiveDate::from_ymd_opt(app.today.year(), app.today.month(), 1).unwrap();
        let from = to_month - chrono::Months::new(11);
        let to = to_month + chrono::Months::new(1) - chrono::Days::new(1);
        let establishments = app
            .store
            .list_establishments(app.base.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.id.0, (e.name.to_string(), e.calendar)))
            .collect();
        let accounts = app
            .store
            .list_absence_accounts(app.base.id)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.id.0, (a.name.to_string(), a.category)))
            .collect();
        let mut periods = Vec::new();
        loop {
            let page = app
                .store
                .query_leave_periods(
                    app.base.id,
                    &relais_store::ListQuery {
                        offset: periods.len() as u64,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .items;
            if page.is_empty() {
                break;
            }
            periods.extend(page);
        }
        Records {
            from,
            to,
            employees: app.employees().await,
            establishments,
            accounts,
            periods,
        }
    }

    fn employee(&self, id: i64) -> &Employee {
        self.employees.iter().find(|e| e.id.0 == id).unwrap()
    }

    /// Approved half-day leaves within the period: (month, employee, account).
    fn leaves(&self) -> Vec<(String, &Employee, i64)> {
        let mut out = Vec::new();
        for p in &self.periods {
            if p.status != relais_core::absence::LeaveStatus::Approved {
                continue;
            }
            let owner = self.employee(p.employee_id.0);
            let calendar = self.establishments[&owner.data.establishment_id.0].1;
            for slot in p.span.leaves(&calendar) {
                if slot.date >= self.from && slot.date <= self.to {
                    out.push((slot.date.format("%Y-%m").to_string(), owner, p.account_id.0));
                }
            }
        }
        out
    }
}

async fn reports_add_up_to_the_records(app: App) {
    let key = app.key(&["all"]).await;
    let (status, list) = app.get("/api/relais/reports", &key).await;
    assert_eq!(status, 200);
    assert_eq!(items(&list).len(), 6);
    assert!(items(&list).iter().all(|r| r["readable"] == true));
    let records = Records::read(&app).await;

    // Approved absences per month, employee and account, in days.
    let rows = report_rows(&app, &key, "absences-payroll", "").await;
    assert!(
        rows.len() > 20,
        "a seeded base has absences: {}",
        rows.len()
    );
    let key_of = |month: &str, number: &str, account: &str| format!("{month} {number} {account}");
    let got = sum_by(
        &rows,
        |r| {
            key_of(
                r["month"].as_str().unwrap(),
                r["employeeNumber"].as_str().unwrap(),
                r["account"].as_str().unwrap(),
            )
        },
        "days",
    );
    let mut want = BTreeMap::new();
    for (month, owner, account) in records.leaves() {
        *want
            .entry(key_of(
                &month,
                owner.data.employee_number.as_str(),
                &records.accounts[&account].0,
            ))
            .or_default() += 0.5;
    }
    same_sums("absences-payroll", &got, &want);
    let mut sorted = rows
        .iter()
        .map(|r| r["month"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    sorted.dedup();
    assert!(sorted.windows(2).all(|w| w[0] < w[1]), "rows come by month");

    // Absenteeism: absent days per establishment and category (telework is
    // work), over the working days of the establishment's calendar under
    // contract.
    let rows = report_rows(&app, &key, "absenteeism", "").await;
    let got = sum_by(
        &rows,
        |r| format!("{} {} {}", r["month"], r["establishment"], r["category"]),
        "absentDays",
    );
    let mut want = BTreeMap::new();
    for (month, owner, account) in records.leaves() {
        let category = records.accounts[&account].1;
        if category == relais_core::absence::AbsenceCategory::Telework {
            continue;
        }
        let establishment = &records.establishments[&owner.data.establishment_id.0].0;
        *want
            .entry(format!(
                "\"{month}\" \"{establishment}\" \"{}\"",
                category.label()
            ))
            .or_default() += 0.5;
    }
    same_sums("absenteeism", &got, &want);
    let mut working: BTreeMap<String, f64> = BTreeMap::new();
    for e in &records.employees {
        let calendar = records.establishments[&e.data.establishment_id.0].1;
        let name = &records.establishments[&e.data.establishment_id.0].0;
        for day in records.from.iter_days().take_while(|d| *d <= records.to) {
            let under =
                e.data.contract.start <= day && e.data.contract.end.is_none_or(|end| end >= day);
            if under && calendar.is_working_day(day) {
                *working
                    .entry(format!("\"{}\" \"{name}\"", day.format("%Y-%m")))
                    .or_default() += 1.0;
            }
        }
    }
    for r in &rows {
        let k = format!("{} {}", r["month"], r["establishment"]);
        assert_eq!(r["workingDays"].as_f64().unwrap(), working[&k], "{k}");
        let rate = r["absentDays"].as_f64().unwrap() / working[&k];
        assert!((r["rate"].as_f64().unwrap() - rate).abs() < 1e-9, "{k}");
    }

    // Month-end headcount, entries and exits per establishment.
    let rows = report_rows(&app, &key, "headcount", "").await;
    for (column, want_of) in [
        (
            "headcount",
            (|c: &relais_core::employee::Contract, first: NaiveDate, last: NaiveDate| {
                let _ = first;
                c.start <= last && c.end.is_none_or(|e| e >= last)
            }) as fn(&relais_core::employee::Contract, NaiveDate, NaiveDate) -> bool,
        ),
        ("entries", |c, first, last| {
            c.start >= first && c.start <= last
        }),
        ("exits", |c, first, last| {
            c.end.is_some_and(|e| e >= first && e <= last)
        }),
    ] {
        let got = sum_by(
            &rows,
            |r| format!("{} {}", r["month"], r["establishment"]),
            column,
        );
        let mut want: BTreeMap<String, f64> = BTreeMap::new();
        let mut first = records.from;
        while first <= records.to {
            let last = first + chrono::Months::new(1) - chrono::Days::new(1);
            for e in &records.employees {
                if want_of(&e.data.contract, first, last) {
                    let name = &records.establishments[&e.data.establishment_id.0].0;
                    *want
                        .entry(format!("\"{}\" \"{name}\"", first.format("%Y-%m")))
                        .or_default() += 1.0;
                }
            }
            first = last + chrono::Days::new(1);
        }
        same_sums(column, &got, &want);
    }

    // Expenses of validated claims, per month and nature; VAT per month;
    // warnings of claims not refused or cancelled.
    let natures: BTreeMap<i64, String> = app
        .store
        .list_expense_natures(app.base.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.id.0, n.name.to_string()))
        .collect();
    let claims: BTreeMap<i64, relais_core::expense::ClaimStatus> = app
        .store
        .query_expense_claims(
            app.base.id,
            &relais_store::ListQuery {
                limit: 100_000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| (c.id.0, c.status))
        .collect();
    let all_items = app
        .store
        .query_expense_items(
            app.base.id,
            &relais_store::ListQuery {
                limit: 100_000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    let in_period: Vec<_> = all_items
        .iter()
        .filter(|i| i.purchased_on >= records.from && i.purchased_on <= records.to)
        .collect();
    let validated_items: Vec<&relais_core::expense::ExpenseItem> = in_period
        .iter()
        .copied()
        .filter(|i| matches!(claims[&i.claim_id.0].id(), 5..=7))
        .collect();
    let rows = report_rows(&app, &key, "expenses-by-nature", "").await;
    assert!(!rows.is_empty());
    for (column, amount) in [
        (
            "gross",
            (|i: &relais_core::expense::ExpenseItem| i.amounts.gross)
                as fn(&relais_core::expense::ExpenseItem) -> i64,
        ),
        ("net", |i| i.amounts.net),
        ("vat", |i| i.amounts.vat),
        ("reimbursed", |i| i.amounts.reimbursed),
    ] {
        let got = sum_by(&rows, |r| format!("{} {}", r["month"], r["nature"]), column);
        let mut want = BTreeMap::new();
        for i in &validated_items {
            *want
                .entry(format!(
                    "\"{}\" \"{}\"",
                    i.purchased_on.format("%Y-%m"),
                    natures[&i.nature_id.0]
                ))
                .or_default() += amount(i) as f64 / 100.0;
        }
        same_sums(column, &got, &want);
    }
    let items_count: f64 = rows.iter().map(|r| r["items"].as_f64().unwrap()).sum();
    assert_eq!(items_count as usize, validated_items.len());
    let rows = report_rows(&app, &key, "recoverable-vat", "").await;
    let got = sum_by(&rows, |r| r["month"].to_string(), "vat");
    let mut want = BTreeMap::new();
    for i in &validated_items {
        *want
            .entry(format!("\"{}\"", i.purchased_on.format("%Y-%m")))
            .or_default() += i.amounts.vat as f64 / 100.0;
    }
    same_sums("recoverable-vat", &got, &want);
    assert!(
        rows.iter()
            .all(|r| [0.2, 0.1, 0.055, 0.021, 0.0].contains(&r["rate"].as_f64().unwrap())),
        "standard rates"
    );
    let rows = report_rows(&app, &key, "expense-warnings", "").await;
    let flagged = in_period
        .iter()
        .filter(|i| !i.warnings.is_empty() && !matches!(claims[&i.claim_id.0].id(), 8 | 9))
        .count();
    assert_eq!(rows.len(), flagged);
    assert!(rows
        .iter()
        .all(|r| !r["warnings"].as_str().unwrap().is_empty()));
    // In the API's words: English.
    let words = [
        "over the cap",
        "receipt missing",
        "possible duplicate",
        "bought on a weekend",
        "foreign currency",
    ];
    assert!(
        rows.iter().all(|r| r["warnings"]
            .as_str()
            .unwrap()
            .split(", ")
            .all(|w| words.contains(&w))),
        "{rows:?}"
    );

    // Mistakes are answered, naming the parameter.
    for (query, parameter) in [
        ("from=2026-13", "from"),
        ("from=2026-05&to=2026-01", "to"),
        ("from=2020-01&to=2026-01", "to"),
        ("natureId=1", "natureId"),
        ("accountId=x", "accountId"),
        ("paging=0,5000", "paging"),
    ] {
        let (status, body) = app
            .get(
                &format!("/api/relais/reports/absences-payroll?{query}"),
                &key,
            )
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(
            body["error"]["details"]["parameter"], parameter,
            "{query}: {body}"
        );
        if parameter == "to" && query.ends_with("2026-01") && query.starts_with("from=2026") {
            assert_eq!(
                body["error"]["message"], "the period ends (2026-01) before it starts (2026-05)",
                "the API speaks English"
            );
        }
    }
    let (status, body) = app.get("/api/relais/reports/nothing", &key).await;
    assert_eq!(status, 404);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("absences-payroll"));

    // An export remembers when it was made: a correction made after it is
    // counted in the next read, in its month's row.
    let (_, first) = app
        .get(
            "/api/relais/reports/absences-payroll?export=true&paging=0,1",
            &key,
        )
        .await;
    assert!(first["data"]["changedSince"].is_null(), "no export before");
    let rows = report_rows(&app, &key, "absences-payroll", "").await;
    assert!(rows.iter().all(|r| r["changedSinceExport"] == 0));
    let late = records.periods.iter().find(|p| {
        p.status == relais_core::absence::LeaveStatus::Pending
            && p.span.start.date >= records.from
            && p.span.end.date <= records.to
    });
    if let Some(late) = late {
        app.store
            .set_leave_status(
                app.base.id,
                late.id,
                relais_core::absence::LeaveStatus::Approved,
            )
            .await
            .unwrap();
        let rows = report_rows(&app, &key, "absences-payroll", "").await;
        let changed: i64 = rows
            .iter()
            .map(|r| r["changedSinceExport"].as_i64().unwrap())
            .sum();
        assert!(changed >= 1, "the late approval is counted");
        let owner = records.employee(late.employee_id.0);
        assert!(rows
            .iter()
            .any(|r| r["changedSinceExport"].as_i64().unwrap() >= 1
                && r["employeeNumber"] == owner.data.employee_number.as_str()));
        let (_, again) = app
            .get("/api/relais/reports/absences-payroll?paging=0,1", &key)
            .await;
        assert!(again["data"]["changedSince"].is_string());
    }
}

/// Pages of a report, read one after the other, are the whole report: no
/// line twice or missing where a page ends within a month or across one.
async fn report_pages_follow_one_another(app: App) {
    let key = app.key(&["all"]).await;
    for code in ["absences-payroll", "expense-warnings", "headcount"] {
        let whole = report_rows(&app, &key, code, "").await;
        assert!(whole.len() > 20, "{code}: {} rows", whole.len());
        let paged = report_rows_by(&app, &key, code, "", 7).await;
        assert_eq!(paged, whole, "{code}: pages of 7 against one page");
    }
    // The payroll lines of a month come by name, then employee number.
    let rows = report_rows(&app, &key, "absences-payroll", "").await;
    let order: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["month"].as_str().unwrap().to_owned(),
                r["employee"].as_str().unwrap().to_owned(),
                r["employeeNumber"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "lines by month, name and number"
    );
}

async fn reports_are_bounded_by_the_key(app: App) {
    let records = Records::read(&app).await;
    // A report needs its grant: 403 naming it.
    let organisation = app.key(&["organisation"]).await;
    for code in ["absences-payroll", "headcount", "expenses-by-nature"] {
        let (status, body) = app
            .get(&format!("/api/relais/reports/{code}"), &organisation)
            .await;
        assert_eq!(status, 403, "{code}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Consulter"),
            "{body}"
        );
    }
    let (_, list) = app.get("/api/relais/reports", &organisation).await;
    assert!(items(&list).iter().all(|r| r["readable"] == false));
    let absences = app.key(&["absences"]).await;
    assert_eq!(
        app.get("/api/relais/reports/absences-payroll", &absences)
            .await
            .0,
        200
    );
    assert_eq!(
        app.get("/api/relais/reports/recoverable-vat", &absences)
            .await
            .0,
        403
    );

    // A key of one establishment: rows of the others never count, even when
    // asked for by name.
    let (&one, (one_name, _)) = records.establishments.iter().next().unwrap();
    let (&other, _) = records.establishments.iter().nth(1).unwrap();
    let narrow = app
        .key(&["absences", &format!("establishments={one}")])
        .await;
    let rows = report_rows(&app, &narrow, "absences-payroll", "").await;
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["establishment"] == one_name.as_str()));
    let days: f64 = rows.iter().map(|r| r["days"].as_f64().unwrap()).sum();
    let want = records
        .leaves()
        .iter()
        .filter(|(_, e, _)| e.data.establishment_id.0 == one)
        .count() as f64
        / 2.0;
    assert_eq!(days, want);
    let rows = report_rows(
        &app,
        &narrow,
        "absences-payroll",
        &format!("&establishmentId={other}"),
    )
    .await;
    assert!(rows.is_empty(), "another establishment's rows: {rows:?}");
    let rows = report_rows(
        &app,
        &narrow,
        "absenteeism",
        &format!("&establishmentId={one},{other}"),
    )
    .await;
    assert!(rows.iter().all(|r| r["establishment"] == one_name.as_str()));
}

/// Inside Online's replica: a full read, then incremental catch-ups that
/// read only what changed; its copy computes the expense reports as relais
/// does, before and after changes.
async fn an_inside_online_replica_keeps_up(app: App) {
    use relais_sandbox::replica::Replica;
    let key = app
        .key(&["personnel-file", "organisation", "expenses", "absences"])
        .await;
    let records = Records::read(&app).await;
    let (from, to) = (records.from, records.to);
    let mut replica = Replica::new(&app.url, &key);
    let first = replica.catch_up().await.unwrap();
    let (_, users) = app
        .get("/api/v3/users?fields=id,collection.count&paging=0,1", &key)
        .await;
    assert_eq!(
        replica.copy.employees.len() as u64,
        users["data"]["count"].as_u64().unwrap()
    );
    let all_items = app
        .store
        .query_expense_items(
            app.base.id,
            &relais_store::ListQuery {
                limit: 100_000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(replica.copy.items.len(), all_items.len());
    let same_as_relais = |replica: &Replica, rows: &[Value], vat: &[Value]| {
        let mut want: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in rows {
            *want
                .entry((
                    r["month"].as_str().unwrap().to_owned(),
                    r["nature"].as_str().unwrap().to_owned(),
                ))
                .or_default() += (r["gross"].as_f64().unwrap() * 100.0).round() as i64;
        }
        assert_eq!(replica.gross_per_month_and_nature(from, to), want);
        let mut want: BTreeMap<String, i64> = BTreeMap::new();
        for r in vat {
            *want
                .entry(r["month"].as_str().unwrap().to_owned())
                .or_default() += (r["vat"].as_f64().unwrap() * 100.0).round() as i64;
        }
        assert_eq!(replica.vat_per_month(from, to), want);
    };
    same_as_relais(
        &replica,
        &report_rows(&app, &key, "expenses-by-nature", "").await,
        &report_rows(&app, &key, "recoverable-vat", "").await,
    );

    // Changes: a new validated claim with two items, a leave approved.
    let claims = app
        .store
        .query_expense_claims(
            app.base.id,
            &relais_store::ListQuery {
                limit: 100_000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    let mut claim = claims
        .iter()
        .find(|c| matches!(c.status.id(), 5..=7))
        .unwrap()
        .clone();
    claim.id = relais_core::ids::ExpenseClaimId(9_000_001);
    claim.modified_at = relais_testkit::now();
    app.store
        .insert_records(relais_store::Records::ExpenseClaims(std::slice::from_ref(
            &claim,
        )))
        .await
        .unwrap();
    let mut added = Vec::new();
    for (n, template) in all_items.iter().take(2).enumerate() {
        let mut item = template.clone();
        item.id = relais_core::ids::ExpenseItemId(9_000_001 + n as i64);
        item.claim_id = claim.id;
        item.owner_id = claim.owner_id;
        item.line_number = n as i32 + 1;
        item.purchased_on = to - chrono::Days::new(3);
        item.modified_at = relais_testkit::now();
        added.push(item);
    }
    app.store
        .insert_records(relais_store::Records::ExpenseItems(&added))
        .await
        .unwrap();
    let pending = records
        .periods
        .iter()
        .find(|p| p.status == relais_core::absence::LeaveStatus::Pending)
        .unwrap();
    app.store
        .set_leave_status(
            app.base.id,
            pending.id,
            relais_core::absence::LeaveStatus::Approved,
        )
        .await
        .unwrap();
    let next = replica.catch_up().await.unwrap();
    assert!(
        next.records >= 4 && next.records * 20 < first.records,
        "an incremental catch-up reads what changed: {next:?} after {first:?}"
    );
    assert_eq!(first.changed, first.records, "all new the first time");
    // The claim, its two items and the leave request: records read again
    // as the copy holds them (the seconds before the last catch-up) are
    // not counted as changes.
    assert_eq!(next.changed, 4, "{next:?}");
    let again = replica.catch_up().await.unwrap();
    assert_eq!(again.changed, 0, "{again:?}");
    assert_eq!(replica.copy.items.len(), all_items.len() + 2);
    assert_eq!(
        replica.copy.claims[&claim.id.0],
        i64::from(claim.status.id())
    );
    let request = &replica.copy.leave_requests[&pending.id.0];
    assert_eq!(
        request["status"],
        json!(relais_core::absence::LeaveStatus::Approved.api_code()),
        "{request}"
    );
    same_as_relais(
        &replica,
        &report_rows(&app, &key, "expenses-by-nature", "").await,
        &report_rows(&app, &key, "recoverable-vat", "").await,
    );
    // Nothing changed: a catch-up reads (almost) nothing.
    let quiet = replica.catch_up().await.unwrap();
    assert!(quiet.records <= next.records, "{quiet:?}");
}

/// The tests run on a clock started at a chosen instant; relais's `Date`
/// header follows it, as the instants in its answers do (a client that
/// reads changes "since" the header's time would otherwise miss them).
#[tokio::test]
async fn the_date_header_is_relais_time() {
    let app = spawn(Backend::Sqlite, 10_000).await.unwrap();
    let key = app.key(&["organisation"]).await;
    let before = relais_testkit::now();
    let resp = app
        .client
        .get(format!("{}/api/v3/departments", app.url))
        .header("Authorization", format!("lucca application={key}"))
        .send()
        .await
        .unwrap();
    let date = resp.headers()["date"].to_str().unwrap().to_owned();
    let date = chrono::DateTime::parse_from_rfc2822(&date).unwrap();
    let after = relais_testkit::now();
    assert!(
        date.timestamp() >= before.timestamp() && date.timestamp() <= after.timestamp(),
        "{date} is not between {before} and {after}"
    );
    assert!(date.timestamp() - relais_testkit::clock::start().timestamp() < 3_600);
}

/// Reads the feed after `after` with `key` (and `more` parameters); the
/// events' topics and the next cursor.
async fn feed(app: &App, key: &str, after: i64, more: &str) -> (Vec<Value>, i64) {
    let (status, body) = app
        .get(&format!("/api/relais/events?after={after}{more}"), key)
        .await;
    assert_eq!(status, 200, "{body}");
    (items(&body).clone(), body["data"]["next"].as_i64().unwrap())
}

/// The change feed: an update through the API is an event with the
/// record in the API's shape and the fields it changed as they were; each
/// key sees only what its grants, establishments and fields let it read,
/// no event for an update of fields it may not read; topics filter; a
/// waiting read answers as soon as a change comes; mistakes are named.
async fn the_feed_shows_each_key_what_it_may_read(app: App) {
    let writer = app
        .key(&[
            "personnel-file",
            "write-employees",
            "future-employees",
            "organisation",
        ])
        .await;
    let everything = app
        .key(&[
            "personnel-file",
            "future-employees",
            "organisation",
            "absences",
            "expenses",
        ])
        .await;
    let names_only = app
        .key(&["personnel-file:fields=firstName+lastName+mail"])
        .await;
    let elsewhere = app.key(&["personnel-file", "establishments=2"]).await;
    let organisation = app.key(&["organisation"]).await;
    // The seeded base's history is in the feed: its records were created.
    let (page, next) = feed(&app, &everything, 0, "&limit=1000").await;
    assert_eq!(page.len(), 1000);
    assert!(page.iter().any(|e| e["topic"] == "employee.created"));
    assert!(next > 0);
    let start = app.store.last_event(app.base.id).await.unwrap();
    // One employee of establishment 1 (not the narrow key's 2) changes job.
    let e = app
        .employees()
        .await
        .into_iter()
        .find(|e| {
            e.data.establishment_id.0 == 1
                && e.data.contract.status_on(app.today) == ContractStatus::Active
        })
        .unwrap();
    let old_title = e.data.job_title.clone();
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{}", e.id),
            &writer,
            json!({ "jobTitle": "Pilote d'essai" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (events, next) = feed(&app, &everything, start, "").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["topic"], "employee.updated");
    assert_eq!(event["cursor"], start + 1);
    assert_eq!(next, start + 1);
    assert!(
        event["source"].as_str().unwrap().starts_with("api:"),
        "{event}"
    );
    assert_eq!(event["data"]["id"], e.id.0);
    assert_eq!(event["data"]["jobTitle"], "Pilote d'essai");
    assert_eq!(event["data"]["mail"], e.data.mail.as_str());
    assert_eq!(
        event["previousAttributes"]["jobTitle"],
        json!(old_title),
        "{event}"
    );
    assert!(
        event["previousAttributes"].get("mail").is_none(),
        "only what changed: {event}"
    );
    // A key that may not read the job title sees no event for it; one of
    // another establishment, none about this employee; one without the
    // personnel file, no employee event at all.
    assert!(feed(&app, &names_only, start, "").await.0.is_empty());
    assert!(feed(&app, &elsewhere, start, "").await.0.is_empty());
    assert!(feed(&app, &organisation, start, "").await.0.is_empty());
    // Its name changes: the narrow key sees that, and only its fields.
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{}", e.id),
            &writer,
            json!({ "lastName": "Renommée" }),
        )
        .await;
    assert_eq!(status, 200);
    let (events, _) = feed(&app, &names_only, start, "").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let allowed: BTreeSet<String> = ["id", "url", "modifiedAt", "firstName", "lastName", "mail"]
        .map(String::from)
        .into();
    assert!(
        keys_of(&events[0]["data"]).is_subset(&allowed),
        "{}",
        events[0]
    );
    assert_eq!(events[0]["data"]["lastName"], "Renommée");
    assert_eq!(
        keys_of(&events[0]["previousAttributes"]),
        ["lastName".to_owned()].into()
    );
    // Topics filter, and a topic the key may not follow is refused with the grant it takes.
    let (events, _) = feed(&app, &everything, 0, "&topics=department.*&limit=1000").await;
    assert!(!events.is_empty());
    assert!(events
        .iter()
        .all(|e| e["topic"].as_str().unwrap().starts_with("department.")));
    let (status, body) = app
        .get("/api/relais/events?topics=employee.updated", &organisation)
        .await;
    assert_eq!(status, 403, "{body}");
    for (query, parameter) in [
        ("topics=employee.removed", "topics"),
        ("after=-1", "after"),
        ("after=99999999", "after"),
        ("limit=0", "limit"),
        ("wait=31", "wait"),
        ("since=1", "since"),
        ("after=0&after=5", "'after' is given twice"),
        (
            "topics=department.created&topics=department.updated",
            "'topics' is given twice",
        ),
    ] {
        let (status, body) = app
            .get(&format!("/api/relais/events?{query}"), &everything)
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(parameter)
                || body.to_string().contains(parameter),
            "{query}: {body}"
        );
    }
    // A waiting read answers when the change comes, not at its deadline.
    let last = app.store.last_event(app.base.id).await.unwrap();
    let waiting = {
        let (url, key, client) = (app.url.clone(), everything.clone(), app.client.clone());
        tokio::spawn(async move {
            let asked = std::time::Instant::now();
            let body: Value = client
                .get(format!("{url}/api/relais/events?after={last}&wait=20"))
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (asked.elapsed(), body)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v3/users/{}", e.id),
            &writer,
            json!({ "firstName": "Aurore" }),
        )
        .await;
    assert_eq!(status, 200);
    let (took, body) = waiting.await.unwrap();
    assert_eq!(items(&body).len(), 1, "{body}");
    assert_eq!(items(&body)[0]["data"]["firstName"], "Aurore");
    assert!(
        took >= std::time::Duration::from_millis(500),
        "it waited for the change: {took:?}"
    );
    assert!(
        took < std::time::Duration::from_secs(10),
        "it answered at the change: {took:?}"
    );
}

/// Checks a Standard Webhooks signature header with this test's own HMAC
/// (not relais's): whether one `v1,` signature is `secret`'s.
fn signed_by(secret: &str, id: &str, timestamp: &str, body: &str, header: &str) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    header.split(' ').any(|s| s == expected)
}

/// Webhooks: an endpoint is activated by echo and given a secret shown
/// once; each change its key may see is posted once, signed (checked here
/// by an independent HMAC), retried after a 500 and a 429 (its Retry-After
/// honoured) under the same id, suspended at once on 410 and resumed when
/// activated again; a rotated secret signs beside the previous one; a test
/// event and a replay; another key's endpoint reads as missing; two
/// deliverers on one database deliver each event once.
async fn webhooks_deliver_signed_events_at_least_once(app: App) {
    use relais_api::deliver::Deliverer;
    let receiver = relais_sandbox::receiver::Receiver::new();
    let hooks = receiver.start().await.unwrap();
    let writer = app
        .key(&["personnel-file", "write-employees", "future-employees"])
        .await;
    let reader = app.key(&["personnel-file", "future-employees"]).await;
    let stranger = app.key(&["personnel-file"]).await;
    let post = |key: &str, path: &str, body: Value| {
        let (key, path) = (key.to_owned(), path.to_owned());
        let app = &app;
        async move { app.send(reqwest::Method::POST, &path, &key, body).await }
    };
    // A server left to its default reaches public addresses only: this
    // machine's receiver is refused, and nothing is stored.
    let public_only = relais_testkit::spawn_app(AppState::new(app.store.clone(), 1_000)).await;
    let refused = app
        .client
        .post(format!("{public_only}/api/relais/webhooks"))
        .header("Authorization", format!("Bearer {reader}"))
        .json(&json!({ "url": format!("{}/hooks/a", hooks.url()) }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert!(body.to_string().contains("not a public address"), "{body}");
    let listed: Value = app
        .client
        .get(format!("{public_only}/api/relais/webhooks"))
        .header("Authorization", format!("Bearer {reader}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"]["items"], json!([]), "nothing stored");
    // An address that does not echo is stored inactive, with why.
    let (status, body) = post(
        &reader,
        "/api/relais/webhooks",
        json!({ "url": format!("{}/nowhere", hooks.url()) }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["status"], "inactive");
    assert_eq!(
        body["data"]["statusReason"], "the echo was answered 404",
        "{body}"
    );
    // One where nothing listens, stored inactive too, says why in words.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/hooks", closed.local_addr().unwrap());
    drop(closed);
    let (status, body) = post(&reader, "/api/relais/webhooks", json!({ "url": gone })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (&body["data"]["status"], &body["data"]["statusReason"]),
        (
            &json!("inactive"),
            &json!("the echo could not reach the address: connection refused (nothing listens at that address)")
        ),
        "{body}"
    );
    for (wrong, field) in [
        (json!({ "url": "ftp://x" }), "url"),
        (json!({}), "url"),
        (
            json!({ "url": format!("{}/hooks/a", hooks.url()), "topics": ["expense-claim.*"] }),
            "grant",
        ),
        (
            json!({ "url": format!("{}/hooks/a", hooks.url()), "topics": "people.*" }),
            "topics",
        ),
        (
            json!({ "url": "http://127.0.0.1:99999/hooks" }),
            "invalid port number",
        ),
        (
            json!({ "url": format!("{}/hooks/a", hooks.url()), "establishments": [999] }),
            "no establishment 999 in this base",
        ),
    ] {
        let (status, body) = post(&reader, "/api/relais/webhooks", wrong.clone()).await;
        assert!(status == 422 || status == 403, "{wrong}: {status} {body}");
        assert!(body.to_string().contains(field), "{wrong}: {body}");
    }
    // A misspelt member is refused, not read as absent (an endpoint with no
    // `topics` receives every topic).
    let (status, body) = post(
        &reader,
        "/api/relais/webhooks",
        json!({ "url": format!("{}/hooks/a", hooks.url()), "topic": "employee.updated" }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["details"]["parameter"], "topic", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("it takes url, name, topics, establishments"),
        "{body}"
    );
    let (status, body) = post(
        &reader,
        "/api/relais/webhooks",
        json!({ "url": format!("{}/hooks/a", hooks.url()), "name": "RH", "topics": ["employee.*"] }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["status"], "active", "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    let secret = body["data"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (_, shown) = app
        .get(&format!("/api/relais/webhooks/{id}"), &reader)
        .await;
    assert!(
        shown["data"].get("secret").is_none(),
        "the secret is shown once: {shown}"
    );
    let (status, _) = app
        .get(&format!("/api/relais/webhooks/{id}"), &stranger)
        .await;
    assert_eq!(status, 404, "another key's endpoint reads as missing");
    app.client
        .put(format!("{}/hooks/a/secrets", hooks.url()))
        .json(&json!([secret]))
        .send()
        .await
        .unwrap();
    let deliverer = Deliverer::new(app.state.clone(), &app.url);
    let e = app
        .employees()
        .await
        .into_iter()
        .find(|e| e.data.contract.status_on(app.today) == ContractStatus::Active)
        .unwrap();
    let change = |title: &str| {
        let (app, writer, title) = (&app, writer.clone(), title.to_owned());
        async move {
            let (status, body) = app
                .send(
                    reqwest::Method::PUT,
                    &format!("/api/v3/users/{}", e.id),
                    &writer,
                    json!({ "jobTitle": title }),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    change("Pilote").await;
    let pass = deliverer.pass().await.unwrap();
    assert_eq!((pass.made, pass.delivered, pass.failed), (1, 1, 0));
    let got = receiver.received("a");
    assert_eq!(got.len(), 1);
    assert!(got[0].verified);
    assert!(signed_by(
        &secret,
        &got[0].id,
        &got[0].timestamp,
        &got[0].body,
        &got[0].signature
    ));
    let message: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(message["type"], "employee.updated");
    assert_eq!(message["data"]["data"]["jobTitle"], "Pilote");
    assert_eq!(
        message["data"]["previousAttributes"]["jobTitle"],
        json!(e.data.job_title)
    );
    // Nothing more to send: a pass sends nothing twice.
    assert_eq!(deliverer.pass().await.unwrap(), Default::default());
    // A 500, then a 429 asking for 1 s: retried under the same id.
    app.client
        .put(format!("{}/hooks/a/answers", hooks.url()))
        .json(&json!([500, [429, 1]]))
        .send()
        .await
        .unwrap();
    change("Copilote").await;
    let pass = deliverer.pass().await.unwrap();
    assert_eq!((pass.made, pass.failed), (1, 1));
    let (_, log) = app
        .get(&format!("/api/relais/webhooks/{id}/deliveries"), &reader)
        .await;
    let latest = &items(&log)[0];
    assert_eq!(latest["status"], "pending");
    assert_eq!(latest["lastStatus"], 500);
    assert_eq!(latest["lastError"], "the endpoint answered 500", "in words");
    assert!(latest["nextAttemptAt"].is_string(), "{latest}");
    // The log a page at a time, newest first, and by status.
    let app = &app;
    let log_of = |query: &str| {
        let path = format!("/api/relais/webhooks/{id}/deliveries?{query}");
        let reader = reader.clone();
        async move { app.get(&path, &reader).await }
    };
    let all = items(&log).to_vec();
    assert!(all.len() >= 2, "{log}");
    assert!(
        log["data"]["next"].is_null(),
        "one page holds them all: {log}"
    );
    let mut paged = Vec::new();
    let mut query = "limit=1".to_owned();
    loop {
        let (status, page) = log_of(&query).await;
        assert_eq!(status, 200, "{page}");
        paged.extend(items(&page).iter().cloned());
        match page["data"]["next"].as_i64() {
            Some(before) => query = format!("limit=1&before={before}"),
            None => break,
        }
    }
    assert_eq!(paged, all, "pages of one hold the same log, in its order");
    let (_, pending) = log_of("status=pending").await;
    assert_eq!(items(&pending).len(), 1, "{pending}");
    assert_eq!(items(&pending)[0]["id"], latest["id"]);
    let (_, delivered) = log_of("status=delivered").await;
    assert!(
        items(&delivered).iter().all(|d| d["status"] == "delivered")
            && !items(&delivered).is_empty()
    );
    for (query, parameter) in [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("before=x", "before"),
        ("status=failed&status=pending", "status"),
    ] {
        let (status, answer) = log_of(query).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(
            answer["error"]["details"]["parameter"], parameter,
            "{query}: {answer}"
        );
    }
    let (_, shown) = app
        .get(&format!("/api/relais/webhooks/{id}"), &reader)
        .await;
    assert!(shown["data"]["failingSince"].is_string(), "{shown}");
    relais_testkit::eventually(
        std::time::Duration::from_secs(20),
        "the retries",
        || async {
            deliverer.pass().await.unwrap();
            receiver
                .received("a")
                .last()
                .is_some_and(|r| r.answered == 204)
                .then_some(())
        },
    )
    .await;
    let got = receiver.received("a");
    let answers: Vec<u16> = got.iter().map(|r| r.answered).collect();
    assert_eq!(answers, [204, 500, 429, 204]);
    assert!(
        got[1].id == got[2].id && got[2].id == got[3].id,
        "one id across retries"
    );
    assert!(got.iter().all(|r| r.verified));
    let (_, log) = app
        .get(&format!("/api/relais/webhooks/{id}/deliveries"), &reader)
        .await;
    assert_eq!(items(&log)[0]["status"], "delivered");
    assert_eq!(items(&log)[0]["attempts"], 3);
    // 410: suspended at once; activated again, the waiting delivery goes.
    app.client
        .put(format!("{}/hooks/a/answers", hooks.url()))
        .json(&json!([410]))
        .send()
        .await
        .unwrap();
    change("Navigante").await;
    deliverer.pass().await.unwrap();
    let (_, shown) = app
        .get(&format!("/api/relais/webhooks/{id}"), &reader)
        .await;
    assert_eq!(shown["data"]["status"], "suspended", "{shown}");
    assert_eq!(
        shown["data"]["statusReason"],
        "its URL answered 410: it was suspended at once"
    );
    change("Commandante").await;
    assert_eq!(
        deliverer.pass().await.unwrap(),
        Default::default(),
        "a suspended endpoint gets nothing"
    );
    let (status, body) = post(
        &reader,
        &format!("/api/relais/webhooks/{id}/activate"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "active");
    let pass = deliverer.pass().await.unwrap();
    assert_eq!(
        (pass.made, pass.delivered),
        (1, 2),
        "the waiting one and the new one"
    );
    // The journal tells both changes of status: relais suspending it, with
    // why, then the key activating it.
    use relais_core::activity::{Action, ActivityQuery, TargetKind};
    let endpoint_journal = |limit: u32| {
        let store = app.store.clone();
        let target = Some((TargetKind::Endpoint, id.to_string().parse().unwrap()));
        async move {
            store
                .list_activity(&ActivityQuery {
                    target,
                    limit,
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    let journal = endpoint_journal(10).await;
    let told: Vec<(Action, &str, String)> = journal
        .iter()
        .map(|e| (e.action, e.by.code(), e.detail.clone().unwrap_or_default()))
        .collect();
    assert_eq!(told.len(), 3, "{told:?}");
    assert_eq!(
        (told[0].0, told[0].1, told[0].2.as_str()),
        (Action::WebhookStatus, "key", "active")
    );
    assert_eq!((told[1].0, told[1].1), (Action::WebhookStatus, "relais"));
    assert_eq!(
        relais_core::webhooks::read_status_detail(&told[1].2, "en"),
        (
            "suspended",
            Some("its URL answered 410: it was suspended at once".to_owned())
        ),
        "{told:?}"
    );
    assert_eq!((told[2].0, told[2].1), (Action::WebhookCreated, "key"));
    // Rotation: the new secret signs, and the previous one still does.
    let (status, body) = post(
        &reader,
        &format!("/api/relais/webhooks/{id}/rotate"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rotated = body["data"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, secret);
    change("Pilote de ligne").await;
    deliverer.pass().await.unwrap();
    let last = receiver.received("a").last().cloned().unwrap();
    assert!(signed_by(
        &rotated,
        &last.id,
        &last.timestamp,
        &last.body,
        &last.signature
    ));
    assert!(signed_by(
        &secret,
        &last.id,
        &last.timestamp,
        &last.body,
        &last.signature
    ));
    // A test event, and a replay from a cursor.
    let (status, _) = post(
        &reader,
        &format!("/api/relais/webhooks/{id}/test"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    deliverer.pass().await.unwrap();
    let last = receiver.received("a").last().cloned().unwrap();
    assert!(last.body.contains("webhook.test"), "{}", last.body);
    let newest = endpoint_journal(1).await;
    assert_eq!(
        (newest[0].action, newest[0].by.code()),
        (Action::WebhookTested, "key"),
        "the test event is in the journal, as sent by the key"
    );
    let first_id = receiver.received("a")[0].id.clone();
    let first_cursor: i64 = first_id.rsplit('_').next().unwrap().parse().unwrap();
    let before = receiver.received("a").len();
    let (status, body) = post(
        &reader,
        &format!("/api/relais/webhooks/{id}/replay"),
        json!({ "after": first_cursor - 1 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let pass = deliverer.pass().await.unwrap();
    assert_eq!(pass.made, 5, "the five changes since, again");
    // Sent side by side, the replayed messages may arrive in any order.
    let got = receiver.received("a");
    let earlier: BTreeSet<&String> = got[..before].iter().map(|r| &r.id).collect();
    let replayed: BTreeSet<&String> = got[before..].iter().map(|r| &r.id).collect();
    assert_eq!(replayed.len(), 5, "{replayed:?}");
    assert!(
        replayed.contains(&first_id) && replayed.is_subset(&earlier),
        "a replay keeps each event's id: {replayed:?}"
    );
    let (status, _) = post(
        &reader,
        &format!("/api/relais/webhooks/{id}/replay"),
        json!({ "after": -3 }),
    )
    .await;
    assert_eq!(status, 422);
    // Two deliverers on one database: each event once.
    let other = Deliverer::new(app.state.clone(), &app.url);
    let before = receiver.received("a").len();
    for n in 0..5 {
        change(&format!("Poste {n}")).await;
        let (a, b) = tokio::join!(deliverer.pass(), other.pass());
        a.unwrap();
        b.unwrap();
    }
    let (a, b) = tokio::join!(deliverer.pass(), other.pass());
    a.unwrap();
    b.unwrap();
    let ids: Vec<String> = receiver.received("a")[before..]
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (5, 5), "{ids:?}");
    let (status, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/relais/webhooks/{id}"),
            &reader,
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .get(&format!("/api/relais/webhooks/{id}"), &reader)
        .await;
    assert_eq!(status, 404);
}

/// A deliverer stopped while a receiver is still answering (as a process
/// killed mid-delivery) loses nothing: once its lease runs out, another
/// deliverer sends every event that was not taken, under the same ids.
async fn a_deliverer_stopped_mid_delivery_loses_nothing(app: App) {
    use relais_api::deliver::Deliverer;
    let receiver = relais_sandbox::receiver::Receiver::new();
    let hooks = receiver.start().await.unwrap();
    let ids = titles_changed_for_a_hook(&app, &hooks.url(), "slow", 4).await;
    app.client
        .put(format!("{}/hooks/slow/delay", hooks.url()))
        .json(&json!(1500))
        .send()
        .await
        .unwrap();
    let ttl = std::time::Duration::from_secs(1);
    let first = Deliverer::new(app.state.clone(), &app.url).with_lease_ttl(ttl);
    let stopped = tokio::spawn(async move { first.pass().await });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    stopped.abort();
    assert!(
        receiver.received("slow").is_empty(),
        "stopped before any answer"
    );
    app.client
        .put(format!("{}/hooks/slow/delay", hooks.url()))
        .json(&json!(0))
        .send()
        .await
        .unwrap();
    let second = Deliverer::new(app.state.clone(), &app.url).with_lease_ttl(ttl);
    // Its lease holds the endpoint until it runs out.
    assert_eq!(
        second.pass().await.unwrap().delivered,
        0,
        "the lease is still held"
    );
    tokio::time::sleep(ttl + std::time::Duration::from_millis(200)).await;
    relais_testkit::eventually(
        std::time::Duration::from_secs(10),
        "every change delivered",
        || async {
            second.pass().await.unwrap();
            let got: BTreeSet<String> = receiver
                .received("slow")
                .iter()
                .map(|r| r.body.clone())
                .collect();
            (got.len() >= ids.len()).then_some(())
        },
    )
    .await;
    let got = receiver.received("slow");
    let titles: BTreeSet<String> = got
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            v["data"]["data"]["jobTitle"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        titles,
        (0..ids.len()).map(|n| format!("Poste {n}")).collect()
    );
    let unique: BTreeSet<&String> = got.iter().map(|r| &r.id).collect();
    assert_eq!(unique.len(), ids.len(), "one id per change");
}

/// An endpoint whose address the server no longer reaches (registered while
/// private addresses were allowed, on this machine) is posted nothing: the
/// pass suspends it, saying why, and keeps its changes as deliveries that
/// wait for its return; a server that reaches it again sends them.
async fn an_address_outside_the_reach_is_not_posted_to(app: App) {
    use relais_api::deliver::Deliverer;
    use relais_api::reach::WebhookReach;
    use relais_core::webhooks::{DeliveryStatus, EndpointStatus};
    let receiver = relais_sandbox::receiver::Receiver::new();
    let hooks = receiver.start().await.unwrap();
    titles_changed_for_a_hook(&app, &hooks.url(), "inside", 3).await;
    let endpoint = app
        .store
        .active_endpoints()
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.setup.url.ends_with("/hooks/inside"))
        .unwrap();
    let public_only = app
        .state
        .clone()
        .with_webhook_reach(WebhookReach::PublicOnly);
    let ttl = std::time::Duration::from_millis(300);
    let pass = Deliverer::new(public_only, &app.url)
        .with_lease_ttl(ttl)
        .pass()
        .await
        .unwrap();
    assert_eq!((pass.delivered, pass.failed), (0, 1), "{pass:?}");
    assert!(receiver.received("inside").is_empty(), "nothing posted");
    let now = app.store.endpoint(endpoint.id).await.unwrap();
    assert_eq!(now.status, EndpointStatus::Suspended);
    let why: Value = serde_json::from_str(&now.status_reason.unwrap_or_default()).unwrap();
    assert_eq!(why["reason"], "not-public", "{why}");
    assert_eq!(why["url"], format!("{}/hooks/inside", hooks.url()), "{why}");
    let log = app
        .store
        .list_deliveries(endpoint.id, &relais_store::DeliveryQuery::latest(10))
        .await
        .unwrap();
    assert_eq!(log.len(), 3, "each change kept as a delivery");
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Pending));
    // Back within reach and activated again: every change is sent, once,
    // by the next deliverer to hold the endpoint.
    tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
    app.store
        .set_endpoint_status(
            endpoint.id,
            EndpointStatus::Active,
            None,
            relais_core::activity::Actor::Relais,
        )
        .await
        .unwrap();
    let pass = Deliverer::new(app.state.clone(), &app.url)
        .pass()
        .await
        .unwrap();
    assert_eq!((pass.delivered, pass.failed), (3, 0), "{pass:?}");
    let titles: BTreeSet<String> = receiver
        .received("inside")
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            v["data"]["data"]["jobTitle"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(titles, (0..3).map(|n| format!("Poste {n}")).collect());
}

/// Gives a key that writes employees a webhook endpoint following their
/// updates at `<receiver>/hooks/<hook>`, then changes `changes` job titles
/// through the API (`Poste 0`, `Poste 1`…), in turn over the first four
/// employees, whose identifiers it answers.
async fn titles_changed_for_a_hook(
    app: &App,
    receiver: &str,
    hook: &str,
    changes: usize,
) -> Vec<i64> {
    let writer = app
        .key(&["personnel-file", "write-employees", "future-employees"])
        .await;
    let (status, body) = app
        .send(
            reqwest::Method::POST,
            "/api/relais/webhooks",
            &writer,
            json!({ "url": format!("{receiver}/hooks/{hook}"), "topics": ["employee.updated"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ids: Vec<i64> = app
        .employees()
        .await
        .iter()
        .take(4)
        .map(|e| e.id.0)
        .collect();
    for n in 0..changes {
        let id = ids[n % ids.len()];
        let (status, _) = app
            .send(
                reqwest::Method::PUT,
                &format!("/api/v3/users/{id}"),
                &writer,
                json!({ "jobTitle": format!("Poste {n}") }),
            )
            .await;
        assert_eq!(status, 200);
    }
    ids
}

/// A pass carrying more changes than a page sends every one of them, once,
/// by pages of 50 in the feed's order, pausing between two full pages: the
/// first message of a page reaches the receiver at least 10 ms after the
/// last of the page before.
async fn a_pass_of_many_changes_is_sent_page_by_page(app: App) {
    use relais_api::deliver::Deliverer;
    let receiver = relais_sandbox::receiver::Receiver::new();
    let hooks = receiver.start().await.unwrap();
    let changes = 120;
    titles_changed_for_a_hook(&app, &hooks.url(), "paged", changes).await;
    let deliverer = Deliverer::new(app.state.clone(), &app.url);
    let pass = deliverer.pass().await.unwrap();
    assert_eq!(
        (pass.made, pass.delivered, pass.failed),
        (changes, changes, 0)
    );
    let got = receiver.received("paged");
    let mut by_cursor: Vec<(i64, String, chrono::DateTime<chrono::Utc>)> = got
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.body).unwrap();
            let title = v["data"]["data"]["jobTitle"].as_str().unwrap().to_owned();
            (v["data"]["cursor"].as_i64().unwrap(), title, r.arrived_at)
        })
        .collect();
    by_cursor.sort();
    let titles: Vec<&str> = by_cursor.iter().map(|(_, t, _)| t.as_str()).collect();
    let asked: Vec<String> = (0..changes).map(|n| format!("Poste {n}")).collect();
    assert_eq!(titles, asked, "every change once, in the order made");
    let pages: Vec<&[(i64, String, chrono::DateTime<chrono::Utc>)]> =
        by_cursor.chunks(50).collect();
    assert_eq!(pages.len(), 3);
    for pair in pages.windows(2) {
        let last_before = pair[0].iter().map(|(_, _, at)| *at).max().unwrap();
        let first_after = pair[1].iter().map(|(_, _, at)| *at).min().unwrap();
        assert!(
            first_after - last_before >= chrono::Duration::milliseconds(10),
            "a page started {} ms after the one before it ended",
            (first_after - last_before).num_milliseconds()
        );
    }
}

/// `GET <list>/{id}` answers the record as its list shows it (the same
/// fields, asked or by default) in the item envelope; an unknown record, or
/// one outside the key's establishments, is not found alike; an identifier
/// that is not a number is refused; the list's own `id` and `paging` are
/// set aside; a key without the list's grant is refused.
async fn each_record_reads_alone_as_its_list_shows_it(app: App) {
    let all = app.key(&["all"]).await;
    let lists = [
        (
            "/api/v3/departments",
            "id,name,code,parentId,hierarchy,level,headID,currentUsersCount",
        ),
        ("/api/v3/legalentities", "id,name,code"),
        ("/api/v3/leaveAccounts", "id,name,isActive"),
        (
            "/api/v3/expenseClaims",
            "id,name,ownerId,owner[id,name],statusId,declaredOn",
        ),
        (
            "/api/v3/expenseClaimItems",
            "id,expenseClaimId,purchasedOn,processedAmounts",
        ),
    ];
    for (list, fields) in lists {
        let (status, page) = app
            .get(&format!("{list}?fields={fields}&paging=0,3"), &all)
            .await;
        assert_eq!(status, 200, "{list}: {page}");
        assert_eq!(items(&page).len(), 3, "{list}: {page}");
        for item in items(&page) {
            let id = &item["id"];
            let (status, one) = app.get(&format!("{list}/{id}?fields={fields}"), &all).await;
            assert_eq!(status, 200, "{list}/{id}: {one}");
            assert_eq!(&one["data"], item, "{list}/{id}");
        }
        let first = &items(&page)[0]["id"];
        let (_, alone) = app.get(&format!("{list}?id={first}"), &all).await;
        let (_, one) = app
            .get(&format!("{list}/{first}?id=999999&paging=5,1"), &all)
            .await;
        assert_eq!(one["data"], items(&alone)[0], "{list}: the default fields");
        let (status, body) = app.get(&format!("{list}/999999"), &all).await;
        assert_eq!(status, 404, "{list}: {body}");
        assert!(
            body.to_string().contains("999999 visible to this key"),
            "{list}: {body}"
        );
        let (status, body) = app.get(&format!("{list}/abc"), &all).await;
        assert_eq!(status, 400, "{list}: {body}");
        assert!(
            body.to_string().contains("'abc' is not an identifier"),
            "{body}"
        );
    }

    // A record outside the key's establishments reads as a missing one.
    let scoped = app
        .key(&[
            "organisation",
            "expenses",
            "personnel-file",
            "establishments=2",
        ])
        .await;
    let claim_of = |establishment: i64| {
        let all = all.clone();
        let app = &app;
        async move {
            let (_, page) = app
                .get(
                    &format!(
                        "/api/v3/expenseClaims?legalEntityId={establishment}&fields=id&paging=0,1"
                    ),
                    &all,
                )
                .await;
            ids(&page)[0]
        }
    };
    let (inside, outside) = (claim_of(2).await, claim_of(1).await);
    let (status, body) = app
        .get(&format!("/api/v3/expenseClaims/{inside}"), &scoped)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, hidden) = app
        .get(&format!("/api/v3/expenseClaims/{outside}"), &scoped)
        .await;
    let (_, missing) = app.get("/api/v3/expenseClaims/999999", &scoped).await;
    assert_eq!(status, 404, "{hidden}");
    assert_eq!(
        hidden.to_string().replace(&outside.to_string(), "N"),
        missing.to_string().replace("999999", "N"),
        "hidden reads as missing"
    );
    let (status, _) = app.get("/api/v3/legalentities/1", &scoped).await;
    assert_eq!(status, 404, "another establishment");
    let (status, _) = app.get("/api/v3/legalentities/2", &scoped).await;
    assert_eq!(status, 200);

    // Without the list's grant, refused as the list is.
    let organisation = app.key(&["organisation"]).await;
    let (status, body) = app
        .get(&format!("/api/v3/expenseClaims/{inside}"), &organisation)
        .await;
    assert_eq!(status, 403, "{body}");
}
