//! Network places on this machine that behave as distant faults do.

use std::net::SocketAddr;
use std::time::Duration;

/// An address that never answers a connection, neither accepting nor
/// refusing it, as a route that goes nowhere or a firewall that drops what
/// comes: a listener whose queue of connections not yet accepted is full,
/// so that the system drops further attempts. Silent while it lives.
pub struct SilentAddress {
    /// Where to connect to, in vain.
    pub address: SocketAddr,
    _listener: tokio::net::TcpListener,
    _queued: Vec<tokio::net::TcpStream>,
}

/// A [`SilentAddress`] on the loopback interface.
pub async fn silent_address() -> SilentAddress {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("a free port");
    let listener = socket.listen(0).expect("a listener");
    let address = listener.local_addr().expect("its address");
    let mut queued = Vec::new();
    loop {
        let attempt = tokio::net::TcpStream::connect(address);
        match tokio::time::timeout(Duration::from_millis(300), attempt).await {
            Ok(Ok(stream)) => queued.push(stream),
            Ok(Err(e)) => panic!("the silent listener refused a connection: {e}"),
            // Unanswered: the queue is full.
            Err(_) => {
                return SilentAddress {
                    address,
                    _listener: listener,
                    _queued: queued,
                }
            }
        }
        assert!(queued.len() < 64, "the listener's queue never filled");
    }
}
