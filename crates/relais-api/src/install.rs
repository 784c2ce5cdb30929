//! Installing an app of the catalog on a base: an API key with exactly the
//! app's grants, the installation, and — for the apps relais syncs itself —
//! the integration, holding the key sealed so that the runtime can read the
//! base with it; stored in one transaction ([`relais_store::Store::install`]).

use crate::auth::new_key;
use crate::ApiError;
use relais_core::access::{KeyUsage, Role};
use relais_core::connector::ConnectorCatalog;
use relais_core::employee::Email;
use relais_core::ids::BaseId;
use relais_core::integration::{Integration, SOURCE_KEY};
use relais_core::marketplace::AppManifest;
use relais_core::org::Name;
use relais_core::people::Installation;
use relais_core::secret::{Sealer, Secrets};
use relais_store::{NewInstallation, SharedStore, StoreError};

/// Why an app could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// It is already installed on this base.
    #[error("{0}")]
    AlreadyInstalled(String),
    /// Its grants cannot be resolved on this base (e.g. no telework account).
    #[error("{0}")]
    Grants(String),
    /// Storage failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<StoreError> for InstallError {
    fn from(e: StoreError) -> Self {
        Self::Api(ApiError::Store(e))
    }
}

/// Installs `app` on `base` for `by`; returns the installation and the key's
/// full text (shown once).
pub async fn install_app(
    store: &SharedStore,
    sealer: &Sealer,
    connectors: &ConnectorCatalog,
    base: BaseId,
    app: &AppManifest,
    contact: &Email,
    by: i64,
) -> Result<(Installation, String), InstallError> {
    if store
        .list_installations(base)
        .await?
        .iter()
        .any(|i| i.app == app.code)
    {
        return Err(InstallError::AlreadyInstalled(format!(
            "{} is already installed on this base",
            app.name
        )));
    }
    let accounts = store.list_absence_accounts(base).await?;
    let role: Role = app
        .role_for(&accounts)
        .map_err(|e| InstallError::Grants(e.message))?;
    let name = Name::parse("name", &app.name)
        .unwrap_or_else(|_| Name::parse("name", &app.code).expect("codes are names"));
    let (key, secret) = new_key(base, name, contact.clone(), KeyUsage::ThirdParty, role);
    // For the apps relais syncs, the integration holds the key, sealed, so
    // that the runtime reads the base with it.
    let integration = connectors.get(&app.code).map(|connector| {
        let mut secrets = Secrets::default();
        secrets.set(SOURCE_KEY, &secret);
        Integration::new(
            0,
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
            StoreError::Conflict { message, .. } => InstallError::AlreadyInstalled(message),
            other => other.into(),
        })?;
    Ok((installation, secret))
}
