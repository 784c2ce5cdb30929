//! Webhook messages posted over HTTP/1.1 connections that the deliverer
//! drives in its own task, and keeps open between passes; the echo that
//! activates an endpoint goes the same way ([`Poster::get`]).
//!
//! A general HTTP client gives each connection a task of its own: every
//! message then wakes the deliverer's task, the connection's task, and the
//! deliverer's again, each maybe on another thread. Here a page's messages
//! and the connections they go over are polled by the one task that posts
//! them, so a message costs the sender a quarter or so of what it did
//! (`cargo bench -p relais --bench webhook_posts`, and
//! `docs/performance.md`, « Webhooks posted over connections the deliverer
//! drives itself »).
//!
//! What is kept from the client it replaces: the reach is checked on every
//! address a name resolves to, at every connection; TLS trusts the
//! machine's certificate authorities; no redirect is followed; the whole
//! exchange, connection included, has one time limit; a name's addresses
//! are tried as RFC 8305 (« Happy Eyeballs ») asks, the next beside one
//! that has not answered within 250 ms. A connection that
//! the receiver closed while it was idle is found closed before it is used,
//! or, when that is only seen as the message is sent, the message goes
//! again once over a new connection (a receiver may get a message twice,
//! under the same `webhook-id`, as the convention allows).

use crate::reach::WebhookReach;
use axum::http::{header, HeaderValue, Method, Request};
use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use relais_core::network::NetworkCause;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;

/// How long a connection may wait unused before it is closed rather than
/// used again (receivers close idle connections after some seconds).
const IDLE_FOR: Duration = Duration::from_secs(30);

/// The `User-Agent` of relais's webhook requests: deliveries and echoes.
pub const USER_AGENT: &str = concat!("relais-webhooks/", env!("CARGO_PKG_VERSION"));

/// How much of a receiver's answer is read; a longer one is cut short and
/// its connection closed (only the status and `Retry-After` are used).
const ANSWER_READ: usize = 64 * 1024;

/// A byte stream to a receiver: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

type Stream = TokioIo<Box<dyn Io>>;

/// One open connection to a receiver, and the half that sends on it.
struct Link {
    send: SendRequest<Full<Bytes>>,
    conn: Pin<Box<Connection<Stream, Full<Bytes>>>>,
    /// Whether the connection ended (it is not used again).
    ended: bool,
    /// When it was last given back unused.
    idle_since: Instant,
}

impl Link {
    /// Whether it can carry another message: not ended, not closed by the
    /// receiver meanwhile, not idle too long.
    fn usable(&mut self) -> bool {
        if self.ended || self.send.is_closed() || self.idle_since.elapsed() > IDLE_FOR {
            return false;
        }
        // Polled once without waiting: a connection the receiver closed
        // ends here, rather than when a message is written to it.
        self.conn.as_mut().now_or_never().is_none()
    }
}

/// Where connections go: an endpoint URL's scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Origin {
    tls: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &reqwest::Url) -> Result<Self, PostError> {
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(PostError::failed(format!("{other} is not HTTP"))),
        };
        // An IPv6 address is written between brackets in a URL, not in a socket's.
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']').to_owned(),
            _ => return Err(PostError::failed("the address has no host")),
        };
        let port = url
            .port_or_known_default()
            .unwrap_or(if tls { 443 } else { 80 });
        Ok(Self { tls, host, port })
    }

    /// The `Host` header: the host, and the port unless it is the scheme's own.
    fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => host,
            (_, port) => format!("{host}:{port}"),
        }
    }
}

/// Why a message was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// No answer within the time given, over a connection made.
    TimedOut,
    /// The receiver could not be reached (within the time given, or not at
    /// all), or the exchange broke off.
    Failed(NetworkCause),
}

impl PostError {
    fn failed(words: impl Into<String>) -> Self {
        Self::Failed(NetworkCause::new(words))
    }

    fn of(error: &(dyn std::error::Error + 'static)) -> Self {
        Self::Failed(NetworkCause::of(error))
    }
}

/// What a receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Its `Retry-After` header, as written.
    pub retry_after: Option<String>,
}

/// One message: where it goes, its headers (besides `Host`, `User-Agent`
/// and `Content-Length`, set here) and its body.
pub struct Message<'a> {
    /// The endpoint's URL, checked against the reach.
    pub url: &'a reqwest::Url,
    /// Its headers, by name.
    pub headers: [(&'static str, String); 4],
    /// Its body.
    pub body: Bytes,
}

/// One request: a message posted, or an echo asked for.
struct Call<'a> {
    method: Method,
    url: &'a reqwest::Url,
    headers: &'a [(&'static str, String)],
    body: Bytes,
}

/// What a connection being made has come to: read when the time limit
/// cuts the exchange short, to tell a receiver that was never connected to
/// from one that did not answer.
#[derive(Default)]
struct Connecting {
    /// Whether a connection is being made (the name resolved, its
    /// addresses tried, TLS over the one that answered).
    now: AtomicBool,
    /// The last failure of an address tried meanwhile (another may still
    /// have been tried when the time ran out).
    failure: Mutex<Option<NetworkCause>>,
}

impl Connecting {
    fn failed(&self, cause: NetworkCause) {
        *self.failure.lock().expect("the last failure") = Some(cause);
    }
}

/// The connections not in use.
#[derive(Default)]
struct Idle {
    /// By where they go, the last given back last.
    links: HashMap<Origin, Vec<Link>>,
    /// When those unused for longer than [`IDLE_FOR`] were last closed.
    swept: Option<Instant>,
}

/// Posts webhook messages over connections it keeps, per receiver.
pub struct Poster {
    reach: WebhookReach,
    user_agent: HeaderValue,
    /// Connections not in use, by where they go; at most `keep` each.
    idle: Mutex<Idle>,
    keep: usize,
    /// The TLS settings, made at the first `https` connection.
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poster")
            .field("reach", &self.reach)
            .finish_non_exhaustive()
    }
}

impl Poster {
    /// A poster within `reach`, keeping up to `keep` idle connections to
    /// each receiver, whose requests name `user_agent`.
    pub fn new(reach: WebhookReach, keep: usize, user_agent: &'static str) -> Self {
        Self {
            reach,
            user_agent: HeaderValue::from_static(user_agent),
            idle: Mutex::default(),
            keep,
            tls: OnceLock::new(),
        }
    }

    /// Posts `message` and reads the answer, all within `limit`. The
    /// connections are polled by the caller's task: posts made together
    /// (joined, or in a `FuturesUnordered`) share it.
    pub async fn post(&self, message: &Message<'_>, limit: Duration) -> Result<Answer, PostError> {
        let call = Call {
            method: Method::POST,
            url: message.url,
            headers: &message.headers,
            body: message.body.clone(),
        };
        self.call(&call, limit).await.map(|(answer, _)| answer)
    }

    /// Asks `url`, its query included, with a `GET` and reads the answer
    /// and its body (up to 64 KB, empty when longer), all within `limit`:
    /// the echo that activates an endpoint goes over the same connections,
    /// checks and limits as the messages.
    pub async fn get(
        &self,
        url: &reqwest::Url,
        limit: Duration,
    ) -> Result<(Answer, Bytes), PostError> {
        let call = Call {
            method: Method::GET,
            url,
            headers: &[],
            body: Bytes::new(),
        };
        self.call(&call, limit).await
    }

    /// Makes `call` within `limit`. When the time runs out before a
    /// connection was made, that is what is told (with what an address
    /// answered meanwhile, a refusal say), not that the receiver did not
    /// answer.
    async fn call(&self, call: &Call<'_>, limit: Duration) -> Result<(Answer, Bytes), PostError> {
        let connecting = Connecting::default();
        match tokio::time::timeout(limit, self.exchange(call, &connecting)).await {
            Ok(done) => done,
            Err(_) if connecting.now.load(Ordering::Acquire) => {
                let meanwhile = connecting.failure.lock().expect("the last failure").take();
                Err(PostError::Failed(NetworkCause::not_connected(
                    limit, meanwhile,
                )))
            }
            Err(_) => Err(PostError::TimedOut),
        }
    }

    async fn exchange(
        &self,
        call: &Call<'_>,
        connecting: &Connecting,
    ) -> Result<(Answer, Bytes), PostError> {
        let origin = Origin::of(call.url)?;
        if let Some(mut link) = self.take(&origin) {
            match self.send(&mut link, &origin, call).await {
                Ok(answer) => {
                    self.give_back(origin, link);
                    return Ok(answer);
                }
                // Closed by the receiver as the message went: once more,
                // over a new connection.
                Err(Sent::Never(_)) => {}
                Err(Sent::Broke(e)) => return Err(e),
            }
        }
        connecting.now.store(true, Ordering::Release);
        let mut link = self.connect(&origin, connecting).await?;
        connecting.now.store(false, Ordering::Release);
        match self.send(&mut link, &origin, call).await {
            Ok(answer) => {
                self.give_back(origin, link);
                Ok(answer)
            }
            Err(Sent::Never(e) | Sent::Broke(e)) => Err(e),
        }
    }

    /// An idle connection to `origin` that is still open, if any.
    fn take(&self, origin: &Origin) -> Option<Link> {
        let mut idle = self.idle.lock().expect("the idle connections");
        let links = idle.links.get_mut(origin)?;
        while let Some(mut link) = links.pop() {
            if link.usable() {
                return Some(link);
            }
        }
        None
    }

    fn give_back(&self, origin: Origin, mut link: Link) {
        if link.ended || link.send.is_closed() {
            return;
        }
        let now = Instant::now();
        link.idle_since = now;
        let mut idle = self.idle.lock().expect("the idle connections");
        Self::sweep(&mut idle, now);
        let links = idle.links.entry(origin).or_default();
        if links.len() < self.keep {
            links.push(link);
        }
    }

    /// Closes the connections left unused for longer than [`IDLE_FOR`],
    /// those of receivers no longer posted to among them; at most once in
    /// that time, however often it is called. Posting does it too: a
    /// deliverer calls it besides, so that connections are closed when it
    /// has nothing left to post.
    pub fn close_unused(&self) {
        let mut idle = self.idle.lock().expect("the idle connections");
        Self::sweep(&mut idle, Instant::now());
    }

    fn sweep(idle: &mut Idle, now: Instant) {
        if idle
            .swept
            .is_some_and(|at| now.duration_since(at) <= IDLE_FOR)
        {
            return;
        }
        idle.links.retain(|_, links| {
            links.retain(|l| now.duration_since(l.idle_since) <= IDLE_FOR);
            !links.is_empty()
        });
        idle.swept = Some(now);
    }

    /// Sends `call` over `link` and reads the answer, driving the
    /// connection meanwhile.
    async fn send(
        &self,
        link: &mut Link,
        origin: &Origin,
        call: &Call<'_>,
    ) -> Result<(Answer, Bytes), Sent> {
        // A message that cannot be written would not be on another connection either.
        let request = self.request(origin, call).map_err(Sent::Broke)?;
        let Link {
            send, conn, ended, ..
        } = link;
        let closed = || {
            Sent::Never(PostError::failed(
                "connection closed before message completed",
            ))
        };
        drive(conn, ended, send.ready())
            .await
            .ok_or_else(closed)?
            .map_err(|e| Sent::Never(PostError::of(&e)))?;
        let answer = drive(conn, ended, send.send_request(request))
            .await
            .ok_or_else(closed)?
            .map_err(|e| {
                // Not written at all, or the connection closed before any
                // answer: the receiver never saw it whole.
                if e.is_canceled() || e.is_incomplete_message() {
                    Sent::Never(PostError::of(&e))
                } else {
                    Sent::Broke(PostError::of(&e))
                }
            })?;
        let status = answer.status().as_u16();
        let retry_after = answer
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Read to its end, so that the connection can carry the next one.
        let body = Limited::new(answer.into_body(), ANSWER_READ).collect();
        let body = match drive(conn, ended, body).await {
            Some(Ok(read)) => read.to_bytes(),
            _ => {
                *ended = true;
                Bytes::new()
            }
        };
        Ok((
            Answer {
                status,
                retry_after,
            },
            body,
        ))
    }

    fn request(&self, origin: &Origin, call: &Call<'_>) -> Result<Request<Full<Bytes>>, PostError> {
        let url = call.url;
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(target)
            .header(header::HOST, origin.authority())
            .header(header::USER_AGENT, self.user_agent.clone());
        for (name, value) in call.headers {
            request = request.header(*name, value);
        }
        request
            .body(Full::new(call.body.clone()))
            .map_err(|e| PostError::of(&e))
    }

    /// Opens a connection to `origin`: its name resolved, each address
    /// checked against the reach, the first that answers taken (see
    /// [`first_to_answer`]), TLS over it for `https`. The addresses'
    /// failures are noted in `connecting` as they come.
    async fn connect(&self, origin: &Origin, connecting: &Connecting) -> Result<Link, PostError> {
        let found: Vec<SocketAddr> = match origin.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, origin.port)],
            Err(_) => tokio::net::lookup_host((origin.host.as_str(), origin.port))
                .await
                .map_err(|e| PostError::of(&e))?
                .collect(),
        };
        let allowed = self
            .reach
            .allowed(&origin.host, found)
            .map_err(PostError::failed)?;
        let tcp = first_to_answer(allowed, NEXT_ADDRESS_AFTER, connecting).await?;
        tcp.set_nodelay(true).map_err(|e| PostError::of(&e))?;
        let io: Box<dyn Io> = if origin.tls {
            let config = self
                .tls
                .get_or_init(tls_settings)
                .clone()
                .map_err(PostError::failed)?;
            let name = rustls::pki_types::ServerName::try_from(origin.host.clone())
                .map_err(|e| PostError::of(&e))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| PostError::of(&e))?;
            Box::new(stream)
        } else {
            Box::new(tcp)
        };
        let (send, conn) = http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| PostError::of(&e))?;
        Ok(Link {
            send,
            conn: Box::pin(conn),
            ended: false,
            idle_since: Instant::now(),
        })
    }
}

/// How long a connection attempt to one of a receiver's addresses goes
/// unanswered before the next address is tried beside it (the « connection
/// attempt delay » of RFC 8305, « Happy Eyeballs »).
const NEXT_ADDRESS_AFTER: Duration = Duration::from_millis(250);

/// A TCP connection to the first of `addresses` that answers. They are
/// tried in turn, IPv6 and IPv4 taking turns from the first one's family
/// on; the next starts when the one before fails, or has gone unanswered
/// for `next_after` while it goes on being tried: a receiver whose first
/// address drops what is sent to it (an IPv6 route that goes nowhere) is
/// reached at the next within `next_after`, not after the time limit. The
/// last failure if none answers; each failure is noted in `connecting` as
/// it comes.
async fn first_to_answer(
    addresses: Vec<SocketAddr>,
    next_after: Duration,
    connecting: &Connecting,
) -> Result<tokio::net::TcpStream, PostError> {
    use futures_util::StreamExt;
    let mut waiting = families_in_turn(addresses).into_iter();
    let mut trying = futures_util::stream::FuturesUnordered::new();
    let mut failure = PostError::failed("the name resolves to no address");
    let mut start_next = true;
    loop {
        if start_next {
            match waiting.next() {
                Some(address) => trying.push(tokio::net::TcpStream::connect(address)),
                None if trying.is_empty() => return Err(failure),
                None => {}
            }
        }
        let more = waiting.len() > 0;
        start_next = tokio::select! {
            Some(done) = trying.next() => match done {
                Ok(tcp) => return Ok(tcp),
                Err(e) => {
                    let cause = NetworkCause::of(&e);
                    connecting.failed(cause.clone());
                    failure = PostError::Failed(cause);
                    true
                }
            },
            () = tokio::time::sleep(next_after), if more => true,
        };
    }
}

/// `addresses` with IPv6 and IPv4 taking turns, from the first one's
/// family on, each family in the order it came in.
fn families_in_turn(addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addresses.first().map(SocketAddr::is_ipv6) else {
        return addresses;
    };
    let (mut same, mut other): (std::collections::VecDeque<_>, std::collections::VecDeque<_>) =
        addresses.into_iter().partition(|a| a.is_ipv6() == first);
    let mut turns = Vec::with_capacity(same.len() + other.len());
    while let Some(a) = same.pop_front() {
        turns.push(a);
        turns.extend(other.pop_front());
    }
    turns.extend(other);
    turns
}

/// How a message failed: before the receiver could have taken it (it may
/// go again over a new connection), or after.
enum Sent {
    Never(PostError),
    Broke(PostError),
}

/// Runs `work` while driving `conn`, to its end; none if the connection
/// ended first (`ended` is then set) and left `work` waiting for what it
/// will never give. What the connection gave before it ended (an answer
/// read whole, a failure) is still `work`'s.
async fn drive<F: Future>(
    conn: &mut Pin<Box<Connection<Stream, Full<Bytes>>>>,
    ended: &mut bool,
    work: F,
) -> Option<F::Output> {
    tokio::pin!(work);
    if !*ended {
        tokio::select! {
            biased;
            out = &mut work => return Some(out),
            _ = conn.as_mut() => *ended = true,
        }
    }
    work.now_or_never()
}

/// TLS as the deliverer speaks it: the machine's certificate authorities,
/// HTTP/1.1 asked for.
fn tls_settings() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A certificate this TLS cannot read is left out, as the system's own tools do.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err("no certificate authority is trusted on this machine".into());
    }
    tls_trusting(roots)
}

/// TLS trusting `roots`, HTTP/1.1 asked for.
fn tls_trusting(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// How the receiver below answers the requests of a connection.
    #[derive(Clone, Copy)]
    enum Answers {
        /// Each with this response, keeping the connection open.
        Each(&'static str),
        /// The first with 204, then closes the connection at the next
        /// request, unanswered (as a receiver closing an idle connection
        /// while a message was on its way).
        FirstOnly,
        /// None, ever.
        Never,
    }

    /// A receiver on this machine: its address, the connections it
    /// accepted and the requests it read, as text.
    struct Receiver {
        address: SocketAddr,
        connections: Arc<AtomicUsize>,
        requests: Arc<Mutex<Vec<String>>>,
    }

    /// One request read whole (headers, then as many bytes as
    /// `content-length` says), or none if the connection closed first.
    async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> Option<String> {
        let mut read = Vec::new();
        let mut chunk = [0_u8; 8192];
        loop {
            if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&read[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if read.len() >= end + 4 + length {
                    return Some(String::from_utf8_lossy(&read).into_owned());
                }
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            read.extend_from_slice(&chunk[..n]);
        }
    }

    async fn receiver(answers: Answers) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (counted, noted) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                let noted = noted.clone();
                tokio::spawn(async move {
                    let mut answered = 0;
                    while let Some(request) = read_request(&mut stream).await {
                        noted.lock().unwrap().push(request);
                        let answer = match answers {
                            Answers::Each(text) => text,
                            Answers::FirstOnly if answered == 0 => {
                                "HTTP/1.1 204 No Content\r\n\r\n"
                            }
                            Answers::FirstOnly => return,
                            Answers::Never => {
                                tokio::time::sleep(Duration::from_secs(60)).await;
                                return;
                            }
                        };
                        stream.write_all(answer.as_bytes()).await.unwrap();
                        answered += 1;
                    }
                });
            }
        });
        Receiver {
            address,
            connections,
            requests,
        }
    }

    fn message(url: &reqwest::Url, n: usize) -> Message<'_> {
        Message {
            url,
            headers: [
                ("content-type", "application/json".to_owned()),
                ("webhook-id", format!("msg_{n}")),
                ("webhook-timestamp", "1764892800".to_owned()),
                ("webhook-signature", "v1,c2lnbmVk".to_owned()),
            ],
            body: Bytes::from(format!(r#"{{"n":{n}}}"#)),
        }
    }

    fn poster(reach: WebhookReach) -> Poster {
        Poster::new(reach, 4, "relais-webhooks/test")
    }

    const LIMIT: Duration = Duration::from_secs(3);

    #[tokio::test]
    async fn messages_arrive_as_sent_over_one_kept_connection() {
        let r = receiver(Answers::Each("HTTP/1.1 204 No Content\r\n\r\n")).await;
        let url = reqwest::Url::parse(&format!("http://{}/hooks/a?team=hr", r.address)).unwrap();
        let poster = poster(WebhookReach::Anywhere);
        for n in 0..5 {
            let answer = poster.post(&message(&url, n), LIMIT).await.unwrap();
            assert_eq!(
                answer,
                Answer {
                    status: 204,
                    retry_after: None
                }
            );
        }
        assert_eq!(
            r.connections.load(Ordering::SeqCst),
            1,
            "one connection carried them all"
        );
        let requests = r.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 5);
        let first = &requests[0];
        for part in [
            "POST /hooks/a?team=hr HTTP/1.1\r\n",
            &format!("host: {}\r\n", r.address),
            "user-agent: relais-webhooks/test\r\n",
            "content-type: application/json\r\n",
            "webhook-id: msg_0\r\n",
            "webhook-timestamp: 1764892800\r\n",
            "webhook-signature: v1,c2lnbmVk\r\n",
            "content-length: 7\r\n",
        ] {
            assert!(first.contains(part), "{part:?} missing from {first:?}");
        }
        assert!(first.ends_with("\r\n\r\n{\"n\":0}"), "{first:?}");
    }

    #[tokio::test]
    async fn a_connection_closed_as_a_message_goes_is_replaced_and_the_message_sent_again() {
        let r = receiver(Answers::FirstOnly).await;
        let url = reqwest::Url::parse(&format!("http://{}/hook", r.address)).unwrap();
        let poster = poster(WebhookReach::Anywhere);
        for n in 0..4 {
            let answer = poster.post(&message(&url, n), LIMIT).await;
            assert_eq!(answer.map(|a| a.status), Ok(204), "message {n}");
        }
        // Each message after the first reached a connection that closed
        // on it, then went again over a new one.
        assert_eq!(r.connections.load(Ordering::SeqCst), 4);
        let ids: Vec<String> = r
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|q| {
                q.lines()
                    .find(|l| l.starts_with("webhook-id"))
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            ids,
            ["msg_0", "msg_1", "msg_1", "msg_2", "msg_2", "msg_3", "msg_3"]
                .map(|id| format!("webhook-id: {id}"))
        );
    }

    #[tokio::test]
    async fn a_receiver_that_closes_every_connection_at_once_fails_without_waiting() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                drop(listener.accept().await.unwrap());
            }
        });
        let url = reqwest::Url::parse(&format!("http://{address}/hook")).unwrap();
        let poster = poster(WebhookReach::Anywhere);
        for n in 0..3 {
            let started = Instant::now();
            let answer = poster.post(&message(&url, n), LIMIT).await;
            assert!(matches!(answer, Err(PostError::Failed(_))), "{answer:?}");
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{:?}",
                started.elapsed()
            );
        }
    }

    #[tokio::test]
    async fn work_left_waiting_by_a_connection_that_ended_ends_with_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { drop(listener.accept().await.unwrap()) });
        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let io: Box<dyn Io> = Box::new(tcp);
        let (_send, conn) = http1::handshake(TokioIo::new(io)).await.unwrap();
        let (mut conn, mut ended) = (Box::pin(conn), false);
        // Work the connection will never finish: it is given up when the
        // connection ends, not waited for.
        let out = tokio::time::timeout(
            Duration::from_secs(2),
            drive(&mut conn, &mut ended, std::future::pending::<()>()),
        )
        .await;
        assert_eq!(out, Ok(None));
        assert!(ended);
    }

    #[tokio::test]
    async fn connections_to_a_receiver_no_longer_posted_to_are_closed() {
        let (a, b) = (
            receiver(Answers::Each("HTTP/1.1 204 No Content\r\n\r\n")).await,
            receiver(Answers::Each("HTTP/1.1 204 No Content\r\n\r\n")).await,
        );
        let url_a = reqwest::Url::parse(&format!("http://{}/hook", a.address)).unwrap();
        let url_b = reqwest::Url::parse(&format!("http://{}/hook", b.address)).unwrap();
        let poster = poster(WebhookReach::Anywhere);
        poster.post(&message(&url_a, 0), LIMIT).await.unwrap();
        let origin_a = Origin::of(&url_a).unwrap();
        {
            // As if A's connection had waited unused since long ago.
            let mut idle = poster.idle.lock().unwrap();
            assert_eq!(idle.links[&origin_a].len(), 1);
            let long_ago = Instant::now() - IDLE_FOR - Duration::from_secs(1);
            idle.links.get_mut(&origin_a).unwrap()[0].idle_since = long_ago;
            idle.swept = Some(long_ago);
        }
        poster.post(&message(&url_b, 0), LIMIT).await.unwrap();
        let idle = poster.idle.lock().unwrap();
        assert!(
            !idle.links.contains_key(&origin_a),
            "A's connection was closed"
        );
        assert_eq!(idle.links[&Origin::of(&url_b).unwrap()].len(), 1);
    }

    #[tokio::test]
    async fn connections_are_closed_when_nothing_more_is_posted() {
        let r = receiver(Answers::Each("HTTP/1.1 204 No Content\r\n\r\n")).await;
        let url = reqwest::Url::parse(&format!("http://{}/hook", r.address)).unwrap();
        let poster = poster(WebhookReach::Anywhere);
        poster.post(&message(&url, 0), LIMIT).await.unwrap();
        let origin = Origin::of(&url).unwrap();
        // Within the idle time, the connection is kept.
        poster.close_unused();
        assert_eq!(poster.idle.lock().unwrap().links[&origin].len(), 1);
        {
            let mut idle = poster.idle.lock().unwrap();
            let long_ago = Instant::now() - IDLE_FOR - Duration::from_secs(1);
            idle.links.get_mut(&origin).unwrap()[0].idle_since = long_ago;
            idle.swept = Some(long_ago);
        }
        // Unused since long ago, it is closed with no post to come.
        poster.close_unused();
        assert!(poster.idle.lock().unwrap().links.is_empty());
    }

    #[tokio::test]
    async fn an_answer_and_its_retry_after_are_read() {
        let r = receiver(Answers::Each(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: 9\r\n\r\nslow down",
        ))
        .await;
        let url = reqwest::Url::parse(&format!("http://{}/hook", r.address)).unwrap();
        let poster = poster(WebhookReach::Anywhere);
        for n in 0..2 {
            let answer = poster.post(&message(&url, n), LIMIT).await.unwrap();
            assert_eq!(
                answer,
                Answer {
                    status: 429,
                    retry_after: Some("7".into())
                }
            );
        }
        // The answer's body was read, so its connection carried the second.
        assert_eq!(r.connections.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_receiver_that_does_not_answer_in_time_gives_no_answer() {
        let r = receiver(Answers::Never).await;
        let url = reqwest::Url::parse(&format!("http://{}/hook", r.address)).unwrap();
        let started = Instant::now();
        let answer = poster(WebhookReach::Anywhere)
            .post(&message(&url, 0), Duration::from_millis(300))
            .await;
        assert_eq!(answer, Err(PostError::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(r.requests.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_echo_is_asked_with_its_query_and_its_answer_read_whole() {
        let r = receiver(Answers::Each(
            "HTTP/1.1 200 OK\r\ncontent-length: 17\r\n\r\n0123456789abcdef\n",
        ))
        .await;
        let url = reqwest::Url::parse(&format!(
            "http://{}/hooks/a?team=hr&echo=0123456789abcdef",
            r.address
        ))
        .unwrap();
        let (answer, body) = poster(WebhookReach::Anywhere)
            .get(&url, LIMIT)
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(&body[..], b"0123456789abcdef\n");
        let requests = r.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 1);
        let asked = &requests[0];
        for part in [
            "GET /hooks/a?team=hr&echo=0123456789abcdef HTTP/1.1\r\n",
            &format!("host: {}\r\n", r.address),
            "user-agent: relais-webhooks/test\r\n",
        ] {
            assert!(asked.contains(part), "{part:?} missing from {asked:?}");
        }
        assert!(!asked.contains("webhook-"), "{asked:?}");
    }

    #[tokio::test]
    async fn a_receiver_never_connected_to_in_time_is_told_apart_from_one_that_did_not_answer() {
        let silent = relais_testkit::net::silent_address().await;
        let url = reqwest::Url::parse(&format!("http://{}/hook", silent.address)).unwrap();
        let started = Instant::now();
        let answer = poster(WebhookReach::Anywhere)
            .post(&message(&url, 0), Duration::from_millis(600))
            .await;
        assert!(started.elapsed() < Duration::from_secs(2));
        match answer {
            Err(PostError::Failed(cause)) => {
                assert_eq!(cause.as_str(), "no connection made within 0.6 s")
            }
            other => panic!("{other:?}"),
        }
        // An address that refused while another went unanswered: the
        // refusal is noted, to be told beside the time that ran out.
        let connecting = Connecting::default();
        let both = first_to_answer(
            vec![closed_address(), silent.address],
            NEXT_ADDRESS_AFTER,
            &connecting,
        );
        assert!(tokio::time::timeout(Duration::from_millis(600), both)
            .await
            .is_err());
        let noted = connecting
            .failure
            .lock()
            .unwrap()
            .clone()
            .expect("the refusal was noted");
        assert!(
            noted.as_str().to_lowercase().contains("refused"),
            "{noted:?}"
        );
    }

    #[tokio::test]
    async fn a_name_for_this_machine_is_not_connected_to_when_only_public_addresses_are() {
        let r = receiver(Answers::Each("HTTP/1.1 204 No Content\r\n\r\n")).await;
        let url =
            reqwest::Url::parse(&format!("http://localhost:{}/hook", r.address.port())).unwrap();
        let answer = poster(WebhookReach::PublicOnly)
            .post(&message(&url, 0), LIMIT)
            .await;
        assert_eq!(
            answer,
            Err(PostError::Failed(NetworkCause::new(
                "localhost resolves to no public address"
            )))
        );
        assert_eq!(r.connections.load(Ordering::SeqCst), 0);
        // Allowed anywhere, the same name is reached.
        let answer = poster(WebhookReach::Anywhere)
            .post(&message(&url, 0), LIMIT)
            .await;
        assert_eq!(answer.map(|a| a.status), Ok(204));
    }

    #[tokio::test]
    async fn a_receiver_that_is_not_listening_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let url = reqwest::Url::parse(&format!("http://{address}/hook")).unwrap();
        match poster(WebhookReach::Anywhere)
            .post(&message(&url, 0), LIMIT)
            .await
        {
            Err(PostError::Failed(cause)) => {
                assert!(
                    cause.as_str().to_lowercase().contains("refused"),
                    "{cause:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    fn closed_address() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }

    #[tokio::test]
    async fn an_address_that_does_not_answer_gives_way_to_the_next_one() {
        let silent = relais_testkit::net::silent_address().await;
        let connecting = Connecting::default();
        // Alone, the silent address is still being tried a second later.
        let alone = first_to_answer(vec![silent.address], NEXT_ADDRESS_AFTER, &connecting);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), alone)
                .await
                .is_err(),
            "the silent address answered"
        );
        // Before a receiver's address, it holds the connection up for the
        // delay between attempts, not for the time limit.
        let r = receiver(Answers::Each("HTTP/1.1 204 No Content\r\n\r\n")).await;
        let started = Instant::now();
        let both = first_to_answer(
            vec![silent.address, r.address],
            NEXT_ADDRESS_AFTER,
            &connecting,
        );
        let tcp = tokio::time::timeout(Duration::from_secs(2), both)
            .await
            .expect("the receiver's address was tried within two seconds")
            .unwrap();
        let took = started.elapsed();
        assert_eq!(tcp.peer_addr().unwrap(), r.address);
        assert!(
            took >= NEXT_ADDRESS_AFTER && took < Duration::from_secs(2),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn an_address_that_refuses_gives_way_to_the_next_one_at_once() {
        let r = receiver(Answers::Each("HTTP/1.1 204 No Content\r\n\r\n")).await;
        let started = Instant::now();
        let tcp = first_to_answer(
            vec![closed_address(), r.address],
            Duration::from_secs(5),
            &Connecting::default(),
        )
        .await
        .unwrap();
        assert_eq!(tcp.peer_addr().unwrap(), r.address);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // When every address refuses, the last refusal is told.
        match first_to_answer(
            vec![closed_address(), closed_address()],
            NEXT_ADDRESS_AFTER,
            &Connecting::default(),
        )
        .await
        {
            Err(PostError::Failed(cause)) => {
                assert!(
                    cause.as_str().to_lowercase().contains("refused"),
                    "{cause:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ipv6_and_ipv4_addresses_take_turns_from_the_first_ones_family() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        let (v6a, v6b, v4a, v4b, v4c) = (
            a("[2001:db8::1]:443"),
            a("[2001:db8::2]:443"),
            a("192.0.2.1:443"),
            a("192.0.2.2:443"),
            a("192.0.2.3:443"),
        );
        assert_eq!(
            families_in_turn(vec![v6a, v6b, v4a, v4b, v4c]),
            vec![v6a, v4a, v6b, v4b, v4c]
        );
        assert_eq!(families_in_turn(vec![v4a, v4b, v6a]), vec![v4a, v6a, v4b]);
        assert_eq!(families_in_turn(vec![v4b, v4a]), vec![v4b, v4a]);
        assert!(families_in_turn(Vec::new()).is_empty());
    }

    /// The test authority and the receiver's certificate (`testdata/webhook-tls`).
    const TEST_AUTHORITY: &str = include_str!("../testdata/webhook-tls/ca.pem");
    const RECEIVER_CERT: &str = include_str!("../testdata/webhook-tls/receiver.pem");
    const RECEIVER_KEY: &str = include_str!("../testdata/webhook-tls/receiver.key");

    /// A receiver over TLS that answers 204 to each request: its port, and
    /// the requests it read.
    async fn tls_receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = vec![CertificateDer::from_pem_slice(RECEIVER_CERT.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(RECEIVER_KEY.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let noted = requests.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let (acceptor, noted) = (acceptor.clone(), noted.clone());
                tokio::spawn(async move {
                    // A client that does not trust it gives up in the handshake.
                    let Ok(mut stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    while let Some(request) = read_request(&mut stream).await {
                        noted.lock().unwrap().push(request);
                        let answer = b"HTTP/1.1 204 No Content\r\n\r\n";
                        stream.write_all(answer).await.unwrap();
                    }
                });
            }
        });
        (port, requests)
    }

    #[tokio::test]
    async fn messages_go_over_tls_to_a_receiver_whose_certificate_is_trusted() {
        use rustls::pki_types::pem::PemObject;
        let (port, heard) = tls_receiver().await;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(
                rustls::pki_types::CertificateDer::from_pem_slice(TEST_AUTHORITY.as_bytes())
                    .unwrap(),
            )
            .unwrap();
        let trusting = poster(WebhookReach::Anywhere);
        trusting.tls.set(tls_trusting(roots)).unwrap();
        for host in ["localhost", "127.0.0.1"] {
            let url = reqwest::Url::parse(&format!("https://{host}:{port}/hook")).unwrap();
            for n in 0..2 {
                let answer = trusting.post(&message(&url, n), LIMIT).await;
                assert_eq!(answer.map(|a| a.status), Ok(204), "{host}, message {n}");
            }
        }
        let requests = heard.lock().unwrap().clone();
        assert_eq!(requests.len(), 4);
        assert!(
            requests[0].starts_with("POST /hook HTTP/1.1\r\n"),
            "{}",
            requests[0]
        );
        assert!(
            requests[3].contains("webhook-id: msg_1\r\n"),
            "{}",
            requests[3]
        );

        // Trusting the machine's authorities alone, the same receiver is refused.
        let url = reqwest::Url::parse(&format!("https://localhost:{port}/hook")).unwrap();
        match poster(WebhookReach::Anywhere)
            .post(&message(&url, 9), LIMIT)
            .await
        {
            Err(PostError::Failed(cause)) => assert!(
                cause.as_str().contains("certificate")
                    || cause.as_str().contains("no certificate authority"),
                "{cause:?}"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(heard.lock().unwrap().len(), 4, "nothing more was read");
    }

    #[tokio::test]
    async fn https_to_a_receiver_that_speaks_plain_http_fails_in_the_handshake() {
        // A plain HTTP server answers what it cannot read with a 400.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let heard = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut hello = [0_u8; 4096];
            let n = stream.read(&mut hello).await.unwrap();
            stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            hello[..n].to_vec()
        });
        let url = reqwest::Url::parse(&format!("https://{address}/hook")).unwrap();
        let answer = poster(WebhookReach::Anywhere)
            .post(&message(&url, 0), LIMIT)
            .await;
        assert!(matches!(answer, Err(PostError::Failed(_))), "{answer:?}");
        let hello = heard.await.unwrap();
        // A TLS handshake record (22), not the message in the clear.
        assert_eq!(hello.first(), Some(&22), "{hello:?}");
        assert!(!String::from_utf8_lossy(&hello).contains("webhook-id"));
    }
}
