//! Set commands: `SADD SREM SMEMBERS SISMEMBER SCARD SINTER SUNION SDIFF`, and Leither's
//! `SCLEAR`. Members are element entries with empty values, so members come out sorted.

use std::collections::BTreeSet;

use super::engine::{CmdResult, Ctx, name_ok};
use super::keys::{self, Kind, Meta};
use super::{DbError, Reply};

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

/// `SREM key member...`: members removed.
pub fn srem(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let Some(mut m) = set(ctx, a[1])? else {
        return Ok(Reply::Int(0));
    };
    let expire = m.expire;
    let mut n = 0;
    for v in &a[2..] {
        let ek = keys::elem(a[1], v);
        if ctx.kv.get(&ek)?.is_some() {
            ctx.kv.del(&ek)?;
            n += 1;
        }
    }
    if n > 0 {
        m.len -= n;
        ctx.store_or_drop(a[1], &m, expire)?;
    }
    Ok(Reply::Int(n as i64))
}

/// The members of `key` (empty when absent).
pub fn members(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<BTreeSet<Vec<u8>>, DbError> {
    let mut out = BTreeSet::new();
    if set(ctx, key)?.is_some() {
        ctx.elems(key, b"", false, &mut |m, _| {
            out.insert(m.to_vec());
            true
        })?;
    }
    Ok(out)
}

/// `SMEMBERS key`.
pub fn smembers(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::bulks(members(ctx, a[1])?.into_iter().collect()))
}

/// `SISMEMBER key member`.
pub fn sismember(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    if set(ctx, a[1])?.is_none() {
        return Ok(Reply::Int(0));
    }
    Ok(Reply::Int(
        ctx.kv.get(&keys::elem(a[1], a[2]))?.is_some() as i64
    ))
}

/// `SCARD key`.
pub fn scard(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    Ok(Reply::Int(set(ctx, a[1])?.map_or(0, |m| m.len) as i64))
}

/// `SINTER key...`.
pub fn sinter(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    // Every key is type-checked first, as Redis does, even once the result is empty.
    let mut sets = Vec::new();
    for k in &a[1..] {
        sets.push(members(ctx, k)?);
    }
    let mut it = sets.into_iter();
    let first = it.next().unwrap_or_default();
    let out = it.fold(first, |acc, s| acc.intersection(&s).cloned().collect());
    Ok(Reply::bulks(out.into_iter().collect()))
}

/// `SUNION key...`.
pub fn sunion(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let mut out = BTreeSet::new();
    for k in &a[1..] {
        out.extend(members(ctx, k)?);
    }
    Ok(Reply::bulks(out.into_iter().collect()))
}

/// `SDIFF key...`.
pub fn sdiff(ctx: &mut Ctx<'_>, a: &[&[u8]]) -> CmdResult {
    let mut out = members(ctx, a[1])?;
    for k in &a[2..] {
        for m in members(ctx, k)? {
            out.remove(&m);
        }
    }
    Ok(Reply::bulks(out.into_iter().collect()))
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
