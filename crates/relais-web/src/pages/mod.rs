//! The admin pages, one file for what each shows. `layout` is what they
//! all share (the frame, the error page, forms' checks); the others depend
//! on it and never on each other in a circle.

pub(crate) mod accounts;
pub(crate) mod activity;
pub(crate) mod apps;
pub(crate) mod bases;
pub(crate) mod grants;
pub(crate) mod home;
pub(crate) mod installed;
pub(crate) mod integrations;
pub(crate) mod keys;
pub(crate) mod layout;
pub(crate) mod mapping;
pub(crate) mod people;
pub(crate) mod reference;
pub(crate) mod reports;
pub(crate) mod runs;
pub(crate) mod sign_in;
pub(crate) mod webhooks;
