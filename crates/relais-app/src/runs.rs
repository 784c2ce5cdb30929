//! Asking for a run of an integration.

use crate::Result;
use relais_core::integration::{RunAsk, SyncRun};
use relais_store::SharedStore;

/// A run asked for: the one that will carry the request out.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The run.
    pub run: SyncRun,
    /// Whether it was queued by this request (`false`: a run already
    /// waiting to start answers it, so asking twice does not run twice).
    pub queued: bool,
}

/// Asks for a run of the integration of `installation`, which the runtime
/// starts within seconds, unless one is already waiting to start: then that
/// one answers. The ask names who asked (a person, for the runs' history).
/// Decided in one transaction, so two people asking at once get one run.
pub async fn ask_run(store: &SharedStore, ask: &RunAsk) -> Result<Asked> {
    let (run, queued) = store.ask_run(ask).await?;
    Ok(Asked { run, queued })
}
