//! Installing an app of the catalog on a base, and uninstalling it.
//!
//! An installation is an API key with exactly the app's grants, the
//! installation itself and — for the apps relais syncs — the integration,
//! holding the key sealed so that the runtime reads the base with it; all
//! stored in one transaction ([`relais_store::MarketplaceStore::install`]).

use crate::{AppError, Result};
use relais_core::access::{KeyUsage, Role};
use relais_core::activity::Actor;
use relais_core::connector::ConnectorCatalog;
use relais_core::employee::Email;
use relais_core::ids::{BaseId, InstallationId, PersonId};
use relais_core::integration::{Integration, SOURCE_KEY};
use relais_core::marketplace::AppManifest;
use relais_core::org::Name;
use relais_core::people::Installation;
use relais_core::secret::{Sealer, Secrets};
use relais_store::{NewInstallation, SharedStore, StoreError};

/// Installs `app` on `base` for the person `by`; returns the installation
/// and the key's full text (shown once). Refused when the app is already
/// installed on the base, or when its grants name what the base lacks.
pub async fn install_app(
    store: &SharedStore,
    sealer: &Sealer,
    connectors: &ConnectorCatalog,
    base: BaseId,
    app: &AppManifest,
    contact: &Email,
    by: PersonId,
) -> Result<(Installation, String)> {
    let accounts = store.list_absence_accounts(base).await?;
    let role: Role = app
        .role_for(&accounts)
        .map_err(|e| AppError::Grants(e.message))?;
    let name = Name::parse("name", &app.name)
        .unwrap_or_else(|_| Name::parse("name", &app.code).expect("codes are names"));
    let (key, secret) =
        crate::keys::new_key(base, name, contact.clone(), KeyUsage::ThirdParty, role);
    // For the apps relais syncs, the integration holds the key, sealed, so
    // that the runtime reads the base with it.
    let integration = connectors.get(&app.code).map(|connector| {
        let mut secrets = Secrets::default();
        secrets.set(SOURCE_KEY, &secret);
        Integration::new(
            InstallationId(0),
            base,
            connector,
            sealer.seal(&secrets),
            relais_core::now(),
        )
    });
    let (_, installation) = store
        .install(&NewInstallation {
            key: &key,
            app: &app.code,
            contact,
            by,
            integration,
        })
        .await
        .map_err(|e| match e {
            // The database's unique installation per app and base decides,
            // so two people installing at once cannot both succeed.
            StoreError::Conflict { field: "app", .. } => AppError::AlreadyInstalled(format!(
                "{} is already installed on this base",
                app.name
            )),
            other => other.into(),
        })?;
    Ok((installation, secret))
}

/// Uninstalls the installation `id` of `base` for `by` and revokes its
/// key, in one transaction; its integration stops with it.
pub async fn uninstall(
    store: &SharedStore,
    base: BaseId,
    id: InstallationId,
    by: Actor,
) -> Result<Installation> {
    Ok(store.uninstall(base, id, by).await?)
}
