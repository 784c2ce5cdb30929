//! The `stakeholders` stream: every employee (former and future ones
//! included) as a Ledgy stakeholder, with the fields the customer's
//! mapping says, keyed by the stakeholder identifier; and the preview of
//! what it would send.

use super::client::LedgyClient;
use super::merge::{MergeEmployee, MergeReader, ReadPlan};
use crate::engine::{Batch, Drift, Setup, Stream, Write, Written};
use crate::error::SyncError;
use crate::Side;
use async_trait::async_trait;
use relais_core::connector::StreamSpec;
use relais_core::ledger::{Acknowledged, SourceRecord};
use relais_core::mapping::{
    FieldMapping, PreviewField, PreviewPage, PreviewQuery, PreviewRow, PreviewStatus, SkippedRow,
    TargetSpec,
};
use relais_core::said::Said;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The record field carrying the mapping's fingerprint (kept in the
/// ledger, never sent): a changed mapping changes every record, so every
/// stakeholder is sent again.
pub const MAPPING_FIELD: &str = "_mapping";

/// A value as Ledgy takes it: a text, number, boolean or null (a linked
/// record gives its name, a list its items' names).
fn scalar(v: &Value) -> Value {
    match v {
        Value::Object(o) => o.get("name").map_or(Value::Null, scalar),
        Value::Array(items) => {
            let names: Vec<String> = items
                .iter()
                .map(scalar)
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .collect();
            Value::from(names.join(", "))
        }
        other => other.clone(),
    }
}

/// The identifier a value gives, when it gives one.
fn identifier_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The mapping applied to the base: each employee's stakeholder fields.
#[derive(Debug, Clone)]
pub struct Mapper {
    mapping: FieldMapping,
    identifier: String,
    fingerprint: String,
}

impl Mapper {
    /// `mapping` over the declared `targets`.
    pub fn new(mapping: FieldMapping, targets: &[TargetSpec]) -> Result<Self, SyncError> {
        let identifier = mapping
            .identifier(targets)
            .map(|f| f.target.clone())
            .ok_or_else(|| {
                SyncError::Config(Said::new(
                    "the mapping gives no stakeholder identifier",
                    "la correspondance ne donne pas d'identifiant de bénéficiaire",
                ))
            })?;
        let fingerprint = mapping.fingerprint();
        Ok(Self {
            mapping,
            identifier,
            fingerprint,
        })
    }

    /// What a run reads: every mapped field.
    pub fn plan(&self) -> ReadPlan {
        ReadPlan::of(self.mapping.fields.iter().map(|f| &f.source))
    }

    /// What telling people apart needs: the identifier's sources only.
    pub fn identifier_plan(&self) -> ReadPlan {
        ReadPlan::of(
            self.mapping
                .fields
                .iter()
                .filter(|f| f.target == self.identifier)
                .map(|f| &f.source),
        )
    }

    /// The stakeholder fields of `e`, in the mapping's order.
    pub fn fields(&self, e: &MergeEmployee) -> Map<String, Value> {
        self.mapping
            .fields
            .iter()
            .map(|f| (f.target.clone(), scalar(f.source.pick(&e.model, &e.raw))))
            .collect()
    }

    /// The stakeholder identifier of `e`, computing that field alone.
    pub fn identifier_for(&self, e: &MergeEmployee) -> Option<String> {
        let f = self.mapping.get(&self.identifier)?;
        identifier_of(&scalar(f.source.pick(&e.model, &e.raw)))
    }

    /// The stakeholder identifier among `fields`.
    pub fn identifier(&self, fields: &Map<String, Value>) -> Option<String> {
        fields.get(&self.identifier).and_then(identifier_of)
    }
}

/// Who holds each identifier in the base: built from a whole read, so a
/// duplicate is known before anything is written.
#[derive(Debug, Default)]
pub struct Identifiers {
    /// Identifier → the employees holding it (id, name).
    holders: HashMap<String, Vec<(i64, String)>>,
}

impl Identifiers {
    /// Reads every employee's identifier.
    pub async fn read(setup: &Setup, mapper: &Mapper) -> Result<Self, SyncError> {
        let mut reader = MergeReader::open(setup, &mapper.identifier_plan()).await?;
        let mut out = Self::default();
        reader
            .each(|page| {
                for e in page {
                    out.add(mapper, &e);
                }
            })
            .await?;
        Ok(out)
    }

    fn add(&mut self, mapper: &Mapper, e: &MergeEmployee) {
        if let Some(id) = mapper.identifier_for(e) {
            self.holders
                .entry(id)
                .or_default()
                .push((e.id, e.name.clone()));
        }
    }

    /// Why employee `employee` with `identifier` cannot be sent, if it cannot.
    pub fn refusal(&self, employee: i64, name: &str, identifier: Option<&str>) -> Option<Said> {
        let Some(identifier) = identifier else {
            return Some(Said::new(
                format!("{name} has no stakeholder identifier: the field it is mapped to is empty"),
                format!(
                    "{name} n'a pas d'identifiant de bénéficiaire : le champ qui le donne est vide"
                ),
            ));
        };
        let holders = self.holders.get(identifier)?;
        let others: Vec<&str> = holders
            .iter()
            .filter(|(id, _)| *id != employee)
            .map(|(_, n)| n.as_str())
            .collect();
        (!others.is_empty()).then(|| {
            let others = others.join(", ");
            Said::new(
                format!(
                    "{name} shares the stakeholder identifier '{identifier}' with {others}: none of them is sent until it is unique"
                ),
                format!(
                    "{name} partage l'identifiant de bénéficiaire « {identifier} » avec {others} : aucun d'eux n'est envoyé tant qu'il n'est pas unique"
                ),
            )
        })
    }

    /// (employees with an identifier, distinct identifiers).
    pub fn spread(&self) -> (usize, usize) {
        (
            self.holders.values().map(Vec::len).sum(),
            self.holders.len(),
        )
    }

    /// How many employees hold `identifier`.
    pub fn holders_of(&self, identifier: &str) -> usize {
        self.holders.get(identifier).map_or(0, Vec::len)
    }

    /// The employee holding `identifier` alone.
    pub fn only_holder(&self, identifier: &str) -> Option<i64> {
        match self.holders.get(identifier).map(Vec::as_slice) {
            Some([(id, _)]) => Some(*id),
            _ => None,
        }
    }
}

/// A stakeholder's name for people: its first and last name, else its identifier.
fn name_of(fields: &BTreeMap<String, Value>) -> Option<String> {
    let part = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or_default();
    let name = format!("{} {}", part("firstName"), part("lastName"))
        .trim()
        .to_owned();
    let id = fields.get("identifier").and_then(identifier_of);
    match (name.is_empty(), id) {
        (false, Some(id)) => Some(format!("{name} ({id})")),
        (false, None) => Some(name),
        (true, id) => id,
    }
}

/// A stakeholder ready to send: its fields and its identifier.
type Prepared = (Map<String, Value>, String);

/// The stream, opened for one run.
pub struct Stakeholders {
    reader: MergeReader,
    client: LedgyClient,
    mapper: Arc<Mapper>,
    identifiers: Arc<Identifiers>,
    concurrency: usize,
    batch_size: usize,
}

impl Stakeholders {
    /// The stream over `setup`'s base, writing with `client`.
    pub async fn open(
        setup: &Setup,
        client: LedgyClient,
        mapper: Arc<Mapper>,
        concurrency: usize,
        batch_size: usize,
    ) -> Result<Self, SyncError> {
        let identifiers = Arc::new(Identifiers::read(setup, &mapper).await?);
        Ok(Self {
            reader: MergeReader::open(setup, &mapper.plan()).await?,
            client,
            mapper,
            identifiers,
            concurrency,
            batch_size,
        })
    }

    fn record(&self, e: &MergeEmployee) -> SourceRecord {
        let mut fields: BTreeMap<String, Value> = self.mapper.fields(e).into_iter().collect();
        fields.insert(
            MAPPING_FIELD.into(),
            Value::from(self.mapper.fingerprint.clone()),
        );
        SourceRecord {
            key: e.id.to_string(),
            fields,
        }
    }

    /// What `w` sends Ledgy: its fields and identifier, or why it is left out.
    fn prepare(&self, w: &Write) -> Result<Prepared, SyncError> {
        let sent: Map<String, Value> = w
            .record
            .fields
            .iter()
            .filter(|(k, _)| *k != MAPPING_FIELD)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let identifier = self.mapper.identifier(&sent);
        let employee = w.record.key.parse::<i64>().unwrap_or_default();
        let name = name_of(&w.record.fields).unwrap_or_else(|| w.record.key.clone());
        if let Some(why) = self
            .identifiers
            .refusal(employee, &name, identifier.as_deref())
        {
            return Err(SyncError::LeftOut(why));
        }
        Ok((sent, identifier.unwrap_or_default()))
    }

    /// After `w` was written under `identifier`: a changed identifier's old
    /// stakeholder is no longer fed — unless someone in the base holds that
    /// identifier now (two people swapped numbers): it is theirs.
    async fn settle(
        &self,
        w: &Write,
        identifier: &str,
        existed: bool,
    ) -> Result<Written, SyncError> {
        if let Some(old) = w
            .partner_id
            .as_deref()
            .filter(|old| *old != identifier && self.identifiers.holders_of(old) == 0)
        {
            self.client.unlink(old).await?;
        }
        Ok(Written {
            partner_id: Some(identifier.to_owned()),
            existed: w.creating && existed,
        })
    }

    async fn write_one(&self, w: &Write) -> Result<Written, SyncError> {
        let (sent, identifier) = self.prepare(w)?;
        let existed = self.client.put(&identifier, &sent).await?;
        self.settle(w, &identifier, existed).await
    }

    /// Writes several stakeholders in one request; those left out are not sent.
    async fn write_batch(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>> {
        let prepared: Vec<Result<Prepared, SyncError>> =
            writes.iter().map(|w| self.prepare(w)).collect();
        let items: Vec<(&str, &Map<String, Value>)> = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|(sent, identifier)| (identifier.as_str(), sent))
            .collect();
        let mut answers = match self.client.put_batch(&items).await {
            Ok(answers) => answers.into_iter(),
            // The whole request failed: every record sent fails with it.
            Err(e) => {
                return prepared
                    .into_iter()
                    .map(|p| p.and_then(|_| Err(e.again())))
                    .collect();
            }
        };
        let mut out = Vec::with_capacity(writes.len());
        for (w, p) in writes.iter().zip(prepared) {
            out.push(match p {
                Err(e) => Err(e),
                Ok((_, identifier)) => match answers.next() {
                    Some(Ok(existed)) => self.settle(w, &identifier, existed).await,
                    Some(Err(e)) => Err(e),
                    None => Err(SyncError::Malformed {
                        what: Side::Partner,
                        reason: "a batch answered fewer results than stakeholders".into(),
                    }),
                },
            });
        }
        out
    }
}

#[async_trait]
impl Stream for Stakeholders {
    fn spec(&self) -> &'static StreamSpec {
        &super::DECLARATION.streams[0]
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn reads_whole(&self) -> bool {
        true
    }

    fn deactivates(&self) -> bool {
        true
    }

    fn person(&self, key: &str, _fields: &BTreeMap<String, Value>) -> Option<i64> {
        key.parse().ok()
    }

    fn name(&self, _key: &str, fields: &BTreeMap<String, Value>) -> Option<String> {
        name_of(fields)
    }

    async fn next_page(&mut self, _since: Option<&str>) -> Result<Option<Batch>, SyncError> {
        let Some(page) = self.reader.next().await? else {
            return Ok(None);
        };
        let cursor = page.iter().filter_map(|e| e.modified_at.clone()).max();
        Ok(Some(Batch {
            records: page.iter().map(|e| self.record(e)).collect(),
            cursor,
            gone: Vec::new(),
        }))
    }

    async fn write(&self, writes: &[Write]) -> Vec<Result<Written, SyncError>> {
        if writes.len() == 1 {
            return crate::engine::one_at_a_time(writes, |w| self.write_one(w)).await;
        }
        self.write_batch(writes).await
    }

    async fn delete(&self, record: &Acknowledged) -> Result<(), SyncError> {
        match record.partner_id.as_deref() {
            Some(identifier) => self.client.unlink(identifier).await,
            None => Ok(()),
        }
    }

    async fn drift_page(
        &mut self,
        _since: Option<&str>,
        page: usize,
    ) -> Result<Option<Drift>, SyncError> {
        let (stakeholders, more) = self.client.page(page).await?;
        let held = stakeholders
            .into_iter()
            .filter_map(|s| {
                let employee = self.identifiers.only_holder(&s.identifier)?;
                let mut fields: BTreeMap<String, Value> = s.fields.into_iter().collect();
                fields.insert(
                    MAPPING_FIELD.into(),
                    Value::from(self.mapper.fingerprint.clone()),
                );
                Some((employee.to_string(), fields))
            })
            .collect();
        Ok(Some(Drift {
            held,
            clock: None,
            last: !more,
        }))
    }
}

/// An employee the preview's search found: id, name, identifier.
type Found = (i64, String, Option<String>);

/// A page of the stakeholders as the next run would send them, against
/// what Ledgy holds; nothing is written.
pub async fn preview(
    setup: &Setup,
    client: &LedgyClient,
    mapper: &Mapper,
    query: &PreviewQuery,
) -> Result<PreviewPage, SyncError> {
    let per_page = query.per_page.clamp(1, 200) as usize;
    let page = query.page.max(1) as usize;
    let search = query
        .search
        .as_deref()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    // Everyone's identifier, read light; the search among them.
    let mut reader = MergeReader::open(setup, &mapper.identifier_plan()).await?;
    let mut identifiers = Identifiers::default();
    let mut found: Vec<Found> = Vec::new();
    reader
        .each(|employees| {
            for e in employees {
                identifiers.add(mapper, &e);
                let identifier = mapper.identifier_for(&e);
                let hit = search.as_deref().is_none_or(|s| {
                    e.name.to_lowercase().contains(s)
                        || identifier
                            .as_deref()
                            .is_some_and(|i| i.to_lowercase().contains(s))
                        || e.model["work_email"]
                            .as_str()
                            .is_some_and(|m| m.to_lowercase().contains(s))
                });
                if hit {
                    found.push((e.id, e.name, identifier));
                }
            }
        })
        .await?;
    let mut skipped = Vec::new();
    let mut sendable = Vec::new();
    for (id, name, identifier) in found {
        match identifiers.refusal(id, &name, identifier.as_deref()) {
            Some(reason) => skipped.push(SkippedRow {
                name,
                reason: reason.en,
                reason_fr: Some(reason.fr),
            }),
            None => sendable.push(id),
        }
    }
    let more = sendable.len() > page * per_page;
    let ids: Vec<i64> = sendable
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    // The page's employees, read whole.
    let mut rows = Vec::with_capacity(ids.len());
    let mut page_reader = MergeReader::open(setup, &mapper.plan()).await?.only(ids);
    while let Some(employees) = page_reader.next().await? {
        for e in employees {
            let fields = mapper.fields(&e);
            let identifier = mapper.identifier(&fields).unwrap_or_default();
            rows.push((e.name, identifier, fields));
        }
    }
    let wanted: Vec<&str> = rows.iter().map(|(_, i, _)| i.as_str()).collect();
    let held: HashMap<String, Map<String, Value>> = client
        .some(&wanted)
        .await?
        .into_iter()
        .map(|s| (s.identifier, s.fields))
        .collect();
    let rows = rows
        .into_iter()
        .map(|(name, identifier, sent)| {
            let there = held.get(&identifier);
            let status = match there {
                None => PreviewStatus::New,
                Some(h) if *h == sent => PreviewStatus::Unchanged,
                Some(_) => PreviewStatus::Changed,
            };
            let mut targets: Vec<&String> = sent.keys().collect();
            if let Some(h) = there {
                targets.extend(h.keys().filter(|k| !sent.contains_key(*k)));
            }
            let fields = targets
                .into_iter()
                .map(|t| PreviewField {
                    target: t.clone(),
                    held: there.and_then(|h| h.get(t)).cloned().unwrap_or(Value::Null),
                    sent: sent.get(t).cloned().unwrap_or(Value::Null),
                })
                .collect();
            PreviewRow {
                name,
                identifier,
                status,
                fields,
            }
        })
        .collect();
    Ok(PreviewPage {
        rows,
        more,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_become_what_ledgy_takes() {
        assert_eq!(scalar(&json!({"id": 3, "name": "Tech"})), json!("Tech"));
        assert_eq!(
            scalar(&json!([{"name": "A"}, {"name": "B"}])),
            json!("A, B")
        );
        assert_eq!(scalar(&json!(4)), json!(4));
        assert_eq!(identifier_of(&json!(" M42 ")).as_deref(), Some("M42"));
        assert_eq!(identifier_of(&json!("")), None);
    }

    #[test]
    fn shared_or_missing_identifiers_are_refused_with_names() {
        let mut ids = Identifiers::default();
        ids.holders.insert(
            "M1".into(),
            vec![(1, "Ana Roy".into()), (2, "Léo Roy".into())],
        );
        ids.holders.insert("M3".into(), vec![(3, "Eve Lin".into())]);
        let why = ids.refusal(1, "Ana Roy", Some("M1")).unwrap();
        assert!(why.en.contains("'M1' with Léo Roy"), "{why}");
        assert!(why.fr.contains("« M1 » avec Léo Roy"), "{}", why.fr);
        assert!(ids.refusal(3, "Eve Lin", Some("M3")).is_none());
        assert!(ids
            .refusal(4, "Zoé", None)
            .unwrap()
            .en
            .contains("no stakeholder identifier"));
        assert_eq!(ids.only_holder("M3"), Some(3));
        assert_eq!(ids.only_holder("M1"), None);
    }
}
