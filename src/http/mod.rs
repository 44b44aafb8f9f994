//! The HTTP port: picoserve on `ServicePort`, one task per connection on the node's thread.
//!
//! Limits, all fixed here so a router's memory stays bounded: at most [`MAX_CONNECTIONS`]
//! connections (more are answered 503 and closed), request heads up to [`HEAD_LIMIT`] bytes
//! (431 beyond, see [`guard`]), API bodies up to [`MAX_API_BODY`] (413 beyond), and read and
//! write timeouts on every connection. Routes are in [`routes`].

pub mod car_import;
#[cfg(feature = "files")]
pub mod dnn;
#[cfg(feature = "lever")]
pub mod entry;
pub mod gateway;
pub mod guard;
pub mod hprose_http;
pub mod ipfs_add;
pub mod json_api;
#[cfg(feature = "lever")]
pub mod lever;
pub mod mm;
pub mod reply;
pub mod routes;
pub mod tpt;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tokio::net::TcpListener;
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
}

static CONFIG: picoserve::Config = picoserve::Config::new(picoserve::Timeouts {
    start_read_request: picoserve::time::Duration::from_secs(10),
    persistent_start_read_request: picoserve::time::Duration::from_secs(30),
    read_request: picoserve::time::Duration::from_secs(10),
    write: picoserve::time::Duration::from_secs(10),
})
.keep_connection_alive();

/// Whether the connection being served is HTTPS.
pub fn is_secure() -> bool {
    false
}

const REPLY_503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nContent-Length: 37\r\nConnection: close\r\n\r\ntoo many connections; try again soon";

/// Serves HTTP on `listener` until `shutdown` turns true, then lets open connections finish
/// (up to [`DRAIN_TIMEOUT`]) and returns.
pub async fn serve(
    listener: TcpListener,
    state: Rc<NodeState>,
    mut shutdown: watch::Receiver<bool>,
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
            let _ = stream.try_write(REPLY_503);
            crate::log_warn!("connection from {peer} refused: {MAX_CONNECTIONS} connections open");
            continue;
        }
        let _ = stream.set_nodelay(true);
        active.set(active.get() + 1);
        let app = app.clone();
        let active = active.clone();
        let mut stop = shutdown.clone();
        tokio::task::spawn_local(async move {
            let mut buffer = vec![0u8; CONNECTION_BUFFER];
            let server = picoserve::Server::new_tokio(&app, &CONFIG, &mut buffer)
                .with_graceful_shutdown(
                    async move {
                        let _ = stop.wait_for(|s| *s).await;
                    },
                    picoserve::time::Duration::from_secs(DRAIN_TIMEOUT.as_secs()),
                );
            let served = crate::api::REMOTE.scope(
                Some(peer),
                REASON.scope(
                    RefCell::new(None),
                    server.serve(guard::GuardedStream::new(stream, HEAD_LIMIT)),
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
