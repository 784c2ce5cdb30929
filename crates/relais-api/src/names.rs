//! What answers read from a base's structure on every request — the names of
//! its departments and establishments (`department.name`,
//! `legalEntity.name`) and the section each personnel-file field belongs to
//! (how `extendedData` is filed) — read once per structure version of the
//! base ([`crate::auth::Caller::structure_version`]) instead of once per
//! request. A change to the structure, whoever makes it, moves the version
//! on and the next request reads it again; a change to an employee, a leave
//! or an expense does not.

use crate::error::ApiError;
use relais_core::ids::BaseId;
use relais_store::SharedStore;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Identifier → name.
pub type Names = Arc<HashMap<i64, String>>;

/// Personnel-file field code → the code of its section.
pub type FieldSections = Arc<HashMap<String, String>>;

/// Which records' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Named {
    /// Departments.
    Departments,
    /// Establishments (`legalEntity` in the API).
    Establishments,
}

/// Values read at one version of a base, by what they are of.
type Remembered<K, V> = Mutex<HashMap<K, (i64, V)>>;

/// The structure last read for each base, with the version it holds for.
#[derive(Debug, Default)]
pub struct NameCache {
    names: Remembered<(BaseId, Named), Names>,
    field_sections: Remembered<BaseId, FieldSections>,
}

/// `map[key]` when it was read at `version`; otherwise what `read` reads,
/// remembered for that version.
async fn remembered<K: Eq + Hash, V: Clone>(
    map: &Remembered<K, V>,
    key: K,
    version: i64,
    read: impl std::future::Future<Output = Result<V, ApiError>>,
) -> Result<V, ApiError> {
    let known = {
        let entries = map.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&key)
            .filter(|(at, _)| *at == version)
            .map(|(_, value)| value.clone())
    };
    if let Some(value) = known {
        return Ok(value);
    }
    let value = read.await?;
    map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, (version, value.clone()));
    Ok(value)
}

impl NameCache {
    /// The names of `what` in `base` at structure version `version`, read
    /// from the store unless already read at that version.
    pub async fn get(
        &self,
        store: &SharedStore,
        base: BaseId,
        version: i64,
        what: Named,
    ) -> Result<Names, ApiError> {
        fn by_id<T>(rows: Vec<T>, of: impl Fn(&T) -> (i64, String)) -> Names {
            Arc::new(rows.iter().map(of).collect())
        }
        remembered(&self.names, (base, what), version, async {
            Ok(match what {
                Named::Departments => by_id(store.list_departments(base).await?, |d| {
                    (d.id.0, d.name.to_string())
                }),
                Named::Establishments => by_id(store.list_establishments(base).await?, |e| {
                    (e.id.0, e.name.to_string())
                }),
            })
        })
        .await
    }

    /// The section of each personnel-file field of `base` at structure
    /// version `version`, read from the store unless already read at it.
    pub async fn field_sections(
        &self,
        store: &SharedStore,
        base: BaseId,
        version: i64,
    ) -> Result<FieldSections, ApiError> {
        remembered(&self.field_sections, base, version, async {
            let sections: HashMap<_, _> = store
                .list_sections(base)
                .await?
                .into_iter()
                .map(|s| (s.id, s.code))
                .collect();
            Ok(Arc::new(
                store
                    .list_section_fields(base)
                    .await?
                    .into_iter()
                    .map(|f| {
                        let section = sections.get(&f.section_id).cloned().unwrap_or_default();
                        (f.code.as_str().to_owned(), section)
                    })
                    .collect(),
            ))
        })
        .await
    }
}
