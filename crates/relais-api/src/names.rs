//! Names of a base's departments and establishments, which a page of users
//! showing `department.name` or `legalEntity.name` needs: read once per data
//! version of the base ([`crate::auth::Caller::data_version`]) instead of
//! once per request. A write to the base, whoever makes it, moves the
//! version on, and the next request reads the names again.

use crate::error::ApiError;
use relais_core::ids::BaseId;
use relais_store::SharedStore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Identifier → name.
pub type Names = Arc<HashMap<i64, String>>;

/// Which records' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Named {
    /// Departments.
    Departments,
    /// Establishments (`legalEntity` in the API).
    Establishments,
}

/// The names last read for each base, with the data version they hold for.
#[derive(Debug, Default)]
pub struct NameCache {
    entries: Mutex<HashMap<(BaseId, Named), (i64, Names)>>,
}

impl NameCache {
    /// The names of `what` in `base` at data version `version`, read from
    /// the store unless already read at that version.
    pub async fn get(
        &self,
        store: &SharedStore,
        base: BaseId,
        version: i64,
        what: Named,
    ) -> Result<Names, ApiError> {
        let known = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries
                .get(&(base, what))
                .filter(|(at, _)| *at == version)
                .map(|(_, names)| names.clone())
        };
        if let Some(names) = known {
            return Ok(names);
        }
        let names: Names = Arc::new(match what {
            Named::Departments => store
                .list_departments(base)
                .await?
                .into_iter()
                .map(|d| (d.id.0, d.name.to_string()))
                .collect(),
            Named::Establishments => store
                .list_establishments(base)
                .await?
                .into_iter()
                .map(|e| (e.id.0, e.name.to_string()))
                .collect(),
        });
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((base, what), (version, names.clone()));
        Ok(names)
    }
}
