//! Stream consumer groups: `XGROUP XREADGROUP XACK XPENDING XCLAIM XAUTOCLAIM`, `XINFO
//! GROUPS|CONSUMERS` and the groups of `XINFO STREAM ... FULL`, as Redis 7.0 answers them
//! (docs/db.md, "Streams").
//!
//! Layout under the stream's element space (the entries are `cmd_stream.rs`'s); GLEN and
//! CLEN are u32 BE lengths, so no name runs into another:
//! - `g GROUP` -> [`Group`]: last delivered ID, entries read, pending and consumer counts;
//! - `c GLEN GROUP CONSUMER` -> [`Consumer`]: seen time, pending count;
//! - `p GLEN GROUP ID` -> [`Nack`], a pending entry: delivery time and count, its consumer;
//! - `q GLEN GROUP CLEN CONSUMER ID` -> empty: each consumer's own pending entries in order.

use super::cmd_stream::{
    Id, MAX_GATHER, ReadArgs, Stream, edge, entry_key, entry_reply, err, load, parse_id,
    parse_read, range_end, strict_id, visit,
};
use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys;
use super::{DbError, Reply};

/// Longest group or consumer name: with a key of up to `MAX_KEY` bytes, an entry naming
/// both must still fit a version's 4 KiB key limit.
pub const MAX_NAME: usize = 255;
/// `entries-read` when it is not known (Redis's `SCG_INVALID_ENTRIES_READ`).
const UNKNOWN: i64 = -1;

/// A consumer group's record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Group {
    /// `last-delivered-id`.
    pub last: Id,
    /// `entries-read`, [`UNKNOWN`] when not known.
    pub read: i64,
    /// Entries pending (delivered, not acknowledged).
    pub pending: u64,
    /// Consumers.
    pub consumers: u64,
}

impl Group {
    fn encode(&self) -> Vec<u8> {
        let mut v = self.last.bytes().to_vec();
        v.extend_from_slice(&self.read.to_be_bytes());
        v.extend_from_slice(&self.pending.to_be_bytes());
        v.extend_from_slice(&self.consumers.to_be_bytes());
        v
    }

    fn decode(b: &[u8]) -> Option<Group> {
        Some(Group {
            last: Id::from_bytes(b)?,
            read: i64::from_be_bytes(b.get(16..24)?.try_into().ok()?),
            pending: u64::from_be_bytes(b.get(24..32)?.try_into().ok()?),
            consumers: u64::from_be_bytes(b.get(32..40)?.try_into().ok()?),
        })
    }
}

/// A consumer's record.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Consumer {
    seen: u64,
    pending: u64,
}

impl Consumer {
    fn encode(&self) -> Vec<u8> {
        let mut v = self.seen.to_be_bytes().to_vec();
        v.extend_from_slice(&self.pending.to_be_bytes());
        v
    }

    fn decode(b: &[u8]) -> Option<Consumer> {
        Some(Consumer {
            seen: u64::from_be_bytes(b.get(..8)?.try_into().ok()?),
            pending: u64::from_be_bytes(b.get(8..16)?.try_into().ok()?),
        })
    }
}

/// A pending entry.
#[derive(Clone, Debug, PartialEq)]
struct Nack {
    time: u64,
    count: u64,
    consumer: Vec<u8>,
}

impl Nack {
    fn encode(&self) -> Vec<u8> {
        let mut v = self.time.to_be_bytes().to_vec();
        v.extend_from_slice(&self.count.to_be_bytes());
        v.extend_from_slice(&self.consumer);
        v
    }

    fn decode(b: &[u8]) -> Option<Nack> {
        Some(Nack {
            time: u64::from_be_bytes(b.get(..8)?.try_into().ok()?),
            count: u64::from_be_bytes(b.get(8..16)?.try_into().ok()?),
            consumer: b.get(16..)?.to_vec(),
        })
    }
}

fn name_ok(n: &[u8]) -> Result<&[u8], DbError> {
    if n.len() > MAX_NAME {
        return Err(err(&format!(
            "consumer group or consumer name longer than {MAX_NAME} bytes (the Mimei database limit)"
        )));
    }
    Ok(n)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(128)]).into_owned()
}

fn group_key(key: &[u8], g: &[u8]) -> Vec<u8> {
    let mut s = vec![b'g'];
    s.extend_from_slice(g);
    keys::elem(key, &s)
}

/// `TAG GLEN GROUP`.
fn group_sub(key: &[u8], tag: u8, g: &[u8]) -> Vec<u8> {
    let mut s = vec![tag];
    s.extend_from_slice(&(g.len() as u32).to_be_bytes());
    s.extend_from_slice(g);
    keys::elem(key, &s)
}

fn consumer_key(key: &[u8], g: &[u8], c: &[u8]) -> Vec<u8> {
    let mut k = group_sub(key, b'c', g);
    k.extend_from_slice(c);
    k
}

fn nack_key(key: &[u8], g: &[u8], id: Id) -> Vec<u8> {
    let mut k = group_sub(key, b'p', g);
    k.extend_from_slice(&id.bytes());
    k
}

fn own_prefix(key: &[u8], g: &[u8], c: &[u8]) -> Vec<u8> {
    let mut k = group_sub(key, b'q', g);
    k.extend_from_slice(&(c.len() as u32).to_be_bytes());
    k.extend_from_slice(c);
    k
}

fn own_key(key: &[u8], g: &[u8], c: &[u8], id: Id) -> Vec<u8> {
    let mut k = own_prefix(key, g, c);
    k.extend_from_slice(&id.bytes());
    k
}

/// The group `g` of the stream at `key`.
pub fn group(ctx: &mut Ctx<'_>, key: &[u8], g: &[u8]) -> Result<Option<Group>, DbError> {
    Ok(ctx
        .kv
        .get(&group_key(key, g))?
        .as_deref()
        .and_then(Group::decode))
}

fn put_group(ctx: &mut Ctx<'_>, key: &[u8], g: &[u8], grp: &Group) -> Result<(), DbError> {
    ctx.kv.note(key, true);
    ctx.kv.put_owned(&group_key(key, g), grp.encode())
}

fn consumer(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    c: &[u8],
) -> Result<Option<Consumer>, DbError> {
    Ok(ctx
        .kv
        .get(&consumer_key(key, g, c))?
        .as_deref()
        .and_then(Consumer::decode))
}

fn put_consumer(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    c: &[u8],
    k: &Consumer,
) -> Result<(), DbError> {
    ctx.kv.put_owned(&consumer_key(key, g, c), k.encode())
}

/// Looks consumer `c` up (creating it), marks it seen now; true if it was created.
fn touch_consumer(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    grp: &mut Group,
    c: &[u8],
) -> Result<bool, DbError> {
    let now = ctx.now;
    let (mut k, new) = match consumer(ctx, key, g, c)? {
        Some(k) => (k, false),
        None => {
            grp.consumers += 1;
            (Consumer::default(), true)
        }
    };
    k.seen = now;
    put_consumer(ctx, key, g, c, &k)?;
    Ok(new)
}

fn nack(ctx: &mut Ctx<'_>, key: &[u8], g: &[u8], id: Id) -> Result<Option<Nack>, DbError> {
    Ok(ctx
        .kv
        .get(&nack_key(key, g, id))?
        .as_deref()
        .and_then(Nack::decode))
}

/// Adds `delta` to consumer `c`'s pending count (a consumer that is gone is left alone).
fn bump(ctx: &mut Ctx<'_>, key: &[u8], g: &[u8], c: &[u8], delta: i64) -> Result<(), DbError> {
    if let Some(mut k) = consumer(ctx, key, g, c)? {
        k.pending = k.pending.saturating_add_signed(delta);
        put_consumer(ctx, key, g, c, &k)?;
    }
    Ok(())
}

/// Drops pending entry `id` (its record `n`) from the group and its consumer.
fn drop_nack(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    grp: &mut Group,
    id: Id,
    n: &Nack,
) -> Result<(), DbError> {
    ctx.kv.del(&nack_key(key, g, id))?;
    ctx.kv.del(&own_key(key, g, &n.consumer, id))?;
    bump(ctx, key, g, &n.consumer, -1)?;
    grp.pending = grp.pending.saturating_sub(1);
    Ok(())
}

/// Writes pending entry `id` as `n`, moving it from consumer `old` (if any) to `n.consumer`.
fn put_nack(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    id: Id,
    n: &Nack,
    old: Option<&[u8]>,
) -> Result<(), DbError> {
    if old != Some(n.consumer.as_slice()) {
        if let Some(o) = old {
            ctx.kv.del(&own_key(key, g, o, id))?;
            bump(ctx, key, g, o, -1)?;
        }
        ctx.kv.put(&own_key(key, g, &n.consumer, id), &[])?;
        bump(ctx, key, g, &n.consumer, 1)?;
    }
    ctx.kv.put_owned(&nack_key(key, g, id), n.encode())
}

/// IDs (with their records) of the group's pending list from `from` on, at most `max`;
/// only consumer `c`'s when given.
fn pending_ids(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    c: Option<&[u8]>,
    from: Id,
    to: Id,
    max: usize,
) -> Result<Vec<Id>, DbError> {
    let p = match c {
        Some(c) => own_prefix(key, g, c),
        None => group_sub(key, b'p', g),
    };
    let mut lo = p.clone();
    lo.extend_from_slice(&from.bytes());
    let mut out = Vec::new();
    if from > to || max == 0 {
        return Ok(out);
    }
    let n = p.len();
    ctx.kv
        .scan(&lo, &keys::prefix_end(&p), false, &mut |k, _| {
            match Id::from_bytes(&k[n..]) {
                Some(id) if id <= to => out.push(id),
                _ => return false,
            }
            out.len() < max
        })?;
    Ok(out)
}

/// Whether the stream has a deleted entry at or after `from` (Redis's tombstone test).
fn tombstones_after(s: &Stream, first: Option<Id>, from: Id) -> bool {
    let max_del = s.state.max_del;
    if s.meta.len == 0 || max_del == Id::MIN {
        return false;
    }
    if first.is_some_and(|f| f > max_del) {
        return false;
    }
    from <= max_del
}

/// The number of entries added up to `id`, when it can be known (Redis's estimate).
fn entries_before(s: &Stream, first: Option<Id>, id: Id) -> i64 {
    let added = s.state.added as i64;
    if added == 0 {
        return 0;
    }
    if s.meta.len == 0 && id <= s.state.last {
        return added;
    }
    if id == s.state.last {
        return added;
    }
    if id > s.state.last {
        return UNKNOWN;
    }
    let first = first.unwrap_or(Id::MIN);
    let max_del = s.state.max_del;
    if max_del == Id::MIN || max_del < first {
        if id < first {
            return added - s.meta.len as i64;
        }
        if id == first {
            return added - s.meta.len as i64 + 1;
        }
    }
    UNKNOWN
}

/// `lag` of a group: `None` when it cannot be known.
fn lag(s: &Stream, first: Option<Id>, grp: &Group) -> Option<i64> {
    let added = s.state.added as i64;
    if added == 0 {
        return Some(0);
    }
    if grp.read != UNKNOWN && !tombstones_after(s, first, grp.last) {
        return Some(added - grp.read);
    }
    match entries_before(s, first, grp.last) {
        UNKNOWN => None,
        n => Some(added - n),
    }
}

fn nogroup(key: &[u8], g: &[u8]) -> DbError {
    DbError::Unknown(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(g)
    ))
}

/// The stream at `key` and its group `g`, or Redis's NOGROUP error.
fn stream_and_group(ctx: &mut Ctx<'_>, key: &[u8], g: &[u8]) -> Result<(Stream, Group), DbError> {
    let s = load(ctx, key)?;
    let grp = match &s {
        Some(_) => group(ctx, key, g)?,
        None => None,
    };
    match (s, grp) {
        (Some(s), Some(grp)) => Ok((s, grp)),
        _ => Err(nogroup(key, g)),
    }
}

/// `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP ...`.
pub fn xgroup(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let sub = a[1];
    let arity = |name: &str, n: i64| {
        let ok = if n < 0 {
            a.len() as i64 >= -n
        } else {
            a.len() as i64 == n
        };
        if ok {
            Ok(())
        } else {
            Err(DbError::Arity(format!("xgroup|{name}")))
        }
    };
    let which = [
        "create",
        "setid",
        "destroy",
        "createconsumer",
        "delconsumer",
        "help",
    ]
    .into_iter()
    .find(|n| is(sub, n))
    .ok_or_else(|| {
        err(&format!(
            "unknown subcommand '{}'. Try XGROUP HELP.",
            text(sub)
        ))
    })?;
    match which {
        "create" | "setid" => arity(which, -5)?,
        "destroy" => arity(which, 4)?,
        "help" => arity(which, 2)?,
        _ => arity(which, 5)?,
    }
    if which == "help" {
        return Ok(Reply::Array(
            [
                "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CREATE <key> <groupname> <id|$> [option]",
                "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
                "DESTROY <key> <groupname>",
                "CREATECONSUMER <key> <groupname> <consumer>",
                "DELCONSUMER <key> <groupname> <consumer>",
                "HELP",
            ]
            .into_iter()
            .map(Reply::Status)
            .collect(),
        ));
    }
    let syntax = || {
        err(&format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
            text(sub)
        ))
    };
    let (mut mkstream, mut read) = (false, UNKNOWN);
    let read_arg = |b: &[u8]| -> Result<i64, DbError> {
        let n = int_arg(b)?;
        if n < 0 && n != UNKNOWN {
            return Err(err("value for ENTRIESREAD must be positive or -1"));
        }
        Ok(n)
    };
    if which == "create" {
        let mut i = 5;
        while i < a.len() {
            if is(a[i], "mkstream") {
                mkstream = true;
                i += 1;
            } else if is(a[i], "entriesread") && i + 1 < a.len() {
                read = read_arg(a[i + 1])?;
                i += 2;
            } else {
                return Err(syntax());
            }
        }
    } else if which == "setid" {
        if a.len() == 7 && is(a[5], "entriesread") {
            read = read_arg(a[6])?;
        } else if a.len() != 5 {
            return Err(syntax());
        }
    }
    let (key, g) = (a[2], a[3]);
    let s = load(ctx, key)?;
    let grp = match &s {
        Some(_) => group(ctx, key, g)?,
        None => None,
    };
    if !mkstream {
        if s.is_none() {
            return Err(err(
                "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        }
        if grp.is_none() && which != "create" && which != "destroy" {
            return Err(DbError::Unknown(format!(
                "NOGROUP No such consumer group '{}' for key name '{}'",
                text(g),
                text(key)
            )));
        }
    }
    match which {
        "create" => {
            name_ok(g)?;
            let id = if a[4] == b"$" {
                s.as_ref().map_or(Id::MIN, |s| s.state.last)
            } else {
                strict_id(a[4])?
            };
            if grp.is_some() {
                return Err(DbError::Unknown(
                    "BUSYGROUP Consumer Group name already exists".into(),
                ));
            }
            if s.is_none() {
                let fresh = Stream::empty();
                super::cmd_stream::save(ctx, key, &fresh)?;
            }
            let grp = Group {
                last: id,
                read,
                pending: 0,
                consumers: 0,
            };
            put_group(ctx, key, g, &grp)?;
            Ok(Reply::OK)
        }
        "setid" => {
            let (Some(s), Some(mut grp)) = (s, grp) else {
                return Err(nogroup(key, g));
            };
            grp.last = if a[4] == b"$" {
                s.state.last
            } else {
                parse_id(a[4], 0, false, false)?.0
            };
            grp.read = read;
            put_group(ctx, key, g, &grp)?;
            Ok(Reply::OK)
        }
        "destroy" => {
            if grp.is_none() {
                return Ok(Reply::Int(0));
            }
            ctx.kv.note(key, true);
            let mut doomed = vec![group_key(key, g)];
            for tag in [b'c', b'p', b'q'] {
                let p = group_sub(key, tag, g);
                ctx.kv.scan(&p, &keys::prefix_end(&p), false, &mut |k, _| {
                    doomed.push(k.to_vec());
                    true
                })?;
            }
            for k in doomed {
                ctx.kv.del(&k)?;
            }
            Ok(Reply::Int(1))
        }
        "createconsumer" => {
            let Some(mut grp) = grp else {
                return Err(nogroup(key, g));
            };
            let c = name_ok(a[4])?;
            if consumer(ctx, key, g, c)?.is_some() {
                return Ok(Reply::Int(0));
            }
            touch_consumer(ctx, key, g, &mut grp, c)?;
            put_group(ctx, key, g, &grp)?;
            Ok(Reply::Int(1))
        }
        _ => {
            // delconsumer: its pending entries go with it.
            let Some(mut grp) = grp else {
                return Err(nogroup(key, g));
            };
            let c = a[4];
            let Some(k) = consumer(ctx, key, g, c)? else {
                return Ok(Reply::Int(0));
            };
            let ids = pending_ids(ctx, key, g, Some(c), Id::MIN, Id::MAX, usize::MAX)?;
            for id in &ids {
                ctx.kv.del(&nack_key(key, g, *id))?;
                ctx.kv.del(&own_key(key, g, c, *id))?;
            }
            grp.pending = grp.pending.saturating_sub(ids.len() as u64);
            grp.consumers = grp.consumers.saturating_sub(1);
            ctx.kv.del(&consumer_key(key, g, c))?;
            put_group(ctx, key, g, &grp)?;
            Ok(Reply::Int(k.pending.max(ids.len() as u64) as i64))
        }
    }
}

/// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... ID...`:
/// `>` reads new entries into the consumer's pending list, another ID rereads its pending
/// entries after it. `BLOCK` answers as without it (nothing new: nil).
pub fn xreadgroup(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let ReadArgs {
        count,
        noack,
        group: named,
        streams,
        ..
    } = parse_read(a, true)?;
    let (g, cname) = named.ok_or(DbError::Syntax)?;
    let n = (a.len() - streams) / 2;
    let mut after = Vec::with_capacity(n);
    for j in 0..n {
        let key = a[streams + j];
        let exists = match load(ctx, key)? {
            Some(_) => group(ctx, key, g)?.is_some(),
            None => false,
        };
        if !exists {
            return Err(DbError::Unknown(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                text(key),
                text(g)
            )));
        }
        let idarg = a[streams + n + j];
        after.push(if idarg == b"$" {
            return Err(err(
                "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
            ));
        } else if idarg == b">" {
            None
        } else {
            Some(strict_id(idarg)?)
        });
    }
    name_ok(cname)?;
    let mut out = Vec::new();
    let mut budget = MAX_GATHER;
    for (j, gt) in after.into_iter().enumerate() {
        let key = a[streams + j];
        let (s, mut grp) = stream_and_group(ctx, key, g)?;
        let from = match gt {
            Some(id) => id,
            None => match edge(ctx, key, true)? {
                Some(top) if top > grp.last => grp.last,
                _ => continue,
            },
        };
        let start = from.incr().unwrap_or(Id::MIN);
        touch_consumer(ctx, key, g, &mut grp, cname)?;
        let items = if gt.is_some() {
            history(ctx, key, g, cname, start, count, &mut budget)?
        } else {
            deliver(
                ctx,
                key,
                g,
                &mut grp,
                &s,
                cname,
                start,
                count,
                noack,
                &mut budget,
            )?
        };
        put_group(ctx, key, g, &grp)?;
        out.push(Reply::Array(vec![
            Reply::Bulk(key.to_vec()),
            Reply::Array(items),
        ]));
    }
    if out.is_empty() {
        return Ok(Reply::NilArray);
    }
    Ok(Reply::Array(out))
}

/// Consumer `c`'s pending entries from `start`, delivered again; deleted ones come as
/// `[id, nil]`.
fn history(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    c: &[u8],
    start: Id,
    count: u64,
    budget: &mut usize,
) -> Result<Vec<Reply>, DbError> {
    let max = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    let now = ctx.now;
    let mut out = Vec::new();
    for id in pending_ids(ctx, key, g, Some(c), start, Id::MAX, max)? {
        match ctx.kv.get(&entry_key(key, id))? {
            Some(v) => {
                let Some(left) = budget.checked_sub(v.len()) else {
                    break;
                };
                *budget = left;
                out.push(entry_reply(ctx, id, &v));
                if let Some(mut n) = nack(ctx, key, g, id)? {
                    n.time = now;
                    n.count += 1;
                    ctx.kv.put_owned(&nack_key(key, g, id), n.encode())?;
                }
            }
            None => out.push(Reply::Array(vec![id.reply(), Reply::NilArray])),
        }
    }
    Ok(out)
}

/// New entries from `start` for consumer `c`: moves the group's last ID and read counter,
/// and (without NOACK) adds them to the pending lists.
#[allow(clippy::too_many_arguments)]
fn deliver(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    grp: &mut Group,
    s: &Stream,
    c: &[u8],
    start: Id,
    count: u64,
    noack: bool,
    budget: &mut usize,
) -> Result<Vec<Reply>, DbError> {
    let mut raw = Vec::new();
    visit(ctx, key, start, Id::MAX, false, &mut |id, v| {
        let Some(left) = budget.checked_sub(v.len()) else {
            return false;
        };
        *budget = left;
        raw.push((id, v.to_vec()));
        count == 0 || (raw.len() as u64) < count
    })?;
    let first = edge(ctx, key, false)?;
    let now = ctx.now;
    let mut out = Vec::with_capacity(raw.len());
    for (id, v) in raw {
        if id > grp.last {
            if grp.read != UNKNOWN && !tombstones_after(s, first, id) {
                grp.read += 1;
            } else if s.state.added != 0 {
                grp.read = entries_before(s, first, id);
            }
            grp.last = id;
        }
        out.push(entry_reply(ctx, id, &v));
        if !noack {
            let old = nack(ctx, key, g, id)?;
            if old.is_none() {
                grp.pending += 1;
            }
            let n = Nack {
                time: now,
                count: 1,
                consumer: c.to_vec(),
            };
            put_nack(
                ctx,
                key,
                g,
                id,
                &n,
                old.as_ref().map(|o| o.consumer.as_slice()),
            )?;
        }
    }
    Ok(out)
}

/// `XACK key group ID...`: how many were pending.
pub fn xack(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (key, g) = (a[1], a[2]);
    let Ok((_, mut grp)) = stream_and_group(ctx, key, g) else {
        // WRONGTYPE still errs; a missing key or group acknowledges nothing.
        load(ctx, key)?;
        return Ok(Reply::Int(0));
    };
    let ids = a[3..]
        .iter()
        .map(|b| strict_id(b))
        .collect::<Result<Vec<_>, _>>()?;
    let mut n = 0;
    for id in ids {
        if let Some(x) = nack(ctx, key, g, id)? {
            drop_nack(ctx, key, g, &mut grp, id, &x)?;
            n += 1;
        }
    }
    if n > 0 {
        put_group(ctx, key, g, &grp)?;
    }
    Ok(Reply::Int(n))
}

/// `XPENDING key group [[IDLE ms] start end count [consumer]]`.
pub fn xpending(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if a.len() != 3 && !(6..=9).contains(&a.len()) {
        return Err(DbError::Syntax);
    }
    let mut range = None;
    if a.len() >= 6 {
        let mut i = 3;
        let mut min_idle = 0;
        if is(a[3], "idle") {
            min_idle = int_arg(a[4])?;
            if a.len() < 8 {
                return Err(DbError::Syntax);
            }
            i += 2;
        }
        let count = int_arg(a[i + 2])?.max(0) as u64;
        let (mut start, sx) = range_end(a[i], 0)?;
        if sx {
            start = start
                .incr()
                .ok_or_else(|| err("invalid start ID for the interval"))?;
        }
        let (mut end, ex) = range_end(a[i + 1], u64::MAX)?;
        if ex {
            end = end
                .decr()
                .ok_or_else(|| err("invalid end ID for the interval"))?;
        }
        range = Some((min_idle, start, end, count, a.get(i + 3).copied()));
    }
    let (key, g) = (a[1], a[2]);
    let (_, grp) = stream_and_group(ctx, key, g)?;
    let Some((min_idle, start, end, count, who)) = range else {
        if grp.pending == 0 {
            return Ok(Reply::Array(vec![
                Reply::Int(0),
                Reply::Nil,
                Reply::Nil,
                Reply::NilArray,
            ]));
        }
        let first = pending_ids(ctx, key, g, None, Id::MIN, Id::MAX, 1)?;
        let mut last = None;
        let p = group_sub(key, b'p', g);
        ctx.kv.scan(&p, &keys::prefix_end(&p), true, &mut |k, _| {
            last = Id::from_bytes(&k[p.len()..]);
            false
        })?;
        let mut owners = Vec::new();
        let cp = group_sub(key, b'c', g);
        ctx.kv
            .scan(&cp, &keys::prefix_end(&cp), false, &mut |k, v| {
                if let Some(c) = Consumer::decode(v).filter(|c| c.pending > 0) {
                    owners.push(Reply::Array(vec![
                        Reply::Bulk(k[cp.len()..].to_vec()),
                        Reply::text(c.pending.to_string()),
                    ]));
                }
                true
            })?;
        return Ok(Reply::Array(vec![
            Reply::Int(grp.pending as i64),
            first.first().map_or(Reply::Nil, |id| id.reply()),
            last.map_or(Reply::Nil, Id::reply),
            Reply::Array(owners),
        ]));
    };
    if let Some(c) = who
        && consumer(ctx, key, g, c)?.is_none()
    {
        return Ok(Reply::Array(Vec::new()));
    }
    let now = ctx.now as i64;
    let mut out = Vec::new();
    let mut from = start;
    // Pages through the pending list until `count` entries old enough are found.
    while (out.len() as u64) < count {
        let page = pending_ids(ctx, key, g, who, from, end, 1024)?;
        let Some(&last) = page.last() else { break };
        for id in &page {
            let Some(n) = nack(ctx, key, g, *id)? else {
                continue;
            };
            let idle = now - n.time as i64;
            if min_idle != 0 && idle < min_idle {
                continue;
            }
            out.push(Reply::Array(vec![
                id.reply(),
                Reply::Bulk(n.consumer),
                Reply::Int(idle.max(0)),
                Reply::Int(n.count as i64),
            ]));
            if out.len() as u64 >= count {
                break;
            }
        }
        match last.incr() {
            Some(next) if page.len() == 1024 => from = next,
            _ => break,
        }
    }
    Ok(Reply::Array(out))
}

/// Moves pending entry `id` (record `n`) to consumer `c` at `time`; `count` is the new
/// delivery count.
#[allow(clippy::too_many_arguments)]
fn claim_one(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    g: &[u8],
    c: &[u8],
    id: Id,
    mut n: Nack,
    old: Option<Vec<u8>>,
    time: u64,
) -> Result<(), DbError> {
    n.time = time;
    n.consumer = c.to_vec();
    put_nack(ctx, key, g, id, &n, old.as_deref())
}

/// `XCLAIM key group consumer min-idle-time ID... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE]
/// [JUSTID] [LASTID id]`.
pub fn xclaim(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (key, g, c) = (a[1], a[2], a[3]);
    let (_, mut grp) = stream_and_group(ctx, key, g)?;
    let min_idle = int_arg(a[4])
        .map_err(|_| err("Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < a.len() {
        match strict_id(a[j]) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now as i64;
    let (mut force, mut justid, mut retry, mut time, mut last_id) =
        (false, false, None, None, Id::MIN);
    while j < a.len() {
        let more = a.len() - 1 - j;
        let o = a[j];
        if is(o, "force") {
            force = true;
        } else if is(o, "justid") {
            justid = true;
        } else if is(o, "idle") && more > 0 {
            j += 1;
            let ms = int_arg(a[j]).map_err(|_| err("Invalid IDLE option argument for XCLAIM"))?;
            time = Some(now.saturating_sub(ms));
        } else if is(o, "time") && more > 0 {
            j += 1;
            time = Some(int_arg(a[j]).map_err(|_| err("Invalid TIME option argument for XCLAIM"))?);
        } else if is(o, "retrycount") && more > 0 {
            j += 1;
            retry = Some(
                int_arg(a[j]).map_err(|_| err("Invalid RETRYCOUNT option argument for XCLAIM"))?,
            );
        } else if is(o, "lastid") && more > 0 {
            j += 1;
            last_id = strict_id(a[j])?;
        } else {
            return Err(err(&format!("Unrecognized XCLAIM option '{}'", text(o))));
        }
        j += 1;
    }
    name_ok(c)?;
    if last_id > grp.last {
        grp.last = last_id;
    }
    let time = match time {
        Some(t) if t >= 0 && t <= now => t as u64,
        _ => now as u64,
    };
    if !justid {
        // IDs may repeat: the entries this would answer must fit MGET's bound, checked
        // before anything changes.
        let mut total = 0usize;
        for id in &ids {
            let p = entry_key(key, *id);
            ctx.kv.scan(&p, &keys::prefix_end(&p), false, &mut |_, v| {
                total = total.saturating_add(v.len());
                false
            })?;
            if total > MAX_GATHER {
                return Err(err(&format!(
                    "the entries XCLAIM would answer exceed {} MiB (the Mimei database's limit per command); use JUSTID",
                    MAX_GATHER >> 20
                )));
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = false;
    for id in ids {
        let found = nack(ctx, key, g, id)?;
        let Some(v) = ctx.kv.get(&entry_key(key, id))? else {
            if let Some(n) = found {
                drop_nack(ctx, key, g, &mut grp, id, &n)?;
            }
            continue;
        };
        let (n, old) = match found {
            Some(n) => {
                if min_idle != 0 && now - (n.time as i64) < min_idle {
                    continue;
                }
                let old = n.consumer.clone();
                (n, Some(old))
            }
            None if force => {
                grp.pending += 1;
                (
                    Nack {
                        time,
                        count: 1,
                        consumer: Vec::new(),
                    },
                    None,
                )
            }
            None => continue,
        };
        if !seen {
            touch_consumer(ctx, key, g, &mut grp, c)?;
            seen = true;
        }
        let mut n = n;
        match retry {
            Some(r) if r >= 0 => n.count = r as u64,
            _ if !justid => n.count += 1,
            _ => {}
        }
        claim_one(ctx, key, g, c, id, n, old, time)?;
        out.push(if justid {
            id.reply()
        } else {
            entry_reply(ctx, id, &v)
        });
    }
    put_group(ctx, key, g, &grp)?;
    Ok(Reply::Array(out))
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]`: claims pending
/// entries idle long enough from `start` on, looking at most 10 x COUNT of them; answers
/// the next start (0-0 at the end), the claimed entries and the IDs of deleted entries
/// dropped from the pending list.
pub fn xautoclaim(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (key, g, c) = (a[1], a[2], a[3]);
    let min_idle = int_arg(a[4])
        .map_err(|_| err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let (mut start, sx) = range_end(a[5], 0)?;
    if sx {
        start = start
            .incr()
            .ok_or_else(|| err("invalid start ID for the interval"))?;
    }
    let (mut count, mut justid) = (100u64, false);
    let mut j = 6;
    while j < a.len() {
        if is(a[j], "count") && j + 1 < a.len() {
            count = int_arg(a[j + 1])
                .ok()
                .filter(|n| (1..=i64::MAX / 16).contains(n))
                .ok_or_else(|| err("COUNT must be > 0"))? as u64;
            j += 2;
        } else if is(a[j], "justid") {
            justid = true;
            j += 1;
        } else {
            return Err(DbError::Syntax);
        }
    }
    let (_, mut grp) = stream_and_group(ctx, key, g)?;
    name_ok(c)?;
    // Redis looks at up to 10 x COUNT pending entries; one more gives the next cursor.
    let attempts = count.saturating_mul(10);
    let ids = pending_ids(
        ctx,
        key,
        g,
        None,
        start,
        Id::MAX,
        usize::try_from(attempts.saturating_add(1)).unwrap_or(usize::MAX),
    )?;
    let now = ctx.now;
    let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
    let mut left = count;
    let mut looked = 0usize;
    let mut seen = false;
    for &id in &ids {
        if looked as u64 >= attempts || left == 0 {
            break;
        }
        looked += 1;
        let Some(n) = nack(ctx, key, g, id)? else {
            continue;
        };
        let Some(v) = ctx.kv.get(&entry_key(key, id))? else {
            drop_nack(ctx, key, g, &mut grp, id, &n)?;
            deleted.push(id.reply());
            left -= 1;
            continue;
        };
        if min_idle != 0 && (now as i64) - (n.time as i64) < min_idle {
            continue;
        }
        if !seen {
            touch_consumer(ctx, key, g, &mut grp, c)?;
            seen = true;
        }
        let old = Some(n.consumer.clone());
        let mut n = n;
        if !justid {
            n.count += 1;
        }
        claim_one(ctx, key, g, c, id, n, old, now)?;
        claimed.push(if justid {
            id.reply()
        } else {
            entry_reply(ctx, id, &v)
        });
        left -= 1;
    }
    let next = ids.get(looked).copied().unwrap_or(Id::MIN);
    put_group(ctx, key, g, &grp)?;
    Ok(Reply::Array(vec![
        next.reply(),
        Reply::Array(claimed),
        Reply::Array(deleted),
    ]))
}

/// Every group of the stream at `key`: names and records, in name order.
pub fn groups(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Vec<(Vec<u8>, Group)>, DbError> {
    let p = keys::elem(key, b"g");
    let mut out = Vec::new();
    ctx.kv.scan(&p, &keys::prefix_end(&p), false, &mut |k, v| {
        if let Some(grp) = Group::decode(v) {
            out.push((k[p.len()..].to_vec(), grp));
        }
        true
    })?;
    Ok(out)
}

fn read_reply(grp: &Group) -> Reply {
    if grp.read == UNKNOWN {
        Reply::Nil
    } else {
        Reply::Int(grp.read)
    }
}

/// `XINFO GROUPS key`.
pub fn xinfo_groups(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    let Some(s) = load(ctx, key)? else {
        return Err(DbError::NoSuchKey);
    };
    let first = edge(ctx, key, false)?;
    let out = groups(ctx, key)?
        .into_iter()
        .map(|(name, grp)| {
            Reply::Map(vec![
                Reply::text("name"),
                Reply::Bulk(name),
                Reply::text("consumers"),
                Reply::Int(grp.consumers as i64),
                Reply::text("pending"),
                Reply::Int(grp.pending as i64),
                Reply::text("last-delivered-id"),
                grp.last.reply(),
                Reply::text("entries-read"),
                read_reply(&grp),
                Reply::text("lag"),
                lag(&s, first, &grp).map_or(Reply::Nil, Reply::Int),
            ])
        })
        .collect();
    Ok(Reply::Array(out))
}

/// Every consumer of group `g`: names and records, in name order.
fn consumers(ctx: &mut Ctx<'_>, key: &[u8], g: &[u8]) -> Result<Vec<(Vec<u8>, Consumer)>, DbError> {
    let p = group_sub(key, b'c', g);
    let mut out = Vec::new();
    ctx.kv.scan(&p, &keys::prefix_end(&p), false, &mut |k, v| {
        if let Some(c) = Consumer::decode(v) {
            out.push((k[p.len()..].to_vec(), c));
        }
        true
    })?;
    Ok(out)
}

/// `XINFO CONSUMERS key group`.
pub fn xinfo_consumers(ctx: &mut Ctx<'_>, key: &[u8], g: &[u8]) -> CmdResult {
    if load(ctx, key)?.is_none() {
        return Err(DbError::NoSuchKey);
    }
    if group(ctx, key, g)?.is_none() {
        return Err(DbError::Unknown(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            text(g),
            text(key)
        )));
    }
    let now = ctx.now;
    let out = consumers(ctx, key, g)?
        .into_iter()
        .map(|(name, c)| {
            Reply::Map(vec![
                Reply::text("name"),
                Reply::Bulk(name),
                Reply::text("pending"),
                Reply::Int(c.pending as i64),
                Reply::text("idle"),
                Reply::Int(now.saturating_sub(c.seen) as i64),
            ])
        })
        .collect();
    Ok(Reply::Array(out))
}

/// The `groups` of `XINFO STREAM key FULL [COUNT n]`: each group with at most `count`
/// pending entries, and its consumers with at most `count` of theirs (0 = all).
pub fn full_groups(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    s: &Stream,
    count: u64,
) -> Result<Reply, DbError> {
    let max = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    let first = edge(ctx, key, false)?;
    let mut out = Vec::new();
    for (g, grp) in groups(ctx, key)? {
        let mut pending = Vec::new();
        for id in pending_ids(ctx, key, &g, None, Id::MIN, Id::MAX, max)? {
            if let Some(n) = nack(ctx, key, &g, id)? {
                pending.push(Reply::Array(vec![
                    id.reply(),
                    Reply::Bulk(n.consumer),
                    Reply::Int(n.time as i64),
                    Reply::Int(n.count as i64),
                ]));
            }
        }
        let mut cs = Vec::new();
        for (name, c) in consumers(ctx, key, &g)? {
            let mut own = Vec::new();
            for id in pending_ids(ctx, key, &g, Some(&name), Id::MIN, Id::MAX, max)? {
                if let Some(n) = nack(ctx, key, &g, id)? {
                    own.push(Reply::Array(vec![
                        id.reply(),
                        Reply::Int(n.time as i64),
                        Reply::Int(n.count as i64),
                    ]));
                }
            }
            cs.push(Reply::Map(vec![
                Reply::text("name"),
                Reply::Bulk(name),
                Reply::text("seen-time"),
                Reply::Int(c.seen as i64),
                Reply::text("pel-count"),
                Reply::Int(c.pending as i64),
                Reply::text("pending"),
                Reply::Array(own),
            ]));
        }
        out.push(Reply::Map(vec![
            Reply::text("name"),
            Reply::Bulk(g),
            Reply::text("last-delivered-id"),
            grp.last.reply(),
            Reply::text("entries-read"),
            read_reply(&grp),
            Reply::text("lag"),
            lag(s, first, &grp).map_or(Reply::Nil, Reply::Int),
            Reply::text("pel-count"),
            Reply::Int(grp.pending as i64),
            Reply::text("pending"),
            Reply::Array(pending),
            Reply::text("consumers"),
            Reply::Array(cs),
        ]));
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
#[path = "cmd_stream_group_tests.rs"]
mod tests;
