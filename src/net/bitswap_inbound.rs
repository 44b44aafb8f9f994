//! Inbound bitswap streams, accepted without loss and within bounds (and, with the same
//! behaviour over other protocol lists, forwarded Lever calls, head requests and pushes, and
//! tunnel streams: each protocol's task gets the stream, its permit and the protocol).
//!
//! kubo answers each want on a new stream, from several workers at once, and closes it after
//! one message. libp2p-stream hands inbound streams over through a channel with one slot and
//! drops the rest, so most of those answers were lost and every fetch from kubo stalled on
//! timeouts. This behaviour has its own [`ConnectionHandler`]: it accepts every inbound stream
//! of the bitswap protocols on the connection's task and passes it at once, with a [`Permit`],
//! to the node's bitswap task through an unbounded channel. The channel is bounded by the
//! permits: at most [`Limits::per_peer`] streams of one peer and [`Limits::total`] streams of
//! all peers are open at a time (a permit is given back when its reader ends). A stream over
//! either bound is reset at once; one over the peer's bound also counts against that peer,
//! which the bitswap task bans after [`Limits::refusals`] of them (a peer that keeps thousands
//! of streams open, as no client needs). Outbound streams still go through libp2p-stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::{DeniedUpgrade, InboundUpgrade, UpgradeInfo};
use libp2p::swarm::handler::{ConnectionEvent, FullyNegotiatedInbound};
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
    NetworkBehaviour, SubstreamProtocol, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol};
use tokio::sync::mpsc;

/// The bounds on inbound bitswap streams.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Streams of one peer open at once (kubo uses about ten: one for its wants, eight workers
    /// answering ours).
    pub per_peer: usize,
    /// Streams of all peers open at once.
    pub total: usize,
    /// Streams refused over the peer's bound before the peer is banned.
    pub refusals: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_peer: 64,
            total: 512,
            refusals: 256,
        }
    }
}

/// What the connection handlers hand to the bitswap task.
pub enum Inbound {
    /// A stream to read, with the permit to hold while reading it.
    /// (The protocol is the one the stream was negotiated for, from the behaviour's list.)
    Stream(Box<(PeerId, Stream, Permit, StreamProtocol)>),
    /// A stream of this peer was reset: it held [`Limits::per_peer`] already.
    OverPeerLimit(PeerId),
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_peer: HashMap<PeerId, usize>,
}

/// The count of open inbound streams, shared by every connection's handler.
#[derive(Clone)]
struct Shared {
    counts: Arc<Mutex<Counts>>,
    limits: Limits,
    protocols: &'static [&'static str],
    tx: mpsc::UnboundedSender<Inbound>,
}

/// One open inbound stream counted against its peer and the node; given back on drop.
pub struct Permit {
    counts: Arc<Mutex<Counts>>,
    peer: PeerId,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_peer.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_peer.remove(&self.peer);
            }
        }
    }
}

enum Taken {
    Yes(Permit),
    OverPeer,
    OverTotal,
}

impl Shared {
    fn take(&self, peer: PeerId) -> Taken {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mine = c.per_peer.get(&peer).copied().unwrap_or(0);
        if mine >= self.limits.per_peer {
            return Taken::OverPeer;
        }
        if c.total >= self.limits.total {
            return Taken::OverTotal;
        }
        c.total += 1;
        *c.per_peer.entry(peer).or_insert(0) += 1;
        Taken::Yes(Permit {
            counts: self.counts.clone(),
            peer,
        })
    }

    fn on_stream(&self, peer: PeerId, stream: Stream, protocol: StreamProtocol) {
        match self.take(peer) {
            Taken::Yes(permit) => {
                // The bitswap task is gone only when the node stops.
                let _ = self
                    .tx
                    .send(Inbound::Stream(Box::new((peer, stream, permit, protocol))));
            }
            // Dropping the stream resets it: the peer learns at once, nothing is buffered.
            Taken::OverPeer => {
                drop(stream);
                let _ = self.tx.send(Inbound::OverPeerLimit(peer));
            }
            Taken::OverTotal => drop(stream),
        }
    }
}

/// The behaviour; see the module doc.
pub struct Behaviour {
    shared: Shared,
    rx: Option<mpsc::UnboundedReceiver<Inbound>>,
}

impl Behaviour {
    /// The behaviour for inbound streams of `protocols`; its receiving end is taken once
    /// with [`Behaviour::take_receiver`].
    pub fn new(limits: Limits, protocols: &'static [&'static str]) -> Behaviour {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            counts: Arc::default(),
            limits,
            protocols,
            tx,
        };
        Behaviour {
            shared,
            rx: Some(rx),
        }
    }

    /// The end the bitswap task reads (`None` after the first call).
    pub fn take_receiver(&mut self) -> Option<mpsc::UnboundedReceiver<Inbound>> {
        self.rx.take()
    }

    /// The bounds in force.
    pub fn limits(&self) -> Limits {
        self.shared.limits
    }

    fn handler(&self, peer: PeerId) -> Handler {
        Handler {
            peer,
            shared: self.shared.clone(),
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _id: ConnectionId,
        peer: PeerId,
        _local: &Multiaddr,
        _remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer))
    }

    fn handle_established_outbound_connection(
        &mut self,
        _id: ConnectionId,
        peer: PeerId,
        _addr: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer))
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

    fn poll(&mut self, _cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

/// The upgrade that takes a stream of any of its protocols as it is.
#[derive(Clone)]
pub struct Accept(&'static [&'static str]);

impl UpgradeInfo for Accept {
    type Info = StreamProtocol;
    type InfoIter = std::vec::IntoIter<StreamProtocol>;

    fn protocol_info(&self) -> Self::InfoIter {
        let list: Vec<StreamProtocol> = self.0.iter().map(|p| StreamProtocol::new(p)).collect();
        list.into_iter()
    }
}

impl InboundUpgrade<Stream> for Accept {
    type Output = (Stream, StreamProtocol);
    type Error = Infallible;
    type Future = std::future::Ready<Result<(Stream, StreamProtocol), Infallible>>;

    fn upgrade_inbound(self, socket: Stream, info: StreamProtocol) -> Self::Future {
        std::future::ready(Ok((socket, info)))
    }
}

/// One connection's handler: accepts inbound bitswap streams, opens none.
pub struct Handler {
    peer: PeerId,
    shared: Shared,
}

impl ConnectionHandler for Handler {
    type FromBehaviour = Infallible;
    type ToBehaviour = Infallible;
    type InboundProtocol = Accept;
    type OutboundProtocol = DeniedUpgrade;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = Infallible;

    fn listen_protocol(&self) -> SubstreamProtocol<Accept, ()> {
        SubstreamProtocol::new(Accept(self.shared.protocols), ())
    }

    fn poll(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<DeniedUpgrade, Infallible, Infallible>> {
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, event: Infallible) {
        match event {}
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<Accept, DeniedUpgrade, (), Infallible>,
    ) {
        if let ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
            protocol: (stream, protocol),
            ..
        }) = event
        {
            self.shared.on_stream(self.peer, stream, protocol);
        }
    }
}

/// Counts, per peer, the streams refused over its bound ([`Inbound::OverPeerLimit`]), for a
/// protocol's task to ban a peer that keeps trying. At most 1,024 peers are counted (the
/// count starts over when more come).
#[derive(Default)]
pub struct Refusals(HashMap<PeerId, u32>);

impl Refusals {
    /// Counts one refusal of `peer`; true once it reached `limit` (its count then restarts).
    pub fn refused(&mut self, peer: PeerId, limit: u32) -> bool {
        if self.0.len() >= 1024 && !self.0.contains_key(&peer) {
            self.0.clear();
        }
        let n = self.0.entry(peer).or_insert(0);
        *n += 1;
        if *n >= limit {
            self.0.remove(&peer);
            return true;
        }
        false
    }
}

/// Runs a protocol's inbound task: each stream the acceptor hands over goes to `serve` (with
/// its permit, to hold while serving), and a peer refused over its bound 256 times is
/// banned, "kept opening more `what` streams than its bound". The heads and tunnel
/// protocols use it.
pub fn serve_inbound(
    net: &super::Net,
    mut incoming: mpsc::UnboundedReceiver<Inbound>,
    what: &'static str,
    mut serve: impl FnMut(&super::Net, PeerId, Stream, Permit, StreamProtocol) + 'static,
) {
    let net = net.clone();
    tokio::task::spawn_local(async move {
        let mut refusals = Refusals::default();
        while let Some(item) = incoming.recv().await {
            match item {
                Inbound::Stream(b) => {
                    let (peer, stream, permit, protocol) = *b;
                    serve(&net, peer, stream, permit, protocol);
                }
                Inbound::OverPeerLimit(peer) => {
                    if refusals.refused(peer, 256) {
                        net.ban(
                            peer,
                            format!("kept opening more {what} streams than its bound"),
                        );
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(per_peer: usize, total: usize) -> Shared {
        let (tx, _rx) = mpsc::unbounded_channel();
        Shared {
            counts: Arc::default(),
            limits: Limits {
                per_peer,
                total,
                refusals: 1,
            },
            protocols: &[],
            tx,
        }
    }

    #[test]
    fn a_peer_opening_more_streams_than_its_bound_is_refused_and_others_are_not() {
        let s = shared(3, 5);
        let (a, b) = (PeerId::random(), PeerId::random());
        let held: Vec<Permit> = (0..3)
            .map(|_| match s.take(a) {
                Taken::Yes(p) => p,
                _ => panic!("within the bound"),
            })
            .collect();
        assert!(matches!(s.take(a), Taken::OverPeer));
        // Another peer still gets streams while the node total allows.
        let b1 = s.take(b);
        let b2 = s.take(b);
        assert!(matches!((&b1, &b2), (Taken::Yes(_), Taken::Yes(_))));
        assert!(matches!(s.take(b), Taken::OverTotal));
        // Permits come back as readers end.
        drop(held);
        assert!(matches!(s.take(a), Taken::Yes(_)));
        let c = s.counts.lock().unwrap();
        assert_eq!(c.total, 2, "b's two permits");
        assert!(!c.per_peer.contains_key(&a));
    }

    #[test]
    fn refusals_ban_at_the_limit_and_the_table_stays_bounded() {
        let mut r = Refusals::default();
        let a = PeerId::random();
        assert!(!r.refused(a, 3));
        assert!(!r.refused(a, 3));
        assert!(r.refused(a, 3), "the third refusal reaches the limit");
        assert!(!r.refused(a, 3), "the count starts over after a ban");
        for _ in 0..5000 {
            r.refused(PeerId::random(), 3);
        }
        assert!(r.0.len() <= 1024, "{} peers counted", r.0.len());
    }
}
