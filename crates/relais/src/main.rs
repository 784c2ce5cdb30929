//! `relais`: the HR hub in one binary.

mod commands;
mod config;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// mimalloc instead of the system allocator: a request allocates for every
/// row it reads and writes, from several threads at once, and glibc's
/// allocator spent a third of an API walk's time in its locks and
/// consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// relais: an HR base with a Lucca-compatible API, and the hub that keeps the
/// company's other applications in step with it.
///
/// Every option can also come from an environment variable (shown in
/// brackets) or from a TOML file given with --config; flags win over the
/// environment, which wins over the file.
#[derive(Debug, Parser)]
#[command(name = "relais", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// TOML configuration file (its help lists the keys it may hold, from
    /// `FileConfig::keys`).
    #[arg(long, global = true, env = "RELAIS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Every other setting, also readable from the configuration file.
    #[command(flatten)]
    values: config::FileConfig,
    /// Folder of app manifests (*.toml) for the marketplace (default: the apps shipped with relais).
    #[arg(long, global = true, env = "RELAIS_INTEGRATIONS", value_name = "DIR")]
    integrations: Option<PathBuf>,
    /// For tests and rehearsals only: run as if it were this instant when the
    /// process starts (RFC 3339, e.g. 2026-06-10T08:00:00Z), the clock then
    /// running on at its normal pace. Schedules, dates and expiries all follow
    /// it; never set it on a base people work in.
    #[arg(
        long,
        global = true,
        env = "RELAIS_CLOCK_START",
        value_name = "INSTANT",
        hide = true
    )]
    clock_start: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run relais with demo data: on first start, create the database with a
    /// seeded production base and a test copy of it; then serve it.
    Demo {
        /// Address and port to listen on (default: 127.0.0.1:8080).
        #[arg(long, env = "RELAIS_LISTEN", value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Employees of the demo company created on first start.
        #[arg(long, default_value_t = 500, value_parser = parse_count, allow_hyphen_values = true)]
        employees: u32,
        /// Seed of the demo company generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Serve the configured database (API and admin pages).
    Serve {
        /// Address and port to listen on (default: 127.0.0.1:8080).
        #[arg(long, env = "RELAIS_LISTEN", value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Fill a base with a generated French demo company.
    Seed {
        /// The base to fill.
        #[arg(long, default_value = "production")]
        base: String,
        /// Number of employees (with their absences and expenses).
        #[arg(long, value_parser = parse_count, allow_hyphen_values = true)]
        employees: u32,
        /// Seed of the generator: the same seed gives the same company.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The reference day, YYYY-MM-DD (default: today in Europe/Paris).
        #[arg(long, value_name = "DATE")]
        today: Option<chrono::NaiveDate>,
        /// Wipe the base's HR data first if it holds some.
        #[arg(long)]
        replace: bool,
    },
    /// Copy the embedded SQLite database into a new file, whole and
    /// consistent, while relais may keep serving; on PostgreSQL, use pg_dump.
    Backup {
        /// The new file the copy is written to.
        file: std::path::PathBuf,
    },
    /// Manage bases (a production base and test bases).
    #[command(subcommand)]
    Base(BaseCommand),
    /// Manage API keys: each opens one base with the grants it was given.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the accounts that sign in to the admin pages.
    #[command(subcommand)]
    People(PeopleCommand),
    /// Configure, run and inspect integrations: the connectors relais runs for installed apps.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// The activity journal: what was done to keys, installed apps and their
    /// settings, webhooks, test bases and accounts, by whom and when, newest
    /// first.
    Activity {
        /// Only what this account did (its e-mail).
        #[arg(long)]
        email: Option<String>,
        /// How many entries to show (1 to 10,000).
        #[arg(long, default_value_t = 50, value_parser = parse_limit, allow_hyphen_values = true)]
        limit: u32,
    },
}

/// The settings `relais sync configure` changes.
#[derive(Debug, Args)]
struct ConfigureArgs {
    /// The installation (see `relais sync list`).
    installation: relais_core::ids::InstallationId,
    /// The partner's base URL.
    #[arg(long, value_name = "URL")]
    partner_url: Option<String>,
    /// A partner secret as NAME=VALUE (the connector's secrets: see
    /// `relais sync settings`); a VALUE of - is read from standard input. Repeatable.
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    secrets: Vec<String>,
    /// Read another Lucca-compatible base at this URL (with --source-key).
    #[arg(long, value_name = "URL", conflicts_with = "own_source")]
    source_url: Option<String>,
    /// The API key of the source base; - reads it from standard input.
    #[arg(long, value_name = "KEY")]
    source_key: Option<String>,
    /// Read relais's own base again (with the installation's key).
    #[arg(long)]
    own_source: bool,
    /// Cron schedule of runs, e.g. "0 6 * * *" (minute hour day month weekday).
    #[arg(long, value_name = "CRON")]
    schedule: Option<String>,
    /// Cron schedule of full reconciliations (deletions and drift).
    #[arg(long, value_name = "CRON")]
    full_schedule: Option<String>,
    /// Time zone the schedules are read in (default Europe/Paris).
    #[arg(long, value_name = "TZ")]
    time_zone: Option<String>,
    /// A connector option as NAME=VALUE (the connector's options: see
    /// `relais sync settings`). Repeatable.
    #[arg(long = "option", value_name = "NAME=VALUE")]
    options: Vec<String>,
    /// Pause scheduled runs, saying why.
    #[arg(long, value_name = "REASON", conflicts_with = "resume")]
    pause: Option<String>,
    /// Resume scheduled runs.
    #[arg(long)]
    resume: bool,
}

#[derive(Debug, Subcommand)]
enum SyncCommand {
    /// List the integrations of installed apps with their health and next run.
    List {
        /// Only this base's.
        #[arg(long)]
        base: Option<String>,
    },
    /// Change an integration's settings (all checked before any is applied).
    Configure(Box<ConfigureArgs>),
    /// Run an integration now, in this process, and print its report.
    Run {
        /// The installation.
        installation: relais_core::ids::InstallationId,
        /// Plan and report only: write nothing to the partner.
        #[arg(long)]
        dry_run: bool,
        /// A full reconciliation: also find deletions and partner-side edits.
        #[arg(long)]
        full: bool,
    },
    /// List the latest runs of an integration.
    Runs {
        /// The installation.
        installation: relais_core::ids::InstallationId,
        /// How many (1 to 10,000).
        #[arg(long, default_value_t = 20, value_parser = parse_limit, allow_hyphen_values = true)]
        limit: u32,
    },
    /// Print a run's report: its counts, then each record's line.
    Report {
        /// The run.
        run: relais_core::ids::RunId,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget what the partner acknowledged: the next run sends every record again.
    Reset {
        /// The installation.
        installation: relais_core::ids::InstallationId,
    },
    /// Show the settings an integration's connector takes (secrets, options
    /// with their current values, schedule limits) and its streams.
    Settings {
        /// The installation.
        installation: relais_core::ids::InstallationId,
    },
    /// Reach the partner with the integration's settings, writing nothing.
    Test {
        /// The installation.
        installation: relais_core::ids::InstallationId,
    },
    /// Show a page of the records the next run would send (for a connector
    /// with a field mapping, such as Ledgy), against what the partner
    /// holds, and who would be skipped and why; nothing is written.
    Preview {
        /// The installation.
        installation: relais_core::ids::InstallationId,
        /// Only people whose name, e-mail or identifier contains this text.
        #[arg(long)]
        search: Option<String>,
        /// The page, from 1.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Records per page (1 to 200).
        #[arg(long, default_value_t = 50)]
        per_page: u32,
        /// Print the page as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PeopleCommand {
    /// Create an account; without --password, one is generated and printed.
    Create {
        /// E-mail, used to sign in.
        #[arg(long)]
        email: String,
        /// Name shown.
        #[arg(long)]
        name: String,
        /// Password (at least 10 characters).
        #[arg(long, env = "RELAIS_PERSON_PASSWORD")]
        password: Option<String>,
        /// Grant « Administration des applications » (install and uninstall apps).
        #[arg(long)]
        apps_admin: bool,
        /// Grant « Gestion des rôles et des clés API » (create and revoke keys).
        #[arg(long)]
        keys_admin: bool,
    },
    /// List the accounts.
    List,
    /// Give an account a new password (without --password, one is generated
    /// and printed); its open sessions end.
    Password {
        /// The account's e-mail.
        email: String,
        /// The new password (at least 10 characters; `-` reads it from
        /// standard input).
        #[arg(long, env = "RELAIS_PERSON_PASSWORD")]
        password: Option<String>,
    },
    /// Disable an account: it signs in no more, and its open sessions end
    /// (someone who left, a password that got out).
    Disable {
        /// The account's e-mail.
        email: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// The account's e-mail.
        email: String,
    },
    /// The latest sign-in attempts of the admin pages (failures, successes,
    /// and attempts refused while an account or address was locked).
    SignIns {
        /// Only the attempts to sign in to this account.
        #[arg(long, value_name = "EMAIL")]
        email: Option<String>,
        /// How many attempts to show (1 to 10,000).
        #[arg(long, default_value_t = 50, value_parser = parse_limit, allow_hyphen_values = true)]
        limit: u32,
    },
    /// What was done to an account (created, renamed, rights, passwords, disabled,
    /// enabled), by whom and when, newest first.
    History {
        /// The account's e-mail.
        email: String,
        /// How many changes to show (1 to 10,000).
        #[arg(long, default_value_t = 50, value_parser = parse_limit, allow_hyphen_values = true)]
        limit: u32,
    },
    /// Change an account's name or the e-mail it signs in with (its open
    /// sessions stay open).
    Rename {
        /// The account's e-mail.
        email: String,
        /// Its new name.
        #[arg(long, required_unless_present = "new_email")]
        name: Option<String>,
        /// The e-mail it signs in with from now on.
        #[arg(long = "email", value_name = "NEW_EMAIL")]
        new_email: Option<String>,
    },
    /// Set what an account may do: the rights given are kept, the others
    /// taken away (one enabled account at least keeps --keys-admin).
    Rights {
        /// The account's e-mail.
        email: String,
        /// « Administration des applications » (install and uninstall apps).
        #[arg(long)]
        apps_admin: bool,
        /// « Gestion des rôles et des clés API » (accounts and keys).
        #[arg(long)]
        keys_admin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key; its secret is printed once and stored only as a hash.
    Create {
        /// The base the key opens.
        #[arg(long, default_value = "production")]
        base: String,
        /// What the key is for, e.g. the integration using it.
        #[arg(long)]
        name: String,
        /// E-mail of the technical contact.
        #[arg(long)]
        contact: String,
        /// internal (your own scripts) or third-party (a partner).
        #[arg(long, default_value = "internal")]
        usage: String,
        /// A grant, repeatable: all, personnel-file[:sections=A+B][:fields=F+G],
        /// future-employees, former-employees, write-employees, absences,
        /// absence-requests[:accounts=ID+ID], expenses, organisation, establishments=ID+ID.
        #[arg(long = "grant", required = true)]
        grants: Vec<String>,
    },
    /// List the keys of a base.
    List {
        /// The base.
        #[arg(long, default_value = "production")]
        base: String,
    },
    /// Revoke a key: it answers 401 from then on.
    Revoke {
        /// The key's identifier (see `keys list`).
        id: relais_core::ids::KeyId,
    },
    /// Show the latest requests made with a key.
    Audit {
        /// The key's identifier.
        id: relais_core::ids::KeyId,
        /// How many requests to show (1 to 10,000).
        #[arg(long, default_value_t = 50, value_parser = parse_limit, allow_hyphen_values = true)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
enum BaseCommand {
    /// List the bases and what each holds.
    List,
    /// Create an empty base.
    Create {
        /// Its name: lowercase letters, digits and hyphens.
        name: String,
        /// production or test.
        #[arg(long, default_value = "test")]
        kind: String,
    },
    /// Refresh a test base as a copy of another base's data (API keys are not copied).
    Copy {
        /// The base copied from.
        #[arg(long, default_value = "production")]
        from: String,
        /// The test base replaced by the copy.
        #[arg(long, default_value = "test")]
        to: String,
    },
}

/// How many lines a listing shows: 1 to 10,000 (none would print only
/// the heading, as if there were nothing to show).
fn parse_limit(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<u32>() {
        Ok(n @ 1..=10_000) => Ok(n),
        _ => Err(format!("'{raw}' is not a number of lines from 1 to 10000")),
    }
}

fn parse_count(raw: &str) -> Result<u32, String> {
    let n: i64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("'{raw}' is not a whole number"))?;
    if n < 0 {
        return Err(format!("the employee count must be zero or more, got {n}"));
    }
    u32::try_from(n).map_err(|_| format!("{n} employees is more than relais can generate"))
}

fn main() -> std::process::ExitCode {
    let help = format!(
        "TOML configuration file with any of: {}",
        config::FileConfig::keys().join(", ")
    );
    let parsed = Cli::command()
        .mut_arg("config", |arg| arg.help(help))
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: invalid arguments")
            );
            return std::process::ExitCode::from(2);
        }
    };
    match commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // Output piped into a reader that stopped (e.g. `| head`): nothing to
        // report, whether the write failed in plain text or inside JSON
        // (serde_json's error does not give the I/O error as its source).
        Err(e)
            if e.chain().any(|c| {
                let kind = c
                    .downcast_ref::<std::io::Error>()
                    .map(std::io::Error::kind)
                    .or_else(|| c.downcast_ref::<serde_json::Error>()?.io_error_kind());
                kind == Some(std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            std::process::ExitCode::FAILURE
        }
    }
}
