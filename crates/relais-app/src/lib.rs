//! What people and programs do with relais that spans several storage
//! areas: install an app (a key, an installation and an integration),
//! uninstall it (and revoke its key), create, rotate or revoke a key, ask
//! for a run, refresh a test base. Each use case is one function that stores everything it
//! changes in one transaction; the API, the admin pages and the command line
//! call the same functions, so a rule (one waiting run per integration, an
//! app installed once per base) is decided here and nowhere else.

pub mod bases;
pub mod install;
pub mod keys;
pub mod runs;

use relais_store::StoreError;

/// Why a use case could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The app is already installed on this base.
    #[error("{0}")]
    AlreadyInstalled(String),
    /// The app's grants cannot be resolved on this base (e.g. it asks for
    /// absence categories the base has no account of).
    #[error("{0}")]
    Grants(String),
    /// The base may not be overwritten by a copy: it is not a test base,
    /// or it is the base copied.
    #[error("{0}")]
    NotATestBase(String),
    /// What the store said (not found, conflict, invalid, unavailable…).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A use case's result.
pub type Result<T> = std::result::Result<T, AppError>;
