//! Nodes behind NATs: `tests/nat.sh` puts a public node (relay, tunnel server, DNN) and two
//! home nodes behind two NAT routers (iptables MASQUERADE, answers only) in network
//! namespaces; the home nodes reserve slots on the relay and sync a Mimei through it, a
//! browser reaches a home node through the HTTP tunnel, and a simulated UPnP gateway
//! (Debian's miniupnpd) maps a port. See the script's header.
//!
//! Needs root and `ip netns` (CI has both). Without them the test fails, saying why, unless
//! `LEITHER_SKIP_NETNS=1` is set, which turns it into a skip.

#![cfg(feature = "net")]

mod common;

/// Runs `tests/nat.sh` with `STEPS=steps` and checks it passed.
fn run(steps: &str) {
    common::netns::run_script("nat.sh", &[("STEPS", steps)], &format!("nat steps {steps}"));
}

#[test]
fn two_nated_nodes_sync_a_mimei_through_a_relay() {
    run("relay");
}

/// A browser on the internet reaches a node behind a NAT through the DNN page of a public
/// node, via the HTTP tunnel; with the attacks: a node not allowed cannot open a tunnel, a
/// tunnelled request gets no local pass and cannot register as loopback, a tunnel over its
/// quota is refused with the rule named.
#[test]
fn a_browser_reaches_a_nated_node_through_the_dnn_tunnel() {
    run("tunnel");
}

/// A node behind a NAT whose router runs a UPnP gateway (Debian's miniupnpd) maps its swarm
/// and HTTP ports; a visitor reaches it directly, the DNN page offers the direct address and
/// AutoNAT confirms the mapped swarm address.
#[test]
fn a_node_behind_a_upnp_router_maps_its_ports_and_is_offered_directly() {
    run("upnp");
}
