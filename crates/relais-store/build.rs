//! Rebuilds the crate when a migration is added, so that `sqlx::migrate!`
//! embeds every migration.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
