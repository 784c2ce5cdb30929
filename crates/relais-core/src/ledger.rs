//! The sync ledger's rules: what a partner last acknowledged of each record
//! (a hash and the fields sent), and the plan that brings the partner in step
//! with the source — creates, updates with field-level before and after,
//! deletes, and records left unchanged.
//!
//! An incremental run only sees records changed since its checkpoint, so it
//! never infers deletions; a full reconciliation sees every record, and what
//! the partner holds but the source no longer has is deleted.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A record as a connector would send it: its source key and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The source identifier (e.g. the employee id).
    pub key: String,
    /// The fields sent to the partner, by name.
    pub fields: BTreeMap<String, Value>,
}

impl SourceRecord {
    /// The stable hash of the fields.
    pub fn hash(&self) -> String {
        record_hash(&self.fields)
    }
}

/// SHA-256 of the fields serialised in key order, hex.
pub fn record_hash(fields: &BTreeMap<String, Value>) -> String {
    let text = serde_json::to_string(fields).expect("JSON values serialise");
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the partner confirmed it holds of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledged {
    /// The source key.
    pub key: String,
    /// Hash of the fields acknowledged.
    pub hash: String,
    /// The fields acknowledged, for field-level before/after.
    pub fields: BTreeMap<String, Value>,
    /// The partner's own identifier, once known.
    pub partner_id: Option<String>,
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// The value the partner held.
    pub before: Value,
    /// The value sent.
    pub after: Value,
}

/// What a run does with one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Change {
    /// Not at the partner yet.
    Create {
        /// The record.
        record: SourceRecord,
    },
    /// At the partner with other values.
    Update {
        /// The record.
        record: SourceRecord,
        /// The fields that differ.
        fields: Vec<FieldChange>,
    },
    /// At the partner but no longer in the source (full runs only).
    Delete {
        /// What the partner held.
        acknowledged: Acknowledged,
    },
    /// Already as the source has it.
    Unchanged {
        /// The source key.
        key: String,
    },
}

impl Change {
    /// The source key concerned.
    pub fn key(&self) -> &str {
        match self {
            Change::Create { record } | Change::Update { record, .. } => &record.key,
            Change::Delete { acknowledged } => &acknowledged.key,
            Change::Unchanged { key } => key,
        }
    }
}

/// The field-level differences between what was acknowledged and what is sent.
pub fn field_changes(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Vec<FieldChange> {
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let b = before.get(name).cloned().unwrap_or(Value::Null);
            let a = after.get(name).cloned().unwrap_or(Value::Null);
            (b != a).then(|| FieldChange {
                field: name.clone(),
                before: b,
                after: a,
            })
        })
        .collect()
}

/// Plans a run: each source record against what was acknowledged; with
/// `full`, acknowledged records missing from the source are deleted.
pub fn plan(
    source: Vec<SourceRecord>,
    acknowledged: &HashMap<String, Acknowledged>,
    full: bool,
) -> Vec<Change> {
    let mut seen: HashSet<String> = HashSet::with_capacity(source.len());
    let mut out = Vec::with_capacity(source.len());
    for record in source {
        seen.insert(record.key.clone());
        let change = match acknowledged.get(&record.key) {
            None => Change::Create { record },
            Some(ack) if ack.hash == record.hash() => Change::Unchanged { key: record.key },
            Some(ack) => {
                let fields = field_changes(&ack.fields, &record.fields);
                Change::Update { record, fields }
            }
        };
        out.push(change);
    }
    if full {
        let mut gone: Vec<&Acknowledged> = acknowledged
            .values()
            .filter(|a| !seen.contains(&a.key))
            .collect();
        gone.sort_by(|a, b| a.key.cmp(&b.key));
        out.extend(gone.into_iter().map(|a| Change::Delete {
            acknowledged: a.clone(),
        }));
    }
    out
}

/// Fields of a JSON object, for building records.
pub fn fields_of(object: &Map<String, Value>) -> BTreeMap<String, Value> {
    object.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(key: &str, first: &str, mail: &str) -> SourceRecord {
        SourceRecord {
            key: key.into(),
            fields: BTreeMap::from([
                ("firstName".into(), json!(first)),
                ("mail".into(), json!(mail)),
            ]),
        }
    }

    fn ack(r: &SourceRecord) -> Acknowledged {
        Acknowledged {
            key: r.key.clone(),
            hash: r.hash(),
            fields: r.fields.clone(),
            partner_id: Some(format!("p{}", r.key)),
        }
    }

    #[test]
    fn hashes_are_stable_and_sensitive() {
        let a = rec("1", "Claire", "c@x.fr");
        assert_eq!(a.hash(), rec("1", "Claire", "c@x.fr").hash());
        assert_ne!(a.hash(), rec("1", "Clara", "c@x.fr").hash());
        assert_eq!(a.hash().len(), 64);
    }

    #[test]
    fn a_plan_creates_updates_keeps_and_deletes() {
        let (a, b, c) = (
            rec("1", "Claire", "c@x.fr"),
            rec("2", "Hugo", "h@x.fr"),
            rec("3", "Inès", "i@x.fr"),
        );
        let known: HashMap<String, Acknowledged> = [ack(&a), ack(&b), ack(&c)]
            .into_iter()
            .map(|x| (x.key.clone(), x))
            .collect();
        let b2 = rec("2", "Hugo", "hugo@x.fr");
        let d = rec("4", "Léa", "l@x.fr");
        let incremental = plan(vec![a.clone(), b2.clone(), d.clone()], &known, false);
        assert_eq!(incremental.len(), 3, "no deletion without a full run");
        assert_eq!(incremental[0], Change::Unchanged { key: "1".into() });
        assert_eq!(
            incremental[1],
            Change::Update {
                record: b2.clone(),
                fields: vec![FieldChange {
                    field: "mail".into(),
                    before: json!("h@x.fr"),
                    after: json!("hugo@x.fr")
                }]
            }
        );
        assert_eq!(incremental[2], Change::Create { record: d.clone() });
        let full = plan(vec![a, b2, d], &known, true);
        assert_eq!(full.len(), 4);
        assert!(matches!(&full[3], Change::Delete { acknowledged } if acknowledged.key == "3"));
        assert_eq!(full[3].key(), "3");
    }

    #[test]
    fn field_changes_see_added_and_removed_fields() {
        let before = BTreeMap::from([("a".to_owned(), json!(1)), ("b".to_owned(), json!(2))]);
        let after = BTreeMap::from([("b".to_owned(), json!(2)), ("c".to_owned(), json!(3))]);
        let changes = field_changes(&before, &after);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            (changes[0].field.as_str(), &changes[0].after),
            ("a", &Value::Null)
        );
        assert_eq!(
            (changes[1].field.as_str(), &changes[1].before),
            ("c", &Value::Null)
        );
    }
}
