//! The API's reference for the developers of integrations, at
//! `/api-reference`: every endpoint of the OpenAPI document (`/openapi.json`,
//! the one description of the API) with the grant it needs, its parameters
//! and a value each takes, the members of its body with one it takes, and
//! the status of its success. Open without signing in, as the document is:
//! whoever holds a key reads it.

use super::layout::page;
use crate::session::{lang_of, Viewer};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

/// `GET /api-reference`.
pub async fn reference(headers: HeaderMap, viewer: Result<Viewer, Response>) -> Response {
    let lang = lang_of(&headers);
    let doc = relais_api::openapi::build();
    let operations = operations(&doc);
    let parts: Vec<(&str, &str)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["name"].as_str()?, t["description"].as_str()?)))
        .collect();
    let of = |part: &str| -> Vec<&Operation<'_>> {
        operations
            .iter()
            .filter(|o| o.op["tags"][0].as_str() == Some(part))
            .collect()
    };
    let body = html! {
        p.muted {
            (lang.t("Ce que l'API de relais répond, compatible avec celle de Lucca : chaque point d'accès, le droit que sa clé doit avoir, ses paramètres avec une valeur qu'ils acceptent. La même description, lisible par une machine : "))
            a href="/openapi.json" { "/openapi.json" } "."
        }
        p.muted {
            (lang.t("Une clé s'envoie dans l'en-tête Authorization, sous la forme « lucca application=<clé> » ou « Bearer <clé> ». Les textes de la référence sont en anglais."))
        }
        nav aria-label=(lang.t("Points d'accès")) {
            ul id="reference-index" {
                @for (part, _) in &parts {
                    li {
                        a href={ "#" (anchor(part)) } { (part) }
                        ul {
                            @for op in of(part) {
                                li { a href={ "#" (op.anchor) } { code { (op.method.to_uppercase()) " " (op.path) } } " " (op.summary) }
                            }
                        }
                    }
                }
            }
        }
        @for (part, description) in &parts {
            section.part id=(anchor(part)) {
                h2 { (part) }
                p.muted { (description) }
                @for op in of(part) {
                    (operation(lang, op))
                }
            }
        }
    };
    page(
        viewer.ok().as_ref(),
        lang,
        lang.t("Référence de l'API"),
        body,
    )
    .into_response()
}

/// One operation of the document, as the page shows it.
struct Operation<'a> {
    method: &'a str,
    path: &'a str,
    anchor: String,
    summary: &'a str,
    op: &'a Value,
}

/// The document's operations in the order of their paths.
fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let mut all = Vec::new();
    for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "post", "put", "delete"] {
            let Some(op) = ops.get(method) else { continue };
            all.push(Operation {
                method,
                path,
                anchor: anchor(&format!("{method}{path}")),
                summary: op["summary"].as_str().unwrap_or_default(),
                op,
            });
        }
    }
    all
}

/// An element's id made of `text`: its letters and digits, `-` for the rest.
fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// A JSON schema's type as a person reads it (`integer`, `string (date)`,
/// `… or null`).
fn type_of(schema: &Value) -> String {
    let mut ty = match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some(t), Some(f)) => format!("{t} ({f})"),
        (Some(t), None) => t.to_owned(),
        (None, _) => "any".to_owned(),
    };
    if schema["nullable"] == true {
        ty.push_str(" or null");
    }
    ty
}

fn operation(lang: crate::session::Lang, o: &Operation<'_>) -> Markup {
    let op = o.op;
    let parameters: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().collect();
    let body = op["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.iter().next());
    let success = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .find(|(status, _)| status.starts_with('2'));
    let answered = success
        .and_then(|(_, answer)| answer["content"]["application/json"]["schema"].as_object())
        .and_then(|schema| answered_fields(&Value::Object(schema.clone())));
    let success = success.map(|(status, _)| status.as_str());
    html! {
        section.card.operation id=(o.anchor) {
            h3 { code { (o.method.to_uppercase()) " " (o.path) } }
            p { (o.summary) }
            @if let Some(description) = op["description"].as_str() {
                p.muted { (description) }
            }
            @if !parameters.is_empty() {
                div.scroll {
                    table {
                        caption.muted { (lang.t("Paramètres")) }
                        thead { tr {
                            th scope="col" { (lang.t("Nom")) }
                            th scope="col" { (lang.t("Exemple")) }
                            th scope="col" { (lang.t("Description")) }
                        } }
                        tbody {
                            @for p in &parameters {
                                tr {
                                    td { code { (p["name"].as_str().unwrap_or_default()) } }
                                    td { @if let Some(example) = example_text(&p["example"]) { code { (example) } } }
                                    td { (p["description"].as_str().unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some((content_type, media)) = body {
                @if let Some(members) = media["schema"]["properties"].as_object() {
                    @let required: Vec<&str> = media["schema"]["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                    div.scroll {
                        table {
                            caption.muted { (lang.t("Corps")) " (" (content_type) ")" }
                            thead { tr {
                                th scope="col" { (lang.t("Membre")) }
                                th scope="col" { (lang.t("Type")) }
                                th scope="col" { (lang.t("Description")) }
                            } }
                            tbody {
                                @for (name, schema) in members {
                                    tr {
                                        td { code { (name) } }
                                        td {
                                            (type_of(schema))
                                            @if required.contains(&name.as_str()) {
                                                " " strong { (lang.t("obligatoire")) }
                                            }
                                        }
                                        td { (schema["description"].as_str().unwrap_or_default()) }
                                    }
                                }
                            }
                        }
                    }
                } @else {
                    p { (lang.t("Corps")) " : " code { (content_type) } }
                }
                @if !media["example"].is_null() {
                    p { (lang.t("Un corps accepté :")) }
                    pre.scroll { code { (serde_json::to_string_pretty(&media["example"]).unwrap_or_default()) } }
                }
            }
            @if let Some(status) = success {
                p.muted { (lang.t("Réussite : ")) code { (status) } }
            }
            @if let Some(fields) = &answered {
                details {
                    summary { (lang.t("Champs de la réponse")) " (" (fields.len()) ")" }
                    div.scroll {
                        table {
                            thead { tr {
                                th scope="col" { (lang.t("Champ")) }
                                th scope="col" { (lang.t("Type")) }
                                th scope="col" { (lang.t("Description")) }
                            } }
                            tbody {
                                @for (name, schema) in fields {
                                    tr {
                                        td { code { (name) } }
                                        td { (type_of(schema)) }
                                        td { (schema["description"].as_str().unwrap_or_default()) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The fields of what a success answers: a list's item (v3 `data.items`,
/// v4 `items`) or the one record under `data`; none when the document does
/// not describe them.
fn answered_fields(schema: &Value) -> Option<Vec<(String, Value)>> {
    let data = &schema["properties"]["data"];
    let record = [
        &data["properties"]["items"]["items"],
        &schema["properties"]["items"]["items"],
        data,
    ]
    .into_iter()
    .find(|s| s["properties"].is_object())?;
    let fields = record["properties"].as_object()?;
    Some(fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A parameter's example as it is written in a query.
fn example_text(example: &Value) -> Option<String> {
    match example {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_document_is_listed_once() {
        let doc = relais_api::openapi::build();
        let ops = operations(&doc);
        let counted: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|m| m.as_object().unwrap().len())
            .sum();
        assert_eq!(ops.len(), counted);
        let mut anchors: Vec<&str> = ops.iter().map(|o| o.anchor.as_str()).collect();
        anchors.sort_unstable();
        anchors.dedup();
        assert_eq!(anchors.len(), ops.len(), "anchors are unique");
    }

    #[test]
    fn a_success_shows_the_fields_it_answers() {
        let doc = relais_api::openapi::build();
        let fields = |path: &str, method: &str| {
            let schema = &doc["paths"][path][method]["responses"];
            let (_, answer) = schema
                .as_object()
                .unwrap()
                .iter()
                .find(|(s, _)| s.starts_with('2'))
                .unwrap();
            answered_fields(&answer["content"]["application/json"]["schema"])
                .map(|f| f.into_iter().map(|(n, _)| n).collect::<Vec<_>>())
        };
        let users = fields("/api/v3/users", "get").unwrap();
        assert!(users.contains(&"dtContractStart".to_owned()), "{users:?}");
        let establishments = fields("/organization/structure/api/establishments", "get").unwrap();
        assert!(
            establishments.contains(&"name".to_owned()),
            "{establishments:?}"
        );
        let endpoint = fields("/api/relais/webhooks/{id}", "get").unwrap();
        assert!(
            endpoint.contains(&"statusReason".to_owned()),
            "{endpoint:?}"
        );
        assert_eq!(fields("/health", "get"), None);
    }

    #[test]
    fn types_read_as_words() {
        assert_eq!(
            type_of(&serde_json::json!({"type": "string", "format": "date", "nullable": true})),
            "string (date) or null"
        );
        assert_eq!(type_of(&serde_json::json!({})), "any");
    }
}
