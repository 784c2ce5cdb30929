//! Signing in and out, and switching base or language.

use super::layout::PageForm;
use super::layout::{back_path, error_page, local_path, page, refuse_csrf, CsrfForm, PageError};
use crate::session::DUMMY_HASH;
use crate::session::{
    cookie, lang_of, open_session, redirect, set_cookie, verify_password, Lang, Viewer,
};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use relais_api::AppState;
use relais_app::keys::random_hex;
use serde::Deserialize;

/// Query of the sign-in page.
#[derive(Deserialize)]
pub struct LoginQuery {
    pub(crate) next: Option<String>,
    pub(crate) expired: Option<String>,
}

fn login_page(
    lang: Lang,
    next: &str,
    message: Option<&str>,
    token: &str,
    email: &str,
) -> Html<String> {
    page(
        None,
        lang,
        lang.t("Connexion"),
        html! {
            @if let Some(m) = message { p.error id="login-error" { (m) } }
            form method="post" action="/login" id="login-form" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label for="email" { (lang.t("E-mail")) }
                input id="email" name="email" type="email" required autocomplete="username" value=(email);
                label for="password" { (lang.t("Mot de passe")) }
                input id="password" name="password" type="password" required autocomplete="current-password";
                p { button id="login-submit" type="submit" { (lang.t("Se connecter")) } }
            }
        },
    )
}

/// `GET /login`.
pub async fn login_form(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = lang_of(&headers);
    let token = random_hex(16);
    let message = q
        .expired
        .as_ref()
        .map(|_| lang.t("Votre session a expiré : reconnectez-vous."));
    let mut r = login_page(
        lang,
        q.next.as_deref().unwrap_or("/integrations"),
        message,
        &token,
        "",
    )
    .into_response();
    r.headers_mut().append(
        axum::http::header::SET_COOKIE,
        set_cookie("relais_login", &token, 3600),
    );
    r
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(default)]
    pub(crate) next: String,
    #[serde(default)]
    pub(crate) email: String,
    #[serde(default)]
    pub(crate) password: String,
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::session::ClientAddress(address): crate::session::ClientAddress,
    PageForm(f): PageForm<LoginForm>,
) -> Response {
    use crate::session::{record_sign_in, sign_in_door, Door};
    use relais_store::SignInOutcome;
    let lang = lang_of(&headers);
    let fresh = random_hex(16);
    let again = |status: StatusCode, message: &str| {
        let mut r = (
            status,
            login_page(lang, &f.next, Some(message), &fresh, f.email.trim()),
        )
            .into_response();
        r.headers_mut().append(
            axum::http::header::SET_COOKIE,
            set_cookie("relais_login", &fresh, 3600),
        );
        r
    };
    if f.csrf.is_empty() || cookie(&headers, "relais_login").as_deref() != Some(f.csrf.as_str()) {
        return again(
            StatusCode::FORBIDDEN,
            lang.t("Ce formulaire a expiré : recommencez."),
        );
    }
    let account = f.email.trim().to_lowercase();
    let tries_left = match sign_in_door(&state, &account, &address).await {
        Ok(Door::Locked { until }) => {
            record_sign_in(&state, &account, &address, SignInOutcome::Locked).await;
            let at = until
                .with_timezone(&chrono_tz::Europe::Paris)
                .format("%H:%M")
                .to_string();
            let message = lang.tf(
                "Trop de tentatives infructueuses : la connexion est bloquée jusqu'à %{at}. Réessayez ensuite, ou demandez à un administrateur de vérifier votre compte.",
                &[("at", &at)],
            );
            return again(StatusCode::TOO_MANY_REQUESTS, &message);
        }
        Ok(Door::Open { wait, tries_left }) => {
            tokio::time::sleep(wait).await;
            tries_left
        }
        Err(e) => return PageError::signed_out(lang, e).into_response(),
    };
    let found = match state.store.person_by_email(f.email.trim()).await {
        Ok(found) => found,
        Err(e) => return PageError::signed_out(lang, e).into_response(),
    };
    // An unknown e-mail costs the same hashing as a wrong password.
    // A disabled account fails as a wrong password does (after the same
    // hashing): the answer does not tell what the account's state is.
    let known = match &found {
        Some((person, hash)) => verify_password(&f.password, hash) && person.disabled_at.is_none(),
        None => {
            let _ = verify_password(&f.password, DUMMY_HASH);
            false
        }
    };
    let Some((person, _)) = found.filter(|_| known) else {
        record_sign_in(&state, &account, &address, SignInOutcome::Failed).await;
        let left = tries_left.saturating_sub(1);
        let minutes = crate::session::LOCK_MINUTES;
        let message = match left {
            0 => lang.tf(
                "E-mail ou mot de passe incorrect. Trop d'échecs : la connexion à ce compte est bloquée pendant %{minutes} minutes.",
                &[("minutes", &minutes)],
            ),
            n if n <= 3 => lang.count_with(
                n,
                "E-mail ou mot de passe incorrect. Encore %{n} essai avant un blocage de %{minutes} minutes.",
                "E-mail ou mot de passe incorrect. Encore %{n} essais avant un blocage de %{minutes} minutes.",
                &[("minutes", &minutes)],
            ),
            _ => lang.t("E-mail ou mot de passe incorrect.").to_owned(),
        };
        return again(StatusCode::UNAUTHORIZED, &message);
    };
    record_sign_in(&state, &account, &address, SignInOutcome::Succeeded).await;
    match open_session(&state, &person).await {
        Ok(c) => {
            let next = if local_path(&f.next) {
                f.next.as_str()
            } else {
                "/integrations"
            };
            redirect(next, vec![c, set_cookie("relais_login", "", 0)])
        }
        Err(e) => PageError::signed_out(lang, e).into_response(),
    }
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    v: Viewer,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    refuse_csrf(&v, &f.csrf)?;
    if let Err(e) = state.store.delete_session(&v.token_hash).await {
        return Err(PageError::internal(&v, e));
    }
    Ok(redirect(
        "/login",
        vec![set_cookie(crate::session::SESSION_COOKIE, "", 0)],
    ))
}

/// Query of the switchers.
#[derive(Deserialize)]
pub struct SwitchQuery {
    pub(crate) name: Option<String>,
    pub(crate) to: Option<String>,
}

/// `GET /base?name=test`: shows another base.
pub async fn switch_base(v: Viewer, headers: HeaderMap, Query(q): Query<SwitchQuery>) -> Response {
    let Some(base) = v
        .bases
        .iter()
        .find(|b| Some(b.name.as_str()) == q.name.as_deref())
    else {
        return error_page(
            Some(&v),
            v.lang,
            StatusCode::NOT_FOUND,
            v.lang.t("Cette base n'existe pas."),
        );
    };
    let back = back_path(&headers, "/integrations");
    redirect(
        &back,
        vec![set_cookie(
            "relais_base",
            base.name.as_str(),
            365 * 24 * 3600,
        )],
    )
}

/// `GET /lang?to=en`.
pub async fn switch_lang(headers: HeaderMap, Query(q): Query<SwitchQuery>) -> Response {
    let to = if q.to.as_deref() == Some("en") {
        "en"
    } else {
        "fr"
    };
    let back = back_path(&headers, "/");
    redirect(&back, vec![set_cookie("relais_lang", to, 365 * 24 * 3600)])
}
