//! Sorted set ranges: `ZRANGE` (by rank, `BYSCORE`, `BYLEX`, `REV`, `LIMIT`, `WITHSCORES`),
//! `ZRANGESTORE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZCOUNT
//! ZLEXCOUNT ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX`.
//!
//! Options are read as Redis 7 reads them (same errors, same order of checks). A range walks
//! the score index in order; lex ranges compare member bytes along that order, which is the
//! members' order when all scores are equal (the case Redis defines). One command visits at
//! most [`MAX_VISIT`] entries.

use super::cmd_set::{MAX_VISIT, over_budget, too_many};
use super::cmd_zset::{del_member, emit, err, store, walk, zset};
use super::engine::{CmdResult, Ctx, index_range, int_arg, is};
use super::keys;
use super::num::{ScoreBound, parse_score_bound};
use super::{DbError, Reply};

/// One end of a lex range.
#[derive(Clone, Debug, PartialEq)]
pub enum Lex {
    /// `-`.
    Min,
    /// `+`.
    Max,
    /// `[x`.
    Incl(Vec<u8>),
    /// `(x`.
    Excl(Vec<u8>),
}

impl Lex {
    /// Parses `-`, `+`, `[x`, `(x`.
    pub fn parse(b: &[u8]) -> Result<Lex, DbError> {
        match b.split_first() {
            Some((b'-', [])) => Ok(Lex::Min),
            Some((b'+', [])) => Ok(Lex::Max),
            Some((b'[', x)) => Ok(Lex::Incl(x.to_vec())),
            Some((b'(', x)) => Ok(Lex::Excl(x.to_vec())),
            _ => Err(err("min or max not valid string range item")),
        }
    }

    /// Whether `m` is at or past this end taken as a minimum.
    fn from(&self, m: &[u8]) -> bool {
        match self {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(x) => m >= x.as_slice(),
            Lex::Excl(x) => m > x.as_slice(),
        }
    }

    /// Whether `m` is at or before this end taken as a maximum.
    fn to(&self, m: &[u8]) -> bool {
        match self {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(x) => m <= x.as_slice(),
            Lex::Excl(x) => m < x.as_slice(),
        }
    }
}

/// What a range selects by.
#[derive(Clone, Copy, PartialEq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// A parsed range: the ends and options.
enum Range {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(Lex, Lex),
}

impl Range {
    /// Whether (`m`, `s`) is at or past the range's minimum (ranks: always).
    fn from(&self, m: &[u8], s: f64) -> bool {
        match self {
            Range::Rank(..) => true,
            Range::Score(min, _) => min.below(s),
            Range::Lex(min, _) => min.from(m),
        }
    }

    /// Whether (`m`, `s`) is at or before the range's maximum (ranks: always).
    fn to(&self, m: &[u8], s: f64) -> bool {
        match self {
            Range::Rank(..) => true,
            Range::Score(_, max) => max.above(s),
            Range::Lex(_, max) => max.to(m),
        }
    }
}

struct Req {
    range: Range,
    rev: bool,
    with_scores: bool,
    offset: i64,
    count: i64,
}

fn score_bounds(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), DbError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(DbError::RangeNotFloat),
    }
}

/// Reads `min max [options]` (`a` starts at min). `by`/`rev` preset by the command name
/// (`ZRANGEBYSCORE`, `ZREVRANGE`...) make those options a syntax error, as in Redis.
fn parse(a: &[&[u8]], by: Option<By>, rev: Option<bool>, store: bool) -> Result<Req, DbError> {
    let (mut by_opt, mut rev_opt) = (by, rev);
    let (mut ws, mut offset, mut count) = (false, 0i64, -1i64);
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        let o = a[j];
        if !store && is(o, "withscores") {
            ws = true;
        } else if is(o, "limit") && left >= 2 {
            offset = int_arg(a[j + 1])?;
            count = int_arg(a[j + 2])?;
            j += 2;
        } else if rev_opt.is_none() && is(o, "rev") {
            rev_opt = Some(true);
        } else if by_opt.is_none() && is(o, "bylex") {
            by_opt = Some(By::Lex);
        } else if by_opt.is_none() && is(o, "byscore") {
            by_opt = Some(By::Score);
        } else {
            return Err(DbError::Syntax);
        }
        j += 1;
    }
    let by = by_opt.unwrap_or(By::Rank);
    let rev = rev_opt.unwrap_or(false);
    if (offset != 0 || count != -1) && by == By::Rank {
        return Err(err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if ws && by == By::Lex {
        return Err(err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (lo, hi) = if rev && by != By::Rank {
        (a[1], a[0])
    } else {
        (a[0], a[1])
    };
    let range = match by {
        By::Rank => Range::Rank(int_arg(a[0])?, int_arg(a[1])?),
        By::Score => {
            let (min, max) = score_bounds(lo, hi)?;
            Range::Score(min, max)
        }
        By::Lex => Range::Lex(Lex::parse(lo)?, Lex::parse(hi)?),
    };
    Ok(Req {
        range,
        rev,
        with_scores: ws,
        offset,
        count,
    })
}

/// The members (with scores) `req` selects in `key`, at most [`MAX_VISIT`] visited.
fn select(ctx: &mut Ctx<'_>, key: &[u8], req: &Req) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
    let Some(meta) = zset(ctx, key)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if let Range::Rank(start, stop) = req.range {
        let Some((s, e)) = index_range(start, stop, meta.len) else {
            return Ok(out);
        };
        // Walk from whichever end of the set is nearer the range.
        let len = meta.len as i64;
        let from_far_end = len - s < e + 1;
        let (s, e, rev) = if from_far_end {
            (len - 1 - e, len - 1 - s, !req.rev)
        } else {
            (s, e, req.rev)
        };
        over_budget((e + 1) as u64)?;
        let mut i = 0i64;
        walk(ctx, key, rev, &mut |m, sc| {
            if i >= s {
                out.push((m.to_vec(), sc));
            }
            i += 1;
            i <= e
        })?;
        if from_far_end {
            out.reverse();
        }
        return Ok(out);
    }
    if req.offset < 0 || req.count == 0 {
        return Ok(out);
    }
    if let Range::Lex(min, max) = &req.range
        && !lex_may_match(ctx, key, min, max)?
    {
        return Ok(out);
    }
    // As Redis: the range starts at the first member past its near end in walk order, and
    // runs while members are within its far end (with equal scores, the same as checking
    // both ends; with mixed scores, what Redis answers).
    let (mut skip, mut visited, mut over, mut started) = (req.offset, 0u64, false, false);
    walk_near(ctx, key, req, &mut |m, s| {
        visited += 1;
        if visited > MAX_VISIT {
            over = true;
            return false;
        }
        let (before, past) = if req.rev {
            (!req.range.to(m, s), !req.range.from(m, s))
        } else {
            (!req.range.from(m, s), !req.range.to(m, s))
        };
        if before && !started {
            return true;
        }
        started = true;
        if past {
            return false;
        }
        if skip > 0 {
            skip -= 1;
            return true;
        }
        out.push((m.to_vec(), s));
        req.count < 0 || (out.len() as i64) < req.count
    })?;
    if over {
        return Err(too_many());
    }
    Ok(out)
}

/// Walks (member, score) in `req`'s order, from its near end when that is a score (the
/// score index is seeked, so entries before the range are not visited) or from the start.
fn walk_near(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    req: &Req,
    f: &mut dyn FnMut(&[u8], f64) -> bool,
) -> Result<(), DbError> {
    let Range::Score(min, max) = &req.range else {
        return walk(ctx, key, req.rev, f);
    };
    let p = keys::z_score_prefix(key);
    let (from, to) = if req.rev {
        let mut at = p.clone();
        at.extend_from_slice(&keys::sortable(max.value));
        (p.clone(), keys::prefix_end(&at))
    } else {
        let mut at = p.clone();
        at.extend_from_slice(&keys::sortable(min.value));
        (at, keys::prefix_end(&p))
    };
    let n = p.len();
    ctx.kv.scan(&from, &to, req.rev, &mut |k, _| {
        let Some((s, member)) = k[n..].split_first_chunk::<8>() else {
            return true;
        };
        f(member, keys::unsortable(*s))
    })
}

/// Redis's early test of a lex range: not empty by its ends, the last member not below
/// the minimum and the first not above the maximum.
fn lex_may_match(ctx: &mut Ctx<'_>, key: &[u8], min: &Lex, max: &Lex) -> Result<bool, DbError> {
    fn order(l: &Lex) -> (u8, &[u8]) {
        match l {
            Lex::Min => (0, &[]),
            Lex::Incl(x) | Lex::Excl(x) => (1, x.as_slice()),
            Lex::Max => (2, &[]),
        }
    }
    let (a, b) = (order(min), order(max));
    let excl = matches!(min, Lex::Excl(_)) || matches!(max, Lex::Excl(_));
    if a > b || (a == b && excl) {
        return Ok(false);
    }
    let mut ends = [true, true];
    for (i, rev) in [false, true].into_iter().enumerate() {
        walk(ctx, key, rev, &mut |m, _| {
            ends[i] = if rev { min.from(m) } else { max.to(m) };
            false
        })?;
    }
    Ok(ends[0] && ends[1])
}

fn range_cmd(ctx: &mut Ctx<'_>, a: &[&[u8]], by: Option<By>, rev: Option<bool>) -> CmdResult {
    let req = parse(&a[2..], by, rev, false)?;
    let items = select(ctx, a[1], &req)?;
    Ok(emit(items, req.with_scores))
}

/// `ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`.
pub fn zrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    range_cmd(ctx, a, None, None)
}

/// `ZREVRANGE key start stop [WITHSCORES]`.
pub fn zrevrange(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    range_cmd(ctx, a, Some(By::Rank), Some(true))
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`.
pub fn zrangebyscore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    range_cmd(ctx, a, Some(By::Score), Some(false))
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`.
pub fn zrevrangebyscore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    range_cmd(ctx, a, Some(By::Score), Some(true))
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`.
pub fn zrangebylex(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    range_cmd(ctx, a, Some(By::Lex), Some(false))
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`.
pub fn zrevrangebylex(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    range_cmd(ctx, a, Some(By::Lex), Some(true))
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
pub fn zrangestore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let req = parse(&a[3..], None, None, true)?;
    let items = select(ctx, a[2], &req)?;
    store(ctx, a[1], &items)
}

fn count_of(ctx: &mut Ctx<'_>, key: &[u8], range: Range) -> CmdResult {
    let req = Req {
        range,
        rev: false,
        with_scores: false,
        offset: 0,
        count: -1,
    };
    Ok(Reply::Int(select(ctx, key, &req)?.len() as i64))
}

/// `ZCOUNT key min max`.
pub fn zcount(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (min, max) = score_bounds(a[2], a[3])?;
    count_of(ctx, a[1], Range::Score(min, max))
}

/// `ZLEXCOUNT key min max`.
pub fn zlexcount(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let range = Range::Lex(Lex::parse(a[2])?, Lex::parse(a[3])?);
    count_of(ctx, a[1], range)
}

fn remove_range(ctx: &mut Ctx<'_>, key: &[u8], range: Range) -> CmdResult {
    let req = Req {
        range,
        rev: false,
        with_scores: false,
        offset: 0,
        count: -1,
    };
    let doomed = select(ctx, key, &req)?;
    if doomed.is_empty() {
        return Ok(Reply::Int(0));
    }
    let Some(mut m) = zset(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let expire = m.expire;
    for (member, s) in &doomed {
        del_member(ctx, key, member, *s)?;
    }
    m.len -= doomed.len() as u64;
    ctx.store_or_drop(key, &m, expire)?;
    Ok(Reply::Int(doomed.len() as i64))
}

/// `ZREMRANGEBYSCORE key min max`.
pub fn zremrangebyscore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let (min, max) = score_bounds(a[2], a[3])?;
    remove_range(ctx, a[1], Range::Score(min, max))
}

/// `ZREMRANGEBYRANK key start stop`.
pub fn zremrangebyrank(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let range = Range::Rank(int_arg(a[2])?, int_arg(a[3])?);
    remove_range(ctx, a[1], range)
}

/// `ZREMRANGEBYLEX key min max`.
pub fn zremrangebylex(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let range = Range::Lex(Lex::parse(a[2])?, Lex::parse(a[3])?);
    remove_range(ctx, a[1], range)
}
