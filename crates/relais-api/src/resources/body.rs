//! Reading the members of a JSON body: each of the wrong type is refused
//! with an answer that names it, and a member an endpoint does not take is
//! refused rather than ignored (a misspelt `topic` or `isAproved` would
//! otherwise be read as absent, and change what is written).

use crate::error::ApiError;
use chrono::NaiveDate;
use relais_core::DomainError;
use serde_json::{Map, Value};

/// Refuses the first member of `body` that is in none of the lists
/// `takes`, naming it and listing what `what` (e.g. "a leave request")
/// takes.
pub fn only(body: &Map<String, Value>, takes: &[&[&str]], what: &str) -> Result<(), ApiError> {
    let taken = |k: &str| takes.iter().any(|list| list.contains(&k));
    match body.keys().find(|k| !taken(k)) {
        None => Ok(()),
        Some(unknown) => Err(ApiError::BadRequest {
            parameter: unknown.clone(),
            message: format!(
                "'{unknown}' is not a member of {what}; it takes {}",
                takes.concat().join(", ")
            ),
        }),
    }
}

/// A text member; absent or null is `None`.
pub fn text<'a>(
    body: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(DomainError::new(field, format!("{other} is not a text")).into()),
    }
}

/// An identifier member (a whole number); absent or null is `None`.
pub fn id(body: &Map<String, Value>, field: &'static str) -> Result<Option<i64>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| DomainError::new(field, format!("{v} is not an identifier")).into()),
    }
}

/// A date member, `YYYY-MM-DD`; absent or null is `None`.
pub fn date(body: &Map<String, Value>, field: &'static str) -> Result<Option<NaiveDate>, ApiError> {
    match text(body, field)? {
        None => Ok(None),
        Some(s) => crate::query::parse_date(s).map(Some).ok_or_else(|| {
            DomainError::new(field, format!("'{s}' is not a date YYYY-MM-DD")).into()
        }),
    }
}

/// A `true` or `false` member; absent or null is `None`.
pub fn flag(body: &Map<String, Value>, field: &'static str) -> Result<Option<bool>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(DomainError::new(field, format!("{other} is not true or false")).into()),
    }
}

/// A member that must be there: `v`, or an answer that says `field` is
/// required.
pub fn required<T>(v: Option<T>, field: &'static str) -> Result<T, ApiError> {
    v.ok_or_else(|| DomainError::new(field, "is required").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn said(e: ApiError) -> String {
        match e {
            ApiError::BadRequest { parameter, message } => format!("{parameter}: {message}"),
            ApiError::Store(relais_store::StoreError::Domain(e)) => {
                format!("{}: {}", e.field, e.message)
            }
            other => panic!("not a refusal: {other:?}"),
        }
    }

    #[test]
    fn members_of_the_wrong_type_are_named() {
        let b = body(json!({"a": 1, "t": "x", "d": "2026-02-30", "f": "yes", "n": null}));
        assert_eq!(said(text(&b, "a").unwrap_err()), "a: 1 is not a text");
        assert_eq!(
            said(id(&b, "t").unwrap_err()),
            "t: \"x\" is not an identifier"
        );
        assert_eq!(
            said(date(&b, "d").unwrap_err()),
            "d: '2026-02-30' is not a date YYYY-MM-DD"
        );
        assert_eq!(
            said(flag(&b, "f").unwrap_err()),
            "f: \"yes\" is not true or false"
        );
        assert_eq!(
            said(required(id(&b, "z").unwrap(), "z").unwrap_err()),
            "z: is required"
        );
        assert_eq!(
            (
                text(&b, "n").unwrap(),
                id(&b, "n").unwrap(),
                flag(&b, "n").unwrap()
            ),
            (None, None, None)
        );
        assert_eq!(
            (text(&b, "t").unwrap(), id(&b, "a").unwrap()),
            (Some("x"), Some(1))
        );
    }

    #[test]
    fn a_member_not_taken_is_refused_by_name() {
        let b = body(json!({"url": "https://x", "topic": "employee.*"}));
        assert_eq!(
            said(only(&b, &[&["url"], &["topics"]], "an endpoint").unwrap_err()),
            "topic: 'topic' is not a member of an endpoint; it takes url, topics"
        );
        assert!(only(&b, &[&["url", "topic"]], "an endpoint").is_ok());
    }
}
