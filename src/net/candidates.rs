//! A bound on the addresses AutoNAT is asked to test.
//!
//! Every peer tells us, in identify, the address it sees us at. The swarm hands each one to
//! the behaviours as a candidate external address, and libp2p-autonat's v2 client keeps every
//! candidate it hears in a table that never shrinks (and sorts the whole table before each
//! round of tests). A stranger chooses the address it reports, so one connection repeating
//! identify with a new address each time would grow that table without end.
//!
//! [`Capped`] wraps a behaviour and passes on candidates until [`MAX_CANDIDATES`] distinct
//! ones have been passed; later new ones are dropped (and logged once). The addresses heard
//! first (from the bootstrap peers, at start) are the ones a node needs; a port mapping,
//! `FixedAddr` and `SetExtAddr` do not go through here. A restart starts afresh.

use std::collections::HashSet;
use std::task::{Context, Poll};

use libp2p::core::Multiaddr;
use libp2p::swarm::{FromSwarm, NetworkBehaviour, THandlerInEvent, ToSwarm};

use crate::log_warn;

/// Distinct candidate addresses passed on in a node's life.
pub const MAX_CANDIDATES: usize = 64;

/// `inner`, with at most [`MAX_CANDIDATES`] distinct candidate addresses passed to it.
pub struct Capped<B> {
    pub inner: B,
    passed: HashSet<Multiaddr>,
    /// Candidates dropped since the cap was reached.
    pub dropped: u64,
}

impl<B> Capped<B> {
    pub fn new(inner: B) -> Self {
        Capped {
            inner,
            passed: HashSet::new(),
            dropped: 0,
        }
    }

    /// Whether a candidate address is passed on (and remembered if it is new).
    fn admit(&mut self, addr: &Multiaddr) -> bool {
        if self.passed.contains(addr) {
            return true;
        }
        if self.passed.len() >= MAX_CANDIDATES {
            if self.dropped == 0 {
                log_warn!(
                    "autonat: peers reported {MAX_CANDIDATES} different addresses of this node; \
                     new ones are no longer tested until the node restarts (the last: {addr})"
                );
            }
            self.dropped = self.dropped.saturating_add(1);
            return false;
        }
        self.passed.insert(addr.clone());
        true
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for Capped<B> {
    type ConnectionHandler = B::ConnectionHandler;
    type ToSwarm = B::ToSwarm;

    super::delegate::delegate_connection_hooks!(inner);

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::NewExternalAddrCandidate(c) = &event
            && !self.admit(c.addr)
        {
            return;
        }
        self.inner.on_swarm_event(event)
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        self.inner.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::PeerId;
    use libp2p::core::{Endpoint, transport::PortUse};
    use libp2p::swarm::behaviour::NewExternalAddrCandidate;
    use libp2p::swarm::{ConnectionDenied, ConnectionId, THandler, THandlerOutEvent};

    /// Counts the candidates it is given.
    #[derive(Default)]
    struct Count(usize);

    impl NetworkBehaviour for Count {
        type ConnectionHandler = libp2p::swarm::dummy::ConnectionHandler;
        type ToSwarm = ();
        fn handle_established_inbound_connection(
            &mut self,
            _: ConnectionId,
            _: PeerId,
            _: &Multiaddr,
            _: &Multiaddr,
        ) -> Result<THandler<Self>, ConnectionDenied> {
            Ok(libp2p::swarm::dummy::ConnectionHandler)
        }
        fn handle_established_outbound_connection(
            &mut self,
            _: ConnectionId,
            _: PeerId,
            _: &Multiaddr,
            _: Endpoint,
            _: PortUse,
        ) -> Result<THandler<Self>, ConnectionDenied> {
            Ok(libp2p::swarm::dummy::ConnectionHandler)
        }
        fn on_swarm_event(&mut self, event: FromSwarm) {
            if let FromSwarm::NewExternalAddrCandidate(_) = event {
                self.0 += 1;
            }
        }
        fn on_connection_handler_event(
            &mut self,
            _: PeerId,
            _: ConnectionId,
            e: THandlerOutEvent<Self>,
        ) {
            match e {}
        }
        fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<(), THandlerInEvent<Self>>> {
            Poll::Pending
        }
    }

    fn tell(b: &mut Capped<Count>, addr: &Multiaddr) {
        b.on_swarm_event(FromSwarm::NewExternalAddrCandidate(
            NewExternalAddrCandidate { addr },
        ));
    }

    /// A stranger reports a new address of ours in each of 100,000 identify messages: the
    /// inner behaviour hears 64 distinct ones, then only those again.
    #[test]
    fn a_flood_of_reported_addresses_reaches_autonat_64_times() {
        let first: Multiaddr = "/ip4/203.0.113.9/tcp/4001".parse().unwrap();
        let mut b = Capped::new(Count::default());
        tell(&mut b, &first);
        for i in 0..100_000u32 {
            let [a, b2, c, d] = i.to_be_bytes();
            let addr: Multiaddr = format!("/ip4/{}.{b2}.{c}.{d}/tcp/4001", a.wrapping_add(10))
                .parse()
                .unwrap();
            tell(&mut b, &addr);
        }
        assert_eq!(b.inner.0, MAX_CANDIDATES);
        assert_eq!(b.passed.len(), MAX_CANDIDATES);
        assert_eq!(b.dropped, 100_000 - (MAX_CANDIDATES as u64 - 1));
        // An address passed before is still passed (its reports count for AutoNAT's order).
        tell(&mut b, &first);
        assert_eq!(b.inner.0, MAX_CANDIDATES + 1);
    }
}
