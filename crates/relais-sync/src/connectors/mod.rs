//! The connectors, one module per partner.

pub mod happypal;
