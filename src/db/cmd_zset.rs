//! Sorted set commands on members: `ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZRANK ZREVRANK ZCARD`,
//! and Leither's `ZCLEAR`; the helpers the other sorted set files share. Ranges are in
//! `cmd_zrange.rs`, union/intersection/difference in `cmd_zalgebra.rs`, pops and random
//! members in `cmd_zpop.rs`.
//!
//! Each member has two entries: member -> score, and (sortable score, member) -> nothing, so
//! lookups by member and walks in score order are both direct. Order is (score, member bytes)
//! as in Redis.

use super::engine::{CmdResult, Ctx, float_arg, is, name_ok};
use super::keys::{self, Kind, Meta, Z_SCORE};
use super::{DbError, Reply};

/// The sorted set at `key` (`WRONGTYPE` for another type).
pub fn zset(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Meta>, DbError> {
    ctx.typed(key, Kind::ZSet)
}

/// The score of `member`.
pub fn score_of(ctx: &mut Ctx<'_>, key: &[u8], member: &[u8]) -> Result<Option<f64>, DbError> {
    Ok(ctx
        .kv
        .get(&keys::z_member(key, member))?
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(f64::from_be_bytes))
}

/// Sets `member`'s score to `s` (its old score `old`, if any).
pub fn put_score(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    member: &[u8],
    old: Option<f64>,
    s: f64,
) -> Result<(), DbError> {
    if let Some(o) = old {
        ctx.kv.del(&keys::z_score(key, o, member))?;
    }
    ctx.kv.put(&keys::z_member(key, member), &s.to_be_bytes())?;
    ctx.kv.put(&keys::z_score(key, s, member), &[])
}

/// Removes `member` (of score `s`).
pub fn del_member(ctx: &mut Ctx<'_>, key: &[u8], member: &[u8], s: f64) -> Result<(), DbError> {
    ctx.kv.del(&keys::z_member(key, member))?;
    ctx.kv.del(&keys::z_score(key, s, member))
}

/// An `ERR` with Redis's text `m`.
pub fn err(m: &str) -> DbError {
    DbError::Other(m.into())
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...`.
pub fn zadd(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = a[i];
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if is(o, "gt") {
            gt = true;
        } else if is(o, "lt") {
            lt = true;
        } else if is(o, "ch") {
            ch = true;
        } else if is(o, "incr") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &a[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(DbError::Syntax);
    }
    if nx && xx {
        return Err(err("XX and NX options at the same time are not compatible"));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && rest.len() > 2 {
        return Err(err("INCR option supports a single increment-element pair"));
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks(2) {
        pairs.push((float_arg(p[0])?, name_ok(p[1])?));
    }
    let key = a[1];
    let old = zset(ctx, key)?;
    let expire = old.as_ref().map_or(0, |m| m.expire);
    let mut m = old.unwrap_or_else(|| Meta::new(Kind::ZSet));
    let (mut added, mut changed) = (0i64, 0i64);
    let mut incr_result = None;
    for (score, member) in pairs {
        let cur = score_of(ctx, key, member)?;
        match cur {
            Some(c) => {
                if nx {
                    continue;
                }
                let mut s = score;
                if incr {
                    s += c;
                    if s.is_nan() {
                        return Err(err("resulting score is not a number (NaN)"));
                    }
                }
                if (gt && s <= c) || (lt && s >= c) {
                    continue;
                }
                incr_result = Some(s);
                if s != c {
                    put_score(ctx, key, member, Some(c), s)?;
                    changed += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                put_score(ctx, key, member, None, score)?;
                incr_result = Some(score);
                added += 1;
                m.len += 1;
            }
        }
    }
    if added + changed > 0 {
        ctx.put_meta(key, &m, expire)?;
    }
    if incr {
        return Ok(incr_result.map_or(Reply::Nil, Reply::Double));
    }
    Ok(Reply::Int(if ch { added + changed } else { added }))
}

/// `ZINCRBY key increment member`.
pub fn zincrby(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    zadd(ctx, &[b"zadd", a[1], b"incr", a[2], a[3]])
}

/// `ZREM key member...`.
pub fn zrem(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let Some(mut m) = zset(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    let expire = m.expire;
    let mut n = 0;
    for member in &a[2..] {
        if let Some(s) = score_of(ctx, a[1], member)? {
            del_member(ctx, a[1], member, s)?;
            n += 1;
        }
    }
    if n > 0 {
        m.len -= n;
        ctx.store_or_drop(a[1], &m, expire)?;
    }
    Ok(Reply::Int(n as i64))
}

/// `ZSCORE key member`.
pub fn zscore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if zset(ctx, a[1])?.is_none() {
        return Ok(Reply::Nil);
    }
    Ok(score_of(ctx, a[1], a[2])?.map_or(Reply::Nil, Reply::Double))
}

/// `ZMSCORE key member...`.
pub fn zmscore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let live = zset(ctx, a[1])?.is_some();
    let mut out = Vec::with_capacity(a.len() - 2);
    for m in &a[2..] {
        let s = if live { score_of(ctx, a[1], m)? } else { None };
        out.push(s.map_or(Reply::Nil, Reply::Double));
    }
    Ok(Reply::Array(out))
}

/// Walks (member, score) in score order, ascending or descending.
pub fn walk(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    rev: bool,
    f: &mut dyn FnMut(&[u8], f64) -> bool,
) -> Result<(), DbError> {
    ctx.elems(key, &[Z_SCORE], rev, &mut |rest, _| {
        let Some((s, member)) = rest.split_first_chunk::<8>() else {
            return true;
        };
        f(member, keys::unsortable(*s))
    })
}

fn rank(ctx: &mut Ctx<'_>, a: &[&[u8]], rev: bool) -> CmdResult {
    if zset(ctx, a[1])?.is_none() {
        return Ok(Reply::Nil);
    }
    let Some(target) = score_of(ctx, a[1], a[2])? else {
        return Ok(Reply::Nil);
    };
    let mut n = 0i64;
    let mut found = false;
    walk(ctx, a[1], rev, &mut |m, s| {
        if s == target && m == a[2] {
            found = true;
            return false;
        }
        n += 1;
        true
    })?;
    Ok(if found { Reply::Int(n) } else { Reply::Nil })
}

/// `ZRANK key member`.
pub fn zrank(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    rank(ctx, a, false)
}

/// `ZREVRANK key member`.
pub fn zrevrank(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    rank(ctx, a, true)
}

/// `ZCARD key`.
pub fn zcard(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(zset(ctx, a[1])?.map_or(0, |m| m.len) as i64))
}

/// `ZCLEAR key`: removes the sorted set; how many members it had.
pub fn zclear(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    match zset(ctx, a[1])? {
        Some(m) => {
            ctx.remove(a[1], &m)?;
            Ok(Reply::Int(m.len as i64))
        }
        None => Ok(Reply::Int(0)),
    }
}

/// Members, with their scores when `with_scores` (pairs: `[member, score]` arrays in RESP3).
pub fn emit(items: Vec<(Vec<u8>, f64)>, with_scores: bool) -> Reply {
    if !with_scores {
        return Reply::Array(items.into_iter().map(|(m, _)| Reply::Bulk(m)).collect());
    }
    let mut out = Vec::with_capacity(items.len() * 2);
    for (m, s) in items {
        out.push(Reply::Bulk(m));
        out.push(Reply::Double(s));
    }
    Reply::Pairs(out)
}

/// Replaces whatever `dst` holds by a sorted set of `items` (none: `dst` is removed);
/// answers their count.
pub fn store(ctx: &mut Ctx<'_>, dst: &[u8], items: &[(Vec<u8>, f64)]) -> CmdResult {
    if let Some(old) = ctx.meta(dst)? {
        ctx.remove(dst, &old)?;
    }
    if !items.is_empty() {
        for (m, s) in items {
            put_score(ctx, dst, m, None, *s)?;
        }
        let mut m = Meta::new(Kind::ZSet);
        m.len = items.len() as u64;
        ctx.put_meta(dst, &m, 0)?;
    }
    Ok(Reply::Int(items.len() as i64))
}

#[cfg(test)]
#[path = "zset_tests.rs"]
mod tests;
