//! Taking members out of sorted sets by score, and random members: `ZPOPMIN ZPOPMAX ZMPOP
//! ZRANDMEMBER`. The blocking forms (`BZPOPMIN`, `BZPOPMAX`, `BZMPOP`) belong to the RESP
//! listener, which runs these through `engine::exec` when a key is ready.

use super::cmd_set::{over_budget, positive_count, rand_count};
use super::cmd_zset::{del_member, emit, err, walk, zset};
use super::engine::{CmdResult, Ctx, int_arg, is};
use super::keys::Z_MEMBER;
use super::{DbError, Reply, rng};

/// Pops up to `count` lowest (highest when `max`) members of `key`; empty when absent.
fn pop(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    max: bool,
    count: u64,
) -> Result<Vec<(Vec<u8>, f64)>, DbError> {
    let Some(mut m) = zset(ctx, key)? else {
        return Ok(Vec::new());
    };
    let n = count.min(m.len);
    over_budget(n)?;
    let mut out = Vec::with_capacity(n as usize);
    if n > 0 {
        walk(ctx, key, max, &mut |member, s| {
            out.push((member.to_vec(), s));
            (out.len() as u64) < n
        })?;
    }
    if out.is_empty() {
        return Ok(out);
    }
    let expire = m.expire;
    for (member, s) in &out {
        del_member(ctx, key, member, *s)?;
    }
    m.len -= out.len() as u64;
    ctx.store_or_drop(key, &m, expire)?;
    Ok(out)
}

fn zpop(ctx: &mut Ctx<'_>, a: &[&[u8]], max: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(DbError::Syntax);
    }
    let count = a.get(2).map(|c| positive_count(c)).transpose()?;
    let items = pop(ctx, a[1], max, count.unwrap_or(1))?;
    if count.is_some() {
        return Ok(emit(items, true));
    }
    // Without a count: one flat [member, score], in RESP3 too.
    let mut out = Vec::with_capacity(2);
    for (m, s) in items {
        out.push(Reply::Bulk(m));
        out.push(Reply::Double(s));
    }
    Ok(Reply::Array(out))
}

/// `ZPOPMIN key [count]`.
pub fn zpopmin(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    zpop(ctx, a, false)
}

/// `ZPOPMAX key [count]`.
pub fn zpopmax(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    zpop(ctx, a, true)
}

/// `ZMPOP numkeys key... MIN|MAX [COUNT count]`: the first non-empty key and what was
/// popped from it, as `[key, [[member, score]...]]`; nil when every key is empty.
pub fn zmpop(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let numkeys = || err("numkeys should be greater than 0");
    let n = match int_arg(a[1]) {
        Ok(n) if n >= 1 => n as u64,
        _ => return Err(numkeys()),
    };
    let at = 2u64.saturating_add(n);
    if at >= a.len() as u64 {
        return Err(DbError::Syntax);
    }
    let at = at as usize;
    let max = if is(a[at], "min") {
        false
    } else if is(a[at], "max") {
        true
    } else {
        return Err(DbError::Syntax);
    };
    let mut count = None;
    let mut j = at + 1;
    while j < a.len() {
        if count.is_none() && is(a[j], "count") && j + 1 < a.len() {
            count = Some(match int_arg(a[j + 1]) {
                Ok(c) if c >= 1 => c as u64,
                _ => return Err(err("count should be greater than 0")),
            });
            j += 2;
        } else {
            return Err(DbError::Syntax);
        }
    }
    for key in &a[2..at] {
        let items = pop(ctx, key, max, count.unwrap_or(1))?;
        if items.is_empty() {
            continue;
        }
        let pairs = items
            .into_iter()
            .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
            .collect();
        return Ok(Reply::Array(vec![
            Reply::Bulk(key.to_vec()),
            Reply::Array(pairs),
        ]));
    }
    Ok(Reply::NilArray)
}

fn scored(entries: Vec<rng::Entry>) -> Vec<(Vec<u8>, f64)> {
    entries
        .into_iter()
        .filter_map(|(m, v)| Some((m, f64::from_be_bytes(<[u8; 8]>::try_from(v).ok()?))))
        .collect()
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`.
pub fn zrandmember(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if a.len() > 4 || (a.len() == 4 && !is(a[3], "withscores")) {
        return Err(DbError::Syntax);
    }
    let ws = a.len() == 4;
    let count = a.get(2).map(|c| rand_count(c)).transpose()?;
    if ws && count.is_some_and(|c| c < -(i64::MAX / 2)) {
        return Err(err("value is out of range"));
    }
    let m = zset(ctx, a[1])?;
    let Some(count) = count else {
        let Some(m) = m else { return Ok(Reply::Nil) };
        let one = rng::one(ctx, a[1], &[Z_MEMBER], m.len)?;
        return Ok(one.map_or(Reply::Nil, |(k, _)| Reply::Bulk(k)));
    };
    let Some(m) = m.filter(|_| count != 0) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let entries = if count < 0 {
        rng::repeats(ctx, a[1], &[Z_MEMBER], m.len, count.unsigned_abs())?
    } else if count as u64 >= m.len {
        rng::all(ctx, a[1], &[Z_MEMBER], m.len)?
    } else {
        rng::distinct(ctx, a[1], &[Z_MEMBER], m.len, count as u64)?
    };
    Ok(emit(scored(entries), ws))
}
