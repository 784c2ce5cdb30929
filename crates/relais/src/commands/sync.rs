//! `relais sync`: integrations, their runs and reports from the command line.

use super::{find_base, open_cached, stdin_if_dash, when};
use crate::config::Settings;
use crate::SyncCommand;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use relais_api::AppState;
use relais_core::activity::{Action, Actor};
use relais_store::SharedStore;
use std::io::Write;

/// `relais sync`: integrations, their settings, runs and reports.
pub(super) async fn sync_command(settings: &Settings, cmd: SyncCommand) -> Result<()> {
    use relais_core::integration::{IntegrationUpdate, RunStatus, Trigger};
    // A run in its own process is a short batch: a small page cache keeps
    // its memory flat whatever the base's size.
    let cache = if matches!(cmd, SyncCommand::Run { .. }) {
        2
    } else {
        32
    };
    let store = open_cached(settings, cache).await?;
    match cmd {
        SyncCommand::List { base } => {
            let base = match base {
                Some(name) => Some(find_base(&store, &name).await?.id),
                None => None,
            };
            let bases = store.list_bases().await?;
            let list = store.list_integrations(base).await?;
            if list.is_empty() {
                out!("no integration: install HappyPal, PlanningPME, Semana or Ledgy from the marketplace first");
            }
            for i in list {
                let base_name = bases
                    .iter()
                    .find(|b| b.id == i.base_id)
                    .map_or("?".to_owned(), |b| b.name.to_string());
                let last = store.list_runs(i.installation_id, 1).await?;
                out!(
                    "{:>4}  {:<12} {:<12} {:<9} next run {}  last run {}  {}",
                    i.installation_id,
                    partner_name(&i.connector),
                    base_name,
                    i.health.as_str(),
                    when(i.next_run_at),
                    last.first().map_or("-".to_owned(), |r| format!(
                        "{} ({})",
                        r.id,
                        r.status.as_str()
                    )),
                    i.reason("en")
                );
            }
            Ok(())
        }
        SyncCommand::Configure(args) => {
            let crate::ConfigureArgs {
                installation,
                partner_url,
                secrets,
                source_url,
                source_key,
                own_source,
                schedule,
                full_schedule,
                time_zone,
                options,
                pause,
                resume,
            } = *args;
            let sealer = settings.secret_key.sealer()?;
            let mut integration = store.get_integration(installation).await?;
            let mut update = IntegrationUpdate {
                partner_url,
                schedule,
                full_schedule,
                time_zone,
                ..IntegrationUpdate::default()
            };
            for raw in &secrets {
                update.secrets.push(pair(raw, "--secret")?);
            }
            for raw in &options {
                update.options.push(pair(raw, "--option")?);
            }
            if own_source {
                update.source_url = Some(None);
            } else if let Some(url) = source_url {
                update.source_url = Some(Some(url));
            }
            if let Some(key) = source_key {
                update.secrets.push((
                    relais_core::integration::SOURCE_KEY.as_str().to_owned(),
                    stdin_if_dash(&key)?,
                ));
            }
            if let Some(reason) = pause {
                update.pause = Some(Some(reason));
            } else if resume {
                update.pause = Some(None);
            }
            let connector = connector_of(&integration)?;
            integration
                .apply(connector.as_ref(), &update, &sealer, relais_core::now())
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            store
                .change_integration(&integration, Action::SettingsChanged, Actor::CommandLine)
                .await?;
            let secrets = sealer.open(&integration.sealed_secrets)?;
            let missing = integration.missing_settings(connector.declaration(), &secrets);
            out!(
                "installation {installation} ({}): schedule '{}' ({}), full '{}', next run {}{}",
                partner_name(&integration.connector),
                integration.schedule.as_str(),
                integration.time_zone.0.name(),
                integration.full_schedule.as_str(),
                when(integration.next_run_at),
                match &integration.paused {
                    Some(why) => format!(", paused: {why}"),
                    None => String::new(),
                }
            );
            if !missing.is_empty() {
                out!("still missing before it can run: {}", missing.join(", "));
            }
            Ok(())
        }
        SyncCommand::Run {
            installation,
            dry_run,
            full,
        } => {
            let sealer = settings.secret_key.sealer()?;
            let integration = store.get_integration(installation).await?;
            let (api, audit) = local_api(settings, &store).await?;
            let runtime = relais_sync::runtime::Runtime::new(
                store.clone(),
                sealer,
                runtime_options(settings, &api)?,
            );
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("valid template"),
            );
            spinner.set_message(format!(
                "syncing {} (installation {installation}){}",
                partner_name(&integration.connector),
                if dry_run { ", dry run" } else { "" }
            ));
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let run = runtime
                .run_now(installation, Trigger::Cli, dry_run, full)
                .await;
            // The run's reads of the base are in the audit trail before the process ends.
            audit.flush().await;
            spinner.finish_and_clear();
            let run = run?;
            print_report(&store, run.id, false).await?;
            if run.status == RunStatus::Failed {
                bail!(
                    "run {} failed: {}",
                    run.id,
                    relais_core::integration::HealthReason::read(
                        &run.error.unwrap_or_default(),
                        "en"
                    )
                );
            }
            Ok(())
        }
        SyncCommand::Runs {
            installation,
            limit,
        } => {
            store.get_integration(installation).await?;
            for r in store.list_runs(installation, limit).await? {
                out!(
                    "{:>6}  {:<11} {:<8} {}{} started {}  written {} of {}  {} requests  {}",
                    r.id,
                    r.status.as_str(),
                    r.trigger.as_str(),
                    if r.full { "full" } else { "incremental" },
                    if r.dry_run { " (dry run)" } else { "" },
                    when(r.started_at),
                    r.counts.written(),
                    r.counts.total(),
                    r.partner_requests,
                    relais_core::integration::HealthReason::read(
                        &r.error.unwrap_or_default(),
                        "en"
                    )
                );
            }
            Ok(())
        }
        SyncCommand::Report { run, json } => print_report(&store, run, json).await,
        SyncCommand::Settings { installation } => {
            let integration = store.get_integration(installation).await?;
            let connector = connector_of(&integration)?;
            let d = connector.declaration();
            let secrets = settings
                .secret_key
                .sealer()?
                .open(&integration.sealed_secrets)?;
            out!(
                "installation {installation}: {} (connector {})",
                d.name,
                d.code
            );
            out!(
                "partner_url      {}",
                if integration.partner_url.is_empty() {
                    "(not set)"
                } else {
                    &integration.partner_url
                }
            );
            for s in d.secrets {
                let state = if secrets
                    .get(relais_core::secret::SecretName::Partner(s.name))
                    .is_some()
                {
                    "set"
                } else {
                    "not set"
                };
                out!("--secret {:<16} {state:<8} {}", s.name, s.label_en);
            }
            for o in d.options {
                let value = o.show(
                    integration
                        .options
                        .get(o.name)
                        .unwrap_or(&serde_json::Value::Null),
                );
                let kind = match o.kind {
                    relais_core::connector::SettingKind::Number { min, max } => {
                        format!("number {min}..{max}")
                    }
                    relais_core::connector::SettingKind::Department => {
                        "department id, blank for all".to_owned()
                    }
                    relais_core::connector::SettingKind::Accounts => {
                        "absence account ids, comma-separated".to_owned()
                    }
                    relais_core::connector::SettingKind::Account => {
                        "absence account id, blank for the default".to_owned()
                    }
                    other => format!("{other:?}").to_lowercase(),
                };
                out!(
                    "--option {:<16} {:<10} {} ({kind}) — {}",
                    o.name,
                    if value.is_empty() { "-" } else { &value },
                    o.label_en,
                    o.help_en
                );
            }
            if let Some(min) = d.schedule.min_interval() {
                out!(
                    "schedule: '{}' — {} takes a run every {} h at most",
                    integration.schedule.as_str(),
                    d.name,
                    min.num_hours()
                );
            } else {
                out!("schedule: '{}'", integration.schedule.as_str());
            }
            for s in d.streams {
                out!(
                    "stream {:<18} {} {}",
                    s.name,
                    s.direction.arrow(),
                    s.label_en
                );
            }
            Ok(())
        }
        SyncCommand::Test { installation } => {
            use relais_core::integration::ConnectionCheck as _;
            let integration = store.get_integration(installation).await?;
            let runtime = local_runtime(settings, &store).await?;
            match runtime.check(&integration).await {
                Ok(()) => {
                    out!("installation {installation}: {} answered with these settings; nothing was written", partner_name(&integration.connector));
                    Ok(())
                }
                Err(why) => bail!("installation {installation}: the connection failed: {why}"),
            }
        }
        SyncCommand::Preview {
            installation,
            search,
            page,
            per_page,
            json,
        } => {
            use relais_core::integration::MappingTools as _;
            let integration = store.get_integration(installation).await?;
            let runtime = local_runtime(settings, &store).await?;
            let query = relais_core::mapping::PreviewQuery {
                search,
                page,
                per_page,
            };
            let preview = match runtime.tool(&integration, true).await {
                Ok(tool) => tool.preview(&query).await,
                Err(why) => Err(why),
            }
            .map_err(|why| anyhow::anyhow!("installation {installation}: no preview: {why}"))?;
            if json {
                out!("{}", serde_json::to_string_pretty(&preview)?);
                return Ok(());
            }
            for row in &preview.rows {
                let status = serde_json::to_value(row.status)?;
                out!(
                    "{:<10} {} ({})",
                    status.as_str().unwrap_or_default(),
                    row.name,
                    row.identifier
                );
                for f in &row.fields {
                    if f.held != f.sent {
                        out!("    {}: {} → {}", f.target, f.held, f.sent);
                    }
                }
            }
            if preview.more {
                out!("… more on page {}", page + 1);
            }
            for s in &preview.skipped {
                out!("skipped    {}: {}", s.name, s.reason);
            }
            Ok(())
        }
        SyncCommand::Reset { installation } => {
            let integration = store.get_integration(installation).await?;
            relais_sync::runtime::reset_ledger(&store, installation).await?;
            out!(
                "installation {installation}: the ledger is empty; the next run sends every record to {} again",
                partner_name(&integration.connector)
            );
            Ok(())
        }
    }
}

/// Serves relais's own API on a free local port, for integrations that read
/// this base while no server is running (`relais sync run`): its URL, and
/// its audit trail's writer (to flush before the process ends).
async fn local_api(
    settings: &Settings,
    store: &SharedStore,
) -> Result<(String, relais_api::audit::AuditLog)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(store.clone(), settings.rate_limit);
    let audit = state.audit.clone();
    let app = relais_api::layers::harden(
        axum::Router::new()
            .merge(relais_api::router(state.clone()))
            .with_state(state),
    );
    // Served as `relais serve` serves it: the same limits on connections
    // and on slow clients, until the process ends.
    let limits = settings
        .connections
        .within_open_files(relais_api::listen::open_files_limit());
    tokio::spawn(relais_api::listen::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
    Ok((url, audit))
}

/// A sync runtime reading this base through a local API of its own.
async fn local_runtime(
    settings: &Settings,
    store: &SharedStore,
) -> Result<relais_sync::runtime::Runtime> {
    let (api, _audit) = local_api(settings, store).await?;
    Ok(relais_sync::runtime::Runtime::new(
        store.clone(),
        settings.secret_key.sealer()?,
        runtime_options(settings, &api)?,
    ))
}

/// The runtime's options: reading this base at `own_api`, trusting the
/// extra certificate authority of `--partner-ca-file` when one is set.
pub(super) fn runtime_options(
    settings: &Settings,
    own_api: &str,
) -> Result<relais_sync::runtime::RuntimeOptions> {
    let mut options = relais_sync::runtime::RuntimeOptions::new(own_api);
    if let Some(path) = &settings.partner_ca_file {
        options.tls = relais_sync::http::Tls::default()
            .with_ca_file(path)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    if let Some(url) = &settings.smtp_url {
        options.mailer = Some(
            relais_sync::alerts::Mailer::new(url, &settings.mail_from)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    options.public_url = settings.public_url.clone();
    options.retention = settings.retention();
    Ok(options)
}

/// `NAME=VALUE`, with `-` read from standard input.
fn pair(raw: &str, what: &str) -> Result<(String, String)> {
    let Some((name, value)) = raw.split_once('=') else {
        bail!("{what} '{raw}' is not NAME=VALUE");
    };
    Ok((name.trim().to_owned(), stdin_if_dash(value)?))
}

/// The partner's name of a connector code (the code itself for a connector
/// this relais does not run).
fn partner_name(code: &relais_core::connector::ConnectorCode) -> &str {
    relais_sync::connectors::find(code.as_str()).map_or(code.as_str(), |c| c.declaration().name)
}

/// The connector of an integration, or why it cannot be configured here.
pub(super) fn connector_of(
    integration: &relais_core::integration::Integration,
) -> Result<std::sync::Arc<dyn relais_sync::engine::Connector>> {
    relais_sync::connectors::find(integration.connector.as_str()).with_context(|| {
        format!(
            "installation {}: this relais runs no connector '{}'",
            integration.installation_id, integration.connector
        )
    })
}

/// Hands each line of a run's report to `f`, in order, read a page of
/// 1,000 at a time (a report's memory is a page's, whatever its length).
async fn each_line(
    store: &SharedStore,
    run: relais_core::ids::RunId,
    mut f: impl FnMut(relais_core::integration::ReportLine) -> Result<()>,
) -> Result<()> {
    let mut offset = 0u64;
    loop {
        let lines = store.run_lines(run, offset, 1000).await?;
        if lines.is_empty() {
            return Ok(());
        }
        offset += lines.len() as u64;
        for l in lines {
            f(l)?;
        }
    }
}

/// Prints a run's report, its lines read page by page.
async fn print_report(store: &SharedStore, run: relais_core::ids::RunId, json: bool) -> Result<()> {
    let r = store.get_run(run).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        // The API's shape (`GET /api/relais/integration/runs/{id}`), every
        // line, a line of text each, read a page at a time.
        use relais_api::resources::sync::{line_json, run_json};
        write!(out, "{{\"run\": ")?;
        serde_json::to_writer(&mut out, &run_json(&r))?;
        write!(out, ",\n\"lines\": [")?;
        let mut first = true;
        each_line(store, run, |l| {
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            Ok(serde_json::to_writer(&mut out, &line_json(&l))?)
        })
        .await?;
        writeln!(out, "\n]}}")?;
        return Ok(out.flush()?);
    }
    let seconds = match (r.started_at, r.finished_at) {
        (Some(a), Some(b)) => format!("{:.1} s", (b - a).num_milliseconds() as f64 / 1000.0),
        _ => "-".to_owned(),
    };
    writeln!(
        out,
        "run {} of installation {}: {}{}, {}, asked by {}",
        r.id,
        r.installation_id,
        r.status.as_str(),
        if r.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        if r.full {
            "full reconciliation"
        } else {
            "incremental"
        },
        r.trigger.as_str()
    )?;
    writeln!(
        out,
        "started {}, took {seconds}, {} requests to the partner",
        when(r.started_at),
        r.partner_requests
    )?;
    if let Some(e) = &r.error {
        let e = relais_core::integration::HealthReason::read(e, "en");
        writeln!(out, "stopped: {e}")?;
    }
    let c = r.counts;
    writeln!(
        out,
        "created {} · linked {} · updated {} · overwritten {} · deleted {} · deactivated {} · unchanged {} · skipped {} · failed {}",
        c.created, c.linked, c.updated, c.overwritten, c.deleted, c.deactivated, c.unchanged, c.skipped, c.failed
    )?;
    // Each line's stream, with the way it goes.
    let declaration = store
        .get_integration(r.installation_id)
        .await
        .ok()
        .and_then(|i| relais_sync::connectors::find(i.connector.as_str()))
        .map(|c| c.declaration());
    let stream_of = |name: &str| match declaration.and_then(|d| d.stream(name)) {
        Some(s) => format!("{} {}", s.name, s.direction.arrow()),
        None => name.to_owned(),
    };
    for (name, c) in r.streams.iter().filter(|_| r.streams.len() > 1) {
        writeln!(
            out,
            "  {:<24} created {} · linked {} · updated {} · deleted {} · deactivated {} · unchanged {} · skipped {} · failed {}",
            stream_of(name),
            c.created,
            c.linked,
            c.updated + c.overwritten,
            c.deleted,
            c.deactivated,
            c.unchanged,
            c.skipped,
            c.failed
        )?;
    }
    each_line(store, run, |l| {
        let fields = l
            .fields
            .iter()
            .map(|f| format!("{}: {} → {}", f.field, f.before, f.after))
            .collect::<Vec<_>>()
            .join("; ");
        Ok(writeln!(
            out,
            "  {:<11} {:<12} {:<24} {}{}",
            l.outcome.code(),
            if l.label.is_empty() {
                l.key.clone()
            } else {
                format!("{} ({})", l.label_in("en"), l.key)
            },
            stream_of(&l.stream),
            l.outcome
                .reason_in("en")
                .map(|r| format!("{r} "))
                .unwrap_or_default(),
            fields
        )?)
    })
    .await?;
    Ok(out.flush()?)
}
