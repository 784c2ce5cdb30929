//! The partner simulators over HTTP: state, rules, and injected faults.

use relais_sandbox::{happypal, ledgy, planningpme, semana};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test]
async fn happypal_links_upserts_overwrites_and_deletes() {
    let sim = happypal::start(local(), "hp-token").await.unwrap();
    let url = sim.url();
    let c = reqwest::Client::new();
    let put = |id: &str, body: Value| {
        c.put(format!("{url}/api/v1/employees/{id}"))
            .bearer_auth("hp-token")
            .json(&body)
            .send()
    };

    assert_eq!(
        c.get(format!("{url}/api/v1/employees"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.get(format!("{url}/api/v1/employees"))
            .bearer_auth("other")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // A profile that existed before the integration is linked on its e-mail, not duplicated.
    c.post(format!("{url}/_sim/profiles")).json(&json!({ "first_name": "Claire", "last_name": "Martin", "email": "Claire.Martin@exemple.fr", "birth_date": null, "contract_start": null, "contract_end": null })).send().await.unwrap();
    let claire = json!({ "first_name": "Claire", "last_name": "Martin", "email": "claire.martin@exemple.fr", "birth_date": "1990-05-17", "contract_start": "2020-01-06", "contract_end": null });
    let r = put("7", claire.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let linked: Value = r.json().await.unwrap();
    assert_eq!(
        (linked["linked"].clone(), linked["external_id"].clone()),
        (json!(true), json!("7"))
    );

    let hugo = json!({ "first_name": "Hugo", "last_name": "Laurent", "email": "hugo@exemple.fr", "birth_date": null, "contract_start": "2021-03-01", "contract_end": "2026-12-31" });
    assert_eq!(put("8", hugo.clone()).await.unwrap().status(), 201);
    let again: Value = put("8", hugo.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(again["updates"], 0, "the same PUT twice changes nothing");
    let profiles: Vec<Value> = c
        .get(format!("{url}/_sim/profiles"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profiles.len(), 2);

    // A change made in HappyPal is listed as changed since, then overwritten by the next sync.
    let before: Value = c
        .get(format!("{url}/api/v1/employees"))
        .bearer_auth("hp-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let as_of = before["as_of"].as_str().unwrap().to_owned();
    let id = linked["id"].as_u64().unwrap();
    c.patch(format!("{url}/_sim/profiles/{id}"))
        .json(&json!({ "first_name": "Clara" }))
        .send()
        .await
        .unwrap();
    let changed: Value = c
        .get(format!("{url}/api/v1/employees"))
        .query(&[("updated_since", as_of.as_str())])
        .bearer_auth("hp-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let changed = changed["items"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "only the edited profile: {changed:?}");
    assert_eq!(changed[0]["first_name"], "Clara");
    let restored: Value = put("7", claire).await.unwrap().json().await.unwrap();
    assert_eq!(restored["first_name"], "Claire");
    assert_eq!(restored["updates"], 2);

    let page: Value = c
        .get(format!("{url}/api/v1/employees?page=1&per_page=1"))
        .bearer_auth("hp-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            page["items"].as_array().unwrap().len(),
            page["total"].clone()
        ),
        (1, json!(2))
    );

    assert_eq!(
        put("9", json!({ "first_name": "X" }))
            .await
            .unwrap()
            .status(),
        400
    );
    let bad_date = json!({ "first_name": "A", "last_name": "B", "email": "a@b.fr", "birth_date": "17/05/1990", "contract_start": null, "contract_end": null });
    assert_eq!(put("9", bad_date).await.unwrap().status(), 422);

    assert_eq!(
        c.delete(format!("{url}/api/v1/employees/8"))
            .bearer_auth("hp-token")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        c.delete(format!("{url}/api/v1/employees/8"))
            .bearer_auth("hp-token")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn faults_are_injected_on_demand() {
    let sim = happypal::start(local(), "t").await.unwrap();
    let url = sim.url();
    let c = reqwest::Client::new();
    let list = || {
        c.get(format!("{url}/api/v1/employees"))
            .bearer_auth("t")
            .send()
    };
    let set = |f: Value| c.put(format!("{url}/_sim/faults")).json(&f).send();

    set(json!({ "refuse_credentials": true })).await.unwrap();
    assert_eq!(list().await.unwrap().status(), 401);
    set(json!({ "error_rate": 1.0 })).await.unwrap();
    assert_eq!(list().await.unwrap().status(), 503);
    set(json!({ "error_rate": 0.5 })).await.unwrap();
    let mut failures = 0;
    for _ in 0..40 {
        if list().await.unwrap().status() == 503 {
            failures += 1;
        }
    }
    assert!((8..=32).contains(&failures), "about half fail: {failures}");
    // Writes only: every read answers, every write fails.
    set(json!({ "error_rate": 1.0, "writes_only": true }))
        .await
        .unwrap();
    assert_eq!(list().await.unwrap().status(), 200);
    let write = c
        .post(format!("{url}/api/v1/employees"))
        .bearer_auth("t")
        .json(
            &json!({ "first_name": "A", "last_name": "B", "email": "a@b.fr", "external_id": "1" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 503);
    set(json!({ "rate_limit": 2, "rate_window_seconds": 60 }))
        .await
        .unwrap();
    assert_eq!(list().await.unwrap().status(), 200);
    assert_eq!(list().await.unwrap().status(), 200);
    let r = list().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    set(json!({ "slow_ms": 200 })).await.unwrap();
    let t = Instant::now();
    assert_eq!(list().await.unwrap().status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        set(json!({ "colour": "red" })).await.unwrap().status(),
        422,
        "unknown fault"
    );
    let served: Value = c
        .get(format!("{url}/_sim/served"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(served["served"].as_u64().unwrap() >= 46);
}

#[tokio::test]
async fn planningpme_speaks_its_api() {
    let sim = planningpme::start(local(), "acme", "app-key", "user-assertion")
        .await
        .unwrap();
    let base = format!("{}/acme", sim.url());
    let c = reqwest::Client::new();
    let token_form = |assertion: &str| {
        vec![
            ("grant_type", planningpme::GRANT_TYPE.to_owned()),
            ("assertion", assertion.to_owned()),
        ]
    };
    assert_eq!(
        c.put(format!("{base}/token"))
            .form(&token_form("user-assertion"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "no app key"
    );
    assert_eq!(
        c.put(format!("{base}/token"))
            .header("X-APPKEY", "app-key")
            .form(&token_form("wrong"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.put(format!("{base}/token"))
            .header("X-APPKEY", "app-key")
            .form(&[("grant_type", "password"), ("assertion", "user-assertion")])
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let t: Value = c
        .put(format!("{base}/token"))
        .header("X-APPKEY", "app-key")
        .form(&token_form("user-assertion"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = t["access_token"].as_str().unwrap().to_owned();
    let call = |m: reqwest::Method, path: &str| {
        c.request(m, format!("{base}/{path}"))
            .header("X-APPKEY", "app-key")
            .bearer_auth(&token)
    };

    assert_eq!(
        c.get(format!("{base}/api/department"))
            .header("X-APPKEY", "app-key")
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "no bearer"
    );
    assert_eq!(
        call(reqwest::Method::PUT, "api/resource/42")
            .json(&json!({ "label": "Claire Martin", "departmentKey": "12" }))
            .send()
            .await
            .unwrap()
            .status(),
        422,
        "unknown department"
    );
    assert_eq!(
        call(reqwest::Method::PUT, "api/department/12")
            .json(&json!({ "label": "Atelier", "parentKey": null }))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        call(reqwest::Method::PUT, "api/resource/42")
            .json(&json!({ "label": "Claire Martin", "departmentKey": "12" }))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let leave = |start: &str, end: &str| json!({ "resource": "42", "start": start, "end": end, "label": "Congés payés" });
    assert_eq!(
        call(reqwest::Method::PUT, "api/unavailability/lp-1")
            .json(&leave("2026-03-02 08:00", "2026-03-02T12:00:00"))
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        call(reqwest::Method::PUT, "api/unavailability/lp-1")
            .json(&leave("2026-03-02T12:00:00", "2026-03-02T08:00:00"))
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        call(reqwest::Method::PUT, "api/unavailability/lp-1")
            .json(&leave("2026-03-02T08:00:00", "2026-03-03T18:00:00"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        call(reqwest::Method::PUT, "api/unavailability/lp-1")
            .json(&leave("2026-03-02T08:00:00", "2026-03-03T18:00:00"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "idempotent"
    );
    let listed: Value = call(reqwest::Method::POST, "api/do/list")
        .json(&json!({ "dateFrom": "2026-03-01", "dateTo": "2026-03-31", "resources": ["42"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let outside: Value = call(reqwest::Method::POST, "api/do/list")
        .json(&json!({ "dateFrom": "2026-04-01", "dateTo": "2026-04-30" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(outside["items"].as_array().unwrap().is_empty());
    assert_eq!(
        call(reqwest::Method::DELETE, "api/resource/42")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let held: planningpme::Holdings = c
        .get(format!("{}/_sim/state", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        held.resources.is_empty() && held.unavailabilities.is_empty(),
        "a removed resource takes its absences with it"
    );
    assert_eq!(held.departments.len(), 1);

    let faults: Value = c
        .get(format!("{}/_sim/faults", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        faults["rate_limit"],
        planningpme::DEFAULT_HOURLY_BUDGET,
        "2,000 requests an hour by default"
    );
    c.put(format!("{}/_sim/faults", sim.url()))
        .json(&json!({ "rate_limit": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        call(reqwest::Method::GET, "api/department")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = call(reqwest::Method::GET, "api/department")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn semana_links_users_books_days_and_answers_in_its_envelope() {
    let sim = semana::start(local(), "ws-key").await.unwrap();
    let url = sim.url();
    let c = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let req = c
            .request(method, format!("{url}{path}"))
            .header("X-API-Key", "ws-key");
        match body {
            Some(b) => req.json(&b).send(),
            None => req.send(),
        }
    };

    // Without the workspace key: refused in the envelope.
    let r = c.get(format!("{url}/v1/users")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        (e["ok"].clone(), e["error"]["code"].clone()),
        (json!(false), json!("unauthorized"))
    );

    // A user is created, then linked (not duplicated) on the same e-mail in another case.
    let camille = json!({ "email": "camille.roux@exemple.fr", "firstName": "Camille", "lastName": "Roux", "employeeNumber": "E-12", "establishment": "Lyon" });
    let r = send(reqwest::Method::POST, "/v1/users", Some(camille))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["data"]["id"].as_u64().unwrap();
    let again = json!({ "email": "Camille.Roux@EXEMPLE.fr", "lastName": "Roux-Morel" });
    let r = send(reqwest::Method::POST, "/v1/users", Some(again))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let linked: Value = r.json().await.unwrap();
    assert_eq!(linked["data"]["id"].as_u64(), Some(id));
    assert_eq!(linked["data"]["lastName"], "Roux-Morel");
    let bad = send(
        reqwest::Method::POST,
        "/v1/users",
        Some(json!({ "email": "x" })),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 422);
    let unknown = send(
        reqwest::Method::POST,
        "/v1/users",
        Some(json!({ "mail": "x@y.fr" })),
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), 400);

    // Bookings: a client's, keyed by its own identifier (idempotent), and an employee's own.
    let off = json!({ "collaboratorId": id, "date": "2026-12-07", "period": "day", "type": "off", "externalId": "leave:9" });
    assert_eq!(
        send(reqwest::Method::POST, "/v1/bookings", Some(off.clone()))
            .await
            .unwrap()
            .status(),
        201
    );
    let moved = json!({ "collaboratorId": id, "date": "2026-12-08", "period": "morning", "type": "off", "externalId": "leave:9" });
    assert_eq!(
        send(reqwest::Method::POST, "/v1/bookings", Some(moved))
            .await
            .unwrap()
            .status(),
        200
    );
    let r = c
        .post(format!("{url}/_sim/book"))
        .json(&json!({ "email": "CAMILLE.ROUX@exemple.fr", "date": "2026-12-09", "period": "afternoon", "type": "remote" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let wrong = json!({ "collaboratorId": id, "date": "2026-12-10", "period": "evening", "type": "remote" });
    let r = send(reqwest::Method::POST, "/v1/bookings", Some(wrong))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"].as_str().unwrap().contains("evening"),
        "{e}"
    );

    let r = send(
        reqwest::Method::GET,
        "/v1/bookings?from=2026-12-01&to=2026-12-31&limit=1",
        None,
    )
    .await
    .unwrap();
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["page"]["totalItemsCount"], 2);
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let r = send(
        reqwest::Method::GET,
        "/v1/bookings?from=2026-12-01&to=2026-12-31&type=remote",
        None,
    )
    .await
    .unwrap();
    let remote: Value = r.json().await.unwrap();
    let remote = remote["data"].as_array().unwrap().clone();
    assert_eq!(remote.len(), 1);
    assert_eq!(
        (remote[0]["period"].clone(), remote[0]["externalId"].clone()),
        (json!("afternoon"), json!(null))
    );
    let bad = send(
        reqwest::Method::GET,
        "/v1/bookings?from=demain&to=2026-12-31",
        None,
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);

    // A user who left is deactivated, their bookings kept; a booking is deleted once.
    let r = send(
        reqwest::Method::PATCH,
        &format!("/v1/users/{id}"),
        Some(json!({ "active": false })),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let state: semana::Holdings = c
        .get(format!("{url}/_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            state.users.len(),
            state.users[0].active,
            state.bookings.len()
        ),
        (1, false, 2)
    );
    let first = state.bookings[0].id;
    assert_eq!(
        send(
            reqwest::Method::DELETE,
            &format!("/v1/bookings/{first}"),
            None
        )
        .await
        .unwrap()
        .status(),
        204
    );
    assert_eq!(
        send(
            reqwest::Method::DELETE,
            &format!("/v1/bookings/{first}"),
            None
        )
        .await
        .unwrap()
        .status(),
        404
    );

    // Faults as the other simulators inject them.
    c.put(format!("{url}/_sim/faults"))
        .json(&json!({ "refuse_credentials": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        send(reqwest::Method::GET, "/v1/users", None)
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn happypal_takes_a_hundred_profiles_per_batch() {
    let sim = happypal::start(local(), "hp-token").await.unwrap();
    let c = reqwest::Client::new();
    let profile = |n: usize| json!({ "first_name": "P", "last_name": format!("N{n}"), "email": format!("p{n}@exemple.fr"), "birth_date": null, "contract_start": null, "contract_end": null });
    let mut items: Vec<Value> = (0..3)
        .map(|n| json!({ "external_id": n.to_string(), "profile": profile(n) }))
        .collect();
    items.push(json!({ "external_id": "bad", "profile": { "first_name": "", "last_name": "X", "email": "nope", "birth_date": null, "contract_start": null, "contract_end": null } }));
    let r: Value = c
        .post(format!("{}/api/v1/employees/batch", sim.url()))
        .bearer_auth("hp-token")
        .json(&json!({ "items": items }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<u64> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 201, 422]);
    let too_many: Vec<Value> = (0..101)
        .map(|n| json!({ "external_id": n.to_string(), "profile": profile(n) }))
        .collect();
    let r = c
        .post(format!("{}/api/v1/employees/batch", sim.url()))
        .bearer_auth("hp-token")
        .json(&json!({ "items": too_many }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn ledgy_keeps_stakeholders_by_identifier_and_never_deletes_them() {
    let sim = ledgy::start(local(), "ledgy-token").await.unwrap();
    let url = sim.url();
    let c = reqwest::Client::new();
    // The token is required.
    let status = c
        .get(format!("{url}/api/v1/stakeholders"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    // One by one: created, then replaced.
    let put = |id: &str, fields: Value| {
        c.put(format!("{url}/api/v1/stakeholders/{id}"))
            .bearer_auth("ledgy-token")
            .json(&json!({ "fields": fields }))
            .send()
    };
    assert_eq!(
        put("M1", json!({"firstName": "Ana"}))
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        put("M1", json!({"firstName": "Anna"}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        put("M2", json!({"team": {"name": "x"}}))
            .await
            .unwrap()
            .status(),
        400,
        "fields are plain values"
    );
    // A batch: one result per stakeholder, in order; a refused one alone.
    let long = "x".repeat(101);
    let answer: Value = c
        .post(format!("{url}/api/v1/stakeholders/batch"))
        .bearer_auth("ledgy-token")
        .json(&json!({ "stakeholders": [
            { "identifier": "M1", "fields": { "firstName": "Ana" } },
            { "identifier": long, "fields": {} },
            { "identifier": "M3", "fields": { "firstName": "Léo" } },
        ] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["updated", "refused", "created"]);
    let too_many: Vec<Value> = (0..101)
        .map(|n| json!({ "identifier": format!("B{n}"), "fields": {} }))
        .collect();
    let status = c
        .post(format!("{url}/api/v1/stakeholders/batch"))
        .bearer_auth("ledgy-token")
        .json(&json!({ "stakeholders": too_many }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 413);
    // Unlinked, never deleted.
    let status = c
        .post(format!("{url}/api/v1/stakeholders/M3/unlink"))
        .bearer_auth("ledgy-token")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let held: ledgy::Holdings = c
        .get(format!("{url}/_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held.stakeholders.len(), 2);
    assert_eq!(held.get("M1").unwrap().fields["firstName"], "Ana");
    assert!(!held.get("M3").unwrap().hr_linked);
    let picked: Value = c
        .get(format!("{url}/api/v1/stakeholders?identifiers=M3,nobody"))
        .bearer_auth("ledgy-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(picked["stakeholders"].as_array().unwrap().len(), 1);
}
