//! The clock started at a chosen instant, in a process of its own (it is
//! started once per process).

use chrono::{DateTime, SubsecRound, Utc};
use relais_core::clock::{now, start_at, started_at};

#[test]
fn a_started_clock_runs_from_its_start_and_never_jumps() {
    let start = DateTime::parse_from_rfc3339("2026-06-10T08:00:00.1234567Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(started_at(), None);
    let wall = now();
    assert!((wall - Utc::now()).num_seconds().abs() < 5, "{wall}");
    start_at(start).unwrap();
    let first = now();
    assert!(first >= start.trunc_subsecs(6), "{first}");
    assert!(first - start < chrono::Duration::seconds(5), "{first}");
    assert_eq!(first, first.trunc_subsecs(6));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let later = now();
    assert!(
        later - first >= chrono::Duration::milliseconds(20),
        "{later}"
    );
    // The same start again changes nothing; another one is refused.
    start_at(start).unwrap();
    let other = start + chrono::Duration::days(1);
    let refused = start_at(other).unwrap_err();
    assert_eq!(refused.asked, other);
    assert_eq!(refused.first, start.trunc_subsecs(6));
    assert_eq!(started_at(), Some(start.trunc_subsecs(6)));
    assert!(now() - start < chrono::Duration::seconds(5));
    assert_eq!(
        relais_core::org::TimeZone::PARIS.today(),
        chrono::NaiveDate::from_ymd_opt(2026, 6, 10).unwrap()
    );
}
