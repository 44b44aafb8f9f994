//! The gate: a behaviour with no protocol of its own that refuses connections to and from
//! filtered addresses (`swarm filters`) and banned peers (peers that sent a bad record, a bad
//! message or junk blocks). A connection that is already open when its peer is banned or its
//! address filtered is closed by the driver.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::core::Endpoint;
use libp2p::core::multiaddr::Protocol;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use super::cidr::Filters;

/// How long a ban lasts.
pub const BAN_TIME: Duration = Duration::from_secs(3600);
/// Most peers remembered as banned (the oldest ban goes first).
const MAX_BANS: usize = 1024;

/// Why a connection was refused.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Filters and bans. See the module doc.
#[derive(Default)]
pub struct Gate {
    /// `swarm filters`.
    pub filters: Filters,
    bans: HashMap<PeerId, (Instant, String)>,
}

/// The IP address a multiaddr starts with, if it does.
pub fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    match addr.iter().next()? {
        Protocol::Ip4(a) => Some(IpAddr::V4(a)),
        Protocol::Ip6(a) => Some(IpAddr::V6(a)),
        _ => None,
    }
}

impl Gate {
    /// Bans `peer` for [`BAN_TIME`], remembering why.
    pub fn ban(&mut self, peer: PeerId, why: String) {
        if self.bans.len() >= MAX_BANS
            && let Some(oldest) = self
                .bans
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(p, _)| *p)
        {
            self.bans.remove(&oldest);
        }
        self.bans.insert(peer, (Instant::now(), why));
    }

    /// Why `peer` is banned, if it is (an expired ban is forgotten).
    pub fn banned(&mut self, peer: &PeerId) -> Option<String> {
        match self.bans.get(peer) {
            Some((t, why)) if t.elapsed() < BAN_TIME => Some(why.clone()),
            Some(_) => {
                self.bans.remove(peer);
                None
            }
            None => None,
        }
    }

    /// Whether a filter denies this address.
    pub fn denies(&self, addr: &Multiaddr) -> bool {
        ip_of(addr).is_some_and(|ip| self.filters.denies(ip))
    }

    fn check(&mut self, peer: Option<&PeerId>, addr: &Multiaddr) -> Result<(), ConnectionDenied> {
        if self.denies(addr) {
            return Err(ConnectionDenied::new(Refused(format!(
                "{addr} is filtered (swarm filters)"
            ))));
        }
        if let Some(p) = peer
            && let Some(why) = self.banned(p)
        {
            return Err(ConnectionDenied::new(Refused(format!(
                "peer {p} is banned: {why}"
            ))));
        }
        Ok(())
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _id: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.check(None, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _id: ConnectionId,
        peer: PeerId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(Some(&peer), remote)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _id: ConnectionId,
        peer: Option<PeerId>,
        addresses: &[Multiaddr],
        _role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        if let Some(p) = peer
            && let Some(why) = self.banned(&p)
        {
            return Err(ConnectionDenied::new(Refused(format!(
                "peer {p} is banned: {why}"
            ))));
        }
        if !addresses.is_empty() && addresses.iter().all(|a| self.denies(a)) {
            return Err(ConnectionDenied::new(Refused(
                "every address of the peer is filtered (swarm filters)".into(),
            )));
        }
        Ok(Vec::new())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(Some(&peer), addr)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _event: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
