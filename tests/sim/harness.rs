//! The scale simulation: `n` real node cores (their own `NodeState`, redb store, swarm,
//! Kademlia, heads, sync and publish tasks) on one thread, over the in-process transport with
//! the latency and loss of [`super::link`], on tokio's paused clock. It measures DHT lookups,
//! provider lookups, how fast a new version reaches the followers of a Mimei, bytes sent and
//! memory per node (docs/performance.md, "Simulation").

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use leither::api::NodeState;
use leither::config::{LogLevel, SystemVars};
use leither::ipfs::{Cid, Codec, Version};
use leither::mimei::store::Mimeis;
use leither::mimei::{
    HeaderFields, Member, MimeiHeader, MimeiId, MimeiType, Right, Rights, VersionRecord,
};
use leither::net::Net;
use leither::pki::NodeKey;
use leither::store::Store;
use leither::store::blocks::Blocks;
use libp2p::PeerId;
use libp2p::kad::KBucketKey;
use tokio::time::Instant;

use super::link::{self, Link};
use super::tally::Tally;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Config {
    /// Nodes.
    pub n: usize,
    /// The links' latency and loss.
    pub link: Link,
    /// Nodes that follow the published Mimei (at most `n - 1`).
    pub followers: usize,
    /// DHT lookups of a random peer from a random node.
    pub lookups: usize,
    /// Provider lookups from nodes that do not follow.
    pub provider_lookups: usize,
    /// The first `/memory/` port (runs in one process must not share ports).
    pub port_base: u64,
    /// Picks nodes, keys and losses: the same seed makes the same run.
    pub seed: u64,
    /// Simulated time a new version may take to reach every follower.
    pub deadline: Duration,
    /// libp2p's periodic work (ping, identify again, DHT bootstrap), whose timers run on
    /// real time: off, unless a run is to measure what it costs at the run's own pace.
    pub periodic: leither::net::Periodic,
}

/// What a run measured. Times are simulated (the paused clock), except `wall`.
#[derive(Debug, Default)]
pub struct Report {
    pub n: usize,
    /// Lookups whose result held the peer looked for.
    pub lookups_ok: usize,
    pub lookups: usize,
    /// Lookup times, ms.
    pub lookup_ms: Vec<f64>,
    /// Requests each lookup sent (kad's `QueryStats`).
    pub lookup_requests: Vec<f64>,
    /// Hops of each lookup, replayed on the routing tables the run built (see [`hops`]).
    pub hops: Vec<f64>,
    /// Replays that never reached the peer.
    pub hops_failed: usize,
    /// Peers in a routing table.
    pub table_sizes: Vec<f64>,
    /// Provider lookups that found the author.
    pub providers_ok: usize,
    pub provider_lookups: usize,
    pub provider_ms: Vec<f64>,
    /// Providers each provider lookup found.
    pub providers_found: Vec<f64>,
    /// Followers' first sync of version 1, ms, and the errors of those that failed.
    pub first_sync_ms: Vec<f64>,
    pub first_sync_errors: Vec<String>,
    /// The first syncs' steps (`sync::Steps`), ms: finding the head, fetching the blocks.
    pub first_step_head_ms: Vec<f64>,
    pub first_step_blocks_ms: Vec<f64>,
    /// Followers, and the time version 2 took to reach each that it reached, ms after the
    /// author started publishing.
    pub followers: usize,
    pub reach_ms: Vec<f64>,
    /// The time its signed head took to reach each follower, ms.
    pub head_ms: Vec<f64>,
    /// Followers the publish pushed the head to.
    pub pushed: usize,
    /// Peers the author would push the next version to (its table of askers) before version
    /// 2 was published.
    pub author_knows: usize,
    /// Each follower's sync of version 2, step by step (`sync::Steps`), ms: finding the
    /// head, fetching the blocks, storing the version.
    pub step_head_ms: Vec<f64>,
    pub step_blocks_ms: Vec<f64>,
    pub step_store_ms: Vec<f64>,
    /// Bytes each node sent, in all, and while version 2 spread.
    pub bytes_per_node: f64,
    pub publish_bytes_per_node: f64,
    /// Bytes each node sent per protocol, in all and while version 2 spread, most first
    /// ([`Tally`]; "framing" is noise, yamux and the handshakes: the rest of the total).
    pub by_protocol: Vec<(String, f64, f64)>,
    /// Wall time to start each hundred nodes, s.
    pub start_wall_per_100: Vec<f64>,
    /// Resident memory per node, KiB (RSS growth over the run / n).
    pub rss_kib_per_node: f64,
    /// Simulated and wall time of the run, s.
    pub sim_secs: f64,
    pub wall_secs: f64,
}

/// The `q` quantile (0..=1) of `v`, nearest rank; 0 for none.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

/// The mean of `v`; 0 for none.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `k` distinct indices below `n`, none in `skip`.
    fn pick(&mut self, n: usize, k: usize, skip: &HashSet<usize>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen = skip.clone();
        while out.len() < k && seen.len() < n {
            let i = self.below(n);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

struct Node {
    state: Rc<NodeState>,
    net: Net,
    sent: Arc<AtomicU64>,
}

/// The resident memory of this process, KiB.
fn rss_kib() -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Says on stderr how far the run is, in wall and simulated time.
fn phase(wall: &std::time::Instant, sim: Instant, what: &str) {
    eprintln!(
        "sim: {what} at {:.1} s wall, {:.1} s simulated",
        wall.elapsed().as_secs_f64(),
        sim.elapsed().as_secs_f64()
    );
}

/// Runs the simulation on a fresh one-thread runtime with a paused clock.
pub fn run(cfg: &Config) -> Report {
    // One logger serves every node: errors only, unless SIM_LOG=warn.
    let level = match std::env::var("SIM_LOG").as_deref() {
        Ok("warn") => LogLevel::Warn,
        _ => LogLevel::Error,
    };
    let _ = leither::log::init(level, None, true);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    // The stores on tmpfs when there is one: the simulation measures the network, and a
    // thousand nodes' fsyncs on a shared disk would stall its one thread.
    let shm = std::path::Path::new("/dev/shm");
    let tmp = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let dir = tmp.join(format!(
        "leither-sim-{}-{}",
        std::process::id(),
        cfg.port_base
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let report = local.block_on(&rt, simulate(cfg, dir.clone()));
    drop(local);
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    report
}

async fn simulate(cfg: &Config, dir: PathBuf) -> Report {
    let wall = std::time::Instant::now();
    let sim_start = Instant::now();
    let mut rng = Rng(cfg.seed);
    let mut r = Report {
        n: cfg.n,
        ..Default::default()
    };
    let rss0 = rss_kib();

    // The network: node i listens on /memory/(base + i) and bootstraps from node 0 and two
    // other nodes started before it.
    let tally = Tally::default();
    let mut hundred = std::time::Instant::now();
    let mut dials = link::DIALS.load(Ordering::Relaxed);
    let mut kad_bytes = 0u64;
    let mut nodes: Vec<Node> = Vec::with_capacity(cfg.n);
    let mut addrs: Vec<String> = Vec::with_capacity(cfg.n);
    for i in 0..cfg.n {
        let home = dir.join(i.to_string());
        std::fs::create_dir_all(&home).expect("a node's home");
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&rng.next().to_le_bytes());
        seed[8..16].copy_from_slice(&(i as u64).to_le_bytes());
        let key = NodeKey::from_seed(&seed).expect("a node key");
        let mut vars = SystemVars {
            mdns: false,
            ..Default::default()
        };
        if i > 0 {
            let mut boot: HashSet<usize> = HashSet::from([0]);
            for _ in 0..2 {
                boot.insert(rng.below(i));
            }
            vars.bootstrap = boot.into_iter().map(|b| addrs[b].clone()).collect();
        }
        // A small page cache: the simulated nodes hold a few records each.
        let store = Store::open(&home, 256 << 10, &key.id().to_string()).expect("a store");
        let state = Rc::new(NodeState::new(home, key, vars, store));
        let sent = Arc::new(AtomicU64::new(0));
        let port = cfg.port_base + i as u64;
        let (link, counter, lseed, t) = (cfg.link, sent.clone(), rng.next(), tally.clone());
        let net = leither::net::start_over(
            &state,
            move |kp| link::transport(kp, link, counter, lseed, t),
            format!("/memory/{port}").parse().expect("a memory address"),
            cfg.periodic,
        )
        .expect("the swarm starts");
        let _ = state.net.set(net.clone());
        addrs.push(format!("/memory/{port}/p2p/{}", net.peer_id()));
        nodes.push(Node { state, net, sent });
        tokio::time::sleep(Duration::from_millis(20)).await;
        if (i + 1) % 100 == 0 {
            let secs = hundred.elapsed().as_secs_f64();
            hundred = std::time::Instant::now();
            r.start_wall_per_100.push(secs);
            let d = link::DIALS.load(Ordering::Relaxed);
            let k: u64 = tally
                .snapshot()
                .iter()
                .filter(|(p, _)| p.contains("/kad/"))
                .map(|(_, b)| *b)
                .sum();
            let open: usize = nodes.iter().map(|n| n.net.peers().len()).sum();
            eprintln!(
                "sim: {} nodes started, the last 100 in {secs:.1} s wall, {} dials, {} KiB of kad; {open} connections open; RSS {} MiB",
                i + 1,
                d - dials,
                (k - kad_bytes) / 1024,
                rss_kib() / 1024
            );
            (dials, kad_bytes) = (d, k);
        }
    }
    phase(&wall, sim_start, "nodes started");
    // Every node's first bootstrap ends (kad's query timeout is 10 s).
    tokio::time::sleep(Duration::from_secs(15)).await;
    phase(&wall, sim_start, "bootstraps done");

    // DHT lookups of random peers, one at a time.
    let ids: Vec<PeerId> = nodes.iter().map(|n| n.net.peer_id()).collect();
    let mut pairs = Vec::new();
    for _ in 0..cfg.lookups {
        let from = rng.below(cfg.n);
        let mut to = rng.below(cfg.n);
        if to == from {
            to = (to + 1) % cfg.n;
        }
        pairs.push((from, to));
        let t = Instant::now();
        let l = nodes[from]
            .net
            .closest_peers(ids[to])
            .await
            .expect("the lookup runs");
        r.lookup_ms.push(t.elapsed().as_secs_f64() * 1e3);
        r.lookup_requests.push(f64::from(l.requests));
        r.lookups += 1;
        if l.peers.contains(&ids[to]) {
            r.lookups_ok += 1;
        }
    }
    phase(&wall, sim_start, "lookups done");
    eprintln!(
        "sim: lookups {}/{} found, time p50 {:.0} p95 {:.0} ms, requests mean {:.1}",
        r.lookups_ok,
        r.lookups,
        quantile(&r.lookup_ms, 0.5),
        quantile(&r.lookup_ms, 0.95),
        mean(&r.lookup_requests)
    );
    // Hops, replayed on the tables as they are now.
    let mut tables: HashMap<PeerId, Vec<PeerId>> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let t = n.net.routing_table().await.expect("a routing table");
        r.table_sizes.push(t.len() as f64);
        tables.insert(ids[i], t);
    }
    for (from, to) in &pairs {
        match hops(&tables, ids[*from], ids[*to]) {
            Some(h) => r.hops.push(f64::from(h)),
            None => r.hops_failed += 1,
        }
    }

    // A Mimei: its author publishes version 1, the followers sync it (and so follow it).
    let author = rng.below(cfg.n);
    let followers = rng.pick(
        cfg.n,
        cfg.followers.min(cfg.n - 1),
        &HashSet::from([author]),
    );
    r.followers = followers.len();
    let a = &nodes[author];
    let mid = create_mimei(&a.state);
    new_version(&a.state, &mid, 1);
    leither::net::publish::publish(&a.net, &a.state, &mid, leither::net::publish::DEFAULT_EOL)
        .await
        .expect("version 1 is published");
    let t = Instant::now();
    let syncs: Vec<_> = followers
        .iter()
        .map(|f| {
            let net = nodes[*f].net.clone();
            async move {
                let job = leither::net::sync::start(&net, mid, None);
                let res = job.wait().await;
                (res, t.elapsed().as_secs_f64() * 1e3)
            }
        })
        .collect();
    for (res, ms) in futures::future::join_all(syncs).await {
        match res {
            Ok(rep) => {
                r.first_sync_ms.push(ms);
                r.first_step_head_ms.push(rep.steps.head * 1e3);
                r.first_step_blocks_ms.push(rep.steps.blocks * 1e3);
            }
            Err(e) => r.first_sync_errors.push(e),
        }
    }
    phase(&wall, sim_start, "followers synced version 1");
    // Their provider announcements and pushes run in the background.
    tokio::time::sleep(Duration::from_secs(15)).await;

    // Provider lookups from nodes that do not follow.
    let mut skip: HashSet<usize> = followers.iter().copied().collect();
    skip.insert(author);
    let key = leither::net::sync::provider_key(&mid);
    for p in rng.pick(cfg.n, cfg.provider_lookups, &skip) {
        let t = Instant::now();
        let found = nodes[p]
            .net
            .providers(key.clone())
            .await
            .unwrap_or_default();
        r.provider_ms.push(t.elapsed().as_secs_f64() * 1e3);
        r.providers_found.push(found.len() as f64);
        r.provider_lookups += 1;
        if found.iter().any(|(peer, _)| *peer == ids[author]) {
            r.providers_ok += 1;
        }
    }

    phase(&wall, sim_start, "provider lookups done");
    // Version 2: the time it takes to reach each follower.
    let bytes_before: u64 = nodes.iter().map(|n| n.sent.load(Ordering::Relaxed)).sum();
    let tally_before = tally.snapshot();
    r.author_knows = leither::net::publish::audience_size(&a.net, &mid);
    new_version(&a.state, &mid, 2);
    let t = Instant::now();
    let (net, state) = (a.net.clone(), a.state.clone());
    let publishing = tokio::task::spawn_local(async move {
        leither::net::publish::publish(&net, &state, &mid, leither::net::publish::DEFAULT_EOL)
            .await
            .map(|p| p.pushed)
    });
    let mut waiting: Vec<usize> = followers.clone();
    let mut no_head: Vec<usize> = followers.clone();
    // Every 50 ms (the figures' resolution): each look reads every waiting follower's store.
    while !waiting.is_empty() && t.elapsed() < cfg.deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        no_head.retain(|f| {
            let head = leither::net::heads::get(&nodes[*f].state, &mid)
                .ok()
                .flatten()
                .map_or(0, |e| e.bundle.version.version());
            if head >= 2 {
                r.head_ms.push(t.elapsed().as_secs_f64() * 1e3);
                false
            } else {
                true
            }
        });
        waiting.retain(|f| {
            if last_version(&nodes[*f].state, &mid) >= 2 {
                r.reach_ms.push(t.elapsed().as_secs_f64() * 1e3);
                let job = leither::net::sync::job(&nodes[*f].net, &mid);
                if let Some(Ok(rep)) = job.and_then(|j| j.result())
                    && rep.version == 2
                {
                    r.step_head_ms.push(rep.steps.head * 1e3);
                    r.step_blocks_ms.push(rep.steps.blocks * 1e3);
                    r.step_store_ms.push(rep.steps.store * 1e3);
                }
                false
            } else {
                true
            }
        });
    }
    phase(&wall, sim_start, "version 2 spread");
    r.pushed = publishing.await.ok().and_then(|p| p.ok()).unwrap_or(0);
    let bytes_after: u64 = nodes.iter().map(|n| n.sent.load(Ordering::Relaxed)).sum();
    r.bytes_per_node = bytes_after as f64 / cfg.n as f64;
    r.publish_bytes_per_node = (bytes_after - bytes_before) as f64 / cfg.n as f64;
    let tally_after = tally.snapshot();
    let per = |b: u64| b as f64 / cfg.n as f64;
    let mut rows: Vec<(String, f64, f64)> = tally_after
        .iter()
        .map(|(k, v)| {
            let before = tally_before.get(k).copied().unwrap_or(0);
            (k.clone(), per(*v), per(v - before))
        })
        .collect();
    let counted: u64 = tally_after.values().sum();
    let counted_before: u64 = tally_before.values().sum();
    rows.push((
        "framing".to_string(),
        per(bytes_after.saturating_sub(counted)),
        per((bytes_after - bytes_before).saturating_sub(counted - counted_before)),
    ));
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    r.by_protocol = rows;
    r.rss_kib_per_node = rss_kib().saturating_sub(rss0) as f64 / cfg.n as f64;
    r.sim_secs = sim_start.elapsed().as_secs_f64();
    r.wall_secs = wall.elapsed().as_secs_f64();
    r
}

/// Hops of a lookup from `from` for `target`, replayed on `tables` as Kademlia runs it: in
/// each round the 3 closest known peers not yet asked are asked, and each answers the 20
/// closest to `target` in its table. The hops are the rounds until `target` is known (0: in
/// `from`'s own table); `None` when no peer is left to ask.
pub fn hops(tables: &HashMap<PeerId, Vec<PeerId>>, from: PeerId, target: PeerId) -> Option<u32> {
    const ALPHA: usize = 3;
    const K: usize = 20;
    let key = KBucketKey::from(target);
    let closest = |list: &[PeerId]| -> Vec<PeerId> {
        let mut v: Vec<PeerId> = list.to_vec();
        v.sort_by_key(|p| KBucketKey::from(*p).distance(&key));
        v.truncate(K);
        v
    };
    let mut known: BTreeMap<libp2p::kad::KBucketDistance, PeerId> = BTreeMap::new();
    let own = tables.get(&from)?;
    for p in closest(own) {
        known.insert(KBucketKey::from(p).distance(&key), p);
    }
    let mut asked: HashSet<PeerId> = HashSet::from([from]);
    for round in 0..64u32 {
        if known.values().any(|p| *p == target) {
            return Some(round);
        }
        let ask: Vec<PeerId> = known
            .values()
            .take(K)
            .filter(|p| !asked.contains(*p))
            .take(ALPHA)
            .copied()
            .collect();
        if ask.is_empty() {
            return None;
        }
        for p in ask {
            asked.insert(p);
            if let Some(t) = tables.get(&p) {
                for q in closest(t) {
                    known.insert(KBucketKey::from(q).distance(&key), q);
                }
            }
        }
    }
    None
}

/// The author's Mimei, readable by everyone (so its followers may fetch its blocks).
fn create_mimei(state: &NodeState) -> MimeiId {
    let key = &state.key;
    let mut rights = Rights::new(key.id());
    rights
        .set(Some(&key.id()), Member::Everyone, Right::READ)
        .expect("everyone may read");
    let header = MimeiHeader::create(
        key,
        HeaderFields {
            app: None,
            kind: MimeiType::File,
            mark: "sim".to_string(),
            nonce: None,
            ext: String::new(),
            created: leither::clock::unix_now(),
            revision: 0,
            rights,
        },
    )
    .expect("a header");
    Mimeis::new(&state.store)
        .create(&header)
        .expect("the Mimei is stored");
    *header.mid()
}

/// Makes version `n` of `mid`: one 16 KiB raw block.
fn new_version(state: &NodeState, mid: &MimeiId, n: u64) {
    let mut data = vec![0u8; 16 << 10];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i as u64).wrapping_mul(n).wrapping_add(n) as u8;
    }
    let cid = Cid::of_block(Version::V1, Codec::Raw, &data);
    Blocks::new(&state.store)
        .put(&cid, &data)
        .expect("the block is stored");
    let m = Mimeis::new(&state.store);
    let verdict = &mut leither::ops::blocks::node_verdict;
    m.set_cur(mid, Some(cid), verdict).expect("cur is set");
    let s = m.state(mid).expect("the Mimei's state");
    let prev = m
        .versions(mid)
        .expect("versions")
        .last()
        .map_or(0, |r| r.version());
    let rec = VersionRecord::sign(
        &state.key,
        *mid,
        s.next,
        &cid.to_bytes(),
        prev,
        leither::clock::unix_now(),
    )
    .expect("the version is signed");
    m.add_version(&rec, verdict).expect("the version is stored");
}

fn last_version(state: &NodeState, mid: &MimeiId) -> u64 {
    Mimeis::new(&state.store)
        .versions(mid)
        .ok()
        .and_then(|v| v.last().map(|r| r.version()))
        .unwrap_or(0)
}
