//! The API's reference for the developers of integrations, at
//! `/api-reference`: every endpoint of the OpenAPI document (`/openapi.json`,
//! the one description of the API) with the grant it needs, its parameters
//! and a value each takes, the members of its body with one it takes, and
//! the status of its success. Open without signing in, as the document is:
//! whoever holds a key reads it.

use super::layout::{column_heads, page};
use crate::session::{lang_of, Viewer};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

/// `GET /api-reference`.
pub async fn reference(headers: HeaderMap, viewer: Result<Viewer, Response>) -> Response {
    let lang = lang_of(&headers);
    let base = super::layout::base_url(&headers);
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
        p.muted {
            (lang.t("Chaque point d'accès se termine par une commande curl qui l'appelle avec ses exemples ; elle lit la clé dans la variable RELAIS_KEY."))
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
                    (operation(lang, &base, op))
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

fn operation(lang: crate::session::Lang, base: &str, o: &Operation<'_>) -> Markup {
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
        .and_then(|(_, answer)| answered_fields(&answer["content"]["application/json"]["schema"]));
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
                    table.params {
                        caption.muted { (lang.t("Paramètres")) }
                        (column_heads(lang, &["Nom", "Exemple", "Description"]))
                        tbody {
                            @for p in &parameters {
                                tr {
                                    td { code { (breakable(p["name"].as_str().unwrap_or_default())) } }
                                    td { @if let Some(example) = example_text(&p["example"]) { code { (breakable(&example)) } } }
                                    td { (p["description"].as_str().unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some((content_type, media)) = body {
                @if let Some(members) = media["schema"]["properties"].as_object() {
                    @let caption = html! { caption.muted { (lang.t("Corps")) " (" (content_type) ")" } };
                    @let members: Vec<(String, &Value)> = members.iter().map(|(n, v)| (n.clone(), v)).collect();
                    (fields_table(lang, caption, "Membre", &members, &media["schema"]["required"]))
                } @else {
                    p { (lang.t("Corps")) (lang.t(" : ")) code { (content_type) } }
                }
                @if !media["example"].is_null() {
                    p { (lang.t("Un corps accepté :")) }
                    pre.scroll tabindex="0" { code { (serde_json::to_string_pretty(&media["example"]).unwrap_or_default()) } }
                }
            }
            @if let Some(status) = success {
                p.muted { (lang.t("Réussite : ")) code { (status) } }
            }
            @if let Some(command) = curl(base, o) {
                pre.curl { code { (command) } }
            }
            @if let Some(fields) = &answered {
                details {
                    summary { (lang.t("Champs de la réponse")) " (" (fields.len()) ")" }
                    (fields_table(lang, html! {}, "Champ", fields, &Value::Null))
                }
            }
        }
    }
}

/// A table of the members of an object schema: each name, its type (and
/// whether `required`, a schema's list of names, holds it) and what it is.
fn fields_table(
    lang: crate::session::Lang,
    caption: Markup,
    first: &'static str,
    fields: &[(String, &Value)],
    required: &Value,
) -> Markup {
    let required: Vec<&str> = required
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    html! {
        div.scroll {
            table.members {
                (caption)
                (column_heads(lang, &[first, "Type", "Description"]))
                tbody {
                    @for (name, schema) in fields {
                        tr {
                            td { code { (breakable(name)) } }
                            td {
                                (type_of(schema))
                                @if required.contains(&name.as_str()) {
                                    " " strong { (lang.t("obligatoire")) }
                                }
                            }
                            td {
                                (schema["description"].as_str().unwrap_or_default())
                                @if let Some(values) = enum_text(schema) {
                                    " " span.muted { "(" (values) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The values a schema lists, comma-separated; none when it lists none.
fn enum_text(schema: &Value) -> Option<String> {
    let values: Vec<String> = schema["enum"]
        .as_array()?
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect();
    Some(values.join(", "))
}

/// How deep the members of an answer are listed (`run.counts.created`).
const NESTED_LEVELS: usize = 3;

/// The fields of what a success answers: a list's item (v3 `data.items`,
/// v4 `items`) or the one record under `data`, with the members of the
/// objects and lists they hold (`run.status`, `lines[].outcome`,
/// `streams.*.created` for an object keyed by names); none when the
/// document does not describe them.
fn answered_fields(schema: &Value) -> Option<Vec<(String, &Value)>> {
    let data = &schema["properties"]["data"];
    let record = [
        &data["properties"]["items"]["items"],
        &schema["properties"]["items"]["items"],
        data,
    ]
    .into_iter()
    .find(|s| s["properties"].is_object())?;
    let mut fields = Vec::new();
    members(record, "", NESTED_LEVELS, &mut fields);
    Some(fields)
}

/// Adds the members of an object schema to `out`, named after `prefix`,
/// each followed by its own members down to `levels`.
fn members<'a>(schema: &'a Value, prefix: &str, levels: usize, out: &mut Vec<(String, &'a Value)>) {
    for (name, member) in schema["properties"].as_object().into_iter().flatten() {
        let name = format!("{prefix}{name}");
        out.push((name.clone(), member));
        if levels > 1 {
            nested(member, &name, levels - 1, out);
        }
    }
}

/// The members inside `schema` (named `name`): an object's, a list's
/// items', or the members of each value of an object keyed by names.
fn nested<'a>(schema: &'a Value, name: &str, levels: usize, out: &mut Vec<(String, &'a Value)>) {
    if schema["properties"].is_object() {
        members(schema, &format!("{name}."), levels, out);
    } else if schema["items"]["properties"].is_object() {
        members(&schema["items"], &format!("{name}[]."), levels, out);
    } else if schema["additionalProperties"]["properties"].is_object() {
        members(
            &schema["additionalProperties"],
            &format!("{name}.*."),
            levels,
            out,
        );
    }
}

/// A curl command calling the operation on `base` with the document's
/// examples (every query parameter's, the path's identifier, the body),
/// the key read from `$RELAIS_KEY`; none for a body the document shows no
/// example of.
fn curl(base: &str, o: &Operation<'_>) -> Option<String> {
    let mut path = o.path.to_owned();
    let mut query = Vec::new();
    for p in o.op["parameters"].as_array().into_iter().flatten() {
        let (Some(name), Some(example)) = (p["name"].as_str(), example_text(&p["example"])) else {
            continue;
        };
        if p["in"] == "path" {
            path = path.replace(&format!("{{{name}}}"), &example);
        } else {
            query.push(format!("{}={}", encoded(name), encoded(&example)));
        }
    }
    let url = if query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{}", query.join("&"))
    };
    let mut command = String::from("curl");
    if o.method != "get" {
        command.push_str(&format!(" -X {}", o.method.to_uppercase()));
    }
    command.push_str(" -H \"Authorization: Bearer $RELAIS_KEY\"");
    if let Some(content) = o.op["requestBody"]["content"].as_object() {
        let example = content.get("application/json").map(|m| &m["example"]);
        match example {
            Some(body) if !body.is_null() => {
                // Within single quotes, a quote is closed, escaped, reopened.
                let body = body.to_string().replace('\'', "'\\''");
                command.push_str(&format!(
                    " -H \"Content-Type: application/json\" -d '{body}'"
                ));
            }
            _ if o.op["requestBody"]["required"] == true => return None,
            _ => {}
        }
    }
    command.push_str(&format!(" \"{url}\""));
    Some(command)
}

/// `text` as a query writes it: letters, digits and `-_.~,:` as they are,
/// any other byte as `%XX` (brackets too, which curl would read as a range).
fn encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A parameter's example as it is written in a query.
/// `text` with a place to break the line after each `.`, `,` and `&`
/// (`lines[].fields[].before`, `id,ownerId,owner`), so that a narrow
/// screen breaks a name between its parts rather than within a word.
fn breakable(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split_inclusive(['.', ',', '&']).enumerate() {
            @if i > 0 { wbr; }
            (part)
        }
    }
}

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
                .map(|f| f.into_iter().map(|(name, _)| name).collect::<Vec<_>>())
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
        // The members of what an answer holds, to the depth listed.
        let report = fields("/api/relais/integration/runs/{id}", "get").unwrap();
        for member in [
            "run",
            "run.status",
            "run.counts.created",
            "run.streams.*.failed",
            "lines[].outcome",
            "lines[].fields[].before",
            "next",
        ] {
            assert!(report.contains(&member.to_owned()), "{member}: {report:?}");
        }
        assert!(
            !report.iter().any(|m| m.matches('.').count() > 3),
            "three levels at most: {report:?}"
        );
    }

    #[test]
    fn a_name_breaks_between_its_parts() {
        assert_eq!(
            breakable("lines[].fields[].before").into_string(),
            "lines[].<wbr>fields[].<wbr>before"
        );
        assert_eq!(breakable("a<b").into_string(), "a&lt;b", "escaped");
    }

    #[test]
    fn the_values_a_member_takes_are_listed() {
        let listed = enum_text(&serde_json::json!({ "enum": ["queued", "running"] }));
        assert_eq!(listed.as_deref(), Some("queued, running"));
        assert_eq!(enum_text(&serde_json::json!({ "type": "string" })), None);
    }

    #[test]
    fn each_call_is_shown_as_a_command_with_its_examples() {
        let doc = relais_api::openapi::build();
        let ops = operations(&doc);
        let command = |method: &str, path: &str| {
            let o = ops
                .iter()
                .find(|o| o.method == method && o.path == path)
                .unwrap();
            curl("http://relais.test", o)
        };
        let leaves = command("get", "/api/v3/leaves").unwrap();
        assert!(
            leaves.starts_with(
                "curl -H \"Authorization: Bearer $RELAIS_KEY\" \"http://relais.test/api/v3/leaves?"
            ) && leaves.contains("&date=between,2026-01-01,2026-01-31"),
            "{leaves}"
        );
        let one = command("get", "/api/v3/leaves/{id}").unwrap();
        assert!(
            one.contains("/api/v3/leaves/42-20260105-AM?fields="),
            "{one}"
        );
        let request = command("post", "/api/v3/leaveRequests").unwrap();
        assert!(
            request.starts_with("curl -X POST ")
                && request.contains(r#""comment":"Congés d'\''été""#),
            "{request}"
        );
        // A write whose body the document gives no example of is not shown.
        assert_eq!(
            command("post", "/timmi-absences/api/imports/v1.0/leavePeriods"),
            None
        );
        assert_eq!(encoded("a[b,c] d"), "a%5Bb,c%5D%20d");
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
