//! What the resources take from a request: the key that asks, the query's
//! pairs and the JSON body, each refused with a clear error when malformed
//! or too large.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::{Map, Value};

/// A keyed request's common parts, taken whole: the state, the key that
/// asks and the headers (for the links an answer holds). A request that
/// reached no key is refused as one without a key.
pub struct Keyed {
    /// The application's state.
    state: crate::AppState,
    /// The key that asks.
    caller: crate::auth::Caller,
    /// The request's headers.
    headers: HeaderMap,
}

impl Keyed {
    /// The state, the key that asks and the headers.
    pub fn into_parts(self) -> (crate::AppState, crate::auth::Caller, HeaderMap) {
        (self.state, self.caller, self.headers)
    }
}

impl axum::extract::FromRequestParts<crate::AppState> for Keyed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::AppState,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            state: state.clone(),
            caller: crate::auth::Caller::of(&parts.extensions)?.clone(),
            headers: parts.headers.clone(),
        })
    }
}

/// A v3 list request, taken whole: its [`Keyed`] parts and the query,
/// parsed with the list's own parameters by [`V3List::query`]. The pairs
/// are refused as [`Pairs`] refuses them.
pub struct V3List {
    /// The state, the key and the headers.
    keyed: Keyed,
    /// The request's query parameters.
    pairs: Vec<(String, String)>,
}

impl V3List {
    /// The query, `options` naming the list's own parameters (kept aside
    /// instead of being read as filters).
    pub fn query(&self, options: &[&str]) -> Result<crate::query::V3Query, ApiError> {
        crate::query::V3Query::parse(&self.pairs, options)
    }

    /// The state, the key that asks and the headers, once the query is read.
    pub fn into_parts(self) -> (crate::AppState, crate::auth::Caller, HeaderMap) {
        self.keyed.into_parts()
    }

    /// The list narrowed to the record whose identifier is `raw`, for
    /// `GET <list>/{id}`: the query as asked (fields, options), any `id`
    /// filter or paging of its own set aside. `what` names the kind of
    /// record in the refusal of an identifier that is not a number.
    pub fn of_one(mut self, raw: &str, what: &str) -> Result<Self, ApiError> {
        let id: i64 = raw.parse().map_err(|_| ApiError::BadRequest {
            parameter: "id".into(),
            message: format!("'{raw}' is not an identifier: {what} identifiers are whole numbers"),
        })?;
        self.pairs.retain(|(k, _)| k != "id" && k != "paging");
        self.pairs.push(("id".into(), id.to_string()));
        Ok(self)
    }
}

impl axum::extract::FromRequestParts<crate::AppState> for V3List {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::AppState,
    ) -> Result<Self, ApiError> {
        let keyed = Keyed::from_request_parts(parts, state).await?;
        let Pairs(pairs) = Pairs::from_request_parts(parts, state).await?;
        Ok(Self { keyed, pairs })
    }
}

/// Where a v4 page was asked, to link its neighbours: taken from the
/// request like [`Pairs`], whose refusals it shares.
pub struct V4Page {
    /// The request's headers (for the host).
    pub headers: HeaderMap,
    /// The request's path.
    pub uri: axum::http::Uri,
    /// The request's query parameters.
    pub pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for V4Page {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        let Pairs(pairs) = Pairs::from_request_parts(parts, state).await?;
        Ok(Self {
            headers: parts.headers.clone(),
            uri: parts.uri.clone(),
            pairs,
        })
    }
}

/// The most bytes a JSON body may hold.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// How much of a refused body relais reads before answering (beyond it,
/// the connection is closed on the client).
const DRAIN_CAP: u64 = 64 * 1024 * 1024;

/// The length a request says its body has (`Content-Length`).
fn declared_length(request: &axum::extract::Request) -> Option<usize> {
    request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads a refused body to its end (up to [`DRAIN_CAP`]) and drops it, so
/// that the client, still sending, reads the answer instead of a broken
/// connection.
async fn drain(body: axum::body::Body) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = 0u64;
    while read < DRAIN_CAP {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => break,
        }
    }
}

/// Middleware of routes taking a large body: one that says it holds more
/// than `limit` bytes is answered 413 (naming `what` and `shown` as its
/// limit) after it has been read, not while the client still sends it.
pub async fn refuse_oversized(
    limit: usize,
    what: &'static str,
    shown: usize,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if declared_length(&request).is_some_and(|n| n > limit) {
        drain(request.into_body()).await;
        return ApiError::PayloadTooLarge { what, limit: shown }.into_response();
    }
    next.run(request).await
}

/// The most bytes of a query string.
pub const QUERY_LIMIT: usize = 16 * 1024;

/// A JSON object body of at most [`JSON_BODY_LIMIT`] bytes; anything else is
/// a 413 or a 400 in the API's error shape.
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, _: &S) -> Result<Self, ApiError> {
        json_object(&body_bytes(request).await?).map(JsonBody)
    }
}

/// A body that may be left out: none (or only white space) is `None`,
/// anything else is read as [`JsonBody`] reads it.
impl<S: Send + Sync> axum::extract::OptionalFromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        _: &S,
    ) -> Result<Option<Self>, ApiError> {
        let bytes = body_bytes(request).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        json_object(&bytes).map(|map| Some(JsonBody(map)))
    }
}

/// A request's body, up to [`JSON_BODY_LIMIT`] bytes (a larger one is
/// refused without being read whole).
async fn body_bytes(request: axum::extract::Request) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::PayloadTooLarge {
        what: "body",
        limit: JSON_BODY_LIMIT,
    };
    if declared_length(&request).is_some_and(|n| n > JSON_BODY_LIMIT) {
        drain(request.into_body()).await;
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(request.into_body(), JSON_BODY_LIMIT)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                too_large()
            } else {
                ApiError::BadRequest {
                    parameter: "body".into(),
                    message: format!("the body could not be read: {e}"),
                }
            }
        })?;
    Ok(bytes)
}

/// Parses a JSON object body, or answers 400 saying where it is malformed
/// (a member named twice in one object included: which of its values was
/// meant is anyone's guess).
pub fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let Unambiguous(value) = serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
        parameter: "body".into(),
        message: format!("the body is not valid JSON: {e}"),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::BadRequest {
            parameter: "body".into(),
            message: "the body must be a JSON object".into(),
        }),
    }
}

/// A JSON value read as [`Value`] is, but refused when an object, at any
/// depth, names a member twice.
struct Unambiguous(Value);

impl<'de> serde::Deserialize<'de> for Unambiguous {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnambiguousVisitor).map(Unambiguous)
    }
}

/// Builds the [`Value`] of [`Unambiguous`].
struct UnambiguousVisitor;

impl<'de> serde::de::Visitor<'de> for UnambiguousVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a JSON number")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unambiguous(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                return Err(serde::de::Error::custom(format!(
                    "the member '{name}' is given twice"
                )));
            }
            let Unambiguous(value) = map.next_value()?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

/// The query parameters of a request, in order; a malformed query string is a 400.
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    /// The value of `name`, if given; given twice, a 400 naming it.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut given = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = given.next();
        match given.next() {
            Some(_) => Err(crate::query::Once::twice(name)),
            None => Ok(first),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Pairs {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        if parts.uri.query().map_or(0, str::len) > QUERY_LIMIT {
            return Err(ApiError::BadRequest {
                parameter: "query".into(),
                message: format!("the query string is longer than {QUERY_LIMIT} bytes"),
            });
        }
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(pairs)| pairs)
            .map_err(|e| ApiError::BadRequest {
                parameter: "query".into(),
                message: format!("the query string is malformed: {}", e.body_text()),
            })?;
        // How many parameters is the query parser's to bound (V3Query, V4Query).
        Ok(Pairs(pairs))
    }
}

/// The language an answer's labels and names are given in (standard
/// fields' labels, countries' names): English when the request's
/// `Accept-Language` puts English before French, else French (Lucca's
/// own).
pub(crate) fn answer_language(headers: &HeaderMap) -> &'static str {
    let accepted = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let first = accepted
        .split(',')
        .map(|tag| tag.split(';').next().unwrap_or_default().trim())
        .map(|tag| {
            tag.split('-')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .find(|primary| primary == "en" || primary == "fr");
    match first.as_deref() {
        Some("en") => "en",
        _ => "fr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_first_of_english_or_french_the_client_accepts() {
        let asked = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(axum::http::header::ACCEPT_LANGUAGE, value.parse().unwrap());
            answer_language(&headers)
        };
        assert_eq!(asked("en-GB,en;q=0.9"), "en");
        assert_eq!(asked("de-DE, EN;q=0.8, fr;q=0.5"), "en");
        assert_eq!(asked("fr-FR,en;q=0.8"), "fr");
        assert_eq!(asked("de"), "fr", "neither: Lucca's own labels");
        assert_eq!(answer_language(&HeaderMap::new()), "fr");
    }

    fn read(body: &str) -> Result<Map<String, Value>, String> {
        json_object(&Bytes::from(body.to_owned())).map_err(|e| e.to_string())
    }

    #[test]
    fn a_body_reads_as_serde_json_reads_it() {
        let body = r#"{"a": 1, "b": -2, "c": 1.5, "d": "é\u0000", "e": null, "f": [true, {"g": []}], "h": 18446744073709551615}"#;
        let expected: Value = serde_json::from_str(body).unwrap();
        assert_eq!(Value::Object(read(body).unwrap()), expected);
    }

    #[test]
    fn a_member_named_twice_is_refused_where_it_stands() {
        let e = read(r#"{"jobTitle": "a", "jobTitle": "b"}"#).unwrap_err();
        assert!(e.contains("the member 'jobTitle' is given twice"), "{e}");
        assert!(e.contains("line 1 column"), "{e}");
        let e = read(r#"{"address": {"city": "Paris", "city": "Lyon"}}"#).unwrap_err();
        assert!(e.contains("'city' is given twice"), "{e}");
        let e = read(r#"{"items": [{"id": 1, "id": 2}]}"#).unwrap_err();
        assert!(e.contains("'id' is given twice"), "{e}");
        // The same name in two objects is no repetition.
        assert!(read(r#"{"a": {"id": 1}, "b": {"id": 1}}"#).is_ok());
    }
}
