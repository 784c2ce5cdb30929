//! Values written into answers the way the API spells them, without the
//! detours of their general formatting: dates as `2026-07-18`, instants as
//! `2026-07-18T13:50:59Z` (whole seconds, UTC), a person's name as
//! `first last`. Lists of thousands of records write these on every record;
//! chrono's `Display` writes a date character by character through the
//! formatter, and building a `String` first costs an allocation each.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::{Serialize, Serializer};

/// `n` (0–9999) as four digits at `out[at..at + 4]`, or two (0–99) when
/// `width` is 2.
fn digits(out: &mut [u8], at: usize, n: u32, width: usize) {
    let mut n = n;
    for i in (0..width).rev() {
        out[at + i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `YYYY-MM-DD` into the start of `out`, or `None` for a year outside
/// 0–9999 (which chrono writes with a sign).
fn date_into(out: &mut [u8], date: NaiveDate) -> Option<()> {
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    digits(out, 0, year, 4);
    out[4] = b'-';
    digits(out, 5, date.month(), 2);
    out[7] = b'-';
    digits(out, 8, date.day(), 2);
    Some(())
}

/// A date as the API writes it: `2026-07-18`.
#[derive(Debug, Clone, Copy)]
pub struct Date(pub NaiveDate);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = [0u8; 10];
        match date_into(&mut out, self.0) {
            // Digits and dashes only: valid UTF-8.
            Some(()) => s.serialize_str(std::str::from_utf8(&out).unwrap_or_default()),
            None => s.collect_str(&self.0),
        }
    }
}

/// An optional date as the API writes it: the date, or `null`.
pub fn date(date: Option<NaiveDate>) -> Option<Date> {
    date.map(Date)
}

/// An instant as the API writes it: whole seconds, UTC, `2026-07-18T13:50:59Z`.
#[derive(Debug, Clone, Copy)]
pub struct Instant(pub DateTime<Utc>);

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = [0u8; 20];
        let t = self.0.time();
        match date_into(&mut out, self.0.date_naive()) {
            Some(()) => {
                out[10] = b'T';
                digits(&mut out, 11, t.hour(), 2);
                out[13] = b':';
                digits(&mut out, 14, t.minute(), 2);
                out[16] = b':';
                // A leap second reads as the 60th second, as chrono writes it.
                digits(&mut out, 17, t.second() + t.nanosecond() / 1_000_000_000, 2);
                out[19] = b'Z';
                s.serialize_str(std::str::from_utf8(&out).unwrap_or_default())
            }
            None => s.serialize_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }
}

/// A person's name as the API writes it: first name, a space, last name.
#[derive(Debug, Clone, Copy)]
pub struct FullName<'a>(pub &'a str, pub &'a str);

impl Serialize for FullName<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = [0u8; 128];
        let (first, last) = (self.0.as_bytes(), self.1.as_bytes());
        let len = first.len() + 1 + last.len();
        if len > out.len() {
            return s.collect_str(&format_args!("{} {}", self.0, self.1));
        }
        out[..first.len()].copy_from_slice(first);
        out[first.len()] = b' ';
        out[first.len() + 1..len].copy_from_slice(last);
        // Two strings and a space: valid UTF-8.
        s.serialize_str(std::str::from_utf8(&out[..len]).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn json<T: Serialize>(v: T) -> String {
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn written_as_chrono_writes_them() {
        for (y, m, d) in [
            (2026, 7, 18),
            (1, 1, 1),
            (0, 12, 31),
            (9999, 12, 31),
            (1900, 2, 28),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(json(Date(date)), json(date), "{date}");
            let at = Utc.with_ymd_and_hms(y, m, d, 23, 5, 9).unwrap();
            assert_eq!(
                json(Instant(at)),
                json(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            );
        }
        // Outside four-digit years, chrono's own spelling.
        for y in [-1, 10_000, 262_000] {
            let date = NaiveDate::from_ymd_opt(y, 3, 4).unwrap();
            assert_eq!(json(Date(date)), json(date));
            let at = date.and_hms_opt(1, 2, 3).unwrap().and_utc();
            assert_eq!(
                json(Instant(at)),
                json(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            );
        }
        // Fractions of a second are left out, not rounded.
        let at = Utc.with_ymd_and_hms(2026, 7, 18, 13, 50, 59).unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(json(Instant(at)), r#""2026-07-18T13:50:59Z""#);
        assert_eq!(json(date(None)), "null");
    }

    #[test]
    fn names_are_escaped_whatever_their_length() {
        assert_eq!(json(FullName("Zoé", "L'Hôte")), r#""Zoé L'Hôte""#);
        assert_eq!(json(FullName("A\"b", "c\\d")), r#""A\"b c\\d""#);
        let long = "x".repeat(200);
        assert_eq!(json(FullName(&long, "y")), format!("\"{long} y\""));
    }
}
