//! Headers every admin page carries: a Content-Security-Policy that allows
//! nothing from elsewhere and no framing, `nosniff`, a referrer policy, and
//! `Secure` cookies whenever relais is reached over HTTPS.

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use relais_api::AppState;

/// The pages' policy: their own styles and the few inline handlers they use
/// (copy a key, switch base), images only from relais, forms only to relais,
/// and no page of relais inside another site's frame.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to a page's answer.
pub async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let https = state.served_over_https(request.headers());
    // What a page changes, the change feed says the admin pages did.
    let mut response = relais_store::writing_as("admin".into(), next.run(request)).await;
    let h = response.headers_mut();
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if https {
        let cookies: Vec<HeaderValue> = h
            .get_all(SET_COOKIE)
            .iter()
            .map(|c| match c.to_str() {
                Ok(text) if !text.contains("; Secure") => {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| c.clone())
                }
                _ => c.clone(),
            })
            .collect();
        h.remove(SET_COOKIE);
        for c in cookies {
            h.append(SET_COOKIE, c);
        }
    }
    response
}
