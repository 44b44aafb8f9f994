//! The network: a rust-libp2p swarm on the node's one thread, the Kademlia DHT, bitswap 1.2
//! with IPFS peers, signed Mimei heads, publish, provide and sync.
//!
//! # Layout
//!
//! Sans-io formats (always built, fuzzed):
//! - [`bitswap_wire`]: the bitswap 1.2 protobuf message and its length-prefixed framing.
//! - [`head_wire`]: `/leither/head/1.0.0`, the request/answer that carries signed heads.
//! - [`lever_wire`]: `/leither/lever/1.0.0`, a Lever call forwarded to a provider, signed.
//! - [`cidr`]: `swarm filters` (`/ip4/10.0.0.0/ipcidr/8`).
//! - [`nat_pmp_wire`]: NAT-PMP and PCP port mapping requests and answers.
//! - [`tunnel_wire`]: the HTTP tunnel's control messages and the HTTP it carries.
//!
//! The network itself (feature `net`):
//! - `behaviour`: the libp2p behaviours (tcp + noise + yamux; identify, ping, kad, mdns,
//!   libp2p-stream for our protocols) and `gate`, which enforces filters and bans.
//! - `lan_dht`: the public and the LAN Kademlia DHT (`/ipfs/lan/kad/1.0.0`, kubo's) as one
//!   behaviour over one record store.
//! - `driver`: the task that polls the swarm and runs commands sent by [`Net`].
//! - [`Net`] (`handle.rs`): what the API functions call: peers, addresses, dial, DHT queries.
//! - `bitswap`: the block exchange, client and server, every block hash-checked;
//!   `bitswap_inbound` accepts peers' inbound streams (bitswap, Lever, heads, tunnel) without
//!   loss, within bounds.
//! - `heads`: the verified net heads this node knows, follows and publishes (redb).
//! - `sync`: fetch a verified head, then only the missing blocks, from several providers.
//! - `publish`: sign and put heads, provide, re-publish before EOL, push to providers and
//!   to the peers that asked for the head (`subscribers`).
//! - `nat`, `nat_config`: behind a NAT: AutoNAT v2, circuit relay v2, dcutr; their settings.
//!   `candidates`: at most 64 distinct addresses peers report for us reach AutoNAT.
//! - `delegate`: the pass-through connection hooks of a behaviour that wraps another.
//! - `nat_map`, `nat_pmp`, `nat_upnp`: the home router's port mapping: PCP, then NAT-PMP,
//!   then UPnP IGD, renewed at half the lifetime.
//! - [`tunnel`]: the HTTP tunnel through a public node, both sides, with its quotas.
//!
//! Design and protocols: docs/network.md.

pub mod bitswap_wire;
pub mod cidr;
pub mod head_wire;
pub mod lever_wire;
pub mod nat_pmp_wire;
pub mod tunnel_wire;

#[cfg(feature = "net")]
mod behaviour;
#[cfg(feature = "net")]
mod bitswap;
#[cfg(feature = "net")]
mod bitswap_inbound;
#[cfg(feature = "net")]
mod candidates;
#[cfg(feature = "net")]
mod delegate;
#[cfg(feature = "net")]
mod driver;
#[cfg(feature = "net")]
mod error;
#[cfg(feature = "net")]
mod gate;
#[cfg(feature = "net")]
mod handle;
#[cfg(feature = "net")]
pub mod heads;
#[cfg(feature = "net")]
mod lan_dht;
#[cfg(feature = "net")]
pub mod nat;
#[cfg(feature = "net")]
pub mod nat_config;
#[cfg(feature = "net")]
mod nat_map;
#[cfg(feature = "net")]
mod nat_pmp;
#[cfg(feature = "net")]
mod nat_upnp;
#[cfg(feature = "net")]
pub mod publish;
#[cfg(feature = "net")]
mod subscribers;
#[cfg(feature = "net")]
pub mod sync;
#[cfg(feature = "net")]
pub mod tunnel;
#[cfg(feature = "net")]
pub mod values;

#[cfg(feature = "net")]
pub use behaviour::{Periodic, Upgraded};
#[cfg(feature = "net")]
pub use bitswap_inbound::{Inbound, Permit, Refusals};
#[cfg(feature = "net")]
pub use driver::Lookup;
#[cfg(feature = "net")]
pub use error::NetError;
#[cfg(feature = "net")]
pub use handle::{
    Net, PeerInfo, STREAM_TIMEOUT, leither_id_of, parse_addr, parse_peer, read_frame,
    report_start_failure, start, start_over, write_frame,
};
