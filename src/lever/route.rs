//! Where a Lever call runs when this node is not the only one with the service: the choice
//! among the providers of a service, sans-io (peers are their PeerId bytes, time is given).
//!
//! - **Providers** of `(env, service)` are looked up by the caller (`remote.rs`: the DHT key
//!   [`provider_key`]) and kept here [`PROVIDERS_TTL`] (an empty answer [`EMPTY_TTL`]), for at
//!   most [`MAX_CACHED_SERVICES`] services and [`MAX_PROVIDERS`] providers each.
//! - **Per peer**, a small table ([`MAX_PEERS`] rows): the EWMA of its answer time, the EWMA
//!   of the load it reports in each answer, the calls we have in flight to it, and until when
//!   it is out of the choice (it failed, or answered garbage or an implausible load).
//! - **A call without a resource** runs here when this node runs the service and is not full;
//!   otherwise it goes to a live provider drawn at random with weight
//!   `1 / ((latency + LATENCY_FLOOR_MS) x (1 + reported load + our calls in flight to it))`, so
//!   providers get calls in inverse proportion to how busy and slow they are. The floor (5 ms)
//!   keeps answer times that differ by a few milliseconds, which on a LAN or one busy host are
//!   noise, from outweighing load. Full providers are drawn
//!   only when every one is full.
//! - **A call with a resource** goes to its owner: rendezvous hashing (highest
//!   `blake3(resource, peer)`) over the live providers and this node when it runs the
//!   service. Every node with the same view picks the same owner, so a resource stays on one
//!   node cloud-wide; it moves only when its owner leaves the choice, and then, as on one
//!   node, to the next in the hash order, where the local rules (NewResource first) apply.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Added to a provider's measured answer time in its weight (module doc): differences of a
/// few milliseconds are noise (a busy host, a LAN), not a reason to skew the choice.
pub const LATENCY_FLOOR_MS: f64 = 5.0;
/// How long a provider list is used before it is looked up again.
pub const PROVIDERS_TTL: Duration = Duration::from_secs(30);
/// How long "no provider" is believed.
pub const EMPTY_TTL: Duration = Duration::from_secs(2);
/// Most services whose providers are kept.
pub const MAX_CACHED_SERVICES: usize = 256;
/// Most providers kept for one service.
pub const MAX_PROVIDERS: usize = 32;
/// Most peers in the table.
pub const MAX_PEERS: usize = 256;
/// Calls in flight to one peer, and to all peers.
pub const MAX_INFLIGHT_PER_PEER: u32 = 64;
/// See [`MAX_INFLIGHT_PER_PEER`].
pub const MAX_INFLIGHT_TOTAL: u32 = 256;
/// How long a peer whose call failed (it went away, timed out) is out of the choice.
pub const FAILED_FOR: Duration = Duration::from_secs(30);
/// How long a peer that answered garbage or an implausible load is out of the choice.
pub const GARBAGE_FOR: Duration = Duration::from_secs(600);
/// Highest load a provider may report (more calls in flight than any node holds is a lie).
pub const MAX_PLAUSIBLE_LOAD: u32 = 100_000;
/// Weight of a new sample in the EWMAs.
const ALPHA: f64 = 0.3;

/// The DHT key a node running `service` in `env` provides.
pub fn provider_key(env: &str, service: &str) -> Vec<u8> {
    format!("/leither/lever/{env}/{service}").into_bytes()
}

/// A peer: its PeerId bytes.
pub type Peer = Vec<u8>;

/// What a provider said about its load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reported {
    /// Its calls of the service in flight.
    pub inflight: u32,
    /// All its instances are saturated and it starts no more.
    pub full: bool,
}

/// This node's own state for the service called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// The service does not run here.
    Absent,
    /// It runs here and takes more calls.
    Free,
    /// It runs here, every instance at `maxInstanceLoad` and the budget starts no more.
    Full,
}

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Run it here.
    Here,
    /// Forward it to this provider.
    To(Peer),
    /// Nowhere: no live provider (and the service does not run here).
    Nowhere,
}

#[derive(Debug, Clone)]
struct Stat {
    latency_ms: Option<f64>,
    load: f64,
    full: bool,
    inflight: u32,
    out_until: Option<Instant>,
    last: Instant,
}

impl Stat {
    fn new(now: Instant) -> Stat {
        Stat {
            latency_ms: None,
            load: 0.0,
            full: false,
            inflight: 0,
            out_until: None,
            last: now,
        }
    }

    fn live(&self, now: Instant) -> bool {
        self.out_until.is_none_or(|t| now >= t)
    }
}

/// Why a call was not given a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// This peer has [`MAX_INFLIGHT_PER_PEER`] of our calls.
    PeerBusy,
    /// All peers together have [`MAX_INFLIGHT_TOTAL`].
    AllBusy,
}

/// The routing table of one node.
pub struct Table {
    me: Peer,
    providers: HashMap<(String, String), (Vec<Peer>, Instant)>,
    stats: HashMap<Peer, Stat>,
    inflight: u32,
    rng: u64,
}

impl Table {
    /// A table for the node whose PeerId bytes are `me`; `seed` starts its random draws.
    pub fn new(me: Peer, seed: u64) -> Table {
        Table {
            me,
            providers: HashMap::new(),
            stats: HashMap::new(),
            inflight: 0,
            rng: seed | 1,
        }
    }

    /// This node's PeerId bytes.
    pub fn me(&self) -> &[u8] {
        &self.me
    }

    /// The providers of `(env, service)` if looked up recently (ourselves left out).
    pub fn providers(&self, env: &str, service: &str, now: Instant) -> Option<Vec<Peer>> {
        match self.known_providers(env, service, now) {
            Some((list, true)) => Some(list),
            _ => None,
        }
    }

    /// The providers of `(env, service)` from the last lookup, however old, and whether that
    /// lookup is still fresh (within [`PROVIDERS_TTL`], or [`EMPTY_TTL`] for none).
    pub fn known_providers(
        &self,
        env: &str,
        service: &str,
        now: Instant,
    ) -> Option<(Vec<Peer>, bool)> {
        let (list, at) = self
            .providers
            .get(&(env.to_string(), service.to_string()))?;
        let ttl = if list.is_empty() {
            EMPTY_TTL
        } else {
            PROVIDERS_TTL
        };
        Some((list.clone(), now.duration_since(*at) < ttl))
    }

    /// Keeps a lookup's answer (ourselves left out, at most [`MAX_PROVIDERS`]).
    pub fn set_providers(&mut self, env: &str, service: &str, list: Vec<Peer>, now: Instant) {
        let mut list: Vec<Peer> = list.into_iter().filter(|p| *p != self.me).collect();
        list.sort();
        list.dedup();
        list.truncate(MAX_PROVIDERS);
        let key = (env.to_string(), service.to_string());
        if !self.providers.contains_key(&key) && self.providers.len() >= MAX_CACHED_SERVICES {
            // The oldest lookup goes.
            if let Some(old) = self
                .providers
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            {
                self.providers.remove(&old);
            }
        }
        self.providers.insert(key, (list, now));
    }

    /// A provider said it does not run the service (any more): out of that list.
    pub fn forget(&mut self, env: &str, service: &str, peer: &[u8]) {
        if let Some((list, _)) = self
            .providers
            .get_mut(&(env.to_string(), service.to_string()))
        {
            list.retain(|p| p != peer);
        }
    }

    fn stat(&mut self, peer: &[u8], now: Instant) -> &mut Stat {
        if !self.stats.contains_key(peer) && self.stats.len() >= MAX_PEERS {
            // The row seen longest ago goes, unless calls are in flight to it.
            if let Some(old) = self
                .stats
                .iter()
                .filter(|(_, s)| s.inflight == 0)
                .min_by_key(|(_, s)| s.last)
                .map(|(k, _)| k.clone())
            {
                self.stats.remove(&old);
            }
        }
        self.stats
            .entry(peer.to_vec())
            .or_insert_with(|| Stat::new(now))
    }

    /// Whether `peer` is in the choice now.
    pub fn is_live(&self, peer: &[u8], now: Instant) -> bool {
        self.stats.get(peer).is_none_or(|s| s.live(now))
    }

    fn next_random(&mut self) -> f64 {
        // xorshift64: draws for load balancing, not secrets.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn weight(&self, peer: &[u8]) -> f64 {
        let lat = |l: f64| l + LATENCY_FLOOR_MS;
        let Some(s) = self.stats.get(peer) else {
            // Never measured: as good as the best known, so new providers get tried.
            return self
                .stats
                .values()
                .filter_map(|s| s.latency_ms)
                .map(|l| 1.0 / lat(l))
                .fold(1.0, f64::max);
        };
        let latency = s.latency_ms.unwrap_or(0.0);
        1.0 / (lat(latency) * (1.0 + s.load + f64::from(s.inflight)))
    }

    /// Where a call goes: `providers` as [`Table::providers`] gave them, `local` this node's
    /// state for the service, `resource` the resource the call names.
    pub fn choose(
        &mut self,
        providers: &[Peer],
        local: Local,
        resource: Option<&str>,
        now: Instant,
    ) -> Choice {
        let live: Vec<&Peer> = providers.iter().filter(|p| self.is_live(p, now)).collect();
        if let Some(r) = resource {
            let here = (local != Local::Absent).then_some(&self.me);
            let owner = live
                .iter()
                .copied()
                .chain(here)
                .max_by_key(|p| rendezvous(r, p));
            return match owner {
                Some(p) if *p == self.me => Choice::Here,
                Some(p) => Choice::To(p.clone()),
                None => Choice::Nowhere,
            };
        }
        if local == Local::Free {
            return Choice::Here;
        }
        let free: Vec<&Peer> = live
            .iter()
            .copied()
            .filter(|p| !self.stats.get(p.as_slice()).is_some_and(|s| s.full))
            .collect();
        let pool = if free.is_empty() { live } else { free };
        if pool.is_empty() {
            return if local == Local::Full {
                Choice::Here
            } else {
                Choice::Nowhere
            };
        }
        if local == Local::Full
            && pool
                .iter()
                .all(|p| self.stats.get(p.as_slice()).is_some_and(|s| s.full))
        {
            return Choice::Here;
        }
        let weights: Vec<f64> = pool.iter().map(|p| self.weight(p)).collect();
        let total: f64 = weights.iter().sum();
        let mut x = self.next_random() * total;
        for (p, w) in pool.iter().zip(&weights) {
            if x < *w {
                return Choice::To((*p).clone());
            }
            x -= w;
        }
        pool.last()
            .map_or(Choice::Nowhere, |p| Choice::To((*p).clone()))
    }

    /// A call to `peer` starts: counted, within the bounds.
    pub fn begin(&mut self, peer: &[u8], now: Instant) -> Result<(), Refused> {
        if self.inflight >= MAX_INFLIGHT_TOTAL {
            return Err(Refused::AllBusy);
        }
        let s = self.stat(peer, now);
        if s.inflight >= MAX_INFLIGHT_PER_PEER {
            return Err(Refused::PeerBusy);
        }
        s.inflight += 1;
        s.last = now;
        self.inflight += 1;
        Ok(())
    }

    /// The call to `peer` ended (whatever the outcome; call exactly once per [`Table::begin`]).
    pub fn end(&mut self, peer: &[u8]) {
        if let Some(s) = self.stats.get_mut(peer)
            && s.inflight > 0
        {
            s.inflight -= 1;
            self.inflight = self.inflight.saturating_sub(1);
        }
    }

    /// An answer came from `peer` after `ms`, reporting `load`. An implausible load takes
    /// the peer out of the choice for [`GARBAGE_FOR`] and returns false.
    pub fn answered(&mut self, peer: &[u8], ms: f64, load: Reported, now: Instant) -> bool {
        if load.inflight > MAX_PLAUSIBLE_LOAD || !ms.is_finite() {
            self.garbage(peer, now);
            return false;
        }
        let s = self.stat(peer, now);
        s.latency_ms = Some(match s.latency_ms {
            Some(l) => l + ALPHA * (ms - l),
            None => ms,
        });
        s.load += ALPHA * (f64::from(load.inflight) - s.load);
        s.full = load.full;
        s.last = now;
        true
    }

    /// `peer` failed a call (went away, timed out, refused to open): out for [`FAILED_FOR`].
    pub fn failed(&mut self, peer: &[u8], now: Instant) {
        let s = self.stat(peer, now);
        s.out_until = Some(now + FAILED_FOR);
    }

    /// `peer` answered bytes that do not parse: out for [`GARBAGE_FOR`].
    pub fn garbage(&mut self, peer: &[u8], now: Instant) {
        let s = self.stat(peer, now);
        s.out_until = Some(now + GARBAGE_FOR);
        s.latency_ms = None;
        s.load = 0.0;
    }

    /// Calls in flight to all peers.
    pub fn inflight(&self) -> u32 {
        self.inflight
    }
}

/// The rendezvous score of `peer` for `resource`.
fn rendezvous(resource: &str, peer: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&(resource.len() as u64).to_be_bytes());
    h.update(resource.as_bytes());
    h.update(peer);
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Peer {
        vec![n; 38]
    }

    fn table() -> Table {
        Table::new(p(0), 42)
    }

    fn share(t: &mut Table, peers: &[Peer], n: usize, now: Instant) -> HashMap<Peer, usize> {
        let mut got = HashMap::new();
        for _ in 0..n {
            if let Choice::To(x) = t.choose(peers, Local::Absent, None, now) {
                *got.entry(x).or_default() += 1;
            }
        }
        got
    }

    #[test]
    fn calls_spread_in_inverse_proportion_to_reported_load() {
        let now = Instant::now();
        let mut t = table();
        let peers = [p(1), p(2)];
        for q in &peers {
            t.answered(q, 2.0, Reported::default(), now);
        }
        let even = share(&mut t, &peers, 2000, now);
        assert!((800..1200).contains(&even[&p(1)]), "{even:?}");
        // p(2) says 9 calls are in flight there: it gets about a tenth.
        for _ in 0..30 {
            t.answered(
                &p(2),
                2.0,
                Reported {
                    inflight: 9,
                    full: false,
                },
                now,
            );
        }
        let skewed = share(&mut t, &peers, 2000, now);
        assert!(skewed[&p(1)] > 1600, "{skewed:?}");
        assert!(skewed.get(&p(2)).copied().unwrap_or(0) > 50, "{skewed:?}");
    }

    #[test]
    fn a_resource_has_one_owner_whoever_asks_and_moves_only_when_it_leaves() {
        let now = Instant::now();
        let all = [p(0), p(1), p(2)];
        // Each node runs the service, or not, and sees the others as providers: all agree.
        let mut owners = Vec::new();
        for me in &all {
            let mut t = Table::new(me.clone(), 1);
            let others: Vec<Peer> = all.iter().filter(|x| *x != me).cloned().collect();
            let c = t.choose(&others, Local::Free, Some("room-7"), now);
            owners.push(match c {
                Choice::Here => me.clone(),
                Choice::To(x) => x,
                Choice::Nowhere => unreachable!(),
            });
        }
        assert!(owners.windows(2).all(|w| w[0] == w[1]), "{owners:?}");
        // 1000 calls from one node: always the same owner.
        let mut t = Table::new(p(9), 3);
        let first = t.choose(&all, Local::Absent, Some("room-7"), now);
        for _ in 0..1000 {
            assert_eq!(t.choose(&all, Local::Absent, Some("room-7"), now), first);
        }
        // The owner fails: the resource goes to the next, and comes back later.
        let Choice::To(owner) = first.clone() else {
            unreachable!()
        };
        t.failed(&owner, now);
        let moved = t.choose(&all, Local::Absent, Some("room-7"), now);
        assert!(moved != first && moved != Choice::Nowhere);
        assert_eq!(
            t.choose(&all, Local::Absent, Some("room-7"), now + FAILED_FOR),
            first
        );
    }

    #[test]
    fn local_runs_unless_full_and_full_providers_are_last() {
        let now = Instant::now();
        let mut t = table();
        let peers = [p(1), p(2)];
        assert_eq!(t.choose(&peers, Local::Free, None, now), Choice::Here);
        assert_eq!(t.choose(&[], Local::Full, None, now), Choice::Here);
        assert_eq!(t.choose(&[], Local::Absent, None, now), Choice::Nowhere);
        t.answered(
            &p(1),
            1.0,
            Reported {
                inflight: 10,
                full: true,
            },
            now,
        );
        for _ in 0..100 {
            assert_eq!(t.choose(&peers, Local::Full, None, now), Choice::To(p(2)));
        }
        t.answered(
            &p(2),
            1.0,
            Reported {
                inflight: 10,
                full: true,
            },
            now,
        );
        assert_eq!(t.choose(&peers, Local::Full, None, now), Choice::Here);
    }

    #[test]
    fn a_failed_peer_is_skipped_for_a_while_and_a_liar_for_longer() {
        let now = Instant::now();
        let mut t = table();
        let peers = [p(1), p(2)];
        t.failed(&p(2), now);
        for _ in 0..100 {
            assert_eq!(t.choose(&peers, Local::Absent, None, now), Choice::To(p(1)));
        }
        assert!(t.is_live(&p(2), now + FAILED_FOR));
        assert!(!t.answered(
            &p(1),
            1.0,
            Reported {
                inflight: u32::MAX,
                full: false
            },
            now
        ));
        assert!(!t.is_live(&p(1), now + FAILED_FOR));
        assert!(t.is_live(&p(1), now + GARBAGE_FOR));
        assert_eq!(
            t.choose(&peers, Local::Absent, None, now + FAILED_FOR),
            Choice::To(p(2))
        );
    }

    #[test]
    fn calls_in_flight_are_bounded_per_peer_and_in_all() {
        let now = Instant::now();
        let mut t = table();
        for _ in 0..MAX_INFLIGHT_PER_PEER {
            assert_eq!(t.begin(&p(1), now), Ok(()));
        }
        assert_eq!(t.begin(&p(1), now), Err(Refused::PeerBusy));
        t.end(&p(1));
        assert_eq!(t.begin(&p(1), now), Ok(()));
        let mut n = 2u8;
        while t.inflight() < MAX_INFLIGHT_TOTAL {
            let _ = t.begin(&p(n), now);
            if t.stats[&p(n)].inflight == MAX_INFLIGHT_PER_PEER {
                n += 1;
            }
        }
        assert_eq!(t.begin(&p(200), now), Err(Refused::AllBusy));
    }

    #[test]
    fn the_tables_are_bounded() {
        let now = Instant::now();
        let mut t = table();
        for i in 0..(MAX_PEERS + 50) {
            let peer = (i as u32).to_be_bytes().to_vec();
            t.answered(&peer, 1.0, Reported::default(), now);
        }
        assert_eq!(t.stats.len(), MAX_PEERS);
        for i in 0..(MAX_CACHED_SERVICES + 50) {
            let many: Vec<Peer> = (0..100u8).map(p).collect();
            t.set_providers("e.x", &format!("s{i}"), many, now);
        }
        assert_eq!(t.providers.len(), MAX_CACHED_SERVICES);
        assert!(t.providers.values().all(|(l, _)| l.len() <= MAX_PROVIDERS));
        // Ourselves never appear as a provider.
        assert!(t.providers.values().all(|(l, _)| !l.contains(&p(0))));
    }
}
