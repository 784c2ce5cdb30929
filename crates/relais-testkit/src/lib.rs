//! What relais's tests share (a dev-dependency of every crate's tests):
//! - [`TestDb`]: a fresh SQLite or PostgreSQL database that drops itself
//!   when the test is done;
//! - [`spawn_app`]: relais's API served over HTTP on a free local port;
//! - [`eventually`]: waiting for something to become true, with a deadline;
//! - [`people::account`]: an admin-page account;
//! - [`clock`]: the instant every test runs at, so that no test depends on
//!   the day it runs or on midnight falling during it;
//! - [`schema`]: an answer checked against the shape the OpenAPI document
//!   gives it;
//! - [`net::silent_address`]: an address that never answers a connection;
//! - [`usage`] and [`args`]: what a process's threads have used, and a
//!   count given on the command line, for the benchmarks.

pub mod app;
pub mod args;
pub mod clock;
pub mod database;
pub mod net;
pub mod people;
pub mod schema;
pub mod usage;
pub mod wait;

pub use app::spawn_app;
pub use clock::{now, today};
pub use database::{Backend, TestDb};
pub use wait::eventually;
