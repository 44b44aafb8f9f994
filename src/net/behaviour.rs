//! The libp2p behaviours of a node and how the swarm is built: TCP with noise and yamux,
//! identify, ping, Kademlia on `/ipfs/kad/1.0.0` and kubo's LAN DHT `/ipfs/lan/kad/1.0.0`
//! over one record store (so IPFS peers share our DHT, on the internet and on a LAN:
//! `lan_dht.rs`), mDNS on the LAN, libp2p-stream for our own protocols (bitswap, heads), and
//! the [`Gate`].

use std::time::Duration;

use libp2p::kad::store::{MemoryStore, MemoryStoreConfig};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{PeerId, Swarm, identify, identity, mdns, noise, ping, tcp, yamux};

use super::gate::Gate;
use super::lan_dht::{DualKad, SharedStore};
use crate::pki::NodeKey;

/// What identify says we are.
pub fn agent_version() -> String {
    format!("leither/{}", crate::api::fns_node::VERSION)
}

/// How long a DHT query may run.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

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
}

/// The libp2p keypair of the node key (same key: the PeerId is the one `swarm id` shows).
pub fn keypair(key: &NodeKey) -> Result<identity::Keypair, String> {
    let mut seed = key.secret_seed();
    identity::Keypair::ed25519_from_bytes(&mut seed).map_err(|e| e.to_string())
}

/// Builds the swarm; `mdns` turns on LAN discovery.
pub fn build(kp: identity::Keypair, mdns_on: bool) -> Result<Swarm<Behaviour>, String> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_behaviour(|key| Ok(behaviour(key, mdns_on)))
        .map_err(|e| e.to_string())?
        .with_swarm_config(swarm_config)
        .build();
    Ok(swarm)
}

/// A transport already upgraded (authenticated and multiplexed), for [`build_over`].
pub type Upgraded = libp2p::core::transport::Boxed<(PeerId, libp2p::core::muxing::StreamMuxerBox)>;

/// Builds the swarm over `transport` instead of TCP, without mDNS: the hook of the scale
/// simulation (`tests/sim/`), which runs many nodes in one process over libp2p's memory
/// transport. Everything above the transport is what [`build`] makes.
pub fn build_over(kp: identity::Keypair, transport: Upgraded) -> Result<Swarm<Behaviour>, String> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
        .with_tokio()
        .with_other_transport(|_| transport)
        .map_err(|e| e.to_string())?
        .with_behaviour(|key| Ok(behaviour(key, false)))
        .map_err(|e| e.to_string())?
        .with_swarm_config(swarm_config)
        .build();
    Ok(swarm)
}

fn swarm_config(c: libp2p::swarm::Config) -> libp2p::swarm::Config {
    c.with_idle_connection_timeout(Duration::from_secs(120))
}

/// Every behaviour, for the node of `key`.
fn behaviour(key: &identity::Keypair, mdns_on: bool) -> Behaviour {
    let peer = key.public().to_peer_id();
    let identify = identify::Behaviour::new(
        identify::Config::new("ipfs/0.1.0".into(), key.public())
            .with_agent_version(agent_version())
            .with_push_listen_addr_updates(true),
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
    let kad = DualKad::new(peer, store, QUERY_TIMEOUT);
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
                .with_interval(Duration::from_secs(10))
                .with_timeout(Duration::from_secs(10)),
        ),
        kad,
        mdns: Toggle::from(mdns),
        stream: libp2p_stream::Behaviour::new(),
        bitswap_in: super::bitswap_inbound::Behaviour::new(Default::default()),
    }
}
