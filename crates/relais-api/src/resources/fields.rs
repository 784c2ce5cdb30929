//! `/api/relais/fields`: the personnel file's fields — the standard ones and
//! the base's custom `extendedData.e_…` fields — with their section and
//! label, and whether the calling key may read each (and if not, the grant
//! to add). The fields' definitions only, never a value: what a client
//! needs to offer a field mapping, as a Lucca base's field list does.

use super::extract::answer_language;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::need::{Need, Routes};
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use relais_core::fields::{grant_for_section, STANDARD, STANDARD_SECTION};
use serde_json::{json, Value};

/// The routes of this resource, each with what it needs.
pub fn routes() -> Routes {
    Routes::new().get("/api/relais/fields", Need::AnyKey, list)
}

/// The JSON schema of one field as the list answers it, for the OpenAPI
/// document: written beside the code that answers it.
pub fn field_schema() -> Value {
    let text = |description: &str| json!({ "type": "string", "description": description });
    json!({
        "type": "object",
        "required": ["path", "label", "type", "section", "readable", "grant"],
        "properties": {
            "path": text("how a `fields` selection names it: `jobTitle`, `extendedData.e_size`"),
            "label": text("its label, as the personnel file shows it: a standard field's in English when `Accept-Language` puts English before French, else in French; a custom field's as the base names it"),
            "type": text("`standard` for Lucca's own fields, else the custom field's kind (text, number, date, list…)"),
            "section": {
                "type": "object",
                "description": "the personnel file's section holding it",
                "required": ["code", "name"],
                "properties": { "code": text("the section's code"), "name": text("the section's name") },
            },
            "readable": { "type": "boolean", "description": "whether this key reads its values" },
            "grant": { "type": "string", "nullable": true, "description": "the grant to add for this key to read it; null when it does" },
        },
    })
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let lang = answer_language(&headers);
    let role = caller.role();
    let sections = state.store.list_sections(caller.base()).await?;
    let standard_name = sections
        .iter()
        .find(|s| s.code == STANDARD_SECTION)
        .map_or_else(|| "Données Lucca".to_owned(), |s| s.name.to_string());
    let entry = |path: String, label: &str, code: &str, section: &str, name: &str, kind: &str| {
        let readable = role.may_read_field(section, code);
        json!({
            "path": path,
            "label": label,
            "type": kind,
            "section": { "code": section, "name": name },
            "readable": readable,
            "grant": (!readable).then(|| grant_for_section(section, name)),
        })
    };
    let mut items: Vec<Value> = STANDARD
        .iter()
        .map(|f| {
            entry(
                f.name.to_owned(),
                f.label(lang),
                f.name,
                STANDARD_SECTION,
                &standard_name,
                "standard",
            )
        })
        .collect();
    for field in state.store.list_section_fields(caller.base()).await? {
        let Some(section) = sections.iter().find(|s| s.id == field.section_id) else {
            continue;
        };
        items.push(entry(
            format!("extendedData.{}", field.code.as_str()),
            &field.name.to_string(),
            field.code.as_str(),
            &section.code,
            &section.name.to_string(),
            field.kind.code(),
        ));
    }
    Ok(Json(json!({ "data": { "items": items } })))
}
