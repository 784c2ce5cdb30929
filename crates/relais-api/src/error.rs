//! The one error type of the HTTP layer, mapped once to status codes and the
//! JSON shape `{"error": {"code", "message", "details"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use relais_core::access::Permission;
use relais_store::StoreError;
use serde_json::{json, Value};

/// An answer to a request that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: a malformed parameter or body.
    #[error("{message}")]
    BadRequest {
        /// The parameter concerned.
        parameter: String,
        /// What is wrong with it.
        message: String,
    },
    /// 400: a parameter the domain refuses, with its words in each
    /// language ([`DomainError::message_in`](relais_core::DomainError::message_in)).
    #[error("{}", .0.message)]
    BadValue(relais_core::DomainError),
    /// 401: no key, or a key that is unknown or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the key lacks a grant.
    #[error("this key lacks the grant {0}")]
    Forbidden(Permission),
    /// 403 for a reason other than a missing grant (e.g. an account the key may not use).
    #[error("{0}")]
    ForbiddenBecause(String),
    /// 429: the key made too many requests; retry after this many seconds.
    #[error("too many requests for this key; retry in {0} s")]
    TooManyRequests(u64),
    /// 413: a body larger than the endpoint accepts.
    #[error("the {what} is larger than {limit} bytes")]
    PayloadTooLarge {
        /// What was too large (`body`, `file`).
        what: &'static str,
        /// The most bytes accepted.
        limit: usize,
    },
    /// 404: nothing at this path or with this identifier.
    #[error("{0}")]
    NotFound(String),
    /// 503: the database does not answer.
    #[error("the database does not answer")]
    Unavailable(#[source] StoreError),
    /// Whatever the store said, mapped to 404, 409, 422 or 500.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// 400 for `parameter`, saying what is wrong with it.
    pub fn bad(parameter: &str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            parameter: parameter.to_owned(),
            message: message.into(),
        }
    }

    /// What is wrong, for a person reading `lang` (`fr` or English): a
    /// refusal of the domain's in its words for that language, anything else
    /// as the API says it.
    pub fn message_in(&self, lang: &str) -> String {
        match self {
            ApiError::BadValue(why) | ApiError::Store(StoreError::Domain(why)) => {
                why.message_in(lang).to_owned()
            }
            other => other.to_string(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, String, Value) {
        match self {
            ApiError::BadValue(why) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                why.message.clone(),
                json!({ "parameter": why.field }),
            ),
            ApiError::BadRequest { parameter, message } => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                message.clone(),
                json!({ "parameter": parameter }),
            ),
            ApiError::Unauthorized(message) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                message.clone(),
                Value::Null,
            ),
            ApiError::Forbidden(p) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                self.to_string(),
                json!({ "missingGrant": p.code(), "permission": p.label("fr") }),
            ),
            ApiError::ForbiddenBecause(message) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                message.clone(),
                Value::Null,
            ),
            ApiError::TooManyRequests(after) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                self.to_string(),
                json!({ "retryAfterSeconds": after }),
            ),
            ApiError::PayloadTooLarge { what, limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                self.to_string(),
                json!({ "parameter": what, "limitBytes": limit }),
            ),
            ApiError::NotFound(message) => (
                StatusCode::NOT_FOUND,
                "not_found",
                message.clone(),
                Value::Null,
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                self.to_string(),
                Value::Null,
            ),
            ApiError::Store(err) => match err {
                StoreError::NotFound { .. } => (
                    StatusCode::NOT_FOUND,
                    "not_found",
                    err.to_string(),
                    Value::Null,
                ),
                StoreError::Conflict { field, message } => (
                    StatusCode::CONFLICT,
                    "conflict",
                    message.clone(),
                    json!({ "field": field }),
                ),
                StoreError::Changed { entity, key } => (
                    StatusCode::CONFLICT,
                    "changed",
                    format!("{entity} {key} kept changing while this request was applied; send it again"),
                    Value::Null,
                ),
                StoreError::Domain(e) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "rule_violated",
                    e.message.clone(),
                    json!({ "field": e.field }),
                ),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "relais could not complete the request; the cause is in its log".to_owned(),
                    Value::Null,
                ),
            },
        }
    }
}

impl From<relais_app::AppError> for ApiError {
    fn from(e: relais_app::AppError) -> Self {
        use relais_app::AppError;
        match e {
            AppError::AlreadyInstalled(message) => Self::Store(StoreError::Conflict {
                field: "app",
                message,
            }),
            AppError::Grants(message) => Self::Store(StoreError::Domain(
                relais_core::DomainError::new("grants", message),
            )),
            AppError::NotATestBase(message) => Self::Store(StoreError::Conflict {
                field: "base",
                message,
            }),
            AppError::Store(e) => Self::Store(e),
        }
    }
}

impl From<relais_core::DomainError> for ApiError {
    fn from(e: relais_core::DomainError) -> Self {
        ApiError::Store(StoreError::Domain(e))
    }
}

impl From<Permission> for ApiError {
    fn from(p: Permission) -> Self {
        ApiError::Forbidden(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, details) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, source = ?std::error::Error::source(&self), "request failed");
        }
        let body = json!({ "error": { "code": code, "message": message, "details": details } });
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests(after) = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, after.max(1).into());
        }
        close_if_unread(&mut response);
        response
    }
}

/// A body refused for its size was not read to its end: the connection
/// cannot carry another request, and the client is told so rather than
/// finding it closed under its next request.
fn close_if_unread(response: &mut Response) {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
}

/// Gives the answers axum's own extractors make (a malformed query string,
/// JSON body, path segment or multipart form: plain text) and its router's
/// refusal of a method (no body at all) the API's JSON error shape, so that
/// every error of the API reads alike.
pub async fn json_rejections(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Kept for a refused method's message (both are cheap to clone).
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let response = next.run(request).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default());
    let plain = content_type.is_some_and(|v| v.starts_with("text/plain"));
    let bare_405 = status == StatusCode::METHOD_NOT_ALLOWED && content_type.is_none();
    if !(status.is_client_error() && (plain || bare_405)) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let mut text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    if bare_405 && text.is_empty() {
        // The router adds the `Allow` header after this layer.
        text = format!(
            "{method} is not allowed on {}: the answer's Allow header lists the methods it takes",
            uri.path()
        );
    }
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "rule_violated",
        _ => "bad_request",
    };
    let body = json!({ "error": { "code": code, "message": text, "details": Value::Null } });
    let mut out = (status, Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    close_if_unread(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_core::DomainError;

    #[test]
    fn store_errors_map_to_statuses() {
        let cases = [
            (
                ApiError::from(StoreError::NotFound {
                    entity: "employee",
                    key: "4".into(),
                }),
                404,
            ),
            (
                ApiError::from(StoreError::Conflict {
                    field: "mail",
                    message: "taken".into(),
                }),
                409,
            ),
            (
                ApiError::from(StoreError::Domain(DomainError::new(
                    "endDate",
                    "before start",
                ))),
                422,
            ),
            (ApiError::from(StoreError::Migrate("boom".into())), 500),
            (
                ApiError::BadRequest {
                    parameter: "limit".into(),
                    message: "too big".into(),
                },
                400,
            ),
            (
                ApiError::BadValue(DomainError::said("to", "ends before", "finit avant")),
                400,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(err.parts().0.as_u16(), status);
        }
    }

    #[test]
    fn a_domain_refusal_reads_in_the_viewer_s_language_and_the_api_s_english() {
        let refused = ApiError::BadValue(DomainError::said("to", "ends before", "finit avant"));
        let (_, code, message, details) = refused.parts();
        assert_eq!((code, message.as_str()), ("bad_request", "ends before"));
        assert_eq!(details["parameter"], "to");
        assert_eq!(refused.message_in("fr"), "finit avant");
        assert_eq!(refused.message_in("en"), "ends before");
        let stored = ApiError::from(DomainError::said("mail", "taken", "déjà pris"));
        assert_eq!(stored.message_in("fr"), "déjà pris");
        // Anything else as the API says it.
        assert_eq!(
            ApiError::NotFound("no such key".into()).message_in("fr"),
            "no such key"
        );
    }

    #[test]
    fn internal_causes_stay_in_the_log() {
        let (_, _, message, _) =
            ApiError::from(StoreError::Migrate("secret detail".into())).parts();
        assert!(!message.contains("secret detail"));
    }
}
