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
            DomainError::said(
                "schedule",
                format!("'{raw}' is not a cron pattern (minute hour day month weekday): {e}"),
                format!("« {raw} » n'est pas une règle cron valable : cinq parties, minute heure jour mois jour-de-semaine, par exemple « 30 21 * * * » pour chaque jour à 21 h 30"),
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
                return Err(DomainError::said(
                    "schedule",
                    format!(
                        "'{}' runs at {:02}:{:02}; {partner} takes runs at night only, from {hour:02}:{minute:02} to 06:00",
                        self.text,
                        local.hour(),
                        local.minute()
                    ),
                    format!(
                        "cette planification s'exécute à {:02} h {:02} ; {partner} n'accepte d'exécutions que la nuit, de {hour:02} h {minute:02} à 6 h",
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
            Some(gap) if gap < min => Err(DomainError::said(
                "schedule",
                format!(
                    "'{}' runs every {} min at times; {partner} allows a run every {} h at most",
                    self.text,
                    gap.num_minutes(),
                    min.num_hours()
                ),
                format!(
                    "cette planification s'exécute parfois toutes les {} min ; {partner} accepte au plus une exécution toutes les {} h",
                    gap.num_minutes(),
                    min.num_hours()
                ),
            )),
            _ => Ok(()),
        }
    }
}

impl Schedule {
    /// The next `n` runs after `after`, in the time zone `tz`.
    pub fn next_runs(&self, after: DateTime<Utc>, tz: TimeZone, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = after;
        while out.len() < n {
            let Some(next) = self.next_after(at, tz) else {
                break;
            };
            out.push(next);
            at = next;
        }
        out
    }
}

/// A schedule as people choose it: a frequency and a time, cron being the
/// advanced choice. Each reads as a sentence and becomes a cron pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frequency {
    /// Every day at `hour:minute`.
    Daily {
        /// Hour (0–23).
        hour: u32,
        /// Minute (0–59).
        minute: u32,
    },
    /// Monday to Friday at `hour:minute`.
    Weekdays {
        /// Hour (0–23).
        hour: u32,
        /// Minute (0–59).
        minute: u32,
    },
    /// Once a week, on `weekday` (0 Sunday … 6 Saturday), at `hour:minute`.
    Weekly {
        /// Day of the week, 0 (Sunday) to 6 (Saturday).
        weekday: u32,
        /// Hour (0–23).
        hour: u32,
        /// Minute (0–59).
        minute: u32,
    },
    /// Every `hours` hours, on the hour (`hours` divides 24).
    EveryHours {
        /// Hours between runs: 1, 2, 3, 4, 6, 8 or 12.
        hours: u32,
    },
    /// A cron pattern.
    Cron(String),
}

/// The intervals "every N hours" offers: those that divide the day evenly.
pub const HOUR_STEPS: [u32; 7] = [1, 2, 3, 4, 6, 8, 12];

/// Week days as people read them, Sunday first (cron's numbering).
const WEEKDAYS: [(&str, &str); 7] = [
    ("dimanche", "Sunday"),
    ("lundi", "Monday"),
    ("mardi", "Tuesday"),
    ("mercredi", "Wednesday"),
    ("jeudi", "Thursday"),
    ("vendredi", "Friday"),
    ("samedi", "Saturday"),
];

/// Day `weekday` (0 Sunday … 6 Saturday) in `lang` (`fr` or `en`).
pub fn weekday_name(weekday: u32, lang: &str) -> &'static str {
    let (fr, en) = WEEKDAYS[(weekday % 7) as usize];
    if lang == "en" {
        en
    } else {
        fr
    }
}

impl Frequency {
    /// What `schedule` reads as: one of the frequencies when its pattern is
    /// one, else the pattern itself.
    pub fn of(schedule: &Schedule) -> Frequency {
        let parts: Vec<&str> = schedule.as_str().split_whitespace().collect();
        let num = |s: &str, max: u32| s.parse::<u32>().ok().filter(|n| *n <= max);
        if let [m, h, "*", "*", day] = parts.as_slice() {
            if let (Some(minute), Some(hour)) = (num(m, 59), num(h, 23)) {
                match *day {
                    "*" => return Frequency::Daily { hour, minute },
                    "1-5" => return Frequency::Weekdays { hour, minute },
                    d => {
                        if let Some(weekday) = num(d, 6) {
                            return Frequency::Weekly {
                                weekday,
                                hour,
                                minute,
                            };
                        }
                    }
                }
            }
            if *m == "0" && *day == "*" {
                if let Some(hours) = h.strip_prefix("*/").and_then(|n| num(n, 12)) {
                    if HOUR_STEPS.contains(&hours) {
                        return Frequency::EveryHours { hours };
                    }
                }
                if *h == "*" {
                    return Frequency::EveryHours { hours: 1 };
                }
            }
        }
        Frequency::Cron(schedule.as_str().to_owned())
    }

    /// The cron pattern it runs on.
    pub fn cron(&self) -> String {
        match self {
            Frequency::Daily { hour, minute } => format!("{minute} {hour} * * *"),
            Frequency::Weekdays { hour, minute } => format!("{minute} {hour} * * 1-5"),
            Frequency::Weekly {
                weekday,
                hour,
                minute,
            } => format!("{minute} {hour} * * {weekday}"),
            Frequency::EveryHours { hours: 1 } => "0 * * * *".to_owned(),
            Frequency::EveryHours { hours } => format!("0 */{hours} * * *"),
            Frequency::Cron(text) => text.trim().to_owned(),
        }
    }

    /// The schedule, or what is wrong with it.
    pub fn schedule(&self) -> Result<Schedule> {
        if let Frequency::EveryHours { hours } = self {
            if !HOUR_STEPS.contains(hours) {
                return Err(DomainError::said(
                    "schedule",
                    format!("every {hours} hours does not divide the day: choose 1, 2, 3, 4, 6, 8 or 12"),
                    format!("toutes les {hours} heures ne divise pas la journée : choisissez 1, 2, 3, 4, 6, 8 ou 12"),
                ));
            }
        }
        Schedule::parse(&self.cron())
    }

    /// The frequency in a sentence, in `lang` (`fr` or `en`), e.g. « chaque
    /// nuit à 02:30 » or "every 4 hours".
    pub fn sentence(&self, lang: &str) -> String {
        let en = lang == "en";
        let at = |hour: &u32, minute: &u32| format!("{hour:02}:{minute:02}");
        match self {
            Frequency::Daily { hour, minute } if *hour < 6 || *hour >= 21 => {
                if en {
                    format!("every night at {}", at(hour, minute))
                } else {
                    format!("chaque nuit à {}", at(hour, minute))
                }
            }
            Frequency::Daily { hour, minute } => {
                if en {
                    format!("every day at {}", at(hour, minute))
                } else {
                    format!("chaque jour à {}", at(hour, minute))
                }
            }
            Frequency::Weekdays { hour, minute } => {
                if en {
                    format!("Monday to Friday at {}", at(hour, minute))
                } else {
                    format!("du lundi au vendredi à {}", at(hour, minute))
                }
            }
            Frequency::Weekly {
                weekday,
                hour,
                minute,
            } => {
                if en {
                    format!(
                        "every {} at {}",
                        weekday_name(*weekday, lang),
                        at(hour, minute)
                    )
                } else {
                    format!(
                        "chaque {} à {}",
                        weekday_name(*weekday, lang),
                        at(hour, minute)
                    )
                }
            }
            Frequency::EveryHours { hours: 1 } => {
                if en {
                    "every hour, on the hour".to_owned()
                } else {
                    "toutes les heures, à l'heure pile".to_owned()
                }
            }
            Frequency::EveryHours { hours } => {
                if en {
                    format!("every {hours} hours, on the hour")
                } else {
                    format!("toutes les {hours} heures, à l'heure pile")
                }
            }
            Frequency::Cron(text) => {
                if en {
                    format!("by the cron rule « {} »", text.trim())
                } else {
                    format!("selon la règle cron « {} »", text.trim())
                }
            }
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

    #[test]
    fn frequencies_read_as_sentences_and_come_back_from_their_pattern() {
        let cases = [
            (
                Frequency::Daily {
                    hour: 2,
                    minute: 30,
                },
                "30 2 * * *",
                "chaque nuit à 02:30",
            ),
            (
                Frequency::Daily { hour: 9, minute: 0 },
                "0 9 * * *",
                "chaque jour à 09:00",
            ),
            (
                Frequency::Weekdays {
                    hour: 7,
                    minute: 15,
                },
                "15 7 * * 1-5",
                "du lundi au vendredi à 07:15",
            ),
            (
                Frequency::Weekly {
                    weekday: 1,
                    hour: 6,
                    minute: 0,
                },
                "0 6 * * 1",
                "chaque lundi à 06:00",
            ),
            (
                Frequency::EveryHours { hours: 4 },
                "0 */4 * * *",
                "toutes les 4 heures, à l'heure pile",
            ),
            (
                Frequency::EveryHours { hours: 1 },
                "0 * * * *",
                "toutes les heures, à l'heure pile",
            ),
            (
                Frequency::Cron("5 4 1 * *".into()),
                "5 4 1 * *",
                "selon la règle cron « 5 4 1 * * »",
            ),
        ];
        for (frequency, cron, sentence) in cases {
            assert_eq!(frequency.cron(), cron);
            assert_eq!(frequency.sentence("fr"), sentence);
            let schedule = frequency.schedule().unwrap();
            assert_eq!(Frequency::of(&schedule), frequency, "{cron}");
        }
        assert_eq!(
            Frequency::EveryHours { hours: 4 }.sentence("en"),
            "every 4 hours, on the hour"
        );
        assert!(Frequency::EveryHours { hours: 5 }.schedule().is_err());
        assert!(Frequency::Daily {
            hour: 25,
            minute: 0
        }
        .schedule()
        .is_err());
    }

    #[test]
    fn the_next_runs_follow_the_schedule() {
        let every_6h = Frequency::EveryHours { hours: 6 }.schedule().unwrap();
        let from = Utc.with_ymd_and_hms(2026, 3, 1, 12, 30, 0).unwrap();
        let runs = every_6h.next_runs(from, TimeZone::PARIS, 5);
        assert_eq!(runs.len(), 5);
        // 13:30 in Paris: next 18:00, 00:00, 06:00, 12:00, 18:00 local.
        assert_eq!(runs[0], Utc.with_ymd_and_hms(2026, 3, 1, 17, 0, 0).unwrap());
        assert!(runs.windows(2).all(|w| w[1] - w[0] == Duration::hours(6)));
    }
}
