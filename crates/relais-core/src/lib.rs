//! The relais domain: the HR data a base holds and the rules it obeys.
//!
//! Everything here is pure: types that can only hold valid values (each has a
//! `parse` that says what is wrong), and the rules of the domain — working half
//! days, French public holidays, contract status, leave overlap, expense
//! warnings. Storage, HTTP and connectors build on these types.

pub mod absence;
pub mod access;
pub mod activity;
pub mod address;
pub mod alert;
pub mod audit;
pub mod base;
pub mod calendar;
pub mod clock;
pub mod connector;
pub mod country;
pub mod employee;
pub mod error;
pub mod events;
pub mod expense;
pub mod fields;
pub mod health;
pub mod ids;
pub mod integration;
pub mod ledger;
pub mod mapping;
pub mod marketplace;
pub mod network;
pub mod org;
pub mod people;
pub mod report;
pub mod retention;
pub mod said;
pub mod schedule;
pub mod secret;
pub mod values;
pub mod webhooks;

pub use error::DomainError;

pub use clock::now;

/// `text` without surrounding white space, reusing its allocation when it
/// has none.
pub(crate) fn trimmed(text: String) -> String {
    if text.trim().len() == text.len() {
        text
    } else {
        text.trim().to_owned()
    }
}
