//! The relais sandbox: what lets the whole system run on one machine.
//!
//! [`demo`] generates a realistic French company, deterministically for a
//! seed, into any base. [`happypal`], [`planningpme`], [`semana`] and [`ledgy`] are local partner
//! simulators that keep state, show it to tests and inject faults ([`sim`]).

pub mod demo;
pub mod happypal;
pub mod ledgy;
pub mod mailbox;
mod names;
pub mod planningpme;
pub mod receiver;
pub mod replica;
pub mod semana;
pub mod sim;
