//! Signing in: passwords (argon2), sessions in HttpOnly cookies, CSRF
//! tokens on every form, the chosen base and language.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use relais_api::auth::{hash_secret, random_hex};
use relais_api::AppState;
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
    /// The French or English text.
    pub fn t<'a>(self, fr: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
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

/// The language asked by the `lang` cookie (French by default).
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, "relais_lang").as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Fr,
    }
}

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

/// Percent-encodes a text for a URL query.
pub fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
