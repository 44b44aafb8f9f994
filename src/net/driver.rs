//! The task that owns the swarm: it polls it for events and runs the commands [`super::Net`]
//! sends (dial, DHT queries, filters, bans), answering each on its oneshot channel. Everything
//! else (bitswap, heads, sync) runs in its own tasks on streams from libp2p-stream and never
//! touches the swarm.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use futures::StreamExt;
use libp2p::kad::store::RecordStore;
use libp2p::kad::{self, GetProvidersOk, GetRecordOk, QueryId, QueryResult, Quorum, RecordKey};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, mdns};
use tokio::sync::{mpsc, oneshot};

use super::NetError;
use super::behaviour::{Behaviour, BehaviourEvent};
use super::cidr::Cidr;
use super::handle::Inner;
use crate::{log_debug, log_info, log_warn};

/// A provider found in the DHT: its PeerId and the addresses known for it.
pub type Provider = (PeerId, Vec<Multiaddr>);

/// A record found in the DHT: who sent it (`None`: our own store) and its value.
pub type FoundRecord = (Option<PeerId>, Vec<u8>);

/// What [`super::Net`] asks the driver to do.
pub enum Cmd {
    /// Connect; answered once connected or failed.
    Dial(Multiaddr, oneshot::Sender<Result<PeerId, NetError>>),
    /// Connect to a known peer by its ID (addresses from the book and the DHT).
    DialPeer(PeerId, oneshot::Sender<Result<PeerId, NetError>>),
    /// Close every connection to the peer; answers whether there was one.
    Disconnect(PeerId, oneshot::Sender<bool>),
    /// The addresses of a peer: connected, known, or looked up in the DHT.
    FindPeer(PeerId, oneshot::Sender<Vec<Multiaddr>>),
    /// The providers of a key.
    Providers(RecordKey, oneshot::Sender<Vec<Provider>>),
    /// Announce that this node provides a key; answers how the DHT took it.
    Provide(RecordKey, oneshot::Sender<Result<(), NetError>>),
    /// Stop providing a key.
    Unprovide(RecordKey),
    /// Put a record (kept locally, sent to the closest peers); answers how many took it.
    Put(kad::Record, oneshot::Sender<usize>),
    /// Remove a record from our store.
    Remove(RecordKey),
    /// Every value the DHT has for a key.
    Get(RecordKey, oneshot::Sender<Vec<FoundRecord>>),
    /// The records in our own store whose key starts with the prefix (at most 4096).
    Local(Vec<u8>, oneshot::Sender<Vec<(Vec<u8>, Vec<u8>)>>),
    /// How many peers our routing table holds.
    TableSize(oneshot::Sender<usize>),
    /// The peers our routing table holds (at most 256 buckets of 20).
    Table(oneshot::Sender<Vec<PeerId>>),
    /// A lookup of the peers closest to a peer, with what it cost.
    Closest(PeerId, oneshot::Sender<Lookup>),
    /// Announce an address as reachable from outside (`SetExtAddr`, a port mapping).
    AddExternal(Multiaddr),
    RemoveExternal(Multiaddr),
    /// Ban a peer and close its connections.
    Ban(PeerId, String),
    /// Add (`true`) or remove a filter; answers the list after the change.
    Filter(
        Option<(bool, String)>,
        oneshot::Sender<Result<Vec<String>, NetError>>,
    ),
}

/// What a lookup of the closest peers found and cost (kad's `QueryStats`, both DHTs).
#[derive(Clone, Debug, Default)]
pub struct Lookup {
    /// The closest peers found (at most 20 from each DHT).
    pub peers: Vec<PeerId>,
    /// Requests sent.
    pub requests: u32,
    /// Requests answered.
    pub successes: u32,
    /// Requests failed or timed out.
    pub failures: u32,
}

enum Pending {
    Providers(oneshot::Sender<Vec<Provider>>, HashSet<PeerId>),
    Provide(oneshot::Sender<Result<(), NetError>>),
    Put(oneshot::Sender<usize>),
    Get(oneshot::Sender<Vec<FoundRecord>>, Vec<FoundRecord>),
    FindPeer(PeerId, oneshot::Sender<Vec<Multiaddr>>),
    Closest(oneshot::Sender<Lookup>, Lookup),
    Bootstrap,
}

pub struct Driver {
    swarm: Swarm<Behaviour>,
    rx: mpsc::UnboundedReceiver<Cmd>,
    net: Rc<Inner>,
    queries: HashMap<QueryId, Pending>,
    dials: HashMap<ConnectionId, oneshot::Sender<Result<PeerId, NetError>>>,
    /// Dials to bootstrap peers not settled yet; when all fail, the node says it is alone.
    bootstrap_dials: HashSet<ConnectionId>,
    /// Dials already retried from a fresh local port (see `fresh_port_redial`).
    fresh_port_dials: HashSet<ConnectionId>,
    bootstrap_ok: bool,
    /// Relays, hole punching, AutoNAT (nat.rs).
    nat: super::nat::Nat,
}

impl Driver {
    pub fn new(
        swarm: Swarm<Behaviour>,
        rx: mpsc::UnboundedReceiver<Cmd>,
        net: Rc<Inner>,
        nat: super::nat::Nat,
    ) -> Self {
        Driver {
            nat,
            swarm,
            rx,
            net,
            queries: HashMap::new(),
            dials: HashMap::new(),
            bootstrap_dials: HashSet::new(),
            fresh_port_dials: HashSet::new(),
            bootstrap_ok: false,
        }
    }

    /// Dials the bootstrap peers; with none reachable the node runs standalone and says so.
    pub fn bootstrap(&mut self, addrs: Vec<Multiaddr>) {
        if addrs.is_empty() {
            log_info!(
                "no Bootstrap peers configured: running standalone (mDNS still finds LAN nodes)"
            );
            return;
        }
        for a in addrs {
            if let Some(peer) = peer_of(&a) {
                self.swarm.behaviour_mut().kad.add_address(&peer, a.clone());
            }
            let opts = DialOpts::unknown_peer_id().address(a.clone()).build();
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    self.bootstrap_dials.insert(id);
                }
                Err(e) => log_warn!("bootstrap {a}: {}", dial_reason(&e)),
            }
        }
        if self.bootstrap_dials.is_empty() {
            log_warn!("no Bootstrap peer could be dialled: running standalone");
        }
    }

    /// Runs until the node stops (the task is aborted).
    pub async fn run(mut self) {
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_event(ev),
                cmd = self.rx.recv() => match cmd {
                    Some(c) => self.on_cmd(c),
                    None => return,
                },
            }
        }
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Dial(addr, tx) => {
                // `Disconnected`, not the default that also refuses while another dial to the
                // peer is in flight (mDNS, Kademlia or a sync may be dialling it): a dial
                // someone asked for is made, and answered by its own outcome.
                let opts = match peer_of(&addr) {
                    Some(p) => DialOpts::peer_id(p)
                        .condition(PeerCondition::Disconnected)
                        .addresses(vec![addr.clone()])
                        .build(),
                    None => DialOpts::unknown_peer_id().address(addr.clone()).build(),
                };
                let id = opts.connection_id();
                if let Some(p) = peer_of(&addr)
                    && self.swarm.is_connected(&p)
                {
                    let _ = tx.send(Ok(p));
                    return;
                }
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.dials.insert(id, tx);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(NetError::Dial {
                            addr: addr.to_string(),
                            reason: dial_reason(&e),
                        }));
                    }
                }
            }
            Cmd::DialPeer(peer, tx) => {
                if self.swarm.is_connected(&peer) {
                    let _ = tx.send(Ok(peer));
                    return;
                }
                let addrs = self.net.shared.borrow().book.get(&peer).cloned();
                let opts = DialOpts::peer_id(peer)
                    .condition(PeerCondition::Disconnected)
                    .addresses(addrs.unwrap_or_default())
                    .build();
                let id = opts.connection_id();
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.dials.insert(id, tx);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(NetError::Dial {
                            addr: peer.to_string(),
                            reason: dial_reason(&e),
                        }));
                    }
                }
            }
            Cmd::Disconnect(peer, tx) => {
                let _ = tx.send(self.swarm.disconnect_peer_id(peer).is_ok());
            }
            Cmd::FindPeer(peer, tx) => {
                let known = self.known_addrs(&peer);
                if !known.is_empty() {
                    let _ = tx.send(known);
                    return;
                }
                let q = self.swarm.behaviour_mut().kad.get_closest_peers(peer);
                self.queries.insert(q, Pending::FindPeer(peer, tx));
            }
            Cmd::Providers(key, tx) => {
                let q = self.swarm.behaviour_mut().kad.get_providers(key);
                self.queries
                    .insert(q, Pending::Providers(tx, HashSet::new()));
            }
            Cmd::Provide(key, tx) => match self.swarm.behaviour_mut().kad.start_providing(key) {
                Ok(q) => {
                    self.queries.insert(q, Pending::Provide(tx));
                }
                Err(e) => {
                    let _ = tx.send(Err(NetError::NotFound(format!(
                        "cannot provide: {e:?} (too many provided keys?)"
                    ))));
                }
            },
            Cmd::Unprovide(key) => self.swarm.behaviour_mut().kad.stop_providing(&key),
            Cmd::Put(record, tx) => match self
                .swarm
                .behaviour_mut()
                .kad
                .put_record(record, Quorum::One)
            {
                Ok(q) => {
                    self.queries.insert(q, Pending::Put(tx));
                }
                Err(e) => {
                    log_warn!("cannot keep a DHT record: {e:?}");
                    let _ = tx.send(0);
                }
            },
            Cmd::Remove(key) => self.swarm.behaviour_mut().kad.remove_record(&key),
            Cmd::Get(key, tx) => {
                let q = self.swarm.behaviour_mut().kad.get_record(key);
                self.queries.insert(q, Pending::Get(tx, Vec::new()));
            }
            Cmd::Local(prefix, tx) => {
                let list = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .store_mut()
                    .records()
                    .filter(|r| r.key.as_ref().starts_with(&prefix))
                    .take(4096)
                    .map(|r| (r.key.to_vec(), r.value.clone()))
                    .collect();
                let _ = tx.send(list);
            }
            Cmd::TableSize(tx) => {
                let n = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .kbuckets()
                    .map(|b| b.num_entries())
                    .sum();
                let _ = tx.send(n);
            }
            Cmd::Table(tx) => {
                let list = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .kbuckets()
                    .flat_map(|b| b.iter().map(|e| *e.node.key.preimage()).collect::<Vec<_>>())
                    .collect();
                let _ = tx.send(list);
            }
            Cmd::Closest(peer, tx) => {
                let q = self.swarm.behaviour_mut().kad.get_closest_peers(peer);
                self.queries
                    .insert(q, Pending::Closest(tx, Lookup::default()));
            }
            Cmd::AddExternal(addr) => self.nat.add_external(&self.net, &mut self.swarm, addr),
            Cmd::RemoveExternal(addr) => {
                self.swarm.remove_external_address(&addr);
                self.nat.on_external(&self.net, addr, false);
            }
            Cmd::Ban(peer, why) => {
                log_warn!("banned peer {peer} for an hour: {why}");
                self.swarm.behaviour_mut().gate.ban(peer, why);
                let _ = self.swarm.disconnect_peer_id(peer);
                self.net.shared.borrow_mut().book.remove(&peer);
                self.swarm.behaviour_mut().kad.remove_peer(&peer);
            }
            Cmd::Filter(change, tx) => {
                let gate = &mut self.swarm.behaviour_mut().gate;
                let result = match change {
                    None => Ok(()),
                    Some((add, text)) => text.parse::<Cidr>().and_then(|c| {
                        if add {
                            gate.filters.add(c).map(|_| ())
                        } else {
                            gate.filters.remove(&c)
                        }
                    }),
                };
                let reply = match result {
                    Ok(()) => Ok(gate.filters.list().iter().map(|c| c.to_string()).collect()),
                    Err(e) => Err(NetError::Filter(e.to_string())),
                };
                // Close connections a new filter denies.
                let denied: Vec<PeerId> = self
                    .net
                    .shared
                    .borrow()
                    .connected
                    .iter()
                    .filter(|(_, addrs)| {
                        addrs
                            .iter()
                            .any(|(_, a)| self.swarm.behaviour().gate.denies(a))
                    })
                    .map(|(p, _)| *p)
                    .collect();
                for p in denied {
                    let _ = self.swarm.disconnect_peer_id(p);
                }
                let _ = tx.send(reply);
            }
        }
    }

    /// Addresses we know for a peer: of its open connections, then the book.
    fn known_addrs(&self, peer: &PeerId) -> Vec<Multiaddr> {
        let shared = self.net.shared.borrow();
        let mut out: Vec<Multiaddr> = shared.book.get(peer).cloned().unwrap_or_default();
        if let Some(conns) = shared.connected.get(peer) {
            for a in conns.iter().map(|(_, a)| strip_p2p(a)) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        out
    }

    fn on_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                log_info!(
                    "swarm listening on {}/p2p/{}",
                    strip_p2p(&address),
                    self.swarm.local_peer_id()
                );
                self.nat.on_new_listen(&self.net, &mut self.swarm, &address);
                self.net.shared.borrow_mut().listen.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.net
                    .shared
                    .borrow_mut()
                    .listen
                    .retain(|a| a != &address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                let remote = endpoint.get_remote_address().clone();
                log_debug!("connected to {peer_id} at {remote}");
                {
                    let mut sh = self.net.shared.borrow_mut();
                    sh.connected
                        .entry(peer_id)
                        .or_default()
                        .push((connection_id, remote.clone()));
                    if endpoint.is_dialer() {
                        sh.remember(peer_id, strip_p2p(&remote));
                    }
                }
                if endpoint.is_dialer() {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, strip_p2p(&remote));
                }
                if let Some(tx) = self.dials.remove(&connection_id) {
                    let _ = tx.send(Ok(peer_id));
                }
                if self.bootstrap_dials.remove(&connection_id) && !self.bootstrap_ok {
                    self.bootstrap_ok = true;
                    log_info!("joined the network through bootstrap peer {peer_id}");
                    if let Ok(q) = self.swarm.behaviour_mut().kad.bootstrap() {
                        self.queries.insert(q, Pending::Bootstrap);
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                ..
            } => {
                let mut sh = self.net.shared.borrow_mut();
                if let Some(v) = sh.connected.get_mut(&peer_id) {
                    v.retain(|(c, _)| *c != connection_id);
                    if v.is_empty() {
                        sh.connected.remove(&peer_id);
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                peer_id,
            } => {
                // The TCP transport dials from the listen port (for NATs to see it); when
                // that 4-tuple is still taken (a connection between the same two ports in
                // TIME_WAIT, or both sides dialling at once) Linux says EADDRINUSE, which
                // libp2p-tcp does not retry. A dial someone waits for is retried once from a
                // fresh port.
                if self.dials.contains_key(&connection_id)
                    && !self.fresh_port_dials.remove(&connection_id)
                    && let Some(opts) = fresh_port_redial(&error, peer_id)
                {
                    let id = opts.connection_id();
                    if self.swarm.dial(opts).is_ok()
                        && let Some(tx) = self.dials.remove(&connection_id)
                    {
                        log_debug!("dial: local port taken, retrying from a fresh port");
                        self.dials.insert(id, tx);
                        self.fresh_port_dials.insert(id);
                        return;
                    }
                }
                let reason = dial_reason(&error);
                if let Some(tx) = self.dials.remove(&connection_id) {
                    let _ = tx.send(Err(NetError::Dial {
                        addr: peer_id.map(|p| p.to_string()).unwrap_or_default(),
                        reason: reason.clone(),
                    }));
                }
                if self.bootstrap_dials.remove(&connection_id) {
                    log_warn!("bootstrap peer unreachable: {reason}");
                    if self.bootstrap_dials.is_empty() && !self.bootstrap_ok {
                        log_warn!(
                            "no Bootstrap peer is reachable: running standalone (mDNS still finds LAN nodes; `leither swarm connect` joins by hand)"
                        );
                    }
                }
            }
            SwarmEvent::Behaviour(b) => self.on_behaviour(b),
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                addresses,
            } => {
                let why = match &reason {
                    Ok(()) => "closed".to_string(),
                    Err(e) => e.to_string(),
                };
                self.nat.on_listener_closed(&self.net, listener_id, &why);
                let mut sh = self.net.shared.borrow_mut();
                sh.listen.retain(|a| !addresses.contains(a));
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                self.nat.on_external(&self.net, address, true)
            }
            SwarmEvent::ExternalAddrExpired { address } => {
                self.nat.on_external(&self.net, address, false)
            }
            _ => {}
        }
    }

    fn on_behaviour(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let mut sh = self.net.shared.borrow_mut();
                sh.agents.insert(peer_id, info.agent_version.clone());
                let addrs: Vec<Multiaddr> = info
                    .listen_addrs
                    .iter()
                    .filter(|a| !self.swarm.behaviour().gate.denies(a))
                    .take(16)
                    .map(strip_p2p)
                    .collect();
                for a in &addrs {
                    sh.remember(peer_id, a.clone());
                }
                drop(sh);
                self.nat
                    .on_identify(&mut self.swarm, &self.net, peer_id, &info);
                let kad_proto = libp2p::StreamProtocol::new("/ipfs/kad/1.0.0");
                if info.protocols.contains(&kad_proto) {
                    for a in addrs {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, a);
                    }
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(list)) => {
                for (peer, addr) in list {
                    if peer == *self.swarm.local_peer_id()
                        || self.swarm.behaviour().gate.denies(&addr)
                    {
                        continue;
                    }
                    {
                        let mut sh = self.net.shared.borrow_mut();
                        sh.remember(peer, addr.clone());
                    }
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, addr.clone());
                    if !self.swarm.is_connected(&peer) {
                        log_info!("mDNS: found {peer} at {addr}");
                        let _ = self
                            .swarm
                            .dial(DialOpts::peer_id(peer).addresses(vec![addr]).build());
                    }
                }
            }
            BehaviourEvent::Ping(libp2p::ping::Event {
                peer,
                connection,
                result:
                    Err(e @ (libp2p::ping::Failure::Timeout | libp2p::ping::Failure::Other { .. })),
            }) => {
                // A connection that stops answering pings is closed, so a peer that vanished
                // (a cable pulled, a NAT forgetting us) is not asked for blocks, or sent
                // Lever calls, any more. After a first timeout libp2p-ping opens a new
                // stream, and a vanished peer then fails as `Other` ("ping protocol
                // negotiation timed out"), not `Timeout`: both close. A peer that does not
                // speak ping at all (`Unsupported`) is left alone.
                log_debug!("ping to {peer} failed ({e}): closing that connection");
                self.swarm.close_connection(connection);
            }
            BehaviourEvent::Kad(ev) => self.on_kad(ev),
            BehaviourEvent::RelayClient(ev) => self.nat.on_relay_client(&self.net, ev),
            BehaviourEvent::Dcutr(ev) => self.nat.on_dcutr(&self.net, ev),
            BehaviourEvent::Autonat(ev) => self.nat.on_autonat(&self.net, ev),
            _ => {}
        }
    }

    fn on_kad(&mut self, ev: kad::Event) {
        match ev {
            kad::Event::RoutingUpdated {
                peer, addresses, ..
            } => {
                let mut sh = self.net.shared.borrow_mut();
                for a in addresses.iter().map(strip_p2p) {
                    sh.remember(peer, a);
                }
            }
            kad::Event::InboundRequest { request } => match request {
                kad::InboundRequest::PutRecord {
                    source,
                    record: Some(record),
                    ..
                } => self.inbound_record(source, record),
                kad::InboundRequest::AddProvider {
                    record: Some(record),
                } => {
                    if let Err(e) = self
                        .swarm
                        .behaviour_mut()
                        .kad
                        .store_mut()
                        .add_provider(record)
                    {
                        log_debug!("provider record not kept: {e:?}");
                    }
                }
                _ => {}
            },
            kad::Event::OutboundQueryProgressed {
                id,
                result,
                step,
                stats,
            } => self.on_query(id, result, step.last, &stats),
            _ => {}
        }
    }

    /// A record a peer asks us to keep: heads must verify (and be newer than what we know),
    /// values must verify and respect their namespace (values.rs); other keys are not ours
    /// to keep.
    fn inbound_record(&mut self, source: PeerId, record: kad::Record) {
        let key = record.key.to_vec();
        if key.starts_with(super::values::KEY_PREFIX) {
            let store = self.swarm.behaviour_mut().kad.store_mut();
            let held = store.get(&record.key).map(|r| r.value.clone());
            match super::values::accept(&key, &record.value, held.as_deref()) {
                Ok(()) => {
                    let _ = store.put(record);
                }
                Err(super::values::Refusal::Stale(why)) => {
                    log_debug!("DHT value from {source} not kept: {why}")
                }
                Err(super::values::Refusal::Bad(why)) => {
                    let why = format!("sent a DHT value that failed verification: {why}");
                    self.on_cmd(Cmd::Ban(source, why));
                }
            }
            return;
        }
        if !key.starts_with(crate::mimei::head::DHT_KEY_PREFIX) {
            log_debug!("ignored a DHT record from {source}: not a Leither head");
            return;
        }
        let Some(state) = self.net.state.upgrade() else {
            return;
        };
        match super::heads::accept(&state, &record.value, super::heads::Via::Dht(source)) {
            Ok(outcome) => {
                let _ = self.swarm.behaviour_mut().kad.store_mut().put(record);
                super::sync::on_new_head(&self.net, &state, outcome);
            }
            Err(NetError::Replay(why)) => log_debug!("DHT record from {source} not kept: {why}"),
            Err(e) => {
                let why = format!("sent a head record that failed verification: {e}");
                self.on_cmd(Cmd::Ban(source, why));
            }
        }
    }

    fn on_query(&mut self, id: QueryId, result: QueryResult, last: bool, stats: &kad::QueryStats) {
        let Some(pending) = self.queries.remove(&id) else {
            return;
        };
        let pending = match (pending, result) {
            (Pending::Providers(tx, mut found), QueryResult::GetProviders(r)) => {
                if let Ok(GetProvidersOk::FoundProviders { providers, .. }) = r {
                    found.extend(providers);
                }
                if last {
                    let list = found
                        .into_iter()
                        .map(|p| {
                            let addrs = if p == *self.swarm.local_peer_id() {
                                self.net.shared.borrow().listen.clone()
                            } else {
                                self.known_addrs(&p)
                            };
                            (p, addrs)
                        })
                        .collect();
                    let _ = tx.send(list);
                    return;
                }
                Pending::Providers(tx, found)
            }
            (Pending::Get(tx, mut found), QueryResult::GetRecord(r)) => {
                if let Ok(GetRecordOk::FoundRecord(pr)) = r
                    && found.len() < 64
                {
                    found.push((pr.peer, pr.record.value));
                }
                if last {
                    let _ = tx.send(found);
                    return;
                }
                Pending::Get(tx, found)
            }
            (Pending::Put(tx), QueryResult::PutRecord(r)) => {
                let n = match r {
                    Ok(_) => 1,
                    Err(kad::PutRecordError::QuorumFailed { success, .. }) => success.len(),
                    Err(_) => 0,
                };
                if last {
                    let _ = tx.send(n);
                    return;
                }
                Pending::Put(tx)
            }
            (Pending::Provide(tx), QueryResult::StartProviding(r)) => {
                if last {
                    // No peer to tell is fine: the record is kept locally and answered from
                    // here; peers that join later find it through the periodic re-provide.
                    let _ = r;
                    let _ = tx.send(Ok(()));
                    return;
                }
                Pending::Provide(tx)
            }
            (Pending::FindPeer(peer, tx), QueryResult::GetClosestPeers(r)) => {
                let peers = match r {
                    Ok(ok) => ok.peers,
                    Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                };
                if let Some(info) = peers.into_iter().find(|p| p.peer_id == peer) {
                    let _ = tx.send(info.addrs);
                    return;
                }
                if last {
                    let _ = tx.send(self.known_addrs(&peer));
                    return;
                }
                Pending::FindPeer(peer, tx)
            }
            (Pending::Closest(tx, mut lookup), QueryResult::GetClosestPeers(r)) => {
                // Each DHT reports its own query's stats once, at its end.
                lookup.requests += stats.num_requests();
                lookup.successes += stats.num_successes();
                lookup.failures += stats.num_failures();
                let peers = match r {
                    Ok(ok) => ok.peers,
                    Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                };
                for p in peers {
                    if !lookup.peers.contains(&p.peer_id) && lookup.peers.len() < 64 {
                        lookup.peers.push(p.peer_id);
                    }
                }
                if last {
                    let _ = tx.send(lookup);
                    return;
                }
                Pending::Closest(tx, lookup)
            }
            (Pending::Bootstrap, _) => {
                if last {
                    return;
                }
                Pending::Bootstrap
            }
            (p, _) => p,
        };
        if !last {
            self.queries.insert(id, pending);
        }
    }
}

/// What went wrong in a dial, in words a person can act on (libp2p's own text is often just
/// "Dial error").
/// The same dial from a fresh local port, when `e` failed only because the local address was
/// in use (EADDRINUSE from dialling out of the listen port).
fn fresh_port_redial(e: &libp2p::swarm::DialError, peer: Option<PeerId>) -> Option<DialOpts> {
    let libp2p::swarm::DialError::Transport(errs) = e else {
        return None;
    };
    if !errs.iter().any(|(_, e)| addr_in_use(e, 0)) {
        return None;
    }
    let addrs: Vec<Multiaddr> = errs.iter().map(|(a, _)| a.clone()).collect();
    Some(match peer {
        Some(p) => DialOpts::peer_id(p)
            .addresses(addrs)
            .allocate_new_port()
            .build(),
        None => DialOpts::unknown_peer_id()
            .address(addrs.first()?.clone())
            .allocate_new_port()
            .build(),
    })
}

/// Whether `e`, or an error it wraps, is EADDRINUSE. The transports box their errors into
/// `io::Error`s, whose `source()` skips the boxed error, so the box is opened too.
fn addr_in_use(e: &(dyn std::error::Error + 'static), depth: u8) -> bool {
    if depth > 16 {
        return false;
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::AddrInUse {
            return true;
        }
        if let Some(inner) = io.get_ref()
            && addr_in_use(inner, depth + 1)
        {
            return true;
        }
    }
    e.source().is_some_and(|s| addr_in_use(s, depth + 1))
}

fn dial_reason(e: &libp2p::swarm::DialError) -> String {
    use libp2p::swarm::DialError;
    match e {
        DialError::Denied { cause } => cause
            .downcast_ref::<super::gate::Refused>()
            .map_or_else(|| cause.to_string(), |r| r.0.clone()),
        DialError::Transport(errs) => errs
            .iter()
            .map(|(a, e)| {
                let mut msg = e.to_string();
                let mut src = std::error::Error::source(e);
                while let Some(s) = src {
                    msg = format!("{msg}: {s}");
                    src = s.source();
                }
                format!("{a}: {msg}")
            })
            .collect::<Vec<_>>()
            .join("; "),
        DialError::NoAddresses => {
            "no address is known for it (try `leither dht findpeer` or connect by address)".into()
        }
        DialError::WrongPeerId { obtained, address } => {
            format!("{address} is peer {obtained}, not the one asked for")
        }
        DialError::LocalPeerId { .. } => "that is this node itself".into(),
        other => other.to_string(),
    }
}

/// The PeerId at the end of a multiaddr (`.../p2p/12D3KooW...`).
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last()? {
        libp2p::core::multiaddr::Protocol::P2p(p) => Some(p),
        _ => None,
    }
}

/// The address without its trailing `/p2p/...` (a relay's `/p2p/` inside a circuit address,
/// `.../p2p/RELAY/p2p-circuit/p2p/PEER`, stays).
pub fn strip_p2p(addr: &Multiaddr) -> Multiaddr {
    let mut out = addr.clone();
    while matches!(
        out.iter().last(),
        Some(libp2p::core::multiaddr::Protocol::P2p(_))
    ) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::core::transport::TransportError;
    use std::io::{Error, ErrorKind};

    fn transport_error(e: Error) -> libp2p::swarm::DialError {
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        libp2p::swarm::DialError::Transport(vec![(addr, TransportError::Other(e))])
    }

    #[test]
    fn only_the_trailing_peer_id_is_stripped() {
        let r = PeerId::random();
        let p = PeerId::random();
        let a: Multiaddr = format!("/ip4/1.2.3.4/tcp/1/p2p/{r}/p2p-circuit/p2p/{p}")
            .parse()
            .unwrap();
        let want: Multiaddr = format!("/ip4/1.2.3.4/tcp/1/p2p/{r}/p2p-circuit")
            .parse()
            .unwrap();
        assert_eq!(strip_p2p(&a), want);
        let d: Multiaddr = format!("/ip4/1.2.3.4/tcp/1/p2p/{p}").parse().unwrap();
        assert_eq!(
            strip_p2p(&d),
            "/ip4/1.2.3.4/tcp/1".parse::<Multiaddr>().unwrap()
        );
    }

    #[test]
    fn a_taken_local_port_is_retried_from_a_fresh_one() {
        // As the boxed transports wrap it: an io::Error holding the io::Error.
        let e = transport_error(Error::other(Error::from(ErrorKind::AddrInUse)));
        // (PortUse::New is set by `allocate_new_port`; DialOpts does not show it outside.)
        assert!(fresh_port_redial(&e, Some(PeerId::random())).is_some());
        assert!(
            fresh_port_redial(&transport_error(Error::from(ErrorKind::AddrInUse)), None).is_some()
        );
        // Any other failure is reported, not retried.
        let e = transport_error(Error::from(ErrorKind::ConnectionRefused));
        assert!(fresh_port_redial(&e, None).is_none());
        assert!(fresh_port_redial(&libp2p::swarm::DialError::NoAddresses, None).is_none());
    }
}
