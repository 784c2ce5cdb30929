//! Rebuilds the pages when a language's catalogue changes (the catalogues
//! are read at compile time).

fn main() {
    println!("cargo:rerun-if-changed=locales");
}
