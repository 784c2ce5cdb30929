//! Checking an answer against the JSON schema the OpenAPI document gives it.

use chrono::NaiveDate;
use serde_json::Value;

/// The schema of the success `status` of `method path` in the document `doc`.
pub fn answer_schema(doc: &Value, method: &str, path: &str, status: u16) -> Value {
    let schema = &doc["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "the document gives no shape to {method} {path}'s {status}"
    );
    schema.clone()
}

/// Checks that `value` is as `schema` (a JSON schema of the document)
/// says: its type, its members required, each member and item in turn, a
/// value among those listed; `what` names it in a failure.
pub fn conforms(value: &Value, schema: &Value, what: &str) {
    check(value, schema, what, false);
}

/// As [`conforms`], and every member of an object whose schema lists its
/// members is among them: the document leaves nothing out.
pub fn conforms_wholly(value: &Value, schema: &Value, what: &str) {
    check(value, schema, what, true);
}

fn check(value: &Value, schema: &Value, what: &str, wholly: bool) {
    assert!(schema.is_object(), "{what}: no schema");
    if value.is_null() {
        assert!(schema["nullable"] == true, "{what} is null");
        return;
    }
    assert!(written_as(value, schema), "{what} is {value}, not {schema}");
    if let Some(listed) = schema["enum"].as_array() {
        assert!(
            listed.contains(value),
            "{what} is {value}, not one of {listed:?}"
        );
    }
    for member in schema["required"].as_array().into_iter().flatten() {
        let member = member.as_str().unwrap();
        assert!(
            value.get(member).is_some(),
            "{what} has no {member}: {value}"
        );
    }
    let properties = schema["properties"].as_object();
    for (name, member) in properties.into_iter().flatten() {
        if let Some(v) = value.get(name) {
            check(v, member, &format!("{what}.{name}"), wholly);
        }
    }
    if let (Some(object), Some(others)) = (value.as_object(), schema.get("additionalProperties")) {
        if others.is_object() {
            for (name, v) in object {
                if properties.is_none_or(|p| !p.contains_key(name)) {
                    check(v, others, &format!("{what}.{name}"), wholly);
                }
            }
        }
    } else if let (true, Some(object), Some(properties)) = (wholly, value.as_object(), properties) {
        for name in object.keys() {
            assert!(
                properties.contains_key(name),
                "{what}.{name} is answered but not documented"
            );
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(item, schema, &format!("{what}[{i}]"), wholly);
        }
    }
}

/// Whether `value` (not null) is of the type a JSON schema of the
/// document gives, its date formats included.
pub fn written_as(value: &Value, schema: &Value) -> bool {
    match schema["type"].as_str() {
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => match (value.as_str(), schema["format"].as_str()) {
            (Some(s), Some("date")) => NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
            (Some(s), Some("date-time")) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
            (text, _) => text.is_some(),
        },
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_member_left_out_of_the_document_is_found_only_when_asked() {
        let schema = json!({ "type": "object", "required": ["id"], "properties": {
            "id": { "type": "integer" },
            "counts": { "type": "object", "additionalProperties": { "type": "integer" } },
        } });
        let value = json!({ "id": 1, "counts": { "a": 1 }, "extra": true });
        conforms(&value, &schema, "the value");
        let wholly = std::panic::catch_unwind(|| conforms_wholly(&value, &schema, "the value"));
        assert!(wholly.is_err(), "`extra` is not documented");
        conforms_wholly(
            &json!({ "id": 1, "counts": { "a": 1 } }),
            &schema,
            "the value",
        );
        let bad_count = json!({ "id": 1, "counts": { "a": "one" } });
        let refused = std::panic::catch_unwind(|| conforms(&bad_count, &schema, "the value"));
        assert!(refused.is_err(), "a count must be an integer");
    }

    #[test]
    fn a_date_time_must_be_one() {
        let schema = json!({ "type": "string", "format": "date-time" });
        assert!(written_as(&json!("2026-12-05T10:00:00Z"), &schema));
        assert!(!written_as(&json!("5 December"), &schema));
        assert!(!written_as(&json!(3), &json!({ "type": "string" })));
    }
}
