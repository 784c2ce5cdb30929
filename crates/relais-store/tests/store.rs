//! One storage suite, run against SQLite always and against PostgreSQL when
//! `RELAIS_TEST_POSTGRES_URL` is set (each test in a fresh database).

use chrono::{NaiveDate, SubsecRound};
use relais_core::absence::*;
use relais_core::audit::Author;
use relais_core::base::{BaseKind, BaseName};
use relais_core::calendar::{HalfDay, HalfDaySlot, HolidayCalendar, WorkCalendar, WorkingWeek};
use relais_core::employee::*;
use relais_core::expense::*;
use relais_core::ids::*;
use relais_core::integration::LeaseJob;
use relais_core::org::*;
use relais_store::{BaseVersions, DeliveryQuery, Records, SharedStore, StoreError};
use relais_testkit::now;

/// Who makes the changes the tests make, unless a test says otherwise.
const CLI: relais_core::activity::Actor = relais_core::activity::Actor::CommandLine;

fn who() -> Author {
    Author {
        name: "store tests".into(),
        source: "api".into(),
    }
}
/// A test's store on its own database (dropped after the store).
struct TestDb {
    store: SharedStore,
    db: relais_testkit::TestDb,
}

impl TestDb {
    async fn on(db: relais_testkit::TestDb) -> TestDb {
        TestDb {
            store: db.open().await,
            db,
        }
    }

    /// The same database opened again, as another process would.
    async fn reopen(&self) -> Result<SharedStore, StoreError> {
        relais_store::open(self.db.url()).await
    }
}

async fn sqlite_db() -> TestDb {
    TestDb::on(relais_testkit::TestDb::sqlite()).await
}

/// A fresh PostgreSQL database, or `None` (with a notice) when no server is configured.
async fn postgres_db() -> Option<TestDb> {
    Some(TestDb::on(relais_testkit::TestDb::postgres("relais-store").await?).await)
}

/// A fresh PostgreSQL database and its URL, for tests that also connect
/// to it directly; `None` as [`postgres_db`].
async fn postgres_db_and_url() -> Option<(TestDb, String)> {
    let db = postgres_db().await?;
    let url = db.db.url_text();
    Some((db, url))
}

macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::sqlite_db().await).await })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(db) = super::postgres_db().await { super::$name(db).await }
            })*
        }
    };
}

store_suite!(
    bases_are_created_listed_and_unique,
    updates_made_at_once_each_commit_with_their_event,
    an_install_is_stored_whole_or_not_at_all,
    employees_round_trip_with_unique_fields,
    employee_references_are_checked,
    custom_fields_follow_their_sections,
    leave_periods_count_working_half_days_and_refuse_overlaps,
    leave_status_workflow,
    counts_split_employees_by_contract_status,
    copying_a_base_replaces_the_target_and_keeps_the_source,
    clearing_a_base_removes_only_its_data,
    expenses_round_trip,
    employees_list_in_pages,
    a_newer_schema_is_refused,
    leases_are_exclusive_renewable_and_expire,
    two_processes_never_hold_one_job_at_once,
    the_ledger_keeps_what_partners_acknowledged,
    concurrent_writers_wait_for_each_other,
    integrations_and_their_runs_are_kept,
    one_waiting_run_answers_every_ask,
    a_keys_reads_are_summed_per_resource,
    a_rotated_key_keeps_its_previous_secret_for_its_grace,
    posted_deliveries_are_stored_with_the_cursor_that_made_them,
    the_delivery_log_is_read_page_by_page_and_by_status,
    every_kind_of_write_raises_the_bases_data_version,
    a_large_page_read_in_parts_is_the_page_read_whole,
    every_change_writes_its_event_with_it,
    changed_records_name_what_a_connector_is_sent,
    another_process_is_woken_by_committed_events,
    accounts_are_disabled_and_given_new_passwords,
    some_account_may_always_manage_accounts,
    sign_ins_are_listed_by_account,
    an_account_is_renamed_and_signs_in_with_its_new_address,
    old_requests_and_expired_sessions_are_pruned,
    old_journal_entries_and_account_changes_are_pruned,
    old_runs_go_with_their_lines_but_each_integration_keeps_its_last,
    the_activity_journal_tells_who_did_what,
    a_password_set_by_someone_else_is_to_be_replaced,
    a_key_holds_at_most_so_many_endpoints,
    an_employee_is_read_with_its_manager_within_the_scope,
);

/// A key to store on `base`, its secret's hash "h": `prefix`, `name`,
/// `usage` and `grants` as given.
fn new_key(
    base: BaseId,
    prefix: &str,
    name: &str,
    usage: relais_core::access::KeyUsage,
    grants: &[&str],
) -> relais_store::NewApiKey {
    relais_store::NewApiKey {
        base_id: base,
        prefix: prefix.into(),
        secret_hash: "h".into(),
        name: Name::parse("name", name).unwrap(),
        contact: Email::parse("it@relais.test").unwrap(),
        usage,
        role: relais_core::access::Role::parse(grants).unwrap(),
    }
}

/// An active endpoint of `key` on `base`, named `name`, at a public
/// address, starting after event 0.
fn new_endpoint(base: BaseId, key: KeyId, name: &str) -> relais_store::NewEndpoint {
    relais_store::NewEndpoint {
        setup: relais_core::webhooks::EndpointSetup {
            base_id: base,
            key_id: key,
            name: name.into(),
            url: "https://hooks.acme.test/in".into(),
            topics: Vec::new(),
            establishments: None,
        },
        sealed_secrets: "sealed".into(),
        status: relais_core::webhooks::EndpointStatus::Active,
        status_reason: None,
        cursor: 0,
    }
}

/// How many entries a base's change log holds.
async fn log_count(s: &SharedStore, base: BaseId) -> usize {
    let all = relais_store::ListQuery {
        limit: 1_000,
        ..relais_store::ListQuery::default()
    };
    s.query_employee_logs(base, &all).await.unwrap().items.len()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

struct Org {
    base: BaseId,
    establishment: EstablishmentId,
    department: DepartmentId,
    paid_leave: AbsenceAccountId,
    closed_account: AbsenceAccountId,
}

async fn org(store: &SharedStore, base_name: &str) -> Org {
    let base = store
        .create_base(&BaseName::parse(base_name).unwrap(), BaseKind::Production)
        .await
        .unwrap()
        .id;
    let t = now();
    let lu = LegalUnitId(store.reserve_ids(base, Entity::LegalUnit, 1).await.unwrap());
    store
        .insert_records(Records::LegalUnits(&[LegalUnit {
            base_id: base,
            id: lu,
            name: Name::parse("name", "Exemple SAS").unwrap(),
            siren: Siren::parse("732829320").unwrap(),
            country: "FR".into(),
            code: "EXSAS".into(),
            headquarters_id: Some(EstablishmentId(1)),
            archived: false,
            created_at: t,
            modified_at: t,
        }]))
        .await
        .unwrap();
    let est = EstablishmentId(
        store
            .reserve_ids(base, Entity::Establishment, 1)
            .await
            .unwrap(),
    );
    store
        .insert_records(Records::Establishments(&[Establishment {
            base_id: base,
            id: est,
            legal_unit_id: lu,
            name: Name::parse("name", "Siège Paris").unwrap(),
            code: Code::parse("code", "PAR").unwrap(),
            siret: Siret::parse("73282932000074").unwrap(),
            time_zone: TimeZone::PARIS,
            address: Address {
                line: "1 rue de Rivoli".into(),
                postal_code: "75001".into(),
                city: "Paris".into(),
                country: "FR".into(),
            },
            calendar: WorkCalendar {
                week: WorkingWeek::MONDAY_TO_FRIDAY,
                holidays: HolidayCalendar::France,
            },
            archived: false,
            created_at: t,
            modified_at: t,
        }]))
        .await
        .unwrap();
    let dep = DepartmentId(
        store
            .reserve_ids(base, Entity::Department, 1)
            .await
            .unwrap(),
    );
    store
        .insert_records(Records::Departments(&[Department {
            base_id: base,
            id: dep,
            parent_id: None,
            code: Code::parse("code", "DG").unwrap(),
            name: Name::parse("name", "Direction générale").unwrap(),
            head_id: None,
            position: 0,
            active: true,
            created_at: t,
            modified_at: t,
        }]))
        .await
        .unwrap();
    let first = store
        .reserve_ids(base, Entity::AbsenceAccount, 2)
        .await
        .unwrap();
    let account = |id: i64, name: &str, active: bool| AbsenceAccount {
        base_id: base,
        id: AbsenceAccountId(id),
        name: Name::parse("name", name).unwrap(),
        category: AbsenceCategory::PaidLeave,
        unit: AbsenceUnit::Days,
        active,
        created_at: t,
        modified_at: t,
    };
    store
        .insert_records(Records::AbsenceAccounts(&[
            account(first, "Congés payés", true),
            account(first + 1, "Ancien compte", false),
        ]))
        .await
        .unwrap();
    Org {
        base,
        establishment: est,
        department: dep,
        paid_leave: AbsenceAccountId(first),
        closed_account: AbsenceAccountId(first + 1),
    }
}

/// `n` employees of `org` with identifiers reserved for them, the `i`th
/// with the name of [`person`] number `name_of(i)` and its own employee
/// number, login and e-mail.
async fn many_people(
    s: &SharedStore,
    org: &Org,
    n: i64,
    name_of: impl Fn(i64) -> u32,
) -> Vec<Employee> {
    let first = s.reserve_ids(org.base, Entity::Employee, n).await.unwrap();
    let t = now();
    (0..n)
        .map(|i| {
            let mut data = person(org, name_of(i), d(2020, 1, 6), None);
            data.employee_number = EmployeeNumber::parse(&format!("P{i:05}")).unwrap();
            data.login = format!("p{i}");
            data.mail = Email::parse(&format!("p{i}@exemple.fr")).unwrap();
            Employee {
                base_id: org.base,
                id: EmployeeId(first + i),
                data,
                created_at: t,
                modified_at: t,
            }
        })
        .collect()
}

fn person(org: &Org, n: u32, start: NaiveDate, end: Option<NaiveDate>) -> EmployeeData {
    EmployeeData {
        employee_number: EmployeeNumber::parse(&format!("M{n:04}")).unwrap(),
        first_name: Name::parse("firstName", "Claire").unwrap(),
        last_name: Name::parse("lastName", &format!("Martin{n}")).unwrap(),
        mail: Email::parse(&format!("claire.martin{n}@exemple.fr")).unwrap(),
        login: format!("cmartin{n}"),
        birth_date: Some(d(1990, 5, 17)),
        establishment_id: org.establishment,
        department_id: Some(org.department),
        manager_id: None,
        job_title: Some("Comptable".into()),
        csp: Some(Csp::Cadre),
        profession: Some("Finance".into()),
        contract: Contract::new(start, end).unwrap(),
        extended_data: Default::default(),
        // Personal details round-trip through the store like every field.
        personal: relais_core::employee::PersonalDetails::from_json(
            serde_json::json!({
                "personalEmail": format!("claire{n}@orange.fr"),
                "professionalPhone": "01 23 45 67 89",
                "address": { "street": "3 rue des Lilas", "zipCode": "69003", "city": "Lyon", "countryCode": "FR" },
                "gender": "Female",
                "nationality": "fr",
                "civilTitle": "Mme",
            })
            .as_object()
            .unwrap(),
        )
        .unwrap(),
    }
}

async fn bases_are_created_listed_and_unique(db: TestDb) {
    let s = &db.store;
    assert!(s.list_bases().await.unwrap().is_empty());
    let prod = s
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    let test = s
        .create_base(&BaseName::parse("test").unwrap(), BaseKind::Test)
        .await
        .unwrap();
    assert_ne!(prod.id, test.id);
    let names: Vec<_> = s
        .list_bases()
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.name.to_string(), b.kind))
        .collect();
    assert_eq!(
        names,
        vec![
            ("production".into(), BaseKind::Production),
            ("test".into(), BaseKind::Test)
        ]
    );
    let err = s
        .create_base(&BaseName::parse("test").unwrap(), BaseKind::Test)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { field: "name", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("'test' already exists"));
    let missing = s
        .base_by_name(&BaseName::parse("staging").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(
        missing,
        StoreError::NotFound { entity: "base", .. }
    ));
    assert_eq!(
        s.base_by_name(&BaseName::parse("test").unwrap())
            .await
            .unwrap()
            .id,
        test.id
    );
}

async fn employees_round_trip_with_unique_fields(db: TestDb) {
    let s = &db.store;
    let o = org(s, "production").await;
    let data = person(&o, 1, d(2020, 1, 6), None);
    let created = s.create_employee(o.base, &data, &who()).await.unwrap();
    let read = s.get_employee(o.base, created.id).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.data.csp, Some(Csp::Cadre));

    let mut same_number = person(&o, 2, d(2020, 1, 6), None);
    same_number.employee_number = data.employee_number.clone();
    let err = s
        .create_employee(o.base, &same_number, &who())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "employeeNumber",
                ..
            }
        ),
        "{err}"
    );

    let mut same_mail = person(&o, 3, d(2020, 1, 6), None);
    same_mail.mail = Email::parse("CLAIRE.MARTIN1@Exemple.FR").unwrap();
    let err = s
        .create_employee(o.base, &same_mail, &who())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { field: "mail", .. }),
        "{err}"
    );

    // Nothing was written by the refused attempts.
    assert_eq!(s.list_employees(o.base, None, 100).await.unwrap().len(), 1);

    let mut changed = data.clone();
    changed.job_title = Some("Responsable comptable".into());
    changed.contract = Contract::new(d(2020, 1, 6), Some(d(2026, 12, 31))).unwrap();
    let updated = s
        .update_employee(
            &s.get_employee(o.base, created.id).await.unwrap(),
            &changed,
            &who(),
        )
        .await
        .unwrap();
    assert_eq!(updated.data, changed);
    assert!(updated.modified_at >= created.modified_at);
    assert_eq!(updated.created_at, created.created_at);
    let missing = s
        .update_employee(
            &Employee {
                id: EmployeeId(999),
                ..created.clone()
            },
            &changed,
            &who(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        missing,
        StoreError::NotFound {
            entity: "employee",
            ..
        }
    ));
    // Data computed from a reading older than the last change would undo
    // it: refused, and nothing written (no change, no log, no event).
    let events = s.last_event(o.base).await.unwrap();
    let logs = log_count(s, o.base).await;
    let mut stale = created.data.clone();
    stale.first_name = Name::parse("firstName", "Camille").unwrap();
    let refused = s
        .update_employee(&created, &stale, &who())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::Changed { entity: "employee", ref key } if *key == created.id.to_string()),
        "{refused}"
    );
    assert_eq!(
        s.get_employee(o.base, created.id).await.unwrap().data,
        changed,
        "the change made meanwhile stays"
    );
    assert_eq!(s.last_event(o.base).await.unwrap(), events);
    assert_eq!(log_count(s, o.base).await, logs);
    // Read again, the same change applies.
    let fresh = s.get_employee(o.base, created.id).await.unwrap();
    let mut again = fresh.data.clone();
    again.first_name = Name::parse("firstName", "Camille").unwrap();
    let applied = s.update_employee(&fresh, &again, &who()).await.unwrap();
    assert_eq!(applied.data.first_name.to_string(), "Camille");
    assert_eq!(applied.data.job_title, changed.job_title);

    // An update the database refuses half-way (another employee's number)
    // writes nothing, and the next write goes through as if nothing had
    // happened.
    let other = s
        .create_employee(o.base, &person(&o, 4, d(2021, 3, 1), None), &who())
        .await
        .unwrap();
    let (events, logs) = (
        s.last_event(o.base).await.unwrap(),
        log_count(s, o.base).await,
    );
    let mut taken = other.data.clone();
    taken.employee_number = applied.data.employee_number.clone();
    taken.job_title = Some("Contrôleuse de gestion".into());
    let refused = s.update_employee(&other, &taken, &who()).await.unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Conflict {
                field: "employeeNumber",
                ..
            }
        ),
        "{refused}"
    );
    assert_eq!(s.get_employee(o.base, other.id).await.unwrap(), other);
    assert_eq!(s.last_event(o.base).await.unwrap(), events);
    assert_eq!(log_count(s, o.base).await, logs);
    let mut retitled = other.data.clone();
    retitled.job_title = Some("Contrôleuse de gestion".into());
    let done = s.update_employee(&other, &retitled, &who()).await.unwrap();
    assert_eq!(
        s.get_employee(o.base, other.id)
            .await
            .unwrap()
            .data
            .job_title,
        done.data.job_title
    );
    assert!(s.last_event(o.base).await.unwrap() > events);
    assert_eq!(log_count(s, o.base).await, logs + 1);
}

async fn employee_references_are_checked(db: TestDb) {
    let s = &db.store;
    let o = org(s, "production").await;
    let other = org(s, "other").await;
    let mut bad = person(&o, 1, d(2020, 1, 6), None);
    bad.establishment_id = EstablishmentId(42);
    let err = s.create_employee(o.base, &bad, &who()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Domain(e) if e.field == "legalEntityId"),
        "{err}"
    );
    let mut bad = person(&o, 1, d(2020, 1, 6), None);
    bad.manager_id = Some(EmployeeId(7));
    let err = s.create_employee(o.base, &bad, &who()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Domain(e) if e.field == "managerId"),
        "{err}"
    );
    let boss = s
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    let mut own = boss.data.clone();
    own.manager_id = Some(boss.id);
    let err = s
        .update_employee(
            &s.get_employee(o.base, boss.id).await.unwrap(),
            &own,
            &who(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("own manager"), "{err}");
    // A manager of another base is not visible from this one.
    let mut cross = person(&other, 5, d(2020, 1, 6), None);
    cross.manager_id = Some(EmployeeId(boss.id.0 + 100));
    assert!(s.create_employee(other.base, &cross, &who()).await.is_err());
    s.set_department_head(o.base, o.department, Some(boss.id))
        .await
        .unwrap();
    assert_eq!(
        s.list_departments(o.base).await.unwrap()[0].head_id,
        Some(boss.id)
    );
    assert!(s
        .set_department_head(o.base, o.department, Some(EmployeeId(999)))
        .await
        .is_err());

    // An update moving an employee to a record that is not there (or is in
    // another base) is refused naming the field, and writes nothing: no
    // change, no log, no event.
    // A department of the other base only (identifiers are per base: its
    // first one shares its number with this base's).
    let other_department = DepartmentId(
        s.reserve_ids(other.base, Entity::Department, 1)
            .await
            .unwrap(),
    );
    s.insert_records(Records::Departments(&[Department {
        base_id: other.base,
        id: other_department,
        parent_id: Some(other.department),
        code: Code::parse("code", "RH").unwrap(),
        name: Name::parse("name", "Ressources humaines").unwrap(),
        head_id: None,
        position: 1,
        active: true,
        created_at: now(),
        modified_at: now(),
    }]))
    .await
    .unwrap();
    let logs = log_count(s, o.base).await;
    let events = s.last_event(o.base).await.unwrap();
    let before = s.get_employee(o.base, boss.id).await.unwrap();
    let moves = [
        ("legalEntityId", EstablishmentId(4242), None, None),
        (
            "departmentId",
            before.data.establishment_id,
            Some(DepartmentId(4242)),
            None,
        ),
        (
            "departmentId",
            before.data.establishment_id,
            Some(other_department),
            None,
        ),
        (
            "managerId",
            before.data.establishment_id,
            None,
            Some(EmployeeId(4242)),
        ),
    ];
    for (field, establishment, department, manager) in moves {
        let mut moved = before.data.clone();
        moved.job_title = Some("Directrice".into());
        moved.establishment_id = establishment;
        moved.department_id = department.or(moved.department_id);
        moved.manager_id = manager.or(moved.manager_id);
        let err = s
            .update_employee(&before, &moved, &who())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Domain(e) if e.field == field),
            "{field}: {err}"
        );
    }
    assert_eq!(s.get_employee(o.base, boss.id).await.unwrap(), before);
    assert_eq!(s.last_event(o.base).await.unwrap(), events);
    assert_eq!(log_count(s, o.base).await, logs);
    // Moved to records that are there, it is written.
    let second = s
        .create_employee(o.base, &person(&o, 2, d(2021, 3, 1), None), &who())
        .await
        .unwrap();
    let mut moved = before.data.clone();
    moved.manager_id = Some(second.id);
    moved.department_id = Some(o.department);
    let after = s.update_employee(&before, &moved, &who()).await.unwrap();
    assert_eq!(
        s.get_employee(o.base, boss.id)
            .await
            .unwrap()
            .data
            .manager_id,
        Some(second.id)
    );
    assert_eq!(after.data.manager_id, Some(second.id));

    // No chain of managers comes back to where it started: second manages
    // boss, who manages third; neither boss nor third may manage second.
    let mut under_boss = person(&o, 3, d(2022, 1, 3), None);
    under_boss.manager_id = Some(boss.id);
    let third = s
        .create_employee(o.base, &under_boss, &who())
        .await
        .unwrap();
    let (events, logs) = (
        s.last_event(o.base).await.unwrap(),
        log_count(s, o.base).await,
    );
    for manager in [third.id, boss.id] {
        let mut circle = second.data.clone();
        circle.manager_id = Some(manager);
        let err = s
            .update_employee(&second, &circle, &who())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Domain(e) if e.field == "managerId"
                && e.message.contains(&format!("employee {manager} reports, directly or through others, to employee {}", second.id))),
            "{err}"
        );
    }
    assert_eq!(s.get_employee(o.base, second.id).await.unwrap(), second);
    assert_eq!(s.last_event(o.base).await.unwrap(), events);
    assert_eq!(log_count(s, o.base).await, logs);
    // A chain that does not close is written: second now manages third
    // directly.
    let mut direct = third.data.clone();
    direct.manager_id = Some(second.id);
    let moved = s.update_employee(&third, &direct, &who()).await.unwrap();
    assert_eq!(moved.data.manager_id, Some(second.id));
    // Two changes made at once that would close a circle between them: one
    // is written, the other refused (PostgreSQL writes them side by side).
    for round in 0..10 {
        let mut pair = Vec::new();
        for n in [10 + 2 * round, 11 + 2 * round] {
            let data = person(&o, n, d(2022, 1, 3), None);
            pair.push(s.create_employee(o.base, &data, &who()).await.unwrap());
        }
        let (x, y) = (&pair[0], &pair[1]);
        let (mut x_under_y, mut y_under_x) = (x.data.clone(), y.data.clone());
        x_under_y.manager_id = Some(y.id);
        y_under_x.manager_id = Some(x.id);
        let author = who();
        let (a, b) = tokio::join!(
            s.update_employee(x, &x_under_y, &author),
            s.update_employee(y, &y_under_x, &author)
        );
        assert!(
            a.is_ok() != b.is_ok(),
            "round {round}: {:?} / {:?}",
            a.map(|e| e.data.manager_id),
            b.map(|e| e.data.manager_id)
        );
    }
}

async fn custom_fields_follow_their_sections(db: TestDb) {
    let s = &db.store;
    let o = org(s, "production").await;
    let t = now();
    let section = SectionId(s.reserve_ids(o.base, Entity::Section, 1).await.unwrap());
    s.insert_records(Records::Sections(&[Section {
        base_id: o.base,
        id: section,
        code: "medical".into(),
        name: Name::parse("name", "Médical").unwrap(),
        standard: false,
        created_at: t,
        modified_at: t,
    }]))
    .await
    .unwrap();
    let field = SectionFieldId(
        s.reserve_ids(o.base, Entity::SectionField, 1)
            .await
            .unwrap(),
    );
    let kind = FieldKind::Choice(vec!["A+".into(), "O-".into()]);
    s.insert_records(Records::SectionFields(&[SectionField {
        base_id: o.base,
        id: field,
        section_id: section,
        code: FieldCode::parse("e_bloodType").unwrap(),
        name: Name::parse("name", "Groupe sanguin").unwrap(),
        kind: kind.clone(),
        created_at: t,
        modified_at: t,
    }]))
    .await
    .unwrap();
    assert_eq!(s.list_section_fields(o.base).await.unwrap()[0].kind, kind);
    let mut data = person(&o, 1, d(2020, 1, 6), None);
    data.extended_data.insert("e_bloodType".into(), "B+".into());
    let err = s.create_employee(o.base, &data, &who()).await.unwrap_err();
    assert!(err.to_string().contains("one of A+, O-"), "{err}");
    data.extended_data.insert("e_bloodType".into(), "O-".into());
    data.extended_data.insert("e_shoeSize".into(), 42.into());
    let err = s.create_employee(o.base, &data, &who()).await.unwrap_err();
    assert!(err.to_string().contains("e_shoeSize"), "{err}");
    data.extended_data.remove("e_shoeSize");
    let e = s.create_employee(o.base, &data, &who()).await.unwrap();
    assert_eq!(
        s.get_employee(o.base, e.id)
            .await
            .unwrap()
            .data
            .extended_data["e_bloodType"],
        "O-"
    );
}

fn span(a: (i32, u32, u32, HalfDay), b: (i32, u32, u32, HalfDay)) -> LeaveSpan {
    LeaveSpan::new(
        HalfDaySlot::new(d(a.0, a.1, a.2), a.3),
        HalfDaySlot::new(d(b.0, b.1, b.2), b.3),
    )
    .unwrap()
}

fn request(employee: EmployeeId, account: AbsenceAccountId, span: LeaveSpan) -> NewLeavePeriod {
    NewLeavePeriod {
        employee_id: employee,
        account_id: account,
        span,
        status: LeaveStatus::Pending,
        comment: None,
        source: LeaveSource::Person,
    }
}

async fn leave_periods_count_working_half_days_and_refuse_overlaps(db: TestDb) {
    use HalfDay::{Am, Pm};
    let s = &db.store;
    let o = org(s, "production").await;
    let e = s
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    // Thursday 30 April PM to Friday 8 May 2026: 1 May and 8 May are holidays.
    let may = s
        .create_leave_period(
            o.base,
            &request(
                e.id,
                o.paid_leave,
                span((2026, 4, 30, Pm), (2026, 5, 8, Pm)),
            ),
        )
        .await
        .unwrap();
    assert_eq!(may.half_days, 9);
    assert_eq!(may.status, LeaveStatus::Pending);

    let overlapping = request(
        e.id,
        o.paid_leave,
        span((2026, 5, 7, Am), (2026, 5, 11, Pm)),
    );
    let err = s
        .create_leave_period(o.base, &overlapping)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Domain(de) if de.message.contains(&format!("leave period {}", may.id))),
        "{err}"
    );

    // Adjacent: Thursday 30 April AM only.
    let adjacent = s
        .create_leave_period(
            o.base,
            &request(
                e.id,
                o.paid_leave,
                span((2026, 4, 30, Am), (2026, 4, 30, Am)),
            ),
        )
        .await
        .unwrap();
    assert_eq!(adjacent.half_days, 1);

    let weekend = request(
        e.id,
        o.paid_leave,
        span((2026, 5, 9, Am), (2026, 5, 10, Pm)),
    );
    let err = s.create_leave_period(o.base, &weekend).await.unwrap_err();
    assert!(err.to_string().contains("no working half day"), "{err}");

    let closed = request(
        e.id,
        o.closed_account,
        span((2026, 6, 1, Am), (2026, 6, 1, Pm)),
    );
    assert!(s
        .create_leave_period(o.base, &closed)
        .await
        .unwrap_err()
        .to_string()
        .contains("closed"));
    let nobody = request(
        EmployeeId(999),
        o.paid_leave,
        span((2026, 6, 1, Am), (2026, 6, 1, Pm)),
    );
    assert!(s
        .create_leave_period(o.base, &nobody)
        .await
        .unwrap_err()
        .to_string()
        .contains("no employee 999"));

    // Once cancelled, the days are free again.
    let cancelled = s
        .set_leave_status(o.base, may.id, LeaveStatus::Cancelled)
        .await
        .unwrap();
    assert!(cancelled.cancelled_at.is_some());
    s.create_leave_period(o.base, &overlapping).await.unwrap();
    assert_eq!(s.list_leave_periods(o.base, e.id).await.unwrap().len(), 3);

    // Several in one go: each sees those before it, and one refused leaves
    // none written.
    let (events, june) = (
        s.last_event(o.base).await.unwrap(),
        request(e.id, o.paid_leave, span((2026, 6, 1, Am), (2026, 6, 2, Pm))),
    );
    let june_again = request(e.id, o.paid_leave, span((2026, 6, 2, Am), (2026, 6, 2, Am)));
    let err = s
        .create_leave_periods(o.base, &[june.clone(), june_again])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");
    let too_long = request(e.id, o.paid_leave, span((2026, 7, 1, Am), (2031, 7, 3, Pm)));
    let err = s
        .create_leave_periods(o.base, &[june.clone(), too_long])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at most 1827 days"), "{err}");
    assert_eq!(s.list_leave_periods(o.base, e.id).await.unwrap().len(), 3);
    assert_eq!(s.last_event(o.base).await.unwrap(), events);
    let july = request(e.id, o.paid_leave, span((2026, 7, 1, Am), (2026, 7, 1, Pm)));
    let made = s.create_leave_periods(o.base, &[june, july]).await.unwrap();
    assert_eq!(made.iter().map(|p| p.half_days).collect::<Vec<_>>(), [4, 2]);
    assert_eq!(s.list_leave_periods(o.base, e.id).await.unwrap().len(), 5);
}

async fn leave_status_workflow(db: TestDb) {
    use HalfDay::{Am, Pm};
    let s = &db.store;
    let o = org(s, "production").await;
    let e = s
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    let p = s
        .create_leave_period(
            o.base,
            &request(e.id, o.paid_leave, span((2026, 3, 2, Am), (2026, 3, 3, Pm))),
        )
        .await
        .unwrap();
    let denied = s
        .set_leave_status(o.base, p.id, LeaveStatus::Denied)
        .await
        .unwrap();
    assert_eq!(denied.status, LeaveStatus::Denied);
    assert!(denied.modified_at >= p.modified_at);
    let err = s
        .set_leave_status(o.base, p.id, LeaveStatus::Approved)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("a denied leave period cannot become approved"),
        "{err}"
    );
    assert_eq!(
        s.list_leave_periods(o.base, e.id).await.unwrap()[0].status,
        LeaveStatus::Denied
    );
    let missing = s
        .set_leave_status(o.base, LeavePeriodId(999), LeaveStatus::Approved)
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }));
}

async fn counts_split_employees_by_contract_status(db: TestDb) {
    let s = &db.store;
    let o = org(s, "production").await;
    let today = d(2026, 6, 15);
    s.create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    s.create_employee(
        o.base,
        &person(&o, 2, d(2020, 1, 6), Some(d(2026, 6, 15))),
        &who(),
    )
    .await
    .unwrap();
    s.create_employee(o.base, &person(&o, 3, d(2026, 9, 1), None), &who())
        .await
        .unwrap();
    s.create_employee(
        o.base,
        &person(&o, 4, d(2019, 1, 1), Some(d(2025, 12, 31))),
        &who(),
    )
    .await
    .unwrap();
    let c = s.base_counts(o.base, today).await.unwrap();
    assert_eq!(
        (c.active_employees, c.future_employees, c.former_employees),
        (2, 1, 1)
    );
    assert_eq!(
        (
            c.legal_units,
            c.establishments,
            c.departments,
            c.absence_accounts
        ),
        (1, 1, 1, 2)
    );
    assert_eq!(c.employees(), 4);
    assert!(!c.is_empty());
}

async fn copying_a_base_replaces_the_target_and_keeps_the_source(db: TestDb) {
    use HalfDay::{Am, Pm};
    let s = &db.store;
    let o = org(s, "production").await;
    let boss = s
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    let mut data = person(&o, 2, d(2021, 1, 4), None);
    data.manager_id = Some(boss.id);
    let report = s.create_employee(o.base, &data, &who()).await.unwrap();
    s.create_leave_period(
        o.base,
        &request(
            report.id,
            o.paid_leave,
            span((2026, 3, 2, Am), (2026, 3, 3, Pm)),
        ),
    )
    .await
    .unwrap();
    let test = s
        .create_base(&BaseName::parse("test").unwrap(), BaseKind::Test)
        .await
        .unwrap();
    // Something already in the test base is replaced, not merged.
    let stale = org(s, "scratch").await;
    s.copy_base(stale.base, test.id, CLI).await.unwrap();
    s.copy_base(o.base, test.id, CLI).await.unwrap();
    s.copy_base(o.base, test.id, CLI).await.unwrap();
    let today = d(2026, 6, 15);
    assert_eq!(
        s.base_counts(test.id, today).await.unwrap(),
        s.base_counts(o.base, today).await.unwrap()
    );
    let copied = s.get_employee(test.id, report.id).await.unwrap();
    assert_eq!(copied.data, report.data);
    assert_eq!(copied.base_id, test.id);
    // New records in the copy continue the numbering without clashing.
    let next = s
        .create_employee(test.id, &person(&o, 3, d(2022, 1, 3), None), &who())
        .await
        .unwrap();
    assert_eq!(next.id.0, report.id.0 + 1);
    assert_eq!(
        s.base_counts(o.base, today).await.unwrap().employees(),
        2,
        "the source is untouched"
    );
    assert!(s.copy_base(o.base, o.base, CLI).await.is_err());
}

/// The data version the API's counts are kept by: raised by every write to
/// a base's HR data, single or bulk, and by nothing else; the structure
/// version the API's names are kept by: raised by a write to its
/// departments, establishments or personnel-file fields (and by a bulk
/// write, which may touch them), not by one to an employee or a leave.
async fn every_kind_of_write_raises_the_bases_data_version(db: TestDb) {
    use HalfDay::{Am, Pm};
    let s = &db.store;
    let o = org(s, "production").await;
    let other = org(s, "other").await;
    let version = || async { s.base_version(o.base).await.unwrap() };
    let mut last = version().await;
    fn raised(last: &mut BaseVersions, now: BaseVersions, structure: bool, what: &str) {
        assert!(
            now.data > last.data,
            "{what}: versions {now:?} after {last:?}"
        );
        if structure {
            assert!(
                now.structure > last.structure,
                "{what}: structure {now:?} after {last:?}"
            );
        } else {
            assert_eq!(
                now.structure, last.structure,
                "{what}: structure {now:?} after {last:?}"
            );
        }
        *last = now;
    }
    let e = s
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    raised(&mut last, version().await, false, "create an employee");
    let mut data = e.data.clone();
    data.job_title = Some("Pilote".into());
    s.update_employee(&s.get_employee(o.base, e.id).await.unwrap(), &data, &who())
        .await
        .unwrap();
    raised(&mut last, version().await, false, "update an employee");
    s.set_department_head(o.base, o.department, Some(e.id))
        .await
        .unwrap();
    raised(&mut last, version().await, true, "name a department's head");
    let p = s
        .create_leave_period(
            o.base,
            &request(e.id, o.paid_leave, span((2026, 3, 2, Am), (2026, 3, 3, Pm))),
        )
        .await
        .unwrap();
    raised(&mut last, version().await, false, "create a leave period");
    // A bulk write (as seeding does).
    let mut copy = p.clone();
    copy.id = relais_core::ids::LeavePeriodId(p.id.0 + 100);
    copy.span = span((2026, 4, 6, Am), (2026, 4, 6, Pm));
    s.insert_records(Records::LeavePeriods(&[copy]))
        .await
        .unwrap();
    raised(
        &mut last,
        version().await,
        true,
        "insert leave periods in bulk",
    );
    // A refused write changes nothing, the version included.
    let mut twin = person(&o, 2, d(2021, 1, 4), None);
    twin.mail = data.mail.clone();
    assert!(s.create_employee(o.base, &twin, &who()).await.is_err());
    assert_eq!(version().await, last, "a refused write");
    // Another base's changes are not this one's.
    s.create_employee(other.base, &person(&other, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    assert_eq!(version().await, last, "another base's write");
    // Reads are not changes.
    s.base_counts(o.base, d(2026, 1, 1)).await.unwrap();
    assert_eq!(version().await, last, "a read");
    s.copy_base(other.base, o.base, CLI).await.unwrap();
    raised(&mut last, version().await, true, "a base copied onto it");
    s.clear_base(o.base).await.unwrap();
    raised(&mut last, version().await, true, "clearing it");
}

async fn clearing_a_base_removes_only_its_data(db: TestDb) {
    let s = &db.store;
    let a = org(s, "production").await;
    let b = org(s, "test").await;
    s.create_employee(a.base, &person(&a, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    s.create_employee(b.base, &person(&b, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    s.clear_base(a.base).await.unwrap();
    let today = d(2026, 1, 1);
    assert!(s.base_counts(a.base, today).await.unwrap().is_empty());
    assert_eq!(s.base_counts(b.base, today).await.unwrap().employees(), 1);
    assert_eq!(s.list_bases().await.unwrap().len(), 2);
}

async fn expenses_round_trip(db: TestDb) {
    let s = &db.store;
    let o = org(s, "production").await;
    let e = s
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    let t = now();
    let nature = ExpenseNature {
        base_id: o.base,
        id: ExpenseNatureId(
            s.reserve_ids(o.base, Entity::ExpenseNature, 1)
                .await
                .unwrap(),
        ),
        name: Name::parse("name", "Repas d'affaires").unwrap(),
        cap: Some(Money {
            minor: 2_500,
            currency: Currency::EUR,
        }),
        mileage: false,
        enabled: true,
        created_at: t,
        modified_at: t,
    };
    s.insert_records(Records::ExpenseNatures(std::slice::from_ref(&nature)))
        .await
        .unwrap();
    let axis = Axis {
        base_id: o.base,
        id: AxisId(1),
        code: "CC".into(),
        name: Name::parse("name", "Centre de coût").unwrap(),
        created_at: t,
        modified_at: t,
    };
    s.insert_records(Records::Axes(std::slice::from_ref(&axis)))
        .await
        .unwrap();
    let section = AxisSection {
        base_id: o.base,
        id: AxisSectionId(1),
        axis_id: axis.id,
        code: "FIN".into(),
        name: Name::parse("name", "Finance").unwrap(),
        created_at: t,
        modified_at: t,
    };
    s.insert_records(Records::AxisSections(std::slice::from_ref(&section)))
        .await
        .unwrap();
    let claim = ExpenseClaim {
        base_id: o.base,
        id: ExpenseClaimId(1),
        owner_id: e.id,
        author_id: e.id,
        name: Name::parse("name", "Déplacement Lyon").unwrap(),
        status: ClaimStatus::Approved,
        approval_state: relais_core::expense::ApprovalState::Approved,
        currency: Currency::EUR,
        declared_on: Some(d(2026, 3, 10)),
        created_at: t,
        modified_at: t,
    };
    s.insert_records(Records::ExpenseClaims(std::slice::from_ref(&claim)))
        .await
        .unwrap();
    let amounts = ItemAmounts::new(Currency::EUR, 3_200, 291, 2_500).unwrap();
    let item = ExpenseItem {
        base_id: o.base,
        id: ExpenseItemId(1),
        claim_id: claim.id,
        line_number: 1,
        payment_method: relais_core::expense::PaymentMethod::CorporateCard,
        controlled: true,
        owner_id: e.id,
        nature_id: nature.id,
        purchased_on: d(2026, 3, 7),
        amounts,
        quantity: 1,
        mileage_km: None,
        attendees: Attendees {
            internal: vec![e.id],
            external: vec!["M. Client".into()],
        },
        axis_sections: vec![section.id],
        warnings: item_warnings(&amounts, &nature, 1, d(2026, 3, 7), false, false),
        merchant: Some("Brasserie Georges".into()),
        comment: None,
        created_at: t,
        modified_at: t,
    };
    s.insert_records(Records::ExpenseItems(std::slice::from_ref(&item)))
        .await
        .unwrap();
    assert_eq!(
        s.list_expense_claims(o.base, e.id).await.unwrap(),
        vec![claim.clone()]
    );
    let items = s.list_expense_items(o.base, claim.id).await.unwrap();
    assert_eq!(items, vec![item]);
    assert_eq!(
        items[0].warnings,
        vec![
            ExpenseWarning::OverCap,
            ExpenseWarning::MissingReceipt,
            ExpenseWarning::Weekend
        ]
    );
    assert_eq!(s.list_expense_natures(o.base).await.unwrap(), vec![nature]);
    // An item pointing at a claim that does not exist is refused.
    let mut orphan = items[0].clone();
    orphan.id = ExpenseItemId(2);
    orphan.claim_id = ExpenseClaimId(77);
    assert!(matches!(
        s.insert_records(Records::ExpenseItems(&[orphan]))
            .await
            .unwrap_err(),
        StoreError::Domain(_)
    ));
}

async fn employees_list_in_pages(db: TestDb) {
    let s = &db.store;
    let o = org(s, "production").await;
    let first = s.reserve_ids(o.base, Entity::Employee, 25).await.unwrap();
    let t = now();
    let rows: Vec<Employee> = (0..25)
        .map(|i| Employee {
            base_id: o.base,
            id: EmployeeId(first + i),
            data: person(&o, i as u32, d(2020, 1, 6), None),
            created_at: t,
            modified_at: t,
        })
        .collect();
    s.insert_records(Records::Employees(&rows)).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s.list_employees(o.base, after, 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|e| e.id);
        seen.extend(page.into_iter().map(|e| e.id));
    }
    assert_eq!(seen, rows.iter().map(|e| e.id).collect::<Vec<_>>());
}

/// One read gives an employee and its manager, each only if the scope shows
/// it: a manager whose contract has ended is left out of a scope without
/// former employees, and another base's employee with the same identifier
/// names no manager here.
async fn an_employee_is_read_with_its_manager_within_the_scope(db: TestDb) {
    use relais_store::{Condition, ListQuery, Scope};
    let s = &db.store;
    let o = org(s, "production").await;
    let mut people = many_people(s, &o, 4, |i| i as u32).await;
    let ids: Vec<EmployeeId> = people.iter().map(|e| e.id).collect();
    // 0 manages 1; 3, whose contract has ended, manages 2.
    people[1].data.manager_id = Some(ids[0]);
    people[2].data.manager_id = Some(ids[3]);
    people[3].data.contract = Contract::new(d(2020, 1, 6), Some(d(2021, 1, 1))).unwrap();
    s.insert_records(Records::Employees(&people)).await.unwrap();
    // Another base holds employees with the same identifiers, where the
    // one numbered like 1 reports to the one numbered like 2.
    let other = org(s, "test").await;
    let mut theirs = many_people(s, &other, 4, |i| 10 + i as u32).await;
    for (mine, their) in ids.iter().zip(theirs.iter_mut()) {
        their.id = *mine;
    }
    theirs[1].data.manager_id = Some(ids[2]);
    s.insert_records(Records::Employees(&theirs)).await.unwrap();

    let read_in = |base: BaseId, id: EmployeeId, scope: Scope| async move {
        let q = ListQuery {
            scope,
            conditions: vec![Condition::employee_and_manager(id.0)],
            limit: 2,
            ..ListQuery::default()
        };
        let mut found: Vec<EmployeeId> = s
            .query_employees(base, &q)
            .await
            .unwrap()
            .items
            .iter()
            .map(|e| e.id)
            .collect();
        found.sort();
        found
    };
    let read = |id: EmployeeId, scope: Scope| read_in(o.base, id, scope);
    let everything = Scope::default;
    let current = || Scope {
        today: d(2026, 1, 5),
        former: false,
        ..Scope::default()
    };
    assert_eq!(read(ids[1], everything()).await, vec![ids[0], ids[1]]);
    assert_eq!(read(ids[0], everything()).await, vec![ids[0]]);
    assert_eq!(read(ids[2], everything()).await, vec![ids[2], ids[3]]);
    assert_eq!(read(ids[2], current()).await, vec![ids[2]]);
    assert_eq!(read(ids[3], current()).await, Vec::<EmployeeId>::new());
    let elsewhere = Scope {
        establishments: Some(vec![EstablishmentId(o.establishment.0 + 1000)]),
        ..Scope::default()
    };
    assert_eq!(read(ids[1], elsewhere).await, Vec::<EmployeeId>::new());
    // Each base's employee names its own manager.
    assert_eq!(
        read_in(other.base, ids[1], Scope::default()).await,
        vec![ids[1], ids[2]]
    );
}

/// A page of more than 400 rows is read in parts on SQLite (its identifiers,
/// then its rows by identifier on several connections; PostgreSQL reads it
/// whole, in one query): whatever the order, filter,
/// offset and unread columns, it holds the rows, in the order, that pages
/// small enough to be read whole hold.
async fn a_large_page_read_in_parts_is_the_page_read_whole(db: TestDb) {
    use relais_store::{Cond, Condition, Direction, ListQuery, SqlValue};
    let s = &db.store;
    let o = org(s, "production").await;
    let n = 1_100;
    // Names not in identifier order, some repeated (ties broken by identifier).
    let rows = many_people(s, &o, n, |i| ((i * 7919) % 509) as u32).await;
    let first = rows[0].id.0;
    s.insert_records(Records::Employees(&rows)).await.unwrap();
    let read = |query: ListQuery| async move {
        let page = s.query_employees(o.base, &query).await.unwrap();
        page.items
    };
    // The same query read whole in pages of 100 (under the parts' threshold).
    let by_small_pages = |query: ListQuery| async move {
        let mut all = Vec::new();
        let end = query.offset + u64::from(query.limit);
        let mut offset = query.offset;
        while offset < end {
            let limit = 100.min(end - offset) as u32;
            let part = read(ListQuery {
                offset,
                limit,
                ..query.clone()
            })
            .await;
            if part.is_empty() {
                break;
            }
            offset += part.len() as u64;
            all.extend(part);
        }
        all
    };
    let queries = [
        ListQuery {
            limit: 1_000,
            ..ListQuery::default()
        },
        ListQuery {
            limit: 1_000,
            offset: 250,
            order: vec![(&relais_core::fields::users::LAST_NAME, Direction::Desc)],
            without: vec!["personal", "extended_data"],
            ..ListQuery::default()
        },
        ListQuery {
            limit: 500,
            conditions: vec![Condition::new(
                &relais_core::fields::users::ID,
                Cond::Gt(SqlValue::Int(first + 300)),
            )],
            order: vec![(&relais_core::fields::users::LAST_NAME, Direction::Asc)],
            ..ListQuery::default()
        },
        // In identifier order, parts are read as ranges of identifiers: a
        // condition that leaves gaps between the rows must hold in them.
        ListQuery {
            limit: 1_000,
            conditions: vec![Condition::new(
                &relais_core::fields::users::LAST_NAME,
                Cond::Gte(SqlValue::Text("Martin3".into())),
            )],
            ..ListQuery::default()
        },
        ListQuery {
            limit: 450,
            offset: 50,
            conditions: vec![Condition::new(
                &relais_core::fields::users::LAST_NAME,
                Cond::Gte(SqlValue::Text("Martin3".into())),
            )],
            order: vec![(&relais_core::fields::users::ID, Direction::Desc)],
            ..ListQuery::default()
        },
    ];
    for query in queries {
        let whole = read(query.clone()).await;
        let small = by_small_pages(query.clone()).await;
        assert!(whole.len() > 400, "{query:?}: {} rows", whole.len());
        let ids = |v: &[Employee]| v.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&whole), ids(&small), "{query:?}");
        assert_eq!(whole, small, "{query:?}: same rows, same columns");
        // Read batch by batch, each made on its own by an encoder: the same
        // records, in the same order, each batch saying what it holds.
        let encode: relais_store::Encoder<Employee> = std::sync::Arc::new(|batch| {
            serde_json::to_vec(&batch.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>()).unwrap()
        });
        let encoded = s.encode_employees(o.base, &query, encode).await.unwrap();
        assert!(
            encoded.items.len() > 1,
            "{query:?}: a page of {} read in one batch",
            whole.len()
        );
        let mut records = Vec::new();
        for batch in &encoded.items {
            let made: Vec<String> = serde_json::from_slice(&batch.bytes).unwrap();
            assert_eq!(batch.records, made.len(), "{query:?}");
            let last = &whole[records.len() + made.len() - 1];
            assert_eq!(batch.last_id, Some(last.id.0), "{query:?}");
            records.extend(made);
        }
        let expected: Vec<String> = whole.iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(records, expected, "{query:?}: batches read as the page");
    }
    // Every column reads back as written, personal details included.
    let all = read(ListQuery {
        limit: 2_000,
        ..ListQuery::default()
    })
    .await;
    assert_eq!(all, rows);
}

async fn a_newer_schema_is_refused(db: TestDb) {
    db.store
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    let future_version: i64 = 99_991_231_000_000;
    let sql = "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
               VALUES ($1, 'from a newer relais', CURRENT_TIMESTAMP, TRUE, $2, 0)";
    match db.db.url() {
        relais_store::DatabaseUrl::Sqlite(p) => {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", p.display()))
                .await
                .unwrap();
            sqlx::query(sql)
                .bind(future_version)
                .bind(vec![0u8; 48])
                .execute(&mut c)
                .await
                .unwrap();
        }
        relais_store::DatabaseUrl::Postgres(u) => {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(u).await.unwrap();
            sqlx::query(sql)
                .bind(future_version)
                .bind(vec![0u8; 48])
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
    let Err(err) = db.reopen().await else {
        panic!("a newer schema was accepted")
    };
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, .. } if found == future_version),
        "{err}"
    );
    assert!(err.to_string().contains("newer than this relais supports"));
}

async fn leases_are_exclusive_renewable_and_expire(db: TestDb) {
    use std::time::Duration;
    let s = &db.store;
    assert!(s
        .claim_lease(
            &LeaseJob::Integration(InstallationId(1)),
            "runtime-a",
            Duration::from_millis(1500)
        )
        .await
        .unwrap());
    assert!(
        !s.claim_lease(
            &LeaseJob::Integration(InstallationId(1)),
            "runtime-b",
            Duration::from_secs(30)
        )
        .await
        .unwrap(),
        "held by a"
    );
    assert!(
        s.claim_lease(
            &LeaseJob::Integration(InstallationId(1)),
            "runtime-a",
            Duration::from_millis(1000)
        )
        .await
        .unwrap(),
        "its owner renews it"
    );
    assert!(
        s.claim_lease(
            &LeaseJob::Integration(InstallationId(2)),
            "runtime-b",
            Duration::from_secs(30)
        )
        .await
        .unwrap(),
        "leases are per job"
    );
    assert_eq!(
        s.lease_holder(&LeaseJob::Integration(InstallationId(1)))
            .await
            .unwrap()
            .unwrap()
            .0,
        "runtime-a"
    );
    // runtime-a dies: once its lease expires, b takes the job over.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(s
        .claim_lease(
            &LeaseJob::Integration(InstallationId(1)),
            "runtime-b",
            Duration::from_secs(30)
        )
        .await
        .unwrap());
    assert!(
        !s.claim_lease(
            &LeaseJob::Integration(InstallationId(1)),
            "runtime-a",
            Duration::from_secs(30)
        )
        .await
        .unwrap(),
        "the late owner does not get it back"
    );
    s.release_lease(&LeaseJob::Integration(InstallationId(1)), "runtime-a")
        .await
        .unwrap();
    assert_eq!(
        s.lease_holder(&LeaseJob::Integration(InstallationId(1)))
            .await
            .unwrap()
            .unwrap()
            .0,
        "runtime-b",
        "only the owner releases"
    );
    s.release_lease(&LeaseJob::Integration(InstallationId(1)), "runtime-b")
        .await
        .unwrap();
    assert!(s
        .lease_holder(&LeaseJob::Integration(InstallationId(1)))
        .await
        .unwrap()
        .is_none());
    assert!(s
        .claim_lease(
            &LeaseJob::Integration(InstallationId(1)),
            "runtime-a",
            Duration::from_secs(30)
        )
        .await
        .unwrap());
}

async fn two_processes_never_hold_one_job_at_once(db: TestDb) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    // Two stores over one database stand for two relais processes.
    let other = db.reopen().await.unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, store) in [db.store.clone(), other.clone(), db.store.clone(), other]
        .into_iter()
        .enumerate()
    {
        let (running, runs) = (running.clone(), runs.clone());
        tasks.push(tokio::spawn(async move {
            let me = format!("runtime-{i}");
            for _ in 0..25 {
                if store
                    .claim_lease(
                        &LeaseJob::Integration(InstallationId(42)),
                        &me,
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap()
                {
                    assert_eq!(
                        running.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two runtimes ran the job at once"
                    );
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    store
                        .release_lease(&LeaseJob::Integration(InstallationId(42)), &me)
                        .await
                        .unwrap();
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(runs.load(Ordering::SeqCst) > 0, "someone ran the job");
}

async fn the_ledger_keeps_what_partners_acknowledged(db: TestDb) {
    use relais_core::ledger::{plan, Acknowledged, Change, SourceRecord};
    use serde_json::json;
    use std::collections::{BTreeMap, HashMap};
    let s = &db.store;
    let rec = |k: &str, mail: &str| SourceRecord {
        key: k.into(),
        fields: BTreeMap::from([("mail".to_owned(), json!(mail))]),
    };
    let ack = |r: &SourceRecord, partner: Option<&str>| Acknowledged {
        key: r.key.clone(),
        hash: r.hash(),
        fields: r.fields.clone(),
        partner_id: partner.map(str::to_owned),
    };
    let (a, b, c) = (rec("1", "a@x.fr"), rec("2", "b@x.fr"), rec("10", "c@x.fr"));
    s.acknowledge(
        &"happypal:7".parse().unwrap(),
        &[
            ack(&a, Some("hp-1")),
            ack(&b, Some("hp-2")),
            ack(&c, Some("hp-3")),
        ],
    )
    .await
    .unwrap();
    s.acknowledge(&"other:1".parse().unwrap(), &[ack(&a, None)])
        .await
        .unwrap();

    let keys: Vec<String> = ["1", "2", "99"].map(String::from).to_vec();
    let found = s
        .acknowledged(&"happypal:7".parse().unwrap(), &keys)
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "unknown keys are left out");
    let known: HashMap<String, Acknowledged> =
        found.into_iter().map(|x| (x.key.clone(), x)).collect();
    let b2 = rec("2", "b2@x.fr");
    let changes = plan(vec![a.clone(), b2.clone()], &known, false);
    assert!(
        matches!(changes[0], Change::Unchanged { .. })
            && matches!(changes[1], Change::Update { .. })
    );

    // The partner confirmed the update; its id is kept when not sent again.
    s.acknowledge(&"happypal:7".parse().unwrap(), &[ack(&b2, None)])
        .await
        .unwrap();
    let again = s
        .acknowledged(&"happypal:7".parse().unwrap(), &["2".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        (again[0].hash.clone(), again[0].partner_id.as_deref()),
        (b2.hash(), Some("hp-2"))
    );

    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .acknowledged_page(&"happypal:7".parse().unwrap(), after.as_deref(), 2)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.key.clone());
        walked.extend(page.into_iter().map(|x| x.key));
    }
    assert_eq!(walked, ["1", "10", "2"], "key order, one job only");

    s.forget(&"happypal:7".parse().unwrap(), &["10".to_owned()])
        .await
        .unwrap();
    assert!(s
        .acknowledged(&"happypal:7".parse().unwrap(), &["10".to_owned()])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.acknowledged(&"other:1".parse().unwrap(), &["1".to_owned()])
            .await
            .unwrap()
            .len(),
        1,
        "jobs are apart"
    );

    assert_eq!(
        s.checkpoint(&"happypal:7".parse().unwrap(), "users")
            .await
            .unwrap(),
        None
    );
    s.set_checkpoint(
        &"happypal:7".parse().unwrap(),
        "users",
        "2026-03-01T10:00:00Z",
    )
    .await
    .unwrap();
    s.set_checkpoint(
        &"happypal:7".parse().unwrap(),
        "users",
        "2026-03-02T10:00:00Z",
    )
    .await
    .unwrap();
    assert_eq!(
        s.checkpoint(&"happypal:7".parse().unwrap(), "users")
            .await
            .unwrap()
            .as_deref(),
        Some("2026-03-02T10:00:00Z")
    );
}

async fn concurrent_writers_wait_for_each_other(db: TestDb) {
    // Writes that read first (reference checks) racing with other writes,
    // some of them failing and rolled back: none may fail with "locked".
    let o = org(&db.store, "production").await;
    let base = o.base;
    let mut tasks = Vec::new();
    for t in 0..6u32 {
        let s = db.store.clone();
        let data = (0..8u32)
            .map(|i| person(&o, 1000 + t * 100 + i, d(2020, 1, 6), None))
            .collect::<Vec<_>>();
        tasks.push(tokio::spawn(async move {
            for (i, data) in data.into_iter().enumerate() {
                s.create_employee(base, &data, &who()).await.unwrap();
                if i % 3 == 0 {
                    // A refused write in the middle (unknown establishment).
                    let mut bad = data.clone();
                    bad.establishment_id = EstablishmentId(999);
                    assert!(s.create_employee(base, &bad, &who()).await.is_err());
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        db.store
            .list_employees(o.base, None, 1000)
            .await
            .unwrap()
            .len(),
        48
    );
}

async fn updates_made_at_once_each_commit_with_their_event(db: TestDb) {
    // Employees updated side by side, most of the updates finding another
    // one holding the writer: each waits for its turn and commits, with its
    // event, in the order its employee's updates were asked for.
    use relais_core::events::Record;
    let s = &db.store;
    let o = org(s, "production").await;
    let mut people = Vec::new();
    for n in 0..8u32 {
        people.push(
            s.create_employee(o.base, &person(&o, 2000 + n, d(2020, 1, 6), None), &who())
                .await
                .unwrap(),
        );
    }
    let (_, after) = topics_after(s, o.base, 0).await;
    let titles = |n: usize| {
        (0..6)
            .map(move |i| format!("Poste {n}-{i}"))
            .collect::<Vec<_>>()
    };
    let mut tasks = Vec::new();
    for (n, mut employee) in people.iter().cloned().enumerate() {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for title in titles(n) {
                let mut data = employee.data.clone();
                data.job_title = Some(title);
                employee = s.update_employee(&employee, &data, &who()).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let events = events_seen(
        s,
        o.base,
        after,
        Some("employee.updated"),
        Default::default(),
    )
    .await;
    assert_eq!(events.len(), 48, "one event an update");
    for (n, employee) in people.iter().enumerate() {
        let seen: Vec<String> = events
            .iter()
            .filter_map(|e| match &e.data {
                Record::Employee(x) if x.id == employee.id => x.data.job_title.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(seen, titles(n), "employee {n}'s updates, in order");
        let stored = s.get_employee(o.base, employee.id).await.unwrap();
        assert_eq!(stored.data.job_title, titles(n).last().cloned());
    }
}

/// HappyPal installed on `base` by `admin`, without its integration.
async fn happypal_installed(
    s: &SharedStore,
    base: BaseId,
    admin: relais_core::ids::PersonId,
) -> relais_core::people::Installation {
    use relais_core::access::KeyUsage;
    let contact = Email::parse("it@happypal.fr").unwrap();
    let (_, inst) = s
        .install(&relais_store::NewInstallation {
            key: &new_key(
                base,
                "happypal",
                "HappyPal",
                KeyUsage::ThirdParty,
                &["personnel-file:fields=firstName"],
            ),
            app: "happypal",
            contact: &contact,
            by: admin,
            integration: None,
        })
        .await
        .unwrap();
    inst
}

/// Asking for a run while one waits to start gets that run, whoever asks
/// and however many ask at once; once it has started, asking queues another.
async fn one_waiting_run_answers_every_ask(db: TestDb) {
    use relais_core::integration::*;
    let s = &db.store;
    let (base, admin) = base_and_admin(s).await;
    let inst = happypal_installed(s, base.id, admin.id).await;
    // No integration yet: nothing to run.
    assert!(matches!(
        s.ask_run(&RunAsk::new(inst.id, Trigger::Api)).await,
        Err(StoreError::NotFound { .. })
    ));
    let i = Integration::new(inst.id, base.id, &StoredOnly, "sealed".into(), now());
    s.put_integration(&i).await.unwrap();
    let asks = (0..6).map(|n| {
        let s = s.clone();
        tokio::spawn(async move {
            let by = format!("person {n}");
            s.ask_run(&RunAsk::new(inst.id, Trigger::Page).by(Some(&by)))
                .await
                .unwrap()
        })
    });
    let answers: Vec<(SyncRun, bool)> = futures_util::future::join_all(asks)
        .await
        .into_iter()
        .map(|a| a.unwrap())
        .collect();
    let first = answers[0].0.id;
    assert!(
        answers.iter().all(|(run, _)| run.id == first),
        "one run for all"
    );
    assert_eq!(answers.iter().filter(|(_, queued)| *queued).count(), 1);
    assert_eq!(s.list_runs(inst.id, 10).await.unwrap().len(), 1);
    s.start_run(first, "process-a", false).await.unwrap();
    let (next, queued) = s
        .ask_run(&RunAsk::new(inst.id, Trigger::Api).dry_run(true))
        .await
        .unwrap();
    assert!(queued && next.id != first && next.dry_run);
    assert_eq!(s.list_runs(inst.id, 10).await.unwrap().len(), 2);
}

async fn integrations_and_their_runs_are_kept(db: TestDb) {
    use relais_core::integration::*;
    use relais_core::ledger::FieldChange;
    use relais_store::{IntegrationState, RunFinish};
    use serde_json::json;
    let s = &db.store;
    let (base, admin) = base_and_admin(s).await;
    let inst = happypal_installed(s, base.id, admin.id).await;
    assert!(matches!(
        s.get_integration(inst.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let at = now();
    let mut i = Integration::new(inst.id, base.id, &StoredOnly, "sealed".into(), at);
    i.set_partner_url("http://127.0.0.1:9/").unwrap();
    i.options = serde_json::json!({ "requests_per_hour": 50, "departments": [3, 4] });
    s.put_integration(&i).await.unwrap();
    let back = s.get_integration(inst.id).await.unwrap();
    assert_eq!(back.partner_url, "http://127.0.0.1:9");
    assert_eq!(back.options, i.options);
    assert_eq!(back.schedule, i.schedule);
    assert_eq!(back.next_run_at, i.next_run_at);
    assert_eq!(back.health, Health::Pending);
    i.paused = Some("holidays".into());
    s.put_integration(&i).await.unwrap();
    assert_eq!(
        s.get_integration(inst.id).await.unwrap().paused.as_deref(),
        Some("holidays")
    );
    assert_eq!(s.list_integrations(Some(base.id)).await.unwrap().len(), 1);
    assert_eq!(s.list_integrations(None).await.unwrap().len(), 1);

    // A run left running by a process that died is interrupted when the next one starts.
    let dead = s
        .queue_run(&RunAsk::new(inst.id, Trigger::Schedule))
        .await
        .unwrap();
    assert_eq!(dead.status, RunStatus::Queued);
    s.start_run(dead.id, "process-a", false).await.unwrap();
    let next = s
        .queue_run(&RunAsk::new(inst.id, Trigger::Cli).dry_run(true))
        .await
        .unwrap();
    assert_eq!(
        s.open_runs(10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![dead.id, next.id]
    );
    let started = s.start_run(next.id, "process-b", true).await.unwrap();
    assert_eq!(
        (started.status, started.full, started.owner.as_deref()),
        (RunStatus::Running, true, Some("process-b"))
    );
    let dead = s.get_run(dead.id).await.unwrap();
    assert_eq!(dead.status, RunStatus::Interrupted);
    assert!(dead
        .error
        .unwrap()
        .contains(&format!("run {} took over", next.id)));

    let lines: Vec<ReportLine> = (0..1500)
        .map(|n| ReportLine {
            stream: "employees".into(),
            key: n.to_string(),
            label: format!("Person {n}"),
            outcome: if n == 7 {
                Outcome::Failed("HappyPal answered 422".into())
            } else {
                Outcome::Created
            },
            fields: vec![FieldChange {
                field: "email".into(),
                before: json!(null),
                after: json!(format!("{n}@acme.fr")),
            }],
            employee: (n % 2 == 0).then_some(n),
            detail: None,
        })
        .collect();
    // Progress stored as the run goes: lines and counts together.
    let mut counts = RunCounts::default();
    lines[..2].iter().for_each(|l| counts.add(&l.outcome));
    let stored = |all: RunCounts| relais_core::integration::StoredCounts {
        all,
        streams: [("employees".to_owned(), all)].into(),
    };
    s.record_run_progress(next.id, &lines[..2], &stored(counts), 2)
        .await
        .unwrap();
    let running = s.get_run(next.id).await.unwrap();
    assert_eq!((running.counts.created, running.partner_requests), (2, 2));
    assert_eq!(s.run_lines(next.id, 0, 10).await.unwrap().len(), 2);
    lines[2..].iter().for_each(|l| counts.add(&l.outcome));
    let done = s
        .finish_run(
            next.id,
            &RunFinish {
                status: RunStatus::Warnings,
                full: true,
                counts: stored(counts),
                partner_requests: 1500,
                error: None,
                lines: &lines[2..],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.counts.created, done.counts.failed),
        (RunStatus::Warnings, 1499, 1)
    );
    assert!(done.finished_at.is_some());
    // The finished run's lines follow those stored as it went, and its
    // report is closed: late progress changes nothing.
    assert_eq!(s.run_lines(next.id, 0, 3).await.unwrap()[2].key, "2");
    s.record_run_progress(next.id, &lines[..2], &stored(RunCounts::default()), 0)
        .await
        .unwrap();
    assert!(s.run_lines(next.id, 1500, 10).await.unwrap().is_empty());
    let finished = s.get_run(next.id).await.unwrap();
    assert_eq!(finished.counts.created, 1499);
    assert_eq!(
        finished.streams["employees"], finished.counts,
        "per stream too"
    );
    let page = s.run_lines(next.id, 1000, 1000).await.unwrap();
    assert_eq!(page.len(), 500);
    assert_eq!(page[0].key, "1000");
    assert_eq!(page[0].label, "Person 1000");
    assert_eq!(
        (page[0].employee, page[1].employee),
        (Some(1000), None),
        "the employee a line is about is kept"
    );
    assert_eq!(
        s.run_lines(next.id, 7, 1).await.unwrap()[0].outcome,
        Outcome::Failed("HappyPal answered 422".into())
    );
    assert_eq!(
        s.list_runs(inst.id, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![next.id, dead.id]
    );
    assert_eq!(s.partner_requests_since(inst.id, at).await.unwrap(), 1500);
    assert_eq!(s.partner_requests_since(inst.id, now()).await.unwrap(), 0);
    s.set_integration_state(&IntegrationState {
        installation: inst.id,
        health: Health::Failing,
        reason: "the partner refused the credentials (401)".into(),
        next_run_at: None,
        next_full_at: None,
        alert: None,
    })
    .await
    .unwrap();
    let after = s.get_integration(inst.id).await.unwrap();
    assert_eq!((after.health, after.next_run_at), (Health::Failing, None));
    // An alert goes in the outbox with the state, and leaves it once sent.
    let alert = relais_core::alert::NewAlert {
        installation: inst.id,
        kind: relais_core::alert::AlertKind::Failing,
        recipient: "it@acme.fr".into(),
        subject: "HappyPal ne se synchronise plus".into(),
        body: "La synchronisation a échoué.".into(),
    };
    s.set_integration_state(&IntegrationState {
        installation: inst.id,
        health: Health::Failing,
        reason: "the partner refused the credentials (401)".into(),
        next_run_at: None,
        next_full_at: None,
        alert: Some(alert.clone()),
    })
    .await
    .unwrap();
    let due = s.due_alerts(now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((&due[0].alert, due[0].attempts), (&alert, 0));
    let later = now() + chrono::Duration::minutes(2);
    s.alert_failed(due[0].id, "connection refused", later)
        .await
        .unwrap();
    assert!(s.due_alerts(now(), 10).await.unwrap().is_empty(), "waits");
    let retried = s.due_alerts(later, 10).await.unwrap();
    assert_eq!(
        (retried[0].attempts, retried[0].last_error.as_deref()),
        (1, Some("connection refused"))
    );
    s.alert_sent(due[0].id, later).await.unwrap();
    assert!(s.due_alerts(later, 10).await.unwrap().is_empty());
    let listed = s.list_alerts(inst.id, 10).await.unwrap();
    assert_eq!(
        (
            listed.len(),
            listed[0].sent_at.is_some(),
            listed[0].attempts
        ),
        (1, true, 2)
    );
    assert!(matches!(
        s.get_run(RunId(999_999)).await,
        Err(StoreError::NotFound { .. })
    ));

    // A full run marks what it saw; the rest is what the source no longer has.
    let seen_job: &relais_core::integration::LedgerJob = &"seen:1".parse().unwrap();
    let acks: Vec<relais_core::ledger::Acknowledged> = ["a", "b", "c"]
        .iter()
        .map(|k| relais_core::ledger::Acknowledged {
            key: (*k).into(),
            hash: "h".into(),
            fields: Default::default(),
            partner_id: None,
        })
        .collect();
    s.acknowledge(seen_job, &acks).await.unwrap();
    s.mark_seen(seen_job, "run-1", &["a".into(), "c".into(), "zz".into()])
        .await
        .unwrap();
    let unseen = s.unseen_page(seen_job, "run-1", None, 10).await.unwrap();
    assert_eq!(
        unseen.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    assert_eq!(
        s.seen_keys(seen_job, "run-1", &["a".into(), "b".into()])
            .await
            .unwrap(),
        ["a"]
    );
    assert_eq!(
        s.unseen_page(seen_job, "run-2", None, 10)
            .await
            .unwrap()
            .len(),
        3,
        "another run saw nothing yet"
    );
    assert_eq!(
        s.unseen_page(seen_job, "run-2", Some("a"), 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // Resetting the ledger forgets what the partner acknowledged, and the checkpoints.
    let job = i.job();
    s.acknowledge(
        &job,
        &[relais_core::ledger::Acknowledged {
            key: "1".into(),
            hash: "h".into(),
            fields: Default::default(),
            partner_id: None,
        }],
    )
    .await
    .unwrap();
    s.set_checkpoint(&job, "users", "2026-01-01T00:00:00Z")
        .await
        .unwrap();
    s.acknowledge(
        &"other:1".parse().unwrap(),
        &[relais_core::ledger::Acknowledged {
            key: "1".into(),
            hash: "h".into(),
            fields: Default::default(),
            partner_id: None,
        }],
    )
    .await
    .unwrap();
    s.reset_ledger(&job).await.unwrap();
    assert!(s
        .acknowledged_page(&job, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.checkpoint(&job, "users").await.unwrap(), None);
    assert_eq!(
        s.acknowledged_page(&"other:1".parse().unwrap(), None, 10)
            .await
            .unwrap()
            .len(),
        1,
        "other jobs kept"
    );

    // Uninstalling ends the integration.
    s.uninstall(base.id, inst.id, CLI).await.unwrap();
    assert!(matches!(
        s.get_integration(inst.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(s.list_integrations(None).await.unwrap().is_empty());
}

/// A connector declared only to be stored: the store keeps its code and
/// options whatever they hold.
struct StoredOnly;

static STORED_ONLY: relais_core::connector::Declaration = relais_core::connector::Declaration {
    code: "happypal",
    name: "HappyPal",
    secrets: &[],
    options: &[],
    schedule: relais_core::connector::ScheduleRule {
        default: "0 6 * * *",
        default_full: "0 3 * * 0",
        min_interval_minutes: None,
        nightly_from: None,
        on_change: None,
    },
    mapping: None,
    streams: &[],
};

impl relais_core::connector::ConnectorSpec for StoredOnly {
    fn declaration(&self) -> &'static relais_core::connector::Declaration {
        &STORED_ONLY
    }
    fn check_options(
        &self,
        options: &serde_json::Value,
    ) -> relais_core::error::Result<serde_json::Value> {
        Ok(options.clone())
    }
}

/// What a key read, from the audit trail: per resource (query left aside,
/// identifiers as `{id}`), with records and errors; and how far behind a
/// copy read at some time is.
async fn a_keys_reads_are_summed_per_resource(db: TestDb) {
    use relais_core::access::{AuditEntry, KeyUsage};
    let s = &db.store;
    let org = org(s, "reads").await;
    let key = s
        .create_api_key(
            &new_key(
                org.base,
                "reads",
                "Inside Online",
                KeyUsage::ThirdParty,
                &["all"],
            ),
            CLI,
        )
        .await
        .unwrap();
    let at = now();
    let entry = |path: &str, status: u16, records: i64, seconds: i64| AuditEntry {
        base_id: org.base,
        key_id: key.id,
        method: "GET".into(),
        path: path.into(),
        status,
        employee_records: 0,
        records,
        at: at - chrono::Duration::seconds(seconds),
    };
    let batch = [
        entry("/api/v3/users?fields=id&paging=0,10", 200, 10, 30),
        entry("/api/v3/users?fields=id&paging=10,10", 200, 4, 20),
        entry("/api/v3/users/5", 200, 1, 10),
        entry("/api/v3/users/6?fields=id", 200, 1, 5),
        entry("/api/v3/leaves?paging=0,5", 400, 0, 1),
        entry("/api/v3/users?fields=id", 200, 99, 3 * 24 * 3600),
    ];
    s.record_requests(&batch).await.unwrap();
    // A batch is written in one statement: every entry reads back as it was
    // given (its instant to the microsecond, quotes and all), in its order.
    let mut trail = s.list_requests(key.id, 10).await.unwrap();
    trail.reverse();
    let micros = |e: &AuditEntry| AuditEntry {
        at: e.at.trunc_subsecs(6),
        ..e.clone()
    };
    assert_eq!(
        trail.iter().map(micros).collect::<Vec<_>>(),
        batch.iter().map(micros).collect::<Vec<_>>()
    );
    let odd = AuditEntry {
        method: "PUT".into(),
        path: "/api/v3/users?name=l'\u{e9}a \"x\"".into(),
        employee_records: 1,
        ..entry("/", 500, 1, 4 * 24 * 3600)
    };
    s.record_requests(std::slice::from_ref(&odd)).await.unwrap();
    assert_eq!(
        micros(&s.list_requests(key.id, 1).await.unwrap()[0]),
        micros(&odd)
    );
    let reads = relais_store::reports::key_reads(&**s, key.id, at - chrono::Duration::hours(24))
        .await
        .unwrap();
    let found = |r: &str| reads.iter().find(|x| x.resource == r).unwrap().clone();
    assert_eq!(reads.len(), 3, "{reads:?}");
    let users = found("/api/v3/users");
    assert_eq!(
        (users.requests, users.records, users.errors),
        (2, 14, 0),
        "the old read is left out"
    );
    assert_eq!(users.last, at - chrono::Duration::seconds(20));
    let one = found("/api/v3/users/{id}");
    assert_eq!((one.requests, one.records), (2, 2));
    let leaves = found("/api/v3/leaves");
    assert_eq!((leaves.requests, leaves.errors), (1, 1));
    // A copy read at `at` is up to date until an employee is written; then
    // it is behind since that change.
    assert_eq!(s.first_change_after(org.base, at).await.unwrap(), None);
    let hired = s
        .create_employee(org.base, &person(&org, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    assert_eq!(
        s.first_change_after(org.base, at).await.unwrap(),
        Some(hired.modified_at)
    );
    assert_eq!(
        s.first_change_after(org.base, hired.modified_at)
            .await
            .unwrap(),
        None
    );
    // The key by its identifier comes with its base's versions, those the
    // hire raised, as by its prefix.
    let (by_id, versions) = s.api_key_at_version(key.id).await.unwrap();
    assert_eq!(by_id.id, key.id);
    assert_eq!(versions, s.base_version(org.base).await.unwrap());
    assert!(versions.data > 0, "{versions:?}");
    let (_, by_prefix) = s.api_key_by_prefix("reads").await.unwrap().unwrap();
    assert_eq!(versions, by_prefix);
    assert!(matches!(
        s.api_key_at_version(relais_core::ids::KeyId(key.id.0 + 1000))
            .await,
        Err(relais_store::StoreError::NotFound { .. })
    ));
}

async fn a_rotated_key_keeps_its_previous_secret_for_its_grace(db: TestDb) {
    use relais_core::access::KeyUsage;
    use relais_store::NewApiKey;
    let s = &db.store;
    let org = org(s, "rotation").await;
    let key = s
        .create_api_key(
            &NewApiKey {
                secret_hash: "first".into(),
                ..new_key(
                    org.base,
                    "rotate",
                    "Script",
                    KeyUsage::Internal,
                    &["organisation"],
                )
            },
            CLI,
        )
        .await
        .unwrap();
    assert_eq!(key.previous_secret_hash, None);
    let until = now() + chrono::Duration::hours(1);
    let rotated = s
        .rotate_api_key(key.id, "second", until, CLI)
        .await
        .unwrap();
    assert_eq!(rotated.secret_hash, "second");
    assert_eq!(rotated.previous_secret_hash.as_deref(), Some("first"));
    assert_eq!(
        rotated.previous_valid_until.map(|t| t.timestamp()),
        Some(until.timestamp())
    );
    assert_eq!(rotated.prefix, key.prefix, "the key is found as before");
    let again = s.rotate_api_key(key.id, "third", now(), CLI).await.unwrap();
    assert_eq!(again.previous_secret_hash.as_deref(), Some("second"));
    s.revoke_api_key(key.id, CLI).await.unwrap();
    let e = s
        .rotate_api_key(key.id, "fourth", now(), CLI)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    assert_eq!(s.get_api_key(key.id).await.unwrap().secret_hash, "third");
}

/// Deliveries posted as their events were read are stored with what came
/// of them, in the transaction that moves the endpoint's cursor; stored even
/// when a replay moved the cursor meanwhile (they were posted), whereas
/// deliveries merely made are then not.
/// An endpoint's delivery log, newest first: pages that follow one another
/// by `before` hold each delivery once, a status keeps only its own, and
/// another endpoint's deliveries never show.
async fn the_delivery_log_is_read_page_by_page_and_by_status(db: TestDb) {
    use relais_core::webhooks::DeliveryStatus;
    use relais_store::{AttemptOutcome, NewDelivery, SentDelivery};
    let s = &db.store;
    let org = org(s, "delivery-log").await;
    let key = receiver_key(s, &org).await;
    let at = now();
    let mut endpoints = Vec::new();
    for name in ["receiver", "another"] {
        let endpoint = s
            .create_endpoint(&new_endpoint(org.base, key.id, name), CLI)
            .await
            .unwrap();
        // Every fifth event fails (and waits for its retry); the rest are delivered.
        let sent: Vec<SentDelivery> = (1..=25)
            .map(|seq: i64| {
                let failed = seq % 5 == 0;
                SentDelivery {
                    delivery: NewDelivery {
                        event_seq: seq,
                        topic: "employee.updated".into(),
                        message_id: format!("evt_{name}_{seq}"),
                        body: "{}".into(),
                    },
                    outcome: Some(AttemptOutcome {
                        status: if failed {
                            DeliveryStatus::Pending
                        } else {
                            DeliveryStatus::Delivered
                        },
                        http_status: Some(if failed { 500 } else { 204 }),
                        error: None,
                        latency_ms: 3,
                        next_attempt_at: failed.then_some(at),
                        at,
                    }),
                }
            })
            .collect();
        s.record_sent(endpoint.id, 0, 25, &sent, at).await.unwrap();
        endpoints.push(endpoint.id);
    }
    let mine = endpoints[0];
    let read = |query: DeliveryQuery| async move { s.list_deliveries(mine, &query).await.unwrap() };
    let mut seen = Vec::new();
    let mut query = DeliveryQuery::latest(10);
    loop {
        let page = read(query).await;
        assert!(page.len() <= 10);
        assert!(page.iter().all(|d| d.endpoint_id == mine));
        seen.extend(page.iter().map(|d| d.event_seq));
        match page.last() {
            Some(last) if page.len() == 10 => query.before = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(
        seen,
        (1..=25).rev().collect::<Vec<i64>>(),
        "newest first, each once"
    );
    let pending = read(DeliveryQuery {
        status: Some(DeliveryStatus::Pending),
        ..DeliveryQuery::latest(100)
    })
    .await;
    let seqs: Vec<i64> = pending.iter().map(|d| d.event_seq).collect();
    assert_eq!(seqs, [25, 20, 15, 10, 5]);
    let older = read(DeliveryQuery {
        before: Some(pending[1].id),
        status: Some(DeliveryStatus::Pending),
        limit: 2,
    })
    .await;
    let seqs: Vec<i64> = older.iter().map(|d| d.event_seq).collect();
    assert_eq!(seqs, [15, 10], "a status and a page together");
    let failed = read(DeliveryQuery {
        status: Some(DeliveryStatus::Failed),
        ..DeliveryQuery::latest(100)
    })
    .await;
    assert!(failed.is_empty());
}

/// The key a webhook receiver's endpoints belong to.
async fn receiver_key(s: &SharedStore, org: &Org) -> relais_core::access::ApiKey {
    s.create_api_key(
        &new_key(
            org.base,
            "hooks",
            "Receiver",
            relais_core::access::KeyUsage::Internal,
            &["personnel-file"],
        ),
        CLI,
    )
    .await
    .unwrap()
}

async fn posted_deliveries_are_stored_with_the_cursor_that_made_them(db: TestDb) {
    use relais_core::webhooks::DeliveryStatus;
    use relais_store::{AttemptOutcome, NewDelivery, SentDelivery};
    let s = &db.store;
    let org = org(s, "deliveries").await;
    let key = receiver_key(s, &org).await;
    let endpoint = s
        .create_endpoint(&new_endpoint(org.base, key.id, "receiver"), CLI)
        .await
        .unwrap();
    let message = |seq: i64| NewDelivery {
        event_seq: seq,
        topic: "employee.updated".into(),
        message_id: format!("evt_{}_{seq}", org.base),
        body: format!("{{\"cursor\":{seq}}}"),
    };
    let at = now();
    let answered = |status: DeliveryStatus, http: u16, next: Option<i64>| AttemptOutcome {
        status,
        http_status: Some(http),
        error: (http >= 300).then(|| format!("the endpoint answered {http}")),
        latency_ms: 12,
        next_attempt_at: next.map(|s| at + chrono::Duration::seconds(s)),
        at,
    };
    let sent = [
        SentDelivery {
            delivery: message(1),
            outcome: Some(answered(DeliveryStatus::Delivered, 204, None)),
        },
        SentDelivery {
            delivery: message(2),
            outcome: Some(answered(DeliveryStatus::Pending, 500, Some(5))),
        },
        SentDelivery {
            delivery: message(3),
            outcome: None,
        },
    ];
    let recorded = s.record_sent(endpoint.id, 0, 5, &sent, at).await.unwrap();
    assert!(recorded.moved);
    assert_eq!(
        recorded.failing_since.map(|t| t.timestamp()),
        Some(at.timestamp()),
        "a failure makes the endpoint failing"
    );
    assert_eq!(s.endpoint(endpoint.id).await.unwrap().cursor, 5);
    let mut log = s
        .list_deliveries(endpoint.id, &DeliveryQuery::latest(10))
        .await
        .unwrap();
    log.reverse();
    let seen: Vec<(i64, DeliveryStatus, u32, Option<u16>, bool)> = log
        .iter()
        .map(|d| {
            (
                d.event_seq,
                d.status,
                d.attempts,
                d.last_status,
                d.delivered_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, DeliveryStatus::Delivered, 1, Some(204), true),
            (2, DeliveryStatus::Pending, 1, Some(500), false),
            (3, DeliveryStatus::Pending, 0, None, false),
        ]
    );
    assert_eq!(
        log[1].last_error.as_deref(),
        Some("the endpoint answered 500")
    );
    assert_eq!(
        (log[0].body.as_str(), log[1].body.as_str()),
        ("", r#"{"cursor":2}"#),
        "a delivered message's body is not kept; a pending one's is, for its retries"
    );
    let due: Vec<i64> = s
        .due_deliveries(endpoint.id, at, 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.event_seq)
        .collect();
    assert_eq!(
        due,
        [3],
        "the one not tried is due at once, the failure at its retry"
    );
    // A replay moved the cursor back meanwhile: made deliveries are not
    // stored, posted ones are, and the replay's cursor stands.
    s.set_endpoint_cursor(endpoint.id, 0, CLI).await.unwrap();
    assert!(!s
        .enqueue_deliveries(endpoint.id, 5, 6, &[message(6)], at)
        .await
        .unwrap());
    let recorded = s
        .record_sent(
            endpoint.id,
            5,
            7,
            &[SentDelivery {
                delivery: message(7),
                outcome: Some(answered(DeliveryStatus::Delivered, 200, None)),
            }],
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        (recorded.moved, recorded.failing_since),
        (false, None),
        "a delivery taken ends the failure"
    );
    assert_eq!(s.endpoint(endpoint.id).await.unwrap().cursor, 0);
    let stored: Vec<i64> = s
        .list_deliveries(endpoint.id, &DeliveryQuery::latest(10))
        .await
        .unwrap()
        .iter()
        .map(|d| d.event_seq)
        .collect();
    assert_eq!(stored, [7, 3, 2, 1]);
    assert!(s
        .endpoint(endpoint.id)
        .await
        .unwrap()
        .failing_since
        .is_none());
    // Past the retention, the deliveries that are over go; the pending stay.
    assert_eq!(s.prune_deliveries(at).await.unwrap(), 0, "none is older");
    assert_eq!(
        s.prune_deliveries(at + chrono::Duration::days(1))
            .await
            .unwrap(),
        2
    );
    let kept = || async {
        let log = s
            .list_deliveries(endpoint.id, &DeliveryQuery::latest(10))
            .await
            .unwrap();
        log.iter().map(|d| d.event_seq).collect::<Vec<i64>>()
    };
    assert_eq!(kept().await, [3, 2]);
    // More deliveries over than one statement deletes: all go, chunk after
    // chunk, and the pending ones among them stay.
    let more = relais_store::events::PRUNE_CHUNK as i64 + 100;
    let sent: Vec<SentDelivery> = (8..8 + more)
        .map(|seq| SentDelivery {
            delivery: message(seq),
            outcome: Some(answered(DeliveryStatus::Delivered, 204, None)),
        })
        .collect();
    s.record_sent(endpoint.id, 0, 7 + more, &sent, at)
        .await
        .unwrap();
    assert_eq!(
        s.prune_deliveries(at + chrono::Duration::days(1))
            .await
            .unwrap(),
        more as u64
    );
    assert_eq!(
        s.prune_deliveries(at + chrono::Duration::days(1))
            .await
            .unwrap(),
        0,
        "nothing is left to prune"
    );
    assert_eq!(kept().await, [3, 2], "the pending are kept");
}

/// A bulk write into a table PostgreSQL believes empty tells the planner its
/// size after its first statement: the plans of the foreign-key checks that
/// follow look keys up by the primary key instead of reading the base's
/// rows (a 100,000-employee seed took over ten minutes before).
#[tokio::test]
async fn a_bulk_write_tells_postgres_how_large_the_table_is() {
    use sqlx::Connection;
    let Some((db, url)) = postgres_db_and_url().await else {
        return;
    };
    let s = &db.store;
    let o = org(s, "production").await;
    let believed = |url: String| async move {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let n: f64 = sqlx::query_scalar(
            "SELECT reltuples::float8 FROM pg_class WHERE oid = 'employees'::regclass",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        n
    };
    assert!(
        believed(url.clone()).await < 1.0,
        "a new base's employees are unknown to the planner"
    );
    let n = 1_000;
    let rows = many_people(s, &o, n, |i| i as u32).await;
    s.insert_records(Records::Employees(&rows)).await.unwrap();
    let known = believed(url.clone()).await;
    assert!(
        known >= 100.0,
        "after a bulk write of {n} employees the planner believes the table holds {known} rows"
    );
}

/// Pooled connections are not checked before every query, only after a
/// moment idle: a connection the server dropped meanwhile (a restart, an
/// administrator) is found out and replaced, and the next request works.
#[tokio::test]
async fn connections_the_server_dropped_are_replaced() {
    use sqlx::Connection;
    let Some((db, url)) = postgres_db_and_url().await else {
        return;
    };
    let s = &db.store;
    let o = org(s, "production").await;
    let query = relais_store::ListQuery::default();
    let read = || s.query_employees(o.base, &query);
    // Several connections in the pool, all idle.
    let (a, b, c) = tokio::join!(read(), read(), read());
    for page in [a, b, c] {
        assert!(page.unwrap().items.is_empty());
    }
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let dropped: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!dropped.is_empty(), "the store's connections were dropped");
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    for _ in 0..3 {
        assert!(read().await.unwrap().items.is_empty());
    }
}

/// An install writes its key, installation and integration in one
/// transaction: a failure on the way (here the integration, refused by the
/// database) leaves no key, no installation and no integration behind.
async fn an_install_is_stored_whole_or_not_at_all(db: TestDb) {
    use relais_core::access::KeyUsage;
    use relais_core::integration::Integration;
    use relais_store::{NewApiKey, NewInstallation};
    let s = &db.store;
    let (base, admin) = base_and_admin(s).await;
    let key = new_key(
        base.id,
        "inst1",
        "HappyPal",
        KeyUsage::ThirdParty,
        &["personnel-file:fields=firstName"],
    );
    let contact = Email::parse("it@happypal.fr").unwrap();
    // The integration names a base that does not exist: its insert fails last.
    let broken = Integration::new(
        InstallationId(0),
        BaseId(base.id.0 + 999),
        &StoredOnly,
        "sealed".into(),
        now(),
    );
    let failed = s
        .install(&NewInstallation {
            key: &key,
            app: "happypal",
            contact: &contact,
            by: admin.id,
            integration: Some(broken),
        })
        .await;
    assert!(failed.is_err(), "the integration was refused");
    assert!(
        s.list_api_keys(base.id).await.unwrap().is_empty(),
        "no key left"
    );
    assert!(s.list_installations(base.id).await.unwrap().is_empty());
    assert!(s.list_integrations(Some(base.id)).await.unwrap().is_empty());
    // Whole: the integration carries the new installation's id.
    let good = Integration::new(
        InstallationId(0),
        base.id,
        &StoredOnly,
        "sealed".into(),
        now(),
    );
    let (stored_key, installation) = s
        .install(&NewInstallation {
            key: &key,
            app: "happypal",
            contact: &contact,
            by: admin.id,
            integration: Some(good),
        })
        .await
        .unwrap();
    assert_eq!(installation.key_id, stored_key.id);
    assert_eq!(
        s.get_integration(installation.id)
            .await
            .unwrap()
            .installation_id,
        installation.id
    );
    // Installed twice: refused, and the second key is not kept.
    let again = NewApiKey {
        prefix: "inst2".into(),
        ..key.clone()
    };
    let twice = s
        .install(&NewInstallation {
            key: &again,
            app: "happypal",
            contact: &contact,
            by: admin.id,
            integration: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(twice, StoreError::Conflict { .. }), "{twice}");
    assert_eq!(s.list_api_keys(base.id).await.unwrap().len(), 1);
}

/// A production base and a person who may administer apps.
async fn base_and_admin(s: &SharedStore) -> (relais_core::base::Base, relais_core::people::Person) {
    let base = s
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    let admin = relais_testkit::people::account(s, "admin@acme.fr", true, true).await;
    (base, admin)
}

/// A base's events after `after`, of `topic` only if one is named, as
/// `scope` sees them.
async fn events_seen(
    s: &SharedStore,
    base: BaseId,
    after: i64,
    topic: Option<&str>,
    scope: relais_store::Scope,
) -> Vec<relais_core::events::Event> {
    s.read_events(
        base,
        &relais_store::EventQuery {
            after,
            topics: topic.map(|t| t.parse().unwrap()).into_iter().collect(),
            limit: 10_000,
            scope,
        },
    )
    .await
    .unwrap()
}

/// The topics of a base's events after `after`, as text, and the last one's number.
async fn topics_after(s: &SharedStore, base: BaseId, after: i64) -> (Vec<String>, i64) {
    let events = events_seen(s, base, after, None, relais_store::Scope::default()).await;
    let last = events.last().map_or(after, |e| e.seq);
    (events.iter().map(|e| e.topic.to_string()).collect(), last)
}

/// What a run on change reads of the feed: the records its events are
/// about, an employee's update only when it changed a field the connector
/// is sent, within the span and topics asked, in order.
async fn changed_records_name_what_a_connector_is_sent(db: TestDb) {
    use relais_core::events::{EventKind, Topic};
    use relais_core::fields::users;
    let s = &db.store;
    let o = org(s, "production").await;
    let start = s.last_event(o.base).await.unwrap();
    let e = s
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    let other = DepartmentId(s.reserve_ids(o.base, Entity::Department, 1).await.unwrap());
    let mut department = s.list_departments(o.base).await.unwrap()[0].clone();
    department.id = other;
    department.code = Code::parse("code", "RH").unwrap();
    department.name = Name::parse("name", "Ressources humaines").unwrap();
    s.insert_records(Records::Departments(&[department]))
        .await
        .unwrap();
    let update = |edit: fn(&mut relais_core::employee::EmployeeData, DepartmentId)| async move {
        let now = s.get_employee(o.base, e.id).await.unwrap();
        let mut data = now.data.clone();
        edit(&mut data, other);
        s.update_employee(&now, &data, &who()).await.unwrap();
    };
    update(|d, _| d.job_title = Some("Pilote".into())).await;
    update(|d, other| d.department_id = Some(other)).await;
    let p = s
        .create_leave_period(
            o.base,
            &request(
                e.id,
                o.paid_leave,
                span((2026, 3, 2, HalfDay::Am), (2026, 3, 3, HalfDay::Pm)),
            ),
        )
        .await
        .unwrap();
    let end = s.last_event(o.base).await.unwrap();
    // Afterwards, out of the span.
    update(|d, _| d.department_id = None).await;
    let topics: Vec<Topic> = Topic::all()
        .filter(|t| matches!(t.kind, EventKind::Employee | EventKind::Leave))
        .collect();
    let named = |fields: &'static [relais_core::fields::Field], limit| {
        let topics = topics.clone();
        async move {
            s.changed_records(o.base, (start, end), &topics, fields, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|(t, id)| (t.to_string(), id))
                .collect::<Vec<_>>()
        }
    };
    let (id, leave) = (e.id.0, p.id.0);
    // The new job title is not the department: left out; the department's creation is not asked for.
    assert_eq!(
        named(&[users::DEPARTMENT_ID], 100).await,
        [
            ("employee.created".to_owned(), id),
            ("employee.updated".to_owned(), id),
            ("leave.created".to_owned(), leave),
        ]
    );
    // No field named: every update.
    let every = named(&[], 100).await;
    assert_eq!(every.len(), 4, "{every:?}");
    assert_eq!(
        named(&[users::DEPARTMENT_ID, users::JOB_TITLE], 100)
            .await
            .len(),
        4
    );
    // The first only.
    assert_eq!(
        named(&[users::DEPARTMENT_ID], 1).await,
        [("employee.created".to_owned(), id)]
    );
}

/// Every create, update and delete of the records partners follow writes
/// its event in its own transaction — single writes, bulk writes, a base
/// copied or cleared — numbered in order per base, with who wrote it; a
/// refused write writes none; a scope hides the events about employees
/// outside it; old events are pruned.
async fn every_change_writes_its_event_with_it(db: TestDb) {
    use relais_core::events::Record;
    use relais_store::{writing_as, Scope};
    use HalfDay::{Am, Pm};
    let s = &db.store;
    let o = writing_as("cli".into(), org(s, "production")).await;
    let (topics, mut last) = topics_after(s, o.base, 0).await;
    assert_eq!(
        topics,
        [
            "legal-entity.created",
            "business-establishment.created",
            "department.created"
        ]
    );
    assert_eq!(last, 3, "numbered from 1 in the base");
    let e = writing_as(
        "api:Semana".into(),
        s.create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who()),
    )
    .await
    .unwrap();
    let mut data = e.data.clone();
    data.job_title = Some("Pilote".into());
    let updated = s
        .update_employee(&s.get_employee(o.base, e.id).await.unwrap(), &data, &who())
        .await
        .unwrap();
    let p = s
        .create_leave_period(
            o.base,
            &request(e.id, o.paid_leave, span((2026, 3, 2, Am), (2026, 3, 3, Pm))),
        )
        .await
        .unwrap();
    s.set_leave_status(o.base, p.id, LeaveStatus::Cancelled)
        .await
        .unwrap();
    s.set_department_head(o.base, o.department, Some(e.id))
        .await
        .unwrap();
    let events = events_seen(s, o.base, last, None, Scope::default()).await;
    let topics: Vec<String> = events.iter().map(|e| e.topic.to_string()).collect();
    assert_eq!(
        topics,
        [
            "employee.created",
            "employee.updated",
            "leave.created",
            "leave.updated",
            "department.updated"
        ]
    );
    assert_eq!(events[0].source, "api:Semana");
    assert_eq!(events[1].source, "relais", "no writer named: relais");
    assert_eq!(events[0].data, Record::Employee(Box::new(e.clone())));
    assert_eq!(events[1].data, Record::Employee(Box::new(updated.clone())));
    assert_eq!(
        events[1].previous,
        Some(Record::Employee(Box::new(e.clone())))
    );
    match &events[3].data {
        Record::Leave(l) => assert_eq!(l.status, LeaveStatus::Cancelled),
        other => panic!("a leave period, not {other:?}"),
    }
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (last + 1..=last + 5).collect::<Vec<_>>());
    last += 5;
    // A refused write writes no event.
    let mut twin = person(&o, 2, d(2021, 1, 4), None);
    twin.mail = data.mail.clone();
    assert!(s.create_employee(o.base, &twin, &who()).await.is_err());
    assert_eq!(s.last_event(o.base).await.unwrap(), last);
    // Topics filter.
    let only = events_seen(s, o.base, 0, Some("employee.updated"), Scope::default()).await;
    assert_eq!(only.len(), 1);
    // A scope of another establishment sees the organisation's events only;
    // one that does not see future employees, none about an employee
    // whose contract starts after its day.
    let elsewhere = Scope {
        establishments: Some(vec![EstablishmentId(o.establishment.0 + 50)]),
        ..Scope::default()
    };
    let before_hire = Scope {
        today: d(2019, 1, 1),
        future: false,
        ..Scope::default()
    };
    for (scope, expected) in [
        (
            elsewhere,
            vec![
                "legal-entity.created",
                "department.created",
                "department.updated",
            ],
        ),
        (
            before_hire,
            vec![
                "legal-entity.created",
                "business-establishment.created",
                "department.created",
                "department.updated",
            ],
        ),
    ] {
        let seen = events_seen(s, o.base, 0, None, scope).await;
        let seen: Vec<String> = seen.iter().map(|e| e.topic.to_string()).collect();
        assert_eq!(seen, expected);
    }
    // A bulk write, a copy and a clear write one event per record.
    let other = org(s, "other").await;
    let (_, other_last) = topics_after(s, other.base, 0).await;
    s.copy_base(o.base, other.base, CLI).await.unwrap();
    let (topics, other_last) = topics_after(s, other.base, other_last).await;
    let count = |t: &str| topics.iter().filter(|x| *x == t).count();
    assert_eq!(count("department.deleted"), 1, "{topics:?}");
    assert_eq!(count("legal-entity.deleted"), 1);
    assert_eq!(count("employee.created"), 1);
    assert_eq!(count("leave.created"), 1);
    assert_eq!(count("department.created"), 1);
    // A copied record's event holds the copy, and what it is about: the
    // copied leave is hidden from a scope of another establishment.
    let copied = events_seen(s, other.base, 0, Some("leave.created"), Scope::default()).await;
    let copy_of_p = s.get_leave_period(other.base, p.id).await.unwrap();
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].data, Record::Leave(copy_of_p));
    let hidden = events_seen(
        s,
        other.base,
        0,
        Some("leave.created"),
        Scope {
            establishments: Some(vec![EstablishmentId(o.establishment.0 + 50)]),
            ..Scope::default()
        },
    )
    .await;
    assert!(hidden.is_empty(), "{hidden:?}");
    // Records written in bulk: one event each, in the order given, holding
    // the record as a single write's event would, and who wrote them.
    let people = many_people(s, &o, 30, |i| 100 + i as u32).await;
    writing_as(
        "cli:seed".into(),
        s.insert_records(Records::Employees(&people)),
    )
    .await
    .unwrap();
    let bulk = events_seen(s, o.base, last, None, Scope::default()).await;
    assert_eq!(bulk.len(), 30);
    for (event, person) in bulk.iter().zip(&people) {
        assert_eq!(event.topic.to_string(), "employee.created");
        assert_eq!(event.source, "cli:seed");
        let stored = s.get_employee(o.base, person.id).await.unwrap();
        assert_eq!(event.data, Record::Employee(Box::new(stored)));
        assert_eq!(event.previous, None);
    }
    let (topics, newest) = topics_after(s, o.base, last).await;
    assert_eq!(topics.len(), 30);
    s.clear_base(other.base).await.unwrap();
    let (topics, _) = topics_after(s, other.base, other_last).await;
    assert_eq!(
        topics.iter().filter(|t| t.ends_with(".deleted")).count(),
        5,
        "{topics:?}"
    );
    let (topics, _) = topics_after(s, o.base, last).await;
    assert_eq!(
        topics.len(),
        30,
        "the copy and the clear wrote nothing in the source"
    );
    assert!(s.last_event(o.base).await.unwrap() >= newest);
    // Pruning removes what occurred before the cut, in every base, by
    // chunks: here more than one.
    let more = relais_store::events::PRUNE_CHUNK as i64 + 100;
    let crowd = many_people(s, &o, more, |i| 1_000 + i as u32).await;
    let crowd: Vec<Employee> = crowd
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.data.employee_number = EmployeeNumber::parse(&format!("C{i:05}")).unwrap();
            e.data.login = format!("c{i}");
            e.data.mail = Email::parse(&format!("c{i}@exemple.fr")).unwrap();
            e
        })
        .collect();
    s.insert_records(Records::Employees(&crowd)).await.unwrap();
    let pruned = s
        .prune_events(now() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert!(pruned > more as u64 + 40, "{pruned}");
    assert!(topics_after(s, o.base, 0).await.0.is_empty());
    assert_eq!(
        s.prune_events(now() + chrono::Duration::days(1))
            .await
            .unwrap(),
        0,
        "nothing left to prune"
    );
    // Numbering goes on after pruning; an update, run on the store's write
    // lane, is still written as whoever asked for it.
    writing_as(
        "api:Lane".into(),
        s.update_employee(
            &s.get_employee(o.base, e.id).await.unwrap(),
            &e.data,
            &who(),
        ),
    )
    .await
    .unwrap();
    let (topics, after_pruning) = topics_after(s, o.base, 0).await;
    assert_eq!(topics, ["employee.updated"]);
    let newest_event = events_seen(s, o.base, 0, None, Scope::default()).await;
    assert_eq!(newest_event[0].source, "api:Lane");
    assert!(after_pruning > newest);
    assert_eq!(s.last_event(o.base).await.unwrap(), after_pruning);
}

/// A process waiting for events is woken when another process commits some
/// (PostgreSQL: `LISTEN`/`NOTIFY`; SQLite: its look at the last event), and
/// a rolled-back write that would have written events leaves the last
/// event where it was.
async fn another_process_is_woken_by_committed_events(db: TestDb) {
    use std::time::Duration;
    let o = org(&db.store, "production").await;
    let other = db.reopen().await.unwrap();
    let mut signal = other.event_signal();
    // Let the watcher start (PostgreSQL: its LISTEN is in place once it
    // raised the signal a first time).
    let _ = tokio::time::timeout(Duration::from_secs(5), signal.changed()).await;
    signal.borrow_and_update();
    let before = other.last_event(o.base).await.unwrap();
    db.store
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), signal.changed())
        .await
        .expect("woken within 10 s of the commit")
        .expect("the watcher is running");
    assert!(other.last_event(o.base).await.unwrap() > before);
    // Many commits, one wake-up or several: the waiter reads them all.
    for n in 2..6 {
        db.store
            .create_employee(o.base, &person(&o, n, d(2020, 1, 6), None), &who())
            .await
            .unwrap();
    }
    let last = db.store.last_event(o.base).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while other.last_event(o.base).await.unwrap() < last {
            signal.changed().await.unwrap();
        }
    })
    .await
    .expect("every commit seen");
}

/// PostgreSQL: writers of one base commit side by side — a transaction that
/// wrote an event and has not committed holds up no other writer of the
/// base — and a reader's cursor never skips an event: the event of a
/// transaction that commits later is numbered after every event a reader
/// has already seen, never before.
#[tokio::test]
async fn events_committed_late_are_numbered_after_those_already_read() {
    use sqlx::Connection;
    use std::time::Duration;
    let Some((db, url)) = postgres_db_and_url().await else {
        return;
    };
    let s = &db.store;
    let o = org(s, "production").await;
    let first = s
        .create_employee(o.base, &person(&o, 1, d(2020, 1, 6), None), &who())
        .await
        .unwrap();
    let (_, start) = topics_after(s, o.base, 0).await;
    // A transaction of another process changes the employee and stays open.
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut open = other.begin().await.unwrap();
    sqlx::query(
        "UPDATE employees SET modified_at = modified_at + interval '1 second' \
         WHERE base_id = $1 AND id = $2",
    )
    .bind(o.base.0)
    .bind(first.id.0)
    .execute(&mut *open)
    .await
    .unwrap();
    // Meanwhile another writer of the base commits at once, and a reader
    // sees its event (and not the open transaction's).
    tokio::time::timeout(
        Duration::from_secs(10),
        s.create_employee(o.base, &person(&o, 2, d(2020, 1, 6), None), &who()),
    )
    .await
    .expect("a writer is not held up by another's open transaction")
    .unwrap();
    let (seen, read_up_to) = topics_after(s, o.base, start).await;
    assert_eq!(seen, ["employee.created"]);
    assert_eq!(s.last_event(o.base).await.unwrap(), read_up_to);
    // The open transaction commits: its event comes after the cursor.
    open.commit().await.unwrap();
    let (later, last) = topics_after(s, o.base, read_up_to).await;
    assert_eq!(
        later,
        ["employee.updated"],
        "the late event is after the reader's cursor"
    );
    assert_eq!(
        last,
        read_up_to + 1,
        "numbers follow each other without gaps"
    );
    // Readers of two processes numbering at once give each event one number.
    for n in 3..23 {
        s.create_employee(o.base, &person(&o, n, d(2020, 1, 6), None), &who())
            .await
            .unwrap();
    }
    let again = db.reopen().await.unwrap();
    let (a, b) = tokio::join!(
        topics_after(s, o.base, last),
        topics_after(&again, o.base, last)
    );
    assert_eq!(a.0.len(), 20);
    assert_eq!(a, b);
    assert_eq!(a.1, last + 20);
}

/// A disabled account's sessions end and none of its sessions is read
/// while it is disabled; a new password replaces the hash and ends the
/// sessions; an unknown e-mail is not found and changes nothing.
async fn accounts_are_disabled_and_given_new_passwords(db: TestDb) {
    let s = &db.store;
    let (_, admin) = base_and_admin(s).await;
    // Someone else may manage accounts while the admin is disabled.
    another_account(s, "deputy@acme.fr", true).await;
    let open = |token: &'static str| async move {
        let expires = now() + chrono::Duration::hours(1);
        s.create_session(token, admin.id, "csrf", expires)
            .await
            .unwrap();
    };
    open("one").await;
    assert!(s.session("one").await.unwrap().is_some());
    let disabled = s
        .set_person_disabled("ADMIN@acme.fr", true, None)
        .await
        .unwrap();
    let since = disabled.disabled_at.expect("disabled");
    assert!(
        s.session("one").await.unwrap().is_none(),
        "its session ended"
    );
    open("two").await;
    assert!(
        s.session("two").await.unwrap().is_none(),
        "no session is read while disabled"
    );
    let again = s
        .set_person_disabled("admin@acme.fr", true, None)
        .await
        .unwrap();
    assert_eq!(
        again.disabled_at,
        Some(since),
        "disabled since the first time"
    );
    let enabled = s
        .set_person_disabled("admin@acme.fr", false, None)
        .await
        .unwrap();
    assert_eq!(enabled.disabled_at, None);
    assert!(s.list_people().await.unwrap()[0].disabled_at.is_none());
    open("three").await;
    assert!(s.session("three").await.unwrap().is_some());
    s.set_person_password("admin@acme.fr", "new-hash", None)
        .await
        .unwrap();
    assert!(
        s.session("three").await.unwrap().is_none(),
        "a new password ends the sessions"
    );
    let (_, hash) = s.person_by_email("admin@acme.fr").await.unwrap().unwrap();
    assert_eq!(hash, "new-hash");
    for missing in [
        s.set_person_password("nobody@acme.fr", "x", None)
            .await
            .unwrap_err(),
        s.set_person_disabled("nobody@acme.fr", true, None)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                missing,
                StoreError::NotFound {
                    entity: "account",
                    ..
                }
            ),
            "{missing}"
        );
    }
}

/// An account besides the admin, that may manage accounts and keys when
/// `manages`.
async fn another_account(
    s: &SharedStore,
    email: &str,
    manages: bool,
) -> relais_core::people::Person {
    relais_testkit::people::account(s, email, false, manages).await
}

/// Whether `err` is the refusal to leave nobody who may manage accounts.
fn leaves_no_manager(err: &StoreError) -> bool {
    matches!(err, StoreError::Conflict { field: "can_manage_keys", message } if message.contains("no enabled account that may manage accounts"))
}

/// Rights are set and read back; no change — disabling or taking the right
/// away — leaves the base without an enabled account that may manage
/// accounts and keys, and a refused change changes nothing; two changes
/// made at once cannot together leave nobody.
async fn some_account_may_always_manage_accounts(db: TestDb) {
    let s = &db.store;
    let (_, admin) = base_and_admin(s).await;
    let alone = [
        s.set_person_disabled("admin@acme.fr", true, None)
            .await
            .unwrap_err(),
        s.set_person_rights("ADMIN@acme.fr", true, false, None)
            .await
            .unwrap_err(),
    ];
    for err in &alone {
        assert!(leaves_no_manager(err), "{err}");
    }
    assert_eq!(
        s.list_people().await.unwrap(),
        vec![admin.clone()],
        "nothing changed"
    );

    let kinds = |changes: Vec<relais_core::people::AccountChange>| {
        changes
            .into_iter()
            .map(|c| (c.kind, c.can_admin_apps, c.can_manage_keys, c.by))
            .collect::<Vec<_>>()
    };
    use relais_core::people::AccountChangeKind::*;
    assert_eq!(
        kinds(s.list_account_changes(admin.id, 10).await.unwrap()),
        vec![(Created, true, true, None)],
        "a refused change is not in the history"
    );
    let clerk = another_account(s, "clerk@acme.fr", false).await;
    let rights = s
        .set_person_rights("Clerk@acme.fr", true, false, None)
        .await
        .unwrap();
    assert!(rights.can_admin_apps && !rights.can_manage_keys);
    assert_eq!(rights.id, clerk.id);
    let promoted = s
        .set_person_rights("clerk@acme.fr", false, true, Some(admin.id))
        .await
        .unwrap();
    s.set_person_password("clerk@acme.fr", "hash", Some(clerk.id))
        .await
        .unwrap();
    assert_eq!(
        kinds(s.list_account_changes(clerk.id, 10).await.unwrap()),
        vec![
            (Password, false, true, Some(clerk.id)),
            (Rights, false, true, Some(admin.id)),
            (Rights, true, false, None),
            (Created, false, false, None),
        ],
        "newest first, each with the rights after it and who made it"
    );
    assert_eq!(s.list_account_changes(clerk.id, 2).await.unwrap().len(), 2);
    assert!(!promoted.can_admin_apps && promoted.can_manage_keys);
    s.set_person_disabled("admin@acme.fr", true, None)
        .await
        .unwrap();
    let err = s
        .set_person_rights("clerk@acme.fr", true, false, None)
        .await
        .unwrap_err();
    assert!(leaves_no_manager(&err), "{err}");
    // Someone who may not manage accounts changes as they please.
    another_account(s, "intern@acme.fr", false).await;
    s.set_person_disabled("intern@acme.fr", true, None)
        .await
        .unwrap();
    s.set_person_rights("intern@acme.fr", true, false, None)
        .await
        .unwrap();
    s.set_person_disabled("admin@acme.fr", false, None)
        .await
        .unwrap();
    let err = s
        .set_person_rights("nobody@acme.fr", true, true, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: "account",
                ..
            }
        ),
        "{err}"
    );

    // Two accounts disabled at once, each leaving the other: one is
    // disabled, the other refused (PostgreSQL writes them side by side).
    for round in 0..10 {
        let (a, b) = (format!("a{round}@acme.fr"), format!("b{round}@acme.fr"));
        another_account(s, &a, true).await;
        another_account(s, &b, true).await;
        // Everyone else who may manage accounts is disabled first.
        for p in s.list_people().await.unwrap() {
            let email = p.email.as_str();
            if p.can_manage_keys && p.disabled_at.is_none() && email != a && email != b {
                s.set_person_disabled(email, true, None).await.unwrap();
            }
        }
        let (x, y) = tokio::join!(
            s.set_person_disabled(&a, true, None),
            s.set_person_disabled(&b, true, None)
        );
        assert!(x.is_ok() != y.is_ok(), "round {round}: {x:?} / {y:?}");
        let managers = s
            .list_people()
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.can_manage_keys && p.disabled_at.is_none())
            .count();
        assert_eq!(managers, 1, "round {round}");
    }
}

/// Sign-in attempts are listed newest first, all or one account's (its
/// e-mail in any case); each account's last successful sign-in is known,
/// and an account that never signed in has none.
async fn sign_ins_are_listed_by_account(db: TestDb) {
    let s = &db.store;
    let (_, admin) = base_and_admin(s).await;
    let clerk = another_account(s, "clerk@acme.fr", false).await;
    another_account(s, "never@acme.fr", false).await;
    let t = now();
    let attempts = [
        ("admin@acme.fr", relais_store::SignInOutcome::Succeeded, 1),
        ("clerk@acme.fr", relais_store::SignInOutcome::Failed, 2),
        ("admin@acme.fr", relais_store::SignInOutcome::Succeeded, 3),
        ("clerk@acme.fr", relais_store::SignInOutcome::Succeeded, 4),
        ("admin@acme.fr", relais_store::SignInOutcome::Failed, 5),
    ];
    for (email, outcome, minutes) in attempts {
        s.record_sign_in(&relais_store::SignInAttempt {
            email: email.into(),
            address: "127.0.0.1".into(),
            outcome,
            at: t + chrono::Duration::minutes(minutes),
        })
        .await
        .unwrap();
    }
    let all = s.list_sign_ins(None, 10).await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0].at > w[1].at), "newest first");
    let admins = s.list_sign_ins(Some("ADMIN@acme.fr"), 10).await.unwrap();
    assert_eq!(admins.len(), 3);
    assert!(admins.iter().all(|a| a.email == "admin@acme.fr"));
    assert_eq!(
        s.list_sign_ins(Some("admin@acme.fr"), 2)
            .await
            .unwrap()
            .len(),
        2
    );
    let last = s.last_sign_ins().await.unwrap();
    assert_eq!(last.len(), 2, "{last:?}");
    assert_eq!(
        last[admin.email.as_str()],
        t + chrono::Duration::minutes(3),
        "a failure after it does not count"
    );
    assert_eq!(last[clerk.email.as_str()], t + chrono::Duration::minutes(4));
}

/// An account's name and e-mail change together or apart; its sign-ins
/// follow it to the new address; an e-mail another account has, in any
/// case, is refused and changes nothing; a change that changes nothing is
/// not written; each change is in the history and the journal with what the
/// account was called before.
async fn an_account_is_renamed_and_signs_in_with_its_new_address(db: TestDb) {
    use relais_core::activity::{Action, ActivityQuery, Actor, TargetKind};
    use relais_core::employee::Email;
    use relais_core::org::Name;
    use relais_core::people::AccountChangeKind;
    let s = &db.store;
    let (_, admin) = base_and_admin(s).await;
    let clerk = another_account(s, "clerk@acme.fr", false).await;
    s.record_sign_in(&relais_store::SignInAttempt {
        email: "clerk@acme.fr".into(),
        address: "127.0.0.1".into(),
        outcome: relais_store::SignInOutcome::Succeeded,
        at: now(),
    })
    .await
    .unwrap();
    let name = |n: &str| Name::parse("name", n).unwrap();
    let email = |e: &str| Email::parse(e).unwrap();

    // Taken by another account, in another case: refused, nothing changed.
    let err = s
        .set_person_identity(
            "clerk@acme.fr",
            &name("Claire Dupont"),
            &email("ADMIN@acme.fr"),
            Some(admin.id),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { field: "email", .. }),
        "{err:?}"
    );
    let unknown = s
        .set_person_identity("nobody@acme.fr", &name("X"), &email("x@acme.fr"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, StoreError::NotFound { .. }),
        "{unknown:?}"
    );
    let (still, _) = s.person_by_email("clerk@acme.fr").await.unwrap().unwrap();
    assert_eq!(still.name, clerk.name);

    // Name and e-mail at once, found by the old address in any case.
    let renamed = s
        .set_person_identity(
            "CLERK@acme.fr",
            &name("Claire Dupont"),
            &email("claire.dupont@acme.fr"),
            Some(admin.id),
        )
        .await
        .unwrap();
    assert_eq!(renamed.id, clerk.id);
    assert_eq!(renamed.name.as_str(), "Claire Dupont");
    assert_eq!(renamed.email.as_str(), "claire.dupont@acme.fr");
    assert!(s.person_by_email("clerk@acme.fr").await.unwrap().is_none());
    let (found, _) = s
        .person_by_email("Claire.Dupont@acme.fr")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, clerk.id);
    let last = s.last_sign_ins().await.unwrap();
    assert!(last.contains_key("claire.dupont@acme.fr"), "{last:?}");
    assert!(!last.contains_key("clerk@acme.fr"), "{last:?}");
    assert_eq!(
        s.list_sign_ins(Some("claire.dupont@acme.fr"), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // The same again changes nothing and writes nothing; the name alone
    // (from the command line) is one more change.
    s.set_person_identity(
        "claire.dupont@acme.fr",
        &name("Claire Dupont"),
        &email("claire.dupont@acme.fr"),
        Some(admin.id),
    )
    .await
    .unwrap();
    s.set_person_identity(
        "claire.dupont@acme.fr",
        &name("Claire Martin"),
        &email("claire.dupont@acme.fr"),
        None,
    )
    .await
    .unwrap();

    let changes = s.list_account_changes(clerk.id, 10).await.unwrap();
    let seen: Vec<_> = changes
        .iter()
        .map(|c| (c.kind, c.by, c.previously.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                AccountChangeKind::Identity,
                None,
                Some("Claire Dupont <claire.dupont@acme.fr>")
            ),
            (
                AccountChangeKind::Identity,
                Some(admin.id),
                Some("Admin <clerk@acme.fr>")
            ),
            (AccountChangeKind::Created, None, None),
        ]
    );
    let journal = s
        .list_activity(&ActivityQuery {
            target: Some((TargetKind::Account, clerk.id.0)),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let seen: Vec<_> = journal
        .iter()
        .map(|a| (a.action, a.by, a.subject.as_str(), a.detail.as_deref()))
        .collect();
    assert_eq!(
        seen[..2],
        [
            (
                Action::AccountIdentity,
                Actor::CommandLine,
                "Claire Martin <claire.dupont@acme.fr>",
                Some("Claire Dupont <claire.dupont@acme.fr>")
            ),
            (
                Action::AccountIdentity,
                Actor::Person(admin.id),
                "Claire Dupont <claire.dupont@acme.fr>",
                Some("Admin <clerk@acme.fr>")
            ),
        ]
    );
}

/// The audit trail's requests older than the cut are deleted, by chunks
/// (here more than one), those after it kept; expired sessions go, live
/// ones stay; a second pass finds nothing.
async fn old_requests_and_expired_sessions_are_pruned(db: TestDb) {
    use relais_core::access::{AuditEntry, KeyUsage};
    let s = &db.store;
    let org = org(s, "trail").await;
    let key = s
        .create_api_key(
            &new_key(org.base, "trail", "Paie", KeyUsage::Internal, &["all"]),
            CLI,
        )
        .await
        .unwrap();
    let t = now();
    let entry = |path: String, days: i64| AuditEntry {
        base_id: org.base,
        key_id: key.id,
        method: "GET".into(),
        path,
        status: 200,
        employee_records: 0,
        records: 1,
        at: t - chrono::Duration::days(days),
    };
    let old = relais_store::events::PRUNE_CHUNK as usize + 50;
    let mut batch: Vec<AuditEntry> = (0..old)
        .map(|i| entry(format!("/api/v3/users?paging={i},1"), 400))
        .collect();
    batch.push(entry("/api/v3/departments".into(), 10));
    batch.push(entry("/api/v3/legalentities".into(), 0));
    s.record_requests(&batch).await.unwrap();
    let person = another_account(s, "clerk@acme.fr", false).await;
    s.create_session("gone", person.id, "c1", t - chrono::Duration::minutes(1))
        .await
        .unwrap();
    s.create_session("live", person.id, "c2", t + chrono::Duration::hours(8))
        .await
        .unwrap();

    let cut = t - chrono::Duration::days(365);
    assert_eq!(s.prune_requests(cut).await.unwrap(), (old as u64, 1));
    let kept: Vec<String> = s
        .list_requests(key.id, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(kept, ["/api/v3/legalentities", "/api/v3/departments"]);
    assert!(s.session("live").await.unwrap().is_some());
    assert!(s.session("gone").await.unwrap().is_none());
    assert_eq!(s.prune_requests(cut).await.unwrap(), (0, 0), "nothing left");
}

/// The journal's entries and the accounts' changes made before the cut are
/// deleted, by chunks (here more than one), those after it kept; a second
/// pass finds nothing.
async fn old_journal_entries_and_account_changes_are_pruned(db: TestDb) {
    use relais_core::activity::{ActivityQuery, TargetKind};
    let s = &db.store;
    let (_, admin) = base_and_admin(s).await;
    let clerk = another_account(s, "clerk@acme.fr", false).await;
    // Each change of rights writes an entry of the journal and a change of
    // the account's history.
    let chunk = relais_store::events::PRUNE_CHUNK;
    for i in 0..chunk + 10 {
        s.set_person_rights("clerk@acme.fr", i % 2 == 0, false, Some(admin.id))
            .await
            .unwrap();
    }
    let journal = |limit| ActivityQuery {
        target: Some((TargetKind::Account, clerk.id.0)),
        limit,
        ..Default::default()
    };
    let before = s.list_activity(&journal(10_000)).await.unwrap().len() as u64;
    let changes = s
        .list_account_changes(clerk.id, 10_000)
        .await
        .unwrap()
        .len() as u64;
    assert!(
        before > chunk && changes > chunk,
        "{before} entries, {changes} changes"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let cut = now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.set_person_disabled("clerk@acme.fr", true, Some(admin.id))
        .await
        .unwrap();

    // The admin's own creation went too: it was made before the cut.
    let (entries, account_changes) = s.prune_journal(cut).await.unwrap();
    assert!(entries >= before, "{entries} of {before}");
    assert!(account_changes >= changes, "{account_changes} of {changes}");
    let kept = s.list_activity(&journal(10)).await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].at >= cut);
    let kept = s.list_account_changes(clerk.id, 10).await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].at >= cut);
    assert_eq!(s.prune_journal(cut).await.unwrap(), (0, 0), "nothing left");
}

/// Runs finished before the cut go with their reports' lines, by chunks
/// (here more than one); the integration's last finished run stays
/// whatever its age, and so do runs waiting or under way; a second pass
/// finds nothing.
async fn old_runs_go_with_their_lines_but_each_integration_keeps_its_last(db: TestDb) {
    use relais_core::integration::*;
    use relais_store::RunFinish;
    let s = &db.store;
    let (base, admin) = base_and_admin(s).await;
    let inst = happypal_installed(s, base.id, admin.id).await;
    let i = Integration::new(inst.id, base.id, &StoredOnly, "sealed".into(), now());
    s.put_integration(&i).await.unwrap();
    let line = |n: usize| ReportLine {
        stream: "employees".into(),
        key: n.to_string(),
        label: format!("Person {n}"),
        outcome: Outcome::Created,
        fields: vec![],
        employee: None,
        detail: None,
    };
    let lines: Vec<ReportLine> = (0..3).map(line).collect();
    let mut finished = Vec::new();
    for _ in 0..25 {
        let run = s
            .queue_run(&RunAsk::new(inst.id, Trigger::Schedule))
            .await
            .unwrap();
        s.start_run(run.id, "p", false).await.unwrap();
        let done = RunFinish {
            status: RunStatus::Succeeded,
            full: false,
            counts: Default::default(),
            partner_requests: 3,
            error: None,
            lines: &lines,
        };
        s.finish_run(run.id, &done).await.unwrap();
        finished.push(run.id);
    }
    let waiting = s
        .queue_run(&RunAsk::new(inst.id, Trigger::Cli))
        .await
        .unwrap();

    // Nothing finished before an instant long past.
    let past = now() - chrono::Duration::days(400);
    assert_eq!(s.prune_runs(past).await.unwrap(), (0, 0));
    let later = now() + chrono::Duration::days(1);
    assert_eq!(s.prune_runs(later).await.unwrap(), (24, 72));
    let left: Vec<_> = s
        .list_runs(inst.id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, [waiting.id, *finished.last().unwrap()]);
    assert_eq!(
        s.run_lines(*finished.last().unwrap(), 0, 10)
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(s.run_lines(finished[0], 0, 10).await.unwrap().is_empty());
    assert_eq!(s.prune_runs(later).await.unwrap(), (0, 0), "nothing left");
}

/// Every change to keys, installed apps and their settings, webhook
/// endpoints, test bases and accounts writes its journal entry with it,
/// naming who made it; a change refused, or that changes nothing, writes
/// none; the journal reads newest first, by record, by person and by pages.
async fn the_activity_journal_tells_who_did_what(db: TestDb) {
    use relais_core::access::KeyUsage;
    use relais_core::activity::{Action, ActivityQuery, Actor, TargetKind};
    use relais_core::integration::Integration;
    use relais_core::webhooks::EndpointStatus;
    use relais_store::NewInstallation;
    let s = &db.store;
    let (base, admin) = base_and_admin(s).await;
    let me = Actor::Person(admin.id);
    let new_key = |prefix: &str, name: &str| {
        new_key(
            base.id,
            prefix,
            name,
            KeyUsage::Internal,
            &["personnel-file:fields=firstName"],
        )
    };
    let paie = s
        .create_api_key(&new_key("paie1", "Paie"), me)
        .await
        .unwrap();
    s.rotate_api_key(paie.id, "h2", now(), Actor::Key(paie.id))
        .await
        .unwrap();
    s.revoke_api_key(paie.id, Actor::CommandLine).await.unwrap();
    // Revoked already: nothing changes, nothing is written; a revoked key
    // is not rotated, and the refusal writes nothing either.
    s.revoke_api_key(paie.id, me).await.unwrap();
    s.rotate_api_key(paie.id, "h3", now(), me)
        .await
        .unwrap_err();

    let contact = Email::parse("it@happypal.fr").unwrap();
    let (app_key, installation) = s
        .install(&NewInstallation {
            key: &new_key("happy1", "HappyPal"),
            app: "happypal",
            contact: &contact,
            by: admin.id,
            integration: Some(Integration::new(
                InstallationId(0),
                base.id,
                &StoredOnly,
                "sealed".into(),
                now(),
            )),
        })
        .await
        .unwrap();
    let integration = s.get_integration(installation.id).await.unwrap();
    s.change_integration(&integration, Action::SettingsChanged, me)
        .await
        .unwrap();
    // A run asked for by someone is written; asked again while it waits, or
    // asked by the runtime, nothing is.
    use relais_core::integration::{RunAsk, Trigger};
    let ask = RunAsk::new(installation.id, Trigger::Page)
        .full(true)
        .actor(me);
    assert!(s.ask_run(&ask).await.unwrap().1, "queued");
    assert!(!s.ask_run(&ask).await.unwrap().1, "the waiting run answers");
    s.ask_run(&RunAsk::new(installation.id, Trigger::Change))
        .await
        .unwrap();
    let endpoint = s
        .create_endpoint(
            &new_endpoint(base.id, app_key.id, "récepteur"),
            Actor::Key(app_key.id),
        )
        .await
        .unwrap();
    s.set_endpoint_secrets(endpoint.id, "sealed2", None, me)
        .await
        .unwrap();
    s.set_endpoint_cursor(endpoint.id, 0, Actor::Key(app_key.id))
        .await
        .unwrap();
    // A change of status is written, the same status again is not.
    for (status, reason, by) in [
        (
            EndpointStatus::Suspended,
            Some("answered 410"),
            Actor::Relais,
        ),
        (
            EndpointStatus::Suspended,
            Some("answered 410"),
            Actor::Relais,
        ),
        (EndpointStatus::Active, None, me),
    ] {
        s.set_endpoint_status(endpoint.id, status, reason, by)
            .await
            .unwrap();
    }
    s.delete_endpoint(endpoint.id, me).await.unwrap();
    assert!(
        s.delete_endpoint(endpoint.id, me).await.is_err(),
        "gone already"
    );
    s.uninstall(base.id, installation.id, me).await.unwrap();
    let test = s
        .create_base(&BaseName::parse("recette").unwrap(), BaseKind::Test)
        .await
        .unwrap();
    s.copy_base(base.id, test.id, me).await.unwrap();
    s.set_person_rights("admin@acme.fr", true, true, Some(admin.id))
        .await
        .unwrap();

    let all = s
        .list_activity(&ActivityQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let seen: Vec<(Action, Actor, &str, Option<&str>)> = all
        .iter()
        .map(|a| (a.action, a.by, a.subject.as_str(), a.detail.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Action::AccountRights, me, all[0].subject.as_str(), None),
            (Action::BaseRefreshed, me, "recette", Some("production")),
            (Action::AppUninstalled, me, "HappyPal", None),
            (
                Action::WebhookDeleted,
                me,
                "récepteur",
                Some("https://hooks.acme.test/in")
            ),
            (Action::WebhookStatus, me, "récepteur", Some("active")),
            (
                Action::WebhookStatus,
                Actor::Relais,
                "récepteur",
                Some("suspended: answered 410")
            ),
            (
                Action::WebhookReplayed,
                Actor::Key(app_key.id),
                "récepteur",
                Some("0")
            ),
            (
                Action::WebhookRotated,
                me,
                "récepteur",
                Some("https://hooks.acme.test/in")
            ),
            (
                Action::WebhookCreated,
                Actor::Key(app_key.id),
                "récepteur",
                Some("https://hooks.acme.test/in")
            ),
            (Action::RunAsked, me, "HappyPal", Some("full")),
            (Action::SettingsChanged, me, "HappyPal", None),
            (Action::AppInstalled, me, "HappyPal", None),
            (Action::KeyRevoked, Actor::CommandLine, "Paie", None),
            (Action::KeyRotated, Actor::Key(paie.id), "Paie", None),
            (Action::KeyCreated, me, "Paie", None),
            (
                Action::AccountCreated,
                Actor::CommandLine,
                all[15].subject.as_str(),
                None
            ),
        ],
        "newest first, refusals and no-ops left out"
    );
    assert!(
        all[0].subject.contains("admin@acme.fr"),
        "{}",
        all[0].subject
    );
    assert_eq!(all[0].base, None, "accounts are the server's");
    assert_eq!(all[1].base, Some((test.id, "recette".to_owned())));
    assert_eq!(all[2].base, Some((base.id, "production".to_owned())));
    assert_eq!(all[2].target, installation.id.0);
    assert_eq!(all[2].by_name.as_deref(), Some(admin.name.as_str()));
    assert_eq!(
        all[8].by_name.as_deref(),
        Some("HappyPal"),
        "the key's name"
    );
    assert_eq!(all[12].by_name, None);
    assert!(all
        .windows(2)
        .all(|w| w[0].id > w[1].id && w[0].at >= w[1].at));

    let of_key = s
        .list_activity(&ActivityQuery {
            target: Some((TargetKind::Key, paie.id.0)),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        of_key.iter().map(|a| a.action).collect::<Vec<_>>(),
        vec![Action::KeyRevoked, Action::KeyRotated, Action::KeyCreated],
        "a record's entries only, whatever other record shares its number"
    );
    let by_admin = s
        .list_activity(&ActivityQuery {
            by_person: Some(admin.id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_admin.len(), 10);
    assert!(by_admin.iter().all(|a| a.by == me));
    let of_apps = s
        .list_activity(&ActivityQuery {
            kinds: vec![TargetKind::Installation, TargetKind::Base],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        of_apps.iter().map(|a| a.action).collect::<Vec<_>>(),
        vec![
            Action::BaseRefreshed,
            Action::AppUninstalled,
            Action::RunAsked,
            Action::SettingsChanged,
            Action::AppInstalled
        ],
        "the entries about installed apps and bases only"
    );
    // By pages of five: the pages hold every entry once, in order.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = s
            .list_activity(&ActivityQuery {
                before,
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        paged.extend(page.iter().map(|a| a.id));
    }
    assert_eq!(paged, all.iter().map(|a| a.id).collect::<Vec<_>>());
}

/// An account made, or given a password, by someone else from the pages
/// must choose its own; choosing it, or a password set at the command line,
/// clears the mark.
async fn a_password_set_by_someone_else_is_to_be_replaced(db: TestDb) {
    let s = &db.store;
    let (_, admin) = base_and_admin(s).await;
    assert!(!admin.must_choose_password, "made at the command line");
    let nina = s
        .create_person(
            &relais_store::NewPerson {
                email: Email::parse("nina@acme.fr").unwrap(),
                name: Name::parse("name", "Nina").unwrap(),
                password_hash: "given".into(),
                can_admin_apps: false,
                can_manage_keys: false,
            },
            Some(admin.id),
        )
        .await
        .unwrap();
    assert!(nina.must_choose_password, "made from the pages");
    let marked = |email: &'static str| async move {
        s.person_by_email(email)
            .await
            .unwrap()
            .unwrap()
            .0
            .must_choose_password
    };
    for (by, expected) in [
        (Some(nina.id), false),
        (Some(admin.id), true),
        (None, false),
        (Some(admin.id), true),
        (Some(nina.id), false),
    ] {
        let changed = s
            .set_person_password("NINA@acme.fr", "h", by)
            .await
            .unwrap();
        assert_eq!(changed.must_choose_password, expected, "set by {by:?}");
        assert_eq!(marked("nina@acme.fr").await, expected, "as stored");
    }
    assert!(
        !marked("admin@acme.fr").await,
        "another account is untouched"
    );
}

/// A key holds at most so many webhook endpoints: the next one is refused,
/// and writes nothing; another key is not held back by it.
async fn a_key_holds_at_most_so_many_endpoints(db: TestDb) {
    use relais_core::access::KeyUsage;
    use relais_core::activity::Actor;
    use relais_core::webhooks::MAX_ENDPOINTS_PER_KEY;
    let s = &db.store;
    let (base, _) = base_and_admin(s).await;
    let key = |prefix: &'static str| {
        let new = new_key(base.id, prefix, prefix, KeyUsage::Internal, &["all"]);
        async move { s.create_api_key(&new, Actor::CommandLine).await.unwrap() }
    };
    let (many, other) = (key("many").await, key("other").await);
    let endpoint = |key: KeyId, n: i64| new_endpoint(base.id, key, &format!("récepteur {n}"));
    for n in 0..MAX_ENDPOINTS_PER_KEY {
        s.create_endpoint(&endpoint(many.id, n), Actor::Key(many.id))
            .await
            .unwrap();
    }
    let refused = s
        .create_endpoint(&endpoint(many.id, 100), Actor::Key(many.id))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, StoreError::Conflict { message, .. } if message.contains("the most a key may have")),
        "{refused}"
    );
    assert_eq!(
        s.endpoints_of_key(many.id).await.unwrap().len() as i64,
        MAX_ENDPOINTS_PER_KEY,
        "nothing written"
    );
    s.create_endpoint(&endpoint(other.id, 0), Actor::Key(other.id))
        .await
        .unwrap();
}
