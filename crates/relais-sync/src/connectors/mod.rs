//! The connectors, one module per partner.

pub mod happypal;
pub mod planningpme;
