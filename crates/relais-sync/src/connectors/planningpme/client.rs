//! PlanningPME's API: `X-APPKEY` on every call, a bearer token from
//! `PUT token` with the customer's assertion, records put and deleted by
//! the base's identifiers.

use crate::engine::Setup;
use crate::error::SyncError;
use crate::http::PartnerApi;
use crate::Side;
use serde_json::Value;
use std::collections::BTreeMap;

/// A client of one customer's PlanningPME, with its token once obtained.
#[derive(Clone)]
pub struct PlanningPmeClient {
    api: PartnerApi,
    app_key: String,
    assertion: String,
    token: String,
}

impl std::fmt::Debug for PlanningPmeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials are secrets: never printed.
        f.debug_struct("PlanningPmeClient")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl PlanningPmeClient {
    /// The client `setup` describes (without a token yet).
    pub fn new(setup: &Setup) -> Result<Self, SyncError> {
        let secrets: super::Secrets = setup.typed_secrets()?;
        Ok(Self {
            api: setup.partner_api(),
            app_key: secrets.app_key,
            assertion: secrets.assertion,
            token: String::new(),
        })
    }

    /// Exchanges the assertion for a token, kept for the calls that follow.
    pub async fn sign_in(&mut self) -> Result<(), SyncError> {
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", self.assertion.as_str()),
        ];
        let (_, body) = self
            .api
            .send(reqwest::Method::PUT, "token", |req| {
                req.header("X-APPKEY", &self.app_key).form(&form)
            })
            .await?;
        self.token =
            body["access_token"]
                .as_str()
                .map(str::to_owned)
                .ok_or(SyncError::Malformed {
                    what: Side::Partner,
                    reason: "no access_token".into(),
                })?;
        Ok(())
    }

    /// Signs in and reads the departments: the app key and assertion work.
    pub async fn check(mut self) -> Result<(), SyncError> {
        self.sign_in().await?;
        self.send(reqwest::Method::GET, "api/department", None)
            .await
    }

    /// Sends one call with the app key and token.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&BTreeMap<String, Value>>,
    ) -> Result<(), SyncError> {
        self.api
            .send(method, path, |req| {
                let req = req
                    .header("X-APPKEY", &self.app_key)
                    .bearer_auth(&self.token);
                match body {
                    Some(b) => req.json(b),
                    None => req,
                }
            })
            .await
            .map(|_| ())
    }
}
