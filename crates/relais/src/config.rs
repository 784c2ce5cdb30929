//! Configuration: command-line flags, then environment variables, then an
//! optional TOML file, then defaults.

use anyhow::{bail, Context, Result};
use relais_core::retention::{self, in_days, Retention};
use relais_store::DatabaseUrl;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Declares [`FileConfig`], each setting once: its doc comment (also its
/// `--help`), its name (the flag, with `_` as `-`, and the file's key), its
/// type, and its environment variable and value name (`--help`'s
/// placeholder); a setting without them is the file's only, marked
/// `#[arg(skip)]`. Every setting is optional, global to the subcommands, and
/// merged by [`FileConfig::or`].
macro_rules! file_config {
    ($(#[$outer:meta])* pub struct $name:ident {
        $($(#[$meta:meta])* $field:ident: $type:ty $(= $env:literal, $value:literal $(, $flag:ident)*)?;)*
    }) => {
        $(#[$outer])*
        pub struct $name {
            $(
                $(#[$meta])*
                $(#[arg(long, global = true, env = $env, value_name = $value $(, $flag = true)*)])?
                pub $field: Option<$type>,
            )*
        }

        impl $name {
            /// Each value of `self`, else `other`'s.
            pub fn or(self, other: $name) -> $name {
                $name { $($field: self.$field.or(other.$field),)* }
            }
        }
    };
}

file_config! {
    /// The optional TOML configuration file (`--config` or `RELAIS_CONFIG`).
    ///
    /// ```toml
    /// data_dir = "/var/lib/relais"
    /// database_url = "postgres://relais@db/relais"
    /// listen = "0.0.0.0:8080"
    /// log = "info"
    /// ```
    #[derive(Debug, Default, Clone, Deserialize, clap::Args)]
    #[serde(deny_unknown_fields)]
    pub struct FileConfig {
        /// Folder of the embedded SQLite database (default: ./relais-data).
        data_dir: PathBuf = "RELAIS_DATA_DIR", "DIR";
        /// Database to use instead of the embedded one: sqlite://PATH or postgres://USER@HOST/DB.
        database_url: String = "RELAIS_DATABASE_URL", "URL";
        /// Address and port the server listens on (default: 127.0.0.1:8080); on
        /// the command line, a flag of `serve` and `demo`.
        #[arg(skip)]
        listen: SocketAddr;
        /// Log filter, e.g. info, warn or relais=debug (default: info; for
        /// `demo`, info without the request lines). At info, each request leaves
        /// one access-log line.
        log: String = "RELAIS_LOG", "FILTER";
        /// API requests a minute one key may make before answers are 429 (default: 6000).
        rate_limit: u32 = "RELAIS_RATE_LIMIT", "N";
        /// Master key sealing partner credentials, 64 hexadecimal digits
        /// (default: generated once into <data-dir>/secret.key). Every process
        /// sharing one database needs the same key.
        secret_key: String = "RELAIS_SECRET_KEY", "HEX", hide_env_values;
        /// The address people reach relais at when it sits behind a proxy, e.g.
        /// https://rh.example.fr; an https:// address makes the session cookie Secure.
        public_url: String = "RELAIS_PUBLIC_URL", "URL";
        /// Log lines as `text` (default) or `json` (one object per line).
        log_format: String = "RELAIS_LOG_FORMAT", "FORMAT";
        /// A PEM file of extra certificate authorities trusted for partners and
        /// sources served over HTTPS (the system's authorities are always trusted).
        partner_ca_file: PathBuf = "RELAIS_PARTNER_CA_FILE", "FILE";
        /// SQLite's page cache per connection, in MiB (default 32; `sync run`: 2).
        sqlite_cache_mib: u32 = "RELAIS_SQLITE_CACHE_MIB", "MIB";
        /// The mail server alerts to technical contacts go through: smtp://host:port
        /// (add ?tls=required for STARTTLS) or smtps://host:port, user:password@ if
        /// it asks (default: no alert is sent; `demo` starts a local mail catcher).
        smtp_url: String = "RELAIS_SMTP_URL", "URL", hide_env_values;
        /// The address alerts come from (default: relais@ the public URL's host).
        mail_from: String = "RELAIS_MAIL_FROM", "ADDRESS";
        /// Days the change feed keeps its events (default 60, from 1 to 3650):
        /// older ones are deleted by the runtime.
        event_retention_days: u32 = "RELAIS_EVENT_RETENTION_DAYS", "DAYS";
        /// Days the API's audit trail keeps each request it records (default
        /// 365, from 1 to 3650): older ones are deleted by the runtime.
        audit_retention_days: u32 = "RELAIS_AUDIT_RETENTION_DAYS", "DAYS";
        /// Days the journal keeps each entry, and the accounts' history each
        /// change (default 365, from 1 to 3650): older ones are deleted by
        /// the runtime.
        journal_retention_days: u32 = "RELAIS_JOURNAL_RETENTION_DAYS", "DAYS";
        /// Days runs and their reports are kept once finished (default 365,
        /// from 1 to 3650; each integration keeps its last run): older ones
        /// are deleted by the runtime.
        run_retention_days: u32 = "RELAIS_RUN_RETENTION_DAYS", "DAYS";
        /// Whether webhook endpoints may be at private, loopback and
        /// link-local addresses (default false: only public ones, so that a
        /// key's holder cannot make relais call inside its network).
        webhook_private_addresses: bool = "RELAIS_WEBHOOK_PRIVATE_ADDRESSES", "BOOL";
        /// Seconds a client has to send a request's line and headers, on a new
        /// connection or on one kept alive (default 30, from 1 to 3600): a
        /// connection that sends none in time is closed, so idle ones do not
        /// pile up. A request's body has as long again, and a second more for
        /// each KiB it sends.
        header_timeout_seconds: u32 = "RELAIS_HEADER_TIMEOUT_SECONDS", "SECONDS";
        /// Client connections served at once (default 4096, at least 16, and
        /// never more than the process's open-files limit less 256, kept for
        /// the database and the connections relais opens); more wait their
        /// turn.
        max_connections: u32 = "RELAIS_MAX_CONNECTIONS", "N";
    }
}

impl FileConfig {
    /// The keys a configuration file may hold: the names of this struct's
    /// fields as serde reads them, so that the help and the file cannot
    /// disagree.
    pub fn keys() -> &'static [&'static str] {
        let mut names: &'static [&'static str] = &[];
        // Reading stops at the field names, with an error that says so.
        let _ = FileConfig::deserialize(FieldNames(&mut names));
        names
    }
}

/// A deserializer that reads nothing but the names of the struct asked
/// of it (see [`FileConfig::keys`]).
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        _: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom(
            "only a struct's field names are read",
        ))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(serde::de::Error::custom("the field names are read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

impl FileConfig {
    /// Reads and checks a configuration file; any error names the file, and
    /// the line and column of the mistake.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let place = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!("line {line}, column {column}: ")
                })
                .unwrap_or_default();
            anyhow::anyhow!(
                "config file {}: {place}{}",
                path.display(),
                e.message().replace('\n', " ")
            )
        })
    }
}

/// The settings in force once flags, environment, file and defaults are merged.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the HR base is stored.
    pub database: DatabaseUrl,
    /// Address the server listens on.
    pub listen: SocketAddr,
    /// Log filter.
    pub log: String,
    /// Whether the log filter was chosen (by flag, environment or file)
    /// rather than left to the default.
    pub log_chosen: bool,
    /// API requests a minute one key may make.
    pub rate_limit: u32,
    /// Where the master key sealing partner credentials comes from.
    pub secret_key: SecretKey,
    /// The address people reach relais at, without a trailing `/`.
    pub public_url: Option<String>,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Extra certificate authorities for partners over HTTPS (PEM file).
    pub partner_ca_file: Option<PathBuf>,
    /// SQLite's page cache per connection, in MiB, when set.
    pub sqlite_cache_mib: Option<u32>,
    /// The mail server alerts go through, checked (see [`FileConfig::smtp_url`]).
    pub smtp_url: Option<String>,
    /// The address alerts come from.
    pub mail_from: String,
    /// Days the change feed keeps its events.
    pub event_retention_days: u32,
    /// Days the API's audit trail keeps its requests.
    pub audit_retention_days: u32,
    /// Days the journal and the accounts' history keep their entries.
    pub journal_retention_days: u32,
    /// Days finished runs and their reports are kept.
    pub run_retention_days: u32,
    /// Whether webhook endpoints may be at non-public addresses.
    pub webhook_private_addresses: bool,
    /// How long a request's head may take, and how many client connections
    /// are served at once (before the open-files limit is applied).
    pub connections: relais_api::listen::ConnectionLimits,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where the master key comes from.
#[derive(Clone)]
pub enum SecretKey {
    /// Given in the configuration (64 hexadecimal digits).
    Given(String),
    /// Read from this file, which is created with a new key on first use.
    File(PathBuf),
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The key itself is never printed.
            Self::Given(_) => f.write_str("SecretKey::Given(..)"),
            Self::File(p) => write!(f, "SecretKey::File({})", p.display()),
        }
    }
}

impl SecretKey {
    /// The sealer this key opens; a missing key file is created (readable by its owner only).
    pub fn sealer(&self) -> Result<relais_core::secret::Sealer> {
        use relais_core::secret::Sealer;
        match self {
            Self::Given(hex) => Sealer::from_hex(hex)
                .map_err(|e| anyhow::anyhow!("secret_key (RELAIS_SECRET_KEY): {}", e.message)),
            Self::File(path) => {
                if !path.exists() {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("cannot create {}", dir.display()))?;
                    }
                    let mut options = std::fs::OpenOptions::new();
                    options.write(true).create_new(true);
                    #[cfg(unix)]
                    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                    use std::io::Write;
                    let mut file = options.open(path).with_context(|| {
                        format!("cannot create the key file {}", path.display())
                    })?;
                    writeln!(file, "{}", Sealer::generate_key())?;
                    tracing::info!(path = %path.display(), "created the master key sealing partner credentials");
                }
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the key file {}", path.display()))?;
                Sealer::from_hex(text.trim())
                    .map_err(|e| anyhow::anyhow!("key file {}: {}", path.display(), e.message))
            }
        }
    }
}

/// Values given on the command line or in the environment (which win over the file).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config` / `RELAIS_CONFIG`.
    pub config: Option<PathBuf>,
    /// Every other value, as the file names it.
    pub values: FileConfig,
}

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "relais-data";
/// Default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Settings {
    /// How long the runtime keeps what relais records, as the settings say.
    pub fn retention(&self) -> Retention {
        let days = |n: u32| retention::days(u64::from(n));
        Retention {
            events: days(self.event_retention_days),
            audit: days(self.audit_retention_days),
            journal: days(self.journal_retention_days),
            runs: days(self.run_retention_days),
        }
    }

    /// Merges overrides, the config file (if any) and defaults.
    pub fn resolve(o: &Overrides) -> Result<Self> {
        let file = match &o.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let c = o.values.clone().or(file);
        let data_dir = c
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database = match c.database_url.clone() {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => DatabaseUrl::Sqlite(data_dir.join("relais.db")),
        };
        let listen = match c.listen {
            Some(addr) => addr,
            None => DEFAULT_LISTEN.parse().expect("valid default"),
        };
        let log_chosen = c.log.is_some();
        let log = c.log.clone().unwrap_or_else(|| "info".to_owned());
        if log.trim().is_empty() {
            bail!("the log filter is empty: use e.g. info or relais=debug");
        }
        let rate_limit = c.rate_limit.unwrap_or(relais_api::DEFAULT_RATE_LIMIT);
        if rate_limit == 0 {
            bail!("the rate limit must be at least 1 request a minute");
        }
        let secret_key = match c.secret_key.clone() {
            Some(hex) => SecretKey::Given(hex),
            None => SecretKey::File(data_dir.join("secret.key")),
        };
        let public_url = match c.public_url.clone() {
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                if rest.is_none_or(|host| host.is_empty() || host.contains(char::is_whitespace)) {
                    bail!("public_url '{url}' must be an http:// or https:// address, e.g. https://rh.example.fr");
                }
                Some(url)
            }
            None => None,
        };
        let log_format = match c.log_format.clone().as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("log_format '{other}' is not text or json"),
        };
        let partner_ca_file = c.partner_ca_file.clone();
        if let Some(path) = &partner_ca_file {
            if !path.is_file() {
                bail!("partner_ca_file {} is not a readable file", path.display());
            }
        }
        let sqlite_cache_mib = c.sqlite_cache_mib;
        if let Some(mib) = sqlite_cache_mib {
            if !(1..=4096).contains(&mib) {
                bail!("sqlite_cache_mib must be from 1 to 4096 MiB, not {mib}");
            }
        }
        let smtp_url = c
            .smtp_url
            .clone()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                bail!("smtp_url must start with smtp:// or smtps://, e.g. smtp://mail.example.fr:587?tls=required");
            }
        }
        let mail_from = c.mail_from.clone().unwrap_or_else(|| {
            let host = public_url
                .as_deref()
                .and_then(|u| u.split("://").nth(1))
                .map(|h| h.split([':', '/']).next().unwrap_or("localhost"))
                .unwrap_or("localhost");
            format!("relais@{host}")
        });
        let kept = Retention::default();
        let event_retention_days =
            days("event_retention_days", c.event_retention_days, kept.events)?;
        let audit_retention_days =
            days("audit_retention_days", c.audit_retention_days, kept.audit)?;
        let journal_retention_days = days(
            "journal_retention_days",
            c.journal_retention_days,
            kept.journal,
        )?;
        let run_retention_days = days("run_retention_days", c.run_retention_days, kept.runs)?;
        let defaults = relais_api::listen::ConnectionLimits::default();
        let header_timeout = match c.header_timeout_seconds {
            None => defaults.header_timeout,
            Some(seconds @ 1..=3600) => std::time::Duration::from_secs(u64::from(seconds)),
            Some(seconds) => {
                bail!("header_timeout_seconds must be from 1 to 3600 seconds, not {seconds}")
            }
        };
        let fewest = relais_api::listen::ConnectionLimits::FEWEST_CONNECTIONS;
        let max_connections = match c.max_connections {
            None => defaults.max_connections,
            Some(n) => match usize::try_from(n) {
                Ok(n) if n >= fewest => n,
                _ => bail!("max_connections must be at least {fewest}, not {n}"),
            },
        };
        Ok(Self {
            database,
            listen,
            log,
            log_chosen,
            rate_limit,
            secret_key,
            public_url,
            log_format,
            partner_ca_file,
            sqlite_cache_mib,
            smtp_url,
            mail_from,
            event_retention_days,
            audit_retention_days,
            journal_retention_days,
            run_retention_days,
            webhook_private_addresses: c.webhook_private_addresses.unwrap_or(false),
            connections: relais_api::listen::ConnectionLimits {
                header_timeout,
                max_connections,
            },
        })
    }
}

/// A retention in days (`key`'s value, else `default`), from 1 to 3650.
/// The days `key` asks for (`value`, else `default`'s), from 1 to 3650.
fn days(key: &str, value: Option<u32>, default: std::time::Duration) -> Result<u32> {
    let days = value.unwrap_or_else(|| u32::try_from(in_days(default)).unwrap_or(u32::MAX));
    if !(1..=3650).contains(&days) {
        bail!("{key} must be from 1 to 3650 days, not {days}");
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relais.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn the_keys_are_those_a_file_may_hold() {
        let keys = FileConfig::keys();
        assert!(keys.contains(&"listen"), "{keys:?}");
        assert!(keys.contains(&"event_retention_days"), "{keys:?}");
        assert!(keys.contains(&"webhook_private_addresses"), "{keys:?}");
        // The file's own refusal of an unknown key names every key it takes.
        let (_dir, path) = write("colour = \"blue\"\n");
        let refused = FileConfig::load(&path).unwrap_err().to_string();
        let expected = refused
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("{refused}"));
        let named: Vec<&str> = expected
            .split(", ")
            .map(|k| k.trim().trim_matches('`'))
            .collect();
        assert_eq!(named, keys, "{refused}");
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let (_d, path) = write("listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/relais\"\n");
        let s = Settings::resolve(&Overrides {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(
            s.database,
            DatabaseUrl::Sqlite("/srv/relais/relais.db".into())
        );
        let s = Settings::resolve(&Overrides {
            config: Some(path),
            values: FileConfig {
                listen: Some("127.0.0.1:7000".parse().unwrap()),
                database_url: Some("postgres://u@h/db".into()),
                ..Default::default()
            },
        })
        .unwrap();
        assert_eq!(s.listen.port(), 7000);
        assert!(matches!(s.database, DatabaseUrl::Postgres(_)));
        let d = Settings::resolve(&Overrides::default()).unwrap();
        assert_eq!(d.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(
            d.database,
            DatabaseUrl::Sqlite(PathBuf::from(DEFAULT_DATA_DIR).join("relais.db"))
        );
    }

    #[test]
    fn retentions_have_defaults_and_bounds() {
        let d = Settings::resolve(&Overrides::default()).unwrap();
        assert_eq!(
            (
                d.event_retention_days,
                d.audit_retention_days,
                d.journal_retention_days,
                d.run_retention_days
            ),
            (60, 365, 365, 365)
        );
        let (_d, path) = write("audit_retention_days = 90\n");
        let s = Settings::resolve(&Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.audit_retention_days, 90);
        for (key, days) in [
            ("audit_retention_days", 0),
            ("event_retention_days", 3651),
            ("journal_retention_days", 4000),
            ("run_retention_days", 0),
        ] {
            let (_d, path) = write(&format!("{key} = {days}\n"));
            let err = Settings::resolve(&Overrides {
                config: Some(path),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
            assert!(
                err.contains(&format!("{key} must be from 1 to 3650 days, not {days}")),
                "{err}"
            );
        }
    }

    #[test]
    fn client_connections_have_defaults_and_bounds() {
        let d = Settings::resolve(&Overrides::default()).unwrap();
        assert_eq!(
            d.connections,
            relais_api::listen::ConnectionLimits {
                header_timeout: std::time::Duration::from_secs(30),
                max_connections: 4096,
            }
        );
        let (_d, path) = write("header_timeout_seconds = 5\nmax_connections = 500\n");
        let s = Settings::resolve(&Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (
                s.connections.header_timeout.as_secs(),
                s.connections.max_connections
            ),
            (5, 500)
        );
        for (line, said) in [
            (
                "header_timeout_seconds = 0",
                "header_timeout_seconds must be from 1 to 3600 seconds, not 0",
            ),
            (
                "header_timeout_seconds = 3601",
                "header_timeout_seconds must be from 1 to 3600 seconds, not 3601",
            ),
            (
                "max_connections = 3",
                "max_connections must be at least 16, not 3",
            ),
        ] {
            let (_d, path) = write(&format!("{line}\n"));
            let err = Settings::resolve(&Overrides {
                config: Some(path),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
            assert!(err.contains(said), "{line}: {err}");
        }
    }

    #[test]
    fn the_master_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::File(dir.path().join("sub").join("secret.key"));
        let sealed = key.sealer().unwrap().seal(&Default::default());
        assert!(
            key.sealer().unwrap().open(&sealed).is_ok(),
            "the same key the second time"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("sub/secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = SecretKey::Given("short".into())
            .sealer()
            .unwrap_err()
            .to_string();
        assert!(err.contains("64 hexadecimal digits"), "{err}");
        assert!(!format!("{:?}", SecretKey::Given("abc".into())).contains("abc"));
    }

    #[test]
    fn the_mail_server_is_checked_and_alerts_come_from_the_public_host() {
        let s = Settings::resolve(&Overrides {
            values: FileConfig {
                public_url: Some("https://rh.example.fr:8443/".into()),
                smtp_url: Some("smtp://mail.example.fr:587?tls=required".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.mail_from, "relais@rh.example.fr");
        assert!(s.smtp_url.is_some());
        let s = Settings::resolve(&Overrides::default()).unwrap();
        assert_eq!(
            (s.smtp_url, s.mail_from.as_str()),
            (None, "relais@localhost")
        );
        let err = Settings::resolve(&Overrides {
            values: FileConfig {
                smtp_url: Some("mail.example.fr:25".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("smtp_url"), "{err}");
    }

    #[test]
    fn public_url_and_log_format_are_checked() {
        let s = Settings::resolve(&Overrides {
            values: FileConfig {
                public_url: Some("https://rh.example.fr/".into()),
                log_format: Some("json".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://rh.example.fr"));
        assert_eq!(s.log_format, LogFormat::Json);
        for bad in ["rh.example.fr", "ftp://x", "https://"] {
            let err = Settings::resolve(&Overrides {
                values: FileConfig {
                    public_url: Some(bad.into()),
                    ..Default::default()
                },
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
            assert!(err.contains("public_url"), "{err}");
        }
        let err = Settings::resolve(&Overrides {
            values: FileConfig {
                log_format: Some("xml".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("log_format 'xml'"), "{err}");
    }

    #[test]
    fn a_bad_file_names_the_place() {
        let (_d, path) = write("listen = \"127.0.0.1:9000\"\nlistn = 3\n");
        let err = FileConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 2, column 1"), "{err}");
        assert!(err.contains("listn"), "{err}");
        assert!(!err.contains('\n'));
        let (_d, path) = write("listen = \"not an address\"\n");
        let err = FileConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
