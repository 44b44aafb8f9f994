//! The net heads this node knows: for each Mimei, the newest verified head bundle seen (from
//! the DHT, a push, a provider, or our own publish), whether we follow it (sync each new
//! version as it is published) and whether we publish it (re-publish before EOL).
//!
//! A head is taken only if it verifies ([`HeadBundle::verify`]: the author's header, the
//! version record, the head signature by a key with write right, not expired) and its sequence
//! number is higher than the one kept: an older or equal one is a replay and is refused. The
//! table survives restarts, so replays are refused after a restart too.
//!
//! `net_heads`: Mimei ID (20 bytes) -> flags (1 byte: 1 follow, 2 publish), the unix time of
//! our last publish (u64 BE), the bundle bytes.

use libp2p::PeerId;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::{Net, NetError};
use crate::api::NodeState;
use crate::clock::unix_now;
use crate::mimei::store::Mimeis;
use crate::mimei::{HeadBundle, MimeiId, Right};
use crate::store::blocks::db_err;
use crate::{log_debug, log_warn};

/// The table.
pub const NET_HEADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("net_heads");

const FOLLOW: u8 = 1;
const PUBLISH: u8 = 2;

/// Where a head came from.
#[derive(Clone, Copy, Debug)]
pub enum Via {
    /// A DHT put from this peer.
    Dht(PeerId),
    /// A push (`Notify`) from this peer.
    Push(PeerId),
    /// We asked this peer or the DHT.
    Fetch,
    /// We signed it.
    Local,
}

/// What became of a head offered to [`accept`].
#[derive(Debug)]
pub enum Outcome {
    /// Newer than what we knew: kept.
    New {
        /// The Mimei.
        mid: MimeiId,
        /// Whether we follow it (so a sync should start).
        follow: bool,
        /// Where it came from.
        via: Via,
    },
    /// The head we already have.
    Known(MimeiId),
}

/// One row of the table.
#[derive(Clone)]
pub struct Entry {
    /// The verified bundle.
    pub bundle: HeadBundle,
    /// Its bytes, as received or signed.
    pub bytes: Vec<u8>,
    /// We sync each new version.
    pub follow: bool,
    /// We publish it (and re-publish before EOL).
    pub publish: bool,
    /// When we last put it in the DHT.
    pub published_at: u64,
}

fn encode(e: &Entry) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + e.bytes.len());
    let mut flags = 0;
    if e.follow {
        flags |= FOLLOW;
    }
    if e.publish {
        flags |= PUBLISH;
    }
    v.push(flags);
    v.extend_from_slice(&e.published_at.to_be_bytes());
    v.extend_from_slice(&e.bytes);
    v
}

fn decode(v: &[u8]) -> Option<Entry> {
    let (&flags, rest) = v.split_first()?;
    let (at, bytes) = rest.split_at_checked(8)?;
    let published_at = u64::from_be_bytes(at.try_into().ok()?);
    let bundle = HeadBundle::from_bytes(bytes).ok()?;
    Some(Entry {
        bundle,
        bytes: bytes.to_vec(),
        follow: flags & FOLLOW != 0,
        publish: flags & PUBLISH != 0,
        published_at,
    })
}

/// The row of `mid`, if any (a row that no longer parses counts as none).
pub fn get(state: &NodeState, mid: &MimeiId) -> Result<Option<Entry>, NetError> {
    let path = state.store.path();
    let tx = state.store.db().begin_read().map_err(|e| db_err(path, e))?;
    let t = match tx.open_table(NET_HEADS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(db_err(path, e).into()),
    };
    let v = t
        .get(mid.as_bytes().as_slice())
        .map_err(|e| db_err(path, e))?;
    Ok(v.and_then(|g| decode(g.value())))
}

/// Every row.
pub fn all(state: &NodeState) -> Result<Vec<(MimeiId, Entry)>, NetError> {
    let path = state.store.path();
    let tx = state.store.db().begin_read().map_err(|e| db_err(path, e))?;
    let t = match tx.open_table(NET_HEADS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(db_err(path, e).into()),
    };
    let mut out = Vec::new();
    for row in t.iter().map_err(|e| db_err(path, e))? {
        let (k, v) = row.map_err(|e| db_err(path, e))?;
        let Ok(arr) = <[u8; 20]>::try_from(k.value()) else {
            continue;
        };
        if let Some(e) = decode(v.value()) {
            out.push((MimeiId::from_bytes(arr), e));
        }
    }
    Ok(out)
}

/// Writes a row.
pub fn put(state: &NodeState, mid: &MimeiId, e: &Entry) -> Result<(), NetError> {
    let path = state.store.path();
    let tx = state
        .store
        .db()
        .begin_write()
        .map_err(|e| db_err(path, e))?;
    {
        let mut t = tx.open_table(NET_HEADS).map_err(|e| db_err(path, e))?;
        t.insert(mid.as_bytes().as_slice(), encode(e).as_slice())
            .map_err(|e| db_err(path, e))?;
    }
    tx.commit().map_err(|e| db_err(path, e))?;
    Ok(())
}

/// Changes the flags of a row (which must exist).
pub fn set_flags(
    state: &NodeState,
    mid: &MimeiId,
    follow: Option<bool>,
    publish: Option<bool>,
) -> Result<(), NetError> {
    let Some(mut e) = get(state, mid)? else {
        return Err(NetError::NotFound(format!(
            "no head of Mimei {mid} is known here; publish or sync it first"
        )));
    };
    if let Some(f) = follow {
        e.follow = f;
    }
    if let Some(p) = publish {
        e.publish = p;
    }
    put(state, mid, &e)
}

/// Verifies a head bundle and keeps it if it is newer than the one we have. A head that fails
/// verification is an error (the caller drops its sender); an older one is a replay and is
/// refused with [`NetError::Replay`], which does not ban (old records travel the DHT
/// innocently).
pub fn accept(state: &NodeState, bytes: &[u8], via: Via) -> Result<Outcome, NetError> {
    let bundle = HeadBundle::from_bytes(bytes).map_err(|e| NetError::Refused(e.to_string()))?;
    bundle
        .verify(unix_now())
        .map_err(|e| NetError::Refused(e.to_string()))?;
    let mid = *bundle.head.mid();
    // Rights may have changed since the bundle's header: a newer header we hold must also
    // grant the signer write.
    if let Ok(local) = Mimeis::new(&state.store).header(&mid)
        && local.fields().revision > bundle.header.fields().revision
        && local
            .rights()
            .check(Some(bundle.head.signer()), Right::WRITE)
            .is_err()
    {
        return Err(NetError::Refused(format!(
            "the head of Mimei {mid} is signed by {}, whose write right was revoked",
            bundle.head.signer()
        )));
    }
    let old = get(state, &mid)?;
    if let Some(o) = &old {
        let (have, got) = (o.bundle.head.seq(), bundle.head.seq());
        if got < have || (got == have && o.bytes != bytes) {
            return Err(NetError::Replay(format!(
                "a replayed head of Mimei {mid}: sequence {got} is not newer than the {have} known here"
            )));
        }
        if got == have {
            return Ok(Outcome::Known(mid));
        }
    }
    let (follow, publish, published_at) = old
        .as_ref()
        .map_or((false, false, 0), |o| (o.follow, o.publish, o.published_at));
    put(
        state,
        &mid,
        &Entry {
            bundle,
            bytes: bytes.to_vec(),
            follow,
            publish,
            published_at,
        },
    )?;
    log_debug!("new head of {mid} ({via:?})");
    Ok(Outcome::New { mid, follow, via })
}

/// Serves `/leither/head/1.0.0`: `Get` answers our head, `Notify` offers a new one. Streams
/// come from `bitswap_inbound`'s acceptor (every one taken, within its bounds, where
/// libp2p-stream's queue of one dropped all but one of several pushes at once); a peer that
/// keeps going over its bound is banned.
pub fn spawn_server(net: &Net, incoming: tokio::sync::mpsc::UnboundedReceiver<super::Inbound>) {
    super::bitswap_inbound::serve_inbound(net, incoming, "head", |net, peer, stream, permit, _| {
        let net = net.clone();
        tokio::task::spawn_local(async move {
            serve_one(net, peer, stream).await;
            drop(permit);
        });
    });
}

async fn serve_one(net: Net, peer: PeerId, mut s: libp2p::Stream) {
    use super::handle::{STREAM_TIMEOUT, read_frame, write_frame};
    use super::head_wire::{Answer, MAX_MESSAGE_LEN, Request};
    let Ok(Ok(Some(body))) =
        tokio::time::timeout(STREAM_TIMEOUT, read_frame(&mut s, MAX_MESSAGE_LEN)).await
    else {
        return;
    };
    let Some(state) = net.state() else { return };
    // The sender of junk or a forged head is banned after it has the answer (a ban closes
    // the connection, and the answer says why).
    let mut ban: Option<String> = None;
    let answer = match Request::from_bytes(&body) {
        Err(e) => {
            ban = Some(format!("heads: a request that does not parse: {e}"));
            Answer::Refused(e.to_string())
        }
        Ok(Request::Get(mid)) => match get(&state, &mid) {
            Ok(Some(e)) => {
                // A peer that asks for a head we hold follows it: it hears of the next
                // version from us too, within the table's bounds (subscribers.rs).
                let now = tokio::time::Instant::now();
                net.inner.subscribers.borrow_mut().note(mid, peer, now);
                Answer::Head(e.bytes)
            }
            _ => Answer::NoHead,
        },
        Ok(Request::Notify(bytes)) => match accept(&state, &bytes, Via::Push(peer)) {
            Ok(outcome) => {
                super::sync::on_new_head(&net.inner, &state, outcome);
                Answer::Ack
            }
            Err(e) => {
                let text = e.to_string();
                if let NetError::Replay(_) = e {
                    log_warn!("refused a head pushed by {peer}: {text}");
                } else {
                    ban = Some(format!("pushed a head that failed verification: {text}"));
                }
                Answer::Refused(text)
            }
        },
    };
    let _ = tokio::time::timeout(STREAM_TIMEOUT, write_frame(&mut s, &answer.to_bytes())).await;
    let _ = futures::AsyncWriteExt::close(&mut s).await;
    if let Some(why) = ban {
        // A moment for the answer to leave before the connection closes.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        net.ban(peer, why);
    }
}

/// One request to `peer` on `/leither/head/1.0.0` and its answer (`None`: the stream ended
/// without one). An answer that does not parse bans the peer.
async fn exchange(
    net: &Net,
    peer: PeerId,
    request: super::head_wire::Request,
) -> Result<Option<super::head_wire::Answer>, NetError> {
    use super::handle::{STREAM_TIMEOUT, read_frame, write_frame};
    use super::head_wire::{Answer, MAX_MESSAGE_LEN};
    let mut s = net.open(peer, super::head_wire::PROTOCOL).await?;
    let io = async {
        write_frame(&mut s, &request.to_bytes()).await?;
        read_frame(&mut s, MAX_MESSAGE_LEN).await
    };
    let body = match tokio::time::timeout(STREAM_TIMEOUT, io).await {
        Ok(Ok(Some(b))) => b,
        Ok(Ok(None)) => return Ok(None),
        Ok(Err(e)) => {
            return Err(NetError::Dial {
                addr: peer.to_string(),
                reason: e.to_string(),
            });
        }
        Err(_) => return Err(NetError::Timeout(format!("{peer} did not answer in time"))),
    };
    match Answer::from_bytes(&body) {
        Ok(a) => Ok(Some(a)),
        Err(e) => {
            net.ban(peer, format!("heads: an answer that does not parse: {e}"));
            Err(NetError::Refused(e.to_string()))
        }
    }
}

/// Asks `peer` for its head of `mid`; the answer is verified by the caller ([`accept`]).
pub async fn fetch_from(
    net: &Net,
    peer: PeerId,
    mid: &MimeiId,
) -> Result<Option<Vec<u8>>, NetError> {
    use super::head_wire::{Answer, Request};
    Ok(match exchange(net, peer, Request::Get(*mid)).await? {
        Some(Answer::Head(b)) => Some(b),
        _ => None,
    })
}

/// Pushes a head to `peer`; returns its answer (`Ok(true)`: taken).
pub async fn push_to(net: &Net, peer: PeerId, bytes: &[u8]) -> Result<bool, NetError> {
    use super::head_wire::{Answer, Request};
    let answer = exchange(net, peer, Request::Notify(bytes.to_vec())).await?;
    Ok(matches!(answer, Some(Answer::Ack)))
}
