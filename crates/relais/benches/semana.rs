//! Semana benchmark: `cargo bench -p relais --bench semana [-- EMPLOYEES...]`.
//!
//! For each base size (2,000 and 10,000 employees by default): seeds a fresh
//! SQLite base (twelve months of absences around today), starts a Semana
//! simulator whose workspace already holds every employee as a user with
//! two telework days a week (Tuesday and Thursday, on days they are not
//! away) over the whole window — six weeks back to six weeks ahead —,
//! installs Semana, then with the `relais` binary (`relais sync run`, one
//! process per run, reading and writing the base through its own local API):
//! 1. the initial run: users linked, the window's absences out as "off"
//!    days, every telework day in as a leave period;
//! 2. after 1 % changed on each side (1 % of the employees renamed in the
//!    base, 1 % of the telework days moved in Semana), the incremental run.
//!
//! Prints per run: records looked at, records written, records per second,
//! requests sent to Semana, time, and the peak memory of the process that
//! ran it (VmHWM); then the incremental run's cost against the initial one.

mod common;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use common::{print, sync_run, SyncBench};
use relais_core::calendar::HolidayCalendar;
use relais_core::employee::ContractStatus;
use relais_core::org::{Name, TimeZone};
use relais_sandbox::semana::Holdings;

const KEY: &str = "bench-semana-key";

/// The Tuesdays and Thursdays of the six weeks around `today`, but holidays.
fn telework_days(today: NaiveDate) -> Vec<NaiveDate> {
    (0..=84)
        .map(|n| today - Days::new(42) + Days::new(n))
        .filter(|d| matches!(d.weekday(), Weekday::Tue | Weekday::Thu))
        .filter(|d| !HolidayCalendar::FranceAlsaceMoselle.is_holiday(*d))
        .collect()
}

async fn bench(employees: u32) {
    let world = SyncBench::seeded(employees).await;
    let (store, base) = (&world.store, &world.base);
    let today = TimeZone::PARIS.today();
    let days = telework_days(today);
    let people = store
        .list_employees(base.id, None, employees)
        .await
        .unwrap();
    let mut held = Holdings::default();
    let mut booked = 0;
    for e in people
        .iter()
        .filter(|e| e.data.contract.status_on(today) != ContractStatus::Former)
    {
        let user = held.add_user(
            e.data.mail.as_str(),
            e.data.first_name.as_str(),
            e.data.last_name.as_str(),
        );
        let periods = store.list_leave_periods(base.id, e.id).await.unwrap();
        for day in &days {
            let away = periods.iter().any(|p| {
                p.status.occupies_calendar() && p.span.start.date <= *day && p.span.end.date >= *day
            });
            let hired =
                e.data.contract.start <= *day && e.data.contract.end.is_none_or(|end| *day <= end);
            if !away && hired {
                held.add_booking(user, *day, "day", "remote");
                booked += 1;
            }
        }
    }
    let sim = relais_sandbox::semana::start_with("127.0.0.1:0".parse().unwrap(), KEY, held)
        .await
        .unwrap();
    let id = world
        .install(
            "semana",
            sim.url(),
            &[("api_key", KEY)],
            &[("requests_per_hour", "1000000")],
        )
        .await;

    println!("{employees} employees, {booked} telework days booked in Semana:");
    let initial = sync_run(world.dir.path(), store, id).await;
    print("semana initial", &initial);

    // 1 % changed on each side: employees renamed in the base, telework
    // days moved in Semana (one removed, another booked).
    let author = relais_core::audit::Author {
        name: "bench".into(),
        source: "api".into(),
    };
    let changed = (employees / 100).max(1) as usize;
    for e in people.iter().step_by(people.len() / changed).take(changed) {
        let mut data = e.data.clone();
        data.last_name = Name::parse("lastName", &format!("{}-Changé", data.last_name)).unwrap();
        store
            .update_employee(
                &store.get_employee(base.id, e.id).await.unwrap(),
                &data,
                &author,
            )
            .await
            .unwrap();
    }
    let http = reqwest::Client::new();
    let state: Holdings = http
        .get(format!("{}/_sim/state", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contracts: std::collections::HashMap<String, &relais_core::employee::Contract> = people
        .iter()
        .map(|e| (e.data.mail.as_str().to_owned(), &e.data.contract))
        .collect();
    let emails: std::collections::HashMap<u64, &String> =
        state.users.iter().map(|u| (u.id, &u.email)).collect();
    // Moved to the Wednesday after: a working day of the person's contract.
    let movable = |b: &&relais_sandbox::semana::Booking| {
        let day = NaiveDate::parse_from_str(&b.date, "%Y-%m-%d").unwrap() + Days::new(1);
        b.kind == "remote"
            && day.weekday() == Weekday::Wed
            && !HolidayCalendar::FranceAlsaceMoselle.is_holiday(day)
            && emails
                .get(&b.collaborator_id)
                .and_then(|m| contracts.get(*m))
                .is_some_and(|c| c.end.is_none_or(|end| day <= end))
    };
    let remote: Vec<_> = state.bookings.iter().filter(movable).collect();
    let moved = (remote.len() / 100).max(1);
    for b in remote.iter().step_by(remote.len() / moved).take(moved) {
        http.delete(format!("{}/_sim/bookings/{}", sim.url(), b.id))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        // The Wednesday after: a morning at home instead.
        let day = NaiveDate::parse_from_str(&b.date, "%Y-%m-%d").unwrap() + Days::new(1);
        http.post(format!("{}/_sim/book", sim.url()))
            .json(&serde_json::json!({ "email": emails[&b.collaborator_id], "date": day.to_string(), "period": "morning", "type": "remote" }))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
    let next = sync_run(world.dir.path(), store, id).await;
    print("semana after 1 % changed", &next);
    println!(
        "  {:<24} {:.1} % of the initial time, {:.1} % of its requests, {} conflicts",
        "",
        100.0 * next.wall.as_secs_f64() / initial.wall.as_secs_f64(),
        100.0 * next.run.partner_requests as f64 / initial.run.partner_requests.max(1) as f64,
        next.run.counts.skipped
    );
}

fn main() {
    common::each_size(common::sizes(&[2_000, 10_000]), bench);
}
