//! Signing in: passwords (argon2), sessions in HttpOnly cookies, CSRF
//! tokens on every form, the chosen base and language.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use relais_api::AppState;
use relais_app::keys::{hash_secret, random_hex};
use relais_core::base::{Base, BaseKind};
use relais_core::people::Person;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "relais_session";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// The language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// French, the default.
    Fr,
    /// English.
    En,
}

impl Lang {
    /// The pages' text whose French wording is `key`, in this language, from
    /// the catalogue of the language (`locales/fr.toml`, `locales/en.toml`);
    /// the key itself when a catalogue lacks it (a test keeps them whole).
    pub fn t(self, key: &'static str) -> &'static str {
        match crate::_rust_i18n_try_translate(self.code(), key) {
            Some(std::borrow::Cow::Borrowed(text)) => text,
            _ => key,
        }
    }

    /// [`Lang::t`] with its `%{name}` placeholders filled in.
    pub fn tf(self, key: &'static str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut text = self.t(key).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("%{{{name}}}"), &value.to_string());
        }
        text
    }

    /// `n` things said with the key for one (`one`, in French also for
    /// none) or the key for several (`many`), its `%{n}` filled in: « 1
    /// collaborateur », « 0 collaborateur », « 0 employees ».
    pub fn count(self, n: impl Into<u64>, one: &'static str, many: &'static str) -> String {
        self.count_with(n, one, many, &[])
    }

    /// [`Lang::count`] with other `%{name}` placeholders filled in too.
    pub fn count_with(
        self,
        n: impl Into<u64>,
        one: &'static str,
        many: &'static str,
        args: &[(&str, &dyn std::fmt::Display)],
    ) -> String {
        let n = n.into();
        let singular = match self {
            Lang::Fr => n <= 1,
            Lang::En => n == 1,
        };
        let mut all: Vec<(&str, &dyn std::fmt::Display)> = vec![("n", &n)];
        all.extend_from_slice(args);
        self.tf(if singular { one } else { many }, &all)
    }

    /// The label a thing declares for itself in both languages (an app's
    /// description, a connector's stream, a report's column): the one in
    /// this language.
    pub fn pick<'a, T: ?Sized>(self, fr: &'a T, en: &'a T) -> &'a T {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    /// `value` with one decimal and this language's decimal mark: « 2,5 »,
    /// "2.5".
    pub fn decimal(self, value: f64) -> String {
        let text = format!("{value:.1}");
        match self {
            Lang::Fr => text.replace('.', ","),
            Lang::En => text,
        }
    }

    /// The other language (the language link offers it).
    pub fn other(self) -> Self {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    /// `fr` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

/// Hashes a password with argon2 and a random salt.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the operating system provides randomness");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

/// The fewest characters a password may hold.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A password generated for an account, shown once to whoever passes it
/// on: 16 hexadecimal digits, 64 random bits.
pub fn generate_password() -> String {
    random_hex(8)
}

/// A real argon2 hash of a password no account has, checked when an e-mail is
/// unknown so that it costs the same time as a wrong password.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Z46J5jeJpe6mggPNwnv86g$LJDuHFuJyx3xJ/0vnz7my+/+NufgzwvvbLIWPIciFf8";

/// Whether `password` matches an argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The value of a cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole site.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}"
    ))
    .expect("cookie values are ASCII")
}

/// A redirect (303) to `to`, with cookies to set.
pub fn redirect(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(
        LOCATION,
        HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
    );
    for c in cookies {
        r.headers_mut().append(SET_COOKIE, c);
    }
    r
}

/// Opens a session; returns the cookie to set.
pub async fn open_session(
    state: &AppState,
    person: &Person,
) -> Result<HeaderValue, relais_store::StoreError> {
    let token = random_hex(32);
    let csrf = random_hex(16);
    let expires = relais_core::now() + chrono::Duration::hours(SESSION_HOURS);
    state
        .store
        .create_session(&hash_secret(&token), person.id, &csrf, expires)
        .await?;
    Ok(set_cookie(SESSION_COOKIE, &token, SESSION_HOURS * 3600))
}

/// The signed-in person viewing a page, with the base and language chosen.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who.
    pub person: Person,
    /// The token forms must echo.
    pub csrf: String,
    /// SHA-256 of the session token.
    pub token_hash: String,
    /// The base the pages show.
    pub base: Base,
    /// Every base, for the switcher.
    pub bases: Vec<Base>,
    /// Page language.
    pub lang: Lang,
}

impl Viewer {
    /// The viewer, as who makes the changes they ask for (for the
    /// activity journal).
    pub fn actor(&self) -> relais_core::activity::Actor {
        relais_core::activity::Actor::Person(self.person.id)
    }
}

/// The language asked by the `lang` cookie (French by default).
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, "relais_lang").as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Fr,
    }
}

/// The pages that open to someone who must first choose their password
/// ([`Person::must_choose_password`](relais_core::people::Person)).
const OPEN_BEFORE_CHOOSING: &[&str] = &["/me", "/me/password", "/logout", "/lang"];

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let to_login = |expired: bool| {
            let mut to = format!("/login?next={}", urlencode(&next));
            if expired {
                to.push_str("&expired=1");
            }
            redirect(&to, Vec::new())
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(false));
        };
        let token_hash = hash_secret(&token);
        let found = state.store.session(&token_hash).await.map_err(|e| {
            tracing::error!(error = %e, "cannot read a session");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        })?;
        let Some((person, csrf)) = found else {
            return Err(to_login(true));
        };
        relais_api::layers::record_actor(&parts.extensions, || format!("person:{}", person.id));
        // A password someone else set is replaced first: until then, only
        // « Mon compte » (to choose it), the language and signing out open.
        if person.must_choose_password && !OPEN_BEFORE_CHOOSING.contains(&parts.uri.path()) {
            return Err(redirect("/me", Vec::new()));
        }
        let bases = state
            .store
            .list_bases()
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        let chosen = cookie(&parts.headers, "relais_base");
        let base = bases
            .iter()
            .find(|b| Some(b.name.as_str()) == chosen.as_deref())
            .or_else(|| bases.iter().find(|b| b.kind == BaseKind::Production))
            .or(bases.first())
            .cloned()
            .ok_or_else(|| {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no base yet: create one with `relais base create`",
                )
                    .into_response()
            })?;
        Ok(Viewer {
            person,
            csrf,
            token_hash,
            base,
            bases,
            lang: lang_of(&parts.headers),
        })
    }
}

/// Failed sign-ins an account may have within [`LOCK_MINUTES`] before it is locked.
pub const ACCOUNT_FAILURES_BEFORE_LOCK: u32 = 5;
/// Failed sign-ins one address may make within [`LOCK_MINUTES`], whatever the
/// accounts, before it is locked out.
pub const ADDRESS_FAILURES_BEFORE_LOCK: u32 = 20;
/// How long a lock lasts after the latest failure, in minutes.
pub const LOCK_MINUTES: i64 = 15;
/// Failures after which each further attempt is answered more slowly.
pub const SLOW_DOWN_AFTER: u32 = 2;
/// The longest an attempt is made to wait.
pub const LONGEST_WAIT_SECONDS: u64 = 4;

/// The client's address: the connection's peer, or, when relais sits behind
/// a proxy (a public URL is set), the first address of `X-Forwarded-For`.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .public_url
            .as_ref()
            .and_then(|_| parts.headers.get("x-forwarded-for"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(ClientAddress(
            forwarded.or(peer).unwrap_or_else(|| "unknown".to_owned()),
        ))
    }
}

/// Whether a sign-in attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// It may, after this wait (longer as failures pile up).
    Open {
        /// How long to wait before checking the password.
        wait: std::time::Duration,
        /// Failures the account may still have before it is locked.
        tries_left: u32,
    },
    /// It may not: too many failures for the account or from the address.
    Locked {
        /// When attempts are accepted again.
        until: chrono::DateTime<chrono::Utc>,
    },
}

/// Decides whether a sign-in to `email` (lower case) from `address` may be tried.
pub async fn sign_in_door(
    state: &AppState,
    email: &str,
    address: &str,
) -> Result<Door, relais_store::StoreError> {
    let now = relais_core::now();
    let lock = chrono::Duration::minutes(LOCK_MINUTES);
    let f = state
        .store
        .sign_in_failures(email, address, now - lock)
        .await?;
    if f.account >= ACCOUNT_FAILURES_BEFORE_LOCK || f.address >= ADDRESS_FAILURES_BEFORE_LOCK {
        return Ok(Door::Locked {
            until: f.latest.unwrap_or(now) + lock,
        });
    }
    let worst = f.account.max(f.address / 4);
    let wait = if worst >= SLOW_DOWN_AFTER {
        u64::from(worst - SLOW_DOWN_AFTER + 1).min(LONGEST_WAIT_SECONDS)
    } else {
        0
    };
    Ok(Door::Open {
        wait: std::time::Duration::from_secs(wait),
        tries_left: ACCOUNT_FAILURES_BEFORE_LOCK - f.account,
    })
}

/// Records a sign-in attempt in the audit trail; a failure to record is logged.
pub async fn record_sign_in(
    state: &AppState,
    email: &str,
    address: &str,
    outcome: relais_store::SignInOutcome,
) {
    let attempt = relais_store::SignInAttempt {
        email: email.to_owned(),
        address: address.to_owned(),
        outcome,
        at: relais_core::now(),
    };
    if let Err(e) = state.store.record_sign_in(&attempt).await {
        tracing::error!(error = %e, "cannot record a sign-in attempt");
    }
    if outcome != relais_store::SignInOutcome::Succeeded {
        tracing::warn!(target: "relais::sign_in", outcome = outcome.code(), address, "sign-in refused");
    }
}

/// Percent-encodes a text for a URL query (paths keep their slashes).
pub fn urlencode(raw: &str) -> String {
    relais_api::query::percent_encode(raw, b"/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_each_languages_singular() {
        let employees =
            |lang: Lang, n: u64| lang.count(n, "%{n} collaborateur", "%{n} collaborateurs");
        assert_eq!(employees(Lang::Fr, 0), "0 collaborateur");
        assert_eq!(employees(Lang::Fr, 1), "1 collaborateur");
        assert_eq!(employees(Lang::Fr, 435), "435 collaborateurs");
        assert_eq!(employees(Lang::En, 0), "0 employees");
        assert_eq!(employees(Lang::En, 1), "1 employee");
        assert_eq!(employees(Lang::En, 2), "2 employees");
        assert_eq!(
            Lang::Fr.count_with(
                2_u64,
                "%{n} essai en %{m} min",
                "%{n} essais en %{m} min",
                &[("m", &15)]
            ),
            "2 essais en 15 min"
        );
    }

    /// The keys and texts of one language's catalogue.
    fn catalogue(lang: &str) -> std::collections::BTreeMap<String, String> {
        let path = format!("{}/locales/{lang}.toml", env!("CARGO_MANIFEST_DIR"));
        toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// The pages' sources, folders included, as one text (their tests left out).
    fn sources() -> String {
        fn read(dir: &std::path::Path, all: &mut String) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    read(&path, all);
                } else {
                    let text = std::fs::read_to_string(&path).unwrap();
                    all.push_str(text.split("#[cfg(test)]").next().unwrap_or_default());
                }
            }
        }
        let mut all = String::new();
        read(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut all,
        );
        all
    }

    #[test]
    fn both_catalogues_hold_every_word_of_the_pages_and_no_other() {
        let (fr, en) = (catalogue("fr"), catalogue("en"));
        assert_eq!(
            fr.keys().collect::<Vec<_>>(),
            en.keys().collect::<Vec<_>>(),
            "the same keys in both languages"
        );
        let code = sources();
        let placeholders = |text: &str| {
            let mut found: Vec<String> = text
                .split("%{")
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            found.sort();
            found
        };
        for (key, english) in &en {
            let literal = format!(
                "\"{}\"",
                key.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            );
            assert!(code.contains(&literal), "{key:?} is used by no page");
            assert!(!english.is_empty(), "{key:?} has an English text");
            assert_eq!(
                placeholders(key),
                placeholders(english),
                "{key:?}: same placeholders"
            );
            assert_eq!(
                placeholders(key),
                placeholders(&fr[key]),
                "{key:?}: same placeholders"
            );
        }
        // Every text a page asks for by a literal key is in the catalogues.
        for (at, _) in code.match_indices(".t(\"") {
            let rest = &code[at + 4..];
            let mut end = 0;
            let bytes = rest.as_bytes();
            while bytes[end] != b'"' || (end > 0 && bytes[end - 1] == b'\\') {
                end += 1;
            }
            let key = rest[..end].replace("\\\"", "\"").replace("\\n", "\n");
            assert!(
                en.contains_key(&key),
                "{key:?} is missing from the catalogues"
            );
        }
        // And every table's column heading (`#` and an empty heading read
        // the same in both languages).
        for (at, _) in code.match_indices("column_heads(lang, &[") {
            let list = &code[at..];
            let list = &list[..list.find(']').unwrap()];
            for key in list.split('"').skip(1).step_by(2) {
                assert!(
                    key.is_empty() || key == "#" || en.contains_key(key),
                    "column heading {key:?} is missing from the catalogues"
                );
            }
        }
    }

    #[test]
    fn texts_come_from_the_language_asked_and_fill_their_placeholders() {
        assert_eq!(Lang::Fr.t("Se connecter"), "Se connecter");
        assert_eq!(Lang::En.t("Se connecter"), "Sign in");
        assert_eq!(
            Lang::En.tf(
                "du %{start} au %{end}",
                &[("start", &"01/03/2027"), ("end", &"05/03/2027")]
            ),
            "from 01/03/2027 to 05/03/2027"
        );
        assert_eq!(
            Lang::En.t("no such key"),
            "no such key",
            "the key when missing"
        );
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(hash_password("same"), hash_password("same"), "salted");
        assert!(
            PasswordHash::new(DUMMY_HASH).is_ok(),
            "the dummy hash is a real one"
        );
    }

    #[test]
    fn cookies_are_read_and_written() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; relais_session=abc; relais_lang=en"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(lang_of(&h), Lang::En);
        assert_eq!(cookie(&h, "missing"), None);
        let c = set_cookie("x", "y", 60);
        assert!(
            c.to_str().unwrap().contains("HttpOnly")
                && c.to_str().unwrap().contains("SameSite=Strict")
        );
        assert_eq!(urlencode("/a b?c=d"), "/a%20b%3Fc%3Dd");
    }
}
