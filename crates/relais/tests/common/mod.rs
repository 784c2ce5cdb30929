//! Helpers the end-to-end tests share: the `relais` binary in a folder of
//! its own, and reading the admin pages over HTTP.

#![allow(dead_code)] // each test binary uses some of them

use std::path::Path;
use std::process::Command;

/// The `relais` binary, run in `dir`, deaf to the caller's relais settings,
/// on the tests' clock ([`relais_testkit::clock`]).
pub fn relais(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relais"));
    let (clock, start) = relais_testkit::clock::clock_start_setting();
    cmd.current_dir(dir)
        .env(clock, start)
        .env("RELAIS_LOG", "warn")
        .env_remove("RELAIS_DATABASE_URL")
        .env_remove("RELAIS_CONFIG")
        .env_remove("RELAIS_DATA_DIR")
        .env_remove("RELAIS_LISTEN")
        .env_remove("RELAIS_SECRET_KEY")
        .env_remove("RELAIS_INTEGRATIONS")
        .env_remove("RELAIS_PUBLIC_URL")
        .env_remove("RELAIS_LOG_FORMAT")
        .env_remove("RELAIS_HEADER_TIMEOUT_SECONDS")
        .env_remove("RELAIS_MAX_CONNECTIONS");
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

/// Signs in at `url` as `email` and reads `path` with the session: status and page.
pub async fn signed_in_get(url: &str, email: &str, password: &str, path: &str) -> (u16, String) {
    let c = client();
    let page = c.get(format!("{url}/login")).send().await.unwrap();
    let login = set_cookie(&page, "relais_login").expect("the sign-in page sets its cookie");
    let token = hidden(&page.text().await.unwrap(), "csrf");
    let resp = c
        .post(format!("{url}/login"))
        .header("cookie", format!("relais_login={login}"))
        .form(&[
            ("csrf", token.as_str()),
            ("next", "/"),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let session = set_cookie(&resp, "relais_session")
        .unwrap_or_else(|| panic!("{email} could not sign in ({})", resp.status()));
    let resp = c
        .get(format!("{url}{path}"))
        .header("cookie", format!("relais_session={session}"))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}
