//! The HTTP port: picoserve on `ServicePort`, one task per connection on the node's thread;
//! and, with the `tls` feature, the same routes over TLS on `HttpsPort` ([`tls`]).
//!
//! Limits, all fixed here so a router's memory stays bounded: at most [`MAX_CONNECTIONS`]
//! connections per port (more are refused), request heads up to [`HEAD_LIMIT`] bytes
//! (431 beyond, see [`guard`]), API bodies up to [`MAX_API_BODY`] (413 beyond), and read and
//! write timeouts on every connection. Routes are in [`routes`]. Both ports run the one
//! accept loop ([`serve_on`]); what differs is an [`Acceptor`]: plain TCP as it is, or a TLS
//! handshake first. A handler asks [`is_secure`] and [`peer_addr`] about its connection.

pub mod car_import;
#[cfg(feature = "files")]
pub mod dnn;
#[cfg(feature = "lever")]
pub mod entry;
pub mod gateway;
pub mod getvar;
pub mod guard;
pub mod hprose_http;
pub mod ipfs_add;
pub mod json_api;
#[cfg(feature = "lever")]
pub mod lever;
#[cfg(feature = "files")]
pub mod mf;
pub mod mm;
pub mod reply;
pub mod routes;
#[cfg(feature = "tls")]
pub mod tls;
pub mod tpt;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::api::NodeState;

/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Largest request line plus headers.
pub const HEAD_LIMIT: usize = 8 * 1024;
/// picoserve's per-connection buffer: a head plus the start of a body.
pub const CONNECTION_BUFFER: usize = 16 * 1024;
/// Largest body of an API call (Hprose or JSON).
pub const MAX_API_BODY: usize = 1024 * 1024;
/// How long a graceful stop waits for connections to finish.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

tokio::task_local! {
    /// The reason phrase for the response being written on this connection, when a handler
    /// sets one (see `guard::status_line_with_reason`).
    pub(crate) static REASON: RefCell<Option<String>>;
    /// Whether this connection came in over TLS (the HTTPS port).
    pub(crate) static SECURE: bool;
}

/// True when the request being handled came over HTTPS (false outside a connection).
pub fn is_secure() -> bool {
    SECURE.try_with(|s| *s).unwrap_or(false)
}

/// The client's address on the connection being handled (plain or TLS); `None` outside a
/// connection's task (a task spawned from a handler does not inherit it). It is the API's
/// task-local ([`crate::api::remote_addr`]), which API functions read too.
pub fn peer_addr() -> Option<SocketAddr> {
    crate::api::remote_addr()
}

/// The port HTTPS actually listens on (`None`: no HTTPS); see [`NodeState::https_port`].
pub fn https_port(state: &NodeState) -> Option<u16> {
    state.https_port()
}

/// What turns an accepted TCP connection into the byte stream HTTP is served on.
pub trait Acceptor {
    /// The stream picoserve reads and writes.
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    /// Whether connections of this kind are encrypted (what [`is_secure`] says).
    const SECURE: bool;
    /// Opens the connection: plain TCP as it is, TLS after a handshake. Runs in the
    /// connection's own task, counted against [`MAX_CONNECTIONS`], so it must be bounded in
    /// time; `None` means the connection was closed (the reason is logged at debug).
    fn open(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> impl Future<Output = Option<Self::Stream>> + 'static;
    /// Tells a connection over the limit that the port is full, best effort, without waiting.
    fn refuse(&self, stream: &TcpStream);
}

/// Plain HTTP: the TCP stream as it is.
pub struct Plain;

impl Acceptor for Plain {
    type Stream = TcpStream;
    const SECURE: bool = false;

    fn open(
        &self,
        stream: TcpStream,
        _peer: SocketAddr,
    ) -> impl Future<Output = Option<TcpStream>> + 'static {
        std::future::ready(Some(stream))
    }

    fn refuse(&self, stream: &TcpStream) {
        let _ = stream.try_write(REPLY_503);
    }
}

static CONFIG: picoserve::Config = picoserve::Config::new(picoserve::Timeouts {
    start_read_request: picoserve::time::Duration::from_secs(10),
    persistent_start_read_request: picoserve::time::Duration::from_secs(30),
    read_request: picoserve::time::Duration::from_secs(10),
    write: picoserve::time::Duration::from_secs(10),
})
.keep_connection_alive();

const REPLY_503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nContent-Length: 37\r\nConnection: close\r\n\r\ntoo many connections; try again soon";

/// Serves HTTP on `listener` until `shutdown` turns true, then lets open connections finish
/// (up to [`DRAIN_TIMEOUT`]) and returns.
pub async fn serve(listener: TcpListener, state: Rc<NodeState>, shutdown: watch::Receiver<bool>) {
    serve_on(listener, state, shutdown, Plain).await
}

/// The accept loop of both ports: serves the node's routes on `listener`, each connection
/// opened by `acceptor`, until `shutdown` turns true; then lets open connections finish (up
/// to [`DRAIN_TIMEOUT`]) and returns.
pub async fn serve_on<A: Acceptor>(
    listener: TcpListener,
    state: Rc<NodeState>,
    mut shutdown: watch::Receiver<bool>,
    acceptor: A,
) {
    let app = Rc::new(picoserve::Router::from_service(routes::Routes {
        state: state.clone(),
    }));
    let active = Rc::new(Cell::new(0usize));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: wait a little instead of spinning.
                crate::log_warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if active.get() >= MAX_CONNECTIONS {
            acceptor.refuse(&stream);
            crate::log_warn!("connection from {peer} refused: {MAX_CONNECTIONS} connections open");
            continue;
        }
        let _ = stream.set_nodelay(true);
        active.set(active.get() + 1);
        let app = app.clone();
        let active = active.clone();
        let mut stop = shutdown.clone();
        let opening = acceptor.open(stream, peer);
        tokio::task::spawn_local(async move {
            let Some(stream) = opening.await else {
                active.set(active.get() - 1);
                return;
            };
            let mut buffer = vec![0u8; CONNECTION_BUFFER];
            let server = picoserve::Server::new_tokio(&app, &CONFIG, &mut buffer)
                .with_graceful_shutdown(
                    async move {
                        let _ = stop.wait_for(|s| *s).await;
                    },
                    picoserve::time::Duration::from_secs(DRAIN_TIMEOUT.as_secs()),
                );
            let served = SECURE.scope(
                A::SECURE,
                crate::api::REMOTE.scope(
                    Some(peer),
                    REASON.scope(
                        RefCell::new(None),
                        server.serve(guard::GuardedStream::new(stream, HEAD_LIMIT)),
                    ),
                ),
            );
            if let Err(e) = served.await {
                crate::log_debug!("connection from {peer} ended: {e:?}");
            }
            active.set(active.get() - 1);
        });
    }
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while active.get() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_facts_are_scoped_to_the_connection() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let peer: SocketAddr = "192.0.2.7:5555".parse().unwrap();
        rt.block_on(async {
            assert!(!is_secure());
            assert_eq!(peer_addr(), None);
            let inside = SECURE.scope(
                true,
                crate::api::REMOTE.scope(Some(peer), async { (is_secure(), peer_addr()) }),
            );
            assert_eq!(inside.await, (true, Some(peer)));
            assert!(!is_secure());
            assert_eq!(peer_addr(), None);
        });
    }
}
