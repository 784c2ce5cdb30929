//! Serving relais over HTTP/1.1 with the bounds a server open to its
//! network needs. A client has [`ConnectionLimits::header_timeout`] to send
//! each request's head, on a new connection as on one kept alive, and as
//! long again for its body, plus a second for each
//! [`ConnectionLimits::BODY_BYTES_A_SECOND`] it sends, and it must take
//! some of an answer within that time too; and the
//! connections served at once stay under [`ConnectionLimits::max_connections`],
//! which leaves the process the files the database, the partners' and the
//! webhooks' connections need. Without them, connections that never send a
//! request, or send it a byte at a time, would be kept for ever, until the
//! process could accept no connection and open no file at all.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// The metric of the client connections open now (`GET /metrics`).
pub const CONNECTIONS: &str = "relais_http_connections";

/// How long a client may take over a request's head, and how many
/// connections one process serves at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's line and headers, counted
    /// from when the server waits for them: as soon as a connection opens,
    /// and as soon as the answer before is sent on a connection kept alive.
    /// A connection that sends none in time is closed, so this is also how
    /// long an idle connection is kept. A request's body has as long again,
    /// and a second more for each [`Self::BODY_BYTES_A_SECOND`] it sends;
    /// and a client that takes none of an answer for as long is let go.
    pub header_timeout: Duration,
    /// Connections served at once; those beyond wait in the listening
    /// socket's queue until one closes.
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// The time a request's head may take unless configured otherwise.
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
    /// Connections served at once unless configured otherwise (or fewer,
    /// see [`within_open_files`](Self::within_open_files)).
    pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
    /// Files kept for the process's own work beyond its clients'
    /// connections: the database's, the connections it opens to partners,
    /// webhook receivers and its own API.
    pub const RESERVED_FILES: usize = 256;
    /// The fewest connections served at once, whatever the limits.
    pub const FEWEST_CONNECTIONS: usize = 16;
    /// The slowest a request's body may arrive once its first
    /// [`header_timeout`](Self::header_timeout) is spent: each such number of
    /// bytes received gives it a second more.
    pub const BODY_BYTES_A_SECOND: usize = 1024;

    /// These limits with at most `open_files` − [`Self::RESERVED_FILES`]
    /// connections (never fewer than [`Self::FEWEST_CONNECTIONS`]), where
    /// `open_files` is how many files the process may have open (`None`:
    /// unknown, the limits as they are).
    pub fn within_open_files(self, open_files: Option<usize>) -> Self {
        let Some(files) = open_files else {
            return self;
        };
        let room = files
            .saturating_sub(Self::RESERVED_FILES)
            .max(Self::FEWEST_CONNECTIONS);
        Self {
            max_connections: self.max_connections.min(room),
            ..self
        }
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// How many files this process may have open (its soft limit), where the
/// system says (`/proc/self/limits` on Linux).
pub fn open_files_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    open_files_in(&text)
}

/// The soft « Max open files » of a `/proc/<pid>/limits` text (`None` when
/// it is missing or unlimited).
fn open_files_in(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes,
/// then stops accepting, lets each connection finish the request it is
/// answering, and returns once all are closed. Handlers may read the
/// client's address (`ConnectInfo<SocketAddr>`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // A connection reset before it was accepted is the
                    // client's; anything else (no file left) is waited out.
                    if !is_the_clients(&e) {
                        tracing::error!(error = %e, "cannot accept a connection; trying again in a second");
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            () = &mut shutdown => break,
                        }
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let open = Open::new(slot);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut request = request.map(|body| DeadlineBody::new(body, limits.header_timeout));
            request.extensions_mut().insert(ConnectInfo(peer));
            tower::ServiceExt::oneshot(app.clone(), request)
        });
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(
                    TokioIo::new(StallGuard::new(stream, limits.header_timeout)),
                    service,
                );
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "connection closed");
            }
            drop(open);
        });
    }
    let _ = stop.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// A connection served: it holds its slot and counts in
/// [`CONNECTIONS`] until it is dropped, however its task ends.
struct Open {
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Open {
    fn new(slot: tokio::sync::OwnedSemaphorePermit) -> Self {
        metrics::gauge!(CONNECTIONS).increment(1.0);
        Self { _slot: slot }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!(CONNECTIONS).decrement(1.0);
    }
}

/// A request's body that must arrive by a deadline: `grace` from when its
/// head did, a second later for each [`ConnectionLimits::BODY_BYTES_A_SECOND`]
/// received. A client sending it slower, or not at all, gets an error in
/// place of the rest, so that it cannot hold a connection by trickling a
/// body (as it could with a timeout that each byte restarts).
struct DeadlineBody {
    inner: Incoming,
    deadline: tokio::time::Instant,
    /// Armed the first time the body is waited for: a request whose body
    /// is already there (most are, or have none) sets no timer.
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl DeadlineBody {
    fn new(inner: Incoming, grace: Duration) -> Self {
        Self {
            inner,
            deadline: tokio::time::Instant::now() + grace,
            timer: None,
        }
    }
}

impl hyper::body::Body for DeadlineBody {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let earned = data.len() as f64 / ConnectionLimits::BODY_BYTES_A_SECOND as f64;
                    this.deadline += Duration::from_secs_f64(earned);
                    if let Some(timer) = &mut this.timer {
                        timer.as_mut().reset(this.deadline);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => match this
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(this.deadline)))
                .as_mut()
                .poll(cx)
            {
                Poll::Ready(()) => Poll::Ready(Some(Err(
                    "the request's body did not arrive in time".into(),
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection whose answers must be taken: a write that makes no
/// progress for `stall` (the client reads nothing, its window stays shut)
/// fails, and the connection is closed, rather than kept as long as the
/// client likes. Reads are bounded elsewhere (the head's timeout, the body's
/// deadline).
struct StallGuard<S> {
    inner: S,
    stall: Duration,
    /// Armed while a write waits, from when it began to wait.
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<S> StallGuard<S> {
    fn new(inner: S, stall: Duration) -> Self {
        Self {
            inner,
            stall,
            timer: None,
        }
    }

    /// What a write's poll came to: bytes written (`progress`) disarm the
    /// timer, and a flush done does not (a socket's is done at once, stalled
    /// or not); waiting arms it, and fails once it has run out.
    fn watch<T>(
        &mut self,
        polled: std::task::Poll<std::io::Result<T>>,
        progress: bool,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<T>> {
        use std::task::Poll;
        if polled.is_ready() {
            if progress {
                self.timer = None;
            }
            return polled;
        }
        let stall = self.stall;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timer = None;
                Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the client took nothing of its answer in time",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for StallGuard<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for StallGuard<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(polled, true, cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(polled, true, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(polled, false, cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(polled, false, cx)
    }
}

/// Whether an error accepting a connection is about that connection alone.
fn is_the_clients(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_room_for_the_process_own_files() {
        let limits = ConnectionLimits::default();
        assert_eq!(limits.within_open_files(None), limits);
        assert_eq!(
            limits.within_open_files(Some(1024)).max_connections,
            1024 - ConnectionLimits::RESERVED_FILES
        );
        assert_eq!(
            limits.within_open_files(Some(1_048_576)).max_connections,
            ConnectionLimits::DEFAULT_MAX_CONNECTIONS
        );
        assert_eq!(
            limits.within_open_files(Some(100)).max_connections,
            ConnectionLimits::FEWEST_CONNECTIONS
        );
    }

    #[tokio::test]
    async fn a_client_that_takes_nothing_of_its_answer_is_let_go() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (server, mut client) = tokio::io::duplex(1024);
        let mut guarded = StallGuard::new(server, Duration::from_millis(300));
        // Taken as it is written: any amount goes through.
        let reader = tokio::spawn(async move {
            let mut got = vec![0_u8; 64 * 1024];
            client.read_exact(&mut got).await.unwrap();
            client
        });
        guarded.write_all(&[7_u8; 64 * 1024]).await.unwrap();
        let _client = reader.await.unwrap();
        // Then nothing is read: the write waits for the stall, and fails.
        let started = tokio::time::Instant::now();
        let stalled = guarded.write_all(&[7_u8; 64 * 1024]).await.unwrap_err();
        assert_eq!(stalled.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn the_open_files_limit_is_read_from_the_systems_table() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             127573               127573               processes \n\
                    Max open files            20000                524288               files     \n";
        assert_eq!(open_files_in(text), Some(20_000));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(open_files_in(unlimited), None);
        assert_eq!(open_files_in(""), None);
    }
}
