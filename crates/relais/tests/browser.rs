//! Browser tests of the admin pages: headless Chromium, driven through
//! ChromeDriver's WebDriver protocol, against a real `relais serve`.
//!
//! They run when `RELAIS_TEST_CHROMEDRIVER` names a chromedriver binary
//! (`.ci/run` installs Debian's `chromium` and `chromium-driver` and sets it);
//! otherwise they say they were skipped. Screenshots of the main pages are
//! saved in `target/screenshots/`.
mod common;

use common::relais;

use base64::Engine;
use relais_testkit::eventually;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = relais(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "relais {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session.
struct Browser {
    http: reqwest::Client,
    session: String,
    shots: PathBuf,
}

impl Browser {
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        let req = self.http.request(method.clone(), &url);
        let req = if method == reqwest::Method::GET {
            req
        } else {
            req.json(&body)
        };
        let resp: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = resp["value"].get("error") {
            panic!(
                "webdriver {method} {path}: {err} {}",
                resp["value"]["message"]
            );
        }
        resp["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// Runs `script` in the page and gives what it returns.
    async fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Presses keys on the focused element, as a person at the keyboard
    /// does: text, Tab (`\u{E004}`), Enter (`\u{E007}`), Space.
    async fn keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                [
                    json!({ "type": "keyDown", "value": c.to_string() }),
                    json!({ "type": "keyUp", "value": c.to_string() }),
                ]
            })
            .collect();
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .await;
    }

    /// The id (or name, or tag) of the element that has the focus.
    async fn focused(&self) -> String {
        self.js("const e = document.activeElement; return e ? (e.id || e.name || e.tagName) : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Tabs forward until `id` has the focus (at most 40 presses): it is
    /// reachable from the keyboard.
    async fn tab_to(&self, id: &str) {
        for _ in 0..40 {
            if self.focused().await == id {
                return;
            }
            self.keys("\u{E004}").await;
        }
        panic!("#{id} cannot be reached with Tab");
    }

    /// The serious and critical accessibility violations axe-core finds on
    /// the page (`axe` is its source).
    async fn violations(&self, axe: &str) -> Vec<String> {
        self.js(&format!("{axe}\n;return typeof axe;")).await;
        let found = self
            .cmd(
                reqwest::Method::POST,
                "/execute/async",
                json!({ "script": "const done = arguments[arguments.length - 1];
                    axe.run(document, { resultTypes: ['violations'] })
                      .then(r => done(r.violations
                        .filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
                      .catch(e => done(['axe failed: ' + e]));", "args": [] }),
            )
            .await;
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
            .collect()
    }

    async fn find(&self, css: &str) -> String {
        eventually(
            Duration::from_secs(5),
            &format!("an element {css}"),
            || async { self.find_all(css).await.into_iter().next() },
        )
        .await
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            json!({}),
        )
        .await;
    }

    async fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            json!({}),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{e}/text"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// Waits until the page's URL contains `part` (after a click that navigates).
    async fn wait_url(&self, part: &str) {
        eventually(
            Duration::from_secs(5),
            &format!("the page at {part}"),
            || async { self.url().await.contains(part).then_some(()) },
        )
        .await;
    }

    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Opens `url` at desktop and phone widths and checks that the page is
    /// never wider than the window (naming what sticks out), with a
    /// screenshot `<shot>-<width>` of each; then back to a desktop window.
    async fn fits(&self, url: &str, ready: &str, shot: &str) {
        for (width, height) in [(1440, 900), (390, 844)] {
            self.window(width, height).await;
            self.go(url).await;
            self.find(ready).await;
            let wide = self
                .js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                .await;
            let culprits = self
                .js("const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1).slice(0, 60).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))")
                .await;
            assert!(
                wide.as_i64().unwrap_or(0) <= 0,
                "{url} is wider than a {width} px window by {wide} px: {culprits}"
            );
            self.screenshot(&format!("{shot}-{width}")).await;
        }
        self.desktop().await;
    }

    /// Resizes the window to `width` × `height` px.
    async fn window(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            json!({ "width": width, "height": height }),
        )
        .await;
    }

    /// Back to the desktop window the tests use.
    async fn desktop(&self) {
        self.window(1280, 1000).await;
    }

    async fn screenshot(&self, name: &str) {
        let png = self
            .cmd(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), bytes).unwrap();
    }

    async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.go(&format!("{base}/login")).await;
        self.type_in("#email", email).await;
        self.type_in("#password", password).await;
        self.click("#login-submit").await;
    }
}

#[tokio::test]
async fn install_happypal_in_a_browser() {
    let Ok(driver) = std::env::var("RELAIS_TEST_CHROMEDRIVER") else {
        let _ = writeln!(std::io::stderr(), "relais browser tests skipped: RELAIS_TEST_CHROMEDRIVER is not set (install chromium and chromium-driver, then set it to /usr/bin/chromedriver)");
        return;
    };
    let chromium =
        std::env::var("RELAIS_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["base", "create", "production", "--kind", "production"]);
    ok(d, &["base", "create", "test"]);
    ok(d, &["seed", "--employees", "80"]);
    ok(d, &["base", "copy"]);
    ok(
        d,
        &[
            "people",
            "create",
            "--email",
            "admin@relais.test",
            "--name",
            "Alice Admin",
            "--password",
            "admin-password-1",
            "--apps-admin",
            "--keys-admin",
        ],
    );
    ok(
        d,
        &[
            "people",
            "create",
            "--email",
            "viewer@relais.test",
            "--name",
            "Victor Lecteur",
            "--password",
            "viewer-password-1",
        ],
    );

    let mut server = relais(d)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .find_map(|l| l.ok().filter(|l| l.contains("http://")))
        .unwrap();
    let _server = Killed(server);
    let base = line[line.find("http://").unwrap()..]
        .trim_end_matches('/')
        .to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _driver = Killed(
        Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let root = format!("http://127.0.0.1:{port}");
    eventually(Duration::from_secs(15), "chromedriver started", || async {
        http.get(format!("{root}/status"))
            .send()
            .await
            .ok()
            .map(drop)
    })
    .await;
    let profile = tempfile::tempdir().unwrap();
    let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
        "binary": chromium,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                 format!("--user-data-dir={}", profile.path().display())]
    } } } });
    let created: Value = http
        .post(format!("{root}/session"))
        .json(&caps)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {created}"))
        .to_owned();
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let b = Browser {
        http: http.clone(),
        session: format!("{root}/session/{id}"),
        shots,
    };

    // A wrong password is refused on the page.
    b.sign_in(&base, "admin@relais.test", "not-the-password")
        .await;
    b.find("#login-error").await;
    assert!(b.text("#login-error").await.contains("incorrect"));
    // What was typed stays, the password aside.
    let typed = b
        .js("return [document.getElementById('email').value, document.getElementById('password').value]")
        .await;
    assert_eq!(typed, json!(["admin@relais.test", ""]));

    // Sign in with the keyboard alone: Tab to each field, type, Enter.
    b.go(&format!("{base}/login")).await;
    b.tab_to("email").await;
    b.keys("admin@relais.test").await;
    b.keys("\u{E004}").await;
    assert_eq!(
        b.focused().await,
        "password",
        "Tab goes from e-mail to password"
    );
    b.keys("admin-password-1\u{E007}").await;
    b.wait_url("/integrations").await;
    assert_eq!(b.find_all(".card").await.len(), 5);
    b.type_in("#search", "HappyPal").await;
    b.click("#search-submit").await;
    b.wait_url("q=HappyPal").await;
    assert_eq!(b.find_all(".card").await.len(), 1);
    b.find("[data-app=happypal]").await;
    b.screenshot("catalog").await;

    // The app page says what it does and which grants its key gets.
    b.click("[data-app=happypal] h3 a").await;
    b.wait_url("/integrations/happypal").await;
    assert!(b.text("#flows").await.contains("Date de naissance"));
    assert!(b.text("#grants").await.contains(
        "personnel-file:fields=firstName+lastName+mail+birthDate+dtContractStart+dtContractEnd"
    ));
    b.screenshot("app").await;

    // Install on the test base; the key is shown once.
    b.type_in("#contact", "tech@happypal.fr").await;
    b.click("#base option[value=test]").await;
    b.click("#install").await;
    b.wait_url("/install").await;
    let key = b.text("#api-key").await;
    let url = b.text("#base-url").await;
    assert!(key.starts_with("relais_"), "{key}");
    b.screenshot("installed-key").await;

    // The key reads the six HappyPal fields, and identifiers, of the test base, and nothing else.
    let fields = "id,url,name,firstName,lastName,mail,birthDate,dtContractStart,dtContractEnd,jobTitle,login,employeeNumber,department,manager,extendedData";
    let resp = http
        .get(format!("{url}/api/v3/users?fields={fields}&paging=0,100"))
        .header("Authorization", format!("lucca application={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let allowed = [
        "id",
        "url",
        "firstName",
        "lastName",
        "mail",
        "birthDate",
        "dtContractStart",
        "dtContractEnd",
    ];
    let items = body["data"]["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for item in items {
        let keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(keys.iter().all(|k| allowed.contains(k)), "{keys:?}");
        for f in &allowed[2..] {
            assert!(keys.contains(f), "{f} missing in {keys:?}");
        }
    }

    // A second install on the same base is refused.
    b.go(&format!("{base}/base?name=test")).await;
    b.go(&format!("{base}/integrations/happypal")).await;
    assert!(b.find_all("#install-form").await.is_empty());
    b.find("#installed").await;
    // The test base says so on every page, in another colour.
    let banner = b.text("#test-banner").await;
    assert!(banner.contains("Base de test « test »"), "{banner}");
    b.find("body.test-base").await;
    // The switcher changes base only when asked: choosing is not switching.
    b.click("#base-select option[value='production']").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(b.url().await.ends_with("/integrations/happypal"));
    b.find("#test-banner").await;
    b.click("#base-switch").await;
    b.wait_url("/integrations/happypal").await;
    eventually(Duration::from_secs(5), "back on production", || async {
        b.find_all("#test-banner").await.is_empty().then_some(())
    })
    .await;
    // On production, the install form offers production only, and says
    // where the app already is; the catalog card too.
    assert!(b.find_all("#base option[value='test']").await.is_empty());
    b.find("#base option[value='production']").await;
    let elsewhere = b.text("#installed-elsewhere").await;
    assert!(elsewhere.contains("test"), "{elsewhere}");
    b.go(&format!("{base}/integrations")).await;
    let card = b.text(".card[data-app=happypal] .installed-on").await;
    assert!(card.contains("Installée sur test"), "{card}");
    b.go(&format!("{base}/base?name=test")).await;
    b.go(&format!("{base}/integrations/happypal")).await;
    b.find("#installed").await;

    // The integration: HappyPal's URL and token entered in the form, then "Sync now".
    let hp = relais_sandbox::happypal::start("127.0.0.1:0".parse().unwrap(), "browser-token")
        .await
        .unwrap();
    b.find("#health[data-health=pending]").await;
    b.find("#missing-settings").await;
    b.type_in("#partner_url", &hp.url()).await;
    b.type_in("#secret-token", "browser-token").await;
    b.click("#save-settings").await;
    b.wait_url("/integrations/happypal").await;
    // The form leads back to the same address: the page is new once the
    // notice of missing settings is gone.
    eventually(Duration::from_secs(5), "the settings saved", || async {
        b.find_all("#missing-settings")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    // The schedule chosen as a frequency, previewed before saving: a
    // sentence and the next five runs; HappyPal is offered every 4 hours at
    // least.
    assert!(b
        .find_all("#schedule-hours option[value='1']")
        .await
        .is_empty());
    b.click("#schedule-kind option[value='hours']").await;
    b.click("#schedule-hours option[value='8']").await;
    b.click("#preview-settings").await;
    b.find("#settings-preview").await;
    let sentence = b.text("#schedule-sentence").await;
    assert!(sentence.contains("toutes les 8 heures"), "{sentence}");
    assert_eq!(b.find_all("#schedule-next-runs li").await.len(), 5);
    b.screenshot("schedule-preview").await;
    b.fits(
        &format!("{base}/integrations/happypal"),
        "#schedule-picker",
        "app-settings",
    )
    .await;
    b.go(&format!("{base}/integrations/happypal")).await;
    // HappyPal answers slowly: the run lasts a few seconds, and its page
    // follows it live while the app's page holds "Sync now" back.
    let faults = |slow: u64| {
        let http = http.clone();
        let url = format!("{}/_sim/faults", hp.url());
        async move {
            let r = http
                .put(url)
                .json(&json!({ "slow_ms": slow }))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    };
    faults(2_000).await;
    b.click("#sync-now").await;
    b.wait_url("/runs/").await;
    let run_url = b.url().await;
    b.find("#run-live").await;
    b.go(&format!("{base}/integrations/happypal")).await;
    b.find("#run-open").await;
    // The app's page follows the run live too.
    b.find("#run-live [data-live-stream=employees]").await;
    let disabled = b
        .js("return document.getElementById('sync-now').disabled")
        .await;
    assert_eq!(disabled, json!(true), "Sync now waits for the run");
    b.go(&run_url).await;
    faults(0).await;
    // The run page follows the run until it is over, then shows its lines.
    eventually(Duration::from_secs(60), "the run succeeded", || async {
        (!b.find_all("#run-status[data-status=succeeded]")
            .await
            .is_empty())
        .then_some(())
    })
    .await;
    b.find("#lines tr[data-outcome=created]").await;
    // A line names the person by name and employee number, and fields by label.
    let record = b.text("#lines tr[data-outcome=created] td.record").await;
    assert!(record.contains(" (") && record.ends_with(')'), "{record}");
    let changes = b.text("#lines tr[data-outcome=created] td.changes").await;
    assert!(
        changes.contains("Prénom") && !changes.contains("first_name"),
        "{changes}"
    );
    // On a phone each line stacks into a card rather than a table wider
    // than the screen.
    b.fits(&run_url, "#lines tr[data-outcome=created]", "run-report")
        .await;
    // So do the journal's entries.
    b.window(390, 844).await;
    for (page, table, ready) in [
        (run_url.clone(), "#lines", "#lines tr[data-outcome=created]"),
        (
            format!("{base}/activity"),
            "table.activity",
            "table.activity tbody tr",
        ),
    ] {
        b.go(&page).await;
        b.find(ready).await;
        let hidden = b
            .js(&format!(
                "const t = document.querySelector('{table}'); return t.scrollWidth - t.clientWidth"
            ))
            .await;
        assert!(
            hidden.as_i64().unwrap_or(1) <= 0,
            "a phone reads {table} of {page} without scrolling sideways: {hidden} px hidden"
        );
    }
    b.desktop().await;
    let profiles: Vec<Value> = http
        .get(format!("{}/_sim/profiles", hp.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seen: Value = http
        .get(format!("{url}/api/v3/users?fields=id&paging=0,1000"))
        .header("Authorization", format!("lucca application={key}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        profiles.len(),
        seen["data"]["items"].as_array().unwrap().len(),
        "HappyPal holds every employee the key sees"
    );
    b.go(&format!("{base}/integrations/happypal")).await;
    b.find("#health[data-health=healthy]").await;
    b.find("#runs-chart rect").await;
    b.screenshot("integration").await;

    // Ledgy: the field mapping editor on its page, a mapping the key cannot
    // read refused beside its field, at desktop and phone widths.
    b.go(&format!("{base}/integrations/ledgy")).await;
    b.type_in("#contact", "tech@ledgy.com").await;
    b.click("#base option[value=test]").await;
    b.click("#install").await;
    b.wait_url("/install").await;
    b.go(&format!("{base}/integrations/ledgy")).await;
    b.find("#mapping-table").await;
    assert!(b
        .text("#mapping-table")
        .await
        .contains("Identifiant du bénéficiaire"));
    b.type_in("#custom-target-new", "sharesPlan").await;
    b.type_in("#custom-label-new", "Plan d'actionnariat").await;
    b.click("#custom-source-new option[value='raw:extendedData.e_sharesPlan']")
        .await;
    b.click("#save-mapping").await;
    b.find("#mapping-refused").await;
    let why = b.text("tr[data-target=sharesPlan] .field-error").await;
    assert!(why.contains("Actionnariat salarié"), "{why}");
    b.screenshot("ledgy-mapping-refused").await;
    b.fits(
        &format!("{base}/integrations/ledgy"),
        "#mapping-table",
        "ledgy-mapping",
    )
    .await;

    // Reports: a table and its chart, filtered by an establishment chosen
    // by name, at desktop and phone widths.
    b.go(&format!("{base}/reports")).await;
    b.click("#reports a[href='/reports/absenteeism']").await;
    b.find("#report-table").await;
    b.find("#report-chart svg").await;
    let all: i64 = b.text("#row-count").await.trim().parse().unwrap();
    b.click("#establishmentId option:first-child").await;
    b.click("#report-filters button[type=submit]").await;
    b.wait_url("establishmentId=").await;
    let one: i64 = b.text("#row-count").await.trim().parse().unwrap();
    assert!(
        one > 0 && one < all,
        "one establishment's rows ({one}) among all ({all})"
    );
    b.fits(
        &format!("{base}/reports/absences-payroll"),
        "#report-chart",
        "report",
    )
    .await;

    // The home page: each base's integrations with their health and the
    // records moved today, and the base's counts.
    b.go(&format!("{base}/")).await;
    let moved = b
        .js("const c = document.querySelector('table.home-integrations tr[data-app=happypal] td[data-today]'); return c ? Number(c.dataset.today) : -1")
        .await;
    assert!(
        moved.as_i64().unwrap() > 0,
        "HappyPal moved records today: {moved}"
    );
    assert!(
        b.text("table.home-integrations tr[data-app=happypal]")
            .await
            .contains("HappyPal"),
        "apps by name"
    );
    b.find("td[data-count=active_employees]").await;
    b.fits(&format!("{base}/"), "table.home-integrations", "home")
        .await;

    // The HR data: the directory searched and filtered by department, an
    // employee's page with what the apps received, their department's month.
    b.go(&format!("{base}/people")).await;
    let everyone = b.find_all("#people tbody tr").await.len();
    assert!(everyone > 10, "{everyone} employees listed");
    let first = b.text("#people tbody tr:first-child td:first-child").await;
    let last_name = first.split_whitespace().next().unwrap().to_owned();
    b.type_in("#q", &last_name).await;
    b.click("#search-people").await;
    b.wait_url("q=").await;
    let found = b.find_all("#people tbody tr").await;
    assert!(
        !found.is_empty() && found.len() < everyone,
        "{} found",
        found.len()
    );
    let names = b.js("return [...document.querySelectorAll('#people tbody tr td:first-child')].map(td => td.textContent)").await;
    assert!(
        names
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n.as_str().unwrap().contains(&last_name)),
        "{names}"
    );
    b.go(&format!("{base}/people")).await;
    b.click("#department option:nth-child(2)").await;
    b.click("#search-people").await;
    b.wait_url("department=").await;
    let chosen = b
        .js("return document.querySelector('#department option:checked').textContent")
        .await;
    let departments = b.js("return [...document.querySelectorAll('#people tbody tr td:nth-child(5)')].map(td => td.textContent)").await;
    let departments = departments.as_array().unwrap();
    assert!(
        !departments.is_empty() && departments.iter().all(|d| *d == chosen),
        "{chosen} only: {departments:?}"
    );
    b.fits(&format!("{base}/people"), "#people", "people").await;
    // Someone HappyPal received (the run above created them).
    b.click("#people tbody tr:first-child td a").await;
    b.wait_url("/people/").await;
    let employee_url = b.url().await;
    b.find("#section-work").await;
    b.find("#section-personal").await;
    let received = b.text("#deliveries").await;
    assert!(
        received.contains("HappyPal") && received.contains("créé"),
        "{received}"
    );
    b.fits(&employee_url, "#section-work", "employee").await;
    // Their department's calendar, on the month of an approved absence.
    let approved = b.js("const c = document.querySelector('#absences tr[data-status=approved] td:nth-child(2)'); return c ? c.textContent : null").await;
    b.click("#employee-status a").await;
    b.wait_url("/calendar").await;
    b.find("#calendar").await;
    if let Some(day) = approved.as_str() {
        let (month, year) = (&day[3..5], &day[6..10]);
        let url = format!("{}&month={year}-{month}", b.url().await);
        b.go(&url).await;
        let id = employee_url.rsplit('/').next().unwrap();
        let off = b
            .find_all(&format!("#calendar tr[data-employee='{id}'] .half.off"))
            .await;
        assert!(!off.is_empty(), "the approved absence shows in {url}");
        b.find("#calendar-legend").await;
        b.fits(&url, "#calendar", "calendar").await;
    }

    // A form used from the keyboard: the key form reached with Tab, sent
    // with Enter, its refusal beside the field and the focus still usable.
    b.go(&format!("{base}/keys")).await;
    b.tab_to("key-name").await;
    b.keys("cle clavier\u{E004}").await;
    assert_eq!(b.focused().await, "key-contact");
    b.keys("it@acme.fr\u{E007}").await;
    // No grant was ticked: refused beside the grants, what was typed kept.
    b.find("#key-error").await;
    let kept = b
        .js("return document.getElementById('key-name').value")
        .await;
    assert_eq!(kept, json!("cle clavier"));
    b.tab_to("create-key-submit").await;

    // Accounts: one created from its form, with a right ticked, and its
    // password shown once; the list and the account's page fit a phone.
    b.go(&format!("{base}/accounts")).await;
    b.type_in("#account-name", "Nina Martin").await;
    b.type_in("#account-email", "nina.martin@acme.fr").await;
    b.click("#create-account input[name=apps]").await;
    b.click("#create-account-submit").await;
    let done = b.text("#done").await;
    assert!(done.contains("Nina Martin"), "{done}");
    assert_eq!(b.text("#password").await.len(), 16);
    let row = b.text("#accounts tbody tr:last-child").await;
    assert!(
        row.contains("nina.martin@acme.fr") && row.contains("Administration des applications"),
        "{row}"
    );
    b.fits(&format!("{base}/accounts"), "#accounts", "accounts")
        .await;
    b.click("#accounts tbody tr:last-child a").await;
    b.find("#rights-form").await;
    let account_url = b.url().await;
    assert!(account_url.contains("/accounts/"), "{account_url}");
    b.fits(&account_url, "#rights-form", "account").await;
    // Everyone's own account, reached by their name in the header.
    b.click("#my-account").await;
    b.find("#password-form").await;
    b.fits(&format!("{base}/me"), "#password-form", "my-account")
        .await;

    // The journal names the account just created and who created it; its
    // filter by person keeps that person's changes; it fits a phone.
    b.go(&format!("{base}/activity")).await;
    let newest = b.text("table.activity tbody tr:first-child").await;
    assert!(
        newest.contains("Compte créé") && newest.contains("Nina Martin"),
        "{newest}"
    );
    b.js("const s = document.getElementById('activity-by'); s.selectedIndex = 1; return s.value")
        .await;
    b.click("#activity-filter-submit").await;
    b.wait_url("by=").await;
    let by = b
        .js("return [...document.querySelectorAll('table.activity tbody tr td:nth-child(2)')].map(td => td.textContent.trim())")
        .await;
    let by = by.as_array().expect("rows");
    assert!(!by.is_empty(), "the first account's changes");
    assert!(by.iter().all(|w| w == &by[0]), "one person's: {by:?}");
    b.fits(&format!("{base}/activity"), "table.activity", "activity")
        .await;

    // The main pages pass an automated accessibility check (axe-core, run
    // in the page): no serious or critical violation.
    match std::env::var("RELAIS_TEST_AXE") {
        Ok(path) => {
            let axe = std::fs::read_to_string(&path).unwrap();
            for path in [
                "/",
                "/integrations",
                "/integrations/happypal",
                "/installed",
                "/keys",
                "/keys/1",
                "/reports",
                "/reports/absences-payroll",
                "/people",
                &employee_url[employee_url.find("/people/").unwrap()..],
                "/calendar",
                "/accounts",
                "/me",
                "/activity",
                "/api-reference",
                &account_url[account_url.find("/accounts/").unwrap()..],
                &run_url[run_url.find("/runs/").unwrap()..],
            ] {
                b.go(&format!("{base}{path}")).await;
                if path == "/keys/1" {
                    let shown = b
                        .js("return document.getElementById('webhooks') !== null")
                        .await;
                    assert_eq!(shown, json!(true), "a key's page shows its webhooks");
                }
                let found = b.violations(&axe).await;
                assert!(found.is_empty(), "{path}: {found:#?}");
            }
        }
        Err(_) => {
            let _ = writeln!(std::io::stderr(), "relais accessibility check skipped: RELAIS_TEST_AXE is not set (set it to axe-core's axe.min.js; .ci/run downloads it)");
        }
    }

    // On a phone, a key's table of events to send fits without scrolling
    // sideways, itself or its frame.
    b.window(390, 844).await;
    b.go(&format!("{base}/keys/1")).await;
    b.find("table.topics").await;
    b.js("document.querySelector('input[name=which][value=chosen]').click()")
        .await;
    let over = b
        .js("const t = document.querySelector('table.topics'), f = t.parentElement; \
             return t.rows.length > 1 ? Math.max(t.scrollWidth - t.clientWidth, f.scrollWidth - f.clientWidth) : null")
        .await;
    assert!(
        over.as_i64().is_some_and(|o| o <= 0),
        "the events table of a key sticks out by {over} px"
    );
    b.screenshot("key-topics-390").await;
    b.desktop().await;

    // Installed apps: uninstall revokes the key.
    b.go(&format!("{base}/installed")).await;
    b.find("tr[data-app=happypal]").await;
    b.screenshot("installed-apps").await;
    b.click("tr[data-app=happypal] button.uninstall").await;
    // Asked first, naming what stops working; nothing done until confirmed.
    let stops = b.text("#confirm-stops").await;
    assert!(
        stops.contains("La clé API de HappyPal est révoquée")
            && stops.contains("La synchronisation s'arrête"),
        "{stops}"
    );
    b.screenshot("uninstall-confirm").await;
    b.click("#confirm-uninstall").await;
    let done = b.text("#done").await;
    assert!(done.contains("HappyPal est désinstallée"), "{done}");
    assert!(b.find_all("tr[data-app=happypal]").await.is_empty());
    let resp = http
        .get(format!("{url}/api/v3/users"))
        .header("Authorization", format!("lucca application={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // API keys page.
    b.go(&format!("{base}/keys")).await;
    assert!(b.text("#keys").await.contains("HappyPal"));
    b.screenshot("keys").await;
    // It leads to the API's reference: each endpoint with its grant, the
    // values its parameters take and a body its writes take, at desktop
    // and phone widths.
    b.click("#api-reference").await;
    b.wait_url("/api-reference").await;
    let update = b.text("#put-api-v3-users--id-").await;
    assert!(
        update.contains("write-employees") && update.contains("\"jobTitle\""),
        "{update}"
    );
    let create = b.text("#post-api-v3-users").await;
    assert!(
        create.contains("string or null obligatoire") && create.contains("201"),
        "{create}"
    );
    let leaves = b.text("#get-api-v3-leaves").await;
    assert!(leaves.contains("between,2026-01-01,2026-01-31"), "{leaves}");
    let call = b.text("#get-api-v3-leaves .curl").await;
    assert!(
        call.starts_with("curl -H \"Authorization: Bearer $RELAIS_KEY\"")
            && call.contains("/api/v3/leaves?")
            && call.contains("date=between,2026-01-01,2026-01-31"),
        "{call}"
    );
    b.fits(
        &format!("{base}/api-reference"),
        "#reference-index",
        "api-reference",
    )
    .await;

    // Someone without « Administration des applications » sees why, not the button.
    b.click("#sign-out").await;
    b.wait_url("/login").await;
    // Signed out, the home page is the sign-in page: no base's figures.
    b.go(&format!("{base}/")).await;
    b.find("#login-form").await;
    assert!(b.find_all("td[data-count]").await.is_empty());
    b.sign_in(&base, "viewer@relais.test", "viewer-password-1")
        .await;
    b.wait_url("/integrations").await;
    b.go(&format!("{base}/integrations/semana")).await;
    assert!(b.find_all("#install-form").await.is_empty());
    let why = b.text("#missing-permission").await;
    assert!(
        why.contains("Administration des applications") && why.contains("admin@relais.test"),
        "{why}"
    );
    b.screenshot("no-permission").await;
    // Nor does that person read employees' personal details.
    b.go(&employee_url).await;
    b.find("#section-personal-hidden").await;
    assert!(b.find_all("#section-personal").await.is_empty());

    let _ = http.delete(format!("{root}/session/{id}")).send().await;
}
