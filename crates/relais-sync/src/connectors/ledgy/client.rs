//! Ledgy's stakeholder API (as relais defines it, see
//! `relais_sandbox::ledgy`): `Authorization: Bearer <token>` on every call.

use crate::engine::Setup;
use crate::error::SyncError;
use crate::http::{Credential, SignedApi};
use crate::Side;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Stakeholders asked for per page.
pub const PAGE: usize = 1000;

/// A stakeholder, as relais reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stakeholder {
    /// The customer's stakeholder identifier.
    pub identifier: String,
    /// Its fields.
    #[serde(default)]
    pub fields: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listing {
    stakeholders: Vec<Stakeholder>,
    #[serde(default)]
    has_more: bool,
}

/// A client of one customer's Ledgy account.
#[derive(Debug, Clone)]
pub struct LedgyClient {
    api: SignedApi,
}

/// `text` made safe for a URL path segment or query value.
fn escape(text: &str) -> String {
    relais_core::integration::percent_encode(text, b"")
}

impl LedgyClient {
    /// The client `setup` describes.
    pub fn new(setup: &Setup) -> Result<Self, SyncError> {
        let secrets: super::Secrets = setup.typed_secrets()?;
        Ok(Self {
            api: SignedApi::new(setup.partner_api(), Credential::Bearer(secrets.api_token)),
        })
    }

    fn listing(answer: Value) -> Result<Listing, SyncError> {
        serde_json::from_value(answer).map_err(|e| SyncError::Malformed {
            what: Side::Partner,
            reason: format!("a page of stakeholders: {e}"),
        })
    }

    /// Reads one stakeholder's page: the token works.
    pub async fn check(&self) -> Result<(), SyncError> {
        let (_, answer) = self
            .api
            .send(
                reqwest::Method::GET,
                "api/v1/stakeholders?page=1&limit=1",
                None,
            )
            .await?;
        Self::listing(answer).map(|_| ())
    }

    /// Page `page` (from 1) of every stakeholder; whether more follow.
    pub async fn page(&self, page: usize) -> Result<(Vec<Stakeholder>, bool), SyncError> {
        let (_, answer) = self
            .api
            .send(
                reqwest::Method::GET,
                &format!("api/v1/stakeholders?page={page}&limit={PAGE}"),
                None,
            )
            .await?;
        let listing = Self::listing(answer)?;
        Ok((listing.stakeholders, listing.has_more))
    }

    /// The stakeholders Ledgy holds among `identifiers`.
    pub async fn some(&self, identifiers: &[&str]) -> Result<Vec<Stakeholder>, SyncError> {
        let mut out = Vec::new();
        for chunk in identifiers.chunks(100) {
            let list: Vec<String> = chunk.iter().map(|i| escape(i)).collect();
            let (_, answer) = self
                .api
                .send(
                    reqwest::Method::GET,
                    &format!(
                        "api/v1/stakeholders?limit={PAGE}&identifiers={}",
                        list.join(",")
                    ),
                    None,
                )
                .await?;
            out.extend(Self::listing(answer)?.stakeholders);
        }
        Ok(out)
    }

    /// Creates or replaces the stakeholder `identifier`'s fields: whether it existed.
    pub async fn put(
        &self,
        identifier: &str,
        fields: &Map<String, Value>,
    ) -> Result<bool, SyncError> {
        let (status, _) = self
            .api
            .send(
                reqwest::Method::PUT,
                &format!("api/v1/stakeholders/{}", escape(identifier)),
                Some(&json!({ "fields": fields })),
            )
            .await?;
        Ok(status == 200)
    }

    /// Creates or replaces up to 100 stakeholders in one request: per
    /// stakeholder, in order, whether it existed, or why Ledgy refused it.
    pub async fn put_batch(
        &self,
        items: &[(&str, &Map<String, Value>)],
    ) -> Result<Vec<Result<bool, SyncError>>, SyncError> {
        let body = json!({
            "stakeholders": items
                .iter()
                .map(|(identifier, fields)| json!({ "identifier": identifier, "fields": fields }))
                .collect::<Vec<_>>(),
        });
        let (_, answer) = self
            .api
            .send(
                reqwest::Method::POST,
                "api/v1/stakeholders/batch",
                Some(&body),
            )
            .await?;
        let results = answer["results"]
            .as_array()
            .filter(|r| r.len() == items.len())
            .ok_or_else(|| SyncError::Malformed {
                what: Side::Partner,
                reason: format!(
                    "a batch of {} stakeholders answered without one result each",
                    items.len()
                ),
            })?;
        Ok(results
            .iter()
            .map(|r| match r["status"].as_str() {
                Some("created") => Ok(false),
                Some("updated") => Ok(true),
                _ => Err(SyncError::Partner {
                    status: 422,
                    body: r["error"].as_str().unwrap_or("refused").to_owned(),
                }),
            })
            .collect())
    }

    /// Stops feeding the stakeholder `identifier` from the HR system; Ledgy
    /// keeps it (one already gone counts as done).
    pub async fn unlink(&self, identifier: &str) -> Result<(), SyncError> {
        crate::http::gone_is_done(
            self.api
                .send(
                    reqwest::Method::POST,
                    &format!("api/v1/stakeholders/{}/unlink", escape(identifier)),
                    None,
                )
                .await,
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_are_escaped_for_urls() {
        assert_eq!(super::escape("M 0042/é"), "M%200042%2F%C3%A9");
        assert_eq!(super::escape("a.b-c_d~"), "a.b-c_d~");
    }
}
