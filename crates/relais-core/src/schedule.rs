//! Schedules of integrations: cron patterns evaluated in the base's time
//! zone, with the shortest interval a partner allows.

use crate::error::{DomainError, Result};
use crate::org::TimeZone;
use chrono::{DateTime, Duration, Utc};
use std::str::FromStr;

/// A cron pattern (`minute hour day-of-month month day-of-week`).
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    text: String,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Schedule {
    /// Parses a cron pattern, e.g. `30 21 * * *` (every day at 21:30).
    pub fn parse(raw: &str) -> Result<Self> {
        let text = raw.trim().to_owned();
        let cron = croner::Cron::from_str(&text).map_err(|e| {
            DomainError::new(
                "schedule",
                format!("'{raw}' is not a cron pattern (minute hour day month weekday): {e}"),
            )
        })?;
        Ok(Self { cron, text })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `after`, in the time zone `tz`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: TimeZone) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&tz.0);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The shortest gap between two runs over the coming two weeks.
    pub fn shortest_interval(&self, from: DateTime<Utc>, tz: TimeZone) -> Option<Duration> {
        let horizon = from + Duration::days(14);
        let mut previous = self.next_after(from, tz)?;
        let mut shortest: Option<Duration> = None;
        for _ in 0..2_000 {
            let Some(next) = self.next_after(previous, tz) else {
                break;
            };
            if next > horizon {
                break;
            }
            let gap = next - previous;
            shortest = Some(shortest.map_or(gap, |s| s.min(gap)));
            previous = next;
        }
        shortest
    }

    /// Refuses a schedule with a run outside the night: from `hour:minute`
    /// local time until 06:00 (the partner's nightly window).
    pub fn check_nightly(&self, hour: u32, minute: u32, tz: TimeZone, partner: &str) -> Result<()> {
        use chrono::Timelike;
        let from = hour * 60 + minute;
        let mut at = crate::now();
        for _ in 0..200 {
            let Some(next) = self.next_after(at, tz) else {
                break;
            };
            let local = next.with_timezone(&tz.0);
            let minutes = local.hour() * 60 + local.minute();
            if minutes < from && minutes >= 6 * 60 {
                return Err(DomainError::new(
                    "schedule",
                    format!(
                        "'{}' runs at {:02}:{:02}; {partner} takes runs at night only, from {hour:02}:{minute:02} to 06:00",
                        self.text,
                        local.hour(),
                        local.minute()
                    ),
                ));
            }
            at = next;
        }
        Ok(())
    }

    /// Refuses a schedule that runs more often than every `min`.
    pub fn check_at_most_every(&self, min: Duration, tz: TimeZone, partner: &str) -> Result<()> {
        match self.shortest_interval(crate::now(), tz) {
            Some(gap) if gap < min => Err(DomainError::new(
                "schedule",
                format!(
                    "'{}' runs every {} min at times; {partner} allows a run every {} h at most",
                    self.text,
                    gap.num_minutes(),
                    min.num_hours()
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn nightly_partners_refuse_daytime_runs() {
        let night = Schedule::parse("45 22 * * *").unwrap();
        assert!(night
            .check_nightly(21, 30, TimeZone::PARIS, "Semana")
            .is_ok());
        let early = Schedule::parse("0 2 * * *").unwrap();
        assert!(early
            .check_nightly(21, 30, TimeZone::PARIS, "Semana")
            .is_ok());
        let noon = Schedule::parse("0 12 * * 1").unwrap();
        let e = noon
            .check_nightly(21, 30, TimeZone::PARIS, "Semana")
            .unwrap_err();
        assert!(
            e.message
                .contains("runs at 12:00; Semana takes runs at night only, from 21:30"),
            "{e}"
        );
    }

    #[test]
    fn schedules_run_in_the_base_time_zone() {
        let nightly = Schedule::parse("30 21 * * *").unwrap();
        // 1 March 2026, 12:00 UTC = 13:00 in Paris (winter time).
        let noon = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let next = nightly.next_after(noon, TimeZone::PARIS).unwrap();
        assert_eq!(
            next,
            Utc.with_ymd_and_hms(2026, 3, 1, 20, 30, 0).unwrap(),
            "21:30 in Paris is 20:30 UTC in winter"
        );
        // In summer Paris is UTC+2.
        let summer = nightly
            .next_after(
                Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap(),
                TimeZone::PARIS,
            )
            .unwrap();
        assert_eq!(summer, Utc.with_ymd_and_hms(2026, 7, 1, 19, 30, 0).unwrap());
    }

    #[test]
    fn too_frequent_schedules_are_refused_with_the_reason() {
        let every_4h = Schedule::parse("0 */4 * * *").unwrap();
        assert!(every_4h
            .check_at_most_every(Duration::hours(4), TimeZone::PARIS, "HappyPal")
            .is_ok());
        let hourly = Schedule::parse("0 * * * *").unwrap();
        let err = hourly
            .check_at_most_every(Duration::hours(4), TimeZone::PARIS, "HappyPal")
            .unwrap_err();
        assert!(
            err.message.contains("every 60 min")
                && err.message.contains("HappyPal allows a run every 4 h"),
            "{}",
            err.message
        );
        let daily = Schedule::parse("0 6 * * *").unwrap();
        assert!(daily
            .check_at_most_every(Duration::hours(4), TimeZone::PARIS, "HappyPal")
            .is_ok());
        assert!(Schedule::parse("every day")
            .unwrap_err()
            .message
            .contains("not a cron pattern"));
        assert!(Schedule::parse("61 * * * *").is_err());
    }
}
