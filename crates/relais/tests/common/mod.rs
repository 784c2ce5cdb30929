//! Helpers the end-to-end tests share: the `relais` binary in a folder of
//! its own, and reading the admin pages over HTTP.

#![allow(dead_code)] // each test binary uses some of them

use std::path::Path;
use std::process::Command;

/// The `relais` binary, run in `dir`, deaf to the caller's relais settings.
pub fn relais(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relais"));
    cmd.current_dir(dir)
        .env("RELAIS_LOG", "warn")
        .env_remove("RELAIS_DATABASE_URL")
        .env_remove("RELAIS_CONFIG")
        .env_remove("RELAIS_DATA_DIR")
        .env_remove("RELAIS_LISTEN")
        .env_remove("RELAIS_SECRET_KEY")
        .env_remove("RELAIS_INTEGRATIONS")
        .env_remove("RELAIS_PUBLIC_URL")
        .env_remove("RELAIS_LOG_FORMAT");
    cmd
}

/// An HTTP client that does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` set by `resp`.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (pair, _) = v.split_once(';')?;
            let (k, val) = pair.split_once('=')?;
            (k == name).then(|| val.to_owned())
        })
}

/// The value of the hidden form field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in the page"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}
