//! What every connector's declaration and configuration is written with.

pub(crate) use crate::engine::{Connector, Setup, Stream};
pub(crate) use crate::error::SyncError;
pub(crate) use async_trait::async_trait;
pub(crate) use relais_core::connector::{
    Declaration, Direction, FieldLabel, FieldValue, Refers, ScheduleRule, SettingKind, SettingSpec,
    StreamSpec, Validate, ValueWords,
};
pub(crate) use serde::{Deserialize, Serialize};

/// `N`, as a setting's default: `#[serde(default = "given::<100>")]`.
pub(crate) fn given<const N: u32>() -> u32 {
    N
}
