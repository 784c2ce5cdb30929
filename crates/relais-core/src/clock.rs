//! The time relais reads. Every instant and every "today" in relais comes
//! from [`now`]: the wall clock, or — for tests and rehearsals — a clock
//! started at a chosen instant ([`start_at`]) that then runs at the wall
//! clock's pace, so that a run's dates do not depend on the day it is made
//! or on midnight falling during it.

use chrono::{DateTime, SubsecRound, Utc};
use std::sync::OnceLock;
use std::time::Instant;

/// The chosen start, and when the process chose it.
static STARTED: OnceLock<(DateTime<Utc>, Instant)> = OnceLock::new();

/// The current time, to the microsecond: the precision both databases keep,
/// so a record reads back exactly as it was written.
pub fn now() -> DateTime<Utc> {
    let at = match STARTED.get() {
        Some((start, since)) => {
            *start + chrono::Duration::from_std(since.elapsed()).unwrap_or_default()
        }
        None => Utc::now(),
    };
    at.trunc_subsecs(6)
}

/// A second [`start_at`] asked for another start than the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the clock was already started at {first}; it cannot start again at {asked}")]
pub struct AlreadyStarted {
    /// The start in force.
    pub first: DateTime<Utc>,
    /// The start refused.
    pub asked: DateTime<Utc>,
}

/// Makes [`now`] read `start` from this moment on, then run on at the
/// wall clock's pace, for the rest of the process. Asking again for the
/// same start changes nothing; asking for another is refused (the clock
/// never jumps during a run).
pub fn start_at(start: DateTime<Utc>) -> Result<(), AlreadyStarted> {
    let (first, _) = STARTED.get_or_init(|| (start.trunc_subsecs(6), Instant::now()));
    if *first == start.trunc_subsecs(6) {
        Ok(())
    } else {
        Err(AlreadyStarted {
            first: *first,
            asked: start,
        })
    }
}

/// The instant the clock was started at, if it was ([`start_at`]).
pub fn started_at() -> Option<DateTime<Utc>> {
    STARTED.get().map(|(start, _)| *start)
}
