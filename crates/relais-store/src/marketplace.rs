//! The apps installed on each base from the marketplace.

use crate::{NewApiKey, Result};
use async_trait::async_trait;
use relais_core::access::ApiKey;
use relais_core::activity::Actor;
use relais_core::employee::Email;
use relais_core::ids::*;
use relais_core::people::Installation;

/// An installation about to be stored ([`MarketplaceStore::install`]).
#[derive(Debug, Clone)]
pub struct NewInstallation<'a> {
    /// The key the app is given (its base is the installation's).
    pub key: &'a NewApiKey,
    /// The app's code in the catalog.
    pub app: &'a str,
    /// The app's technical contact.
    pub contact: &'a Email,
    /// The person who installs it.
    pub by: PersonId,
    /// The integration relais runs for it, if it syncs the app itself.
    pub integration: Option<relais_core::integration::Integration>,
}

/// Installations of the marketplace's apps.
#[async_trait]
pub trait MarketplaceStore: Send + Sync {
    /// Installs an app in one transaction — its key, the installation and,
    /// for the apps relais syncs, the integration (given without its
    /// installation's id, which the store fills in): all of it, or nothing.
    /// 409 if the app is already installed on the base.
    async fn install(&self, new: &NewInstallation<'_>) -> Result<(ApiKey, Installation)>;

    /// The apps installed on a base (not uninstalled).
    async fn list_installations(&self, base: BaseId) -> Result<Vec<Installation>>;

    /// Uninstalls an app and revokes its key, in one transaction, with its
    /// entry in the activity journal naming `by`.
    async fn uninstall(
        &self,
        base: BaseId,
        installation: InstallationId,
        by: Actor,
    ) -> Result<Installation>;
}

/// Implements [`MarketplaceStore`] for a backend (`$store`, over `$db`): its SQL,
/// written once for both (see `sql.rs`).
macro_rules! marketplace_store {
    ($store:ident, $db:ty) => {
        mod marketplace_sql {
            use super::$store;
            use crate::dialect::Dialect;
            use crate::MarketplaceStore;
            use crate::rows;
            use crate::{Result, StoreError};
            use async_trait::async_trait;
            use relais_core::ids::*;
            use relais_core::access::ApiKey;
            use relais_core::activity::{Action, Actor, NewActivity};
            use relais_core::now;

            impl $store {
                /// The journal's entry for `action`, made by `by` to the
                /// installation `installation` (named as its key, after the
                /// app).
                pub(crate) fn app_activity(
                    installation: &relais_core::people::Installation,
                    key: &ApiKey,
                    action: Action,
                    by: Actor,
                ) -> NewActivity {
                    NewActivity {
                        base: Some(installation.base_id),
                        by,
                        action,
                        target: installation.id.0,
                        subject: key.name.to_string(),
                        detail: None,
                    }
                }
            }

            #[async_trait]
            impl MarketplaceStore for $store {
                async fn install(
                    &self,
                    new: &crate::NewInstallation<'_>,
                ) -> Result<(ApiKey, relais_core::people::Installation)> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let key = Self::insert_key(&mut tx, new.key).await?;
                    let sql = format!(
                        "INSERT INTO installations (base_id, app, key_id, contact, installed_by, installed_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
                        rows::INSTALLATION_COLUMNS
                    );
                    let app = new.app;
                    let row: rows::InstallationRow = sqlx::query_as(&sql)
                        .bind(key.base_id.0)
                        .bind(app)
                        .bind(key.id.0)
                        .bind(new.contact.as_str())
                        .bind(new.by.0)
                        .bind(now())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(StoreError::conflict_on("app", || format!("{app} is already installed on this base")))?;
                    let installation: relais_core::people::Installation = row.try_into()?;
                    if let Some(integration) = &new.integration {
                        let mut integration = integration.clone();
                        integration.installation_id = installation.id;
                        Self::upsert_integration(&mut tx, &integration).await?;
                    }
                    let entry = Self::app_activity(&installation, &key, Action::AppInstalled, Actor::Person(new.by));
                    Self::log_activity(&mut tx, &entry).await?;
                    tx.commit().await?;
                    Ok((key, installation))
                }

                async fn list_installations(&self, base: BaseId) -> Result<Vec<relais_core::people::Installation>> {
                    let sql = format!(
                        "SELECT {} FROM installations WHERE base_id = $1 AND uninstalled_at IS NULL ORDER BY id",
                        rows::INSTALLATION_COLUMNS
                    );
                    let rows: Vec<rows::InstallationRow> = sqlx::query_as(&sql).bind(base.0).fetch_all(&self.pool).await?;
                    rows.into_iter().map(TryInto::try_into).collect()
                }

                async fn uninstall(&self, base: BaseId, installation: InstallationId, by: Actor) -> Result<relais_core::people::Installation> {
                    let mut tx = self.writer.begin_with(Self::BEGIN).await?;
                    let at = now();
                    let sql = format!(
                        "UPDATE installations SET uninstalled_at = $3 WHERE base_id = $1 AND id = $2 AND uninstalled_at IS NULL RETURNING {}",
                        rows::INSTALLATION_COLUMNS
                    );
                    let row: Option<rows::InstallationRow> =
                        sqlx::query_as(&sql).bind(base.0).bind(installation.0).bind(at).fetch_optional(&mut *tx).await?;
                    let row = row.ok_or(StoreError::NotFound { entity: "installation", key: installation.to_string() })?;
                    let done: relais_core::people::Installation = row.try_into()?;
                    sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                        .bind(done.key_id.0)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    let key = Self::key_on(&mut tx, done.key_id).await?;
                    Self::log_activity(&mut tx, &Self::app_activity(&done, &key, Action::AppUninstalled, by)).await?;
                    tx.commit().await?;
                    Ok(done)
                }
            }
        }
    };
}
pub(crate) use marketplace_store;
