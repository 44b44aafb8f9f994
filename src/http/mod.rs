//! The HTTP port: one task per connection on the node's thread, on `ServicePort`; and, with
//! the `tls` feature, the same routes over TLS on `HttpsPort` ([`tls`]). A connection starts
//! on the hot path ([`fast`]: Lever calls and JSON API calls, read by the node's own codec,
//! [`codec`]) and is handed to picoserve, with what was read, at its first other request.
//!
//! Limits, so a router's memory stays bounded and strangers cannot hold the port: the
//! connection slots of [`crate::limits::slots`] (`HttpMaxConnections` per port,
//! `HttpMaxPerAddress` per client address, `HttpLoopbackReserve` for the owner's loopback, a
//! head timeout, a keep-alive that shrinks as the port fills; idle connections go first), the
//! rate of calls per address ([`crate::ops::rate`], paid in [`routes`] and per API call),
//! request heads up to
//! [`HEAD_LIMIT`] bytes (431 beyond, see [`guard`]), API bodies up to [`MAX_API_BODY`] (413
//! beyond), read and write timeouts on every connection, and the node's memory budget
//! ([`crate::budget`]): a port reserves [`CONNECTION_MEMORY`] for each of its slots when it
//! starts (fewer slots when the budget cannot hold them all: the log says so), and each body
//! a connection reads reserves its size, or gets `503` with the reason. Routes are in [`routes`]. Both ports run the one
//! accept loop ([`serve_on`]); what differs is an [`Acceptor`]: plain TCP as it is, or a TLS
//! handshake first. A handler asks [`is_secure`] and [`peer_addr`] about its connection.

pub mod car_import;
pub mod codec;
pub mod conn;
#[cfg(feature = "files")]
pub mod dnn;
#[cfg(feature = "lever")]
pub mod entry;
pub mod fast;
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
#[cfg(feature = "net")]
pub mod tunnel;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::api::NodeState;
use crate::limits::slots;

/// What one connection reserves from the memory budget: its read buffer (the hot path's, or
/// picoserve's after the hand-over), the write buffer, the head guard and the task (a TLS
/// connection adds [`TLS_MEMORY`]).
pub const CONNECTION_MEMORY: usize = CONNECTION_BUFFER + guard::WRITE_BUFFER + HEAD_LIMIT + 4096;
/// What rustls holds per connection on top (its record buffers).
pub const TLS_MEMORY: usize = 40 * 1024;
/// How often idle and slow connections are looked for.
const SWEEP_EVERY: Duration = Duration::from_millis(500);
/// Largest request line plus headers.
pub const HEAD_LIMIT: usize = 8 * 1024;
/// A connection's read buffer (the hot path's, then picoserve's): a head plus the start of a
/// body.
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
    /// The node's memory budget, and what the body being handled holds of it (see
    /// [`reply::read_body`]; kept until the next body or the end of the connection).
    pub(crate) static BODY: (Rc<crate::budget::Budget>, RefCell<Option<crate::budget::Grant>>);
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
    /// Whether connections of this kind are encrypted (what [`is_secure`] says).
    const SECURE: bool;
    /// Opens the connection: plain TCP as it is, TLS after a handshake; either way a
    /// [`conn::Conn`], the one stream type the routes are compiled for. Runs in the
    /// connection's own task, holding a slot ([`slots`]), so it must be bounded in
    /// time; `None` means the connection was closed (the reason is logged at debug).
    fn open(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> impl Future<Output = Option<conn::Conn>> + 'static;
    /// Tells a connection refused a slot why (`reason`), best effort, without waiting.
    fn refuse(&self, stream: &TcpStream, reason: &str);
}

/// Plain HTTP: the TCP stream as it is.
pub struct Plain;

impl Acceptor for Plain {
    const SECURE: bool = false;

    fn open(
        &self,
        stream: TcpStream,
        _peer: SocketAddr,
    ) -> impl Future<Output = Option<conn::Conn>> + 'static {
        std::future::ready(Some(conn::Conn::Tcp(stream)))
    }

    fn refuse(&self, stream: &TcpStream, reason: &str) {
        let _ = stream.try_write(&reply_503(reason));
    }
}

// The waits for a head are the slots' to decide (HttpHeaderTimeoutSecs, HttpKeepAliveSecs,
// at most 300 s and 3600 s); picoserve's are a backstop above them. picoserve's
// `read_request` bounds a whole request, body included, from its first byte: at 10 s an
// upload that took longer (60 MiB over a home uplink, or a busy node) broke off half way.
// It is now a backstop of an hour; a body that stalls is the guard's to end
// (`guard::BODY_STALL`), and a slow head the slots'.
pub(crate) static CONFIG: picoserve::Config = picoserve::Config::new(picoserve::Timeouts {
    start_read_request: picoserve::time::Duration::from_secs(301),
    persistent_start_read_request: picoserve::time::Duration::from_secs(3601),
    read_request: picoserve::time::Duration::from_secs(3600),
    write: picoserve::time::Duration::from_secs(10),
})
.keep_connection_alive();

/// The answer to a connection refused a slot or memory: `503` with the reason.
fn reply_503(reason: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reason}",
        reason.len()
    )
    .into_bytes()
}

/// Refused connections read their request for this long before they close: closing a
/// socket with unread input sends a reset, and the client would not read the 503.
const LINGER: Duration = Duration::from_secs(1);
/// Most refused connections lingering at once (beyond, they close at once).
const MAX_LINGERING: usize = 16;

/// Closes a refused connection after reading what its client sent (bounded in time, bytes
/// and number), so the client reads the 503 rather than a reset.
fn linger(stream: TcpStream, lingering: &Rc<Cell<usize>>) {
    if lingering.get() >= MAX_LINGERING {
        return;
    }
    lingering.set(lingering.get() + 1);
    let lingering = lingering.clone();
    tokio::task::spawn_local(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = stream;
        let _ = tokio::time::timeout(LINGER, async {
            // FIN after the 503, then read (and drop) what the client sent.
            let _ = stream.shutdown().await;
            let mut buf = [0u8; 1024];
            let mut left = 64 * 1024usize;
            while left > 0 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        })
        .await;
        lingering.set(lingering.get() - 1);
    });
}

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
    let memory = CONNECTION_MEMORY + if A::SECURE { TLS_MEMORY } else { 0 };
    let mut limits = state.vars.borrow().conn.clone();
    let room = state.budget.limit().saturating_sub(state.budget.used()) / 2 / memory;
    if room < limits.max_connections {
        let fit = room.max(limits.loopback_reserve + 1).max(4);
        crate::log_warn!(
            "HttpMaxConnections {} would take more than half of the memory budget for \
             connections; serving {fit} (raise MaxMemoryMB for more)",
            limits.max_connections
        );
        limits.max_connections = fit;
    }
    // The slots' buffers are reserved once, for as long as the port is open.
    let _table = state
        .budget
        .reserve(0, "connection slots")
        .and_then(|mut g| g.grow(limits.max_connections * memory).map(|_| g))
        .ok();
    let slots = slots::Slots::new(limits, slots::Names::HTTP);
    let lingering = Rc::new(Cell::new(0usize));
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = sweep.tick() => {
                let n = slots.sweep(std::time::Instant::now());
                if n > 0 {
                    crate::log_debug!("closed {n} slow or idle connection(s)");
                }
                continue;
            }
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
        let slot = match slots.admit(peer.ip(), std::time::Instant::now()) {
            Ok(s) => s,
            Err(slots::Refused(why)) => {
                acceptor.refuse(&stream, &why);
                crate::log_debug!("connection from {peer} refused: {why}");
                linger(stream, &lingering);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        active.set(active.get() + 1);
        let app = app.clone();
        let active = active.clone();
        let stop = shutdown.clone();
        let opening = acceptor.open(stream, peer);
        let state = state.clone();
        tokio::task::spawn_local(async move {
            let opening = async {
                tokio::select! {
                    s = opening => s,
                    _ = slot.slot.closed() => None,
                }
            };
            let Some(stream) = opening.await else {
                active.set(active.get() - 1);
                return;
            };
            connection(&state, &app, stream, slot.slot.clone(), peer, stop).await;
            active.set(active.get() - 1);
        });
    }
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while active.get() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Serves one opened connection (either port's: the code past the handshake is the same for
/// both, so it is compiled once) until it ends, with the connection's facts in scope.
async fn connection<P: picoserve::routing::PathRouter>(
    state: &Rc<NodeState>,
    app: &picoserve::Router<P>,
    stream: conn::Conn,
    slot: Rc<slots::Slot>,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    let secure = stream.is_tls();
    let stream = guard::GuardedStream::new(stream, HEAD_LIMIT).with_slot(slot);
    let served = SECURE.scope(
        secure,
        crate::api::REMOTE.scope(
            Some(peer),
            REASON.scope(
                RefCell::new(None),
                BODY.scope(
                    (state.budget.clone(), RefCell::new(None)),
                    fast::serve(state, app, stream, stop),
                ),
            ),
        ),
    );
    if let Err(e) = served.await {
        crate::log_debug!("connection from {peer} ended: {e:?}");
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
