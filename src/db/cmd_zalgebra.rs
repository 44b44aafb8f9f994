//! Sorted set union, intersection and difference: `ZUNION ZUNIONSTORE ZINTER ZINTERSTORE
//! ZDIFF ZDIFFSTORE ZINTERCARD`, with `WEIGHTS`, `AGGREGATE SUM|MIN|MAX`, `WITHSCORES` and
//! `LIMIT` as Redis 7 reads them. Plain sets are inputs too, every member scoring 1.
//!
//! Work is bounded before it starts, from the sizes in the inputs' meta entries: a union
//! reads every input, an intersection the smallest one and looks its members up in the
//! others, a difference the first and, for each other input, the smaller of it and what is
//! left; more than [`super::cmd_set::MAX_VISIT`] elements answers an error.

use std::collections::BTreeMap;

use super::cmd_set::over_budget;
use super::cmd_zset::{emit, err, score_of, store};
use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys::{self, Kind, Z_MEMBER};
use super::num::parse_float;
use super::{DbError, Reply};

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// One input: its key, whether it is a plain set, and its size (0 when absent).
struct Src<'a> {
    key: &'a [u8],
    set: bool,
    len: u64,
}

impl Src<'_> {
    /// Every member with its score.
    fn load(&self, ctx: &mut Ctx<'_>) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
        let mut out = Vec::with_capacity(self.len as usize);
        if self.len == 0 {
            return Ok(out);
        }
        if self.set {
            ctx.elems(self.key, b"", false, &mut |m, _| {
                out.push((m.to_vec(), 1.0));
                true
            })?;
        } else {
            ctx.elems(self.key, &[Z_MEMBER], false, &mut |m, v| {
                if let Ok(b) = <[u8; 8]>::try_from(v) {
                    out.push((m.to_vec(), f64::from_be_bytes(b)));
                }
                true
            })?;
        }
        Ok(out)
    }

    /// The score of `member`, if it is in.
    fn score(&self, ctx: &mut Ctx<'_>, member: &[u8]) -> Result<Option<f64>, DbError> {
        if self.len == 0 {
            return Ok(None);
        }
        if self.set {
            return Ok(ctx.kv.get(&keys::elem(self.key, member))?.map(|_| 1.0));
        }
        score_of(ctx, self.key, member)
    }
}

struct Req<'a> {
    srcs: Vec<Src<'a>>,
    weights: Vec<f64>,
    agg: Agg,
    with_scores: bool,
    limit: u64,
}

/// Reads `numkeys key... [options]` (`a[0]` the command name, the keys from `at`),
/// type-checking the keys before the options as Redis does.
fn parse<'a>(
    ctx: &mut Ctx<'_>,
    a: &[&'a [u8]],
    at: usize,
    op: Op,
    store: bool,
    card: bool,
) -> Result<Req<'a>, DbError> {
    let name = String::from_utf8_lossy(a[0]).to_ascii_lowercase();
    let n = int_arg(a[at])?;
    if n < 1 {
        return Err(err(&format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    if n as u64 > (a.len() - at - 1) as u64 {
        return Err(DbError::Syntax);
    }
    let n = n as usize;
    let mut srcs = Vec::with_capacity(n);
    for key in &a[at + 1..at + 1 + n] {
        let src = match ctx.meta(key)? {
            None => Src {
                key,
                set: false,
                len: 0,
            },
            Some(m) if m.kind == Kind::Set || m.kind == Kind::ZSet => Src {
                key,
                set: m.kind == Kind::Set,
                len: m.len,
            },
            Some(_) => return Err(DbError::WrongType),
        };
        srcs.push(src);
    }
    let mut req = Req {
        srcs,
        weights: vec![1.0; n],
        agg: Agg::Sum,
        with_scores: false,
        limit: 0,
    };
    let mut j = at + 1 + n;
    while j < a.len() {
        let left = a.len() - j;
        let o = a[j];
        if op != Op::Diff && !card && left > n && is(o, "weights") {
            for (i, w) in req.weights.iter_mut().enumerate() {
                *w = parse_float(a[j + 1 + i]).ok_or_else(|| err("weight value is not a float"))?;
            }
            j += n;
        } else if op != Op::Diff && !card && left >= 2 && is(o, "aggregate") {
            let v = a[j + 1];
            req.agg = if is(v, "sum") {
                Agg::Sum
            } else if is(v, "min") {
                Agg::Min
            } else if is(v, "max") {
                Agg::Max
            } else {
                return Err(DbError::Syntax);
            };
            j += 1;
        } else if !store && !card && is(o, "withscores") {
            req.with_scores = true;
        } else if card && left >= 2 && is(o, "limit") {
            req.limit = match int_arg(a[j + 1]) {
                Ok(l) if l >= 0 => l as u64,
                _ => return Err(err("LIMIT can't be negative")),
            };
            j += 1;
        } else {
            return Err(DbError::Syntax);
        }
        j += 1;
    }
    Ok(req)
}

/// `score * weight`, NaN (0 times infinity) taken as 0 as Redis does.
fn weigh(s: f64, w: f64) -> f64 {
    let v = s * w;
    if v.is_nan() { 0.0 } else { v }
}

fn fold(agg: Agg, acc: f64, v: f64) -> f64 {
    match agg {
        Agg::Sum => {
            let t = acc + v;
            if t.is_nan() { 0.0 } else { t }
        }
        Agg::Min => acc.min(v),
        Agg::Max => acc.max(v),
    }
}

fn union(ctx: &mut Ctx<'_>, req: &Req<'_>) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
    over_budget(req.srcs.iter().map(|s| s.len).sum())?;
    let mut acc: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    for (src, w) in req.srcs.iter().zip(&req.weights) {
        for (m, s) in src.load(ctx)? {
            let v = weigh(s, *w);
            acc.entry(m)
                .and_modify(|t| *t = fold(req.agg, *t, v))
                .or_insert(v);
        }
    }
    Ok(acc.into_iter().collect())
}

fn inter(ctx: &mut Ctx<'_>, req: &Req<'_>) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
    let mut order: Vec<usize> = (0..req.srcs.len()).collect();
    order.sort_by_key(|&i| req.srcs[i].len);
    let small = &req.srcs[order[0]];
    if small.len == 0 {
        return Ok(Vec::new());
    }
    over_budget(small.len.saturating_mul(req.srcs.len() as u64))?;
    let mut out = Vec::new();
    'next: for (m, s) in small.load(ctx)? {
        let mut t = weigh(s, req.weights[order[0]]);
        for &i in &order[1..] {
            match req.srcs[i].score(ctx, &m)? {
                Some(s) => t = fold(req.agg, t, weigh(s, req.weights[i])),
                None => continue 'next,
            }
        }
        out.push((m, t));
        if req.limit != 0 && out.len() as u64 >= req.limit {
            break;
        }
    }
    Ok(out)
}

fn diff(ctx: &mut Ctx<'_>, req: &Req<'_>) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
    let first = req.srcs[0].len;
    let work = req.srcs[1..]
        .iter()
        .fold(first, |w, s| w.saturating_add(s.len.min(first)));
    over_budget(work)?;
    let mut left: BTreeMap<Vec<u8>, f64> = req.srcs[0].load(ctx)?.into_iter().collect();
    for src in &req.srcs[1..] {
        if left.is_empty() {
            break;
        }
        if src.len as usize <= left.len() {
            for (m, _) in src.load(ctx)? {
                left.remove(&m);
            }
        } else {
            let mut keep = BTreeMap::new();
            for (m, s) in std::mem::take(&mut left) {
                if src.score(ctx, &m)?.is_none() {
                    keep.insert(m, s);
                }
            }
            left = keep;
        }
    }
    Ok(left.into_iter().collect())
}

fn compute(ctx: &mut Ctx<'_>, req: &Req<'_>, op: Op) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
    let mut v = match op {
        Op::Union => union(ctx, req)?,
        Op::Inter => inter(ctx, req)?,
        Op::Diff => diff(ctx, req)?,
    };
    v.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
    Ok(v)
}

fn reply(ctx: &mut Ctx<'_>, a: &[&[u8]], op: Op) -> CmdResult {
    let req = parse(ctx, a, 1, op, false, false)?;
    let v = compute(ctx, &req, op)?;
    Ok(emit(v, req.with_scores))
}

fn stored(ctx: &mut Ctx<'_>, a: &[&[u8]], op: Op) -> CmdResult {
    let req = parse(ctx, a, 2, op, true, false)?;
    let v = compute(ctx, &req, op)?;
    store(ctx, a[1], &v)
}

/// `ZUNION numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`.
pub fn zunion(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    reply(ctx, a, Op::Union)
}

/// `ZINTER numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`.
pub fn zinter(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    reply(ctx, a, Op::Inter)
}

/// `ZDIFF numkeys key... [WITHSCORES]`.
pub fn zdiff(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    reply(ctx, a, Op::Diff)
}

/// `ZUNIONSTORE dst numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX]`.
pub fn zunionstore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    stored(ctx, a, Op::Union)
}

/// `ZINTERSTORE dst numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX]`.
pub fn zinterstore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    stored(ctx, a, Op::Inter)
}

/// `ZDIFFSTORE dst numkeys key...`.
pub fn zdiffstore(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    stored(ctx, a, Op::Diff)
}

/// `ZINTERCARD numkeys key... [LIMIT limit]`.
pub fn zintercard(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let req = parse(ctx, a, 1, Op::Inter, false, true)?;
    Ok(Reply::Int(inter(ctx, &req)?.len() as i64))
}
