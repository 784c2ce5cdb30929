//! The connector runtime of relais: where an integration's data comes from
//! (a Lucca-compatible base, read through its API with the installation's
//! key), how partners are called (timeouts, retries with jittered backoff,
//! `Retry-After`), and the connectors, one module per partner, each driven
//! by the sync ledger of `relais-core`.

pub mod alerts;
pub mod connectors;
pub mod engine;
pub mod error;
pub mod http;
pub mod lucca;
pub mod report;
pub mod runtime;
pub mod source;

pub use error::{Side, SyncError};
pub use report::{Outcome, Report, ReportLine};

/// `bytes` random bytes as hexadecimal: names a runtime or marks what one full run saw.
pub(crate) fn random_tag(bytes: usize) -> String {
    let mut tag = vec![0u8; bytes];
    getrandom::getrandom(&mut tag).expect("the operating system provides randomness");
    hex::encode(tag)
}
