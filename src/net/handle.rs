//! [`Net`]: the handle the API functions, the gateway and the sync engine use. It starts the
//! swarm ([`start`]), keeps what the driver learns (listen addresses, connections, the address
//! book), and turns each request into a [`Cmd`] for the driver, awaiting the answer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::kad::{self, RecordKey};
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol};
use tokio::sync::{mpsc, oneshot};

use super::NetError;
use super::bitswap::Bitswap;
use super::driver::{Cmd, Driver, FoundRecord, Lookup, Provider};
use crate::api::NodeState;
use crate::ipfs::varint;
use crate::{log_error, log_info, log_warn};

/// What the driver learns and the handle reads.
#[derive(Default)]
pub struct Shared {
    /// Our listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Open connections: peer -> (connection, remote address).
    pub connected: HashMap<PeerId, Vec<(ConnectionId, Multiaddr)>>,
    /// Addresses peers listen on (identify, kad, mDNS, our dials), at most 16 each.
    pub book: HashMap<PeerId, Vec<Multiaddr>>,
    /// Agent versions from identify.
    pub agents: HashMap<PeerId, String>,
    /// Reachability: AutoNAT's verdict, external addresses, relays (nat.rs).
    pub nat: super::nat::NatView,
    /// Tells the port mapping task to delete its mappings; it answers when done (nat_map.rs).
    pub unmap: Option<tokio::sync::oneshot::Sender<tokio::sync::oneshot::Sender<()>>>,
}

/// Most peers in the address book, and most addresses kept for one.
const MAX_BOOK_PEERS: usize = 4096;
const MAX_PEER_ADDRS: usize = 16;

impl Shared {
    /// Adds an address (without `/p2p`) to a peer's entry in the book, within the bounds: a
    /// full book takes no new peers (the DHT's own table still knows them).
    pub fn remember(&mut self, peer: PeerId, addr: Multiaddr) {
        if !self.book.contains_key(&peer) && self.book.len() >= MAX_BOOK_PEERS {
            return;
        }
        let list = self.book.entry(peer).or_default();
        if !list.contains(&addr) && list.len() < MAX_PEER_ADDRS {
            list.push(addr);
        }
    }
}

pub struct Inner {
    pub cmd: mpsc::UnboundedSender<Cmd>,
    pub control: libp2p_stream::Control,
    pub shared: RefCell<Shared>,
    pub peer_id: PeerId,
    pub state: Weak<NodeState>,
    pub bitswap: Bitswap,
    pub sync: super::sync::Jobs,
    /// The peers that asked us for a Mimei's head, pushed to with its next version.
    pub subscribers: RefCell<super::subscribers::Subscribers>,
    /// HTTP tunnels, carried for others and opened on public nodes (tunnel.rs).
    pub tunnels: RefCell<super::tunnel::Tunnels>,
    /// Inbound forwarded Lever calls, until Lever takes them ([`Net::take_lever_inbound`]).
    pub lever_in: RefCell<Option<mpsc::UnboundedReceiver<super::bitswap_inbound::Inbound>>>,
}

/// The network, as the rest of the node sees it. Cheap to clone.
#[derive(Clone)]
pub struct Net {
    pub(crate) inner: Rc<Inner>,
}

/// A connected peer.
pub struct PeerInfo {
    /// Its PeerId.
    pub peer: PeerId,
    /// The remote address of its first connection.
    pub addr: Multiaddr,
    /// What identify said it runs, if it said.
    pub agent: Option<String>,
}

/// How long one exchange on a stream may take.
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(15);

/// Starts the swarm on `state`'s settings and spawns its tasks (call inside the node's
/// LocalSet). The node runs without a network, and says why, if this fails.
pub fn start(state: &Rc<NodeState>) -> Result<Net, String> {
    let vars = state.vars.borrow().clone();
    let kp = super::behaviour::keypair(&state.key)?;
    let peer_id = kp.public().to_peer_id();
    let nat = super::nat_config::NatSettings::of(&vars);
    let mut swarm = super::behaviour::build(kp, vars.mdns, &nat)?;
    let ip: std::net::IpAddr = vars
        .listen_addr
        .parse()
        .map_err(|_| format!("ListenAddr \"{}\" is not an IP address", vars.listen_addr))?;
    let proto = if ip.is_ipv4() { "ip4" } else { "ip6" };
    // A node kept to its LAN, or bound to loopback, asks no router for a mapping (and sends
    // no SSDP multicast nor PCP datagram at all).
    let nat_map = ((nat.upnp || nat.nat_pmp) && !vars.lan && !ip.is_loopback()).then_some((
        ip,
        super::nat_map::Methods {
            pcp: nat.nat_pmp,
            upnp: nat.upnp,
        },
    ));
    let listen: Multiaddr = format!("/{proto}/{ip}/tcp/{}", vars.swarm_port)
        .parse()
        .map_err(|e| format!("listen address: {e}"))?;
    swarm.listen_on(listen.clone()).map_err(|e| {
        format!(
            "cannot listen on {listen}: {e} (is SwarmPort {} free?)",
            vars.swarm_port
        )
    })?;
    run(state, swarm, peer_id, &vars, nat, nat_map)
}

/// Starts the swarm over `transport` (made for the node's keypair by `make`) listening on
/// `listen`, with `state`'s other settings and libp2p's `periodic` work on or off: the hook
/// of the scale simulation (`tests/sim/`), where many nodes share one process over an
/// in-process transport (`/memory/N`).
pub fn start_over(
    state: &Rc<NodeState>,
    make: impl FnOnce(&libp2p::identity::Keypair) -> super::behaviour::Upgraded,
    listen: Multiaddr,
    periodic: super::behaviour::Periodic,
) -> Result<Net, String> {
    let vars = state.vars.borrow().clone();
    let kp = super::behaviour::keypair(&state.key)?;
    let peer_id = kp.public().to_peer_id();
    let nat = super::nat_config::NatSettings::of(&vars);
    let transport = make(&kp);
    let mut swarm = super::behaviour::build_over(kp, transport, &nat, periodic)?;
    swarm
        .listen_on(listen.clone())
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    run(state, swarm, peer_id, &vars, nat, None)
}

/// Applies the settings to a listening swarm and spawns the node's network tasks.
fn run(
    state: &Rc<NodeState>,
    mut swarm: libp2p::Swarm<super::behaviour::Behaviour>,
    peer_id: PeerId,
    vars: &crate::config::SystemVars,
    nat: super::nat_config::NatSettings,
    nat_map: Option<(std::net::IpAddr, super::nat_map::Methods)>,
) -> Result<Net, String> {
    let mut fixed = Vec::new();
    // `http(s)://` entries are for DNN pages, not for libp2p.
    for a in vars.fixed_addr.iter().filter(|a| !a.starts_with("http")) {
        match parse_addr(a) {
            Ok(m) => fixed.push(m),
            Err(e) => log_warn!("FixedAddr: {e}"),
        }
    }
    for f in &vars.swarm_filters {
        match f.parse::<super::cidr::Cidr>() {
            Ok(c) => {
                let _ = swarm.behaviour_mut().gate.filters.add(c);
            }
            Err(e) => log_warn!("SwarmFilters: {e}"),
        }
    }
    let control = swarm.behaviour().stream.new_control();
    let bitswap_limits = swarm.behaviour().bitswap_in.limits();
    let bitswap_in = swarm
        .behaviour_mut()
        .bitswap_in
        .take_receiver()
        .ok_or("the bitswap receiver was taken twice")?;
    let lever_in = swarm
        .behaviour_mut()
        .lever_in
        .take_receiver()
        .ok_or("the Lever receiver was taken twice")?;
    let heads_in = swarm
        .behaviour_mut()
        .heads_in
        .take_receiver()
        .ok_or("the heads receiver was taken twice")?;
    let tunnel_in = swarm
        .behaviour_mut()
        .tunnel_in
        .take_receiver()
        .ok_or("the tunnel receiver was taken twice")?;
    let (tx, rx) = mpsc::unbounded_channel();
    let inner = Rc::new(Inner {
        cmd: tx,
        control,
        shared: RefCell::new(Shared::default()),
        peer_id,
        state: Rc::downgrade(state),
        bitswap: Bitswap::default(),
        sync: super::sync::Jobs::default(),
        subscribers: RefCell::new(Default::default()),
        tunnels: RefCell::new(Default::default()),
        lever_in: RefCell::new(Some(lever_in)),
    });
    let mut driver = Driver::new(swarm, rx, inner.clone(), super::nat::Nat::new(nat));
    let mut boot = Vec::new();
    for b in &vars.bootstrap {
        match parse_addr(b) {
            Ok(m) => boot.push(m),
            Err(e) => log_warn!("Bootstrap: {e}"),
        }
    }
    driver.bootstrap(boot);
    let net = Net { inner };
    for m in fixed {
        net.add_external(m);
    }
    tokio::task::spawn_local(driver.run());
    super::bitswap::spawn(&net, bitswap_in, bitswap_limits);
    super::heads::spawn_server(&net, heads_in);
    super::tunnel::spawn(&net, tunnel_in);
    if let Some((ip, methods)) = nat_map {
        super::nat_map::spawn(&net, ip, methods);
    }
    super::sync::spawn_follow(&net);
    super::publish::spawn_republish(&net);
    log_info!("libp2p PeerId {peer_id}");
    Ok(net)
}

/// A multiaddr from a setting or the CLI: `/ip4/...` as is, or `host:port` as
/// `/ip4/host/tcp/port` (or `/dns/host/tcp/port`).
pub fn parse_addr(s: &str) -> Result<Multiaddr, NetError> {
    let bad = |reason: String| NetError::BadAddr {
        input: crate::api::truncate(s, 120),
        reason,
    };
    let s = s.trim();
    if s.starts_with('/') {
        return s
            .parse()
            .map_err(|e: libp2p::multiaddr::Error| bad(e.to_string()));
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| bad("neither a multiaddr nor host:port".into()))?;
    let port: u16 = port
        .parse()
        .map_err(|_| bad("the port is not a number".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let text = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => format!("/ip4/{a}/tcp/{port}"),
        Ok(std::net::IpAddr::V6(a)) => format!("/ip6/{a}/tcp/{port}"),
        Err(_) => format!("/dns/{host}/tcp/{port}"),
    };
    text.parse()
        .map_err(|e: libp2p::multiaddr::Error| bad(e.to_string()))
}

/// A PeerId from its text, or from a 27-character Leither ID (node IDs are the hash160 of the
/// same ed25519 key, so a Leither ID names a PeerId we have met).
pub fn parse_peer(net: &Net, s: &str) -> Result<PeerId, NetError> {
    if let Ok(p) = s.parse::<PeerId>() {
        return Ok(p);
    }
    if let Ok(id) = s.parse::<crate::pki::LeitherId>() {
        let sh = net.inner.shared.borrow();
        let known = sh
            .book
            .keys()
            .chain(sh.connected.keys())
            .chain(std::iter::once(&net.inner.peer_id));
        for p in known {
            if leither_id_of(p).as_ref() == Some(&id) {
                return Ok(*p);
            }
        }
        return Err(NetError::NotFound(format!(
            "no peer with Leither ID {id} is known to this node; use its PeerId (12D3KooW..., from `leither swarm id` on it)"
        )));
    }
    Err(NetError::BadPeer {
        input: crate::api::truncate(s, 80),
    })
}

/// The Leither ID of an ed25519 PeerId.
pub fn leither_id_of(p: &PeerId) -> Option<crate::pki::LeitherId> {
    let pk = crate::pki::parse_peer_id(&p.to_string()).ok()?;
    Some(crate::pki::LeitherId::from_public_key(&pk))
}

impl Net {
    fn send(&self, c: Cmd) -> Result<(), NetError> {
        self.inner.cmd.send(c).map_err(|_| NetError::Off)
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Result<T, NetError> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.await.map_err(|_| NetError::Off)
    }

    /// Our PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.inner.peer_id
    }

    /// Our listen addresses (relay circuits among them), then the external addresses
    /// confirmed (AutoNAT, a port mapping, `FixedAddr`), each with `/p2p/<PeerId>`.
    pub fn local_addrs(&self) -> Vec<String> {
        let me = self.inner.peer_id;
        let sh = self.inner.shared.borrow();
        let mut out: Vec<String> = Vec::new();
        for a in sh.listen.iter().chain(sh.nat.external.iter()) {
            let a = super::driver::strip_p2p(a);
            let t = format!("{a}/p2p/{me}");
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// Asks the router to delete the port mappings made by PCP or NAT-PMP (the node is
    /// stopping), waiting at most `limit`. Nothing to do: returns at once.
    pub async fn release_mappings(&self, limit: Duration) {
        let Some(tx) = self.inner.shared.borrow_mut().unmap.take() else {
            return;
        };
        let (ack, done) = tokio::sync::oneshot::channel();
        if tx.send(ack).is_ok() {
            let _ = tokio::time::timeout(limit, done).await;
        }
    }

    /// What is known about this node's reachability behind a NAT.
    pub fn nat(&self) -> super::nat::NatView {
        self.inner.shared.borrow().nat.clone()
    }

    /// Waits until the swarm reports a listen address (the driver saw `NewListenAddr`), at
    /// most `limit`: its socket is bound in `start`, its address comes as the first event.
    pub async fn wait_listening(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.inner.shared.borrow().listen.is_empty() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// The connected peers.
    pub fn peers(&self) -> Vec<PeerInfo> {
        let sh = self.inner.shared.borrow();
        let mut out: Vec<PeerInfo> = sh
            .connected
            .iter()
            .filter_map(|(p, conns)| {
                conns.first().map(|(_, a)| PeerInfo {
                    peer: *p,
                    addr: super::driver::strip_p2p(a),
                    agent: sh.agents.get(p).cloned(),
                })
            })
            .collect();
        out.sort_by_key(|i| i.peer.to_string());
        out
    }

    /// Whether we have a connection to `peer`.
    pub fn is_connected(&self, peer: &PeerId) -> bool {
        self.inner.shared.borrow().connected.contains_key(peer)
    }

    /// Known addresses: of `peer`, or of every peer in the book.
    pub fn addrs(&self, peer: Option<&PeerId>) -> Vec<(PeerId, Vec<Multiaddr>)> {
        let sh = self.inner.shared.borrow();
        let mut out: Vec<(PeerId, Vec<Multiaddr>)> = match peer {
            Some(p) => sh
                .book
                .get(p)
                .map(|a| vec![(*p, a.clone())])
                .unwrap_or_default(),
            None => sh.book.iter().map(|(p, a)| (*p, a.clone())).collect(),
        };
        out.sort_by_key(|(p, _)| p.to_string());
        out
    }

    /// Connects to an address; returns the peer.
    pub async fn connect(&self, addr: &str) -> Result<PeerId, NetError> {
        let m = parse_addr(addr)?;
        self.ask(|tx| Cmd::Dial(m, tx)).await?
    }

    /// Connects to a peer by ID (addresses from the book, else the DHT).
    pub async fn connect_peer(&self, peer: PeerId) -> Result<PeerId, NetError> {
        if self.is_connected(&peer) {
            return Ok(peer);
        }
        if !self.inner.shared.borrow().book.contains_key(&peer) {
            let _ = self.find_peer(peer).await;
        }
        self.ask(|tx| Cmd::DialPeer(peer, tx)).await?
    }

    /// Closes every connection to `peer`.
    pub async fn disconnect(&self, peer: PeerId) -> Result<bool, NetError> {
        self.ask(|tx| Cmd::Disconnect(peer, tx)).await
    }

    /// The addresses of a peer: known ones, else a DHT lookup.
    pub async fn find_peer(&self, peer: PeerId) -> Result<Vec<Multiaddr>, NetError> {
        if peer == self.inner.peer_id {
            return Ok(self.inner.shared.borrow().listen.clone());
        }
        self.ask(|tx| Cmd::FindPeer(peer, tx)).await
    }

    /// The providers of a DHT key (ourselves included when we provide it).
    pub async fn providers(&self, key: Vec<u8>) -> Result<Vec<Provider>, NetError> {
        self.ask(|tx| Cmd::Providers(RecordKey::new(&key), tx))
            .await
    }

    /// Announces that we provide a DHT key.
    pub async fn provide(&self, key: Vec<u8>) -> Result<(), NetError> {
        self.ask(|tx| Cmd::Provide(RecordKey::new(&key), tx))
            .await?
    }

    /// Stops providing a DHT key.
    pub fn unprovide(&self, key: Vec<u8>) -> Result<(), NetError> {
        self.send(Cmd::Unprovide(RecordKey::new(&key)))
    }

    /// Puts a record; returns how many peers took it (0 alone: it is still answered from here).
    pub async fn put_record(
        &self,
        key: Vec<u8>,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<usize, NetError> {
        let mut r = kad::Record::new(RecordKey::new(&key), value);
        r.expires = Some(std::time::Instant::now() + ttl);
        self.ask(|tx| Cmd::Put(r, tx)).await
    }

    /// Removes a record from our store (others expire it).
    pub fn remove_record(&self, key: Vec<u8>) -> Result<(), NetError> {
        self.send(Cmd::Remove(RecordKey::new(&key)))
    }

    /// Every value found for a key.
    pub async fn get_records(&self, key: Vec<u8>) -> Result<Vec<FoundRecord>, NetError> {
        self.ask(|tx| Cmd::Get(RecordKey::new(&key), tx)).await
    }

    /// The records in our own store whose key starts with `prefix`.
    pub async fn local_records(
        &self,
        prefix: Vec<u8>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, NetError> {
        self.ask(|tx| Cmd::Local(prefix, tx)).await
    }

    /// How many peers our routing table holds.
    pub async fn table_size(&self) -> Result<usize, NetError> {
        self.ask(Cmd::TableSize).await
    }

    /// The peers our routing table holds.
    pub async fn routing_table(&self) -> Result<Vec<PeerId>, NetError> {
        self.ask(Cmd::Table).await
    }

    /// Looks up the peers closest to `peer` in the DHT (even when `peer` is connected), with
    /// the query's cost.
    pub async fn closest_peers(&self, peer: PeerId) -> Result<Lookup, NetError> {
        self.ask(|tx| Cmd::Closest(peer, tx)).await
    }

    /// Announces `addr` as reachable from outside (identify tells peers; `SwarmLocal` shows it).
    pub fn add_external(&self, addr: Multiaddr) {
        let _ = self.send(Cmd::AddExternal(addr));
    }

    /// Withdraws an address announced by [`Net::add_external`] (a port mapping that changed
    /// or lapsed): peers are no longer told it, and `SwarmLocal` no longer shows it.
    pub fn remove_external(&self, addr: Multiaddr) {
        let _ = self.send(Cmd::RemoveExternal(addr));
    }

    /// Bans a peer for an hour and closes its connections.
    pub fn ban(&self, peer: PeerId, why: String) {
        let _ = self.send(Cmd::Ban(peer, why));
    }

    /// Adds (`Some((true, f))`), removes (`Some((false, f))`) or lists (`None`) filters. A
    /// change is kept in SystemVars.json (`SwarmFilters`), so it holds after a restart.
    pub async fn filters(&self, change: Option<(bool, String)>) -> Result<Vec<String>, NetError> {
        let changed = change.is_some();
        let list: Vec<String> = self.ask(|tx| Cmd::Filter(change, tx)).await??;
        if changed && let Some(state) = self.state() {
            let mut vars = state.vars.borrow().clone();
            vars.swarm_filters = list.clone();
            if let Err(e) = crate::config::save(&state.home, &vars) {
                log_warn!("the filter holds until the node stops, but saving it failed: {e}");
            }
            *state.vars.borrow_mut() = vars;
        }
        Ok(list)
    }

    /// Opens a stream of `proto` to `peer` (connecting first if needed).
    pub async fn open(&self, peer: PeerId, proto: &'static str) -> Result<Stream, NetError> {
        let mut control = self.inner.control.clone();
        let proto = StreamProtocol::new(proto);
        let fut = control.open_stream(peer, proto);
        match tokio::time::timeout(STREAM_TIMEOUT, fut).await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(NetError::Dial {
                addr: peer.to_string(),
                reason: e.to_string(),
            }),
            Err(_) => Err(NetError::Timeout(format!(
                "peer {peer} did not open a stream in time"
            ))),
        }
    }

    /// The inbound streams of `/leither/lever/1.0.0`, each with its permit (`None` after the
    /// first call): Lever serves them (lever::remote).
    pub fn take_lever_inbound(
        &self,
    ) -> Option<mpsc::UnboundedReceiver<super::bitswap_inbound::Inbound>> {
        self.inner.lever_in.borrow_mut().take()
    }

    /// The node's state, while it runs.
    pub(crate) fn state(&self) -> Option<Rc<NodeState>> {
        self.inner.state.upgrade()
    }

    /// The bitswap engine.
    pub(crate) fn bitswap(&self) -> &Bitswap {
        &self.inner.bitswap
    }
}

/// Writes one varint-framed message.
pub async fn write_frame<S: futures::AsyncWrite + Unpin>(
    s: &mut S,
    body: &[u8],
) -> std::io::Result<()> {
    // The prefix and the body are written as they are: copying a bitswap answer (up to 2 MiB)
    // behind its prefix cost a large allocation and a pass over its bytes per message.
    let mut prefix = [0u8; varint::MAX_PROTOBUF_LEN];
    s.write_all(varint::encode(body.len() as u64, &mut prefix))
        .await?;
    s.write_all(body).await?;
    s.flush().await
}

/// Reads one varint-framed message of at most `max` bytes; `Ok(None)` at a clean end.
pub async fn read_frame<S: futures::AsyncRead + Unpin>(
    s: &mut S,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut first = true;
    loop {
        let mut b = [0u8; 1];
        match s.read(&mut b).await? {
            0 if first => return Ok(None),
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            _ => {}
        }
        first = false;
        if shift > 56 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "length varint too long",
            ));
        }
        len |= u64::from(b[0] & 0x7f) << shift;
        shift += 7;
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    if len > max as u64 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("message of {len} bytes is over the limit of {max}"),
        ));
    }
    let mut body = vec![0u8; len as usize];
    s.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Logs why the network did not start; the node serves everything else.
pub fn report_start_failure(e: &str) {
    log_error!("the network did not start, the node runs without it: {e}");
}
