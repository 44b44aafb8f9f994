//! Reachability behind a NAT, as the driver runs it (docs/network.md, "Behind a NAT"):
//! AutoNAT v2 tells which of our addresses peers can dial; while none is confirmed, the node
//! reserves a slot on up to [`MAX_RELAYS`] relays (peers that speak circuit relay v2's hop
//! protocol, learnt from identify) and listens through them; dcutr then tries to turn each
//! relayed connection into a direct one. What is known is kept in [`NatView`] for
//! `SwarmLocal`, `GetVar nat` and the dashboard.

use std::collections::HashMap;

use libp2p::core::multiaddr::Protocol;
use libp2p::core::transport::ListenerId;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, dcutr, identify, relay};

use super::behaviour::Behaviour;
use super::handle::Inner;
use super::nat_config::NatSettings;
use crate::{log_debug, log_info, log_warn};

/// Most relays the node keeps a reservation on.
pub const MAX_RELAYS: usize = 2;
/// Most external addresses remembered.
const MAX_EXTERNAL: usize = 16;

/// The hop protocol a relay server speaks.
const HOP: StreamProtocol = StreamProtocol::new("/libp2p/circuit/relay/0.2.0/hop");

/// Whether peers can dial this node directly, as far as AutoNAT (and the settings) tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// No test has answered yet.
    #[default]
    Unknown,
    /// A peer dialled one of our addresses back.
    Public,
    /// Every test failed: behind a NAT or a firewall.
    Private,
}

impl Reach {
    /// The word shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Unknown => "unknown",
            Reach::Public => "public",
            Reach::Private => "private",
        }
    }
}

/// What is known about this node's reachability (read by the API and the dashboard).
#[derive(Debug, Default, Clone)]
pub struct NatView {
    /// AutoNAT's verdict.
    pub reach: Reach,
    /// Addresses confirmed reachable from outside: AutoNAT, `FixedAddr`, a port mapping, and
    /// relay circuits once reserved.
    pub external: Vec<Multiaddr>,
    /// Relays holding a reservation for us.
    pub relays: Vec<PeerId>,
    /// Relayed connections dcutr turned into direct ones.
    pub holepunch_ok: u32,
    /// Hole punching attempts that failed (the relayed connection stays).
    pub holepunch_failed: u32,
    /// The home router's port mapping, in words with the method (PCP, NAT-PMP or UPnP) and
    /// the router, or why it failed, if one was tried.
    pub mapping: Option<String>,
    /// The HTTP address the router maps to us (`http://EXT:PORT`), offered to DNNs.
    pub mapped_http: Option<String>,
}

/// Whether an address goes through a relay.
pub fn is_relayed(a: &Multiaddr) -> bool {
    a.iter().any(|p| matches!(p, Protocol::P2pCircuit))
}

/// The driver's NAT state.
pub struct Nat {
    settings: NatSettings,
    /// Listeners on relay circuits, by the relay they go through.
    relay_listeners: HashMap<ListenerId, PeerId>,
}

impl Nat {
    /// The state for these settings.
    pub fn new(settings: NatSettings) -> Nat {
        Nat {
            settings,
            relay_listeners: HashMap::new(),
        }
    }

    /// A peer told us what it speaks: a relay is used while we are not known to be public.
    pub fn on_identify(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        net: &Inner,
        peer: PeerId,
        info: &identify::Info,
    ) {
        if !info.protocols.contains(&HOP) {
            return;
        }
        log_debug!("relay: {peer} is a relay");
        if !self.settings.relay_client
            || self.relay_listeners.len() >= MAX_RELAYS
            || self.relay_listeners.values().any(|p| *p == peer)
            || net.shared.borrow().nat.reach == Reach::Public
        {
            return;
        }
        // Through the address we reached the relay at (a direct connection of ours).
        let remote = net.shared.borrow().connected.get(&peer).and_then(|conns| {
            conns
                .iter()
                .map(|(_, a)| super::driver::strip_p2p(a))
                .find(|a| !is_relayed(a))
        });
        let Some(remote) = remote else {
            return;
        };
        let circuit = remote.with(Protocol::P2p(peer)).with(Protocol::P2pCircuit);
        match swarm.listen_on(circuit.clone()) {
            Ok(id) => {
                log_info!("relay: asking {peer} for a reservation ({circuit})");
                self.relay_listeners.insert(id, peer);
            }
            Err(e) => log_warn!("relay: cannot listen through {circuit}: {e}"),
        }
    }

    /// A new listen address: on a relay server (the owner says the node is public) a
    /// public one is announced as external at once, since relay reservations carry the
    /// relay's external addresses and a client refuses a reservation without any.
    pub fn on_new_listen(&mut self, net: &Inner, swarm: &mut Swarm<Behaviour>, addr: &Multiaddr) {
        let public = match super::gate::ip_of(addr) {
            Some(ip) => !ip.is_unspecified() && !super::cidr::is_lan(ip),
            None => false,
        };
        if self.settings.relay_server && public && !is_relayed(addr) {
            self.add_external(net, swarm, addr.clone());
        }
    }

    /// Announces an address we know is reachable from outside (a port mapping, `FixedAddr`,
    /// `SetExtAddr`, a relay server's public listen address): identify tells peers, and
    /// `SwarmLocal` shows it. The swarm reports no event for an address added this way (only
    /// for one a behaviour confirms, such as AutoNAT), so it is recorded here too.
    pub fn add_external(&mut self, net: &Inner, swarm: &mut Swarm<Behaviour>, addr: Multiaddr) {
        swarm.add_external_address(addr.clone());
        self.on_external(net, addr, true);
    }

    /// A listener closed: a relay reservation ended (refused, expired, connection lost).
    pub fn on_listener_closed(&mut self, net: &Inner, id: ListenerId, reason: &str) {
        if let Some(peer) = self.relay_listeners.remove(&id) {
            log_warn!(
                "relay: the reservation on {peer} ended ({reason}); another relay is tried when one is met"
            );
            net.shared.borrow_mut().nat.relays.retain(|p| *p != peer);
        }
    }

    /// A relay answered a reservation, or a circuit opened.
    pub fn on_relay_client(&mut self, net: &Inner, ev: relay::client::Event) {
        match ev {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                let mut sh = net.shared.borrow_mut();
                if !sh.nat.relays.contains(&relay_peer_id) {
                    sh.nat.relays.push(relay_peer_id);
                }
                if !renewal {
                    log_info!(
                        "relay: {relay_peer_id} holds a reservation: peers reach us through it"
                    );
                }
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                log_debug!("relay: circuit out through {relay_peer_id}")
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                log_debug!("relay: {src_peer_id} reached us through a relay")
            }
        }
    }

    /// A hole punching attempt ended.
    pub fn on_dcutr(&mut self, net: &Inner, ev: dcutr::Event) {
        let mut sh = net.shared.borrow_mut();
        match ev.result {
            Ok(_) => {
                sh.nat.holepunch_ok = sh.nat.holepunch_ok.saturating_add(1);
                log_info!(
                    "dcutr: the relayed connection to {} is now direct",
                    ev.remote_peer_id
                );
            }
            Err(e) => {
                sh.nat.holepunch_failed = sh.nat.holepunch_failed.saturating_add(1);
                log_debug!(
                    "dcutr: hole punching to {} failed ({e}); the relayed connection stays",
                    ev.remote_peer_id
                );
            }
        }
    }

    /// An AutoNAT test of one of our addresses ended.
    pub fn on_autonat(&mut self, net: &Inner, ev: libp2p_autonat::v2::client::Event) {
        let mut sh = net.shared.borrow_mut();
        match ev.result {
            Ok(()) => {
                if sh.nat.reach != Reach::Public {
                    log_info!(
                        "autonat: {} dialled {} back: this node is reachable",
                        ev.server,
                        ev.tested_addr
                    );
                }
                sh.nat.reach = Reach::Public;
            }
            Err(e) => {
                log_debug!(
                    "autonat: {} could not dial {} back: {e}",
                    ev.server,
                    ev.tested_addr
                );
                if sh.nat.reach == Reach::Unknown {
                    log_info!(
                        "autonat: {} is not reachable from outside: using relays and the HTTP tunnel",
                        ev.tested_addr
                    );
                    sh.nat.reach = Reach::Private;
                }
            }
        }
    }

    /// The swarm confirmed (`true`) or dropped an external address.
    pub fn on_external(&mut self, net: &Inner, addr: Multiaddr, confirmed: bool) {
        let mut sh = net.shared.borrow_mut();
        let list = &mut sh.nat.external;
        if confirmed {
            if !list.contains(&addr) && list.len() < MAX_EXTERNAL {
                log_info!("external address confirmed: {addr}");
                list.push(addr);
            }
        } else {
            list.retain(|a| a != &addr);
        }
    }
}
