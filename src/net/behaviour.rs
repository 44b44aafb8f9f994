//! The libp2p behaviours of a node and how the swarm is built: TCP with noise and yamux,
//! identify, ping, Kademlia on `/ipfs/kad/1.0.0` and kubo's LAN DHT `/ipfs/lan/kad/1.0.0`
//! over one record store (so IPFS peers share our DHT, on the internet and on a LAN:
//! `lan_dht.rs`), mDNS on the LAN, libp2p-stream for our own protocols (bitswap, heads, Lever calls), the
//! [`Gate`], and reachability behind a NAT: the circuit relay v2 client (and server, when
//! `RelayServer` allows it), dcutr hole punching and AutoNAT v2 (client and server).

use std::time::Duration;

use libp2p::kad::store::{MemoryStore, MemoryStoreConfig};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{PeerId, Swarm, dcutr, identify, identity, mdns, noise, ping, relay, tcp, yamux};

use super::gate::Gate;
use super::lan_dht::{DualKad, SharedStore};
use super::nat_config::NatSettings;
use crate::pki::NodeKey;

/// What identify says we are.
pub fn agent_version() -> String {
    format!("leither/{}", crate::api::fns_node::VERSION)
}

/// Forwarded Lever calls one peer may have open here at once, and all peers together.
pub const LEVER_STREAMS_PER_PEER: usize = 64;
/// See [`LEVER_STREAMS_PER_PEER`].
pub const LEVER_STREAMS_TOTAL: usize = 256;
/// Head streams (a `Get` or a `Notify`, one exchange each) one peer may have open at once: a
/// provider pushing versions of several Mimeis, or asking for their heads, needs a few.
pub const HEAD_STREAMS_PER_PEER: usize = 16;
/// See [`HEAD_STREAMS_PER_PEER`].
pub const HEAD_STREAMS_TOTAL: usize = 256;
/// Tunnel streams one peer may have open at once (a public node relays a browser's parallel
/// requests; the tunnel's own quotas bound them further).
pub const TUNNEL_STREAMS_PER_PEER: usize = 64;
/// See [`TUNNEL_STREAMS_PER_PEER`].
pub const TUNNEL_STREAMS_TOTAL: usize = 256;

/// How long a DHT query may run.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a connection is pinged.
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// How often identify runs again on a connection (libp2p's default).
pub const IDENTIFY_EVERY: Duration = Duration::from_secs(5 * 60);
/// How often the DHT bootstraps again (libp2p's default).
pub const BOOTSTRAP_EVERY: Duration = Duration::from_secs(5 * 60);

/// libp2p's own periodic work: a ping on every connection every [`PING_EVERY`], identify
/// again on every connection every [`IDENTIFY_EVERY`], a DHT bootstrap every
/// [`BOOTSTRAP_EVERY`]. Its timers run on real time (futures-timer), whatever tokio's clock
/// says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Periodic {
    /// As a node runs.
    On,
    /// Only a connection's first ping and identify, and the first bootstrap: for the scale
    /// simulation (`tests/sim/`), whose simulated clock runs many times slower than real
    /// time, so that real-time timers fired that many times too often and their cost, on
    /// every open connection, made the run slower still (docs/performance.md, "Simulation").
    Off,
}

impl Periodic {
    /// The interval of work that is due every `every`.
    fn every(self, every: Duration) -> Option<Duration> {
        match self {
            Periodic::On => Some(every),
            Periodic::Off => None,
        }
    }
}

/// An interval for timers that take no `None`: longer than any simulated run.
const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// Every behaviour of the swarm.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub gate: Gate,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    /// The public and the LAN DHT, shown to the driver as one.
    pub kad: DualKad,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    pub stream: libp2p_stream::Behaviour,
    /// Inbound bitswap streams (bitswap_inbound.rs): every one taken, within bounds.
    pub bitswap_in: super::bitswap_inbound::Behaviour,
    /// Inbound forwarded Lever calls (`lever_wire`), taken the same way and bounded apart.
    pub lever_in: super::bitswap_inbound::Behaviour,
    /// Inbound head requests and pushes (`head_wire`), taken the same way and bounded apart.
    pub heads_in: super::bitswap_inbound::Behaviour,
    /// Inbound tunnel streams (`tunnel`: opens on a public node, requests on a NATed one).
    pub tunnel_in: super::bitswap_inbound::Behaviour,
    /// Reservations on relays and circuits through them, when this node is not reachable.
    pub relay_client: relay::client::Behaviour,
    /// Relaying for others: only with `RelayServer` on (docs/network.md, "Behind a NAT").
    pub relay_server: Toggle<relay::Behaviour>,
    /// Turns a relayed connection into a direct one (hole punching).
    pub dcutr: dcutr::Behaviour,
    /// Asks peers to dial our candidate addresses back: which are reachable. At most 64
    /// distinct candidates reach it (`candidates.rs`: its table never shrinks).
    pub autonat: super::candidates::Capped<libp2p_autonat::v2::client::Behaviour>,
    /// Dials back the candidate addresses of peers that ask.
    pub autonat_server: libp2p_autonat::v2::server::Behaviour,
}

/// The relay server's bounds from the settings: few reservations and circuits, each circuit
/// bounded in bytes and time, so lending the node's bandwidth stays the owner's choice.
fn relay_config(nat: &NatSettings) -> relay::Config {
    relay::Config {
        max_reservations: 64,
        max_reservations_per_peer: 2,
        reservation_duration: Duration::from_secs(3600),
        max_circuits: 32,
        max_circuits_per_peer: 4,
        max_circuit_duration: Duration::from_secs(nat.relay_circuit_secs),
        max_circuit_bytes: nat.relay_circuit_kib.saturating_mul(1024),
        ..relay::Config::default()
    }
}

/// The libp2p keypair of the node key (same key: the PeerId is the one `swarm id` shows).
pub fn keypair(key: &NodeKey) -> Result<identity::Keypair, String> {
    let mut seed = key.secret_seed();
    identity::Keypair::ed25519_from_bytes(&mut seed).map_err(|e| e.to_string())
}

/// Builds the swarm; `mdns` turns on LAN discovery.
pub fn build(
    kp: identity::Keypair,
    mdns_on: bool,
    nat: &NatSettings,
) -> Result<Swarm<Behaviour>, String> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| e.to_string())?
        .with_behaviour(|key, relay_client| {
            Ok(behaviour(key, relay_client, mdns_on, nat, Periodic::On))
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(swarm_config)
        .build();
    Ok(swarm)
}

/// A transport already upgraded (authenticated and multiplexed), for [`build_over`].
pub type Upgraded = libp2p::core::transport::Boxed<(PeerId, libp2p::core::muxing::StreamMuxerBox)>;

/// Builds the swarm over `transport` instead of TCP, without mDNS: the hook of the scale
/// simulation (`tests/sim/`), which runs many nodes in one process over an in-process
/// transport. Everything above the transport is what [`build`] makes, with libp2p's
/// `periodic` work on or off.
pub fn build_over(
    kp: identity::Keypair,
    transport: Upgraded,
    nat: &NatSettings,
    periodic: Periodic,
) -> Result<Swarm<Behaviour>, String> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
        .with_tokio()
        .with_other_transport(|_| transport)
        .map_err(|e| e.to_string())?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| e.to_string())?
        .with_behaviour(|key, relay_client| Ok(behaviour(key, relay_client, false, nat, periodic)))
        .map_err(|e| e.to_string())?
        .with_swarm_config(swarm_config)
        .build();
    Ok(swarm)
}

fn swarm_config(c: libp2p::swarm::Config) -> libp2p::swarm::Config {
    c.with_idle_connection_timeout(Duration::from_secs(120))
}

/// Every behaviour, for the node of `key`, with the relay client the builder made.
fn behaviour(
    key: &identity::Keypair,
    relay_client: relay::client::Behaviour,
    mdns_on: bool,
    nat: &NatSettings,
    periodic: Periodic,
) -> Behaviour {
    let peer = key.public().to_peer_id();
    let identify = identify::Behaviour::new(
        identify::Config::new("ipfs/0.1.0".into(), key.public())
            .with_agent_version(agent_version())
            .with_push_listen_addr_updates(true)
            .with_interval(periodic.every(IDENTIFY_EVERY).unwrap_or(NEVER)),
    );
    // One store for both DHTs: these caps bound the LAN DHT's records too.
    let store = SharedStore::new(MemoryStore::with_config(
        peer,
        MemoryStoreConfig {
            max_records: 4096,
            max_value_bytes: 16 * 1024,
            max_providers_per_key: 32,
            max_provided_keys: 4096,
        },
    ));
    // Records and provider records from peers are checked before they are kept
    // (driver.rs): a head must verify, junk is refused and its sender banned.
    let kad = DualKad::new(peer, store, QUERY_TIMEOUT, periodic.every(BOOTSTRAP_EVERY));
    let mdns = if mdns_on {
        mdns::tokio::Behaviour::new(mdns::Config::default(), peer).ok()
    } else {
        None
    };
    Behaviour {
        gate: Gate::default(),
        identify,
        ping: ping::Behaviour::new(
            ping::Config::new()
                .with_interval(periodic.every(PING_EVERY).unwrap_or(NEVER))
                .with_timeout(Duration::from_secs(10)),
        ),
        kad,
        mdns: Toggle::from(mdns),
        stream: libp2p_stream::Behaviour::new(),
        bitswap_in: super::bitswap_inbound::Behaviour::new(
            Default::default(),
            &super::bitswap::ACCEPTED,
        ),
        lever_in: super::bitswap_inbound::Behaviour::new(
            super::bitswap_inbound::Limits {
                per_peer: LEVER_STREAMS_PER_PEER,
                total: LEVER_STREAMS_TOTAL,
                refusals: 256,
            },
            &[super::lever_wire::PROTOCOL],
        ),
        heads_in: super::bitswap_inbound::Behaviour::new(
            super::bitswap_inbound::Limits {
                per_peer: HEAD_STREAMS_PER_PEER,
                total: HEAD_STREAMS_TOTAL,
                refusals: 256,
            },
            &[super::head_wire::PROTOCOL],
        ),
        tunnel_in: super::bitswap_inbound::Behaviour::new(
            super::bitswap_inbound::Limits {
                per_peer: TUNNEL_STREAMS_PER_PEER,
                total: TUNNEL_STREAMS_TOTAL,
                refusals: 256,
            },
            &[super::tunnel::OPEN_PROTOCOL, super::tunnel::HTTP_PROTOCOL],
        ),
        relay_client,
        relay_server: Toggle::from(nat.relay_server.then(|| {
            // The owner turned it on for a public node: advertise it at once rather
            // than after an external address is confirmed (AutoNAT v2 asks only over
            // connections we dialled, and a relay is mostly dialled).
            let mut r = relay::Behaviour::new(peer, relay_config(nat));
            r.set_status(Some(relay::Status::Enable));
            r
        })),
        dcutr: dcutr::Behaviour::new(peer),
        autonat: super::candidates::Capped::new(libp2p_autonat::v2::client::Behaviour::default()),
        autonat_server: libp2p_autonat::v2::server::Behaviour::default(),
    }
}
