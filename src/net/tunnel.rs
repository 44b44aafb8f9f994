//! The HTTP tunnel (docs/network.md, "The HTTP tunnel"): a node behind a NAT asks a public
//! node that allows it (`TunnelServer`, `TunnelAllow` or the trusted nodes) to carry HTTP
//! requests for it; browsers then reach it at `/tun/<PeerId>/...` on the public node, which
//! forwards each request over a libp2p stream of ours (`tunnel_wire.rs`) on the connection
//! the NATed node keeps open to it.
//!
//! - Server side ([`Tunnels::served`]): one entry per tunnelled node, alive while its control
//!   stream is; quotas per node (requests in flight, requests a minute, response bytes an
//!   hour), so the public node is no free proxy; a refusal names the rule and the setting.
//! - Client side ([`Tunnels::opened`]): the public nodes we opened a tunnel on. Request
//!   streams are taken from those peers only; each is served by the node's own routes
//!   (`http::tunnel::serve_stream`) as coming from a stranger's address, never loopback or
//!   the LAN.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::{PeerId, Stream};
use tokio::sync::oneshot;

use super::handle::{Net, read_frame, write_frame};
use super::nat_config::NatSettings;
use super::tunnel_wire::{
    BodyDecoder, Control, MAX_CONTROL, ResponseHead, parse_response_head, request_head,
};
use super::{NetError, leither_id_of};
use crate::{log_debug, log_info};

/// The control protocol (open a tunnel).
pub const OPEN_PROTOCOL: &str = "/leither/tunnel-open/1.0.0";
/// The request protocol (one HTTP request per stream).
pub const HTTP_PROTOCOL: &str = "/leither/tunnel/1.0.0";
/// Largest response carried through a tunnel (it is streamed, never held whole; the hour's
/// byte quota bounds it first).
pub const MAX_RESPONSE: u64 = 4 * 1024 * 1024 * 1024;
/// Largest request body carried through a tunnel.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;
/// How long one tunnelled request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most tunnelled requests a NATed node serves at once (streams beyond are reset).
pub const MAX_SERVING: usize = 32;
/// Most public nodes this node keeps a tunnel on.
pub const MAX_OPENED: usize = 4;

/// A tunnel this node carries for another.
struct Served {
    uuid: String,
    since: Instant,
    generation: u64,
    in_flight: usize,
    minute: (Instant, u32),
    hour: (Instant, u64),
}

/// A tunnel this node opened on a public node.
struct Opened {
    url: String,
    uuid: String,
    generation: u64,
    _close: oneshot::Sender<()>,
}

/// The tunnels of both sides.
#[derive(Default)]
pub struct Tunnels {
    served: HashMap<PeerId, Served>,
    opened: HashMap<PeerId, Opened>,
    serving: usize,
    generation: u64,
}

/// Why a tunnelled request was not carried: the HTTP status and the words.
#[derive(Debug)]
pub struct Refusal {
    /// 404 (no tunnel), 429 (a quota), 502 (the node did not answer well), 504 (too slow).
    pub status: u16,
    /// What happened and what would allow it.
    pub message: String,
}

fn refusal(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// Whether `peer` may open a tunnel here: named in `TunnelAllow` (PeerId or Leither ID), or,
/// with no list, a node this one trusts.
fn allowed(net: &Net, settings: &NatSettings, peer: &PeerId) -> Result<(), String> {
    if !settings.tunnel_server {
        return Err(
            "this node opens no tunnels (TunnelServer is false in its SystemVars.json)".into(),
        );
    }
    let id = leither_id_of(peer).map(|i| i.to_string());
    let named = |list: &[String]| {
        list.iter()
            .any(|a| a == &peer.to_string() || Some(a) == id.as_ref())
    };
    if !settings.tunnel_allow.is_empty() {
        if named(&settings.tunnel_allow) {
            return Ok(());
        }
        return Err(format!(
            "node {} is not in this node's TunnelAllow list",
            id.unwrap_or_else(|| peer.to_string())
        ));
    }
    let trusted: Vec<String> = net
        .state()
        .map(|s| {
            crate::accounts::invites::Invites::new(&s.store)
                .nodes()
                .unwrap_or_default()
                .into_iter()
                .map(|n| n.id)
                .collect()
        })
        .unwrap_or_default();
    if named(&trusted) {
        Ok(())
    } else {
        Err(format!(
            "node {} is not trusted by this node (TunnelAllow is empty: only trusted nodes, AddNode/Accept, may open a tunnel)",
            id.unwrap_or_else(|| peer.to_string())
        ))
    }
}

fn settings(net: &Net) -> NatSettings {
    net.state()
        .map(|s| NatSettings::of(&s.vars.borrow()))
        .unwrap_or_default()
}

/// Takes the tunnel's inbound streams (every node: a public node answers `Open`, a NATed
/// node serves requests from the public nodes it opened a tunnel on), from
/// `bitswap_inbound`'s acceptor, within its bounds; a peer that keeps going over its bound is
/// banned.
pub fn spawn(net: &Net, incoming: tokio::sync::mpsc::UnboundedReceiver<super::Inbound>) {
    super::bitswap_inbound::serve_inbound(
        net,
        incoming,
        "tunnel",
        |net, peer, stream, permit, protocol| {
            if protocol.as_ref() == OPEN_PROTOCOL {
                let net = net.clone();
                tokio::task::spawn_local(async move {
                    serve_open(net, peer, stream).await;
                    drop(permit);
                });
            } else {
                // The request's own task holds it from here, within MAX_SERVING.
                take_request(net, peer, stream);
                drop(permit);
            }
        },
    );
}

/// A request stream from a public node: served only if we opened a tunnel there.
fn take_request(net: &Net, peer: PeerId, stream: Stream) {
    let Some(state) = net.state() else {
        return;
    };
    {
        let mut t = net.inner.tunnels.borrow_mut();
        if !t.opened.contains_key(&peer) {
            log_debug!("tunnel: {peer} sent a request, but we opened no tunnel there: dropped");
            return;
        }
        if t.serving >= MAX_SERVING {
            log_debug!("tunnel: {MAX_SERVING} requests in flight: one from {peer} dropped");
            return;
        }
        t.serving += 1;
    }
    let net = net.clone();
    tokio::task::spawn_local(async move {
        crate::http::tunnel::serve_stream(state, stream).await;
        net.inner.tunnels.borrow_mut().serving -= 1;
    });
}

/// A peer asks to open a tunnel here.
async fn serve_open(net: Net, peer: PeerId, mut stream: Stream) {
    let first = tokio::time::timeout(
        super::handle::STREAM_TIMEOUT,
        read_frame(&mut stream, MAX_CONTROL),
    )
    .await;
    let msg = match first {
        Ok(Ok(Some(bytes))) => match Control::decode(&bytes) {
            Ok(m) => m,
            Err(e) => {
                net.ban(peer, format!("sent junk on {OPEN_PROTOCOL}: {e}"));
                return;
            }
        },
        Ok(Err(e)) => {
            net.ban(peer, format!("sent junk on {OPEN_PROTOCOL}: {e}"));
            return;
        }
        _ => return,
    };
    let Control::Open { uuid } = msg else {
        net.ban(
            peer,
            format!("sent an answer where {OPEN_PROTOCOL} expects Open"),
        );
        return;
    };
    let s = settings(&net);
    let answer = match allowed(&net, &s, &peer) {
        Err(reason) => Err(reason),
        Ok(()) => {
            let mut t = net.inner.tunnels.borrow_mut();
            if !t.served.contains_key(&peer) && t.served.len() >= s.tunnel_max_nodes {
                Err(format!(
                    "this node carries {} tunnels already (TunnelMaxNodes)",
                    s.tunnel_max_nodes
                ))
            } else {
                t.generation += 1;
                let generation = t.generation;
                let now = Instant::now();
                t.served.insert(
                    peer,
                    Served {
                        uuid: uuid.clone(),
                        since: now,
                        generation,
                        in_flight: 0,
                        minute: (now, 0),
                        hour: (now, 0),
                    },
                );
                Ok(generation)
            }
        }
    };
    let port = net
        .state()
        .map(|st| st.vars.borrow().service_port)
        .unwrap_or_default();
    let reply = match &answer {
        Ok(_) => Control::Opened {
            path: format!("/tun/{peer}"),
            http_port: port,
        },
        Err(reason) => Control::Refused {
            reason: reason.clone(),
        },
    };
    if write_frame(&mut stream, &reply.encode()).await.is_err() {
        if let Ok(g) = answer {
            close_served(&net, &peer, g);
        }
        return;
    }
    let Ok(generation) = answer else {
        log_info!("tunnel: refused one for {peer}: {}", reply_text(&reply));
        return;
    };
    log_info!("tunnel: open for {peer} (uuid {uuid:?}) at /tun/{peer}/");
    // The tunnel lives while the stream does; nothing more is expected on it.
    let mut buf = [0u8; 64];
    if let Ok(n) = stream.read(&mut buf).await
        && n > 0
    {
        net.ban(
            peer,
            format!("sent bytes on an open {OPEN_PROTOCOL} stream"),
        );
    }
    close_served(&net, &peer, generation);
}

fn reply_text(c: &Control) -> String {
    match c {
        Control::Refused { reason } => reason.clone(),
        _ => String::new(),
    }
}

fn close_served(net: &Net, peer: &PeerId, generation: u64) {
    let mut t = net.inner.tunnels.borrow_mut();
    if t.served
        .get(peer)
        .is_some_and(|s| s.generation == generation)
    {
        t.served.remove(peer);
        log_info!("tunnel: closed for {peer}");
    }
}

/// The tunnels this node carries: (PeerId, uuid, seconds open).
pub fn served(net: &Net) -> Vec<(PeerId, String, u64)> {
    let t = net.inner.tunnels.borrow();
    let mut v: Vec<_> = t
        .served
        .iter()
        .map(|(p, s)| (*p, s.uuid.clone(), s.since.elapsed().as_secs()))
        .collect();
    v.sort_by_key(|(p, _, _)| p.to_string());
    v
}

/// The tunnelled peer whose Leither ID is `id`, if this node carries a tunnel for it.
pub fn served_peer(net: &Net, id: &crate::pki::LeitherId) -> Option<PeerId> {
    let t = net.inner.tunnels.borrow();
    t.served
        .keys()
        .find(|p| leither_id_of(p).as_ref() == Some(id))
        .copied()
}

/// Whether this node carries a tunnel for `peer`.
pub fn serves(net: &Net, peer: &PeerId) -> bool {
    net.inner.tunnels.borrow().served.contains_key(peer)
}

/// The tunnels this node opened: (public node, URL, uuid).
pub fn opened(net: &Net) -> Vec<(PeerId, String, String)> {
    let t = net.inner.tunnels.borrow();
    t.opened
        .iter()
        .map(|(p, o)| (*p, o.url.clone(), o.uuid.clone()))
        .collect()
}

/// Opens a tunnel on the public node `server`; answers its URL (`http://HOST:PORT/tun/ID`).
pub async fn open(net: &Net, server: PeerId, uuid: &str) -> Result<String, NetError> {
    if let Some(o) = net.inner.tunnels.borrow().opened.get(&server) {
        return Ok(o.url.clone());
    }
    if net.inner.tunnels.borrow().opened.len() >= MAX_OPENED {
        return Err(NetError::Refused(format!(
            "this node has {MAX_OPENED} tunnels open already: CloseTunnel one first"
        )));
    }
    net.connect_peer(server).await?;
    let mut stream = net.open(server, OPEN_PROTOCOL).await?;
    let io = |e: std::io::Error| NetError::Dial {
        addr: server.to_string(),
        reason: e.to_string(),
    };
    write_frame(
        &mut stream,
        &Control::Open {
            uuid: uuid.to_string(),
        }
        .encode(),
    )
    .await
    .map_err(io)?;
    let answer = tokio::time::timeout(
        super::handle::STREAM_TIMEOUT,
        read_frame(&mut stream, MAX_CONTROL),
    )
    .await
    .map_err(|_| NetError::Timeout(format!("{server} did not answer the tunnel request")))?
    .map_err(io)?
    .ok_or_else(|| {
        NetError::Refused(format!(
            "{server} closed the tunnel request (it may not speak {OPEN_PROTOCOL})"
        ))
    })?;
    let (path, port) = match Control::decode(&answer) {
        Ok(Control::Opened { path, http_port }) => (path, http_port),
        Ok(Control::Refused { reason }) => {
            return Err(NetError::Refused(format!(
                "{server} refused the tunnel: {reason}"
            )));
        }
        Ok(Control::Open { .. }) | Err(_) => {
            net.ban(server, format!("answered {OPEN_PROTOCOL} with junk"));
            return Err(NetError::Refused(format!("{server} answered with junk")));
        }
    };
    let host = net
        .inner
        .shared
        .borrow()
        .connected
        .get(&server)
        .and_then(|c| {
            c.iter()
                .filter(|(_, a)| !super::nat::is_relayed(a))
                .find_map(|(_, a)| super::gate::ip_of(a))
        });
    let url = match host {
        Some(std::net::IpAddr::V6(ip)) => format!("http://[{ip}]:{port}{path}"),
        Some(ip) => format!("http://{ip}:{port}{path}"),
        None => path.clone(),
    };
    let (tx, rx) = oneshot::channel::<()>();
    let generation = {
        let mut t = net.inner.tunnels.borrow_mut();
        t.generation += 1;
        let generation = t.generation;
        t.opened.insert(
            server,
            Opened {
                url: url.clone(),
                uuid: uuid.to_string(),
                generation,
                _close: tx,
            },
        );
        generation
    };
    log_info!("tunnel: opened on {server}: browsers reach this node at {url}/");
    // Hold the stream until CloseTunnel (the sender dropped) or the server ends it.
    let held = net.clone();
    tokio::task::spawn_local(async move {
        let mut buf = [0u8; 64];
        tokio::select! {
            _ = rx => {}
            _ = stream.read(&mut buf) => {}
        }
        let _ = stream.close().await;
        // Closed by CloseTunnel (already gone) or by the server: forget it, unless a newer
        // tunnel on the same server took its place.
        let mut t = held.inner.tunnels.borrow_mut();
        if t.opened
            .get(&server)
            .is_some_and(|o| o.generation == generation)
        {
            t.opened.remove(&server);
        }
        drop(t);
        log_info!("tunnel: the one on {server} is closed");
    });
    Ok(url)
}

/// Closes the tunnel on `server`; answers whether there was one.
pub fn close(net: &Net, server: &PeerId) -> bool {
    net.inner
        .tunnels
        .borrow_mut()
        .opened
        .remove(server)
        .is_some()
}

/// Counts one request against `peer`'s quotas, or says which quota refuses it. Answers the
/// hour's byte quota, which the answer's body is charged against as it passes.
fn admit(net: &Net, peer: &PeerId, s: &NatSettings) -> Result<u64, Refusal> {
    let mut t = net.inner.tunnels.borrow_mut();
    let Some(e) = t.served.get_mut(peer) else {
        return Err(refusal(404, format!("no tunnel is open here for {peer}")));
    };
    let now = Instant::now();
    if now.duration_since(e.minute.0) >= Duration::from_secs(60) {
        e.minute = (now, 0);
    }
    if now.duration_since(e.hour.0) >= Duration::from_secs(3600) {
        e.hour = (now, 0);
    }
    if e.in_flight >= s.tunnel_max_concurrent {
        return Err(refusal(
            429,
            format!(
                "tunnel quota: {} requests at once through one tunnel (TunnelMaxConcurrent on the public node)",
                s.tunnel_max_concurrent
            ),
        ));
    }
    if e.minute.1 >= s.tunnel_requests_per_min {
        return Err(refusal(
            429,
            format!(
                "tunnel quota: {} requests a minute through one tunnel (TunnelRequestsPerMin on the public node)",
                s.tunnel_requests_per_min
            ),
        ));
    }
    if e.hour.1 >= s.tunnel_mib_per_hour.saturating_mul(1 << 20) {
        return Err(refusal(
            429,
            format!(
                "tunnel quota: {} MiB an hour through one tunnel (TunnelMiBPerHour on the public node)",
                s.tunnel_mib_per_hour
            ),
        ));
    }
    e.minute.1 += 1;
    e.in_flight += 1;
    Ok(s.tunnel_mib_per_hour.saturating_mul(1 << 20))
}

/// Charges `bytes` of an answer to `peer`'s hour, or refuses them past `quota`.
fn charge(net: &Net, peer: &PeerId, bytes: u64, quota: u64) -> Result<(), String> {
    let mut t = net.inner.tunnels.borrow_mut();
    let Some(e) = t.served.get_mut(peer) else {
        return Err("the tunnel closed mid-answer".into());
    };
    if e.hour.1.saturating_add(bytes) > quota {
        return Err(format!(
            "tunnel quota: {} MiB an hour through one tunnel ran out mid-answer (TunnelMiBPerHour on the public node)",
            quota >> 20
        ));
    }
    e.hour.1 += bytes;
    Ok(())
}

/// One request in flight through a tunnel: given back when dropped, also when the browser
/// goes away and the handler's future is dropped mid-way.
struct InFlight<'a> {
    net: &'a Net,
    peer: PeerId,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(e) = self
            .net
            .inner
            .tunnels
            .borrow_mut()
            .served
            .get_mut(&self.peer)
        {
            e.in_flight = e.in_flight.saturating_sub(1);
        }
    }
}

/// An answer coming back through a tunnel (server side): its head, then its body piece by
/// piece as the tunnelled node sends it ([`TunnelAnswer::next_piece`]), so a large file is
/// never held whole. The request counts against the tunnel's quotas until this is dropped;
/// its body bytes count against the hour's quota as they pass, and the answer is cut where
/// that quota ends.
pub struct TunnelAnswer<'a> {
    /// The status line and headers, and the body's framing.
    pub head: ResponseHead,
    stream: Stream,
    decoder: BodyDecoder,
    /// Bytes read with the head that belong to the body.
    early: Vec<u8>,
    held: InFlight<'a>,
    /// The hour's byte quota of this tunnel.
    quota: u64,
    /// The stream ended.
    ended: bool,
}

impl TunnelAnswer<'_> {
    /// The body's next piece (de-chunked, at most 16 KiB); `Ok(None)` once it is complete. An
    /// error (the stream broke, the framing is wrong, a read stalled for [`REQUEST_TIMEOUT`],
    /// the hour's quota ran out) ends the answer: the browser sees it cut short.
    pub async fn next_piece(&mut self) -> Result<Option<Vec<u8>>, String> {
        let mut out = Vec::new();
        while out.is_empty() {
            if self.decoder.is_done() {
                return Ok(None);
            }
            if !self.early.is_empty() {
                let early = std::mem::take(&mut self.early);
                self.decoder
                    .feed(&early, &mut out)
                    .map_err(|e| e.to_string())?;
                continue;
            }
            if self.ended {
                self.decoder.finish().map_err(|e| e.to_string())?;
                return Ok(None);
            }
            let mut chunk = vec![0u8; PIECE];
            let n = match tokio::time::timeout(REQUEST_TIMEOUT, self.stream.read(&mut chunk)).await
            {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => {
                    return Err(format!(
                        "the tunnelled node sent nothing for {} s",
                        REQUEST_TIMEOUT.as_secs()
                    ));
                }
            };
            if n == 0 {
                self.ended = true;
                continue;
            }
            self.decoder
                .feed(&chunk[..n], &mut out)
                .map_err(|e| e.to_string())?;
        }
        charge(self.held.net, &self.held.peer, out.len() as u64, self.quota)?;
        Ok(Some(out))
    }
}

/// The most body bytes read from a tunnel stream at once.
const PIECE: usize = 16 * 1024;

/// Carries one request to the tunnelled node `peer` and reads its answer's head (server
/// side); the body follows through [`TunnelAnswer::next_piece`].
pub async fn forward<'a>(
    net: &'a Net,
    peer: PeerId,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<TunnelAnswer<'a>, Refusal> {
    let s = settings(net);
    let quota = admit(net, &peer, &s)?;
    let held = InFlight { net, peer };
    let result = tokio::time::timeout(
        REQUEST_TIMEOUT,
        exchange(net, peer, method, target, headers, body),
    )
    .await;
    let (head, stream, early) = match result {
        Ok(r) => r?,
        Err(_) => {
            return Err(refusal(
                504,
                format!(
                    "the tunnelled node did not answer within {} s",
                    REQUEST_TIMEOUT.as_secs()
                ),
            ));
        }
    };
    let decoder = BodyDecoder::new(head.framing, MAX_RESPONSE)
        .map_err(|e| refusal(502, format!("the tunnelled node: {e}")))?;
    Ok(TunnelAnswer {
        head,
        stream,
        decoder,
        early,
        held,
        quota,
        ended: false,
    })
}

/// Sends the request and reads the answer's head: the head, the stream, and the body
/// bytes read along with the head.
async fn exchange(
    net: &Net,
    peer: PeerId,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(ResponseHead, Stream, Vec<u8>), Refusal> {
    let head = request_head(method, target, headers, body.len())
        .map_err(|e| refusal(400, format!("cannot carry this request: {e}")))?;
    let head_request = method.eq_ignore_ascii_case("HEAD");
    let bad_gateway = |e: String| refusal(502, format!("the tunnelled node: {e}"));
    // A stream that closes before any answer (the tunnelled node was at its bound of streams
    // being served, or the connection was changing) is tried again, at most 3 times.
    let mut last = String::new();
    for _ in 0..3 {
        let mut stream = net
            .open(peer, HTTP_PROTOCOL)
            .await
            .map_err(|e| bad_gateway(e.to_string()))?;
        if stream.write_all(&head).await.is_err()
            || stream.write_all(body).await.is_err()
            || stream.flush().await.is_err()
        {
            last = "the stream closed before the request was sent".into();
            continue;
        }
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; PIECE];
        loop {
            let n = match stream.read(&mut chunk).await {
                Ok(n) => n,
                Err(e) if buf.is_empty() => {
                    last = e.to_string();
                    break;
                }
                Err(e) => return Err(bad_gateway(e.to_string())),
            };
            if n == 0 && buf.is_empty() {
                last = "the stream closed with no answer".into();
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            match parse_response_head(&buf, n == 0, head_request) {
                Ok(Some((h, used))) => {
                    let early = buf.split_off(used);
                    return Ok((h, stream, early));
                }
                Ok(None) => {}
                Err(e) => return Err(bad_gateway(e.to_string())),
            }
        }
    }
    Err(bad_gateway(last))
}
