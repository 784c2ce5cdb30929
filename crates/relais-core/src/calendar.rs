//! Working days, public holidays and half days.
//!
//! A leave period is counted in working half days of the employee's
//! establishment: a day is worked when its weekday is in the establishment's
//! working week and it is not a public holiday of its holiday calendar.

use crate::error::{DomainError, Result};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Morning or afternoon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HalfDay {
    /// The morning (`AM`).
    #[serde(rename = "AM")]
    Am,
    /// The afternoon (`PM`).
    #[serde(rename = "PM")]
    Pm,
}

impl HalfDay {
    /// `AM` or `PM`.
    pub fn as_str(self) -> &'static str {
        match self {
            HalfDay::Am => "AM",
            HalfDay::Pm => "PM",
        }
    }
}

impl fmt::Display for HalfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HalfDay {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "AM" => Ok(HalfDay::Am),
            "PM" => Ok(HalfDay::Pm),
            _ => Err(DomainError::new(
                "halfDay",
                format!("'{s}' is not a half day: use AM or PM"),
            )),
        }
    }
}

/// One half day on the calendar: a date and AM or PM.
///
/// Half days are ordered in time; [`HalfDaySlot::ordinal`] numbers them so that
/// consecutive half days differ by one, which makes overlap tests simple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HalfDaySlot {
    /// The day.
    pub date: NaiveDate,
    /// Morning or afternoon.
    pub half: HalfDay,
}

impl HalfDaySlot {
    /// Builds a half day.
    pub fn new(date: NaiveDate, half: HalfDay) -> Self {
        Self { date, half }
    }

    /// A number for this half day: twice the day number, plus one in the afternoon.
    pub fn ordinal(self) -> i64 {
        i64::from(self.date.num_days_from_ce()) * 2 + i64::from(self.half == HalfDay::Pm)
    }

    /// The half day with the given ordinal.
    pub fn from_ordinal(ordinal: i64) -> Self {
        let days = i32::try_from(ordinal.div_euclid(2)).unwrap_or(i32::MAX);
        let date = NaiveDate::from_num_days_from_ce_opt(days).unwrap_or(NaiveDate::MAX);
        let half = if ordinal.rem_euclid(2) == 0 {
            HalfDay::Am
        } else {
            HalfDay::Pm
        };
        Self { date, half }
    }

    /// The next half day.
    pub fn next(self) -> Self {
        Self::from_ordinal(self.ordinal() + 1)
    }
}

/// The weekdays an establishment works, e.g. Monday to Friday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkingWeek(u8);

impl WorkingWeek {
    /// Monday to Friday.
    pub const MONDAY_TO_FRIDAY: WorkingWeek = WorkingWeek(0b0001_1111);

    /// Whether `day` is worked.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// Parses a comma-separated list of English weekday abbreviations, e.g.
    /// `mon,tue,wed,thu,fri`.
    pub fn parse(raw: &str) -> Result<Self> {
        let mut bits = 0u8;
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let day: Weekday = part.parse().map_err(|_| {
                DomainError::new(
                    "workingDays",
                    format!("'{part}' is not a weekday: use mon, tue, wed, thu, fri, sat or sun"),
                )
            })?;
            bits |= 1 << day.num_days_from_monday();
        }
        if bits == 0 {
            return Err(DomainError::new(
                "workingDays",
                "a working week needs at least one working day",
            ));
        }
        Ok(Self(bits))
    }
}

impl fmt::Display for WorkingWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let days: Vec<&str> = (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| NAMES[i])
            .collect();
        f.write_str(&days.join(","))
    }
}

/// Which public holidays an establishment observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HolidayCalendar {
    /// The eleven French public holidays, Easter Monday, Ascension and Whit
    /// Monday included.
    #[serde(rename = "fr")]
    France,
    /// France plus Good Friday and St Stephen's Day (Alsace and Moselle).
    #[serde(rename = "fr-alsace-moselle")]
    FranceAlsaceMoselle,
    /// No public holidays.
    #[serde(rename = "none")]
    None,
}

impl HolidayCalendar {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            HolidayCalendar::France => "fr",
            HolidayCalendar::FranceAlsaceMoselle => "fr-alsace-moselle",
            HolidayCalendar::None => "none",
        }
    }

    /// Whether `date` is a public holiday in this calendar.
    pub fn is_holiday(self, date: NaiveDate) -> bool {
        match self {
            HolidayCalendar::None => false,
            HolidayCalendar::France => is_french_holiday(date),
            HolidayCalendar::FranceAlsaceMoselle => {
                is_french_holiday(date) || {
                    let easter = easter_sunday(date.year());
                    date == easter - Days::new(2) || (date.month() == 12 && date.day() == 26)
                }
            }
        }
    }
}

impl FromStr for HolidayCalendar {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fr" => Ok(HolidayCalendar::France),
            "fr-alsace-moselle" => Ok(HolidayCalendar::FranceAlsaceMoselle),
            "none" => Ok(HolidayCalendar::None),
            other => Err(DomainError::new(
                "holidays",
                format!("'{other}' is not a holiday calendar: use fr, fr-alsace-moselle or none"),
            )),
        }
    }
}

/// Easter Sunday of `year` in the Gregorian calendar (anonymous algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a valid date")
}

fn is_french_holiday(date: NaiveDate) -> bool {
    let fixed = matches!(
        (date.month(), date.day()),
        (1, 1) | (5, 1) | (5, 8) | (7, 14) | (8, 15) | (11, 1) | (11, 11) | (12, 25)
    );
    if fixed {
        return true;
    }
    let easter = easter_sunday(date.year());
    date == easter + Days::new(1)
        || date == easter + Days::new(39)
        || date == easter + Days::new(50)
}

/// The calendar of an establishment: its working week and its public holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkCalendar {
    /// The weekdays worked.
    pub week: WorkingWeek,
    /// The public holidays observed.
    pub holidays: HolidayCalendar,
}

impl Default for WorkCalendar {
    fn default() -> Self {
        Self {
            week: WorkingWeek::MONDAY_TO_FRIDAY,
            holidays: HolidayCalendar::France,
        }
    }
}

impl WorkCalendar {
    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.week.contains(date.weekday()) && !self.holidays.is_holiday(date)
    }

    /// The number of working half days from `start` to `end`, both included.
    /// Zero when `end` comes before `start`.
    pub fn working_half_days(&self, start: HalfDaySlot, end: HalfDaySlot) -> u32 {
        let mut count = 0;
        let mut slot = start;
        while slot <= end {
            if self.is_working_day(slot.date) {
                count += 1;
            }
            slot = slot.next();
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_dates_match_the_almanac() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
    }

    #[test]
    fn french_holidays_of_2026() {
        let fr = HolidayCalendar::France;
        for day in [
            d(2026, 1, 1),
            d(2026, 4, 6), // Easter Monday
            d(2026, 5, 1),
            d(2026, 5, 8),
            d(2026, 5, 14), // Ascension
            d(2026, 5, 25), // Whit Monday
            d(2026, 7, 14),
            d(2026, 8, 15),
            d(2026, 11, 1),
            d(2026, 11, 11),
            d(2026, 12, 25),
        ] {
            assert!(fr.is_holiday(day), "{day}");
        }
        assert!(
            !fr.is_holiday(d(2026, 4, 3)),
            "Good Friday is not a holiday in most of France"
        );
        assert!(!fr.is_holiday(d(2026, 12, 26)));
        let am = HolidayCalendar::FranceAlsaceMoselle;
        assert!(am.is_holiday(d(2026, 4, 3)));
        assert!(am.is_holiday(d(2026, 12, 26)));
        assert!(!HolidayCalendar::None.is_holiday(d(2026, 12, 25)));
    }

    #[test]
    fn half_day_ordinals_are_consecutive() {
        let am = HalfDaySlot::new(d(2026, 3, 2), HalfDay::Am);
        let pm = am.next();
        assert_eq!(pm, HalfDaySlot::new(d(2026, 3, 2), HalfDay::Pm));
        assert_eq!(pm.next(), HalfDaySlot::new(d(2026, 3, 3), HalfDay::Am));
        assert_eq!(HalfDaySlot::from_ordinal(pm.ordinal()), pm);
        assert_eq!(pm.ordinal() - am.ordinal(), 1);
    }

    #[test]
    fn working_half_days_skip_weekends_and_holidays() {
        let cal = WorkCalendar::default();
        // Friday 1 May 2026 is a holiday; the week of 4 May: Mon-Thu worked, Fri 8 May a holiday.
        let start = HalfDaySlot::new(d(2026, 4, 30), HalfDay::Pm);
        let end = HalfDaySlot::new(d(2026, 5, 8), HalfDay::Pm);
        // Thu 30 Apr PM (1) + Mon-Thu 4-7 May (8) = 9
        assert_eq!(cal.working_half_days(start, end), 9);
        let single = HalfDaySlot::new(d(2026, 3, 4), HalfDay::Am);
        assert_eq!(cal.working_half_days(single, single), 1);
        assert_eq!(cal.working_half_days(end, start), 0);
    }

    #[test]
    fn working_week_parses_and_prints() {
        let week = WorkingWeek::parse("mon, tue,wed,thu,fri").unwrap();
        assert_eq!(week, WorkingWeek::MONDAY_TO_FRIDAY);
        assert_eq!(week.to_string(), "mon,tue,wed,thu,fri");
        let six = WorkingWeek::parse("mon,tue,wed,thu,fri,sat").unwrap();
        assert!(six.contains(Weekday::Sat) && !six.contains(Weekday::Sun));
        assert!(WorkingWeek::parse("").is_err());
        assert!(WorkingWeek::parse("mon,funday")
            .unwrap_err()
            .message
            .contains("funday"));
    }
}
