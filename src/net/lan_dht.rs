//! kubo's two DHTs in one behaviour: [`DualKad`] runs the public Kademlia DHT
//! (`/ipfs/kad/1.0.0`) and the LAN one (`/ipfs/lan/kad/1.0.0`) side by side over one record
//! store ([`SharedStore`]), and shows the driver a single `kad::Behaviour`-like face.
//!
//! kubo (go-libp2p-kad-dht's `dual` package) asks its LAN DHT first-hand on a LAN, so a node
//! that answers only `/ipfs/kad/1.0.0` is invisible to kubo nodes that meet it there. The LAN
//! DHT follows kubo's rules:
//!
//! - **Who enters its routing table** (`PrivateRoutingTableFilter`): a peer that speaks the LAN
//!   protocol and has an open connection whose remote address is on a LAN
//!   ([`super::cidr::is_lan`]: RFC 1918, CGNAT, link-local, loopback, IPv6 outside `2000::/3`),
//!   never over a relay. It is entered under its LAN addresses only (from identify, mDNS,
//!   or the address we dialled), loopback ones only when it has no other. A peer met on a
//!   public address never enters, whatever addresses it claims. kubo's two other ways in (a
//!   public address equal to one of ours, a route without gateway in the OS table) are not
//!   followed: the first needs a confirmed external address, the second the OS routing table.
//! - **What it answers**: the same provider records and values as the public DHT, from the one
//!   store, under the same caps (`behaviour.rs`); inbound records from LAN peers go through the
//!   driver's checks like any other (`StoreInserts::FilterBoth`).
//! - **What we ask**: providers, values and peers are asked of both DHTs and the answers
//!   merged under the public query's ID (one `OutboundQueryProgressed` stream, `last` only when
//!   both have ended); provide, put and bootstrap go to both (kubo provides on the LAN only
//!   when its WAN table is empty; providing to both costs nothing when no LAN peer is known).
//!
//! Unlike kubo, the public table is not limited to public peers: our own nodes meet on LANs
//! and on loopback in tests, and share the public DHT there too.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use libp2p::core::ConnectedPoint;
use libp2p::core::multiaddr::Protocol;
use libp2p::kad::store::{self, MemoryStore, RecordStore};
use libp2p::kad::{self, ProviderRecord, QueryId, Record, RecordKey};
use libp2p::swarm::{FromSwarm, NetworkBehaviour, THandler, THandlerInEvent, ToSwarm};
use libp2p::{Multiaddr, PeerId, StreamProtocol};

/// The LAN DHT's protocol (kubo: `dual.LanExtension` on `/ipfs/kad/1.0.0`).
pub const LAN_PROTOCOL: StreamProtocol = StreamProtocol::new("/ipfs/lan/kad/1.0.0");
/// Connected peers whose LAN standing is tracked; more are not considered for the LAN table.
pub const MAX_TRACKED_PEERS: usize = 1024;
/// LAN addresses kept per tracked peer.
pub const MAX_LAN_ADDRS: usize = 8;

/// Whether `addr` starts with an IP address on a LAN, and does not go through a relay.
/// DNS names are not LAN addresses (kubo's `isPrivateAddr` needs an IP).
pub fn is_lan_addr(addr: &Multiaddr) -> bool {
    if addr.iter().any(|p| matches!(p, Protocol::P2pCircuit)) {
        return false;
    }
    match addr.iter().next() {
        Some(Protocol::Ip4(ip)) => super::cidr::is_lan(IpAddr::V4(ip)),
        Some(Protocol::Ip6(ip)) => super::cidr::is_lan(IpAddr::V6(ip)),
        _ => false,
    }
}

fn is_loopback(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(Protocol::Ip4(ip)) => ip.is_loopback(),
        Some(Protocol::Ip6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

fn strip_p2p(addr: &Multiaddr) -> Multiaddr {
    addr.iter()
        .filter(|p| !matches!(p, Protocol::P2p(_)))
        .collect()
}

/// One [`MemoryStore`] behind both DHTs, so the LAN DHT answers from the records we publish
/// and takes no memory of its own. Reads hand out copies: [`RecordStore::records`] copies one
/// record at a time as it is iterated.
#[derive(Clone)]
pub struct SharedStore(Arc<Mutex<MemoryStore>>);

impl SharedStore {
    pub fn new(store: MemoryStore) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    fn lock(&self) -> MutexGuard<'_, MemoryStore> {
        // Nothing panics while holding it; were it poisoned, the store is still consistent
        // (every MemoryStore call completes or does nothing).
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`SharedStore::records`]: the keys at the time of the call, each record copied when reached
/// (a record removed meanwhile is skipped).
pub struct Records<'a> {
    store: &'a SharedStore,
    keys: std::vec::IntoIter<RecordKey>,
}

impl<'a> Iterator for Records<'a> {
    type Item = Cow<'a, Record>;

    fn next(&mut self) -> Option<Self::Item> {
        for k in self.keys.by_ref() {
            if let Some(r) = self.store.lock().get(&k) {
                return Some(Cow::Owned(r.into_owned()));
            }
        }
        None
    }
}

impl RecordStore for SharedStore {
    type RecordsIter<'a> = Records<'a>;
    type ProvidedIter<'a> = std::vec::IntoIter<Cow<'a, ProviderRecord>>;

    fn get(&self, k: &RecordKey) -> Option<Cow<'_, Record>> {
        self.lock().get(k).map(|r| Cow::Owned(r.into_owned()))
    }

    fn put(&mut self, r: Record) -> store::Result<()> {
        self.lock().put(r)
    }

    fn remove(&mut self, k: &RecordKey) {
        self.lock().remove(k)
    }

    fn records(&self) -> Records<'_> {
        let keys: Vec<RecordKey> = self.lock().records().map(|r| r.key.clone()).collect();
        Records {
            store: self,
            keys: keys.into_iter(),
        }
    }

    fn add_provider(&mut self, record: ProviderRecord) -> store::Result<()> {
        self.lock().add_provider(record)
    }

    fn providers(&self, key: &RecordKey) -> Vec<ProviderRecord> {
        self.lock().providers(key)
    }

    fn provided(&self) -> Self::ProvidedIter<'_> {
        let list: Vec<_> = self
            .lock()
            .provided()
            .map(|p| Cow::Owned(p.into_owned()))
            .collect();
        list.into_iter()
    }

    fn remove_provider(&mut self, k: &RecordKey, p: &PeerId) {
        self.lock().remove_provider(k, p)
    }
}

/// The two Kademlia behaviours; the derive combines their connection handlers.
#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
pub struct Pair {
    wan: kad::Behaviour<SharedStore>,
    lan: kad::Behaviour<SharedStore>,
}

/// A query asked of both DHTs, known by the public one's ID.
struct Joint {
    wan_done: bool,
    lan_done: bool,
}

/// What we know of a connected peer, for the LAN table.
#[derive(Default)]
struct Seen {
    /// Open connections whose remote address is on a LAN.
    lan_conns: usize,
    /// Its LAN addresses (listen addresses it told us, or the one we dialled).
    addrs: Vec<Multiaddr>,
    /// It speaks `/ipfs/lan/kad/1.0.0` (the LAN DHT has seen it confirmed on a connection).
    speaks_lan: bool,
}

/// Peers per bucket of the LAN table (the public one keeps kad's K = 20): see [`DualKad::new`].
pub const LAN_BUCKET_SIZE: NonZeroUsize = match NonZeroUsize::new(4) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// The public and the LAN DHT as one behaviour (see the module doc).
pub struct DualKad {
    pair: Pair,
    joint: HashMap<QueryId, Joint>,
    /// LAN query ID -> the public query it is merged into.
    lan_of: HashMap<QueryId, QueryId>,
    seen: HashMap<PeerId, Seen>,
    out: VecDeque<kad::Event>,
}

impl DualKad {
    /// Both DHTs in server mode over `store`, queries bounded by `timeout`, bootstrapping
    /// again every `bootstrap_every` (`None`: only when the driver asks and when the table
    /// runs low); records and provider records from peers are left to the driver to check
    /// and keep.
    pub fn new(
        peer: PeerId,
        store: SharedStore,
        timeout: Duration,
        bootstrap_every: Option<Duration>,
    ) -> Self {
        let config = |proto: StreamProtocol| {
            let mut cfg = kad::Config::new(proto);
            cfg.set_query_timeout(timeout);
            cfg.set_periodic_bootstrap_interval(bootstrap_every);
            cfg.set_record_filtering(kad::StoreInserts::FilterBoth);
            cfg
        };
        let mut wan = kad::Behaviour::with_config(peer, store.clone(), config(kad::PROTOCOL_NAME));
        let mut lan_cfg = config(LAN_PROTOCOL);
        // Peers enter the LAN table only through `admit`.
        lan_cfg.set_kbucket_inserts(kad::BucketInserts::Manual);
        // No periodic copy of every record for the LAN: each such job holds a copy of the
        // store while it runs, and our puts reach LAN peers already (`put_record`), as do our
        // own re-publications (publish.rs). Provider records are still re-announced.
        lan_cfg.set_replication_interval(None);
        lan_cfg.set_publication_interval(None);
        // libp2p-kad allocates all 256 buckets at their full size up front, used or not: at
        // K = 20 one table holds 1.05 MiB of resident memory under musl (each bucket's
        // 6.5 KiB touches its own page), most of an idle node's heap. A LAN has a few nodes,
        // which fall into the top few buckets: buckets of LAN_BUCKET_SIZE hold them (about
        // twice that many peers before the nearest bucket is full) for half the memory.
        lan_cfg.set_kbucket_size(LAN_BUCKET_SIZE);
        let mut lan = kad::Behaviour::with_config(peer, store, lan_cfg);
        // Serve the DHT even before an outside address is confirmed (home nodes behind NAT
        // still answer their LAN and the peers that reach them).
        wan.set_mode(Some(kad::Mode::Server));
        lan.set_mode(Some(kad::Mode::Server));
        DualKad {
            pair: Pair { wan, lan },
            joint: HashMap::new(),
            lan_of: HashMap::new(),
            seen: HashMap::new(),
            out: VecDeque::new(),
        }
    }

    /// Adds a known address of a peer to the public table, and notes it for the LAN table if
    /// it is a LAN address of a connected peer.
    pub fn add_address(&mut self, peer: &PeerId, addr: Multiaddr) -> kad::RoutingUpdate {
        self.note_lan_addr(*peer, &addr);
        self.pair.wan.add_address(peer, addr)
    }

    /// The closest peers to `peer`, asked of both DHTs.
    pub fn get_closest_peers(&mut self, peer: PeerId) -> QueryId {
        let wan = self.pair.wan.get_closest_peers(peer);
        let lan = self.pair.lan.get_closest_peers(peer);
        self.join(wan, lan)
    }

    /// The providers of `key`, asked of both DHTs and merged.
    pub fn get_providers(&mut self, key: RecordKey) -> QueryId {
        let wan = self.pair.wan.get_providers(key.clone());
        let lan = self.pair.lan.get_providers(key);
        self.join(wan, lan)
    }

    /// The values of `key`, asked of both DHTs.
    pub fn get_record(&mut self, key: RecordKey) -> QueryId {
        let wan = self.pair.wan.get_record(key.clone());
        let lan = self.pair.lan.get_record(key);
        self.join(wan, lan)
    }

    /// Provides `key` on both DHTs (one record in the shared store); the ID follows the public
    /// announcement.
    pub fn start_providing(&mut self, key: RecordKey) -> Result<QueryId, store::Error> {
        let id = self.pair.wan.start_providing(key.clone())?;
        // The record is in the store already; this only tells the LAN peers.
        let _ = self.pair.lan.start_providing(key);
        Ok(id)
    }

    /// Stops providing `key` (the shared store forgets it for both).
    pub fn stop_providing(&mut self, key: &RecordKey) {
        self.pair.wan.stop_providing(key)
    }

    /// Keeps `record` and sends it to the closest peers of both DHTs; the ID follows the
    /// public put.
    pub fn put_record(
        &mut self,
        record: Record,
        quorum: kad::Quorum,
    ) -> Result<QueryId, store::Error> {
        let id = self.pair.wan.put_record(record.clone(), quorum)?;
        let _ = self.pair.lan.put_record(record, quorum);
        Ok(id)
    }

    /// Removes our own record of `key` from the shared store.
    pub fn remove_record(&mut self, key: &RecordKey) {
        self.pair.wan.remove_record(key)
    }

    /// The shared record store.
    pub fn store_mut(&mut self) -> &mut SharedStore {
        self.pair.wan.store_mut()
    }

    /// The public DHT's non-empty buckets.
    pub fn kbuckets(
        &mut self,
    ) -> impl Iterator<Item = kad::KBucketRef<'_, kad::KBucketKey<PeerId>, kad::Addresses>> {
        self.pair.wan.kbuckets()
    }

    /// How many peers the LAN table holds.
    #[cfg(test)]
    pub fn lan_table_size(&mut self) -> usize {
        self.pair.lan.kbuckets().map(|b| b.num_entries()).sum()
    }

    /// Whether `peer` is in the LAN table, and under which addresses (without `/p2p/`).
    #[cfg(test)]
    pub fn lan_entry(&mut self, peer: &PeerId) -> Option<Vec<Multiaddr>> {
        let key = kad::KBucketKey::from(*peer);
        for b in self.pair.lan.kbuckets() {
            for e in b.iter() {
                if *e.node.key.preimage() == *key.preimage() {
                    return Some(e.node.value.iter().map(strip_p2p).collect());
                }
            }
        }
        None
    }

    /// Drops `peer` from both tables.
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.pair.wan.remove_peer(peer);
        self.pair.lan.remove_peer(peer);
        self.seen.remove(peer);
    }

    /// Bootstraps both DHTs; the ID follows the public one.
    pub fn bootstrap(&mut self) -> Result<QueryId, kad::NoKnownPeers> {
        let id = self.pair.wan.bootstrap()?;
        let _ = self.pair.lan.bootstrap();
        Ok(id)
    }

    fn join(&mut self, wan: QueryId, lan: QueryId) -> QueryId {
        self.joint.insert(
            wan,
            Joint {
                wan_done: false,
                lan_done: false,
            },
        );
        self.lan_of.insert(lan, wan);
        wan
    }

    /// Notes a LAN address of a connected peer (others are not ours to track).
    fn note_lan_addr(&mut self, peer: PeerId, addr: &Multiaddr) {
        if !is_lan_addr(addr) {
            return;
        }
        let Some(s) = self.seen.get_mut(&peer) else {
            return;
        };
        let addr = strip_p2p(addr);
        if s.addrs.contains(&addr) || s.addrs.len() >= MAX_LAN_ADDRS {
            return;
        }
        s.addrs.push(addr);
        self.admit(peer);
    }

    /// Puts `peer` in the LAN table if kubo's rule lets it in (see the module doc).
    fn admit(&mut self, peer: PeerId) {
        let Some(s) = self.seen.get(&peer) else {
            return;
        };
        if !s.speaks_lan || s.lan_conns == 0 {
            return;
        }
        let outside: Vec<Multiaddr> = s
            .addrs
            .iter()
            .filter(|a| !is_loopback(a))
            .cloned()
            .collect();
        let addrs = if outside.is_empty() {
            s.addrs.clone()
        } else {
            outside
        };
        for a in addrs {
            let _ = self.pair.lan.add_address(&peer, a);
        }
    }

    fn on_connection(&mut self, peer: PeerId, endpoint: &ConnectedPoint, up: bool) {
        let remote = endpoint.get_remote_address();
        if up {
            if !self.seen.contains_key(&peer) && self.seen.len() >= MAX_TRACKED_PEERS {
                return;
            }
            let s = self.seen.entry(peer).or_default();
            if is_lan_addr(remote) {
                s.lan_conns += 1;
            }
            if endpoint.is_dialer() {
                // The address we reached it at is one it listens on.
                self.note_lan_addr(peer, remote);
            }
            self.admit(peer);
        } else if let Some(s) = self.seen.get_mut(&peer)
            && is_lan_addr(remote)
        {
            s.lan_conns = s.lan_conns.saturating_sub(1);
        }
    }

    fn on_pair_event(&mut self, ev: PairEvent) {
        match ev {
            PairEvent::Wan(kad::Event::OutboundQueryProgressed {
                id,
                result,
                stats,
                mut step,
            }) => {
                if step.last
                    && let Some(j) = self.joint.get_mut(&id)
                {
                    j.wan_done = true;
                    if j.lan_done {
                        self.joint.remove(&id);
                    } else {
                        step.last = false;
                    }
                }
                self.out.push_back(kad::Event::OutboundQueryProgressed {
                    id,
                    result,
                    stats,
                    step,
                });
            }
            PairEvent::Wan(e) => self.out.push_back(e),
            PairEvent::Lan(kad::Event::OutboundQueryProgressed {
                id,
                result,
                stats,
                mut step,
            }) => {
                // The LAN's own bootstraps, re-provides and puts end here unseen.
                let Some(wan) = self.lan_of.get(&id).copied() else {
                    return;
                };
                if step.last {
                    self.lan_of.remove(&id);
                    if let Some(j) = self.joint.get_mut(&wan) {
                        j.lan_done = true;
                        if j.wan_done {
                            self.joint.remove(&wan);
                        } else {
                            step.last = false;
                        }
                    }
                }
                self.out.push_back(kad::Event::OutboundQueryProgressed {
                    id: wan,
                    result,
                    stats,
                    step,
                });
            }
            PairEvent::Lan(
                kad::Event::RoutablePeer { peer, address }
                | kad::Event::PendingRoutablePeer { peer, address },
            ) => self.lan_speaker(peer, Some(address)),
            PairEvent::Lan(kad::Event::UnroutablePeer { peer }) => self.lan_speaker(peer, None),
            // Records and provider records LAN peers send go through the driver's checks into
            // the shared store; new LAN routes are remembered in the address book.
            PairEvent::Lan(e @ kad::Event::InboundRequest { .. })
            | PairEvent::Lan(e @ kad::Event::RoutingUpdated { .. }) => self.out.push_back(e),
            PairEvent::Lan(_) => {}
        }
    }

    /// The LAN DHT saw `peer` speak its protocol (`dialled`: the address we reached it at).
    fn lan_speaker(&mut self, peer: PeerId, dialled: Option<Multiaddr>) {
        let Some(s) = self.seen.get_mut(&peer) else {
            return;
        };
        s.speaks_lan = true;
        if let Some(a) = dialled {
            self.note_lan_addr(peer, &a);
        }
        self.admit(peer);
    }
}

impl NetworkBehaviour for DualKad {
    type ConnectionHandler = THandler<Pair>;
    type ToSwarm = kad::Event;

    super::delegate::delegate_connection_hooks!(pair);

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(c) => self.on_connection(c.peer_id, c.endpoint, true),
            FromSwarm::ConnectionClosed(c) => {
                self.on_connection(c.peer_id, c.endpoint, false);
                if c.remaining_established == 0 {
                    self.seen.remove(&c.peer_id);
                }
            }
            FromSwarm::NewExternalAddrOfPeer(a) => self.note_lan_addr(a.peer_id, a.addr),
            _ => {}
        }
        self.pair.on_swarm_event(event);
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<kad::Event, THandlerInEvent<Self>>> {
        loop {
            if let Some(e) = self.out.pop_front() {
                return Poll::Ready(ToSwarm::GenerateEvent(e));
            }
            match self.pair.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(ToSwarm::GenerateEvent(ev)) => self.on_pair_event(ev),
                // Dials, handler notifications and address reports pass through unchanged
                // (the mapping is never called: events were taken above).
                Poll::Ready(other) => {
                    return Poll::Ready(other.map_out(|ev| match ev {
                        PairEvent::Wan(e) | PairEvent::Lan(e) => e,
                    }));
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "lan_dht_tests.rs"]
mod tests;
