//! Sends the alerts of the outbox to technical contacts by SMTP.

use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox, Message, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use relais_core::alert::NewAlert;
use relais_core::network::NetworkCause;
use relais_core::said::Said;

/// An SMTP server and the address alerts come from.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The server, as configured (without its password), for logs and pages.
    pub server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer sending through `url` — `smtp://host:port` (plain, or
    /// STARTTLS with `?tls=required`), `smtps://host:port` (TLS), with
    /// `user:password@` when the server asks — from the address `from`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("smtp_url '{}': {e}", without_password(url)))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("mail_from '{from}' is not an e-mail address: {e}"))?;
        Ok(Self {
            transport,
            from,
            server: without_password(url),
        })
    }

    /// Sends one alert; the server's refusal or the network's failure in
    /// words, in English and in French.
    pub async fn send(&self, alert: &NewAlert) -> Result<(), Said> {
        let to: Mailbox = alert.recipient.parse().map_err(|e| {
            Said::new(
                format!(
                    "the contact '{}' is not an e-mail address: {e}",
                    alert.recipient
                ),
                format!(
                    "le contact « {} » n'est pas une adresse e-mail : {e}",
                    alert.recipient
                ),
            )
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(alert.subject.clone())
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(Body::new(alert.body.clone())),
            )
            .map_err(|e| {
                Said::new(
                    format!("the alert cannot be written as a mail: {e}"),
                    format!("l'alerte ne peut pas être écrite en e-mail : {e}"),
                )
            })?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            let server = &self.server;
            if e.is_permanent() || e.is_transient() {
                // The server answered: its own words.
                Said::new(
                    format!("{server} refused the mail: {e}"),
                    format!("{server} a refusé l'e-mail : {e}"),
                )
            } else {
                let cause = NetworkCause::of(&e);
                Said::new(
                    format!("cannot reach {server}: {}", cause.text("en")),
                    format!("{server} est injoignable : {}", cause.text("fr")),
                )
            }
        })
    }
}

/// `url` with its password (if any) hidden.
fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            without_password("smtp://relais:s3cret@mail.acme.fr:587?tls=required"),
            "smtp://relais:***@mail.acme.fr:587?tls=required"
        );
        assert_eq!(
            without_password("smtp://127.0.0.1:2525"),
            "smtp://127.0.0.1:2525"
        );
        let e = Mailer::new("smtp://relais:s3cret@", "alerts@acme.fr").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
        let e = Mailer::new("smtp://127.0.0.1:2525", "not an address").unwrap_err();
        assert!(e.contains("mail_from"), "{e}");
    }
}
