//! Words said in English and in French, kept together: what relais stores
//! when a reason is written once and read later by people of either
//! language (a run report's line, for one).

use serde::{Deserialize, Serialize};

/// The same words in English and in French; stored as a JSON object
/// (`{"en": …, "fr": …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    /// In English: the API's and the command line's words.
    pub en: String,
    /// In French: the admin pages' words.
    pub fr: String,
}

impl Said {
    /// `en` and `fr`.
    pub fn new(en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            fr: fr.into(),
        }
    }

    /// The words in `lang` (`fr`, else English).
    pub fn text(&self, lang: &str) -> &str {
        if lang == "fr" {
            &self.fr
        } else {
            &self.en
        }
    }

    /// As it is stored.
    pub fn stored(&self) -> String {
        serde_json::to_string(self).expect("words serialise")
    }

    /// Stored words in `lang`, or the stored text as it is (written in one
    /// language by an older relais).
    pub fn read(stored: &str, lang: &str) -> String {
        serde_json::from_str::<Self>(stored)
            .map_or_else(|_| stored.to_owned(), |s| s.text(lang).to_owned())
    }
}

/// `fr` for a French reader when there are French words, else `en`: how
/// a refusal that may carry French words beside its English ones is read.
pub fn pick<'a>(en: &'a str, fr: Option<&'a str>, lang: &str) -> &'a str {
    match (fr, lang) {
        (Some(fr), "fr") => fr,
        _ => en,
    }
}

/// A day as people of `lang` write it: « 06/12/2026 » in French, « 6 Dec
/// 2026 » in English (the month named, so that no reader takes the day
/// for the month).
pub fn day(d: chrono::NaiveDate, lang: &str) -> String {
    if lang == "fr" {
        d.format("%d/%m/%Y").to_string()
    } else {
        d.format("%-d %b %Y").to_string()
    }
}

/// A day and its time of day as people of `lang` write them, to the minute
/// or, with `seconds`, to the second: « 06/12/2026 13:27 », « 6 Dec 2026,
/// 13:27 ».
pub fn moment(t: chrono::NaiveDateTime, seconds: bool, lang: &str) -> String {
    let clock = if seconds { "%H:%M:%S" } else { "%H:%M" };
    let joint = if lang == "fr" { " " } else { ", " };
    format!("{}{joint}{}", day(t.date(), lang), t.format(clock))
}

/// A duration as people of `lang` say it: a tenth of a second under ten
/// seconds (« 0,4 s », « 0.4 s »: a quick run is not « 0 s »), then « 12 s »,
/// « 2 min 05 s », « 1 h 05 min ». A negative duration reads as none.
pub fn duration(d: chrono::Duration, lang: &str) -> String {
    let ms = d.num_milliseconds().max(0);
    let seconds = ms / 1000;
    match seconds {
        0..=9 => {
            let text = format!("{:.1} s", ms as f64 / 1000.0);
            if lang == "fr" {
                text.replace('.', ",")
            } else {
                text
            }
        }
        10..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min {:02} s", seconds / 60, seconds % 60),
        _ => format!("{} h {:02} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_each_language() {
        let ms = chrono::Duration::milliseconds;
        assert_eq!(duration(ms(420), "fr"), "0,4 s");
        assert_eq!(duration(ms(420), "en"), "0.4 s");
        assert_eq!(duration(ms(0), "fr"), "0,0 s");
        assert_eq!(duration(ms(-5), "en"), "0.0 s");
        assert_eq!(duration(ms(9_960), "en"), "10.0 s");
        assert_eq!(duration(ms(12_300), "fr"), "12 s");
        assert_eq!(duration(ms(125_000), "fr"), "2 min 05 s");
        assert_eq!(duration(ms(3_900_000), "en"), "1 h 05 min");
    }

    #[test]
    fn days_and_moments_name_the_month_in_english() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(day(d, "fr"), "06/12/2026");
        assert_eq!(day(d, "en"), "6 Dec 2026");
        let t = d.and_hms_opt(9, 5, 7).unwrap();
        assert_eq!(moment(t, false, "fr"), "06/12/2026 09:05");
        assert_eq!(moment(t, true, "fr"), "06/12/2026 09:05:07");
        assert_eq!(moment(t, false, "en"), "6 Dec 2026, 09:05");
        assert_eq!(moment(t, true, "en"), "6 Dec 2026, 09:05:07");
    }

    #[test]
    fn words_are_stored_together_and_read_in_either_language() {
        let said = Said::new(
            "the person is not in Semana",
            "la personne n'est pas dans Semana",
        );
        let stored = said.stored();
        assert_eq!(
            Said::read(&stored, "fr"),
            "la personne n'est pas dans Semana"
        );
        assert_eq!(Said::read(&stored, "en"), "the person is not in Semana");
        assert_eq!(said.to_string(), said.en);
        // What an older relais stored in one language reads as it is.
        assert_eq!(
            Said::read("the partner answered 422: x", "fr"),
            "the partner answered 422: x"
        );
        assert_eq!(Said::read("{\"en\":1}", "fr"), "{\"en\":1}");
    }
}
