//! Bitswap 1.2, client and server: how blocks move between our nodes and IPFS peers (kubo,
//! helia). We open our streams with libp2p-stream; peers' streams come from
//! `bitswap_inbound` (every one, within bounds), each read in its own task, every message
//! until the peer closes it, with the bytes being read bounded per peer and per node.
//!
//! - **Server.** A peer's wantlist is answered at once from the block store: a block for a
//!   want-block, HAVE for a want-have, DONT_HAVE when asked for it. A peer is the user its
//!   node key is (`handle::leither_id_of`; a guest if its key is not ed25519): a block of a
//!   private Mimei goes only to a peer that may read that Mimei, by the rule of every door
//!   (`ops::blocks`); to any other it is DONT_HAVE, as a block we lack. So providers of a
//!   Mimei `*` may read, or that grants read to their node IDs, sync from each other. Answers go out on a stream
//!   we open to the peer (bitswap streams carry one direction), through one sender task per
//!   peer that ends after a minute of quiet.
//! - **Client.** [`Bitswap::get`] registers a want, sends want-block (with send-dont-have) to
//!   the given peers and waits. A block that arrives is keyed by its multihash, which we
//!   compute from the bytes: a block is only ever taken for a CID it hashes to. A peer that
//!   sends blocks nobody asked for, or a message that does not decode, is banned.
//!
//! Nothing here writes the block store: callers (sync, the gateway) store what they get, in
//! batches, and decide what a missing block means.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use libp2p::{PeerId, Stream};
use tokio::sync::{mpsc, oneshot};

use super::NetError;
use super::bitswap_inbound::{Inbound, Limits, Permit};
use super::bitswap_wire::{Message, Presence, WantEntry, WantType};
use super::handle::{Net, write_frame};
use crate::ipfs::Cid;
use crate::log_debug;
use crate::ops::blocks::{BlockAccess, Who};
use crate::store::blocks::Blocks;

/// The protocol we open streams with.
pub const PROTOCOL: &str = "/ipfs/bitswap/1.2.0";
/// Older names we also answer on (same message format for what we use).
pub const ACCEPTED: [&str; 3] = [
    "/ipfs/bitswap/1.2.0",
    "/ipfs/bitswap/1.1.0",
    "/ipfs/bitswap/1.0.0",
];
/// Longest message read from a peer.
pub const MAX_MESSAGE: usize = 4 * 1024 * 1024 + 64 * 1024;
/// Most bytes of blocks put in one answer message, and in messages merged into one: small
/// enough that a message (three 256 KiB blocks) fits the allocator's cache on both sides
/// (src/alloc.rs), which 2 MiB did not: a sync's receiver spent 14% less CPU.
const ANSWER_BYTES: usize = 768 * 1024;
/// Most want entries merged into one message (well under the decoder's 8192).
const MERGE_ENTRIES: usize = 4096;
/// Unwanted blocks a peer may send before it is banned.
const MAX_UNSOLICITED: u32 = 64;
/// A sender task with nothing to send for this long ends (and its stream closes).
const SENDER_IDLE: Duration = Duration::from_secs(60);
/// An inbound stream with no message for this long is closed.
const STREAM_IDLE: Duration = Duration::from_secs(120);
/// A message, once its first byte came, must be whole within this.
const MESSAGE_TIME: Duration = Duration::from_secs(30);
/// Most bytes of messages being read or handled from one peer, and from all peers.
const PEER_BYTES: usize = 8 << 20;
const NODE_BYTES: usize = 16 << 20;
/// How long a peer's refused streams are counted before the count starts over.
const REFUSALS_WINDOW: Duration = Duration::from_secs(600);

/// Most peers whose strikes or refusals are counted (past it the counts start over).
const MAX_TRACKED: usize = 4096;

/// Counters shown by `GetVar netstats` and used by benches/sync.sh.
#[derive(Clone, Copy, Default, Debug)]
pub struct Stats {
    /// Blocks we sent.
    pub blocks_sent: u64,
    /// Bytes of blocks we sent.
    pub bytes_sent: u64,
    /// Bytes of bitswap messages we wrote, framing included.
    pub wire_sent: u64,
    /// Blocks we received that someone wanted.
    pub blocks_received: u64,
    /// Bytes of those blocks.
    pub bytes_received: u64,
    /// Bytes of bitswap messages we read.
    pub wire_received: u64,
    /// Blocks received that nobody wanted.
    pub unsolicited: u64,
}

enum Answer {
    Block(Vec<u8>),
    /// Every asked peer said it does not have it.
    Nobody,
}

struct Want {
    cid: Cid,
    waiters: Vec<oneshot::Sender<Answer>>,
    asked: HashSet<PeerId>,
    dont_have: HashSet<PeerId>,
}

/// The engine's state; one per node, inside [`Net`].
#[derive(Default)]
pub struct Bitswap {
    wants: RefCell<HashMap<Vec<u8>, Want>>,
    senders: RefCell<HashMap<PeerId, mpsc::UnboundedSender<Message>>>,
    strikes: RefCell<HashMap<PeerId, u32>>,
    refusals: RefCell<HashMap<PeerId, (u32, tokio::time::Instant)>>,
    reading: RefCell<Reading>,
    stats: Cell<Stats>,
}

fn key(cid: &Cid) -> Vec<u8> {
    cid.hash().to_bytes()
}

fn empty() -> Message {
    Message {
        wantlist: Vec::new(),
        full: false,
        blocks: Vec::new(),
        presences: Vec::new(),
        pending_bytes: 0,
    }
}

impl Bitswap {
    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    fn count(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Sends a message to a peer through its sender task.
    fn send(&self, net: &Net, peer: PeerId, msg: Message) {
        let mut senders = self.senders.borrow_mut();
        if let Some(tx) = senders.get(&peer) {
            match tx.send(msg) {
                Ok(()) => return,
                Err(mpsc::error::SendError(m)) => {
                    senders.remove(&peer);
                    drop(senders);
                    return self.send(net, peer, m);
                }
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(msg);
        senders.insert(peer, tx);
        tokio::task::spawn_local(sender(net.clone(), peer, rx));
    }

    /// Fetches one block from `peers` (those asked; the block may come from any of them).
    /// Fails with [`NetError::NotFound`] when every peer says it does not have it, and with
    /// [`NetError::Timeout`] after `wait`. The bytes are checked against `cid`.
    pub async fn get(
        &self,
        net: &Net,
        cid: Cid,
        peers: &[PeerId],
        wait: Duration,
    ) -> Result<Vec<u8>, NetError> {
        let k = key(&cid);
        let (tx, rx) = oneshot::channel();
        {
            let mut wants = self.wants.borrow_mut();
            let w = wants.entry(k.clone()).or_insert_with(|| Want {
                cid,
                waiters: Vec::new(),
                asked: HashSet::new(),
                dont_have: HashSet::new(),
            });
            w.waiters.push(tx);
            for p in peers {
                w.asked.insert(*p);
                w.dont_have.remove(p);
            }
        }
        for p in peers {
            let mut m = empty();
            m.wantlist.push(WantEntry {
                cid,
                priority: 1,
                cancel: false,
                want_type: WantType::Block,
                send_dont_have: true,
            });
            self.send(net, *p, m);
        }
        let result = tokio::time::timeout(wait, rx).await;
        match result {
            Ok(Ok(Answer::Block(b))) => Ok(b),
            Ok(Ok(Answer::Nobody)) => {
                self.forget(net, &k, false);
                Err(NetError::NotFound(format!(
                    "no peer asked has block {cid} (they said DONT_HAVE)"
                )))
            }
            Ok(Err(_)) | Err(_) => {
                self.forget(net, &k, true);
                Err(NetError::Timeout(format!(
                    "block {cid} did not come from {} peer(s) within {} s",
                    peers.len(),
                    wait.as_secs()
                )))
            }
        }
    }

    /// Drops a want whose waiters are all gone, telling the asked peers to cancel.
    fn forget(&self, net: &Net, k: &[u8], cancel: bool) {
        let mut wants = self.wants.borrow_mut();
        let Some(w) = wants.get_mut(k) else { return };
        w.waiters.retain(|t| !t.is_closed());
        if !w.waiters.is_empty() {
            return;
        }
        let Some(w) = wants.remove(k) else { return };
        drop(wants);
        if cancel {
            for p in w.asked {
                self.send(net, p, cancel_msg(w.cid));
            }
        }
    }

    /// One message from a peer: serve its wants, take the blocks we want.
    fn on_message(&self, net: &Net, peer: PeerId, msg: Message) {
        if !msg.wantlist.is_empty() {
            self.serve(net, peer, &msg.wantlist);
        }
        for (cid, data) in msg.blocks {
            let k = key(&cid);
            let w = self.wants.borrow_mut().remove(&k);
            match w {
                Some(w) => {
                    // The decoder computed this block's multihash from its bytes, and it is the
                    // wanted one (the key): the block is checked, without hashing it twice.
                    let n = data.len() as u64;
                    self.count(|s| {
                        s.blocks_received += 1;
                        s.bytes_received += n;
                    });
                    for t in w.waiters {
                        let _ = t.send(Answer::Block(data.clone()));
                    }
                    for p in w.asked {
                        if p != peer {
                            self.send(net, p, cancel_msg(w.cid));
                        }
                    }
                }
                None => {
                    self.count(|s| s.unsolicited += 1);
                    self.strike(net, peer, "blocks nobody asked for");
                }
            }
        }
        for (cid, presence) in msg.presences {
            if presence != Presence::DontHave {
                continue;
            }
            let k = key(&cid);
            let mut wants = self.wants.borrow_mut();
            let done = match wants.get_mut(&k) {
                Some(w) => {
                    w.dont_have.insert(peer);
                    w.asked.iter().all(|p| w.dont_have.contains(p))
                }
                None => false,
            };
            if done && let Some(w) = wants.remove(&k) {
                for t in w.waiters {
                    let _ = t.send(Answer::Nobody);
                }
            }
        }
    }

    /// A stream of `peer` was reset over its bound; past [`Limits::refusals`] it is banned.
    fn refused(&self, net: &Net, peer: PeerId, limits: Limits) {
        let mut refusals = self.refusals.borrow_mut();
        if refusals.len() >= MAX_TRACKED && !refusals.contains_key(&peer) {
            refusals.clear();
        }
        // The count starts over after [`REFUSALS_WINDOW`], so an honest peer that goes over
        // the bound now and then over a long connection is never banned for it.
        let now = tokio::time::Instant::now();
        let (n, since) = refusals.entry(peer).or_insert((0, now));
        if now.duration_since(*since) > REFUSALS_WINDOW {
            (*n, *since) = (0, now);
        }
        *n += 1;
        if *n == 1 {
            log_debug!(
                "bitswap: {peer} holds {} streams, the most a peer may: its next ones are reset",
                limits.per_peer
            );
        }
        if *n > limits.refusals {
            refusals.remove(&peer);
            net.ban(
                peer,
                format!(
                    "bitswap: opened streams past the bound of {} at once {} times",
                    limits.per_peer, limits.refusals
                ),
            );
        }
    }

    fn strike(&self, net: &Net, peer: PeerId, what: &str) {
        let mut strikes = self.strikes.borrow_mut();
        if strikes.len() >= MAX_TRACKED && !strikes.contains_key(&peer) {
            strikes.clear();
        }
        let n = strikes.entry(peer).or_insert(0);
        *n += 1;
        if *n > MAX_UNSOLICITED {
            strikes.remove(&peer);
            net.ban(peer, format!("bitswap: sent {what}"));
        }
    }

    /// Answers a wantlist from the block store.
    fn serve(&self, net: &Net, peer: PeerId, wants: &[WantEntry]) {
        let Some(state) = net.state() else { return };
        let blocks = Blocks::new(&state.store);
        let who = match super::handle::leither_id_of(&peer) {
            Some(id) => Who::User(id),
            None => Who::Guest,
        };
        let mut access = BlockAccess::new(&state, who);
        let mut out = empty();
        let mut bytes = 0usize;
        for w in wants.iter().filter(|w| !w.cancel) {
            // A block the peer may not read is one we do not have, for it.
            let allowed = access.check(&w.cid).is_ok();
            let got = match w.want_type {
                WantType::Block if allowed => blocks.get(&w.cid).ok().flatten(),
                _ => None,
            };
            match got {
                Some(data) => {
                    if bytes + data.len() > ANSWER_BYTES && !out.blocks.is_empty() {
                        self.send_answer(net, peer, std::mem::replace(&mut out, empty()));
                        bytes = 0;
                    }
                    bytes += data.len();
                    out.blocks.push((w.cid, data));
                }
                None => {
                    let have = allowed
                        && w.want_type == WantType::Have
                        && blocks.has(&w.cid).unwrap_or(false);
                    if have {
                        out.presences.push((w.cid, Presence::Have));
                    } else if w.send_dont_have {
                        out.presences.push((w.cid, Presence::DontHave));
                    }
                }
            }
        }
        if !out.blocks.is_empty() || !out.presences.is_empty() {
            self.send_answer(net, peer, out);
        }
    }

    fn send_answer(&self, net: &Net, peer: PeerId, m: Message) {
        let n = m.blocks.len() as u64;
        let b: u64 = m.blocks.iter().map(|(_, d)| d.len() as u64).sum();
        self.count(|s| {
            s.blocks_sent += n;
            s.bytes_sent += b;
        });
        self.send(net, peer, m);
    }
}

fn cancel_msg(cid: Cid) -> Message {
    let mut m = empty();
    m.wantlist.push(WantEntry {
        cid,
        priority: 0,
        cancel: true,
        want_type: WantType::Block,
        send_dont_have: false,
    });
    m
}

/// Whether two messages merged stay well inside what a peer accepts (4 MiB, 8192 entries).
fn fits(a: &Message, b: &Message) -> bool {
    let bytes = |m: &Message| m.blocks.iter().map(|(_, d)| d.len()).sum::<usize>();
    bytes(a) + bytes(b) <= ANSWER_BYTES
        && a.wantlist.len() + b.wantlist.len() <= MERGE_ENTRIES
        && a.presences.len() + b.presences.len() <= MERGE_ENTRIES
}

/// The task that writes one peer's messages on a stream it opens.
async fn sender(net: Net, peer: PeerId, mut rx: mpsc::UnboundedReceiver<Message>) {
    let mut stream: Option<Stream> = None;
    let mut carry: Option<Message> = None;
    loop {
        let mut msg = match carry.take() {
            Some(m) => m,
            None => match tokio::time::timeout(SENDER_IDLE, rx.recv()).await {
                Ok(Some(m)) => m,
                Ok(None) | Err(_) => break,
            },
        };
        // What was queued meanwhile goes in the same message while it fits: one frame (and
        // one noise and yamux frame) for many wants or blocks, which matters for small blocks.
        while let Ok(more) = rx.try_recv() {
            if fits(&msg, &more) {
                msg.wantlist.extend(more.wantlist);
                msg.blocks.extend(more.blocks);
                msg.presences.extend(more.presences);
            } else {
                carry = Some(more);
                break;
            }
        }
        let body = msg.encode();
        let mut sent = false;
        for _attempt in 0..2 {
            if stream.is_none() {
                match net.open(peer, PROTOCOL).await {
                    Ok(s) => stream = Some(s),
                    Err(e) => {
                        log_debug!("bitswap: cannot reach {peer}: {e}");
                        break;
                    }
                }
            }
            if let Some(s) = stream.as_mut() {
                match write_frame(s, &body).await {
                    Ok(()) => {
                        sent = true;
                        break;
                    }
                    Err(e) => {
                        log_debug!("bitswap: stream to {peer} failed: {e}");
                        stream = None;
                    }
                }
            }
        }
        if sent {
            let n = body.len() as u64 + 4;
            net.bitswap().count(|s| s.wire_sent += n);
        } else {
            // The peer is gone: what is queued for it can wait for the next connection.
            while rx.try_recv().is_ok() {}
            break;
        }
    }
    net.bitswap().senders.borrow_mut().remove(&peer);
}

/// Reads a peer's messages from one inbound stream, every one until the peer closes it,
/// holding the stream's permit (bitswap_inbound.rs) until then.
async fn reader(net: Net, peer: PeerId, mut s: Stream, permit: Permit) {
    loop {
        match read_message(&net, peer, &mut s).await {
            Ok(Some((body, _held))) => {
                let n = body.len() as u64;
                net.bitswap().count(|st| st.wire_received += n);
                match Message::decode(&body) {
                    Ok(m) => net.bitswap().on_message(&net, peer, m),
                    Err(e) => {
                        net.ban(
                            peer,
                            format!("bitswap: a message that does not decode: {e}"),
                        );
                        break;
                    }
                }
            }
            Ok(None) => break,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                net.ban(peer, format!("bitswap: {e}"));
                break;
            }
            Err(e) => {
                log_debug!("bitswap: stream from {peer} ended: {e}");
                break;
            }
        }
    }
    drop(permit);
}

/// One varint-framed message of at most [`MAX_MESSAGE`] bytes; `Ok(None)` at a clean end.
/// The stream may stay quiet for [`STREAM_IDLE`] between messages (an idle one is closed;
/// kubo opens a new one when it next writes); a message, once begun, must be whole within
/// [`MESSAGE_TIME`]. Its length is reserved first ([`reserve`]: a stream over the bounds
/// ends), and the buffer grows as bytes arrive.
async fn read_message(
    net: &Net,
    peer: PeerId,
    s: &mut Stream,
) -> std::io::Result<Option<(Vec<u8>, Reserved)>> {
    use futures::AsyncReadExt;
    let timed_out =
        |what: &str| std::io::Error::new(std::io::ErrorKind::TimedOut, what.to_string());
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(STREAM_IDLE, s.read(&mut b))
        .await
        .map_err(|_| timed_out("idle"))??;
    if n == 0 {
        return Ok(None);
    }
    let rest = async {
        let mut len = u64::from(b[0] & 0x7f);
        let mut more = b[0] & 0x80 != 0;
        let mut shift = 7;
        while more {
            if shift > 56 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "length varint too long",
                ));
            }
            s.read_exact(&mut b).await?;
            len |= u64::from(b[0] & 0x7f) << shift;
            shift += 7;
            more = b[0] & 0x80 != 0;
        }
        if len > MAX_MESSAGE as u64 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("message of {len} bytes is over the limit of {MAX_MESSAGE}"),
            ));
        }
        let held = reserve(net, peer, len as usize)?;
        Ok(Some((read_body(s, len as usize).await?, held)))
    };
    tokio::time::timeout(MESSAGE_TIME, rest)
        .await
        .map_err(|_| timed_out("a message took too long"))?
}

/// Reads `len` bytes (already reserved) into a buffer of exactly that capacity, making each
/// [`READ_STEP`] of it ready only when the bytes before it have come: a peer that announces a
/// large message and sends little makes the node touch little memory (the allocator maps a
/// large block without touching its pages), and the buffer is never grown and copied, as
/// `read_to_end` would (it also zeroes all the spare room at once).
async fn read_body<S: futures::AsyncRead + Unpin>(
    s: &mut S,
    len: usize,
) -> std::io::Result<Vec<u8>> {
    use futures::AsyncReadExt;
    let mut body = Vec::with_capacity(len);
    // Bytes read so far; the ready part (`body.len()`) grows only once they fill it, so a
    // short read never makes the same room ready twice.
    let mut filled = 0;
    while filled < len {
        if filled == body.len() {
            body.resize(filled + (len - filled).min(READ_STEP), 0);
        }
        let n = s.read(&mut body[filled..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
    }
    Ok(body)
}

/// How much of a message's buffer is made ready for one read.
const READ_STEP: usize = 64 * 1024;

/// Bytes of inbound messages being read or handled, per peer and in all.
#[derive(Default)]
struct Reading {
    total: usize,
    per_peer: HashMap<PeerId, usize>,
}

/// A message's bytes counted in [`Reading`]; given back on drop.
struct Reserved {
    net: Net,
    peer: PeerId,
    n: usize,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        let mut r = self.net.bitswap().reading.borrow_mut();
        r.total = r.total.saturating_sub(self.n);
        if let Some(v) = r.per_peer.get_mut(&self.peer) {
            *v = v.saturating_sub(self.n);
            if *v == 0 {
                r.per_peer.remove(&self.peer);
            }
        }
    }
}

/// Counts `n` bytes of a message from `peer` before they are read: at most [`PEER_BYTES`]
/// from one peer and [`NODE_BYTES`] from all at once, so the streams' worst case is bounded
/// by these, not by 512 streams times 4 MiB. Over either, the stream ends (kubo's messages
/// are a block or two: eight workers stay far below).
fn reserve(net: &Net, peer: PeerId, n: usize) -> std::io::Result<Reserved> {
    let mut r = net.bitswap().reading.borrow_mut();
    let mine = r.per_peer.get(&peer).copied().unwrap_or(0);
    if mine + n > PEER_BYTES || r.total + n > NODE_BYTES {
        return Err(std::io::Error::other(format!(
            "{n} more bytes of messages would pass the bound ({PEER_BYTES} from one peer, {NODE_BYTES} from all)"
        )));
    }
    r.total += n;
    *r.per_peer.entry(peer).or_insert(0) += n;
    Ok(Reserved {
        net: net.clone(),
        peer,
        n,
    })
}

/// Spawns the task that takes every inbound bitswap stream (bitswap_inbound.rs) and reads
/// each in its own task; a peer whose streams go over its bound too often is banned.
pub fn spawn(net: &Net, mut incoming: mpsc::UnboundedReceiver<Inbound>, limits: Limits) {
    let net = net.clone();
    tokio::task::spawn_local(async move {
        while let Some(item) = incoming.recv().await {
            match item {
                Inbound::Stream(accepted) => {
                    let (peer, stream, permit, _) = *accepted;
                    tokio::task::spawn_local(reader(net.clone(), peer, stream, permit));
                }
                Inbound::OverPeerLimit(peer) => net.bitswap().refused(&net, peer, limits),
            }
        }
    });
}

#[cfg(test)]
mod read_body_tests {
    use super::{READ_STEP, read_body};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// Gives its bytes at most `chunk` at a time, then the end of the stream.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
        /// The largest buffer a read was offered.
        widest: usize,
    }

    impl futures::AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<std::io::Result<usize>> {
            self.widest = self.widest.max(buf.len());
            let n = buf.len().min(self.chunk).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Poll::Ready(Ok(n))
        }
    }

    fn trickle(len: usize, chunk: usize) -> Trickle {
        Trickle {
            data: (0..len).map(|i| (i * 7 % 251) as u8).collect(),
            at: 0,
            chunk,
            widest: 0,
        }
    }

    #[test]
    fn a_message_in_small_pieces_is_read_whole_into_a_buffer_of_its_size() {
        let len = 3 * READ_STEP + 12_345;
        let mut t = trickle(len, 1000);
        let body = futures::executor::block_on(read_body(&mut t, len)).unwrap();
        assert_eq!(body, t.data);
        assert_eq!(body.capacity(), len, "allocated once, never grown");
        assert!(
            t.widest <= READ_STEP,
            "at most one step made ready at a time"
        );
    }

    #[test]
    fn a_stream_that_ends_early_is_an_error_not_a_short_message() {
        let mut t = trickle(500, 64);
        let e = futures::executor::block_on(read_body(&mut t, 1000)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
