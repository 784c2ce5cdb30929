//! Refreshing a test base from another base, from the pages or the command
//! line: the rule of which base may be overwritten lives here.

use crate::{AppError, Result};
use relais_core::activity::Actor;
use relais_core::base::{Base, BaseKind};
use relais_core::org::TimeZone;
use relais_store::{BaseCounts, SharedStore};

/// Replaces the HR data of test base `to` with a copy of `from`'s, in one
/// transaction (its API keys, installed apps and their settings stay) with
/// its entry in the activity journal naming `by`; refused when `to` is not
/// a test base, or is `from`. What `to` holds afterwards.
pub async fn refresh_test_base(
    store: &SharedStore,
    from: &Base,
    to: &Base,
    by: Actor,
) -> Result<BaseCounts> {
    if to.kind != BaseKind::Test {
        return Err(AppError::NotATestBase(format!(
            "refusing to overwrite '{}': it is a {} base, and only a test base can be refreshed from another base",
            to.name, to.kind
        )));
    }
    if from.id == to.id {
        return Err(AppError::NotATestBase(format!(
            "'{}' cannot be copied onto itself",
            from.name
        )));
    }
    store.copy_base(from.id, to.id, by).await?;
    Ok(store.base_counts(to.id, TimeZone::PARIS.today()).await?)
}
