//! Set commands: `SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SINTER SUNION SDIFF
//! SINTERSTORE SUNIONSTORE SDIFFSTORE SINTERCARD SMOVE SPOP SRANDMEMBER`, and Leither's
//! `SCLEAR`. Members are element entries with empty values, so members come out sorted.
//!
//! A command visits at most [`MAX_VISIT`] elements (docs/db.md, "Limits per command"):
//! the sizes in the keys' meta entries are checked before any work, and past the limit the
//! command answers [`over_budget`]'s error and changes nothing.

use std::collections::BTreeSet;

use super::engine::{CmdResult, Ctx, int_arg, is, name_ok};
use super::keys::{self, Kind, Meta};
use super::{DbError, Reply, rng};

/// Most elements one command may visit (set and sorted set algebra, random picks,
/// `SMEMBERS`): Redis has no such limit, a node facing the internet on one thread does.
pub const MAX_VISIT: u64 = 1_000_000;

/// The error past [`MAX_VISIT`].
pub fn too_many() -> DbError {
    DbError::Other(format!(
        "this command would visit more than {MAX_VISIT} elements, the most one command may visit in a Mimei database"
    ))
}

/// [`too_many`] when `n` elements are over [`MAX_VISIT`].
pub fn over_budget(n: u64) -> Result<(), DbError> {
    if n > MAX_VISIT {
        return Err(too_many());
    }
    Ok(())
}

fn set(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Meta>, DbError> {
    ctx.typed(key, Kind::Set)
}

/// `SADD key member...`: members added.
pub fn sadd(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    for v in &a[2..] {
        name_ok(v)?;
    }
    let old = set(ctx, a[1])?;
    let expire = old.as_ref().map_or(0, |m| m.expire);
    let mut m = old.unwrap_or_else(|| Meta::new(Kind::Set));
    let mut n = 0;
    for v in &a[2..] {
        let ek = keys::elem(a[1], v);
        if ctx.kv.get(&ek)?.is_none() {
            ctx.kv.put(&ek, &[])?;
            n += 1;
        }
    }
    if n > 0 {
        m.len += n;
        ctx.put_meta(a[1], &m, expire)?;
    }
    Ok(Reply::Int(n as i64))
}

/// Removes `members` from set `key` (of meta `m`); how many were there.
fn remove_members(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    mut m: Meta,
    members: &[&[u8]],
) -> Result<u64, DbError> {
    let expire = m.expire;
    let mut n = 0;
    for v in members {
        let ek = keys::elem(key, v);
        if ctx.kv.get(&ek)?.is_some() {
            ctx.kv.del(&ek)?;
            n += 1;
        }
    }
    if n > 0 {
        m.len -= n;
        ctx.store_or_drop(key, &m, expire)?;
    }
    Ok(n)
}

/// `SREM key member...`: members removed.
pub fn srem(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let Some(m) = set(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    Ok(Reply::Int(remove_members(ctx, a[1], m, &a[2..])? as i64))
}

/// The members of `key` (empty when absent), within the budget.
pub fn members(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<BTreeSet<Vec<u8>>, DbError> {
    let mut out = BTreeSet::new();
    if let Some(m) = set(ctx, key)? {
        over_budget(m.len)?;
        ctx.elems(key, b"", false, &mut |m, _| {
            out.insert(m.to_vec());
            true
        })?;
    }
    Ok(out)
}

fn set_reply(items: impl IntoIterator<Item = Vec<u8>>) -> Reply {
    Reply::Set(items.into_iter().map(Reply::Bulk).collect())
}

/// `SMEMBERS key`.
pub fn smembers(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(set_reply(members(ctx, a[1])?))
}

fn is_member(ctx: &mut Ctx<'_>, key: &[u8], member: &[u8]) -> Result<bool, DbError> {
    Ok(ctx.kv.get(&keys::elem(key, member))?.is_some())
}

/// `SISMEMBER key member`.
pub fn sismember(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if set(ctx, a[1])?.is_none() {
        return Ok(Reply::Int(0));
    }
    Ok(Reply::Int(is_member(ctx, a[1], a[2])? as i64))
}

/// `SMISMEMBER key member...`.
pub fn smismember(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let live = set(ctx, a[1])?.is_some();
    let mut out = Vec::with_capacity(a.len() - 2);
    for v in &a[2..] {
        out.push(Reply::Int((live && is_member(ctx, a[1], v)?) as i64));
    }
    Ok(Reply::Array(out))
}

/// `SCARD key`.
pub fn scard(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(set(ctx, a[1])?.map_or(0, |m| m.len) as i64))
}

/// The sets `keys` (type-checked, every one, as Redis does): their sizes, absent as `None`.
fn metas(ctx: &mut Ctx<'_>, keys: &[&[u8]]) -> Result<Vec<Option<u64>>, DbError> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        out.push(set(ctx, k)?.map(|m| m.len));
    }
    Ok(out)
}

/// The intersection of `keys`, at most `limit` members (0: all): the smallest set's members
/// looked up in the others.
fn inter(ctx: &mut Ctx<'_>, keys: &[&[u8]], limit: u64) -> Result<Vec<Vec<u8>>, DbError> {
    let lens = metas(ctx, keys)?;
    let mut order: Vec<(u64, &[u8])> = Vec::with_capacity(keys.len());
    for (l, k) in lens.iter().zip(keys) {
        match l {
            Some(l) => order.push((*l, k)),
            None => return Ok(Vec::new()),
        }
    }
    order.sort_by_key(|(l, _)| *l);
    let Some(&(small, first)) = order.first() else {
        return Ok(Vec::new());
    };
    over_budget(small.saturating_mul(keys.len() as u64))?;
    let mut cands = Vec::new();
    ctx.elems(first, b"", false, &mut |m, _| {
        cands.push(m.to_vec());
        true
    })?;
    let mut out = Vec::new();
    'next: for c in cands {
        for (_, k) in &order[1..] {
            if !is_member(ctx, k, &c)? {
                continue 'next;
            }
        }
        out.push(c);
        if limit != 0 && out.len() as u64 >= limit {
            break;
        }
    }
    Ok(out)
}

fn union(ctx: &mut Ctx<'_>, keys: &[&[u8]]) -> Result<BTreeSet<Vec<u8>>, DbError> {
    let lens = metas(ctx, keys)?;
    over_budget(lens.iter().flatten().sum())?;
    let mut out = BTreeSet::new();
    for k in keys {
        out.extend(members(ctx, k)?);
    }
    Ok(out)
}

fn diff(ctx: &mut Ctx<'_>, keys: &[&[u8]]) -> Result<BTreeSet<Vec<u8>>, DbError> {
    let lens = metas(ctx, keys)?;
    let first = lens.first().copied().flatten().unwrap_or(0);
    // Each other set costs the smaller of its size and what is left.
    let work = lens
        .iter()
        .skip(1)
        .flatten()
        .fold(first, |w, l| w.saturating_add((*l).min(first)));
    over_budget(work)?;
    let mut out = members(ctx, keys[0])?;
    for (k, l) in keys.iter().zip(&lens).skip(1) {
        let Some(l) = *l else { continue };
        if out.is_empty() {
            break;
        }
        if l as usize <= out.len() {
            for m in members(ctx, k)? {
                out.remove(&m);
            }
        } else {
            let mut keep = BTreeSet::new();
            for m in std::mem::take(&mut out) {
                if !is_member(ctx, k, &m)? {
                    keep.insert(m);
                }
            }
            out = keep;
        }
    }
    Ok(out)
}

/// `SINTER key...`.
pub fn sinter(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(set_reply(inter(ctx, &a[1..], 0)?))
}

/// `SUNION key...`.
pub fn sunion(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(set_reply(union(ctx, &a[1..])?))
}

/// `SDIFF key...`.
pub fn sdiff(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(set_reply(diff(ctx, &a[1..])?))
}

/// Replaces whatever `dst` holds by a set of `members` (none: `dst` is removed); the count.
fn store(ctx: &mut Ctx<'_>, dst: &[u8], members: Vec<Vec<u8>>) -> CmdResult {
    if let Some(old) = ctx.meta(dst)? {
        ctx.remove(dst, &old)?;
    }
    let n = members.len() as u64;
    if n > 0 {
        for v in &members {
            ctx.kv.put(&keys::elem(dst, v), &[])?;
        }
        let mut m = Meta::new(Kind::Set);
        m.len = n;
        ctx.put_meta(dst, &m, 0)?;
    }
    Ok(Reply::Int(n as i64))
}

/// `SINTERSTORE dst key...`.
pub fn sinterstore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let v = inter(ctx, &a[2..], 0)?;
    store(ctx, a[1], v)
}

/// `SUNIONSTORE dst key...`.
pub fn sunionstore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let v = union(ctx, &a[2..])?;
    store(ctx, a[1], v.into_iter().collect())
}

/// `SDIFFSTORE dst key...`.
pub fn sdiffstore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let v = diff(ctx, &a[2..])?;
    store(ctx, a[1], v.into_iter().collect())
}

/// `numkeys key... [LIMIT n]` of `SINTERCARD` and `ZINTERCARD`, after the name: the keys
/// and the limit (0: none). `at_least` is the error for a `numkeys` below 1.
pub fn card_args<'a>(
    a: &[&'a [u8]],
    at_least: impl FnOnce() -> DbError,
) -> Result<(Vec<&'a [u8]>, u64), DbError> {
    let n = match int_arg(a[1]) {
        Ok(n) if n >= 1 => n as usize,
        Ok(_) => return Err(at_least()),
        Err(e) => return Err(e),
    };
    let rest = a.len() - 2;
    if n > rest {
        return Err(DbError::Other(
            "Number of keys can't be greater than number of args".into(),
        ));
    }
    let keys = a[2..2 + n].to_vec();
    let mut limit = 0;
    let mut i = 2 + n;
    while i < a.len() {
        if is(a[i], "limit") && i + 1 < a.len() {
            limit = match int_arg(a[i + 1]) {
                Ok(l) if l >= 0 => l as u64,
                _ => return Err(DbError::Other("LIMIT can't be negative".into())),
            };
            i += 2;
        } else {
            return Err(DbError::Syntax);
        }
    }
    Ok((keys, limit))
}

/// `SINTERCARD numkeys key... [LIMIT limit]`.
pub fn sintercard(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let numkeys = || DbError::Other("numkeys should be greater than 0".into());
    // A numkeys that is not a number gets the same message as one below 1.
    if int_arg(a[1]).is_err() {
        return Err(numkeys());
    }
    let (keys, limit) = card_args(a, numkeys)?;
    Ok(Reply::Int(inter(ctx, &keys, limit)?.len() as i64))
}

/// `SMOVE src dst member`.
pub fn smove(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (src, dst, member) = (a[1], a[2], a[3]);
    name_ok(member)?;
    // As Redis: a missing source answers 0 before the types are looked at.
    let Some(from) = ctx.meta(src)? else {
        return Ok(Reply::Int(0));
    };
    let to = ctx.meta(dst)?;
    if from.kind != Kind::Set || to.as_ref().is_some_and(|m| m.kind != Kind::Set) {
        return Err(DbError::WrongType);
    }
    if !is_member(ctx, src, member)? {
        return Ok(Reply::Int(0));
    }
    if src == dst {
        return Ok(Reply::Int(1));
    }
    remove_members(ctx, src, from, &[member])?;
    let expire = to.as_ref().map_or(0, |m| m.expire);
    let ek = keys::elem(dst, member);
    if ctx.kv.get(&ek)?.is_none() {
        let mut m = to.unwrap_or_else(|| Meta::new(Kind::Set));
        ctx.kv.put(&ek, &[])?;
        m.len += 1;
        ctx.put_meta(dst, &m, expire)?;
    }
    Ok(Reply::Int(1))
}

/// A count argument that must be 0 or more (`SPOP`, `ZPOPMIN`, ...).
pub fn positive_count(b: &[u8]) -> Result<u64, DbError> {
    match int_arg(b)? {
        n if n >= 0 => Ok(n as u64),
        _ => Err(DbError::Other(
            "value is out of range, must be positive".into(),
        )),
    }
}

/// `SPOP key [count]`.
pub fn spop(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if a.len() > 3 {
        return Err(DbError::Syntax);
    }
    let count = a.get(2).map(|c| positive_count(c)).transpose()?;
    let Some(m) = set(ctx, a[1])? else {
        return Ok(match count {
            None => Reply::Nil,
            Some(_) => Reply::Set(Vec::new()),
        });
    };
    let Some(count) = count else {
        let Some((member, _)) = rng::one(ctx, a[1], b"", m.len)? else {
            return Ok(Reply::Nil);
        };
        remove_members(ctx, a[1], m, &[member.as_slice()])?;
        return Ok(Reply::Bulk(member));
    };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    if count >= m.len {
        let all = members(ctx, a[1])?;
        ctx.remove(a[1], &m)?;
        return Ok(set_reply(all));
    }
    let picked: Vec<Vec<u8>> = rng::distinct(ctx, a[1], b"", m.len, count)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let refs: Vec<&[u8]> = picked.iter().map(|v| v.as_slice()).collect();
    remove_members(ctx, a[1], m, &refs)?;
    Ok(set_reply(picked))
}

/// A count of `SRANDMEMBER`/`ZRANDMEMBER`: any i64 but the smallest.
pub fn rand_count(b: &[u8]) -> Result<i64, DbError> {
    match int_arg(b)? {
        i64::MIN => Err(DbError::Other(format!(
            "value is out of range, must be between {} and {}",
            -i64::MAX,
            i64::MAX
        ))),
        n => Ok(n),
    }
}

/// `SRANDMEMBER key [count]`.
pub fn srandmember(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if a.len() > 3 {
        return Err(DbError::Syntax);
    }
    let count = a.get(2).map(|c| rand_count(c)).transpose()?;
    let m = set(ctx, a[1])?;
    let Some(count) = count else {
        let Some(m) = m else { return Ok(Reply::Nil) };
        return Ok(rng::one(ctx, a[1], b"", m.len)?.map_or(Reply::Nil, |(k, _)| Reply::Bulk(k)));
    };
    let Some(m) = m.filter(|_| count != 0) else {
        return Ok(Reply::Array(Vec::new()));
    };
    // A negative count (repeats) and a count of 1 answer an array, as Redis's; other
    // counts a set.
    if count < 0 || count == 1 {
        let v = rng::repeats(ctx, a[1], b"", m.len, count.unsigned_abs())?;
        return Ok(Reply::bulks(v.into_iter().map(|(k, _)| k).collect()));
    }
    let count = count as u64;
    if count >= m.len {
        return Ok(set_reply(members(ctx, a[1])?));
    }
    let v = rng::distinct(ctx, a[1], b"", m.len, count)?;
    Ok(set_reply(v.into_iter().map(|(k, _)| k)))
}

/// `SCLEAR key`: removes the set; how many members it had.
pub fn sclear(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    match set(ctx, a[1])? {
        Some(m) => {
            ctx.remove(a[1], &m)?;
            Ok(Reply::Int(m.len as i64))
        }
        None => Ok(Reply::Int(0)),
    }
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;
