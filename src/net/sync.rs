//! Sync: bring a Mimei's newest published version to this node.
//!
//! 1. **Head.** Ask the DHT for head records and the providers (and `-n NODE`, if given) for
//!    their heads; keep the verified one with the highest sequence ([`super::heads::accept`]).
//! 2. **Blocks.** Walk the version's DAG (UnixFS for a file Mimei, the prolly tree for a
//!    database) from its root, fetching only the blocks not stored here, up to [`WINDOW`] at
//!    a time, each from one provider in turn (so several providers serve one sync and no
//!    block comes twice); a block that fails or times out is asked of the next provider.
//!    Blocks already here are skipped, so an interrupted sync resumes where it stopped.
//! 3. **Version.** Only when every block is here: store the header and the version record
//!    (so `last` never points at missing data), follow the Mimei, provide it, and tell the
//!    other providers.
//!
//! A sync runs as a job in the background; [`start`] returns it (or the one already running
//! for that Mimei), [`Job::wait`] waits for its end, and `GetVar syncstatus MID` shows its
//! progress. Following (`spawn_follow`): a new head that arrives by push or DHT starts a sync
//! of a followed Mimei; a periodic check every `FollowSecs` is the backstop.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use libp2p::PeerId;

use super::NetError;
use super::handle::{Inner, Net, parse_addr};
use super::heads::{self, Outcome, Via};
use crate::api::NodeState;
use crate::ipfs::Cid;
use crate::mimei::store::{MimeiStoreError, Mimeis};
use crate::mimei::{HeadBundle, MimeiId, notes};
use crate::store::blocks::{BATCH_BYTES, Blocks};
use crate::{log_info, log_warn};

/// Blocks asked for at once.
pub const WINDOW: usize = 16;
/// How long one provider may take for one block before the next is asked.
const BLOCK_WAIT: Duration = Duration::from_secs(8);
/// Most blocks one version may have (a bound on the walk's memory).
const MAX_BLOCKS: usize = 4_000_000;

/// The DHT key of a Mimei's head record.
pub fn head_key(mid: &MimeiId) -> Vec<u8> {
    crate::mimei::head::dht_record_key(mid)
}

/// The DHT key under which providers of a Mimei announce themselves.
pub fn provider_key(mid: &MimeiId) -> Vec<u8> {
    crate::mimei::head::provider_key(mid)
}

/// How far a sync is.
#[derive(Clone, Copy, Default, Debug)]
pub struct Progress {
    /// The version being synced (0 until the head is known).
    pub version: u64,
    /// Blocks of the version found so far (grows as the walk goes down).
    pub blocks_known: u64,
    /// Blocks of the version that are here now.
    pub blocks_done: u64,
    /// Blocks fetched from peers in this sync.
    pub fetched: u64,
    /// Bytes fetched from peers in this sync.
    pub bytes: u64,
    /// Providers used.
    pub providers: u64,
}

/// What a finished sync did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The version now here.
    pub version: u64,
    /// Its root.
    pub root: Cid,
    /// The progress at the end.
    pub progress: Progress,
    /// Seconds it took.
    pub secs: f64,
    /// False when the version was already complete here (nothing fetched).
    pub changed: bool,
    /// What following the version's references did.
    pub refs: RefsReport,
    /// Where the time went.
    pub steps: Steps,
}

/// Where a sync's time went, in seconds (the scale simulation times a follower's sync so).
#[derive(Clone, Copy, Debug, Default)]
pub struct Steps {
    /// Finding the head: providers and head records in the DHT and the peers' heads (none
    /// after a push: the pusher's head is here and the pusher has its version).
    pub head: f64,
    /// Fetching the version's blocks.
    pub blocks: f64,
    /// Storing the version and following its references.
    pub store: f64,
}

/// Most failures of referenced syncs a report keeps word for word (the rest are counted).
const MAX_REF_ERRORS: usize = 32;

/// What following a version's references one level did ([`follow_refs`]).
#[derive(Clone, Debug, Default)]
pub struct RefsReport {
    /// References the version has (0 when its head carries none).
    pub total: u64,
    /// Referenced Mimeis synced and referenced CIDs fetched and pinned.
    pub done: u64,
    /// References that failed.
    pub failed: u64,
    /// Why, for the first [`MAX_REF_ERRORS`] of them: `"ID: reason"`.
    pub errors: Vec<String>,
}

impl RefsReport {
    fn fail(&mut self, what: &str, why: impl std::fmt::Display) {
        self.failed += 1;
        if self.errors.len() < MAX_REF_ERRORS {
            self.errors.push(format!("{what}: {why}"));
        }
    }
}

/// One running (or finished) sync.
pub struct Job {
    progress: Cell<Progress>,
    result: RefCell<Option<Result<Report, String>>>,
    done: tokio::sync::Notify,
    started: Instant,
}

impl Job {
    fn new() -> Job {
        Job {
            progress: Cell::new(Progress::default()),
            result: RefCell::new(None),
            done: tokio::sync::Notify::new(),
            started: Instant::now(),
        }
    }

    /// The progress so far.
    pub fn progress(&self) -> Progress {
        self.progress.get()
    }

    /// Seconds since it started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The result, once finished.
    pub fn result(&self) -> Option<Result<Report, String>> {
        self.result.borrow().clone()
    }

    /// Waits for the end.
    pub async fn wait(&self) -> Result<Report, String> {
        loop {
            let notified = self.done.notified();
            if let Some(r) = self.result() {
                return r;
            }
            notified.await;
        }
    }

    fn set(&self, f: impl FnOnce(&mut Progress)) {
        let mut p = self.progress.get();
        f(&mut p);
        self.progress.set(p);
    }
}

/// The sync jobs of a node: one per Mimei at a time; a finished one stays until the next.
#[derive(Default)]
pub struct Jobs {
    jobs: RefCell<HashMap<MimeiId, Rc<Job>>>,
}

impl Jobs {
    /// The job of `mid`, running or last finished.
    pub fn get(&self, mid: &MimeiId) -> Option<Rc<Job>> {
        self.jobs.borrow().get(mid).cloned()
    }
}

/// Starts a sync of `mid` (from `from` only, if given: a multiaddr or a PeerId), or joins the
/// one already running.
pub fn start(net: &Net, mid: MimeiId, from: Option<String>) -> Rc<Job> {
    start_hinted(net, mid, from, None)
}

/// [`start`], asking `hint` (the peer that pushed us the new head) first.
fn start_hinted(net: &Net, mid: MimeiId, from: Option<String>, hint: Option<PeerId>) -> Rc<Job> {
    if let Some(j) = net.inner.sync.get(&mid)
        && j.result().is_none()
    {
        return j;
    }
    let job = Rc::new(Job::new());
    net.inner.sync.jobs.borrow_mut().insert(mid, job.clone());
    let (net2, job2) = (net.clone(), job.clone());
    tokio::task::spawn_local(async move {
        let r = match net2.state() {
            Some(state) => {
                let from = from.as_deref();
                run(&net2, &state, mid, Sources { from, hint }, &job2, true).await
            }
            None => Err(NetError::Off),
        };
        match &r {
            Ok(rep) if rep.changed => log_info!(
                "synced Mimei {mid} version {}: {} blocks, {} bytes fetched from {} provider(s) in {:.1} s",
                rep.version,
                rep.progress.fetched,
                rep.progress.bytes,
                rep.progress.providers,
                rep.secs
            ),
            Ok(_) => {}
            Err(e) => log_warn!("sync of Mimei {mid} failed: {e}"),
        }
        *job2.result.borrow_mut() = Some(r.map_err(|e| e.to_string()));
        job2.done.notify_waiters();
    });
    job
}

/// The sync of `mid` running, or the last one that ran since the node started.
pub fn job(net: &Net, mid: &MimeiId) -> Option<Rc<Job>> {
    net.inner.sync.get(mid)
}

/// The peers to ask: `from` alone, else the providers of the Mimei and our connections.
async fn candidates(net: &Net, mid: &MimeiId, from: Option<&str>) -> Result<Vec<PeerId>, NetError> {
    let me = net.peer_id();
    if let Some(f) = from {
        let peer = if f.starts_with('/') || f.contains(':') {
            let addr = parse_addr(f)?;
            net.connect(&addr.to_string()).await?
        } else {
            let p = super::handle::parse_peer(net, f)?;
            net.connect_peer(p).await?
        };
        return Ok(if peer == me { Vec::new() } else { vec![peer] });
    }
    let mut out: Vec<PeerId> = Vec::new();
    if let Ok(provs) = net.providers(provider_key(mid)).await {
        for (p, _) in provs {
            if p != me && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    for info in net.peers() {
        if !out.contains(&info.peer) {
            out.push(info.peer);
        }
    }
    Ok(out)
}

/// Collects heads from the DHT and from `peers`, keeping each that verifies and is newer.
/// Returns the peers that had a head of the Mimei.
async fn gather_heads(
    net: &Net,
    state: &NodeState,
    mid: &MimeiId,
    peers: &[PeerId],
    dht: bool,
) -> Vec<PeerId> {
    // The DHT's head records are looked up beside the peers' answers, not before them: the
    // query takes seconds where a connected peer answers in a round trip or two.
    enum Got {
        Peer(PeerId, Result<Option<Vec<u8>>, NetError>),
        Dht(Result<Vec<super::driver::FoundRecord>, NetError>),
    }
    let mut asks: FuturesUnordered<futures::future::LocalBoxFuture<'_, Got>> = peers
        .iter()
        .map(|p| {
            let p = *p;
            let ask = async move { Got::Peer(p, heads::fetch_from(net, p, mid).await) };
            Box::pin(ask) as futures::future::LocalBoxFuture<'_, Got>
        })
        .collect();
    if dht {
        asks.push(Box::pin(async move {
            Got::Dht(net.get_records(head_key(mid)).await)
        }));
    }
    let mut having = Vec::new();
    let started = tokio::time::Instant::now();
    // Until the first peer's head, every peer (and the DHT) is waited for; after it, the
    // others get a grace of twice that wait (at least HEAD_GRACE) to offer a newer one. A peer that never answers
    // (a dead connection, a full stream table) cost every sync the stream timeout before
    // (15 s: the scale simulation's first syncs at N = 1,000, which ask ~100 peers each).
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        let next = match deadline {
            None => asks.next().await,
            Some(d) => match tokio::time::timeout_at(d, asks.next()).await {
                Ok(n) => n,
                Err(_) => break,
            },
        };
        match next {
            None => break,
            Some(Got::Peer(p, Ok(Some(bytes)))) => {
                having.push(p);
                offer(net, state, &bytes, Some(p));
                if deadline.is_none() {
                    let now = tokio::time::Instant::now();
                    deadline = Some(now + (now - started).saturating_mul(2).max(HEAD_GRACE));
                }
            }
            Some(Got::Dht(Ok(found))) => {
                for (from, value) in found {
                    offer(net, state, &value, from);
                }
            }
            Some(_) => {}
        }
    }
    having
}

/// The least time the other peers get to offer a newer head once one has answered.
const HEAD_GRACE: Duration = Duration::from_secs(1);

fn offer(net: &Net, state: &NodeState, bytes: &[u8], from: Option<PeerId>) {
    match heads::accept(state, bytes, Via::Fetch) {
        Ok(outcome) => on_new_head(&net.inner, state, outcome),
        Err(NetError::Replay(_)) => {}
        Err(e) => {
            if let Some(p) = from {
                net.ban(p, format!("sent a head that failed verification: {e}"));
            }
        }
    }
}

/// Where a sync looks.
#[derive(Clone, Copy, Default)]
struct Sources<'a> {
    /// Only there (`-n NODE`): a multiaddr or a PeerId.
    from: Option<&'a str>,
    /// The peer that pushed the head: it has the version (its publisher, or a follower that
    /// synced it), so its blocks are asked of it alone at once, without asking it for the
    /// head again and without the two DHT queries (providers, head records) a sync otherwise
    /// starts with; everyone is asked when it cannot serve the version.
    hint: Option<PeerId>,
}

/// Syncs `mid`; with `refs`, then follows the version's references one level
/// ([`follow_refs`]); the syncs of referenced Mimeis run without, so they never recurse.
async fn run(
    net: &Net,
    state: &Rc<NodeState>,
    mid: MimeiId,
    src: Sources<'_>,
    job: &Job,
    refs: bool,
) -> Result<Report, NetError> {
    // tokio's clock: the scale simulation runs on a paused one (the same as std's otherwise).
    let started = tokio::time::Instant::now();
    let mut steps = Steps::default();
    let from = src.from;
    let hinted = match src.hint {
        Some(p) if from.is_none() => Some((vec![p], vec![p])),
        _ => None,
    };
    let (peers, having) = match hinted.clone() {
        Some(h) => h,
        None => {
            let peers = candidates(net, &mid, from).await?;
            let having = gather_heads(net, state, &mid, &peers, from.is_none()).await;
            (peers, having)
        }
    };
    let entry = heads::get(state, &mid)?.ok_or_else(|| {
        NetError::NotFound(format!(
            "no head of Mimei {mid} was found ({} peer(s) asked): its author publishes it with `leither mimei publish {mid}`",
            peers.len()
        ))
    })?;
    let bundle: HeadBundle = entry.bundle;
    steps.head = started.elapsed().as_secs_f64();
    let version = bundle.version.version();
    let root = Cid::from_bytes(bundle.version.root_cid())
        .map_err(|e| NetError::Refused(format!("the head's root CID does not parse: {e}")))?;
    job.set(|p| p.version = version);
    let m = Mimeis::new(&state.store);
    // A version of that number here with another root is a conflict: nothing is fetched.
    if let Ok(local) = m.version(&mid, version)
        && local.root_cid() != bundle.version.root_cid()
    {
        return Err(NetError::Sync(format!(
            "conflict: version {version} of Mimei {mid} here has root {} but the net's has {root}; `leither mimei show {mid}` compares them",
            Cid::from_bytes(local.root_cid())
                .map(|c| c.to_string())
                .unwrap_or_default()
        )));
    }
    // The peers that answered with the head have the version; others are asked only when
    // none did (an IPFS peer or a node that has the blocks but no head).
    // The head's publisher goes first among them: it surely holds the version, while a
    // follower may hold the head with its blocks still on the way.
    let mut order: Vec<PeerId> = if having.is_empty() {
        peers.clone()
    } else {
        having.clone()
    };
    if let Some(i) = publisher_of(&bundle).and_then(|p| order.iter().position(|q| *q == p)) {
        order[..=i].rotate_right(1);
    }
    // The version's blocks are the Mimei's before they arrive (each new block carries its
    // tags to its links as it is stored), so none is served as public on the way in.
    let signer = *bundle.version.signer();
    Blocks::new(&state.store)
        .tag(
            std::slice::from_ref(&root),
            mid.as_bytes(),
            &mut crate::ops::blocks::synced_verdict(state, &signer),
        )
        .map_err(|e| NetError::Sync(format!("cannot index the version's blocks: {e}")))?;
    let fetching = tokio::time::Instant::now();
    let changed = match fetch_dag(net, state, root, &order, job).await {
        Ok(c) => c,
        // The pusher could not serve the whole version: everyone is asked.
        Err(_) if hinted.is_some() => {
            let peers = candidates(net, &mid, None).await?;
            fetch_dag(net, state, root, &peers, job).await?
        }
        // The peers that had the head could not serve its blocks (followers whose own sync is
        // still under way): every candidate is asked, the head's publisher first.
        Err(_) if from.is_none() && !having.is_empty() && peers.len() > order.len() => {
            let mut all = order.clone();
            all.extend(peers.iter().filter(|p| !order.contains(p)));
            fetch_dag(net, state, root, &all, job).await?
        }
        Err(e) => return Err(e),
    };
    steps.blocks = fetching.elapsed().as_secs_f64();
    let storing = tokio::time::Instant::now();
    m.adopt_header(&bundle.header)?;
    match m.put_synced_version(
        &bundle.version,
        &mut crate::ops::blocks::synced_verdict(state, &signer),
    ) {
        Ok(_) => {}
        Err(MimeiStoreError::Conflict(c)) => return Err(NetError::Sync(format!("conflict: {c}"))),
        Err(e) => return Err(e.into()),
    }
    heads::set_flags(state, &mid, Some(true), None)?;
    let refs = follow_refs(net, state, &bundle, &order, refs).await;
    steps.store = storing.elapsed().as_secs_f64();
    // The version is here: the sync is done. Telling the DHT and the other followers goes on
    // in the background (a provider that vanished would hold it up for a query timeout).
    let (net2, bytes) = (net.clone(), entry.bytes.clone());
    let publisher = publisher_of(&bundle).filter(|p| *p != net.peer_id() && !having.contains(p));
    tokio::task::spawn_local(async move {
        // The publisher pushes the next version to the peers that asked it for the head
        // (subscribers.rs): one that did not serve this sync is asked now, so it knows us.
        if let Some(p) = publisher {
            register_with(&net2, p, &mid).await;
        }
        if let Err(e) = net2.provide(provider_key(&mid)).await {
            log_warn!("sync of {mid}: cannot announce this node as a provider: {e}");
        }
        if changed {
            let relay = super::publish::Audience::Relay(super::publish::RELAY_FANOUT);
            super::publish::announce(&net2, &mid, &bytes, &having, relay).await;
        }
    });
    Ok(Report {
        version,
        root,
        progress: job.progress(),
        secs: started.elapsed().as_secs_f64(),
        changed,
        refs,
        steps,
    })
}

/// The PeerId of the node that signed a head (its node key is the libp2p key).
fn publisher_of(bundle: &HeadBundle) -> Option<PeerId> {
    let pk = libp2p::identity::ed25519::PublicKey::try_from_bytes(bundle.head.signer_public_key())
        .ok()?;
    Some(libp2p::identity::PublicKey::from(pk).to_peer_id())
}

/// Asks `publisher` for the head of `mid`, so it counts us among the peers it pushes the next
/// version to; its answer is taken like any head. A publisher out of reach is no failure: the
/// DHT and the other followers still tell us.
async fn register_with(net: &Net, publisher: PeerId, mid: &MimeiId) {
    let Some(state) = net.state() else { return };
    if net.connect_peer(publisher).await.is_err() {
        return;
    }
    if let Ok(Some(bytes)) = heads::fetch_from(net, publisher, mid).await {
        offer(net, &state, &bytes, Some(publisher));
    }
}

/// After a version is here: fetches the list of its references the head carries (checked
/// against the signed record) and keeps them as that version's references; with `follow`,
/// then syncs each referenced Mimei (one level: their references are kept, not followed) and
/// fetches and pins each referenced CID. Failures are reported, never fatal to the sync.
async fn follow_refs(
    net: &Net,
    state: &Rc<NodeState>,
    bundle: &HeadBundle,
    peers: &[PeerId],
    follow: bool,
) -> RefsReport {
    let mut rep = RefsReport::default();
    let Some(record) = &bundle.refs else {
        return rep;
    };
    let mid = *bundle.head.mid();
    let version = record.version();
    rep.total = record.count();
    let refs = match fetch_ref_list(net, state, record, peers).await {
        Ok(r) => r,
        Err(e) => {
            rep.fail("the reference list", e);
            rep.failed = rep.total.max(1);
            return rep;
        }
    };
    let mut kept = notes::get(&state.store, &mid, version).unwrap_or_default();
    kept.refs = refs.clone();
    if let Err(e) = notes::put(&state.store, &mid, version, &kept) {
        rep.fail("the reference list", format!("cannot be stored: {e}"));
    }
    if !follow {
        return rep;
    }
    for id in refs.keys() {
        if let Ok(rmid) = id.parse::<MimeiId>() {
            if rmid == mid {
                rep.done += 1;
                continue;
            }
            match sync_referenced(net, state, rmid).await {
                Ok(_) => rep.done += 1,
                Err(e) => rep.fail(id, e),
            }
        } else if let Ok(cid) = id.parse::<Cid>() {
            let got = async {
                fetch_tree(net, cid).await?;
                crate::store::blocks::Blocks::new(&state.store).pin_add(&cid, true)?;
                Ok::<(), NetError>(())
            };
            match got.await {
                Ok(()) => rep.done += 1,
                Err(e) => rep.fail(id, e),
            }
        } else {
            rep.fail(id, "neither a Mimei ID nor a CID");
        }
    }
    if rep.failed > 0 {
        log_warn!(
            "sync of Mimei {mid}: {} of {} reference(s) could not be followed; `leither mimei sync {mid}` again retries them",
            rep.failed,
            rep.total
        );
    }
    rep
}

/// The verified list of references `record` names: its block from here or from `peers`,
/// pinned so it stays while the version does.
async fn fetch_ref_list(
    net: &Net,
    state: &NodeState,
    record: &crate::mimei::refs::RefsRecord,
    peers: &[PeerId],
) -> Result<std::collections::BTreeMap<String, u64>, NetError> {
    use crate::mimei::refs::parse_list;
    let cid = Cid::from_bytes(record.list_cid())
        .map_err(|e| NetError::Refused(format!("its CID does not parse: {e}")))?;
    let blocks = Blocks::new(&state.store);
    if !blocks.has(&cid)? {
        let data = match net.bitswap().get(net, cid, peers, BLOCK_WAIT).await {
            Ok(d) => d,
            Err(_) => {
                let more = block_peers(net, &cid).await;
                net.bitswap().get(net, cid, &more, BLOCK_WAIT).await?
            }
        };
        blocks.put(&cid, &data)?;
    }
    let data = blocks
        .get(&cid)?
        .ok_or_else(|| NetError::NotFound(format!("block {cid} vanished")))?;
    let refs = parse_list(&data).map_err(|e| NetError::Refused(e.to_string()))?;
    if refs.len() as u64 != record.count() {
        return Err(NetError::Refused(format!(
            "it holds {} references where the signed record says {}",
            refs.len(),
            record.count()
        )));
    }
    blocks.pin_add(&cid, false)?;
    Ok(refs)
}

/// Syncs a referenced Mimei without following its references: joins the sync of it that is
/// running, else runs one, registered like any other so `MiMeiSync ... status` shows it.
async fn sync_referenced(net: &Net, state: &Rc<NodeState>, mid: MimeiId) -> Result<Report, String> {
    if let Some(j) = net.inner.sync.get(&mid)
        && j.result().is_none()
    {
        return j.wait().await;
    }
    let job = Rc::new(Job::new());
    net.inner.sync.jobs.borrow_mut().insert(mid, job.clone());
    let r = Box::pin(run(net, state, mid, Sources::default(), &job, false))
        .await
        .map_err(|e| e.to_string());
    *job.result.borrow_mut() = Some(r.clone());
    job.done.notify_waiters();
    r
}

/// The peers that may have a block: providers of its multihash in the DHT, then every
/// connected peer (as kubo asks its peers).
async fn block_peers(net: &Net, cid: &Cid) -> Vec<PeerId> {
    let me = net.peer_id();
    let mut out: Vec<PeerId> = Vec::new();
    for info in net.peers() {
        out.push(info.peer);
    }
    if let Ok(provs) = net.providers(cid.hash().to_bytes()).await {
        for (p, addrs) in provs {
            if p == me || out.contains(&p) {
                continue;
            }
            if !addrs.is_empty() && net.connect_peer(p).await.is_ok() {
                out.push(p);
            }
        }
    }
    out
}

/// Runs `attempt` until its answer does not stop at a missing block: each block it stops at
/// (`missing`) is fetched from the peers first, at most `max` times; a block the network does
/// not give ends the walk with `unavailable`. The gateway's path lookup and `IpfsLs` walk so.
pub async fn walk_fetching<T, E>(
    net: &Net,
    max: usize,
    mut attempt: impl FnMut() -> Result<T, E>,
    missing: impl Fn(&E) -> Option<Cid>,
    unavailable: impl Fn(Cid, NetError) -> E,
) -> Result<T, E> {
    let mut fetched = 0;
    loop {
        match attempt() {
            Err(e) if fetched < max => {
                let Some(cid) = missing(&e) else {
                    return Err(e);
                };
                fetched += 1;
                fetch_one(net, cid)
                    .await
                    .map_err(|ne| unavailable(cid, ne))?;
            }
            other => return other,
        }
    }
}

/// Fetches one block from the network and stores it (the gateway's path lookup).
pub async fn fetch_one(net: &Net, cid: Cid) -> Result<(), NetError> {
    let state = net.state().ok_or(NetError::Off)?;
    let peers = block_peers(net, &cid).await;
    if peers.is_empty() {
        return Err(NetError::NotFound(
            "no peer is connected or provides it".into(),
        ));
    }
    let data = net.bitswap().get(net, cid, &peers, BLOCK_WAIT).await?;
    Blocks::new(&state.store).put(&cid, &data)?;
    Ok(())
}

/// Fetches every block under `root` that is not here (`ipfs cat`/`get`, the gateway).
pub async fn fetch_tree(net: &Net, root: Cid) -> Result<bool, NetError> {
    let state = net.state().ok_or(NetError::Off)?;
    if Blocks::new(&state.store)
        .links(&root)?
        .is_some_and(|l| l.is_empty())
    {
        return Ok(false);
    }
    let peers = block_peers(net, &root).await;
    let job = Job::new();
    fetch_dag(net, &state, root, &peers, &job).await
}

/// Fetches every block under `root` that is not here, from `peers`. Returns whether anything
/// was fetched.
async fn fetch_dag(
    net: &Net,
    state: &NodeState,
    root: Cid,
    peers: &[PeerId],
    job: &Job,
) -> Result<bool, NetError> {
    let blocks = Blocks::new(&state.store);
    let mut queue: VecDeque<Cid> = VecDeque::from([root]);
    let mut seen: HashSet<Cid> = HashSet::from([root]);
    let mut batch: Vec<(Cid, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut next_peer = 0usize;
    let mut used: HashSet<PeerId> = HashSet::new();
    let mut inflight = FuturesUnordered::new();
    let mut failures: HashMap<Cid, usize> = HashMap::new();
    let mut first_peer: HashMap<Cid, usize> = HashMap::new();
    let mut silent: HashSet<PeerId> = HashSet::new();
    let mut last_ok: HashMap<PeerId, Instant> = HashMap::new();
    let mut fetched_any = false;
    job.set(|p| p.blocks_known = 1);
    let flush = |batch: &mut Vec<(Cid, Vec<u8>)>, durable: bool| -> Result<(), NetError> {
        if !batch.is_empty() || durable {
            blocks.put_many_with(batch.iter().map(|(c, b)| (c, b.as_slice())), durable)?;
            batch.clear();
        }
        Ok(())
    };
    loop {
        while inflight.len() < WINDOW {
            let Some(cid) = queue.pop_front() else { break };
            // Here already (an earlier or interrupted sync, or shared with another version):
            // only its links are needed.
            if let Some(links) = blocks.links(&cid)? {
                job.set(|p| p.blocks_done += 1);
                push_links(&mut queue, &mut seen, links, job)?;
                continue;
            }
            if peers.is_empty() {
                return Err(NetError::Sync(format!(
                    "block {cid} is not here and no provider is reachable; the blocks fetched so far are kept, run the sync again to resume"
                )));
            }
            // Spread blocks over the providers that answer; a retry goes to the next one. A
            // provider that went silent (cut off, overloaded) gets no new blocks until it
            // answers again, unless every one is silent.
            let tries = failures.get(&cid).copied().unwrap_or(0);
            // The first block goes to the first peer (the order's best: the head's publisher).
            let first = *first_peer.entry(cid).or_insert_with(|| {
                next_peer += 1;
                next_peer - 1
            });
            let live: Vec<PeerId> = peers
                .iter()
                .filter(|p| !silent.contains(*p))
                .copied()
                .collect();
            let pool: &[PeerId] = if live.is_empty() { peers } else { &live };
            let peer = pool[(first + tries) % pool.len()];
            let net2 = net.clone();
            let asked = Instant::now();
            inflight.push(async move {
                let r = net2.bitswap().get(&net2, cid, &[peer], BLOCK_WAIT).await;
                (cid, peer, asked, r)
            });
        }
        let Some((cid, peer, asked, r)) = inflight.next().await else {
            break;
        };
        match r {
            Ok(data) => {
                fetched_any = true;
                used.insert(peer);
                silent.remove(&peer);
                last_ok.insert(peer, Instant::now());
                first_peer.remove(&cid);
                failures.remove(&cid);
                let links = crate::store::gc::links(cid.codec(), &data).unwrap_or_default();
                let n = data.len();
                job.set(|p| {
                    p.blocks_done += 1;
                    p.fetched += 1;
                    p.bytes += n as u64;
                    p.providers = used.len() as u64;
                });
                batch_bytes += n;
                batch.push((cid, data));
                if batch_bytes >= BATCH_BYTES {
                    flush(&mut batch, false)?;
                    batch_bytes = 0;
                }
                push_links(&mut queue, &mut seen, links, job)?;
            }
            Err(e) => {
                // A provider that delivered nothing since this block was asked is silent; one
                // that is only busy (a slow link, many blocks queued) keeps its turn.
                let busy = last_ok.get(&peer).is_some_and(|t| *t > asked);
                if !busy {
                    silent.insert(peer);
                }
                let n = failures.entry(cid).or_insert(0);
                *n += 1;
                if *n >= peers.len() * 2 {
                    flush(&mut batch, true)?;
                    return Err(NetError::Sync(format!(
                        "block {cid} could not be fetched from any of {} provider(s) (last: {e}); the blocks fetched so far are kept, run the sync again to resume",
                        peers.len()
                    )));
                }
                queue.push_front(cid);
            }
        }
    }
    flush(&mut batch, true)?;
    Ok(fetched_any)
}

fn push_links(
    queue: &mut VecDeque<Cid>,
    seen: &mut HashSet<Cid>,
    links: Vec<Cid>,
    job: &Job,
) -> Result<(), NetError> {
    for l in links {
        if seen.insert(l) {
            if seen.len() > MAX_BLOCKS {
                return Err(NetError::Sync(format!(
                    "the version has more than {MAX_BLOCKS} blocks, more than a sync takes"
                )));
            }
            job.set(|p| p.blocks_known += 1);
            queue.push_back(l);
        }
    }
    Ok(())
}

/// A head was taken: if we follow its Mimei (and are not its publisher), sync it now.
pub fn on_new_head(inner: &Rc<Inner>, state: &NodeState, outcome: Outcome) {
    let Outcome::New { mid, follow, via } = outcome else {
        return;
    };
    // A newer header (rights changed) is taken at once by a node that has the Mimei.
    let m = Mimeis::new(&state.store);
    if m.header(&mid).is_ok()
        && let Ok(Some(e)) = heads::get(state, &mid)
        && let Err(err) = m.adopt_header(&e.bundle.header)
    {
        log_warn!("Mimei {mid}: the published header was not taken: {err}");
    }
    if !follow || matches!(via, Via::Local) {
        return;
    }
    if let Some(v) = behind(state, &mid) {
        log_info!("Mimei {mid}: version {v} published ({via:?}), syncing");
        let net = Net {
            inner: inner.clone(),
        };
        // The peer that pushed the head has the version (its publisher, or a provider that
        // just synced it); when it cannot serve it, the sync asks everyone.
        let hint = match via {
            Via::Push(p) => Some(p),
            _ => None,
        };
        start_hinted(&net, mid, None, hint);
    }
}

/// The net head's version of `mid` when it is newer than the last version here.
fn behind(state: &NodeState, mid: &MimeiId) -> Option<u64> {
    let local_last = Mimeis::new(&state.store)
        .versions(mid)
        .ok()
        .and_then(|v| v.last().map(|r| r.version()))
        .unwrap_or(0);
    let head = heads::get(state, mid)
        .ok()
        .flatten()?
        .bundle
        .version
        .version();
    (head > local_last).then_some(head)
}

/// The backstop of real time: every `FollowSecs`, each followed Mimei's head is asked of the
/// DHT and its providers, and a Mimei behind its head is synced.
pub fn spawn_follow(net: &Net) {
    let net = net.clone();
    tokio::task::spawn_local(async move {
        loop {
            let secs = net
                .state()
                .map_or(60, |s| s.vars.borrow().follow_secs.max(1));
            tokio::time::sleep(Duration::from_secs(u64::from(secs))).await;
            let Some(state) = net.state() else { return };
            let Ok(rows) = heads::all(&state) else {
                continue;
            };
            for (mid, _) in rows.into_iter().filter(|(_, e)| e.follow && !e.publish) {
                let peers = candidates(&net, &mid, None).await.unwrap_or_default();
                gather_heads(&net, &state, &mid, &peers, true).await;
                if behind(&state, &mid).is_some() {
                    start(&net, mid, None);
                }
            }
        }
    });
}
