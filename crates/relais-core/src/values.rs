//! What a field of a stream or of a mapping holds, for a report or a
//! preview to show it as people read it: text, one of the base's records
//! by its name, a code by its words, or a fingerprint never shown.

/// What a stream's field holds, for a report to show it as people read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue {
    /// Text or a number, shown as it is (a date or a time as a date).
    Text,
    /// The identifier of one of the base's records, shown by its name.
    Refers(Refers),
    /// A code among these, each shown by its words.
    Words(&'static [ValueWords]),
    /// A fingerprint of the settings a record was sent with, kept in the
    /// ledger and never sent: a record's first is not shown, and a change
    /// reads as « ancienne → nouvelle », never as the fingerprint itself.
    Fingerprint,
}

/// A code a field may hold and its words in each language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueWords {
    /// The code as the field holds it (`morning`).
    pub code: &'static str,
    /// Its words in French.
    pub fr: &'static str,
    /// Its words in English.
    pub en: &'static str,
}

/// What kind of the base's records a field's identifier points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refers {
    /// A department, by its identifier in the base.
    Department,
    /// An employee, by their identifier in the base.
    Employee,
}

impl FieldValue {
    /// The words for `code` in `lang` (`fr`, else English), when the field
    /// holds codes with words and `code` is one of them.
    pub fn words(self, code: &str, lang: &str) -> Option<&'static str> {
        let FieldValue::Words(all) = self else {
            return None;
        };
        let w = all.iter().find(|w| w.code == code)?;
        Some(if lang == "fr" { w.fr } else { w.en })
    }
}
