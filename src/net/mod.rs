//! The network: sans-io wire formats now; the swarm comes with the rest of #5.

pub mod bitswap_wire;
pub mod cidr;
