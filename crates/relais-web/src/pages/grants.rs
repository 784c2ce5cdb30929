//! A grant in words, as the admin pages show it: its permission's label in
//! the reader's language, what its options limit it to (fields by their
//! labels, absence accounts and establishments by their names), and its
//! code beside it for whoever sets keys up by hand.

use super::layout::{grant_label, OrPage, PageError};
use crate::session::{Lang, Viewer};
use maud::{html, Markup};
use relais_api::AppState;
use relais_core::access::{Grant, GrantCode};
use relais_core::fields::Resource;

/// The names a key's grants refer to by identifier or code: the base's
/// absence accounts, establishments, sections of the personnel file and
/// custom fields.
#[derive(Default)]
pub(crate) struct GrantNames {
    accounts: std::collections::HashMap<i64, String>,
    establishments: std::collections::HashMap<i64, String>,
    sections: std::collections::HashMap<String, String>,
    fields: std::collections::HashMap<String, String>,
}

impl GrantNames {
    /// The names of `v`'s base.
    pub(crate) async fn load(state: &AppState, v: &Viewer) -> Result<Self, PageError> {
        let (store, base) = (&state.store, v.base.id);
        // Four short reads, at once rather than one after the other.
        let (accounts, establishments, sections, fields) = tokio::try_join!(
            store.list_absence_accounts(base),
            store.list_establishments(base),
            store.list_sections(base),
            store.list_section_fields(base),
        )
        .or_page(v)?;
        Ok(Self {
            sections: sections
                .into_iter()
                .map(|s| (s.code, s.name.to_string()))
                .collect(),
            fields: fields
                .into_iter()
                .map(|f| (f.code.as_str().to_owned(), f.name.to_string()))
                .collect(),
            accounts: accounts
                .into_iter()
                .map(|a| (a.id.0, a.name.to_string()))
                .collect(),
            establishments: establishments
                .into_iter()
                .map(|e| (e.id.0, e.name.to_string()))
                .collect(),
        })
    }

    /// The name of `id` in `names`, or the identifier where it has none
    /// (a record deleted since the key was made).
    fn of(names: &std::collections::HashMap<i64, String>, id: i64) -> String {
        names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
    }

    /// What a grant's options limit it to, in words: the fields, sections,
    /// absence accounts or categories it names; none for a grant without.
    fn scope_of(&self, grant: &Grant, lang: Lang) -> Option<String> {
        let words: Vec<String> = match grant {
            Grant::PersonnelFile { sections, fields } if sections.is_some() || fields.is_some() => {
                let sections = sections.iter().map(|s| {
                    let named: Vec<&str> = s
                        .iter()
                        .map(|code| {
                            self.sections
                                .get(code)
                                .map_or(code.as_str(), String::as_str)
                        })
                        .collect();
                    let word = if named.len() == 1 {
                        "section"
                    } else {
                        "sections"
                    };
                    format!("{} {}", lang.t(word), named.join(", "))
                });
                // A standard field by its label, a custom one by its name.
                let fields = fields.iter().flatten().map(|name| {
                    Resource::Users.field(name).map_or_else(
                        || self.fields.get(name).unwrap_or(name).clone(),
                        |f| f.as_named().label(lang.code()).to_owned(),
                    )
                });
                // A reference and its record (`departmentId`, `department`)
                // are one field to whoever reads the list.
                let mut words: Vec<String> = Vec::new();
                for w in sections.chain(fields) {
                    if !words.contains(&w) {
                        words.push(w);
                    }
                }
                words
            }
            Grant::AbsenceRequests {
                accounts: Some(a), ..
            } => a.iter().map(|id| Self::of(&self.accounts, id.0)).collect(),
            Grant::AbsenceRequests {
                categories: Some(c),
                ..
            } => c
                .iter()
                .map(|c| c.label_in(lang.code()).to_owned())
                .collect(),
            _ => return None,
        };
        Some(words.join(", "))
    }
}

/// The grant `code` in words: its label, what its options limit it to,
/// named from `names`, then the code itself; a code that does not parse is
/// shown as it is.
pub(crate) fn in_words(code: &str, names: &GrantNames, lang: Lang) -> Markup {
    let scope = match GrantCode::parse(code) {
        Ok(GrantCode::Grant(g)) => names.scope_of(&g, lang),
        Ok(GrantCode::Establishments(ids)) => Some(
            ids.iter()
                .map(|id| GrantNames::of(&names.establishments, id.0))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Err(_) => None,
    };
    html! {
        (grant_label(code, lang))
        @if let Some(scope) = scope { span.grant-scope { (lang.t(" : ")) (scope) } }
        " " small.muted { code { (code) } }
    }
}
