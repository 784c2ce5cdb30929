//! API keys: how they are made, how a request proves it holds one, the
//! per-key rate limit (shared by every process through the store), and the
//! audit trail of every authenticated request.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use relais_app::keys::hash_secret;
use relais_core::access::{ApiKey, AuditEntry, Permission, Role};
use relais_core::ids::BaseId;
use relais_store::{BaseVersions, RateDecision, Scope, SharedStore};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The key that made the request; handlers read it from the request's extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key, with its base and role.
    pub key: Arc<ApiKey>,
    /// The base's data version when the request began
    /// ([`relais_store::HrStore::base_version`]): what is remembered of the
    /// base (counts, names) holds for this version.
    pub data_version: i64,
    /// The base's structure version when the request began: what is
    /// remembered of its departments, establishments and personnel-file
    /// fields holds for this version.
    pub structure_version: i64,
    /// What the key may see, computed once from its role when the request
    /// comes in (establishments; employees whose contract starts later
    /// when it holds that grant; former employees only when a request asks,
    /// see [`Caller::scope_with_former`]). The store applies it to every
    /// list it reads for the request.
    pub scope: Scope,
}

impl Caller {
    /// The key that made a request, from the request's extensions. Behind
    /// the key middleware it is always there; a request that reached no key
    /// is refused as one without a key.
    pub fn of(extensions: &axum::http::Extensions) -> Result<&Caller, ApiError> {
        extensions
            .get::<Caller>()
            .ok_or_else(|| ApiError::Unauthorized("no API key".into()))
    }

    /// The caller of `key` at the base's versions `versions`, its scope
    /// judged on today's date in Paris.
    pub fn new(key: Arc<ApiKey>, versions: BaseVersions) -> Self {
        let role = &key.role;
        let scope = Scope {
            establishments: role.establishments.clone(),
            today: relais_core::org::TimeZone::PARIS.today(),
            future: role.has(Permission::FutureEmployees),
            former: false,
        };
        Self {
            key,
            data_version: versions.data,
            structure_version: versions.structure,
            scope,
        }
    }

    /// The caller's scope with former employees too, when its key may read
    /// them (a request that asks for them).
    pub fn scope_with_former(&self) -> Scope {
        Scope {
            former: self.role().has(Permission::FormerEmployees),
            ..self.scope.clone()
        }
    }

    /// The base the key opens.
    pub fn base(&self) -> BaseId {
        self.key.base_id
    }

    /// The key's role.
    pub fn role(&self) -> &Role {
        &self.key.role
    }
}

/// How many employee records an answer disclosed, for the audit trail.
/// Handlers that return employees put it in the response's extensions.
#[derive(Debug, Clone, Copy)]
pub struct EmployeeRecords(pub i64);

/// How many records of any resource a list answered with, for the audit
/// trail (the list envelopes put it in the response's extensions; an
/// answer without it held one record when it was a successful read).
#[derive(Debug, Clone, Copy)]
pub struct ListedRecords(pub i64);

/// Reads the key text from `Authorization: lucca application=<key>` or `Bearer <key>`.
fn key_text(headers: &HeaderMap) -> Result<&str, ApiError> {
    let raw = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "no API key: send the header Authorization: lucca application=<key>".into(),
            )
        })?
        .to_str()
        .map_err(|_| {
            ApiError::Unauthorized("the Authorization header is not readable text".into())
        })?
        .trim();
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with("lucca ") {
        let rest = raw[6..].trim();
        if rest.len() > 12 && rest[..12].eq_ignore_ascii_case("application=") {
            return Ok(rest[12..].trim());
        }
    } else if lower.starts_with("bearer ") {
        return Ok(raw[7..].trim());
    }
    Err(ApiError::Unauthorized(
        "the Authorization header must read 'lucca application=<key>' or 'Bearer <key>'".into(),
    ))
}

/// Finds the live key a request presents.
pub async fn authenticate(
    store: &SharedStore,
    headers: &HeaderMap,
) -> Result<(ApiKey, BaseVersions), ApiError> {
    let text = key_text(headers)?;
    let unknown = || ApiError::Unauthorized("this API key is not known".into());
    let (prefix, secret) = text
        .strip_prefix("relais_")
        .and_then(|rest| rest.split_once('_'))
        .ok_or_else(unknown)?;
    let (key, versions) = relais_store::read_few(store.api_key_by_prefix(prefix))
        .await?
        .ok_or_else(unknown)?;
    let presented = hash_secret(secret);
    let current = bool::from(presented.as_bytes().ct_eq(key.secret_hash.as_bytes()));
    // After a rotation, the previous secret opens the key for its grace period.
    let previous = match (&key.previous_secret_hash, key.previous_valid_until) {
        (Some(hash), Some(until)) if relais_core::now() < until => {
            bool::from(presented.as_bytes().ct_eq(hash.as_bytes()))
        }
        _ => false,
    };
    if !current && !previous {
        return Err(unknown());
    }
    if key.revoked_at.is_some() {
        return Err(ApiError::Unauthorized("this API key was revoked".into()));
    }
    Ok((key, versions))
}

/// Middleware of the key-protected routes: authenticates, applies the rate
/// limit, runs the handler, and hands the request to the audit trail's
/// writer (the answer does not wait for the database).
pub async fn require_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let (key, versions) = match authenticate(&state.store, request.headers()).await {
        Ok((key, version)) => (Arc::new(key), version),
        Err(e) => return e.into_response(),
    };
    crate::layers::record_actor(request.extensions(), || format!("key:{}", key.id));
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), |p| p.to_string());
    let decision = state.rate_limit.take(&state.store, key.id).await;
    let response = match decision {
        Err(e) => return ApiError::Unavailable(e).into_response(),
        // Refused requests are counted per key and minute by the store, not
        // written one row each to the audit trail.
        Ok(RateDecision::Limited(wait)) => return ApiError::TooManyRequests(wait).into_response(),
        Ok(RateDecision::Allowed(_)) => {
            request
                .extensions_mut()
                .insert(Caller::new(key.clone(), versions));
            // What the request changes, the change feed says this key did.
            relais_store::writing_as(format!("api:{}", key.name), next.run(request)).await
        }
    };
    let read_one = i64::from(method == "GET" && response.status().is_success());
    let entry = AuditEntry {
        base_id: key.base_id,
        key_id: key.id,
        method,
        path,
        status: response.status().as_u16(),
        employee_records: response
            .extensions()
            .get::<EmployeeRecords>()
            .map_or(0, |r| r.0),
        records: response
            .extensions()
            .get::<ListedRecords>()
            .map(|r| r.0)
            .unwrap_or(read_one),
        at: relais_core::now(),
    };
    state.audit.record(entry).await;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_forms() {
        let mut h = HeaderMap::new();
        assert!(key_text(&h).is_err());
        h.insert(
            "authorization",
            "lucca application=relais_ab_cd".parse().unwrap(),
        );
        assert_eq!(key_text(&h).unwrap(), "relais_ab_cd");
        h.insert(
            "authorization",
            "Lucca Application=relais_ab_cd".parse().unwrap(),
        );
        assert_eq!(key_text(&h).unwrap(), "relais_ab_cd");
        h.insert("authorization", "Bearer relais_ab_cd".parse().unwrap());
        assert_eq!(key_text(&h).unwrap(), "relais_ab_cd");
        h.insert("authorization", "Basic dXNlcg==".parse().unwrap());
        assert!(key_text(&h).is_err());
    }

    #[test]
    fn secrets_are_hashed() {
        let h = hash_secret("abc");
        assert_eq!(h.len(), 64);
        assert_ne!(h, "abc");
        assert_eq!(h, hash_secret("abc"));
    }
}
