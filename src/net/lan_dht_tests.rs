//! Unit tests of [`super`] (the dual DHT): who enters the LAN table and who does not, and how
//! a query asked of both DHTs is merged. The swarm is simulated: connection and address
//! events are fed in as the swarm would report them.

use super::*;
use libp2p::core::{Endpoint, transport::PortUse};
use libp2p::kad::{GetProvidersOk, ProgressStep, QueryResult, QueryStats};
use libp2p::swarm::ConnectionId;
use std::num::NonZeroUsize;

fn a(s: &str) -> Multiaddr {
    s.parse().unwrap()
}

fn dual() -> DualKad {
    let me = PeerId::random();
    DualKad::new(
        me,
        SharedStore::new(MemoryStore::new(me)),
        Duration::from_secs(10),
        Some(Duration::from_secs(300)),
    )
}

/// A connection from `remote` (they dialled us) or to it (we dialled).
fn connect(d: &mut DualKad, peer: PeerId, remote: &str, n: usize, we_dialled: bool) {
    let endpoint = if we_dialled {
        ConnectedPoint::Dialer {
            address: a(remote),
            role_override: Endpoint::Dialer,
            port_use: PortUse::Reuse,
        }
    } else {
        ConnectedPoint::Listener {
            local_addr: a("/ip4/0.0.0.0/tcp/4801"),
            send_back_addr: a(remote),
        }
    };
    d.on_swarm_event(FromSwarm::ConnectionEstablished(
        libp2p::swarm::behaviour::ConnectionEstablished {
            peer_id: peer,
            connection_id: ConnectionId::new_unchecked(n),
            endpoint: &endpoint,
            failed_addresses: &[],
            other_established: 0,
        },
    ));
}

/// Identify told us `peer` listens on `addr`.
fn listens(d: &mut DualKad, peer: PeerId, addr: &str) {
    let addr = a(addr);
    d.on_swarm_event(FromSwarm::NewExternalAddrOfPeer(
        libp2p::swarm::behaviour::NewExternalAddrOfPeer {
            peer_id: peer,
            addr: &addr,
        },
    ));
}

/// The LAN DHT confirmed `peer` speaks `/ipfs/lan/kad/1.0.0` on an inbound connection.
fn speaks_lan(d: &mut DualKad, peer: PeerId) {
    d.on_pair_event(PairEvent::Lan(kad::Event::UnroutablePeer { peer }));
}

#[test]
fn lan_addresses_are_ips_on_a_lan_and_not_relayed() {
    assert!(is_lan_addr(&a("/ip4/192.168.1.5/tcp/4001")));
    assert!(is_lan_addr(&a("/ip6/fe80::1/tcp/4001")));
    assert!(is_lan_addr(&a(
        "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"
    )));
    assert!(!is_lan_addr(&a("/ip4/8.8.8.8/tcp/4001")));
    assert!(!is_lan_addr(&a("/dns4/printer.local/tcp/4001")));
    assert!(!is_lan_addr(&a(
        "/ip4/192.168.1.5/tcp/4001/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq/p2p-circuit"
    )));
}

#[test]
fn a_peer_met_on_a_public_address_is_not_added_to_the_lan_table() {
    let mut d = dual();
    let stranger = PeerId::random();
    // It reaches us from the internet, speaks the LAN protocol, and claims LAN addresses.
    connect(&mut d, stranger, "/ip4/8.8.8.8/tcp/5555", 1, false);
    listens(&mut d, stranger, "/ip4/192.168.1.9/tcp/4001");
    listens(&mut d, stranger, "/ip4/8.8.8.8/tcp/4001");
    speaks_lan(&mut d, stranger);
    let _ = d.add_address(&stranger, a("/ip4/8.8.8.8/tcp/4001"));
    let _ = d.add_address(&stranger, a("/ip4/10.0.0.9/tcp/4001"));
    assert_eq!(d.lan_entry(&stranger), None);
    assert_eq!(d.lan_table_size(), 0);
    // The public table takes it, as before.
    assert_eq!(d.kbuckets().map(|b| b.num_entries()).sum::<usize>(), 1);
    // Dialled on its public address: still not on the LAN.
    let dialled = PeerId::random();
    connect(&mut d, dialled, "/ip4/1.2.3.4/tcp/4001", 2, true);
    d.on_pair_event(PairEvent::Lan(kad::Event::RoutablePeer {
        peer: dialled,
        address: a("/ip4/1.2.3.4/tcp/4001"),
    }));
    assert_eq!(d.lan_entry(&dialled), None);
}

#[test]
fn a_lan_peer_enters_under_its_lan_addresses_once_it_speaks_the_lan_protocol() {
    let mut d = dual();
    let neighbour = PeerId::random();
    connect(&mut d, neighbour, "/ip4/192.168.1.5/tcp/50123", 1, false);
    listens(&mut d, neighbour, "/ip4/192.168.1.5/tcp/4001");
    listens(&mut d, neighbour, "/ip4/127.0.0.1/tcp/4001");
    listens(&mut d, neighbour, "/ip4/8.8.8.8/tcp/4001");
    // Not before it is seen to speak the LAN DHT's protocol.
    assert_eq!(d.lan_entry(&neighbour), None);
    speaks_lan(&mut d, neighbour);
    // Its LAN address only: neither the public one nor loopback (it has a better one).
    assert_eq!(
        d.lan_entry(&neighbour),
        Some(vec![a("/ip4/192.168.1.5/tcp/4001")])
    );

    // A peer on this host has only loopback: it enters under it.
    let local = PeerId::random();
    connect(&mut d, local, "/ip4/127.0.0.1/tcp/50124", 2, false);
    listens(&mut d, local, "/ip4/127.0.0.1/tcp/4002");
    speaks_lan(&mut d, local);
    assert_eq!(
        d.lan_entry(&local),
        Some(vec![a("/ip4/127.0.0.1/tcp/4002")])
    );

    // A LAN peer we dialled enters under the address we reached.
    let dialled = PeerId::random();
    connect(&mut d, dialled, "/ip6/fe80::2/tcp/4001", 3, true);
    d.on_pair_event(PairEvent::Lan(kad::Event::RoutablePeer {
        peer: dialled,
        address: a("/ip6/fe80::2/tcp/4001"),
    }));
    assert_eq!(
        d.lan_entry(&dialled),
        Some(vec![a("/ip6/fe80::2/tcp/4001")])
    );

    // A LAN peer that never speaks the LAN protocol stays out.
    let quiet = PeerId::random();
    connect(&mut d, quiet, "/ip4/10.1.2.3/tcp/50125", 4, false);
    listens(&mut d, quiet, "/ip4/10.1.2.3/tcp/4001");
    assert_eq!(d.lan_entry(&quiet), None);
    assert_eq!(d.lan_table_size(), 3);
}

#[test]
fn tracked_peers_and_their_addresses_are_bounded() {
    let mut d = dual();
    for n in 0..MAX_TRACKED_PEERS + 10 {
        connect(
            &mut d,
            PeerId::random(),
            "/ip4/192.168.1.5/tcp/50000",
            n,
            false,
        );
    }
    assert_eq!(d.seen.len(), MAX_TRACKED_PEERS);
    let p = *d.seen.keys().next().unwrap();
    for port in 0..100 {
        listens(&mut d, p, &format!("/ip4/192.168.1.5/tcp/{port}"));
    }
    assert_eq!(d.seen[&p].addrs.len(), MAX_LAN_ADDRS);
}

fn progressed(id: QueryId, key: &RecordKey, provider: PeerId, last: bool) -> kad::Event {
    kad::Event::OutboundQueryProgressed {
        id,
        result: QueryResult::GetProviders(Ok(GetProvidersOk::FoundProviders {
            key: key.clone(),
            providers: [provider].into_iter().collect(),
        })),
        stats: QueryStats::empty(),
        step: ProgressStep {
            count: NonZeroUsize::MIN,
            last,
        },
    }
}

#[test]
fn a_provider_lookup_asks_both_and_ends_when_both_have_ended() {
    for wan_first in [true, false] {
        let mut d = dual();
        let key = RecordKey::new(&b"some cid".to_vec());
        let id = d.get_providers(key.clone());
        let lan = *d.lan_of.keys().next().unwrap();
        let (on_wan, on_lan) = (PeerId::random(), PeerId::random());
        let events = [
            PairEvent::Wan(progressed(id, &key, on_wan, true)),
            PairEvent::Lan(progressed(lan, &key, on_lan, true)),
        ];
        let order: Vec<PairEvent> = if wan_first {
            events.into_iter().collect()
        } else {
            events.into_iter().rev().collect()
        };
        for ev in order {
            d.on_pair_event(ev);
        }
        let out: Vec<_> = d.out.drain(..).collect();
        assert_eq!(out.len(), 2);
        let mut found = Vec::new();
        for (i, ev) in out.into_iter().enumerate() {
            let kad::Event::OutboundQueryProgressed {
                id: got,
                result:
                    QueryResult::GetProviders(Ok(GetProvidersOk::FoundProviders { providers, .. })),
                step,
                ..
            } = ev
            else {
                panic!("not a provider result");
            };
            // Both answers under the public query's ID; only the second is the last.
            assert_eq!(got, id);
            assert_eq!(step.last, i == 1);
            found.extend(providers);
        }
        found.sort();
        let mut want = vec![on_wan, on_lan];
        want.sort();
        assert_eq!(found, want);
        assert!(d.joint.is_empty() && d.lan_of.is_empty());
    }
}

#[test]
fn the_lans_own_queries_are_not_shown_to_the_driver() {
    let mut d = dual();
    // A LAN bootstrap or re-provide the driver never asked for.
    let id = d.pair.lan.get_providers(RecordKey::new(&b"k".to_vec()));
    d.on_pair_event(PairEvent::Lan(progressed(
        id,
        &RecordKey::new(&b"k".to_vec()),
        PeerId::random(),
        true,
    )));
    assert!(d.out.is_empty());
    // What LAN peers ask us to keep goes to the driver's checks.
    d.on_pair_event(PairEvent::Lan(kad::Event::InboundRequest {
        request: kad::InboundRequest::FindNode {
            num_closer_peers: 0,
        },
    }));
    assert_eq!(d.out.len(), 1);
}

#[test]
fn both_dhts_answer_from_one_store() {
    let mut d = dual();
    let key = RecordKey::new(&b"cid".to_vec());
    let _ = d.start_providing(key.clone()).unwrap();
    // The LAN DHT sees the record the public one was given, and the store holds it once.
    assert_eq!(d.pair.lan.store_mut().providers(&key).len(), 1);
    assert_eq!(d.store_mut().provided().count(), 1);
    let r = Record::new(RecordKey::new(&b"/lv/x".to_vec()), b"v".to_vec());
    let _ = d.put_record(r, kad::Quorum::One).unwrap();
    assert_eq!(d.pair.lan.store_mut().records().count(), 1);
    d.stop_providing(&key);
    assert_eq!(d.pair.lan.store_mut().providers(&key).len(), 0);
}
