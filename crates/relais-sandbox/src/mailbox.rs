//! A mail catcher for the demo and the tests: an SMTP server that takes every
//! message and keeps it (nothing leaves the machine), and an HTTP page of
//! what it caught, `GET /_sim/mails` (JSON, newest last).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A message the catcher took.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CaughtMail {
    /// The envelope's sender.
    pub from: String,
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// The subject, decoded.
    pub subject: String,
    /// The text after the headers.
    pub body: String,
}

/// The mails caught so far.
type Caught = Arc<Mutex<Vec<CaughtMail>>>;

/// A running catcher: its SMTP server and its HTTP page.
pub struct MailCatcher {
    /// Where the SMTP server listens.
    pub smtp: SocketAddr,
    /// Its page.
    pub http: crate::sim::Running,
    caught: Caught,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MailCatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MailCatcher {
    /// Starts a catcher on free local ports.
    pub async fn start() -> std::io::Result<Self> {
        let caught: Caught = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let smtp = listener.local_addr()?;
        let task = {
            let caught = caught.clone();
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let caught = caught.clone();
                    tokio::spawn(async move {
                        if let Err(e) = session(socket, caught).await {
                            tracing::debug!(error = %e, "mail catcher session ended");
                        }
                    });
                }
            })
        };
        let page = Router::new()
            .route("/_sim/mails", get(list))
            .with_state(caught.clone());
        let http = crate::sim::start(page, "127.0.0.1:0".parse().expect("an address")).await?;
        Ok(Self {
            smtp,
            http,
            caught,
            task,
        })
    }

    /// The URL relais sends alerts to (`smtp_url`).
    pub fn smtp_url(&self) -> String {
        format!("smtp://{}", self.smtp)
    }

    /// The mails caught so far, oldest first.
    pub fn mails(&self) -> Vec<CaughtMail> {
        self.caught.lock().expect("never poisoned").clone()
    }
}

async fn list(State(caught): State<Caught>) -> Json<Vec<CaughtMail>> {
    Json(caught.lock().expect("never poisoned").clone())
}

/// One SMTP conversation: greets, takes envelopes and messages until QUIT.
async fn session(socket: tokio::net::TcpStream, caught: Caught) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 relais mail catcher\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") {
            b"250-relais mail catcher\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command["MAIL FROM:".len()..]);
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command["RCPT TO:".len()..]));
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line.trim_end_matches(['\r', '\n']) == "." {
                    break;
                }
                let text = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(text);
            }
            let (subject, body) = parse(&data);
            caught.lock().expect("never poisoned").push(CaughtMail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                subject,
                body,
            });
            b"250 OK: caught\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(answer).await?;
    }
}

/// `<a@b>` (with any parameters after it) as `a@b`.
fn address(raw: &str) -> String {
    let raw = raw.trim();
    let end = raw.find('>').map_or(raw.len(), |e| e + 1);
    raw[..end].trim_matches(['<', '>']).to_owned()
}

/// The decoded subject and the body of a message.
fn parse(data: &str) -> (String, String) {
    let data = data.replace("\r\n", "\n");
    let (head, body) = data.split_once("\n\n").unwrap_or((data.as_str(), ""));
    // Folded header lines continue the one before.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let subject = header("Subject")
        .map(|s| decode_words(&s))
        .unwrap_or_default();
    let body = match header("Content-Transfer-Encoding")
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("base64") => {
            let packed: String = body.split_whitespace().collect();
            String::from_utf8_lossy(
                &base64::engine::general_purpose::STANDARD
                    .decode(packed)
                    .unwrap_or_default(),
            )
            .into_owned()
        }
        Some("quoted-printable") => {
            // Soft line breaks join lines; `=XX` are bytes.
            let joined = body.replace("=\n", "");
            String::from_utf8_lossy(&quoted(&joined.replace('_', "=5F"))).into_owned()
        }
        _ => body.to_owned(),
    };
    (subject, body.trim_end().to_owned())
}

/// Decodes the encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) of a header.
fn decode_words(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(3, '?').collect();
        let Some(end) = parts.get(2).and_then(|p| p.find("?=")) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let text = &parts[2][..end];
        let bytes = match parts[1].to_ascii_lowercase().as_str() {
            "b" => base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default(),
            _ => quoted(text),
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        let used = 2 + parts[0].len() + 1 + parts[1].len() + 1 + end + 2;
        rest = &rest[start + used..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

/// The bytes of a `Q`-encoded word.
fn quoted(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'='),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_decoded() {
        assert_eq!(
            decode_words("=?utf-8?b?w6ljaG91w6k=?= et =?utf-8?q?r=C3=A9par=C3=A9_!?="),
            "échoué et réparé !"
        );
        assert_eq!(decode_words("plain"), "plain");
        let (subject, body) = parse("From: a@b\r\nSubject: =?utf-8?b?w6ljaG91w6k=?=\r\n =?utf-8?b?w6ljaG91w6k=?=\r\n\r\nBonjour\r\n");
        assert_eq!(
            (subject.as_str(), body.as_str()),
            ("échouééchoué", "Bonjour")
        );
        assert_eq!(address(" <it@acme.fr> SIZE=100"), "it@acme.fr");
        let (_, body) = parse("Content-Transfer-Encoding: quoted-printable\n\nla base =C2=AB prod =C2=BB a =\n=C3=A9chou=C3=A9 ; a_b\n");
        assert_eq!(body, "la base « prod » a échoué ; a_b");
        let (_, body) = parse("Content-Transfer-Encoding: base64\n\nw6ljaG91\nw6k=\n");
        assert_eq!(body, "échoué");
    }
}
