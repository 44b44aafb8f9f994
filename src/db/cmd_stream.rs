//! Streams: `XADD XRANGE XREVRANGE XLEN XDEL XTRIM XREAD XSETID XINFO`, with Redis 7.0's
//! arguments, replies and errors (docs/db.md, "Streams"); consumer groups are
//! `cmd_stream_group.rs`.
//!
//! Layout under the key's element space `e LEN KEY` (the meta entry's count is the number
//! of entries, `XLEN`):
//! - `s` -> the stream's state: last ID, entries added, max deleted ID ([`State`]);
//! - `i MS SEQ` (u64 BE each, so entries sort by ID) -> the entry's node ID (16 bytes), then
//!   each field and value as u32 BE length + bytes;
//! - `n MS SEQ` -> a node ([`Node`]): its live entries, entries ever put in it, its last ID.
//!
//! Nodes stand for Redis's listpack nodes of `stream-node-max-entries` (100) entries: an
//! entry joins the last node until that node has held [`NODE_MAX`] entries (deleted ones
//! count), a node goes when its last live entry goes, and approximate trimming (`~`) drops
//! only whole nodes, as Redis's does, so `XLEN` after `MAXLEN ~` and `XINFO`'s
//! `radix-tree-keys` answer what Redis answers.

use super::cmd_stream_group::xreadgroup;
use super::engine::{CmdResult, Ctx, bounded, int_arg, is, name_ok};
use super::keys::{self, Kind, Meta};
use super::kv::Kv;
use super::{DbError, MAX_VALUE, Reply, cmd_stream_group};

/// Entries a node holds by default, as Redis's `stream-node-max-entries`.
pub const NODE_MAX: u64 = 100;

/// `STATE`'s sub-key.
const SUB_STATE: u8 = b's';
/// Entries' sub-space.
const SUB_ENTRY: u8 = b'i';
/// Nodes' sub-space.
const SUB_NODE: u8 = b'n';

const BAD_ID: &str = "Invalid stream ID specified as stream command argument";

/// A stream entry ID: milliseconds and sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Id {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl Id {
    /// `0-0`.
    pub const MIN: Id = Id { ms: 0, seq: 0 };
    /// The largest ID.
    pub const MAX: Id = Id {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// 16 bytes that sort like the ID.
    pub fn bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// Inverse of [`Id::bytes`] (the first 16 bytes of `b`).
    pub fn from_bytes(b: &[u8]) -> Option<Id> {
        Some(Id {
            ms: u64::from_be_bytes(b.get(..8)?.try_into().ok()?),
            seq: u64::from_be_bytes(b.get(8..16)?.try_into().ok()?),
        })
    }

    /// The next ID, `None` after the last.
    pub fn incr(self) -> Option<Id> {
        if self.seq < u64::MAX {
            Some(Id {
                seq: self.seq + 1,
                ..self
            })
        } else if self.ms < u64::MAX {
            Some(Id {
                ms: self.ms + 1,
                seq: 0,
            })
        } else {
            None
        }
    }

    /// The previous ID, `None` before `0-0`.
    pub fn decr(self) -> Option<Id> {
        if self.seq > 0 {
            Some(Id {
                seq: self.seq - 1,
                ..self
            })
        } else if self.ms > 0 {
            Some(Id {
                ms: self.ms - 1,
                seq: u64::MAX,
            })
        } else {
            None
        }
    }

    /// `MS-SEQ`.
    pub fn text(self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }

    /// `MS-SEQ` as a bulk reply.
    pub fn reply(self) -> Reply {
        Reply::Bulk(self.text())
    }
}

fn bad_id() -> DbError {
    DbError::Other(BAD_ID.into())
}

fn u64_arg(b: &[u8]) -> Option<u64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// An ID argument: `MS-SEQ`, or `MS` (sequence `missing_seq`); `-` and `+` unless `strict`;
/// `MS-*` when `star` (then the bool is false: the sequence is to be chosen).
pub fn parse_id(
    b: &[u8],
    missing_seq: u64,
    strict: bool,
    star: bool,
) -> Result<(Id, bool), DbError> {
    if b.len() > 127 {
        return Err(bad_id());
    }
    if !strict && b == b"-" {
        return Ok((Id::MIN, true));
    }
    if !strict && b == b"+" {
        return Ok((Id::MAX, true));
    }
    let (ms, seq) = match b.iter().position(|&c| c == b'-') {
        Some(p) => (&b[..p], Some(&b[p + 1..])),
        None => (b, None),
    };
    let ms = u64_arg(ms).ok_or_else(bad_id)?;
    match seq {
        None => Ok((
            Id {
                ms,
                seq: missing_seq,
            },
            true,
        )),
        Some(b"*") if star => Ok((Id { ms, seq: 0 }, false)),
        Some(s) => Ok((
            Id {
                ms,
                seq: u64_arg(s).ok_or_else(bad_id)?,
            },
            true,
        )),
    }
}

/// A strict ID (no `-`, `+`, `*`), sequence 0 when left out.
pub fn strict_id(b: &[u8]) -> Result<Id, DbError> {
    Ok(parse_id(b, 0, true, false)?.0)
}

/// The stream's state entry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct State {
    /// The last ID handed out (`last-generated-id`).
    pub last: Id,
    /// Entries ever added (`entries-added`).
    pub added: u64,
    /// The largest ID deleted (`max-deleted-entry-id`).
    pub max_del: Id,
}

impl State {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(40);
        v.extend_from_slice(&self.last.bytes());
        v.extend_from_slice(&self.added.to_be_bytes());
        v.extend_from_slice(&self.max_del.bytes());
        v
    }

    fn decode(b: &[u8]) -> Option<State> {
        Some(State {
            last: Id::from_bytes(b.get(..16)?)?,
            added: u64::from_be_bytes(b.get(16..24)?.try_into().ok()?),
            max_del: Id::from_bytes(b.get(24..40)?)?,
        })
    }
}

/// A node's record.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    live: u64,
    total: u64,
    last: Id,
}

impl Node {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(32);
        v.extend_from_slice(&self.live.to_be_bytes());
        v.extend_from_slice(&self.total.to_be_bytes());
        v.extend_from_slice(&self.last.bytes());
        v
    }

    fn decode(b: &[u8]) -> Option<Node> {
        Some(Node {
            live: u64::from_be_bytes(b.get(..8)?.try_into().ok()?),
            total: u64::from_be_bytes(b.get(8..16)?.try_into().ok()?),
            last: Id::from_bytes(b.get(16..32)?)?,
        })
    }
}

fn damaged(key: &[u8]) -> DbError {
    DbError::Other(format!(
        "the stored stream {:?} is damaged; delete the key",
        String::from_utf8_lossy(key)
    ))
}

fn sub_key(key: &[u8], sub: u8, id: Id) -> Vec<u8> {
    let mut s = [0u8; 17];
    s[0] = sub;
    s[1..].copy_from_slice(&id.bytes());
    keys::elem(key, &s)
}

pub(super) fn entry_key(key: &[u8], id: Id) -> Vec<u8> {
    sub_key(key, SUB_ENTRY, id)
}

fn node_key(key: &[u8], id: Id) -> Vec<u8> {
    sub_key(key, SUB_NODE, id)
}

fn state_key(key: &[u8]) -> Vec<u8> {
    keys::elem(key, &[SUB_STATE])
}

/// A stream key: its meta entry and state.
pub struct Stream {
    /// The meta entry (its `len` is `XLEN`).
    pub meta: Meta,
    /// The state entry.
    pub state: State,
    old_expire: u64,
}

impl Stream {
    /// A new, empty stream.
    pub fn empty() -> Stream {
        Stream {
            meta: Meta::new(Kind::Stream),
            state: State::default(),
            old_expire: 0,
        }
    }
}

/// The stream at `key`, `None` if absent; another type is `WRONGTYPE`.
pub fn load(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Stream>, DbError> {
    let Some(meta) = ctx.typed(key, Kind::Stream)? else {
        return Ok(None);
    };
    let state = match ctx.kv.get(&state_key(key))? {
        Some(b) => State::decode(&b).ok_or_else(|| damaged(key))?,
        None => State::default(),
    };
    Ok(Some(Stream {
        old_expire: meta.expire,
        meta,
        state,
    }))
}

/// Writes `s`'s state and meta entry back.
pub fn save(ctx: &mut Ctx<'_>, key: &[u8], s: &Stream) -> Result<(), DbError> {
    ctx.kv.put_owned(&state_key(key), s.state.encode())?;
    ctx.put_meta(key, &s.meta, s.old_expire)
}

/// Visits entries with IDs in `from..=to` (descending when `rev`): `f` gets the ID and the
/// stored value (node ID, then fields), returns false to stop.
pub(super) fn visit(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    from: Id,
    to: Id,
    rev: bool,
    f: &mut dyn FnMut(Id, &[u8]) -> bool,
) -> Result<(), DbError> {
    if from > to {
        return Ok(());
    }
    let lo = entry_key(key, from);
    let mut hi = entry_key(key, to);
    hi.push(0);
    let n = lo.len() - 16;
    ctx.kv
        .scan(&lo, &hi, rev, &mut |k, v| match Id::from_bytes(&k[n..]) {
            Some(id) => f(id, v),
            None => true,
        })
}

/// The fields and values of a stored entry (after its 16-byte node ID).
fn fields(v: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = v.get(16..).unwrap_or_default();
    while let Some(len) = rest.get(..4) {
        let n = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(item) = rest.get(4..4 + n) else {
            break;
        };
        out.push(item.to_vec());
        rest = &rest[4 + n..];
    }
    out
}

/// An entry as Redis replies it: `[id, [field, value, ...]]`.
pub(super) fn entry_reply(ctx: &Ctx<'_>, id: Id, v: &[u8]) -> Reply {
    let items = fields(v)
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            if i % 2 == 1 {
                ctx.bulk(b)
            } else {
                Reply::Bulk(b)
            }
        })
        .collect();
    Reply::Array(vec![id.reply(), Reply::Array(items)])
}

/// Entries `from..=to` as replies, at most `count` (0 = all).
pub fn range(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    from: Id,
    to: Id,
    rev: bool,
    count: u64,
) -> Result<Vec<Reply>, DbError> {
    let mut unbounded = usize::MAX;
    range_within(ctx, key, from, to, rev, count, &mut unbounded)
}

/// The most entry bytes one `XREAD`/`XREADGROUP` gathers: it may name a stream many times
/// over (`XREAD STREAMS s s s ... 0 0 0`), and a short request must not make the one
/// thread build gigabytes (the bound of `MGET`). Past it they answer fewer entries, as if
/// `COUNT` had said so; the rest come with the next read.
pub const MAX_GATHER: usize = 64 << 20;

/// Like [`range`], taking the stored bytes it reads from `budget` and stopping before the
/// entry that would overdraw it.
pub(super) fn range_within(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    from: Id,
    to: Id,
    rev: bool,
    count: u64,
    budget: &mut usize,
) -> Result<Vec<Reply>, DbError> {
    let mut raw = Vec::new();
    visit(ctx, key, from, to, rev, &mut |id, v| {
        let Some(left) = budget.checked_sub(v.len()) else {
            return false;
        };
        *budget = left;
        raw.push((id, v.to_vec()));
        count == 0 || (raw.len() as u64) < count
    })?;
    Ok(raw.iter().map(|(id, v)| entry_reply(ctx, *id, v)).collect())
}

/// The first (or last, `rev`) live entry's ID.
pub(super) fn edge(ctx: &mut Ctx<'_>, key: &[u8], rev: bool) -> Result<Option<Id>, DbError> {
    let mut out = None;
    visit(ctx, key, Id::MIN, Id::MAX, rev, &mut |id, _| {
        out = Some(id);
        false
    })?;
    Ok(out)
}

/// The first node: its ID and record.
fn first_node(ctx: &mut Ctx<'_>, key: &[u8], rev: bool) -> Result<Option<(Id, Node)>, DbError> {
    let p = keys::elem(key, &[SUB_NODE]);
    let mut out = None;
    ctx.kv.scan(&p, &keys::prefix_end(&p), rev, &mut |k, v| {
        out = Id::from_bytes(&k[p.len()..]).zip(Node::decode(v));
        false
    })?;
    Ok(out)
}

/// Removes entry `id` (stored value `v`): its node's count, the stream's length.
fn remove_entry(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    s: &mut Stream,
    id: Id,
    v: &[u8],
) -> Result<(), DbError> {
    ctx.kv.del(&entry_key(key, id))?;
    s.meta.len = s.meta.len.saturating_sub(1);
    let Some(node_id) = Id::from_bytes(v) else {
        return Ok(());
    };
    let nk = node_key(key, node_id);
    if let Some(mut node) = ctx.kv.get(&nk)?.as_deref().and_then(Node::decode) {
        node.live = node.live.saturating_sub(1);
        if node.live == 0 {
            ctx.kv.del(&nk)?;
        } else {
            ctx.kv.put_owned(&nk, node.encode())?;
        }
    }
    Ok(())
}

/// How to trim, from `MAXLEN`/`MINID` [`=`|`~`] threshold [`LIMIT` n].
#[derive(Clone, Copy, Debug, Default)]
pub struct Trim {
    maxlen: Option<u64>,
    minid: Option<Id>,
    approx: bool,
    /// Most entries removed (0 = no limit).
    limit: u64,
}

impl Trim {
    fn any(&self) -> bool {
        self.maxlen.is_some() || self.minid.is_some()
    }
}

/// Trims `s` as `t` says; answers how many entries went.
fn trim(ctx: &mut Ctx<'_>, key: &[u8], s: &mut Stream, t: &Trim) -> Result<u64, DbError> {
    let mut deleted = 0u64;
    loop {
        if t.maxlen.is_some_and(|m| s.meta.len <= m) {
            break;
        }
        let Some((nid, mut node)) = first_node(ctx, key, false)? else {
            break;
        };
        if t.limit != 0 && deleted + node.live > t.limit {
            break;
        }
        let whole = match (t.maxlen, t.minid) {
            (Some(m), _) => s.meta.len.saturating_sub(node.live) >= m,
            (_, Some(min)) => node.last < min,
            _ => false,
        };
        let mut doomed = Vec::new();
        visit(ctx, key, nid, node.last, false, &mut |id, _| {
            doomed.push(id);
            true
        })?;
        if whole {
            for id in &doomed {
                ctx.kv.del(&entry_key(key, *id))?;
            }
            ctx.kv.del(&node_key(key, nid))?;
            let n = doomed.len() as u64;
            s.meta.len = s.meta.len.saturating_sub(n);
            deleted += n;
            continue;
        }
        if t.approx {
            break;
        }
        for id in doomed {
            let stop = match (t.maxlen, t.minid) {
                (Some(m), _) => s.meta.len <= m,
                (_, Some(min)) => id >= min,
                _ => true,
            };
            if stop {
                break;
            }
            ctx.kv.del(&entry_key(key, id))?;
            s.meta.len = s.meta.len.saturating_sub(1);
            node.live = node.live.saturating_sub(1);
            deleted += 1;
        }
        if node.live == 0 {
            ctx.kv.del(&node_key(key, nid))?;
        } else {
            ctx.kv.put_owned(&node_key(key, nid), node.encode())?;
        }
        break;
    }
    Ok(deleted)
}

pub(super) fn err(m: &str) -> DbError {
    DbError::Other(m.into())
}

/// Parses the trimming options from `a[2..]` (XADD: stops at the ID, which it returns with
/// its index and whether its sequence was given; `None` for `*`), and `NOMKSTREAM`.
#[allow(clippy::type_complexity)]
fn parse_trim(
    a: &[&[u8]],
    xadd: bool,
    node_max: u64,
) -> Result<(Trim, bool, usize, Option<(Id, bool)>), DbError> {
    let mut t = Trim::default();
    let (mut nomk, mut limit_given, mut id) = (false, false, None);
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let o = a[i];
        if xadd && o == b"*" {
            break;
        } else if (is(o, "maxlen") || is(o, "minid")) && more > 0 {
            if t.any() {
                return Err(err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            t.approx = false;
            if more >= 2 && a[i + 1] == b"~" {
                t.approx = true;
                i += 1;
            } else if more >= 2 && a[i + 1] == b"=" {
                i += 1;
            }
            if is(o, "maxlen") {
                let n = int_arg(a[i + 1])?;
                if n < 0 {
                    return Err(err("The MAXLEN argument must be >= 0."));
                }
                t.maxlen = Some(n as u64);
            } else {
                t.minid = Some(strict_id(a[i + 1])?);
            }
            i += 1;
        } else if is(o, "limit") && more > 0 {
            let n = int_arg(a[i + 1])?;
            if n < 0 {
                return Err(err("The LIMIT argument must be >= 0."));
            }
            t.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && is(o, "nomkstream") {
            nomk = true;
        } else if xadd {
            id = Some(parse_id(o, 0, true, true)?);
            break;
        } else {
            return Err(DbError::Syntax);
        }
        i += 1;
    }
    if t.limit != 0 && !t.any() {
        return Err(err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && !t.any() {
        return Err(err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given && !t.approx {
        return Err(err(
            "syntax error, LIMIT cannot be used without the special ~ option",
        ));
    }
    if !limit_given && t.approx {
        // Redis's default work bound for `~`: 100 nodes' worth, 10,000 when that is 0 or
        // over a million.
        t.limit = match node_max.saturating_mul(100) {
            0 => 10_000,
            n if n > 1_000_000 => 10_000,
            n => n,
        };
    }
    Ok((t, nomk, i, id))
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT n]] *|ID field value ...`.
pub fn xadd(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (t, nomk, i, given) = parse_trim(a, true, ctx.tune.stream_node_max_entries)?;
    let pairs = a.get(i + 1..).unwrap_or_default();
    if pairs.len() < 2 || pairs.len() % 2 == 1 {
        return Err(DbError::Arity("xadd".into()));
    }
    if given == Some((Id::MIN, true)) {
        return Err(err("The ID specified in XADD must be greater than 0-0"));
    }
    let mut value = Vec::new();
    for (j, p) in pairs.iter().enumerate() {
        let p = if j % 2 == 0 {
            name_ok(p)?.to_vec()
        } else {
            ctx.store_val(p).into_owned()
        };
        value.extend_from_slice(&(p.len() as u32).to_be_bytes());
        value.extend_from_slice(&p);
    }
    bounded(&value)?;
    let key = a[1];
    let mut s = match load(ctx, key)? {
        Some(s) => s,
        None if nomk => return Ok(Reply::Nil),
        None => Stream::empty(),
    };
    let last = s.state.last;
    if last == Id::MAX {
        return Err(err(
            "The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let too_small =
        || err("The ID specified in XADD is equal or smaller than the target stream top item");
    let id = match given {
        Some((id, true)) => id,
        Some((id, false)) if id.ms == last.ms => last
            .incr()
            .filter(|n| n.ms == last.ms)
            .ok_or_else(too_small)?,
        Some((id, false)) => id,
        None if ctx.now > last.ms => Id {
            ms: ctx.now,
            seq: 0,
        },
        None => last.incr().ok_or_else(too_small)?,
    };
    if id <= last {
        return Err(too_small());
    }
    // The entry joins the last node while it has room, else starts one.
    let cap = ctx.tune.stream_node_max_entries;
    let (nid, node) = match first_node(ctx, key, true)? {
        Some((nid, n)) if cap == 0 || n.total < cap => (
            nid,
            Node {
                live: n.live + 1,
                total: n.total + 1,
                last: id,
            },
        ),
        _ => (
            id,
            Node {
                live: 1,
                total: 1,
                last: id,
            },
        ),
    };
    let mut stored = Vec::with_capacity(16 + value.len());
    stored.extend_from_slice(&nid.bytes());
    stored.extend_from_slice(&value);
    if stored.len() > MAX_VALUE {
        return Err(DbError::TooLarge);
    }
    ctx.kv.note(key, true);
    ctx.kv.put_owned(&entry_key(key, id), stored)?;
    ctx.kv.put_owned(&node_key(key, nid), node.encode())?;
    s.meta.len += 1;
    s.state.last = id;
    s.state.added += 1;
    if t.any() {
        trim(ctx, key, &mut s, &t)?;
    }
    save(ctx, key, &s)?;
    Ok(id.reply())
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT n]`: entries removed.
pub fn xtrim(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (t, _, i, _) = parse_trim(a, false, ctx.tune.stream_node_max_entries)?;
    debug_assert!(i >= a.len());
    let Some(mut s) = load(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    let n = trim(ctx, a[1], &mut s, &t)?;
    if n > 0 {
        save(ctx, a[1], &s)?;
    }
    Ok(Reply::Int(n as i64))
}

/// `XLEN key`.
pub fn xlen(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(
        ctx.typed(a[1], Kind::Stream)?.map_or(0, |m| m.len as i64),
    ))
}

/// `XDEL key ID...`: entries removed.
pub fn xdel(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let key = a[1];
    let Some(mut s) = load(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let ids = a[2..]
        .iter()
        .map(|b| strict_id(b))
        .collect::<Result<Vec<_>, _>>()?;
    let mut n = 0;
    for id in ids {
        if let Some(v) = ctx.kv.get(&entry_key(key, id))? {
            remove_entry(ctx, key, &mut s, id, &v)?;
            s.state.max_del = s.state.max_del.max(id);
            n += 1;
        }
    }
    if n > 0 {
        save(ctx, key, &s)?;
    }
    Ok(Reply::Int(n))
}

/// A range end: `(ID` excludes it (strict), else `ID`, `-`, `+`.
pub(super) fn range_end(b: &[u8], missing_seq: u64) -> Result<(Id, bool), DbError> {
    if b.len() > 1 && b[0] == b'(' {
        Ok((parse_id(&b[1..], missing_seq, true, false)?.0, true))
    } else {
        Ok((parse_id(b, missing_seq, false, false)?.0, false))
    }
}

fn xrange_generic(ctx: &mut Ctx<'_>, a: &[&[u8]], rev: bool) -> CmdResult {
    let (sa, ea) = if rev { (a[3], a[2]) } else { (a[2], a[3]) };
    let (mut start, sx) = range_end(sa, 0)?;
    if sx {
        start = start
            .incr()
            .ok_or_else(|| err("invalid start ID for the interval"))?;
    }
    let (mut end, ex) = range_end(ea, u64::MAX)?;
    if ex {
        end = end
            .decr()
            .ok_or_else(|| err("invalid end ID for the interval"))?;
    }
    let mut count: Option<u64> = None;
    let mut j = 4;
    while j < a.len() {
        if is(a[j], "count") && j + 1 < a.len() {
            count = Some(int_arg(a[j + 1])?.max(0) as u64);
            j += 2;
        } else {
            return Err(DbError::Syntax);
        }
    }
    if load(ctx, a[1])?.is_none() {
        return Ok(Reply::Array(Vec::new()));
    }
    if count == Some(0) {
        return Ok(Reply::NilArray);
    }
    Ok(Reply::Array(range(
        ctx,
        a[1],
        start,
        end,
        rev,
        count.unwrap_or(0),
    )?))
}

/// `XRANGE key start end [COUNT n]`.
pub fn xrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    xrange_generic(ctx, a, false)
}

/// `XREVRANGE key end start [COUNT n]`.
pub fn xrevrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    xrange_generic(ctx, a, true)
}

/// The options of `XREAD` and `XREADGROUP`.
pub(super) struct ReadArgs<'a> {
    /// `COUNT` (0 = all).
    pub count: u64,
    /// `NOACK` (XREADGROUP).
    pub noack: bool,
    /// `GROUP group consumer` (XREADGROUP).
    pub group: Option<(&'a [u8], &'a [u8])>,
    /// Index of the first key after `STREAMS`.
    pub streams: usize,
    /// Index of `BLOCK`, when given.
    pub block: Option<usize>,
}

/// Parses `XREAD`'s (`group` false) or `XREADGROUP`'s options, as Redis does.
pub(super) fn parse_read<'a>(a: &[&'a [u8]], group: bool) -> Result<ReadArgs<'a>, DbError> {
    let mut r = ReadArgs {
        count: 0,
        noack: false,
        group: None,
        streams: 0,
        block: None,
    };
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let o = a[i];
        if is(o, "block") && more > 0 {
            let ms =
                int_arg(a[i + 1]).map_err(|_| err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(err("timeout is negative"));
            }
            r.block = Some(i);
            i += 2;
        } else if is(o, "count") && more > 0 {
            r.count = int_arg(a[i + 1])?.max(0) as u64;
            i += 2;
        } else if is(o, "streams") && more > 0 {
            r.streams = i + 1;
            if !(a.len() - r.streams).is_multiple_of(2) {
                return Err(err(if group {
                    "Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified."
                } else {
                    "Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified."
                }));
            }
            break;
        } else if is(o, "group") && more >= 2 {
            if !group {
                return Err(err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((a[i + 1], a[i + 2]));
            i += 3;
        } else if is(o, "noack") {
            if !group {
                return Err(err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
            i += 1;
        } else {
            return Err(DbError::Syntax);
        }
    }
    if r.streams == 0 {
        return Err(DbError::Syntax);
    }
    if group && r.group.is_none() {
        return Err(err("Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// `XREAD [COUNT n] [BLOCK ms] STREAMS key... ID...`. `BLOCK` is accepted and answered as
/// without it (the connection layer does not park stream readers yet).
pub fn xread(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let ReadArgs { count, streams, .. } = parse_read(a, false)?;
    let n = (a.len() - streams) / 2;
    let mut after = Vec::with_capacity(n);
    for j in 0..n {
        let key = a[streams + j];
        let s = load(ctx, key)?;
        let idarg = a[streams + n + j];
        after.push(if idarg == b"$" {
            s.map_or(Id::MIN, |s| s.state.last)
        } else if idarg == b">" {
            return Err(err(
                "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            ));
        } else {
            strict_id(idarg)?
        });
    }
    let mut out = Vec::new();
    let mut budget = MAX_GATHER;
    for (j, gt) in after.into_iter().enumerate() {
        let key = a[streams + j];
        let Some(from) = gt.incr() else { continue };
        let items = range_within(ctx, key, from, Id::MAX, false, count, &mut budget)?;
        if !items.is_empty() {
            out.push(Reply::Array(vec![
                Reply::Bulk(key.to_vec()),
                Reply::Array(items),
            ]));
        }
    }
    if out.is_empty() {
        return Ok(Reply::NilArray);
    }
    Ok(Reply::Array(out))
}

/// `XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]`.
pub fn xsetid(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let id = strict_id(a[2])?;
    let (mut added, mut max_del) = (None, Id::MIN);
    let mut i = 3;
    while i < a.len() {
        if is(a[i], "entriesadded") && i + 1 < a.len() {
            let n = int_arg(a[i + 1])?;
            if n < 0 {
                return Err(err("entries_added must be positive"));
            }
            added = Some(n as u64);
        } else if is(a[i], "maxdeletedid") && i + 1 < a.len() {
            max_del = strict_id(a[i + 1])?;
            if id < max_del {
                return Err(err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(DbError::Syntax);
        }
        i += 2;
    }
    let Some(mut s) = load(ctx, a[1])? else {
        return Err(DbError::NoSuchKey);
    };
    if s.meta.len > 0 {
        if edge(ctx, a[1], true)?.is_some_and(|top| id < top) {
            return Err(err(
                "The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if added.is_some_and(|n| s.meta.len > n) {
            return Err(err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.state.last = id;
    if let Some(n) = added {
        s.state.added = n;
    }
    if max_del != Id::MIN {
        s.state.max_del = max_del;
    }
    save(ctx, a[1], &s)?;
    Ok(Reply::OK)
}

/// `XINFO STREAM key [FULL [COUNT n]]` | `XINFO HELP`.
pub fn xinfo(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let sub = a[1];
    if is(sub, "help") {
        if a.len() != 2 {
            return Err(DbError::Arity("xinfo|help".into()));
        }
        return Ok(Reply::Array(
            [
                "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CONSUMERS <key> <groupname>",
                "    Show consumers of <groupname>.",
                "GROUPS <key>",
                "    Show the stream consumer groups.",
                "STREAM <key> [FULL [COUNT <count>]",
                "    Show information about the stream.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|s| Reply::Status(s))
            .collect(),
        ));
    }
    if is(sub, "groups") {
        if a.len() != 3 {
            return Err(DbError::Arity("xinfo|groups".into()));
        }
        return cmd_stream_group::xinfo_groups(ctx, a[2]);
    }
    if is(sub, "consumers") {
        if a.len() != 4 {
            return Err(DbError::Arity("xinfo|consumers".into()));
        }
        return cmd_stream_group::xinfo_consumers(ctx, a[2], a[3]);
    }
    if !is(sub, "stream") {
        return Err(err(&format!(
            "unknown subcommand '{}'. Try XINFO HELP.",
            String::from_utf8_lossy(&sub[..sub.len().min(128)])
        )));
    }
    if a.len() < 3 {
        return Err(DbError::Arity("xinfo|stream".into()));
    }
    let (mut full, mut count) = (false, 10u64);
    if a.len() > 3 {
        if !is(a[3], "full") {
            return Err(DbError::Syntax);
        }
        full = true;
        if a.len() > 4 {
            if a.len() != 6 || !is(a[4], "count") {
                return Err(DbError::Syntax);
            }
            let n = int_arg(a[5])?;
            count = if n < 0 { 10 } else { n as u64 };
        }
    }
    let key = a[2];
    let Some(s) = load(ctx, key)? else {
        return Err(DbError::NoSuchKey);
    };
    let mut nodes = 0i64;
    let p = keys::elem(key, &[SUB_NODE]);
    ctx.kv.scan(&p, &keys::prefix_end(&p), false, &mut |_, _| {
        nodes += 1;
        true
    })?;
    let first = edge(ctx, key, false)?;
    let mut m = vec![
        Reply::text("length"),
        Reply::Int(s.meta.len as i64),
        Reply::text("radix-tree-keys"),
        Reply::Int(nodes),
        Reply::text("radix-tree-nodes"),
        Reply::Int(nodes + 1),
        Reply::text("last-generated-id"),
        s.state.last.reply(),
        Reply::text("max-deleted-entry-id"),
        s.state.max_del.reply(),
        Reply::text("entries-added"),
        Reply::Int(s.state.added as i64),
        Reply::text("recorded-first-entry-id"),
        first.unwrap_or(Id::MIN).reply(),
    ];
    if full {
        m.push(Reply::text("entries"));
        m.push(Reply::Array(range(
            ctx,
            key,
            Id::MIN,
            Id::MAX,
            false,
            count,
        )?));
        m.push(Reply::text("groups"));
        m.push(cmd_stream_group::full_groups(ctx, key, &s, count)?);
    } else {
        m.push(Reply::text("groups"));
        m.push(Reply::Int(cmd_stream_group::groups(ctx, key)?.len() as i64));
        for rev in [false, true] {
            m.push(Reply::text(if rev { "last-entry" } else { "first-entry" }));
            let e = range(ctx, key, Id::MIN, Id::MAX, rev, 1)?;
            m.push(e.into_iter().next().unwrap_or(Reply::Nil));
        }
    }
    Ok(Reply::Map(m))
}

/// How a blocking `XREAD`/`XREADGROUP` waits, for the connection layer's registry of
/// blocked clients: run the command as usual; if it answered nil and [`StreamWait::of`]
/// gives a plan, park the client on `keys` and call [`StreamWait::serve`] after each write
/// to one of them until it answers (or `timeout_ms` passes: then nil).
#[derive(Clone, Debug, PartialEq)]
pub struct StreamWait {
    /// The stream keys it waits on (duplicates dropped).
    pub keys: Vec<Vec<u8>>,
    /// Milliseconds to wait; 0 = for ever.
    pub timeout_ms: u64,
    /// The command that serves it: the same without `BLOCK`, each `$` replaced by that
    /// stream's last ID when it blocked.
    pub args: Vec<Vec<u8>>,
    group: bool,
}

impl StreamWait {
    /// The plan for `args` (`XREAD`/`XREADGROUP`, already run and answered nil), or `None`
    /// when it does not block: no `BLOCK`, or `XREADGROUP` with an ID other than `>` (Redis
    /// serves those at once).
    pub fn of(kv: &mut dyn Kv, now: u64, args: &[&[u8]]) -> Result<Option<StreamWait>, DbError> {
        let group = args.first().is_some_and(|n| is(n, "xreadgroup"));
        let r = parse_read(args, group)?;
        let Some(b) = r.block else {
            return Ok(None);
        };
        let timeout_ms = int_arg(args[b + 1])?.max(0) as u64;
        let n = (args.len() - r.streams) / 2;
        let mut ctx = Ctx {
            kv,
            now,
            values: super::typed::Values::Plain,
            tune: super::engine::Tune::default(),
        };
        let mut out: Vec<Vec<u8>> = Vec::with_capacity(args.len());
        for (i, a) in args[..r.streams + n].iter().enumerate() {
            if i != b && i != b + 1 {
                out.push(a.to_vec());
            }
        }
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for j in 0..n {
            let (key, id) = (args[r.streams + j], args[r.streams + n + j]);
            if group && id != b">" {
                return Ok(None);
            }
            out.push(if id == b"$" {
                let last = match load(&mut ctx, key) {
                    Ok(s) => s.map_or(Id::MIN, |s| s.state.last),
                    Err(_) => Id::MIN,
                };
                last.text()
            } else {
                id.to_vec()
            });
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_vec());
            }
        }
        Ok(Some(StreamWait {
            keys,
            timeout_ms,
            args: out,
            group,
        }))
    }

    /// Serves the waiter after a write: `Ok(None)` while there is still nothing for it.
    /// An `XREAD` waiter skips keys that hold another type for now; an `XREADGROUP` waiter
    /// gets Redis's errors when its stream or group went away.
    pub fn serve(&self, kv: &mut dyn Kv, now: u64) -> Result<Option<Reply>, DbError> {
        let mut ctx = Ctx {
            kv,
            now,
            values: super::typed::Values::Plain,
            tune: super::engine::Tune::default(),
        };
        let r = parse_read(
            &self.args.iter().map(Vec::as_slice).collect::<Vec<_>>(),
            self.group,
        )?;
        let n = (self.args.len() - r.streams) / 2;
        let mut args: Vec<&[u8]> = self.args[..r.streams].iter().map(Vec::as_slice).collect();
        let (mut ks, mut ids) = (Vec::new(), Vec::new());
        for j in 0..n {
            let key = self.args[r.streams + j].as_slice();
            let live = matches!(ctx.typed(key, Kind::Stream), Ok(Some(_)));
            if self.group {
                if !live {
                    return Err(DbError::Unknown(
                        "UNBLOCKED the stream key no longer exists".into(),
                    ));
                }
                let g = r.group.map(|(g, _)| g).unwrap_or_default();
                if cmd_stream_group::group(&mut ctx, key, g)?.is_none() {
                    return Err(DbError::Unknown(
                        "NOGROUP the consumer group this client was blocked on no longer exists"
                            .into(),
                    ));
                }
            } else if !live {
                continue;
            }
            ks.push(key);
            ids.push(self.args[r.streams + n + j].as_slice());
        }
        if ks.is_empty() {
            return Ok(None);
        }
        args.extend(ks);
        args.extend(ids);
        let run = if self.group { xreadgroup } else { xread };
        match run(&mut ctx, &args)? {
            Reply::NilArray => Ok(None),
            reply => Ok(Some(reply)),
        }
    }
}

#[cfg(test)]
#[path = "cmd_stream_tests.rs"]
mod tests;
