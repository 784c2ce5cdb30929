//! A customer's field mapping: which field of the HR base feeds each field
//! of a partner's record (Ledgy's stakeholder fields, for instance), as
//! Merge's field mappings do.
//!
//! A mapped field points either at a field of the unified employee model a
//! connector builds (`{"model": "first_name"}`) or at a path in the raw
//! record the base answered (`{"raw": ["extendedData", "e_sharesPlan"]}`),
//! so a mapping reaches any field the installation's key may read, custom
//! personnel-file fields included. [`FieldMapping::check`] refuses what
//! cannot work — a path the base does not have, a field the key may not
//! read (naming the grant to add), a target mapped twice, a missing
//! identifier — with every problem at once, each beside its field.

use crate::error::{DomainError, Result};
use serde::{Deserialize, Serialize};

/// Where a mapped value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourcePath {
    /// A field of the connector's unified model (`employee_number`).
    Model(String),
    /// A path in the raw record of the base (`["extendedData", "e_sharesPlan"]`).
    Raw(Vec<String>),
}

impl SourcePath {
    /// The path as one text, as forms carry it: `model:first_name`,
    /// `raw:extendedData.e_sharesPlan`.
    pub fn code(&self) -> String {
        match self {
            Self::Model(name) => format!("model:{name}"),
            Self::Raw(path) => format!("raw:{}", path.join(".")),
        }
    }

    /// Reads [`SourcePath::code`]'s text back.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = || {
            DomainError::said(
                "source",
                format!("'{text}' is not a source field (model:<field> or raw:<path>)"),
                format!("« {text} » n'est pas un champ de la base (model:<champ> ou raw:<chemin>)"),
            )
        };
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        let ok_part = |p: &str| {
            !p.is_empty()
                && p.len() <= 80
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        match kind {
            "model" if ok_part(rest) => Ok(Self::Model(rest.to_owned())),
            "raw" if rest.split('.').all(ok_part) => {
                Ok(Self::Raw(rest.split('.').map(str::to_owned).collect()))
            }
            _ => Err(bad()),
        }
    }

    /// Follows the path in `record` (a model or a raw record): the value
    /// there, `Null` when absent.
    pub fn pick<'a>(
        &self,
        model: &'a serde_json::Value,
        raw: &'a serde_json::Value,
    ) -> &'a serde_json::Value {
        static NULL: serde_json::Value = serde_json::Value::Null;
        match self {
            Self::Model(name) => model.get(name).unwrap_or(&NULL),
            Self::Raw(path) => path
                .iter()
                .try_fold(raw, |v, part| v.get(part))
                .unwrap_or(&NULL),
        }
    }
}

/// One field of the partner's record and where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedField {
    /// The partner's field (`firstName`, or a custom field's name).
    pub target: String,
    /// A custom field's label, as the partner shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Where its value comes from.
    pub source: SourcePath,
}

/// A field the partner's records have, declared by the connector.
#[derive(Debug, Clone, Copy)]
pub struct TargetSpec {
    /// Its name on the partner's side.
    pub name: &'static str,
    /// What it is, in French.
    pub label_fr: &'static str,
    /// What it is, in English.
    pub label_en: &'static str,
    /// Whether it identifies the record on the partner's side (exactly one
    /// target does, and it must be mapped).
    pub identifier: bool,
    /// The source a new mapping gives it (`model:employee_number`); empty: unmapped.
    pub default: &'static str,
    /// The codes the partner takes in it, with their words (Merge's
    /// `ACTIVE`: « en poste »), shown in their place on the pages; a value
    /// among none of them is shown as it is. Empty: values as they are.
    pub words: &'static [crate::values::ValueWords],
}

impl TargetSpec {
    /// The words for `code` in `lang` (`fr`, else English), when the
    /// target declares codes with words and `code` is one of them.
    pub fn words(&self, code: &str, lang: &str) -> Option<&'static str> {
        crate::values::FieldValue::Words(self.words).words(code, lang)
    }

    /// The label in `lang` (`en`, else French).
    pub fn label(&self, lang: &str) -> &'static str {
        if lang == "en" {
            self.label_en
        } else {
            self.label_fr
        }
    }
}

/// A field of the base a mapping may point at, as the editor offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceField {
    /// Where it is.
    pub path: SourcePath,
    /// Its label (`Groupe sanguin`), with its code shown beside it.
    pub label: String,
    /// Its group (`Modèle Merge`, or the personnel-file section's name).
    pub group: String,
    /// Whether the installation's key may read it.
    pub readable: bool,
    /// When it may not: the grant to add to the key, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

/// One reason a mapping is refused: the target field it concerns and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingProblem {
    /// The partner's field concerned (empty: the mapping as a whole).
    pub target: String,
    /// Why, in plain words.
    pub message: String,
    /// The same in French, for the admin pages, when there are such words.
    #[serde(skip)]
    pub message_fr: Option<String>,
}

impl MappingProblem {
    /// A problem of `target`, said in English and in French.
    pub fn said(target: impl Into<String>, en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            message: en.into(),
            message_fr: Some(fr.into()),
        }
    }

    /// Why, in `lang` (`fr`: the French words when there are; otherwise English).
    pub fn message_in(&self, lang: &str) -> &str {
        crate::said::pick(&self.message, self.message_fr.as_deref(), lang)
    }
}

impl std::fmt::Display for MappingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.target.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.target, self.message)
        }
    }
}

/// A customer's mapping: the partner's fields, each with its source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// The mapped fields, in the order the partner shows them.
    pub fields: Vec<MappedField>,
}

/// The longest custom field name a partner takes.
const MAX_TARGET: usize = 60;

impl FieldMapping {
    /// The mapping a new integration gets: each declared target with its default.
    pub fn defaults(targets: &[TargetSpec]) -> Self {
        Self {
            fields: targets
                .iter()
                .filter(|t| !t.default.is_empty())
                .filter_map(|t| {
                    Some(MappedField {
                        target: t.name.to_owned(),
                        label: None,
                        source: SourcePath::parse(t.default).ok()?,
                    })
                })
                .collect(),
        }
    }

    /// The field mapped to `target`.
    pub fn get(&self, target: &str) -> Option<&MappedField> {
        self.fields.iter().find(|f| f.target == target)
    }

    /// The mapped identifier, when the declared identifier is mapped.
    pub fn identifier<'a>(&'a self, targets: &[TargetSpec]) -> Option<&'a MappedField> {
        let id = targets.iter().find(|t| t.identifier)?;
        self.get(id.name)
    }

    /// A short fingerprint of the mapping: records sent under another
    /// mapping differ from those sent under this one, so a changed mapping
    /// sends every record again.
    pub fn fingerprint(&self) -> String {
        // FNV-1a over the canonical JSON: stable across processes and versions.
        let text = serde_json::to_string(self).unwrap_or_default();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }

    /// Checks the mapping against the partner's declared fields and the
    /// base's fields: every problem found, or none.
    pub fn check(&self, targets: &[TargetSpec], sources: &[SourceField]) -> Vec<MappingProblem> {
        let mut problems = self.check_shape(targets);
        for f in &self.fields {
            let (en, fr) = match sources.iter().find(|s| s.path == f.source) {
                None => (
                    format!("the base has no field '{}'", f.source.code()),
                    format!("la base n'a pas de champ « {} »", f.source.code()),
                ),
                Some(s) if !s.readable => (
                    format!(
                        "the installation's key may not read « {} »: add {} to the key",
                        s.label,
                        s.grant.as_deref().unwrap_or("the grant that reads it")
                    ),
                    format!(
                        "la clé de l'installation ne peut pas lire « {} » : ajoutez-lui {}",
                        s.label,
                        s.grant.as_deref().unwrap_or("le droit qui le lit")
                    ),
                ),
                Some(_) => continue,
            };
            problems.push(MappingProblem::said(f.target.clone(), en, fr));
        }
        problems
    }

    /// Checks the mapping's own rules, without the base: field names, a
    /// target mapped twice, custom fields' labels, the identifier.
    pub fn check_shape(&self, targets: &[TargetSpec]) -> Vec<MappingProblem> {
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for f in &self.fields {
            let problem = |en: String, fr: String| MappingProblem::said(f.target.clone(), en, fr);
            let name_ok = !f.target.is_empty()
                && !f.target.starts_with('_')
                && f.target.len() <= MAX_TARGET
                && f.target
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !name_ok {
                problems.push(problem(
                    format!(
                        "'{}' is not a field name (1 to {MAX_TARGET} letters, digits, _ or -, not starting with _)",
                        f.target
                    ),
                    format!(
                        "« {} » n'est pas un nom de champ (1 à {MAX_TARGET} lettres, chiffres, _ ou -, sans _ au début)",
                        f.target
                    ),
                ));
                continue;
            }
            if !seen.insert(f.target.to_lowercase()) {
                problems.push(problem(
                    "is mapped twice: each stakeholder field takes one source".into(),
                    "est choisi deux fois : chaque champ de bénéficiaire prend une seule source"
                        .into(),
                ));
            }
            let declared = targets.iter().any(|t| t.name == f.target);
            if !declared && f.label.as_deref().is_none_or(|l| l.trim().is_empty()) {
                problems.push(problem(
                    "a custom field needs a label, as the partner shows it".into(),
                    "un champ personnalisé a besoin d'un libellé, tel que le partenaire l'affiche"
                        .into(),
                ));
            }
        }
        if let Some(id) = targets.iter().find(|t| t.identifier) {
            if self.get(id.name).is_none() {
                problems.push(MappingProblem::said(
                    id.name,
                    "the stakeholder identifier must be mapped: it is how the partner tells one person from another",
                    "l'identifiant du bénéficiaire doit avoir une source : c'est par lui que le partenaire distingue une personne d'une autre",
                ));
            }
        }
        problems
    }
}

/// Reads a mapping from the text of a form, a file or the CLI (JSON).
pub fn parse(text: &str) -> Result<FieldMapping> {
    serde_json::from_str(text).map_err(|e| {
        DomainError::said(
            "mapping",
            format!("the mapping is not a valid mapping file: {e}"),
            format!("ce n'est pas un fichier de correspondance valide : {e}"),
        )
    })
}

/// What a preview of the partner's records is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewQuery {
    /// Only people whose name, e-mail or identifier contains this text.
    #[serde(default)]
    pub search: Option<String>,
    /// The page, from 1.
    #[serde(default)]
    pub page: u32,
    /// Rows per page (1 to 200).
    #[serde(default)]
    pub per_page: u32,
}

/// How a previewed record compares with what the partner holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreviewStatus {
    /// The partner does not hold it yet.
    New,
    /// The partner holds it with other values.
    Changed,
    /// The partner holds it as it would be sent.
    Unchanged,
}

/// One field of a previewed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewField {
    /// The partner's field.
    pub target: String,
    /// What the partner holds (null when it holds nothing).
    pub held: serde_json::Value,
    /// What would be sent.
    pub sent: serde_json::Value,
}

/// One record as the partner would receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewRow {
    /// The employee's name.
    pub name: String,
    /// The record's identifier on the partner's side.
    pub identifier: String,
    /// How it compares with what the partner holds.
    pub status: PreviewStatus,
    /// Every mapped field, held and sent.
    pub fields: Vec<PreviewField>,
}

/// An employee who would not be sent, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// The employee's name.
    pub name: String,
    /// Why (no identifier, an identifier shared with someone else).
    pub reason: String,
    /// The same in French, for the admin pages, when there are such words.
    #[serde(skip)]
    pub reason_fr: Option<String>,
}

impl SkippedRow {
    /// Why, in `lang` (`fr`: the French words when there are; otherwise English).
    pub fn reason_in(&self, lang: &str) -> &str {
        crate::said::pick(&self.reason, self.reason_fr.as_deref(), lang)
    }
}

/// A page of the preview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewPage {
    /// The records of the page.
    pub rows: Vec<PreviewRow>,
    /// Whether another page follows.
    pub more: bool,
    /// Every employee of the whole base (not only the page) who would be skipped.
    pub skipped: Vec<SkippedRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGETS: &[TargetSpec] = &[
        TargetSpec {
            name: "identifier",
            label_fr: "Identifiant",
            label_en: "Identifier",
            identifier: true,
            default: "model:employee_number",
            words: &[],
        },
        TargetSpec {
            name: "firstName",
            label_fr: "Prénom",
            label_en: "First name",
            identifier: false,
            default: "model:first_name",
            words: &[],
        },
    ];

    #[test]
    fn a_target_says_its_codes_in_words() {
        const WORDS: &[crate::values::ValueWords] = &[crate::values::ValueWords {
            code: "ACTIVE",
            fr: "en poste",
            en: "active",
        }];
        let status = TargetSpec {
            name: "status",
            label_fr: "Statut",
            label_en: "Status",
            identifier: false,
            default: "",
            words: WORDS,
        };
        assert_eq!(status.words("ACTIVE", "fr"), Some("en poste"));
        assert_eq!(status.words("ACTIVE", "en"), Some("active"));
        assert_eq!(status.words("ON_LEAVE", "fr"), None);
        assert_eq!(TARGETS[0].words("ACTIVE", "fr"), None);
    }

    fn source(code: &str, readable: bool) -> SourceField {
        SourceField {
            path: SourcePath::parse(code).unwrap(),
            label: code.to_owned(),
            group: "g".into(),
            readable,
            grant: (!readable).then(|| {
                "« Consulter le dossier du personnel », section « Actionnariat »".to_owned()
            }),
        }
    }

    #[test]
    fn paths_read_back_and_follow_records() {
        for code in ["model:first_name", "raw:extendedData.e_sharesPlan"] {
            assert_eq!(SourcePath::parse(code).unwrap().code(), code);
        }
        assert!(SourcePath::parse("raw:a..b").is_err());
        assert!(SourcePath::parse("first_name").is_err());
        let raw = serde_json::json!({"extendedData": {"e_x": 3}});
        let model = serde_json::json!({"first_name": "Ana"});
        assert_eq!(
            SourcePath::parse("raw:extendedData.e_x")
                .unwrap()
                .pick(&model, &raw),
            3
        );
        assert_eq!(
            SourcePath::parse("model:first_name")
                .unwrap()
                .pick(&model, &raw),
            "Ana"
        );
        assert!(SourcePath::parse("raw:extendedData.e_y")
            .unwrap()
            .pick(&model, &raw)
            .is_null());
    }

    #[test]
    fn a_mapping_is_refused_with_every_reason() {
        let sources = [
            source("model:employee_number", true),
            source("model:first_name", true),
            source("raw:extendedData.e_sharesPlan", false),
        ];
        assert!(FieldMapping::defaults(TARGETS)
            .check(TARGETS, &sources)
            .is_empty());
        let bad = FieldMapping {
            fields: vec![
                MappedField {
                    target: "firstName".into(),
                    label: None,
                    source: SourcePath::parse("model:first_name").unwrap(),
                },
                MappedField {
                    target: "FIRSTNAME".into(),
                    label: Some("x".into()),
                    source: SourcePath::parse("model:first_name").unwrap(),
                },
                MappedField {
                    target: "plan".into(),
                    label: Some("Plan".into()),
                    source: SourcePath::parse("raw:extendedData.e_sharesPlan").unwrap(),
                },
                MappedField {
                    target: "nope".into(),
                    label: None,
                    source: SourcePath::parse("raw:jobTitel").unwrap(),
                },
            ],
        };
        let problems = bad.check(TARGETS, &sources);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        // Each is said in French too, on the admin pages.
        for p in &problems {
            assert_ne!(p.message_in("fr"), p.message_in("en"), "{p}");
            assert_eq!(p.message_in("en"), p.message);
        }
        assert!(
            problems
                .iter()
                .any(|p| p.message_in("fr") == "la base n'a pas de champ « raw:jobTitel »"),
            "{problems:?}"
        );
        assert!(
            text.iter()
                .any(|p| p.starts_with("FIRSTNAME: is mapped twice")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|p| p.starts_with("plan:") && p.contains("section « Actionnariat »")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|p| p.starts_with("nope: a custom field needs a label")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|p| p.contains("no field 'raw:jobTitel'")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|p| p.starts_with("identifier: the stakeholder identifier must be mapped")),
            "{text:?}"
        );
        assert_eq!(problems.len(), 5, "{text:?}");
    }

    #[test]
    fn the_fingerprint_follows_the_mapping() {
        let a = FieldMapping::defaults(TARGETS);
        let mut b = a.clone();
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.fields[1].source = SourcePath::parse("model:last_name").unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(parse(&text).unwrap(), a);
        assert!(parse("{\"fields\": 3}")
            .unwrap_err()
            .message
            .contains("not a valid mapping"));
    }
}
