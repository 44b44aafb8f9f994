//! The HTTP side of the tunnel (docs/network.md, "The HTTP tunnel"; the wire is
//! `net/tunnel_wire.rs`, the tunnels and their quotas `net/tunnel.rs`).
//!
//! - On the public node, [`call`] answers `/tun/<PeerId>/<path>`: it forwards the request
//!   (method, path and query, and only the headers in [`PASSED`]: never `Cookie`, so the
//!   public node's sessions do not leak to the tunnelled node) and writes the answer back
//!   with only the headers in [`RETURNED`] (never `Set-Cookie`: a tunnelled node cannot set
//!   cookies on the public node's origin).
//! - On the node behind the NAT, [`serve_stream`] serves one tunnelled request with the
//!   node's own routes, as coming from [`TUNNEL_PEER`]: an address that is neither loopback
//!   nor on a LAN, so no loopback or LAN rule (the owner's pass from `/getvar?name=ppt`,
//!   registration from loopback, LAN addresses on the DNN page) ever applies to it.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::custom::{CustomBody, CustomResponse};
use picoserve::response::{IntoResponse, ResponseWriter, StatusCode};

use super::reply::{CORS, json_error, read_body, send};
use crate::api::NodeState;
use crate::net::tunnel;
use crate::net::tunnel_wire::Framing;

/// The address a tunnelled request is served as coming from: 192.0.2.1 (TEST-NET-1, RFC
/// 5737), never loopback, never a LAN; its rate limits are shared by every tunnelled caller.
pub const TUNNEL_PEER: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)),
    0,
);

/// Request headers the public node passes through a tunnel.
pub const PASSED: [&str; 8] = [
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "if-modified-since",
    "if-none-match",
    "range",
    "x-requested-with",
];

/// Response headers the public node passes back (`Content-Type` is mapped to a known type).
pub const RETURNED: [&str; 8] = [
    "cache-control",
    "content-disposition",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
    "location",
    "retry-after",
];

/// The content types a tunnelled answer may carry; any other becomes octet-stream.
const TYPES: [&str; 31] = [
    "text/html; charset=utf-8",
    "text/html",
    "text/css; charset=utf-8",
    "text/javascript; charset=utf-8",
    "application/javascript",
    "application/json",
    "application/json; charset=utf-8",
    "application/x-ndjson",
    "text/plain; charset=utf-8",
    "text/plain",
    "application/xml",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/x-icon",
    "application/wasm",
    "application/pdf",
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/wav",
    "font/woff2",
    "application/zip",
    "application/gzip",
    "application/x-tar",
    "application/vnd.ipld.car",
    "application/octet-stream",
    "application/hprose",
    "text/event-stream",
];

fn known_type(t: Option<&str>) -> &'static str {
    let t = t.unwrap_or("").trim();
    TYPES
        .iter()
        .find(|k| k.eq_ignore_ascii_case(t))
        .copied()
        .unwrap_or("application/octet-stream")
}

/// `/tun/<PeerId>/<path>` on the public node.
pub async fn call<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    mut request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let rest = path.strip_prefix("/tun/").unwrap_or("");
    let (peer_text, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(net) = state.net() else {
        let body = json_error("this node runs without its network: no tunnel", "net_off");
        return send(request, writer, 503, "application/json", body).await;
    };
    let Ok(peer) = peer_text.parse::<libp2p::PeerId>() else {
        let body = json_error(
            "/tun/ is followed by the PeerId of a tunnelled node",
            "not_found",
        );
        return send(request, writer, 404, "application/json", body).await;
    };
    let query = super::reply::query(&request.parts);
    let target = if query.is_empty() {
        format!("/{tail}")
    } else {
        format!("/{tail}?{query}")
    };
    let method = request.parts.method().to_string();
    let values: Vec<(&str, String)> = PASSED
        .iter()
        .filter_map(|n| {
            request
                .parts
                .headers()
                .get(n)
                .and_then(|v| v.as_str().ok())
                .map(|v| (*n, v.to_string()))
        })
        .collect();
    let body = match read_body(&mut request, tunnel::MAX_REQUEST_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let body = json_error(&e.message(), "bad_body");
            return send(request, writer, e.status(), "application/json", body).await;
        }
    };
    let headers: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
    match tunnel::forward(net, peer, &method, &target, &headers, &body).await {
        Ok(answer) => {
            let ct = known_type(answer.head.header("content-type"));
            let back: Vec<(&str, String)> = RETURNED
                .iter()
                .filter_map(|n| answer.head.header(n).map(|v| (*n, v.to_string())))
                .collect();
            // The length when it is known: from the framing, or a HEAD answer's header.
            let length = match answer.head.framing {
                Framing::Length(n) => Some(n.to_string()),
                Framing::Empty if method.eq_ignore_ascii_case("HEAD") => answer
                    .head
                    .header("content-length")
                    .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
                    .map(str::to_string),
                _ => None,
            };
            let status = answer.head.status;
            let connection = request.body_connection.finalize().await?;
            // A custom response: picoserve adds `Connection: close`, so a body of unknown
            // length ends with the connection, and one cut short is seen as cut short.
            CustomResponse::build(StatusCode::new(status))
                .with_headers(CORS)
                .with_headers(back.as_slice())
                .with_header("Content-Type", ct)
                .with_headers(length.as_deref().map(|n| ("Content-Length", n)))
                .with_body(Piped { answer, peer })
                .write_to(connection, writer)
                .await
        }
        Err(refusal) => {
            crate::log_debug!("tunnel to {peer}: {} {}", refusal.status, refusal.message);
            super::reply::set_reason(&refusal.message);
            let body = json_error(&refusal.message, "tunnel");
            send(request, writer, refusal.status, "application/json", body).await
        }
    }
}

/// A tunnelled answer's body, passed to the browser piece by piece as it arrives.
struct Piped<'a> {
    answer: tunnel::TunnelAnswer<'a>,
    peer: libp2p::PeerId,
}

impl CustomBody for Piped<'_> {
    async fn write_response_body<W: picoserve::io::Write>(
        mut self,
        mut writer: W,
    ) -> Result<(), W::Error> {
        loop {
            match self.answer.next_piece().await {
                Ok(Some(piece)) => {
                    writer.write_all(&piece).await?;
                    // Streams (NDJSON, server-sent events) flow as they come.
                    writer.flush().await?;
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    crate::log_info!("tunnel to {}: the answer was cut short: {e}", self.peer);
                    return Ok(());
                }
            }
        }
    }
}

/// picoserve's settings for one tunnelled request: no keep-alive (one request per stream).
static CONFIG: picoserve::Config = picoserve::Config::new(picoserve::Timeouts {
    start_read_request: picoserve::time::Duration::from_secs(10),
    persistent_start_read_request: picoserve::time::Duration::from_secs(1),
    read_request: picoserve::time::Duration::from_secs(30),
    write: picoserve::time::Duration::from_secs(10),
});

/// Serves one request that came through a tunnel with the node's routes, as coming from
/// [`TUNNEL_PEER`] (see the module doc).
pub async fn serve_stream(state: Rc<NodeState>, stream: libp2p::Stream) {
    let app = picoserve::Router::from_service(super::routes::Routes {
        state: state.clone(),
    });
    let mut buffer = vec![0u8; super::CONNECTION_BUFFER];
    let server = picoserve::Server::new_tokio(&app, &CONFIG, &mut buffer);
    let served = super::SECURE.scope(
        false,
        crate::api::REMOTE.scope(
            Some(TUNNEL_PEER),
            super::REASON.scope(
                RefCell::new(None),
                super::BODY.scope(
                    (state.budget.clone(), RefCell::new(None)),
                    server.serve(super::guard::GuardedStream::new(
                        super::conn::Conn::Tunnel(Box::new(stream)),
                        super::HEAD_LIMIT,
                    )),
                ),
            ),
        ),
    );
    if let Err(e) = served.await {
        crate::log_debug!("tunnelled request ended: {e:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tunnel_peer_is_neither_loopback_nor_lan() {
        let ip = TUNNEL_PEER.ip();
        assert!(!ip.is_loopback());
        assert!(!crate::net::cidr::is_lan(ip));
        assert_ne!(
            crate::dnn::addr::scope(ip),
            crate::dnn::addr::Scope::Private
        );
    }

    #[test]
    fn unknown_content_types_become_octet_stream() {
        assert_eq!(
            known_type(Some("text/html; charset=utf-8")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            known_type(Some("text/evil\r\nSet-Cookie: a")),
            "application/octet-stream"
        );
        assert_eq!(known_type(None), "application/octet-stream");
        assert!(!PASSED.contains(&"cookie"));
        assert!(!RETURNED.contains(&"set-cookie"));
    }
}
