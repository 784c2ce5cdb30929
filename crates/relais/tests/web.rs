//! The admin pages over plain HTTP: sign-in, sessions, CSRF, and every bad
//! input of the install and key forms, against a real `relais serve`.

mod common;

use chrono::Datelike;
use common::{client, hidden, relais, set_cookie};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = relais(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "relais {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Creates an admin-pages account from the command line, with `rights`
/// (`--apps-admin`, `--keys-admin`).
fn account(dir: &Path, email: &str, name: &str, password: &str, rights: &[&str]) {
    let mut args = vec![
        "people",
        "create",
        "--email",
        email,
        "--name",
        name,
        "--password",
        password,
    ];
    args.extend_from_slice(rights);
    ok(dir, &args);
}

/// Starts relais on `dir` with two accounts signed in: « Chef »
/// (admin@relais.test) holding `right` (`--apps-admin` or `--keys-admin`),
/// and « Lecteur » (reader@relais.test) holding none. The server, the
/// client, and their session cookies.
async fn admin_and_reader(dir: &Path, right: &str) -> (Server, reqwest::Client, String, String) {
    account(
        dir,
        "admin@relais.test",
        "Chef",
        "admin-password-1",
        &[right],
    );
    account(
        dir,
        "reader@relais.test",
        "Lecteur",
        "reader-password-1",
        &[],
    );
    let server = serve(dir);
    let c = client();
    let mut cookies = Vec::new();
    for (email, password) in [
        ("admin@relais.test", "admin-password-1"),
        ("reader@relais.test", "reader-password-1"),
    ] {
        cookies.push(sign_in(&c, &server.1, email, password).await.unwrap());
    }
    let reader = cookies.pop().unwrap();
    let admin = cookies.pop().unwrap();
    (server, c, admin, reader)
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> Server {
    serve_with(dir, &[])
}

fn serve_with(dir: &Path, extra: &[&str]) -> Server {
    let mut child = relais(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut server = Server(child, String::new());
    let line = BufReader::new(out)
        .lines()
        .find_map(|l| l.ok().filter(|l| l.contains("http://")))
        .unwrap();
    server.1 = line[line.find("http://").unwrap()..]
        .trim_end_matches('/')
        .to_owned();
    server
}

/// A client cannot hold relais's connections. One that sends no request,
/// or half a request's head, is closed once the header timeout runs out,
/// as is a connection kept alive and left idle; and beyond the connections
/// served at once, a new one waits until a slot frees rather than taking a
/// file the process needs: its request is answered, after the server closed
/// a connection that held a slot.
#[tokio::test]
async fn idle_and_slow_clients_cannot_hold_the_server() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    let server = serve_with(
        d,
        &["--header-timeout-seconds", "1", "--max-connections", "16"],
    );
    let addr = server.1.trim_start_matches("http://").to_owned();
    /// Reads what the server sends until it closes the connection, within
    /// `within`; `None` if the connection is still open then.
    async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
        let mut got = Vec::new();
        tokio::time::timeout(within, stream.read_to_end(&mut got))
            .await
            .ok()
            .map(|read| {
                read.unwrap_or_default();
                got
            })
    }
    // Silent, then half a head: both closed, and no answer is made up.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    assert!(
        until_closed(&mut silent, Duration::from_secs(15))
            .await
            .is_some(),
        "a connection that sends nothing is closed"
    );
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /login HTTP/1.1\r\nHost: relais\r\n")
        .await
        .unwrap();
    let got = until_closed(&mut slow, Duration::from_secs(15))
        .await
        .expect("a connection that never ends its head is closed");
    assert!(!String::from_utf8_lossy(&got).contains(" 200 "), "{got:?}");
    // A body announced and never sent in full: answered or closed all the
    // same, rather than waited for as long as the client keeps the line.
    let mut trickle = TcpStream::connect(&addr).await.unwrap();
    trickle
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: relais\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 4000\r\n\r\nemail=",
        )
        .await
        .unwrap();
    let got = until_closed(&mut trickle, Duration::from_secs(15))
        .await
        .expect("a connection whose body never ends is closed");
    assert!(!String::from_utf8_lossy(&got).contains(" 303 "), "{got:?}");
    // A connection kept alive after its answer, then left idle.
    let mut kept = TcpStream::connect(&addr).await.unwrap();
    kept.write_all(b"GET /login HTTP/1.1\r\nHost: relais\r\n\r\n")
        .await
        .unwrap();
    let got = until_closed(&mut kept, Duration::from_secs(15))
        .await
        .expect("an idle connection kept alive is closed");
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 200 "), "answered first: {got}");
    // Every slot held by a silent connection: a new client's request is
    // answered all the same, once the server has closed one of them.
    let mut holders = Vec::new();
    for _ in 0..16 {
        holders.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = client()
        .get(format!("{}/login", server.1))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("answered while every slot was held");
    assert_eq!(answer.status(), 200);
    let mut closed = 0;
    for holder in &mut holders {
        if until_closed(holder, Duration::from_millis(100))
            .await
            .is_some()
        {
            closed += 1;
        }
    }
    assert!(
        closed >= 1,
        "the request waited for a slot: no holder had been closed when it was answered"
    );
}

/// The text of a page, read with the session `cookie`.
async fn page_text(c: &reqwest::Client, address: String, cookie: &str) -> String {
    c.get(address)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Reads `address` with the session `cookie`: the answer's status and page.
fn get_page(
    c: &reqwest::Client,
    address: String,
    cookie: &str,
) -> impl std::future::Future<Output = (u16, String)> {
    let req = c.get(address).header("cookie", cookie.to_owned());
    async move {
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// Posts `form` to `address` with the session `cookie`: the answer's
/// status and page.
fn post_form(
    c: &reqwest::Client,
    address: String,
    cookie: &str,
    form: &[(&str, &str)],
) -> impl std::future::Future<Output = (u16, String)> {
    let req = c
        .post(address)
        .header("cookie", cookie.to_owned())
        .form(form);
    async move {
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// Replaces the password `given` of the account signed in as `cookie` by
/// `chosen` on « Mon compte » (`page`, read with that cookie): the session
/// cookie it goes on with, and the password.
async fn choose_password(
    c: &reqwest::Client,
    url: &str,
    cookie: &str,
    page: &str,
    given: &str,
    chosen: &str,
) -> (String, String) {
    let resp = c
        .post(format!("{url}/me/password"))
        .header("cookie", cookie.to_owned())
        .form(&[
            ("csrf", hidden(page, "csrf").as_str()),
            ("current", given),
            ("new", chosen),
            ("confirm", chosen),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303, "the password changed");
    let session = set_cookie(&resp, "relais_session").expect("the session goes on");
    (format!("relais_session={session}"), chosen.to_owned())
}

/// Signs in; returns the session cookie header value.
async fn sign_in(
    c: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> Result<String, u16> {
    let resp = sign_in_answer(c, url, email, password).await;
    match set_cookie(&resp, "relais_session") {
        Some(s) if !s.is_empty() => Ok(format!("relais_session={s}")),
        _ => Err(resp.status().as_u16()),
    }
}

/// The answer to signing in as `email` with `password`, through the form.
async fn sign_in_answer(
    c: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = c.get(format!("{url}/login")).send().await.unwrap();
    let login_cookie = set_cookie(&page, "relais_login").unwrap();
    let html = page.text().await.unwrap();
    let token = hidden(&html, "csrf");
    c.post(format!("{url}/login"))
        .header("cookie", format!("relais_login={login_cookie}"))
        .form(&[
            ("csrf", token.as_str()),
            ("next", "/integrations"),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pages_refuse_bad_input_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "20"]);
    account(
        d,
        "admin@relais.test",
        "Alice",
        "admin-password-1",
        &["--apps-admin", "--keys-admin"],
    );
    account(d, "reader@relais.test", "Rita", "reader-password-1", &[]);
    let server = serve_with(d, &["--webhook-private-addresses", "true"]);
    let url = &server.1;
    let c = client();

    // Pages need a session; an unknown or expired one sends back to sign-in, saying so.
    let r = c.get(format!("{url}/integrations")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?next=/integrations"));
    let r = c
        .get(format!("{url}/keys"))
        .header("cookie", "relais_session=stale")
        .send()
        .await
        .unwrap();
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("expired=1"));
    let expired = c
        .get(format!("{url}/login?expired=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(expired.contains("session a expiré"));

    // An address that leads nowhere, or that only takes a form, is a page
    // saying so in the reader's language, with the way home; the API's own
    // unknown paths stay JSON.
    for (path, status, lang, words) in [
        ("/nulle-part", 404, "fr", "ne mène à aucune page"),
        ("/nulle-part", 404, "en", "leads to no relais page"),
        ("/keys/1/revoke", 405, "fr", "elle ne s'ouvre pas seule"),
        ("/keys/1/revoke", 405, "en", "it does not open on its own"),
    ] {
        let r = c
            .get(format!("{url}{path}"))
            .header("cookie", format!("relais_lang={lang}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
        let text = r.text().await.unwrap().replace("&#39;", "'");
        assert!(
            text.contains("id=\"no-page\"") && text.contains(words),
            "{path}: {text}"
        );
        assert!(text.contains("href=\"/\""), "{path}: {text}");
    }
    for path in [
        "/api/v3/nulle-part",
        "/organization/structure/api/nulle-part",
        "/timmi-absences/api/nulle-part",
        "/directory/api/nulle-part",
    ] {
        let r = c.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
    }

    assert_eq!(
        sign_in(&c, url, "admin@relais.test", "wrong-password").await,
        Err(401)
    );
    assert_eq!(
        sign_in(&c, url, "nobody@relais.test", "admin-password-1").await,
        Err(401)
    );
    let admin = sign_in(&c, url, "ADMIN@relais.test", "admin-password-1")
        .await
        .expect("e-mails ignore case");

    // Signed in, a page that does not exist keeps the frame: the menu, and
    // who is signed in.
    for (path, status) in [("/nulle-part", 404), ("/keys/1/revoke", 405)] {
        let r = c
            .get(format!("{url}{path}"))
            .header("cookie", admin.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains("id=\"no-page\"")
                && text.contains("href=\"/keys\"")
                && text.contains("id=\"base-switcher\""),
            "{path}: {text}"
        );
    }

    // The app page, and its install form.
    let page = page_text(&c, format!("{url}/integrations/happypal"), &admin).await;
    let csrf = hidden(&page, "csrf");
    let install = |cookie: String, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = url.clone();
        async move {
            c.post(format!("{url}/integrations/happypal/install"))
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let r = install(
        admin.clone(),
        vec![
            ("contact", "tech@happypal.fr".into()),
            ("base", "production".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 403, "no CSRF token");
    let r = install(
        admin.clone(),
        vec![
            ("csrf", "forged".into()),
            ("contact", "tech@happypal.fr".into()),
            ("base", "production".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 403, "a wrong CSRF token");
    let r = install(
        admin.clone(),
        vec![
            ("csrf", csrf.clone()),
            ("contact", "not an e-mail".into()),
            ("base", "nowhere".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    // Both mistakes beside their fields, on the app's page, what was typed kept.
    let body = r.text().await.unwrap();
    assert!(
        body.contains("« not an e-mail » n'est pas une adresse e-mail")
            && body.contains("data-field=\"contact\"")
            && body.contains("data-field=\"base\"")
            && body.contains("2 problèmes, indiqués à côté des champs")
            && body.contains("value=\"not an e-mail\"")
            && body.contains("id=\"install-form\""),
        "{body}"
    );
    let r = install(
        admin.clone(),
        vec![
            ("csrf", csrf.clone()),
            ("contact", "tech@happypal.fr".into()),
            ("base", "nowhere".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        !ok(d, &["keys", "list"]).contains("HappyPal"),
        "refused installs created no key"
    );
    let r = install(
        admin.clone(),
        vec![
            ("csrf", csrf.clone()),
            ("contact", "tech@happypal.fr".into()),
            ("base", "production".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("id=\"api-key\""));
    let r = install(
        admin.clone(),
        vec![
            ("csrf", csrf.clone()),
            ("contact", "tech@happypal.fr".into()),
            ("base", "production".into()),
        ],
    )
    .await;
    assert_eq!(
        r.status(),
        409,
        "a second install of the same app on the same base"
    );
    assert_eq!(
        ok(d, &["keys", "list"]).matches("HappyPal").count(),
        1,
        "the refused second install left no key"
    );

    // Someone without the permissions: no install, no keys.
    let reader = sign_in(&c, url, "reader@relais.test", "reader-password-1")
        .await
        .unwrap();
    let page = page_text(&c, format!("{url}/integrations/semana"), &reader).await;
    assert!(!page.contains("install-form") && page.contains("Administration des applications"));
    let reader_csrf = hidden(&page, "csrf");
    let r = c
        .post(format!("{url}/integrations/semana/install"))
        .header("cookie", &reader)
        .form(&[
            ("csrf", reader_csrf.as_str()),
            ("contact", "a@b.fr"),
            ("base", "production"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        c.get(format!("{url}/keys"))
            .header("cookie", &reader)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // Custom keys: a bad grant is named and creates nothing.
    let r = c
        .post(format!("{url}/keys"))
        .header("cookie", &admin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Script"),
            ("contact", "it@relais.test"),
            ("usage", "internal"),
            ("extra", "read-all"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("read-all") && body.contains("is not a grant"),
        "the page names the bad grant"
    );
    assert!(
        body.contains("value=\"Script\"") && body.contains("value=\"it@relais.test\""),
        "what was typed is kept"
    );
    assert!(
        body.contains("data-field=\"grants\""),
        "the grant's problem beside the grants"
    );
    let r = c
        .post(format!("{url}/keys"))
        .header("cookie", &admin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", " "),
            ("contact", "not-an-address"),
            ("usage", "internal"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    for field in ["name", "contact", "grants"] {
        assert!(
            body.contains(&format!("data-field=\"{field}\"")),
            "{field} is refused beside it: {body}"
        );
    }
    assert!(
        body.contains("3 problèmes, indiqués à côté des champs")
            && body.contains("« not-an-address » n'est pas une adresse e-mail")
    );
    assert!(body.contains("value=\"not-an-address\""));
    assert!(!ok(d, &["keys", "list"]).contains("Script"));
    let r = c
        .post(format!("{url}/keys"))
        .header("cookie", &admin)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Script"),
            ("contact", "it@relais.test"),
            ("usage", "internal"),
            ("grant", "organisation"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let created = r.text().await.unwrap();
    assert!(created.contains("id=\"api-key\""));
    assert!(ok(d, &["keys", "list"]).contains("Script"));
    let secret_in = |html: &str| {
        let at = html.find("id=\"api-key\">").unwrap() + "id=\"api-key\">".len();
        html[at..at + html[at..].find('<').unwrap()].to_owned()
    };
    let first = secret_in(&created);
    let api = |key: String| {
        let c = c.clone();
        async move {
            c.get(format!("{url}/api/v3/departments"))
                .header("Authorization", format!("Bearer {key}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(api(first.clone()).await, 200);
    let requested_at = relais_testkit::clock::now();

    // Revoking asks first, naming what stops; then it is done and said.
    let keys_page = |cookie: String, path: String| {
        let c = c.clone();
        async move { page_text(&c, format!("{url}{path}"), &cookie).await }
    };
    let html = keys_page(admin.clone(), "/keys".into()).await;
    let row = html
        .split("<tr data-key=\"")
        .find(|r| r[..r.find("</tr>").unwrap()].contains("Script"))
        .unwrap();
    let id: i64 = row[..row.find('"').unwrap()].parse().unwrap();
    // What the key may do and who it is for, in words, its code beside.
    let row = &row[..row.find("</tr>").unwrap()].replace("&#39;", "'");
    assert!(
        row.contains("Consulter l'organisation") && row.contains("<code>organisation</code>"),
        "{row}"
    );
    assert!(
        row.contains("interne") && !row.contains(">internal<"),
        "{row}"
    );
    // A key's options in words too: fields by their labels (a reference and
    // its record once), establishments by their names.
    let directory = ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            "Annuaire",
            "--contact",
            "it@relais.test",
            "--grant",
            "organisation",
            "--grant",
            "personnel-file:sections=standard:fields=firstName+departmentId+department",
            "--grant",
            "establishments=1",
        ],
    );
    let directory = directory.lines().nth(1).unwrap().trim().to_owned();
    let site = c
        .get(format!("{url}/api/v3/legalentities/1?fields=name"))
        .header("Authorization", format!("Bearer {directory}"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let site = site["data"]["name"].as_str().unwrap().to_owned();
    let html = keys_page(admin.clone(), "/keys".into()).await;
    let listed = html
        .split("<tr data-key=\"")
        .find(|r| r[..r.find("</tr>").unwrap()].contains("Annuaire"))
        .unwrap();
    let listed = &listed[..listed.find("</tr>").unwrap()];
    assert!(
        listed.contains("Consulter le dossier du personnel<span class=\"grant-scope\"> : section Données Lucca, Prénom, Service</span>"),
        "{listed}"
    );
    assert!(
        listed.contains(&format!(
            "Limitée aux établissements<span class=\"grant-scope\"> : {site}</span>"
        )),
        "{listed}"
    );
    let revoke = |confirmed: bool| {
        let mut form = vec![("csrf", csrf.clone())];
        if confirmed {
            form.push(("confirmed", "1".into()));
        }
        c.post(format!("{url}/keys/{id}/revoke"))
            .header("cookie", &admin)
            .form(&form)
            .send()
    };
    // Rotating asks for the grace period, shows the new secret once, and
    // the old one works until the grace ends.
    let rotate = |grace: Option<&'static str>| {
        let mut form = vec![("csrf", csrf.clone())];
        if let Some(g) = grace {
            form.push(("confirmed", "1".into()));
            form.push(("grace", g.into()));
        }
        c.post(format!("{url}/keys/{id}/rotate"))
            .header("cookie", &admin)
            .form(&form)
            .send()
    };
    let asked = rotate(None).await.unwrap();
    assert_eq!(asked.status(), 200);
    let text = asked.text().await.unwrap();
    assert!(
        text.contains("id=\"grace\"") && text.contains("Renouveler la clé « Script » ?"),
        "{text}"
    );
    assert_eq!(api(first.clone()).await, 200, "asking changes nothing");
    let refused = rotate(Some("12")).await.unwrap();
    assert_eq!(refused.status(), 422, "a grace period outside the list");
    assert_eq!(api(first.clone()).await, 200);
    let rotated = rotate(Some("3600")).await.unwrap();
    assert_eq!(rotated.status(), 200);
    let text = rotated.text().await.unwrap();
    assert!(text.contains("L'ancien reste valable jusqu'au"), "{text}");
    let second = secret_in(&text);
    assert_ne!(second, first);
    assert_eq!(api(second.clone()).await, 200, "the new secret works");
    assert_eq!(api(first.clone()).await, 200, "the old one, for its grace");
    let rotated = rotate(Some("0")).await.unwrap();
    let text = rotated.text().await.unwrap();
    assert!(text.contains("L'ancien ne fonctionne plus."), "{text}");
    let third = secret_in(&text);
    assert_eq!(api(third.clone()).await, 200);
    assert_eq!(
        api(second).await,
        401,
        "no grace: the previous secret stops at once"
    );
    assert_eq!(api(first).await, 401, "and the one before it too");

    // Webhooks, on the key's page: a topic the key may not read is
    // refused with why; an endpoint that echoes is added active, its
    // secret shown once; "send a test event" reaches it, signed, and the
    // page lists the delivery.
    let receiver = relais_sandbox::receiver::Receiver::new();
    let hooks = receiver.start().await.unwrap();
    // The new endpoint's form, posted with the page's token.
    let post_hook = |fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields);
        c.post(format!("{url}/keys/{id}/webhooks"))
            .header("cookie", &admin)
            .form(&form)
            .send()
    };
    let add_hook = |topics: &'static [&'static str], establishments: &[String]| {
        let mut form = vec![
            ("url", format!("{}/hooks/page", hooks.url())),
            ("name", "Annuaire".to_owned()),
            ("which", "chosen".to_owned()),
        ];
        form.extend(topics.iter().map(|t| ("topic", (*t).to_owned())));
        form.extend(establishments.iter().map(|e| ("establishment", e.clone())));
        post_hook(form)
    };
    // The form offers the changes of the records the key reads, by name,
    // a box each: this key reads departments, not employees.
    let page = keys_page(admin.clone(), format!("/keys/{id}")).await;
    let choice = &page[page.find("id=\"webhook-topics\"").unwrap()..];
    let choice = &choice[..choice.find("</fieldset>").unwrap()];
    assert!(
        choice.contains("Départements")
            && choice.contains("value=\"department.created\"")
            && choice.contains("aria-label=\"départements : suppression\"")
            && !choice.contains("employee"),
        "{choice}"
    );
    // And the establishments the key sees, by name: the first one is chosen below.
    let places = &page[page.find("id=\"webhook-establishments\"").unwrap()..];
    let marker = "name=\"establishment\" value=\"";
    let at = places.find(marker).unwrap() + marker.len();
    let place_id = places[at..at + places[at..].find('"').unwrap()].to_owned();
    let label = &places[at..];
    let label = &label[label.find('>').unwrap() + 1..label.find("</label>").unwrap()];
    let place_name = label.trim().to_owned();
    assert!(!place_name.is_empty(), "{places}");
    // A topic the key may not read, sent anyway, is refused with why.
    let refused = add_hook(&["employee.created"], &[]).await.unwrap();
    assert_eq!(refused.status(), 422, "a refused form answers 422");
    let text = refused.text().await.unwrap();
    assert!(text.contains("id=\"webhook-refused\""), "{text}");
    assert!(text.contains("id=\"no-webhooks\""), "nothing added: {text}");
    // « Only those checked » with none checked says what to do.
    let text = add_hook(&[], &[]).await.unwrap().text().await.unwrap();
    let text = text.replace("&#39;", "'");
    assert!(
        text.contains("id=\"webhook-refused\"")
            && text.contains("cochez au moins un événement, ou choisissez de tous les envoyer."),
        "{text}"
    );
    assert!(text.contains("id=\"no-webhooks\""), "nothing added: {text}");
    // A form that is not the page's (a field given twice: which address was
    // meant?) is a page saying so, in the viewer's language, and adds nothing.
    let twice = post_hook(vec![
        ("url", format!("{}/hooks/page", hooks.url())),
        ("url", "https://ailleurs.example/hooks".to_owned()),
        ("which", "all".to_owned()),
    ])
    .await
    .unwrap();
    assert_eq!(twice.status(), 422);
    let text = twice.text().await.unwrap();
    let text = text.replace("&#39;", "'");
    assert!(
        text.contains("Ce formulaire n'a pas pu être lu : le champ « url » est donné deux fois."),
        "{text}"
    );
    let text = page_text(&c, format!("{url}/keys/{id}"), &admin).await;
    assert!(text.contains("id=\"no-webhooks\""), "nothing added: {text}");
    // An establishment that is no number is refused.
    let text = add_hook(&["department.created"], &["Paris".to_owned()])
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let text = text.replace("&#39;", "'");
    assert!(
        text.contains("id=\"webhook-refused\"") && text.contains("'Paris' is not an identifier"),
        "{text}"
    );
    // The form comes back as it was filled in, to be put right.
    let form = &text[text.find("id=\"new-webhook\"").unwrap()..];
    assert!(
        form.contains(&format!("value=\"{}/hooks/page\"", hooks.url()))
            && form.contains("value=\"Annuaire\"")
            && form.contains("value=\"chosen\" checked")
            && form.contains("aria-label=\"départements : création\" checked")
            && !form.contains("aria-label=\"départements : modification\" checked"),
        "{form}"
    );
    assert!(text.contains("id=\"no-webhooks\""), "nothing added: {text}");
    let text = add_hook(&["department.created", "department.updated"], &[place_id])
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("id=\"webhook-created\""), "{text}");
    let marker = "id=\"webhook-secret\">";
    let at = text.find(marker).unwrap() + marker.len();
    let secret = text[at..at + text[at..].find('<').unwrap()].to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    c.put(format!("{}/hooks/page/secrets", hooks.url()))
        .json(&serde_json::json!([secret]))
        .send()
        .await
        .unwrap();
    let page = keys_page(admin.clone(), format!("/keys/{id}")).await;
    assert!(
        page.contains("Annuaire")
            && page.contains("actif")
            && page.contains("départements : création, modification")
            && page.contains(&format!("Établissements : {place_name}</p>")),
        "the endpoint, the events it is sent and its establishment in words: {page}"
    );
    // The key's requests are listed at the time people read, in Paris.
    let trail = relais_testkit::eventually(
        std::time::Duration::from_secs(10),
        "the key's request in its trail",
        || {
            let page = keys_page(admin.clone(), format!("/keys/{id}"));
            async move {
                let page = page.await;
                let audit = &page[page.find("id=\"audit\"")?..];
                audit
                    .contains("GET /api/v3/departments")
                    .then(|| audit.to_owned())
            }
        },
    )
    .await;
    let shown = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&relais_core::org::TimeZone::PARIS.0)
            .format("%d/%m/%Y %H:%M:%S</time>")
            .to_string()
    };
    assert!(
        trail.contains("Quand<br><small class=\"muted zone\">heure de Paris</small>"),
        "the zone is named once, in the heading: {trail}"
    );
    assert!(
        (-2..=2).any(|s| trail.contains(&shown(requested_at + chrono::Duration::seconds(s)))),
        "around {}: {trail}",
        shown(requested_at)
    );
    assert!(!page.contains(&secret), "the secret is shown once");
    let endpoint: i64 = {
        let marker = "id=\"webhook-";
        let at = page.find(marker).unwrap() + marker.len();
        page[at..at + page[at..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    let r = c
        .post(format!("{url}/keys/{id}/webhooks/{endpoint}/test"))
        .header("cookie", &admin)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "back to the key's page");
    relais_testkit::eventually(
        std::time::Duration::from_secs(20),
        "the test event",
        || async { receiver.received("page").first().cloned() },
    )
    .await;
    let got = receiver.received("page");
    assert!(
        got[0].verified && got[0].body.contains("webhook.test"),
        "{got:?}"
    );
    // Who sent it is in the journal, as every action on an endpoint is.
    let journal = keys_page(admin.clone(), "/activity".into()).await;
    let newest = &journal[journal.find("<tr data-action=").unwrap()..];
    let newest = &newest[..newest.find("</tr>").unwrap()];
    assert!(
        newest.starts_with("<tr data-action=\"webhook.tested\"")
            && newest.contains("Événement de test envoyé au webhook")
            && newest.contains("Annuaire"),
        "{newest}"
    );
    let page = keys_page(admin.clone(), format!("/keys/{id}")).await;
    let log = &page[page.find("Derniers envois").unwrap()..];
    assert!(
        log.contains("<td>événement de test</td>") && log.contains("remis"),
        "{log}"
    );

    // A new signing secret, shown once on the page answered; then the
    // base's events sent again from its start, signed with it.
    let act = |action: &'static str, after: Option<&'static str>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(after.map(|a| ("after", a.to_owned())));
        c.post(format!("{url}/keys/{id}/webhooks/{endpoint}/{action}"))
            .header("cookie", &admin)
            .form(&form)
            .send()
    };
    let rotated = act("rotate", None).await.unwrap();
    assert_eq!(rotated.status(), 200);
    let text = rotated.text().await.unwrap().replace("&#39;", "'");
    assert!(
        text.contains("id=\"webhook-rotated\"")
            && text.contains("L'ancien signe encore les messages pendant 24 heures"),
        "{text}"
    );
    let at = text.find(marker).unwrap() + marker.len();
    let renewed = text[at..at + text[at..].find('<').unwrap()].to_owned();
    assert!(
        renewed.starts_with("whsec_") && renewed != secret,
        "{renewed}"
    );
    c.put(format!("{}/hooks/page/secrets", hooks.url()))
        .json(&serde_json::json!([renewed]))
        .send()
        .await
        .unwrap();
    for (after, why) in [
        ("abc", "'abc' is not a cursor"),
        ("999999999", "after is a cursor from 0 to the latest event"),
    ] {
        let r = act("replay", Some(after)).await.unwrap();
        assert_eq!(r.status(), 422, "{after}");
        let text = r.text().await.unwrap().replace("&#39;", "'");
        assert!(text.contains(why), "{after}: {text}");
    }
    assert_eq!(act("replay", Some("0")).await.unwrap().status(), 303);
    let replayed = relais_testkit::eventually(
        std::time::Duration::from_secs(20),
        "the base's department events sent again",
        || async {
            let got = receiver.received("page");
            let departments: Vec<_> = got
                .iter()
                .filter(|m| m.body.contains("department.created"))
                .cloned()
                .collect();
            (!departments.is_empty()).then_some(departments)
        },
    )
    .await;
    assert!(
        replayed.iter().all(|m| m.verified),
        "signed with the new secret: {replayed:?}"
    );
    // A batch is posted, then stored with what came of it: the log shows
    // it once stored.
    let page = relais_testkit::eventually(
        std::time::Duration::from_secs(20),
        "the replayed deliveries in the log",
        || {
            let page = keys_page(admin.clone(), format!("/keys/{id}"));
            async move {
                let page = page.await;
                page.contains("<td>départements : création</td>")
                    .then_some(page)
            }
        },
    )
    .await;
    let log = &page[page.find("Derniers envois").unwrap()..];
    assert!(
        log.contains("<td>départements : création</td>")
            && log.contains(&format!("action=\"/keys/{id}/webhooks/{endpoint}/replay\""))
            && log.contains("Renvoyer depuis celui-ci"),
        "each event's delivery can be sent again from: {log}"
    );

    // The receiver gone (410): the endpoint is suspended at once, and the
    // page says why in the viewer's language, as it does the failed attempt.
    c.put(format!("{}/hooks/page/answers", hooks.url()))
        .json(&serde_json::json!([410]))
        .send()
        .await
        .unwrap();
    let before = receiver.received("page").len();
    assert_eq!(act("test", None).await.unwrap().status(), 303);
    let page = relais_testkit::eventually(
        std::time::Duration::from_secs(20),
        "the endpoint suspended",
        || {
            let page = keys_page(admin.clone(), format!("/keys/{id}"));
            async move {
                let page = page.await.replace("&#39;", "'");
                page.contains(">suspendu</strong>").then_some(page)
            }
        },
    )
    .await;
    assert!(
        page.contains("— son adresse a répondu 410 : il a été suspendu aussitôt")
            && page.contains("<td>le point d'accès a répondu 410</td>")
            && !page.contains("\"reason\""),
        "{page}"
    );
    // The journal tells it in words too.
    let journal = keys_page(admin.clone(), "/activity".into())
        .await
        .replace("&#39;", "'");
    assert!(
        journal.contains("suspendu : son adresse a répondu 410 : il a été suspendu aussitôt"),
        "{journal}"
    );
    // The command line tells it in English.
    let cli = ok(d, &["activity", "--limit", "50"]);
    assert!(
        cli.contains("(suspended: its URL answered 410: it was suspended at once)"),
        "{cli}"
    );
    // Activated again, the waiting test event goes.
    assert_eq!(act("activate", None).await.unwrap().status(), 303);
    relais_testkit::eventually(
        std::time::Duration::from_secs(20),
        "the waiting test event",
        || async {
            let got = receiver.received("page");
            got[before..]
                .iter()
                .any(|m| m.answered == 204 && m.body.contains("webhook.test"))
                .then_some(())
        },
    )
    .await;
    // An address that does not echo is added inactive, with why, in words.
    let no_echo = post_hook(vec![
        ("url", format!("{}/nowhere", hooks.url())),
        ("name", "Sans écho".to_owned()),
        ("which", "all".to_owned()),
    ])
    .await
    .unwrap();
    let text = no_echo.text().await.unwrap().replace("&#39;", "'");
    assert!(
        text.contains("id=\"webhook-created\"")
            && text.contains("Il est inactif : l'écho a reçu la réponse 404"),
        "{text}"
    );

    let asked = revoke(false).await.unwrap();
    assert_eq!(asked.status(), 200);
    let text = asked.text().await.unwrap();
    assert!(
        text.contains("id=\"confirm-revoke\"")
            && text.contains("Révoquer la clé « Script » ?")
            && text.contains("reçoit 401")
            && text.contains("Dernière utilisation : "),
        "{text}"
    );
    let html = keys_page(admin.clone(), "/keys".into()).await;
    let row = html
        .split(&format!("<tr data-key=\"{id}\""))
        .nth(1)
        .unwrap();
    assert!(
        !row[..row.find("</tr>").unwrap()].contains("révoquée"),
        "asking revokes nothing"
    );
    let done = revoke(true).await.unwrap();
    assert_eq!(done.status(), 303);
    let to = done.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/keys?revoked={id}"));
    let html = keys_page(admin.clone(), to).await;
    assert!(
        html.contains("id=\"done\"") && html.contains("La clé « Script » est révoquée."),
        "{html}"
    );

    // English on request.
    let r = c
        .get(format!("{url}/lang?to=en"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    let lang = set_cookie(&r, "relais_lang").unwrap();
    let in_english = |path: &'static str| {
        let (c, cookie) = (c.clone(), format!("{admin}; relais_lang={lang}"));
        async move {
            let r = c.get(format!("{url}{path}")).header("cookie", cookie);
            r.send().await.unwrap().text().await.unwrap()
        }
    };
    let page = in_english("/integrations").await;
    assert!(page.contains("Installed apps") && page.contains("Developed by"));
    // An app's grants read in English too, Semana's telework categories included.
    let semana = in_english("/integrations/semana").await;
    assert!(
        semana.contains("Request absences") && !semana.contains("Faire des demandes d'absence"),
        "{semana}"
    );
    // What the grants are limited to, in words in English as well: the
    // category of accounts, the fields by their English labels.
    assert!(
        semana.contains("Request absences<span class=\"grant-scope\">: Telework</span>"),
        "{semana}"
    );
    assert!(
        semana.contains(
            "Read the personnel file<span class=\"grant-scope\">: Establishment, First name, Last name, Employee number, Work e-mail</span>"
        ),
        "{semana}"
    );
    let keys = in_english("/keys").await;
    assert!(
        keys.contains("Every permission") && keys.contains("Read the organisation"),
        "{keys}"
    );

    // Signing out closes the session.
    let r = c
        .post(format!("{url}/logout"))
        .header("cookie", &admin)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = c
        .get(format!("{url}/integrations"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[test]
fn a_manifest_with_an_unknown_grant_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let apps = d.join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integrations/happypal.toml"),
    )
    .unwrap();
    std::fs::File::create(apps.join("happypal.toml"))
        .unwrap()
        .write_all(
            shipped
                .replace("personnel-file:fields=", "personel-file:fields=")
                .as_bytes(),
        )
        .unwrap();
    let out = relais(d)
        .args(["--integrations", "apps", "serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("happypal.toml") && err.contains("'personel-file' is not a grant"),
        "{err}"
    );
    assert!(!d.join("relais-data").exists(), "nothing was created");
}

/// Guessing passwords slows down, then locks the account for a while, with
/// the page saying until when; every attempt and the lockout are in the
/// audit trail. Pages carry their security headers, and behind an HTTPS
/// address their cookies are `Secure`.
#[tokio::test]
async fn sign_in_resists_guessing_and_pages_carry_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    for (email, name) in [("victim@relais.test", "Vic"), ("other@relais.test", "Oto")] {
        account(d, email, name, "right-password-1", &[]);
    }
    let server = serve_with(d, &["--public-url", "https://rh.example.test/"]);
    let url = &server.1;
    let c = client();

    let page = c.get(format!("{url}/login")).send().await.unwrap();
    let h = page.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let mut waits = Vec::new();
    for attempt in 1..=5 {
        let started = std::time::Instant::now();
        let refused = sign_in_answer(&c, url, "Victim@relais.test", "wrong-password").await;
        waits.push(started.elapsed());
        assert_eq!(refused.status(), 401, "attempt {attempt}");
        // How many tries are left, said with the right singular or plural.
        let html = refused.text().await.unwrap();
        let left = match attempt {
            2 => Some("Encore 3 essais avant un blocage de 15 minutes."),
            4 => Some("Encore 1 essai avant un blocage de 15 minutes."),
            _ => None,
        };
        if let Some(left) = left {
            assert!(html.contains(left), "attempt {attempt}: {html}");
        }
    }
    assert!(
        waits[0] < std::time::Duration::from_millis(900),
        "{waits:?}"
    );
    assert!(waits[3] >= std::time::Duration::from_secs(1), "{waits:?}");
    // Now even the right password is refused, saying until when.
    let page = c.get(format!("{url}/login")).send().await.unwrap();
    let login_cookie = common::set_cookie(&page, "relais_login").unwrap();
    let token = hidden(&page.text().await.unwrap(), "csrf");
    let resp = c
        .post(format!("{url}/login"))
        .header("cookie", format!("relais_login={login_cookie}"))
        .form(&[
            ("csrf", token.as_str()),
            ("next", "/"),
            ("email", "victim@relais.test"),
            ("password", "right-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let html = resp.text().await.unwrap();
    assert!(html.contains("bloquée jusqu'à"), "{html}");
    // Another account from the same address still signs in, and its session cookie is Secure.
    let session = sign_in(&c, url, "other@relais.test", "right-password-1").await;
    assert!(session.is_ok(), "{session:?}");

    let trail = ok(d, &["people", "sign-ins", "--limit", "20"]);
    assert_eq!(trail.matches(" failed ").count(), 5, "{trail}");
    assert_eq!(trail.matches(" locked ").count(), 1, "{trail}");
    assert!(
        trail.contains("succeeded") && trail.contains("victim@relais.test"),
        "{trail}"
    );
    assert!(!trail.contains("wrong-password"));
    assert!(
        trail.contains("127.0.0.1"),
        "the client's address is kept: {trail}"
    );
}

/// The Reports pages: each report as a table and a chart with its filters,
/// the same rows as the API gives a key, and CSV and XLSX downloads that
/// read back with typed numbers and dates.
#[tokio::test]
async fn reports_show_tables_charts_and_downloads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "60"]);
    account(
        d,
        "rh@relais.test",
        "Rachel",
        "rh-password-1",
        &["--apps-admin"],
    );
    let key = ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            "bi",
            "--contact",
            "bi@relais.test",
            "--grant",
            "all",
        ],
    );
    let key = key.lines().nth(1).unwrap().trim().to_owned();
    let server = serve(d);
    let url = &server.1;
    let c = client();
    let session = sign_in(&c, url, "rh@relais.test", "rh-password-1")
        .await
        .unwrap();
    let get = |path: String| {
        let c = c.clone();
        let session = session.clone();
        async move {
            let r = c
                .get(format!("{url}{path}"))
                .header("cookie", session)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let kind = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, kind, r.bytes().await.unwrap().to_vec())
        }
    };
    let (status, _, index) = get("/reports".into()).await;
    assert_eq!(status, 200);
    let index = String::from_utf8(index).unwrap();
    assert_eq!(index.matches("href=\"/reports/").count(), 6, "{index}");
    assert!(index.contains("Absences par mois, salarié et compte"));
    // In English, each report is titled and described in English.
    let in_english = |path: &'static str| {
        let request = c
            .get(format!("{url}{path}"))
            .header("cookie", format!("{session}; relais_lang=en"));
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let english = in_english("/reports").await;
    assert!(
        english.contains("Absences per month, employee and account")
            && english.contains("Approved absences, in the establishment's working days")
            && !english.contains("Les absences validées"),
        "{english}"
    );
    let english = in_english("/reports/absences-payroll").await;
    assert!(
        english.contains("June 2026")
            && english.contains(">Establishments<")
            && !english.contains("juin 2026"),
        "months and filters in English: {english}"
    );

    // The page's rows are the API's rows.
    let api: serde_json::Value = c
        .get(format!(
            "{url}/api/relais/reports/absences-payroll?paging=0,1000"
        ))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_rows = api["data"]["items"].as_array().unwrap();
    assert!(!api_rows.is_empty());
    let api_days: f64 = api_rows.iter().map(|r| r["days"].as_f64().unwrap()).sum();
    let (status, _, html) = get("/reports/absences-payroll".into()).await;
    assert_eq!(status, 200);
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains(&format!("data-count=\"{}\"", api_rows.len())),
        "{html}"
    );
    assert!(html.contains("id=\"report-table\""));
    assert!(html.contains("id=\"report-chart\""));
    assert!(html.contains("<option value="), "filters offer names");
    let chart_days: f64 = html
        .split("data-value=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse::<f64>().unwrap())
        .sum();
    assert!(
        (chart_days - api_days).abs() < 1e-6,
        "the chart sums the rows: {chart_days} vs {api_days}"
    );
    assert!(!html.contains("votre dernier export"));
    // The chart's months are named, the year under the first of them.
    let axis: Vec<&str> = html
        .split("class=\"month\"")
        .skip(1)
        .map(|s| &s[s.find('>').unwrap() + 1..s.find("</text>").unwrap()])
        .collect();
    assert!(axis.contains(&"juin"), "{axis:?}");
    assert_eq!(
        axis.len(),
        12,
        "a bar for each month of the period, those without absences too: {axis:?}"
    );
    assert!(html.contains("class=\"year\""), "{html}");
    let english = in_english("/reports/absences-payroll").await;
    assert!(english.contains(">Jun</text>"), "{english}");
    // An expense's warnings read in the reader's words.
    let (_, _, french) = get("/reports/expense-warnings".into()).await;
    let french = String::from_utf8(french).unwrap();
    let english = in_english("/reports/expense-warnings").await;
    let fr_words = [
        "plafond dépassé",
        "justificatif manquant",
        "doublon possible",
        "achat le week-end",
        "devise étrangère",
    ];
    let en_words = [
        "over the cap",
        "receipt missing",
        "possible duplicate",
        "bought on a weekend",
        "foreign currency",
    ];
    assert!(fr_words.iter().any(|w| french.contains(w)), "{french}");
    assert!(
        en_words.iter().any(|w| english.contains(w))
            && !fr_words.iter().any(|w| english.contains(w)),
        "{english}"
    );
    // Over a period longer than the base's absences, the months before
    // them are drawn at zero: the axis is the period's.
    let today = relais_core::org::TimeZone::PARIS.today();
    let (from, to) = (
        relais_core::report::Month::of(today - chrono::Months::new(35)),
        relais_core::report::Month::of(today),
    );
    let (_, _, long) = get(format!("/reports/absences-payroll?from={from}&to={to}")).await;
    let long = String::from_utf8(long).unwrap();
    assert_eq!(long.matches("class=\"month\"").count(), 36, "{long}");
    assert!(long.contains("data-value=\"0\""), "{long}");

    // CSV: a header, then one line per row, numbers with a dot.
    let (status, kind, bytes) = get("/reports/absences-payroll/csv".into()).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"));
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a byte order mark for spreadsheets"
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "Mois");
    let days_at = headers.iter().position(|h| h == "Jours").unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), api_rows.len());
    let csv_days: f64 = records
        .iter()
        .map(|r| r[days_at].parse::<f64>().unwrap())
        .sum();
    assert!((csv_days - api_days).abs() < 1e-6);
    // The download was an export: the page says so.
    let (_, _, html) = get("/reports/absences-payroll".into()).await;
    assert!(String::from_utf8(html)
        .unwrap()
        .contains("votre dernier export"));

    // XLSX: typed numbers and dates.
    use calamine::Reader;
    let (status, kind, bytes) =
        get("/reports/expenses-by-nature/xlsx?from=2000-01&to=2002-12".into()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert!(kind.contains("spreadsheetml"));
    let (status, _, bytes) = get("/reports/absences-payroll/xlsx".into()).await;
    assert_eq!(status, 200);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(sheet.height(), api_rows.len() + 1);
    assert_eq!(
        sheet.get((0, 0)),
        Some(&calamine::Data::String("Mois".into()))
    );
    assert!(
        matches!(sheet.get((1, 0)), Some(calamine::Data::DateTime(_))),
        "{:?}",
        sheet.get((1, 0))
    );
    let xlsx_days: f64 = (1..sheet.height())
        .map(|r| match sheet.get((r, days_at)) {
            Some(calamine::Data::Float(f)) => *f,
            other => panic!("days are numbers: {other:?}"),
        })
        .sum();
    assert!((xlsx_days - api_days).abs() < 1e-6);

    // Mistakes get a page that says what is wrong.
    let (status, _, html) = get("/reports/absences-payroll?from=2026-13".into()).await;
    assert_eq!(status, 400);
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("« 2026-13 » n'est pas un mois : écrivez-le AAAA-MM"),
        "in the page's language: {html}"
    );
    let (status, _, html) = get("/reports/absences-payroll?from=2026-05&to=2026-01".into()).await;
    assert_eq!(status, 400);
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("la période finit (janvier 2026) avant de commencer (mai 2026)"),
        "{html}"
    );
    let (status, ..) = get("/reports/nothing".into()).await;
    assert_eq!(status, 404);
    let (status, _, html) = get("/reports/headcount/pdf".into()).await;
    assert_eq!(status, 404, "no such file format");
    assert!(String::from_utf8(html)
        .unwrap()
        .contains("format de fichier"));
    let r = client()
        .get(format!("{url}/reports/headcount/csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "downloads need a session");
    // Inside Online installed: its app page shows what its key read in the
    // last 24 hours, per resource, from the audit trail.
    let (_, _, app) = get("/integrations/inside-online".into()).await;
    let app = String::from_utf8(app).unwrap();
    let r = c
        .post(format!("{url}/integrations/inside-online/install"))
        .header("cookie", &session)
        .form(&[
            ("csrf", hidden(&app, "csrf")),
            ("contact", "bi@infineo.fr".to_owned()),
            ("base", "production".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let shown = r.text().await.unwrap();
    let at = shown.find("id=\"api-key\">").unwrap() + 13;
    let inside = shown[at..at + shown[at..].find('<').unwrap()].to_owned();
    let (_, _, before) = get("/integrations/inside-online".into()).await;
    assert!(String::from_utf8(before).unwrap().contains("n'a rien lu"));
    let read = |path: &'static str| {
        let c = c.clone();
        let inside = inside.clone();
        async move {
            let r = c
                .get(format!("{url}{path}"))
                .header("Authorization", format!("lucca application={inside}"))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let mut users = 0;
    for path in [
        "/api/v3/users?fields=id,lastName&paging=0,25",
        "/api/v3/users?fields=id,lastName&paging=25,25",
    ] {
        let (status, body) = read(path).await;
        assert_eq!(status, 200);
        users += body["data"]["items"].as_array().unwrap().len();
    }
    let (status, claims) = read("/api/v3/expenseClaims?fields=id&paging=0,7").await;
    assert_eq!(status, 200);
    let claims = claims["data"]["items"].as_array().unwrap().len();
    let (status, _) = read("/api/v3/leaves?paging=0,5").await;
    assert_eq!(status, 400, "the leaves need a date: an error");
    let (_, _, page) = get("/integrations/inside-online".into()).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("data-requests=\"4\""), "{page}");
    assert!(
        page.contains(&format!("data-records=\"{}\"", users + claims)),
        "{page}"
    );
    assert!(page.contains("data-errors=\"1\""), "{page}");
    let row = &page[page.find("data-resource=\"/api/v3/users\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("Collaborateurs") && row.contains(&format!(">{users}<")),
        "{row}"
    );
    assert!(
        row.contains("</time>") && !row.contains("(Europe/Paris)<"),
        "its last read, the zone named in the heading: {row}"
    );
    // Its copy is up to date until the base changes after its last read.
    assert!(
        page.contains("data-lag=\"0\"") && page.contains("est à jour"),
        "{page}"
    );
    let r = c
        .put(format!("{url}/api/v3/users/1"))
        .header("Authorization", format!("Bearer {key}"))
        .json(&serde_json::json!({ "jobTitle": "Analyste paie" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, _, page) = get("/integrations/inside-online".into()).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("de retard"), "{page}");
    assert!(
        !page.contains("data-lag=\"0\""),
        "a second after the change"
    );
    let (status, _) = read("/api/v3/users?fields=id&paging=0,1").await;
    assert_eq!(status, 200);
    let (_, _, page) = get("/integrations/inside-online".into()).await;
    assert!(
        String::from_utf8(page).unwrap().contains("est à jour"),
        "read again: up to date"
    );
}

#[tokio::test]
async fn the_directory_employee_pages_and_calendar_show_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "60"]);
    account(
        d,
        "rh@relais.test",
        "Rachel",
        "rh-password-1",
        &["--keys-admin"],
    );
    account(
        d,
        "it@relais.test",
        "Ivan",
        "it-password-1",
        &["--apps-admin"],
    );
    let key = ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            "bi",
            "--contact",
            "bi@relais.test",
            "--grant",
            "all",
        ],
    );
    let key = key.lines().nth(1).unwrap().trim().to_owned();
    let server = serve(d);
    let url = &server.1;
    let c = client();
    let api = |path: String| {
        let c = c.clone();
        let key = key.clone();
        async move {
            c.get(format!("{url}{path}"))
                .header("Authorization", format!("lucca application={key}"))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let page_as = |session: String| {
        let c = c.clone();
        move |path: String| {
            let c = c.clone();
            let session = session.clone();
            async move {
                let r = c
                    .get(format!("{url}{path}"))
                    .header("cookie", session)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        }
    };
    // Signed out, the pages send to sign-in.
    let r = c.get(format!("{url}/people")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let hr = page_as(
        sign_in(&c, url, "rh@relais.test", "rh-password-1")
            .await
            .unwrap(),
    );

    // Everyone under contract today, as the API counts them.
    let today = relais_testkit::today();
    let users = api(
        "/api/v3/users?fields=id,lastName,firstName,employeeNumber,departmentId,dtContractStart,dtContractEnd&formerEmployees=true&paging=0,1000".to_owned()
    )
    .await;
    let users = users["data"]["items"].as_array().unwrap().clone();
    let current: Vec<&serde_json::Value> = users
        .iter()
        .filter(|u| {
            let start = &u["dtContractStart"].as_str().unwrap()[..10];
            let end = u["dtContractEnd"].as_str().map(|e| e[..10].to_owned());
            start <= today.to_string().as_str()
                && end.is_none_or(|e| e.as_str() >= today.to_string().as_str())
        })
        .collect();
    let (status, html) = hr("/people".into()).await;
    assert_eq!(status, 200);
    let count = |html: &str| -> usize {
        let at = html.find("id=\"people-count\">").expect(html) + "id=\"people-count\">".len();
        html[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(count(&html), current.len(), "current employees");
    let (_, all) = hr("/people?status=all".into()).await;
    assert_eq!(count(&all), users.len(), "everyone");
    // By department, as the API has them.
    let dep = current[0]["departmentId"].as_i64().unwrap();
    let in_dep = current
        .iter()
        .filter(|u| u["departmentId"].as_i64() == Some(dep))
        .count();
    let (_, html) = hr(format!("/people?department={dep}")).await;
    assert_eq!(count(&html), in_dep);
    // Found by employee number.
    let someone = current[0];
    let number = someone["employeeNumber"].as_str().unwrap();
    let (_, html) = hr(format!("/people?q={number}")).await;
    assert_eq!(count(&html), 1);
    assert!(html.contains(someone["lastName"].as_str().unwrap()));
    // Bad filters say which one is wrong.
    let (status, html) = hr("/people?department=abc".into()).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("Département") && html.contains("abc"),
        "{html}"
    );
    let (status, html) = hr("/people?status=gone".into()).await;
    assert_eq!(status, 400);
    assert!(html.contains("gone"), "{html}");

    // An employee's page: their sections, absences as the API has them.
    let id = someone["id"].as_i64().unwrap();
    let (status, html) = hr(format!("/people/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"section-personal\""),
        "HR reads personal details"
    );
    // Countries read by name, not by code.
    let personal = api(format!("/api/v3/users/{id}?fields=nationality,address")).await;
    let nationality = personal["data"]["nationality"].as_str().unwrap();
    let city = personal["data"]["address"]["city"].as_str().unwrap();
    assert_eq!(personal["data"]["address"]["countryCode"], "FR");
    assert!(
        html.contains(&format!("{city}, France<")),
        "the address names its country: {html}"
    );
    assert!(
        !html.contains(&format!(">{nationality}<")),
        "the nationality {nationality} is named, not given as its code"
    );
    let leaves = api(format!(
        "/api/v3/leaveRequests?ownerId={id}&fields=id&paging=0,1000"
    ))
    .await;
    let periods = leaves["data"]["items"].as_array().unwrap().len();
    assert_eq!(
        html.matches("<tr data-status=").count(),
        periods,
        "one row per leave period"
    );
    let (status, _) = hr("/people/99999999".into()).await;
    assert_eq!(status, 404);
    let (status, _) = hr("/people/not-a-number".into()).await;
    assert_eq!(status, 404);
    let it = page_as(
        sign_in(&c, url, "it@relais.test", "it-password-1")
            .await
            .unwrap(),
    );
    let (_, html) = it(format!("/people/{id}")).await;
    assert!(
        html.contains("id=\"section-personal-hidden\"")
            && !html.contains("id=\"section-personal\""),
        "personal details are kept for HR"
    );
    let birth = api(format!("/api/v3/users/{id}?fields=birthDate")).await;
    if let Some(b) = birth["data"]["birthDate"].as_str() {
        let shown = format!("{}/{}/{}", &b[8..10], &b[5..7], &b[..4]);
        assert!(!html.contains(&shown), "no birth date for IT");
    }

    // The department's calendar: a row per employee under contract that month.
    let month = today.format("%Y-%m").to_string();
    let (status, html) = hr(format!("/calendar?department={dep}&month={month}")).await;
    assert_eq!(status, 200);
    let first = today.with_day(1).unwrap().to_string();
    let rows = users
        .iter()
        .filter(|u| u["departmentId"].as_i64() == Some(dep))
        .filter(|u| {
            u["dtContractEnd"]
                .as_str()
                .is_none_or(|e| e[..10] >= *first.as_str())
        })
        .filter(|u| {
            let start = &u["dtContractStart"].as_str().unwrap()[..10];
            let last = (today.with_day(1).unwrap() + chrono::Months::new(1))
                .pred_opt()
                .unwrap();
            start <= last.to_string().as_str()
        })
        .count();
    assert_eq!(html.matches("<tr data-employee=").count(), rows);
    let (status, html) = hr(format!("/calendar?department={dep}&month=2027-13")).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("2027-13") && html.contains("AAAA-MM"),
        "{html}"
    );
    let (status, _) = hr("/calendar?department=999999".into()).await;
    assert_eq!(status, 400);
}

/// An account disabled from the command line signs in no more and its open
/// session ends; enabled again, it signs in. A new password ends the open
/// sessions and replaces the old one.
#[tokio::test]
async fn accounts_are_disabled_enabled_and_given_a_new_password() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    let email = "leaving@relais.test";
    account(d, email, "Léa", "first-password-1", &[]);
    let server = serve(d);
    let url = &server.1;
    let c = client();
    let home = |cookie: String| {
        let c = c.clone();
        async move {
            c.get(format!("{url}/integrations"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let session = sign_in(&c, url, email, "first-password-1").await.unwrap();
    assert_eq!(home(session.clone()).await, 200);

    let said = ok(d, &["people", "disable", "LEAVING@relais.test"]);
    assert!(said.contains("is disabled"), "{said}");
    assert!(ok(d, &["people", "list"]).contains("disabled since"));
    assert_eq!(home(session).await, 303, "the open session ended");
    assert_eq!(
        sign_in(&c, url, email, "first-password-1").await,
        Err(401),
        "refused as a wrong password is"
    );

    ok(d, &["people", "enable", email]);
    let session = sign_in(&c, url, email, "first-password-1").await.unwrap();
    assert_eq!(home(session.clone()).await, 200);

    let said = ok(d, &["people", "password", email]);
    let new = said
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .and_then(|l| l.split(' ').next())
        .expect("a generated password, shown once")
        .to_owned();
    assert_eq!(home(session).await, 303, "the open session ended");
    assert_eq!(sign_in(&c, url, email, "first-password-1").await, Err(401));
    assert!(sign_in(&c, url, email, &new).await.is_ok());

    let out = relais(d)
        .args(["people", "disable", "nobody@relais.test"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("account nobody@relais.test does not exist")
    );
}

/// Accounts are created, given rights, disabled, enabled and given a new
/// password from the pages, by someone who may manage accounts and keys;
/// each change takes effect at once on the account's sessions; a bad form
/// creates nothing; nobody disables themselves or takes away their own
/// right, and the last account that may manage accounts keeps it.
#[tokio::test]
async fn accounts_are_managed_from_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    let (server, c, chef, reader) = admin_and_reader(d, "--keys-admin").await;
    let url = &server.1;
    let get = |path: &str, cookie: &str| get_page(&c, format!("{url}{path}"), cookie);
    let (_, list) = get("/accounts", &chef).await;
    let csrf = hidden(&list, "csrf");
    let post = |path: &str, cookie: &str, form: Vec<(&str, &str)>| {
        post_form(&c, format!("{url}{path}"), cookie, &form)
    };
    let accounts = || ok(d, &["people", "list"]);

    assert!(
        list.contains("admin@relais.test") && list.contains("reader@relais.test"),
        "{list}"
    );
    assert!(list.contains("consultation seulement"), "{list}");
    assert!(
        list.contains("<a href=\"/accounts\">Comptes</a>"),
        "in the menu"
    );
    let (status, refused) = get("/accounts", &reader).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("Gestion des rôles et des clés API"));

    // A bad form: every mistake beside its field, nothing created.
    let before = accounts();
    let (status, html) = post(
        "/accounts",
        &chef,
        vec![("csrf", &csrf), ("name", " "), ("email", "pas-une-adresse")],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("data-field=\"name\"") && html.contains("data-field=\"email\""));
    assert!(
        html.contains("pas-une-adresse"),
        "what was typed is kept: {html}"
    );
    let (status, _) = post(
        "/accounts",
        &chef,
        vec![
            ("csrf", "forged"),
            ("name", "Nina"),
            ("email", "nina@relais.test"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(accounts(), before, "nothing created");

    // Created, with its password shown once; it signs in with it.
    let (status, html) = post(
        "/accounts",
        &chef,
        vec![
            ("csrf", &csrf),
            ("name", "Nina"),
            ("email", "nina@relais.test"),
            ("apps", "on"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let password = {
        let at = html
            .find("id=\"password\">")
            .expect("the password, shown once")
            + 14;
        html[at..at + html[at..].find('<').unwrap()].to_owned()
    };
    assert_eq!(password.len(), 16, "{password}");
    assert!(
        html.contains("À sa première connexion, la personne le remplacera"),
        "the page says she replaces it: {html}"
    );
    let row_of = |html: &str, email: &str| {
        let at = html.find(&format!("<td>{email}</td>")).unwrap();
        let row = &html[html[..at].rfind("<tr").unwrap()..];
        row[..row.find("</tr>").unwrap()].to_owned()
    };
    let nina_row = row_of(&html, "nina@relais.test");
    assert!(
        nina_row.contains("jamais"),
        "never signed in yet: {nina_row}"
    );
    let nina = sign_in(&c, url, "nina@relais.test", &password)
        .await
        .unwrap();
    // Chef chose her password: she chooses her own before any other page
    // opens to her.
    assert_eq!(
        get("/accounts", &nina).await.0,
        303,
        "sent to « Mon compte »"
    );
    assert_eq!(get("/integrations", &nina).await.0, 303);
    assert!(
        row_of(&get("/accounts", &chef).await.1, "nina@relais.test")
            .contains("mot de passe à choisir"),
        "the list says so"
    );
    let (status, mine) = get("/me", &nina).await;
    assert_eq!(status, 200);
    assert!(mine.contains("id=\"choose-password\""), "{mine}");
    let (nina, password) =
        choose_password(&c, url, &nina, &mine, &password, "nina-own-password").await;
    let (_, mine) = get("/me", &nina).await;
    assert!(!mine.contains("choose-password"), "{mine}");
    assert!(
        !row_of(&get("/accounts", &chef).await.1, "nina@relais.test")
            .contains("mot de passe à choisir")
    );
    let line = accounts()
        .lines()
        .find(|l| l.contains("nina@relais.test"))
        .unwrap()
        .to_owned();
    assert!(line.contains("true   false"), "apps, not keys: {line}");
    let id = line.split_whitespace().next().unwrap().to_owned();
    let nina_row = row_of(&get("/accounts", &chef).await.1, "nina@relais.test");
    assert!(
        nina_row.contains("</time>") && !nina_row.contains(">jamais<"),
        "her last sign-in: {nina_row}"
    );
    let (status, html) = post(
        "/accounts",
        &chef,
        vec![
            ("csrf", &csrf),
            ("name", "Nina bis"),
            ("email", "NINA@relais.test"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("existe déjà"), "{html}");
    assert_eq!(get("/accounts", &nina).await.0, 403);

    // Rights apply to the open session at once.
    let page = format!("/accounts/{id}");
    let (status, html) = get(&page, &chef).await;
    assert_eq!(status, 200);
    assert!(html.contains("réussie"), "Nina's sign-in: {html}");
    let (status, _) = post(
        &format!("{page}/rights"),
        &chef,
        vec![("csrf", &csrf), ("keys", "on")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(get("/accounts", &nina).await.0, 200);
    let line = accounts();
    assert!(
        line.lines()
            .any(|l| l.contains("nina@relais.test") && l.contains("false  true")),
        "{line}"
    );

    // Disabled after a confirmation: the session ends, signing in fails.
    let (status, html) = post(&format!("{page}/disable"), &chef, vec![("csrf", &csrf)]).await;
    assert_eq!(status, 200);
    assert!(html.contains("confirm-disable"), "asked first: {html}");
    assert_eq!(get("/accounts", &nina).await.0, 200, "not yet");
    let (status, _) = post(
        &format!("{page}/disable"),
        &chef,
        vec![("csrf", &csrf), ("confirmed", "1")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(get("/accounts", &nina).await.0, 303, "the session ended");
    assert_eq!(
        sign_in(&c, url, "nina@relais.test", &password).await,
        Err(401)
    );
    let html = get(&page, &chef).await.1;
    assert!(html.contains("désactivé depuis le"), "{html}");
    // The account's history names who did what, newest first.
    let history = &html[html.find("id=\"changes\"").unwrap()..];
    let history = &history[..history.find("</table>").unwrap()];
    let rows: Vec<&str> = history.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 4, "{history}");
    for (row, (change, by)) in rows.iter().zip([
        ("désactivé", "Chef"),
        ("droits changés", "Chef"),
        ("nouveau mot de passe", "Nina"),
        ("compte créé", "Chef"),
    ]) {
        assert!(row.contains(change) && row.contains(by), "{change}: {row}");
    }

    // Nobody disables themselves or takes away their own right; the last
    // account that may manage accounts keeps the right.
    let me = accounts()
        .lines()
        .find(|l| l.contains("admin@relais.test"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (status, html) = post(
        &format!("/accounts/{me}/disable"),
        &chef,
        vec![("csrf", &csrf), ("confirmed", "1")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(html.contains("votre propre compte"), "{html}");
    let (status, html) = post(
        &format!("/accounts/{me}/rights"),
        &chef,
        vec![("csrf", &csrf), ("apps", "on")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(html.contains("votre propre permission"), "{html}");
    let out = relais(d)
        .args(["people", "rights", "admin@relais.test", "--apps-admin"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no enabled account that may manage accounts and keys"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(get("/accounts", &chef).await.0, 200, "nothing changed");

    // Enabled again, then a new password: the old one and its sessions end.
    let (status, _) = post(&format!("{page}/enable"), &chef, vec![("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    let nina = sign_in(&c, url, "nina@relais.test", &password)
        .await
        .unwrap();
    let (status, html) = post(
        &format!("{page}/password"),
        &chef,
        vec![("csrf", &csrf), ("confirmed", "1")],
    )
    .await;
    assert_eq!(status, 200);
    let at = html.find("id=\"password\">").unwrap() + 14;
    let new = &html[at..at + html[at..].find('<').unwrap()];
    assert_ne!(new, password);
    assert_eq!(get("/accounts", &nina).await.0, 303, "the session ended");
    assert_eq!(
        sign_in(&c, url, "nina@relais.test", &password).await,
        Err(401)
    );
    let again = sign_in(&c, url, "nina@relais.test", new).await.unwrap();
    assert_eq!(
        get("/accounts", &again).await.0,
        303,
        "a password Chef gave is to be replaced too"
    );

    assert_eq!(get("/accounts/99999", &chef).await.0, 404);
    for address in ["/accounts/abc", "/keys/abc", "/runs/99999999999999999999"] {
        let (status, html) = get(address, &chef).await;
        assert_eq!(status, 404, "{address}");
        assert!(
            html.contains("Cette adresse ne mène à aucune page de relais."),
            "a page, in the reader's language: {html}"
        );
    }
    let (_, english) = get("/accounts", &format!("{chef}; relais_lang=en")).await;
    assert!(
        english.contains("Accounts") && english.contains("reading only"),
        "{english}"
    );
    // The last sign-ins are dated as each reader writes a date: the month
    // named in English, so that 06/12 is not read as June.
    let today = relais_core::now().with_timezone(&relais_core::org::TimeZone::PARIS.0);
    let (_, french) = get("/accounts", &chef).await;
    assert!(
        french.contains(&today.format("%d/%m/%Y ").to_string()),
        "{french}"
    );
    assert!(
        english.contains(&today.format("%-d %b %Y, ").to_string())
            && !english.contains(&today.format("%d/%m/%Y").to_string()),
        "{english}"
    );
    assert!(
        english.contains("Last sign-in<br><small class=\"muted zone\">Paris time</small>"),
        "{english}"
    );
    let trail = ok(d, &["people", "sign-ins", "--email", "NINA@relais.test"]);
    assert!(
        trail
            .lines()
            .skip(1)
            .all(|l| l.contains("nina@relais.test")),
        "{trail}"
    );
    assert_eq!(trail.matches(" failed ").count(), 2, "{trail}");
    let history = ok(d, &["people", "history", "nina@relais.test"]);
    let changes: Vec<&str> = history.lines().skip(1).collect();
    assert_eq!(changes.len(), 6, "{history}");
    for (line, (change, by)) in changes.iter().zip([
        ("password", "admin@relais.test"),
        ("enabled", "admin@relais.test"),
        ("disabled", "admin@relais.test"),
        ("rights", "admin@relais.test"),
        ("password", "nina@relais.test"),
        ("created", "admin@relais.test"),
    ]) {
        assert!(
            line.contains(change) && line.ends_with(by),
            "{change}: {line}"
        );
    }
    let history = ok(d, &["people", "history", "admin@relais.test"]);
    assert!(
        history.lines().nth(1).unwrap().ends_with("command line"),
        "{history}"
    );

    // This server sends webhooks to public addresses only: one inside the
    // network is refused on a key's page in the viewer's language, as is
    // an address that is not the web's, and nothing is added.
    ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            "Annuaire",
            "--contact",
            "it@relais.test",
            "--grant",
            "organisation",
        ],
    );
    let (status, page) = get("/keys/1", &chef).await;
    assert_eq!(status, 200, "{page}");
    let csrf = hidden(&page, "csrf");
    for (address, lang, words) in [
        (
            "http://10.1.2.3/hooks",
            "fr",
            "« http://10.1.2.3/hooks » n'est pas une adresse publique",
        ),
        (
            "http://10.1.2.3/hooks",
            "en",
            "'http://10.1.2.3/hooks' is not a public address",
        ),
        (
            "ftp://hooks.example.com/",
            "fr",
            "« ftp://hooks.example.com/ » n'est pas une adresse http:// ou https://",
        ),
    ] {
        let (status, text) = post_form(
            &c,
            format!("{url}/keys/1/webhooks"),
            &format!("{chef}; relais_lang={lang}"),
            &[
                ("csrf", &csrf),
                ("url", address),
                ("name", "Interne"),
                ("which", "all"),
            ],
        )
        .await;
        let text = text.replace("&#39;", "'");
        assert!(
            status == 422 && text.contains("id=\"webhook-refused\"") && text.contains(words),
            "{lang}: {status} {text}"
        );
        assert!(text.contains("id=\"no-webhooks\""), "nothing added: {text}");
    }
}

/// Anyone signed in changes their own password on « Mon compte », giving
/// the one they have: each mistake is said beside its field and changes
/// nothing; a wrong current password counts as a failed sign-in; once
/// changed, the other sessions end and this one goes on.
#[tokio::test]
async fn people_change_their_own_password() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    account(d, "lea@relais.test", "Léa", "first-password-1", &[]);
    let server = serve(d);
    let url = &server.1;
    let c = client();
    let here = sign_in(&c, url, "lea@relais.test", "first-password-1")
        .await
        .unwrap();
    let elsewhere = sign_in(&c, url, "lea@relais.test", "first-password-1")
        .await
        .unwrap();
    let status = |cookie: String| {
        let req = c.get(format!("{url}/me")).header("cookie", cookie);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let me = page_text(&c, format!("{url}/integrations"), &here).await;
    assert!(me.contains("href=\"/me\""), "the name leads to the account");
    let me = page_text(&c, format!("{url}/me"), &here).await;
    assert!(me.contains("lea@relais.test") && me.contains("consultation seulement"));
    let csrf = hidden(&me, "csrf");
    let change = |current: &str, new: &str, confirm: &str| {
        let req = c
            .post(format!("{url}/me/password"))
            .header("cookie", here.clone())
            .form(&[
                ("csrf", csrf.as_str()),
                ("current", current),
                ("new", new),
                ("confirm", confirm),
            ]);
        async move { req.send().await.unwrap() }
    };

    for (current, new, confirm, field) in [
        (
            "wrong-password",
            "second-password-2",
            "second-password-2",
            "current",
        ),
        ("first-password-1", "short", "short", "new"),
        (
            "first-password-1",
            "first-password-1",
            "first-password-1",
            "new",
        ),
        (
            "first-password-1",
            "second-password-2",
            "second-password-3",
            "confirm",
        ),
    ] {
        let resp = change(current, new, confirm).await;
        assert_eq!(resp.status(), 422, "{field}");
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(&format!("data-field=\"{field}\"")),
            "{field}: {html}"
        );
        assert!(!html.contains(new) || new == "short", "never typed back");
    }
    assert_eq!(status(elsewhere.clone()).await, 200, "nothing changed");
    let trail = ok(d, &["people", "sign-ins", "--email", "lea@relais.test"]);
    assert_eq!(trail.matches(" failed ").count(), 1, "{trail}");

    let resp = change("first-password-1", "second-password-2", "second-password-2").await;
    assert_eq!(resp.status(), 303);
    let renewed = format!(
        "relais_session={}",
        common::set_cookie(&resp, "relais_session").expect("this session opens again")
    );
    assert_eq!(status(elsewhere).await, 303, "the other session ended");
    let html = page_text(&c, format!("{url}/me?changed=1"), &renewed).await;
    assert!(html.contains("Mot de passe changé"), "{html}");
    assert_eq!(
        sign_in(&c, url, "lea@relais.test", "first-password-1").await,
        Err(401)
    );
    assert!(sign_in(&c, url, "lea@relais.test", "second-password-2")
        .await
        .is_ok());

    // Her name, too: an empty one is refused beside the field, what was
    // typed kept; a new one is saved, shown, and in her history as hers.
    let me = page_text(&c, format!("{url}/me"), &renewed).await;
    assert!(me.contains(r#"id="name-form""#), "{me}");
    let csrf = hidden(&me, "csrf");
    let rename = |name: &str| {
        post_form(
            &c,
            format!("{url}/me/name"),
            &renewed,
            &[("csrf", csrf.as_str()), ("name", name)],
        )
    };
    let (status, html) = rename("   ").await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains(r#"data-field="name""#), "{html}");
    let (status, _) = post_form(
        &c,
        format!("{url}/me/name"),
        &renewed,
        &[("csrf", "forged"), ("name", "Léa Martin")],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = rename("Léa Martin").await;
    assert_eq!(status, 303);
    let me = page_text(&c, format!("{url}/me?named=1"), &renewed).await;
    assert!(
        me.contains("Nom enregistré.") && me.contains("Léa Martin"),
        "{me}"
    );
    let history = ok(d, &["people", "history", "lea@relais.test"]);
    let renamed = history.lines().find(|l| l.contains("identity")).unwrap();
    assert!(
        renamed.contains("lea@relais.test (before: Léa <lea@relais.test>)"),
        "{history}"
    );
    assert!(
        ok(d, &["people", "list"]).contains("Léa Martin"),
        "the name is stored"
    );
}

/// An account's name and e-mail are changed on its page by someone who
/// manages accounts: mistakes said beside their fields and nothing changed,
/// an e-mail another account has refused, then the account signs in with
/// its new address (its session kept), its history and the journal saying
/// what it was called before; and from the command line.
#[tokio::test]
async fn an_account_is_renamed_from_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    let (server, c, chef, reader) = admin_and_reader(d, "--keys-admin").await;
    let url = &server.1;
    let get = |path: &str, cookie: &str| get_page(&c, format!("{url}/{path}"), cookie);
    let post = |path: &str, cookie: &str, form: Vec<(&str, &str)>| {
        post_form(&c, format!("{url}/{path}"), cookie, &form)
    };
    let people = || ok(d, &["people", "list"]);
    let reader_id = people()
        .lines()
        .find(|l| l.contains("reader@relais.test"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let page = format!("accounts/{reader_id}");
    let identity = format!("accounts/{reader_id}/identity");
    let (status, html) = get(&page, &chef).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="identity-form""#), "{html}");
    assert!(html.contains(r#"value="Lecteur""#) && html.contains(r#"value="reader@relais.test""#));
    let csrf = hidden(&html, "csrf");

    // Mistakes: each beside its field, what was typed kept, nothing changed.
    let before = people();
    let (status, html) = post(
        &identity,
        &chef,
        vec![("csrf", &csrf), ("name", " "), ("email", "pas-une-adresse")],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains(r#"data-field="name""#) && html.contains(r#"data-field="email""#));
    assert!(html.contains(r#"value="pas-une-adresse""#), "{html}");
    assert!(
        html.contains("Le nom et l&#39;e-mail n&#39;ont pas changé")
            || html.contains("Le nom et l'e-mail n'ont pas changé"),
        "{html}"
    );
    let (status, html) = post(
        &identity,
        &chef,
        vec![
            ("csrf", &csrf),
            ("name", "Léo Lecteur"),
            ("email", "ADMIN@relais.test"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("Un compte existe déjà avec cette adresse e-mail."),
        "{html}"
    );
    assert!(html.contains(r#"value="Léo Lecteur""#), "{html}");
    let (status, _) = post(
        &identity,
        &chef,
        vec![
            ("csrf", "forged"),
            ("name", "Léo"),
            ("email", "leo@relais.test"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post(
        &identity,
        &reader,
        vec![
            ("csrf", &hidden(&get("me", &reader).await.1, "csrf")),
            ("name", "Léo"),
            ("email", "leo@relais.test"),
        ],
    )
    .await;
    assert_eq!(status, 403, "without the right");
    let (status, _) = post(
        "accounts/999/identity",
        &chef,
        vec![
            ("csrf", &csrf),
            ("name", "Léo"),
            ("email", "leo@relais.test"),
        ],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(people(), before, "nothing changed");

    // Saved: the page says so, the list shows the new name and address.
    let resp = c
        .post(format!("{url}/{identity}"))
        .header("cookie", chef.clone())
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Léo Lecteur"),
            ("email", "leo.lecteur@relais.test"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let back = resp.headers()["location"].to_str().unwrap().to_owned();
    let (_, html) = get(back.trim_start_matches('/'), &chef).await;
    assert!(html.contains("Modification enregistrée."), "{html}");
    assert!(html.contains("nom ou e-mail changé"), "{html}");
    assert!(
        html.contains("avant : Lecteur &lt;reader@relais.test&gt;"),
        "{html}"
    );
    let (_, list) = get("accounts", &chef).await;
    assert!(list.contains("Léo Lecteur") && list.contains("leo.lecteur@relais.test"));
    assert!(!list.contains("reader@relais.test"), "{list}");
    let (status, _) = get("me", &reader).await;
    assert_eq!(status, 200, "the renamed account's session stays open");
    assert_eq!(
        sign_in(&c, url, "reader@relais.test", "reader-password-1").await,
        Err(401)
    );
    assert!(
        sign_in(&c, url, "leo.lecteur@relais.test", "reader-password-1")
            .await
            .is_ok()
    );
    let (_, journal) = get("activity", &chef).await;
    assert!(
        journal.contains("Nom ou e-mail du compte changé"),
        "{journal}"
    );
    assert!(
        journal.contains("avant : Lecteur &lt;reader@relais.test&gt;"),
        "{journal}"
    );

    // The same again changes nothing more; the command line renames too,
    // and its history tells both changes.
    let (status, _) = post(
        &identity,
        &chef,
        vec![
            ("csrf", &csrf),
            ("name", "Léo Lecteur"),
            ("email", "leo.lecteur@relais.test"),
        ],
    )
    .await;
    assert_eq!(status, 303, "saved, though it changes nothing");
    let said = ok(
        d,
        &[
            "people",
            "rename",
            "leo.lecteur@relais.test",
            "--name",
            "Léo Martin",
        ],
    );
    assert!(
        said.contains("is now Léo Martin <leo.lecteur@relais.test>"),
        "{said}"
    );
    let history = ok(d, &["people", "history", "leo.lecteur@relais.test"]);
    let renames: Vec<&str> = history.lines().filter(|l| l.contains("identity")).collect();
    assert_eq!(renames.len(), 2, "{history}");
    assert!(
        renames[0].contains("command line")
            && renames[0].contains("(before: Léo Lecteur <leo.lecteur@relais.test>)"),
        "{history}"
    );
    assert!(
        renames[1].contains("admin@relais.test")
            && renames[1].contains("(before: Lecteur <reader@relais.test>)"),
        "{history}"
    );
    let out = relais(d)
        .args([
            "people",
            "rename",
            "leo.lecteur@relais.test",
            "--email",
            "admin@relais.test",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

/// A test base is refreshed from production on the home page by someone
/// with « Administration des applications »: asked first with what is
/// replaced, copied in the background, the home page saying how it ended
/// and the test base then holding what production holds; production itself
/// is never overwritten, and nobody without the right can ask.
#[tokio::test]
async fn a_test_base_is_refreshed_from_the_home_page() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["base", "create", "test", "--kind", "test"]);
    ok(d, &["base", "create", "recette", "--kind", "test"]);
    ok(d, &["seed", "--employees", "40"]);
    let (server, c, admin, reader) = admin_and_reader(d, "--apps-admin").await;
    let url = &server.1;
    let home = page_text(&c, format!("{url}/"), &reader).await;
    assert!(
        home.contains("stockage SQLite"),
        "the database by its name: {home}"
    );
    // The base switcher gives a base's kind unless its name says it.
    for option in [
        ">production</option>",
        ">test</option>",
        ">recette (test)</option>",
    ] {
        assert!(home.contains(option), "{option}: {home}");
    }
    assert!(
        !home.contains("refresh-base"),
        "no button without the right"
    );
    let post = |cookie: &str, csrf: &str, path: &str, confirmed: bool| {
        let mut form = vec![("csrf", csrf)];
        if confirmed {
            form.push(("confirmed", "1"));
        }
        post_form(&c, format!("{url}{path}"), cookie, &form)
    };
    let reader_csrf = hidden(&home, "csrf");
    let refused = post(&reader, &reader_csrf, "/bases/test/refresh", true).await;
    assert_eq!(refused.0, 403);

    let home = page_text(&c, format!("{url}/"), &admin).await;
    let csrf_admin = hidden(&home, "csrf");
    assert!(
        home.contains("Rafraîchir depuis « production »"),
        "the button under the test base: {home}"
    );
    let as_admin = |path: &'static str, confirmed: bool| post(&admin, &csrf_admin, path, confirmed);
    let (status, asked) = as_admin("/bases/test/refresh", false).await;
    assert_eq!(status, 200);
    assert!(
        asked.contains("confirm-refresh") && asked.contains("(0 collaborateurs"),
        "asked first, saying what is replaced: {asked}"
    );
    let (status, refused) = as_admin("/bases/production/refresh", true).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("Seule une base de test"), "{refused}");
    assert_eq!(as_admin("/bases/nulle-part/refresh", true).await.0, 404);
    let count = |home: &str, base: &str, what: &str| -> i64 {
        let table = &home[home.find(&format!("<table data-base=\"{base}\"")).unwrap()..];
        let at = table.find(&format!("data-count=\"{what}\">")).unwrap() + what.len() + 14;
        table[at..at + table[at..].find('<').unwrap()]
            .parse()
            .unwrap()
    };
    let before = page_text(&c, format!("{url}/"), &admin).await;
    assert_eq!(count(&before, "test", "leave_periods"), 0);

    let (status, _) = as_admin("/bases/test/refresh", true).await;
    assert_eq!(status, 303);
    let done = relais_testkit::eventually(
        std::time::Duration::from_secs(20),
        "the refresh's end on the home page",
        || async {
            let home = page_text(&c, format!("{url}/"), &admin).await;
            home.contains("Rafraîchie depuis « production »")
                .then_some(home)
        },
    )
    .await;
    assert!(
        !done.contains("http-equiv=\"refresh\""),
        "no longer followed"
    );
    for what in [
        "active_employees",
        "leave_periods",
        "expense_claims",
        "departments",
    ] {
        assert_eq!(
            count(&done, "test", what),
            count(&done, "production", what),
            "{what}"
        );
    }
    assert!(count(&done, "test", "leave_periods") > 0);
}

/// A production base on `dir` with a key « Annuaire » made at the command
/// line, and « Chef » (admin@relais.test) holding `rights`, signed in to
/// relais serving it (webhooks may reach this machine): the server, the
/// client, the key's text and Chef's session cookie.
async fn journal_server(dir: &Path, rights: &[&str]) -> (Server, reqwest::Client, String, String) {
    ok(
        dir,
        &["base", "create", "production", "--kind", "production"],
    );
    let created = ok(
        dir,
        &[
            "keys",
            "create",
            "--name",
            "Annuaire",
            "--contact",
            "it@relais.test",
            "--grant",
            "all",
        ],
    );
    let secret = created
        .lines()
        .find(|l| l.starts_with("relais_"))
        .unwrap()
        .to_owned();
    account(dir, "admin@relais.test", "Chef", "admin-password-1", rights);
    let server = serve_with(
        dir,
        &[
            "--webhook-private-addresses",
            "true",
            "--journal-retention-days",
            "90",
            "--audit-retention-days",
            "30",
        ],
    );
    let c = client();
    let chef = sign_in(&c, &server.1, "admin@relais.test", "admin-password-1")
        .await
        .unwrap();
    (server, c, secret, chef)
}

/// The journal tells who did what, from the pages, through the API and at
/// the command line: in the reader's language, by person, by pages, and for
/// one key on its page; people with neither right do not read it.
#[tokio::test]
async fn the_journal_tells_who_did_what() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (server, c, secret, chef) = journal_server(d, &["--keys-admin", "--apps-admin"]).await;
    let url = &server.1;
    account(d, "reader@relais.test", "Lecteur", "reader-password-1", &[]);
    account(
        d,
        "apps@relais.test",
        "Appli",
        "apps-password-1",
        &["--apps-admin"],
    );
    let reader = sign_in(&c, url, "reader@relais.test", "reader-password-1")
        .await
        .unwrap();
    let apps_only = sign_in(&c, url, "apps@relais.test", "apps-password-1")
        .await
        .unwrap();
    let get = |path: &str, cookie: &str| get_page(&c, format!("{url}{path}"), cookie);
    let (status, refused) = get("/activity", &reader).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("Administration des applications"));

    // Through the API, the key registers endpoints (at a closed port: they
    // are kept, inactive).
    for n in 0..51 {
        let r = c
            .post(format!("{url}/api/relais/webhooks"))
            .header("Authorization", format!("Bearer {secret}"))
            .json(&serde_json::json!({
                "url": "http://127.0.0.1:9/hook",
                "name": format!("récepteur {n}"),
                "topics": ["employee.*"],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    }
    // From the pages, Chef revokes the key.
    let (_, keys) = get("/keys", &chef).await;
    let csrf = hidden(&keys, "csrf");
    let (status, html) = post_form(
        &c,
        format!("{url}/keys/1/revoke"),
        &chef,
        &[("csrf", &csrf), ("confirmed", "1")],
    )
    .await;
    assert!(status == 200 || status == 303, "{status}: {html}");

    let rows = |html: &str| -> Vec<String> {
        html.split("<tr data-action=\"")
            .skip(1)
            .map(|r| r[..r.find("</tr>").unwrap()].to_owned())
            .collect()
    };
    let (status, html) = get("/activity", &chef).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<a href=\"/activity\">Journal</a>"),
        "in the menu"
    );
    let first = rows(&html);
    assert_eq!(first.len(), 50, "fifty a page");
    assert!(
        html.contains("Chaque entrée est conservée 90 jours, puis supprimée."),
        "the journal's retention, as the server was started with"
    );
    let (_, key_page) = get("/keys/1", &chef).await;
    assert!(
        key_page.contains("Chaque requête est conservée 30 jours, puis supprimée."),
        "the audit trail's retention"
    );
    assert!(
        first[0].starts_with("key.revoked")
            && first[0].contains("Clé API révoquée")
            && first[0].contains(">Chef</a>")
            && first[0].contains("<a href=\"/keys/1\">Annuaire</a>"),
        "{}",
        first[0]
    );
    assert!(
        first[1].starts_with("webhook.created")
            && first[1].contains("récepteur 50")
            && first[1].contains("http://127.0.0.1:9/hook")
            && first[1].contains("clé API « <a href=\"/keys/1\">Annuaire</a> »"),
        "{}",
        first[1]
    );
    // The next page: the rest, down to the key's creation at the command line.
    let older = {
        let at = html.find("id=\"older\" href=\"").expect("a next page") + 17;
        html[at..at + html[at..].find('"').unwrap()].replace("&amp;", "&")
    };
    let (_, html) = get(&older, &chef).await;
    let rest = rows(&html);
    assert!(!html.contains("id=\"older\""), "the last page");
    let names: Vec<&str> = rest.iter().map(|r| &r[..r.find('"').unwrap()]).collect();
    assert_eq!(
        names,
        vec![
            "webhook.created",
            "webhook.created",
            "account.created",
            "account.created",
            "account.created",
            "key.created"
        ],
        "{rest:?}"
    );
    assert!(
        rest[5].contains("ligne de commande") && rest[5].contains("production"),
        "{}",
        rest[5]
    );
    assert!(
        rest[4].contains("Chef &lt;admin@relais.test&gt;") && rest[4].contains("toutes"),
        "accounts are the server's: {}",
        rest[4]
    );
    // What Chef did, alone.
    let (_, html) = get("/activity?by=1", &chef).await;
    let chef_only = rows(&html);
    assert_eq!(chef_only.len(), 1, "{chef_only:?}");
    assert!(chef_only[0].starts_with("key.revoked"));
    // An address that does not parse shows the journal from the top.
    let (status, html) = get("/activity?before=abc&by=x", &chef).await;
    assert_eq!((status, rows(&html).len()), (200, 50));
    // The key's own history, on its page.
    let (_, html) = get("/keys/1", &chef).await;
    let history = &html[html.find("id=\"history\"").expect("its history")..];
    let history = &history[..history.find("</table>").unwrap()];
    assert_eq!(
        rows(history)
            .iter()
            .map(|r| r[..r.find('"').unwrap()].to_owned())
            .collect::<Vec<_>>(),
        vec!["key.revoked", "key.created"]
    );
    // In English.
    let (_, html) = get("/activity", &format!("{chef}; relais_lang=en")).await;
    assert!(
        html.contains("Activity journal") && html.contains("API key revoked"),
        "{html}"
    );
    // At the command line, the same journal.
    let cli = ok(d, &["activity", "--email", "admin@relais.test"]);
    let lines: Vec<&str> = cli.lines().skip(1).collect();
    assert_eq!(lines.len(), 1, "{cli}");
    assert!(
        lines[0].contains("key.revoked")
            && lines[0].contains("Annuaire")
            && lines[0].ends_with("Chef"),
        "{cli}"
    );
    let cli = ok(d, &["activity", "--limit", "3"]);
    assert_eq!(cli.lines().count(), 4, "a heading and three entries: {cli}");
    assert!(cli.contains("key 1 'Annuaire'"), "{cli}");
    let out = relais(d)
        .args(["activity", "--email", "nobody@relais.test"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody@relais.test"));

    // The whole journal as a file, in the reader's language; one person's
    // part of it; not for the others.
    let file = c
        .get(format!("{url}/activity.csv"))
        .header("cookie", &chef)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status().as_u16(), 200);
    assert!(file.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = file.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 56, "a heading and every entry: {text}");
    assert!(lines[0].contains("Quand (UTC)"), "{}", lines[0]);
    assert!(
        lines[1].contains("Chef,Clé API révoquée,key.revoked,Annuaire"),
        "{}",
        lines[1]
    );
    assert!(
        lines[56].contains("ligne de commande,Clé API créée,key.created,Annuaire,,production"),
        "{}",
        lines[56]
    );
    let (_, mine) = get("/activity.csv?by=1", &chef).await;
    assert_eq!(mine.lines().count(), 2, "{mine}");
    let (status, _) = get("/activity.csv", &reader).await;
    assert_eq!(status, 403);

    // An installed app's page shows its own history to those who read the
    // journal, and nothing of it to the others.
    let (status, html) = post_form(
        &c,
        format!("{url}/integrations/happypal/install"),
        &chef,
        &[
            ("csrf", &csrf),
            ("contact", "it@happypal.fr"),
            ("base", "production"),
        ],
    )
    .await;
    assert!(status == 200 || status == 303, "{status}: {html}");
    let (_, html) = get("/integrations/happypal", &chef).await;
    let history = &html[html.find("id=\"history\"").expect("its history")..];
    let entries = rows(&history[..history.find("</table>").unwrap()]);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0].starts_with("app.installed") && entries[0].contains(">Chef</a>"),
        "{}",
        entries[0]
    );
    let (status, html) = get("/integrations/happypal", &reader).await;
    assert_eq!(status, 200);
    assert!(!html.contains("id=\"history\""), "{html}");

    // Someone who may install apps but not see keys nor accounts reads the
    // journal's entries about apps and test bases, and no other.
    let (status, html) = get("/activity", &apps_only).await;
    assert_eq!(status, 200);
    let seen = rows(&html);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("app.installed"), "{}", seen[0]);
    assert!(
        !html.contains("Annuaire") && !html.contains("admin@relais.test"),
        "no key, no account: {html}"
    );
    let (_, file) = get("/activity.csv", &apps_only).await;
    assert_eq!(file.lines().count(), 2, "{file}");
}

/// A long journal reads whole, each entry once and newest first, both by
/// the pages' « older entries » links and as one file (read by the server
/// in parts of 500).
#[tokio::test]
async fn a_long_journal_reads_whole_by_pages_and_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (server, c, secret, chef) = journal_server(d, &["--keys-admin"]).await;
    let url = &server.1;
    let api = |path: String, body: serde_json::Value| {
        c.post(format!("{url}{path}"))
            .header("Authorization", format!("Bearer {secret}"))
            .json(&body)
            .send()
    };
    let made: serde_json::Value = api(
        "/api/relais/webhooks".into(),
        serde_json::json!({ "url": "http://127.0.0.1:9/hook", "topics": ["employee.*"] }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = made["data"]["id"].as_i64().expect("an endpoint");
    // 1,000 replays, 1,003 entries with the key, the account and the endpoint.
    for after in 0..1_000 {
        let r = api(
            format!("/api/relais/webhooks/{id}/replay"),
            serde_json::json!({ "after": 0 }),
        )
        .await
        .unwrap();
        assert!(r.status().is_success(), "replay {after}: {}", r.status());
    }
    let total = 1_003;

    let mut seen = Vec::new();
    let mut next = Some("/activity".to_owned());
    while let Some(path) = next.take() {
        let (status, html) = get_page(&c, format!("{url}{path}"), &chef).await;
        assert_eq!(status, 200, "{path}");
        let rows = html.matches("<tr data-action=").count();
        assert!(rows <= 50, "{path}: {rows}");
        seen.extend(
            html.split("<tr data-action=\"")
                .skip(1)
                .map(|r| r[..r.find('"').unwrap()].to_owned()),
        );
        next = html.find("id=\"older\" href=\"").map(|at| {
            let at = at + 17;
            html[at..at + html[at..].find('"').unwrap()].replace("&amp;", "&")
        });
    }
    assert_eq!(seen.len(), total, "every entry, once");
    assert!(seen[..1_000].iter().all(|a| a == "webhook.replayed"));
    assert_eq!(
        seen[1_000..],
        ["webhook.created", "account.created", "key.created"]
    );

    let (status, file) = get_page(&c, format!("{url}/activity.csv"), &chef).await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = file.lines().skip(1).collect();
    assert_eq!(lines.len(), total, "every entry, once");
    let codes: Vec<&str> = lines.iter().map(|l| l.split(',').nth(3).unwrap()).collect();
    assert_eq!(codes, seen, "the same entries as the pages, in their order");
}

/// A download never hands a spreadsheet a formula: a key named like one
/// (made at the command line) is written as text in the journal's file.
#[tokio::test]
async fn downloads_write_formulas_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (server, c, _, chef) = journal_server(d, &["--keys-admin"]).await;
    let name = "=HYPERLINK(\"http://x.test\",\"Paie\")";
    ok(
        d,
        &[
            "keys",
            "create",
            "--name",
            name,
            "--contact",
            "it@relais.test",
            "--grant",
            "all",
        ],
    );
    let file = page_text(&c, format!("{}/activity.csv", server.1), &chef).await;
    assert!(
        file.contains(r#""'=HYPERLINK(""http://x.test"",""Paie"")""#),
        "{file}"
    );
    assert!(!file.contains(r#""=HYPERLINK"#), "{file}");
}

/// The directory downloads whole as a CSV file — every employee its filters
/// keep, past one page and one part of the file — with names rather than
/// identifiers; a filter it does not know is refused.
#[tokio::test]
async fn the_directory_downloads_whole_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["seed", "--employees", "600"]);
    account(d, "it@relais.test", "Ivan", "it-password-1", &[]);
    let server = serve(d);
    let url = &server.1;
    let c = client();
    let me = sign_in(&c, url, "it@relais.test", "it-password-1")
        .await
        .unwrap();
    let counted = |html: &str| -> usize {
        let at = html.find("id=\"people-count\">").unwrap() + 18;
        html[at..].split(' ').next().unwrap().parse().unwrap()
    };
    for filters in [
        "status=all",
        "status=current",
        "status=former&establishment=1",
    ] {
        let (status, html) = get_page(&c, format!("{url}/people?{filters}"), &me).await;
        assert_eq!(status, 200, "{html}");
        let total = counted(&html);
        assert!(html.contains("href=\"/people.csv?"), "{html}");
        let resp = c
            .get(format!("{url}/people.csv?{filters}"))
            .header("cookie", me.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("collaborateurs-production.csv"));
        let file = resp.text().await.unwrap();
        let lines: Vec<&str> = file.lines().collect();
        assert!(
            lines[0].starts_with("\u{feff}Nom,Prénom,Matricule,E-mail"),
            "{}",
            lines[0]
        );
        assert_eq!(lines.len() - 1, total, "{filters}: one line per employee");
        let numbers: std::collections::BTreeSet<&str> = lines[1..]
            .iter()
            .map(|l| l.split(',').nth(2).unwrap())
            .collect();
        assert_eq!(numbers.len(), total, "{filters}: each employee once");
        if filters == "status=all" {
            assert_eq!(total, 600, "past one part of the file (500)");
        }
        if filters.contains("establishment=1") {
            assert!(
                lines[1..].iter().all(|l| l.contains("Siège Paris")),
                "{file}"
            );
            assert!(
                lines[1..].iter().all(|l| l.ends_with(",Parti(e)")),
                "{file}"
            );
        }
    }
    let (status, html) = get_page(&c, format!("{url}/people.csv?status=retired"), &me).await;
    assert_eq!(status, 400);
    assert!(html.contains("retired"), "{html}");
}
