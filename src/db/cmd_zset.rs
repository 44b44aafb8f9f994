//! Sorted set commands: `ZADD ZREM ZSCORE ZRANK ZREVRANK ZCARD ZCOUNT ZRANGE ZREVRANGE
//! ZRANGEBYSCORE ZREVRANGEBYSCORE ZREMRANGEBYSCORE ZINCRBY`, and Leither's `ZCLEAR`.
//!
//! Each member has two entries: member -> score, and (sortable score, member) -> nothing, so
//! lookups by member and walks in score order are both direct. Order is (score, member bytes)
//! as in Redis.

use super::engine::{CmdResult, Ctx, float_arg, index_range, int_arg, is, name_ok};
use super::keys::{self, Kind, Meta, Z_SCORE};
use super::num::{ScoreBound as Bound, format_double as fmt_double, parse_score_bound};
use super::{DbError, Reply};

fn zset(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Meta>, DbError> {
    ctx.typed(key, Kind::ZSet)
}

fn score_of(ctx: &mut Ctx<'_>, key: &[u8], member: &[u8]) -> Result<Option<f64>, DbError> {
    Ok(ctx
        .kv
        .get(&keys::z_member(key, member))?
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(f64::from_be_bytes))
}

fn put_score(
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

fn del_member(ctx: &mut Ctx<'_>, key: &[u8], member: &[u8], s: f64) -> Result<(), DbError> {
    ctx.kv.del(&keys::z_member(key, member))?;
    ctx.kv.del(&keys::z_score(key, s, member))
}

fn err(m: &str) -> DbError {
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
        return Ok(incr_result.map_or(Reply::Nil, |s| Reply::text(fmt_double(s))));
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
    Ok(score_of(ctx, a[1], a[2])?.map_or(Reply::Nil, |s| Reply::text(fmt_double(s))))
}

/// Walks (member, score) in score order, ascending or descending.
fn walk(
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

fn bounds(min: &[u8], max: &[u8]) -> Result<(Bound, Bound), DbError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(DbError::RangeNotFloat),
    }
}

/// Members with scores in [min, max] (in walk order), after skipping `offset`, at most
/// `count` (negative: all).
fn by_score(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    min: Bound,
    max: Bound,
    rev: bool,
    offset: i64,
    count: i64,
) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
    let mut out = Vec::new();
    if zset(ctx, key)?.is_none() || offset < 0 || count == 0 {
        return Ok(out);
    }
    let mut skip = offset;
    walk(ctx, key, rev, &mut |m, s| {
        let (before, past) = if rev {
            (!max.above(s), !min.below(s))
        } else {
            (!min.below(s), !max.above(s))
        };
        if before {
            return true;
        }
        if past {
            return false;
        }
        if skip > 0 {
            skip -= 1;
            return true;
        }
        out.push((m.to_vec(), s));
        count < 0 || (out.len() as i64) < count
    })?;
    Ok(out)
}

fn emit(items: Vec<(Vec<u8>, f64)>, with_scores: bool) -> Reply {
    let mut out = Vec::with_capacity(items.len() * (1 + with_scores as usize));
    for (m, s) in items {
        out.push(Reply::Bulk(m));
        if with_scores {
            out.push(Reply::text(fmt_double(s)));
        }
    }
    Reply::Array(out)
}

/// `ZCOUNT key min max`.
pub fn zcount(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (min, max) = bounds(a[2], a[3])?;
    Ok(Reply::Int(
        by_score(ctx, a[1], min, max, false, 0, -1)?.len() as i64,
    ))
}

fn by_rank(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    start: i64,
    stop: i64,
    rev: bool,
) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
    let Some(m) = zset(ctx, key)? else {
        return Ok(Vec::new());
    };
    let Some((s, e)) = index_range(start, stop, m.len) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut i = 0i64;
    walk(ctx, key, rev, &mut |m, sc| {
        if i >= s {
            out.push((m.to_vec(), sc));
        }
        i += 1;
        i <= e
    })?;
    Ok(out)
}

/// Options after the range of the ZRANGE family: (withscores, byscore, rev, limit).
type RangeOpts = (bool, bool, bool, Option<(i64, i64)>);

/// Parses them.
fn range_opts(a: &[&[u8]], allow_by: bool) -> Result<RangeOpts, DbError> {
    let (mut ws, mut bs, mut rev, mut limit) = (false, false, false, None);
    let mut i = 0;
    while i < a.len() {
        if is(a[i], "withscores") {
            ws = true;
        } else if allow_by && is(a[i], "byscore") {
            bs = true;
        } else if allow_by && is(a[i], "rev") {
            rev = true;
        } else if is(a[i], "limit") && i + 2 < a.len() {
            limit = Some((int_arg(a[i + 1])?, int_arg(a[i + 2])?));
            i += 2;
        } else {
            return Err(DbError::Syntax);
        }
        i += 1;
    }
    Ok((ws, bs, rev, limit))
}

/// `ZRANGE key start stop [BYSCORE] [REV] [LIMIT offset count] [WITHSCORES]`.
pub fn zrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (ws, bs, rev, limit) = range_opts(&a[4..], true)?;
    if bs {
        let (lo, hi) = if rev { (a[3], a[2]) } else { (a[2], a[3]) };
        let (min, max) = bounds(lo, hi)?;
        let (off, count) = limit.unwrap_or((0, -1));
        return Ok(emit(by_score(ctx, a[1], min, max, rev, off, count)?, ws));
    }
    if limit.is_some() {
        return Err(err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    let (s, e) = (int_arg(a[2])?, int_arg(a[3])?);
    Ok(emit(by_rank(ctx, a[1], s, e, rev)?, ws))
}

/// `ZREVRANGE key start stop [WITHSCORES]`.
pub fn zrevrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (ws, _, _, limit) = range_opts(&a[4..], false)?;
    if limit.is_some() {
        return Err(DbError::Syntax);
    }
    let (s, e) = (int_arg(a[2])?, int_arg(a[3])?);
    Ok(emit(by_rank(ctx, a[1], s, e, true)?, ws))
}

fn score_range(ctx: &mut Ctx<'_>, a: &[&[u8]], rev: bool) -> CmdResult {
    let (ws, _, _, limit) = range_opts(&a[4..], false)?;
    let (lo, hi) = if rev { (a[3], a[2]) } else { (a[2], a[3]) };
    let (min, max) = bounds(lo, hi)?;
    let (off, count) = limit.unwrap_or((0, -1));
    Ok(emit(by_score(ctx, a[1], min, max, rev, off, count)?, ws))
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`.
pub fn zrangebyscore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    score_range(ctx, a, false)
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`.
pub fn zrevrangebyscore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    score_range(ctx, a, true)
}

/// `ZREMRANGEBYSCORE key min max`.
pub fn zremrangebyscore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (min, max) = bounds(a[2], a[3])?;
    let doomed = by_score(ctx, a[1], min, max, false, 0, -1)?;
    if doomed.is_empty() {
        return Ok(Reply::Int(0));
    }
    let Some(mut m) = zset(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    let expire = m.expire;
    for (member, s) in &doomed {
        del_member(ctx, a[1], member, *s)?;
    }
    m.len -= doomed.len() as u64;
    ctx.store_or_drop(a[1], &m, expire)?;
    Ok(Reply::Int(doomed.len() as i64))
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
