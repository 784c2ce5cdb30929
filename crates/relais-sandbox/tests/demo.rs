//! The demo company, generated into a real SQLite base.

use chrono::NaiveDate;
use relais_core::absence::LeaveStatus;
use relais_core::base::{BaseKind, BaseName};
use relais_core::employee::{ContractStatus, Employee};
use relais_core::expense::ExpenseWarning;
use relais_sandbox::demo::{seed, DemoOptions, SeedError};
use relais_store::{DatabaseUrl, SharedStore};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

const TODAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 6, 15) {
    Some(d) => d,
    None => panic!(),
};

async fn store(dir: &tempfile::TempDir, file: &str) -> SharedStore {
    relais_store::open(&DatabaseUrl::Sqlite(dir.path().join(file)))
        .await
        .unwrap()
}

async fn all_employees(store: &SharedStore, base: relais_core::ids::BaseId) -> Vec<Employee> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_employees(base, after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        out.extend(page);
    }
    out
}

#[tokio::test]
async fn the_demo_company_is_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "a.db").await;
    let base = s
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    let seen = AtomicU64::new(0);
    let options = DemoOptions {
        employees: 1_500,
        seed: 7,
        today: TODAY,
    };
    let counts = seed(s.as_ref(), &base, &options, &|n| {
        seen.store(n, Ordering::SeqCst)
    })
    .await
    .unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1_500,
        "progress reaches the total"
    );
    assert_eq!(counts.employees(), 1_500);
    assert_eq!(counts.legal_units, 2);
    assert!(counts.establishments >= 3);
    assert!(
        (13..=20).contains(&counts.departments),
        "{}",
        counts.departments
    );
    assert!(
        counts.future_employees > 0
            && counts.former_employees > 0
            && counts.active_employees > 1_000,
        "{counts:?}"
    );
    assert!(counts.leave_periods > 5 * 1_500, "{counts:?}");
    assert!(
        counts.expense_claims > 100 && counts.expense_items > counts.expense_claims,
        "{counts:?}"
    );

    let cities: HashSet<_> = s
        .list_establishments(base.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.address.city)
        .collect();
    assert!(cities.len() >= 3, "{cities:?}");
    let departments = s.list_departments(base.id).await.unwrap();
    assert!(
        departments.iter().filter(|d| d.parent_id.is_none()).count() == 1,
        "one root"
    );
    assert!(
        departments.iter().all(|d| d.head_id.is_some()),
        "every department has a head"
    );
    let accounts: Vec<String> = s
        .list_absence_accounts(base.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name.to_string())
        .collect();
    for wanted in ["Congés payés", "RTT", "Maladie", "Télétravail"] {
        assert!(
            accounts.iter().any(|a| a == wanted),
            "{wanted} in {accounts:?}"
        );
    }

    let employees = all_employees(&s, base.id).await;
    let mails: HashSet<_> = employees.iter().map(|e| e.data.mail.key()).collect();
    assert_eq!(mails.len(), employees.len(), "e-mails are unique");
    let with_manager = employees
        .iter()
        .filter(|e| e.data.manager_id.is_some())
        .count();
    assert!(
        with_manager >= employees.len() - 1,
        "everyone but the CEO has a manager"
    );
    let statuses: HashSet<_> = employees
        .iter()
        .map(|e| e.data.contract.status_on(TODAY))
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert!(employees
        .iter()
        .all(|e| e.data.birth_date.unwrap() < e.data.contract.start));

    let mut leave_statuses = HashSet::new();
    // Nothing generated is in the future, whatever the hour: every
    // instant is before today begins in Paris (a change made today must be
    // newer than anything the base held).
    let today_begins = TODAY
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(relais_core::org::TimeZone::PARIS.0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut window = (TODAY, TODAY);
    for e in employees.iter().take(300) {
        assert!(e.modified_at < today_begins, "employee {}", e.id);
        let periods = s.list_leave_periods(base.id, e.id).await.unwrap();
        let live: Vec<_> = periods
            .iter()
            .filter(|p| p.status.occupies_calendar())
            .collect();
        for (i, a) in live.iter().enumerate() {
            for b in &live[i + 1..] {
                assert!(!a.span.overlaps(&b.span), "overlap for employee {}", e.id);
            }
        }
        for p in &periods {
            assert!(
                p.created_at < today_begins && p.modified_at < today_begins,
                "leave period {} of {}: {} / {}",
                p.id,
                e.id,
                p.created_at,
                p.modified_at
            );
            leave_statuses.insert(p.status);
            assert!(p.half_days > 0);
            window.0 = window.0.min(p.span.start.date);
            window.1 = window.1.max(p.span.end.date);
            if let Some(end) = e.data.contract.end {
                assert!(p.span.end.date <= end, "absence after the contract end");
            }
        }
    }
    for st in [
        LeaveStatus::Approved,
        LeaveStatus::Pending,
        LeaveStatus::Cancelled,
    ] {
        assert!(leave_statuses.contains(&st), "{st} missing");
    }
    assert!(
        (window.1 - window.0).num_days() >= 360,
        "twelve months of absences: {window:?}"
    );

    let mut warnings = HashSet::new();
    for e in employees.iter().take(600) {
        for claim in s.list_expense_claims(base.id, e.id).await.unwrap() {
            assert!(claim.modified_at < today_begins, "claim {}", claim.id);
            for item in s.list_expense_items(base.id, claim.id).await.unwrap() {
                assert_eq!(item.owner_id, e.id);
                warnings.extend(item.warnings);
            }
        }
    }
    for w in [
        ExpenseWarning::OverCap,
        ExpenseWarning::MissingReceipt,
        ExpenseWarning::PossibleDuplicate,
    ] {
        assert!(warnings.contains(&w), "{w:?} never raised");
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_company() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        employees: 1_200,
        seed: 42,
        today: TODAY,
    };
    let mut runs = Vec::new();
    for file in ["a.db", "b.db"] {
        let s = store(&dir, file).await;
        let base = s
            .create_base(
                &BaseName::parse("production").unwrap(),
                BaseKind::Production,
            )
            .await
            .unwrap();
        let counts = seed(s.as_ref(), &base, &options, &|_| {}).await.unwrap();
        let employees = all_employees(&s, base.id).await;
        let leaves = s
            .list_leave_periods(base.id, employees[1_100].id)
            .await
            .unwrap();
        runs.push((counts, employees, leaves));
    }
    assert_eq!(runs[0], runs[1]);
    let s = store(&dir, "c.db").await;
    let base = s
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    seed(
        s.as_ref(),
        &base,
        &DemoOptions {
            seed: 43,
            ..options
        },
        &|_| {},
    )
    .await
    .unwrap();
    let other = all_employees(&s, base.id).await;
    assert_ne!(other, runs[0].1, "another seed gives another company");
    assert!(other
        .iter()
        .any(|e| e.data.contract.status_on(TODAY) == ContractStatus::Future));
}

#[tokio::test]
async fn a_base_with_data_is_not_seeded_twice() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "a.db").await;
    let base = s
        .create_base(
            &BaseName::parse("production").unwrap(),
            BaseKind::Production,
        )
        .await
        .unwrap();
    let options = DemoOptions {
        employees: 50,
        seed: 1,
        today: TODAY,
    };
    let before = seed(s.as_ref(), &base, &options, &|_| {}).await.unwrap();
    let err = seed(s.as_ref(), &base, &options, &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, SeedError::NotEmpty(_)));
    assert!(err.to_string().contains("--replace"));
    assert_eq!(
        s.base_counts(base.id, TODAY).await.unwrap(),
        before,
        "nothing changed"
    );
}
