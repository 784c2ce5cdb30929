//! Integrations end to end: `relais demo` starts the partner simulators,
//! installs HappyPal, PlanningPME, Semana and Ledgy and syncs them; the app page shows
//! health, runs and "Sync now"; `relais sync …` configures, runs and reports.

mod common;

use common::{client, hidden, relais, set_cookie};
use relais_testkit::eventually;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// How long a test waits for a sync to happen.
const MINUTE: Duration = Duration::from_secs(60);

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = relais(dir).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Demo {
    child: Child,
    url: String,
    password: String,
    happypal: String,
    /// The demo's webhook receiver's list of what it got.
    hooks: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo(dir: &Path) -> Demo {
    let mut child = relais(dir)
        .args(["demo", "--employees", "80", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (mut password, mut happypal) = (String::new(), String::new());
    let (mut url, mut hooks) = (String::new(), String::new());
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("with the password ").nth(1) {
            password = rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(rest) = line.split("signed and checked, at ").nth(1) {
            hooks = rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(rest) = line.split("HappyPal at ").nth(1) {
            happypal = rest.split_whitespace().next().unwrap().to_owned();
        }
        if line.starts_with("relais is serving") {
            url = line[line.find("http://").unwrap()..]
                .trim_end_matches('/')
                .to_owned();
            break;
        }
    }
    assert!(!url.is_empty() && !password.is_empty() && !happypal.is_empty() && !hooks.is_empty());
    Demo {
        child,
        url,
        password,
        happypal,
        hooks,
    }
}

async fn sign_in(c: &reqwest::Client, url: &str, password: &str) -> String {
    let page = c.get(format!("{url}/login")).send().await.unwrap();
    let login = set_cookie(&page, "relais_login").unwrap();
    let token = hidden(&page.text().await.unwrap(), "csrf");
    let resp = c
        .post(format!("{url}/login"))
        .header("cookie", format!("relais_login={login}"))
        .form(&[
            ("csrf", token.as_str()),
            ("next", "/integrations"),
            ("email", "admin@relais.demo"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    format!(
        "relais_session={}",
        set_cookie(&resp, "relais_session").unwrap()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_syncs_its_partners_and_the_pages_show_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo(dir.path());
    // The demo's webhook receiver gets the base's changes, signed: the
    // first Semana sync brings telework days into the base.
    eventually(MINUTE, "changes at the demo's webhook receiver", || async {
        let got: serde_json::Value = reqwest::get(&d.hooks).await.ok()?.json().await.ok()?;
        let got = got.as_array()?;
        (!got.is_empty()).then_some(())?;
        assert!(
            got.iter().all(|m| m["verified"] == true),
            "every message signed with the endpoint's secret: {got:?}"
        );
        Some(())
    })
    .await;
    // The four first syncs run at once on their own.
    eventually(MINUTE, "the four integrations healthy", || async {
        let (_, list, _) = run(dir.path(), &["sync", "list"]);
        (list.matches(" healthy ").count() == 4).then_some(())
    })
    .await;
    let (_, list, _) = run(dir.path(), &["sync", "list"]);
    assert!(
        list.contains("HappyPal")
            && list.contains("PlanningPME")
            && list.contains("Semana")
            && list.contains("Ledgy"),
        "{list}"
    );
    // Inside Online is installed too, and the demo's replica reads the base
    // with its key: its page shows the reads and a copy up to date.
    let c = client();
    let session = sign_in(&c, &d.url, &d.password).await;
    eventually(MINUTE, "the replica's reads on its page", || async {
        let inside = c
            .get(format!("{}/integrations/inside-online", d.url))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (inside.contains("data-resource=\"/api/v3/expenseClaimItems\"")
            && inside.contains("est à jour"))
        .then_some(())
    })
    .await;
    let key_file = dir.path().join("relais-data").join("inside-online.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the replica's key is a secret");
    }
    // Semana's workspace had telework days booked: the first run brought
    // them into the base, each line naming the person and the day.
    let (_, runs, _) = run(dir.path(), &["sync", "runs", "3"]);
    let semana_run = runs.split_whitespace().next().unwrap().to_owned();
    let (ok, report, _) = run(dir.path(), &["sync", "report", &semana_run]);
    assert!(ok);
    let telework: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("  created ") && l.contains("telework ←"))
        .collect();
    assert!(!telework.is_empty(), "{report}");
    assert!(
        telework.iter().all(|l| l.contains(" · telework on ")),
        "the command line says it in English: {telework:?}"
    );
    assert!(report.contains("users →") && report.contains("  linked "));
    // Semana takes runs at night only.
    let (ok, _, err) = run(
        dir.path(),
        &["sync", "configure", "3", "--schedule", "0 14 * * *"],
    );
    assert!(!ok);
    assert!(err.contains("at night only"), "{err}");
    let profiles: Vec<serde_json::Value> = reqwest::get(format!("{}/_sim/profiles", d.happypal))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, runs, _) = run(dir.path(), &["sync", "runs", "1"]);
    let first_run: i64 = runs.split_whitespace().next().unwrap().parse().unwrap();
    let (ok, report, _) = run(dir.path(), &["sync", "report", &first_run.to_string()]);
    assert!(ok);
    assert!(
        report.starts_with(&format!("run {first_run} of installation 1: succeeded")),
        "{report}"
    );
    let created = report
        .split("created ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    assert_eq!(
        created.parse::<usize>().unwrap(),
        profiles.len(),
        "the report counts what HappyPal holds"
    );
    assert_eq!(
        report
            .lines()
            .filter(|l| l.starts_with("  created "))
            .count(),
        profiles.len()
    );
    let (ok, json, _) = run(
        dir.path(),
        &["sync", "report", &first_run.to_string(), "--json"],
    );
    assert!(ok);
    // A reader that stops early (`| head`) ends the command quietly: here
    // it has gone before the command writes its first byte.
    let mut reading = relais(dir.path())
        .args(["sync", "report", &first_run.to_string(), "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(reading.stdout.take());
    let stopped = reading.wait_with_output().unwrap();
    assert!(stopped.status.success(), "{stopped:?}");
    assert_eq!(String::from_utf8_lossy(&stopped.stderr), "");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["lines"].as_array().unwrap().len(), profiles.len());
    // In the API's shape: the run's members named as the API names them.
    assert_eq!(json["run"]["id"], first_run, "{json}");
    assert_eq!(json["run"]["dryRun"], false);
    assert!(json["run"]["partnerRequests"].as_u64().unwrap() > 0);
    assert!(json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["outcome"] == "created" && l["reason"].is_null()));

    // The app page: health, chart, runs; "Sync now" asks for a run the server starts.
    let c = client();
    let session = sign_in(&c, &d.url, &d.password).await;
    let get = |path: String| {
        let c = c.clone();
        let session = session.clone();
        async move {
            let r = c.get(path).header("cookie", session).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Semana's page: its settings with both account pickers; its run's
    // lines name people and days.
    let (status, html) = get(format!("{}/integrations/semana", d.url)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"option-telework_account\"") && html.contains("id=\"option-accounts\""),
        "{html}"
    );
    assert!(html.contains("Télétravail"), "accounts are picked by name");
    let (_, html) = get(format!("{}/runs/{semana_run}", d.url)).await;
    assert!(html.contains("télétravail le "), "{html}");
    assert!(
        html.contains("id=\"stream-counts\"") && html.contains("data-stream=\"telework\""),
        "counts per stream: {html}"
    );
    // Lines filtered by stream, outcome and name, and downloaded as CSV.
    let all_rows = html.matches("<tr data-outcome=").count();
    let (_, only) = get(format!("{}/runs/{semana_run}?stream=telework", d.url)).await;
    let telework_rows = only.matches("<tr data-outcome=").count();
    assert!(
        telework_rows > 0 && telework_rows <= all_rows,
        "{telework_rows} of {all_rows}"
    );
    assert_eq!(
        only.matches("td class=\"stream\" data-stream=\"telework\"")
            .count(),
        telework_rows,
        "only telework lines"
    );
    let (_, none) = get(format!("{}/runs/{semana_run}?q=personne-de-ce-nom", d.url)).await;
    assert!(none.contains("id=\"no-lines\""), "{none}");
    // A filter naming a stream the run did not carry, or no outcome, says
    // so and which there are, rather than « no line matches ».
    let (status, refused) = get(format!("{}/runs/{semana_run}?stream=teleworks", d.url)).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.contains("« teleworks »")
            && refused.contains("telework (")
            && !refused.contains("id=\"lines\""),
        "{refused}"
    );
    for address in [
        format!("{}/runs/{semana_run}?outcome=done", d.url),
        format!("{}/runs/{semana_run}/lines.csv?outcome=done", d.url),
    ] {
        let (status, refused) = get(address.clone()).await;
        assert_eq!(status, 400, "{address}: {refused}");
        assert!(
            refused.contains("« done »") && refused.contains("created ("),
            "{address}: {refused}"
        );
    }
    let label_at = only.find("<td class=\"stream\"").unwrap();
    let label = only[label_at..]
        .split("<td class=\"record\">")
        .nth(1)
        .unwrap();
    // Each line about an employee of the base links to their page.
    assert_eq!(
        only.matches("<td class=\"record\"><a href=\"/people/")
            .count(),
        telework_rows,
        "{only}"
    );
    let person_page = &label["<a href=\"".len()..label.find("\">").unwrap()];
    let label = &label[label.find('>').unwrap() + 1..];
    let name = &label[..label.find(['<', ','].as_ref()).unwrap()];
    let first_word = name.split_whitespace().next().unwrap().to_owned();
    let (status, person) = get(format!("{}{person_page}", d.url)).await;
    assert_eq!(status, 200, "{person_page}");
    let named = name.split(" (").next().unwrap();
    assert!(person.contains(named), "{person_page} is {named}'s page");
    // A line names the person by name and employee number, not by the
    // partner's key, and fields by their labels.
    let number = name[name.find('(').expect(name) + 1..name.find(')').expect(name)].to_owned();
    assert!(name.contains(" · télétravail le "), "{name}");
    let lines_at = html.find("id=\"lines\"").unwrap();
    assert!(!html[lines_at..].contains("<code>"), "no key shown: {html}");
    assert!(
        html[lines_at..].contains("<strong>Moment de la journée</strong>")
            && !html[lines_at..].contains("<strong>period</strong>"),
        "fields by label: {html}"
    );
    // Values in words: the part of the day, the person (not their number).
    let periods = values_after(&html[lines_at..], "Moment de la journée");
    assert!(
        all_among(&periods, &["journée entière", "matin", "après-midi"]),
        "{periods:?}"
    );
    let owners = values_after(&html[lines_at..], "Collaborateur");
    assert!(all_people(&owners), "{owners:?}");
    let (_, by_number) = get(format!("{}/runs/{semana_run}?q={number}", d.url)).await;
    let by_number_rows = by_number.matches("<tr data-outcome=").count();
    assert!(
        by_number_rows > 0 && by_number.matches(&format!("({number})")).count() >= by_number_rows,
        "search by employee number '{number}'"
    );
    let (_, found) = get(format!(
        "{}/runs/{semana_run}?stream=telework&q={}",
        d.url,
        first_word.to_lowercase()
    ))
    .await;
    let hits = found.matches("<tr data-outcome=").count();
    assert!(
        hits > 0 && found.matches(&first_word).count() >= hits,
        "search by name '{first_word}'"
    );
    let csv = c
        .get(format!(
            "{}/runs/{semana_run}/lines.csv?stream=telework",
            d.url
        ))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let bytes = csv.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(&reader.headers().unwrap()[0], "Flux");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        records.len(),
        telework_rows,
        "the CSV holds the lines the filter keeps"
    );
    ledgy_mapping_preview_and_forced_sync(&c, &d.url, &session).await;
    let (status, html) = get(format!("{}/integrations/happypal", d.url)).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-health=\"healthy\""), "{html}");
    assert!(html.contains("id=\"runs-chart\""));
    assert!(
        html.contains("Alertes par e-mail"),
        "the page says where alerts go: {html}"
    );
    // Health everywhere: installed apps and catalog cards too.
    let (_, installed) = get(format!("{}/installed", d.url)).await;
    let row = &installed[installed
        .find("<tr data-app=\"happypal\"")
        .expect(&installed)..];
    assert!(
        row[..row.find("</tr>").unwrap()].contains("data-health=\"healthy\""),
        "{row}"
    );
    let (_, cards) = get(format!("{}/integrations", d.url)).await;
    let card = &cards[cards.find("data-app=\"happypal\"").unwrap()..];
    let card = &card[..card.find("</div>").unwrap()];
    assert!(
        card.contains("card-health") && card.contains("data-health=\"healthy\""),
        "{card}"
    );
    // The runs list: start, duration, trigger and who asked.
    let (_, app) = get(format!("{}/integrations/happypal", d.url)).await;
    assert!(app.contains("class=\"n duration\""), "{app}");
    // A run of the demo's size takes seconds at most: said to the tenth,
    // with the French decimal comma (« 0,4 s »), never « 0 s ».
    let cell = "class=\"n duration\">";
    let took = &app[app.find(cell).unwrap() + cell.len()..];
    let took = &took[..took.find("</td>").unwrap()];
    let tenths = took
        .strip_suffix(" s")
        .and_then(|t| t.split_once(','))
        .is_some_and(|(s, t)| s.parse::<u8>().is_ok_and(|s| s < 10) && t.len() == 1);
    let whole = took
        .strip_suffix(" s")
        .and_then(|t| t.parse::<u8>().ok())
        .is_some_and(|s| s >= 10);
    assert!(tenths || whole, "{took}");
    assert!(
        app.contains("Une exécution terminée est conservée 365 jours avec son rapport"),
        "the runs' retention, the default's"
    );
    assert!(
        !app.contains("requested-by"),
        "the demo's runs were scheduled, asked by nobody"
    );
    // The home page: each base's integrations with health, last and next
    // run, and the records their runs moved today.
    let (status, home) = get(format!("{}/", d.url)).await;
    assert_eq!(status, 200);
    let row = &home[home.find("<tr data-app=\"happypal\"").expect(&home)..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("health healthy") && row.contains(">HappyPal<"),
        "{row}"
    );
    let today: u64 = row[row.find("data-today=\"").unwrap() + 12..]
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        today > 0,
        "the demo's first HappyPal run sent its employees today: {row}"
    );
    assert!(!row.contains(">jamais<"), "a last run is shown: {row}");
    assert!(!html.contains("demo-happypal-token"), "secrets never shown");
    let csrf = hidden(&html, "csrf");
    let asked = c
        .post(format!("{}/installed/1/sync", d.url))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 303);
    let run_path = asked.headers()["location"].to_str().unwrap().to_owned();
    assert!(run_path.starts_with("/runs/"));
    let html = eventually(MINUTE, "the asked run finished", || async {
        let (_, html) = get(format!("{}{run_path}", d.url)).await;
        html.contains("data-status=\"succeeded\"").then_some(html)
    })
    .await;
    assert!(html.contains("id=\"counts\""));
    assert!(
        html.contains("<span id=\"requested-by\">Admin démo</span>"),
        "who asked: {html}"
    );
    assert!(
        !html.contains("id=\"run-live\""),
        "a finished run is not followed"
    );
    let progress: serde_json::Value = c
        .get(format!("{}{run_path}/progress", d.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(progress["status"], "succeeded", "{progress}");
    assert_eq!(progress["finished"], true);
    assert_eq!(progress["statusLabel"], "réussie", "{progress}");
    let per_stream: u64 = progress["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["done"].as_u64().unwrap())
        .sum();
    assert_eq!(per_stream, progress["done"].as_u64().unwrap(), "{progress}");
    // Without the form's token, nothing is asked.
    let forged = c
        .post(format!("{}/installed/1/sync", d.url))
        .header("cookie", &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // Settings: a schedule faster than HappyPal allows is refused, and nothing is saved.
    let refused = c
        .post(format!("{}/installed/1/settings", d.url))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("partner_url", "http://127.0.0.1:1"),
            ("schedule", "*/5 * * * *"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("HappyPal accepte au plus une exécution toutes les 4 h"),
        "{text}"
    );
    let (_, html) = get(format!("{}/integrations/happypal", d.url)).await;
    assert!(
        html.contains(&format!("value=\"{}\"", d.happypal)),
        "partner URL unchanged"
    );
    let saved = c
        .post(format!("{}/installed/1/settings", d.url))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("schedule", "0 */6 * * *"),
            ("secret_token", ""),
            ("option_requests_per_hour", "500"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let (_, html) = get(format!("{}/integrations/happypal", d.url)).await;
    assert!(html.contains("value=\"0 */6 * * *\""));
    assert!(html.contains("value=\"500\""));

    // Every mistake at once, each beside its field, what was typed kept,
    // nothing saved.
    let refused = c
        .post(format!("{}/installed/1/settings", d.url))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("partner_url", "ftp://happypal.example"),
            ("schedule_kind", "daily"),
            ("schedule_time", "25:99"),
            ("full_schedule_kind", "hours"),
            ("full_schedule_hours", "1"),
            ("time_zone", "Europe/Paris"),
            ("option_requests_per_hour", "abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(text.contains("id=\"settings-refused\""), "{text}");
    for field in [
        "partner_url",
        "schedule",
        "full_schedule",
        "option_requests_per_hour",
    ] {
        assert!(
            text.contains(&format!("data-field=\"{field}\"")),
            "{field} refused beside it: {text}"
        );
    }
    assert!(
        text.contains("4 problèmes, indiqués à côté des champs"),
        "{text}"
    );
    // Each said in the page's language.
    assert!(
        text.contains("« 25:99 » n'est pas une heure de la journée"),
        "{text}"
    );
    assert!(
        text.contains("HappyPal accepte au plus une exécution toutes les 4 h"),
        "{text}"
    );
    assert!(
        text.contains("value=\"ftp://happypal.example\""),
        "typed URL kept"
    );
    assert!(text.contains("value=\"abc\""), "typed option kept");
    let (_, html) = get(format!("{}/integrations/happypal", d.url)).await;
    assert!(html.contains("value=\"0 */6 * * *\""), "nothing saved");
    // The picker offers only what HappyPal takes: every 4 hours at least.
    let hours = &html[html.find("id=\"schedule-hours\"").unwrap()..];
    let hours = &hours[..hours.find("</select>").unwrap()];
    assert!(
        hours.contains("value=\"4\"")
            && !hours.contains("value=\"1\"")
            && !hours.contains("value=\"2\""),
        "{hours}"
    );
    assert!(
        html.contains("toutes les 6 heures, à l'heure pile"),
        "the schedule in words"
    );
    let next = &html[html.find("id=\"schedule-next-runs\"").unwrap()..];
    let next = &next[..next.find("</ol>").unwrap()];
    assert_eq!(
        next.matches("<li>").count(),
        5,
        "the next five runs: {next}"
    );

    // A preview shows the runs a choice would make, and saves nothing.
    let previewed = c
        .post(format!("{}/installed/1/settings", d.url))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("schedule_kind", "weekly"),
            ("schedule_day", "1"),
            ("schedule_time", "07:30"),
            ("preview", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(previewed.status(), 200);
    let text = previewed.text().await.unwrap();
    assert!(text.contains("id=\"settings-preview\""), "{text}");
    assert!(text.contains("chaque lundi à 07:30"), "{text}");
    let runs = &text[text.find("id=\"schedule-next-runs\"").unwrap()..];
    let runs = &runs[..runs.find("</ol>").unwrap()];
    assert_eq!(runs.matches("<li>lundi ").count(), 5, "{runs}");
    assert!(runs.contains("07:30 (Europe/Paris)"), "{runs}");
    let (_, html) = get(format!("{}/integrations/happypal", d.url)).await;
    assert!(
        html.contains("value=\"0 */6 * * *\""),
        "a preview saves nothing"
    );
    // Chosen by frequency, saved as its cron rule.
    let saved = c
        .post(format!("{}/installed/1/settings", d.url))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("schedule_kind", "hours"),
            ("schedule_hours", "12"),
            ("schedule", "ignored when a frequency is chosen"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let (_, html) = get(format!("{}/integrations/happypal", d.url)).await;
    assert!(html.contains("value=\"0 */12 * * *\""), "{html}");
    assert!(html.contains("toutes les 12 heures"));
    let restored = c
        .post(format!("{}/installed/1/settings", d.url))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str()), ("schedule", "0 */6 * * *")])
        .send()
        .await
        .unwrap();
    assert_eq!(restored.status(), 303);

    // "Tester la connexion" reaches HappyPal with what the form holds, saving nothing.
    let form = |token: &'static str, extra: &'static [(&'static str, &'static str)]| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("schedule", "0 */8 * * *".to_owned()),
            ("secret_token", token.to_owned()),
        ];
        f.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        f
    };
    let post = |f: Vec<(&'static str, String)>| {
        c.post(format!("{}/installed/1/settings", d.url))
            .header("cookie", &session)
            .form(&f)
            .send()
    };
    let tested = post(form("", &[("test", "1")])).await.unwrap();
    assert_eq!(tested.status(), 200);
    let text = tested.text().await.unwrap();
    assert!(text.contains("id=\"connection-ok\""), "{text}");
    let tested = post(form("wrong", &[("test", "1")])).await.unwrap();
    assert_eq!(tested.status(), 422);
    let text = tested.text().await.unwrap();
    assert!(
        text.contains("id=\"connection-failed\"")
            && text.contains("HappyPal a refusé les identifiants (401)")
            && !text.contains("refused the credentials"),
        "{text}"
    );
    // A partner that cannot be reached is said in the page's words too,
    // the network's cause included.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut unreachable = form("", &[("test", "1")]);
    unreachable.push(("partner_url", gone));
    let tested = post(unreachable).await.unwrap();
    assert_eq!(tested.status(), 422);
    let text = tested.text().await.unwrap();
    assert!(
        text.contains(
            "HappyPal est injoignable : connexion refusée (aucun service n'écoute à cette adresse)"
        ),
        "{text}"
    );
    // Saving settings whose test fails asks first, and saves nothing until confirmed.
    let asked = post(form("wrong", &[])).await.unwrap();
    assert_eq!(asked.status(), 422);
    let text = asked.text().await.unwrap();
    assert!(text.contains("id=\"save-anyway\""), "{text}");
    let (_, html) = get(format!("{}/integrations/happypal", d.url)).await;
    assert!(html.contains("value=\"0 */6 * * *\""), "nothing saved");
    let (ok, out, err) = run(dir.path(), &["sync", "test", "1"]);
    assert!(ok && out.contains("HappyPal answered"), "{out} {err}");
    let confirmed = post(form("wrong", &[("confirmed", "1")])).await.unwrap();
    assert_eq!(confirmed.status(), 303);
    let (_, html) = get(format!("{}/integrations/happypal", d.url)).await;
    assert!(
        html.contains("value=\"0 */8 * * *\""),
        "saved once confirmed"
    );
    let (ok, _, err) = run(dir.path(), &["sync", "test", "1"]);
    assert!(
        !ok && err.contains("HappyPal refused the credentials (401)"),
        "{err}"
    );

    // The settings a connector takes, from its declaration.
    let (ok, out, err) = run(dir.path(), &["sync", "settings", "2"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("--option base_department") && out.contains("stream unavailabilities"),
        "{out}"
    );

    // Metrics of the runs, the partner calls and the API, in Prometheus's format.
    let metrics = reqwest::get(format!("{}/metrics", d.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "relais_sync_runs_total{",
        "relais_sync_records_total{",
        "relais_partner_requests_total{",
        "relais_partner_request_duration_seconds_bucket{",
        "relais_sync_budget_left{",
        "relais_sync_seconds_since_success{",
        "relais_api_requests_total{",
        "relais_api_writes_applied_again_total{resource=\"users\"}",
        "connector=\"happypal\"",
        "connector=\"planningpme\"",
    ] {
        assert!(metrics.contains(expected), "{expected} in {metrics}");
    }
    // The connections open, this one among them.
    let open: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("relais_http_connections "))
        .unwrap_or_else(|| panic!("relais_http_connections in {metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!((1.0..=4096.0).contains(&open), "{open} connections");

    // The command line: a dry run writes nothing; wrong credentials fail with the reason.
    let before = profiles.len();
    let (ok, out, err) = run(dir.path(), &["sync", "run", "2", "--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("(dry run: nothing written)"), "{out}");
    // The chart shows the dry run as an outline of what it planned, not as written.
    let (_, html) = get(format!("{}/integrations/planningpme", d.url)).await;
    // PlanningPME also runs on change: the page says what starts a run, and how often at most.
    let on_change = &html[html.find("id=\"on-change\"").expect("runs on change told")..];
    let on_change = &on_change[..on_change.find("</p>").unwrap()];
    assert!(
        on_change.contains("collaborateurs (service), départements, absences")
            && on_change.contains("au plus une exécution toutes les "),
        "{on_change}"
    );
    let chart = &html[html.find("id=\"runs-chart\"").unwrap()..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    assert_eq!(chart.matches("<rect class=\"dry\"").count(), 1, "{chart}");
    assert!(chart.contains("rien d'écrit"), "{chart}");
    // A run's lines show what a field identifies by its name (the
    // department, the person), and times as people write them.
    let first_run = html
        .match_indices("href=\"/runs/")
        .map(|(at, _)| {
            let id = &html[at + 12..];
            id[..id.find('"').unwrap()].to_owned()
        })
        .last()
        .expect("PlanningPME's runs are listed");
    let (_, resources) = get(format!("{}/runs/{first_run}?stream=resources", d.url)).await;
    let departments = values_after(&resources, "Département");
    assert!(!departments.is_empty(), "{resources}");
    assert!(
        departments
            .iter()
            .all(|d| d != "—" && !d.chars().all(|c| c.is_ascii_digit())),
        "departments by name: {departments:?}"
    );
    let (_, absences) = get(format!(
        "{}/runs/{first_run}?stream=unavailabilities",
        d.url
    ))
    .await;
    let people = values_after(&absences, "Ressource");
    assert!(
        all_people(&people),
        "resources by the person's name: {people:?}"
    );
    let starts = values_after(&absences, "Début");
    assert!(
        !starts.is_empty()
            && starts
                .iter()
                .all(|t| { chrono::NaiveDateTime::parse_from_str(t, "%d/%m/%Y %H:%M").is_ok() }),
        "times as people write them: {starts:?}"
    );
    // Each line names the person, then the absence and its days, in the
    // reader's language.
    let record = |page: &str| {
        let at = page.find("<td class=\"record\">").expect(page) + 19;
        page[at..at + page[at..].find("</td>").unwrap()].to_owned()
    };
    let french = record(&absences);
    assert!(
        french.contains(") · ") && french.contains(" du ") && french.contains(" au "),
        "{french}"
    );
    let english = in_english(
        &c,
        &format!("{}/runs/{first_run}?stream=unavailabilities", d.url),
        &session,
    )
    .await;
    let english = record(&english);
    assert!(
        english.contains(") · ")
            && english.contains(" from ")
            && english.contains(" to ")
            && !english.contains(" du "),
        "{english}"
    );
    let (ok, _, err) = run(
        dir.path(),
        &["sync", "configure", "1", "--secret", "token=wrong"],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = run(dir.path(), &["sync", "run", "1", "--full"]);
    assert!(!ok);
    assert!(out.contains("failed"), "{out}");
    assert!(
        err.contains("HappyPal refused the credentials (401)"),
        "{err}"
    );
    let (_, list, _) = run(dir.path(), &["sync", "list"]);
    assert!(
        list.contains("failing") && list.contains("refused the credentials"),
        "{list}"
    );
    let after: Vec<serde_json::Value> = reqwest::get(format!("{}/_sim/profiles", d.happypal))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after.len(), before);

    // Bad settings on the command line are refused with the reason.
    for (args, expected) in [
        (
            vec!["sync", "configure", "1", "--option", "months=3"],
            "HappyPal has no option 'months'",
        ),
        (
            vec!["sync", "configure", "2", "--option", "months=99"],
            "months must be a whole number from 1 to 24",
        ),
        (
            vec!["sync", "configure", "1", "--secret", "nonsense"],
            "is not NAME=VALUE",
        ),
        (
            vec!["sync", "configure", "1", "--partner-url", "ftp://x"],
            "is not an http:// or https:// address",
        ),
        (
            vec![
                "sync",
                "configure",
                "1",
                "--partner-url",
                "https://api.happypal.fr:99999",
            ],
            "not a usable address: invalid port number",
        ),
        (vec!["sync", "configure", "9", "--resume"], "integration"),
        (vec!["sync", "report", "999"], "sync run"),
    ] {
        let (ok, _, err) = run(dir.path(), &args);
        assert!(!ok, "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

/// Ledgy's page: the mapping editor offers the base's fields by label, a
/// mapping the key cannot read is refused beside its field with the grant
/// named and what was typed kept, a good one is saved, exported and
/// imported; the preview shows the stakeholders; the forced sync runs.
async fn ledgy_mapping_preview_and_forced_sync(c: &reqwest::Client, url: &str, session: &str) {
    let get = |path: String| async move {
        let r = c.get(path).header("cookie", session).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    let (status, html) = get(format!("{url}/integrations/ledgy")).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"mapping-table\""), "{html}");
    // Its first run sent each employee's status, which its lines say in words.
    let runs = &html[html.find("id=\"runs\"").expect("a run")..];
    let first = &runs[runs.find("href=\"/runs/").unwrap() + 6..];
    let first = first[..first.find('"').unwrap()].to_owned();
    let statuses = eventually(MINUTE, "Ledgy's first run finished", || async {
        let (_, run) = get(format!("{url}{first}")).await;
        run.contains("data-status=\"succeeded\"")
            .then(|| values_after(&run, "Statut"))
    })
    .await;
    assert!(
        all_among(&statuses, &["en poste", "arrivée à venir", "parti"]),
        "{statuses:?}"
    );
    assert!(
        html.contains("value=\"model:employee_number\" selected"),
        "the identifier is the employee number by default"
    );
    assert!(html.contains("Plan d'actionnariat (extendedData.e_sharesPlan) — illisible par la clé"));
    assert!(html.contains("Forcer la synchronisation"));
    assert!(
        html.contains("Identifiant du manager (managerId)"),
        "{html}"
    );
    // In English, the base's fields are offered by their English labels.
    let english = in_english(c, &format!("{url}/integrations/ledgy"), session).await;
    assert!(
        english.contains("Manager identifier (managerId)")
            && !english.contains("Identifiant du manager"),
        "{english}"
    );
    let csrf = hidden(&html, "csrf");
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
    for (target, source) in [
        ("identifier", "model:employee_number"),
        ("firstName", "model:first_name"),
        ("lastName", "model:last_name"),
        ("department", "model:groups"),
    ] {
        form.push((format!("source_{target}"), source.into()));
    }
    let mut refused = form.clone();
    refused.extend([
        ("custom_target".into(), "sharesPlan".into()),
        ("custom_label".into(), "Plan".into()),
        (
            "custom_source".into(),
            "raw:extendedData.e_sharesPlan".into(),
        ),
    ]);
    let answer = c
        .post(format!("{url}/installed/4/mapping"))
        .header("cookie", session)
        .form(&refused)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let text = answer.text().await.unwrap();
    assert!(text.contains("id=\"mapping-refused\""), "{text}");
    assert!(
        text.contains("Actionnariat salarié"),
        "the grant to add is named: {text}"
    );
    assert!(
        text.contains(
            "la clé de l'installation ne peut pas lire « Plan d'actionnariat (extendedData.e_sharesPlan) » : ajoutez-lui « Consulter le dossier du personnel », section « Actionnariat salarié »"
        ) && !text.contains("may not read"),
        "said in the page's language: {text}"
    );
    assert!(
        text.contains("value=\"sharesPlan\""),
        "what was typed is kept"
    );
    let (_, html) = get(format!("{url}/installed/4/mapping.json")).await;
    assert!(!html.contains("sharesPlan"), "nothing saved: {html}");
    let saved = c
        .post(format!("{url}/installed/4/mapping"))
        .header("cookie", session)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let (status, exported) = get(format!("{url}/installed/4/mapping.json")).await;
    assert_eq!(status, 200);
    let mapping: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(mapping["fields"].as_array().unwrap().len(), 4, "{exported}");
    assert!(exported.contains("groups"));
    // A file that is not a mapping is refused; the exported one is taken back.
    let import = |file: String| {
        let boundary = "relais-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"mapping.json\"\r\nContent-Type: application/json\r\n\r\n{file}\r\n--{boundary}--\r\n"
        );
        c.post(format!("{url}/installed/4/mapping/import"))
            .header("cookie", session)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
    };
    let bad = import("{\"fields\": 3}".into()).await.unwrap();
    assert_eq!(bad.status(), 422);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("ce n'est pas un fichier de correspondance valide"));
    let good = import(exported.clone()).await.unwrap();
    assert_eq!(good.status(), 303);
    // The preview: a page of stakeholders, each with its status.
    let (status, html) = get(format!("{url}/installed/4/preview")).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"preview\""), "{html}");
    assert!(
        html.contains("data-status=\"changed\""),
        "the new mapping changes what Ledgy holds: {html}"
    );
    assert!(html.contains(" › "), "departments with their parents");
    // Dates as people write them, not as Ledgy takes them.
    let table = &html[html.find("id=\"preview\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let iso_dates = table
        .as_bytes()
        .windows(10)
        .filter(|w| {
            w.iter().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    *b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
        })
        .count();
    assert_eq!(iso_dates, 0, "{table}");
    assert!(
        table.contains("/20") || table.contains("/19"),
        "some dates: {table}"
    );
    // The forced sync sends them.
    let forced = c
        .post(format!("{url}/installed/4/sync"))
        .header("cookie", session)
        .form(&[("csrf", csrf.as_str()), ("full", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 303);
    let run_path = forced.headers()["location"].to_str().unwrap().to_owned();
    eventually(MINUTE, "the forced sync finished", || async {
        let (_, html) = get(format!("{url}{run_path}")).await;
        html.contains("data-status=\"succeeded\"").then_some(())
    })
    .await;
    // Its lines say the mapping changed, not the fingerprint relais keeps of it.
    let (_, html) = get(format!("{url}{run_path}")).await;
    assert!(
        html.contains("<strong>Correspondance des champs</strong> : ancienne → nouvelle")
            && !html.contains("_mapping"),
        "{html}"
    );
    let (_, html) = get(format!("{url}/installed/4/preview")).await;
    assert!(
        !html.contains("data-status=\"changed\"") && !html.contains("data-status=\"new\""),
        "Ledgy is in step: {html}"
    );
}

/// What a run page's lines show after the change of the field labelled
/// `label` (« Nom : — → Martin » gives « Martin »), line by line.
fn values_after(page: &str, label: &str) -> Vec<String> {
    page.split(&format!("<strong>{label}</strong>"))
        .skip(1)
        .map(|s| {
            let change = &s[..s.find("</div>").unwrap()];
            change.rsplit("→ ").next().unwrap().to_owned()
        })
        .collect()
}

/// Whether `values` are all among `words` (at least one value): a code
/// shown by its words, never as the code.
fn all_among(values: &[String], words: &[&str]) -> bool {
    !values.is_empty() && values.iter().all(|v| words.contains(&v.as_str()))
}

/// Whether `values` are people's names, not their numbers (at least one).
fn all_people(values: &[String]) -> bool {
    !values.is_empty()
        && values
            .iter()
            .all(|v| v.contains(' ') && !v.chars().any(|c| c.is_ascii_digit()))
}

/// The page at `url` as a reader of English signed in with `session` sees it.
async fn in_english(c: &reqwest::Client, url: &str, session: &str) -> String {
    c.get(url)
        .header("cookie", format!("{session}; relais_lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
