//! `/api/v3/userlogs`: who changed which employee field, when, through what.

use super::answer::{v3_list, with_employee_records};
use super::extract::V3List;
use crate::error::ApiError;
use crate::need::{Need, Routes};
use crate::query::FieldTree;
use axum::response::Response;
use relais_core::access::Permission;
use relais_core::fields::{self, userlogs, Resource};
use relais_store::{Cond, Condition, SqlValue};
use serde_json::{json, Map, Value};

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    Routes::new().get(
        "/api/v3/userlogs",
        Need::Grant(Permission::PersonnelFile),
        list,
    )
}

async fn list(list: V3List) -> Result<Response, ApiError> {
    let q = list.query(&["name"])?;
    let (state, caller, _) = list.into_parts();
    let role = caller.role();
    let sections = state
        .names
        .field_sections(&state.store, caller.base(), caller.structure_version)
        .await?;
    // Only fields the key may read, as the log discloses their values.
    let mut readable: Vec<SqlValue> = fields::STANDARD
        .iter()
        .filter(|f| role.may_read(f))
        .filter_map(|f| f.logged)
        .map(|logged| SqlValue::Text(logged.to_owned()))
        .collect();
    for (code, section) in sections.iter() {
        if role.may_read_field(section, code) {
            readable.push(SqlValue::Text(code.to_lowercase()));
        }
    }
    let mut conditions = vec![Condition::new(&userlogs::NAME, Cond::In(readable))];
    if let Some(names) = q.options.get("name") {
        let wanted = names
            .split(',')
            .map(|n| SqlValue::Text(n.trim().to_lowercase()))
            .collect();
        conditions.push(Condition::new(&userlogs::NAME, Cond::In(wanted)));
    }
    // The log of someone the key may not see (future or former, without
    // those grants) is as out of reach as the person: the store keeps it out.
    let mut query = q.list_query(&caller.scope_with_former(), Resource::UserLogs)?;
    query.conditions.splice(0..0, conditions);
    let (store, base) = (&state.store, caller.base());
    let page = state
        .counts
        .page(&caller, "userlogs", query, |query| async move {
            store.query_employee_logs(base, &query).await
        })
        .await?;
    let tree = q.fields.clone().unwrap_or_else(|| {
        FieldTree::of(
            &userlogs::FIELDS
                .iter()
                .filter(|f| *f != &userlogs::OWNER_ID)
                .map(|f| f.name)
                .collect::<Vec<_>>(),
        )
    });
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|l| {
            let mut m = Map::new();
            m.insert("id".into(), json!(l.id));
            m.insert("ownerId".into(), json!(l.employee_id.0));
            m.insert("owner".into(), json!({ "id": l.employee_id.0 }));
            m.insert("author".into(), json!({ "name": l.author }));
            m.insert("modifiedAt".into(), json!(l.at));
            m.insert("modificationSource".into(), json!(l.source));
            m.insert("entryType".into(), json!(l.entry_type));
            m.insert("name".into(), json!(l.field));
            // A string, as Lucca documents it: the new value as text, empty when cleared.
            m.insert(
                "value".into(),
                json!(match &l.value {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                }),
            );
            Value::Object(m.into_iter().filter(|(k, _)| tree.has(k)).collect())
        })
        .collect();
    let n = items.len();
    Ok(with_employee_records(v3_list(items, page.count), n))
}
