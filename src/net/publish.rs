//! Publish: sign a head for a Mimei's latest version, put it in the DHT, provide the Mimei,
//! and push the head to the providers that follow it; re-publish before the EOL runs out.
//! `unpublish` stops all of that here (copies in the DHT expire at their EOL).

use std::time::Duration;

use libp2p::PeerId;

use super::NetError;
use super::handle::Net;
use super::heads::{self, Via};
use super::sync::{head_key, provider_key};
use crate::api::NodeState;
use crate::clock::unix_now;
use crate::ipfs::Cid;
use crate::mimei::refs::RefsRecord;
use crate::mimei::store::{MimeiStoreError, Mimeis};
use crate::mimei::{HeadBundle, HeadRecord, MimeiId, Right};
use crate::store::blocks::Blocks;
use crate::{log_info, log_warn};

/// The EOL of a head when none is given: 168 hours, as in Leither.
pub const DEFAULT_EOL: Duration = Duration::from_secs(168 * 3600);
/// Shortest EOL accepted.
pub const MIN_EOL: Duration = Duration::from_secs(60);
/// How many of the peers that asked for a head a follower tells of a version it just synced.
pub const RELAY_FANOUT: usize = 6;
/// How often the re-publish task looks.
const REPUBLISH_CHECK: Duration = Duration::from_secs(60);

/// What a publish did.
pub struct Published {
    /// The version published.
    pub version: u64,
    /// The head's sequence number.
    pub seq: u64,
    /// Peers that took the DHT record.
    pub dht_peers: usize,
    /// Providers told at once.
    pub pushed: usize,
}

/// Publishes the latest version of `mid` with an EOL of `eol`.
pub async fn publish(
    net: &Net,
    state: &NodeState,
    mid: &MimeiId,
    eol: Duration,
) -> Result<Published, NetError> {
    let eol = eol.max(MIN_EOL);
    let m = Mimeis::new(&state.store);
    let header = m.header(mid)?;
    let key = &state.key;
    header.rights().check(Some(&key.id()), Right::WRITE).map_err(|_| {
        NetError::Mimei(MimeiStoreError::Conflict(format!(
            "this node's key {} holds no write right on Mimei {mid}, so it cannot sign its head; ask its author {} to grant it write",
            key.id(),
            header.rights().author()
        )))
    })?;
    let last = m.versions(mid)?.pop().ok_or_else(|| {
        NetError::Mimei(MimeiStoreError::Conflict(format!(
            "Mimei {mid} has no version yet: make one with `leither mimei backup {mid}` (MMBackup), then publish"
        )))
    })?;
    let now = unix_now();
    let old = heads::get(state, mid)?;
    // A sequence from the clock, so that two writers' nodes order their heads without talking;
    // always above the one known here.
    let seq = old
        .as_ref()
        .map_or(0, |o| o.bundle.head.seq())
        .saturating_add(1)
        .max(crate::clock::unix_ms());
    let head = HeadRecord::sign(
        key,
        *mid,
        last.version(),
        last.root_cid(),
        seq,
        now + eol.as_secs(),
    )?;
    let refs = refs_record(state, mid, last.version())?;
    let bundle = HeadBundle {
        head,
        header,
        version: last,
        refs,
    };
    let bytes = bundle.to_bytes();
    heads::accept(state, &bytes, Via::Local)?;
    if let Some(mut e) = heads::get(state, mid)? {
        e.publish = true;
        e.follow = true;
        e.published_at = now;
        heads::put(state, mid, &e)?;
    }
    // The DHT put, the provider announcement and the push to the providers go at once: one
    // after the other they were three DHT queries in a row (the scale simulation measured
    // followers getting a new version only after 4 to 6 s at 100 ms RTT: docs/performance.md).
    let (put, provided, pushed) = futures::join!(
        net.put_record(head_key(mid), bytes.clone(), eol),
        net.provide(provider_key(mid)),
        announce(net, mid, &bytes, &[], Audience::All)
    );
    let dht_peers = put?;
    provided?;
    log_info!(
        "published Mimei {mid} version {} (seq {seq}, EOL {} h): {dht_peers} DHT peer(s), {pushed} provider(s) told",
        bundle.version.version(),
        eol.as_secs() / 3600
    );
    Ok(Published {
        version: bundle.version.version(),
        seq,
        dht_peers,
        pushed,
    })
}

/// The signed references of version `version` of `mid`, when it has any: their list goes
/// into a raw block (stored and pinned here, so providers serve it over bitswap) and the
/// record naming it into the head bundle (`mimei::refs`).
fn refs_record(
    state: &NodeState,
    mid: &MimeiId,
    version: u64,
) -> Result<Option<RefsRecord>, NetError> {
    use crate::ipfs::cid::{Codec, Version};
    let notes = crate::mimei::notes::get(&state.store, mid, version)?;
    if notes.refs.is_empty() {
        return Ok(None);
    }
    let list = crate::mimei::refs::list_bytes(&notes.refs);
    let cid = Cid::of_block(Version::V1, Codec::Raw, &list);
    let blocks = Blocks::new(&state.store);
    blocks.put(&cid, &list)?;
    blocks.pin_add(&cid, false)?;
    let record = RefsRecord::sign(
        &state.key,
        *mid,
        version,
        &cid.to_bytes(),
        notes.refs.len() as u64,
    )?;
    Ok(Some(record))
}

/// Stops publishing and providing `mid` here.
pub fn unpublish(net: &Net, state: &NodeState, mid: &MimeiId) -> Result<(), NetError> {
    net.remove_record(head_key(mid))?;
    net.unprovide(provider_key(mid))?;
    if heads::get(state, mid)?.is_some() {
        heads::set_flags(state, mid, Some(false), Some(false))?;
    }
    Ok(())
}

/// Whom [`announce`] tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The publisher: every peer that asked it for the head (128 at most,
    /// `subscribers::MAX_PEERS`) and the providers the DHT names.
    All,
    /// A follower passing a version on: this many of the peers that asked it, picked at
    /// random, and no DHT query (the publisher told the providers). A version so spreads to
    /// F followers in about log(F) rounds with F x n pushes, not F x F (the simulation
    /// measured the F x F: 99 followers each pushing to the 98 others, most by a new
    /// connection).
    Relay(usize),
}

/// Pushes a head to the peers that asked us for its Mimei's head (subscribers.rs) and, from
/// the publisher, to its providers in the DHT (but not to `skip` nor ourselves); returns how
/// many took it. Those we cannot reach get it from the DHT on their next check. The askers
/// are told first: they are known without a DHT query, and the DHT names at most 32
/// providers.
pub async fn announce(
    net: &Net,
    mid: &MimeiId,
    bytes: &[u8],
    skip: &[PeerId],
    audience: Audience,
) -> usize {
    let me = net.peer_id();
    let mut pool = net.inner.subscribers.borrow().of(mid);
    let fresh = |p: &PeerId, told: &[PeerId]| *p != me && !skip.contains(p) && !told.contains(p);
    let askers = match audience {
        Audience::All => usize::MAX,
        Audience::Relay(n) => n,
    };
    let mut told: Vec<PeerId> = Vec::new();
    while told.len() < askers && !pool.is_empty() {
        let i = crate::db::rng::below(pool.len() as u64) as usize;
        let p = pool.swap_remove(i);
        if fresh(&p, &told) {
            told.push(p);
        }
    }
    let first = push_all(net, mid, bytes, &told);
    let rest = async {
        if audience != Audience::All {
            return 0;
        }
        let mut targets: Vec<PeerId> = Vec::new();
        if let Ok(provs) = net.providers(provider_key(mid)).await {
            for (p, _) in provs {
                if fresh(&p, &told) && !targets.contains(&p) {
                    targets.push(p);
                }
            }
        }
        push_all(net, mid, bytes, &targets).await
    };
    let (a, b) = futures::join!(first, rest);
    a + b
}

/// How many peers the next version of `mid` is pushed to without a DHT query: those that
/// asked this node for its head and are kept (subscribers.rs).
pub fn audience_size(net: &Net, mid: &MimeiId) -> usize {
    net.inner.subscribers.borrow().of(mid).len()
}

/// Pushes a head to each of `targets` at once; returns how many took it. A peer that took it
/// is kept (or refreshed) among the Mimei's askers; one that cannot be reached is no longer
/// told (until it asks again).
async fn push_all(net: &Net, mid: &MimeiId, bytes: &[u8], targets: &[PeerId]) -> usize {
    let pushes = targets.iter().map(|p| async move {
        match super::heads::push_to(net, *p, bytes).await {
            Ok(taken) => {
                if taken {
                    let now = tokio::time::Instant::now();
                    net.inner.subscribers.borrow_mut().note(*mid, *p, now);
                }
                taken
            }
            Err(e) => {
                net.inner.subscribers.borrow_mut().forget(mid, p);
                log_warn!("could not tell peer {p} about the new head of {mid}: {e}");
                false
            }
        }
    });
    futures::future::join_all(pushes)
        .await
        .into_iter()
        .filter(|t| *t)
        .count()
}

/// Re-publishes our published heads when half their EOL has passed.
pub fn spawn_republish(net: &Net) {
    let net = net.clone();
    tokio::task::spawn_local(async move {
        loop {
            tokio::time::sleep(REPUBLISH_CHECK).await;
            let Some(state) = net.state() else { return };
            let Ok(rows) = heads::all(&state) else {
                continue;
            };
            let now = unix_now();
            for (mid, e) in rows.into_iter().filter(|(_, e)| e.publish) {
                let life = e.bundle.head.eol().saturating_sub(e.published_at);
                if now < e.published_at + life / 2 {
                    continue;
                }
                if let Err(err) = publish(&net, &state, &mid, Duration::from_secs(life)).await {
                    log_warn!("re-publishing Mimei {mid} failed: {err}");
                }
            }
        }
    });
}
