//! Random picks for `SPOP`, `SRANDMEMBER` and `ZRANDMEMBER`: a xorshift64* generator seeded
//! once per thread from the OS, and the sampling those commands share over a key's element
//! entries: uniform (by position for one pick in up to [`WALK_MAX`] elements, by a shuffle
//! for a count in up to [`LOAD_MAX`]); past those sizes, by seeking a random point between
//! the first and the last element, which is bounded but not uniform.

use std::cell::Cell;

use super::engine::Ctx;
use super::keys;
use super::{DbError, cmd_set::over_budget};

/// Largest collection one member is picked from by walking to a random position (at most
/// this many entries per `SPOP`, so popping a set one by one stays cheap enough); past it a
/// pick seeks a random point of the key's element range instead (a few lookups, biased
/// towards members after sparse stretches of the byte space).
pub const WALK_MAX: u64 = 10_000;

/// Largest collection a count is picked from by reading it whole and shuffling.
pub const LOAD_MAX: u64 = 100_000;

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// The next random number.
pub fn next() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            let mut b = [0u8; 8];
            if getrandom::getrandom(&mut b).is_err() {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64);
                b = t.to_le_bytes();
            }
            x = u64::from_le_bytes(b) | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A random number below `n` (`n` > 0).
pub fn below(n: u64) -> u64 {
    ((u128::from(next()) * u128::from(n)) >> 64) as u64
}

/// An element entry: the rest of its key after the sub-space, and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Every entry of `key` under `sub`, refusing more than the per-command budget.
pub fn all(ctx: &mut Ctx<'_>, key: &[u8], sub: &[u8], len: u64) -> Result<Vec<Entry>, DbError> {
    over_budget(len)?;
    let mut out = Vec::with_capacity(len as usize);
    ctx.elems(key, sub, false, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        true
    })?;
    Ok(out)
}

/// One random entry of `key` under `sub`, which holds `len` (> 0) entries.
pub fn one(ctx: &mut Ctx<'_>, key: &[u8], sub: &[u8], len: u64) -> Result<Option<Entry>, DbError> {
    if len <= WALK_MAX {
        let mut at = below(len.max(1));
        let mut got = None;
        ctx.elems(key, sub, false, &mut |k, v| {
            if at == 0 {
                got = Some((k.to_vec(), v.to_vec()));
                return false;
            }
            at -= 1;
            true
        })?;
        return Ok(got);
    }
    match ends(ctx, key, sub)? {
        Some(e) => Ok(Some(seek(ctx, key, sub, &e)?)),
        None => Ok(None),
    }
}

fn edge(ctx: &mut Ctx<'_>, key: &[u8], sub: &[u8], rev: bool) -> Result<Option<Entry>, DbError> {
    let mut got = None;
    ctx.elems(key, sub, rev, &mut |k, v| {
        got = Some((k.to_vec(), v.to_vec()));
        false
    })?;
    Ok(got)
}

/// The first and last entries of `key` under `sub`, for [`seek`].
struct Ends(Entry, Entry);

fn ends(ctx: &mut Ctx<'_>, key: &[u8], sub: &[u8]) -> Result<Option<Ends>, DbError> {
    Ok(
        match (edge(ctx, key, sub, false)?, edge(ctx, key, sub, true)?) {
            (Some(a), Some(b)) => Some(Ends(a, b)),
            _ => None,
        },
    )
}

/// The first entry at or after a random point between the first and the last entry.
fn seek(ctx: &mut Ctx<'_>, key: &[u8], sub: &[u8], e: &Ends) -> Result<Entry, DbError> {
    let (a, b) = (&e.0.0, &e.1.0);
    let p = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        for (d, x) in w.iter_mut().zip(s.iter().skip(p)) {
            *d = *x;
        }
        u64::from_be_bytes(w)
    };
    let (lo, hi) = (word(a), word(b));
    let x = lo + below(hi.saturating_sub(lo).saturating_add(1).max(1));
    let mut probe = keys::elem(key, sub);
    let n = probe.len();
    probe.extend_from_slice(&a[..p]);
    probe.extend_from_slice(&x.to_be_bytes());
    let end = keys::prefix_end(&keys::elem(key, sub));
    let mut got = None;
    ctx.kv.scan(&probe, &end, false, &mut |k, v| {
        got = Some((k[n..].to_vec(), v.to_vec()));
        false
    })?;
    Ok(got.unwrap_or_else(|| e.0.clone()))
}

/// `count` distinct random entries of `key` under `sub` (`len` of them; `count` < `len`).
pub fn distinct(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    sub: &[u8],
    len: u64,
    count: u64,
) -> Result<Vec<Entry>, DbError> {
    over_budget(count)?;
    if len <= LOAD_MAX {
        // Partial Fisher-Yates over all of them: uniform.
        let mut v = all(ctx, key, sub, len)?;
        let n = v.len();
        let count = (count as usize).min(n);
        for i in 0..count {
            let j = i + below((n - i) as u64) as usize;
            v.swap(i, j);
        }
        v.truncate(count);
        return Ok(v);
    }
    let mut seen = std::collections::BTreeMap::new();
    if let Some(e) = ends(ctx, key, sub)? {
        let mut tries = count.saturating_mul(2).saturating_add(64);
        while (seen.len() as u64) < count && tries > 0 {
            tries -= 1;
            let (k, v) = seek(ctx, key, sub, &e)?;
            seen.entry(k).or_insert(v);
        }
    }
    if (seen.len() as u64) < count {
        // The seeks kept landing on the same members: take the next ones in order.
        ctx.elems(key, sub, false, &mut |k, v| {
            if !seen.contains_key(k) {
                seen.insert(k.to_vec(), v.to_vec());
            }
            (seen.len() as u64) < count
        })?;
    }
    let mut v: Vec<Entry> = seen.into_iter().collect();
    for i in (1..v.len()).rev() {
        v.swap(i, below(i as u64 + 1) as usize);
    }
    Ok(v)
}

/// `count` random entries, repeats allowed (negative counts of `SRANDMEMBER` and
/// `ZRANDMEMBER`).
pub fn repeats(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    sub: &[u8],
    len: u64,
    count: u64,
) -> Result<Vec<Entry>, DbError> {
    over_budget(count)?;
    if len <= LOAD_MAX {
        let v = all(ctx, key, sub, len)?;
        if v.is_empty() {
            return Ok(v);
        }
        return Ok((0..count)
            .map(|_| v[below(v.len() as u64) as usize].clone())
            .collect());
    }
    let mut out = Vec::with_capacity(count as usize);
    if let Some(e) = ends(ctx, key, sub)? {
        for _ in 0..count {
            out.push(seek(ctx, key, sub, &e)?);
        }
    }
    Ok(out)
}
