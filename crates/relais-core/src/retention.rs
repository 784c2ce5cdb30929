//! How long relais keeps what it records: its runtime deletes what is older,
//! and the admin pages say how long each record is kept.

use std::time::Duration;

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The change feed's events, and the webhook deliveries made before.
    pub events: Duration,
    /// The API's audit trail: each request a key made.
    pub audit: Duration,
    /// The journal's entries and the accounts' changes.
    pub journal: Duration,
    /// Finished runs and their reports (each integration keeps its last).
    pub runs: Duration,
}

impl Default for Retention {
    /// 60 days of events; a year of everything else.
    fn default() -> Self {
        Self {
            events: days(60),
            audit: days(365),
            journal: days(365),
            runs: days(365),
        }
    }
}

/// `n` days.
pub const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

/// Whole days in `kept`, for people to read (a part of a day is one day).
pub fn in_days(kept: Duration) -> u64 {
    kept.as_secs().div_ceil(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_back_whole() {
        assert_eq!(in_days(days(365)), 365);
        assert_eq!(in_days(Duration::from_secs(1)), 1);
        assert_eq!(in_days(Retention::default().events), 60);
    }
}
