//! The connection hooks of a `NetworkBehaviour` that wraps another and changes only what it
//! sees of the swarm's events or what it reports (`lan_dht::DualKad`, `candidates::Capped`):
//! one macro writes the five methods that pass straight through to the wrapped behaviour.

/// Writes `handle_pending_inbound_connection`, `handle_established_inbound_connection`,
/// `handle_pending_outbound_connection`, `handle_established_outbound_connection` and
/// `on_connection_handler_event` of a `NetworkBehaviour` impl as calls on `self.$field`, whose
/// `ConnectionHandler` must be the wrapper's.
macro_rules! delegate_connection_hooks {
    ($field:ident) => {
        fn handle_pending_inbound_connection(
            &mut self,
            id: libp2p::swarm::ConnectionId,
            local: &libp2p::Multiaddr,
            remote: &libp2p::Multiaddr,
        ) -> Result<(), libp2p::swarm::ConnectionDenied> {
            self.$field
                .handle_pending_inbound_connection(id, local, remote)
        }

        fn handle_established_inbound_connection(
            &mut self,
            id: libp2p::swarm::ConnectionId,
            peer: libp2p::PeerId,
            local: &libp2p::Multiaddr,
            remote: &libp2p::Multiaddr,
        ) -> Result<libp2p::swarm::THandler<Self>, libp2p::swarm::ConnectionDenied> {
            self.$field
                .handle_established_inbound_connection(id, peer, local, remote)
        }

        fn handle_pending_outbound_connection(
            &mut self,
            id: libp2p::swarm::ConnectionId,
            peer: Option<libp2p::PeerId>,
            addrs: &[libp2p::Multiaddr],
            role: libp2p::core::Endpoint,
        ) -> Result<Vec<libp2p::Multiaddr>, libp2p::swarm::ConnectionDenied> {
            self.$field
                .handle_pending_outbound_connection(id, peer, addrs, role)
        }

        fn handle_established_outbound_connection(
            &mut self,
            id: libp2p::swarm::ConnectionId,
            peer: libp2p::PeerId,
            addr: &libp2p::Multiaddr,
            role: libp2p::core::Endpoint,
            port_use: libp2p::core::transport::PortUse,
        ) -> Result<libp2p::swarm::THandler<Self>, libp2p::swarm::ConnectionDenied> {
            self.$field
                .handle_established_outbound_connection(id, peer, addr, role, port_use)
        }

        fn on_connection_handler_event(
            &mut self,
            peer: libp2p::PeerId,
            id: libp2p::swarm::ConnectionId,
            event: libp2p::swarm::THandlerOutEvent<Self>,
        ) {
            self.$field.on_connection_handler_event(peer, id, event)
        }
    };
}

pub(crate) use delegate_connection_hooks;
