//! The relais sandbox: what lets the whole system run on one machine.
//!
//! [`demo`] generates a realistic French company, deterministically for a
//! seed, into any base. Partner simulators join it as connectors arrive.

pub mod demo;
mod names;
