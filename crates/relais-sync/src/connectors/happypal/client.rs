//! HappyPal's API, as relais defines it (see the simulator in
//! `relais-sandbox`): profiles keyed by the base's employee identifier,
//! a bearer token on every call.

use crate::engine::{Setup, Written};
use crate::error::SyncError;
use crate::http::{Credential, SignedApi};
use crate::Side;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Profiles read back per page.
pub const PAGE: usize = 1_000;

/// A client of one customer's HappyPal.
#[derive(Debug, Clone)]
pub struct HappyPalClient {
    api: SignedApi,
}

impl HappyPalClient {
    /// The client `setup` describes.
    pub fn new(setup: &Setup) -> Result<Self, SyncError> {
        let secrets: super::Secrets = setup.typed_secrets()?;
        Ok(Self {
            api: SignedApi::new(setup.partner_api(), Credential::Bearer(secrets.token)),
        })
    }

    /// Reads one profile page: the token works and HappyPal answers.
    pub async fn check(&self) -> Result<(), SyncError> {
        let (_, body) = self
            .api
            .send(
                reqwest::Method::GET,
                "api/v1/employees?page=1&per_page=1",
                None,
            )
            .await?;
        match body.get("items") {
            Some(Value::Array(_)) => Ok(()),
            _ => Err(SyncError::Malformed {
                what: Side::Partner,
                reason: "no items in HappyPal's list of profiles".into(),
            }),
        }
    }

    /// Creates, links or updates one profile.
    pub async fn upsert(
        &self,
        key: &str,
        fields: &BTreeMap<String, Value>,
    ) -> Result<Written, SyncError> {
        let body = serde_json::to_value(fields).unwrap_or_default();
        let (status, profile) = self
            .api
            .send(
                reqwest::Method::PUT,
                &format!("api/v1/employees/{key}"),
                Some(&body),
            )
            .await?;
        Ok(Written {
            partner_id: profile["id"].as_u64().map(|i| i.to_string()),
            // A 200 to a create means HappyPal already had the profile.
            existed: status == 200,
        })
    }

    /// Creates, links or updates up to 100 profiles in one request; one
    /// answer per profile, in order.
    pub async fn upsert_batch(
        &self,
        profiles: &[(&str, &BTreeMap<String, Value>)],
    ) -> Vec<Result<Written, SyncError>> {
        let items: Vec<Value> = profiles
            .iter()
            .map(|(key, fields)| json!({ "external_id": key, "profile": fields }))
            .collect();
        let answer = self
            .api
            .send(
                reqwest::Method::POST,
                "api/v1/employees/batch",
                Some(&json!({ "items": items })),
            )
            .await;
        let body = match answer {
            Ok((_, body)) => body,
            Err(e) => return profiles.iter().map(|_| Err(e.again())).collect(),
        };
        let results = body["results"].as_array().cloned().unwrap_or_default();
        profiles
            .iter()
            .enumerate()
            .map(|(n, (key, _))| {
                let r = results
                    .get(n)
                    .filter(|r| r["external_id"].as_str() == Some(*key))
                    .ok_or_else(|| SyncError::Malformed {
                        what: Side::Partner,
                        reason: format!("no answer for profile {key} in HappyPal's batch answer"),
                    })?;
                match r["status"].as_u64() {
                    Some(status @ (200 | 201)) => Ok(Written {
                        partner_id: r["profile"]["id"].as_u64().map(|i| i.to_string()),
                        existed: status == 200,
                    }),
                    status => Err(SyncError::Partner {
                        status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(0),
                        body: r["error"].as_str().unwrap_or("refused").to_owned(),
                    }),
                }
            })
            .collect()
    }

    /// Deletes one profile; a profile HappyPal no longer has counts as deleted.
    pub async fn delete(&self, key: &str) -> Result<(), SyncError> {
        crate::http::gone_is_done(
            self.api
                .send(
                    reqwest::Method::DELETE,
                    &format!("api/v1/employees/{key}"),
                    None,
                )
                .await,
        )
    }

    /// One page of profiles (changed since `since` when given), with
    /// HappyPal's clock when it answered.
    pub async fn page(
        &self,
        page: usize,
        since: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), SyncError> {
        let mut path = format!("api/v1/employees?page={page}&per_page={PAGE}");
        if let Some(t) = since {
            path.push_str("&updated_since=");
            path.push_str(&t.replace('+', "%2B"));
        }
        let (_, mut body) = self.api.send(reqwest::Method::GET, &path, None).await?;
        let as_of = body["as_of"].as_str().map(str::to_owned);
        match body["items"].take() {
            Value::Array(items) => Ok((items, as_of)),
            _ => Err(SyncError::Malformed {
                what: Side::Partner,
                reason: "no items in HappyPal's list of profiles".into(),
            }),
        }
    }
}
