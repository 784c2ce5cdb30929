//! The HTTP addresses relais calls out to — a partner's API, a webhook
//! endpoint — checked in one place: `http://` or `https://`, a host, a port
//! that exists, no user name or password (those go in the secrets), at most
//! 2,000 characters.

use crate::error::DomainError;

/// The longest address taken.
pub const LONGEST: usize = 2_000;

/// Parses `raw` (trimmed) as an address relais may call, for `field`; the
/// answer says what is wrong, in English and French.
pub fn http_address(field: &'static str, raw: &str) -> Result<url::Url, DomainError> {
    let raw = raw.trim();
    if !(raw.starts_with("http://") || raw.starts_with("https://")) {
        return Err(DomainError::said(
            field,
            format!("'{raw}' is not an http:// or https:// address"),
            format!("« {raw} » n'est pas une adresse http:// ou https://"),
        ));
    }
    if raw.len() > LONGEST || raw.contains(char::is_whitespace) {
        return Err(DomainError::said(
            field,
            format!("'{raw}' is not a usable address: no spaces, at most {LONGEST} characters"),
            format!("« {raw} » n'est pas une adresse utilisable : sans espace, {LONGEST} caractères au plus"),
        ));
    }
    let url = url::Url::parse(raw).map_err(|e| {
        DomainError::said(
            field,
            format!("'{raw}' is not a usable address: {e}"),
            format!(
                "« {raw} » n'est pas une adresse utilisable : {}",
                in_french(e)
            ),
        )
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DomainError::said(
            field,
            format!("'{raw}' holds a user name or password: credentials go in the secrets, not in the address"),
            format!("« {raw} » contient un identifiant ou un mot de passe : ils vont dans les secrets, pas dans l'adresse"),
        ));
    }
    Ok(url)
}

/// What the address parser found wrong, in French.
fn in_french(e: url::ParseError) -> &'static str {
    match e {
        url::ParseError::EmptyHost => "il n'y a pas d'hôte",
        url::ParseError::InvalidPort => "le port n'existe pas",
        url::ParseError::InvalidIpv4Address | url::ParseError::InvalidIpv6Address => {
            "l'adresse IP n'est pas valide"
        }
        url::ParseError::InvalidDomainCharacter | url::ParseError::IdnaError => {
            "le nom d'hôte contient un caractère interdit"
        }
        _ => "elle est mal formée",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_in_one_place() {
        for good in [
            "https://hooks.example.fr/relais",
            "http://127.0.0.1:9000/h?x=1",
            "  https://api.semana.io/v1  ",
            "http://[::1]:8080/",
        ] {
            assert!(http_address("url", good).is_ok(), "{good}");
        }
        for (bad, words) in [
            ("ftp://x", "not an http:// or https:// address"),
            ("hooks.example.fr", "not an http:// or https:// address"),
            ("https://", "empty host"),
            ("https://u:p@host/", "holds a user name or password"),
            ("https://u@host/", "holds a user name or password"),
            ("https://a b", "no spaces"),
            ("http://127.0.0.1:99999/x", "invalid port number"),
            ("http://999.1.1.1/", "invalid IPv4 address"),
        ] {
            let err = http_address("url", bad).unwrap_err();
            assert!(err.message.contains(words), "{bad}: {err}");
            assert!(err.message_fr.is_some(), "{bad}");
        }
        let long = format!("https://example.fr/{}", "a".repeat(LONGEST));
        assert!(http_address("url", &long).is_err());
    }
}
