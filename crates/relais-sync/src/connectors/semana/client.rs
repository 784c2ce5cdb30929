//! Semana's API: `X-API-Key` on every call, every answer the envelope
//! `{ok, page: {current, count, totalItemsCount}, data, error: {code, message}}`.

use crate::engine::Setup;
use crate::error::SyncError;
use crate::http::{Credential, SignedApi};
use crate::Side;
use serde::Deserialize;
use serde_json::{json, Value};

/// Items asked for per page (Semana serves up to 500).
pub const PAGE: usize = 500;

/// A Semana user, as relais reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Semana's identifier.
    pub id: u64,
    /// Its e-mail, by which Semana links a created user to one it holds.
    #[serde(default)]
    pub email: Option<String>,
}

/// A booking of a day or half day.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    /// Semana's identifier.
    pub id: u64,
    /// The user who booked.
    pub collaborator_id: u64,
    /// The day (Semana writes it `YYYY-MM-DD`; another form fails the
    /// page, naming it).
    pub date: chrono::NaiveDate,
    /// `day`, `morning` or `afternoon`; another is passed over (see
    /// [`Period::parse`](super::people::Period::parse)).
    pub period: String,
}

/// A client of one customer's Semana workspace.
#[derive(Debug, Clone)]
pub struct SemanaClient {
    api: SignedApi,
}

/// The `data` of an envelope, or what Semana said was wrong.
fn data(status: u16, body: Value) -> Result<(u16, Value), SyncError> {
    if body.is_null() {
        // 204: nothing to unwrap.
        return Ok((status, Value::Null));
    }
    match body["ok"].as_bool() {
        Some(true) => Ok((status, body["data"].clone())),
        Some(false) => Err(SyncError::Partner {
            status,
            body: format!(
                "{}: {}",
                body["error"]["code"].as_str().unwrap_or("error"),
                body["error"]["message"].as_str().unwrap_or_default()
            ),
        }),
        None => Err(SyncError::Malformed {
            what: Side::Partner,
            reason: "an answer outside Semana's envelope (no 'ok')".into(),
        }),
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, SyncError> {
    serde_json::from_value(value).map_err(|e| SyncError::Malformed {
        what: Side::Partner,
        reason: format!("{what}: {e}"),
    })
}

impl SemanaClient {
    /// The client `setup` describes.
    pub fn new(setup: &Setup) -> Result<Self, SyncError> {
        let secrets: super::Secrets = setup.typed_secrets()?;
        Ok(Self {
            api: SignedApi::new(
                setup.partner_api(),
                Credential::Header("X-API-Key", secrets.api_key),
            ),
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), SyncError> {
        let (status, answer) = self.api.send(method, path, body).await?;
        data(status, answer)
    }

    /// Reads the first page of users: the key works.
    pub async fn check(&self) -> Result<(), SyncError> {
        self.send(reqwest::Method::GET, "v1/users?page=1&limit=1", None)
            .await
            .map(|_| ())
    }

    /// One page (from 1) of the users Semana holds; whether it was the last.
    pub async fn users(&self, page: usize) -> Result<(Vec<User>, bool), SyncError> {
        let (_, items) = self
            .send(
                reqwest::Method::GET,
                &format!("v1/users?page={page}&limit={PAGE}"),
                None,
            )
            .await?;
        let users: Vec<User> = parse(items, "a page of users")?;
        let last = users.len() < PAGE;
        Ok((users, last))
    }

    /// Creates a user, or links the one Semana holds with the same e-mail
    /// (any case): its identifier, and whether it existed.
    pub async fn create_user(&self, fields: &Value) -> Result<(u64, bool), SyncError> {
        let mut body = fields.clone();
        body["active"] = json!(true);
        let (status, user) = self
            .send(reqwest::Method::POST, "v1/users", Some(&body))
            .await?;
        let user: User = parse(user, "a created user")?;
        Ok((user.id, status == 200))
    }

    /// Updates a user (and makes it active again, for a person back).
    pub async fn update_user(&self, id: &str, fields: &Value) -> Result<(), SyncError> {
        let mut body = fields.clone();
        body["active"] = json!(true);
        self.send(
            reqwest::Method::PATCH,
            &format!("v1/users/{id}"),
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    /// Deactivates a user: Semana keeps it and its bookings.
    pub async fn deactivate_user(&self, id: &str) -> Result<(), SyncError> {
        crate::http::gone_is_done(
            self.send(
                reqwest::Method::PATCH,
                &format!("v1/users/{id}"),
                Some(&json!({ "active": false })),
            )
            .await,
        )
    }

    /// One page (from 1) of the `kind` bookings of the days `from` to `to`;
    /// whether it was the last.
    pub async fn bookings(
        &self,
        from: &str,
        to: &str,
        kind: &str,
        page: usize,
    ) -> Result<(Vec<Booking>, bool), SyncError> {
        let (_, items) = self
            .send(
                reqwest::Method::GET,
                &format!("v1/bookings?from={from}&to={to}&type={kind}&page={page}&limit={PAGE}"),
                None,
            )
            .await?;
        let items: Vec<Booking> = parse(items, "a page of bookings")?;
        let last = items.len() < PAGE;
        Ok((items, last))
    }

    /// Books a day or half day under the client's `external_id` (booking it
    /// again updates it): the booking's identifier, and whether it existed.
    pub async fn book(&self, booking: &Value) -> Result<(u64, bool), SyncError> {
        let (status, made) = self
            .send(reqwest::Method::POST, "v1/bookings", Some(booking))
            .await?;
        let made: Booking = parse(made, "a booking")?;
        Ok((made.id, status == 200))
    }

    /// Deletes a booking (one already gone counts as deleted).
    pub async fn unbook(&self, id: &str) -> Result<(), SyncError> {
        crate::http::gone_is_done(
            self.send(reqwest::Method::DELETE, &format!("v1/bookings/{id}"), None)
                .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_unwrap_or_say_what_semana_said() {
        let (_, d) = data(200, json!({"ok": true, "data": [1], "page": null})).unwrap();
        assert_eq!(d, json!([1]));
        let e = data(
            422,
            json!({"ok": false, "error": {"code": "bad_argument", "message": "period 'x'"}}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad_argument: period 'x'"), "{e}");
        assert!(matches!(
            data(200, json!({"items": []})),
            Err(SyncError::Malformed { .. })
        ));
    }

    #[test]
    fn a_booking_reads_its_day_as_a_date() {
        let booking = |date: &str| json!([{"id": 7, "collaboratorId": 3, "date": date, "period": "morning", "type": "remote"}]);
        let page: Vec<Booking> = parse(booking("2026-10-12"), "a page of bookings").unwrap();
        assert_eq!(
            page[0].date,
            chrono::NaiveDate::from_ymd_opt(2026, 10, 12).unwrap()
        );
        // A day in another form is not passed over as if not booked: the
        // page fails, saying which answer was wrong.
        for wrong in ["12/10/2026", "2026-02-30", ""] {
            let e = parse::<Vec<Booking>>(booking(wrong), "a page of bookings").unwrap_err();
            assert!(
                matches!(&e, SyncError::Malformed { what: Side::Partner, reason } if reason.starts_with("a page of bookings: ")),
                "{wrong}: {e}"
            );
        }
    }
}
