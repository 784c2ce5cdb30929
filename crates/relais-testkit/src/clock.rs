//! The instant tests run at. Every test process starts relais's clock
//! ([`relais_core::clock`]) at [`START`], a Wednesday morning in Paris in
//! the middle of a month, and lets it run on from there: a test's "today" is
//! the same whatever day the tests run, and midnight never falls during a
//! run. The `relais` processes a test starts follow the same clock
//! ([`clock_start_setting`]).

use chrono::{DateTime, NaiveDate, Utc};
use relais_core::org::TimeZone;

/// When the tests' clock starts: Wednesday 10 June 2026, 10:00 in Paris.
pub const START: &str = "2026-06-10T08:00:00Z";

/// [`START`] as an instant.
pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(START)
        .expect("START is an RFC 3339 instant")
        .with_timezone(&Utc)
}

/// Starts this process's clock at [`START`] (once; later calls change nothing).
pub fn fix() {
    relais_core::clock::start_at(start())
        .expect("nothing else in a test process starts relais's clock");
}

/// The tests' current instant ([`fix`] first).
pub fn now() -> DateTime<Utc> {
    fix();
    relais_core::now()
}

/// The tests' today in Paris ([`fix`] first).
pub fn today() -> NaiveDate {
    fix();
    TimeZone::PARIS.today()
}

/// The environment setting that has a `relais` process started now run on
/// this process's clock: its name and value.
pub fn clock_start_setting() -> (&'static str, String) {
    ("RELAIS_CLOCK_START", now().to_rfc3339())
}
